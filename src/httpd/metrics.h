/*
 * metrics.h: the Prometheus text exposition of a node, made from the
 * answers of its daemons: no I/O, so a unit test can feed it.
 */
#ifndef HTTPD_METRICS_H
#define HTTPD_METRICS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "config.h"

struct metrics_in {
	const cJSON *status;		/* memberd's status answer, NULL if it did not answer */
	int leaderd_up;
	const cJSON *leaderd;		/* leaderd's answer ("leader", "strategy"), or NULL */
	struct {
		const char *name;
		const cJSON *st;	/* singletond's status answer, or NULL */
	} sg[CONF_MAX_SINGLETONS];
	int nsg;
	const cJSON *queue;		/* the master's queue answer when it runs here, or NULL */
	/* akc-httpd's own */
	uint64_t requests, by_class[6];
	int streams, result_streams, calls_in_flight;
	uint64_t streams_dropped, calls_failed;
};

void metrics_render(const struct metrics_in *, struct buf *out);

#endif
