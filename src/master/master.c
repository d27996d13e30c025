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
#include "mlink.h"
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
	int max;			/* jobs it takes at most ("jobs"); 0: one, as "job" */
	uint64_t need;			/* its request's own events (a report's) end here */
	uint32_t ask;			/* the worker's token of the ask; 0: none */
};

struct batches {			/* akc-queue's "batches": several jobs or results a message */
	uint64_t answers, jobs;		/* answers that carried "jobs", and the jobs in them */
	int max_jobs;			/* the most jobs in one answer */
	uint64_t reports, results;	/* "report"s taken, and the results in them */
	int max_results;		/* the most results in one report */
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
	int direct;		/* SOCK_MASTER_DIRECT, or -1 (see open_direct) */
	char direct_path[CONF_PATH_MAX + 32];
	uint64_t direct_requests;
	struct mlink *ml;	/* other nodes' proxies straight to us (mlink.h), or NULL */
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
	uint64_t bad_version;		/* of them, of another work protocol version */
	uint64_t reports_next;		/* done/failed that carried the next request ("next") */
	uint64_t asks_again;		/* jobs given again to an ask sent again (its answer lost) */
	struct batches bt;
	msec_t next_tick;
	struct latency lat;
	struct waiters wt;		/* results and status long polls */
	uint64_t epoch_seq;		/* our epoch marker: nothing is woken before it is committed */
	uint64_t wake_seen;		/* result lines up to here were looked at for waiters */
	msec_t t0;			/* when it started: the recovery's time is logged */
	int early;			/* jobs go before their own events commit (jobs_need) */
	int defer;			/* a sync waits for the acks of the one before (defer_sync) */
	msec_t defer_until;		/* ... until then, at most (0: not waiting) */
	uint64_t deferred;		/* syncs put off so (queue: syncs_deferred) */
	long snap_jobs;			/* jobs in the last snapshot (policy_snapshot_due) */
};

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

/*
 * Requests from the direct socket carry DIRECT_MARK in their header's first
 * byte (the connection id, whose bit 30 lib/sps.c never sets in practice:
 * a request of m->s with it is dropped), so that the answer, however late,
 * goes back on the socket the request came from.
 */
#define DIRECT_MARK	0x40

static void
send_now(struct master *m, const unsigned char *hdr, size_t hdrlen, cJSON *body)
{
	char *txt = json_print(body);
	unsigned char h[SOCK_HDR_MAX];
	int s = m->s;

	if (mlink_hdr(hdr, hdrlen)) {
		/* a request that came over the master link: its answer goes back there */
		mlink_answer(m->ml, hdr, hdrlen, txt, strlen(txt));
		cJSON_free(txt);
		cJSON_Delete(body);
		return;
	}
	if (hdrlen > 0 && (hdr[0] & DIRECT_MARK) && m->direct >= 0 && hdrlen <= sizeof(h)) {
		memcpy(h, hdr, hdrlen);
		h[0] &= (unsigned char)~DIRECT_MARK;
		hdr = h;
		s = m->direct;
	}
	if (sock_send_raw(s, hdr, hdrlen, txt, strlen(txt)) < 0)
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
send_at(struct master *m, const unsigned char *hdr, size_t hdrlen, cJSON *body, uint64_t need)
{
	if (m->nrep == m->caprep) {
		m->caprep = m->caprep ? 2 * m->caprep : 64;
		m->rep = xreallocarray(m->rep, m->caprep, sizeof(*m->rep));
	}
	memcpy(m->rep[m->nrep].hdr, hdr, hdrlen);
	m->rep[m->nrep].hdrlen = hdrlen;
	m->rep[m->nrep].body = body;
	m->rep[m->nrep].need = need;
	m->rep[m->nrep].at = clock_mono_ms();
	m->nrep++;
}

static void
send_later(struct master *m, const unsigned char *hdr, size_t hdrlen, cJSON *body)
{
	send_at(m, hdr, hdrlen, body, m->j.seq);
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
latency_observe(struct master *m, msec_t ms)
{
	size_t i;

	for (i = 0; i < LAT_N; i++)
		if (ms <= lat_le[i])
			m->lat.le[i]++;
	m->lat.n++;
	m->lat.sum_ms += (double)ms;
}

/* Journals an event and applies it; a finished job's result line goes with it. */
static uint64_t
record(struct master *m, cJSON *ev)
{
	char err[256];
	uint64_t seq;
	const char *e = json_str(ev, "e");
	struct job *jb;

	json_add_u64(ev, "ep", m->r.c.epoch);
	seq = journal_append(&m->j, ev);
	if (work_apply(&m->w, seq, ev, err, sizeof(err)) < 0)
		fatalx("internal error: %s", err);
	if (strcmp(e, EV_EPOCH) == 0 || strcmp(e, EV_FORGET) == 0) {
		cJSON_Delete(ev);
		return seq;
	}
	jb = work_find(&m->w, json_str(ev, "id"));
	if (strcmp(e, EV_ACCEPTED) == 0)
		jb->accepted_at = clock_mono_ms();
	else if (strcmp(e, EV_COMPLETED) == 0 && jb->accepted_at > 0)
		latency_observe(m, clock_mono_ms() - jb->accepted_at);
	if (strcmp(e, EV_COMPLETED) == 0 || strcmp(e, EV_FAILED) == 0 || strcmp(e, EV_CANCELLED) == 0) {
		int done = strcmp(e, EV_COMPLETED) == 0;
		const char *key = done ? work_result_key(ev) : "result";
		cJSON *l = result_line(jb, seq, job_status_name(jb->status), key,
		    done ? json_str(ev, key) : strcmp(e, EV_CANCELLED) == 0 ? "cancelled" :
		    json_str(ev, "why"));

		if (json_str(ev, "stderr") != NULL)
			cJSON_AddStringToObject(l, "stderr", json_str(ev, "stderr"));
		journal_put_result(&m->j, seq, l);
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
	record(arg, ev);
}

/* ---- workers ---- */

/* Tells a worker, in an answer to it, which of its attempts were cancelled. */
static cJSON *
with_kills(struct master *m, cJSON *r, const char *worker)
{
	cJSON *ids = policy_kills(&m->p, worker);

	if (ids != NULL)
		cJSON_AddItemToObject(r, "cancel", ids);
	return r;
}

/* Job jb (started for its worker already) as an answer shows it. */
static cJSON *
job_json(struct master *m, const struct job *jb)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", jb->id);
	cJSON_AddStringToObject(o, "payload", jb->payload);
	cJSON_AddNumberToObject(o, "attempt", jb->attempts);
	cJSON_AddNumberToObject(o, "timeout_ms", (double)policy_timeout(&m->p, jb));
	return o;
}

/* The answer that hands job jb (started for worker already) to it. */
static cJSON *
job_answer(struct master *m, const struct job *jb, const char *worker)
{
	cJSON *r = ok();

	cJSON_AddItemToObject(r, "job", job_json(m, jb));
	return with_kills(m, r, worker);
}

/*
 * The answer to an ask for several ("max", a report's "next"): "jobs",
 * the n started for worker in one commit (none: an empty array).
 */
static cJSON *
jobs_answer(struct master *m, struct job **jobs, int n, const char *worker)
{
	cJSON *r = ok(), *a = cJSON_AddArrayToObject(r, "jobs");
	int i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, job_json(m, jobs[i]));
	if (n > 0) {
		m->bt.answers++;
		m->bt.jobs += (uint64_t)n;
		if (n > m->bt.max_jobs)
			m->bt.max_jobs = n;
	}
	return with_kills(m, r, worker);
}

/* No job for an ask: "job" null, or "jobs" empty for an ask of several (batch > 0). */
static cJSON *
no_job(struct master *m, const char *worker, int batch)
{
	cJSON *r;

	if (batch > 0)
		return jobs_answer(m, NULL, 0, worker);
	r = ok();
	cJSON_AddNullToObject(r, "job");
	return with_kills(m, r, worker);
}

/*
 * An answer that hands jobs to a worker goes once the events of its own
 * request (a report's results, and what was journaled before it came:
 * own) are committed, not the jobs' own accepted and started events: so
 * a job reaches its worker while those are still being replicated and
 * synced, and its run overlaps their commit (issue 12: one commit less on
 * a job's way). What may come of it is what a lost answer or a worker's
 * crash brings already: a master that dies before they commit leaves a
 * job that ran and was never acknowledged to its submitter (who sends it
 * again: at least once), or one a successor runs again; its result is
 * told to no one before its completed event, which comes after them in
 * the log, is committed. Never before our epoch marker is committed
 * (send_at), nor with a cancel list (cancels rest on their events).
 * AKC_EARLY_JOBS=0 waits for the jobs' events too, as before.
 */
static void
send_jobs(struct master *m, const unsigned char *hdr, size_t hdrlen, cJSON *body, uint64_t own)
{
	send_at(m, hdr, hdrlen, body, policy_jobs_need(m->early, own, m->epoch_seq, m->j.seq,
	    cJSON_GetObjectItemCaseSensitive(body, "cancel") != NULL));
}

/*
 * The jobs for worker's ask (at most max): those an earlier copy of the
 * same ask was given, if its answer was lost with a connection and the
 * worker sent it again (the same token), else the next ready ones, which
 * then remember the token.
 */
static int
jobs_for(struct master *m, const char *worker, uint32_t ask, struct job **jobs, int max)
{
	int n = policy_asked(&m->p, worker, ask, jobs, max);

	if (n > 0) {
		m->asks_again += (uint64_t)n;
		log_info("jobs %s%s given again to worker %s: its ask came again (its answer was "
		    "lost with a connection)", jobs[0]->id, n > 1 ? " and others" : "", worker);
		return n;
	}
	return policy_next_batch(&m->p, worker, ask, clock_wall_ms(), jobs, max);
}

/* Ready work to parked long polls, oldest first; an ask of several takes what is ready of them. */
static void
dispatch(struct master *m)
{
	struct job *jobs[REQ_BATCH_MAX];
	int n;

	while (m->npark > 0) {
		struct parked p = m->park[0];

		if ((n = jobs_for(m, p.worker, p.ask, jobs, p.max > 0 ? p.max : 1)) == 0)
			break;
		memmove(&m->park[0], &m->park[1], (size_t)(m->npark - 1) * sizeof(*m->park));
		m->npark--;
		send_jobs(m, p.hdr, p.hdrlen, p.max > 0 ? jobs_answer(m, jobs, n, p.worker) :
		    job_answer(m, jobs[0], p.worker), p.need);
	}
}

/* A cancel for a parked worker goes at once, in an answer without a job. */
static void
unpark_kills(struct master *m)
{
	int i;

	for (i = 0; i < m->npark; ) {
		cJSON *ids = policy_kills(&m->p, m->park[i].worker);

		if (ids == NULL) {
			i++;
			continue;
		}
		{
			cJSON *r = ok();

			if (m->park[i].max > 0)
				cJSON_AddArrayToObject(r, "jobs");
			else
				cJSON_AddNullToObject(r, "job");
			cJSON_AddItemToObject(r, "cancel", ids);
			send_later(m, m->park[i].hdr, m->park[i].hdrlen, r);
		}
		memmove(&m->park[i], &m->park[i + 1],
		    (size_t)(m->npark - i - 1) * sizeof(*m->park));
		m->npark--;
	}
}

/* ---- requests ---- */

static void
op_submit(struct master *m, const struct request *rq, const unsigned char *hdr, size_t hdrlen)
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
	if ((code = policy_submit(&m->p, id, rq->payload, &rq->opts, clock_wall_ms(), &isnew,
	    &since, err, sizeof(err))) != 0) {
		send_later(m, hdr, hdrlen, refuse(code, "%s", err));
		return;
	}
	/* a known id's first acceptance may not be synced yet: the answer waits as well */
	r = ok();
	cJSON_AddStringToObject(r, "id", id);
	cJSON_AddBoolToObject(r, "new", isnew);
	/* its result line, once there is one, comes after this seq */
	json_add_u64(r, "since", since);
	send_later(m, hdr, hdrlen, r);
}

