/*
 * test-evring.c: the ring behind /events: continuity of seq (next, gap,
 * restart), eviction by count and by bytes, what Last-Event-ID can resume
 * from, and when a stream has fallen behind and must be dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "evring.h"
#include "log.h"
#include "unit.h"

/* An event line of about len bytes, allocated as the ring expects. */
static char *
line(uint64_t seq, size_t len)
{
	char *s = cJSON_malloc(len + 64);

	snprintf(s, len + 64, "{\"seq\":%llu,\"pad\":\"%0*d\"}", (unsigned long long)seq,
	    (int)(len > 20 ? len - 20 : 1), 0);
	return s;
}

static void
continuity(void)
{
	struct evring r;
	uint64_t s;

	evring_init(&r, 0, 0);
	CHECK(!evring_covers(&r, 0));
	CHECK(evring_get(&r, 1) == NULL);
	/* the first event may be any seq: the ring starts just before it */
	CHECK_INT(evring_push(&r, 7, line(7, 30)), EVRING_FIRST);
	CHECK(evring_covers(&r, 6));	/* a stream at 6 is owed 7: held */
	CHECK(evring_covers(&r, 7));
	CHECK(!evring_covers(&r, 5));
	CHECK(!evring_covers(&r, 8));	/* an id from the future (another memberd) */
	for (s = 8; s <= 10; s++)
		CHECK_INT(evring_push(&r, s, line(s, 30)), EVRING_NEXT);
	CHECK(evring_get(&r, 9) != NULL && evring_get(&r, 9)->seq == 9);
	CHECK(evring_get(&r, 11) == NULL);	/* not yet */
	CHECK(!evring_behind(&r, 7));
	/* a gap empties the ring before the new event */
	CHECK_INT(evring_push(&r, 14, line(14, 30)), EVRING_GAP);
	CHECK(evring_get(&r, 10) == NULL);
	CHECK(evring_behind(&r, 11));	/* owed 11: lost with the gap */
	CHECK(!evring_behind(&r, 14));
	CHECK(evring_covers(&r, 13) && !evring_covers(&r, 10));
	/* seq going back: memberd restarted */
	CHECK_INT(evring_push(&r, 1, line(1, 30)), EVRING_RESTART);
	CHECK(evring_covers(&r, 0));
	CHECK(evring_get(&r, 14) == NULL);
	CHECK_INT(evring_push(&r, 2, line(2, 30)), EVRING_NEXT);
	evring_free(&r);
}

static void
bounds(void)
{
	struct evring r;
	uint64_t s;
	int i, bad = 0;

	/* by count: the oldest go, and a stream owed one of them is behind */
	evring_init(&r, 0, 0);
	for (s = 1; s <= EVRING_EVENTS + 10; s++)
		evring_push(&r, s, line(s, 40));
	CHECK_INT(r.n, EVRING_EVENTS);
	CHECK_INT(r.lo, 10);
	CHECK(evring_behind(&r, 10));
	CHECK(!evring_behind(&r, 11));
	CHECK(evring_get(&r, 10) == NULL);
	for (s = 11; s <= EVRING_EVENTS + 10; s++)
		if (evring_get(&r, s) == NULL || evring_get(&r, s)->seq != s)
			bad++;
	CHECK_INT(bad, 0);
	CHECK(evring_covers(&r, 10) && !evring_covers(&r, 9));
	evring_free(&r);
	CHECK_INT(r.n, 0);
	/* by bytes: 10 events of about 1000 bytes in 4000 */
	evring_init(&r, 0, 4000);
	for (s = 1; s <= 10; s++)
		evring_push(&r, s, line(s, 1000));
	CHECK(r.bytes <= 4000);
	CHECK(r.n >= 3 && r.n <= 4);
	CHECK_INT(r.hi, 10);
	CHECK_INT(r.lo, 10 - r.n);
	/* one event larger than the bound is still kept, alone */
	evring_push(&r, 11, line(11, 5000));
	CHECK_INT(r.n, 1);
	CHECK(evring_get(&r, 11) != NULL);
	evring_free(&r);
	/* a small ring, wrapping many times */
	evring_init(&r, 8, 0);
	for (i = 0, s = 1; s <= 100; s++) {
		evring_push(&r, s, line(s, 30));
		if (r.n > 8 || evring_get(&r, s) == NULL || r.lo != (s > 8 ? s - 8 : 0))
			i++;
	}
	CHECK_INT(i, 0);
	evring_free(&r);
}

int
main(void)
{
	log_init("test-evring");
	RUN(continuity);
	RUN(bounds);
	return unit_done();
}
