/*
 * link.c: a direct, sealed link between two daemons that learned of each
 * other through memberd's relay (see link.h): the master's journal link to
 * its standbys, and singletond's proxy link to the oldest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <sodium.h>

#include "auth.h"
#include "bytes.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "proto.h"
#include "wire.h"
#include "xmalloc.h"

/*
 * A frame's payload: the receiver's sid, the sender's sid, the sender's
 * counter (8 bytes each, big-endian), flags, then the message's JSON (none
 * in a ping).
 */
#define HDR		25
#define F_HEARS		0x01	/* the sender has heard the receiver within LINK_TTL */
#define F_PING		0x02	/* no message: it keeps the link known to be up */
#define FRAME_MAX	(RELAY_MAX_MSG + 4096)
#define MAX_IN		64
#define MAX_PEERS	64	/* link_open's peers at most */
#define LISTEN_RETRY	5000	/* ms between tries to listen, while the port is taken */
#define KEYS_CHECK	1000	/* ms between looks at the key-file */
#define BAD_SAY		10000	/* ms between two logs of frames that failed authentication */
#define RETIRED		1024	/* forgotten peer processes whose highest counter is remembered (16 KiB) */

struct peer {
	uint64_t uid, sid;
	char addr[CONF_ADDR_MAX];	/* its link: the host of its member address, its port */
	uint64_t hi, win;		/* the highest counter seen, and the 64 below it */
	msec_t learned, heard, sent;
	int hears;			/* its last frame said it hears us */
	int up;				/* as last logged */
};

/* A forgotten peer's process and the highest counter taken from it. */
struct retired {
	uint64_t sid, hi;
};

struct link {
	struct loop *loop;
	struct retired ret[RETIRED];
	int retpos;
	struct wire *w;
	const struct akc_config *cfg;
	struct keyring keys;
	struct stat key_st;
	msec_t keys_checked;
	char listen[CONF_ADDR_MAX];
	int port, listening;
	msec_t listen_at;
	uint64_t sid, n;
	struct link_opts o;
	struct peer *p;
	int np;
	link_msg_cb cb;
	void *arg;
	struct link_stats st;
	uint64_t bad;			/* failed authentication since bad_said */
	msec_t bad_said;
};

/* HOST of tcp://HOST:PORT with port instead: -1 if the address has no port. */
static int
with_port(const char *address, int port, char *out, size_t len)
{
	const char *colon = strrchr(address, ':');

	if (strncmp(address, "tcp://", 6) != 0 || colon == NULL || colon < address + 6 ||
	    (int)(colon - address) + 8 > (int)len)
		return -1;
	snprintf(out, len, "%.*s:%d", (int)(colon - address), address, port);
	return 0;
}

static struct peer *
by_uid(struct link *l, uint64_t uid)
{
	int i;

	for (i = 0; i < l->np; i++)
		if (l->p[i].uid == uid)
			return &l->p[i];
	return NULL;
}

static struct peer *
by_sid(struct link *l, uint64_t sid)
{
	int i;

	for (i = 0; i < l->np; i++)
		if (l->p[i].sid == sid)
			return &l->p[i];
	return NULL;
}

static int
is_up(const struct peer *p, msec_t now)
{
	return p->heard != 0 && now - p->heard < LINK_TTL && p->hears;
}

/* Seals one frame for p (txt NULL: a ping). */
static size_t
seal(struct link *l, struct peer *p, const char *txt, size_t len, msec_t now,
    unsigned char **out)
{
	char *buf = xmalloc(HDR + len);
	size_t n;

	be64_put((unsigned char *)buf, p->sid);
	be64_put((unsigned char *)buf + 8, l->sid);
	be64_put((unsigned char *)buf + 16, ++l->n);
	buf[24] = (char)((p->heard != 0 && now - p->heard < LINK_TTL ? F_HEARS : 0) |
	    (txt == NULL ? F_PING : 0));
	if (len > 0)
		memcpy(buf + HDR, txt, len);
	n = frame_seal_as(&l->keys, l->o.plain, l->o.sealed, l->cfg->cluster_name, buf,
	    HDR + len, out);
	free(buf);
	return n;
}

/* A new connection opens with a ping: authentic, so that large frames may follow on it. */
static size_t
hello(void *arg, const char *address, unsigned char **frame)
{
	struct link *l = arg;
	msec_t now = clock_mono_ms();
	int i;

	for (i = 0; i < l->np; i++)
		if (strcmp(l->p[i].addr, address) == 0) {
			l->st.pings_sent++;
			return seal(l, &l->p[i], NULL, 0, now, frame);
		}
	/* a peer forgotten while its connection opened: a frame that opens nowhere */
	return frame_seal_as(&l->keys, l->o.plain, l->o.sealed, l->cfg->cluster_name, "", 0, frame);
}

