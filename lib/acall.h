/*
 * acall.h: asynchronous calls to a local daemon's control socket, inside a
 * daemon's loop. ctl_call() blocks for up to its timeout: fine in a tool,
 * wrong in a daemon, whose loop must keep serving its own clients while
 * memberd is slow (DESIGN.md: never block on a peer, local ones included).
 *
 * One REQ socket, kept open; calls queue in order and one is in flight at a
 * time (a REQ socket has one request out: sending the next abandons the
 * last, whose late answer nanomsg then drops). Every call ends in exactly
 * one callback: with the answer, or with NULL and a one-line reason (not
 * running, no answer within its timeout, a bad answer).
 */
#ifndef AKC_ACALL_H
#define AKC_ACALL_H

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "loop.h"

struct acall;

/*
 * The answer (owned by acall: freed after the callback returns), or NULL
 * with err set. The callback may queue further calls.
 */
typedef void (*acall_cb)(void *arg, const cJSON *rsp, const char *err, msec_t now);

/* A caller of run-dir socket sockname (e.g. SOCK_MEMBERD_CTL); NULL on error. */
struct acall *acall_new(struct loop *, const struct akc_config *, const char *sockname);
/* Ends every queued call with "shutting down" and closes the socket. */
void acall_free(struct acall *);
/* Queues req (taken, freed), to be answered within timeout from now (queue time included). */
void acall_call(struct acall *, cJSON *req, msec_t timeout, acall_cb, void *arg, msec_t now);
/* Sends what is due and ends calls whose time is up; call every loop turn. */
void acall_tick(struct acall *, msec_t now);
/* When acall_tick must run next (-1: nothing pending). */
msec_t acall_deadline(const struct acall *);
/* Calls queued or in flight. */
int acall_pending(const struct acall *);

#endif
