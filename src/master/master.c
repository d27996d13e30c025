/*
 * master.c: the event-sourced work manager (Akka's distributed-workers
 * Master). Normally the child of `singletond -s master`: it serves the
 * endpoint singletond gives it (AKC_SINGLETON_ENDPOINT) with a raw REP
 * socket, so many requests are handled at once and the answers to all the
 * events of one loop turn wait for one synced journal write. The work state
 * is work.c's; the journal is journal.c's (LevelDB in [node] state-dir).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <sodium.h>

#include "b64.h"
#include "clock.h"
#include "daemon.h"
#include "journal.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "policy.h"
#include "repl.h"
#include "request.h"
#include "sock.h"
#include "utf8.h"
#include "waiters.h"
#include "work.h"
#include "xmalloc.h"

#define USAGE		"master [-nqv] [-c FILE] [--listen ADDR] [--standby] [--repair]"
#define BATCH		512		/* requests taken per loop turn */
#define WORKER_GONE	4000		/* a worker silent this long is dropped */
#define TICK		200		/* timeouts are checked this often */
#define GRACE		10000		/* after a start: workers re-register, reports come in */
#define TIMEOUT_GRACE	1000		/* past an attempt's timeout before it is retried */
#define REQ_MAX		(8 * 1024 * 1024)
#define STALL_ANSWER	5000		/* an answer waits this long for replication, then says why */

struct reply {				/* an answer that waits for the sync */
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	cJSON *body;
	uint64_t need;			/* durable and replicated up to this event */
	msec_t at;			/* made (an answer waits STALL_ANSWER at most) */
};

struct held {				/* a request that came during the recovery */
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	char *buf;
	size_t len;
	msec_t at;
};

struct parked {				/* a worker's long poll */
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	char worker[WORKER_ID_MAX + 1];
	msec_t until;
};

/*
 * Submit-to-done latency of the jobs this process accepted and saw done
 * (akc-httpd's histogram): not event-sourced, so it restarts from zero with
 * each master, as a Prometheus counter may.
 */
static const msec_t lat_le[] = { 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
    30000, 60000, 300000 };
#define LAT_N	(sizeof(lat_le) / sizeof(lat_le[0]))

struct latency {
	uint64_t le[LAT_N];		/* cumulative, as Prometheus buckets */
	uint64_t n;
	double sum_ms;
};

struct master {
	struct akc_config cfg;
	struct loop *loop;
	int s;
	struct work w;
	struct journal j;
	struct repl r;
	struct reply *rep;
	int nrep, caprep;
	struct held *held;		/* requests that came during the recovery */
	int nheld, capheld;
	struct parked *park;
	int npark, cappark;
	struct policy p;		/* the job policy: policy.c */
	uint64_t requests, bad;		/* requests, and malformed ones (queue: bad_requests) */
	msec_t next_tick;
	struct latency lat;
	struct waiters wt;		/* results and status long polls */
	uint64_t epoch_seq;		/* our epoch marker: nothing is woken before it is committed */
	uint64_t wake_seen;		/* result lines up to here were looked at for waiters */
};

static struct master M;

/* ---- answers ---- */

static cJSON *
ok(void)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddBoolToObject(r, "ok", 1);
	return r;
}

