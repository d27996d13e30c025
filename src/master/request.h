/*
 * request.h: the master's requests (doc/PROTOCOL.md, Work), checked field by
 * field without I/O or state: master.c answers what request_parse accepts.
 */
#ifndef MASTER_REQUEST_H
#define MASTER_REQUEST_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "work.h"

#define REQ_WAIT_MAX	1500		/* longest long poll (request, results, status): under
					   the proxy's resend (PROXY_RESEND, 2 s) */
#define REQ_RESULT_MAX	(1024 * 1024)	/* longest result, decoded */
#define REQ_BATCH_MAX	256		/* jobs in one answer ("max", a report's "next"),
					   results in one report */

enum req_op { OP_SUBMIT, OP_STATUS, OP_RESULTS, OP_QUEUE, OP_REQUEST, OP_DONE, OP_FAILED,
	OP_REGISTER, OP_JOB, OP_CANCEL, OP_UNREGISTER, OP_REPORT };

/* A checked request; the strings point into the parsed JSON. */
struct request {
	enum req_op op;
	const char *id;		/* submit (NULL: the master makes one), status (may be NULL), done,
				   failed, job, cancel */
	const char *payload;	/* submit: base64, not yet decoded (request_payload) */
	const char *worker;	/* request, done, failed, register, unregister */
	struct job_opts opts;	/* submit: priority, delay_ms, timeout_ms (0: none given) */
	const char *result;	/* done: base64, not yet decoded (request_result) */
	const char *why;	/* failed: may be NULL */
	const char *errtail;	/* failed: the tail of the job's stderr, may be NULL */
	long wait;		/* request, results, status, done/failed with next: 0..REQ_WAIT_MAX ms */
	int next;		/* done, failed: the report carries the worker's next request */
	long since, max;	/* results */
	long attempt;		/* done, failed */
	int batch;		/* request: "max", jobs in one answer ("jobs"); report: "next",
				   jobs asked for with it; 0: not given (request: one, as "job") */
	const cJSON *reports;	/* report: its "reports", an array of 1..REQ_BATCH_MAX objects,
				   each checked by request_report_item */
	uint32_t ask;		/* request, and report/done/failed with next: the worker's token
				   of this ask, the same when it sends it again after a lost
				   connection ("ask"); 0: none */
};

/* One result of a report (op "report"): a done or a failed attempt. */
struct report_item {
	const char *id;
	long attempt;
	int success;		/* "result" given: done; else failed with why */
	const char *result;	/* done: base64, not yet decoded (request_result) */
	const char *why;	/* failed: may be NULL */
	const char *errtail;	/* failed: the tail of its stderr, may be NULL */
};

/* Why a refused request counts as bad (request_parse's *bad). */
enum req_bad { REQ_OK, REQ_BAD, REQ_BAD_VERSION };

/*
 * Checks req. Returns 0 with *r filled in, or the code of the refusal to
 * answer (2: malformed) with its message in err; *bad is REQ_BAD when the
 * request counts as bad (not an object with a known op), REQ_BAD_VERSION
 * when its "v" is not WORK_PROTO_VERSION (no "v" is version 1).
 */
int request_parse(const cJSON *req, struct request *r, int *bad, char *err, size_t errlen);
/*
 * Checks one entry of a report's "reports": {"id","attempt","result"} (done)
 * or {"id","attempt"[,"why"][,"stderr"]} (failed). 0 with *it filled in, or
 * 2 with why in err: that entry alone is refused.
 */
int request_report_item(const cJSON *item, struct report_item *it, char *err, size_t errlen);
/*
 * Checks a submitted payload: base64 of at most max bytes. 0 if it is, else
 * the refusal's code (1: too large, 2: not base64) and message in err.
 */
int request_payload(const char *b64, long max, char *err, size_t errlen);
/*
 * Decodes a worker's result (base64, at most REQ_RESULT_MAX bytes): its
 * bytes (the caller frees them; a NUL follows them) and their number in
 * *len, or NULL with the refusal's message in err (code 2).
 */
unsigned char *request_result(const char *b64, size_t *len, char *err, size_t errlen);

#endif
