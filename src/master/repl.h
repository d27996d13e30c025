/*
 * repl.h: the master's journal replication. The active master sends every
 * event to the standby replicas (`master --standby`, run by singletond's
 * standby-command on the other members with the role) and acknowledges a
 * request only when its events are durable here and on `replicas` of them.
 * Epochs fence a deposed master: a new master makes every standby promise a
 * higher epoch before it takes over, and a standby refuses appends from a
 * lower one. doc/ARCHITECTURE.md has the design and its guarantees.
 */
#ifndef MASTER_REPL_H
#define MASTER_REPL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "journal.h"
#include "loop.h"
#include "proto.h"

#define REPL_MAX_STANDBYS	64

struct standby {
	uint64_t uid;
	char name[CONF_NAME_MAX];
	uint64_t next, rnext;		/* what to send next: events, result lines */
	uint64_t snap_off;		/* of the snapshot, when it is behind it */
	uint64_t acked;			/* durable there up to here (events and results) */
	msec_t sent_at;			/* an append is in flight since (0: none) */
	int promised;			/* recovery: it promised our epoch */
	uint64_t last, last_ep;		/* recovery: its log */
};

struct repl {
	const struct akc_config *cfg;
	char svc[RELAY_SVC_MAX], topic[RELAY_SVC_MAX + 1], role[CONF_ROLE_MAX];
	struct journal *j;
	int push, sub;
	uint64_t self, epoch;
	struct standby sb[REPL_MAX_STANDBYS];
	int nsb;
	msec_t next_view;
	int deposed;
	uint64_t dropped;
	/* the fetch of a recovery */
	uint64_t fetch_from, fetch_rfrom, fetch_until;
	uint64_t fetch_uid;
	uint64_t promised_to;		/* standby: the master it promised its epoch to */
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
 * Before serving: a new epoch promised by every standby, and the longest log
 * among them copied here. Blocks (polling) until done; -1 on a fatal error.
 */
int repl_recover(struct repl *, char *err, size_t errlen);
/* Sends what the standbys lack (at most one append in flight to each). */
void repl_pump(struct repl *, msec_t now);
/* Handles messages from standbys (acks); call when its fd is readable. */
void repl_receive(struct repl *, msec_t now);
int repl_fd(const struct repl *);
/* The last seq that may be acknowledged: durable here and on enough standbys. */
uint64_t repl_commit_point(const struct repl *);
msec_t repl_next_deadline(const struct repl *);
/* `master --standby`: keeps this node's journal a replica until SIGTERM. */
int repl_standby_main(const struct akc_config *, const char *name, const char *dir);

#endif