static cJSON *
refuse(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static cJSON *
refuse(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *r = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_scrub(msg);	/* a quoted id or reason may have been cut inside a character */
	cJSON_AddBoolToObject(r, "ok", 0);
	cJSON_AddStringToObject(r, "error", msg);
	cJSON_AddNumberToObject(r, "code", code);
	return r;
}

static void
send_now(const unsigned char *hdr, size_t hdrlen, cJSON *body)
{
	char *txt = json_print(body);

	if (sock_send_raw(M.s, hdr, hdrlen, txt, strlen(txt)) < 0)
		log_debug("an answer could not be sent: %s", nn_strerror(nn_errno()));
	cJSON_free(txt);
	cJSON_Delete(body);
}

/*
 * Answers once every event journaled so far is committed (durable on a
 * majority of the replica set and on enough standbys), whether the answer
 * made events or not: what it says was read from a state that holds them.
 * Until our epoch marker is committed that state may hold events of an
 * older epoch copied from a minority of the set, which a later recovery
 * might not find (repl.c, rule 3): nothing may be told from it before.
 */
static void
send_at(const unsigned char *hdr, size_t hdrlen, cJSON *body, uint64_t need)
{
	if (M.nrep == M.caprep) {
		M.caprep = M.caprep ? 2 * M.caprep : 64;
		M.rep = xreallocarray(M.rep, M.caprep, sizeof(*M.rep));
	}
	memcpy(M.rep[M.nrep].hdr, hdr, hdrlen);
	M.rep[M.nrep].hdrlen = hdrlen;
	M.rep[M.nrep].body = body;
	M.rep[M.nrep].need = need;
	M.rep[M.nrep].at = clock_mono_ms();
	M.nrep++;
}

static void
send_later(const unsigned char *hdr, size_t hdrlen, cJSON *body)
{
	send_at(hdr, hdrlen, body, M.j.seq);
}

/* ---- events ---- */

/*
 * A stored result line as it is shown: one whose result is not text
 * (versions before result_base64 let invalid UTF-8 through as it was)
 * shows result_base64 of its bytes instead.
 */
static void
line_shown(cJSON *line)
{
	const char *r = json_str(line, "result");
	char *b64;

	if (r == NULL || utf8_valid(r, strlen(r)))
		return;
	b64 = b64_encode((const unsigned char *)r, strlen(r));
	cJSON_DeleteItemFromObjectCaseSensitive(line, "result");
	cJSON_AddStringToObject(line, "result_base64", b64);
	free(b64);
}

/*
 * A job's times, RFC 3339 UTC with ms (null: unknown, as for events from
 * before they carried "at"): from the events, so the same on every replica
 * and after every replay.
 */
static void
add_times(cJSON *o, const struct job *jb)
{
	cJSON_AddItemToObject(o, "submitted", work_time_json(jb->submitted));
	cJSON_AddItemToObject(o, "started", work_time_json(jb->attempts > 0 ? jb->started : 0));
	cJSON_AddItemToObject(o, "finished", work_time_json(jb->status >= JOB_DONE ?
	    jb->finished : 0));
}

/* An akc-results line; key is "result", or "result_base64" for a result that is not text. */
static cJSON *
result_line(const struct job *jb, uint64_t seq, const char *status, const char *key,
    const char *result)
{
	cJSON *l = cJSON_CreateObject();

	cJSON_AddNumberToObject(l, "seq", (double)seq);
	cJSON_AddStringToObject(l, "id", jb->id);
	cJSON_AddStringToObject(l, "status", status);
	cJSON_AddStringToObject(l, key, result);
	cJSON_AddNumberToObject(l, "attempts", jb->attempts);
	cJSON_AddStringToObject(l, "worker", jb->worker);
	add_times(l, jb);
	return l;
}

static void
latency_observe(msec_t ms)
{
	size_t i;

	for (i = 0; i < LAT_N; i++)
		if (ms <= lat_le[i])
			M.lat.le[i]++;
	M.lat.n++;
	M.lat.sum_ms += (double)ms;
}

/* Journals an event and applies it; a finished job's result line goes with it. */
static uint64_t
record(cJSON *ev)
{
	char err[256];
	uint64_t seq;
	const char *e = json_str(ev, "e");
	struct job *jb;

	json_add_u64(ev, "ep", M.r.c.epoch);
	seq = journal_append(&M.j, ev);
	if (work_apply(&M.w, seq, ev, err, sizeof(err)) < 0)
		fatalx("internal error: %s", err);
	if (strcmp(e, EV_EPOCH) == 0 || strcmp(e, EV_FORGET) == 0) {
		cJSON_Delete(ev);
		return seq;
	}
	jb = work_find(&M.w, json_str(ev, "id"));
	if (strcmp(e, EV_ACCEPTED) == 0)
		jb->accepted_at = clock_mono_ms();
	else if (strcmp(e, EV_COMPLETED) == 0 && jb->accepted_at > 0)
		latency_observe(clock_mono_ms() - jb->accepted_at);
	if (strcmp(e, EV_COMPLETED) == 0 || strcmp(e, EV_FAILED) == 0 || strcmp(e, EV_CANCELLED) == 0) {
		int done = strcmp(e, EV_COMPLETED) == 0;
		const char *key = done ? work_result_key(ev) : "result";
		cJSON *l = result_line(jb, seq, job_status_name(jb->status), key,
		    done ? json_str(ev, key) : strcmp(e, EV_CANCELLED) == 0 ? "cancelled" :
		    json_str(ev, "why"));

		if (json_str(ev, "stderr") != NULL)
			cJSON_AddStringToObject(l, "stderr", json_str(ev, "stderr"));
		journal_put_result(&M.j, seq, l);
		cJSON_Delete(l);
		log_debug("job %s %s after %d attempt%s", jb->id, job_status_name(jb->status),
		    jb->attempts, jb->attempts == 1 ? "" : "s");
	}
	cJSON_Delete(ev);
	return seq;
}

/* policy.c's decisions come out here: journaled and applied, as every event. */
static void
emit(void *arg, cJSON *ev)
{
	(void)arg;
	record(ev);
}

/* ---- workers ---- */

/* Tells a worker, in an answer to it, which of its attempts were cancelled. */
static cJSON *
with_kills(cJSON *r, const char *worker)
{
	cJSON *ids = policy_kills(&M.p, worker);

	if (ids != NULL)
		cJSON_AddItemToObject(r, "cancel", ids);
	return r;
}

/* The answer that hands job jb (started for worker already) to it. */
static cJSON *
job_answer(const struct job *jb, const char *worker)
{
	cJSON *r = ok(), *o;

	o = cJSON_AddObjectToObject(r, "job");
	cJSON_AddStringToObject(o, "id", jb->id);
	cJSON_AddStringToObject(o, "payload", jb->payload);
	cJSON_AddNumberToObject(o, "attempt", jb->attempts);
	cJSON_AddNumberToObject(o, "timeout_ms", (double)policy_timeout(&M.p, jb));
	return with_kills(r, worker);
}

static cJSON *
no_job(const char *worker)
{
	cJSON *r = ok();

	cJSON_AddNullToObject(r, "job");
	return with_kills(r, worker);
}

/* Ready work to parked long polls, oldest first. */
static void
dispatch(void)
{
	struct job *jb;
	int64_t wall = clock_wall_ms();

	while (M.npark > 0 && (jb = policy_next(&M.p, M.park[0].worker, wall)) != NULL) {
		struct parked p = M.park[0];

		memmove(&M.park[0], &M.park[1], (size_t)(M.npark - 1) * sizeof(*M.park));
		M.npark--;
		send_later(p.hdr, p.hdrlen, job_answer(jb, p.worker));
	}
}

/* A cancel for a parked worker goes at once, in an answer without a job. */
static void
unpark_kills(void)
{
	int i;

	for (i = 0; i < M.npark; ) {
		cJSON *ids = policy_kills(&M.p, M.park[i].worker);

		if (ids == NULL) {
			i++;
			continue;
		}
		{
			cJSON *r = ok();

			cJSON_AddNullToObject(r, "job");
			cJSON_AddItemToObject(r, "cancel", ids);
			send_later(M.park[i].hdr, M.park[i].hdrlen, r);
		}
		memmove(&M.park[i], &M.park[i + 1], (size_t)(M.npark - i - 1) * sizeof(*M.park));
		M.npark--;
	}
}

/* ---- requests ---- */

static void
op_submit(const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	const char *id = rq->id;
	char gen[33], err[256];
	unsigned char rnd[16];
	uint64_t since;
	cJSON *r;
	int i, code, isnew;

	if (id == NULL) {
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			fatal("getrandom");
		for (i = 0; i < 16; i++)
			snprintf(gen + 2 * i, 3, "%02x", rnd[i]);
		id = gen;
	}
	if ((code = policy_submit(&M.p, id, rq->payload, &rq->opts, clock_wall_ms(), &isnew, &since,
	    err, sizeof(err))) != 0) {
		send_later(hdr, hdrlen, refuse(code, "%s", err));
		return;
	}
	/* a known id's first acceptance may not be synced yet: the answer waits as well */
	r = ok();
	cJSON_AddStringToObject(r, "id", id);
	cJSON_AddBoolToObject(r, "new", isnew);
	/* its result line, once there is one, comes after this seq */
	json_add_u64(r, "since", since);
	send_later(hdr, hdrlen, r);
}

/* One job's state as akc-job shows it (the job op). */
static void
op_job(const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	struct job *jb;
	cJSON *r, *o;

	if ((jb = work_find(&M.w, rq->id)) == NULL) {
		send_later(hdr, hdrlen, refuse(1, "no job %s", rq->id));
		return;
	}
	r = ok();
	o = cJSON_AddObjectToObject(r, "job");
	cJSON_AddStringToObject(o, "id", jb->id);
	cJSON_AddStringToObject(o, "status", work_status_at(jb, clock_wall_ms()));
	cJSON_AddNumberToObject(o, "priority", jb->priority);
	cJSON_AddNumberToObject(o, "attempts", jb->attempts);
	if (jb->status == JOB_RUNNING)
		cJSON_AddStringToObject(o, "worker", jb->worker);
	else if (jb->worker[0])
		cJSON_AddStringToObject(o, "last_worker", jb->worker);
	add_times(o, jb);
	if (jb->ready_at > 0)
		cJSON_AddItemToObject(o, "ready_at", work_time_json(jb->ready_at));
	cJSON_AddNumberToObject(o, "timeout_ms", (double)policy_timeout(&M.p, jb));
	if (jb->seq)
		cJSON_AddNumberToObject(o, "seq", (double)jb->seq);
	cJSON_AddItemToObject(o, "history", work_history_json(jb));
	if (jb->hist_dropped)
		cJSON_AddNumberToObject(o, "history_dropped", jb->hist_dropped);
	send_later(hdr, hdrlen, r);
}

static void
op_cancel(const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	char err[300];
	cJSON *r;

	if (policy_cancel(&M.p, rq->id, clock_wall_ms(), err, sizeof(err)) != 0) {
		send_later(hdr, hdrlen, refuse(1, "%s", err));
		return;
	}
	unpark_kills();
	r = ok();
	cJSON_AddStringToObject(r, "id", rq->id);
	json_add_u64(r, "seq", M.w.seq);
	send_later(hdr, hdrlen, r);
}

/* A status answer: the job as it is now. */
static cJSON *
status_answer(const struct job *jb)
{
	cJSON *r = ok(), *line;

	cJSON_AddStringToObject(r, "id", jb->id);
	cJSON_AddStringToObject(r, "status", work_status_at(jb, clock_wall_ms()));
	cJSON_AddNumberToObject(r, "attempts", jb->attempts);
	add_times(r, jb);
	if (jb->worker[0])
		cJSON_AddStringToObject(r, "worker", jb->worker);
	if (jb->seq) {
		cJSON_AddNumberToObject(r, "seq", (double)jb->seq);
		if ((line = journal_result(&M.j, jb->seq)) != NULL) {
			const char *key;

			line_shown(line);
			key = work_result_key(line) ? work_result_key(line) : "result";
			cJSON_AddStringToObject(r, key, json_str(line, key) ? json_str(line, key) : "");
			if (json_str(line, "stderr") != NULL)
				cJSON_AddStringToObject(r, "stderr", json_str(line, "stderr"));
			cJSON_Delete(line);
		}
	}
	return r;
}

static cJSON *
status_of(const char *id)
{
	struct job *jb;

	if (id == NULL || (jb = work_find(&M.w, id)) == NULL)
		return refuse(1, "no job '%.40s'", id ? id : "");
	return status_answer(jb);
}

/* Parks a long poll; 0, or -1 when too many are parked (it is answered at once). */
static int
park(enum waiter_kind kind, const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	struct waiter w;

	memset(&w, 0, sizeof(w));
	w.kind = kind;
	memcpy(w.hdr, hdr, hdrlen);
	w.hdrlen = hdrlen;
	w.since = (uint64_t)rq->since;
	w.max = rq->max;
	if (kind == WAIT_STATUS)
		snprintf(w.id, sizeof(w.id), "%s", rq->id);
	w.until = clock_mono_ms() + rq->wait;
	return waiters_park(&M.wt, &w);
}

static void
op_status(const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	struct job *jb = rq->id ? work_find(&M.w, rq->id) : NULL;

	/* with wait, an unfinished job's answer waits for its result line's commit */
	if (rq->wait > 0 && jb != NULL && jb->status != JOB_DONE && jb->status != JOB_FAILED &&
	    park(WAIT_STATUS, rq, hdr, hdrlen) == 0)
		return;
	/* a status read after its job's events were accepted: same sync */
	send_later(hdr, hdrlen, status_of(rq->id));
}

/* A results answer: the committed lines after since, at most max; *n of them. */
static cJSON *
results_answer(uint64_t since, long max, int *n)
{
	cJSON *r = ok(), *arr;
	uint64_t next;

	arr = cJSON_AddArrayToObject(r, "results");
	/* only what is durable: a result is never shown and then lost */
	next = journal_results(&M.j, since, (int)max, arr);
	{
		cJSON *line;

		cJSON_ArrayForEach(line, arr)
			line_shown(line);
	}
	while (cJSON_GetArraySize(arr) > 0) {
		cJSON *last = cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1);
		long s;

		if (json_int(last, "seq", 0, 1L << 53, &s) == 0 && (uint64_t)s <= repl_commit_point(&M.r)) {
			next = (uint64_t)s;	/* the last one shown: the next page starts after it */
			break;
		}
		cJSON_DeleteItemFromArray(arr, cJSON_GetArraySize(arr) - 1);
		next = since;
	}
	cJSON_AddNumberToObject(r, "next", (double)next);
	*n = cJSON_GetArraySize(arr);
	return r;
}

