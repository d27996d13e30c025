/*
 * test-repl.c: the journal replication core (src/master/replcore.c) on a
 * virtual clock: recovery (promises, rejects, the grace, the best log),
 * appends in a window with cumulative acks and resends, the commit point,
 * what a stalled master says it waits for, a standby's answers, and a
 * master that sends its batch before it syncs it (overlap): it dies between
 * the two, and the events only a standby holds are taken, or kept aside.
 */
#include <stdlib.h>
#include <string.h>

#include "epochs.h"
#include "json.h"
#include "log.h"
#include "replcore.h"
#include "unit.h"

#define A	"tcp://127.0.0.1:1"
#define B	"tcp://127.0.0.1:2"
#define C	"tcp://127.0.0.1:3"

static char set3[3][CONF_ADDR_MAX] = { A, B, C };

/* A log of n events, all of epoch ep. */
struct tlog {
	struct epochs eps;
	struct rc_log lg;
};

static void
tlog_init(struct tlog *t, uint64_t n, uint64_t ep)
{
	uint64_t i;

	epochs_init(&t->eps);
	epochs_clear(&t->eps, 1);
	for (i = 1; i <= n; i++)
		epochs_note(&t->eps, i, ep);
	memset(&t->lg, 0, sizeof(t->lg));
	t->lg.seq = t->lg.durable = n;
	t->lg.last_ep = n ? ep : 0;
	t->lg.eps = &t->eps;
}

static void
tlog_grow(struct tlog *t, uint64_t n, uint64_t ep)
{
	while (t->lg.seq < n)
		epochs_note(&t->eps, ++t->lg.seq, ep);
	t->lg.durable = t->lg.seq;
	t->lg.last_ep = ep;
}

/* Events up to n journaled (epoch ep) but not synced yet: durable stays. */
static void
tlog_put(struct tlog *t, uint64_t n, uint64_t ep)
{
	while (t->lg.seq < n)
		epochs_note(&t->eps, ++t->lg.seq, ep);
	t->lg.last_ep = ep;
}

/* How many actions of type (to `to`, or anyone when to is 0) the outbox holds; the last in *out. */
static int
count(const struct rcore *c, enum rc_act_type type, uint64_t to, const struct rc_action **out)
{
	static const struct rc_action none;
	int i, n = 0;

	if (out != NULL)
		*out = &none;
	for (i = 0; i < c->nout; i++)
		if (c->out[i].type == type && (to == 0 || c->out[i].to == to)) {
			n++;
			if (out != NULL)
				*out = &c->out[i];
		}
	return n;
}

static int
sent(const struct rcore *c, uint64_t to, const char *m)
{
	int i, n = 0;

	for (i = 0; i < c->nout; i++)
		if (c->out[i].type == RC_SEND && c->out[i].to == to &&
		    strcmp(json_str(c->out[i].body, "m"), m) == 0)
			n++;
	return n;
}

/* A standby's message with our epoch; its log (for promise and need) from t. */
static cJSON *
from_sb(const struct rcore *c, const char *m, const struct tlog *t)
{
	cJSON *b = rc_msg(m);

	json_add_u64(b, "ep", c->epoch);
	if (t != NULL) {
		json_add_u64(b, "last", t->lg.seq);
		json_add_u64(b, "last_ep", t->lg.last_ep);
		cJSON_AddItemToObject(b, "eps", epochs_json(&t->eps, t->lg.seq, EPOCHS_MSG_MAX));
	}
	return b;
}

static void
deliver(struct rcore *c, struct tlog *t, uint64_t from, cJSON *b, msec_t now)
{
	rc_master_msg(c, &t->lg, from, b, now);
	cJSON_Delete(b);
}

static void
ack(struct rcore *c, struct tlog *t, uint64_t from, uint64_t last, msec_t now)
{
	cJSON *b = from_sb(c, "ack", NULL);

	json_add_u64(b, "last", last);
	json_add_u64(b, "rlast", last);
	deliver(c, t, from, b, now);
}

static void
view2(struct rcore *c, msec_t now)
{
	struct rc_member m[2] = { { 2, "n2", B }, { 3, "n3", C } };

	rc_view(c, m, 2, now);
}

/* A master on A with standbys n2 (B, uid 2) and n3 (C, uid 3), recovered at t=1000 with n2's promise. */
static void
recovered_master(struct rcore *c, struct tlog *t, int replicas)
{
	struct tlog empty;

	tlog_init(&empty, 0, 0);
	rc_init(c, A, "master", "backend", set3, 3, replicas, 42);
	view2(c, 0);
	rc_recover(c, &t->lg, 0);
	rc_tick(c, &t->lg, 0);
	rc_clear(c);
	deliver(c, t, 2, from_sb(c, "promise", &empty), 10);
	rc_tick(c, &t->lg, 20);			/* a majority: the grace begins */
	rc_tick(c, &t->lg, 20 + RC_QUORUM_GRACE);
	CHECK_INT(c->phase, RC_SERVING);
	rc_clear(c);
	epochs_free(&empty.eps);
}

