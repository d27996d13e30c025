/*
 * rstream.h: GET /results as Server-Sent Events (Accept: text/event-stream,
 * or ?follow=1): each stream is a chain of long polls to the master
 * (`results` with `wait`, through backend.c, never blocking the loop), and
 * each result line it gets is one event, its seq the event's id, so a
 * client resumes with Last-Event-ID.
 */
#ifndef HTTPD_RSTREAM_H
#define HTTPD_RSTREAM_H

#include <stdint.h>

#include <microhttpd.h>

#include "clock.h"

struct httpd;
struct rstream;

/*
 * Result streams open at most; more get a 503. Each holds a request parked
 * at the master through this node's proxy, which carries PROXY_WINDOW (64)
 * requests at once: the rest is left to other clients.
 */
#define RSTREAM_MAX	32

struct rstream *rstream_new(struct httpd *);
void rstream_free(struct rstream *);
/* A new stream of the result lines after seq since; NULL when RSTREAM_MAX are open. */
struct MHD_Response *rstream_open(struct rstream *, struct MHD_Connection *con, uint64_t since);
/* Retries after a failed call, keep-alive comments; returns the next deadline (-1: none). */
msec_t rstream_tick(struct rstream *, msec_t now);
/* Ends every stream (the daemon is stopping). */
void rstream_stop(struct rstream *);
int rstream_streams(const struct rstream *);

#endif
