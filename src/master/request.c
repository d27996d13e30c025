/* request.c: the master's requests checked at the boundary, without I/O (see request.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "json.h"
#include "log.h"
#include "request.h"
#include "work.h"

static int
refusal(int code, char *err, size_t errlen, const char *fmt, ...) AKC_PRINTF(4, 5);

static int
refusal(int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

static int
worker_field(const cJSON *req, const char **w)
{
	*w = json_str(req, "worker");
	return *w != NULL && work_id_valid(*w) && strlen(*w) <= WORKER_ID_MAX ? 0 : -1;
}

int
request_parse(const cJSON *req, struct request *r, int *bad, char *err, size_t errlen)
{
	const char *op = json_str(req, "op");

	memset(r, 0, sizeof(*r));
	*bad = 0;
	r->max = 1000;
	if (op == NULL) {
		*bad = 1;
		return refusal(2, err, errlen, "malformed request: a JSON object with \"op\"");
	}
	r->id = json_str(req, "id");
	if (strcmp(op, "submit") == 0) {
		r->op = OP_SUBMIT;
		if ((r->payload = json_str(req, "payload")) == NULL)
			return refusal(2, err, errlen, "submit needs a payload (base64)");
		if (r->id != NULL && !work_id_valid(r->id))
			return refusal(2, err, errlen, "bad job id '%.40s': 1-128 of A-Za-z0-9._:-", r->id);
	} else if (strcmp(op, "status") == 0)
		r->op = OP_STATUS;
	else if (strcmp(op, "results") == 0) {
		r->op = OP_RESULTS;
		if ((cJSON_GetObjectItemCaseSensitive(req, "since") != NULL &&
		    json_int(req, "since", 0, 1L << 53, &r->since) < 0) ||
		    (cJSON_GetObjectItemCaseSensitive(req, "max") != NULL &&
		    json_int(req, "max", 1, 100000, &r->max) < 0))
			return refusal(2, err, errlen, "results: since and max must be numbers");
	} else if (strcmp(op, "queue") == 0)
		r->op = OP_QUEUE;
	else if (strcmp(op, "request") == 0) {
		r->op = OP_REQUEST;
		if (worker_field(req, &r->worker) < 0)
			return refusal(2, err, errlen, "request needs a worker id");
		/* a bad wait is no wait */
		if (cJSON_GetObjectItemCaseSensitive(req, "wait") != NULL &&
		    json_int(req, "wait", 0, 1000000, &r->wait) < 0)
			r->wait = 0;
		if (r->wait > REQ_WAIT_MAX)
			r->wait = REQ_WAIT_MAX;
	} else if (strcmp(op, "done") == 0 || strcmp(op, "failed") == 0) {
		int success = op[0] == 'd';

		r->op = success ? OP_DONE : OP_FAILED;
		r->result = json_str(req, "result");
		r->why = json_str(req, "why");
		if (worker_field(req, &r->worker) < 0 || r->id == NULL ||
		    json_int(req, "attempt", 1, 1000000, &r->attempt) < 0 ||
		    (success && r->result == NULL))
			return refusal(2, err, errlen, "%s needs worker, id, attempt%s",
			    success ? "done" : "failed", success ? " and result" : "");
	} else if (strcmp(op, "register") == 0) {
		r->op = OP_REGISTER;
		if (worker_field(req, &r->worker) < 0)
			return refusal(2, err, errlen, "register needs a worker id");
	} else {
		*bad = 1;
		return refusal(2, err, errlen, "unknown op '%.40s'", op);
	}
	return 0;
}

int
request_payload(const char *b64, long max, char *err, size_t errlen)
{
	size_t plen = strlen(b64), blen;
	unsigned char *bin;
	int rc;

	if (plen / 4 * 3 > (size_t)max + 3)
		return refusal(1, err, errlen, "payload of about %zu bytes is over max-payload "
		    "(%ld bytes)", plen / 4 * 3, max);
	if ((bin = malloc(plen / 4 * 3 + 3)) == NULL)
		fatal("malloc");
	rc = sodium_base642bin(bin, plen / 4 * 3 + 3, b64, plen, NULL, &blen, NULL,
	    sodium_base64_VARIANT_ORIGINAL);
	free(bin);
	if (rc != 0)
		return refusal(2, err, errlen, "payload is not base64");
	if ((long)blen > max)
		return refusal(1, err, errlen, "payload of %zu bytes is over max-payload (%ld bytes)",
		    blen, max);
	return 0;
}

/*
 * The length of the UTF-8 character at s, of at most avail bytes, or 0 if
 * there is none: RFC 3629 forbids overlong forms (C0 80 for NUL), UTF-16
 * surrogates (ED A0 80) and code points past U+10FFFF; NUL is refused too,
 * as it would end the text.
 */
static size_t
utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;	/* the range of the second byte */
	size_t n, k;

	if (c >= 0x01 && c <= 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (n > avail || s[1] < lo || s[1] > hi)
		return 0;
	for (k = 2; k < n; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A worker's stdout as JSON text: what is not valid UTF-8 becomes U+FFFD, byte by byte. */
static char *
result_text(const unsigned char *buf, size_t len)
{
	char *out = malloc(len * 3 + 1), *o = out;
	size_t i = 0, n;

	if (out == NULL)
		fatal("malloc");
	while (i < len) {
		if ((n = utf8_len(buf + i, len - i)) > 0) {
			memcpy(o, buf + i, n);
			o += n;
			i += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	return out;
}

char *
request_result(const char *b64, char *err, size_t errlen)
{
	size_t blen = strlen(b64), len;
	unsigned char *bin = malloc(blen / 4 * 3 + 3);
	char *text;

	if (bin == NULL)
		fatal("malloc");
	if (blen / 4 * 3 > REQ_RESULT_MAX + 3 ||
	    sodium_base642bin(bin, blen / 4 * 3 + 3, b64, blen, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(bin);
		snprintf(err, errlen, "result is not base64 or over 1 MiB");
		return NULL;
	}
	text = result_text(bin, len);
	free(bin);
	return text;
}
