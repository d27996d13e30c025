/* membership.c: the membership state lattice, merged and judged without I/O. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "json.h"
#include "log.h"
#include "membership.h"
#include "xmalloc.h"

static const char *status_names[MS_NSTATUS] = {
	"Joining", "WeaklyUp", "Up", "Leaving", "Exiting", "Down", "Removed"
};

/* allowed[from][to], as in Akka's MemberStatus.allowedTransitions */
static const unsigned char allowed[MS_NSTATUS][MS_NSTATUS] = {
	/*              Jo WU Up Le Ex Do Re */
	[MS_JOINING]  = { 0, 1, 1, 1, 0, 1, 1 },
	[MS_WEAKLY_UP]= { 0, 0, 1, 1, 0, 1, 1 },
	[MS_UP]       = { 0, 0, 0, 1, 0, 1, 1 },
	[MS_LEAVING]  = { 0, 0, 0, 0, 1, 1, 1 },
	[MS_EXITING]  = { 0, 0, 0, 0, 0, 1, 1 },
	[MS_DOWN]     = { 0, 0, 0, 0, 0, 0, 1 },
	[MS_REMOVED]  = { 0, 0, 0, 0, 0, 0, 0 },
};

struct wcache;
static void wcache_free(struct wcache *);

/* merge priority: the status "furthest along" wins */
static const int priority[MS_NSTATUS] = {
	[MS_JOINING] = 0, [MS_WEAKLY_UP] = 1, [MS_UP] = 2, [MS_LEAVING] = 3,
	[MS_EXITING] = 4, [MS_DOWN] = 5, [MS_REMOVED] = 6,
};

const char *
mstatus_name(enum mstatus s)
{
	return (s >= 0 && s < MS_NSTATUS) ? status_names[s] : "?";
}

int
mstatus_parse(const char *s, enum mstatus *out)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < MS_NSTATUS; i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum mstatus)i;
			return 0;
		}
	return -1;
}

int
mstatus_allowed(enum mstatus from, enum mstatus to)
{
	return allowed[from][to];
}

int
member_has_role(const struct member *m, const char *role)
{
	const char *p = m->roles;
	size_t rl;

	if (role == NULL || *role == '\0')
		return 1;
	rl = strlen(role);
	while (*p) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == rl && strncmp(p, role, rl) == 0)
			return 1;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

int
roles_next(const char **p, char *r, size_t rlen)
{
	const char *s, *e;
	size_t l;

	for (s = *p; *s != '\0'; s = e + 1) {
		e = strchr(s, ',');
		l = e != NULL ? (size_t)(e - s) : strlen(s);
		if (l > 0 && l < rlen) {
			memcpy(r, s, l);
			r[l] = '\0';
			*p = e != NULL ? e + 1 : s + l;
			return 1;
		}
		if (e == NULL)
			break;
	}
	*p = s + strlen(s);
	return 0;
}

/* tcp://HOST:PORT: host as a string, then the port as a number */
int
address_compare(const char *a, const char *b)
{
	const char *ca = strrchr(a, ':'), *cb = strrchr(b, ':');
	size_t la, lb;
	int c;
	long pa, pb;

	if (ca == NULL || cb == NULL || ca < a + 6 || cb < b + 6)
		return strcmp(a, b);
	la = (size_t)(ca - a);
	lb = (size_t)(cb - b);
	c = strncmp(a, b, la < lb ? la : lb);
	if (c != 0)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	pa = strtol(ca + 1, NULL, 10);
	pb = strtol(cb + 1, NULL, 10);
	return pa < pb ? -1 : (pa > pb ? 1 : 0);
}

/* The port of address a (len bytes), if it ends in ':' and 1-9 digits, at *colon; else -1. */
static long
addr_port(const char *a, size_t len, size_t *colon)
{
	size_t i = len, k;
	long p = 0;

	while (i > 0 && len - i < 10 && a[i - 1] >= '0' && a[i - 1] <= '9')
		i--;
	if (i == len || i == 0 || a[i - 1] != ':' || len - i > 9 || i - 1 < 6)
		return -1;
	for (k = i; k < len; k++)
		p = p * 10 + (a[k] - '0');
	*colon = i - 1;
	return p;
}

/*
 * address_compare of two interned addresses, the same order: their
 * lengths are known, so the port is found from the end and read as
 * digits (strrchr and strtol were 5% of a 2,000-node start, in merges and
 * the check of a table's order); anything else is address_compare's.
 */
static int
iaddress_compare(const char *a, const char *b)
{
	size_t la = intern_len(a), lb = intern_len(b), ca, cb;
	long pa = addr_port(a, la, &ca), pb = addr_port(b, lb, &cb);
	int c;

	if (pa < 0 || pb < 0)
		return address_compare(a, b);
	if ((c = memcmp(a, b, ca < cb ? ca : cb)) != 0)
		return c;
	if (ca != cb)
		return ca < cb ? -1 : 1;
	return pa < pb ? -1 : (pa > pb ? 1 : 0);
}

int
member_compare(const struct member *a, const struct member *b)
{
	int c = 0;

	/* interned: the same address is the same pointer; NULL (none known) sorts as "" */
	if (a->address != b->address) {
		if (a->address != NULL && b->address != NULL)
			c = iaddress_compare(a->address, b->address);
		else
			c = address_compare(a->address ? a->address : "", b->address ? b->address : "");
	}

	if (c != 0)
		return c;
	return a->uid < b->uid ? -1 : (a->uid > b->uid ? 1 : 0);
}

int
member_older(const struct member *a, const struct member *b)
{
	if (a->up_number != b->up_number)
		return a->up_number < b->up_number;
	return member_compare(a, b) < 0;
}

/*
 * ---- u64 sets, kept sorted ----
 * A seen set holds a uid per member, and merges test every member against
 * it: a linear search made a merge quadratic in N, so lookups are binary
 * searches (akc-sim at 1000+ nodes). The order on the wire is ascending.
 */

