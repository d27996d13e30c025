/* log.h: one logging interface for every akc program (stderr, systemd style, with levels). */
#ifndef AKC_LOG_H
#define AKC_LOG_H

#include <stdarg.h>
#include <syslog.h>	/* the levels are syslog's: LOG_ERR (3) ... LOG_DEBUG (7) */

#define AKC_PRINTF(a, b) __attribute__((__format__(__printf__, a, b)))

/*
 * A tool's lines are "PROG: message", nothing more (CONTRACT: errors of the
 * tools). A daemon's lines start with the syslog priority "<N>" when stderr
 * is the journal's stream (JOURNAL_STREAM names stderr's device:inode, as
 * systemd.exec(5) documents), and with an RFC 3339 UTC time with
 * milliseconds otherwise.
 */
void log_init(const char *procname);
void log_init_daemon(const char *procname);
/* Lines less severe than pri (LOG_ERR ... LOG_DEBUG) are dropped; the default is LOG_INFO. */
void log_setlevel(int pri);
int log_getlevel(void);
/* "err", "warning", "notice", "info", "debug" to LOG_ERR ... LOG_DEBUG; -1 for anything else. */
int log_level_parse(const char *name);
const char *log_level_name(int pri);
/* Whether the lines go to the journal (then each starts with "<N>"). */
int log_journal(void);
/* Kept for older callers: 0 is LOG_INFO, 1 or more LOG_DEBUG. */
void log_setverbose(int level);
int log_getverbose(void);
const char *log_procname(void);

/* A line at priority pri, for callers whose level depends on what happened. */
void log_msg(int pri, const char *, ...) AKC_PRINTF(2, 3);
/* err: the process is in trouble (fatal/fatalx also exit 1); the ones without x add strerror. */
void log_err(const char *, ...) AKC_PRINTF(1, 2);
void log_errx(const char *, ...) AKC_PRINTF(1, 2);
void log_warn(const char *, ...) AKC_PRINTF(1, 2);
void log_warnx(const char *, ...) AKC_PRINTF(1, 2);
void log_notice(const char *, ...) AKC_PRINTF(1, 2);
void log_info(const char *, ...) AKC_PRINTF(1, 2);
void log_debug(const char *, ...) AKC_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *, ...) AKC_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *, ...) AKC_PRINTF(1, 2);

#endif
