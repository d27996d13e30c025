/*
 * quiet.c: lib/log.c for the fuzz targets: messages about the bad input they
 * are fed are formatted (their arguments are read, so ASan sees them) but
 * not printed; fatal() aborts, so that libFuzzer reports it as a crash (a
 * message must never stop a daemon).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int verbose;

static void
format(const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
}

void
log_init(const char *name)
{
	(void)name;
}

void
log_setverbose(int level)
{
	verbose = level;
}

int
log_getverbose(void)
{
	return verbose;
}

const char *
log_procname(void)
{
	return "fuzz";
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn))
die(const char *fmt, va_list ap)
{
	fputs("fatal: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	abort();
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die(fmt, ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die(fmt, ap);
}

/* The level (names: lib/loglevel.c) and the other levels' functions, quiet as well. */
static int level = 6;

void
log_init_daemon(const char *name)
{
	(void)name;
}

void
log_setlevel(int pri)
{
	level = pri;
}

int
log_getlevel(void)
{
	return level;
}

int
log_journal(void)
{
	return 0;
}

void
log_msg(int pri, const char *fmt, ...)
{
	va_list ap;

	(void)pri;
	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void
log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}
