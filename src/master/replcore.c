/* replcore.c: the journal replication protocol's decisions, sans I/O (see replcore.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "proto.h"
#include "replcore.h"

/* ---- the outbox ---- */

static struct rc_action *
push(struct rcore *c, enum rc_act_type type, uint64_t to)
{
	struct rc_action *a;

	if (c->nout == RC_OUTBOX)
		fatalx("replication: outbox full (%d actions)", RC_OUTBOX);
	a = &c->out[c->nout++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->to = to;
	return a;
}

static void
send(struct rcore *c, uint64_t to, cJSON *body)
{
	push(c, RC_SEND, to)->body = body;
}

void
rc_clear(struct rcore *c)
{
	int i;

	for (i = 0; i < c->nout; i++)
		if (c->out[i].type == RC_SEND)
			cJSON_Delete(c->out[i].body);
	c->nout = 0;
}

cJSON *
rc_msg(const char *m)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "m", m);
	return b;
}

/* ---- epochs ---- */

/* xorshift64*: the tags need to differ between masters, not to be secret */
static uint64_t
rnd(struct rcore *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 2685821657736338717ULL;
}

/*
 * Epochs, and why they look the way they do:
 *
 * 1. A new master takes the round above the highest epoch it knows (its
 *    journal's promise and last event); a standby that promised a higher
 *    one says so (reject) and the master takes the round above that.
 * 2. A standby promises an epoch to one master only, and a master needs
 *    promises from a majority of the replica set, so within one cluster
 *    each epoch has one master. A split made by hand (both sides down each
 *    other, different replica sets, a journal moved aside) can give two
 *    masters the same round: the low RC_EPOCH_TAG_BITS bits of an epoch are
 *    random (seeded by the shell from getrandom), so their epochs still
 *    differ, and two logs that hold an event of one epoch at one seq hold
 *    the same events up to there. That is what lets epochs alone find where
 *    two logs part (epochs.h).
 * 3. Weak points: two masters of one round draw the same tag once in 2^20;
 *    journals from before the tag have epochs 1, 2, ... and stay below
 *    every new one, as they must.
 */
static uint64_t
next_epoch(struct rcore *c, uint64_t known)
{
	uint64_t tag = 0;

	while (tag == 0)
		tag = (rnd(c) >> 32) & ((1ULL << RC_EPOCH_TAG_BITS) - 1);
	return (((known >> RC_EPOCH_TAG_BITS) + 1) << RC_EPOCH_TAG_BITS) | tag;
}

/* ---- set-up ---- */

int
rc_in_set(const struct rcore *c, const char *addr)
{
	int k;

	for (k = 0; k < c->nset; k++)
		if (strcmp(c->set[k], addr) == 0)
			return 1;
	return 0;
}

void
rc_init(struct rcore *c, const char *self_addr, const char *sgname, const char *role,
    char set[][CONF_ADDR_MAX], int nset, int replicas, uint64_t seed)
{
	int k;

	memset(c, 0, sizeof(*c));
	snprintf(c->self_addr, sizeof(c->self_addr), "%s", self_addr);
	snprintf(c->sgname, sizeof(c->sgname), "%s", sgname);
	snprintf(c->role, sizeof(c->role), "%s", role);
	c->nset = nset < CONF_MAX_SEEDS ? nset : CONF_MAX_SEEDS;
	for (k = 0; k < c->nset; k++) {
		snprintf(c->set[k], sizeof(c->set[k]), "%s", set[k]);
		snprintf(c->set_who[k], sizeof(c->set_who[k]), "not a member");
	}
	c->quorum = c->nset / 2 + 1;
	c->self_in_set = rc_in_set(c, self_addr);
	c->replicas = replicas;
	/*
	 * One append in flight per standby by default: measured on the 2-core
	 * test machine (bench/README.md), more in flight made smaller appends,
	 * more standby syncs and more relay traffic for no more submits/s;
	 * where the round trip is long against the CPU (hosts apart), more pay.
	 */
	c->window = 1;
	c->lazy = 1;
	c->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	c->phase = RC_SERVING;
	c->best = -1;
}

static struct rc_standby *
find_sb(struct rcore *c, uint64_t uid)
{
	int i;

	for (i = 0; i < c->nsb; i++)
		if (c->sb[i].uid == uid)
			return &c->sb[i];
	return NULL;
}

/* The cursor of s back to what it acknowledged: what was in flight goes again. */
static void
rewind_sb(struct rc_standby *s)
{
	s->snext = s->next;
	s->srnext = s->rnext;
	s->nfl = 0;
}

void
rc_view(struct rcore *c, const struct rc_member *m, int n, msec_t now)
{
	struct rc_standby keep[RC_MAX_STANDBYS];
	struct rc_standby *old;
	int i, k, nk = 0;

	for (i = 0; i < n && nk < RC_MAX_STANDBYS; i++) {
		if ((old = find_sb(c, m[i].uid)) != NULL)
			keep[nk] = *old;
		else {
			memset(&keep[nk], 0, sizeof(keep[nk]));
			keep[nk].uid = m[i].uid;
			/* from the start: it tells us where it stands (ack) or what it needs */
			keep[nk].next = keep[nk].rnext = 1;
			rewind_sb(&keep[nk]);
			keep[nk].added = now;
			log_info("standby %s (%s%s): replicating to it", m[i].name, m[i].addr,
			    rc_in_set(c, m[i].addr) ? ", in the replica set" : "");
		}
		snprintf(keep[nk].name, sizeof(keep[nk].name), "%s", m[i].name);
		snprintf(keep[nk].addr, sizeof(keep[nk].addr), "%s", m[i].addr);
		/* the set's own address is ours: an old incarnation of this node does not count */
		keep[nk].in_set = rc_in_set(c, m[i].addr) && strcmp(m[i].addr, c->self_addr) != 0;
		nk++;
	}
	for (k = 0; k < c->nsb; k++) {
		for (i = 0; i < nk && keep[i].uid != c->sb[k].uid; i++)
			;
		if (i == nk)
			log_info("standby %s left", c->sb[k].name);
	}
	if (c->best >= 0) {
		/* the standby whose log is being copied keeps its place, or the copy stops */
		uint64_t uid = c->sb[c->best].uid;

		c->best = -1;
		for (i = 0; i < nk; i++)
			if (keep[i].uid == uid)
				c->best = i;
	}
	memcpy(c->sb, keep, (size_t)nk * sizeof(*keep));
	c->nsb = nk;
}

