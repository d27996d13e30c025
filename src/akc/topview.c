/*
 * topview.c: lays akc-top's picture out on a frame of any size.
 *
 * What gets the rows when there are too few (80x24 over ssh is the
 * measure), in this order:
 * 1. The title, the daemons' links, the leader and convergence, and one
 *    alert row per trouble (a daemon gone, unreachable or Down members,
 *    no convergence, no majority): what an operator in an incident needs.
 * 2. The members. When they do not all fit, the ones in trouble are kept
 *    and a last row says how many are left out.
 * 3. Singletons and the queue, one row each.
 * 4. The reachability matrix (observer x subject) beside the members when
 *    the width allows, below them when rows allow, else one summary row.
 * 5. The most recent events in whatever rows remain.
 * Every member row starts with a marker character ('!' unreachable, 'x'
 * Down, '+' joining, '-' leaving), so the screen reads without colour and
 * a test can read it from a captured pane.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "topview.h"
#include "xmalloc.h"

#define MIN_EVENT_ROWS	3	/* kept for events before the matrix takes rows */

void
frame_init(struct frame *f, int w, int h)
{
	f->w = w < 1 ? 1 : w;
	f->h = h < 1 ? 1 : h;
	f->txt = xreallocarray(NULL, (size_t)f->w, (size_t)f->h);
	f->style = xcalloc((size_t)f->w * (size_t)f->h, 1);
	memset(f->txt, ' ', (size_t)f->w * (size_t)f->h);
}

void
frame_free(struct frame *f)
{
	free(f->txt);
	free(f->style);
	f->txt = NULL;
	f->style = NULL;
}

int
frame_put(struct frame *f, int row, int col, enum top_style st, const char *s)
{
	unsigned char c;

	if (row < 0 || row >= f->h || col < 0)
		return col;
	for (; *s != '\0' && col < f->w; s++, col++) {
		c = (unsigned char)*s;
		f->txt[row * f->w + col] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		f->style[row * f->w + col] = (unsigned char)st;
	}
	return col;
}

int
frame_printf(struct frame *f, int row, int col, enum top_style st, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return frame_put(f, row, col, st, buf);
}

/* Gives the whole row style st (the title bar). */
static void
frame_style_row(struct frame *f, int row, enum top_style st)
{
	if (row >= 0 && row < f->h)
		memset(f->style + row * f->w, st, (size_t)f->w);
}

const char *
frame_line(const struct frame *f, int r, char *buf)
{
	int n = f->w;

	if (r < 0 || r >= f->h) {
		buf[0] = '\0';
		return buf;
	}
	memcpy(buf, f->txt + r * f->w, (size_t)f->w);
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return buf;
}

int
frame_print(const struct frame *f, FILE *fp)
{
	char *buf;
	int r, last = -1;

	buf = xmalloc((size_t)f->w + 1);
	for (r = 0; r < f->h; r++)
		if (frame_line(f, r, buf)[0] != '\0')
			last = r;
	for (r = 0; r <= last; r++)
		fprintf(fp, "%s\n", frame_line(f, r, buf));
	free(buf);
	return ferror(fp) ? -1 : 0;
}

/* ---- layout ---- */

struct lay {
	const struct top *t;
	struct frame *f;
	int row, bottom;	/* the next free row; rows from bottom on are not ours */
	int stale;		/* memberd is gone: its last view is shown dimmed */
};

static int
room(const struct lay *l)
{
	return l->bottom - l->row;
}

static enum top_style
tone_style(enum top_tone t)
{
	switch (t) {
	case TONE_GOOD:
		return STYLE_GOOD;
	case TONE_WARN:
		return STYLE_WARN;
	case TONE_BAD:
		return STYLE_BAD;
	case TONE_PLAIN:
		break;
	}
	return STYLE_PLAIN;
}

static int
clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int
longest_name(const struct top *t)
{
	int i, n = 0, len;

	for (i = 0; i < t->nm; i++)
		if ((len = (int)strlen(t->m[i].node)) > n)
			n = len;
	return n;
}

