/* memberd.c: the membership daemon: sockets and the loop around the node core. */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>
#include <sys/random.h>

#include "auth.h"
#include "control.h"
#include "daemon.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "node.h"
#include "peers.h"
#include "proto.h"
#include "sock.h"

#define USAGE "memberd [-nv] [-c FILE]"
#define RECV_BATCH 512

struct memberd {
	struct akc_config cfg;
	struct auth auth;
	struct node node;
	struct loop *loop;
	struct peers *peers;
	int pull, ctl, pub, statepub;
	int relay, svcpub;		/* local services: relay requests in, relayed messages out */
	struct mstate published;	/* the state events were last computed from */
	uint64_t published_seq;
	uint64_t event_seq;
	char memory[CONF_PATH_MAX];	/* state-dir/memberd.cluster: the members we remember */
	uint64_t memory_saved;		/* node.memo_seq when last written */
};

#define MEMORY_FILE	"memberd.cluster"
#define MEMORY_MAX	(16 * 1024 * 1024)

/*
 * Reads the membership memory (memory.c). A file that cannot be read is
 * an error, not an empty memory: forgetting would let this node form a
 * cluster of its own behind a cut. The message says how to make it forget.
 */
static int
memory_load(struct memberd *d)
{
	char err[256], *buf;
	FILE *f;
	size_t len;
	cJSON *o;
	int rc;

	if (daemon_state_dir(&d->cfg) < 0)
		return -1;
	if (snprintf(d->memory, sizeof(d->memory), "%s/%s", d->cfg.state_dir, MEMORY_FILE) >=
	    (int)sizeof(d->memory)) {
		log_warnx("state-dir '%s' is too long", d->cfg.state_dir);
		return -1;
	}
	if ((f = fopen(d->memory, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_warn("cannot read '%s'", d->memory);
		return -1;
	}
	if ((buf = malloc(MEMORY_MAX)) == NULL)
		fatal("malloc");
	len = fread(buf, 1, MEMORY_MAX, f);
	fclose(f);
	o = json_parse(buf, len);
	free(buf);
	rc = node_memory_from_json(&d->node, o, err, sizeof(err));
	cJSON_Delete(o);
	if (rc < 0) {
		log_warnx("%s: %s (remove it to make this node forget its cluster)", d->memory, err);
		return -1;
	}
	d->memory_saved = d->node.memo_seq;
	if (d->node.nmemo > 0)
		log_info("remembers %d member%s of its cluster (%s)", d->node.nmemo,
		    d->node.nmemo == 1 ? "" : "s", d->memory);
	return 0;
}

static void
memory_save(struct memberd *d)
{
	cJSON *o;
	char *txt;

	if (d->node.memo_seq == d->memory_saved)
		return;
	d->memory_saved = d->node.memo_seq;
	if (d->node.nmemo == 0) {
		if (unlink(d->memory) < 0 && errno != ENOENT)
			log_warn("cannot remove '%s'", d->memory);
		return;
	}
	o = node_memory_to_json(&d->node);
	txt = json_print(o);
	cJSON_Delete(o);
	if (daemon_write_file(d->memory, txt, strlen(txt)) < 0)
		log_warn("cannot write '%s'", d->memory);
	free(txt);
}

/* Relayed messages for local services go out on the svc PUB, topic "SVC\n". */
static void
flush_relays(struct memberd *d)
{
	cJSON **r;
	int i, n;

	r = node_relays(&d->node, &n);
	for (i = 0; i < n; i++) {
		const char *svc = json_str(r[i], "svc");
		char *txt = json_print(r[i]), *frame;
		size_t sl = strlen(svc), tl = strlen(txt);

		if ((frame = malloc(sl + 1 + tl)) == NULL)
			fatal("malloc");
		memcpy(frame, svc, sl);
		frame[sl] = '\n';
		memcpy(frame + sl + 1, txt, tl);
		(void)nn_send(d->svcpub, frame, sl + 1 + tl, NN_DONTWAIT);
		free(frame);
		cJSON_free(txt);
		cJSON_Delete(r[i]);
	}
	free(r);
}

static void
flush_outbox(struct memberd *d, msec_t now)
{
	struct outmsg *out;
	char (*resets)[CONF_ADDR_MAX];
	int i, n;

	resets = node_resets(&d->node, &n);
	for (i = 0; i < n; i++)
		peers_reset(d->peers, resets[i]);
	out = node_outbox(&d->node, &n);
	for (i = 0; i < n; i++) {
		char *txt = json_print(out[i].msg), *frame;
		size_t len = auth_frame(&d->auth, txt, strlen(txt), &frame);

		if (strcmp(out[i].address, d->node.self.address) != 0) {
			peers_send(d->peers, out[i].address, frame, len, now);
			d->node.sent_msgs++;
			d->node.sent_bytes += len;
		}
		free(frame);
		cJSON_free(txt);
		cJSON_Delete(out[i].msg);
	}
}

static void
publish(cJSON *ev, void *arg)
{
	struct memberd *d = arg;
	char ts[40], *txt;
	const char *type = json_str(ev, "type"), *node = json_str(ev, "node");

	clock_rfc3339(clock_wall_ms(), ts, sizeof(ts));
	cJSON_AddStringToObject(ev, "time", ts);
	cJSON_AddNumberToObject(ev, "seq", (double)++d->event_seq);
	if (json_str(ev, "name") != NULL)
		log_info("event %s: %s on %s", type, json_str(ev, "name"), node);
	else if (node != NULL)
		log_info("event %s: %s (%s)", type, node, json_str(ev, "status"));
	else
		log_info("event %s: %s", type, json_str(ev, "leader") ? json_str(ev, "leader") : "none");
	txt = json_print(ev);
	(void)nn_send(d->pub, txt, strlen(txt), NN_DONTWAIT);
	cJSON_free(txt);
	cJSON_Delete(ev);
}

/* Publishes events for what changed since the last call, and a state notice. */
static void
publish_changes(struct memberd *d)
{
	cJSON *n;
	char *txt;

	if (d->node.state_seq == d->published_seq)
		return;
	events_diff(&d->published, &d->node.st, d->node.self.uid, publish, d);
	mstate_copy(&d->published, &d->node.st);
	d->published_seq = d->node.state_seq;
	n = cJSON_CreateObject();
	json_add_u64(n, "state_seq", d->node.state_seq);
	cJSON_AddBoolToObject(n, "convergence", node_convergence(&d->node));
	cJSON_AddBoolToObject(n, "shutdown", d->node.phase == PHASE_SHUTDOWN);
	cJSON_AddNumberToObject(n, "exit_code", d->node.exit_code);
	txt = json_print(n);
	(void)nn_send(d->statepub, txt, strlen(txt), NN_DONTWAIT);
	cJSON_free(txt);
	cJSON_Delete(n);
}

static void
on_peer(int fd, short ev, void *arg)
{
	struct memberd *d = arg;
	int i;

	(void)fd;
	(void)ev;
	for (i = 0; i < RECV_BATCH; i++) {
		void *buf;
		ssize_t len = sock_recv(d->pull, &buf);
		const char *payload;
		size_t plen;
		cJSON *msg;
		msec_t now;

		if (len < 0)
			break;
		now = clock_mono_ms();
		d->node.wall = clock_wall_ms();
		d->node.recv_msgs++;
		d->node.recv_bytes += (uint64_t)len;
		if ((size_t)len > RELAY_MAX_MSG)
			d->node.dropped.oversized++;
		else if (auth_check(&d->auth, buf, (size_t)len, &payload, &plen) < 0)
			d->node.dropped.unauthenticated++;
		else if ((msg = json_parse(payload, plen)) == NULL)
			d->node.dropped.malformed++;
		else if (plen > PROTO_MAX_MSG && (json_str(msg, "t") == NULL ||
		    strcmp(json_str(msg, "t"), MSG_RELAY) != 0)) {
			d->node.dropped.oversized++;	/* only relays may be this large */
			cJSON_Delete(msg);
		}
		else {
			node_receive(&d->node, msg, now);
			cJSON_Delete(msg);
		}
		nn_freemsg(buf);
		/* answers go out now: a batch of them (full states) could hold megabytes */
		flush_outbox(d, now);
		flush_relays(d);
	}
}

static void publish(cJSON *ev, void *arg);

/* Remembers where singleton name runs, for akc-events' snapshot. */
static void
note_singleton(struct node *n, const char *name, const char *node, int started)
{
	int i;

	for (i = 0; i < n->nsgrun; i++)
		if (strcmp(n->sgrun[i].name, name) == 0)
			break;
	if (!started) {
		if (i < n->nsgrun && strcmp(n->sgrun[i].node, node) == 0)
			n->sgrun[i] = n->sgrun[--n->nsgrun];
		return;
	}
	if (i == n->nsgrun) {
		if (n->nsgrun == CONF_MAX_SINGLETONS)
			return;
		n->nsgrun++;
	}
	snprintf(n->sgrun[i].name, sizeof(n->sgrun[i].name), "%s", name);
	snprintf(n->sgrun[i].node, sizeof(n->sgrun[i].node), "%s", node);
}

/*
 * A local service's request: {"v":1,"relay":{"to","svc","body"}} for a peer's
 * service, or {"v":1,"publish":{"type":"Singleton...","name","node"}} for our
 * event stream. Bad ones are counted (dropped.ctl) and dropped.
 */
static void
on_relay(int fd, short ev, void *arg)
{
	struct memberd *d = arg;
	void *buf;
	ssize_t len;
	int i;

	(void)fd;
	(void)ev;
	for (i = 0; i < RECV_BATCH && (len = sock_recv(d->relay, &buf)) >= 0; i++) {
		cJSON *req = json_parse(buf, (size_t)len), *r, *p;
		long v;
		uint64_t to;
		const char *type;

		nn_freemsg(buf);
		if (req == NULL || json_int(req, "v", 0, 1000, &v) < 0 || v != PROTO_VERSION)
			d->node.dropped_ctl++;
		else if ((r = cJSON_GetObjectItemCaseSensitive(req, "relay")) != NULL) {
			if (json_u64(r, "to", &to) < 0 || json_str(r, "svc") == NULL ||
			    node_relay(&d->node, to, json_str(r, "svc"),
			    cJSON_GetObjectItemCaseSensitive(r, "body")) < 0)
				d->node.relay_refused++;
		} else if ((p = cJSON_GetObjectItemCaseSensitive(req, "publish")) != NULL &&
		    (type = json_str(p, "type")) != NULL &&
		    (strcmp(type, "SingletonStarted") == 0 || strcmp(type, "SingletonStopped") == 0) &&
		    json_str(p, "name") != NULL && json_str(p, "node") != NULL) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "type", type);
			cJSON_AddStringToObject(e, "name", json_str(p, "name"));
			cJSON_AddStringToObject(e, "node", json_str(p, "node"));
			note_singleton(&d->node, json_str(p, "name"), json_str(p, "node"),
			    strcmp(type, "SingletonStarted") == 0);
			publish(e, d);
		} else
			d->node.dropped_ctl++;
		cJSON_Delete(req);
		flush_relays(d);
		flush_outbox(d, clock_mono_ms());
	}
}

