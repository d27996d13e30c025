/* exit.c: memberd's core: our own removal, Exiting and exit holds. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "node.h"
#include "node-int.h"
#include "proto.h"

void
self_removed(struct node *n, msec_t now)
{
	int i = mstate_find(&n->st, n->self.uid);
	enum mstatus was = i >= 0 ? n->st.m[i].status : n->self.status;

	if (n->phase == PHASE_SHUTDOWN)
		return;
	if (i >= 0) {
		mstate_remove(&n->st, n->self.uid, n->wall);
		changed(n, now);
	}
	if (was == MS_EXITING || was == MS_LEAVING)
		begin_shutdown(n, EXIT_DAEMON_OK, now, "this node left the cluster and was removed");
	else
		begin_shutdown(n, EXIT_DAEMON_DOWNED, now, "this node was removed from the cluster");
}

/* Whether a local service still holds our exit confirmation. */
static int
exit_held(const struct node *n, msec_t now)
{
	int i;

	if (now - n->exiting_since > EXIT_HOLD_MAX)
		return 0;
	for (i = 0; i < n->nholds; i++)
		if (n->holds[i].until > now)
			return 1;
	return 0;
}

static void
send_exiting_to(struct node *n, const struct member *to)
{
	cJSON *m = envelope(n, MSG_EXITING, to->uid);

	if (n->exit_forced_self)
		cJSON_AddTrueToObject(m, "forced");
	send_to(n, to->address, m);
}

/*
 * Tells every member we are Exiting and go; repeated until we are removed,
 * since a message may be lost or reach a member before it sees us Exiting.
 */
void
send_exiting(struct node *n, msec_t now)
{
	int j;

	for (j = 0; j < n->st.n; j++)
		if (n->st.m[j].uid != n->self.uid)
			send_exiting_to(n, &n->st.m[j]);
	n->exit_resend_at = now + EXIT_RESEND(n);
}

/*
 * Exiting: once no local service (a singleton handing over) holds us back,
 * tell every member we are going; the leader removes us on that.
 */
void
check_exit_holds(struct node *n, msec_t now)
{
	int j;

	if (n->phase != PHASE_MEMBER || n->self.status != MS_EXITING ||
	    n->exiting_since == 0 || n->exit_confirmed_at != 0)
		return;
	if (exit_held(n, now)) {
		log_info("this node is Exiting: a local service holds the exit (hand-over)");
		return;
	}
	/*
	 * Past the cap while a service still holds it, or a holder died holding
	 * it: say so, and the tombstone will not tell singletons that it handed
	 * over.
	 */
	for (j = 0; j < n->nholds; j++)
		if (n->holds[j].until > now)
			n->exit_forced_self = 1;
	if (n->exit_forced_self)
		log_warnx("this node is Exiting: a local service held the exit for %d s; going anyway",
		    EXIT_HOLD_MAX / 1000);
	else if (n->hold_orphaned) {
		n->exit_forced_self = 1;
		log_warnx("this node is Exiting: going, though a service died holding the exit");
	} else
		log_info("this node is Exiting: waiting to be removed");
	n->exit_confirmed_at = now;
	/*
	 * The leader first, alone in this loop turn: it removes us on this
	 * notice. Sent with the others, it left after all of them (a
	 * connection each, 199 at 200 members: 100-190 ms on a loaded
	 * machine), and a turn's sends to more members than peer-sockets
	 * keeps connections to may evict the connection it waits on. Every
	 * member, the leader again, in the next turn (node_tick).
	 */
	if ((j = mstate_leader_for(&n->st, NULL, n->self.uid)) >= 0 &&
	    n->st.m[j].uid != n->self.uid) {
		send_exiting_to(n, &n->st.m[j]);
		n->exit_resend_at = now + 1;
	} else
		send_exiting(n, now);
}

void
node_hold_exit(struct node *n, const char *svc, msec_t until, int pid, msec_t now)
{
	int i;

	for (i = 0; i < n->nholds; i++)
		if (strcmp(n->holds[i].svc, svc) == 0)
			break;
	if (i == n->nholds) {
		if (until <= now)
			goto check;
		if (n->nholds == RELAY_HOLDS_MAX) {
			for (i = 0; i < n->nholds && n->holds[i].until > now; i++)
				;
			if (i == n->nholds)
				i = 0;	/* full of live holds: the first one yields */
		} else
			n->nholds++;
		snprintf(n->holds[i].svc, sizeof(n->holds[i].svc), "%s", svc);
	}
	n->holds[i].until = until;
	n->holds[i].pid = until > now ? pid : 0;
check:
	check_exit_holds(n, now);
}

void
node_hold_orphaned(struct node *n, int i, msec_t now)
{
	log_warnx("%s (pid %d) died holding this node's exit: its removal will not count as a "
	    "clean hand-over", n->holds[i].svc, n->holds[i].pid);
	n->hold_orphaned = 1;
	n->holds[i].until = 0;
	n->holds[i].pid = 0;
	check_exit_holds(n, now);
}

/* After st changed, react to our own status: Down and Exiting end the node. */
void
check_self(struct node *n, msec_t now)
{
	int i = mstate_find(&n->st, n->self.uid), j;

	if (n->phase != PHASE_MEMBER)
		return;
	if (i < 0) {
		self_removed(n, now);
		return;
	}
	n->self.status = n->st.m[i].status;
	n->self.up_number = n->st.m[i].up_number;
	if (n->self.status == MS_DOWN) {
		int t[5], k;

		/*
		 * A downed node stops pushing once it shuts down: hand the version
		 * that downed it (it may be our own akc-down) to a few members
		 * first, then tell everyone we are going, so they need not wait
		 * for the detector.
		 */
		if (n->self.status == MS_DOWN)
			for (k = pick_targets(n, t, 5, 0), j = 0; j < k; j++)
				send_gossip(n, &n->st.m[t[j]]);
		/*
		 * forced: a member that still sees us Exiting must not take this
		 * for a clean exit (the tombstone's exited) when we were downed
		 */
		n->exit_forced_self = 1;
		send_exiting(n, now);
	}
	if (n->self.status == MS_DOWN)
		begin_shutdown(n, EXIT_DAEMON_DOWNED, now, "this node was downed");
	else if (n->self.status == MS_EXITING && n->exiting_since == 0) {
		n->exiting_since = now;
		check_exit_holds(n, now);
	}
}

void
on_exiting(struct node *n, const struct from *f, int forced, msec_t now)
{
	if (f->mi < 0)
		return;
	if (n->st.m[f->mi].status == MS_EXITING) {
		if (u64set_has(&n->exiting_confirmed, f->uid))
			return;		/* told again */
		u64set_add(&n->exiting_confirmed, f->uid);
		log_debug("exit notice from %s: confirmed", n->st.m[f->mi].name);
		if (forced)
			u64set_add(&n->exit_forced, f->uid);
		n->state_seq++;
	} else if (n->st.m[f->mi].status == MS_DOWN &&
	    reach_observer_says(&n->st.reach, n->self.uid, f->uid) != RS_TERMINATED) {
		reach_set(&n->st.reach, n->self.uid, f->uid, RS_TERMINATED);
		local_change(n, now);
	}
}
