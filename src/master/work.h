/*
 * work.h: the master's work state, event-sourced and without I/O (the
 * WorkState of Akka's distributed-workers sample). Every change is an event
 * (a JSON object with "e"); work_apply() is the only way state changes, the
 * same way at run time and at replay. The decisions (what to start, what
 * timed out) make events; the shell journals them and then applies them.
 *
 * Events (at: the wall-clock ms of the event, set by the master that made
 * it, so every replica and every replay shows the same times; events
 * journaled before a field existed lack it and replay unchanged, as
 * "unknown" times and the defaults):
 *   {"e":"accepted","id","payload"(base64)           WorkAccepted; optional:
 *    [,"at"][,"priority"][,"ready_at"][,"timeout_ms"]} priority 0..2^32-1 (lower
 *                                                    first; absent: 1024), ready_at
 *                                                    (wall ms before which it is not
 *                                                    started: --delay), timeout_ms
 *                                                    (overrides work-timeout)
 *   {"e":"started","id","worker","attempt","at"}     WorkStarted
 *   {"e":"completed","id","worker","result"[,"at"]}  WorkCompleted (result: text,
 *   {"e":"completed","id","worker","result_base64"}  or the bytes in base64 when
 *                                                    they are not text: utf8_text)
 *   {"e":"attempt-failed","id","worker","why"[,"at"]} WorkerFailed
 *   {"e":"timed-out","id","worker"[,"at"][,"why"]}  WorkerTimedOut (why: "worker
 *                                                    lost" when its worker went silent)
 *   {"e":"failed","id","why"[,"stderr"][,"at"]}     WorkFailed (gave up; stderr: the
 *                                                    tail of the last attempt's stderr,
 *                                                    when its worker sent one)
 *   {"e":"cancelled","id"[,"at"]}                    WorkCancelled (akc-cancel): a
 *                                                    pending or running job ends
 *   {"e":"forget","upto"}                            finished jobs whose final event
 *                                                    is at or before seq upto leave
 *                                                    the state (keep-finished); their
 *                                                    result lines stay in the journal
 */
#ifndef MASTER_WORK_H
#define MASTER_WORK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "proto.h"

#define WORKER_ID_MAX	128
#define WORK_STDERR_MAX	4096	/* bytes of a failed attempt's stderr kept (its tail) */
#define WORK_PRIORITY_DEFAULT	1024		/* beanstalkd's default */
#define WORK_PRIORITY_MAX	4294967295L	/* 2^32 - 1: lowest urgency */
#define WORK_TIMEOUT_MAX	(24L * 3600 * 1000)	/* a job's own timeout, ms */
#define WORK_DELAY_MAX	(366L * 24 * 3600 * 1000)	/* a job's delay, ms */
#define WORK_HISTORY_MAX	32	/* events kept per job (the last ones) */

enum job_status { JOB_PENDING, JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_CANCELLED };

/* One event of a job's history, as akc-job shows it. */
struct hist {
	const char *e;			/* the event type (a static string) */
	int64_t at;			/* wall ms; 0: unknown (an event from before "at") */
	int attempt;			/* started: its number; 0 otherwise */
	char *worker;			/* or NULL */
	char *why;			/* or NULL */
};

/* What a submit may ask beyond id and payload (request, accepted event). */
struct job_opts {
	long priority;			/* 0..WORK_PRIORITY_MAX */
	long delay_ms;			/* 0: ready at once */
	long timeout_ms;		/* 0: [master] work-timeout */
};

struct job {
	char id[WORK_ID_MAX + 1];
	char *payload;			/* base64, while pending or running */
	enum job_status status;
	int attempts;			/* started so far */
	char worker[WORKER_ID_MAX + 1];	/* running on, or finished by */
	int64_t started;		/* wall ms of the current (or last) attempt */
	uint64_t seq;			/* finished: the seq of the final event */
	uint32_t priority;		/* lower runs first */
	int64_t ready_at;		/* wall ms before which it is not started; 0: none */
	int64_t timeout_ms;		/* its attempts' timeout; 0: [master] work-timeout */
	int64_t submitted, finished;	/* wall ms; 0: unknown */
	uint64_t order;			/* pending: the seq it became pending at */
	unsigned char phash[16];	/* a hash of its payload (base64 text) */
	int has_phash;			/* 0: restored from a snapshot without one */
	struct hist *hist;		/* the last WORK_HISTORY_MAX events */
	int nhist, hist_dropped;
	int heap;			/* pending: HEAP_READY or HEAP_DELAYED; else 0 */
	size_t hidx;			/* its index in that heap */
	int64_t accepted_at;		/* not state: the shell's monotonic ms of its
					   acceptance by this process, 0 if replayed */
	uint32_t ask;			/* the worker's token of the ask this attempt was
					   given to (0: none); journaled in the started
					   event, so a successor master has it too */
	struct job *hnext;		/* hash chain */
	struct job *prev, *next;	/* running list, or finished list */
};

struct heap {				/* a binary heap of pending jobs */
	struct job **a;
	size_t n, cap;
};

