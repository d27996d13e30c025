/*
 * engine.c: the shell akc-sim gives each simulated node. It does what
 * memberd.c and leaderd.c do around the same cores (node.c, actions.c,
 * downing.c) and nothing else: deliver a message (parsed from its JSON
 * text, as memberd parses a frame), tick the timers, send the outbox
 * (printed to JSON, counted by kind), and run leaderd's round when the
 * state changed or its timer is due. Time is virtual: events run in order
 * of (time, scheduling order), so one seed gives one run.
 *
 * On threads, in windows (sim_run; the same rules on one thread):
 *
 * 1. Every message takes at least 1 ms (--latency, at least 1) and a
 *    node's timers are due 1 ms after now at the earliest, so the nodes'
 *    events of one millisecond are independent: none of them schedules
 *    anything in that millisecond. A window is the run of node events
 *    (EV_WAKE, EV_MSG) at one ms between two scenario events; its nodes
 *    run in parallel, each its own events in the queue's order.
 * 2. What a node's events schedule (its sends, its next wake) waits in
 *    its own list; after the window the lists are pushed into the queue
 *    node by node, in the order the nodes first had an event in the
 *    window. The queue's order (time, then push order) is then the same
 *    whatever thread ran what, and so is everything after.
 * 3. The network's draws are each sender's own stream (sn->rng); counters
 *    are per thread (struct simctr), added up before a scenario step or a
 *    sample reads them; a node's exit is seen by the others (sn->live)
 *    from the next window on.
 * 4. The scenario's steps and samples run alone, between windows.
 *
 * Weak points: a window is one ms, not --latency (a larger latency would
 * allow longer windows and fewer hand-overs); a window's work is as
 * uneven as its nodes' (one node's full state can be most of it); the
 * machine model (--cores) makes a node's turn start others' at once, and
 * a latency of 0 delivers within the ms: both run the old way, one event
 * at a time, on one thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "auth.h"
#include "intern.h"
#include "json.h"
#include "log.h"
#include "proto.h"
#include "sim.h"
#include "xmalloc.h"

struct seg;
static void ev_txt_free(struct event *);
static void seg_unref(struct seg *);

#define LEADERD_LAG	1	/* ms from memberd's state notice to leaderd's round */
#define LEADERD_TICK	1000	/* leaderd.c's TICK */
#define LEADERD_FULL	10000	/* leaderd.c's FULL_EVERY */
#define MEMBERD_IDLE	1000	/* memberd's loop wakes at least this often */

/*
 * A command in a node's control socket: an operator's (akc-down,
 * akc-leave), or with the model a node's start and leaderd's decisions.
 */
enum { CMD_DOWN = 1, CMD_LEAVE, CMD_START, CMD_ACTIONS };

/* The windows' threads and the window they share (sim_run). */
struct simpar {
	int nthreads;
	pthread_t *tid;
	struct event *ev;	/* the window's events, in the queue's order */
	int *next;		/* the same node's next event in ev, or -1 */
	int nev, evcap;
	struct wnode { int node, first, last; size_t cost; } *wn;	/* its nodes, in order of first event */
	int nwn, wncap;
	int *ord;		/* wn's indexes, costliest first: the order the threads take them */
	int ordcap;
	uint64_t wid;
	uint64_t shared, nodes;	/* windows run on the threads, and nodes in all windows */
	/* the hand-over: gen says a window is up, take hands out its nodes */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t cv_done;	/* the main thread, asleep until the workers are done */
	unsigned gen;
	int take, done, sleepers, quit, waiting;
	struct sim *s;
};

/* The counters of the thread that runs this code (sim_threads sets each thread's). */
static __thread struct simctr *tctr;

static struct simctr *
ctr(struct sim *s)
{
	return tctr != NULL ? tctr : &s->ctr[0];
}

/*
 * Schedules ev for node i, whose event runs now: in the queue, or in a
 * window in the node's own list until the window ends (1., 2.).
 */
static void
push(struct sim *s, int i, struct event *ev)
{
	struct simnode *sn = &s->nodes[i];

	if (!s->in_window) {
		evheap_push(&s->q, ev);
		return;
	}
	GROW(sn->pend, sn->npend, sn->pendcap);
	sn->pend[sn->npend++] = *ev;
}

void
sim_addr(int i, char *buf, size_t len)
{
	snprintf(buf, len, "tcp://10.%d.%d.%d:%d", (i >> 16) & 255, (i >> 8) & 255, i & 255,
	    SIM_PORT);
}

/* The node index an address names, or -1. */
static int
addr_index(const struct sim *s, const char *a)
{
	int x, y, z, port, i;
	char end;

	if (sscanf(a, "tcp://10.%d.%d.%d:%d%c", &x, &y, &z, &port, &end) != 4 || port != SIM_PORT)
		return -1;
	i = (x << 16) | (y << 8) | z;
	return i >= 0 && i < s->n ? i : -1;
}

/* ---- uid -> node ---- */

static void
uid_put(struct sim *s, uint64_t uid, int i)
{
	size_t k;

	for (k = (size_t)(uid * 0x9e3779b97f4a7c15ULL) & (s->uidcap - 1); s->uidk[k] != 0 &&
	    s->uidk[k] != uid; k = (k + 1) & (s->uidcap - 1))
		;
	s->uidk[k] = uid;
	s->uidv[k] = i;
}

static void
uid_grow(struct sim *s)
{
	uint64_t *ok = s->uidk;
	int *ov = s->uidv;
	size_t oc = s->uidcap, k;

	s->uidcap = oc ? 2 * oc : 1024;
	s->uidk = xcalloc(s->uidcap, sizeof(*s->uidk));
	s->uidv = xcalloc(s->uidcap, sizeof(*s->uidv));
	for (k = 0; k < oc; k++)
		if (ok[k] != 0)
			uid_put(s, ok[k], ov[k]);
	free(ok);
	free(ov);
}

int
sim_node_of_uid(const struct sim *s, uint64_t uid)
{
	size_t k;

	if (s->uidcap == 0 || uid == 0)
		return -1;
	for (k = (size_t)(uid * 0x9e3779b97f4a7c15ULL) & (s->uidcap - 1); s->uidk[k] != 0;
	    k = (k + 1) & (s->uidcap - 1))
		if (s->uidk[k] == uid)
			return s->uidv[k];
	return -1;
}

/* ---- lifecycle ---- */

void
sim_init(struct sim *s, int n, uint64_t seed, const struct akc_config *cfg)
{
	unsigned char *frame;
	struct keyring none;
	int i;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->seed = seed;
	s->cfg = *cfg;
	s->rng = seed ^ 0x5151515151515151ULL;
	s->nodes = xcalloc((size_t)n, sizeof(*s->nodes));
	for (i = 0; i < n; i++) {
		/* each node's stream starts where a draw from the seed and its index says */
		uint64_t st = (seed ^ 0xa5a5a5a5a5a5a5a5ULL) + (uint64_t)i * 0xd1b54a32d192ed03ULL;

		s->nodes[i].rng = sim_rand(&st);
		s->nodes[i].lnext = -1;
		s->nodes[i].wake = -1;
		s->nodes[i].ever_paused = -1;
		s->nodes[i].left_at = s->nodes[i].exiting_at = s->nodes[i].gone_at = -1;
	}
	s->turn = -1;
	s->threads = 1;
	s->ctr = xcalloc(1, sizeof(*s->ctr));
	while (s->uidcap < 4 * (size_t)n + 1024)
		uid_grow(s);
	/* what memberd's frame adds to each message, keys or not */
	memset(&none, 0, sizeof(none));
	s->frame_overhead = frame_seal(&none, cfg->cluster_name, "", 0, &frame);
	free(frame);
	s->m.all_up = -1;
	s->m.killed_at = s->m.down_at = s->m.heal_at = -1;
	s->m.idle_from = s->m.idle_to = -1;
	s->m.leave_at = -1;
	s->m.join_at = -1;
}

static void par_free(struct sim *);

static void
msvec_free(struct msvec *v)
{
	free(v->v);
}

void
msvec_add(struct msvec *v, msec_t t)
{
	GROW(v->v, v->n, v->cap);
	v->v[v->n++] = t;
}

