/* akc-leave: graceful leave of this node, or of NODE. */
#include <stdio.h>

#include "proto.h"
#include "sock.h"
#include "tool.h"

#define USAGE "akc-leave [-c FILE] [NODE]"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = { TOOL_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct tool t;
	cJSON *req;
	int ch;

	tool_init(&t, "akc-leave", USAGE);
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1)
		tool_common_opt(&t, ch, optarg);
	if (argc - optind > 1)
		tool_usage(&t, "too many arguments");
	tool_config(&t);
	req = ctl_request(CTL_LEAVE);
	if (optind < argc)
		cJSON_AddStringToObject(req, "node", argv[optind]);
	cJSON_Delete(tool_call(&t, SOCK_MEMBERD_CTL, req));
	printf("%s is leaving the cluster\n", optind < argc ? argv[optind] : t.cfg.name);
	tool_exit(&t, 0);
}
