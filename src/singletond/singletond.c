/*
 * singletond.c: runs a program as cluster singleton NAME on the oldest member
 * with the role, and proxies local clients to it wherever it runs. The
 * decisions are sm.c's and proxy.c's; this file talks to memberd (state,
 * relay to other nodes, events, exit holds, never waited on), to local
 * clients (raw REP) and to other singletonds, and runs the loop. The
 * processes are keeper.c's, the child's side of requests serve.c's.
 */
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>
#include <sodium.h>

#include "acall.h"
#include "daemon.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "proxy.h"
#include "singletond.h"
#include "sm.h"
#include "sock.h"

#define USAGE		"singletond [-nqv] [-c FILE] -s NAME [-- CMD [ARG...]]"
#define FETCH_EVERY	SG_REACTION	/* memberd's state at least this often */
#define LOST_FIRST	5000	/* memberd not there at start this long: give up */
#define LOST_AFTER	2000	/* memberd silent this long: the child stops, we go */
#define WHERE_EVERY	2000	/* ask the oldest whether it runs the singleton */
#define HOLD_FOR	3000	/* an exit hold lasts this long unless renewed */

/* ---- memberd ---- */

void
relay_send(struct sgd *d, uint64_t to, cJSON *body)
{
	/* every body says where our proxy link listens: the receiver learns it from memberd's word */
	link_stamp(d->lk, body);
	if (svc_send(&d->relay, to, body) < 0)
		log_debug("relay to memberd failed: %s", nn_strerror(nn_errno()));
}

static void
send_msg(struct sgd *d, uint64_t to, const char *m)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "m", m);
	relay_send(d, to, b);
}

void
publish(struct sgd *d, const char *type, const char *node)
{
	(void)svc_publish(&d->relay, type, d->sc.name, node);
}

/* Where the singleton runs, as far as we know: events when that changes. */
static void
set_running_on(struct sgd *d, uint64_t uid, const char *name)
{
	if (uid == d->running_on)
		return;
	if (d->running_on != 0 && d->running_on != d->self)
		publish(d, CEV_SINGLETON_STOPPED, d->running_on_name);
	d->running_on = uid;
	snprintf(d->running_on_name, sizeof(d->running_on_name), "%s", uid ? name : "");
	if (uid != 0 && uid != d->self)
		publish(d, CEV_SINGLETON_STARTED, name);
}

/*
 * The master process at member uid answered over its link or welcomed us:
 * when uid is the oldest, the singleton runs there (the process is the
 * singleton), so this node knows it before its next "where" (WHERE_EVERY),
 * while that oldest is Up (a Leaving one hands over: its last answers may
 * come after its singletond said it no longer runs it).
 * Not from the oldest's singletond: it answers a request sent again from
 * what it kept even after its child stopped.
 */
void
heard_running(struct sgd *d, uint64_t uid, msec_t now)
{
	/* Up only: a Leaving oldest's master may answer late while it hands over */
	if (uid == 0 || uid == d->self || uid != d->sm.oldest.uid || d->sm.oldest.name == NULL ||
	    d->sm.oldest.status != MS_UP)
		return;
	d->last_here = now;
	set_running_on(d, uid, d->sm.oldest.name);
}

/*
 * A forced stop's SIGKILL wait follows the margin (sg_forced_stop). With
 * stable-after and the margin auto it is the design and logged as info;
 * set by hand they keep stop-timeout unless it would let the child outlive
 * the other side's wait: then it is cut, and one warning names the keys.
 */
static void
forced_stop_set(struct sgd *d, int n)
{
	msec_t k = sg_forced_stop(&d->cfg, d->sc.stop_timeout, n), lease = sg_lease(&d->cfg, n);
	int set = d->cfg.stable_after != STABLE_AFTER_AUTO || d->cfg.down_removal_margin > 0;

	if (lease != d->lease)
		log_info("singleton %s: its lease is %lldms (%d members): its keeper kills it when "
		    "singletond has not run for that long%s", d->sc.name, (long long)lease, n,
		    lease > 0 ? "" : " (none: no downing strategy and a short margin)");
	d->lease = lease;
	if (k == d->sm.forced_stop && d->forced_said)
		return;
	if (k < d->sc.stop_timeout && set && !d->forced_said)
		log_warnx("singleton %s: stop-timeout %lldms is longer than stable-after + "
		    "down-removal-margin - heartbeat-interval - %dms (at least %dms) allow: a "
		    "child that must stop because this node lost the majority or was downed gets "
		    "SIGKILL after %lldms; set [downing] stable-after or down-removal-margin "
		    "longer to give it more", d->sc.name, (long long)d->sc.stop_timeout,
		    SG_FORCED_SLACK, SG_FORCED_MIN, (long long)k);
	else if (k != d->sm.forced_stop || !d->forced_said)
		log_info("singleton %s: a forced stop (no majority, downed) kills the child after "
		    "%lldms (stop-timeout %lldms; %d members)", d->sc.name, (long long)k,
		    (long long)d->sc.stop_timeout, n);
	d->forced_said = 1;
	d->sm.forced_stop = k;
}

