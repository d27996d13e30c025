/* request.c: the master's requests checked at the boundary, without I/O (see request.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "b64.h"
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

/* A long poll's wait in ms, at most REQ_WAIT_MAX; a bad wait is no wait. */
static long
wait_field(const cJSON *req)
{
	long wait = 0;

	if (cJSON_GetObjectItemCaseSensitive(req, "wait") != NULL &&
	    json_int(req, "wait", 0, 1000000, &wait) < 0)
		wait = 0;
	return wait > REQ_WAIT_MAX ? REQ_WAIT_MAX : wait;
}

/* An optional number field: absent leaves *out; -1 when present and not a number in range. */
static int
opt_field(const cJSON *req, const char *key, long min, long max, long *out)
{
	if (cJSON_GetObjectItemCaseSensitive(req, key) == NULL)
		return 0;
	return json_int(req, key, min, max, out);
}

int
request_parse(const cJSON *req, struct request *r, int *bad, char *err, size_t errlen)
{
	const char *op = json_str(req, "op");
	long v = 1;

	memset(r, 0, sizeof(*r));
	*bad = REQ_OK;
	r->max = 1000;
	/* before "v" existed every request was version 1: a rolling upgrade keeps them */
	if (cJSON_GetObjectItemCaseSensitive(req, "v") != NULL &&
	    json_int(req, "v", 0, 1000000, &v) < 0) {
		*bad = REQ_BAD;
		return refusal(2, err, errlen, "malformed request: \"v\" is not a version number");
	}
	if (v != WORK_PROTO_VERSION) {
		*bad = REQ_BAD_VERSION;
		return refusal(2, err, errlen, "work protocol version %ld refused: this master "
		    "speaks version %d (upgrade the master and its clients together)", v,
		    WORK_PROTO_VERSION);
	}
	if (op == NULL) {
		*bad = REQ_BAD;
		return refusal(2, err, errlen, "malformed request: a JSON object with \"op\"");
	}
	r->id = json_str(req, "id");
	if (strcmp(op, WORK_OP_SUBMIT) == 0) {
		r->op = OP_SUBMIT;
		if ((r->payload = json_str(req, "payload")) == NULL)
			return refusal(2, err, errlen, "submit needs a payload (base64)");
		if (r->id != NULL && !work_id_valid(r->id))
			return refusal(2, err, errlen, "bad job id '%.40s': 1-128 of A-Za-z0-9._:-", r->id);
		r->opts.priority = WORK_PRIORITY_DEFAULT;
		if (opt_field(req, "priority", 0, WORK_PRIORITY_MAX, &r->opts.priority) < 0)
			return refusal(2, err, errlen, "bad priority: a number 0-%ld", WORK_PRIORITY_MAX);
		if (opt_field(req, "delay_ms", 0, WORK_DELAY_MAX, &r->opts.delay_ms) < 0)
			return refusal(2, err, errlen, "bad delay_ms: a number of ms 0-%ld",
			    WORK_DELAY_MAX);
		if (opt_field(req, "timeout_ms", 1, WORK_TIMEOUT_MAX, &r->opts.timeout_ms) < 0)
			return refusal(2, err, errlen, "bad timeout_ms: a number of ms 1-%ld",
			    WORK_TIMEOUT_MAX);
	} else if (strcmp(op, WORK_OP_STATUS) == 0) {
		r->op = OP_STATUS;
		r->wait = wait_field(req);
	} else if (strcmp(op, WORK_OP_JOB) == 0 || strcmp(op, WORK_OP_CANCEL) == 0) {
		r->op = op[0] == 'j' ? OP_JOB : OP_CANCEL;
		if (r->id == NULL || !work_id_valid(r->id))
			return refusal(2, err, errlen, "%s needs a job id (1-128 of A-Za-z0-9._:-)", op);
	}
	else if (strcmp(op, WORK_OP_RESULTS) == 0) {
		r->op = OP_RESULTS;
		if ((cJSON_GetObjectItemCaseSensitive(req, "since") != NULL &&
		    json_int(req, "since", 0, 1L << 53, &r->since) < 0) ||
		    (cJSON_GetObjectItemCaseSensitive(req, "max") != NULL &&
		    json_int(req, "max", 1, 100000, &r->max) < 0))
			return refusal(2, err, errlen, "results: since and max must be numbers");
		r->wait = wait_field(req);
	} else if (strcmp(op, WORK_OP_QUEUE) == 0)
		r->op = OP_QUEUE;
	else if (strcmp(op, WORK_OP_REQUEST) == 0) {
		r->op = OP_REQUEST;
		if (worker_field(req, &r->worker) < 0)
			return refusal(2, err, errlen, "request needs a worker id");
		/* a bad wait is no wait */
		if (cJSON_GetObjectItemCaseSensitive(req, "wait") != NULL &&
		    json_int(req, "wait", 0, 1000000, &r->wait) < 0)
			r->wait = 0;
		if (r->wait > REQ_WAIT_MAX)
			r->wait = REQ_WAIT_MAX;
		/* "max": several jobs in one answer; an old master ignores it and sends one */
		if (cJSON_GetObjectItemCaseSensitive(req, "max") != NULL) {
			long max;

			if (json_int(req, "max", 1, REQ_BATCH_MAX, &max) < 0)
				return refusal(2, err, errlen, "request: \"max\" must be a number "
				    "1-%d", REQ_BATCH_MAX);
			r->batch = (int)max;
		}
	} else if (strcmp(op, WORK_OP_REPORT) == 0) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(req, "reports");
		long next = 0;

		r->op = OP_REPORT;
		if (worker_field(req, &r->worker) < 0)
			return refusal(2, err, errlen, "report needs a worker id");
		if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 ||
		    cJSON_GetArraySize(a) > REQ_BATCH_MAX)
			return refusal(2, err, errlen, "report: \"reports\" must be an array of "
			    "1-%d results", REQ_BATCH_MAX);
		r->reports = a;
		if (cJSON_GetObjectItemCaseSensitive(req, "next") != NULL &&
		    json_int(req, "next", 0, REQ_BATCH_MAX, &next) < 0)
			return refusal(2, err, errlen, "report: \"next\" must be a number 0-%d",
			    REQ_BATCH_MAX);
		r->batch = (int)next;
		if (r->batch > 0)
			r->wait = wait_field(req);
	} else if (strcmp(op, WORK_OP_DONE) == 0 || strcmp(op, WORK_OP_FAILED) == 0) {
		int success = op[0] == 'd';

		r->op = success ? OP_DONE : OP_FAILED;
		r->result = json_str(req, "result");
		r->why = json_str(req, "why");
		r->errtail = json_str(req, "stderr");
		if (worker_field(req, &r->worker) < 0 || r->id == NULL ||
		    json_int(req, "attempt", 1, 1000000, &r->attempt) < 0 ||
		    (success && r->result == NULL))
			return refusal(2, err, errlen, "%s needs worker, id, attempt%s",
			    success ? "done" : "failed", success ? " and result" : "");
		/* "next": the report is also the worker's request for its next job (and its wait) */
		if (cJSON_GetObjectItemCaseSensitive(req, "next") != NULL &&
		    json_bool(req, "next", &r->next) < 0)
			return refusal(2, err, errlen, "%s: \"next\" must be true or false",
			    success ? "done" : "failed");
		if (r->next)
			r->wait = wait_field(req);
	} else if (strcmp(op, WORK_OP_REGISTER) == 0 || strcmp(op, WORK_OP_UNREGISTER) == 0) {
		r->op = op[0] == 'r' ? OP_REGISTER : OP_UNREGISTER;
		if (worker_field(req, &r->worker) < 0)
			return refusal(2, err, errlen, "%s needs a worker id", op);
	} else {
		*bad = REQ_BAD;
		return refusal(2, err, errlen, "unknown op '%.40s'", op);
	}
	/* an ask's token (a request for work, or a report's next): a bad one is none */
	if ((r->op == OP_REQUEST || r->batch > 0 || r->next) &&
	    cJSON_GetObjectItemCaseSensitive(req, "ask") != NULL) {
		long ask;

		if (json_int(req, "ask", 1, 0xffffffffL, &ask) == 0)
			r->ask = (uint32_t)ask;
	}
	return 0;
}

