/* test-downing.c: the downing strategies, stability and auto-down, without I/O. */
#include <string.h>

#include "downing.h"
#include "unit.h"

static struct akc_config cfg;

static void
setup(enum downing_strategy s)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.strategy = s;
	cfg.stable_after = 2000;
	cfg.quorum_size = 3;
	cfg.down_if_alone = 1;
}

/* n members on ports 1..n, uids 1..n, Up with up-number = uid; role on all */
static void
cluster(struct mstate *st, int n)
{
	struct member m;
	int i;

	mstate_init(st);
	for (i = 1; i <= n; i++) {
		memset(&m, 0, sizeof(m));
		m.uid = (uint64_t)i;
		snprintf(m.name, sizeof(m.name), "n%d", i);
		snprintf(m.address, sizeof(m.address), "tcp://127.0.0.1:%d", i);
		snprintf(m.roles, sizeof(m.roles), "%s", i % 2 ? "odd" : "even");
		m.status = MS_UP;
		m.up_number = i;
		mstate_add(st, &m);
	}
}

/* self's view: the listed uids are unreachable (observed by self) */
static void
cut(struct mstate *st, uint64_t self, const int *uids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		reach_set(&st->reach, self, (uint64_t)uids[i], RS_UNREACHABLE);
}

static int
downs(const struct verdict *v, uint64_t uid)
{
	int i;

	for (i = 0; i < v->ndown; i++)
		if (v->down[i] == uid)
			return 1;
	return 0;
}

/* Runs ticks from t=0 to t=end; returns the first verdict time or -1. */
static msec_t
run(struct mstate *st, uint64_t self, int leader, msec_t end, struct verdict *v)
{
	struct downing d;
	msec_t t;

	downing_init(&d, &cfg);
	for (t = 0; t <= end; t += 100)
		if (downing_tick(&d, st, self, leader, t, v))
			return t;
	return -1;
}

static void
keep_majority(void)
{
	struct mstate st;
	struct verdict v;
	int two[] = { 4, 5 }, three[] = { 1, 2, 3 };

	setup(DOWNING_KEEP_MAJORITY);
	cluster(&st, 5);
	cut(&st, 1, two, 2);
	CHECK_INT(run(&st, 1, 1, 5000, &v), 2000);	/* after stable-after, not before */
	CHECK_INT(v.decision, DECIDE_DOWN_UNREACHABLE);
	CHECK(downs(&v, 4) && downs(&v, 5) && v.ndown == 2);
	CHECK_INT(run(&st, 1, 0, 5000, &v), -1);	/* only the leader decides */
	mstate_free(&st);
	/* the minority downs itself, self last */
	cluster(&st, 5);
	cut(&st, 4, three, 3);
	CHECK(run(&st, 4, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_REACHABLE);
	CHECK_INT(v.ndown, 2);
	CHECK_INT(v.down[v.ndown - 1], 4);
	mstate_free(&st);
}

static void
tie_breaks_on_lowest_address(void)
{
	struct mstate st;
	struct verdict v;
	int a[] = { 1, 2 }, b[] = { 3, 4 };

	setup(DOWNING_KEEP_MAJORITY);
	cluster(&st, 4);
	cut(&st, 3, a, 2);		/* n1 (lowest) is over there */
	CHECK(run(&st, 3, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_REACHABLE);
	mstate_free(&st);
	cluster(&st, 4);
	cut(&st, 1, b, 2);
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_UNREACHABLE);
	mstate_free(&st);
}

static void
role_counts_only_its_members(void)
{
	struct mstate st;
	struct verdict v;
	int other[] = { 2, 3, 4 };

	setup(DOWNING_KEEP_MAJORITY);
	strcpy(cfg.downing_role, "odd");
	cluster(&st, 5);		/* odd: 1 3 5 */
	cut(&st, 1, other, 3);		/* 1 and 5 reachable (2 odd) vs 3 (1 odd) */
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_UNREACHABLE);	/* 2 odd against 1 */
	CHECK_INT(v.ndown, 3);				/* all unreachable go */
	mstate_free(&st);
}

static void
static_quorum(void)
{
	struct mstate st;
	struct verdict v;
	int one[] = { 5 }, three[] = { 3, 4, 5 };

	setup(DOWNING_STATIC_QUORUM);
	cluster(&st, 5);
	cut(&st, 1, one, 1);
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_UNREACHABLE);
	mstate_free(&st);
	cluster(&st, 5);
	cut(&st, 1, three, 3);
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_REACHABLE);
	mstate_free(&st);
	cluster(&st, 6);		/* 6 > 2 x 3 - 1: two quorums possible */
	cut(&st, 1, one, 1);
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_ALL);
	CHECK_INT(v.ndown, 6);
	mstate_free(&st);
}