/* One job's state as akc-job shows it (the job op). */
static void
op_job(struct master *m, const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	struct job *jb;
	cJSON *r, *o;

	if ((jb = work_find(&m->w, rq->id)) == NULL) {
		send_later(m, hdr, hdrlen, refuse(1, "no job %s", rq->id));
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
	cJSON_AddNumberToObject(o, "timeout_ms", (double)policy_timeout(&m->p, jb));
	if (jb->seq)
		cJSON_AddNumberToObject(o, "seq", (double)jb->seq);
	cJSON_AddItemToObject(o, "history", work_history_json(jb));
	if (jb->hist_dropped)
		cJSON_AddNumberToObject(o, "history_dropped", jb->hist_dropped);
	send_later(m, hdr, hdrlen, r);
}

static void
op_cancel(struct master *m, const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	char err[300];
	cJSON *r;

	if (policy_cancel(&m->p, rq->id, clock_wall_ms(), err, sizeof(err)) != 0) {
		send_later(m, hdr, hdrlen, refuse(1, "%s", err));
		return;
	}
	unpark_kills(m);
	r = ok();
	cJSON_AddStringToObject(r, "id", rq->id);
	json_add_u64(r, "seq", m->w.seq);
	send_later(m, hdr, hdrlen, r);
}

/* A status answer: the job as it is now. */
static cJSON *
status_answer(struct master *m, const struct job *jb)
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
		if ((line = journal_result(&m->j, jb->seq)) != NULL) {
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
status_of(struct master *m, const char *id)
{
	struct job *jb;

	if (id == NULL || (jb = work_find(&m->w, id)) == NULL)
		return refuse(1, "no job '%.40s'", id ? id : "");
	return status_answer(m, jb);
}

/* Parks a long poll; 0, or -1 when too many are parked (it is answered at once). */
static int
park(struct master *m, enum waiter_kind kind, const struct request *rq,
    const unsigned char *hdr, size_t hdrlen)
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
	return waiters_park(&m->wt, &w);
}

static void
op_status(struct master *m, const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	struct job *jb = rq->id ? work_find(&m->w, rq->id) : NULL;

	/* with wait, an unfinished job's answer waits for its result line's commit */
	if (rq->wait > 0 && jb != NULL && jb->status < JOB_DONE &&
	    park(m, WAIT_STATUS, rq, hdr, hdrlen) == 0)
		return;
	/*
	 * A job that finished in this very turn has its result line in the
	 * journal's unwritten batch, where status_of cannot read it: answered
	 * then, it would say "failed" with no result. Parked with no wait, it
	 * is answered right after the batch is written (commit_and_answer).
	 */
	if (jb != NULL && jb->status >= JOB_DONE && jb->seq > m->j.durable) {
		struct request at_commit = *rq;

		at_commit.wait = 0;
		if (park(m, WAIT_STATUS, &at_commit, hdr, hdrlen) == 0)
			return;
	}
	/* a status read after its job's events were accepted: same sync */
	send_later(m, hdr, hdrlen, status_of(m, rq->id));
}

/* A results answer: the committed lines after since, at most max; *n of them. */
static cJSON *
results_answer(struct master *m, uint64_t since, long max, int *n)
{
	cJSON *r = ok(), *arr;
	uint64_t next;

	arr = cJSON_AddArrayToObject(r, "results");
	/* only what is durable: a result is never shown and then lost */
	next = journal_results(&m->j, since, (int)max, arr);
	{
		cJSON *line;

		cJSON_ArrayForEach(line, arr)
			line_shown(line);
	}
	while (cJSON_GetArraySize(arr) > 0) {
		cJSON *last = cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1);
		long s;

		if (json_int(last, "seq", 0, 1L << 53, &s) == 0 &&
		    (uint64_t)s <= repl_commit_point(&m->r)) {
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
op_results(struct master *m, const struct request *rq, const unsigned char *hdr, size_t hdrlen)
{
	int n;
	cJSON *r = results_answer(m, (uint64_t)rq->since, rq->max, &n);

	/* with wait, nothing new is not answered until something is (or the wait ends) */
	if (n == 0 && rq->wait > 0 && park(m, WAIT_RESULTS, rq, hdr, hdrlen) == 0) {
		cJSON_Delete(r);
		return;
	}
	send_later(m, hdr, hdrlen, r);
}

/* The queue answer's figures for akc-httpd: latency histogram and journal size. */
static void
add_stats(struct master *m, cJSON *r)
{
	cJSON *o = cJSON_AddObjectToObject(r, "latency"), *b, *pair;
	size_t i;

	cJSON_AddNumberToObject(o, "count", (double)m->lat.n);
	cJSON_AddNumberToObject(o, "sum_ms", m->lat.sum_ms);
	b = cJSON_AddArrayToObject(o, "buckets");
	for (i = 0; i < LAT_N; i++) {
		pair = cJSON_CreateArray();
		cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)lat_le[i]));
		cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)m->lat.le[i]));
		cJSON_AddItemToArray(b, pair);
	}
	o = cJSON_AddObjectToObject(r, "parked");	/* long polls (waiting: see waiting(m)) */
	cJSON_AddNumberToObject(o, "results", m->wt.nresults);
	cJSON_AddNumberToObject(o, "status", m->wt.nstatus);
	cJSON_AddNumberToObject(o, "max", WAITERS_MAX);
	cJSON_AddNumberToObject(o, "woken", (double)m->wt.woken);
	cJSON_AddNumberToObject(o, "expired", (double)m->wt.expired);
	cJSON_AddNumberToObject(o, "full", (double)m->wt.full);
	o = cJSON_AddObjectToObject(r, "journal");
	cJSON_AddNumberToObject(o, "seq", (double)m->j.seq);
	cJSON_AddNumberToObject(o, "snapshot_seq", (double)m->j.snap_seq);
	cJSON_AddNumberToObject(o, "bytes", (double)journal_disk_bytes(&m->j));
}

