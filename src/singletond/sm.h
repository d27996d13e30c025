/*
 * sm.h: the cluster singleton's state machine, without I/O (Akka's
 * ClusterSingletonManager). Fed memberd's membership state, the hand-over
 * messages of the other nodes' singletonds, what became of the child and the
 * standby and the time; says what to do with each (start, stop, kill: the
 * timing is proc.c's), which messages to send, and when to look again. The
 * shell (singletond.c, keeper.c) does the forking and the sockets.
 *
 * The rule it keeps: the child runs only here, only while this node is the
 * oldest Up (or Leaving) member with the role, and only once every older
 * member that may have run it has said it stopped (hand-over done) or has
 * been removed from the cluster for the removal margin.
 */
#ifndef SINGLETOND_SM_H
#define SINGLETOND_SM_H

#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "membership.h"
#include "proc.h"

/* Hand-over messages between singletonds (doc/PROTOCOL.md). */
#define SG_HAND_OVER_TO_ME	"hand-over-to-me"	/* new oldest -> previous */
#define SG_HAND_OVER_PROGRESS	"hand-over-in-progress"	/* previous: stopping it */
#define SG_HAND_OVER_DONE	"hand-over-done"	/* previous: it is stopped */
#define SG_TAKE_OVER_FROM_ME	"take-over-from-me"	/* previous oldest -> new */

/* A crashing child or standby is restarted after this, doubling up to the max (proc.h). */
#define SG_BACKOFF_MIN		PROC_BACKOFF_MIN
#define SG_BACKOFF_MAX		PROC_BACKOFF_MAX
#define SG_BACKOFF_RESET	PROC_BACKOFF_RESET

/*
 * A forced stop (this node lost the majority, was downed or removed, or
 * lost its memberd) SIGKILLs the child after stop-timeout or the bound
 * sg_forced_stop gives, whichever is sooner, never sooner than
 * SG_FORCED_MIN. SG_FORCED_SLACK is the room it leaves before the other
 * side may start the singleton: singletond's reaction to memberd's state
 * (at most FETCH_EVERY, 1 s) and the scheduling of a loaded machine
 * (doc/ARCHITECTURE.md, "stable-after = auto").
 */
#define SG_FORCED_MIN		500
#define SG_FORCED_SLACK		2000
#define SG_LEASE_MIN		1000
#define SG_LEASE_MAX		(1L << 30)	/* ~12 days: a bound on the sum of the settings */

enum sg_state {
	SG_START,		/* no membership view yet */
	SG_YOUNGER,		/* not the oldest */
	SG_BECOMING,		/* the oldest, waiting for older members to hand over */
	SG_OLDEST,		/* runs the child */
	SG_HANDING_OVER,	/* stopping the child for the new oldest */
	SG_HANDED,		/* stopped, hand-over done: waits to leave */
	SG_STOPPING,		/* this node is down or gone: child stopped for good */
};

struct sg_known {		/* a member with the role, as last seen */
	struct member m;
	msec_t removed_at;	/* when we saw it go; 0: still a member */
	int handed;		/* said hand-over done: it does not run it */
};

struct sg_out {
	uint64_t to;
	const char *m;
};

struct singleton {
	/* settings */
	char name[CONF_NAME_MAX];
	char role[CONF_ROLE_MAX];
	msec_t margin, retry;
	msec_t forced_stop;	/* a forced stop's SIGKILL wait (sg_forced_stop), set with margin */

	/* the view */
	uint64_t self;
	char self_name[CONF_NAME_MAX];
	enum mstatus self_status;
	int have_view;
	struct member oldest;	/* head of the candidates; uid 0: none */
	struct sg_known *k;
	int nk, capk;

