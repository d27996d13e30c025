/* node.c: memberd's core: joining, gossip, heartbeats and reachability. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "node.h"
#include "proto.h"

#define PUSH_FANOUT	3	/* peers told at once of a new version */
#ifndef PUSH_BUDGET
#define PUSH_BUDGET	4000	/* member records per second the eager push may send */
#endif
#define EXIT_GRACE	300	/* ms to flush last messages before exiting */
#define TOMBSTONE_TTL	(24LL * 3600 * 1000)	/* a removed uid is remembered this long */

static uint64_t
rnd(struct node *n)
{
	/* xorshift64*: jitter and gossip targets only, never security */
	n->rng ^= n->rng >> 12;
	n->rng ^= n->rng << 25;
	n->rng ^= n->rng >> 27;
	return n->rng * 2685821657736338717ULL;
}

static msec_t
jitter(struct node *n, msec_t interval)
{
	msec_t j = interval / 10;

	return interval - j + (msec_t)(j > 0 ? rnd(n) % (uint64_t)(2 * j + 1) : 0);
}

/* ---- outbox ---- */

static cJSON *
envelope(struct node *n, const char *type, uint64_t to)
{
	cJSON *m = cJSON_CreateObject(), *from;

	cJSON_AddNumberToObject(m, "v", PROTO_VERSION);
	cJSON_AddStringToObject(m, "t", type);
	from = cJSON_AddObjectToObject(m, "from");
	cJSON_AddStringToObject(from, "node", n->self.name);
	cJSON_AddStringToObject(from, "address", n->self.address);
	json_add_u64(from, "uid", n->self.uid);
	if (to != 0)
		json_add_u64(m, "to", to);
	json_add_u64(m, "n", ++n->msg_n);
	return m;
}

#define REPLAY_WINDOW	64
#define REPLAY_KEEP	(10 * 60 * 1000)	/* an idle sender's window is kept this long */

/*
 * Whether message counter c from uid is new (and marks it seen): within a
 * window of the highest seen, each once. Senders we have not heard from in
 * a while are forgotten, so the table stays the size of the cluster.
 */
static int
fresh_n(struct node *n, uint64_t uid, uint64_t c, msec_t now)
{
	int lo = 0, hi = n->nseen_n, k;
	struct seen_n *e;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (n->seen_n[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n->nseen_n || n->seen_n[lo].uid != uid) {
		/* a new sender: make room, dropping the long quiet */
		for (k = 0; k < n->nseen_n; )
			if (now - n->seen_n[k].at > REPLAY_KEEP) {
				memmove(&n->seen_n[k], &n->seen_n[k + 1],
				    (size_t)(n->nseen_n - k - 1) * sizeof(*n->seen_n));
				n->nseen_n--;
				if (k < lo)
					lo--;
			} else
				k++;
		if (n->nseen_n == n->seen_ncap) {
			n->seen_ncap = n->seen_ncap ? 2 * n->seen_ncap : 64;
			if ((n->seen_n = realloc(n->seen_n,
			    (size_t)n->seen_ncap * sizeof(*n->seen_n))) == NULL)
				fatal("realloc");
		}
		memmove(&n->seen_n[lo + 1], &n->seen_n[lo],
		    (size_t)(n->nseen_n - lo) * sizeof(*n->seen_n));
		n->nseen_n++;
		n->seen_n[lo] = (struct seen_n){ uid, c, 1, now };
		return 1;
	}
	e = &n->seen_n[lo];
	if (c > e->top) {
		e->bits = c - e->top >= REPLAY_WINDOW ? 0 : e->bits << (c - e->top);
		e->bits |= 1;
		e->top = c;
	} else if (e->top - c >= REPLAY_WINDOW || (e->bits >> (e->top - c)) & 1)
		return 0;
	else
		e->bits |= 1ULL << (e->top - c);
	e->at = now;
	return 1;
}

/* Hands a relay message to the shell for its local service. */
static void
deliver(struct node *n, cJSON *msg)
{
	if (n->nrelay == n->relaycap) {
		n->relaycap = n->relaycap ? n->relaycap * 2 : 16;
		if ((n->relay_in = realloc(n->relay_in, (size_t)n->relaycap * sizeof(*n->relay_in))) == NULL)
			fatal("realloc");
	}
	n->relay_in[n->nrelay++] = msg;
	n->relayed_in++;
}

static void
send_to(struct node *n, const char *address, cJSON *msg)
{
	if (n->nout == n->outcap) {
		n->outcap = n->outcap ? n->outcap * 2 : 16;
		if ((n->out = realloc(n->out, (size_t)n->outcap * sizeof(*n->out))) == NULL)
			fatal("realloc");
	}
	snprintf(n->out[n->nout].address, sizeof(n->out[n->nout].address), "%s", address);
	n->out[n->nout].msg = msg;
	n->out[n->nout].cluster[0] = '\0';
	n->nout++;
}

/*
 * Why reopen connections: a TCP connection that lost packets during a
 * partition backs off its retransmissions (seconds, then minutes), and
 * nanomsg has no timeout of its own; after the partition heals the
 * heartbeats would wait behind it. So a connection is reopened when its
 * peer is marked unreachable (and every 2 s while it stays so), and when a
 * member that had gone quiet heartbeats us again.
 */
static void
reset_to(struct node *n, const char *address)
{
	int i;

	for (i = 0; i < n->nreset; i++)
		if (strcmp(n->resets[i], address) == 0)
			return;
	if (n->nreset == n->resetcap) {
		n->resetcap = n->resetcap ? n->resetcap * 2 : 8;
		if ((n->resets = realloc(n->resets, (size_t)n->resetcap * sizeof(*n->resets))) == NULL)
			fatal("realloc");
	}
	snprintf(n->resets[n->nreset++], CONF_ADDR_MAX, "%s", address);
}

char (*node_resets(struct node *n, int *count))[CONF_ADDR_MAX]
{
	*count = n->nreset;
	n->nreset = 0;
	return n->resets;
}

/* Notes a heartbeat from uid; returns the time since the previous one (-1: first). */
static msec_t
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
	if ((n->hbseen = realloc(n->hbseen, (size_t)(n->nhbseen + 1) * sizeof(*n->hbseen))) == NULL)
		fatal("realloc");
	n->hbseen[n->nhbseen].uid = uid;
	n->hbseen[n->nhbseen].at = now;
	n->nhbseen++;
	return -1;
}

struct outmsg *
node_outbox(struct node *n, int *count)
{
	*count = n->nout;
	n->nout = 0;
	return n->out;
}

static void
send_gossip(struct node *n, const struct member *to)
{
	cJSON *m = envelope(n, MSG_GOSSIP, to->uid);

	cJSON_AddItemToObject(m, "state", mstate_to_json(&n->st));
	send_to(n, to->address, m);
}

