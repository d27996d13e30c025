/*
 * intern.h: shared, immutable, reference-counted strings. A member's name,
 * address and roles are the same few strings in every state a process
 * holds (akc-sim holds N states of N members; a daemon a handful of copies
 * of one), so each is kept once and members point at it. One table per
 * process. A string is freed with its last reference, so what
 * a message interns lives exactly as long as the members that keep it.
 * A process that shares it between threads says so first (intern_threads).
 */
#ifndef AKC_INTERN_H
#define AKC_INTERN_H

#include <stddef.h>
#include <stdint.h>

/* The shared copy of s (len bytes, no NUL among them), one reference more. */
const char *intern_mem(const char *s, size_t len);
const char *intern(const char *s);
/* One reference more to an interned string (NULL: NULL). */
const char *intern_ref(const char *);
/* The length of an interned string (without looking for its NUL). */
size_t intern_len(const char *);
/* One reference less; the last frees it. NULL is a no-op. */
void intern_unref(const char *);
/*
 * on = 1: threads share the table from now on (locked lookups, atomic
 * counts); call it before a second thread starts. 0 (the default): one thread.
 */
void intern_threads(int on);
/* Strings held, and the bytes they take with their headers. */
size_t intern_count(void);
size_t intern_bytes(void);

#endif
