/*
 * akc-top: the live picture of the cluster in a terminal: members,
 * reachability, leaders, singletons, the job queue and the latest events.
 *
 * One loop, never blocked by a daemon:
 * 1. memberd's event stream (SUB) moves the picture as things happen. It
 *    is read from a snapshot on, as akc-events does: subscribed first,
 *    events that come while the snapshot is on its way are held, and
 *    those it already covers are skipped by seq. A jump in seq, a seq
 *    back at 1 or a new memberd uid means events were lost: the state is
 *    read again.
 * 2. About once a second memberd's status, leaderd, each local singletond
 *    and the master (through this node's singleton.master proxy) are
 *    asked, each with at most one call in flight, through akc-httpd's
 *    backend (raw REQ sockets whose answers come back through the loop).
 *    A daemon that does not answer is shown as gone, with the last view
 *    it gave dimmed, and picked up again when it answers.
 * 3. Keys come from stdin in the same poll(2); SIGWINCH comes through the
 *    loop's self-pipe and resizes the screen.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>

#include "backend.h"
#include "clock.h"
#include "json.h"
#include "loop.h"
#include "proto.h"
#include "sock.h"
#include "tool.h"
#include "topmodel.h"
#include "topview.h"

#define USAGE		"akc-top [-c FILE] [--once [--width N]]"
#define POLL_EVERY	1000	/* ms between rounds of questions */
#define CALL_TIMEOUT	2000	/* ms for memberd, leaderd and singletond to answer */
#define QUEUE_TIMEOUT	3000	/* the master may be a relay away */
#define SOON		100	/* ms from an event to the status answer that completes it */
#define DRAW_EVERY	100	/* ms between two paints at most */
#define MAX_HELD	1024	/* events held while a snapshot is on its way */

enum slot {
	SLOT_STATUS,
	SLOT_SNAPSHOT,
	SLOT_LEADERD,
	SLOT_QUEUE,
	SLOT_SINGLETON,		/* + the singleton's index in sgname */
};

struct app {
	struct tool t;
	struct top top;
	struct loop *loop;
	struct backend *be;
	int sub, subfd;
	int synced;		/* events are read from a snapshot on */
	cJSON *held;		/* events that came while the snapshot was asked for */
	int nheld, held_overflow;
	int first_snapshot;	/* its events are listed; later ones are not */
	unsigned inflight;	/* 1 << slot, for the first SLOT_SINGLETON slots */
	char sgname[TOP_SINGLETONS][CONF_NAME_MAX];
	int nsg;
	unsigned sg_inflight;
	msec_t next_round, soon, last_draw;
	int rounds;		/* rounds answered (or failed) in full */
	int dirty, quit, once, curses;
	struct frame frame;
};

