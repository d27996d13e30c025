/*
 * backend.c: one raw REQ socket per local socket that calls go to, shared
 * by every HTTP request; a call is a request id (nanomsg's 4-byte routing
 * header, top bit set) in a table with its deadline.
 *
 * Why raw sockets:
 * 1. A cooked REQ socket has one request in flight, and its nn_recv waits:
 *    one slow daemon would stall every HTTP client. A socket per call
 *    would spend the process's 512 nanomsg sockets on a burst of clients.
 * 2. A raw socket never re-sends (cooked REQ does after 60 s, and the
 *    control handlers are idempotent anyway): a call without an answer
 *    fails at its deadline, and a late answer finds no call and is dropped.
 * 3. Its weak point: nanomsg connects in the background and retries a
 *    refused connect forever, so a socket file whose daemon was killed
 *    looks like a daemon that does not answer. A send that cannot go out
 *    is followed by a plain connect(2) to the file; ECONNREFUSED fails the
 *    call at once as "not running", as the tools say.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "backend.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "sock.h"
#include "xmalloc.h"

#define MAX_CHANS	48
#define RETRY		20	/* ms between sends while nanomsg (re)connects */

struct chan {
	struct backend *b;
	char name[RELAY_SVC_MAX + 8];
	int s, fd;
};

struct call {
	uint32_t id;
	struct chan *ch;
	char *txt;		/* the request (cJSON's), until it has gone out */
	size_t len;
	msec_t timeout, deadline, retry_at;
	int failed;		/* fails at the next tick, with err */
	char err[256];
	backend_cb cb;
	void *arg;
	int slot;
};

struct backend {
	const struct akc_config *cfg;
	struct loop *loop;
	struct chan *ch[MAX_CHANS];
	int nch;
	struct call calls[BACKEND_MAX_CALLS];
	int ncalls;
	uint32_t next_id;
	uint64_t failed;
};

/* What runs behind a run-dir socket, for messages. */
static void
daemon_of(const char *sock, char *buf, size_t len)
{
	size_t n = strlen(sock), pre = strlen(SOCK_SINGLETON_PREFIX);

	if (strcmp(sock, SOCK_MEMBERD_CTL) == 0)
		snprintf(buf, len, "memberd");
	else if (strcmp(sock, SOCK_LEADERD_CTL) == 0)
		snprintf(buf, len, "leaderd");
	else if (strncmp(sock, SOCK_SINGLETON_PREFIX, pre) == 0 && n > pre + 4 &&
	    strcmp(sock + n - 4, ".ctl") == 0)
		snprintf(buf, len, "singletond -s %.*s", (int)(n - pre - 4), sock + pre);
	else if (strncmp(sock, SOCK_SINGLETON_PREFIX, pre) == 0)
		snprintf(buf, len, "the proxy of singletond -s %s", sock + pre);
	else
		snprintf(buf, len, "%s", sock);
}

struct backend *
backend_new(const struct akc_config *cfg, struct loop *loop)
{
	struct backend *b;

	b = xcalloc(1, sizeof(*b));
	b->cfg = cfg;
	b->loop = loop;
	b->next_id = 1;
	return b;
}

void
backend_free(struct backend *b)
{
	int i;

	if (b == NULL)
		return;
	for (i = 0; i < b->ncalls; i++)
		cJSON_free(b->calls[i].txt);
	for (i = 0; i < b->nch; i++) {
		loop_unwatch(b->loop, b->ch[i]->fd);
		sock_close(b->ch[i]->s);
		free(b->ch[i]);
	}
	free(b);
}

static int
find_call(const struct backend *b, uint32_t id)
{
	int i;

	for (i = 0; i < b->ncalls; i++)
		if (b->calls[i].id == id)
			return i;
	return -1;
}