/*
 * Adds "waiting" to an answer: what the master waits for, in one line (a
 * recovery, or replication that does not move), or null. Returns 1 when it waits.
 */
static int
waiting(struct master *m, msec_t now, cJSON *r)
{
	char why[2048];

	cJSON_AddBoolToObject(r, "recovering", m->r.recovering);
	if (repl_waiting(&m->r, now, why, sizeof(why))) {
		utf8_scrub(why);
		cJSON_AddStringToObject(r, "waiting", why);
		return 1;
	}
	cJSON_AddNullToObject(r, "waiting");
	return 0;
}

static void
op_queue(struct master *m, const unsigned char *hdr, size_t hdrlen, msec_t now)
{
	cJSON *r = ok(), *ws, *run;
	struct job *jb;
	int i;
	int64_t wall = clock_wall_ms();

	cJSON_AddNumberToObject(r, "pending", (double)m->w.npending);
	cJSON_AddNumberToObject(r, "in_progress", (double)m->w.nrunning);
	cJSON_AddNumberToObject(r, "done", (double)m->w.ndone);
	cJSON_AddNumberToObject(r, "failed", (double)m->w.nfailed);
	cJSON_AddNumberToObject(r, "cancelled", (double)m->w.ncancelled);
	work_next(&m->w, wall);	/* delayed jobs whose time came count as ready */
	cJSON_AddNumberToObject(r, "delayed", (double)work_ndelayed(&m->w));
	cJSON_AddNumberToObject(r, "forgotten", (double)m->w.nforgotten);
	/* every job is in one of the five (the finished count the forgotten) */
	cJSON_AddNumberToObject(r, "accepted",
	    (double)(m->w.npending + m->w.nrunning + m->w.ndone + m->w.nfailed + m->w.ncancelled));
	cJSON_AddNumberToObject(r, "seq", (double)m->w.seq);
	cJSON_AddNumberToObject(r, "requests", (double)m->requests);
	/* of them, from local clients on the direct socket (false: it is not open) */
	if (m->direct >= 0)
		cJSON_AddNumberToObject(r, "direct_requests", (double)m->direct_requests);
	else
		cJSON_AddBoolToObject(r, "direct_requests", 0);
	cJSON_AddNumberToObject(r, "bad_requests", (double)m->bad);
	cJSON_AddNumberToObject(r, "bad_version", (double)m->bad_version);
	cJSON_AddNumberToObject(r, "reports_next", (double)m->reports_next);
	cJSON_AddNumberToObject(r, "asks_again", (double)m->asks_again);
	cJSON_AddNumberToObject(r, "syncs_deferred", (double)m->deferred);
	{
		cJSON *o = cJSON_AddObjectToObject(r, "batches");

		cJSON_AddNumberToObject(o, "answers", (double)m->bt.answers);
		cJSON_AddNumberToObject(o, "jobs", (double)m->bt.jobs);
		cJSON_AddNumberToObject(o, "max_jobs", m->bt.max_jobs);
		cJSON_AddNumberToObject(o, "reports", (double)m->bt.reports);
		cJSON_AddNumberToObject(o, "results", (double)m->bt.results);
		cJSON_AddNumberToObject(o, "max_results", m->bt.max_results);
	}
	ws = cJSON_AddArrayToObject(r, "workers");
	for (i = 0; i < m->p.nwks; i++) {
		cJSON *o = cJSON_CreateObject(), *jobs = cJSON_CreateArray();

		cJSON_AddStringToObject(o, "worker", m->p.wks[i].id);
		for (jb = m->w.run_head; jb != NULL; jb = jb->next)
			if (strcmp(jb->worker, m->p.wks[i].id) == 0)
				cJSON_AddItemToArray(jobs, cJSON_CreateString(jb->id));
		cJSON_AddStringToObject(o, "state", cJSON_GetArraySize(jobs) ? "busy" : "idle");
		cJSON_AddItemToObject(o, "jobs", jobs);
		cJSON_AddNumberToObject(o, "seen_ms", (double)(now - m->p.wks[i].seen));
		cJSON_AddItemToArray(ws, o);
	}
	ws = cJSON_AddArrayToObject(r, "standbys");
	for (i = 0; i < m->r.c.nsb; i++) {
		const struct rc_standby *sb = &m->r.c.sb[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "node", sb->name);
		cJSON_AddNumberToObject(o, "acked", (double)sb->acked);
		cJSON_AddBoolToObject(o, "replica", sb->in_set);
		cJSON_AddNumberToObject(o, "lag",
		    m->j.seq > sb->acked ? (double)(m->j.seq - sb->acked) : 0);
		/* on sync duty (the commit counts on it), or lazy; what it wrote, synced or not */
		cJSON_AddBoolToObject(o, "sync", sb->duty);
		cJSON_AddNumberToObject(o, "written", (double)(sb->next - 1));
		if (sb->heard != 0)
			cJSON_AddNumberToObject(o, "heard_ms", (double)(now - sb->heard));
		else
			cJSON_AddNullToObject(o, "heard_ms");
		cJSON_AddItemToArray(ws, o);
	}
	add_stats(m, r);
	cJSON_AddNumberToObject(r, "epoch", (double)m->r.c.epoch);
	cJSON_AddNumberToObject(r, "duty_moves", (double)m->r.c.duty_moves);
	/* journal link and relay messages dropped: malformed, of another epoch, or late */
	cJSON_AddNumberToObject(r, "journal_dropped", (double)m->r.c.dropped);
	cJSON_AddNumberToObject(r, "committed", (double)repl_commit_point(&m->r));
	cJSON_AddNumberToObject(r, "replica_set", m->r.c.nset);
	cJSON_AddNumberToObject(r, "quorum", m->r.c.nset ? m->r.c.quorum : 0);
	cJSON_AddItemToObject(r, "link", repl_link_json(&m->r, now));
	/* other nodes' proxies straight to us (false: off) */
	cJSON_AddItemToObject(r, "mlink", mlink_json(m->ml, now));
	run = cJSON_AddArrayToObject(r, "running");
	for (jb = m->w.run_head; jb != NULL; jb = jb->next) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", jb->id);
		cJSON_AddStringToObject(o, "worker", jb->worker);
		cJSON_AddNumberToObject(o, "attempt", jb->attempts);
		cJSON_AddNumberToObject(o, "for_ms", (double)(wall - jb->started));
		cJSON_AddItemToArray(run, o);
	}
	/* stalled or recovering: the answer says why, now, rather than wait with the rest */
	if (waiting(m, now, r)) {
		send_now(m, hdr, hdrlen, r);
		return;
	}
	send_later(m, hdr, hdrlen, r);
}

