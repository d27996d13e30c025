/*
 * node-int.h: what the files of memberd's core (node.c, join.c, heartbeat.c,
 * gossip.c, exit.c, relay.c, receive.c, commands.c) share; nothing outside
 * src/memberd/ includes it: the core's interface is node.h.
 */
#ifndef AKC_NODE_INT_H
#define AKC_NODE_INT_H

#include "node.h"

/* The sender of a message, as its "from" object names it (receive.c). */
struct from {
	const char *name, *address;
	uint64_t uid;
	int mi;		/* index in st, or -1 */
};

/* node.c */
uint64_t rnd(struct node *n);
msec_t jitter(struct node *n, msec_t interval);
cJSON *envelope(struct node *n, const char *type, uint64_t to);
int fresh_n(struct node *n, uint64_t uid, uint64_t c, msec_t now);
void deliver(struct node *n, cJSON *msg);
void send_to(struct node *n, const char *address, cJSON *msg);
void reset_to(struct node *n, const char *address);
void changed(struct node *n, msec_t now);
void local_change(struct node *n, msec_t now);
void begin_shutdown(struct node *n, int code, msec_t now, const char *why);

/* join.c */
void join_tick(struct node *n, msec_t now);
void on_join(struct node *n, const cJSON *msg, const struct from *f, msec_t now);
void on_welcome(struct node *n, const cJSON *msg, const struct from *f, msec_t now);
void probe_tick(struct node *n, msec_t now);
void on_init_join(struct node *n, const struct from *f, msec_t now);
void on_init_join_reply(struct node *n, const struct from *f, const cJSON *msg, int ack,
    msec_t now);

/* heartbeat.c */
void update_ring(struct node *n, msec_t now);
int heartbeat_tick(struct node *n, msec_t now);
void detector_tick(struct node *n, msec_t now);
void on_heartbeat(struct node *n, uint64_t uid, const char *address, uint64_t seq, int compact,
    msec_t now);
void on_heartbeat_rsp(struct node *n, uint64_t from, uint64_t seq, int compact, msec_t now);
void compact_peer_note(struct node *n, uint64_t uid);
int compact_peer(const struct node *n, uint64_t uid);
void send_compact_digest(struct node *n, const struct member *to, uint64_t vh, uint64_t sh);

/* gossip.c */
void send_gossip(struct node *n, const struct member *to);
void credit_topup(double *credit, msec_t *at, double per_s, double cap, msec_t now);
const char *cvs_get(struct node *n);
void cvs_learn(struct node *n, const cJSON *msg, const uint64_t *uids, int nuids, int mine);
int pick_targets(struct node *n, int *out, int k, int unseen_only);
void gossip_tick(struct node *n, msec_t now);
void push_tick(struct node *n, msec_t now);
void catchup_tick(struct node *n, msec_t now);
#define CATCHUP_TRIES	5	/* the leader's catch-ups of one version, at most */
void seen_grew(struct node *n, msec_t now);
void on_gossip(struct node *n, const cJSON *msg, struct from *f, msec_t now);
void on_status(struct node *n, const cJSON *msg, const struct from *f, msec_t now);
void on_digest(struct node *n, uint64_t from, uint64_t vh, uint64_t sh, msec_t now);

/* exit.c */
void self_removed(struct node *n, msec_t now);
void send_exiting(struct node *n, msec_t now);
void check_exit_holds(struct node *n, msec_t now);
void check_self(struct node *n, msec_t now);
void on_exiting(struct node *n, const struct from *f, int forced, msec_t now);

/* receive.c */
int parse_from(struct node *n, const cJSON *msg, struct from *f);

#endif