static void
op_results(const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	int n;
	cJSON *r = results_answer((uint64_t)rq->since, rq->max, &n);

	/* with wait, nothing new is not answered until something is (or the wait ends) */
	if (n == 0 && rq->wait > 0 && park(WAIT_RESULTS, rq, hdr, hdrlen) == 0) {
		cJSON_Delete(r);
		return;
	}
	send_later(hdr, hdrlen, r);
}

/* The queue answer's figures for akc-httpd: latency histogram and journal size. */
static void
add_stats(cJSON *r)
{
	cJSON *o = cJSON_AddObjectToObject(r, "latency"), *b, *pair;
	size_t i;

	cJSON_AddNumberToObject(o, "count", (double)M.lat.n);
	cJSON_AddNumberToObject(o, "sum_ms", M.lat.sum_ms);
	b = cJSON_AddArrayToObject(o, "buckets");
	for (i = 0; i < LAT_N; i++) {
		pair = cJSON_CreateArray();
		cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)lat_le[i]));
		cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)M.lat.le[i]));
		cJSON_AddItemToArray(b, pair);
	}
	o = cJSON_AddObjectToObject(r, "parked");	/* long polls (waiting: see waiting()) */
	cJSON_AddNumberToObject(o, "results", M.wt.nresults);
	cJSON_AddNumberToObject(o, "status", M.wt.nstatus);
	cJSON_AddNumberToObject(o, "max", WAITERS_MAX);
	cJSON_AddNumberToObject(o, "woken", (double)M.wt.woken);
	cJSON_AddNumberToObject(o, "expired", (double)M.wt.expired);
	cJSON_AddNumberToObject(o, "full", (double)M.wt.full);
	o = cJSON_AddObjectToObject(r, "journal");
	cJSON_AddNumberToObject(o, "seq", (double)M.j.seq);
	cJSON_AddNumberToObject(o, "snapshot_seq", (double)M.j.snap_seq);
	cJSON_AddNumberToObject(o, "bytes", (double)journal_disk_bytes(&M.j));
}

