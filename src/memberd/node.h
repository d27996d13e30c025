/*
 * node.h: memberd's protocol core, sans I/O. Inputs are parsed messages,
 * operator commands and the current monotonic time; outputs are messages in
 * an outbox (address + JSON) and a changed membership state. No sockets,
 * no clocks, no globals: tests and simulators drive it directly.
 */
#ifndef MEMBERD_NODE_H
#define MEMBERD_NODE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "compact.h"
#include "wire.h"
#include "config.h"
#include "membership.h"
#include "proto.h"
#include "phi.h"

enum node_phase {
	PHASE_IDLE,		/* no seeds: waiting for akc-join */
	PHASE_JOINING,		/* looking for a cluster / waiting for a welcome */
	PHASE_MEMBER,
	PHASE_SHUTDOWN		/* leaving the process: flush, then exit */
};

/* Relay: node-to-node messages for local services, by service name. */
#define RELAY_HOLDS_MAX		16
/*
 * The longest a local service may hold our exit confirmation (a hand-over
 * whose child takes long to stop). While the holder's process lives, the
 * shell renews its hold: a stopped or hung singletond keeps the node from
 * being removed, rather than letting the next oldest start a second child.
 */
#define EXIT_HOLD_MAX		600000
#define EXIT_RESEND(n)		(3 * (n)->cfg->gossip_interval)	/* the exit notice, again */
#define BCAST_DIRECT		32	/* a broadcast (gossip.c) to at most this many members goes to each at once */

/* Node-to-node traffic by kind of message ("t"), counted by the shell. */
enum traffic_kind {
	TK_GOSSIP,		/* gossip, status, welcome */
	TK_HEARTBEAT,		/* hb, hb-rsp */
	TK_RELAY,		/* local services' messages */
	TK_OTHER,		/* joins, hello, exiting, keys, and frames that did not parse */
	TK_N
};

struct traffic {
	uint64_t msgs, bytes;
};

/*
 * What full states cost this node (issue 13: where a join storm's work
 * grows with N). Sent, by why: an eager push, an answer to an older or
 * concurrent version (reply_gossip), a gossip round to a member that has
 * not seen ours, and any other (a down told to the downed, an exit's).
 * Received: gossips read to the head only (a version we have or an older
 * one), full reads and the member records in them; the versions we made
 * (local_change), took whole (newer) and merged (concurrent).
 */
enum state_why { SW_PUSH, SW_ANSWER, SW_ROUND, SW_OTHER, SW_CATCHUP, SW_N };

/*
 * Statuses sent, by why: to the leader after a push (push_tick), to the
 * leader on a broadcast taken, an answer to a gossip or a status of our
 * version whose seen set lacked some of ours, to a member ahead of us (for
 * its state), an answer to digests that differ, to the sender of a
 * broadcast we took that did not list us as having seen it, the
 * leader's to every member once a version converged (catchup_tick), and
 * to the leader when a push of our version met us and told us of more
 * members that have it (a push chain's end: push_tick), and the leader's
 * to the members missing from its seen set when too many are for a
 * catch-up (catchup_tick).
 */
enum status_why { STW_LEADER, STW_BCAST, STW_GOSSIP_GAP, STW_STATUS_GAP, STW_AHEAD, STW_DIGEST,
	STW_TAKEN, STW_CONVERGED, STW_CHAIN, STW_PROBE, STW_N };

struct state_stats {
	uint64_t sent[SW_N];
	uint64_t status_sent[STW_N];
	uint64_t deferred;	/* answers skipped for want of budget (reply_gossip) */
	uint64_t heads, full_reads, records;
	uint64_t made, adopted, merged;
};

struct outmsg {
	char address[CONF_ADDR_MAX];
	cJSON *msg;		/* NULL: a compact payload (compact.h), its long form in bin */
	unsigned char bin[CPT_MAX];
	size_t blen;
	/*
	 * A compact payload for a receiver that reads the short forms (it
	 * announced CPT_VERSION): its uid, and the shell may send the short
	 * form on a connection bound to it. 0: the long form only.
	 */
	uint64_t bind_to;
	char cluster[CONF_NAME_MAX + 1];	/* frame it for this cluster; "": ours */
};

struct monitor {
	uint64_t uid;
	char address[CONF_ADDR_MAX];
	struct phi fd;
	msec_t deadline;	/* when phi will cross the threshold; -1 before the first beat */
	msec_t added;		/* when we started heartbeating it */
	/*
	 * Replies count once, and only for heartbeats we sent it: seq
	 * hb_seq - i was answered when bit i of answered is set; first is
	 * the first seq it was sent. A replayed reply changes nothing.
	 */
	uint64_t first, answered;
	int keep;		/* still a receiver after the last ring update */
	int compact;		/* it answered a compact heartbeat: it speaks them */
};

