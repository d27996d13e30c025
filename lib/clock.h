/* clock.h: monotonic milliseconds for timeouts, wall time only for printing. */
#ifndef AKC_CLOCK_H
#define AKC_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t msec_t;

msec_t clock_mono_ms(void);
int64_t clock_wall_ms(void);
/* Microseconds, for measuring short stages (the master's commit trace). */
int64_t clock_mono_us(void);
int64_t clock_wall_us(void);
/* Formats wall time as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
void clock_rfc3339(int64_t wall_ms, char *buf, size_t len);

#endif
