/*
 * topview.h: akc-top's screen as text: a frame of rows and columns with a
 * style per cell, laid out for any size from the model. No curses here:
 * akc-top.c paints a frame with curses or prints it as plain text
 * (--once), and t/unit/test-top reads it.
 */
#ifndef AKC_TOPVIEW_H
#define AKC_TOPVIEW_H

#include <stdio.h>

#include "topmodel.h"

/* The styles of the screen; the painter maps them to what the terminal has. */
enum top_style {
	STYLE_PLAIN,
	STYLE_TITLE,		/* the top row */
	STYLE_HEAD,		/* section and column headings */
	STYLE_GOOD,
	STYLE_WARN,
	STYLE_BAD,		/* unreachable, Down, a daemon gone: must stand out */
	STYLE_DIM,		/* stale: the last view of a daemon that went away */
};

struct frame {
	int w, h;
	char *txt;		/* h rows of w printable ASCII bytes, no NULs */
	unsigned char *style;
};

/* A blank frame of w x h (at least 1 x 1). */
void frame_init(struct frame *, int w, int h);
void frame_free(struct frame *);
/*
 * Writes s at row, col in style, cut at the row's end; a byte that is not
 * printable ASCII is written as '?', so nothing from a daemon reaches the
 * terminal as a control sequence. Returns the column after the text.
 */
int frame_put(struct frame *, int row, int col, enum top_style, const char *s);
int frame_printf(struct frame *, int row, int col, enum top_style, const char *fmt, ...)
    __attribute__((__format__(__printf__, 5, 6)));
/* Row r as a NUL-terminated string without trailing blanks, in buf of at least w + 1. */
const char *frame_line(const struct frame *, int r, char *buf);
/* The frame as plain text, trailing blanks and blank rows at the end left out; -1 on a write error. */
int frame_print(const struct frame *, FILE *);

/*
 * Lays the model out on the frame: title, links, alerts, members (with the
 * reachability matrix beside them, below them or summed up in a line,
 * whichever fits), singletons, the queue, then as many recent events as
 * rows remain. clock is the time shown (HH:MM:SS); interactive keeps the
 * last row for the keys' help.
 */
void top_render(const struct top *, struct frame *, const char *clock, int interactive);
/* Rows top_render needs to show everything (for a frame printed once). */
int top_rows_wanted(const struct top *);

#endif
