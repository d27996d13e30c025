/*
 * intern.c: the string table of intern.h, a chained hash over a power of
 * two of buckets that doubles with the strings it holds (never more than
 * one string a bucket on average). Each string carries its header just
 * before its bytes, so a reference is a plain const char * that reads as
 * any string, and intern_ref/intern_unref find the header from it.
 *
 * Shared by threads (akc-sim's, between intern_threads(1) and (0)):
 *
 * 1. No string is freed, and no count kept: intern_ref and intern_unref
 *    do nothing. Counting would write, at every copy of a state, to the
 *    line that holds the string's bytes, which every thread reads: the
 *    threads would pass each line back and forth (measured: akc-sim at
 *    300 nodes spent more than its second thread gained). What is kept
 *    is the strings ever interned, bounded by the distinct names,
 *    addresses and roles met (akc-sim: about two a node).
 * 2. A lookup reads the table without the lock: strings are not freed,
 *    a bucket's head and a string's next are published with release
 *    stores after the string is whole, and a table outgrown is kept (a
 *    reader may still walk it) until the threads stop. Growing relinks
 *    the strings into the new table, so a reader on the old one may miss
 *    a string that is there: a miss takes the lock and looks again before
 *    it inserts.
 * 3. Inserts and growth are under one mutex.
 * 4. intern_threads(0) pins every string (its count can no longer be
 *    known): they stay until the process ends.
 *
 * One thread (the daemons; akc-sim outside its threads): plain counts, a
 * string freed with its last reference, no lock, no atomics.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "log.h"
#include "xmalloc.h"

struct istr {
	struct istr *next;	/* bucket chain */
	size_t refs;
	uint32_t hash;
	uint32_t len;
	char s[];
};

struct table {
	size_t nbucket;
	struct table *retired;	/* tables outgrown while threads share them (2.) */
	struct istr *b[];
};

#define PINNED	((size_t)1 << (sizeof(size_t) * 8 - 2))	/* a count no unref reaches 0 from */

static struct table *tab;
static size_t nstr, nbytes;
static int shared;		/* intern_threads(1) */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static uint32_t
hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static struct istr *
head(const char *p)
{
	return (struct istr *)(void *)(p - offsetof(struct istr, s));
}

static struct istr *
load(struct istr **p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void
store(struct istr **p, struct istr *e)
{
	__atomic_store_n(p, e, __ATOMIC_RELEASE);
}

static void
grow(void)
{
	size_t n = tab != NULL ? 2 * tab->nbucket : 256, i;
	struct table *t = xcalloc(1, sizeof(*t) + n * sizeof(t->b[0]));
	struct istr *e, *next;

	t->nbucket = n;
	for (i = 0; tab != NULL && i < tab->nbucket; i++)
		for (e = load(&tab->b[i]); e != NULL; e = next) {
			next = load(&e->next);
			store(&e->next, t->b[e->hash & (n - 1)]);
			store(&t->b[e->hash & (n - 1)], e);
		}
	if (tab != NULL && shared) {
		t->retired = tab;	/* a reader may be on it (2.) */
	} else if (tab != NULL) {
		t->retired = tab->retired;
		free(tab);
	}
	__atomic_store_n(&tab, t, __ATOMIC_RELEASE);
}

/* The string's entry, or NULL. */
static struct istr *
find(const struct table *t, uint32_t h, const char *s, size_t len)
{
	struct istr *e;

	if (t == NULL)
		return NULL;
	for (e = load((struct istr **)&t->b[h & (t->nbucket - 1)]); e != NULL; e = load(&e->next))
		if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0)
			return e;
	return NULL;
}

const char *
intern_mem(const char *s, size_t len)
{
	uint32_t h = hash(s, len);
	struct istr *e;

	if (len > UINT32_MAX)
		fatalx("intern: a string of %zu bytes", len);
	if (shared) {
		if ((e = find(__atomic_load_n(&tab, __ATOMIC_ACQUIRE), h, s, len)) != NULL)
			return e->s;
		pthread_mutex_lock(&mu);
		if ((e = find(tab, h, s, len)) != NULL) {
			pthread_mutex_unlock(&mu);
			return e->s;
		}
	} else if ((e = find(tab, h, s, len)) != NULL) {
		e->refs++;
		return e->s;
	}
	if (tab == NULL || nstr >= tab->nbucket)
		grow();
	e = xmalloc(sizeof(*e) + len + 1);
	e->refs = 1;
	e->hash = h;
	e->len = (uint32_t)len;
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	e->next = tab->b[h & (tab->nbucket - 1)];
	store(&tab->b[h & (tab->nbucket - 1)], e);	/* whole before it is seen (2.) */
	nstr++;
	nbytes += sizeof(*e) + len + 1;
	if (shared)
		pthread_mutex_unlock(&mu);
	return e->s;
}

const char *
intern(const char *s)
{
	return intern_mem(s, strlen(s));
}

const char *
intern_ref(const char *p)
{
	if (p != NULL && !shared)
		head(p)->refs++;
	return p;
}

size_t
intern_len(const char *p)
{
	return head(p)->len;
}

void
intern_unref(const char *p)
{
	struct istr *e, **pp;

	if (p == NULL || shared)
		return;
	e = head(p);
	if (e->refs == 0)
		fatalx("intern: \"%s\" released more often than taken", p);
	if (--e->refs > 0)
		return;
	for (pp = &tab->b[e->hash & (tab->nbucket - 1)]; *pp != e; pp = &(*pp)->next)
		if (*pp == NULL)
			fatalx("intern: \"%s\" is not in the table", p);
	*pp = e->next;
	nstr--;
	nbytes -= sizeof(*e) + e->len + 1;
	free(e);
}

void
intern_threads(int on)
{
	struct table *r, *next;
	struct istr *e;
	size_t i;

	if (on) {
		shared = 1;
		return;
	}
	if (!shared)
		return;
	shared = 0;
	if (tab == NULL)
		return;
	for (r = tab->retired; r != NULL; r = next) {
		next = r->retired;
		free(r);
	}
	tab->retired = NULL;
	for (i = 0; i < tab->nbucket; i++)
		for (e = tab->b[i]; e != NULL; e = e->next)
			e->refs = PINNED;	/* 4. */
}

size_t
intern_count(void)
{
	size_t n;

	if (shared)
		pthread_mutex_lock(&mu);
	n = nstr;
	if (shared)
		pthread_mutex_unlock(&mu);
	return n;
}

size_t
intern_bytes(void)
{
	size_t n;

	if (shared)
		pthread_mutex_lock(&mu);
	n = nbytes + (tab != NULL ? sizeof(*tab) + tab->nbucket * sizeof(tab->b[0]) : 0);
	if (shared)
		pthread_mutex_unlock(&mu);
	return n;
}
