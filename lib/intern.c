/*
 * intern.c: the string table of intern.h, a chained hash over a power of
 * two of buckets that doubles with the strings it holds (never more than
 * one string a bucket on average). Each string carries its header just
 * before its bytes, so a reference is a plain const char * that reads as
 * any string, and intern_ref/intern_unref find the header from it.
 *
 * Shared by threads (akc-sim's, after intern_threads(1)):
 *
 * 1. The table (lookups, inserts, removals, the counts) is under one mutex.
 * 2. A count is atomic. A reference taken from one already held
 *    (intern_ref) never meets a free, so it is a plain atomic add.
 * 3. The last reference is dropped under the mutex, and intern_mem adds
 *    one under it too: a string found in the table is never one being
 *    freed. intern_unref drops a count above one with a compare-and-swap,
 *    without the lock; at one it takes the lock, then drops it, and frees
 *    the string only if that made it 0.
 *
 * Weak points: every lookup takes the one lock (a message's members are
 * interned one by one), and the counts of strings every state holds are
 * one cache line the threads pass back and forth. Without intern_threads
 * (the daemons, one thread) none of this runs: plain counts, no lock.
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

static struct istr **tab;
static size_t nbucket, nstr, nbytes;
static int shared;		/* intern_threads(1): locks and atomic counts */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

void
intern_threads(int on)
{
	shared = on != 0;
}

static void
lock(void)
{
	if (shared && pthread_mutex_lock(&mu) != 0)
		fatalx("intern: cannot lock the table");
}

static void
unlock(void)
{
	if (shared)
		pthread_mutex_unlock(&mu);
}

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

static void
grow(void)
{
	size_t n = nbucket ? 2 * nbucket : 256, i;
	struct istr **t = xcalloc(n, sizeof(*t)), *e, *next;

	for (i = 0; i < nbucket; i++)
		for (e = tab[i]; e != NULL; e = next) {
			next = e->next;
			e->next = t[e->hash & (n - 1)];
			t[e->hash & (n - 1)] = e;
		}
	free(tab);
	tab = t;
	nbucket = n;
}

const char *
intern_mem(const char *s, size_t len)
{
	uint32_t h = hash(s, len);
	struct istr *e;

	if (len > UINT32_MAX)
		fatalx("intern: a string of %zu bytes", len);
	lock();
	if (nbucket > 0)
		for (e = tab[h & (nbucket - 1)]; e != NULL; e = e->next)
			if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) {
				if (shared)
					__atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
				else
					e->refs++;
				unlock();
				return e->s;
			}
	if (nstr >= nbucket)
		grow();
	e = xmalloc(sizeof(*e) + len + 1);
	e->refs = 1;
	e->hash = h;
	e->len = (uint32_t)len;
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	e->next = tab[h & (nbucket - 1)];
	tab[h & (nbucket - 1)] = e;
	nstr++;
	nbytes += sizeof(*e) + len + 1;
	unlock();
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
	if (p == NULL)
		return p;
	if (shared)
		__atomic_add_fetch(&head(p)->refs, 1, __ATOMIC_RELAXED);
	else
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

	size_t r;

	if (p == NULL)
		return;
	e = head(p);
	if (shared) {
		/* above one: drop it without the lock (3.) */
		r = __atomic_load_n(&e->refs, __ATOMIC_RELAXED);
		while (r > 1)
			if (__atomic_compare_exchange_n(&e->refs, &r, r - 1, 0, __ATOMIC_RELEASE,
			    __ATOMIC_RELAXED))
				return;
	}
	lock();
	r = shared ? __atomic_load_n(&e->refs, __ATOMIC_ACQUIRE) : e->refs;
	if (r == 0)
		fatalx("intern: \"%s\" released more often than taken", p);
	if (shared)
		r = __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL);
	else
		r = --e->refs;
	if (r > 0) {
		unlock();
		return;
	}
	for (pp = &tab[e->hash & (nbucket - 1)]; *pp != e; pp = &(*pp)->next)
		if (*pp == NULL)
			fatalx("intern: \"%s\" is not in the table", p);
	*pp = e->next;
	nstr--;
	nbytes -= sizeof(*e) + e->len + 1;
	unlock();
	free(e);
}

size_t
intern_count(void)
{
	size_t n;

	lock();
	n = nstr;
	unlock();
	return n;
}

size_t
intern_bytes(void)
{
	size_t n;

	lock();
	n = nbytes + nbucket * sizeof(*tab);
	unlock();
	return n;
}