/*
 * A view that forces no stop moves the time the lease runs from
 * (sg_lease_since) to its date (sg_view_at): memberd's `at` for it, or
 * without one (an older memberd) when we asked for it.
 */
static void
view_dated(struct sgd *d, const cJSON *majority, msec_t now)
{
	long at = -1;
	msec_t v;

	if (sg_stop_forced(&d->sm))
		return;
	if (majority == NULL || json_int(majority, "at", 0, LONG_MAX, &at) < 0)
		at = -1;
	v = sg_view_at(at, d->fetch_at, now);
	if (v > d->view_ok)
		d->view_ok = v;
}

/*
 * memberd's answer to fetch_state's "state" call, or err. Silence is timed
 * from when the calls were made, as when they blocked: a call made more than
 * LOST_AFTER after the last answered one, unanswered in its second, ends us.
 */
static void
on_state_answer(void *arg, const cJSON *rsp, const char *err, msec_t now)
{
	struct sgd *d = arg;
	struct mstate st;
	uint64_t self;
	int member = 0, i, shut = 0;
	long code = 0;

	d->fetching = 0;
	if (rsp == NULL) {
		if (d->fetch_at - d->last_ok > (d->contacted ? LOST_AFTER : LOST_FIRST) &&
		    d->sm.state != SG_STOPPING && !d->memberd_gone && !d->stopping) {
			log_warnx("lost memberd: %s", err);
			d->exit_code = EXIT_DAEMON_FAIL;
			d->memberd_gone = 1;
			sg_lost(&d->sm, "lost memberd", 1, now);
		}
		return;
	}
	/*
	 * While we stop on a signal the views still count (a graceful stop
	 * has stop-timeout): the majority forces it if lost, and a view that
	 * forces no stop dates the lease (view_dated); without them the lease
	 * would run out L + SG_REACTION after the SIGTERM, in the middle of
	 * the child's stop-timeout. A view that would have ended a running
	 * singleton (another incarnation, shutdown, Down, not a member) dates
	 * nothing, whatever the state.
	 */
	if (d->memberd_gone)
		return;		/* answered after we gave up on it */
	d->last_ok = d->fetch_at;
	d->contacted = 1;
	mstate_init(&st);
	if (json_u64(rsp, "self", &self) < 0 || json_bool(rsp, "member", &member) < 0 ||
	    mstate_from_json(cJSON_GetObjectItemCaseSensitive(rsp, "state"), &st) < 0) {
		log_warnx("bad state from memberd");
		goto out;
	}
	if (d->self != 0 && self != d->self) {
		if (d->sm.state != SG_STOPPING) {
			log_warnx("memberd restarted as a new incarnation: this one ends");
			d->exit_code = EXIT_DAEMON_FAIL;
			d->memberd_gone = 1;
			sg_lost(&d->sm, "memberd restarted", 1, now);
		}
		goto out;
	}
	d->self = self;
	if (json_bool(rsp, "shutdown", &shut) == 0 && shut) {
		if (d->sm.state != SG_STOPPING) {
			/* memberd is going (downed: 3, left: 0): we stop the child and follow */
			json_int(rsp, "exit_code", 0, 255, &code);
			d->exit_code = (int)code;
			d->memberd_gone = 1;
			sg_lost(&d->sm, code == EXIT_DAEMON_DOWNED ? "this node was downed" :
			    "this node left the cluster", code != 0, now);
		}
		goto out;
	}
	if (!member) {
		/* joining, or leaving for good: either way not the oldest */
		if (d->sm.have_view && d->sm.state != SG_STOPPING)
			sg_lost(&d->sm, "this node is no longer a member", 1, now);
		goto out;
	}
	if ((i = mstate_find(&st, self)) >= 0 && st.m[i].status == MS_DOWN) {
		if (d->sm.state != SG_STOPPING) {
			/* memberd is about to exit 3: we stop the child and follow */
			d->exit_code = EXIT_DAEMON_DOWNED;
			d->memberd_gone = 1;
			sg_lost(&d->sm, "this node was downed", 1, now);
		}
		goto out;
	}
	{
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(rsp, "majority");
		long have = 0, of = 0;
		int ok = 0;
		msec_t margin;

		/* absent or malformed: no majority shown, so no singleton here */
		if (q == NULL || json_bool(q, "ok", &ok) < 0) {
			ok = 0;
			q = NULL;
		} else {
			json_int(q, "reachable", 0, 1L << 30, &have);
			json_int(q, "remembered", 0, 1L << 30, &of);
		}
		d->sm.majority = ok;
		/*
		 * stable-after = auto: the margin follows N as leaderd's clock
		 * does; the remembered members include those downed and
		 * removed, so N is not smaller than the one the Down came from.
		 */
		margin = sg_margin(&d->cfg, st.n > (int)of ? st.n : (int)of);
		if (margin != d->sm.margin)	/* only stable-after = auto changes it */
			log_info("singleton %s: removal margin now %lldms (stable-after auto, "
			    "for %d members in view or remembered)", d->sc.name, (long long)margin,
			    st.n > (int)of ? st.n : (int)of);
		d->sm.margin = margin;
		forced_stop_set(d, st.n > (int)of ? st.n : (int)of);
		sg_view(&d->sm, &st, self, clock_wall_ms(), now);
		view_dated(d, q, now);
		if (d->sm.minority_wait && now >= d->minority_said) {
			log_warnx("singleton %s: this node is the oldest but does not see a majority "
			    "of its cluster (%ld of the %ld members it remembers reachable): it does "
			    "not run here until it does", d->sc.name, have, of);
			d->minority_said = now + 10000;
		} else if (!d->sm.minority_wait)
			d->minority_said = 0;
	}
	snprintf(d->oldest_name, sizeof(d->oldest_name), "%s",
	    d->sm.oldest.name != NULL ? d->sm.oldest.name : "");
	proxy_target(&d->px, d->sm.oldest.uid, now);
	/* the node we thought runs it is gone */
	if (d->running_on != 0 && d->running_on != d->self && mstate_find(&st, d->running_on) < 0)
		set_running_on(d, 0, "");
	for (i = 0; i < st.n; i++)
		if (st.m[i].uid == d->sm.oldest.uid && d->next_where > now + 50)
			d->next_where = now + 50;	/* ask the (new) oldest soon */
out:
	mstate_free(&st);
}