/* ---- reading standbys' messages ---- */

/* A standby's epoch runs as told in its promise or need (read only). */
static void
runs_of(const struct rc_standby *s, struct epochs *e)
{
	memset(e, 0, sizeof(*e));
	e->v = (struct epoch_run *)s->runs;
	e->n = s->nruns;
	e->lo = s->runs_lo;
}

/* Reads "last", "last_ep" and "eps" of a promise or need into s; -1 if malformed. */
static int
read_state(struct rc_standby *s, const cJSON *b)
{
	struct epochs e;
	uint64_t last, last_ep;
	int rc = -1;

	epochs_init(&e);
	if (json_u64(b, "last", &last) == 0 && json_u64(b, "last_ep", &last_ep) == 0 &&
	    epochs_from_json(&e, cJSON_GetObjectItemCaseSensitive(b, "eps")) == 0 &&
	    e.n <= EPOCHS_MSG_MAX) {
		s->last = last;
		s->last_ep = last_ep;
		if (e.n > 0)
			memcpy(s->runs, e.v, (size_t)e.n * sizeof(*e.v));
		s->nruns = e.n;
		s->runs_lo = e.lo;
		rc = 0;
	}
	epochs_free(&e);
	return rc;
}

/*
 * Where the log of standby s (as read_state read it) parts from ours: from
 * then on it gets what follows, and if it holds more, it keeps that aside
 * and cuts its log there first (trunc).
 */
static void
place(struct rcore *c, const struct rc_log *lg, struct rc_standby *s)
{
	struct epochs theirs;
	uint64_t cp;

	(void)c;
	runs_of(s, &theirs);
	cp = epochs_common(lg->eps, lg->seq, &theirs, s->last);
	s->trunc_set = cp < s->last;
	if (s->trunc_set) {
		s->trunc = cp;
		log_info("standby %s: its log parts from this one after event %llu (it ends at %llu, "
		    "epoch %llu): it keeps the rest aside for a merge", s->name,
		    (unsigned long long)cp, (unsigned long long)s->last, (unsigned long long)s->last_ep);
	}
	s->next = s->rnext = (s->trunc_set ? cp : s->last) + 1;
	s->snap_off = 0;
	rewind_sb(s);
}

/* ---- quorums ---- */

/* The k-th highest of a[0..n) (k from 1), 0 if there are fewer; sorts a partly. */
static uint64_t
kth_highest(uint64_t *a, int n, int k)
{
	uint64_t t;
	int i, m;

	if (k > n || k <= 0)
		return 0;
	for (i = 0; i < k; i++)
		for (m = i + 1; m < n; m++)
			if (a[m] > a[i]) {
				t = a[i];
				a[i] = a[m];
				a[m] = t;
			}
	return a[k - 1];
}

/*
 * The rules of a quorum, and why:
 *
 * 1. The replica set is fixed by configuration, the same on every node,
 *    not by the membership: two sides of a split each see themselves as the
 *    whole cluster, but only one can hold a majority of a fixed set.
 * 2. A new epoch needs promises from a majority of the set (this node
 *    counting when it is in the set); an event is acknowledged only once it
 *    is durable on a majority of the set. Any two majorities share a node,
 *    so a recovery always hears from a node that holds every acknowledged
 *    event, and the best log among those that promised (highest last epoch,
 *    then longest) holds them all: a log that ends in a later epoch got its
 *    events from a master that had recovered them itself.
 * 3. Events of older epochs that a recovery copies are acknowledged only
 *    once an event of the new epoch above them (its epoch marker) is on a
 *    majority: until then they may be on a minority only and a later
 *    recovery may not see them, so the master answers nothing before (Raft's
 *    rule for entries of earlier terms).
 * 4. Standbys outside the set (and `replicas`, an extra lower bound) get
 *    everything too; they only do not count towards a majority.
 * 5. Weak points: with the set's majority unreachable the master waits (it
 *    says for whom: rc_waiting); with an empty set (no replica-nodes, no
 *    seed-nodes) the old rule holds: a recovery waits for every standby it
 *    sees, and only replicas = the number of standbys protects against a
 *    split.
 */
static int
set_promised(const struct rcore *c, const char *addr)
{
	int i;

	for (i = 0; i < c->nsb; i++)
		if (c->sb[i].promised && c->sb[i].in_set && strcmp(c->sb[i].addr, addr) == 0)
			return 1;
	return 0;
}

static int
promised_in_set(const struct rcore *c)
{
	int k, n = c->self_in_set;

	for (k = 0; k < c->nset; k++)
		if (strcmp(c->set[k], c->self_addr) != 0 && set_promised(c, c->set[k]))
			n++;
	return n;
}

/* What the standby at addr of the set has acked (the most of its incarnations). */
static uint64_t
set_acked(const struct rcore *c, const char *addr)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < c->nsb; i++)
		if (c->sb[i].in_set && strcmp(c->sb[i].addr, addr) == 0 && c->sb[i].acked > v)
			v = c->sb[i].acked;
	return v;
}

static int
need_standbys(const struct rcore *c)
{
	return c->replicas < c->nsb ? c->replicas : c->nsb;
}

int
rc_sync_wait(int nbatch, uint64_t cp, uint64_t durable, msec_t now, msec_t *until, int *started)
{
	*started = 0;
	if (nbatch == 0 || cp >= durable) {
		*until = 0;
		return 0;
	}
	if (*until == 0) {
		*until = now + RC_SYNC_WAIT;
		*started = 1;
	}
	if (now < *until)
		return 1;
	*until = 0;
	return 0;
}