/* A member that heartbeats us (heartbeat.c): where to answer, and its last seq. */
struct hb_sender {
	uint64_t uid, seq;
	msec_t at;
	char address[CONF_ADDR_MAX];	/* from its last JSON heartbeat ("": none yet) */
};

/* The compact forms of version 2 (compact.h), counted for akc-status --json ("compact"). */
struct compact_stats {
	uint64_t digests_sent, digests_received;	/* compact digests (long or short) */
	uint64_t short_sent, short_received;		/* short forms, on bound connections (shell) */
	uint64_t binds_sent, binds_received;		/* connections opened by a bind frame (shell) */
	uint64_t learned;				/* uids added to compact_peers */
	uint64_t learned_by_gossip;			/* of those, from a full state's "cvs" */
};

struct dropped {
	uint64_t malformed;	/* not JSON, or a field missing or of the wrong type */
	uint64_t oversized;
	uint64_t unauthenticated;
	uint64_t version;	/* another protocol version */
	uint64_t unknown;	/* unknown message type */
	uint64_t stale;		/* for an old incarnation, or from an unreachable member */
	uint64_t not_member;	/* from a node not in our membership */
	uint64_t replayed;	/* a heartbeat reply we did not ask for, or had already */
	uint64_t cluster;	/* authentic, but from a node of another cluster */
};

/*
 * Replays: every message carries its sender's counter "n" (per
 * incarnation); a counter seen before, or older than the window, from the
 * same uid is a replay (doc/PROTOCOL.md, "Replays").
 */
struct seen_n {
	uint64_t uid;
	uint64_t top;		/* highest counter seen */
	uint64_t bits;		/* bit i: top - i was seen */
	msec_t at;		/* last accepted */
};

/* A nonce given in an init-join-ack: the join that follows must carry it. */
struct join_nonce {
	uint64_t uid, nonce;
	msec_t at;
};
#define JOIN_NONCES	64

/* The cluster-wide key operation this node started (akc-keys), and its answers. */
struct keys_query {
	uint64_t id;		/* 0: none */
	msec_t started;
	int expected;		/* members asked, ourselves included */
	cJSON *results;		/* [{"node","ok","error"?,"keys"}] */
};

struct memo {
	const char *address;	/* interned (intern.h), as members' addresses */
	uint64_t uid;		/* the incarnation last seen there */
	int64_t seen;		/* wall ms it was last a member in our view */
	msec_t nack_at;		/* answered our init-join as a non-member then */
	/*
	 * Where the last full update (memory.c) found it: the view's first
	 * member at its address that counts as a member (an index into the
	 * table of id memo_vix_mt), or -1; node_majority reads it instead of
	 * looking each member up. present: that update's mark, 0 between.
	 */
	int vix;
	char present;
};

struct node {
	const struct akc_config *cfg;
	struct member self;
	struct mstate st;
	enum node_phase phase;
	uint64_t state_seq;	/* bumped on every change of st: tags leader decisions */
	struct seen_bits seen_bits;	/* st's seen set as statuses print it (gossip.c) */
	struct u64set exiting_confirmed;
	struct u64set exit_forced;	/* their notice said forced: not a clean hand-over */
	struct dropped dropped;
	uint64_t dropped_ctl;	/* bad control requests */
	uint64_t sent_msgs, sent_bytes, recv_msgs, recv_bytes;	/* counted by the shell */
	struct traffic sent_by[TK_N], recv_by[TK_N];		/* the same by kind */
	const struct wire_stats *wire;	/* the shell's transport counters (NULL in tests) */
	uint64_t rng;
	uint64_t msg_n;		/* our messages' counter */
	struct seen_n *seen_n;	/* sorted by uid */
	int nseen_n, seen_ncap;
	struct join_nonce nonces[JOIN_NONCES];
	uint64_t join_nonce;	/* from the member that acked our init-join */
	struct keys_query keyq;
	cJSON **keys_in;	/* members' key requests, for the shell */
	int nkeys_in, keys_incap;
	int64_t wall;		/* wall ms, set by the caller: tombstone times only */
	/*
	 * The shell's next planned tick (its loop's poll deadline), 0: unknown.
	 * Reachability changes only at a tick (detector_tick), so the view is
	 * current up to min(now, view_until): later, the loop is late (stalled,
	 * starved) and the view is only as new as that. control.c dates the
	 * majority it answers with it (singletond's lease runs from it).
	 */
	msec_t view_until;

