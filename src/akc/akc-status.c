/* akc-status: self, leader, role leaders, convergence and unreachable members. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "proto.h"
#include "sock.h"
#include "tool.h"

#define USAGE "akc-status [-c FILE] [--json]"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS, { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 }
	};
	struct tool t;
	cJSON *rsp, *e, *o;
	int ch, json = 0, conv = 0, counts[8] = { 0 }, i;
	static const char *statuses[] = { "Joining", "WeaklyUp", "Up", "Leaving",
	    "Exiting", "Down", "Removed", NULL };

	tool_init(&t, "akc-status", USAGE);
	while ((ch = getopt_long(argc, argv, "c:hj", longopts, NULL)) != -1)
		if (!tool_common_opt(&t, ch, optarg) && ch == 'j')
			json = 1;
	if (optind != argc)
		tool_usage(&t, "unexpected argument");
	tool_config(&t);
	rsp = tool_call(&t, SOCK_MEMBERD_CTL, ctl_request("status"));
	cJSON_DeleteItemFromObjectCaseSensitive(rsp, "v");
	cJSON_DeleteItemFromObjectCaseSensitive(rsp, "ok");
	if (json) {
		tool_print_json(rsp);
		cJSON_Delete(rsp);
		tool_exit(&t, 0);
	}
	json_bool(rsp, "convergence", &conv);
	printf("self:        %s (%s)\n", json_str(rsp, "self"), json_str(rsp, "phase"));
	printf("leader:      %s\n", json_str(rsp, "leader") ? json_str(rsp, "leader") : "-");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rsp, "role_leaders"))
		printf("role leader: %s: %s\n", e->string,
		    cJSON_IsString(e) ? e->valuestring : "-");
	printf("convergence: %s\n", conv ? "yes" : "no");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rsp, "members"))
		for (i = 0; statuses[i]; i++)
			if (json_str(e, "status") && strcmp(json_str(e, "status"), statuses[i]) == 0)
				counts[i]++;
	printf("members:    ");
	for (i = 0; statuses[i]; i++)
		if (counts[i])
			printf(" %d %s", counts[i], statuses[i]);
	printf("\n");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rsp, "unreachable")) {
		printf("unreachable: %s (%s), observed by", json_str(e, "node"), json_str(e, "status"));
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(e, "observed_by"))
			printf(" %s", cJSON_IsString(o) ? o->valuestring : "?");
		printf("\n");
	}
	cJSON_Delete(rsp);
	tool_exit(&t, 0);
}
