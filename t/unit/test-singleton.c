/* test-singleton.c: the singleton state machine (sm.c), without I/O. */
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "unit.h"

/* uids; A, B, C have the role "backend" with up-numbers 1, 2, 3, D has not */
#define A	1
#define B	2
#define C	3
#define D	4
#define WALL	1700000000000LL	/* the wall clock the views are dated with */


static void
add(struct mstate *st, uint64_t uid, int up, const char *roles, enum mstatus status)
{
	struct member m;
	char name[32], addr[64];

	memset(&m, 0, sizeof(m));
	m.uid = uid;
	snprintf(name, sizeof(name), "n%d", (int)uid);
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", 7000 + (int)uid);
	member_set(&m, name, addr, roles);
	m.status = status;
	m.up_number = up;
	mstate_add(st, &m);
	member_clear(&m);
}

static void
set_status(struct mstate *st, uint64_t uid, enum mstatus status)
{
	int i = mstate_find(st, uid);

	if (i >= 0)
		mstate_wm(st, i)->status = status;
}

/* A, B, C Up with the role among others, D Up without it, youngest */
static void
cluster(struct mstate *st)
{
	mstate_init(st);
	add(st, A, 1, "backend", MS_UP);
	add(st, B, 2, "backend,web", MS_UP);
	add(st, C, 3, "web,backend", MS_UP);
	add(st, D, 4, "web", MS_UP);
}

static void
mk(struct singleton *s, const char *role, msec_t margin, msec_t retry, msec_t stop_timeout)
{
	struct conf_singleton c;

	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "sg");
	snprintf(c.role, sizeof(c.role), "%s", role);
	c.hand_over_retry = retry;
	c.stop_timeout = stop_timeout;
	sg_init(s, &c, margin);
	s->majority = 1;	/* memberd's guard: see majority_guard */
}

/* Takes the outbox; returns it as "to:message to:message". */
static const char *
outbox(struct singleton *s)
{
	static char buf[4096];
	struct sg_out *o;
	size_t len = 0;
	int i, n;

	buf[0] = '\0';
	o = sg_outbox(s, &n);
	for (i = 0; i < n && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d:%s",
		    i ? " " : "", (int)o[i].to, o[i].m);
	return buf;
}

/*
 * The guard (issue 9): without a majority of the cluster it remembers in
 * sight, even the oldest never starts it, and a running child is stopped,
 * to start again (not retired) once the majority is back.
 */
static void
majority_guard(void)
{
	struct mstate st;
	struct singleton a;

	cluster(&st);
	mk(&a, "backend", 5000, 1000, 5000);
	a.majority = 0;
	sg_view(&a, &st, A, WALL, 1000);
	CHECK_INT(a.state, SG_YOUNGER);
	CHECK(a.minority_wait);
	CHECK_INT(sg_child_action(&a, 1000), ACT_NONE);
	CHECK(!sg_standby_wanted(&a) || a.child.state == PROC_IDLE);

	a.majority = 1;
	sg_view(&a, &st, A, WALL, 2000);
	CHECK_INT(a.state, SG_OLDEST);
	CHECK(!a.minority_wait);
	CHECK_INT(sg_child_action(&a, 2000), ACT_START);

	/* lost: stopped at once, and no standby beside it while it stops */
	a.majority = 0;
	sg_view(&a, &st, A, WALL, 3000);
	CHECK_INT(a.state, SG_YOUNGER);
	CHECK(!sg_hold_exit(&a));
	CHECK_INT(sg_child_action(&a, 3000), ACT_TERM);
	CHECK(!sg_standby_wanted(&a));
	sg_child_exited(&a, 3100);
	CHECK_INT(sg_child_action(&a, 3100), ACT_NONE);

	/* back: it runs again (a majority lost for a while is not a hand-over) */
	a.majority = 1;
	sg_view(&a, &st, A, WALL, 4000);
	CHECK_INT(a.state, SG_OLDEST);
	CHECK(!a.retired);
	CHECK_INT(sg_child_action(&a, 4000), ACT_START);
	sg_free(&a);
	mstate_free(&st);
}

/* 1. Only the oldest member with the role runs it. */
static void
oldest_with_role_runs(void)
{
	struct mstate st;
	struct singleton s[D + 1];
	uint64_t u;

	cluster(&st);
	for (u = A; u <= D; u++) {
		mk(&s[u], "backend", 5000, 1000, 5000);
		CHECK_INT(s[u].state, SG_START);
		CHECK_INT(sg_child_action(&s[u], 500), ACT_NONE);	/* no view, no child */
		sg_view(&s[u], &st, u, WALL, 1000);
		CHECK_INT(s[u].oldest.uid, A);
		CHECK_STR(outbox(&s[u]), "");
	}
	CHECK_INT(s[A].state, SG_OLDEST);
	CHECK_STR(sg_state_name(s[A].state), "oldest");
	CHECK(s[A].changed);
	CHECK_INT(sg_child_action(&s[A], 1000), ACT_START);
	CHECK_INT(sg_child_action(&s[A], 1001), ACT_NONE);	/* started once */
	CHECK(sg_serving(&s[A]));
	CHECK(sg_hold_exit(&s[A]));
	CHECK_INT(sg_next_deadline(&s[A]), -1);
	for (u = B; u <= D; u++) {
		CHECK_INT(s[u].state, SG_YOUNGER);
		CHECK_INT(sg_child_action(&s[u], 1000), ACT_NONE);
		CHECK(!sg_serving(&s[u]));
		CHECK(!sg_hold_exit(&s[u]));
		CHECK_INT(sg_next_deadline(&s[u]), -1);
	}

	/* Leaving is still a candidate: A keeps it until it is Exiting */
	set_status(&st, A, MS_LEAVING);
	for (u = A; u <= D; u++)
		sg_view(&s[u], &st, u, WALL, 2000);
	CHECK_INT(s[A].state, SG_OLDEST);
	CHECK_INT(s[B].state, SG_YOUNGER);
	CHECK_INT(sg_child_action(&s[A], 2000), ACT_NONE);

	/* D has not the role: not even alone, long after the others went */
	mstate_free(&st);
	mstate_init(&st);
	add(&st, D, 4, "web", MS_UP);
	sg_view(&s[D], &st, D, WALL, 3000);
	sg_tick(&s[D], 100000);
	sg_view(&s[D], &st, D, WALL, 100000);
	CHECK_INT(s[D].state, SG_YOUNGER);
	CHECK_INT(s[D].oldest.uid, 0);
	CHECK_INT(sg_child_action(&s[D], 100000), ACT_NONE);

	for (u = A; u <= D; u++)
		sg_free(&s[u]);
	mstate_free(&st);
}

/* 1b. Which role: "" counts every member, a role in a list counts. */
static void
role_selects_candidates(void)
{
	struct mstate st;
	struct singleton any[D + 1], web[D + 1], back[D + 1];
	uint64_t u;

	/* D, without the role, is the oldest here */
	mstate_init(&st);
	add(&st, D, 1, "web", MS_UP);
	add(&st, A, 2, "backend", MS_UP);
	add(&st, B, 3, "backend,web", MS_UP);
	for (u = A; u <= D; u++) {
		if (u == C)
			continue;
		mk(&any[u], "", 5000, 1000, 5000);
		mk(&web[u], "web", 5000, 1000, 5000);
		mk(&back[u], "backend", 5000, 1000, 5000);
		sg_view(&any[u], &st, u, WALL, 1000);
		sg_view(&web[u], &st, u, WALL, 1000);
		sg_view(&back[u], &st, u, WALL, 1000);
	}
	CHECK_INT(any[D].state, SG_OLDEST);
	CHECK_INT(any[A].state, SG_YOUNGER);
	CHECK_INT(any[B].state, SG_YOUNGER);
	CHECK_INT(sg_child_action(&any[D], 1000), ACT_START);
	CHECK_INT(sg_child_action(&any[A], 1000), ACT_NONE);

	CHECK_INT(web[D].state, SG_OLDEST);
	CHECK_INT(web[B].state, SG_YOUNGER);
	CHECK_INT(web[A].state, SG_YOUNGER);

	CHECK_INT(back[A].state, SG_OLDEST);
	CHECK_INT(back[B].state, SG_YOUNGER);
	CHECK_INT(back[D].state, SG_YOUNGER);
	CHECK_INT(sg_child_action(&back[A], 1000), ACT_START);
	CHECK_INT(sg_child_action(&back[D], 1000), ACT_NONE);

	for (u = A; u <= D; u++) {
		if (u == C)
			continue;
		sg_free(&any[u]);
		sg_free(&web[u]);
		sg_free(&back[u]);
	}
	mstate_free(&st);
}