static void
keep_oldest(void)
{
	struct mstate st;
	struct verdict v;
	int old[] = { 1 }, others[] = { 2, 3, 4 }, two[] = { 3, 4 };

	setup(DOWNING_KEEP_OLDEST);
	cluster(&st, 4);
	cut(&st, 2, old, 1);		/* the oldest alone over there, down-if-alone */
	CHECK(run(&st, 2, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_UNREACHABLE);
	mstate_free(&st);
	cluster(&st, 4);
	cut(&st, 1, others, 3);		/* the oldest alone here against 3 */
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_REACHABLE);
	cfg.down_if_alone = 0;
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_UNREACHABLE);
	mstate_free(&st);
	cfg.down_if_alone = 1;
	cluster(&st, 4);
	cut(&st, 1, two, 2);
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_UNREACHABLE);
	mstate_free(&st);
}

static void
down_all(void)
{
	struct mstate st;
	struct verdict v;
	int one[] = { 3 };

	setup(DOWNING_DOWN_ALL);
	cluster(&st, 3);
	cut(&st, 1, one, 1);
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK_INT(v.decision, DECIDE_DOWN_ALL);
	CHECK_INT(v.ndown, 3);
	CHECK_INT(v.down[2], 1);	/* self last */
	mstate_free(&st);
}

static void
none_never_downs(void)
{
	struct mstate st;
	struct verdict v;
	int one[] = { 3 };

	setup(DOWNING_NONE);
	cluster(&st, 3);
	cut(&st, 1, one, 1);
	CHECK_INT(run(&st, 1, 1, 60000, &v), -1);
	mstate_free(&st);
}

static void
auto_down(void)
{
	struct mstate st;
	struct verdict v;
	int one[] = { 3 };

	setup(DOWNING_AUTO_DOWN);
	cluster(&st, 3);
	cut(&st, 1, one, 1);
	CHECK_INT(run(&st, 1, 1, 5000, &v), 2000);
	CHECK_INT(v.decision, DECIDE_DOWN_SOME);
	CHECK(downs(&v, 3) && v.ndown == 1);
	mstate_free(&st);
}

/* A link broken one way: both ends are indirectly connected and go; the rest stays. */
static void
indirectly_connected(void)
{
	struct mstate st;
	struct verdict v;

	setup(DOWNING_KEEP_MAJORITY);
	cluster(&st, 3);
	reach_set(&st.reach, 1, 3, RS_UNREACHABLE);	/* 1 does not hear 3 */
	reach_set(&st.reach, 3, 1, RS_UNREACHABLE);	/* and 3 not 1 */
	CHECK(run(&st, 2, 1, 5000, &v) >= 0);
	CHECK_INT(v.ndown, 2);
	CHECK(downs(&v, 1) && downs(&v, 3) && !downs(&v, 2));
	CHECK(run(&st, 1, 1, 5000, &v) >= 0);
	CHECK(downs(&v, 3));
	CHECK_INT(v.down[v.ndown - 1], 1);	/* an indirectly connected leader downs itself last */
	mstate_free(&st);
	/* with more unreachable beyond them, the strategy decides on the rest */
	cluster(&st, 6);
	reach_set(&st.reach, 1, 3, RS_UNREACHABLE);
	reach_set(&st.reach, 3, 1, RS_UNREACHABLE);
	reach_set(&st.reach, 2, 6, RS_UNREACHABLE);
	CHECK(run(&st, 2, 1, 5000, &v) >= 0);
	CHECK(downs(&v, 1) && downs(&v, 3) && downs(&v, 6) && !downs(&v, 2));
	mstate_free(&st);
}

/* A change restarts the clock; changes that never stop end in down-all. */
static void
stability(void)
{
	struct mstate st;
	struct downing d;
	struct verdict v;
	msec_t t;
	int fired = -1;

	setup(DOWNING_KEEP_MAJORITY);
	cluster(&st, 5);
	downing_init(&d, &cfg);
	reach_set(&st.reach, 1, 5, RS_UNREACHABLE);
	for (t = 0; t <= 20000 && fired < 0; t += 100) {
		/* flap n4 every 1.5 s: the set never stays put for 2 s */
		if (t % 1500 == 0)
			reach_set(&st.reach, 1, 4, (t / 1500) % 2 ? RS_UNREACHABLE : RS_REACHABLE);
		if (downing_tick(&d, &st, 1, 1, t, &v))
			fired = (int)t;
	}
	/* stable-after 2 s + max(4 s, 3/4 x 2 s) = 6 s of instability */
	CHECK(fired > 6000 && fired <= 7600);
	CHECK_INT(v.decision, DECIDE_DOWN_ALL);
	mstate_free(&st);
}

int
main(void)
{
	RUN(keep_majority);
	RUN(tie_breaks_on_lowest_address);
	RUN(role_counts_only_its_members);
	RUN(static_quorum);
	RUN(keep_oldest);
	RUN(down_all);
	RUN(none_never_downs);
	RUN(auto_down);
	RUN(indirectly_connected);
	RUN(stability);
	return unit_done();
}