static void
recovery(void)
{
	struct rcore c;
	struct tlog t, sb;
	const struct rc_action *a = NULL;
	char why[2048];
	uint64_t ep;

	tlog_init(&t, 0, 0);
	tlog_init(&sb, 0, 0);
	rc_init(&c, A, "master", "backend", set3, 3, 1, 42);
	CHECK_INT(c.quorum, 2);
	CHECK_INT(c.self_in_set, 1);
	view2(&c, 0);
	CHECK_INT(c.nsb, 2);
	rc_recover(&c, &t.lg, 0);
	CHECK_INT(c.phase, RC_PREPARING);
	ep = c.epoch;
	CHECK(ep >> RC_EPOCH_TAG_BITS == 1);		/* the first round, and a tag */
	CHECK((ep & ((1 << RC_EPOCH_TAG_BITS) - 1)) != 0);
	rc_tick(&c, &t.lg, 0);
	CHECK_INT(sent(&c, 2, "prepare"), 1);
	CHECK_INT(sent(&c, 3, "prepare"), 1);
	rc_clear(&c);
	/* not again before RC_PREPARE_EVERY */
	rc_tick(&c, &t.lg, 100);
	CHECK_INT(c.nout, 0);
	/* what it waits for: nobody answered */
	CHECK_INT(rc_waiting(&c, &t.lg, 200, why, sizeof(why)), 1);
	CHECK(strstr(why, "recovery waits for a majority of the replica set: 1 of 2 needed") != NULL);
	CHECK(strstr(why, "n2: it has role backend but no `master --standby` answers; is "
	    "[singleton.master] standby-command set there?") != NULL);
	/* a standby that promised a higher epoch: the round above it */
	{
		cJSON *r = rc_msg("reject");

		json_add_u64(r, "promised", ep + (5ULL << RC_EPOCH_TAG_BITS));
		deliver(&c, &t, 3, r, 250);
		CHECK(c.epoch > ep + (5ULL << RC_EPOCH_TAG_BITS));
		CHECK_INT(c.epoch >> RC_EPOCH_TAG_BITS, (ep >> RC_EPOCH_TAG_BITS) + 6);
	}
	rc_tick(&c, &t.lg, 260);		/* prepares of the new epoch at once */
	CHECK_INT(sent(&c, 2, "prepare"), 1);
	rc_clear(&c);
	/* a promise of the old epoch counts for nothing */
	{
		cJSON *p = from_sb(&c, "promise", &sb);

		cJSON_ReplaceItemInObjectCaseSensitive(p, "ep", cJSON_CreateString("7"));
		deliver(&c, &t, 2, p, 270);
		CHECK_INT(c.sb[0].promised, 0);
	}
	deliver(&c, &t, 2, from_sb(&c, "promise", &sb), 300);
	CHECK_INT(c.sb[0].promised, 1);
	rc_tick(&c, &t.lg, 310);		/* a majority (n1, n2): n3 gets a grace */
	CHECK_INT(count(&c, RC_PROMISE, 0, NULL), 0);
	CHECK(strstr((rc_waiting(&c, &t.lg, 310, why, sizeof(why)), why), "2 of 2 needed") != NULL);
	rc_clear(&c);
	rc_tick(&c, &t.lg, 310 + RC_QUORUM_GRACE);
	CHECK_INT(count(&c, RC_PROMISE, 0, &a), 1);
	CHECK_INT(a->ep, c.epoch);
	CHECK_INT(count(&c, RC_RECOVERED, 0, &a), 1);
	CHECK_INT(a->flag, 0);			/* nobody had a better log */
	CHECK_INT(c.phase, RC_SERVING);
	rc_clear(&c);
	epochs_free(&t.eps);
	epochs_free(&sb.eps);
}

/* A standby with a longer log of a later epoch: kept aside what parts, fetched, recovered. */
static void
best_log(void)
{
	struct rcore c;
	struct tlog t, sb;
	const struct rc_action *a = NULL;
	cJSON *batch;

	tlog_init(&t, 4, 1);
	tlog_init(&sb, 3, 1);
	tlog_grow(&sb, 6, 2);		/* 1..3 of epoch 1, 4..6 of epoch 2: it parts from ours after 3 */
	rc_init(&c, A, "master", "backend", set3, 3, 1, 7);
	view2(&c, 0);
	rc_recover(&c, &t.lg, 0);
	CHECK(c.epoch > 2);
	rc_tick(&c, &t.lg, 0);
	rc_clear(&c);
	deliver(&c, &t, 2, from_sb(&c, "promise", &sb), 10);
	deliver(&c, &t, 3, from_sb(&c, "promise", &t), 10);
	rc_tick(&c, &t.lg, 20);			/* everyone promised: no grace */
	CHECK_INT(count(&c, RC_KEEP_ASIDE, 0, &a), 1);
	CHECK_INT(a->seq, 3);
	CHECK_INT(c.phase, RC_FETCHING);
	rc_clear(&c);
	/* the shell cut the log at 3 */
	epochs_cut(&t.eps, 3);
	t.lg.seq = t.lg.durable = 3;
	rc_tick(&c, &t.lg, 30);
	CHECK_INT(sent(&c, 2, "fetch"), 1);
	CHECK_STR(json_str(c.out[0].body, "from"), "4");
	CHECK_STR(json_str(c.out[0].body, "rfrom"), "4");
	rc_clear(&c);
	CHECK(rc_waiting(&c, &t.lg, 40, (char[256]){ 0 }, 256) == 1);
	/* its answer: stored by the shell */
	batch = from_sb(&c, "batch", NULL);
	json_add_u64(batch, "last", 6);
	json_add_u64(batch, "rlast", 6);
	rc_master_msg(&c, &t.lg, 2, batch, 50);
	CHECK_INT(count(&c, RC_STORE, 2, NULL), 1);
	rc_clear(&c);
	cJSON_Delete(batch);
	tlog_grow(&t, 6, 2);
	rc_fetched(&c, 0, 6, 0);
	rc_tick(&c, &t.lg, 60);
	CHECK_INT(count(&c, RC_RECOVERED, 0, &a), 1);
	CHECK_INT(a->flag, 1);
	rc_clear(&c);
	/* n3's log (ours before the cut, 1..4 of epoch 1) parts from ours after 3: it is told to cut */
	CHECK_INT(c.sb[1].trunc_set, 1);
	CHECK_INT(c.sb[1].trunc, 3);
	rc_tick(&c, &t.lg, 70);
	CHECK_INT(count(&c, RC_APPEND, 3, &a), 1);
	CHECK_INT(a->from, 4);
	CHECK_INT(a->has_trunc, 1);
	CHECK_INT(a->prev_ep, 1);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 0);	/* n2 has it all */
	rc_clear(&c);
	epochs_free(&t.eps);
	epochs_free(&sb.eps);
}

/*
 * A late answer to a fetch sent again, carrying a whole snapshot the copy
 * already stored: dropped, not stored again (that wiped what was copied
 * after it, and the copy started over). A snapshot above our log is taken.
 */
static void
late_snapshot(void)
{
	struct rcore c;
	struct tlog t, sb;
	cJSON *batch, *sc;
	uint64_t dropped;

	tlog_init(&t, 3, 1);
	tlog_init(&sb, 3, 1);
	tlog_grow(&sb, 20, 2);		/* its log goes on in epoch 2, to 20 */
	rc_init(&c, A, "master", "backend", set3, 3, 1, 7);
	view2(&c, 0);
	rc_recover(&c, &t.lg, 0);
	rc_tick(&c, &t.lg, 0);
	rc_clear(&c);
	deliver(&c, &t, 2, from_sb(&c, "promise", &sb), 10);
	deliver(&c, &t, 3, from_sb(&c, "promise", &t), 10);
	rc_tick(&c, &t.lg, 20);
	CHECK_INT(c.phase, RC_FETCHING);
	rc_clear(&c);
	rc_tick(&c, &t.lg, 30);
	CHECK_INT(sent(&c, 2, "fetch"), 1);
	rc_clear(&c);
	/* its answer: a whole snapshot at 8, then events 9..10 */
	batch = from_sb(&c, "batch", NULL);
	json_add_u64(batch, "last", 10);
	json_add_u64(batch, "rlast", 10);
	sc = cJSON_AddObjectToObject(batch, "snapc");
	json_add_u64(sc, "seq", 8);
	json_add_u64(sc, "off", 0);
	json_add_u64(sc, "total", 2);
	cJSON_AddStringToObject(sc, "data", "{}");
	rc_master_msg(&c, &t.lg, 2, batch, 40);
	CHECK_INT(count(&c, RC_STORE, 2, NULL), 1);
	rc_clear(&c);
	tlog_grow(&t, 10, 2);		/* the shell stored it */
	rc_fetched(&c, 0, 10, 0);
	rc_tick(&c, &t.lg, 50);
	CHECK_INT(sent(&c, 2, "fetch"), 1);	/* from 11 */
	rc_clear(&c);
	/* the same answer again, late: dropped and counted */
	dropped = c.dropped;
	rc_master_msg(&c, &t.lg, 2, batch, 60);
	CHECK_INT(count(&c, RC_STORE, 0, NULL), 0);
	CHECK_INT(c.dropped, dropped + 1);
	CHECK_INT(c.phase, RC_FETCHING);
	/* a snapshot above our log (it took one since) is stored */
	cJSON_DeleteItemFromObjectCaseSensitive(sc, "seq");
	json_add_u64(sc, "seq", 15);
	rc_master_msg(&c, &t.lg, 2, batch, 70);
	CHECK_INT(count(&c, RC_STORE, 2, NULL), 1);
	rc_clear(&c);
	/* and one at our log's end, once stored, is late too */
	tlog_grow(&t, 15, 2);
	rc_master_msg(&c, &t.lg, 2, batch, 80);
	CHECK_INT(count(&c, RC_STORE, 0, NULL), 0);
	cJSON_Delete(batch);
	epochs_free(&t.eps);
	epochs_free(&sb.eps);
}

