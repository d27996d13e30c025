/*
 * test-node.c: memberd's core driven in-process: a simulated cluster of nodes
 * whose messages are delivered by a router, with leader actions applied the
 * way leaderd does, on a simulated clock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"	/* send_gossip: a full state on demand */
#include "proto.h"
#include "unit.h"

#define N 5

static struct akc_config cfg[N];
static struct node nodes[N];
static int alive[N];
static msec_t now;
static msec_t drop_exiting_until;	/* the router loses exit notices till then */
static int cut[N][N];			/* the router loses what i sends j */
static int capture_from = -1;		/* the router copies that node's heartbeat replies */
static int capture_any = -1;		/* the router copies all that node's messages */
/* what the router copied: JSON, or a compact heartbeat's payload */
struct cap {
	int dest;
	msec_t at;
	cJSON *msg;
	unsigned char bin[CPT_MAX];
	size_t blen;
};
#define CAP_MAX	4000
static struct cap caps[CAP_MAX];
static int ncaps;
static int legacy = -1;	/* the router makes it a node of before compact heartbeats */
static int legacy_cv = -1;	/* the router makes it a node of before compact digests (no "cv") */
static int mute_from = -1, mute_to = -1;	/* the router keeps from's "cv" and compact digests from to */
static int sent_digest_json, sent_digest_compact, digest_to_legacy;	/* idle rounds' digests */
static int sent_compact, sent_json_hb;	/* heartbeats and answers the router saw */
static const char *seed_list = "tcp://127.0.0.1:1000";
static int old_joiner = -1;	/* the router makes it a joiner of before partial welcomes */
static int no_gossip_to = -1;	/* the router loses every gossip (full state) to it */
static int welcomes_seen, partial_welcomes_seen;	/* welcomes the router carried */
static int init_joins_from, acks_from;	/* init-joins and their acks sent by watch_joins */
static int watch_joins = -1;

static void
make_config(int i)
{
	char path[] = "/tmp/akc-test-node.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fprintf(f, "[node]\nname = n%d\naddress = tcp://127.0.0.1:%d\n"
	    "[cluster]\nseed-nodes = %s\ngossip-interval = 100ms\n"
	    "seed-node-timeout = 300ms\nallow-weakly-up-members = off\n"
	    "[failure-detector]\nheartbeat-interval = 100ms\n"
	    "acceptable-heartbeat-pause = 300ms\nmonitored-by-nr-of-members = 2\n", i, 1000 + i,
	    seed_list);
	fclose(f);
	if (config_load(path, &cfg[i]) != 0)
		exit(99);
	unlink(path);
}

static int
by_address(const char *a)
{
	int i;

	for (i = 0; i < N; i++)
		if (strcmp(nodes[i].self.address, a) == 0)
			return i;
	return -1;
}

/*
 * Hands n a message as memberd does: printed and parsed (a full state is
 * a raw item, its text printed once a version: mstate_wire_raw), or a
 * compact payload.
 */
static void
receive_json(struct node *n, const cJSON *msg)
{
	char *txt = json_print(msg);
	cJSON *m = json_parse(txt, strlen(txt));

	if (m == NULL) {
		printf("  a message sent does not parse: %.200s\n", txt);
		abort();
	}
	node_receive(n, m, now);
	cJSON_Delete(m);
	free(txt);
}

static void
receive(struct node *n, const struct outmsg *o)
{
	if (o->msg != NULL)
		receive_json(n, o->msg);
	else
		node_receive_compact(n, o->bin, o->blen, now);
}

static void
capture(int dest, const struct outmsg *o)
{
	if (ncaps == CAP_MAX)
		return;
	caps[ncaps].dest = dest;
	caps[ncaps].at = now;
	caps[ncaps].msg = o->msg != NULL ? cJSON_Duplicate(o->msg, 1) : NULL;
	memcpy(caps[ncaps].bin, o->bin, o->blen);
	caps[ncaps].blen = o->blen;
	ncaps++;
}

static void
replay_cap(struct node *n, const struct cap *c)
{
	if (c->msg != NULL)
		receive_json(n, c->msg);
	else
		node_receive_compact(n, c->bin, c->blen, now);
}

static void
free_caps(void)
{
	while (ncaps > 0)
		cJSON_Delete(caps[--ncaps].msg);
}

/*
 * route()'s budget: a call still busy after ROUTE_ROUNDS rounds (a round
 * hands every node's outbox on once) or ROUTE_MSGS messages is a message
 * loop, a bug in a core: it fails the test running (named by RUN_NODE),
 * drops what is still queued and returns, where it would spin for ever.
 * The most one call of these tests takes (UNIT_ROUTE_STATS=1 prints it)
 * is 5 rounds and 93 messages: the budget is 200 and 1,000 times that, so
 * no test's outcome depends on it. -DROUTE_ROUNDS=3 shows it at work.
 */
#ifndef ROUTE_ROUNDS
#define ROUTE_ROUNDS		1000
#endif
#define ROUTE_MSGS		100000
static const char *test_name = "?";	/* the test RUN_NODE runs */
static int route_looped;		/* its route() ran out of budget */
static long route_most_rounds, route_most_msgs;

#define RUN_NODE(test) do {						\
	test_name = #test;						\
	route_looped = 0;						\
	RUN(test);							\
} while (0)

/* What a route() over its budget leaves queued: dropped. */
static void
route_drop_all(void)
{
	struct outmsg *out;
	int i, k, count;

	for (i = 0; i < N; i++) {
		out = node_outbox(&nodes[i], &count);
		for (k = 0; k < count; k++)
			cJSON_Delete(out[k].msg);
	}
}

/* Delivers every queued message (and what it causes) to live nodes, within the budget above. */
static void
route(void)
{
	int busy = 1, i, j, k, count;
	long rounds = 0, msgs = 0;

	while (busy) {
		busy = 0;
		if (rounds >= ROUTE_ROUNDS || msgs >= ROUTE_MSGS) {
			if (!route_looped)
				printf("  %s: route() still busy after %ld rounds and %ld messages "
				    "(budget %d, %d): a message loop; what is queued is dropped\n",
				    test_name, rounds, msgs, ROUTE_ROUNDS, ROUTE_MSGS);
			route_looped = 1;
			unit_fail++;
			route_drop_all();
			return;
		}
		rounds++;
		for (i = 0; i < N; i++) {
			struct outmsg *out = node_outbox(&nodes[i], &count), *copy;

			if (count == 0)
				continue;
			busy = 1;
			msgs += count;
			copy = malloc((size_t)count * sizeof(*copy));
			memcpy(copy, out, (size_t)count * sizeof(*copy));
			for (k = 0; k < count; k++) {
				const char *t = node_out_type(&copy[k]);

				j = by_address(copy[k].address);
				if (i == capture_from && t != NULL && strcmp(t, MSG_HEARTBEAT_RSP) == 0)
					capture(j, &copy[k]);
				if (i == capture_any && j >= 0)
					capture(j, &copy[k]);
				if (t != NULL && strcmp(t, MSG_EXITING) == 0 && now < drop_exiting_until)
					j = -1;
				if (copy[k].msg == NULL && copy[k].bin[0] == CPT_DIGEST) {
					sent_digest_compact++;
					if (j == legacy_cv)
						digest_to_legacy++;
				} else if (t != NULL && strcmp(t, MSG_STATUS) == 0 &&
				    cJSON_GetObjectItemCaseSensitive(copy[k].msg, "vh") != NULL)
					sent_digest_json++;
				if (copy[k].msg == NULL)
					sent_compact++;
				else if (t != NULL && (strcmp(t, MSG_HEARTBEAT) == 0 ||
				    strcmp(t, MSG_HEARTBEAT_RSP) == 0))
					sent_json_hb++;
				/* an old node: never says "compact", drops compact payloads */
				if (legacy >= 0 && (i == legacy || j == legacy)) {
					if (copy[k].msg == NULL && j == legacy)
						j = -1;
					else if (copy[k].msg != NULL)
						cJSON_DeleteItemFromObjectCaseSensitive(copy[k].msg,
						    "compact");
				}
				/* an old node of version 2 before compact digests: it never says nor reads "cv", "cvs" */
				if ((i == legacy_cv || j == legacy_cv) && copy[k].msg != NULL) {
					cJSON_DeleteItemFromObjectCaseSensitive(copy[k].msg, "cv");
					cJSON_DeleteItemFromObjectCaseSensitive(copy[k].msg, "cvs");
				}
				/* to never hears from from directly that it reads the compact forms */
				if (i == mute_from && j == mute_to) {
					if (copy[k].msg != NULL)
						cJSON_DeleteItemFromObjectCaseSensitive(copy[k].msg, "cv");
					else if (copy[k].bin[0] == CPT_DIGEST || copy[k].bin[0] == CPT_BIND)
						j = -1;
				}
				if (t != NULL && strcmp(t, MSG_JOIN) == 0 && i == old_joiner)
					cJSON_DeleteItemFromObjectCaseSensitive(copy[k].msg, "partial");
				if (t != NULL && strcmp(t, MSG_GOSSIP) == 0 && j == no_gossip_to)
					j = -1;
				if (t != NULL && strcmp(t, MSG_WELCOME) == 0) {
					welcomes_seen++;
					partial_welcomes_seen += cJSON_IsTrue(
					    cJSON_GetObjectItemCaseSensitive(copy[k].msg, "partial"));
				}
				if (i == watch_joins && t != NULL && strcmp(t, MSG_INIT_JOIN) == 0)
					init_joins_from++;
				if (i == watch_joins && t != NULL && strcmp(t, MSG_INIT_JOIN_ACK) == 0)
					acks_from++;
				if (j == legacy_cv && copy[k].msg == NULL &&
				    copy[k].bin[0] != CPT_HB && copy[k].bin[0] != CPT_HB_RSP)
					j = -1;
				if (alive[i] && j >= 0 && alive[j] && !cut[i][j])
					receive(&nodes[j], &copy[k]);
				cJSON_Delete(copy[k].msg);
			}
			free(copy);
		}
	}
	if (rounds > route_most_rounds)
		route_most_rounds = rounds;
	if (msgs > route_most_msgs)
		route_most_msgs = msgs;
}

/* What leaderd does: decide on the node's state, send it tagged with state_seq. */
static void
leader_round(int i)
{
	struct node *n = &nodes[i];
	cJSON *acts, *req;
	char err[256];

	if (!alive[i] || n->phase != PHASE_MEMBER)
		return;
	acts = leader_actions(&n->st, n->self.uid, node_convergence(n), &n->exiting_confirmed,
	    cfg[i].min_nr_of_members);
	if (cJSON_GetArraySize(acts) == 0) {
		cJSON_Delete(acts);
		return;
	}
	req = cJSON_CreateObject();
	json_add_u64(req, "state_seq", n->state_seq);
	cJSON_AddItemToObject(req, "actions", acts);
	node_cmd_leader_actions(n, req, now, err, sizeof(err));
	cJSON_Delete(req);
}

static void
step(msec_t ms)
{
	msec_t end = now + ms;
	int i;

	for (; now < end; now += 5) {
		for (i = 0; i < N; i++)
			if (alive[i]) {
				nodes[i].wall = 1700000000000LL + now;
				node_tick(&nodes[i], now);
			}
		route();
		for (i = 0; i < N; i++)
			leader_round(i);
		route();
	}
}

static int
count_status(int i, enum mstatus s)
{
	int k, c = 0;

	for (k = 0; k < nodes[i].st.n; k++)
		c += nodes[i].st.m[k].status == s;
	return c;
}

static uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Whether node i watches exactly the monitored_by members after it on the
 * ring (doc/PROTOCOL.md "Heartbeats": by splitmix64 of the uid), found
 * here by sorting, the way the ring is defined; all reachable.
 */
static int
ring_ok(int i)
{
	const struct node *nd = &nodes[i];
	uint64_t h[N + 1], u[N + 1], t;
	int k, j, c = 0, self = -1;

	for (k = 0; k < nd->st.n; k++) {
		h[c] = splitmix(nd->st.m[k].uid);
		u[c++] = nd->st.m[k].uid;
	}
	for (k = 1; k < c; k++)
		for (j = k; j > 0 && h[j - 1] > h[j]; j--) {
			t = h[j], h[j] = h[j - 1], h[j - 1] = t;
			t = u[j], u[j] = u[j - 1], u[j - 1] = t;
		}
	for (k = 0; k < c; k++)
		if (u[k] == nd->self.uid)
			self = k;
	if (self < 0 || nd->nmon != (c - 1 < nd->cfg->monitored_by ? c - 1 : nd->cfg->monitored_by))
		return 0;
	for (k = 1; k <= nd->nmon; k++) {
		for (j = 0; j < nd->nmon; j++)
			if (nd->mon[j].uid == u[(self + k) % c])
				break;
		if (j == nd->nmon)
			return 0;
	}
	return 1;
}

/* The uid k places after node i's own on its ring (k >= 1), by sorting as ring_ok. */
static uint64_t
ring_after(int i, int k)
{
	const struct node *nd = &nodes[i];
	uint64_t h[N + 1], u[N + 1], t;
	int a, j, c = 0, self = 0;

	for (a = 0; a < nd->st.n; a++) {
		h[c] = splitmix(nd->st.m[a].uid);
		u[c++] = nd->st.m[a].uid;
	}
	for (a = 1; a < c; a++)
		for (j = a; j > 0 && h[j - 1] > h[j]; j--) {
			t = h[j], h[j] = h[j - 1], h[j - 1] = t;
			t = u[j], u[j] = u[j - 1], u[j - 1] = t;
		}
	for (a = 0; a < c; a++)
		if (u[a] == nd->self.uid)
			self = a;
	return u[(self + k) % c];
}

static int
watches(int i, uint64_t uid)
{
	int k;

	for (k = 0; k < nodes[i].nmon; k++)
		if (nodes[i].mon[k].uid == uid)
			return 1;
	return 0;
}

static int
all_up(int n)
{
	int i;

	for (i = 0; i < N; i++)
		if (alive[i] && (count_status(i, MS_UP) != n || nodes[i].st.n != n ||
		    !node_convergence(&nodes[i]) || !ring_ok(i)))
			return 0;
	return 1;
}

static int
until(int (*cond)(int), int arg, msec_t limit)
{
	msec_t start = now;

	while (!cond(arg)) {
		if (now - start > limit)
			return -1;
		step(5);
	}
	return (int)(now - start);
}

static void
form(void)
{
	int i, li;

	for (i = 0; i < N; i++) {
		make_config(i);
		node_init(&nodes[i], &cfg[i], 100 + (uint64_t)i * 7919, now);
		alive[i] = 1;
	}
	for (i = 0; i < N; i++)
		node_start(&nodes[i], now);
	CHECK(until(all_up, N, 5000) >= 0);
	li = mstate_leader(&nodes[3].st, NULL);
	CHECK(li >= 0);
	for (i = 0; i < N; i++)
		CHECK_STR(nodes[i].st.m[mstate_leader(&nodes[i].st, NULL)].name, "n0");
	/* a ring, not all-to-all: each node watches 2, and is watched by 2 */
	for (i = 0; i < N; i++) {
		int k, watchers = 0;

		CHECK_INT(nodes[i].nmon, 2);
		for (k = 0; k < N; k++) {
			int m;

			for (m = 0; m < nodes[k].nmon; m++)
				watchers += nodes[k].mon[m].uid == nodes[i].self.uid;
		}
		CHECK_INT(watchers, 2);
	}
	/* distinct up-numbers */
	for (i = 0; i < N; i++)
		CHECK(nodes[0].st.m[i].up_number >= 1 && nodes[0].st.m[i].up_number <= N);
}

static int victim;

static int
seen_unreachable(int unused)
{
	int i, k;

	(void)unused;
	for (i = 0; i < N; i++) {
		if (!alive[i])
			continue;
		k = mstate_find(&nodes[i].st, nodes[victim].self.uid);
		if (k < 0 || mstate_reachable(&nodes[i].st, nodes[victim].self.uid))
			return 0;
	}
	return 1;
}

