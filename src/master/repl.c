/*
 * repl.c: the shell of the journal replication (see repl.h): memberd's
 * relay, the membership view, the journal's reads and writes, and the
 * standby's loop. Every decision is replcore.c's: this file feeds it
 * messages, time and the journal's facts, and carries out its actions.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>

#include "acall.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "membership.h"
#include "proto.h"
#include "repl.h"
#include "sock.h"
#include "work.h"
#include "xmalloc.h"

#define BATCH_BYTES	(512 * 1024)	/* events per append or fetch answer; salvage per piece */
#define WAIT_LOG	5000		/* a wait is logged this long after it began, and as often */
#define STANDBY_TICK	500

/* ---- memberd's relay, and the journal link (link.c) ---- */

/*
 * Sends body (freed) to node `to`, with our epoch and journal version: over
 * the journal link when it is up to that node, else through memberd, with
 * our link's port and id ("lk") so that the receiver can use it next.
 */
static void
relay(struct repl *r, uint64_t to, cJSON *body)
{
	char *txt;

	json_add_u64(body, "ep", r->c.epoch);
	cJSON_AddNumberToObject(body, "jv", JOURNAL_VERSION);
	/* link_send counts a send to a known peer whose link is down (unusable) */
	if (r->link != NULL) {
		txt = json_print(body);
		if (link_send(r->link, to, txt, strlen(txt), clock_mono_ms()) == 0) {
			cJSON_free(txt);
			cJSON_Delete(body);
			return;
		}
		cJSON_free(txt);
	}
	link_stamp(r->link, body);
	if (svc_send(&r->svc, to, body) < 0)
		log_debug("relay to memberd failed: %s", nn_strerror(nn_errno()));
	else
		r->relay_sent++;
}

/* A body of our journal version, or a count and (once) a warning naming the node. */
static int
our_version(struct repl *r, const cJSON *b, const char *node)
{
	long jv;

	if (json_int(b, "jv", 0, 1000000, &jv) == 0 && jv == JOURNAL_VERSION)
		return 1;
	/* a node of another version: it cannot take part */
	if (r->dropped_version++ == 0)
		log_warnx("dropped a journal message of another protocol version from "
		    "node %.64s: every node with the role needs this version of akc", node);
	return 0;
}

/* The next relayed message for us: its body (caller frees *whole), sender in *from. */
static cJSON *
next_msg(struct repl *r, cJSON **whole, uint64_t *from)
{
	struct svc_from f;
	cJSON *b;

	while ((b = svc_next(&r->svc, &f, whole, &r->c.dropped)) != NULL) {
		if (our_version(r, b, f.node ? f.node : "?")) {
			r->relay_received++;
			*from = f.uid;
			/* memberd vouches for who sent it: its link, if any, is learned here */
			link_learn(r->link, f.uid, f.address, b, clock_mono_ms());
			return b;
		}
		r->c.dropped++;
		cJSON_Delete(*whole);
		*whole = NULL;
	}
	return NULL;
}

static const char *
role_of(const struct akc_config *cfg, const char *name)
{
	int i;

	for (i = 0; i < cfg->nsingletons; i++)
		if (strcmp(cfg->singletons[i].name, name) == 0)
			return cfg->singletons[i].role;
	return "";
}

int
repl_open(struct repl *r, const struct akc_config *cfg, const char *name, struct journal *j,
    char *err, size_t errlen)
{
	uint64_t seed = 0;

	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->j = j;
	while (seed == 0)
		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			fatal("getrandom");
	rc_init(&r->c, cfg->address, name, role_of(cfg, name),
	    (char (*)[CONF_ADDR_MAX])cfg->replica_nodes, cfg->nreplica_nodes, cfg->replicas, seed);
	/* appends in flight per standby: 1, or up to RC_WINDOW to measure (bench/README.md) */
	if (getenv("AKC_REPL_WINDOW") != NULL) {
		int w = atoi(getenv("AKC_REPL_WINDOW"));

		r->c.window = w < 1 ? 1 : w > RC_WINDOW ? RC_WINDOW : w;
	}
	r->trace = getenv("AKC_TRACE") != NULL && *getenv("AKC_TRACE") != '\0';
	r->serial = !env_flag("AKC_REPL_OVERLAP", 1);
	/* AKC_REPL_LAZY=0: every standby syncs every append (to measure the lazy ones) */
	r->c.lazy = env_flag("AKC_REPL_LAZY", 1);
	/* a lazy standby's appends wait up to RC_LAZY_SEND ms; AKC_REPL_LAZY_SEND=MS (0: at once) */
	r->c.lazy_send = RC_LAZY_SEND;
	if (getenv("AKC_REPL_LAZY_SEND") != NULL) {
		int ms = atoi(getenv("AKC_REPL_LAZY_SEND"));

		r->c.lazy_send = ms < 0 ? 0 : ms > RC_LAZY_SYNC ? RC_LAZY_SYNC : ms;
	}
	if (svc_open(&r->svc, cfg, SVC_JOURNAL_PREFIX, name) < 0) {
		snprintf(err, errlen, "cannot reach memberd's relay in %s", cfg->run_dir);
		return -1;
	}
	return 0;
}

