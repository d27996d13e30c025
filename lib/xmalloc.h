/*
 * xmalloc.h: allocation that cannot fail, as tmux's xmalloc.c. A daemon out
 * of memory has nothing better to do than stop with a message (its
 * supervisor restarts it); every caller checking and calling fatal() itself
 * was the same five lines fifty times over.
 */
#ifndef AKC_XMALLOC_H
#define AKC_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
/* realloc(p, n * size), checking the multiplication too. */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);

/* Room for one more element at p[n] of an array that doubles (8 at first). */
#define GROW(p, n, cap) do {						\
	if ((size_t)(n) >= (size_t)(cap)) {				\
		(cap) = (cap) ? (cap) * 2 : 8;				\
		(p) = xreallocarray((p), (size_t)(cap), sizeof(*(p)));	\
	}								\
} while (0)

/* Room for at least need elements (exactly need when it grows). */
#define RESERVE(p, need, cap) do {					\
	if ((size_t)(cap) < (size_t)(need)) {				\
		(cap) = (need);						\
		(p) = xreallocarray((p), (size_t)(cap), sizeof(*(p)));	\
	}								\
} while (0)

#endif