static void
ping(struct link *l, struct peer *p, msec_t now)
{
	unsigned char *f;
	size_t len = seal(l, p, NULL, 0, now, &f);

	wire_send(l->w, p->addr, f, len, now);
	free(f);
	p->sent = now;
	l->st.pings_sent++;
}

/* Whether counter n of p is new (and now seen): memberd's replay window (doc/PROTOCOL.md). */
static int
fresh(struct peer *p, uint64_t n)
{
	uint64_t d;

	if (n == 0)
		return 0;
	if (n > p->hi) {
		d = n - p->hi;
		p->win = d >= 64 ? 1 : p->win << d | 1;
		p->hi = n;
		return 1;
	}
	d = p->hi - n;
	if (d >= 64 || (p->win & (1ULL << d)))
		return 0;
	p->win |= 1ULL << d;
	return 1;
}

static void
note_up(struct link *l, struct peer *p, msec_t now)
{
	int up = is_up(p, now);

	if (up == p->up)
		return;
	p->up = up;
	if (up)
		log_info("%s to %s is up", l->o.what, p->addr);
	else
		log_notice("%s to %s is down: the relay through memberd carries", l->o.what, p->addr);
}

static void
note_bad(struct link *l, const char *from, msec_t now)
{
	l->bad++;
	if (l->bad_said != 0 && now - l->bad_said < BAD_SAY)
		return;
	log_warnx("%s: dropped %llu frame%s from %s that failed authentication: "
	    "wrong key or cluster?", l->o.what, (unsigned long long)l->bad, l->bad == 1 ? "" : "s",
	    from);
	l->bad = 0;
	l->bad_said = now;
}

/* One frame from a connection (wire.c): see link.h for what is taken. */
static enum wire_verdict
on_frame(void *arg, const char *from, const unsigned char *frame, size_t len)
{
	struct link *l = arg;
	char cluster[CLUSTER_NAME_MAX + 1], *payload = NULL;
	size_t plen = 0;
	enum frame_result fr;
	msec_t now = clock_mono_ms();
	const unsigned char *h;
	struct peer *p;
	cJSON *body;
	int flags;

	fr = frame_open_as(&l->keys, l->o.plain, l->o.sealed, l->cfg->cluster_name, frame, len,
	    cluster, &payload, &plen);
	if (fr == FRAME_MALFORMED || fr == FRAME_UNAUTHENTIC || fr == FRAME_OTHER_CLUSTER) {
		if (fr == FRAME_MALFORMED)
			l->st.malformed++;
		else if (fr == FRAME_UNAUTHENTIC)
			l->st.unauthenticated++;
		else
			l->st.cluster++;
		if (fr != FRAME_MALFORMED)
			note_bad(l, from, now);
		free(payload);
		return WIRE_BAD;
	}
	h = (const unsigned char *)payload;
	if (plen < HDR) {
		l->st.malformed++;
		free(payload);
		return WIRE_BAD;
	}
	/* authentic from here: dropped frames leave the connection open */
	if (be64_get(h) != l->sid) {
		l->st.stale++;
		free(payload);
		return WIRE_DROP;
	}
	if ((p = by_sid(l, be64_get(h + 8))) == NULL) {
		l->st.unknown++;
		free(payload);
		return WIRE_DROP;
	}
	if (!fresh(p, be64_get(h + 16))) {
		l->st.replayed++;
		free(payload);
		return WIRE_DROP;
	}
	flags = h[24];
	p->heard = now;
	p->hears = (flags & F_HEARS) != 0;
	note_up(l, p, now);
	if (flags & F_PING) {
		l->st.pings_received++;
		free(payload);
		return WIRE_OK;
	}
	body = json_parse(payload + HDR, plen - HDR);
	free(payload);
	if (!cJSON_IsObject(body)) {
		l->st.malformed++;
		cJSON_Delete(body);
		return WIRE_OK;
	}
	l->st.received++;
	l->cb(l->arg, p->uid, body);
	return WIRE_OK;
}