static char
marker(const struct top_member *m)
{
	if (!m->reachable)
		return '!';
	if (strcmp(m->status, "Down") == 0 || strcmp(m->status, "Removed") == 0)
		return 'x';
	if (strcmp(m->status, "Joining") == 0 || strcmp(m->status, "WeaklyUp") == 0)
		return '+';
	if (strcmp(m->status, "Leaving") == 0 || strcmp(m->status, "Exiting") == 0)
		return '-';
	return ' ';
}

static const char *
link_word(const struct top_link *k)
{
	switch (k->state) {
	case LINK_WAIT:
		return "...";
	case LINK_OK:
		return "ok";
	case LINK_DOWN:
		return "DOWN";
	case LINK_NONE:
		return "none";
	}
	return "?";
}

static enum top_style
link_style(const struct top_link *k)
{
	return k->state == LINK_OK ? STYLE_GOOD : k->state == LINK_DOWN ? STYLE_BAD : STYLE_DIM;
}

static void
title(struct lay *l, const char *clock)
{
	const struct top *t = l->t;
	char right[40];
	int len;

	frame_style_row(l->f, l->row, STYLE_TITLE);
	frame_printf(l->f, l->row, 0, STYLE_TITLE, " akc-top  node %s%s%s%s", t->self,
	    t->phase[0] ? " (" : "", t->phase, t->phase[0] ? ")" : "");
	len = snprintf(right, sizeof(right), "%s UTC ", clock);
	if (l->f->w - len > 30)
		frame_put(l->f, l->row, l->f->w - len, STYLE_TITLE, right);
	l->row++;
}

static void
links(struct lay *l)
{
	static const char *names[SRC_COUNT] = { "memberd", "events", "leaderd", "master" };
	static const int order[SRC_COUNT] = { SRC_MEMBERD, SRC_LEADERD, SRC_EVENTS, SRC_QUEUE };
	const struct top *t = l->t;
	const struct top_link *k;
	int i, col = 1;

	for (i = 0; i < SRC_COUNT; i++) {
		k = &t->link[order[i]];
		col = frame_printf(l->f, l->row, col, STYLE_PLAIN, "%s ", names[order[i]]);
		if (order[i] == SRC_EVENTS && k->state == LINK_OK)
			col = frame_put(l->f, l->row, col, STYLE_GOOD, "live");
		else if (order[i] == SRC_QUEUE && k->state == LINK_NONE)
			col = frame_put(l->f, l->row, col, STYLE_DIM, "no proxy here");
		else
			col = frame_put(l->f, l->row, col, link_style(k), link_word(k));
		col += 3;
	}
	if (t->seq > 0)
		frame_printf(l->f, l->row, col, STYLE_DIM, "seq %llu", (unsigned long long)t->seq);
	l->row++;
}

/* The leader, convergence, majority and role leaders: one row. */
static void
leaders(struct lay *l)
{
	const struct top *t = l->t;
	int col = 1;

	if (!t->have_status)
		return;
	col = frame_printf(l->f, l->row, col, l->stale ? STYLE_DIM : STYLE_PLAIN, "leader %s   ",
	    t->leader[0] ? t->leader : "-");
	col = frame_put(l->f, l->row, col, l->stale ? STYLE_DIM : t->convergence ? STYLE_GOOD :
	    STYLE_WARN, t->convergence ? "converged" : "NOT CONVERGED");
	if (t->majority_of > 0)
		col = frame_printf(l->f, l->row, col + 3, l->stale ? STYLE_DIM : t->majority_ok ?
		    STYLE_PLAIN : STYLE_BAD, "majority %d/%d", t->majority_reachable, t->majority_of);
	if (t->role_leaders[0])
		frame_printf(l->f, l->row, col + 3, l->stale ? STYLE_DIM : STYLE_PLAIN,
		    "role leaders %s", t->role_leaders);
	l->row++;
}

