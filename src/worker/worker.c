/*
 * worker.c: pulls jobs from the master through the local proxy of singleton
 * "master", runs each (job.c: a shell per job; or slot.c with --pipe: one
 * long-running command per slot) and reports how it went. One poll loop
 * over the request sockets, the commands' pipes and SIGCHLD; no threads.
 *
 * How it talks to the master (doc/PROTOCOL.md, "Work"):
 *
 * 1. Every exchange is one request and its answer. A channel is a slot
 *    for one request out; all channels share one raw REQ socket
 *    (lib/sps.c: one unix connection, read in this loop, no nanomsg
 *    thread) to the master's own socket when it runs on this node
 *    (singleton.master.direct, tried at every connect), else to the
 *    proxy; each request has an id of its own that its answer carries
 *    back, and an answer whose id no channel waits for is dropped. There are
 *    min(2 * concurrency + 2, CHAN_MAX) channels, so that reports go out
 *    side by side with the requests for work, none waiting for the one
 *    before: an idle channel sends, in this order, a pending report
 *    (done/failed), a request for work when a slot is free (or about to be,
 *    6.) and not yet asked for, or a keep-alive register.
 * 2. A request for work is a long poll ("wait" 1 s): with no job the master
 *    answers null after a second and the slot asks again at once.
 * 3. A lost connection (singletond restarted, the master stopped) loses every
 *    request out on it: they all go again at once, on a new connection
 *    (the next send connects; while the proxy is not there, the sends back
 *    off). An answer that does not come within ANSWER_WITHIN (the proxy
 *    holds requests while the master moves, up to its request-timeout)
 *    frees its channel, its id forgotten; the message is sent again after
 *    a backoff (reports) or dropped (a request for work: its token goes
 *    with the next ask, 11.). So is an answer from the proxy instead of
 *    the master. One warning per outage.
 * 4. Reports are sent until the master answers ok, or refuses them (code 1,
 *    a stale attempt: another worker has it now). A report can thus arrive
 *    twice; the master answers ok again. Delivery is at-least-once.
 * 5. The master drops a worker it has not heard from for some seconds:
 *    while nothing else is out, "register" goes out every KEEPALIVE (1 s),
 *    so that a worker killed with SIGKILL is noticed soon.
 * 6. Prefetch: once the jobs of this worker are seen to be short (a moving
 *    average under PREFETCH_BELOW), a busy slot whose job has run
 *    PREFETCH_AFTER asks for its next job while it runs the current one,
 *    so that it never idles for a round trip; the job waits in a local
 *    queue (its deadline counts from when the master gave it). A job that
 *    ends sooner needs no prefetch: its report asks for the next (9.).
 *    Jobs shorter on average than half an ask's round trip (both moving
 *    averages) let each slot have a second ask out: one ask per slot
 *    would leave it idle most of the time. Long jobs are not prefetched: they would make a
 *    job wait here that another worker could run.
 * 7. Any answer may carry "cancel": [ids] (answer.c): those jobs are
 *    killed (in --pipe mode, the slot's command with them) or dropped from
 *    the local queue, and nothing more is sent for them.
 * 8. SIGTERM/SIGINT: the running jobs are killed at once, the reports of
 *    jobs that finished before are sent, then "unregister" (short
 *    deadline), so that the master gives our jobs to others at once. A
 *    master that does not know "unregister" gets a "failed" report
 *    ("worker stopped") for each of them instead.
 * 9. A report goes with our next request in it ("next": true and the
 *    wait) when a request for work is wanted (1., 6.): the master answers
 *    it as a request, with a job or after its long poll, so that a job
 *    costs one message and one committed round trip, not two. A master
 *    that does not know "next" answers without "job": from then on the
 *    requests go alone. A job so given waits in the local queue as a
 *    prefetched one (6.); the master counts it running on us, so that if
 *    we die it is retried with the job we were running.
 * 10. Several at once: a request for work asks for a job for each free
 *    slot not yet asked for ("max"; 6.'s prefetches ask for one each) and
 *    its answer brings as many as are ready ("jobs", started in one commit); the reports ready
 *    when a channel is free go in one "report" (REPORT_MAX at most, within
 *    the proxy's bound), which asks for the jobs wanted too (9.). A master
 *    that answers "max" without "jobs" gets a request per job from then
 *    on; one that refuses "report" (code 2: an unknown op) gets the
 *    reports one by one, as done and failed. The master takes each result
 *    of a report on its own and says which it refused.
 * 11. Every ask (a request for work, a report's next) carries a token
 *    ("ask"). An ask whose answer was lost (3.: with the connection, or
 *    past ANSWER_WITHIN) gives its token to the next ask, and the master
 *    answers that one with the jobs it gave the lost answer, which still
 *    run on us in its view, instead of leaving them to its work-timeout;
 *    it also drops a copy of the ask still parked (a long poll whose
 *    answer would go to the lost connection). A master that does not
 *    know "ask" ignores it: the jobs then wait for work-timeout.
 * 12. The master's own socket is tried only at a connect (1.): a master
 *    that moves to this node while we are on the proxy is found every
 *    DIRECT_EVERY, once its socket answers (not a file a killed master
 *    left), and we connect again; what was out goes again at once, as
 *    after any lost connection (3., 11.).
 *
 * Weak points: a prefetched job (6) waits for as long as the job
 * before it runs, should that one be much longer than the average; a
 * job's background processes that leave its process group (setsid)
 * outlive it; if the worker is killed with SIGKILL its jobs' shells get
 * SIGKILL (PR_SET_PDEATHSIG), but not their children.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <sodium.h>

#include "b64.h"
#include "config.h"
#include "daemon.h"
#include "answer.h"
#include "job.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "slot.h"
#include "spawn.h"
#include "sock.h"
#include "xmalloc.h"

#define USAGE		"worker [-nqv] [-c FILE] [--exec CMD | --pipe CMD]"
#define ASK_WAIT	1000		/* ms the master may hold a request for work */
#define ANSWER_WITHIN	5000		/* ms: then the channel is free again, and a retry */
#define EMPTY_GAP	250		/* ms at least between two empty requests of a channel */
#define BACKOFF_MIN	100
#define BACKOFF_MAX	2000
#define KEEPALIVE	1000		/* the master drops workers silent for a few seconds */
#define DIRECT_EVERY	2000		/* ms: 12. */
#define STOP_UNREGISTER	2000		/* ms after a stop signal: unregister, reports sent or not */
#define STOP_GRACE	3000		/* ms after a stop signal: exit, whatever is left */
#define PREFETCH_BELOW	250		/* ms: jobs shorter than this on average are prefetched */
#define PREFETCH_AFTER	5		/* ms a job runs before its slot asks for the next alone */
#define CHAN_MAX	64		/* requests out at once */
#define PROXY_MAX	PROXY_MAX_BODY	/* singletond's bound on a proxied request */
#define REPORT_MAX	64		/* results in one "report" (10.) */
#define BATCH_MAX	256		/* jobs asked for in one message (the master's bound) */

struct report {
	struct report *next;
	char id[WORK_ID_MAX + 1];
	long attempt;
	cJSON *item;		/* {"id","attempt","result"} or {"id","attempt","why"[,"stderr"]} */
	size_t len;		/* its length printed */
	int out;		/* on a channel now */
};

/* CH_REPORT: one done/failed; CH_BATCH: a "report" of several (10.) */
enum chan_kind { CH_ASK, CH_REPORT, CH_BATCH, CH_REGISTER, CH_UNREGISTER };

