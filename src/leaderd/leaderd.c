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
#define LOST_AFTER	5000	/* memberd gone (no socket, nothing listening) this long: we go too */
#define SLOW_LOG	5000	/* memberd alive but silent: say so at most this often */
#define CALL_TIMEOUT	2000	/* a call's time to answer, doubled while memberd is slow... */
#define CALL_TIMEOUT_MAX 16000	/* ...up to this */
#define ROUND_GAP_MAX	1000	/* rounds on notices are spaced by the last one's time, at most this */
#define STUCK_LOG	10000	/* no convergence this long: say why */
#define FULL_EVERY	10000	/* a round at least this often, notices or not */
#define PING_QUIET	5000	/* memberd's connection up and an answer this recent: no ping */

struct leaderd {
	struct akc_config cfg;
	struct loop *loop;
	struct acall *mctl;		/* memberd's control socket, never waited on */
	int sub, ctl;
	int dirty;			/* memberd said its state changed */
	int urgent;			/* ...to one we lead with convergence: no round gap */
	msec_t last_ok, next_tick, next_full, stuck_since, stuck_logged;
	msec_t slow_since, slow_logged;	/* memberd alive but not answering */
	msec_t call_timeout;
	/*
	 * The cost of reading memberd's state (a full state printed and parsed
	 * per round, ~28 KB at 200 members): a round on a notice waits until
	 * next_round, the last round's own duration after its end, so at most
	 * half of the time goes to it however often the state changes; and a
	 * round asks for the state only if its seq moved (st, seq: the last one).
	 */
	msec_t round_sent, next_round;
	struct mstate st;
	uint64_t st_seq;
	int have_st;
	unsigned long rounds, unchanged;	/* counted for the status answer */
	unsigned long not_leader;	/* rounds memberd answered without the state: not leading */
	unsigned long skipped;		/* notices that needed no round (a follower, no strategy) */
	unsigned long waited;		/* of those, on the leader: no convergence yet */
	unsigned long refused;		/* decisions memberd refused (stale) */
	int settled;			/* nothing time-driven to decide until the state changes */
	struct downing down;
	msec_t shown_stable_after;	/* the stable-after last logged */
	int was_leader;
	int exit_code, done;
	uint64_t applied_seq;
	unsigned long sub_connects;	/* the subscription's connections so far (sock_connects) */
	int sub_up;			/* ...one was up at the last turn */
	unsigned long pings, pings_skipped;	/* ticks that asked memberd, and that did not need to */
};

static void
on_state(int fd, short ev, void *arg)
{
	struct leaderd *l = arg;
	void *buf;
	int n;

	(void)fd;
	(void)ev;
	while ((n = (int)sock_recv(l->sub, &buf)) >= 0) {
		cJSON *j = json_parse(buf, (size_t)n);
		int shut = 0, leader = 1, conv = 1;
		long code = EXIT_DAEMON_OK;

		nn_freemsg(buf);
		if (j != NULL && json_bool(j, "shutdown", &shut) == 0 && shut) {
			json_int(j, "exit_code", 0, 255, &code);
			log_info("memberd is shutting this node down: stopping");
			l->exit_code = (int)code;
			l->done = 1;
		}
		/*
		 * With no downing strategy a node decides nothing unless it
		 * leads: a change that leaves it a follower needs no round (a
		 * notice without "leader", from an older memberd, always does).
		 */
		if (j != NULL && l->cfg.strategy == DOWNING_NONE && !l->was_leader)
			(void)json_bool(j, "leader", &leader);
		/*
		 * The leader's decisions wait for convergence, and while a
		 * version spreads every member's status moves memberd's state:
		 * with no strategy, those notices need no round either (the
		 * ticks go on, for WeaklyUp and the stuck warning). The notice
		 * that brings convergence is what a leave or a removal waits
		 * for: its round goes at once, not after the gap that spaces
		 * rounds.
		 */
		if (j != NULL && leader && l->was_leader && json_bool(j, "convergence", &conv) == 0) {
			int still = 0;

			(void)json_bool(j, "leader", &still);
			if (conv && still)
				l->urgent = 1;
			else if (!conv && still && l->cfg.strategy == DOWNING_NONE) {
				leader = 0;
				l->waited++;
				l->settled = 0;
			}
		}
		if (leader)
			l->dirty = 1;
		else
			l->skipped++;
		cJSON_Delete(j);
	}
}