void
sim_free(struct sim *s)
{
	size_t q;
	int i;

	for (i = 0; i < s->n; i++) {
		struct simnode *sn = &s->nodes[i];
		int k;

		if (sn->ever_started)
			node_free(&sn->node);
		free(sn->down);
		free(sn->fifo);
		for (k = 0; k < sn->ninbox; k++)
			ev_txt_free(&sn->inbox[k]);
		free(sn->inbox);
		cJSON_Delete(sn->acts);
		for (k = 0; k < sn->nheld; k++) {
			free(sn->held[k].txt);
			seg_unref(sn->held[k].seg);
		}
		free(sn->held);
		for (k = 0; k < sn->npend; k++)
			ev_txt_free(&sn->pend[k]);
		free(sn->pend);
	}
	par_free(s);
	mstate_scratch_free();
	free(s->ctr);
	machine_free(&s->mach);
	msvec_free(&s->m.lv_removed);
	msvec_free(&s->m.lv_left);
	msvec_free(&s->m.lv_exiting);
	msvec_free(&s->m.lv_self);
	msvec_free(&s->m.lv_dec_exiting);
	msvec_free(&s->m.lv_dec_removed);
	free(s->nodes);
	for (q = 0; q < s->q.n; q++)
		ev_txt_free(&s->q.e[q]);
	evheap_free(&s->q);
	free(s->uidk);
	free(s->uidv);
	free(s->m.false_pairs);
}

void
sim_schedule(struct sim *s, enum ev_kind kind, int node, msec_t at)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.at = at;
	ev.kind = kind;
	ev.node = node;
	evheap_push(&s->q, &ev);
}

static void
reschedule(struct sim *s, int i)
{
	struct simnode *sn = &s->nodes[i];
	struct event ev;
	msec_t d;

	if (!sn->alive)
		return;
	d = node_next_deadline(&sn->node);
	if (d < 0 || d > s->now + MEMBERD_IDLE)
		d = s->now + MEMBERD_IDLE;
	if (sn->lnext >= 0 && sn->lnext < d)
		d = sn->lnext;
	if (d <= s->now)
		d = s->now + 1;
	if (sn->paused_until > d)
		d = sn->paused_until;
	if (d == sn->wake)
		return;		/* already scheduled */
	memset(&ev, 0, sizeof(ev));
	ev.at = d;
	ev.kind = EV_WAKE;
	ev.node = i;
	ev.gen = ++sn->gen;
	sn->wake = d;
	push(s, i, &ev);
}

/* ---- memberd's shell ---- */

/* The arrival time on link i -> dst: never before an earlier message on it (TCP's order). */
static msec_t
fifo(struct simnode *sn, int dst, msec_t at, msec_t now)
{
	int k, j;

	for (k = 0, j = 0; k < sn->nfifo; k++) {
		if (sn->fifo[k].at < now)
			continue;	/* arrived: forget it */
		if (sn->fifo[k].dst == dst) {
			if (at < sn->fifo[k].at)
				at = sn->fifo[k].at;
			continue;
		}
		sn->fifo[j++] = sn->fifo[k];
	}
	sn->nfifo = j;
	GROW(sn->fifo, sn->nfifo, sn->fifocap);
	sn->fifo[sn->nfifo].dst = dst;
	sn->fifo[sn->nfifo].at = at;
	sn->nfifo++;
	return at;
}

double
sim_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Adds the time since *t to phase ph and restarts *t. */
static void
lap(struct sim *s, enum sim_phase ph, double *t)
{
	double now = sim_clock();

	ctr(s)->phase_s[ph] += now - *t;
	*t = now;
}

/*
 * ---- member tables of the messages in flight, shared (struct seg) ----
 *
 * Why: a full state (gossip, welcome) carries its member table, ~52 bytes
 * a member; after a kill every node pushes its news of reachability to
 * three members at once, and at 1,500 nodes the states in flight took the
 * process from 307 to 531 MB for a second (at 10,000: some 15 GB), though
 * nearly all of them carry one table. So:
 * 1. a payload of SEG_MIN bytes or more that holds a "members" string
 *    leaves that string's bytes in a segment shared by every message in
 *    flight that holds the same bytes (a hash finds it, memcmp decides),
 *    and keeps the rest (the envelope, the clock, the seen set);
 * 2. the payload is put together again, byte for byte, when it arrives:
 *    what a node reads and what is counted are what they were;
 * 3. a segment is counted (atomics: the threads post and receive); a
 *    lookup takes a reference, under seg_lock, only from a count above
 *    zero, and the last reference takes it out of the table.
 * 4. a full state's table is not printed at all (print_state): the
 *    message is printed with a hole where its "state"'s "members" string
 *    goes (json_print_cut), the segment found from the raw state's text;
 *    a push's k targets, which share one text (gossip.c's state_ref),
 *    find it once a flush, by its address;
 * 5. and not copied back: a payload cut so (segref), whose segment's
 *    bytes are plain (json_text_plain: printable ASCII, no backslash;
 *    no parser changes or refuses them), is parsed with its hole (an empty string)
 *    and the "members" item then points at the segment's text, which the
 *    tree does not own (cJSON_IsReference), alive until the tree is
 *    freed. Both parsers read such a string's bytes as they are, so the
 *    tree is the one the whole payload gives, and so is its refusal
 *    (scan_strings: only the other strings can fail it); any other
 *    payload is put together and parsed whole (2.).
 * Before, a full state's table was copied some ten times between its
 * print and its parse (bench/README.md, "10,000 simulated nodes, part
 * three"). Weak point: it is a simulator's storage, not the protocol's:
 * the generic cut (1.) is by bytes, so a "members" string in another place
 * of a payload is only shared by mistake of no consequence (the bytes come
 * back the same).
 */
#define SEG_MIN		4096
#define SEG_BUCKETS	4096

struct seg {
	atomic_int refs;
	uint64_t h;
	size_t len;
	int clean;		/* 5. below: the bytes read the same in place */
	struct seg *next;	/* in its bucket; under seg_lock */
	char text[];		/* len bytes and a NUL */
};

static pthread_mutex_t seg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seg *seg_tab[SEG_BUCKETS];

