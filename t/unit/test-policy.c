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
	struct job *j = policy_next(&P, worker, wall);

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
		cJSON *ev = ev_at(ev_started(j, "w", 6000), 6000);

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
	return unit_done();
}
