/* memberd.c: the membership daemon: sockets and the loop around the node core. */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <sodium.h>

#include "auth.h"
#include "compact.h"
#include "control.h"
#include "daemon.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "node.h"
#include "proto.h"
#include "sock.h"
#include "wire.h"
#include "xmalloc.h"

#define USAGE "memberd [-nqv] [-c FILE]"
#define RECV_BATCH 512

struct memberd {
	struct akc_config cfg;
	struct keyring keys;
	struct node node;
	struct loop *loop;
	struct wire *wire;
	int ctl, pub, statepub, leaderpub;
	struct badpeer {		/* senders whose frames failed authentication, for the log */
		char ip[48];
		uint64_t count, said;	/* dropped, and dropped when last logged */
		msec_t said_at;
	} bad[16];
	int nbad;
	int relay, svcpub;		/* local services: relay requests in, relayed messages out */
	struct mstate published;	/* the state events were last computed from */
	uint64_t published_seq;
	/*
	 * The state notices leaderd needs, on a socket of their own
	 * (memberd.leader; singletond reads every notice on memberd.state).
	 * A leaderd that asks for the state
	 * if_leader (no downing strategy) decides nothing unless this node
	 * leads with convergence: it is told when this node starts or stops
	 * leading or shuts down, and while it leads, when convergence comes
	 * or goes and of every change while it holds; not of the others (each
	 * woke it through nanomsg's threads only to be dropped: in a 100-node
	 * join, hundreds per node).
	 */
	int notice_if_leader;		/* leaderd's last state request had if_leader */
	int noticed;			/* a notice went out: the flags below are its */
	int noticed_leader, noticed_conv, noticed_shut;
	uint64_t notices_sent, notices_held;
	uint64_t event_seq;
	uint64_t events_skipped;	/* versions with nothing for events_diff (same_for_events) */
	char memory[CONF_PATH_MAX];	/* state-dir/memberd.cluster: the members we remember */
	char memory_new[CONF_PATH_MAX + 8];	/* its spare: the next version is written there */
	uint64_t memory_saved;		/* node.memo_seq when last written */
	msec_t memory_saved_at;		/* and when (0: never) */
	/*
	 * Our connections are one-way, as before protocol 2's "reads back":
	 * no mark, no reading of our own connections, marks ignored. Only
	 * for tests (AKC_TEST_ONE_WAY=1 in the environment): a node of an
	 * earlier build, in the same cluster as new ones.
	 */
	int one_way;
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
		log_errx("state-dir '%s' is too long", d->cfg.state_dir);
		return -1;
	}
	snprintf(d->memory_new, sizeof(d->memory_new), "%s.new", d->memory);
	if ((f = fopen(d->memory, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_err("cannot read '%s'", d->memory);
		return -1;
	}
	buf = xmalloc(MEMORY_MAX);
	len = fread(buf, 1, MEMORY_MAX, f);
	fclose(f);
	o = json_parse(buf, len);
	free(buf);
	rc = node_memory_from_json(&d->node, o, err, sizeof(err));
	cJSON_Delete(o);
	if (rc < 0) {
		log_errx("%s: %s (remove it to make this node forget its cluster)", d->memory, err);
		return -1;
	}
	d->memory_saved = d->node.memo_seq;
	if (d->node.nmemo > 0)
		log_info("remembers %d member%s of its cluster (%s)", d->node.nmemo,
		    d->node.nmemo == 1 ? "" : "s", d->memory);
	return 0;
}

/*
 * Writes the memory when it changed: at once after MEMORY_SAVE_GAP without
 * a write, else that long after the last one (or now, with force). In a join storm every
 * member that joins changes it, and a write is a new file, an fsync and a
 * rename: 100 nodes joining made 10,000 of them, ~15% of the memberds'
 * CPU, with the loop blocked in fsync. The price: a memberd killed within
 * a second of a change restarts with the memory from before it, which
 * may miss members that just joined (memberd(8), FORMING, says what that
 * weakens).
 */
#define MEMORY_SAVE_GAP	1000
/*
 * Nor while a push of a new version is about to go (within this many ms):
 * the write blocks the loop in fsync, and on a loaded machine the process
 * then waits for a CPU again, so a write made just before the push delayed
 * every hop of a version that changes the memory (a leave's Removed: each
 * member forgets the node that left) by that much. A push due later (the
 * budget is spent) does not hold the write back.
 */
#define MEMORY_AFTER_PUSH	50

/* The earlier of two deadlines, -1 meaning none. */
static msec_t
sooner(msec_t a, msec_t b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

/* When the held-back write is due (-1: nothing to write). */
static msec_t
memory_due(const struct memberd *d, msec_t now)
{
	msec_t due;

	if (d->node.memo_seq == d->memory_saved)
		return -1;
	due = d->memory_saved_at != 0 ? d->memory_saved_at + MEMORY_SAVE_GAP : now;
	if (d->node.push_at >= 0 && d->node.push_at - now <= MEMORY_AFTER_PUSH &&
	    due < d->node.push_at)
		due = d->node.push_at;
	return due;
}

/*
 * Writes the memory durably, and atomically: the new version goes into the
 * spare file (memberd.cluster.new), synced, and is then swapped with the
 * current one in one renameat2(RENAME_EXCHANGE). The spare keeps its inode
 * from one write to the next: a new file per write (then renamed over the
 * old, which is deleted) made ext4 allocate an inode and free one each
 * time, 5% of memberd's CPU in a 100-node join (perf: find_inode_bit,
 * recently_deleted). After a crash the file holds the old version or the
 * new one. The directory is synced only when a name is new (the first
 * write, or a file system without the exchange: a plain rename then).
 */
static int
memory_write(struct memberd *d, const char *txt, size_t len)
{
	size_t off = 0;
	ssize_t w;
	int fd, dfd, created;
	struct stat st;
	char dir[CONF_PATH_MAX], *slash;

	created = stat(d->memory_new, &st) < 0;
	if ((fd = open(d->memory_new, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	while (off < len) {
		if ((w = write(fd, txt + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	if (renameat2(AT_FDCWD, d->memory_new, AT_FDCWD, d->memory, RENAME_EXCHANGE) < 0) {
		/* no current file yet (ENOENT), or no exchange here: a rename, and the spare is new next time */
		if (rename(d->memory_new, d->memory) < 0)
			return -1;
		created = 1;
	}
	if (!created)
		return 0;
	snprintf(dir, sizeof(dir), "%s", d->memory);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

static void
memory_save(struct memberd *d, msec_t now, int force)
{
	cJSON *o;
	char *txt;

	if (d->node.memo_seq == d->memory_saved)
		return;
	if (!force && memory_due(d, now) > now)
		return;
	d->memory_saved = d->node.memo_seq;
	d->memory_saved_at = now;
	if (d->node.nmemo == 0) {
		if (unlink(d->memory) < 0 && errno != ENOENT)
			log_warn("cannot remove '%s'", d->memory);
		(void)unlink(d->memory_new);	/* an older version of what was just forgotten */
		return;
	}
	o = node_memory_to_json(&d->node);
	txt = json_print(o);
	cJSON_Delete(o);
	if (memory_write(d, txt, strlen(txt)) < 0)
		log_warn("cannot write '%s'", d->memory);
	else
		/* when it began: the spacing is kept between beginnings (memory_due), and a
		   slow fsync of one write would make the next look early */
		log_debug("wrote the membership memory: %d members (begun %lld ms ago)",
		    d->node.nmemo, (long long)(clock_mono_ms() - now));
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

		frame = xmalloc(sl + 1 + tl);
		memcpy(frame, svc, sl);
		frame[sl] = '\n';
		memcpy(frame + sl + 1, txt, tl);
		(void)sock_send(d->svcpub, frame, sl + 1 + tl);
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
		wire_reset(d->wire, resets[i]);
	out = node_outbox(&d->node, &n);
	for (i = 0; i < n; i++) {
		/* a compact payload is its own payload; the rest is JSON */
		char *txt = out[i].msg != NULL ? json_print(out[i].msg) : NULL;
		unsigned char *frame, shortp[CPT_MAX];
		const char *payload = txt != NULL ? txt : (const char *)out[i].bin;
		size_t plen = txt != NULL ? strlen(txt) : out[i].blen, len;
		uint64_t bound = 0;

		if (strcmp(out[i].address, d->node.self.address) == 0)
			goto next;
		/*
		 * Its short form, the uids left out, on a connection that our
		 * bind frame opened for that very uid, in plain frames only
		 * (doc/PROTOCOL.md, "Compact digests and bound connections").
		 */
		if (out[i].bind_to != 0 && d->keys.n == 0) {
			uint64_t b = wire_bound(d->wire, out[i].address, now);

			/*
			 * Opened before we knew it reads them (a JSON hello), or
			 * bound to an earlier incarnation there: a bind frame on
			 * it, once, binds it to the member we now know there.
			 */
			if (b != out[i].bind_to &&
			    node_bind_uid(&d->node, out[i].address) == out[i].bind_to &&
			    wire_rebind(d->wire, out[i].address))
				b = wire_bound(d->wire, out[i].address, now);

			if (b == out[i].bind_to && (plen = compact_shorten(out[i].bin, out[i].blen,
			    shortp)) > 0) {
				payload = (const char *)shortp;
				bound = b;
				d->node.compact.short_sent++;
			} else
				plen = out[i].blen;
		}
		len = frame_seal(&d->keys,
		    out[i].cluster[0] != '\0' ? out[i].cluster : d->cfg.cluster_name,
		    payload, plen, &frame);
		if (bound != 0)
			wire_send_bound(d->wire, out[i].address, frame, len, bound, now);
		else
			wire_send(d->wire, out[i].address, frame, len, now);
		d->node.sent_msgs++;
		d->node.sent_bytes += len;
		node_count_traffic(d->node.sent_by, node_out_type(&out[i]), len);
		free(frame);
next:
		cJSON_free(txt);
		cJSON_Delete(out[i].msg);
	}
}

/*
 * The level of an event's log line: what an operator on call must see is a
 * warning (a member unreachable or downed), what changes the cluster's shape
 * a notice (the leader, singletons, a member back or gone); members
 * joining, coming up and leaving are the routine of a cluster's life.
 */
static int
event_level(const cJSON *ev)
{
	const char *t = json_str(ev, "type"), *prev = json_str(ev, "previous_status");

	if (t == NULL)
		return LOG_INFO;
	if (strcmp(t, CEV_UNREACHABLE) == 0 || strcmp(t, CEV_MEMBER_DOWNED) == 0)
		return LOG_WARNING;
	if (strcmp(t, CEV_REACHABLE) == 0 || strcmp(t, CEV_LEADER_CHANGED) == 0 ||
	    strcmp(t, CEV_SINGLETON_STARTED) == 0 || strcmp(t, CEV_SINGLETON_STOPPED) == 0 ||
	    (strcmp(t, CEV_MEMBER_REMOVED) == 0 && (prev == NULL || strcmp(prev, "Exiting") != 0)))
		return LOG_NOTICE;
	return LOG_INFO;
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
		log_msg(event_level(ev), "event %s: %s on %s", type, json_str(ev, "name"), node);
	else if (node != NULL)
		log_msg(event_level(ev), "event %s: %s (%s)", type, node, json_str(ev, "status"));
	else
		log_msg(event_level(ev), "event %s: %s", type,
		    json_str(ev, "leader") ? json_str(ev, "leader") : "none");
	txt = json_print(ev);
	(void)sock_send(d->pub, txt, strlen(txt));
	cJSON_free(txt);
	cJSON_Delete(ev);
}

/*
 * Whether a and b differ in nothing an event reports: the same member
 * table (a shared block, written only through a copy, so the same block
 * is the same members) and the same reachability records, byte for byte.
 * Most versions of a join storm change only the seen set: events_diff
 * then indexed both tables and compared every member to find nothing.
 */
static int
same_for_events(const struct mstate *a, const struct mstate *b)
{
	int i;

	if (a->n == 0 || !mstate_same_table(a, b) || a->reach.n != b->reach.n)
		return 0;
	/* field by field: a record's padding is not initialized (memcmp read it: valgrind, t/9004) */
	for (i = 0; i < a->reach.n; i++) {
		const struct reach_record *x = &a->reach.r[i], *y = &b->reach.r[i];

		if (x->observer != y->observer || x->subject != y->subject ||
		    x->status != y->status || x->version != y->version)
			return 0;
	}
	return 1;
}

/* Publishes events for what changed since the last call, and a state notice. */
static void
publish_changes(struct memberd *d)
{
	cJSON *n;
	char *txt;
	int li, leader, conv, shut;

	if (d->node.state_seq == d->published_seq)
		return;
	if (!same_for_events(&d->published, &d->node.st)) {
		events_diff(&d->published, &d->node.st, d->node.self.uid, publish, d);
		mstate_copy(&d->published, &d->node.st);
	} else
		d->events_skipped++;
	d->published_seq = d->node.state_seq;
	li = mstate_leader_for(&d->node.st, NULL, d->node.self.uid);
	leader = li >= 0 && d->node.st.m[li].uid == d->node.self.uid;
	conv = node_convergence(&d->node);
	shut = d->node.phase == PHASE_SHUTDOWN;
	n = cJSON_CreateObject();
	json_add_u64(n, "state_seq", d->node.state_seq);
	cJSON_AddBoolToObject(n, "convergence", conv);
	/* a leaderd with nothing to decide unless it leads skips the others */
	cJSON_AddBoolToObject(n, "leader", leader);
	cJSON_AddBoolToObject(n, "shutdown", shut);
	cJSON_AddNumberToObject(n, "exit_code", d->node.exit_code);
	txt = json_print(n);
	/* every notice for singletond (the oldest member, the majority...) */
	(void)sock_send(d->statepub, txt, strlen(txt));
	/* leaderd's: a follower needs leading or stopping; the leader convergence too */
	if (d->notice_if_leader && d->noticed && leader == d->noticed_leader &&
	    shut == d->noticed_shut && (!leader || (!conv && !d->noticed_conv)))
		d->notices_held++;
	else {
		d->noticed = 1;
		d->noticed_leader = leader;
		d->noticed_conv = conv;
		d->noticed_shut = shut;
		d->notices_sent++;
		(void)sock_send(d->leaderpub, txt, strlen(txt));
	}
	cJSON_free(txt);
	cJSON_Delete(n);
}

/* Our keys, primary first, in base64. */
static cJSON *
keys_json(const struct keyring *r)
{
	cJSON *a = cJSON_CreateArray();
	char b64[KEY_B64_LEN + 1];
	int i;

	for (i = 0; i < r->n; i++) {
		key_b64(r->key[i], b64);
		cJSON_AddItemToArray(a, cJSON_CreateString(b64));
	}
	sodium_memzero(b64, sizeof(b64));
	return a;
}

/*
 * Applies a key operation (list, install, use, remove) to a copy of our
 * keyring and writes it to the key-file; the copy goes in *out. Returns 0,
 * or -1 with why in err.
 */
static int
keys_apply(const struct memberd *d, const char *op, const char *b64, struct keyring *out,
    char *err, size_t elen)
{
	unsigned char key[KEY_BYTES];
	int r = 0;

	*out = d->keys;
	if (d->keys.n == 0) {
		snprintf(err, elen, "no [security] key-file on this node");
		return -1;
	}
	if (strcmp(op, KEYS_OP_LIST) == 0)
		return 0;
	if (strcmp(op, KEYS_OP_INSTALL) != 0 && strcmp(op, KEYS_OP_USE) != 0 && strcmp(op, KEYS_OP_REMOVE) != 0) {
		snprintf(err, elen, "unknown key operation '%s'", op);
		return -1;
	}
	if (b64 == NULL || key_parse(b64, key) < 0) {
		snprintf(err, elen, "not a key (expected 44 characters of base64, as akc-keys "
		    "generate prints)");
		return -1;
	}
	if (strcmp(op, KEYS_OP_INSTALL) == 0)
		r = keyring_install(out, key) < 0 ? (snprintf(err, elen, "the keyring is full "
		    "(%d keys)", KEYRING_MAX), -1) : 0;
	else if (strcmp(op, KEYS_OP_USE) == 0)
		r = keyring_use(out, key) < 0 ? (snprintf(err, elen, "key is not installed"), -1) : 0;
	else {
		r = keyring_remove(out, key);
		if (r == -1)
			snprintf(err, elen, "key is not installed");
		else if (r == -2)
			snprintf(err, elen, "key is the primary key: use another one first");
	}
	sodium_memzero(key, sizeof(key));
	if (r == 0 && keyring_save(out, d->cfg.key_file) < 0) {
		snprintf(err, elen, "cannot write key-file '%s'", d->cfg.key_file);
		return -1;
	}
	return r < 0 ? -1 : 0;
}

/* Members' key requests: applied, persisted, answered with our keys. */
static void
serve_keys(struct memberd *d)
{
	cJSON **req;
	int i, n;

	req = node_keys_requests(&d->node, &n);
	for (i = 0; i < n; i++) {
		struct keyring next;
		char err[CONF_PATH_MAX + 64];
		const char *op = json_str(req[i], "op");
		int ok = keys_apply(d, op, json_str(req[i], "key"), &next, err, sizeof(err)) == 0;

		if (ok && strcmp(op, KEYS_OP_LIST) != 0) {
			log_notice("key %s from %s: done", op,
			    json_str(cJSON_GetObjectItemCaseSensitive(req[i], "from"), "node"));
			/* the answer goes under the keys it was asked under */
			node_keys_answer(&d->node, req[i], 1, NULL, keys_json(&next));
			flush_outbox(d, clock_mono_ms());
			d->keys = next;
		} else
			node_keys_answer(&d->node, req[i], ok, ok ? NULL : err, keys_json(&d->keys));
		sodium_memzero(&next, sizeof(next));
		cJSON_Delete(req[i]);
	}
	free(req);
}

/*
 * akc-keys through the control socket: {"cmd":"keys","op","key"} applies
 * the operation here and asks every member; {"cmd":"keys-result","query"}
 * returns the answers so far.
 */
static cJSON *
keys_ctl(struct memberd *d, const cJSON *req)
{
	cJSON *r, *local;
	const char *cmd = json_str(req, "cmd"), *op = json_str(req, "op");
	uint64_t q;

	if (strcmp(cmd, CTL_KEYS_RESULT) == 0) {
		if (json_u64(req, "query", &q) < 0 || q != d->node.keyq.id || q == 0)
			return control_refuse(1, "no such key query (another one started?)");
		r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
		cJSON_AddBoolToObject(r, "ok", 1);
		cJSON_AddBoolToObject(r, "done",
		    cJSON_GetArraySize(d->node.keyq.results) >= d->node.keyq.expected);
		cJSON_AddNumberToObject(r, "expected", d->node.keyq.expected);
		cJSON_AddItemToObject(r, "results", cJSON_Duplicate(d->node.keyq.results, 1));
		return r;
	}
	if (op == NULL || (strcmp(op, KEYS_OP_LIST) != 0 && strcmp(op, KEYS_OP_INSTALL) != 0 &&
	    strcmp(op, KEYS_OP_USE) != 0 && strcmp(op, KEYS_OP_REMOVE) != 0))
		return control_refuse(2, "keys needs op: list, install, use or remove");
	if (d->keys.n == 0)
		return control_refuse(1, "this node runs without a [security] key-file: "
		    "give every node one (akc-keys generate) and restart it first");
	{
		struct keyring next;
		char err[CONF_PATH_MAX + 64];
		int ok = keys_apply(d, op, json_str(req, "key"), &next, err, sizeof(err)) == 0;

		local = cJSON_CreateObject();
		cJSON_AddStringToObject(local, "node", d->cfg.name);
		cJSON_AddBoolToObject(local, "ok", ok);
		if (!ok)
			cJSON_AddStringToObject(local, "error", err);
		cJSON_AddItemToObject(local, "keys", keys_json(ok ? &next : &d->keys));
		q = node_keys_start(&d->node, op, json_str(req, "key"), local, clock_mono_ms());
		/* asked under the keys we had: a new primary is used once they all hold it */
		flush_outbox(d, clock_mono_ms());
		if (ok) {
			if (strcmp(op, KEYS_OP_LIST) != 0)
				log_notice("key %s: done here, asking the other members", op);
			d->keys = next;
		}
		sodium_memzero(&next, sizeof(next));
	}
	r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
	cJSON_AddBoolToObject(r, "ok", 1);
	json_add_u64(r, "query", q);
	cJSON_AddNumberToObject(r, "expected", d->node.keyq.expected);
	return r;
}

/*
 * Logs senders whose frames fail authentication, rate-limited: once when
 * first seen, then at most every 10 s with the count since.
 */
static void
note_bad(struct memberd *d, const char *ip, msec_t now)
{
	struct badpeer *b = NULL;
	int i, old = 0;

	for (i = 0; i < d->nbad; i++) {
		if (strcmp(d->bad[i].ip, ip) == 0) {
			b = &d->bad[i];
			break;
		}
		if (d->bad[i].said_at < d->bad[old].said_at)
			old = i;
	}
	if (b == NULL) {
		b = d->nbad < (int)(sizeof(d->bad) / sizeof(d->bad[0])) ? &d->bad[d->nbad++] :
		    &d->bad[old];
		memset(b, 0, sizeof(*b));
		snprintf(b->ip, sizeof(b->ip), "%s", ip);
		b->said_at = now - 20000;
	}
	b->count++;
	if (now - b->said_at >= 10000) {
		log_warnx("dropped %llu message%s from %s that failed authentication: wrong key?",
		    (unsigned long long)(b->count - b->said), b->count - b->said == 1 ? "" : "s",
		    ip);
		b->said = b->count;
		b->said_at = now;
	}
}

/*
 * The frame that opens each of our connections: authentic, so large frames
 * may follow. To a member that reads the short forms, in plain frames, it
 * is a bind frame (17 bytes, not ~110 of JSON) that binds the connection
 * to that member's uid; else a JSON hello, which says that we read them.
 */
static size_t
hello_frame(void *arg, const char *address, unsigned char **frame)
{
	struct memberd *d = arg;
	uint64_t to = d->keys.n == 0 ? node_bind_uid(&d->node, address) : 0;
	size_t len;

	if (to != 0) {
		struct compact c = { .kind = CPT_BIND, .from = d->node.self.uid, .to = to };
		unsigned char p[CPT_MAX];

		len = frame_seal(&d->keys, d->cfg.cluster_name, (const char *)p,
		    compact_encode(p, &c), frame);
		wire_set_bound(d->wire, to);
		d->node.compact.binds_sent++;
		if (!d->one_way) {
			/* and we read what comes back on it: the mark follows the bind frame */
			unsigned char mark = CPT_READS_BACK, *mf;
			size_t ml = frame_seal(&d->keys, d->cfg.cluster_name, (const char *)&mark, 1, &mf);

			if (wire_hello_also(d->wire, mf, ml)) {
				d->node.sent_msgs++;
				d->node.sent_bytes += ml;
				node_count_traffic(d->node.sent_by, MSG_HELLO, ml);
			}
			free(mf);
		}
	} else {
		cJSON *m = node_hello(&d->node);
		char *txt;

		if (!d->one_way)
			cJSON_AddTrueToObject(m, "rb");	/* we read what comes back on it */
		txt = json_print(m);

		len = frame_seal(&d->keys, d->cfg.cluster_name, txt, strlen(txt), frame);
		cJSON_free(txt);
		cJSON_Delete(m);
	}
	d->node.sent_msgs++;
	d->node.sent_bytes += len;
	node_count_traffic(d->node.sent_by, MSG_HELLO, len);
	return len;
}

/* The address of member uid in our state; NULL if it is not there. */
static const char *
uid_address(const struct memberd *d, uint64_t uid)
{
	int i;

	for (i = 0; i < d->node.st.n; i++)
		if (d->node.st.m[i].uid == uid)
			return d->node.st.m[i].address;
	return NULL;
}

/*
 * A compact payload. A bind frame binds the connection it came on to its
 * sender (wire_tag); a short form on it is its long form with the uids
 * the bind frame gave. Neither is taken in sealed frames, whose seal
 * covers the uids of a long form but not a connection's binding.
 */
static void
on_compact(struct memberd *d, const unsigned char *p, size_t len, msec_t now)
{
	uint64_t *tag = wire_tag(d->wire);
	unsigned char full[CPT_MAX];
	size_t flen;
	int k = compact_kind_known(p[0]);

	if (p[0] == CPT_READS_BACK && !d->one_way) {
		/*
		 * The opener reads this connection: answers to it may go on it.
		 * Plain frames only, after a bind frame, which names the opener.
		 */
		if (len != 1 || d->keys.n > 0 || tag == NULL)
			d->node.dropped.malformed++;
		else if (*tag == 0)
			d->node.dropped.stale++;	/* its bind frame was not for us */
		else if (wire_back(d->wire, uid_address(d, *tag)) < 0)
			d->node.dropped.malformed++;	/* on a connection we opened */
		return;
	}
	if ((k == 2 || p[0] == CPT_BIND) && (d->keys.n > 0 || tag == NULL)) {
		d->node.dropped.malformed++;
		return;
	}
	if (p[0] == CPT_BIND) {
		*tag = node_receive_bind(&d->node, p, len, now);
		return;
	}
	if (k == 2) {
		if (*tag == 0) {
			d->node.dropped.stale++;	/* not bound to us (an earlier incarnation) */
			return;
		}
		if (wire_back_unnamed(d->wire))
			(void)wire_back(d->wire, uid_address(d, *tag));
		if ((flen = compact_expand(p, len, *tag, d->node.self.uid, full)) == 0) {
			d->node.dropped.malformed++;
			return;
		}
		d->node.compact.short_received++;
		node_receive_compact(&d->node, full, flen, now);
		return;
	}
	node_receive_compact(&d->node, p, len, now);
}

/*
 * A JSON message just told us that its sender reads the compact forms, and
 * it came in JSON, so the sender may not know that we read them too. Every
 * connection we open starts by saying so (a bind frame, or a JSON hello
 * with "cv"): if we have none to it, one is opened now, and its first frame
 * tells it, instead of waiting for our first message to it (at a hundred
 * members, a minute of JSON digests on average). If we have one, its first
 * frame told it already.
 */
static void
announce(struct memberd *d, const cJSON *msg, msec_t now)
{
	const char *address = json_str(cJSON_GetObjectItemCaseSensitive(msg, "from"), "address");

	/*
	 * Not on an "rb" hello's connection before a fresh frame proved it:
	 * that frame (the next, bound to us) makes it ours to write on, and a
	 * connection opened now would be one more for the pair.
	 */
	if (wire_back_pending(d->wire))
		return;
	if (address != NULL && strcmp(address, d->node.self.address) != 0)
		(void)wire_bound(d->wire, address, now);
}

/*
 * A message that passed the core's checks, on a peer's connection to us: a
 * hello with "rb" says that its opener reads the connection; any message
 * names the opener's address if the connection still needs it (a bind
 * frame's opener that was not in our state yet).
 */
static void
reads_back(struct memberd *d, const cJSON *msg)
{
	const char *address = json_str(cJSON_GetObjectItemCaseSensitive(msg, "from"), "address");
	const char *t = json_str(msg, "t");

	if (address == NULL)
		return;
	if (t != NULL && strcmp(t, MSG_HELLO) == 0 &&
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "rb")))
		(void)wire_back(d->wire, address);
	else if (wire_back_unnamed(d->wire))
		(void)wire_back(d->wire, address);
}

/*
 * One frame from a peer connection: opened under the keyring, checked for
 * our cluster, parsed, handed to the node core. Returns what the transport
 * should make of the connection.
 */
static enum wire_verdict
on_frame(void *arg, const char *from, const unsigned char *frame, size_t len)
{
	struct memberd *d = arg;
	char cluster[CLUSTER_NAME_MAX + 1], *payload = NULL;
	size_t plen = 0;
	enum frame_result fr;
	enum wire_verdict v = WIRE_OK;
	cJSON *msg;
	const char *t;
	msec_t now = clock_mono_ms();

	d->node.wall = clock_wall_ms();
	d->node.recv_msgs++;
	d->node.recv_bytes += (uint64_t)len;
	fr = frame_open(&d->keys, d->cfg.cluster_name, frame, len, cluster, &payload, &plen);
	if (fr == FRAME_MALFORMED || fr == FRAME_UNAUTHENTIC) {
		if (fr == FRAME_MALFORMED)
			d->node.dropped.malformed++;
		else
			d->node.dropped.unauthenticated++;
		node_count_traffic(d->node.recv_by, NULL, len);
		note_bad(d, from, now);
		return WIRE_BAD;
	}
	if (node_payload_compact(payload, plen)) {
		node_count_traffic(d->node.recv_by, node_compact_type(payload, plen), len);
		if (fr == FRAME_OTHER_CLUSTER) {
			d->node.dropped.cluster++;
			v = WIRE_DROP;
		} else {
			struct dropped was = d->node.dropped;

			on_compact(d, (const unsigned char *)payload, plen, now);
			/*
			 * Bound to us and fresh (a compact form's to and its
			 * seq, window or n): the connection may carry answers.
			 * Not a bind frame or the mark: neither has a counter.
			 */
			if (!d->one_way && payload[0] != (char)CPT_BIND &&
			    payload[0] != (char)CPT_READS_BACK &&
			    memcmp(&was, &d->node.dropped, sizeof(was)) == 0)
				(void)wire_back_fresh(d->wire, now);
		}
		free(payload);
		flush_outbox(d, now);
		return v;
	}
	msg = json_parse(payload, plen);
	node_count_traffic(d->node.recv_by, msg != NULL ? json_str(msg, "t") : NULL, len);
	if (msg == NULL) {
		d->node.dropped.malformed++;
		v = WIRE_DROP;
	} else if (fr == FRAME_OTHER_CLUSTER) {
		node_receive_foreign(&d->node, msg, cluster, now);
		v = WIRE_DROP;
	} else if (plen > PROTO_MAX_MSG && ((t = json_str(msg, "t")) == NULL ||
	    strcmp(t, MSG_RELAY) != 0)) {
		d->node.dropped.oversized++;	/* only relays may be this large */
		v = WIRE_DROP;
	} else {
		uint64_t learned = d->node.compact.learned;
		struct dropped was = d->node.dropped;

		node_receive(&d->node, msg, now);
		/* first: what answers and announce send may go on this connection */
		if (!d->one_way && memcmp(&was, &d->node.dropped, sizeof(was)) == 0) {
			reads_back(d, msg);
			/* with "to" (our uid) and a fresh counter: no replay */
			if (cJSON_GetObjectItemCaseSensitive(msg, "to") != NULL)
				(void)wire_back_fresh(d->wire, now);
		}
		if (d->node.compact.learned > learned)
			announce(d, msg, now);
		serve_keys(d);
	}
	cJSON_Delete(msg);
	free(payload);
	/* answers go out now: a batch of them (full states) could hold megabytes */
	flush_outbox(d, now);
	flush_relays(d);
	/* authentic, even when dropped: the connection has proved who is on it */
	return v == WIRE_DROP ? WIRE_DROP : WIRE_OK;
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
 * A local service's request: {"v":2,"relay":{"to","svc","body"}} for a peer's
 * service, or {"v":2,"publish":{"type":"Singleton...","name","node"}} for our
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
	wire_cork(d->wire);
	for (i = 0; i < RECV_BATCH && (len = sock_recv(d->relay, &buf)) >= 0; i++) {
		cJSON *req = json_parse(buf, (size_t)len), *r, *p;
		long v;
		uint64_t to;
		const char *type;

		nn_freemsg(buf);
		if (req == NULL || json_int(req, "v", 0, 1000, &v) < 0 || v != PROTO_VERSION)
			d->node.dropped_ctl++;
		else if ((r = cJSON_GetObjectItemCaseSensitive(req, RELAY_REQ_SEND)) != NULL) {
			if (json_u64(r, "to", &to) < 0 || json_str(r, "svc") == NULL ||
			    node_relay(&d->node, to, json_str(r, "svc"),
			    cJSON_GetObjectItemCaseSensitive(r, "body")) < 0)
				d->node.relay_refused++;
		} else if ((p = cJSON_GetObjectItemCaseSensitive(req, RELAY_REQ_PUBLISH)) != NULL &&
		    (type = json_str(p, "type")) != NULL &&
		    (strcmp(type, CEV_SINGLETON_STARTED) == 0 || strcmp(type, CEV_SINGLETON_STOPPED) == 0) &&
		    json_str(p, "name") != NULL && json_str(p, "node") != NULL) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "type", type);
			cJSON_AddStringToObject(e, "name", json_str(p, "name"));
			cJSON_AddStringToObject(e, "node", json_str(p, "node"));
			note_singleton(&d->node, json_str(p, "name"), json_str(p, "node"),
			    strcmp(type, CEV_SINGLETON_STARTED) == 0);
			publish(e, d);
		} else
			d->node.dropped_ctl++;
		cJSON_Delete(req);
		flush_relays(d);
		flush_outbox(d, clock_mono_ms());
	}
	/* a burst of relays for one peer leaves in one write */
	wire_uncork(d->wire, clock_mono_ms());
}

/* leaderd's state request says which notices it needs (see struct memberd). */
static void
notice_needs(struct memberd *d, const cJSON *req)
{
	const char *cmd = json_str(req, "cmd");
	int if_leader = 0;

	if (cmd == NULL || strcmp(cmd, CTL_STATE) != 0)
		return;
	(void)json_bool(req, "if_leader", &if_leader);
	d->notice_if_leader = if_leader;
}

/* The notices sent and held back in the answers to state and status; the local sockets' drops in status. */
static void
notice_counts(const struct memberd *d, const cJSON *req, cJSON *rsp)
{
	const char *cmd = json_str(req, "cmd");
	cJSON *o;

	if (cmd == NULL || (strcmp(cmd, CTL_STATE) != 0 && strcmp(cmd, CTL_STATUS) != 0))
		return;
	o = cJSON_AddObjectToObject(rsp, "state_notices");
	cJSON_AddNumberToObject(o, "sent", (double)d->notices_sent);
	cJSON_AddNumberToObject(o, "held", (double)d->notices_held);
	cJSON_AddNumberToObject(o, "events_skipped", (double)d->events_skipped);
	/*
	 * What the local sockets (lib/sps.c's) dropped: on a PUB, a message a
	 * subscriber that did not read missed; on any, a local peer closed
	 * for a broken rule or for want of descriptors. 0 with nanomsg's.
	 * In status only: leaderd's state reads (many in a join) need none.
	 */
	if (strcmp(cmd, CTL_STATUS) != 0)
		return;
	o = cJSON_AddObjectToObject(rsp, "local_dropped");
	cJSON_AddNumberToObject(o, "events", (double)sock_dropped(d->pub));
	cJSON_AddNumberToObject(o, "state", (double)sock_dropped(d->statepub));
	cJSON_AddNumberToObject(o, "leader", (double)sock_dropped(d->leaderpub));
	cJSON_AddNumberToObject(o, "svc", (double)sock_dropped(d->svcpub));
	cJSON_AddNumberToObject(o, "relay", (double)sock_dropped(d->relay));
	cJSON_AddNumberToObject(o, "control", (double)sock_dropped(d->ctl));
	/* their connections: open, closed at the deadline, refused over the cap (lib/sps.h) */
	o = cJSON_AddObjectToObject(rsp, "local_connections");
	cJSON_AddItemToObject(o, "events", sock_conns_json(d->pub));
	cJSON_AddItemToObject(o, "state", sock_conns_json(d->statepub));
	cJSON_AddItemToObject(o, "leader", sock_conns_json(d->leaderpub));
	cJSON_AddItemToObject(o, "svc", sock_conns_json(d->svcpub));
	cJSON_AddItemToObject(o, "relay", sock_conns_json(d->relay));
	cJSON_AddItemToObject(o, "control", sock_conns_json(d->ctl));
}

static void
on_ctl(int fd, short ev, void *arg)
{
	struct memberd *d = arg;
	void *buf;
	ssize_t len;
	cJSON *req, *rsp;
	char *txt, why[160];
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen = sizeof(hdr);
	long v;

	(void)fd;
	(void)ev;
	while ((len = sock_recv_raw(d->ctl, &buf, hdr, &hdrlen)) >= 0) {
		d->node.wall = clock_wall_ms();
		req = json_parse_why(buf, (size_t)len, why, sizeof(why));
		nn_freemsg(buf);
		/* events first, so a snapshot and the stream agree on seq */
		publish_changes(d);
		if (req == NULL)
			rsp = control_malformed(&d->node, why);
		else if (json_str(req, "cmd") != NULL && json_int(req, "v", 0, 1000, &v) == 0 &&
		    v == PROTO_VERSION && (strcmp(json_str(req, "cmd"), CTL_KEYS) == 0 ||
		    strcmp(json_str(req, "cmd"), CTL_KEYS_RESULT) == 0))
			rsp = keys_ctl(d, req);
		else {
			notice_needs(d, req);
			rsp = control_dispatch(&d->node, req, d->event_seq, clock_mono_ms());
			notice_counts(d, req, rsp);
		}
		cJSON_Delete(req);
		txt = json_print(rsp);
		if (sock_send_raw(d->ctl, hdr, hdrlen, txt, strlen(txt)) < 0)
			log_warnx("cannot answer a control request");
		cJSON_free(txt);
		cJSON_Delete(rsp);
		hdrlen = sizeof(hdr);
	}
}

/* A PUB of ours (lib/sps.c): subscribers come and go. */
static void
on_pub(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	sock_service(*(int *)arg);
}

static int
watch_pub(struct memberd *d, int *s)
{
	if (sock_native(*s))
		loop_watch(d->loop, sock_rcvfd(*s), POLLIN, on_pub, s);
	return 0;
}

static int
open_sockets(struct memberd *d)
{
	char addr[CONF_PATH_MAX + 16];

	/*
	 * Frames up to a relay's size once a connection has authenticated;
	 * twice that still reads (and drops, counted) a moderately oversized one.
	 */
	d->wire = wire_new(d->loop, d->cfg.peer_sockets, 4 * d->cfg.peer_sockets,
	    2 * RELAY_MAX_MSG, on_frame, NULL, d);
	wire_hello_to(d->wire, hello_frame);
	wire_cork_reads(d->wire, 1);	/* memberd_run says why */
	d->one_way = getenv("AKC_TEST_ONE_WAY") != NULL && strcmp(getenv("AKC_TEST_ONE_WAY"), "1") == 0;
	wire_read_back(d->wire, !d->one_way);
	if (wire_listen(d->wire, d->cfg.address) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_CTL, addr, sizeof(addr));
	/*
	 * The local sockets are lib/sps.c's (raw, in this thread: no nanomsg
	 * thread starts, and nothing crosses one per message): the same wire
	 * as nanomsg's, so its clients and subscribers are served as before.
	 */
	if ((d->ctl = sock_bind_raw(NN_REP, addr, CTL_MAX_MSG)) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_EVENTS, addr, sizeof(addr));
	if ((d->pub = sock_bind(NN_PUB, addr, 1024)) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_STATE, addr, sizeof(addr));
	if ((d->statepub = sock_bind(NN_PUB, addr, 1024)) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_LEADER, addr, sizeof(addr));
	if ((d->leaderpub = sock_bind(NN_PUB, addr, 1024)) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_RELAY, addr, sizeof(addr));
	if ((d->relay = sock_bind(NN_PULL, addr, RELAY_MAX_MSG)) < 0)
		return -1;
	config_ipc_path(&d->cfg, SOCK_MEMBERD_SVC, addr, sizeof(addr));
	if ((d->svcpub = sock_bind(NN_PUB, addr, 1024)) < 0)
		return -1;
	watch_pub(d, &d->pub);
	watch_pub(d, &d->statepub);
	watch_pub(d, &d->leaderpub);
	watch_pub(d, &d->svcpub);
	loop_watch(d->loop, sock_rcvfd(d->relay), POLLIN, on_relay, d);
	loop_watch(d->loop, sock_rcvfd(d->ctl), POLLIN, on_ctl, d);
	return 0;
}

/* SIGHUP: the key-file again (akc-keys writes it; an operator may too). */
static void
reload_keys(struct memberd *d)
{
	struct keyring next;

	if (d->cfg.key_file[0] == '\0') {
		log_info("SIGHUP: no [security] key-file to re-read");
		return;
	}
	if (keyring_load(&next, d->cfg.key_file) < 0) {
		log_warnx("SIGHUP: keeping the %d key%s in use", d->keys.n, d->keys.n == 1 ? "" : "s");
		return;
	}
	d->keys = next;
	sodium_memzero(&next, sizeof(next));
	log_notice("SIGHUP: key-file re-read: %d key%s", d->keys.n, d->keys.n == 1 ? "" : "s");
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

/* The incarnation: random, so a restarted node is never its old self. */
static uint64_t
new_uid(void)
{
	uint64_t uid = 0;

	while (uid == 0)
		if (getrandom(&uid, sizeof(uid), 0) != sizeof(uid))
			fatal("getrandom");
	uid &= 0x1fffffffffffffULL;	/* fits a double too, for scripts */
	return uid != 0 ? uid : 1;
}

/* Keys, run dir, sockets, the core and what this node remembers; -1 on failure (said). */
static int
memberd_start(struct memberd *d)
{
	uint64_t uid = new_uid();
	msec_t now;

	if (keyring_load(&d->keys, d->cfg.key_file) < 0 || daemon_run_dir(&d->cfg) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	d->loop = loop_new();
	loop_catch(d->loop, SIGTERM);
	loop_catch(d->loop, SIGINT);
	loop_catch(d->loop, SIGHUP);
	if (open_sockets(d) < 0)
		return -1;
	now = clock_mono_ms();
	node_init(&d->node, &d->cfg, uid, now);
	d->node.wire = wire_stats(d->wire);
	d->node.wall = clock_wall_ms();
	mstate_init(&d->published);
	log_info("%s (%s) of cluster \"%s\" starting as uid %llu%s", d->cfg.name, d->cfg.address,
	    d->cfg.cluster_name, (unsigned long long)uid,
	    d->keys.n > 0 ? ", messages encrypted" : "");
	if (d->keys.n == 0)
		log_warnx("no [security] key-file: messages are neither encrypted nor "
		    "authenticated, and anyone who can reach %s can join, down or remove members "
		    "of this cluster", d->cfg.address);
	if (memory_load(d) < 0)
		return -1;
	node_start(&d->node, now);
	daemon_notify("READY=1");
	return 0;
}

/*
 * The loop, until a signal or this node's exit. What the turn's timers
 * send (pushes, gossip, heartbeats) is corked until they are all done, so
 * what goes to one peer leaves in one write; the frames read from one
 * connection are corked alike (lib/wire.c, on_in). Each frame was a
 * sendmsg of its own, and on loopback each write also pays for the
 * receiver's TCP processing (softirq, in the sender's time) and its
 * wake-up. The cork does not span the wait, nor every ready connection of
 * a wake-up: an answer waits for its own batch only (corked over a whole
 * wake-up at 200 nodes, where a turn may parse several full states, the
 * answers to the first waited for the last).
 */
static void
memberd_run(struct memberd *d)
{
	msec_t now, deadline, next_trim = 0;
	unsigned long sigs;

	for (;;) {
		sigs = loop_signals(d->loop);
		if (sigs & ((1UL << SIGTERM) | (1UL << SIGINT))) {
			log_info("stopping on signal");
			break;
		}
		if (sigs & (1UL << SIGHUP))
			reload_keys(d);
		now = clock_mono_ms();
		d->node.wall = clock_wall_ms();
		renew_holds(&d->node, now);
		wire_cork(d->wire);
		node_tick(&d->node, now);
		flush_outbox(d, now);
		wire_uncork(d->wire, now);	/* before a memory write's fsync */
		publish_changes(d);
		memory_save(d, now, 0);
		wire_expire(d->wire, now);
		if (now >= next_trim) {
			/* bursts (a join storm at a seed) must not pin memory for good */
			malloc_trim(64 * 1024);
			next_trim = now + 30000;
		}
		if (d->node.phase == PHASE_SHUTDOWN && now >= d->node.exit_at)
			break;
		/* a write held back (memory_save) is due a gap after the last, after a push */
		deadline = sooner(node_next_deadline(&d->node), memory_due(d, now));
		deadline = sooner(deadline, wire_deadline(d->wire));
		if (deadline < 0 || deadline > now + 1000)
			deadline = now + 1000;
		d->node.view_until = deadline;
		loop_poll(d->loop, deadline);
	}
	daemon_notify("STOPPING=1");
}

/* What a node that left keeps, and the exit code its phase gives. */
static int
memberd_finish(struct memberd *d)
{
	if (d->node.phase == PHASE_SHUTDOWN && d->node.exit_code == EXIT_DAEMON_OK)
		node_memory_forget(&d->node);	/* it left the cluster: nothing to keep apart from */
	memory_save(d, clock_mono_ms(), 1);	/* what a write held back had */
	wire_free(d->wire);
	node_free(&d->node);
	mstate_free(&d->published);
	sock_term();	/* removes the socket files, as nanomsg did */
	return d->node.phase == PHASE_SHUTDOWN ? d->node.exit_code : 0;
}

int
main(int argc, char **argv)
{
	static struct memberd d;
	struct daemon_opts o;

	/* one arena: nanomsg's worker thread would otherwise get its own 64 MiB heap */
	mallopt(M_ARENA_MAX, 1);
	/* a few tables at a time: 512 buckets, a page, instead of 512 KiB touched at random */
	mstate_map_buckets(DAEMON_MAP_BUCKETS);
	daemon_setup(argc, argv, "memberd", USAGE, 0, &o, &d.cfg);
	if (memberd_start(&d) < 0)
		return 1;
	memberd_run(&d);
	return memberd_finish(&d);
}
