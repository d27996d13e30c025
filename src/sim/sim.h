/*
 * sim.h: akc-sim, N nodes of the real cores in one process. engine.c is the
 * shell each node gets (memberd's and leaderd's, on a virtual clock over
 * simnet); scenario.c says what happens when; sim.c reads the options and
 * prints what was measured.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "downing.h"
#include "machine.h"
#include "node.h"
#include "simnet.h"

#define SIM_WALL0	1700000000000LL	/* the nodes' wall clock at virtual time 0 */
#define SIM_PORT	2552
#define SIM_MAX_NODES	60000
#define SIM_MAX_VICTIMS	1024
#define SIM_MAX_THREADS	64

struct simnode {
	struct node node;
	struct downing *down;	/* leaderd's policy state (NULL without a strategy) */
	int alive;		/* its processes run */
	int live;		/* alive as the other nodes see it: set between windows */
	uint64_t rng;		/* the delays of what it sends (simnet_delay) */
	/* what its events in a window scheduled, pushed in order after it (engine.c) */
	struct event *pend;
	int npend, pendcap;
	uint64_t wmark;		/* the window it has events in, and its slot there */
	int wslot;
	int ever_started;
	int incarnation;
	int group;		/* for partitions */
	msec_t paused_until;	/* a CPU pause: nothing runs, messages wait */
	msec_t ever_paused;	/* end of its last pause (-1: never paused) */
	uint64_t gen;		/* of its newest EV_WAKE */
	msec_t wake;
	/* leaderd's shell (leaderd.c) */
	uint64_t pub_seq;	/* the state memberd last "published" */
	msec_t lnext;		/* next leaderd round */
	int settled, was_leader;
	uint64_t applied_seq;
	msec_t stuck_since;
	/* measures */
	uint64_t obs_seq;
	int nup;		/* members Up in its view */
	msec_t all_up_at, detect_at, removed_at, healed_at;
	msec_t downseen_at;	/* first saw every victim Down (or gone) after akc-down */
	uint64_t last_bytes;	/* sent_bytes at the last sample */
	uint64_t welcome_bytes, last_welcome;	/* welcomes sent, and at the last sample */
	uint64_t state_bytes, last_state;	/* gossip and status sent (welcomes apart) */
	/* the leave scenario: when it saw the leaver Leaving, Exiting, gone (itself: Exiting) */
	msec_t left_at, exiting_at, gone_at;
	/* FIFO per link, as TCP: the last arrival time scheduled to each peer (us with --cores) */
	struct { int dst; msec_t at; } *fifo;
	int nfifo, fifocap;
	/* the machine model (--cores): what waits in its sockets, what its turn sends */
	struct event *inbox;
	int ninbox, inboxcap;
	struct held { int dst; char *txt; size_t len, plen; struct seg *seg; size_t segat; } *held;
	int nheld, heldcap;
	int queued, running, timer_due;
	uint64_t cpu_gen;	/* a kill or restart orphans the turn on a core */
	uint64_t turn_msgs, turn_bytes;
	usec_t turn_cost;
	usec_t turn_extra;	/* the turn's costs before its sends: a start, the leader's state read */
	usec_t turn_tail;	/* and after them: a version's (machine.h) */
	uint64_t read_seq;	/* the state the leader's leaderd last read (its state cost) */
	int read_conv;		/* and whether it had convergence */
	/*
	 * The model: the leader's leaderd is a process of its own. Its round on
	 * a state it must read waits for a turn (round_ready: the next turn runs
	 * it), and memberd applies its decisions in a turn after that (acts:
	 * the request, in the inbox as a command), as the real pair does over
	 * memberd's control socket.
	 */
	int round_ready;
	struct cJSON *acts;
};

/* Delays pooled over events and observers (ms), for min/median/max. */
struct msvec {
	msec_t *v;
	int n, cap, missed;
};

/*
 * Where akc-sim's time goes (monotonic clock around each step of the
 * shell; the simulation is one thread, so on a free core it is its CPU):
 * parsing received JSON, the core's handling of each kind of message,
 * printing the outbox, the nodes' timers, leaderd's rounds, the measures.
 */
enum sim_phase {
	PH_PARSE, PH_GOSSIP, PH_STATUS, PH_WELCOME, PH_JOIN, PH_HEARTBEAT, PH_OTHER,
	PH_PRINT, PH_TICK, PH_LEADER, PH_OBSERVE, PH_N
};

/*
 * What the nodes' events add up as they run: each thread counts in its
 * own, and the run's (struct sim_measure) gets the sums before anything
 * reads them (sim_fold).
 */
struct simctr {
	uint64_t lost, to_dead, total_msgs, total_bytes;
	uint64_t welcomes, welcome_bytes, full_sent_bytes;
	struct traffic by[TK_N];
	struct sizehist sizes;
	double phase_s[PH_N];
};

