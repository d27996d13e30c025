/* receive.c: memberd's core: checks each message, hands it on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"
#include "proto.h"
#include "xmalloc.h"

int
parse_from(struct node *n, const cJSON *msg, struct from *f)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(msg, "from");

	f->name = json_str(o, "node");
	f->address = json_str(o, "address");
	if (f->name == NULL || f->address == NULL || json_u64(o, "uid", &f->uid) < 0 ||
	    strlen(f->name) >= CONF_NAME_MAX || strlen(f->address) >= CONF_ADDR_MAX ||
	    strncmp(f->address, "tcp://", 6) != 0 || f->uid == 0)
		return -1;
	f->mi = mstate_find(&n->st, f->uid);
	return 0;
}

void
node_receive_foreign(struct node *n, const cJSON *msg, const char *cluster, msec_t now)
{
	struct from f;
	const char *t;
	char why[256];
	cJSON *w;
	long v;
	int i;

	(void)now;
	n->dropped.cluster++;
	if (!cJSON_IsObject(msg) || json_int(msg, "v", 0, 1000000, &v) < 0 ||
	    v != PROTO_VERSION || (t = json_str(msg, "t")) == NULL || parse_from(n, msg, &f) < 0)
		return;
	if (strcmp(t, MSG_JOIN) != 0 && strcmp(t, MSG_INIT_JOIN) != 0)
		return;
	snprintf(why, sizeof(why), "cluster \"%s\" is not \"%s\"", cluster, n->cfg->cluster_name);
	for (i = 0; i < n->nforeign_said; i++)
		if (strcmp(n->foreign_said[i], f.address) == 0)
			break;
	if (i == n->nforeign_said) {
		log_warnx("join refused: %s (%s) asked to join, but %s", f.name, f.address, why);
		if (n->nforeign_said < (int)(sizeof(n->foreign_said) / sizeof(n->foreign_said[0])))
			n->nforeign_said++;
		else
			memmove(n->foreign_said[0], n->foreign_said[1],
			    sizeof(n->foreign_said) - sizeof(n->foreign_said[0]));
		snprintf(n->foreign_said[n->nforeign_said - 1], CONF_ADDR_MAX, "%s", f.address);
	}
	w = envelope(n, MSG_JOIN_REFUSED, f.uid);
	cJSON_AddStringToObject(w, "reason", why);
	send_to(n, f.address, w);
	snprintf(n->out[n->nout - 1].cluster, sizeof(n->out[n->nout - 1].cluster), "%s", cluster);
}

/*
 * A node of another protocol version (a rolling upgrade half done) gets
 * nothing from us and we take nothing from it; say so, naming both
 * versions, once a minute per version, so the operator sees why it does
 * not join.
 */
static void
refused_version(struct node *n, const cJSON *msg, long v, msec_t now)
{
	struct from f;

	if (v == n->version_said && n->version_said_at > 0 &&
	    now - n->version_said_at < 60 * 1000)
		return;
	n->version_said = v;
	n->version_said_at = now > 0 ? now : 1;
	if (parse_from(n, msg, &f) == 0)
		log_warnx("refused a message of protocol version %ld from %s (%s): "
		    "this node speaks version %d", v, f.name, f.address, PROTO_VERSION);
	else
		log_warnx("refused a message of protocol version %ld: this node speaks version %d",
		    v, PROTO_VERSION);
}