/* 2. A leaves: B asks, A stops its child and says so, then B starts. */
static void
graceful_hand_over(void)
{
	struct mstate st;
	struct singleton a, b;

	cluster(&st);
	mk(&a, "backend", 5000, 1000, 5000);
	mk(&b, "backend", 5000, 1000, 5000);
	sg_view(&a, &st, A, WALL, 1000);
	sg_view(&b, &st, B, WALL, 1000);
	CHECK_INT(sg_child_action(&a, 1000), ACT_START);

	/* B sees A Exiting first */
	set_status(&st, A, MS_EXITING);
	sg_view(&b, &st, B, WALL, 2000);
	CHECK_INT(b.state, SG_BECOMING);
	CHECK_INT(b.oldest.uid, B);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");
	CHECK_INT(sg_child_action(&b, 2000), ACT_NONE);
	CHECK(!sg_hold_exit(&b));
	CHECK(!sg_serving(&b));
	CHECK_INT(sg_next_deadline(&b), 3000);
	sg_tick(&b, 2999);
	CHECK_STR(outbox(&b), "");
	sg_tick(&b, 3000);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");	/* asked again */
	CHECK_INT(sg_next_deadline(&b), 4000);

	/* A sees itself Exiting: stops the child, holds its exit */
	sg_view(&a, &st, A, WALL, 3000);
	CHECK_INT(a.state, SG_HANDING_OVER);
	CHECK_INT(a.hand_to, B);
	CHECK_STR(outbox(&a), "2:take-over-from-me");
	CHECK(!sg_serving(&a));
	CHECK(sg_hold_exit(&a));
	CHECK_INT(sg_child_action(&a, 3000), ACT_TERM);
	CHECK_INT(sg_child_action(&a, 3001), ACT_NONE);
	CHECK_INT(sg_next_deadline(&a), 8000);	/* the kill */

	sg_receive(&b, A, SG_TAKE_OVER_FROM_ME, 3010);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");
	sg_receive(&a, B, SG_HAND_OVER_TO_ME, 3020);
	CHECK_INT(a.state, SG_HANDING_OVER);
	CHECK_STR(outbox(&a), "2:hand-over-in-progress");
	sg_receive(&b, A, SG_HAND_OVER_PROGRESS, 3030);
	CHECK_INT(sg_next_deadline(&b), 4030);	/* it is on it: ask later */

	/* B waits however long the child takes to stop */
	sg_tick(&b, 4029);
	CHECK_STR(outbox(&b), "");
	sg_tick(&b, 4030);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");
	sg_tick(&b, 7000);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");
	sg_view(&b, &st, B, WALL, 7000);
	CHECK_INT(b.state, SG_BECOMING);
	CHECK_INT(sg_child_action(&b, 7000), ACT_NONE);

	/* stopped: A says so to B and releases its exit */
	sg_child_exited(&a, 7100);
	CHECK_INT(a.state, SG_HANDED);
	CHECK(a.retired);
	CHECK_STR(outbox(&a), "2:hand-over-done");
	CHECK(!sg_hold_exit(&a));
	CHECK_INT(sg_child_action(&a, 7100), ACT_NONE);
	CHECK_INT(sg_next_deadline(&a), -1);
	sg_receive(&b, A, SG_HAND_OVER_DONE, 7200);
	CHECK_INT(b.state, SG_OLDEST);
	CHECK_INT(sg_child_action(&b, 7200), ACT_START);
	CHECK(sg_serving(&b));
	CHECK(sg_hold_exit(&b));
	CHECK_STR(outbox(&b), "");

	/* a done that got lost: asked again, A answers again */
	sg_receive(&a, B, SG_HAND_OVER_TO_ME, 7300);
	CHECK_STR(outbox(&a), "2:hand-over-done");
	CHECK_INT(a.state, SG_HANDED);

	/* A is removed: B keeps it, and never asks a removed member */
	mstate_remove(&st, A, WALL + 8000);
	sg_view(&b, &st, B, WALL + 8000, 9000);
	sg_tick(&b, 20000);
	CHECK_INT(b.state, SG_OLDEST);
	CHECK_STR(outbox(&b), "");

	/* retired: a view that makes A the head again starts nothing */
	mstate_free(&st);
	mstate_init(&st);
	add(&st, A, 1, "backend", MS_UP);
	sg_view(&a, &st, A, WALL + 100000, 100000);
	sg_tick(&a, 200000);
	CHECK_INT(a.state, SG_HANDED);
	CHECK_INT(sg_child_action(&a, 200000), ACT_NONE);
	CHECK(!sg_hold_exit(&a));

	sg_free(&a);
	sg_free(&b);
	mstate_free(&st);
}

/* 2b. B asks before A sees itself leave; A's child may be down between restarts. */
static void
asked_before_own_exit(void)
{
	struct mstate st, sb;
	struct singleton a, b, a2;

	cluster(&st);
	mk(&a, "backend", 5000, 1000, 5000);
	mk(&b, "backend", 5000, 1000, 5000);
	sg_view(&a, &st, A, WALL, 1000);
	sg_view(&b, &st, B, WALL, 1000);
	CHECK_INT(sg_child_action(&a, 1000), ACT_START);

	mstate_init(&sb);
	mstate_copy(&sb, &st);
	set_status(&sb, A, MS_EXITING);
	sg_view(&b, &sb, B, WALL, 2000);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");
	sg_receive(&a, B, SG_HAND_OVER_TO_ME, 2010);
	CHECK_INT(a.state, SG_HANDING_OVER);
	CHECK(a.retired);
	CHECK_STR(outbox(&a), "2:hand-over-in-progress");
	CHECK(sg_hold_exit(&a));
	CHECK_INT(sg_child_action(&a, 2010), ACT_TERM);
	/* its own view still says it is the oldest: no going back */
	sg_view(&a, &st, A, WALL, 2020);
	CHECK_INT(a.state, SG_HANDING_OVER);
	/* then Exiting: nothing more to say yet */
	sg_view(&a, &sb, A, WALL, 2030);
	CHECK_INT(a.state, SG_HANDING_OVER);
	CHECK_STR(outbox(&a), "");
	sg_child_exited(&a, 2500);
	CHECK_INT(a.state, SG_HANDED);
	CHECK_STR(outbox(&a), "2:hand-over-done");
	sg_receive(&b, A, SG_HAND_OVER_DONE, 2510);
	CHECK_INT(b.state, SG_OLDEST);
	CHECK_INT(sg_child_action(&b, 2510), ACT_START);

	/* asked while its crashed child waits out the backoff: done at once */
	mk(&a2, "backend", 5000, 1000, 5000);
	sg_view(&a2, &st, A, WALL, 1000);
	CHECK_INT(sg_child_action(&a2, 1000), ACT_START);
	sg_child_exited(&a2, 1200);
	CHECK_INT(sg_child_action(&a2, 1300), ACT_NONE);
	sg_receive(&a2, B, SG_HAND_OVER_TO_ME, 1300);
	CHECK_INT(a2.state, SG_HANDED);
	CHECK_STR(outbox(&a2), "2:hand-over-in-progress 2:hand-over-done");
	CHECK_INT(sg_child_action(&a2, 5000), ACT_NONE);
	CHECK(!sg_hold_exit(&a2));

	sg_free(&a);
	sg_free(&a2);
	sg_free(&b);
	mstate_free(&st);
	mstate_free(&sb);
}

/* 3. A crashes: Down, then removed; B starts only a margin after the removal. */
static void
crash_waits_for_margin(void)
{
	struct mstate st;
	struct singleton b, c;
	msec_t t;

	cluster(&st);
	mk(&b, "backend", 5000, 1000, 5000);
	mk(&c, "backend", 5000, 1000, 5000);
	sg_view(&b, &st, B, WALL, 1000);
	sg_view(&c, &st, C, WALL, 1000);
	set_status(&st, A, MS_DOWN);
	sg_view(&b, &st, B, WALL, 1500);
	sg_view(&c, &st, C, WALL, 1500);
	CHECK_INT(b.state, SG_BECOMING);
	CHECK_INT(c.state, SG_YOUNGER);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");
	CHECK_STR(outbox(&c), "");

	/* Down but not removed: it may still run it, however long that lasts */
	for (t = 1600; t < 60000; t += 100) {
		sg_tick(&b, t);
		outbox(&b);
		if (sg_child_action(&b, t) != ACT_NONE)
			break;
	}
	CHECK_INT(t, 60000);
	CHECK_INT(b.state, SG_BECOMING);

	/* removed at 60000: the margin runs from there */
	mstate_remove(&st, A, WALL + 59000);
	sg_view(&b, &st, B, WALL + 59000, 60000);
	CHECK_INT(b.state, SG_BECOMING);
	CHECK(sg_next_deadline(&b) > 60000 && sg_next_deadline(&b) <= 65000);
	sg_tick(&b, 64999);
	sg_view(&b, &st, B, WALL + 63999, 64999);
	CHECK_INT(b.state, SG_BECOMING);
	CHECK_INT(sg_child_action(&b, 64999), ACT_NONE);
	CHECK_STR(outbox(&b), "");	/* a removed member is not asked */
	sg_tick(&b, 65000);
	CHECK_INT(b.state, SG_OLDEST);
	CHECK_INT(sg_child_action(&b, 65000), ACT_START);
	CHECK(sg_serving(&b));

	/* C saw the same and stays younger */
	sg_view(&c, &st, C, WALL + 59000, 60000);
	sg_tick(&c, 70000);
	CHECK_INT(c.state, SG_YOUNGER);
	CHECK_INT(sg_child_action(&c, 70000), ACT_NONE);

	sg_free(&b);
	sg_free(&c);
	mstate_free(&st);
}

/*
 * The shell's loop over b alone: tick, act, sleep until the deadline.
 * Returns when it started (-1: never); *late: a deadline lay past margin_end;
 * *spin: a deadline was not in the future after the tick.
 */
static msec_t
run_by_deadlines(struct singleton *b, msec_t now, msec_t end, msec_t margin_end, int *late,
    int *spin)
{
	msec_t d;

	*late = *spin = 0;
	while (now < end) {
		sg_tick(b, now);
		outbox(b);
		if (sg_child_action(b, now) == ACT_START)
			return now;
		if ((d = sg_next_deadline(b)) < 0)
			return -1;
		if (d > margin_end)
			*late = 1;
		if (d <= now)
			*spin = 1;
		now = d > now ? d : now + 1;
	}
	return -1;
}

