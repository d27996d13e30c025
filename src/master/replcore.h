/*
 * replcore.h: the journal replication protocol's decisions, without I/O
 * (doc/ARCHITECTURE.md, "The work manager"; doc/PROTOCOL.md, "Journal
 * replication"). Inputs: messages received (parsed JSON bodies), the time
 * (a monotonic clock the caller gives: tests use a virtual one) and facts
 * of the local journal (struct rc_log). Outputs: actions in an outbox
 * (messages to send, journal reads and writes to make, the end of a
 * recovery) and the commit point. No sockets, no clocks, no globals,
 * no randomness (the epoch tags come from a seed the shell gives).
 *
 * One core is either the active master's side (rc_master_*) or a standby's
 * (rc_standby_*); repl.c is the shell of both.
 */
#ifndef MASTER_REPLCORE_H
#define MASTER_REPLCORE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "epochs.h"

#define RC_MAX_STANDBYS		64
#define RC_WINDOW		4	/* at most this many appends in flight to one standby (window) */
#define RC_RESEND		1000	/* an append or fetch unanswered this long goes again */
#define RC_PREPARE_EVERY	300
#define RC_QUORUM_GRACE		1000	/* after a majority promised, the others may still */
#define RC_SALVAGE_RESEND	2000	/* a salvage piece not acknowledged goes again */
#define RC_STALL		1000	/* commit behind the log this long, unmoved: "waiting" */
#define RC_SILENT		3000	/* a standby not heard from this long is named as silent */
#define RC_FETCH_MAX		300000	/* a recovery's copy of a log taking longer starts again */
#define RC_EPOCH_TAG_BITS	20
#define RC_WHO_MAX		(CONF_NAME_MAX + CONF_ROLE_MAX + 24)
#define RC_DUTY_QUIET		10	/* ms: a standby on sync duty with an append unanswered this long loses it */
#define RC_LAZY_SYNC		20	/* ms: a lazy standby syncs what it wrote at most this long after */
#define RC_LAZY_SEND		5	/* ms: an append to a standby off duty waits up to this, taking what comes (repl.c) */
#define RC_LAZY_MAX		4096	/* events: a lazy standby holding more unsynced syncs at once */

/* What the shell tells the core about the local journal, at every call. */
struct rc_log {
	uint64_t seq;			/* the last event appended (or stored) */
	uint64_t durable;		/* the last event made durable */
	uint64_t snap_seq;		/* the snapshot covers events up to here */
	uint64_t last_ep;		/* the epoch of the last event */
	uint64_t promised;		/* the epoch promised ("p"), 0 if none */
	int has_salvage;		/* salvage is held ("o" keys) */
	const struct epochs *eps;	/* where each epoch of the log begins */
};

enum rc_act_type {
	RC_SEND,		/* body to `to` (the shell adds "ep" and "jv") */
	RC_APPEND,		/* an append to `to`: the log from `from`/`rfrom` (snapshot at
				   snap_off), prev_ep, trunc when has_trunc, "lazy" when flag
				   (the standby may sync it later); then rc_sent() */
	RC_BATCH,		/* standby: a "batch" to `to`, the log from `from`/`rfrom`/snap_off */
	RC_PROMISE,		/* write the promise of epoch `ep`, synced; stop if it fails */
	RC_KEEP_ASIDE,		/* move the log after `seq` aside (salvage), synced; stop if it fails */
	RC_STORE,		/* store `body` (an append or a fetch answer) into the journal;
				   flag: a lazy append (rc_standby_stored is told so) */
	RC_ACK,			/* standby: once what was stored is synced, "ack" to `to` with
				   rlast (rlast = the log's end when has_trunc, a resend); with
				   flag, at once and unsynced: "written" up to the log's end and
				   rlast, durable as before (a lazy append) */
	RC_SALVAGE_SEND,	/* standby: the next salvage piece to `to` */
	RC_SALVAGE_DROP,	/* drop the salvage up to key `seq`, synced */
	RC_MERGE,		/* merge the salvaged events `body` ("evs") of standby `to` */
	RC_RECOVERED,		/* the recovery is over (flag: this log changed) */
	RC_DEPOSED		/* a newer master took over */
};

struct rc_action {
	enum rc_act_type type;
	uint64_t to, from, rfrom, snap_off, prev_ep, trunc, seq, ep, rlast;
	int has_trunc, flag;
	cJSON *body;		/* RC_SEND: owned by the outbox; RC_STORE, RC_MERGE: borrowed */
};

