/* errtail.h: a command's standard error: logged line by line, its last lines kept for a failed attempt's report. */
#ifndef WORKER_ERRTAIL_H
#define WORKER_ERRTAIL_H

#include <stddef.h>

#define ERRTAIL_LINE_MAX	1024	/* a longer stderr line is logged in pieces */
#define ERRTAIL_MAX		4096	/* the tail a failed attempt reports: */
#define ERRTAIL_LINES		20	/* at most this many bytes and lines */
#define ERRTAIL_LOG_LINES	1000	/* lines logged per attempt; the rest are not */

struct errtail {
	char line[ERRTAIL_LINE_MAX + 1];	/* the line being read */
	size_t llen;
	char tail[ERRTAIL_MAX + 1];	/* the last lines, each ending in '\n' */
	size_t tlen;
	int tlines;
	long logged;		/* lines logged since the last reset */
};

/* A new attempt: no tail, nothing logged yet (a line half read stays). */
void errtail_reset(struct errtail *);
/* n bytes read from its stderr; each line is logged as "WHO: stderr: LINE". */
void errtail_feed(struct errtail *, const char *who, const char *buf, size_t n);
/* End of file: a last line without a newline is logged and kept too. */
void errtail_flush(struct errtail *, const char *who);
/* The tail as UTF-8 text (NUL and bad bytes become '?'); "" if none. */
const char *errtail_text(struct errtail *);

#endif
