/*
 * simnet.h: akc-sim's pure pieces: a deterministic random source, the event
 * queue (a binary heap ordered by time, then by insertion), the simulated
 * network's rules (latency, loss, cut links) and a size histogram. No I/O,
 * no clocks: the simulator and its unit test drive them.
 */
#ifndef SIM_SIMNET_H
#define SIM_SIMNET_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"

/* splitmix64: one stream per use, so adding a draw in one place moves no other. */
uint64_t sim_rand(uint64_t *state);
/* Uniform in [0, 1). */
double sim_rand01(uint64_t *state);

enum ev_kind {
	EV_WAKE,	/* a node's timers and its leaderd's round */
	EV_MSG,		/* a message arrives at node */
	EV_STEP,	/* the scenario's next step */
	EV_SAMPLE,	/* one row of the time series */
	EV_CPU		/* --cores: node's turn on a core ends (machine.c) */
};

struct event {
	msec_t at;
	int uat;		/* microseconds within the ms: only the machine model (--cores) sets it */
	uint64_t seq;		/* ties at the same time: first scheduled, first run */
	enum ev_kind kind;
	int node, src;
	uint64_t gen;		/* EV_WAKE: stale unless it matches the node's */
	char *txt;		/* EV_MSG: the payload, JSON or compact (owned) */
	size_t len;		/* EV_MSG: bytes on the wire */
	size_t plen;		/* EV_MSG: bytes of the payload (a compact payload's long form) */
	/*
	 * EV_MSG in flight: the payload's member table, shared with the other
	 * messages that carry it (engine.c's struct seg, a reference), cut
	 * out of txt at segat; NULL: txt is the whole payload.
	 */
	struct seg *seg;
	size_t segat;
	/*
	 * The cut is the table of the payload's "state" (engine.c's
	 * print_state): the receiver may read it in place (parse_ref).
	 */
	int segref;
};

struct evheap {
	struct event *e;
	size_t n, cap;
	uint64_t seq;
};

void evheap_push(struct evheap *, struct event *);
/* Takes the earliest event into *out; 0 if the heap is empty. */
int evheap_pop(struct evheap *, struct event *out);
void evheap_free(struct evheap *);

/*
 * The network: every link has latency base + U[0, jitter] ms and loses
 * a message with probability loss; nodes belong to groups (a rack, a side
 * of a partition) and cut[a][b] loses everything group a sends to group b,
 * so a one-way partition is cut[a][b] without cut[b][a].
 */
#define SIM_GROUPS	8

struct simnet {
	msec_t base, jitter;
	double loss;
	unsigned char cut[SIM_GROUPS][SIM_GROUPS];
};

/*
 * When a message sent at now from group a to group b arrives, or -1 when
 * the network loses it. The draws come from rng, the sender's own stream
 * (akc-sim gives each node one), so what one node sends never moves the
 * delays of another's messages, whatever order the nodes run in.
 */
msec_t simnet_delay(const struct simnet *, uint64_t *rng, int a, int b, msec_t now);
/* Cuts (on = 1) or heals the links from group a to group b. */
void simnet_cut(struct simnet *, int a, int b, int on);
void simnet_heal_all(struct simnet *);

/* The earliest event, left in the heap (NULL if it is empty). */
const struct event *evheap_top(const struct evheap *);

/*
 * Message sizes, to 1/16 of an octave: enough for a median and a peak
 * without keeping every size.
 */
#define HIST_BUCKETS	(40 * 16)

struct sizehist {
	uint64_t count[HIST_BUCKETS];
	uint64_t n;
	size_t max;
};

void sizehist_add(struct sizehist *, size_t len);
/* The size under which a fraction q of the messages fall (upper bound of its bucket). */
size_t sizehist_quantile(const struct sizehist *, double q);
/* Adds b's counts to a's (the threads' histograms into the run's). */
void sizehist_merge(struct sizehist *a, const struct sizehist *b);

#endif
