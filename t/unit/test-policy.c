/*
 * test-policy.c: the master's job policy (src/master/policy.c) on a virtual
 * clock: priorities and delays, retries and giving up, attempt timeouts,
 * workers lost or unregistered, cancels and the workers told of them,
 * payload checks, forgetting after keep-finished, a replay that keeps it
 * all, and the work protocol's version in request.c.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "policy.h"
#include "request.h"
#include "unit.h"
#include "work.h"

static struct work W;
static struct policy P;
static char evlog[4096];		/* the event types emitted, space separated */

/* The shell's part: apply what the policy decided (a journal would store it too). */
static void
emit(void *arg, cJSON *ev)
{
	char err[256];

	(void)arg;
	if (work_apply(&W, W.seq + 1, ev, err, sizeof(err)) < 0) {
		printf("emitted an event that does not apply: %s\n", err);
		unit_fail++;
	}
	snprintf(evlog + strlen(evlog), sizeof(evlog) - strlen(evlog), "%s%s", evlog[0] ? " " : "",
	    json_str(ev, "e"));
	cJSON_Delete(ev);
}

static const struct policy_conf conf = {
	.max_attempts = 2, .work_timeout = 3000, .timeout_grace = 1000, .keep_finished = 0,
	.max_pending = 100, .max_payload = 16, .worker_gone = 4000, .start_grace = 10000
};

static void
start(const struct policy_conf *c)
{
	work_init(&W);
	policy_init(&P, c ? c : &conf, &W, emit, NULL, 0);
	evlog[0] = '\0';
}

static void
stop(void)
{
	policy_free(&P);
	work_free(&W);
}

/* Submits id at wall; returns the refusal code (0: accepted or known). */
static int
submit(const char *id, const char *payload, long pri, long delay, long timeout, int64_t wall)
{
	struct job_opts o = { pri, delay, timeout };
	char err[256];
	uint64_t since;
	int isnew;

	return policy_submit(&P, id, payload, &o, wall, &isnew, &since, err, sizeof(err));
}

static const char *
next_id(const char *worker, int64_t wall)
{
	struct job *j = policy_next(&P, worker, 0, wall);

	return j ? j->id : "-";
}

static void
priorities_and_delays(void)
{
	start(NULL);
	CHECK_INT(submit("a", "YQ==", 1024, 0, 0, 100), 0);
	CHECK_INT(submit("b", "Yg==", 10, 0, 0, 101), 0);
	CHECK_INT(submit("c", "Yw==", 1024, 0, 0, 102), 0);
	CHECK_INT(submit("d", "ZA==", 0, 1000, 0, 103), 0);	/* ready at 1103 */
	CHECK_INT(work_find(&W, "d")->ready_at, 1103);
	CHECK_STR(work_status_at(work_find(&W, "d"), 500), "delayed");
	CHECK_STR(work_status_at(work_find(&W, "d"), 1103), "pending");
	CHECK_STR(next_id("w1", 200), "b");		/* lowest priority first */
	CHECK_STR(next_id("w1", 300), "a");		/* then in the order accepted */
	CHECK_STR(next_id("w1", 400), "c");
	CHECK_STR(next_id("w1", 1102), "-");		/* d is not ready yet */
	CHECK_INT(work_next_ready_at(&W), 1103);
	CHECK_STR(next_id("w1", 1103), "d");
	CHECK_STR(evlog, "accepted accepted accepted accepted started started started started");
	stop();
}

static void
retry_then_fail(void)
{
	char err[256];
	struct job *j;

	start(NULL);
	submit("f", "eA==", 1024, 0, 0, 0);
	CHECK_STR(next_id("w1", 10), "f");
	CHECK_INT(policy_report(&P, "w1", "f", 1, 0, NULL, NULL, "exit status 3", "oops\n", 20,
	    err, sizeof(err)), 0);
	j = work_find(&W, "f");
	CHECK_INT(j->status, JOB_PENDING);		/* attempt 1 of 2: again */
	/* a report on an attempt that is not the running one is stale */
	CHECK_INT(policy_report(&P, "w1", "f", 1, 1, "result", "x", NULL, NULL, 25, err,
	    sizeof(err)), 1);
	CHECK_STR(next_id("w2", 30), "f");
	CHECK_INT(policy_report(&P, "w2", "f", 2, 0, NULL, NULL, "exit status 3", "oops\n", 40,
	    err, sizeof(err)), 0);
	CHECK_INT(j->status, JOB_FAILED);		/* max-attempts reached */
	CHECK_INT(j->finished, 40);
	CHECK_STR(evlog, "accepted started attempt-failed started failed");
	CHECK_STR(j->hist[j->nhist - 1].why, "gave up after 2 attempts: exit status 3");
	/* a repeated report on a finished job is answered ok: its answer was lost */
	CHECK_INT(policy_report(&P, "w2", "f", 2, 0, NULL, NULL, "x", NULL, 50, err, sizeof(err)), 0);
	CHECK_INT(policy_report(&P, "w2", "nope", 1, 0, NULL, NULL, "x", NULL, 50, err, sizeof(err)), 1);
	stop();
}

static void
timeouts(void)
{
	start(NULL);
	submit("own", "eA==", 1024, 0, 500, 0);
	submit("dflt", "eA==", 1024, 0, 0, 0);
	CHECK_STR(next_id("w1", 1000), "own");
	CHECK_STR(next_id("w1", 1000), "dflt");
	CHECK_INT(policy_timeout(&P, work_find(&W, "own")), 500);
	CHECK_INT(policy_timeout(&P, work_find(&W, "dflt")), 3000);
	/* the start grace: nothing times out in the first 10 s of a master */
	policy_tick(&P, 5000, 9000);
	CHECK_INT(W.nrunning, 2);
	/* own timeout 500 + grace 1000 */
	policy_tick(&P, 10000, 2499);
	CHECK_INT(W.nrunning, 2);
	policy_tick(&P, 10000, 2500);
	CHECK_INT(work_find(&W, "own")->status, JOB_PENDING);
	CHECK_INT(work_find(&W, "dflt")->status, JOB_RUNNING);
	policy_tick(&P, 10000, 5000);		/* 3000 + 1000 after its start at 1000 */
	CHECK_INT(work_find(&W, "dflt")->status, JOB_PENDING);
	CHECK_STR(evlog, "accepted accepted started started timed-out timed-out");
	stop();
}