static void
seg_unref(struct seg *g)
{
	struct seg **pp;

	if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_lock(&seg_lock);
	for (pp = &seg_tab[g->h % SEG_BUCKETS]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	pthread_mutex_unlock(&seg_lock);
	free(g);
}

/*
 * The segment of the len bytes at p, one reference the caller's: found or
 * new. The compare and the copy are made outside the lock.
 */
static struct seg *
seg_get(const char *p, size_t len)
{
	uint64_t h = bytes_hash(p, len);
	struct seg *g, *got = NULL;

	pthread_mutex_lock(&seg_lock);
	for (g = seg_tab[h % SEG_BUCKETS]; g != NULL; g = g->next) {
		int r = atomic_load_explicit(&g->refs, memory_order_relaxed);

		if (g->h != h || g->len != len)
			continue;
		while (r > 0 && !atomic_compare_exchange_weak_explicit(&g->refs, &r, r + 1,
		    memory_order_acq_rel, memory_order_relaxed))
			;
		if (r > 0) {
			got = g;
			break;
		}
	}
	pthread_mutex_unlock(&seg_lock);
	if (got != NULL) {
		if (memcmp(got->text, p, len) == 0)
			return got;
		seg_unref(got);		/* the same hash, other bytes: one of its own */
	}
	got = xmalloc(sizeof(*got) + len + 1);
	atomic_init(&got->refs, 1);
	got->h = h;
	got->len = len;
	memcpy(got->text, p, len);
	got->text[len] = '\0';
	got->clean = json_text_plain(p, len);
	pthread_mutex_lock(&seg_lock);
	got->next = seg_tab[h % SEG_BUCKETS];
	seg_tab[h % SEG_BUCKETS] = got;
	pthread_mutex_unlock(&seg_lock);
	return got;
}

/* The end of a JSON string's text that begins at a (before end): its closing quote, the first after an even run of backslashes; NULL if none. */
static const char *
string_end(const char *a, const char *end)
{
	const char *b, *q;

	for (b = a; (b = memchr(b, '"', (size_t)(end - b))) != NULL; b++) {
		for (q = b; q > a && q[-1] == '\\'; q--)
			;
		if ((b - q) % 2 == 0)
			return b;
	}
	return NULL;
}

/* ev's payload with its member table cut out into a shared segment (1. above), if it has one. */
static void
seg_cut(struct event *ev)
{
	static const char key[] = "\"members\":\"";
	const char *a, *b, *end = ev->txt + ev->plen;
	size_t at, len;
	char *rest;

	if (ev->plen < SEG_MIN || (a = memmem(ev->txt, ev->plen, key, sizeof(key) - 1)) == NULL)
		return;
	a += sizeof(key) - 1;
	b = string_end(a, end);
	if (b == NULL || b - a < SEG_MIN / 2)
		return;
	at = (size_t)(a - ev->txt);
	len = (size_t)(b - a);
	ev->seg = seg_get(a, len);
	rest = xmalloc(ev->plen - len + 1);
	memcpy(rest, ev->txt, at);
	memcpy(rest + at, b, ev->plen - at - len + 1);	/* with the NUL */
	free(ev->txt);
	ev->txt = rest;
	ev->segat = at;
}

/* ev's payload whole again (2. above). */
static void
seg_join(struct event *ev)
{
	char *t;
	size_t len;

	if (ev->seg == NULL)
		return;
	len = ev->seg->len;
	t = xmalloc(ev->plen + 1);
	memcpy(t, ev->txt, ev->segat);
	memcpy(t + ev->segat, ev->seg->text, len);
	memcpy(t + ev->segat + len, ev->txt + ev->segat, ev->plen - ev->segat - len + 1);
	free(ev->txt);
	ev->txt = t;
	seg_unref(ev->seg);
	ev->seg = NULL;
}

/* Gives back what a message event in flight holds. */
static void
ev_txt_free(struct event *ev)
{
	free(ev->txt);
	ev->txt = NULL;
	seg_unref(ev->seg);
	ev->seg = NULL;
}

/*
 * Puts a message on the simulated network from node i to dst now: its
 * arrival after the link's delay, in order behind what it carries already,
 * or lost. With --cores the link keeps us and the event carries them.
 */
static void
post(struct sim *s, int i, int dst, char *txt, size_t len, size_t plen, struct seg *g, size_t segat)
{
	struct simnode *sn = &s->nodes[i];
	struct event ev;
	msec_t at;

	at = dst < 0 ? -1 : simnet_delay(&s->net, &sn->rng, sn->group, s->nodes[dst].group, s->now);
	if (at < 0) {
		ctr(s)->lost++;
		cJSON_free(txt);
		seg_unref(g);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	if (s->mach.cores > 0) {
		usec_t us = fifo(sn, dst, s->now_us + (at - s->now) * 1000, s->now_us);

		ev.at = us / 1000;
		ev.uat = (int)(us % 1000);
	} else
		ev.at = fifo(sn, dst, at, s->now);
	ev.kind = EV_MSG;
	ev.node = dst;
	ev.src = i;
	ev.txt = txt;
	ev.len = len;
	ev.plen = plen;
	if (g != NULL) {
		ev.seg = g;
		ev.segat = segat;
		ev.segref = 1;
	} else
		seg_cut(&ev);
	push(s, i, &ev);
}

/* A flush's raw states (by the address of their text) and their segments. */
#define CUTS_MAX	8

struct cuts {
	const char *raw[CUTS_MAX];
	struct seg *g[CUTS_MAX];
	int n;
};

/*
 * msg printed (4. above): the text, *plen the payload's bytes, *g the
 * segment cut out at *segat (one reference the caller's) or NULL (the
 * whole payload printed).
 */
static char *
print_state(const cJSON *msg, struct cuts *cc, size_t *plen, struct seg **g, size_t *segat)
{
	static const char key[] = "{\"members\":\"";
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(msg, "state");
	const char *a, *b = NULL;
	size_t len;
	char *txt;
	int k;

	*g = NULL;
	if (st == NULL || (st->type & 0xff) != cJSON_Raw || st->valuestring == NULL ||
	    strncmp(st->valuestring, key, sizeof(key) - 1) != 0)
		goto whole;
	/*
	 * Every raw text of an outbox was made before its flush, and one is
	 * freed only with the last message that refers to it (gossip.c's
	 * state_ref): within a flush, an address is one text.
	 */
	for (k = 0; k < cc->n; k++)
		if (cc->raw[k] == st->valuestring) {
			*g = cc->g[k];
			atomic_fetch_add_explicit(&(*g)->refs, 1, memory_order_relaxed);
			break;
		}
	if (*g == NULL) {
		a = st->valuestring + sizeof(key) - 1;
		b = string_end(a, a + strlen(a));
		if (b == NULL || b - a < SEG_MIN / 2)
			goto whole;
		*g = seg_get(a, (size_t)(b - a));
		if (cc->n < CUTS_MAX) {
			atomic_fetch_add_explicit(&(*g)->refs, 1, memory_order_relaxed);
			cc->raw[cc->n] = st->valuestring;
			cc->g[cc->n++] = *g;
		}
	}
	len = (*g)->len;
	txt = json_print_cut(msg, st, sizeof(key) - 1, len, segat);
	if (txt == NULL || *segat == (size_t)-1) {
		free(txt);
		seg_unref(*g);
		*g = NULL;
		goto whole;
	}
	*plen = strlen(txt) + len;
	return txt;
whole:
	txt = json_print(msg);
	*plen = strlen(txt);
	return txt;
}

/*
 * What flush_outbox does, with the simulated network in place of
 * wire_send. During a node's turn on a modeled core its sends are held
 * until the turn ends (memberd corks them) and charged to the turn.
 */
static void
flush(struct sim *s, int i)
{
	struct simnode *sn = &s->nodes[i];
	struct node *n = &sn->node;
	struct simctr *c = ctr(s);
	struct outmsg *out;
	struct cuts cc = { .n = 0 };
	cJSON **r;
	int k, count, dst;

	(void)node_resets(n, &count);
	r = node_relays(n, &count);
	for (k = 0; k < count; k++)
		cJSON_Delete(r[k]);
	r = node_keys_requests(n, &count);
	for (k = 0; k < count; k++)
		cJSON_Delete(r[k]);
	out = node_outbox(n, &count);
	for (k = 0; k < count; k++) {
		char *txt;
		size_t len, plen, segat = 0;
		struct seg *g = NULL;
		const char *type;
		double t0;

		if (strcmp(out[k].address, n->self.address) == 0) {
			cJSON_Delete(out[k].msg);
			continue;
		}
		/* a compact heartbeat is its own payload, as in memberd's flush_outbox */
		if (out[k].msg != NULL) {
			t0 = sim_clock();
			txt = print_state(out[k].msg, &cc, &plen, &g, &segat);
			len = plen + s->frame_overhead;
			lap(s, PH_PRINT, &t0);
		} else {
			plen = out[k].blen;
			txt = xmalloc(out[k].blen + 1);
			memcpy(txt, out[k].bin, out[k].blen);
			txt[out[k].blen] = '\0';
			len = out[k].blen + s->frame_overhead;
			/*
			 * memberd sends a short form on a connection bound to its
			 * receiver; the simulator keeps no connections, and counts it
			 * as memberd's long-lived ones do (a bind frame a connection
			 * is not counted), delivering the long form, which means the same
			 */
			if (out[k].bind_to != 0) {
				unsigned char shortp[CPT_MAX];
				size_t sl = compact_shorten(out[k].bin, out[k].blen, shortp);

				if (sl > 0)
					len = sl + s->frame_overhead;
			}
		}
		n->sent_msgs++;
		n->sent_bytes += len;
		type = node_out_type(&out[k]);
		if (type != NULL && strcmp(type, MSG_WELCOME) == 0) {
			c->welcomes++;
			c->welcome_bytes += len;
			c->full_sent_bytes += len;
		} else if (type != NULL && strcmp(type, MSG_GOSSIP) == 0)
			c->full_sent_bytes += len;
		node_count_traffic(n->sent_by, type, len);
		node_count_traffic(c->by, node_out_type(&out[k]), len);
		if (node_out_type(&out[k]) != NULL && strcmp(node_out_type(&out[k]), MSG_WELCOME) == 0)
			sn->welcome_bytes += len;
		else if (node_traffic_kind(node_out_type(&out[k])) == TK_GOSSIP)
			sn->state_bytes += len;
		sizehist_add(&c->sizes, len);
		c->total_msgs++;
		c->total_bytes += len;
		cJSON_Delete(out[k].msg);
		dst = addr_index(s, out[k].address);
		if (s->turn == i && dst >= 0) {
			GROW(sn->held, sn->nheld, sn->heldcap);
			sn->held[sn->nheld].dst = dst;
			sn->held[sn->nheld].txt = txt;
			sn->held[sn->nheld].len = len;
			sn->held[sn->nheld].plen = plen;
			sn->held[sn->nheld].seg = g;
			sn->held[sn->nheld].segat = segat;
			sn->nheld++;
			sn->turn_msgs++;
			sn->turn_bytes += len;
			continue;
		}
		post(s, i, dst, txt, len, plen, g, segat);
	}
	for (k = 0; k < cc.n; k++)
		seg_unref(cc.g[k]);
}

static int
is_victim(const struct sim *s, uint64_t uid)
{
	int k;

	for (k = 0; k < s->m.nvictims; k++)
		if (s->m.victims[k] == uid)
			return 1;
	return 0;
}

/*
 * Whether every member in st is a running node's live incarnation (not one
 * restarted since): as the window began (another node's exit in it is seen after).
 */
static int
current(const struct sim *s, const struct mstate *st)
{
	int k, j;

	for (k = 0; k < st->n; k++)
		if ((j = sim_node_of_uid(s, st->m[k].uid)) < 0 || !s->nodes[j].live ||
		    s->nodes[j].node.self.uid != st->m[k].uid)
			return 0;
	return 1;
}

/*
 * The leave scenario: when this node saw the leaver Leaving (or later),
 * Exiting, and gone; the leaver itself, when it saw itself Exiting (the
 * log line bench/nodes.sh reads, "this node is Exiting").
 */
static void
observe_leave(struct sim *s, struct simnode *sn)
{
	const struct mstate *st = &sn->node.st;
	int k = mstate_find(st, s->m.leaver);

	if (sn->node.self.uid == s->m.leaver) {
		if (sn->exiting_at < 0 && k >= 0 && st->m[k].status == MS_EXITING)
			sn->exiting_at = s->now;
		return;
	}
	if (sn->node.phase != PHASE_MEMBER)
		return;
	if (k < 0) {
		if (sn->gone_at < 0)
			sn->gone_at = s->now;
		return;
	}
	if (sn->left_at < 0 && (st->m[k].status == MS_LEAVING || st->m[k].status == MS_EXITING))
		sn->left_at = s->now;
	if (sn->exiting_at < 0 && st->m[k].status == MS_EXITING)
		sn->exiting_at = s->now;
}

/* Notes what node i's view shows, when it changed: the run's outcomes. */
static void
observe(struct sim *s, int i)
{
	struct simnode *sn = &s->nodes[i];
	const struct mstate *st = &sn->node.st;
	int k, all;

	if (sn->obs_seq == sn->node.state_seq)
		return;
	sn->obs_seq = sn->node.state_seq;
	if (s->m.leave_at >= 0)
		observe_leave(s, sn);
	sn->nup = 0;
	if (sn->node.phase != PHASE_MEMBER)
		return;
	for (k = 0; k < st->n; k++)
		sn->nup += st->m[k].status == MS_UP;
	if (sn->all_up_at < 0 && s->m.goal > 0 && sn->nup == s->m.goal && st->n == s->m.goal &&
	    current(s, st))
		sn->all_up_at = s->now;
	if (s->m.killed_at >= 0 && sn->detect_at < 0 && !is_victim(s, sn->node.self.uid)) {
		for (k = 0, all = 1; k < s->m.nvictims && all; k++)
			if (mstate_find(st, s->m.victims[k]) >= 0 && mstate_reachable(st, s->m.victims[k]))
				all = 0;
		if (all)
			sn->detect_at = s->now;
	}
	if (s->m.down_at >= 0 && sn->downseen_at < 0) {
		for (k = 0, all = 1; k < s->m.nvictims && all; k++) {
			int vi = mstate_find(st, s->m.victims[k]);

			if (vi >= 0 && st->m[vi].status != MS_DOWN)
				all = 0;
		}
		if (all)
			sn->downseen_at = s->now;
	}
	if (s->m.down_at >= 0 && sn->removed_at < 0) {
		for (k = 0, all = 1; k < s->m.nvictims && all; k++)
			if (mstate_find(st, s->m.victims[k]) >= 0)
				all = 0;
		if (all)
			sn->removed_at = s->now;
	}
	if (s->m.heal_at >= 0 && sn->healed_at < 0 && node_convergence(&sn->node)) {
		for (k = 0, all = 1; k < st->n && all; k++)
			if (!mstate_reachable(st, st->m[k].uid))
				all = 0;
		if (all)
			sn->healed_at = s->now;
	}
}

/* ---- leaderd's shell ---- */

static int
downing_pending(const struct akc_config *cfg, const struct mstate *st, uint64_t self)
{
	int i;

	for (i = 0; i < st->n && cfg->strategy != DOWNING_NONE; i++)
		if (st->m[i].uid != self && st->m[i].status != MS_DOWN &&
		    !mstate_reachable(st, st->m[i].uid))
			return 1;
	return 0;
}

static void
send_actions(struct sim *s, struct simnode *sn, cJSON *acts, int weakly_up)
{
	char err[256];
	cJSON *req;

	if (cJSON_GetArraySize(acts) == 0) {
		cJSON_Delete(acts);
		return;
	}
	req = cJSON_CreateObject();
	json_add_u64(req, "state_seq", sn->node.state_seq);
	if (weakly_up)
		cJSON_AddBoolToObject(req, "weakly_up", 1);
	cJSON_AddItemToObject(req, "actions", acts);
	if (s->turn >= 0 && &s->nodes[s->turn] == sn) {
		/* the model: to memberd's control socket, applied in its next turn */
		struct event ev;

		sn->applied_seq = sn->node.state_seq;
		sn->acts = req;
		memset(&ev, 0, sizeof(ev));
		ev.kind = EV_STEP;
		ev.node = s->turn;
		ev.src = CMD_ACTIONS;
		GROW(sn->inbox, sn->ninbox, sn->inboxcap);
		sn->inbox[sn->ninbox++] = ev;
		return;
	}
	if (node_cmd_leader_actions(&sn->node, req, s->now, err, sizeof(err)) == 0)
		sn->applied_seq = sn->node.state_seq;
	cJSON_Delete(req);
}

/* The model: memberd applies the leader's decisions it was sent (refused if the state moved since). */
static void
apply_actions(struct sim *s, struct simnode *sn)
{
	char err[256];
	uint64_t seq = 0;

	if (sn->acts == NULL)
		return;
	(void)json_u64(sn->acts, "state_seq", &seq);
	if (node_cmd_leader_actions(&sn->node, sn->acts, s->now, err, sizeof(err)) < 0)
		sn->applied_seq = 0;	/* stale: decide again on the new state */
	cJSON_Delete(sn->acts);
	sn->acts = NULL;
	(void)seq;
}

/* leaderd.c's round_once and the scheduling around it, on the node's state itself. */
static void
leader_round(struct sim *s, struct simnode *sn)
{
	struct node *n = &sn->node;
	static __thread struct verdict v;	/* 33 KB: not on the stack, one a thread */
	uint64_t self = n->self.uid, seq = n->state_seq;
	int li, k, timed = 0, conv;
	char key[32], err[256];
	msec_t next_tick = s->now + LEADERD_TICK;

	double t0 = sim_clock();

	sn->settled = 0;
	if (n->phase != PHASE_MEMBER) {
		sn->settled = 1;
		goto out;
	}
	li = mstate_leader_for(&n->st, NULL, self);
	sn->was_leader = li >= 0 && n->st.m[li].uid == self;
	timed = downing_pending(&s->cfg, &n->st, self);
	if (sn->down != NULL && downing_tick(sn->down, &n->st, self, sn->was_leader, s->now, &v)) {
		for (k = 0; k < v.ndown; k++) {
			snprintf(key, sizeof(key), "uid:%llu", (unsigned long long)v.down[k]);
			(void)node_cmd_down(n, key, s->now, err, sizeof(err));
		}
		goto out;
	}
	if (!sn->was_leader) {
		sn->settled = 1;
		goto out;
	}
	conv = node_convergence(n);
	/*
	 * The model: leaderd reads a state it has not read (memberd prints it,
	 * leaderd parses it), when memberd tells it of one: the leader hears of
	 * every version but those that follow one without convergence
	 * (memberd.c's publish_changes holds those notices).
	 */
	if (s->turn >= 0 && &s->nodes[s->turn] == sn && seq != sn->read_seq &&
	    (conv || sn->read_conv)) {
		sn->read_seq = seq;
		sn->read_conv = conv;
		sn->turn_extra += machine_state_read(&s->mach, n->st.n);
	}
	if (!conv) {
		if (sn->stuck_since < 0)
			sn->stuck_since = s->now;
		if (s->cfg.allow_weakly_up > 0 && s->now - sn->stuck_since >= s->cfg.allow_weakly_up &&
		    seq != sn->applied_seq && sn->acts == NULL)
			send_actions(s, sn, leader_weakly_up(&n->st, self, s->cfg.min_nr_of_members), 1);
		goto out;
	}
	sn->stuck_since = -1;
	if (seq != sn->applied_seq && sn->acts == NULL)
		send_actions(s, sn, leader_actions(&n->st, self, conv, &n->exiting_confirmed,
		    s->cfg.min_nr_of_members), 0);
	sn->settled = n->state_seq == seq;	/* nothing applied: nothing to look at again */
out:
	if (timed)
		sn->settled = 0;	/* the downing clock needs ticks */
	if (!sn->settled && sn->down != NULL) {
		msec_t due = downing_next_deadline(sn->down);

		if (due > s->now && due < next_tick)
			next_tick = due;
	}
	sn->lnext = sn->settled ? s->now + LEADERD_FULL : next_tick;
	lap(s, PH_LEADER, &t0);
}

/* After node i sent: tell leaderd, measure, stop if it exits, sleep. */
static void
settle(struct sim *s, int i)
{
	struct simnode *sn = &s->nodes[i];
	double t0;

	if (sn->node.state_seq != sn->pub_seq) {
		sn->pub_seq = sn->node.state_seq;
		if (sn->lnext < 0 || sn->lnext > s->now + LEADERD_LAG)
			sn->lnext = s->now + LEADERD_LAG;
	}
	t0 = sim_clock();
	observe(s, i);
	lap(s, PH_OBSERVE, &t0);
	if (sn->node.phase == PHASE_SHUTDOWN && s->now >= sn->node.exit_at) {
		sn->alive = 0;	/* memberd exits; leaderd follows it */
		if (!s->in_window)
			sn->live = 0;	/* else once the window ends */
		return;
	}
	reschedule(s, i);
}

/* After anything ran on node i: send, then the rest. */
static void
after(struct sim *s, int i)
{
	flush(s, i);
	settle(s, i);
}

static void proc_wake(struct sim *, int);
static void dispatch(struct sim *);

/* The model: whether leaderd's round now reads a state (the leader's, on a notice: leader_round's rule). */
static int
must_read(const struct sim *s, const struct simnode *sn)
{
	const struct node *n = &sn->node;
	int li;

	if (s->mach.cores == 0 || n->phase != PHASE_MEMBER || n->state_seq == sn->read_seq)
		return 0;
	li = mstate_leader_for(&n->st, NULL, n->self.uid);
	if (li < 0 || n->st.m[li].uid != n->self.uid)
		return 0;
	return sn->read_conv || node_convergence(n);
}

/* Node i's timers, as memberd's loop runs them after its frames: the core's tick, leaderd's round when due. */
static void
timers(struct sim *s, int i, double *t0)
{
	struct simnode *sn = &s->nodes[i];

	sn->node.wall = SIM_WALL0 + s->now;
	node_tick(&sn->node, s->now);
	lap(s, PH_TICK, t0);
	if (sn->lnext >= 0 && s->now >= sn->lnext) {
		flush(s, i);
		if (s->turn == i && !sn->round_ready && must_read(s, sn)) {
			/* the model: leaderd wakes on memberd's notice and reads in a turn of its own */
			sn->round_ready = 1;
			sn->timer_due = 1;
			return;
		}
		sn->round_ready = 0;
		leader_round(s, sn);
	}
}

static void
on_wake(struct sim *s, int i)
{
	struct simnode *sn = &s->nodes[i];

	double t0 = sim_clock();

	if (s->mach.cores > 0) {
		/* the loop's poll returns: a turn when a core is free */
		sn->wake = -1;
		sn->timer_due = 1;
		proc_wake(s, i);
		dispatch(s);
		return;
	}
	sn->wake = -1;
	timers(s, i, &t0);
	after(s, i);
}

/*
 * A payload cut at its "state"'s table (segref) parsed in place (5. of the
 * segments: lib/json.c's json_parse_hole); NULL: not so (read it whole).
 */
static cJSON *
parse_ref(struct event *ev)
{
	const struct seg *g = ev->seg;

	if (!ev->segref)
		return NULL;
	return json_parse_hole(ev->txt, ev->plen - g->len, "state", "members", g->text, g->len,
	    g->clean);
}

/* memberd's on_frame: one message handed to the core (its answers in the outbox). */
static void
receive(struct sim *s, struct event *ev)
{
	struct simnode *sn = &s->nodes[ev->node];
	struct node *n = &sn->node;
	size_t plen = ev->plen;
	const char *t;
	cJSON *msg;
	double t0;
	enum sim_phase ph = PH_OTHER;

	if (ev->seg != NULL && !(ev->segref && ev->seg->clean))
		seg_join(ev);
	n->wall = SIM_WALL0 + s->now;
	n->recv_msgs++;
	n->recv_bytes += ev->len;
	t0 = sim_clock();
	if (node_payload_compact(ev->txt, plen)) {
		node_count_traffic(n->recv_by, node_compact_type(ev->txt, plen), ev->len);
		node_receive_compact(n, (const unsigned char *)ev->txt, plen, s->now);
		free(ev->txt);
		lap(s, PH_HEARTBEAT, &t0);
		return;
	}
	msg = NULL;
	if (ev->seg != NULL && (msg = parse_ref(ev)) == NULL)
		seg_join(ev);	/* 5. above: not in place, read whole */
	if (msg == NULL)
		msg = json_parse(ev->txt, plen);
	t = msg != NULL ? json_str(msg, "t") : NULL;
	node_count_traffic(n->recv_by, t, ev->len);
	lap(s, PH_PARSE, &t0);
	if (t != NULL && strcmp(t, MSG_GOSSIP) == 0)
		ph = PH_GOSSIP;
	else if (t != NULL && strcmp(t, MSG_STATUS) == 0)
		ph = PH_STATUS;
	else if (t != NULL && strcmp(t, MSG_WELCOME) == 0)
		ph = PH_WELCOME;
	else if (t != NULL && (strcmp(t, MSG_JOIN) == 0 || strcmp(t, MSG_INIT_JOIN) == 0))
		ph = PH_JOIN;
	else if (node_traffic_kind(t) == TK_HEARTBEAT)
		ph = PH_HEARTBEAT;
	if (msg == NULL)
		n->dropped.malformed++;
	else if (plen > PROTO_MAX_MSG && (t == NULL || strcmp(t, MSG_RELAY) != 0))
		n->dropped.oversized++;
	else {
		/* a segment's text read in place: its length and hash are known (lib/membership.c) */
		if (ev->seg != NULL)
			mstate_wire_text_known(ev->seg->text, ev->seg->len, ev->seg->h);
		node_receive(n, msg, s->now);
		mstate_wire_text_known(NULL, 0, 0);
	}
	cJSON_Delete(msg);
	free(ev->txt);
	seg_unref(ev->seg);	/* after the tree that pointed at it */
	ev->seg = NULL;
	lap(s, ph, &t0);
}

static void
on_msg(struct sim *s, struct event *ev)
{
	struct simnode *sn = &s->nodes[ev->node];
	double t0;

	if (!sn->alive) {
		ctr(s)->to_dead++;
		ev_txt_free(ev);
		return;
	}
	if (sn->paused_until > s->now) {
		ev->at = sn->paused_until;	/* waits in the socket */
		ev->uat = 0;
		push(s, ev->node, ev);
		return;
	}
	if (s->mach.cores > 0) {
		/* in its socket until its turn */
		GROW(sn->inbox, sn->ninbox, sn->inboxcap);
		sn->inbox[sn->ninbox++] = *ev;
		proc_wake(s, ev->node);
		dispatch(s);
		return;
	}
	receive(s, ev);
	t0 = sim_clock();
	node_tick(&sn->node, s->now);
	lap(s, PH_TICK, &t0);
	after(s, ev->node);
}

/* ---- the machine model (--cores; machine.c has the queue) ---- */

/* An operator's command, in node i's control socket until its turn. */
static void
command(struct sim *s, int i, int cmd, uint64_t arg)
{
	struct simnode *sn = &s->nodes[i];
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_STEP;
	ev.node = i;
	ev.src = cmd;
	ev.gen = arg;
	GROW(sn->inbox, sn->ninbox, sn->inboxcap);
	sn->inbox[sn->ninbox++] = ev;
	proc_wake(s, i);
	dispatch(s);
}

static void do_command(struct sim *, int i, int cmd, uint64_t arg);

/* Node i has work: to the run queue, unless it is there or on a core (it looks at the end). */
static void
proc_wake(struct sim *s, int i)
{
	struct simnode *sn = &s->nodes[i];

	if (sn->queued || sn->running)
		return;
	sn->queued = 1;
	machine_ready(&s->mach, i, s->now_us);
}

/*
 * One turn of node i, as memberd's loop: every frame waiting (each handed
 * to the core and its answers flushed, as on_frame does), then the timers
 * (node_tick, leaderd's round when due) and their sends. What it sends is
 * held and charged; the turn ends, and the sends leave, at now + its cost.
 */
static void
turn(struct sim *s, int i)
{
	struct simnode *sn = &s->nodes[i];
	struct event ev;
	double t0;
	int k;

	uint64_t seq0 = sn->node.state_seq;

	sn->running = 1;
	sn->turn_msgs = sn->turn_bytes = 0;
	sn->turn_extra = 0;
	s->turn = i;
	for (k = 0; k < sn->ninbox; k++) {
		struct event *e = &sn->inbox[k];

		if (e->kind == EV_STEP) {
			do_command(s, i, e->src, e->gen);
			continue;
		}
		sn->turn_msgs++;
		sn->turn_bytes += e->len;
		receive(s, e);
		flush(s, i);
	}
	sn->ninbox = 0;
	sn->timer_due = 0;
	t0 = sim_clock();
	timers(s, i, &t0);
	flush(s, i);
	s->turn = -1;
	sn->turn_cost = machine_cost(&s->mach, sn->turn_msgs, sn->turn_bytes) + sn->turn_extra;
	/* a version taken or made: memberd publishes it once its sends have left */
	sn->turn_tail = sn->node.state_seq != seq0 ? machine_version(&s->mach, sn->node.st.n) : 0;
	memset(&ev, 0, sizeof(ev));
	ev.at = (s->now_us + sn->turn_cost) / 1000;
	ev.uat = (int)((s->now_us + sn->turn_cost) % 1000);
	ev.kind = EV_CPU;
	ev.node = i;
	ev.gen = sn->cpu_gen;
	evheap_push(&s->q, &ev);
}

/* Free cores take the nodes that waited longest. */
static void
dispatch(struct sim *s)
{
	usec_t ready;
	int i;

	while ((i = machine_next(&s->mach, s->now_us, &ready)) >= 0) {
		s->nodes[i].queued = 0;
		if (!s->nodes[i].alive) {
			machine_done(&s->mach, s->now_us, -1);
			continue;
		}
		turn(s, i);
	}
}

/*
 * Node i's turn ends: its sends leave; then, after a version's cost if the
 * turn took one (ev->src 1: that tail ends), its core is free and it
 * sleeps or queues again.
 */
static void
on_cpu(struct sim *s, struct event *ev)
{
	struct simnode *sn = &s->nodes[ev->node];
	int k;

	if (ev->src == 0 && ev->gen == sn->cpu_gen && sn->alive) {
		for (k = 0; k < sn->nheld; k++)
			post(s, ev->node, sn->held[k].dst, sn->held[k].txt, sn->held[k].len,
			    sn->held[k].plen, sn->held[k].seg, sn->held[k].segat);
		sn->nheld = 0;
		settle(s, ev->node);
		if (sn->alive && sn->turn_tail > 0) {
			struct event t = *ev;
			usec_t end = s->now_us + sn->turn_tail;

			t.at = end / 1000;
			t.uat = (int)(end % 1000);
			t.src = 1;
			evheap_push(&s->q, &t);
			return;
		}
	}
	machine_done(&s->mach, s->now_us, sn->turn_cost + (ev->src == 1 ? sn->turn_tail : 0));
	sn->running = 0;
	if (sn->alive && (sn->ninbox > 0 || sn->timer_due))
		proc_wake(s, ev->node);	/* more work, or a new incarnation's */
	dispatch(s);
}

/* Adds b's counters to a's. */
void
sim_ss_add(struct state_stats *a, const struct state_stats *b)
{
	int k;

	for (k = 0; k < SW_N; k++)
		a->sent[k] += b->sent[k];
	for (k = 0; k < STW_N; k++)
		a->status_sent[k] += b->status_sent[k];
	a->deferred += b->deferred;
	a->heads += b->heads;
	a->full_reads += b->full_reads;
	a->records += b->records;
	a->made += b->made;
	a->adopted += b->adopted;
	a->merged += b->merged;
}

/* ---- what the scenario does to nodes ---- */

static uint64_t
node_uid(const struct sim *s, int i, int incarnation)
{
	uint64_t st = s->seed * 0x100000001b3ULL ^ ((uint64_t)i << 20) ^ (uint64_t)incarnation;
	uint64_t uid = sim_rand(&st) & 0x1fffffffffffffULL;	/* as memberd: fits a double */

	return uid == 0 ? 1 : uid;
}

void
sim_start_node(struct sim *s, int i)
{
	struct simnode *sn = &s->nodes[i];
	cJSON *memory = NULL;
	char err[256];

	if (sn->alive)
		return;
	if (sn->ever_started) {
		/* a restart: memberd keeps its membership memory in state-dir */
		memory = node_memory_to_json(&sn->node);
		sim_ss_add(&s->m.ss, &sn->node.ss);
		node_free(&sn->node);
	}
	sn->incarnation++;
	snprintf(s->cfg.name, sizeof(s->cfg.name), "n%d", i);
	sim_addr(i, s->cfg.address, sizeof(s->cfg.address));
	node_init(&sn->node, &s->cfg, node_uid(s, i, sn->incarnation), s->now);
	sn->node.wall = SIM_WALL0 + s->now;
	if (memory != NULL && node_memory_from_json(&sn->node, memory, err, sizeof(err)) < 0)
		log_warnx("n%d: cannot load its memory: %s", i, err);
	cJSON_Delete(memory);
	if (sim_node_of_uid(s, sn->node.self.uid) < 0) {
		if (4 * ++s->nuid > s->uidcap)
			uid_grow(s);
		uid_put(s, sn->node.self.uid, i);
	}
	if (s->cfg.strategy != DOWNING_NONE) {
		if (sn->down == NULL)
			sn->down = xmalloc(sizeof(*sn->down));
		downing_init(sn->down, &s->cfg);
	}
	sn->alive = sn->live = 1;
	sn->ever_started = 1;
	sn->pub_seq = 0;
	sn->lnext = s->now + LEADERD_LAG;
	sn->settled = sn->was_leader = 0;
	sn->applied_seq = 0;
	sn->stuck_since = -1;
	sn->obs_seq = (uint64_t)-1;
	sn->all_up_at = sn->detect_at = sn->removed_at = sn->healed_at = sn->downseen_at = -1;
	sn->last_bytes = 0;
	sn->nfifo = 0;
	sn->wake = -1;
	sn->read_seq = 0;
	sn->read_conv = 1;
	sn->round_ready = 0;
	cJSON_Delete(sn->acts);
	sn->acts = NULL;
	if (s->mach.cores > 0 && s->mach.start_cost > 0) {
		/* the model: memberd and leaderd start (exec, sockets) in a turn, before their first sends */
		command(s, i, CMD_START, 0);
		return;
	}
	node_start(&sn->node, s->now);
	after(s, i);
}

void
sim_kill_node(struct sim *s, int i)
{
	struct simnode *sn = &s->nodes[i];
	int k;

	sn->alive = sn->live = 0;
	sn->gen++;
	sn->wake = -1;
	/* the model: what waited in its sockets and what its turn would send die with it */
	sn->cpu_gen++;
	for (k = 0; k < sn->ninbox; k++) {
		if (sn->inbox[k].kind == EV_MSG)
			ctr(s)->to_dead++;
		ev_txt_free(&sn->inbox[k]);
	}
	sn->ninbox = 0;
	for (k = 0; k < sn->nheld; k++) {
		free(sn->held[k].txt);
		seg_unref(sn->held[k].seg);
	}
	sn->nheld = 0;
	sn->timer_due = 0;
	sn->round_ready = 0;
	cJSON_Delete(sn->acts);
	sn->acts = NULL;
}

void
sim_pause_node(struct sim *s, int i, msec_t until)
{
	s->nodes[i].paused_until = until;
	s->nodes[i].ever_paused = until;
	s->nodes[i].wake = -1;
	reschedule(s, i);
}

/* An operator's command on node i, in its turn (the model) or at once; or, with the model, its start. */
static void
do_command(struct sim *s, int i, int cmd, uint64_t arg)
{
	char key[32], err[256];

	s->nodes[i].node.wall = SIM_WALL0 + s->now;
	if (cmd == CMD_ACTIONS) {
		apply_actions(s, &s->nodes[i]);
		return;
	}
	if (cmd == CMD_START) {
		s->nodes[i].turn_extra += machine_start(&s->mach);
		node_start(&s->nodes[i].node, s->now);
	} else if (cmd == CMD_DOWN) {
		snprintf(key, sizeof(key), "uid:%llu", (unsigned long long)arg);
		if (node_cmd_down(&s->nodes[i].node, key, s->now, err, sizeof(err)) < 0)
			log_warnx("akc-down on n%d: %s", i, err);
	} else if (node_cmd_leave(&s->nodes[i].node, NULL, s->now, err, sizeof(err)) < 0)
		log_warnx("akc-leave on n%d: %s", i, err);
}

int
sim_down(struct sim *s, int i, uint64_t victim)
{
	char key[32], err[256];
	int rc;

	if (s->mach.cores > 0) {
		command(s, i, CMD_DOWN, victim);
		return 0;
	}
	snprintf(key, sizeof(key), "uid:%llu", (unsigned long long)victim);
	s->nodes[i].node.wall = SIM_WALL0 + s->now;
	if ((rc = node_cmd_down(&s->nodes[i].node, key, s->now, err, sizeof(err))) < 0)
		log_warnx("akc-down on n%d: %s", i, err);
	after(s, i);
	return rc;
}

int
sim_leave(struct sim *s, int i)
{
	if (s->mach.cores > 0)
		command(s, i, CMD_LEAVE, 0);
	else {
		do_command(s, i, CMD_LEAVE, 0);
		after(s, i);
	}
	return 0;
}

int
sim_operator(const struct sim *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].alive && s->nodes[i].node.phase == PHASE_MEMBER &&
		    !is_victim(s, s->nodes[i].node.self.uid))
			return i;
	return -1;
}