uint64_t
rc_commit_point(struct rcore *c, const struct rc_log *lg)
{
	uint64_t a[RC_MAX_STANDBYS + CONF_MAX_SEEDS], cp = lg->durable, v;
	int i, k, n, need = need_standbys(c);

	if (c->phase != RC_SERVING)
		return c->committed;
	if (need > 0) {
		/* `replicas` standbys, in the set or not */
		for (i = 0; i < c->nsb; i++)
			a[i] = c->sb[i].acked;
		if ((v = kth_highest(a, c->nsb, need)) < cp)
			cp = v;
	}
	if (c->nset > 0) {
		/* a majority of the set: each address once, this node by its own disk */
		for (n = 0, k = 0; k < c->nset; k++)
			a[n++] = strcmp(c->set[k], c->self_addr) == 0 ? lg->durable :
			    set_acked(c, c->set[k]);
		if ((v = kth_highest(a, n, c->quorum)) < cp)
			cp = v;
	}
	if (cp > c->committed)
		c->committed = cp;
	return c->committed;
}

/* ---- recovery ---- */

void
rc_recover(struct rcore *c, const struct rc_log *lg, msec_t now)
{
	uint64_t known = lg->promised > lg->last_ep ? lg->promised : lg->last_ep;
	int i;

	c->epoch = next_epoch(c, known);
	c->phase = RC_PREPARING;
	c->phase_at = now;
	c->next_prepare = 0;
	c->quorum_at = 0;
	c->best = -1;
	for (i = 0; i < c->nsb; i++)
		c->sb[i].promised = 0;
}

/* Whether the promises gathered are enough (a majority of the set, after a grace). */
static int
promises_enough(struct rcore *c, msec_t now)
{
	int i, all = 1;

	for (i = 0; i < c->nsb; i++)
		all &= c->sb[i].promised;
	if (c->nset == 0)
		return all;
	if (promised_in_set(c) < c->quorum) {
		c->quorum_at = 0;
		return 0;
	}
	/* a majority: the others get a moment, their logs may be the best */
	if (c->quorum_at == 0)
		c->quorum_at = now;
	return all || now - c->quorum_at >= RC_QUORUM_GRACE;
}

static void
recovered(struct rcore *c, const struct rc_log *lg, int changed, msec_t now)
{
	int i;

	/* each standby from where its log parts from ours */
	for (i = 0; i < c->nsb; i++)
		if (c->sb[i].promised)
			place(c, lg, &c->sb[i]);
	c->phase = RC_SERVING;
	c->phase_at = now;
	c->best = -1;
	c->behind_since = 0;
	push(c, RC_RECOVERED, 0)->flag = changed;
}

/* The promises are in: the promise is written, the best log chosen (and copied). */
static void
decide(struct rcore *c, const struct rc_log *lg, msec_t now)
{
	struct rc_standby *best = NULL;
	int i, np = 0;

	push(c, RC_PROMISE, 0)->ep = c->epoch;
	for (i = 0; i < c->nsb; i++) {
		struct rc_standby *s = &c->sb[i];

		if (!s->promised)
			continue;
		np++;
		if (s->last_ep > lg->last_ep || (s->last_ep == lg->last_ep && s->last > lg->seq))
			if (best == NULL || s->last_ep > best->last_ep ||
			    (s->last_ep == best->last_ep && s->last > best->last))
				best = s;
	}
	if (c->nset > 0)
		log_notice("epoch %llu: promised by %d of the replica set (%d needed) and %d of %d "
		    "standby%s; this log ends at event %llu (epoch %llu)%s%s",
		    (unsigned long long)c->epoch, promised_in_set(c), c->quorum, np, c->nsb,
		    c->nsb == 1 ? "" : "s", (unsigned long long)lg->seq,
		    (unsigned long long)lg->last_ep, best ? ", the best is on " : "",
		    best ? best->name : "");
	else
		log_notice("epoch %llu: %d standby%s promised; this log ends at event %llu (epoch %llu)%s%s",
		    (unsigned long long)c->epoch, c->nsb, c->nsb == 1 ? "" : "s",
		    (unsigned long long)lg->seq, (unsigned long long)lg->last_ep,
		    best ? ", the best is on " : "", best ? best->name : "");
	if (best == NULL) {
		recovered(c, lg, 0, now);
		return;
	}
	{
		struct epochs theirs;
		uint64_t cp;

		runs_of(best, &theirs);
		cp = epochs_common(lg->eps, lg->seq, &theirs, best->last);
		if (cp < lg->seq) {
			struct rc_action *a = push(c, RC_KEEP_ASIDE, best->uid);

			a->seq = cp;
		}
		c->rfrom = 0;	/* from where the log ends once cut (fetch_tick) */
		c->fetch_snap_off = 0;
	}
	c->best = (int)(best - c->sb);
	c->phase = RC_FETCHING;
	c->phase_at = now;
	c->fetch_sent = 0;
}

static void
fetch_tick(struct rcore *c, const struct rc_log *lg, msec_t now)
{
	struct rc_standby *b;
	struct rc_action *a;

	if (c->best < 0) {
		/* it left while we copied its log: what we have is what there is */
		log_warnx("the standby whose log was being copied left: recovering again");
		rc_recover(c, lg, now);
		return;
	}
	b = &c->sb[c->best];
	if (c->rfrom == 0)
		c->rfrom = lg->seq + 1;
	if (lg->seq >= b->last && c->rfrom > b->last) {
		log_info("journal: copied the log of %s up to event %llu", b->name,
		    (unsigned long long)lg->seq);
		recovered(c, lg, 1, now);
		return;
	}
	if (now - c->phase_at > RC_FETCH_MAX) {
		/* its answers stopped coming: promises again, from whoever answers now */
		log_warnx("copying the log of %s takes over %ds: recovering again", b->name,
		    RC_FETCH_MAX / 1000);
		rc_recover(c, lg, now);
		return;
	}
	if (c->fetch_sent != 0 && now - c->fetch_sent < RC_RESEND)
		return;
	a = push(c, RC_SEND, b->uid);
	a->body = rc_msg(JMSG_FETCH);
	json_add_u64(a->body, "from", lg->seq + 1);
	json_add_u64(a->body, "rfrom", c->rfrom);
	json_add_u64(a->body, "snap_off", c->fetch_snap_off);
	c->fetch_sent = now;
}