/*
 * A worker's ask for work with no job ready: answered now (no wait, or a
 * cancel to tell), else parked as a long poll that dispatch() answers.
 */
static void
park_ask(struct master *m, const char *w, long wait, int batch, uint32_t ask,
    const unsigned char *hdr, size_t hdrlen, msec_t now)
{
	int i;

	/* a cancel to tell goes now, not after the long poll */
	if (wait <= 0 || policy_kills_for(&m->p, w)) {
		send_later(m, hdr, hdrlen, no_job(m, w, batch));
		return;
	}
	/* a copy of an ask still parked: its answer would go to a lost connection */
	for (i = 0; ask != 0 && i < m->npark; i++)
		if (m->park[i].ask == ask && strcmp(m->park[i].worker, w) == 0) {
			memmove(&m->park[i], &m->park[i + 1],
			    (size_t)(m->npark - i - 1) * sizeof(*m->park));
			m->npark--;
			break;
		}
	if (m->npark == m->cappark) {
		m->cappark = m->cappark ? 2 * m->cappark : 16;
		m->park = xreallocarray(m->park, m->cappark, sizeof(*m->park));
	}
	memcpy(m->park[m->npark].hdr, hdr, hdrlen);
	m->park[m->npark].hdrlen = hdrlen;
	snprintf(m->park[m->npark].worker, sizeof(m->park[0].worker), "%s", w);
	m->park[m->npark].until = now + wait;
	m->park[m->npark].max = batch;
	m->park[m->npark].need = m->j.seq;
	m->park[m->npark].ask = ask;
	m->npark++;
}

static void
op_request(struct master *m, const struct request *rq, const unsigned char *hdr, size_t hdrlen,
    msec_t now)
{
	const char *w = rq->worker;
	uint64_t own = m->j.seq;
	struct job *jb;

	policy_seen(&m->p, w, now);
	if (rq->batch > 0) {
		/* several at once ("max"): what is ready of them, or a long poll for the first */
		struct job *jobs[REQ_BATCH_MAX];
		int n = jobs_for(m, w, rq->ask, jobs, rq->batch);

		if (n > 0)
			send_jobs(m, hdr, hdrlen, jobs_answer(m, jobs, n, w), own);
		else
			park_ask(m, w, rq->wait, rq->batch, rq->ask, hdr, hdrlen, now);
		return;
	}
	if (jobs_for(m, w, rq->ask, &jb, 1) > 0) {
		send_jobs(m, hdr, hdrlen, job_answer(m, jb, w), own);
		return;
	}
	park_ask(m, w, rq->wait, 0, rq->ask, hdr, hdrlen, now);
}

