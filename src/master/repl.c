/* repl.c: the master's journal replication to its standbys (see repl.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>

#include "json.h"
#include "log.h"
#include "membership.h"
#include "proto.h"
#include "repl.h"
#include "sock.h"

#define BATCH_BYTES	(512 * 1024)	/* events per append or fetch answer */
#define RESEND		1000		/* an append unanswered this long goes again */
#define PREPARE_EVERY	300

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

		if ((size_t)n > tl && memcmp(buf, r->topic, tl) == 0)
			m = json_parse((char *)buf + tl, (size_t)n - tl);
		nn_freemsg(buf);
		if (m != NULL && (f = cJSON_GetObjectItemCaseSensitive(m, "from")) != NULL &&
		    json_u64(f, "uid", from) == 0 &&
		    cJSON_IsObject(b = cJSON_GetObjectItemCaseSensitive(m, "body")) &&
		    json_str(b, "m") != NULL) {
			*whole = m;
			return b;
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

int
repl_open(struct repl *r, const struct akc_config *cfg, const char *name, struct journal *j,
    char *err, size_t errlen)
{
	char addr[CONF_PATH_MAX + 32];

	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->j = j;
	snprintf(r->svc, sizeof(r->svc), "journal.%s", name);
	snprintf(r->topic, sizeof(r->topic), "%s\n", r->svc);
	snprintf(r->role, sizeof(r->role), "%s", role_of(cfg, name));
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

		if (m->uid == r->self || !member_has_role(m, r->role) ||
		    (m->status != MS_UP && m->status != MS_LEAVING))
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
			log_info("standby %s (%s): replicating to it", m->name, m->address);
		}
		snprintf(keep[n].name, sizeof(keep[n].name), "%s", m->name);
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

static void
prepare_all(struct repl *r)
{
	int i;

	for (i = 0; i < r->nsb; i++)
		if (!r->sb[i].promised)
			relay(r, r->sb[i].uid, msg("prepare"));
}

/* Copies the log of standby `from` from seq `first` on; blocks until done. */
static int
fetch(struct repl *r, struct standby *best, char *err, size_t errlen)
{
	msec_t sent = 0, started = clock_mono_ms();
	uint64_t from, rfrom;

	if (best->last_ep != r->j->last_ep || best->last < r->j->seq) {
		/* another epoch's tail here: the longest log wins whole */
		log_info("journal: taking the log of %s whole (epoch %llu)", best->name,
		    (unsigned long long)best->last_ep);
		if (journal_wipe(r->j, err, errlen) < 0)
			return -1;
	}
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

int
repl_recover(struct repl *r, char *err, size_t errlen)
{
	msec_t now, next_prepare = 0, next_log;
	struct standby *best = NULL;
	int i, all;

	r->epoch = journal_promised(r->j);
	if (r->j->last_ep > r->epoch)
		r->epoch = r->j->last_ep;
	r->epoch++;
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
		if (all)
			break;
		if (now >= next_prepare) {
			prepare_all(r);
			next_prepare = now + PREPARE_EVERY;
		}
		if (now >= next_log) {
			for (i = 0; i < r->nsb; i++)
				if (!r->sb[i].promised)
					log_warnx("recovery waits for the standby on %s (is singletond "
					    "running there, with standby-command?)", r->sb[i].name);
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
				s->promised = 1;
				json_u64(b, "last", &s->last);
				json_u64(b, "last_ep", &s->last_ep);
				s->next = s->rnext = s->last + 1;
			} else if (strcmp(m, "reject") == 0 && json_u64(b, "promised", &v) == 0 &&
			    v >= r->epoch) {
				log_info("a standby promised epoch %llu: trying %llu",
				    (unsigned long long)v, (unsigned long long)v + 1);
				r->epoch = v + 1;
				for (i = 0; i < r->nsb; i++)
					r->sb[i].promised = 0;
				next_prepare = 0;
			}
			cJSON_Delete(whole);
		}
	}
	if (journal_promise(r->j, r->epoch, err, errlen) < 0)
		return -1;
	for (i = 0; i < r->nsb; i++) {
		struct standby *s = &r->sb[i];

		if (s->last_ep > r->j->last_ep || (s->last_ep == r->j->last_ep && s->last > r->j->seq))
			if (best == NULL || s->last_ep > best->last_ep ||
			    (s->last_ep == best->last_ep && s->last > best->last))
				best = s;
	}
	log_info("epoch %llu: %d standby%s promised; this log ends at event %llu (epoch %llu)%s%s",
	    (unsigned long long)r->epoch, r->nsb, r->nsb == 1 ? "" : "s",
	    (unsigned long long)r->j->seq, (unsigned long long)r->j->last_ep,
	    best ? ", the longest is on " : "", best ? best->name : "");
	if (best != NULL && fetch(r, best, err, errlen) < 0)
		return -1;
	return 0;
}