/* Asks memberd for its state; the answer comes to on_state_answer. */
static void
fetch_state(struct sgd *d, msec_t now)
{
	d->dirty = 0;
	d->next_fetch = now + FETCH_EVERY;
	d->fetching = 1;
	d->fetch_at = now;
	acall_call(d->mctl, ctl_request(CTL_STATE), 1000, on_state_answer, d, now);
}

static void
on_state(int fd, short ev, void *arg)
{
	struct sgd *d = arg;
	void *buf;
	ssize_t n;

	(void)fd;
	(void)ev;
	while ((n = sock_recv(d->statesub, &buf)) >= 0) {
		cJSON *j = json_parse(buf, (size_t)n);
		int shut = 0;
		long code = 0;

		nn_freemsg(buf);
		if (j != NULL && json_bool(j, "shutdown", &shut) == 0 && shut &&
		    d->sm.state != SG_STOPPING) {
			json_int(j, "exit_code", 0, 255, &code);
			d->exit_code = (int)code;
			d->memberd_gone = 1;
			sg_lost(&d->sm, code == EXIT_DAEMON_DOWNED ? "this node was downed" :
			    "this node left the cluster", code != 0, clock_mono_ms());
		}
		cJSON_Delete(j);
		d->dirty = 1;
	}
}

/* Any answer to a "hold-exit" call: memberd has it. Unanswered: again next turn. */
static void
on_hold_answer(void *arg, const cJSON *rsp, const char *err, msec_t now)
{
	struct sgd *d = arg;

	(void)now;
	d->holding = 0;
	if (rsp == NULL) {
		log_debug("hold-exit: %s", err);
		return;
	}
	d->held = d->hold_sent;
	d->next_hold = d->hold_at + HOLD_FOR / 3;
}

static void
hold_exit(struct sgd *d, msec_t now)
{
	int want = sg_hold_exit(&d->sm);
	cJSON *req;

	if (d->memberd_gone || d->holding || (want == d->held && (!want || now < d->next_hold)))
		return;
	req = ctl_request(CTL_HOLD_EXIT);
	cJSON_AddStringToObject(req, "svc", d->relay.name);
	cJSON_AddNumberToObject(req, "ms", want ? HOLD_FOR : 0);
	cJSON_AddNumberToObject(req, "pid", getpid());
	d->holding = 1;
	d->hold_sent = want;
	d->hold_at = now;
	acall_call(d->mctl, req, 1000, on_hold_answer, d, now);
}

/* After the loop: what is out to memberd ends, then the hold goes, in that order. */
static void
release_hold(struct sgd *d)
{
	int i, fds[] = { d->statesub, d->relay.sub, d->front, d->childsock, d->ctl };

	if (d->memberd_gone || (!d->held && !(d->holding && d->hold_sent)))
		return;		/* no hold, none on its way: what is out can be dropped */
	/* from here on only memberd's answers are read */
	for (i = 0; i < (int)(sizeof(fds) / sizeof(fds[0])); i++)
		loop_unwatch(d->loop, sock_rcvfd(fds[i]));
	for (i = 0; i < 2; i++) {
		if (i == 1 && d->held && !d->memberd_gone) {
			d->sm.state = SG_HANDED;
			hold_exit(d, clock_mono_ms());
		}
		while (acall_pending(d->mctl) > 0) {
			loop_poll(d->loop, acall_deadline(d->mctl));
			acall_tick(d->mctl, clock_mono_ms());
		}
	}
}

