/* spc.c: a REQ client of a local nanomsg REP socket without nanomsg (see spc.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "config.h"
#include "json.h"
#include "proto.h"
#include "sock.h"
#include "spc.h"

#define SP_REQ		48	/* NN_PROTO_REQREP * 16 */
#define SP_REP		49
#define SP_MSG_NORMAL	1	/* nanomsg's ipc message type */
#define RECONNECT_MS	100	/* as the daemons' nanomsg sockets */

enum { IO_OK, IO_TIMEOUT, IO_BROKEN, IO_OLDER };

int
spc_init(struct spc *c, const char *addr, size_t max)
{
	struct timespec ts;

	if (strncmp(addr, "ipc://", 6) == 0)
		addr += 6;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->max = max;
	if (strlen(addr) >= sizeof(c->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(c->path, addr);
	/* ids of two runs of a tool should differ, as nanomsg's random start */
	clock_gettime(CLOCK_REALTIME, &ts);
	c->id = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16);
	return 0;
}

void
spc_close(struct spc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Waits until fd is ready for ev or deadline passes. */
static int
wait_fd(int fd, short ev, msec_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	msec_t left;
	int r;

	for (;;) {
		if ((left = deadline - clock_mono_ms()) <= 0)
			return IO_TIMEOUT;
		if ((r = poll(&p, 1, (int)(left > 60000 ? 60000 : left))) > 0)
			return IO_OK;
		if (r < 0 && errno != EINTR)
			return IO_BROKEN;
	}
}

static int
put_all(int fd, const unsigned char *p, size_t n, msec_t deadline)
{
	ssize_t w;
	int r;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) >= 0) {
			p += w;
			n -= (size_t)w;
		} else if (errno == EAGAIN) {
			if ((r = wait_fd(fd, POLLOUT, deadline)) != IO_OK)
				return r;
		} else if (errno != EINTR)
			return IO_BROKEN;
	}
	return IO_OK;
}

/* Reads n bytes into p (NULL: reads and drops them). */
static int
get_all(int fd, unsigned char *p, size_t n, msec_t deadline)
{
	unsigned char junk[4096];
	ssize_t got;
	int r;

	while (n > 0) {
		size_t want = p != NULL ? n : (n < sizeof(junk) ? n : sizeof(junk));

		if ((got = recv(fd, p != NULL ? p : junk, want, 0)) > 0) {
			if (p != NULL)
				p += got;
			n -= (size_t)got;
		} else if (got == 0)
			return IO_BROKEN;
		else if (errno == EAGAIN) {
			if ((r = wait_fd(fd, POLLIN, deadline)) != IO_OK)
				return r;
		} else if (errno != EINTR)
			return IO_BROKEN;
	}
	return IO_OK;
}

int
spc_prefer(struct spc *c, const char *addr)
{
	if (strncmp(addr, "ipc://", 6) == 0)
		addr += 6;
	if (strlen(addr) >= sizeof(c->prefer)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(c->prefer, addr);
	return 0;
}

/* One try at the preferred socket: IO_OK connected, else nothing listens there. */
static int
connect_prefer(struct spc *c, msec_t deadline)
{
	static const unsigned char mine[8] = { 0, 'S', 'P', 0, 0, SP_REQ, 0, 0 };
	unsigned char theirs[8];
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, c->prefer);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return IO_BROKEN;
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    put_all(c->fd, mine, sizeof(mine), deadline) == IO_OK &&
	    get_all(c->fd, theirs, sizeof(theirs), deadline) == IO_OK &&
	    memcmp(theirs, "\0SP\0", 4) == 0 && theirs[4] == 0 && theirs[5] == SP_REP)
		return IO_OK;
	spc_close(c);
	return IO_BROKEN;
}

/* Connects and exchanges SP headers; retries every RECONNECT_MS until deadline. */
static int
connect_peer(struct spc *c, msec_t deadline, char *err, size_t errlen)
{
	static const unsigned char mine[8] = { 0, 'S', 'P', 0, 0, SP_REQ, 0, 0 };
	unsigned char theirs[8];
	struct sockaddr_un sun;
	int r;

	if (c->prefer[0] != '\0' && connect_prefer(c, deadline) == IO_OK)
		return IO_OK;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, c->path);
	for (;;) {
		if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
			snprintf(err, errlen, "cannot create socket: %s", strerror(errno));
			return IO_BROKEN;
		}
		if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
		    (r = put_all(c->fd, mine, sizeof(mine), deadline)) == IO_OK &&
		    (r = get_all(c->fd, theirs, sizeof(theirs), deadline)) == IO_OK) {
			if (memcmp(theirs, "\0SP\0", 4) != 0 || theirs[4] != 0 || theirs[5] != SP_REP) {
				snprintf(err, errlen, "'%s' is not a REP socket", c->path);
				spc_close(c);
				return IO_BROKEN;
			}
			return IO_OK;
		}
		spc_close(c);
		if (deadline - clock_mono_ms() <= RECONNECT_MS)
			return IO_TIMEOUT;
		usleep(RECONNECT_MS * 1000);
	}
}

