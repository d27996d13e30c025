/* akc-queue: the master's state: pending, in progress, done, failed, workers. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "proto.h"
#include "tool.h"
#include "workcall.h"

#define USAGE	"akc-queue [-c FILE] [--json] [--timeout DURATION]"

static long
count(const cJSON *q, const char *key)
{
	long v = 0;

	(void)json_int(q, key, 0, 1L << 53, &v);
	return v;
}

static void
fmt_ago(const cJSON *o, const char *key, char *buf, size_t len)
{
	long ms;

	if (json_int(o, key, 0, 1L << 53, &ms) < 0)
		snprintf(buf, len, "-");
	else if (ms < 60000)
		snprintf(buf, len, "%ld.%lds", ms / 1000, ms % 1000 / 100);
	else
		snprintf(buf, len, "%ldm%02lds", ms / 60000, ms % 60000 / 1000);
}

/* The running entry of job id, or NULL. */
static const cJSON *
running(const cJSON *q, const char *id)
{
	const cJSON *r;
	const char *rid;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(q, "running"))
		if ((rid = json_str(r, "id")) != NULL && strcmp(rid, id) == 0)
			return r;
	return NULL;
}

static void
job_cols(const cJSON *q, const char *id, char *attempt, char *age, size_t len)
{
	const cJSON *r = running(q, id);
	long a;

	snprintf(attempt, len, "-");
	snprintf(age, len, "-");
	if (r == NULL)
		return;
	if (json_int(r, "attempt", 0, 1L << 53, &a) == 0)
		snprintf(attempt, len, "%ld", a);
	fmt_ago(r, "for_ms", age, len);
}

static void
human(const cJSON *q)
{
	const cJSON *w, *j, *r;
	const char *name, *state, *id, *wk;
	char seen[32], attempt[32], age[32];
	int first;

	/* first: a master that waits (a recovery, replication that does not move) says for what */
	if (json_str(q, "waiting") != NULL)
		printf("waiting: %s\n", json_str(q, "waiting"));
	printf("pending %ld", count(q, "pending"));
	if (count(q, "delayed") > 0)
		printf(" (%ld delayed)", count(q, "delayed"));
	printf(", in progress %ld, done %ld, failed %ld", count(q, "in_progress"), count(q, "done"),
	    count(q, "failed"));
	if (count(q, "cancelled") > 0)
		printf(", cancelled %ld", count(q, "cancelled"));
	if (count(q, "forgotten") > 0)
		printf(" (%ld of them forgotten)", count(q, "forgotten"));
	printf("\n");
	w = cJSON_GetObjectItemCaseSensitive(q, "workers");
	if (cJSON_GetArraySize(w) == 0 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(q, "running")) == 0) {
		printf("no workers\n");
		return;
	}
	printf("%-36s %-5s %-7s %-36s %-7s %s\n", "WORKER", "STATE", "SEEN", "JOB", "ATTEMPT", "FOR");
	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(q, "workers")) {
		name = json_str(w, "worker");
		state = json_str(w, "state");
		fmt_ago(w, "seen_ms", seen, sizeof(seen));
		first = 1;
		cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(w, "jobs")) {
			if (!cJSON_IsString(j))
				continue;
			job_cols(q, j->valuestring, attempt, age, sizeof(attempt));
			if (first)
				printf("%-36s %-5s %-7s ", name ? name : "?", state ? state : "?", seen);
			else
				printf("%-36s %-5s %-7s ", "", "", "");
			printf("%-36s %-7s %s\n", j->valuestring, attempt, age);
			first = 0;
		}
		if (first)
			printf("%-36s %-5s %-7s %-36s %-7s %s\n", name ? name : "?",
			    state ? state : "?", seen, "-", "-", "-");
	}
	/* jobs of workers the master no longer lists (dropped, retried soon) */
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(q, "running")) {
		int listed = 0;

		id = json_str(r, "id");
		wk = json_str(r, "worker");
		if (id == NULL)
			continue;
		cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(q, "workers"))
			cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(w, "jobs"))
				if (cJSON_IsString(j) && strcmp(j->valuestring, id) == 0)
					listed = 1;
		if (listed)
			continue;
		job_cols(q, id, attempt, age, sizeof(attempt));
		printf("%-36s %-5s %-7s %-36s %-7s %s\n", wk ? wk : "?", "gone", "-", id, attempt, age);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct tool t;
	struct workcall w;
	msec_t timeout = WORK_TIMEOUT;
	cJSON *rsp;
	int ch, json = 0;

	tool_init(&t, "akc-queue", USAGE);
	while ((ch = getopt_long(argc, argv, "c:hjt:", longopts, NULL)) != -1) {
		if (tool_common_opt(&t, ch, optarg))
			continue;
		if (ch == 'j')
			json = 1;
		else if (ch == 't' && ((timeout = config_parse_duration(optarg)) <= 0 ||
		    timeout > 24 * 3600 * 1000))
			tool_usage(&t, "bad --timeout: a duration with a unit (500ms, 30s, 2m)");
	}
	if (optind != argc)
		tool_usage(&t, "unexpected argument");
	tool_config(&t);
	wc_open(&w, &t, timeout);
	rsp = wc_call(&w, wc_request(WORK_OP_QUEUE));
	cJSON_DeleteItemFromObjectCaseSensitive(rsp, "ok");
	if (json)
		tool_print_json(rsp);
	else
		human(rsp);
	cJSON_Delete(rsp);
	wc_close(&w);
	tool_exit(&t, EXIT_TOOL_OK);
}
