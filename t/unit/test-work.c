/*
 * test-work.c: the master's work state (src/master/work.c): events, order,
 * snapshots, the merge of a divergent log; and the epoch runs of a log
 * (src/master/epochs.c) that find where two logs part.
 */
#include <stdlib.h>
#include <string.h>

#include "epochs.h"
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
	CHECK_STR(work_next(&w, 0)->id, "a");		/* first in, first out */
	j = work_find(&w, "a");
	CHECK_INT(apply(&w, ev_started(j, "w1", 0, 1000)), 0);
	CHECK_INT(j->status, JOB_RUNNING);
	CHECK_INT(j->attempts, 1);
	CHECK_STR(work_next(&w, 0)->id, "b");
	CHECK(work_overdue(&w, 1500, 1000, 0) == NULL);
	CHECK(work_overdue(&w, 2000, 1000, 0) == j);
	/* a failed attempt goes to the back of the queue */
	CHECK_INT(apply(&w, ev_attempt_failed(j, "w1", "exit 1")), 0);
	CHECK_INT(j->status, JOB_PENDING);
	CHECK_STR(work_next(&w, 0)->id, "b");
	CHECK_INT(apply(&w, ev_started(work_find(&w, "b"), "w2", 0, 1100)), 0);
	CHECK_INT(apply(&w, ev_started(j, "w1", 0, 1200)), 0);
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
	CHECK_INT(apply(&w, ev_started(work_find(&w, "a"), "w", 0, 5)), 0);
	CHECK_INT(apply(&w, ev_started(work_find(&w, "a"), "w", 0, 5)), -1);
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
		apply(&w, ev_started(work_find(&w, name), "w", 0, 10));
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
	CHECK_STR(work_next(&r, 0)->id, work_next(&w, 0)->id);	/* queue order kept */
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

/*
 * A snapshot with no finished job (a fresh state, or only pending and
 * running jobs): restore sorts no finished list (qsort of NULL is
 * undefined, even for zero elements) and gets the same state back.
 */