void
rc_fetched(struct rcore *c, int rc, uint64_t rlast, uint64_t snap_len)
{
	if (rc == 0)
		c->rfrom = rlast + 1;
	c->fetch_snap_off = rc == 1 ? snap_len : 0;
	c->fetch_sent = 0;	/* the next piece at once */
}

void
rc_fetch_dropped(struct rcore *c, uint64_t snap_len)
{
	/* fetch_sent stays: a peer that answers only with what is dropped is asked once a resend */
	c->fetch_snap_off = snap_len;
}

void
rc_own_merged(struct rcore *c, uint64_t upto, uint64_t need)
{
	c->own_upto = upto;
	c->own_need = need;
}

/* ---- the sync duty ---- */

/* Whether standby s ranks before t for the sync duty (see assign_duty). */
static int
ranks_before(const struct rc_standby *s, const struct rc_standby *t)
{
	if (s->quiet != t->quiet)
		return t->quiet;
	if (s->in_set != t->in_set)
		return s->in_set;
	if (s->duty != t->duty)
		return s->duty;
	return s->acked > t->acked;
}

/*
 * Which standbys must sync each batch (duty), and why the others may not:
 *
 * 1. The commit point counts durable acks only: `replicas` standbys and a
 *    majority of the replica set (this node by its own disk). So only that
 *    many standbys need to sync a batch before it can be answered; the
 *    others (with `replicas = 1` and three nodes, one of two) write it,
 *    answer "written" at once (which keeps the append window moving) and
 *    sync on their own at most RC_LAZY_SYNC ms later, then answer durable.
 *    Fewer processes sync one disk at once, and each sync is shorter (on
 *    the test machine three at once cost 2.5x one: bench/README.md).
 * 2. The duty goes to the best-ranked standbys: not quiet, in the replica
 *    set (it counts for both rules), already on duty (so that it does not
 *    move back and forth), then the most acknowledged. A standby on duty
 *    that leaves an append unanswered RC_DUTY_QUIET ms is quiet: it ranks
 *    last, its duty goes to the next at once, and a standby that takes the
 *    duty with events written but not synced gets an append at once (empty
 *    if need be) that it must sync: a commit waits about RC_DUTY_QUIET for
 *    a standby killed on duty, not the membership's seconds.
 * 3. Nothing an answer waits for changes: a lazy standby's unsynced events
 *    count for nothing until its durable ack. It syncs before it promises,
 *    answers a fetch or stops, so a recovery reads only what is on its disk
 *    or made so first; killed, it loses at most RC_LAZY_SYNC ms of events
 *    no answer counted on, and tells the next append where it stands (need).
 * 4. Weak points: with too few live standbys every one is on duty, as
 *    before; a duty that moves costs the new one a sync of what it held;
 *    a standby of before ignores "lazy" and syncs everything (no harm).
 */
static void
assign_duty(struct rcore *c, msec_t now)
{
	int order[RC_MAX_STANDBYS], i, k, t, n = c->nsb, need = need_standbys(c);
	int setneed = c->nset > 0 ? c->quorum - c->self_in_set : 0, have = 0, haveset = 0;
	int duty[RC_MAX_STANDBYS];

	for (i = 0; i < n; i++) {
		struct rc_standby *s = &c->sb[i];

		s->quiet = s->heard == 0 || (s->nfl > 0 && now - s->fl[0].at >= RC_DUTY_QUIET);
		order[i] = i;
		duty[i] = !c->lazy;
	}
	/* by rank, best first (insertion: a few standbys) */
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && ranks_before(&c->sb[order[k]], &c->sb[order[k - 1]]); k--) {
			t = order[k];
			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	/* the set's majority first, one standby an address, then `replicas` of any */
	for (i = 0; i < n && haveset < setneed; i++) {
		struct rc_standby *s = &c->sb[order[i]];

		for (k = 0; k < i; k++)
			if (duty[order[k]] && c->sb[order[k]].in_set && strcmp(c->sb[order[k]].addr, s->addr) == 0)
				break;
		if (!s->in_set || k < i)
			continue;
		duty[order[i]] = 1;
		haveset++;
		have++;
	}
	for (i = 0; i < n && have < need; i++)
		if (!duty[order[i]]) {
			duty[order[i]] = 1;
			have++;
		}
	for (i = 0, k = 0; i < n; i++)
		k += c->sb[i].duty && !duty[i];		/* lost it */
	for (i = 0; i < n; i++) {
		struct rc_standby *s = &c->sb[i];

		if (duty[i] && !s->duty) {
			/* what it holds unsynced is what the commit may wait for now */
			if (s->lazy_seen && s->next - 1 > s->acked && c->lazy)
				s->poke = 1;
			if (k > 0)
				c->duty_moves++;
		}
		/*
		 * Off duty, nothing of its is waited for: a poke not sent yet
		 * (its append was in flight) is dropped, or append_tick would
		 * send it an empty append after every answer
		 */
		if (!duty[i])
			s->poke = 0;
		s->duty = duty[i];
	}
}

/* ---- serving ---- */

