/*
 * fuzz-work.c: the master's work state (src/master/work.c): events applied,
 * snapshots taken and restored, divergent logs merged.
 *
 * A JSON array is a log: each element is applied as the next event (the
 * master replays its journal so); one that does not apply must change
 * nothing. The state must then survive a snapshot round trip unchanged
 * (snapshot, print, parse, restore, snapshot again), and work_merge of the
 * same array as a salvaged log must give events that all apply. A JSON
 * object is a snapshot read back from the journal: it is restored, and if
 * that succeeds, the round trip must hold for it too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "work.h"

#define WALL	1700000000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what, const cJSON *a, const cJSON *b)
{
	char *ta = a ? json_print(a) : NULL, *tb = b ? json_print(b) : NULL;

	fprintf(stderr, "broken: %s\n", what);
	if (ta != NULL)
		fprintf(stderr, "  %s\n", ta);
	if (tb != NULL)
		fprintf(stderr, "  %s\n", tb);
	abort();
}

/*
 * The lists agree with the counters and the statuses; with events, every
 * job a forget event covered is gone (a restored snapshot may hold one: it
 * stays until the next forget, which does no harm, so restore takes it).
 */
static void
check(const struct work *w, int events)
{
	const struct job *j, *prev = NULL;
	long n = 0;
	size_t i, total = 0;

	for (i = 0; i < w->ready.n + w->delayed.n; i++) {
		const struct heap *h = i < w->ready.n ? &w->ready : &w->delayed;
		size_t k = i < w->ready.n ? i : i - w->ready.n;

		j = h->a[k];
		if (j->status != JOB_PENDING || j->payload == NULL || j->hidx != k ||
		    j->heap != (h == &w->ready ? HEAP_READY : HEAP_DELAYED))
			broken("the pending heaps", NULL, NULL);
		/* a parent never goes after its child */
		if (k > 0) {
			const struct job *up = h->a[(k - 1) / 2];

			if (h == &w->delayed ? up->ready_at > j->ready_at :
			    up->priority > j->priority ||
			    (up->priority == j->priority && up->order > j->order))
				broken("a heap's order", NULL, NULL);
		}
		n++;
	}
	if (n != w->npending)
		broken("the pending count", NULL, NULL);
	for (n = 0, prev = NULL, j = w->run_head; j != NULL; prev = j, j = j->next, n++)
		if (j->status != JOB_RUNNING || j->prev != prev || j->payload == NULL)
			broken("the running list", NULL, NULL);
	if (n != w->nrunning)
		broken("the running count", NULL, NULL);
	for (prev = NULL, j = w->fin_head; j != NULL; prev = j, j = j->next) {
		if ((j->status != JOB_DONE && j->status != JOB_FAILED && j->status != JOB_CANCELLED) ||
		    j->prev != prev ||
		    (prev != NULL && prev->seq >= j->seq) || j->seq > w->seq || j->payload != NULL)
			broken("the finished list", NULL, NULL);
		if (events && j->seq <= w->forgot_upto)
			broken("a forgotten job stayed", NULL, NULL);
	}
	if (w->fin_tail != prev)
		broken("the finished tail", NULL, NULL);
	for (i = 0; i < w->nb; i++)
		for (j = w->b[i]; j != NULL; j = j->hnext)
			total++;
	if (total != w->n)
		broken("the job count", NULL, NULL);
}

/* The snapshot of w, as the journal stores it: printed, then parsed. */
static cJSON *
snapshot(const struct work *w)
{
	cJSON *s = work_snapshot(w), *p;
	char *text = json_print(s);

	p = json_parse(text, strlen(text));
	cJSON_free(text);
	cJSON_Delete(s);
	if (p == NULL)
		broken("a snapshot is no JSON", NULL, NULL);
	return p;
}

static void
round_trip(struct work *w)
{
	struct work w2;
	cJSON *s1 = snapshot(w), *s2;
	char err[256];

	work_init(&w2);
	if (work_restore(&w2, s1, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		broken("a snapshot does not restore", s1, NULL);
	}
	check(&w2, 0);
	s2 = snapshot(&w2);
	if (!cJSON_Compare(s1, s2, 1))
		broken("a restored snapshot differs", s1, s2);
	if (w2.n != w->n || w2.npending != w->npending || w2.nrunning != w->nrunning ||
	    w2.ndone != w->ndone || w2.nfailed != w->nfailed || w2.nforgotten != w->nforgotten ||
	    w2.seq != w->seq || w2.forgot_upto != w->forgot_upto ||
	    (work_next(w, 0) == NULL) != (work_next(&w2, 0) == NULL) ||
	    (work_next(w, 0) != NULL && strcmp(work_next(w, 0)->id, work_next(&w2, 0)->id) != 0))
		broken("a restored state differs", s1, s2);
	work_free(&w2);
	cJSON_Delete(s1);
	cJSON_Delete(s2);
}

/* Applies ev as the next event; a refused one must leave w as it was. */
static void
apply(struct work *w, const cJSON *ev)
{
	cJSON *before = snapshot(w), *after;
	char err[256];

	if (work_apply(w, w->seq + 2, ev, err, sizeof(err)) == 0)
		broken("an event applied out of order", ev, NULL);
	if (work_apply(w, w->seq + 1, ev, err, sizeof(err)) < 0) {
		after = snapshot(w);
		if (!cJSON_Compare(before, after, 1))
			broken("a refused event changed the state", before, after);
		cJSON_Delete(after);
	}
	cJSON_Delete(before);
	check(w, 1);
}

static cJSON *
line_of(uint64_t seq, void *arg)
{
	cJSON *l = cJSON_CreateObject();

	(void)arg;
	cJSON_AddNumberToObject(l, "seq", (double)seq);
	cJSON_AddStringToObject(l, "result", "out");
	return l;
}

/* Merges salvaged into w: every event the merge makes must apply. */
static void
merge(struct work *w, const cJSON *salvaged)
{
	long counts[MERGE_WHATS], sum = 0;
	cJSON *out = work_merge(w, salvaged, WALL, counts);
	const cJSON *ev;
	char err[256];
	int i;

	for (i = 0; i < MERGE_WHATS; i++)
		sum += counts[i];
	if (sum != cJSON_GetArraySize(salvaged))
		broken("merge counts", salvaged, out);
	cJSON_ArrayForEach(ev, out)
		if (work_apply(w, w->seq + 1, ev, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			broken("a merged event does not apply", ev, salvaged);
		}
	check(w, 1);
	cJSON_Delete(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *in = json_parse((const char *)data, size), *snap, *evs;
	const cJSON *ev;
	struct work w, fresh;
	char err[256];

	if (in == NULL)
		return 0;
	work_init(&w);
	if (cJSON_IsArray(in)) {
		cJSON_ArrayForEach(ev, in)
			apply(&w, ev);
		round_trip(&w);
		merge(&w, in);
		round_trip(&w);
		/* what a standby cut behind its snapshot salvages: merged into an empty state */
		snap = snapshot(&w);
		evs = work_snapshot_events(snap, line_of, NULL);
		work_init(&fresh);
		merge(&fresh, evs);
		if (fresh.n != w.n)
			broken("a snapshot's jobs, merged, are not all there", snap, evs);
		work_free(&fresh);
		cJSON_Delete(evs);
		cJSON_Delete(snap);
	} else if (work_restore(&w, in, err, sizeof(err)) == 0) {
		check(&w, 0);
		round_trip(&w);
	}
	work_free(&w);
	cJSON_Delete(in);
	return 0;
}