void
repl_close(struct repl *r)
{
	while (r->ntr > 0)
		free(r->tr[--r->ntr].ids);
	link_free(r->link);
	r->link = NULL;
	if (r->mctl != NULL)
		acall_free(r->mctl);
	r->mctl = NULL;
	rc_clear(&r->c);
	free(r->asm_buf);
	r->asm_buf = NULL;
	svc_close(&r->svc);
}

int
repl_fd(const struct repl *r)
{
	return svc_fd(&r->svc);
}

/* The journal's facts, for the core. */
static struct rc_log
facts(struct repl *r)
{
	struct journal *j = r->j;

	return (struct rc_log){
		.seq = j->seq, .durable = j->durable, .snap_seq = j->snap_seq,
		.last_ep = j->last_ep, .promised = journal_promised(j),
		.has_salvage = j->o_first < j->o_next, .eps = &j->eps,
	};
}

/* ---- the membership ---- */

static int
is_standby(const struct repl *r, const struct member *m)
{
	return m->uid != r->self && member_has_role(m, r->c.role) &&
	    (m->status == MS_UP || m->status == MS_LEAVING);
}

/* Who is at each address of the replica set, for the logs. */
static void
set_who(struct repl *r, const struct mstate *st)
{
	int i, k;

	for (k = 0; k < r->c.nset; k++) {
		const char *a = r->c.set[k];
		char *w = r->c.set_who[k];
		size_t wl = sizeof(r->c.set_who[k]);

		snprintf(w, wl, "not a member");
		for (i = 0; i < st->n; i++) {
			const struct member *m = &st->m[i];

			if (strcmp(m->address, a) != 0)
				continue;
			if (is_standby(r, m) || m->uid == r->self) {
				snprintf(w, wl, "%s", m->name);
				break;	/* an older incarnation does not matter */
			}
			if (!member_has_role(m, r->c.role))
				snprintf(w, wl, "%s: without role %s", m->name, r->c.role);
			else
				snprintf(w, wl, "%s: %s", m->name, mstatus_name(m->status));
		}
	}
}

static void fail(struct repl *, const char *err);

/* memberd's state answer: the standbys the core replicates to, and who is where. */
static int
view_apply(struct repl *r, const cJSON *rsp, msec_t now)
{
	struct mstate st;
	struct rc_member sb[RC_MAX_STANDBYS];
	int i, n = 0;

	mstate_init(&st);
	if (json_u64(rsp, "self", &r->self) < 0 ||
	    mstate_from_json(cJSON_GetObjectItemCaseSensitive(rsp, "state"), &st) < 0) {
		mstate_free(&st);
		return -1;
	}
	for (i = 0; i < st.n && n < RC_MAX_STANDBYS; i++) {
		const struct member *m = &st.m[i];

		if (!is_standby(r, m))
			continue;
		sb[n].uid = m->uid;
		snprintf(sb[n].name, sizeof(sb[n].name), "%s", m->name);
		snprintf(sb[n].addr, sizeof(sb[n].addr), "%s", m->address);
		n++;
	}
	rc_view(&r->c, sb, n, now);
	set_who(r, &st);
	mstate_free(&st);
	return 0;
}

int
repl_view(struct repl *r, msec_t now)
{
	char err[256];
	cJSON *rsp;
	int rc;

	r->next_view = now + 1000;
	if (ctl_call(r->cfg, SOCK_MEMBERD_CTL, ctl_request(CTL_STATE), &rsp, 1000, err, sizeof(err)) < 0)
		return -1;
	rc = view_apply(r, rsp, now);
	cJSON_Delete(rsp);
	return rc;
}

static void
on_view(void *arg, const cJSON *rsp, const char *err, msec_t now)
{
	struct repl *r = arg;

	if (rsp == NULL || view_apply(r, rsp, now) < 0) {
		/* the last view stands; the next call is due in a second */
		if (r->view_failed++ == 0)
			log_notice("memberd's state: %s (the replication keeps its last view)",
			    err != NULL ? err : "a malformed answer");
	}
}

