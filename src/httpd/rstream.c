/*
 * rstream.c: result lines as Server-Sent Events (see rstream.h).
 *
 * A stream is a cursor (the seq it asks after) and the bytes of the events
 * being written. It asks the master for the lines after its cursor with
 * `wait`: the master holds the request until a line is committed, so an
 * event goes out within a few milliseconds of its commit, with no polling.
 *
 * The rules, and where they are weak:
 * 1. One call in flight per stream, and the next one only once the last
 *    answer's events have been taken by MHD: a slow client slows its own
 *    stream, never holds more than a page of lines (PAGE), never the loop.
 * 2. A call that fails (no master for a while, the proxy's error, a
 *    failover) is not the end: a comment says why and the stream asks
 *    again after RETRY_AFTER; the cursor is only moved by lines it sent,
 *    so nothing is skipped or sent twice by a failover.
 * 3. A client that stalls while nothing happens is caught by MHD's
 *    connection timeout only; keep-alive comments keep it from firing
 *    for clients that do read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "buf.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "rstream.h"
#include "xmalloc.h"

#define PAGE		100		/* lines asked for at once */
#define WAIT		1000		/* ms the master holds a call while nothing is new */
#define CALL_TIMEOUT	(WAIT + 9000)	/* ms before a call counts as failed */
#define RETRY_AFTER	500		/* ms after a failed call */
#define KEEPALIVE	15000		/* ms between comments on an idle stream */
#define RECONNECT	2000		/* ms: EventSource's reconnection delay */
#define FILL		(16 * 1024)

struct client {
	struct rstream *rs;
	struct MHD_Connection *con;
	struct client *prev, *next;
	uint64_t since;		/* the last seq sent (or the one asked after) */
	int calling;		/* a call is in flight */
	msec_t asked;		/* since then */
	msec_t retry_at;	/* 0, or when to ask again after a failure */
	int failing;		/* the last call failed (said once per outage) */
	int ended;
	struct buf out;
	int suspended;
};

struct rstream {
	struct httpd *h;
	struct client *clients;
	int nclients;
	msec_t next_keepalive;
	int stopping;
	uint64_t calls, lines;
};

static void
wake(struct client *c)
{
	if (c->suspended) {
		c->suspended = 0;
		httpd_resume(c->rs->h, c->con);
	}
}

static void on_answer(void *arg, int slot, cJSON *rsp, const char *err);

static void
ask(struct client *c)
{
	cJSON *req = cJSON_CreateObject();

	cJSON_AddNumberToObject(req, "v", WORK_PROTO_VERSION);
	cJSON_AddStringToObject(req, "op", WORK_OP_RESULTS);
	cJSON_AddNumberToObject(req, "since", (double)c->since);
	cJSON_AddNumberToObject(req, "max", PAGE);
	cJSON_AddNumberToObject(req, "wait", WAIT);
	c->retry_at = 0;
	if (backend_call(c->rs->h->be, MASTER_SVC, req, CALL_TIMEOUT, on_answer, c, 0) < 0) {
		/* too many calls in flight: a while later */
		c->retry_at = clock_mono_ms() + RETRY_AFTER;
		return;
	}
	c->calling = 1;
	c->asked = clock_mono_ms();
	c->rs->calls++;
}

/* A failed call: said once (a comment), asked again later (rule 2). */
static void
failed(struct client *c, const char *why)
{
	char msg[300];

	if (!c->failing) {
		snprintf(msg, sizeof(msg), "%s", why);
		/* a comment is one line */
		msg[strcspn(msg, "\r\n")] = '\0';
		buf_printf(&c->out, ": %s; asking again\n\n", msg);
		log_info("a results stream: %s; asking again", msg);
		wake(c);
	}
	c->failing = 1;
	c->retry_at = clock_mono_ms() + RETRY_AFTER;
}