static void
on_ctl(int fd, short ev, void *arg)
{
	struct leaderd *l = arg;
	void *buf;
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen = sizeof(hdr);
	cJSON *r;
	char *txt;

	(void)fd;
	(void)ev;
	while (sock_recv_raw(l->ctl, &buf, hdr, &hdrlen) >= 0) {
		nn_freemsg(buf);
		r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
		cJSON_AddBoolToObject(r, "ok", 1);
		cJSON_AddBoolToObject(r, "leader", l->was_leader);
		cJSON_AddStringToObject(r, "strategy", config_strategy_name(l->cfg.strategy));
		/* the value in force: with auto it follows the members in the view */
		cJSON_AddNumberToObject(r, "stable_after_ms", (double)l->down.stable_after);
		cJSON_AddBoolToObject(r, "stable_after_auto", l->cfg.stable_after == STABLE_AFTER_AUTO);
		cJSON_AddNumberToObject(r, "members", l->down.n);
		/* rounds, and how many of them memberd could leave the state out of */
		cJSON_AddNumberToObject(r, "rounds", (double)l->rounds);
		cJSON_AddNumberToObject(r, "rounds_unchanged", (double)l->unchanged);
		cJSON_AddNumberToObject(r, "rounds_not_leader", (double)l->not_leader);
		cJSON_AddNumberToObject(r, "notices_skipped", (double)l->skipped);
		cJSON_AddNumberToObject(r, "notices_before_convergence", (double)l->waited);
		cJSON_AddNumberToObject(r, "actions_refused", (double)l->refused);
		/* the ticks that asked memberd whether it is there, and those its connection answered */
		cJSON_AddNumberToObject(r, "pings", (double)l->pings);
		cJSON_AddNumberToObject(r, "pings_skipped", (double)l->pings_skipped);
		/* leaderd.ctl's connections (lib/sps.h: the cap and the deadlines) */
		cJSON_AddItemToObject(r, "local_connections", sock_conns_json(l->ctl));
		if (l->slow_since != 0)
			cJSON_AddNumberToObject(r, "memberd_silent_ms", (double)(clock_mono_ms() -
			    l->slow_since));
		txt = json_print(r);
		(void)sock_send_raw(l->ctl, hdr, hdrlen, txt, strlen(txt));
		cJSON_free(txt);
		cJSON_Delete(r);
		hdrlen = sizeof(hdr);
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
		} else {
			/* stale: the state moved between our read and memberd's apply */
			log_debug("leader actions refused: %s", json_str(ans, "error"));
			l->refused++;
			l->urgent = 1;	/* decide again on the new state, not after the gap */
		}
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

/*
 * memberd answered (or not). Gone (no socket, or nothing listens on it):
 * it goes, we go after LOST_AFTER, so systemd restarts the pair. Alive but
 * silent (busy: 200 nodes on 2 cores answer late): we wait, with longer
 * calls, and say so every SLOW_LOG.
 */
static void
heard_memberd(struct leaderd *l, const char *what, const char *err, msec_t now)
{
	char why[512];

	if (err == NULL) {
		if (l->slow_since != 0)
			log_notice("memberd answers again, after %.1fs without an answer",
			    (double)(now - l->slow_since) / 1000);
		l->last_ok = now;
		l->slow_since = 0;
		l->call_timeout = CALL_TIMEOUT;
		return;
	}
	if (sock_ipc_access(&l->cfg, SOCK_MEMBERD_CTL, why, sizeof(why)) != 0) {
		if (now - l->last_ok > LOST_AFTER) {
			log_warnx("lost memberd: %s", err);
			l->exit_code = 1;
			l->done = 1;
		} else
			log_debug("memberd: %s", err);
		return;
	}
	if (l->slow_since == 0)
		l->slow_since = l->last_ok;
	if (l->call_timeout < CALL_TIMEOUT_MAX)
		l->call_timeout *= 2;
	if (now - l->slow_logged >= SLOW_LOG) {
		l->slow_logged = now;
		log_warnx("memberd is slow: no answer to '%s' for %.1fs (it is running: its "
		    "socket accepts connections); waiting, %llds a call", what,
		    (double)(now - l->slow_since) / 1000, (long long)l->call_timeout / 1000);
	} else
		log_debug("memberd: %s", err);
}

static void
on_ping(void *arg, const cJSON *rsp, const char *err, msec_t now)
{
	(void)rsp;
	heard_memberd(arg, CTL_PING, err, now);
}

/* Between rounds: is memberd still there? */
static void
check_memberd(struct leaderd *l, msec_t now)
{
	acall_call(l->mctl, ctl_request(CTL_PING), l->call_timeout, on_ping, l, now);
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

/* stable-after = auto: operators see the value in force whenever it changes. */
static void
show_stable_after(struct leaderd *l)
{
	if (l->cfg.strategy == DOWNING_NONE || l->cfg.stable_after != STABLE_AFTER_AUTO ||
	    l->down.stable_after == l->shown_stable_after)
		return;
	log_notice("stable-after (auto) is now %lldms for %d members: max(1s, heartbeat-interval "
	    "%lldms + gossip-interval %lldms x %d hops)", (long long)l->down.stable_after,
	    l->down.n, (long long)l->cfg.heartbeat_interval, (long long)l->cfg.gossip_interval,
	    config_gossip_hops(l->down.n));
	l->shown_stable_after = l->down.stable_after;
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
 * The state in an answer to CTL_STATE into l->st, unless memberd said it is
 * still the one l->st holds, or left it out because this node does not lead
 * (*skipped: l->st is then an older state, kept for unless_seq). -1 on a bad
 * answer.
 */
static int
read_state(struct leaderd *l, const cJSON *rsp, uint64_t seq, int *skipped)
{
	int same = 0, not_leader = 0;
	long members;

	*skipped = 0;
	/* an older memberd sends the state every time: never "unchanged" then */
	if (json_bool(rsp, "unchanged", &same) == 0 && same && l->have_st && seq == l->st_seq) {
		l->unchanged++;
		return 0;
	}
	if (json_bool(rsp, "not_leader", &not_leader) == 0 && not_leader) {
		if (json_int(rsp, "members", 0, 1000000, &members) < 0)
			return -1;
		/* what the status answer shows, as downing_tick would have set it */
		l->down.n = (int)members;
		l->down.stable_after = config_stable_after(&l->cfg, (int)members);
		l->not_leader++;
		*skipped = 1;
		return 0;
	}
	mstate_free(&l->st);
	mstate_init(&l->st);
	l->have_st = 0;
	if (mstate_from_json(cJSON_GetObjectItemCaseSensitive(rsp, "state"), &l->st) < 0)
		return -1;
	l->have_st = 1;
	l->st_seq = seq;
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
	struct mstate *stp = &l->st;
	struct u64set confirmed = { 0 };
	uint64_t self, seq;
	int conv = 0, member = 0, li, timed = 0, skipped = 0;
	msec_t took = now - l->round_sent;

	heard_memberd(l, CTL_STATE, err, now);
	/* the next round on a notice waits as long as this one took (see struct leaderd) */
	l->next_round = now + (took < ROUND_GAP_MAX ? took : ROUND_GAP_MAX);
	if (rsp == NULL)
		return;
	l->settled = 0;
	l->rounds++;
	if (json_u64(rsp, "state_seq", &seq) < 0 || json_u64(rsp, "self", &self) < 0 ||
	    json_bool(rsp, "member", &member) < 0 || json_bool(rsp, "convergence", &conv) < 0 ||
	    u64set_from_json(cJSON_GetObjectItemCaseSensitive(rsp, "exiting_confirmed"),
	    &confirmed, 100000) < 0 || read_state(l, rsp, seq, &skipped) < 0) {
		log_warnx("bad state from memberd");
		u64set_free(&confirmed);
		return;
	}
	log_debug("round: state %llu, convergence %d, %s, %lldms", (unsigned long long)seq, conv,
	    skipped ? "not leading" : "state read", (long long)took);
	if (!member) {
		l->settled = 1;
		goto out;
	}
	if (skipped) {
		/* asked if_leader (no strategy: nothing to decide unless leading) */
		if (l->was_leader) {
			l->was_leader = 0;
			log_notice("this node is no longer the leader");
		}
		l->stuck_since = 0;
		l->settled = 1;	/* becoming leader comes with a state change */
		goto out;
	}
	li = mstate_leader_for(stp, NULL, self);
	if ((li >= 0 && stp->m[li].uid == self) != l->was_leader) {
		l->was_leader = !l->was_leader;
		log_notice("this node is %s the leader", l->was_leader ? "now" : "no longer");
	}
	timed = downing_pending(l, stp, self);
	if (apply_downing(l, stp, self, now)) {
		show_stable_after(l);
		goto out;
	}
	show_stable_after(l);
	if (!l->was_leader) {
		l->settled = 1;	/* becoming leader comes with a state change */
		goto out;
	}
	if (!conv) {
		log_stuck(l, stp, now);
		if (l->cfg.allow_weakly_up > 0 && now - l->stuck_since >= l->cfg.allow_weakly_up &&
		    seq != l->applied_seq)
			send_actions(l, seq, leader_weakly_up(stp, self, l->cfg.min_nr_of_members), 1,
			    now);
		goto out;
	}
	l->stuck_since = 0;
	if (seq != l->applied_seq)
		send_actions(l, seq, leader_actions(stp, self, conv, &confirmed,
		    l->cfg.min_nr_of_members), 0, now);
	l->settled = !l->dirty;
out:
	if (timed)
		l->settled = 0;	/* the downing clock needs ticks */
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
	cJSON *req = ctl_request(CTL_STATE);

	/* memberd leaves the state out when it is still the one we have */
	if (l->have_st)
		json_add_u64(req, "unless_seq", l->st_seq);
	/* with no downing strategy, only the leader decides anything */
	if (l->cfg.strategy == DOWNING_NONE)
		cJSON_AddBoolToObject(req, "if_leader", 1);
	l->round_sent = now;
	acall_call(l->mctl, req, l->call_timeout, on_round, l, now);
}

/* The sockets to memberd and our control socket, the downing core; -1 on failure (said). */
static int
leaderd_start(struct leaderd *l)
{
	char addr[CONF_PATH_MAX + 16];

	if (daemon_run_dir(&l->cfg) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	l->loop = loop_new();
	loop_catch(l->loop, SIGTERM);
	loop_catch(l->loop, SIGINT);
	loop_catch(l->loop, SIGHUP);	/* as memberd: no reload, but no death either */
	/*
	 * The notices it needs, not all of them (memberd.c, struct memberd).
	 * The sockets are lib/sps.c's, as memberd's (no nanomsg thread here);
	 * the subscription is made again by leaderd_run when lost.
	 */
	config_ipc_path(&l->cfg, SOCK_MEMBERD_LEADER, addr, sizeof(addr));
	if ((l->sub = sock_connect_sub(addr, 4096, 1000)) < 0)
		return -1;
	l->sub_connects = sock_connects(l->sub);
	config_ipc_path(&l->cfg, SOCK_LEADERD_CTL, addr, sizeof(addr));
	if ((l->ctl = sock_bind_raw(NN_REP, addr, 4096)) < 0)
		return -1;
	loop_watch(l->loop, sock_rcvfd(l->sub), POLLIN, on_state, l);
	loop_watch(l->loop, sock_rcvfd(l->ctl), POLLIN, on_ctl, l);
	l->mctl = acall_new(l->loop, &l->cfg, SOCK_MEMBERD_CTL);
	downing_init(&l->down, &l->cfg);
	if (l->cfg.stable_after == STABLE_AFTER_AUTO)
		snprintf(addr, sizeof(addr), "auto (from the members in the view)");
	else
		snprintf(addr, sizeof(addr), "%lldms", (long long)l->cfg.stable_after);
	log_info("%s: downing strategy %s%s, stable-after %s", l->cfg.name,
	    config_strategy_name(l->cfg.strategy),
	    l->cfg.strategy == DOWNING_NONE ? " (unreachable members stay until akc-down)" :
	    l->cfg.strategy == DOWNING_AUTO_DOWN ? " (a partition makes two clusters: see akc(7))" : "",
	    addr);
	l->last_ok = clock_mono_ms();
	l->call_timeout = CALL_TIMEOUT;
	mstate_init(&l->st);
	l->dirty = 1;
	daemon_notify("READY=1");
	return 0;
}

/* The loop, until a signal or until memberd is gone (l->done). */
static void
leaderd_run(struct leaderd *l)
{
	unsigned long sigs;
	msec_t now, wake;

	while (!l->done) {
		sigs = loop_signals(l->loop);
		if (sigs & ((1UL << SIGTERM) | (1UL << SIGINT))) {
			log_info("stopping on signal");
			break;
		}
		now = clock_mono_ms();
		acall_tick(l->mctl, now);
		/*
		 * The subscription (re)connected: notices sent while it was
		 * not may be lost, so the state is read again.
		 */
		(void)sock_sub_tick(l->sub, now);
		if (sock_connects(l->sub) != l->sub_connects) {
			l->sub_connects = sock_connects(l->sub);
			l->dirty = 1;
		}
		/*
		 * The subscription's connection closed: memberd was alive
		 * until now (LOST_AFTER counts from here), and is asked at
		 * once whether it still is.
		 */
		if (l->sub_up && !sock_connected(l->sub)) {
			if (l->slow_since == 0)
				l->last_ok = now;
			l->next_tick = now;
		}
		l->sub_up = sock_connected(l->sub);
		/*
		 * A round reads memberd's state: do it when memberd says the
		 * state changed (not sooner than next_round), every tick while
		 * something time-driven may be due (no convergence yet), and
		 * every FULL_EVERY in case a notice was lost; otherwise a tick
		 * only checks memberd is alive. memberd sends the whole state
		 * only when it is not the one we hold (unless_seq).
		 * Calls go out one at a time and are answered in the loop: a
		 * slow memberd holds up the next round, never our control
		 * socket. A round waits until the last one's calls are done.
		 */
		if (acall_pending(l->mctl) > 0)
			;
		else if ((l->dirty && (now >= l->next_round || l->urgent)) ||
		    (now >= l->next_tick && !l->settled) || now >= l->next_full) {
			l->dirty = 0;
			l->urgent = 0;
			l->next_tick = now + TICK;
			l->next_full = now + FULL_EVERY;
			round_once(l, now);
		} else if (now >= l->next_tick) {
			l->next_tick = now + TICK;
			/*
			 * Is memberd still there? While the subscription's
			 * connection is up it is (its end closes when it
			 * dies: above): asked only every PING_QUIET, for a
			 * memberd alive but silent. With nanomsg's sockets
			 * (AKC_SOCK_NANOMSG=1) nothing says: every tick.
			 */
			if (sock_connected(l->sub) && now - l->last_ok < PING_QUIET)
				l->pings_skipped++;
			else {
				l->pings++;
				check_memberd(l, now);
			}
		}
		if (l->done)
			break;
		/* with a call out, its answer (an fd) or its deadline wakes us */
		if (acall_pending(l->mctl) > 0)
			wake = acall_deadline(l->mctl);
		else
			wake = l->dirty && (l->urgent || l->next_round < l->next_tick) ?
			    (l->next_round > now && !l->urgent ? l->next_round : now) : l->next_tick;
		/* not subscribed: try again when due */
		if (sock_retry_at(l->sub) != 0 && (wake < 0 || sock_retry_at(l->sub) < wake))
			wake = sock_retry_at(l->sub) > now ? sock_retry_at(l->sub) : now;
		loop_poll(l->loop, wake);
	}
}

int
main(int argc, char **argv)
{
	static struct leaderd l;
	struct daemon_opts o;

	/* the tables of a state read, a few at a time (memberd.c's main) */
	mstate_map_buckets(DAEMON_MAP_BUCKETS);
	daemon_setup(argc, argv, "leaderd", USAGE, 0, &o, &l.cfg);
	if (leaderd_start(&l) < 0)
		return 1;
	leaderd_run(&l);
	acall_free(l.mctl);
	mstate_free(&l.st);
	daemon_notify("STOPPING=1");
	sock_term();	/* removes the socket files, as nanomsg did */
	return l.exit_code;
}
