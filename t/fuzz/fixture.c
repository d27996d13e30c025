/* fixture.c: memberd's core in plausible states for the fuzz targets (see fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "fixture.h"
#include "json.h"
#include "proto.h"

static const char config_text[] =
	"[node]\nname = n1\naddress = tcp://127.0.0.1:7401\nroles = backend\n"
	"run-dir = /tmp/akc-fuzz\nstate-dir = /tmp/akc-fuzz\n"
	"[cluster]\nseed-nodes = tcp://127.0.0.1:7401, tcp://127.0.0.1:7402, tcp://127.0.0.1:7403\n"
	"gossip-interval = 100ms\nseed-node-timeout = 300ms\n"
	"[failure-detector]\nheartbeat-interval = 100ms\nacceptable-heartbeat-pause = 300ms\n"
	"monitored-by-nr-of-members = 2\n"
	"[downing]\nstrategy = keep-majority\n"
	"[singleton.master]\nrole = backend\ncommand = master\n";

#define FROM_N2	"\"from\":{\"node\":\"n2\",\"address\":\"tcp://127.0.0.1:7402\",\"uid\":\"1002\"}"

/*
 * "n" (the sender's message counter) and the ack's "nonce" are fields of
 * the protocol on main since the new transport; here they are ignored.
 * n2's messages in the seed corpus count on from 3. The welcome's state is
 * in the compact wire form (PROTO_VERSION 2, doc/PROTOCOL.md "State").
 */
static const char ack_text[] =
	"{\"v\":2,\"t\":\"init-join-ack\"," FROM_N2 ",\"n\":\"1\",\"to\":\"1001\","
	"\"majority\":true,\"nonce\":\"77\"}";
static const char welcome_text[] =
	"{\"v\":2,\"t\":\"welcome\"," FROM_N2 ",\"n\":\"2\",\"to\":\"1001\",\"state\":{\"members\":"
	"\"1001 n1 tcp://127.0.0.1:7401 U backend 1 1002 n2 tcp://127.0.0.1:7402 U backend 2 "
	"1003 n3 tcp://127.0.0.1:7403 U frontend 3 1004 n4 tcp://127.0.0.1:7404 J  - "
	"1005 n5 tcp://127.0.0.1:7405 L backend 4 1006 n6 tcp://127.0.0.1:7406 E  5 "
	"1007 n7 tcp://127.0.0.1:7407 D backend,frontend 6\","
	"\"version\":\"0:3 1:7 4:1\",\"seen\":\"f7\",\"reach_versions\":\"\",\"reach\":\"\","
	"\"tombstones\":\"999:1699999000000:1\"}}";

static struct akc_config cfg;
static cJSON *ack, *welcome;
static struct mstate published;		/* what the shell last published as events */
static uint64_t published_seq;

void
fixture_init(void)
{
	FILE *f = fmemopen((void *)config_text, sizeof(config_text) - 1, "r");

	if (f == NULL || config_read(f, "fixture", &cfg) != 0)
		abort();
	fclose(f);
	ack = json_parse(ack_text, sizeof(ack_text) - 1);
	welcome = json_parse(welcome_text, sizeof(welcome_text) - 1);
	if (ack == NULL || welcome == NULL)
		abort();
}

void
fixture_free(void)
{
	cJSON_Delete(ack);
	cJSON_Delete(welcome);
	mstate_free(&published);
}

void
fixture_joining(struct node *n)
{
	node_init(n, &cfg, FIX_SELF, FIX_T0);
	n->wall = FIX_WALL;
	node_start(n, FIX_T0);
	node_tick(n, FIX_T0);
	node_receive(n, ack, FIX_T0 + 1);
	if (n->phase != PHASE_JOINING || n->join_target[0] == '\0')
		abort();
	mstate_copy(&published, &n->st);
	published_seq = n->state_seq;
	fixture_drain(n);
}

void
fixture_member(struct node *n)
{
	fixture_joining(n);
	node_receive(n, welcome, FIX_T0 + 2);
	node_tick(n, FIX_T0 + 3);
	if (n->phase != PHASE_MEMBER || !node_convergence(n) || n->st.n != 7)
		abort();
	fixture_drain(n);
	n->state_seq = published_seq = FIX_STATE_SEQ;
}

static void
publish(cJSON *ev, void *arg)
{
	char *text = json_print(ev);

	(void)arg;
	cJSON_free(text);
	cJSON_Delete(ev);
}

static void broken(const char *what);

static void check_msg(const struct node *, const cJSON *m);

/*
 * A message the core sends must pass the checks of the node receiving it:
 * one that a peer would drop as malformed is a bug of the sender. A JSON
 * message is checked as its receiver gets it, printed and parsed (a full
 * state is a raw item in the outbox: its text printed once a version).
 */
