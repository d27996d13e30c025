/* sm.c: the cluster singleton's state machine (see sm.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sm.h"
#include "xmalloc.h"

#define KNOWN_KEEP	60000	/* a removed member is forgotten this long after its margin */

static const char *state_names[] = {
	"start", "younger", "becoming-oldest", "oldest", "handing-over", "handed-over", "stopping"
};

const char *
sg_state_name(enum sg_state s)
{
	return state_names[s];
}

msec_t
sg_margin(const struct akc_config *cfg, int n)
{
	/*
	 * As Akka: the explicit margin, else the downing strategy's: a member
	 * downed on our side is downed on its own side (by its own leader) at
	 * about the same time, give or take the detection of each side, and
	 * stable-after covers that.
	 */
	if (cfg->down_removal_margin > 0 || cfg->strategy == DOWNING_NONE)
		return cfg->down_removal_margin;
	return config_stable_after(cfg, n);
}

/*
 * The loser's guard stops the child at most a heartbeat interval after the
 * winner's leader saw the split (D_A); the winner starts it no sooner than
 * D_A + stable-after + margin. The room the loser's child has, with
 * SG_FORCED_SLACK to spare (doc/ARCHITECTURE.md, "stable-after = auto"):
 * the bound of both the forced stop and the lease.
 */
static msec_t
guard_room(const struct akc_config *cfg, int n)
{
	return config_stable_after(cfg, n) + sg_margin(cfg, n) - cfg->heartbeat_interval -
	    SG_FORCED_SLACK;
}

msec_t
sg_forced_stop(const struct akc_config *cfg, msec_t stop_timeout, int n)
{
	msec_t k;

	/* No downing strategy: only an operator removes a member. */
	if (cfg->strategy == DOWNING_NONE)
		return stop_timeout;
	k = guard_room(cfg, n);
	if (k < SG_FORCED_MIN)
		k = SG_FORCED_MIN;
	return k < stop_timeout ? k : stop_timeout;
}

msec_t
sg_lease(const struct akc_config *cfg, int n)
{
	msec_t k;

	if (cfg->strategy == DOWNING_NONE) {
		k = cfg->down_removal_margin - cfg->heartbeat_interval - SG_FORCED_SLACK;
		return k < SG_LEASE_MIN ? 0 : k;
	}
	k = guard_room(cfg, n);
	return k < SG_LEASE_MIN ? SG_LEASE_MIN : k;
}

msec_t
sg_view_at(msec_t at, msec_t asked, msec_t now)
{
	if (at < 0 || at > now)
		return asked;
	return at;
}

msec_t
sg_lease_since(msec_t now, msec_t view_ok)
{
	if (view_ok < 0 || view_ok + SG_REACTION >= now)
		return now;
	return view_ok + SG_REACTION;
}

msec_t
sg_lease_end(msec_t since, msec_t lease)
{
	return since + (lease < SG_LEASE_MAX ? lease : SG_LEASE_MAX);
}

msec_t
sg_lease_grant(msec_t lease, msec_t now, msec_t since, msec_t renewed, msec_t expires,
    msec_t granted, msec_t stop_at)
{
	msec_t want;

	if (expires >= 0 && now >= expires)
		return SG_LEASE_LAPSED;
	if (lease <= 0)
		return -1;
	if (lease > SG_LEASE_MAX)
		lease = SG_LEASE_MAX;
	want = sg_lease_end(since, lease);
	if (want <= now)
		return SG_LEASE_LAPSED;
	if (stop_at >= 0 && stop_at < want)
		want = stop_at;
	if (now - renewed >= lease / 4 || want < granted)
		return want;
	/* a fresher view (or a longer lease) for a keeper holding less than 3/4 of one */
	if (want > granted && granted - now < lease - lease / 4)
		return want;
	return -1;
}

