/* control.c: memberd's REP socket: members, status, state, snapshot, join, leave, down. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "control.h"
#include "events.h"
#include "json.h"
#include "proto.h"
#include "utf8.h"

static cJSON *
reply(int ok)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
	cJSON_AddBoolToObject(r, "ok", ok);
	return r;
}

cJSON *
control_refuse(int code, const char *msg)
{
	cJSON *r = reply(0);
	char m[512];

	/* what it quotes of the request may have been cut inside a character */
	snprintf(m, sizeof(m), "%s", msg);
	utf8_scrub(m);
	cJSON_AddStringToObject(r, "error", m);
	cJSON_AddNumberToObject(r, "code", code);
	return r;
}

cJSON *
control_members(const struct node *n)
{
	cJSON *a = cJSON_CreateArray();
	int i;

	for (i = 0; i < n->st.n; i++) {
		cJSON *m = member_to_json(&n->st.m[i]);

		cJSON_AddBoolToObject(m, "reachable", n->st.m[i].uid == n->self.uid ||
		    mstate_reachable(&n->st, n->st.m[i].uid));
		cJSON_AddItemToArray(a, m);
	}
	return a;
}

static void
add_leader(cJSON *o, const char *key, const struct node *n, const char *role)
{
	int li = mstate_leader_for(&n->st, role, n->self.uid);

	if (li >= 0)
		cJSON_AddStringToObject(o, key, n->st.m[li].name);
	else
		cJSON_AddNullToObject(o, key);
}

/*
 * The singleton guard's input (memory.c): whether this node sees a majority
 * of the members it remembers as reachable members of its cluster, and
 * `at`, the CLOCK_MONOTONIC ms up to which that view is current: now, or
 * the tick the loop planned if it is late (node.h, view_until). singletond
 * dates its lease from the last view that showed a majority, not from when
 * it got to read it.
 */
static void
add_majority(cJSON *r, const struct node *n)
{
	int have, of, ok = node_majority(n, &have, &of);
	cJSON *q = cJSON_AddObjectToObject(r, "majority");
	msec_t at = clock_mono_ms();

	cJSON_AddBoolToObject(q, "ok", ok);
	cJSON_AddNumberToObject(q, "reachable", have);
	cJSON_AddNumberToObject(q, "remembered", of);
	if (n->view_until > 0 && n->view_until < at)
		at = n->view_until;
	cJSON_AddNumberToObject(q, "at", (double)at);
}

/*
 * The failure detector's view of each member this node heartbeats: phi
 * now (capped: it grows without bound while a member is silent), the mean
 * and deviation of the heartbeat intervals, and the time since the last.
 */
static void
add_monitored(cJSON *r, const struct node *n, msec_t now)
{
	cJSON *a = cJSON_AddArrayToObject(r, "monitored"), *o;
	const struct monitor *mo;
	double phi;
	int i, mi;

	for (i = 0; i < n->nmon; i++) {
		mo = &n->mon[i];
		if ((mi = mstate_find(&n->st, mo->uid)) < 0)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "node", n->st.m[mi].name);
		phi = phi_value(&mo->fd, now);
		cJSON_AddNumberToObject(o, "phi", phi < 1000 ? phi : 1000);
		cJSON_AddNumberToObject(o, "interval_ms", phi_mean(&mo->fd));
		cJSON_AddNumberToObject(o, "stddev_ms", phi_stddev(&mo->fd));
		if (mo->fd.last >= 0)
			cJSON_AddNumberToObject(o, "last_ms", (double)(now - mo->fd.last));
		else
			cJSON_AddNullToObject(o, "last_ms");
		cJSON_AddItemToArray(a, o);
	}
}

static void
add_traffic(cJSON *d, const struct node *n)
{
	static const char *kinds[TK_N] = { "gossip", "heartbeat", "relay", "other" };
	cJSON *by = cJSON_AddObjectToObject(d, "by_type"), *o;
	int k;

	for (k = 0; k < TK_N; k++) {
		o = cJSON_AddObjectToObject(by, kinds[k]);
		cJSON_AddNumberToObject(o, "sent_messages", (double)n->sent_by[k].msgs);
		cJSON_AddNumberToObject(o, "sent_bytes", (double)n->sent_by[k].bytes);
		cJSON_AddNumberToObject(o, "received_messages", (double)n->recv_by[k].msgs);
		cJSON_AddNumberToObject(o, "received_bytes", (double)n->recv_by[k].bytes);
	}
}