/* ---- the run ---- */

void
sim_fold(struct sim *s)
{
	struct sim_measure *m = &s->m;
	int t, k;

	for (t = 0; t < s->threads; t++) {
		struct simctr *c = &s->ctr[t];

		m->lost += c->lost;
		m->to_dead += c->to_dead;
		m->total_msgs += c->total_msgs;
		m->total_bytes += c->total_bytes;
		m->welcomes += c->welcomes;
		m->welcome_bytes += c->welcome_bytes;
		m->full_sent_bytes += c->full_sent_bytes;
		for (k = 0; k < TK_N; k++) {
			m->by[k].msgs += c->by[k].msgs;
			m->by[k].bytes += c->by[k].bytes;
		}
		sizehist_merge(&m->sizes, &c->sizes);
		for (k = 0; k < PH_N; k++)
			m->phase_s[k] += c->phase_s[k];
		memset(c, 0, sizeof(*c));
	}
}

static int
node_event(const struct event *ev)
{
	return ev->kind == EV_WAKE || ev->kind == EV_MSG;
}

/* One of the window's events, to its node's list. */
static void
window_add(struct sim *s, const struct event *ev)
{
	struct simpar *p = s->par;
	struct simnode *sn = &s->nodes[ev->node];
	int e = p->nev;

	if (p->nev == p->evcap) {
		p->evcap = p->evcap ? 2 * p->evcap : 1024;
		p->ev = xreallocarray(p->ev, (size_t)p->evcap, sizeof(*p->ev));
		p->next = xreallocarray(p->next, (size_t)p->evcap, sizeof(*p->next));
	}
	p->ev[e] = *ev;
	p->next[e] = -1;
	p->nev++;
	if (sn->wmark != p->wid) {
		sn->wmark = p->wid;
		sn->wslot = p->nwn;
		GROW(p->wn, p->nwn, p->wncap);
		p->wn[p->nwn].node = ev->node;
		p->wn[p->nwn].first = p->wn[p->nwn].last = e;
		p->wn[p->nwn].cost = ev->plen;
		p->nwn++;
		return;
	}
	p->next[p->wn[sn->wslot].last] = e;
	p->wn[sn->wslot].last = e;
	p->wn[sn->wslot].cost += ev->plen;
}

