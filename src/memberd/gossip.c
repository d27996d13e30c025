/* gossip.c: memberd's core: gossip, the eager push, merging states. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"
#include "proto.h"
#include "xmalloc.h"

#define PUSH_FANOUT	3	/* peers told at once of a new version */
#define PUSH_FANOUT_JOIN	1	/* the same for a version that only adds or moves up members */
#ifndef BCAST_MAX
#define BCAST_MAX	400	/* members up to which a leave's, down's or removal's version is broadcast */
#endif
#define FWD_MAX		4096	/* uids a broadcast's relay may be asked to forward to */
#ifndef PUSH_BUDGET
#define PUSH_BUDGET	4000	/* member records per second the eager push may send */
#endif

/*
 * "cvs" (doc/PROTOCOL.md, "Compact digests"): who of our member table reads
 * the compact forms, as far as we know, for a full state we send. A pair
 * that learned it only from each other learned it at its first direct
 * contact, which at N members takes about N/2 idle rounds; a full state
 * spreads what each node heard, and the join storm exchanges many. A
 * bitmap over the table in the wire form's order (mstate_to_wire lists
 * st.m as it is), hex digits of four members each like "seen": bit j of
 * digit k is member 4k+j; we are set ourselves. Built once per member
 * table and set of peers (n->cvs), with how many members we do not know it
 * of: the lookups cost akc-sim 17% more CPU at 1,000 nodes when made per
 * message (bench/README.md, "Spread by gossip").
 *
 * A hash of a table's uids in order: whether a state's table is ours. One
 * multiply a uid (FNV's eight made it 2% of akc-sim's CPU); a collision
 * would only misread who reads the compact forms.
 */
static uint64_t
table_hash(const uint64_t *uids, const struct member *m, int count)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < count; i++) {
		h = (h ^ (uids != NULL ? uids[i] : m[i].uid)) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 31;
	}
	return h;
}

static const char cvs_hex[] = "0123456789abcdef";

/* Whether our "cvs" was built for compact_peers as they are and a table of st's size. */
static int
cvs_same_peers(const struct node *n)
{
	return n->cvs != NULL && n->cvs_learned == n->compact.learned &&
	    n->cvs_peers == n->compact_peers.n && n->cvs_n == n->st.n;
}

/* Whether our "cvs" is that of st and compact_peers as they are. */
static int
cvs_current(const struct node *n)
{
	return cvs_same_peers(n) && n->cvs_seq == n->state_seq;
}

static void
cvs_refresh(struct node *n)
{
	unsigned char *is;
	uint64_t th;
	int k, j;

	if (cvs_same_peers(n)) {
		/*
		 * The same peers, and (most changes of the state are of
		 * statuses and the seen set) the same table: every lookup
		 * below would give the same.
		 */
		if (n->cvs_seq == n->state_seq)
			return;
		n->cvs_seq = n->state_seq;
		if (n->cvs_mt != 0 && n->cvs_mt == mstate_table_id(&n->st))
			return;		/* the same block: the same uids, no hash of them */
		th = table_hash(NULL, n->st.m, n->st.n);
		n->cvs_mt = mstate_table_id(&n->st);
		if (th == n->cvs_th)
			return;
	} else
		th = table_hash(NULL, n->st.m, n->st.n);
	n->cvs_th = th;
	n->cvs_mt = mstate_table_id(&n->st);
	free(n->cvs);
	n->cvs = xmalloc((size_t)(n->st.n + 3) / 4 + 1);
	/* by the peers' uids through the table's index: no search per member */
	is = xcalloc((size_t)n->st.n + 1, 1);
	mstate_mark(&n->st, &n->compact_peers, is);
	if ((j = mstate_find(&n->st, n->self.uid)) >= 0)
		is[j] = 1;
	n->cvs_missing = 0;
	for (k = 0; k * 4 < n->st.n; k++) {
		int d = 0;

		for (j = 0; j < 4 && k * 4 + j < n->st.n; j++) {
			if (is[k * 4 + j])
				d |= 1 << j;
			else
				n->cvs_missing++;
		}
		n->cvs[k] = cvs_hex[d];
	}
	free(is);
	n->cvs[k] = '\0';
	n->cvs_seq = n->state_seq;
	n->cvs_learned = n->compact.learned;
	n->cvs_peers = n->compact_peers.n;
	n->cvs_n = n->st.n;
}

/* Our "cvs" for the state as it is; valid until the state or compact_peers change. */
const char *
cvs_get(struct node *n)
{
	cvs_refresh(n);
	return n->cvs;
}

