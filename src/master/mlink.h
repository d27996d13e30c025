/*
 * mlink.h: the master link (doc/PROTOCOL.md, "The master link"). The
 * serving master takes the requests of other nodes' proxies straight from
 * their singletonds over a sealed link of its own (lib/link.c, kinds M and
 * m), so that a request from another node skips the oldest's singletond and
 * its socket to the master, and its answer the same way back. A proxy
 * learns where the master listens, and the master the proxy's link, from
 * hellos through memberd's relay (svc "mlink.NAME"): memberd stays the one
 * source of who runs where.
 *
 * A request over the link is handled as one through the proxy; its header
 * (MLINK_HDR bytes, never one of a socket) names the proxy's member and the
 * request's id, so that its answer, however late, goes back over the link.
 * The master keeps the requests it works on and its last answers by (member,
 * id): a request sent again is ignored while it runs and answered with the
 * same answer after, never run twice.
 */
#ifndef MASTER_MLINK_H
#define MASTER_MLINK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "loop.h"

#define MLINK_HDR	20	/* mark (4), member uid (8), request id (8) */

/* A request to handle: hdr identifies it for mlink_answer. */
typedef void (*mlink_req_cb)(void *arg, const unsigned char *hdr, size_t hdrlen,
    const void *buf, size_t len);

struct mlink;

/*
 * The link and its relay service for singleton sgname; NULL when off
 * (AKC_MASTER_LINK=0, the address or the key-file do not allow it: said).
 */
struct mlink *mlink_open(struct loop *, const struct akc_config *, const char *sgname,
    mlink_req_cb, void *arg);
void mlink_free(struct mlink *);
/* Whether hdr is one of ours (a socket's request with such a header is dropped). */
int mlink_hdr(const unsigned char *hdr, size_t hdrlen);
/* The answer (txt, len) to the request of hdr: kept, and back over the link (mlink_flush). */
void mlink_answer(struct mlink *, const unsigned char *hdr, size_t hdrlen, const char *txt,
    size_t len);
/* Sends the answers of this turn: one "rsps" per proxy. Call before the loop waits. */
void mlink_flush(struct mlink *);
void mlink_tick(struct mlink *, msec_t now);
msec_t mlink_deadline(const struct mlink *);
/* Its counters for akc-queue --json ("mlink"); false when off. */
cJSON *mlink_json(const struct mlink *, msec_t now);

#endif