/* A window's node: its events, in order (what the old loop did with each). */
static void
window_node(struct sim *s, int k)
{
	struct simpar *p = s->par;
	int e;

	for (e = p->wn[k].first; e >= 0; e = p->next[e]) {
		struct event *ev = &p->ev[e];

		if (ev->kind == EV_MSG)
			on_msg(s, ev);
		else if (s->nodes[ev->node].alive && ev->gen == s->nodes[ev->node].gen)
			on_wake(s, ev->node);
	}
}

static struct simpar *sort_par;

static int
costlier(const void *a, const void *b)
{
	const struct wnode *x = &sort_par->wn[*(const int *)a], *y = &sort_par->wn[*(const int *)b];

	if (x->cost != y->cost)
		return x->cost < y->cost ? 1 : -1;
	return *(const int *)a - *(const int *)b;
}

/*
 * The order the threads take the window's nodes in: the most bytes to
 * read first (a full state costs the most), so that the last taken are
 * short and the threads end together. It changes who runs what, not
 * what is pushed after (2.).
 */
static void
order(struct simpar *p)
{
	int k;

	if (p->nwn > p->ordcap) {
		p->ordcap = p->nwn * 2;
		p->ord = xreallocarray(p->ord, (size_t)p->ordcap, sizeof(*p->ord));
	}
	for (k = 0; k < p->nwn; k++)
		p->ord[k] = k;
	sort_par = p;
	qsort(p->ord, (size_t)p->nwn, sizeof(*p->ord), costlier);
}