static void
restore_unfinished(void)
{
	struct work w, r;
	cJSON *snap;

	work_init(&w);
	snap = work_snapshot(&w);
	work_init(&r);
	CHECK_INT(work_restore(&r, snap, err, sizeof(err)), 0);
	CHECK_INT(r.seq, 0);
	CHECK(r.fin_head == NULL && r.fin_tail == NULL);
	work_free(&r);
	cJSON_Delete(snap);

	apply(&w, ev_accepted("a", "cA=="));
	apply(&w, ev_accepted("b", "cA=="));
	apply(&w, ev_started(work_find(&w, "a"), "w1", 0, 10));
	snap = work_snapshot(&w);
	work_init(&r);
	CHECK_INT(work_restore(&r, snap, err, sizeof(err)), 0);
	CHECK_INT(r.seq, w.seq);
	CHECK_INT(r.npending, 1);
	CHECK_INT(r.nrunning, 1);
	CHECK(r.fin_head == NULL && r.fin_tail == NULL);
	CHECK_STR(work_next(&r, 0)->id, "b");
	/* and the first job to finish starts the finished list */
	CHECK_INT(apply(&r, ev_completed(work_find(&r, "a"), "w1", "ok")), 0);
	CHECK(r.fin_head == work_find(&r, "a") && r.fin_tail == r.fin_head);
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
		apply(w, ev_started(work_find(w, name), "w", 0, 10));
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
	apply(&w, ev_started(work_find(&w, "q"), "w", 0, 10));	/* running: neither */
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

/* ---- merging a divergent log ---- */

/* Applies ev to w and keeps a copy (with epoch ep) in log, as a journal would. */
static void
log_apply(struct work *w, cJSON *log, uint64_t ep, cJSON *ev)
{
	cJSON *c = cJSON_Duplicate(ev, 1);

	json_add_u64(c, "ep", ep);
	cJSON_AddItemToArray(log, c);
	CHECK_INT(apply(w, ev), 0);
}

/* Merges the salvage into w as the master does (journal, then apply); counts what happened. */
static void
merge_all(struct work *w, const cJSON *salvage, long counts[MERGE_WHATS])
{
	cJSON *out = work_merge(w, salvage, 77, counts);
	const cJSON *o;

	cJSON_ArrayForEach(o, out)
		CHECK_INT(work_apply(w, w->seq + 1, o, err, sizeof(err)), 0);
	cJSON_Delete(out);
}

/* The common history, then two that part: m (the master's) and s (salvaged). */
static void
two_sides(struct work *m, struct work *s, cJSON *slog)
{
	cJSON *mlog = cJSON_CreateArray();
	int i;

	work_init(m);
	work_init(s);
	for (i = 0; i < 2; i++) {
		struct work *w = i ? s : m;
		cJSON *log = i ? slog : mlog;

		log_apply(w, log, 1, ev_accepted("a", "YQ=="));
		log_apply(w, log, 1, ev_accepted("b", "Yg=="));
		log_apply(w, log, 1, ev_accepted("c", "Yw=="));
		log_apply(w, log, 1, ev_started(work_find(w, "a"), "w1", 0, 5));
	}
	cJSON_Delete(cJSON_DetachItemFromArray(slog, 0));	/* the salvage starts where they part */
	cJSON_Delete(cJSON_DetachItemFromArray(slog, 0));
	cJSON_Delete(cJSON_DetachItemFromArray(slog, 0));
	cJSON_Delete(cJSON_DetachItemFromArray(slog, 0));
	/* the master's side: a done, d accepted, b running */
	log_apply(m, mlog, 2, ev_completed(work_find(m, "a"), "w1", "a here"));
	log_apply(m, mlog, 2, ev_accepted("d", "ZA=="));
	log_apply(m, mlog, 2, ev_started(work_find(m, "b"), "w2", 0, 6));
	/* the other side: a done otherwise, e accepted and done, f accepted, c failed, b done */
	log_apply(s, slog, 3, ev_completed(work_find(s, "a"), "w9", "a there"));
	log_apply(s, slog, 3, ev_accepted("e", "ZQ=="));
	log_apply(s, slog, 3, ev_started(work_find(s, "e"), "w9", 0, 7));
	log_apply(s, slog, 3, ev_completed(work_find(s, "e"), "w9", "e there"));
	log_apply(s, slog, 3, ev_accepted("f", "Zg=="));
	log_apply(s, slog, 3, ev_started(work_find(s, "f"), "w9", 0, 8));
	log_apply(s, slog, 3, ev_failed(work_find(s, "c"), "gave up there"));
	log_apply(s, slog, 3, ev_started(work_find(s, "b"), "w9", 0, 9));
	log_apply(s, slog, 3, ev_completed(work_find(s, "b"), "w9", "b there"));
	cJSON_Delete(mlog);
}

/* Every job accepted on either side is known after the merge; done on either side is done. */
static void
merge_divergent(void)
{
	struct work m, s;
	cJSON *slog = cJSON_CreateArray(), *bad;
	long n[MERGE_WHATS];
	const struct job *j;

	two_sides(&m, &s, slog);
	merge_all(&m, slog, n);
	CHECK_INT(n[MERGE_ACCEPTED], 2);		/* e and f */
	CHECK_INT(n[MERGE_FINISHED], 3);		/* e, c and b */
	CHECK_INT(n[MERGE_BAD], 0);
	CHECK_INT(m.n, 6);
	CHECK_INT(work_find(&m, "a")->status, JOB_DONE);	/* finished here: as here */
	CHECK_INT(work_find(&m, "d")->status, JOB_PENDING);	/* only here: untouched */
	j = work_find(&m, "e");					/* only there, done there */
	CHECK(j != NULL && j->status == JOB_DONE && strcmp(j->worker, "w9") == 0);
	j = work_find(&m, "f");					/* only there, running there */
	CHECK(j != NULL && j->status == JOB_PENDING && strcmp(j->payload, "Zg==") == 0);
	CHECK_INT(work_find(&m, "c")->status, JOB_FAILED);	/* pending here, failed there */
	CHECK_INT(work_find(&m, "b")->status, JOB_DONE);	/* running here, done there */
	CHECK_INT(m.ndone, 3);
	CHECK_INT(m.nfailed, 1);
	/* a second merge of the same salvage (a resend) changes nothing */
	merge_all(&m, slog, n);
	CHECK_INT(n[MERGE_ACCEPTED] + n[MERGE_FINISHED], 0);
	CHECK_INT(m.n, 6);
	/* malformed salvage is skipped, never applied */
	bad = cJSON_Parse("[{\"e\":\"accepted\",\"id\":\"bad id\",\"payload\":\"\"},"
	    "{\"e\":\"completed\",\"id\":\"d\"},{\"e\":\"what\"},{\"id\":\"x\"},7]");
	merge_all(&m, bad, n);
	CHECK_INT(n[MERGE_BAD], 5);
	CHECK_INT(m.n, 6);
	cJSON_Delete(bad);
	cJSON_Delete(slog);
	work_free(&m);
	work_free(&s);
}

/* One merge decides each salvaged event on what it decided before, not on w alone. */
static void
merge_in_order(void)
{
	struct work w;
	cJSON *salvage, *out;
	long n[MERGE_WHATS];

	work_init(&w);
	apply(&w, ev_accepted("p", "cA=="));
	salvage = cJSON_Parse("["
	    "{\"e\":\"accepted\",\"id\":\"q\",\"payload\":\"cQ==\"},"
	    "{\"e\":\"accepted\",\"id\":\"q\",\"payload\":\"cQ==\"},"
	    "{\"e\":\"completed\",\"id\":\"q\",\"worker\":\"w\",\"result\":\"rq\"},"
	    "{\"e\":\"failed\",\"id\":\"p\",\"why\":\"no\"},"
	    "{\"e\":\"completed\",\"id\":\"p\",\"worker\":\"w\",\"result\":\"rp\"}]");
	out = work_merge(&w, salvage, 5, n);
	/* accepted q, started q, completed q, failed p: nothing twice, w untouched */
	CHECK_INT(cJSON_GetArraySize(out), 4);
	CHECK_INT(n[MERGE_ACCEPTED], 1);
	CHECK_INT(n[MERGE_FINISHED], 2);
	CHECK_INT(n[MERGE_SKIPPED], 2);
	CHECK_INT(w.n, 1);
	merge_all(&w, salvage, n);
	CHECK_INT(work_find(&w, "q")->status, JOB_DONE);
	CHECK_INT(work_find(&w, "p")->status, JOB_FAILED);
	cJSON_Delete(out);
	cJSON_Delete(salvage);
	work_free(&w);
}

static cJSON *
line_of(uint64_t seq, void *arg)
{
	char buf[64];

	(void)arg;
	snprintf(buf, sizeof(buf), "{\"result\":\"line %llu\"}", (unsigned long long)seq);
	return cJSON_Parse(buf);
}

/* A log cut behind its snapshot: the snapshot's jobs merge as its events would. */
static void
merge_snapshot(void)
{
	struct work m, s;
	cJSON *slog = cJSON_CreateArray(), *snap, *evs;
	long n[MERGE_WHATS];
	const struct job *j;

	two_sides(&m, &s, slog);
	snap = work_snapshot(&s);
	evs = work_snapshot_events(snap, line_of, NULL);
	merge_all(&m, evs, n);
	CHECK_INT(n[MERGE_ACCEPTED], 2);
	CHECK_INT(n[MERGE_FINISHED], 3);
	j = work_find(&m, "e");
	CHECK(j != NULL && j->status == JOB_DONE);
	CHECK_INT(work_find(&m, "f")->status, JOB_PENDING);
	CHECK_INT(work_find(&m, "c")->status, JOB_FAILED);
	CHECK_INT(work_find(&m, "b")->status, JOB_DONE);
	CHECK_INT(work_find(&m, "a")->status, JOB_DONE);
	/* the finished ones carry their result lines' text */
	{
		const cJSON *ev;
		int found = 0;

		cJSON_ArrayForEach(ev, evs)
			if (strcmp(json_str(ev, "e"), "completed") == 0 && strcmp(json_str(ev, "id"), "e") == 0)
				found = strncmp(json_str(ev, "result"), "line ", 5) == 0;
		CHECK(found);
	}
	cJSON_Delete(evs);
	cJSON_Delete(snap);
	cJSON_Delete(slog);
	work_free(&m);
	work_free(&s);
}

/*
 * A failed job's event carries the tail of its stderr: at most
 * WORK_STDERR_MAX bytes, cut at a character, none when empty; a merge
 * carries it over, from events and from a snapshot's result lines.
 */
static cJSON *
line_stderr(uint64_t seq, void *arg)
{
	(void)seq;
	(void)arg;
	return cJSON_Parse("{\"result\":\"gave up\",\"stderr\":\"oops\\n\"}");
}

static void
failed_stderr(void)
{
	struct work w;
	cJSON *ev, *salvage, *out, *snap;
	char *big = malloc(WORK_STDERR_MAX + 100);
	long n[MERGE_WHATS];
	const char *s;
	size_t i;

	work_init(&w);
	apply(&w, ev_accepted("a", "cA=="));
	ev = ev_with_stderr(ev_failed(work_find(&w, "a"), "exit status 2"), "line 1\nline 2\n");
	CHECK_STR(json_str(ev, "stderr"), "line 1\nline 2\n");
	CHECK_INT(apply(&w, ev), 0);
	CHECK_INT(work_find(&w, "a")->status, JOB_FAILED);
	ev = ev_with_stderr(ev_failed(work_find(&w, "a"), "x"), "");
	CHECK(cJSON_GetObjectItemCaseSensitive(ev, "stderr") == NULL);
	cJSON_Delete(ev);
	ev = ev_with_stderr(ev_failed(work_find(&w, "a"), "x"), NULL);
	CHECK(cJSON_GetObjectItemCaseSensitive(ev, "stderr") == NULL);
	cJSON_Delete(ev);
	/* too long: the last bytes, starting at a character (é is 2 bytes) */
	memset(big, 'y', 10);
	for (i = 10; i + 2 <= WORK_STDERR_MAX + 11; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[i] = '\0';
	ev = ev_with_stderr(ev_failed(work_find(&w, "a"), "x"), big);
	s = json_str(ev, "stderr");
	CHECK(s != NULL && strlen(s) <= WORK_STDERR_MAX && strlen(s) >= WORK_STDERR_MAX - 1);
	CHECK(s != NULL && (unsigned char)s[0] == 0xc3 && strcmp(s + strlen(s) - 2, "\xc3\xa9") == 0);
	cJSON_Delete(ev);
	free(big);
	/* merged from a divergent log, with its stderr */
	salvage = cJSON_Parse("[{\"e\":\"accepted\",\"id\":\"b\",\"payload\":\"cQ==\"},"
	    "{\"e\":\"failed\",\"id\":\"b\",\"why\":\"no\",\"stderr\":\"why not\\n\"}]");
	out = work_merge(&w, salvage, 5, n);
	CHECK_INT(cJSON_GetArraySize(out), 2);
	CHECK_STR(json_str(cJSON_GetArrayItem(out, 1), "stderr"), "why not\n");
	cJSON_Delete(out);
	cJSON_Delete(salvage);
	/* from a snapshot: the result line's stderr */
	snap = work_snapshot(&w);
	out = work_snapshot_events(snap, line_stderr, NULL);
	CHECK_INT(cJSON_GetArraySize(out), 2);
	CHECK_STR(json_str(cJSON_GetArrayItem(out, 1), "stderr"), "oops\n");
	cJSON_Delete(out);
	cJSON_Delete(snap);
	work_free(&w);
}

/* A result line whose result is not text: its bytes in base64. */
static cJSON *
line_b64(uint64_t seq, void *arg)
{
	(void)seq;
	(void)arg;
	return cJSON_Parse("{\"result_base64\":\"wIA=\"}");
}

/*
 * A result that is not text travels as result_base64: it completes a job,
 * and a merge (from events or from a snapshot's result lines) carries it as
 * it is, never as text.
 */
static void
binary_result(void)
{
	struct work w, m;
	cJSON *ev, *out, *salvage, *snap;
	long n[MERGE_WHATS];

	work_init(&w);
	apply(&w, ev_accepted("a", "cA=="));
	apply(&w, ev_started(work_find(&w, "a"), "w1", 0, 10));
	ev = ev_completed_b64(work_find(&w, "a"), "w1", "wIA=");
	CHECK_STR(json_str(ev, "result_base64"), "wIA=");
	CHECK(cJSON_GetObjectItemCaseSensitive(ev, "result") == NULL);
	CHECK_STR(work_result_key(ev), "result_base64");
	CHECK_INT(apply(&w, ev), 0);
	CHECK_INT(work_find(&w, "a")->status, JOB_DONE);
	/* a completed event with neither is malformed */
	apply(&w, ev_accepted("b", "cA=="));
	apply(&w, ev_started(work_find(&w, "b"), "w1", 0, 10));
	ev = cJSON_Parse("{\"e\":\"completed\",\"id\":\"b\",\"worker\":\"w1\"}");
	CHECK_INT(apply(&w, ev), -1);

	/* merged from a salvaged event */
	work_init(&m);
	apply(&m, ev_accepted("a", "cA=="));
	salvage = cJSON_Parse("[{\"e\":\"completed\",\"id\":\"a\",\"worker\":\"w9\","
	    "\"result_base64\":\"7aCA\"}]");
	out = work_merge(&m, salvage, 5, n);
	CHECK_INT(n[MERGE_FINISHED], 1);
	CHECK_INT(cJSON_GetArraySize(out), 2);		/* started, completed */
	ev = cJSON_GetArrayItem(out, 1);
	CHECK_STR(json_str(ev, "result_base64"), "7aCA");
	CHECK(json_str(ev, "result") == NULL);
	cJSON_Delete(out);
	cJSON_Delete(salvage);
	work_free(&m);

	/* merged from a snapshot, whose result line has it */
	snap = work_snapshot(&w);
	out = work_snapshot_events(snap, line_b64, NULL);
	{
		const cJSON *e;
		int found = 0;

		cJSON_ArrayForEach(e, out)
			if (strcmp(json_str(e, "e"), "completed") == 0 && strcmp(json_str(e, "id"), "a") == 0)
				found = json_str(e, "result") == NULL &&
				    json_str(e, "result_base64") != NULL &&
				    strcmp(json_str(e, "result_base64"), "wIA=") == 0;
		CHECK(found);
	}
	cJSON_Delete(out);
	cJSON_Delete(snap);
	work_free(&w);
}

/* ---- epoch runs ---- */

static void
runs(struct epochs *e, uint64_t lo, const uint64_t *pairs, int n)
{
	int i;

	epochs_clear(e, lo);
	for (i = 0; i < n; i++)
		epochs_note(e, pairs[2 * i + 1], pairs[2 * i]);
}

static void
epoch_runs(void)
{
	struct epochs a, b;
	cJSON *j;
	uint64_t ra[] = { 1, 1, 5, 11, 7, 21 };		/* epoch 1 from 1, 5 from 11, 7 from 21 */
	uint64_t rb[] = { 1, 1, 5, 11, 6, 15 };		/* parts from a at 15 */
	uint64_t rc[] = { 1, 1, 4, 9 };			/* parts at 9 */

	epochs_init(&a);
	epochs_init(&b);
	runs(&a, 1, ra, 3);
	CHECK_INT(epochs_of(&a, 0, 30), 0);
	CHECK_INT(epochs_of(&a, 10, 30), 1);
	CHECK_INT(epochs_of(&a, 11, 30), 5);
	CHECK_INT(epochs_of(&a, 30, 30), 7);
	CHECK_INT(epochs_of(&a, 31, 30), 0);		/* beyond the end: unknown */
	/* the same log: all of it; a prefix: the shorter end */
	CHECK_INT(epochs_common(&a, 30, &a, 30), 30);
	CHECK_INT(epochs_common(&a, 30, &a, 17), 17);
	runs(&b, 1, rb, 3);
	CHECK_INT(epochs_common(&a, 30, &b, 18), 14);
	CHECK_INT(epochs_common(&b, 18, &a, 30), 14);
	CHECK_INT(epochs_common(&a, 30, &b, 12), 12);	/* b stops inside epoch 5: a prefix */
	runs(&b, 1, rc, 2);
	CHECK_INT(epochs_common(&a, 30, &b, 20), 8);
	runs(&b, 1, (uint64_t[]){ 9, 1 }, 1);		/* nothing in common */
	CHECK_INT(epochs_common(&a, 30, &b, 20), 0);
	/* known only from a snapshot on: below it nothing is known */
	runs(&b, 16, (uint64_t[]){ 5, 16 }, 1);
	CHECK_INT(epochs_of(&b, 15, 18), 0);
	CHECK_INT(epochs_of(&b, 16, 18), 5);
	CHECK_INT(epochs_common(&a, 30, &b, 18), 18);
	CHECK_INT(epochs_common(&a, 30, &b, 25), 20);
	runs(&b, 22, (uint64_t[]){ 5, 22 }, 1);		/* a's epoch 5 ends before b's known part */
	CHECK_INT(epochs_common(&a, 30, &b, 25), 0);
	/* a cut drops the runs after it */
	runs(&b, 1, ra, 3);
	epochs_cut(&b, 12);
	CHECK_INT(b.n, 2);
	CHECK_INT(epochs_of(&b, 12, 12), 5);
	/* JSON: the runs up to a seq, the newest few; what is left out is unknown */
	j = epochs_json(&a, 30, 64);
	CHECK_INT(epochs_from_json(&b, j), 0);
	CHECK_INT(epochs_common(&a, 30, &b, 30), 30);
	cJSON_Delete(j);
	j = epochs_json(&a, 15, 64);
	CHECK_INT(epochs_from_json(&b, j), 0);
	CHECK_INT(b.n, 2);
	cJSON_Delete(j);
	j = epochs_json(&a, 30, 2);
	CHECK_INT(epochs_from_json(&b, j), 0);
	CHECK_INT(b.n, 2);
	CHECK_INT(b.lo, 11);
	CHECK_INT(epochs_of(&b, 10, 30), 0);
	CHECK_INT(epochs_common(&a, 30, &b, 30), 30);
	cJSON_Delete(j);
	/* out of order or malformed runs are refused */
	j = cJSON_Parse("{\"lo\":\"1\",\"runs\":[[\"5\",\"1\"],[\"3\",\"9\"]]}");
	CHECK_INT(epochs_from_json(&b, j), -1);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"lo\":\"1\",\"runs\":[[\"5\",\"1\"],[\"7\",\"1\"]]}");
	CHECK_INT(epochs_from_json(&b, j), -1);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"lo\":\"1\",\"runs\":[[5,1]]}");
	CHECK_INT(epochs_from_json(&b, j), -1);
	cJSON_Delete(j);
	epochs_free(&a);
	epochs_free(&b);
}

