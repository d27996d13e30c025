/* test-simnet.c: akc-sim's pure pieces: event order, the network's rules, size quantiles. */
#include <stdlib.h>
#include <string.h>

#include "simnet.h"
#include "unit.h"

static void
push(struct evheap *h, msec_t at, int node)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.at = at;
	ev.node = node;
	evheap_push(h, &ev);
}

/* Events come out by time, and at the same time in the order scheduled: one seed, one run. */
static void
heap_order(void)
{
	struct evheap h = { 0 };
	struct event ev;
	uint64_t r = 42;
	msec_t last = -1;
	int i, n = 0, seen_at5[3], k = 0;

	push(&h, 5, 100);
	push(&h, 1, 0);
	push(&h, 5, 101);
	push(&h, 5, 102);
	for (i = 0; i < 5000; i++)
		push(&h, 10 + (msec_t)(sim_rand(&r) % 1000), i);
	CHECK(evheap_top(&h) != NULL && evheap_top(&h)->at == 1);
	while (evheap_pop(&h, &ev)) {
		CHECK(ev.at >= last);
		CHECK(evheap_top(&h) == NULL || evheap_top(&h)->at >= ev.at);
		if (ev.at == 5 && k < 3)
			seen_at5[k++] = ev.node;
		last = ev.at;
		n++;
	}
	CHECK_INT(n, 5004);
	CHECK_INT(k, 3);
	CHECK_INT(seen_at5[0], 100);
	CHECK_INT(seen_at5[1], 101);
	CHECK_INT(seen_at5[2], 102);
	CHECK(!evheap_pop(&h, &ev));
	CHECK(evheap_top(&h) == NULL);
	evheap_free(&h);
}

static void
network(void)
{
	struct simnet net;
	uint64_t rng = 7, a = 11, b = 11, c = 12;
	int i, lost = 0, same = 1, moved = 0;
	msec_t d, lo = 1000, hi = 0;

	memset(&net, 0, sizeof(net));
	net.base = 2;
	net.jitter = 3;
	for (i = 0; i < 1000; i++) {
		d = simnet_delay(&net, &rng, 0, 1, 100);
		CHECK(d >= 102 && d <= 105);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	CHECK_INT(lo, 102);	/* the whole jitter range is used */
	CHECK_INT(hi, 105);
	/* a one-way cut: 0 -> 1 lost, 1 -> 0 delivered */
	simnet_cut(&net, 0, 1, 1);
	CHECK_INT(simnet_delay(&net, &rng, 0, 1, 0), -1);
	CHECK(simnet_delay(&net, &rng, 1, 0, 0) >= 2);
	CHECK(simnet_delay(&net, &rng, 0, 0, 0) >= 2);
	simnet_heal_all(&net);
	CHECK(simnet_delay(&net, &rng, 0, 1, 0) >= 2);
	/* groups out of range lose everything rather than read past the table */
	CHECK_INT(simnet_delay(&net, &rng, SIM_GROUPS, 0, 0), -1);
	CHECK_INT(simnet_delay(&net, &rng, 0, -1, 0), -1);
	/* loss: about the asked share, and reproducible from the seed */
	net.loss = 0.25;
	rng = 9;
	for (i = 0; i < 10000; i++)
		lost += simnet_delay(&net, &rng, 0, 1, 0) < 0;
	CHECK(lost > 2300 && lost < 2700);
	/*
	 * The draws are the stream's alone: two senders with the same seed get
	 * the same delays however their calls interleave (akc-sim's threads),
	 * and another seed gets others.
	 */
	for (i = 0; i < 1000; i++) {
		msec_t x = simnet_delay(&net, &a, 0, 1, 0), y;

		(void)simnet_delay(&net, &c, 0, 1, 0);
		y = simnet_delay(&net, &b, 0, 1, 0);
		same &= x == y;
	}
	a = 11;
	for (i = 0; i < 1000; i++)
		moved += simnet_delay(&net, &a, 0, 1, 0) != simnet_delay(&net, &c, 0, 1, 0);
	CHECK(same);
	CHECK(moved > 100);
}

static void
sizes(void)
{
	struct sizehist h;
	int i;

	memset(&h, 0, sizeof(h));
	CHECK_INT(sizehist_quantile(&h, 0.5), 0);
	for (i = 1; i <= 15; i++)
		sizehist_add(&h, (size_t)i);	/* small sizes are exact */
	CHECK_INT(sizehist_quantile(&h, 0.0), 1);
	CHECK_INT(sizehist_quantile(&h, 0.5), 8);
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 99; i++)
		sizehist_add(&h, 1000);
	sizehist_add(&h, 300000);
	/* within 1/16 of an octave above, never past the largest */
	CHECK(sizehist_quantile(&h, 0.5) >= 1000 && sizehist_quantile(&h, 0.5) < 1000 + 1000 / 16 + 1);
	CHECK_INT(sizehist_quantile(&h, 1.0), 300000);
	CHECK_INT(h.max, 300000);
	sizehist_add(&h, (size_t)1 << 50);	/* beyond the last bucket: counted there */
	CHECK_INT(h.n, 101);
	/* two threads' histograms merged: the counts add up, the largest stays */
	{
		struct sizehist a, b;

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		for (i = 0; i < 10; i++)
			sizehist_add(&a, 100);
		for (i = 0; i < 30; i++)
			sizehist_add(&b, 5000);
		sizehist_merge(&a, &b);
		CHECK_INT(a.n, 40);
		CHECK_INT(a.max, 5000);
		CHECK(sizehist_quantile(&a, 0.5) >= 5000);
		CHECK(sizehist_quantile(&a, 0.1) < 200);
	}
}

static void
rand_streams(void)
{
	uint64_t a = 5, b = 5, c = 6;
	int i, same = 1, differ = 0;
	double x;

	for (i = 0; i < 100; i++) {
		uint64_t va = sim_rand(&a), vb = sim_rand(&b), vc = sim_rand(&c);

		same &= va == vb;
		differ |= va != vc;
	}
	CHECK(same);
	CHECK(differ);
	for (i = 0; i < 1000; i++) {
		x = sim_rand01(&a);
		CHECK(x >= 0 && x < 1);
	}
}

int
main(void)
{
	RUN(heap_order);
	RUN(network);
	RUN(sizes);
	RUN(rand_streams);
	return unit_done();
}