static void
try_listen(struct link *l, msec_t now)
{
	l->listen_at = now + LISTEN_RETRY;
	if (wire_listen(l->w, l->listen) == 0) {
		l->listening = 1;
		if (l->port == 0) {	/* the kernel's pick: what we publish */
			char a[CONF_ADDR_MAX];

			l->port = wire_port(l->w);
			if (with_port(l->listen, l->port, a, sizeof(a)) == 0)
				snprintf(l->listen, sizeof(l->listen), "%s", a);
		}
		log_info("%s: listening on %s", l->o.what, l->listen);
	} else
		log_warnx("%s: not on %s for now (tried again in %d s): the relay "
		    "through memberd carries", l->o.what, l->listen, LISTEN_RETRY / 1000);
}

/* Reads the key-file again when it changed (akc-keys install/use/remove). */
static void
keys_check(struct link *l, msec_t now)
{
	struct stat st;
	struct keyring k;

	l->keys_checked = now;
	if (l->cfg->key_file[0] == '\0' || stat(l->cfg->key_file, &st) < 0)
		return;
	if (st.st_ino == l->key_st.st_ino && st.st_size == l->key_st.st_size &&
	    st.st_mtim.tv_sec == l->key_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == l->key_st.st_mtim.tv_nsec)
		return;
	if (keyring_load(&k, l->cfg->key_file) < 0)
		return;		/* keep the keys we have */
	l->keys = k;
	l->key_st = st;
	sodium_memzero(&k, sizeof(k));
}

struct link *
link_open(struct loop *lp, const struct akc_config *cfg, const struct link_opts *o,
    link_msg_cb cb, void *arg)
{
	struct link *l;

	if (o->port < 0 || o->port > 65535)
		return NULL;
	if (sodium_init() < 0)
		fatalx("libsodium cannot start");
	l = xcalloc(1, sizeof(*l));
	l->loop = lp;
	l->cfg = cfg;
	l->o = *o;
	if (l->o.peers <= 0 || l->o.peers > MAX_PEERS)
		l->o.peers = MAX_PEERS;
	l->cb = cb;
	l->arg = arg;
	l->port = o->port;
	if (with_port(cfg->address, o->port, l->listen, sizeof(l->listen)) < 0 ||
	    keyring_load(&l->keys, cfg->key_file) < 0) {
		log_warnx("%s: off (the address or the key-file): the relay through "
		    "memberd carries", o->what);
		free(l);
		return NULL;
	}
	if (cfg->key_file[0] != '\0')
		(void)stat(cfg->key_file, &l->key_st);
	l->keys_checked = clock_mono_ms();
	while (l->sid == 0)
		if (getrandom(&l->sid, sizeof(l->sid), 0) != sizeof(l->sid))
			fatal("getrandom");
	l->p = xcalloc((size_t)l->o.peers, sizeof(*l->p));
	l->w = wire_new(lp, l->o.peers, MAX_IN, FRAME_MAX, on_frame, NULL, l);
	wire_hello_to(l->w, hello);
	try_listen(l, clock_mono_ms());
	return l;
}

struct link *
link_new(struct loop *lp, const struct akc_config *cfg, link_msg_cb cb, void *arg)
{
	struct link_opts o = { "journal link", 0, FRAME_LINK_PLAIN, FRAME_LINK_SEALED,
	    LINK_PEERS };
	const char *colon = strrchr(cfg->address, ':');
	int port = cfg->link_port;

	/*
	 * not + 1: nodes on one host often take consecutive ports (7401, 7402,
	 * ...: akc.conf(5)'s example, bench/lib.sh); above 64535, - 1000
	 */
	if (port < 0 && colon != NULL) {
		port = atoi(colon + 1);
		port = port > 0 ? (port + LINK_PORT_OFFSET <= 65535 ? port + LINK_PORT_OFFSET :
		    port - LINK_PORT_OFFSET) : 0;
	}
	if (port <= 0 || port > 65535)
		return NULL;
	o.port = port;
	return link_open(lp, cfg, &o, cb, arg);
}

void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	wire_free(l->w);
	sodium_memzero(&l->keys, sizeof(l->keys));
	free(l->p);
	free(l);
}

void
link_stamp(struct link *l, cJSON *body)
{
	cJSON *o;

	if (l == NULL || !l->listening)
		return;
	o = cJSON_AddObjectToObject(body, "lk");
	cJSON_AddNumberToObject(o, "p", l->port);
	json_add_u64(o, "s", l->sid);
}