static int
gone_everywhere(int unused)
{
	int i;

	(void)unused;
	for (i = 0; i < N; i++)
		if (alive[i] && mstate_find(&nodes[i].st, nodes[victim].self.uid) >= 0)
			return 0;
	return 1;
}

/* Down on every live node, or already removed after it (the leader is quick) */
static int
down_or_gone(int unused)
{
	int i, k;

	(void)unused;
	for (i = 0; i < N; i++)
		if (alive[i] && (k = mstate_find(&nodes[i].st, nodes[victim].self.uid)) >= 0 &&
		    nodes[i].st.m[k].status != MS_DOWN)
			return 0;
	return 1;
}

static void
crash_detect_down(void)
{
	int t, i;
	int64_t unpaid = 0;
	char err[256];

	victim = 4;
	alive[victim] = 0;
	t = until(seen_unreachable, 0, 5000);
	/* phi 8 at about pause + interval + 4.5 x 100ms = 0.85 s after the last beat */
	CHECK(t >= 400 && t <= 2000);
	step(500);
	CHECK(!node_convergence(&nodes[0]));
	CHECK(node_cmd_down(&nodes[2], "nosuch", now, err, sizeof(err)) < 0);
	CHECK_STR(err, "unknown node 'nosuch'");
	/*
	 * Every node's push budget spent (as a burst of unreachability
	 * versions can leave it at a few thousand members): the Down still
	 * goes out at once, in pushes, not in the gossip rounds (33 ms here).
	 */
	for (i = 0; i < N; i++) {
		nodes[i].push_credit = -1e9;
		nodes[i].push_credit_at = now;
		unpaid += nodes[i].pushes_unpaid;
	}
	CHECK(node_cmd_down(&nodes[2], "n4", now, err, sizeof(err)) == 0);
	CHECK(until(down_or_gone, 0, 15) >= 0);
	for (i = 0; i < N; i++)
		unpaid -= nodes[i].pushes_unpaid;
	CHECK(unpaid < 0);
	for (i = 0; i < N; i++)
		nodes[i].push_credit_at = -1;	/* full again: the other tests' pace */
	CHECK(until(gone_everywhere, 0, 2000) >= 0);
	CHECK(until(all_up, N - 1, 2000) >= 0);
}

/*
 * The ring is made again only when what it reads changed (heartbeat.c,
 * ring_same): a change of reachability alone (the same table), and a
 * write of the table alone (the same records), must each move it.
 */
static void
ring_cache(void)
{
	struct node *n = &nodes[0];
	uint64_t self = n->self.uid, r1 = ring_after(0, 1), r2 = ring_after(0, 2),
	    r3 = ring_after(0, 3), x = ring_after(0, 4);
	uint64_t mt = mstate_table_id(&n->st);
	int xi = mstate_find(&n->st, x);

	CHECK(ring_ok(0) && watches(0, r1) && watches(0, r2) && !watches(0, r3));
	/* the same members: a version of clocks and seen sets only keeps the ring */
	changed(n, now);
	CHECK(mstate_table_id(&n->st) == mt && ring_ok(0));
	/* we find r1 unreachable: still watched, and r3 too, to keep two reachable */
	reach_set(&n->st.reach, self, r1, RS_UNREACHABLE);
	changed(n, now);
	CHECK(mstate_table_id(&n->st) == mt);
	CHECK(n->nmon == 3 && watches(0, r1) && watches(0, r2) && watches(0, r3));
	reach_set(&n->st.reach, self, r1, RS_REACHABLE);
	changed(n, now);
	CHECK(ring_ok(0) && !watches(0, r3));
	/* x finds r1 unreachable: r1 is no longer one of the two, r3 is */
	reach_set(&n->st.reach, x, r1, RS_UNREACHABLE);
	changed(n, now);
	CHECK(n->nmon == 3 && watches(0, r3));
	/* x is Down (a write of the table, the records as they were): its word no longer counts */
	CHECK(xi >= 0);
	mstate_wm(&n->st, xi)->status = MS_DOWN;
	changed(n, now);
	CHECK(mstate_table_id(&n->st) != mt);
	CHECK(n->nmon == 2 && ring_ok(0));
	/* as it was */
	mstate_wm(&n->st, xi)->status = MS_UP;
	reach_set(&n->st.reach, x, r1, RS_REACHABLE);
	changed(n, now);
	CHECK(n->st.reach.n == 0 && ring_ok(0));
	CHECK(until(all_up, N, 2000) >= 0);
}

static int
cvs_bit(const char *cvs, int i)
{
	char c = cvs[i / 4];
	int d = c >= 'a' ? c - 'a' + 10 : c - '0';

	return (d >> (i % 4)) & 1;
}

/*
 * Our "cvs" is made again for a new table of other uids, though the peers
 * are the same (gossip.c, cvs_refresh: a version of the same table, its
 * id, skips the hash of its uids).
 */
static void
cvs_cache(void)
{
	struct node *n = &nodes[0];
	int xi = mstate_find(&n->st, ring_after(0, 1));
	uint64_t old;
	char before[16];

	CHECK(xi >= 0);
	old = n->st.m[xi].uid;
	snprintf(before, sizeof(before), "%s", cvs_get(n));
	CHECK(cvs_bit(before, xi));
	changed(n, now);
	CHECK_STR(cvs_get(n), before);
	/* a uid that never said it reads the compact forms, at xi's place */
	mstate_wm(&n->st, xi)->uid = 999999;
	changed(n, now);
	CHECK(!cvs_bit(cvs_get(n), xi));
	mstate_wm(&n->st, xi)->uid = old;
	changed(n, now);
	CHECK_STR(cvs_get(n), before);
	CHECK(until(all_up, N, 2000) >= 0);
}

/* The uid the memory holds at address a, or 0. */
static uint64_t
memo_uid(const struct node *n, const char *a)
{
	int k;

	for (k = 0; k < n->nmemo; k++)
		if (strcmp(n->memo[k].address, a) == 0)
			return n->memo[k].uid;
	return 0;
}

/*
 * The membership memory follows a new table that differs from the last
 * one in what it reads (memory.c: a table of the same view digest is
 * skipped): a new uid at an address (incarnation), and a move out of
 * the statuses that count; a move between counted statuses (the skip)
 * leaves it as it was.
 */
static void
memory_view(void)
{
	struct node *n = &nodes[0];
	int xi = mstate_find(&n->st, ring_after(0, 1)), k;
	uint64_t old, seq;
	char addr[CONF_ADDR_MAX];

	CHECK(xi >= 0 && n->nmemo == N);
	/* every node's memory in address order (memory.c's merge of new members) and whole */
	for (k = 0; k < N; k++) {
		int j;

		CHECK_INT(nodes[k].nmemo, N);
		for (j = 1; j < nodes[k].nmemo; j++)
			CHECK(strcmp(nodes[k].memo[j - 1].address, nodes[k].memo[j].address) < 0);
		for (j = 0; j < N; j++)
			CHECK(memo_uid(&nodes[k], nodes[j].self.address) == nodes[j].self.uid);
	}
	old = n->st.m[xi].uid;
	snprintf(addr, sizeof(addr), "%s", n->st.m[xi].address);
	CHECK(memo_uid(n, addr) == old);
	/* Up to Leaving: the same view (a new table): nothing new to remember */
	seq = n->memo_seq;
	mstate_wm(&n->st, xi)->status = MS_LEAVING;
	changed(n, now);
	CHECK(memo_uid(n, addr) == old && n->memo_seq == seq);
	/* a new incarnation at that address, still Leaving */
	mstate_wm(&n->st, xi)->uid = 888888;
	changed(n, now);
	CHECK(memo_uid(n, addr) == 888888 && n->memo_seq != seq);
	mstate_wm(&n->st, xi)->uid = old;
	mstate_wm(&n->st, xi)->status = MS_UP;
	changed(n, now);
	CHECK(memo_uid(n, addr) == old);
	CHECK(until(all_up, N, 2000) >= 0);
}

static uint64_t
xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct member
mk_member(uint64_t uid, const char *name, int port, enum mstatus st)
{
	struct member m;
	char addr[64];

	memset(&m, 0, sizeof(m));
	m.uid = uid;
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
	member_set(&m, name, addr, "");	/* the test's reference, never given back */
	m.status = st;
	m.up_number = st == MS_JOINING || st == MS_WEAKLY_UP ? UPNUM_NONE : (int)(uid % 100) + 1;
	return m;
}

/*
 * The memory's skips (memory.c: the same table, or one of the same view
 * digest) against the full update, on random views: node a updates as
 * memberd does, node b's every update is the full one (its kept table id
 * cleared first). After each change of the view (a status moved, a new
 * incarnation at an address, a member added at a new address or beside an
 * older incarnation, one removed as downed or as exited, a write that
 * changes nothing, the wall clock moved by up to 90 s or by a day) both
 * memories must hold the same addresses and uids and the same seen
 * minutes, and a's change of them must be counted as worth saving. (Not
 * compared: how often each counts one. Two counted incarnations at one
 * address make every full update count a change, the later one's uid
 * written over the earlier's: b counts where a skips.)
 */
static uint64_t
memo_hash(const struct node *n)
{
	uint64_t h = (uint64_t)n->nmemo;
	int k;

	for (k = 0; k < n->nmemo; k++)
		h = (h ^ (uint64_t)(uintptr_t)n->memo[k].address ^ n->memo[k].uid) *
		    0x9e3779b97f4a7c15ULL;
	return h;
}

static void
memory_skip_random(void)
{
	static const enum mstatus ms[] = { MS_JOINING, MS_WEAKLY_UP, MS_UP, MS_LEAVING,
	    MS_EXITING, MS_DOWN };
	static struct node a, b;
	struct mstate v;
	struct member m;
	uint64_t s = 0x2545f4914f6cdd1dULL, next_uid = 1000, a0, h0;
	char name[32];
	int step_, k, skipped = 0;

	mstate_init(&v);
	node_init(&a, &cfg[0], 999001, now);
	node_init(&b, &cfg[0], 999001, now);
	a.phase = b.phase = PHASE_MEMBER;
	a.wall = b.wall = 1700000000000LL;
	for (k = 0; k < 12; k++) {
		snprintf(name, sizeof(name), "m%d", k);
		m = mk_member(next_uid++, name, 30000 + k, MS_UP);
		mstate_add(&v, &m);
	}
	for (step_ = 0; step_ < 3000; step_++) {
		int op = (int)(xs(&s) % 9), i = v.n > 0 ? (int)(xs(&s) % (uint64_t)v.n) : -1;
		uint64_t id;

		if (op == 0 && i >= 0)
			mstate_wm(&v, i)->status = ms[xs(&s) % 6];
		else if (op == 1 && i >= 0)
			mstate_wm(&v, i)->uid = next_uid++;
		else if (op == 2 || op == 3) {
			/* op 3: beside an older incarnation at a member's address */
			int port = op == 3 && i >= 0 ? -1 : 30000 + (int)(xs(&s) % 40);

			snprintf(name, sizeof(name), "m%d", (int)next_uid);
			m = mk_member(next_uid++, name, port < 0 ? 0 : port, ms[xs(&s) % 6]);
			if (port < 0)
				member_set(&m, name, v.m[i].address, "");
			if (mstate_find_address(&v, m.address) < 0 || op == 3)
				mstate_add(&v, &m);
		} else if (op == 4 && i >= 0 && v.n > 2) {
			uint64_t u = v.m[i].uid;

			mstate_remove(&v, u, a.wall);
			if (xs(&s) % 2)
				mstate_tomb_exited(&v, u);
		} else if (op == 5 && i >= 0)
			*mstate_wm(&v, i) = v.m[i];	/* a write of the same: a new table id */
		else if (op == 6)
			a.wall = b.wall = a.wall + (int64_t)(xs(&s) % 90000);
		else if (op == 7 && xs(&s) % 20 == 0)
			a.wall = b.wall = a.wall + 25LL * 3600 * 1000;
		mstate_copy(&a.st, &v);
		mstate_copy(&b.st, &v);
		a0 = a.memo_seq;
		h0 = memo_hash(&a);
		id = a.memo_gen;
		node_memory_update(&a);
		skipped += a.memo_gen == id;
		b.memo_mt = 0;
		node_memory_update(&b);
		/* a change of what is remembered is one worth saving */
		CHECK(memo_hash(&a) == h0 || a.memo_seq != a0);
		CHECK_INT(a.nmemo, b.nmemo);
		for (k = 0; k < a.nmemo && k < b.nmemo; k++)
			if (strcmp(a.memo[k].address, b.memo[k].address) != 0 ||
			    a.memo[k].uid != b.memo[k].uid ||
			    a.memo[k].seen / 60000 != b.memo[k].seen / 60000) {
				CHECK_INT(step_, -1);	/* the step where they part */
				break;
			}
	}
	CHECK(skipped > 300);
	node_free(&a);
	node_free(&b);
	mstate_free(&v);
}

/*
 * node_majority read from the last update's marks (memory.c: memo[].vix,
 * kept for the table of id memo_vix_mt) against its lookups (the marks'
 * table id cleared first), and the memory's merge of new members (a
 * natural merge sort of the new ones, then a merge from the back by one
 * compare per entry or by halving) against its rules: in strcmp order,
 * every member that counts at its address with the last such uid. Random
 * views whose addresses' strcmp and address_compare orders differ (hosts
 * of 1 to 3 digits, ports of 3 to 5), on random changes: a status moved,
 * a new incarnation, 1 or up to 60 members added at once, one beside an
 * older incarnation at a member's address (two that count at one
 * address), one removed as downed or exited, a reachability record, a
 * write of the same, the wall clock moved.
 */
static struct member
mk_member_at(uint64_t uid, uint64_t r, enum mstatus st)
{
	static const int ports[] = { 2552, 999, 25520 };
	struct member m;
	char addr[64], name[32];

	memset(&m, 0, sizeof(m));
	m.uid = uid;
	snprintf(addr, sizeof(addr), "tcp://10.0.%d.%d:%d", (int)(r % 7),
	    (int)((r >> 8) % 256), ports[(r >> 16) % 3]);
	snprintf(name, sizeof(name), "m%llu", (unsigned long long)uid);
	member_set(&m, name, addr, "");	/* the test's reference, never given back */
	m.status = st;
	m.up_number = st == MS_JOINING || st == MS_WEAKLY_UP ? UPNUM_NONE : (int)(uid % 100) + 1;
	return m;
}

