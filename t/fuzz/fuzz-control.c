/*
 * fuzz-control.c: memberd's control socket (control_dispatch,
 * src/memberd/control.c) fed requests, as memberd's REP socket receives them
 * from the tools and leaderd.
 *
 * The input is parsed with json_parse (a request that is no JSON reaches
 * control_dispatch as NULL, as in memberd) and answered by the two nodes of
 * fixture.h: the member, which is the leader of a converged cluster at
 * state_seq FIX_STATE_SEQ, so leader-actions can apply, and the node
 * waiting for its welcome (join, leave and down mean other things there).
 * A JSON array is answered whole first, then element by element, with
 * memberd's bookkeeping (events, outbox, timers) in between. Every answer is
 * printed, as memberd sends it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "control.h"
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
answer(struct node *n, const cJSON *req, msec_t now)
{
	cJSON *rsp = control_dispatch(n, req, 42, now);
	char *text;

	if (rsp == NULL || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(rsp, "ok")))
		abort();	/* every request gets an answer that says ok or not */
	text = json_print(rsp);
	cJSON_free(text);
	cJSON_Delete(rsp);
	fixture_check(n);
	fixture_drain(n);
}

static void
feed(struct node *n, const cJSON *req)
{
	const cJSON *r;
	msec_t now = FIX_T0 + 10;

	answer(n, req, now);
	if (cJSON_IsArray(req))
		cJSON_ArrayForEach(r, req) {
			answer(n, r, now);
			now += 40;
			node_tick(n, now);
			fixture_check(n);
			fixture_drain(n);
		}
	node_tick(n, now + 1000);
	fixture_check(n);
	fixture_drain(n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node n;
	cJSON *req = json_parse((const char *)data, size);

	fixture_member(&n);
	feed(&n, req);
	node_free(&n);
	fixture_joining(&n);
	feed(&n, req);
	node_free(&n);
	cJSON_Delete(req);
	return 0;
}
