/* heartbeat.c: memberd's core: the heartbeat ring and the detector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"
#include "proto.h"
#include "xmalloc.h"

/* a uid's place on the ring: neighbours in the ring are not neighbours in address */
#define ring_hash(uid)	mix64(uid)

/*
 * The k members nearest after us on the ring (the order of ring_hash,
 * from ours on, wrapping round), nearest first: their indexes in st.m in
 * out, how many in the return. One pass over the members, keeping the k
 * least distances: the ring is never sorted or kept (it was sorted on every
 * state change, 5% of akc-sim's CPU at 1,000 nodes; kept, 24 bytes a member
 * and node). ring_hash is a bijection: no two members are as far.
 */
static int
ring_next(const struct node *n, int *out, uint64_t *dist, int k)
{
	uint64_t hs = ring_hash(n->self.uid), d;
	int i, j, c = 0;

	for (i = 0; i < n->st.n; i++) {
		if (n->st.m[i].uid == n->self.uid)
			continue;
		d = ring_hash(n->st.m[i].uid) - hs;	/* clockwise, modulo 2^64 */
		if (c == k && d >= dist[c - 1])
			continue;
		j = c < k ? c++ : c - 1;
		for (; j > 0 && dist[j - 1] > d; j--) {
			dist[j] = dist[j - 1];
			out[j] = out[j - 1];
		}
		dist[j] = d;
		out[j] = i;
	}
	return c;
}

static struct monitor *
find_monitor(struct node *n, uint64_t uid)
{
	int i;

	for (i = 0; i < n->nmon; i++)
		if (n->mon[i].uid == uid)
			return &n->mon[i];
	return NULL;
}

static void
keep_monitor(struct node *n, const struct member *m, msec_t now)
{
	struct monitor *mo = find_monitor(n, m->uid);

	if (mo == NULL) {
		n->mon = xreallocarray(n->mon, (size_t)n->nmon + 1, sizeof(*n->mon));
		mo = &n->mon[n->nmon++];
		memset(mo, 0, sizeof(*mo));
		mo->uid = m->uid;
		phi_init(&mo->fd, &n->phic);
		/*
		 * Its first heartbeat goes with the others at the next tick: an
		 * extra early beat to everyone would teach every detector a short
		 * interval, widen its deviation and slow detection by ~0.5 s.
		 */
		mo->added = -1;
		mo->deadline = -1;
	}
	(void)now;
	snprintf(mo->address, sizeof(mo->address), "%s", m->address);
	mo->keep = 1;
}

/*
 * Who we heartbeat (Akka's HeartbeatNodeRing, with its fixes):
 * 1. all members sorted by a hash of their uid, so a host's neighbours in the
 *    ring are spread over the cluster;
 * 2. we watch the next monitored-by-nr-of-members after us, skipping (but
 *    still watching) members already unreachable, so a dead neighbour does
 *    not shrink the coverage of the others (akka#16624);
 * 3. members we marked unreachable stay watched until they answer, so their
 *    return is noticed even after the ring moved on.
 * Weak point: the watched side is passive; a one-way link is seen by the
 * watcher only.
 */
/*
 * Whether the ring's inputs are what they were when it was last made: the
 * members (the table's id: a new one with every write), the reachability
 * records (observer, subject and status: what mstate_reachable and
 * reach_observer_says read; versions are not) and the phase. The ring is
 * then the same, and so are the monitors (nothing else adds or drops
 * one). Most versions a node takes change only clocks and seen sets, and
 * the ring is a pass over every member (at 1,000 members 2% of akc-sim's
 * CPU).
 */
static int
ring_same(const struct node *n)
{
	const struct reach *r = &n->st.reach;
	int i;

	if (n->ring_mt == 0 || n->ring_mt != mstate_table_id(&n->st) ||
	    n->ring_phase != (int)n->phase || n->ring_nr != r->n)
		return 0;
	for (i = 0; i < r->n; i++)
		if (n->ring_r[i].observer != r->r[i].observer ||
		    n->ring_r[i].subject != r->r[i].subject || n->ring_r[i].status != r->r[i].status)
			return 0;
	return 1;
}

