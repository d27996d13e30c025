/*
 * link.h: a direct TCP link between two daemons that otherwise talk through
 * memberd's relay: the journal link between the active master and its
 * standbys (doc/PROTOCOL.md, "The journal link"), and the proxy link from a
 * singletond's proxy to the oldest's singletond ("The proxy link"). It
 * carries the same messages as the relay, in lib/wire.c's frames sealed
 * under the cluster's keyring (lib/auth.c, kinds of their own per use), so
 * that a round trip costs two process hops instead of six.
 *
 * Who is who stays memberd's: a peer's link (its port and a random id of
 * its process, "sid") is learned only from a message that came through the
 * relay, which memberd authenticated and stamped with the sender's member
 * uid and address; a link frame is taken only from a sid so learned, and
 * is handed on under that member's uid. Every frame names the receiver's
 * sid and carries the sender's counter, checked against a 64-wide window:
 * a frame replayed, or meant for another process, is dropped and counted.
 *
 * A link is used to a peer only while it works both ways: a frame from the
 * peer in the last LINK_TTL ms that says it hears us. Until then, and
 * whenever it stops, the relay carries (the caller's fallback); pings keep
 * an idle link alive. Sends never block (wire's bounded queues).
 */
#ifndef AKC_LINK_H
#define AKC_LINK_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "loop.h"

#define LINK_PORT_OFFSET 1000	/* the default port: the node's + this ([master] port) */
#define LINK_PEERS	16	/* the journal link's peers at most */
#define LINK_PING	500	/* ms without a frame to a peer before a ping goes */
#define LINK_TTL	2000	/* ms a peer's last frame keeps the link up */
#define LINK_FORGET	30000	/* ms unheard and unlearned before a peer is forgotten */

/* What one use of the link is (link_open). */
struct link_opts {
	const char *what;	/* for logs: "journal link" */
	int port;		/* 1-65535; 0: one the kernel picks (link_port says which) */
	int plain, sealed;	/* its frame kinds (auth.h) */
	int peers;		/* peers at most (up to 64) */
};

/* A journal message from member uid over the link (body: the parsed JSON, the callee's to free). */
typedef void (*link_msg_cb)(void *arg, uint64_t uid, cJSON *body);

struct link_stats {
	uint64_t sent, received;	/* journal messages over the link */
	uint64_t pings_sent, pings_received;
	uint64_t unauthenticated;	/* frames that failed authentication (connection closed) */
	uint64_t malformed;		/* not a link frame, or a body that does not parse */
	uint64_t cluster;		/* authentic, of another cluster name (connection closed) */
	uint64_t replayed;		/* a counter seen before, or older than the window */
	uint64_t stale;			/* for another process (an earlier one, or another node's) */
	uint64_t unknown;		/* from a process not learned through the relay */
	uint64_t unusable;		/* sends that found the link down and went to the relay */
};

struct link;

/*
 * Listens on the node's host at [master] port (default the node's port + 1000;
 * 0: no link, NULL is returned). The keyring is the [security] key-file's,
 * read again when the file changes.
 */
struct link *link_new(struct loop *, const struct akc_config *, link_msg_cb, void *arg);
/* The same for any use; NULL (said) when the address or the key-file do not allow it. */
struct link *link_open(struct loop *, const struct akc_config *, const struct link_opts *,
    link_msg_cb, void *arg);
void link_free(struct link *);
/* Adds "lk" (our port and sid) to a body that goes through the relay; nothing when off. */
void link_stamp(struct link *, cJSON *body);
/*
 * A body that came from member uid through the relay: its "lk" tells the
 * peer's link (at the host of its member address), its absence that it has none.
 */
void link_learn(struct link *, uint64_t uid, const char *member_address, const cJSON *body,
    msec_t now);
/* Sends txt to member uid over the link if it is up: 0, else -1 (use the relay). */
int link_send(struct link *, uint64_t uid, const char *txt, size_t len, msec_t now);
/* The process id (sid) learned for member uid's link; 0: none. */
uint64_t link_peer_sid(const struct link *, uint64_t uid);
/* Whether the link to uid is up now. */
int link_up(const struct link *, uint64_t uid, msec_t now);
/* Pings, the transport's timers, the keyring, forgetting: call at least every LINK_PING. */
void link_tick(struct link *, msec_t now);
msec_t link_deadline(const struct link *);
const struct link_stats *link_stats(const struct link *);
/* The counters and peers, for the master's status. */
cJSON *link_json(const struct link *, msec_t now);
/* One line of counters, for the standby's log. */
void link_summary(const struct link *, char *buf, size_t len);

/* The port it listens on (0: not listening yet). */
int link_port(const struct link *);

#endif
