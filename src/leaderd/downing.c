/* downing.c: which members to down, and why: the split brain strategies and auto-down. */
#include <stdio.h>
#include <string.h>

#include "downing.h"

const char *
decision_name(enum decision d)
{
	switch (d) {
	case DECIDE_NOTHING:		return "nothing";
	case DECIDE_DOWN_UNREACHABLE:	return "down the unreachable side";
	case DECIDE_DOWN_REACHABLE:	return "down this side";
	case DECIDE_DOWN_ALL:		return "down all";
	case DECIDE_DOWN_SOME:		return "down the long unreachable";
	}
	return "?";
}

void
downing_init(struct downing *d, const struct akc_config *cfg)
{
	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->stable_deadline = -1;
	d->stable_after = config_stable_after(cfg, 1);
}

/* down-all-when-unstable (Akka's rule): after stable-after + max(4 s, 3/4 of it). */
static msec_t
unstable_limit(msec_t stable_after)
{
	return stable_after + (3 * stable_after / 4 > 4000 ? 3 * stable_after / 4 : 4000);
}

static int
reachable(const struct mstate *st, const struct member *m, uint64_t self)
{
	return m->uid == self || mstate_reachable(st, m->uid);
}

/* Members the strategies count: not Joining, WeaklyUp, Down or Exiting; with the role. */
static int
counted(const struct member *m, const char *role)
{
	return m->status != MS_JOINING && m->status != MS_WEAKLY_UP &&
	    m->status != MS_DOWN && m->status != MS_EXITING && member_has_role(m, role);
}

static uint64_t
mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0x100000001b3ULL;
}

/*
 * What resets the stability clock (Akka's SBR): a member becoming
 * unreachable or reachable, Up, Down or Exiting. Joining, WeaklyUp and
 * Leaving do not.
 */
static uint64_t
signature(const struct mstate *st, uint64_t self)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];
		int cls = m->status == MS_DOWN ? 2 : m->status == MS_EXITING ? 3 :
		    (m->status == MS_UP || m->status == MS_LEAVING) ? 1 : 0;

		h = mix(mix(mix(h, m->uid), (uint64_t)cls), (uint64_t)reachable(st, m, self));
	}
	return h;
}

static void
add_down(struct verdict *v, uint64_t uid)
{
	if (v->ndown < DOWN_MAX)
		v->down[v->ndown++] = uid;
}

/* Fills v->down for the decision: the other side, this side (self last), or all. */
static void
targets(const struct mstate *st, uint64_t self, struct verdict *v)
{
	int i, me = 0;

	v->ndown = 0;
	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];
		int r = reachable(st, m, self);

		if (m->status == MS_DOWN)
			continue;
		if (m->uid == self) {
			me = v->decision != DECIDE_DOWN_UNREACHABLE;
			continue;
		}
		if ((v->decision == DECIDE_DOWN_UNREACHABLE && !r) ||
		    (v->decision == DECIDE_DOWN_REACHABLE && r) || v->decision == DECIDE_DOWN_ALL)
			add_down(v, m->uid);
	}
	if (me)
		add_down(v, self);
}

static const struct member *
lowest_address(const struct mstate *st, const char *role)
{
	int i;

	for (i = 0; i < st->n; i++)	/* members are in address order */
		if (counted(&st->m[i], role))
			return &st->m[i];
	return NULL;
}

/*
 * The strategies, each side deciding for itself on the same rules:
 * 1. keep-majority: the side with more members survives; on a tie the side
 *    with the lowest address does. Weak point: a three-way split may leave
 *    no majority anywhere, and everyone goes down.
 * 2. static-quorum: a side with at least quorum-size members survives; a
 *    cluster grown past 2 x quorum-size - 1 could hold two quorums, so
 *    everyone goes down rather than risk it.
 * 3. keep-oldest: the side with the oldest member survives, unless the
 *    oldest is alone against two or more (down-if-alone), then it goes.
 * 4. down-all: any unreachability ends the cluster.
 */