void
repl_pump(struct repl *r, msec_t now)
{
	int i;

	if (now >= r->next_view)
		repl_view(r, now);
	for (i = 0; i < r->nsb; i++) {
		struct standby *s = &r->sb[i];
		cJSON *m;

		if (s->sent_at != 0 && now - s->sent_at < RESEND)
			continue;
		if (s->next > r->j->durable && s->rnext > r->j->durable)
			continue;
		m = msg("append");
		json_add_u64(m, "prev", s->next - 1);
		json_add_u64(m, "prev_ep", journal_epoch_of(r->j, s->next - 1));
		journal_read(r->j, s->next, s->rnext, BATCH_BYTES, s->snap_off, m);
		relay(r, s->uid, m);
		s->sent_at = now;
	}
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
			}
			s->sent_at = 0;
		} else if (s != NULL && strcmp(m, "need") == 0 && json_u64(b, "from", &v) == 0 && v > 0) {
			if (v == 1 && (json_str(b, "why") == NULL || strcmp(json_str(b, "why"), "gap") != 0))
				log_info("standby %s has another history: sending it everything", s->name);
			s->next = s->rnext = v;
			s->snap_off = 0;
			s->sent_at = 0;
		} else if (strcmp(m, "reject") == 0 && json_u64(b, "promised", &v) == 0 && v > r->epoch) {
			log_warnx("a standby promised epoch %llu to a newer master: this one is deposed",
			    (unsigned long long)v);
			r->deposed = 1;
		}
		cJSON_Delete(whole);
	}
	repl_pump(r, now);
}

uint64_t
repl_commit_point(const struct repl *r)
{
	uint64_t a[REPL_MAX_STANDBYS], t;
	int i, k, need = r->cfg->replicas < r->nsb ? r->cfg->replicas : r->nsb;

	if (need <= 0)
		return r->j->durable;
	for (i = 0; i < r->nsb; i++)
		a[i] = r->sb[i].acked;
	/* the need-th highest */
	for (i = 0; i < need; i++)
		for (k = i + 1; k < r->nsb; k++)
			if (a[k] > a[i]) {
				t = a[i];
				a[i] = a[k];
				a[k] = t;
			}
	return a[need - 1] < r->j->durable ? a[need - 1] : r->j->durable;
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

static void
standby_handle(struct repl *r, uint64_t from, const cJSON *b)
{
	const char *m = json_str(b, "m");
	char err[512];
	uint64_t ep = 0, promised = journal_promised(r->j), prev, prev_ep;
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
	if (strcmp(m, "prepare") == 0) {
		a = msg("promise");
		json_add_u64(a, "last", r->j->seq);
		json_add_u64(a, "last_ep", r->j->last_ep);
		relay(r, from, a);
	} else if (strcmp(m, "fetch") == 0) {
		uint64_t f, rf;

		uint64_t so = 0;

		if (json_u64(b, "from", &f) < 0 || json_u64(b, "rfrom", &rf) < 0 || f == 0 || rf == 0) {
			r->dropped++;
			return;
		}
		json_u64(b, "snap_off", &so);
		a = msg("batch");
		journal_read(r->j, f, rf, BATCH_BYTES, so, a);
		relay(r, from, a);
	} else if (strcmp(m, "append") == 0) {
		if (json_u64(b, "prev", &prev) < 0 || json_u64(b, "prev_ep", &prev_ep) < 0) {
			r->dropped++;
			return;
		}
		if (cJSON_GetObjectItemCaseSensitive(b, "snapc") == NULL) {
			if (prev > r->j->seq) {
				/* a gap: from where we are */
				a = msg("need");
				json_add_u64(a, "from", r->j->seq + 1);
				cJSON_AddStringToObject(a, "why", "gap");
				relay(r, from, a);
				return;
			}
			if (prev > 0 && journal_epoch_of(r->j, prev) != prev_ep) {
				/* another history: everything again */
				a = msg("need");
				json_add_u64(a, "from", 1);
				relay(r, from, a);
				return;
			}
			if (prev < r->j->seq) {
				if (r->j->last_ep == ep) {
					/* a resend (our ack was lost): what we have is the same */
					a = msg("ack");
					json_add_u64(a, "last", r->j->seq);
					json_add_u64(a, "rlast", r->j->seq);
					relay(r, from, a);
					return;
				}
				/* an older epoch's tail that the master does not have */
				if (journal_truncate(r->j, prev, err, sizeof(err)) < 0) {
					log_warnx("%s", err);
					return;
				}
			}
		}
		switch (store(r, b, err, sizeof(err))) {
		case -1:
			log_warnx("standby: %s", err);
			a = msg("need");
			json_add_u64(a, "from", 1);
			relay(r, from, a);
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
	} else
		r->dropped++;
}

int
repl_standby_main(const struct akc_config *cfg, const char *name, const char *dir)
{
	struct journal j;
	struct repl r;
	char err[1024];
	struct sigaction sa;

	if (journal_open(&j, dir, err, sizeof(err)) < 0 || journal_scan(&j, err, sizeof(err)) < 0) {
		fprintf(stderr, "master: %s\nmaster: the standby refuses to start; see master(8), RECOVERY\n",
		    err);
		return 1;
	}
	if (repl_open(&r, cfg, name, &j, err, sizeof(err)) < 0) {
		fprintf(stderr, "master: %s\n", err);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("standby of %s: journal %s at event %llu (epoch %llu), promised epoch %llu", name, dir,
	    (unsigned long long)j.seq, (unsigned long long)j.last_ep,
	    (unsigned long long)journal_promised(&j));
	while (!standby_stop) {
		struct pollfd p = { .fd = repl_fd(&r), .events = POLLIN };
		cJSON *whole, *b;
		uint64_t from;

		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			break;
		while ((b = next_msg(&r, &whole, &from)) != NULL) {
			standby_handle(&r, from, b);
			cJSON_Delete(whole);
		}
	}
	log_info("standby of %s: stopping at event %llu", name, (unsigned long long)j.seq);
	repl_close(&r);
	journal_close(&j);
	return 0;
}
