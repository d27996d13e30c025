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
#include "stream.h"
#include "xmalloc.h"

#define PAGE		100		/* lines asked for at once */
#define WAIT		1000		/* ms the master holds a call while nothing is new */
#define CALL_TIMEOUT	(WAIT + 9000)	/* ms before a call counts as failed */
#define RETRY_AFTER	500		/* ms after a failed call */

struct client {
	struct stream st;	/* first: a client is its stream */
	struct rstream *rs;
	uint64_t since;		/* the last seq sent (or the one asked after) */
	int calling;		/* a call is in flight */
	msec_t asked;		/* since then */
	msec_t retry_at;	/* 0, or when to ask again after a failure */
	int failing;		/* the last call failed (said once per outage) */
};

struct rstream {
	struct httpd *h;
	struct streams set;
	uint64_t calls, lines;
};

static void on_answer(void *arg, int slot, cJSON *rsp, const char *err);

static void
ask(struct client *c)
{
	cJSON *req = cJSON_CreateObject();

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
		buf_printf(&c->st.out, ": %s; asking again\n\n", msg);
		log_info("a results stream: %s; asking again", msg);
		stream_wake(&c->st);
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
		buf_puts(&c->st.out, ": the master answers again\n\n");
	c->failing = 0;
	cJSON_ArrayForEach(line, results) {
		if (json_int(line, "seq", 1, 1L << 53, &seq) < 0 || (uint64_t)seq <= c->since)
			continue;	/* never sent twice, never back */
		txt = json_print(line);
		buf_printf(&c->st.out, "id: %ld\ndata: %s\n\n", seq, txt);
		cJSON_free(txt);
		c->since = (uint64_t)seq;
		c->rs->lines++;
	}
	cJSON_Delete(rsp);
	if (buf_left(&c->st.out) > 0)
		stream_wake(&c->st);	/* the next call once MHD has taken these (rule 1) */
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
	if (buf_left(&c->st.out) > 0)
		return (ssize_t)buf_take(&c->st.out, buf, max);
	if (c->st.closing || c->rs->set.stopping)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (!c->calling && c->retry_at == 0)
		ask(c);
	return stream_suspend(&c->st);
}

struct rstream *
rstream_new(struct httpd *h)
{
	struct rstream *rs;

	rs = xcalloc(1, sizeof(*rs));
	rs->h = h;
	streams_init(&rs->set, h, RSTREAM_MAX);
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
	struct client *c;

	c = xcalloc(1, sizeof(*c));
	if (stream_open(&rs->set, &c->st, con) < 0) {
		free(c);
		return NULL;
	}
	c->rs = rs;
	c->since = since;
	ask(c);
	return stream_response(&c->st, on_read);
}

msec_t
rstream_tick(struct rstream *rs, msec_t now)
{
	struct stream *st;
	struct client *c;
	msec_t ka = streams_keepalive(&rs->set, now);
	msec_t d = rs->set.n > 0 ? ka : -1;

	for (st = rs->set.head; st != NULL; st = st->next) {
		c = (struct client *)st;
		if (c->retry_at != 0 && c->retry_at <= now && !c->calling && !rs->set.stopping)
			ask(c);
		if (c->retry_at != 0 && (d < 0 || c->retry_at < d))
			d = c->retry_at;
	}
	return d;
}

void
rstream_stop(struct rstream *rs)
{
	struct stream *st;

	rs->set.stopping = 1;
	for (st = rs->set.head; st != NULL; st = st->next) {
		backend_cancel(rs->h->be, st);
		((struct client *)st)->calling = 0;
		st->closing = 1;
		stream_wake(st);
	}
}

int
rstream_streams(const struct rstream *rs)
{
	return rs->set.n;
}
