/* test-proc.c: one supervised process's lifecycle (proc.c), on a virtual clock. */
#include "proc.h"
#include "unit.h"

#define STOP	3000	/* the stop timeout of these tests */

/* Wanted from the start: started at once, and left alone while it runs. */
static void
start(void)
{
	struct proc p;

	proc_init(&p, STOP);
	CHECK_INT(p.state, PROC_IDLE);
	CHECK_INT(proc_action(&p, 0, 1000), ACT_NONE);
	CHECK_INT(proc_deadline(&p, 0), -1);
	CHECK_INT(proc_deadline(&p, 1), 0);	/* due: the next action starts it */
	CHECK_INT(proc_action(&p, 1, 1000), ACT_START);
	CHECK_INT(p.state, PROC_RUNNING);
	CHECK_INT(p.started, 1000);
	CHECK_INT(proc_action(&p, 1, 1001), ACT_NONE);
	CHECK_INT(proc_action(&p, 1, 500000), ACT_NONE);
	CHECK_INT(proc_deadline(&p, 1), -1);
	CHECK_INT(p.restarts, 0);
}

/* It crashes again and again: 1, 2, 4 ... 30 s, 30 s; never earlier. */
static void
crash_backoff(void)
{
	static const msec_t want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
	struct proc p;
	msec_t t = 1000;
	int i;

	proc_init(&p, STOP);
	CHECK_INT(proc_action(&p, 1, t), ACT_START);
	for (i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++) {
		t += 700;
		proc_exited(&p, t);
		CHECK_INT(p.state, PROC_IDLE);
		CHECK_INT(p.restart_at, t + want[i]);
		CHECK_INT(proc_deadline(&p, 1), t + want[i]);
		CHECK_INT(proc_deadline(&p, 0), -1);
		CHECK_INT(proc_action(&p, 1, t + want[i] - 1), ACT_NONE);
		t += want[i];
		CHECK_INT(proc_action(&p, 1, t), ACT_START);
		CHECK_INT(proc_deadline(&p, 1), -1);
	}
	CHECK_INT(p.backoff, PROC_BACKOFF_MAX);
	CHECK_INT(p.restarts, 8);
}

/* Ran the reset time before crashing: back to the shortest wait; just short: not. */
static void
backoff_reset(void)
{
	struct proc p;
	msec_t t = 1000;

	proc_init(&p, STOP);
	CHECK_INT(proc_action(&p, 1, t), ACT_START);
	proc_exited(&p, t += 10);		/* 1 s */
	CHECK_INT(proc_action(&p, 1, t += 1000), ACT_START);
	proc_exited(&p, t += 10);		/* 2 s */
	CHECK_INT(proc_action(&p, 1, t += 2000), ACT_START);
	proc_exited(&p, t += 10);		/* 4 s */
	CHECK_INT(p.restart_at, t + 4000);
	CHECK_INT(proc_action(&p, 1, t += 4000), ACT_START);
	/* just short of the reset time: it goes on doubling */
	proc_exited(&p, t += PROC_BACKOFF_RESET - 1);
	CHECK_INT(p.restart_at, t + 8000);
	CHECK_INT(proc_action(&p, 1, t += 8000), ACT_START);
	/* ran the reset time: starts afresh */
	proc_exited(&p, t += PROC_BACKOFF_RESET);
	CHECK_INT(p.restart_at, t + PROC_BACKOFF_MIN);
	CHECK_INT(proc_action(&p, 1, t += PROC_BACKOFF_MIN), ACT_START);
	proc_exited(&p, t += 1);
	CHECK_INT(p.restart_at, t + 2000);
	CHECK_INT(p.restarts, 6);
}

/* No longer wanted: SIGTERM once, SIGKILL after the stop timeout, and again until it is gone. */
static void
term_then_kill(void)
{
	struct proc p;

	proc_init(&p, STOP);
	CHECK_INT(proc_action(&p, 1, 1000), ACT_START);
	CHECK_INT(proc_action(&p, 0, 2000), ACT_TERM);
	CHECK_INT(p.state, PROC_STOPPING);
	CHECK_INT(proc_deadline(&p, 0), 2000 + STOP);
	CHECK_INT(proc_deadline(&p, 1), 2000 + STOP);	/* wanted or not */
	CHECK_INT(proc_action(&p, 0, 2001), ACT_NONE);	/* one SIGTERM */
	CHECK_INT(proc_action(&p, 0, 2000 + STOP - 1), ACT_NONE);
	CHECK_INT(proc_action(&p, 0, 2000 + STOP), ACT_KILL);
	CHECK_INT(proc_deadline(&p, 0), 2000 + STOP + PROC_KILL_AGAIN);
	CHECK_INT(proc_action(&p, 0, 2000 + STOP + 1), ACT_NONE);
	CHECK_INT(proc_action(&p, 0, 2000 + STOP + PROC_KILL_AGAIN), ACT_KILL);
	/* gone at last: stopped as asked, not a crash */
	proc_exited(&p, 7000);
	CHECK_INT(p.state, PROC_IDLE);
	CHECK_INT(p.restarts, 0);
	CHECK_INT(proc_action(&p, 0, 7000), ACT_NONE);
	CHECK_INT(proc_deadline(&p, 0), -1);
	CHECK_INT(proc_action(&p, 1, 7000), ACT_START);	/* wanted again: at once */
}