static void
send_status(struct node *n, const struct member *to)
{
	cJSON *m = envelope(n, MSG_STATUS, to->uid);

	cJSON_AddItemToObject(m, "version", vclock_to_json(&n->st.vc));
	cJSON_AddItemToObject(m, "seen", u64set_to_json(&n->st.seen));
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
 * its full status only when either differs.
 */
static void
send_digest(struct node *n, const struct member *to)
{
	cJSON *m = envelope(n, MSG_STATUS, to->uid);

	digests(n);
	json_add_u64(m, "vh", n->vhash);
	json_add_u64(m, "sh", n->shash);
	send_to(n, to->address, m);
}

/* ---- lifecycle ---- */

enum traffic_kind
node_traffic_kind(const char *t)
{
	if (t == NULL)
		return TK_OTHER;
	if (strcmp(t, MSG_GOSSIP) == 0 || strcmp(t, MSG_STATUS) == 0 || strcmp(t, MSG_WELCOME) == 0)
		return TK_GOSSIP;
	if (strcmp(t, MSG_HEARTBEAT) == 0 || strcmp(t, MSG_HEARTBEAT_RSP) == 0)
		return TK_HEARTBEAT;
	if (strcmp(t, MSG_RELAY) == 0)
		return TK_RELAY;
	return TK_OTHER;
}

void
node_count_traffic(struct traffic by[TK_N], const char *t, size_t len)
{
	enum traffic_kind k = node_traffic_kind(t);

	by[k].msgs++;
	by[k].bytes += len;
}

void
node_init(struct node *n, const struct akc_config *cfg, uint64_t uid, msec_t now)
{
	int i;

	memset(n, 0, sizeof(*n));
	n->cfg = cfg;
	n->self.uid = uid;
	snprintf(n->self.name, sizeof(n->self.name), "%s", cfg->name);
	snprintf(n->self.address, sizeof(n->self.address), "%s", cfg->address);
	for (i = 0; i < cfg->nroles; i++) {
		if (i > 0)
			strcat(n->self.roles, ",");
		strcat(n->self.roles, cfg->roles[i]);
	}
	n->self.status = MS_JOINING;
	n->self.up_number = UPNUM_NONE;
	mstate_init(&n->st);
	n->rng = uid ^ 0x9e3779b97f4a7c15ULL;
	if (n->rng == 0)
		n->rng = 1;
	n->phic.threshold = cfg->threshold;
	n->phic.heartbeat_interval = cfg->heartbeat_interval;
	n->phic.acceptable_pause = cfg->acceptable_heartbeat_pause;
	n->phic.min_std_deviation = cfg->min_std_deviation;
	n->phic.max_samples = cfg->max_sample_size;
	n->phase = PHASE_IDLE;
	n->next_gossip = now + jitter(n, cfg->gossip_interval);
	n->next_hb = now;
	n->push_at = -1;
	n->push_credit_at = -1;
	n->join_next = -1;
	n->self_seed = config_seed_index(cfg, cfg->address);
	n->ack_at = -1;
	n->minority_since = -1;
	for (i = 0; i < CONF_MAX_SEEDS; i++)
		n->seedans[i].nack_at = -1;
	n->exit_at = -1;
}

void
node_free(struct node *n)
{
	int i;

	for (i = 0; i < n->nmon; i++)
		phi_free(&n->mon[i].fd);
	free(n->mon);
	for (i = 0; i < n->nout; i++)
		cJSON_Delete(n->out[i].msg);
	free(n->out);
	free(n->memo);
	free(n->resets);
	free(n->seen_n);
	cJSON_Delete(n->keyq.results);
	for (i = 0; i < n->nkeys_in; i++)
		cJSON_Delete(n->keys_in[i]);
	free(n->keys_in);
	free(n->hbseen);
	for (i = 0; i < n->nrelay; i++)
		cJSON_Delete(n->relay_in[i]);
	free(n->relay_in);
	mstate_free(&n->st);
	u64set_free(&n->exiting_confirmed);
	u64set_free(&n->exit_forced);
}

static void update_ring(struct node *, msec_t);

/* Bookkeeping after st changed: new local seq, ring, eager push. */
static void
changed(struct node *n, msec_t now)
{
	n->state_seq++;
	update_ring(n, now);
	node_memory_update(n);
	if (n->push_at < 0)
		n->push_at = now + 2;
}

/* A local change: a new version that only we have seen. */
static void
local_change(struct node *n, msec_t now)
{
	vclock_inc(&n->st.vc, n->self.uid);
	u64set_clear(&n->st.seen);
	u64set_add(&n->st.seen, n->self.uid);
	changed(n, now);
}

static void
begin_shutdown(struct node *n, int code, msec_t now, const char *why)
{
	if (n->phase == PHASE_SHUTDOWN)
		return;
	log_msg(code == EXIT_DAEMON_DOWNED ? LOG_WARNING : LOG_INFO, "%s: shutting down", why);
	n->phase = PHASE_SHUTDOWN;
	n->state_seq++;		/* so the shell tells the node's other daemons */
	n->exit_code = code;
	n->exit_at = now + EXIT_GRACE;
}

/* ---- joining ---- */

static void
join_self(struct node *n, msec_t now)
{
	log_notice("forming a new cluster as its first member");
	mstate_free(&n->st);
	mstate_init(&n->st);
	n->self.status = MS_JOINING;
	mstate_add(&n->st, &n->self);
	n->phase = PHASE_MEMBER;
	n->join_next = -1;
	local_change(n, now);
}

static void
send_init_joins(struct node *n)
{
	int i;

	for (i = 0; i < n->cfg->nseeds; i++) {
		if (strcmp(n->cfg->seeds[i], n->self.address) == 0)
			continue;
		send_to(n, n->cfg->seeds[i], envelope(n, MSG_INIT_JOIN, 0));
	}
	/* and the members we remember: one of them may run the cluster still */
	for (i = 0; i < n->nmemo; i++) {
		if (strcmp(n->memo[i].address, n->self.address) == 0 ||
		    config_seed_index(n->cfg, n->memo[i].address) >= 0)
			continue;
		send_to(n, n->memo[i].address, envelope(n, MSG_INIT_JOIN, 0));
	}
}

static void
send_join(struct node *n, const char *address)
{
	cJSON *m = envelope(n, MSG_JOIN, 0);

	cJSON_AddItemToObject(m, "member", member_to_json(&n->self));
	json_add_u64(m, "nonce", n->join_nonce);
	send_to(n, address, m);
	snprintf(n->join_target, sizeof(n->join_target), "%s", address);
}

/*
 * Forming a cluster, the rule of Akka Management's Cluster Bootstrap made
 * strict: a seed forms a new cluster only when a quorum of the seed nodes
 * (required-contact-points, by default a majority, ourselves included)
 * answered our init-join lately that they are not members, none answered
 * that it is one, and that quorum names us as the one to form it: each seed
 * names the first (in seed-list order) of the seeds it hears from, itself
 * included. Then every seed of the quorum joins us. A node cut off from the
 * others hears nobody and keeps trying forever; it never forms a second
 * cluster alone, whatever it forgot in a restart. Two quorums always share
 * a seed, and one seed names one candidate at a time (see memberd(8),
 * FORMING, for the rare race that remains and why singletond's guard makes
 * it harmless).
 */
static msec_t
form_window(const struct node *n)
{
	return n->join_backoff * 4 > 2000 ? n->join_backoff * 4 : 2000;
}

static int
answered_lately(const struct node *n, int i, msec_t now)
{
	return n->seedans[i].nack_at >= 0 && now - n->seedans[i].nack_at <= form_window(n);
}

/* The seed this node names to form the cluster: the first it hears from, itself included. */
static int
self_ready(const struct node *n, msec_t now)
{
	int have, of;

	return node_memory_ready(n, now, form_window(n), &have, &of);
}

static int
form_candidate(const struct node *n, msec_t now)
{
	int i;

	for (i = 0; i < n->cfg->nseeds; i++)
		if ((i == n->self_seed && self_ready(n, now)) ||
		    (answered_lately(n, i, now) && n->seedans[i].ready))
			return i;
	return -1;
}

/* 1 when this node may form a new cluster now; *votes and *heard say how close it is. */
static int
may_form(const struct node *n, msec_t now, int *votes, int *heard)
{
	int i, others = 0;

	*votes = *heard = 0;
	if (n->self_seed < 0 || n->join_only[0] != '\0')
		return 0;
	if (n->ack_at >= 0 && now - n->ack_at <= form_window(n))
		return 0;	/* a cluster exists: join it, however long that takes */
	for (i = 0; i < n->cfg->nseeds; i++) {
		if (i == n->self_seed)
			continue;
		others++;
		if (answered_lately(n, i, now)) {
			(*heard)++;
			if (n->seedans[i].cand == n->self_seed)
				(*votes)++;
		}
	}
	if (form_candidate(n, now) == n->self_seed)
		(*votes)++;
	if (*votes < config_form_quorum(n->cfg) || !self_ready(n, now))
		return 0;
	/* every seed answered, or the others had seed-node-timeout to say they are members */
	return *heard == others || now - n->join_started >= n->cfg->seed_node_timeout;
}

/* Says, now and then, what a joining node waits for: it never waits in silence. */
static void
join_say(struct node *n, msec_t now)
{
	int votes, heard, have, of;

	if (now - n->join_started < 10000 || now - n->join_said < 10000)
		return;
	n->join_said = now;
	if (n->join_refused[0] != '\0') {
		log_warnx("still joining: the last join was refused: %s", n->join_refused);
		return;
	}
	if (n->join_only[0] != '\0') {
		log_warnx("still joining through %s: no welcome yet (if it never answers, it may "
		    "use another key-file or [cluster] name)", n->join_only);
		return;
	}
	if (n->ack_at >= 0 && now - n->ack_at <= form_window(n)) {
		log_warnx("still joining: a member answered, no welcome yet (waiting for the "
		    "cluster to remove this node's previous incarnation?)");
		return;
	}
	may_form(n, now, &votes, &heard);
	if (!node_memory_ready(n, now, form_window(n), &have, &of))
		log_warnx("no cluster found: %d of the %d members this node remembers answer as "
		    "non-members, a majority needed to form a new one (the others may run the "
		    "cluster behind a cut); still trying", have, of);
	else if (n->self_seed < 0)
		log_warnx("no seed node answers as a member of a cluster (%d seeds; a node "
		    "that is not a seed never forms one; seeds that never answer may use another "
		    "key-file or [cluster] name): still trying", n->cfg->nseeds);
	else
		log_warnx("no cluster found and none formed: %d of %d other seeds answer, %d "
		    "name this node to form one, %d needed (required-contact-points; seeds that never "
		    "answer may use another key-file or [cluster] name); still trying",
		    heard, n->cfg->nseeds - 1, votes, config_form_quorum(n->cfg));
}

void
node_start(struct node *n, msec_t now)
{
	if (n->cfg->nseeds == 0)
		return;
	if (n->self_seed >= 0 && n->cfg->nseeds == 1 && n->nmemo <= 1) {
		join_self(n, now);	/* the only seed, alone before: nobody else could form it */
		return;
	}
	n->phase = PHASE_JOINING;
	n->join_backoff = n->cfg->gossip_interval < 500 ? n->cfg->gossip_interval : 500;
	n->join_next = now;
	n->join_started = n->join_said = now;
	n->join_refused[0] = '\0';
}

static void
join_tick(struct node *n, msec_t now)
{
	int votes, heard;

	if (n->phase != PHASE_JOINING || n->join_next < 0 || now < n->join_next)
		return;
	if (n->join_only[0] != '\0') {
		/* its ack carries the nonce our join must show */
		n->join_target[0] = '\0';
		send_to(n, n->join_only, envelope(n, MSG_INIT_JOIN, 0));
	} else if (may_form(n, now, &votes, &heard)) {
		join_self(n, now);
		return;
	} else {
		n->join_target[0] = '\0';
		send_init_joins(n);
	}
	join_say(n, now);
	n->join_next = now + jitter(n, n->join_backoff);
	/*
	 * A seed asks at a steady pace: its answers are votes, and a vote
	 * counts only while it is recent. Other nodes back off.
	 */
	if (n->self_seed < 0 || n->join_only[0] != '\0') {
		n->join_backoff *= 2;
		if (n->join_backoff > n->cfg->join_retry_max)
			n->join_backoff = n->cfg->join_retry_max;
	}
	if (n->join_next - now > 2000 || n->join_target[0] == '\0')
		log_debug("looking for a cluster (next try in %lldms)",
		    (long long)(n->join_next - now));
}

int
node_cmd_join(struct node *n, const char *address, msec_t now, char *err, size_t len)
{
	if (n->phase == PHASE_MEMBER) {
		snprintf(err, len, "this node is already a member of a cluster");
		return -1;
	}
	if (n->phase == PHASE_SHUTDOWN) {
		snprintf(err, len, "this node is shutting down");
		return -1;
	}
	if (strcmp(address, n->self.address) == 0) {
		join_self(n, now);
		return 0;
	}
	snprintf(n->join_only, sizeof(n->join_only), "%s", address);
	n->phase = PHASE_JOINING;
	n->join_backoff = 500;
	n->join_next = now;
	n->join_started = n->join_said = now;
	n->join_refused[0] = '\0';
	return 0;
}

/* ---- heartbeat ring ---- */

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
		if ((n->mon = realloc(n->mon, (size_t)(n->nmon + 1) * sizeof(*n->mon))) == NULL)
			fatal("realloc");
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
static void
update_ring(struct node *n, msec_t now)
{
	uint64_t *ring;
	int i, k, self = -1, count = 0, taken = 0;

	for (i = 0; i < n->nmon; i++)
		n->mon[i].keep = 0;
	if (n->phase == PHASE_MEMBER && n->st.n > 1) {
		if ((ring = malloc((size_t)n->st.n * sizeof(*ring))) == NULL)
			fatal("malloc");
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
static int
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
static void
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

static void
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

/* ---- gossip ---- */

static int
valid_target(const struct node *n, const struct member *m)
{
	return m->uid != n->self.uid &&
	    reach_observer_says(&n->st.reach, n->self.uid, m->uid) == RS_REACHABLE;
}

/* Picks up to k distinct random targets, preferring those that have not seen our version. */
static int
pick_targets(struct node *n, int *out, int k, int unseen_only)
{
	int *cand, nc = 0, i, picked = 0, pass;

	if ((cand = malloc((size_t)(n->st.n + 1) * sizeof(*cand))) == NULL)
		fatal("malloc");
	for (pass = 0; pass < 2 && picked < k; pass++) {
		nc = 0;
		for (i = 0; i < n->st.n; i++) {
			const struct member *m = &n->st.m[i];
			int seen = u64set_has(&n->st.seen, m->uid), j, dup = 0;

			if (!valid_target(n, m) || (pass == 0 && seen) || (pass == 1 && !seen))
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
	return picked;
}

static void
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
			send_gossip(n, &n->st.m[t]);
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
 *    nodes, cubic, which akc-sim measured as 3.2 GB for a 200-node start.
 * Weak point: at a few thousand members a node pushes about once a
 * second, so a version then spreads about as fast as gossip rounds do;
 * the periodic rounds remain the safety net for lost pushes.
 */
/* Pays cost member records from the budget; 0 if it cannot yet (nothing paid). */
static int
push_pay(struct node *n, double cost, msec_t now)
{
	double burst = 4.0 * PUSH_FANOUT * n->st.n, cap = burst > PUSH_BUDGET / 2 ? burst : PUSH_BUDGET / 2;

	if (n->push_credit_at < 0)
		n->push_credit = cap;
	else
		n->push_credit += (double)(now - n->push_credit_at) * PUSH_BUDGET / 1000;
	if (n->push_credit > cap)
		n->push_credit = cap;
	n->push_credit_at = now;
	if (n->push_credit < cost)
		return 0;
	n->push_credit -= cost;
	return 1;
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
		send_gossip(n, to);
		return;
	}
	n->gossip_deferred++;
	if (n->push_at < 0)
		n->push_at = now + 2;
}

static void
push_tick(struct node *n, msec_t now)
{
	int t[PUSH_FANOUT], k, i, li;

	if (n->push_at < 0 || now < n->push_at)
		return;
	n->push_at = -1;
	if (n->phase != PHASE_MEMBER)
		return;
	k = pick_targets(n, t, PUSH_FANOUT, 1);
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
	if (k > 0 && !push_afford(n, k, now))
		return;		/* push_at says when */
	n->pushed_seq = n->state_seq;
	for (i = 0; i < k; i++)
		send_gossip(n, &n->st.m[t[i]]);
	li = mstate_leader_for(&n->st, NULL, n->self.uid);
	if (li >= 0 && valid_target(n, &n->st.m[li])) {
		for (i = 0; i < k; i++)
			if (t[i] == li)
				break;
		if (i == k)
			send_status(n, &n->st.m[li]);
	}
}

/* ---- receiving ---- */

struct from {
	const char *name, *address;
	uint64_t uid;
	int mi;		/* index in st, or -1 */
};

static int
parse_from(struct node *n, const cJSON *msg, struct from *f)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(msg, "from");

	f->name = json_str(o, "node");
	f->address = json_str(o, "address");
	if (f->name == NULL || f->address == NULL || json_u64(o, "uid", &f->uid) < 0 ||
	    strlen(f->name) >= CONF_NAME_MAX || strlen(f->address) >= CONF_ADDR_MAX ||
	    strncmp(f->address, "tcp://", 6) != 0 || f->uid == 0)
		return -1;
	f->mi = mstate_find(&n->st, f->uid);
	return 0;
}

static void
self_removed(struct node *n, msec_t now)
{
	int i = mstate_find(&n->st, n->self.uid);
	enum mstatus was = i >= 0 ? n->st.m[i].status : n->self.status;

	if (n->phase == PHASE_SHUTDOWN)
		return;
	if (i >= 0) {
		mstate_remove(&n->st, n->self.uid, n->wall);
		changed(n, now);
	}
	if (was == MS_EXITING || was == MS_LEAVING)
		begin_shutdown(n, EXIT_DAEMON_OK, now, "this node left the cluster and was removed");
	else
		begin_shutdown(n, EXIT_DAEMON_DOWNED, now, "this node was removed from the cluster");
}

/* Whether a local service still holds our exit confirmation. */
static int
exit_held(const struct node *n, msec_t now)
{
	int i;

	if (now - n->exiting_since > EXIT_HOLD_MAX)
		return 0;
	for (i = 0; i < n->nholds; i++)
		if (n->holds[i].until > now)
			return 1;
	return 0;
}

/*
 * Tells every member we are Exiting and go; repeated until we are removed,
 * since a message may be lost or reach a member before it sees us Exiting.
 */
static void
send_exiting(struct node *n, msec_t now)
{
	int j;

	for (j = 0; j < n->st.n; j++)
		if (n->st.m[j].uid != n->self.uid) {
			cJSON *m = envelope(n, MSG_EXITING, n->st.m[j].uid);

			if (n->exit_forced_self)
				cJSON_AddTrueToObject(m, "forced");
			send_to(n, n->st.m[j].address, m);
		}
	n->exit_resend_at = now + EXIT_RESEND(n);
}

/*
 * Exiting: once no local service (a singleton handing over) holds us back,
 * tell every member we are going; the leader removes us on that.
 */
static void
check_exit_holds(struct node *n, msec_t now)
{
	int j;

	if (n->phase != PHASE_MEMBER || n->self.status != MS_EXITING ||
	    n->exiting_since == 0 || n->exit_confirmed_at != 0)
		return;
	if (exit_held(n, now)) {
		log_info("this node is Exiting: a local service holds the exit (hand-over)");
		return;
	}
	/*
	 * Past the cap while a service still holds it, or a holder died holding
	 * it: say so, and the tombstone will not tell singletons that it handed
	 * over.
	 */
	for (j = 0; j < n->nholds; j++)
		if (n->holds[j].until > now)
			n->exit_forced_self = 1;
	if (n->exit_forced_self)
		log_warnx("this node is Exiting: a local service held the exit for %d s; going anyway",
		    EXIT_HOLD_MAX / 1000);
	else if (n->hold_orphaned) {
		n->exit_forced_self = 1;
		log_warnx("this node is Exiting: going, though a service died holding the exit");
	} else
		log_info("this node is Exiting: waiting to be removed");
	n->exit_confirmed_at = now;
	send_exiting(n, now);
}

void
node_hold_exit(struct node *n, const char *svc, msec_t until, int pid, msec_t now)
{
	int i;

	for (i = 0; i < n->nholds; i++)
		if (strcmp(n->holds[i].svc, svc) == 0)
			break;
	if (i == n->nholds) {
		if (until <= now)
			goto check;
		if (n->nholds == RELAY_HOLDS_MAX) {
			for (i = 0; i < n->nholds && n->holds[i].until > now; i++)
				;
			if (i == n->nholds)
				i = 0;	/* full of live holds: the first one yields */
		} else
			n->nholds++;
		snprintf(n->holds[i].svc, sizeof(n->holds[i].svc), "%s", svc);
	}
	n->holds[i].until = until;
	n->holds[i].pid = until > now ? pid : 0;
check:
	check_exit_holds(n, now);
}

void
node_hold_orphaned(struct node *n, int i, msec_t now)
{
	log_warnx("%s (pid %d) died holding this node's exit: its removal will not count as a "
	    "clean hand-over", n->holds[i].svc, n->holds[i].pid);
	n->hold_orphaned = 1;
	n->holds[i].until = 0;
	n->holds[i].pid = 0;
	check_exit_holds(n, now);
}

int
relay_svc_valid(const char *svc)
{
	size_t i, len = strlen(svc);

	if (len == 0 || len >= RELAY_SVC_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)svc[i]) && strchr("._-", svc[i]) == NULL)
			return 0;
	return 1;
}

int
node_relay(struct node *n, uint64_t to, const char *svc, const cJSON *body)
{
	int i = mstate_find(&n->st, to);
	cJSON *m;

	if (n->phase != PHASE_MEMBER || i < 0 || !relay_svc_valid(svc) || !cJSON_IsObject(body))
		return -1;
	m = envelope(n, MSG_RELAY, to);
	cJSON_AddStringToObject(m, "svc", svc);
	cJSON_AddItemToObject(m, "body", cJSON_Duplicate(body, 1));
	if (to == n->self.uid) {
		deliver(n, m);
		return 0;
	}
	send_to(n, n->st.m[i].address, m);
	n->relayed_out++;
	return 0;
}

cJSON **
node_relays(struct node *n, int *count)
{
	cJSON **r = n->relay_in;

	*count = n->nrelay;
	n->relay_in = NULL;
	n->nrelay = n->relaycap = 0;
	return r;
}

/* After st changed, react to our own status: Down and Exiting end the node. */
static void
check_self(struct node *n, msec_t now)
{
	int i = mstate_find(&n->st, n->self.uid), j;

	if (n->phase != PHASE_MEMBER)
		return;
	if (i < 0) {
		self_removed(n, now);
		return;
	}
	n->self.status = n->st.m[i].status;
	n->self.up_number = n->st.m[i].up_number;
	if (n->self.status == MS_DOWN) {
		int t[5], k;

		/*
		 * A downed node stops pushing once it shuts down: hand the version
		 * that downed it (it may be our own akc-down) to a few members
		 * first, then tell everyone we are going, so they need not wait
		 * for the detector.
		 */
		if (n->self.status == MS_DOWN)
			for (k = pick_targets(n, t, 5, 0), j = 0; j < k; j++)
				send_gossip(n, &n->st.m[t[j]]);
		/*
		 * forced: a member that still sees us Exiting must not take this
		 * for a clean exit (the tombstone's exited) when we were downed
		 */
		n->exit_forced_self = 1;
		send_exiting(n, now);
	}
	if (n->self.status == MS_DOWN)
		begin_shutdown(n, EXIT_DAEMON_DOWNED, now, "this node was downed");
	else if (n->self.status == MS_EXITING && n->exiting_since == 0) {
		n->exiting_since = now;
		check_exit_holds(n, now);
	}
}

static void
on_gossip(struct node *n, const cJSON *msg, struct from *f, msec_t now)
{
	struct mstate remote, merged;
	enum vc_order cmp;
	int remote_had_self_seen;

	mstate_init(&remote);
	if (mstate_from_json(cJSON_GetObjectItemCaseSensitive(msg, "state"), &remote) < 0) {
		n->dropped.malformed++;
		return;
	}
	if (mstate_find(&remote, n->self.uid) < 0) {
		if (mstate_is_tombstoned(&remote, n->self.uid) && f->mi >= 0)
			self_removed(n, now);
		mstate_free(&remote);
		return;
	}
	if (f->mi < 0) {
		/* a gossip from a member we do not know yet: join it by merging */
		if (mstate_is_tombstoned(&n->st, f->uid)) {
			send_to(n, f->address, envelope(n, MSG_REMOVED, f->uid));
			n->dropped.stale++;
			mstate_free(&remote);
			return;
		}
	} else if (reach_observer_says(&n->st.reach, n->self.uid, f->uid) != RS_REACHABLE) {
		n->dropped.stale++;
		mstate_free(&remote);
		return;
	}
	remote_had_self_seen = u64set_has(&remote.seen, n->self.uid);
	cmp = vclock_compare(&remote.vc, &n->st.vc);
	switch (cmp) {
	case VC_SAME: {
		int i, grew = 0, lacks = 0;

		for (i = 0; i < remote.seen.n; i++)
			if (!u64set_has(&n->st.seen, remote.seen.v[i])) {
				u64set_add(&n->st.seen, remote.seen.v[i]);
				grew = 1;
			}
		for (i = 0; i < n->st.seen.n; i++)
			if (!u64set_has(&remote.seen, n->st.seen.v[i]))
				lacks = 1;
		if (grew) {
			n->state_seq++;
		}
		if (lacks && f->mi >= 0)
			send_status(n, &n->st.m[f->mi]);
		break;
	}
	case VC_BEFORE:
		/* we are newer: the sender needs our state */
		if (f->mi >= 0)
			reply_gossip(n, &n->st.m[f->mi], now);
		break;
	case VC_AFTER:
		mstate_free(&n->st);
		n->st = remote;
		mstate_init(&remote);
		u64set_add(&n->st.seen, n->self.uid);
		changed(n, now);
		if (!remote_had_self_seen && (f->mi = mstate_find(&n->st, f->uid)) >= 0)
			send_status(n, &n->st.m[f->mi]);
		check_self(n, now);
		break;
	case VC_CONCURRENT:
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
	mstate_free(&remote);
}

static void
on_status(struct node *n, const cJSON *msg, const struct from *f, msec_t now)
{
	struct vclock vc = { 0 };
	struct u64set seen = { 0 };
	int i, grew = 0, lacks = 0;

	if (cJSON_GetObjectItemCaseSensitive(msg, "vh") != NULL) {
		uint64_t vh, sh;

		if (json_u64(msg, "vh", &vh) < 0 || json_u64(msg, "sh", &sh) < 0) {
			n->dropped.malformed++;
			goto out;
		}
		if (f->mi < 0) {
			n->dropped.not_member++;
			goto out;
		}
		digests(n);
		if (vh != n->vhash || sh != n->shash)
			send_status(n, &n->st.m[f->mi]);
		goto out;
	}
	if (vclock_from_json(cJSON_GetObjectItemCaseSensitive(msg, "version"), &vc) < 0 ||
	    u64set_from_json(cJSON_GetObjectItemCaseSensitive(msg, "seen"), &seen, 100000) < 0) {
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
		for (i = 0; i < seen.n; i++)
			if (mstate_find(&n->st, seen.v[i]) >= 0 && !u64set_has(&n->st.seen, seen.v[i])) {
				u64set_add(&n->st.seen, seen.v[i]);
				grew = 1;
			}
		for (i = 0; i < n->st.seen.n; i++)
			if (!u64set_has(&seen, n->st.seen.v[i]))
				lacks = 1;
		if (grew)
			n->state_seq++;
		if (lacks)
			send_status(n, &n->st.m[f->mi]);
		break;
	case VC_BEFORE:
	case VC_CONCURRENT:
		reply_gossip(n, &n->st.m[f->mi], now);
		break;
	case VC_AFTER:
		/* they are ahead: our status makes them send their state */
		send_status(n, &n->st.m[f->mi]);
		break;
	}
out:
	vclock_free(&vc);
	u64set_free(&seen);
}

#define NONCE_TTL	30000	/* ms a join may follow the ack that gave its nonce */

/* Gives uid a nonce for its join (in our init-join-ack). */
static uint64_t
give_nonce(struct node *n, uint64_t uid, msec_t now)
{
	int i, old = 0;

	for (i = 0; i < JOIN_NONCES; i++) {
		if (n->nonces[i].uid == uid) {
			old = i;
			break;
		}
		if (n->nonces[i].at < n->nonces[old].at)
			old = i;
	}
	n->nonces[old].uid = uid;
	n->nonces[old].nonce = (rnd(n) & 0x1fffffffffffffULL) | 1;
	n->nonces[old].at = now;
	return n->nonces[old].nonce;
}

/* Whether msg's nonce is the one we gave uid lately; it is good once. */
static int
take_nonce(struct node *n, const cJSON *msg, uint64_t uid, msec_t now)
{
	uint64_t nonce;
	int i;

	if (json_u64(msg, "nonce", &nonce) < 0 || nonce == 0)
		return 0;
	for (i = 0; i < JOIN_NONCES; i++)
		if (n->nonces[i].uid == uid && n->nonces[i].nonce == nonce &&
		    now - n->nonces[i].at <= NONCE_TTL) {
			memset(&n->nonces[i], 0, sizeof(n->nonces[i]));
			return 1;
		}
	return 0;
}

static void
on_join(struct node *n, const cJSON *msg, const struct from *f, msec_t now)
{
	struct member m;
	int i, j;
	cJSON *w;

	if (member_from_json(cJSON_GetObjectItemCaseSensitive(msg, "member"), &m) < 0 ||
	    m.uid != f->uid || strcmp(m.address, f->address) != 0 || strcmp(m.name, f->name) != 0) {
		n->dropped.malformed++;
		return;
	}
	if (n->phase != PHASE_MEMBER || n->self.status == MS_DOWN || n->self.status == MS_EXITING)
		return;
	if (!take_nonce(n, msg, m.uid, now)) {
		n->dropped.replayed++;	/* no ack of ours asked for this join */
		return;
	}
	if (mstate_is_tombstoned(&n->st, m.uid)) {
		n->dropped.stale++;
		return;
	}
	if ((i = mstate_find(&n->st, m.uid)) < 0) {
		/* a new incarnation of a known address: down the old one first */
		if ((j = mstate_find_address(&n->st, m.address)) >= 0) {
			if (n->st.m[j].status != MS_DOWN) {
				log_notice("%s (%s) restarted with a new uid: downing the old incarnation",
				    n->st.m[j].name, m.address);
				reach_set(&n->st.reach, n->self.uid, n->st.m[j].uid, RS_TERMINATED);
				n->st.m[j].status = MS_DOWN;
				u64set_del(&n->st.seen, n->st.m[j].uid);
				local_change(n, now);
			}
			return;
		}
		if ((j = mstate_find_name(&n->st, m.name)) >= 0 && n->st.m[j].status != MS_DOWN) {
			w = envelope(n, MSG_JOIN_REFUSED, m.uid);
			cJSON_AddStringToObject(w, "reason", "a member with this name already exists");
			send_to(n, m.address, w);
			return;
		}
		m.status = MS_JOINING;
		m.up_number = UPNUM_NONE;
		mstate_add(&n->st, &m);
		log_info("%s (%s) is joining", m.name, m.address);
		local_change(n, now);
	}
	w = envelope(n, MSG_WELCOME, m.uid);
	cJSON_AddItemToObject(w, "state", mstate_to_json(&n->st));
	send_to(n, m.address, w);
}

static void
on_welcome(struct node *n, const cJSON *msg, const struct from *f, msec_t now)
{
	struct mstate st;

	if (n->phase != PHASE_JOINING)
		return;
	/*
	 * A welcome is addressed to our uid, so it answers a join of this
	 * incarnation; the sender's advertised address may differ from the
	 * one we wrote to (akc-join localhost:... for 127.0.0.1:...).
	 */
	if (n->join_target[0] == '\0') {
		n->dropped.stale++;
		return;
	}
	mstate_init(&st);
	if (mstate_from_json(cJSON_GetObjectItemCaseSensitive(msg, "state"), &st) < 0) {
		n->dropped.malformed++;
		return;
	}
	if (mstate_find(&st, n->self.uid) < 0 || mstate_find(&st, f->uid) < 0) {
		n->dropped.malformed++;
		mstate_free(&st);
		return;
	}
	mstate_free(&n->st);
	n->st = st;
	u64set_add(&n->st.seen, n->self.uid);
	n->phase = PHASE_MEMBER;
	n->join_next = -1;
	n->join_only[0] = '\0';
	log_info("joined the cluster through %s (%s)", f->name, f->address);
	changed(n, now);
	n->next_hb = now;
}

/*
 * Two clusters can exist after all: an operator formed one by hand, or the
 * seeds were configured apart. The one without the majority of the members
 * it remembers runs no singleton (memory.c), and it dissolves: while it has
 * no majority, each of its members asks, every few seconds, the remembered
 * members that are not in its view; one that answers as a member of a
 * cluster holding its majority makes this node shut down as downed (exit
 * 3), so that its supervisor restarts it and it joins that cluster.
 */
#define PROBE_AFTER	5000	/* without the majority this long */
#define PROBE_EVERY	2000

static int
in_view(const struct node *n, const char *address)
{
	int i;

	for (i = 0; i < n->st.n; i++)
		if (strcmp(n->st.m[i].address, address) == 0 && n->st.m[i].status != MS_DOWN)
			return 1;
	return 0;
}

static void
probe_tick(struct node *n, msec_t now)
{
	int have, of, k;

	if (n->phase != PHASE_MEMBER || node_majority(n, &have, &of)) {
		n->minority_since = -1;
		return;
	}
	if (n->minority_since < 0) {
		n->minority_since = now;
		n->next_probe = now + PROBE_AFTER;
	}
	if (now < n->next_probe)
		return;
	n->next_probe = now + PROBE_EVERY;
	for (k = 0; k < n->nmemo; k++)
		if (strcmp(n->memo[k].address, n->self.address) != 0 &&
		    !in_view(n, n->memo[k].address))
			send_to(n, n->memo[k].address, envelope(n, MSG_INIT_JOIN, 0));
}

static void
on_probe_ack(struct node *n, const struct from *f, const cJSON *msg, msec_t now)
{
	char why[CONF_ADDR_MAX + 160];

	if (n->minority_since < 0 || in_view(n, f->address) ||
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "majority")))
		return;
	snprintf(why, sizeof(why), "%s (%s) is a member of a cluster that holds the majority of "
	    "this node's: leaving this one to join it", f->name, f->address);
	begin_shutdown(n, EXIT_DAEMON_DOWNED, now, why);
}