/*
 * The serving master's view, once a second, without waiting for memberd:
 * ctl_call blocked the loop for its round trip (0.3 ms here, 2-13 ms when
 * memberd is busy), holding every answer of the moment (bench/README.md,
 * branch lat2). A recovery keeps the blocking call: it stops when memberd
 * does not answer.
 */
static void
view_due(struct repl *r, msec_t now)
{
	if (now < r->next_view)
		return;
	if (r->mctl == NULL || r->recovering) {
		if (repl_view(r, now) < 0 && r->recovering)
			fail(r, "memberd does not answer");
		return;
	}
	r->next_view = now + 1000;
	if (acall_pending(r->mctl) == 0)
		acall_call(r->mctl, ctl_request(CTL_STATE), 1000, on_view, r, now);
}

/* ---- storing what came from elsewhere (standby appends, recovery fetches) ---- */

/*
 * A snapshot's jobs as events, when a log is cut behind its snapshot
 * (journal_salvage); result lines give the finished ones their text.
 */
static cJSON *
result_line(uint64_t seq, void *arg)
{
	return journal_result(arg, seq);
}

static cJSON *
expand(const cJSON *snap, struct journal *j)
{
	return work_snapshot_events(snap, result_line, j);
}

/* The snapshot being put together from pieces is dropped. */
static void
asm_reset(struct repl *r)
{
	free(r->asm_buf);
	r->asm_buf = NULL;
	r->asm_len = 0;
}

/*
 * Puts a batch (an append, or a fetch answer) into the journal's batch,
 * unsynced: 0 done, 1 a snapshot piece was kept and more are to come, -1
 * with the reason. The whole message is checked before any of it is
 * written: one that does not follow the log (malformed, or a late answer
 * to a fetch sent again whose first answer was stored) leaves the journal
 * as it was, and r->failed is set only by a failed write. A whole snapshot
 * empties the log first (synced).
 */
static int
store(struct repl *r, const cJSON *b, char *err, size_t errlen)
{
	struct journal *j = r->j;
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(b, "snapc"), *o;
	const cJSON *evs = cJSON_GetObjectItemCaseSensitive(b, "events");
	uint64_t seq = 0, off, total, next = j->seq + 1, sseq = 0;
	cJSON *snap = NULL;

	if (sc != NULL) {
		const char *data = json_str(sc, "data");
		size_t n;

		if (data == NULL || json_u64(sc, "seq", &sseq) < 0 || json_u64(sc, "off", &off) < 0 ||
		    json_u64(sc, "total", &total) < 0 || total > 1ULL << 34) {
			snprintf(err, errlen, "a malformed snapshot piece");
			return -1;
		}
		n = strlen(data);
		if (off == 0 ? n > total : r->asm_buf == NULL || sseq != r->asm_seq ||
		    off != r->asm_len || total != r->asm_total || r->asm_len + n > total) {
			/* a late piece, or one of a snapshot we are not putting together */
			snprintf(err, errlen, "a snapshot piece out of order (at %llu, %zu bytes in)",
			    (unsigned long long)off, r->asm_len);
			return -1;
		}
		if (off == 0) {
			asm_reset(r);
			r->asm_buf = xmalloc(total + 1);
			r->asm_total = total;
			r->asm_seq = sseq;
		}
		memcpy(r->asm_buf + r->asm_len, data, n);
		r->asm_len += n;
		if (r->asm_len < r->asm_total)
			return 1;
		snap = json_parse(r->asm_buf, r->asm_len);
		asm_reset(r);	/* whole: taken now, or refused and fetched again from 0 */
		if (snap == NULL) {
			snprintf(err, errlen, "a snapshot that does not parse");
			return -1;
		}
		next = sseq + 1;
	}
	cJSON_ArrayForEach(o, evs) {
		if (json_u64(o, "seq", &seq) < 0 || seq != next ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "ev"))) {
			if (o == evs->child && seq < next && seq > 0)
				snprintf(err, errlen, "events from %llu, which the log holds up to %llu "
				    "(a late answer)", (unsigned long long)seq, (unsigned long long)next - 1);
			else
				snprintf(err, errlen, "a replicated event out of order");
			cJSON_Delete(snap);
			return -1;
		}
		next++;
	}
	if (snap != NULL) {
		/* what the batch holds goes first: the wipe is a write of its own */
		if (journal_commit(j, err, errlen) < 0 || journal_wipe(j, err, errlen) < 0) {
			fail(r, err);	/* a failed write is final (standby_act stops) */
			cJSON_Delete(snap);
			return -1;
		}
		journal_store_snapshot(j, sseq, snap);
		cJSON_Delete(snap);
	}
	cJSON_ArrayForEach(o, evs) {
		json_u64(o, "seq", &seq);
		journal_store(j, seq, cJSON_GetObjectItemCaseSensitive(o, "ev"));
	}
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(b, "results")) {
		const cJSON *line = cJSON_GetObjectItemCaseSensitive(o, "line");

		if (json_u64(o, "seq", &seq) == 0 && cJSON_IsObject(line)) {
			journal_put_result(j, seq, line);
			j->nbatch++;
		}
	}
	return 0;
}