/* A job given to us, not yet started (6.), or one we gave up at a stop (8.). */
struct queued {
	struct queued *next;
	char id[WORK_ID_MAX + 1];
	long attempt;
	msec_t timeout, deadline;	/* deadline 0: none */
	char *b64;		/* the payload as the master sent it */
};

struct chan {
	int busy;
	uint32_t rid;		/* its request's id (top bit set), while busy */
	enum chan_kind kind;
	struct report *reps[REPORT_MAX];	/* the reports out on it */
	int nreps;
	int asked;		/* jobs its message asks for (a request, or a report with next: 9.) */
	int several;		/* it asked with "max" or a report's "next": "jobs" answer (10.) */
	uint32_t ask;		/* the token of the ask it carries (11.); 0: none */
	msec_t sent, not_before;
};

struct worker {
	char mark[CONF_PATH_MAX + 32];	/* RUN-DIR/worker.PID.lock ("": none) */
	struct akc_config cfg;
	struct loop *loop;
	const char *exec;	/* a shell per job */
	const char *pipe;	/* or this command per slot (--pipe) */
	struct spawn_cmd sc;	/* the one of them in use, prepared */
	char id[WORK_ID_MAX + 1];
	char addr[CONF_PATH_MAX + 32];
	struct job *jobs;	/* the slots: a shell per job, */
	struct slot *slots;	/* or --pipe's commands */
	int njobs, running;
	struct queued *queue, *gave_up;	/* 6., 8. */
	int nqueued;
	msec_t avg;		/* moving average of job durations; -1: none yet */
	msec_t rtt;		/* moving average of asks answered with a job; -1: none yet */
	long bad_cancels;	/* malformed "cancel" lists */
	int no_prefetch;	/* AKC_WORKER_PREFETCH=0, for bench/ */
	int next_old;		/* 9. the master does not know "next" (or AKC_WORKER_NEXT=0) */
	int batch_old;		/* 10. the master does not answer "max" (or AKC_WORKER_BATCH=0) */
	int report_old;		/* 10. the master does not know "report" (or AKC_WORKER_BATCH=0) */
	unsigned long next_jobs;	/* jobs that came with a report's answer */
	struct chan ch[CHAN_MAX];
	int nch;
	int s, fd;		/* the raw REQ socket to the master (1.); -1 until opened */
	uint32_t rid;		/* the last request id given */
	unsigned long resets;	/* the socket's connections lost, as last seen */
	unsigned long resent;	/* requests sent again after a lost connection */
	msec_t next_direct;	/* 12. when to look for the master's own socket again */
	uint32_t ask_seq;	/* 11. the last ask token made */
	uint32_t lost[CHAN_MAX];	/* 11. tokens of asks whose answers were lost, to use again */
	int nlost;
	struct report *reports, *reports_tail;
	msec_t backoff, last_heard;
	int outage;		/* warned that the master cannot be reached */
	int refused;		/* warned that the master refuses our requests */
	int stopping;
	msec_t asks_until;	/* stopping: requests for work out then are waited for until */
	msec_t unregister_at;	/* stopping: unregister then at the latest */
	msec_t give_up_at;	/* stopping: exit then at the latest */
	int unregistered;	/* 0 not yet, 1 sent, 2 answered (or given up) */
};

/* ---- messages ---- */

static cJSON *
request(struct worker *w, const char *op)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddNumberToObject(r, "v", WORK_PROTO_VERSION);
	cJSON_AddStringToObject(r, "op", op);
	cJSON_AddStringToObject(r, "worker", w->id);
	return r;
}

/* A report's result: {"id","attempt"}, to which done adds "result", failed "why" and "stderr". */
static cJSON *
report_item(const char *id, long attempt)
{
	cJSON *it = cJSON_CreateObject();

	cJSON_AddStringToObject(it, "id", id);
	cJSON_AddNumberToObject(it, "attempt", (double)attempt);
	return it;
}

/* Its length printed (a report must fit the proxy's bound). */
static size_t
item_len(const cJSON *item)
{
	char *txt = json_print(item);
	size_t len = strlen(txt);

	cJSON_free(txt);
	return len;
}

static void
queue_report(struct worker *w, const char *id, long attempt, cJSON *item, size_t len)
{
	struct report *r = xcalloc(1, sizeof(*r));

	snprintf(r->id, sizeof(r->id), "%s", id);
	r->attempt = attempt;
	r->item = item;
	r->len = len;
	if (w->reports_tail != NULL)
		w->reports_tail->next = r;
	else
		w->reports = r;
	w->reports_tail = r;
}