static void
ring_made(struct node *n)
{
	const struct reach *r = &n->st.reach;

	n->ring_mt = mstate_table_id(&n->st);
	n->ring_phase = (int)n->phase;
	RESERVE(n->ring_r, r->n, n->ring_rcap);
	if (r->n > 0)
		memcpy(n->ring_r, r->r, (size_t)r->n * sizeof(*r->r));
	n->ring_nr = r->n;
}

void
update_ring(struct node *n, msec_t now)
{
	int *next = NULL, i, k, count = 0, taken = 0;
	uint64_t *dist = NULL;

	if (ring_same(n))
		return;
	ring_made(n);
	for (i = 0; i < n->nmon; i++)
		n->mon[i].keep = 0;
	if (n->phase == PHASE_MEMBER && n->st.n > 1 && mstate_find(&n->st, n->self.uid) >= 0) {
		/* the nearest monitored_by, and as many more as are unreachable on the way */
		for (k = n->cfg->monitored_by + 8; ; k *= 2) {
			next = xreallocarray(next, (size_t)k, sizeof(*next));
			dist = xreallocarray(dist, (size_t)k, sizeof(*dist));
			count = ring_next(n, next, dist, k);
			for (i = 0, taken = 0; i < count && taken < n->cfg->monitored_by; i++)
				taken += mstate_reachable(&n->st, n->st.m[next[i]].uid);
			if (taken == n->cfg->monitored_by || count < k)
				break;
		}
		for (i = 0, taken = 0; i < count && taken < n->cfg->monitored_by; i++) {
			keep_monitor(n, &n->st.m[next[i]], now);
			if (mstate_reachable(&n->st, n->st.m[next[i]].uid))
				taken++;
		}
		free(next);
		free(dist);
		for (i = 0; i < n->st.n; i++)
			if (n->st.m[i].uid != n->self.uid &&
			    reach_observer_says(&n->st.reach, n->self.uid, n->st.m[i].uid) == RS_UNREACHABLE)
				keep_monitor(n, &n->st.m[i], now);
	}
	for (i = 0; i < n->nmon; )
		if (!n->mon[i].keep) {
			phi_free(&n->mon[i].fd);
			n->mon[i] = n->mon[--n->nmon];
		} else
			i++;
}

/* A heartbeat (or the start of watching) for mo: the detector's next deadline moves. */
static void
monitor_beat(struct monitor *mo, msec_t now)
{
	phi_heartbeat(&mo->fd, now);
	mo->deadline = phi_deadline(&mo->fd);
}

/* ---- compact payloads (doc/PROTOCOL.md, "Compact heartbeats", "Compact digests") ---- */

/*
 * A member announced that it reads the compact forms of CPT_VERSION ("cv"
 * in its JSON hello, hb or digest, or a bind frame). Uids that left the
 * membership are pruned once the set outgrows it: a restarted node is a
 * new uid, and a forgotten one only costs the long forms until it says so
 * again.
 */
void
compact_peer_note(struct node *n, uint64_t uid)
{
	int i;

	if (u64set_has(&n->compact_peers, uid))
		return;
	if (n->compact_peers.n > 2 * n->st.n + 64)
		for (i = n->compact_peers.n - 1; i >= 0; i--)
			if (mstate_find(&n->st, n->compact_peers.v[i]) < 0)
				u64set_del(&n->compact_peers, n->compact_peers.v[i]);
	u64set_add(&n->compact_peers, uid);
	n->compact.learned++;
}

int
compact_peer(const struct node *n, uint64_t uid)
{
	return u64set_has(&n->compact_peers, uid);
}

/* Queues compact payload c for address; its short form is allowed if the receiver reads it. */
static void
send_compact_msg(struct node *n, const char *address, struct compact *c)
{
	struct outmsg *o;

	c->from = n->self.uid;
	send_to(n, address, NULL);
	o = &n->out[n->nout - 1];
	o->blen = compact_encode(o->bin, c);
	o->bind_to = compact_peer(n, c->to) ? c->to : 0;
}

static void
send_compact(struct node *n, const char *address, int kind, uint64_t to, uint64_t seq)
{
	struct compact c = { .kind = kind, .to = to, .seq = seq };

	send_compact_msg(n, address, &c);
}

