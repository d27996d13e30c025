/* waiters.c: the master's parked results and status requests (see waiters.h). */
#include <stdlib.h>
#include <string.h>

#include "waiters.h"
#include "xmalloc.h"

void
waiters_init(struct waiters *ws)
{
	memset(ws, 0, sizeof(*ws));
}

void
waiters_free(struct waiters *ws)
{
	free(ws->w);
	memset(ws, 0, sizeof(*ws));
}

int
waiters_park(struct waiters *ws, const struct waiter *w)
{
	if (ws->n >= WAITERS_MAX) {
		ws->full++;
		return -1;
	}
	GROW(ws->w, ws->n, ws->cap);
	ws->w[ws->n++] = *w;
	if (w->kind == WAIT_RESULTS)
		ws->nresults++;
	else
		ws->nstatus++;
	ws->parked++;
	return 0;
}

/* Moves w[i] behind the parked ones (they are unordered: a swap will do). */
static void
take(struct waiters *ws, int i)
{
	struct waiter t;

	if (ws->w[i].kind == WAIT_RESULTS)
		ws->nresults--;
	else
		ws->nstatus--;
	ws->n--;
	if (i != ws->n) {
		t = ws->w[i];
		ws->w[i] = ws->w[ws->n];
		ws->w[ws->n] = t;
	}
}

int
waiters_take_results(struct waiters *ws, uint64_t seq)
{
	int i, n0 = ws->n;

	if (ws->nresults == 0)
		return 0;
	for (i = ws->n - 1; i >= 0; i--)
		if (ws->w[i].kind == WAIT_RESULTS && ws->w[i].since < seq)
			take(ws, i);
	ws->woken += (uint64_t)(n0 - ws->n);
	return n0 - ws->n;
}

int
waiters_take_status(struct waiters *ws, const char *id)
{
	int i, n0 = ws->n;

	if (ws->nstatus == 0)
		return 0;
	for (i = ws->n - 1; i >= 0; i--)
		if (ws->w[i].kind == WAIT_STATUS && strcmp(ws->w[i].id, id) == 0)
			take(ws, i);
	ws->woken += (uint64_t)(n0 - ws->n);
	return n0 - ws->n;
}

int
waiters_take_expired(struct waiters *ws, msec_t now)
{
	int i, n0 = ws->n;

	for (i = ws->n - 1; i >= 0; i--)
		if (ws->w[i].until <= now)
			take(ws, i);
	ws->expired += (uint64_t)(n0 - ws->n);
	return n0 - ws->n;
}

msec_t
waiters_next_deadline(const struct waiters *ws)
{
	msec_t d = -1;
	int i;

	for (i = 0; i < ws->n; i++)
		if (d < 0 || ws->w[i].until < d)
			d = ws->w[i].until;
	return d;
}
