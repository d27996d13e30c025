/*
 * wire.h: memberd's node-to-node transport. Shared with the master's
 * journal link to its standbys and singletond's proxy link (lib/link.c).
 * Length-prefixed frames over plain TCP, every socket non-blocking in the
 * caller's poll loop: no library threads, no allocation a peer can make us
 * do before one of its frames has passed authentication, a cap on
 * connections, and sends that never block (doc/ARCHITECTURE.md, "The
 * transport").
 */
#ifndef AKC_WIRE_H
#define AKC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "loop.h"

/* Largest frame a connection may carry before one of its frames authenticated. */
#define WIRE_PREAUTH_MAX	(64 * 1024)

/*
 * What the receiver made of a frame: WIRE_OK (authentic: the connection may
 * now carry large frames), WIRE_DROP (authentic but dropped, or harmless),
 * WIRE_BAD (failed authentication: the connection is closed).
 */
enum wire_verdict { WIRE_OK, WIRE_DROP, WIRE_BAD };

/* from is the peer's IP address, for logs only. */
typedef enum wire_verdict (*wire_frame_cb)(void *arg, const char *from,
    const unsigned char *frame, size_t len);

/*
 * A fresh small authentic frame (malloc'd) that opens every outbound
 * connection, so that the receiver allows large frames on it at once.
 */
typedef size_t (*wire_hello_cb)(void *arg, unsigned char **frame);
/* The same, for a hello that names its receiver (the journal link's); set after wire_new. */
typedef size_t (*wire_hello_to_cb)(void *arg, const char *address, unsigned char **frame);

struct wire_stats {
	uint64_t accepted;	/* inbound connections accepted */
	uint64_t evicted;	/* closed at the cap to make room, never authenticated */
	uint64_t refused;	/* closed at once: the cap was full of authenticated ones */
	uint64_t preauth_timeout;	/* closed: no authentic frame in time */
	uint64_t oversized;	/* closed: announced a frame over its limit */
	uint64_t emfile;	/* accept failed for want of descriptors */
	uint64_t connects, connect_failed;	/* outbound */
	uint64_t unsent;	/* outbound frames dropped: queue full, expired, or too large to wait */
	uint64_t drained;	/* slots written out at once to be taken for another peer */
	uint64_t frames_out, writes;	/* frames written whole, and the sendmsg calls that wrote them */
	uint64_t frames_in, reads;	/* frames handed to the callback, and the recv calls that read them */
	uint64_t borrowed;	/* sends that took a peer's connection to us instead of opening one */
	uint64_t back_marked;	/* peers' connections whose opener reads what we write on them */
	uint64_t rebound;	/* connections bound anew in place (wire_rebind) */
	int in, out;		/* open now */
};

struct wire;

/*
 * max_out outbound connections (least recently used go first), max_in
 * inbound ones; frame_max is the largest frame an authenticated connection
 * may carry.
 */
struct wire *wire_new(struct loop *, int max_out, int max_in, size_t frame_max,
    wire_frame_cb cb, wire_hello_cb hello, void *arg);
void wire_free(struct wire *);
void wire_hello_to(struct wire *, wire_hello_to_cb);
/* Listens on tcp://HOST:PORT (HOST may be * or an IP address or a name). -1 with a warning. */
int wire_listen(struct wire *, const char *address);
/*
 * Sends frame to address without blocking. Frames wait (bounded, expiring
 * after 2 s) while the connection opens, and while a failed one is tried
 * again (100 ms, doubling to 1 s); the rest are dropped, which the failure
 * detector and gossip rounds are built to absorb.
 */
