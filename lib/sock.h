/* sock.h: nanomsg sockets the akc way (bounded, non-blocking, short ipc paths). */
#ifndef AKC_SOCK_H
#define AKC_SOCK_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"

/* A socket of type (NN_PULL...) bound to addr with a receive bound; -1 on error. */
int sock_bind(int type, const char *addr, int rcvmax);
/* A socket connected to addr (reconnect interval set first); -1 on error. */
int sock_connect(int type, const char *addr, int rcvmax, int reconnect_max_ms);
/* The same with AF_SP_RAW (a REP or REQ that handles many requests at once). */
int sock_bind_raw(int type, const char *addr, int rcvmax);
int sock_connect_raw(int type, const char *addr, int rcvmax, int reconnect_max_ms);
/*
 * A SUB taking every message (lib/sps.c's on ipc://): sock_sub_tick
 * (re)connects a native one when due (no sooner than sock_retry_at, 0 when
 * connected), sock_connects counts its connections (messages published in
 * a gap are lost: look again). A native PUB's or PULL's fd readable:
 * sock_service (accepts, closes). nanomsg's sockets do this on their own:
 * these are no-ops for them (sock_sub_tick 1).
 */
int sock_connect_sub(const char *addr, int rcvmax, int reconnect_max_ms);
int sock_sub_tick(int s, msec_t now);
msec_t sock_retry_at(int s);
unsigned long sock_connects(int s);
void sock_service(int s);
/* A native REQ's or SUB's connection is up (0 for nanomsg's: not known). */
int sock_connected(int s);
unsigned long sock_dropped(int s);
/*
 * A bound native socket's connections as JSON, {"open", "timed_out",
 * "refused"} (lib/sps.h: the cap and the deadlines); all 0 for nanomsg's,
 * which hide them.
 */
cJSON *sock_conns_json(int s);
int sock_rcvfd(int s);
int sock_sndfd(int s);
/* Receives without blocking into an nn-allocated *buf; -1 when nothing waits. */
ssize_t sock_recv(int s, void **buf);
/* Sends without blocking; 0 sent, -1 would block or failed. */
int sock_send(int s, const void *buf, size_t len);
/* Longest routing header kept from a raw socket (a few hops of 4 bytes). */
#define SOCK_HDR_MAX	32
/*
 * Raw request/reply: receives a message and its routing header (*hdrlen in:
 * room in hdr, out: its length); messages without one are dropped. Sends a
 * body with a header (a raw REP: the header received; a raw REQ: 4 bytes,
 * the request id with its top bit set).
 */
ssize_t sock_recv_raw(int s, void **buf, unsigned char *hdr, size_t *hdrlen);
int sock_send_raw(int s, const unsigned char *hdr, size_t hdrlen, const void *buf, size_t len);
void sock_close(int s);
/*
 * A raw REQ's connections lost so far (lib/sps.c's sps_resets): when it
 * grows, the requests out are gone and go again at once. Always 0 for
 * nanomsg's sockets, which hide their connections (callers keep a timeout).
 */
unsigned long sock_resets(int s);
/* Whether s is one of lib/sps.c's (headers it makes: a connection id with bit 31 clear). */
int sock_native(int s);
/* A daemon's exit: closes every socket (removing bound ipc:// files) and calls nn_term. */
void sock_term(void);
/*
 * A raw REQ of lib/sps.c's (sock_connect_raw) connects to addr first, and
 * to its own address when addr has no listener (sps_req_prefer). -1 for
 * nanomsg's sockets, which keep their one address.
 */
int sock_req_prefer(int s, const char *addr);
/* Whether a raw REQ is connected to the address sock_req_prefer gave now. */
int sock_req_on_prefer(int s);
/*
 * From now on, the run-dir sockets the akc-* tools use are bound mode 0660
 * with group gid ([node] socket-group); the others, and all of them before
 * this call, mode 0600. daemon_run_dir() calls it.
 */
void sock_ipc_group(gid_t gid);

#define SOCK_ABSENT	-1
#define SOCK_DENIED	-2
#define SOCK_STALE	-3
/*
 * Whether this process may connect to the run-dir socket SOCKNAME: 0 yes,
 * SOCK_ABSENT when there is no such socket, SOCK_STALE when nothing listens
 * on it (its daemon died and left the file), SOCK_DENIED when its mode or
 * the run dir's forbid it; each leaves a one-line reason in err. nanomsg connects in the
 * background and retries a refused connect(2) forever, so tools look first:
 * without this a denial would look like a daemon that does not answer.
 */
int sock_ipc_access(const struct akc_config *cfg, const char *sockname, char *err, size_t errlen);
/*
 * Adds to names[0..*n) (at most max) this node's singletons not there yet:
 * those of the configuration's [singleton.NAME] sections, then any
 * singletond with a control socket (SOCK_SINGLETON_CTL) in the run dir, in
 * name order. The ones already there keep their places.
 */
void sock_singletons(const struct akc_config *, char (*names)[CONF_NAME_MAX], int *n, int max);

/*
 * One request/reply exchange with a local daemon's control socket. Returns 0
 * with *resp set, -1 when the daemon is not running or did not answer within
 * timeout (a one-line reason is left in err). Takes req: it is freed, so
 * ctl_call(..., ctl_request("state"), ...) leaks nothing.
 */
int ctl_call(const struct akc_config *cfg, const char *sockname, cJSON *req,
    cJSON **resp, msec_t timeout, char *err, size_t errlen);
/* A control request: {"v":PROTO_VERSION,"cmd":cmd}. */
cJSON *ctl_request(const char *cmd);

#endif