/* Removes call i from the table and runs its callback. */
static void
finish(struct backend *b, int i, cJSON *rsp, const char *err)
{
	struct call c = b->calls[i];

	b->calls[i] = b->calls[--b->ncalls];
	cJSON_free(c.txt);
	if (rsp == NULL)
		b->failed++;
	c.cb(c.arg, c.slot, rsp, err);
}

static void
on_reply(int fd, short ev, void *arg)
{
	struct chan *ch = arg;
	struct backend *b = ch->b;
	unsigned char hdr[SOCK_HDR_MAX];
	char who[RELAY_SVC_MAX + 40], err[sizeof(who) + 64];
	size_t hdrlen = sizeof(hdr);
	cJSON *rsp;
	void *buf;
	ssize_t n;
	uint32_t id;
	long v;
	int i;

	(void)fd;
	(void)ev;
	while ((n = sock_recv_raw(ch->s, &buf, hdr, &hdrlen)) >= 0) {
		id = hdrlen == 4 ? ((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3]) & 0x7fffffff : 0;
		hdrlen = sizeof(hdr);
		if ((i = find_call(b, id)) < 0 || b->calls[i].ch != ch) {
			nn_freemsg(buf);	/* late: its call timed out */
			continue;
		}
		rsp = json_parse(buf, (size_t)n);
		nn_freemsg(buf);
		daemon_of(ch->name, who, sizeof(who));
		if (!cJSON_IsObject(rsp)) {
			snprintf(err, sizeof(err), "bad answer from %s: not a JSON object", who);
			cJSON_Delete(rsp);
			finish(b, i, NULL, err);
		} else if (strstr(ch->name, ".ctl") != NULL &&
		    (json_int(rsp, "v", 0, 1000, &v) < 0 || v != PROTO_VERSION)) {
			snprintf(err, sizeof(err), "bad answer from %s (protocol mismatch?)", who);
			cJSON_Delete(rsp);
			finish(b, i, NULL, err);
		} else
			finish(b, i, rsp, NULL);
	}
}

static struct chan *
chan_get(struct backend *b, const char *sockname)
{
	char addr[CONF_PATH_MAX + RELAY_SVC_MAX + 16];
	struct chan *ch;
	int i;

	for (i = 0; i < b->nch; i++)
		if (strcmp(b->ch[i]->name, sockname) == 0)
			return b->ch[i];
	if (b->nch == MAX_CHANS || strlen(sockname) >= sizeof(ch->name))
		return NULL;
	config_ipc_path(b->cfg, sockname, addr, sizeof(addr));
	ch = xcalloc(1, sizeof(*ch));
	ch->b = b;
	snprintf(ch->name, sizeof(ch->name), "%s", sockname);
	if ((ch->s = sock_connect_raw(NN_REQ, addr, CTL_MAX_MSG, 1000)) < 0) {
		free(ch);
		return NULL;
	}
	ch->fd = sock_rcvfd(ch->s);
	loop_watch(b->loop, ch->fd, POLLIN, on_reply, ch);
	b->ch[b->nch++] = ch;
	return ch;
}

/* Whether a process listens on the unix socket path: 1 yes (or cannot tell), 0 refused. */
static int
listening(const char *path)
{
	struct sockaddr_un sa;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	r = r == 0 || errno != ECONNREFUSED;
	close(fd);
	return r;
}

static void
fail(struct call *c, msec_t now, const char *fmt, ...) AKC_PRINTF(3, 4);

static void
fail(struct call *c, msec_t now, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->failed = 1;
	c->deadline = now;
}

