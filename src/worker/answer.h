/* answer.h: what the worker takes from the master's answers: the ids to cancel, a report's next job. No I/O. */
#ifndef WORKER_ANSWER_H
#define WORKER_ANSWER_H

#include <cjson/cJSON.h>

/*
 * Calls fn for each valid job id in the answer's "cancel" array (any
 * answer may carry one). Returns how many ids it passed, or -1 when
 * "cancel" is there but malformed (not an array, or an entry that is not
 * a valid job id: those are skipped, the others still passed).
 */
int answer_cancels(const cJSON *rsp, void (*fn)(const char *id, void *arg), void *arg);

/*
 * The answer to a report that carried "next" (the worker's next request):
 * 1 with *job the job given, 0 when the master had none for it ("job":
 * null, or not an object), -1 when the answer has no "job" at all: a
 * master that does not know "next" took the report only, and the worker
 * asks with "request" instead.
 */
int answer_next(const cJSON *rsp, const cJSON **job);

/*
 * The answer to an ask for several jobs (a request's "max", a report's
 * "next"): how many "jobs" it carries, the array in *jobs (its entries are
 * checked one by one when taken); -1 when it has no "jobs" array at all:
 * a master that does not know "max" answered with one "job" (or none) and
 * the worker asks for one job a request from then on.
 */
int answer_jobs(const cJSON *rsp, const cJSON **jobs);

#endif
