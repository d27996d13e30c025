/*
 * topmodel.h: what akc-top shows, built from the answers of the node's
 * daemons (memberd status, leaderd, each singletond, the master's queue)
 * and memberd's events. No I/O: akc-top.c feeds it, topview.c draws it,
 * t/unit/test-top drives both.
 */
#ifndef AKC_TOPMODEL_H
#define AKC_TOPMODEL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"

#define TOP_EVENTS	128	/* recent events kept */
#define TOP_TEXT	160	/* an event line's text, a link's error */
#define TOP_ROLES	128	/* roles of a member, comma-joined */
#define TOP_SINGLETONS	32

/* How an event line or a member reads: the view maps these to attributes. */
enum top_tone {
	TONE_PLAIN,
	TONE_GOOD,		/* Up, reachable again, started */
	TONE_WARN,		/* leaving, joining, no convergence, a missed event */
	TONE_BAD,		/* unreachable, Down, a daemon gone */
};

/* Where akc-top gets its data from, each watched on its own. */
enum top_src {
	SRC_MEMBERD,		/* memberd.ctl: status, snapshot */
	SRC_EVENTS,		/* memberd.events */
	SRC_LEADERD,		/* leaderd.ctl */
	SRC_QUEUE,		/* the master, through singleton.master */
	SRC_COUNT
};

enum top_link_state {
	LINK_WAIT,		/* not asked yet, or the first answer is due */
	LINK_OK,
	LINK_DOWN,		/* not running, not answering: err says which */
	LINK_NONE,		/* nothing to ask here (the queue: no master proxy on this node) */
};

struct top_link {
	enum top_link_state state;
	char err[TOP_TEXT];
};

struct top_member {
	char node[CONF_NAME_MAX];
	char uid[24];
	char status[16];
	char roles[TOP_ROLES];
	long up_number;		/* -1: none yet */
	int reachable;
	/* the members whose failure detector marks this one unreachable */
	char (*observers)[CONF_NAME_MAX];
	int nobservers;
};

struct top_singleton {
	char name[CONF_NAME_MAX];
	char node[CONF_NAME_MAX];	/* where it runs; "" nowhere known */
	char state[32];			/* the local singletond's, "" if none answered */
	char oldest[CONF_NAME_MAX];
	char err[TOP_TEXT];		/* the local singletond did not answer */
	int here;
	long pid;
};

struct top_event {
	char time[16];		/* HH:MM:SS */
	char text[TOP_TEXT];
	enum top_tone tone;
};

struct top {
	char self[CONF_NAME_MAX];
	char phase[16];
	char uid[24];			/* memberd's incarnation: a new one restarted */
	char leader[CONF_NAME_MAX];
	char role_leaders[TOP_ROLES * 2];	/* "backend=n1 worker=n2" */
	int have_status;		/* a status answer has come once */
	int convergence;
	int majority_ok, majority_reachable, majority_of;	/* majority_of 0: unknown */
	char status_time[16];		/* HH:MM:SS of the last status answer */

	struct top_member *m;
	int nm, mcap;

	struct top_singleton sg[TOP_SINGLETONS];
	int nsg;

	int have_queue;
	long pending, running, done, failed, workers, busy, standbys;

	struct top_link link[SRC_COUNT];
	uint64_t seq;			/* the last event applied */
	uint64_t missed;		/* events PUB dropped, re-read since */

	struct top_event ev[TOP_EVENTS];
	int evhead, nev;		/* ring: the oldest at evhead */
};

void top_init(struct top *, const char *self);
void top_free(struct top *);
/*
 * Replaces the members and the cluster's figures with memberd's status
 * answer. Returns 1 when memberd's uid changed since the last answer (it
 * restarted: the event stream must be read again from a snapshot), 0
 * otherwise, -1 when the answer is malformed (nothing changed).
 */
int top_apply_status(struct top *, const cJSON *rsp, const char *now_hms);
/*
 * Applies one cluster event (akc-events' shape) to the members, leader
 * and singletons; logged adds its line to the recent events. Events it
 * cannot read are ignored.
 */
void top_apply_event(struct top *, const cJSON *ev, int logged);
/* The master's queue answer; NULL: none (the link says why). */
void top_apply_queue(struct top *, const cJSON *rsp);
/*
 * A local singletond's status answer for singleton name, or err when it did
 * not answer; both NULL: no singletond of that name runs here (where the
 * singleton runs is then known from events only).
 */
void top_apply_singleton(struct top *, const char *name, const cJSON *rsp, const char *err);
/* Where singletons run is about to be read again from a snapshot's events. */
void top_forget_singletons(struct top *);
/* Records a source's state; returns 1 when it changed (up, down, or another error). */
int top_link_set(struct top *, enum top_src, enum top_link_state, const char *err);
/* Adds a line of akc-top's own to the recent events (a daemon went away, events missed). */
void top_note(struct top *, const char *hms, enum top_tone, const char *fmt, ...)
    __attribute__((__format__(__printf__, 4, 5)));
/* The recent event i (0: the oldest kept). */
const struct top_event *top_event_at(const struct top *, int i);
const struct top_member *top_member_find(const struct top *, const char *node);
/* Whether observer marks subject unreachable. */
int top_observes(const struct top_member *subject, const char *observer);
enum top_tone top_member_tone(const struct top_member *);

#endif
