/* simnet.c: akc-sim's event queue, network rules and size histogram (no I/O). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "simnet.h"
#include "xmalloc.h"

uint64_t
sim_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double
sim_rand01(uint64_t *s)
{
	return (double)(sim_rand(s) >> 11) / 9007199254740992.0;
}

/* ---- the event queue ---- */

static int
before(const struct event *a, const struct event *b)
{
	if (a->at != b->at)
		return a->at < b->at;
	if (a->uat != b->uat)
		return a->uat < b->uat;
	return a->seq < b->seq;
}

void
evheap_push(struct evheap *h, struct event *ev)
{
	size_t i, p;

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 1024;
		h->e = xreallocarray(h->e, h->cap, sizeof(*h->e));
	}
	ev->seq = h->seq++;
	for (i = h->n++; i > 0; i = p) {
		p = (i - 1) / 2;
		if (!before(ev, &h->e[p]))
			break;
		h->e[i] = h->e[p];
	}
	h->e[i] = *ev;
}

int
evheap_pop(struct evheap *h, struct event *out)
{
	struct event last;
	size_t i = 0, c;

	if (h->n == 0)
		return 0;
	*out = h->e[0];
	last = h->e[--h->n];
	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(&h->e[c + 1], &h->e[c]))
			c++;
		if (!before(&h->e[c], &last))
			break;
		h->e[i] = h->e[c];
		i = c;
	}
	if (h->n > 0)
		h->e[i] = last;
	return 1;
}

const struct event *
evheap_top(const struct evheap *h)
{
	return h->n > 0 ? &h->e[0] : NULL;
}

void
evheap_free(struct evheap *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->e[i].txt);
	free(h->e);
	memset(h, 0, sizeof(*h));
}

/* ---- the network ---- */

msec_t
simnet_delay(const struct simnet *net, uint64_t *rng, int a, int b, msec_t now)
{
	msec_t d = net->base;

	if (a < 0 || a >= SIM_GROUPS || b < 0 || b >= SIM_GROUPS || net->cut[a][b])
		return -1;
	if (net->loss > 0 && sim_rand01(rng) < net->loss)
		return -1;
	if (net->jitter > 0)
		d += (msec_t)(sim_rand(rng) % (uint64_t)(net->jitter + 1));
	return now + d;
}

void
simnet_cut(struct simnet *net, int a, int b, int on)
{
	if (a >= 0 && a < SIM_GROUPS && b >= 0 && b < SIM_GROUPS)
		net->cut[a][b] = (unsigned char)(on != 0);
}

void
simnet_heal_all(struct simnet *net)
{
	memset(net->cut, 0, sizeof(net->cut));
}

/* ---- sizes ---- */

static int
bucket(size_t len)
{
	int o;

	if (len < 16)
		return (int)len;
	o = 63 - __builtin_clzll((unsigned long long)len);
	if (o > 39)
		return HIST_BUCKETS - 1;
	return (o - 3) * 16 + (int)((len >> (o - 4)) & 15);
}

static size_t
bucket_top(int i)
{
	int o = i / 16 + 3, sub = i % 16;

	if (i < 16)
		return (size_t)i;
	return (((size_t)16 + (size_t)sub + 1) << (o - 4)) - 1;
}

void
sizehist_add(struct sizehist *h, size_t len)
{
	h->count[bucket(len)]++;
	h->n++;
	if (len > h->max)
		h->max = len;
}

size_t
sizehist_quantile(const struct sizehist *h, double q)
{
	uint64_t want, sum = 0;
	int i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		sum += h->count[i];
		if (sum > want) {
			size_t top = bucket_top(i);

			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}

void
sizehist_merge(struct sizehist *a, const struct sizehist *b)
{
	int i;

	for (i = 0; i < HIST_BUCKETS; i++)
		a->count[i] += b->count[i];
	a->n += b->n;
	if (b->max > a->max)
		a->max = b->max;
}