static void
drop_report(struct worker *w, struct report *r)
{
	struct report **p;

	for (p = &w->reports; *p != NULL; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	w->reports_tail = NULL;
	for (p = &w->reports; *p != NULL; p = &(*p)->next)
		w->reports_tail = *p;
	cJSON_Delete(r->item);
	free(r);
}

/*
 * A report alone, as done or failed (a master that does not know
 * "report"), carrying our next request when next (9.). The caller frees
 * the text.
 */
static char *
report_text(struct worker *w, const struct report *r, int next, uint32_t ask)
{
	int done = cJSON_GetObjectItemCaseSensitive(r->item, "result") != NULL;
	cJSON *req = request(w, done ? WORK_OP_DONE : WORK_OP_FAILED), *f;
	char *txt;

	cJSON_ArrayForEach(f, r->item)
		cJSON_AddItemToObject(req, f->string, cJSON_Duplicate(f, 1));
	if (next) {
		cJSON_AddBoolToObject(req, "next", 1);
		cJSON_AddNumberToObject(req, "wait", ASK_WAIT);
		cJSON_AddNumberToObject(req, "ask", ask);
	}
	txt = json_print(req);
	cJSON_Delete(req);
	return txt;
}

/* A failed attempt's report carries the last lines of its stderr, if it wrote any. */
static void
report_failed(struct worker *w, const char *id, long attempt, const char *why, const char *tail)
{
	cJSON *it = report_item(id, attempt);

	cJSON_AddStringToObject(it, "why", why);
	if (tail != NULL && *tail != '\0')
		cJSON_AddStringToObject(it, "stderr", tail);
	log_debug("job %s attempt %ld failed: %s", id, attempt, why);
	queue_report(w, id, attempt, it, item_len(it));
}

static void
report_done(struct worker *w, const char *id, long attempt, const unsigned char *res, size_t rlen,
    msec_t took)
{
	cJSON *it = report_item(id, attempt);
	char *b64 = b64_encode(res, rlen);
	char why[128];
	size_t len;

	cJSON_AddStringToObject(it, "result", b64);
	free(b64);
	/* alone as a done, with the op, the worker and next: about 200 bytes more */
	len = item_len(it);
	if (len + 256 > PROXY_MAX) {
		cJSON_Delete(it);
		snprintf(why, sizeof(why), "result of %zu bytes too large for the master's proxy "
		    "(%zu bytes as base64, at most %d)", rlen, len, PROXY_MAX);
		report_failed(w, id, attempt, why, NULL);
		return;
	}
	log_debug("job %s attempt %ld done in %lldms (%zu bytes)", id, attempt,
	    (long long)took, rlen);
	queue_report(w, id, attempt, it, len);
}

/* 6. The moving average of how long jobs take, which decides prefetching. */
static void
took(struct worker *w, msec_t ms)
{
	w->avg = w->avg < 0 ? ms : (w->avg * 7 + ms) / 8;
}

/* 6. The moving average of how long an ask takes to bring a job. */
static void
ask_took(struct worker *w, msec_t ms)
{
	w->rtt = w->rtt < 0 ? ms : (w->rtt * 7 + ms) / 8;
}

/* ---- jobs ---- */

static struct queued *
queued_new(const char *id, long attempt, msec_t timeout, msec_t deadline, const char *b64)
{
	struct queued *q = xcalloc(1, sizeof(*q));

	if (b64 != NULL)
		q->b64 = xstrdup(b64);
	snprintf(q->id, sizeof(q->id), "%s", id);
	q->attempt = attempt;
	q->timeout = timeout;
	q->deadline = deadline;
	return q;
}

static void
queued_free(struct queued *q)
{
	free(q->b64);
	free(q);
}

/* 8. A job we stop without a report: unregister (or "failed", for an old master) covers it. */
static void
give_up(struct worker *w, const char *id, long attempt)
{
	struct queued *q = queued_new(id, attempt, 0, 0, NULL);

	q->next = w->gave_up;
	w->gave_up = q;
}

/* The command has exited: its result, or why it failed, goes to the master. */
static void
job_finish(struct worker *w, struct job *j, msec_t now)
{
	char why[128];

	if (j->cancelled)
		log_info("job %s attempt %ld cancelled by the master: killed", j->id, j->attempt);
	else if (j->stopped && w->stopping)
		give_up(w, j->id, j->attempt);
	else if (job_outcome(j, why, sizeof(why)) == 0)
		report_done(w, j->id, j->attempt, j->res, j->rlen, now - j->started);
	else
		report_failed(w, j->id, j->attempt, why, job_stderr_tail(j));
	took(w, now - j->started);
	job_free(j);
	w->running--;
}

/* A --pipe slot's job ended (slot.c). */
static void
slot_job_ended(struct slot *s, const unsigned char *res, size_t rlen, const char *why,
    const char *tail)
{
	struct worker *w = s->arg;
	msec_t now = clock_mono_ms();

	w->running--;
	took(w, now - s->started);
	if (w->stopping)
		give_up(w, s->id, s->attempt);
	else if (why == NULL)
		report_done(w, s->id, s->attempt, res, rlen, now - s->started);
	else
		report_failed(w, s->id, s->attempt, why, tail);
}

static void
reap(struct worker *w, msec_t now)
{
	pid_t pid;
	int status, i;

	/* also the leftovers of jobs, which come back to us (subreaper) */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; w->pipe == NULL && i < w->njobs; i++)
			if (w->jobs[i].used && w->jobs[i].pid == pid) {
				job_exited(&w->jobs[i], status);
				job_finish(w, &w->jobs[i], now);
				break;
			}
		for (i = 0; w->pipe != NULL && i < w->njobs; i++)
			if (slot_reaped(&w->slots[i], pid, status, now))
				break;
	}
}

/* Slots that can take a job now. */
static int
free_slots(struct worker *w, msec_t now)
{
	int i, n = 0;

	for (i = 0; i < w->njobs; i++)
		if (w->pipe != NULL ? slot_ready(&w->slots[i], now) : !w->jobs[i].used)
			n++;
	return n;
}

/* Starts q on a free shell slot; -1 if it could not (reported). */
static int
start_shell(struct worker *w, struct queued *q, msec_t now)
{
	char num[24], *env[4];
	char envid[WORK_ID_MAX + 16], envatt[48], envw[WORK_ID_MAX + 16];
	size_t len;
	struct job *j = NULL;
	int i;

	for (i = 0; i < w->njobs && j == NULL; i++)
		if (!w->jobs[i].used)
			j = &w->jobs[i];
	job_clear(j);
	snprintf(j->id, sizeof(j->id), "%s", q->id);
	j->attempt = q->attempt;
	j->timeout = q->timeout;
	j->deadline = q->deadline;
	j->used = 1;
	w->running++;
	/* checked when it came */
	j->payload = b64_decode_alloc(q->b64, &len);
	j->plen = len;
	snprintf(num, sizeof(num), "%ld", j->attempt);
	snprintf(envid, sizeof(envid), "AKC_WORK_ID=%s", j->id);
	snprintf(envatt, sizeof(envatt), "AKC_WORK_ATTEMPT=%s", num);
	snprintf(envw, sizeof(envw), "AKC_WORKER=%s", w->id);
	env[0] = envid;
	env[1] = envatt;
	env[2] = envw;
	env[3] = NULL;
	if (job_spawn(j, w->loop, &w->sc, env, now) < 0) {
		report_failed(w, j->id, j->attempt, "worker cannot start the command", NULL);
		job_free(j);
		w->running--;
		return -1;
	}
	log_debug("job %s attempt %ld started as pid %d (%zu bytes in)", j->id, j->attempt,
	    (int)j->pid, j->plen);
	return 0;
}

/*
 * --pipe: every slot's command dies at once, again and again. A job that
 * came for a request sent before that would wait here for nothing: its
 * attempt fails, saying why, so that another worker gets it.
 */
static void
fail_queued_if_broken(struct worker *w)
{
	struct queued *q;
	char why[160];
	int i;

	for (i = 0; i < w->njobs; i++)
		if (!slot_broken(&w->slots[i]))
			return;
	snprintf(why, sizeof(why), "pipe command keeps exiting at once (%s): no slot can run the job",
	    w->slots[0].last_exit);
	while ((q = w->queue) != NULL) {
		w->queue = q->next;
		w->nqueued--;
		log_warnx("job %s attempt %ld: %s", q->id, q->attempt, why);
		report_failed(w, q->id, q->attempt, why, NULL);
		queued_free(q);
	}
}

/* Starts queued jobs on the free slots, oldest first. */
static void
start_queued(struct worker *w, msec_t now)
{
	struct queued *q;
	int i;

	if (w->pipe != NULL && w->queue != NULL)
		fail_queued_if_broken(w);
	while (w->queue != NULL && !w->stopping && free_slots(w, now) > 0) {
		q = w->queue;
		w->queue = q->next;
		w->nqueued--;
		if (w->pipe == NULL)
			(void)start_shell(w, q, now);
		else
			for (i = 0; i < w->njobs; i++)
				if (slot_ready(&w->slots[i], now)) {
					w->running++;
					slot_give(&w->slots[i], q->id, q->attempt, q->b64, q->timeout,
					    q->deadline, now);
					log_debug("job %s attempt %ld given to slot %d", q->id,
					    q->attempt, i + 1);
					break;
				}
		queued_free(q);
	}
}

/* A job from the master's answer goes to the local queue; a malformed one is reported or dropped. */
static void
take_job(struct worker *w, const cJSON *job, msec_t now)
{
	const char *id = json_str(job, "id"), *b64 = json_str(job, "payload");
	long attempt, timeout = w->cfg.work_timeout;
	size_t len;
	unsigned char *bin;
	struct queued *q, **p;

	if (id == NULL || !work_id_valid(id) || json_int(job, "attempt", 1, 1L << 30, &attempt) < 0) {
		log_warnx("malformed job from the master: dropped");
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(job, "timeout_ms") != NULL &&
	    json_int(job, "timeout_ms", 0, 1L << 40, &timeout) < 0) {
		log_warnx("job %s: bad timeout_ms from the master: using work-timeout", id);
		timeout = w->cfg.work_timeout;
	}
	if (b64 == NULL || (bin = b64_decode_alloc(b64, &len)) == NULL) {
		log_warnx("job %s: payload is not base64", id);
		report_failed(w, id, attempt, "payload is not base64", NULL);
		return;
	}
	free(bin);
	if (w->stopping) {
		give_up(w, id, attempt);	/* 8. asked for before the signal */
		return;
	}
	q = queued_new(id, attempt, timeout, timeout > 0 ? now + timeout : 0, b64);
	for (p = &w->queue; *p != NULL; p = &(*p)->next)
		;
	*p = q;
	w->nqueued++;
	start_queued(w, now);
}