void
node_receive(struct node *n, const cJSON *msg, msec_t now)
{
	struct from f;
	const char *t;
	uint64_t to = 0, seq;
	long v;

	if (!cJSON_IsObject(msg) || json_int(msg, "v", 0, 1000000, &v) < 0 ||
	    (t = json_str(msg, "t")) == NULL) {
		n->dropped.malformed++;
		return;
	}
	if (v != PROTO_VERSION) {
		n->dropped.version++;
		refused_version(n, msg, v, now);
		return;
	}
	if (parse_from(n, msg, &f) < 0 || json_u64(msg, "n", &seq) < 0 || seq == 0) {
		n->dropped.malformed++;
		return;
	}
	/* our own messages never come back to us but as replays */
	if (f.uid == n->self.uid || !fresh_n(n, f.uid, seq, now)) {
		n->dropped.replayed++;
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(msg, "to") != NULL) {
		if (json_u64(msg, "to", &to) < 0) {
			n->dropped.malformed++;
			return;
		}
		if (to != n->self.uid) {
			n->dropped.stale++;	/* meant for an earlier incarnation */
			return;
		}
	}
	/* "cv": the compact forms the sender reads (doc/PROTOCOL.md, "Compact digests") */
	if (cJSON_GetObjectItemCaseSensitive(msg, "cv") != NULL) {
		long cv;

		if (json_int(msg, "cv", 1, 255, &cv) < 0) {
			n->dropped.malformed++;
			return;
		}
		if (cv >= CPT_VERSION)
			compact_peer_note(n, f.uid);
	}
	if (n->phase == PHASE_SHUTDOWN)
		return;
	if (strcmp(t, MSG_HEARTBEAT) == 0) {
		const cJSON *compact = cJSON_GetObjectItemCaseSensitive(msg, "compact");

		if (json_u64(msg, "seq", &seq) < 0 || seq == 0 ||
		    (compact != NULL && !cJSON_IsBool(compact))) {
			n->dropped.malformed++;
			return;
		}
		on_heartbeat(n, f.uid, f.address, seq, cJSON_IsTrue(compact), now);
	} else if (strcmp(t, MSG_HEARTBEAT_RSP) == 0) {
		if (to == 0 || json_u64(msg, "seq", &seq) < 0) {
			n->dropped.malformed++;
			return;
		}
		on_heartbeat_rsp(n, f.uid, seq, 0, now);
	} else if (strcmp(t, MSG_GOSSIP) == 0) {
		if (n->phase == PHASE_MEMBER)
			on_gossip(n, msg, &f, now);
	} else if (strcmp(t, MSG_STATUS) == 0) {
		if (n->phase == PHASE_MEMBER)
			on_status(n, msg, &f, now);
	} else if (strcmp(t, MSG_JOIN) == 0)
		on_join(n, msg, &f, now);
	else if (strcmp(t, MSG_WELCOME) == 0) {
		if (to == 0) {
			n->dropped.malformed++;
			return;
		}
		on_welcome(n, msg, &f, now);
	} else if (strcmp(t, MSG_JOIN_REFUSED) == 0) {
		const char *why = json_str(msg, "reason");

		if (n->phase != PHASE_JOINING)
			return;
		if (strcmp(n->join_refused, why ? why : "?") != 0)
			log_warnx("join refused by %s (%s): %s", f.name, f.address, why ? why : "?");
		snprintf(n->join_refused, sizeof(n->join_refused), "%s", why ? why : "?");
	} else if (strcmp(t, MSG_INIT_JOIN) == 0)
		on_init_join(n, &f, now);
	else if (strcmp(t, MSG_INIT_JOIN_ACK) == 0) {
		const cJSON *maj = cJSON_GetObjectItemCaseSensitive(msg, "majority");

		if (maj != NULL && !cJSON_IsBool(maj))
			n->dropped.malformed++;
		else
			on_init_join_reply(n, &f, msg, 1, now);
	}
	else if (strcmp(t, MSG_INIT_JOIN_NACK) == 0) {
		const cJSON *cand = cJSON_GetObjectItemCaseSensitive(msg, "cand");

		const cJSON *ready = cJSON_GetObjectItemCaseSensitive(msg, "ready");

		if ((cand != NULL && (!cJSON_IsString(cand) ||
		    strlen(cand->valuestring) >= CONF_ADDR_MAX)) ||
		    (ready != NULL && !cJSON_IsBool(ready)))
			n->dropped.malformed++;
		else
			on_init_join_reply(n, &f, msg, 0, now);
	}
	else if (strcmp(t, MSG_EXITING) == 0) {
		const cJSON *forced = cJSON_GetObjectItemCaseSensitive(msg, "forced");

		if (forced != NULL && !cJSON_IsBool(forced))
			n->dropped.malformed++;
		else if (n->phase == PHASE_MEMBER)
			on_exiting(n, &f, cJSON_IsTrue(forced), now);
	} else if (strcmp(t, MSG_RELAY) == 0) {
		const char *svc = json_str(msg, "svc");

		if (svc == NULL || !relay_svc_valid(svc) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(msg, "body")))
			n->dropped.malformed++;
		else if (n->phase != PHASE_MEMBER || f.mi < 0 || to != n->self.uid)
			n->dropped.not_member++;
		else
			deliver(n, cJSON_Duplicate(msg, 1));
	} else if (strcmp(t, MSG_HELLO) == 0) {
		;	/* it opened a connection, and authenticated it */
	} else if (strcmp(t, MSG_KEYS) == 0) {
		const char *op = json_str(msg, "op");
		uint64_t q;

		if (op == NULL || json_u64(msg, "q", &q) < 0 || to == 0)
			n->dropped.malformed++;
		else if (n->phase != PHASE_MEMBER || f.mi < 0)
			n->dropped.not_member++;
		else {
			if (n->nkeys_in == n->keys_incap) {
				n->keys_incap = n->keys_incap ? 2 * n->keys_incap : 4;
				n->keys_in = xreallocarray(n->keys_in, (size_t)n->keys_incap,
				    sizeof(*n->keys_in));
			}
			n->keys_in[n->nkeys_in++] = cJSON_Duplicate(msg, 1);
		}
	} else if (strcmp(t, MSG_KEYS_RSP) == 0) {
		uint64_t q;
		const cJSON *keys = cJSON_GetObjectItemCaseSensitive(msg, "keys");
		cJSON *r;

		if (json_u64(msg, "q", &q) < 0 || to == 0 || !cJSON_IsArray(keys) ||
		    !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(msg, "ok")))
			n->dropped.malformed++;
		else if (q == n->keyq.id && q != 0 && cJSON_GetArraySize(n->keyq.results) <
		    n->keyq.expected) {
			int k;

			for (k = 0; k < cJSON_GetArraySize(n->keyq.results); k++)
				if (strcmp(json_str(cJSON_GetArrayItem(n->keyq.results, k), "node"),
				    f.name) == 0)
					return;		/* answered already */
			r = cJSON_CreateObject();
			cJSON_AddStringToObject(r, "node", f.name);
			cJSON_AddBoolToObject(r, "ok",
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ok")));
			if (json_str(msg, "error") != NULL)
				cJSON_AddStringToObject(r, "error", json_str(msg, "error"));
			cJSON_AddItemToObject(r, "keys", cJSON_Duplicate(keys, 1));
			cJSON_AddItemToArray(n->keyq.results, r);
		}
	} else if (strcmp(t, MSG_REMOVED) == 0) {
		if (to == 0) {
			n->dropped.malformed++;
			return;
		}
		if (n->phase == PHASE_MEMBER && f.mi >= 0 && f.uid != n->self.uid)
			self_removed(n, now);
		else
			n->dropped.not_member++;
	} else
		n->dropped.unknown++;
}