/* Index of x in s, or of where it would go (then *found is 0). */
static int
u64set_pos(const struct u64set *s, uint64_t x, int *found)
{
	int lo = 0, hi = s->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (s->v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->n && s->v[lo] == x;
	return lo;
}

int
u64set_has(const struct u64set *s, uint64_t x)
{
	int found;

	(void)u64set_pos(s, x, &found);
	return found;
}

void
u64set_add(struct u64set *s, uint64_t x)
{
	int found, i = u64set_pos(s, x, &found);

	if (found)
		return;
	GROW(s->v, s->n, s->cap);
	memmove(&s->v[i + 1], &s->v[i], (size_t)(s->n - i) * sizeof(*s->v));
	s->v[i] = x;
	s->n++;
}

void
u64set_del(struct u64set *s, uint64_t x)
{
	int found, i = u64set_pos(s, x, &found);

	if (!found)
		return;
	memmove(&s->v[i], &s->v[i + 1], (size_t)(s->n - i - 1) * sizeof(*s->v));
	s->n--;
}

void
u64set_clear(struct u64set *s)
{
	s->n = 0;
}

void
u64set_free(struct u64set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void
u64set_copy(struct u64set *d, const struct u64set *s)
{
	d->n = 0;
	RESERVE(d->v, s->n, d->cap);
	if (s->n > 0)
		memcpy(d->v, s->v, (size_t)s->n * sizeof(*d->v));
	d->n = s->n;
}

/* ---- vector clocks ---- */

static int
vc_find(const struct vclock *vc, uint64_t node, int *pos)
{
	int lo = 0, hi = vc->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (vc->e[mid].node < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return lo < vc->n && vc->e[lo].node == node;
}

uint64_t
vclock_get(const struct vclock *vc, uint64_t node)
{
	int pos;

	return vc_find(vc, node, &pos) ? vc->e[pos].count : 0;
}

static void
vc_set(struct vclock *vc, uint64_t node, uint64_t count)
{
	int pos;

	if (vc_find(vc, node, &pos)) {
		vc->e[pos].count = count;
		return;
	}
	GROW(vc->e, vc->n, vc->cap);
	memmove(&vc->e[pos + 1], &vc->e[pos], (size_t)(vc->n - pos) * sizeof(*vc->e));
	vc->e[pos] = (struct vc_entry){ node, count };
	vc->n++;
}

void
vclock_inc(struct vclock *vc, uint64_t node)
{
	vc_set(vc, node, vclock_get(vc, node) + 1);
}

enum vc_order
vclock_compare(const struct vclock *a, const struct vclock *b)
{
	int i = 0, j = 0, less = 0, more = 0;

	while (i < a->n || j < b->n) {
		uint64_t ca, cb;

		if (j >= b->n || (i < a->n && a->e[i].node < b->e[j].node)) {
			ca = a->e[i++].count;
			cb = 0;
		} else if (i >= a->n || b->e[j].node < a->e[i].node) {
			ca = 0;
			cb = b->e[j++].count;
		} else {
			ca = a->e[i++].count;
			cb = b->e[j++].count;
		}
		if (ca < cb)
			less = 1;
		else if (ca > cb)
			more = 1;
	}
	if (less && more)
		return VC_CONCURRENT;
	if (less)
		return VC_BEFORE;
	if (more)
		return VC_AFTER;
	return VC_SAME;
}

void
vclock_merge(struct vclock *into, const struct vclock *other)
{
	int i;

	for (i = 0; i < other->n; i++)
		if (vclock_get(into, other->e[i].node) < other->e[i].count)
			vc_set(into, other->e[i].node, other->e[i].count);
}

void
vclock_prune(struct vclock *vc, uint64_t node)
{
	int pos;

	if (!vc_find(vc, node, &pos))
		return;
	memmove(&vc->e[pos], &vc->e[pos + 1], (size_t)(vc->n - pos - 1) * sizeof(*vc->e));
	vc->n--;
}

void
vclock_copy(struct vclock *d, const struct vclock *s)
{
	RESERVE(d->e, s->n, d->cap);
	if (s->n > 0)
		memcpy(d->e, s->e, (size_t)s->n * sizeof(*d->e));
	d->n = s->n;
}

void
vclock_free(struct vclock *vc)
{
	free(vc->e);
	memset(vc, 0, sizeof(*vc));
}

/* ---- reachability ---- */

static uint64_t
reach_version_of(const struct reach *r, uint64_t observer)
{
	int i;

	for (i = 0; i < r->nv; i++)
		if (r->v[i].observer == observer)
			return r->v[i].version;
	return 0;
}

static void
reach_version_set(struct reach *r, uint64_t observer, uint64_t version)
{
	int i;

	for (i = 0; i < r->nv; i++)
		if (r->v[i].observer == observer) {
			r->v[i].version = version;
			return;
		}
	GROW(r->v, r->nv, r->vcap);
	r->v[r->nv++] = (struct reach_version){ observer, version };
}

enum rstatus
reach_observer_says(const struct reach *r, uint64_t observer, uint64_t subject)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (r->r[i].observer == observer && r->r[i].subject == subject)
			return r->r[i].status;
	return RS_REACHABLE;
}

/*
 * Rules (Akka's Reachability):
 * 1. Only the observer edits its row; every change bumps its version.
 * 2. Terminated is sticky: nothing changes a Terminated record.
 * 3. A row that becomes all-Reachable is deleted, so a healthy cluster
 *    carries no records at all.
 */
void
reach_set(struct reach *r, uint64_t observer, uint64_t subject, enum rstatus st)
{
	int i, found = -1, others = 0;
	uint64_t ver = reach_version_of(r, observer) + 1;

	for (i = 0; i < r->n; i++)
		if (r->r[i].observer == observer) {
			if (r->r[i].subject == subject)
				found = i;
			else if (r->r[i].status != RS_REACHABLE)
				others = 1;
		}
	if (found < 0) {
		if (st == RS_REACHABLE)
			return;
		GROW(r->r, r->n, r->cap);
		r->r[r->n++] = (struct reach_record){ observer, subject, st, ver };
		reach_version_set(r, observer, ver);
		return;
	}
	if (r->r[found].status == st || r->r[found].status == RS_TERMINATED)
		return;
	reach_version_set(r, observer, ver);
	if (st == RS_REACHABLE && !others) {
		for (i = 0; i < r->n; )
			if (r->r[i].observer == observer)
				r->r[i] = r->r[--r->n];
			else
				i++;
		return;
	}
	r->r[found].status = st;
	r->r[found].version = ver;
}

static void
reach_drop(struct reach *r, uint64_t uid)
{
	int i;

	for (i = 0; i < r->n; )
		if (r->r[i].observer == uid || r->r[i].subject == uid)
			r->r[i] = r->r[--r->n];
		else
			i++;
	for (i = 0; i < r->nv; i++)
		if (r->v[i].observer == uid) {
			r->v[i] = r->v[--r->nv];
			break;
		}
}

static void
reach_copy(struct reach *d, const struct reach *s)
{
	d->n = d->nv = 0;
	RESERVE(d->r, s->n, d->cap);
	RESERVE(d->v, s->nv, d->vcap);
	if (s->n > 0)
		memcpy(d->r, s->r, (size_t)s->n * sizeof(*d->r));
	if (s->nv > 0)
		memcpy(d->v, s->v, (size_t)s->nv * sizeof(*d->v));
	d->n = s->n;
	d->nv = s->nv;
}

static void
reach_free(struct reach *r)
{
	free(r->r);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* An observation counts unless its observer is gone or Down. */
static int
observer_counts(const struct mstate *st, uint64_t observer)
{
	int i = mstate_find(st, observer);

	return i >= 0 && st->m[i].status != MS_DOWN;
}

enum rstatus
mstate_reach_status(const struct mstate *st, uint64_t subject)
{
	enum rstatus agg = RS_REACHABLE;
	int i;

	for (i = 0; i < st->reach.n; i++) {
		const struct reach_record *rr = &st->reach.r[i];

		if (rr->subject != subject || !observer_counts(st, rr->observer))
			continue;
		if (rr->status == RS_TERMINATED)
			return RS_TERMINATED;
		if (rr->status == RS_UNREACHABLE)
			agg = RS_UNREACHABLE;
	}
	return agg;
}

int
mstate_reachable(const struct mstate *st, uint64_t subject)
{
	return mstate_reach_status(st, subject) == RS_REACHABLE;
}

/* ---- members ---- */

void
member_set(struct member *m, const char *name, const char *address, const char *roles)
{
	const char *n = intern(name), *a = intern(address), *r = intern(roles);

	member_clear(m);
	m->name = n;
	m->address = a;
	m->roles = r;
}

void
member_copy(struct member *dst, const struct member *src)
{
	const char *n = intern_ref(src->name), *a = intern_ref(src->address);
	const char *r = intern_ref(src->roles);

	member_clear(dst);
	*dst = *src;
	dst->name = n;
	dst->address = a;
	dst->roles = r;
}

void
member_clear(struct member *m)
{
	intern_unref(m->name);
	intern_unref(m->address);
	intern_unref(m->roles);
	m->name = m->address = m->roles = NULL;
}

/* The references of a copy made with = or memcpy. */
static void
member_take(struct member *m)
{
	(void)intern_ref(m->name);
	(void)intern_ref(m->address);
	(void)intern_ref(m->roles);
}

static void
members_clear(struct member *m, int n)
{
	int i;

	for (i = 0; i < n; i++)
		member_clear(&m[i]);
}

/*
 * ---- member tables shared between states (struct mtab) ----
 *
 * Why: akc-sim holds N states of N members, and in a join storm most of
 * them hold one of a few tables at a time; a daemon holds a few copies of
 * its own. Each state had its own array: a copy of a state took a
 * reference to each member's three strings, a wire state was read into a
 * new array (a member a record, its strings looked up or referenced, an
 * index built), though it was most often, byte for byte, a table the
 * process held already. Now a table is a block shared by the states that
 * hold it, copy-on-write:
 *
 * 1. A block is reference-counted (atomics: akc-sim's threads share
 *    blocks) and immutable while more than one state holds it. A write
 *    (mstate_wm, mstate_add, mstate_remove; a merge makes a new block)
 *    goes to a block the state holds alone: copied first if shared.
 * 2. What is derived from the members is built once a block, on first
 *    use, and published with a release store (a thread that built it too
 *    drops its own): the uid index (mstate_find), the printed table
 *    (struct mtext: the records as the wire form prints them, where each
 *    starts, the uids in order) and the table hash of status messages.
 *    A block written in place (held alone) drops them first.
 * 3. A block whose printed records are all valid, in member order and of
 *    distinct uids (what the wire read checks) is in a map keyed by a
 *    hash of its printed bytes. A wire state whose table is the
 *    receiver's own table (memcmp) or one in the map (the hash, then
 *    memcmp: never the hash alone) takes that block: no record read, no
 *    string looked up or referenced, no array allocated. The map holds no
 *    reference: a block leaves it with its last reference, or when its
 *    only holder writes to it; a lookup takes a reference, under the
 *    map's lock, only from a count above zero.
 * 4. The printed bytes stand for the members because the block holds the
 *    references to their strings: no string a printed table names can be
 *    freed, and its address given to another, while the table lives (the
 *    weak point of the cache before, keyed by the strings' addresses).
 *    Weak point: a state's members are read through st->m, which the
 *    compiler keeps read-only; a cast could still write a shared block.
 */
struct mtext;

struct uidpos {
	uint64_t uid;
	int i;			/* its index in the table */
};

struct mindex {
	unsigned mask;
	int slot[];		/* index into m; -1: empty */
};

struct mtab {
	atomic_int refs;
	uint64_t id;			/* mstate_table_id: new with every write */
	int n, cap;
	int ordered;			/* known in member order, of distinct uids */
	struct member *m;
	_Atomic(struct mtext *) tx;	/* printed (2.), or NULL */
	_Atomic(struct mindex *) ix;	/* find index (2.), or NULL */
	_Atomic(struct uidpos *) byuid;	/* the members in uid order (2.), or NULL */
	_Atomic uint64_t mh;		/* mstate_table_hash, once mhok */
	atomic_int mhok;
	atomic_int lead0;		/* the leader with no reachability records, + 2; 0: not yet */
	int inmap;			/* in mt_map (3.); under mt_lock */
	struct mtab *next;		/* in its bucket */
	uint64_t wh;			/* words_hash, once in the map */
	struct mtab *next2;		/* in its bucket of mt_words */
};

static void mtext_free(struct mtext *);
static void map_remove(struct mtab *);
static pthread_mutex_t mt_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t mt_ids;

static struct mtab *
mtab_new(int cap)
{
	struct mtab *mt = xcalloc(1, sizeof(*mt));

	atomic_init(&mt->refs, 1);
	mt->id = atomic_fetch_add_explicit(&mt_ids, 1, memory_order_relaxed) + 1;
	mt->cap = cap > 8 ? cap : 8;
	mt->m = xreallocarray(NULL, (size_t)mt->cap, sizeof(*mt->m));
	return mt;
}

static struct mtab *
mtab_ref(struct mtab *mt)
{
	if (mt != NULL)
		atomic_fetch_add_explicit(&mt->refs, 1, memory_order_relaxed);
	return mt;
}

/* Drops what was derived from mt's members: its one holder is about to write them. */
static void
mtab_forget(struct mtab *mt)
{
	mtext_free(atomic_load_explicit(&mt->tx, memory_order_relaxed));
	atomic_store_explicit(&mt->tx, NULL, memory_order_relaxed);
	free(atomic_load_explicit(&mt->ix, memory_order_relaxed));
	atomic_store_explicit(&mt->ix, NULL, memory_order_relaxed);
	free(atomic_load_explicit(&mt->byuid, memory_order_relaxed));
	atomic_store_explicit(&mt->byuid, NULL, memory_order_relaxed);
	atomic_store_explicit(&mt->mhok, 0, memory_order_relaxed);
	atomic_store_explicit(&mt->lead0, 0, memory_order_relaxed);
}

static void
mtab_unref(struct mtab *mt)
{
	if (mt == NULL || atomic_fetch_sub_explicit(&mt->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* no holder left: only the map can still reach it, and takes no reference from 0 */
	if (mt->inmap) {
		pthread_mutex_lock(&mt_lock);
		map_remove(mt);
		pthread_mutex_unlock(&mt_lock);
	}
	members_clear(mt->m, mt->n);
	free(mt->m);
	mtab_forget(mt);
	free(mt);
}

static void
st_sync(struct mstate *st)
{
	st->m = st->mt != NULL ? st->mt->m : NULL;
	st->n = st->mt != NULL ? st->mt->n : 0;
}

/*
 * st's table to write, with room for need members: a block st holds alone
 * (1. above), out of the map, its derived forms dropped.
 */
static struct mtab *
mstate_own(struct mstate *st, int need)
{
	struct mtab *mt = st->mt, *c;
	int alone = 0, i;

	if (mt != NULL && atomic_load_explicit(&mt->refs, memory_order_acquire) == 1) {
		alone = 1;
		if (mt->inmap) {
			/* a lookup may take a reference until it is out of the map */
			pthread_mutex_lock(&mt_lock);
			if (atomic_load_explicit(&mt->refs, memory_order_acquire) == 1)
				map_remove(mt);
			else
				alone = 0;
			pthread_mutex_unlock(&mt_lock);
		}
	}
	if (alone) {
		mtab_forget(mt);
		mt->ordered = 0;	/* (a copy's is the default) */
		mt->id = atomic_fetch_add_explicit(&mt_ids, 1, memory_order_relaxed) + 1;
	} else {
		c = mtab_new(need > st->n ? need : st->n);
		if (st->n > 0)
			memcpy(c->m, st->m, (size_t)st->n * sizeof(*c->m));
		for (i = 0; i < st->n; i++)
			member_take(&c->m[i]);
		c->n = st->n;
		mtab_unref(mt);
		st->mt = mt = c;
	}
	if (need > mt->cap) {
		mt->cap = need > 2 * mt->cap ? need : 2 * mt->cap;
		mt->m = xreallocarray(mt->m, (size_t)mt->cap, sizeof(*mt->m));
	}
	st_sync(st);
	return mt;
}

struct member *
mstate_wm(struct mstate *st, int i)
{
	if (i < 0 || i >= st->n)
		fatalx("mstate_wm: member %d of %d", i, st->n);
	return &mstate_own(st, st->n)->m[i];
}

uint64_t
mstate_table_id(const struct mstate *st)
{
	return st->mt != NULL ? st->mt->id : 0;
}

int
mstate_same_table(const struct mstate *a, const struct mstate *b)
{
	return a->mt == b->mt || (a->n == 0 && b->n == 0);
}

/* ---- state ---- */

void
mstate_init(struct mstate *st)
{
	memset(st, 0, sizeof(*st));
}

void
mstate_free(struct mstate *st)
{
	mtab_unref(st->mt);
	vclock_free(&st->vc);
	u64set_free(&st->seen);
	reach_free(&st->reach);
	free(st->t);
	wcache_free(st->wt);
	memset(st, 0, sizeof(*st));
}

void
mstate_copy(struct mstate *d, const struct mstate *s)
{
	struct mtab *mt = mtab_ref(s->mt);

	mtab_unref(d->mt);
	d->mt = mt;
	st_sync(d);
	vclock_copy(&d->vc, &s->vc);
	u64set_copy(&d->seen, &s->seen);
	reach_copy(&d->reach, &s->reach);
	RESERVE(d->t, s->nt, d->tcap);
	if (s->nt > 0)
		memcpy(d->t, s->t, (size_t)s->nt * sizeof(*d->t));
	d->nt = s->nt;
}

static int
find_scan(const struct mstate *st, uint64_t uid)
{
	int i;

	for (i = 0; i < st->n; i++)
		if (st->m[i].uid == uid)
			return i;
	return -1;
}

static unsigned uid_slot(uint64_t uid, unsigned mask);

/* mt's find index, built on first use (2. above). */
static const struct mindex *
mtab_index(const struct mtab *cmt)
{
	struct mtab *mt = (struct mtab *)cmt;
	struct mindex *x = atomic_load_explicit(&mt->ix, memory_order_acquire), *none = NULL;
	unsigned size = 16, h;
	int i;

	if (x != NULL)
		return x;
	while (size < 2u * (unsigned)mt->n)
		size *= 2;
	x = xmalloc(sizeof(*x) + size * sizeof(x->slot[0]));
	x->mask = size - 1;
	memset(x->slot, 0xff, size * sizeof(x->slot[0]));
	for (i = 0; i < mt->n; i++) {
		for (h = uid_slot(mt->m[i].uid, x->mask); x->slot[h] >= 0; h = (h + 1) & x->mask)
			;
		x->slot[h] = i;
	}
	if (!atomic_compare_exchange_strong_explicit(&mt->ix, &none, x, memory_order_acq_rel,
	    memory_order_acquire)) {
		free(x);
		return none;
	}
	return x;
}

static int
by_uid(const void *a, const void *b)
{
	const struct uidpos *p = a, *q = b;

	/* a uid twice (no valid table): the first of them, as the find index */
	if (p->uid != q->uid)
		return p->uid < q->uid ? -1 : 1;
	return p->i < q->i ? -1 : p->i > q->i;
}

/*
 * Sorts o[0..n) by uid (then index): uids are spread over their range
 * (memberd draws them at random), so a pass into n buckets by value and a
 * sort of each small bucket is about linear; a bucket that is not small
 * (uids bunched: a test's, a peer's) is sorted by qsort. A qsort of every
 * new table's uids was 6% of a 2,000-node start.
 */
static void
uidpos_sort(struct uidpos *o, int n)
{
	struct uidpos *t, x;
	uint64_t lo, hi, w;
	int *at, i, j, b;

	if (n < 64) {
		qsort(o, (size_t)n, sizeof(*o), by_uid);
		return;
	}
	lo = hi = o[0].uid;
	for (i = 1; i < n; i++) {
		if (o[i].uid < lo)
			lo = o[i].uid;
		if (o[i].uid > hi)
			hi = o[i].uid;
	}
	w = (hi - lo) / (uint64_t)n + 1;	/* bucket width: (hi - lo) / w < n */
	at = xcalloc((size_t)n + 1, sizeof(*at));
	t = xreallocarray(NULL, (size_t)n, sizeof(*t));
	for (i = 0; i < n; i++)
		at[(o[i].uid - lo) / w + 1]++;
	for (b = 0; b < n; b++)
		at[b + 1] += at[b];
	for (i = 0; i < n; i++)	/* at[b]: the next place of bucket b (its start + those placed) */
		t[at[(o[i].uid - lo) / w]++] = o[i];
	/* now at[b] is the end of bucket b, and the start of b + 1 */
	for (b = 0, i = 0; b < n; i = at[b++]) {
		if (at[b] - i > 32) {
			qsort(&t[i], (size_t)(at[b] - i), sizeof(*t), by_uid);
			continue;
		}
		for (j = i + 1; j < at[b]; j++) {
			int k = j;

			x = t[j];
			while (k > i && by_uid(&t[k - 1], &x) > 0) {
				t[k] = t[k - 1];
				k--;
			}
			t[k] = x;
		}
	}
	memcpy(o, t, (size_t)n * sizeof(*o));
	free(t);
	free(at);
}

/*
 * mt's members' uids in ascending order with their indexes, built on first
 * use (2. above): a seen bitmap over the table read in this order is a
 * sorted set (a sort per status message was 5% of a 1,000-node start), and
 * a sorted set (seen, a clock) is found in the table by one merge pass.
 */
static const struct uidpos *
mtab_order(const struct mtab *cmt)
{
	struct mtab *mt = (struct mtab *)cmt;
	struct uidpos *o = atomic_load_explicit(&mt->byuid, memory_order_acquire), *none = NULL;
	int i;

	if (o != NULL)
		return o;
	o = xreallocarray(NULL, (size_t)mt->n + 1, sizeof(*o));
	for (i = 0; i < mt->n; i++)
		o[i] = (struct uidpos){ mt->m[i].uid, i };
	uidpos_sort(o, mt->n);
	if (!atomic_compare_exchange_strong_explicit(&mt->byuid, &none, o, memory_order_acq_rel,
	    memory_order_acquire)) {
		free(o);
		return none;
	}
	return o;
}

/*
 * A linear search was fine at 50 members; at 10,000 it was a scan of
 * 400 KB for every message a node received (receive.c looks its sender up).
 * Above FIND_INDEX_MIN a hash index over the table, kept with the table
 * (shared, 2. above) and dropped when the table is written.
 */
#define FIND_INDEX_MIN	64

int
mstate_find(const struct mstate *st, uint64_t uid)
{
	const struct mindex *x;
	unsigned h;
	int i;

	if (st->n < FIND_INDEX_MIN)
		return find_scan(st, uid);
	x = mtab_index(st->mt);
	for (h = uid_slot(uid, x->mask); (i = x->slot[h]) >= 0; h = (h + 1) & x->mask)
		if (st->m[i].uid == uid)
			return i;
	return -1;
}

/*
 * f[i] = 1 for each member i whose uid is in s, as mstate_find would find
 * it (a uid twice in a table: the first of them). One merge of s with the
 * table's uid order: a lookup per uid of a set of N (a seen set, the
 * compact peers) was a random read of the index and of the table each, at
 * 1,000 members 2-3% of akc-sim's CPU in the pushes' and rounds' picks.
 */
void
mstate_mark(const struct mstate *st, const struct u64set *s, unsigned char *f)
{
	const struct uidpos *o;
	int i = 0, j = 0;

	if (st->n == 0 || s->n == 0)
		return;
	o = mtab_order(st->mt);
	while (i < st->n && j < s->n)
		if (o[i].uid < s->v[j])
			i++;
		else if (o[i].uid > s->v[j])
			j++;
		else {
			f[o[i].i] = 1;
			for (i++; i < st->n && o[i].uid == s->v[j]; i++)
				;
			j++;
		}
}

void
mstate_mark_uid(const struct mstate *st, uint64_t u, unsigned char *f, unsigned char v)
{
	const struct uidpos *o;
	int lo = 0, hi = st->n;

	if (st->n == 0)
		return;
	o = mtab_order(st->mt);
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (o[mid].uid < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < st->n && o[lo].uid == u; lo++)
		f[o[lo].i] |= v;
}

int
mstate_find_name(const struct mstate *st, const char *name)
{
	int i, best = -1;

	/* a restarted node may briefly appear twice: prefer the live incarnation */
	for (i = 0; i < st->n; i++)
		if (strcmp(st->m[i].name, name) == 0 &&
		    (best < 0 || st->m[best].status == MS_DOWN))
			best = i;
	return best;
}

int
mstate_find_address(const struct mstate *st, const char *address)
{
	int i, best = -1;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->m[i].address, address) == 0 &&
		    (best < 0 || st->m[best].status == MS_DOWN))
			best = i;
	return best;
}

static struct tomb *
find_tomb(const struct mstate *st, uint64_t uid)
{
	int i;

	for (i = 0; i < st->nt; i++)
		if (st->t[i].uid == uid)
			return &st->t[i];
	return NULL;
}

int
mstate_is_tombstoned(const struct mstate *st, uint64_t uid)
{
	return find_tomb(st, uid) != NULL;
}

const struct tomb *
mstate_tomb(const struct mstate *st, uint64_t uid)
{
	return find_tomb(st, uid);
}

void
mstate_add(struct mstate *st, const struct member *m)
{
	struct mtab *mt = mstate_own(st, st->n + 1);
	int i;

	for (i = mt->n; i > 0 && member_compare(&mt->m[i - 1], m) > 0; i--)
		mt->m[i] = mt->m[i - 1];
	mt->m[i] = *m;
	member_take(&mt->m[i]);
	mt->n++;
	st_sync(st);
}

/* Unites: the later time; exited if any remover had the exit confirmation. */
static void
add_tomb(struct mstate *st, uint64_t uid, int64_t time, int exited)
{
	struct tomb *t = find_tomb(st, uid);

	if (t != NULL) {
		if (time > t->time)
			t->time = time;
		t->exited |= exited;
		return;
	}
	GROW(st->t, st->nt, st->tcap);
	st->t[st->nt++] = (struct tomb){ uid, time, exited };
}

void
mstate_tomb_exited(struct mstate *st, uint64_t uid)
{
	struct tomb *t = find_tomb(st, uid);

	if (t != NULL)
		t->exited = 1;
}

void
mstate_remove(struct mstate *st, uint64_t uid, int64_t now_wall)
{
	int i = mstate_find(st, uid);

	if (i >= 0) {
		struct mtab *mt = mstate_own(st, st->n);

		member_clear(&mt->m[i]);
		memmove(&mt->m[i], &mt->m[i + 1], (size_t)(mt->n - i - 1) * sizeof(*mt->m));
		mt->n--;
		st_sync(st);
	}
	u64set_del(&st->seen, uid);
	reach_drop(&st->reach, uid);
	vclock_prune(&st->vc, uid);
	add_tomb(st, uid, now_wall, 0);
}

void
mstate_prune_tombstones(struct mstate *st, int64_t older_than)
{
	int i;

	for (i = 0; i < st->nt; )
		if (st->t[i].time < older_than)
			st->t[i] = st->t[--st->nt];
		else
			i++;
}

/*
 * uid -> index in the member table: open addressing over a power of two at
 * least twice the table, so a lookup is a probe or two. (A sort of the
 * uids cost more than all the rest of an encoding at 300 members.)
 */
struct uidx {
	uint64_t *k;		/* 0: empty slot (no member has uid 0) */
	int *v;
	unsigned mask;
};

static unsigned
uid_slot(uint64_t uid, unsigned mask)
{
	uid ^= uid >> 33;
	uid *= 0xff51afd7ed558ccdULL;
	uid ^= uid >> 33;
	return (unsigned)uid & mask;
}

/* Adds uid at index i; -1 if it is there already. */
static int
uidx_put(struct uidx *x, uint64_t uid, int i)
{
	unsigned h = uid_slot(uid, x->mask);

	while (x->k[h] != 0) {
		if (x->k[h] == uid)
			return -1;
		h = (h + 1) & x->mask;
	}
	x->k[h] = uid;
	x->v[h] = i;
	return 0;
}

static void
uidx_init(struct uidx *x, int n)
{
	unsigned size = 16;

	while (size < 2u * (unsigned)n)
		size *= 2;
	x->k = xcalloc(size, sizeof(*x->k));
	x->v = xreallocarray(NULL, size, sizeof(*x->v));
	x->mask = size - 1;
}

static void
uidx_free(struct uidx *x)
{
	free(x->k);
	free(x->v);
}

static int
uid_lookup(const struct uidx *x, uint64_t uid)
{
	unsigned h;

	if (x == NULL || uid == 0)
		return -1;
	for (h = uid_slot(uid, x->mask); x->k[h] != 0; h = (h + 1) & x->mask)
		if (x->k[h] == uid)
			return x->v[h];
	return -1;
}

static const struct member *
highest_priority(const struct member *a, const struct member *b)
{
	if (a->status == b->status)
		return member_older(a, b) ? a : b;
	return priority[a->status] > priority[b->status] ? a : b;
}

static void
merge_rows(struct reach *out, const struct reach *a, const struct reach *b,
    const struct mstate *members)
{
	int i;

	memset(out, 0, sizeof(*out));
	/* rows travel whole: take each observer's row from the newer side */
	for (i = 0; i < a->nv; i++) {
		uint64_t obs = a->v[i].observer;
		uint64_t va = a->v[i].version, vb = reach_version_of(b, obs);
		const struct reach *src = va >= vb ? a : b;
		int j;

		if (mstate_find(members, obs) < 0)
			continue;
		reach_version_set(out, obs, va >= vb ? va : vb);
		for (j = 0; j < src->n; j++)
			if (src->r[j].observer == obs && mstate_find(members, src->r[j].subject) >= 0) {
				GROW(out->r, out->n, out->cap);
				out->r[out->n++] = src->r[j];
			}
	}
	for (i = 0; i < b->nv; i++) {
		uint64_t obs = b->v[i].observer;
		int j;

		if (reach_version_of(a, obs) != 0 || mstate_find(members, obs) < 0)
			continue;
		reach_version_set(out, obs, b->v[i].version);
		for (j = 0; j < b->n; j++)
			if (b->r[j].observer == obs && mstate_find(members, b->r[j].subject) >= 0) {
				GROW(out->r, out->n, out->cap);
				out->r[out->n++] = b->r[j];
			}
	}
}

static int
member_sort_cmp(const void *a, const void *b)
{
	return member_compare(a, b);
}

/*
 * Puts m[0..n) in member order, where m[0..na) and m[na..n) are each
 * expected in it already (both sides of a merge are: the wire checks the
 * order, and a state is kept in it): a linear merge and one pass to check,
 * about 2n comparisons instead of a sort's n log n; a sort when either part
 * was not in order after all.
 */
static void
merge_sorted(struct member *m, int na, int n)
{
	struct member *t;
	int i = 0, j = na, k = 0;

	if (na > 0 && na < n) {
		t = xreallocarray(NULL, (size_t)n, sizeof(*t));
		while (i < na || j < n)
			if (j == n || (i < na && member_compare(&m[i], &m[j]) < 0))
				t[k++] = m[i++];
			else
				t[k++] = m[j++];
		memcpy(m, t, (size_t)n * sizeof(*m));
		free(t);
	}
	for (i = 1; i < n; i++)
		if (member_compare(&m[i - 1], &m[i]) >= 0)
			break;
	if (i < n)
		qsort(m, (size_t)n, sizeof(*m), member_sort_cmp);
}

/*
 * m[0..na) and m[na..n) each in member order, of distinct uids between
 * them: the second part's members go into the first by binary search when
 * they are few (a merge's side-only members are a handful: the linear
 * merge and its check were 2n comparisons of addresses), else by a merge.
 */
static void
merge_ordered(struct member *m, int na, int n)
{
	struct member *t;
	int i = 0, j, k = 0, lo, hi;

	if (na == 0 || na == n)
		return;
	t = xreallocarray(NULL, (size_t)n, sizeof(*t));
	for (j = na; j < n; j++) {
		if ((n - na) * 16 < na) {
			/* where m[j] goes among m[i..na) */
			for (lo = i, hi = na; lo < hi; ) {
				int mid = lo + (hi - lo) / 2;

				if (member_compare(&m[mid], &m[j]) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		} else
			for (lo = i; lo < na && member_compare(&m[lo], &m[j]) < 0; lo++)
				;
		memcpy(&t[k], &m[i], (size_t)(lo - i) * sizeof(*t));
		k += lo - i;
		i = lo;
		t[k++] = m[j];
	}
	memcpy(&t[k], &m[i], (size_t)(na - i) * sizeof(*t));
	memcpy(m, t, (size_t)n * sizeof(*m));
	free(t);
}

/*
 * Each member of a's match in b (ab) and of b's in a (ba), -1 for none, by
 * one pass over both tables' uid orders; both tables of distinct uids.
 */
static void
match_uids(const struct mstate *a, const struct mstate *b, int *ab, int *ba)
{
	const struct uidpos *oa = a->n > 0 ? mtab_order(a->mt) : NULL;
	const struct uidpos *ob = b->n > 0 ? mtab_order(b->mt) : NULL;
	int i = 0, j = 0;

	memset(ab, 0xff, (size_t)a->n * sizeof(*ab));
	memset(ba, 0xff, (size_t)b->n * sizeof(*ba));
	while (i < a->n && j < b->n)
		if (oa[i].uid < ob[j].uid)
			i++;
		else if (oa[i].uid > ob[j].uid)
			j++;
		else {
			ab[oa[i].i] = ob[j].i;
			ba[ob[j].i] = oa[i].i;
			i++;
			j++;
		}
}

static int mtab_wire_ok(const struct mtab *);
static struct mtab *map_find_other(const struct mtab *);
static struct mtab *map_find_words(const struct mtab *);

/* Whether blocks x and y hold the same members (strings are interned: one address each). */
static int
mtab_same(const struct mtab *x, const struct mtab *y)
{
	int i;

	if (x->n != y->n)
		return 0;
	for (i = 0; i < x->n; i++) {
		const struct member *p = &x->m[i], *q = &y->m[i];

		if (p->uid != q->uid || p->status != q->status || p->up_number != q->up_number ||
		    p->name != q->name || p->address != q->address || p->roles != q->roles)
			return 0;
	}
	return 1;
}

/*
 * The block a merge's result mt (held alone, just made) is kept as: a
 * block of the process with the same members, when there is one, else mt.
 * Why: after a kill (or any news that moves no member) the states of a
 * cluster differ in their reachability and their clocks, not in their
 * members, so every merge made a table of its own, and at N nodes the
 * process held N tables of N members (~130 bytes a member with what is
 * derived from them): 13 GB at 10,000 nodes. Now:
 * 1. a result whose members are a's or b's, member for member, is that
 *    side's block (the common case: a compare of 2N words);
 * 2. else a block of the map with the same members' words (uid, status,
 *    up number, interned strings: map_find_words, mtab_same decides) is
 *    taken, with no print;
 * 3. else it is printed (the reply that follows a merge prints it
 *    anyway), and a block of the map with the same printed bytes (the
 *    hash finds, memcmp decides) is taken in its place: two nodes that
 *    merge the same two tables hold one result.
 * A block with mt's members is, like mt, in member order and of distinct
 * uids, though it may not be known to be (its ordered flag: written in
 * place since): a later merge with it then matches by the find index, to
 * the same result.
 * Weak point: the table id (mstate_table_id) of the state after a merge
 * may be one it held before the merge; the id stands for the members,
 * which are the same, and what is kept by id (memberd's memory update,
 * the leader) was read from those members.
 */
static struct mtab *
merged_shared(struct mtab *mt, const struct mstate *a, const struct mstate *b)
{
	const struct mstate *side[2] = { a, b };
	struct mtab *o;
	int k;

	for (k = 0; k < 2; k++) {
		o = side[k]->mt;
		if (o != NULL && mtab_same(mt, o)) {
			mtab_unref(mt);
			return mtab_ref(o);
		}
	}
	/* a block with these members is in the map under its words too: no print to find it */
	if (mt->n > 0 && (o = map_find_words(mt)) != NULL) {
		mtab_unref(mt);
		return o;
	}
	if (mt->n == 0 || !mtab_wire_ok(mt) || (o = map_find_other(mt)) == NULL)
		return mt;
	if (!mtab_same(mt, o)) {
		mtab_unref(o);
		return mt;
	}
	mtab_unref(mt);
	return o;
}

/*
 * Merge of two concurrent states:
 * 1. tombstones are united; a tombstoned uid never comes back;
 * 2. a member on both sides takes the status furthest along (the older
 *    one on a tie); a member on one side only is kept, unless it is Down or
 *    Exiting there (the other side has already removed it);
 * 3. clocks take the pointwise max, without tombstoned nodes;
 * 4. reachability rows are taken whole from the side with the newer row;
 * 5. nobody has seen the result yet, so seen is empty.
 * Members are matched by uid and sorted once: a join storm merges
 * thousands of members many times a second (akc-sim at 2,400: a linear
 * search per member made merging most of the CPU). When both tables are
 * known in order and of distinct uids (read from the wire, or merged),
 * they are matched by one pass over their uid orders, and the result is
 * in order but for the few members of b's side only, put in their place.
 */
void
mstate_merge(struct mstate *out, const struct mstate *a, const struct mstate *b)
{
	struct mstate r;
	struct mtab *mt;
	struct uidx xt;
	int i, j, na, *ab = NULL, *ba = NULL;
	int known = (a->n == 0 || a->mt->ordered) && (b->n == 0 || b->mt->ordered);

	mstate_init(&r);
	for (i = 0; i < a->nt; i++)
		add_tomb(&r, a->t[i].uid, a->t[i].time, a->t[i].exited);
	for (i = 0; i < b->nt; i++)
		add_tomb(&r, b->t[i].uid, b->t[i].time, b->t[i].exited);
	uidx_init(&xt, r.nt);
	for (i = 0; i < r.nt; i++)
		(void)uidx_put(&xt, r.t[i].uid, i);
	if (a->mt != NULL && a->mt == b->mt && a->mt->ordered) {
		/*
		 * One block on both sides (states that differ in their clocks,
		 * seen sets and reachability only: after a kill, every
		 * observer's news), known in order and of distinct uids: every
		 * member is on both sides, the same, so kept (rule 2) in its
		 * place; unless one is tombstoned (1), the result is the block
		 * itself, as the merge below finds it (merged_shared's 1.)
		 * after a copy of every member and a compare.
		 */
		for (i = 0; i < r.nt && mstate_find(a, r.t[i].uid) < 0; i++)
			;
		if (i == r.nt) {
			r.mt = mtab_ref(a->mt);
			goto rest;
		}
	}
	if (known) {
		ab = xreallocarray(NULL, (size_t)a->n + 1, sizeof(*ab));
		ba = xreallocarray(NULL, (size_t)b->n + 1, sizeof(*ba));
		match_uids(a, b, ab, ba);
	}
	r.mt = mt = mtab_new(a->n + b->n);
	/* a's members, then b's own after them: each part in its side's order */
	for (i = 0; i < a->n; i++) {
		const struct member *ma = &a->m[i], *pick;

		if (uid_lookup(&xt, ma->uid) >= 0)
			continue;
		j = known ? ab[i] : mstate_find(b, ma->uid);
		if (j >= 0) {
			pick = highest_priority(ma, &b->m[j]);
			if (pick->address != ma->address)
				known = 0;	/* one uid at two addresses: its place may differ */
			mt->m[mt->n++] = *pick;
		} else if (ma->status != MS_DOWN && ma->status != MS_EXITING)
			mt->m[mt->n++] = *ma;
		else
			continue;
		member_take(&mt->m[mt->n - 1]);
	}
	na = mt->n;
	for (i = 0; i < b->n; i++) {
		const struct member *mb = &b->m[i];

		if (uid_lookup(&xt, mb->uid) >= 0 || (ba != NULL ? ba[i] : mstate_find(a, mb->uid)) >= 0)
			continue;
		if (mb->status != MS_DOWN && mb->status != MS_EXITING) {
			mt->m[mt->n++] = *mb;
			member_take(&mt->m[mt->n - 1]);
		}
	}
	free(ab);
	free(ba);
	if (known)
		merge_ordered(mt->m, na, mt->n);
	else
		merge_sorted(mt->m, na, mt->n);
	mt->ordered = 1;	/* sorted, and a uid at most once (rule 2) */
	r.mt = mt = merged_shared(mt, a, b);
rest:
	st_sync(&r);
	vclock_copy(&r.vc, &a->vc);
	vclock_merge(&r.vc, &b->vc);
	for (i = 0; i < r.nt; i++)
		vclock_prune(&r.vc, r.t[i].uid);
	merge_rows(&r.reach, &a->reach, &b->reach, &r);
	uidx_free(&xt);
	mstate_free(out);
	*out = r;
}

int
mstate_convergence(const struct mstate *st, uint64_t self, const struct u64set *confirmed)
{
	int i, any_up = 0;

	for (i = 0; i < st->n; i++)
		if (st->m[i].status == MS_UP || st->m[i].status == MS_LEAVING)
			any_up = 1;
	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];
		int must = m->status == MS_UP || m->status == MS_LEAVING ||
		    (!any_up && (m->status == MS_JOINING || m->status == MS_WEAKLY_UP));

		if (must && !u64set_has(&st->seen, m->uid) &&
		    !(confirmed && u64set_has(confirmed, m->uid)))
			return 0;
	}
	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];

		if (m->uid == self || (confirmed && u64set_has(confirmed, m->uid)))
			continue;
		if (!mstate_reachable(st, m->uid) &&
		    m->status != MS_DOWN && m->status != MS_EXITING)
			return 0;
	}
	return 1;
}

/* Akka's leaderStatusOrdering rank: Up/Leaving first, then WeaklyUp, Joining, Exiting, Down. */
static int
leader_rank(enum mstatus s)
{
	switch (s) {
	case MS_UP:
	case MS_LEAVING:	return 0;
	case MS_WEAKLY_UP:	return 1;
	case MS_JOINING:	return 2;
	case MS_EXITING:	return 3;
	default:		return 4;
	}
}

int
mstate_leader(const struct mstate *st, const char *role)
{
	return mstate_leader_for(st, role, 0);
}

/*
 * The leader of all members as self sees it, kept with the state (struct
 * wcache) with what it read: the table (its id), self and the
 * reachability records (a copy, compared record by record). A node asks
 * it several times a message (changed(), gaps, pushes, leaderd's round),
 * and it costs a pass over N members with a reachability lookup each.
 */
#define LEAD_REACH	16	/* more records than this: not kept */

struct lead {
	uint64_t id, self;
	struct reach_record r[LEAD_REACH];
	int n, best;
};

static struct lead *st_lead(const struct mstate *);
static struct lead *st_lead_make(const struct mstate *);

/* Whether st's kept leader is for what st holds now: then *best. */
static int
lead_cached(const struct mstate *st, uint64_t self, int *best)
{
	const struct lead *l = st_lead(st);
	int i;

	if (l == NULL || st->mt == NULL || l->id != st->mt->id || l->self != self ||
	    l->n != st->reach.n)
		return 0;
	for (i = 0; i < st->reach.n; i++)
		if (l->r[i].observer != st->reach.r[i].observer ||
		    l->r[i].subject != st->reach.r[i].subject ||
		    l->r[i].status != st->reach.r[i].status)
			return 0;
	*best = l->best;
	return 1;
}

int
mstate_leader_for(const struct mstate *st, const char *role, uint64_t self)
{
	int i, best = -1, c;

	/*
	 * With no reachability records every member is reachable, and the
	 * leader is the table's alone, whoever asks: kept with the block
	 * (2. of the shared tables), for every state that holds it. A state
	 * taken from the wire is new each time, and its own kept leader
	 * (lead_cached) is empty: at 10,000 members this was a pass over the
	 * table for every version a node took.
	 */
	if (role == NULL && st->reach.n == 0 && st->mt != NULL &&
	    (c = atomic_load_explicit(&st->mt->lead0, memory_order_relaxed)) != 0)
		return c - 2;
	if (role == NULL && lead_cached(st, self, &best))
		return best;

	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];

		if (m->status == MS_DOWN || !member_has_role(m, role) ||
		    (m->uid != self && !mstate_reachable(st, m->uid)))
			continue;
		/* members are in address order: the first of the best rank wins */
		if (best < 0 || leader_rank(m->status) < leader_rank(st->m[best].status))
			best = i;
	}
	if (role == NULL && st->mt != NULL && st->reach.n == 0)
		atomic_store_explicit(&st->mt->lead0, best + 2, memory_order_relaxed);
	if (role == NULL && st->mt != NULL && st->reach.n <= LEAD_REACH) {
		struct lead *l = st_lead_make(st);

		l->id = st->mt->id;
		l->self = self;
		if (st->reach.n > 0)
			memcpy(l->r, st->reach.r, (size_t)st->reach.n * sizeof(*l->r));
		l->n = st->reach.n;
		l->best = best;
	}
	return best;
}