static void
jobs_tick(struct worker *w, msec_t now)
{
	int i;

	for (i = 0; i < w->njobs; i++) {
		if (w->pipe != NULL) {
			slot_tick(&w->slots[i], now);
			continue;
		}
		if (w->jobs[i].used && job_tick(&w->jobs[i], now))
			log_debug("job %s attempt %ld: still running after %lldms: killed",
			    w->jobs[i].id, w->jobs[i].attempt, (long long)w->jobs[i].timeout);
	}
	start_queued(w, now);
}

struct cancel_arg {
	struct worker *w;
	msec_t now;
};

/* 7. The master cancelled job id: kill it, or drop it, and say nothing more about it. */
static void
cancel_one(const char *id, void *arg)
{
	struct worker *w = ((struct cancel_arg *)arg)->w;
	msec_t now = ((struct cancel_arg *)arg)->now;
	struct queued **p, *q;
	struct report *r, *next;
	int i;

	for (i = 0; i < w->njobs; i++) {
		if (w->pipe != NULL && w->slots[i].busy && strcmp(w->slots[i].id, id) == 0) {
			slot_cancel(&w->slots[i], now);
			w->running--;
		} else if (w->pipe == NULL && w->jobs[i].used && w->jobs[i].pid > 0 &&
		    strcmp(w->jobs[i].id, id) == 0)
			job_cancel(&w->jobs[i]);
	}
	for (p = &w->queue; *p != NULL; ) {
		if (strcmp((*p)->id, id) == 0) {
			q = *p;
			*p = q->next;
			w->nqueued--;
			log_info("job %s attempt %ld cancelled by the master before it started",
			    q->id, q->attempt);
			queued_free(q);
		} else
			p = &(*p)->next;
	}
	for (r = w->reports; r != NULL; r = next) {
		next = r->next;
		if (!r->out && strcmp(r->id, id) == 0)
			drop_report(w, r);
	}
}

static void
cancels(struct worker *w, const cJSON *rsp, msec_t now)
{
	struct cancel_arg ca = { w, now };

	if (answer_cancels(rsp, cancel_one, &ca) < 0) {
		if (w->bad_cancels++ == 0)
			log_warnx("malformed \"cancel\" list from the master: its bad entries ignored");
	}
}

/* ---- channels to the master ---- */

static void on_answer(int fd, short ev, void *arg);
static void check_resets(struct worker *w);
static int requests_lost(struct worker *w);

/* The socket all channels share (1.): opened once; it connects on a send. */
static int
sock_open(struct worker *w)
{
	if (w->s >= 0)
		return 0;
	if ((w->s = sock_connect_raw(NN_REQ, w->addr, 2 * PROXY_MAX, 1000)) < 0)
		return -1;
	w->fd = sock_rcvfd(w->s);
	w->resets = sock_resets(w->s);
	/* the master's own socket first when it runs here (AKC_MASTER_DIRECT=0: not) */
	if (env_flag("AKC_MASTER_DIRECT", 1)) {
		char direct[CONF_PATH_MAX + 32];

		config_ipc_path(&w->cfg, SOCK_MASTER_DIRECT, direct, sizeof(direct));
		(void)sock_req_prefer(w->s, direct);
	}
	loop_watch(w->loop, w->fd, POLLIN, on_answer, w);
	return 0;
}

static void
sock_shut(struct worker *w)
{
	if (w->s < 0)
		return;
	loop_unwatch(w->loop, w->fd);
	sock_close(w->s);
	w->s = w->fd = -1;
}

static uint32_t
next_rid(struct worker *w)
{
	w->rid = (w->rid + 1) & 0x7fffffff;
	return w->rid | 0x80000000u;
}

/* The channel waits a little longer after each failure in a row, with jitter. */
static void
back_off(struct worker *w, struct chan *c, msec_t now)
{
	w->backoff = w->backoff ? w->backoff * 2 : BACKOFF_MIN;
	if (w->backoff > BACKOFF_MAX)
		w->backoff = BACKOFF_MAX;
	c->not_before = now + w->backoff / 2 +
	    (msec_t)randombytes_uniform((uint32_t)w->backoff / 2 + 1);
}

/* The master could not be reached: say so once per outage, back off. */
static void
outage(struct worker *w, struct chan *c, const char *why, msec_t now)
{
	if (!w->outage)
		log_warnx("master not reachable through '%s': %s; retrying", w->addr + 6, why);
	w->outage = 1;
	back_off(w, c, now);
}

static void
heard(struct worker *w, msec_t now)
{
	if (w->outage)
		log_notice("master reachable again");
	w->outage = 0;
	w->backoff = 0;
	w->last_heard = now;
}

/* The channel's request is over (answered or given up): the channel is idle. */
static void
chan_idle(struct chan *c)
{
	int i;

	for (i = 0; i < c->nreps; i++)
		c->reps[i]->out = 0;
	c->nreps = 0;
	c->busy = 0;
	c->asked = 0;
	c->several = 0;
	c->ask = 0;
}

/* 11. The token for an ask: one whose answer was lost, else a new one. */
static uint32_t
ask_take(struct worker *w)
{
	if (w->nlost > 0)
		return w->lost[--w->nlost];
	w->ask_seq = w->ask_seq % 0xfffffffeu + 1;
	return w->ask_seq;
}

/* 11. An ask's token back for the next ask: not sent, or its answer lost. */
static void
ask_give_back(struct worker *w, uint32_t ask)
{
	if (ask != 0 && w->nlost < CHAN_MAX)
		w->lost[w->nlost++] = ask;
}

/* Sends txt on c; the reports it carries (reps, n) are out until it is answered. */
static void
chan_send(struct worker *w, struct chan *c, enum chan_kind kind, struct report **reps, int n,
    const char *txt, msec_t now)
{
	unsigned char hdr[4];
	uint32_t rid;
	int i;

	if (sock_open(w) < 0) {
		outage(w, c, "cannot open a socket", now);
		return;
	}
	rid = next_rid(w);
	hdr[0] = (unsigned char)(rid >> 24);
	hdr[1] = (unsigned char)(rid >> 16);
	hdr[2] = (unsigned char)(rid >> 8);
	hdr[3] = (unsigned char)rid;
	if (sock_send_raw(w->s, hdr, sizeof(hdr), txt, strlen(txt)) < 0) {
		outage(w, c, "no connection to the proxy", now);
		return;
	}
	c->rid = rid;
	c->busy = 1;
	c->kind = kind;
	c->sent = now;
	for (i = 0; i < n; i++) {
		c->reps[i] = reps[i];
		reps[i]->out = 1;
	}
	c->nreps = n;
}

static int
asks_out(struct worker *w)
{
	int i, n = 0;

	for (i = 0; i < w->nch; i++)
		if (w->ch[i].busy)
			n += w->ch[i].asked;
	return n;
}