struct simpar;

struct sim_measure {
	msec_t last_start;
	int goal;		/* members every node should see Up */
	msec_t goal_since;	/* all_up_s counts from here */
	msec_t all_up;		/* -1: not yet */
	uint64_t victims[SIM_MAX_VICTIMS];
	int nvictims;
	msec_t killed_at, down_at, heal_at;
	uint64_t false_unreachable;
	uint64_t *false_pairs;	/* (observer index << 32 | subject index) counted */
	int nfalse, falsecap;
	msec_t idle_from, idle_to;
	uint64_t idle_bytes0, idle_msgs0, idle_bytes, idle_msgs;
	int idle_nodes;
	uint64_t peak_node_bytes_s;
	uint64_t peak_welcome_s, peak_state_s;	/* the same peak, welcomes and the rest of gossip */
	uint64_t lost, to_dead, total_msgs, total_bytes;
	struct traffic by[TK_N];
	double node_seconds;	/* alive node-seconds, for per-node rates */
	struct sizehist sizes;
	long rss0_kib;
	double phase_s[PH_N];
	struct state_stats ss;	/* of incarnations gone (restarts); the live ones' are in node */
	uint64_t welcomes, welcome_bytes, full_sent_bytes;	/* full states sent: welcomes, all */
	/* the leave scenario: the leaver now, when akc-leave ran, each phase's delays */
	uint64_t leaver;
	msec_t leave_at;
	int leaves;
	struct msvec lv_removed, lv_left, lv_exiting, lv_self, lv_dec_exiting, lv_dec_removed;
	/* the machine model at the cold start's all Up: CPU (us), messages, runnable area */
	double join_cpu, join_area;
	double idle_cpu0, idle_cpu;	/* the model's CPU (us) at the idle window's start, in it */
	uint64_t join_msgs;
	double join_sampled;	/* sent per node, over bench/nodes.sh's sampled nodes */
	usec_t join_at;
};

struct sim {
	int n;			/* nodes (slots) */
	uint64_t seed;
	struct akc_config cfg;	/* shared: the cores read only settings after node_init */
	struct simnode *nodes;
	struct evheap q;
	struct simnet net;
	uint64_t rng;		/* scenario choices */
	msec_t now, end;
	size_t frame_overhead;
	struct sim_measure m;
	FILE *csv;
	uint64_t csv_msgs, csv_bytes, csv_gossip, csv_hb;	/* totals at the last row */
	double csv_area, csv_cpu;	/* the machine model's, at the last row */
	int verbose;
	struct machine mach;	/* --cores: cores = 0, no model */
	usec_t now_us;		/* now in us (the model's turns are shorter than a ms) */
	int turn;		/* the node whose turn is running (its sends are held), or -1 */
	/* uid -> node index */
	uint64_t *uidk;
	int *uidv;
	size_t uidcap, nuid;
	/* the windows (engine.c): threads, and whether the run can use them */
	int threads;		/* what it runs on (1 when windows cannot be used) */
	int windowed;		/* events of one ms run as a window, pushed after it */
	int in_window;		/* a window's nodes are running: pushes wait (node's pend) */
	struct simctr *ctr;	/* one a thread */
	struct simpar *par;
};

/* engine.c */
void sim_init(struct sim *, int n, uint64_t seed, const struct akc_config *);
/*
 * Runs on threads threads (0: the machine's cores) where the windows can
 * be used (no machine model, a latency of at least 1 ms), else on one;
 * returns the threads it will use and why not more in *why (or NULL).
 */
int sim_threads(struct sim *, int threads, msec_t latency, const char **why);
/* Adds the threads' counters to s->m (done before every scenario step and sample). */
void sim_fold(struct sim *);
void sim_free(struct sim *);
void sim_addr(int i, char *buf, size_t len);
void sim_start_node(struct sim *, int i);
/* Kill -9: the node stops where it is, nothing said. */
void sim_kill_node(struct sim *, int i);
void sim_pause_node(struct sim *, int i, msec_t until);
void sim_schedule(struct sim *, enum ev_kind, int node, msec_t at);
/* Runs events until end; the scenario steps run as their EV_STEP events come. */
void sim_run(struct sim *, void (*step)(struct sim *, int arg));
int sim_node_of_uid(const struct sim *, uint64_t uid);
/* akc-down TARGET on node i (an operator's command). */
int sim_down(struct sim *, int i, uint64_t victim);
/* akc-leave on node i (it leaves itself). */
int sim_leave(struct sim *, int i);
void msvec_add(struct msvec *, msec_t);
/* The first live member, the one an operator's tools talk to. */
int sim_operator(const struct sim *);
void sim_sample(struct sim *);
long sim_rss_kib(void);
double sim_clock(void);
void sim_ss_add(struct state_stats *a, const struct state_stats *b);

#endif