/* A stop timeout of 0: SIGKILL on the next look. */
static void
no_stop_timeout(void)
{
	struct proc p;

	proc_init(&p, 0);
	CHECK_INT(proc_action(&p, 1, 1000), ACT_START);
	CHECK_INT(proc_action(&p, 0, 2000), ACT_TERM);
	CHECK_INT(proc_action(&p, 0, 2000), ACT_KILL);
}

/* It exits while stopping: no backoff, and a stop clears the backoff of earlier crashes. */
static void
exit_while_stopping(void)
{
	struct proc p;
	msec_t t = 1000;

	proc_init(&p, STOP);
	CHECK_INT(proc_action(&p, 1, t), ACT_START);
	proc_exited(&p, t += 10);
	CHECK_INT(proc_action(&p, 1, t += 1000), ACT_START);
	proc_exited(&p, t += 10);
	CHECK_INT(proc_action(&p, 1, t += 2000), ACT_START);
	CHECK_INT(p.backoff, 4000);
	CHECK_INT(proc_action(&p, 0, t += 100), ACT_TERM);
	proc_exited(&p, t += 200);
	CHECK_INT(p.state, PROC_IDLE);
	CHECK_INT(p.restarts, 2);
	CHECK_INT(proc_action(&p, 1, t), ACT_START);
	/* its next crash waits the shortest time again */
	proc_exited(&p, t += 10);
	CHECK_INT(p.restart_at, t + PROC_BACKOFF_MIN);
}

/* Wanted again while it stops: let it stop (SIGTERM is not taken back), then start at once. */
static void
wanted_again_while_stopping(void)
{
	struct proc p;

	proc_init(&p, STOP);
	CHECK_INT(proc_action(&p, 1, 1000), ACT_START);
	CHECK_INT(proc_action(&p, 0, 2000), ACT_TERM);
	CHECK_INT(proc_action(&p, 1, 2100), ACT_NONE);
	CHECK_INT(p.state, PROC_STOPPING);
	/* still killed if it ignores the SIGTERM */
	CHECK_INT(proc_action(&p, 1, 2000 + STOP), ACT_KILL);
	proc_exited(&p, 5100);
	CHECK_INT(proc_deadline(&p, 1), 5100);
	CHECK_INT(proc_action(&p, 1, 5100), ACT_START);
	CHECK_INT(p.started, 5100);
}

/* Not wanted while it waits out a backoff: nothing; wanted again: the backoff still holds. */
static void
unwanted_during_backoff(void)
{
	struct proc p;

	proc_init(&p, STOP);
	CHECK_INT(proc_action(&p, 1, 1000), ACT_START);
	proc_exited(&p, 1500);
	CHECK_INT(proc_action(&p, 0, 1600), ACT_NONE);	/* nothing runs: nothing to stop */
	CHECK_INT(proc_deadline(&p, 0), -1);
	CHECK_INT(proc_action(&p, 0, 2600), ACT_NONE);	/* not wanted: not started */
	CHECK_INT(proc_action(&p, 1, 2499), ACT_NONE);
	CHECK_INT(proc_action(&p, 1, 2500), ACT_START);
}

/* It could not be started (fork failed): a crash, with its backoff, not a spin. */
static void
start_failed(void)
{
	struct proc p;

	proc_init(&p, STOP);
	CHECK_INT(proc_action(&p, 1, 1000), ACT_START);
	proc_exited(&p, 1000);
	CHECK_INT(proc_action(&p, 1, 1000), ACT_NONE);
	CHECK_INT(proc_deadline(&p, 1), 2000);
	CHECK_INT(proc_action(&p, 1, 2000), ACT_START);
	proc_exited(&p, 2000);
	CHECK_INT(proc_deadline(&p, 1), 4000);
}

/* An exit reported while idle (a stray reap) changes nothing. */
static void
exit_while_idle(void)
{
	struct proc p;

	proc_init(&p, STOP);
	CHECK_INT(proc_action(&p, 1, 1000), ACT_START);
	proc_exited(&p, 1500);
	proc_exited(&p, 1600);
	CHECK_INT(p.restart_at, 2500);
	CHECK_INT(p.restarts, 1);
	CHECK_STR(proc_state_name(p.state), "idle");
}

int
main(void)
{
	RUN(start);
	RUN(crash_backoff);
	RUN(backoff_reset);
	RUN(term_then_kill);
	RUN(no_stop_timeout);
	RUN(exit_while_stopping);
	RUN(wanted_again_while_stopping);
	RUN(unwanted_during_backoff);
	RUN(start_failed);
	RUN(exit_while_idle);
	return unit_done();
}
