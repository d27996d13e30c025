/* evring.c: the ring of recent events behind /events (no I/O; see evring.h). */
#include <string.h>

#include <cjson/cJSON.h>

#include "evring.h"

void
evring_init(struct evring *r, int max_events, size_t max_bytes)
{
	*r = (struct evring){ 0 };
	r->max_events = max_events > 0 && max_events <= EVRING_EVENTS ? max_events : EVRING_EVENTS;
	r->max_bytes = max_bytes > 0 ? max_bytes : EVRING_BYTES;
}

static void
drop_oldest(struct evring *r)
{
	cJSON_free(r->e[r->head].json);
	r->e[r->head].json = NULL;
	r->bytes -= r->e[r->head].len;
	r->head = (r->head + 1) % EVRING_EVENTS;
	r->n--;
	r->lo++;
}

void
evring_free(struct evring *r)
{
	while (r->n > 0)
		drop_oldest(r);
}

enum evring_cont
evring_push(struct evring *r, uint64_t seq, char *json)
{
	enum evring_cont c = !r->valid ? EVRING_FIRST : seq <= r->hi ? EVRING_RESTART :
	    seq != r->hi + 1 ? EVRING_GAP : EVRING_NEXT;
	struct evring_ev *e;
	size_t len = strlen(json);

	if (c != EVRING_NEXT) {
		evring_free(r);
		r->head = 0;
		r->lo = r->hi = seq - 1;
		r->valid = 1;
	}
	while (r->n > 0 && (r->n == r->max_events || r->bytes + len > r->max_bytes))
		drop_oldest(r);
	e = &r->e[(r->head + r->n) % EVRING_EVENTS];
	e->seq = seq;
	e->json = json;
	e->len = len;
	r->n++;
	r->bytes += len;
	r->hi = seq;
	return c;
}

int
evring_covers(const struct evring *r, uint64_t last)
{
	return r->valid && last >= r->lo && last <= r->hi;
}

const struct evring_ev *
evring_get(const struct evring *r, uint64_t seq)
{
	if (!r->valid || seq <= r->lo || seq > r->hi)
		return NULL;
	return &r->e[(r->head + (int)(seq - r->lo - 1)) % EVRING_EVENTS];
}

int
evring_behind(const struct evring *r, uint64_t want)
{
	return r->valid && want <= r->lo;
}
