/* buf.h: a growable byte buffer (akc-httpd's responses and event frames, json_print's text). */
#ifndef AKC_BUF_H
#define AKC_BUF_H

#include <stddef.h>

#include "log.h"

struct buf {
	char *p;
	size_t len, cap;
	size_t off;		/* bytes already taken from the front (buf_take) */
};

void buf_add(struct buf *, const void *data, size_t len);
void buf_puts(struct buf *, const char *s);
void buf_printf(struct buf *, const char *fmt, ...) AKC_PRINTF(2, 3);
/* Bytes not taken yet. */
size_t buf_left(const struct buf *);
/* Copies up to max bytes from the front into dst; returns how many. */
size_t buf_take(struct buf *, char *dst, size_t max);
void buf_reset(struct buf *);
void buf_free(struct buf *);

#endif
