/* control.h: memberd's control socket: the requests of the tools and leaderd. */
#ifndef MEMBERD_CONTROL_H
#define MEMBERD_CONTROL_H

#include <cjson/cJSON.h>

#include "node.h"

/* Answers one request; returns the reply (never NULL). */
cJSON *control_dispatch(struct node *, const cJSON *req, uint64_t event_seq, msec_t now);
/* The answer to a request that did not parse (json_parse_why says why); counted. */
cJSON *control_malformed(struct node *, const char *why);
/* A refusal: {"v","ok":false,"error":msg,"code"} (1 refused, 2 malformed). */
cJSON *control_refuse(int code, const char *msg);
/* The "members" array of akc-members --json. */
cJSON *control_members(const struct node *);

#endif
