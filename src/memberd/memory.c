/*
 * memory.c: the membership a node remembers across restarts, and the
 * majority rule built on it (memberd(8), FORMING; singletond(8), NEVER TWO).
 *
 * Why: a restart erases everything a node learnt by gossip (the members,
 * their tombstones), and a supervisor restarts a downed node at once. A
 * fresh incarnation cut off from its cluster could then form a cluster of
 * its own and start every singleton there, while the real cluster ran them
 * too. So memberd remembers, in state-dir, the members of the cluster it
 * belongs to (address and incarnation), and two rules use that memory:
 *
 *  - forming: a node may form a new cluster only when a majority of the
 *    members it remembers answer that they are not members of any cluster
 *    (the whole cluster stopped): a part of the old cluster that is cut off
 *    can never be a majority of it;
 *  - the singleton guard: a singleton runs only on a node that sees a
 *    majority of the members it remembers as reachable members of its own
 *    cluster. Two disjoint sets of nodes cannot each hold a majority of the
 *    same memory.
 *
 * The memory follows the cluster: a member seen is added (a new incarnation
 * at the same address replaces the old), a member that left gracefully (its
 * tombstone says it exited) is dropped. A member downed and removed, or one
 * of a previous life that this cluster does not know, stays until it has not
 * been seen for MEMORY_FORGET: it counts against a majority, which errs on
 * the side of never two. See memberd(8) for the trade-offs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "json.h"
#include "log.h"
#include "membership.h"
#include "node.h"
#include "xmalloc.h"

#define MEMORY_FORGET	(24LL * 3600 * 1000)	/* as tombstones: wall ms */

