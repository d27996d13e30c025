/*
 * evring.h: the ring of recent events behind /events and its rules: which
 * seq follows which, what a Last-Event-ID can resume from, who fell behind.
 * No I/O: sse.c applies the verdicts to its streams; t/unit/test-evring
 * drives it directly.
 */
#ifndef HTTPD_EVRING_H
#define HTTPD_EVRING_H

#include <stddef.h>
#include <stdint.h>

#define EVRING_EVENTS	1024		/* events kept */
#define EVRING_BYTES	(1024 * 1024)	/* and their bytes at most */

struct evring_ev {
	uint64_t seq;
	char *json;		/* one line, malloc'd (cJSON's allocator) */
	size_t len;
};

struct evring {
	struct evring_ev e[EVRING_EVENTS];
	int head, n;		/* the oldest at head; it holds seq lo + 1 ... hi */
	size_t bytes, max_bytes;
	int max_events;
	uint64_t lo, hi;
	int valid;		/* an event has come since the start */
};

/* How an event's seq follows the ring's last one. */
enum evring_cont {
	EVRING_NEXT,		/* hi + 1: nothing missed */
	EVRING_FIRST,		/* the first event: streams owed earlier ones missed them */
	EVRING_GAP,		/* beyond hi + 1: the events between were missed */
	EVRING_RESTART		/* at or below hi: memberd started again (seq from 1) */
};

/* max_events <= EVRING_EVENTS; 0, 0: the defaults. */
void evring_init(struct evring *, int max_events, size_t max_bytes);
void evring_free(struct evring *);
/*
 * Appends event seq (takes json, freed with cJSON_free). Anything but
 * EVRING_NEXT empties the ring first. Old events are dropped to stay within
 * the bounds: a stream owed seq <= lo afterwards has fallen behind.
 */
enum evring_cont evring_push(struct evring *, uint64_t seq, char *json);
/* Whether a stream whose last event was last can go on from the ring. */
int evring_covers(const struct evring *, uint64_t last);
/* The event seq, or NULL when the ring does not hold it (yet, or any more). */
const struct evring_ev *evring_get(const struct evring *, uint64_t seq);
/* Whether a stream owed seq want has fallen behind (the ring dropped it). */
int evring_behind(const struct evring *, uint64_t want);

#endif
