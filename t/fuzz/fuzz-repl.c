/*
 * fuzz-repl.c: the journal replication core (src/master/replcore.c) at its
 * boundary: whatever a peer sends, as a master's standby or as a standby's
 * master.
 *
 * The input is a JSON array of steps {"from": N, "body": {...}, "dt": MS}:
 * each body is given to a master core (recovering first, then serving, its
 * log growing) and to a standby core, the time moving on by dt. Nothing may
 * crash; the commit point never goes back and never passes the durable log;
 * every action names a standby the core knows (or the sender, for a
 * standby), and the outbox is emptied after each step as the shells do.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epochs.h"
#include "json.h"
#include "log.h"
#include "replcore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char set[3][CONF_ADDR_MAX] = { "tcp://h:1", "tcp://h:2", "tcp://h:3" };

static void
broken(const char *what)
{
	fprintf(stderr, "broken: %s\n", what);
	abort();
}

/* The master's actions as its shell would take them, as far as the log goes. */
static void
master_acts(struct rcore *c, struct rc_log *lg, struct epochs *eps, msec_t now)
{
	int i, k;

	for (i = 0; i < c->nout; i++) {
		struct rc_action *a = &c->out[i];

		if (a->type == RC_SEND || a->type == RC_APPEND || a->type == RC_STORE ||
		    a->type == RC_MERGE) {
			for (k = 0; k < c->nsb && c->sb[k].uid != a->to; k++)
				;
			if (k == c->nsb)
				broken("an action for a standby the core does not know");
		}
		if (a->type == RC_APPEND) {
			if (a->from > lg->durable && a->rfrom > lg->durable)
				broken("an append of what is not durable");
			rc_sent(c, a->to, lg->durable, lg->durable, 0, now);
		} else if (a->type == RC_STORE)
			rc_fetched(c, 0, lg->seq, 0);
		else if (a->type == RC_MERGE)
			rc_merged(c, a->to, lg->seq);
		else if (a->type == RC_KEEP_ASIDE && a->seq < lg->seq) {
			epochs_cut(eps, a->seq);
			lg->seq = lg->durable = a->seq;
		}
	}
	rc_clear(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *steps = json_parse((const char *)data, size), *st;
	struct rcore m, s;
	struct epochs meps, seps;
	struct rc_log ml, sl;
	struct rc_member sb[2] = { { 2, "n2", "tcp://h:2" }, { 3, "n3", "tcp://h:3" } };
	msec_t now = 0;
	uint64_t cp = 0, v;
	char why[2048];

	if (!cJSON_IsArray(steps)) {
		cJSON_Delete(steps);
		return 0;
	}
	log_setlevel(LOG_ERR);
	epochs_init(&meps);
	epochs_clear(&meps, 1);
	epochs_init(&seps);
	epochs_clear(&seps, 1);
	memset(&ml, 0, sizeof(ml));
	memset(&sl, 0, sizeof(sl));
	ml.eps = &meps;
	sl.eps = &seps;
	rc_init(&m, "tcp://h:1", "master", "backend", set, 3, 1, 1);
	rc_init(&s, "tcp://h:2", "master", "backend", set, 3, 1, 2);
	rc_view(&m, sb, 2, now);
	rc_recover(&m, &ml, now);
	cJSON_ArrayForEach(st, steps) {
		const cJSON *body = cJSON_GetObjectItemCaseSensitive(st, "body");
		long dt = 0;
		uint64_t from = 2;
		int again;

		if (json_int(st, "dt", 0, 100000, &dt) == 0)
			now += dt;
		if (json_u64(st, "from", &v) == 0)
			from = v;
		if (cJSON_IsObject(body)) {
			rc_master_msg(&m, &ml, from, body, now);
			master_acts(&m, &ml, &meps, now);
			for (again = 1, v = 0; again && v < 2; v++) {
				again = rc_standby_msg(&s, &sl, from, body, now);
				rc_clear(&s);
			}
		}
		/* the master's log grows once it serves */
		if (m.phase == RC_SERVING && ml.seq < 1000) {
			epochs_note(&meps, ++ml.seq, m.epoch);
			ml.durable = ml.seq;
			ml.last_ep = m.epoch;
		}
		rc_tick(&m, &ml, now);
		master_acts(&m, &ml, &meps, now);
		rc_standby_tick(&s, &sl, now);
		rc_clear(&s);
		v = rc_commit_point(&m, &ml);
		if (v < cp)
			broken("the commit point went back");
		cp = v;
		if (cp > ml.durable)
			broken("the commit point passed the durable log");
		rc_waiting(&m, &ml, now, why, sizeof(why));
		if (strlen(why) >= sizeof(why))
			broken("a wait longer than its buffer");
	}
	epochs_free(&meps);
	epochs_free(&seps);
	cJSON_Delete(steps);
	return 0;
}