/* ---- the active master ---- */

/* Our log from after seq on is not in the log we take: keep it aside to merge. */
static int
keep_aside(struct repl *r, uint64_t after, const char *whose, char *err, size_t errlen)
{
	uint64_t last = r->j->seq, ep = r->j->last_ep;
	long n = journal_salvage(r->j, after, expand, err, errlen);

	if (n < 0)
		return -1;
	log_notice("journal: events %llu-%llu of this log (epoch %llu) are not in the log of %s: "
	    "%ld kept aside to merge", (unsigned long long)after + 1, (unsigned long long)last,
	    (unsigned long long)ep, whose, n);
	return 0;
}

static void
fail(struct repl *r, const char *err)
{
	if (!r->failed)
		snprintf(r->err, sizeof(r->err), "%s", err);
	r->failed = 1;
}

static struct rc_standby *
sb_of(struct repl *r, uint64_t uid)
{
	int i;

	for (i = 0; i < r->c.nsb; i++)
		if (r->c.sb[i].uid == uid)
			return &r->c.sb[i];
	return NULL;
}

/* Carries out what the core decided, in order; a failed write stops the rest. */
static void
master_act(struct repl *r, msec_t now)
{
	char err[512], whose[CONF_NAME_MAX + CONF_ADDR_MAX + 8];
	int i, rc;

	for (i = 0; i < r->c.nout && !r->failed; i++) {
		struct rc_action *a = &r->c.out[i];
		struct rc_standby *s = sb_of(r, a->to);
		uint64_t last = 0, rlast = 0;
		cJSON *m;

		if (s != NULL)
			snprintf(whose, sizeof(whose), "%s (%s)", s->addr, s->name);
		else
			snprintf(whose, sizeof(whose), "node %llu", (unsigned long long)a->to);
		switch (a->type) {
		case RC_SEND:
			relay(r, a->to, a->body);
			a->body = NULL;
			break;
		case RC_APPEND:
			m = rc_msg(JMSG_APPEND);
			json_add_u64(m, "prev", a->from - 1);
			json_add_u64(m, "prev_ep", a->prev_ep);
			if (a->has_trunc)
				json_add_u64(m, "trunc", a->trunc);
			if (a->flag)
				cJSON_AddTrueToObject(m, "lazy");
			journal_read(r->j, a->from, a->rfrom, BATCH_BYTES, a->snap_off, m);
			json_u64(m, "last", &last);
			json_u64(m, "rlast", &rlast);
			rc = cJSON_GetObjectItemCaseSensitive(m, "snapc") != NULL && last + 1 == a->from;
			relay(r, a->to, m);
			rc_sent(&r->c, a->to, last, rlast, rc, now);
			break;
		case RC_PROMISE:
			if (journal_promise(r->j, a->ep, err, sizeof(err)) < 0)
				fail(r, err);
			break;
		case RC_KEEP_ASIDE:
			if (keep_aside(r, a->seq, whose, err, sizeof(err)) < 0)
				fail(r, err);
			break;
		case RC_STORE:
			json_u64(a->body, "rlast", &rlast);	/* rc_master_msg checked it */
			if ((rc = store(r, a->body, err, sizeof(err))) < 0 && !r->failed) {
				/* not a write that failed: the answer is dropped, asked again */
				r->c.dropped++;
				log_warnx("journal: dropped an answer of %s to a fetch: %s", whose, err);
				rc_fetch_dropped(&r->c, r->asm_len);
				break;
			}
			if (rc < 0 || (rc == 0 && journal_commit(r->j, err, sizeof(err)) < 0)) {
				fail(r, err);
				break;
			}
			rc_fetched(&r->c, rc, rlast, r->asm_len);
			break;
		case RC_MERGE:
			r->merge(r->merge_arg, cJSON_GetObjectItemCaseSensitive(a->body, "evs"), whose);
			rc_merged(&r->c, a->to, r->j->seq);
			break;
		case RC_SALVAGE_DROP:
			if (journal_salvage_drop(r->j, a->seq, err, sizeof(err)) < 0)
				fail(r, err);	/* a failed write is final (journal.c, write_failed) */
			else
				log_info("journal: the merge of what this log kept aside is committed: dropped it");
			break;
		case RC_RECOVERED:
			r->recovering = 0;
			r->recovered = 1;
			r->changed = a->flag;
			break;
		case RC_DEPOSED:
			r->deposed = 1;
			break;
		case RC_BATCH:
		case RC_ACK:
		case RC_SALVAGE_SEND:
			break;		/* a standby's */
		}
	}
	rc_clear(&r->c);
}