static void
forget(struct link *l, struct peer *p)
{
	if (p->up)
		log_notice("%s to %s is gone: the relay through memberd carries", l->o.what,
		    p->addr);
	wire_reset(l->w, p->addr);
	if (p->hi != 0) {
		/*
		 * the same process may be learned again: its counter goes on
		 * from here. One entry per process, updated each time it is
		 * forgotten, so that peers forgotten and learned again over and
		 * over (more proxies than peers) do not push the others out.
		 */
		int i;

		for (i = 0; i < RETIRED && l->ret[i].sid != p->sid; i++)
			;
		if (i == RETIRED) {
			i = l->retpos;
			l->retpos = (l->retpos + 1) % RETIRED;
			l->ret[i].sid = p->sid;
			l->ret[i].hi = 0;
		}
		if (p->hi > l->ret[i].hi)
			l->ret[i].hi = p->hi;
	}
	*p = l->p[--l->np];
}

void
link_learn(struct link *l, uint64_t uid, const char *member_address, const cJSON *body,
    msec_t now)
{
	const cJSON *lk;
	struct peer *p;
	uint64_t sid;
	long port;
	char addr[CONF_ADDR_MAX];
	int i, old = 0;

	if (l == NULL)
		return;
	p = by_uid(l, uid);
	lk = cJSON_GetObjectItemCaseSensitive(body, "lk");
	if (lk == NULL || member_address == NULL || json_u64(lk, "s", &sid) < 0 || sid == 0 ||
	    json_int(lk, "p", 1, 65535, &port) < 0 ||
	    with_port(member_address, (int)port, addr, sizeof(addr)) < 0) {
		if (p != NULL)
			forget(l, p);	/* it has no link (now): the relay carries */
		return;
	}
	if (p != NULL && p->sid == sid && strcmp(p->addr, addr) == 0) {
		p->learned = now;
		return;
	}
	if (p != NULL)
		forget(l, p);	/* a new process of that member */
	if ((p = by_sid(l, sid)) != NULL)
		forget(l, p);	/* a sid claimed by another member: the newest word counts */
	if (l->np == l->o.peers) {
		for (i = 1; i < l->np; i++)
			if (l->p[i].learned < l->p[old].learned)
				old = i;
		forget(l, &l->p[old]);
	}
	p = &l->p[l->np++];
	memset(p, 0, sizeof(*p));
	p->uid = uid;
	p->sid = sid;
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->learned = now;
	for (i = 0; i < RETIRED; i++)
		if (l->ret[i].sid == sid) {
			/*
			 * learned again after it was forgotten (unheard, evicted):
			 * every counter up to the highest taken then stays seen, so
			 * its frames captured before are not taken a second time
			 */
			p->hi = l->ret[i].hi;
			p->win = ~0ULL;
			break;
		}
	ping(l, p, now);
}

uint64_t
link_peer_sid(const struct link *l, uint64_t uid)
{
	int i;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->np; i++)
		if (l->p[i].uid == uid)
			return l->p[i].sid;
	return 0;
}

int
link_up(const struct link *l, uint64_t uid, msec_t now)
{
	int i;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->np; i++)
		if (l->p[i].uid == uid)
			return is_up(&l->p[i], now);
	return 0;
}

int
link_send(struct link *l, uint64_t uid, const char *txt, size_t len, msec_t now)
{
	struct peer *p;
	unsigned char *f;
	size_t flen;

	if (l == NULL)
		return -1;
	if ((p = by_uid(l, uid)) == NULL || !is_up(p, now)) {
		if (p != NULL)
			l->st.unusable++;
		return -1;
	}
	flen = seal(l, p, txt, len, now, &f);
	wire_send(l->w, p->addr, f, flen, now);
	free(f);
	p->sent = now;
	l->st.sent++;
	return 0;
}

void
link_tick(struct link *l, msec_t now)
{
	int i;

	if (l == NULL)
		return;
	if (!l->listening && now >= l->listen_at)
		try_listen(l, now);
	if (now - l->keys_checked >= KEYS_CHECK)
		keys_check(l, now);
	wire_expire(l->w, now);
	for (i = 0; i < l->np; ) {
		struct peer *p = &l->p[i];

		if (now - p->learned > LINK_FORGET && (p->heard == 0 || now - p->heard > LINK_FORGET)) {
			forget(l, p);
			continue;
		}
		note_up(l, p, now);
		if (now - p->sent >= LINK_PING)
			ping(l, p, now);
		i++;
	}
}