/* ---- the proxy: local clients ---- */

static void
client_reply(struct sgd *d, const struct preq *r, const void *body, size_t len)
{
	if (sock_send_raw(d->front, r->hdr, r->hdrlen, body, len) < 0)
		log_debug("client went away before its answer");
}

static void
client_error(struct sgd *d, const unsigned char *hdr, size_t hdrlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
client_error(struct sgd *d, const unsigned char *hdr, size_t hdrlen, const char *fmt, ...)
{
	char msg[512], *txt;
	cJSON *e = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(e, "error", msg);
	cJSON_AddStringToObject(e, "singleton", d->sc.name);
	cJSON_AddBoolToObject(e, "proxy", 1);
	txt = json_print(e);
	(void)sock_send_raw(d->front, hdr, hdrlen, txt, strlen(txt));
	cJSON_free(txt);
	cJSON_Delete(e);
}

static void
on_client(int fd, short ev, void *arg)
{
	struct sgd *d = arg;
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	void *buf;
	ssize_t n;
	int k;
	msec_t now = clock_mono_ms();

	(void)fd;
	(void)ev;
	for (k = 0; k < SEND_BATCH; k++) {
		hdrlen = sizeof(hdr);
		if ((n = sock_recv_raw(d->front, &buf, hdr, &hdrlen)) < 0)
			break;
		if (n > MAX_BODY)
			client_error(d, hdr, hdrlen, "singleton %s: request of %zd bytes refused (at most %d)",
			    d->sc.name, n, MAX_BODY);
		else if (proxy_add(&d->px, hdr, hdrlen, buf, (size_t)n, now) < 0)
			client_error(d, hdr, hdrlen, "singleton %s: proxy buffer full (buffer-size %d): try again later",
			    d->sc.name, d->sc.buffer_size);
		nn_freemsg(buf);
	}
}

/* The answer to our proxy's request rid: the body, or len < 0 for an error. */
void
on_answer(struct sgd *d, uint64_t rid, const void *body, ssize_t len)
{
	struct preq r;

	if (proxy_answered(&d->px, rid, &r) < 0)
		return;		/* answered already (sent twice) */
	if (len >= 0)
		client_reply(d, &r, body, (size_t)len);
	else
		client_error(d, r.hdr, r.hdrlen, "singleton %s: the singleton's answer was refused (too large?)",
		    d->sc.name);
	free(r.body);
}

/*
 * One answer {"rid","body"} (ok) or {"rid"} (an error) to our proxy's
 * request: 0, or -1 malformed (nothing answered): no rid, or with
 * need_body an ok answer without a body that decodes (the master link's
 * rule; the relay's and the proxy link's answer such a one as an error).
 */
int
answer_msg(struct sgd *d, const cJSON *b, int ok, int need_body)
{
	const char *b64 = json_str(b, "body");
	unsigned char *body = NULL;
	ssize_t len = -1;
	uint64_t rid;

	if (json_u64(b, "rid", &rid) < 0)
		return -1;
	if (ok && b64 != NULL)
		len = from_b64(b64, &body);
	if (need_body && ok && len < 0)
		return -1;
	on_answer(d, rid, body, len);
	free(body);
	return 0;
}

/* {"m":"rsp","rid","body"} or {"m":"error","rid"} from the node that served it. */
static void
on_relayed_answer(struct sgd *d, const cJSON *b, int ok)
{
	(void)answer_msg(d, b, ok, 0);
}

/* {"m":"rsps","rsps":[{"rid","body"}, ...]} */
static void
on_relayed_answers(struct sgd *d, const cJSON *b)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(b, PXM_RSPS), *r;

	if (!cJSON_IsArray(a)) {
		d->dropped++;
		return;
	}
	cJSON_ArrayForEach(r, a)
		on_relayed_answer(d, r, 1);
}

