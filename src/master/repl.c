/* repl.c: the master's journal replication to its standbys (see repl.h). */
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

#include "json.h"
#include "log.h"
#include "membership.h"
#include "proto.h"
#include "repl.h"
#include "sock.h"
#include "work.h"

#define BATCH_BYTES	(512 * 1024)	/* events per append or fetch answer; salvage per piece */
#define RESEND		1000		/* an append unanswered this long goes again */
#define PREPARE_EVERY	300
#define QUORUM_GRACE	1000		/* after a majority promised, the others may still */
#define SALVAGE_RESEND	2000		/* a salvage piece not acknowledged goes again */
#define EPOCH_TAG_BITS	20

/*
 * Epochs, and why they look the way they do:
 *
 * 1. A new master takes the round above the highest epoch it knows (its
 *    journal's promise and last event); a standby that promised a higher
 *    one says so (reject) and the master takes the round above that.
 * 2. A standby promises an epoch to one master only, and a master needs
 *    promises from a majority of the replica set, so within one cluster
 *    each epoch has one master. A split made by hand (both sides down each
 *    other, different replica sets, a journal moved aside) can give two
 *    masters the same round: the low EPOCH_TAG_BITS bits of an epoch are
 *    random, so their epochs still differ, and two logs that hold an event
 *    of one epoch at one seq hold the same events up to there. That is what
 *    lets epochs alone find where two logs part (epochs.h).
 * 3. Weak points: two masters of one round draw the same tag once in 2^20;
 *    journals from before the tag have epochs 1, 2, ... and stay below
 *    every new one, as they must.
 */
static uint64_t
next_epoch(uint64_t known)
{
	uint32_t tag = 0;

	while (tag == 0) {
		if (getrandom(&tag, sizeof(tag), 0) != sizeof(tag))
			fatal("getrandom");
		tag &= (1U << EPOCH_TAG_BITS) - 1;
	}
	return (((known >> EPOCH_TAG_BITS) + 1) << EPOCH_TAG_BITS) | tag;
}

/* ---- memberd's relay ---- */

static void
relay(struct repl *r, uint64_t to, cJSON *body)
{
	cJSON *req = cJSON_CreateObject(), *o;
	char *txt;

	cJSON_AddNumberToObject(req, "v", PROTO_VERSION);
	o = cJSON_AddObjectToObject(req, "relay");
	json_add_u64(o, "to", to);
	cJSON_AddStringToObject(o, "svc", r->svc);
	json_add_u64(body, "ep", r->epoch);
	cJSON_AddNumberToObject(body, "jv", JOURNAL_VERSION);
	cJSON_AddItemToObject(o, "body", body);
	txt = json_print(req);
	if (sock_send(r->push, txt, strlen(txt)) < 0)
		log_debug("relay to memberd failed: %s", nn_strerror(nn_errno()));
	cJSON_free(txt);
	cJSON_Delete(req);
}

static cJSON *
msg(const char *m)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "m", m);
	return b;
}