/* Tries to send call c; on failure it is failed, or retried while its daemon listens. */
static void
try_send(struct backend *b, struct call *c, msec_t now)
{
	char err[512], who[RELAY_SVC_MAX + 40], addr[CONF_PATH_MAX + RELAY_SVC_MAX + 16];
	unsigned char hdr[4];
	uint32_t id = c->id | 0x80000000u;
	int r;

	daemon_of(c->ch->name, who, sizeof(who));
	config_ipc_path(b->cfg, c->ch->name, addr, sizeof(addr));
	if ((r = sock_ipc_access(b->cfg, c->ch->name, err, sizeof(err))) == SOCK_DENIED) {
		fail(c, now, "%s", err);
		return;
	}
	if (r == SOCK_ABSENT) {
		fail(c, now, "%s is not running (no socket '%s')", who, addr + 6);
		return;
	}
	hdr[0] = (unsigned char)(id >> 24);
	hdr[1] = (unsigned char)(id >> 16);
	hdr[2] = (unsigned char)(id >> 8);
	hdr[3] = (unsigned char)id;
	if (sock_send_raw(c->ch->s, hdr, sizeof(hdr), c->txt, c->len) == 0) {
		cJSON_free(c->txt);
		c->txt = NULL;
		return;
	}
	if (nn_errno() != EAGAIN)
		fail(c, now, "cannot send to %s: %s", who, nn_strerror(nn_errno()));
	else if (!listening(addr + 6))
		fail(c, now, "%s is not running (nothing listens on '%s')", who, addr + 6);
	else
		c->retry_at = now + RETRY;
}

int
backend_call(struct backend *b, const char *sockname, cJSON *req, msec_t timeout,
    backend_cb cb, void *arg, int slot)
{
	msec_t now = clock_mono_ms();
	struct call *c;
	char who[RELAY_SVC_MAX + 40];

	if (b->ncalls == BACKEND_MAX_CALLS) {
		cJSON_Delete(req);
		return -1;
	}
	c = &b->calls[b->ncalls++];
	memset(c, 0, sizeof(*c));
	if ((b->next_id & 0x7fffffff) == 0)
		b->next_id = 1;
	c->id = b->next_id++ & 0x7fffffff;
	c->cb = cb;
	c->arg = arg;
	c->slot = slot;
	c->timeout = timeout;
	c->deadline = now + timeout;
	c->txt = json_print(req);
	c->len = strlen(c->txt);
	cJSON_Delete(req);
	if ((c->ch = chan_get(b, sockname)) == NULL) {
		daemon_of(sockname, who, sizeof(who));
		fail(c, now, "cannot reach %s: too many sockets, or a bad name", who);
		return 0;
	}
	try_send(b, c, now);
	return 0;
}

void
backend_cancel(struct backend *b, void *arg)
{
	int i;

	for (i = 0; i < b->ncalls; )
		if (b->calls[i].arg == arg) {
			cJSON_free(b->calls[i].txt);
			b->calls[i] = b->calls[--b->ncalls];
		} else
			i++;
}

msec_t
backend_tick(struct backend *b, msec_t now)
{
	char who[RELAY_SVC_MAX + 40], err[sizeof(who) + 64];
	msec_t next = -1, t;
	struct call *c;
	int i;

	/* callbacks may add and cancel calls: look again from the start after each */
again:
	for (i = 0; i < b->ncalls; i++) {
		c = &b->calls[i];
		if (!c->failed && now < c->deadline && c->txt != NULL && now >= c->retry_at)
			try_send(b, c, now);
		if (c->failed) {
			snprintf(err, sizeof(err), "%s", c->err);
			finish(b, i, NULL, err);
			goto again;
		}
		if (now >= c->deadline) {
			daemon_of(c->ch->name, who, sizeof(who));
			snprintf(err, sizeof(err), "%s did not answer within %lldms", who,
			    (long long)c->timeout);
			finish(b, i, NULL, err);
			goto again;
		}
	}
	for (i = 0; i < b->ncalls; i++) {
		c = &b->calls[i];
		t = c->txt != NULL && c->retry_at < c->deadline ? c->retry_at : c->deadline;
		if (next < 0 || t < next)
			next = t;
	}
	return next;
}

int
backend_pending(const struct backend *b)
{
	return b->ncalls;
}

uint64_t
backend_failed(const struct backend *b)
{
	return b->failed;
}