/*
 * 3b. The deadline while waiting out the margin. Known bug: sg_next_deadline
 * counts the blockers as of next_retry, not now; when every blocker's margin
 * ends before the next retry, none is left to give its end, and the deadline
 * is the retry: the start comes up to hand-over-retry late.
 */
static void
crash_deadline(void)
{
	struct mstate st;
	struct singleton b;
	msec_t started;
	int late, spin;

	/* retries every 10 s, margin 5 s: the deadline is the margin's end */
	cluster(&st);
	mk(&b, "backend", 5000, 10000, 5000);
	sg_view(&b, &st, B, WALL, 1000);
	set_status(&st, A, MS_DOWN);
	sg_view(&b, &st, B, WALL, 1000);
	CHECK_INT(b.state, SG_BECOMING);
	CHECK_INT(sg_next_deadline(&b), 11000);
	mstate_remove(&st, A, WALL + 1000);
	sg_view(&b, &st, B, WALL + 1000, 2000);
	CHECK(sg_next_deadline(&b) > 2000);
	/* says 11000, the next retry: started at 11000, 4 s late */
	CHECK(sg_next_deadline(&b) == 7000);
	started = run_by_deadlines(&b, 2000, 30000, 7000, &late, &spin);
	CHECK(started >= 7000);
	CHECK(!spin);
	CHECK(started == 7000);
	sg_free(&b);
	mstate_free(&st);

	/* retries every second, removed at 2500: the margin ends between two retries */
	cluster(&st);
	mk(&b, "backend", 5000, 1000, 5000);
	sg_view(&b, &st, B, WALL, 1000);
	set_status(&st, A, MS_DOWN);
	sg_view(&b, &st, B, WALL, 1000);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");
	CHECK_INT(sg_next_deadline(&b), 2000);
	sg_tick(&b, 2000);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");
	CHECK_INT(sg_next_deadline(&b), 3000);
	mstate_remove(&st, A, WALL + 1500);
	sg_view(&b, &st, B, WALL + 1500, 2500);
	started = run_by_deadlines(&b, 2500, 30000, 7500, &late, &spin);
	CHECK(started >= 7500);
	CHECK(!spin);
	/* after the tick at 7000 the deadline says 8000: started at 8000 */
	CHECK(started == 7500);
	CHECK(!late);
	sg_free(&b);
	mstate_free(&st);

	/* removed on a retry's beat: on time */
	cluster(&st);
	mk(&b, "backend", 5000, 1000, 5000);
	sg_view(&b, &st, B, WALL, 1000);
	set_status(&st, A, MS_DOWN);
	sg_view(&b, &st, B, WALL, 1000);
	mstate_remove(&st, A, WALL + 1000);
	sg_view(&b, &st, B, WALL + 1000, 2000);
	started = run_by_deadlines(&b, 2000, 30000, 7000, &late, &spin);
	CHECK_INT(started, 7000);
	CHECK(!late);
	CHECK(!spin);
	sg_free(&b);
	mstate_free(&st);
}

/* 4. Asked to hand over when it does not run it. */
static void
asked_when_not_running(void)
{
	struct mstate st;
	struct singleton c, s0, b;

	cluster(&st);

	/* younger: done at once, and retired for good */
	mk(&c, "backend", 5000, 1000, 5000);
	sg_view(&c, &st, C, WALL, 1000);
	CHECK_INT(c.state, SG_YOUNGER);
	sg_receive(&c, D, SG_HAND_OVER_TO_ME, 1100);
	CHECK_STR(outbox(&c), "4:hand-over-done");
	CHECK(c.retired);
	CHECK_INT(c.state, SG_YOUNGER);
	/* later the only one left: still nothing */
	set_status(&st, A, MS_DOWN);
	set_status(&st, B, MS_DOWN);
	sg_view(&c, &st, C, WALL, 2000);
	mstate_remove(&st, A, WALL + 2000);
	mstate_remove(&st, B, WALL + 2000);
	sg_view(&c, &st, C, WALL + 2000, 3000);
	sg_tick(&c, 100000);
	CHECK_INT(c.state, SG_YOUNGER);
	CHECK_INT(sg_child_action(&c, 100000), ACT_NONE);
	CHECK_STR(outbox(&c), "");
	mstate_free(&st);

	/* no view yet: says nothing (it asks again); after the view it says done */
	cluster(&st);
	mk(&s0, "backend", 5000, 1000, 5000);
	sg_receive(&s0, B, SG_HAND_OVER_TO_ME, 500);
	CHECK_INT(s0.state, SG_START);
	CHECK_STR(outbox(&s0), "");
	CHECK_INT(sg_child_action(&s0, 500), ACT_NONE);
	sg_view(&s0, &st, A, WALL, 1000);	/* the head, but asked: retired */
	CHECK_INT(s0.state, SG_YOUNGER);
	CHECK_INT(sg_child_action(&s0, 1000), ACT_NONE);
	sg_receive(&s0, B, SG_HAND_OVER_TO_ME, 1100);
	CHECK_STR(outbox(&s0), "2:hand-over-done");

	/* becoming the oldest: done, and back to younger */
	mk(&b, "backend", 5000, 1000, 5000);
	sg_view(&b, &st, B, WALL, 1000);
	set_status(&st, A, MS_EXITING);
	sg_view(&b, &st, B, WALL, 1200);
	CHECK_INT(b.state, SG_BECOMING);
	CHECK_STR(outbox(&b), "1:hand-over-to-me");
	sg_receive(&b, C, SG_HAND_OVER_TO_ME, 1300);
	CHECK_STR(outbox(&b), "3:hand-over-done");
	CHECK_INT(b.state, SG_YOUNGER);
	sg_receive(&b, A, SG_HAND_OVER_DONE, 1400);
	CHECK_INT(b.state, SG_YOUNGER);
	CHECK_INT(sg_child_action(&b, 1400), ACT_NONE);
	/* a retired node asks nobody when told to take over */
	sg_receive(&b, A, SG_TAKE_OVER_FROM_ME, 1500);
	CHECK_STR(outbox(&b), "");

	sg_free(&c);
	sg_free(&s0);
	sg_free(&b);
	mstate_free(&st);
}

/* 5. The child crashes: restarted after 1, 2, 4 ... 30 s; killed when it ignores TERM. */
static void
child_backoff(void)
{
	static const msec_t want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
	struct mstate st;
	struct singleton a;
	msec_t t = 1000;
	int i;

	mstate_init(&st);
	add(&st, A, 1, "backend", MS_UP);
	mk(&a, "backend", 5000, 1000, 5000);
	sg_view(&a, &st, A, WALL, t);
	CHECK_INT(sg_child_action(&a, t), ACT_START);
	for (i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++) {
		t += 500;
		sg_child_exited(&a, t);
		CHECK_INT(a.state, SG_OLDEST);
		CHECK_INT(a.child.restart_at, t + want[i]);
		CHECK_INT(sg_next_deadline(&a), t + want[i]);
		CHECK(!sg_serving(&a));
		CHECK(sg_hold_exit(&a));
		CHECK_INT(sg_child_action(&a, t + want[i] - 1), ACT_NONE);
		t += want[i];
		CHECK_INT(sg_child_action(&a, t), ACT_START);
		CHECK_INT(sg_next_deadline(&a), -1);
	}
	CHECK_INT(a.child.backoff, SG_BACKOFF_MAX);
	CHECK_INT(a.child.restarts, 7);

	/* ran the reset time: the next crash starts afresh */
	t += SG_BACKOFF_RESET;
	sg_child_exited(&a, t);
	CHECK_INT(a.child.restart_at, t + SG_BACKOFF_MIN);
	t += SG_BACKOFF_MIN;
	CHECK_INT(sg_child_action(&a, t), ACT_START);
	/* just short of it: the backoff goes on doubling */
	t += SG_BACKOFF_RESET - 1;
	sg_child_exited(&a, t);
	CHECK_INT(a.child.restart_at, t + 2000);
	t += 2000;
	CHECK_INT(sg_child_action(&a, t), ACT_START);

	sg_free(&a);
	mstate_free(&st);
}

static void
child_killed_after_stop_timeout(void)
{
	struct mstate st;
	struct singleton a;

	mstate_init(&st);
	add(&st, A, 1, "backend", MS_UP);
	mk(&a, "backend", 5000, 1000, 3000);
	sg_view(&a, &st, A, WALL, 1000);
	CHECK_INT(sg_child_action(&a, 1000), ACT_START);
	sg_receive(&a, B, SG_HAND_OVER_TO_ME, 2000);
	CHECK_STR(outbox(&a), "2:hand-over-in-progress");
	CHECK_INT(sg_child_action(&a, 2000), ACT_TERM);
	CHECK_INT(sg_next_deadline(&a), 5000);
	CHECK_INT(sg_child_action(&a, 4999), ACT_NONE);
	CHECK_INT(sg_child_action(&a, 5000), ACT_KILL);
	CHECK_INT(sg_next_deadline(&a), 6000);
	CHECK_INT(sg_child_action(&a, 5999), ACT_NONE);
	CHECK_INT(sg_child_action(&a, 6000), ACT_KILL);
	CHECK(sg_hold_exit(&a));
	sg_child_exited(&a, 6100);
	CHECK_INT(a.state, SG_HANDED);
	CHECK_STR(outbox(&a), "2:hand-over-done");
	CHECK_INT(sg_child_action(&a, 9000), ACT_NONE);
	CHECK_INT(sg_next_deadline(&a), -1);
	CHECK(!sg_hold_exit(&a));
	sg_free(&a);
	mstate_free(&st);
}

