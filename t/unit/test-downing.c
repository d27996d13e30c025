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
	char name[32], addr[64];
	int i;

	mstate_init(st);
	for (i = 1; i <= n; i++) {
		memset(&m, 0, sizeof(m));
		m.uid = (uint64_t)i;
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", i);
		member_set(&m, name, addr, i % 2 ? "odd" : "even");
		m.status = MS_UP;
		m.up_number = i;
		mstate_add(st, &m);
		member_clear(&m);
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

/* stable-after = auto, the default intervals (heartbeat and gossip 1 s) */
static void
setup_auto(enum downing_strategy s)
{
	setup(s);
	cfg.stable_after = STABLE_AFTER_AUTO;
	cfg.heartbeat_interval = 1000;
	cfg.gossip_interval = 1000;
}

/*
 * auto: the decision comes stable-after(N) after the last change, N the
 * members in the view: 3 -> 2 s, 5 -> 3 s, 12 -> 4 s; a crash in a small
 * cluster is downed 2-3 s after its detection, not 20.
 */
static void
auto_grows_with_n(void)
{
	static const int sizes[] = { 3, 5, 12, 30 }, want[] = { 2000, 3000, 4000, 5000 };
	struct mstate st;
	struct verdict v;
	struct downing d;
	int i, last[1];

	setup_auto(DOWNING_KEEP_MAJORITY);
	for (i = 0; i < 4; i++) {
		cluster(&st, sizes[i]);
		last[0] = sizes[i];
		cut(&st, 1, last, 1);
		CHECK_INT(run(&st, 1, 1, 30000, &v), want[i]);
		CHECK_INT(v.decision, DECIDE_DOWN_UNREACHABLE);
		CHECK(downs(&v, (uint64_t)sizes[i]) && v.ndown == 1);
		/* leaderd schedules its round at the deadline, and shows the value */
		downing_init(&d, &cfg);
		CHECK_INT(downing_tick(&d, &st, 1, 1, 500, &v), 0);
		CHECK_INT(d.stable_after, want[i]);
		CHECK_INT(d.n, sizes[i]);
		CHECK_INT(downing_next_deadline(&d), 500 + want[i]);
		mstate_free(&st);
	}
	/* auto-down uses the same value */
	setup_auto(DOWNING_AUTO_DOWN);
	cluster(&st, 5);
	last[0] = 2;
	cut(&st, 1, last, 1);
	CHECK_INT(run(&st, 1, 1, 30000, &v), 3000);
	CHECK_INT(v.decision, DECIDE_DOWN_SOME);
	mstate_free(&st);
	/* an explicit value stays what it is */
	setup(DOWNING_KEEP_MAJORITY);
	cfg.stable_after = 20000;
	cluster(&st, 5);
	cut(&st, 1, last, 1);
	CHECK_INT(run(&st, 1, 1, 30000, &v), 20000);
	mstate_free(&st);
}

/*
 * The partition argument of ARCHITECTURE.md, on the pure core: a 3|2 split
 * that the majority's leader sees complete at 0 and the minority's leader
 * only a heartbeat interval and a gossip hop later (2 s). The minority
 * downs itself at 2 s + stable-after; the majority downs it at stable-after
 * and its new oldest may start the singleton only a margin (= stable-after)
 * after the removal: the minority has decided by then.
 */
static void
auto_partition_order(void)
{
	struct mstate a, b;
	struct downing da, db;
	struct verdict v;
	int minority[] = { 4, 5 }, majority[] = { 1, 2, 3 };
	msec_t t, a_at = -1, b_at = -1, margin;

	setup_auto(DOWNING_KEEP_MAJORITY);
	cluster(&a, 5);
	cluster(&b, 5);
	downing_init(&da, &cfg);
	downing_init(&db, &cfg);
	cut(&a, 1, minority, 2);
	for (t = 0; t <= 30000; t += 100) {
		if (t == 2000)
			cut(&b, 4, majority, 3);
		if (a_at < 0 && downing_tick(&da, &a, 1, 1, t, &v)) {
			a_at = t;
			CHECK_INT(v.decision, DECIDE_DOWN_UNREACHABLE);
		}
		if (b_at < 0 && downing_tick(&db, &b, 4, 1, t, &v)) {
			b_at = t;
			CHECK_INT(v.decision, DECIDE_DOWN_REACHABLE);
			CHECK_INT(v.down[v.ndown - 1], 4);
		}
	}
	margin = config_stable_after(&cfg, 5);
	CHECK_INT(a_at, 3000);
	CHECK_INT(b_at, 5000);
	CHECK(b_at < a_at + margin);	/* the loser is down before the winner's margin ends */
	mstate_free(&a);
	mstate_free(&b);
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
	RUN(auto_grows_with_n);
	RUN(auto_partition_order);
	return unit_done();
}