static void
proxy_run(struct sgd *d, msec_t now)
{
	struct psend s[SEND_BATCH];
	struct preq r;
	struct batch bt = { .m = PXM_REQS };
	cJSON *mreqs = NULL, *e;
	uint64_t msid = 0;
	int i, n, nm = 0;
	size_t mbytes = 0;

	while (proxy_expired(&d->px, now, &r) == 0) {
		client_error(d, r.hdr, r.hdrlen, "singleton %s: no answer within request-timeout (%llds)%s",
		    d->sc.name, (long long)d->px.timeout / 1000,
		    d->px.target == 0 ? ": no member with its role is Up" : "");
		free(r.body);
	}
	n = proxy_due(&d->px, now, s, SEND_BATCH);
	for (i = 0; i < n; i++) {
		cJSON *b;
		char *b64;

		if (s[i].to == d->self) {
			/* we are the oldest: straight to our child */
			serve(d, d->self, s[i].rid, s[i].body, s[i].len, 0, now);
			continue;
		}
		if (s[i].req->path == PATH_NONE) {
			/* its first send chooses the way its copies take (proxy.h) */
			if (mlink_usable(d, s[i].to, now)) {
				s[i].req->path = PATH_MLINK;
				s[i].req->pin = d->ml_sid;
			} else
				s[i].req->path = PATH_PEER;
		}
		b64 = to_b64(s[i].body, s[i].len);
		if (s[i].req->path == PATH_MLINK) {
			/* straight to the master: one "reqs" for what is due */
			if (mreqs != NULL && (s[i].req->pin != msid ||
			    mbytes + strlen(b64) > BATCH_BYTES)) {
				(void)mlink_send(d, s[i].to, msid, mreqs, nm);
				mreqs = NULL;
			}
			if (mreqs == NULL) {
				mreqs = cJSON_CreateObject();
				cJSON_AddStringToObject(mreqs, "m", PXM_REQS);
				cJSON_AddArrayToObject(mreqs, PXM_REQS);
				msid = s[i].req->pin;
				nm = 0;
				mbytes = 0;
			}
			mbytes += strlen(b64);
			e = cJSON_CreateObject();
			json_add_u64(e, "rid", s[i].rid);
			cJSON_AddStringToObject(e, "body", b64);
			cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(mreqs, PXM_REQS), e);
			nm++;
			free(b64);
			continue;
		}
		/* a resend goes alone, as every singletond takes it */
		if (s[i].to == d->batch_peer && !s[i].again && strlen(b64) <= BATCH_BYTES) {
			/* it takes "reqs": one message for what is due */
			if (bt.msg != NULL && bt.to != s[i].to)
				batch_flush(d, &bt);
			bt.to = s[i].to;
			batch_add(d, &bt, s[i].rid, b64);
			free(b64);
			continue;
		}
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "m", PXM_REQ);
		json_add_u64(b, "rid", s[i].rid);
		cJSON_AddStringToObject(b, "body", b64);
		free(b64);
		peer_send(d, s[i].to, b);
	}
	batch_flush(d, &bt);
	/* not sent (the link went down): due again after the resend time, the same way */
	if (mreqs != NULL)
		(void)mlink_send(d, d->px.target, msid, mreqs, nm);
}

/* ---- messages from other singletonds ---- */

static void
on_svc(int fd, short ev, void *arg)
{
	struct sgd *d = arg;
	struct svc_from from;
	msec_t now = clock_mono_ms();
	cJSON *msg, *b;
	int k;

	(void)fd;
	(void)ev;
	for (k = 0; k < 512 && (b = svc_next(&d->relay, &from, &msg, &d->dropped)) != NULL; k++) {
		if (from.node == NULL)
			d->dropped++;
		else {
			/* memberd vouches for who sent it and from where: its proxy link, if any */
			link_learn(d->lk, from.uid, from.address, b, now);
			on_peer(d, from.uid, from.node, b, now);
		}
		cJSON_Delete(msg);
	}
}

/*
 * A message from the singletond of member uid, through memberd's relay
 * (name: its node's name, as memberd says) or over the proxy link (name
 * NULL: the link carries the proxy's messages only).
 */
void
on_peer(struct sgd *d, uint64_t uid, const char *name, const cJSON *b, msec_t now)
{
	const char *m = json_str(b, "m");
	int running, proxy_msg;

	if (m == NULL) {
		d->dropped++;
		return;
	}
	proxy_msg = strcmp(m, PXM_REQ) == 0 || strcmp(m, PXM_REQS) == 0 ||
	    strcmp(m, PXM_RSP) == 0 || strcmp(m, PXM_RSPS) == 0 || strcmp(m, PXM_ERROR) == 0 ||
	    strcmp(m, PXM_NACK) == 0;
	if (name == NULL && !proxy_msg) {
		d->dropped++;
		return;
	}
	if (proxy_msg)
		d->plink_in[name == NULL]++;
	/* the oldest says it takes "reqs" (an older singletond does not) */
	if (uid == d->px.target && json_bool(b, "b", &running) == 0 && running)
		d->batch_peer = uid;
	if (strcmp(m, PXM_REQ) == 0)
		serve_relayed(d, uid, b, 0, now);
	else if (strcmp(m, PXM_REQS) == 0)
		serve_batch(d, uid, b, now);
	else if (strcmp(m, PXM_RSP) == 0)
		on_relayed_answer(d, b, 1);
	else if (strcmp(m, PXM_RSPS) == 0)
		on_relayed_answers(d, b);
	else if (strcmp(m, PXM_ERROR) == 0)
		on_relayed_answer(d, b, 0);
	else if (strcmp(m, PXM_NACK) == 0) {
		uint64_t rid;

		if (json_u64(b, "rid", &rid) == 0)
			proxy_nack(&d->px, uid, rid, now);
	} else if (strcmp(m, PXM_WHERE) == 0) {
		cJSON *r = cJSON_CreateObject();

		cJSON_AddStringToObject(r, "m", PXM_HERE);
		cJSON_AddBoolToObject(r, "running", sg_serving(&d->sm));
		relay_send(d, uid, r);
	} else if (strcmp(m, PXM_HERE) == 0) {
		if (json_bool(b, "running", &running) == 0) {
			d->last_here = now;
			if (running)
				set_running_on(d, uid, name);
			else if (d->running_on == uid)
				set_running_on(d, 0, "");
		}
	} else if (strcmp(m, SG_HAND_OVER_TO_ME) == 0 || strcmp(m, SG_HAND_OVER_DONE) == 0 ||
	    strcmp(m, SG_HAND_OVER_PROGRESS) == 0 || strcmp(m, SG_TAKE_OVER_FROM_ME) == 0) {
		log_notice("%s from %s", m, name);
		sg_receive(&d->sm, uid, m, now);
	} else
		d->dropped++;
}

