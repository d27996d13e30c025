/* test-work.c: the master's work state (src/master/work.c): events, order, snapshots. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "unit.h"
#include "work.h"

static char err[256];

/* Applies ev as the next event; frees it. */
static int
apply(struct work *w, cJSON *ev)
{
	int rc = work_apply(w, w->seq + 1, ev, err, sizeof(err));

	cJSON_Delete(ev);
	return rc;
}

static void
lifecycle(void)
{
	struct work w;
	struct job *j;

	work_init(&w);
	CHECK_INT(apply(&w, ev_accepted("a", "cA==")), 0);
	CHECK_INT(apply(&w, ev_accepted("b", "cA==")), 0);
	CHECK_INT(w.npending, 2);
	CHECK_STR(work_next(&w)->id, "a");		/* first in, first out */
	j = work_find(&w, "a");
	CHECK_INT(apply(&w, ev_started(j, "w1", 1000)), 0);
	CHECK_INT(j->status, JOB_RUNNING);
	CHECK_INT(j->attempts, 1);
	CHECK_STR(work_next(&w)->id, "b");
	CHECK(work_overdue(&w, 1500, 1000) == NULL);
	CHECK(work_overdue(&w, 2000, 1000) == j);
	/* a failed attempt goes to the back of the queue */
	CHECK_INT(apply(&w, ev_attempt_failed(j, "w1", "exit 1")), 0);
	CHECK_INT(j->status, JOB_PENDING);
	CHECK_STR(work_next(&w)->id, "b");
	CHECK_INT(apply(&w, ev_started(work_find(&w, "b"), "w2", 1100)), 0);
	CHECK_INT(apply(&w, ev_started(j, "w1", 1200)), 0);
	CHECK_INT(j->attempts, 2);
	CHECK_INT(apply(&w, ev_completed(j, "w1", "result")), 0);
	CHECK_INT(j->status, JOB_DONE);
	CHECK_INT(j->seq, w.seq);
	CHECK(j->payload == NULL);		/* not kept once finished */
	CHECK_INT(apply(&w, ev_timed_out(work_find(&w, "b"))), 0);
	CHECK_INT(apply(&w, ev_failed(work_find(&w, "b"), "gave up")), 0);
	CHECK_INT(w.ndone, 1);
	CHECK_INT(w.nfailed, 1);
	CHECK_INT(w.npending, 0);
	CHECK_INT(w.nrunning, 0);
	work_free(&w);
}

static void
bad_events(void)
{
	struct work w;
	cJSON *ev;

	work_init(&w);
	CHECK_INT(apply(&w, ev_accepted("a", "cA==")), 0);
	/* the same id twice, unknown ids, a start of a running job, a gap */
	CHECK_INT(apply(&w, ev_accepted("a", "cA==")), -1);
	ev = cJSON_Parse("{\"e\":\"started\",\"id\":\"nope\",\"worker\":\"w\",\"at\":1}");
	CHECK_INT(apply(&w, ev), -1);
	CHECK_INT(apply(&w, ev_started(work_find(&w, "a"), "w", 5)), 0);
	CHECK_INT(apply(&w, ev_started(work_find(&w, "a"), "w", 5)), -1);
	ev = cJSON_Parse("{\"e\":\"completed\",\"id\":\"a\",\"worker\":\"w\",\"result\":\"r\"}");
	CHECK_INT(work_apply(&w, w.seq + 2, ev, err, sizeof(err)), -1);	/* a gap */
	cJSON_Delete(ev);
	ev = cJSON_Parse("{\"e\":\"no-such\",\"id\":\"a\"}");
	CHECK_INT(apply(&w, ev), -1);
	ev = cJSON_Parse("{\"e\":\"accepted\",\"id\":\"bad id\",\"payload\":\"\"}");
	CHECK_INT(apply(&w, ev), -1);
	ev = cJSON_Parse("{\"e\":\"accepted\",\"id\":\"b\"}");
	CHECK_INT(apply(&w, ev), -1);	/* no payload */
	/* nothing of the refused ones changed the state */
	CHECK_INT(w.seq, 2);
	CHECK_INT(w.n, 1);
	/* an epoch marker is an event that changes nothing else */
	ev = cJSON_Parse("{\"e\":\"epoch\"}");
	CHECK_INT(apply(&w, ev), 0);
	CHECK_INT(w.seq, 3);
	CHECK(work_id_valid("abc-DEF_1.2:3"));
	CHECK(!work_id_valid(""));
	CHECK(!work_id_valid("a/b"));
	work_free(&w);
}