static void
append_tick(struct rcore *c, const struct rc_log *lg, struct rc_standby *s, msec_t now)
{
	struct rc_action *a;
	int window = s->snext <= lg->snap_seq ? 1 : c->window;

	if (s->nfl > 0 && now - s->fl[0].at >= RC_RESEND)
		rewind_sb(s);	/* unanswered: from what it acknowledged, again */
	if (s->nfl >= window)
		return;
	/*
	 * The log up to its end, durable here or not: the master sends its
	 * batch before it syncs it, so that the standbys' syncs overlap its
	 * own; the commit point still waits for this node's disk (why that is
	 * safe: doc/PROTOCOL.md, "Journal replication").
	 */
	if (s->snext > lg->seq && s->srnext > lg->seq && !s->poke)
		return;
	/*
	 * Off duty, with AKC_REPL_LAZY_SEND: its append waits up to lazy_send
	 * ms and takes what came meanwhile (fewer wake-ups of a process the
	 * commit does not wait for; to measure, off by default).
	 */
	if (!s->duty && c->lazy && c->lazy_send > 0 && !s->trunc_set && s->snext > lg->snap_seq) {
		if (s->hold_since == 0)
			s->hold_since = now;
		if (now - s->hold_since < c->lazy_send)
			return;
	}
	s->hold_since = 0;
	/*
	 * A standby behind our snapshot empties its log when the snapshot
	 * arrives, result lines included: send them all again with it, or
	 * those it had are gone from its copy (and from akc-results, once it
	 * is the master).
	 */
	if (s->snext <= lg->snap_seq && s->snap_off == 0)
		s->srnext = 1;
	a = push(c, RC_APPEND, s->uid);
	a->from = s->snext;
	a->rfrom = s->srnext;
	a->snap_off = s->snap_off;
	a->prev_ep = epochs_of(lg->eps, s->snext - 1, lg->seq);
	if (s->trunc_set && s->trunc == s->snext - 1) {
		a->has_trunc = 1;
		a->trunc = s->trunc;
	}
	/* off duty, it may sync later; a snapshot or a cut is synced there anyway */
	a->flag = !s->duty && !a->has_trunc && s->snext > lg->snap_seq;
	if (s->duty)
		s->poke = 0;
}

void
rc_sent(struct rcore *c, uint64_t to, uint64_t last, uint64_t rlast, int snap_piece, msec_t now)
{
	struct rc_standby *s = find_sb(c, to);

	if (s == NULL || s->nfl >= RC_WINDOW)
		return;
	s->fl[s->nfl++] = (struct rc_flight){ last, rlast, now };
	if (!snap_piece) {
		s->snext = last + 1;
		s->srnext = rlast + 1;
	}
}

void
rc_tick(struct rcore *c, const struct rc_log *lg, msec_t now)
{
	uint64_t cp;
	int i;

	switch (c->phase) {
	case RC_PREPARING:
		if (promises_enough(c, now)) {
			decide(c, lg, now);
			return;
		}
		if (now >= c->next_prepare) {
			for (i = 0; i < c->nsb; i++)
				if (!c->sb[i].promised)
					send(c, c->sb[i].uid, rc_msg(JMSG_PREPARE));
			c->next_prepare = now + RC_PREPARE_EVERY;
		}
		return;
	case RC_FETCHING:
		fetch_tick(c, lg, now);
		return;
	case RC_GONE:
		return;
	case RC_SERVING:
		break;
	}
	cp = rc_commit_point(c, lg);
	/* the commit point behind the log and not moving: what waits is named (rc_waiting) */
	if (cp >= lg->seq)
		c->behind_since = 0;
	else if (c->behind_since == 0 || cp != c->behind_cp) {
		c->behind_since = now;
		c->behind_cp = cp;
	}
	c->stall_at = c->behind_since != 0 && now < c->behind_since + RC_STALL ?
	    c->behind_since + RC_STALL : 0;
	assign_duty(c, now);
	for (i = 0; i < c->nsb; i++) {
		struct rc_standby *s = &c->sb[i];

		if (s->salv_pending && cp >= s->salv_need) {
			/* its salvage is merged into a committed log: it may drop it */
			cJSON *m = rc_msg(JMSG_SALVAGE_ACK);

			json_add_u64(m, "upto", s->salv_upto);
			send(c, s->uid, m);
			s->salv_pending = 0;
		}
		append_tick(c, lg, s, now);
	}
	if (c->own_upto != 0 && cp >= c->own_need) {
		push(c, RC_SALVAGE_DROP, 0)->seq = c->own_upto;
		c->own_upto = 0;
	}
}

/* A standby's acknowledgement: cumulative, so what it covers leaves the flight. */
static void
on_ack(struct rcore *c, struct rc_standby *s, const cJSON *b)
{
	uint64_t last, rlast, so, wl, wrl;
	int i, k;

	if (json_u64(b, "last", &last) < 0 || json_u64(b, "rlast", &rlast) < 0) {
		c->dropped++;
		return;
	}
	if (json_u64(b, "snap_off", &so) == 0) {
		s->snap_off = so;	/* a piece of the snapshot arrived: the next one */
		s->nfl = 0;
		return;
	}
	s->snap_off = 0;
	s->acked = last < rlast ? last : rlast;
	/* a lazy append's answer: written up to wlast and wrlast, durable as above */
	if (json_u64(b, "wlast", &wl) == 0 && json_u64(b, "wrlast", &wrl) == 0 && wl >= s->acked) {
		last = wl;
		rlast = wrl;
		s->lazy_seen = 1;
	}
	s->next = last + 1;
	s->rnext = rlast + 1;
	s->trunc_set = 0;
	for (i = k = 0; i < s->nfl; i++)
		if (s->fl[i].last > last || s->fl[i].rlast > rlast)
			s->fl[k++] = s->fl[i];
	s->nfl = k;
	if (s->nfl == 0 || s->snext < s->next)
		rewind_sb(s);
}