static void
window(void)
{
	struct rcore c;
	struct tlog t;
	const struct rc_action *a = NULL;
	int i;

	tlog_init(&t, 0, 0);
	recovered_master(&c, &t, 1);
	CHECK_INT(c.window, 1);
	c.window = RC_WINDOW;			/* AKC_REPL_WINDOW=4 */
	tlog_grow(&t, 5, c.epoch);
	rc_tick(&c, &t.lg, 2000);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->from, 1);
	rc_clear(&c);
	rc_sent(&c, 2, 5, 5, 0, 2000);
	rc_sent(&c, 3, 5, 5, 0, 2000);
	/* more events before n2 answered: the next append goes at once, from 6 */
	for (i = 0; i < RC_WINDOW - 1; i++) {
		tlog_grow(&t, 5 + 5 * (uint64_t)(i + 1), c.epoch);
		rc_tick(&c, &t.lg, 2001 + i);
		CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
		CHECK_INT(a->from, 6 + 5 * (uint64_t)i);
		rc_clear(&c);
		rc_sent(&c, 2, 5 + 5 * (uint64_t)(i + 1), 5 + 5 * (uint64_t)(i + 1), 0, 2001 + i);
	}
	/* the window is full */
	tlog_grow(&t, 30, c.epoch);
	rc_tick(&c, &t.lg, 2010);
	CHECK_INT(count(&c, RC_APPEND, 2, NULL), 0);
	rc_clear(&c);
	CHECK_INT(rc_commit_point(&c, &t.lg), 0);
	/* one ack covers the first three appends */
	ack(&c, &t, 2, 15, 2020);
	CHECK_INT(c.sb[0].acked, 15);
	CHECK_INT(c.sb[0].nfl, 1);
	CHECK_INT(rc_commit_point(&c, &t.lg), 15);	/* n1 and n2: a majority, and a replica */
	rc_tick(&c, &t.lg, 2030);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->from, 21);
	rc_clear(&c);
	rc_sent(&c, 2, 30, 30, 0, 2030);
	ack(&c, &t, 2, 30, 2040);
	CHECK_INT(c.sb[0].nfl, 0);
	CHECK_INT(rc_commit_point(&c, &t.lg), 30);
	/* n3 never answers: its append goes again after RC_RESEND, from what it acked (nothing) */
	CHECK_INT(c.sb[1].nfl, 1);
	rc_tick(&c, &t.lg, 2000 + RC_RESEND);
	CHECK_INT(count(&c, RC_APPEND, 3, &a), 1);
	CHECK_INT(a->from, 1);
	rc_clear(&c);
	/* a gap it reports (a lost append): from where it stands */
	{
		struct tlog sb;
		cJSON *n;

		tlog_init(&sb, 12, c.epoch);
		n = from_sb(&c, "need", &sb);
		deliver(&c, &t, 3, n, 3100);
		CHECK_INT(c.sb[1].snext, 13);
		CHECK_INT(c.sb[1].nfl, 0);
		epochs_free(&sb.eps);
	}
	/* the commit point never goes back */
	ack(&c, &t, 2, 3, 3200);
	CHECK_INT(rc_commit_point(&c, &t.lg), 30);
	rc_clear(&c);
	/* with one in flight (the default), the next waits for the ack */
	c.window = 1;
	ack(&c, &t, 2, 30, 3300);
	tlog_grow(&t, 31, c.epoch);
	rc_tick(&c, &t.lg, 3300);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	rc_clear(&c);
	rc_sent(&c, 2, 31, 31, 0, 3300);
	tlog_grow(&t, 32, c.epoch);
	rc_tick(&c, &t.lg, 3301);
	CHECK_INT(count(&c, RC_APPEND, 2, NULL), 0);
	rc_clear(&c);
	ack(&c, &t, 2, 31, 3310);
	rc_tick(&c, &t.lg, 3310);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->from, 32);
	rc_clear(&c);
	epochs_free(&t.eps);
}

