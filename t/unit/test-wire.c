/*
 * test-wire.c: lib/wire.c over real loopback TCP in this process: frames
 * reach their listeners; a corked turn that sends to more peers than the
 * wire has outbound slots loses none of them (the slot taken for a new
 * peer is written out first, not dropped with its queue).
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "loop.h"
#include "wire.h"
#include "unit.h"

#define PEERS	5

struct sink {
	struct wire *w;
	int frames;
	char last[64];
};

static enum wire_verdict
on_frame(void *arg, const char *from, const unsigned char *frame, size_t len)
{
	struct sink *s = arg;

	(void)from;
	s->frames++;
	snprintf(s->last, sizeof(s->last), "%.*s", (int)len, (const char *)frame);
	return WIRE_OK;
}

/* Runs the loop until every sink has want frames or 3 s pass. */
static void
run_until(struct loop *l, struct sink *s, int n, int want)
{
	msec_t end = clock_mono_ms() + 3000;
	int k, short_of;

	do {
		loop_poll(l, clock_mono_ms() + 20);
		for (short_of = 0, k = 0; k < n; k++)
			short_of += s[k].frames < want;
	} while (short_of > 0 && clock_mono_ms() < end);
}

/* Listens on 127.0.0.1 with a port the kernel picks; its address in addr. */
static int
listen_sink(struct loop *l, struct sink *s, char *addr, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->w = wire_new(l, 4, 16, 1 << 20, on_frame, NULL, s);
	if (s->w == NULL || wire_listen(s->w, "tcp://127.0.0.1:0") < 0)
		return -1;
	snprintf(addr, len, "tcp://127.0.0.1:%d", wire_port(s->w));
	return 0;
}

static void
corked_turn_past_the_slots(void)
{
	struct loop *l = loop_new();
	struct sink s[PEERS];
	char addr[PEERS][64], msg[32];
	struct wire *w;
	int k;

	for (k = 0; k < PEERS; k++)
		CHECK(listen_sink(l, &s[k], addr[k], sizeof(addr[k])) == 0);
	/* two outbound slots for five peers, every frame sent in one corked turn */
	w = wire_new(l, 2, 4, 1 << 20, on_frame, NULL, NULL);
	wire_cork(w);
	for (k = 0; k < PEERS; k++) {
		snprintf(msg, sizeof(msg), "to %d", k);
		wire_send(w, addr[k], msg, strlen(msg), clock_mono_ms());
	}
	wire_uncork(w, clock_mono_ms());
	run_until(l, s, PEERS, 1);
	for (k = 0; k < PEERS; k++) {
		snprintf(msg, sizeof(msg), "to %d", k);
		CHECK_INT(s[k].frames, 1);
		CHECK_STR(s[k].last, msg);
	}
	CHECK_INT(wire_stats(w)->unsent, 0);
	CHECK(wire_stats(w)->drained >= PEERS - 2);
	CHECK(wire_stats(w)->out <= 2);

	/* and uncorked: each send writes at once, the slots turn over, nothing lost */
	for (k = 0; k < PEERS; k++)
		wire_send(w, addr[k], "again", 5, clock_mono_ms());
	run_until(l, s, PEERS, 2);
	for (k = 0; k < PEERS; k++) {
		CHECK_INT(s[k].frames, 2);
		CHECK_STR(s[k].last, "again");
	}
	CHECK_INT(wire_stats(w)->unsent, 0);

	wire_free(w);
	for (k = 0; k < PEERS; k++)
		wire_free(s[k].w);
	loop_free(l);
}

int
main(void)
{
	RUN(corked_turn_past_the_slots);
	return unit_done();
}