/* 6. Whether busy slots prefetch: jobs are seen to be short. */
static int
prefetch_on(const struct worker *w)
{
	return w->avg >= 0 && w->avg < PREFETCH_BELOW && !w->no_prefetch;
}

/*
 * 6. Jobs much shorter than an ask's round trip: a slot with one ask out
 * would idle most of the time, so each slot may have a second ask out.
 */
static int
deep_on(const struct worker *w)
{
	return prefetch_on(w) && w->rtt >= 0 && w->avg * 2 < w->rtt;
}

/* When slot i's job started; 0: the slot runs none. */
static msec_t
job_started(const struct worker *w, int i)
{
	if (w->pipe != NULL)
		return w->slots[i].busy ? w->slots[i].started : 0;
	return w->jobs[i].used && w->jobs[i].pid > 0 ? w->jobs[i].started : 0;
}

/*
 * 6. The busy slots that ask for their next job by themselves: those whose
 * job has run PREFETCH_AFTER. A job that ends sooner has its report carry
 * the ask (9.): one message for both, where a prefetch would send two.
 */
static int
prefetching(const struct worker *w, msec_t now)
{
	int i, n = 0;
	msec_t t;

	for (i = 0; i < w->njobs; i++)
		if ((t = job_started(w, i)) != 0 && now - t >= PREFETCH_AFTER)
			n++;
	return n;
}

/*
 * How many requests for work may be out: one per free slot, and (6.) one
 * per busy slot when jobs are short, less the jobs already waiting here.
 */
static int
asks_wanted(struct worker *w, msec_t now)
{
	int want = free_slots(w, now);

	if (prefetch_on(w))
		want += prefetching(w, now);
	if (deep_on(w))
		want += free_slots(w, now) + w->running;
	want -= w->nqueued;
	/* requests for work may be held a second: two channels stay for reports */
	return want < w->nch - 2 ? want : w->nch - 2;
}

/* A message without reports; a request for work (CH_ASK) asks for max jobs (10.; 0: one, no "max"). */
static void
send_op(struct worker *w, struct chan *c, enum chan_kind kind, const char *op, int max, msec_t now)
{
	cJSON *req = request(w, op);
	uint32_t ask = kind == CH_ASK ? ask_take(w) : 0;
	char *txt;

	if (kind == CH_ASK) {
		cJSON_AddNumberToObject(req, "slots", free_slots(w, now));
		cJSON_AddNumberToObject(req, "wait", ASK_WAIT);
		if (max > 0)
			cJSON_AddNumberToObject(req, "max", max);
		cJSON_AddNumberToObject(req, "ask", ask);
	}
	txt = json_print(req);
	chan_send(w, c, kind, NULL, 0, txt, now);
	cJSON_free(txt);
	cJSON_Delete(req);
	if (c->busy && kind == CH_ASK) {
		c->asked = max > 0 ? max : 1;
		c->several = max > 0;
		c->ask = ask;
	} else
		ask_give_back(w, ask);
}

/*
 * 10. The reports not yet out, as many as fit one "report" (REPORT_MAX,
 * and the proxy's bound), carrying our request for next jobs (9.) when
 * next > 0. Returns the jobs it asks for (0 if it could not be sent).
 */
static int
send_reports(struct worker *w, struct chan *c, int next, msec_t now)
{
	struct report *r, *reps[REPORT_MAX];
	cJSON *req = request(w, WORK_OP_REPORT), *a = cJSON_AddArrayToObject(req, "reports");
	size_t len = 256;
	uint32_t ask = 0;
	char *txt;
	int n = 0;

	for (r = w->reports; r != NULL && n < REPORT_MAX; r = r->next) {
		if (r->out)
			continue;
		if (n > 0 && len + r->len + 1 > PROXY_MAX)
			break;
		len += r->len + 1;
		reps[n++] = r;
		/* a reference: the report keeps its item for a resend */
		cJSON_AddItemReferenceToArray(a, r->item);
	}
	if (next > 0) {
		ask = ask_take(w);
		cJSON_AddNumberToObject(req, "next", next);
		cJSON_AddNumberToObject(req, "wait", ASK_WAIT);
		cJSON_AddNumberToObject(req, "ask", ask);
	}
	txt = json_print(req);
	if (n > 1 || next > 1)
		log_debug("%d result%s in one report, asking for %d job%s", n, n == 1 ? "" : "s",
		    next, next == 1 ? "" : "s");
	chan_send(w, c, CH_BATCH, reps, n, txt, now);
	cJSON_free(txt);
	cJSON_Delete(req);
	if (!c->busy) {
		ask_give_back(w, ask);
		return 0;
	}
	c->asked = next;
	c->several = next > 0;
	c->ask = ask;
	return next;
}

/*
 * 10. The jobs to ask for in one message: those wanted, but no more than
 * the free slots not yet asked for (one when none is: a prefetch, 6.), so
 * that jobs asked for together start together; a batch of prefetches
 * would hold jobs here that idle slots of other workers could run. One
 * from an old master.
 */
static int
to_ask(struct worker *w, int want, int asking, msec_t now)
{
	int k = want - asking, free = free_slots(w, now) - w->nqueued - asking;

	if (k <= 0)
		return 0;
	if (w->batch_old)
		return 1;
	if (free < 1)
		free = 1;
	if (k > free)
		k = free;
	return k < BATCH_MAX ? k : BATCH_MAX;
}

/* 8. Stopping: unregister once the reports are out and the requests for work answered. */
static int
unregister_due(struct worker *w, msec_t now)
{
	if (!w->stopping || w->unregistered || w->running > 0)
		return 0;
	if (now >= w->unregister_at)
		return 1;
	return w->reports == NULL && (asks_out(w) == 0 || now >= w->asks_until);
}

/* Gives each idle channel the most urgent message: reports, work requests, keep-alive. */
static void
chans_dispatch(struct worker *w, msec_t now)
{
	struct report *r;
	int i, want = w->stopping ? 0 : asks_wanted(w, now), asking = asks_out(w), any_busy = 0;

	for (i = 0; i < w->nch; i++)
		any_busy |= w->ch[i].busy;
	for (i = 0; i < w->nch; i++) {
		struct chan *c = &w->ch[i];

		if (c->busy || now < c->not_before)
			continue;
		for (r = w->reports; r != NULL && r->out; r = r->next)
			;
		if (r != NULL && !w->report_old) {
			/* 10. every report ready in one message, asking for the jobs wanted (9.) */
			asking += send_reports(w, c, to_ask(w, want, asking, now), now);
		} else if (r != NULL && !w->next_old && want > asking) {
			/* 9. the report asks for the next job too */
			uint32_t ask = ask_take(w);
			char *txt = report_text(w, r, 1, ask);

			chan_send(w, c, CH_REPORT, &r, 1, txt, now);
			cJSON_free(txt);
			if (c->busy) {
				c->asked = 1;
				c->ask = ask;
				asking++;
			} else
				ask_give_back(w, ask);
		} else if (r != NULL) {
			char *txt = report_text(w, r, 0, 0);

			chan_send(w, c, CH_REPORT, &r, 1, txt, now);
			cJSON_free(txt);
		} else if (unregister_due(w, now)) {
			send_op(w, c, CH_UNREGISTER, WORK_OP_UNREGISTER, 0, now);
			if (c->busy)
				w->unregistered = 1;
		} else if (want > asking) {
			send_op(w, c, CH_ASK, WORK_OP_REQUEST, w->batch_old ? 0 :
			    to_ask(w, want, asking, now), now);
			if (c->busy)
				asking += c->asked;
		} else if (!w->stopping && !any_busy && now - w->last_heard >= KEEPALIVE) {
			send_op(w, c, CH_REGISTER, WORK_OP_REGISTER, 0, now);
		} else
			continue;
		any_busy |= c->busy;
	}
}