static enum decision
decide(const struct mstate *st, uint64_t self, const struct akc_config *c, char *why, size_t len)
{
	const char *role = c->downing_role[0] ? c->downing_role : NULL;
	const struct member *low, *oldest = NULL;
	int i, R = 0, U = 0, oldest_reachable = 0;

	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];

		if (!counted(m, role))
			continue;
		if (reachable(st, m, self))
			R++;
		else
			U++;
		if (oldest == NULL || member_older(m, oldest)) {
			oldest = m;
			oldest_reachable = reachable(st, m, self);
		}
	}
	switch (c->strategy) {
	case DOWNING_KEEP_MAJORITY:
		if (R + U == 0) {
			snprintf(why, len, "no members%s%s", role ? " with role " : "", role ? role : "");
			return DECIDE_DOWN_ALL;
		}
		if (R != U) {
			snprintf(why, len, "%d reachable against %d unreachable", R, U);
			return R > U ? DECIDE_DOWN_UNREACHABLE : DECIDE_DOWN_REACHABLE;
		}
		low = lowest_address(st, role);
		snprintf(why, len, "a tie, %d against %d: the side of the lowest address %s (%s) stays",
		    R, U, low->name, low->address);
		return reachable(st, low, self) ? DECIDE_DOWN_UNREACHABLE : DECIDE_DOWN_REACHABLE;
	case DOWNING_STATIC_QUORUM:
		if (R + U > 2 * c->quorum_size - 1) {
			snprintf(why, len, "%d members exceed 2 x quorum-size %d - 1: two quorums possible",
			    R + U, c->quorum_size);
			return DECIDE_DOWN_ALL;
		}
		snprintf(why, len, "%d reachable, quorum-size %d", R, c->quorum_size);
		return R >= c->quorum_size ? DECIDE_DOWN_UNREACHABLE : DECIDE_DOWN_REACHABLE;
	case DOWNING_KEEP_OLDEST:
		if (oldest == NULL) {
			snprintf(why, len, "no members%s%s", role ? " with role " : "", role ? role : "");
			return DECIDE_DOWN_ALL;
		}
		if (oldest_reachable) {
			if (c->down_if_alone && R == 1 && U >= 2) {
				snprintf(why, len, "the oldest, %s, is alone against %d", oldest->name, U);
				return DECIDE_DOWN_REACHABLE;
			}
			snprintf(why, len, "the oldest, %s, is on this side", oldest->name);
			return DECIDE_DOWN_UNREACHABLE;
		}
		if (c->down_if_alone && U == 1 && R >= 2) {
			snprintf(why, len, "the oldest, %s, is alone on the other side", oldest->name);
			return DECIDE_DOWN_UNREACHABLE;
		}
		snprintf(why, len, "the oldest, %s, is on the other side", oldest->name);
		return DECIDE_DOWN_REACHABLE;
	case DOWNING_DOWN_ALL:
		snprintf(why, len, "%d members unreachable", U);
		return DECIDE_DOWN_ALL;
	default:
		return DECIDE_NOTHING;
	}
}

/*
 * Indirectly connected members (Akka's SBR): a member that both observes
 * someone unreachable and is observed unreachable, or either end of an
 * unreachable record whose subject has seen the current version (it is
 * talking to someone, so this is a broken link, not a dead node). Such
 * members are downed first; the strategy then decides on the rest as if
 * they were gone. Returns how many were found; their uids go to ic.
 */
static int
indirectly_connected(const struct mstate *st, uint64_t *ic, int max)
{
	int i, j, n = 0;

	for (i = 0; i < st->reach.n; i++) {
		const struct reach_record *r = &st->reach.r[i];
		uint64_t both[2] = { r->observer, r->subject };
		int is_ic = u64set_has(&st->seen, r->subject), k, oi;

		if (r->status == RS_REACHABLE || (oi = mstate_find(st, r->observer)) < 0 ||
		    st->m[oi].status == MS_DOWN || mstate_find(st, r->subject) < 0)
			continue;
		for (j = 0; j < st->reach.n && !is_ic; j++)
			if (st->reach.r[j].status != RS_REACHABLE &&
			    st->reach.r[j].subject == r->observer)
				is_ic = 1;	/* the observer is itself unreachable to someone */
		if (!is_ic)
			continue;
		for (k = 0; k < 2; k++) {
			for (j = 0; j < n && ic[j] != both[k]; j++)
				;
			if (j == n && n < max)
				ic[n++] = both[k];
		}
	}
	return n;
}

/* auto-down: each unreachable member is downed once it has been so for stable-after. */
static int
auto_down(struct downing *d, const struct mstate *st, uint64_t self, int leader, msec_t now,
    struct verdict *v)
{
	int i, k, n = 0;

	/* forget members that are reachable, Down or gone */
	for (k = 0; k < d->nsince; ) {
		i = mstate_find(st, d->since_uid[k]);
		if (i < 0 || st->m[i].status == MS_DOWN || reachable(st, &st->m[i], self)) {
			d->since_uid[k] = d->since_uid[d->nsince - 1];
			d->since[k] = d->since[--d->nsince];
		} else
			k++;
	}
	v->ndown = 0;
	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];

		if (m->status == MS_DOWN || reachable(st, m, self))
			continue;
		for (k = 0; k < d->nsince && d->since_uid[k] != m->uid; k++)
			;
		if (k == d->nsince && d->nsince < DOWN_MAX) {
			d->since_uid[k] = m->uid;
			d->since[k] = now;
			d->nsince++;
		}
		if (leader && k < d->nsince && now - d->since[k] >= d->stable_after) {
			add_down(v, m->uid);
			n++;
		}
	}
	if (n == 0)
		return 0;
	v->decision = DECIDE_DOWN_SOME;
	snprintf(v->why, sizeof(v->why), "auto-down: %d member%s unreachable for %lld%s or more",
	    n, n == 1 ? "" : "s", (long long)(d->stable_after % 1000 ? d->stable_after :
	    d->stable_after / 1000), d->stable_after % 1000 ? "ms" : "s");
	return 1;
}

/*
 * Downs the indirectly connected members, then applies the strategy to the
 * state without them (their records dropped) and adds what it decides.
 */
