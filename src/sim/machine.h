/*
 * machine.h: akc-sim's machine model (--cores C): the nodes are processes
 * that C cores serve. A node with work (a message arrived, a timer due) is
 * runnable; a free core takes the runnable node that waited longest (FIFO)
 * and runs one turn of it to the end: everything queued for it, then its
 * timers, its sends held until the turn ends, as memberd's corked loop.
 * A turn costs what it handles: a cost per message received or sent and
 * one per byte, charged (not measured), so one seed gives one run. Three
 * costs outside the messages (measured on real daemons, bench/README.md
 * "akc-sim against 200 real nodes after the broadcast"): a version the
 * node took or made in the turn (memberd's event diff, the copy it keeps
 * of the published state, its notices; per member of the state), charged
 * after the turn's sends have left, as memberd publishes after its flush;
 * the leader's state read (memberd prints the state, leaderd parses it;
 * per member), charged before the decision's sends; and a node's start
 * (the exec of memberd and leaderd, their sockets), charged before its
 * first sends. Pure code: no clock, no I/O; engine.c drives it,
 * t/unit/test-machine checks it.
 */
#ifndef SIM_MACHINE_H
#define SIM_MACHINE_H

#include <stdint.h>

typedef int64_t usec_t;

struct machine {
	int cores;		/* 0: no model (every node runs at once, on a free CPU) */
	int busy;		/* cores running a turn */
	double msg_cost;	/* us per message received or sent */
	double byte_cost;	/* us per byte received or sent */
	double version_cost;	/* us per member, a version taken or made (after the sends) */
	double state_cost;	/* us per member, the leader's state read (before its decision) */
	double start_cost;	/* us, a node's start (before its first sends) */
	struct { int node; usec_t at; } *q;	/* the run queue, a ring: who, since when */
	int qhead, qn, qcap;
	/* measures */
	usec_t since;		/* last change of the runnable count */
	double area;		/* runnable nodes x us, integrated */
	int peak;		/* most runnable nodes at once */
	double cpu;		/* us charged, all turns */
	double version_cpu, state_cpu, start_cpu;	/* of it, the costs outside the messages */
	uint64_t versions, state_reads, starts;
	uint64_t turns;
	usec_t longest;		/* the longest turn */
	usec_t waited;		/* us from runnable to on a core, summed */
	usec_t longest_wait;
};

void machine_init(struct machine *, int cores, double msg_cost, double byte_cost);
void machine_free(struct machine *);
/* What a turn that handled msgs messages of bytes bytes (in and out) costs, in us. */
usec_t machine_cost(const struct machine *, uint64_t msgs, uint64_t bytes);
/*
 * The costs outside the messages, in us, each counted in the measures as
 * charged: a version over a state of members members; the leader's read
 * of such a state; a start.
 */
usec_t machine_version(struct machine *, int members);
usec_t machine_state_read(struct machine *, int members);
usec_t machine_start(struct machine *);
/* Runnable nodes now: queued and on a core. */
int machine_runnable(const struct machine *);
/* Node joins the run queue's tail at now (the caller keeps it there once). */
void machine_ready(struct machine *, int node, usec_t now);
/*
 * The node a free core takes at now, or -1 (no core free, nobody queued);
 * *ready_at says when it became runnable (machine_ready's now).
 */
int machine_next(struct machine *, usec_t now, usec_t *ready_at);
/* A turn of cost us ends at now: its core is free (cost < 0: it ran nothing). */
void machine_done(struct machine *, usec_t now, usec_t cost);
/* Mean runnable nodes from 0 to now (the area to now over now). */
double machine_load(struct machine *, usec_t now);

#endif
