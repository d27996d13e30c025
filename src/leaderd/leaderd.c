/* leaderd.c: runs the leader's actions and the downing policy for this node. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>

#include "acall.h"
#include "actions.h"
#include "downing.h"
#include "daemon.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "sock.h"
#include "xmalloc.h"

#define USAGE		"leaderd [-nqv] [-c FILE]"
#define TICK		1000	/* leader-actions-interval */
#define LOST_AFTER	5000	/* memberd silent this long: we go too */
#define STUCK_LOG	10000	/* no convergence this long: say why */
#define FULL_EVERY	10000	/* a round at least this often, notices or not */

struct leaderd {
	struct akc_config cfg;
	struct loop *loop;
	struct acall *mctl;		/* memberd's control socket, never waited on */
	int sub, ctl;
	int dirty;			/* memberd said its state changed */
	msec_t last_ok, next_tick, next_full, stuck_since, stuck_logged;
	int settled;			/* nothing time-driven to decide until the state changes */
	struct downing down;
	int was_leader;
	int exit_code, done;
	uint64_t applied_seq;
};

static void
on_state(int fd, short ev, void *arg)
{
	struct leaderd *l = arg;
	void *buf;
	int n;

	(void)fd;
	(void)ev;
	while ((n = nn_recv(l->sub, &buf, NN_MSG, NN_DONTWAIT)) >= 0) {
		cJSON *j = json_parse(buf, (size_t)n);
		int shut = 0;
		long code = EXIT_DAEMON_OK;

		nn_freemsg(buf);
		if (j != NULL && json_bool(j, "shutdown", &shut) == 0 && shut) {
			json_int(j, "exit_code", 0, 255, &code);
			log_info("memberd is shutting this node down: stopping");
			l->exit_code = (int)code;
			l->done = 1;
		}
		cJSON_Delete(j);
		l->dirty = 1;
	}
}

static void
on_ctl(int fd, short ev, void *arg)
{
	struct leaderd *l = arg;
	void *buf;
	int n;
	cJSON *r;
	char *txt;

	(void)fd;
	(void)ev;
	while ((n = nn_recv(l->ctl, &buf, NN_MSG, NN_DONTWAIT)) >= 0) {
		nn_freemsg(buf);
		r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
		cJSON_AddBoolToObject(r, "ok", 1);
		cJSON_AddBoolToObject(r, "leader", l->was_leader);
		cJSON_AddStringToObject(r, "strategy", config_strategy_name(l->cfg.strategy));
		txt = json_print(r);
		(void)nn_send(l->ctl, txt, strlen(txt), NN_DONTWAIT);
		cJSON_free(txt);
		cJSON_Delete(r);
	}
}

static void
log_stuck(struct leaderd *l, const struct mstate *st, msec_t now)
{
	char who[1024] = "";
	int i;

	if (l->stuck_since == 0) {
		l->stuck_since = now;
		return;
	}
	if (now - l->stuck_since < STUCK_LOG || now - l->stuck_logged < 60000)
		return;
	l->stuck_logged = now;
	for (i = 0; i < st->n; i++)
		if (!mstate_reachable(st, st->m[i].uid) && st->m[i].status != MS_DOWN &&
		    st->m[i].status != MS_EXITING && strlen(who) + strlen(st->m[i].name) + 3 < sizeof(who)) {
			strcat(who, " ");
			strcat(who, st->m[i].name);
		}
	log_warnx("leader can currently not perform its duties: no convergence for %llds%s%s",
	    (long long)(now - l->stuck_since) / 1000,
	    who[0] ? "; unreachable members not Down:" : "", who);
}

struct sent_actions {
	struct leaderd *l;
	uint64_t seq;
	int n;
};

static void
on_actions(void *arg, const cJSON *ans, const char *err, msec_t now)
{
	struct sent_actions *sa = arg;
	struct leaderd *l = sa->l;
	int ok = 0;

	(void)now;
	if (ans != NULL) {
		json_bool(ans, "ok", &ok);
		if (ok) {
			l->applied_seq = sa->seq;
			log_debug("applied %d leader actions on state %llu", sa->n,
			    (unsigned long long)sa->seq);
		} else
			log_debug("leader actions refused: %s", json_str(ans, "error"));
		l->dirty = 1;	/* look again right away */
	} else
		log_warnx("cannot send leader actions: %s", err);
	free(sa);
}

