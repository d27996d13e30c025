/* sock.c: thin nanomsg helpers and the control-socket client. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <nanomsg/tcp.h>

#include "json.h"
#include "log.h"
#include "proto.h"
#include "sock.h"

static int
setup(int s, int rcvmax, int reconnect_max_ms)
{
	int v;

	if (nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &rcvmax, sizeof(rcvmax)) < 0)
		return -1;
	v = 1;
	(void)nn_setsockopt(s, NN_TCP, NN_TCP_NODELAY, &v, sizeof(v));
	if (reconnect_max_ms > 0) {
		v = 100;
		nn_setsockopt(s, NN_SOL_SOCKET, NN_RECONNECT_IVL, &v, sizeof(v));
		nn_setsockopt(s, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX,
		    &reconnect_max_ms, sizeof(reconnect_max_ms));
	}
	return 0;
}

/* The group given the tools' sockets ([node] socket-group), if any. */
static int ipc_shared;
static gid_t ipc_gid;

void
sock_ipc_group(gid_t gid)
{
	ipc_shared = 1;
	ipc_gid = gid;
}

/*
 * Whether the socket file NAME in the run dir is one the akc-* tools use:
 * memberd's control and events, leaderd's control, and a singletond's
 * control and proxy (akc-submit, akc-results, akc-queue, workers). The
 * others carry the daemons' own traffic, which no tool makes: a message on
 * memberd.relay leaves memberd authenticated as this node, and
 * singleton.NAME.child reaches the singleton past its proxy.
 */
static int
tool_socket(const char *name)
{
	size_t len = strlen(name);

	if (strcmp(name, SOCK_MEMBERD_CTL) == 0 || strcmp(name, SOCK_MEMBERD_EVENTS) == 0 ||
	    strcmp(name, SOCK_LEADERD_CTL) == 0)
		return 1;
	return strncmp(name, "singleton.", 10) == 0 &&
	    !(len > 6 && strcmp(name + len - 6, ".child") == 0);
}

/*
 * Binds an ipc:// socket mode 0600 (the umask is the process's, and nanomsg
 * binds in this thread), then opens a tool's socket to socket-group: mode
 * 0660, that group. Returns nn_bind's result, or -1 if the socket could not
 * be given to the group.
 */
static int
bind_ipc(int s, const char *addr)
{
	const char *path = addr + 6, *slash = strrchr(path, '/');
	mode_t old = umask(0177);
	int r = nn_bind(s, addr);

	umask(old);
	if (r < 0 || !ipc_shared || !tool_socket(slash != NULL ? slash + 1 : path))
		return r;
	if (chown(path, (uid_t)-1, ipc_gid) < 0 || chmod(path, 0660) < 0) {
		log_warn("cannot open '%s' to socket-group", path);
		return -2;
	}
	return r;
}

static int
bind_domain(int domain, int type, const char *addr, int rcvmax)
{
	int s, r;

	if ((s = nn_socket(domain, type)) < 0) {
		log_warnx("cannot create socket: %s", nn_strerror(nn_errno()));
		return -1;
	}
	if (setup(s, rcvmax, 0) < 0)
		r = -1;
	else if (strncmp(addr, "ipc://", 6) == 0)
		r = bind_ipc(s, addr);
	else
		r = nn_bind(s, addr);
	if (r < 0) {
		if (r == -1)
			log_warnx("cannot bind '%s': %s", addr, nn_strerror(nn_errno()));
		nn_close(s);
		return -1;
	}
	return s;
}

int
sock_bind(int type, const char *addr, int rcvmax)
{
	return bind_domain(AF_SP, type, addr, rcvmax);
}

int
sock_bind_raw(int type, const char *addr, int rcvmax)
{
	return bind_domain(AF_SP_RAW, type, addr, rcvmax);
}

static int
connect_domain(int domain, int type, const char *addr, int rcvmax, int reconnect_max_ms)
{
	int s;

	if ((s = nn_socket(domain, type)) < 0) {
		log_warnx("cannot create socket: %s", nn_strerror(nn_errno()));
		return -1;
	}
	if (setup(s, rcvmax, reconnect_max_ms) < 0 || nn_connect(s, addr) < 0) {
		log_warnx("cannot connect to '%s': %s", addr, nn_strerror(nn_errno()));
		nn_close(s);
		return -1;
	}
	return s;
}

int
sock_connect(int type, const char *addr, int rcvmax, int reconnect_max_ms)
{
	return connect_domain(AF_SP, type, addr, rcvmax, reconnect_max_ms);
}

int
sock_connect_raw(int type, const char *addr, int rcvmax, int reconnect_max_ms)
{
	return connect_domain(AF_SP_RAW, type, addr, rcvmax, reconnect_max_ms);
}

int
sock_rcvfd(int s)
{
	int fd;
	size_t sz = sizeof(fd);

	if (nn_getsockopt(s, NN_SOL_SOCKET, NN_RCVFD, &fd, &sz) < 0)
		fatalx("NN_RCVFD: %s", nn_strerror(nn_errno()));
	return fd;
}

int
sock_sndfd(int s)
{
	int fd;
	size_t sz = sizeof(fd);

	if (nn_getsockopt(s, NN_SOL_SOCKET, NN_SNDFD, &fd, &sz) < 0)
		fatalx("NN_SNDFD: %s", nn_strerror(nn_errno()));
	return fd;
}

ssize_t
sock_recv(int s, void **buf)
{
	int n = nn_recv(s, buf, NN_MSG, NN_DONTWAIT);

	return n < 0 ? -1 : n;
}

