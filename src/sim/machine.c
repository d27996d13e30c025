/*
 * machine.c: the run queue and cores of akc-sim's machine model (machine.h).
 * FIFO, not processor sharing: a turn is short (tens to hundreds of us: a
 * few messages at ~20 us each), well under the scheduler's slice (Linux's
 * CFS gives a runnable task at least ~3 ms at this load), so on the real
 * machine a turn too runs to its end once it has a core, and the cores
 * take the runnable processes about in the order they woke.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "xmalloc.h"

void
machine_init(struct machine *m, int cores, double msg_cost, double byte_cost)
{
	memset(m, 0, sizeof(*m));
	m->cores = cores;
	m->msg_cost = msg_cost;
	m->byte_cost = byte_cost;
}

void
machine_free(struct machine *m)
{
	free(m->q);
	m->q = NULL;
	m->qn = m->qcap = m->qhead = 0;
}

usec_t
machine_cost(const struct machine *m, uint64_t msgs, uint64_t bytes)
{
	return (usec_t)llround((double)msgs * m->msg_cost + (double)bytes * m->byte_cost);
}

/* cost a member for members members, added to *cpu and counted in *count when any. */
static usec_t
per_member(double cost, int members, double *cpu, uint64_t *count)
{
	usec_t us = (usec_t)llround(cost * (members > 0 ? members : 0));

	if (us > 0) {
		*cpu += (double)us;
		(*count)++;
	}
	return us;
}

usec_t
machine_version(struct machine *m, int members)
{
	return per_member(m->version_cost, members, &m->version_cpu, &m->versions);
}

usec_t
machine_state_read(struct machine *m, int members)
{
	return per_member(m->state_cost, members, &m->state_cpu, &m->state_reads);
}

usec_t
machine_start(struct machine *m)
{
	usec_t us = (usec_t)llround(m->start_cost);

	if (us > 0) {
		m->start_cpu += (double)us;
		m->starts++;
	}
	return us;
}

int
machine_runnable(const struct machine *m)
{
	return m->qn + m->busy;
}

/* Integrates the runnable count up to now, before it changes. */
static void
account(struct machine *m, usec_t now)
{
	if (now > m->since) {
		m->area += (double)machine_runnable(m) * (double)(now - m->since);
		m->since = now;
	}
}

void
machine_ready(struct machine *m, int node, usec_t now)
{
	int k;

	account(m, now);
	if (m->qn == m->qcap) {
		int oc = m->qcap;

		m->qcap = oc ? 2 * oc : 256;
		m->q = xreallocarray(m->q, (size_t)m->qcap, sizeof(*m->q));
		/* unwrap: the entries past the old end move to the new space */
		for (k = 0; k < m->qhead; k++)
			m->q[oc + k] = m->q[k];
	}
	k = (m->qhead + m->qn) % m->qcap;
	m->q[k].node = node;
	m->q[k].at = now;
	m->qn++;
	if (machine_runnable(m) > m->peak)
		m->peak = machine_runnable(m);
}

int
machine_next(struct machine *m, usec_t now, usec_t *ready_at)
{
	int node;

	if (m->busy >= m->cores || m->qn == 0)
		return -1;
	account(m, now);
	node = m->q[m->qhead].node;
	*ready_at = m->q[m->qhead].at;
	m->qhead = (m->qhead + 1) % m->qcap;
	m->qn--;
	m->busy++;
	m->waited += now - *ready_at;
	if (now - *ready_at > m->longest_wait)
		m->longest_wait = now - *ready_at;
	return node;
}

void
machine_done(struct machine *m, usec_t now, usec_t cost)
{
	account(m, now);
	if (m->busy > 0)
		m->busy--;
	if (cost < 0)
		return;		/* no turn: the node had died in the queue */
	m->cpu += (double)cost;
	m->turns++;
	if (cost > m->longest)
		m->longest = cost;
}

double
machine_load(struct machine *m, usec_t now)
{
	account(m, now);
	return now > 0 ? m->area / (double)now : 0;
}
