/*
 * sim.c: akc-sim's main: options, the settings every simulated node runs
 * with, the scenario's timeline, and the summary (JSON or text), CSV and
 * plots. The protocol itself is the cores' (engine.c runs them).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "json.h"
#include "log.h"
#include "sim.h"
#include "xmalloc.h"

#define USAGE	"akc-sim [-c FILE] [--set SECTION.KEY=VALUE]... [--nodes N] [--seed S]\n" \
	"               [--scenario NAME] [options] [--json] [--csv FILE] [--plot DIR]"

enum scenario { SC_KILL, SC_START, SC_IDLE, SC_RACK, SC_PARTITION, SC_ONEWAY, SC_RESTART,
	SC_PAUSE, SC_ADD, SC_LEAVE };
static const char *scenario_names[] = { "kill", "start", "idle", "rack", "partition",
	"one-way", "restart", "pause", "add", "leave", NULL };

/*
 * The machine model's defaults (--msg-cost, --byte-cost). The message's,
 * calibrated once at 100 nodes (bench/README.md, "akc-sim against real
 * nodes, with a machine"): in bench/nodes.sh 100 10 30 the memberds spent
 * 9.4 core-s (kernel included) on ~140,000 messages sent and as many
 * received in the join, 33.5 us per message handled, ~650 bytes each,
 * 30 us of it the message's. The byte's, measured over the removals of
 * four real runs at 100 and 200 ("akc-sim against 200 real nodes after the
 * broadcast"): the members' memberd CPU less the idle rate, their versions
 * and 30 us a message, over the bytes they handled: 10 to 18 ns, 14 on
 * the mean (simcpu's 5 ns was akc-sim's own JSON work and the kernel's
 * copies, too cheap for the full states of a removal).
 */
#define MSG_COST_US	30.0
#define BYTE_COST_US	0.014
/*
 * The costs outside the messages (--version-cost, --state-cost,
 * --start-cost; machine.h), measured on real daemons (bench/README.md,
 * "akc-sim against 200 real nodes after the broadcast"): perf over 6
 * removals at 200 nodes put memberd's publish (event diff, the copy of the
 * published state, notices), its membership memory's update and write at
 * 108-131 us a version published (a uprobe on events_diff counted them):
 * 0.6 us a member. The leader's state reads, memberd's answer and all of
 * leaderd: 2 ms a read at 200, 10 us a member. A start: memberd and
 * leaderd 5.7 ms (schedstat, bench/startcost.sh), the bench's loop around
 * them 8.4 ms: 14 ms.
 */
#define VERSION_COST_US	0.6
#define STATE_COST_US	10.0
#define START_COST_US	14000.0

struct opts {
	int n, seeds, k, add, json, cores, threads;
	double msg_cost, byte_cost, version_cost, state_cost, start_cost;
	uint64_t seed;
	enum scenario sc;
	msec_t window, settle, duration, hold, pause, down_after, gap, latency, jitter;
	double loss;
	const char *conf, *csv, *plot, *starts;
	msec_t *start_at;	/* --starts: each node's start, ms from the first */
	char *sets;		/* "[section]\nkey = value\n" each */
	size_t setslen;
};

enum action { A_START, A_WAIT_UP, A_EVENT, A_DOWN, A_WAIT_REMOVED, A_HEAL, A_RESTART,
	A_UNPAUSE, A_IDLE_END, A_LEAVE, A_WAIT_LEFT };

struct step {
	msec_t at;
	enum action a;
	int arg;
};

static struct opts o;
static struct step *steps;
static int nsteps, stepcap;
static int *victims_ix;		/* node indexes hit by the event */
static int nvix;

static void
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "akc-sim: %s\n", why);
	fprintf(stderr, "usage: %s\n(akc-sim --help for more)\n", USAGE);
	exit(2);
}

static void
help(void)
{
	printf("usage: %s\n\n"
"Runs N simulated akc nodes in one process: the same memberd and leaderd cores\n"
"the daemons run, on a virtual clock, over a simulated network.\n\n"
"Scenarios (--scenario, default kill): every one starts N nodes evenly over\n"
"--window (10s), waits --settle (30s) from the last start, then:\n"
"  kill       kills one node (no goodbye); once every node sees it unreachable\n"
"             an operator runs akc-down on it (after --down-after, 0s)\n"
"  rack       the same for --kill K nodes at once (a rack)\n"
"  partition  splits --kill K nodes (default N/2) from the rest both ways for\n"
"             --hold (10s), then heals\n"
"  one-way    the same, but only what the big side sends to the K is lost\n"
"  restart    a rolling restart of --kill K nodes (default all), one every\n"
"             --gap (2s); each comes back as a new incarnation\n"
"  pause      stops --kill K nodes' processes for --pause (5s), a GC pause\n"
"  add        starts --add K more nodes at once in the running cluster\n"
"  leave      --kill K nodes (default 1) run akc-leave one after another: each\n"
"             once the one before is removed everywhere, after --gap (2s)\n"
"  idle       nothing: traffic while idle\n"
"  start      the cold start only: stops once every node sees all N Up\n\n"
"Options:\n"
"  -n, --nodes N        simulated nodes (default 50)\n"
"  -s, --seed S         random seed: the same seed gives the same run (default 1)\n"
"  -c, --config FILE    akc.conf settings for every node ([node] name and address\n"
"                       and [cluster] seed-nodes are the simulator's)\n"
"      --set S.K=V      one setting, e.g. failure-detector.heartbeat-interval=500ms\n"
"      --seeds K        seed nodes: the first K (default 3)\n"
"      --window DUR     --settle DUR  --duration DUR (after the event, 60s)\n"
"      --starts FILE    each node's start, ms after the first, one a line (in\n"
"                       place of --window's even spread; bench/nodes.sh writes it)\n"
"      --kill K  --add K  --hold DUR  --pause DUR  --gap DUR  --down-after DUR\n"
"      --latency DUR    one-way latency base (default 1ms)\n"
"      --jitter DUR     plus uniform 0..DUR (default 2ms)\n"
"      --loss P         probability a message is lost (default 0)\n"
"      --cores C        the machine model: C cores serve the nodes' processes,\n"
"                       each turn charged --msg-cost US per message received or\n"
"                       sent (default 30) and --byte-cost US per byte (0.014);\n"
"                       --version-cost US per member for a version a node takes\n"
"                       or makes (0.6), --state-cost US per member for the\n"
"                       leader's state read (10), --start-cost US for a node's\n"
"                       start (14000)\n"
"                       0 (default): every node runs at once on a free CPU\n"
"      --threads T      run the nodes on T threads (default: the machine's\n"
"                       cores); the run is the same whatever T. One thread with\n"
"                       --cores or a latency under 1ms (-v says so)\n"
"      --json           print the summary as one JSON object\n"
"      --csv FILE       time series, one row per simulated second\n"
"      --plot DIR       the series and gnuplot plots (PNG) of convergence and traffic\n"
"  -v                   progress on stderr\n\n"
"Capacity planning: at 2000 nodes, with a 500 ms heartbeat and a 2 s acceptable\n"
"pause, what detection time and idle bandwidth per node do I get?\n\n"
"  akc-sim --nodes 2000 --set failure-detector.heartbeat-interval=500ms \\\n"
"      --set failure-detector.acceptable-heartbeat-pause=2s --json |\n"
"      jq '{detection_s, idle_bytes_per_node_s, peak_bytes_per_node_s}'\n\n"
"See akc-sim(1) for every field of the summary.\n", USAGE);
	exit(0);
}