/* 6. Lost (this node down, removed, or memberd gone): stop for good. */
static void
lost_stops_for_good(void)
{
	struct mstate st;
	struct singleton a, b, s0;

	cluster(&st);
	mk(&a, "backend", 5000, 1000, 5000);
	sg_view(&a, &st, A, WALL, 1000);
	CHECK_INT(sg_child_action(&a, 1000), ACT_START);
	sg_lost(&a, "memberd is gone", 1, 2000);
	CHECK_INT(a.state, SG_STOPPING);
	CHECK(strstr(a.why, "memberd is gone") != NULL);
	CHECK(!sg_serving(&a));
	CHECK_INT(sg_child_action(&a, 2000), ACT_TERM);
	CHECK(sg_hold_exit(&a));
	sg_view(&a, &st, A, WALL, 2100);	/* ignored */
	CHECK_INT(a.state, SG_STOPPING);
	sg_receive(&a, B, SG_HAND_OVER_TO_ME, 2200);
	CHECK_STR(outbox(&a), "2:hand-over-in-progress");
	CHECK_INT(sg_child_action(&a, 7000), ACT_KILL);
	sg_child_exited(&a, 7100);
	CHECK(!sg_hold_exit(&a));
	CHECK_INT(a.state, SG_STOPPING);
	sg_receive(&a, B, SG_HAND_OVER_TO_ME, 7200);
	CHECK_STR(outbox(&a), "2:hand-over-done");
	sg_view(&a, &st, A, WALL, 8000);
	sg_tick(&a, 100000);
	CHECK_INT(a.state, SG_STOPPING);
	CHECK_INT(sg_child_action(&a, 100000), ACT_NONE);
	CHECK_INT(sg_next_deadline(&a), -1);

	/* lost while becoming the oldest: a hand-over done changes nothing */
	mk(&b, "backend", 5000, 1000, 5000);
	sg_view(&b, &st, B, WALL, 1000);
	set_status(&st, A, MS_EXITING);
	sg_view(&b, &st, B, WALL, 1100);
	CHECK_INT(b.state, SG_BECOMING);
	outbox(&b);
	sg_lost(&b, "this node is down", 1, 1200);
	CHECK_INT(b.state, SG_STOPPING);
	sg_receive(&b, A, SG_HAND_OVER_DONE, 1300);
	sg_tick(&b, 100000);
	CHECK_INT(b.state, SG_STOPPING);
	CHECK_INT(sg_child_action(&b, 100000), ACT_NONE);
	CHECK(!sg_hold_exit(&b));
	CHECK_STR(outbox(&b), "");

	/* lost before any view */
	set_status(&st, A, MS_UP);
	mk(&s0, "backend", 5000, 1000, 5000);
	sg_lost(&s0, "memberd is gone", 1, 500);
	sg_view(&s0, &st, A, WALL, 1000);
	CHECK_INT(s0.state, SG_STOPPING);
	CHECK_INT(sg_child_action(&s0, 1000), ACT_NONE);

	sg_free(&a);
	sg_free(&b);
	sg_free(&s0);
	mstate_free(&st);
}

/*
 * C, the oldest candidate after B exited (its tombstone marked): sees A
 * Exiting and reachable, then A removed without the exited mark, at 1200.
 */
static void
a_removed_unmarked(struct mstate *cut, struct singleton *c)
{
	cluster(cut);
	mk(c, "backend", 10000, 1000, 5000);
	mstate_remove(cut, B, WALL);
	mstate_tomb_exited(cut, B);
	sg_view(c, cut, C, WALL + 20000, 1000);
	set_status(cut, A, MS_EXITING);
	sg_view(c, cut, C, WALL + 20000, 1100);
	CHECK_INT(c->state, SG_BECOMING);
	mstate_remove(cut, A, WALL + 20100);
	sg_view(c, cut, C, WALL + 20100, 1200);
}

/*
 * 6b. A rolling restart: A hands over to B and leaves; C's view goes from A
 * Leaving to A removed (the leader removed it on its exit confirmation before
 * C saw it Exiting). Then B leaves: C starts on B's hand-over-done at once,
 * with no margin for A, whose tombstone says it exited.
 */
static void
rolling_restart(void)
{
	struct mstate st, cut;
	struct singleton c, fresh;

	cluster(&st);
	mk(&c, "backend", 10000, 1000, 5000);
	sg_view(&c, &st, C, WALL, 1000);
	set_status(&st, A, MS_LEAVING);
	sg_view(&c, &st, C, WALL, 1100);
	mstate_remove(&st, A, WALL + 200);
	mstate_tomb_exited(&st, A);
	sg_view(&c, &st, C, WALL + 200, 1200);
	CHECK_INT(c.state, SG_YOUNGER);
	set_status(&st, B, MS_EXITING);
	sg_view(&c, &st, C, WALL + 300, 1300);
	CHECK_INT(c.state, SG_BECOMING);
	CHECK_STR(outbox(&c), "2:hand-over-to-me");
	sg_receive(&c, B, SG_HAND_OVER_DONE, 1400);
	CHECK_INT(c.state, SG_OLDEST);
	CHECK_INT(sg_child_action(&c, 1400), ACT_START);
	sg_free(&c);

	/* started afresh with that tombstone: it does not block either */
	mk(&fresh, "backend", 10000, 1000, 5000);
	mstate_remove(&st, B, WALL + 1400);
	mstate_tomb_exited(&st, B);
	sg_view(&fresh, &st, C, WALL + 1500, 1500);
	CHECK_INT(fresh.state, SG_OLDEST);
	sg_free(&fresh);
	mstate_free(&st);

	/*
	 * A seen Exiting and reachable, then removed without the confirmation
	 * (the leader found it unreachable: it may still run it behind a cut):
	 * C waits the margin.
	 */
	a_removed_unmarked(&cut, &c);
	sg_tick(&c, 11199);
	CHECK_INT(c.state, SG_BECOMING);
	CHECK_INT(sg_child_action(&c, 11199), ACT_NONE);
	sg_tick(&c, 11200);
	CHECK_INT(c.state, SG_OLDEST);
	sg_free(&c);
	mstate_free(&cut);

	/* the removal first seen without the mark, then a view that has it: no margin */
	a_removed_unmarked(&cut, &c);
	CHECK_INT(c.state, SG_BECOMING);
	mstate_tomb_exited(&cut, A);		/* merged in from the leader's gossip */
	sg_view(&c, &cut, C, WALL + 20200, 1300);
	CHECK_INT(c.state, SG_OLDEST);
	sg_free(&c);
	mstate_free(&cut);
}

/* 7. Started afresh: tombstones of members removed less than the margin ago block. */
static void
tombstones_at_first_view(void)
{
	struct mstate st;
	struct singleton b, fresh, none, skew;
	msec_t started;
	int late, spin;

	/* A went 1 s ago (wall), margin 5 s: B may start in 4 s */
	cluster(&st);
	mstate_remove(&st, A, WALL - 1000);
	mk(&b, "backend", 5000, 1000, 5000);
	sg_view(&b, &st, B, WALL, 10000);
	CHECK_INT(b.state, SG_BECOMING);
	CHECK_STR(outbox(&b), "");	/* nobody to ask */
	CHECK_INT(sg_child_action(&b, 10000), ACT_NONE);
	sg_tick(&b, 13999);
	sg_view(&b, &st, B, WALL + 3999, 13999);
	CHECK_INT(b.state, SG_BECOMING);
	CHECK_INT(sg_child_action(&b, 13999), ACT_NONE);
	sg_tick(&b, 14000);
	CHECK_INT(b.state, SG_OLDEST);
	CHECK_INT(sg_child_action(&b, 14000), ACT_START);

	/* the same, driven by the deadlines */
	mk(&fresh, "backend", 5000, 1000, 5000);
	sg_view(&fresh, &st, B, WALL, 10000);
	started = run_by_deadlines(&fresh, 10000, 60000, 14000, &late, &spin);
	CHECK_INT(started, 14000);
	CHECK(!late);
	CHECK(!spin);
	sg_free(&fresh);

	/* removed the margin ago or more: no wait */
	mk(&fresh, "backend", 5000, 1000, 5000);
	sg_view(&fresh, &st, B, WALL + 4000, 10000);
	CHECK_INT(fresh.state, SG_OLDEST);
	CHECK_INT(sg_child_action(&fresh, 10000), ACT_START);

	/* no margin (no downing): tombstones do not count */
	mk(&none, "backend", 0, 1000, 5000);
	sg_view(&none, &st, B, WALL, 10000);
	CHECK_INT(none.state, SG_OLDEST);

	/* a tombstone dated after our clock: the whole margin from now */
	mk(&skew, "backend", 5000, 1000, 5000);
	sg_view(&skew, &st, B, WALL - 3000, 10000);
	CHECK_INT(skew.state, SG_BECOMING);
	sg_tick(&skew, 14999);
	CHECK_INT(skew.state, SG_BECOMING);
	sg_tick(&skew, 15000);
	CHECK_INT(skew.state, SG_OLDEST);

	sg_free(&b);
	sg_free(&fresh);
	sg_free(&none);
	sg_free(&skew);
	mstate_free(&st);
}