/* Sends decisions made on state seq to memberd (acts is freed); nothing if empty. */
static void
send_actions(struct leaderd *l, uint64_t seq, cJSON *acts, int weakly_up, msec_t now)
{
	struct sent_actions *sa;
	cJSON *req;
	int n = cJSON_GetArraySize(acts);

	if (n == 0) {
		cJSON_Delete(acts);
		return;
	}
	req = ctl_request(CTL_LEADER_ACTIONS);
	json_add_u64(req, "state_seq", seq);
	if (weakly_up)
		cJSON_AddBoolToObject(req, "weakly_up", 1);
	cJSON_AddItemToObject(req, "actions", acts);
	sa = xcalloc(1, sizeof(*sa));
	sa->l = l;
	sa->seq = seq;
	sa->n = n;
	acall_call(l->mctl, req, 2000, on_actions, sa, now);
}

/* memberd answered (or not): it goes, we go (after LOST_AFTER). */
static void
heard_memberd(struct leaderd *l, const char *err, msec_t now)
{
	if (err == NULL)
		l->last_ok = now;
	else if (now - l->last_ok > LOST_AFTER) {
		log_warnx("lost memberd: %s", err);
		l->exit_code = 1;
		l->done = 1;
	} else
		log_debug("memberd: %s", err);
}

static void
on_ping(void *arg, const cJSON *rsp, const char *err, msec_t now)
{
	(void)rsp;
	heard_memberd(arg, err, now);
}

/* Between rounds: is memberd still there? */
static void
check_memberd(struct leaderd *l, msec_t now)
{
	acall_call(l->mctl, ctl_request(CTL_PING), 2000, on_ping, l, now);
}

static void
on_down(void *arg, const cJSON *rsp, const char *err, msec_t now)
{
	(void)rsp;
	(void)now;
	if (err != NULL)
		log_warnx("cannot down %s: %s", (char *)arg, err);
	free(arg);
}

/*
 * The downing policy: one line in the log for each decision, then a down
 * command per member (by uid: an exact incarnation), our own node last.
 * Returns 1 if it downed members.
 */
static int
apply_downing(struct leaderd *l, const struct mstate *st, uint64_t self, msec_t now)
{
	struct verdict v;
	char names[1024] = "", key[32], *k2;
	cJSON *req;
	int i, k;

	if (downing_tick(&l->down, st, self, l->was_leader, now, &v)) {
		for (k = 0; k < v.ndown; k++)
			if ((i = mstate_find(st, v.down[k])) >= 0 &&
			    strlen(names) + strlen(st->m[i].name) + 2 < sizeof(names)) {
				strcat(names, " ");
				strcat(names, st->m[i].name);
			}
		log_warnx("downing (%s): %s: %s:%s", config_strategy_name(l->cfg.strategy),
		    v.why, decision_name(v.decision), names);
		for (k = 0; k < v.ndown; k++) {
			req = ctl_request(CTL_DOWN);
			snprintf(key, sizeof(key), "uid:%llu", (unsigned long long)v.down[k]);
			cJSON_AddStringToObject(req, "node", key);
			k2 = xstrdup(key);
			acall_call(l->mctl, req, 2000, on_down, k2, now);
		}
		l->dirty = 1;
		return 1;
	}
	return 0;
}

/* Whether the policy's clock runs: a strategy is set and someone is unreachable. */
static int
downing_pending(const struct leaderd *l, const struct mstate *st, uint64_t self)
{
	int i;

	for (i = 0; i < st->n && l->cfg.strategy != DOWNING_NONE; i++)
		if (st->m[i].uid != self && st->m[i].status != MS_DOWN &&
		    !mstate_reachable(st, st->m[i].uid))
			return 1;
	return 0;
}

/*
 * One leader round: memberd's state has come (the answer to round_once's
 * call); decide, and send the decisions tagged with the state seq.
 */
static void
on_round(void *arg, const cJSON *rsp, const char *err, msec_t now)
{
	struct leaderd *l = arg;
	struct mstate st;
	struct u64set confirmed = { 0 };
	uint64_t self, seq;
	int conv = 0, member = 0, li, timed = 0;

	heard_memberd(l, err, now);
	if (rsp == NULL)
		return;
	l->settled = 0;
	mstate_init(&st);
	if (json_u64(rsp, "state_seq", &seq) < 0 || json_u64(rsp, "self", &self) < 0 ||
	    json_bool(rsp, "member", &member) < 0 || json_bool(rsp, "convergence", &conv) < 0 ||
	    mstate_from_json(cJSON_GetObjectItemCaseSensitive(rsp, "state"), &st) < 0 ||
	    u64set_from_json(cJSON_GetObjectItemCaseSensitive(rsp, "exiting_confirmed"),
	    &confirmed, 100000) < 0) {
		log_warnx("bad state from memberd");
		goto out;
	}
	if (!member) {
		l->settled = 1;
		goto out;
	}
	li = mstate_leader_for(&st, NULL, self);
	if ((li >= 0 && st.m[li].uid == self) != l->was_leader) {
		l->was_leader = !l->was_leader;
		log_notice("this node is %s the leader", l->was_leader ? "now" : "no longer");
	}
	timed = downing_pending(l, &st, self);
	if (apply_downing(l, &st, self, now))
		goto out;
	if (!l->was_leader) {
		l->settled = 1;	/* becoming leader comes with a state change */
		goto out;
	}
	if (!conv) {
		log_stuck(l, &st, now);
		if (l->cfg.allow_weakly_up > 0 && now - l->stuck_since >= l->cfg.allow_weakly_up &&
		    seq != l->applied_seq)
			send_actions(l, seq, leader_weakly_up(&st, self, l->cfg.min_nr_of_members), 1,
			    now);
		goto out;
	}
	l->stuck_since = 0;
	if (seq != l->applied_seq)
		send_actions(l, seq, leader_actions(&st, self, conv, &confirmed,
		    l->cfg.min_nr_of_members), 0, now);
	l->settled = !l->dirty;
out:
	if (timed)
		l->settled = 0;	/* the downing clock needs ticks */
	mstate_free(&st);
	u64set_free(&confirmed);
	/* the downing decision is due between ticks: be there on time */
	if (!l->settled) {
		msec_t due = downing_next_deadline(&l->down);

		if (due > now && due < l->next_tick)
			l->next_tick = due;
	}
}