/* A standby's salvage: merged into our log; acknowledged once that is committed. */
static void
on_salvage(struct rcore *c, struct rc_standby *s, const cJSON *b)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(b, "evs");
	uint64_t upto;

	if (json_u64(b, "upto", &upto) < 0 || upto == 0 || !cJSON_IsArray(items)) {
		c->dropped++;
		return;
	}
	if (upto <= s->salv_upto) {
		/* a resend (our ack was lost, or is not due yet): it goes once that merge is committed */
		s->salv_pending = 1;
		return;
	}
	push(c, RC_MERGE, s->uid)->body = (cJSON *)b;
	s->salv_upto = upto;
	s->salv_pending = 0;	/* acknowledged once the merge (rc_merged) is committed */
}

void
rc_merged(struct rcore *c, uint64_t from, uint64_t seq)
{
	struct rc_standby *s = find_sb(c, from);

	if (s == NULL)
		return;
	s->salv_need = seq;	/* what made its jobs known here, too */
	s->salv_pending = 1;
}

void
rc_master_msg(struct rcore *c, const struct rc_log *lg, uint64_t from, const cJSON *b, msec_t now)
{
	struct rc_standby *s = find_sb(c, from);
	const char *m = json_str(b, "m");
	const cJSON *sc;
	uint64_t ep = 0, v, sv;
	int has_ep = json_u64(b, "ep", &ep) == 0;

	if (m == NULL) {
		c->dropped++;
		return;
	}
	if (s != NULL)
		s->heard = now;
	if (strcmp(m, JMSG_REJECT) == 0 && json_u64(b, "promised", &v) == 0) {
		if (c->phase == RC_PREPARING && v >= c->epoch) {
			int i;

			c->epoch = next_epoch(c, v);
			log_info("a standby promised epoch %llu: trying %llu",
			    (unsigned long long)v, (unsigned long long)c->epoch);
			for (i = 0; i < c->nsb; i++)
				c->sb[i].promised = 0;
			c->quorum_at = 0;
			c->next_prepare = 0;
		} else if (c->phase == RC_SERVING && v > c->epoch) {
			log_warnx("a standby promised epoch %llu to a newer master: this one is deposed",
			    (unsigned long long)v);
			c->phase = RC_GONE;
			push(c, RC_DEPOSED, 0);
		}
		return;
	}
	if (s == NULL || !has_ep || ep != c->epoch) {
		c->dropped++;
		return;
	}
	switch (c->phase) {
	case RC_PREPARING:
		if (strcmp(m, JMSG_PROMISE) != 0)
			break;
		if (read_state(s, b) == 0)
			s->promised = 1;
		else
			c->dropped++;
		return;
	case RC_FETCHING:
		if (strcmp(m, JMSG_BATCH) != 0 || c->best < 0 || &c->sb[c->best] != s ||
		    json_u64(b, "rlast", &v) < 0 || json_u64(b, "last", &v) < 0)
			return;		/* the rest waits for the end of the copy */
		if ((sc = cJSON_GetObjectItemCaseSensitive(b, "snapc")) != NULL) {
			/*
			 * A snapshot is sent for a fetch from at most its seq, and
			 * a fetch goes from the end of our log: one at or below
			 * that end is a late answer to a fetch sent again whose
			 * first answer was stored (as a whole piece it would wipe
			 * what was copied since, and the copy start over from it).
			 */
			if (json_u64(sc, "seq", &sv) < 0 || sv <= lg->seq) {
				c->dropped++;
				return;
			}
		} else if (v < lg->seq)
			return;
		push(c, RC_STORE, from)->body = (cJSON *)b;
		return;
	case RC_SERVING:
		if (strcmp(m, JMSG_ACK) == 0)
			on_ack(c, s, b);
		else if (strcmp(m, JMSG_NEED) == 0) {
			if (read_state(s, b) == 0)
				place(c, lg, s);
			else
				c->dropped++;
		} else if (strcmp(m, JMSG_SALVAGE) == 0)
			on_salvage(c, s, b);
		else if (strcmp(m, JMSG_PROMISE) != 0)
			c->dropped++;
		return;
	case RC_GONE:
		return;
	}
	c->dropped++;
}

/* ---- what the master waits for ---- */