static void
memory_majority_random(void)
{
	static const enum mstatus ms[] = { MS_JOINING, MS_WEAKLY_UP, MS_UP, MS_LEAVING,
	    MS_EXITING, MS_DOWN };
	static const enum rstatus rs[] = { RS_REACHABLE, RS_UNREACHABLE, RS_TERMINATED };
	static struct node a;
	struct mstate v;
	struct member m;
	uint64_t s = 0x243f6a8885a308d3ULL, next_uid = 20000, self = 19999, keep;
	int step_, k, i, marked = 0, big = 0, dups = 0, bad = 0, dup;

	mstate_init(&v);
	node_init(&a, &cfg[0], self, now);
	a.phase = PHASE_MEMBER;
	a.wall = 1700000000000LL;
	m = mk_member_at(self, 0, MS_UP);
	mstate_add(&v, &m);
	for (step_ = 0; step_ < 2500 && !bad; step_++) {
		int op = (int)(xs(&s) % 10), have1, of1, have2, of2, r1, r2;

		i = (int)(xs(&s) % (uint64_t)v.n);
		if (op == 0 && v.m[i].uid != self)
			mstate_wm(&v, i)->status = ms[xs(&s) % 6];
		else if (op == 1 && v.m[i].uid != self)
			mstate_wm(&v, i)->uid = next_uid++;
		else if (op == 2 || op == 3) {
			int add = op == 3 && v.n < 300 ? 1 + (int)(xs(&s) % 60) : 1;

			big += add > 20;
			for (k = 0; k < add; k++) {
				m = mk_member_at(next_uid++, xs(&s), ms[xs(&s) % 6]);
				if (mstate_find_address(&v, m.address) < 0)
					mstate_add(&v, &m);
			}
		} else if (op == 4 && xs(&s) % 4 == 0) {
			/* beside an older incarnation at a member's address */
			m = mk_member_at(next_uid++, 0, ms[xs(&s) % 4]);
			member_set(&m, m.name, v.m[i].address, "");
			mstate_add(&v, &m);
		} else if (op == 5 || op == 4) {
			/* one to twenty removed, as downed or as exited */
			int c = 1 + (int)(xs(&s) % 20);

			for (k = 0; k < c && v.n > 3; k++) {
				uint64_t u = v.m[xs(&s) % (uint64_t)v.n].uid;
				int j;

				/* or an incarnation beside another (in address order: next to it) */
				for (j = 1; j < v.n && k == 0 && op == 5; j++)
					if (v.m[j].address == v.m[j - 1].address)
						u = v.m[j - (int)(xs(&s) % 2)].uid;

				if (u == self)
					continue;
				mstate_remove(&v, u, a.wall);
				if (xs(&s) % 2)
					mstate_tomb_exited(&v, u);
			}
		} else if (op == 6 || op == 7)
			reach_set(&v.reach, v.m[xs(&s) % (uint64_t)v.n].uid, v.m[i].uid,
			    rs[xs(&s) % 3]);
		else if (op == 8)
			*mstate_wm(&v, i) = v.m[i];
		else
			a.wall += (int64_t)(xs(&s) % 90000);
		mstate_copy(&a.st, &v);
		node_memory_update(&a);
		/* the memory: in strcmp order, no marks left, each counted member's last uid */
		for (k = 1; k < a.nmemo; k++)
			if (strcmp(a.memo[k - 1].address, a.memo[k].address) >= 0)
				bad = 1;
		for (k = 0; k < a.nmemo; k++)
			if (a.memo[k].present)
				bad = 2;
		for (dup = k = 0; k < v.n; k++) {
			int j, c = 0;
			uint64_t last = 0;

			for (j = 0; j < v.n; j++)
				if (v.m[j].address == v.m[k].address &&
				    (v.m[j].status == MS_JOINING || v.m[j].status == MS_WEAKLY_UP ||
				    v.m[j].status == MS_UP || v.m[j].status == MS_LEAVING ||
				    v.m[j].status == MS_EXITING)) {
					last = v.m[j].uid;
					c++;
				}
			dup |= c > 1;
			if (c > 0 && memo_uid(&a, v.m[k].address) != last)
				bad = 3;
			/* held in view (any status): seen this minute */
			for (j = 0; j < a.nmemo; j++)
				if (a.memo[j].address == v.m[k].address && a.memo[j].uid == v.m[k].uid &&
				    a.memo[j].seen / 60000 != a.wall / 60000)
					bad = 5;
		}
		dups += dup;
		/* the marks' answer is the lookups' */
		marked += a.memo_vix_mt != 0 && a.memo_vix_mt == mstate_table_id(&a.st);
		r1 = node_majority(&a, &have1, &of1);
		keep = a.memo_vix_mt;
		a.memo_vix_mt = 0;
		r2 = node_majority(&a, &have2, &of2);
		a.memo_vix_mt = keep;
		if (r1 != r2 || have1 != have2 || of1 != of2)
			bad = 4;
		if (bad)
			CHECK_INT(step_ * 10 + bad, -1);	/* the step where it fails, and how */
	}
	CHECK(marked > 1000 && big > 20 && dups > 100);
	node_free(&a);
	mstate_free(&v);
}

/*
 * pick_targets (gossip.c: ourselves marked from the table's uid order,
 * members read only when a record of ours may rule one out) against the
 * pass before it, which read every member's uid, with the same random
 * draws: random tables (ourselves in them once, twice or not at all),
 * seen sets, reachability records by us or by others, k of 1 to 4, and
 * unseen_only; the same targets in the same order, and the same draws
 * taken (the generator's state after).
 */