/* The next relayed message for us: its body (caller frees *whole), sender in *from. */
static cJSON *
next_msg(struct repl *r, cJSON **whole, uint64_t *from)
{
	void *buf;
	ssize_t n;
	size_t tl = strlen(r->topic);

	while ((n = sock_recv(r->sub, &buf)) >= 0) {
		cJSON *m = NULL, *f, *b;
		long jv;

		if ((size_t)n > tl && memcmp(buf, r->topic, tl) == 0)
			m = json_parse((char *)buf + tl, (size_t)n - tl);
		nn_freemsg(buf);
		if (m != NULL && (f = cJSON_GetObjectItemCaseSensitive(m, "from")) != NULL &&
		    json_u64(f, "uid", from) == 0 &&
		    cJSON_IsObject(b = cJSON_GetObjectItemCaseSensitive(m, "body")) &&
		    json_str(b, "m") != NULL) {
			if (json_int(b, "jv", 0, 1000000, &jv) == 0 && jv == JOURNAL_VERSION) {
				*whole = m;
				return b;
			}
			/* a node of another version: it cannot take part */
			if (r->dropped_version++ == 0)
				log_warnx("dropped a journal message of another protocol version from "
				    "node %.64s: every node with the role needs this version of akc",
				    json_str(f, "node") ? json_str(f, "node") : "?");
		}
		r->dropped++;
		cJSON_Delete(m);
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

static int
in_set(const struct repl *r, const char *addr)
{
	int k;

	for (k = 0; k < r->nset; k++)
		if (strcmp(r->cfg->replica_nodes[k], addr) == 0)
			return 1;
	return 0;
}

int
repl_open(struct repl *r, const struct akc_config *cfg, const char *name, struct journal *j,
    char *err, size_t errlen)
{
	char addr[CONF_PATH_MAX + 32];
	int k;

	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->j = j;
	snprintf(r->svc, sizeof(r->svc), "journal.%s", name);
	snprintf(r->topic, sizeof(r->topic), "%s\n", r->svc);
	snprintf(r->role, sizeof(r->role), "%s", role_of(cfg, name));
	r->nset = cfg->nreplica_nodes;
	r->quorum = r->nset / 2 + 1;
	r->self_in_set = in_set(r, cfg->address);
	for (k = 0; k < r->nset; k++)
		snprintf(r->set_who[k], sizeof(r->set_who[k]), "not a member");
	config_ipc_path(cfg, SOCK_MEMBERD_RELAY, addr, sizeof(addr));
	if ((r->push = sock_connect(NN_PUSH, addr, 1024, 1000)) < 0)
		goto fail;
	config_ipc_path(cfg, SOCK_MEMBERD_SVC, addr, sizeof(addr));
	if ((r->sub = sock_connect(NN_SUB, addr, 2 * RELAY_MAX_MSG, 1000)) < 0)
		goto fail;
	nn_setsockopt(r->sub, NN_SUB, NN_SUB_SUBSCRIBE, r->topic, strlen(r->topic));
	return 0;
fail:
	snprintf(err, errlen, "cannot reach memberd's relay in %s", cfg->run_dir);
	return -1;
}

void
repl_close(struct repl *r)
{
	free(r->asm_buf);
	r->asm_buf = NULL;
	sock_close(r->push);
	sock_close(r->sub);
}

int
repl_fd(const struct repl *r)
{
	return sock_rcvfd(r->sub);
}

static int
is_standby(const struct repl *r, const struct member *m)
{
	return m->uid != r->self && member_has_role(m, r->role) &&
	    (m->status == MS_UP || m->status == MS_LEAVING);
}

/* Who is at each address of the replica set, for the logs. */
static void
set_who(struct repl *r, const struct mstate *st)
{
	int i, k;

	for (k = 0; k < r->nset; k++) {
		const char *a = r->cfg->replica_nodes[k];

		snprintf(r->set_who[k], sizeof(r->set_who[k]), "not a member");
		for (i = 0; i < st->n; i++) {
			const struct member *m = &st->m[i];

			if (strcmp(m->address, a) != 0)
				continue;
			if (is_standby(r, m) || m->uid == r->self) {
				snprintf(r->set_who[k], sizeof(r->set_who[k]), "%s", m->name);
				break;	/* an older incarnation does not matter */
			}
			if (!member_has_role(m, r->role))
				snprintf(r->set_who[k], sizeof(r->set_who[k]), "%s: without role %s",
				    m->name, r->role);
			else
				snprintf(r->set_who[k], sizeof(r->set_who[k]), "%s: %s", m->name,
				    mstatus_name(m->status));
		}
	}
}

int
repl_view(struct repl *r, msec_t now)
{
	char err[256];
	cJSON *rsp;
	struct mstate st;
	struct standby keep[REPL_MAX_STANDBYS];
	int i, k, n = 0;

	r->next_view = now + 1000;
	if (ctl_call(r->cfg, SOCK_MEMBERD_CTL, ctl_request("state"), &rsp, 1000, err, sizeof(err)) < 0)
		return -1;
	mstate_init(&st);
	if (json_u64(rsp, "self", &r->self) < 0 ||
	    mstate_from_json(cJSON_GetObjectItemCaseSensitive(rsp, "state"), &st) < 0) {
		mstate_free(&st);
		cJSON_Delete(rsp);
		return -1;
	}
	for (i = 0; i < st.n && n < REPL_MAX_STANDBYS; i++) {
		const struct member *m = &st.m[i];

		if (!is_standby(r, m))
			continue;
		for (k = 0; k < r->nsb && r->sb[k].uid != m->uid; k++)
			;
		if (k < r->nsb)
			keep[n] = r->sb[k];
		else {
			memset(&keep[n], 0, sizeof(keep[n]));
			keep[n].uid = m->uid;
			/* from the start: it tells us where it stands (ack) or what it needs */
			keep[n].next = keep[n].rnext = 1;
			log_info("standby %s (%s%s): replicating to it", m->name, m->address,
			    in_set(r, m->address) ? ", in the replica set" : "");
		}
		snprintf(keep[n].name, sizeof(keep[n].name), "%s", m->name);
		snprintf(keep[n].addr, sizeof(keep[n].addr), "%s", m->address);
		/* the set's own address is ours: an old incarnation of this node does not count */
		keep[n].in_set = in_set(r, m->address) && strcmp(m->address, r->cfg->address) != 0;
		n++;
	}
	for (k = 0; k < r->nsb; k++) {
		for (i = 0; i < n && keep[i].uid != r->sb[k].uid; i++)
			;
		if (i == n)
			log_info("standby %s left", r->sb[k].name);
	}
	memcpy(r->sb, keep, (size_t)n * sizeof(*keep));
	r->nsb = n;
	set_who(r, &st);
	mstate_free(&st);
	cJSON_Delete(rsp);
	return 0;
}

static struct standby *
find_sb(struct repl *r, uint64_t uid)
{
	int i;

	for (i = 0; i < r->nsb; i++)
		if (r->sb[i].uid == uid)
			return &r->sb[i];
	return NULL;
}

/* A standby's epoch runs as told in its promise or need (read only). */
static void
runs_of(const struct standby *s, struct epochs *e)
{
	memset(e, 0, sizeof(*e));
	e->v = (struct epoch_run *)s->runs;
	e->n = s->nruns;
	e->lo = s->runs_lo;
}

/* Reads "last", "last_ep" and "eps" of a promise or need into s; -1 if malformed. */
static int
read_state(struct standby *s, const cJSON *b)
{
	struct epochs e;
	int rc = -1;

	epochs_init(&e);
	if (json_u64(b, "last", &s->last) == 0 && json_u64(b, "last_ep", &s->last_ep) == 0 &&
	    epochs_from_json(&e, cJSON_GetObjectItemCaseSensitive(b, "eps")) == 0 &&
	    e.n <= EPOCHS_MSG_MAX) {
		memcpy(s->runs, e.v, (size_t)e.n * sizeof(*e.v));
		s->nruns = e.n;
		s->runs_lo = e.lo;
		rc = 0;
	}
	epochs_free(&e);
	return rc;
}

/*
 * Where the log of standby s (as read_state read it) parts from ours: from
 * then on it gets what follows, and if it holds more, it keeps that aside
 * and cuts its log there first (trunc).
 */
static void
place(struct repl *r, struct standby *s)
{
	struct epochs theirs;
	uint64_t cp;

	runs_of(s, &theirs);
	cp = epochs_common(&r->j->eps, r->j->seq, &theirs, s->last);
	s->trunc_set = cp < s->last;
	if (s->trunc_set) {
		s->trunc = cp;
		log_info("standby %s: its log parts from this one after event %llu (it ends at %llu, "
		    "epoch %llu): it keeps the rest aside for a merge", s->name,
		    (unsigned long long)cp, (unsigned long long)s->last, (unsigned long long)s->last_ep);
	}
	s->next = s->rnext = (s->trunc_set ? cp : s->last) + 1;
	s->snap_off = 0;
	s->sent_at = 0;
}

/* The k-th highest of a[0..n) (k from 1), 0 if there are fewer; sorts a partly. */
static uint64_t
kth_highest(uint64_t *a, int n, int k)
{
	uint64_t t;
	int i, m;

	if (k > n || k <= 0)
		return 0;
	for (i = 0; i < k; i++)
		for (m = i + 1; m < n; m++)
			if (a[m] > a[i]) {
				t = a[i];
				a[i] = a[m];
				a[m] = t;
			}
	return a[k - 1];
}

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

/* ---- storing what came from elsewhere (standby appends, recovery fetches) ---- */

/*
 * Stores a batch (an append, or a fetch answer); 0 done, 1 a snapshot piece
 * was kept and more are to come, -1 with the reason.
 */
static int
store(struct repl *r, const cJSON *b, char *err, size_t errlen)
{
	struct journal *j = r->j;
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(b, "snapc"), *o;
	uint64_t seq, off, total;

	if (sc != NULL) {
		const char *data = json_str(sc, "data");
		size_t n;
		cJSON *snap;

		if (data == NULL || json_u64(sc, "seq", &seq) < 0 || json_u64(sc, "off", &off) < 0 ||
		    json_u64(sc, "total", &total) < 0 || total > 1ULL << 34) {
			snprintf(err, errlen, "a malformed snapshot piece");
			return -1;
		}
		n = strlen(data);
		if (off == 0) {
			free(r->asm_buf);
			if ((r->asm_buf = malloc(total + 1)) == NULL)
				fatal("malloc");
			r->asm_len = 0;
			r->asm_total = total;
			r->asm_seq = seq;
		}
		if (r->asm_buf == NULL || seq != r->asm_seq || off != r->asm_len ||
		    total != r->asm_total || r->asm_len + n > total) {
			snprintf(err, errlen, "a snapshot piece out of order");
			return -1;
		}
		memcpy(r->asm_buf + r->asm_len, data, n);
		r->asm_len += n;
		if (r->asm_len < r->asm_total)
			return 1;
		snap = json_parse(r->asm_buf, r->asm_len);
		free(r->asm_buf);
		r->asm_buf = NULL;
		r->asm_len = 0;
		if (snap == NULL) {
			snprintf(err, errlen, "a snapshot that does not parse");
			return -1;
		}
		if (journal_wipe(j, err, errlen) < 0) {
			cJSON_Delete(snap);
			return -1;
		}
		journal_store_snapshot(j, seq, snap);
		cJSON_Delete(snap);
	}
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(b, "events")) {
		const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "ev");

		if (json_u64(o, "seq", &seq) < 0 || !cJSON_IsObject(ev) || seq != j->seq + 1) {
			snprintf(err, errlen, "a replicated event out of order");
			return -1;
		}
		journal_store(j, seq, ev);
	}
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(b, "results")) {
		const cJSON *line = cJSON_GetObjectItemCaseSensitive(o, "line");

		if (json_u64(o, "seq", &seq) == 0 && cJSON_IsObject(line)) {
			journal_put_result(j, seq, line);
			j->nbatch++;
		}
	}
	return journal_commit(j, err, errlen);
}

