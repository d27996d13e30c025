/*
 * worker.c: pulls jobs from the master through the local proxy of singleton
 * "master", runs each (job.c) and reports how it went. One poll loop over
 * the request sockets, the jobs' pipes and SIGCHLD; no threads.
 *
 * How it talks to the master (doc/PROTOCOL.md, "Work"):
 *
 * 1. Every exchange is a plain REQ socket's one request and one answer; a
 *    channel is such a socket with at most one request out. There are
 *    min(concurrency, CHAN_MAX) channels: an idle channel sends, in this
 *    order, a pending report (done/failed), a request for work when a slot
 *    is free and not yet asked for, or a keep-alive register.
 * 2. A request for work is a long poll ("wait" 1 s): with no job the master
 *    answers null after a second and the slot asks again at once.
 * 3. An answer that does not come within ANSWER_WITHIN (the proxy holds
 *    requests while the master moves, up to its request-timeout) closes the
 *    channel's socket and opens a new one; the message is sent again after
 *    a backoff (reports) or dropped (a request for work: the master gives
 *    the job of a lost answer again after work-timeout). So is an answer
 *    from the proxy instead of the master. One warning per outage.
 * 4. Reports are sent until the master answers ok, or refuses them (code 1,
 *    a stale attempt: another worker has it now). A report can thus arrive
 *    twice; the master answers ok again. Delivery is at-least-once.
 * 5. The master drops a worker it has not heard from for 10 s: while every
 *    slot is busy, "register" goes out every KEEPALIVE.
 *
 * Weak points: a job whose answer was lost (3) runs nowhere until the
 * master's work-timeout; a job's background processes that leave its
 * process group (setsid) outlive it; if the worker is killed with SIGKILL
 * its jobs' shells get SIGKILL (PR_SET_PDEATHSIG), but not their children.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <getopt.h>
#include <locale.h>
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

#include "config.h"
#include "daemon.h"
#include "job.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "sock.h"

#define USAGE		"worker [-nqv] [-c FILE] [--exec CMD]"
#define MASTER_SOCK	"singleton.master"
#define ASK_WAIT	1000		/* ms the master may hold a request for work */
#define ANSWER_WITHIN	5000		/* ms: then a new socket and a retry */
#define EMPTY_GAP	250		/* ms at least between two empty requests of a channel */
#define BACKOFF_MIN	100
#define BACKOFF_MAX	2000
#define KEEPALIVE	3000		/* the master drops workers silent for 10 s */
#define REPORT_GRACE	5000		/* at shutdown, reports may take this long after the jobs */
#define CHAN_MAX	64		/* nanomsg allows 512 sockets per process */
#define PROXY_MAX	PROXY_MAX_BODY	/* singletond's bound on a proxied request */

struct report {
	struct report *next;
	char id[JOB_ID_MAX + 1];
	long attempt;
	char *txt;		/* the request, ready to send */
	int out;		/* on a channel now */
};

enum chan_kind { CH_ASK, CH_REPORT, CH_REGISTER };

struct chan {
	int s, fd;		/* -1 until opened */
	int busy;
	enum chan_kind kind;
	struct report *rep;
	msec_t sent, not_before;
};

struct worker {
	char mark[CONF_PATH_MAX + 32];	/* RUN-DIR/worker.PID.lock ("": none) */
	struct akc_config cfg;
	struct loop *loop;
	const char *exec;
	char id[JOB_ID_MAX + 1];
	char addr[CONF_PATH_MAX + 32];
	struct job *jobs;
	int njobs, running;
	struct chan ch[CHAN_MAX];
	int nch;
	struct report *reports, *reports_tail;
	msec_t backoff, last_heard;
	int outage;		/* warned that the master cannot be reached */
	int refused;		/* warned that the master refuses our requests */
	int stopping;
	msec_t asks_until;	/* stopping: requests for work out then are waited for until */
	msec_t kill_at;		/* stopping: jobs still running then are killed */
	msec_t give_up_at;	/* stopping: reports not taken by then are dropped */
};

static struct worker W;

/* ---- messages ---- */

