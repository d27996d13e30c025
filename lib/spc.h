/*
 * spc.h: a REQ client of a local nanomsg REP socket (ipc://), speaking the
 * SP wire protocol over a plain unix socket, without nanomsg.
 *
 * Why: a tool that makes one request and exits paid for nanomsg's worker
 * thread, its epoll and eventfds, and for loading libnanomsg, more than for
 * its request (bench/README.md, "the work path against beanstalkd"). The
 * daemons keep nanomsg; this speaks to them as a nanomsg REQ would:
 *
 *   connect; send the 8-byte SP header "\0SP\0" + protocol (REQ, 48) + 0,
 *   read the peer's (REP, 49); then per message: 1 byte (1: normal), its
 *   size (8 bytes, big-endian), a 4-byte request id with the top bit set,
 *   the body; the answer carries the same id back.
 *
 * As nanomsg's REQ, a request whose connection breaks before its answer is
 * sent again on a new connection (the peer restarted), until the deadline.
 */
#ifndef AKC_SPC_H
#define AKC_SPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"

struct spc {
	int fd;			/* -1 while not connected */
	char path[108];		/* the unix socket (an ipc:// address without the scheme) */
	char prefer[108];	/* tried first at each connect, if set (spc_prefer) */
	uint32_t id;		/* the last request id */
	size_t max;		/* answers over this are refused */
};

/* path: "ipc://..." or a plain path; max: the largest answer taken. */
int spc_init(struct spc *, const char *addr, size_t max);
/*
 * Sends req and waits for its answer until deadline (CLOCK_MONOTONIC ms).
 * Returns the answer's length with *rsp malloc'd (NUL-terminated), or -1
 * with a one-line reason in err (errno ETIMEDOUT when the deadline passed).
 */
ssize_t spc_call(struct spc *, const void *req, size_t len, char **rsp, msec_t deadline,
    char *err, size_t errlen);
/*
 * Many requests in flight, one per connection, polled together (akc-submit
 * --batch): spc_send sends req (connecting first if need be) and returns;
 * once spc_fd is readable, spc_recv takes the answer (waiting for the rest
 * of it until deadline): its length with *rsp malloc'd, 0 when what came
 * was an older answer (poll again), or -1 with the reason in err (the
 * connection broke: spc_send again; or the deadline passed).
 */
int spc_send(struct spc *, const void *req, size_t len, msec_t deadline, char *err, size_t errlen);
ssize_t spc_recv(struct spc *, char **rsp, msec_t deadline, char *err, size_t errlen);
int spc_fd(const struct spc *);
void spc_close(struct spc *);
/*
 * Each connect tries addr first, once, and the socket spc_init named when
 * nothing answers there (the local master's own socket, then the proxy).
 */
int spc_prefer(struct spc *, const char *addr);

#endif