/* As mk, with a standby command configured (the master's "master --standby"). */
static void
mk_standby(struct singleton *s, msec_t stop_timeout)
{
	struct conf_singleton c;

	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "sg");
	snprintf(c.role, sizeof(c.role), "backend");
	snprintf(c.standby_command, sizeof(c.standby_command), "standby");
	c.hand_over_retry = 1000;
	c.stop_timeout = stop_timeout;
	sg_init(s, &c, 5000);
	s->majority = 1;
}

/*
 * 6. The standby runs where the singleton may run one day, never beside
 * it: stopped first when this node becomes the oldest, and the child starts
 * only once the standby has exited (SIGKILL after the stop timeout if need
 * be); it comes back once the child has stopped.
 */
static void
standby_before_child(void)
{
	struct mstate st;
	struct singleton a;

	mstate_init(&st);
	add(&st, A, 1, "backend", MS_UP);
	mk_standby(&a, 3000);
	CHECK_INT(sg_standby_action(&a, 500), ACT_NONE);	/* no view yet */
	a.majority = 0;		/* the oldest, but it waits for a majority */
	sg_view(&a, &st, A, WALL, 1000);
	CHECK_INT(a.state, SG_YOUNGER);
	CHECK_INT(sg_standby_action(&a, 1000), ACT_START);
	CHECK_INT(sg_child_action(&a, 1000), ACT_NONE);
	CHECK_INT(sg_next_deadline(&a), -1);

	/* the oldest: the standby is stopped, the child waits for it */
	a.majority = 1;
	sg_view(&a, &st, A, WALL, 2000);
	CHECK_INT(a.state, SG_OLDEST);
	CHECK_INT(sg_standby_action(&a, 2000), ACT_TERM);
	CHECK_INT(sg_child_action(&a, 2000), ACT_NONE);
	/* the standby's kill is the deadline, not the child's start (due, but it may not) */
	CHECK_INT(sg_next_deadline(&a), 5000);
	CHECK_INT(sg_standby_action(&a, 4999), ACT_NONE);
	CHECK_INT(sg_child_action(&a, 4999), ACT_NONE);
	CHECK_INT(sg_standby_action(&a, 5000), ACT_KILL);
	CHECK_INT(sg_child_action(&a, 5000), ACT_NONE);
	CHECK(!sg_done(&a));
	sg_standby_exited(&a, 5100);
	CHECK_INT(a.standby.restarts, 0);	/* stopped as asked */
	CHECK_INT(sg_standby_action(&a, 5100), ACT_NONE);
	CHECK_INT(sg_child_action(&a, 5100), ACT_START);
	CHECK(sg_serving(&a));
	CHECK_INT(sg_standby_action(&a, 6000), ACT_NONE);	/* never beside it */

	/* the majority lost: the child stops, and the standby waits for it to go */
	a.majority = 0;
	sg_view(&a, &st, A, WALL, 7000);
	CHECK_INT(a.state, SG_YOUNGER);
	CHECK_INT(sg_standby_action(&a, 7000), ACT_NONE);
	CHECK_INT(sg_child_action(&a, 7000), ACT_TERM);
	CHECK_INT(sg_standby_action(&a, 7500), ACT_NONE);
	sg_child_exited(&a, 8000);
	CHECK_INT(sg_standby_action(&a, 8000), ACT_START);
	CHECK_INT(sg_child_action(&a, 8000), ACT_NONE);
	sg_free(&a);
	mstate_free(&st);
}

/* Without a standby command nothing runs until this node is the oldest. */
static void
standby_not_configured(void)
{
	struct mstate st;
	struct singleton a;

	mstate_init(&st);
	add(&st, A, 1, "backend", MS_UP);
	mk(&a, "backend", 5000, 1000, 3000);
	a.majority = 0;
	sg_view(&a, &st, A, WALL, 1000);
	CHECK(sg_standby_wanted(&a));		/* it would be wanted... */
	CHECK_INT(sg_standby_action(&a, 1000), ACT_NONE);	/* ...but there is none */
	CHECK_INT(sg_next_deadline(&a), -1);
	a.majority = 1;
	sg_view(&a, &st, A, WALL, 2000);
	CHECK_INT(sg_child_action(&a, 2000), ACT_START);	/* no standby to wait for */
	sg_free(&a);
	mstate_free(&st);
}

/* A crashing standby is restarted after 1, 2, 4 s, and the loop's deadline says when. */
static void
standby_crash_backoff(void)
{
	struct mstate st;
	struct singleton b;
	msec_t t = 1000;

	cluster(&st);
	mk_standby(&b, 3000);
	sg_view(&b, &st, B, WALL, t);
	CHECK_INT(b.state, SG_YOUNGER);
	CHECK_INT(sg_standby_action(&b, t), ACT_START);
	sg_standby_exited(&b, t += 100);
	CHECK_INT(sg_next_deadline(&b), t + 1000);
	CHECK_INT(sg_standby_action(&b, t + 999), ACT_NONE);
	CHECK_INT(sg_standby_action(&b, t += 1000), ACT_START);
	sg_standby_exited(&b, t += 100);
	CHECK_INT(sg_next_deadline(&b), t + 2000);
	CHECK_INT(sg_standby_action(&b, t += 2000), ACT_START);
	sg_standby_exited(&b, t += 100);
	CHECK_INT(sg_next_deadline(&b), t + 4000);
	CHECK_INT(b.standby.restarts, 3);
	CHECK_INT(b.child.restarts, 0);
	sg_free(&b);
	mstate_free(&st);
}

/*
 * The oldest again while its standby stops, then not: the standby is let
 * stop, and starts again at once (no backoff: it did not crash); the child
 * never ran in between.
 */
static void
standby_wanted_again_while_stopping(void)
{
	struct mstate st;
	struct singleton a;

	mstate_init(&st);
	add(&st, A, 1, "backend", MS_UP);
	mk_standby(&a, 3000);
	a.majority = 0;
	sg_view(&a, &st, A, WALL, 1000);
	CHECK_INT(sg_standby_action(&a, 1000), ACT_START);
	a.majority = 1;
	sg_view(&a, &st, A, WALL, 2000);
	CHECK_INT(sg_standby_action(&a, 2000), ACT_TERM);
	CHECK_INT(sg_child_action(&a, 2000), ACT_NONE);
	a.majority = 0;
	sg_view(&a, &st, A, WALL, 2500);
	CHECK_INT(a.state, SG_YOUNGER);
	CHECK_INT(sg_standby_action(&a, 2500), ACT_NONE);	/* stopping: let it */
	CHECK_INT(sg_child_action(&a, 2500), ACT_NONE);
	sg_standby_exited(&a, 2600);
	CHECK_INT(sg_standby_action(&a, 2600), ACT_START);
	CHECK_INT(sg_child_action(&a, 2600), ACT_NONE);
	sg_free(&a);
	mstate_free(&st);
}

/* Lost (memberd gone, SIGTERM): both stop, and singletond waits for both to be gone. */
static void
standby_stops_when_lost(void)
{
	struct mstate st;
	struct singleton b;

	cluster(&st);
	mk_standby(&b, 3000);
	sg_view(&b, &st, B, WALL, 1000);
	CHECK_INT(sg_standby_action(&b, 1000), ACT_START);
	CHECK(!sg_done(&b));
	sg_lost(&b, "singletond stopping", 0, 2000);
	CHECK(!sg_done(&b));
	CHECK_INT(sg_standby_action(&b, 2000), ACT_TERM);
	CHECK_INT(sg_child_action(&b, 2000), ACT_NONE);
	CHECK_INT(sg_next_deadline(&b), 5000);
	CHECK_INT(sg_standby_action(&b, 5000), ACT_KILL);
	CHECK(!sg_done(&b));
	sg_standby_exited(&b, 5050);
	CHECK(sg_done(&b));
	CHECK_INT(sg_standby_action(&b, 6000), ACT_NONE);
	CHECK_INT(sg_next_deadline(&b), -1);
	sg_free(&b);
	mstate_free(&st);
}

static void
margin_from_config(void)
{
	struct akc_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.strategy = DOWNING_KEEP_MAJORITY;
	cfg.stable_after = 20000;
	CHECK_INT(sg_margin(&cfg, 3), 20000);
	cfg.down_removal_margin = 7000;
	CHECK_INT(sg_margin(&cfg, 3), 7000);
	cfg.down_removal_margin = 0;
	/* auto: stable-after for N, so the margin grows with the cluster */
	cfg.stable_after = STABLE_AFTER_AUTO;
	cfg.heartbeat_interval = 1000;
	cfg.gossip_interval = 1000;
	CHECK_INT(sg_margin(&cfg, 3), 2000);
	CHECK_INT(sg_margin(&cfg, 5), 3000);
	CHECK_INT(sg_margin(&cfg, 200), 6000);
	cfg.down_removal_margin = 7000;
	CHECK_INT(sg_margin(&cfg, 200), 7000);
	cfg.down_removal_margin = 0;
	cfg.strategy = DOWNING_NONE;
	CHECK_INT(sg_margin(&cfg, 3), 0);
}

/* The defaults that matter here: keep-majority, stable-after auto, 1 s intervals. */
static void
defaults_config(struct akc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->strategy = DOWNING_KEEP_MAJORITY;
	cfg->stable_after = STABLE_AFTER_AUTO;
	cfg->heartbeat_interval = 1000;
	cfg->gossip_interval = 1000;
}

