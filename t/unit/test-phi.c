/* test-phi.c: the phi accrual failure detector's values and deadline. */
#include <math.h>
#include <stdlib.h>

#include "phi.h"
#include "unit.h"

static struct phi_conf conf = { 8.0, 1000, 3000, 100, 1000 };

static void
never_heard(void)
{
	struct phi p;

	phi_init(&p, &conf);
	CHECK(phi_value(&p, 5000) == 0);
	CHECK(phi_available(&p, 100000));
	CHECK_INT(phi_deadline(&p), -1);
	phi_free(&p);
}

static void
bootstrap(void)
{
	struct phi p;

	phi_init(&p, &conf);
	phi_heartbeat(&p, 0);
	CHECK(fabs(phi_mean(&p) - 1000) < 1e-9);
	CHECK(fabs(phi_stddev(&p) - 100) < 1e-9);	/* min-std-deviation */
	phi_free(&p);
}

/* Regular 1 s beats: phi small just after a beat, 8 at about 4.5 s. */
/* A new watcher detects as fast as an old one: the crossing does not wait for samples. */
static void
fresh_watcher(void)
{
	struct phi p;
	msec_t d;

	phi_init(&p, &conf);
	phi_heartbeat(&p, 0);
	d = phi_deadline(&p);
	CHECK(d >= 4400 && d <= 4600);
	phi_free(&p);
}

static void
regular_beats(void)
{
	struct phi p;
	msec_t t, cross = -1, dl;
	double prev = -1;

	phi_init(&p, &conf);
	for (t = 0; t <= 100000; t += 1000)
		phi_heartbeat(&p, t);
	t -= 1000;
	CHECK(phi_value(&p, t + 1000) < 0.1);
	for (msec_t d = 0; d < 10000; d += 10) {
		double v = phi_value(&p, t + d);

		CHECK(v >= prev);	/* monotonic in the elapsed time */
		prev = v;
		if (cross < 0 && v >= 8.0)
			cross = d;
	}
	CHECK(cross >= 4000 && cross <= 5500);
	dl = phi_deadline(&p);
	CHECK(phi_value(&p, dl - 1) < 8.0);
	CHECK(phi_value(&p, dl) >= 8.0);
	CHECK(labs((long)(dl - t - cross)) <= 10);
	phi_free(&p);
}

/* The interval that ends an outage is not learnt as normal. */
static void
outage_not_recorded(void)
{
	struct phi p;
	msec_t t;
	double mean;

	phi_init(&p, &conf);
	for (t = 0; t <= 20000; t += 1000)
		phi_heartbeat(&p, t);
	mean = phi_mean(&p);
	phi_heartbeat(&p, 20000 + 30000);
	CHECK(fabs(phi_mean(&p) - mean) < 1e-9);
	phi_heartbeat(&p, 51000);
	CHECK(phi_mean(&p) < 1100);
	phi_free(&p);
}

/* The window keeps max-sample-size intervals: old ones age out. */
static void
bounded_window(void)
{
	struct phi_conf small = { 8.0, 1000, 3000, 100, 10 };
	struct phi p;
	msec_t t = 0;
	int i;

	phi_init(&p, &small);
	phi_heartbeat(&p, t);
	for (i = 0; i < 50; i++)
		phi_heartbeat(&p, t += 2000);
	CHECK_INT(p.n, 10);
	CHECK(fabs(phi_mean(&p) - 2000) < 1e-9);
	CHECK(phi_stddev(&p) < 1e-6);
	phi_free(&p);
}

/*
 * The window grows from 16 samples to max-sample-size as heartbeats come:
 * across every growth and past the bound, the mean and deviation are
 * those of the last samples. (Growing a ring that had wrapped kept
 * overwritten samples in the sums and later took out slots never written:
 * by 1000 heartbeats the mean was off, and could turn huge and negative.)
 */
static void
window_grows(void)
{
	struct phi p;
	msec_t t = 0;
	int i;

	phi_init(&p, &conf);
	phi_heartbeat(&p, t);
	/* 100 ms for 1500 beats, then 300 ms for 1000: the first must all age out */
	for (i = 0; i < 1500; i++) {
		phi_heartbeat(&p, t += 100);
		if (i == 1100 || i == 1499) {	/* the bootstrap samples gone */
			CHECK(fabs(phi_mean(&p) - 100) < 1e-6);
			CHECK(phi_stddev(&p) < 1e-3);
		}
	}
	CHECK_INT(p.n, 1000);
	for (i = 0; i < 1000; i++)
		phi_heartbeat(&p, t += 300);
	CHECK(fabs(phi_mean(&p) - 300) < 1e-6);
	CHECK(phi_stddev(&p) < 1e-3);
	/* a beat on time is no suspicion at all */
	CHECK(phi_value(&p, t + 300) < 1.0);
	phi_free(&p);
}

int
main(void)
{
	RUN(never_heard);
	RUN(bootstrap);
	RUN(fresh_watcher);
	RUN(regular_beats);
	RUN(outage_not_recorded);
	RUN(bounded_window);
	RUN(window_grows);
	return unit_done();
}