/* ---- the active master ---- */

/*
 * The rules of a quorum, and why:
 *
 * 1. The replica set is fixed by configuration, the same on every node,
 *    not by the membership: two sides of a split each see themselves as the
 *    whole cluster, but only one can hold a majority of a fixed set.
 * 2. A new epoch needs promises from a majority of the set (this node
 *    counting when it is in the set); an event is acknowledged only once it
 *    is durable on a majority of the set. Any two majorities share a node,
 *    so a recovery always hears from a node that holds every acknowledged
 *    event, and the best log among those that promised (highest last epoch,
 *    then longest) holds them all: a log that ends in a later epoch got its
 *    events from a master that had recovered them itself.
 * 3. Events of older epochs that a recovery copies are acknowledged only
 *    once an event of the new epoch above them (its epoch marker) is on a
 *    majority: until then they may be on a minority only and a later
 *    recovery may not see them, so the master answers nothing before (Raft's
 *    rule for entries of earlier terms).
 * 4. Standbys outside the set (and `replicas`, an extra lower bound) get
 *    everything too; they only do not count towards a majority.
 * 5. Weak points: with the set's majority unreachable the master waits (it
 *    says for whom); with an empty set (no replica-nodes, no seed-nodes) the
 *    old rule holds: a recovery waits for every standby it sees, and only
 *    replicas = the number of standbys protects against a split.
 */