/* A compact digest (gossip.c's idle round) for a member that reads them. */
void
send_compact_digest(struct node *n, const struct member *to, uint64_t vh, uint64_t sh)
{
	struct compact c = { .kind = CPT_DIGEST, .to = to->uid, .seq = ++n->msg_n,
	    .vh = vh, .sh = sh };

	send_compact_msg(n, to->address, &c);
	n->compact.digests_sent++;
}

int
node_payload_compact(const void *payload, size_t len)
{
	return len > 0 && *(const unsigned char *)payload >= 0x80;
}

const char *
node_compact_type(const void *payload, size_t len)
{
	int k = len > 0 ? *(const unsigned char *)payload : 0;

	if (k == CPT_BIND)
		return MSG_HELLO;
	if (compact_kind_known(k) == 2)
		k -= CPT_BOUND;
	return k == CPT_HB ? MSG_HEARTBEAT : k == CPT_HB_RSP ? MSG_HEARTBEAT_RSP :
	    k == CPT_DIGEST ? MSG_STATUS : NULL;
}

const char *
node_out_type(const struct outmsg *o)
{
	return o->msg != NULL ? json_str(o->msg, "t") : node_compact_type(o->bin, o->blen);
}

/* Returns 1 if heartbeats went out. */
int
heartbeat_tick(struct node *n, msec_t now)
{
	int i;

	if (n->phase != PHASE_MEMBER || now < n->next_hb)
		return 0;
	n->hb_seq++;
	for (i = 0; i < n->nmon; i++) {
		struct monitor *mo = &n->mon[i];
		cJSON *m;

		if (mo->added < 0) {
			mo->added = now;	/* expected-response-after counts from here */
			mo->first = n->hb_seq;
		}
		mo->answered <<= 1;	/* bit 0: this round's seq */
		/*
		 * Compact once it answered one, as long as it answered the last:
		 * a beat that went unanswered is followed by a JSON one, which
		 * tells the receiver our address again (a member it does not
		 * know yet) and works with a node that speaks JSON only.
		 */
		if (mo->compact && (mo->answered & 2)) {
			send_compact(n, mo->address, HBC_HEARTBEAT, mo->uid, n->hb_seq);
			continue;
		}
		m = envelope(n, MSG_HEARTBEAT, mo->uid);
		json_add_u64(m, "seq", n->hb_seq);
		cJSON_AddTrueToObject(m, "compact");
		cJSON_AddNumberToObject(m, "cv", CPT_VERSION);
		send_to(n, mo->address, m);
	}
	/*
	 * Heartbeats go out on multiples of the interval of the monotonic
	 * clock, so on one host all nodes beat in phase: the beats a node
	 * receives, and the answers to its own, arrive together and are
	 * handled in one wake-up instead of one each (idle CPU is mostly
	 * wake-ups). Across hosts the phases are unrelated, which costs nothing.
	 */
	n->next_hb = now - now % n->cfg->heartbeat_interval + n->cfg->heartbeat_interval;
	return 1;
}

/* Marks watched members unreachable once phi crosses the threshold. */
void
detector_tick(struct node *n, msec_t now)
{
	int i, mi, change = 0;

	if (n->phase != PHASE_MEMBER)
		return;
	for (i = 0; i < n->nmon; i++) {
		struct monitor *mo = &n->mon[i];

		/* never answered: start the detector anyway (expected-response-after) */
		if (mo->fd.last < 0 && mo->added >= 0 &&
		    now - mo->added >= n->cfg->expected_response_after)
			monitor_beat(mo, now);
		if (mo->fd.last < 0 || phi_available(&mo->fd, now))
			continue;
		if (reach_observer_says(&n->st.reach, n->self.uid, mo->uid) != RS_REACHABLE)
			continue;
		if ((mi = mstate_find(&n->st, mo->uid)) < 0)
			continue;
		log_warnx("marking %s (%s) as UNREACHABLE: no heartbeat for %lldms (phi %.1f)",
		    n->st.m[mi].name, n->st.m[mi].address, (long long)(now - mo->fd.last),
		    phi_value(&mo->fd, now));
		reach_set(&n->st.reach, n->self.uid, mo->uid, RS_UNREACHABLE);
		reset_to(n, mo->address);
		change = 1;
	}
	if (change)
		local_change(n, now);
	if (now >= n->next_unreach_reset) {
		n->next_unreach_reset = now + 2000;
		for (i = 0; i < n->nmon; i++)
			if (reach_observer_says(&n->st.reach, n->self.uid, n->mon[i].uid) == RS_UNREACHABLE)
				reset_to(n, n->mon[i].address);
	}
}