static void
stall(void)
{
	struct rcore c;
	struct tlog t;
	char why[2048];

	tlog_init(&t, 0, 0);
	recovered_master(&c, &t, 2);		/* replicas = 2: n2 and n3 */
	tlog_grow(&t, 1, c.epoch);
	rc_tick(&c, &t.lg, 2000);
	rc_sent(&c, 2, 1, 1, 0, 2000);
	rc_sent(&c, 3, 1, 1, 0, 2000);
	rc_clear(&c);
	ack(&c, &t, 2, 1, 2010);
	rc_tick(&c, &t.lg, 2010);
	rc_clear(&c);
	CHECK_INT(rc_commit_point(&c, &t.lg), 0);
	/* behind, but not for long yet */
	CHECK_INT(rc_waiting(&c, &t.lg, 2500, why, sizeof(why)), 0);
	CHECK(rc_next_deadline(&c) > 2500 && rc_next_deadline(&c) <= 2010 + RC_STALL);
	rc_tick(&c, &t.lg, 2010 + RC_STALL);
	rc_clear(&c);
	CHECK_INT(rc_waiting(&c, &t.lg, 2010 + RC_STALL, why, sizeof(why)), 1);
	/* a wait goes on: no wake-up in the past (the loop would spin) */
	CHECK(rc_next_deadline(&c) < 0 || rc_next_deadline(&c) > 2010 + RC_STALL);
	CHECK_STR(why, "event 1 is not replicated yet (committed: 0): waiting for a standby on n3: it "
	    "has role backend but no `master --standby` answers; is [singleton.master] "
	    "standby-command set there?");
	/* once it answered, and then went silent: it says so */
	ack(&c, &t, 3, 0, 2100);
	rc_tick(&c, &t.lg, 9000);
	rc_clear(&c);
	CHECK_INT(rc_waiting(&c, &t.lg, 9000, why, sizeof(why)), 1);
	CHECK(strstr(why, "the standby on n3: it has not answered for 6s (it has event 0 of 1)") != NULL);
	/* it catches up: no more waiting */
	ack(&c, &t, 3, 1, 9100);
	rc_tick(&c, &t.lg, 9100);
	rc_clear(&c);
	CHECK_INT(rc_commit_point(&c, &t.lg), 1);
	CHECK_INT(rc_waiting(&c, &t.lg, 9100, why, sizeof(why)), 0);
	/* both behind: both named */
	tlog_grow(&t, 2, c.epoch);
	rc_tick(&c, &t.lg, 9200);
	rc_clear(&c);
	CHECK_INT(rc_waiting(&c, &t.lg, 9200 + RC_STALL, why, sizeof(why)), 1);
	CHECK(strstr(why, "event 2 is not replicated yet (committed: 1): waiting for the standby on "
	    "n2: it has not answered for 8s (it has event 1 of 2)") != NULL);
	CHECK(strstr(why, "; and for the standby on n3: it has event 1 of 2;") != NULL);
	CHECK(strstr(why, "; and for a majority of the replica set (1 of 2 have it): "
	    "tcp://127.0.0.1:2 (n2), tcp://127.0.0.1:3 (n3)") != NULL);
	/* a majority of the set is not enough without `replicas` standbys, and the reverse */
	ack(&c, &t, 2, 2, 9300);
	rc_tick(&c, &t.lg, 9300);
	rc_clear(&c);
	CHECK_INT(rc_commit_point(&c, &t.lg), 1);
	c.replicas = 1;
	CHECK_INT(rc_commit_point(&c, &t.lg), 2);
	epochs_free(&t.eps);
}

static void
standby(void)
{
	struct rcore c;
	struct tlog t;
	const struct rc_action *a = NULL;
	cJSON *m;

	tlog_init(&t, 0, 0);
	rc_init(&c, B, "master", "backend", set3, 3, 1, 1);
	/* a prepare: promised (written first), then the promise with our log */
	m = rc_msg("prepare");
	json_add_u64(m, "ep", 100);
	CHECK_INT(rc_standby_msg(&c, &t.lg, 1, m, 0), 0);
	cJSON_Delete(m);
	CHECK_INT(c.nout, 2);
	CHECK_INT(c.out[0].type, RC_PROMISE);
	CHECK_INT(c.out[0].ep, 100);
	CHECK_INT(sent(&c, 1, "promise"), 1);
	CHECK_STR(json_str(c.out[1].body, "last"), "0");
	rc_clear(&c);
	t.lg.promised = 100;
	/* another master, same epoch: refused */
	m = rc_msg("prepare");
	json_add_u64(m, "ep", 100);
	rc_standby_msg(&c, &t.lg, 9, m, 0);
	cJSON_Delete(m);
	CHECK_INT(sent(&c, 9, "reject"), 1);
	CHECK_STR(json_str(c.out[0].body, "promised"), "100");
	rc_clear(&c);
	/* an append that continues our log: stored, acked once synced */
	m = rc_msg("append");
	json_add_u64(m, "ep", 100);
	json_add_u64(m, "prev", 0);
	json_add_u64(m, "prev_ep", 0);
	rc_standby_msg(&c, &t.lg, 1, m, 0);
	CHECK_INT(count(&c, RC_STORE, 1, NULL), 1);
	rc_clear(&c);
	tlog_grow(&t, 3, 100);
	rc_standby_stored(&c, &t.lg, 1, 0, 0, 3, 0, 0);
	CHECK_INT(count(&c, RC_ACK, 1, &a), 1);
	CHECK_INT(a->rlast, 3);
	rc_clear(&c);
	/* the same append again (our ack was lost): acked as it stands */
	rc_standby_msg(&c, &t.lg, 1, m, 0);
	CHECK_INT(count(&c, RC_ACK, 1, &a), 1);
	CHECK_INT(a->has_trunc, 1);
	rc_clear(&c);
	cJSON_Delete(m);
	/* a gap: where we stand */
	m = rc_msg("append");
	json_add_u64(m, "ep", 100);
	json_add_u64(m, "prev", 7);
	json_add_u64(m, "prev_ep", 100);
	rc_standby_msg(&c, &t.lg, 1, m, 0);
	CHECK_INT(sent(&c, 1, "need"), 1);
	CHECK_STR(json_str(c.out[0].body, "why"), "gap");
	CHECK_STR(json_str(c.out[0].body, "last"), "3");
	rc_clear(&c);
	cJSON_Delete(m);
	/* told to cut after 1: kept aside first, then the append again */
	m = rc_msg("append");
	json_add_u64(m, "ep", 200);
	json_add_u64(m, "prev", 1);
	json_add_u64(m, "prev_ep", 100);
	json_add_u64(m, "trunc", 1);
	CHECK_INT(rc_standby_msg(&c, &t.lg, 2, m, 0), 1);
	CHECK_INT(count(&c, RC_PROMISE, 2, NULL), 1);
	CHECK_INT(count(&c, RC_KEEP_ASIDE, 2, &a), 1);
	CHECK_INT(a->seq, 1);
	rc_clear(&c);
	t.lg.promised = 200;
	epochs_cut(&t.eps, 1);
	t.lg.seq = t.lg.durable = 1;
	t.lg.has_salvage = 1;
	CHECK_INT(rc_standby_msg(&c, &t.lg, 2, m, 0), 0);
	CHECK_INT(count(&c, RC_STORE, 2, NULL), 1);
	rc_clear(&c);
	cJSON_Delete(m);
	/* a lower epoch after that: refused */
	m = rc_msg("append");
	json_add_u64(m, "ep", 100);
	json_add_u64(m, "prev", 1);
	json_add_u64(m, "prev_ep", 100);
	rc_standby_msg(&c, &t.lg, 1, m, 0);
	CHECK_INT(sent(&c, 1, "reject"), 1);
	rc_clear(&c);
	cJSON_Delete(m);
	/* the salvage goes to the master it follows, again after RC_SALVAGE_RESEND */
	rc_standby_tick(&c, &t.lg, 1000);
	CHECK_INT(count(&c, RC_SALVAGE_SEND, 2, NULL), 1);
	rc_clear(&c);
	rc_standby_tick(&c, &t.lg, 1500);
	CHECK_INT(c.nout, 0);
	rc_standby_tick(&c, &t.lg, 1000 + RC_SALVAGE_RESEND);
	CHECK_INT(count(&c, RC_SALVAGE_SEND, 2, NULL), 1);
	rc_clear(&c);
	/* malformed: dropped and counted */
	m = rc_msg("append");
	rc_standby_msg(&c, &t.lg, 2, m, 0);
	CHECK_INT(c.nout, 0);
	CHECK_INT(c.dropped, 1);
	cJSON_Delete(m);
	epochs_free(&t.eps);
}