static int
promised_in_set(const struct repl *r)
{
	int i, k, n = r->self_in_set;

	for (k = 0; k < r->nset; k++)
		for (i = 0; i < r->nsb; i++)
			if (r->sb[i].promised && r->sb[i].in_set &&
			    strcmp(r->sb[i].addr, r->cfg->replica_nodes[k]) == 0) {
				n++;
				break;
			}
	return n;
}

static int
set_promised(const struct repl *r, const char *addr)
{
	int i;

	for (i = 0; i < r->nsb; i++)
		if (r->sb[i].promised && strcmp(r->sb[i].addr, addr) == 0)
			return 1;
	return 0;
}

static void
log_waiting(const struct repl *r)
{
	char who[2048];
	size_t len = 0;
	int i, k;

	who[0] = '\0';
	if (r->nset == 0) {
		for (i = 0; i < r->nsb; i++)
			if (!r->sb[i].promised)
				log_warnx("recovery waits for the standby on %s (is singletond "
				    "running there, with standby-command?)", r->sb[i].name);
		return;
	}
	for (k = 0; k < r->nset && len < sizeof(who); k++) {
		const char *a = r->cfg->replica_nodes[k];

		if (strcmp(a, r->cfg->address) == 0 || set_promised(r, a))
			continue;
		len += (size_t)snprintf(who + len, sizeof(who) - len, "%s%s (%s)", len ? ", " : "", a,
		    r->set_who[k]);
	}
	log_warnx("recovery waits for a majority of the replica set: %d of %d needed promised; "
	    "no promise yet from %s", promised_in_set(r), r->quorum, who);
}

static void
prepare_all(struct repl *r)
{
	int i;

	for (i = 0; i < r->nsb; i++)
		if (!r->sb[i].promised)
			relay(r, r->sb[i].uid, msg("prepare"));
}

/* Copies the log of standby best from our end on; blocks until done. */
static int
fetch(struct repl *r, struct standby *best, char *err, size_t errlen)
{
	msec_t sent = 0, started = clock_mono_ms();
	uint64_t from, rfrom;

	from = r->j->seq + 1;
	rfrom = from;
	while (from <= best->last || rfrom <= best->last) {
		struct pollfd p = { .fd = repl_fd(r), .events = POLLIN };
		msec_t now = clock_mono_ms();
		cJSON *whole, *b;
		uint64_t uid, last, rlast, ep;

		if (now - started > 300000) {
			snprintf(err, errlen, "copying the log of %s takes too long", best->name);
			return -1;
		}
		if (now - sent > RESEND) {
			cJSON *m = msg("fetch");

			json_add_u64(m, "from", from);
			json_add_u64(m, "rfrom", rfrom);
			json_add_u64(m, "snap_off", r->asm_len);
			relay(r, best->uid, m);
			sent = now;
		}
		poll(&p, 1, 100);
		while ((b = next_msg(r, &whole, &uid)) != NULL) {
			if (uid == best->uid && strcmp(json_str(b, "m"), "batch") == 0 &&
			    json_u64(b, "ep", &ep) == 0 && ep == r->epoch &&
			    json_u64(b, "last", &last) == 0 && json_u64(b, "rlast", &rlast) == 0 &&
			    (cJSON_GetObjectItemCaseSensitive(b, "snapc") != NULL || last + 1 >= from)) {
				int rc = store(r, b, err, errlen);

				if (rc < 0) {
					cJSON_Delete(whole);
					return -1;
				}
				if (rc == 0) {
					from = r->j->seq + 1;
					rfrom = rlast + 1;
				}
				sent = 0;
			}
			cJSON_Delete(whole);
		}
	}
	log_info("journal: copied the log of %s up to event %llu", best->name,
	    (unsigned long long)r->j->seq);
	return 0;
}

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

