/* sock.c: thin nanomsg helpers and the control-socket client. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>
#include <nanomsg/tcp.h>

#include "json.h"
#include "log.h"
#include "proto.h"
#include "sock.h"
#include "sps.h"

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
	return strncmp(name, SOCK_SINGLETON_PREFIX, strlen(SOCK_SINGLETON_PREFIX)) == 0 &&
	    !(len > 6 && strcmp(name + len - 6, ".child") == 0);
}

/*
 * Binds an ipc:// socket mode 0600 (the umask is the process's, and nanomsg
 * binds in this thread), then opens a tool's socket to socket-group: mode
 * 0660, that group. Returns nn_bind's result, or -1 if the socket could not
 * be given to the group.
 */
static int
share_ipc(int r, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (r < 0 || !ipc_shared || !tool_socket(slash != NULL ? slash + 1 : path))
		return r;
	if (chown(path, (uid_t)-1, ipc_gid) < 0 || chmod(path, 0660) < 0) {
		log_warn("cannot open '%s' to socket-group", path);
		return -2;
	}
	return r;
}

static int
bind_ipc(int s, const char *addr)
{
	mode_t old = umask(0177);
	int r = nn_bind(s, addr);

	umask(old);
	return share_ipc(r, addr + 6);
}

/*
 * Raw REQ and REP sockets on ipc:// paths are lib/sps.c's (no nanomsg
 * thread between the daemon and the wire), numbered from SOCK_NATIVE up;
 * AKC_SOCK_NANOMSG=1 in the environment gives nanomsg's instead (the
 * benchmarks compare the two).
 */
#define SOCK_NATIVE	(1 << 20)

static int
native(const char *addr)
{
	return strncmp(addr, "ipc://", 6) == 0 && !env_flag("AKC_SOCK_NANOMSG", 0);
}

