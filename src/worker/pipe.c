/*
 * pipe.c: the framing between worker --pipe and its command, with no I/O
 * so that a unit test drives it (t/unit/test-worker.c). One JSON object a
 * line each way; the command answers the job it was given, in order, one
 * at a time. Anything else (not JSON, another id, both or neither of
 * result and error, a result that is not base64, a line over
 * PIPE_LINE_MAX) is a protocol error: the caller fails the attempt with the
 * reason and starts the command again, since what it will write next
 * cannot be trusted to be in step.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "b64.h"
#include "json.h"
#include "log.h"
#include "pipe.h"
#include "utf8.h"
#include "xmalloc.h"

char *
pipe_job_line(const char *id, const char *b64, long attempt, size_t *len)
{
	size_t n = strlen(id) + strlen(b64) + 64;
	char *s = xmalloc(n);
	int k;

	/* ids are A-Za-z0-9._:- and base64 has nothing to escape either */
	k = snprintf(s, n, "{\"id\":\"%s\",\"payload\":\"%s\",\"attempt\":%ld}\n", id, b64, attempt);
	*len = (size_t)k;
	return s;
}

static enum pipe_answer bad(char *, size_t, const char *, ...) AKC_PRINTF(3, 4);

static enum pipe_answer
bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return PIPE_BAD;
}

/* The first bytes of a line, for a message: printable ASCII, others as '?'. */
static void
excerpt(const char *line, size_t len, char *out, size_t outlen)
{
	size_t i, n = len < outlen - 4 ? len : outlen - 4;

	for (i = 0; i < n; i++)
		out[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	strcpy(out + n, len > n ? "..." : "");
}

enum pipe_answer
pipe_answer(const char *line, size_t len, const char *id,
    unsigned char **res, size_t *rlen, char *why, size_t whylen)
{
	const cJSON *rv, *ev;
	const char *got, *b64;
	char ex[48], err[160];
	cJSON *a;

	*res = NULL;
	*rlen = 0;
	excerpt(line, len, ex, sizeof(ex));
	if ((a = json_parse_why(line, len, err, sizeof(err))) == NULL)
		return bad(why, whylen, "answer is not JSON: '%s'", ex);
	if (!cJSON_IsObject(a)) {
		cJSON_Delete(a);
		return bad(why, whylen, "answer is not a JSON object: '%s'", ex);
	}
	if ((got = json_str(a, "id")) == NULL) {
		cJSON_Delete(a);
		return bad(why, whylen, "answer without an \"id\": '%s'", ex);
	}
	if (strcmp(got, id) != 0) {
		snprintf(err, sizeof(err), "%.40s", got);
		utf8_scrub(err);	/* %.40s may cut a character in two */
		cJSON_Delete(a);
		snprintf(why, whylen, "answer for id '%s' while job '%s' runs", err, id);
		return PIPE_BAD;
	}
	rv = cJSON_GetObjectItemCaseSensitive(a, "result");
	ev = cJSON_GetObjectItemCaseSensitive(a, "error");
	if ((rv != NULL) == (ev != NULL)) {
		cJSON_Delete(a);
		return bad(why, whylen, "answer needs one of \"result\" and \"error\": '%s'", ex);
	}
	if (ev != NULL) {
		if (!cJSON_IsString(ev)) {
			cJSON_Delete(a);
			return bad(why, whylen, "\"error\" is not a string: '%s'", ex);
		}
		snprintf(why, whylen < 513 ? whylen : 513, "%s",
		    *ev->valuestring ? ev->valuestring : "the command gave no reason");
		utf8_scrub(why);
		cJSON_Delete(a);
		return PIPE_ERROR;
	}
	if ((b64 = cJSON_IsString(rv) ? rv->valuestring : NULL) == NULL) {
		cJSON_Delete(a);
		return bad(why, whylen, "\"result\" is not a string: '%s'", ex);
	}
	if ((*res = b64_decode_alloc(b64, rlen)) == NULL) {
		cJSON_Delete(a);
		return bad(why, whylen, "\"result\" is not base64: '%s'", ex);
	}
	cJSON_Delete(a);
	if (*rlen > PIPE_RESULT_MAX) {
		free(*res);
		*res = NULL;
		*rlen = 0;
		snprintf(why, whylen, "result over 1 MiB");
		return PIPE_ERROR;
	}
	return PIPE_RESULT;
}

void
linebuf_init(struct linebuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
linebuf_free(struct linebuf *b)
{
	free(b->buf);
	linebuf_init(b, b->max);
}

void
linebuf_clear(struct linebuf *b)
{
	b->len = b->start = b->scan = 0;
}

void
linebuf_room(struct linebuf *b, char **p, size_t *room)
{
	/* taken lines go first: then the buffer need hold one line and a bit */
	if (b->start > 0) {
		memmove(b->buf, b->buf + b->start, b->len - b->start);
		b->len -= b->start;
		b->scan -= b->start;
		b->start = 0;
	}
	if (b->cap - b->len < 4096) {
		b->cap = b->cap ? b->cap * 2 : 64 * 1024;
		if (b->cap < b->len + 4096)
			b->cap = b->len + 4096;
		b->buf = xreallocarray(b->buf, b->cap, 1);
	}
	*p = b->buf + b->len;
	*room = b->cap - b->len - 1;	/* one for the NUL of a line at the end */
}

void
linebuf_added(struct linebuf *b, size_t n)
{
	b->len += n;
}

int
linebuf_take(struct linebuf *b, char **line, size_t *len)
{
	char *nl = b->scan < b->len ? memchr(b->buf + b->scan, '\n', b->len - b->scan) : NULL;

	if (nl == NULL) {
		b->scan = b->len;
		return b->len - b->start > b->max ? -1 : 0;
	}
	*line = b->buf + b->start;
	*len = (size_t)(nl - *line);
	*nl = '\0';
	if (*len > b->max)
		return -1;
	b->start = b->scan = (size_t)(nl + 1 - b->buf);
	return 1;
}