/* Waits for the promises a new epoch needs; 0, or -1 when memberd is gone. */
static int
gather_promises(struct repl *r, char *err, size_t errlen)
{
	msec_t now, next_prepare = 0, next_log, quorum_at = 0;
	uint64_t known = journal_promised(r->j);
	int i, all;

	if (r->j->last_ep > known)
		known = r->j->last_ep;
	r->epoch = next_epoch(known);
	next_log = clock_mono_ms() + 5000;
	for (;;) {
		struct pollfd p;
		cJSON *whole, *b;
		uint64_t uid, v;

		now = clock_mono_ms();
		if (now >= r->next_view && repl_view(r, now) < 0) {
			snprintf(err, errlen, "memberd does not answer");
			return -1;
		}
		for (all = 1, i = 0; i < r->nsb; i++)
			all &= r->sb[i].promised;
		if (r->nset == 0) {
			if (all)
				return 0;
		} else if (promised_in_set(r) >= r->quorum) {
			/* a majority: the others get a moment, their logs may be the best */
			if (quorum_at == 0)
				quorum_at = now;
			if (all || now - quorum_at >= QUORUM_GRACE)
				return 0;
		} else
			quorum_at = 0;
		if (now >= next_prepare) {
			prepare_all(r);
			next_prepare = now + PREPARE_EVERY;
		}
		if (now >= next_log) {
			log_waiting(r);
			next_log = now + 5000;
		}
		p.fd = repl_fd(r);
		p.events = POLLIN;
		poll(&p, 1, 100);
		while ((b = next_msg(r, &whole, &uid)) != NULL) {
			struct standby *s = find_sb(r, uid);
			const char *m = json_str(b, "m");

			if (strcmp(m, "promise") == 0 && s != NULL && json_u64(b, "ep", &v) == 0 &&
			    v == r->epoch) {
				if (read_state(s, b) == 0)
					s->promised = 1;
				else
					r->dropped++;
			} else if (strcmp(m, "reject") == 0 && json_u64(b, "promised", &v) == 0 &&
			    v >= r->epoch) {
				r->epoch = next_epoch(v);
				log_info("a standby promised epoch %llu: trying %llu",
				    (unsigned long long)v, (unsigned long long)r->epoch);
				for (i = 0; i < r->nsb; i++)
					r->sb[i].promised = 0;
				quorum_at = 0;
				next_prepare = 0;
			}
			cJSON_Delete(whole);
		}
	}
}

int
repl_recover(struct repl *r, char *err, size_t errlen)
{
	struct standby *best = NULL;
	int i, np = 0;

	if (gather_promises(r, err, errlen) < 0 || journal_promise(r->j, r->epoch, err, errlen) < 0)
		return -1;
	for (i = 0; i < r->nsb; i++) {
		struct standby *s = &r->sb[i];

		if (!s->promised)
			continue;
		np++;
		if (s->last_ep > r->j->last_ep || (s->last_ep == r->j->last_ep && s->last > r->j->seq))
			if (best == NULL || s->last_ep > best->last_ep ||
			    (s->last_ep == best->last_ep && s->last > best->last))
				best = s;
	}
	if (r->nset > 0)
		log_notice("epoch %llu: promised by %d of the replica set (%d needed) and %d of %d "
		    "standby%s; this log ends at event %llu (epoch %llu)%s%s",
		    (unsigned long long)r->epoch, promised_in_set(r), r->quorum, np, r->nsb,
		    r->nsb == 1 ? "" : "s", (unsigned long long)r->j->seq,
		    (unsigned long long)r->j->last_ep, best ? ", the best is on " : "",
		    best ? best->name : "");
	else
		log_notice("epoch %llu: %d standby%s promised; this log ends at event %llu (epoch %llu)%s%s",
		    (unsigned long long)r->epoch, r->nsb, r->nsb == 1 ? "" : "s",
		    (unsigned long long)r->j->seq, (unsigned long long)r->j->last_ep,
		    best ? ", the best is on " : "", best ? best->name : "");
	if (best != NULL) {
		struct epochs theirs;
		uint64_t cp;
		char whose[CONF_NAME_MAX + CONF_ADDR_MAX + 8];

		runs_of(best, &theirs);
		cp = epochs_common(&r->j->eps, r->j->seq, &theirs, best->last);
		snprintf(whose, sizeof(whose), "%s (%s)", best->addr, best->name);
		if (cp < r->j->seq && keep_aside(r, cp, whose, err, errlen) < 0)
			return -1;
		if (fetch(r, best, err, errlen) < 0)
			return -1;
	}
	/* each standby from where its log parts from ours */
	for (i = 0; i < r->nsb; i++)
		if (r->sb[i].promised)
			place(r, &r->sb[i]);
	return best != NULL;
}