/*
 * Adds "waiting" to an answer: what the master waits for, in one line (a
 * recovery, or replication that does not move), or null. Returns 1 when it waits.
 */
static int
waiting(msec_t now, cJSON *r)
{
	char why[2048];

	cJSON_AddBoolToObject(r, "recovering", M.r.recovering);
	if (repl_waiting(&M.r, now, why, sizeof(why))) {
		utf8_scrub(why);
		cJSON_AddStringToObject(r, "waiting", why);
		return 1;
	}
	cJSON_AddNullToObject(r, "waiting");
	return 0;
}

static void
op_queue(const unsigned char *hdr, size_t hdrlen, msec_t now)
{
	cJSON *r = ok(), *ws, *run;
	struct job *jb;
	int i;
	int64_t wall = clock_wall_ms();

	cJSON_AddNumberToObject(r, "pending", (double)M.w.npending);
	cJSON_AddNumberToObject(r, "in_progress", (double)M.w.nrunning);
	cJSON_AddNumberToObject(r, "done", (double)M.w.ndone);
	cJSON_AddNumberToObject(r, "failed", (double)M.w.nfailed);
	cJSON_AddNumberToObject(r, "cancelled", (double)M.w.ncancelled);
	work_next(&M.w, wall);	/* delayed jobs whose time came count as ready */
	cJSON_AddNumberToObject(r, "delayed", (double)work_ndelayed(&M.w));
	cJSON_AddNumberToObject(r, "forgotten", (double)M.w.nforgotten);
	/* every job is in one of the five (the finished count the forgotten) */
	cJSON_AddNumberToObject(r, "accepted",
	    (double)(M.w.npending + M.w.nrunning + M.w.ndone + M.w.nfailed + M.w.ncancelled));
	cJSON_AddNumberToObject(r, "seq", (double)M.w.seq);
	cJSON_AddNumberToObject(r, "requests", (double)M.requests);
	cJSON_AddNumberToObject(r, "bad_requests", (double)M.bad);
	ws = cJSON_AddArrayToObject(r, "workers");
	for (i = 0; i < M.p.nwks; i++) {
		cJSON *o = cJSON_CreateObject(), *jobs = cJSON_CreateArray();

		cJSON_AddStringToObject(o, "worker", M.p.wks[i].id);
		for (jb = M.w.run_head; jb != NULL; jb = jb->next)
			if (strcmp(jb->worker, M.p.wks[i].id) == 0)
				cJSON_AddItemToArray(jobs, cJSON_CreateString(jb->id));
		cJSON_AddStringToObject(o, "state", cJSON_GetArraySize(jobs) ? "busy" : "idle");
		cJSON_AddItemToObject(o, "jobs", jobs);
		cJSON_AddNumberToObject(o, "seen_ms", (double)(now - M.p.wks[i].seen));
		cJSON_AddItemToArray(ws, o);
	}
	ws = cJSON_AddArrayToObject(r, "standbys");
	for (i = 0; i < M.r.c.nsb; i++) {
		const struct rc_standby *sb = &M.r.c.sb[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "node", sb->name);
		cJSON_AddNumberToObject(o, "acked", (double)sb->acked);
		cJSON_AddBoolToObject(o, "replica", sb->in_set);
		cJSON_AddNumberToObject(o, "lag", M.j.seq > sb->acked ? (double)(M.j.seq - sb->acked) : 0);
		if (sb->heard != 0)
			cJSON_AddNumberToObject(o, "heard_ms", (double)(now - sb->heard));
		else
			cJSON_AddNullToObject(o, "heard_ms");
		cJSON_AddItemToArray(ws, o);
	}
	add_stats(r);
	cJSON_AddNumberToObject(r, "epoch", (double)M.r.c.epoch);
	cJSON_AddNumberToObject(r, "committed", (double)repl_commit_point(&M.r));
	cJSON_AddNumberToObject(r, "replica_set", M.r.c.nset);
	cJSON_AddNumberToObject(r, "quorum", M.r.c.nset ? M.r.c.quorum : 0);
	cJSON_AddItemToObject(r, "link", repl_link_json(&M.r, now));
	run = cJSON_AddArrayToObject(r, "running");
	for (jb = M.w.run_head; jb != NULL; jb = jb->next) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", jb->id);
		cJSON_AddStringToObject(o, "worker", jb->worker);
		cJSON_AddNumberToObject(o, "attempt", jb->attempts);
		cJSON_AddNumberToObject(o, "for_ms", (double)(wall - jb->started));
		cJSON_AddItemToArray(run, o);
	}
	/* stalled or recovering: the answer says why, now, rather than wait with the rest */
	if (waiting(now, r)) {
		send_now(hdr, hdrlen, r);
		return;
	}
	send_later(hdr, hdrlen, r);
}