static long
num(const char *s, const char *what, long min, long max)
{
	char *end, why[160];
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		snprintf(why, sizeof(why), "bad %s '%s' (expected %ld to %ld)", what, s, min, max);
		usage(why);
	}
	return v;
}

/*
 * --starts FILE: when each node starts, ms after the first, one a line in
 * node order, in any order of time (bench/nodes.sh's STARTS_OUT writes them
 * as its loop started the real nodes): to replay a real start instead of
 * --window's even one.
 */
static void
load_starts(void)
{
	FILE *f = fopen(o.starts, "r");
	char line[64], *end;
	long long v;
	int i = 0, ln = 0;

	if (f == NULL) {
		log_err("cannot open '%s'", o.starts);
		exit(1);
	}
	o.start_at = xcalloc((size_t)o.n, sizeof(*o.start_at));
	while (i < o.n && fgets(line, sizeof(line), f) != NULL) {
		ln++;
		line[strcspn(line, "\r\n")] = '\0';
		errno = 0;
		v = strtoll(line, &end, 10);
		if (line[0] == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 86400000) {
			log_errx("%s:%d: expected ms after the first start (0 to 86400000), not '%s'",
			    o.starts, ln, line);
			exit(1);
		}
		o.start_at[i++] = v;
	}
	fclose(f);
	if (i < o.n) {
		log_errx("%s: %d starts for %d nodes", o.starts, i, o.n);
		exit(1);
	}
}

/* A cost in us: a number from 0 to 1e6. */
static double
cost(const char *s, const char *what)
{
	char *end, why[160];
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(v >= 0 && v <= 1e6)) {
		snprintf(why, sizeof(why), "bad %s '%s' (expected microseconds from 0 to 1000000)",
		    what, s);
		usage(why);
	}
	return v;
}

static msec_t
dur(const char *s, const char *what)
{
	msec_t d = config_parse_duration(s);
	char why[160];

	if (d < 0) {
		snprintf(why, sizeof(why), "bad duration '%s' for %s (e.g. 500ms, 2s, 1m)", s, what);
		usage(why);
	}
	return d;
}

/* --set SECTION.KEY=VALUE becomes "[SECTION]\nKEY = VALUE\n", checked on its own first. */
static void
add_set(const char *arg)
{
	const char *eq = strchr(arg, '='), *dot;
	char buf[4096], why[256];
	struct akc_config c;
	FILE *f;
	int n;

	dot = eq != NULL ? memchr(arg, '.', (size_t)(eq - arg)) : NULL;
	if (eq == NULL || dot == NULL || dot == arg || dot + 1 == eq) {
		snprintf(why, sizeof(why), "bad --set '%s' (expected SECTION.KEY=VALUE)", arg);
		usage(why);
	}
	n = snprintf(buf, sizeof(buf), "[%.*s]\n%.*s = %s\n", (int)(dot - arg), arg,
	    (int)(eq - dot - 1), dot + 1, eq + 1);
	if (n < 0 || (size_t)n >= sizeof(buf) - 100 || strchr(eq + 1, '\n') != NULL)
		usage("--set value too long");
	snprintf(buf + n, sizeof(buf) - (size_t)n, "[node]\nname = n0\naddress = tcp://10.0.0.0:%d\n",
	    SIM_PORT);
	if ((f = fmemopen(buf, strlen(buf), "r")) == NULL)
		fatal("fmemopen");
	snprintf(why, sizeof(why), "--set %s", arg);
	if (config_read(f, why, &c) != 0)
		exit(2);
	fclose(f);
	buf[n] = '\0';
	o.sets = xreallocarray(o.sets, o.setslen + (size_t)n + 1, 1);
	memcpy(o.sets + o.setslen, buf, (size_t)n + 1);
	o.setslen += (size_t)n;
}