/* A merge accepts a job again with its options and time; fields out of range stay behind. */
static void
merge_keeps_options(void)
{
	struct work w;
	long counts[MERGE_WHATS];
	cJSON *salv = cJSON_CreateArray(), *ev, *out;
	struct job *j;

	work_init(&w);
	ev = ev_accepted("m1", "eA==");
	cJSON_AddNumberToObject(ev, "at", 1000);
	cJSON_AddNumberToObject(ev, "priority", 7);
	cJSON_AddNumberToObject(ev, "ready_at", 5000);
	cJSON_AddNumberToObject(ev, "timeout_ms", 900);
	cJSON_AddNumberToObject(ev, "ep", 3);
	cJSON_AddItemToArray(salv, ev);
	ev = ev_accepted("m2", "eA==");
	cJSON_AddNumberToObject(ev, "at", 1e25);		/* out of range: dropped */
	cJSON_AddNumberToObject(ev, "timeout_ms", 0);	/* out of range: dropped */
	cJSON_AddItemToArray(salv, ev);
	out = work_merge(&w, salv, 2000, counts);
	CHECK_INT(counts[MERGE_ACCEPTED], 2);
	cJSON_ArrayForEach(ev, out)
		CHECK_INT(work_apply(&w, w.seq + 1, ev, err, sizeof(err)), 0);
	j = work_find(&w, "m1");
	CHECK_INT(j->priority, 7);
	CHECK_INT(j->ready_at, 5000);
	CHECK_INT(j->timeout_ms, 900);
	CHECK_INT(j->submitted, 1000);
	CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(out, 0), "ep") == NULL);
	j = work_find(&w, "m2");
	CHECK_INT(j->submitted, 0);
	CHECK_INT(j->timeout_ms, 0);
	CHECK_INT(j->priority, WORK_PRIORITY_DEFAULT);
	cJSON_Delete(out);
	cJSON_Delete(salv);
	work_free(&w);
}

int
main(void)
{
	log_init("test-work");
	RUN(lifecycle);
	RUN(bad_events);
	RUN(snapshot_round_trip);
	RUN(restore_unfinished);
	RUN(forget_finished);
	RUN(merge_divergent);
	RUN(merge_in_order);
	RUN(merge_snapshot);
	RUN(binary_result);
	RUN(failed_stderr);
	RUN(epoch_runs);
	RUN(merge_keeps_options);
	return unit_done();
}