static void
workers_lost_and_gone(void)
{
	const struct job *j;

	start(NULL);
	submit("a", "eA==", 1024, 0, 0, 0);
	submit("b", "eA==", 1024, 0, 0, 0);
	policy_seen(&P, "w1", 11000);
	policy_seen(&P, "w2", 11000);
	CHECK_STR(next_id("w1", 11000), "a");
	CHECK_STR(next_id("w2", 11000), "b");
	CHECK_INT(P.nwks, 2);
	/* w1 says it stops: dropped now, its job retried now */
	CHECK_INT(policy_unregister(&P, "w1", 11500), 1);
	CHECK_INT(P.nwks, 1);
	j = work_find(&W, "a");
	CHECK_INT(j->status, JOB_PENDING);
	CHECK_STR(j->hist[j->nhist - 1].why, "worker w1 stopped");
	/* w2 goes silent: dropped after worker_gone, its job retried */
	policy_seen(&P, "w2", 12000);
	policy_tick(&P, 15999, 12100);
	CHECK_INT(P.nwks, 1);
	policy_tick(&P, 16000, 12200);
	CHECK_INT(P.nwks, 0);
	CHECK_INT(work_find(&W, "b")->status, JOB_PENDING);
	CHECK_STR(evlog, "accepted accepted started started timed-out timed-out");
	stop();
}

static void
cancels(void)
{
	char err[256];
	cJSON *ids;
	struct work w2;
	struct policy p2;
	cJSON *snap;

	start(NULL);
	submit("r", "eA==", 1024, 0, 0, 0);
	submit("p", "eA==", 1024, 0, 0, 0);
	submit("d", "eA==", 1024, 60000, 0, 0);
	CHECK_STR(next_id("w1", 100), "r");
	CHECK_INT(policy_cancel(&P, "p", 150, err, sizeof(err)), 0);	/* a pending one */
	CHECK_INT(policy_cancel(&P, "d", 200, err, sizeof(err)), 0);	/* a delayed one */
	CHECK_INT(policy_cancel(&P, "r", 300, err, sizeof(err)), 0);	/* a running one */
	CHECK_INT(work_find(&W, "r")->status, JOB_CANCELLED);
	CHECK_INT(W.ncancelled, 3);
	CHECK_INT(W.npending + W.nrunning, 0);
	CHECK(policy_kills(&P, "w2") == NULL);
	CHECK(policy_kills_for(&P, "w1"));
	ids = policy_kills(&P, "w1");
	CHECK(ids != NULL && cJSON_GetArraySize(ids) == 1 &&
	    strcmp(cJSON_GetArrayItem(ids, 0)->valuestring, "r") == 0);
	cJSON_Delete(ids);
	CHECK(policy_kills(&P, "w1") == NULL);	/* told once */
	/* the attempt's report comes later: stale */
	CHECK_INT(policy_report(&P, "w1", "r", 1, 1, "result", "x", NULL, NULL, 400, err,
	    sizeof(err)), 1);
	CHECK(strstr(err, "cancelled") != NULL);
	CHECK_INT(policy_cancel(&P, "r", 500, err, sizeof(err)), 1);
	CHECK_STR(err, "job r is already cancelled");
	CHECK_INT(policy_cancel(&P, "nope", 500, err, sizeof(err)), 1);
	CHECK_STR(err, "no job nope");
	{
		cJSON *h = work_history_json(work_find(&W, "r"));

		CHECK_INT(cJSON_GetArraySize(h), 3);
		CHECK_STR(json_str(cJSON_GetArrayItem(h, 0), "e"), "accepted");
		CHECK_STR(json_str(cJSON_GetArrayItem(h, 1), "worker"), "w1");
		CHECK_STR(json_str(cJSON_GetArrayItem(h, 2), "e"), "cancelled");
		CHECK_STR(json_str(cJSON_GetArrayItem(h, 2), "at"), "1970-01-01T00:00:00.300Z");
		cJSON_Delete(h);
	}
	/* a new master (a snapshot restored) still tells the worker, until the attempt's timeout */
	snap = work_snapshot(&W);
	work_init(&w2);
	CHECK_INT(work_restore(&w2, snap, err, sizeof(err)), 0);
	policy_init(&p2, &conf, &w2, emit, NULL, 0);
	policy_recall_kills(&p2, 1000);
	CHECK(policy_kills_for(&p2, "w1"));
	policy_free(&p2);
	policy_init(&p2, &conf, &w2, emit, NULL, 0);
	policy_recall_kills(&p2, 300 + 3000);	/* past its timeout: killed by its worker anyway */
	CHECK(!policy_kills_for(&p2, "w1"));
	policy_free(&p2);
	work_free(&w2);
	cJSON_Delete(snap);
	stop();
}