static void
op_request(const struct request *rq, const unsigned char *hdr, size_t hdrlen, msec_t now)
{
	const char *w = rq->worker;
	long wait = rq->wait;
	struct job *jb;

	policy_seen(&M.p, w, now);
	if ((jb = policy_next(&M.p, w, clock_wall_ms())) != NULL) {
		send_later(hdr, hdrlen, job_answer(jb, w));
		return;
	}
	/* a cancel to tell goes now, not after the long poll */
	if (wait <= 0 || policy_kills_for(&M.p, w)) {
		send_later(hdr, hdrlen, no_job(w));
		return;
	}
	if (M.npark == M.cappark) {
		M.cappark = M.cappark ? 2 * M.cappark : 16;
		M.park = xreallocarray(M.park, M.cappark, sizeof(*M.park));
	}
	memcpy(M.park[M.npark].hdr, hdr, hdrlen);
	M.park[M.npark].hdrlen = hdrlen;
	snprintf(M.park[M.npark].worker, sizeof(M.park[0].worker), "%s", w);
	M.park[M.npark].until = now + wait;
	M.npark++;
}

static void
op_done(const struct request *rq, const unsigned char *hdr, size_t hdrlen, msec_t now)
{
	const char *w = rq->worker;
	char err[300];
	unsigned char *bin = NULL;
	char *canon = NULL;
	const char *rkey = NULL, *result = NULL;
	size_t len;
	int rc;

	policy_seen(&M.p, w, now);
	if (rq->op == OP_DONE) {
		if ((bin = request_result(rq->result, &len, err, sizeof(err))) == NULL) {
			send_later(hdr, hdrlen, with_kills(refuse(2, "%s", err), w));
			return;
		}
		/* stdout is text (result) only if JSON carries it exactly; else its bytes */
		if (utf8_text(bin, len)) {
			rkey = "result";
			result = (const char *)bin;
		} else {
			rkey = "result_base64";
			result = canon = b64_encode(bin, len);
		}
	}
	rc = policy_report(&M.p, w, rq->id, rq->attempt, rq->op == OP_DONE, rkey, result, rq->why,
	    rq->errtail, clock_wall_ms(), err, sizeof(err));
	free(bin);
	free(canon);
	send_later(hdr, hdrlen, with_kills(rc == 0 ? ok() : refuse(rc, "%s", err), w));
}

static void
handle(const unsigned char *hdr, size_t hdrlen, const char *buf, size_t len, msec_t now)
{
	char why[160];
	cJSON *req = json_parse_why(buf, len, why, sizeof(why));
	struct request rq;
	char err[256];
	int code, bad;

	M.requests++;
	if (req == NULL) {
		/* not JSON, or a string with a NUL or not UTF-8: never cut short or passed on */
		M.bad++;
		send_later(hdr, hdrlen, refuse(2, "malformed request: %s", why));
		return;
	}
	if ((code = request_parse(req, &rq, &bad, err, sizeof(err))) != 0) {
		M.bad += (uint64_t)bad;
		send_later(hdr, hdrlen, refuse(code, "%s", err));
		cJSON_Delete(req);
		return;
	}
	switch (rq.op) {
	case OP_SUBMIT:
		op_submit(&rq, hdr, hdrlen);
		break;
	case OP_STATUS:
		op_status(&rq, hdr, hdrlen);
		break;
	case OP_RESULTS:
		op_results(&rq, hdr, hdrlen);
		break;
	case OP_QUEUE:
		op_queue(hdr, hdrlen, now);
		break;
	case OP_REQUEST:
		op_request(&rq, hdr, hdrlen, now);
		break;
	case OP_DONE:
	case OP_FAILED:
		op_done(&rq, hdr, hdrlen, now);
		break;
	case OP_REGISTER:
		policy_seen(&M.p, rq.worker, now);
		send_later(hdr, hdrlen, with_kills(ok(), rq.worker));
		break;
	case OP_UNREGISTER:
		policy_unregister(&M.p, rq.worker, clock_wall_ms());
		send_later(hdr, hdrlen, ok());
		break;
	case OP_JOB:
		op_job(&rq, hdr, hdrlen);
		break;
	case OP_CANCEL:
		op_cancel(&rq, hdr, hdrlen);
		break;
	}
	cJSON_Delete(req);
}

/*
 * A request during the recovery: akc-queue is answered at once (with what
 * the recovery waits for); the rest waits for the recovery's end, and at
 * most STALL_ANSWER, then is answered with what it waits for (held_tick).
 */
static void
hold(const unsigned char *hdr, size_t hdrlen, const void *buf, size_t len, msec_t now)
{
	cJSON *req = json_parse(buf, len);
	const char *op = json_str(req, "op");
	struct held *h;

	if (op != NULL && strcmp(op, WORK_OP_QUEUE) == 0) {
		cJSON_Delete(req);
		M.requests++;
		op_queue(hdr, hdrlen, now);
		return;
	}
	cJSON_Delete(req);
	if (M.nheld == M.capheld) {
		M.capheld = M.capheld ? 2 * M.capheld : 64;
		M.held = xreallocarray(M.held, M.capheld, sizeof(*M.held));
	}
	h = &M.held[M.nheld++];
	memcpy(h->hdr, hdr, hdrlen);
	h->hdrlen = hdrlen;
	h->buf = xmalloc(len);
	memcpy(h->buf, buf, len);
	h->len = len;
	h->at = now;
}

