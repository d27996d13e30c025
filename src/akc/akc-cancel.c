/* akc-cancel: cancel a pending, delayed or running job; a running one is killed by its worker. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "proto.h"
#include "tool.h"
#include "workcall.h"

#define USAGE	"akc-cancel [-c FILE] [--timeout DURATION] ID"

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
	cJSON *req, *rsp;
	int ch;

	tool_init(&t, "akc-cancel", USAGE);
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
	req = wc_request(WORK_OP_CANCEL);
	cJSON_AddStringToObject(req, "id", argv[optind]);
	/* a refusal (unknown id, finished already) exits 1 with the master's reason */
	rsp = wc_call(&w, req);
	printf("%s\n", argv[optind]);
	cJSON_Delete(rsp);
	wc_close(&w);
	tool_exit(&t, EXIT_TOOL_OK);
}
