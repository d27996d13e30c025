/*
 * answer.c: the "cancel" list the master may put in any answer to a
 * worker (register, request, done, failed): the jobs of ours it cancelled.
 * Checked entry by entry: a bad entry is skipped and the whole list called
 * malformed, so the worker can count it, but the good ids still count.
 */
#include "answer.h"
#include "proto.h"

int
answer_cancels(const cJSON *rsp, void (*fn)(const char *id, void *arg), void *arg)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(rsp, "cancel"), *e;
	int n = 0, bad = 0;

	if (list == NULL || cJSON_IsNull(list))
		return 0;
	if (!cJSON_IsArray(list))
		return -1;
	cJSON_ArrayForEach(e, list) {
		if (!cJSON_IsString(e) || !work_id_valid(e->valuestring)) {
			bad = 1;
			continue;
		}
		fn(e->valuestring, arg);
		n++;
	}
	return bad ? -1 : n;
}

int
answer_next(const cJSON *rsp, const cJSON **job)
{
	*job = cJSON_GetObjectItemCaseSensitive(rsp, "job");
	if (*job == NULL)
		return -1;
	if (!cJSON_IsObject(*job)) {
		*job = NULL;
		return 0;
	}
	return 1;
}

int
answer_jobs(const cJSON *rsp, const cJSON **jobs)
{
	*jobs = cJSON_GetObjectItemCaseSensitive(rsp, "jobs");
	if (!cJSON_IsArray(*jobs)) {
		*jobs = NULL;
		return -1;
	}
	return cJSON_GetArraySize(*jobs);
}