/* Held requests: handled once the recovery is over; refused with the reason when it lasts. */
static void
held_tick(msec_t now)
{
	char why[2048];
	int i, k;

	for (i = k = 0; i < M.nheld; i++) {
		struct held *h = &M.held[i];

		if (!M.r.recovering)
			handle(h->hdr, h->hdrlen, h->buf, h->len, now);
		else if (now - h->at >= STALL_ANSWER) {
			repl_waiting(&M.r, now, why, sizeof(why));
			M.requests++;
			send_now(h->hdr, h->hdrlen, refuse(1, "not served within %ds: this master is "
			    "recovering: %s", STALL_ANSWER / 1000, why));
		} else {
			M.held[k++] = *h;
			continue;
		}
		free(h->buf);
	}
	M.nheld = k;
}

/* An akc-queue answer made before the wait showed: it says it now. */
static int
waiting_now(cJSON *body, msec_t now)
{
	char why[2048];

	if (!repl_waiting(&M.r, now, why, sizeof(why)))
		return 0;
	utf8_scrub(why);
	cJSON_ReplaceItemInObjectCaseSensitive(body, "waiting", cJSON_CreateString(why));
	return 1;
}

/*
 * An answer that waited STALL_ANSWER for replication goes as a refusal that
 * says what it waits for; what it answers stays journaled, so the same
 * request again (same job id) is safe and is answered once it is replicated.
 */
static void
answer_stalled(struct reply *rp, msec_t now)
{
	char why[2048], what[WORK_ID_MAX + 64];
	const char *id = json_str(rp->body, "id");
	int isnew = 0;

	if (!repl_waiting(&M.r, now, why, sizeof(why)))
		snprintf(why, sizeof(why), "replication is slow (committed %llu of %llu)",
		    (unsigned long long)repl_commit_point(&M.r), (unsigned long long)rp->need);
	if (id != NULL && json_bool(rp->body, "new", &isnew) == 0)
		snprintf(what, sizeof(what), "job %s is journaled but", id);
	else
		snprintf(what, sizeof(what), "the answer is");
	send_now(rp->hdr, rp->hdrlen, refuse(1, "%s not replicated within %ds (the same request "
	    "again is safe): %s", what, STALL_ANSWER / 1000, why));
	cJSON_Delete(rp->body);
}

static void
on_request(int fd, short ev, void *arg)
{
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	void *buf;
	ssize_t n;
	int i;
	msec_t now = clock_mono_ms();

	(void)fd;
	(void)ev;
	(void)arg;
	for (i = 0; i < BATCH; i++) {
		hdrlen = sizeof(hdr);
		if ((n = sock_recv_raw(M.s, &buf, hdr, &hdrlen)) < 0)
			break;
		if (M.r.recovering)
			hold(hdr, hdrlen, buf, (size_t)n, now);
		else
			handle(hdr, hdrlen, buf, (size_t)n, now);
		nn_freemsg(buf);
	}
}

static void
on_repl(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	repl_receive(&M.r, clock_mono_ms());
}

/* ---- merging divergent logs ---- */

/*
 * Journals what salvaged events (from a log that parted from ours: our own,
 * kept aside in a recovery, or a standby's) add to the work state, by
 * work_merge's rule; logs what it did.
 */
static void
merge(void *arg, const cJSON *items, const char *src)
{
	const cJSON *it, *sev;
	cJSON *evs = cJSON_CreateArray(), *out, *ev;
	long n[MERGE_WHATS], events = cJSON_GetArraySize(items);
	uint64_t ep, maxep = 0;

	(void)arg;
	cJSON_ArrayForEach(it, items) {
		sev = cJSON_GetObjectItemCaseSensitive(it, "ev");
		if (json_u64(sev, "ep", &ep) == 0 && ep > maxep)
			maxep = ep;
		if (sev != NULL)
			cJSON_AddItemReferenceToArray(evs, (cJSON *)sev);
		else
			cJSON_AddItemToArray(evs, cJSON_CreateNull());	/* counted as malformed */
	}
	out = work_merge(&M.w, evs, clock_wall_ms(), n);
	while ((ev = cJSON_DetachItemFromArray(out, 0)) != NULL)
		record(ev);
	cJSON_Delete(out);
	cJSON_Delete(evs);
	if (n[MERGE_ACCEPTED] + n[MERGE_FINISHED] > 0 || n[MERGE_BAD] > 0)
		log_notice("merged %ld job%s from a divergent log of epoch %llu (%s): %ld accepted again, "
		    "%ld finished as they were there; %ld of %ld events known here already%s",
		    n[MERGE_ACCEPTED] + n[MERGE_FINISHED],
		    n[MERGE_ACCEPTED] + n[MERGE_FINISHED] == 1 ? "" : "s", (unsigned long long)maxep, src,
		    n[MERGE_ACCEPTED], n[MERGE_FINISHED], n[MERGE_SKIPPED], events,
		    n[MERGE_BAD] ? ", some malformed (skipped)" : "");
	else
		log_info("%ld events from a divergent log of epoch %llu (%s): all known here already",
		    events, (unsigned long long)maxep, src);
	M.bad += (uint64_t)n[MERGE_BAD];
}

/* After a recovery: what this node's journal kept aside is merged, then dropped once committed. */
static void
merge_own(void)
{
	char src[CONF_NAME_MAX + CONF_ADDR_MAX + 16];
	uint64_t from = M.j.o_first, last, upto = 0;

	snprintf(src, sizeof(src), "%s (%s, this node)", M.cfg.address, M.cfg.name);
	while (from < M.j.o_next) {
		cJSON *items = cJSON_CreateArray();

		if ((last = journal_salvage_read(&M.j, from, 512 * 1024, items)) == 0) {
			cJSON_Delete(items);
			break;
		}
		merge(NULL, items, src);
		cJSON_Delete(items);
		upto = last;
		from = last + 1;
	}
	if (upto != 0)
		repl_own_merged(&M.r, upto, M.j.seq);
}

/* ---- time ---- */

static void
tick(msec_t now)
{
	int i;

	/* long polls that found nothing */
	for (i = 0; i < M.npark; ) {
		if (M.park[i].until <= now) {
			send_later(M.park[i].hdr, M.park[i].hdrlen, no_job(M.park[i].worker));
			M.park[i] = M.park[--M.npark];
		} else
			i++;
	}
	policy_tick(&M.p, now, clock_wall_ms());
}