static void
round_once(struct leaderd *l, msec_t now)
{
	acall_call(l->mctl, ctl_request(CTL_STATE), 2000, on_round, l, now);
}

int
main(int argc, char **argv)
{
	static struct leaderd l;
	struct daemon_opts o;
	char addr[CONF_PATH_MAX + 16];
	msec_t now;
	unsigned long sigs;

	daemon_setup(argc, argv, "leaderd", USAGE, 0, &o, &l.cfg);
	if (daemon_run_dir(&l.cfg) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	l.loop = loop_new();
	loop_catch(l.loop, SIGTERM);
	loop_catch(l.loop, SIGINT);
	loop_catch(l.loop, SIGHUP);	/* as memberd: no reload, but no death either */
	config_ipc_path(&l.cfg, "memberd.state", addr, sizeof(addr));
	if ((l.sub = sock_connect(NN_SUB, addr, 4096, 1000)) < 0 ||
	    nn_setsockopt(l.sub, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0)
		return 1;
	config_ipc_path(&l.cfg, SOCK_LEADERD_CTL, addr, sizeof(addr));
	if ((l.ctl = sock_bind(NN_REP, addr, 4096)) < 0)
		return 1;
	loop_watch(l.loop, sock_rcvfd(l.sub), POLLIN, on_state, &l);
	loop_watch(l.loop, sock_rcvfd(l.ctl), POLLIN, on_ctl, &l);
	l.mctl = acall_new(l.loop, &l.cfg, SOCK_MEMBERD_CTL);
	downing_init(&l.down, &l.cfg);
	log_info("%s: downing strategy %s%s", l.cfg.name, config_strategy_name(l.cfg.strategy),
	    l.cfg.strategy == DOWNING_NONE ? " (unreachable members stay until akc-down)" :
	    l.cfg.strategy == DOWNING_AUTO_DOWN ? " (a partition makes two clusters: see akc(7))" : "");
	l.last_ok = clock_mono_ms();
	l.dirty = 1;
	daemon_notify("READY=1");
	while (!l.done) {
		sigs = loop_signals(l.loop);
		if (sigs & ((1UL << SIGTERM) | (1UL << SIGINT))) {
			log_info("stopping on signal");
			break;
		}
		now = clock_mono_ms();
		acall_tick(l.mctl, now);
		/*
		 * A round reads memberd's whole state: do it when memberd says
		 * the state changed, every tick while something time-driven may
		 * be due (no convergence yet), and every FULL_EVERY in case a
		 * notice was lost; otherwise a tick only checks memberd is alive.
		 * Calls go out one at a time and are answered in the loop: a
		 * slow memberd holds up the next round, never our control
		 * socket. A round waits until the last one's calls are done.
		 */
		if (acall_pending(l.mctl) > 0)
			;
		else if (l.dirty || (now >= l.next_tick && !l.settled) || now >= l.next_full) {
			l.dirty = 0;
			l.next_tick = now + TICK;
			l.next_full = now + FULL_EVERY;
			round_once(&l, now);
		} else if (now >= l.next_tick) {
			l.next_tick = now + TICK;
			check_memberd(&l, now);
		}
		if (!l.done) {
			/* with a call out, its answer (an fd) or its deadline wakes us */
			if (acall_pending(l.mctl) > 0)
				loop_poll(l.loop, acall_deadline(l.mctl));
			else
				loop_poll(l.loop, l.dirty ? now : l.next_tick);
		}
	}
	acall_free(l.mctl);
	daemon_notify("STOPPING=1");
	nn_term();
	return l.exit_code;
}