void
repl_pump(struct repl *r, msec_t now)
{
	char err[512];
	uint64_t cp;
	int i;

	if (now >= r->next_view)
		repl_view(r, now);
	cp = repl_commit_point(r);
	for (i = 0; i < r->nsb; i++) {
		struct standby *s = &r->sb[i];
		cJSON *m;

		if (s->salv_pending && cp >= s->salv_need) {
			/* its salvage is merged into a committed log: it may drop it */
			m = msg("salvage-ack");
			json_add_u64(m, "upto", s->salv_upto);
			relay(r, s->uid, m);
			s->salv_pending = 0;
		}
		if (s->sent_at != 0 && now - s->sent_at < RESEND)
			continue;
		if (s->next > r->j->durable && s->rnext > r->j->durable)
			continue;
		m = msg("append");
		json_add_u64(m, "prev", s->next - 1);
		json_add_u64(m, "prev_ep", journal_epoch_of(r->j, s->next - 1));
		if (s->trunc_set && s->trunc == s->next - 1)
			json_add_u64(m, "trunc", s->trunc);
		/*
		 * A standby behind our snapshot empties its log when the
		 * snapshot arrives, result lines included: send them all
		 * again with it, or those it had are gone from its copy (and
		 * from akc-results, once it is the master).
		 */
		if (s->next <= r->j->snap_seq && s->snap_off == 0)
			s->rnext = 1;
		journal_read(r->j, s->next, s->rnext, BATCH_BYTES, s->snap_off, m);
		relay(r, s->uid, m);
		s->sent_at = now;
	}
	if (r->own_upto != 0 && cp >= r->own_need) {
		if (journal_salvage_drop(r->j, r->own_upto, err, sizeof(err)) < 0)
			log_warnx("%s", err);
		else
			log_info("journal: the merge of what this log kept aside is committed: dropped it");
		r->own_upto = 0;
	}
}

/* A standby's salvage: merged into our log; acknowledged once that is committed. */
static void
on_salvage(struct repl *r, struct standby *s, const cJSON *b)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(b, "evs");
	uint64_t upto;
	char src[CONF_NAME_MAX + CONF_ADDR_MAX + 8];

	if (json_u64(b, "upto", &upto) < 0 || upto == 0 || !cJSON_IsArray(items)) {
		r->dropped++;
		return;
	}
	if (upto <= s->salv_upto) {
		/* a resend (our ack was lost, or is not due yet): it goes once that merge is committed */
		s->salv_pending = 1;
		return;
	}
	snprintf(src, sizeof(src), "%s (%s)", s->addr, s->name);
	r->merge(r->merge_arg, items, src);
	s->salv_upto = upto;
	s->salv_need = r->j->seq;	/* what made its jobs known here, too */
	s->salv_pending = 1;
}

void
repl_receive(struct repl *r, msec_t now)
{
	cJSON *whole, *b;
	uint64_t uid, v, last, rlast;

	while ((b = next_msg(r, &whole, &uid)) != NULL) {
		struct standby *s = find_sb(r, uid);
		const char *m = json_str(b, "m");

		if (s != NULL && strcmp(m, "ack") == 0 && json_u64(b, "ep", &v) == 0 && v == r->epoch &&
		    json_u64(b, "last", &last) == 0 && json_u64(b, "rlast", &rlast) == 0) {
			uint64_t so;

			if (json_u64(b, "snap_off", &so) == 0) {
				s->snap_off = so;	/* a piece of the snapshot arrived: the next one */
			} else {
				s->snap_off = 0;
				s->next = last + 1;
				s->rnext = rlast + 1;
				s->acked = last < rlast ? last : rlast;
				s->trunc_set = 0;
			}
			s->sent_at = 0;
		} else if (s != NULL && strcmp(m, "need") == 0 && json_u64(b, "ep", &v) == 0 &&
		    v == r->epoch) {
			if (read_state(s, b) == 0)
				place(r, s);
			else
				r->dropped++;
		} else if (s != NULL && strcmp(m, "salvage") == 0 && json_u64(b, "ep", &v) == 0 &&
		    v == r->epoch) {
			on_salvage(r, s, b);
		} else if (strcmp(m, "reject") == 0 && json_u64(b, "promised", &v) == 0 && v > r->epoch) {
			log_warnx("a standby promised epoch %llu to a newer master: this one is deposed",
			    (unsigned long long)v);
			r->deposed = 1;
		} else if (s == NULL || strcmp(m, "promise") != 0)
			r->dropped++;
		cJSON_Delete(whole);
	}
	repl_pump(r, now);
}