/* ---- long polls ---- */

/* The waiters taken last (waiters.h): answered with need, the seq their answers rest on. */
static void
answer_taken(int k, uint64_t need)
{
	struct waiter *w = M.wt.w + M.wt.n;
	int i, n;

	for (i = 0; i < k; i++)
		if (w[i].kind == WAIT_RESULTS)
			send_at(w[i].hdr, w[i].hdrlen, results_answer(w[i].since, w[i].max, &n), need);
		else
			send_at(w[i].hdr, w[i].hdrlen, status_of(w[i].id), need);
}

/*
 * Wakes the long polls that the result lines committed since the last call
 * (seq in (wake_seen, cp]) answer: a status waiter for a job among them,
 * a results waiter asking from before one of them. Their answers rest on
 * what is committed, so they go now, not after what is journaled meanwhile.
 * Nothing is told before our epoch marker is committed (see send_later).
 */
static void
wake(uint64_t cp)
{
	cJSON *arr, *line;
	uint64_t from = M.wake_seen, hi = 0, last;
	long seq;
	int k, more = 1;

	if (cp <= M.wake_seen || cp < M.epoch_seq)
		return;
	while (M.wt.n > 0 && more && from < cp) {
		arr = cJSON_CreateArray();
		last = journal_results(&M.j, from, 256, arr);
		more = cJSON_GetArraySize(arr) == 256;
		cJSON_ArrayForEach(line, arr) {
			if (json_int(line, "seq", 0, 1L << 53, &seq) < 0)
				continue;
			if ((uint64_t)seq > cp) {
				more = 0;
				break;
			}
			hi = (uint64_t)seq;
			if (M.wt.nstatus > 0 && json_str(line, "id") != NULL &&
			    (k = waiters_take_status(&M.wt, json_str(line, "id"))) > 0)
				answer_taken(k, cp);
		}
		cJSON_Delete(arr);
		from = last;
	}
	M.wake_seen = cp;
	if (hi > 0 && (k = waiters_take_results(&M.wt, hi)) > 0)
		answer_taken(k, cp);
}

static void
commit_and_answer(msec_t now)
{
	char err[512];
	uint64_t cp;
	int i, k;

	if (journal_commit(&M.j, err, sizeof(err)) < 0)
		fatalx("%s: stopping without answering (nothing unsynced was acknowledged)", err);
	repl_pump(&M.r, now);
	/* answers go once their events are durable here and on enough standbys */
	cp = repl_commit_point(&M.r);
	wake(cp);
	/* long polls whose wait ended: what there is now, once it is committed */
	if ((k = waiters_take_expired(&M.wt, now)) > 0)
		answer_taken(k, M.j.seq);
	for (i = k = 0; i < M.nrep; i++)
		if (M.rep[i].need <= cp)
			send_now(M.rep[i].hdr, M.rep[i].hdrlen, M.rep[i].body);
		else if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(M.rep[i].body, "waiting")) &&
		    waiting_now(M.rep[i].body, now))
			send_now(M.rep[i].hdr, M.rep[i].hdrlen, M.rep[i].body);	/* akc-queue */
		else if (now - M.rep[i].at >= STALL_ANSWER)
			answer_stalled(&M.rep[i], now);
		else
			M.rep[k++] = M.rep[i];
	M.nrep = k;
	if (M.r.recovering)
		return;
	if (M.w.seq - M.j.snap_seq >= (uint64_t)M.cfg.snapshot_every) {
		cJSON *snap = work_snapshot(&M.w);

		json_add_u64(snap, "ep", journal_epoch_of(&M.j, M.w.seq));

		if (journal_snapshot(&M.j, M.w.seq, snap, err, sizeof(err)) < 0)
			log_warnx("%s", err);
		else
			log_debug("snapshot at event %llu", (unsigned long long)M.w.seq);
		cJSON_Delete(snap);
	}
}

/* ---- replay ---- */

static int
on_snapshot(const cJSON *snap, void *arg, char *err, size_t errlen)
{
	(void)arg;
	return work_restore(&M.w, snap, err, errlen);
}

static int
on_event(uint64_t seq, const cJSON *ev, void *arg, char *err, size_t errlen)
{
	(void)arg;
	return work_apply(&M.w, seq, ev, err, errlen);
}

static int
mkdirs(const char *path)
{
	char p[600], *s;

	snprintf(p, sizeof(p), "%s", path);
	for (s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

struct flags {
	const char *listen;
	int standby, repair;
};

enum { OPT_LISTEN = DAEMON_OPT_BASE, OPT_STANDBY, OPT_REPAIR };

static const struct option longopts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "standby", no_argument, NULL, OPT_STANDBY },
	{ "repair", no_argument, NULL, OPT_REPAIR },
	{ NULL, 0, NULL, 0 }
};

static int
on_flag(int val, const char *arg, void *ctx)
{
	struct flags *fl = ctx;

	if (val == OPT_LISTEN)
		fl->listen = arg;
	else if (val == OPT_STANDBY)
		fl->standby = 1;
	else
		fl->repair = 1;
	return 0;
}

/*
 * The recovery is over: the state again from the log when it changed, the
 * epoch marker, our own salvage merged; then the held requests are served.
 */
static int
recovered(const char *dir, msec_t t0)
{
	char err[1024];
	cJSON *ev;

	if (M.r.changed || M.j.seq != M.w.seq) {
		work_free(&M.w);
		work_init(&M.w);
		if (journal_replay(&M.j, on_snapshot, on_event, NULL, err, sizeof(err)) < 0) {
			log_errx("%s", err);
			log_errx("refusing to start rather than lose events; see master(8), RECOVERY");
			return -1;
		}
	}
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "e", EV_EPOCH);
	record(ev);
	M.epoch_seq = M.j.seq;	/* nothing is woken before our marker is committed */
	M.wake_seen = repl_commit_point(&M.r);
	{
		/* the grace counts from here */
		struct policy_conf pc = { .max_attempts = M.cfg.max_attempts,
		    .work_timeout = M.cfg.work_timeout, .timeout_grace = TIMEOUT_GRACE,
		    .keep_finished = M.cfg.keep_finished, .max_pending = M.cfg.max_pending,
		    .max_payload = M.cfg.max_payload, .worker_gone = WORKER_GONE,
		    .start_grace = GRACE };

		policy_init(&M.p, &pc, &M.w, emit, NULL, clock_mono_ms());
	}
	if (M.j.o_first < M.j.o_next)
		merge_own();
	policy_recall_kills(&M.p, clock_wall_ms());
	daemon_notify("READY=1");	/* it serves now */
	log_info("journal %s: replayed to event %llu in %lldms (snapshot at %llu): "
	    "%ld pending, %ld running, %ld done, %ld failed", dir,
	    (unsigned long long)M.w.seq, (long long)(clock_mono_ms() - t0),
	    (unsigned long long)M.j.snap_seq, M.w.npending, M.w.nrunning, M.w.ndone, M.w.nfailed);
	return 0;
}