static void
on_init_join(struct node *n, const struct from *f, msec_t now)
{
	int ok = n->phase == PHASE_MEMBER && n->self.status != MS_DOWN &&
	    n->self.status != MS_EXITING;
	cJSON *m = envelope(n, ok ? MSG_INIT_JOIN_ACK : MSG_INIT_JOIN_NACK, f->uid);
	int cand;

	/* not a member: our vote for who should form the cluster, if we are a seed */
	if (!ok && n->phase == PHASE_JOINING && n->self_seed >= 0 &&
	    !(n->ack_at >= 0 && now - n->ack_at <= form_window(n)) &&
	    (cand = form_candidate(n, now)) >= 0)
		cJSON_AddStringToObject(m, "cand", n->cfg->seeds[cand]);
	if (!ok && n->phase == PHASE_JOINING && n->self_seed >= 0)
		cJSON_AddBoolToObject(m, "ready", self_ready(n, now));
	if (ok) {
		int have, of;

		cJSON_AddBoolToObject(m, "majority", node_majority(n, &have, &of));
		json_add_u64(m, "nonce", give_nonce(n, f->uid, now));
	}
	send_to(n, f->address, m);
}

static void
on_init_join_reply(struct node *n, const struct from *f, const cJSON *msg, int ack, msec_t now)
{
	const char *cand;
	int i;

	if (ack && n->phase == PHASE_MEMBER) {
		on_probe_ack(n, f, msg, now);
		return;
	}
	/* akc-join ADDRESS: only its ack counts (it may call itself by another name) */
	if (n->phase != PHASE_JOINING || (n->join_only[0] != '\0' && !ack))
		return;
	if (ack) {
		if (json_u64(msg, "nonce", &n->join_nonce) < 0) {
			n->dropped.malformed++;
			return;
		}
		/*
		 * A cluster exists: we must never form another one while it
		 * answers, however long the join takes (the node that acked
		 * may first have to remove our previous incarnation).
		 */
		n->ack_at = now;
		if (n->join_target[0] == '\0') {
			send_join(n, f->address);
			/* a welcome should follow quickly; retry from scratch if not */
			n->join_next = now + n->join_backoff;
		}
		return;
	}
	node_memory_nack(n, f->address, now);
	if ((i = config_seed_index(n->cfg, f->address)) < 0 || i == n->self_seed)
		return;		/* only the seeds vote */
	n->seedans[i].nack_at = now;
	cand = json_str(msg, "cand");
	n->seedans[i].cand = cand != NULL ? config_seed_index(n->cfg, cand) : -1;
	n->seedans[i].ready = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ready"));
}

