/*
 * node.c: memberd's core: the outbox, its lifecycle and timers.
 *
 * The core is split by concern behind node.h: join.c (joining and the
 * minority probe), heartbeat.c (the ring and the detector), gossip.c
 * (gossip and the eager push), exit.c (leaving and exit holds), relay.c
 * (relays and key queries), receive.c (checking and dispatching messages)
 * and commands.c; node-int.h holds what they share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"
#include "proto.h"
#include "xmalloc.h"

#define EXIT_GRACE	300	/* ms to flush last messages before exiting */
#define TOMBSTONE_TTL	(24LL * 3600 * 1000)	/* a removed uid is remembered this long */

uint64_t
rnd(struct node *n)
{
	/* xorshift64*: jitter and gossip targets only, never security */
	n->rng ^= n->rng >> 12;
	n->rng ^= n->rng << 25;
	n->rng ^= n->rng >> 27;
	return n->rng * 2685821657736338717ULL;
}

msec_t
jitter(struct node *n, msec_t interval)
{
	msec_t j = interval / 10;

	return interval - j + (msec_t)(j > 0 ? rnd(n) % (uint64_t)(2 * j + 1) : 0);
}

/* ---- outbox ---- */

cJSON *
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
int
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
			n->seen_n = xreallocarray(n->seen_n, (size_t)n->seen_ncap, sizeof(*n->seen_n));
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
void
deliver(struct node *n, cJSON *msg)
{
	if (n->nrelay == n->relaycap) {
		n->relaycap = n->relaycap ? n->relaycap * 2 : 16;
		n->relay_in = xreallocarray(n->relay_in, (size_t)n->relaycap, sizeof(*n->relay_in));
	}
	n->relay_in[n->nrelay++] = msg;
	n->relayed_in++;
}

void
send_to(struct node *n, const char *address, cJSON *msg)
{
	if (n->nout == n->outcap) {
		n->outcap = n->outcap ? n->outcap * 2 : 16;
		n->out = xreallocarray(n->out, (size_t)n->outcap, sizeof(*n->out));
	}
	snprintf(n->out[n->nout].address, sizeof(n->out[n->nout].address), "%s", address);
	n->out[n->nout].msg = msg;
	n->out[n->nout].blen = 0;
	n->out[n->nout].bind_to = 0;
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
void
reset_to(struct node *n, const char *address)
{
	int i;

	for (i = 0; i < n->nreset; i++)
		if (strcmp(n->resets[i], address) == 0)
			return;
	GROW(n->resets, n->nreset, n->resetcap);
	snprintf(n->resets[n->nreset++], CONF_ADDR_MAX, "%s", address);
}

char (*node_resets(struct node *n, int *count))[CONF_ADDR_MAX]
{
	*count = n->nreset;
	n->nreset = 0;
	return n->resets;
}

struct outmsg *
node_outbox(struct node *n, int *count)
{
	*count = n->nout;
	n->nout = 0;
	return n->out;
}

cJSON *
node_hello(struct node *n)
{
	cJSON *m = envelope(n, MSG_HELLO, 0);

	/* we read the compact forms of this version: the receiver may send them */
	cJSON_AddNumberToObject(m, "cv", CPT_VERSION);
	return m;
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
	char roles[CONF_MAX_ROLES * CONF_ROLE_MAX] = "";	/* 16 roles of 63 bytes fit; ROLES_MAX did not */
	int i;

	memset(n, 0, sizeof(*n));
	n->cfg = cfg;
	n->self.uid = uid;
	for (i = 0; i < cfg->nroles; i++) {
		if (i > 0)
			strcat(roles, ",");
		strcat(roles, cfg->roles[i]);
	}
	member_set(&n->self, cfg->name, cfg->address, roles);
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
	n->catchup_at = -1;
	n->bcast_direct = BCAST_DIRECT;
	n->push_credit_at = -1;
	n->welcome_credit_at = -1;
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
	free(n->ring_r);
	for (i = 0; i < n->nout; i++)
		cJSON_Delete(n->out[i].msg);
	free(n->out);
	node_memory_clear(n);
	free(n->memo);
	free(n->resets);
	free(n->cvs);
	n->cvs = NULL;
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
	seen_bits_free(&n->seen_bits);
	member_clear(&n->self);
	u64set_free(&n->exiting_confirmed);
	u64set_free(&n->exit_forced);
	u64set_free(&n->compact_peers);
}

/* Bookkeeping after st changed: new local seq, ring, eager push. */
void
changed(struct node *n, msec_t now)
{
	int li = mstate_leader_for(&n->st, NULL, n->self.uid);

	n->state_seq++;
	n->version_seq++;
	n->leads = li >= 0 && n->st.m[li].uid == n->self.uid;
	seen_grew(n, now);
	n->exit_digest = mstate_exit_digest(&n->st);
	n->reach_digest = mstate_reach_digest(&n->st);
	n->push_quiet = 0;	/* a broadcast's version, if any, is not ours to keep quiet about */
	n->bcast_mine = 0;	/* taken or merged: not ours to broadcast (local_change) */
	n->bcast_version = 0;	/* a new version: not a broadcast's until sent or taken as one */
	update_ring(n, now);
	node_memory_update(n);
	/* a push waiting for credit is not for a leave, down or removal: gossip.c */
	if (n->push_at < 0 || (n->exit_digest != n->pushed_exit && n->push_at > now + 2))
		n->push_at = now + 2;
}

/* A local change: a new version that only we have seen. */
void
local_change(struct node *n, msec_t now)
{
	n->ss.made++;
	vclock_inc(&n->st.vc, n->self.uid);
	u64set_clear(&n->st.seen);
	u64set_add(&n->st.seen, n->self.uid);
	changed(n, now);
	n->bcast_mine = 1;
}

void
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
	catchup_tick(n, now);
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
	earliest(&d, n->catchup_at);
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
