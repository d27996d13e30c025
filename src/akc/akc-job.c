/* akc-job: one job's state and history, as one JSON object. */
#include <stdio.h>

#include "json.h"
#include "proto.h"
#include "tool.h"
#include "workcall.h"

#define USAGE	"akc-job [-c FILE] [--timeout DURATION] ID"

int
main(int argc, char **argv)
{
	struct tool t;
	struct workcall w;
	const char *id;
	cJSON *rsp, *job;

	tool_init(&t, "akc-job", USAGE);
	rsp = wc_id_call(&w, &t, argc, argv, WORK_OP_JOB, &id);
	if (!cJSON_IsObject(job = cJSON_GetObjectItemCaseSensitive(rsp, "job"))) {
		fprintf(stderr, "akc-job: bad answer from '%s': no job\n", w.addr + 6);
		return EXIT_TOOL_NODAEMON;
	}
	tool_print_json(job);
	cJSON_Delete(rsp);
	wc_close(&w);
	tool_exit(&t, EXIT_TOOL_OK);
}