struct work {
	struct job **b;
	size_t nb, n;
	/*
	 * Pending jobs: ready ones by (priority, order); delayed ones (with a
	 * ready_at) by ready_at, moved to ready by work_next once it passed.
	 * The split is a cache: which job work_next picks depends only on the
	 * events and the time asked for, never on when the move happened.
	 */
	struct heap ready, delayed;
	struct job *run_head;
	struct job *fin_head, *fin_tail;	/* finished jobs, by the seq they finished at */
	long npending, nrunning;
	long ndone, nfailed, ncancelled;	/* finished ever, forgotten ones included */
	long nforgotten;		/* finished jobs forgotten (no longer in the state) */
	uint64_t forgot_upto;		/* the last forget event's upto */
	uint64_t seq;			/* the last event applied */
};

enum { HEAP_NONE, HEAP_READY, HEAP_DELAYED };

void work_init(struct work *);
void work_free(struct work *);
const char *job_status_name(enum job_status);
struct job *work_find(const struct work *, const char *id);

/*
 * Applies event number seq (it must be the next one); -1 if the event is
 * malformed or does not fit the state (a corrupt journal): nothing changed.
 */
int work_apply(struct work *, uint64_t seq, const cJSON *ev, char *err, size_t errlen);

/* Event makers: the caller journals the event, then applies it. */
cJSON *ev_accepted(const char *id, const char *payload_b64);
/* The same with a submit's options and the time (at; ready_at = at + delay). */
cJSON *ev_accepted_opts(const char *id, const char *payload_b64, const struct job_opts *,
    int64_t wall);
cJSON *ev_cancelled(const struct job *);
/* Adds "at" (wall ms) to an event; returns ev. */
cJSON *ev_at(cJSON *ev, int64_t wall);
/* Whether job j was accepted with this payload (base64 text); -1: unknown (no hash kept). */
int work_same_payload(const struct job *, const char *payload_b64);
/* The status to show at wall time now: "delayed" for a pending job not yet ready. */
const char *work_status_at(const struct job *, int64_t now);
/* Its history as a JSON array of {"e","at"(RFC 3339 or null)[,"worker"][,"attempt"][,"why"]}. */
cJSON *work_history_json(const struct job *);
/* A wall ms as RFC 3339 UTC with ms into a JSON value, or null when 0 (unknown). */
cJSON *work_time_json(int64_t wall);
cJSON *ev_started(const struct job *, const char *worker, uint32_t ask, int64_t wall);
cJSON *ev_completed(const struct job *, const char *worker, const char *result);
/* The same for a result that is not text (not UTF-8, or with a NUL): its bytes in base64. */
cJSON *ev_completed_b64(const struct job *, const char *worker, const char *result_b64);
/* A result line's or completed event's result: its key ("result" or "result_base64"), or NULL. */
const char *work_result_key(const cJSON *obj);
cJSON *ev_attempt_failed(const struct job *, const char *worker, const char *why);
cJSON *ev_timed_out(const struct job *);
cJSON *ev_failed(const struct job *, const char *why);
/*
 * Adds "stderr" to a failed event: the last WORK_STDERR_MAX bytes of tail
 * (valid UTF-8, cut at a character); nothing when tail is NULL or "".
 * Returns ev.
 */
cJSON *ev_with_stderr(cJSON *ev, const char *tail);
cJSON *ev_forget(uint64_t upto);

/* Whether a forget event with this upto would forget anything. */
int work_forgettable(const struct work *, uint64_t upto);

/*
 * The pending job to start next at wall time now: the ready one of the
 * lowest priority, then the first to become pending; NULL if none is
 * ready. Moves delayed jobs whose time came to the ready ones.
 */
struct job *work_next(struct work *, int64_t now);
/* The earliest ready_at of a delayed job, or 0 if none waits. */
int64_t work_next_ready_at(const struct work *);
/* Pending jobs not yet ready at now (after work_next(now)). */
long work_ndelayed(const struct work *);
/*
 * The first running job whose attempt started more than its timeout (its
 * own, else timeout) plus grace ms before wall, or NULL.
 */
struct job *work_overdue(const struct work *, int64_t wall, int64_t timeout, int64_t grace);

/* A snapshot: the whole state as JSON; work_restore reads it back (-1: bad). */
cJSON *work_snapshot(const struct work *);
int work_restore(struct work *, const cJSON *snap, char *err, size_t errlen);

/*
 * Merging a divergent log: the events some log held after the point where
 * it parted from the master's (salvage, see repl.c) become new events of
 * the master's log, so that no job accepted or finished there is lost.
 * work_merge takes the state w and the salvaged events (an array, in their
 * log's order) and returns the events to journal (an array, to apply in
 * order after w); counts[what] counts what became of each salvaged event.
 */
enum merge_what {
	MERGE_SKIPPED,			/* known here already, or nothing to carry over */
	MERGE_ACCEPTED,			/* a job unknown here, accepted again */
	MERGE_FINISHED,			/* a job pending or running here, finished as it was there */
	MERGE_BAD,			/* not a valid event: skipped */
	MERGE_WHATS
};
cJSON *work_merge(const struct work *w, const cJSON *salvaged, int64_t wall, long counts[MERGE_WHATS]);
/*
 * The jobs of a snapshot as events a merge understands (a log cut behind its
 * snapshot keeps only that of the events before): accepted for every job,
 * then completed or failed, with the text of its result line (line_of,
 * which returns a parsed line to free, or NULL), for a finished one.
 */
cJSON *work_snapshot_events(const cJSON *snap, cJSON *(*line_of)(uint64_t seq, void *arg), void *arg);

#endif