int
mstate_oldest(const struct mstate *st, const char *role)
{
	int i, best = -1;

	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];

		if (m->status != MS_UP || !member_has_role(m, role))
			continue;
		if (best < 0 || member_older(m, &st->m[best]))
			best = i;
	}
	return best;
}

int
mstate_speedup_needed(const struct mstate *st)
{
	int i;

	for (i = 0; i < st->n; i++)
		if (st->m[i].status == MS_DOWN || st->m[i].status == MS_LEAVING ||
		    st->m[i].status == MS_EXITING || st->m[i].status == MS_JOINING)
			return 1;
	return st->seen.n < st->n / 2;
}

int
mstate_next_up_number(const struct mstate *st)
{
	int i, max = 0;

	for (i = 0; i < st->n; i++)
		if (st->m[i].up_number != UPNUM_NONE && st->m[i].up_number > max)
			max = st->m[i].up_number;
	return max + 1;
}

/* ---- JSON ---- */

cJSON *
member_to_json(const struct member *m)
{
	cJSON *o = cJSON_CreateObject(), *roles;
	const char *p = m->roles;
	char r[CONF_ROLE_MAX];

	cJSON_AddStringToObject(o, "node", m->name);
	cJSON_AddStringToObject(o, "address", m->address);
	json_add_u64(o, "uid", m->uid);
	cJSON_AddStringToObject(o, "status", mstatus_name(m->status));
	roles = cJSON_AddArrayToObject(o, "roles");
	while (roles_next(&p, r, sizeof(r)))
		cJSON_AddItemToArray(roles, cJSON_CreateString(r));
	if (m->up_number == UPNUM_NONE)
		cJSON_AddNullToObject(o, "up_number");
	else
		cJSON_AddNumberToObject(o, "up_number", m->up_number);
	return o;
}

