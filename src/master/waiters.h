/*
 * waiters.h: the master's parked client requests, without I/O: `results`
 * and `status` asked with `wait` when there is nothing new to tell yet.
 * They are answered when a result line that concerns them is committed
 * (master.c looks at the result lines the commit point passed and asks
 * here who they wake) or when their wait ends. Bounded: past WAITERS_MAX
 * a request is answered at once instead of parked. Not journaled: a new
 * master (failover) starts with none, and clients ask again.
 */
#ifndef MASTER_WAITERS_H
#define MASTER_WAITERS_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "proto.h"
#include "sock.h"

#define WAITERS_MAX	4096		/* parked at once; more are answered at once */

enum waiter_kind { WAIT_RESULTS, WAIT_STATUS };

struct waiter {
	enum waiter_kind kind;
	unsigned char hdr[SOCK_HDR_MAX];	/* the request's routing header */
	size_t hdrlen;
	uint64_t since;			/* results: woken by a committed line past this seq */
	long max;			/* results: lines in the answer at most */
	char id[WORK_ID_MAX + 1];	/* status: woken when this job's result line is committed */
	msec_t until;			/* then answered with what there is */
};

struct waiters {
	struct waiter *w;		/* parked: w[0 .. n); taken ones follow, see below */
	int n, cap, nresults, nstatus;
	uint64_t parked, woken, expired, full;	/* ever: parked, woken by a commit, timed out,
						   answered at once for want of room */
};

void waiters_init(struct waiters *);
void waiters_free(struct waiters *);
/* Parks a copy of *w; -1 (and counts it in full) when WAITERS_MAX are parked. */
int waiters_park(struct waiters *, const struct waiter *w);
/*
 * The take functions move the waiters they wake out of the parked ones and
 * return how many: they are ws->w[ws->n .. ws->n + k), valid until the next
 * waiters_park.
 *
 * waiters_take_results: the results waiters with since < seq (a result line
 * at seq is committed). waiters_take_status: the status waiters for job id.
 * waiters_take_expired: every waiter whose until <= now.
 */
int waiters_take_results(struct waiters *, uint64_t seq);
int waiters_take_status(struct waiters *, const char *id);
int waiters_take_expired(struct waiters *, msec_t now);
/* The earliest until of a parked waiter, or -1 when none is parked. */
msec_t waiters_next_deadline(const struct waiters *);

#endif