	enum sg_state state;
	/*
	 * A member asked us to hand over: it sees us Exiting, Down or gone,
	 * and membership never goes back, so we never run the child again.
	 */
	int retired;
	uint64_t hand_to;	/* the new oldest we hand over to (0: none asked) */
	/*
	 * The guard (singletond(8), NEVER TWO): memberd says whether this node
	 * sees a majority of the members it remembers, across restarts, as
	 * reachable members of its cluster. Without it the child never runs,
	 * and a running child is stopped. Set by the shell before sg_view.
	 */
	int majority;
	int minority_wait;	/* the oldest, but waits for a majority: the shell says so */
	int lost_forced;	/* sg_lost for a reason the other side acts on without us */
	msec_t next_retry;
	msec_t now;		/* the time of the last input */
	char why[160];		/* the reason of the last state change, for the log */
	int changed;		/* state changed since the shell last looked */

	/*
	 * The processes, each kept by proc.c: the child runs the singleton;
	 * the standby command (if configured) runs where it may run one day.
	 * Never both at once: the standby is stopped first, and the child
	 * starts only once it has exited (they may share state, a port, a
	 * lock: the master's standby and master do).
	 */
	struct proc child;
	struct proc standby;
	int has_standby;	/* a standby command is configured */

	struct sg_out out[64];
	int nout;
};

void sg_init(struct singleton *, const struct conf_singleton *, msec_t margin);
void sg_free(struct singleton *);
/*
 * The removal margin singletond uses for a configuration (see akc.conf(5)),
 * with n members in the view (stable-after = auto grows with n).
 */
msec_t sg_margin(const struct akc_config *, int n);
/*
 * The SIGTERM-to-SIGKILL wait of a forced stop, with n members as for
 * sg_margin: stable-after + margin - heartbeat-interval - SG_FORCED_SLACK,
 * at least SG_FORCED_MIN, at most stop_timeout. Without a downing strategy
 * nothing is decided on a timer and it is stop_timeout.
 */
msec_t sg_forced_stop(const struct akc_config *, msec_t stop_timeout, int n);
/*
 * The singleton's lease (ms): its keeper kills the singleton's process group
 * when singletond has not renewed the lease for this long (singletond
 * stopped, starved or blocked: then nothing would stop the child in time
 * if this node lost the majority or was downed meanwhile). With n members as
 * for sg_margin: the bound sg_forced_stop has without stop_timeout
 * (stable-after + margin - heartbeat-interval - SG_FORCED_SLACK: the other
 * side starts the singleton no sooner than stable-after + margin after its
 * leader saw the split), at least SG_LEASE_MIN. Without a downing strategy
 * (an operator downs members): margin - heartbeat-interval -
 * SG_FORCED_SLACK, or 0 (no lease) when that is under SG_LEASE_MIN.
 */
msec_t sg_lease(const struct akc_config *, int n);
/*
 * When the lease runs from, at now: the view it rests on, not singletond's
 * loop. view_ok is `at` of the last memberd state that did not force a stop
 * (memberd's CLOCK_MONOTONIC ms up to which that view was current: a
 * majority in sight, this node a member and not Down; -1: none dated, an
 * older memberd). The guard would force a stop at most SG_REACTION after
 * a view shows the loss (singletond reads memberd's state at least that
 * often), so the lease may run from view_ok + SG_REACTION, and from now
 * when that is later: while views come, as from the loop; when they stop
 * coming (singletond or memberd stalled, a split's first views unread) it
 * does not move. Without a dated view, now.
 */
#define SG_REACTION		1000
msec_t sg_lease_since(msec_t now, msec_t view_ok);
/* The end of a lease of that length from since (at most SG_LEASE_MAX). */
msec_t sg_lease_end(msec_t since, msec_t lease);
/*
 * The date of a memberd state answered at now to a call made at asked: its
 * `at` (-1: none, an older memberd), or asked when it has none or one
 * later than now (not memberd's clock). memberd made the view after it got
 * the call, so asked is never later than the view; now may be much later
 * (singletond stalled before it read the answer), and a view dated now
 * would lengthen the lease by that stall, as before the lease ran from the
 * view.
 */
