/* heartbeat.c: memberd's core: the heartbeat ring and the detector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"
#include "proto.h"
#include "xmalloc.h"

static uint64_t
ring_hash(uint64_t x)
{
	/* splitmix64 finaliser: neighbours in the ring are not neighbours in address */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int
ring_cmp(const void *a, const void *b)
{
	uint64_t ha = ring_hash(*(const uint64_t *)a), hb = ring_hash(*(const uint64_t *)b);

	return ha < hb ? -1 : (ha > hb ? 1 : 0);
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
void
update_ring(struct node *n, msec_t now)
{
	uint64_t *ring;
	int i, k, self = -1, count = 0, taken = 0;

	for (i = 0; i < n->nmon; i++)
		n->mon[i].keep = 0;
	if (n->phase == PHASE_MEMBER && n->st.n > 1) {
		ring = xreallocarray(NULL, (size_t)n->st.n, sizeof(*ring));
		for (i = 0; i < n->st.n; i++)
			ring[count++] = n->st.m[i].uid;
		qsort(ring, (size_t)count, sizeof(*ring), ring_cmp);
		for (i = 0; i < count; i++)
			if (ring[i] == n->self.uid)
				self = i;
		for (k = 1; self >= 0 && k < count && taken < n->cfg->monitored_by; k++) {
			int mi = mstate_find(&n->st, ring[(self + k) % count]);

			keep_monitor(n, &n->st.m[mi], now);
			if (mstate_reachable(&n->st, n->st.m[mi].uid))
				taken++;
		}
		free(ring);
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

/* Returns 1 if heartbeats went out. */
int
heartbeat_tick(struct node *n, msec_t now)
{
	int i;

	if (n->phase != PHASE_MEMBER || now < n->next_hb)
		return 0;
	n->hb_seq++;
	for (i = 0; i < n->nmon; i++) {
		cJSON *m = envelope(n, MSG_HEARTBEAT, n->mon[i].uid);

		if (n->mon[i].added < 0) {
			n->mon[i].added = now;	/* expected-response-after counts from here */
			n->mon[i].first = n->hb_seq;
		}
		n->mon[i].answered <<= 1;	/* bit 0: this round's seq */
		json_add_u64(m, "seq", n->hb_seq);
		send_to(n, n->mon[i].address, m);
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

/* Notes a heartbeat from uid; returns the time since the previous one (-1: first). */
msec_t
hb_gap(struct node *n, uint64_t uid, msec_t now)
{
	msec_t gap;
	int i;

	for (i = 0; i < n->nhbseen; i++)
		if (n->hbseen[i].uid == uid) {
			gap = now - n->hbseen[i].at;
			n->hbseen[i].at = now;
			return gap;
		}
	n->hbseen = xreallocarray(n->hbseen, (size_t)n->nhbseen + 1, sizeof(*n->hbseen));
	n->hbseen[n->nhbseen].uid = uid;
	n->hbseen[n->nhbseen].at = now;
	n->nhbseen++;
	return -1;
}

void
on_heartbeat_rsp(struct node *n, uint64_t from, uint64_t seq, msec_t now)
{
	struct monitor *mo = find_monitor(n, from);
	uint64_t age;
	int mi;

	if (mo == NULL)
		return;
	/* only an answer to a heartbeat of the last 64 rounds that we sent it, once */
	age = n->hb_seq - seq;
	if (mo->added < 0 || seq > n->hb_seq || seq < mo->first || age >= 64 ||
	    (mo->answered & (1ULL << age))) {
		n->dropped.replayed++;
		return;
	}
	mo->answered |= 1ULL << age;
	monitor_beat(mo, now);
	if (reach_observer_says(&n->st.reach, n->self.uid, from) == RS_UNREACHABLE &&
	    phi_available(&mo->fd, now) && (mi = mstate_find(&n->st, from)) >= 0) {
		log_notice("marking %s (%s) as REACHABLE again", n->st.m[mi].name,
		    n->st.m[mi].address);
		reach_set(&n->st.reach, n->self.uid, from, RS_REACHABLE);
		local_change(n, now);
	}
}