/* Takes the window's nodes one at a time until none is left. */
static void
window_share(struct sim *s)
{
	struct simpar *p = s->par;
	int k;

	while ((k = __atomic_fetch_add(&p->take, 1, __ATOMIC_RELAXED)) < p->nwn)
		window_node(s, p->ord[k]);
}

static void
relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

#define SPIN	2000	/* pauses (~34 ns here) before a thread sleeps: a hand-over, not a window */

/* A worker thread (arg: its counters' index): waits for a window, takes a share of its nodes. */
static void *
worker(void *arg)
{
	struct simpar *p = arg;
	struct sim *s = p->s;
	unsigned seen = 0, g;
	int spins, me;

	me = __atomic_add_fetch(&p->done, 1, __ATOMIC_SEQ_CST);	/* 1 to nthreads - 1 */
	tctr = &s->ctr[me];
	for (;;) {
		for (spins = 0; (g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE)) == seen; ) {
			if (++spins < SPIN) {
				relax();
				continue;
			}
			pthread_mutex_lock(&p->mu);
			p->sleepers++;
			while (__atomic_load_n(&p->gen, __ATOMIC_SEQ_CST) == seen &&
			    !__atomic_load_n(&p->quit, __ATOMIC_SEQ_CST))
				pthread_cond_wait(&p->cv, &p->mu);
			p->sleepers--;
			pthread_mutex_unlock(&p->mu);
			if (__atomic_load_n(&p->quit, __ATOMIC_SEQ_CST))
				break;
		}
		seen = g;
		if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE))
			break;
		window_share(s);
		if (__atomic_add_fetch(&p->done, 1, __ATOMIC_SEQ_CST) == p->nthreads - 1 &&
		    __atomic_load_n(&p->waiting, __ATOMIC_SEQ_CST)) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->cv_done);
			pthread_mutex_unlock(&p->mu);
		}
	}
	mstate_scratch_free();	/* the node cores' scratch arrays of this thread */
	return NULL;
}

