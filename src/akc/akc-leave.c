/* akc-leave: graceful leave of this node, or of NODE. */
#include <stdio.h>

#include "proto.h"
#include "tool.h"

#define USAGE "akc-leave [-c FILE] [NODE]"

int
main(int argc, char **argv)
{
	struct tool t;
	const char *node;

	tool_init(&t, "akc-leave", USAGE);
	node = tool_node_call(&t, argc, argv, CTL_LEAVE, 0);
	printf("%s is leaving the cluster\n", node != NULL ? node : t.cfg.name);
	tool_exit(&t, 0);
}
