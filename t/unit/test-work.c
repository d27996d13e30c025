/* test-work.c: the master's work state (src/master/work.c): events, order, snapshots. */
#include <stdlib.h>

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

int
main(void)
{
	log_init("test-work");
	RUN(lifecycle);
	RUN(bad_events);
	RUN(snapshot_round_trip);
	return unit_done();
}
