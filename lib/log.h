/* log.h: one logging interface for every akc program (stderr, systemd style). */
#ifndef AKC_LOG_H
#define AKC_LOG_H

#include <stdarg.h>

#define AKC_PRINTF(a, b) __attribute__((__format__(__printf__, a, b)))

void log_init(const char *procname);
void log_setverbose(int level);
int log_getverbose(void);
const char *log_procname(void);
void log_warn(const char *, ...) AKC_PRINTF(1, 2);
void log_warnx(const char *, ...) AKC_PRINTF(1, 2);
void log_info(const char *, ...) AKC_PRINTF(1, 2);
void log_debug(const char *, ...) AKC_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *, ...) AKC_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *, ...) AKC_PRINTF(1, 2);

#endif