/* ---- control: akc-status ---- */

static void
on_ctl(int fd, short ev, void *arg)
{
	struct sgd *d = arg;
	void *buf;
	ssize_t n;

	(void)fd;
	(void)ev;
	while ((n = sock_recv(d->ctl, &buf)) >= 0) {
		cJSON *req = json_parse(buf, (size_t)n), *r = cJSON_CreateObject(), *p;
		char *txt;
		long v;

		nn_freemsg(buf);
		cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
		if (req == NULL || json_int(req, "v", 0, 1000, &v) < 0 || v != PROTO_VERSION) {
			cJSON_AddBoolToObject(r, "ok", 0);
			cJSON_AddStringToObject(r, "error", "malformed request or protocol mismatch");
		} else {
			cJSON_AddBoolToObject(r, "ok", 1);
			cJSON_AddStringToObject(r, "name", d->sc.name);
			cJSON_AddStringToObject(r, "role", d->sc.role);
			cJSON_AddStringToObject(r, "state", sg_state_name(d->sm.state));
			if (d->oldest_name[0])
				cJSON_AddStringToObject(r, "oldest", d->oldest_name);
			else
				cJSON_AddNullToObject(r, "oldest");
			if (d->running_on != 0)
				cJSON_AddStringToObject(r, "running_on", d->running_on_name);
			else
				cJSON_AddNullToObject(r, "running_on");
			cJSON_AddBoolToObject(r, "running_here", d->sm.child.state != PROC_IDLE);
			if (d->child > 0)
				cJSON_AddNumberToObject(r, "pid", d->child);
			/* standby-command runs here (master --standby, for the master) */
			cJSON_AddBoolToObject(r, "standby_here", d->standby > 0);
			if (d->standby > 0)
				cJSON_AddNumberToObject(r, "standby_pid", d->standby);
			cJSON_AddNumberToObject(r, "restarts", d->sm.child.restarts);
			cJSON_AddStringToObject(r, "endpoint", d->endpoint);
			p = cJSON_AddObjectToObject(r, "proxy");
			cJSON_AddNumberToObject(p, "buffered", d->px.n);
			cJSON_AddNumberToObject(p, "buffer_size", d->px.cap);
			cJSON_AddNumberToObject(p, "accepted", (double)d->px.accepted);
			cJSON_AddNumberToObject(p, "answered", (double)d->px.answered);
			cJSON_AddNumberToObject(p, "refused", (double)d->px.refused);
			cJSON_AddNumberToObject(p, "expired", (double)d->px.expired);
			cJSON_AddNumberToObject(p, "resent", (double)d->px.resent);
			/* the proxy socket's connections (lib/sps.h: the cap and the deadlines) */
			cJSON_AddItemToObject(p, "connections", sock_conns_json(d->front));
			cJSON_AddItemToObject(r, "link", plink_json(d, clock_mono_ms()));
			cJSON_AddItemToObject(r, "mlink", mlink_json(d, clock_mono_ms()));
			cJSON_AddNumberToObject(r, "dropped", (double)d->dropped);
		}
		txt = json_print(r);
		(void)nn_send(d->ctl, txt, strlen(txt), NN_DONTWAIT);
		cJSON_free(txt);
		cJSON_Delete(r);
		cJSON_Delete(req);
	}
}

/* ---- set-up ---- */

