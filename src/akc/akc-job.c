/* akc-job: one job's state and history, as one JSON object. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "proto.h"
#include "tool.h"
#include "workcall.h"

#define USAGE	"akc-job [-c FILE] [--timeout DURATION] ID"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS,
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct tool t;
	struct workcall w;
	msec_t timeout = WORK_TIMEOUT;
	cJSON *req, *rsp, *job;
	int ch;

	tool_init(&t, "akc-job", USAGE);
	while ((ch = getopt_long(argc, argv, "c:ht:", longopts, NULL)) != -1) {
		if (tool_common_opt(&t, ch, optarg))
			continue;
		if (ch == 't' && ((timeout = config_parse_duration(optarg)) <= 0 ||
		    timeout > 24 * 3600 * 1000))
			tool_usage(&t, "bad --timeout: a duration with a unit (500ms, 30s, 2m)");
	}
	if (argc - optind != 1)
		tool_usage(&t, "one job ID expected");
	if (!work_id_valid(argv[optind]))
		tool_usage(&t, "bad id: 1-128 characters of A-Za-z0-9._:-");
	tool_config(&t);
	wc_open(&w, &t, timeout);
	req = wc_request(WORK_OP_JOB);
	cJSON_AddStringToObject(req, "id", argv[optind]);
	rsp = wc_call(&w, req);
	if (!cJSON_IsObject(job = cJSON_GetObjectItemCaseSensitive(rsp, "job"))) {
		fprintf(stderr, "akc-job: bad answer from '%s': no job\n", w.addr + 6);
		return EXIT_TOOL_NODAEMON;
	}
	tool_print_json(job);
	cJSON_Delete(rsp);
	wc_close(&w);
	tool_exit(&t, EXIT_TOOL_OK);
}
