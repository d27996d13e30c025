/* relay.c: memberd's core: relays and key queries between members. */
#include <ctype.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"
#include "proto.h"

int
relay_svc_valid(const char *svc)
{
	size_t i, len = strlen(svc);

	if (len == 0 || len >= RELAY_SVC_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)svc[i]) && strchr("._-", svc[i]) == NULL)
			return 0;
	return 1;
}

int
node_relay(struct node *n, uint64_t to, const char *svc, const cJSON *body)
{
	int i = mstate_find(&n->st, to);
	cJSON *m;

	if (n->phase != PHASE_MEMBER || i < 0 || !relay_svc_valid(svc) || !cJSON_IsObject(body))
		return -1;
	m = envelope(n, MSG_RELAY, to);
	cJSON_AddStringToObject(m, "svc", svc);
	cJSON_AddItemToObject(m, "body", cJSON_Duplicate(body, 1));
	if (to == n->self.uid) {
		deliver(n, m);
		return 0;
	}
	send_to(n, n->st.m[i].address, m);
	n->relayed_out++;
	return 0;
}

cJSON **
node_relays(struct node *n, int *count)
{
	cJSON **r = n->relay_in;

	*count = n->nrelay;
	n->relay_in = NULL;
	n->nrelay = n->relaycap = 0;
	return r;
}

uint64_t
node_keys_start(struct node *n, const char *op, const char *key, cJSON *local, msec_t now)
{
	int i;

	cJSON_Delete(n->keyq.results);
	n->keyq.id = (rnd(n) & 0x1fffffffffffffULL) | 1;
	n->keyq.started = now;
	n->keyq.results = cJSON_CreateArray();
	n->keyq.expected = 1;
	cJSON_AddItemToArray(n->keyq.results, local);
	for (i = 0; i < n->st.n; i++) {
		const struct member *m = &n->st.m[i];
		cJSON *w;

		if (m->uid == n->self.uid || m->status == MS_DOWN || m->status == MS_REMOVED)
			continue;
		w = envelope(n, MSG_KEYS, m->uid);
		cJSON_AddStringToObject(w, "op", op);
		if (key != NULL)
			cJSON_AddStringToObject(w, "key", key);
		json_add_u64(w, "q", n->keyq.id);
		send_to(n, m->address, w);
		n->keyq.expected++;
	}
	return n->keyq.id;
}

cJSON **
node_keys_requests(struct node *n, int *count)
{
	cJSON **r = n->keys_in;

	*count = n->nkeys_in;
	n->keys_in = NULL;
	n->nkeys_in = n->keys_incap = 0;
	return r;
}

void
node_keys_answer(struct node *n, const cJSON *req, int ok, const char *err, cJSON *keys)
{
	struct from f;
	uint64_t q = 0;
	cJSON *w;

	if (parse_from(n, req, &f) < 0 || json_u64(req, "q", &q) < 0) {
		cJSON_Delete(keys);
		return;
	}
	w = envelope(n, MSG_KEYS_RSP, f.uid);
	json_add_u64(w, "q", q);
	cJSON_AddBoolToObject(w, "ok", ok);
	if (err != NULL)
		cJSON_AddStringToObject(w, "error", err);
	cJSON_AddItemToObject(w, "keys", keys);
	send_to(n, f.address, w);
}
