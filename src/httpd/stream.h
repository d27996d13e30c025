/*
 * stream.h: what akc-httpd's two kinds of event stream (sse.c: memberd's
 * events, rstream.c: result lines) share: the list of open streams, each
 * stream's pending bytes and suspended connection, the response with its
 * headers, and the keep-alive comments.
 *
 * A kind embeds struct stream as the first member of its own client, so a
 * client pointer is its stream pointer (and the key of its backend calls).
 */
#ifndef HTTPD_STREAM_H
#define HTTPD_STREAM_H

#include <sys/types.h>

#include <microhttpd.h>

#include "buf.h"
#include "clock.h"

struct httpd;

#define STREAM_FILL	(16 * 1024)	/* bytes MHD asks a reader for at once */

struct stream {
	struct streams *set;
	struct MHD_Connection *con;
	struct stream *prev, *next;
	struct buf out;		/* bytes MHD has not taken yet */
	int suspended;
	int closing;		/* ending: no more keep-alive comments */
};

struct streams {
	struct httpd *h;
	struct stream *head;
	int n, max;
	msec_t next_keepalive;
	int stopping;
};

void streams_init(struct streams *, struct httpd *, int max);
/*
 * Links st (zeroed, the first member of its kind's client) for connection
 * con and queues the reconnection delay. -1 when max streams are open or the
 * daemon is stopping.
 */
int stream_open(struct streams *, struct stream *, struct MHD_Connection *con);
/*
 * The event-stream response reading st through reader. When MHD is done
 * with it (the connection ended), st is unlinked, its backend calls are
 * cancelled and it is freed: its whole client, of which it is the start.
 */
struct MHD_Response *stream_response(struct stream *, MHD_ContentReaderCallback reader);
/* Resumes st's connection if it waits for bytes. */
void stream_wake(struct stream *);
/* For a content reader with nothing to send yet: suspends st's connection. */
ssize_t stream_suspend(struct stream *);
/* Keep-alive comments to idle streams when due; returns the next deadline. */
msec_t streams_keepalive(struct streams *, msec_t now);

#endif