static void
op_done(struct master *m, const struct request *rq, const unsigned char *hdr, size_t hdrlen,
    msec_t now)
{
	const char *w = rq->worker;
	char err[300];
	unsigned char *bin = NULL;
	char *canon = NULL;
	const char *rkey = NULL, *result = NULL;
	size_t len;
	struct job *jb = NULL;
	uint64_t own;
	int rc;

	policy_seen(&m->p, w, now);
	if (rq->op == OP_DONE) {
		if ((bin = request_result(rq->result, &len, err, sizeof(err))) == NULL) {
			send_later(m, hdr, hdrlen, with_kills(m, refuse(2, "%s", err), w));
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
	/* policy_report_next's two steps, the seq between them marking the report's own events */
	rc = policy_report(&m->p, w, rq->id, rq->attempt, rq->op == OP_DONE, rkey, result,
	    rq->why, rq->errtail, clock_wall_ms(), err, sizeof(err));
	own = m->j.seq;
	if (rc == 0 && rq->next && jobs_for(m, w, rq->ask, &jb, 1) == 0)
		jb = NULL;
	free(bin);
	free(canon);
	if (rc != 0 || !rq->next) {
		send_later(m, hdr, hdrlen, with_kills(m, rc == 0 ? ok() : refuse(rc, "%s", err), w));
		return;
	}
	/* the report carried the next request: its answer is a request's (ok, "job") */
	m->reports_next++;
	if (jb != NULL)
		send_jobs(m, hdr, hdrlen, job_answer(m, jb, w), own);
	else
		park_ask(m, w, rq->wait, 0, rq->ask, hdr, hdrlen, now);
}

/* A report's result as the policy takes it: its result decoded into *bin (freed by the caller). */
static void
report_item(const cJSON *item, struct preport *pr, unsigned char **bin, char **canon)
{
	struct report_item it;
	size_t len;

	memset(pr, 0, sizeof(*pr));
	*bin = NULL;
	*canon = NULL;
	if ((pr->rc = request_report_item(item, &it, pr->err, sizeof(pr->err))) != 0) {
		pr->id = json_str(item, "id");
		return;
	}
	pr->id = it.id;
	pr->attempt = it.attempt;
	pr->success = it.success;
	pr->why = it.why;
	pr->errtail = it.errtail;
	if (!it.success)
		return;
	if ((*bin = request_result(it.result, &len, pr->err, sizeof(pr->err))) == NULL) {
		pr->rc = 2;
		return;
	}
	/* as op_done: text only if JSON carries it exactly, else its bytes */
	if (utf8_text(*bin, len)) {
		pr->rkey = "result";
		pr->result = (const char *)*bin;
	} else {
		pr->rkey = "result_base64";
		pr->result = *canon = b64_encode(*bin, len);
	}
}

/*
 * Several results in one message ("report"), and with "next" the worker's
 * request for that many jobs: each result is taken on its own (policy.c),
 * all their events and the jobs' starts commit together, and the answer
 * lists the refused results; the jobs come as a request's "jobs" would.
 */
static void
op_report(struct master *m, const struct request *rq, const unsigned char *hdr, size_t hdrlen,
    msec_t now)
{
	const char *w = rq->worker;
	int n = cJSON_GetArraySize(rq->reports), i, taken, nnext = 0;
	struct preport *pr = xcalloc((size_t)n, sizeof(*pr));
	unsigned char **bin = xcalloc((size_t)n, sizeof(*bin));
	char **canon = xcalloc((size_t)n, sizeof(*canon));
	struct job *jobs[REQ_BATCH_MAX];
	cJSON *r, *refused = NULL;
	uint64_t own;

	policy_seen(&m->p, w, now);
	for (i = 0; i < n; i++)
		report_item(cJSON_GetArrayItem(rq->reports, i), &pr[i], &bin[i], &canon[i]);
	/* policy_reports' two steps, the seq between them marking the results' own events */
	taken = policy_reports(&m->p, w, pr, n, clock_wall_ms(), jobs, 0, &nnext);
	own = m->j.seq;
	if (rq->batch > 0)
		nnext = jobs_for(m, w, rq->ask, jobs, rq->batch);
	m->bt.reports++;
	m->bt.results += (uint64_t)n;
	if (n > m->bt.max_results)
		m->bt.max_results = n;
	if (rq->batch > 0)
		m->reports_next += (uint64_t)taken;
	for (i = 0; i < n; i++) {
		if (pr[i].rc != 0) {
			cJSON *o = cJSON_CreateObject();

			if (refused == NULL)
				refused = cJSON_CreateArray();
			cJSON_AddStringToObject(o, "id", pr[i].id ? pr[i].id : "");
			cJSON_AddNumberToObject(o, "code", pr[i].rc);
			cJSON_AddStringToObject(o, "error", pr[i].err);
			cJSON_AddItemToArray(refused, o);
		}
		free(bin[i]);
		free(canon[i]);
	}
	free(pr);
	free(bin);
	free(canon);
	if (rq->batch > 0 && nnext == 0 && rq->wait > 0 && refused == NULL &&
	    !policy_kills_for(&m->p, w)) {
		/* nothing ready: parked as a request's long poll (its answer carries no refusals) */
		park_ask(m, w, rq->wait, rq->batch, rq->ask, hdr, hdrlen, now);
		return;
	}
	r = rq->batch > 0 ? jobs_answer(m, jobs, nnext, w) : with_kills(m, ok(), w);
	if (refused != NULL)
		cJSON_AddItemToObject(r, "refused", refused);
	send_jobs(m, hdr, hdrlen, r, own);
}

static void
handle(struct master *m, const unsigned char *hdr, size_t hdrlen, const char *buf, size_t len,
    msec_t now)
{
	char why[160];
	cJSON *req = json_parse_why(buf, len, why, sizeof(why));
	struct request rq;
	char err[256];
	int code, bad;

	m->requests++;
	if (req == NULL) {
		/* not JSON, or a string with a NUL or not UTF-8: never cut short or passed on */
		m->bad++;
		send_later(m, hdr, hdrlen, refuse(2, "malformed request: %s", why));
		return;
	}
	if ((code = request_parse(req, &rq, &bad, err, sizeof(err))) != 0) {
		if (bad != REQ_OK)
			m->bad++;
		if (bad == REQ_BAD_VERSION && m->bad_version++ == 0)
			log_warnx("%s (the first such request; akc-queue counts them in bad_version)",
			    err);
		send_later(m, hdr, hdrlen, refuse(code, "%s", err));
		cJSON_Delete(req);
		return;
	}
	switch (rq.op) {
	case OP_SUBMIT:
		op_submit(m, &rq, hdr, hdrlen);
		break;
	case OP_STATUS:
		op_status(m, &rq, hdr, hdrlen);
		break;
	case OP_RESULTS:
		op_results(m, &rq, hdr, hdrlen);
		break;
	case OP_QUEUE:
		op_queue(m, hdr, hdrlen, now);
		break;
	case OP_REQUEST:
		op_request(m, &rq, hdr, hdrlen, now);
		break;
	case OP_DONE:
	case OP_FAILED:
		op_done(m, &rq, hdr, hdrlen, now);
		break;
	case OP_REPORT:
		op_report(m, &rq, hdr, hdrlen, now);
		break;
	case OP_REGISTER:
		policy_seen(&m->p, rq.worker, now);
		send_later(m, hdr, hdrlen, with_kills(m, ok(), rq.worker));
		break;
	case OP_UNREGISTER:
		policy_unregister(&m->p, rq.worker, clock_wall_ms());
		send_later(m, hdr, hdrlen, ok());
		break;
	case OP_JOB:
		op_job(m, &rq, hdr, hdrlen);
		break;
	case OP_CANCEL:
		op_cancel(m, &rq, hdr, hdrlen);
		break;
	}
	cJSON_Delete(req);
}

/*
 * Whether requests are handled now, not held: the recovery is over and
 * recovered() has set the work state up. The recovery ends inside
 * loop_poll (the journal link's or relay's message that completes it),
 * and recovered() runs at the top of the next turn: a request read by a
 * later callback of the same poll was handled before the policy existed
 * (a NULL work table: the master crashed, and singletond restarted it).
 */
static int
serving(const struct master *m)
{
	return !m->r.recovering && !m->r.recovered;
}

/*
 * A request during the recovery: akc-queue is answered at once (with what
 * the recovery waits for); the rest waits for the recovery's end, and at
 * most STALL_ANSWER, then is answered with what it waits for (held_tick).
 */
static void
hold(struct master *m, const unsigned char *hdr, size_t hdrlen, const void *buf, size_t len,
    msec_t now)
{
	cJSON *req = json_parse(buf, len);
	struct request rq;
	struct held *h;
	char err[256];
	int bad;

	/* one of another version is held too: handle() refuses and counts it */
	if (req != NULL && request_parse(req, &rq, &bad, err, sizeof(err)) == 0 &&
	    rq.op == OP_QUEUE) {
		cJSON_Delete(req);
		m->requests++;
		op_queue(m, hdr, hdrlen, now);
		return;
	}
	cJSON_Delete(req);
	if (m->nheld == m->capheld) {
		m->capheld = m->capheld ? 2 * m->capheld : 64;
		m->held = xreallocarray(m->held, m->capheld, sizeof(*m->held));
	}
	h = &m->held[m->nheld++];
	memcpy(h->hdr, hdr, hdrlen);
	h->hdrlen = hdrlen;
	h->buf = xmalloc(len);
	memcpy(h->buf, buf, len);
	h->len = len;
	h->at = now;
}

/* Held requests: handled once the recovery is over; refused with the reason when it lasts. */
static void
held_tick(struct master *m, msec_t now)
{
	char why[2048];
	int i, k;

	for (i = k = 0; i < m->nheld; i++) {
		struct held *h = &m->held[i];

		if (serving(m))
			handle(m, h->hdr, h->hdrlen, h->buf, h->len, now);
		else if (now - h->at >= STALL_ANSWER) {
			repl_waiting(&m->r, now, why, sizeof(why));
			m->requests++;
			send_now(m, h->hdr, h->hdrlen, refuse(1, "not served within %ds: this "
			    "master is recovering: %s", STALL_ANSWER / 1000, why));
		} else {
			m->held[k++] = *h;
			continue;
		}
		free(h->buf);
	}
	m->nheld = k;
}

/* An akc-queue answer made before the wait showed: it says it now. */
static int
waiting_now(struct master *m, cJSON *body, msec_t now)
{
	char why[2048];

	if (!repl_waiting(&m->r, now, why, sizeof(why)))
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
answer_stalled(struct master *m, struct reply *rp, msec_t now)
{
	char why[2048], what[WORK_ID_MAX + 64];
	const char *id = json_str(rp->body, "id");
	int isnew = 0;

	if (!repl_waiting(&m->r, now, why, sizeof(why)))
		snprintf(why, sizeof(why), "replication is slow (committed %llu of %llu)",
		    (unsigned long long)repl_commit_point(&m->r), (unsigned long long)rp->need);
	if (id != NULL && json_bool(rp->body, "new", &isnew) == 0)
		snprintf(what, sizeof(what), "job %s is journaled but", id);
	else
		snprintf(what, sizeof(what), "the answer is");
	send_now(m, rp->hdr, rp->hdrlen, refuse(1, "%s not replicated within %ds (the same request "
	    "again is safe): %s", what, STALL_ANSWER / 1000, why));
	cJSON_Delete(rp->body);
}

/*
 * Up to BATCH requests from socket s: the proxy's, or with direct the
 * direct socket's (a local client's request, handled as one through the
 * proxy, its header marked so that the answer goes back there).
 */
static void
recv_requests(struct master *m, int s, int direct)
{
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	void *buf;
	ssize_t n;
	int i;
	msec_t now = clock_mono_ms();

	for (i = 0; i < BATCH; i++) {
		hdrlen = sizeof(hdr);
		if ((n = sock_recv_raw(s, &buf, hdr, &hdrlen)) < 0)
			break;
		if (((hdr[0] & DIRECT_MARK) && (direct || m->direct >= 0)) ||
		    mlink_hdr(hdr, hdrlen)) {
			nn_freemsg(buf);	/* its answer would go to the wrong socket */
			continue;
		}
		if (direct) {
			hdr[0] |= DIRECT_MARK;
			m->direct_requests++;
		}
		if (!serving(m))
			hold(m, hdr, hdrlen, buf, (size_t)n, now);
		else
			handle(m, hdr, hdrlen, buf, (size_t)n, now);
		nn_freemsg(buf);
	}
}

static void
on_request(int fd, short ev, void *arg)
{
	struct master *m = arg;

	(void)fd;
	(void)ev;
	recv_requests(m, m->s, 0);
}

/* A request of another node's proxy over the master link: as one through the proxy. */
static void
on_mlink_req(void *arg, const unsigned char *hdr, size_t hdrlen, const void *buf, size_t len)
{
	struct master *m = arg;
	msec_t now = clock_mono_ms();

	if (!serving(m))
		hold(m, hdr, hdrlen, buf, len, now);
	else
		handle(m, hdr, hdrlen, buf, len, now);
}

/* A local client's request on the direct socket: as one through the proxy. */
static void
on_direct(int fd, short ev, void *arg)
{
	struct master *m = arg;

	(void)fd;
	(void)ev;
	recv_requests(m, m->direct, 1);
}

/*
 * The direct socket (SOCK_MASTER_DIRECT in the run dir) for local clients,
 * next to the proxy, when singletond runs us as the master: a tool socket,
 * as the proxy's. It adds a way in, not a decision: every request is
 * handled as one from the proxy, and what may be answered is still decided
 * by our epoch and the replica set's acknowledgements (doc/PROTOCOL.md).
 * AKC_MASTER_DIRECT=0 (bench/) and --listen leave it out; a failed bind only
 * costs the clients their shortcut.
 */
static void
open_direct(struct master *m, const char *sgname)
{
	m->direct = -1;
	if (getenv("AKC_SINGLETON_ENDPOINT") == NULL || strcmp(sgname, "master") != 0 ||
	    !sock_native(m->s) || !env_flag("AKC_MASTER_DIRECT", 1))
		return;
	config_ipc_path(&m->cfg, SOCK_MASTER_DIRECT, m->direct_path, sizeof(m->direct_path));
	if ((m->direct = sock_bind_raw(NN_REP, m->direct_path, REQ_MAX)) < 0 ||
	    !sock_native(m->direct)) {
		if (m->direct >= 0)
			sock_close(m->direct);
		m->direct = -1;
		log_warnx("no direct socket for local clients at '%s': they go through the proxy",
		    m->direct_path + 6);
		return;
	}
	loop_watch(m->loop, sock_rcvfd(m->direct), POLLIN, on_direct, m);
	log_info("local clients: direct socket at '%s'", m->direct_path + 6);
}

static void
close_direct(struct master *m)
{
	if (m->direct < 0)
		return;
	loop_unwatch(m->loop, sock_rcvfd(m->direct));
	sock_close(m->direct);
	m->direct = -1;
	(void)unlink(m->direct_path + 6);
}

static void
on_repl(int fd, short ev, void *arg)
{
	struct master *m = arg;

	(void)fd;
	(void)ev;
	repl_receive(&m->r, clock_mono_ms());
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
	struct master *m = arg;
	const cJSON *it, *sev;
	cJSON *evs = cJSON_CreateArray(), *out, *ev;
	long n[MERGE_WHATS], events = cJSON_GetArraySize(items);
	uint64_t ep, maxep = 0;

	cJSON_ArrayForEach(it, items) {
		sev = cJSON_GetObjectItemCaseSensitive(it, "ev");
		if (json_u64(sev, "ep", &ep) == 0 && ep > maxep)
			maxep = ep;
		if (sev != NULL)
			cJSON_AddItemReferenceToArray(evs, (cJSON *)sev);
		else
			cJSON_AddItemToArray(evs, cJSON_CreateNull());	/* counted as malformed */
	}
	out = work_merge(&m->w, evs, clock_wall_ms(), n);
	while ((ev = cJSON_DetachItemFromArray(out, 0)) != NULL)
		record(m, ev);
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
	m->bad += (uint64_t)n[MERGE_BAD];
}

/* After a recovery: what this node's journal kept aside is merged, then dropped once committed. */
static void
merge_own(struct master *m)
{
	char src[CONF_NAME_MAX + CONF_ADDR_MAX + 16];
	uint64_t from = m->j.o_first, last, upto = 0;

	snprintf(src, sizeof(src), "%s (%s, this node)", m->cfg.address, m->cfg.name);
	while (from < m->j.o_next) {
		cJSON *items = cJSON_CreateArray();

		if ((last = journal_salvage_read(&m->j, from, 512 * 1024, items)) == 0) {
			cJSON_Delete(items);
			break;
		}
		merge(m, items, src);
		cJSON_Delete(items);
		upto = last;
		from = last + 1;
	}
	if (upto != 0)
		repl_own_merged(&m->r, upto, m->j.seq);
}

/* ---- time ---- */

static void
tick(struct master *m, msec_t now)
{
	int i;

	/* long polls that found nothing */
	for (i = 0; i < m->npark; ) {
		if (m->park[i].until <= now) {
			send_later(m, m->park[i].hdr, m->park[i].hdrlen, no_job(m,
			    m->park[i].worker, m->park[i].max));
			m->park[i] = m->park[--m->npark];
		} else
			i++;
	}
	policy_tick(&m->p, now, clock_wall_ms());
}

/* ---- long polls ---- */

/* The waiters taken last (waiters.h): answered with need, the seq their answers rest on. */
static void
answer_taken(struct master *m, int k, uint64_t need)
{
	struct waiter *w = m->wt.w + m->wt.n;
	int i, n;

	for (i = 0; i < k; i++)
		if (w[i].kind == WAIT_RESULTS)
			send_at(m, w[i].hdr, w[i].hdrlen, results_answer(m, w[i].since,
			    w[i].max, &n), need);
		else
			send_at(m, w[i].hdr, w[i].hdrlen, status_of(m, w[i].id), need);
}

/*
 * Wakes the long polls that the result lines committed since the last call
 * (seq in (wake_seen, cp]) answer: a status waiter for a job among them,
 * a results waiter asking from before one of them. Their answers rest on
 * what is committed, so they go now, not after what is journaled meanwhile.
 * Nothing is told before our epoch marker is committed (see send_later).
 */
static void
wake(struct master *m, uint64_t cp)
{
	cJSON *arr, *line;
	uint64_t from = m->wake_seen, hi = 0, last;
	long seq;
	int k, more = 1;

	if (cp <= m->wake_seen || cp < m->epoch_seq)
		return;
	while (m->wt.n > 0 && more && from < cp) {
		arr = cJSON_CreateArray();
		last = journal_results(&m->j, from, 256, arr);
		more = cJSON_GetArraySize(arr) == 256;
		cJSON_ArrayForEach(line, arr) {
			if (json_int(line, "seq", 0, 1L << 53, &seq) < 0)
				continue;
			if ((uint64_t)seq > cp) {
				more = 0;
				break;
			}
			hi = (uint64_t)seq;
			if (m->wt.nstatus > 0 && json_str(line, "id") != NULL &&
			    (k = waiters_take_status(&m->wt, json_str(line, "id"))) > 0)
				answer_taken(m, k, cp);
		}
		cJSON_Delete(arr);
		from = last;
	}
	m->wake_seen = cp;
	if (hi > 0 && (k = waiters_take_results(&m->wt, hi)) > 0)
		answer_taken(m, k, cp);
}

/*
 * For tests only: when the file AKC_TEST_CRASH_BEFORE_SYNC names exists, it
 * is removed and the master is killed (SIGKILL) after its batch went to the
 * standbys and before its own sync (t/4019-overlap.bats).
 */
static void
crash_point(struct master *m)
{
	const char *f = getenv("AKC_TEST_CRASH_BEFORE_SYNC");

	if (f == NULL || m->j.nbatch == 0 || unlink(f) < 0)
		return;
	log_warnx("%s: killed after sending events %llu-%llu, before syncing them (a test)", f,
	    (unsigned long long)m->j.durable + 1, (unsigned long long)m->j.seq);
	usleep(300000);		/* a slow disk: what was sent (nanomsg's thread too) arrives */
	raise(SIGKILL);
}

/*
 * Before our own sync: the answers whose events are committed already (a
 * job's, which waits only for its request's own events: send_jobs; one
 * that waited for an earlier batch) go now, the master link's with them,
 * instead of after a sync that is not theirs. The batch went to the
 * standbys first, so their syncs start before these sends.
 */
static void
answer_committed(struct master *m)
{
	uint64_t cp;
	int i, k, sent = 0;

	if (m->nrep == 0)
		return;
	cp = repl_commit_point(&m->r);
	for (i = k = 0; i < m->nrep; i++)
		if (m->rep[i].need <= cp) {
			send_now(m, m->rep[i].hdr, m->rep[i].hdrlen, m->rep[i].body);
			sent++;
		} else
			m->rep[k++] = m->rep[i];
	m->nrep = k;
	if (sent > 0)
		mlink_flush(m->ml);
}

/*
 * Whether this turn's sync waits: the master's sync blocks its loop (one
 * thread, LevelDB), so a batch synced while the acks of the batch before
 * are on their way holds those acks, and every answer they release, for
 * the whole sync: a job's completed event journaled just after its
 * accepted one was synced here made the accepted's ack (and the
 * submitter's answer) wait 0.4-0.5 ms more at the median (bench/README.md,
 * lat3). So while events durable here wait for a standby's ack (the
 * commit point below our durable end), the next sync waits for it, at
 * most RC_SYNC_WAIT ms after the first turn that put it off; the batch
 * went to the standbys already when the window allowed. Nothing is
 * answered earlier for it: answers still wait for their commit.
 */
static int
defer_sync(struct master *m, msec_t now)
{
	int started, wait;

	if (!m->defer)
		return 0;
	wait = rc_sync_wait(m->j.nbatch, repl_commit_point(&m->r), m->j.durable, now,
	    &m->defer_until, &started);
	m->deferred += (uint64_t)started;
	return wait;
}

static void
commit_and_answer(struct master *m, msec_t now)
{
	char err[512];
	uint64_t cp;
	int i, k, defer = 0;

	repl_trace_batch(&m->r);
	/*
	 * The batch goes to the standbys before it is synced here, so that
	 * their syncs overlap ours (a recovery first syncs what it stored).
	 * A standby may then hold events this node never made durable: none
	 * was acknowledged, and a recovery takes them or keeps them aside to
	 * merge (doc/PROTOCOL.md, "Journal replication").
	 */
	if (!m->r.recovering && !m->r.serial) {
		repl_pump(&m->r, now);
		answer_committed(m);
		/* the acks before it come first; the loop wakes at defer_until */
		defer = defer_sync(m, now);
		if (!defer)
			crash_point(m);
	}
	if (!defer && journal_commit(&m->j, err, sizeof(err)) < 0)
		fatalx("%s: stopping without answering (nothing unsynced was acknowledged)", err);
	repl_trace_synced(&m->r);
	/* what waited for this disk (salvage acks, a recovery's next step), and a serial send */
	repl_pump(&m->r, now);
	/* answers go once their events are durable here and on enough standbys */
	cp = repl_commit_point(&m->r);
	wake(m, cp);
	/* long polls whose wait ended: what there is now, once it is committed */
	if ((k = waiters_take_expired(&m->wt, now)) > 0)
		answer_taken(m, k, m->j.seq);
	for (i = k = 0; i < m->nrep; i++)
		if (m->rep[i].need <= cp)
			send_now(m, m->rep[i].hdr, m->rep[i].hdrlen, m->rep[i].body);
		else if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m->rep[i].body, "waiting")) &&
		    waiting_now(m, m->rep[i].body, now))	/* akc-queue */
			send_now(m, m->rep[i].hdr, m->rep[i].hdrlen, m->rep[i].body);
		else if (now - m->rep[i].at >= STALL_ANSWER)
			answer_stalled(m, &m->rep[i], now);
		else
			m->rep[k++] = m->rep[i];
	m->nrep = k;
	if (m->r.recovering)
		return;
	/* not over a batch whose sync was put off: the snapshot covers only what is stored */
	if (m->j.nbatch == 0 && policy_snapshot_due(m->w.seq - m->j.snap_seq, m->snap_jobs,
	    m->cfg.snapshot_every)) {
		cJSON *snap = work_snapshot(&m->w);

		json_add_u64(snap, "ep", journal_epoch_of(&m->j, m->w.seq));

		/*
		 * A failed write is final (journal.c, write_failed): every later
		 * one is refused, so an idle master would run on as the master,
		 * unable to write, and log the refusal at every turn. It stops
		 * now, as a failed commit stops it; singletond starts it again
		 * and the open drops the torn record at the log's end.
		 */
		if (journal_snapshot(&m->j, m->w.seq, snap, err, sizeof(err)) < 0)
			fatalx("%s: stopping (a failed write of the journal is final)", err);
		else
			log_debug("snapshot at event %llu", (unsigned long long)m->w.seq);
		m->snap_jobs = (long)m->w.n;
		cJSON_Delete(snap);
	}
}