static int
pick_ref(struct node *n, int *out, int k, int unseen_only)
{
	int *cand = calloc((size_t)n->st.n + 1, sizeof(*cand)), nc, i, picked = 0, pass, rows = 0;
	unsigned char *seenf = calloc((size_t)n->st.n + 1, 1);

	mstate_mark(&n->st, &n->st.seen, seenf);
	for (i = 0; i < n->st.reach.n && !rows; i++)
		rows = n->st.reach.r[i].observer == n->self.uid;
	for (pass = 0; pass < 2 && picked < k; pass++) {
		nc = 0;
		for (i = 0; i < n->st.n; i++) {
			const struct member *m = &n->st.m[i];
			int seen = seenf[i], j, dup = 0;

			if ((pass == 0 && seen) || (pass == 1 && !seen) || m->uid == n->self.uid ||
			    (rows && reach_observer_says(&n->st.reach, n->self.uid, m->uid) !=
			    RS_REACHABLE))
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
	free(cand);
	free(seenf);
	return picked;
}

static void
pick_targets_random(void)
{
	static const enum rstatus rs[] = { RS_REACHABLE, RS_UNREACHABLE, RS_TERMINATED };
	static struct node a;
	struct mstate v;
	struct member m;
	uint64_t s = 0x13198a2e03707344ULL, self = 777, rng;
	char name[32];
	int trial, k, bad = 0, rowsn = 0, twice = 0;

	node_init(&a, &cfg[0], self, now);
	for (trial = 0; trial < 3000 && !bad; trial++) {
		int nm = 1 + (int)(xs(&s) % 40), out1[4], out2[4], p1, p2, kk = 1 + (int)(xs(&s) % 4),
		    uo = (int)(xs(&s) % 3 == 0), selfs = (int)(xs(&s) % 4);

		mstate_init(&v);
		for (k = 0; k < nm; k++) {
			/* small uids: some twice, and ours among them */
			uint64_t u = xs(&s) % 5 == 0 ? self : 700 + xs(&s) % 60;

			if (u == self && selfs == 0)
				u = 701;
			snprintf(name, sizeof(name), "m%d", k);
			m = mk_member(u, name, 33000 + k, MS_UP);
			mstate_add(&v, &m);
		}
		for (k = 0; k < v.n; k++)
			if (xs(&s) % 2)
				u64set_add(&v.seen, v.m[k].uid);
		for (k = (int)(xs(&s) % 4); k > 0 && v.n > 0; k--)
			reach_set(&v.reach, xs(&s) % 2 ? self : v.m[xs(&s) % (uint64_t)v.n].uid,
			    v.m[xs(&s) % (uint64_t)v.n].uid, rs[xs(&s) % 3]);
		mstate_copy(&a.st, &v);
		for (p1 = k = 0; k < a.st.n; k++)
			p1 += a.st.m[k].uid == self;
		twice += p1 > 1;
		for (k = 0; k < a.st.reach.n; k++)
			if (a.st.reach.r[k].observer == self) {
				rowsn++;
				break;
			}
		rng = a.rng = xs(&s) | 1;
		p1 = pick_targets(&a, out1, kk, uo);
		rng ^= a.rng;
		a.rng ^= rng;	/* back to the draws' start; rng: where pick_targets left it */
		rng ^= a.rng;
		p2 = pick_ref(&a, out2, kk, uo);
		if (p1 != p2 || memcmp(out1, out2, (size_t)p1 * sizeof(*out1)) != 0 || rng != a.rng)
			bad = 1;
		if (bad)
			CHECK_INT(trial, -1);	/* the trial where they part */
		mstate_free(&v);
	}
	CHECK(rowsn > 300 && twice > 100);
	node_free(&a);
}

/*
 * The ring's skip (heartbeat.c, ring_same) against the ring made every
 * time, on random changes: node a updates as memberd does, node b's every
 * update remakes the ring (its kept table id cleared first). After each
 * change (a status moved, a member added or removed, a reachability
 * record set by any observer about any subject with any status, a write
 * of the same, the phase left and taken again, nothing) both must watch
 * the same members at the same addresses.
 */
static int
mon_same(const struct node *x, const struct node *y)
{
	int i, j;

	if (x->nmon != y->nmon)
		return 0;
	for (i = 0; i < x->nmon; i++) {
		for (j = 0; j < y->nmon && y->mon[j].uid != x->mon[i].uid; j++)
			;
		if (j == y->nmon || strcmp(x->mon[i].address, y->mon[j].address) != 0)
			return 0;
	}
	return 1;
}

static void
ring_skip_random(void)
{
	static const enum mstatus ms[] = { MS_JOINING, MS_WEAKLY_UP, MS_UP, MS_LEAVING,
	    MS_EXITING, MS_DOWN };
	static const enum rstatus rs[] = { RS_REACHABLE, RS_UNREACHABLE, RS_TERMINATED };
	static struct node a, b;
	struct mstate v;
	struct member m;
	uint64_t s = 0x853c49e6748fea9bULL, next_uid = 5000, self = 4999;
	char name[32];
	int step_, k, skipped = 0, moved = 0;

	mstate_init(&v);
	node_init(&a, &cfg[0], self, now);
	node_init(&b, &cfg[0], self, now);
	a.phase = b.phase = PHASE_MEMBER;
	m = mk_member(self, "self", 31999, MS_UP);
	mstate_add(&v, &m);
	for (k = 0; k < 10; k++) {
		snprintf(name, sizeof(name), "m%d", k);
		m = mk_member(next_uid++, name, 32000 + k, MS_UP);
		mstate_add(&v, &m);
	}
	for (step_ = 0; step_ < 3000; step_++) {
		int op = (int)(xs(&s) % 8), i = (int)(xs(&s) % (uint64_t)v.n);
		int nmon = a.nmon;
		uint64_t was = a.ring_mt;

		if (op == 0 && v.m[i].uid != self)
			mstate_wm(&v, i)->status = ms[xs(&s) % 6];
		else if (op == 1 && v.n < 24) {
			snprintf(name, sizeof(name), "m%d", (int)next_uid);
			m = mk_member(next_uid++, name, 32000 + (int)(xs(&s) % 60), MS_UP);
			if (mstate_find_address(&v, m.address) < 0)
				mstate_add(&v, &m);
		} else if (op == 2 && v.n > 3 && v.m[i].uid != self)
			mstate_remove(&v, v.m[i].uid, 1700000000000LL);
		else if (op == 3 || op == 4)
			reach_set(&v.reach, op == 3 ? self : v.m[xs(&s) % (uint64_t)v.n].uid,
			    v.m[i].uid, rs[xs(&s) % 3]);
		else if (op == 5)
			*mstate_wm(&v, i) = v.m[i];
		else if (op == 6) {
			a.phase = b.phase = a.phase == PHASE_MEMBER ? PHASE_JOINING : PHASE_MEMBER;
		}
		mstate_copy(&a.st, &v);
		mstate_copy(&b.st, &v);
		update_ring(&a, now);
		skipped += a.ring_mt == was;
		moved += a.nmon != nmon;
		b.ring_mt = 0;
		update_ring(&b, now);
		if (!mon_same(&a, &b)) {
			CHECK_INT(step_, -1);	/* the step where they part */
			break;
		}
	}
	CHECK(skipped > 300 && moved > 100);
	node_free(&a);
	node_free(&b);
	mstate_free(&v);
}

/*
 * Our "cvs" (gossip.c, kept by table id since k10b 9d0cf77) against the
 * one made afresh, on random changes: node a asks as memberd does, node
 * b's every answer is made again (its cvs dropped first). Changes: a
 * status moved, a member added or removed, a new incarnation written over
 * a uid, a write of the same, a peer learnt to read the compact forms,
 * nothing; each a new state (state_seq).
 */
static void
cvs_skip_random(void)
{
	static const enum mstatus ms[] = { MS_JOINING, MS_UP, MS_LEAVING, MS_DOWN };
	static struct node a, b;
	struct mstate v;
	struct member m;
	uint64_t s = 0x6a09e667f3bcc909ULL, next_uid = 8000, self = 7999;
	char name[32];
	int step_, k;

	mstate_init(&v);
	node_init(&a, &cfg[0], self, now);
	node_init(&b, &cfg[0], self, now);
	a.phase = b.phase = PHASE_MEMBER;
	m = mk_member(self, "self", 33999, MS_UP);
	mstate_add(&v, &m);
	for (k = 0; k < 9; k++) {
		snprintf(name, sizeof(name), "m%d", k);
		m = mk_member(next_uid++, name, 34000 + k, MS_UP);
		mstate_add(&v, &m);
	}
	for (step_ = 0; step_ < 3000; step_++) {
		int op = (int)(xs(&s) % 8), i = (int)(xs(&s) % (uint64_t)v.n);

		if (op == 0)
			mstate_wm(&v, i)->status = ms[xs(&s) % 4];
		else if (op == 1 && v.n < 30) {
			snprintf(name, sizeof(name), "m%d", (int)next_uid);
			m = mk_member(next_uid++, name, 34000 + (int)(xs(&s) % 60), MS_UP);
			if (mstate_find_address(&v, m.address) < 0)
				mstate_add(&v, &m);
		} else if (op == 2 && v.n > 3 && v.m[i].uid != self)
			mstate_remove(&v, v.m[i].uid, 1700000000000LL);
		else if (op == 3 && v.m[i].uid != self)
			mstate_wm(&v, i)->uid = next_uid++;
		else if (op == 4)
			*mstate_wm(&v, i) = v.m[i];
		else if (op == 5) {
			uint64_t u = v.m[i].uid;

			compact_peer_note(&a, u);
			compact_peer_note(&b, u);
		}
		if (op != 5 || xs(&s) % 2) {
			mstate_copy(&a.st, &v);
			mstate_copy(&b.st, &v);
			a.state_seq++;
			b.state_seq++;
		}
		free(b.cvs);
		b.cvs = NULL;
		if (strcmp(cvs_get(&a), cvs_get(&b)) != 0) {
			CHECK_INT(step_, -1);	/* the step where they part */
			break;
		}
	}
	CHECK(a.compact_peers.n > 5);
	node_free(&a);
	node_free(&b);
	mstate_free(&v);
}

/* 1 if uid was removed on its own exit confirmation, 0 if otherwise, -1 if not removed */
static int
tomb_exited(const struct node *n, uint64_t uid)
{
	const struct tomb *t = mstate_tomb(&n->st, uid);

	return t == NULL ? -1 : t->exited;
}

static void
leave(void)
{
	char err[256];

	victim = 3;
	CHECK(node_cmd_leave(&nodes[1], "n3", now, err, sizeof(err)) == 0);
	CHECK(until(gone_everywhere, 0, 3000) >= 0);
	/* removed on its own exit confirmation: the tombstone says so */
	CHECK_INT(tomb_exited(&nodes[0], nodes[3].self.uid), 1);
	/* the crashed n4 was downed: no such mark */
	CHECK_INT(tomb_exited(&nodes[0], nodes[4].self.uid), 0);
	step(400);
	CHECK_INT(nodes[3].phase, PHASE_SHUTDOWN);
	CHECK_INT(nodes[3].exit_code, EXIT_DAEMON_OK);
	alive[3] = 0;
	CHECK(until(all_up, N - 2, 2000) >= 0);
}

/* The first exit notices are lost: they are sent again, and it is removed as exited. */
static void
leave_notice_lost(void)
{
	char err[256];
	int t;

	victim = 2;
	drop_exiting_until = now + 1500;
	CHECK(node_cmd_leave(&nodes[2], "n2", now, err, sizeof(err)) == 0);
	t = until(gone_everywhere, 0, 4000);
	CHECK(t >= 1400);	/* not before the router let a notice through */
	CHECK(t <= 2500);	/* nor long after: not by the detector, nor the shutdown at 6 s */
	CHECK_INT(tomb_exited(&nodes[0], nodes[2].self.uid), 1);
	alive[2] = 0;
	CHECK(until(all_up, N - 3, 2000) >= 0);
}

static void
stale_decisions_refused(void)
{
	struct node *n = &nodes[0];
	cJSON *req = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(req, "actions");
	char err[256];

	cJSON_AddItemToArray(a, cJSON_CreateObject());
	json_add_u64(req, "state_seq", n->state_seq + 1);
	CHECK(node_cmd_leader_actions(n, req, now, err, sizeof(err)) < 0);
	CHECK(strncmp(err, "stale", 5) == 0);
	cJSON_Delete(req);
	/* a valid seq on a non-leader is refused too */
	req = cJSON_CreateObject();
	cJSON_AddArrayToObject(req, "actions");
	json_add_u64(req, "state_seq", nodes[1].state_seq);
	CHECK(node_cmd_leader_actions(&nodes[1], req, now, err, sizeof(err)) < 0);
	cJSON_Delete(req);
}

static void
hostile(void)
{
	static const char *bad[] = {
		"{\"v\":1,\"t\":\"hb\",\"from\":{\"node\":\"x\",\"address\":\"tcp://h:1\",\"uid\":\"5\"}}",
		"{\"v\":2,\"t\":\"hb\"}",
		"{\"v\":2,\"t\":\"hb\",\"from\":{\"node\":\"x\",\"address\":\"tcp://h:1\",\"uid\":\"5\"},\"to\":\"12345\",\"n\":\"1\"}",
		"{\"v\":2,\"t\":\"gossip\",\"from\":{\"node\":\"n1\",\"address\":\"tcp://127.0.0.1:1001\",\"uid\":\"8019\"},\"state\":{\"members\":7}}",
		"{\"v\":2,\"t\":\"what\",\"from\":{\"node\":\"x\",\"address\":\"tcp://h:1\",\"uid\":\"5\"},\"n\":\"2\"}",
		"{\"v\":2,\"t\":\"hb\",\"from\":{\"node\":\"x\",\"address\":\"tcp://h:1\",\"uid\":5}}",
		"{\"v\":2,\"t\":\"exiting\",\"from\":{\"node\":\"n1\",\"address\":\"tcp://127.0.0.1:1001\",\"uid\":\"8019\"},\"to\":\"100\",\"forced\":\"yes\"}",
		"[1,2]",
		NULL
	};
	struct node *n = &nodes[0];
	struct dropped before = n->dropped;
	uint64_t seq = n->state_seq;
	int i;

	for (i = 0; bad[i]; i++) {
		cJSON *m = json_parse(bad[i], strlen(bad[i]));

		node_receive(n, m, now);
		cJSON_Delete(m);
	}
	CHECK_INT(n->dropped.version, before.version + 1);
	CHECK_INT(n->dropped.malformed, before.malformed + 5);
	CHECK_INT(n->dropped.stale, before.stale + 1);
	CHECK_INT(n->dropped.unknown, before.unknown + 1);
	CHECK_INT(n->state_seq, seq);
	route();
	CHECK(until(all_up, N - 2, 1000) >= 0);
}

static int
self_exiting(int i)
{
	return nodes[i].self.status == MS_EXITING;
}

/* A service dies holding the exit: the removal is not a clean hand-over. */
static void
leave_holder_died(void)
{
	char err[256];

	victim = 1;
	node_hold_exit(&nodes[1], "singleton.x", now + 60000, 999999, now);
	CHECK(node_cmd_leave(&nodes[1], "n1", now, err, sizeof(err)) == 0);
	CHECK(until(self_exiting, 1, 3000) >= 0);
	step(500);
	CHECK_INT(nodes[1].exit_confirmed_at, 0);	/* held */
	node_hold_orphaned(&nodes[1], 0, now);
	CHECK(nodes[1].exit_confirmed_at > 0);
	CHECK(until(gone_everywhere, 0, 3000) >= 0);
	CHECK_INT(tomb_exited(&nodes[0], nodes[1].self.uid), 0);
	alive[1] = 0;
}

static int
phase_is_member(int i)
{
	return nodes[i].phase == PHASE_MEMBER;
}

/* Fresh nodes 0..N-1 on seeds n0, n1, n2; those in `up` start now. */
static void
fresh_seeded(const int *up)
{
	int i, k;

	for (i = 0; i < N; i++) {
		node_free(&nodes[i]);
		memset(&nodes[i], 0, sizeof(nodes[i]));
		for (k = 0; k < N; k++)
			cut[i][k] = 0;
	}
	seed_list = "tcp://127.0.0.1:1000, tcp://127.0.0.1:1001, tcp://127.0.0.1:1002";
	for (i = 0; i < N; i++) {
		make_config(i);
		node_init(&nodes[i], &cfg[i], 5000 + now + (uint64_t)i * 104729, now);
		alive[i] = up[i];
		if (up[i])
			node_start(&nodes[i], now);
	}
}

static int
members_of(int i)
{
	return nodes[i].phase == PHASE_MEMBER ? nodes[i].st.n : 0;
}

/*
 * Forming needs a quorum of the seeds: a cold start forms one cluster at
 * once; a seed alone or cut off never forms one (issue 9: a restarted first
 * seed behind a cut formed a second cluster and ran a second singleton).
 */
static void
form_quorum(void)
{
	int all[N] = { 1, 1, 1, 1, 1 }, only0[N] = { 1, 0, 0, 0, 0 };
	int no2[N] = { 1, 1, 0, 1, 1 };
	int i, k;

	/* cold start of everyone: one cluster, quickly (no seed-node-timeout wait) */
	fresh_seeded(all);
	CHECK(until(all_up, N, 3000) >= 0);
	CHECK(now >= 0);
	for (i = 0; i < N; i++)
		CHECK_INT(members_of(i), N);

	/* the first seed alone: never forms, however long */
	fresh_seeded(only0);
	step(30000);
	CHECK_INT(nodes[0].phase, PHASE_JOINING);

	/* the first seed cut off from all: the others form without it, it never alone */
	fresh_seeded(all);
	for (k = 1; k < N; k++)
		cut[0][k] = cut[k][0] = 1;
	step(20000);
	CHECK_INT(nodes[0].phase, PHASE_JOINING);
	for (i = 1; i < N; i++)
		CHECK_INT(members_of(i), N - 1);
	/* healed: it joins the one cluster */
	for (k = 1; k < N; k++)
		cut[0][k] = cut[k][0] = 0;
	alive[0] = 1;
	CHECK(until(all_up, N, 10000) >= 0);

	/* a seed missing for good: the other two form after seed-node-timeout */
	fresh_seeded(no2);
	step(200);
	CHECK(!phase_is_member(0));	/* not before the timeout: n2 may yet answer as a member */
	step(3000);
	for (i = 0; i < N; i++)
		if (i != 2)
			CHECK_INT(members_of(i), N - 1);

	/* two seeds that cannot hear each other, each with a third: only one cluster */
	fresh_seeded(all);
	cut[0][1] = cut[1][0] = 1;
	step(10000);
	CHECK(phase_is_member(2));
	CHECK(!(phase_is_member(0) && phase_is_member(1) &&
	    mstate_find(&nodes[0].st, nodes[1].self.uid) < 0 &&
	    mstate_find(&nodes[1].st, nodes[0].self.uid) < 0 &&
	    nodes[0].st.n == 1 && nodes[1].st.n == 1));
	seed_list = "tcp://127.0.0.1:1000";
}

/*
 * The memory: a restarted node remembers its cluster; alone it never forms
 * one (even as the only seed), with its cluster it rejoins; the majority
 * guard counts the remembered members in sight.
 */
static void
memory_rules(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	int have, of, k;
	cJSON *mem, *bad;
	char err[128];

	seed_list = "tcp://127.0.0.1:1000";
	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	CHECK_INT(nodes[0].nmemo, N);
	CHECK(node_majority(&nodes[0], &have, &of));
	CHECK_INT(have, N);
	CHECK_INT(of, N);

	/* three of five cut off from n0 and seen unreachable: n0 has no majority */
	for (k = 2; k < N; k++)
		cut[0][k] = cut[k][0] = cut[1][k] = cut[k][1] = 1;
	step(3000);
	CHECK(!node_majority(&nodes[0], &have, &of));
	CHECK_INT(have, 2);
	CHECK(node_majority(&nodes[3], &have, &of));
	for (k = 2; k < N; k++)
		cut[0][k] = cut[k][0] = cut[1][k] = cut[k][1] = 0;

	/* n0 (the only seed) restarted alone with its memory: never forms */
	mem = node_memory_to_json(&nodes[0]);
	for (k = 0; k < N; k++)
		alive[k] = 0;
	node_free(&nodes[0]);
	memset(&nodes[0], 0, sizeof(nodes[0]));
	node_init(&nodes[0], &cfg[0], 777777, now);
	CHECK_INT(node_memory_from_json(&nodes[0], mem, err, sizeof(err)), 0);
	CHECK_INT(nodes[0].nmemo, N);
	alive[0] = 1;
	node_start(&nodes[0], now);
	step(20000);
	CHECK_INT(nodes[0].phase, PHASE_JOINING);

	/* its cluster back (n1..n4 still members): it rejoins through them */
	for (k = 1; k < N; k++)
		alive[k] = 1;
	step(8000);
	CHECK_INT(nodes[0].phase, PHASE_MEMBER);
	CHECK(members_of(0) >= N);
	cJSON_Delete(mem);

	/* a damaged memory is refused, not taken as empty */
	bad = cJSON_Parse("{\"v\":1,\"members\":[{\"address\":7}]}");
	CHECK_INT(node_memory_from_json(&nodes[1], bad, err, sizeof(err)), -1);
	cJSON_Delete(bad);
	CHECK_INT(node_memory_from_json(&nodes[1], NULL, err, sizeof(err)), -1);
}

/*
 * Issue 10: heartbeat replies captured from the wire and replayed after the
 * node died must not keep it reachable (a reply counts once, for a
 * heartbeat that was sent).
 */
static void
replayed_heartbeats(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	int i, k, t;
	uint64_t replayed = 0;

	seed_list = "tcp://127.0.0.1:1000";
	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	capture_from = 3;
	step(2000);
	capture_from = -1;
	CHECK(ncaps > 10);
	victim = 3;
	alive[3] = 0;
	for (t = 0; t < 5000 && !seen_unreachable(0); t += 50) {
		step(50);
		/* the whole capture, to everyone, every 50 ms */
		for (i = 0; i < N; i++)
			for (k = 0; alive[i] && k < ncaps; k++)
				replay_cap(&nodes[i], &caps[k]);
	}
	CHECK(seen_unreachable(0));
	for (i = 0; i < N; i++)
		replayed += nodes[i].dropped.replayed;
	CHECK(replayed > 0);
	free_caps();
}

/*
 * Issue 10: every message captured from the wire and replayed to where it
 * went changes nothing and is counted; so is a join replayed, to the member
 * that admitted it or to another.
 */
static void
replayed_messages(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	uint64_t before[N], seq[N];
	int sent[N] = { 0 }, i, k, joins = 0, compact = 0;

	capture_any = 4;	/* not a seed: it joins through init-join, ack, join */
	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	step(1000);
	capture_any = -1;
	CHECK(ncaps > 10);
	for (i = 0; i < N; i++) {
		before[i] = nodes[i].dropped.replayed;
		seq[i] = nodes[i].state_seq;
	}
	for (k = 0; k < ncaps; k++) {
		cJSON *m = caps[k].msg;

		if (m == NULL)
			compact++;
		replay_cap(&nodes[caps[k].dest], &caps[k]);
		sent[caps[k].dest]++;
		if (m != NULL && strcmp(json_str(m, "t"), MSG_JOIN) == 0) {
			/* and the join to every other member, which gave it no nonce */
			for (i = 0; i < 4; i++)
				if (i != caps[k].dest) {
					cJSON *c = cJSON_Duplicate(m, 1);

					cJSON_ReplaceItemInObject(c, "n", cJSON_CreateString("999999"));
					node_receive(&nodes[i], c, now);
					cJSON_Delete(c);
					sent[i]++;
				}
			joins++;
		}
	}
	CHECK(joins > 0);
	for (i = 0; i < N; i++) {
		CHECK_INT(nodes[i].dropped.replayed - before[i], (uint64_t)sent[i]);
		CHECK_INT(nodes[i].state_seq, seq[i]);
	}
	CHECK(compact > 0);	/* compact heartbeats and answers among them */
	CHECK(until(all_up, N, 2000) >= 0);
	free_caps();
}

/* A compact payload by hand: kind, from, to, then the seq bytes given. */
static size_t
compact_msg(unsigned char *p, int kind, uint64_t from, uint64_t to, const unsigned char *seq,
    size_t slen)
{
	size_t len = 0;
	int i;

	p[len++] = (unsigned char)kind;
	for (i = 56; i >= 0; i -= 8)
		p[len++] = (unsigned char)(from >> i);
	for (i = 56; i >= 0; i -= 8)
		p[len++] = (unsigned char)(to >> i);
	memcpy(p + len, seq, slen);
	return len + slen;
}

/* Takes n's outbox: how many messages, and how many of them compact answers to address. */
static int
take_outbox(struct node *n, const char *address, int *compact_rsp, int *json_rsp)
{
	struct outmsg *o;
	int count, k;
	const char *t;

	*compact_rsp = *json_rsp = 0;
	o = node_outbox(n, &count);
	for (k = 0; k < count; k++) {
		t = node_out_type(&o[k]);
		if (t != NULL && strcmp(t, MSG_HEARTBEAT_RSP) == 0 &&
		    strcmp(o[k].address, address) == 0) {
			if (o[k].msg == NULL)
				++*compact_rsp;
			else
				++*json_rsp;
		}
		cJSON_Delete(o[k].msg);
	}
	return count;
}

/* A JSON heartbeat from node i to node j, "compact" as given (NULL: none). */
static cJSON *
json_hb(int i, int j, uint64_t n, uint64_t seq, cJSON *compact)
{
	cJSON *m = cJSON_CreateObject(), *from;

	cJSON_AddNumberToObject(m, "v", PROTO_VERSION);
	cJSON_AddStringToObject(m, "t", MSG_HEARTBEAT);
	from = cJSON_AddObjectToObject(m, "from");
	cJSON_AddStringToObject(from, "node", nodes[i].self.name);
	cJSON_AddStringToObject(from, "address", nodes[i].self.address);
	json_add_u64(from, "uid", nodes[i].self.uid);
	json_add_u64(m, "to", nodes[j].self.uid);
	json_add_u64(m, "n", n);
	json_add_u64(m, "seq", seq);
	if (compact != NULL)
		cJSON_AddItemToObject(m, "compact", compact);
	return m;
}

/*
 * Issue 13: once a member answered one compact heartbeat, heartbeats and
 * answers are compact (no JSON at all in an idle round); every check of
 * the JSON ones holds for them, and a bad one is counted.
 */
static void
compact_heartbeats(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	struct node *n = &nodes[0];
	struct dropped before;
	unsigned char p[64];
	const unsigned char big[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x40 };	/* 2^41 */
	const unsigned char next[] = { 0x81, 0x80, 0x80, 0x80, 0x80, 0x40 };
	const unsigned char overlong[] = { 0x81, 0x00 };	/* 1, with a zero byte more */
	const unsigned char one[] = { 0x01 }, trailing[] = { 0x01, 0x01 };
	const unsigned char zero[] = { 0x00 }, unended[] = { 0x81 };
	uint64_t u1, u0;
	int i, m, k, crsp, jrsp;
	cJSON *h;

	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	step(500);
	for (i = 0; i < N; i++)
		for (m = 0; m < nodes[i].nmon; m++)
			CHECK(nodes[i].mon[m].compact);
	sent_compact = sent_json_hb = 0;
	step(1000);
	CHECK(sent_compact >= 2 * 2 * N * 9);	/* 2 watched, 10 rounds, some at the edges */
	CHECK_INT(sent_json_hb, 0);
	CHECK(all_up(N));

	/* by hand, to n0 from n1 (a member, watched or not) */
	u0 = n->self.uid;
	u1 = nodes[1].self.uid;
	(void)take_outbox(n, "", &crsp, &jrsp);
	before = n->dropped;
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0, big, sizeof(big)), now);
	CHECK_INT(take_outbox(n, nodes[1].self.address, &crsp, &jrsp), 1);
	CHECK_INT(crsp, 1);
	/* the same again, and an older seq: replays, not answered */
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0, big, sizeof(big)), now);
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0, one, 1), now);
	CHECK_INT(n->dropped.replayed, before.replayed + 2);
	/* for an earlier incarnation */
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0 + 1, next, sizeof(next)),
	    now);
	CHECK_INT(n->dropped.stale, before.stale + 1);
	/* our own, sent back */
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u0, u0, next, sizeof(next)), now);
	CHECK_INT(n->dropped.replayed, before.replayed + 3);
	/* from a uid we know nothing of: no address to answer */
	k = n->nhbseen;
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, 777, u0, next, sizeof(next)), now);
	CHECK_INT(n->dropped.not_member, before.not_member + 1);
	CHECK_INT(n->nhbseen, k);	/* and it takes no room */
	/* malformed: cut short, a seq not in its shortest form, trailing bytes, seq 0, unended */
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0, one, 0), now);
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0, overlong,
	    sizeof(overlong)), now);
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0, trailing,
	    sizeof(trailing)), now);
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0, zero, 1), now);
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0, unended, 1), now);
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, 0, u0, next, sizeof(next)), now);
	CHECK_INT(n->dropped.malformed, before.malformed + 6);
	/* a kind of a later layout */
	node_receive_compact(n, p, compact_msg(p, 0xa7, u1, u0, next, sizeof(next)), now);
	CHECK_INT(n->dropped.unknown, before.unknown + 1);
	/* an answer to a heartbeat n0 never sent */
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT_RSP, u1, u0, big, sizeof(big)),
	    now);
	CHECK_INT(n->dropped.replayed, before.replayed + 4);
	CHECK_INT(take_outbox(n, "", &crsp, &jrsp), 0);
	/* the next seq is answered */
	node_receive_compact(n, p, compact_msg(p, HBC_HEARTBEAT, u1, u0, next, sizeof(next)), now);
	CHECK_INT(take_outbox(n, nodes[1].self.address, &crsp, &jrsp), 1);
	CHECK_INT(crsp, 1);

	/* JSON: answered in JSON unless it says compact; a compact that is no bool is malformed */
	h = json_hb(1, 0, 1ULL << 40, (1ULL << 41) + 2, NULL);
	node_receive(n, h, now);
	cJSON_Delete(h);
	CHECK_INT(take_outbox(n, nodes[1].self.address, &crsp, &jrsp), 1);
	CHECK_INT(jrsp, 1);
	h = json_hb(1, 0, (1ULL << 40) + 1, (1ULL << 41) + 3, cJSON_CreateTrue());
	node_receive(n, h, now);
	cJSON_Delete(h);
	CHECK_INT(take_outbox(n, nodes[1].self.address, &crsp, &jrsp), 1);
	CHECK_INT(crsp, 1);
	h = json_hb(1, 0, (1ULL << 40) + 2, (1ULL << 41) + 4, cJSON_CreateString("yes"));
	node_receive(n, h, now);
	cJSON_Delete(h);
	CHECK_INT(n->dropped.malformed, before.malformed + 7);
	CHECK_INT(take_outbox(n, "", &crsp, &jrsp), 0);
}

