/*
 * proxy.h: the client side of the singleton proxy, without I/O (Akka's
 * ClusterSingletonProxy, with replies). Local clients' requests are kept in
 * a bounded buffer, in order, until the node running the singleton answers
 * them; they are sent to the oldest member with the role, a few at a time,
 * and sent again when it does not answer, says it cannot serve now (hand-over)
 * or when the oldest changes. A request that cannot be kept (buffer full) or
 * that waited too long gets an error reply instead: never silence.
 */
#ifndef SINGLETOND_PROXY_H
#define SINGLETOND_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "sock.h"

#define PROXY_WINDOW	64	/* requests in flight to the singleton at once */
#define PROXY_RESEND	2000	/* unanswered this long: sent again */
#define PROXY_PROBE	100	/* target not ready: probe with the first request this often */

struct preq {
	uint64_t rid;
	unsigned char hdr[SOCK_HDR_MAX];	/* the client's routing header */
	size_t hdrlen;
	char *body;
	size_t len;
	msec_t at;		/* arrived */
	msec_t sent_at;		/* 0: waits to be sent */
	uint64_t sent_to;
	int again;		/* requeued (proxy_requeue): its next send is a resend */
	/*
	 * The way its first send took to sent_to, kept for its resends, so
	 * that the one who keeps the duplicates sees every copy: PATH_NONE
	 * (not sent yet), PATH_PEER (the oldest's singletond), PATH_MLINK
	 * (the master link to the master process whose link id is pin).
	 */
	int path;
	uint64_t pin;
};

#define PATH_NONE	0
#define PATH_PEER	1
#define PATH_MLINK	2

struct proxy {
	int cap;		/* buffer-size */
	msec_t timeout;		/* request-timeout */
	struct preq *q;		/* in arrival order */
	int n;
	uint64_t next_rid;
	uint64_t target;	/* the oldest with the role; 0: none known */
	int ready;		/* the target answered its last request */
	msec_t probe_at;
	uint64_t accepted, answered, refused, expired, resent;
};

/* What the proxy wants sent (taken by the shell after each call). */
struct psend {
	uint64_t to, rid;
	const char *body;	/* valid until the next call */
	size_t len;
	int again;		/* sent before without an answer (a resend) */
	struct preq *req;	/* the request (its path), valid until the next call */
};

void proxy_init(struct proxy *, int cap, msec_t timeout, uint64_t rid_base);
void proxy_free(struct proxy *);
/* A client request; -1 when the buffer is full (the caller sends the error). */
int proxy_add(struct proxy *, const unsigned char *hdr, size_t hdrlen,
    const void *body, size_t len, msec_t now);
/* The oldest member changed (0: none): what is in flight is sent again. */
void proxy_target(struct proxy *, uint64_t target, msec_t now);
/* The answer to rid: the request leaves the buffer (*out, caller frees body); -1 if unknown. */
int proxy_answered(struct proxy *, uint64_t rid, struct preq *out);
/*
 * The path to `to` failed under what was sent to it (a direct link went
 * down): what is in flight to it is due again now, as a resend.
 */
void proxy_requeue(struct proxy *, uint64_t to);
/*
 * The master link's process at the target is now sid (0: none): requests
 * sent over the link to another one choose their way again, at once.
 */
void proxy_repath(struct proxy *, uint64_t sid);
/* rid cannot be served by `from` now: kept, and sent again later. */
void proxy_nack(struct proxy *, uint64_t from, uint64_t rid, msec_t now);
/* Requests to send now (at most max); returns how many. */
int proxy_due(struct proxy *, msec_t now, struct psend *out, int max);
/* The oldest request that waited longer than the timeout, if any (caller frees body). */
int proxy_expired(struct proxy *, msec_t now, struct preq *out);
msec_t proxy_next_deadline(const struct proxy *);

#endif