/* ---- replay ---- */

static int
on_snapshot(const cJSON *snap, void *arg, char *err, size_t errlen)
{
	struct master *m = arg;

	if (work_restore(&m->w, snap, err, errlen) < 0)
		return -1;
	m->snap_jobs = (long)m->w.n;
	return 0;
}

static int
on_event(uint64_t seq, const cJSON *ev, void *arg, char *err, size_t errlen)
{
	struct master *m = arg;

	return work_apply(&m->w, seq, ev, err, errlen);
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
recovered(struct master *m, const char *dir, msec_t t0)
{
	char err[1024];
	cJSON *ev;

	if (m->r.changed || m->j.seq != m->w.seq) {
		work_free(&m->w);
		work_init(&m->w);
		m->snap_jobs = 0;
		if (journal_replay(&m->j, on_snapshot, on_event, m, err, sizeof(err)) < 0) {
			log_errx("%s", err);
			log_errx("refusing to start rather than lose events; see master(8), RECOVERY");
			return -1;
		}
	}
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "e", EV_EPOCH);
	record(m, ev);
	m->epoch_seq = m->j.seq;	/* nothing is woken before our marker is committed */
	m->wake_seen = repl_commit_point(&m->r);
	{
		/* the grace counts from here */
		struct policy_conf pc = { .max_attempts = m->cfg.max_attempts,
		    .work_timeout = m->cfg.work_timeout, .timeout_grace = TIMEOUT_GRACE,
		    .keep_finished = m->cfg.keep_finished, .max_pending = m->cfg.max_pending,
		    .max_payload = m->cfg.max_payload, .worker_gone = WORKER_GONE,
		    .start_grace = GRACE };

		policy_init(&m->p, &pc, &m->w, emit, m, clock_mono_ms());
	}
	if (m->j.o_first < m->j.o_next)
		merge_own(m);
	policy_recall_kills(&m->p, clock_wall_ms());
	daemon_notify("READY=1");	/* it serves now */
	log_info("journal %s: replayed to event %llu in %lldms (snapshot at %llu): "
	    "%ld pending, %ld running, %ld done, %ld failed", dir,
	    (unsigned long long)m->w.seq, (long long)(clock_mono_ms() - t0),
	    (unsigned long long)m->j.snap_seq, m->w.npending, m->w.nrunning, m->w.ndone,
	    m->w.nfailed);
	return 0;
}

