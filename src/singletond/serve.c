/*
 * serve.c: the serving side of singletond, on the node that runs the
 * singleton: requests from every proxy (ours in-process, others' relayed by
 * memberd or over the proxy link) go to the child over raw REQ with an id
 * of ours; its answers go back by the same kind of path (peer_send), one
 * "rsps" per proxy for the requests that came in "reqs". The last
 * DONE_KEEP answers are kept, so a request sent again is answered, not run
 * twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>

#include "b64.h"
#include "json.h"
#include "log.h"
#include "singletond.h"
#include "sock.h"
#include "xmalloc.h"

char *
to_b64(const void *buf, size_t len)
{
	return b64_encode(buf, len);
}

/* Decodes into a malloc'd buffer; -1 if not base64 or too long (*out NULL then). */
ssize_t
from_b64(const char *s, unsigned char **out)
{
	size_t slen = strlen(s), len;

	*out = NULL;
	if (B64_DECODED_MAX(slen) > MAX_BODY + 6)
		return -1;
	*out = xmalloc(B64_DECODED_MAX(slen));
	if (b64_decode(*out, B64_DECODED_MAX(slen), s, slen, &len) < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return (ssize_t)len;
}

/*
 * An answer ("rsp" with the child's answer, PXM_NACK, "error") to a request
 * from the proxy at origin. Our own proxy's requests never leave this
 * process: when this node is the oldest, its proxy hands them to the child
 * and gets the answers back without memberd's relay, JSON or base64.
 */
static void
reply_to(struct sgd *d, uint64_t origin, const char *m, uint64_t rid, const void *body, size_t len)
{
	cJSON *b;
	char *b64;

	if (origin == d->self) {
		if (strcmp(m, PXM_NACK) == 0)
			proxy_nack(&d->px, d->self, rid, clock_mono_ms());
		else
			on_answer(d, rid, body, strcmp(m, PXM_RSP) == 0 ? (ssize_t)len : -1);
		return;
	}
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "m", m);
	json_add_u64(b, "rid", rid);
	cJSON_AddBoolToObject(b, "b", 1);	/* we take "reqs" */
	if (body != NULL) {
		b64 = to_b64(body, len);
		cJSON_AddStringToObject(b, "body", b64);
		free(b64);
	}
	peer_send(d, origin, b);
}

void
nack_inflight(struct sgd *d)
{
	int i, n = d->ninf;

	/* our own proxy may take a nack synchronously: empty the list first */
	d->ninf = 0;
	for (i = 0; i < n; i++)
		reply_to(d, d->inf[i].origin, PXM_NACK, d->inf[i].rid, NULL, 0);
}

/* A request (rid of the proxy at origin) for our child. */
void
serve(struct sgd *d, uint64_t origin, uint64_t rid, const void *body, size_t len, int batch,
    msec_t now)
{
	unsigned char hdr[4];
	uint32_t cid;
	int i;

	for (i = 0; i < d->ninf; i++)
		if (d->inf[i].origin == origin && d->inf[i].rid == rid)
			return;		/* sent again while our child works on it */
	for (i = 0; i < DONE_KEEP; i++)
		if (d->done[i].body != NULL && d->done[i].origin == origin && d->done[i].rid == rid) {
			reply_to(d, origin, PXM_RSP, rid, d->done[i].body, d->done[i].len);
			return;
		}
	if (!sg_serving(&d->sm)) {
		reply_to(d, origin, PXM_NACK, rid, NULL, 0);
		return;
	}
	cid = ++d->next_cid & 0x7fffffff;
	hdr[0] = (unsigned char)(0x80 | (cid >> 24));
	hdr[1] = (unsigned char)(cid >> 16);
	hdr[2] = (unsigned char)(cid >> 8);
	hdr[3] = (unsigned char)cid;
	if (sock_send_raw(d->childsock, hdr, 4, body, len) < 0) {
		/* not listening yet (just started) or gone: the proxy tries again */
		reply_to(d, origin, PXM_NACK, rid, NULL, 0);
		return;
	}
	if (d->ninf == d->capinf) {
		d->capinf = d->capinf ? 2 * d->capinf : 64;
		d->inf = xreallocarray(d->inf, (size_t)d->capinf, sizeof(*d->inf));
	}
	d->inf[d->ninf].cid = cid;
	d->inf[d->ninf].origin = origin;
	d->inf[d->ninf].rid = rid;
	d->inf[d->ninf].at = now;
	d->inf[d->ninf].batch = batch;
	d->ninf++;
}

/*
 * A "req" relayed from another node's proxy, {"m":"req","rid","body"
 * (base64)}, or one element of a "reqs".
 */