/*
 * Issue 13's gap: the SIGKILL wait of a forced stop follows stable-after and
 * the margin in force (stable-after + margin - heartbeat-interval - slack),
 * so the loser's child is dead before the winner's wait ends.
 */
static void
forced_stop_from_config(void)
{
	struct akc_config cfg;

	defaults_config(&cfg);
	/* the defaults: 2 s + 2 s - 1 s - 2 s at 3 members, 3 s + 3 s - 3 s at 5 */
	CHECK_INT(sg_forced_stop(&cfg, 10000, 3), 1000);
	CHECK_INT(sg_forced_stop(&cfg, 10000, 5), 3000);
	CHECK_INT(sg_forced_stop(&cfg, 10000, 27), 5000);
	CHECK_INT(sg_forced_stop(&cfg, 10000, 200), 9000);
	CHECK_INT(sg_forced_stop(&cfg, 10000, 1000), 10000);	/* stop-timeout is the most */
	CHECK_INT(sg_forced_stop(&cfg, 2000, 200), 2000);
	/* never under SG_FORCED_MIN: one member (1 s + 1 s - 1 s - 2 s) */
	CHECK_INT(sg_forced_stop(&cfg, 10000, 1), SG_FORCED_MIN);
	/* an explicit margin counts as set */
	cfg.down_removal_margin = 7000;
	CHECK_INT(sg_forced_stop(&cfg, 10000, 3), 2000 + 7000 - 1000 - SG_FORCED_SLACK);
	/* explicit: the old 20 s + 20 s leaves stop-timeout as it was */
	cfg.down_removal_margin = 0;
	cfg.stable_after = 20000;
	CHECK_INT(sg_forced_stop(&cfg, 10000, 3), 10000);
	/* the suite's timings (t/9002): 2 s + 2 s - 0.1 s - 2 s */
	cfg.stable_after = 2000;
	cfg.heartbeat_interval = 100;
	CHECK_INT(sg_forced_stop(&cfg, 10000, 5), 1900);
	/* no downing strategy: nothing is decided on a timer */
	cfg.strategy = DOWNING_NONE;
	CHECK_INT(sg_forced_stop(&cfg, 10000, 3), 10000);
}

/*
 * The singleton's lease: the forced stop's bound without stop-timeout, at
 * least SG_LEASE_MIN; without a downing strategy from the margin alone, or
 * none.
 */
static void
lease_from_config(void)
{
	struct akc_config cfg;

	defaults_config(&cfg);
	/* the defaults: as sg_forced_stop's, never capped by stop-timeout */
	CHECK_INT(sg_lease(&cfg, 3), 1000);
	CHECK_INT(sg_lease(&cfg, 5), 3000);
	CHECK_INT(sg_lease(&cfg, 1000), sg_forced_stop(&cfg, 1000000, 1000));
	CHECK(sg_lease(&cfg, 1000) > 10000);
	CHECK_INT(sg_lease(&cfg, 1), SG_LEASE_MIN);	/* 1 s + 1 s - 1 s - 2 s */
	/* the campaign's timings: 2 s + 8 s - 0.2 s - 2 s */
	cfg.stable_after = 2000;
	cfg.down_removal_margin = 8000;
	cfg.heartbeat_interval = 200;
	CHECK_INT(sg_lease(&cfg, 5), 7800);
	/* no downing strategy: an operator downs; the margin alone, or no lease */
	cfg.strategy = DOWNING_NONE;
	CHECK_INT(sg_lease(&cfg, 5), 8000 - 200 - SG_FORCED_SLACK);
	cfg.down_removal_margin = 3000;
	CHECK_INT(sg_lease(&cfg, 5), 0);
	cfg.down_removal_margin = 0;
	CHECK_INT(sg_lease(&cfg, 5), 0);
}

/*
 * The lease's renewals (sg_lease_grant): a quarter of it after the last one,
 * with the deadline now + lease; at once, and never later than that, when
 * the keeper holds a later deadline than singletond would grant now: the
 * lease shrank (fewer members), or a stop began whose SIGKILL comes sooner.
 * Before, a shorter lease or a stop's SIGKILL reached the keeper only at the
 * next quarter, and a singletond stopped meanwhile left it the longer one.
 * A lease that ran out is never renewed (before, singletond renewed it when
 * it ran again, and a keeper that had not run either took that renewal).
 */
static void
lease_grants(void)
{
	/* 1 s lease, renewed at 10000 (the keeper holds 11000) */
	CHECK_INT(sg_lease_grant(1000, 10100, 10100, 10000, 11000, 11000, -1), -1);
	CHECK_INT(sg_lease_grant(1000, 10249, 10249, 10000, 11000, 11000, -1), -1);
	CHECK_INT(sg_lease_grant(1000, 10250, 10250, 10000, 11000, 11000, -1), 11250);
	/* no lease: never */
	CHECK_INT(sg_lease_grant(0, 20000, 20000, 10000, -1, -1, -1), -1);
	/* the lease shrinks from 3 s to 1 s (members left): at once, 1 s from now */
	CHECK_INT(sg_lease_grant(1000, 10100, 10100, 10000, 13000, 13000, -1), 11100);
	/* and once: the keeper now holds that */
	CHECK_INT(sg_lease_grant(1000, 10101, 10101, 10100, 11100, 11100, -1), -1);
	/* it grows: at once, the keeper holding less than 3/4 of the new one */
	CHECK_INT(sg_lease_grant(3000, 10500, 10500, 10000, 11000, 11000, -1), 13500);
	/* at the next quarter when it holds more */
	CHECK_INT(sg_lease_grant(3000, 10100, 10100, 10000, 13000, 13000, -1), -1);
	CHECK_INT(sg_lease_grant(3000, 10750, 10750, 10000, 13000, 13000, -1), 13750);
	/* a stop begins at 10100 with its SIGKILL at 10600: the keeper gets 10600 now */
	CHECK_INT(sg_lease_grant(1000, 10100, 10100, 10000, 11000, 11000, 10600), 10600);
	CHECK_INT(sg_lease_grant(1000, 10200, 10200, 10100, 11100, 10600, 10600), -1);
	/* a later SIGKILL than the lease: the lease */
	CHECK_INT(sg_lease_grant(1000, 10250, 10250, 10000, 11000, 11000, 60000), 11250);
	/* the SIGKILL is due (or past): that, not a fresh lease */
	CHECK_INT(sg_lease_grant(1000, 10700, 10700, 10100, 11100, 10600, 10600), 10600);
	/* a lease beyond 31 bits of ms: capped (its deadline travels as 32 bits) */
	CHECK_INT(sg_lease_grant(1L << 40, 0, 0, -(1L << 40), 1L << 41, 1L << 41, -1), SG_LEASE_MAX);
	/* singletond did not run for the whole lease: lapsed, not renewed */
	CHECK_INT(sg_lease_grant(1000, 11000, 11000, 10000, 11000, 11000, -1), SG_LEASE_LAPSED);
	CHECK_INT(sg_lease_grant(1000, 13500, 13500, 10000, 11000, 11000, -1), SG_LEASE_LAPSED);
	/* the keeper's deadline was a stop's SIGKILL: that passing is no lapse */
	CHECK_INT(sg_lease_grant(1000, 10700, 10700, 10100, 11100, 10600, 10600), 10600);
}

/*
 * The lease runs from the view it rests on (sg_lease_since): memberd's `at`
 * of the last view that forced no stop, plus singletond's reaction, or now
 * when that is later. Before, every renewal ran from now: a singletond that
 * stalled as a split began renewed, when it ran again, from the end of its
 * stall, and the keeper let the singleton run past the other side's start
 * (doc/ARCHITECTURE.md, "The singleton's lease").
 */
static void
lease_from_view(void)
{
	/*
	 * a view's date: memberd's at; without one (an older memberd), when
	 * singletond asked, not when it read the answer: asked at 9000,
	 * stalled, read at 14000. Before, 14000: the stall lengthened the lease
	 */
	CHECK_INT(sg_view_at(8800, 9000, 14000), 8800);
	CHECK_INT(sg_view_at(-1, 9000, 14000), 9000);
	CHECK_INT(sg_view_at(15000, 9000, 14000), 9000);
	/* no dated view (an older memberd): from now, as before */
	CHECK_INT(sg_lease_since(10000, -1), 10000);
	/* a view within the reaction: from now */
	CHECK_INT(sg_lease_since(10000, 9500), 10000);
	CHECK_INT(sg_lease_since(10000, 9000), 10000);
	/* older: from the view plus the reaction, however late singletond runs */
	CHECK_INT(sg_lease_since(10000, 8999), 9999);
	CHECK_INT(sg_lease_since(60000, 8000), 9000);
	/*
	 * lease 7.9 s; the split at 8000, singletond stopped from then to 13000
	 * (its last renewal at 7500, the keeper holding 15400): when it runs
	 * again the lease is the view's, 9000 + 7900, not 13000 + 7900
	 */
	CHECK_INT(sg_lease_grant(7900, 13000, sg_lease_since(13000, 8000), 7500, 15400, 15400, -1),
	    16900);
	/* and its forced stop's SIGKILL, planned at 13000 + 7900, does not move that */
	CHECK_INT(sg_lease_grant(7900, 13001, sg_lease_since(13001, 8000), 13000, 16900, 16900,
	    20900), -1);
	/* the view is older than the lease and the reaction: lapsed, not renewed */
	CHECK_INT(sg_lease_grant(1000, 10300, sg_lease_since(10300, 8300), 10000, 11000, 11000, -1),
	    SG_LEASE_LAPSED);
	/* a view 1.9 s old, renewed at 10000 from it: the keeper holds 10301 */
	CHECK_INT(sg_lease_grant(1000, 10200, sg_lease_since(10200, 8301), 10000, 10301, 10301, -1),
	    -1);
	CHECK_INT(sg_lease_grant(1000, 10250, sg_lease_since(10250, 8301), 10000, 10301, 10301, -1),
	    10301);
	/*
	 * renewed at 10100 from that old view (the keeper holds 10301, the next
	 * quarter is 10350); at 10200 a fresh view (dated 10190) comes: it goes
	 * to the keeper at once. Before, it waited for the quarter, and the
	 * keeper killed a singleton whose views had come back at 10301
	 */
	CHECK_INT(sg_lease_grant(1000, 10200, sg_lease_since(10200, 10190), 10100, 10301, 10301, -1),
	    11200);
	/* a view that moves nothing (the same since): nothing before the quarter */
	CHECK_INT(sg_lease_grant(1000, 10200, sg_lease_since(10200, 8301), 10100, 10301, 10301, -1),
	    -1);
	/* in step, views every second: the quarter as before, no more signals */
	CHECK_INT(sg_lease_grant(1000, 10249, sg_lease_since(10249, 10000), 10000, 11000, 11000, -1),
	    -1);
	CHECK_INT(sg_lease_grant(1000, 10250, sg_lease_since(10250, 10000), 10000, 11000, 11000, -1),
	    11250);
}