static void
on_exiting(struct node *n, const struct from *f, int forced, msec_t now)
{
	if (f->mi < 0)
		return;
	if (n->st.m[f->mi].status == MS_EXITING) {
		if (u64set_has(&n->exiting_confirmed, f->uid))
			return;		/* told again */
		u64set_add(&n->exiting_confirmed, f->uid);
		if (forced)
			u64set_add(&n->exit_forced, f->uid);
		n->state_seq++;
	} else if (n->st.m[f->mi].status == MS_DOWN &&
	    reach_observer_says(&n->st.reach, n->self.uid, f->uid) != RS_TERMINATED) {
		reach_set(&n->st.reach, n->self.uid, f->uid, RS_TERMINATED);
		local_change(n, now);
	}
}

uint64_t
node_keys_start(struct node *n, const char *op, const char *key, cJSON *local, msec_t now)
{
	int i;

	cJSON_Delete(n->keyq.results);
	n->keyq.id = (rnd(n) & 0x1fffffffffffffULL) | 1;
	n->keyq.started = now;
	n->keyq.results = cJSON_CreateArray();
	n->keyq.expected = 1;
	cJSON_AddItemToArray(n->keyq.results, local);
	for (i = 0; i < n->st.n; i++) {
		const struct member *m = &n->st.m[i];
		cJSON *w;

		if (m->uid == n->self.uid || m->status == MS_DOWN || m->status == MS_REMOVED)
			continue;
		w = envelope(n, MSG_KEYS, m->uid);
		cJSON_AddStringToObject(w, "op", op);
		if (key != NULL)
			cJSON_AddStringToObject(w, "key", key);
		json_add_u64(w, "q", n->keyq.id);
		send_to(n, m->address, w);
		n->keyq.expected++;
	}
	return n->keyq.id;
}

