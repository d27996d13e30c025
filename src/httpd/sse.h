/*
 * sse.h: memberd's event stream (akc-events) as Server-Sent Events: one
 * subscription for the whole process, a ring of recent events that
 * Last-Event-ID resumes from, and a snapshot for a new or lost reader.
 */
#ifndef HTTPD_SSE_H
#define HTTPD_SSE_H

#include <stdint.h>

#include <microhttpd.h>

#include "clock.h"

struct httpd;
struct sse;

#define SSE_MAX_STREAMS	64	/* open event streams at most; more get a 503 */

/* Subscribes to memberd's events (nanomsg connects in the background). */
struct sse *sse_new(struct httpd *);
void sse_free(struct sse *);
/*
 * A new stream for connection con: after event last_id when the ring still
 * holds what follows it, else from a snapshot of the current state. NULL
 * when SSE_MAX_STREAMS are open.
 */
struct MHD_Response *sse_open(struct sse *, struct MHD_Connection *con, const char *last_id);
/* Keep-alive comments; returns the next deadline. */
msec_t sse_tick(struct sse *, msec_t now);
/* Ends every stream (the daemon is stopping). */
void sse_stop(struct sse *);
int sse_streams(const struct sse *);
uint64_t sse_dropped(const struct sse *);

#endif