void
sg_init(struct singleton *s, const struct conf_singleton *c, msec_t margin)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", c->name);
	snprintf(s->role, sizeof(s->role), "%s", c->role);
	s->margin = margin;
	s->retry = c->hand_over_retry > 0 ? c->hand_over_retry : 1000;
	proc_init(&s->child, c->stop_timeout);
	s->forced_stop = c->stop_timeout;	/* the shell sets it with the margin */
	proc_init(&s->standby, c->stop_timeout);
	s->has_standby = c->standby_command[0] != '\0';
	s->state = SG_START;
}

void
sg_free(struct singleton *s)
{
	int i;

	for (i = 0; i < s->nk; i++)
		member_clear(&s->k[i].m);
	member_clear(&s->oldest);
	free(s->k);
	s->k = NULL;
	s->nk = s->capk = 0;
}

static void
send(struct singleton *s, uint64_t to, const char *m)
{
	if (to == 0 || to == s->self || s->nout == (int)(sizeof(s->out) / sizeof(s->out[0])))
		return;
	s->out[s->nout].to = to;
	s->out[s->nout].m = m;
	s->nout++;
}

struct sg_out *
sg_outbox(struct singleton *s, int *n)
{
	*n = s->nout;
	s->nout = 0;
	return s->out;
}

static void
go(struct singleton *s, enum sg_state to, const char *why)
{
	if (s->state == to)
		return;
	snprintf(s->why, sizeof(s->why), "%s -> %s: %s", state_names[s->state], state_names[to], why);
	s->state = to;
	s->changed = 1;
}

static struct sg_known *
known(struct singleton *s, uint64_t uid)
{
	int i;

	for (i = 0; i < s->nk; i++)
		if (s->k[i].m.uid == uid)
			return &s->k[i];
	return NULL;
}

static struct sg_known *
add_known(struct singleton *s, uint64_t uid)
{
	struct sg_known *k = known(s, uid);

	if (k != NULL)
		return k;
	if (s->nk == s->capk) {
		s->capk = s->capk ? 2 * s->capk : 16;
		s->k = xreallocarray(s->k, (size_t)s->capk, sizeof(*s->k));
	}
	k = &s->k[s->nk++];
	memset(k, 0, sizeof(*k));
	k->m.uid = uid;
	return k;
}

static int
candidate(const struct sg_known *k)
{
	return k->removed_at == 0 && (k->m.status == MS_UP || k->m.status == MS_LEAVING);
}

static int
cleared(const struct singleton *s, const struct sg_known *k, msec_t now)
{
	return k->handed || (k->removed_at != 0 && now - k->removed_at >= s->margin);
}

static int
self_leaving(const struct singleton *s)
{
	return s->self_status == MS_EXITING || s->self_status == MS_DOWN ||
	    s->self_status == MS_REMOVED;
}

/*
 * Older members that may still run the singleton: they left the candidates
 * (Exiting, Down, removed) but neither said hand-over done nor have been
 * removed for the margin. Returns how many; *first is one to ask.
 */
static int
blockers(const struct singleton *s, msec_t now, msec_t *until)
{
	const struct sg_known *me = NULL;
	int i, n = 0;

	for (i = 0; i < s->nk; i++)
		if (s->k[i].m.uid == s->self)
			me = &s->k[i];
	if (until != NULL)
		*until = -1;
	for (i = 0; i < s->nk; i++) {
		const struct sg_known *k = &s->k[i];

		if (k == me || candidate(k) || cleared(s, k, now))
			continue;
		if (me != NULL && k->m.up_number != -1 && !member_older(&k->m, &me->m))
			continue;
		n++;
		if (until != NULL && k->removed_at != 0 &&
		    (*until < 0 || k->removed_at + s->margin < *until))
			*until = k->removed_at + s->margin;
	}
	return n;
}