/*
 * Opens the journal, replays it, takes a new epoch from the replica set and
 * binds the request socket (before the recovery: akc-queue says what it
 * waits for, the rest is held); the recovery goes on in the loop. Returns
 * the exit code on failure, -1 on success.
 */
static int
master_start(struct master *m, const char *dir, const char *sgname, const char *listen)
{
	char err[1024];

	if (sodium_init() < 0)
		fatalx("libsodium cannot start");
	m->t0 = clock_mono_ms();
	/* jobs to workers before their own events commit (send_jobs); =0: after, as before */
	m->early = env_flag("AKC_EARLY_JOBS", 1);
	if (!m->early)
		log_info("AKC_EARLY_JOBS=0: jobs go to workers once their events are committed");
	m->defer = env_flag("AKC_SYNC_DEFER", 1);
	if (!m->defer)
		log_info("AKC_SYNC_DEFER=0: a sync does not wait for the acks of the one before");
	work_init(&m->w);
	m->snap_jobs = 0;
	if (journal_open(&m->j, dir, err, sizeof(err)) < 0 ||
	    journal_replay(&m->j, on_snapshot, on_event, m, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		log_errx("refusing to start rather than lose events; see master(8), RECOVERY");
		return 1;
	}
	/* a new epoch, promised by a majority of the replica set; the best log copied here */
	if (repl_open(&m->r, &m->cfg, sgname, &m->j, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	m->r.merge = merge;
	m->r.merge_arg = m;
	if (m->r.c.nset == 0)
		log_warnx("no replica set ([master] replica-nodes, or [cluster] seed-nodes): a recovery "
		    "waits for every standby, and an acknowledged event survives a split only "
		    "with [master] replicas = the number of standbys");
	else if (!m->r.c.self_in_set)
		log_info("this node (%s) is not in the replica set: it does not count towards a "
		    "majority of it", m->cfg.address);
	signal(SIGPIPE, SIG_IGN);
	m->loop = loop_new();
	loop_catch(m->loop, SIGTERM);
	loop_catch(m->loop, SIGINT);
	loop_catch(m->loop, SIGHUP);
	repl_link_start(&m->r, m->loop);	/* the journal link to the standbys (link.h) */
	waiters_init(&m->wt);
	if ((m->s = sock_bind_raw(NN_REP, listen, REQ_MAX)) < 0)
		return 1;
	loop_watch(m->loop, sock_rcvfd(m->s), POLLIN, on_request, m);
	open_direct(m, sgname);
	/* other nodes' proxies straight to us, as singletond's master (doc/PROTOCOL.md) */
	if (getenv("AKC_SINGLETON_ENDPOINT") != NULL && strcmp(sgname, "master") == 0 &&
	    strcmp(listen, getenv("AKC_SINGLETON_ENDPOINT")) == 0)
		m->ml = mlink_open(m->loop, &m->cfg, sgname, on_mlink_req, m);
	loop_watch(m->loop, repl_fd(&m->r), POLLIN, on_repl, m);
	if (repl_recover(&m->r, clock_mono_ms(), err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	return -1;
}

/* When the loop must look again: replication, long polls, the tick, a delayed job due. */
static msec_t
next_deadline(struct master *m, msec_t now)
{
	msec_t d = repl_next_deadline(&m->r), wd = waiters_next_deadline(&m->wt);
	msec_t t = m->r.recovering ? now + TICK : m->next_tick;
	int64_t ready = work_next_ready_at(&m->w);

	if (wd >= 0 && (d < 0 || wd < d))
		d = wd;
	if ((wd = mlink_deadline(m->ml)) >= 0 && (d < 0 || wd < d))
		d = wd;
	if (m->defer_until > 0 && (d < 0 || m->defer_until < d))
		d = m->defer_until;
	if (d < 0 || d > t)
		d = t;
	/* a delayed job due before then goes to a parked worker on time */
	if (!m->r.recovering && ready > 0 && m->npark > 0 &&
	    now + (ready - clock_wall_ms()) < d)
		d = now + (ready - clock_wall_ms());
	return d;
}

/* The loop, until a signal (0) or a failure, or a newer master (1). */
static int
master_run(struct master *m, const char *dir)
{
	unsigned long sigs;
	msec_t now;

	for (;;) {
		sigs = loop_signals(m->loop);
		if (sigs & ((1UL << SIGTERM) | (1UL << SIGINT))) {
			log_info("stopping on signal");
			return 0;
		}
		now = clock_mono_ms();
		if (m->r.failed) {
			log_errx("%s", m->r.err);
			return 1;
		}
		if (m->r.recovered) {
			m->r.recovered = 0;
			if (recovered(m, dir, m->t0) < 0)
				return 1;
		}
		if (!m->r.recovering && now >= m->next_tick) {
			tick(m, now);
			m->next_tick = now + TICK;
		}
		held_tick(m, now);
		mlink_tick(m->ml, now);
		if (!m->r.recovering)
			dispatch(m);
		commit_and_answer(m, now);
		if (m->r.deposed) {
			log_warnx("stopping: a newer master took over");
			return 1;
		}
		if (m->r.recovered || m->r.failed)
			continue;
		/* the turn's answers to other nodes' proxies: one message each */
		mlink_flush(m->ml);
		loop_poll(m->loop, next_deadline(m, now));
	}
}

/* A clean stop: what is journaled is committed and answered first. */
static void
master_finish(struct master *m)
{
	m->defer = 0;		/* a clean stop syncs what is journaled, now */
	if (!m->r.recovering)
		commit_and_answer(m, clock_mono_ms());
	journal_close(&m->j);
	waiters_free(&m->wt);
	policy_free(&m->p);
	work_free(&m->w);
	close_direct(m);
	mlink_free(m->ml);
	m->ml = NULL;
	sock_close(m->s);
}

int
main(int argc, char **argv)
{
	static struct master master;
	struct master *m = &master;
	struct daemon_opts o;
	const char *sgname = getenv("AKC_SINGLETON") ? getenv("AKC_SINGLETON") : "master";
	struct flags fl = { getenv("AKC_SINGLETON_ENDPOINT"), 0, 0 };
	char dir[600], failed[600], err[1024];
	int rc;

	daemon_setup_ext(argc, argv, "master", USAGE, 0, longopts, on_flag, &fl, &o, &m->cfg);
	if (m->cfg.state_dir[0] == '\0') {
		log_errx("%s: [node] state-dir is required", m->cfg.path);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%.*s/master", (int)sizeof(m->cfg.state_dir), m->cfg.state_dir);
	if (fl.repair) {
		if (journal_repair(dir, err, sizeof(err)) < 0) {
			log_errx("%s", err);
			return 1;
		}
		printf("journal %s repaired: start the master to see what it replays\n", dir);
		return 0;
	}
	if (!fl.standby && getenv("AKC_STANDBY") == NULL && fl.listen == NULL) {
		log_errx("no endpoint: run it under singletond -s master "
		    "(AKC_SINGLETON_ENDPOINT) or give --listen ADDR");
		return 2;
	}
	if (daemon_mkdir_p(dir, 0700, 0700, failed, sizeof(failed)) < 0) {
		log_err("cannot create %s", failed);
		return 1;
	}
	if (fl.standby || getenv("AKC_STANDBY") != NULL)
		return repl_standby_main(&m->cfg, sgname, dir);
	if ((rc = master_start(m, dir, sgname, fl.listen)) >= 0)
		return rc;
	if ((rc = master_run(m, dir)) == 0)
		master_finish(m);
	return rc;
}
