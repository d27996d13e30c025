/*
 * policy.h: the master's job policy without I/O: which job goes to which
 * worker, retry or give up after max-attempts, attempt timeouts, workers
 * lost or gone, delayed and prioritised jobs, cancels, and forgetting
 * finished jobs after keep-finished. Requests and time come in as
 * arguments (a monotonic "now" for deadlines, a wall-clock "wall" for what
 * events carry); decisions go out as events through emit(), which the
 * shell journals and applies to the work state (a test just applies them),
 * and as the return values the shell turns into answers.
 */
#ifndef MASTER_POLICY_H
#define MASTER_POLICY_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "work.h"

#define POLICY_MARKS	64		/* keep-finished: (time, seq) marks kept */
#define POLICY_KILLS_MAX 4096		/* cancels waiting to be told to workers */

struct policy_conf {
	int max_attempts;
	int64_t work_timeout;		/* ms: an attempt's default timeout */
	int64_t timeout_grace;		/* ms past its timeout before the master retries it */
	int64_t keep_finished;		/* ms; 0: keep finished jobs for ever */
	long max_pending;
	long max_payload;		/* bytes */
	int64_t worker_gone;		/* ms: a worker silent this long is dropped */
	int64_t start_grace;		/* ms after the start: nothing timed out or dropped */
};

struct pworker {			/* a worker we heard from */
	char id[WORKER_ID_MAX + 1];
	msec_t seen;
};

struct pmark {				/* the last event at a time (monotonic) */
	msec_t at;
	uint64_t seq;
};

struct pkill {				/* a cancelled attempt its worker must be told of */
	char worker[WORKER_ID_MAX + 1];
	char id[WORK_ID_MAX + 1];
	int64_t until;			/* wall ms: past its timeout it is killed anyway */
};

struct policy {
	struct policy_conf c;
	struct work *w;
	void (*emit)(void *arg, cJSON *ev);	/* journals and applies ev (and frees it) */
	void *arg;
	msec_t started;			/* the start grace counts from here */
	struct pworker *wks;
	int nwks, capwks;
	struct pmark marks[POLICY_MARKS];
	int nmarks;
	struct pkill *kills;
	int nkills, capkills;
};

void policy_init(struct policy *, const struct policy_conf *, struct work *,
    void (*emit)(void *, cJSON *), void *arg, msec_t now);
void policy_free(struct policy *);

/*
 * After a replay: the cancels of running attempts that a new master must
 * still tell their workers of (those whose timeout has not passed at wall).
 */
void policy_recall_kills(struct policy *, int64_t wall);

/* Notes that worker was heard from (a request, report or register); returns it. */
struct pworker *policy_seen(struct policy *, const char *worker, msec_t now);
/*
 * The worker says it stops: it is dropped at once and each job it was
 * running is retried (or given up), without waiting for it to go silent.
 * Returns how many of its jobs it was running.
 */
int policy_unregister(struct policy *, const char *worker, int64_t wall);

/*
 * A submit of id (given, or made by the shell) with payload (base64).
 * Returns 0 and sets *isnew (0: the id was known with the same payload,
 * nothing changed) and *since (the job's result line, once it has one, has
 * a greater seq); or the code of the refusal (1 refused, 2 malformed) with
 * its one-line reason in err.
 */
int policy_submit(struct policy *, const char *id, const char *payload,
    const struct job_opts *, int64_t wall, int *isnew, uint64_t *since, char *err,
    size_t errlen);

/*
 * The next job for worker (started for it, by an event), or NULL if none is
 * ready. ask is the worker's token of the ask it answers (0: none), kept with
 * the job in its started event: an ask sent again with it gets the same jobs
 * (policy_asked), from this master or, after a fail-over, from its successor.
 */
struct job *policy_next(struct policy *, const char *worker, uint32_t ask, int64_t wall);
/* The timeout of j's attempts, ms. */
int64_t policy_timeout(const struct policy *, const struct job *);

/*
 * The event an answer handing jobs to a worker waits for (is committed up
 * to) before it goes: own, the end of its request's own events (a
 * report's results) and of what came before it, at least our epoch marker
 * (epoch_seq), but not the jobs' accepted and started events that came
 * after: the job runs while they commit. seq (the journal's end, all of
 * them) instead when early is off or the answer tells cancels (cancels
 * rest on their events). Never beyond seq.
 */
