/* akc-down: operator downing of NODE (by name or address). */
#include <stdio.h>

#include "proto.h"
#include "sock.h"
#include "tool.h"

#define USAGE "akc-down [-c FILE] NODE"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = { TOOL_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct tool t;
	cJSON *req;
	int ch;

	tool_init(&t, "akc-down", USAGE);
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1)
		tool_common_opt(&t, ch, optarg);
	if (optind != argc - 1)
		tool_usage(&t, optind == argc ? "missing NODE" : "too many arguments");
	tool_config(&t);
	req = ctl_request(CTL_DOWN);
	cJSON_AddStringToObject(req, "node", argv[optind]);
	cJSON_Delete(tool_call(&t, SOCK_MEMBERD_CTL, req));
	printf("marking %s as Down\n", argv[optind]);
	tool_exit(&t, 0);
}
