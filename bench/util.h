/*
 * bench/util.h: what the bench clients share. Their clocks are in ms as
 * doubles: a latency is often below a millisecond, and lib/clock's integer
 * ms would round it away.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <sys/time.h>

/* CLOCK_REALTIME in ms: logged times that other processes' logs are compared with. */
double wall_ms(void);
/* CLOCK_MONOTONIC in ms: durations and deadlines. */
double mono_ms(void);
/* A struct timeval (getrusage's CPU times) in ms. */
double tv_ms(const struct timeval *);

#endif