/* 12. The master now runs on this node: its own socket instead of the proxy. */
static void
direct_check(struct worker *w, msec_t now)
{
	char err[256];
	int n;

	if (now < w->next_direct)
		return;
	w->next_direct = now + DIRECT_EVERY;
	if (w->s < 0 || w->stopping || !sock_connected(w->s) || sock_req_on_prefer(w->s) ||
	    !env_flag("AKC_MASTER_DIRECT", 1) ||
	    sock_ipc_access(&w->cfg, SOCK_MASTER_DIRECT, err, sizeof(err)) != 0)
		return;
	sock_shut(w);
	n = requests_lost(w);
	log_info("the master runs on this node now: its own socket instead of the proxy (%d "
	    "request(s) go again on it)", n);
	if (sock_open(w) < 0)
		log_warnx("cannot open a socket to the master");
}

static void
chans_tick(struct worker *w, msec_t now)
{
	char why[64];
	int i;

	check_resets(w);	/* a send that broke the connection */
	direct_check(w, now);
	for (i = 0; i < w->nch; i++) {
		struct chan *c = &w->ch[i];

		if (!c->busy || now - c->sent < ANSWER_WITHIN)
			continue;
		/* 3. its id forgotten: a late answer is dropped (11.: its ask goes again) */
		ask_give_back(w, c->ask);
		chan_idle(c);
		snprintf(why, sizeof(why), "no answer within %ds", ANSWER_WITHIN / 1000);
		outage(w, c, why, now);
	}
}

/*
 * 8. The master took our unregister: it gives our jobs to others. A master
 * that does not know the op gets a "failed" report for each instead.
 */
static void
unregister_answered(struct worker *w, int ok, const cJSON *rsp)
{
	const char *err = json_str(rsp, "error");
	struct queued *q;

	w->unregistered = 2;
	if (ok) {
		log_info("unregistered: the master gives our jobs to other workers");
		for (; (q = w->gave_up) != NULL; queued_free(q))
			w->gave_up = q->next;
		return;
	}
	log_info("the master refused unregister (%s): reporting %s job(s) as failed instead",
	    err ? err : "refused", w->gave_up ? "our" : "no");
	for (; (q = w->gave_up) != NULL; queued_free(q)) {
		w->gave_up = q->next;
		report_failed(w, q->id, q->attempt, "worker stopped", NULL);
	}
}

/* 9. The answer to a report that carried our next request: a job, none, or an old master. */
static void
report_next_answered(struct worker *w, struct chan *c, const cJSON *rsp, msec_t now)
{
	const cJSON *job;

	switch (answer_next(rsp, &job)) {
	case 1:
		w->next_jobs++;
		ask_took(w, now - c->sent);
		log_debug("job %s came with the answer to the report on job %s (%lu so)",
		    json_str(job, "id") ? json_str(job, "id") : "?", c->reps[0]->id, w->next_jobs);
		take_job(w, job, now);
		break;
	case 0:
		break;
	default:
		log_info("the master does not answer \"next\" in reports: asking with "
		    "\"request\" instead");
		w->next_old = 1;
		break;
	}
}

/*
 * 10. The jobs of an answer to an ask for several (a request's "max", a
 * report's "next"), all taken at once; an answer without "jobs" is an old
 * master's, which gives one job a request: from then on we ask for one.
 */
static int
jobs_answered(struct worker *w, struct chan *c, const cJSON *rsp, struct report *rep, msec_t now)
{
	const cJSON *jobs, *job;
	int n = answer_jobs(rsp, &jobs);

	if (n < 0) {
		if (!w->batch_old)
			log_info("the master does not answer \"max\": asking for one job a request");
		w->batch_old = 1;
		job = cJSON_GetObjectItemCaseSensitive(rsp, "job");
		if (cJSON_IsObject(job))
			take_job(w, job, now);
		return -1;
	}
	if (n == 0)
		return 0;
	ask_took(w, now - c->sent);
	log_debug("%d job%s came in one answer (asked for %d)", n, n == 1 ? "" : "s", c->asked);
	cJSON_ArrayForEach(job, jobs) {
		if (rep != NULL) {
			w->next_jobs++;
			log_debug("job %s came with the answer to the report on job %s (%lu so)",
			    json_str(job, "id") ? json_str(job, "id") : "?", rep->id, w->next_jobs);
		}
		take_job(w, job, now);
	}
	return n;
}

/*
 * 10. The answer to a "report" of several results: each one taken (or
 * refused, said in "refused": dropped as a refused done is, 4.), and our
 * next jobs. A master that does not know the op refuses it (code 2): the
 * reports go one by one from then on. Other refusals (code 1: not
 * replicated in time) leave them to be sent again.
 */
static void
batch_answered(struct worker *w, struct chan *c, int ok, const cJSON *rsp, msec_t now)
{
	struct report *reps[REPORT_MAX];
	const char *err = json_str(rsp, "error");
	const cJSON *ref, *e;
	int i, n = c->nreps, asked = c->asked;
	long code = 0;

	memcpy(reps, c->reps, (size_t)n * sizeof(*reps));
	if (!ok) {
		(void)json_int(rsp, "code", 1, 2, &code);
		chan_idle(c);
		if (code == 2) {
			log_info("the master does not take several results in a report (%s): "
			    "reporting one by one", err ? err : "refused");
			w->report_old = 1;
		} else {
			log_warnx("the master refused our report of %d result%s: %s; sending it again",
			    n, n == 1 ? "" : "s", err ? err : "refused");
			back_off(w, c, now);
		}
		return;
	}
	ref = cJSON_GetObjectItemCaseSensitive(rsp, "refused");
	cJSON_ArrayForEach(e, ref)
		log_warnx("job %s: the master refused our report: %s: dropped",
		    json_str(e, "id") ? json_str(e, "id") : "?",
		    json_str(e, "error") ? json_str(e, "error") : "refused");
	if (asked > 0)
		jobs_answered(w, c, rsp, reps[0], now);
	chan_idle(c);
	for (i = 0; i < n; i++)
		drop_report(w, reps[i]);
}

