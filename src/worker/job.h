/* job.h: one attempt of a job: /bin/sh -c CMD in its own process group, payload in, result and stderr out. */
#ifndef WORKER_JOB_H
#define WORKER_JOB_H

#include <stddef.h>
#include <sys/types.h>

#include "clock.h"
#include "errtail.h"
#include "loop.h"
#include "proto.h"
#include "spawn.h"

#define JOB_RESULT_MAX	(1024 * 1024)	/* stdout kept as the result */

struct job {
	int used;
	char id[WORK_ID_MAX + 1];
	long attempt;
	msec_t started, timeout, deadline;	/* deadline 0: none */
	pid_t pid;		/* also its process group; 0 once reaped */
	int status;		/* wait status, once reaped */
	int in, out, err;	/* our ends of its stdin, stdout and stderr, -1 when closed */
	unsigned char *payload;
	size_t plen, poff;
	unsigned char *res;	/* what it wrote to stdout */
	size_t rlen, rcap;
	struct errtail et;	/* its stderr */
	char who[WORK_ID_MAX + 8];	/* "job ID", for the log */
	int over, timed_out, stopped, cancelled;
	struct loop *loop;
};

/* An unused job: no pipes, no process. */
void job_clear(struct job *);
/*
 * Starts the command for j (id, attempt, payload, timeout set by the caller)
 * with env (NAME=VALUE strings) added to ours, and watches its pipes on
 * loop. -1 if it could not be started (logged).
 */
int job_spawn(struct job *j, struct loop *loop, const struct spawn_cmd *cmd, char *const *env,
    msec_t now);
/* Kills the process group: reason stopped (1) or the timeout (0 is not a reason). */
void job_kill(struct job *, int stopped);
/* Kills it because the master cancelled it: nothing is reported. */
void job_cancel(struct job *);
/* Kills it if its deadline has passed; 1 if it did. */
int job_tick(struct job *, msec_t now);
/*
 * The command was reaped: kills what it left behind, reads its last output
 * and stderr (each stderr line is logged as "job ID: stderr: LINE").
 */
void job_exited(struct job *, int status);
/*
 * The outcome of an attempt that has exited: 0 done (the result is
 * res/rlen), -1 failed with the reason in why ("exit status 2", ...).
 */
int job_outcome(const struct job *, char *why, size_t len);
/* The last lines of its stderr (errtail.h) as UTF-8 text; "" if none. */
const char *job_stderr_tail(struct job *);
/* ms as "10s", "1.5s", "0.25s" */
void fmt_secs(msec_t ms, char *buf, size_t len);
/* Closes its pipes and frees its buffers: the job is unused again. */
void job_free(struct job *);

#endif