msec_t sg_view_at(msec_t at, msec_t asked, msec_t now);
/*
 * The renewal singletond owes its keeper at now: the new deadline (ms, on
 * CLOCK_MONOTONIC, which both processes read), or -1 when none is due.
 * lease is sg_lease's (0: none); since, sg_lease_since's; renewed, when
 * singletond last renewed it; granted, the deadline the keeper holds;
 * stop_at, while the singleton stops, its planned SIGKILL (-1: not
 * stopping). The deadline is since + lease, or stop_at if sooner. Due a
 * quarter of the lease after the last renewal, and at once when the keeper
 * holds a later deadline than that (the lease shrank with the member count,
 * or a stop began with a shorter wait), or when it holds less than 3/4 of
 * a lease and this one is later (a fresher view came after views stopped
 * moving since: waiting for the quarter could let the keeper's deadline,
 * the old view's, pass first; or the lease grew): the keeper never holds more than
 * singletond would grant now. expires is when the lease as last renewed
 * runs out (-1: none yet): from then on, and when since + lease is not
 * after now (the view it rests on is older than the lease), it is
 * SG_LEASE_LAPSED, never a renewal. singletond (or memberd) did not run
 * for the whole lease, so what it knows of the cluster is that old, and
 * the keeper may not have run either (a whole node stalled): renewing it
 * then would let a keeper that runs after singletond take that renewal
 * instead of killing.
 */
#define SG_LEASE_LAPSED		(-2)
msec_t sg_lease_grant(msec_t lease, msec_t now, msec_t since, msec_t renewed, msec_t expires,
    msec_t granted, msec_t stop_at);
/*
 * A new membership view: self is our uid, st memberd's state; wall (ms) dates
 * tombstones, for members removed before we started.
 */
void sg_view(struct singleton *, const struct mstate *st, uint64_t self, int64_t wall, msec_t now);
/*
 * This node is down, removed, left or lost its memberd: stop for good.
 * forced: the reason is one the rest of the cluster acts on without us
 * (downed, removed, memberd gone), so the child is killed within
 * forced_stop; 0 (left, singletond told to stop): stop-timeout as usual.
 */
void sg_lost(struct singleton *, const char *why, int forced, msec_t now);
/* A hand-over message from another node's singletond. */
void sg_receive(struct singleton *, uint64_t from, const char *m, msec_t now);
/* Runs retries and margins that are due. */
void sg_tick(struct singleton *, msec_t now);
msec_t sg_next_deadline(const struct singleton *);

/*
 * Whether a stop of the child now is forced (sg_lost forced, this node
 * Down or removed in its view, or no majority in sight: the other side
 * may start the singleton after its margin), and the SIGTERM-to-SIGKILL
 * wait that follows from it.
 */
int sg_stop_forced(const struct singleton *);
msec_t sg_child_stop_wait(const struct singleton *);
/* What to do with the child now; the core assumes it is done. */
enum proc_action sg_child_action(struct singleton *, msec_t now);
/* Whether sg_child_action would start the child now (nothing changes). */
int sg_child_start_due(const struct singleton *, msec_t now);
/* The child exited (or could not be started). */
void sg_child_exited(struct singleton *, msec_t now);
/* What to do with the standby now (call before sg_child_action); assumed done. */
enum proc_action sg_standby_action(struct singleton *, msec_t now);
/* The standby exited (or could not be started). */
void sg_standby_exited(struct singleton *, msec_t now);
/* Stopped for good and nothing of ours runs any more: singletond may exit. */
int sg_done(const struct singleton *);

/* Whether memberd must hold this node's exit (a hand-over is under way). */
int sg_hold_exit(const struct singleton *);
/*
 * Whether this node should run the standby command: a member with the role
 * that does not run the singleton and may run it one day.
 */
int sg_standby_wanted(const struct singleton *);
/* Whether requests may go to the child (runs, and is not being handed over). */
int sg_serving(const struct singleton *);
const char *sg_state_name(enum sg_state);
/* Takes the outbox (valid until the next call into the core). */
struct sg_out *sg_outbox(struct singleton *, int *n);

#endif
