/*
 * intern.c: the string table of intern.h, a chained hash over a power of
 * two of buckets that doubles with the strings it holds (never more than
 * one string a bucket on average). Each string carries its header just
 * before its bytes, so a reference is a plain const char * that reads as
 * any string, and intern_ref/intern_unref find the header from it.
 */
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
	if (nbucket > 0)
		for (e = tab[h & (nbucket - 1)]; e != NULL; e = e->next)
			if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) {
				e->refs++;
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
	if (p != NULL)
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

	if (p == NULL)
		return;
	e = head(p);
	if (e->refs == 0)
		fatalx("intern: \"%s\" released more often than taken", p);
	if (--e->refs > 0)
		return;
	for (pp = &tab[e->hash & (nbucket - 1)]; *pp != e; pp = &(*pp)->next)
		if (*pp == NULL)
			fatalx("intern: \"%s\" is not in the table", p);
	*pp = e->next;
	nstr--;
	nbytes -= sizeof(*e) + e->len + 1;
	free(e);
}

size_t
intern_count(void)
{
	return nstr;
}

size_t
intern_bytes(void)
{
	return nbytes + nbucket * sizeof(*tab);
}
