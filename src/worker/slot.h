/* slot.h: a slot of worker --pipe: one long-running command that gets the slot's jobs one at a time (pipe.c's framing). */
#ifndef WORKER_SLOT_H
#define WORKER_SLOT_H

#include <sys/types.h>

#include "clock.h"
#include "errtail.h"
#include "loop.h"
#include "pipe.h"
#include "proto.h"
#include "spawn.h"

#define SLOT_QUICK	1000	/* ms: a command that dies younger died "at once" */
#define SLOT_BACKOFF_MAX 10000	/* ms: the longest wait before starting it again */

struct slot;
/*
 * The slot's job ended: why NULL for done (res, rlen: the result), else
 * why it failed, with tail the command's stderr since the job started.
 * Not called for a cancelled job.
 */
typedef void (*slot_ended)(struct slot *, const unsigned char *res, size_t rlen,
    const char *why, const char *tail);

struct slot {
	int n;			/* 1..concurrency: AKC_WORKER_SLOT */
	const char *cmd, *worker;
	const struct spawn_cmd *sc;	/* cmd, prepared */
	struct loop *loop;
	slot_ended ended;
	void *arg;		/* ended's, for the worker */
	pid_t pid;		/* the running command; 0: none */
	pid_t dying;		/* one we killed, not reaped yet */
	int in, out, err;	/* our ends of its pipes, -1 when closed */
	msec_t born;		/* when the running command started */
	msec_t eof_at;		/* it closed its stdout: killed if still running then */
	int quick;		/* deaths in a row within SLOT_QUICK of their start */
	char last_exit[48];	/* how the last one ended ("exit status 127") */
	msec_t restart_at;	/* start it then (0: not waiting to) */
	int stopping;		/* the worker stops: no more starts */
	struct linebuf ob;	/* its stdout */
	char *wbuf;		/* the job line being written to its stdin */
	size_t wlen, woff;
	struct errtail et;
	char who[WORK_ID_MAX + 16];	/* "job ID" or "slot N", for its stderr lines */
	/* the job it runs */
	int busy;
	char id[WORK_ID_MAX + 1];
	long attempt;
	msec_t started, timeout, deadline;	/* deadline 0: none */
};

void slot_init(struct slot *, int n, const char *cmd, const struct spawn_cmd *,
    const char *worker, struct loop *, slot_ended, void *arg);
/* Starts its command now; -1 if it cannot (then it tries again later). */
int slot_start(struct slot *, msec_t now);
/* Its command runs, is past its probation after dying at once, and has no job. */
int slot_ready(const struct slot *, msec_t now);
/* Its command dies at once, again and again (2.): the slot will not be ready soon. */
int slot_broken(const struct slot *);
/*
 * Gives it job id (b64: the payload as the master sent it); its deadline
 * is deadline (0: none), timeout is for the message. The slot must be ready.
 */
void slot_give(struct slot *, const char *id, long attempt, const char *b64,
    msec_t timeout, msec_t deadline, msec_t now);
/* The master cancelled its job: the command is killed and started again; nothing is reported. */
void slot_cancel(struct slot *, msec_t now);
/* pid was reaped: 1 if it was this slot's (its job failed if it had one), else 0. */
int slot_reaped(struct slot *, pid_t pid, int status, msec_t now);
/* Timeouts and restarts that are due. */
void slot_tick(struct slot *, msec_t now);
/* When slot_tick has something to do next (after now), else 0. */
msec_t slot_next(const struct slot *, msec_t now);
/* The worker stops: kills its command (its job fails "worker stopped" only if report), no restart. */
void slot_stop(struct slot *, int report);

#endif
