/*
 * test-wire.c: lib/wire.c over real loopback TCP in this process: frames
 * reach their listeners; a corked turn that sends to more peers than the
 * wire has outbound slots loses none of them (the slot taken for a new
 * peer is written out first, not dropped with its queue); a peer's
 * connection whose opener reads it back carries our frames to it, without
 * a connection of ours, a large first one after our hello.
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
	int frames, hellos;
	size_t longest;
	char last[64];
};

/* "rb ADDRESS": the connection's opener, at ADDRESS, reads it back; "hello" is counted apart */
static enum wire_verdict
on_frame(void *arg, const char *from, const unsigned char *frame, size_t len)
{
	struct sink *s = arg;

	(void)from;
	if (len == 5 && memcmp(frame, "hello", 5) == 0) {
		s->hellos++;
		return WIRE_OK;
	}
	s->frames++;
	if (len > s->longest)
		s->longest = len;
	snprintf(s->last, sizeof(s->last), "%.*s", (int)len, (const char *)frame);
	if (len > 3 && memcmp(frame, "rb ", 3) == 0 && s->w != NULL) {
		CHECK_INT(wire_back(s->w, s->last + 3), 0);
		CHECK_INT(wire_back_fresh(s->w, clock_mono_ms()), 0);
	}
	/* "said ADDRESS": the opener's word alone (a hello, which a replay passes) */
	if (len > 5 && memcmp(frame, "said ", 5) == 0 && s->w != NULL)
		CHECK_INT(wire_back(s->w, s->last + 5), 0);
	/* "ask ADDRESS": the opener's word, and a question answered at once */
	if (len > 4 && memcmp(frame, "ask ", 4) == 0 && s->w != NULL) {
		CHECK_INT(wire_back(s->w, s->last + 4), 0);
		wire_send(s->w, s->last + 4, "reply", 5, clock_mono_ms());
	}
	/* "fresh": a frame bound to us that passed the replay checks */
	if (len == 5 && memcmp(frame, "fresh", 5) == 0 && s->w != NULL)
		CHECK_INT(wire_back_fresh(s->w, clock_mono_ms()), 0);
	return WIRE_OK;
}

