/* actions.c: leader actions on convergence: Up, Exiting, Removed. */
#include "actions.h"
#include "json.h"

static void
add(cJSON *a, const struct member *m, enum mstatus to, int up_number)
{
	cJSON *o = cJSON_CreateObject();

	json_add_u64(o, "uid", m->uid);
	cJSON_AddStringToObject(o, "node", m->name);
	cJSON_AddStringToObject(o, "status", mstatus_name(to));
	if (to == MS_UP)
		cJSON_AddNumberToObject(o, "up_number", up_number);
	cJSON_AddItemToArray(a, o);
}

cJSON *
leader_weakly_up(const struct mstate *st, uint64_t self, int min_nr)
{
	cJSON *a = cJSON_CreateArray();
	int li = mstate_leader_for(st, NULL, self), i;

	if (li < 0 || st->m[li].uid != self || st->n < min_nr)
		return a;
	for (i = 0; i < st->n; i++)
		if (st->m[i].status == MS_JOINING && mstate_reachable(st, st->m[i].uid))
			add(a, &st->m[i], MS_WEAKLY_UP, 0);
	return a;
}

cJSON *
leader_actions(const struct mstate *st, uint64_t self, int convergence,
    const struct u64set *confirmed, int min_nr)
{
	cJSON *a = cJSON_CreateArray();
	int li = mstate_leader_for(st, NULL, self), i, up, enough;

	if (li < 0 || st->m[li].uid != self || !convergence)
		return a;
	/* min-nr-of-members counts every member, Joining ones too (as Akka) */
	enough = st->n >= min_nr;
	up = mstate_next_up_number(st);
	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];
		int reachable = mstate_reachable(st, m->uid);

		switch (m->status) {
		case MS_JOINING:
		case MS_WEAKLY_UP:
			if (enough)
				add(a, m, MS_UP, up++);
			break;
		case MS_LEAVING:
			add(a, m, MS_EXITING, 0);
			break;
		case MS_EXITING:
			if (!reachable || (confirmed && u64set_has(confirmed, m->uid)))
				add(a, m, MS_REMOVED, 0);
			break;
		case MS_DOWN:
			if (!reachable)
				add(a, m, MS_REMOVED, 0);
			break;
		default:
			break;
		}
	}
	return a;
}
