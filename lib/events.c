/* events.c: diff two membership states into MemberUp, UnreachableMember, ... */
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "json.h"
#include "proto.h"
#include "xmalloc.h"

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

/*
 * A uid -> index table of one state for the diff: memberd diffs on every
 * state change, and mstate_find is a linear search, so a diff of N members
 * was N^2 (at 200 members, ~60,000 comparisons per change, tens of changes
 * a second per node in a join storm). Open addressing, twice N slots.
 */
struct uidx {
	uint64_t *key;
	int *at;
	size_t mask;
};

static size_t
uidx_slot(const struct uidx *x, uint64_t uid)
{
	/* every bit of the uid reaches the low ones */
	return (size_t)mix64(uid) & x->mask;
}

static void
uidx_build(struct uidx *x, const struct mstate *st)
{
	size_t cap = 16, k;
	int i;

	while (st != NULL && cap < 2 * (size_t)st->n)
		cap *= 2;
	x->key = xcalloc(cap, sizeof(*x->key));
	x->at = xcalloc(cap, sizeof(*x->at));
	x->mask = cap - 1;
	for (i = 0; st != NULL && i < st->n; i++) {
		/* uid 0 is no member's: an empty slot */
		for (k = uidx_slot(x, st->m[i].uid); x->key[k] != 0 && x->key[k] != st->m[i].uid;
		    k = (k + 1) & x->mask)
			;
		if (x->key[k] == 0) {	/* the first of a uid wins, as mstate_find's */
			x->key[k] = st->m[i].uid;
			x->at[k] = i;
		}
	}
}

/* The index of uid in the state x was built from, or -1 (as mstate_find). */
static int
uidx_find(const struct uidx *x, uint64_t uid)
{
	size_t k;

	if (uid == 0)
		return -1;
	for (k = uidx_slot(x, uid); x->key[k] != 0; k = (k + 1) & x->mask)
		if (x->key[k] == uid)
			return x->at[k];
	return -1;
}

static void
uidx_free(struct uidx *x)
{
	free(x->key);
	free(x->at);
}

void
events_diff(const struct mstate *old, const struct mstate *cur, uint64_t self,
    event_cb cb, void *arg)
{
	char roles[64][CONF_ROLE_MAX];
	int i, j, nroles = 0;
	cJSON *ev;
	struct uidx xo, xc;

	uidx_build(&xo, old);
	uidx_build(&xc, cur);
	for (i = 0; old && i < old->n; i++)
		if (uidx_find(&xc, old->m[i].uid) < 0) {
			struct member m = old->m[i];

			m.status = MS_REMOVED;
			ev = event_member(CEV_MEMBER_REMOVED, &m);
			cJSON_AddStringToObject(ev, "previous_status", mstatus_name(old->m[i].status));
			cb(ev, arg);
		}
	for (i = 0; i < cur->n; i++) {
		j = old ? uidx_find(&xo, cur->m[i].uid) : -1;
		if (j >= 0 && old->m[j].status == cur->m[i].status)
			continue;
		cb(event_member(member_event[cur->m[i].status], &cur->m[i]), arg);
	}
	for (i = 0; i < cur->n; i++) {
		int was;

		if (cur->m[i].uid == self || mstate_reachable(cur, cur->m[i].uid))
			continue;
		j = old ? uidx_find(&xo, cur->m[i].uid) : -1;
		was = j < 0 || mstate_reachable(old, cur->m[i].uid);
		if (was)
			cb(event_member(CEV_UNREACHABLE, &cur->m[i]), arg);
	}
	for (i = 0; old && i < cur->n; i++) {
		if (cur->m[i].uid == self || !mstate_reachable(cur, cur->m[i].uid))
			continue;
		j = uidx_find(&xo, cur->m[i].uid);
		if (j >= 0 && !mstate_reachable(old, cur->m[i].uid))
			cb(event_member(CEV_REACHABLE, &cur->m[i]), arg);
	}
	uidx_free(&xo);
	uidx_free(&xc);
	leader_event(old, cur, NULL, self, cb, arg);
	each_role(old, roles, &nroles, 64);
	each_role(cur, roles, &nroles, 64);
	for (i = 0; i < nroles; i++)
		leader_event(old, cur, roles[i], self, cb, arg);
}