/* A core on self_addr with standbys (uid, name, addr) as given, recovering: prepares sent. */
static void
recovering(struct rcore *c, const char *self, const struct rc_member *m, int n, struct tlog *t)
{
	rc_init(c, self, "master", "backend", set3, 3, 1, 99);
	rc_view(c, m, n, 0);
	rc_recover(c, &t->lg, 0);
	rc_tick(c, &t->lg, 0);
	rc_clear(c);
}

/*
 * The master sends its batch before it syncs it. The commit point still
 * waits for its own disk. Then it dies between the two: the events only a
 * standby holds were never acknowledged, and whoever takes over next either
 * takes them (they are the best log) or keeps them aside and merges them.
 */
static void
overlap(void)
{
	struct rcore c, b;
	struct tlog t, tb, tc;
	const struct rc_action *a = NULL;
	char why[2048];
	uint64_t ep;
	cJSON *m;

	/* master n1 (A) with standbys n2 (B, uid 2) and n3 (C, uid 3) */
	tlog_init(&t, 0, 0);
	recovered_master(&c, &t, 1);
	ep = c.epoch;
	tlog_grow(&t, 3, ep);
	rc_tick(&c, &t.lg, 2000);
	rc_clear(&c);
	rc_sent(&c, 2, 3, 3, 0, 2000);
	rc_sent(&c, 3, 3, 3, 0, 2000);
	ack(&c, &t, 2, 3, 2010);
	ack(&c, &t, 3, 3, 2010);
	CHECK_INT(rc_commit_point(&c, &t.lg), 3);
	/* events 4 and 5 journaled, not synced here: they go to the standbys at once */
	tlog_put(&t, 5, ep);
	CHECK_INT(t.lg.durable, 3);
	rc_tick(&c, &t.lg, 2020);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->from, 4);
	CHECK_INT(a->prev_ep, ep);
	CHECK_INT(count(&c, RC_APPEND, 3, &a), 1);
	CHECK_INT(a->from, 4);
	rc_clear(&c);
	rc_sent(&c, 2, 5, 5, 0, 2020);
	rc_sent(&c, 3, 5, 5, 0, 2020);
	/* both standbys synced them first: nothing is acknowledged before this disk has them */
	ack(&c, &t, 2, 5, 2025);
	ack(&c, &t, 3, 5, 2025);
	CHECK_INT(rc_commit_point(&c, &t.lg), 3);
	rc_tick(&c, &t.lg, 2030);
	rc_clear(&c);
	CHECK_INT(rc_waiting(&c, &t.lg, 2030 + RC_STALL, why, sizeof(why)), 1);
	CHECK_STR(why, "event 5 is not replicated yet (committed: 3): waiting for this node's disk");
	t.lg.durable = 5;
	CHECK_INT(rc_commit_point(&c, &t.lg), 5);

	/* again, and n1 dies after sending 6-7 to n2, before its sync: its log ends at 5 */
	tlog_put(&t, 7, ep);
	rc_tick(&c, &t.lg, 2100);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->from, 6);
	rc_clear(&c);
	CHECK_INT(rc_commit_point(&c, &t.lg), 5);	/* 6 and 7 were never acknowledged */
	epochs_free(&t.eps);
	tlog_init(&t, 5, ep);		/* n1 after the kill: what it had synced */
	tlog_init(&tb, 7, ep);		/* n2 synced 6 and 7 */
	tlog_init(&tc, 5, ep);		/* n3 did not get them */

	/* 1. n2 takes over: its own log is the best, n1's is a prefix of it and gets 6 on */
	{
		struct rc_member sbs[2] = { { 1, "n1", A }, { 3, "n3", C } };

		recovering(&b, B, sbs, 2, &tb);
		CHECK(b.epoch > ep);
		deliver(&b, &tb, 1, from_sb(&b, "promise", &t), 10);
		deliver(&b, &tb, 3, from_sb(&b, "promise", &tc), 10);
		rc_tick(&b, &tb.lg, 20);
		CHECK_INT(count(&b, RC_KEEP_ASIDE, 0, NULL), 0);
		CHECK_INT(count(&b, RC_RECOVERED, 0, &a), 1);
		CHECK_INT(a->flag, 0);		/* nothing to copy: it has them */
		rc_clear(&b);
		tlog_grow(&tb, 8, b.epoch);	/* its epoch marker */
		rc_tick(&b, &tb.lg, 30);
		CHECK_INT(count(&b, RC_APPEND, 1, &a), 1);
		CHECK_INT(a->from, 6);		/* the events n1 never synced, then the marker */
		CHECK_INT(a->has_trunc, 0);
		CHECK_INT(a->prev_ep, ep);
		rc_clear(&b);
	}

	/* 2. the old master n1 comes back first and recovers: n2's longer log is copied */
	{
		struct rc_member sbs[2] = { { 2, "n2", B }, { 3, "n3", C } };

		recovering(&c, A, sbs, 2, &t);
		deliver(&c, &t, 2, from_sb(&c, "promise", &tb), 10);
		deliver(&c, &t, 3, from_sb(&c, "promise", &tc), 10);
		rc_tick(&c, &t.lg, 20);
		CHECK_INT(count(&c, RC_KEEP_ASIDE, 0, NULL), 0);	/* ours is a prefix of it */
		CHECK_INT(c.phase, RC_FETCHING);
		CHECK_INT(c.best, 0);
		rc_clear(&c);
		rc_tick(&c, &t.lg, 30);
		CHECK_INT(sent(&c, 2, "fetch"), 1);
		CHECK_STR(json_str(c.out[0].body, "from"), "6");
		rc_clear(&c);
	}

	/* 3. n1 comes back with n3 only (n2 silent): n2's 6-7 part from its log, kept aside and merged */
	{
		struct rc_member sbs[2] = { { 2, "n2", B }, { 3, "n3", C } };
		uint64_t ep2;

		recovering(&c, A, sbs, 2, &t);
		deliver(&c, &t, 3, from_sb(&c, "promise", &tc), 10);
		rc_tick(&c, &t.lg, 20);
		rc_tick(&c, &t.lg, 20 + RC_QUORUM_GRACE);
		CHECK_INT(count(&c, RC_RECOVERED, 0, &a), 1);
		CHECK_INT(a->flag, 0);
		rc_clear(&c);
		ep2 = c.epoch;
		tlog_grow(&t, 6, ep2);		/* its marker takes seq 6 in the new epoch */
		/* n2 answers the append from 1 with where it stands */
		deliver(&c, &t, 2, from_sb(&c, "need", &tb), 100);
		CHECK_INT(c.sb[0].trunc_set, 1);
		CHECK_INT(c.sb[0].trunc, 5);
		rc_tick(&c, &t.lg, 110);
		CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
		CHECK_INT(a->from, 6);
		CHECK_INT(a->has_trunc, 1);
		CHECK_INT(a->trunc, 5);
		rc_clear(&c);
		/* n2's side: 6-7 kept aside first, the append again, then the salvage to n1 */
		rc_init(&b, B, "master", "backend", set3, 3, 1, 5);
		tb.lg.promised = ep;
		m = rc_msg("append");
		json_add_u64(m, "ep", ep2);
		json_add_u64(m, "prev", 5);
		json_add_u64(m, "prev_ep", ep);
		json_add_u64(m, "trunc", 5);
		CHECK_INT(rc_standby_msg(&b, &tb.lg, 1, m, 200), 1);
		CHECK_INT(count(&b, RC_KEEP_ASIDE, 1, &a), 1);
		CHECK_INT(a->seq, 5);
		rc_clear(&b);
		tb.lg.promised = ep2;
		epochs_cut(&tb.eps, 5);
		tb.lg.seq = tb.lg.durable = 5;
		tb.lg.has_salvage = 1;
		CHECK_INT(rc_standby_msg(&b, &tb.lg, 1, m, 200), 0);
		CHECK_INT(count(&b, RC_STORE, 1, NULL), 1);
		rc_clear(&b);
		cJSON_Delete(m);
		rc_standby_tick(&b, &tb.lg, 300);
		CHECK_INT(count(&b, RC_SALVAGE_SEND, 1, NULL), 1);
		rc_clear(&b);
		/* the master merges it, and says so once the merge is committed */
		m = from_sb(&c, "salvage", NULL);
		json_add_u64(m, "upto", 2);
		cJSON_AddItemToObject(m, "evs", cJSON_CreateArray());
		rc_master_msg(&c, &t.lg, 2, m, 400);
		CHECK_INT(count(&c, RC_MERGE, 2, NULL), 1);
		rc_clear(&c);
		cJSON_Delete(m);
		tlog_put(&t, 8, ep2);		/* the merge journaled 7 and 8, not synced */
		rc_merged(&c, 2, 8);
		ack(&c, &t, 2, 8, 410);		/* the standbys have the merge before this disk */
		ack(&c, &t, 3, 8, 410);
		rc_tick(&c, &t.lg, 410);
		CHECK_INT(rc_commit_point(&c, &t.lg), 6);
		CHECK_INT(sent(&c, 2, "salvage-ack"), 0);
		rc_clear(&c);
		t.lg.durable = 8;
		rc_tick(&c, &t.lg, 430);
		CHECK_INT(sent(&c, 2, "salvage-ack"), 1);
		rc_clear(&c);
	}
	epochs_free(&t.eps);
	epochs_free(&tb.eps);
	epochs_free(&tc.eps);
}