/*
 * The oldest loses the majority (the losing side of a split): SIGKILL after
 * the forced wait, not stop-timeout; so too when this node is Down in its
 * view or lost its memberd. A hand-over keeps stop-timeout, and is brought
 * forward if the majority goes while it runs.
 */
static void
forced_stop_kills_by_bound(void)
{
	struct mstate st;
	struct singleton a, b, c;

	/* lost the majority */
	cluster(&st);
	mk(&a, "backend", 2000, 1000, 10000);
	a.forced_stop = 1000;
	sg_view(&a, &st, A, WALL, 1000);
	CHECK_INT(sg_child_action(&a, 1000), ACT_START);
	CHECK(!sg_stop_forced(&a));
	CHECK_INT(sg_child_stop_wait(&a), 10000);
	a.majority = 0;
	sg_view(&a, &st, A, WALL, 3000);
	CHECK(sg_stop_forced(&a));
	CHECK_INT(sg_child_stop_wait(&a), 1000);
	CHECK_INT(sg_child_action(&a, 3000), ACT_TERM);
	CHECK_INT(sg_next_deadline(&a), 4000);
	CHECK_INT(sg_child_action(&a, 3999), ACT_NONE);
	CHECK_INT(sg_child_action(&a, 4000), ACT_KILL);
	sg_child_exited(&a, 4010);
	/* the majority back: it runs again, and a graceful stop waits stop-timeout */
	a.majority = 1;
	sg_view(&a, &st, A, WALL, 5000);
	CHECK_INT(sg_child_action(&a, 5000), ACT_START);
	sg_receive(&a, B, SG_HAND_OVER_TO_ME, 6000);
	CHECK(!sg_stop_forced(&a));
	CHECK_INT(sg_child_action(&a, 6000), ACT_TERM);
	CHECK_INT(sg_next_deadline(&a), 16000);
	CHECK_INT(sg_child_action(&a, 8000), ACT_NONE);
	/* ... until the majority goes while it stops: now + the forced wait */
	a.majority = 0;
	sg_view(&a, &st, A, WALL, 8500);
	CHECK_INT(sg_child_action(&a, 8500), ACT_NONE);
	CHECK_INT(sg_next_deadline(&a), 9500);
	CHECK_INT(sg_child_action(&a, 9500), ACT_KILL);

	/* Down in its own view (downed): forced */
	mk(&b, "backend", 2000, 1000, 10000);
	b.forced_stop = 1500;
	sg_view(&b, &st, A, WALL, 1000);
	CHECK_INT(sg_child_action(&b, 1000), ACT_START);
	set_status(&st, A, MS_DOWN);
	sg_view(&b, &st, A, WALL, 2000);
	CHECK(sg_stop_forced(&b));
	CHECK_INT(sg_child_action(&b, 2000), ACT_TERM);
	CHECK_INT(sg_child_action(&b, 3499), ACT_NONE);
	CHECK_INT(sg_child_action(&b, 3500), ACT_KILL);

	/* lost: forced or not, as the shell says */
	set_status(&st, A, MS_UP);
	mk(&c, "backend", 2000, 1000, 10000);
	c.forced_stop = 1500;
	sg_view(&c, &st, A, WALL, 1000);
	CHECK_INT(sg_child_action(&c, 1000), ACT_START);
	sg_lost(&c, "singletond stopping", 0, 2000);
	CHECK(!sg_stop_forced(&c));
	CHECK_INT(sg_child_action(&c, 2000), ACT_TERM);
	CHECK_INT(sg_child_action(&c, 3500), ACT_NONE);
	sg_lost(&c, "this node was downed", 1, 3600);
	CHECK(sg_stop_forced(&c));
	CHECK_INT(sg_child_action(&c, 3600), ACT_NONE);	/* the shell looks after every input */
	CHECK_INT(sg_child_action(&c, 5099), ACT_NONE);
	CHECK_INT(sg_child_action(&c, 5100), ACT_KILL);
	/* a graceful reason after a forced one does not slow it */
	sg_lost(&c, "this node left the cluster", 0, 5200);
	CHECK(sg_stop_forced(&c));

	sg_free(&a);
	sg_free(&b);
	sg_free(&c);
	mstate_free(&st);
}

/*
 * 2 and 3 at random: four nodes, members leave or crash one after another, views
 * lag and messages are lost or reordered. Never two children at once; at the
 * end the oldest left runs it.
 */
struct simnode {
	struct singleton s;
	int alive;		/* neither crashed nor removed */
	int view;		/* version of the state it last saw */
	int running;		/* a child process exists */
	msec_t exit_at;		/* when it exits (-1: not asked, or ignores TERM) */
	int sb_running;		/* a standby process exists */
	msec_t sb_exit_at;	/* when it exits, as exit_at */
};

struct simmsg {
	uint64_t from, to;
	const char *m;
	msec_t at;
};

#define SIM_N		4
#define SIM_VERS	64
#define SIM_MSGS	4096

struct sim {
	struct simnode n[SIM_N + 1];
	struct mstate ver[SIM_VERS];
	int nver;
	struct simmsg msg[SIM_MSGS];
	int nmsg;
	uint32_t seed;
	msec_t now;
	int lossy;
	struct simtotal {
		int twice;		/* a start while another child ran */
		int removed_running;	/* removed while its child ran */
		int beside;		/* a child and a standby at once on a node */
		int starts, dones, kills, bad;
		int sb_starts, sb_kills, sb_bad;
	} tot;
};

/* A fixed-seed generator: the same run every time. */
static uint32_t
rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) & 0xffffff;
}

static void
sim_version(struct sim *sm, const struct mstate *st)
{
	if (sm->nver == SIM_VERS)
		return;
	mstate_init(&sm->ver[sm->nver]);
	mstate_copy(&sm->ver[sm->nver], st);
	sm->nver++;
}

/* The shell: the child action, then the outbox onto the network. */
static void
sim_shell(struct sim *sm, int i)
{
	struct simnode *x = &sm->n[i];
	struct sg_out *o;
	int k, n, j;

	/* the standby first, as keeper.c does */
	switch (sg_standby_action(&x->s, sm->now)) {
	case ACT_START:
		if (x->running)
			sm->tot.beside++;
		x->sb_running = 1;
		x->sb_exit_at = -1;
		sm->tot.sb_starts++;
		break;
	case ACT_TERM:
		x->sb_exit_at = rnd(&sm->seed) % 5 ? sm->now + (msec_t)(rnd(&sm->seed) % 2500) : -1;
		break;
	case ACT_KILL:
		sm->tot.sb_kills++;
		x->sb_exit_at = sm->now + 10;
		break;
	case ACT_NONE:
		break;
	}
	switch (sg_child_action(&x->s, sm->now)) {
	case ACT_START:
		for (j = 1; j <= SIM_N; j++)
			if (j != i && sm->n[j].running)
				sm->tot.twice++;
		if (x->sb_running)
			sm->tot.beside++;
		x->running = 1;
		x->exit_at = -1;
		sm->tot.starts++;
		break;
	case ACT_TERM:
		/* stops within the stop timeout, or ignores TERM */
		x->exit_at = rnd(&sm->seed) % 5 ? sm->now + (msec_t)(rnd(&sm->seed) % 2500) : -1;
		break;
	case ACT_KILL:
		sm->tot.kills++;
		x->exit_at = sm->now + 10;
		break;
	case ACT_NONE:
		break;
	}
	o = sg_outbox(&x->s, &n);
	for (k = 0; k < n && sm->nmsg < SIM_MSGS; k++) {
		if (sm->lossy && rnd(&sm->seed) % 10 == 0)
			continue;
		sm->msg[sm->nmsg].from = (uint64_t)i;
		sm->msg[sm->nmsg].to = o[k].to;
		sm->msg[sm->nmsg].m = o[k].m;
		sm->msg[sm->nmsg].at = sm->now + (sm->lossy ? (msec_t)(rnd(&sm->seed) % 400) : 1);
		sm->nmsg++;
	}
}