int
repl_recover(struct repl *r, msec_t now, char *err, size_t errlen)
{
	struct rc_log lg = facts(r);

	if (repl_view(r, now) < 0) {
		snprintf(err, errlen, "memberd does not answer");
		return -1;
	}
	r->recovering = 1;
	r->recovered = 0;
	rc_recover(&r->c, &lg, now);
	repl_pump(r, now);
	return 0;
}

/* A wait that lasts is logged, at warning level, every WAIT_LOG. */
static void
log_wait(struct repl *r, msec_t now)
{
	char why[2048];

	if (!repl_waiting(r, now, why, sizeof(why))) {
		if (r->wait_since != 0 && r->wait_logged != 0)
			log_notice("replication goes on: the wait is over");
		r->wait_since = r->wait_logged = 0;
		return;
	}
	if (r->wait_since == 0)
		r->wait_since = now;
	if (now - r->wait_since >= WAIT_LOG && (r->wait_logged == 0 || now - r->wait_logged >= WAIT_LOG)) {
		log_warnx("%s", why);
		r->wait_logged = now;
	}
}

/* ---- the commit trace (AKC_TRACE) ---- */

/* A monotonic time in µs as wall-clock ms, to join with the clients' logs. */
static double
wall_ms(int64_t mono_us)
{
	return (double)(clock_wall_us() - clock_mono_us() + mono_us) / 1000.0;
}

void
repl_trace_batch(struct repl *r)
{
	struct journal *j = r->j;
	struct repl_trace *t;
	size_t len = 0, cap = 256;
	int64_t sent = 0;
	int i;

	if (!r->trace || j->nbatch == 0 || j->seq <= j->durable)
		return;
	/* a batch whose sync was put off (master.c, defer_sync) and grew since: traced again */
	if (r->ntr > 0 && r->tr[r->ntr - 1].synced_us == 0 && r->tr[r->ntr - 1].lo == j->durable + 1) {
		sent = r->tr[r->ntr - 1].sent_us;
		free(r->tr[--r->ntr].ids);
	}
	if (r->ntr == REPL_TRACE) {		/* never committed: forgotten */
		free(r->tr[0].ids);
		memmove(&r->tr[0], &r->tr[1], (REPL_TRACE - 1) * sizeof(r->tr[0]));
		r->ntr--;
	}
	t = &r->tr[r->ntr++];
	memset(t, 0, sizeof(*t));
	t->lo = j->durable + 1;
	t->hi = j->seq;
	t->put_us = j->batch_us;
	t->sent_us = sent;
	t->ids = xmalloc(cap);
	t->ids[0] = '\0';
	for (i = 0; i < j->npend; i++) {
		cJSON *ev;
		const char *id, *e;

		if (j->pend[i].kind != 'e' || (ev = json_parse(j->pend[i].txt, strlen(j->pend[i].txt))) == NULL)
			continue;
		id = json_str(ev, "id");
		e = json_str(ev, "e");
		while (len + 2 + (id ? strlen(id) : 1) + (e ? strlen(e) : 1) + 1 >= cap)
			t->ids = xreallocarray(t->ids, cap *= 2, 1);
		len += (size_t)sprintf(t->ids + len, "%s%s/%s", len ? " " : "", id ? id : "-", e ? e : "-");
		cJSON_Delete(ev);
	}
}

void
repl_trace_synced(struct repl *r)
{
	struct repl_trace *t = r->ntr > 0 ? &r->tr[r->ntr - 1] : NULL;

	if (t != NULL && t->synced_us == 0 && t->hi <= r->j->durable) {
		t->synced_us = clock_mono_us();
		t->sync_us = r->j->sync_us;
	}
}

/* Batches whose append went to a standby (the first) are marked sent. */
static void
trace_sent(struct repl *r)
{
	int i, k;

	for (i = 0; i < r->ntr; i++) {
		if (r->tr[i].sent_us != 0)
			continue;
		for (k = 0; k < r->c.nsb && r->c.sb[k].snext <= r->tr[i].hi; k++)
			;
		if (k < r->c.nsb)
			r->tr[i].sent_us = clock_mono_us();
	}
}