/*
 * The master's sync put off while what is durable here waits for a
 * standby's ack (rc_sync_wait): at most RC_SYNC_WAIT ms from the turn that
 * began the wait, never with nothing to sync or nothing waiting, and the
 * wait starts again for the next batch after the acks came.
 */
static void
sync_wait(void)
{
	msec_t until = 0;
	int started;

	/* all durable here is committed: sync now */
	CHECK_INT(rc_sync_wait(3, 10, 10, 1000, &until, &started), 0);
	CHECK(until == 0 && started == 0);
	/* nothing to sync */
	CHECK_INT(rc_sync_wait(0, 8, 10, 1000, &until, &started), 0);
	/* events 9-10 durable here wait for an ack: put off, a wait begun */
	CHECK_INT(rc_sync_wait(2, 8, 10, 1000, &until, &started), 1);
	CHECK(until == 1000 + RC_SYNC_WAIT && started == 1);
	CHECK_INT(rc_sync_wait(3, 8, 10, 1001, &until, &started), 1);
	CHECK(started == 0);
	/* the bound: then the sync goes, the ack or not */
	CHECK_INT(rc_sync_wait(3, 8, 10, 1000 + RC_SYNC_WAIT, &until, &started), 0);
	CHECK(until == 0);
	/* the ack came within it: sync at once */
	CHECK_INT(rc_sync_wait(1, 9, 10, 2000, &until, &started), 1);
	CHECK_INT(rc_sync_wait(1, 10, 10, 2001, &until, &started), 0);
	CHECK(until == 0 && started == 0);
	/* a later batch waits again */
	CHECK_INT(rc_sync_wait(1, 10, 12, 3000, &until, &started), 1);
	CHECK(until == 3000 + RC_SYNC_WAIT && started == 1);
}

/* A written ack of a lazy append: written up to w, durable up to d. */
static void
wack(struct rcore *c, struct tlog *t, uint64_t from, uint64_t d, uint64_t w, msec_t now)
{
	cJSON *b = from_sb(c, "ack", NULL);

	json_add_u64(b, "last", d);
	json_add_u64(b, "rlast", d);
	json_add_u64(b, "wlast", w);
	json_add_u64(b, "wrlast", w);
	deliver(c, t, from, b, now);
}

/*
 * A standby the commit point does not need syncs lazily: the master gives
 * the sync duty to as many as the commit needs (one of two with replicas
 * 1 and three in the set), moves it when the one on duty goes quiet, and
 * the lazy standby answers written at once, durable RC_LAZY_SYNC later.
 */
