/* test-actions.c: the leader's decisions on convergence. */
#include <string.h>

#include "actions.h"
#include "json.h"
#include "unit.h"

static void
add(struct mstate *st, uint64_t uid, int port, enum mstatus s, int up)
{
	struct member m;
	char name[32], addr[64];

	memset(&m, 0, sizeof(m));
	m.uid = uid;
	snprintf(name, sizeof(name), "n%llu", (unsigned long long)uid);
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
	member_set(&m, name, addr, "");
	m.status = s;
	m.up_number = up;
	mstate_add(st, &m);
	member_clear(&m);
}

/* The action for uid in a, or NULL. */
static const char *
action(const cJSON *a, uint64_t uid, long *up)
{
	const cJSON *e;
	uint64_t u;

	cJSON_ArrayForEach(e, a)
		if (json_u64(e, "uid", &u) == 0 && u == uid) {
			if (up)
				json_int(e, "up_number", 0, 1000000, up);
			return json_str(e, "status");
		}
	return NULL;
}

static void
not_leader_or_no_convergence(void)
{
	struct mstate st;
	cJSON *a;

	mstate_init(&st);
	add(&st, 1, 1, MS_UP, 1);
	add(&st, 2, 2, MS_JOINING, UPNUM_NONE);
	a = leader_actions(&st, 2, 1, NULL, 1);
	CHECK_INT(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);
	a = leader_actions(&st, 1, 0, NULL, 1);
	CHECK_INT(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);
	mstate_free(&st);
}

static void
up_in_address_order(void)
{
	struct mstate st;
	cJSON *a;
	long up = 0;

	mstate_init(&st);
	add(&st, 1, 1, MS_UP, 4);
	add(&st, 9, 3, MS_JOINING, UPNUM_NONE);
	add(&st, 8, 2, MS_WEAKLY_UP, UPNUM_NONE);
	a = leader_actions(&st, 1, 1, NULL, 1);
	CHECK_STR(action(a, 8, &up), "Up");
	CHECK_INT(up, 5);
	CHECK_STR(action(a, 9, &up), "Up");
	CHECK_INT(up, 6);
	cJSON_Delete(a);
	/* min-nr-of-members holds them back */
	a = leader_actions(&st, 1, 1, NULL, 4);
	CHECK_INT(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);
	mstate_free(&st);
}

static void
leaving_exiting_down(void)
{
	struct mstate st;
	struct u64set conf = { 0 };
	cJSON *a;

	mstate_init(&st);
	add(&st, 1, 1, MS_UP, 1);
	add(&st, 2, 2, MS_LEAVING, 2);
	add(&st, 3, 3, MS_EXITING, 3);
	add(&st, 4, 4, MS_EXITING, 4);
	add(&st, 5, 5, MS_DOWN, 5);
	add(&st, 6, 6, MS_DOWN, 6);
	reach_set(&st.reach, 1, 4, RS_UNREACHABLE);
	reach_set(&st.reach, 1, 6, RS_UNREACHABLE);
	u64set_add(&conf, 3);
	a = leader_actions(&st, 1, 1, &conf, 1);
	CHECK_STR(action(a, 2, NULL), "Exiting");
	CHECK_STR(action(a, 3, NULL), "Removed");	/* confirmed */
	CHECK_STR(action(a, 4, NULL), "Removed");	/* unreachable */
	CHECK(action(a, 5, NULL) == NULL);		/* Down but reachable: not yet */
	CHECK_STR(action(a, 6, NULL), "Removed");
	CHECK(action(a, 1, NULL) == NULL);
	cJSON_Delete(a);
	a = leader_actions(&st, 1, 1, NULL, 1);
	CHECK(action(a, 3, NULL) == NULL);		/* not confirmed, reachable */
	cJSON_Delete(a);
	mstate_free(&st);
	u64set_free(&conf);
}

static void
weakly_up(void)
{
	struct mstate st;
	cJSON *a;

	mstate_init(&st);
	add(&st, 1, 1, MS_UP, 1);
	add(&st, 2, 2, MS_UP, 2);
	add(&st, 3, 3, MS_JOINING, UPNUM_NONE);
	add(&st, 4, 4, MS_JOINING, UPNUM_NONE);
	reach_set(&st.reach, 1, 2, RS_UNREACHABLE);
	reach_set(&st.reach, 1, 4, RS_UNREACHABLE);
	a = leader_weakly_up(&st, 1, 1);
	CHECK_STR(action(a, 3, NULL), "WeaklyUp");
	CHECK(action(a, 4, NULL) == NULL);		/* unreachable joiners wait */
	CHECK_INT(cJSON_GetArraySize(a), 1);
	cJSON_Delete(a);
	a = leader_weakly_up(&st, 2, 1);
	CHECK_INT(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);
	mstate_free(&st);
}

int
main(void)
{
	RUN(not_leader_or_no_convergence);
	RUN(up_in_address_order);
	RUN(leaving_exiting_down);
	RUN(weakly_up);
	return unit_done();
}