/* The settings every node runs with: FILE, then the --set ones, then the simulator's own. */
static void
load_config(struct akc_config *cfg)
{
	char *text = NULL, addr[CONF_ADDR_MAX];
	size_t len = 0;
	FILE *f;
	int i, rc;

	if ((f = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	if (o.conf != NULL) {
		FILE *in = fopen(o.conf, "r");
		char buf[8192];
		size_t r;

		if (in == NULL) {
			log_err("cannot open '%s'", o.conf);
			exit(1);
		}
		while ((r = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, r, f);
		fclose(in);
		fputc('\n', f);
	}
	if (o.sets != NULL)
		fputs(o.sets, f);
	sim_addr(0, addr, sizeof(addr));
	fprintf(f, "[node]\nname = n0\naddress = %s\n[cluster]\nseed-nodes = ", addr);
	for (i = 0; i < o.seeds; i++) {
		sim_addr(i, addr, sizeof(addr));
		fprintf(f, "%s%s", i ? ", " : "", addr);
	}
	fputc('\n', f);
	fclose(f);
	if ((f = fmemopen(text, len, "r")) == NULL)
		fatal("fmemopen");
	rc = config_read(f, o.conf != NULL ? o.conf : "(settings)", cfg);
	fclose(f);
	free(text);
	if (rc != 0)
		exit(1);
}

static void
add_step(msec_t at, enum action a, int arg)
{
	if (nsteps == stepcap) {
		stepcap = stepcap ? 2 * stepcap : 256;
		steps = xreallocarray(steps, stepcap, sizeof(*steps));
	}
	steps[nsteps].at = at;
	steps[nsteps].a = a;
	steps[nsteps].arg = 0;
	steps[nsteps].arg = arg;
	nsteps++;
}

/* ---- the scenario's steps ---- */

static void run_step(struct sim *, int);

static void
again(struct sim *s, int k, msec_t after)
{
	steps[k].at = s->now + after;
	sim_schedule(s, EV_STEP, k, steps[k].at);
}

static msec_t
max_at(const struct sim *s, int which)
{
	msec_t m = -1, t;
	int i;

	for (i = 0; i < s->n; i++) {
		const struct simnode *sn = &s->nodes[i];

		if (!sn->alive || sn->node.phase != PHASE_MEMBER)
			continue;
		if (which == 0 && s->m.nvictims > 0) {
			int v, hit = 0;

			for (v = 0; v < s->m.nvictims; v++)
				hit |= sn->node.self.uid == s->m.victims[v];
			if (hit)
				continue;
		}
		t = which == 0 ? sn->detect_at : which == 1 ? sn->removed_at :
		    which == 2 ? sn->all_up_at : sn->healed_at;
		if (t < 0)
			return -1;
		if (t > m)
			m = t;
	}
	return m;
}

static void
pick_victims(struct sim *s)
{
	int k = o.k, i, start;

	victims_ix = xcalloc((size_t)s->n, sizeof(*victims_ix));
	if (o.sc == SC_RESTART) {
		for (i = 0; i < k; i++)
			victims_ix[nvix++] = i;
		return;
	}
	/* one rack: k consecutive nodes, not the first seed (the operator's) */
	start = o.seeds >= s->n ? 1 : o.seeds;
	if (start + k > o.n)
		start = o.n - k;
	if (start < 1)
		start = 1;
	start += (int)(sim_rand(&s->rng) % (uint64_t)(o.n - k - start + 1));
	for (i = 0; i < k && start + i < o.n; i++)
		victims_ix[nvix++] = start + i;
}

static void
event(struct sim *s)
{
	int i;

	/* the cold start's outcome, measured before anything else happens */
	if (s->m.all_up < 0) {
		msec_t t = max_at(s, 2);

		if (t >= 0)
			s->m.all_up = t;
	}
	pick_victims(s);
	s->m.killed_at = s->now;
	switch (o.sc) {
	case SC_KILL:
	case SC_RACK:
		for (i = 0; i < nvix && s->m.nvictims < SIM_MAX_VICTIMS; i++) {
			s->m.victims[s->m.nvictims++] = s->nodes[victims_ix[i]].node.self.uid;
			sim_kill_node(s, victims_ix[i]);
		}
		add_step(s->now + 100, A_DOWN, 0);
		sim_schedule(s, EV_STEP, nsteps - 1, s->now + 100);
		break;
	case SC_PARTITION:
	case SC_ONEWAY:
		s->m.killed_at = -1;
		for (i = 0; i < nvix; i++)
			s->nodes[victims_ix[i]].group = 1;
		simnet_cut(&s->net, 0, 1, 1);
		if (o.sc == SC_PARTITION)
			simnet_cut(&s->net, 1, 0, 1);
		add_step(s->now + o.hold, A_HEAL, 0);
		sim_schedule(s, EV_STEP, nsteps - 1, s->now + o.hold);
		break;
	case SC_PAUSE:
		s->m.killed_at = -1;
		for (i = 0; i < nvix; i++)
			sim_pause_node(s, victims_ix[i], s->now + o.pause);
		add_step(s->now + o.pause, A_HEAL, 0);
		sim_schedule(s, EV_STEP, nsteps - 1, s->now + o.pause);
		break;
	case SC_RESTART:
		s->m.killed_at = -1;
		s->m.goal_since = s->now + (nvix - 1) * o.gap + o.gap / 2;
		for (i = 0; i < nvix; i++) {
			add_step(s->now + i * o.gap, A_RESTART, victims_ix[i]);
			sim_schedule(s, EV_STEP, nsteps - 1, s->now + i * o.gap);
		}
		break;
	case SC_LEAVE:
		s->m.killed_at = -1;
		add_step(s->now, A_LEAVE, 0);
		sim_schedule(s, EV_STEP, nsteps - 1, s->now);
		break;
	case SC_ADD:
		s->m.killed_at = -1;
		s->m.goal = o.n + o.add;
		s->m.goal_since = s->now;
		for (i = 0; i < s->n; i++)
			s->nodes[i].all_up_at = -1, s->nodes[i].obs_seq = (uint64_t)-1;
		for (i = o.n; i < o.n + o.add; i++)
			sim_start_node(s, i);
		s->m.all_up = -1;
		add_step(s->now + 100, A_WAIT_UP, 1);
		sim_schedule(s, EV_STEP, nsteps - 1, s->now + 100);
		break;
	default:
		break;
	}
}

/* The machine model's figures at the cold start's all Up (bench/nodes.sh's join). */
static void
join_measure(struct sim *s)
{
	uint64_t sum;
	int i, k, step;
	if (s->mach.cores == 0 || s->m.join_at >= 0)
		return;
	s->m.join_at = s->now_us;
	s->m.join_cpu = s->mach.cpu;
	s->m.join_msgs = s->m.total_msgs;
	/* bench/nodes.sh samples every N/10th node from the first (n1, a seed and the leader) */
	step = o.n / 10 > 0 ? o.n / 10 : 1;
	for (i = 0, k = 0, sum = 0; i < o.n; i += step, k++)
		sum += s->nodes[i].node.sent_msgs;
	s->m.join_sampled = k > 0 ? (double)sum / k : 0;
	s->m.join_area = machine_load(&s->mach, s->now_us) * (double)s->now_us;
}

/* akc-leave on the next leaver (the steps' arg), as bench/nodes.sh's LEAVES. */
static void
leave(struct sim *s, int k)
{
	struct simnode *sn = &s->nodes[victims_ix[steps[k].arg]];
	int i;

	if (!sn->alive || sn->node.phase != PHASE_MEMBER) {
		s->end = s->now + 1;
		return;
	}
	s->m.leaver = sn->node.self.uid;
	s->m.leave_at = s->now;
	for (i = 0; i < s->n; i++) {
		s->nodes[i].left_at = s->nodes[i].exiting_at = s->nodes[i].gone_at = -1;
		s->nodes[i].obs_seq = (uint64_t)-1;
	}
	sim_leave(s, victims_ix[steps[k].arg]);
	add_step(s->now + 10, A_WAIT_LEFT, steps[k].arg);
	sim_schedule(s, EV_STEP, nsteps - 1, s->now + 10);
}

/* Whether every other live member has the leaver gone from its view. */
static int
left_everywhere(const struct sim *s)
{
	int i;

	for (i = 0; i < s->n; i++) {
		const struct simnode *sn = &s->nodes[i];

		if (sn->alive && sn->node.phase == PHASE_MEMBER && sn->node.self.uid != s->m.leaver &&
		    sn->gone_at < 0)
			return 0;
	}
	return 1;
}

/*
 * One leave's delays, per other member, into the pooled figures: Leaving,
 * Exiting and gone seen; the leader's decisions are the first member to
 * hold Exiting and to drop the leaver (the leader changes them, the others
 * learn them from it); the leaver's own Exiting.
 */
static void
leave_record(struct sim *s)
{
	msec_t t0 = s->m.leave_at, dex = -1, drm = -1;
	int i;

	s->m.leaves++;
	for (i = 0; i < s->n; i++) {
		const struct simnode *sn = &s->nodes[i];

		if (sn->node.self.uid == s->m.leaver && sn->ever_started) {
			if (sn->exiting_at >= 0)
				msvec_add(&s->m.lv_self, sn->exiting_at - t0);
			continue;
		}
		if (!sn->alive || sn->node.phase != PHASE_MEMBER)
			continue;
		if (sn->gone_at >= 0)
			msvec_add(&s->m.lv_removed, sn->gone_at - t0);
		else
			s->m.lv_removed.missed++;
		if (sn->left_at >= 0)
			msvec_add(&s->m.lv_left, sn->left_at - t0);
		else
			s->m.lv_left.missed++;
		if (sn->exiting_at >= 0)
			msvec_add(&s->m.lv_exiting, sn->exiting_at - t0);
		else
			s->m.lv_exiting.missed++;
		if (sn->exiting_at >= 0 && (dex < 0 || sn->exiting_at < dex))
			dex = sn->exiting_at;
		if (sn->gone_at >= 0 && (drm < 0 || sn->gone_at < drm))
			drm = sn->gone_at;
	}
	if (dex >= 0)
		msvec_add(&s->m.lv_dec_exiting, dex - t0);
	if (drm >= 0)
		msvec_add(&s->m.lv_dec_removed, drm - t0);
	s->m.leave_at = -1;
}

static void
run_step(struct sim *s, int k)
{
	struct step *st = &steps[k];
	msec_t t;
	int i, op;

	switch (st->a) {
	case A_START:
		sim_start_node(s, st->arg);
		break;
	case A_WAIT_UP:
		/* polls: when does every node see all of them Up? */
		if (s->m.all_up >= 0)
			break;
		if ((t = max_at(s, 2)) >= 0) {
			s->m.all_up = t;
			if (st->arg == 0)
				join_measure(s);
			if (o.sc == SC_START || st->arg == 1)
				s->end = s->now;
			break;
		}
		again(s, k, 100);
		break;
	case A_EVENT:
		event(s);
		break;
	case A_DOWN:
		/* the operator runs akc-down once every node sees the victims unreachable */
		if (max_at(s, 0) < 0 && s->now - s->m.killed_at < o.duration) {
			again(s, k, 100);
			break;
		}
		if (st->arg == 0 && o.down_after > 0) {
			st->arg = 1;
			again(s, k, o.down_after);
			break;
		}
		if ((op = sim_operator(s)) < 0)
			break;
		s->m.down_at = s->now;
		for (i = 0; i < s->m.nvictims; i++)
			sim_down(s, op, s->m.victims[i]);
		add_step(s->now + 10, A_WAIT_REMOVED, 0);
		sim_schedule(s, EV_STEP, nsteps - 1, s->now + 10);
		break;
	case A_WAIT_REMOVED:
		if (max_at(s, 1) >= 0)
			s->end = s->now + 1;
		else
			again(s, k, 10);
		break;
	case A_HEAL:
		if (s->m.heal_at < 0) {
			simnet_heal_all(&s->net);
			s->m.heal_at = s->now;
			for (i = 0; i < s->n; i++)
				s->nodes[i].obs_seq = (uint64_t)-1, s->nodes[i].healed_at = -1;
		}
		if (max_at(s, 3) >= 0 && s->now > s->m.heal_at)
			s->end = s->now + 1;
		else
			again(s, k, 50);
		break;
	case A_RESTART:
		sim_kill_node(s, st->arg);
		sim_start_node(s, st->arg);
		for (i = 0; i < s->n; i++)
			s->nodes[i].all_up_at = -1, s->nodes[i].obs_seq = (uint64_t)-1;
		s->m.all_up = -1;
		if (st->arg == victims_ix[nvix - 1]) {
			s->m.goal_since = s->now;
			add_step(s->now + 100, A_WAIT_UP, 1);
			sim_schedule(s, EV_STEP, nsteps - 1, s->now + 100);
		}
		break;
	case A_IDLE_END:
		s->end = s->now;
		break;
	case A_LEAVE:
		leave(s, k);
		break;
	case A_WAIT_LEFT:
		if (!left_everywhere(s) && s->now - s->m.leave_at < o.duration) {
			again(s, k, 10);
			break;
		}
		leave_record(s);
		if (st->arg + 1 < nvix) {
			add_step(s->now + o.gap, A_LEAVE, st->arg + 1);
			sim_schedule(s, EV_STEP, nsteps - 1, s->now + o.gap);
		} else
			s->end = s->now + 1;
		break;
	default:
		break;
	}
}

/* The timeline: starts, then the event at last start + settle. */
static void
plan(struct sim *s)
{
	msec_t last = 0, t0;
	int i;

	for (i = 0; i < o.n; i++) {
		msec_t at = o.start_at != NULL ? o.start_at[i] : o.n > 1 ? o.window * i / (o.n - 1) : 0;

		add_step(at, A_START, i);
		if (at > last)
			last = at;
	}
	s->m.last_start = last;
	s->m.goal = o.n;
	s->m.goal_since = last;
	add_step(last, A_WAIT_UP, 0);
	t0 = (last + o.settle + 999) / 1000 * 1000;
	s->m.idle_to = t0;
	s->m.idle_from = t0 - 10000 > (last + 999) / 1000 * 1000 ? t0 - 10000 :
	    (last + 999) / 1000 * 1000;
	if (s->m.idle_from >= s->m.idle_to)
		s->m.idle_from = -1;
	s->end = t0 + o.duration;
	if (o.sc == SC_START)
		s->end = last + o.duration + o.settle;
	else if (o.sc == SC_IDLE)
		add_step(t0, A_IDLE_END, 0);
	else
		add_step(t0 + 1, A_EVENT, 0);	/* after the idle window's last sample */
	for (i = 0; i < nsteps; i++)
		sim_schedule(s, EV_STEP, i, steps[i].at);
	sim_schedule(s, EV_SAMPLE, 0, 0);
}

/* ---- output ---- */

static double
secs(msec_t ms)
{
	return (double)ms / 1000.0;
}

static void
add_secs(cJSON *o_, const char *k, msec_t ms)
{
	if (ms < 0)
		cJSON_AddNullToObject(o_, k);
	else
		cJSON_AddNumberToObject(o_, k, secs(ms));
}

static int
mscmp(const void *a, const void *b)
{
	msec_t x = *(const msec_t *)a, y = *(const msec_t *)b;

	return x < y ? -1 : x > y;
}

/* min/median/max over the live members of field which (0 detection, 1 removal, 3 heal, 4 Down seen) from t0. */
static cJSON *
spread(const struct sim *s, int which, msec_t t0)
{
	msec_t *v;
	int i, n = 0, missed = 0;
	cJSON *r;

	if (t0 < 0)
		return cJSON_CreateNull();
	v = xcalloc((size_t)s->n + 1, sizeof(*v));
	for (i = 0; i < s->n; i++) {
		const struct simnode *sn = &s->nodes[i];
		msec_t t;
		int k, hit = 0;

		if (!sn->alive || sn->node.phase != PHASE_MEMBER)
			continue;
		for (k = 0; k < s->m.nvictims; k++)
			hit |= sn->node.self.uid == s->m.victims[k];
		if (hit)
			continue;
		t = which == 0 ? sn->detect_at : which == 1 ? sn->removed_at :
		    which == 4 ? sn->downseen_at : sn->healed_at;
		if (t < 0)
			missed++;
		else
			v[n++] = t - t0;
	}
	r = cJSON_CreateObject();
	qsort(v, (size_t)n, sizeof(*v), mscmp);
	add_secs(r, "min", n ? v[0] : -1);
	add_secs(r, "median", n ? v[n / 2] : -1);
	add_secs(r, "max", n && !missed ? v[n - 1] : -1);
	cJSON_AddNumberToObject(r, "observers", n);
	cJSON_AddNumberToObject(r, "missed", missed);
	free(v);
	return r;
}

/*
 * "full_states": what full states cost, per node (issue 13's measure of
 * where a start's work grows with N): sent by why (welcomes counted by the
 * shell), read past the head, member records read, versions made, taken
 * and merged; "phase_s": where akc-sim's time went (engine.c's phases).
 */
static void
full_states(const struct sim *s, cJSON *r)
{
	static const char *why[SW_N] = { "push", "answer", "round", "other", "catchup" };
	static const char *ph[PH_N] = { "parse", "gossip", "status", "welcome", "join",
	    "heartbeat", "other", "print", "tick", "leader", "observe" };
	struct state_stats ss = s->m.ss;
	double nn = s->n > 0 ? s->n : 1;
	cJSON *t, *k;
	int i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].ever_started)
			sim_ss_add(&ss, &s->nodes[i].node.ss);
	t = cJSON_AddObjectToObject(r, "full_states");
	k = cJSON_AddObjectToObject(t, "sent_per_node");
	for (i = 0; i < SW_N; i++)
		cJSON_AddNumberToObject(k, why[i], round(ss.sent[i] / nn * 100) / 100);
	cJSON_AddNumberToObject(k, "welcome", round(s->m.welcomes / nn * 100) / 100);
	cJSON_AddNumberToObject(t, "bytes_per_node", round(s->m.full_sent_bytes / nn));
	cJSON_AddNumberToObject(t, "heads_per_node", round(ss.heads / nn * 100) / 100);
	cJSON_AddNumberToObject(t, "full_reads_per_node", round(ss.full_reads / nn * 100) / 100);
	cJSON_AddNumberToObject(t, "records_per_node", round(ss.records / nn));
	cJSON_AddNumberToObject(t, "made_per_node", round(ss.made / nn * 100) / 100);
	cJSON_AddNumberToObject(t, "adopted_per_node", round(ss.adopted / nn * 100) / 100);
	cJSON_AddNumberToObject(t, "merged_per_node", round(ss.merged / nn * 100) / 100);
	/* the same counters as akc-status's "gossip", per node */
	cJSON_AddItemToObject(t, "gossip_per_node", node_gossip_json(&ss, nn));
	t = cJSON_AddObjectToObject(r, "phase_s");
	for (i = 0; i < PH_N; i++)
		cJSON_AddNumberToObject(t, ph[i], round(s->m.phase_s[i] * 1000) / 1000);
}

/* min/median/max (s) of pooled delays, how many, and the observers that never saw it. */
static cJSON *
pooled(const struct msvec *pv)
{
	cJSON *r = cJSON_CreateObject();
	msec_t *v = xcalloc((size_t)pv->n + 1, sizeof(*v));
	int n = pv->n;

	memcpy(v, pv->v, (size_t)n * sizeof(*v));
	qsort(v, (size_t)n, sizeof(*v), mscmp);
	add_secs(r, "min", n ? v[0] : -1);
	add_secs(r, "median", n ? v[n / 2] : -1);
	add_secs(r, "max", n && !pv->missed ? v[n - 1] : -1);
	cJSON_AddNumberToObject(r, "n", n);
	cJSON_AddNumberToObject(r, "missed", pv->missed);
	free(v);
	return r;
}

/*
 * The leave scenario: akc-leave -> gone from every other member's view,
 * pooled over the leaves and observers as bench/nodes.sh pools them, and
 * the phases it prints (each from the akc-leave).
 */
static void
leave_summary(const struct sim *s, cJSON *r)
{
	cJSON *t;

	cJSON_AddNumberToObject(r, "leaves", s->m.leaves);
	cJSON_AddItemToObject(r, "leave_s", pooled(&s->m.lv_removed));
	t = cJSON_AddObjectToObject(r, "leave_phases_s");
	cJSON_AddItemToObject(t, "leaving_everywhere", pooled(&s->m.lv_left));
	cJSON_AddItemToObject(t, "leader_exiting", pooled(&s->m.lv_dec_exiting));
	cJSON_AddItemToObject(t, "exiting_everywhere", pooled(&s->m.lv_exiting));
	cJSON_AddItemToObject(t, "leaver_exiting", pooled(&s->m.lv_self));
	cJSON_AddItemToObject(t, "leader_removed", pooled(&s->m.lv_dec_removed));
	cJSON_AddItemToObject(t, "removed_everywhere", pooled(&s->m.lv_removed));
}

/*
 * The machine model's figures: its settings, the CPU it charged (all, and
 * in the cold start until all Up, per 100 nodes, as bench/nodes.sh's
 * "join CPU"), the join's messages per node, the load (runnable nodes:
 * mean over the run and over the join, the peak), and the turns.
 */
static void
machine_summary(struct sim *s, cJSON *r)
{
	struct machine *m = &s->mach;
	cJSON *t = cJSON_AddObjectToObject(r, "machine");
	double ju = s->m.join_at > 0 ? (double)s->m.join_at : 0;

	cJSON_AddNumberToObject(t, "cores", m->cores);
	cJSON_AddNumberToObject(t, "msg_cost_us", m->msg_cost);
	cJSON_AddNumberToObject(t, "byte_cost_us", m->byte_cost);
	cJSON_AddNumberToObject(t, "version_cost_us", m->version_cost);
	cJSON_AddNumberToObject(t, "state_cost_us", m->state_cost);
	cJSON_AddNumberToObject(t, "start_cost_us", m->start_cost);
	cJSON_AddNumberToObject(t, "cpu_s", round(m->cpu / 1e3) / 1e3);
	/* of it, outside the messages: versions, the leader's state reads, starts (charged, count) */
	cJSON_AddNumberToObject(t, "version_cpu_s", round(m->version_cpu / 1e3) / 1e3);
	cJSON_AddNumberToObject(t, "versions", (double)m->versions);
	cJSON_AddNumberToObject(t, "state_cpu_s", round(m->state_cpu / 1e3) / 1e3);
	cJSON_AddNumberToObject(t, "state_reads", (double)m->state_reads);
	cJSON_AddNumberToObject(t, "start_cpu_s", round(m->start_cpu / 1e3) / 1e3);
	if (s->m.join_at >= 0) {
		cJSON_AddNumberToObject(t, "join_cpu_per_100_nodes_s",
		    round(s->m.join_cpu / 1e4 / o.n * 1000) / 1000);
		cJSON_AddNumberToObject(t, "join_msgs_per_node", round((double)s->m.join_msgs / o.n));
		cJSON_AddNumberToObject(t, "join_msgs_sampled", round(s->m.join_sampled));
		cJSON_AddNumberToObject(t, "join_load", ju > 0 ? round(s->m.join_area / ju * 10) / 10 : 0);
	} else {
		cJSON_AddNullToObject(t, "join_cpu_per_100_nodes_s");
		cJSON_AddNullToObject(t, "join_msgs_per_node");
		cJSON_AddNullToObject(t, "join_msgs_sampled");
		cJSON_AddNullToObject(t, "join_load");
	}
	if (s->m.idle_nodes > 0 && s->m.idle_to > s->m.idle_from && s->m.idle_cpu > 0)
		cJSON_AddNumberToObject(t, "idle_cpu_pct_per_node", round(s->m.idle_cpu /
		    ((double)(s->m.idle_to - s->m.idle_from) * 1000) / s->m.idle_nodes * 1e4) / 100);
	else
		cJSON_AddNullToObject(t, "idle_cpu_pct_per_node");
	cJSON_AddNumberToObject(t, "load", round(machine_load(m, s->now_us) * 10) / 10);
	cJSON_AddNumberToObject(t, "load_peak", m->peak);
	cJSON_AddNumberToObject(t, "busy", round(m->cpu / (s->now_us > 0 ? (double)s->now_us : 1) /
	    m->cores * 1000) / 1000);
	cJSON_AddNumberToObject(t, "turns", (double)m->turns);
	cJSON_AddNumberToObject(t, "turn_us_mean", m->turns ? round(m->cpu / (double)m->turns) : 0);
	cJSON_AddNumberToObject(t, "turn_us_max", (double)m->longest);
	cJSON_AddNumberToObject(t, "wait_ms_mean", m->turns ?
	    round((double)m->waited / (double)m->turns) / 1000 : 0);
	cJSON_AddNumberToObject(t, "wait_ms_max", (double)m->longest_wait / 1000);
}

static cJSON *
summary(struct sim *s, double wall)
{
	static const char *kinds[TK_N] = { "gossip", "heartbeat", "relay", "other" };
	cJSON *r = cJSON_CreateObject(), *t, *k;
	double ns = s->m.node_seconds > 0 ? s->m.node_seconds : 1;
	int i, alive = 0, members = 0, leaders = 0, exited = 0;
	long rss = sim_rss_kib();

	cJSON_AddNumberToObject(r, "nodes", o.n);
	json_add_u64(r, "seed", o.seed);
	cJSON_AddStringToObject(r, "scenario", scenario_names[o.sc]);
	cJSON_AddNumberToObject(r, "sim_s", secs(s->now));
	cJSON_AddNumberToObject(r, "last_start_s", secs(s->m.last_start));
	add_secs(r, "all_up_s", s->m.all_up < 0 ? -1 : s->m.all_up - s->m.goal_since);
	cJSON_AddItemToObject(r, "detection_s", spread(s, 0, s->m.killed_at));
	cJSON_AddItemToObject(r, "down_seen_s", spread(s, 4, s->m.down_at));
	cJSON_AddItemToObject(r, "removal_s", spread(s, 1, s->m.down_at));
	cJSON_AddItemToObject(r, "heal_s", spread(s, 3, s->m.heal_at));
	cJSON_AddNumberToObject(r, "false_unreachable", (double)s->m.false_unreachable);
	if (s->m.idle_nodes > 0 && s->m.idle_to > s->m.idle_from && s->m.idle_bytes > 0) {
		double d = secs(s->m.idle_to - s->m.idle_from) * s->m.idle_nodes;

		cJSON_AddNumberToObject(r, "idle_bytes_per_node_s", round(s->m.idle_bytes / d * 10) / 10);
		cJSON_AddNumberToObject(r, "idle_msgs_per_node_s", round(s->m.idle_msgs / d * 100) / 100);
	} else {
		cJSON_AddNullToObject(r, "idle_bytes_per_node_s");
		cJSON_AddNullToObject(r, "idle_msgs_per_node_s");
	}
	t = cJSON_AddObjectToObject(r, "per_node_s");
	for (i = 0; i < TK_N; i++) {
		k = cJSON_AddObjectToObject(t, kinds[i]);
		cJSON_AddNumberToObject(k, "msgs", round(s->m.by[i].msgs / ns * 100) / 100);
		cJSON_AddNumberToObject(k, "bytes", round(s->m.by[i].bytes / ns * 10) / 10);
	}
	cJSON_AddNumberToObject(r, "peak_bytes_per_node_s", (double)s->m.peak_node_bytes_s);
	/* the same peak (any node, any second) of welcomes, and of the other gossip and status */
	cJSON_AddNumberToObject(r, "peak_welcome_bytes_per_node_s", (double)s->m.peak_welcome_s);
	cJSON_AddNumberToObject(r, "peak_state_bytes_per_node_s", (double)s->m.peak_state_s);
	t = cJSON_AddObjectToObject(r, "msg_bytes");
	cJSON_AddNumberToObject(t, "median", (double)sizehist_quantile(&s->m.sizes, 0.5));
	cJSON_AddNumberToObject(t, "p99", (double)sizehist_quantile(&s->m.sizes, 0.99));
	cJSON_AddNumberToObject(t, "peak", (double)s->m.sizes.max);
	cJSON_AddNumberToObject(r, "messages", (double)s->m.total_msgs);
	cJSON_AddNumberToObject(r, "bytes", (double)s->m.total_bytes);
	cJSON_AddNumberToObject(r, "lost", (double)s->m.lost);
	for (i = 0; i < s->n; i++) {
		const struct simnode *sn = &s->nodes[i];
		int li;

		if (!sn->alive) {
			exited += sn->ever_started && sn->node.phase == PHASE_SHUTDOWN;
			continue;
		}
		alive++;
		if (sn->node.phase != PHASE_MEMBER)
			continue;
		members++;
		li = mstate_leader_for(&sn->node.st, NULL, sn->node.self.uid);
		leaders += li >= 0 && sn->node.st.m[li].uid == sn->node.self.uid;
	}
	t = cJSON_AddObjectToObject(r, "end");
	cJSON_AddNumberToObject(t, "alive", alive);
	cJSON_AddNumberToObject(t, "members", members);
	cJSON_AddNumberToObject(t, "leaders", leaders);
	cJSON_AddNumberToObject(t, "exited", exited);
	cJSON_AddNumberToObject(r, "mem_per_node_kib",
	    round((double)(rss - s->m.rss0_kib) / s->n * 10) / 10);
	cJSON_AddNumberToObject(r, "wall_s", round(wall * 1000) / 1000);
	full_states(s, r);
	if (o.sc == SC_LEAVE)
		leave_summary(s, r);
	if (s->mach.cores > 0)
		machine_summary(s, r);
	return r;
}

static double
json_num(const cJSON *o_, const char *k, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o_, k);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static void
print_text(const cJSON *r)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "detection_s");
	char *txt;

	printf("%d nodes, scenario %s, seed %s: %.1f simulated seconds in %.2f s\n",
	    (int)json_num(r, "nodes", 0), json_str(r, "scenario"), json_str(r, "seed"),
	    json_num(r, "sim_s", 0), json_num(r, "wall_s", 0));
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "all_up_s")))
		printf("all Up everywhere: never\n");
	else
		printf("all Up everywhere: %.3f s after the last start\n", json_num(r, "all_up_s", 0));
	if (cJSON_IsObject(d))
		printf("detection: min %.3f median %.3f max %.3f s\n", json_num(d, "min", -1),
		    json_num(d, "median", -1), json_num(d, "max", -1));
	d = cJSON_GetObjectItemCaseSensitive(r, "leave_s");
	if (cJSON_IsObject(d))
		printf("leave -> removed everywhere: min %.3f median %.3f max %.3f s\n",
		    json_num(d, "min", -1), json_num(d, "median", -1), json_num(d, "max", -1));
	d = cJSON_GetObjectItemCaseSensitive(r, "machine");
	if (cJSON_IsObject(d))
		printf("machine: %d cores, join CPU %.2f core-s per 100 nodes, %.0f messages per "
		    "node, load %.1f\n", (int)json_num(d, "cores", 0),
		    json_num(d, "join_cpu_per_100_nodes_s", -1), json_num(d, "join_msgs_per_node", -1),
		    json_num(d, "join_load", -1));
	printf("idle: %.1f bytes/s per node; peak %.0f bytes/s per node; "
	    "false unreachable %d\n", json_num(r, "idle_bytes_per_node_s", -1),
	    json_num(r, "peak_bytes_per_node_s", 0), (int)json_num(r, "false_unreachable", 0));
	txt = cJSON_PrintUnformatted(r);
	printf("%s\n", txt);
	free(txt);
}

