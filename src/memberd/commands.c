/* commands.c: memberd's core: control commands (join is in join.c). */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"
#include "proto.h"

int
node_find(const struct node *n, const char *target)
{
	uint64_t uid;

	/* "uid:N" names one incarnation exactly (names cannot hold ':') */
	if (strncmp(target, "uid:", 4) == 0)
		return str_to_u64(target + 4, &uid) < 0 ? -1 : mstate_find(&n->st, uid);
	if (strncmp(target, "tcp://", 6) == 0)
		return mstate_find_address(&n->st, target);
	return mstate_find_name(&n->st, target);
}

int
node_convergence(const struct node *n)
{
	return n->phase == PHASE_MEMBER &&
	    mstate_convergence(&n->st, n->self.uid, &n->exiting_confirmed);
}

static int
need_member(const struct node *n, char *err, size_t len)
{
	if (n->phase != PHASE_MEMBER) {
		snprintf(err, len, "this node is not a member of a cluster%s",
		    n->phase == PHASE_JOINING ? " yet (still joining)" : "");
		return -1;
	}
	return 0;
}

int
node_cmd_leave(struct node *n, const char *target, msec_t now, char *err, size_t len)
{
	int i;
	const struct member *m;

	if (need_member(n, err, len) < 0)
		return -1;
	i = target ? node_find(n, target) : mstate_find(&n->st, n->self.uid);
	if (i < 0) {
		snprintf(err, len, "unknown node '%s'", target);
		return -1;
	}
	m = &n->st.m[i];
	if (m->status == MS_LEAVING || m->status == MS_EXITING)
		return 0;	/* idempotent: the control REQ may be re-sent */
	if (!mstatus_allowed(m->status, MS_LEAVING)) {
		snprintf(err, len, "%s is %s and cannot leave", m->name, mstatus_name(m->status));
		return -1;
	}
	log_info("%s (%s) is leaving", m->name, m->address);
	mstate_wm(&n->st, i)->status = MS_LEAVING;
	local_change(n, now);
	return 0;
}

int
node_cmd_down(struct node *n, const char *target, msec_t now, char *err, size_t len)
{
	int i;
	const struct member *m;

	if (need_member(n, err, len) < 0)
		return -1;
	if ((i = node_find(n, target)) < 0) {
		snprintf(err, len, "unknown node '%s'", target);
		return -1;
	}
	m = &n->st.m[i];
	if (m->status == MS_DOWN)
		return 0;
	log_warnx("downing %s (%s), which is %s", m->name, m->address, mstatus_name(m->status));
	mstate_wm(&n->st, i)->status = MS_DOWN;
	m = &n->st.m[i];	/* the table was copied if another state shared it */
	u64set_del(&n->st.seen, m->uid);
	local_change(n, now);
	if (m->uid != n->self.uid)
		send_gossip(n, m);	/* tell the downed node itself */
	check_self(n, now);
	return 0;
}

/*
 * Applies the leader's decisions. The request carries the state_seq the
 * leader decided on; any change since makes it stale, and it is refused
 * whole, so a decision never applies to a view its maker did not see.
 */
int
node_cmd_leader_actions(struct node *n, const cJSON *req, msec_t now, char *err, size_t len)
{
	const cJSON *acts = cJSON_GetObjectItemCaseSensitive(req, "actions"), *a;
	struct u64set named = { 0 };	/* the members named so far */
	uint64_t seq, uid;
	int li, i, count = 0, weakly = 0;
	long up;
	enum mstatus to;
	const char *s;

	if (need_member(n, err, len) < 0)
		return -1;
	if (json_u64(req, "state_seq", &seq) < 0 || !cJSON_IsArray(acts)) {
		snprintf(err, len, "malformed leader-actions request");
		return -1;
	}
	if (seq != n->state_seq) {
		snprintf(err, len, "stale: decided on state %llu, now at %llu",
		    (unsigned long long)seq, (unsigned long long)n->state_seq);
		return -1;
	}
	(void)json_bool(req, "weakly_up", &weakly);
	li = mstate_leader_for(&n->st, NULL, n->self.uid);
	if (li < 0 || n->st.m[li].uid != n->self.uid || (!weakly && !node_convergence(n))) {
		snprintf(err, len, "this node is not the leader or there is no convergence");
		return -1;
	}
	/*
	 * Validate everything before changing anything. Each transition is
	 * checked against the status the member has now, so a member may be
	 * named once (leaderd names it once): a second action on it would apply
	 * to a status nobody checked (Joining -> Down, then -> Up), or to a
	 * member the first one removed.
	 */
	cJSON_ArrayForEach(a, acts) {
		if (json_u64(a, "uid", &uid) < 0 || (i = mstate_find(&n->st, uid)) < 0 ||
		    mstatus_parse(s = json_str(a, "status"), &to) < 0 ||
		    !mstatus_allowed(n->st.m[i].status, to) ||
		    (weakly && to != MS_WEAKLY_UP) ||
		    (to == MS_UP && json_int(a, "up_number", 1, INT_MAX - 1, &up) < 0) ||
		    u64set_has(&named, uid)) {
			u64set_free(&named);
			snprintf(err, len, "invalid leader action");
			return -1;
		}
		u64set_add(&named, uid);
	}
	u64set_free(&named);
	cJSON_ArrayForEach(a, acts) {
		json_u64(a, "uid", &uid);
		i = mstate_find(&n->st, uid);
		mstatus_parse(json_str(a, "status"), &to);
		log_info("leader: %s (%s) %s -> %s", n->st.m[i].name, n->st.m[i].address,
		    mstatus_name(n->st.m[i].status), mstatus_name(to));
		if (to == MS_REMOVED) {
			int exited = n->st.m[i].status == MS_EXITING &&
			    u64set_has(&n->exiting_confirmed, uid) && !u64set_has(&n->exit_forced, uid);

			send_to(n, n->st.m[i].address, envelope(n, MSG_REMOVED, uid));
			mstate_remove(&n->st, uid, n->wall);
			if (exited)
				mstate_tomb_exited(&n->st, uid);
			u64set_del(&n->exiting_confirmed, uid);
			u64set_del(&n->exit_forced, uid);
		} else {
			if (to == MS_UP) {
				json_int(a, "up_number", 1, INT_MAX - 1, &up);
				mstate_wm(&n->st, i)->up_number = (int)up;
			}
			mstate_wm(&n->st, i)->status = to;
		}
		count++;
	}
	if (count > 0) {
		local_change(n, now);
		check_self(n, now);
	}
	return 0;
}