	/* joining */
	int self_seed;		/* our index in the seed list, -1: not a seed (never forms) */
	msec_t join_next, join_backoff, join_started, join_said;
	char join_target[CONF_ADDR_MAX];	/* sent "join" here, awaiting welcome */
	char join_only[CONF_ADDR_MAX];		/* akc-join ADDRESS */
	char join_refused[256];		/* why the last join was refused ("": not refused) */
	/* partial welcomes (join.c, doc/PROTOCOL.md "Partial welcomes") */
	double welcome_credit;		/* member records full welcomes may still send */
	msec_t welcome_credit_at;	/* when it was last topped up (-1: never) */
	uint64_t welcomes_full, welcomes_partial;	/* sent */
	msec_t partial_since;		/* >0: a member by a partial welcome, without the cluster's state */
	msec_t partial_said;		/* when we last said we wait for it */
	char partial_from[CONF_NAME_MAX];	/* the member whose partial welcome it was */
	char foreign_said[8][CONF_ADDR_MAX];	/* other clusters' nodes refused (logged once) */
	int nforeign_said;
	long version_said;		/* the other protocol version logged last, */
	msec_t version_said_at;		/* and when: one line a minute per version */
	/*
	 * Forming a cluster (memberd(8), FORMING): what each seed last answered
	 * to our init-join, and which seed it named as the one to form.
	 */
	struct { msec_t nack_at; int cand, ready; } seedans[CONF_MAX_SEEDS];
	msec_t ack_at;		/* a member answered: a cluster exists, never form */

	/* the members this node remembers across restarts (memory.c), saved by the shell */
	struct memo *memo;
	int nmemo, memocap;
	uint64_t memo_seq;	/* bumped on every change worth saving */
	uint64_t memo_mt;	/* the table of the last update (its id), and what else */
	uint64_t memo_view;	/* (its view_digest, which another table may share) */
	uint64_t memo_tombs;	/* it read: tombstones, memory size, minute, and when */
	int memo_n;		/* the first remembered member not in view may be */
	int64_t memo_minute;	/* forgotten (memory.c: an update they would all */
	int64_t memo_forget_at;	/* leave the same is skipped) */
	msec_t minority_since;	/* a member without the majority since (-1: has it) */
	uint64_t majority_seq;	/* state_seq and memo size of majority_ok: the */
	int majority_nmemo;	/* probe asks every tick, and the answer costs */
	int majority_ok;	/* N lookups, so it is kept until either changes */
	msec_t majority_at;	/* (and MAJORITY_EVERY has passed) */
	uint64_t majority_mt;	/* and what majority_ok was read from: the */
	uint64_t majority_reach;	/* table (its id), reachability and memory */
	uint64_t majority_gen;		/* (memo_gen): the same give the same */
	uint64_t memo_gen;	/* bumped whenever the memory may have changed */
	uint64_t memo_vix_mt;	/* the table the memo[].vix index (0: none valid) */
	msec_t next_probe;	/* then: ask the remembered members outside our view */

