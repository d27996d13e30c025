/*
 * sps.h: raw REQ and REP sockets over plain unix sockets, speaking the SP
 * wire protocol of nanomsg's ipc transport, in the calling thread.
 *
 * Why: a nanomsg socket hands every message to and from a worker thread of
 * its own (eventfds, futexes, an epoll of its own). On the work path each
 * submit crossed three such sockets (a client to singletond's proxy,
 * singletond to the master it runs, and back), and those hand-offs were most
 * of the master's and singletond's CPU per submit: 11-12 context switches per
 * submit each, where the work itself needs two or three (bench/README.md,
 * "Raw sockets without nanomsg's threads"). These sockets do the same
 * exchange with a read and a write in the daemon's own loop.
 *
 * Only what the daemons use is built: a raw REP bound to an ipc:// path
 * (peers: nanomsg REQ sockets, lib/spc.c, our raw REQ) and a raw REQ
 * connected to one (peers: nanomsg's REP, ours). lib/sock.c hands them out
 * behind its usual functions, so callers do not change; the wire is the same,
 * so either side may be nanomsg.
 *
 * The wire (nanomsg's ipc transport): each side first sends 8 bytes, "\0SP\0",
 * its protocol (2 bytes, big-endian: REQ 48, REP 49), 2 zero bytes; then each
 * message is 1 byte (1: a normal message), its size (8 bytes, big-endian),
 * and its payload, which starts with the request's backtrace: 4-byte words,
 * the last (the request id) with its top bit set.
 *
 * Headers as callers see them (as nanomsg's raw sockets give them): on a REP,
 * 4 bytes naming the connection (top bit clear) and the backtrace; a reply
 * sent with that header goes back on that connection, or nowhere if it is
 * gone. On a REQ, the 4-byte request id.
 *
 * Limits: a message over rcvmax closes its connection (as nanomsg does); a
 * peer whose header is not the expected protocol is closed; replies queued
 * for a peer that does not read are bounded (SPS_OUT_MAX), past that the
 * peer is closed; a REP reads no more while SPS_QUEUE_MAX messages wait;
 * a bound socket takes at most SPS_CONN_MAX connections, and closes one
 * that does not send its header, or the rest of a frame, in time (below).
 * Everything closed or dropped is counted (sps_dropped).
 */
#ifndef AKC_SPS_H
#define AKC_SPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"

#define SPS_OUT_MAX	(16 << 20)	/* bytes queued for one peer */
#define SPS_QUEUE_MAX	1024		/* messages received, not yet taken */

/*
 * A bound socket's connections (REP, PUB, PULL): at most SPS_CONN_MAX at
 * once (one more is accepted and closed at once: refused), and each must
 * send its header within SPS_DEADLINE_MS of being accepted, and each frame
 * within SPS_DEADLINE_MS of its first byte, or be closed (timed out); both
 * counted and logged at most every SPS_SAY_MS per socket. Idle connections
 * between frames are kept; a due that passed while this process did not
 * serve the socket (seen 1 s or more late) is not the peer's: it gets a
 * new one. The rules, their weak points: sps.c, "Deadlines
 * and the cap". sps_limits sets other values for one socket (0: no cap, no
 * deadline); -1 if h is not a bound socket.
 */
#define SPS_CONN_MAX	512
#define SPS_DEADLINE_MS	5000
#define SPS_SAY_MS	5000
struct sps_conn_stats {
	int open;			/* connections now */
	uint64_t timed_out;		/* closed at their deadline */
	uint64_t refused;		/* over the cap */
};
int sps_limits(int h, int conn_max, int deadline_ms);
void sps_conn_stats(int h, struct sps_conn_stats *st);

/* Handles are small numbers of their own; lib/sock.c offsets them. */
int sps_bind_rep(const char *path, size_t rcvmax);
int sps_connect_req(const char *path, size_t rcvmax, int reconnect_max_ms);
/*
 * PUB, SUB and PULL (memberd's notices and relay socket, leaderd's
 * subscription; peers: nanomsg's SUB, PUB and PUSH, or ours). The wire is
 * the same as REQ/REP's with the protocols PUB 32, SUB 33, PUSH 80, PULL 81,
 * and no backtrace: a message's payload is the message. nanomsg's SUB
 * filters by topic on its own side and sends nothing after its header (a
 * PUB closes a peer that does); our SUB takes every message.
 *
 * sps_publish sends to every subscriber connected, at once where its
 * socket takes it; one with SPS_PUB_BACKLOG bytes or more waiting misses
 * the message (counted in sps_dropped), as nanomsg's PUB drops for a
 * subscriber that does not read; one with less waiting takes any message,
 * however large (its memory: the backlog and one message). A PUB must be served (sps_service) when
 * its fd is readable: that accepts subscribers and closes those gone.
 *
 * A SUB connects at once if the publisher is there, else at sps_sub_tick
 * (no sooner than sps_retry_at, backing off up to reconnect_max_ms), and
 * again after its connection is lost; messages published while it was not
 * connected are not seen: sps_connects counts its connections, for a
 * caller that must look at the publisher's state again after a gap.
 */
#define SPS_PUB_BACKLOG	(256 << 10)
int sps_bind_pub(const char *path);
int sps_bind_pull(const char *path, size_t rcvmax);
int sps_connect_sub(const char *path, size_t rcvmax, int reconnect_max_ms);
int sps_publish(int h, const void *buf, size_t len);
void sps_service(int h);
/* 1 connected, 0 not (yet), -1 not a SUB. */
int sps_sub_tick(int h, msec_t now);
msec_t sps_retry_at(int h);
uint64_t sps_connects(int h);
/* A REQ's or SUB's connection is up (the peer accepted it and has not closed it). */
int sps_connected(int h);
/* The fd to poll for POLLIN: ready while a message may be taken. */
int sps_fd(int h);
/* As sock_recv_raw: *buf from nn_allocmsg (freed with nn_freemsg). */
ssize_t sps_recv(int h, void **buf, unsigned char *hdr, size_t *hdrlen);
/* As sock_send_raw: 0 sent (or dropped for a peer gone), -1 would block. */
int sps_send(int h, const unsigned char *hdr, size_t hdrlen, const void *buf, size_t len);
/* Closes it; a bound one removes its file (if still the one it bound). */
void sps_close(int h);
/* Closes every one (a daemon's exit, as nn_term). */
void sps_term(void);
uint64_t sps_dropped(int h);
/*
 * A REQ's connections lost so far (closed by the peer, broken, or closed
 * for a broken rule): the requests sent on them will not be answered, and
 * a caller with requests out sends them again (the next send connects).
 */
uint64_t sps_resets(int h);
/*
 * A REQ connects to path first when something listens there, else to the
 * address it was made with (the local master's own socket, then the proxy:
 * the worker). sps_req_on_prefer: whether it is connected to path now.
 */
int sps_req_prefer(int h, const char *path);
int sps_req_on_prefer(int h);

#endif
