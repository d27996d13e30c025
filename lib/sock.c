/* sock.c: thin nanomsg helpers and the control-socket client. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

static int
bind_domain(int domain, int type, const char *addr, int rcvmax)
{
	int s;

	if ((s = nn_socket(domain, type)) < 0) {
		log_warnx("cannot create socket: %s", nn_strerror(nn_errno()));
		return -1;
	}
	if (setup(s, rcvmax, 0) < 0 || nn_bind(s, addr) < 0) {
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

static int
exchange(const struct akc_config *cfg, const char *sockname, const cJSON *req,
    cJSON **resp, msec_t timeout, char *err, size_t errlen)
{
	char addr[CONF_PATH_MAX + 16], *txt;
	void *buf = NULL;
	struct stat st;
	int s, n, to = (int)timeout;
	long v;

	*resp = NULL;
	config_ipc_path(cfg, sockname, addr, sizeof(addr));
	if (stat(addr + 6, &st) < 0) {
		snprintf(err, errlen, "'%s' is not running (no socket '%s')",
		    strncmp(sockname, "leaderd", 7) == 0 ? "leaderd" :
		    strncmp(sockname, "singleton.", 10) == 0 ? "singletond" : "memberd", addr + 6);
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
