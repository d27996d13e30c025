/*
 * sse.c: Server-Sent Events of memberd's event stream.
 *
 * One SUB socket on memberd.events feeds a ring of the last events (by
 * count and bytes). Each stream is a cursor into that ring ("the next seq
 * I owe this client") plus the bytes of the frame being written; MHD asks
 * for body bytes through a content reader, which suspends the connection
 * when there is nothing to send and is resumed when an event arrives.
 *
 * The rules, and where they are weak:
 * 1. A new stream, or one whose Last-Event-ID the ring no longer covers,
 *    starts with a snapshot (memberd's "snapshot" answer, as akc-events
 *    prints it). Its events carry the snapshot's seq, and only the last one
 *    has the "id:" line: a client cut off inside the snapshot resumes with
 *    its older id and gets a whole snapshot again, never half of one. A
 *    named "snapshot" event comes first so that a page can start afresh.
 * 2. The subscription is made before any snapshot is asked for, so
 *    nothing falls between them; an event that overtakes the snapshot's
 *    answer (ipc connections do not keep order between each other) has a
 *    seq at or below the snapshot's and is not sent twice.
 * 3. A gap in seq (PUB drops events when we are slow) or a seq going back
 *    (memberd restarted) empties the ring: every stream that would miss
 *    events gets a new snapshot, as akc-events does.
 * 4. A slow client never holds memory or the loop: the kernel's socket
 *    buffer and MHD's connection buffer fill, MHD stops asking for more,
 *    and once the ring has dropped an event the client still owes, the
 *    stream is ended (counted in sse_dropped). The browser's EventSource
 *    reconnects with Last-Event-ID and gets a snapshot. Its weak point: a
 *    client that stalls while nothing happens is only caught by MHD's
 *    connection timeout, which the keep-alive comments keep from firing for
 *    clients that do read.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>

#include "backend.h"
#include "buf.h"
#include "evring.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "sock.h"
#include "sse.h"
#include "stream.h"
#include "xmalloc.h"

#define EVENT_MAX	(64 * 1024)	/* larger event messages are dropped (memberd's are < 2 KiB) */

enum cstate {
	C_SNAPSHOT,		/* waiting for memberd's snapshot */
	C_STREAM,		/* sending the ring from seq want on */
	C_END,			/* ends once its bytes are out */
	C_DROP			/* ends now, as an error */
};

struct client {
	struct stream st;	/* first: a client is its stream */
	struct sse *s;
	enum cstate state;
	uint64_t want;		/* the seq it is owed next */
};

struct sse {
	struct httpd *h;
	int sub, fd;
	struct evring ring;
	struct streams set;
	uint64_t dropped;
};

static void
drop(struct client *c, const char *why)
{
	if (c->state == C_DROP)
		return;
	log_info("ending an event stream: %s", why);
	c->s->dropped++;
	c->state = C_DROP;
	c->st.closing = 1;
	stream_wake(&c->st);
}

static void on_snapshot(void *arg, int slot, cJSON *rsp, const char *err);

/* Asks memberd for a snapshot for c. */
static void
resnap(struct client *c)
{
	c->state = C_SNAPSHOT;
	if (backend_call(c->s->h->be, SOCK_MEMBERD_CTL, ctl_request(CTL_SNAPSHOT), T_CTL,
	    on_snapshot, c, 0) < 0)
		drop(c, "too many calls to the daemons in flight");
}

static void
frame(struct buf *b, const char *event, uint64_t id, int with_id, const char *data)
{
	if (event != NULL)
		buf_printf(b, "event: %s\n", event);
	if (with_id)
		buf_printf(b, "id: %llu\n", (unsigned long long)id);
	buf_printf(b, "data: %s\n\n", data);
}

static void
on_snapshot(void *arg, int slot, cJSON *rsp, const char *err)
{
	struct client *c = arg;
	cJSON *evs, *ev, *e;
	uint64_t seq;
	char ts[40], *txt;
	int ok = 0, i, n;

	(void)slot;
	if (c->state != C_SNAPSHOT) {
		cJSON_Delete(rsp);	/* ended meanwhile */
		return;
	}
	if (rsp == NULL || json_bool(rsp, "ok", &ok) < 0 || !ok || json_u64(rsp, "seq", &seq) < 0 ||
	    !cJSON_IsArray(evs = cJSON_GetObjectItemCaseSensitive(rsp, "events"))) {
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "error", rsp == NULL ? err : json_str(rsp, "error") ?
		    json_str(rsp, "error") : "bad snapshot from memberd");
		txt = json_print(e);
		frame(&c->st.out, "stream-error", 0, 0, txt);
		cJSON_free(txt);
		cJSON_Delete(e);
		cJSON_Delete(rsp);
		c->state = C_END;
		stream_wake(&c->st);
		return;
	}
	clock_rfc3339(clock_wall_ms(), ts, sizeof(ts));
	n = cJSON_GetArraySize(evs);
	e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "seq", (double)seq);
	cJSON_AddNumberToObject(e, "events", n);
	txt = json_print(e);
	frame(&c->st.out, "snapshot", seq, n == 0, txt);
	cJSON_free(txt);
	cJSON_Delete(e);
	i = 0;
	cJSON_ArrayForEach(ev, evs) {
		cJSON_AddStringToObject(ev, "time", ts);
		cJSON_AddNumberToObject(ev, "seq", (double)seq);
		txt = json_print(ev);
		frame(&c->st.out, NULL, seq, ++i == n, txt);
		cJSON_free(txt);
	}
	cJSON_Delete(rsp);
	c->state = C_STREAM;
	c->want = seq + 1;
	stream_wake(&c->st);
}