static int
down_indirect(struct downing *d, const struct mstate *st, uint64_t self, msec_t now,
    const uint64_t *ic, int nic, struct verdict *v)
{
	struct mstate rest;
	struct verdict more;
	char why[256];
	int i, k, self_ic = 0;

	mstate_init(&rest);
	mstate_copy(&rest, st);
	for (k = 0; k < nic; k++) {
		if (ic[k] == self)
			self_ic = 1;
		else
			add_down(v, ic[k]);
		if ((i = mstate_find(&rest, ic[k])) >= 0)
			mstate_wm(&rest, i)->status = MS_DOWN;	/* as good as gone: a copy of our own */
	}
	for (i = 0; i < rest.reach.n; ) {
		int oi = mstate_find(&rest, rest.reach.r[i].observer);

		if (oi < 0 || rest.m[oi].status == MS_DOWN)
			rest.reach.r[i] = rest.reach.r[--rest.reach.n];
		else
			i++;
	}
	v->decision = DECIDE_DOWN_SOME;
	snprintf(v->why, sizeof(v->why), "%d indirectly connected (links broken one way or "
	    "between some members only)", nic);
	memset(&more, 0, sizeof(more));
	if (!self_ic) {
		more.decision = decide(&rest, self, d->cfg, why, sizeof(why));
		for (i = 0, k = 0; i < rest.n; i++)
			if (rest.m[i].status != MS_DOWN && !reachable(&rest, &rest.m[i], self))
				k++;
		if (k > 0 && more.decision != DECIDE_NOTHING) {
			targets(&rest, self, &more);
			for (i = 0; i < more.ndown; i++)
				if (more.down[i] != self)
					add_down(v, more.down[i]);
			self_ic = more.decision != DECIDE_DOWN_UNREACHABLE;
			snprintf(v->why + strlen(v->why), sizeof(v->why) - strlen(v->why),
			    "; then %s: %s", why, decision_name(more.decision));
		}
	}
	if (self_ic)
		add_down(v, self);	/* self last */
	mstate_free(&rest);
	d->stable_deadline = now + d->stable_after;
	d->unstable_since = 0;
	return v->ndown > 0;
}

msec_t
downing_next_deadline(const struct downing *d)
{
	const struct akc_config *c = d->cfg;
	msec_t t = -1, u;
	int k;

	if (c->strategy == DOWNING_NONE)
		return -1;
	if (c->strategy == DOWNING_AUTO_DOWN) {
		for (k = 0; k < d->nsince; k++)
			if (t < 0 || d->since[k] + d->stable_after < t)
				t = d->since[k] + d->stable_after;
		return t;
	}
	t = d->stable_deadline;
	if (d->unstable_since > 0) {
		u = d->unstable_since + unstable_limit(d->stable_after) + 1;
		if (t < 0 || u < t)
			t = u;
	}
	return t;
}

int
downing_tick(struct downing *d, const struct mstate *st, uint64_t self, int leader,
    msec_t now, struct verdict *v)
{
	const struct akc_config *c = d->cfg;
	uint64_t sig = signature(st, self);
	uint64_t ic[DOWN_MAX];
	int i, unreachable = 0, nic;

	memset(v, 0, sizeof(*v));
	/* auto: N is every member in the view, the unreachable ones included */
	d->n = st->n;
	d->stable_after = config_stable_after(c, st->n);
	for (i = 0; i < st->n; i++)
		if (st->m[i].status != MS_DOWN && !reachable(st, &st->m[i], self))
			unreachable++;
	if (sig != d->signature || d->stable_deadline < 0) {
		d->signature = sig;
		d->stable_deadline = now + d->stable_after;
		if (unreachable > 0 && d->unstable_since == 0)
			d->unstable_since = now;
	}
	if (unreachable == 0) {
		d->unstable_since = 0;
		d->nsince = 0;
		return 0;
	}
	if (c->strategy == DOWNING_NONE)
		return 0;
	if (c->strategy == DOWNING_AUTO_DOWN)
		return auto_down(d, st, self, leader, now, v);
	if (!leader)
		return 0;
	/* down-all-when-unstable: flapping must end, after stable-after + 3/4 of it */
	if (d->unstable_since > 0 && now - d->unstable_since > unstable_limit(d->stable_after) &&
	    now < d->stable_deadline) {
		v->decision = DECIDE_DOWN_ALL;
		snprintf(v->why, sizeof(v->why), "reachability kept changing for %llds",
		    (long long)(now - d->unstable_since) / 1000);
	} else if (now < d->stable_deadline)
		return 0;
	else if ((nic = indirectly_connected(st, ic, DOWN_MAX)) > 0)
		return down_indirect(d, st, self, now, ic, nic, v);
	else
		v->decision = decide(st, self, c, v->why, sizeof(v->why));
	if (v->decision == DECIDE_NOTHING)
		return 0;
	targets(st, self, v);
	/* decided: the next decision waits for a new stable period */
	d->stable_deadline = now + d->stable_after;
	d->unstable_since = 0;
	return v->ndown > 0;
}
