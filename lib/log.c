/*
 * log.c: stderr logging with levels. Every line goes out in one write(2),
 * so that a singletond and the master it runs, which share one stderr, do
 * not interleave halves of lines; control characters in a message become
 * '?' (a newline would start a journal entry without its priority).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define LINE_MAX_BYTES	8192

enum style { STYLE_TOOL, STYLE_TIME, STYLE_JOURNAL };

static const char *procname = "akc";
static enum style style = STYLE_TOOL;
static int level = LOG_INFO;

void
log_init(const char *name)
{
	procname = name;
	style = STYLE_TOOL;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

/* Whether JOURNAL_STREAM ("DEV:INODE") names the file stderr is. */
static int
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char extra;

	if (e == NULL || sscanf(e, "%llu:%llu%c", &dev, &ino, &extra) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init_daemon(const char *name)
{
	log_init(name);
	style = stderr_is_journal() ? STYLE_JOURNAL : STYLE_TIME;
}

int
log_journal(void)
{
	return style == STYLE_JOURNAL;
}

void
log_setlevel(int pri)
{
	level = pri < LOG_ERR ? LOG_ERR : pri > LOG_DEBUG ? LOG_DEBUG : pri;
}

int
log_getlevel(void)
{
	return level;
}

void
log_setverbose(int v)
{
	log_setlevel(v > 0 ? LOG_DEBUG : LOG_INFO);
}

int
log_getverbose(void)
{
	return level >= LOG_DEBUG;
}

const char *
log_procname(void)
{
	return procname;
}

static void vlog(int, const char *, va_list, const char *) AKC_PRINTF(2, 0);

static void
vlog(int pri, const char *fmt, va_list ap, const char *err)
{
	char line[LINE_MAX_BYTES], ts[40];
	size_t n = 0, start, off, i;
	ssize_t w;
	int r;

	if (pri > level)
		return;
	if (style == STYLE_JOURNAL)
		r = snprintf(line, sizeof(line), "<%d>%s: ", pri, procname);
	else if (style == STYLE_TIME) {
		clock_rfc3339(clock_wall_ms(), ts, sizeof(ts));
		r = snprintf(line, sizeof(line), "%s %s: ", ts, procname);
	} else
		r = snprintf(line, sizeof(line), "%s: ", procname);
	n = r < 0 ? 0 : (size_t)r;
	start = n;
	/* room for the newline is kept; a longer message is cut, and says so */
	if (n < sizeof(line) - 1) {
		r = vsnprintf(line + n, sizeof(line) - 1 - n, fmt, ap);
		n = r < 0 ? n : n + (size_t)r;
	}
	if (err != NULL && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - 1 - n, ": %s", err);
		n = r < 0 ? n : n + (size_t)r;
	}
	if (n >= sizeof(line) - 1) {
		n = sizeof(line) - 1;
		memcpy(line + n - 3, "...", 3);
	}
	for (i = start; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = line[i] == '\t' ? ' ' : '?';
	line[n++] = '\n';
	fflush(stderr);
	for (off = 0; off < n; off += (size_t)w)
		if ((w = write(STDERR_FILENO, line + off, n - off)) < 0) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			break;
		}
}

#define LOGFN(name, pri, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
								\
	va_start(ap, fmt);					\
	vlog(pri, fmt, ap, with_errno ? strerror(saved) : NULL); \
	va_end(ap);						\
	errno = saved;						\
}

LOGFN(log_err, LOG_ERR, 1)
LOGFN(log_errx, LOG_ERR, 0)
LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)
LOGFN(log_notice, LOG_NOTICE, 0)
LOGFN(log_info, LOG_INFO, 0)
LOGFN(log_debug, LOG_DEBUG, 0)

void
log_msg(int pri, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
