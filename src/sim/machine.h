/*
 * machine.h: akc-sim's machine model (--cores C): the nodes are processes
 * that C cores serve. A node with work (a message arrived, a timer due) is
 * runnable; a free core takes the runnable node that waited longest (FIFO)
 * and runs one turn of it to the end: everything queued for it, then its
 * timers, its sends held until the turn ends, as memberd's corked loop.
 * A turn costs what it handles: a cost per message received or sent and
 * one per byte, charged (not measured), so one seed gives one run. Pure
 * code: no clock, no I/O; engine.c drives it, t/unit/test-machine checks it.
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
	struct { int node; usec_t at; } *q;	/* the run queue, a ring: who, since when */
	int qhead, qn, qcap;
	/* measures */
	usec_t since;		/* last change of the runnable count */
	double area;		/* runnable nodes x us, integrated */
	int peak;		/* most runnable nodes at once */
	double cpu;		/* us charged, all turns */
	uint64_t turns;
	usec_t longest;		/* the longest turn */
	usec_t waited;		/* us from runnable to on a core, summed */
	usec_t longest_wait;
};

void machine_init(struct machine *, int cores, double msg_cost, double byte_cost);
void machine_free(struct machine *);
/* What a turn that handled msgs messages of bytes bytes (in and out) costs, in us. */
usec_t machine_cost(const struct machine *, uint64_t msgs, uint64_t bytes);
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