static size_t
hello(void *arg, const char *address, unsigned char **frame)
{
	(void)arg;
	(void)address;
	*frame = malloc(5);
	memcpy(*frame, "hello", 5);
	return 5;
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

/* Runs the loop until s has want frames or 3 s pass. */
static void
run_one(struct loop *l, struct sink *s, int want)
{
	run_until(l, s, 1, want);
}

static void
answers_on_the_openers_connection(void)
{
	struct loop *l = loop_new();
	struct sink a, b, c;
	char aaddr[64], baddr[64], caddr[64], rb[80];
	size_t big = 100 * 1024;
	unsigned char *frame = calloc(1, big);

	CHECK(listen_sink(l, &a, aaddr, sizeof(aaddr)) == 0);
	CHECK(listen_sink(l, &b, baddr, sizeof(baddr)) == 0);
	CHECK(listen_sink(l, &c, caddr, sizeof(caddr)) == 0);
	wire_hello_to(a.w, hello);
	wire_hello_to(b.w, hello);
	wire_hello_to(c.w, hello);
	wire_read_back(a.w, 1);
	snprintf(rb, sizeof(rb), "rb %s", aaddr);

	/* a opens to b and says it reads back; b answers on that connection */
	wire_send(a.w, baddr, rb, strlen(rb), clock_mono_ms());
	run_one(l, &b, 1);
	CHECK_INT(b.frames, 1);
	CHECK_INT(b.hellos, 1);
	wire_send(b.w, aaddr, "answer", 6, clock_mono_ms());
	run_one(l, &a, 1);
	CHECK_INT(a.frames, 1);
	CHECK_STR(a.last, "answer");
	CHECK_INT(a.hellos, 0);		/* small: no hello needed before it */
	CHECK_INT(wire_stats(b.w)->connects, 0);
	CHECK_INT(wire_stats(b.w)->borrowed, 1);
	CHECK_INT(wire_stats(a.w)->accepted, 0);
	/* both ways go on, on the same connection */
	wire_send(a.w, baddr, "more", 4, clock_mono_ms());
	wire_send(b.w, aaddr, "again", 5, clock_mono_ms());
	run_one(l, &b, 2);
	run_one(l, &a, 2);
	CHECK_STR(b.last, "more");
	CHECK_STR(a.last, "again");
	CHECK_INT(wire_stats(a.w)->connects, 1);
	CHECK_INT(wire_stats(b.w)->connects, 0);

	/* a first frame larger than an unauthenticated connection takes goes after a hello */
	wire_send(a.w, caddr, rb, strlen(rb), clock_mono_ms());
	run_one(l, &c, 1);
	memset(frame, 'x', big);
	wire_send(c.w, aaddr, frame, big, clock_mono_ms());
	run_one(l, &a, 3);
	CHECK_INT(a.frames, 3);
	CHECK_INT(a.longest, big);
	CHECK_INT(a.hellos, 1);
	CHECK_INT(wire_stats(a.w)->oversized, 0);
	CHECK_INT(wire_stats(c.w)->connects, 0);

	/* a's connection to b goes (b reads its end): b's next frame to a opens one of b's own */
	wire_reset(a.w, baddr);
	{
		msec_t end = clock_mono_ms() + 3000;

		while (wire_stats(b.w)->in > 0 && clock_mono_ms() < end)
			loop_poll(l, clock_mono_ms() + 20);
	}
	wire_send(b.w, aaddr, "own", 3, clock_mono_ms());
	run_one(l, &a, 4);
	CHECK_INT(a.frames, 4);
	CHECK_STR(a.last, "own");
	CHECK_INT(wire_stats(b.w)->connects, 1);
	CHECK_INT(wire_stats(a.w)->accepted, 1);

	free(frame);
	wire_free(a.w);
	wire_free(b.w);
	wire_free(c.w);
	loop_free(l);
}

/* Runs the loop until s's last frame is want or 3 s pass. */
static void
run_last(struct loop *l, struct sink *s, const char *want)
{
	msec_t end = clock_mono_ms() + 3000;

	while (strcmp(s->last, want) != 0 && clock_mono_ms() < end)
		loop_poll(l, clock_mono_ms() + 20);
}

/*
 * The opener's word alone (its hello, which names no receiver: a replayed
 * one passes) does not make its connection ours to write on; a fresh
 * frame bound to us does, and then our own connection there goes.
 */
static void
written_on_only_once_proved(void)
{
	struct loop *l = loop_new();
	struct sink s[2], *ap, *bp;
	char addr[2][64], *aaddr, *baddr, said[80];
	int hi;

	CHECK(listen_sink(l, &s[0], addr[0], sizeof(addr[0])) == 0);
	CHECK(listen_sink(l, &s[1], addr[1], sizeof(addr[1])) == 0);
	/* b the higher address: the one of a pair that gives up its own connection */
	hi = strcmp(addr[1], addr[0]) > 0;
	bp = &s[hi];
	ap = &s[!hi];
	baddr = addr[hi];
	aaddr = addr[!hi];
#define a (*ap)
#define b (*bp)
	wire_hello_to(a.w, hello);
	wire_hello_to(b.w, hello);
	wire_read_back(a.w, 1);
	snprintf(said, sizeof(said), "said %s", aaddr);

	wire_send(a.w, baddr, said, strlen(said), clock_mono_ms());
	run_one(l, &b, 1);
	wire_send(b.w, aaddr, "one", 3, clock_mono_ms());
	run_last(l, &a, "one");
	CHECK_STR(a.last, "one");
	CHECK_INT(wire_stats(b.w)->borrowed, 0);	/* without the check: 1 */
	CHECK_INT(wire_stats(b.w)->connects, 1);
	CHECK_INT(wire_stats(a.w)->accepted, 1);

	/* an answer to a frame on a's connection goes on it, nothing after it */
	wire_reset(b.w, aaddr);
	wire_reset(a.w, baddr);
	{
		msec_t end = clock_mono_ms() + 3000;

		while ((wire_stats(b.w)->in > 0 || wire_stats(a.w)->in > 0) && clock_mono_ms() < end)
			loop_poll(l, clock_mono_ms() + 20);
	}
	snprintf(said, sizeof(said), "ask %s", aaddr);
	wire_send(a.w, baddr, said, strlen(said), clock_mono_ms());
	run_last(l, &a, "reply");
	CHECK_STR(a.last, "reply");
	CHECK_INT(wire_stats(b.w)->borrowed, 1);
	CHECK_INT(wire_stats(b.w)->connects, 1);	/* the one before: none for the answer */
	wire_send(b.w, aaddr, "later", 5, clock_mono_ms());
	run_last(l, &a, "later");
	CHECK_STR(a.last, "later");
	CHECK_INT(wire_stats(b.w)->connects, 2);	/* not on a's connection: one of b's own */
	CHECK_INT(wire_stats(a.w)->accepted, 2);
	CHECK_INT(wire_stats(b.w)->out, 1);

	/* proved: b's own connection goes, and its next frame takes a's */
	wire_send(a.w, baddr, "fresh", 5, clock_mono_ms());
	run_last(l, &b, "fresh");
	CHECK_INT(wire_stats(b.w)->out, 0);
	wire_send(b.w, aaddr, "two", 3, clock_mono_ms());
	run_last(l, &a, "two");
	CHECK_STR(a.last, "two");
	CHECK_INT(wire_stats(b.w)->borrowed, 2);
	CHECK_INT(wire_stats(b.w)->connects, 2);

	/* the lower address keeps its own: b's "fresh" on it changes nothing */
	snprintf(said, sizeof(said), "said %s", baddr);
	wire_read_back(b.w, 1);
	wire_reset(b.w, aaddr);
	wire_send(b.w, aaddr, said, strlen(said), clock_mono_ms());
	run_last(l, &a, said);
	wire_send(a.w, baddr, "three", 5, clock_mono_ms());
	run_last(l, &b, "three");
	wire_send(b.w, aaddr, "fresh", 5, clock_mono_ms());
	run_last(l, &a, "fresh");
	CHECK_INT(wire_stats(a.w)->out, 1);
	wire_send(a.w, baddr, "four", 4, clock_mono_ms());
	run_last(l, &b, "four");
	CHECK_STR(b.last, "four");
	CHECK_INT(wire_stats(a.w)->borrowed, 0);
#undef a
#undef b

	wire_free(s[0].w);
	wire_free(s[1].w);
	loop_free(l);
}

/*
 * A peer's connection given up with a frame of ours cut in the middle (its
 * slot taken for another peer while the opener read slowly) is not
 * written on again: the opener would read our next frame as the rest of
 * the cut one, and nothing after it.
 */
static void
cut_frame_ends_the_borrowing(void)
{
	struct loop *l = loop_new();
	struct sink a, b, d;
	char aaddr[64], baddr[64], daddr[64], rb[80];
	size_t big = 900 * 1024;
	unsigned char *frame = malloc(big);
	int k;

	CHECK(listen_sink(l, &a, aaddr, sizeof(aaddr)) == 0);
	CHECK(listen_sink(l, &d, daddr, sizeof(daddr)) == 0);
	memset(&b, 0, sizeof(b));
	b.w = wire_new(l, 1, 16, 1 << 20, on_frame, NULL, &b);	/* one outbound slot */
	CHECK(b.w != NULL && wire_listen(b.w, "tcp://127.0.0.1:0") == 0);
	snprintf(baddr, sizeof(baddr), "tcp://127.0.0.1:%d", wire_port(b.w));
	wire_hello_to(a.w, hello);
	wire_hello_to(b.w, hello);
	wire_read_back(a.w, 1);
	snprintf(rb, sizeof(rb), "rb %s", aaddr);

	wire_send(a.w, baddr, rb, strlen(rb), clock_mono_ms());
	run_one(l, &b, 1);
	wire_send(b.w, aaddr, "answer", 6, clock_mono_ms());
	run_last(l, &a, "answer");
	CHECK_INT(wire_stats(b.w)->borrowed, 1);
	/* more than the sockets take while a does not read: the last written is cut */
	memset(frame, 'x', big);
	for (k = 0; k < 8; k++)
		wire_send(b.w, aaddr, frame, big, clock_mono_ms());
	wire_send(b.w, daddr, "elsewhere", 9, clock_mono_ms());	/* takes a's slot */
	wire_send(b.w, aaddr, "next", 4, clock_mono_ms());
	run_last(l, &a, "next");
	CHECK_STR(a.last, "next");	/* without the fix: a's reader waits out the cut frame */
	CHECK_INT(wire_stats(b.w)->borrowed, 1);
	CHECK(wire_stats(b.w)->connects >= 1);

	free(frame);
	wire_free(a.w);
	wire_free(b.w);
	wire_free(d.w);
	loop_free(l);
}

int
main(void)
{
	RUN(corked_turn_past_the_slots);
	RUN(answers_on_the_openers_connection);
	RUN(written_on_only_once_proved);
	RUN(cut_frame_ends_the_borrowing);
	return unit_done();
}