static void
answered(struct worker *w, struct chan *c, cJSON *rsp, msec_t now)
{
	const char *err = json_str(rsp, "error");
	const cJSON *job;
	struct report *rep = c->nreps > 0 ? c->reps[0] : NULL;
	long code = 0;
	int ok, proxy = 0;

	if (json_bool(rsp, "ok", &ok) < 0) {
		if (json_bool(rsp, "proxy", &proxy) == 0 && proxy)
			outage(w, c, err ? err : "the proxy answered", now);
		else
			outage(w, c, "bad answer (no \"ok\")", now);
		/* 11. the master's answer, if it served the ask, is lost: its token goes again */
		ask_give_back(w, c->ask);
		chan_idle(c);
		return;
	}
	heard(w, now);
	cancels(w, rsp, now);
	if (c->kind == CH_UNREGISTER) {
		chan_idle(c);
		unregister_answered(w, ok, rsp);
		return;
	}
	if (c->kind == CH_BATCH) {
		if (ok)
			w->refused = 0;
		batch_answered(w, c, ok, rsp, now);
		return;
	}
	if (!ok) {
		(void)json_int(rsp, "code", 1, 2, &code);
		if (c->kind == CH_REPORT) {
			/* 4. refused: stale attempt (1) or malformed (2); sending again cannot help */
			log_warnx("job %s attempt %ld: the master refused our report: %s: dropped",
			    rep->id, rep->attempt, err ? err : "refused");
			chan_idle(c);
			drop_report(w, rep);
		} else {
			/* once until the master accepts one again: it may refuse every second */
			if (!w->refused)
				log_warnx("the master refused our %s: %s", c->kind == CH_ASK ?
				    "request for work" : "registration", err ? err : "refused");
			w->refused = 1;
			chan_idle(c);
			back_off(w, c, now);
		}
		return;
	}
	w->refused = 0;
	switch (c->kind) {
	case CH_REPORT:
		if (c->asked > 0)
			report_next_answered(w, c, rsp, now);
		chan_idle(c);
		drop_report(w, rep);
		break;
	case CH_ASK:
		if (c->several) {
			int n = jobs_answered(w, c, rsp, NULL, now);

			chan_idle(c);
			if (n == 0 && now - c->sent < EMPTY_GAP)
				c->not_before = c->sent + EMPTY_GAP;
			break;
		}
		chan_idle(c);
		job = cJSON_GetObjectItemCaseSensitive(rsp, "job");
		if (cJSON_IsObject(job)) {
			ask_took(w, now - c->sent);
			take_job(w, job, now);
		}
		else if (now - c->sent < EMPTY_GAP)
			c->not_before = c->sent + EMPTY_GAP;	/* a master that does not hold requests */
		break;
	case CH_BATCH:		/* batch_answered */
	case CH_REGISTER:
	case CH_UNREGISTER:
		chan_idle(c);
		break;
	}
}

/* The busy channel waiting for the answer with this header, if any. */
static struct chan *
chan_of(struct worker *w, const unsigned char *hdr, size_t hdrlen)
{
	uint32_t rid;
	int i;

	if (hdrlen != 4)
		return NULL;
	rid = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	for (i = 0; i < w->nch; i++)
		if (w->ch[i].busy && w->ch[i].rid == rid)
			return &w->ch[i];
	return NULL;
}

/*
 * 3. The connection to the proxy was lost, and with it every request out
 * on it: their channels are free at once, so that the loop sends them
 * again (reports, requests for work) on a new connection.
 */
/* Every request out goes again at once (its connection is gone); how many. */
static int
requests_lost(struct worker *w)
{
	int i, n = 0;

	for (i = 0; i < w->nch; i++)
		if (w->ch[i].busy) {
			if (w->ch[i].kind == CH_UNREGISTER && w->unregistered == 1)
				w->unregistered = 0;	/* 8. it goes again too */
			ask_give_back(w, w->ch[i].ask);	/* 11. */
			chan_idle(&w->ch[i]);
			w->ch[i].not_before = 0;
			n++;
		}
	w->resent += (unsigned long)n;
	return n;
}

static void
check_resets(struct worker *w)
{
	unsigned long r;
	int n;

	if (w->s < 0 || (r = sock_resets(w->s)) == w->resets)
		return;
	w->resets = r;
	n = requests_lost(w);
	if (n > 0)
		log_info("connection lost (to the proxy or the master's own socket): %d request(s) "
		    "go again at once (%lu so far)", n, w->resent);
	else
		log_debug("connection lost, nothing was out on it");
}

static void
on_answer(int fd, short ev, void *arg)
{
	struct worker *w = arg;
	msec_t now = clock_mono_ms();
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	struct chan *c;
	void *buf;
	ssize_t n;
	cJSON *rsp;

	(void)fd;
	(void)ev;
	for (;;) {
		hdrlen = sizeof(hdr);
		if (w->s < 0 || (n = sock_recv_raw(w->s, &buf, hdr, &hdrlen)) < 0)
			break;
		if ((c = chan_of(w, hdr, hdrlen)) == NULL) {
			nn_freemsg(buf);	/* a late answer: its channel gave up (3.) */
			continue;
		}
		rsp = json_parse(buf, (size_t)n);
		nn_freemsg(buf);
		if (!cJSON_IsObject(rsp)) {
			ask_give_back(w, c->ask);	/* 11. as a lost answer */
			chan_idle(c);
			outage(w, c, "bad answer (not a JSON object)", now);
		} else
			answered(w, c, rsp, now);
		cJSON_Delete(rsp);
	}
	check_resets(w);
}

/* ---- set-up and the loop ---- */

enum { OPT_EXEC = DAEMON_OPT_BASE, OPT_PIPE };

static const struct option longopts[] = {
	{ "exec", required_argument, NULL, OPT_EXEC },
	{ "pipe", required_argument, NULL, OPT_PIPE },
	{ NULL, 0, NULL, 0 }
};

/* --exec CMD, --pipe CMD (daemon_setup_ext): one of them, not empty. */
static int
on_flag(int val, const char *arg, void *ctx)
{
	struct worker *w = ctx;
	const char *name = val == OPT_EXEC ? "--exec" : "--pipe";

	if (*arg == '\0') {
		log_errx("%s needs a command", name);
		return -1;
	}
	if ((val == OPT_EXEC ? w->pipe : w->exec) != NULL) {
		log_errx("--exec and --pipe exclude each other");
		return -1;
	}
	if (val == OPT_EXEC)
		w->exec = arg;
	else
		w->pipe = arg;
	return 0;
}

/* Flags and configuration: a flag beats the file; in the file, pipe beats exec (exec has a default). */
static void
setup(struct worker *w, int argc, char **argv)
{
	struct daemon_opts o;

	daemon_setup_ext(argc, argv, "worker", USAGE, 0, longopts, on_flag, w, &o, &w->cfg);
	if (w->exec == NULL && w->pipe == NULL) {
		w->exec = w->cfg.worker_exec;
		if (w->cfg.worker_pipe[0] != '\0')
			w->pipe = w->cfg.worker_pipe;
	}
	if (env_flag("AKC_WORKER_FORK", 0))
		spawn_use_fork(1);	/* for bench/: fork+exec instead of vfork */
	if (!env_flag("AKC_WORKER_PREFETCH", 1))
		w->no_prefetch = 1;	/* for bench/: no request for a busy slot */
	if (!env_flag("AKC_WORKER_NEXT", 1))
		w->next_old = 1;	/* for bench/: reports without "next" */
	if (!env_flag("AKC_WORKER_BATCH", 1))
		w->batch_old = w->report_old = 1;	/* for bench/: one job, one result a message */
	if (env_flag("AKC_WORKER_SHELL", 0))
		spawn_use_shell(1);	/* for bench/: /bin/sh -c even for a plain command */
}

/* Jobs' pipes must not land on 0-2 (dup2 onto itself keeps close-on-exec). */
static void
std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			fatal("cannot open /dev/null");
}

/* Deadlines already past were handled this round: only future ones count. */
static void
earliest(msec_t *d, msec_t t, msec_t now)
{
	if (t > now && t < *d)
		*d = t;
}