static void
lazy(void)
{
	struct rcore c;
	struct tlog t, sbl;
	const struct rc_action *a = NULL;
	cJSON *m;
	int i;

	tlog_init(&t, 0, 0);
	recovered_master(&c, &t, 1);
	CHECK_INT(c.lazy, 1);
	ack(&c, &t, 3, 0, 1000);		/* n3 heard: both live */
	tlog_put(&t, 5, c.epoch);
	rc_tick(&c, &t.lg, 2000);
	/* one on duty (n2: ranked first), one lazy */
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->flag, 0);
	CHECK_INT(count(&c, RC_APPEND, 3, &a), 1);
	CHECK_INT(a->flag, 1);
	CHECK_INT(c.sb[0].duty, 1);
	CHECK_INT(c.sb[1].duty, 0);
	rc_clear(&c);
	rc_sent(&c, 2, 5, 5, 0, 2000);
	rc_sent(&c, 3, 5, 5, 0, 2000);
	t.lg.durable = 5;
	/* n3 wrote it: its window moves on, the commit point does not */
	wack(&c, &t, 3, 0, 5, 2001);
	CHECK_INT(c.sb[1].nfl, 0);
	CHECK_INT(c.sb[1].next, 6);
	CHECK_INT(c.sb[1].acked, 0);
	CHECK_INT(rc_commit_point(&c, &t.lg), 0);
	/* n2's durable ack commits it */
	ack(&c, &t, 2, 5, 2002);
	CHECK_INT(rc_commit_point(&c, &t.lg), 5);
	/* the next batch: n2 is killed on duty and never answers */
	tlog_put(&t, 10, c.epoch);
	rc_tick(&c, &t.lg, 2010);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->flag, 0);
	CHECK_INT(count(&c, RC_APPEND, 3, &a), 1);
	CHECK_INT(a->flag, 1);
	rc_clear(&c);
	rc_sent(&c, 2, 10, 10, 0, 2010);
	rc_sent(&c, 3, 10, 10, 0, 2010);
	t.lg.durable = 10;
	wack(&c, &t, 3, 0, 10, 2011);
	/* the master wakes when n2 would be quiet, not a second later */
	CHECK(rc_next_deadline(&c) == 2010 + RC_DUTY_QUIET);
	rc_tick(&c, &t.lg, 2010 + RC_DUTY_QUIET - 1);
	CHECK_INT(c.nout, 0);
	CHECK_INT(c.sb[0].duty, 1);
	/* quiet: the duty goes to n3, which is asked at once to sync what it wrote */
	rc_tick(&c, &t.lg, 2010 + RC_DUTY_QUIET);
	CHECK_INT(c.sb[0].duty, 0);
	CHECK_INT(c.sb[1].duty, 1);
	CHECK_INT(c.duty_moves, 1);
	CHECK_INT(count(&c, RC_APPEND, 3, &a), 1);
	CHECK_INT(a->flag, 0);
	CHECK_INT(a->from, 11);			/* nothing new: a sync of what it holds */
	rc_clear(&c);
	rc_sent(&c, 3, 10, 10, 0, 2020);
	CHECK_INT(rc_commit_point(&c, &t.lg), 5);
	ack(&c, &t, 3, 10, 2021);
	CHECK_INT(rc_commit_point(&c, &t.lg), 10);
	/* from now on n3 syncs, and n2 (resent to after RC_RESEND) is lazy */
	tlog_put(&t, 12, c.epoch);
	rc_tick(&c, &t.lg, 2010 + RC_RESEND);
	CHECK_INT(count(&c, RC_APPEND, 3, &a), 1);
	CHECK_INT(a->flag, 0);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->flag, 1);
	CHECK_INT(a->from, 6);
	rc_clear(&c);
	rc_sent(&c, 2, 12, 12, 0, 2010 + RC_RESEND);
	rc_sent(&c, 3, 12, 12, 0, 2010 + RC_RESEND);
	/* n2 back: the duty stays where it is */
	wack(&c, &t, 2, 5, 12, 2011 + RC_RESEND);
	ack(&c, &t, 3, 12, 2011 + RC_RESEND);
	rc_tick(&c, &t.lg, 2012 + RC_RESEND);
	CHECK_INT(c.sb[1].duty, 1);
	CHECK_INT(c.sb[0].duty, 0);
	CHECK_INT(c.duty_moves, 1);
	rc_clear(&c);
	/* replicas = 2: both are needed, neither is lazy */
	c.replicas = 2;
	tlog_put(&t, 13, c.epoch);
	rc_tick(&c, &t.lg, 2100 + RC_RESEND);
	for (i = 2; i <= 3; i++) {
		CHECK_INT(count(&c, RC_APPEND, (uint64_t)i, &a), 1);
		CHECK_INT(a->flag, 0);
	}
	rc_clear(&c);
	/* AKC_REPL_LAZY_SEND=5: the lazy one's append waits 5 ms, then takes all */
	c.replicas = 1;
	c.lazy_send = 5;
	tlog_put(&t, 14, c.epoch);
	ack(&c, &t, 2, 13, 2101 + RC_RESEND);
	ack(&c, &t, 3, 14, 2101 + RC_RESEND);	/* n3 ahead: the duty is its */
	rc_tick(&c, &t.lg, 2110 + RC_RESEND);
	CHECK_INT(c.sb[0].duty, 0);
	CHECK_INT(c.sb[1].duty, 1);
	CHECK_INT(count(&c, RC_APPEND, 2, NULL), 0);
	CHECK(rc_next_deadline(&c) == 2115 + RC_RESEND);
	rc_clear(&c);
	tlog_put(&t, 15, c.epoch);
	rc_tick(&c, &t.lg, 2114 + RC_RESEND);
	CHECK_INT(count(&c, RC_APPEND, 3, NULL), 1);	/* on duty: at once */
	CHECK_INT(count(&c, RC_APPEND, 2, NULL), 0);
	rc_clear(&c);
	rc_sent(&c, 3, 15, 15, 0, 2114 + RC_RESEND);
	rc_tick(&c, &t.lg, 2115 + RC_RESEND);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->from, 14);
	CHECK_INT(a->flag, 1);
	rc_clear(&c);
	rc_sent(&c, 2, 15, 15, 0, 2115 + RC_RESEND);
	ack(&c, &t, 3, 15, 2115 + RC_RESEND);
	wack(&c, &t, 2, 13, 15, 2116 + RC_RESEND);
	c.lazy_send = 0;
	/* AKC_REPL_LAZY=0: every standby syncs */
	c.lazy = 0;
	ack(&c, &t, 2, 15, 2120 + RC_RESEND);
	ack(&c, &t, 3, 15, 2120 + RC_RESEND);
	tlog_put(&t, 16, c.epoch);
	rc_tick(&c, &t.lg, 2121 + RC_RESEND);
	CHECK_INT(count(&c, RC_APPEND, 2, &a), 1);
	CHECK_INT(a->flag, 0);
	CHECK_INT(count(&c, RC_APPEND, 3, &a), 1);
	CHECK_INT(a->flag, 0);
	rc_clear(&c);
	epochs_free(&t.eps);

	/* the standby's side */
	tlog_init(&sbl, 0, 0);
	rc_init(&c, B, "master", "backend", set3, 3, 1, 1);
	sbl.lg.promised = 100;
	m = rc_msg("append");
	json_add_u64(m, "ep", 100);
	json_add_u64(m, "prev", 0);
	json_add_u64(m, "prev_ep", 0);
	cJSON_AddTrueToObject(m, "lazy");
	rc_standby_msg(&c, &sbl.lg, 1, m, 0);
	CHECK_INT(count(&c, RC_STORE, 1, &a), 1);
	CHECK_INT(a->flag, 1);
	rc_clear(&c);
	cJSON_Delete(m);
	tlog_put(&sbl, 3, 100);			/* stored, not synced */
	rc_standby_stored(&c, &sbl.lg, 1, 0, 0, 3, 1, 100);
	CHECK_INT(count(&c, RC_ACK, 1, &a), 1);
	CHECK_INT(a->flag, 1);			/* written: said at once, unsynced */
	CHECK_INT(a->rlast, 3);
	rc_clear(&c);
	CHECK(rc_standby_deadline(&c) == 100 + RC_LAZY_SYNC);
	tlog_put(&sbl, 5, 100);
	rc_standby_stored(&c, &sbl.lg, 1, 0, 0, 5, 1, 102);
	CHECK(rc_standby_deadline(&c) == 100 + RC_LAZY_SYNC);	/* from the first unsynced */
	rc_clear(&c);
	rc_standby_tick(&c, &sbl.lg, 100 + RC_LAZY_SYNC - 1);
	CHECK_INT(c.nout, 0);
	/* its time: synced, and acked durable up to the last append's results */
	rc_standby_tick(&c, &sbl.lg, 100 + RC_LAZY_SYNC);
	CHECK_INT(count(&c, RC_ACK, 1, &a), 1);
	CHECK_INT(a->flag, 0);
	CHECK_INT(a->rlast, 5);
	CHECK(rc_standby_deadline(&c) < 0);
	rc_clear(&c);
	sbl.lg.durable = 5;
	/* an append on duty after a lazy one: one sync for both, nothing owed after */
	tlog_put(&sbl, 6, 100);
	rc_standby_stored(&c, &sbl.lg, 1, 0, 0, 6, 1, 200);
	rc_clear(&c);
	tlog_put(&sbl, 7, 100);
	rc_standby_stored(&c, &sbl.lg, 1, 0, 0, 7, 0, 201);
	CHECK_INT(count(&c, RC_ACK, 1, &a), 1);
	CHECK_INT(a->flag, 0);
	CHECK(rc_standby_deadline(&c) < 0);
	rc_clear(&c);
	sbl.lg.durable = 7;
	/* too much unsynced: synced at once */
	tlog_put(&sbl, 7 + RC_LAZY_MAX, 100);
	rc_standby_stored(&c, &sbl.lg, 1, 0, 0, 7 + RC_LAZY_MAX, 1, 300);
	CHECK_INT(count(&c, RC_ACK, 1, &a), 1);
	CHECK_INT(a->flag, 0);
	rc_clear(&c);
	/* an append without "lazy" (a master of before): stored to sync */
	m = rc_msg("append");
	json_add_u64(m, "ep", 100);
	json_add_u64(m, "prev", sbl.lg.seq);
	json_add_u64(m, "prev_ep", 100);
	rc_standby_msg(&c, &sbl.lg, 1, m, 400);
	CHECK_INT(count(&c, RC_STORE, 1, &a), 1);
	CHECK_INT(a->flag, 0);
	rc_clear(&c);
	cJSON_Delete(m);
	epochs_free(&sbl.eps);
}