static void
submits_refused(void)
{
	char err[256];
	struct job_opts o = { 1024, 0, 0 };
	uint64_t since;
	int isnew;

	start(NULL);
	CHECK_INT(policy_submit(&P, "s", "eA==", &o, 0, &isnew, &since, err, sizeof(err)), 0);
	CHECK_INT(isnew, 1);
	CHECK_INT(since, W.seq);
	CHECK_INT(policy_submit(&P, "s", "eA==", &o, 0, &isnew, &since, err, sizeof(err)), 0);
	CHECK_INT(isnew, 0);
	CHECK_INT(policy_submit(&P, "s", "eQ==", &o, 0, &isnew, &since, err, sizeof(err)), 1);
	CHECK_STR(err, "id s exists with a different payload");
	CHECK_INT(policy_submit(&P, "big", "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==", &o, 0, &isnew, &since,
	    err, sizeof(err)), 1);
	CHECK(strstr(err, "max-payload") != NULL);
	CHECK_INT(policy_submit(&P, "bad", "!!", &o, 0, &isnew, &since, err, sizeof(err)), 2);
	stop();
	{
		struct policy_conf c = conf;

		c.max_pending = 1;
		start(&c);
		CHECK_INT(submit("one", "eA==", 1024, 0, 0, 0), 0);
		CHECK_INT(submit("two", "eA==", 1024, 0, 0, 0), 1);
		stop();
	}
}

static void
forget_after_keep_finished(void)
{
	char err[256];
	struct policy_conf c = conf;

	c.keep_finished = 1000;
	start(&c);
	submit("k", "eA==", 1024, 0, 0, 0);
	CHECK_STR(next_id("w", 0), "k");
	CHECK_INT(policy_report(&P, "w", "k", 1, 1, "result", "ok", NULL, NULL, 0, err,
	    sizeof(err)), 0);
	policy_tick(&P, 0, 0);		/* a mark at the done event */
	policy_tick(&P, 999, 999);
	CHECK(work_find(&W, "k") != NULL);
	policy_tick(&P, 1000, 1000);
	CHECK(work_find(&W, "k") == NULL);
	CHECK_INT(W.nforgotten, 1);
	CHECK_STR(evlog, "accepted started completed forget");
	/* the id is free again: another payload is a new job, not a refusal */
	CHECK_INT(submit("k", "eQ==", 1024, 0, 0, 2000), 0);
	stop();
}

/* Priorities, delays and times survive a snapshot: a new master decides the same. */
static void
replay_keeps_order(void)
{
	char err[256];
	struct work w2;
	cJSON *snap;
	const char *want[] = { "b", "c", "a" };
	int i;

	start(NULL);
	submit("a", "YQ==", 2000, 0, 0, 10);
	submit("b", "Yg==", 5, 5000, 700, 11);
	submit("c", "Yw==", 1024, 0, 0, 12);
	snap = work_snapshot(&W);
	work_init(&w2);
	CHECK_INT(work_restore(&w2, snap, err, sizeof(err)), 0);
	CHECK_INT(work_find(&w2, "b")->ready_at, 5011);
	CHECK_INT(work_find(&w2, "b")->timeout_ms, 700);
	CHECK_INT(work_find(&w2, "b")->submitted, 11);
	CHECK_INT(work_find(&w2, "b")->priority, 5);
	CHECK(work_same_payload(work_find(&w2, "a"), "YQ==") == 1);
	CHECK(work_same_payload(work_find(&w2, "a"), "Yg==") == 0);
	CHECK_STR(work_next(&w2, 100)->id, "c");
	for (i = 0; i < 3; i++) {
		struct job *j = work_next(&w2, 6000);
		cJSON *ev = ev_at(ev_started(j, "w", 0, 6000), 6000);

		CHECK_STR(j->id, want[i]);
		CHECK_INT(work_apply(&w2, w2.seq + 1, ev, err, sizeof(err)), 0);
		cJSON_Delete(ev);
	}
	work_free(&w2);
	cJSON_Delete(snap);
	stop();
}

/* policy_report_next's job, or "-"; *rc its answer code. */
static const char *
report_next(const char *worker, const char *id, long attempt, int success, int64_t wall, int *rc)
{
	char err[256];
	struct job *j = (struct job *)1;

	*rc = policy_report_next(&P, worker, id, attempt, success, success ? "result" : NULL,
	    success ? "x" : NULL, success ? NULL : "exit status 1", NULL, wall, &j, err,
	    sizeof(err));
	return j ? j->id : "-";
}

/*
 * A report that carries the next request: the report's event, then the
 * next job's start, for the same worker; a refused report starts nothing;
 * none ready gives NULL (the shell parks the ask).
 */
static void
report_with_next(void)
{
	const struct job *j;
	int rc;

	start(NULL);
	submit("a", "eA==", 1024, 0, 0, 0);
	submit("b", "eA==", 1024, 0, 0, 0);
	submit("c", "eA==", 1024, 0, 0, 0);
	CHECK_STR(next_id("w1", 100), "a");
	CHECK_STR(report_next("w1", "a", 1, 1, 200, &rc), "b");
	CHECK_INT(rc, 0);
	CHECK_INT(work_find(&W, "a")->status, JOB_DONE);
	j = work_find(&W, "b");
	CHECK_INT(j->status, JOB_RUNNING);
	CHECK_STR(j->worker, "w1");
	CHECK_INT(j->started, 200);			/* its timeout counts from now */
	CHECK_STR(evlog, "accepted accepted accepted started completed started");
	/* a stale report (attempt 2 is not running) is refused and starts no job */
	evlog[0] = '\0';
	CHECK_STR(report_next("w1", "b", 2, 1, 300, &rc), "-");
	CHECK_INT(rc, 1);
	CHECK_INT(work_find(&W, "c")->status, JOB_PENDING);
	CHECK_STR(evlog, "");
	/* an unknown job: refused, nothing started */
	CHECK_STR(report_next("w1", "nope", 1, 1, 300, &rc), "-");
	CHECK_INT(rc, 1);
	CHECK_INT(work_find(&W, "c")->status, JOB_PENDING);
	/* a failed attempt with next: retried (attempt 1 of 2), and the worker gets the oldest ready */
	CHECK_STR(report_next("w1", "b", 1, 0, 400, &rc), "c");
	CHECK_INT(rc, 0);
	CHECK_INT(work_find(&W, "b")->status, JOB_PENDING);
	CHECK_STR(evlog, "attempt-failed started");
	/* c done, b next; then nothing ready: no job, and b's report ends the queue */
	CHECK_STR(report_next("w1", "c", 1, 1, 500, &rc), "b");
	CHECK_STR(report_next("w1", "b", 2, 1, 600, &rc), "-");
	CHECK_INT(rc, 0);
	CHECK_INT(W.ndone, 3);
	/* a repeated report (its answer lost) is ok again, and may bring a job */
	submit("d", "eA==", 1024, 0, 0, 700);
	CHECK_STR(report_next("w1", "b", 2, 1, 800, &rc), "d");
	CHECK_INT(rc, 0);
	stop();
}