static cJSON *
status(const struct node *n, msec_t now)
{
	cJSON *r = reply(1), *rl, *un, *d;
	char roles[64][CONF_ROLE_MAX];
	int i, j, k, nroles = 0;

	cJSON_AddStringToObject(r, "self", n->self.name);
	json_add_u64(r, "uid", n->self.uid);
	cJSON_AddStringToObject(r, "phase", n->phase == PHASE_MEMBER ? "member" :
	    n->phase == PHASE_JOINING ? "joining" : n->phase == PHASE_IDLE ? "idle" : "shutdown");
	cJSON_AddStringToObject(r, "cluster", n->cfg->cluster_name);
	if (n->phase == PHASE_JOINING && n->join_refused[0] != '\0')
		cJSON_AddStringToObject(r, "join_refused", n->join_refused);
	add_leader(r, "leader", n, NULL);
	i = mstate_oldest(&n->st, NULL);
	if (i >= 0)
		cJSON_AddStringToObject(r, "oldest", n->st.m[i].name);
	else
		cJSON_AddNullToObject(r, "oldest");
	rl = cJSON_AddObjectToObject(r, "role_leaders");
	for (i = 0; i < n->st.n; i++) {
		const char *p = n->st.m[i].roles;

		while (*p) {
			const char *e = strchr(p, ',');
			size_t l = e ? (size_t)(e - p) : strlen(p);

			if (l > 0 && l < CONF_ROLE_MAX && nroles < 64) {
				char role[CONF_ROLE_MAX];

				memcpy(role, p, l);
				role[l] = '\0';
				for (k = 0; k < nroles && strcmp(roles[k], role) != 0; k++)
					;
				if (k == nroles) {
					strcpy(roles[nroles++], role);
					add_leader(rl, role, n, role);
				}
			}
			if (e == NULL)
				break;
			p = e + 1;
		}
	}
	cJSON_AddBoolToObject(r, "convergence", node_convergence(n));
	add_majority(r, n);
	cJSON_AddItemToObject(r, "members", control_members(n));
	un = cJSON_AddArrayToObject(r, "unreachable");
	for (i = 0; i < n->st.n; i++) {
		cJSON *u, *obs;

		if (mstate_reachable(&n->st, n->st.m[i].uid))
			continue;
		u = cJSON_CreateObject();
		cJSON_AddStringToObject(u, "node", n->st.m[i].name);
		cJSON_AddStringToObject(u, "address", n->st.m[i].address);
		cJSON_AddStringToObject(u, "status", mstatus_name(n->st.m[i].status));
		obs = cJSON_AddArrayToObject(u, "observed_by");
		for (j = 0; j < n->st.reach.n; j++) {
			const struct reach_record *rr = &n->st.reach.r[j];
			int oi;

			if (rr->subject != n->st.m[i].uid || rr->status == RS_REACHABLE ||
			    (oi = mstate_find(&n->st, rr->observer)) < 0)
				continue;
			cJSON_AddItemToArray(obs, cJSON_CreateString(n->st.m[oi].name));
		}
		cJSON_AddItemToArray(un, u);
	}
	d = cJSON_AddObjectToObject(r, "dropped");
	cJSON_AddNumberToObject(d, "malformed", (double)n->dropped.malformed);
	cJSON_AddNumberToObject(d, "oversized", (double)n->dropped.oversized);
	cJSON_AddNumberToObject(d, "unauthenticated", (double)n->dropped.unauthenticated);
	cJSON_AddNumberToObject(d, "version", (double)n->dropped.version);
	cJSON_AddNumberToObject(d, "unknown", (double)n->dropped.unknown);
	cJSON_AddNumberToObject(d, "stale", (double)n->dropped.stale);
	cJSON_AddNumberToObject(d, "not_member", (double)n->dropped.not_member);
	cJSON_AddNumberToObject(d, "replayed", (double)n->dropped.replayed);
	cJSON_AddNumberToObject(d, "cluster", (double)n->dropped.cluster);
	cJSON_AddNumberToObject(d, "control", (double)n->dropped_ctl);
	d = cJSON_AddObjectToObject(r, "traffic");
	cJSON_AddNumberToObject(d, "sent_messages", (double)n->sent_msgs);
	cJSON_AddNumberToObject(d, "sent_bytes", (double)n->sent_bytes);
	cJSON_AddNumberToObject(d, "received_messages", (double)n->recv_msgs);
	cJSON_AddNumberToObject(d, "received_bytes", (double)n->recv_bytes);
	cJSON_AddNumberToObject(d, "relayed_out", (double)n->relayed_out);
	cJSON_AddNumberToObject(d, "relayed_in", (double)n->relayed_in);
	cJSON_AddNumberToObject(d, "relay_refused", (double)n->relay_refused);
	add_traffic(d, n);
	cJSON_AddItemToObject(r, "compact", node_compact_json(n));
	/* the gossip's full states and statuses sent, by why (gossip.c) */
	cJSON_AddItemToObject(r, "gossip", node_gossip_json(&n->ss, 1));
	/* doc/PROTOCOL.md, "Partial welcomes": what this node let in, and whether it waits */
	d = cJSON_AddObjectToObject(r, "welcomes");
	cJSON_AddNumberToObject(d, "full", (double)n->welcomes_full);
	cJSON_AddNumberToObject(d, "partial", (double)n->welcomes_partial);
	cJSON_AddBoolToObject(d, "waiting_for_state", node_partial(n));
	if (n->wire != NULL) {
		const struct wire_stats *w = n->wire;

		d = cJSON_AddObjectToObject(r, "connections");
		cJSON_AddNumberToObject(d, "inbound", w->in);
		cJSON_AddNumberToObject(d, "outbound", w->out);
		cJSON_AddNumberToObject(d, "accepted", (double)w->accepted);
		cJSON_AddNumberToObject(d, "evicted", (double)w->evicted);
		cJSON_AddNumberToObject(d, "refused", (double)w->refused);
		cJSON_AddNumberToObject(d, "preauth_timeout", (double)w->preauth_timeout);
		cJSON_AddNumberToObject(d, "oversized", (double)w->oversized);
		cJSON_AddNumberToObject(d, "fd_exhausted", (double)w->emfile);
		cJSON_AddNumberToObject(d, "connects", (double)w->connects);
		cJSON_AddNumberToObject(d, "connect_failed", (double)w->connect_failed);
		cJSON_AddNumberToObject(d, "unsent", (double)w->unsent);
		cJSON_AddNumberToObject(d, "drained", (double)w->drained);
		/* answers on the opener's connection (doc/PROTOCOL.md) */
		cJSON_AddNumberToObject(d, "borrowed", (double)w->borrowed);
		cJSON_AddNumberToObject(d, "read_back", (double)w->back_marked);
		cJSON_AddNumberToObject(d, "rebound", (double)w->rebound);
		/* frames per system call: what batching saves */
		cJSON_AddNumberToObject(d, "frames_out", (double)w->frames_out);
		cJSON_AddNumberToObject(d, "writes", (double)w->writes);
		cJSON_AddNumberToObject(d, "frames_in", (double)w->frames_in);
		cJSON_AddNumberToObject(d, "reads", (double)w->reads);
	}
	add_monitored(r, n, now);
	return r;
}