/* The memory is kept sorted by address: lookups are binary searches. */
static int
memo_search(const struct node *n, const char *address, int *at)
{
	int lo = 0, hi = n->nmemo - 1, mid, c;

	while (lo <= hi) {
		mid = (lo + hi) / 2;
		/* the view's addresses are the same interned strings: no strcmp to find them */
		if ((c = n->memo[mid].address == address ? 0 :
		    strcmp(n->memo[mid].address, address)) == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	if (at != NULL)
		*at = lo;
	return -1;
}

static struct memo *
memo_add(struct node *n, const char *address, uint64_t uid)
{
	struct memo *e;
	int at = 0;

	if (memo_search(n, address, &at) >= 0)
		return NULL;
	n->memo_gen++;
	n->memo_vix_mt = 0;		/* the indexes after at moved */
	GROW(n->memo, n->nmemo, n->memocap);
	memmove(&n->memo[at + 1], &n->memo[at], (size_t)(n->nmemo - at) * sizeof(*n->memo));
	n->nmemo++;
	e = &n->memo[at];
	memset(e, 0, sizeof(*e));
	e->address = intern(address);
	e->uid = uid;
	e->nack_at = -1;
	e->vix = -1;
	return e;
}

/* A member of this cluster that no other cluster can have: Down is on its way out. */
static int
counts_as_member(enum mstatus s)
{
	return s == MS_JOINING || s == MS_WEAKLY_UP || s == MS_UP || s == MS_LEAVING ||
	    s == MS_EXITING;
}

/*
 * The memory by address, for one pass over the view: the view's addresses
 * and the memory's are the same interned strings, so a lookup hashes a
 * pointer instead of a binary search of strcmp (which was a tenth of
 * akc-sim's CPU at 2,400 nodes: two searches per member per state change).
 * v >= 0: an index into memo; v < 0: -(1 + index) into a pending list.
 */
struct memo_ix {
	const char **k;
	int *v;
	size_t mask;
};

static size_t
ptr_slot(const struct memo_ix *x, const char *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;
	size_t i;

	for (i = (size_t)(h >> 32) & x->mask; x->k[i] != NULL && x->k[i] != p; i = (i + 1) & x->mask)
		;
	return i;
}

static void ix_build_marks(struct memo_ix *, struct node *, int, int);

static void
ix_build(struct memo_ix *x, const struct node *n, int extra)
{
	ix_build_marks(x, (struct node *)(uintptr_t)n, extra, 0);
}

/* ix_build, and with reset: every entry's vix and present cleared on the way. */
static void
ix_build_marks(struct memo_ix *x, struct node *n, int extra, int reset)
{
	size_t cap = 16;
	int k;

	while (cap < 2 * ((size_t)n->nmemo + (size_t)extra) + 2)
		cap *= 2;
	x->k = xcalloc(cap, sizeof(*x->k));
	x->v = xcalloc(cap, sizeof(*x->v));
	x->mask = cap - 1;
	for (k = 0; k < n->nmemo; k++) {
		size_t i = ptr_slot(x, n->memo[k].address);

		x->k[i] = n->memo[k].address;
		x->v[i] = k;
		if (reset) {
			n->memo[k].vix = -1;
			n->memo[k].present = 0;
		}
	}
}

static void
ix_free(struct memo_ix *x)
{
	free(x->k);
	free(x->v);
}

static int
memo_cmp(const void *a, const void *b)
{
	return strcmp(((const struct memo *)a)->address, ((const struct memo *)b)->address);
}

/*
 * Sorts p (np entries) by address, as qsort with memo_cmp would (the
 * addresses are distinct: the order is the only one). The new members of
 * an update come in the view's order (address_compare's), which is
 * strcmp's within each run of one host length and port: a natural merge
 * sort takes those runs as they come (qsort was 3.8% of a 4,000-node
 * akc-sim start, most of it the first full state's thousands of members).
 */
static void
memo_sort(struct memo *p, int np)
{
	struct memo *tmp, *src, *dst, *t;
	int *run, nrun = 0, i, r, w;

	if (np < 2)
		return;
	run = xmalloc(((size_t)np + 1) * sizeof(*run));
	run[nrun++] = 0;
	for (i = 1; i < np; i++)
		if (memo_cmp(&p[i - 1], &p[i]) > 0)
			run[nrun++] = i;
	if (nrun == 1) {
		free(run);
		return;
	}
	run[nrun] = np;		/* run k is [run[k], run[k + 1]) */
	tmp = xreallocarray(NULL, (size_t)np, sizeof(*tmp));
	src = p;
	dst = tmp;
	while (nrun > 1) {
		for (r = w = 0; r < nrun; r += 2, w++) {
			int a = run[r], am = run[r + 1], b = am, bm = r + 2 <= nrun ? run[r + 2] : am,
			    o = a;

			if (r + 1 >= nrun)
				bm = b;		/* an odd run out: copied */
			while (a < am && b < bm)
				dst[o++] = memo_cmp(&src[a], &src[b]) <= 0 ? src[a++] : src[b++];
			while (a < am)
				dst[o++] = src[a++];
			while (b < bm)
				dst[o++] = src[b++];
			run[w] = run[r];
		}
		run[w] = np;
		nrun = w;
		t = src;
		src = dst;
		dst = t;
	}
	if (src != p)
		memcpy(p, src, (size_t)np * sizeof(*p));
	free(tmp);
	free(run);
}

/* Sorts the np new entries p and merges them into the memory. */
static void
memo_merge(struct node *n, struct memo *p, int np)
{
	int i = n->nmemo - 1, j = np - 1, w = n->nmemo + np - 1, lg = 1;

	while (n->memocap < n->nmemo + np)
		n->memocap = n->memocap ? 2 * n->memocap : 8;
	n->memo = xreallocarray(n->memo, (size_t)n->memocap, sizeof(*n->memo));
	memo_sort(p, np);
	while ((1 << lg) <= n->nmemo && lg < 30)
		lg++;
	if ((int64_t)np * lg > n->nmemo) {
		/*
		 * Many new entries (a first full state's): one compare per
		 * entry, from the back, where halving would take lg each.
		 */
		while (j >= 0) {
			if (i >= 0 && memo_cmp(&n->memo[i], &p[j]) > 0)
				n->memo[w--] = n->memo[i--];
			else
				n->memo[w--] = p[j--];
		}
		n->nmemo += np;
		return;
	}
	while (j >= 0) {
		/*
		 * Where p[j] goes: found by halving, then the entries after it
		 * moved at once. A join adds one member: one compare of
		 * addresses per entry after it was 1.4% of a 3,000-node
		 * akc-sim kill. (No address is twice: those in p are not in
		 * the memory.)
		 */
		int lo = 0, hi = i + 1, c;

		while (lo < hi) {
			int mid = lo + (hi - lo) / 2;

			if (memo_cmp(&n->memo[mid], &p[j]) > 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		c = i + 1 - lo;		/* entries after p[j]'s place */
		if (c > 0)
			memmove(&n->memo[w - c + 1], &n->memo[lo], (size_t)c * sizeof(*n->memo));
		w -= c;
		i -= c;
		n->memo[w--] = p[j--];
	}
	n->nmemo += np;
}

/* What of the tombstones an update reads (which are there, which exited). */
static uint64_t
tombs_digest(const struct mstate *st)
{
	uint64_t d = (uint64_t)st->nt;
	int i;

	for (i = 0; i < st->nt; i++)
		d += mix64(st->t[i].uid ^ (uint64_t)st->t[i].exited);
	return d;
}

/*
 * Follows the view (the memory above). Every state change calls it, and a
 * join storm changes the seen set hundreds of times a second with the
 * same member table: an update that reads the same table (the same
 * mstate_table_id), tombstones and memory, in the same
 * minute and before any member out of view may be forgotten, would change
 * nothing but the seen times of the members in view, which are kept to the
 * minute for this (saved when the minute changes): it is skipped. Weak
 * point: a member's seen time is then up to a minute older than the last
 * view that held it, so one that leaves the view is forgotten (after a
 * day) up to a minute sooner.
 */
/*
 * What of the view an update reads, as a digest: each member's uid, its
 * address (an interned string: its one address) and whether it counts as
 * a member. Another table with the same digest (most versions that write
 * the table move a status the memory does not tell apart: Joining to Up,
 * or are a merge's new block of the same members) would change only the
 * seen times, as the same table would (the skip below). A pass over the
 * members' words, against the index and the lookups of an update (7.6% of
 * a 3,000-node akc-sim kill). Weak point: two views of one digest (a
 * 64-bit collision) would leave the second one's change unread until the
 * next view.
 */
static uint64_t
view_digest(const struct mstate *st)
{
	uint64_t d = (uint64_t)st->n;
	int i;

	for (i = 0; i < st->n; i++)
		d += mix64(mix64(st->m[i].uid) ^ (uint64_t)(uintptr_t)st->m[i].address ^
		    (uint64_t)counts_as_member(st->m[i].status));
	return d;
}

void
node_memory_update(struct node *n)
{
	const struct tomb *t;
	struct memo_ix x;
	struct memo *p = NULL;
	int i, k, np = 0, pcap = 0, changed = 0, dup = 0;
	uint64_t td, vd = 0;

	if (n->phase != PHASE_MEMBER)
		return;
	td = tombs_digest(&n->st);
	if (n->memo_mt != 0 && n->memo_tombs == td &&
	    n->memo_n == n->nmemo && n->memo_minute == n->wall / 60000 &&
	    n->wall <= n->memo_forget_at) {
		if (mstate_table_id(&n->st) == n->memo_mt)
			return;
		if ((vd = view_digest(&n->st)) == n->memo_view) {
			n->memo_mt = mstate_table_id(&n->st);
			return;
		}
	}
	/*
	 * Members new to the memory wait in a list, added at once and sorted
	 * once. One index serves the update: the list's entries are in it
	 * (v < 0), the marks (vix, present) travel with the entries through
	 * the merge, so the memory is not indexed a second time after it.
	 */
	ix_build_marks(&x, n, n->st.n, 1);
	for (i = 0; i < n->st.n; i++) {
		const struct member *m = &n->st.m[i];
		struct memo *e;
		size_t j;

		if (!counts_as_member(m->status))
			continue;
		j = ptr_slot(&x, m->address);
		if (x.k[j] == NULL) {
			x.k[j] = m->address;
			x.v[j] = -(1 + np);
			GROW(p, np, pcap);
			e = &p[np++];
			memset(e, 0, sizeof(*e));
			e->address = intern_ref(m->address);
			e->uid = m->uid;
			e->nack_at = -1;
			e->vix = i;
			changed = 1;
			continue;
		}
		e = x.v[j] >= 0 ? &n->memo[x.v[j]] : &p[-x.v[j] - 1];
		if (e->vix < 0)
			e->vix = i;
		else
			dup = 1;	/* two at one address: node_majority looks them up */
		if (e->uid != m->uid) {
			e->uid = m->uid;	/* a new incarnation at that address */
			changed = 1;
		}
	}
	/* which remembered incarnations the view still holds (any status) */
	for (i = 0; i < n->st.n; i++) {
		size_t j = ptr_slot(&x, n->st.m[i].address);
		struct memo *e;

		if (x.k[j] == NULL)
			continue;
		e = x.v[j] >= 0 ? &n->memo[x.v[j]] : &p[-x.v[j] - 1];
		if (e->uid == n->st.m[i].uid)
			e->present = 1;
	}
	ix_free(&x);
	if (np > 0)
		memo_merge(n, p, np);
	free(p);
	for (k = 0; k < n->nmemo; k++) {
		struct memo *e = &n->memo[k];

		if (e->present) {
			if (e->seen / 60000 != n->wall / 60000)
				changed = 1;	/* rewritten at most once a minute for this */
			e->seen = n->wall;
			continue;
		}
		/*
		 * Forgotten only when it left on its own (its tombstone says it
		 * exited) or after a day unseen. A member removed because it
		 * was downed is still remembered: a cluster that downs its
		 * members one after another (each time a majority of what is
		 * left) must not end up a "majority" of itself while the downed
		 * ones, restarted, are a majority of the cluster they remember.
		 * They come back at their address as new incarnations.
		 */
		t = mstate_tomb(&n->st, e->uid);
		if ((t != NULL && t->exited) || (e->seen > 0 && n->wall - e->seen > MEMORY_FORGET))
			e->uid = 0;	/* forgotten: compacted below */
	}
	n->memo_forget_at = INT64_MAX;
	for (i = k = 0; k < n->nmemo; k++)
		if (n->memo[k].uid != 0) {
			if (!n->memo[k].present && n->memo[k].seen > 0 &&
			    n->memo[k].seen + MEMORY_FORGET < n->memo_forget_at)
				n->memo_forget_at = n->memo[k].seen + MEMORY_FORGET;
			n->memo[k].present = 0;
			n->memo[i++] = n->memo[k];
		} else
			intern_unref(n->memo[k].address);
	if (i != n->nmemo) {
		n->nmemo = i;
		changed = 1;
	}
	if (changed)
		n->memo_seq++;
	n->memo_gen++;
	n->memo_mt = mstate_table_id(&n->st);
	n->memo_vix_mt = dup ? 0 : n->memo_mt;
	n->memo_view = vd != 0 ? vd : view_digest(&n->st);	/* st is as it was */
	n->memo_tombs = td;
	n->memo_n = n->nmemo;
	n->memo_minute = n->wall / 60000;
}

int
node_majority(const struct node *n, int *have, int *of)
{
	struct memo_ix x;
	char *in_sight;
	int i, k, low, tie;

	*have = 0;
	*of = n->nmemo;
	if (n->phase != PHASE_MEMBER)
		return 0;
	in_sight = xcalloc((size_t)n->nmemo + 1, 1);
	if (n->memo_vix_mt != 0 && n->memo_vix_mt == mstate_table_id(&n->st)) {
		/*
		 * The table the last update read (memo_vix_mt), which found
		 * each entry's one member at its address that counts (vix):
		 * no lookups (the index below was 6.5% of a 4,000-node
		 * akc-sim start).
		 */
		for (k = 0; k < n->nmemo; k++) {
			const struct member *m;

			if (n->memo[k].vix < 0)
				continue;
			m = &n->st.m[n->memo[k].vix];
			if (m->uid == n->self.uid || mstate_reachable(&n->st, m->uid)) {
				in_sight[k] = 1;
				(*have)++;
			}
		}
		goto tie;
	}
	ix_build(&x, n, 0);
	for (i = 0; i < n->st.n; i++) {
		const struct member *m = &n->st.m[i];
		size_t j = ptr_slot(&x, m->address);

		if (!counts_as_member(m->status) || x.k[j] == NULL || in_sight[k = x.v[j]])
			continue;
		if (m->uid == n->self.uid || mstate_reachable(&n->st, m->uid)) {
			in_sight[k] = 1;
			(*have)++;
		}
	}
	ix_free(&x);
tie:
	/*
	 * An even split: the half that sees the lowest remembered address
	 * has it, as keep-majority decides a tie (downing.c). Two disjoint
	 * halves of one memory cannot both hold that member.
	 */
	tie = 0;
	if (n->nmemo > 0 && *have * 2 == n->nmemo) {
		for (low = 0, k = 1; k < n->nmemo; k++)
			if (address_compare(n->memo[k].address, n->memo[low].address) < 0)
				low = k;
		tie = in_sight[low];
	}
	free(in_sight);
	return *have > n->nmemo / 2 || tie;
}

/* Forming: a majority of the remembered members (ourselves included) answered lately. */
int
node_memory_ready(const struct node *n, msec_t now, msec_t window, int *have, int *of)
{
	int k;

	*have = 0;
	*of = n->nmemo;
	if (n->nmemo == 0)
		return 1;	/* a new node: nothing to keep apart from */
	for (k = 0; k < n->nmemo; k++)
		if (strcmp(n->memo[k].address, n->self.address) == 0 ||
		    (n->memo[k].nack_at >= 0 && now - n->memo[k].nack_at <= window))
			(*have)++;
	return *have > n->nmemo / 2;
}

void
node_memory_nack(struct node *n, const char *address, msec_t now)
{
	int k = memo_search(n, address, NULL);

	if (k >= 0)
		n->memo[k].nack_at = now;
}

cJSON *
node_memory_to_json(const struct node *n)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "members");
	int k;

	cJSON_AddNumberToObject(o, "v", 1);
	for (k = 0; k < n->nmemo; k++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "address", n->memo[k].address);
		json_add_u64(e, "uid", n->memo[k].uid);
		cJSON_AddNumberToObject(e, "seen", (double)n->memo[k].seen);
		cJSON_AddItemToArray(a, e);
	}
	return o;
}

int
node_memory_from_json(struct node *n, const cJSON *o, char *err, size_t len)
{
	const cJSON *e;
	long v;

	if (!cJSON_IsObject(o) || json_int(o, "v", 1, 1, &v) < 0 ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "members"))) {
		snprintf(err, len, "not a membership memory of this version");
		return -1;
	}
	node_memory_clear(n);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "members")) {
		const char *addr = json_str(e, "address");
		const cJSON *seen = cJSON_GetObjectItemCaseSensitive(e, "seen");
		uint64_t uid;

		if (addr == NULL || strlen(addr) >= CONF_ADDR_MAX || json_u64(e, "uid", &uid) < 0 ||
		    !cJSON_IsNumber(seen)) {
			snprintf(err, len, "a malformed member");
			node_memory_clear(n);
			return -1;
		}
		struct memo *mo;

		if ((mo = memo_add(n, addr, uid)) != NULL)
			mo->seen = (int64_t)seen->valuedouble;
	}
	return 0;
}

void
node_memory_clear(struct node *n)
{
	int k;

	for (k = 0; k < n->nmemo; k++)
		intern_unref(n->memo[k].address);
	n->nmemo = 0;
	n->memo_gen++;
	n->memo_mt = 0;
	n->memo_vix_mt = 0;
}

void
node_memory_forget(struct node *n)
{
	node_memory_clear(n);
	n->memo_seq++;
}
