/*
 * fuzz-request.c: the master's request parser (src/master/request.c), fed
 * what its REP socket receives from the tools and workers.
 *
 * The input is parsed with json_parse, as the master does, and checked by
 * request_parse; a payload is checked as the master would (with its default
 * max-payload, and with a small one), a result decoded. A refusal must say
 * why, with code 1 or 2; a decoded result must be valid UTF-8 without NUL,
 * as doc/PROTOCOL.md promises to akc-results' readers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "request.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
refused(int code, const char *err)
{
	if ((code != 1 && code != 2) || err[0] == '\0') {
		fprintf(stderr, "a refusal with code %d and message '%s'\n", code, err);
		abort();
	}
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong form, surrogate or NUL), or 0. */
static size_t
ref_utf8_char(const unsigned char *s)
{
	unsigned int c = s[0];

	if (c >= 0x01 && c <= 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80 ||
		    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

static void
check_text(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t k;

	while (*s) {
		if ((k = ref_utf8_char(s)) == 0) {
			fprintf(stderr, "a result is not valid UTF-8 at byte %zu: %02x %02x %02x %02x\n",
			    (size_t)(s - (const unsigned char *)text), s[0], s[0] ? s[1] : 0,
			    s[0] && s[1] ? s[2] : 0, s[0] && s[1] && s[2] ? s[3] : 0);
			abort();
		}
		s += k;
	}
}

/* A worker's result as the master decodes it (done, or a report's entry). */
static void
check_result(const char *b64)
{
	unsigned char *bin;
	size_t len;
	char err[256];

	err[0] = '\0';
	if ((bin = request_result(b64, &len, err, sizeof(err))) == NULL) {
		refused(2, err);
		return;
	}
	/* the master keeps it as text only when lib/utf8.c says it is: cross-check */
	if (len > REQ_RESULT_MAX)
		abort();
	if (utf8_text(bin, len)) {
		if (strlen((const char *)bin) != len)
			abort();
		check_text((const char *)bin);
	}
	free(bin);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *req = json_parse((const char *)data, size);
	struct request r;
	char err[256];
	const cJSON *item;
	struct report_item it;
	int code, bad;

	err[0] = '\0';
	if ((code = request_parse(req, &r, &bad, err, sizeof(err))) != 0) {
		refused(code, err);
		cJSON_Delete(req);
		return 0;
	}
	if (bad)
		abort();
	switch (r.op) {
	case OP_SUBMIT:
		if (r.payload == NULL || r.opts.priority < 0 || r.opts.priority > WORK_PRIORITY_MAX ||
		    r.opts.delay_ms < 0 || r.opts.delay_ms > WORK_DELAY_MAX || r.opts.timeout_ms < 0 ||
		    r.opts.timeout_ms > WORK_TIMEOUT_MAX)
			abort();
		err[0] = '\0';
		if ((code = request_payload(r.payload, 1024 * 1024, err, sizeof(err))) != 0)
			refused(code, err);
		err[0] = '\0';
		if ((code = request_payload(r.payload, 16, err, sizeof(err))) != 0)
			refused(code, err);
		break;
	case OP_DONE:
		if (r.worker == NULL || r.id == NULL || r.result == NULL || r.attempt < 1)
			abort();
		check_result(r.result);
		break;
	case OP_REPORT:
		if (r.worker == NULL || !cJSON_IsArray(r.reports) || r.batch < 0 ||
		    r.batch > REQ_BATCH_MAX || cJSON_GetArraySize(r.reports) < 1 ||
		    cJSON_GetArraySize(r.reports) > REQ_BATCH_MAX)
			abort();
		cJSON_ArrayForEach(item, r.reports) {
			err[0] = '\0';
			if ((code = request_report_item(item, &it, err, sizeof(err))) != 0) {
				refused(code, err);
				continue;
			}
			if (it.id == NULL || it.attempt < 1 || (it.success && it.result == NULL))
				abort();
			if (it.success)
				check_result(it.result);
		}
		break;
	case OP_FAILED:
		if (r.worker == NULL || r.id == NULL || r.attempt < 1)
			abort();
		break;
	case OP_REQUEST:
		if (r.worker == NULL || r.wait < 0 || r.wait > REQ_WAIT_MAX)
			abort();
		break;
	case OP_REGISTER:
	case OP_UNREGISTER:
		if (r.worker == NULL)
			abort();
		break;
	case OP_JOB:
	case OP_CANCEL:
		if (r.id == NULL || !work_id_valid(r.id))
			abort();
		break;
	case OP_RESULTS:
		if (r.since < 0 || r.max < 1 || r.max > 100000)
			abort();
		break;
	case OP_STATUS:
	case OP_QUEUE:
		break;
	}
	cJSON_Delete(req);
	return 0;
}
