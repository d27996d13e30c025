/*
 * work.h: the master's work state, event-sourced and without I/O (the
 * WorkState of Akka's distributed-workers sample). Every change is an event
 * (a JSON object with "e"); work_apply() is the only way state changes, the
 * same way at run time and at replay. The decisions (what to start, what
 * timed out) make events; the shell journals them and then applies them.
 *
 * Events:
 *   {"e":"accepted","id","payload"(base64)}          WorkAccepted
 *   {"e":"started","id","worker","attempt","at"}     WorkStarted (at: wall ms)
 *   {"e":"completed","id","worker","result"}         WorkCompleted (result: text,
 *   {"e":"completed","id","worker","result_base64"}  or the bytes in base64 when
 *                                                    they are not text: utf8_text)
 *   {"e":"attempt-failed","id","worker","why"}       WorkerFailed
 *   {"e":"timed-out","id","worker"}                  WorkerTimedOut
 *   {"e":"failed","id","why"[,"stderr"]}            WorkFailed (gave up; stderr: the
 *                                                    tail of the last attempt's stderr,
 *                                                    when its worker sent one)
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

enum job_status { JOB_PENDING, JOB_RUNNING, JOB_DONE, JOB_FAILED };

struct job {
	char id[WORK_ID_MAX + 1];
	char *payload;			/* base64, while pending or running */
	enum job_status status;
	int attempts;			/* started so far */
	char worker[WORKER_ID_MAX + 1];	/* running on, or finished by */
	int64_t started;		/* wall ms of the current attempt */
	uint64_t seq;			/* finished: the seq of the final event */
	int64_t accepted_at;		/* not state: the shell's monotonic ms of its
					   acceptance by this process, 0 if replayed */
	struct job *hnext;		/* hash chain */
	struct job *prev, *next;	/* pending queue, running list, or finished list */
};

struct work {
	struct job **b;
	size_t nb, n;
	struct job *pend_head, *pend_tail, *run_head;
	struct job *fin_head, *fin_tail;	/* finished jobs, by the seq they finished at */
	long npending, nrunning;
	long ndone, nfailed;		/* finished ever, forgotten ones included */
	long nforgotten;		/* finished jobs forgotten (no longer in the state) */
	uint64_t forgot_upto;		/* the last forget event's upto */
	uint64_t seq;			/* the last event applied */
};

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
cJSON *ev_started(const struct job *, const char *worker, int64_t wall);
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

/* The first pending job (the one to start next), or NULL. */
struct job *work_next(const struct work *);
/* The first running job whose attempt started before wall - timeout, or NULL. */
struct job *work_overdue(const struct work *, int64_t wall, int64_t timeout);

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
