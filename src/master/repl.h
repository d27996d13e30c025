/*
 * repl.h: the master's journal replication. The active master sends every
 * event to the standby replicas (`master --standby`, run by singletond's
 * standby-command on the other members with the role). Quorums are
 * majorities of a fixed replica set ([master] replica-nodes, by default the
 * seed nodes): a new master takes over only once a majority of the set has
 * promised its epoch, and acknowledges a request only when its events are
 * durable on a majority of the set (itself included when it is in the set)
 * and on `replicas` standbys. A standby refuses appends of a lower epoch, so
 * a deposed master is fenced. A log that parted from the master's is never
 * cut without keeping what it cuts aside (salvage) until the master has
 * merged it. doc/ARCHITECTURE.md has the design and its guarantees.
 */
#ifndef MASTER_REPL_H
#define MASTER_REPL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "epochs.h"
#include "journal.h"
#include "loop.h"
#include "proto.h"

#define REPL_MAX_STANDBYS	64

struct standby {
	uint64_t uid;
	char name[CONF_NAME_MAX];
	char addr[CONF_ADDR_MAX];
	int in_set;			/* its address is in the replica set */
	uint64_t next, rnext;		/* what to send next: events, result lines */
	uint64_t snap_off;		/* of the snapshot, when it is behind it */
	uint64_t acked;			/* durable there up to here (events and results) */
	msec_t sent_at;			/* an append is in flight since (0: none) */
	uint64_t trunc;			/* its log parts from ours after this seq ... */
	int trunc_set;			/* ... and it must keep the rest aside and cut there */
	int promised;			/* recovery: it promised our epoch */
	uint64_t last, last_ep;		/* recovery: its log */
	struct epoch_run runs[EPOCHS_MSG_MAX];	/* recovery: its epoch runs */
	int nruns;
	uint64_t runs_lo;
	uint64_t salv_upto, salv_need;	/* its salvage merged up to here, to ack once committed */
	int salv_pending;
};

/*
 * Merges salvaged events ([{"k", "ev"}]) from a divergent log into the work
 * state by journaling new events; src names the log ("tcp://... (NODE)").
 */
typedef void (*repl_merge_fn)(void *arg, const cJSON *items, const char *src);

struct repl {
	const struct akc_config *cfg;
	char svc[RELAY_SVC_MAX], topic[RELAY_SVC_MAX + 1], role[CONF_ROLE_MAX];
	struct journal *j;
	int push, sub;
	uint64_t self, epoch;
	struct standby sb[REPL_MAX_STANDBYS];
	int nsb;
	/* the replica set: quorum of them, self counting when in it */
	int nset, quorum, self_in_set;
	char set_who[CONF_MAX_SEEDS][CONF_NAME_MAX + CONF_ROLE_MAX + 24];	/* who is there, for the logs */
	uint64_t committed;		/* the commit point; it never goes back */
	msec_t next_view;
	int deposed;
	uint64_t dropped, dropped_version;
	repl_merge_fn merge;
	void *merge_arg;
	uint64_t own_upto, own_need;	/* our own salvage merged up to here, dropped once committed */
	uint64_t promised_to;		/* standby: the master it promised its epoch to */
	uint64_t master;		/* standby: the master it follows (its salvage goes there) */
	msec_t salv_sent;		/* standby: a salvage piece in flight since */
	/* a snapshot arriving in pieces */
	char *asm_buf;
	size_t asm_len, asm_total;
	uint64_t asm_seq;
};

/* Connects to memberd's relay for singleton name; -1 with a reason. */
int repl_open(struct repl *, const struct akc_config *, const char *name, struct journal *,
    char *err, size_t errlen);
void repl_close(struct repl *);
/* The standbys: members with the role but us; 0, or -1 when memberd does not answer. */
int repl_view(struct repl *, msec_t now);
/*
 * Before serving: a new epoch promised by a majority of the replica set
 * (by every standby when the set is empty), and the best log among those
 * that promised copied here, what this log held beyond their common prefix
 * kept aside as salvage. Blocks (polling) until done; 1 if this log
 * changed, 0 if not, -1 on a fatal error.
 */
int repl_recover(struct repl *, char *err, size_t errlen);
/* Sends what the standbys lack (at most one append in flight to each). */
void repl_pump(struct repl *, msec_t now);
/* Handles messages from standbys (acks, salvage); call when its fd is readable. */
void repl_receive(struct repl *, msec_t now);
int repl_fd(const struct repl *);
/*
 * The last seq that may be acknowledged: durable here, on a majority of the
 * replica set and on enough standbys. Never goes back.
 */
uint64_t repl_commit_point(struct repl *);
msec_t repl_next_deadline(const struct repl *);
/* `master --standby`: keeps this node's journal a replica until SIGTERM. */
int repl_standby_main(const struct akc_config *, const char *name, const char *dir);

#endif