/* The request, framed with the current id. */
static int
send_req(struct spc *c, const void *req, size_t len, msec_t deadline)
{
	unsigned char hdr[13];
	int r;

	hdr[0] = SP_MSG_NORMAL;
	be64_put(hdr + 1, (uint64_t)len + 4);
	hdr[9] = (unsigned char)(c->id >> 24);
	hdr[10] = (unsigned char)(c->id >> 16);
	hdr[11] = (unsigned char)(c->id >> 8);
	hdr[12] = (unsigned char)c->id;
	if ((r = put_all(c->fd, hdr, sizeof(hdr), deadline)) != IO_OK)
		return r;
	return put_all(c->fd, req, len, deadline);
}

/*
 * One answer: IO_OK with *rsp when it carries the current id; an older
 * one is dropped, then the next is read, or (once) IO_OLDER returned, so
 * that a caller polling many connections does not wait here.
 */
static int
recv_rsp(struct spc *c, char **rsp, size_t *rlen, int once, msec_t deadline, char *err,
    size_t errlen)
{
	unsigned char hdr[9], id[4];
	uint64_t size;
	int r;

	for (;;) {
		if ((r = get_all(c->fd, hdr, 9, deadline)) != IO_OK)
			return r;
		size = be64_get(hdr + 1);
		if (hdr[0] != SP_MSG_NORMAL || size < 4 || size - 4 > c->max) {
			snprintf(err, errlen, "answer of %llu bytes refused (at most %zu)",
			    (unsigned long long)(size >= 4 ? size - 4 : size), c->max);
			errno = EMSGSIZE;
			return -1;
		}
		if ((r = get_all(c->fd, id, 4, deadline)) != IO_OK)
			return r;
		if (((uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3]) != c->id) {
			/* the answer to an earlier try of ours: not this one */
			if ((r = get_all(c->fd, NULL, (size_t)size - 4, deadline)) != IO_OK)
				return r;
			if (once)
				return IO_OLDER;
			continue;
		}
		if ((*rsp = malloc((size_t)size - 4 + 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if ((r = get_all(c->fd, (unsigned char *)*rsp, (size_t)size - 4, deadline)) != IO_OK) {
			free(*rsp);
			*rsp = NULL;
			return r;
		}
		(*rsp)[size - 4] = '\0';
		*rlen = (size_t)size - 4;
		return IO_OK;
	}
}

/* One try on the current connection. */
static int
exchange(struct spc *c, const void *req, size_t len, char **rsp, size_t *rlen, msec_t deadline,
    char *err, size_t errlen)
{
	int r;

	if ((r = send_req(c, req, len, deadline)) != IO_OK)
		return r;
	return recv_rsp(c, rsp, rlen, 0, deadline, err, errlen);
}

/* Why a try failed, into err (errno set): r is IO_TIMEOUT or IO_BROKEN. */
static void
why(int r, char *err, size_t errlen)
{
	if (r == IO_TIMEOUT) {
		snprintf(err, errlen, "timed out");
		errno = ETIMEDOUT;
	} else {
		if (errlen > 0 && err[0] == '\0')
			snprintf(err, errlen, "connection closed");
		errno = ECONNRESET;
	}
}

int
spc_fd(const struct spc *c)
{
	return c->fd;
}

int
spc_send(struct spc *c, const void *req, size_t len, msec_t deadline, char *err, size_t errlen)
{
	int r;

	if (errlen > 0)
		err[0] = '\0';
	c->id = (c->id + 1) | 0x80000000u;
	for (;;) {
		if (c->fd < 0 && (r = connect_peer(c, deadline, err, errlen)) != IO_OK)
			break;
		if ((r = send_req(c, req, len, deadline)) == IO_OK)
			return 0;
		spc_close(c);
		if (r == IO_TIMEOUT || deadline - clock_mono_ms() <= 0)
			break;
	}
	why(r, err, errlen);
	return -1;
}

ssize_t
spc_recv(struct spc *c, char **rsp, msec_t deadline, char *err, size_t errlen)
{
	size_t rlen = 0;
	int r;

	*rsp = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (c->fd < 0)
		r = IO_BROKEN;
	else if ((r = recv_rsp(c, rsp, &rlen, 1, deadline, err, errlen)) == IO_OK)
		return (ssize_t)rlen;
	else if (r == IO_OLDER)
		return 0;
	spc_close(c);
	if (r > 0)
		why(r, err, errlen);	/* else err says why */
	return -1;
}

ssize_t
spc_call(struct spc *c, const void *req, size_t len, char **rsp, msec_t deadline, char *err,
    size_t errlen)
{
	size_t rlen = 0;
	int r;

	*rsp = NULL;
	if (errlen > 0)
		err[0] = '\0';
	c->id = (c->id + 1) | 0x80000000u;
	for (;;) {
		if (c->fd < 0 && (r = connect_peer(c, deadline, err, errlen)) != IO_OK)
			break;
		if ((r = exchange(c, req, len, rsp, &rlen, deadline, err, errlen)) == IO_OK)
			return (ssize_t)rlen;
		if (r < 0) {
			spc_close(c);
			return -1;
		}
		/* broken (the peer restarted) or timed out: a new connection for the next */
		spc_close(c);
		if (r == IO_TIMEOUT || deadline - clock_mono_ms() <= 0)
			break;
	}
	why(r, err, errlen);
	return -1;
}

/* ---- control requests to local daemons (declared in sock.h) ---- */

cJSON *
ctl_request(const char *cmd)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
	cJSON_AddStringToObject(r, "cmd", cmd);
	return r;
}

static int
ctl_exchange(const struct akc_config *cfg, const char *sockname, const cJSON *req,
    cJSON **resp, msec_t timeout, char *err, size_t errlen)
{
	char addr[CONF_PATH_MAX + 16], *txt, *buf = NULL, why[160];
	struct spc c;
	ssize_t len;
	long v;
	int n;

	*resp = NULL;
	config_ipc_path(cfg, sockname, addr, sizeof(addr));
	if ((n = sock_ipc_access(cfg, sockname, err, errlen)) == SOCK_DENIED)
		return -1;
	if (n == SOCK_ABSENT || n == SOCK_STALE) {
		snprintf(err, errlen, "'%s' is not running (%s socket '%s')",
		    strncmp(sockname, "leaderd", 7) == 0 ? "leaderd" :
		    strncmp(sockname, SOCK_SINGLETON_PREFIX, strlen(SOCK_SINGLETON_PREFIX)) == 0 ?
		    "singletond" : "memberd",
		    n == SOCK_ABSENT ? "no" : "stale", addr + 6);
		return -1;
	}
	if (spc_init(&c, addr, CTL_MAX_MSG) < 0) {
		snprintf(err, errlen, "cannot connect to '%s': %s", addr, strerror(errno));
		return -1;
	}
	txt = json_print(req);
	len = spc_call(&c, txt, strlen(txt), &buf, clock_mono_ms() + timeout, why, sizeof(why));
	cJSON_free(txt);
	spc_close(&c);
	if (len < 0) {
		snprintf(err, errlen, "no answer from '%s' within %lldms: %s", addr + 6,
		    (long long)timeout, why);
		return -1;
	}
	*resp = json_parse(buf, (size_t)len);
	free(buf);
	if (*resp == NULL || json_int(*resp, "v", 0, 1000, &v) < 0 || v != PROTO_VERSION) {
		snprintf(err, errlen, "bad answer from '%s' (protocol mismatch?)", addr + 6);
		cJSON_Delete(*resp);
		*resp = NULL;
		return -1;
	}
	return 0;
}

int
ctl_call(const struct akc_config *cfg, const char *sockname, cJSON *req,
    cJSON **resp, msec_t timeout, char *err, size_t errlen)
{
	int rc = ctl_exchange(cfg, sockname, req, resp, timeout, err, errlen);

	cJSON_Delete(req);
	return rc;
}

/* ---- whether a tool may use a daemon's socket (declared in sock.h) ---- */

/*
 * Whether nothing listens on the socket at path: the file of a daemon that
 * died (kill -9 leaves it). nanomsg would wait out the whole timeout.
 * Non-blocking: a stopped or busy daemon does not accept, its backlog fills
 * with these probes, and a blocking connect(2) to a unix socket with a full
 * backlog waits (EAGAIN here: someone listens).
 */
static int
stale(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 && errno == ECONNREFUSED;
	close(fd);
	return r;
}

int
sock_ipc_access(const struct akc_config *cfg, const char *sockname, char *err, size_t errlen)
{
	char addr[CONF_PATH_MAX + 16], hint[128];
	const char *path = addr + 6;
	struct stat st;

	config_ipc_path(cfg, sockname, addr, sizeof(addr));
	/* a run dir we may not search fails stat(2), a socket we may not write faccessat(2) */
	if (stat(path, &st) < 0) {
		if (errno != EACCES) {
			snprintf(err, errlen, "no socket '%s'", path);
			return SOCK_ABSENT;
		}
	} else if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0 ||
	    (errno != EACCES && errno != EPERM))
		return stale(path) ? (snprintf(err, errlen, "stale socket '%s': nothing listens "
		    "on it", path), SOCK_STALE) : 0;
	if (cfg->socket_group[0] != '\0')
		snprintf(hint, sizeof(hint), "is your user in group %s?", cfg->socket_group);
	else
		snprintf(hint, sizeof(hint), "only the daemons' user may use it; "
		    "see socket-group in akc.conf(5)");
	snprintf(err, errlen, "permission denied on %s (%s)", path, hint);
	return SOCK_DENIED;
}