/*
 * Issue 13, a rolling upgrade: a node of before compact heartbeats (it
 * never says "compact" and drops compact payloads) is watched and watches
 * in JSON, the others in compact; nobody is ever unreachable.
 */
static void
compact_mixed(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	int i, m, t;

	fresh_seeded(all);
	legacy = 2;
	CHECK(until(all_up, N, 5000) >= 0);
	for (t = 0; t < 3000; t += 100) {
		step(100);
		CHECK(all_up(N));
	}
	for (i = 0; i < N; i++)
		for (m = 0; m < nodes[i].nmon; m++)
			CHECK_INT(nodes[i].mon[m].compact,
			    i != legacy && nodes[i].mon[m].uid != nodes[legacy].self.uid);
	sent_compact = sent_json_hb = 0;
	step(1000);
	CHECK(sent_compact > 0);
	CHECK(sent_json_hb >= 2 * 2 * 9);	/* n2 watches 2 and is watched by 2: all JSON */
	CHECK(all_up(N));
	legacy = -1;
}

/* n's outbox taken: how many messages, and how many full statuses to address among them. */
static int
take_statuses(struct node *n, const char *address, int *status)
{
	struct outmsg *o;
	int count, k;

	*status = 0;
	o = node_outbox(n, &count);
	for (k = 0; k < count; k++) {
		if (o[k].msg != NULL && strcmp(json_str(o[k].msg, "t"), MSG_STATUS) == 0 &&
		    cJSON_GetObjectItemCaseSensitive(o[k].msg, "version") != NULL &&
		    strcmp(o[k].address, address) == 0)
			++*status;
		cJSON_Delete(o[k].msg);
	}
	return count;
}

/* A compact digest to n from uid: counter c, the two digests. */
static void
digest_to(struct node *n, uint64_t from, uint64_t to, uint64_t c, uint64_t vh, uint64_t sh)
{
	struct compact d = { .kind = CPT_DIGEST, .from = from, .to = to, .seq = c, .vh = vh,
	    .sh = sh };
	unsigned char p[CPT_MAX];

	node_receive_compact(n, p, compact_encode(p, &d), now);
}

/*
 * Compact digests (doc/PROTOCOL.md, "Compact digests"): once the members
 * heard each other's "cv", every idle round's digest is compact, and the
 * short form is allowed for them (bind_to); a compact digest is checked as
 * the JSON one is (to, counter, membership) and answered with a full status
 * only when it differs.
 */
static void
compact_digests(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	struct node *n = &nodes[0];
	struct dropped before;
	uint64_t u0, u1;
	int st, i;
	unsigned char p[CPT_MAX];
	size_t len;
	struct compact d = { .kind = CPT_DIGEST, .seq = 5, .vh = 1, .sh = 2 };

	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	step(3000);
	sent_digest_json = sent_digest_compact = 0;
	step(2000);
	CHECK(sent_digest_compact >= 5 * 10);	/* 100 ms rounds, some skipped for pushes */
	CHECK_INT(sent_digest_json, 0);
	for (i = 0; i < N; i++) {
		CHECK_INT(nodes[i].compact_peers.n, N - 1);
		CHECK(nodes[i].compact.digests_received > 0);
	}
	CHECK(all_up(N));

	u0 = n->self.uid;
	u1 = nodes[1].self.uid;
	(void)take_statuses(n, "", &st);
	before = n->dropped;
	/* differs: our full status goes back; the same counter again is a replay */
	digest_to(n, u1, u0, 1ULL << 40, 1, 2);
	CHECK_INT(take_statuses(n, nodes[1].self.address, &st), 1);
	CHECK_INT(st, 1);
	digest_to(n, u1, u0, 1ULL << 40, 1, 2);
	CHECK_INT(n->dropped.replayed, before.replayed + 1);
	/* the same as ours: nothing to say */
	digest_to(n, u1, u0, (1ULL << 40) + 1, n->vhash, n->shash);
	CHECK_INT(take_statuses(n, "", &st), 0);
	/* for an earlier incarnation, from a stranger, our own */
	digest_to(n, u1, u0 + 1, (1ULL << 40) + 2, 1, 2);
	CHECK_INT(n->dropped.stale, before.stale + 1);
	digest_to(n, 777, u0, 1, 1, 2);
	CHECK_INT(n->dropped.not_member, before.not_member + 1);
	digest_to(n, u0, u0, (1ULL << 40) + 3, 1, 2);
	CHECK_INT(n->dropped.replayed, before.replayed + 2);
	/* malformed: cut short, a trailing byte, counter 0 */
	d.from = u1;
	d.to = u0;
	len = compact_encode(p, &d);
	node_receive_compact(n, p, len - 1, now);
	p[len] = 0x01;
	node_receive_compact(n, p, len + 1, now);
	d.seq = 0;
	node_receive_compact(n, p, compact_encode(p, &d), now);
	CHECK_INT(n->dropped.malformed, before.malformed + 3);
	CHECK_INT(take_statuses(n, "", &st), 0);

	/*
	 * A rolling upgrade: n2 runs a version 2 of before compact digests (no
	 * "cv", compact payloads other than heartbeats would be unknown to it):
	 * it never gets one, its rounds are JSON, and nobody is unreachable.
	 */
	fresh_seeded(all);
	legacy_cv = 2;
	digest_to_legacy = 0;
	CHECK(until(all_up, N, 5000) >= 0);
	step(2000);
	sent_digest_json = sent_digest_compact = 0;
	for (i = 0; i < 20; i++) {
		step(100);
		CHECK(all_up(N));
	}
	CHECK(sent_digest_compact > 0);
	CHECK(sent_digest_json > 0);
	CHECK_INT(digest_to_legacy, 0);
	CHECK_INT(nodes[2].compact_peers.n, 0);
	for (i = 0; i < N; i++)
		if (i != 2)
			CHECK(!u64set_has(&nodes[i].compact_peers, nodes[2].self.uid));
	legacy_cv = -1;
}

/* Node 0's full state for node 1 ("cvs" as given: NULL as sent, "-": none), handed to it. */
static void
gossip_0_to_1(const char *cvs)
{
	struct node *a = &nodes[0];
	struct outmsg *o;
	int count, k;

	route();
	send_gossip(a, &a->st.m[mstate_find(&a->st, nodes[1].self.uid)]);
	o = node_outbox(a, &count);
	CHECK_INT(count, 1);
	for (k = 0; k < count; k++) {
		CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o[k].msg, "cvs")));
		if (cvs != NULL) {
			cJSON_DeleteItemFromObjectCaseSensitive(o[k].msg, "cvs");
			if (strcmp(cvs, "-") == 0)
				;
			else if (strcmp(cvs, "#") == 0)
				cJSON_AddNumberToObject(o[k].msg, "cvs", 15);
			else
				cJSON_AddStringToObject(o[k].msg, "cvs", cvs);
		}
		receive(&nodes[1], &o[k]);
		cJSON_Delete(o[k].msg);
	}
}

/*
 * "cvs" (doc/PROTOCOL.md, "Compact digests"): a full state says who of its
 * table reads the compact forms, so node 1, which never hears node 2 say
 * so (the router keeps 2's "cv" and compact digests from it), still sends
 * node 2 compact digests; a malformed "cvs" is counted and changes nothing.
 */
static void
cvs_spread(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	struct node *b = &nodes[1];
	uint64_t c, learned;
	struct dropped before;
	int i, compact_to_c = 0, json_to_c = 0;
	const char *bad[] = { "", "fff", "f", "fg", "fF", "f2", "ff", "#" };

	mute_from = 2;
	mute_to = 1;
	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	step(1000);
	c = nodes[2].self.uid;
	CHECK(u64set_has(&b->compact_peers, c));
	CHECK(b->compact.learned_by_gossip >= 1);
	for (i = 0; i < N; i++)
		CHECK_INT(nodes[i].compact_peers.n, N - 1);

	/* forgotten again; node 0's full state alone teaches it */
	u64set_del(&b->compact_peers, c);
	learned = b->compact.learned_by_gossip;
	gossip_0_to_1("-");		/* an older node's gossip: nothing learned */
	CHECK(!u64set_has(&b->compact_peers, c));
	gossip_0_to_1(NULL);
	CHECK(u64set_has(&b->compact_peers, c));
	CHECK_INT(b->compact.learned_by_gossip, learned + 1);
	/* malformed: wrong lengths, not hex, upper case, bits past the table, no string */
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		u64set_del(&b->compact_peers, c);
		before = b->dropped;
		gossip_0_to_1(bad[i]);
		CHECK_INT(b->dropped.malformed, before.malformed + 1);
		CHECK(!u64set_has(&b->compact_peers, c));
		CHECK(b->phase == PHASE_MEMBER);
	}
	CHECK_INT(b->compact.learned_by_gossip, learned + 1);
	gossip_0_to_1("f1");	/* all five set (node 1 itself is skipped) */
	CHECK(u64set_has(&b->compact_peers, c));
	route();

	/* node 1's idle rounds to node 2 are compact digests */
	capture_any = 1;
	step(3000);
	capture_any = -1;
	for (i = 0; i < ncaps; i++)
		if (caps[i].dest == 2) {
			if (caps[i].msg == NULL && caps[i].bin[0] == CPT_DIGEST)
				compact_to_c++;
			else if (caps[i].msg != NULL && strcmp(json_str(caps[i].msg, "t"), MSG_STATUS) == 0 &&
			    cJSON_GetObjectItemCaseSensitive(caps[i].msg, "vh") != NULL)
				json_to_c++;
		}
	free_caps();
	CHECK(compact_to_c > 0);
	CHECK_INT(json_to_c, 0);
	CHECK(!u64set_has(&b->compact_peers, b->self.uid));
	CHECK(all_up(N));
	mute_from = mute_to = -1;
}

/* Restarts node i as a new incarnation that keeps its memory (the state-dir). */
static void
restart_with_memory(int i, uint64_t uid)
{
	cJSON *mem = node_memory_to_json(&nodes[i]);
	char err[128];

	node_free(&nodes[i]);
	memset(&nodes[i], 0, sizeof(nodes[i]));
	node_init(&nodes[i], &cfg[i], uid, now);
	CHECK_INT(node_memory_from_json(&nodes[i], mem, err, sizeof(err)), 0);
	cJSON_Delete(mem);
	alive[i] = 1;
}

static int
absent_from_0(int k)
{
	return mstate_find(&nodes[0].st, nodes[k].self.uid) < 0;
}

/*
 * Members downed one after another stay remembered: a cluster that shrank
 * by downing is no majority of itself. And a cluster without the majority
 * dissolves into the one that has it (its members exit 3 to rejoin).
 */
static void
downed_stay_remembered(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	int have, of, k;
	char err[256];

	seed_list = "tcp://127.0.0.1:1000";
	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	/* n2, n3, n4 cut off, downed by hand from n0, removed */
	for (k = 2; k < N; k++) {
		int j;

		for (j = 0; j < 2; j++)
			cut[j][k] = cut[k][j] = 1;
	}
	step(3000);
	for (k = 2; k < N; k++) {
		CHECK_INT(node_cmd_down(&nodes[0], nodes[k].self.name, now, err, sizeof(err)), 0);
		step(200);
	}
	for (k = 2; k < N; k++)
		CHECK(until(absent_from_0, k, 10000) >= 0);
	CHECK_INT(nodes[0].st.n, 2);
	CHECK_INT(nodes[0].nmemo, N);		/* still remembered */
	CHECK(!node_majority(&nodes[0], &have, &of));
	CHECK_INT(have, 2);

	/* the three restarted, a cluster formed by hand among them */
	for (k = 2; k < N; k++)
		restart_with_memory(k, 900000 + (uint64_t)k);
	CHECK_INT(node_cmd_join(&nodes[2], nodes[2].self.address, now, err, sizeof(err)), 0);
	for (k = 3; k < N; k++)
		CHECK_INT(node_cmd_join(&nodes[k], nodes[2].self.address, now, err, sizeof(err)), 0);
	step(5000);
	CHECK(node_majority(&nodes[2], &have, &of));
	CHECK_INT(have, 3);
	/* healed: n0 and n1, without the majority, leave their cluster to join it */
	for (k = 2; k < N; k++) {
		int j;

		for (j = 0; j < 2; j++)
			cut[j][k] = cut[k][j] = 0;
	}
	step(10000);
	CHECK_INT(nodes[0].phase, PHASE_SHUTDOWN);
	CHECK_INT(nodes[0].exit_code, EXIT_DAEMON_DOWNED);
	CHECK_INT(nodes[1].phase, PHASE_SHUTDOWN);
	CHECK(nodes[2].phase == PHASE_MEMBER);
}

