/* proc.c: the lifecycle of one supervised process (see proc.h). */
#include <string.h>

#include "proc.h"

static const char *state_names[] = { "idle", "running", "stopping" };

const char *
proc_state_name(enum proc_state s)
{
	return state_names[s];
}

void
proc_init(struct proc *p, msec_t stop_timeout)
{
	memset(p, 0, sizeof(*p));
	p->state = PROC_IDLE;
	p->stop_timeout = stop_timeout;
	p->backoff = PROC_BACKOFF_MIN;
}

enum proc_action
proc_action(struct proc *p, int wanted, msec_t now)
{
	switch (p->state) {
	case PROC_IDLE:
		if (!wanted || now < p->restart_at)
			return ACT_NONE;
		p->state = PROC_RUNNING;
		p->started = now;
		return ACT_START;
	case PROC_RUNNING:
		if (wanted)
			return ACT_NONE;
		p->state = PROC_STOPPING;
		p->kill_at = now + p->stop_timeout;
		return ACT_TERM;
	case PROC_STOPPING:
		if (now < p->kill_at)
			return ACT_NONE;
		/*
		 * Its exit is what ends this; until the shell reaps it, look
		 * again later rather than at once (a KILL sent twice is harmless).
		 */
		p->kill_at = now + PROC_KILL_AGAIN;
		return ACT_KILL;
	}
	return ACT_NONE;
}

void
proc_exited(struct proc *p, msec_t now)
{
	if (p->state == PROC_RUNNING) {
		/*
		 * On its own: a crash. Restarting at once would spin on a
		 * command that cannot run, so wait, twice as long each time;
		 * one that ran a while before crashing starts the count afresh.
		 */
		if (now - p->started >= PROC_BACKOFF_RESET)
			p->backoff = PROC_BACKOFF_MIN;
		p->restart_at = now + p->backoff;
		p->backoff = p->backoff * 2 > PROC_BACKOFF_MAX ? PROC_BACKOFF_MAX : p->backoff * 2;
		p->restarts++;
	} else if (p->state == PROC_STOPPING) {
		/* stopped as asked: nothing wrong with it */
		p->restart_at = now;
		p->backoff = PROC_BACKOFF_MIN;
	}
	p->state = PROC_IDLE;
}

msec_t
proc_deadline(const struct proc *p, int wanted)
{
	if (p->state == PROC_STOPPING)
		return p->kill_at;
	if (p->state == PROC_IDLE && wanted)
		return p->restart_at;
	return -1;
}
