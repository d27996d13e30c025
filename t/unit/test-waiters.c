/* test-waiters.c: the master's parked results and status long polls (src/master/waiters.c). */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "waiters.h"

static struct waiter
results_w(uint64_t since, msec_t until, unsigned char tag)
{
	struct waiter w;

	memset(&w, 0, sizeof(w));
	w.kind = WAIT_RESULTS;
	w.since = since;
	w.max = 100;
	w.until = until;
	w.hdr[0] = tag;
	w.hdrlen = 4;
	return w;
}

static struct waiter
status_w(const char *id, msec_t until, unsigned char tag)
{
	struct waiter w;

	memset(&w, 0, sizeof(w));
	w.kind = WAIT_STATUS;
	snprintf(w.id, sizeof(w.id), "%s", id);
	w.until = until;
	w.hdr[0] = tag;
	w.hdrlen = 4;
	return w;
}

/* Whether the k taken waiters hold exactly the tags in want (any order). */
static int
taken_tags(const struct waiters *ws, int k, const char *want)
{
	char got[64] = "";
	int i, j;

	if (k != (int)strlen(want))
		return 0;
	for (i = 0; i < k; i++)
		got[i] = (char)ws->w[ws->n + i].hdr[0];
	for (i = 0; want[i]; i++) {
		for (j = 0; j < k && got[j] != want[i]; j++)
			;
		if (j == k)
			return 0;
		got[j] = 0;
	}
	return 1;
}

static void
results_wake_by_seq(void)
{
	struct waiters ws;
	struct waiter w;
	int k;

	waiters_init(&ws);
	w = results_w(10, 1000, 'a');
	CHECK_INT(waiters_park(&ws, &w), 0);
	w = results_w(20, 1000, 'b');
	CHECK_INT(waiters_park(&ws, &w), 0);
	w = results_w(5, 1000, 'c');
	CHECK_INT(waiters_park(&ws, &w), 0);
	CHECK_INT(ws.nresults, 3);
	/* a line at 10 is not news to one asking since 10 */
	CHECK_INT(waiters_take_results(&ws, 10), 1);
	CHECK(taken_tags(&ws, 1, "c"));
	CHECK_INT(ws.n, 2);
	k = waiters_take_results(&ws, 21);
	CHECK_INT(k, 2);
	CHECK(taken_tags(&ws, k, "ab"));
	CHECK_INT(ws.n, 0);
	CHECK_INT(ws.nresults, 0);
	CHECK_INT(ws.woken, 3);
	CHECK_INT(waiters_take_results(&ws, 100), 0);
	waiters_free(&ws);
}

static void
status_wake_by_id(void)
{
	struct waiters ws;
	struct waiter w;
	int k;

	waiters_init(&ws);
	w = status_w("job-1", 1000, 'a');
	waiters_park(&ws, &w);
	w = status_w("job-2", 1000, 'b');
	waiters_park(&ws, &w);
	w = status_w("job-1", 1000, 'c');
	waiters_park(&ws, &w);
	w = results_w(0, 1000, 'd');
	waiters_park(&ws, &w);
	CHECK_INT(ws.nstatus, 3);
	CHECK_INT(waiters_take_status(&ws, "job-3"), 0);
	k = waiters_take_status(&ws, "job-1");
	CHECK_INT(k, 2);
	CHECK(taken_tags(&ws, k, "ac"));
	CHECK_INT(ws.nstatus, 1);
	/* a results wake leaves status waiters alone, and the other way round */
	k = waiters_take_results(&ws, 50);
	CHECK(taken_tags(&ws, k, "d"));
	CHECK_INT(ws.n, 1);
	CHECK_STR(ws.w[0].id, "job-2");
	waiters_free(&ws);
}

static void
expiry_and_deadline(void)
{
	struct waiters ws;
	struct waiter w;
	int k;

	waiters_init(&ws);
	CHECK_INT(waiters_next_deadline(&ws), -1);
	w = results_w(0, 300, 'a');
	waiters_park(&ws, &w);
	w = status_w("x", 100, 'b');
	waiters_park(&ws, &w);
	w = results_w(0, 200, 'c');
	waiters_park(&ws, &w);
	CHECK_INT(waiters_next_deadline(&ws), 100);
	CHECK_INT(waiters_take_expired(&ws, 99), 0);
	k = waiters_take_expired(&ws, 200);
	CHECK(taken_tags(&ws, k, "bc"));
	CHECK_INT(ws.expired, 2);
	CHECK_INT(ws.nstatus, 0);
	CHECK_INT(ws.nresults, 1);
	CHECK_INT(waiters_next_deadline(&ws), 300);
	k = waiters_take_expired(&ws, 1000);
	CHECK(taken_tags(&ws, k, "a"));
	CHECK_INT(waiters_next_deadline(&ws), -1);
	waiters_free(&ws);
}

static void
bounded(void)
{
	struct waiters ws;
	struct waiter w = results_w(0, 1000, 'a');
	int i, fails = 0;

	waiters_init(&ws);
	for (i = 0; i < WAITERS_MAX + 10; i++)
		if (waiters_park(&ws, &w) < 0)
			fails++;
	CHECK_INT(ws.n, WAITERS_MAX);
	CHECK_INT(fails, 10);
	CHECK_INT(ws.full, 10);
	CHECK_INT(waiters_take_results(&ws, 1), WAITERS_MAX);
	CHECK_INT(ws.n, 0);
	/* room again once they are answered */
	CHECK_INT(waiters_park(&ws, &w), 0);
	waiters_free(&ws);
}

/* The taken ones stay readable while others are still parked behind them. */
static void
taken_then_park(void)
{
	struct waiters ws;
	struct waiter w;
	int i, k;

	waiters_init(&ws);
	for (i = 0; i < 40; i++) {
		w = results_w((uint64_t)i, 1000, (unsigned char)('A' + i % 26));
		waiters_park(&ws, &w);
	}
	k = waiters_take_results(&ws, 10);	/* since 0..9 */
	CHECK_INT(k, 10);
	CHECK_INT(ws.n, 30);
	for (i = 0; i < k; i++)
		CHECK(ws.w[ws.n + i].since < 10);
	for (i = 0; i < ws.n; i++)
		CHECK(ws.w[i].since >= 10);
	waiters_free(&ws);
}

int
main(void)
{
	RUN(results_wake_by_seq);
	RUN(status_wake_by_id);
	RUN(expiry_and_deadline);
	RUN(bounded);
	RUN(taken_then_park);
	return unit_done();
}
