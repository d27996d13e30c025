/* phi.c: phi accrual failure detector over a bounded window of intervals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "phi.h"
#include "xmalloc.h"

void
phi_init(struct phi *p, const struct phi_conf *c)
{
	memset(p, 0, sizeof(*p));
	p->conf = c;
	p->last = -1;
	p->cap = c->max_samples < 16 ? c->max_samples : 16;
	p->iv = xcalloc((size_t)p->cap, sizeof(double));
}

void
phi_free(struct phi *p)
{
	free(p->iv);
	p->iv = NULL;
}

static void
add_interval(struct phi *p, double x)
{
	int max = p->conf->max_samples;

	if (p->n == p->cap && p->cap < max) {
		/*
		 * Full: grow the window, the ring laid out oldest first so that
		 * the new room follows the newest sample. (Growing in place
		 * once head had wrapped overwrote the oldest samples without
		 * taking them out of the sums, and later subtracted slots never
		 * written: after max-sample-size heartbeats the mean drifted,
		 * even to huge negative values, and a live member went
		 * unreachable for good.)
		 */
		int cap = p->cap * 2 < max ? p->cap * 2 : max, i;
		double *iv = xcalloc((size_t)cap, sizeof(double));

		for (i = 0; i < p->n; i++)
			iv[i] = p->iv[(p->head + i) % p->cap];
		free(p->iv);
		p->iv = iv;
		p->cap = cap;
		p->head = p->n % cap;
	}
	if (p->n == max) {
		double old = p->iv[p->head];

		p->sum -= old;
		p->sumsq -= old * old;
		p->n--;
	}
	p->iv[p->head] = x;
	p->head = (p->head + 1) % p->cap;
	p->n++;
	p->sum += x;
	p->sumsq += x * x;
}

double
phi_mean(const struct phi *p)
{
	return p->n ? p->sum / p->n : (double)p->conf->heartbeat_interval;
}

double
phi_stddev(const struct phi *p)
{
	double m = phi_mean(p), var;

	if (p->n == 0)
		return 0;
	var = p->sumsq / p->n - m * m;
	return var > 0 ? sqrt(var) : 0;
}

void
phi_heartbeat(struct phi *p, msec_t now)
{
	double hb = (double)p->conf->heartbeat_interval;
	double d = (double)p->conf->min_std_deviation;

	if (p->last < 0) {
		/*
		 * Bootstrap: mean = the interval, deviation = min-std-deviation.
		 * Akka starts from interval/4 (250 ms by default), which leaves a
		 * new watcher about 0.8 s slower to detect a crash for its first
		 * dozen heartbeats; the acceptable pause, not the deviation, is what
		 * guards against false alarms, so we start at the floor.
		 */
		if (d > hb / 4)
			d = hb / 4;
		p->n = p->head = 0;
		p->sum = p->sumsq = 0;
		add_interval(p, hb - d);
		add_interval(p, hb + d);
	} else if (phi_available(p, now)) {
		/* the interval that ends an outage is not a sample of normal life */
		add_interval(p, (double)(now - p->last));
	}
	p->last = now;
}

/* phi for a delay of dt ms after the last heartbeat (logistic approximation). */
static double
phi_at(const struct phi *p, double dt)
{
	double mean = phi_mean(p) + (double)p->conf->acceptable_pause;
	double sd = phi_stddev(p), y, e;

	if (sd < (double)p->conf->min_std_deviation)
		sd = (double)p->conf->min_std_deviation;
	y = (dt - mean) / sd;
	e = exp(-y * (1.5976 + 0.070566 * y * y));
	if (dt > mean)
		return -log10(e / (1.0 + e));
	return -log10(1.0 - 1.0 / (1.0 + e));
}

double
phi_value(const struct phi *p, msec_t now)
{
	if (p->last < 0)
		return 0;
	return phi_at(p, (double)(now - p->last));
}

int
phi_available(const struct phi *p, msec_t now)
{
	return phi_value(p, now) < p->conf->threshold;
}

msec_t
phi_deadline(const struct phi *p)
{
	double lo = 0, hi = 1000;

	if (p->last < 0)
		return -1;
	while (phi_at(p, hi) < p->conf->threshold && hi < 1e9)
		hi *= 2;
	while (hi - lo > 0.5) {
		double mid = (lo + hi) / 2;

		if (phi_at(p, mid) < p->conf->threshold)
			lo = mid;
		else
			hi = mid;
	}
	return p->last + (msec_t)ceil(hi);
}