static void
snapshot_round_trip(void)
{
	struct work w, r;
	cJSON *snap;
	char name[16];
	int i;

	work_init(&w);
	for (i = 0; i < 3000; i++) {	/* enough to grow the table */
		snprintf(name, sizeof(name), "j%d", i);
		apply(&w, ev_accepted(name, "cA=="));
	}
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "j%d", i);
		apply(&w, ev_started(work_find(&w, name), "w", 10));
		if (i % 2)
			apply(&w, ev_completed(work_find(&w, name), "w", "ok"));
	}
	snap = work_snapshot(&w);
	work_init(&r);
	CHECK_INT(work_restore(&r, snap, err, sizeof(err)), 0);
	CHECK_INT(r.seq, w.seq);
	CHECK_INT(r.npending, w.npending);
	CHECK_INT(r.nrunning, w.nrunning);
	CHECK_INT(r.ndone, w.ndone);
	CHECK_STR(work_next(&r)->id, work_next(&w)->id);	/* queue order kept */
	CHECK_INT(work_find(&r, "j1")->status, JOB_DONE);
	CHECK_INT(work_find(&r, "j1")->seq, work_find(&w, "j1")->seq);
	CHECK_INT(work_find(&r, "j2")->status, JOB_RUNNING);
	CHECK_INT(work_find(&r, "j2")->started, 10);
	{
		const struct job *a, *b;	/* the running list in the same order */

		for (a = r.run_head, b = w.run_head; a != NULL && b != NULL; a = a->next, b = b->next)
			if (strcmp(a->id, b->id) != 0)
				break;
		CHECK(a == NULL && b == NULL);
	}
	/* and it goes on from there */
	CHECK_INT(apply(&r, ev_completed(work_find(&r, "j2"), "w", "ok")), 0);
	work_free(&r);
	/* a damaged snapshot is refused */
	cJSON_DeleteItemFromObject(snap, "seq");
	work_init(&r);
	CHECK_INT(work_restore(&r, snap, err, sizeof(err)), -1);
	work_free(&r);
	cJSON_Delete(snap);
	work_free(&w);
}

/* Runs jobs j0..j(n-1) to completion (odd ones fail); returns the seq after each. */
static void
finish_jobs(struct work *w, int from, int n, uint64_t *after)
{
	char name[16];
	int i;

	for (i = from; i < from + n; i++) {
		snprintf(name, sizeof(name), "j%d", i);
		apply(w, ev_accepted(name, "cA=="));
		apply(w, ev_started(work_find(w, name), "w", 10));
		if (i % 2)
			apply(w, ev_failed(work_find(w, name), "no"));
		else
			apply(w, ev_completed(work_find(w, name), "w", "ok"));
		after[i] = w->seq;
	}
}