static size_t
add(char *buf, size_t len, size_t at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static size_t
add(char *buf, size_t len, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (at >= len)
		return at;
	va_start(ap, fmt);
	n = vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
	return n < 0 ? at : at + (size_t)n;
}

/* Why standby s has not answered (or acknowledged up to target). */
static size_t
why_sb(const struct rcore *c, const struct rc_standby *s, uint64_t target, msec_t now,
    char *buf, size_t len, size_t at)
{
	if (s->heard == 0)
		return add(buf, len, at, "a standby on %s: it has role %s but no `master --standby` "
		    "answers; is [singleton.%s] standby-command set there?", s->name, c->role,
		    c->sgname);
	if (now - s->heard >= RC_SILENT)
		return add(buf, len, at, "the standby on %s: it has not answered for %llds (it has "
		    "event %llu of %llu); if its `master --standby` died, singletond there restarts "
		    "it: see that node's log", s->name, (long long)((now - s->heard) / 1000),
		    (unsigned long long)s->acked, (unsigned long long)target);
	return add(buf, len, at, "the standby on %s: it has event %llu of %llu", s->name,
	    (unsigned long long)s->acked, (unsigned long long)target);
}

/* Who a recovery still waits for. */
static void
recovery_waits(const struct rcore *c, msec_t now, char *buf, size_t len)
{
	size_t at = 0;
	int i, k, n = 0;

	if (c->phase == RC_FETCHING && c->best >= 0) {
		add(buf, len, 0, "recovery copies the log of %s", c->sb[c->best].name);
		return;
	}
	if (c->nset == 0) {
		at = add(buf, len, at, "recovery waits for every standby to promise epoch %llu "
		    "(no replica set): for ", (unsigned long long)c->epoch);
		for (i = 0; i < c->nsb; i++)
			if (!c->sb[i].promised) {
				at = add(buf, len, at, "%s", n++ ? "; and for " : "");
				at = why_sb(c, &c->sb[i], 0, now, buf, len, at);
			}
		return;
	}
	at = add(buf, len, at, "recovery waits for a majority of the replica set: %d of %d needed "
	    "promised; no promise yet from ", promised_in_set(c), c->quorum);
	for (k = 0; k < c->nset; k++) {
		const char *a = c->set[k];
		const struct rc_standby *s = NULL;

		if (strcmp(a, c->self_addr) == 0 || set_promised(c, a))
			continue;
		for (i = 0; i < c->nsb; i++)
			if (c->sb[i].in_set && strcmp(c->sb[i].addr, a) == 0)
				s = &c->sb[i];
		at = add(buf, len, at, "%s%s (", n++ ? ", " : "", a);
		if (s != NULL && s->heard == 0)
			at = add(buf, len, at, "%s: it has role %s but no `master --standby` answers; "
			    "is [singleton.%s] standby-command set there?", s->name, c->role, c->sgname);
		else
			at = add(buf, len, at, "%s", c->set_who[k]);
		at = add(buf, len, at, ")");
	}
}

int
rc_waiting(const struct rcore *c, const struct rc_log *lg, msec_t now, char *buf, size_t len)
{
	uint64_t target = lg->seq, a[RC_MAX_STANDBYS];
	size_t at = 0;
	int i, k, n = 0, need = need_standbys(c), have;

	buf[0] = '\0';
	if (c->phase == RC_PREPARING || c->phase == RC_FETCHING) {
		recovery_waits(c, now, buf, len);
		return 1;
	}
	if (c->phase != RC_SERVING || c->behind_since == 0 || now - c->behind_since < RC_STALL ||
	    c->committed >= target)
		return 0;
	at = add(buf, len, at, "event %llu is not replicated yet (committed: %llu): waiting for ",
	    (unsigned long long)target, (unsigned long long)c->committed);
	if (lg->durable < target)
		at = add(buf, len, at, "%sthis node's disk", n++ ? "; and for " : "");
	/* `replicas` standbys: those behind are the ones that could make it */
	for (i = 0; i < c->nsb; i++)
		a[i] = c->sb[i].acked;
	if (need > 0 && kth_highest(a, c->nsb, need) < target)
		for (i = 0; i < c->nsb; i++)
			if (c->sb[i].acked < target) {
				at = add(buf, len, at, "%s", n++ ? "; and for " : "");
				at = why_sb(c, &c->sb[i], target, now, buf, len, at);
			}
	if (c->nset > 0) {
		for (have = 0, k = 0; k < c->nset; k++)
			if (strcmp(c->set[k], c->self_addr) == 0 ? lg->durable >= target :
			    set_acked(c, c->set[k]) >= target)
				have++;
		if (have < c->quorum) {
			at = add(buf, len, at, "%sa majority of the replica set (%d of %d have it): ",
			    n++ ? "; and for " : "", have, c->quorum);
			for (i = 0, k = 0; k < c->nset; k++) {
				const struct rc_standby *s = NULL;
				int j;

				if (strcmp(c->set[k], c->self_addr) == 0 ||
				    set_acked(c, c->set[k]) >= target)
					continue;
				for (j = 0; j < c->nsb; j++)
					if (c->sb[j].in_set && strcmp(c->sb[j].addr, c->set[k]) == 0)
						s = &c->sb[j];
				at = add(buf, len, at, "%s%s (%s)", i++ ? ", " : "", c->set[k],
				    s != NULL ? s->name : c->set_who[k]);
			}
		}
	}
	if (n == 0)
		add(buf, len, at, "nothing known");
	return 1;
}

msec_t
rc_next_deadline(const struct rcore *c)
{
	msec_t d = -1;
	int i;

#define EARLIER(t) do { if (d < 0 || (t) < d) d = (t); } while (0)
	switch (c->phase) {
	case RC_PREPARING:
		EARLIER(c->next_prepare);
		if (c->quorum_at != 0)
			EARLIER(c->quorum_at + RC_QUORUM_GRACE);
		break;
	case RC_FETCHING:
		EARLIER(c->fetch_sent + RC_RESEND);
		break;
	case RC_SERVING:
		for (i = 0; i < c->nsb; i++)
			if (c->sb[i].nfl > 0) {
				EARLIER(c->sb[i].fl[0].at + RC_RESEND);
				/* a standby that goes quiet loses its duty then */
				if (!c->sb[i].quiet && c->lazy)
					EARLIER(c->sb[i].fl[0].at + RC_DUTY_QUIET);
			}
		for (i = 0; i < c->nsb; i++)
			if (c->sb[i].hold_since != 0 && !c->sb[i].duty)
				EARLIER(c->sb[i].hold_since + c->lazy_send);
		if (c->stall_at != 0)
			EARLIER(c->stall_at);	/* to say it then; once said, no more wake-ups */
		break;
	case RC_GONE:
		break;
	}
#undef EARLIER
	return d;
}

/* ---- the standby ---- */

/* Our log's end and epoch runs, for the master to find where it parts from its own. */
static cJSON *
with_state(const struct rc_log *lg, cJSON *m)
{
	json_add_u64(m, "last", lg->seq);
	json_add_u64(m, "last_ep", lg->last_ep);
	cJSON_AddItemToObject(m, "eps", epochs_json(lg->eps, lg->seq, EPOCHS_MSG_MAX));
	return m;
}

/* An append that does not continue our log: tell the master where we stand. */
static void
need(struct rcore *c, const struct rc_log *lg, uint64_t to, const char *why)
{
	cJSON *a = rc_msg(JMSG_NEED);

	json_add_u64(a, "from", lg->seq + 1);
	cJSON_AddStringToObject(a, "why", why);
	send(c, to, with_state(lg, a));
}

/* Returns 1 when the append must come again, once the log was cut (RC_KEEP_ASIDE). */
static int
standby_append(struct rcore *c, const struct rc_log *lg, uint64_t from, const cJSON *b, uint64_t ep)
{
	uint64_t prev, prev_ep, trunc, pe;
	int snapc = cJSON_GetObjectItemCaseSensitive(b, "snapc") != NULL;
	int has_trunc = cJSON_GetObjectItemCaseSensitive(b, "trunc") != NULL;
	struct rc_action *a;

	if (json_u64(b, "prev", &prev) < 0 || json_u64(b, "prev_ep", &prev_ep) < 0 ||
	    (has_trunc && (json_u64(b, "trunc", &trunc) < 0 || trunc != prev))) {
		c->dropped++;
		return 0;
	}
	if (has_trunc && prev < lg->seq) {
		/*
		 * The master found where our log parts from its own: what we
		 * hold after that is kept aside, durably and in the same write
		 * as the cut, and sent to it to merge (rc_standby_tick).
		 */
		push(c, RC_KEEP_ASIDE, from)->seq = prev;
		c->salv_sent = 0;
		return 1;
	}
	if (!snapc && prev < lg->seq && lg->last_ep == ep) {
		/* a resend (our ack was lost): what we have of this epoch is the master's */
		a = push(c, RC_ACK, from);
		a->has_trunc = 1;
		return 0;
	}
	if (prev != lg->seq) {
		/* a gap, or a tail the master may not have: it decides, from our epochs */
		need(c, lg, from, prev > lg->seq ? "gap" : "tail");
		return 0;
	}
	pe = epochs_of(lg->eps, prev, lg->seq);
	if (prev > 0 && (pe == 0 || pe != prev_ep)) {
		need(c, lg, from, "diverged");
		return 0;
	}
	a = push(c, RC_STORE, from);
	a->body = (cJSON *)b;
	a->flag = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "lazy")) && !snapc;
	return 0;
}