/*
 * Prefetch: a worker holds a running job and the one asked for while it
 * ran. Killed, it is dropped after worker_gone and both are retried, for
 * another worker; unregistering does the same at once. A prefetched job
 * can be cancelled like a running one: its worker is told.
 */
static void
prefetched_jobs_of_a_lost_worker(void)
{
	char err[256];
	cJSON *ids;

	start(NULL);
	submit("run", "eA==", 1024, 0, 0, 0);
	submit("pre", "eA==", 1024, 0, 0, 0);
	policy_seen(&P, "w1", 11000);
	CHECK_STR(next_id("w1", 11000), "run");
	CHECK_STR(next_id("w1", 11001), "pre");	/* asked for while "run" runs */
	CHECK_INT(W.nrunning, 2);
	policy_tick(&P, 15000, 12000);		/* silent for worker_gone: dropped */
	CHECK_INT(P.nwks, 0);
	CHECK_INT(work_find(&W, "run")->status, JOB_PENDING);
	CHECK_INT(work_find(&W, "pre")->status, JOB_PENDING);
	CHECK_STR(next_id("w2", 12100), "pre");	/* retried in the order dropped */
	CHECK_STR(next_id("w2", 12100), "run");
	CHECK_INT(work_find(&W, "pre")->attempts, 2);
	CHECK_STR(work_find(&W, "pre")->worker, "w2");
	/* w3 prefetches cx, then stops: cx is retried at once */
	submit("cx", "eA==", 1024, 0, 0, 12150);
	policy_seen(&P, "w3", 15000);
	CHECK_STR(next_id("w3", 12200), "cx");
	CHECK_INT(policy_unregister(&P, "w3", 12300), 1);
	CHECK_INT(work_find(&W, "cx")->status, JOB_PENDING);
	/* w2's prefetched "pre" cancelled: ends cancelled, w2 is told */
	CHECK_INT(policy_cancel(&P, "pre", 12400, err, sizeof(err)), 0);
	CHECK_INT(work_find(&W, "pre")->status, JOB_CANCELLED);
	CHECK_INT(policy_kills_for(&P, "w2"), 1);
	ids = policy_kills(&P, "w2");
	CHECK(ids != NULL && cJSON_GetArraySize(ids) == 1 &&
	    strcmp(cJSON_GetArrayItem(ids, 0)->valuestring, "pre") == 0);
	cJSON_Delete(ids);
	stop();
}

/* A batch of results for policy_reports: done (why NULL) or failed (why). */
static void
preport(struct preport *r, const char *id, long attempt, const char *why)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->attempt = attempt;
	r->success = why == NULL;
	r->rkey = why == NULL ? "result" : NULL;
	r->result = why == NULL ? "x" : NULL;
	r->why = why;
}

/* The ids of jobs[0 .. n), space separated, into buf. */
static const char *
ids_of(struct job **jobs, int n, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "", jobs[i]->id);
	return buf;
}

/*
 * Batches: a request for k jobs starts up to k, in the usual order, all on
 * that worker (one commit for the shell); fewer when fewer are ready. A
 * worker lost while holding its batch has every job of it retried; a
 * stopping one too. A cancel of one job of a batch ends that one alone.
 */
static void
batch_requests(void)
{
	struct job *jobs[8];
	char buf[256], err[256];
	cJSON *ids;
	int i;

	start(NULL);
	for (i = 0; i < 6; i++) {
		snprintf(buf, sizeof(buf), "b%d", i);
		submit(buf, "eA==", 1024, 0, 0, 0);
	}
	submit("urgent", "eA==", 1, 0, 0, 0);
	evlog[0] = '\0';
	policy_seen(&P, "w1", 11000);
	CHECK_INT(policy_next_batch(&P, "w1", 0, 11000, jobs, 4), 4);
	CHECK_STR(ids_of(jobs, 4, buf, sizeof(buf)), "urgent b0 b1 b2");
	CHECK_STR(evlog, "started started started started");
	for (i = 0; i < 4; i++) {
		CHECK_INT(jobs[i]->status, JOB_RUNNING);
		CHECK_STR(jobs[i]->worker, "w1");
		CHECK_INT(jobs[i]->started, 11000);
	}
	CHECK_INT(W.nrunning, 4);
	/* one of the batch cancelled: that one ends, w1 is told of it alone */
	CHECK_INT(policy_cancel(&P, "b1", 11050, err, sizeof(err)), 0);
	CHECK_INT(work_find(&W, "b1")->status, JOB_CANCELLED);
	CHECK_INT(work_find(&W, "b0")->status, JOB_RUNNING);
	CHECK_INT(work_find(&W, "b2")->status, JOB_RUNNING);
	ids = policy_kills(&P, "w1");
	CHECK(ids != NULL && cJSON_GetArraySize(ids) == 1 &&
	    strcmp(cJSON_GetArrayItem(ids, 0)->valuestring, "b1") == 0);
	cJSON_Delete(ids);
	/* a later report on the cancelled one is stale */
	CHECK_INT(policy_report(&P, "w1", "b1", 1, 1, "result", "x", NULL, NULL, 11060, err,
	    sizeof(err)), 1);
	/* fewer ready than asked: what there is */
	CHECK_INT(policy_next_batch(&P, "w2", 0, 11100, jobs, 8), 3);
	CHECK_STR(ids_of(jobs, 3, buf, sizeof(buf)), "b3 b4 b5");
	CHECK_INT(policy_next_batch(&P, "w2", 0, 11100, jobs, 8), 0);
	/* w1 killed holding urgent, b0, b2: dropped after worker_gone, all three retried */
	policy_seen(&P, "w2", 14000);
	policy_tick(&P, 15000, 12000);
	CHECK_INT(P.nwks, 1);
	CHECK_INT(work_find(&W, "urgent")->status, JOB_PENDING);
	CHECK_INT(work_find(&W, "b0")->status, JOB_PENDING);
	CHECK_INT(work_find(&W, "b2")->status, JOB_PENDING);
	CHECK_INT(W.nrunning, 3);			/* w2's */
	CHECK_INT(policy_next_batch(&P, "w3", 0, 12100, jobs, 4), 3);
	CHECK_STR(ids_of(jobs, 3, buf, sizeof(buf)), "urgent b2 b0");	/* in the order dropped */
	CHECK_INT(jobs[0]->attempts, 2);
	/* w2 stops holding its batch: every job of it retried at once */
	CHECK_INT(policy_unregister(&P, "w2", 12200), 3);
	CHECK_INT(W.npending, 3);
	CHECK_INT(policy_next_batch(&P, "w3", 0, 12300, jobs, 4), 3);
	CHECK_STR(ids_of(jobs, 3, buf, sizeof(buf)), "b5 b4 b3");
	stop();
}