/*
 * An even split of the remembered members: only the half that sees the
 * lowest remembered address holds the guard's majority (keep-majority's
 * tie rule), so a 2|2 split still has one side that may run a singleton.
 */
static void
memory_tie(void)
{
	int four[N] = { 1, 1, 1, 1, 0 };
	int have, of, j, k;

	fresh_seeded(four);
	CHECK(until(all_up, 4, 5000) >= 0);
	CHECK_INT(nodes[0].nmemo, 4);
	for (j = 0; j < 2; j++)
		for (k = 2; k < 4; k++)
			cut[j][k] = cut[k][j] = 1;
	step(3000);
	CHECK(node_majority(&nodes[0], &have, &of));
	CHECK_INT(have, 2);
	CHECK_INT(of, 4);
	CHECK(node_majority(&nodes[1], &have, &of));
	CHECK(!node_majority(&nodes[2], &have, &of));
	CHECK_INT(have, 2);
	CHECK(!node_majority(&nodes[3], &have, &of));
	/* one of the low half gone too: 1 of 4 is no majority, lowest or not */
	for (k = 1; k < 4; k++)
		cut[0][k] = cut[k][0] = 1;
	step(3000);
	CHECK(!node_majority(&nodes[0], &have, &of));
	CHECK_INT(have, 1);
}

/* Every node of fresh_seeded's cluster lets joiners in by partial welcomes only. */
static void
no_welcome_budget(void)
{
	int i;

	for (i = 0; i < N; i++)
		cfg[i].welcome_budget = 0;
}

static int
someone_partial(int unused)
{
	int i;

	(void)unused;
	for (i = 0; i < N; i++)
		if (alive[i] && node_partial(&nodes[i]))
			return 1;
	return 0;
}

/*
 * Partial welcomes (doc/PROTOCOL.md): with no welcome budget every joiner
 * is let in with the sender and itself under the empty version, holds that
 * until a gossip brings the cluster's state, and the cluster forms as
 * before; the partial state never passes for the cluster's.
 */
static void
partial_welcomes(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	long full = 0, partial = 0;
	int i, p = -1;

	seed_list = "tcp://127.0.0.1:1000";
	welcomes_seen = partial_welcomes_seen = 0;
	fresh_seeded(all);
	no_welcome_budget();
	CHECK(until(someone_partial, 0, 3000) >= 0);
	for (i = 0; i < N; i++)
		if (node_partial(&nodes[i]))
			p = i;
	CHECK(p > 0);
	CHECK_INT(nodes[p].st.n, 2);
	CHECK_INT(nodes[p].st.vc.n, 0);
	CHECK(mstate_find(&nodes[p].st, nodes[0].self.uid) >= 0);
	CHECK(nodes[p].partial_since > 0);
	CHECK(until(all_up, N, 5000) >= 0);
	for (i = 0; i < N; i++) {
		CHECK(!node_partial(&nodes[i]));
		full += (long)nodes[i].welcomes_full;
		partial += (long)nodes[i].welcomes_partial;
	}
	step(100);	/* partial_tick's turn: it says when the state came */
	for (i = 0; i < N; i++)
		CHECK(nodes[i].partial_since == 0);
	CHECK_INT(full, 0);
	CHECK_INT(partial, N - 1);
	CHECK_INT(partial_welcomes_seen, N - 1);
	CHECK_INT(welcomes_seen, N - 1);

	/* with the default budget a small cluster gets full welcomes only, as before */
	welcomes_seen = partial_welcomes_seen = 0;
	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	for (i = 0, full = partial = 0; i < N; i++) {
		full += (long)nodes[i].welcomes_full;
		partial += (long)nodes[i].welcomes_partial;
	}
	CHECK_INT(full, N - 1);
	CHECK_INT(partial, 0);
	CHECK_INT(partial_welcomes_seen, 0);
}

/* A joiner of an older build never says "partial": it gets full welcomes whatever the budget. */
static void
partial_old_joiner(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };
	int i, was_partial = 0;
	msec_t start;

	seed_list = "tcp://127.0.0.1:1000";
	welcomes_seen = partial_welcomes_seen = 0;
	old_joiner = 3;
	fresh_seeded(all);
	no_welcome_budget();
	start = now;
	while (!all_up(N) && now - start < 5000) {
		step(5);
		was_partial |= node_partial(&nodes[3]);
	}
	CHECK(all_up(N));
	CHECK(!was_partial);
	CHECK_INT(partial_welcomes_seen, N - 2);
	CHECK_INT(welcomes_seen, N - 1);
	for (i = 0; i < N; i++)
		if (nodes[i].welcomes_full > 0)
			break;
	CHECK(i < N);
	old_joiner = -1;
}

static int
partial_member(int i)
{
	return node_partial(&nodes[i]);
}

/*
 * A member by a partial welcome that waits long for the cluster's state
 * (the router loses every gossip to it) stays a member: its two members
 * are no view to judge a majority by, so it neither probes the members it
 * remembers (which would make it leave its cluster for "the one with the
 * majority": the same cluster) nor answers init-joins; once a gossip comes
 * through, it has the state.
 */
static void
partial_guarded(void)
{
	int all[N] = { 1, 1, 1, 1, 1 };

	seed_list = "tcp://127.0.0.1:1000";
	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	/* node 4 restarts with its memory of all five; the others admit it partially */
	no_welcome_budget();
	no_gossip_to = 4;
	restart_with_memory(4, 777777);
	node_start(&nodes[4], now);
	CHECK(until(partial_member, 4, 10000) >= 0);
	watch_joins = 4;
	init_joins_from = acks_from = 0;
	step(12000);	/* past the probe's 5 s without a majority */
	CHECK(nodes[4].phase == PHASE_MEMBER);
	CHECK(node_partial(&nodes[4]));
	CHECK_INT(init_joins_from, 0);
	/* an init-join to it goes unanswered */
	{
		cJSON *m = envelope(&nodes[1], MSG_INIT_JOIN, 0);

		node_receive(&nodes[4], m, now);
		cJSON_Delete(m);
		route();
	}
	CHECK_INT(acks_from, 0);
	no_gossip_to = -1;
	watch_joins = -1;
	CHECK(until(all_up, N, 10000) >= 0);
	CHECK(!node_partial(&nodes[4]));
	CHECK_INT(nodes[4].st.n, N);
}

/*
 * A version that moves members out, made here (a leave, a down, the
 * leader's Exiting and Removed), goes to every member at once with
 * "bcast", and whoever takes it pushes it to nobody: each only tells the
 * sender and the leader that it has seen it (the wave's missed members
 * waited for a gossip round at 200 real nodes). A "bcast" that is not a
 * bool: the whole gossip is malformed.
 */
static int
left_everywhere(int unused)
{
	(void)unused;
	return gone_everywhere(0) && nodes[victim].phase == PHASE_SHUTDOWN;
}

static void
bcast_exits(void)
{
	int all[N] = { 1, 1, 1, 1, 1 }, i, k, bc = 0, to[N] = { 0 };
	uint64_t pushes[N], taken = 0;
	struct dropped before;
	char err[256];
	cJSON *m;

	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	step(3000);	/* the join's pushes done */
	CHECK_STR(nodes[0].st.m[mstate_leader(&nodes[0].st, NULL)].name, "n0");
	for (i = 0; i < N; i++)
		pushes[i] = nodes[i].ss.sent[SW_PUSH];
	/* n2 says n3 leaves: the Leaving version goes from n2 to all four */
	victim = 3;
	ncaps = 0;
	capture_any = 2;
	CHECK(node_cmd_leave(&nodes[2], "n3", now, err, sizeof(err)) == 0);
	now += 5;
	node_tick(&nodes[2], now);
	route();
	capture_any = -1;
	for (k = 0; k < ncaps; k++) {
		const char *t = json_str(caps[k].msg, "t");

		if (caps[k].msg != NULL && t != NULL && strcmp(t, MSG_GOSSIP) == 0 &&
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(caps[k].msg, "bcast"))) {
			bc++;
			to[caps[k].dest]++;
		}
	}
	free_caps();
	CHECK_INT(bc, N - 1);
	for (i = 0; i < N; i++)
		CHECK_INT(to[i], i == 2 ? 0 : 1);
	/* each took it, and has the Leaving version */
	for (i = 0; i < N; i++) {
		k = mstate_find(&nodes[i].st, nodes[3].self.uid);
		CHECK(k >= 0 && nodes[i].st.m[k].status == MS_LEAVING);
	}
	/*
	 * Exiting and Removed come from the leader, n0, the same way. n3's
	 * exit notice goes to the leader alone first, the others a turn later.
	 */
	capture_any = 3;
	CHECK(until(left_everywhere, 0, 3000) >= 0);
	capture_any = -1;
	{
		msec_t first = -1;
		int others = 0;

		for (k = 0; k < ncaps; k++) {
			const char *t = json_str(caps[k].msg, "t");

			if (caps[k].msg == NULL || t == NULL || strcmp(t, MSG_EXITING) != 0)
				continue;
			if (first < 0) {
				CHECK_INT(caps[k].dest, 0);
				first = caps[k].at;
			} else if (caps[k].dest != 0) {
				CHECK(caps[k].at > first);
				others++;
			}
		}
		CHECK(first >= 0);
		/* none when the leader removed it before the next turn */
		CHECK(others == 0 || others == N - 2);
	}
	free_caps();
	for (i = 0; i < N; i++)
		taken += nodes[i].bcasts_taken;
	CHECK(nodes[2].bcasts_sent == 1 && nodes[0].bcasts_sent == 2);
	CHECK(taken >= 3 * (N - 1) - 2);	/* n3 takes two of the three, n2 and n0 miss their own */
	/* n1 and n4 pushed none of the three versions on */
	CHECK(nodes[1].ss.sent[SW_PUSH] == pushes[1] && nodes[4].ss.sent[SW_PUSH] == pushes[4]);
	alive[3] = 0;
	CHECK(until(all_up, N - 1, 2000) >= 0);

	/* "bcast" must be a bool, "fwd" a list of uids in a broadcast */
	before = nodes[0].dropped;
	for (k = 0; k < 6; k++) {
		static const char *fwds[] = { NULL, "12 x", "12  13", "12 ", "0", "99999999999999999999" };

		m = envelope(&nodes[1], MSG_GOSSIP, nodes[0].self.uid);
		cJSON_AddItemToObject(m, "state", mstate_to_wire(&nodes[1].st));
		if (k == 0)
			cJSON_AddStringToObject(m, "bcast", "yes");
		else
			cJSON_AddTrueToObject(m, "bcast");
		if (k > 0)
			cJSON_AddStringToObject(m, "fwd", fwds[k]);
		node_receive(&nodes[0], m, now);
		cJSON_Delete(m);
	}
	/* a "fwd" that is not a string, and one outside a broadcast */
	m = envelope(&nodes[1], MSG_GOSSIP, nodes[0].self.uid);
	cJSON_AddItemToObject(m, "state", mstate_to_wire(&nodes[1].st));
	cJSON_AddTrueToObject(m, "bcast");
	cJSON_AddNumberToObject(m, "fwd", 12);
	node_receive(&nodes[0], m, now);
	cJSON_Delete(m);
	m = envelope(&nodes[1], MSG_GOSSIP, nodes[0].self.uid);
	cJSON_AddItemToObject(m, "state", mstate_to_wire(&nodes[1].st));
	json_add_u64(m, "fwd", nodes[2].self.uid);
	node_receive(&nodes[0], m, now);
	cJSON_Delete(m);
	m = envelope(&nodes[1], MSG_GOSSIP, nodes[0].self.uid);
	cJSON_AddItemToObject(m, "state", mstate_to_wire(&nodes[1].st));
	cJSON_AddStringToObject(m, "fwd", "");	/* even empty */
	node_receive(&nodes[0], m, now);
	cJSON_Delete(m);
	route();
	CHECK_INT(nodes[0].dropped.malformed, before.malformed + 9);
	/* a member's "fwd" is followed, a stranger's not */
	for (k = 0; k < 2; k++) {
		uint64_t fw0 = nodes[0].bcasts_forwarded;
		char uid[24];

		m = envelope(&nodes[1], MSG_GOSSIP, nodes[0].self.uid);
		if (k == 1) {
			cJSON *from = cJSON_GetObjectItemCaseSensitive(m, "from");

			cJSON_DeleteItemFromObjectCaseSensitive(from, "uid");
			json_add_u64(from, "uid", 424242);
		}
		cJSON_AddItemToObject(m, "state", mstate_to_wire(&nodes[1].st));
		cJSON_AddTrueToObject(m, "bcast");
		snprintf(uid, sizeof(uid), "%llu", (unsigned long long)nodes[4].self.uid);
		cJSON_AddStringToObject(m, "fwd", uid);
		node_receive(&nodes[0], m, now);
		cJSON_Delete(m);
		route();
		CHECK(nodes[0].bcasts_forwarded == fw0 + (k == 0));
	}
	/* a "fwd" that repeats a uid sends it one state, not one per mention */
	{
		uint64_t push0 = nodes[0].ss.sent[SW_PUSH];
		char fw[128];
		unsigned long long u4 = (unsigned long long)nodes[4].self.uid;

		snprintf(fw, sizeof(fw), "%llu %llu %llu %llu", u4, u4, u4, u4);
		m = envelope(&nodes[1], MSG_GOSSIP, nodes[0].self.uid);
		cJSON_AddItemToObject(m, "state", mstate_to_wire(&nodes[1].st));
		cJSON_AddTrueToObject(m, "bcast");
		cJSON_AddStringToObject(m, "fwd", fw);
		node_receive(&nodes[0], m, now);
		cJSON_Delete(m);
		CHECK_INT(nodes[0].ss.sent[SW_PUSH], push0 + 1);
		route();
	}

	/*
	 * Above bcast_direct members it goes through relays, the leader
	 * first and directly: n2 sends to n0 (the leader), and n1, n3, n4 in
	 * two runs, n1 with a "fwd" of n3's uid (n3 is leaving: it relays
	 * nothing), and n4 alone.
	 */
	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	step(3000);
	for (i = 0; i < N; i++) {
		nodes[i].bcast_direct = 2;
		pushes[i] = nodes[i].ss.sent[SW_PUSH];
		to[i] = 0;
	}
	ncaps = 0;
	bc = 0;
	capture_any = 2;
	CHECK(node_cmd_leave(&nodes[2], "n3", now, err, sizeof(err)) == 0);
	now += 5;
	node_tick(&nodes[2], now);
	route();
	capture_any = -1;
	for (k = 0; k < ncaps; k++) {
		const char *t = json_str(caps[k].msg, "t"), *fw;

		if (caps[k].msg != NULL && t != NULL && strcmp(t, MSG_GOSSIP) == 0 &&
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(caps[k].msg, "bcast"))) {
			uint64_t u;

			to[caps[k].dest]++;
			if ((fw = json_str(caps[k].msg, "fwd")) == NULL)
				continue;
			bc++;
			CHECK_INT(caps[k].dest, 1);
			CHECK(sscanf(fw, "%" SCNu64, &u) == 1 && u == nodes[3].self.uid);
		}
	}
	free_caps();
	CHECK_INT(bc, 1);
	CHECK(to[0] == 1 && to[1] == 1 && to[2] == 0 && to[3] == 0 && to[4] == 1);
	for (i = 0, k = 0; i < N; i++) {
		int j = mstate_find(&nodes[i].st, nodes[3].self.uid);

		CHECK(j >= 0 && nodes[i].st.m[j].status == MS_LEAVING);
		k += (int)nodes[i].bcasts_forwarded;
	}
	CHECK_INT(k, 1);
	CHECK(until(left_everywhere, 0, 3000) >= 0);
	for (i = 0; i < N; i++)
		if (i != 0 && i != 2 && i != 3)
			CHECK(nodes[i].ss.sent[SW_PUSH] == pushes[i] + (uint64_t)nodes[i].bcasts_forwarded);
	alive[3] = 0;
	CHECK(until(all_up, N - 1, 2000) >= 0);
}