void wire_send(struct wire *, const char *address, const void *frame, size_t len, msec_t now);
/*
 * Bound connections (memberd's short forms, doc/PROTOCOL.md "Compact
 * digests and bound connections"). wire_bound opens the connection to
 * address if it can, and says what its hello bound it to (0: nothing, or
 * not open). The hello callback calls wire_set_bound to bind the
 * connection it opens. wire_send_bound sends a frame that is only valid on
 * a connection bound to bound: dropped (unsent) if the connection went,
 * and if it goes before the frame is written, the next connection drops
 * it unless its hello binds it the same. On the receiving side, wire_tag
 * is, during the frame callback, the connection's own note (initially 0)
 * that the callback may read and set: what its bind frame said.
 */
uint64_t wire_bound(struct wire *, const char *address, msec_t now);
void wire_set_bound(struct wire *, uint64_t bound);
/*
 * Sends a new hello on the connection to address if it is open with
 * nothing waiting, which binds it anew (wire_set_bound): 1 if it did.
 */
int wire_rebind(struct wire *, const char *address);
void wire_send_bound(struct wire *, const char *address, const void *frame, size_t len,
    uint64_t bound, msec_t now);
uint64_t *wire_tag(struct wire *);
/*
 * Between wire_cork and wire_uncork, wire_send only queues: what a burst of
 * relays queued for one peer leaves in one write (memberd's on_relay), and
 * so do the frames a loop turn's timers send (memberd_run). Nests.
 */
void wire_cork(struct wire *);
void wire_uncork(struct wire *, msec_t now);
/*
 * on: the frames read from one connection in one wake-up are corked, what
 * the callback sends for them leaves once they are all handled (memberd;
 * off by default: a caller that sends and then blocks in the callback, an
 * fsync, would hold its answer behind it).
 */
void wire_cork_reads(struct wire *, int on);
/*
 * Two-way connections (doc/PROTOCOL.md, "Answers on the opener's
 * connection"). wire_read_back(w, 1): our own connections are read as well,
 * their frames handed to the callback as an inbound connection's (wire_tag
 * is then the reader's own note); the peer may write back on them. During
 * the frame callback, wire_back says that the current connection, a peer's
 * to us, is read by its opener, which is at address (NULL: not known yet;
 * a later call names it): sends to that address then go on it while we
 * have no connection of our own there, after our own hello. -1 if the
 * frame came on one of our own connections. wire_back_unnamed: the
 * current connection is one that still wants its address. The hello
 * callback may call wire_hello_also to have a second frame follow the
 * hello (memberd's "reads back" mark): 1 if it will, 0 if not (the hello
 * opens our side of a peer's connection).
 */
void wire_read_back(struct wire *, int on);
int wire_back(struct wire *, const char *address);
/*
 * During the frame callback: the current connection, a peer's to us,
 * carried a frame bound to our incarnation that passed the replay checks
 * (a message with our uid as "to" and a fresh counter). Only such a
 * connection is written on (wire_back alone does not suffice: the hello
 * that says "rb" names no receiver, so a replayed one passes). If we have
 * a connection of our own to its opener with nothing waiting and our
 * address (wire_listen's) is the higher, it is closed: the pair's next
 * frames take this one (the lower keeps its own, which the peer then
 * takes). -1 if the frame came on one of our own connections.
 */
int wire_back_fresh(struct wire *, msec_t now);
/* The current connection's opener said it reads back, and it is not proved yet. */
int wire_back_pending(const struct wire *);
int wire_back_unnamed(const struct wire *);
int wire_hello_also(struct wire *, const void *frame, size_t len);
/* Closes the connection to address (if any): the next send opens a new one. */
void wire_reset(struct wire *, const char *address);
/* Timers: connect and stall timeouts, expiring frames, idle and unauthenticated connections. */
void wire_expire(struct wire *, msec_t now);
/* When wire_expire should run next to retry a connection that has frames waiting (-1: none). */
msec_t wire_deadline(const struct wire *);
const struct wire_stats *wire_stats(const struct wire *);
/* The port wire_listen bound (the kernel's pick for port 0); 0 when not listening. */
int wire_port(const struct wire *);

#endif