/* A lowercase hex digit's value, -1 for any other byte (a table: it is read N/4 times a state). */
static int
cvs_hexval(char c)
{
	static const signed char v[256] = {	/* the value plus one; 0: not a digit */
		['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
		['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
		['e'] = 15, ['f'] = 16
	};

	return v[(unsigned char)c] - 1;
}

/*
 * Reads the "cvs" of a full state whose table is uids (the sender's, in
 * wire order), after the state was accepted: the uids whose bit is set
 * read the compact forms. Absent: nothing. Malformed (not a string,
 * another length than the table's, not lowercase hex, a bit past the
 * table): the field is ignored and counted as malformed; the state itself
 * was valid and stays taken, the field only saves bytes. Work: a pass over
 * the string and a hash of both tables.
 */
void
cvs_learn(struct node *n, const cJSON *msg, const uint64_t *uids, int nuids, int mine)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(msg, "cvs");
	const char *s;
	uint64_t th;
	int k, j;

	if (o == NULL)
		return;
	if (!cJSON_IsString(o) || strlen(s = o->valuestring) != (size_t)(nuids + 3) / 4) {
		n->dropped.malformed++;
		return;
	}
	for (k = 0; k * 4 < nuids; k++) {
		int d = cvs_hexval(s[k]);

		if (d < 0 || (k * 4 + 4 > nuids && (d >> (nuids - k * 4)) != 0)) {
			n->dropped.malformed++;
			return;
		}
	}
	/*
	 * Only a state of our own table is read (the usual case: one we just
	 * took, or one of our version): bit by bit against our own "cvs",
	 * no lookup. Another table (a join storm: one of us is behind) is
	 * left; its members tell us soon enough in a state of the table we
	 * then share.
	 */
	if (!mine) {
		th = cvs_current(n) || (n->cvs_mt != 0 && n->cvs_mt == mstate_table_id(&n->st)) ?
		    n->cvs_th : table_hash(NULL, n->st.m, n->st.n);
		if (nuids != n->st.n || table_hash(uids, NULL, nuids) != th)
			return;
	}
	cvs_refresh(n);
	if (n->cvs_missing == 0)
		return;		/* we know it of every member: the usual case once idle */
	for (k = 0; k * 4 < nuids; k++) {
		int d = cvs_hexval(s[k]), ours = cvs_hexval(n->cvs[k]);

		for (j = 0; j < 4; j++)
			if ((d & ~ours) & (1 << j)) {
				compact_peer_note(n, uids[k * 4 + j]);
				n->compact.learned_by_gossip++;
				n->cvs_missing--;
			}
		n->cvs[k] = cvs_hex[d | ours];
	}
	/* what we learned is in our "cvs" already: it stays current */
	n->cvs_learned = n->compact.learned;
	n->cvs_peers = n->compact_peers.n;
}

/*
 * A reference to raw's text (a Raw item cJSON_Delete leaves the text of):
 * the k targets of a push, a broadcast's m, send one text, owned by the
 * last of their messages, which the shells send and free in order
 * (node_outbox). A copy each was a full state's bytes copied k times more
 * (bench/README.md, "10,000 simulated nodes, part three"); what is
 * printed is the same.
 */
static cJSON *
state_ref(const cJSON *raw)
{
	cJSON *r = cJSON_CreateNull();

	if (r == NULL)
		fatalx("out of memory");
	r->type = cJSON_Raw | cJSON_IsReference;
	r->valuestring = raw->valuestring;
	return r;
}

/*
 * Our state to a member; raw: our state as mstate_wire_raw made it a
 * moment ago, for several members (the k targets of a push, say), whose
 * last message (last) takes it, or NULL; bcast: a broadcast's
 * (push_tick), which the receiver need not push on, and fwd (or NULL) the
 * uids it forwards it to.
 */
static void
send_state_b(struct node *n, const struct member *to, cJSON *raw, int last, enum state_why why,
    int bcast, const char *fwd)
{
	cJSON *m = envelope(n, MSG_GOSSIP, to->uid);

	n->ss.sent[why]++;
	if (bcast)
		cJSON_AddTrueToObject(m, "bcast");
	if (fwd != NULL && fwd[0] != '\0')
		cJSON_AddStringToObject(m, "fwd", fwd);

	/*
	 * Our state as printed for this version before, if it was: a push,
	 * its answers and rounds send the same bytes (mstate_wire_raw)
	 */
	cJSON_AddItemToObject(m, "state", raw == NULL ? mstate_wire_raw(&n->st) :
	    last ? raw : state_ref(raw));
	cJSON_AddNumberToObject(m, "cv", CPT_VERSION);	/* we read the compact forms */
	cJSON_AddStringToObject(m, "cvs", cvs_get(n));
	send_to(n, to->address, m);
}

static void
send_state(struct node *n, const struct member *to, cJSON *raw, int last, enum state_why why)
{
	send_state_b(n, to, raw, last, why, 0, NULL);
}

void
send_gossip(struct node *n, const struct member *to)
{
	send_state(n, to, NULL, 0, SW_OTHER);
}

static void
send_status(struct node *n, const struct member *to, enum status_why why)
{
	cJSON *m = envelope(n, MSG_STATUS, to->uid);

	n->ss.status_sent[why]++;
	status_to_wire_bits(m, &n->st, mstate_seen_bits(&n->st, &n->seen_bits, n->state_seq));
	cJSON_AddNumberToObject(m, "cv", CPT_VERSION);
	send_to(n, to->address, m);
}

/* FNV-1a over 64-bit words. */
static uint64_t
fnv(uint64_t h, uint64_t x)
{
	int i;

	for (i = 0; i < 8; i++) {
		h ^= (x >> (i * 8)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Digests of our version and seen set, recomputed once per state change.
 * Both are sorted (the seen set since lib/membership.c keeps it so), which
 * is the order older nodes sort into before hashing: the same digests.
 */
static void
digests(struct node *n)
{
	int i;

	if (n->digest_seq == n->state_seq && n->digest_seq != 0)
		return;
	n->vhash = n->shash = 0xcbf29ce484222325ULL;
	for (i = 0; i < n->st.vc.n; i++)
		n->vhash = fnv(fnv(n->vhash, n->st.vc.e[i].node), n->st.vc.e[i].count);
	for (i = 0; i < n->st.seen.n; i++)
		n->shash = fnv(n->shash, n->st.seen.v[i]);
	n->digest_seq = n->state_seq;
}

/*
 * The idle round: a peer that has seen our version gets only digests of
 * our version and seen set (two numbers, not two lists); it answers with
 * its full status only when either differs. A peer that announced the
 * compact forms gets them in a compact digest (~40 bytes instead of ~190);
 * the others in a JSON status, which announces that we read them.
 */
static void
send_digest(struct node *n, const struct member *to)
{
	cJSON *m;

	digests(n);
	if (compact_peer(n, to->uid)) {
		send_compact_digest(n, to, n->vhash, n->shash);
		return;
	}
	m = envelope(n, MSG_STATUS, to->uid);
	json_add_u64(m, "vh", n->vhash);
	json_add_u64(m, "sh", n->shash);
	cJSON_AddNumberToObject(m, "cv", CPT_VERSION);
	send_to(n, to->address, m);
}

/* Digests from member uid (JSON or compact): our full status if either differs from ours. */
void
on_digest(struct node *n, uint64_t from, uint64_t vh, uint64_t sh, msec_t now)
{
	int mi = mstate_find(&n->st, from);

	(void)now;
	if (mi < 0) {
		n->dropped.not_member++;
		return;
	}
	digests(n);
	if (vh != n->vhash || sh != n->shash)
		send_status(n, &n->st.m[mi], STW_DIGEST);
}

static int
valid_target(const struct node *n, const struct member *m)
{
	return m->uid != n->self.uid &&
	    reach_observer_says(&n->st.reach, n->self.uid, m->uid) == RS_REACHABLE;
}

/* A flag per member of our state: it has seen our version (by the seen set's uids: no search per member). */
static unsigned char *
seen_flags(const struct node *n)
{
	unsigned char *f = xcalloc((size_t)n->st.n + 1, 1);

	mstate_mark(&n->st, &n->st.seen, f);
	return f;
}

/*
 * Picks up to k distinct random targets, preferring those that have not
 * seen our version. Its two arrays of a member each are the thread's
 * scratch (mstate_scratch): two allocations per round and push were a
 * good share of akc-sim's malloc time at 10,000 members.
 */
int
pick_targets(struct node *n, int *out, int k, int unseen_only)
{
	int *cand, nc = 0, i, picked = 0, pass, rows = 0;
	unsigned char *seenf;

	cand = mstate_scratch(SCRATCH_TARGETS, ((size_t)n->st.n + 1) * (sizeof(*cand) + 1));
	seenf = (unsigned char *)(cand + n->st.n + 1);
	memset(seenf, 0, (size_t)n->st.n + 1);
	mstate_mark(&n->st, &n->st.seen, seenf);
	/*
	 * and ourselves (2): the pass below then reads a member only when a
	 * record of ours may rule it out; reading each one's uid was most of
	 * pick_targets' 3.4% of a 4,000-node akc-sim start (a cache line a member)
	 */
	mstate_mark_uid(&n->st, n->self.uid, seenf, 2);
	/* no record of ours: every member but us is a valid target, no lookup a member */
	for (i = 0; i < n->st.reach.n && !rows; i++)
		rows = n->st.reach.r[i].observer == n->self.uid;
	for (pass = 0; pass < 2 && picked < k; pass++) {
		nc = 0;
		for (i = 0; i < n->st.n; i++) {
			int seen = seenf[i] & 1, j, dup = 0;

			if ((pass == 0 && seen) || (pass == 1 && !seen) || (seenf[i] & 2) ||
			    (rows && !valid_target(n, &n->st.m[i])))
				continue;
			for (j = 0; j < picked; j++)
				if (out[j] == i)
					dup = 1;
			if (!dup)
				cand[nc++] = i;
		}
		while (nc > 0 && picked < k) {
			int r = (int)(rnd(n) % (uint64_t)nc);

			out[picked++] = cand[r];
			cand[r] = cand[--nc];
		}
		if (unseen_only)
			break;
	}
	return picked;
}

void
gossip_tick(struct node *n, msec_t now)
{
	int t;
	msec_t interval = n->cfg->gossip_interval;

	if (n->phase != PHASE_MEMBER || now < n->next_gossip)
		return;
	if (mstate_speedup_needed(&n->st))
		interval /= 3;
	n->next_gossip = now + jitter(n, interval);
	if (pick_targets(n, &t, 1, 0) == 1) {
		if (u64set_has(&n->st.seen, n->st.m[t].uid))
			send_digest(n, &n->st.m[t]);
		else
			send_state(n, &n->st.m[t], NULL, 0, SW_ROUND);
	}
}

/*
 * Eager push, our answer to Akka's one-gossip-per-second spread:
 * 1. a node that makes or adopts a new version sends it at once to up to
 *    PUSH_FANOUT members that have not seen it; they do the same, so a
 *    version reaches everyone in about log3(N) network hops, not rounds;
 * 2. it also sends its (small) status to the leader, so the leader learns
 *    who has seen what, and reaches convergence, without waiting for rounds;
 * 3. pushes are coalesced: everything received in one loop turn goes out
 *    in one push;
 * 4. pushes are paid from a budget of PUSH_BUDGET member records a second
 *    (a full state costs one record per member), with a burst of four
 *    pushes or half a second's budget, whichever is more. An idle cluster
 *    has a full budget, so a change (a down and the removal that follows
 *    it, a leave) spreads at once at any size; in a join storm the versions that arrive while the budget
 *    refills go out together in the next push. Without it every version
 *    cost PUSH_FANOUT full states per node: N versions of N members to N
 *    nodes, cubic, which akc-sim measured as 3.2 GB for a 200-node start;
 * 5. a version that moves members out (mstate_exit_digest: a leave, a down,
 *    a removal) is pushed at once on whatever credit is left (push_tick).
 * 6. a version that changes neither who is leaving nor who is unreachable
 *    (a join, a move to Up, a merge of such: the bulk of a join storm) goes
 *    to PUSH_FANOUT_JOIN member, not PUSH_FANOUT: the three pushes per
 *    version a node took were mostly to members that had it already (they
 *    answered "I have it"), and the report to the leader, its catch-up and
 *    the rounds cover the members a chain of single pushes misses. A real
 *    100-node join sent 0.4x the messages at 0.53x the CPU, all Up 0.1 s
 *    later (bench/README.md, "One push for a join's version"). A change of
 *    reachability keeps three: detection everywhere is the target there.
 *    A version pushed already (a push standing in for skipped answers)
 *    matches the last push and goes to one: three for those of
 *    reachability changes measured no better (bench/README.md, "Review of
 *    the session's second merge").
 * 7. the status to the leader of such a join's version (6) rides the
 *    push: a member whose push goes on to a member that has not seen the
 *    version sends none, since the pushed state carries its seen set, ours
 *    among it, and every member down the chain adds its own. The member
 *    a chain ends at tells the leader: the one with no target left (the
 *    seen set it holds is everyone's), and one a push reaches that has the
 *    version already (its seen set grew by the pusher's: STW_CHAIN, again
 *    per such push), and that one tells the leader only, not the pusher
 *    as well (a status the pusher's rounds would use to skip us: ~18 of
 *    the ~21 answers a member sent to gossips of its version in akc-sim's
 *    100-node start were these). The leader used to hear from every member for every
 *    version, ~37 of a member's ~280 messages in a real 100-node join and
 *    ~3,700 into the leader; in akc-sim's 100-node start 38 statuses to
 *    the leader a member become 17 (about half the pushes of a join's
 *    version meet a member that has it) and the answers 21 become 3.5:
 *    20% fewer messages, all Up as soon (bench/README.md, "The join at 2
 *    core-seconds, part five"). A push waiting for the budget still tells
 *    the leader at once (below), and the versions of (5) and broadcasts
 *    as before. Weak point: a chain's tail the leader has not heard of
 *    when a push is lost, or runs into a member with a newer or concurrent
 *    version; the leader's seen set then stops growing, and its catch-up
 *    or, for more members than that sends to, its probe 150 ms later
 *    (catchup_tick) reaches the tail; the rounds remain the repair.
 * Tried for a start at thousands of members and left out (bench/README.md,
 * "Full states per node"): above 400 members, rounds paid from the budget
 * (the status sent instead), a burst of one push, no reserve, the refill
 * shrinking as 1/N. Each cut the full states a node sends a second, and
 * the storm lasted as much longer: the same CPU at 2,000, slower all Up.
 * Weak point: at a few thousand members a node pushes about once a
 * second, so a version then spreads about as fast as gossip rounds do;
 * the periodic rounds remain the safety net for lost pushes.
 */
/*
 * A budget's credit refilled at per_s a second since *at, to at most cap;
 * full the first time (*at < 0). The eager push's and the welcomes' (join.c).
 */
void
credit_topup(double *credit, msec_t *at, double per_s, double cap, msec_t now)
{
	if (*at < 0)
		*credit = cap;
	else
		*credit += (double)(now - *at) * per_s / 1000;
	if (*credit > cap)
		*credit = cap;
	*at = now;
}

/* The most credit the push budget holds: a burst of four pushes of full states. */
static double
push_cap(const struct node *n)
{
	double burst = 4.0 * PUSH_FANOUT * n->st.n;

	return burst > PUSH_BUDGET / 2 ? burst : PUSH_BUDGET / 2;
}

/* Pays cost member records from the budget; 0 if it cannot yet (nothing paid). */
static int
push_pay(struct node *n, double cost, msec_t now)
{
	credit_topup(&n->push_credit, &n->push_credit_at, PUSH_BUDGET, push_cap(n), now);
	if (n->push_credit < cost)
		return 0;
	n->push_credit -= cost;
	return 1;
}

/*
 * Pays what credit there is for a send that goes whatever the budget (a
 * change that moves members out, a broadcast and its relays): the credit
 * spent to nothing when short, counted.
 */
static void
push_pay_all(struct node *n, double cost, msec_t now)
{
	if (cost > 0 && !push_pay(n, cost, now)) {
		n->push_credit = 0;
		n->pushes_unpaid++;
	}
}

static int
push_afford(struct node *n, int k, msec_t now)
{
	double cost = (double)k * n->st.n;

	if (push_pay(n, cost, now))
		return 1;
	n->push_at = now + 1 + (msec_t)((cost - n->push_credit) * 1000 / PUSH_BUDGET);
	return 0;
}

/*
 * Our full state for a member that showed us an older or concurrent
 * version: from the same budget, less one push kept in reserve. When it is
 * spent the reply is skipped
 * (counted) and a push is due, whose targets are exactly the members that
 * have not seen our version, so the sender hears from us, or from another
 * member that has it, as soon as the budget allows.
 */
static void
reply_gossip(struct node *n, const struct member *to, msec_t now)
{
	double reserve = (double)PUSH_FANOUT * n->st.n;

	/* one push stays in reserve: the next version must not wait for answers */
	(void)push_pay(n, 0, now);
	if (n->push_credit >= reserve + n->st.n && push_pay(n, n->st.n, now)) {
		send_state(n, to, NULL, 0, SW_ANSWER);
		return;
	}
	n->gossip_deferred++;
	n->ss.deferred++;
	if (n->push_at < 0)
		n->push_at = now + 2;
}

/*
 * A version we made (a local change; not a merge, which several members
 * may make of the same versions at once in a rolling restart) that
 * moves members out: a leave's, a down's, the leader's Exiting and
 * Removed. Each of them is one convergence the leader waits for, and a
 * convergence waits for the last member: the push wave of fan-out 3
 * reaches most members in a few hops, but on 200 real nodes the last
 * ones took it from a gossip round a third of a second later (the
 * members no push aimed at), and every hop is a process waiting for its
 * turn on a loaded machine. So it is broadcast, in two hops: to every
 * member at once up to bcast_direct of them; above, in a tree of about
 * sqrt(M) relays, each told ("fwd") the uids of its share of the others
 * (sending to all at once churned the connections past peer-sockets, 128,
 * whose eviction loses what is queued). Nobody pushes it on ("bcast"):
 * the receivers' pushes were 3 of N full states each, mostly to members
 * that had it. N - 1 full states in all where the wave sent about 3N;
 * the gossip rounds stay the repair path. Up to BCAST_MAX members; above
 * (a relay's share of a larger state grows as N^1.5 bytes), the wave.
 */
static int
bcast_due(const struct node *n)
{
	return n->bcast_mine && n->exit_digest != n->pushed_exit && n->st.n <= BCAST_MAX;
}

/* The smallest k with k * k >= m. */
static int
isqrt_up(int m)
{
	int k = 1;

	while (k * k < m)
		k++;
	return k;
}

/*
 * Sends our state, encoded once, to the members at t[0..m), with "bcast":
 * to each directly up to direct of them, else through relays (t is
 * reordered: each run's relay comes first).
 */
static void
bcast_to(struct node *n, int *t, int m, int direct)
{
	cJSON *raw;
	int i, j, k, per;

	if (m <= 0)
		return;
	raw = mstate_wire_raw(&n->st);	/* checked and made once for the m */
	if (m <= direct) {
		for (i = 0; i < m; i++)
			send_state_b(n, &n->st.m[t[i]], raw, i == m - 1, SW_PUSH, 1, NULL);
		return;
	}
	k = isqrt_up(m);
	per = (m + k - 1) / k;
	for (i = 0; i < m; i += per) {
		char *fwd = xmalloc((size_t)per * 21 + 1), *p = fwd;

		/*
		 * An Up member relays, not one that is going (a leaving node
		 * that relays the Exiting version sends its exit notices too)
		 */
		for (j = i; j < i + per && j < m; j++)
			if (n->st.m[t[j]].status == MS_UP) {
				int x = t[i];

				t[i] = t[j];
				t[j] = x;
				break;
			}
		*p = '\0';
		for (j = i + 1; j < i + per && j < m; j++)
			p += snprintf(p, 22, "%s%llu", p == fwd ? "" : " ",
			    (unsigned long long)n->st.m[t[j]].uid);
		send_state_b(n, &n->st.m[t[i]], raw, i + per >= m, SW_PUSH, 1, fwd);
		free(fwd);
	}
}

static void
bcast(struct node *n, msec_t now)
{
	int *t = xreallocarray(NULL, (size_t)n->st.n + 1, sizeof(*t)), i, m = 0;
	int li = mstate_leader_for(&n->st, NULL, n->self.uid);

	/*
	 * Those that have not seen it: on the leader, statuses of the version
	 * before, come in meanwhile, got it in the answer (reply_gossip)
	 */
	for (i = 0; i < n->st.n; i++)
		if (valid_target(n, &n->st.m[i]) && !u64set_has(&n->st.seen, n->st.m[i].uid))
			t[m++] = i;
	push_pay_all(n, (double)m * n->st.n, now);	/* like the push it replaces */
	log_debug("broadcast: our version to %d members%s", m,
	    m > n->bcast_direct ? ", through relays" : "");
	/*
	 * The leader first, from us, whatever the relays: every member tells
	 * it at once that it has the version, and a status of a version the
	 * leader has not got yet costs it a round trip for the state (our
	 * status, their full state back) for each of them.
	 */
	if (m > n->bcast_direct && li >= 0)
		for (i = 0; i < m; i++)
			if (t[i] == li) {
				bcast_to(n, &t[i], 1, 1);
				/* the rest in member order: runs of neighbours */
				memmove(&t[i], &t[i + 1], (size_t)(m - i - 1) * sizeof(*t));
				m--;
				break;
			}
	if (m > 0)
		bcast_to(n, t, m, n->bcast_direct);
	free(t);
	n->bcasts_sent++;
	n->bcast_version = 1;
}

/*
 * A relay of a broadcast: our state (the broadcast's version, or a newer
 * one) to the uids it was asked to forward to, those we know and reach.
 */
static void
bcast_forward(struct node *n, const uint64_t *fwd, int nfwd, msec_t now)
{
	int *t, i, m = 0, mi;
	unsigned char *taken;

	/* a sender of another BCAST_MAX (or a bad member) does not make us send past ours */
	if (n->st.n > BCAST_MAX)
		return;
	/* each member once: a "fwd" that repeats a uid is not a way to multiply our sends */
	t = xreallocarray(NULL, (size_t)n->st.n + 1, sizeof(*t));
	taken = xcalloc((size_t)n->st.n + 1, 1);
	for (i = 0; i < nfwd; i++)
		if ((mi = mstate_find(&n->st, fwd[i])) >= 0 && !taken[mi] &&
		    valid_target(n, &n->st.m[mi])) {
			taken[mi] = 1;
			t[m++] = mi;
		}
	free(taken);
	push_pay_all(n, (double)m * n->st.n, now);	/* like the broadcast it carries on */
	if (m > 0) {
		bcast_to(n, t, m, m);	/* one hop: to them, not to relays of theirs */
		n->bcasts_forwarded++;
	}
	free(t);
}

/*
 * A broadcast's "fwd": blank-separated decimal uids, at most FWD_MAX;
 * -1 if it is not that. *out is allocated (free it) when the count is > 0.
 */
static int
fwd_parse(const cJSON *o, uint64_t **out)
{
	const char *s;
	char *end;
	int k = 0;

	*out = NULL;
	if (o == NULL)
		return 0;
	if (!cJSON_IsString(o))
		return -1;
	for (s = o->valuestring; *s != '\0'; ) {
		unsigned long long u;

		if (*s < '0' || *s > '9' || k == FWD_MAX)
			goto bad;
		errno = 0;
		u = strtoull(s, &end, 10);
		if (errno != 0 || u == 0 || (*end != ' ' && *end != '\0') ||
		    (*end == ' ' && end[1] == '\0'))
			goto bad;
		*out = xreallocarray(*out, (size_t)k + 1, sizeof(**out));
		(*out)[k++] = u;
		s = *end == ' ' ? end + 1 : end;
	}
	return k;
bad:
	free(*out);
	*out = NULL;
	return -1;
}

static int seen_answers(const struct node *n);

/*
 * A push of our version met us (rule 7 above): its seen set, united into
 * ours, grew it, and the chain that carried our word to the leader ends
 * here, or the pusher's does. The leader hears of both: our status, also
 * when the gossip is the leader's own (a catch-up or a round: it has not
 * heard of our chain, or it would list us).
 */
static void
chain_met(struct node *n, const struct from *f)
{
	int li = mstate_leader_for(&n->st, NULL, n->self.uid);

	(void)f;
	if (li < 0 || n->st.m[li].uid == n->self.uid || !valid_target(n, &n->st.m[li]))
		return;
	n->told_leader = n->version_seq;
	send_status(n, &n->st.m[li], STW_CHAIN);
}

/*
 * Our status to the leader, that we have our version, once a version:
 * unless it is among the push's targets t[0..k), which get the state.
 * Its convergence waits for every member's word, and no other member's
 * status brings it ours (seen_gap()): not held back with a push that
 * waits for the budget.
 */
static void
tell_leader(struct node *n, const int *t, int k)
{
	int li = mstate_leader_for(&n->st, NULL, n->self.uid), i;

	if (li < 0 || !valid_target(n, &n->st.m[li]) ||
	    (n->told_leader == n->version_seq && !seen_answers(n)))
		return;
	for (i = 0; i < k; i++)
		if (t[i] == li)
			return;
	n->told_leader = n->version_seq;
	send_status(n, &n->st.m[li], STW_LEADER);
}

void
push_tick(struct node *n, msec_t now)
{
	int t[PUSH_FANOUT], k, i, fan, quiet = n->push_quiet;

	if (n->push_at < 0 || now < n->push_at)
		return;
	n->push_at = -1;
	/* quiet for this push only: a later one stands in for skipped answers */
	n->push_quiet = 0;
	if (n->phase != PHASE_MEMBER)
		return;
	if (bcast_due(n)) {
		n->pushed_seq = n->state_seq;
		n->pushed_exit = n->exit_digest;
		n->pushed_reach = n->reach_digest;
		bcast(n, now);	/* the leader among them */
		return;
	}
	/*
	 * A version taken from a broadcast: every member has it from its
	 * sender; the leader still needs to hear that we have seen it.
	 */
	fan = n->exit_digest != n->pushed_exit || n->reach_digest != n->pushed_reach ?
	    PUSH_FANOUT : PUSH_FANOUT_JOIN;
	k = quiet ? 0 : pick_targets(n, t, fan, 1);
	if (k > 0 && n->pushed_seq == n->state_seq && n->push_credit_at >= 0) {
		/*
		 * Nothing new since our last push: this one stands in for skipped
		 * answers, and must leave a push in reserve for the next version.
		 */
		(void)push_pay(n, 0, now);
		if (n->push_credit < 2.0 * k * n->st.n) {
			n->push_at = now + 1 + (msec_t)((2.0 * k * n->st.n - n->push_credit) *
			    1000 / PUSH_BUDGET);
			return;
		}
	}
	if (n->exit_digest != n->pushed_exit) {
		/*
		 * A version that moves members out (a leave, a down, a removal)
		 * goes at once, paid with what credit there is: its removal waits
		 * on every node seeing it and then on the leader's next version,
		 * so credit spent just before (at 2,400 members a node's burst is
		 * four pushes and refills one in 1.8 s) cost that wait at every
		 * hop. One push a node per such change, whatever N.
		 */
		push_pay_all(n, (double)k * n->st.n, now);
	} else if (k > 0 && !push_afford(n, k, now)) {
		/*
		 * push_at says when; the leader hears now that we have it
		 * (above BCAST_MAX as before, with the push: at 1,000 members
		 * the leader's earlier convergence packed the start's versions
		 * closer, its peak 1.5-1.6 MB/s against 0.8-0.9)
		 */
		if (!quiet && !seen_answers(n))
			tell_leader(n, NULL, 0);
		return;
	}
	n->pushed_seq = n->state_seq;
	n->pushed_exit = n->exit_digest;
	n->pushed_reach = n->reach_digest;
	if (k > 0) {
		cJSON *raw = mstate_wire_raw(&n->st);	/* checked and made once for the k */

		for (i = 0; i < k; i++)
			send_state(n, &n->st.m[t[i]], raw, i == k - 1, SW_PUSH);
	}
	/* a broadcast's sender and the leader had our status when we took it (on_gossip) */
	if (quiet)
		return;
	if (fan == PUSH_FANOUT_JOIN && k > 0 && !seen_answers(n)) {
		n->chained = n->version_seq;	/* (7): the chain carries our word on */
		return;
	}
	tell_leader(n, t, k);
}

/*
 * What the gossip sent, by why (akc-status's "gossip", akc-sim's
 * "full_states"): full states and statuses, each count divided by per.
 */
static double
per_of(uint64_t v, double per)
{
	return (double)(int64_t)((double)v / per * 100 + 0.5) / 100;
}

cJSON *
node_gossip_json(const struct state_stats *ss, double per)
{
	static const char *sw[SW_N] = { "push", "answer", "round", "other", "catchup" };
	static const char *stw[STW_N] = { "leader", "bcast_leader", "gossip_gap", "status_gap",
	    "ahead", "digest", "taken", "converged", "chain", "probe" };
	cJSON *r = cJSON_CreateObject(), *o;
	int i;

	if (per <= 0)
		per = 1;
	o = cJSON_AddObjectToObject(r, "states_sent");
	for (i = 0; i < SW_N; i++)
		cJSON_AddNumberToObject(o, sw[i], per_of(ss->sent[i], per));
	o = cJSON_AddObjectToObject(r, "statuses_sent");
	for (i = 0; i < STW_N; i++)
		cJSON_AddNumberToObject(o, stw[i], per_of(ss->status_sent[i], per));
	cJSON_AddNumberToObject(r, "answers_deferred", per_of(ss->deferred, per));
	cJSON_AddNumberToObject(r, "heads", per_of(ss->heads, per));
	cJSON_AddNumberToObject(r, "adopted", per_of(ss->adopted, per));
	cJSON_AddNumberToObject(r, "merged", per_of(ss->merged, per));
	cJSON_AddNumberToObject(r, "made", per_of(ss->made, per));
	return r;
}

/*
 * The leader's catch-up. A version's push wave (fan-out 3, each member
 * pushing once to members it believes have not seen it) misses about
 * e^-3 of the members, who would wait for a gossip round (every 333 ms
 * while anyone joins, else every second), and the leader's convergence
 * waits for the last of them. Members know little of who has seen what
 * (seen_gap(): their statuses do not ping-pong), but the leader hears
 * every member's word (tell_leader(), or a push chain's end for a join's
 * version: push_tick's rule 7): once CATCHUP_QUIET passes without
 * its seen set growing, it sends its state to the members missing from
 * it, at most CATCHUP_MAX of them, then again no
 * sooner than CATCHUP_AGAIN, CATCHUP_TRIES times a version at most (a
 * member that takes none of them is the rounds' to reach). Only members
 * convergence waits for, and none while a member that is not Down or
 * Exiting is unreachable in the state: convergence cannot come then, and
 * the catch-ups would go on for as long as the partition (a new version
 * looks again). No more members at once than the budget can ever pay
 * for. Paid from the push budget; not for a
 * broadcast's version, which every member got from its sender, nor above
 * BCAST_MAX members, where the seen sets spread as before (seen_answers())
 * and 16 full states at once from the leader were the 1,000-node start's
 * peak (1.10 MB/s against 0.94).
 * More members missing: the wave is still under way, or its push chains
 * ended unheard (rule 7: a chain's word reaches us only at its end, and a
 * chain that runs into a member with a newer or concurrent version, or a
 * lost push, has none). Once PROBE_QUIET passes without growth the leader
 * asks them all with its status (its seen set, which does not list
 * them): a member that has the version answers with its own (seen_gap()),
 * one behind asks for the state (STW_AHEAD), as a catch-up try. Before
 * it, the rounds alone (333 ms) reached the tail: 20 nodes added at once
 * to 200 in akc-sim took 1.45 s to all Up against 1.05 before rule 7,
 * 1.05 with the probe; 150 ms, not 30: a chain that is running reports
 * only at its end, and a probe each 30 ms cost a 100-node start 20% more
 * messages (at 150 ms, 1%; bench/README.md, "The join at 2 core-seconds,
 * part five").
 */
#define CATCHUP_QUIET	30	/* ms without the seen set growing */
#define PROBE_QUIET	150	/* the same, with more than a catch-up's members missing */
#define CATCHUP_AGAIN	200	/* ms between two catch-ups */
#define CATCHUP_MAX	16	/* members, at most, one catch-up sends to */
#ifndef ANNOUNCE_QUIET
#define ANNOUNCE_QUIET	100	/* ms a converged version stays before the leader says so */
#endif

/* Our version or its seen set changed: the leader looks again a quiet time later. */
void
seen_grew(struct node *n, msec_t now)
{
	n->seen_grew_at = now;
	if (!n->leads)
		return;		/* no wake-up 30 ms after every version on every member */
	n->catchup_at = now + CATCHUP_QUIET;
	if (n->catchup_at < n->catchup_next)
		n->catchup_at = n->catchup_next;
}

void
catchup_tick(struct node *n, msec_t now)
{
	int *t, i, m = 0, li, cap, afford;
	unsigned char *seenf;
	cJSON *raw;

	if (n->catchup_at < 0 || now < n->catchup_at)
		return;
	n->catchup_at = -1;
	li = mstate_leader_for(&n->st, NULL, n->self.uid);
	if (n->phase != PHASE_MEMBER || n->bcast_version || li < 0 || n->st.m[li].uid != n->self.uid ||
	    seen_answers(n))
		return;
	for (i = 0; i < n->st.n; i++) {
		const struct member *x = &n->st.m[i];

		if (x->uid != n->self.uid && x->status != MS_DOWN && x->status != MS_EXITING &&
		    !mstate_reachable(&n->st, x->uid))
			return;	/* no convergence until that changes: a new version */
	}
	if (n->catchup_seq != n->version_seq) {
		n->catchup_seq = n->version_seq;
		n->catchup_tries = 0;
	}
	cap = n->st.n / 8;
	cap = cap < 3 ? 3 : cap > CATCHUP_MAX ? CATCHUP_MAX : cap;
	afford = (int)(push_cap(n) / (n->st.n > 0 ? n->st.n : 1));
	if (cap > afford)
		cap = afford;	/* a catch-up the budget's credit can hold */
	t = xreallocarray(NULL, (size_t)n->st.n + 1, sizeof(*t));
	seenf = seen_flags(n);
	for (i = 0; i < n->st.n; i++) {
		enum mstatus s = n->st.m[i].status;

		if (!seenf[i] && s != MS_DOWN && s != MS_EXITING && valid_target(n, &n->st.m[i]))
			t[m++] = i;
	}
	free(seenf);
	if (m > cap && now < n->seen_grew_at + PROBE_QUIET)
		n->catchup_at = n->seen_grew_at + PROBE_QUIET;	/* under way, or unheard */
	else if (m > cap && n->catchup_tries < CATCHUP_TRIES) {
		n->catchup_tries++;
		for (i = 0; i < m; i++)
			send_status(n, &n->st.m[t[i]], STW_PROBE);
		n->catchup_next = now + CATCHUP_AGAIN;
		n->catchup_at = n->catchup_next;
	} else if (m > cap)
		;	/* the rounds' now */
	else if (m > 0 && n->catchup_tries >= CATCHUP_TRIES)
		;	/* the rounds' now */
	else if (m > 0 && push_pay(n, (double)m * n->st.n, now)) {
		n->catchup_tries++;
		raw = mstate_wire_raw(&n->st);
		for (i = 0; i < m; i++)
			send_state(n, &n->st.m[t[i]], raw, i == m - 1, SW_CATCHUP);
		n->catchup_next = now + CATCHUP_AGAIN;
		n->catchup_at = n->catchup_next;	/* and again, until they all have it */
	} else if (m > 0)
		n->catchup_at = now + CATCHUP_QUIET;	/* the credit: it refills (cap) */
	else if (n->announced != n->version_seq && n->st.n <= BCAST_MAX && node_convergence(n)) {
		/*
		 * Converged, and no new version for a while: the members' own
		 * views, which no ping-pong of statuses completes any more
		 * (seen_gap()), get our seen set, every member of it, at once
		 * rather than by gossip rounds. Once a version; in a join storm
		 * the next version comes first (leaderd's move Up).
		 */
		if (now < n->seen_grew_at + ANNOUNCE_QUIET)
			n->catchup_at = n->seen_grew_at + ANNOUNCE_QUIET;
		else {
			n->announced = n->version_seq;
			for (i = 0; i < n->st.n; i++)
				if (valid_target(n, &n->st.m[i]))
					send_status(n, &n->st.m[i], STW_CONVERGED);
		}
	}
	free(t);
}

/* ---- receiving ---- */

/*
 * Above BCAST_MAX members a status or gossip of our version is answered
 * whenever its seen set lacks any of ours, as before: there the push
 * wave's tail (e^-3 of N: ~50 members at 1,000) is more than the leader's
 * catch-up covers (CATCHUP_MAX), and the seen sets' spread by answers is
 * what aims the pushes at the members still missing (akc-sim, 1,000-node
 * start, seeds 1-3: all Up 3.7-3.8 s without it, 3.2-3.5 s with it).
 */
static int
seen_answers(const struct node *n)
{
	return n->st.n > BCAST_MAX;
}

/*
 * Whether a status of our version with this seen set (already united into
 * ours) is worth our own status back (the sender lacks some of ours). Only when it does not list us: the
 * sender would aim its pushes and rounds at us. A seen set that lacks
 * only others' entries is not: every member's word reaches the leader when
 * it takes a version (push_tick: its status, or the push chain it is on,
 * whose end tells the leader), so the leader's convergence does not
 * wait for them, and a member's view of who has seen what converges by
 * its gossip rounds (which go to members it does not know to have seen
 * its version, and are answered here) and idle digests. Answering every
 * such gap made statuses ping-pong between members while the seen sets
 * grew: 61% of the messages of a 100-node join in akc-sim, 43% on real
 * nodes (bench/README.md, "The join's messages"). And not by the leader:
 * the statuses it gets are reports of members that took a version, sent
 * whatever it has seen (push_tick); it answered each one (three quarters
 * of its messages in a join).
 */
static int
seen_gap_self(const struct node *n, int has_self)
{
	int li;

	if (seen_answers(n))
		return 1;
	if (has_self)
		return 0;
	li = mstate_leader_for(&n->st, NULL, n->self.uid);
	return li < 0 || n->st.m[li].uid != n->self.uid;
}

static int
seen_gap(const struct node *n, const struct u64set *seen)
{
	return seen_gap_self(n, u64set_has(seen, n->self.uid));
}

/* Unites a seen set of our version into ours; whether the sender lacks some of ours. */
static int
unite_seen(struct node *n, const struct u64set *seen, int members_only, msec_t now)
{
	const struct u64set *ours = &n->st.seen;
	struct u64set u = { 0 };
	int i = 0, j = 0, grew = 0, lacks = 0;

	/*
	 * Most seen sets add nothing to ours (a status of our version from a
	 * member that took it after us): a pass without the union, whose
	 * array of up to 2N uids was made and dropped per status
	 */
	while (i < ours->n || j < seen->n) {
		if (j == seen->n || (i < ours->n && ours->v[i] < seen->v[j])) {
			lacks = 1;
			i++;
		} else if (i == ours->n || seen->v[j] < ours->v[i]) {
			if (!members_only || mstate_find(&n->st, seen->v[j]) >= 0)
				grew = 1;
			j++;
		} else {
			i++;
			j++;
		}
	}
	if (!grew)
		return lacks;
	i = j = 0;
	lacks = 0;
	/* both sorted: one merge, not an insertion (a memmove) per uid new to us */
	u.cap = ours->n + seen->n;
	u.v = xreallocarray(NULL, (size_t)u.cap + 1, sizeof(*u.v));
	while (i < ours->n || j < seen->n) {
		if (j == seen->n || (i < ours->n && ours->v[i] < seen->v[j])) {
			lacks = 1;	/* ours, not theirs */
			u.v[u.n++] = ours->v[i++];
		} else if (i == ours->n || seen->v[j] < ours->v[i]) {
			if (!members_only || mstate_find(&n->st, seen->v[j]) >= 0) {
				u.v[u.n++] = seen->v[j];
				grew = 1;
			}
			j++;
		} else {
			u.v[u.n++] = ours->v[i++];
			j++;
		}
	}
	if (grew) {
		u64set_free(&n->st.seen);
		n->st.seen = u;
		n->state_seq++;
		seen_grew(n, now);
	} else
		u64set_free(&u);
	return lacks;
}

/*
 * A status of our version read against our seen set's bitmap (mstate_seen_bits):
 * what status_seen_from_wire, unite_seen and seen_gap do, without
 * reading the bitmap into a set of up to N uids and merging it with ours
 * per status (the leader reads one from every member a version: at
 * thousands of members, most of its time). The members it adds, if any,
 * are merged in as unite_seen does. 0 done; 2 not so: read it whole.
 */
static int
on_status_same(struct node *n, const cJSON *msg, const struct from *f, msec_t now)
{
	const struct seen_bits *c = mstate_seen_bits(&n->st, &n->seen_bits, n->state_seq);
	struct seen_cmp r;
	int i, j, k, rc;

	rc = status_seen_compare(msg, &n->st, c, mstate_find(&n->st, n->self.uid), &r);
	if (rc == 2)
		return 2;
	if (rc < 0) {
		n->dropped.malformed++;
		return 0;
	}
	if (rc > 0) {
		n->dropped.stale++;
		return 0;
	}
	if (r.nadd > 0) {
		struct u64set *u = &n->st.seen;

		/*
		 * Both sorted and disjoint: merged from the back, in place (a
		 * new array of N uids per status that adds one was the most
		 * of the leader's time here)
		 */
		if (u->cap < u->n + r.nadd) {
			u->cap = u->n + r.nadd > 2 * u->cap ? u->n + r.nadd : 2 * u->cap;
			u->v = xreallocarray(u->v, (size_t)u->cap, sizeof(*u->v));
		}
		i = u->n - 1;
		j = r.nadd - 1;
		for (k = u->n + r.nadd - 1; j >= 0; k--)
			u->v[k] = i >= 0 && u->v[i] > r.uids[j] ? u->v[i--] : r.uids[j--];
		u->n += r.nadd;
		n->state_seq++;
		seen_bits_took(&n->seen_bits, &n->st, &r, n->state_seq);
		seen_grew(n, now);
	}
	if (r.lacks && seen_gap_self(n, r.has_self))
		send_status(n, &n->st.m[f->mi], STW_STATUS_GAP);
	return 0;
}

/*
 * A gossip is read in two steps: first its head (the table's uids, the
 * version, the seen set), which is all that a gossip of our own version or
 * an older one needs; the members, reachability and tombstones are read
 * only when we take the state (newer or concurrent), or when we are not in
 * it. At a thousand members most gossips a node receives are of a version
 * it has, and the full read is what akc-sim found most of the CPU in.
 */
void
on_gossip(struct node *n, const cJSON *msg, struct from *f, msec_t now)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(msg, "state");
	const cJSON *bc = cJSON_GetObjectItemCaseSensitive(msg, "bcast");
	const cJSON *fw = cJSON_GetObjectItemCaseSensitive(msg, "fwd");
	struct wire_head head = { 0 };
	struct mstate remote, merged;
	enum vc_order cmp;
	uint64_t *fwd = NULL;
	int remote_had_self_seen, nfwd = 0, member = f->mi >= 0, seen_n, gap;

	mstate_init(&remote);
	/* a "fwd" only in a broadcast ("bcast" true) */
	if ((bc != NULL && !cJSON_IsBool(bc)) ||
	    (nfwd = fwd_parse(fw, &fwd)) < 0 || (fw != NULL && !cJSON_IsTrue(bc)) ||
	    wire_head_parse_known(state, &head, &n->st) < 0) {
		n->dropped.malformed++;
		free(fwd);
		return;
	}
	n->ss.heads++;
	if (!wire_head_has(&head, n->self.uid)) {
		n->ss.full_reads++;
		n->ss.records += (uint64_t)head.n;
		if (mstate_from_wire_head(state, &remote, &head) < 0)
			n->dropped.malformed++;
		else if (mstate_is_tombstoned(&remote, n->self.uid) && f->mi >= 0)
			self_removed(n, now);
		goto out;
	}
	if (f->mi < 0) {
		/* a gossip from a member we do not know yet: join it by merging */
		if (mstate_is_tombstoned(&n->st, f->uid)) {
			send_to(n, f->address, envelope(n, MSG_REMOVED, f->uid));
			n->dropped.stale++;
			goto out;
		}
	} else if (reach_observer_says(&n->st.reach, n->self.uid, f->uid) != RS_REACHABLE) {
		n->dropped.stale++;
		goto out;
	}
	remote_had_self_seen = u64set_has(&head.seen, n->self.uid);
	cmp = vclock_compare(&head.vc, &n->st.vc);
	if (cmp == VC_AFTER || cmp == VC_CONCURRENT) {
		n->ss.full_reads++;
		n->ss.records += (uint64_t)head.n;
		if (mstate_from_wire_head(state, &remote, &head) < 0) {
			n->dropped.malformed++;
			goto out;
		}
	}
	switch (cmp) {
	case VC_SAME:
		/*
		 * Our status only when the sender does not know that we have
		 * its version: it would aim its pushes and rounds at us. The
		 * rest of our seen set is not worth a message (seen_gap()).
		 * Not when our word rode a push chain and this gossip adds to
		 * our seen set (push_tick's rule 7): two chains met, and the
		 * leader hears what the meeting adds instead of the sender.
		 */
		seen_n = n->st.seen.n;
		gap = unite_seen(n, &head.seen, 0, now);
		if (n->chained == n->version_seq && n->st.seen.n > seen_n && f->mi >= 0)
			chain_met(n, f);
		else if (gap && (!remote_had_self_seen || seen_answers(n)) && f->mi >= 0)
			send_status(n, &n->st.m[f->mi], STW_GOSSIP_GAP);
		break;
	case VC_BEFORE:
		/* we are newer: the sender needs our state */
		if (f->mi >= 0)
			reply_gossip(n, &n->st.m[f->mi], now);
		break;
	case VC_AFTER:
		n->ss.adopted++;
		mstate_free(&n->st);
		n->st = remote;
		mstate_init(&remote);
		u64set_add(&n->st.seen, n->self.uid);
		changed(n, now);
		/* the status we send the leader prints this bitmap: the one we read */
		mstate_seen_bits_wire(&n->st, state, mstate_find(&n->st, n->self.uid), &n->seen_bits,
		    n->state_seq);
		if (cJSON_IsTrue(bc)) {
			int li = mstate_leader_for(&n->st, NULL, n->self.uid);

			/* every member has it from the sender: no push (push_tick) */
			n->push_quiet = 1;
			n->bcasts_taken++;
			n->bcast_version = 1;
			log_debug("broadcast from %s taken, %d to forward: not pushed on",
			    f->name, nfwd);
			/*
			 * The leader waits for every member's word: now, not
			 * in the push a loop turn later (a wake-up more per
			 * member on the convergence's path); the sender's below.
			 */
			if (li >= 0 && n->st.m[li].uid != f->uid && valid_target(n, &n->st.m[li])) {
				n->told_leader = n->version_seq;
				send_status(n, &n->st.m[li], STW_BCAST);
			}
		}
		/*
		 * A broadcast's sender hears that we took it; a pusher's does
		 * not: it pushes a version once, and what it would learn only
		 * aims its rounds, which our answer to one tells it (seen_gap())
		 */
		if (!remote_had_self_seen && (cJSON_IsTrue(bc) || seen_answers(n)) &&
		    (f->mi = mstate_find(&n->st, f->uid)) >= 0)
			send_status(n, &n->st.m[f->mi], STW_TAKEN);
		check_self(n, now);
		break;
	case VC_CONCURRENT:
		n->ss.merged++;
		mstate_init(&merged);
		mstate_merge(&merged, &remote, &n->st);
		mstate_free(&n->st);
		n->st = merged;
		u64set_add(&n->st.seen, n->self.uid);
		changed(n, now);
		if ((f->mi = mstate_find(&n->st, f->uid)) >= 0)
			reply_gossip(n, &n->st.m[f->mi], now);
		check_self(n, now);
		break;
	}
	/* the bitmap is over the sender's table: ours when it is the one we hold (shared) */
	cvs_learn(n, msg, head.uid, head.n, wire_head_is_table(&head, &n->st));
	/*
	 * Our version is the broadcast's or newer: it goes on to our share
	 * (asked by a member: nobody else makes us send full states)
	 */
	if (nfwd > 0 && member && n->phase == PHASE_MEMBER)
		bcast_forward(n, fwd, nfwd, now);
out:
	free(fwd);
	wire_head_free(&head);
	mstate_free(&remote);
}

void
on_status(struct node *n, const cJSON *msg, const struct from *f, msec_t now)
{
	struct vclock vc = { 0 };
	struct u64set seen = { 0 };
	int r;

	if (cJSON_GetObjectItemCaseSensitive(msg, "vh") != NULL) {
		uint64_t vh, sh;

		if (json_u64(msg, "vh", &vh) < 0 || json_u64(msg, "sh", &sh) < 0) {
			n->dropped.malformed++;
			goto out;
		}
		on_digest(n, f->uid, vh, sh, now);
		goto out;
	}
	if (status_version_from_wire(msg, &vc) < 0 || json_str(msg, "seen") == NULL) {
		n->dropped.malformed++;
		goto out;
	}
	if (f->mi < 0) {
		n->dropped.not_member++;
		if (mstate_is_tombstoned(&n->st, f->uid))
			send_to(n, f->address, envelope(n, MSG_REMOVED, f->uid));
		goto out;
	}
	switch (vclock_compare(&vc, &n->st.vc)) {
	case VC_SAME:
		/*
		 * The seen bitmap is over the sender's member table, which is
		 * ours when the versions are the same; "mh" checks that it is.
		 */
		if (on_status_same(n, msg, f, now) == 0)
			break;
		if ((r = status_seen_from_wire(msg, &n->st, &seen)) < 0)
			n->dropped.malformed++;
		else if (r > 0)
			n->dropped.stale++;
		else if (unite_seen(n, &seen, 1, now) && seen_gap(n, &seen))
			send_status(n, &n->st.m[f->mi], STW_STATUS_GAP);
		break;
	case VC_BEFORE:
	case VC_CONCURRENT:
		reply_gossip(n, &n->st.m[f->mi], now);
		break;
	case VC_AFTER:
		/* they are ahead: our status makes them send their state */
		send_status(n, &n->st.m[f->mi], STW_AHEAD);
		break;
	}
out:
	vclock_free(&vc);
	u64set_free(&seen);
}