/* An event into the ring, and what it means for each stream (rules 2 to 4). */
static void
push(struct sse *s, uint64_t seq, char *json)
{
	uint64_t before = s->ring.hi;
	int was_valid = s->ring.valid;
	enum evring_cont cont = evring_push(&s->ring, seq, json);
	struct stream *st;
	struct client *c;

	if (was_valid && cont != EVRING_NEXT)
		log_info("event seq %llu after %llu: %s; streams that missed events start "
		    "from a new snapshot", (unsigned long long)seq, (unsigned long long)before,
		    cont == EVRING_RESTART ? "memberd restarted" : "events were missed");
	for (st = s->set.head; st != NULL; st = st->next) {
		c = (struct client *)st;
		if (c->state != C_STREAM)
			continue;
		if (cont == EVRING_RESTART || (cont != EVRING_NEXT && c->want < seq))
			resnap(c);
		else if (evring_behind(&s->ring, c->want))
			drop(c, "the client reads too slowly (it fell a ring of events behind)");
		else if (c->want <= seq)
			stream_wake(&c->st);
	}
}

static void
on_event(int fd, short revents, void *arg)
{
	struct sse *s = arg;
	void *buf;
	ssize_t n;
	cJSON *ev;
	long seq;

	(void)fd;
	(void)revents;
	while ((n = sock_recv(s->sub, &buf)) >= 0) {
		ev = n <= EVENT_MAX ? json_parse(buf, (size_t)n) : NULL;
		nn_freemsg(buf);
		if (!cJSON_IsObject(ev) || json_str(ev, "type") == NULL ||
		    json_int(ev, "seq", 1, 1L << 53, &seq) < 0) {
			log_warnx("dropped a malformed event from memberd");
			cJSON_Delete(ev);
			continue;
		}
		push(s, (uint64_t)seq, json_print(ev));
		cJSON_Delete(ev);
	}
}

struct sse *
sse_new(struct httpd *h)
{
	char addr[CONF_PATH_MAX + 32];
	struct sse *s;

	s = xcalloc(1, sizeof(*s));
	s->h = h;
	evring_init(&s->ring, 0, 0);
	config_ipc_path(&h->cfg, SOCK_MEMBERD_EVENTS, addr, sizeof(addr));
	if ((s->sub = sock_connect(NN_SUB, addr, EVENT_MAX * 2, 1000)) < 0 ||
	    nn_setsockopt(s->sub, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0) {
		log_warnx("cannot subscribe to '%s'", addr);
		sock_close(s->sub);
		free(s);
		return NULL;
	}
	s->fd = sock_rcvfd(s->sub);
	loop_watch(h->loop, s->fd, POLLIN, on_event, s);
	streams_init(&s->set, h, SSE_MAX_STREAMS);
	return s;
}

void
sse_free(struct sse *s)
{
	if (s == NULL)
		return;
	evring_free(&s->ring);
	loop_unwatch(s->h->loop, s->fd);
	sock_close(s->sub);
	free(s);
}

/* Formats the events c is owed into its buffer, as many as fit in STREAM_FILL. */
static void
fill(struct client *c)
{
	const struct evring_ev *e;

	if (evring_behind(&c->s->ring, c->want)) {
		drop(c, "the client reads too slowly (it fell a ring of events behind)");
		return;
	}
	while (buf_left(&c->st.out) < STREAM_FILL &&
	    (e = evring_get(&c->s->ring, c->want)) != NULL) {
		frame(&c->st.out, NULL, e->seq, 1, e->json);
		c->want++;
	}
}

/* MHD's content reader: body bytes of the stream, or suspend until there are some. */
static ssize_t
on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct client *c = cls;

	(void)pos;
	if (c->state == C_DROP)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (buf_left(&c->st.out) == 0 && c->state == C_STREAM)
		fill(c);
	if (c->state == C_DROP)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (buf_left(&c->st.out) > 0)
		return (ssize_t)buf_take(&c->st.out, buf, max);
	if (c->state == C_END || c->s->set.stopping)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return stream_suspend(&c->st);
}

struct MHD_Response *
sse_open(struct sse *s, struct MHD_Connection *con, const char *last_id)
{
	struct client *c;
	uint64_t last;

	c = xcalloc(1, sizeof(*c));
	if (stream_open(&s->set, &c->st, con) < 0) {
		free(c);
		return NULL;
	}
	c->s = s;
	if (last_id != NULL && str_to_u64(last_id, &last) == 0 && evring_covers(&s->ring, last)) {
		c->state = C_STREAM;
		c->want = last + 1;
	} else
		resnap(c);
	return stream_response(&c->st, on_read);
}

msec_t
sse_tick(struct sse *s, msec_t now)
{
	return streams_keepalive(&s->set, now);
}

void
sse_stop(struct sse *s)
{
	struct stream *st;
	struct client *c;

	s->set.stopping = 1;
	for (st = s->set.head; st != NULL; st = st->next) {
		c = (struct client *)st;
		backend_cancel(s->h->be, c);
		if (c->state == C_SNAPSHOT)
			c->state = C_END;
		stream_wake(st);
	}
}

int
sse_streams(const struct sse *s)
{
	return s->set.n;
}

uint64_t
sse_dropped(const struct sse *s)
{
	return s->dropped;
}
