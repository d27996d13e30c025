/* akc-cancel: cancel a pending, delayed or running job; a running one is killed by its worker. */
#include <stdio.h>

#include "json.h"
#include "proto.h"
#include "tool.h"
#include "workcall.h"

#define USAGE	"akc-cancel [-c FILE] [--timeout DURATION] ID"

int
main(int argc, char **argv)
{
	struct tool t;
	struct workcall w;
	const char *id;
	cJSON *rsp;

	tool_init(&t, "akc-cancel", USAGE);
	/* a refusal (unknown id, finished already) exits 1 with the master's reason */
	rsp = wc_id_call(&w, &t, argc, argv, WORK_OP_CANCEL, &id);
	printf("%s\n", id);
	cJSON_Delete(rsp);
	wc_close(&w);
	tool_exit(&t, EXIT_TOOL_OK);
}
