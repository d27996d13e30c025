/* peers.h: a bounded pool of PUSH sockets to other nodes, sends never block. */
#ifndef MEMBERD_PEERS_H
#define MEMBERD_PEERS_H

#include <stddef.h>

#include "clock.h"
#include "loop.h"

struct peers;

/* At most max sockets (nanomsg allows 512 a process); least recently used go first. */
struct peers *peers_new(struct loop *, int max);
void peers_free(struct peers *);
/*
 * Sends frame to address without blocking. A socket that is not connected
 * yet queues a few frames (bounded, expiring); the rest are dropped, which
 * the failure detector and gossip rounds are built to absorb.
 */
void peers_send(struct peers *, const char *address, const void *frame, size_t len, msec_t now);
/* Closes the socket to address (if any): the next send opens a new connection. */
void peers_reset(struct peers *, const char *address);
/* Drops queued frames older than the expiry; closes idle sockets. */
void peers_expire(struct peers *, msec_t now);
int peers_count(const struct peers *);

#endif