/* Appends " name" to a list in buf; ",..." once it would not fit. */
static void
list_add(char *buf, size_t len, const char *sep, const char *name)
{
	size_t n = strlen(buf);

	if (n + strlen(sep) + strlen(name) + 5 >= len) {
		if (n + 4 < len && strcmp(buf + (n > 3 ? n - 3 : 0), "...") != 0)
			strcat(buf, "...");
		return;
	}
	if (n > 0)
		strcat(buf, sep);
	strcat(buf, name);
}

static void
alert(struct lay *l, enum top_style st, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static void
alert(struct lay *l, enum top_style st, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (room(l) <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	frame_put(l->f, l->row++, 0, st, buf);
}

/* One row per trouble, the worst first. */
static void
alerts(struct lay *l)
{
	const struct top *t = l->t;
	const struct top_member *m;
	char unreach[512] = "", down[512] = "", one[CONF_NAME_MAX * 4];
	int i, j;

	if (t->link[SRC_MEMBERD].state == LINK_DOWN)
		alert(l, STYLE_BAD, "! memberd gone%s%s%s: %s",
		    t->have_status ? " (view of " : "", t->have_status ? t->status_time : "",
		    t->have_status ? ")" : "", t->link[SRC_MEMBERD].err);
	if (t->link[SRC_LEADERD].state == LINK_DOWN)
		alert(l, STYLE_BAD, "! leaderd: %s: no member moves to Up or out while this "
		    "node leads", t->link[SRC_LEADERD].err);
	for (i = 0; i < t->nm; i++) {
		m = &t->m[i];
		if (!m->reachable) {
			snprintf(one, sizeof(one), "%s", m->node);
			for (j = 0; j < m->nobservers; j++) {
				size_t n = strlen(one);

				snprintf(one + n, sizeof(one) - n, "%s%s", j ? "," : " (by ",
				    m->observers[j]);
			}
			if (m->nobservers > 0 && strlen(one) + 2 < sizeof(one))
				strcat(one, ")");
			list_add(unreach, sizeof(unreach), ", ", one);
		}
		if (strcmp(m->status, "Down") == 0)
			list_add(down, sizeof(down), ", ", m->node);
	}
	if (unreach[0])
		alert(l, STYLE_BAD, "! UNREACHABLE %s", unreach);
	if (down[0])
		alert(l, STYLE_BAD, "x DOWN %s", down);
	if (t->have_status && t->majority_of > 0 && !t->majority_ok)
		alert(l, STYLE_BAD, "! NO MAJORITY: %d of the %d members remembered reachable",
		    t->majority_reachable, t->majority_of);
}

/* The members' counts by status: "3 Up, 1 Joining". */
static void
counts(const struct top *t, char *buf, size_t len)
{
	static const char *statuses[] = { "Joining", "WeaklyUp", "Up", "Leaving", "Exiting",
	    "Down", "Removed", NULL };
	size_t n = 0;
	int i, j, c;

	buf[0] = '\0';
	for (i = 0; statuses[i] != NULL && n < len; i++) {
		for (c = 0, j = 0; j < t->nm; j++)
			c += strcmp(t->m[j].status, statuses[i]) == 0;
		if (c > 0)
			n += (size_t)snprintf(buf + n, len - n, "%s%d %s", n ? ", " : "", c,
			    statuses[i]);
	}
	if (t->nm == 0)
		snprintf(buf, len, "none");
}

/*
 * Which members get a row when only rows are free: those in trouble
 * first, then the others in memberd's order; show[i] says. Returns how
 * many are left out.
 */
static int
pick_members(const struct top *t, int rows, char *show)
{
	int i, n = 0, pass;

	memset(show, 0, (size_t)t->nm);
	if (rows >= t->nm) {
		memset(show, 1, (size_t)t->nm);
		return 0;
	}
	if (rows > 0)
		rows--;		/* for the "... more" row */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < t->nm && n < rows; i++)
			if (!show[i] && (pass == 1 || top_member_tone(&t->m[i]) == TONE_BAD)) {
				show[i] = 1;
				n++;
			}
	return t->nm - n;
}

struct matrix {
	int ow, cw;		/* observer column, subject column widths */
	int width;		/* of the whole matrix */
};

static void
matrix_size(const struct top *t, struct matrix *mx)
{
	int longest = longest_name(t);

	mx->ow = clamp(longest, 3, 8);
	mx->cw = clamp(longest, 2, 4) + 1;
	mx->width = mx->ow + 1 + t->nm * mx->cw;
}

/* The matrix's heading row at row, col: the subjects' names over their columns. */
static void
matrix_head(struct lay *l, const struct matrix *mx, int row, int col)
{
	char name[8];
	int j;

	for (j = 0; j < l->t->nm; j++) {
		snprintf(name, sizeof(name), "%.*s", mx->cw - 1, l->t->m[j].node);
		frame_printf(l->f, row, col + mx->ow + 1 + j * mx->cw, STYLE_HEAD, "%*s",
		    mx->cw - 1, name);
	}
}

/* Observer i's row: '-' itself, 'X' marks the subject unreachable, '.' not. */
static void
matrix_row(struct lay *l, const struct matrix *mx, int i, int row, int col)
{
	const struct top *t = l->t;
	int j;

	frame_printf(l->f, row, col, STYLE_PLAIN, "%.*s", mx->ow, t->m[i].node);
	for (j = 0; j < t->nm; j++) {
		int c = col + mx->ow + 1 + j * mx->cw + mx->cw - 2;

		if (i == j)
			frame_put(l->f, row, c, STYLE_DIM, "-");
		else if (top_observes(&t->m[j], t->m[i].node))
			frame_put(l->f, row, c, STYLE_BAD, "X");
		else
			frame_put(l->f, row, c, l->stale ? STYLE_DIM : STYLE_PLAIN, ".");
	}
}

/* Lays out the members, and the matrix beside them when it fits; returns 1 if it did. */
static int
members(struct lay *l)
{
	const struct top *t = l->t;
	const struct top_member *m;
	struct matrix mx;
	char cnt[128], up[24], line[TOP_ROLES + 64], *show;
	int nw = clamp(longest_name(t), 4, 20), fixed = nw + 24, beside, rows, left, i, mcol;
	enum top_style st;

	if (room(l) < 2)
		return 0;
	matrix_size(t, &mx);
	/*
	 * Rows for the members: what remains after their headings, singletons
	 * and queue (3 with a blank row), the matrix's summary and a few events
	 * (2 + 2 + MIN_EVENT_ROWS); when that is too few, the last two go.
	 */
	rows = room(l) - 2 - 3 - 4 - MIN_EVENT_ROWS;
	if (rows < t->nm)
		rows = room(l) - 2 - 3;
	rows = clamp(rows, 1, room(l) - 2);
	show = xmalloc((size_t)t->nm + 1);
	left = pick_members(t, rows, show);
	/* "REACHABILITY" over it is 12 columns, from 2 before the matrix */
	beside = left == 0 && t->nm > 0 && fixed + 8 + 3 + (mx.width > 10 ? mx.width : 10) <= l->f->w;
	mcol = l->f->w - mx.width;
	counts(t, cnt, sizeof(cnt));
	frame_printf(l->f, l->row, 0, STYLE_HEAD, "MEMBERS %s", cnt);
	if (beside)
		frame_put(l->f, l->row, mcol - 2 < l->f->w - 12 ? mcol - 2 : l->f->w - 12, STYLE_HEAD,
		    "REACHABILITY");
	l->row++;
	frame_printf(l->f, l->row, 2, STYLE_HEAD, "%-*s %-8s %-5s %4s  %s", nw, "NODE",
	    "STATUS", "REACH", "UP", "ROLES");
	if (beside)
		matrix_head(l, &mx, l->row, mcol);
	l->row++;
	for (i = 0; i < t->nm && room(l) > 0; i++) {
		if (!show[i])
			continue;
		m = &t->m[i];
		st = l->stale ? STYLE_DIM : tone_style(top_member_tone(m));
		if (st == STYLE_GOOD)
			st = STYLE_PLAIN;	/* the healthy majority stays quiet */
		if (m->up_number >= 0)
			snprintf(up, sizeof(up), "%ld", m->up_number);
		else
			snprintf(up, sizeof(up), "-");
		snprintf(line, sizeof(line), "%c %-*.*s %-8s %-5s %4s  %s", marker(m), nw, nw,
		    m->node, m->status, m->reachable ? "yes" : "NO", up, m->roles[0] ? m->roles : "-");
		if (beside && (int)strlen(line) > mcol - 3)
			line[mcol - 3] = '\0';	/* the roles end where the matrix begins */
		frame_put(l->f, l->row, 0, st, line);
		if (beside) {
			frame_put(l->f, l->row, mcol - 2, STYLE_DIM, "|");
			matrix_row(l, &mx, i, l->row, mcol);
		}
		l->row++;
	}
	if (left > 0 && room(l) > 0)
		frame_printf(l->f, l->row++, 2, STYLE_DIM, "... %d more member%s", left,
		    left == 1 ? "" : "s");
	free(show);
	return beside;
}

static void
singletons(struct lay *l)
{
	const struct top *t = l->t;
	const struct top_singleton *s;
	int i, col;

	if (room(l) <= 0)
		return;
	col = frame_put(l->f, l->row, 0, STYLE_HEAD, "SINGLETONS ");
	if (t->nsg == 0)
		frame_put(l->f, l->row, col, STYLE_DIM, " none known");
	for (i = 0; i < t->nsg; i++) {
		s = &t->sg[i];
		col = frame_printf(l->f, l->row, col + 1, STYLE_PLAIN, "%s on ", s->name);
		if (s->node[0])
			col = frame_printf(l->f, l->row, col, l->stale ? STYLE_DIM : STYLE_PLAIN,
			    "%s%s", s->node, s->here ? " (here)" : "");
		else if (s->err[0])
			col = frame_put(l->f, l->row, col, STYLE_WARN, "?");
		else
			col = frame_printf(l->f, l->row, col, STYLE_WARN, "nothing%s%s%s%s%s",
			    s->state[0] ? " (" : "", s->state, s->oldest[0] ? ", oldest " : "",
			    s->oldest, s->state[0] ? ")" : "");
		/* this node's singletond of that name is gone: say so, whatever runs elsewhere */
		if (s->err[0])
			col = frame_printf(l->f, l->row, col, STYLE_WARN, " (singletond here: %s)",
			    s->err);
		col++;
	}
	l->row++;
}

static void
queue(struct lay *l)
{
	const struct top *t = l->t;
	const struct top_link *k = &t->link[SRC_QUEUE];
	enum top_style st = k->state == LINK_OK ? STYLE_PLAIN : STYLE_DIM;
	int col;

	if (room(l) <= 0)
		return;
	col = frame_put(l->f, l->row, 0, STYLE_HEAD, "QUEUE ");
	if (k->state == LINK_NONE)
		frame_put(l->f, l->row, col + 1, STYLE_DIM, "no master proxy here");
	else if (!t->have_queue && k->state == LINK_DOWN)
		frame_printf(l->f, l->row, col + 1, STYLE_WARN, "master not answering: %s", k->err);
	else if (!t->have_queue)
		frame_put(l->f, l->row, col + 1, STYLE_DIM, "asking the master...");
	else {
		col = frame_printf(l->f, l->row, col + 1, st, "pending %ld  running %ld  done %ld  ",
		    t->pending, t->running, t->done);
		col = frame_printf(l->f, l->row, col, t->failed > 0 && k->state == LINK_OK ?
		    STYLE_WARN : st, "failed %ld", t->failed);
		col = frame_printf(l->f, l->row, col, st, "  workers %ld (%ld busy)", t->workers,
		    t->busy);
		if (k->state == LINK_DOWN)
			frame_printf(l->f, l->row, col + 2, STYLE_WARN, "stale: %s", k->err);
	}
	l->row++;
}

/* The matrix below the members, or a summary row when it does not fit. */
static void
reachability(struct lay *l)
{
	const struct top *t = l->t;
	const struct top_member *m;
	struct matrix mx;
	char sum[512] = "", one[CONF_NAME_MAX * 4];
	int i, j;

	if (room(l) <= 1 || t->nm == 0)
		return;
	matrix_size(t, &mx);
	l->row++;
	if (mx.width <= l->f->w && room(l) >= t->nm + 2 + 1 + MIN_EVENT_ROWS) {
		frame_put(l->f, l->row++, 0, STYLE_HEAD, "REACHABILITY (row: observer)");
		matrix_head(l, &mx, l->row++, 2);
		for (i = 0; i < t->nm; i++)
			matrix_row(l, &mx, i, l->row++, 2);
		return;
	}
	for (i = 0; i < t->nm; i++) {
		m = &t->m[i];
		if (m->reachable)
			continue;
		snprintf(one, sizeof(one), "%s from ", m->node);
		for (j = 0; j < m->nobservers; j++) {
			size_t n = strlen(one);

			snprintf(one + n, sizeof(one) - n, "%s%s", j ? "," : "", m->observers[j]);
		}
		if (m->nobservers == 0)
			strcat(one, "?");
		list_add(sum, sizeof(sum), "; ", one);
	}
	j = frame_put(l->f, l->row, 0, STYLE_HEAD, "REACHABILITY ");
	frame_printf(l->f, l->row++, j + 1, sum[0] ? STYLE_BAD : STYLE_PLAIN, "%s",
	    sum[0] ? sum : "all reachable");
}

static void
events(struct lay *l)
{
	const struct top *t = l->t;
	const struct top_event *e;
	int i, n, first;

	if (room(l) <= 2)
		return;
	l->row++;
	if (t->missed > 0)
		frame_printf(l->f, l->row++, 0, STYLE_HEAD, "EVENTS (%llu missed, state re-read)",
		    (unsigned long long)t->missed);
	else
		frame_put(l->f, l->row++, 0, STYLE_HEAD, "EVENTS");
	n = room(l);
	first = t->nev > n ? t->nev - n : 0;
	for (i = first; i < t->nev && room(l) > 0; i++) {
		e = top_event_at(t, i);
		frame_printf(l->f, l->row, 0, STYLE_DIM, "%-8s", e->time);
		frame_put(l->f, l->row++, 10, tone_style(e->tone), e->text);
	}
}

void
top_render(const struct top *t, struct frame *f, const char *clock, int interactive)
{
	struct lay l = { t, f, 0, interactive ? f->h - 1 : f->h, 0 };

	l.stale = t->link[SRC_MEMBERD].state == LINK_DOWN;
	memset(f->txt, ' ', (size_t)f->w * (size_t)f->h);
	memset(f->style, STYLE_PLAIN, (size_t)f->w * (size_t)f->h);
	title(&l, clock);
	if (room(&l) > 0)
		links(&l);
	if (room(&l) > 0)
		leaders(&l);
	alerts(&l);
	if (room(&l) > 2) {
		l.row++;
		if (!members(&l) && room(&l) > 0) {
			l.row++;
			singletons(&l);
			queue(&l);
			reachability(&l);
		} else if (room(&l) > 0) {
			l.row++;
			singletons(&l);
			queue(&l);
		}
	}
	events(&l);
	if (interactive)
		frame_printf(f, f->h - 1, 0, STYLE_DIM, " q quit   ^L redraw%s",
		    f->w >= 60 && f->h >= 16 ? "   (! unreachable  x Down  + joining  - leaving)" :
		    "");
}

int
top_rows_wanted(const struct top *t)
{
	/* title, links, leaders, 5 alerts, members, singletons and queue, matrix, events */
	return 3 + 5 + 1 + 2 + t->nm + 1 + 2 + 3 + t->nm + 2 + MIN_EVENT_ROWS + t->nev + 1;
}