static void
sim_step(struct sim *sm)
{
	int i, k;

	sm->now += 1 + (msec_t)(rnd(&sm->seed) % 150);
	/* messages due, in any order */
	for (k = 0; k < sm->nmsg; ) {
		struct simmsg mm = sm->msg[k];

		if (mm.at > sm->now || (sm->lossy && rnd(&sm->seed) % 3 == 0)) {
			k++;
			continue;
		}
		sm->msg[k] = sm->msg[--sm->nmsg];
		i = (int)mm.to;
		if (i < 1 || i > SIM_N || !sm->n[i].alive)
			continue;
		if (strcmp(mm.m, SG_HAND_OVER_DONE) == 0)
			sm->tot.dones++;
		sg_receive(&sm->n[i].s, mm.from, mm.m, sm->now);
		sim_shell(sm, i);
	}
	for (i = 1; i <= SIM_N; i++) {
		struct simnode *x = &sm->n[i];

		if (!x->alive)
			continue;
		if (x->running && x->exit_at < 0 && sm->lossy && rnd(&sm->seed) % 500 == 0)
			x->exit_at = sm->now;	/* the child crashes on its own */
		if (x->running && x->exit_at >= 0 && sm->now >= x->exit_at) {
			x->running = 0;
			sg_child_exited(&x->s, sm->now);
			sim_shell(sm, i);
		}
		if (x->sb_running && x->sb_exit_at < 0 && sm->lossy && rnd(&sm->seed) % 300 == 0)
			x->sb_exit_at = sm->now;	/* the standby crashes */
		if (x->sb_running && x->sb_exit_at >= 0 && sm->now >= x->sb_exit_at) {
			x->sb_running = 0;
			sg_standby_exited(&x->s, sm->now);
			sim_shell(sm, i);
		}
		/* gossip reaches it, a version or all at once */
		if (x->view < sm->nver - 1 && (!sm->lossy || rnd(&sm->seed) % 3 == 0)) {
			x->view = sm->lossy && rnd(&sm->seed) % 2 ? x->view + 1 : sm->nver - 1;
			sg_view(&x->s, &sm->ver[x->view], (uint64_t)i, WALL + sm->now, sm->now);
			sim_shell(sm, i);
		}
		sg_tick(&x->s, sm->now);
		sim_shell(sm, i);
	}
}

static void
sim_remove(struct sim *sm, struct mstate *truth, int i, int exited)
{
	mstate_remove(truth, (uint64_t)i, WALL + sm->now);
	if (exited)
		mstate_tomb_exited(truth, (uint64_t)i);
	sim_version(sm, truth);
	if (sm->n[i].alive) {
		if (sm->n[i].running)
			sm->tot.removed_running++;
		sm->n[i].alive = 0;
	}
}

/*
 * One run, added to *tot; returns 0 when the end state is right. With
 * standby, every node has a standby command too: at the end each member
 * left but the oldest runs it.
 */
static int
sim_run(uint32_t seed, int standby, struct simtotal *tot)
{
	static struct sim sm;
	struct mstate truth;
	int i, k, ok, left = SIM_N, leaving = 0, crashed = 0, stage = 0;
	msec_t next = 2000;

	memset(&sm, 0, sizeof(sm));
	sm.seed = seed;
	sm.now = 1000;
	sm.lossy = 1;
	mstate_init(&truth);
	for (i = 1; i <= SIM_N; i++)
		add(&truth, (uint64_t)i, i, "backend", MS_UP);
	sim_version(&sm, &truth);
	for (i = 1; i <= SIM_N; i++) {
		mk(&sm.n[i].s, "backend", 3000, 500, 2000);
		sm.n[i].s.has_standby = standby;	/* as a standby-command sets it */
		sm.n[i].alive = 1;
		sm.n[i].view = 0;
		sg_view(&sm.n[i].s, &sm.ver[0], (uint64_t)i, WALL + sm.now, sm.now);
		sim_shell(&sm, i);
	}
	/* three departures, each a graceful leave or a crash, of any member */
	while (sm.now < 200000) {
		sim_step(&sm);
		if (sm.now < next)
			continue;
		next = sm.now + 200 + (msec_t)(rnd(&sm.seed) % 3000);
		if (leaving) {
			/* Exiting; removed once it saw that and released its exit */
			if (stage == 0) {
				set_status(&truth, (uint64_t)leaving, MS_EXITING);
				sim_version(&sm, &truth);
				stage = 1;
			} else if (sm.n[leaving].view == sm.nver - 1 &&
			    !sg_hold_exit(&sm.n[leaving].s)) {
				sim_remove(&sm, &truth, leaving, 1);
				leaving = 0;
			}
			continue;
		}
		if (crashed) {
			/* its child died with it; Down, then removed */
			if (stage == 0) {
				set_status(&truth, (uint64_t)crashed, MS_DOWN);
				sim_version(&sm, &truth);
				stage = 1;
			} else {
				sim_remove(&sm, &truth, crashed, 0);
				crashed = 0;
			}
			continue;
		}
		if (left == 1)
			break;
		i = 1 + (int)(rnd(&sm.seed) % SIM_N);
		if (!sm.n[i].alive)
			continue;
		left--;
		stage = 0;
		if (rnd(&sm.seed) % 2) {
			leaving = i;
			set_status(&truth, (uint64_t)i, MS_LEAVING);
			sim_version(&sm, &truth);
		} else {
			crashed = i;
			sm.n[i].alive = 0;
			sm.n[i].running = 0;
			sm.n[i].sb_running = 0;
		}
	}
	/* quiet: nothing lost, everyone sees the last state */
	sm.lossy = 0;
	for (k = 0; k < 1000; k++)
		sim_step(&sm);
	/* the oldest left runs it, and only it */
	ok = 0;
	for (i = 1; i <= SIM_N; i++)
		if (sm.n[i].alive && ok == 0)
			ok = sm.n[i].s.state == SG_OLDEST && sm.n[i].running ? 1 : -1;
		else if (sm.n[i].running)
			ok = -1;
	for (i = 1; i <= SIM_N; i++)
		if (sm.n[i].alive && sm.n[i].sb_running != (standby && !sm.n[i].running))
			tot->sb_bad++;
	for (i = 1; i <= SIM_N; i++)
		sg_free(&sm.n[i].s);
	for (i = 0; i < sm.nver; i++)
		mstate_free(&sm.ver[i]);
	mstate_free(&truth);
	tot->twice += sm.tot.twice;
	tot->beside += sm.tot.beside;
	tot->sb_starts += sm.tot.sb_starts;
	tot->sb_kills += sm.tot.sb_kills;
	tot->removed_running += sm.tot.removed_running;
	tot->starts += sm.tot.starts;
	tot->dones += sm.tot.dones;
	tot->kills += sm.tot.kills;
	return ok == 1 ? 0 : -1;
}

static void
random_departures(void)
{
	struct simtotal tot;
	uint32_t seed;

	memset(&tot, 0, sizeof(tot));
	for (seed = 1; seed <= 300; seed++)
		if (sim_run(seed, 0, &tot) < 0 && tot.bad++ == 0)
			printf("random_departures: seed %u ends without the oldest running it\n", seed);
	CHECK_INT(tot.twice, 0);
	CHECK_INT(tot.removed_running, 0);
	CHECK_INT(tot.bad, 0);
	CHECK_INT(tot.sb_starts, 0);
	CHECK_INT(tot.sb_bad, 0);
	/* the runs did exercise it (725 starts, 248 dones, 57 kills) */
	CHECK(tot.starts > 500 && tot.dones > 100 && tot.kills > 10);

	/* again with a standby command on every node: never beside the child */
	memset(&tot, 0, sizeof(tot));
	for (seed = 1; seed <= 300; seed++)
		if (sim_run(seed, 1, &tot) < 0 && tot.bad++ == 0)
			printf("random_departures: seed %u (standby) ends without the oldest running it\n",
			    seed);
	CHECK_INT(tot.twice, 0);
	CHECK_INT(tot.removed_running, 0);
	CHECK_INT(tot.beside, 0);
	CHECK_INT(tot.bad, 0);
	CHECK_INT(tot.sb_bad, 0);
	/* exercised (681 starts, 1213 standby starts, 133 standby kills) */
	CHECK(tot.starts > 500 && tot.sb_starts > 500 && tot.sb_kills > 10);
}

int
main(void)
{
	RUN(oldest_with_role_runs);
	RUN(majority_guard);
	RUN(role_selects_candidates);
	RUN(graceful_hand_over);
	RUN(asked_before_own_exit);
	RUN(crash_waits_for_margin);
	RUN(crash_deadline);
	RUN(asked_when_not_running);
	RUN(child_backoff);
	RUN(child_killed_after_stop_timeout);
	RUN(standby_before_child);
	RUN(standby_not_configured);
	RUN(standby_crash_backoff);
	RUN(standby_wanted_again_while_stopping);
	RUN(standby_stops_when_lost);
	RUN(lost_stops_for_good);
	RUN(rolling_restart);
	RUN(tombstones_at_first_view);
	RUN(margin_from_config);
	RUN(forced_stop_from_config);
	RUN(lease_from_config);
	RUN(lease_grants);
	RUN(lease_from_view);
	RUN(forced_stop_kills_by_bound);
	RUN(random_departures);
	return unit_done();
}