#define RC_OUTBOX	(RC_MAX_STANDBYS * 4 + 16)

struct rc_flight {			/* an append in flight */
	uint64_t last, rlast;
	msec_t at;
};

struct rc_standby {
	uint64_t uid;
	char name[CONF_NAME_MAX];
	char addr[CONF_ADDR_MAX];
	int in_set;			/* its address is in the replica set */
	uint64_t next, rnext;		/* what it has (acked) + 1: events, result lines */
	uint64_t snext, srnext;		/* what to send next (beyond what is in flight) */
	uint64_t snap_off;		/* of the snapshot, when it is behind it */
	uint64_t acked;			/* durable there up to here (events and results) */
	int duty;			/* it must sync what it gets: the commit point counts on it */
	int quiet;			/* on duty, an append unanswered RC_DUTY_QUIET: ranked last */
	int poke;			/* newly on duty with events written, not synced: an append goes */
	int lazy_seen;			/* it answered a lazy append "written" (it speaks lazy) */
	msec_t hold_since;		/* off duty: its next append waits since (lazy_send) */
	struct rc_flight fl[RC_WINDOW];	/* appends in flight, oldest first */
	int nfl;
	uint64_t trunc;			/* its log parts from ours after this seq ... */
	int trunc_set;			/* ... and it must keep the rest aside and cut there */
	int promised;			/* recovery: it promised our epoch */
	uint64_t last, last_ep;		/* recovery: its log */
	struct epoch_run runs[EPOCHS_MSG_MAX];	/* recovery: its epoch runs */
	int nruns;
	uint64_t runs_lo;
	uint64_t salv_upto, salv_need;	/* its salvage merged up to here, to ack once committed */
	int salv_pending;
	msec_t added;			/* it joined the view */
	msec_t heard;			/* its last message (0: never) */
};

enum rc_phase {
	RC_PREPARING,			/* gathering promises of a new epoch */
	RC_FETCHING,			/* copying the best log found */
	RC_SERVING,
	RC_GONE				/* deposed */
};

/* A standby as the membership shows it (the shell's view). */
struct rc_member {
	uint64_t uid;
	char name[CONF_NAME_MAX];
	char addr[CONF_ADDR_MAX];
};

struct rcore {
	/* configuration */
	char self_addr[CONF_ADDR_MAX];
	char sgname[CONF_NAME_MAX], role[CONF_ROLE_MAX];
	char set[CONF_MAX_SEEDS][CONF_ADDR_MAX];
	char set_who[CONF_MAX_SEEDS][RC_WHO_MAX];	/* who is at each address, for the logs */
	int nset, quorum, self_in_set, replicas;
	int window;			/* appends in flight per standby, 1..RC_WINDOW (1 by default) */
	int lazy;			/* standbys off duty sync lazily (1 by default; AKC_REPL_LAZY=0) */
	int lazy_send;			/* ms an append to a standby off duty may wait (0: none) */
	uint64_t rng;			/* the epoch tags */
	/* master */
	enum rc_phase phase;
	uint64_t epoch;
	struct rc_standby sb[RC_MAX_STANDBYS];
	int nsb;
	uint64_t committed;		/* the commit point; it never goes back */
	uint64_t behind_cp;		/* the commit point when it last moved while behind ... */
	msec_t behind_since;		/* ... and since when (0: not behind) */
	msec_t stall_at;		/* when being behind becomes a wait (0: passed, or not behind) */
	msec_t next_prepare, quorum_at, phase_at;
	int best;			/* fetching: the standby whose log is copied */
	uint64_t rfrom;			/* fetching: result lines from here (0: not begun) */
	uint64_t fetch_snap_off;	/* fetching: of its snapshot, when it comes in pieces */
	msec_t fetch_sent;
	uint64_t own_upto, own_need;	/* our own salvage merged up to here, dropped once committed */
	uint64_t duty_moves;		/* the sync duty went to another standby (a quiet one's) */
	/* standby */
	uint64_t promised_to;		/* the master it promised its epoch to */
	uint64_t master;		/* the master it follows (its salvage goes there) */
	msec_t salv_sent;		/* a salvage piece in flight since */
	msec_t lazy_since;		/* written, not synced, since (0: nothing owed) ... */
	uint64_t owed_to, owed_rlast;	/* ... and the durable ack that waits for the sync */
	/* both */
	uint64_t dropped;		/* messages dropped: malformed, unexpected */
	struct rc_action out[RC_OUTBOX];
	int nout;
};