static void
add_event(cJSON *ev, void *arg)
{
	cJSON_AddItemToArray((cJSON *)arg, ev);
}

cJSON *
control_malformed(struct node *n, const char *why)
{
	char msg[256];

	n->dropped_ctl++;
	snprintf(msg, sizeof(msg), "malformed request: %s", why);
	return control_refuse(2, msg);
}

cJSON *
control_dispatch(struct node *n, const cJSON *req, uint64_t event_seq, msec_t now)
{
	const char *cmd, *arg;
	char err[256];
	cJSON *r;
	long v;

	if (!cJSON_IsObject(req) || json_int(req, "v", 0, 1000000, &v) < 0 ||
	    (cmd = json_str(req, "cmd")) == NULL) {
		n->dropped_ctl++;
		return control_refuse(2, "malformed request");
	}
	if (v != PROTO_VERSION) {
		n->dropped_ctl++;
		return control_refuse(2, "protocol version mismatch: upgrade the tools and daemons together");
	}
	if (strcmp(cmd, CTL_PING) == 0)
		return reply(1);
	if (strcmp(cmd, CTL_MEMBERS) == 0) {
		r = reply(1);
		cJSON_AddItemToObject(r, "members", control_members(n));
		return r;
	}
	if (strcmp(cmd, CTL_STATUS) == 0)
		return status(n, now);
	if (strcmp(cmd, CTL_STATE) == 0) {
		uint64_t have;
		int li, leader, if_leader = 0;

		r = reply(1);
		json_add_u64(r, "state_seq", n->state_seq);
		json_add_u64(r, "self", n->self.uid);
		cJSON_AddBoolToObject(r, "member", n->phase == PHASE_MEMBER);
		cJSON_AddBoolToObject(r, "shutdown", n->phase == PHASE_SHUTDOWN);
		cJSON_AddNumberToObject(r, "exit_code", n->exit_code);
		cJSON_AddBoolToObject(r, "convergence", node_convergence(n));
		add_majority(r, n);
		li = mstate_leader_for(&n->st, NULL, n->self.uid);
		leader = li >= 0 && n->st.m[li].uid == n->self.uid;
		cJSON_AddBoolToObject(r, "leader", leader);
		cJSON_AddNumberToObject(r, "members", n->st.n);
		/*
		 * leaderd asks every second while it waits: the same state is not
		 * printed again. And a leaderd that needs the state only to lead
		 * (no downing strategy) asks with if_leader: on every other node
		 * (all but one) the state is left out, which was most of a join
		 * storm's control traffic (a full state printed and parsed per
		 * change per node).
		 */
		if (json_u64(req, "unless_seq", &have) == 0 && have == n->state_seq)
			cJSON_AddBoolToObject(r, "unchanged", 1);
		else if (!leader && json_bool(req, "if_leader", &if_leader) == 0 && if_leader)
			cJSON_AddBoolToObject(r, "not_leader", 1);
		else
			cJSON_AddItemToObject(r, "state", mstate_to_json(&n->st));
		cJSON_AddItemToObject(r, "exiting_confirmed", u64set_to_json(&n->exiting_confirmed));
		return r;
	}
	if (strcmp(cmd, CTL_SNAPSHOT) == 0) {
		r = reply(1);
		json_add_u64(r, "seq", event_seq);
		{
			cJSON *evs = cJSON_AddArrayToObject(r, "events");
			int i;

			events_diff(NULL, &n->st, n->self.uid, add_event, evs);
			for (i = 0; i < n->nsgrun; i++) {
				cJSON *e = cJSON_CreateObject();

				cJSON_AddStringToObject(e, "type", CEV_SINGLETON_STARTED);
				cJSON_AddStringToObject(e, "name", n->sgrun[i].name);
				cJSON_AddStringToObject(e, "node", n->sgrun[i].node);
				cJSON_AddItemToArray(evs, e);
			}
		}
		return r;
	}
	arg = json_str(req, "node");
	if (strcmp(cmd, CTL_JOIN) == 0) {
		/* it becomes a peer socket's endpoint: an ipc:// path of 108 bytes aborts nanomsg */
		if ((arg = json_str(req, "address")) == NULL || !config_address_valid(arg))
			return control_refuse(2, "join needs an address tcp://HOST:PORT");
		if (node_cmd_join(n, arg, now, err, sizeof(err)) < 0)
			return control_refuse(1, err);
		return reply(1);
	}
	if (strcmp(cmd, CTL_LEAVE) == 0) {
		if (node_cmd_leave(n, arg, now, err, sizeof(err)) < 0)
			return control_refuse(1, err);
		return reply(1);
	}
	if (strcmp(cmd, CTL_DOWN) == 0) {
		if (arg == NULL)
			return control_refuse(2, "down needs a node");
		if (node_cmd_down(n, arg, now, err, sizeof(err)) < 0)
			return control_refuse(1, err);
		return reply(1);
	}
	if (strcmp(cmd, CTL_HOLD_EXIT) == 0) {
		const char *svc = json_str(req, "svc");
		long ms;

		long pid = 0;

		if (svc == NULL || !relay_svc_valid(svc) || json_int(req, "ms", 0, 60000, &ms) < 0 ||
		    (cJSON_GetObjectItemCaseSensitive(req, "pid") != NULL &&
		    json_int(req, "pid", 1, 1L << 30, &pid) < 0))
			return control_refuse(2, "hold-exit needs svc, ms (0..60000) and optionally pid");
		node_hold_exit(n, svc, ms > 0 ? now + ms : 0, (int)pid, now);
		return reply(1);
	}
	if (strcmp(cmd, CTL_LEADER_ACTIONS) == 0) {
		if (node_cmd_leader_actions(n, req, now, err, sizeof(err)) < 0)
			return control_refuse(1, err);
		return reply(1);
	}
	n->dropped_ctl++;
	snprintf(err, sizeof(err), "unknown command '%s'", cmd);
	return control_refuse(2, err);
}
