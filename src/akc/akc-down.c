/* akc-down: operator downing of NODE (by name or address). */
#include <stdio.h>

#include "proto.h"
#include "tool.h"

#define USAGE "akc-down [-c FILE] NODE"

int
main(int argc, char **argv)
{
	struct tool t;
	const char *node;

	tool_init(&t, "akc-down", USAGE);
	node = tool_node_call(&t, argc, argv, CTL_DOWN, 1);
	printf("marking %s as Down\n", node);
	tool_exit(&t, 0);
}