static int
valid_token(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == ',' || *s == '"' || *s == '\\' ||
		    (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int
member_from_json(const cJSON *o, struct member *m)
{
	const char *name = json_str(o, "node"), *addr = json_str(o, "address");
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(o, "roles"), *r;
	const cJSON *up = cJSON_GetObjectItemCaseSensitive(o, "up_number");
	char rs[ROLES_MAX];
	long n;
	size_t used = 0;

	memset(m, 0, sizeof(*m));
	if (!cJSON_IsObject(o) || name == NULL || addr == NULL ||
	    !valid_token(name, CONF_NAME_MAX) || !valid_token(addr, CONF_ADDR_MAX) ||
	    strncmp(addr, "tcp://", 6) != 0 ||
	    json_u64(o, "uid", &m->uid) < 0 || m->uid == 0 ||
	    mstatus_parse(json_str(o, "status"), &m->status) < 0 ||
	    m->status == MS_REMOVED || !cJSON_IsArray(roles))
		return -1;
	if (cJSON_IsNull(up))
		m->up_number = UPNUM_NONE;
	else if (json_int(o, "up_number", 1, INT_MAX - 1, &n) == 0)
		m->up_number = (int)n;
	else
		return -1;
	cJSON_ArrayForEach(r, roles) {
		size_t l;

		if (!cJSON_IsString(r) || !valid_token(r->valuestring, CONF_ROLE_MAX))
			return -1;
		l = strlen(r->valuestring);
		if (used + l + 2 > sizeof(rs))
			return -1;
		if (used > 0)
			rs[used++] = ',';
		memcpy(rs + used, r->valuestring, l + 1);
		used += l;
	}
	rs[used] = '\0';
	member_set(m, name, addr, rs);
	return 0;
}

cJSON *
vclock_to_json(const struct vclock *vc)
{
	cJSON *o = cJSON_CreateObject();
	char k[24];
	int i;

	for (i = 0; i < vc->n; i++) {
		u64_to_str(vc->e[i].node, k);
		json_add_u64(o, k, vc->e[i].count);
	}
	return o;
}

int
vclock_from_json(const cJSON *o, struct vclock *vc)
{
	const cJSON *e;
	uint64_t node, count;

	vc->n = 0;
	if (!cJSON_IsObject(o))
		return -1;
	cJSON_ArrayForEach(e, o) {
		if (vc->n >= 100000 || str_to_u64(e->string, &node) < 0 ||
		    !cJSON_IsString(e) || str_to_u64(e->valuestring, &count) < 0 ||
		    vclock_get(vc, node) != 0)
			return -1;
		vc_set(vc, node, count);
	}
	return 0;
}

cJSON *
u64set_to_json(const struct u64set *s)
{
	cJSON *a = cJSON_CreateArray();
	char k[24];
	int i;

	for (i = 0; i < s->n; i++) {
		u64_to_str(s->v[i], k);
		cJSON_AddItemToArray(a, cJSON_CreateString(k));
	}
	return a;
}

int
u64set_from_json(const cJSON *a, struct u64set *s, int max)
{
	const cJSON *e;
	uint64_t v;

	s->n = 0;
	if (!cJSON_IsArray(a))
		return -1;
	cJSON_ArrayForEach(e, a) {
		if (s->n >= max || !cJSON_IsString(e) || str_to_u64(e->valuestring, &v) < 0)
			return -1;
		u64set_add(s, v);
	}
	return 0;
}

static const char *
rstatus_code(enum rstatus s)
{
	return s == RS_TERMINATED ? "terminated" : (s == RS_UNREACHABLE ? "unreachable" : "reachable");
}

cJSON *
mstate_to_json(const struct mstate *st)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char k[24];
	int i;

	a = cJSON_AddArrayToObject(o, "members");
	for (i = 0; i < st->n; i++)
		cJSON_AddItemToArray(a, member_to_json(&st->m[i]));
	cJSON_AddItemToObject(o, "version", vclock_to_json(&st->vc));
	cJSON_AddItemToObject(o, "seen", u64set_to_json(&st->seen));
	a = cJSON_AddArrayToObject(o, "reach_versions");
	for (i = 0; i < st->reach.nv; i++) {
		cJSON *r = cJSON_CreateObject();

		json_add_u64(r, "observer", st->reach.v[i].observer);
		json_add_u64(r, "version", st->reach.v[i].version);
		cJSON_AddItemToArray(a, r);
	}
	a = cJSON_AddArrayToObject(o, "reach");
	for (i = 0; i < st->reach.n; i++) {
		cJSON *r = cJSON_CreateObject();

		json_add_u64(r, "observer", st->reach.r[i].observer);
		json_add_u64(r, "subject", st->reach.r[i].subject);
		cJSON_AddStringToObject(r, "status", rstatus_code(st->reach.r[i].status));
		json_add_u64(r, "version", st->reach.r[i].version);
		cJSON_AddItemToArray(a, r);
	}
	a = cJSON_AddArrayToObject(o, "tombstones");
	for (i = 0; i < st->nt; i++) {
		cJSON *r = cJSON_CreateObject();

		u64_to_str(st->t[i].uid, k);
		cJSON_AddStringToObject(r, "uid", k);
		json_add_u64(r, "time", (uint64_t)st->t[i].time);
		if (st->t[i].exited)
			cJSON_AddTrueToObject(r, "exited");
		cJSON_AddItemToArray(a, r);
	}
	return o;
}

#define MAX_MEMBERS	JSON_MAX_MEMBERS

static int u64_cmp(const void *, const void *);

/* -1 if a uid is in st twice (a sort, not n searches: n can be thousands) */
static int
members_unique(const struct mstate *st)
{
	uint64_t *v = xreallocarray(NULL, (size_t)st->n + 1, sizeof(*v));
	int i, r = 0;

	for (i = 0; i < st->n; i++)
		v[i] = st->m[i].uid;
	qsort(v, (size_t)st->n, sizeof(*v), u64_cmp);
	for (i = 1; i < st->n; i++)
		if (v[i] == v[i - 1])
			r = -1;
	free(v);
	return r;
}

int
mstate_from_json(const cJSON *o, struct mstate *st)
{
	const cJSON *a, *e;
	struct member m;
	uint64_t u1, u2, ver;
	const char *s;

	mstate_free(st);
	if (!cJSON_IsObject(o))
		return -1;
	a = cJSON_GetObjectItemCaseSensitive(o, "members");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MAX_MEMBERS)
		goto bad;
	cJSON_ArrayForEach(e, a) {
		if (member_from_json(e, &m) < 0)
			goto bad;
		mstate_add(st, &m);
		member_clear(&m);
	}
	if (members_unique(st) < 0)
		goto bad;
	if (vclock_from_json(cJSON_GetObjectItemCaseSensitive(o, "version"), &st->vc) < 0 ||
	    u64set_from_json(cJSON_GetObjectItemCaseSensitive(o, "seen"), &st->seen,
	    MAX_MEMBERS) < 0)
		goto bad;
	a = cJSON_GetObjectItemCaseSensitive(o, "reach_versions");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MAX_MEMBERS)
		goto bad;
	cJSON_ArrayForEach(e, a) {
		if (json_u64(e, "observer", &u1) < 0 || json_u64(e, "version", &ver) < 0 ||
		    reach_version_of(&st->reach, u1) != 0 || ver == 0)
			goto bad;
		reach_version_set(&st->reach, u1, ver);
	}
	a = cJSON_GetObjectItemCaseSensitive(o, "reach");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MAX_MEMBERS * 16)
		goto bad;
	cJSON_ArrayForEach(e, a) {
		enum rstatus rs;

		if (json_u64(e, "observer", &u1) < 0 || json_u64(e, "subject", &u2) < 0 ||
		    json_u64(e, "version", &ver) < 0 || (s = json_str(e, "status")) == NULL)
			goto bad;
		if (strcmp(s, "unreachable") == 0)
			rs = RS_UNREACHABLE;
		else if (strcmp(s, "terminated") == 0)
			rs = RS_TERMINATED;
		else if (strcmp(s, "reachable") == 0)
			rs = RS_REACHABLE;
		else
			goto bad;
		GROW(st->reach.r, st->reach.n, st->reach.cap);
		st->reach.r[st->reach.n++] = (struct reach_record){ u1, u2, rs, ver };
	}
	a = cJSON_GetObjectItemCaseSensitive(o, "tombstones");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MAX_MEMBERS * 4)
		goto bad;
	cJSON_ArrayForEach(e, a) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, "exited");

		if (json_u64(e, "uid", &u1) < 0 || json_u64(e, "time", &ver) < 0 ||
		    (x != NULL && !cJSON_IsBool(x)))
			goto bad;
		add_tomb(st, u1, (int64_t)ver, cJSON_IsTrue(x));
	}
	return 0;
bad:
	mstate_free(st);
	return -1;
}

/*
 * ---- the compact wire form (PROTO_VERSION 2, doc/PROTOCOL.md "State") ----
 *
 * Why: the object form above costs ~138 bytes and ~10 cJSON allocations a
 * member, and its clock and seen set name every member by its 20-digit uid
 * again; akc-sim at 1,000 nodes spent most of its time printing and parsing
 * it, and a state of 7,600 members filled the 1 MiB frame. Here each list
 * is one JSON string of space-separated records (one allocation to parse),
 * the member table comes once, and the clock, the reachability records
 * refer to members by their index in it; the seen set is a bitmap over it.
 * Names, addresses and roles cannot hold blanks (valid_token), so a blank
 * always separates fields.
 */

struct sbuf {
	char *p;
	size_t n, cap;
};