static int
native_bind(int type, const char *addr, int rcvmax)
{
	mode_t old = umask(0177);
	int h, r;

	if (type == NN_PUB)
		h = sps_bind_pub(addr + 6);
	else if (type == NN_PULL)
		h = sps_bind_pull(addr + 6, (size_t)rcvmax);
	else
		h = sps_bind_rep(addr + 6, (size_t)rcvmax);

	umask(old);
	if (h < 0) {
		log_warn("cannot bind '%s'", addr);
		return -1;
	}
	if ((r = share_ipc(h, addr + 6)) < 0) {
		sps_close(h);
		return -1;
	}
	return h + SOCK_NATIVE;
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

/* PUB and PULL on ipc:// are lib/sps.c's too (memberd's); REP is, raw (sock_bind_raw). */
int
sock_bind(int type, const char *addr, int rcvmax)
{
	if ((type == NN_PUB || type == NN_PULL) && native(addr))
		return native_bind(type, addr, rcvmax);
	return bind_domain(AF_SP, type, addr, rcvmax);
}

int
sock_bind_raw(int type, const char *addr, int rcvmax)
{
	if (type == NN_REP && native(addr))
		return native_bind(type, addr, rcvmax);
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
	int h;

	if (type == NN_REQ && native(addr)) {
		if ((h = sps_connect_req(addr + 6, (size_t)rcvmax, reconnect_max_ms)) < 0) {
			log_warn("cannot connect to '%s'", addr);
			return -1;
		}
		return h + SOCK_NATIVE;
	}
	return connect_domain(AF_SP_RAW, type, addr, rcvmax, reconnect_max_ms);
}

int
sock_connect_sub(const char *addr, int rcvmax, int reconnect_max_ms)
{
	int s;

	if (native(addr)) {
		if ((s = sps_connect_sub(addr + 6, (size_t)rcvmax, reconnect_max_ms)) < 0) {
			log_warn("cannot connect to '%s'", addr);
			return -1;
		}
		return s + SOCK_NATIVE;
	}
	if ((s = connect_domain(AF_SP, NN_SUB, addr, rcvmax, reconnect_max_ms)) < 0)
		return -1;
	if (nn_setsockopt(s, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0) {
		log_warnx("cannot subscribe to '%s': %s", addr, nn_strerror(nn_errno()));
		nn_close(s);
		return -1;
	}
	return s;
}

int
sock_sub_tick(int s, msec_t now)
{
	return s >= SOCK_NATIVE ? sps_sub_tick(s - SOCK_NATIVE, now) : 1;
}

msec_t
sock_retry_at(int s)
{
	return s >= SOCK_NATIVE ? sps_retry_at(s - SOCK_NATIVE) : 0;
}

unsigned long
sock_connects(int s)
{
	return s >= SOCK_NATIVE ? (unsigned long)sps_connects(s - SOCK_NATIVE) : 0;
}

int
sock_connected(int s)
{
	return s >= SOCK_NATIVE && sps_connected(s - SOCK_NATIVE);
}

void
sock_service(int s)
{
	if (s >= SOCK_NATIVE)
		sps_service(s - SOCK_NATIVE);
}

unsigned long
sock_dropped(int s)
{
	return s >= SOCK_NATIVE ? (unsigned long)sps_dropped(s - SOCK_NATIVE) : 0;
}

cJSON *
sock_conns_json(int s)
{
	struct sps_conn_stats st;
	cJSON *o = cJSON_CreateObject();

	memset(&st, 0, sizeof(st));
	if (s >= SOCK_NATIVE)
		sps_conn_stats(s - SOCK_NATIVE, &st);
	cJSON_AddNumberToObject(o, "open", st.open);
	cJSON_AddNumberToObject(o, "timed_out", (double)st.timed_out);
	cJSON_AddNumberToObject(o, "refused", (double)st.refused);
	return o;
}

int
sock_rcvfd(int s)
{
	int fd;
	size_t sz = sizeof(fd);

	if (s >= SOCK_NATIVE)
		return sps_fd(s - SOCK_NATIVE);

	if (nn_getsockopt(s, NN_SOL_SOCKET, NN_RCVFD, &fd, &sz) < 0)
		fatalx("NN_RCVFD: %s", nn_strerror(nn_errno()));
	return fd;
}

int
sock_sndfd(int s)
{
	int fd;
	size_t sz = sizeof(fd);

	if (s >= SOCK_NATIVE)
		fatalx("sock_sndfd: not for a raw ipc socket");

	if (nn_getsockopt(s, NN_SOL_SOCKET, NN_SNDFD, &fd, &sz) < 0)
		fatalx("NN_SNDFD: %s", nn_strerror(nn_errno()));
	return fd;
}

ssize_t
sock_recv(int s, void **buf)
{
	int n;

	if (s >= SOCK_NATIVE) {
		/* a SUB's or a PULL's: no header */
		unsigned char hdr[SOCK_HDR_MAX];
		size_t hdrlen = 0;

		return sps_recv(s - SOCK_NATIVE, buf, hdr, &hdrlen);
	}
	n = nn_recv(s, buf, NN_MSG, NN_DONTWAIT);

	return n < 0 ? -1 : n;
}

int
sock_send(int s, const void *buf, size_t len)
{
	if (s >= SOCK_NATIVE)
		return sps_publish(s - SOCK_NATIVE, buf, len);	/* a PUB's */
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

	if (s >= SOCK_NATIVE)
		return sps_recv(s - SOCK_NATIVE, buf, hdr, hdrlen);
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
	if (s >= SOCK_NATIVE)
		return sps_send(s - SOCK_NATIVE, hdr, hdrlen, buf, len);
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
	if (s >= SOCK_NATIVE)
		sps_close(s - SOCK_NATIVE);
	else if (s >= 0)
		nn_close(s);
}

/* At exit: every socket closed, and the files of those bound removed (nanomsg's too). */
void
sock_term(void)
{
	sps_term();
	nn_term();
}

int
sock_native(int s)
{
	return s >= SOCK_NATIVE;
}

int
sock_req_prefer(int s, const char *addr)
{
	if (s < SOCK_NATIVE || strncmp(addr, "ipc://", 6) != 0)
		return -1;
	return sps_req_prefer(s - SOCK_NATIVE, addr + 6);
}

int
sock_req_on_prefer(int s)
{
	return s >= SOCK_NATIVE && sps_req_on_prefer(s - SOCK_NATIVE);
}

unsigned long
sock_resets(int s)
{
	return s >= SOCK_NATIVE ? (unsigned long)sps_resets(s - SOCK_NATIVE) : 0;
}

/* sock_ipc_access() is in spc.c: tools that use it need no nanomsg. */

/* ctl_request() and ctl_call() are in spc.c, over a plain connection. */

static void
add_name(char (*names)[CONF_NAME_MAX], int *n, int max, const char *name, size_t len)
{
	int i;

	if (len == 0 || len >= CONF_NAME_MAX)
		return;
	for (i = 0; i < *n; i++)
		if (strncmp(names[i], name, len) == 0 && names[i][len] == '\0')
			return;
	if (*n < max) {
		memcpy(names[*n], name, len);
		names[(*n)++][len] = '\0';
	}
}

void
sock_singletons(const struct akc_config *cfg, char (*names)[CONF_NAME_MAX], int *n, int max)
{
	size_t pre = strlen(SOCK_SINGLETON_PREFIX), post = strlen(".ctl"), len;
	struct dirent **ents;
	const char *f;
	int i, k;

	for (i = 0; i < cfg->nsingletons; i++)
		add_name(names, n, max, cfg->singletons[i].name, strlen(cfg->singletons[i].name));
	if ((k = scandir(cfg->run_dir, &ents, NULL, alphasort)) < 0)
		return;
	for (i = 0; i < k; i++) {
		f = ents[i]->d_name;
		len = strlen(f);
		if (len > pre + post && strncmp(f, SOCK_SINGLETON_PREFIX, pre) == 0 &&
		    strcmp(f + len - post, ".ctl") == 0)
			add_name(names, n, max, f + pre, len - pre - post);
		free(ents[i]);
	}
	free(ents);
}