static char *
to_b64(const unsigned char *buf, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);

	if (s == NULL)
		fatal("malloc");
	sodium_bin2base64(s, n, buf, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

static cJSON *
request(const char *op)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddStringToObject(r, "op", op);
	cJSON_AddStringToObject(r, "worker", W.id);
	return r;
}

static void
queue_report(const struct job *j, cJSON *req)
{
	struct report *r = calloc(1, sizeof(*r));

	if (r == NULL)
		fatal("calloc");
	snprintf(r->id, sizeof(r->id), "%s", j->id);
	r->attempt = j->attempt;
	r->txt = json_print(req);
	cJSON_Delete(req);
	if (W.reports_tail != NULL)
		W.reports_tail->next = r;
	else
		W.reports = r;
	W.reports_tail = r;
}

static void
drop_report(struct report *r)
{
	struct report **p;

	for (p = &W.reports; *p != NULL; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	W.reports_tail = NULL;
	for (p = &W.reports; *p != NULL; p = &(*p)->next)
		W.reports_tail = *p;
	cJSON_free(r->txt);
	free(r);
}

/* A failed attempt's report carries the last lines of its stderr, if it wrote any. */
static void
report_failed(struct job *j, const char *why)
{
	cJSON *req = request("failed");
	const char *tail = job_stderr_tail(j);

	cJSON_AddStringToObject(req, "id", j->id);
	cJSON_AddNumberToObject(req, "attempt", (double)j->attempt);
	cJSON_AddStringToObject(req, "why", why);
	if (*tail != '\0')
		cJSON_AddStringToObject(req, "stderr", tail);
	log_debug("job %s attempt %ld failed: %s", j->id, j->attempt, why);
	queue_report(j, req);
}

static void
report_done(struct job *j, msec_t now)
{
	cJSON *req = request("done");
	char *b64 = to_b64(j->res, j->rlen), *txt;
	char why[128];
	size_t len;

	cJSON_AddStringToObject(req, "id", j->id);
	cJSON_AddNumberToObject(req, "attempt", (double)j->attempt);
	cJSON_AddStringToObject(req, "result", b64);
	free(b64);
	txt = json_print(req);
	len = strlen(txt);
	cJSON_free(txt);
	if (len > PROXY_MAX) {
		cJSON_Delete(req);
		snprintf(why, sizeof(why), "result of %zu bytes too large for the master's proxy "
		    "(%zu bytes as base64, at most %d)", j->rlen, len, PROXY_MAX);
		report_failed(j, why);
		return;
	}
	log_debug("job %s attempt %ld done in %lldms (%zu bytes)", j->id, j->attempt,
	    (long long)(now - j->started), j->rlen);
	queue_report(j, req);
}

/* ---- jobs ---- */

/* The command has exited: its result, or why it failed, goes to the master. */
static void
job_finish(struct job *j, msec_t now)
{
	char why[128];

	if (job_outcome(j, why, sizeof(why)) == 0)
		report_done(j, now);
	else
		report_failed(j, why);
	job_free(j);
	W.running--;
}

static void
reap(msec_t now)
{
	pid_t pid;
	int status, i;

	/* also the leftovers of jobs, which come back to us (subreaper) */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < W.njobs; i++)
			if (W.jobs[i].used && W.jobs[i].pid == pid) {
				job_exited(&W.jobs[i], status);
				job_finish(&W.jobs[i], now);
				break;
			}
}

