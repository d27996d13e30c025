/* bench/util.c: the bench clients' shared clocks (see util.h). */
#include <time.h>

#include "util.h"

static double
ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double
wall_ms(void)
{
	return ms(CLOCK_REALTIME);
}

double
mono_ms(void)
{
	return ms(CLOCK_MONOTONIC);
}

double
tv_ms(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}