cJSON *
node_hello(struct node *n)
{
	return envelope(n, MSG_HELLO, 0);
}

cJSON **
node_keys_requests(struct node *n, int *count)
{
	cJSON **r = n->keys_in;

	*count = n->nkeys_in;
	n->keys_in = NULL;
	n->nkeys_in = n->keys_incap = 0;
	return r;
}

void
node_keys_answer(struct node *n, const cJSON *req, int ok, const char *err, cJSON *keys)
{
	struct from f;
	uint64_t q = 0;
	cJSON *w;

	if (parse_from(n, req, &f) < 0 || json_u64(req, "q", &q) < 0) {
		cJSON_Delete(keys);
		return;
	}
	w = envelope(n, MSG_KEYS_RSP, f.uid);
	json_add_u64(w, "q", q);
	cJSON_AddBoolToObject(w, "ok", ok);
	if (err != NULL)
		cJSON_AddStringToObject(w, "error", err);
	cJSON_AddItemToObject(w, "keys", keys);
	send_to(n, f.address, w);
}

void
node_receive_foreign(struct node *n, const cJSON *msg, const char *cluster, msec_t now)
{
	struct from f;
	const char *t;
	char why[256];
	cJSON *w;
	long v;
	int i;

	(void)now;
	n->dropped.cluster++;
	if (!cJSON_IsObject(msg) || json_int(msg, "v", 0, 1000000, &v) < 0 ||
	    v != PROTO_VERSION || (t = json_str(msg, "t")) == NULL || parse_from(n, msg, &f) < 0)
		return;
	if (strcmp(t, MSG_JOIN) != 0 && strcmp(t, MSG_INIT_JOIN) != 0)
		return;
	snprintf(why, sizeof(why), "cluster \"%s\" is not \"%s\"", cluster, n->cfg->cluster_name);
	for (i = 0; i < n->nforeign_said; i++)
		if (strcmp(n->foreign_said[i], f.address) == 0)
			break;
	if (i == n->nforeign_said) {
		log_warnx("join refused: %s (%s) asked to join, but %s", f.name, f.address, why);
		if (n->nforeign_said < (int)(sizeof(n->foreign_said) / sizeof(n->foreign_said[0])))
			n->nforeign_said++;
		else
			memmove(n->foreign_said[0], n->foreign_said[1],
			    sizeof(n->foreign_said) - sizeof(n->foreign_said[0]));
		snprintf(n->foreign_said[n->nforeign_said - 1], CONF_ADDR_MAX, "%s", f.address);
	}
	w = envelope(n, MSG_JOIN_REFUSED, f.uid);
	cJSON_AddStringToObject(w, "reason", why);
	send_to(n, f.address, w);
	snprintf(n->out[n->nout - 1].cluster, sizeof(n->out[n->nout - 1].cluster), "%s", cluster);
}

