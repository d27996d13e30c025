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
 * Every decision is replcore.c's (sans I/O); this is its shell.
 */
#ifndef MASTER_REPL_H
#define MASTER_REPL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "epochs.h"
#include "journal.h"
#include "svc.h"
#include "link.h"
#include "loop.h"
#include "proto.h"
#include "replcore.h"

/*
 * Merges salvaged events ([{"k", "ev"}]) from a divergent log into the work
 * state by journaling new events; src names the log ("tcp://... (NODE)").
 */
typedef void (*repl_merge_fn)(void *arg, const cJSON *items, const char *src);

struct repl_ack {			/* standby: an ack that waits for the sync */
	uint64_t to, rlast;
	int resend;
};

#define REPL_ACKS	256
#define REPL_TRACE	64

struct repl_trace {			/* AKC_TRACE: one batch of the master's, until committed */
	uint64_t lo, hi;		/* its events */
	int64_t put_us, sent_us, synced_us, sync_us;	/* clock_mono_us; sent: 0 until it went */
	char *ids;			/* "id/event ..." */
};

struct repl {
	const struct akc_config *cfg;
	struct svc svc;			/* memberd's relay, as "journal.NAME" (svc.h) */
	struct journal *j;
	uint64_t self;
	struct rcore c;			/* the decisions (replcore.h) */
	msec_t next_view;
	int recovering;			/* master: a recovery is under way */
	int recovered, changed;		/* master: it ended (this log changed) */
	int deposed;
	int failed;			/* a write the protocol needs failed: err says which */
	char err[512];
	uint64_t dropped_version;
	struct link *link;		/* the journal link (link.h); NULL: off, the relay carries all */
	struct acall *mctl;		/* memberd's control socket for the serving master's view */
	uint64_t view_failed;		/* asynchronous views that got no answer */
	int standby;			/* this is a standby's */
	uint64_t relay_sent, relay_received;	/* journal messages through memberd */
	repl_merge_fn merge;
	void *merge_arg;
	msec_t wait_since, wait_logged;	/* master: waiting (rc_waiting) since, last said at */
	/* a snapshot arriving in pieces */
	char *asm_buf;
	size_t asm_len, asm_total;
	uint64_t asm_seq;
	/* standby: acks that wait for the sync of what they acknowledge */
	struct repl_ack acks[REPL_ACKS];
	int nacks;
	uint64_t dlast, drlast;		/* standby: the last durable ack sent (a written one repeats it) */
	uint64_t written_acks;		/* standby: lazy appends answered "written", unsynced */
	/* AKC_TRACE set: every commit's stages are logged (bench/latency.sh TRACE=1) */
	int trace;
	int serial;			/* AKC_REPL_OVERLAP=0: sync, then send (to measure the overlap) */
	struct repl_trace tr[REPL_TRACE];
	int ntr;
};

/* Connects to memberd's relay for singleton name; -1 with a reason. */
int repl_open(struct repl *, const struct akc_config *, const char *name, struct journal *,
    char *err, size_t errlen);
void repl_close(struct repl *);
/*
 * Starts the journal link (link.h) in loop l: from then on, messages go
 * over it to the nodes it is up to, and through memberd to the others.
 */
void repl_link_start(struct repl *, struct loop *l);
/* The link's and the relay's counters, for the master's status ("link"). */
cJSON *repl_link_json(const struct repl *, msec_t now);
/* The standbys: members with the role but us; 0, or -1 when memberd does not answer. */
int repl_view(struct repl *, msec_t now);
/*
 * Starts the recovery a new master makes before serving: a new epoch
 * promised by a majority of the replica set (by every standby when the set
 * is empty), and the best log among those that promised copied here, what
 * this log held beyond their common prefix kept aside as salvage. It runs
 * in the caller's loop (repl_pump, repl_receive): r->recovered is set when
 * it is over (r->changed: this log changed), r->failed on a fatal error.
 */
int repl_recover(struct repl *, msec_t now, char *err, size_t errlen);
/* Sends what the standbys lack, resends, moves a recovery on; logs a wait every 5 s. */
void repl_pump(struct repl *, msec_t now);
/* Handles messages from standbys (acks, salvage, promises); call when its fd is readable. */
void repl_receive(struct repl *, msec_t now);
int repl_fd(const struct repl *);
/*
 * The last seq that may be acknowledged: durable here, on a majority of the
 * replica set and on enough standbys. Never goes back.
 */
uint64_t repl_commit_point(struct repl *);
/* What the master waits for (one line in buf), or 0 when it does not wait. */
int repl_waiting(struct repl *, msec_t now, char *buf, size_t len);
/* Our own salvage was merged up to key upto; it is dropped once the log is committed up to need. */
void repl_own_merged(struct repl *, uint64_t upto, uint64_t need);
msec_t repl_next_deadline(const struct repl *);
/*
 * The commit trace (AKC_TRACE in the environment): the batch about to be
 * committed is noted before it is sent (repl_trace_batch), its sync after
 * journal_commit (repl_trace_synced); when the commit point passes it, one
 * line gives its stages (put, appends sent, durable here, committed).
 */
void repl_trace_batch(struct repl *);
void repl_trace_synced(struct repl *);
/* `master --standby`: keeps this node's journal a replica until SIGTERM (on lib/loop). */
int repl_standby_main(const struct akc_config *, const char *name, const char *dir);

#endif