/* Starts a job from the master's answer; a malformed one is reported or dropped. */
static void
take_job(const cJSON *job, msec_t now)
{
	const char *id = json_str(job, "id"), *b64 = json_str(job, "payload");
	struct job *j = NULL, tmp;
	long attempt, timeout = W.cfg.work_timeout;
	size_t blen, cap, len;
	char num[24], *env[4];
	char envid[JOB_ID_MAX + 16], envatt[48], envw[JOB_ID_MAX + 16];
	int i;

	if (id == NULL || !work_id_valid(id) || json_int(job, "attempt", 1, 1L << 30, &attempt) < 0) {
		log_warnx("malformed job from the master: dropped");
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(job, "timeout_ms") != NULL &&
	    json_int(job, "timeout_ms", 0, 1L << 40, &timeout) < 0) {
		log_warnx("job %s: bad timeout_ms from the master: using work-timeout", id);
		timeout = W.cfg.work_timeout;
	}
	job_clear(&tmp);
	snprintf(tmp.id, sizeof(tmp.id), "%s", id);
	tmp.attempt = attempt;
	tmp.timeout = timeout;
	for (i = 0; i < W.njobs && j == NULL; i++)
		if (!W.jobs[i].used)
			j = &W.jobs[i];
	if (j == NULL) {
		log_warnx("job %s: no free slot (the master gave more than asked)", id);
		report_failed(&tmp, "worker has no free slot");
		return;
	}
	*j = tmp;
	j->used = 1;
	W.running++;
	blen = b64 ? strlen(b64) : 0;
	cap = blen / 4 * 3 + 3;
	if (b64 == NULL || (j->payload = malloc(cap)) == NULL ||
	    sodium_base642bin(j->payload, cap, b64, blen, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		log_warnx("job %s: payload is not base64", id);
		report_failed(j, "payload is not base64");
		job_free(j);
		W.running--;
		return;
	}
	j->plen = len;
	snprintf(num, sizeof(num), "%ld", j->attempt);
	snprintf(envid, sizeof(envid), "AKC_WORK_ID=%s", j->id);
	snprintf(envatt, sizeof(envatt), "AKC_WORK_ATTEMPT=%s", num);
	snprintf(envw, sizeof(envw), "AKC_WORKER=%s", W.id);
	env[0] = envid;
	env[1] = envatt;
	env[2] = envw;
	env[3] = NULL;
	if (job_spawn(j, W.loop, W.exec, env, now) < 0) {
		report_failed(j, "worker cannot start the command");
		job_free(j);
		W.running--;
		return;
	}
	log_debug("job %s attempt %ld started as pid %d (%zu bytes in)", j->id, j->attempt,
	    (int)j->pid, j->plen);
}

static void
jobs_tick(msec_t now)
{
	int i;

	for (i = 0; i < W.njobs; i++)
		if (W.jobs[i].used && job_tick(&W.jobs[i], now))
			log_debug("job %s attempt %ld: still running after %lldms: killed",
			    W.jobs[i].id, W.jobs[i].attempt, (long long)W.jobs[i].timeout);
}

/* ---- channels to the master ---- */

static void on_answer(int fd, short ev, void *arg);

static int
chan_open(struct chan *c)
{
	int v = 24 * 3600 * 1000;

	if ((c->s = sock_connect(NN_REQ, W.addr, 2 * PROXY_MAX, 1000)) < 0)
		return -1;
	nn_setsockopt(c->s, NN_REQ, NN_REQ_RESEND_IVL, &v, sizeof(v));	/* we time out ourselves */
	c->fd = sock_rcvfd(c->s);
	loop_watch(W.loop, c->fd, POLLIN, on_answer, c);
	return 0;
}

static void
chan_close(struct chan *c)
{
	if (c->s < 0)
		return;
	loop_unwatch(W.loop, c->fd);
	nn_close(c->s);
	c->s = c->fd = -1;
}

/* The channel waits a little longer after each failure in a row, with jitter. */
static void
back_off(struct chan *c, msec_t now)
{
	W.backoff = W.backoff ? W.backoff * 2 : BACKOFF_MIN;
	if (W.backoff > BACKOFF_MAX)
		W.backoff = BACKOFF_MAX;
	c->not_before = now + W.backoff / 2 + (msec_t)randombytes_uniform((uint32_t)W.backoff / 2 + 1);
}

/* The master could not be reached: say so once per outage, back off. */
static void
outage(struct chan *c, const char *why, msec_t now)
{
	if (!W.outage)
		log_warnx("master not reachable through '%s': %s; retrying", W.addr + 6, why);
	W.outage = 1;
	back_off(c, now);
}

static void
heard(msec_t now)
{
	if (W.outage)
		log_notice("master reachable again");
	W.outage = 0;
	W.backoff = 0;
	W.last_heard = now;
}

/* The channel's request is over (answered or given up): the channel is idle. */
static void
chan_idle(struct chan *c)
{
	if (c->rep != NULL)
		c->rep->out = 0;
	c->rep = NULL;
	c->busy = 0;
}

static void
chan_send(struct chan *c, enum chan_kind kind, struct report *rep, const char *txt, msec_t now)
{
	if (c->s < 0 && chan_open(c) < 0) {
		outage(c, "cannot open a socket", now);
		return;
	}
	if (sock_send(c->s, txt, strlen(txt)) < 0) {
		chan_close(c);
		outage(c, nn_strerror(nn_errno()), now);
		return;
	}
	c->busy = 1;
	c->kind = kind;
	c->rep = rep;
	c->sent = now;
	if (rep != NULL)
		rep->out = 1;
}

static int
asks_out(void)
{
	int i, n = 0;

	for (i = 0; i < W.nch; i++)
		if (W.ch[i].busy && W.ch[i].kind == CH_ASK)
			n++;
	return n;
}

/* Gives each idle channel the most urgent message: reports, work requests, keep-alive. */
static void
chans_dispatch(msec_t now)
{
	struct report *r;
	int i, free_slots = W.njobs - W.running, asking = asks_out(), any_busy = 0;
	char *txt;
	cJSON *req;

	for (i = 0; i < W.nch; i++)
		any_busy |= W.ch[i].busy;
	for (i = 0; i < W.nch; i++) {
		struct chan *c = &W.ch[i];

		if (c->busy || now < c->not_before)
			continue;
		for (r = W.reports; r != NULL && r->out; r = r->next)
			;
		if (r != NULL) {
			chan_send(c, CH_REPORT, r, r->txt, now);
		} else if (!W.stopping && free_slots > asking) {
			req = request("request");
			cJSON_AddNumberToObject(req, "slots", free_slots);
			cJSON_AddNumberToObject(req, "wait", ASK_WAIT);
			txt = json_print(req);
			chan_send(c, CH_ASK, NULL, txt, now);
			cJSON_free(txt);
			cJSON_Delete(req);
			if (c->busy)
				asking++;
		} else if ((!W.stopping || W.running > 0) && !any_busy &&
		    now - W.last_heard >= KEEPALIVE) {
			req = request("register");
			txt = json_print(req);
			chan_send(c, CH_REGISTER, NULL, txt, now);
			cJSON_free(txt);
			cJSON_Delete(req);
		} else
			continue;
		any_busy |= c->busy;
	}
}

static void
chans_tick(msec_t now)
{
	char why[64];
	int i;

	for (i = 0; i < W.nch; i++) {
		struct chan *c = &W.ch[i];

		if (!c->busy || now - c->sent < ANSWER_WITHIN)
			continue;
		/* 3. a new socket: the old one's request may be stuck anywhere */
		chan_close(c);
		chan_idle(c);
		snprintf(why, sizeof(why), "no answer within %ds", ANSWER_WITHIN / 1000);
		outage(c, why, now);
	}
}

static void
answered(struct chan *c, cJSON *rsp, msec_t now)
{
	const char *err = json_str(rsp, "error");
	const cJSON *job;
	struct report *rep = c->rep;
	long code = 0;
	int ok, proxy = 0;

	if (json_bool(rsp, "ok", &ok) < 0) {
		if (json_bool(rsp, "proxy", &proxy) == 0 && proxy)
			outage(c, err ? err : "the proxy answered", now);
		else
			outage(c, "bad answer (no \"ok\")", now);
		chan_idle(c);
		return;
	}
	heard(now);
	if (!ok) {
		(void)json_int(rsp, "code", 1, 2, &code);
		if (c->kind == CH_REPORT) {
			/* 4. refused: stale attempt (1) or malformed (2); sending again cannot help */
			log_warnx("job %s attempt %ld: the master refused our report: %s: dropped",
			    rep->id, rep->attempt, err ? err : "refused");
			chan_idle(c);
			drop_report(rep);
		} else {
			/* once until the master accepts one again: it may refuse every second */
			if (!W.refused)
				log_warnx("the master refused our %s: %s", c->kind == CH_ASK ?
				    "request for work" : "registration", err ? err : "refused");
			W.refused = 1;
			chan_idle(c);
			back_off(c, now);
		}
		return;
	}
	W.refused = 0;
	switch (c->kind) {
	case CH_REPORT:
		chan_idle(c);
		drop_report(rep);
		break;
	case CH_ASK:
		chan_idle(c);
		job = cJSON_GetObjectItemCaseSensitive(rsp, "job");
		if (cJSON_IsObject(job))
			take_job(job, now);
		else if (now - c->sent < EMPTY_GAP)
			c->not_before = c->sent + EMPTY_GAP;	/* a master that does not hold requests */
		break;
	case CH_REGISTER:
		chan_idle(c);
		break;
	}
}

static void
on_answer(int fd, short ev, void *arg)
{
	struct chan *c = arg;
	msec_t now = clock_mono_ms();
	void *buf;
	ssize_t n;
	cJSON *rsp;

	(void)fd;
	(void)ev;
	while (c->s >= 0 && (n = sock_recv(c->s, &buf)) >= 0) {
		rsp = json_parse(buf, (size_t)n);
		nn_freemsg(buf);
		if (!c->busy) {
			cJSON_Delete(rsp);
			continue;
		}
		if (!cJSON_IsObject(rsp)) {
			chan_idle(c);
			outage(c, "bad answer (not a JSON object)", now);
		} else
			answered(c, rsp, now);
		cJSON_Delete(rsp);
	}
}

/* ---- set-up and the loop ---- */

static void
setup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "exec", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf, *exec = NULL;
	int ch, check = 0, verbose = 0, quiet = 0;

	/* daemon_setup's flags, plus --exec */
	setlocale(LC_NUMERIC, "C");
	log_init_daemon("worker");
	conf = config_default_path();
	while ((ch = getopt_long(argc, argv, "+c:nqvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'q':
			quiet++;
			break;
		case 'e':
			exec = optarg;
			break;
		case 'h':
			printf("usage: %s\n", USAGE);
			exit(0);
		case 'V':
			printf("worker (akc) %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			fprintf(stderr, "usage: %s\n", USAGE);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "worker: unexpected argument '%s'\nusage: %s\n", argv[optind], USAGE);
		exit(2);
	}
	if (exec != NULL && *exec == '\0') {
		fprintf(stderr, "worker: --exec needs a command\nusage: %s\n", USAGE);
		exit(2);
	}
	if (check)
		log_init("worker");	/* as daemon_setup: plain lines for a person */
	if (config_load(conf, &W.cfg) != 0)
		exit(1);
	daemon_log_level(&W.cfg, verbose, quiet);
	if (check) {
		printf("configuration OK\n");
		exit(0);
	}
	W.exec = exec != NULL ? exec : W.cfg.worker_exec;
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
next_deadline(msec_t now)
{
	msec_t d = now + KEEPALIVE;
	int i, any_busy = 0;

	for (i = 0; i < W.nch; i++) {
		any_busy |= W.ch[i].busy;
		earliest(&d, W.ch[i].busy ? W.ch[i].sent + ANSWER_WITHIN : W.ch[i].not_before, now);
	}
	for (i = 0; i < W.njobs; i++)
		if (W.jobs[i].used && W.jobs[i].pid > 0 && !W.jobs[i].timed_out)
			earliest(&d, W.jobs[i].deadline, now);
	if (W.stopping) {
		earliest(&d, W.asks_until, now);
		earliest(&d, W.kill_at, now);
		earliest(&d, W.give_up_at, now);
	}
	if (!any_busy)
		earliest(&d, W.last_heard + KEEPALIVE, now);
	return d;
}

/* SIGTERM/SIGINT: no more asking; jobs finish (up to work-timeout), reports go out. */
static void
on_stop_signal(msec_t now)
{
	int i;

	if (!W.stopping) {
		log_info("stopping on signal: %d job(s) running", W.running);
		daemon_notify("STOPPING=1");
		W.stopping = 1;
		W.asks_until = now + ASK_WAIT + 500;
		W.kill_at = now + W.cfg.work_timeout;
		W.give_up_at = W.kill_at + REPORT_GRACE;
		return;
	}
	log_info("second signal: killing the jobs");
	for (i = 0; i < W.njobs; i++)
		if (W.jobs[i].used && W.jobs[i].pid > 0)
			job_kill(&W.jobs[i], 1);
	W.kill_at = now;
	if (W.give_up_at > now + 2000)
		W.give_up_at = now + 2000;
}

static int
stopped(msec_t now)
{
	struct report *r;
	int i, n = 0;

	/*
	 * A request for work out when we stopped may still bring a job: it is
	 * run. It comes within ASK_WAIT from a master that answers at all.
	 */
	if (W.running == 0 && W.reports == NULL && (asks_out() == 0 || now >= W.asks_until))
		return 1;
	if (now >= W.kill_at && W.running > 0) {
		/* work-timeout after the signal: kill; they are reported as stopped */
		for (i = 0; i < W.njobs; i++)
			if (W.jobs[i].used && W.jobs[i].pid > 0 && !W.jobs[i].stopped) {
				log_warnx("job %s still running at shutdown: killed", W.jobs[i].id);
				job_kill(&W.jobs[i], 1);
			}
	}
	if (now < W.give_up_at || W.running > 0)
		return 0;	/* reports still have time, or jobs are not reaped yet */
	for (r = W.reports; r != NULL; r = r->next)
		n++;
	if (n > 0)
		log_warnx("giving up on %d report(s) the master did not take: "
		    "it retries those jobs after work-timeout", n);
	return 1;
}

/*
 * RUN-DIR/worker.PID.lock, locked while this worker runs and holding its
 * id: how akc-status tells the workers of this node (a file whose lock
 * nobody holds is one a killed worker left).
 */
static void
mark_running(void)
{
	int fd;

	snprintf(W.mark, sizeof(W.mark), "%s/worker.%d.lock", W.cfg.run_dir, (int)getpid());
	if ((fd = open(W.mark, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    flock(fd, LOCK_EX | LOCK_NB) < 0 || write(fd, W.id, strlen(W.id)) < 0) {
		log_debug("cannot mark this worker in '%s': %s", W.mark, strerror(errno));
		if (fd >= 0)
			close(fd);
		W.mark[0] = '\0';
	}
	/* the descriptor stays open (and locked) until we exit */
}

int
main(int argc, char **argv)
{
	unsigned char rnd[4];
	char hex[9], err[512];
	unsigned long sigs;
	msec_t now;
	int i;

	setup(argc, argv);
	std_fds();
	if (sodium_init() < 0)
		fatalx("libsodium cannot start");
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(W.id, sizeof(W.id), "%s-%d-%s", W.cfg.name, (int)getpid(), hex);
	config_ipc_path(&W.cfg, MASTER_SOCK, W.addr, sizeof(W.addr));
	/* a proxy not yet there is waited for; one we may never use is not */
	if (sock_ipc_access(&W.cfg, MASTER_SOCK, err, sizeof(err)) == SOCK_DENIED) {
		log_warnx("%s", err);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* what the jobs leave behind comes back to us to be reaped */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	W.loop = loop_new();
	loop_catch(W.loop, SIGTERM);
	loop_catch(W.loop, SIGINT);
	loop_catch(W.loop, SIGHUP);	/* no reload, but no death either */
	loop_catch(W.loop, SIGCHLD);
	W.njobs = W.cfg.worker_concurrency;
	if ((W.jobs = calloc((size_t)W.njobs, sizeof(*W.jobs))) == NULL)
		fatal("calloc");
	for (i = 0; i < W.njobs; i++)
		job_clear(&W.jobs[i]);
	W.nch = W.njobs < CHAN_MAX ? W.njobs : CHAN_MAX;
	for (i = 0; i < W.nch; i++)
		W.ch[i].s = W.ch[i].fd = -1;
	mark_running();
	now = clock_mono_ms();
	W.last_heard = now;
	log_info("worker %s: %d slot(s) running '/bin/sh -c %s', master through '%s'",
	    W.id, W.njobs, W.exec, W.addr + 6);
	daemon_notify("READY=1");

	for (;;) {
		sigs = loop_signals(W.loop);
		now = clock_mono_ms();
		if (sigs & ((1UL << SIGTERM) | (1UL << SIGINT)))
			on_stop_signal(now);
		reap(now);
		jobs_tick(now);
		chans_tick(now);
		if (W.stopping && stopped(now))
			break;
		chans_dispatch(now);
		loop_poll(W.loop, next_deadline(now));
	}
	for (i = 0; i < W.nch; i++)
		chan_close(&W.ch[i]);
	log_info("stopped");
	if (W.mark[0] != '\0')
		(void)unlink(W.mark);
	nn_term();
	return 0;
}
