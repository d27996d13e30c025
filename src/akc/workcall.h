/* workcall.h: the tools' side of the work protocol: requests to the master through the local proxy. */
#ifndef AKC_WORKCALL_H
#define AKC_WORKCALL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "proto.h"
#include "spc.h"
#include "tool.h"

/* singletond's bound on a proxied request or answer (MAX_BODY in singletond.c). */
#define WORK_PROXY_MAX		PROXY_MAX_BODY	/* proto.h */
/* How long a tool waits for each answer unless told otherwise (--timeout). */
#define WORK_TIMEOUT		30000

enum wc_outcome {
	WC_OK,			/* the master answered ok */
	WC_REFUSED,		/* the master answered ok: false (code 1 or 2) */
	WC_UNREACHABLE,		/* no answer in time, or the proxy answered for it */
};

struct workcall {
	struct tool *t;
	struct spc c;		/* the REQ connection to the proxy */
	char addr[CONF_PATH_MAX + 32];
	msec_t timeout;
};

/*
 * Prepares the REQ connection to the local proxy (made at the first request). Exits 3 when the proxy's socket
 * does not exist (singletond -s master not running on this node).
 */
void wc_open(struct workcall *, struct tool *, msec_t timeout);
void wc_close(struct workcall *);
/* Another REQ connection to the same proxy (for requests in flight at once), made at its first request. */
void wc_conn(struct workcall *, struct spc *);
/* Has c try the local master's own socket before the proxy (wc_open and wc_conn do). */
void wc_prefer(struct workcall *, struct spc *);
/* Classifies an answer's n bytes in buf as wc_try does (wc_try's outcomes). */
enum wc_outcome wc_answer(const struct workcall *, const void *buf, size_t n, cJSON **rsp,
    long *code, char *err, size_t errlen);
/* {"op": op} */
cJSON *wc_request(const char *op);
/*
 * One exchange: sends req (freed) and waits up to the timeout. WC_OK sets
 * *rsp; WC_REFUSED sets *code (1 or 2) and the master's message in err;
 * WC_UNREACHABLE leaves a one-line reason naming the socket in err.
 */
enum wc_outcome wc_try(struct workcall *, cJSON *req, cJSON **rsp, long *code,
    char *err, size_t errlen);
/*
 * The same, with failures mapped to the contract's exits: the master's
 * message and its code (1 refused, 2 malformed), or 3 naming the socket.
 */
cJSON *wc_call(struct workcall *, cJSON *req);
/*
 * The whole of a tool that asks the master one op about one job
 * ("PROG [-c FILE] [--timeout DURATION] ID": akc-job, akc-cancel): parses
 * its flags, checks the id, opens w and returns the answer to
 * {"op": op, "id": ID} (wc_call's exits on errors); *id is set to ID.
 */
cJSON *wc_id_call(struct workcall *w, struct tool *t, int argc, char **argv, const char *op,
    const char **id);

/* Sequence numbers: sent as JSON numbers, read as numbers or decimal strings. */
void wc_add_seq(cJSON *obj, const char *key, uint64_t v);
int wc_get_seq(const cJSON *obj, const char *key, uint64_t *out);
/* "30s", "1500ms": a duration for messages. */
void wc_fmt_ms(msec_t ms, char *buf, size_t len);

#endif