#define HB_SENDER_KEEP	(10 * 60 * 1000)	/* a quiet sender is forgotten after this */

static struct hb_sender *
find_sender(struct node *n, uint64_t uid)
{
	int i;

	for (i = 0; i < n->nhbseen; i++)
		if (n->hbseen[i].uid == uid)
			return &n->hbseen[i];
	return NULL;
}

/* The sender uid's entry, made if new (its at: -1); senders long quiet make room. */
static struct hb_sender *
hb_sender(struct node *n, uint64_t uid, msec_t now)
{
	struct hb_sender *h = find_sender(n, uid);
	int i;

	if (h != NULL)
		return h;
	for (i = 0; i < n->nhbseen; )
		if (now - n->hbseen[i].at > HB_SENDER_KEEP)
			n->hbseen[i] = n->hbseen[--n->nhbseen];
		else
			i++;
	n->hbseen = xreallocarray(n->hbseen, (size_t)n->nhbseen + 1, sizeof(*n->hbseen));
	memset(&n->hbseen[n->nhbseen], 0, sizeof(*n->hbseen));
	n->hbseen[n->nhbseen].uid = uid;
	n->hbseen[n->nhbseen].at = -1;
	return &n->hbseen[n->nhbseen++];
}

/*
 * A heartbeat from uid: answered, compact if it said it reads them. address
 * is the sender's from a JSON envelope, NULL for a compact heartbeat: then
 * the member's address (or the one its last JSON heartbeat gave) is used.
 * Each seq is answered once, and only above the last answered: heartbeats
 * carry no message counter, their seq is theirs.
 */
void
on_heartbeat(struct node *n, uint64_t uid, const char *address, uint64_t seq, int compact,
    msec_t now)
{
	struct hb_sender *h = find_sender(n, uid);
	int mi;

	if (address == NULL) {
		if ((mi = mstate_find(&n->st, uid)) >= 0)
			address = n->st.m[mi].address;
		else if (h != NULL && h->address[0] != '\0')
			address = h->address;
		else {
			n->dropped.not_member++;	/* its next heartbeat is JSON */
			return;
		}
	}
	if (h == NULL)
		h = hb_sender(n, uid, now);
	if (seq <= h->seq) {
		n->dropped.replayed++;
		return;
	}
	if (address != h->address)
		snprintf(h->address, sizeof(h->address), "%s", address);
	/* quiet for a while, now back: our path to it may be stuck */
	if (h->at >= 0 && now - h->at > 3 * n->cfg->heartbeat_interval)
		reset_to(n, h->address);
	h->at = now;
	h->seq = seq;
	if (compact)
		send_compact(n, h->address, HBC_HEARTBEAT_RSP, uid, seq);
	else {
		cJSON *rsp = envelope(n, MSG_HEARTBEAT_RSP, uid);

		json_add_u64(rsp, "seq", seq);
		send_to(n, h->address, rsp);
	}
}

/* The sender and receiver checks every long form passes (doc/PROTOCOL.md): 0 if it may go on. */
static int
compact_check(struct node *n, const unsigned char *p, size_t len, struct compact *c)
{
	if (len == 0 || compact_kind_known(p[0]) != 1) {
		n->dropped.unknown++;	/* a later layout, a short form out of its connection, or not ours */
		return -1;
	}
	if (compact_decode(p, len, c) < 0) {
		n->dropped.malformed++;
		return -1;
	}
	if (c->from == n->self.uid) {
		n->dropped.replayed++;
		return -1;
	}
	if (c->to != n->self.uid) {
		n->dropped.stale++;	/* meant for an earlier incarnation */
		return -1;
	}
	return 0;
}