	/* gossip */
	msec_t next_gossip, push_at;
	double push_credit;	/* member records the eager push may still send (gossip.c) */
	msec_t push_credit_at;	/* when push_credit was last topped up (-1: never) */
	uint64_t gossip_deferred;	/* full-state replies skipped for want of budget */
	uint64_t pushed_seq;	/* state_seq of our last push */
	uint64_t version_seq;	/* bumped on every new version (changed()) */
	uint64_t told_leader;	/* version_seq of our last status to the leader */
	uint64_t chained;	/* version_seq whose status the push chain carries (push_tick) */
	uint64_t stepped_seq;	/* version_seq whose status to the leader waited for a step (gossip.c) */
	msec_t seen_grew_at;	/* our version or its seen set last changed */
	msec_t catchup_at;	/* the leader's next catch-up check (catchup_tick), or -1 */
	msec_t catchup_next;	/* and the earliest catch-up after the last one */
	uint64_t announced;	/* version_seq of our last convergence announced (catchup_tick) */
	uint64_t catchup_seq;	/* version_seq catchup_tries counts for */
	int catchup_tries;	/* catch-up attempts of that version (CATCHUP_TRIES at most) */
	int leads;		/* we were the leader at the last changed(): seen_grew() */
	uint64_t exit_digest;	/* mstate_exit_digest(&st), kept by changed() */
	uint64_t pushed_exit;	/* exit_digest of our last push */
	uint64_t reach_digest;	/* mstate_reach_digest(&st), kept by changed() */
	uint64_t pushed_reach;	/* reach_digest of our last push */
	uint64_t pushes_unpaid;	/* pushes of a leave, down or removal sent without credit */
	/*
	 * The broadcast of a version that moves members out (gossip.c,
	 * push_tick): how many we sent, forwarded as a relay and took; up to
	 * how many members it goes to each at once (more: through relays);
	 * and the version we took from one, which we do not push on (quiet,
	 * until the state changes again).
	 */
	uint64_t bcasts_sent, bcasts_forwarded, bcasts_taken;
	int bcast_direct;
	int bcast_mine;		/* st is a version we made (local_change), not one taken or merged */
	int bcast_version;	/* st's version came by a broadcast, ours or one we took */
	int push_quiet;
	struct state_stats ss;	/* full states sent and read (gossip.c) */
	uint64_t digest_seq, vhash, shash;	/* digests of st.vc and st.seen at digest_seq */
	struct u64set compact_peers;	/* uids that announced CPT_VERSION: compact digests, short forms */
	struct compact_stats compact;
	char *cvs;		/* our "cvs" (gossip.c) for st and compact_peers as they were at: */
	uint64_t cvs_seq, cvs_learned;	/* state_seq, compact.learned, */
	uint64_t cvs_th;		/* the table's hash (uids in order), */
	uint64_t cvs_mt;		/* a table (its id) of those uids, */
	int cvs_peers, cvs_n;		/* compact_peers.n, st.n; */
	int cvs_missing;		/* members (not us) not in compact_peers then */

	/* heartbeats */
	struct phi_conf phic;
	struct monitor *mon;
	int nmon;
	/* what the ring was last made from (heartbeat.c, ring_same): */
	uint64_t ring_mt;		/* the table's id (0: never made), */
	int ring_phase;			/* the phase, */
	struct reach_record *ring_r;	/* and the reachability records */
	int ring_nr, ring_rcap;
	uint64_t hb_seq;
	msec_t next_hb;

	/* shutdown */
	int exit_code;
	msec_t exit_at;
	msec_t exiting_since;		/* saw ourselves Exiting */
	msec_t exit_confirmed_at;	/* told the others (after the local holds) */
	msec_t exit_resend_at;		/* and tell them again then, until removed */
	int exit_forced_self;		/* our notice says forced (cap ran out, holder died, downed) */
	struct exit_hold { char svc[RELAY_SVC_MAX]; msec_t until; int pid; } holds[RELAY_HOLDS_MAX];
	int nholds;
	int hold_orphaned;	/* a holder died holding our exit: not a clean hand-over */

	/* where the singletons run, as this node's singletonds last said (snapshots) */
	struct { char name[CONF_NAME_MAX]; char node[CONF_NAME_MAX]; } sgrun[CONF_MAX_SINGLETONS];
	int nsgrun;

	/* messages for local services (singletond...), taken by the shell */
	cJSON **relay_in;
	int nrelay, relaycap;
	uint64_t relayed_in, relayed_out, relay_refused;

	struct outmsg *out;
	int nout, outcap;

	/* connections the shell should drop and open afresh (node.c's reset_to) */
	char (*resets)[CONF_ADDR_MAX];
	int nreset, resetcap;
	/* who heartbeats us: when last, its last seq, its address */
	struct hb_sender *hbseen;
	int nhbseen;
	msec_t next_unreach_reset;
};

void node_init(struct node *, const struct akc_config *, uint64_t uid, msec_t now);
/* The kind of a message of type t (NULL: not parsed). */
enum traffic_kind node_traffic_kind(const char *t);
/* Counts a message of type t, len bytes on the wire, in sent_by or recv_by. */
void node_count_traffic(struct traffic by[TK_N], const char *t, size_t len);

/*
 * The membership memory (memory.c): kept up to date by the core; the shell
 * saves node_memory_to_json() in state-dir whenever memo_seq changes and
 * loads it before node_start.
 */
void node_memory_update(struct node *);
cJSON *node_memory_to_json(const struct node *);
int node_memory_from_json(struct node *, const cJSON *, char *err, size_t len);
void node_memory_forget(struct node *);
void node_memory_nack(struct node *, const char *address, msec_t now);
/* Empties the memory (its addresses' references given back), nothing more. */
void node_memory_clear(struct node *);
/* A majority of the remembered members (ourselves included) answered lately as non-members. */
int node_memory_ready(const struct node *, msec_t now, msec_t window, int *have, int *of);
/*
 * Whether this node sees a majority of the members it remembers as
 * reachable members of its cluster: the singleton guard (singletond(8)).
 */
