/* answer.h: what the worker takes from the master's answers besides their job: the ids to cancel. No I/O. */
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

#endif