static int
open_sockets(struct sgd *d)
{
	char addr[CONF_PATH_MAX + 128], base[RELAY_SVC_MAX], path[CONF_PATH_MAX + 128];

	snprintf(base, sizeof(base), SOCK_SINGLETON_PREFIX "%s", d->sc.name);
	config_ipc_path(&d->cfg, base, d->endpoint, sizeof(d->endpoint));
	snprintf(addr, sizeof(addr), "%s.child", base);
	config_ipc_path(&d->cfg, addr, d->child_endpoint, sizeof(d->child_endpoint));
	/* ipc paths near 108 bytes abort nanomsg */
	if (strlen(d->child_endpoint) - 6 > 100) {
		log_warnx("socket path '%s' is too long: use a shorter run-dir or singleton name",
		    d->child_endpoint + 6);
		return -1;
	}
	config_ipc_path(&d->cfg, SOCK_MEMBERD_STATE, addr, sizeof(addr));
	if ((d->statesub = sock_connect(NN_SUB, addr, 64 * 1024, 1000)) < 0)
		return -1;
	nn_setsockopt(d->statesub, NN_SUB, NN_SUB_SUBSCRIBE, "", 0);
	if (svc_open(&d->relay, &d->cfg, SVC_SINGLETON_PREFIX, d->sc.name) < 0)
		return -1;
	/* room above MAX_BODY: a request a little too large gets an error, not silence */
	if ((d->front = sock_bind_raw(NN_REP, d->endpoint, 2 * MAX_BODY)) < 0)
		return -1;
	/* reconnects every 100 ms: a new child is served within that of binding */
	if ((d->childsock = sock_connect_raw(NN_REQ, d->child_endpoint, 2 * MAX_BODY, 100)) < 0)
		return -1;
	snprintf(addr, sizeof(addr), "%s.ctl", base);
	config_ipc_path(&d->cfg, addr, path, sizeof(path));
	if ((d->ctl = sock_bind(NN_REP, path, 64 * 1024)) < 0)
		return -1;
	loop_watch(d->loop, sock_rcvfd(d->statesub), POLLIN, on_state, d);
	loop_watch(d->loop, svc_fd(&d->relay), POLLIN, on_svc, d);
	loop_watch(d->loop, sock_rcvfd(d->front), POLLIN, on_client, d);
	loop_watch(d->loop, sock_rcvfd(d->childsock), POLLIN, on_child_reply, d);
	loop_watch(d->loop, sock_rcvfd(d->ctl), POLLIN, on_ctl, d);
	return 0;
}

