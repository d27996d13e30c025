/* proxy.c: the singleton proxy's buffer and resend rules (see proxy.h). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proxy.h"
#include "xmalloc.h"

void
proxy_init(struct proxy *p, int cap, msec_t timeout, uint64_t rid_base)
{
	memset(p, 0, sizeof(*p));
	p->cap = cap;
	p->timeout = timeout;
	/* rids of an earlier run must not match this run's */
	p->next_rid = rid_base;
	if (cap > 0)
		p->q = xcalloc((size_t)cap, sizeof(*p->q));
}

void
proxy_free(struct proxy *p)
{
	int i;

	for (i = 0; i < p->n; i++)
		free(p->q[i].body);
	free(p->q);
	memset(p, 0, sizeof(*p));
}

int
proxy_add(struct proxy *p, const unsigned char *hdr, size_t hdrlen,
    const void *body, size_t len, msec_t now)
{
	struct preq *r;

	if (p->n >= p->cap || hdrlen > SOCK_HDR_MAX) {
		p->refused++;
		return -1;
	}
	r = &p->q[p->n++];
	memset(r, 0, sizeof(*r));
	r->rid = ++p->next_rid;
	memcpy(r->hdr, hdr, hdrlen);
	r->hdrlen = hdrlen;
	r->body = xmalloc(len + 1);
	memcpy(r->body, body, len);
	r->len = len;
	r->at = now;
	p->accepted++;
	return 0;
}

void
proxy_target(struct proxy *p, uint64_t target, msec_t now)
{
	int i;

	if (target == p->target)
		return;
	p->target = target;
	p->ready = 0;
	p->probe_at = now;
	for (i = 0; i < p->n; i++) {
		p->q[i].sent_at = 0;
		p->q[i].path = PATH_NONE;	/* at least once across a failover, as before */
	}
}

static void
take(struct proxy *p, int i, struct preq *out)
{
	*out = p->q[i];
	memmove(&p->q[i], &p->q[i + 1], (size_t)(p->n - i - 1) * sizeof(*p->q));
	p->n--;
}

int
proxy_answered(struct proxy *p, uint64_t rid, struct preq *out)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->q[i].rid == rid) {
			take(p, i, out);
			if (out->sent_to == p->target)
				p->ready = 1;
			p->answered++;
			return 0;
		}
	return -1;
}

void
proxy_requeue(struct proxy *p, uint64_t to)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->q[i].sent_at != 0 && p->q[i].sent_to == to) {
			p->q[i].sent_at = 0;
			p->q[i].again = 1;
		}
}

void
proxy_repath(struct proxy *p, uint64_t sid)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->q[i].path == PATH_MLINK && p->q[i].pin != sid) {
			p->q[i].path = PATH_NONE;
			if (p->q[i].sent_at != 0)
				p->q[i].again = 1;
			p->q[i].sent_at = 0;
		}
}

void
proxy_nack(struct proxy *p, uint64_t from, uint64_t rid, msec_t now)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->q[i].rid == rid && p->q[i].sent_to == from) {
			p->q[i].sent_at = 0;
			if (from == p->target && p->ready) {
				/* it stopped serving: everything in flight goes again */
				int j;

				p->ready = 0;
				for (j = 0; j < p->n; j++)
					p->q[j].sent_at = 0;
			}
			if (p->probe_at < now + PROXY_PROBE)
				p->probe_at = now + PROXY_PROBE;
			return;
		}
}

int
proxy_due(struct proxy *p, msec_t now, struct psend *out, int max)
{
	int i, k = 0, inflight = 0;

	if (p->target == 0)
		return 0;
	for (i = 0; i < p->n; i++)
		if (p->q[i].sent_at != 0 && now - p->q[i].sent_at < PROXY_RESEND)
			inflight++;
	for (i = 0; i < p->n && k < max; i++) {
		struct preq *r = &p->q[i];

		if (r->sent_at != 0 && now - r->sent_at < PROXY_RESEND)
			continue;
		if (!p->ready) {
			/* not known to serve: one request probes, the rest wait */
			if (inflight > 0 || now < p->probe_at)
				break;
			p->probe_at = now + PROXY_PROBE;
		} else if (inflight >= PROXY_WINDOW)
			break;
		out[k].again = r->sent_at != 0 || r->again;
		if (out[k].again)
			p->resent++;
		r->again = 0;
		r->sent_at = now;
		r->sent_to = p->target;
		out[k].to = p->target;
		out[k].rid = r->rid;
		out[k].body = r->body;
		out[k].len = r->len;
		out[k].req = r;
		k++;
		inflight++;
	}
	return k;
}

int
proxy_expired(struct proxy *p, msec_t now, struct preq *out)
{
	if (p->n == 0 || now - p->q[0].at < p->timeout)
		return -1;
	take(p, 0, out);
	p->expired++;
	return 0;
}

msec_t
proxy_next_deadline(const struct proxy *p)
{
	msec_t d, t;
	int i, inflight = 0, waiting = 0;

	if (p->n == 0)
		return -1;
	d = p->q[0].at + p->timeout;
	if (p->target == 0)
		return d;
	for (i = 0; i < p->n; i++)
		if (p->q[i].sent_at == 0)
			waiting++;
		else {
			inflight++;
			t = p->q[i].sent_at + PROXY_RESEND;
			if (t < d)
				d = t;
		}
	if (waiting > 0) {
		if (p->ready && inflight < PROXY_WINDOW)
			d = 0;
		else if (!p->ready && inflight == 0 && p->probe_at < d)
			d = p->probe_at;
	}
	return d;
}