/* Batches the commit point passed: one line each. */
static void
trace_committed(struct repl *r, uint64_t cp)
{
	int64_t now = clock_mono_us();
	int i, k;

	for (i = k = 0; i < r->ntr; i++) {
		struct repl_trace *t = &r->tr[i];

		if (t->hi > cp || t->synced_us == 0) {
			r->tr[k++] = *t;
			continue;
		}
		log_info("trace commit %llu-%llu put %.3f sent %+.3f durable %+.3f (sync %.3f) "
		    "committed %+.3f ms: %s", (unsigned long long)t->lo, (unsigned long long)t->hi,
		    wall_ms(t->put_us), t->sent_us ? (t->sent_us - t->put_us) / 1000.0 : -1.0,
		    (t->synced_us - t->put_us) / 1000.0, t->sync_us / 1000.0,
		    (now - t->put_us) / 1000.0, t->ids);
		free(t->ids);
	}
	r->ntr = k;
}

void
repl_pump(struct repl *r, msec_t now)
{
	struct rc_log lg;

	if (r->mctl != NULL)
		acall_tick(r->mctl, now);
	view_due(r, now);
	link_tick(r->link, now);
	lg = facts(r);
	rc_tick(&r->c, &lg, now);
	master_act(r, now);
	log_wait(r, now);
	if (r->ntr > 0)
		trace_sent(r);
}

void
repl_receive(struct repl *r, msec_t now)
{
	cJSON *whole, *b;
	uint64_t uid;

	while ((b = next_msg(r, &whole, &uid)) != NULL) {
		struct rc_log lg = facts(r);

		rc_master_msg(&r->c, &lg, uid, b, now);
		master_act(r, now);	/* before whole goes: a store or merge reads it */
		cJSON_Delete(whole);
	}
	repl_pump(r, now);
}

uint64_t
repl_commit_point(struct repl *r)
{
	struct rc_log lg = facts(r);
	uint64_t cp = rc_commit_point(&r->c, &lg);

	if (r->ntr > 0)
		trace_committed(r, cp);
	return cp;
}

int
repl_waiting(struct repl *r, msec_t now, char *buf, size_t len)
{
	struct rc_log lg = facts(r);

	return rc_waiting(&r->c, &lg, now, buf, len);
}

void
repl_own_merged(struct repl *r, uint64_t upto, uint64_t need)
{
	rc_own_merged(&r->c, upto, need);
}

msec_t
repl_next_deadline(const struct repl *r)
{
	msec_t d = rc_next_deadline(&r->c), l = link_deadline(r->link);

	if (l >= 0 && (d < 0 || l < d))
		d = l;
	if (r->mctl != NULL && (l = acall_deadline(r->mctl)) >= 0 && (d < 0 || l < d))
		d = l;
	return d < 0 || r->next_view < d ? r->next_view : d;
}

/* A message over the journal link, from member uid (link.c vouches for it). */
static void standby_msg(struct repl *, uint64_t from, cJSON *b);

static void
link_msg(void *arg, uint64_t uid, cJSON *b)
{
	struct repl *r = arg;
	struct rc_log lg;

	if (json_str(b, "m") == NULL || !our_version(r, b, "?")) {
		r->c.dropped++;
		cJSON_Delete(b);
		return;
	}
	if (r->standby) {
		standby_msg(r, uid, b);
	} else {
		lg = facts(r);
		rc_master_msg(&r->c, &lg, uid, b, clock_mono_ms());
		master_act(r, clock_mono_ms());	/* before b goes: a store or merge reads it */
	}
	cJSON_Delete(b);
}

void
repl_link_start(struct repl *r, struct loop *l)
{
	r->link = link_new(l, r->cfg, link_msg, r);
	/* the master's view of the members, asked in its loop (view_due) */
	if (!r->standby && (r->mctl = acall_new(l, r->cfg, SOCK_MEMBERD_CTL)) == NULL)
		log_warnx("memberd's control socket: the view of the members blocks the loop");
}

cJSON *
repl_link_json(const struct repl *r, msec_t now)
{
	cJSON *o = link_json(r->link, now), *rl = cJSON_AddObjectToObject(o, "relay");

	cJSON_AddNumberToObject(rl, "sent", (double)r->relay_sent);
	cJSON_AddNumberToObject(rl, "received", (double)r->relay_received);
	return o;
}

/* ---- the standby ---- */

/*
 * Makes what was stored durable, then sends the acks that waited for it:
 * when an ack waits, or always with force (before a promise, a fetch's
 * answer or the end); what lazy appends wrote waits otherwise for its
 * own time (rc_standby_tick).
 */