/*
 * The main thread waits for the workers to finish the window: a few
 * pauses, then asleep (a busy wait would take a core from whatever else
 * runs, for as long as the window's costliest node).
 */
static void
window_wait(struct simpar *p)
{
	int k;

	for (k = 0; k < SPIN; k++) {
		if (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) == p->nthreads - 1)
			return;
		relax();
	}
	pthread_mutex_lock(&p->mu);
	__atomic_store_n(&p->waiting, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&p->done, __ATOMIC_SEQ_CST) < p->nthreads - 1)
		pthread_cond_wait(&p->cv_done, &p->mu);
	__atomic_store_n(&p->waiting, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&p->mu);
}

/* Wakes the workers: a window is up (gen), or it is time to go (quit). */
static void
window_post(struct simpar *p)
{
	int sleepers;

	__atomic_add_fetch(&p->gen, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&p->mu);
	sleepers = p->sleepers;
	if (sleepers > 0)
		pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/*
 * Runs the window that starts with first: it and every node event of the
 * same ms before the next scenario event, on the threads (1.); then what
 * they scheduled, node by node (2.).
 */
static void
window(struct sim *s, const struct event *first)
{
	struct simpar *p = s->par;
	const struct event *top;
	struct event ev;
	int k, j;

	p->wid++;
	p->nev = p->nwn = 0;
	window_add(s, first);
	while ((top = evheap_top(&s->q)) != NULL && top->at == first->at && node_event(top)) {
		evheap_pop(&s->q, &ev);
		window_add(s, &ev);
	}
	s->in_window = 1;
	p->nodes += (uint64_t)p->nwn;
	if (p->nthreads > 1 && p->nwn > 1) {
		p->shared++;
		order(p);
		p->take = 0;
		__atomic_store_n(&p->done, 0, __ATOMIC_SEQ_CST);
		window_post(p);
		window_share(s);
		window_wait(p);
	} else
		for (k = 0; k < p->nwn; k++)
			window_node(s, k);
	s->in_window = 0;
	for (k = 0; k < p->nwn; k++) {
		struct simnode *sn = &s->nodes[p->wn[k].node];

		for (j = 0; j < sn->npend; j++)
			evheap_push(&s->q, &sn->pend[j]);
		sn->npend = 0;
		sn->live = sn->alive;
	}
}

int
sim_threads(struct sim *s, int threads, msec_t latency, const char **why)
{
	struct simpar *p;
	long cores;
	int k;

	*why = NULL;
	if (threads <= 0) {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cores < 1 ? 1 : cores > SIM_MAX_THREADS ? SIM_MAX_THREADS : (int)cores;
	}
	if (s->mach.cores > 0) {
		*why = "the machine model (--cores) runs the nodes' turns one after another";
		threads = 1;
	} else if (latency < 1) {
		*why = "a latency under 1 ms leaves no window";
		threads = 1;
	} else
		s->windowed = 1;
	s->threads = threads;
	s->ctr = xreallocarray(s->ctr, (size_t)threads, sizeof(*s->ctr));
	memset(s->ctr, 0, (size_t)threads * sizeof(*s->ctr));
	tctr = &s->ctr[0];
	if (!s->windowed)
		return threads;
	p = s->par = xcalloc(1, sizeof(*p));
	p->s = s;
	p->nthreads = threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_cond_init(&p->cv_done, NULL);
	if (threads == 1)
		return 1;
	intern_threads(1);
	p->tid = xcalloc((size_t)threads, sizeof(*p->tid));
	for (k = 1; k < threads; k++)
		if (pthread_create(&p->tid[k], NULL, worker, p) != 0)
			fatalx("cannot start the simulation's thread %d", k);
	/* each took its counters (done counts them in); then done counts windows' ends */
	while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < threads - 1)
		sched_yield();
	return threads;
}

