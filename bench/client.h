/*
 * bench/client.h: the REQ client of bench/submit.c and bench/paced.c:
 * lib/spc's raw REQ, the client akc-submit and the worker use (no library
 * thread), or with SUBMIT_CLIENT=nn a nanomsg REQ socket (its worker thread
 * costs the client 3-4 wake-ups a request: bench/README.md, "The twelfth
 * session").
 */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include <sys/types.h>

struct cl;

/* A client of addr (ipc://...); exits 2 when it cannot be made. */
struct cl *cl_open(const char *addr);
/*
 * One request and its answer within timeout_ms: the answer's length with
 * *answer malloc'd (NUL-terminated), or -1 when none came in time.
 */
ssize_t cl_call(struct cl *, const char *req, int timeout_ms, char **answer);
void cl_close(struct cl *);

#endif