/*
 * A status (gossip 0) or a full state (gossip 1) of i's version, whose
 * seen set is the nodes in seen_of, handed to j: how many statuses j
 * answers i with, and (to0 not NULL) sends n0. i's own state is left as it was.
 */
static int
gap_statuses(int i, int j, int gossip, const int *seen_of, int nseen, int *to0)
{
	struct u64set keep = nodes[i].st.seen, s = { 0 };
	struct outmsg *out;
	cJSON *m;
	int count, k, c = 0;

	for (k = 0; k < nseen; k++)
		u64set_add(&s, nodes[seen_of[k]].self.uid);
	nodes[i].st.seen = s;
	m = envelope(&nodes[i], gossip ? MSG_GOSSIP : MSG_STATUS, nodes[j].self.uid);
	if (gossip)
		cJSON_AddItemToObject(m, "state", mstate_to_wire(&nodes[i].st));
	else
		status_to_wire(m, &nodes[i].st);
	cJSON_AddNumberToObject(m, "cv", CPT_VERSION);
	nodes[i].st.seen = keep;
	u64set_free(&s);
	node_receive(&nodes[j], m, now);
	cJSON_Delete(m);
	out = node_outbox(&nodes[j], &count);
	for (k = 0; k < count; k++) {
		const char *t = node_out_type(&out[k]);

		if (t != NULL && strcmp(t, MSG_STATUS) == 0 && by_address(out[k].address) == i)
			c++;
		if (to0 != NULL && t != NULL && strcmp(t, MSG_STATUS) == 0 &&
		    by_address(out[k].address) == 0)
			(*to0)++;
		cJSON_Delete(out[k].msg);
	}
	return c;
}

static int
gap_answers(int i, int j, int gossip, const int *seen_of, int nseen)
{
	return gap_statuses(i, j, gossip, seen_of, nseen, NULL);
}

/* What node i has in its outbox: full states to j, statuses (to anyone). */
static void
outbox_of(int i, int j, int *states_to_j, int *statuses)
{
	struct outmsg *out;
	int count, k;

	*states_to_j = *statuses = 0;
	out = node_outbox(&nodes[i], &count);
	for (k = 0; k < count; k++) {
		const char *t = node_out_type(&out[k]);

		if (t != NULL && strcmp(t, MSG_GOSSIP) == 0 && by_address(out[k].address) == j)
			(*states_to_j)++;
		if (t != NULL && strcmp(t, MSG_STATUS) == 0 &&
		    cJSON_GetObjectItemCaseSensitive(out[k].msg, "vh") == NULL)
			(*statuses)++;
		cJSON_Delete(out[k].msg);
	}
}

/*
 * doc/PROTOCOL.md, "Seen gaps": a status or a full state of our version
 * is answered with our status only when it does not list us (and never by
 * the leader, to a status); the leader sends its state to the members
 * missing from its seen set once it stopped growing, and its seen set to
 * every member once a version converged and stayed.
 */
static void
seen_gaps(void)
{
	int all[N] = { 1, 1, 1, 1, 1 }, i, states, statuses;
	int s12[] = { 1, 2 }, s1[] = { 1 };
	uint64_t caught, announced;

	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	step(3000);
	CHECK_STR(nodes[0].st.m[mstate_leader(&nodes[0].st, NULL)].name, "n0");
	for (i = 0; i < N; i++)
		CHECK_INT(nodes[i].st.seen.n, N);
	/* n1's seen set lacks n0, n3, n4, which n2 has; not n2: no answer */
	CHECK_INT(gap_answers(1, 2, 0, s12, 2), 0);
	CHECK_INT(gap_answers(1, 2, 1, s12, 2), 0);
	/* it lacks n2: n2 says it has the version */
	CHECK_INT(gap_answers(1, 2, 0, s1, 1), 1);
	CHECK_INT(gap_answers(1, 2, 1, s1, 1), 1);
	/* the leader takes a status as a report: no answer, even lacking it */
	CHECK_INT(gap_answers(1, 0, 0, s1, 1), 0);
	/* to a full state lacking it, it does answer (a round aimed at it) */
	CHECK_INT(gap_answers(1, 0, 1, s1, 1), 1);

	/* the leader's catch-up: n3 missing from n0's seen set */
	nodes[0].next_gossip = now + 100000;	/* no round to n3 meanwhile */
	caught = nodes[0].ss.sent[SW_CATCHUP];
	u64set_del(&nodes[0].st.seen, nodes[3].self.uid);
	nodes[0].state_seq++;
	seen_grew(&nodes[0], now);
	now += 20;
	node_tick(&nodes[0], now);
	outbox_of(0, 3, &states, &statuses);
	CHECK_INT(states, 0);		/* not yet: the set may still grow */
	now += 15;
	node_tick(&nodes[0], now);
	outbox_of(0, 3, &states, &statuses);
	CHECK_INT(states, 1);
	CHECK(nodes[0].ss.sent[SW_CATCHUP] == caught + 1);
	now += 30;
	node_tick(&nodes[0], now);
	outbox_of(0, 3, &states, &statuses);
	CHECK_INT(states, 0);		/* again no sooner than 200 ms later */
	now += 200;
	node_tick(&nodes[0], now);
	outbox_of(0, 3, &states, &statuses);
	CHECK_INT(states, 1);		/* n3 still missing: again */

	/* n3 says it has it: converged; the seen set goes to all 100 ms later */
	announced = nodes[0].ss.status_sent[STW_CONVERGED];
	nodes[0].announced = 0;
	u64set_add(&nodes[0].st.seen, nodes[3].self.uid);
	nodes[0].state_seq++;
	seen_grew(&nodes[0], now);
	now += 50;
	node_tick(&nodes[0], now);
	outbox_of(0, 3, &states, &statuses);
	CHECK_INT(states, 0);
	CHECK(nodes[0].ss.status_sent[STW_CONVERGED] == announced);
	now += 200;
	node_tick(&nodes[0], now);
	outbox_of(0, 3, &states, &statuses);
	CHECK(nodes[0].ss.status_sent[STW_CONVERGED] == announced + N - 1);
	CHECK(statuses >= N - 1);
	now += 300;
	node_tick(&nodes[0], now);
	CHECK(nodes[0].ss.status_sent[STW_CONVERGED] == announced + N - 1);	/* once */
	outbox_of(0, 3, &states, &statuses);
	step(100);
	CHECK(all_up(N));
}

/*
 * A member cut off from everyone, which the leader does not watch itself:
 * the leader's catch-up does not chase it for as long as the cut lasts
 * (it sent it a full state every 200 ms: 300 in a minute), and nobody is
 * told of a convergence that cannot be; healed, all is well again.
 */
static void
catchup_partition(void)
{
	int all[N] = { 1, 1, 1, 1, 1 }, i, x = -1, k;
	uint64_t c0, cv0;

	fresh_seeded(all);
	for (i = 0; i < N; i++)
		cfg[i].monitored_by = 1;
	CHECK(until(all_up, N, 5000) >= 0);
	step(3000);
	CHECK_STR(nodes[0].st.m[mstate_leader(&nodes[0].st, NULL)].name, "n0");
	for (i = 1; i < N && x < 0; i++) {
		for (k = 0; k < nodes[0].nmon; k++)
			if (nodes[0].mon[k].uid == nodes[i].self.uid)
				break;
		if (k == nodes[0].nmon)
			x = i;
	}
	CHECK(x > 0);
	if (x < 0)
		return;
	for (k = 0; k < N; k++)
		cut[x][k] = cut[k][x] = 1;
	step(5000);
	CHECK(!mstate_reachable(&nodes[0].st, nodes[x].self.uid));
	c0 = nodes[0].ss.sent[SW_CATCHUP];
	cv0 = nodes[0].ss.status_sent[STW_CONVERGED];
	step(60000);
	CHECK(nodes[0].ss.sent[SW_CATCHUP] - c0 <= CATCHUP_TRIES);
	CHECK(nodes[0].ss.status_sent[STW_CONVERGED] == cv0);
	for (k = 0; k < N; k++)
		cut[x][k] = cut[k][x] = 0;
	CHECK(until(all_up, N, 10000) >= 0);
}

/* Node i's push 5 ms on: the full states it sends (its outbox emptied). */
static int
push_now(int i)
{
	struct outmsg *out;
	int count, k, pushed = 0;

	now += 5;
	push_tick(&nodes[i], now);
	out = node_outbox(&nodes[i], &count);
	for (k = 0; k < count; k++) {
		const char *t = node_out_type(&out[k]);

		pushed += t != NULL && strcmp(t, MSG_GOSSIP) == 0;
		cJSON_Delete(out[k].msg);
	}
	return pushed;
}

/*
 * The push tests' set-up: all five formed and settled, then no gossip rounds
 * (only pushes and the rules under test send); rounds_again ends them.
 */
static void
formed_without_rounds(void)
{
	int all[N] = { 1, 1, 1, 1, 1 }, i;

	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	step(3000);
	for (i = 0; i < N; i++)
		nodes[i].next_gossip = now + 100000;	/* no rounds meanwhile */
}

/* Rounds as usual again: all five Up everywhere. */
static void
rounds_again(void)
{
	int i;

	for (i = 0; i < N; i++)
		nodes[i].next_gossip = now;
	CHECK(until(all_up, N, 5000) >= 0);
}

/*
 * doc/PROTOCOL.md, "Eager push": a version that changes neither who is
 * leaving nor who is unreachable (a join, a move to Up) goes to one member
 * that has not seen it; one that changes reachability, or moves a member
 * out, to three. Without the rule every version went to three.
 */
static void
push_fanout(void)
{
	int pushed;
	uint64_t p0;

	formed_without_rounds();
	/* n2 makes a version that moves nobody out and changes no reachability */
	p0 = nodes[2].ss.sent[SW_PUSH];
	local_change(&nodes[2], now);
	pushed = push_now(2);
	CHECK_INT(pushed, 1);
	CHECK(nodes[2].ss.sent[SW_PUSH] == p0 + 1);
	/* n2 says it cannot reach n4: three members that have not seen it */
	p0 = nodes[2].ss.sent[SW_PUSH];
	reach_set(&nodes[2].st.reach, nodes[2].self.uid, nodes[4].self.uid, RS_UNREACHABLE);
	local_change(&nodes[2], now);
	pushed = push_now(2);
	CHECK_INT(pushed, 3);	/* n0, n1, n3: not n4, which n2 cannot reach */
	CHECK(nodes[2].ss.sent[SW_PUSH] == p0 + 3);
	/* and reachable again: three */
	reach_set(&nodes[2].st.reach, nodes[2].self.uid, nodes[4].self.uid, RS_REACHABLE);
	local_change(&nodes[2], now);
	pushed = push_now(2);
	CHECK_INT(pushed, 3);
	rounds_again();
}

/*
 * doc/PROTOCOL.md, "Eager push", the push chain: a member whose push of a
 * join's version goes on to a member that has not seen it sends the leader
 * no status (the pushed seen set carries its word); the chain's end does,
 * and so does a member a push of its version meets with members it had
 * not heard of, to the leader only (not the pusher as well). Without the
 * rule each member of the chain told the leader.
 */
static void
push_chain(void)
{
	int i, c = -1, s = -1, told = 0, met = 0, to0;
	int s2[2], sc2[3];
	uint64_t l0[N], c0[N];

	formed_without_rounds();
	CHECK_STR(nodes[0].st.m[mstate_leader(&nodes[0].st, NULL)].name, "n0");
	for (i = 0; i < N; i++) {
		l0[i] = nodes[i].ss.status_sent[STW_LEADER];
		c0[i] = nodes[i].ss.status_sent[STW_CHAIN];
	}
	/* n2 makes a join's version; the leader marked as having it: n1, n3, n4 in a chain */
	local_change(&nodes[2], now);
	u64set_add(&nodes[2].st.seen, nodes[0].self.uid);
	step(100);
	for (i = 1; i < N; i++) {
		told += (int)(nodes[i].ss.status_sent[STW_LEADER] - l0[i]);
		met += (int)(nodes[i].ss.status_sent[STW_CHAIN] - c0[i]);
		CHECK(vclock_compare(&nodes[i].st.vc, &nodes[2].st.vc) == VC_SAME);
		if (i != 2 && nodes[i].chained == nodes[i].version_seq)
			c = i;		/* pushed it on to another */
	}
	CHECK_INT(told, 1);	/* the end of n2 -> x -> y -> z: all four without the rule */
	CHECK_INT(met, 0);
	CHECK(vclock_compare(&nodes[0].st.vc, &nodes[2].st.vc) == VC_SAME);
	CHECK_INT(nodes[0].st.seen.n, N);	/* the leader has everyone's word */
	CHECK(c > 0);
	if (c < 0)
		return;
	/*
	 * Another chain's push (s's, of s and n2) meets c, whose seen set has
	 * only itself and n2: c tells the leader, not s, whose seen set lacks c
	 */
	for (i = 1; i < N; i++)
		if (i != c && i != 2 && s < 0)
			s = i;
	s2[0] = sc2[0] = s;
	s2[1] = sc2[1] = 2;
	sc2[2] = c;
	u64set_clear(&nodes[c].st.seen);
	u64set_add(&nodes[c].st.seen, nodes[c].self.uid);
	u64set_add(&nodes[c].st.seen, nodes[2].self.uid);
	nodes[c].state_seq++;
	to0 = 0;
	CHECK_INT(gap_statuses(s, c, 1, s2, 2, &to0), 0);
	CHECK_INT(to0, 1);
	CHECK(nodes[c].ss.status_sent[STW_CHAIN] == c0[c] + 1);
	/* the same again adds nothing: no word to the leader; s, lacking c, hears from c */
	to0 = 0;
	CHECK_INT(gap_statuses(s, c, 1, s2, 2, &to0), 1);
	CHECK_INT(to0, 0);
	/* the leader's own gossip (a catch-up) that adds to c's seen set: c answers it */
	u64set_del(&nodes[c].st.seen, nodes[s].self.uid);
	nodes[c].state_seq++;
	s2[0] = 0;
	to0 = 0;
	CHECK_INT(gap_statuses(0, c, 1, s2, 2, &to0), 1);
	CHECK_INT(to0, 1);
	s2[0] = s;
	/* nor does a member whose word did not ride a chain tell the leader (it told it itself) */
	u64set_add(&nodes[c].st.seen, nodes[s].self.uid);
	u64set_del(&nodes[c].st.seen, nodes[s].self.uid);
	nodes[c].state_seq++;
	nodes[c].chained = 0;
	to0 = 0;
	CHECK_INT(gap_statuses(s, c, 1, sc2, 3, &to0), 0);
	CHECK_INT(to0, 0);
	rounds_again();
}

/*
 * doc/PROTOCOL.md, "Seen gaps", the probe: more members missing from the
 * leader's seen set than a catch-up sends to (here 4 of 5, its cap 3),
 * their push chains unheard: 150 ms after it stopped growing (not at the
 * catch-up's 30) the leader sends them its status, and their answers fill
 * its seen set. Without it nothing was sent until the rounds.
 */
static void
probe_unheard(void)
{
	int i, states, statuses;
	uint64_t p0;

	formed_without_rounds();
	CHECK_STR(nodes[0].st.m[mstate_leader(&nodes[0].st, NULL)].name, "n0");
	p0 = nodes[0].ss.status_sent[STW_PROBE];
	for (i = 1; i < N; i++)
		u64set_del(&nodes[0].st.seen, nodes[i].self.uid);
	nodes[0].state_seq++;
	seen_grew(&nodes[0], now);
	now += 100;
	node_tick(&nodes[0], now);
	outbox_of(0, 1, &states, &statuses);
	CHECK_INT(statuses, 0);		/* not yet: chains may still be running */
	CHECK(nodes[0].ss.status_sent[STW_PROBE] == p0);
	now += 55;
	node_tick(&nodes[0], now);
	outbox_of(0, 1, &states, &statuses);
	CHECK_INT(states, 0);
	CHECK_INT(statuses, N - 1);
	CHECK(nodes[0].ss.status_sent[STW_PROBE] == p0 + N - 1);
	/* again, delivered: the answers fill the seen set */
	for (i = 1; i < N; i++)
		u64set_del(&nodes[0].st.seen, nodes[i].self.uid);
	nodes[0].state_seq++;
	nodes[0].catchup_next = now;
	seen_grew(&nodes[0], now);
	step(400);
	CHECK_INT(nodes[0].st.seen.n, N);
	rounds_again();
}