int
main(int argc, char **argv)
{
	struct daemon_opts o;
	const char *listen = getenv("AKC_SINGLETON_ENDPOINT");
	char dir[600], err[1024];
	int repair = 0, standby = 0;
	const char *sgname = getenv("AKC_SINGLETON") ? getenv("AKC_SINGLETON") : "master";
	msec_t now, t0;
	unsigned long sigs;

	struct flags fl = { listen, 0, 0 };

	daemon_setup_ext(argc, argv, "master", USAGE, 0, longopts, on_flag, &fl, &o, &M.cfg);
	listen = fl.listen;
	standby = fl.standby;
	repair = fl.repair;
	if (o.argi != argc) {
		fprintf(stderr, "usage: %s\n", USAGE);
		return 2;
	}
	if (M.cfg.state_dir[0] == '\0') {
		log_errx("%s: [node] state-dir is required", M.cfg.path);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/master", M.cfg.state_dir);
	if (repair) {
		if (journal_repair(dir, err, sizeof(err)) < 0) {
			log_errx("%s", err);
			return 1;
		}
		printf("journal %s repaired: start the master to see what it replays\n", dir);
		return 0;
	}
	if (standby || getenv("AKC_STANDBY") != NULL) {
		if (mkdirs(dir) < 0) {
			log_err("cannot create %s", dir);
			return 1;
		}
		return repl_standby_main(&M.cfg, sgname, dir);
	}
	if (listen == NULL) {
		log_errx("no endpoint: run it under singletond -s master "
		    "(AKC_SINGLETON_ENDPOINT) or give --listen ADDR");
		return 2;
	}
	if (sodium_init() < 0)
		fatalx("libsodium cannot start");
	if (mkdirs(dir) < 0) {
		log_err("cannot create %s", dir);
		return 1;
	}
	t0 = clock_mono_ms();
	work_init(&M.w);
	if (journal_open(&M.j, dir, err, sizeof(err)) < 0 ||
	    journal_replay(&M.j, on_snapshot, on_event, NULL, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		log_errx("refusing to start rather than lose events; see master(8), RECOVERY");
		return 1;
	}
	/* a new epoch, promised by a majority of the replica set; the best log copied here */
	if (repl_open(&M.r, &M.cfg, sgname, &M.j, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	M.r.merge = merge;
	if (M.r.c.nset == 0)
		log_warnx("no replica set ([master] replica-nodes, or [cluster] seed-nodes): a recovery "
		    "waits for every standby, and an acknowledged event survives a split only "
		    "with [master] replicas = the number of standbys");
	else if (!M.r.c.self_in_set)
		log_info("this node (%s) is not in the replica set: it does not count towards a "
		    "majority of it", M.cfg.address);
	signal(SIGPIPE, SIG_IGN);
	M.loop = loop_new();
	loop_catch(M.loop, SIGTERM);
	loop_catch(M.loop, SIGINT);
	loop_catch(M.loop, SIGHUP);
	repl_link_start(&M.r, M.loop);	/* the journal link to the standbys (link.h) */
	waiters_init(&M.wt);
	/* bound before the recovery: akc-queue says what it waits for, the rest is held */
	if ((M.s = sock_bind_raw(NN_REP, listen, REQ_MAX)) < 0)
		return 1;
	loop_watch(M.loop, sock_rcvfd(M.s), POLLIN, on_request, NULL);
	loop_watch(M.loop, repl_fd(&M.r), POLLIN, on_repl, NULL);
	if (repl_recover(&M.r, clock_mono_ms(), err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	for (;;) {
		sigs = loop_signals(M.loop);
		if (sigs & ((1UL << SIGTERM) | (1UL << SIGINT))) {
			log_info("stopping on signal");
			break;
		}
		now = clock_mono_ms();
		if (M.r.failed) {
			log_errx("%s", M.r.err);
			return 1;
		}
		if (M.r.recovered) {
			M.r.recovered = 0;
			if (recovered(dir, t0) < 0)
				return 1;
		}
		if (!M.r.recovering && now >= M.next_tick) {
			tick(now);
			M.next_tick = now + TICK;
		}
		held_tick(now);
		if (!M.r.recovering)
			dispatch();
		commit_and_answer(now);
		if (M.r.deposed) {
			log_warnx("stopping: a newer master took over");
			return 1;
		}
		if (M.r.recovered || M.r.failed)
			continue;
		{
			msec_t d = repl_next_deadline(&M.r), wd = waiters_next_deadline(&M.wt);
			msec_t t = M.r.recovering ? now + TICK : M.next_tick;
			int64_t ready = work_next_ready_at(&M.w);

			if (wd >= 0 && (d < 0 || wd < d))
				d = wd;
			if (d < 0 || d > t)
				d = t;
			/* a delayed job due before then goes to a parked worker on time */
			if (!M.r.recovering && ready > 0 && M.npark > 0 &&
			    now + (ready - clock_wall_ms()) < d)
				d = now + (ready - clock_wall_ms());
			loop_poll(M.loop, d);
		}
	}
	if (!M.r.recovering)
		commit_and_answer(clock_mono_ms());
	journal_close(&M.j);
	waiters_free(&M.wt);
	policy_free(&M.p);
	work_free(&M.w);
	nn_close(M.s);
	return 0;
}