static int
name_ok(const char *s)
{
	size_t i, len = strlen(s);

	/* as akc.conf's [singleton.NAME] */
	if (len == 0 || len >= CONF_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

static void
earliest(msec_t *d, msec_t t)
{
	if (t >= 0 && (*d < 0 || t < *d))
		*d = t;
}

/* Which singleton and which command, from the flags and [singleton.NAME]; the exit code, or -1. */
static int
sgd_config(struct sgd *d, const struct daemon_opts *o, int argc, char **argv)
{
	if (o->singleton == NULL)
		daemon_usage(USAGE, "-s NAME is required");
	/* no section: all defaults, every node may run it */
	config_singleton(&d->cfg, o->singleton, &d->sc);
	if (!name_ok(o->singleton)) {
		log_errx("bad singleton name '%s'", o->singleton);
		return 2;
	}
	if (o->argi < argc)
		d->cmd = &argv[o->argi];
	else if (d->sc.command[0] == '\0') {
		log_errx("%s: no command: give one after -- or as 'command' in [singleton.%s]",
		    d->cfg.path, o->singleton);
		return 1;
	}
	return -1;
}

/* The run dir, the loop and its sockets, the state machine and the proxy; -1 on failure (said). */
static int
sgd_start(struct sgd *d)
{
	uint64_t rid_base;

	if (daemon_run_dir(&d->cfg) < 0)
		return -1;
	if (sodium_init() < 0)
		fatalx("libsodium cannot start");
	signal(SIGPIPE, SIG_IGN);
	d->loop = loop_new();
	loop_catch(d->loop, SIGTERM);
	loop_catch(d->loop, SIGINT);
	loop_catch(d->loop, SIGHUP);
	loop_catch(d->loop, SIGCHLD);
	if (open_sockets(d) < 0)
		return -1;
	d->mctl = acall_new(d->loop, &d->cfg, SOCK_MEMBERD_CTL);
	plink_start(d);
	mlink_start(d);
	sg_init(&d->sm, &d->sc, sg_margin(&d->cfg, 1));
	if (getrandom(&rid_base, sizeof(rid_base), 0) != sizeof(rid_base))
		rid_base = (uint64_t)clock_wall_ms() << 20;
	proxy_init(&d->px, d->sc.buffer_size, d->sc.request_timeout, (rid_base & 0xffffffffffULL) << 12);
	d->last_ok = clock_mono_ms();
	d->view_ok = -1;
	d->dirty = 1;
	log_info("singleton %s on %s: role %s, removal margin %lldms, clients at %s",
	    d->sc.name, d->cfg.name, d->sc.role[0] ? d->sc.role : "(any)", (long long)d->sm.margin,
	    d->endpoint + 6);
	daemon_notify("READY=1");
	return 0;
}

/* Logs the state machine's moves: a move is a notice, a node's first view (younger) routine. */
static void
log_moves(struct sgd *d, int *was_state)
{
	if (!d->sm.changed && (int)d->sm.state == *was_state)
		return;
	if (d->sm.why[0])
		log_msg(d->sm.state == SG_YOUNGER && (*was_state < 0 || *was_state == SG_START) ?
		    LOG_INFO : LOG_NOTICE, "singleton %s: %s", d->sc.name, d->sm.why);
	d->sm.changed = 0;
	d->sm.why[0] = '\0';
	*was_state = (int)d->sm.state;
}

/* Not the oldest: asks the oldest, now and then, whether the singleton runs there. */
static void
ask_where(struct sgd *d, msec_t now)
{
	cJSON *b;

	if (d->sm.state == SG_OLDEST || d->sm.oldest.uid == 0 || d->sm.oldest.uid == d->self ||
	    now < d->next_where || d->memberd_gone)
		return;
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "m", PXM_WHERE);
	relay_send(d, d->sm.oldest.uid, b);
	d->next_where = now + WHERE_EVERY;
	/* no answer for three rounds: we no longer know it runs there */
	if (d->running_on != 0 && d->running_on != d->self &&
	    now - d->last_here > 3 * WHERE_EVERY + 500)
		set_running_on(d, 0, "");
}

/* When the loop must look again. */
static msec_t
next_deadline(struct sgd *d, msec_t now)
{
	msec_t deadline = now + FETCH_EVERY;

	earliest(&deadline, sg_next_deadline(&d->sm));
	earliest(&deadline, proxy_next_deadline(&d->px));
	if (d->sm.state != SG_OLDEST && d->sm.oldest.uid != 0)
		earliest(&deadline, d->next_where);
	if (d->held && !d->holding)
		earliest(&deadline, d->next_hold);
	/* with a call out, its answer (an fd) or its deadline wakes us */
	earliest(&deadline, acall_deadline(d->mctl));
	earliest(&deadline, plink_deadline(d));
	earliest(&deadline, mlink_deadline(d));
	earliest(&deadline, lease_deadline(d));
	/* the next state read on time: the lease runs from the views' dates */
	if (!d->fetching && !d->memberd_gone)
		earliest(&deadline, d->next_fetch);
	if (d->dirty && !d->fetching)
		deadline = now;
	/* a start waiting for the state's answer (its fd wakes us): no spin on its due time */
	else if (d->start_waits && deadline <= now)
		deadline = now + 10;
	return deadline;
}

/* The loop, until the state machine is done (stopped, or memberd gone). */
static void
sgd_run(struct sgd *d)
{
	struct sg_out *out;
	unsigned long sigs;
	msec_t now;
	int i, n, was_state = -1;

	for (;;) {
		sigs = loop_signals(d->loop);
		now = clock_mono_ms();
		if ((sigs & ((1UL << SIGTERM) | (1UL << SIGINT))) && !d->stopping) {
			log_info("stopping on signal");
			daemon_notify("STOPPING=1");
			d->stopping = 1;
			sg_lost(&d->sm, "singletond stopping", 0, now);
		}
		lease_renew(d, now);	/* first: a stall is said before its child's exit */
		reap(d, now);
		acall_tick(d->mctl, now);
		if ((d->dirty || now >= d->next_fetch) && !d->memberd_gone && !d->fetching)
			fetch_state(d, now);
		sg_tick(&d->sm, now);
		log_moves(d, &was_state);
		child_actions(d, now);
		lease_renew(d, now);	/* a child just started or stopping: its lease now */
		out = sg_outbox(&d->sm, &n);
		for (i = 0; i < n; i++)
			send_msg(d, out[i].to, out[i].m);
		hold_exit(d, now);
		plink_tick(d, now);
		mlink_tick(d, now);
		proxy_run(d, now);
		ask_where(d, now);
		/* the child's requests that never came back */
		for (i = 0; i < d->ninf; i++)
			if (now - d->inf[i].at > d->sc.request_timeout)
				d->inf[i--] = d->inf[--d->ninf];
		if (sg_done(&d->sm))
			break;
		loop_poll(d->loop, next_deadline(d, now));
	}
}

int
main(int argc, char **argv)
{
	static struct sgd d;
	struct daemon_opts o;
	int rc;

	daemon_setup(argc, argv, "singletond", USAGE, DAEMON_SINGLETON | DAEMON_OPERANDS, &o,
	    &d.cfg);
	if ((rc = sgd_config(&d, &o, argc, argv)) >= 0)
		return rc;
	if (sgd_start(&d) < 0)
		return 1;
	sgd_run(&d);
	release_hold(&d);
	acall_free(d.mctl);
	plink_stop(&d);
	mlink_stop(&d);
	log_info("singleton %s: done (%s)", d.sc.name, d.exit_code == 0 ? "stopped" : "memberd gone");
	proxy_free(&d.px);
	sg_free(&d.sm);
	/*
	 * The child's endpoint is ours to name, and nothing of ours runs any
	 * more: a program that did not close its socket (killed, or exiting
	 * without nn_close) leaves its file. Then every socket of ours, their
	 * files with them (the clients' raw REP is lib/sps.c's: nn_term alone
	 * left it).
	 */
	{
		struct stat st;

		if (lstat(d.child_endpoint + 6, &st) == 0 && S_ISSOCK(st.st_mode))
			(void)unlink(d.child_endpoint + 6);
	}
	sock_term();
	return d.stopping ? 0 : d.exit_code;
}