/* keep-finished: forget events drop finished jobs up to a seq; replays agree. */
static void
forget_finished(void)
{
	struct work w, r, s;
	uint64_t after[40];
	cJSON *snap, *ev;

	work_init(&w);
	finish_jobs(&w, 0, 20, after);
	apply(&w, ev_accepted("p", "cA=="));		/* pending: never forgotten */
	apply(&w, ev_accepted("q", "cA=="));
	apply(&w, ev_started(work_find(&w, "q"), "w", 10));	/* running: neither */
	CHECK(work_forgettable(&w, after[9]));
	CHECK(!work_forgettable(&w, after[0] - 1));
	CHECK_INT(apply(&w, ev_forget(after[9])), 0);
	CHECK(work_find(&w, "j9") == NULL);
	CHECK(work_find(&w, "j0") == NULL);
	CHECK(work_find(&w, "j10") != NULL);
	CHECK(work_find(&w, "p") != NULL && work_find(&w, "q") != NULL);
	CHECK_INT(w.n, 12);
	CHECK_INT(w.nforgotten, 10);
	CHECK_INT(w.ndone, 10);				/* totals stay */
	CHECK_INT(w.nfailed, 10);
	CHECK(!work_forgettable(&w, after[9]));
	/* a forgotten id may come again: a new job */
	CHECK_INT(apply(&w, ev_accepted("j3", "cA==")), 0);
	CHECK_INT(work_find(&w, "j3")->status, JOB_PENDING);
	/* going backwards, or forward past itself, is malformed */
	CHECK_INT(apply(&w, ev_forget(after[9] - 1)), -1);
	ev = ev_forget(w.seq + 1);
	CHECK_INT(work_apply(&w, w.seq + 1, ev, err, sizeof(err)), -1);
	cJSON_Delete(ev);
	ev = cJSON_Parse("{\"e\":\"forget\"}");
	CHECK_INT(apply(&w, ev), -1);

	/* a snapshot of it, and a replay from it with more events, agree */
	snap = work_snapshot(&w);
	work_init(&r);
	CHECK_INT(work_restore(&r, snap, err, sizeof(err)), 0);
	cJSON_Delete(snap);
	CHECK_INT(r.nforgotten, 10);
	CHECK_INT(r.ndone, 10);
	CHECK_INT(r.nfailed, 10);
	CHECK_INT(r.forgot_upto, after[9]);
	CHECK_INT(r.n, w.n);
	finish_jobs(&w, 20, 10, after);
	finish_jobs(&r, 20, 10, after);
	CHECK_INT(apply(&w, ev_forget(after[24])), 0);
	CHECK_INT(apply(&r, ev_forget(after[24])), 0);
	CHECK_INT(r.n, w.n);
	CHECK_INT(r.nforgotten, 25);
	CHECK(work_find(&r, "j24") == NULL && work_find(&r, "j25") != NULL);
	CHECK(work_find(&r, "j19") == NULL);
	/* the finished list came back in order: the next forget takes the rest */
	CHECK_INT(apply(&r, ev_forget(r.seq)), 0);
	CHECK_INT(r.nforgotten, 30);
	CHECK_INT(r.n, 3);				/* j3 again, p, q */
	work_free(&r);

	/*
	 * finished jobs in any order (as older snapshots have them) come back in
	 * the order they finished; two finished by one event are refused
	 */
	snap = work_snapshot(&w);
	{
		cJSON *jobs = cJSON_GetObjectItemCaseSensitive(snap, "jobs");
		cJSON *first = cJSON_DetachItemFromArray(jobs, 1);
		const struct job *a, *b;

		cJSON_AddItemToArray(jobs, first);
		work_init(&s);
		CHECK_INT(work_restore(&s, snap, err, sizeof(err)), 0);
		for (a = s.fin_head, b = w.fin_head; a != NULL && b != NULL; a = a->next, b = b->next)
			if (strcmp(a->id, b->id) != 0)
				break;
		CHECK(a == NULL && b == NULL);
		CHECK(strcmp(s.fin_tail->id, w.fin_tail->id) == 0);
		work_free(&s);
		cJSON_ReplaceItemInObject(cJSON_GetArrayItem(jobs, 2), "seq",
		    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(jobs, 3), "seq"), 1));
		work_init(&s);
		CHECK_INT(work_restore(&s, snap, err, sizeof(err)), -1);
		CHECK(strstr(err, "finished by one event") != NULL);
		work_free(&s);
	}
	cJSON_Delete(snap);
	snap = work_snapshot(&w);
	cJSON_ReplaceItemInObject(snap, "done", cJSON_CreateNumber(0));
	work_init(&s);
	CHECK_INT(work_restore(&s, snap, err, sizeof(err)), -1);
	work_free(&s);
	cJSON_Delete(snap);
	work_free(&w);
}

int
main(void)
{
	log_init("test-work");
	RUN(lifecycle);
	RUN(bad_events);
	RUN(snapshot_round_trip);
	RUN(forget_finished);
	return unit_done();
}