static void
sb_need(struct sbuf *b, size_t more)
{
	if (b->n + more + 1 > b->cap) {
		b->cap = (b->n + more + 1) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
}

static void
sb_mem(struct sbuf *b, const char *s, size_t l)
{
	sb_need(b, l);
	memcpy(b->p + b->n, s, l);
	b->n += l;
	b->p[b->n] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_mem(b, s, strlen(s));
}

static void
sb_chr(struct sbuf *b, char c)
{
	sb_mem(b, &c, 1);
}

static void
sb_u64(struct sbuf *b, uint64_t v)
{
	char k[24], *p = k + sizeof(k);

	/* not snprintf: an encoding prints a few numbers per member */
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	sb_mem(b, p, (size_t)(k + sizeof(k) - p));
}

static const char status_code[MS_NSTATUS] = "JWULEDR";

/* Writes v's digits at p; the end. */
static char *
put_u64(char *p, uint64_t v)
{
	char k[24], *q = k + sizeof(k);
	size_t l;

	do {
		*--q = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	l = (size_t)(k + sizeof(k) - q);
	memcpy(p, q, l);
	return p + l;
}

/*
 * One member record of the wire table, written in one go: room made once,
 * its interned strings' lengths known (a state is printed for every push:
 * a call per field was 6% of akc-sim's CPU at 1,000 nodes).
 */
static void
sb_member(struct sbuf *b, const struct member *m, int blank)
{
	size_t ln = intern_len(m->name), la = intern_len(m->address), lr = intern_len(m->roles);
	char *p;

	sb_need(b, ln + la + lr + 2 * 24 + 8);
	p = b->p + b->n;
	if (blank)
		*p++ = ' ';
	p = put_u64(p, m->uid);
	*p++ = ' ';
	memcpy(p, m->name, ln);
	p += ln;
	*p++ = ' ';
	memcpy(p, m->address, la);
	p += la;
	*p++ = ' ';
	*p++ = status_code[m->status];
	*p++ = ' ';
	memcpy(p, m->roles, lr);
	p += lr;
	*p++ = ' ';
	if (m->up_number == UPNUM_NONE)
		*p++ = '-';
	else
		p = put_u64(p, (uint64_t)m->up_number);
	*p = '\0';
	b->n = (size_t)(p - b->p);
}

/*
 * ---- the printed table (struct mtext, a block's: 2. and 3. above) ----
 *
 * Why: a node sends and reads its own member table over and over. A
 * full state of N members is printed for every push, answer and round,
 * and every gossip a node receives is read, although in a join storm
 * nearly every table received is one the process holds (3. above) and
 * nearly every record of the others is, byte for byte, one of the
 * receiver's own (the versions differ by a join or a move Up). Printed
 * once per table, the records are copied into every state sent, and a
 * record received is first compared with the receiver's own records at
 * its cursor (memcmp): a match is that member, no field split, number
 * read, string compared or looked up (akc-sim at 1,000 nodes spent a
 * third of its CPU reading records).
 *
 * 1. Only a table whose records the field-by-field read would accept
 *    (a status other than Removed, an up-number in range, a tcp://
 *    address), in member order and of distinct uids, is matched against
 *    or found (ok); the strings are the receiver's own, which that read
 *    trusts too.
 * 2. The table is in member order, so records matched at increasing
 *    positions of it are in order and distinct: only the records read
 *    field by field are compared with their neighbours and checked for
 *    a uid seen twice.
 *
 * text: '"', the records (names, addresses and roles need no escape in
 * JSON: valid_token), '"': the table as a JSON string.
 */
#define WT_NOMATCH	0x80000000u	/* in rec[i]: not to be matched (1 above) */
#define WT_OFF		1
#define MT_BUCKETS	65536

struct mtext {
	char *text;
	size_t len;		/* of the records alone, from WT_OFF */
	uint32_t *rec;		/* record i starts at text + (rec[i] & ~WT_NOMATCH); rec[n]: its end + 1 */
	uint64_t *uids;		/* in table order */
	uint64_t h;		/* bytes_hash of the records */
	int ok;			/* 1 above: matched against, and in the map */
};

struct wcache {
	char *rest;		/* ,"version":...} as printed from what hashes to sh */
	size_t restlen;
	uint64_t sh;
	uint64_t tid;		/* over the table of this mstate_table_id (its indexes) */
	struct lead *lead;	/* mstate_leader_for's, or NULL */
};

static struct lead *
st_lead(const struct mstate *st)
{
	return st->wt != NULL ? st->wt->lead : NULL;
}

/* st's kept leader, made if it has none (a cache: a const state keeps one). */
static struct lead *
st_lead_make(const struct mstate *cst)
{
	struct mstate *st = (struct mstate *)cst;

	if (st->wt == NULL)
		st->wt = xcalloc(1, sizeof(*st->wt));
	if (st->wt->lead == NULL)
		st->wt->lead = xcalloc(1, sizeof(*st->wt->lead));
	return st->wt->lead;
}

/*
 * The map's buckets, allocated at the first table: MT_BUCKETS (akc-sim's
 * thousands of nodes in one process), or what mstate_map_buckets asked
 * for before. A daemon holds a few blocks at a time, and 2 x 512 KiB of
 * buckets touched at random cost it a page fault each (a memberd's 100-node
 * join: ~200 of its ~510 faults, ~2% of its CPU).
 */
static size_t mt_nb = MT_BUCKETS;
static struct mtab **mt_map;
/*
 * The same blocks by a hash of their members' words (uid, status,
 * up-number and the interned strings' addresses: what mtab_same
 * compares), for merged_shared: a merge's result found without printing
 * it first.
 */
static struct mtab **mt_words;

size_t
mstate_map_buckets(size_t n)
{
	size_t nb;

	pthread_mutex_lock(&mt_lock);
	if (mt_map == NULL && n > 0)
		mt_nb = n;
	nb = mt_nb;
	pthread_mutex_unlock(&mt_lock);
	return nb;
}

/* Under mt_lock. */
static void
map_alloc(void)
{
	if (mt_map == NULL) {
		mt_map = xcalloc(mt_nb, sizeof(*mt_map));
		mt_words = xcalloc(mt_nb, sizeof(*mt_words));
	}
}

static uint64_t
words_hash(const struct mtab *mt)
{
	uint64_t h = (uint64_t)mt->n;
	int i;

	for (i = 0; i < mt->n; i++) {
		const struct member *m = &mt->m[i];

		h = mix64(h ^ m->uid);
		h += ((uint64_t)m->status << 32 | (uint32_t)m->up_number) ^
		    (uint64_t)(uintptr_t)m->name ^ ((uint64_t)(uintptr_t)m->address << 1) ^
		    ((uint64_t)(uintptr_t)m->roles << 2);
	}
	return mix64(h);
}

static void
mtext_free(struct mtext *x)
{
	if (x == NULL)
		return;
	free(x->text);
	free(x->rec);
	free(x->uids);
	free(x);
}

static void
wcache_free(struct wcache *c)
{
	if (c == NULL)
		return;
	free(c->rest);
	free(c->lead);
	free(c);
}

/* A hash of len bytes (a printed table: four lanes of eight bytes, as a table can be 500 KB). */
uint64_t
bytes_hash(const char *s, size_t len)
{
	uint64_t h[4] = { 0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL,
	    0x6a09e667f3bcc908ULL }, w, r;
	size_t i = 0;
	int k;

	for (; i + 32 <= len; i += 32)
		for (k = 0; k < 4; k++) {
			memcpy(&w, s + i + 8 * k, 8);
			h[k] = (h[k] ^ w) * 0xff51afd7ed558ccdULL;
			h[k] ^= h[k] >> 29;
		}
	r = (uint64_t)len;
	for (; i < len; i += 8) {
		w = 0;
		memcpy(&w, s + i, len - i < 8 ? len - i : 8);
		r = mix64(r ^ w);
	}
	for (k = 0; k < 4; k++)
		r = mix64(r ^ h[k]);
	return r;
}

/* Under mt_lock. */
static void
map_remove(struct mtab *mt)
{
	struct mtext *x = atomic_load_explicit(&mt->tx, memory_order_relaxed);
	struct mtab **pp;

	if (!mt->inmap)
		return;
	for (pp = &mt_map[x->h % mt_nb]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == mt) {
			*pp = mt->next;
			break;
		}
	for (pp = &mt_words[mt->wh % mt_nb]; *pp != NULL; pp = &(*pp)->next2)
		if (*pp == mt) {
			*pp = mt->next2;
			break;
		}
	mt->inmap = 0;
	mt->next = mt->next2 = NULL;
}

/* Puts mt (its text ok) in the map, unless a table of the same hash and length is there. */
static void
map_put(struct mtab *mt)
{
	struct mtext *x = atomic_load_explicit(&mt->tx, memory_order_relaxed), *ox;
	struct mtab *o;
	uint64_t wh = words_hash(mt);

	pthread_mutex_lock(&mt_lock);
	map_alloc();
	for (o = mt_map[x->h % mt_nb]; o != NULL; o = o->next) {
		ox = atomic_load_explicit(&o->tx, memory_order_relaxed);
		if (ox->h == x->h && ox->len == x->len)
			break;
	}
	if (o == NULL && !mt->inmap) {
		mt->next = mt_map[x->h % mt_nb];
		mt_map[x->h % mt_nb] = mt;
		mt->wh = wh;
		mt->next2 = mt_words[wh % mt_nb];
		mt_words[wh % mt_nb] = mt;
		mt->inmap = 1;
	}
	pthread_mutex_unlock(&mt_lock);
}

/*
 * The block whose printed records are the len bytes at s, other than skip
 * (NULL: any), one reference more (the caller's), or NULL. The hash finds
 * it, memcmp decides.
 */
static struct mtab *
map_find(uint64_t h, const char *s, size_t len, const struct mtab *skip)
{
	struct mtab *mt, *got = NULL;
	struct mtext *x;

	pthread_mutex_lock(&mt_lock);
	map_alloc();
	for (mt = mt_map[h % mt_nb]; mt != NULL; mt = mt->next) {
		int r = atomic_load_explicit(&mt->refs, memory_order_relaxed);

		x = atomic_load_explicit(&mt->tx, memory_order_relaxed);
		if (mt == skip || x->h != h || x->len != len)
			continue;
		/* a count at 0 is a block on its way out (3. above) */
		while (r > 0 && !atomic_compare_exchange_weak_explicit(&mt->refs, &r, r + 1,
		    memory_order_acq_rel, memory_order_relaxed))
			;
		if (r > 0)
			got = mt;
		break;
	}
	pthread_mutex_unlock(&mt_lock);
	if (got == NULL)
		return NULL;
	x = atomic_load_explicit(&got->tx, memory_order_acquire);
	if (memcmp(x->text + WT_OFF, s, len) != 0) {
		mtab_unref(got);	/* the same hash, other bytes */
		return NULL;
	}
	return got;
}

/*
 * A block other than mt (printed, ok) whose printed records are mt's,
 * one reference more (the caller's), or NULL.
 */
/*
 * A block of the map with mt's members (words_hash finds, mtab_same
 * decides), one reference the caller's; mt itself passed over. NULL if
 * none.
 */
static struct mtab *
map_find_words(const struct mtab *mt)
{
	uint64_t wh = words_hash(mt);
	struct mtab *o, *got = NULL;

	pthread_mutex_lock(&mt_lock);
	map_alloc();
	for (o = mt_words[wh % mt_nb]; o != NULL; o = o->next2) {
		int r = atomic_load_explicit(&o->refs, memory_order_relaxed);

		if (o == mt || o->wh != wh || o->n != mt->n)
			continue;
		while (r > 0 && !atomic_compare_exchange_weak_explicit(&o->refs, &r, r + 1,
		    memory_order_acq_rel, memory_order_relaxed))
			;
		if (r > 0)
			got = o;
		break;
	}
	pthread_mutex_unlock(&mt_lock);
	if (got != NULL && !mtab_same(mt, got)) {
		mtab_unref(got);
		got = NULL;
	}
	return got;
}

static struct mtab *
map_find_other(const struct mtab *mt)
{
	const struct mtext *x = atomic_load_explicit(&mt->tx, memory_order_acquire);

	return map_find(x->h, x->text + WT_OFF, x->len, mt);
}

/* Whether the field-by-field read (member_from_fields) would give m back from its record. */
static int
wire_valid(const struct member *m)
{
	return m->uid != 0 && m->status < MS_REMOVED &&
	    (m->up_number == UPNUM_NONE || (m->up_number >= 1 && m->up_number < INT_MAX)) &&
	    m->name != NULL && m->address != NULL && m->roles != NULL &&
	    strncmp(m->address, "tcp://", 6) == 0;
}

/* Whether m[0..n) are in member order and of distinct uids, as a wire table must be. */
static int
members_wire_order(const struct member *m, int n)
{
	struct uidx x;
	int i, r = 1;

	for (i = 1; i < n && r; i++)
		if (member_compare(&m[i - 1], &m[i]) >= 0)
			r = 0;
	if (!r || n < 2)
		return r;
	uidx_init(&x, n);
	for (i = 0; i < n && r; i++)
		if (uidx_put(&x, m[i].uid, i) < 0)
			r = 0;
	uidx_free(&x);
	return r;
}

static void sb_member(struct sbuf *, const struct member *, int);

/* mt's printed table, printed on first use (2. above). */
static const struct mtext *
mtab_text(const struct mtab *cmt)
{
	struct mtab *mt = (struct mtab *)cmt;
	struct mtext *x = atomic_load_explicit(&mt->tx, memory_order_acquire), *none = NULL;
	struct sbuf b;
	int i, ok = 1;

	if (x != NULL)
		return x;
	x = xcalloc(1, sizeof(*x));
	b = (struct sbuf){ xmalloc((size_t)mt->n * 64 + 64), WT_OFF, (size_t)mt->n * 64 + 64 };
	b.p[0] = '"';
	b.p[1] = '\0';
	x->rec = xreallocarray(NULL, (size_t)mt->n + 1, sizeof(*x->rec));
	x->uids = xreallocarray(NULL, (size_t)mt->n + 1, sizeof(*x->uids));
	for (i = 0; i < mt->n; i++) {
		x->rec[i] = (uint32_t)(b.n + (i > 0));
		x->uids[i] = mt->m[i].uid;
		sb_member(&b, &mt->m[i], i > 0);
		if (!wire_valid(&mt->m[i])) {
			x->rec[i] |= WT_NOMATCH;
			ok = 0;
		}
	}
	x->rec[mt->n] = (uint32_t)(b.n + 1);
	sb_chr(&b, '"');
	x->text = xreallocarray(b.p, b.n + 1, 1);	/* kept: no slack */
	x->len = b.n - WT_OFF - 1;
	x->h = bytes_hash(x->text + WT_OFF, x->len);
	x->ok = ok && mt->n <= WIRE_MAX_MEMBERS && b.n < WT_NOMATCH / 2 &&
	    (mt->ordered || members_wire_order(mt->m, mt->n));
	if (!atomic_compare_exchange_strong_explicit(&mt->tx, &none, x, memory_order_acq_rel,
	    memory_order_acquire)) {
		mtext_free(x);
		return none;
	}
	if (x->ok)
		map_put(mt);
	return x;
}

/* Whether mt, printed (now, if it was not), is in member order, valid and in the map's reach. */
static int
mtab_wire_ok(const struct mtab *mt)
{
	return mtab_text(mt)->ok;
}

/* The printed table of st (of no members when it holds none). */
static const struct mtext *
st_text(const struct mstate *st)
{
	static char text0[] = "\"\"";
	static uint32_t rec0[1] = { WT_OFF + 1 };
	static struct mtext none = { text0, 0, rec0, NULL, 0, 1 };

	return st->mt != NULL ? mtab_text(st->mt) : &none;
}

/* Adds b as the string key of o, and empties b. */
static void
sb_add(cJSON *o, const char *key, struct sbuf *b)
{
	cJSON *v = cJSON_CreateString("");

	if (v == NULL)
		fatalx("out of memory");
	/*
	 * The buffer becomes the string (cJSON allocates with malloc, no hooks
	 * are set, and frees valuestring with free): a member table is tens of
	 * kilobytes, copied once per state printed before.
	 */
	if (b->p != NULL) {
		/* a state in flight keeps it: no more than it holds (a shrink, in place) */
		if (b->cap > b->n + b->n / 16 + 64)
			b->p = xreallocarray(b->p, b->n + 1, 1);
		cJSON_free(v->valuestring);
		v->valuestring = b->p;
	}
	cJSON_AddItemToObject(o, key, v);
	memset(b, 0, sizeof(*b));
}

/* The index of uid in x's table (the shared index), -1 if none or no x. */
static int
st_lookup(const struct mstate *x, uint64_t uid)
{
	return x == NULL || uid == 0 ? -1 : mstate_find(x, uid);
}

/*
 * Finds ascending uids in a table by one pass over its uid order (mtab_order):
 * a clock and a seen set are sorted, and a hash probe per uid was a cache
 * miss per member of every status and state printed. Gives st_lookup's
 * answers (a uid out of order starts the pass again).
 */
struct walk {
	const struct uidpos *o;
	int n, j;
	uint64_t last;
};

static void
walk_start(struct walk *w, const struct mstate *x)
{
	w->o = x != NULL && x->mt != NULL ? mtab_order(x->mt) : NULL;
	w->n = w->o != NULL ? x->n : 0;
	w->j = 0;
	w->last = 0;
}

static int
walk_find(struct walk *w, uint64_t uid)
{
	if (w->o == NULL || uid == 0)
		return -1;
	if (uid < w->last)
		w->j = 0;
	w->last = uid;
	while (w->j < w->n && w->o[w->j].uid < uid)
		w->j++;
	return w->j < w->n && w->o[w->j].uid == uid ? w->o[w->j].i : -1;
}

/* A member as its index i in the table, or as "u<uid>" when not in it (i < 0). */
static void
sb_ref_at(struct sbuf *b, int i, uint64_t uid)
{
	if (i >= 0)
		sb_u64(b, (uint64_t)i);
	else {
		sb_chr(b, 'u');
		sb_u64(b, uid);
	}
}

/* A member as its index in the table x, or as "u<uid>" when not in it. */
static void
sb_ref(struct sbuf *b, const struct mstate *x, uint64_t uid)
{
	sb_ref_at(b, st_lookup(x, uid), uid);
}

static const char rstatus_letter[] = { 'r', 'u', 't' };	/* by enum rstatus */

/*
 * The vector clock as "version" (its members by index in refs, u<uid>
 * without refs or outside them), the seen set as a bitmap over the table
 * as "seen" (hex digits, each for four members of the table: bit j is
 * member 4k+j), and the seen uids outside the table (x) as "seen_x".
 */
/*
 * st's seen set as a bitmap over x's table: d, (x's n) / 4 + 1 nibbles
 * (bit j of d[k] is member 4k+j); the count of seen uids outside it.
 */
static int
seen_nibbles(const struct mstate *st, const struct mstate *x, unsigned char *d)
{
	struct walk w;
	int i, k, nx = 0;

	memset(d, 0, (size_t)st->n / 4 + 1);
	walk_start(&w, x);
	for (k = 0; k < st->seen.n; k++)
		if ((i = walk_find(&w, st->seen.v[k])) >= 0)
			d[i / 4] |= (unsigned char)(1 << (i % 4));
		else
			nx++;
	return nx;
}

static void
sb_clock_seen_bits(cJSON *o, struct sbuf *b, const struct mstate *st, const struct mstate *refs,
    const struct mstate *x, const struct seen_bits *c)
{
	static const char hex[] = "0123456789abcdef";
	struct walk w;
	const unsigned char *d;
	int i, k, nx;

	walk_start(&w, refs);
	for (i = 0; i < st->vc.n; i++) {
		if (i > 0)
			sb_chr(b, ' ');
		sb_ref_at(b, walk_find(&w, st->vc.e[i].node), st->vc.e[i].node);
		sb_chr(b, ':');
		sb_u64(b, st->vc.e[i].count);
	}
	sb_add(o, "version", b);
	if (c != NULL) {
		d = c->d;
		nx = c->nx;
	} else {
		unsigned char *s = mstate_scratch(SCRATCH_PRINT, (size_t)st->n / 4 + 1);

		nx = seen_nibbles(st, x, s);
		d = s;
	}
	sb_need(b, (size_t)st->n / 4 + 1);
	for (k = 0; k * 4 < st->n; k++)
		b->p[b->n++] = hex[d[k]];
	b->p[b->n] = '\0';
	sb_add(o, "seen", b);
	if (nx == 0)
		return;
	walk_start(&w, x);
	for (i = 0; i < st->seen.n; i++)
		if (walk_find(&w, st->seen.v[i]) < 0) {
			if (b->n > 0)
				sb_chr(b, ' ');
			sb_u64(b, st->seen.v[i]);
		}
	if (b->n > 0)
		sb_add(o, "seen_x", b);
}

static void
sb_clock_seen(cJSON *o, struct sbuf *b, const struct mstate *st, const struct mstate *refs,
    const struct mstate *x)
{
	sb_clock_seen_bits(o, b, st, refs, x, NULL);
}

/* What the wire form holds after its table: "version" to "tombstones". */
static void
wire_rest(cJSON *o, const struct mstate *st)
{
	struct sbuf b = { 0 };
	int i;

	sb_clock_seen(o, &b, st, st, st);
	for (i = 0; i < st->reach.nv; i++) {
		if (i > 0)
			sb_chr(&b, ' ');
		sb_ref(&b, st, st->reach.v[i].observer);
		sb_chr(&b, ':');
		sb_u64(&b, st->reach.v[i].version);
	}
	sb_add(o, "reach_versions", &b);
	for (i = 0; i < st->reach.n; i++) {
		const struct reach_record *r = &st->reach.r[i];

		if (i > 0)
			sb_chr(&b, ' ');
		sb_ref(&b, st, r->observer);
		sb_chr(&b, ':');
		sb_ref(&b, st, r->subject);
		sb_chr(&b, ':');
		sb_chr(&b, rstatus_letter[r->status]);
		sb_chr(&b, ':');
		sb_u64(&b, r->version);
	}
	sb_add(o, "reach", &b);
	for (i = 0; i < st->nt; i++) {
		if (i > 0)
			sb_chr(&b, ' ');
		sb_u64(&b, st->t[i].uid);
		sb_chr(&b, ':');
		sb_u64(&b, (uint64_t)st->t[i].time);
		sb_str(&b, st->t[i].exited ? ":1" : ":0");
	}
	sb_add(o, "tombstones", &b);
}

cJSON *
mstate_to_wire(const struct mstate *st)
{
	cJSON *o = cJSON_CreateObject();
	struct sbuf b = { 0 };

	if (st->n > 0) {
		/* the table as printed once for every state that holds it */
		const struct mtext *t = st_text(st);

		b.cap = t->len + 1;
		b.p = xmalloc(b.cap);
		memcpy(b.p, t->text + WT_OFF, t->len);
		b.p[t->len] = '\0';
		b.n = t->len;
	}
	sb_add(o, "members", &b);
	wire_rest(o, st);
	return o;
}

static uint64_t
hash_word(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* A hash of what wire_rest prints (with the table's, all the wire form is printed from). */
static uint64_t
rest_hash(const struct mstate *st)
{
	uint64_t h = hash_word(0x6a09e667f3bcc908ULL, (uint64_t)st->vc.n);
	int i;

	for (i = 0; i < st->vc.n; i++)
		h = hash_word(hash_word(h, st->vc.e[i].node), st->vc.e[i].count);
	h = hash_word(h, (uint64_t)st->seen.n);
	for (i = 0; i < st->seen.n; i++)
		h = hash_word(h, st->seen.v[i]);
	h = hash_word(h, (uint64_t)st->reach.nv);
	for (i = 0; i < st->reach.nv; i++)
		h = hash_word(hash_word(h, st->reach.v[i].observer), st->reach.v[i].version);
	h = hash_word(h, (uint64_t)st->reach.n);
	for (i = 0; i < st->reach.n; i++) {
		const struct reach_record *r = &st->reach.r[i];

		h = hash_word(hash_word(h, r->observer), r->subject);
		h = hash_word(hash_word(h, (uint64_t)r->status), r->version);
	}
	h = hash_word(h, (uint64_t)st->nt);
	for (i = 0; i < st->nt; i++) {
		h = hash_word(hash_word(h, st->t[i].uid), (uint64_t)st->t[i].time);
		h = hash_word(h, (uint64_t)st->t[i].exited);
	}
	return h;
}

cJSON *
mstate_wire_raw(const struct mstate *cst)
{
	struct mstate *st = (struct mstate *)cst;	/* its wcache is a cache */
	const struct mtext *t = st_text(st);
	struct wcache *c;
	uint64_t sh = rest_hash(st);
	size_t tl = t->len + 2, len;
	cJSON *r;
	char *p;

	if (st->wt == NULL)
		st->wt = xcalloc(1, sizeof(*st->wt));
	c = st->wt;
	if (c->rest == NULL || c->sh != sh || c->tid != mstate_table_id(st)) {
		cJSON *o = cJSON_CreateObject();
		char *rest;

		wire_rest(o, st);
		rest = json_print(o);	/* {"version":...}: short beside the table */
		cJSON_Delete(o);
		free(c->rest);
		c->restlen = strlen(rest);
		c->rest = rest;
		c->rest[0] = ',';	/* what follows the table */
		c->sh = sh;
		c->tid = mstate_table_id(st);
	}
	/* {"members":"<the table>","version":...}, in the message's own buffer */
	len = strlen("{\"members\":") + tl + c->restlen;
	p = xmalloc(len + 1);
	memcpy(p, "{\"members\":", strlen("{\"members\":"));
	memcpy(p + strlen("{\"members\":"), t->text, tl);
	memcpy(p + strlen("{\"members\":") + tl, c->rest, c->restlen + 1);
	if ((r = cJSON_CreateNull()) == NULL)
		fatalx("out of memory");
	r->type = cJSON_Raw;
	r->valuestring = p;
	return r;
}

/* A field of a record: [s, s + l), not NUL-terminated. */
struct tok {
	const char *s;
	size_t l;
};

/*
 * Splits at each sep: the next field of *p, 0 when there is none left.
 * Fields may be empty ("a  b" is a, "", b); an empty string has none.
 */
static int
next_tok(const char **p, char sep, struct tok *t)
{
	const char *e;

	if (*p == NULL)
		return 0;
	t->s = *p;
	if ((e = strchr(*p, sep)) != NULL) {
		t->l = (size_t)(e - *p);
		*p = e + 1;
	} else {
		t->l = strlen(*p);
		*p = NULL;
	}
	return 1;
}

/* Starts splitting s (NULL or "" has no fields). */
static const char *
tok_start(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

static int
tok_u64(const struct tok *t, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (t->l == 0 || t->l > 20)
		return -1;
	if (t->l < 20) {
		/* 19 digits cannot overflow: no division a digit (a uid a member, every parse) */
		unsigned bad = 0;

		for (i = 0; i < t->l; i++) {
			unsigned d = (unsigned char)t->s[i] - '0';

			bad |= d > 9;
			v = v * 10 + d;
		}
		if (bad)
			return -1;
		*out = v;
		return 0;
	}
	for (i = 0; i < t->l; i++) {
		unsigned d = (unsigned char)t->s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Copies a name, address or role field into buf (max bytes), checking it as valid_token does. */
static int
tok_token(const struct tok *t, char *buf, size_t max)
{
	if (t->l == 0 || t->l >= max)
		return -1;
	memcpy(buf, t->s, t->l);
	buf[t->l] = '\0';
	return valid_token(buf, max) ? 0 : -1;
}

/* A member reference: an index into uids (n of them), or "u<uid>". */
static int
tok_ref(const struct tok *t, const uint64_t *uids, int n, uint64_t *out)
{
	uint64_t v;

	if (t->l > 1 && t->s[0] == 'u') {
		struct tok u = { t->s + 1, t->l - 1 };

		if (tok_u64(&u, &v) < 0 || v == 0)
			return -1;
		*out = v;
		return 0;
	}
	if (tok_u64(t, &v) < 0 || v >= (uint64_t)n)
		return -1;
	*out = uids[v];
	return 0;
}

/* Splits a record at ':' into exactly k fields. */
static int
split_rec(const struct tok *rec, struct tok *f, int k)
{
	const char *p = rec->s, *end = rec->s + rec->l;
	int i;

	for (i = 0; i < k; i++) {
		const char *e = memchr(p, ':', (size_t)(end - p));

		if (i == k - 1)
			e = end;
		else if (e == NULL)
			return -1;
		f[i] = (struct tok){ p, (size_t)(e - p) };
		p = e + 1;
	}
	return memchr(f[k - 1].s, ':', f[k - 1].l) == NULL ? 0 : -1;
}

/* Whether field t is the interned (and valid) string s. */
static int
tok_is(const struct tok *t, const char *s)
{
	return s != NULL && intern_len(s) == t->l && memcmp(s, t->s, t->l) == 0;
}

/*
 * A member record; like: a member with the same uid that the receiver
 * holds (or NULL), whose strings are taken when the record's are the same
 * bytes: in a gossip most members are ones the receiver has, and copying,
 * checking and looking up their strings again was most of a parse.
 */
static int
member_from_fields(const struct tok *f, struct member *m, const struct member *like)
{
	const char *c;
	char name[CONF_NAME_MAX], addr[CONF_ADDR_MAX], rs[ROLES_MAX];
	uint64_t up;
	size_t used = 0, i = 0;

	memset(m, 0, sizeof(*m));
	if (tok_u64(&f[0], &m->uid) < 0 || m->uid == 0 || f[3].l != 1 ||
	    (c = memchr(status_code, f[3].s[0], MS_REMOVED)) == NULL)
		return -1;
	m->status = (enum mstatus)(c - status_code);
	if (f[5].l == 1 && f[5].s[0] == '-')
		m->up_number = UPNUM_NONE;
	else if (tok_u64(&f[5], &up) < 0 || up < 1 || up > INT_MAX - 1)
		return -1;
	else
		m->up_number = (int)up;
	if (like != NULL && like->uid == m->uid && tok_is(&f[1], like->name) &&
	    tok_is(&f[2], like->address) && f[2].l >= 6 && memcmp(f[2].s, "tcp://", 6) == 0 &&
	    tok_is(&f[4], like->roles)) {
		m->name = intern_ref(like->name);
		m->address = intern_ref(like->address);
		m->roles = intern_ref(like->roles);
		return 0;
	}
	if (tok_token(&f[1], name, sizeof(name)) < 0 ||
	    tok_token(&f[2], addr, sizeof(addr)) < 0 || strncmp(addr, "tcp://", 6) != 0)
		return -1;
	/* roles: empty, or comma-separated tokens */
	while (i < f[4].l) {
		const char *e = memchr(f[4].s + i, ',', f[4].l - i);
		struct tok r = { f[4].s + i, e ? (size_t)(e - f[4].s) - i : f[4].l - i };
		char role[CONF_ROLE_MAX];

		if (tok_token(&r, role, sizeof(role)) < 0 || used + r.l + 2 > sizeof(rs))
			return -1;
		if (used > 0)
			rs[used++] = ',';
		memcpy(rs + used, role, r.l + 1);
		used += r.l;
		i += r.l + 1;
		if (e != NULL && i == f[4].l)
			return -1;	/* a trailing comma */
	}
	rs[used] = '\0';
	member_set(m, name, addr, rs);
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sets s to the n values of v (sorting v), -1 on a duplicate. */
static int
u64set_from_array(struct u64set *s, uint64_t *v, int n)
{
	int i;

	qsort(v, (size_t)n, sizeof(*v), u64_cmp);
	for (i = 1; i < n; i++)
		if (v[i] == v[i - 1])
			return -1;
	s->n = 0;
	RESERVE(s->v, n, s->cap);
	if (n > 0)
		memcpy(s->v, v, (size_t)n * sizeof(*v));
	s->n = n;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The six fields of the record at *pp (one blank between fields); -1 if it has fewer. */
static int
rec_split(const char **pp, const char *end, struct tok *f, int *more)
{
	const char *p = *pp, *e;
	int k;

	/* a byte loop: fields are a few bytes, and strchr's call a field was 5% of akc-sim */
	for (k = 0; k < 6; k++) {
		for (e = p; e < end && *e != ' '; e++)
			;
		f[k] = (struct tok){ p, (size_t)(e - p) };
		if (e == end) {
			if (k < 5)
				return -1;
			*more = 0;
			*pp = e;
			return 0;
		}
		p = e + 1;
	}
	*more = 1;		/* a blank after a record: another must follow */
	*pp = p;
	return 0;
}

/*
 * The record at p is, byte for byte, record i of the printed table t:
 * its length, else 0.
 */
static size_t
wtab_match(const struct mtext *t, int i, const char *p, const char *end)
{
	uint32_t r = t->rec[i];
	size_t l;

	if (r & WT_NOMATCH)
		return 0;
	l = (t->rec[i + 1] & ~WT_NOMATCH) - 1 - r;
	if ((size_t)(end - p) < l || (p + l != end && p[l] != ' ') || memcmp(p, t->text + r, l) != 0)
		return 0;
	return l;
}

/* Whether a uid comes twice among uids[0..n): fresh[0..nf) those not matched, took known's matched. */
static int
uids_repeat(const uint64_t *uids, int n, const int *fresh, int nf, const struct mstate *known,
    const unsigned char *took)
{
	struct uidx x;
	int i, j, bad = 0;

	if (known != NULL && nf <= 64) {
		/* the matched are distinct members of known: a repeat involves a fresh one */
		for (i = 0; i < nf; i++) {
			j = mstate_find(known, uids[fresh[i]]);
			if (j >= 0 && (took[j / 8] & (1 << (j % 8))))
				return 1;
			for (j = 0; j < i; j++)
				if (uids[fresh[j]] == uids[fresh[i]])
					return 1;
		}
		return 0;
	}
	/* not n searches: n can be thousands */
	uidx_init(&x, n);
	for (i = 0; i < n && !bad; i++)
		if (uidx_put(&x, uids[i], i) < 0)
			bad = 1;
	uidx_free(&x);
	return bad;
}

/*
 * Reads the member table s (len bytes, hash th) into a new block, one
 * reference the caller's. Checks every field it reads, that no uid comes
 * twice, and that the table is in member order. With known, a record
 * that is one of known's printed records (at known's cursor or a few
 * after it) is that member, read no further (the printed table above);
 * the rest are read field by field, lending known's strings when they are
 * the same. A table received as we print it keeps its bytes as its
 * printed form, and goes in the map. NULL if malformed.
 */
static struct mtab *
table_parse(const char *s, size_t len, uint64_t th, const struct mstate *known)
{
	const char *p = s, *end = s + len;
	const struct mtext *kt = NULL;
	unsigned char *took = NULL;
	struct tok f[6];
	struct mtab *mt;
	struct mtext *x;
	uint64_t *uids, uid;
	uint32_t *ro;		/* where each record starts: the block's printed table */
	int *fresh = NULL, nf = 0, fcap = 0;
	int n = 0, cap, i, k, d, bad = 0, kc = 0, prev = -1, more = *s != '\0', canon;
	const struct member *like;

	/* its records matched only when printed already (table_read) */
	if (known != NULL && known->n > 0 &&
	    (kt = atomic_load_explicit(&known->mt->tx, memory_order_acquire)) != NULL && kt->ok) {
		took = xcalloc((size_t)known->n / 8 + 1, 1);
		cap = known->n + 8;
	} else {
		/* six fields a member: room for all at once, not a realloc a doubling */
		const char *q;

		kt = NULL;
		for (q = p, k = 0; q < end; q++)
			k += *q == ' ';
		cap = (k + 1) / 6 <= WIRE_MAX_MEMBERS ? (k + 1) / 6 : 0;
	}
	mt = mtab_new(cap);
	cap = mt->cap;
	uids = xreallocarray(NULL, (size_t)cap + 1, sizeof(*uids));
	ro = xreallocarray(NULL, (size_t)cap + 1, sizeof(*ro));
	/* a table as we would print it (matched records are) keeps its bytes */
	canon = len < WT_NOMATCH / 2;
	while (more && !bad) {
		size_t l = 0;
		int mi = -1;
		const char *rs = p;

		if (n >= WIRE_MAX_MEMBERS) {
			bad = 1;
			break;
		}
		if (n >= cap) {
			cap += cap / 8 + 8;
			uids = xreallocarray(uids, (size_t)cap + 1, sizeof(*uids));
			ro = xreallocarray(ro, (size_t)cap + 1, sizeof(*ro));
			mt->m = xreallocarray(mt->m, (size_t)cap, sizeof(*mt->m));
			mt->cap = cap;
		}
		ro[n] = (uint32_t)(rs - s);
		for (d = 0; kt != NULL && d < 4 && kc + d < known->n; d++)
			if ((l = wtab_match(kt, kc + d, p, end)) > 0) {
				mi = kc + d;
				break;
			}
		if (mi >= 0) {
			struct member *m = &mt->m[mt->n];

			p += l;
			more = p < end;
			p += more;
			kc = mi + 1;
			took[mi / 8] |= (unsigned char)(1 << (mi % 8));
			*m = known->m[mi];
			member_take(m);
			/* after a matched one (2 above) it is in order */
			if (mt->n > 0 && prev < 0 && member_compare(&mt->m[mt->n - 1], m) >= 0)
				bad = 1;
			mt->n++;
			uids[n++] = m->uid;
			prev = mi;
			continue;
		}
		prev = -1;
		if (rec_split(&p, end, f, &more) < 0) {
			bad = 1;
			break;
		}
		if (kt != NULL) {
			if (nf >= fcap) {
				fcap = fcap * 2 + 8;
				fresh = xreallocarray(fresh, (size_t)fcap, sizeof(*fresh));
			}
			fresh[nf++] = n;
		}
		/*
		 * Both tables are in member order and mostly the same members:
		 * the one the receiver has for this uid is at its cursor, or a
		 * few after it (a member it has that the record's table
		 * lacks); else it has none.
		 */
		like = NULL;
		if (known != NULL && tok_u64(&f[0], &uid) == 0)
			for (i = kc; i < known->n && i < kc + 4; i++)
				if (known->m[i].uid == uid) {
					like = &known->m[i];
					kc = i + 1;
					break;
				}
		if (member_from_fields(f, &mt->m[mt->n], like) < 0) {
			bad = 1;
			break;
		}
		mt->n++;
		if (mt->n > 1 && member_compare(&mt->m[mt->n - 2], &mt->m[mt->n - 1]) >= 0)
			bad = 1;
		else if (canon) {
			/*
			 * As we print it? The fields read are copied as they
			 * are, one blank apart, but for the numbers: a uid or
			 * up-number with a leading zero is not.
			 */
			canon = (f[0].l == 1 || f[0].s[0] != '0') &&
			    (f[5].l == 1 || f[5].s[0] != '0');
		}
		uids[n++] = mt->m[mt->n - 1].uid;
	}
	if (!bad && (kt == NULL || nf > 0))
		bad = uids_repeat(uids, n, fresh, nf, kt != NULL ? known : NULL, took);
	free(took);
	free(fresh);
	if (bad) {
		free(uids);
		free(ro);
		mtab_unref(mt);
		return NULL;
	}
	if (!canon) {
		/* printed on first use, as we print it */
		free(uids);
		free(ro);
		return mt;
	}
	x = xcalloc(1, sizeof(*x));
	x->text = xmalloc(len + 3);
	x->text[0] = '"';
	memcpy(x->text + WT_OFF, s, len);
	x->text[WT_OFF + len] = '"';
	x->text[WT_OFF + len + 1] = '\0';
	for (i = 0; i < n; i++)
		ro[i] += WT_OFF;
	ro[n] = (uint32_t)(WT_OFF + len + 1);
	x->rec = ro;
	x->uids = uids;
	x->len = len;
	x->h = th;
	x->ok = 1;		/* read: valid, in order, distinct (1 above) */
	mt->ordered = 1;
	atomic_store_explicit(&mt->tx, x, memory_order_release);
	map_put(mt);
	return mt;
}

/*
 * Scratch arrays for the passes over a table (wire_seen's digits, a
 * printed seen set's, gossip.c's target choice), kept by the thread from
 * one call to the next: each was an allocation of up to N words per
 * message or round, and every allocation of 1 KB or more makes glibc's
 * malloc consolidate its small free chunks first (malloc was 13-17% of
 * akc-sim's time; bench/README.md, "10,000 simulated nodes, part three").
 * Memory only: nothing a call leaves in it is read by the next.
 * mstate_scratch_free gives a thread's back (akc-sim's threads, as they end).
 */
#define SCRATCH_SLOTS	4

static __thread struct {
	void *p;
	size_t cap;
} scratch[SCRATCH_SLOTS];

void *
mstate_scratch(int slot, size_t size)
{
	if (slot < 0 || slot >= SCRATCH_SLOTS)
		fatalx("mstate_scratch: slot %d", slot);
	if (size > scratch[slot].cap) {
		size_t cap = scratch[slot].cap ? scratch[slot].cap : 256;

		while (cap < size)
			cap *= 2;
		free(scratch[slot].p);
		scratch[slot].p = xmalloc(cap);
		scratch[slot].cap = cap;
	}
	return scratch[slot].p;
}

void
mstate_scratch_free(void)
{
	int i;

	for (i = 0; i < SCRATCH_SLOTS; i++) {
		free(scratch[i].p);
		scratch[i].p = NULL;
		scratch[i].cap = 0;
	}
}

/*
 * A wire table's text whose length and bytes_hash a caller knows already
 * (akc-sim: its segment's, struct seg), for this thread's reads of that
 * very address (mstate_wire_text_known): the text is not read for them
 * again, and a known table whose hash differs is not compared byte by byte.
 * A cache of what the bytes give, never a reason to take other bytes: a
 * wrong hash only finds no block (the map compares the bytes), and a
 * length that does not end the text where its NUL is (a hint for other
 * bytes once at that address) is not taken: it would read a table cut
 * short (a valid one of fewer members, when the cut falls between two
 * records). Weak point: a length past the text's end cannot be told
 * without the strlen the hint saves; the caller's contract (akc-sim's
 * segments are the text itself, len bytes and a NUL).
 */
static __thread struct {
	const char *s;
	size_t len;
	uint64_t h;
} wt_known;

void
mstate_wire_text_known(const char *s, size_t len, uint64_t h)
{
	wt_known.s = s;
	wt_known.len = len;
	wt_known.h = h;
}

/*
 * The member table of the wire state o as a block, one reference the
 * caller's: known's own when its bytes are known's printed table, a block
 * of the process when they are one's (3. of the shared tables), else read
 * (table_parse). NULL if malformed.
 */
static struct mtab *
table_read(const cJSON *o, const struct mstate *known)
{
	const struct mtext *kt;
	const char *s = json_str(o, "members");
	struct mtab *mt;
	uint64_t h = 0;
	size_t len;
	int hk = 0;

	if (s == NULL)
		return NULL;
	if (s == wt_known.s && s[wt_known.len] == '\0') {
		len = wt_known.len;
		h = wt_known.h;
		hk = 1;
	} else
		len = strlen(s);
	/*
	 * Not printed just for this: a state merged or changed since it was
	 * sent is often replaced by the one received (a print of N members)
	 */
	if (known != NULL && known->mt != NULL &&
	    (kt = atomic_load_explicit(&known->mt->tx, memory_order_acquire)) != NULL &&
	    kt->ok && kt->len == len && (!hk || kt->h == h) &&
	    memcmp(kt->text + WT_OFF, s, len) == 0)
		return mtab_ref(known->mt);
	if (!hk)
		h = bytes_hash(s, len);
	if ((mt = map_find(h, s, len, NULL)) != NULL)
		return mt;
	return table_parse(s, len, h, known);
}

static int
wire_version(const cJSON *o, const uint64_t *uids, int n, struct vclock *vc)
{
	const char *p = tok_start(json_str(o, "version"));
	struct tok rec, f[2];
	uint64_t node, count, last = 0;

	vc->n = 0;
	if (json_str(o, "version") == NULL)
		return -1;
	/* in ascending uid order, as clocks are kept: appended, never inserted */
	while (next_tok(&p, ' ', &rec)) {
		if (vc->n >= WIRE_MAX_MEMBERS * 2 || split_rec(&rec, f, 2) < 0 ||
		    tok_ref(&f[0], uids, n, &node) < 0 || tok_u64(&f[1], &count) < 0 ||
		    node <= last)
			return -1;
		GROW(vc->e, vc->n, vc->cap);
		vc->e[vc->n++] = (struct vc_entry){ node, count };
		last = node;
	}
	return 0;
}

/*
 * The seen set of a state whose table's uids are uids[0..n): a bitmap over
 * the table, and "seen_x", the uids outside it. order (NULL: none) lists
 * the table's indexes in uid order: the bitmap read in it is sorted
 * already, and only the uids outside the table need a sort.
 */
static int
wire_seen(const cJSON *o, const uint64_t *uids, int n, const struct uidpos *order,
    struct u64set *seen)
{
	const char *bits = json_str(o, "seen"), *p = tok_start(json_str(o, "seen_x"));
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "seen_x");
	uint64_t *v;
	struct tok t;
	int nv = 0, cap, k, j, r;

	unsigned char *dq;

	if (bits == NULL || strlen(bits) != (size_t)(n + 3) / 4 || (x != NULL && !cJSON_IsString(x)))
		return -1;
	/* the digits read once: a flag a member, for the walk in uid order below */
	dq = mstate_scratch(SCRATCH_READ, (size_t)n + 4);
	for (k = 0; k * 4 < n; k++) {
		int dv = hexval(bits[k]);

		if (dv < 0 || (k * 4 + 4 > n && (dv >> (n - k * 4)) != 0))
			return -1;	/* not hex, or a bit past the table */
		for (j = 0; j < 4; j++)
			dq[k * 4 + j] = (unsigned char)((dv >> j) & 1);
	}
	if (order != NULL && p == NULL) {
		/* in uid order, a sorted set, read into the set itself (a uid twice is refused) */
		seen->n = 0;
		RESERVE(seen->v, n, seen->cap);
		for (k = 0; k < n; k++)
			if (dq[order[k].i]) {
				if (seen->n > 0 && seen->v[seen->n - 1] == order[k].uid) {
					seen->n = 0;
					return -1;
				}
				seen->v[seen->n++] = order[k].uid;
			}
		return 0;
	}
	cap = n + 8;
	v = xreallocarray(NULL, (size_t)cap, sizeof(*v));
	for (k = 0; k * 4 < n; k++) {
		int dv = hexval(bits[k]);

		for (j = 0; j < 4; j++)
			if (dv & (1 << j))
				v[nv++] = uids[k * 4 + j];
	}
	while (next_tok(&p, ' ', &t)) {
		if (nv >= WIRE_MAX_MEMBERS * 2) {
			free(v);
			return -1;
		}
		GROW(v, nv, cap);
		if (tok_u64(&t, &v[nv++]) < 0 || v[nv - 1] == 0) {
			free(v);
			return -1;
		}
	}
	r = u64set_from_array(seen, v, nv);
	free(v);
	return r;
}

static int
wire_reach(const cJSON *o, const uint64_t *uids, int n, struct reach *rr)
{
	const char *p = tok_start(json_str(o, "reach_versions"));
	struct tok rec, f[4];
	uint64_t u1, u2, ver;
	const char *c;
	struct uidx seen;	/* observers so far: one row version each */
	int bad = 0, nrec = 1;

	if (json_str(o, "reach_versions") == NULL || json_str(o, "reach") == NULL)
		return -1;
	/*
	 * Room for the records there are (a blank between two), not for
	 * n + 16 of them: a healthy cluster's state has none, and an index
	 * of 2N slots zeroed for each full state read was 256 KB at 10,000
	 * members. The bound below is the same.
	 */
	for (c = json_str(o, "reach_versions"); *c != '\0' && nrec < n + 16; c++)
		nrec += *c == ' ';
	uidx_init(&seen, nrec);
	while (!bad && next_tok(&p, ' ', &rec)) {
		if (rr->nv >= n + 16 || split_rec(&rec, f, 2) < 0 ||
		    tok_ref(&f[0], uids, n, &u1) < 0 || tok_u64(&f[1], &ver) < 0 ||
		    ver == 0 || uidx_put(&seen, u1, 0) < 0)
			bad = 1;
		else {
			GROW(rr->v, rr->nv, rr->vcap);
			rr->v[rr->nv++] = (struct reach_version){ u1, ver };
		}
	}
	uidx_free(&seen);
	if (bad)
		return -1;
	p = tok_start(json_str(o, "reach"));
	while (next_tok(&p, ' ', &rec)) {
		if (rr->n >= WIRE_MAX_MEMBERS * 16 || split_rec(&rec, f, 4) < 0 ||
		    tok_ref(&f[0], uids, n, &u1) < 0 || tok_ref(&f[1], uids, n, &u2) < 0 ||
		    f[2].l != 1 || (c = memchr(rstatus_letter, f[2].s[0], 3)) == NULL ||
		    tok_u64(&f[3], &ver) < 0)
			return -1;
		GROW(rr->r, rr->n, rr->cap);
		rr->r[rr->n++] = (struct reach_record){ u1, u2, (enum rstatus)(c - rstatus_letter), ver };
	}
	return 0;
}

static int
wire_tombs(const cJSON *o, struct mstate *st)
{
	const char *p = tok_start(json_str(o, "tombstones"));
	struct tok rec, f[3];
	uint64_t uid, time;

	if (json_str(o, "tombstones") == NULL)
		return -1;
	while (next_tok(&p, ' ', &rec)) {
		if (st->nt >= WIRE_MAX_TOMBS || split_rec(&rec, f, 3) < 0 ||
		    tok_u64(&f[0], &uid) < 0 || tok_u64(&f[1], &time) < 0 ||
		    f[2].l != 1 || (f[2].s[0] != '0' && f[2].s[0] != '1'))
			return -1;
		add_tomb(st, uid, (int64_t)time, f[2].s[0] == '1');
	}
	return 0;
}

int
mstate_from_wire(const cJSON *o, struct mstate *st)
{
	return mstate_from_wire_known(o, st, NULL);
}

/* The head (table, clock, seen set), then the rest: one reading of a wire state. */
int
mstate_from_wire_known(const cJSON *o, struct mstate *st, const struct mstate *known)
{
	struct wire_head h;
	int r;

	memset(&h, 0, sizeof(h));
	r = wire_head_parse_known(o, &h, known) < 0 ? -1 : mstate_from_wire_head(o, st, &h);
	wire_head_free(&h);
	if (r < 0)
		mstate_free(st);
	return r;
}

int
mstate_from_wire_head(const cJSON *o, struct mstate *st, const struct wire_head *h)
{
	mstate_free(st);
	if (!cJSON_IsObject(o) || h->mt == NULL)
		goto bad;
	/* the table, clock and seen set as the head read them */
	st->mt = mtab_ref(h->mt);
	st_sync(st);
	vclock_copy(&st->vc, &h->vc);
	u64set_copy(&st->seen, &h->seen);
	if (wire_reach(o, h->uid, st->n, &st->reach) < 0 || wire_tombs(o, st) < 0)
		goto bad;
	return 0;
bad:
	mstate_free(st);
	return -1;
}

int
wire_head_parse(const cJSON *o, struct wire_head *h)
{
	return wire_head_parse_known(o, h, NULL);
}

int
wire_head_parse_known(const cJSON *o, struct wire_head *h, const struct mstate *known)
{
	wire_head_free(h);
	if (!cJSON_IsObject(o) || (h->mt = table_read(o, known)) == NULL)
		goto bad;
	h->uid = mtab_text(h->mt)->uids;
	h->n = h->mt->n;
	if (wire_version(o, h->uid, h->n, &h->vc) < 0 ||
	    wire_seen(o, h->uid, h->n, mtab_order(h->mt), &h->seen) < 0)
		goto bad;
	return 0;
bad:
	wire_head_free(h);
	return -1;
}

int
wire_head_is_table(const struct wire_head *h, const struct mstate *st)
{
	return h->mt != NULL && h->mt == st->mt;
}

int
wire_head_has(const struct wire_head *h, uint64_t uid)
{
	struct mstate t = { 0 };

	if (h->mt == NULL)
		return 0;
	/* the table's own index: no scan */
	t.mt = h->mt;
	st_sync(&t);
	return mstate_find(&t, uid) >= 0;
}

void
wire_head_free(struct wire_head *h)
{
	mtab_unref(h->mt);
	vclock_free(&h->vc);
	u64set_free(&h->seen);
	memset(h, 0, sizeof(*h));
}

static uint64_t
table_hash_of(const struct member *m, int n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < 8; k++) {
			h ^= (m[i].uid >> (k * 8)) & 0xff;
			h *= 0x100000001b3ULL;
		}
	return h;
}

uint64_t
mstate_table_hash(const struct mstate *st)
{
	struct mtab *mt = st->mt;
	uint64_t h;

	if (mt == NULL)
		return table_hash_of(NULL, 0);
	/* once a table (2. of the shared tables) */
	if (atomic_load_explicit(&mt->mhok, memory_order_acquire))
		return atomic_load_explicit(&mt->mh, memory_order_relaxed);
	h = table_hash_of(mt->m, mt->n);
	atomic_store_explicit(&mt->mh, h, memory_order_relaxed);
	atomic_store_explicit(&mt->mhok, 1, memory_order_release);
	return h;
}

/*
 * splitmix64's finaliser, a bijection of 64-bit words that spreads
 * neighbours apart: one record's share of an order-free digest here, and
 * the heartbeat ring's order of uids (heartbeat.c).
 */
uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t
mstate_exit_digest(const struct mstate *st)
{
	uint64_t d = 0;
	int i;

	/* a sum of mixed records: the members' and tombstones' order is not part of it */
	for (i = 0; i < st->n; i++)
		if (st->m[i].status == MS_LEAVING || st->m[i].status == MS_EXITING ||
		    st->m[i].status == MS_DOWN)
			d += mix64(st->m[i].uid ^ ((uint64_t)st->m[i].status << 60));
	for (i = 0; i < st->nt; i++)
		d += mix64(~st->t[i].uid);
	return d;
}

uint64_t
mstate_reach_digest(const struct mstate *st)
{
	const struct reach_record *r = st->reach.r;
	uint64_t d = 0;
	int i;

	for (i = 0; i < st->reach.n; i++)
		d += mix64(mix64(r[i].observer) ^ r[i].subject ^ ((uint64_t)r[i].status << 62));
	return d;
}

void
status_to_wire(cJSON *msg, const struct mstate *st)
{
	struct sbuf b = { 0 };

	sb_clock_seen(msg, &b, st, NULL, st);
	json_add_u64(msg, "mh", mstate_table_hash(st));
}

/*
 * Whether c is st's bitmap as the holder tagged it seq: the tag, and what
 * a change of the table or the seen set changes besides (its id, sizes,
 * array and ends), so a tag left unbumped shows in most cases too.
 */
static int
seen_bits_valid(const struct seen_bits *c, const struct mstate *st, uint64_t seq)
{
	return c->d != NULL && seq != 0 && c->seq == seq && c->tid == mstate_table_id(st) &&
	    c->n == st->n && c->seen_n == st->seen.n && c->sv == st->seen.v &&
	    (st->seen.n == 0 || (c->first == st->seen.v[0] && c->last == st->seen.v[st->seen.n - 1]));
}

static void
seen_bits_tag(struct seen_bits *c, const struct mstate *st, uint64_t seq)
{
	c->seq = seq;
	c->tid = mstate_table_id(st);
	c->n = st->n;
	c->seen_n = st->seen.n;
	c->sv = st->seen.v;
	c->first = st->seen.n > 0 ? st->seen.v[0] : 0;
	c->last = st->seen.n > 0 ? st->seen.v[st->seen.n - 1] : 0;
}

const struct seen_bits *
mstate_seen_bits(const struct mstate *st, struct seen_bits *c, uint64_t seq)
{
	const struct uidpos *o;
	int i;

	if (seen_bits_valid(c, st, seq))
		return c;
	RESERVE(c->d, (size_t)st->n / 4 + 1, c->cap);
	c->nx = seen_nibbles(st, st, c->d);
	o = st->mt != NULL ? mtab_order(st->mt) : NULL;
	c->distinct = o != NULL;
	for (i = 1; c->distinct && !st->mt->ordered && i < st->n; i++)
		if (o[i].uid == o[i - 1].uid)
			c->distinct = 0;
	seen_bits_tag(c, st, seq);
	return c;
}

void
mstate_seen_bits_wire(const struct mstate *st, const cJSON *o, int self_i, struct seen_bits *c,
    uint64_t seq)
{
	const char *bits = json_str(o, "seen");
	const struct uidpos *o2;
	int k, n = st->n, count = 0, dv;

	c->seq = 0;	/* not made unless all below holds: mstate_seen_bits makes it */
	if (bits == NULL || st->mt == NULL || tok_start(json_str(o, "seen_x")) != NULL ||
	    strlen(bits) != (size_t)(n + 3) / 4 || self_i < 0 || self_i >= n)
		return;
	if (!st->mt->ordered) {
		o2 = mtab_order(st->mt);
		for (k = 1; k < n; k++)
			if (o2[k].uid == o2[k - 1].uid)
				return;
	}
	RESERVE(c->d, (size_t)n / 4 + 1, c->cap);
	memset(c->d, 0, (size_t)n / 4 + 1);
	for (k = 0; k * 4 < n; k++) {
		if ((dv = hexval(bits[k])) < 0 || (k * 4 + 4 > n && (dv >> (n - k * 4)) != 0))
			return;
		c->d[k] = (unsigned char)dv;
	}
	c->d[self_i / 4] |= (unsigned char)(1 << (self_i % 4));
	for (k = 0; k * 4 < n; k++)
		count += (c->d[k] & 1) + ((c->d[k] >> 1) & 1) + ((c->d[k] >> 2) & 1) + (c->d[k] >> 3);
	/* the seen set is the bitmap's members: as many (a cheap check of the contract) */
	if (count != st->seen.n)
		return;
	c->nx = 0;
	c->distinct = 1;
	seen_bits_tag(c, st, seq);
}

void
seen_bits_free(struct seen_bits *c)
{
	free(c->d);
	memset(c, 0, sizeof(*c));
}

void
status_to_wire_bits(cJSON *msg, const struct mstate *st, const struct seen_bits *c)
{
	struct sbuf b = { 0 };

	sb_clock_seen_bits(msg, &b, st, NULL, st, c);
	json_add_u64(msg, "mh", mstate_table_hash(st));
}

static int
u64_order(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The uids of st's members add[0..nadd) in ascending order: a sort of a
 * few, or a pass over the table in uid order when they are many (a
 * member's status after a while away can add most of the table).
 */
static const uint64_t *
seen_add_sorted(const struct mstate *st, const int *add, int nadd)
{
	uint64_t *u = mstate_scratch(SCRATCH_ADD, ((size_t)nadd + 1) * sizeof(*u));
	unsigned char *f;
	const struct uidpos *o;
	int k, j = 0;

	if (nadd == 0)
		return u;
	if ((size_t)nadd * 16 < (size_t)st->n) {
		for (k = 0; k < nadd; k++)
			u[k] = st->m[add[k]].uid;
		qsort(u, (size_t)nadd, sizeof(*u), u64_order);
		return u;
	}
	f = mstate_scratch(SCRATCH_PRINT, (size_t)st->n + 1);
	memset(f, 0, (size_t)st->n + 1);
	for (k = 0; k < nadd; k++)
		f[add[k]] = 1;
	o = mtab_order(st->mt);
	for (k = 0; k < st->n; k++)
		if (f[o[k].i])
			u[j++] = o[k].uid;
	return u;
}

int
status_seen_compare(const cJSON *msg, const struct mstate *st, const struct seen_bits *c,
    int self_i, struct seen_cmp *r)
{
	const char *bits = json_str(msg, "seen");
	uint64_t mh;
	int *add, k, n = st->n;

	memset(r, 0, sizeof(*r));
	/* the checks of status_seen_from_wire and wire_seen, in their order */
	if (json_u64(msg, "mh", &mh) < 0)
		return -1;
	if (mh != mstate_table_hash(st))
		return 1;
	if (c->nx != 0 || !c->distinct || cJSON_GetObjectItemCaseSensitive(msg, "seen_x") != NULL)
		return 2;
	if (bits == NULL || strlen(bits) != (size_t)(n + 3) / 4)
		return -1;
	add = mstate_scratch(SCRATCH_READ, ((size_t)n + 1) * sizeof(*add));
	for (k = 0; k * 4 < n; k++) {
		int dv = hexval(bits[k]), j, more;

		if (dv < 0 || (k * 4 + 4 > n && (dv >> (n - k * 4)) != 0))
			return -1;	/* not hex, or a bit past the table */
		if ((c->d[k] & ~dv) != 0)
			r->lacks = 1;
		if ((more = dv & ~c->d[k]) != 0)
			for (j = 0; j < 4; j++)
				if (more & (1 << j))
					add[r->nadd++] = k * 4 + j;
		if (self_i >= 0 && self_i / 4 == k && (dv & (1 << (self_i % 4))))
			r->has_self = 1;
	}
	r->add = add;
	r->uids = seen_add_sorted(st, add, r->nadd);
	return 0;
}

void
seen_bits_took(struct seen_bits *c, const struct mstate *st, const struct seen_cmp *r, uint64_t seq)
{
	int k;

	for (k = 0; k < r->nadd; k++)
		c->d[r->add[k] / 4] |= (unsigned char)(1 << (r->add[k] % 4));
	seen_bits_tag(c, st, seq);
}

int
status_version_from_wire(const cJSON *msg, struct vclock *vc)
{
	return wire_version(msg, NULL, 0, vc);
}

int
status_seen_from_wire(const cJSON *msg, const struct mstate *st, struct u64set *seen)
{
	uint64_t mh;

	if (json_u64(msg, "mh", &mh) < 0)
		return -1;
	if (mh != mstate_table_hash(st))
		return 1;
	/* the table's uids in order: its printed form has them */
	return wire_seen(msg, st_text(st)->uids, st->n, st->mt != NULL ? mtab_order(st->mt) : NULL,
	    seen);
}
