/* akc-members: this node's view of the cluster's members. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "proto.h"
#include "sock.h"
#include "tool.h"

#define USAGE "akc-members [-c FILE] [--json]"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS, { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 }
	};
	struct tool t;
	cJSON *rsp, *members, *m, *r;
	int ch, json = 0;

	tool_init(&t, "akc-members", USAGE);
	while ((ch = getopt_long(argc, argv, "c:hj", longopts, NULL)) != -1)
		if (!tool_common_opt(&t, ch, optarg) && ch == 'j')
			json = 1;
	if (optind != argc)
		tool_usage(&t, "unexpected argument");
	tool_config(&t);
	rsp = tool_call(&t, SOCK_MEMBERD_CTL, ctl_request(CTL_MEMBERS));
	members = cJSON_GetObjectItemCaseSensitive(rsp, "members");
	if (json)
		tool_print_json(members);
	else {
		printf("%-16s %-28s %-9s %-9s %-5s %s\n", "NODE", "ADDRESS", "STATUS",
		    "REACHABLE", "UP", "ROLES");
		cJSON_ArrayForEach(m, members) {
			char roles[512] = "", up[16] = "-";
			const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "up_number");
			int reach = 0;

			cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(m, "roles")) {
				if (cJSON_IsString(r) && strlen(roles) + strlen(r->valuestring) + 2 < sizeof(roles)) {
					if (roles[0])
						strcat(roles, ",");
					strcat(roles, r->valuestring);
				}
			}
			if (cJSON_IsNumber(u))
				snprintf(up, sizeof(up), "%d", u->valueint);
			json_bool(m, "reachable", &reach);
			printf("%-16s %-28s %-9s %-9s %-5s %s\n", json_str(m, "node"),
			    json_str(m, "address"), json_str(m, "status"),
			    reach ? "yes" : "no", up, roles[0] ? roles : "-");
		}
	}
	cJSON_Delete(rsp);
	tool_exit(&t, 0);
}
