/*
 * proc.h: the lifecycle of one supervised process, without I/O (as
 * s6-supervise's, reduced to what singletond needs). Given whether the
 * process is wanted, the time, and that it exited, it says what the shell
 * must do (start it, SIGTERM it, SIGKILL it, nothing) and when to look
 * again. singletond supervises two processes with it, the singleton's
 * child and the standby command; sm.c owns both and the rule between them
 * (never both at once), keeper.c forks, signals and reaps.
 *
 * Why a core of its own rather than more of sm.c: the same timing (backoff,
 * stop timeout, kill) applies to both processes, and sm.c is about who runs
 * the singleton, not how a process is kept. Here it is written once and
 * tested with a virtual clock alone (t/unit/test-proc.c).
 */
#ifndef SINGLETOND_PROC_H
#define SINGLETOND_PROC_H

#include "clock.h"

/* A crashing process is restarted after this, doubling up to the max. */
#define PROC_BACKOFF_MIN	1000
#define PROC_BACKOFF_MAX	30000
#define PROC_BACKOFF_RESET	30000	/* ran this long: the next crash starts afresh */
#define PROC_KILL_AGAIN		1000	/* SIGKILL again this often until it is reaped */

enum proc_state {
	PROC_IDLE,		/* not running (maybe waiting out a backoff) */
	PROC_RUNNING,		/* started, not asked to stop */
	PROC_STOPPING,		/* sent SIGTERM, waiting for it to exit */
};
enum proc_action { ACT_NONE, ACT_START, ACT_TERM, ACT_KILL };

struct proc {
	enum proc_state state;
	msec_t stop_timeout;	/* SIGTERM to SIGKILL */
	msec_t started;		/* when it was last started */
	msec_t restart_at;	/* not started again before this */
	msec_t kill_at;		/* while stopping: SIGKILL at this time */
	msec_t backoff;		/* the wait after its next crash */
	int restarts;		/* crashes so far */
};

void proc_init(struct proc *, msec_t stop_timeout);
/*
 * What to do now, given whether the process is wanted; the core assumes
 * the shell does it. A process wanted again while it stops is let stop
 * (SIGTERM is not taken back) and started again once it has exited.
 */
enum proc_action proc_action(struct proc *, int wanted, msec_t now);
/*
 * The process exited, or could not be started (after ACT_START). Exiting
 * while running is a crash: the next start waits the backoff. Exiting when
 * asked to stop is not: it may start again at once.
 */
void proc_exited(struct proc *, msec_t now);
/* When proc_action may next have something to do (-1: only on an input). */
msec_t proc_deadline(const struct proc *, int wanted);
const char *proc_state_name(enum proc_state);

#endif