void
node_receive(struct node *n, const cJSON *msg, msec_t now)
{
	struct from f;
	const char *t;
	uint64_t to = 0, seq;
	long v;
	cJSON *rsp;

	if (!cJSON_IsObject(msg) || json_int(msg, "v", 0, 1000000, &v) < 0 ||
	    (t = json_str(msg, "t")) == NULL) {
		n->dropped.malformed++;
		return;
	}
	if (v != PROTO_VERSION) {
		n->dropped.version++;
		return;
	}
	if (parse_from(n, msg, &f) < 0 || json_u64(msg, "n", &seq) < 0 || seq == 0) {
		n->dropped.malformed++;
		return;
	}
	/* our own messages never come back to us but as replays */
	if (f.uid == n->self.uid || !fresh_n(n, f.uid, seq, now)) {
		n->dropped.replayed++;
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(msg, "to") != NULL) {
		if (json_u64(msg, "to", &to) < 0) {
			n->dropped.malformed++;
			return;
		}
		if (to != n->self.uid) {
			n->dropped.stale++;	/* meant for an earlier incarnation */
			return;
		}
	}
	if (n->phase == PHASE_SHUTDOWN)
		return;
	if (strcmp(t, MSG_HEARTBEAT) == 0) {
		if (json_u64(msg, "seq", &seq) < 0) {
			n->dropped.malformed++;
			return;
		}
		/* quiet for a while, now back: our path to it may be stuck */
		if (hb_gap(n, f.uid, now) > 3 * n->cfg->heartbeat_interval)
			reset_to(n, f.address);
		rsp = envelope(n, MSG_HEARTBEAT_RSP, f.uid);
		json_add_u64(rsp, "seq", seq);
		send_to(n, f.address, rsp);
	} else if (strcmp(t, MSG_HEARTBEAT_RSP) == 0) {
		if (to == 0 || json_u64(msg, "seq", &seq) < 0) {
			n->dropped.malformed++;
			return;
		}
		on_heartbeat_rsp(n, f.uid, seq, now);
	} else if (strcmp(t, MSG_GOSSIP) == 0) {
		if (n->phase == PHASE_MEMBER)
			on_gossip(n, msg, &f, now);
	} else if (strcmp(t, MSG_STATUS) == 0) {
		if (n->phase == PHASE_MEMBER)
			on_status(n, msg, &f, now);
	} else if (strcmp(t, MSG_JOIN) == 0)
		on_join(n, msg, &f, now);
	else if (strcmp(t, MSG_WELCOME) == 0) {
		if (to == 0) {
			n->dropped.malformed++;
			return;
		}
		on_welcome(n, msg, &f, now);
	} else if (strcmp(t, MSG_JOIN_REFUSED) == 0) {
		const char *why = json_str(msg, "reason");

		if (n->phase != PHASE_JOINING)
			return;
		if (strcmp(n->join_refused, why ? why : "?") != 0)
			log_warnx("join refused by %s (%s): %s", f.name, f.address, why ? why : "?");
		snprintf(n->join_refused, sizeof(n->join_refused), "%s", why ? why : "?");
	} else if (strcmp(t, MSG_INIT_JOIN) == 0)
		on_init_join(n, &f, now);
	else if (strcmp(t, MSG_INIT_JOIN_ACK) == 0) {
		const cJSON *maj = cJSON_GetObjectItemCaseSensitive(msg, "majority");

		if (maj != NULL && !cJSON_IsBool(maj))
			n->dropped.malformed++;
		else
			on_init_join_reply(n, &f, msg, 1, now);
	}
	else if (strcmp(t, MSG_INIT_JOIN_NACK) == 0) {
		const cJSON *cand = cJSON_GetObjectItemCaseSensitive(msg, "cand");

		const cJSON *ready = cJSON_GetObjectItemCaseSensitive(msg, "ready");

		if ((cand != NULL && (!cJSON_IsString(cand) ||
		    strlen(cand->valuestring) >= CONF_ADDR_MAX)) ||
		    (ready != NULL && !cJSON_IsBool(ready)))
			n->dropped.malformed++;
		else
			on_init_join_reply(n, &f, msg, 0, now);
	}
	else if (strcmp(t, MSG_EXITING) == 0) {
		const cJSON *forced = cJSON_GetObjectItemCaseSensitive(msg, "forced");

		if (forced != NULL && !cJSON_IsBool(forced))
			n->dropped.malformed++;
		else if (n->phase == PHASE_MEMBER)
			on_exiting(n, &f, cJSON_IsTrue(forced), now);
	} else if (strcmp(t, MSG_RELAY) == 0) {
		const char *svc = json_str(msg, "svc");

		if (svc == NULL || !relay_svc_valid(svc) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(msg, "body")))
			n->dropped.malformed++;
		else if (n->phase != PHASE_MEMBER || f.mi < 0 || to != n->self.uid)
			n->dropped.not_member++;
		else
			deliver(n, cJSON_Duplicate(msg, 1));
	} else if (strcmp(t, MSG_HELLO) == 0) {
		;	/* it opened a connection, and authenticated it */
	} else if (strcmp(t, MSG_KEYS) == 0) {
		const char *op = json_str(msg, "op");
		uint64_t q;

		if (op == NULL || json_u64(msg, "q", &q) < 0 || to == 0)
			n->dropped.malformed++;
		else if (n->phase != PHASE_MEMBER || f.mi < 0)
			n->dropped.not_member++;
		else {
			if (n->nkeys_in == n->keys_incap) {
				n->keys_incap = n->keys_incap ? 2 * n->keys_incap : 4;
				if ((n->keys_in = realloc(n->keys_in,
				    (size_t)n->keys_incap * sizeof(*n->keys_in))) == NULL)
					fatal("realloc");
			}
			n->keys_in[n->nkeys_in++] = cJSON_Duplicate(msg, 1);
		}
	} else if (strcmp(t, MSG_KEYS_RSP) == 0) {
		uint64_t q;
		const cJSON *keys = cJSON_GetObjectItemCaseSensitive(msg, "keys");
		cJSON *r;

		if (json_u64(msg, "q", &q) < 0 || to == 0 || !cJSON_IsArray(keys) ||
		    !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(msg, "ok")))
			n->dropped.malformed++;
		else if (q == n->keyq.id && q != 0 && cJSON_GetArraySize(n->keyq.results) <
		    n->keyq.expected) {
			int k;

			for (k = 0; k < cJSON_GetArraySize(n->keyq.results); k++)
				if (strcmp(json_str(cJSON_GetArrayItem(n->keyq.results, k), "node"),
				    f.name) == 0)
					return;		/* answered already */
			r = cJSON_CreateObject();
			cJSON_AddStringToObject(r, "node", f.name);
			cJSON_AddBoolToObject(r, "ok",
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ok")));
			if (json_str(msg, "error") != NULL)
				cJSON_AddStringToObject(r, "error", json_str(msg, "error"));
			cJSON_AddItemToObject(r, "keys", cJSON_Duplicate(keys, 1));
			cJSON_AddItemToArray(n->keyq.results, r);
		}
	} else if (strcmp(t, MSG_REMOVED) == 0) {
		if (to == 0) {
			n->dropped.malformed++;
			return;
		}
		if (n->phase == PHASE_MEMBER && f.mi >= 0 && f.uid != n->self.uid)
			self_removed(n, now);
		else
			n->dropped.not_member++;
	} else
		n->dropped.unknown++;
}