/*
 * A core for singleton sgname (of role `role`) on the node at self_addr,
 * with the replica set (set[0..nset)), `replicas` standbys to wait for,
 * and seed for the epoch tags.
 */
void rc_init(struct rcore *, const char *self_addr, const char *sgname, const char *role,
    char set[][CONF_ADDR_MAX], int nset, int replicas, uint64_t seed);
/* Frees what the outbox still owns and empties it. */
void rc_clear(struct rcore *);
int rc_in_set(const struct rcore *, const char *addr);

/* ---- the active master ---- */

/* The standbys (members with the role but us, Up or Leaving) as the membership shows them. */
void rc_view(struct rcore *, const struct rc_member *, int n, msec_t now);
/* Starts a recovery: a new epoch above what the log knows; prepares go out at the next tick. */
void rc_recover(struct rcore *, const struct rc_log *, msec_t now);
/* A message from a standby (body validated field by field here). */
void rc_master_msg(struct rcore *, const struct rc_log *, uint64_t from, const cJSON *body, msec_t now);
/* Time passes: prepares, the end of a recovery, appends, resends, salvage acks. */
void rc_tick(struct rcore *, const struct rc_log *, msec_t now);
/* The append the shell made of an RC_APPEND carried the log up to last/rlast. */
void rc_sent(struct rcore *, uint64_t to, uint64_t last, uint64_t rlast, int snap_piece, msec_t now);
/* A fetched batch was stored (rc 0: results up to rlast), or a snapshot piece kept (1: snap_len bytes in). */
void rc_fetched(struct rcore *, int rc, uint64_t rlast, uint64_t snap_len);
/* A fetched batch was dropped (malformed, or late): asked again in time, from snap_len bytes of a snapshot in. */
void rc_fetch_dropped(struct rcore *, uint64_t snap_len);
/* The salvage of standby from was merged (RC_MERGE): the log now ends at seq. */
void rc_merged(struct rcore *, uint64_t from, uint64_t seq);
/* Our own salvage was merged up to key upto, by events up to need. */
void rc_own_merged(struct rcore *, uint64_t upto, uint64_t need);
/*
 * The last seq that may be acknowledged: durable here, on a majority of the
 * replica set and on enough standbys. Never goes back.
 */
uint64_t rc_commit_point(struct rcore *, const struct rc_log *);
/*
 * Whether the master puts its sync of a batch of nbatch events off: while
 * events durable here (up to durable) wait for a standby's ack (the commit
 * point cp below durable), a sync, which blocks the master's loop, would
 * hold that ack and the answers it releases; so it waits for it, until
 * *until (set to now + RC_SYNC_WAIT at the first turn that puts it off,
 * 0 when it does not wait). Returns 1 to put the sync off (*started is
 * set when this turn began a wait: the master counts them).
 */
#define RC_SYNC_WAIT	2	/* ms */
int rc_sync_wait(int nbatch, uint64_t cp, uint64_t durable, msec_t now, msec_t *until,
    int *started);
/*
 * What the master waits for, in one line (into buf), when it does: a
 * recovery, or a commit point that has not moved for RC_STALL while the log
 * is ahead of it. Returns 0 when it waits for nothing.
 */
int rc_waiting(const struct rcore *, const struct rc_log *, msec_t now, char *buf, size_t len);
msec_t rc_next_deadline(const struct rcore *);

/* ---- a standby ---- */

/*
 * A message from a master. Returns 1 when the message must be given again
 * once the actions are done (its log was cut first), else 0.
 */
int rc_standby_msg(struct rcore *, const struct rc_log *, uint64_t from, const cJSON *body,
    msec_t now);
/*
 * What came of an RC_STORE of an append from `to`: stored (0: acked once
 * synced, with rlast), a snapshot piece kept (1: the next piece is asked
 * for, snap_len bytes in), or refused (-1: the master is told where we stand).
 */
void rc_standby_stored(struct rcore *, const struct rc_log *, uint64_t to, int rc,
    uint64_t snap_len, uint64_t rlast, int lazy, msec_t now);
/* A salvage piece to send (or not yet); a lazy sync that is due (an RC_ACK). */
void rc_standby_tick(struct rcore *, const struct rc_log *, msec_t now);
/* When the standby's next lazy sync is due (-1: nothing written waits). */
msec_t rc_standby_deadline(const struct rcore *);

/* A message body {"m": m} (caller or outbox owns it). */
cJSON *rc_msg(const char *m);

#endif