uint64_t
repl_commit_point(struct repl *r)
{
	uint64_t a[REPL_MAX_STANDBYS + CONF_MAX_SEEDS], cp = r->j->durable, v;
	int i, k, n, need = r->cfg->replicas < r->nsb ? r->cfg->replicas : r->nsb;

	if (need > 0) {
		/* `replicas` standbys, in the set or not */
		for (i = 0; i < r->nsb; i++)
			a[i] = r->sb[i].acked;
		if ((v = kth_highest(a, r->nsb, need)) < cp)
			cp = v;
	}
	if (r->nset > 0) {
		/* a majority of the set: each address once, this node by its own disk */
		n = 0;
		for (k = 0; k < r->nset; k++) {
			const char *addr = r->cfg->replica_nodes[k];

			if (strcmp(addr, r->cfg->address) == 0) {
				a[n++] = r->j->durable;
				continue;
			}
			for (v = 0, i = 0; i < r->nsb; i++)
				if (r->sb[i].in_set && strcmp(r->sb[i].addr, addr) == 0 && r->sb[i].acked > v)
					v = r->sb[i].acked;
			a[n++] = v;
		}
		if ((v = kth_highest(a, n, r->quorum)) < cp)
			cp = v;
	}
	if (cp > r->committed)
		r->committed = cp;
	return r->committed;
}

msec_t
repl_next_deadline(const struct repl *r)
{
	msec_t d = r->next_view;
	int i;

	for (i = 0; i < r->nsb; i++)
		if (r->sb[i].sent_at != 0 && r->sb[i].sent_at + RESEND < d)
			d = r->sb[i].sent_at + RESEND;
	return d;
}

/* ---- the standby ---- */

static volatile sig_atomic_t standby_stop;

static void
on_term(int sig)
{
	(void)sig;
	standby_stop = 1;
}

/* Our log's end and epoch runs, for the master to find where it parts from its own. */
static void
add_state(struct repl *r, cJSON *m)
{
	json_add_u64(m, "last", r->j->seq);
	json_add_u64(m, "last_ep", r->j->last_ep);
	cJSON_AddItemToObject(m, "eps", epochs_json(&r->j->eps, r->j->seq, EPOCHS_MSG_MAX));
}

/* An append that does not continue our log: tell the master where we stand. */
static void
need(struct repl *r, uint64_t to, const char *why)
{
	cJSON *a = msg("need");

	json_add_u64(a, "from", r->j->seq + 1);
	cJSON_AddStringToObject(a, "why", why);
	add_state(r, a);
	relay(r, to, a);
}

/*
 * The master found where our log parts from its own (trunc): what we hold
 * after that is kept aside, durably and in the same write as the cut, and
 * sent to the master to merge (salvage_tick).
 */
static int
standby_keep_aside(struct repl *r, uint64_t after)
{
	char err[512];
	uint64_t last = r->j->seq, ep = r->j->last_ep;
	long n = journal_salvage(r->j, after, expand, err, sizeof(err));

	if (n < 0) {
		log_warnx("standby: %s", err);
		return -1;
	}
	log_notice("standby: events %llu-%llu (epoch %llu) are not in the master's log: "
	    "%ld kept aside to merge", (unsigned long long)after + 1, (unsigned long long)last,
	    (unsigned long long)ep, n);
	r->salv_sent = 0;
	return 0;
}

static void
standby_append(struct repl *r, uint64_t from, const cJSON *b, uint64_t ep)
{
	char err[512];
	uint64_t prev, prev_ep, trunc, pe;
	int snapc = cJSON_GetObjectItemCaseSensitive(b, "snapc") != NULL;
	int has_trunc = cJSON_GetObjectItemCaseSensitive(b, "trunc") != NULL;
	cJSON *a;

	if (json_u64(b, "prev", &prev) < 0 || json_u64(b, "prev_ep", &prev_ep) < 0 ||
	    (has_trunc && (json_u64(b, "trunc", &trunc) < 0 || trunc != prev))) {
		r->dropped++;
		return;
	}
	if (has_trunc && prev < r->j->seq && standby_keep_aside(r, prev) < 0)
		return;
	if (!snapc && prev < r->j->seq && r->j->last_ep == ep) {
		/* a resend (our ack was lost): what we have of this epoch is the master's */
		a = msg("ack");
		json_add_u64(a, "last", r->j->seq);
		json_add_u64(a, "rlast", r->j->seq);
		relay(r, from, a);
		return;
	}
	if (prev != r->j->seq) {
		/* a gap, or a tail the master may not have: it decides, from our epochs */
		need(r, from, prev > r->j->seq ? "gap" : "tail");
		return;
	}
	pe = journal_epoch_of(r->j, prev);
	if (prev > 0 && (pe == 0 || pe != prev_ep)) {
		need(r, from, "diverged");
		return;
	}
	switch (store(r, b, err, sizeof(err))) {
	case -1:
		log_warnx("standby: %s", err);
		need(r, from, "refused");
		return;
	case 1:
		a = msg("ack");	/* a snapshot piece: the next one, please */
		json_add_u64(a, "last", 0);
		json_add_u64(a, "rlast", 0);
		json_add_u64(a, "snap_off", r->asm_len);
		relay(r, from, a);
		return;
	}
	a = msg("ack");
	json_add_u64(a, "last", r->j->seq);
	{
		uint64_t rlast = 0;

		json_u64(b, "rlast", &rlast);
		json_add_u64(a, "rlast", rlast);
	}
	relay(r, from, a);
}