static void
on_ctl(int fd, short ev, void *arg)
{
	struct memberd *d = arg;
	void *buf;
	ssize_t len;
	cJSON *req, *rsp;
	char *txt, why[160];

	(void)fd;
	(void)ev;
	while ((len = sock_recv(d->ctl, &buf)) >= 0) {
		d->node.wall = clock_wall_ms();
		req = json_parse_why(buf, (size_t)len, why, sizeof(why));
		nn_freemsg(buf);
		/* events first, so a snapshot and the stream agree on seq */
		publish_changes(d);
		rsp = req != NULL ? control_dispatch(&d->node, req, d->event_seq, clock_mono_ms()) :
		    control_malformed(&d->node, why);
		cJSON_Delete(req);
		txt = json_print(rsp);
		if (nn_send(d->ctl, txt, strlen(txt), NN_DONTWAIT) < 0)
			log_warnx("cannot answer a control request: %s", nn_strerror(nn_errno()));
		cJSON_free(txt);
		cJSON_Delete(rsp);
	}
}

static int
open_sockets(struct memberd *d)
{
	char addr[CONF_PATH_MAX + 16];
	int rcvbuf = 32 * 1024;

	/*
	 * nanomsg drops the connection of a sender whose message exceeds the
	 * socket's bound, uncounted: accept up to twice our limit so that
	 * moderately oversized messages are seen, counted and dropped here.
	 */
	if ((d->pull = sock_bind(NN_PULL, d->cfg.address, 2 * RELAY_MAX_MSG)) < 0)
		return -1;
	/*
	 * What nanomsg may hold per sender before we read it: in a join storm
	 * every node pushes to the seeds at once, and 128 KiB per sender kept
	 * megabytes (and a fragmented heap) at the seeds for good.
	 */
	(void)nn_setsockopt(d->pull, NN_SOL_SOCKET, NN_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	config_ipc_path(&d->cfg, SOCK_MEMBERD_CTL, addr, sizeof(addr));
	if ((d->ctl = sock_bind(NN_REP, addr, CTL_MAX_MSG)) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_EVENTS, addr, sizeof(addr));
	if ((d->pub = sock_bind(NN_PUB, addr, 1024)) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_STATE, addr, sizeof(addr));
	if ((d->statepub = sock_bind(NN_PUB, addr, 1024)) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_RELAY, addr, sizeof(addr));
	if ((d->relay = sock_bind(NN_PULL, addr, RELAY_MAX_MSG)) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_SVC, addr, sizeof(addr));
	if ((d->svcpub = sock_bind(NN_PUB, addr, 1024)) < 0)
		return -1;
	loop_watch(d->loop, sock_rcvfd(d->relay), POLLIN, on_relay, d);
	loop_watch(d->loop, sock_rcvfd(d->pull), POLLIN, on_peer, d);
	loop_watch(d->loop, sock_rcvfd(d->ctl), POLLIN, on_ctl, d);
	return 0;
}

/*
 * Exit holds of local services whose process still lives do not lapse. A
 * holder that died without releasing its hold is told to the node: the
 * exit it held is then not a clean hand-over.
 */
static void
renew_holds(struct node *n, msec_t now)
{
	int i;

	for (i = 0; i < n->nholds; i++) {
		if (n->holds[i].pid <= 0 || n->holds[i].until <= now)
			continue;
		if (kill(n->holds[i].pid, 0) < 0 && errno == ESRCH)
			node_hold_orphaned(n, i, now);
		else if (n->holds[i].until < now + 500)
			n->holds[i].until = now + 1000;
	}
}

int
main(int argc, char **argv)
{
	static struct memberd d;
	struct daemon_opts o;
	uint64_t uid = 0;
	msec_t now, deadline, next_trim = 0;
	unsigned long sigs;

	/* one arena: nanomsg's worker thread would otherwise get its own 64 MiB heap */
	mallopt(M_ARENA_MAX, 1);
	daemon_setup(argc, argv, "memberd", USAGE, 0, &o, &d.cfg);
	if (o.argi != argc) {
		fprintf(stderr, "usage: %s\n", USAGE);
		return 2;
	}
	if (auth_load(&d.auth, d.cfg.key_file) < 0)
		return 1;
	if (daemon_run_dir(&d.cfg) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	d.loop = loop_new();
	loop_catch(d.loop, SIGTERM);
	loop_catch(d.loop, SIGINT);
	loop_catch(d.loop, SIGHUP);
	/* the incarnation: random, so a restarted node is never its old self */
	while (uid == 0)
		if (getrandom(&uid, sizeof(uid), 0) != sizeof(uid))
			fatal("getrandom");
	uid &= 0x1fffffffffffffULL;	/* fits a double too, for scripts */
	if (uid == 0)
		uid = 1;
	if (open_sockets(&d) < 0)
		return 1;
	d.peers = peers_new(d.loop, d.cfg.peer_sockets);
	now = clock_mono_ms();
	node_init(&d.node, &d.cfg, uid, now);
	d.node.wall = clock_wall_ms();
	mstate_init(&d.published);
	log_info("%s (%s) starting as uid %llu%s", d.cfg.name, d.cfg.address,
	    (unsigned long long)uid, d.auth.enabled ? ", messages authenticated" : "");
	if (!d.auth.enabled)
		log_warnx("no [security] key-file: messages are not authenticated, and anyone who "
		    "can reach %s can join, down or remove members of this cluster", d.cfg.address);
	if (memory_load(&d) < 0)
		return 1;
	node_start(&d.node, now);
	daemon_notify("READY=1");

	for (;;) {
		sigs = loop_signals(d.loop);
		if (sigs & ((1UL << SIGTERM) | (1UL << SIGINT))) {
			log_info("stopping on signal");
			daemon_notify("STOPPING=1");
			break;
		}
		now = clock_mono_ms();
		d.node.wall = clock_wall_ms();
		renew_holds(&d.node, now);
		node_tick(&d.node, now);
		flush_outbox(&d, now);
		publish_changes(&d);
		memory_save(&d);
		peers_expire(d.peers, now);
		if (now >= next_trim) {
			/* bursts (a join storm at a seed) must not pin memory for good */
			malloc_trim(64 * 1024);
			next_trim = now + 30000;
		}
		if (d.node.phase == PHASE_SHUTDOWN && now >= d.node.exit_at) {
			daemon_notify("STOPPING=1");
			break;
		}
		deadline = node_next_deadline(&d.node);
		if (deadline < 0 || deadline > now + 1000)
			deadline = now + 1000;
		loop_poll(d.loop, deadline);
	}
	if (d.node.phase == PHASE_SHUTDOWN && d.node.exit_code == EXIT_DAEMON_OK) {
		node_memory_forget(&d.node);	/* it left the cluster: nothing to keep apart from */
		memory_save(&d);
	}
	peers_free(d.peers);
	node_free(&d.node);
	mstate_free(&d.published);
	nn_term();
	return d.node.phase == PHASE_SHUTDOWN ? d.node.exit_code : 0;
}