msec_t
link_deadline(const struct link *l)
{
	msec_t d, w;
	int i;

	if (l == NULL)
		return -1;
	d = l->keys_checked + KEYS_CHECK;
	if (!l->listening && l->listen_at < d)
		d = l->listen_at;
	for (i = 0; i < l->np; i++) {
		const struct peer *p = &l->p[i];

		if (p->sent + LINK_PING < d)
			d = p->sent + LINK_PING;
		/* the moment it goes down, so that the log says so on time */
		if (p->up && p->heard + LINK_TTL < d)
			d = p->heard + LINK_TTL;
	}
	w = wire_deadline(l->w);
	return w >= 0 && w < d ? w : d;
}

const struct link_stats *
link_stats(const struct link *l)
{
	return &l->st;
}

cJSON *
link_json(const struct link *l, msec_t now)
{
	cJSON *o = cJSON_CreateObject(), *d, *c, *ps;
	const struct wire_stats *w;
	int i;

	cJSON_AddBoolToObject(o, "on", l != NULL);
	if (l == NULL)
		return o;
	cJSON_AddNumberToObject(o, "port", l->port);
	cJSON_AddBoolToObject(o, "listening", l->listening);
	cJSON_AddNumberToObject(o, "sent", (double)l->st.sent);
	cJSON_AddNumberToObject(o, "received", (double)l->st.received);
	cJSON_AddNumberToObject(o, "pings_sent", (double)l->st.pings_sent);
	cJSON_AddNumberToObject(o, "pings_received", (double)l->st.pings_received);
	cJSON_AddNumberToObject(o, "unusable", (double)l->st.unusable);
	d = cJSON_AddObjectToObject(o, "dropped");
	cJSON_AddNumberToObject(d, "unauthenticated", (double)l->st.unauthenticated);
	cJSON_AddNumberToObject(d, "malformed", (double)l->st.malformed);
	cJSON_AddNumberToObject(d, "cluster", (double)l->st.cluster);
	cJSON_AddNumberToObject(d, "replayed", (double)l->st.replayed);
	cJSON_AddNumberToObject(d, "stale", (double)l->st.stale);
	cJSON_AddNumberToObject(d, "unknown", (double)l->st.unknown);
	w = wire_stats(l->w);
	cJSON_AddNumberToObject(d, "oversized", (double)w->oversized);
	cJSON_AddNumberToObject(d, "preauth_timeout", (double)w->preauth_timeout);
	/* sent but never written: the connection's queue was full, or it did not open in time */
	cJSON_AddNumberToObject(d, "unsent", (double)w->unsent);
	c = cJSON_AddObjectToObject(o, "connections");
	cJSON_AddNumberToObject(c, "inbound", w->in);
	cJSON_AddNumberToObject(c, "outbound", w->out);
	cJSON_AddNumberToObject(c, "accepted", (double)w->accepted);
	cJSON_AddNumberToObject(c, "evicted", (double)w->evicted);
	cJSON_AddNumberToObject(c, "refused", (double)w->refused);
	cJSON_AddNumberToObject(c, "connects", (double)w->connects);
	cJSON_AddNumberToObject(c, "connect_failed", (double)w->connect_failed);
	ps = cJSON_AddArrayToObject(o, "peers");
	for (i = 0; i < l->np; i++) {
		const struct peer *p = &l->p[i];
		cJSON *e = cJSON_CreateObject();

		json_add_u64(e, "uid", p->uid);
		cJSON_AddStringToObject(e, "address", p->addr);
		cJSON_AddBoolToObject(e, "up", is_up(p, now));
		if (p->heard != 0)
			cJSON_AddNumberToObject(e, "heard_ms", (double)(now - p->heard));
		else
			cJSON_AddNullToObject(e, "heard_ms");
		cJSON_AddItemToArray(ps, e);
	}
	return o;
}

void
link_summary(const struct link *l, char *buf, size_t len)
{
	const struct link_stats *s;
	const struct wire_stats *w;

	if (l == NULL) {
		snprintf(buf, len, "link off");
		return;
	}
	s = &l->st;
	w = wire_stats(l->w);
	snprintf(buf, len, "%s: %llu messages sent, %llu received; dropped: "
	    "%llu unauthenticated, %llu malformed, %llu cluster, %llu replayed, %llu stale, "
	    "%llu unknown, %llu oversized", l->o.what,
	    (unsigned long long)s->sent, (unsigned long long)s->received,
	    (unsigned long long)s->unauthenticated, (unsigned long long)s->malformed,
	    (unsigned long long)s->cluster, (unsigned long long)s->replayed,
	    (unsigned long long)s->stale, (unsigned long long)s->unknown,
	    (unsigned long long)w->oversized);
}

int
link_port(const struct link *l)
{
	return l != NULL && l->listening ? l->port : 0;
}