/*
 * A standby given the duty while its append is in flight waits to be poked
 * (asked to sync what it wrote); if it loses the duty again before that
 * append is answered, the poke is moot: the master must not go on sending
 * it empty appends, one per answer, for as long as it is off duty.
 */
static void
lazy_poke_lost(void)
{
	struct rcore c;
	struct tlog t;
	const struct rc_action *a = NULL;
	int round;

	tlog_init(&t, 0, 0);
	recovered_master(&c, &t, 1);
	ack(&c, &t, 3, 0, 1000);		/* n3 heard: both live */
	tlog_put(&t, 5, c.epoch);
	rc_tick(&c, &t.lg, 2000);
	CHECK_INT(c.sb[0].duty, 1);
	rc_clear(&c);
	rc_sent(&c, 2, 5, 5, 0, 2000);
	rc_sent(&c, 3, 5, 5, 0, 2000);
	t.lg.durable = 5;
	wack(&c, &t, 3, 0, 5, 2001);		/* n3 wrote 1-5, synced none */
	ack(&c, &t, 2, 5, 2002);
	/* n2 gets 6-10 and goes silent; n3 writes them, then gets 11 at 2015 */
	tlog_put(&t, 10, c.epoch);
	rc_tick(&c, &t.lg, 2010);
	rc_clear(&c);
	rc_sent(&c, 2, 10, 10, 0, 2010);
	rc_sent(&c, 3, 10, 10, 0, 2010);
	t.lg.durable = 10;
	wack(&c, &t, 3, 0, 10, 2011);
	tlog_put(&t, 11, c.epoch);
	rc_tick(&c, &t.lg, 2015);
	CHECK_INT(count(&c, RC_APPEND, 3, NULL), 1);
	rc_clear(&c);
	rc_sent(&c, 3, 11, 11, 0, 2015);
	/* n2 quiet: the duty goes to n3, whose append is still in flight */
	rc_tick(&c, &t.lg, 2010 + RC_DUTY_QUIET);
	CHECK_INT(c.sb[1].duty, 1);
	CHECK_INT(count(&c, RC_APPEND, 3, NULL), 0);
	rc_clear(&c);
	/* n2 answers, n3 goes quiet in turn: the duty goes back to n2 */
	ack(&c, &t, 2, 10, 2021);
	rc_tick(&c, &t.lg, 2015 + RC_DUTY_QUIET);
	CHECK_INT(c.sb[0].duty, 1);
	CHECK_INT(c.sb[1].duty, 0);
	if (count(&c, RC_APPEND, 2, &a) == 1)
		rc_sent(&c, 2, 11, 11, 0, 2015 + RC_DUTY_QUIET);
	rc_clear(&c);
	t.lg.durable = 11;
	ack(&c, &t, 2, 11, 2026);
	/* n3 answers (written): nothing is new, so nothing more goes to it */
	wack(&c, &t, 3, 0, 11, 2027);
	for (round = 0; round < 3; round++) {
		rc_tick(&c, &t.lg, 2028 + round * 2);
		CHECK_INT(count(&c, RC_APPEND, 3, &a), 0);
		if (count(&c, RC_APPEND, 3, &a) == 1) {
			rc_sent(&c, 3, 11, 11, 0, 2028 + round * 2);
			rc_clear(&c);
			wack(&c, &t, 3, 0, 11, 2029 + round * 2);
		} else
			rc_clear(&c);
	}
	CHECK_INT(rc_commit_point(&c, &t.lg), 11);
	epochs_free(&t.eps);
}

int
main(void)
{
	log_init("test-repl");
	log_setlevel(LOG_ERR);
	RUN(recovery);
	RUN(best_log);
	RUN(late_snapshot);
	RUN(window);
	RUN(stall);
	RUN(standby);
	RUN(overlap);
	RUN(sync_wait);
	RUN(lazy);
	RUN(lazy_poke_lost);
	return unit_done();
}
