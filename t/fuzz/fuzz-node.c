/*
 * fuzz-node.c: memberd's protocol core (node_receive, src/memberd/receive.c)
 * fed node-to-node messages, as they arrive once their frame is checked.
 *
 * The input is parsed with json_parse, as memberd does, and handed to two
 * nodes of fixture.h: a member of a converged cluster and a node waiting for
 * its welcome. A JSON array is given whole first (it is no message), then
 * element by element, 40 ms apart with the timers run in between, so that a
 * sequence of messages can reach states one message cannot. Both nodes then
 * run their timers and are checked against the core's invariants.
 */
#include <stddef.h>
#include <stdint.h>

#include "fixture.h"
#include "json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fixture_init();
	return 0;
}

static void
feed(struct node *n, const cJSON *msg)
{
	const cJSON *m;
	msec_t now = FIX_T0 + 10;

	node_receive(n, msg, now);
	fixture_check(n);
	if (cJSON_IsArray(msg))
		cJSON_ArrayForEach(m, msg) {
			node_receive(n, m, now);
			fixture_check(n);
			fixture_drain(n);
			now += 40;
			node_tick(n, now);
			fixture_check(n);
		}
	fixture_drain(n);
	/* a while later: the timers, the detector and the deadline the shell asks for */
	node_tick(n, now + 1000);
	(void)node_next_deadline(n);
	(void)node_convergence(n);
	fixture_check(n);
	fixture_drain(n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node n;
	cJSON *msg;

	/* a compact payload (its long form, or a bind frame), as memberd hands it on */
	if (node_payload_compact(data, size)) {
		fixture_member(&n);
		if (data[0] == CPT_BIND)
			(void)node_receive_bind(&n, data, size, FIX_T0 + 10);
		node_receive_compact(&n, data, size, FIX_T0 + 10);
		fixture_check(&n);
		fixture_drain(&n);
		node_free(&n);
		return 0;
	}
	if ((msg = json_parse((const char *)data, size)) == NULL)
		return 0;
	fixture_member(&n);
	feed(&n, msg);
	node_free(&n);
	fixture_joining(&n);
	feed(&n, msg);
	node_free(&n);
	cJSON_Delete(msg);
	return 0;
}
