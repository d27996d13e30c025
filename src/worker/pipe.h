/* pipe.h: the framing of worker --pipe (doc/PROTOCOL.md, "Pipe workers"): job lines out, answer lines in. No I/O. */
#ifndef WORKER_PIPE_H
#define WORKER_PIPE_H

#include <stddef.h>

#include "proto.h"

#define PIPE_RESULT_MAX	(1024 * 1024)	/* as a job's stdout in the shell mode */
/* the longest answer line: a result of PIPE_RESULT_MAX in base64, and room for the rest */
#define PIPE_LINE_MAX	((PIPE_RESULT_MAX + 2) / 3 * 4 + 4096)

/*
 * The line that gives job id (attempt n) to the command, newline included:
 * {"id":ID,"payload":BASE64,"attempt":N}. b64 is the payload as the master
 * sent it, already checked. Returns a malloc'd string and its length.
 */
char *pipe_job_line(const char *id, const char *b64, long attempt, size_t *len);

enum pipe_answer {
	PIPE_RESULT,		/* {"id","result"}: res/rlen hold the result */
	PIPE_ERROR,		/* {"id","error"}: the attempt failed, why says why */
	PIPE_BAD		/* a protocol error: why says what was wrong */
};

/*
 * One answer line (without its newline) of the command running job id.
 * PIPE_RESULT sets *res (malloc'd, free it) and *rlen; a result over
 * PIPE_RESULT_MAX is a PIPE_ERROR ("result over 1 MiB"). The command's own
 * error text is kept to 512 bytes, made valid UTF-8.
 */
enum pipe_answer pipe_answer(const char *line, size_t len, const char *id,
    unsigned char **res, size_t *rlen, char *why, size_t whylen);

/* Bytes read from a command's stdout, cut into lines of at most max bytes. */
struct linebuf {
	char *buf;
	size_t len;		/* bytes held */
	size_t start;		/* the first not yet taken */
	size_t scan;		/* no newline before this */
	size_t cap, max;
};

void linebuf_init(struct linebuf *, size_t max);
void linebuf_free(struct linebuf *);
/* Drops what it holds (a new process). */
void linebuf_clear(struct linebuf *);
/* Room for reading at least 1 byte: *p and *room. */
void linebuf_room(struct linebuf *, char **p, size_t *room);
/* n bytes were read into the room. */
void linebuf_added(struct linebuf *, size_t n);
/*
 * The next whole line, NUL-terminated in place of its newline (valid until
 * the next call): 1. 0: none yet. -1: the line being read is already
 * longer than max.
 */
int linebuf_take(struct linebuf *, char **line, size_t *len);

#endif