static int
standby_sync(struct repl *r, int force)
{
	char err[512];
	int i;

	uint64_t lo = r->j->durable + 1, hi = r->j->seq;
	int64_t put = r->j->batch_us;
	int n = r->nacks > 0 || force ? r->j->nbatch : 0;

	if (r->failed)
		return -1;
	if (n > 0 && journal_commit(r->j, err, sizeof(err)) < 0) {
		/* final: acked on a sync that failed would be a lie; the loop stops */
		fail(r, err);
		r->nacks = 0;
		return -1;
	}
	if (r->trace && n > 0)
		log_info("trace standby sync %llu-%llu put %.3f durable %+.3f (sync %.3f) ms, "
		    "%d ack%s", (unsigned long long)lo, (unsigned long long)hi, wall_ms(put),
		    (clock_mono_us() - put) / 1000.0, r->j->sync_us / 1000.0, r->nacks,
		    r->nacks == 1 ? "" : "s");
	for (i = 0; i < r->nacks; i++) {
		cJSON *a = rc_msg(JMSG_ACK);

		r->dlast = r->j->seq;
		r->drlast = r->acks[i].resend ? r->j->seq : r->acks[i].rlast;
		json_add_u64(a, "last", r->dlast);
		json_add_u64(a, "rlast", r->drlast);
		relay(r, r->acks[i].to, a);
	}
	r->nacks = 0;
	return 0;
}

/*
 * A lazy append's answer, at once and unsynced: written up to the log's
 * end (wlast) and rlast (wrlast); durable ("last", "rlast") as the last
 * durable ack said, so that a master counts nothing more for it.
 */
static void
standby_written(struct repl *r, uint64_t to, uint64_t rlast)
{
	cJSON *a = rc_msg(JMSG_ACK);

	json_add_u64(a, "last", r->dlast < r->j->durable ? r->dlast : r->j->durable);
	json_add_u64(a, "rlast", r->drlast);
	json_add_u64(a, "wlast", r->j->seq);
	json_add_u64(a, "wrlast", rlast);
	relay(r, to, a);
	r->written_acks++;
}

/* Carries out a standby's actions; stops at a failed write. */
static void
standby_act(struct repl *r)
{
	char err[512];
	int i, rc;

	for (i = 0; i < r->c.nout; i++) {
		struct rc_action *a = &r->c.out[i];
		uint64_t last = r->j->seq, ep = r->j->last_ep, rlast = 0;
		long n;
		cJSON *m, *items;

		/* anything but storing and acking starts from a synced log */
		if (a->type != RC_STORE && a->type != RC_ACK && standby_sync(r, 1) < 0)
			break;
		switch (a->type) {
		case RC_SEND:
			relay(r, a->to, a->body);
			a->body = NULL;
			break;
		case RC_BATCH:
			m = rc_msg(JMSG_BATCH);
			journal_read(r->j, a->from, a->rfrom, BATCH_BYTES, a->snap_off, m);
			relay(r, a->to, m);
			break;
		case RC_PROMISE:
			if (journal_promise(r->j, a->ep, err, sizeof(err)) < 0) {
				fail(r, err);
				goto stop;
			}
			break;
		case RC_KEEP_ASIDE:
			if ((n = journal_salvage(r->j, a->seq, expand, err, sizeof(err))) < 0) {
				fail(r, err);
				goto stop;
			}
			log_notice("standby: events %llu-%llu (epoch %llu) are not in the master's log: "
			    "%ld kept aside to merge", (unsigned long long)a->seq + 1,
			    (unsigned long long)last, (unsigned long long)ep, n);
			break;
		case RC_STORE:
			json_u64(a->body, "rlast", &rlast);
			if ((rc = store(r, a->body, err, sizeof(err))) < 0 && r->failed)
				goto stop;
			if (rc < 0)
				log_warnx("standby: %s", err);
			{
				struct rc_log lg = facts(r);

				/* its answer joins the outbox, after the actions taken so far */
				rc_standby_stored(&r->c, &lg, a->to, rc, r->asm_len, rlast, a->flag,
				    clock_mono_ms());
			}
			break;
		case RC_ACK:
			if (a->flag) {
				standby_written(r, a->to, a->rlast);
				break;
			}
			if (r->nacks == REPL_ACKS && standby_sync(r, 1) < 0)
				goto stop;
			r->acks[r->nacks++] = (struct repl_ack){ a->to, a->rlast, a->has_trunc };
			break;
		case RC_SALVAGE_SEND:
			m = rc_msg(JMSG_SALVAGE);
			items = cJSON_AddArrayToObject(m, "evs");
			if ((last = journal_salvage_read(r->j, r->j->o_first, BATCH_BYTES, items)) == 0) {
				cJSON_Delete(m);
				break;
			}
			json_add_u64(m, "upto", last);
			relay(r, a->to, m);
			break;
		case RC_SALVAGE_DROP:
			if (journal_salvage_drop(r->j, a->seq, err, sizeof(err)) < 0) {
				fail(r, err);	/* a failed write is final (journal.c, write_failed) */
				goto stop;
			} else if (r->j->o_first >= r->j->o_next)
				log_info("standby: the master merged everything this log kept aside");
			break;
		case RC_APPEND:
		case RC_MERGE:
		case RC_RECOVERED:
		case RC_DEPOSED:
			break;		/* the master's */
		}
	}
stop:
	rc_clear(&r->c);
}