void
rc_standby_stored(struct rcore *c, const struct rc_log *lg, uint64_t to, int rc,
    uint64_t snap_len, uint64_t rlast, int lazy, msec_t now)
{
	struct rc_action *w;
	cJSON *a;

	if (rc < 0) {
		need(c, lg, to, "refused");
	} else if (rc == 1) {
		a = rc_msg(JMSG_ACK);	/* a snapshot piece: the next one, please */
		json_add_u64(a, "last", 0);
		json_add_u64(a, "rlast", 0);
		json_add_u64(a, "snap_off", snap_len);
		send(c, to, a);
	} else if (lazy && lg->seq - lg->durable < RC_LAZY_MAX) {
		/* written: said at once; durable once synced, RC_LAZY_SYNC at the latest */
		w = push(c, RC_ACK, to);
		w->rlast = rlast;
		w->flag = 1;
		if (c->lazy_since == 0)
			c->lazy_since = now;
		c->owed_to = to;
		c->owed_rlast = rlast;
	} else {
		/* synced in this wake-up, and what was written lazily with it */
		push(c, RC_ACK, to)->rlast = rlast;
		c->lazy_since = 0;
	}
}

int
rc_standby_msg(struct rcore *c, const struct rc_log *lg, uint64_t from, const cJSON *b, msec_t now)
{
	const char *m = json_str(b, "m");
	uint64_t ep = 0, promised = lg->promised, v, f, rf, so = 0;
	struct rc_action *a;

	(void)now;
	if (m == NULL || json_u64(b, "ep", &ep) < 0) {
		c->dropped++;
		return 0;
	}
	/* an epoch is promised to one master only */
	if (ep < promised || (ep == promised && strcmp(m, JMSG_PREPARE) == 0 && promised != 0 &&
	    c->promised_to != from)) {
		cJSON *r = rc_msg(JMSG_REJECT);

		json_add_u64(r, "promised", promised);
		c->epoch = promised;
		send(c, from, r);
		return 0;
	}
	if (ep > promised)
		push(c, RC_PROMISE, from)->ep = ep;
	c->epoch = ep;
	if (ep > promised || strcmp(m, JMSG_PREPARE) == 0)
		c->promised_to = from;
	if (c->master != from)
		c->salv_sent = 0;	/* a new master: our salvage goes to it */
	c->master = from;
	if (strcmp(m, JMSG_PREPARE) == 0) {
		send(c, from, with_state(lg, rc_msg(JMSG_PROMISE)));
	} else if (strcmp(m, JMSG_FETCH) == 0) {
		if (json_u64(b, "from", &f) < 0 || json_u64(b, "rfrom", &rf) < 0 || f == 0 || rf == 0) {
			c->dropped++;
			return 0;
		}
		json_u64(b, "snap_off", &so);
		a = push(c, RC_BATCH, from);
		a->from = f;
		a->rfrom = rf;
		a->snap_off = so;
	} else if (strcmp(m, JMSG_APPEND) == 0) {
		return standby_append(c, lg, from, b, ep);
	} else if (strcmp(m, JMSG_SALVAGE_ACK) == 0) {
		if (json_u64(b, "upto", &v) < 0) {
			c->dropped++;
			return 0;
		}
		push(c, RC_SALVAGE_DROP, from)->seq = v;
		c->salv_sent = 0;
	} else
		c->dropped++;
	return 0;
}

msec_t
rc_standby_deadline(const struct rcore *c)
{
	return c->lazy_since != 0 ? c->lazy_since + RC_LAZY_SYNC : -1;
}

void
rc_standby_tick(struct rcore *c, const struct rc_log *lg, msec_t now)
{
	if (c->lazy_since != 0 && now >= c->lazy_since + RC_LAZY_SYNC) {
		/* the lazy sync: what was written, then the durable ack it owes */
		push(c, RC_ACK, c->owed_to)->rlast = c->owed_rlast;
		c->lazy_since = 0;
	}
	if (!lg->has_salvage || c->master == 0 ||
	    (c->salv_sent != 0 && now - c->salv_sent < RC_SALVAGE_RESEND))
		return;
	push(c, RC_SALVAGE_SEND, c->master);
	c->salv_sent = now;
}