static msec_t
next_deadline(struct worker *w, msec_t now)
{
	msec_t d = now + KEEPALIVE;
	int i, any_busy = 0;

	for (i = 0; i < w->nch; i++) {
		any_busy |= w->ch[i].busy;
		earliest(&d, w->ch[i].busy ? w->ch[i].sent + ANSWER_WITHIN : w->ch[i].not_before,
		    now);
	}
	for (i = 0; i < w->njobs; i++) {
		if (w->pipe != NULL)
			earliest(&d, slot_next(&w->slots[i], now), now);
		else if (w->jobs[i].used && w->jobs[i].pid > 0 && !w->jobs[i].timed_out)
			earliest(&d, w->jobs[i].deadline, now);
		/* 6. the moment a busy slot starts to prefetch */
		if (prefetch_on(w) && job_started(w, i) != 0 && now - job_started(w, i) < PREFETCH_AFTER)
			earliest(&d, job_started(w, i) + PREFETCH_AFTER, now);
	}
	if (w->stopping) {
		earliest(&d, w->asks_until, now);
		earliest(&d, w->unregister_at, now);
		earliest(&d, w->give_up_at, now);
	}
	if (!any_busy)
		earliest(&d, w->last_heard + KEEPALIVE, now);
	return d;
}

/*
 * 8. SIGTERM/SIGINT: kill the running jobs and give up the queued ones (the
 * master's unregister hands them to others), send what is left to report,
 * unregister, exit. A second signal: exit now.
 */
static int
on_stop_signal(struct worker *w, msec_t now)
{
	struct queued *q;
	int i;

	if (w->stopping) {
		log_info("second signal: exiting now");
		return 1;
	}
	log_info("stopping on signal: %d job(s) running: killed", w->running);
	daemon_notify("STOPPING=1");
	w->stopping = 1;
	w->asks_until = now + ASK_WAIT + 500;
	w->unregister_at = now + STOP_UNREGISTER;
	w->give_up_at = now + STOP_GRACE;
	for (i = 0; i < w->njobs; i++) {
		if (w->pipe != NULL) {
			if (w->slots[i].busy) {
				give_up(w, w->slots[i].id, w->slots[i].attempt);
				w->running--;
			}
			slot_stop(&w->slots[i], 0);
		} else if (w->jobs[i].used && w->jobs[i].pid > 0)
			job_kill(&w->jobs[i], 1);
	}
	while ((q = w->queue) != NULL) {
		w->queue = q->next;
		w->nqueued--;
		give_up(w, q->id, q->attempt);
		queued_free(q);
	}
	return 0;
}

/* Done stopping: unregistered (or refused) and reported, or out of time. */
static int
stopped(struct worker *w, msec_t now)
{
	struct report *r;
	int n = 0;

	if (w->running == 0 && w->unregistered == 2 && w->reports == NULL)
		return 1;
	if (now < w->give_up_at)
		return 0;
	for (r = w->reports; r != NULL; r = r->next)
		n++;
	if (n > 0)
		log_warnx("giving up on %d report(s) the master did not take: "
		    "it retries those jobs after work-timeout", n);
	if (w->unregistered < 2)
		log_warnx("the master did not answer unregister: it retries our jobs once it "
		    "has not heard from us for a while");
	return 1;
}

/*
 * RUN-DIR/worker.PID.lock, locked while this worker runs and holding its
 * id: how akc-status tells the workers of this node (a file whose lock
 * nobody holds is one a killed worker left).
 */
static void
mark_running(struct worker *w)
{
	int fd;

	snprintf(w->mark, sizeof(w->mark), "%s/worker.%d.lock", w->cfg.run_dir, (int)getpid());
	if ((fd = open(w->mark, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    flock(fd, LOCK_EX | LOCK_NB) < 0 || write(fd, w->id, strlen(w->id)) < 0) {
		log_debug("cannot mark this worker in '%s': %s", w->mark, strerror(errno));
		if (fd >= 0)
			close(fd);
		w->mark[0] = '\0';
	}
	/* the descriptor stays open (and locked) until we exit */
}

/*
 * Everything between the flags and the loop: the worker's id, the proxy's
 * address, signals, the slots (and --pipe's commands, started). -1 if this
 * user may not use the proxy (said in the log).
 */
static int
start(struct worker *w)
{
	unsigned char rnd[4];
	char hex[9], err[512];
	msec_t now;
	int i;

	std_fds();
	if (sodium_init() < 0)
		fatalx("libsodium cannot start");
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(w->id, sizeof(w->id), "%.*s-%d-%s", (int)sizeof(w->cfg.name), w->cfg.name,
	    (int)getpid(), hex);
	config_ipc_path(&w->cfg, MASTER_SVC, w->addr, sizeof(w->addr));
	/* a proxy not yet there is waited for; one we may never use is not */
	if (sock_ipc_access(&w->cfg, MASTER_SVC, err, sizeof(err)) == SOCK_DENIED) {
		log_warnx("%s", err);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* what the jobs leave behind comes back to us to be reaped */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	w->loop = loop_new();
	loop_catch(w->loop, SIGTERM);
	loop_catch(w->loop, SIGINT);
	loop_catch(w->loop, SIGHUP);	/* no reload, but no death either */
	loop_catch(w->loop, SIGCHLD);
	w->njobs = w->cfg.worker_concurrency;
	w->jobs = xcalloc((size_t)w->njobs, sizeof(*w->jobs));
	for (i = 0; i < w->njobs; i++)
		job_clear(&w->jobs[i]);
	w->avg = -1;
	w->rtt = -1;
	spawn_prepare(&w->sc, w->pipe != NULL ? w->pipe : w->exec);
	w->nch = 2 * w->njobs + 2 < CHAN_MAX ? 2 * w->njobs + 2 : CHAN_MAX;
	w->s = w->fd = -1;
	mark_running(w);
	now = clock_mono_ms();
	w->last_heard = now;
	if (w->pipe != NULL) {
		w->slots = xcalloc((size_t)w->njobs, sizeof(*w->slots));
		for (i = 0; i < w->njobs; i++) {
			slot_init(&w->slots[i], i + 1, w->pipe, &w->sc, w->id, w->loop,
			    slot_job_ended, w);
			(void)slot_start(&w->slots[i], now);
		}
	}
	log_info("worker %s: %d slot(s) running '%s%s'%s, master through '%s'",
	    w->id, w->njobs, w->sc.direct ? "" : "/bin/sh -c ", w->pipe != NULL ? w->pipe : w->exec,
	    w->pipe != NULL ? " once each (--pipe)" : " per job", w->addr + 6);
	if (w->sc.direct)
		log_info("a plain command: run as '%s' without the shell", w->sc.argv[0]);
	return 0;
}

/* After the loop: the sockets closed, the mark removed. */
static void
finish(struct worker *w)
{
	sock_shut(w);
	log_info("stopped");
	if (w->mark[0] != '\0')
		(void)unlink(w->mark);
	nn_term();
}

int
main(int argc, char **argv)
{
	static struct worker worker;
	struct worker *w = &worker;
	unsigned long sigs;
	msec_t now;

	setup(w, argc, argv);
	if (start(w) < 0)
		return 1;
	daemon_notify("READY=1");
	for (;;) {
		sigs = loop_signals(w->loop);
		now = clock_mono_ms();
		if ((sigs & ((1UL << SIGTERM) | (1UL << SIGINT))) && on_stop_signal(w, now))
			break;
		reap(w, now);
		jobs_tick(w, now);
		chans_tick(w, now);
		if (w->stopping && stopped(w, now))
			break;
		chans_dispatch(w, now);
		loop_poll(w->loop, next_deadline(w, now));
	}
	finish(w);
	return 0;
}