/*
 * A report of several results: each taken on its own (a stale or unknown
 * one refuses itself alone, the others commit), then the jobs it asks for
 * are started whatever became of the results.
 */
static void
batch_reports(void)
{
	struct job *jobs[8];
	struct preport r[5];
	char buf[256];
	int n;

	start(NULL);
	submit("a", "eA==", 1024, 0, 0, 0);
	submit("b", "eA==", 1024, 0, 0, 0);
	submit("c", "eA==", 1024, 0, 0, 0);
	submit("d", "eA==", 1024, 0, 0, 0);
	submit("e", "eA==", 1024, 0, 0, 0);
	submit("f", "eA==", 1024, 0, 0, 0);
	CHECK_INT(policy_next_batch(&P, "w1", 0, 100, jobs, 3), 3);	/* a b c */
	evlog[0] = '\0';
	/* a done, b failed (attempt 1 of 2: again), c reported with a wrong attempt, x unknown */
	preport(&r[0], "a", 1, NULL);
	preport(&r[1], "b", 1, "exit status 2");
	preport(&r[2], "c", 2, NULL);
	preport(&r[3], "x", 1, NULL);
	preport(&r[4], "c", 1, NULL);
	r[4].rc = 2;				/* refused by the shell (bad base64): skipped */
	snprintf(r[4].err, sizeof(r[4].err), "result is not base64");
	CHECK_INT(policy_reports(&P, "w1", r, 5, 200, jobs, 2, &n), 2);
	CHECK_INT(r[0].rc, 0);
	CHECK_INT(r[1].rc, 0);
	CHECK_INT(r[2].rc, 1);
	CHECK_STR(r[2].err, "job c: attempt 2 by w1 is not the running one");
	CHECK_INT(r[3].rc, 1);
	CHECK_INT(r[4].rc, 2);
	CHECK_STR(r[4].err, "result is not base64");
	CHECK_INT(work_find(&W, "a")->status, JOB_DONE);
	CHECK_INT(work_find(&W, "b")->status, JOB_PENDING);
	CHECK_INT(work_find(&W, "c")->status, JOB_RUNNING);	/* still w1's attempt 1 */
	/* two jobs asked for: d and e (b went back behind them) */
	CHECK_INT(n, 2);
	CHECK_STR(ids_of(jobs, n, buf, sizeof(buf)), "d e");
	CHECK_STR(evlog, "completed attempt-failed started started");
	/* a report whose results are all refused still starts what it asks for */
	evlog[0] = '\0';
	preport(&r[0], "zz", 1, NULL);
	CHECK_INT(policy_reports(&P, "w1", r, 1, 300, jobs, 4, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(ids_of(jobs, n, buf, sizeof(buf)), "f b");
	/* a repeated batch (its answer lost) is ok again; no next: nothing started */
	preport(&r[0], "c", 1, NULL);
	preport(&r[1], "d", 1, NULL);
	CHECK_INT(policy_reports(&P, "w1", r, 2, 400, jobs, 0, &n), 2);
	CHECK_INT(n, 0);
	CHECK_INT(policy_reports(&P, "w1", r, 2, 500, jobs, 0, &n), 2);
	CHECK_INT(W.ndone, 3);
	CHECK_STR(evlog, "started started completed completed");
	stop();
}

/* request_parse's answer to text: the refusal's code (0: taken), *bad and the message. */
static int
parse(const char *text, int *bad, char *err, size_t errlen)
{
	cJSON *req = json_parse(text, strlen(text));
	struct request r;
	int code;

	err[0] = '\0';
	code = request_parse(req, &r, bad, err, errlen);
	cJSON_Delete(req);
	return code;
}

/* "v" absent is version 1 (a rolling upgrade); another version is refused, naming both. */
static void
protocol_version(void)
{
	char err[256], want[256];
	int bad;

	CHECK_INT(WORK_PROTO_VERSION, 1);
	CHECK_INT(parse("{\"op\":\"queue\"}", &bad, err, sizeof(err)), 0);
	CHECK_INT(bad, REQ_OK);
	CHECK_INT(parse("{\"v\":1,\"op\":\"queue\"}", &bad, err, sizeof(err)), 0);
	CHECK_INT(bad, REQ_OK);
	CHECK_INT(parse("{\"v\":1,\"op\":\"register\",\"worker\":\"w-1\"}", &bad, err,
	    sizeof(err)), 0);
	CHECK_INT(parse("{\"v\":2,\"op\":\"queue\"}", &bad, err, sizeof(err)), 2);
	CHECK_INT(bad, REQ_BAD_VERSION);
	snprintf(want, sizeof(want), "work protocol version 2 refused: this master speaks version %d "
	    "(upgrade the master and its clients together)", WORK_PROTO_VERSION);
	CHECK_STR(err, want);
	/* refused before anything else is looked at: an op it may not know is no crash */
	CHECK_INT(parse("{\"v\":7,\"op\":\"teleport\",\"id\":\"\"}", &bad, err, sizeof(err)), 2);
	CHECK_INT(bad, REQ_BAD_VERSION);
	CHECK(strstr(err, "version 7") != NULL && strstr(err, "version 1") != NULL);
	CHECK_INT(parse("{\"v\":0,\"op\":\"queue\"}", &bad, err, sizeof(err)), 2);
	CHECK_INT(bad, REQ_BAD_VERSION);
	/* a "v" that is no version number is malformed, not a version */
	CHECK_INT(parse("{\"v\":\"1\",\"op\":\"queue\"}", &bad, err, sizeof(err)), 2);
	CHECK_INT(bad, REQ_BAD);
	CHECK_STR(err, "malformed request: \"v\" is not a version number");
	CHECK_INT(parse("{\"v\":1.5,\"op\":\"queue\"}", &bad, err, sizeof(err)), 2);
	CHECK_INT(bad, REQ_BAD);
	CHECK_INT(parse("{\"v\":-1,\"op\":\"queue\"}", &bad, err, sizeof(err)), 2);
	CHECK_INT(bad, REQ_BAD);
	CHECK_INT(parse("{\"v\":null,\"op\":\"queue\"}", &bad, err, sizeof(err)), 2);
	CHECK_INT(bad, REQ_BAD);
	/* the checks after the version still hold */
	CHECK_INT(parse("{\"v\":1}", &bad, err, sizeof(err)), 2);
	CHECK_INT(bad, REQ_BAD);
	CHECK_INT(parse("{\"v\":1,\"op\":\"submit\"}", &bad, err, sizeof(err)), 2);
	CHECK_INT(bad, REQ_OK);
}

/* "next" on done/failed: a boolean, with the ask's wait; anything else is a clear refusal. */
static void
next_field(void)
{
	const char *done = "{\"v\":1,\"op\":\"done\",\"worker\":\"w\",\"id\":\"j\","
	    "\"attempt\":1,\"result\":\"\"";
	char text[512], err[256];
	cJSON *req;
	struct request r;
	int bad;

	snprintf(text, sizeof(text), "%s,\"next\":true,\"wait\":3000}", done);
	req = json_parse(text, strlen(text));
	CHECK_INT(request_parse(req, &r, &bad, err, sizeof(err)), 0);
	CHECK_INT(r.next, 1);
	CHECK_INT(r.wait, REQ_WAIT_MAX);		/* capped as a request's */
	cJSON_Delete(req);
	snprintf(text, sizeof(text), "%s}", done);	/* an old worker: no next, no wait */
	req = json_parse(text, strlen(text));
	CHECK_INT(request_parse(req, &r, &bad, err, sizeof(err)), 0);
	CHECK_INT(r.next, 0);
	CHECK_INT(r.wait, 0);
	cJSON_Delete(req);
	snprintf(text, sizeof(text), "%s,\"next\":false,\"wait\":1000}", done);
	req = json_parse(text, strlen(text));
	CHECK_INT(request_parse(req, &r, &bad, err, sizeof(err)), 0);
	CHECK_INT(r.next, 0);
	cJSON_Delete(req);
	snprintf(text, sizeof(text), "%s,\"next\":1}", done);
	CHECK_INT(parse(text, &bad, err, sizeof(err)), 2);
	CHECK_STR(err, "done: \"next\" must be true or false");
	CHECK_INT(parse("{\"op\":\"failed\",\"worker\":\"w\",\"id\":\"j\",\"attempt\":1,"
	    "\"next\":\"yes\"}", &bad, err, sizeof(err)), 2);
	CHECK_STR(err, "failed: \"next\" must be true or false");
}

static const char report_text[] = "{\"op\":\"report\",\"worker\":\"w\",\"next\":3,\"wait\":9000,"
	    "\"reports\":[{\"id\":\"a\",\"attempt\":1,\"result\":\"eA==\"},"
	    "{\"id\":\"b\",\"attempt\":2,\"why\":\"exit status 1\",\"stderr\":\"e\\n\"},"
	    "{\"id\":\"c\"},{\"id\":\"d\",\"attempt\":1,\"result\":\"eA==\",\"why\":\"x\"},7]}";

/* "max" of a request, and a report of several results: their checks in request.c. */
static void
batch_fields(void)
{
	char err[256];
	cJSON *req;
	struct request r;
	struct report_item it;
	int bad;

	CHECK_INT(parse("{\"op\":\"request\",\"worker\":\"w\",\"max\":4}", &bad, err,
	    sizeof(err)), 0);
	CHECK_INT(parse("{\"op\":\"request\",\"worker\":\"w\",\"max\":0}", &bad, err,
	    sizeof(err)), 2);
	CHECK_STR(err, "request: \"max\" must be a number 1-256");
	CHECK_INT(parse("{\"op\":\"request\",\"worker\":\"w\",\"max\":\"4\"}", &bad, err,
	    sizeof(err)), 2);
	CHECK_INT(parse("{\"op\":\"report\",\"worker\":\"w\"}", &bad, err, sizeof(err)), 2);
	CHECK_STR(err, "report: \"reports\" must be an array of 1-256 results");
	CHECK_INT(parse("{\"op\":\"report\",\"worker\":\"w\",\"reports\":[]}", &bad, err,
	    sizeof(err)), 2);
	CHECK_INT(parse("{\"op\":\"report\",\"reports\":[{}]}", &bad, err, sizeof(err)), 2);
	CHECK_STR(err, "report needs a worker id");
	CHECK_INT(parse("{\"op\":\"report\",\"worker\":\"w\",\"reports\":[{}],\"next\":true}",
	    &bad, err, sizeof(err)), 2);
	CHECK_STR(err, "report: \"next\" must be a number 0-256");
	req = json_parse(report_text, sizeof(report_text) - 1);
	CHECK(req != NULL);
	CHECK_INT(request_parse(req, &r, &bad, err, sizeof(err)), 0);
	CHECK_INT(r.op, OP_REPORT);
	CHECK_INT(r.batch, 3);
	CHECK_INT(r.wait, REQ_WAIT_MAX);
	CHECK_INT(cJSON_GetArraySize(r.reports), 5);
	CHECK_INT(request_report_item(cJSON_GetArrayItem(r.reports, 0), &it, err, sizeof(err)), 0);
	CHECK(it.success && strcmp(it.id, "a") == 0 && it.attempt == 1 &&
	    strcmp(it.result, "eA==") == 0);
	CHECK_INT(request_report_item(cJSON_GetArrayItem(r.reports, 1), &it, err, sizeof(err)), 0);
	CHECK(!it.success && it.attempt == 2 && strcmp(it.why, "exit status 1") == 0 &&
	    strcmp(it.errtail, "e\n") == 0);
	CHECK_INT(request_report_item(cJSON_GetArrayItem(r.reports, 2), &it, err, sizeof(err)), 2);
	CHECK_STR(err, "a report's result needs id and attempt");
	CHECK_INT(request_report_item(cJSON_GetArrayItem(r.reports, 3), &it, err, sizeof(err)), 2);
	CHECK_STR(err, "job d: a report's result has \"result\" (done) or \"why\" (failed), "
	    "not both");
	CHECK_INT(request_report_item(cJSON_GetArrayItem(r.reports, 4), &it, err, sizeof(err)), 2);
	cJSON_Delete(req);
}

/*
 * The event an answer handing out jobs waits for (policy_jobs_need): a
 * report's own events and what came before, not the jobs' accepted and
 * started events after them; all of them when early is off or the answer
 * tells cancels; never before the epoch marker.
 */
static void
jobs_need(void)
{
	struct job *jb = NULL;
	char err[256];
	uint64_t own;

	start(NULL);
	CHECK_INT(submit("a", "eA==", 1024, 0, 0, 1000), 0);
	CHECK(policy_next(&P, "w", 0, 1000) != NULL);
	CHECK_INT(submit("b", "eA==", 1024, 0, 0, 1000), 0);
	/* a's done with the next request: its completed event, then b's started */
	CHECK_INT(policy_report(&P, "w", "a", 1, 1, "result", "x", NULL, NULL, 1001, err,
	    sizeof(err)), 0);
	own = W.seq;
	CHECK((jb = policy_next(&P, "w", 0, 1001)) != NULL);
	CHECK_STR(jb->id, "b");
	CHECK(W.seq == own + 1);
	CHECK_STR(evlog, "accepted started accepted completed started");
	/* b's accepted (event 3) and started (5) are not waited for; a's completed (4) is */
	CHECK(policy_jobs_need(1, own, 0, W.seq, 0) == 4);
	CHECK(policy_jobs_need(0, own, 0, W.seq, 0) == 5);
	CHECK(policy_jobs_need(1, own, 0, W.seq, 1) == 5);
	/* never before the epoch marker, never beyond the journal's end */
	CHECK(policy_jobs_need(1, own, 5, W.seq, 0) == 5);
	CHECK(policy_jobs_need(1, 9, 0, 5, 0) == 5);
	/* a parked ask's own events end where it was parked: here, before any job */
	CHECK(policy_jobs_need(1, 0, 0, W.seq, 0) == 0);
	stop();
}

/* The jobs an ask was given, found again by its token: running on that worker, nothing else. */
static void
asked_again(void)
{
	struct job *jobs[4], *jb;
	struct work w2;
	char err[256];
	cJSON *snap;

	start(NULL);
	CHECK_INT(submit("a", "eA==", 1024, 0, 0, 1000), 0);
	CHECK_INT(submit("b", "eA==", 1024, 0, 0, 1000), 0);
	CHECK_INT(submit("c", "eA==", 1024, 0, 0, 1000), 0);
	CHECK_INT(submit("d", "eA==", 1024, 0, 0, 1000), 0);
	CHECK_INT(submit("e", "eA==", 1024, 0, 0, 1000), 0);
	CHECK_INT(policy_next_batch(&P, "w1", 7, 1001, jobs, 2), 2);	/* a and b, to w1's ask 7 */
	CHECK((jb = policy_next(&P, "w2", 7, 1002)) != NULL);		/* c, to w2's ask 7 */
	CHECK((jb = policy_next(&P, "w1", 8, 1003)) != NULL);		/* d, to w1's ask 8 */
	CHECK((jb = policy_next(&P, "w1", 0, 1004)) != NULL);		/* e, an ask without one */
	CHECK_INT(policy_asked(&P, "w1", 0, jobs, 4), 0);
	CHECK_INT(policy_asked(&P, "w1", 9, jobs, 4), 0);
	CHECK_INT(policy_asked(&P, "w1", 7, jobs, 4), 2);
	CHECK((!strcmp(jobs[0]->id, "a") && !strcmp(jobs[1]->id, "b")) ||
	    (!strcmp(jobs[0]->id, "b") && !strcmp(jobs[1]->id, "a")));
	CHECK_INT(policy_asked(&P, "w1", 7, jobs, 1), 1);	/* at most max */
	CHECK_INT(policy_asked(&P, "w2", 7, jobs, 4), 1);
	CHECK_STR(jobs[0]->id, "c");
	CHECK_INT(policy_asked(&P, "w1", 8, jobs, 4), 1);
	CHECK_STR(jobs[0]->id, "d");
	/* a done job is not given again */
	CHECK_INT(policy_report(&P, "w1", "a", 1, 1, "result", "x", NULL, NULL, 1100, err,
	    sizeof(err)), 0);
	CHECK_INT(policy_asked(&P, "w1", 7, jobs, 4), 1);
	CHECK_STR(jobs[0]->id, "b");
	/*
	 * The tokens are in the started events, so a successor master (a
	 * standby that applied them, or one restored from a snapshot) has them
	 */
	snap = work_snapshot(&W);
	work_init(&w2);
	CHECK_INT(work_restore(&w2, snap, err, sizeof(err)), 0);
	CHECK_INT(work_find(&w2, "b")->ask, 7);
	CHECK_INT(work_find(&w2, "c")->ask, 7);
	CHECK_INT(work_find(&w2, "d")->ask, 8);
	CHECK_INT(work_find(&w2, "e")->ask, 0);
	work_free(&w2);
	cJSON_Delete(snap);
	CHECK(strstr(evlog, "started") != NULL);
	stop();
}

/* A started event's ask: kept by a replay, 0 without one, refused if it is not a token. */
static void
ask_in_events(void)
{
	struct work w2;
	char err[256];
	cJSON *ev;
	struct job *j;
	const char *bad[] = { "-1", "4294967296", "\"7\"", "1.5" };
	size_t i;

	work_init(&w2);
	ev = ev_at(ev_accepted("a", "eA=="), 10);
	CHECK_INT(work_apply(&w2, 1, ev, err, sizeof(err)), 0);
	cJSON_Delete(ev);
	ev = ev_at(ev_accepted("b", "eA=="), 10);
	CHECK_INT(work_apply(&w2, 2, ev, err, sizeof(err)), 0);
	cJSON_Delete(ev);
	j = work_find(&w2, "a");
	ev = ev_at(ev_started(j, "w1", 4294967295u, 20), 20);
	CHECK_INT(work_apply(&w2, 3, ev, err, sizeof(err)), 0);
	cJSON_Delete(ev);
	CHECK(work_find(&w2, "a")->ask == 4294967295u);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char text[160];
		cJSON *o;

		snprintf(text, sizeof(text), "{\"e\":\"started\",\"id\":\"b\",\"worker\":\"w1\","
		    "\"attempt\":1,\"at\":20,\"ask\":%s}", bad[i]);
		CHECK((o = cJSON_Parse(text)) != NULL);
		CHECK(work_apply(&w2, 4, o, err, sizeof(err)) < 0);
		CHECK_INT(work_find(&w2, "b")->status, JOB_PENDING);
		cJSON_Delete(o);
	}
	j = work_find(&w2, "b");
	ev = ev_at(ev_started(j, "w1", 0, 20), 20);
	CHECK(cJSON_GetObjectItemCaseSensitive(ev, "ask") == NULL);
	CHECK_INT(work_apply(&w2, 4, ev, err, sizeof(err)), 0);
	cJSON_Delete(ev);
	CHECK_INT(work_find(&w2, "b")->ask, 0);
	work_free(&w2);
}

/*
 * Snapshots: every snapshot-every events, but never before as many events
 * as the last snapshot held jobs. With a job an event (submits, no worker)
 * they still come (each twice as far as the one before), and the jobs they
 * write stay within two per event, however many pile up.
 */
static void
snapshot_due(void)
{
	uint64_t ev, since = 0, written = 0;
	long jobs = 0, snap_jobs = 0, snaps = 0;

	CHECK(!policy_snapshot_due(9999, 10, 10000));
	CHECK(policy_snapshot_due(10000, 10, 10000));
	CHECK(policy_snapshot_due(10000, 10000, 10000));
	CHECK(!policy_snapshot_due(10000, 40000, 10000));
	CHECK(!policy_snapshot_due(39999, 40000, 10000));
	CHECK(policy_snapshot_due(40000, 40000, 10000));
	for (ev = 1; ev <= 2000000; ev++) {
		jobs++;
		since++;
		if (policy_snapshot_due(since, snap_jobs, 10000)) {
			written += (uint64_t)jobs;
			snap_jobs = jobs;
			since = 0;
			snaps++;
		}
		/* replay reads at most this many events after the snapshot */
		CHECK(since <= (uint64_t)(jobs > 10000 ? jobs : 10000));
	}
	CHECK((double)written / 2000000.0 <= 2.0);
	CHECK(snaps >= 7);	/* at 10k, 20k, 40k, ... 1.28M */
	/* a steady state (jobs finish and are forgotten): every snapshot-every events */
	CHECK(policy_snapshot_due(10000, 5000, 10000));
}

int
main(void)
{
	log_init("test-policy");
	RUN(priorities_and_delays);
	RUN(retry_then_fail);
	RUN(timeouts);
	RUN(workers_lost_and_gone);
	RUN(cancels);
	RUN(submits_refused);
	RUN(forget_after_keep_finished);
	RUN(replay_keeps_order);
	RUN(protocol_version);
	RUN(report_with_next);
	RUN(prefetched_jobs_of_a_lost_worker);
	RUN(next_field);
	RUN(batch_requests);
	RUN(jobs_need);
	RUN(asked_again);
	RUN(ask_in_events);
	RUN(batch_reports);
	RUN(batch_fields);
	RUN(snapshot_due);
	return unit_done();
}
