/* akc-join: ask this node to join the cluster that ADDRESS belongs to. */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "sock.h"
#include "tool.h"

#define USAGE "akc-join [-c FILE] ADDRESS"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = { TOOL_LONGOPTS, { NULL, 0, NULL, 0 } };
	struct tool t;
	cJSON *req;
	int ch;

	tool_init(&t, "akc-join", USAGE);
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1)
		tool_common_opt(&t, ch, optarg);
	if (optind != argc - 1)
		tool_usage(&t, optind == argc ? "missing ADDRESS" : "too many arguments");
	if (strncmp(argv[optind], "tcp://", 6) != 0 || strrchr(argv[optind], ':') < argv[optind] + 6)
		tool_usage(&t, "ADDRESS must look like tcp://HOST:PORT");
	tool_config(&t);
	req = ctl_request("join");
	cJSON_AddStringToObject(req, "address", argv[optind]);
	cJSON_Delete(tool_call(&t, SOCK_MEMBERD_CTL, req));
	printf("%s is joining the cluster of %s\n", t.cfg.name, argv[optind]);
	tool_exit(&t, 0);
}
