/*
 * errtail.c: what a command writes on its standard error is the job's
 * business, so it is logged at info with the job's name, a line at a time
 * (at most ERRTAIL_LOG_LINES an attempt: a job that floods its stderr must
 * not flood the journal), and its last lines go with the report of a
 * failed attempt.
 */
#include <string.h>

#include "errtail.h"
#include "log.h"
#include "utf8.h"

void
errtail_reset(struct errtail *t)
{
	t->tail[0] = '\0';
	t->tlen = 0;
	t->tlines = 0;
	t->logged = 0;
}

/* One line (without the newline): logged, and kept as the tail's last line. */
static void
one_line(struct errtail *t, const char *who, const char *line, size_t len)
{
	char *nl;

	if (t->logged < ERRTAIL_LOG_LINES)
		log_info("%s: stderr: %.*s", who, (int)len, line);
	else if (t->logged == ERRTAIL_LOG_LINES)
		log_info("%s: stderr: more than %d lines: the rest is not logged",
		    who, ERRTAIL_LOG_LINES);
	t->logged++;
	if (len > ERRTAIL_MAX - 1) {
		line += len - (ERRTAIL_MAX - 1);
		len = ERRTAIL_MAX - 1;
	}
	/* the first lines go to make room */
	while (t->tlen > 0 && (t->tlen + len + 1 > ERRTAIL_MAX || t->tlines >= ERRTAIL_LINES)) {
		nl = memchr(t->tail, '\n', t->tlen);
		memmove(t->tail, nl + 1, t->tlen - (size_t)(nl + 1 - t->tail));
		t->tlen -= (size_t)(nl + 1 - t->tail);
		t->tlines--;
	}
	memcpy(t->tail + t->tlen, line, len);
	t->tlen += len;
	t->tail[t->tlen++] = '\n';
	t->tail[t->tlen] = '\0';
	t->tlines++;
}

void
errtail_feed(struct errtail *t, const char *who, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			one_line(t, who, t->line, t->llen);
			t->llen = 0;
			continue;
		}
		t->line[t->llen++] = buf[i] == '\0' ? '?' : buf[i];
		if (t->llen == ERRTAIL_LINE_MAX) {
			one_line(t, who, t->line, t->llen);
			t->llen = 0;
		}
	}
}

void
errtail_flush(struct errtail *t, const char *who)
{
	if (t->llen > 0)
		one_line(t, who, t->line, t->llen);
	t->llen = 0;
}

const char *
errtail_text(struct errtail *t)
{
	t->tail[t->tlen] = '\0';
	utf8_scrub(t->tail);
	t->tlen = strlen(t->tail);
	return t->tail;
}