/* Writes DIR/plot.gp for terminal term (png or svg). */
static int
plot_script(const char *path, const char *dir, const char *csv, const char *term)
{
	const char *ext = strcmp(term, "svg") == 0 ? "svg" : "png";
	FILE *f;

	if ((f = fopen(path, "w")) == NULL) {
		log_err("cannot write '%s'", path);
		return -1;
	}
	fprintf(f, "set datafile separator ','\nset terminal %s size 900,500\n"
	    "set key top left\nset xlabel 'simulated seconds'\n"
	    "set output '%s/convergence.%s'\nset title 'akc-sim: convergence'\n"
	    "set ylabel 'nodes'\n"
	    "plot '%s' using 1:3 with lines title 'members', "
	    "'' using 1:4 with lines title 'fewest Up in any view', "
	    "'' using 1:5 with lines title 'nodes seeing all Up'\n"
	    "set output '%s/traffic.%s'\nset title 'akc-sim: traffic'\n"
	    "set ylabel 'bytes/s'\nset logscale y\n"
	    "plot '%s' using 1:($7/($2>0?$2:1)) with lines title 'mean per node', "
	    "'' using 1:10 with lines title 'busiest node', "
	    "'' using 1:($8/($2>0?$2:1)) with lines title 'gossip per node', "
	    "'' using 1:($9/($2>0?$2:1)) with lines title 'heartbeats per node'\n",
	    term, dir, ext, csv, dir, ext, csv);
	return fclose(f) == 0 ? 0 : -1;
}