static void
ask_blockers(struct singleton *s, msec_t now)
{
	const struct sg_known *me = known(s, s->self);
	int i;

	for (i = 0; i < s->nk; i++) {
		const struct sg_known *k = &s->k[i];

		if (k == me || k->removed_at != 0 || candidate(k) || cleared(s, k, now))
			continue;
		if (me != NULL && !member_older(&k->m, &me->m))
			continue;
		send(s, k->m.uid, SG_HAND_OVER_TO_ME);
	}
	s->next_retry = now + s->retry;
}

/* Recomputes the state from the view; called after every input. */
static void
step(struct singleton *s, msec_t now)
{
	s->now = now;
	int oldest = s->oldest.uid == s->self && s->self != 0 && !self_leaving(s) && !s->retired;
	int head = oldest && s->majority;
	int guard;

	s->minority_wait = oldest && !s->majority;

	for (guard = 0; guard < 4; guard++) {
		enum sg_state was = s->state;

		switch (s->state) {
		case SG_START:
			if (s->have_view)
				go(s, SG_YOUNGER, "first view of the cluster");
			break;
		case SG_YOUNGER:
			if (!head)
				break;
			if (blockers(s, now, NULL) == 0)
				go(s, SG_OLDEST, "oldest, and no older member may still run it");
			else {
				go(s, SG_BECOMING, "oldest: asking older members to hand over");
				ask_blockers(s, now);
			}
			break;
		case SG_BECOMING:
			if (!head)
				go(s, SG_YOUNGER, oldest ? "lost sight of a majority of the cluster" :
				    "no longer the oldest");
			else if (blockers(s, now, NULL) == 0)
				go(s, SG_OLDEST, "older members handed over or were removed for the margin");
			break;
		case SG_OLDEST:
			if (self_leaving(s)) {
				if (s->oldest.uid != 0 && s->oldest.uid != s->self)
					s->hand_to = s->oldest.uid;
				go(s, SG_HANDING_OVER, "this node is leaving");
				send(s, s->hand_to, SG_TAKE_OVER_FROM_ME);
			} else if (!oldest) {
				s->hand_to = s->oldest.uid;
				go(s, SG_HANDING_OVER, "another member became the oldest");
			} else if (!s->majority) {
				/* not retired: it runs here again once the majority is back */
				go(s, SG_YOUNGER, "lost sight of a majority of the cluster: stopping it");
			}
			break;
		case SG_HANDING_OVER:
			if (s->hand_to == 0 && s->oldest.uid != s->self)
				s->hand_to = s->oldest.uid;
			if (s->child.state == PROC_IDLE) {
				s->retired = 1;	/* the next oldest may start at once */
				go(s, SG_HANDED, "stopped");
				send(s, s->hand_to, SG_HAND_OVER_DONE);
			} else if (head)
				go(s, SG_OLDEST, "the oldest again before the hand-over");
			break;
		case SG_HANDED:
			if (head)
				go(s, SG_YOUNGER, "the oldest again");
			break;
		case SG_STOPPING:
			break;
		}
		if (s->state == was)
			break;
	}
}