int
sock_send(int s, const void *buf, size_t len)
{
	return nn_send(s, buf, len, NN_DONTWAIT) < 0 ? -1 : 0;
}

/*
 * Raw sockets carry the request/reply routing header (SP_HDR) beside the
 * body. nanomsg lays the ancillary item out as a size_t length followed by
 * the header bytes.
 */
ssize_t
sock_recv_raw(int s, void **buf, unsigned char *hdr, size_t *hdrlen)
{
	struct nn_msghdr mh;
	struct nn_iovec iov;
	struct nn_cmsghdr *c;
	void *control = NULL;
	size_t cap = *hdrlen;
	int n;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = buf;
		iov.iov_len = NN_MSG;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = &control;
		mh.msg_controllen = NN_MSG;
		if ((n = nn_recvmsg(s, &mh, NN_DONTWAIT)) < 0)
			return -1;
		*hdrlen = 0;
		for (c = NN_CMSG_FIRSTHDR(&mh); c != NULL; c = NN_CMSG_NXTHDR(&mh, c)) {
			unsigned char *d = NN_CMSG_DATA(c);
			size_t len;

			if (c->cmsg_level != PROTO_SP || c->cmsg_type != SP_HDR ||
			    c->cmsg_len < NN_CMSG_LEN(sizeof(size_t)))
				continue;
			memcpy(&len, d, sizeof(len));
			if (len == 0 || len > cap || len > c->cmsg_len - NN_CMSG_LEN(0) - sizeof(size_t))
				break;
			memcpy(hdr, d + sizeof(size_t), len);
			*hdrlen = len;
			break;
		}
		nn_freemsg(control);
		control = NULL;
		if (*hdrlen > 0)
			return n;
		nn_freemsg(*buf);	/* no usable routing header: nobody to answer */
		*hdrlen = cap;
	}
}

int
sock_send_raw(int s, const unsigned char *hdr, size_t hdrlen, const void *buf, size_t len)
{
	unsigned char control[NN_CMSG_SPACE(sizeof(size_t) + SOCK_HDR_MAX)];
	struct nn_msghdr mh;
	struct nn_iovec iov;
	struct nn_cmsghdr *c = (struct nn_cmsghdr *)(void *)control;

	if (hdrlen > SOCK_HDR_MAX)
		return -1;
	memset(control, 0, sizeof(control));
	c->cmsg_len = NN_CMSG_SPACE(sizeof(size_t) + hdrlen);
	c->cmsg_level = PROTO_SP;
	c->cmsg_type = SP_HDR;
	memcpy(NN_CMSG_DATA(c), &hdrlen, sizeof(size_t));
	memcpy(NN_CMSG_DATA(c) + sizeof(size_t), hdr, hdrlen);
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = control;
	mh.msg_controllen = c->cmsg_len;
	return nn_sendmsg(s, &mh, NN_DONTWAIT) < 0 ? -1 : 0;
}

void
sock_close(int s)
{
	if (s >= 0)
		nn_close(s);
}

cJSON *
ctl_request(const char *cmd)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddNumberToObject(r, "v", PROTO_VERSION);
	cJSON_AddStringToObject(r, "cmd", cmd);
	return r;
}

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

static int
exchange(const struct akc_config *cfg, const char *sockname, const cJSON *req,
    cJSON **resp, msec_t timeout, char *err, size_t errlen)
{
	char addr[CONF_PATH_MAX + 16], *txt;
	void *buf = NULL;
	int s, n, to = (int)timeout;
	long v;

	*resp = NULL;
	config_ipc_path(cfg, sockname, addr, sizeof(addr));
	if ((n = sock_ipc_access(cfg, sockname, err, errlen)) == SOCK_DENIED)
		return -1;
	if (n == SOCK_ABSENT || n == SOCK_STALE) {
		snprintf(err, errlen, "'%s' is not running (%s socket '%s')",
		    strncmp(sockname, "leaderd", 7) == 0 ? "leaderd" :
		    strncmp(sockname, "singleton.", 10) == 0 ? "singletond" : "memberd",
		    n == SOCK_ABSENT ? "no" : "stale", addr + 6);
		return -1;
	}
	if ((s = nn_socket(AF_SP, NN_REQ)) < 0) {
		snprintf(err, errlen, "cannot create socket: %s", nn_strerror(nn_errno()));
		return -1;
	}
	nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &to, sizeof(to));
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &to, sizeof(to));
	n = CTL_MAX_MSG;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &n, sizeof(n));
	if (nn_connect(s, addr) < 0) {
		snprintf(err, errlen, "cannot connect to '%s': %s", addr, nn_strerror(nn_errno()));
		nn_close(s);
		return -1;
	}
	txt = json_print(req);
	if (nn_send(s, txt, strlen(txt), 0) < 0) {
		snprintf(err, errlen, "no answer from '%s': %s", addr + 6, nn_strerror(nn_errno()));
		cJSON_free(txt);
		nn_close(s);
		return -1;
	}
	cJSON_free(txt);
	if ((n = nn_recv(s, &buf, NN_MSG, 0)) < 0) {
		snprintf(err, errlen, "no answer from '%s' within %lldms: %s", addr + 6,
		    (long long)timeout, nn_strerror(nn_errno()));
		nn_close(s);
		return -1;
	}
	*resp = json_parse(buf, (size_t)n);
	nn_freemsg(buf);
	nn_close(s);
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
	int rc = exchange(cfg, sockname, req, resp, timeout, err, errlen);

	cJSON_Delete(req);
	return rc;
}