uint64_t
node_receive_bind(struct node *n, const unsigned char *p, size_t len, msec_t now)
{
	struct compact c;

	(void)now;
	if (compact_check(n, p, len, &c) < 0)
		return 0;
	if (c.kind != CPT_BIND) {
		n->dropped.malformed++;
		return 0;
	}
	n->compact.binds_received++;
	compact_peer_note(n, c.from);
	return c.from;
}

uint64_t
node_bind_uid(const struct node *n, const char *address)
{
	int i;

	for (i = 0; i < n->st.n; i++)
		if (strcmp(n->st.m[i].address, address) == 0 && compact_peer(n, n->st.m[i].uid) &&
		    n->st.m[i].uid != n->self.uid)
			return n->st.m[i].uid;
	return 0;
}

cJSON *
node_compact_json(const struct node *n)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "version", CPT_VERSION);
	cJSON_AddNumberToObject(o, "peers", n->compact_peers.n);
	cJSON_AddNumberToObject(o, "digests_sent", (double)n->compact.digests_sent);
	cJSON_AddNumberToObject(o, "digests_received", (double)n->compact.digests_received);
	cJSON_AddNumberToObject(o, "short_sent", (double)n->compact.short_sent);
	cJSON_AddNumberToObject(o, "short_received", (double)n->compact.short_received);
	cJSON_AddNumberToObject(o, "binds_sent", (double)n->compact.binds_sent);
	cJSON_AddNumberToObject(o, "binds_received", (double)n->compact.binds_received);
	cJSON_AddNumberToObject(o, "learned", (double)n->compact.learned);
	cJSON_AddNumberToObject(o, "learned_by_gossip", (double)n->compact.learned_by_gossip);
	return o;
}

void
node_receive_compact(struct node *n, const unsigned char *p, size_t len, msec_t now)
{
	struct compact c;

	if (compact_check(n, p, len, &c) < 0)
		return;
	if (n->phase == PHASE_SHUTDOWN)
		return;
	switch (c.kind) {
	case CPT_HB:
		on_heartbeat(n, c.from, NULL, c.seq, 1, now);
		break;
	case CPT_HB_RSP:
		on_heartbeat_rsp(n, c.from, c.seq, 1, now);
		break;
	case CPT_DIGEST:
		/* a digest carries the message counter n of the JSON envelope, with its window */
		if (!fresh_n(n, c.from, c.seq, now)) {
			n->dropped.replayed++;
			return;
		}
		n->compact.digests_received++;
		compact_peer_note(n, c.from);
		if (n->phase == PHASE_MEMBER)
			on_digest(n, c.from, c.vh, c.sh, now);
		break;
	case CPT_BIND:
		/* a bind frame where no connection is (a simulator): what it announces */
		compact_peer_note(n, c.from);
		break;
	}
}

void
on_heartbeat_rsp(struct node *n, uint64_t from, uint64_t seq, int compact, msec_t now)
{
	struct monitor *mo = find_monitor(n, from);
	uint64_t age;
	int mi;

	if (mo == NULL) {
		n->dropped.replayed++;	/* a reply we did not ask for */
		return;
	}
	/* only an answer to a heartbeat of the last 64 rounds that we sent it, once */
	age = n->hb_seq - seq;
	if (mo->added < 0 || seq > n->hb_seq || seq < mo->first || age >= 64 ||
	    (mo->answered & (1ULL << age))) {
		n->dropped.replayed++;
		return;
	}
	mo->answered |= 1ULL << age;
	if (compact)
		mo->compact = 1;
	monitor_beat(mo, now);
	if (reach_observer_says(&n->st.reach, n->self.uid, from) == RS_UNREACHABLE &&
	    phi_available(&mo->fd, now) && (mi = mstate_find(&n->st, from)) >= 0) {
		log_notice("marking %s (%s) as REACHABLE again", n->st.m[mi].name,
		    n->st.m[mi].address);
		reach_set(&n->st.reach, n->self.uid, from, RS_REACHABLE);
		local_change(n, now);
	}
}