static void
on_answer(void *arg, int slot, cJSON *rsp, const char *err)
{
	struct client *c = arg;
	cJSON *results, *line;
	const char *e;
	long seq;
	char *txt;
	int ok = 0;

	(void)slot;
	c->calling = 0;
	if (rsp == NULL) {
		failed(c, err);
		return;
	}
	if (json_bool(rsp, "ok", &ok) < 0 || !ok ||
	    !cJSON_IsArray(results = cJSON_GetObjectItemCaseSensitive(rsp, "results"))) {
		e = json_str(rsp, "error");
		failed(c, e != NULL ? e : "a bad answer from the master");
		cJSON_Delete(rsp);
		return;
	}
	if (c->failing)
		buf_puts(&c->out, ": the master answers again\n\n");
	c->failing = 0;
	cJSON_ArrayForEach(line, results) {
		if (json_int(line, "seq", 1, 1L << 53, &seq) < 0 || (uint64_t)seq <= c->since)
			continue;	/* never sent twice, never back */
		txt = json_print(line);
		buf_printf(&c->out, "id: %ld\ndata: %s\n\n", seq, txt);
		cJSON_free(txt);
		c->since = (uint64_t)seq;
		c->rs->lines++;
	}
	cJSON_Delete(rsp);
	if (buf_left(&c->out) > 0)
		wake(c);	/* the next call once MHD has taken these (rule 1) */
	else if (clock_mono_ms() - c->asked < WAIT / 2)
		/* empty at once: a master that does not hold requests (older, or full) */
		c->retry_at = clock_mono_ms() + 200;
	else
		ask(c);		/* nothing new, the wait ended: at once again */
}

/* MHD's content reader: the stream's bytes, or suspend until there are some. */
static ssize_t
on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct client *c = cls;

	(void)pos;
	if (buf_left(&c->out) > 0)
		return (ssize_t)buf_take(&c->out, buf, max);
	if (c->ended || c->rs->stopping)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (!c->calling && c->retry_at == 0)
		ask(c);
	MHD_suspend_connection(c->con);
	c->suspended = 1;
	return 0;
}

static void
on_gone(void *cls)
{
	struct client *c = cls;
	struct rstream *rs = c->rs;

	backend_cancel(rs->h->be, c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		rs->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	rs->nclients--;
	buf_free(&c->out);
	free(c);
}

struct rstream *
rstream_new(struct httpd *h)
{
	struct rstream *rs;

	rs = xcalloc(1, sizeof(*rs));
	rs->h = h;
	rs->next_keepalive = clock_mono_ms() + KEEPALIVE;
	return rs;
}

void
rstream_free(struct rstream *rs)
{
	free(rs);
}

struct MHD_Response *
rstream_open(struct rstream *rs, struct MHD_Connection *con, uint64_t since)
{
	struct MHD_Response *resp;
	struct client *c;

	if (rs->nclients >= RSTREAM_MAX || rs->stopping)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->rs = rs;
	c->con = con;
	c->since = since;
	c->next = rs->clients;
	if (rs->clients != NULL)
		rs->clients->prev = c;
	rs->clients = c;
	rs->nclients++;
	buf_printf(&c->out, "retry: %d\n\n", RECONNECT);
	ask(c);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, FILL, on_read, c, on_gone);
	if (resp == NULL)
		fatalx("cannot make an event stream response");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	return resp;
}

msec_t
rstream_tick(struct rstream *rs, msec_t now)
{
	struct client *c;
	msec_t d = rs->nclients > 0 ? rs->next_keepalive : -1;

	for (c = rs->clients; c != NULL; c = c->next) {
		if (c->retry_at != 0 && c->retry_at <= now && !c->calling && !rs->stopping)
			ask(c);
		if (c->retry_at != 0 && (d < 0 || c->retry_at < d))
			d = c->retry_at;
	}
	if (now >= rs->next_keepalive) {
		rs->next_keepalive = now + KEEPALIVE;
		for (c = rs->clients; c != NULL; c = c->next)
			if (buf_left(&c->out) == 0) {
				buf_puts(&c->out, ": keep-alive\n\n");
				wake(c);
			}
	}
	return d;
}

void
rstream_stop(struct rstream *rs)
{
	struct client *c;

	rs->stopping = 1;
	for (c = rs->clients; c != NULL; c = c->next) {
		backend_cancel(rs->h->be, c);
		c->calling = 0;
		c->ended = 1;
		wake(c);
	}
}

int
rstream_streams(const struct rstream *rs)
{
	return rs->nclients;
}