static void
check_out(const struct node *n, const struct outmsg *o)
{
	char *text;
	cJSON *m;

	if (strncmp(o->address, "tcp://", 6) != 0)
		broken("a message to an address that is not tcp://");
	if (o->msg == NULL) {
		struct compact c;

		if (!node_payload_compact(o->bin, o->blen) || node_compact_type(o->bin, o->blen) == NULL ||
		    o->blen > CPT_MAX || compact_decode(o->bin, o->blen, &c) < 0 ||
		    c.kind == CPT_BIND || (o->bind_to != 0 && o->bind_to != c.to))
			broken("a compact payload its receiver refuses");
		return;
	}
	text = json_print(o->msg);
	if ((m = json_parse(text, strlen(text))) == NULL)
		broken("a message its receiver cannot parse");
	check_msg(n, m);
	cJSON_Delete(m);
	cJSON_free(text);
}

static void
check_msg(const struct node *n, const cJSON *m)
{
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(m, "from");
	const char *t = json_str(m, "t");
	struct mstate st;
	struct member mb;
	struct vclock vc = { 0 };
	struct u64set seen = { 0 };
	uint64_t u;
	long v;

	if (!cJSON_IsObject(m) || json_int(m, "v", 0, 1000000, &v) < 0 || v != PROTO_VERSION ||
	    t == NULL || json_str(from, "node") == NULL || json_str(from, "address") == NULL ||
	    json_u64(from, "uid", &u) < 0 || u == 0 ||
	    (cJSON_GetObjectItemCaseSensitive(m, "to") != NULL && json_u64(m, "to", &u) < 0))
		broken("a message without a valid envelope");
	if (strcmp(t, MSG_GOSSIP) == 0 || strcmp(t, MSG_WELCOME) == 0) {
		mstate_init(&st);
		if (mstate_from_wire(cJSON_GetObjectItemCaseSensitive(m, "state"), &st) < 0)
			broken("a gossip or welcome whose state its receiver refuses");
		/* a partial welcome: the sender and the joiner, the empty version */
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "partial")) &&
		    (strcmp(t, MSG_WELCOME) != 0 || st.n != 2 || st.vc.n != 0))
			broken("a partial welcome its receiver refuses");
		mstate_free(&st);
	} else if (strcmp(t, MSG_JOIN) == 0) {
		if (member_from_json(cJSON_GetObjectItemCaseSensitive(m, "member"), &mb) < 0)
			broken("a join whose member its receiver refuses");
		member_clear(&mb);
	} else if (strcmp(t, MSG_STATUS) == 0 && cJSON_GetObjectItemCaseSensitive(m, "vh") == NULL) {
		/*
		 * the seen bitmap is read against the sender's own table (1: its
		 * table changed since it sent this; the receiver's check, not a bug)
		 */
		if (status_version_from_wire(m, &vc) < 0 ||
		    status_seen_from_wire(m, &n->st, &seen) < 0)
			broken("a status its receiver refuses");
		vclock_free(&vc);
		u64set_free(&seen);
	} else if (strcmp(t, MSG_RELAY) == 0) {
		if (json_str(m, "svc") == NULL || !relay_svc_valid(json_str(m, "svc")) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(m, "body")))
			broken("a relay its receiver refuses");
	}
}

void
fixture_drain(struct node *n)
{
	struct outmsg *out;
	cJSON **rel;
	int i, k;

	/* memberd publishes the events of every change of the state */
	if (n->state_seq != published_seq) {
		events_diff(&published, &n->st, n->self.uid, publish, NULL);
		mstate_copy(&published, &n->st);
		published_seq = n->state_seq;
	}
	out = node_outbox(n, &k);
	for (i = 0; i < k; i++) {
		/* what the shell does with them: print, send (checked as received), free */
		check_out(n, &out[i]);
		cJSON_Delete(out[i].msg);
	}
	rel = node_relays(n, &k);
	for (i = 0; i < k; i++)
		cJSON_Delete(rel[i]);
	free(rel);
	node_resets(n, &k);
}

static void
broken(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}

void
fixture_check(const struct node *n)
{
	const struct mstate *st = &n->st;
	int i, k;

	if (n->phase < PHASE_IDLE || n->phase > PHASE_SHUTDOWN)
		broken("phase");
	if (st->n < 0 || (st->n > 0 && (st->m == NULL || mstate_table_id(st) == 0)))
		broken("member count");
	for (i = 0; i < st->n; i++) {
		if (st->m[i].status < MS_JOINING || st->m[i].status >= MS_REMOVED)
			broken("member status");
		if (st->m[i].uid == 0)
			broken("uid 0 in the state");
		if (i > 0 && member_compare(&st->m[i - 1], &st->m[i]) >= 0)
			broken("members out of address order");
		for (k = 0; k < i; k++)
			if (st->m[k].uid == st->m[i].uid)
				broken("a uid twice in the state");
	}
	for (i = 1; i < st->vc.n; i++)
		if (st->vc.e[i - 1].node >= st->vc.e[i].node)
			broken("vector clock out of order");
	for (i = 0; i < st->seen.n; i++)
		for (k = 0; k < i; k++)
			if (st->seen.v[k] == st->seen.v[i])
				broken("a uid twice in the seen set");
}