/*
 * Whether a snapshot is due, since events after the last one, which held
 * snap_jobs jobs: after every events at the least, and never before as many
 * events as that snapshot held jobs (a log rewritten once it has grown by
 * the size of its base). A snapshot writes every job, and the state gains
 * at most a job an event, so each snapshot is paid for by at least as many
 * events as half the jobs it writes: at most two jobs written per event,
 * however many wait, where a fixed interval made each submit pay a share
 * that grew with them (bench/README.md, q12). Replay reads at most
 * max(every, jobs) events after the snapshot: its time stays in proportion
 * to the state.
 */
int policy_snapshot_due(uint64_t since, long snap_jobs, long every);
uint64_t policy_jobs_need(int early, uint64_t own, uint64_t epoch_seq, uint64_t seq,
    int cancels);

/*
 * A worker's report on attempt number attempt of job id: done with a
 * result (rkey "result" or "result_base64", result its text), or failed
 * (why, errtail: the tail of its stderr, or NULL). Returns 0 (answer ok),
 * or 1 with the reason in err (unknown job, or not the running attempt: a
 * stale report, as after a cancel or a timeout).
 */
int policy_report(struct policy *, const char *worker, const char *id, long attempt,
    int success, const char *rkey, const char *result, const char *why, const char *errtail,
    int64_t wall, char *err, size_t errlen);

/*
 * A report that carries the worker's request for its next job ("next":
 * one message, one committed round trip per job instead of two). The
 * report is taken as policy_report; when it is accepted (0), *next is the
 * job started for worker, or NULL when none is ready (the shell parks the
 * ask as a long poll, as a request's). A refused report starts no job:
 * its answer is a refusal, and a job in it could be lost with it. A job so
 * given is accounted like a requested one: it runs on worker from now (its
 * attempt's timeout counts from now), and if the worker is lost or stops
 * it is retried like its other jobs. next NULL: the report alone, as
 * policy_report.
 */
int policy_report_next(struct policy *, const char *worker, const char *id, long attempt,
    int success, const char *rkey, const char *result, const char *why, const char *errtail,
    int64_t wall, struct job **next, char *err, size_t errlen);

/*
 * Batches: up to max jobs started for worker at once (one "request" with
 * "max", one answer, one commit); each is its worker's as a single one is
 * (running on it, its attempt's timeout counting from now, retried with
 * its other jobs if it is lost or stops, cancelled like a running one).
 * Returns how many were ready, stored in jobs[0 .. n).
 */
int policy_next_batch(struct policy *, const char *worker, uint32_t ask, int64_t wall,
    struct job **jobs, int max);

/* One result of a report that carries several (op "report"). */
struct preport {
	const char *id;
	long attempt;
	int success;
	const char *rkey, *result;	/* done: as policy_report's */
	const char *why, *errtail;	/* failed */
	int rc;				/* in: nonzero, refused by the shell already (err set);
					   out: policy_report's answer for it */
	char err[300];
};

/*
 * A report of several results: each is taken as policy_report takes one,
 * on its own (a refused one, stale or unknown, refuses only itself), in
 * their order. Then, when max > 0 (the report carries the worker's request
 * for max jobs), up to max jobs are started for worker, whatever became of
 * the results: the answer is ok with a list of the refused ones, so a job
 * in it is not lost with a refusal. Returns how many results were accepted;
 * *nnext the jobs started, in next[0 .. *nnext).
 */
int policy_reports(struct policy *, const char *worker, struct preport *, int n, int64_t wall,
    struct job **next, int max, int *nnext);

/*
 * Cancels job id: a pending (or delayed) or running one ends as cancelled;
 * a running one's worker is told by policy_kills. Returns 0, or 1 with the
 * reason in err (unknown id, or finished already).
 */
int policy_cancel(struct policy *, const char *id, int64_t wall, char *err, size_t errlen);
/* The ids of cancelled attempts to tell worker of (an array; NULL if none); told once. */
cJSON *policy_kills(struct policy *, const char *worker);
/* Whether there are cancels to tell worker of. */
int policy_kills_for(const struct policy *, const char *worker);
/*
 * The jobs running on worker that were given to its ask with this token
 * (at most max): an ask sent again after its answer was lost with a
 * connection gets them again, rather than new ones while they wait for
 * work-timeout. 0 for token 0.
 */
int policy_asked(const struct policy *, const char *worker, uint32_t ask, struct job **jobs,
    int max);

/*
 * Time passes: attempts past their timeout are retried, silent workers
 * dropped (their jobs retried), finished jobs forgotten after
 * keep-finished. now is monotonic ms, wall the wall clock.
 */
void policy_tick(struct policy *, msec_t now, int64_t wall);

#endif