void
sg_view(struct singleton *s, const struct mstate *st, uint64_t self, int64_t wall, msec_t now)
{
	int i, first = !s->have_view, best = -1;

	if (s->state == SG_STOPPING)
		return;
	s->self = self;
	s->have_view = 1;
	s->self_status = MS_REMOVED;
	for (i = 0; i < s->nk; i++)
		if (s->k[i].removed_at == 0)
			s->k[i].removed_at = -1;	/* marked: not seen in this view */
	for (i = 0; i < st->n; i++) {
		const struct member *m = &st->m[i];
		struct sg_known *k;

		if (m->uid == self) {
			s->self_status = m->status;
			snprintf(s->self_name, sizeof(s->self_name), "%s", m->name);
		}
		if (!member_has_role(m, s->role))
			continue;
		k = add_known(s, m->uid);
		member_copy(&k->m, m);	/* its own references: the view is freed after */
		k->removed_at = 0;
		if (candidate(k) && (best < 0 || member_older(m, &st->m[best])))
			best = i;
	}
	for (i = 0; i < s->nk; i++) {
		const struct tomb *t;

		if (s->k[i].removed_at == 0)
			continue;
		if (s->k[i].removed_at == -1)
			s->k[i].removed_at = now > 0 ? now : 1;
		/*
		 * Removed on its own exit confirmation, which its singletond
		 * holds back until it has handed over (the tombstone says so,
		 * even when this view never showed it Exiting, and a later
		 * view may be the first to say it): no margin to wait, or a
		 * rolling restart would wait it at every step.
		 */
		if (!s->k[i].handed && (t = mstate_tomb(st, s->k[i].m.uid)) != NULL && t->exited)
			s->k[i].handed = 1;
	}
	/*
	 * Started afresh: a member removed shortly before may still be
	 * running it for all we know; its tombstone says when it went.
	 */
	if (first && s->margin > 0)
		for (i = 0; i < st->nt; i++) {
			const struct tomb *t = &st->t[i];
			struct sg_known *k;

			if (t->exited || wall - t->time >= s->margin || known(s, t->uid) != NULL)
				continue;
			k = add_known(s, t->uid);
			k->m.status = MS_REMOVED;
			k->m.up_number = -1;	/* older than anyone: we cannot tell */
			k->removed_at = now - (wall > t->time ? wall - t->time : 0);
			if (k->removed_at <= 0)
				k->removed_at = 1;
		}
	/* forget members removed long ago */
	for (i = 0; i < s->nk; i++)
		if (s->k[i].removed_at > 0 && now - s->k[i].removed_at > s->margin + KNOWN_KEEP) {
			member_clear(&s->k[i].m);
			s->k[i--] = s->k[--s->nk];
		}
	member_clear(&s->oldest);
	memset(&s->oldest, 0, sizeof(s->oldest));
	if (best >= 0)
		member_copy(&s->oldest, &st->m[best]);
	step(s, now);
}

void
sg_lost(struct singleton *s, const char *why, int forced, msec_t now)
{
	(void)now;
	if (forced)
		s->lost_forced = 1;	/* never taken back: a graceful reason later does not slow it */
	go(s, SG_STOPPING, why);
}

void
sg_receive(struct singleton *s, uint64_t from, const char *m, msec_t now)
{
	struct sg_known *k;

	if (strcmp(m, SG_HAND_OVER_TO_ME) == 0) {
		if (!s->retired)
			snprintf(s->why, sizeof(s->why), "retired: a younger member sees this node leave");
		s->retired = 1;
		switch (s->state) {
		case SG_START:
			break;	/* no view yet: it will ask again */
		case SG_OLDEST:
			s->hand_to = from;
			go(s, SG_HANDING_OVER, "a younger member asked for the hand-over");
			send(s, from, SG_HAND_OVER_PROGRESS);
			break;
		case SG_HANDING_OVER:
		case SG_STOPPING:
			if (s->child.state != PROC_IDLE) {
				if (s->hand_to == 0)
					s->hand_to = from;
				send(s, from, SG_HAND_OVER_PROGRESS);
			} else
				send(s, from, SG_HAND_OVER_DONE);
			break;
		default:
			/* it does not run here (any more) */
			send(s, from, SG_HAND_OVER_DONE);
			break;
		}
	} else if (strcmp(m, SG_HAND_OVER_DONE) == 0) {
		if ((k = known(s, from)) != NULL && !k->handed) {
			k->handed = 1;
			s->changed = 1;
		}
	} else if (strcmp(m, SG_HAND_OVER_PROGRESS) == 0) {
		if (s->state == SG_BECOMING)
			s->next_retry = now + s->retry;	/* it is on it */
	} else if (strcmp(m, SG_TAKE_OVER_FROM_ME) == 0) {
		/* the oldest is leaving, maybe before we saw it: ask at once */
		if ((s->state == SG_BECOMING || s->state == SG_YOUNGER) && !s->retired)
			send(s, from, SG_HAND_OVER_TO_ME);
	}
	step(s, now);
}

