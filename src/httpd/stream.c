/*
 * stream.c: the list of open event streams and what every stream does the
 * same way, whatever feeds it (see stream.h).
 */
#include <stdlib.h>

#include "backend.h"
#include "httpd.h"
#include "stream.h"

#define KEEPALIVE	15000		/* ms between comments on an idle stream */
#define RECONNECT	2000		/* ms: EventSource's reconnection delay */

void
streams_init(struct streams *set, struct httpd *h, int max)
{
	set->h = h;
	set->head = NULL;
	set->n = 0;
	set->max = max;
	set->next_keepalive = clock_mono_ms() + KEEPALIVE;
	set->stopping = 0;
}

int
stream_open(struct streams *set, struct stream *st, struct MHD_Connection *con)
{
	if (set->n >= set->max || set->stopping)
		return -1;
	st->set = set;
	st->con = con;
	st->prev = NULL;
	st->next = set->head;
	if (set->head != NULL)
		set->head->prev = st;
	set->head = st;
	set->n++;
	buf_printf(&st->out, "retry: %d\n\n", RECONNECT);
	return 0;
}

/* MHD is done with the response: the connection has ended. */
static void
gone(void *cls)
{
	struct stream *st = cls;
	struct streams *set = st->set;

	/* st is its client's first member: the same pointer its calls were made with */
	backend_cancel(set->h->be, st);
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		set->head = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	set->n--;
	buf_free(&st->out);
	free(st);
}

struct MHD_Response *
stream_response(struct stream *st, MHD_ContentReaderCallback reader)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_FILL, reader, st, gone);
	if (resp == NULL)
		fatalx("cannot make an event stream response");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* a proxy in front (nginx) must not hold events back */
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	return resp;
}

void
stream_wake(struct stream *st)
{
	if (st->suspended) {
		st->suspended = 0;
		httpd_resume(st->set->h, st->con);
	}
}

ssize_t
stream_suspend(struct stream *st)
{
	MHD_suspend_connection(st->con);
	st->suspended = 1;
	return 0;
}

msec_t
streams_keepalive(struct streams *set, msec_t now)
{
	struct stream *st;

	if (now >= set->next_keepalive) {
		set->next_keepalive = now + KEEPALIVE;
		for (st = set->head; st != NULL; st = st->next)
			if (buf_left(&st->out) == 0 && !st->closing) {
				buf_puts(&st->out, ": keep-alive\n\n");
				stream_wake(st);
			}
	}
	return set->next_keepalive;
}