void
serve_relayed(struct sgd *d, uint64_t origin, const cJSON *b, int batch, msec_t now)
{
	const char *b64 = json_str(b, "body");
	unsigned char *body;
	uint64_t rid;
	ssize_t len;

	if (json_u64(b, "rid", &rid) < 0 || b64 == NULL || (len = from_b64(b64, &body)) < 0) {
		d->dropped++;
		return;
	}
	serve(d, origin, rid, body, (size_t)len, batch, now);
	free(body);
}

/* {"m":"reqs","reqs":[{"rid","body"}, ...]}: several requests of one proxy. */
void
serve_batch(struct sgd *d, uint64_t origin, const cJSON *b, msec_t now)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(b, PXM_REQS), *r;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > SEND_BATCH) {
		d->dropped++;
		return;
	}
	cJSON_ArrayForEach(r, a)
		serve_relayed(d, origin, r, 1, now);
}

void
batch_flush(struct sgd *d, struct batch *b)
{
	if (b->msg != NULL)
		peer_send(d, b->to, b->msg);
	b->msg = NULL;
}

/*
 * {"m":"reqs","reqs":[{"rid","body"}, ...]} from a proxy, and
 * {"m":"rsps","b":true,"rsps":[...]} back: one message for what one wake-up
 * has for one peer, up to about BATCH_BYTES of base64.
 */
void
batch_add(struct sgd *d, struct batch *b, uint64_t rid, const char *b64)
{
	size_t n = strlen(b64);
	cJSON *e;

	if (b->msg != NULL && b->bytes + n > BATCH_BYTES)
		batch_flush(d, b);
	if (b->msg == NULL) {
		b->msg = cJSON_CreateObject();
		cJSON_AddStringToObject(b->msg, "m", b->m);
		if (strcmp(b->m, PXM_RSPS) == 0)
			cJSON_AddBoolToObject(b->msg, "b", 1);	/* we take "reqs" */
		b->arr = cJSON_AddArrayToObject(b->msg, b->m);
		b->bytes = 0;
	}
	e = cJSON_CreateObject();
	json_add_u64(e, "rid", rid);
	cJSON_AddStringToObject(e, "body", b64);
	cJSON_AddItemToArray(b->arr, e);
	b->bytes += n;
}

/* The answers of one wake-up to requests that came in "reqs": one "rsps" per proxy. */
static void
rsps_add(struct sgd *d, struct batch *g, int *ng, uint64_t origin, uint64_t rid,
    const void *body, size_t len)
{
	char *b64;
	int i;

	for (i = 0; i < *ng && g[i].to != origin; i++)
		;
	if (i == *ng) {
		(*ng)++;
		memset(&g[i], 0, sizeof(g[i]));
		g[i].to = origin;
		g[i].m = PXM_RSPS;
	}
	b64 = to_b64(body, len);
	batch_add(d, &g[i], rid, b64);
	free(b64);
}

void
on_child_reply(int fd, short ev, void *arg)
{
	struct sgd *d = arg;
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	void *buf;
	ssize_t n;
	struct batch g[SEND_BATCH];
	int k, ng = 0;

	(void)fd;
	(void)ev;
	for (k = 0; k < SEND_BATCH; k++) {
		struct inflight f;
		uint32_t cid;
		int i;

		hdrlen = sizeof(hdr);
		if ((n = sock_recv_raw(d->childsock, &buf, hdr, &hdrlen)) < 0)
			break;
		if (hdrlen != 4) {
			nn_freemsg(buf);
			d->dropped++;
			continue;
		}
		cid = ((uint32_t)(hdr[0] & 0x7f) << 24) | ((uint32_t)hdr[1] << 16) |
		    ((uint32_t)hdr[2] << 8) | hdr[3];
		for (i = 0; i < d->ninf && d->inf[i].cid != cid; i++)
			;
		if (i == d->ninf) {
			d->dropped++;	/* an answer to a request we gave up on */
			nn_freemsg(buf);
			continue;
		}
		f = d->inf[i];
		d->inf[i] = d->inf[--d->ninf];
		if (n <= MAX_BODY) {
			struct answer *a = &d->done[d->donepos];

			d->donepos = (d->donepos + 1) % DONE_KEEP;
			free(a->body);
			a->body = xmalloc((size_t)n + 1);
			memcpy(a->body, buf, (size_t)n);
			a->len = (size_t)n;
			a->origin = f.origin;
			a->rid = f.rid;
			a->at = clock_mono_ms();
			if (f.batch && f.origin != d->self)
				rsps_add(d, g, &ng, f.origin, f.rid, a->body, a->len);
			else
				reply_to(d, f.origin, PXM_RSP, f.rid, a->body, a->len);
		} else {
			log_warnx("singleton %s answered with %zd bytes (at most %d): refused",
			    d->sc.name, n, MAX_BODY);
			reply_to(d, f.origin, PXM_ERROR, f.rid, NULL, 0);
		}
		nn_freemsg(buf);
	}
	for (k = 0; k < ng; k++)
		batch_flush(d, &g[k]);
}