/* ---- timers ---- */

void
node_tick(struct node *n, msec_t now)
{
	if (n->phase == PHASE_SHUTDOWN)
		return;
	if (n->wall > TOMBSTONE_TTL)
		mstate_prune_tombstones(&n->st, n->wall - TOMBSTONE_TTL);
	join_tick(n, now);
	probe_tick(n, now);
	detector_tick(n, now);
	/* one wake-up for both: a gossip round due soon goes with the heartbeats */
	if (heartbeat_tick(n, now) && n->next_gossip - now <= n->cfg->gossip_interval / 4)
		n->next_gossip = now;
	push_tick(n, now);
	gossip_tick(n, now);
	check_exit_holds(n, now);
	if (n->phase == PHASE_MEMBER && n->exit_confirmed_at > 0 && now >= n->exit_resend_at)
		send_exiting(n, now);
	if (n->phase == PHASE_MEMBER && n->exit_confirmed_at > 0 &&
	    now - n->exit_confirmed_at > 10 * n->cfg->gossip_interval + 5000)
		begin_shutdown(n, EXIT_DAEMON_OK, now, "this node is Exiting and was not removed in time");
}

static void
earliest(msec_t *d, msec_t t)
{
	if (t >= 0 && (*d < 0 || t < *d))
		*d = t;
}