static void
hms_now(char out[16])
{
	time_t now = (time_t)(clock_wall_ms() / 1000);
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(out, 16, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A sequence number sent as a decimal string or a JSON number. */
static int
get_seq(const cJSON *o, const char *key, uint64_t *out)
{
	long v;

	if (json_u64(o, key, out) == 0)
		return 0;
	if (json_int(o, key, 0, 1L << 53, &v) < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* Records a link's state, and a line in the events when it goes or comes back. */
static void
link_set(struct app *a, enum top_src src, enum top_link_state st, const char *err)
{
	static const char *names[SRC_COUNT] = { "memberd", "memberd's events", "leaderd",
	    "the master" };
	enum top_link_state was = a->top.link[src].state;
	char hms[16];

	if (!top_link_set(&a->top, src, st, err))
		return;
	a->dirty = 1;
	if (src == SRC_EVENTS)
		return;
	hms_now(hms);
	if (st == LINK_DOWN && was != LINK_DOWN)
		top_note(&a->top, hms, TONE_BAD, "%s: %s", names[src], err);
	else if (st == LINK_OK && was == LINK_DOWN)
		top_note(&a->top, hms, TONE_GOOD, "%s answers again", names[src]);
}

static void on_answer(void *arg, int slot, cJSON *rsp, const char *err);
static void on_event(struct app *, const cJSON *ev);

static void
call(struct app *a, int slot, const char *sock, cJSON *req, msec_t timeout)
{
	if (slot < SLOT_SINGLETON)
		a->inflight |= 1u << slot;
	else
		a->sg_inflight |= 1u << (slot - SLOT_SINGLETON);
	if (backend_call(a->be, sock, req, timeout, on_answer, a, slot) < 0) {
		/* cannot happen with a handful of calls; the next round asks again */
		if (slot < SLOT_SINGLETON)
			a->inflight &= ~(1u << slot);
		else
			a->sg_inflight &= ~(1u << (slot - SLOT_SINGLETON));
	}
}

static int
busy(const struct app *a, int slot)
{
	return slot < SLOT_SINGLETON ? (a->inflight & (1u << slot)) != 0 :
	    (a->sg_inflight & (1u << (slot - SLOT_SINGLETON))) != 0;
}

static void
held_clear(struct app *a)
{
	cJSON_Delete(a->held);
	a->held = NULL;
	a->nheld = 0;
}

/* Reads the state again from a snapshot; events meanwhile are held for after it. */
static void
resync(struct app *a)
{
	a->synced = 0;
	held_clear(a);
	if (a->top.link[SRC_EVENTS].state == LINK_OK)
		link_set(a, SRC_EVENTS, LINK_WAIT, "re-reading the state");
	if (!busy(a, SLOT_SNAPSHOT))
		call(a, SLOT_SNAPSHOT, SOCK_MEMBERD_CTL, ctl_request(CTL_SNAPSHOT), CALL_TIMEOUT);
}

static void
on_snapshot(struct app *a, cJSON *rsp)
{
	char ts[40];
	cJSON *ev, *held;
	uint64_t seq = 0;
	int overflow = a->held_overflow;

	if (get_seq(rsp, "seq", &seq) < 0) {
		held_clear(a);
		return;
	}
	clock_rfc3339(clock_wall_ms(), ts, sizeof(ts));
	top_forget_singletons(&a->top);
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(rsp, "events")) {
		cJSON_DeleteItemFromObjectCaseSensitive(ev, "time");
		cJSON_AddStringToObject(ev, "time", ts);
		top_apply_event(&a->top, ev, a->first_snapshot);
	}
	a->first_snapshot = 0;
	a->top.seq = seq;
	a->synced = 1;
	a->soon = clock_mono_ms();	/* the status completes what events do not carry */
	link_set(a, SRC_EVENTS, LINK_OK, NULL);
	/* what came while the snapshot was on its way: those after it count */
	held = a->held;
	a->held = NULL;
	a->nheld = 0;
	a->held_overflow = 0;
	cJSON_ArrayForEach(ev, held)
		if (a->synced)
			on_event(a, ev);
	cJSON_Delete(held);
	if (overflow && a->synced)
		resync(a);
}

static void
on_status(struct app *a, cJSON *rsp, const char *err)
{
	char hms[16];
	int r;

	hms_now(hms);
	if (rsp == NULL) {
		link_set(a, SRC_MEMBERD, LINK_DOWN, err);
		link_set(a, SRC_EVENTS, LINK_DOWN, "waiting for memberd");
		a->synced = 0;	/* a memberd that comes back starts from seq 1 */
		return;
	}
	if ((r = top_apply_status(&a->top, rsp, hms)) < 0) {
		link_set(a, SRC_MEMBERD, LINK_DOWN, "bad status answer from memberd");
		return;
	}
	link_set(a, SRC_MEMBERD, LINK_OK, NULL);
	if (r == 1) {
		if (a->synced)	/* else its events noticed first, or it was gone */
			top_note(&a->top, hms, TONE_WARN, "memberd restarted: re-reading its state");
		resync(a);
	}
}

/* The master's answer, or the proxy's on its behalf (doc/PROTOCOL.md, Work). */
static void
on_queue(struct app *a, cJSON *rsp, const char *err)
{
	char why[TOP_TEXT];
	int ok = 0, proxy = 0;

	if (rsp == NULL) {
		link_set(a, SRC_QUEUE, LINK_DOWN, err);
		return;
	}
	if (json_bool(rsp, "ok", &ok) < 0 || !ok) {
		(void)json_bool(rsp, "proxy", &proxy);
		snprintf(why, sizeof(why), "%s%s", proxy ? "proxy: " : "",
		    json_str(rsp, "error") ? json_str(rsp, "error") : "bad answer");
		link_set(a, SRC_QUEUE, LINK_DOWN, why);
		return;
	}
	top_apply_queue(&a->top, rsp);
	link_set(a, SRC_QUEUE, LINK_OK, NULL);
}

static void
on_answer(void *arg, int slot, cJSON *rsp, const char *err)
{
	struct app *a = arg;
	char why[TOP_TEXT];
	int ok = 1;

	if (slot < SLOT_SINGLETON)
		a->inflight &= ~(1u << slot);
	else
		a->sg_inflight &= ~(1u << (slot - SLOT_SINGLETON));
	a->dirty = 1;
	/* a control socket's refusal: shown as the daemon's one-line reason */
	if (rsp != NULL && slot != SLOT_QUEUE && (json_bool(rsp, "ok", &ok) < 0 || !ok)) {
		snprintf(why, sizeof(why), "%s", json_str(rsp, "error") ? json_str(rsp, "error") :
		    "refused");
		cJSON_Delete(rsp);
		rsp = NULL;
		err = why;
	}
	switch (slot) {
	case SLOT_STATUS:
		on_status(a, rsp, err);
		break;
	case SLOT_SNAPSHOT:
		if (rsp != NULL)
			on_snapshot(a, rsp);
		else
			held_clear(a);
		break;
	case SLOT_LEADERD:
		link_set(a, SRC_LEADERD, rsp != NULL ? LINK_OK : LINK_DOWN, err);
		break;
	case SLOT_QUEUE:
		on_queue(a, rsp, err);
		break;
	default:
		top_apply_singleton(&a->top, a->sgname[slot - SLOT_SINGLETON], rsp, err);
		break;
	}
	cJSON_Delete(rsp);
	if (a->inflight == 0 && a->sg_inflight == 0)
		a->rounds++;
}

/* One event of the stream, in seq order from the snapshot on. */
static void
on_event(struct app *a, const cJSON *ev)
{
	uint64_t seq;
	char hms[16];

	if (get_seq(ev, "seq", &seq) < 0)
		return;
	if (seq <= a->top.seq) {
		/* before the snapshot; or seq 1 again: a new memberd */
		if (seq == 1) {
			hms_now(hms);
			top_note(&a->top, hms, TONE_WARN, "memberd restarted: re-reading its state");
			resync(a);
		}
		return;
	}
	if (seq > a->top.seq + 1) {
		a->top.missed += seq - a->top.seq - 1;
		hms_now(hms);
		top_note(&a->top, hms, TONE_WARN, "missed %llu events: re-reading the state",
		    (unsigned long long)(seq - a->top.seq - 1));
		resync(a);
		return;
	}
	a->top.seq = seq;
	top_apply_event(&a->top, ev, 1);
	a->dirty = 1;
	if (a->soon < 0)
		a->soon = clock_mono_ms() + SOON;
}

/*
 * Drains memberd's event stream. Until a snapshot has been read, events
 * are held while one is on its way (the snapshot may predate them) and
 * dropped otherwise (the next snapshot will hold what they said).
 */
static void
on_events(int fd, short revents, void *arg)
{
	struct app *a = arg;
	cJSON *ev;
	void *buf;
	ssize_t n;

	(void)fd;
	(void)revents;
	while ((n = sock_recv(a->sub, &buf)) >= 0) {
		ev = json_parse(buf, (size_t)n);
		nn_freemsg(buf);
		if (!cJSON_IsObject(ev)) {
			cJSON_Delete(ev);
			continue;
		}
		if (a->synced) {
			on_event(a, ev);
			cJSON_Delete(ev);
		} else if (busy(a, SLOT_SNAPSHOT) && a->nheld < MAX_HELD) {
			if (a->held == NULL)
				a->held = cJSON_CreateArray();
			cJSON_AddItemToArray(a->held, ev);
			a->nheld++;
		} else {
			a->held_overflow |= busy(a, SLOT_SNAPSHOT);
			cJSON_Delete(ev);
		}
	}
}

static int
configured(const struct app *a, const char *name)
{
	int i;

	for (i = 0; i < a->t.cfg.nsingletons; i++)
		if (strcmp(a->t.cfg.singletons[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * The singletons to ask: those configured, and any singletond's socket in
 * the run dir. Names are only added: a call in flight keeps its index.
 */
static void
find_singletons(struct app *a)
{
	sock_singletons(&a->t.cfg, a->sgname, &a->nsg, TOP_SINGLETONS);
}

/* One round of questions; each source has at most one call in flight. */
static void
ask(struct app *a)
{
	char err[512], sock[CONF_NAME_MAX + 16];
	cJSON *req;
	int i, r;

	if (!busy(a, SLOT_STATUS))
		call(a, SLOT_STATUS, SOCK_MEMBERD_CTL, ctl_request(CTL_STATUS), CALL_TIMEOUT);
	if (!a->synced && !busy(a, SLOT_SNAPSHOT))
		call(a, SLOT_SNAPSHOT, SOCK_MEMBERD_CTL, ctl_request(CTL_SNAPSHOT), CALL_TIMEOUT);
	if (!busy(a, SLOT_LEADERD))
		call(a, SLOT_LEADERD, SOCK_LEADERD_CTL, ctl_request(CTL_STATUS), CALL_TIMEOUT);
	r = sock_ipc_access(&a->t.cfg, MASTER_SVC, err, sizeof(err));
	if (r == SOCK_ABSENT) {
		link_set(a, SRC_QUEUE, LINK_NONE, NULL);
		a->top.have_queue = 0;
	} else if (r == SOCK_STALE || r == SOCK_DENIED)
		link_set(a, SRC_QUEUE, LINK_DOWN, r == SOCK_STALE ?
		    "the master's proxy is not running (stale socket)" : err);
	else if (!busy(a, SLOT_QUEUE)) {
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "op", WORK_OP_QUEUE);
		call(a, SLOT_QUEUE, MASTER_SVC, req, QUEUE_TIMEOUT);
	}
	find_singletons(a);
	for (i = 0; i < a->nsg; i++) {
		snprintf(sock, sizeof(sock), SOCK_SINGLETON_CTL, a->sgname[i]);
		if (!configured(a, a->sgname[i]) &&
		    sock_ipc_access(&a->t.cfg, sock, err, sizeof(err)) == SOCK_ABSENT)
			top_apply_singleton(&a->top, a->sgname[i], NULL, NULL);
		else if (!busy(a, SLOT_SINGLETON + i))
			call(a, SLOT_SINGLETON + i, sock, ctl_request(CTL_STATUS), CALL_TIMEOUT);
	}
}

/* ---- the terminal ---- */

static attr_t styles[8];

static void
curses_end(void)
{
	if (!isendwin())
		endwin();
}

static void
curses_start(void)
{
	short bg = COLOR_BLACK;

	initscr();
	atexit(curses_end);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	(void)curs_set(0);
	styles[STYLE_PLAIN] = A_NORMAL;
	styles[STYLE_TITLE] = A_REVERSE | A_BOLD;
	styles[STYLE_HEAD] = A_BOLD;
	styles[STYLE_GOOD] = A_NORMAL;
	styles[STYLE_WARN] = A_BOLD;
	styles[STYLE_BAD] = A_BOLD | A_REVERSE;
	styles[STYLE_DIM] = A_DIM;
	if (has_colors()) {
		start_color();
		if (use_default_colors() == OK)
			bg = -1;
		init_pair(1, COLOR_RED, bg);
		init_pair(2, COLOR_GREEN, bg);
		init_pair(3, COLOR_YELLOW, bg);
		styles[STYLE_GOOD] = COLOR_PAIR(2);
		styles[STYLE_WARN] = COLOR_PAIR(3) | A_BOLD;
		styles[STYLE_BAD] = COLOR_PAIR(1) | A_BOLD | A_REVERSE;
	}
}

static void
paint(struct app *a)
{
	char clock[16];
	int h, w, r, c, start;
	unsigned char st;

	getmaxyx(stdscr, h, w);
	if (h < 1 || w < 1)
		return;
	if (a->frame.txt == NULL || a->frame.w != w || a->frame.h != h) {
		frame_free(&a->frame);
		frame_init(&a->frame, w, h);
	}
	hms_now(clock);
	top_render(&a->top, &a->frame, clock, 1);
	erase();
	for (r = 0; r < h; r++)
		for (c = 0; c < w; c = start) {
			start = c;
			st = a->frame.style[r * w + c];
			while (start < w && a->frame.style[r * w + start] == st)
				start++;
			attrset(styles[st < 8 ? st : 0]);
			/* the bottom-right cell scrolls some terminals: leave it blank */
			mvaddnstr(r, c, a->frame.txt + r * w + c,
			    r == h - 1 && start == w ? start - c - 1 : start - c);
		}
	attrset(A_NORMAL);
	refresh();
	a->dirty = 0;
	a->last_draw = clock_mono_ms();
}

static void
resize(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
}

static void
on_key(int fd, short revents, void *arg)
{
	struct app *a = arg;
	int ch;

	(void)fd;
	while ((ch = getch()) != ERR)
		switch (ch) {
		case 'q':
		case 'Q':
			a->quit = 1;
			return;
		case KEY_RESIZE:
			a->dirty = 1;
			break;
		case 'L' & 0x1f:
			clearok(curscr, TRUE);
			a->dirty = 1;
			break;
		}
	if (revents & (POLLHUP | POLLERR | POLLNVAL))
		a->quit = 1;	/* the terminal went away */
}

/* ---- main ---- */

static void
subscribe(struct app *a)
{
	char addr[CONF_PATH_MAX + 16];

	config_ipc_path(&a->t.cfg, SOCK_MEMBERD_EVENTS, addr, sizeof(addr));
	if ((a->sub = sock_connect(NN_SUB, addr, CTL_MAX_MSG, 1000)) < 0 ||
	    nn_setsockopt(a->sub, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0) {
		fprintf(stderr, "akc-top: cannot subscribe to '%s': %s\n", addr,
		    nn_strerror(nn_errno()));
		exit(EXIT_TOOL_NODAEMON);
	}
	a->subfd = sock_rcvfd(a->sub);
	loop_watch(a->loop, a->subfd, POLLIN, on_events, a);
}

static msec_t
deadline(struct app *a, msec_t now)
{
	msec_t d = a->next_round, b = backend_tick(a->be, now);

	if (b >= 0 && b < d)
		d = b;
	if (a->soon >= 0 && a->soon < d)
		d = a->soon;
	if (a->dirty && a->curses && a->last_draw + DRAW_EVERY < d)
		d = a->last_draw + DRAW_EVERY;
	return d;
}

/* --once: one frame as plain text, once every source has answered or failed. */
static int
print_once(struct app *a, int width)
{
	char clock[16];
	int rc = EXIT_TOOL_OK;

	if (a->top.link[SRC_MEMBERD].state != LINK_OK) {
		fprintf(stderr, "akc-top: %s\n", a->top.link[SRC_MEMBERD].err);
		return EXIT_TOOL_NODAEMON;
	}
	frame_init(&a->frame, width, top_rows_wanted(&a->top));
	hms_now(clock);
	top_render(&a->top, &a->frame, clock, 0);
	if (frame_print(&a->frame, stdout) < 0)
		rc = 1;
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS,
		{ "once", no_argument, NULL, '1' },
		{ "width", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	static struct app a;
	char err[512], *end;
	unsigned long sigs;
	msec_t now;
	long width = 80;
	int ch;

	tool_init(&a.t, "akc-top", USAGE);
	while ((ch = getopt_long(argc, argv, "c:h1w:", longopts, NULL)) != -1) {
		if (tool_common_opt(&a.t, ch, optarg))
			continue;
		if (ch == '1')
			a.once = 1;
		else if (ch == 'w' && ((width = strtol(optarg, &end, 10)) < 20 || width > 1000 ||
		    *end != '\0'))
			tool_usage(&a.t, "bad --width: a number of columns from 20 to 1000");
	}
	if (optind != argc)
		tool_usage(&a.t, "unexpected argument");
	tool_config(&a.t);
	if (sock_ipc_access(&a.t.cfg, SOCK_MEMBERD_CTL, err, sizeof(err)) == SOCK_DENIED) {
		fprintf(stderr, "akc-top: %s\n", err);
		return EXIT_TOOL_NODAEMON;
	}
	if (!a.once && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		tool_usage(&a.t, "needs a terminal (or --once for plain text)");
	top_init(&a.top, a.t.cfg.name);
	a.first_snapshot = 1;
	a.soon = -1;
	a.loop = loop_new();
	a.be = backend_new(&a.t.cfg, a.loop);
	subscribe(&a);
	if (!a.once) {
		/* --once dies of them, as any filter does */
		loop_catch(a.loop, SIGINT);
		loop_catch(a.loop, SIGTERM);
		loop_catch(a.loop, SIGHUP);
		curses_start();
		a.curses = 1;
		loop_catch(a.loop, SIGWINCH);	/* after initscr: ours, not curses' */
		loop_watch(a.loop, STDIN_FILENO, POLLIN, on_key, &a);
		paint(&a);
	}
	ask(&a);
	a.next_round = clock_mono_ms() + POLL_EVERY;
	while (!a.quit) {
		now = clock_mono_ms();
		loop_poll(a.loop, deadline(&a, now));
		sigs = loop_signals(a.loop);
		if (sigs & (1ul << SIGINT | 1ul << SIGTERM | 1ul << SIGHUP))
			break;
		if (sigs & 1ul << SIGWINCH) {
			resize();
			a.dirty = 1;
			a.last_draw = 0;
		}
		now = clock_mono_ms();
		(void)backend_tick(a.be, now);
		if (a.once && a.rounds > 0 && (a.synced || a.top.link[SRC_MEMBERD].state != LINK_OK))
			break;
		if (a.soon >= 0 && now >= a.soon && !busy(&a, SLOT_STATUS)) {
			a.soon = -1;
			call(&a, SLOT_STATUS, SOCK_MEMBERD_CTL, ctl_request(CTL_STATUS), CALL_TIMEOUT);
		}
		if (now >= a.next_round) {
			ask(&a);
			a.next_round = now + POLL_EVERY;
			a.dirty = 1;	/* the clock */
		}
		if (a.curses && a.dirty && now >= a.last_draw + DRAW_EVERY)
			paint(&a);
	}
	if (!a.once) {
		curses_end();
		return EXIT_TOOL_OK;
	}
	ch = print_once(&a, (int)width);
	tool_exit(&a.t, ch);
}
