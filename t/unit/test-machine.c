/* test-machine.c: akc-sim's machine model: the run queue, the cores, the cost, the load. */
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "simnet.h"
#include "unit.h"

/* Two cores take the queued nodes in the order they became runnable; a third waits. */
static void
fifo_cores(void)
{
	struct machine m;
	usec_t at = -1;

	machine_init(&m, 2, 10, 0.01);
	machine_ready(&m, 7, 0);
	machine_ready(&m, 3, 5);
	machine_ready(&m, 9, 5);
	CHECK_INT(machine_runnable(&m), 3);
	CHECK_INT(machine_next(&m, 10, &at), 7);
	CHECK_INT(at, 0);
	CHECK_INT(machine_next(&m, 10, &at), 3);
	CHECK_INT(at, 5);
	CHECK_INT(machine_next(&m, 10, &at), -1);	/* both cores busy */
	CHECK_INT(machine_runnable(&m), 3);		/* two running, one queued */
	machine_done(&m, 40, 30);
	CHECK_INT(machine_next(&m, 40, &at), 9);
	CHECK_INT(at, 5);
	CHECK_INT(machine_next(&m, 40, &at), -1);	/* nobody queued */
	machine_done(&m, 50, 40);
	machine_done(&m, 60, 20);
	CHECK_INT(machine_runnable(&m), 0);
	CHECK_INT(m.turns, 3);
	CHECK_INT((long long)m.cpu, 90);
	CHECK_INT(m.longest, 40);
	CHECK_INT(m.waited, 10 + 5 + 35);
	CHECK_INT(m.longest_wait, 35);
	CHECK_INT(m.peak, 3);
	/* a node that died in the queue ran nothing: no turn, no CPU */
	machine_ready(&m, 1, 70);
	CHECK_INT(machine_next(&m, 70, &at), 1);
	machine_done(&m, 70, -1);
	CHECK_INT(m.turns, 3);
	CHECK_INT((long long)m.cpu, 90);
	CHECK_INT(m.busy, 0);
	machine_free(&m);
}

/* The ring keeps the order when it grows with its head wrapped. */
static void
ring_growth(void)
{
	struct machine m;
	usec_t at;
	int i, next_in = 0, next_out = 0, ok = 1;

	machine_init(&m, 1, 1, 0);
	for (i = 0; i < 200; i++)
		machine_ready(&m, next_in++, i);
	for (i = 0; i < 150; i++) {
		ok &= machine_next(&m, 1000, &at) == next_out++;
		machine_done(&m, 1000, 1);
	}
	/* the head is at 150 of 256: these wrap, then the ring grows twice */
	for (i = 0; i < 900; i++)
		machine_ready(&m, next_in++, 2000 + i);
	CHECK_INT(machine_runnable(&m), 950);
	while ((i = machine_next(&m, 5000, &at)) >= 0) {
		ok &= i == next_out++;
		machine_done(&m, 5000, 1);
	}
	CHECK(ok);
	CHECK_INT(next_out, next_in);
	CHECK_INT(machine_runnable(&m), 0);
	machine_free(&m);
}

/* A turn costs per message and per byte, rounded to the us. */
static void
cost(void)
{
	struct machine m;

	machine_init(&m, 2, 15.6, 0.005);
	CHECK_INT(machine_cost(&m, 0, 0), 0);
	CHECK_INT(machine_cost(&m, 10, 1000), 161);
	CHECK_INT(machine_cost(&m, 1, 100000), 516);
	machine_init(&m, 2, 0, 0);
	CHECK_INT(machine_cost(&m, 1000, 1000000), 0);
}

/*
 * The costs outside the messages: a version and the leader's state read
 * per member of the state, a start once; each counted as charged, and
 * nothing counted at a cost of 0 (the model as it was).
 */
static void
outside_costs(void)
{
	struct machine m;

	machine_init(&m, 2, 30, 0.005);
	CHECK_INT(machine_version(&m, 200), 0);
	CHECK_INT(machine_state_read(&m, 200), 0);
	CHECK_INT(machine_start(&m), 0);
	CHECK_INT(m.versions + m.state_reads + m.starts, 0);
	m.version_cost = 0.35;
	m.state_cost = 1.5;
	m.start_cost = 2500;
	CHECK_INT(machine_version(&m, 200), 70);
	CHECK_INT(machine_version(&m, 100), 35);
	CHECK_INT(machine_version(&m, 0), 0);
	CHECK_INT(m.versions, 2);
	CHECK_INT((long long)m.version_cpu, 105);
	CHECK_INT(machine_state_read(&m, 199), 299);	/* 298.5, rounded */
	CHECK_INT(m.state_reads, 1);
	CHECK_INT((long long)m.state_cpu, 299);
	CHECK_INT(machine_start(&m), 2500);
	CHECK_INT(m.starts, 1);
	CHECK_INT((long long)m.start_cpu, 2500);
	/* the turns' CPU is machine_done's: these only say what they add */
	CHECK_INT((long long)m.cpu, 0);
	machine_free(&m);
}

/* The load is the mean of runnable nodes over time: queued and running alike. */
static void
load(void)
{
	struct machine m;
	usec_t at;

	machine_init(&m, 1, 1, 0);
	machine_ready(&m, 0, 0);
	machine_ready(&m, 1, 0);
	CHECK_INT(machine_next(&m, 0, &at), 0);
	machine_done(&m, 100, 100);	/* 0..100: two runnable */
	CHECK_INT(machine_next(&m, 100, &at), 1);
	machine_done(&m, 200, 100);	/* 100..200: one */
	/* 200..400: none; (2 x 100 + 1 x 100) / 400 */
	CHECK(machine_load(&m, 400) > 0.749 && machine_load(&m, 400) < 0.751);
	CHECK_INT(m.peak, 2);
	CHECK(machine_load(&m, 0) == 0);
	machine_free(&m);
}

/* Events at the same ms run in the order of their us, then as scheduled. */
static void
heap_us(void)
{
	struct evheap h = { 0 };
	struct event ev;
	int order[5], k = 0;

	memset(&ev, 0, sizeof(ev));
	ev.at = 3, ev.uat = 500, ev.node = 2;
	evheap_push(&h, &ev);
	ev.at = 3, ev.uat = 0, ev.node = 0;
	evheap_push(&h, &ev);
	ev.at = 3, ev.uat = 500, ev.node = 3;
	evheap_push(&h, &ev);
	ev.at = 3, ev.uat = 1, ev.node = 1;
	evheap_push(&h, &ev);
	ev.at = 4, ev.uat = 0, ev.node = 4;
	evheap_push(&h, &ev);
	while (k < 5 && evheap_pop(&h, &ev))
		order[k++] = ev.node;
	CHECK_INT(k, 5);
	for (k = 0; k < 5; k++)
		CHECK_INT(order[k], k);
	evheap_free(&h);
}

int
main(void)
{
	RUN(fifo_cores);
	RUN(ring_growth);
	RUN(cost);
	RUN(outside_costs);
	RUN(load);
	RUN(heap_us);
	return unit_done();
}
