/* events.c: diff two membership states into MemberUp, UnreachableMember, ... */
#include <string.h>

#include "events.h"
#include "json.h"
#include "proto.h"

static const char *member_event[MS_NSTATUS] = {
	[MS_JOINING] = CEV_MEMBER_JOINED, [MS_WEAKLY_UP] = CEV_MEMBER_WEAKLY_UP,
	[MS_UP] = CEV_MEMBER_UP, [MS_LEAVING] = CEV_MEMBER_LEFT,
	[MS_EXITING] = CEV_MEMBER_EXITED, [MS_DOWN] = CEV_MEMBER_DOWNED,
	[MS_REMOVED] = CEV_MEMBER_REMOVED,
};

cJSON *
event_member(const char *type, const struct member *m)
{
	cJSON *ev = cJSON_CreateObject(), *fields = member_to_json(m), *f;

	cJSON_AddStringToObject(ev, "type", type);
	while ((f = fields->child) != NULL)
		cJSON_AddItemToObject(ev, f->string, cJSON_DetachItemViaPointer(fields, f));
	cJSON_Delete(fields);
	return ev;
}

static void
leader_event(const struct mstate *old, const struct mstate *cur, const char *role,
    uint64_t self, event_cb cb, void *arg)
{
	int lo = old ? mstate_leader_for(old, role, self) : -1;
	int ln = mstate_leader_for(cur, role, self);
	const char *a = lo >= 0 ? old->m[lo].name : NULL;
	const char *b = ln >= 0 ? cur->m[ln].name : NULL;
	cJSON *ev;

	if ((a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0))
		return;
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", role ? CEV_ROLE_LEADER_CHANGED : CEV_LEADER_CHANGED);
	if (role)
		cJSON_AddStringToObject(ev, "role", role);
	if (b)
		cJSON_AddStringToObject(ev, "leader", b);
	else
		cJSON_AddNullToObject(ev, "leader");
	cb(ev, arg);
}

/* Calls fn for each distinct role of the members of st. */
static void
each_role(const struct mstate *st, char seen[][CONF_ROLE_MAX], int *nseen, int max)
{
	const char *p;
	char r[CONF_ROLE_MAX];
	int i, k;

	for (i = 0; st && i < st->n; i++) {
		p = st->m[i].roles;
		while (roles_next(&p, r, sizeof(r))) {
			for (k = 0; k < *nseen; k++)
				if (strcmp(seen[k], r) == 0)
					break;
			if (k == *nseen && *nseen < max)
				strcpy(seen[(*nseen)++], r);
		}
	}
}

void
events_diff(const struct mstate *old, const struct mstate *cur, uint64_t self,
    event_cb cb, void *arg)
{
	char roles[64][CONF_ROLE_MAX];
	int i, j, nroles = 0;
	cJSON *ev;

	for (i = 0; old && i < old->n; i++)
		if (mstate_find(cur, old->m[i].uid) < 0) {
			struct member m = old->m[i];

			m.status = MS_REMOVED;
			ev = event_member(CEV_MEMBER_REMOVED, &m);
			cJSON_AddStringToObject(ev, "previous_status", mstatus_name(old->m[i].status));
			cb(ev, arg);
		}
	for (i = 0; i < cur->n; i++) {
		j = old ? mstate_find(old, cur->m[i].uid) : -1;
		if (j >= 0 && old->m[j].status == cur->m[i].status)
			continue;
		cb(event_member(member_event[cur->m[i].status], &cur->m[i]), arg);
	}
	for (i = 0; i < cur->n; i++) {
		int was;

		if (cur->m[i].uid == self || mstate_reachable(cur, cur->m[i].uid))
			continue;
		j = old ? mstate_find(old, cur->m[i].uid) : -1;
		was = j < 0 || mstate_reachable(old, cur->m[i].uid);
		if (was)
			cb(event_member(CEV_UNREACHABLE, &cur->m[i]), arg);
	}
	for (i = 0; old && i < cur->n; i++) {
		if (cur->m[i].uid == self || !mstate_reachable(cur, cur->m[i].uid))
			continue;
		j = mstate_find(old, cur->m[i].uid);
		if (j >= 0 && !mstate_reachable(old, cur->m[i].uid))
			cb(event_member(CEV_REACHABLE, &cur->m[i]), arg);
	}
	leader_event(old, cur, NULL, self, cb, arg);
	each_role(old, roles, &nroles, 64);
	each_role(cur, roles, &nroles, 64);
	for (i = 0; i < nroles; i++)
		leader_event(old, cur, roles[i], self, cb, arg);
}
