/* submit.h: what akc-submit's single and batch modes share. */
#ifndef AKC_SUBMIT_H
#define AKC_SUBMIT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "workcall.h"

#define BATCH_SOCKETS	32	/* requests in flight with --batch (the proxy takes 64) */

struct submit_opts {			/* sent only when given */
	long priority;			/* -1: not given */
	long delay_ms;			/* 0: none */
	long timeout_ms;		/* 0: none */
};

struct batch_opts {
	struct submit_opts job;
	int with_ids;			/* lines are ID<TAB>PAYLOAD */
	const char *id_prefix;		/* ids are PREFIX + line number; NULL: random */
};

/* The submit request for id with payload (base64) and the options given. */
cJSON *submit_request(const char *id, const char *b64, const struct submit_opts *);
/* --batch: the jobs of standard input's lines; returns the exit status. */
int submit_batch(struct workcall *, const struct batch_opts *);

#endif