int
request_report_item(const cJSON *item, struct report_item *it, char *err, size_t errlen)
{
	memset(it, 0, sizeof(*it));
	if (!cJSON_IsObject(item))
		return refusal(2, err, errlen, "a report's result must be an object");
	it->id = json_str(item, "id");
	it->result = json_str(item, "result");
	it->why = json_str(item, "why");
	it->errtail = json_str(item, "stderr");
	it->success = it->result != NULL;
	if (it->id == NULL || !work_id_valid(it->id) ||
	    json_int(item, "attempt", 1, 1000000, &it->attempt) < 0)
		return refusal(2, err, errlen, "a report's result needs id and attempt");
	if (it->success && (it->why != NULL || it->errtail != NULL))
		return refusal(2, err, errlen, "job %s: a report's result has \"result\" (done) "
		    "or \"why\" (failed), not both", it->id);
	return 0;
}

int
request_payload(const char *b64, long max, char *err, size_t errlen)
{
	size_t plen = strlen(b64), blen;
	void *bin;

	if (plen / 4 * 3 > (size_t)max + 3)
		return refusal(1, err, errlen, "payload of about %zu bytes is over max-payload "
		    "(%ld bytes)", plen / 4 * 3, max);
	if ((bin = b64_decode_alloc(b64, &blen)) == NULL)
		return refusal(2, err, errlen, "payload is not base64");
	free(bin);
	if ((long)blen > max)
		return refusal(1, err, errlen, "payload of %zu bytes is over max-payload (%ld bytes)",
		    blen, max);
	return 0;
}

unsigned char *
request_result(const char *b64, size_t *len, char *err, size_t errlen)
{
	size_t blen = strlen(b64);
	unsigned char *bin = NULL;

	/* NUL-terminated by b64_decode_alloc */
	if (blen / 4 * 3 > REQ_RESULT_MAX + 3 ||
	    (bin = b64_decode_alloc(b64, len)) == NULL || *len > REQ_RESULT_MAX) {
		free(bin);
		snprintf(err, errlen, "result is not base64 or over 1 MiB");
		return NULL;
	}
	return bin;
}
