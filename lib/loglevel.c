/*
 * loglevel.c: the names of the log levels ([node] log-level), apart from
 * log.c so that programs with a logger of their own (the fuzz targets'
 * t/fuzz/quiet.c) parse them the same way.
 */
#include <string.h>

#include "log.h"

static const char *level_names[] = {
	[LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int
log_level_parse(const char *name)
{
	int pri;

	for (pri = LOG_ERR; pri <= LOG_DEBUG; pri++)
		if (strcmp(name, level_names[pri]) == 0)
			return pri;
	return -1;
}

const char *
log_level_name(int pri)
{
	return pri >= LOG_ERR && pri <= LOG_DEBUG ? level_names[pri] : "?";
}