/* One message from the master; what it stored is synced later, with the rest of the wake-up. */
static void
standby_msg(struct repl *r, uint64_t from, cJSON *b)
{
	int again, n;

	for (again = 1, n = 0; again && n < 2; n++) {
		struct rc_log lg = facts(r);

		again = rc_standby_msg(&r->c, &lg, from, b, clock_mono_ms());
		standby_act(r);
	}
}

/*
 * Every relayed message waiting; the loop then makes one sync for all that
 * was stored in the wake-up, by either path (group commit), then the acks.
 */
static void
standby_receive(int fd, short ev, void *arg)
{
	struct repl *r = arg;
	cJSON *whole, *b;
	uint64_t from;

	(void)fd;
	(void)ev;
	while (!r->failed && (b = next_msg(r, &whole, &from)) != NULL) {
		standby_msg(r, from, b);
		cJSON_Delete(whole);
	}
}

int
repl_standby_main(const struct akc_config *cfg, const char *name, const char *dir)
{
	struct journal j;
	struct repl r;
	struct loop *l;
	char err[1024];
	unsigned long sigs;

	if (journal_open(&j, dir, err, sizeof(err)) < 0 || journal_scan(&j, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		log_errx("the standby refuses to start; see master(8), RECOVERY");
		return 1;
	}
	if (repl_open(&r, cfg, name, &j, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	l = loop_new();
	loop_catch(l, SIGTERM);
	loop_catch(l, SIGINT);
	loop_watch(l, repl_fd(&r), POLLIN, standby_receive, &r);
	r.standby = 1;
	repl_link_start(&r, l);
	log_info("standby of %s: journal %s at event %llu (epoch %llu), promised epoch %llu%s", name,
	    dir, (unsigned long long)j.seq, (unsigned long long)j.last_ep,
	    (unsigned long long)journal_promised(&j),
	    j.o_first < j.o_next ? ", with events kept aside to merge" : "");
	for (;;) {
		struct rc_log lg;
		msec_t now, d;

		/* what the last wake-up stored, by either path, in one sync; then its acks */
		standby_sync(&r, 0);
		sigs = loop_signals(l);
		if (r.failed || (sigs & ((1UL << SIGTERM) | (1UL << SIGINT))))
			break;
		now = clock_mono_ms();
		link_tick(r.link, now);
		lg = facts(&r);
		rc_standby_tick(&r.c, &lg, now);
		standby_act(&r);
		if (standby_sync(&r, 0) < 0)
			break;
		d = link_deadline(r.link);
		if (d < 0 || d > now + STANDBY_TICK)
			d = now + STANDBY_TICK;
		if (rc_standby_deadline(&r.c) >= 0 && rc_standby_deadline(&r.c) < d)
			d = rc_standby_deadline(&r.c);
		loop_poll(l, d);
	}
	/*
	 * What lazy appends wrote is not left behind by a clean stop (a
	 * hand-over); a failed sync there is a failure as any other: said,
	 * and exit 1 (it was dropped unsaid, exit 0).
	 */
	if (!r.failed)
		standby_sync(&r, 1);
	/*
	 * A failed sync, promise or salvage write is final (after a failed
	 * fdatasync Linux marks the pages clean: a retry would "succeed"):
	 * stop, unacked; singletond starts the standby again, whose open
	 * replays what its write-ahead file holds (master(8), RECOVERY).
	 */
	if (r.failed) {
		log_errx("standby: %s: stopping (nothing it failed to sync was acknowledged)", r.err);
		repl_close(&r);
		loop_free(l);
		journal_close(&j);
		return 1;
	}
	link_summary(r.link, err, sizeof(err));
	log_info("standby of %s: stopping at event %llu (%llu syncs, %llu appends written lazily; "
	    "%s; relay: %llu messages sent, %llu received)", name, (unsigned long long)j.seq,
	    (unsigned long long)j.commits, (unsigned long long)r.written_acks, err,
	    (unsigned long long)r.relay_sent, (unsigned long long)r.relay_received);
	repl_close(&r);
	loop_free(l);
	journal_close(&j);
	return 0;
}
