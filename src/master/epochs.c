/* epochs.c: the epoch runs of a journal and the common prefix of two (see epochs.h). */
#include <stdlib.h>
#include <string.h>

#include "epochs.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

void
epochs_init(struct epochs *e)
{
	memset(e, 0, sizeof(*e));
	e->lo = 1;
}

void
epochs_free(struct epochs *e)
{
	free(e->v);
	memset(e, 0, sizeof(*e));
}

void
epochs_clear(struct epochs *e, uint64_t lo)
{
	e->n = 0;
	e->lo = lo ? lo : 1;
}

static void
push(struct epochs *e, uint64_t ep, uint64_t first)
{
	GROW(e->v, e->n, e->cap);
	e->v[e->n].ep = ep;
	e->v[e->n].first = first;
	e->n++;
}

void
epochs_note(struct epochs *e, uint64_t seq, uint64_t ep)
{
	if (e->n == 0 || e->v[e->n - 1].ep != ep)
		push(e, ep, seq);
}

void
epochs_cut(struct epochs *e, uint64_t seq)
{
	while (e->n > 0 && e->v[e->n - 1].first > seq)
		e->n--;
}

uint64_t
epochs_of(const struct epochs *e, uint64_t seq, uint64_t last)
{
	int i;

	if (seq == 0 || seq < e->lo || seq > last)
		return 0;
	for (i = e->n - 1; i >= 0; i--)
		if (e->v[i].first <= seq)
			return e->v[i].ep;
	return 0;
}

/* Run i of e as the seqs [*from, *to] it covers within what is known; 0 if none. */
static int
span(const struct epochs *e, int i, uint64_t last, uint64_t *from, uint64_t *to)
{
	*from = e->v[i].first > e->lo ? e->v[i].first : e->lo;
	*to = i + 1 < e->n ? e->v[i + 1].first - 1 : last;
	if (*to > last)
		*to = last;
	return *from <= *to;
}

uint64_t
epochs_common(const struct epochs *a, uint64_t alast, const struct epochs *b, uint64_t blast)
{
	uint64_t best = 0, af, at, bf, bt, f, t;
	int i, k;

	for (i = 0; i < a->n; i++) {
		if (!span(a, i, alast, &af, &at))
			continue;
		for (k = 0; k < b->n; k++) {
			if (b->v[k].ep != a->v[i].ep || !span(b, k, blast, &bf, &bt))
				continue;
			f = af > bf ? af : bf;
			t = at < bt ? at : bt;
			if (f <= t && t > best)
				best = t;
		}
	}
	return best;
}

cJSON *
epochs_json(const struct epochs *e, uint64_t upto, int max)
{
	cJSON *o = cJSON_CreateObject(), *runs, *r;
	int i, n, start;
	uint64_t lo = e->lo;
	char buf[24];

	for (n = e->n; n > 0 && e->v[n - 1].first > upto; n--)
		;
	start = n > max ? n - max : 0;
	if (start > 0 && e->v[start].first > lo)
		lo = e->v[start].first;	/* what came before is left out: unknown */
	json_add_u64(o, "lo", lo);
	runs = cJSON_AddArrayToObject(o, "runs");
	for (i = start; i < n; i++) {
		r = cJSON_CreateArray();
		u64_to_str(e->v[i].ep, buf);
		cJSON_AddItemToArray(r, cJSON_CreateString(buf));
		u64_to_str(e->v[i].first, buf);
		cJSON_AddItemToArray(r, cJSON_CreateString(buf));
		cJSON_AddItemToArray(runs, r);
	}
	return o;
}

int
epochs_from_json(struct epochs *e, const cJSON *o)
{
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(o, "runs"), *r;
	uint64_t lo, ep, first;

	if (json_u64(o, "lo", &lo) < 0 || lo == 0 || !cJSON_IsArray(runs))
		return -1;
	epochs_clear(e, lo);
	cJSON_ArrayForEach(r, runs) {
		const cJSON *a = cJSON_GetArrayItem(r, 0), *b = cJSON_GetArrayItem(r, 1);

		if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 2 || !cJSON_IsString(a) ||
		    !cJSON_IsString(b) || str_to_u64(a->valuestring, &ep) < 0 ||
		    str_to_u64(b->valuestring, &first) < 0 || first == 0 ||
		    (e->n > 0 && (ep <= e->v[e->n - 1].ep || first <= e->v[e->n - 1].first))) {
			epochs_clear(e, 1);
			return -1;
		}
		push(e, ep, first);
	}
	return 0;
}