static void
standby_handle(struct repl *r, uint64_t from, const cJSON *b)
{
	const char *m = json_str(b, "m");
	char err[512];
	uint64_t ep = 0, promised = journal_promised(r->j), v;
	cJSON *a;

	if (json_u64(b, "ep", &ep) < 0) {
		r->dropped++;
		return;
	}
	/* an epoch is promised to one master only */
	if (ep < promised || (ep == promised && strcmp(m, "prepare") == 0 && promised != 0 &&
	    r->promised_to != from)) {
		a = msg("reject");
		json_add_u64(a, "promised", promised);
		r->epoch = promised;
		relay(r, from, a);
		return;
	}
	if (ep > promised && journal_promise(r->j, ep, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return;
	}
	r->epoch = ep;
	if (ep > promised || strcmp(m, "prepare") == 0)
		r->promised_to = from;
	if (r->master != from)
		r->salv_sent = 0;	/* a new master: our salvage goes to it */
	r->master = from;
	if (strcmp(m, "prepare") == 0) {
		a = msg("promise");
		add_state(r, a);
		relay(r, from, a);
	} else if (strcmp(m, "fetch") == 0) {
		uint64_t f, rf, so = 0;

		if (json_u64(b, "from", &f) < 0 || json_u64(b, "rfrom", &rf) < 0 || f == 0 || rf == 0) {
			r->dropped++;
			return;
		}
		json_u64(b, "snap_off", &so);
		a = msg("batch");
		journal_read(r->j, f, rf, BATCH_BYTES, so, a);
		relay(r, from, a);
	} else if (strcmp(m, "append") == 0) {
		standby_append(r, from, b, ep);
	} else if (strcmp(m, "salvage-ack") == 0) {
		if (json_u64(b, "upto", &v) < 0) {
			r->dropped++;
			return;
		}
		if (journal_salvage_drop(r->j, v, err, sizeof(err)) < 0)
			log_warnx("standby: %s", err);
		else if (r->j->o_first >= r->j->o_next)
			log_info("standby: the master merged everything this log kept aside");
		r->salv_sent = 0;
	} else
		r->dropped++;
}

/* Sends the next piece of what we keep aside to the master, until it has merged it all. */
static void
salvage_tick(struct repl *r, msec_t now)
{
	cJSON *m, *items;
	uint64_t upto;

	if (r->j->o_first >= r->j->o_next || r->master == 0 ||
	    (r->salv_sent != 0 && now - r->salv_sent < SALVAGE_RESEND))
		return;
	m = msg("salvage");
	items = cJSON_AddArrayToObject(m, "evs");
	if ((upto = journal_salvage_read(r->j, r->j->o_first, BATCH_BYTES, items)) == 0) {
		cJSON_Delete(m);
		return;
	}
	json_add_u64(m, "upto", upto);
	relay(r, r->master, m);
	r->salv_sent = now;
}

int
repl_standby_main(const struct akc_config *cfg, const char *name, const char *dir)
{
	struct journal j;
	struct repl r;
	char err[1024];
	struct sigaction sa;

	if (journal_open(&j, dir, err, sizeof(err)) < 0 || journal_scan(&j, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		log_errx("the standby refuses to start; see master(8), RECOVERY");
		return 1;
	}
	if (repl_open(&r, cfg, name, &j, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("standby of %s: journal %s at event %llu (epoch %llu), promised epoch %llu%s", name,
	    dir, (unsigned long long)j.seq, (unsigned long long)j.last_ep,
	    (unsigned long long)journal_promised(&j),
	    j.o_first < j.o_next ? ", with events kept aside to merge" : "");
	while (!standby_stop) {
		struct pollfd p = { .fd = repl_fd(&r), .events = POLLIN };
		cJSON *whole, *b;
		uint64_t from;

		if (poll(&p, 1, 500) < 0 && errno != EINTR)
			break;
		while ((b = next_msg(&r, &whole, &from)) != NULL) {
			standby_handle(&r, from, b);
			cJSON_Delete(whole);
		}
		salvage_tick(&r, clock_mono_ms());
	}
	log_info("standby of %s: stopping at event %llu", name, (unsigned long long)j.seq);
	repl_close(&r);
	journal_close(&j);
	return 0;
}