int node_majority(const struct node *, int *have, int *of);
void node_free(struct node *);
/* Starts the seed-node process (no-op without seeds). */
void node_start(struct node *, msec_t now);
/* Handles one authenticated, parsed message; counts and drops bad ones. */
void node_receive(struct node *, const cJSON *msg, msec_t now);
/* Whether an authenticated payload is a compact one (compact.h) rather than JSON. */
int node_payload_compact(const void *payload, size_t len);
/*
 * A bind frame (compact.h) opened an inbound connection: the uid of its
 * sender, which the connection's short forms are from (and for us), or 0
 * when it is refused (counted: not for this incarnation, malformed...).
 */
uint64_t node_receive_bind(struct node *, const unsigned char *payload, size_t len, msec_t now);
/*
 * The uid a connection to address should be bound to (its bind frame), or
 * 0 for a JSON hello: the member there, when it announced the short forms.
 */
uint64_t node_bind_uid(const struct node *, const char *address);
/* The "compact" object of akc-status --json: the counters above. */
cJSON *node_compact_json(const struct node *);
cJSON *node_gossip_json(const struct state_stats *ss, double per);
/* Handles one authenticated compact payload; counts and drops bad ones. */
void node_receive_compact(struct node *, const unsigned char *payload, size_t len, msec_t now);
/* The message type of an outbox message or a compact payload, for the traffic counters. */
const char *node_out_type(const struct outmsg *);
const char *node_compact_type(const void *payload, size_t len);
/* Runs due timers: joins, gossip rounds, heartbeats, failure detection. */
void node_tick(struct node *, msec_t now);
/* The next time node_tick has work to do. */
msec_t node_next_deadline(const struct node *);

/* Operator and leader commands; 0 done, -1 refused (reason in err). */
int node_cmd_join(struct node *, const char *address, msec_t now, char *err, size_t len);
/* Whether this member joined by a partial welcome and has no state of the cluster's yet. */
int node_partial(const struct node *);
int node_cmd_leave(struct node *, const char *target, msec_t now, char *err, size_t len);
int node_cmd_down(struct node *, const char *target, msec_t now, char *err, size_t len);
int node_cmd_leader_actions(struct node *, const cJSON *req, msec_t now, char *err, size_t len);

int node_convergence(const struct node *);
/* Finds a member by name, address (the live incarnation first) or "uid:N"; -1 if none. */
int node_find(const struct node *, const char *target);
/*
 * Sends body to the local service svc on member to (a uid); 0 queued, -1 if
 * to is not a member or we are not one.
 */
int node_relay(struct node *, uint64_t to, const char *svc, const cJSON *body);
/* Takes the relayed messages for local services: the caller frees them. */
cJSON **node_relays(struct node *, int *n);
/* A local service holds our exit confirmation until `until` (0: releases it). */
void node_hold_exit(struct node *, const char *svc, msec_t until, int pid, msec_t now);
/* Hold i's process died without releasing it: the hold ends, the exit is forced. */
void node_hold_orphaned(struct node *, int i, msec_t now);
int relay_svc_valid(const char *svc);
/*
 * Takes the outbox: the caller sends and frees the messages, in order (a
 * full state sent to several members is one text, which the last of their
 * messages owns: gossip.c's state_ref).
 */
struct outmsg *node_outbox(struct node *, int *n);
/*
 * akc-keys: asks every other member (not Down) to apply op (list, install,
 * use, remove) to key; the answers gather in n->keyq under the returned id.
 * local is this node's own answer, which it owns.
 */
uint64_t node_keys_start(struct node *, const char *op, const char *key, cJSON *local, msec_t now);
/* The message that opens each connection to a peer (its counter is fresh). */
cJSON *node_hello(struct node *);
/* Takes the key requests members sent us: {"op","key","q","from":{...}} each. */
cJSON **node_keys_requests(struct node *, int *n);
/* Answers a request taken above; keys (owned) lists ours after it. */
void node_keys_answer(struct node *, const cJSON *req, int ok, const char *err, cJSON *keys);
/*
 * An authentic message from a node of another cluster (named cluster):
 * counted and dropped; a join or init-join is answered with a refusal
 * that names both clusters, framed for the sender's cluster.
 */
void node_receive_foreign(struct node *, const cJSON *msg, const char *cluster, msec_t now);
/* Takes the addresses whose connections should be reopened. */
char (*node_resets(struct node *, int *n))[CONF_ADDR_MAX];

#endif