msec_t
node_next_deadline(const struct node *n)
{
	msec_t d = -1;
	int i;

	if (n->phase == PHASE_SHUTDOWN)
		return n->exit_at;
	if (n->phase == PHASE_JOINING)
		earliest(&d, n->join_next);
	if (n->phase != PHASE_MEMBER)
		return d;
	earliest(&d, n->next_hb);
	earliest(&d, n->next_gossip);
	earliest(&d, n->push_at);
	for (i = 0; i < n->nmon; i++) {
		const struct monitor *mo = &n->mon[i];

		if (mo->fd.last < 0 && mo->added >= 0)
			earliest(&d, mo->added + n->cfg->expected_response_after);
		else if (reach_observer_says(&n->st.reach, n->self.uid, mo->uid) == RS_REACHABLE)
			earliest(&d, mo->deadline);
	}
	if (n->exit_confirmed_at > 0) {
		earliest(&d, n->exit_confirmed_at + 10 * n->cfg->gossip_interval + 5001);
		earliest(&d, n->exit_resend_at);
	} else if (n->exiting_since > 0) {
		earliest(&d, n->exiting_since + EXIT_HOLD_MAX + 1);
		for (i = 0; i < n->nholds; i++)
			if (n->holds[i].until > n->exiting_since)
				earliest(&d, n->holds[i].until);
	}
	return d;
}

/* ---- commands ---- */

int
node_find(const struct node *n, const char *target)
{
	uint64_t uid;

	/* "uid:N" names one incarnation exactly (names cannot hold ':') */
	if (strncmp(target, "uid:", 4) == 0)
		return str_to_u64(target + 4, &uid) < 0 ? -1 : mstate_find(&n->st, uid);
	if (strncmp(target, "tcp://", 6) == 0)
		return mstate_find_address(&n->st, target);
	return mstate_find_name(&n->st, target);
}

int
node_convergence(const struct node *n)
{
	return n->phase == PHASE_MEMBER &&
	    mstate_convergence(&n->st, n->self.uid, &n->exiting_confirmed);
}

static int
need_member(const struct node *n, char *err, size_t len)
{
	if (n->phase != PHASE_MEMBER) {
		snprintf(err, len, "this node is not a member of a cluster%s",
		    n->phase == PHASE_JOINING ? " yet (still joining)" : "");
		return -1;
	}
	return 0;
}

int
node_cmd_leave(struct node *n, const char *target, msec_t now, char *err, size_t len)
{
	int i;
	struct member *m;

	if (need_member(n, err, len) < 0)
		return -1;
	i = target ? node_find(n, target) : mstate_find(&n->st, n->self.uid);
	if (i < 0) {
		snprintf(err, len, "unknown node '%s'", target);
		return -1;
	}
	m = &n->st.m[i];
	if (m->status == MS_LEAVING || m->status == MS_EXITING)
		return 0;	/* idempotent: the control REQ may be re-sent */
	if (!mstatus_allowed(m->status, MS_LEAVING)) {
		snprintf(err, len, "%s is %s and cannot leave", m->name, mstatus_name(m->status));
		return -1;
	}
	log_info("%s (%s) is leaving", m->name, m->address);
	m->status = MS_LEAVING;
	local_change(n, now);
	return 0;
}

int
node_cmd_down(struct node *n, const char *target, msec_t now, char *err, size_t len)
{
	int i;
	struct member *m;

	if (need_member(n, err, len) < 0)
		return -1;
	if ((i = node_find(n, target)) < 0) {
		snprintf(err, len, "unknown node '%s'", target);
		return -1;
	}
	m = &n->st.m[i];
	if (m->status == MS_DOWN)
		return 0;
	log_warnx("downing %s (%s), which is %s", m->name, m->address, mstatus_name(m->status));
	m->status = MS_DOWN;
	u64set_del(&n->st.seen, m->uid);
	local_change(n, now);
	if (m->uid != n->self.uid)
		send_gossip(n, m);	/* tell the downed node itself */
	check_self(n, now);
	return 0;
}

/*
 * Applies the leader's decisions. The request carries the state_seq the
 * leader decided on; any change since makes it stale, and it is refused
 * whole, so a decision never applies to a view its maker did not see.
 */
int
node_cmd_leader_actions(struct node *n, const cJSON *req, msec_t now, char *err, size_t len)
{
	const cJSON *acts = cJSON_GetObjectItemCaseSensitive(req, "actions"), *a;
	struct u64set named = { 0 };	/* the members named so far */
	uint64_t seq, uid;
	int li, i, count = 0, weakly = 0;
	long up;
	enum mstatus to;
	const char *s;

	if (need_member(n, err, len) < 0)
		return -1;
	if (json_u64(req, "state_seq", &seq) < 0 || !cJSON_IsArray(acts)) {
		snprintf(err, len, "malformed leader-actions request");
		return -1;
	}
	if (seq != n->state_seq) {
		snprintf(err, len, "stale: decided on state %llu, now at %llu",
		    (unsigned long long)seq, (unsigned long long)n->state_seq);
		return -1;
	}
	(void)json_bool(req, "weakly_up", &weakly);
	li = mstate_leader_for(&n->st, NULL, n->self.uid);
	if (li < 0 || n->st.m[li].uid != n->self.uid || (!weakly && !node_convergence(n))) {
		snprintf(err, len, "this node is not the leader or there is no convergence");
		return -1;
	}
	/*
	 * Validate everything before changing anything. Each transition is
	 * checked against the status the member has now, so a member may be
	 * named once (leaderd names it once): a second action on it would apply
	 * to a status nobody checked (Joining -> Down, then -> Up), or to a
	 * member the first one removed.
	 */
	cJSON_ArrayForEach(a, acts) {
		if (json_u64(a, "uid", &uid) < 0 || (i = mstate_find(&n->st, uid)) < 0 ||
		    mstatus_parse(s = json_str(a, "status"), &to) < 0 ||
		    !mstatus_allowed(n->st.m[i].status, to) ||
		    (weakly && to != MS_WEAKLY_UP) ||
		    (to == MS_UP && json_int(a, "up_number", 1, INT_MAX - 1, &up) < 0) ||
		    u64set_has(&named, uid)) {
			u64set_free(&named);
			snprintf(err, len, "invalid leader action");
			return -1;
		}
		u64set_add(&named, uid);
	}
	u64set_free(&named);
	cJSON_ArrayForEach(a, acts) {
		json_u64(a, "uid", &uid);
		i = mstate_find(&n->st, uid);
		mstatus_parse(json_str(a, "status"), &to);
		log_info("leader: %s (%s) %s -> %s", n->st.m[i].name, n->st.m[i].address,
		    mstatus_name(n->st.m[i].status), mstatus_name(to));
		if (to == MS_REMOVED) {
			int exited = n->st.m[i].status == MS_EXITING &&
			    u64set_has(&n->exiting_confirmed, uid) && !u64set_has(&n->exit_forced, uid);

			send_to(n, n->st.m[i].address, envelope(n, MSG_REMOVED, uid));
			mstate_remove(&n->st, uid, n->wall);
			if (exited)
				mstate_tomb_exited(&n->st, uid);
			u64set_del(&n->exiting_confirmed, uid);
			u64set_del(&n->exit_forced, uid);
		} else {
			if (to == MS_UP) {
				json_int(a, "up_number", 1, INT_MAX - 1, &up);
				n->st.m[i].up_number = (int)up;
			}
			n->st.m[i].status = to;
		}
		count++;
	}
	if (count > 0) {
		local_change(n, now);
		check_self(n, now);
	}
	return 0;
}
