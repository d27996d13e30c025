/*
 * downing.h: the downing policy, decided without I/O (Akka's split brain
 * resolver strategies and the old auto-down). Fed the membership state and
 * the time; returns which members to down, and why.
 */
#ifndef LEADERD_DOWNING_H
#define LEADERD_DOWNING_H

#include "clock.h"
#include "config.h"
#include "membership.h"

#define DOWN_MAX	4096

enum decision {
	DECIDE_NOTHING,
	DECIDE_DOWN_UNREACHABLE,	/* we are the surviving side */
	DECIDE_DOWN_REACHABLE,		/* we are the losing side: down ourselves */
	DECIDE_DOWN_ALL,
	DECIDE_DOWN_SOME		/* auto-down: members unreachable long enough */
};

struct downing {
	const struct akc_config *cfg;
	msec_t stable_after;	/* in force: config_stable_after for the last view's N */
	int n;			/* members in the last view */
	uint64_t signature;	/* of the unreachable set and Up/Down/Exiting members */
	msec_t stable_deadline;	/* decide when the signature has not moved until then */
	msec_t unstable_since;	/* first change while something is unreachable; 0 = stable */
	/* auto-down: since when each member is unreachable */
	uint64_t since_uid[DOWN_MAX];
	msec_t since[DOWN_MAX];
	int nsince;
};

struct verdict {
	enum decision decision;
	uint64_t down[DOWN_MAX];	/* self last */
	int ndown;
	char why[512];
};

void downing_init(struct downing *, const struct akc_config *);
/*
 * One tick. leader: whether self leads its side; returns 1 and fills v when
 * members are to be downed now, 0 otherwise.
 */
int downing_tick(struct downing *, const struct mstate *, uint64_t self, int leader,
    msec_t now, struct verdict *v);
/* When a tick may next decide something (-1: nothing timed is pending). */
msec_t downing_next_deadline(const struct downing *);
const char *decision_name(enum decision);

#endif