/* Plots with gnuplot (PNG, or SVG where gnuplot has no PNG terminal); without it, the script only. */
static int
plot(const char *dir, const char *csv)
{
	char path[PATH_MAX], cmd[PATH_MAX + 64];

	if (strchr(dir, '\'') != NULL || strchr(csv, '\'') != NULL) {
		log_warnx("not plotting: a quote in '%s'", dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/plot.gp", dir);
	if (plot_script(path, dir, csv, "pngcairo") < 0)
		return -1;
	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		fprintf(stderr, "akc-sim: gnuplot not found: wrote %s and %s only\n", csv, path);
		return 0;
	}
	if ((size_t)snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>/dev/null", path) >= sizeof(cmd))
		return -1;
	if (system(cmd) == 0)
		return 0;
	if (plot_script(path, dir, csv, "svg") < 0 || system(cmd) != 0) {
		log_warnx("gnuplot failed on '%s'", path);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "nodes", required_argument, NULL, 'n' }, { "seed", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' }, { "set", required_argument, NULL, 'S' },
		{ "scenario", required_argument, NULL, 'x' }, { "json", no_argument, NULL, 'j' },
		{ "csv", required_argument, NULL, 'C' }, { "plot", required_argument, NULL, 'P' },
		{ "seeds", required_argument, NULL, 1 }, { "window", required_argument, NULL, 2 },
		{ "settle", required_argument, NULL, 3 }, { "duration", required_argument, NULL, 4 },
		{ "kill", required_argument, NULL, 5 }, { "add", required_argument, NULL, 6 },
		{ "hold", required_argument, NULL, 7 }, { "pause", required_argument, NULL, 8 },
		{ "gap", required_argument, NULL, 9 }, { "down-after", required_argument, NULL, 10 },
		{ "latency", required_argument, NULL, 11 }, { "jitter", required_argument, NULL, 12 },
		{ "loss", required_argument, NULL, 13 }, { "help", no_argument, NULL, 'h' },
		{ "cores", required_argument, NULL, 14 }, { "msg-cost", required_argument, NULL, 15 },
		{ "byte-cost", required_argument, NULL, 16 }, { "starts", required_argument, NULL, 17 },
		{ "version-cost", required_argument, NULL, 18 },
		{ "state-cost", required_argument, NULL, 19 },
		{ "start-cost", required_argument, NULL, 20 },
		{ "threads", required_argument, NULL, 21 },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static struct sim s;
	struct akc_config cfg;
	struct timespec t0, t1;
	char csvpath[PATH_MAX], *end;
	int c, i, k_set = 0, verbose = 0;
	cJSON *r;

	log_init("akc-sim");
	log_setlevel(LOG_ERR);	/* N nodes' warnings: -v shows them */
	o.n = 50;
	o.seed = 1;
	o.seeds = 3;
	o.window = 10000;
	o.settle = 30000;
	o.duration = 60000;
	o.hold = 10000;
	o.pause = 5000;
	o.gap = 2000;
	o.latency = 1;
	o.jitter = 2;
	o.add = 20;
	o.msg_cost = MSG_COST_US;
	o.byte_cost = BYTE_COST_US;
	o.version_cost = VERSION_COST_US;
	o.state_cost = STATE_COST_US;
	o.start_cost = START_COST_US;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:s:c:S:jhv", lo, NULL)) != -1) {
		char why[256];

		switch (c) {
		case 'n': o.n = (int)num(optarg, "--nodes", 1, SIM_MAX_NODES); break;
		case 's':
			errno = 0;
			o.seed = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *optarg == '-' || *end != '\0' || errno != 0)
				usage("bad --seed (expected a number from 0 to 2^64-1)");
			break;
		case 'c': o.conf = optarg; break;
		case 'S': add_set(optarg); break;
		case 'x':
			for (i = 0; scenario_names[i] != NULL; i++)
				if (strcmp(optarg, scenario_names[i]) == 0)
					break;
			if (scenario_names[i] == NULL) {
				snprintf(why, sizeof(why), "unknown scenario '%s' (kill, rack, partition, "
				    "one-way, restart, pause, add, leave, idle, start)", optarg);
				usage(why);
			}
			o.sc = (enum scenario)i;
			break;
		case 'j': o.json = 1; break;
		case 'C': o.csv = optarg; break;
		case 'P': o.plot = optarg; break;
		case 'v': verbose++; break;
		case 'h': help(); break;
		case 'V': printf("akc-sim %s\n", PACKAGE_VERSION); return 0;
		case 1: o.seeds = (int)num(optarg, "--seeds", 1, CONF_MAX_SEEDS); break;
		case 2: o.window = dur(optarg, "--window"); break;
		case 3: o.settle = dur(optarg, "--settle"); break;
		case 4: o.duration = dur(optarg, "--duration"); break;
		case 5: o.k = (int)num(optarg, "--kill", 1, SIM_MAX_NODES); k_set = 1; break;
		case 6: o.add = (int)num(optarg, "--add", 1, SIM_MAX_NODES); break;
		case 7: o.hold = dur(optarg, "--hold"); break;
		case 8: o.pause = dur(optarg, "--pause"); break;
		case 9: o.gap = dur(optarg, "--gap"); break;
		case 10: o.down_after = dur(optarg, "--down-after"); break;
		case 11: o.latency = dur(optarg, "--latency"); break;
		case 12: o.jitter = dur(optarg, "--jitter"); break;
		case 13:
			errno = 0;
			o.loss = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || errno != 0 || !(o.loss >= 0 && o.loss < 1))
				usage("bad --loss (expected a probability from 0 to below 1)");
			break;
		case 14: o.cores = (int)num(optarg, "--cores", 0, 1024); break;
		case 15: o.msg_cost = cost(optarg, "--msg-cost"); break;
		case 16: o.byte_cost = cost(optarg, "--byte-cost"); break;
		case 17: o.starts = optarg; break;
		case 18: o.version_cost = cost(optarg, "--version-cost"); break;
		case 19: o.state_cost = cost(optarg, "--state-cost"); break;
		case 20: o.start_cost = cost(optarg, "--start-cost"); break;
		case 21: o.threads = (int)num(optarg, "--threads", 1, SIM_MAX_THREADS); break;
		case ':':
			snprintf(why, sizeof(why), "option '%s' needs a value", argv[optind - 1]);
			usage(why);
			break;
		default:
			snprintf(why, sizeof(why), "unknown option '%s'", argv[optind - 1]);
			usage(why);
		}
	}
	if (optind != argc)
		usage("too many arguments");
	if (o.seeds > o.n)
		o.seeds = o.n;
	if (!k_set)
		o.k = o.sc == SC_PARTITION || o.sc == SC_ONEWAY ? o.n / 2 :
		    o.sc == SC_RESTART ? o.n : 1;
	if (o.sc != SC_RESTART && o.k >= o.n)
		usage("--kill must leave at least one node");
	if (o.sc == SC_ADD && o.n + o.add > SIM_MAX_NODES)
		usage("--nodes plus --add is too many");
	if (verbose > 0)
		log_setlevel(verbose > 1 ? LOG_INFO : LOG_WARNING);
	load_config(&cfg);
	if (o.starts != NULL)
		load_starts();
	if (o.plot != NULL) {
		if (mkdir(o.plot, 0777) < 0 && errno != EEXIST) {
			log_err("cannot create '%s'", o.plot);
			return 1;
		}
		if (o.csv == NULL) {
			snprintf(csvpath, sizeof(csvpath), "%s/series.csv", o.plot);
			o.csv = csvpath;
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sim_init(&s, o.n + (o.sc == SC_ADD ? o.add : 0), o.seed, &cfg);
	s.m.rss0_kib = sim_rss_kib();
	s.net.base = o.latency;
	s.net.jitter = o.jitter;
	s.net.loss = o.loss;
	s.verbose = verbose;
	machine_init(&s.mach, o.cores, o.msg_cost, o.byte_cost);
	s.mach.version_cost = o.version_cost;
	s.mach.state_cost = o.state_cost;
	s.mach.start_cost = o.start_cost;
	{
		const char *why;
		int t = sim_threads(&s, o.threads, o.latency, &why);

		if (verbose > 0)
			fprintf(stderr, "akc-sim: %d thread%s%s%s\n", t, t == 1 ? "" : "s",
			    why != NULL ? ": " : "", why != NULL ? why : "");
	}
	if (o.csv != NULL) {
		if ((s.csv = fopen(o.csv, "w")) == NULL) {
			log_err("cannot write '%s'", o.csv);
			return 1;
		}
		fprintf(s.csv, "t_s,alive,members,up_min,nodes_seeing_all_up,msgs,bytes,"
		    "gossip_bytes,heartbeat_bytes,peak_node_bytes%s\n",
		    o.cores > 0 ? ",runnable,cpu_s" : "");
	}
	plan(&s);
	sim_run(&s, run_step);
	if (s.m.all_up < 0 && o.sc != SC_ADD && o.sc != SC_RESTART && s.m.killed_at < 0) {
		msec_t t = max_at(&s, 2);

		if (t >= 0)
			s.m.all_up = t;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r = summary(&s, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (o.json) {
		char *txt = cJSON_PrintUnformatted(r);

		printf("%s\n", txt);
		free(txt);
	} else
		print_text(r);
	cJSON_Delete(r);
	if (s.csv != NULL && fclose(s.csv) != 0)
		log_err("cannot write '%s'", o.csv);
	if (o.plot != NULL)
		plot(o.plot, o.csv);
	sim_free(&s);
	free(steps);
	free(victims_ix);
	free(o.sets);
	free(o.start_at);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_err("cannot write the summary");
		return 1;
	}
	return 0;
}
