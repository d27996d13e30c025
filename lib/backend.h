/*
 * backend.h: requests to the node's daemons (memberd, leaderd, singletond,
 * the master through its proxy), many at once and never waited for: the
 * answer comes back through the event loop. akc-httpd and akc-top use it.
 */
#ifndef AKC_BACKEND_H
#define AKC_BACKEND_H

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "loop.h"

/* Calls in flight at most; more are refused at once (HTTP 503). */
#define BACKEND_MAX_CALLS	512

/*
 * The end of a call: rsp is the answer (a JSON object; the callback takes
 * it), or NULL with a one-line reason in err: the daemon is not running,
 * did not answer within the timeout, or answered something malformed.
 */
typedef void (*backend_cb)(void *arg, int slot, cJSON *rsp, const char *err);

struct backend;

struct backend *backend_new(const struct akc_config *, struct loop *);
void backend_free(struct backend *);
/*
 * Sends req (freed) to the run-dir socket sockname ("memberd.ctl",
 * "singleton.master" ...). cb(arg, slot, ...) runs exactly once, always
 * later from the loop (never from inside this call), unless cancelled.
 * Answers of the control sockets (*.ctl) must carry our protocol version.
 * Returns -1 (and cb never runs) when BACKEND_MAX_CALLS are in flight.
 */
int backend_call(struct backend *, const char *sockname, cJSON *req, msec_t timeout,
    backend_cb cb, void *arg, int slot);
/* Forgets every call made for arg: their callbacks will not run. */
void backend_cancel(struct backend *, void *arg);
/* Runs due timeouts, retries and immediate failures; returns the next deadline (-1: none). */
msec_t backend_tick(struct backend *, msec_t now);
/* Calls in flight, and calls that ended without an answer (for the metrics). */
int backend_pending(const struct backend *);
uint64_t backend_failed(const struct backend *);

#endif
