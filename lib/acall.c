/* acall.c: asynchronous control calls from a daemon's loop (acall.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "acall.h"
#include "bytes.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "sock.h"
#include "xmalloc.h"

#define RETRY		10	/* ms between sends while the socket is still connecting */

struct call {
	cJSON *req;
	msec_t deadline;	/* answered (or failed) by then */
	acall_cb cb;
	void *arg;
	struct call *next;
};

struct acall {
	struct loop *loop;
	const struct akc_config *cfg;
	char sockname[64];
	char addr[CONF_PATH_MAX + 16];
	int s;			/* the raw REQ socket, -1 until the first send */
	struct call *head, *tail;
	int sent;		/* head is in flight */
	uint32_t id;		/* ...with this request id */
	unsigned long resets;	/* the socket's connections lost when it was sent */
	msec_t retry_at;	/* head could not be sent yet: try again then */
};

static void on_answer(int fd, short ev, void *arg);

struct acall *
acall_new(struct loop *loop, const struct akc_config *cfg, const char *sockname)
{
	struct acall *a;

	a = xcalloc(1, sizeof(*a));
	a->loop = loop;
	a->cfg = cfg;
	a->s = -1;
	snprintf(a->sockname, sizeof(a->sockname), "%s", sockname);
	config_ipc_path(cfg, sockname, a->addr, sizeof(a->addr));
	return a;
}

static void
end_head(struct acall *a, const cJSON *rsp, const char *err, msec_t now)
{
	struct call *c = a->head;

	a->head = c->next;
	if (a->head == NULL)
		a->tail = NULL;
	a->sent = 0;
	a->retry_at = 0;
	cJSON_Delete(c->req);
	c->cb(c->arg, rsp, err, now);
	free(c);
}

void
acall_free(struct acall *a)
{
	if (a == NULL)
		return;
	while (a->head != NULL)
		end_head(a, NULL, "shutting down", clock_mono_ms());
	if (a->s >= 0) {
		loop_unwatch(a->loop, sock_rcvfd(a->s));
		sock_close(a->s);
	}
	free(a);
}

void
acall_call(struct acall *a, cJSON *req, msec_t timeout, acall_cb cb, void *arg, msec_t now)
{
	struct call *c;

	c = xcalloc(1, sizeof(*c));
	c->req = req;
	c->deadline = now + timeout;
	c->cb = cb;
	c->arg = arg;
	if (a->tail != NULL)
		a->tail->next = c;
	else
		a->head = c;
	a->tail = c;
	acall_tick(a, now);
}

/*
 * Sends the head of the queue. The daemon may not be running (no socket, or
 * a stale one left by kill -9): that ends the call at once, as ctl_call()
 * does, rather than after its timeout. Returns -1 when the call ended.
 */
static int
send_head(struct acall *a, msec_t now)
{
	char err[512], *txt;
	unsigned char hdr[4];
	int n;

	/*
	 * A connection still up says the daemon runs (a dead one's is closed):
	 * no probe then, which would cost the daemon an accept and a close.
	 */
	if ((a->s < 0 || !sock_connected(a->s)) &&
	    (n = sock_ipc_access(a->cfg, a->sockname, err, sizeof(err))) != 0) {
		char why[700];

		if (n == SOCK_DENIED)
			snprintf(why, sizeof(why), "%s", err);
		else
			snprintf(why, sizeof(why), "'%s' is not running (%s)", a->sockname, err);
		end_head(a, NULL, why, now);
		return -1;
	}
	/*
	 * A raw REQ (lib/sps.c's on ipc://: no nanomsg thread between us and
	 * the daemon): the request id is ours to set and check, and a request
	 * whose connection broke is ours to send again (acall_tick).
	 */
	if (a->s < 0) {
		if ((a->s = sock_connect_raw(NN_REQ, a->addr, CTL_MAX_MSG, 1000)) < 0) {
			end_head(a, NULL, "cannot create a control socket", now);
			return -1;
		}
		loop_watch(a->loop, sock_rcvfd(a->s), POLLIN, on_answer, a);
	}
	a->id = (a->id + 1) & 0x7fffffffu;
	be32_put(hdr, a->id | 0x80000000u);
	txt = json_print(a->head->req);
	n = sock_send_raw(a->s, hdr, sizeof(hdr), txt, strlen(txt));
	cJSON_free(txt);
	if (n < 0) {
		a->retry_at = now + RETRY;	/* not connected yet */
		return 0;
	}
	a->sent = 1;
	a->resets = sock_resets(a->s);
	a->retry_at = 0;
	return 0;
}

void
acall_tick(struct acall *a, msec_t now)
{
	char why[700];

	/* the connection broke with our request on it: it will not be answered */
	if (a->sent && a->s >= 0 && sock_resets(a->s) != a->resets)
		a->sent = 0;
	while (a->head != NULL) {
		if (now >= a->head->deadline) {
			snprintf(why, sizeof(why), "no answer from '%s' in time", a->sockname);
			end_head(a, NULL, why, now);
			continue;
		}
		if (a->sent || (a->retry_at != 0 && now < a->retry_at))
			return;
		if (send_head(a, now) == 0)
			return;
	}
}

msec_t
acall_deadline(const struct acall *a)
{
	if (a->head == NULL)
		return -1;
	if (!a->sent && a->retry_at != 0 && a->retry_at < a->head->deadline)
		return a->retry_at;
	return a->head->deadline;
}

int
acall_pending(const struct acall *a)
{
	const struct call *c;
	int n = 0;

	for (c = a->head; c != NULL; c = c->next)
		n++;
	return n;
}

static void
on_answer(int fd, short ev, void *arg)
{
	struct acall *a = arg;
	msec_t now = clock_mono_ms();
	void *buf;
	cJSON *rsp;
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen = sizeof(hdr);
	long v;
	ssize_t n;

	(void)fd;
	(void)ev;
	for (; (n = sock_recv_raw(a->s, &buf, hdr, &hdrlen)) >= 0; hdrlen = sizeof(hdr)) {
		if (a->head == NULL || !a->sent || hdrlen != 4 ||
		    be32_get(hdr) != (a->id | 0x80000000u)) {
			nn_freemsg(buf);	/* the answer to a call that timed out */
			continue;
		}
		rsp = json_parse(buf, (size_t)n);
		nn_freemsg(buf);
		if (rsp == NULL || json_int(rsp, "v", 0, 1000, &v) < 0 || v != PROTO_VERSION) {
			char why[128];

			snprintf(why, sizeof(why), "bad answer from '%s' (protocol mismatch?)",
			    a->sockname);
			end_head(a, NULL, why, now);
		} else
			end_head(a, rsp, NULL, now);
		cJSON_Delete(rsp);
	}
	acall_tick(a, now);
}