void
sg_tick(struct singleton *s, msec_t now)
{
	if (s->state == SG_BECOMING && now >= s->next_retry)
		ask_blockers(s, now);
	step(s, now);
}

static void
earliest(msec_t *d, msec_t t)
{
	if (t >= 0 && (*d < 0 || t < *d))
		*d = t;
}

/*
 * Whether the child may run: on the oldest, and, to start, once the
 * standby has gone (a running child never has a standby beside it: the
 * standby is not wanted while the child is not idle).
 */
static int
child_wanted(const struct singleton *s)
{
	return s->state == SG_OLDEST &&
	    (s->child.state != PROC_IDLE || s->standby.state == PROC_IDLE);
}

static int
standby_wanted(const struct singleton *s)
{
	return s->has_standby && sg_standby_wanted(s);
}

msec_t
sg_next_deadline(const struct singleton *s)
{
	msec_t d = -1, until;

	if (s->state == SG_BECOMING) {
		/* the next retry, or the end of the first margin still running */
		d = s->next_retry;
		if (blockers(s, s->now, &until) > 0 && until >= 0 && until < d)
			d = until;
	}
	/* a child waiting for the standby to go: the standby's exit wakes us */
	earliest(&d, proc_deadline(&s->child, child_wanted(s)));
	earliest(&d, proc_deadline(&s->standby, standby_wanted(s)));
	return d;
}

int
sg_stop_forced(const struct singleton *s)
{
	/*
	 * The other side acts on these without hearing from us: its leader
	 * downs and removes this node, its next oldest waits the margin and
	 * starts the singleton. A hand-over (leaving, a new oldest) waits
	 * for our hand-over-done instead, so it may take stop-timeout.
	 */
	return s->lost_forced || (s->have_view && !s->majority) ||
	    s->self_status == MS_DOWN || s->self_status == MS_REMOVED;
}

msec_t
sg_child_stop_wait(const struct singleton *s)
{
	if (sg_stop_forced(s) && s->forced_stop < s->child.stop_timeout)
		return s->forced_stop;
	return s->child.stop_timeout;
}

int
sg_child_start_due(const struct singleton *s, msec_t now)
{
	return s->child.state == PROC_IDLE && child_wanted(s) && now >= s->child.restart_at;
}

enum proc_action
sg_child_action(struct singleton *s, msec_t now)
{
	return proc_action_by(&s->child, child_wanted(s), sg_child_stop_wait(s), now);
}

void
sg_child_exited(struct singleton *s, msec_t now)
{
	/* crashed: again after a backoff, while we are the oldest; stopped: moves on */
	proc_exited(&s->child, now);
	step(s, now);
}

enum proc_action
sg_standby_action(struct singleton *s, msec_t now)
{
	return proc_action(&s->standby, standby_wanted(s), now);
}

void
sg_standby_exited(struct singleton *s, msec_t now)
{
	proc_exited(&s->standby, now);
}

int
sg_done(const struct singleton *s)
{
	return s->state == SG_STOPPING && s->child.state == PROC_IDLE &&
	    s->standby.state == PROC_IDLE;
}

int
sg_hold_exit(const struct singleton *s)
{
	return s->state == SG_OLDEST || s->state == SG_HANDING_OVER ||
	    (s->state == SG_STOPPING && s->child.state != PROC_IDLE);
}

int
sg_standby_wanted(const struct singleton *s)
{
	const struct sg_known *me;

	if ((s->state != SG_YOUNGER && s->state != SG_BECOMING) || s->retired || self_leaving(s) ||
	    s->child.state != PROC_IDLE)
		return 0;	/* never beside the child, even while it stops */
	for (me = s->k; me < s->k + s->nk; me++)
		if (me->m.uid == s->self)
			return candidate(me);
	return 0;
}

int
sg_serving(const struct singleton *s)
{
	return s->state == SG_OLDEST && s->child.state == PROC_RUNNING;
}