/* Stops the workers and frees the window. */
static void
par_free(struct sim *s)
{
	struct simpar *p = s->par;
	int k;

	if (p == NULL)
		return;
	if (s->verbose)
		fprintf(stderr, "akc-sim: %llu windows, %.1f nodes a window, %llu of them on %d threads\n",
		    (unsigned long long)p->wid, p->wid ? (double)p->nodes / (double)p->wid : 0,
		    (unsigned long long)p->shared, p->nthreads);
	if (p->nthreads > 1) {
		__atomic_store_n(&p->quit, 1, __ATOMIC_SEQ_CST);
		window_post(p);
		for (k = 1; k < p->nthreads; k++)
			pthread_join(p->tid[k], NULL);
		intern_threads(0);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pthread_cond_destroy(&p->cv_done);
	free(p->tid);
	free(p->ev);
	free(p->next);
	free(p->wn);
	free(p->ord);
	free(p);
	s->par = NULL;
	tctr = NULL;
}

void
sim_run(struct sim *s, void (*step)(struct sim *, int))
{
	struct event ev;

	while (evheap_pop(&s->q, &ev)) {
		if (ev.at > s->end) {
			ev_txt_free(&ev);
			break;
		}
		s->now = ev.at;
		s->now_us = ev.at * 1000 + ev.uat;
		if (s->windowed && node_event(&ev)) {
			window(s, &ev);
			continue;
		}
		switch (ev.kind) {
		case EV_WAKE:
			if (s->nodes[ev.node].alive && ev.gen == s->nodes[ev.node].gen)
				on_wake(s, ev.node);
			break;
		case EV_MSG:
			on_msg(s, &ev);
			break;
		case EV_STEP:
			sim_fold(s);
			step(s, ev.node);
			break;
		case EV_CPU:
			on_cpu(s, &ev);
			break;
		case EV_SAMPLE:
			sim_fold(s);
			sim_sample(s);
			if (s->now + 1000 <= s->end)
				sim_schedule(s, EV_SAMPLE, 0, s->now + 1000);
			break;
		}
	}
	sim_fold(s);
}

long
sim_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---- the time series ---- */

/* A false suspicion: subject j is alive, was not paused, and no link between them was cut lately. */
static int
wrongly_suspected(const struct sim *s, int i, int j, uint64_t subject)
{
	const struct simnode *a = &s->nodes[i], *b = &s->nodes[j];
	msec_t quiet = s->cfg.acceptable_heartbeat_pause + 10 * s->cfg.heartbeat_interval;

	if (!b->alive || b->node.self.uid != subject)
		return 0;
	if (b->ever_paused >= 0 && s->now - b->ever_paused < quiet)
		return 0;
	if (s->m.heal_at >= 0 && s->now - s->m.heal_at < quiet)
		return 0;
	return !s->net.cut[a->group][b->group] && !s->net.cut[b->group][a->group];
}

static void
note_false(struct sim *s, int i, int j)
{
	uint64_t key = (uint64_t)i << 32 | (uint64_t)j;
	int k;

	for (k = 0; k < s->m.nfalse; k++)
		if (s->m.false_pairs[k] == key)
			return;
	if (s->m.nfalse == s->m.falsecap) {
		s->m.falsecap = s->m.falsecap ? 2 * s->m.falsecap : 64;
		s->m.false_pairs = xreallocarray(s->m.false_pairs, (size_t)s->m.falsecap,
		    sizeof(*s->m.false_pairs));
	}
	s->m.false_pairs[s->m.nfalse++] = key;
	s->m.false_unreachable++;
}

/*
 * Once per simulated second: one CSV row (members Up as seen by every
 * node, traffic), the per-node peak rate, false suspicions, and the idle
 * window's counters.
 */
void
sim_sample(struct sim *s)
{
	uint64_t msgs = 0, bytes = 0, gossip = 0, hb = 0, peak = 0, sum_bytes = 0, sum_msgs = 0;
	int i, k, alive = 0, members = 0, up_min = -1, see_all = 0;

	for (i = 0; i < s->n; i++) {
		struct simnode *sn = &s->nodes[i];
		struct node *n = &sn->node;
		uint64_t d;

		if (!sn->alive)
			continue;
		alive++;
		sum_bytes += n->sent_bytes;
		sum_msgs += n->sent_msgs;
		d = n->sent_bytes >= sn->last_bytes ? n->sent_bytes - sn->last_bytes : n->sent_bytes;
		sn->last_bytes = n->sent_bytes;
		if (d > peak)
			peak = d;
		if (sn->welcome_bytes - sn->last_welcome > s->m.peak_welcome_s && s->now > 0)
			s->m.peak_welcome_s = sn->welcome_bytes - sn->last_welcome;
		if (sn->state_bytes - sn->last_state > s->m.peak_state_s && s->now > 0)
			s->m.peak_state_s = sn->state_bytes - sn->last_state;
		sn->last_welcome = sn->welcome_bytes;
		sn->last_state = sn->state_bytes;
		if (n->phase != PHASE_MEMBER)
			continue;
		members++;
		if (up_min < 0 || sn->nup < up_min)
			up_min = sn->nup;
		see_all += s->m.goal > 0 && sn->nup == s->m.goal && n->st.n == s->m.goal;
		for (k = 0; k < n->st.reach.n; k++) {
			const struct reach_record *r = &n->st.reach.r[k];
			int j;

			if (r->observer != n->self.uid || r->status != RS_UNREACHABLE)
				continue;
			if ((j = sim_node_of_uid(s, r->subject)) >= 0 && wrongly_suspected(s, i, j, r->subject))
				note_false(s, i, j);
		}
	}
	msgs = s->m.total_msgs - s->csv_msgs;
	bytes = s->m.total_bytes - s->csv_bytes;
	gossip = s->m.by[TK_GOSSIP].bytes - s->csv_gossip;
	hb = s->m.by[TK_HEARTBEAT].bytes - s->csv_hb;
	s->csv_msgs = s->m.total_msgs;
	s->csv_bytes = s->m.total_bytes;
	s->csv_gossip = s->m.by[TK_GOSSIP].bytes;
	s->csv_hb = s->m.by[TK_HEARTBEAT].bytes;
	if (peak > s->m.peak_node_bytes_s && s->now > 0)
		s->m.peak_node_bytes_s = peak;
	s->m.node_seconds += alive;
	if (s->now == s->m.idle_from) {
		s->m.idle_bytes0 = sum_bytes;
		s->m.idle_msgs0 = sum_msgs;
		s->m.idle_nodes = alive;
		s->m.idle_cpu0 = s->mach.cpu;
	} else if (s->now == s->m.idle_to && s->m.idle_nodes == alive) {
		s->m.idle_cpu = s->mach.cpu - s->m.idle_cpu0;
		s->m.idle_bytes = sum_bytes - s->m.idle_bytes0;
		s->m.idle_msgs = sum_msgs - s->m.idle_msgs0;
	}
	if (s->verbose && s->now % 10000 == 0)
		fprintf(stderr, "akc-sim: %llds simulated: %d running, %d members, fewest Up in a "
		    "view %d, %d see all Up, %llu bytes in the last second\n",
		    (long long)(s->now / 1000), alive, members, up_min < 0 ? 0 : up_min, see_all,
		    (unsigned long long)bytes);
	if (s->csv == NULL)
		return;
	fprintf(s->csv, "%lld,%d,%d,%d,%d,%llu,%llu,%llu,%llu,%llu",
	    (long long)(s->now / 1000), alive, members, up_min < 0 ? 0 : up_min, see_all,
	    (unsigned long long)msgs, (unsigned long long)bytes,
	    (unsigned long long)gossip, (unsigned long long)hb, (unsigned long long)peak);
	if (s->mach.cores > 0) {
		/* the model: mean runnable nodes over the second, the CPU of the turns that ended in it */
		double area = machine_load(&s->mach, s->now_us) * (double)s->now_us;

		fprintf(s->csv, ",%.1f,%.3f", (area - s->csv_area) / 1e6,
		    (s->mach.cpu - s->csv_cpu) / 1e6);
		s->csv_area = area;
		s->csv_cpu = s->mach.cpu;
	}
	fputc('\n', s->csv);
}