/*
 * A push to three members sends one text (gossip.c's state_ref): the last
 * of the three messages owns the raw state, the two before point at its
 * text, and all print the state as mstate_wire_raw prints it. Freed in
 * order, as the shells do: no copy lost, none freed twice (the asan build
 * says so).
 */
static void
push_one_text(void)
{
	int count, k, nst = 0;
	const cJSON *st[3] = { NULL, NULL, NULL };
	struct outmsg *out;
	cJSON *raw;

	formed_without_rounds();
	reach_set(&nodes[2].st.reach, nodes[2].self.uid, nodes[4].self.uid, RS_UNREACHABLE);
	local_change(&nodes[2], now);
	now += 5;
	push_tick(&nodes[2], now);
	raw = mstate_wire_raw(&nodes[2].st);
	out = node_outbox(&nodes[2], &count);
	for (k = 0; k < count; k++) {
		const char *t = node_out_type(&out[k]);

		if (t != NULL && strcmp(t, MSG_GOSSIP) == 0 && nst < 3)
			st[nst++] = cJSON_GetObjectItemCaseSensitive(out[k].msg, "state");
	}
	CHECK_INT(nst, 3);
	for (k = 0; k < nst; k++) {
		CHECK(st[k] != NULL && (st[k]->type & 0xff) == cJSON_Raw);
		CHECK(st[k] != NULL && strcmp(st[k]->valuestring, raw->valuestring) == 0);
		/* the last owns the text; the others refer to that very text */
		CHECK(st[k] != NULL && ((st[k]->type & cJSON_IsReference) != 0) == (k < nst - 1));
		CHECK(st[k] != NULL && st[k]->valuestring == st[nst - 1]->valuestring);
	}
	for (k = 0; k < count; k++) {
		char *txt = out[k].msg != NULL ? json_print(out[k].msg) : NULL;

		CHECK(txt == NULL || strstr(txt, raw->valuestring) != NULL ||
		    strcmp(node_out_type(&out[k]), MSG_GOSSIP) != 0);
		free(txt);
		cJSON_Delete(out[k].msg);
	}
	cJSON_Delete(raw);
	rounds_again();
}

/*
 * The bitmap of its seen set a node keeps (n->seen_bits, tagged with its
 * state_seq: k10d) is the one made afresh from its state, and statuses
 * printed from it are the bytes status_to_wire prints.
 */
static void
seen_cache_same(int i)
{
	struct node *n = &nodes[i];
	struct seen_bits f = { 0 };
	const struct seen_bits *c;
	cJSON *a, *b;

	if (n->st.n == 0)
		return;
	c = mstate_seen_bits(&n->st, &n->seen_bits, n->state_seq);
	mstate_seen_bits(&n->st, &f, UINT64_MAX);
	CHECK_INT(c->nx, f.nx);
	CHECK_INT(c->distinct, f.distinct);
	CHECK(memcmp(c->d, f.d, (size_t)(n->st.n + 3) / 4) == 0);
	a = cJSON_CreateObject();
	b = cJSON_CreateObject();
	status_to_wire(a, &n->st);
	status_to_wire_bits(b, &n->st, c);
	CHECK_STR(json_str(b, "seen"), json_str(a, "seen"));
	CHECK((json_str(a, "seen_x") == NULL) == (json_str(b, "seen_x") == NULL));
	if (json_str(a, "seen_x") != NULL && json_str(b, "seen_x") != NULL)
		CHECK_STR(json_str(b, "seen_x"), json_str(a, "seen_x"));
	cJSON_Delete(a);
	cJSON_Delete(b);
	seen_bits_free(&f);
}

static void
drain_all(void)
{
	struct outmsg *out;
	int i, k, count;

	for (i = 0; i < N; i++) {
		out = node_outbox(&nodes[i], &count);
		for (k = 0; k < count; k++)
			cJSON_Delete(out[k].msg);
	}
}

/* Statuses node j sent to node i (not digests), taken from j's outbox; the rest dropped. */
static int
statuses_to(int j, int i)
{
	struct outmsg *out;
	int count, k, c = 0;

	out = node_outbox(&nodes[j], &count);
	for (k = 0; k < count; k++) {
		const char *t = node_out_type(&out[k]);

		if (t != NULL && strcmp(t, MSG_STATUS) == 0 && by_address(out[k].address) == i &&
		    cJSON_GetObjectItemCaseSensitive(out[k].msg, "vh") == NULL)
			c++;
		cJSON_Delete(out[k].msg);
	}
	return c;
}

static void
set_copy(struct u64set *d, const struct u64set *s)
{
	int k;

	u64set_clear(d);
	for (k = 0; k < s->n; k++)
		u64set_add(d, s->v[k]);
}

static int
same_set(const struct u64set *a, const struct u64set *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, (size_t)a->n * sizeof(*a->v)) == 0);
}

/* A random seen set over st's table (p in 16ths), with a uid outside it now and then. */
static void
random_seen(struct u64set *s, const struct mstate *st, uint64_t *r)
{
	unsigned p = (unsigned)(xs(r) % 17);
	int k;

	u64set_clear(s);
	for (k = 0; k < st->n; k++)
		if (xs(r) % 16 < p)
			u64set_add(s, st->m[k].uid);
	if (xs(r) % 8 == 0)
		u64set_add(s, 900000 + xs(r) % 50);
}

/*
 * A status of i's own version from j (seen set s), corrupted one way or
 * another now and then, against what the read before k10d did with it
 * (status_seen_from_wire, unite_seen over members only, seen_gap): the
 * same seen set after, the same drops, the same answer, and the kept
 * bitmap still the seen set's.
 */
static int sd_stats[8];

static void
status_differential(int i, int j, const struct u64set *s, int how)
{
	struct node *n = &nodes[i];
	struct mstate t;
	struct u64set theirs = { 0 }, want = { 0 };
	struct dropped before = n->dropped;
	int before_n = n->st.seen.n;
	cJSON *m;
	char *bits;
	int rc, k, lacks = 0, answer, li;

	mstate_init(&t);
	mstate_copy(&t, &n->st);
	set_copy(&t.seen, s);
	m = envelope(&nodes[j], MSG_STATUS, n->self.uid);
	status_to_wire(m, &t);
	cJSON_AddNumberToObject(m, "cv", CPT_VERSION);
	mstate_free(&t);
	bits = strdup(json_str(m, "seen"));
	switch (how) {
	case 1:	/* an upper-case digit: not ours (lower case) */
		for (k = 0; bits[k] != '\0'; k++)
			if (bits[k] >= 'a' && bits[k] <= 'f')
				bits[k] = (char)(bits[k] - 'a' + 'A');
		break;
	case 2:
		bits[0] = 'g';
		break;
	case 3:	/* a digit short */
		bits[strlen(bits) - 1] = '\0';
		break;
	case 4:	/* a bit past the table, if it has room; else a digit more */
		if (n->st.n % 4 != 0)
			bits[strlen(bits) - 1] = 'f';
		else {
			char *b2 = malloc(strlen(bits) + 2);

			sprintf(b2, "%s1", bits);
			free(bits);
			bits = b2;
		}
		break;
	case 5:
		cJSON_AddStringToObject(m, "seen_x", "");
		break;
	case 6:
		cJSON_AddNumberToObject(m, "seen_x", 7);
		break;
	case 7:	/* a member of the table named outside it too */
		cJSON_DeleteItemFromObjectCaseSensitive(m, "seen_x");
		json_add_u64(m, "seen_x", n->st.m[0].uid);
		break;
	case 8:
		cJSON_ReplaceItemInObjectCaseSensitive(m, "mh", cJSON_CreateString("17"));
		break;
	case 9:
		cJSON_DeleteItemFromObjectCaseSensitive(m, "mh");
		break;
	case 10:
		bits[0] = '\0';
		break;
	}
	cJSON_ReplaceItemInObjectCaseSensitive(m, "seen", cJSON_CreateString(bits));
	free(bits);
	/* the read before k10d */
	rc = status_seen_from_wire(m, &n->st, &theirs);
	set_copy(&want, &n->st.seen);
	for (k = 0; rc == 0 && k < n->st.seen.n; k++)
		lacks |= !u64set_has(&theirs, n->st.seen.v[k]);
	for (k = 0; rc == 0 && k < theirs.n; k++)
		if (mstate_find(&n->st, theirs.v[k]) >= 0)
			u64set_add(&want, theirs.v[k]);
	li = mstate_leader_for(&n->st, NULL, n->self.uid);
	answer = rc == 0 && lacks && (n->st.n > 400 /* gossip.c's BCAST_MAX */ || (!u64set_has(&theirs, n->self.uid) &&
	    (li < 0 || n->st.m[li].uid != n->self.uid)));
	drain_all();
	node_receive(n, m, now);
	cJSON_Delete(m);
	CHECK_INT(n->dropped.malformed, before.malformed + (rc < 0));
	CHECK_INT(n->dropped.stale, before.stale + (rc > 0));
	CHECK(same_set(&n->st.seen, &want));
	CHECK_INT(statuses_to(i, j), answer);
	sd_stats[rc < 0 ? 0 : rc > 0 ? 1 : 2]++;
	sd_stats[3] += rc == 0 && n->st.seen.n > before_n;
	sd_stats[4] += answer;
	seen_cache_same(i);
	u64set_free(&theirs);
	u64set_free(&want);
}

/*
 * A gossip to i from j of i's version (same: 1) or a newer one of j's
 * (with up to 30 members more): the seen set after is the union (any
 * uid), or the state's plus i; the kept bitmap still the seen set's.
 */
static void
gossip_differential(int i, int j, const struct u64set *s, int same, uint64_t *r)
{
	struct node *n = &nodes[i];
	struct mstate t;
	struct u64set want = { 0 };
	cJSON *m;
	char name[16];
	int k, extra;

	mstate_init(&t);
	mstate_copy(&t, &n->st);
	if (!same) {
		extra = t.n < 60 ? (int)(xs(r) % 31) : 0;
		for (k = 0; k < extra; k++) {
			uint64_t uid = 700000 + xs(r) % 100000;
			struct member mm;

			snprintf(name, sizeof(name), "f%" PRIu64, uid);
			mm = mk_member(uid, name, 20000 + (int)(uid % 40000), MS_UP);
			if (mstate_find(&t, uid) < 0 && mstate_find_address(&t, mm.address) < 0)
				mstate_add(&t, &mm);
		}
		vclock_inc(&t.vc, nodes[j].self.uid);
		random_seen(&t.seen, &t, r);
		u64set_add(&t.seen, nodes[j].self.uid);
	} else
		set_copy(&t.seen, s);
	m = envelope(&nodes[j], MSG_GOSSIP, n->self.uid);
	cJSON_AddItemToObject(m, "state", mstate_to_wire(&t));
	cJSON_AddNumberToObject(m, "cv", CPT_VERSION);
	if (same) {
		set_copy(&want, &n->st.seen);
		for (k = 0; k < t.seen.n; k++)
			u64set_add(&want, t.seen.v[k]);
	} else {
		set_copy(&want, &t.seen);
		u64set_add(&want, n->self.uid);
	}
	mstate_free(&t);
	drain_all();
	receive_json(n, m);
	cJSON_Delete(m);
	CHECK(same_set(&n->st.seen, &want));
	seen_cache_same(i);
	drain_all();
	u64set_free(&want);
}

/*
 * k10d's kept seen bitmap and its reads of a status digit by digit,
 * against the reads before it, on random seen sets and statuses (some
 * malformed, some with uids outside the table), interleaved with what
 * changes a node's state: its own changes, states of its version with
 * uids outside the table, newer states (some with more members), and
 * the cluster's own traffic.
 */
static void
seen_bits_random(void)
{
	int all[N] = { 1, 1, 1, 1, 1 }, round, i, j;
	uint64_t r = 0x9e3779b97f4a7c15ULL;
	struct u64set s = { 0 };

	fresh_seeded(all);
	CHECK(until(all_up, N, 5000) >= 0);
	step(1000);
	for (round = 0; round < 4000; round++) {
		unsigned what = (unsigned)(xs(&r) % 100);

		i = (int)(xs(&r) % N);
		j = (int)((i + 1 + xs(&r) % (N - 1)) % N);
		if (nodes[i].phase != PHASE_MEMBER || mstate_find(&nodes[i].st, nodes[j].self.uid) < 0 ||
		    reach_observer_says(&nodes[i].st.reach, nodes[i].self.uid, nodes[j].self.uid) !=
		    RS_REACHABLE)
			continue;
		random_seen(&s, &nodes[i].st, &r);
		if (what < 60)
			status_differential(i, j, &s, xs(&r) % 3 == 0 ? (int)(xs(&r) % 11) : 0);
		else if (what < 72)
			gossip_differential(i, j, &s, 1, &r);
		else if (what < 80)
			gossip_differential(i, j, &s, 0, &r);
		else if (what < 92) {
			drain_all();
			local_change(&nodes[i], now);
			seen_cache_same(i);
			drain_all();
		} else {
			step(20);
			for (i = 0; i < N; i++)
				if (alive[i])
					seen_cache_same(i);
		}
	}
	u64set_free(&s);
	drain_all();
	/* every way was taken: malformed, another table, read, grown, answered */
	for (i = 0; i < 5; i++)
		CHECK(sd_stats[i] > 0);
}

int
main(void)
{
	int i;

	log_init("test-node");
	if (getenv("UNIT_VERBOSE") == NULL)
		freopen("/dev/null", "w", stderr);	/* the cores log as they go */
	RUN_NODE(form);
	RUN_NODE(ring_cache);
	RUN_NODE(cvs_cache);
	RUN_NODE(memory_view);
	RUN_NODE(memory_skip_random);
	RUN_NODE(ring_skip_random);
	RUN_NODE(cvs_skip_random);
	RUN_NODE(crash_detect_down);
	RUN_NODE(leave);
	RUN_NODE(stale_decisions_refused);
	RUN_NODE(hostile);
	RUN_NODE(leave_notice_lost);
	RUN_NODE(leave_holder_died);
	RUN_NODE(form_quorum);
	RUN_NODE(memory_rules);
	RUN_NODE(memory_tie);
	RUN_NODE(replayed_heartbeats);
	RUN_NODE(replayed_messages);
	RUN_NODE(compact_heartbeats);
	RUN_NODE(compact_mixed);
	RUN_NODE(compact_digests);
	RUN_NODE(cvs_spread);
	RUN_NODE(downed_stay_remembered);
	RUN_NODE(partial_welcomes);
	RUN_NODE(partial_old_joiner);
	RUN_NODE(partial_guarded);
	RUN_NODE(bcast_exits);
	RUN_NODE(seen_gaps);
	RUN_NODE(catchup_partition);
	RUN_NODE(push_fanout);
	RUN_NODE(push_one_text);
	RUN_NODE(seen_bits_random);
	RUN_NODE(memory_majority_random);
	RUN_NODE(pick_targets_random);
	RUN_NODE(push_chain);
	RUN_NODE(probe_unheard);
	for (i = 0; i < N; i++)
		node_free(&nodes[i]);
	if (getenv("UNIT_ROUTE_STATS") != NULL)
		printf("route(): at most %ld rounds and %ld messages in one call\n",
		    route_most_rounds, route_most_msgs);
	return unit_done();
}
