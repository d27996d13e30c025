/*
 * test-sps.c: lib/sps.c's raw REQ and REP through lib/sock.c, against real
 * nanomsg sockets and lib/spc.c in this process and in children: the wire
 * is nanomsg's, both ways; many requests in flight and readiness that
 * follows the queue; a large reply written in pieces; an oversized message
 * and a peer of the wrong protocol closed and counted; a reply to a peer gone
 * dropped; a stale socket file taken over, a live one refused; a REQ that
 * connects once its server appears and again after it restarts, counting
 * each connection it lost (sock_resets: a caller resends what was out); a
 * REQ that prefers another path while it has a listener (sock_req_prefer).
 * PUB, SUB and PULL (memberd's and leaderd's): nanomsg's SUB and PUSH against
 * ours and our SUB against nanomsg's PUB; a subscriber that does not read
 * misses messages past the backlog, counted, not closed; wrong protocols
 * and a subscriber that sends closed, counted; a SUB that connects at a tick
 * once its publisher appears, and again after it restarts. A bound socket's
 * deadline (a peer that sends no header, or half a frame, is closed in
 * time; idle ones between frames are kept) and its cap on connections.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>

#include "bytes.h"
#include "clock.h"
#include "log.h"
#include "sock.h"
#include "spc.h"
#include "sps.h"
#include "unit.h"
#include "xmalloc.h"

static char dir[64], path[128], addr[160];

static int
ready(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Receives one message within ms; its length, or -1. */
static ssize_t
recv_within(int s, void **buf, unsigned char *hdr, size_t *hdrlen, int ms)
{
	msec_t end = clock_mono_ms() + ms;
	size_t cap = *hdrlen;
	ssize_t n;

	for (;;) {
		*hdrlen = cap;
		if ((n = sock_recv_raw(s, buf, hdr, hdrlen)) >= 0)
			return n;
		if (clock_mono_ms() >= end)
			return -1;
		ready(sock_rcvfd(s), 50);
	}
}

/* One request of len bytes taken on rep within ms, answered with reply. */
static void
answer_one(int rep, ssize_t len, const char *reply, int ms)
{
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen = sizeof(hdr);
	void *buf;
	ssize_t n;

	n = recv_within(rep, &buf, hdr, &hdrlen, ms);
	CHECK_INT(n, len);
	if (n >= 0)
		nn_freemsg(buf);
	CHECK_INT(sock_send_raw(rep, hdr, hdrlen, reply, strlen(reply)), 0);
}

/* A nanomsg REQ client in this process against our REP, and spc's. */
static void
nanomsg_and_spc_clients(void)
{
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	int rep, req, i, to = 2000;
	void *buf;
	ssize_t n;
	char *rsp = NULL, err[128];
	struct spc c;
	pid_t p;

	rep = sock_bind_raw(NN_REP, addr, 1 << 20);
	CHECK(rep >= (1 << 20));
	req = nn_socket(AF_SP, NN_REQ);
	CHECK(req >= 0);
	nn_setsockopt(req, NN_SOL_SOCKET, NN_RCVTIMEO, &to, sizeof(to));
	CHECK(nn_connect(req, addr) >= 0);
	CHECK_INT(nn_send(req, "hello", 5, 0), 5);
	hdrlen = sizeof(hdr);
	n = recv_within(rep, &buf, hdr, &hdrlen, 2000);
	CHECK_INT(n, 5);
	CHECK_INT(hdrlen, 8);		/* the connection, the request id */
	CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
	if (n >= 0)
		nn_freemsg(buf);
	CHECK_INT(sock_send_raw(rep, hdr, hdrlen, "world", 5), 0);
	n = nn_recv(req, &buf, NN_MSG, 0);
	CHECK_INT(n, 5);
	CHECK(n == 5 && memcmp(buf, "world", 5) == 0);
	if (n >= 0)
		nn_freemsg(buf);
	nn_close(req);

	/* spc (the tools) in a child, which blocks on its answer */
	if ((p = fork()) == 0) {
		spc_init(&c, addr, 1 << 20);
		if ((n = spc_call(&c, "ping", 4, &rsp, clock_mono_ms() + 3000, err, sizeof(err))) < 0)
			_exit(2);
		_exit(n == 4 && memcmp(rsp, "pong", 4) == 0 ? 0 : 3);
	}
	answer_one(rep, 4, "pong", 3000);
	waitpid(p, &i, 0);
	CHECK(WIFEXITED(i) && WEXITSTATUS(i) == 0);
	sock_close(rep);
}

/* Our REQ against our REP: 200 requests in flight, readiness, one big reply. */
static void
pipelined(void)
{
	unsigned char hdr[SOCK_HDR_MAX], id[4];
	size_t hdrlen;
	int rep, req, i, got = 0, order = 1;
	void *buf;
	ssize_t n;
	char body[32];
	static char big[600000];

	rep = sock_bind_raw(NN_REP, addr, 1 << 20);
	req = sock_connect_raw(NN_REQ, addr, 1 << 20, 1000);
	CHECK(rep >= 0 && req >= 0);
	CHECK(!ready(sock_rcvfd(rep), 0));
	for (i = 0; i < 200; i++) {
		id[0] = 0x80;
		id[1] = 0;
		id[2] = (unsigned char)(i >> 8);
		id[3] = (unsigned char)i;
		snprintf(body, sizeof(body), "job %d", i);
		CHECK_INT(sock_send_raw(req, id, 4, body, strlen(body)), 0);
	}
	CHECK(ready(sock_rcvfd(rep), 2000));
	for (i = 0; i < 200; i++) {
		hdrlen = sizeof(hdr);
		if ((n = recv_within(rep, &buf, hdr, &hdrlen, 2000)) < 0)
			break;
		snprintf(body, sizeof(body), "job %d", i);
		if ((size_t)n != strlen(body) || memcmp(buf, body, (size_t)n) != 0)
			order = 0;
		nn_freemsg(buf);
		/* the reply to the last one is big: written in pieces */
		if (i == 199) {
			memset(big, 'b', sizeof(big));
			CHECK_INT(sock_send_raw(rep, hdr, hdrlen, big, sizeof(big)), 0);
		} else
			CHECK_INT(sock_send_raw(rep, hdr, hdrlen, "ok", 2), 0);
	}
	CHECK_INT(i, 200);
	CHECK(order);
	CHECK(!ready(sock_rcvfd(rep), 0));	/* nothing waits: not ready */
	for (i = 0; i < 200; i++) {
		msec_t end = clock_mono_ms() + 3000;

		do {
			/* the server writes what it queued as its peer reads */
			hdrlen = sizeof(hdr);
			(void)sock_recv_raw(rep, &buf, hdr, &hdrlen);
			hdrlen = sizeof(hdr);
		} while ((n = recv_within(req, &buf, hdr, &hdrlen, 20)) < 0 && clock_mono_ms() < end);
		if (n < 0)
			break;
		got++;
		if (i == 199)
			CHECK_INT(n, sizeof(big));
		else
			CHECK_INT(n, 2);
		nn_freemsg(buf);
	}
	CHECK_INT(got, 200);
	CHECK_INT(sps_dropped(rep - (1 << 20)), 0);
	sock_close(req);
	sock_close(rep);
}

static int
raw_connect(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Hostile peers: closed and counted, the others unharmed. */
static void
refusals(void)
{
	static const unsigned char req_hdr[8] = { 0, 'S', 'P', 0, 0, 48, 0, 0 };
	static const unsigned char pub_hdr[8] = { 0, 'S', 'P', 0, 0, 32, 0, 0 };
	unsigned char frame[9], hdr[SOCK_HDR_MAX], c;
	size_t hdrlen;
	int rep, fd, h;
	void *buf;

	rep = sock_bind_raw(NN_REP, addr, 1000);
	h = rep - (1 << 20);
	/* a PUB's header */
	fd = raw_connect();
	CHECK(write(fd, pub_hdr, 8) == 8);
	hdrlen = sizeof(hdr);
	CHECK(recv_within(rep, &buf, hdr, &hdrlen, 300) < 0);
	CHECK_INT(sps_dropped(h), 1);
	close(fd);
	/* a frame that says 1 GiB against rcvmax 1000: closed before it is read */
	fd = raw_connect();
	CHECK(write(fd, req_hdr, 8) == 8);
	frame[0] = 1;
	be64_put(frame + 1, 1u << 30);
	CHECK(write(fd, frame, 9) == 9);
	hdrlen = sizeof(hdr);
	CHECK(recv_within(rep, &buf, hdr, &hdrlen, 300) < 0);
	CHECK_INT(sps_dropped(h), 2);
	/* the server closed it: the peer reads its header, then the end */
	{
		unsigned char theirs[8];

		CHECK(read(fd, theirs, 8) == 8 && theirs[5] == 49);
		CHECK(read(fd, &c, 1) == 0);
	}
	close(fd);
	/* a message without a request id (no word with its top bit set) */
	fd = raw_connect();
	CHECK(write(fd, req_hdr, 8) == 8);
	be64_put(frame + 1, 4);
	frame[0] = 1;
	CHECK(write(fd, frame, 9) == 9);
	CHECK(write(fd, "\0\0\0\1", 4) == 4);
	hdrlen = sizeof(hdr);
	CHECK(recv_within(rep, &buf, hdr, &hdrlen, 300) < 0);
	CHECK_INT(sps_dropped(h), 3);
	close(fd);
	/* a reply to a connection that is gone: dropped, not an error */
	memset(hdr, 0, 8);
	hdr[3] = 99;
	hdr[4] = 0x80;
	CHECK_INT(sock_send_raw(rep, hdr, 8, "x", 1), 0);
	sock_close(rep);
}

/* A stale file is taken over; a live owner's is not. */
static void
takeover(void)
{
	int a, b;
	pid_t p;

	if ((p = fork()) == 0) {
		(void)sock_bind_raw(NN_REP, addr, 1000);
		_exit(0);		/* leaves the file behind */
	}
	waitpid(p, NULL, 0);
	CHECK(access(path, F_OK) == 0);
	a = sock_bind_raw(NN_REP, addr, 1000);
	CHECK(a >= 0);
	b = sock_bind_raw(NN_REP, addr, 1000);
	CHECK_INT(b, -1);
	sock_close(a);
}

/* A REQ made before its server exists connects on a later send, and again after a restart. */
static void
late_server(void)
{
	unsigned char id[4] = { 0x80, 0, 0, 1 }, hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	int req, rep, sent = 0, i;
	void *buf;
	ssize_t n;

	unlink(path);
	req = sock_connect_raw(NN_REQ, addr, 1000, 200);
	CHECK(req >= 0);
	CHECK_INT(sock_send_raw(req, id, 4, "a", 1), -1);	/* nobody there */
	for (i = 0; i < 2; i++) {
		msec_t end = clock_mono_ms() + 2000;

		rep = sock_bind_raw(NN_REP, addr, 1000);
		sent = 0;
		while (!sent && clock_mono_ms() < end) {
			sent = sock_send_raw(req, id, 4, "a", 1) == 0;
			if (!sent)
				usleep(20000);
		}
		CHECK(sent);
		CHECK_INT((long)sock_resets(req), i);	/* one lost connection per restart */
		answer_one(rep, 1, "b", 2000);
		hdrlen = sizeof(hdr);
		n = recv_within(req, &buf, hdr, &hdrlen, 2000);
		CHECK_INT(n, 1);
		CHECK_INT(hdrlen, 4);
		CHECK(memcmp(hdr, id, 4) == 0);
		if (n >= 0)
			nn_freemsg(buf);
		sock_close(rep);	/* restarted: the REQ sees its end, then connects again */
		unlink(path);
		end = clock_mono_ms() + 1000;
		while (ready(sock_rcvfd(req), 50) && clock_mono_ms() < end) {
			hdrlen = sizeof(hdr);
			if (sock_recv_raw(req, &buf, hdr, &hdrlen) >= 0)
				nn_freemsg(buf);
		}
		CHECK_INT((long)sock_resets(req), i + 1);
	}
	sock_close(req);
}

/*
 * A REQ with a preferred path (the worker: the master's own socket before
 * the proxy) connects there while something listens, to its own address
 * when not (no file, or a stale one), and there again once its server is back.
 */
static void
prefer(void)
{
	char ppath[160], paddr[180];
	unsigned char id[4] = { 0x80, 0, 0, 9 }, hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	int req, rep, alt, round;
	void *buf;
	ssize_t n;

	snprintf(ppath, sizeof(ppath), "%s/p", dir);
	snprintf(paddr, sizeof(paddr), "ipc://%s", ppath);
	unlink(path);
	unlink(ppath);
	rep = sock_bind_raw(NN_REP, addr, 1000);
	alt = sock_bind_raw(NN_REP, paddr, 1000);
	req = sock_connect_raw(NN_REQ, addr, 1000, 100);
	CHECK(rep >= 0 && alt >= 0 && req >= 0);
	CHECK_INT(sock_req_prefer(req, paddr), 0);
	/* 0: the preferred one; 1: it closed (a stale file stays): the REQ's own; 2: back */
	for (round = 0; round < 3; round++) {
		int want = round == 1 ? rep : alt, other = round == 1 ? alt : rep;

		CHECK_INT(sock_send_raw(req, id, 4, "q", 1), 0);
		answer_one(want, 1, "r", 2000);
		hdrlen = sizeof(hdr);
		CHECK_INT(sock_recv_raw(other, &buf, hdr, &hdrlen), -1);
		hdrlen = sizeof(hdr);
		n = recv_within(req, &buf, hdr, &hdrlen, 2000);
		CHECK_INT(n, 1);
		if (n >= 0)
			nn_freemsg(buf);
		if (round == 0) {
			sock_close(alt);	/* the file stays: connects to it are refused */
			while (ready(sock_rcvfd(req), 200)) {
				hdrlen = sizeof(hdr);
				if (sock_recv_raw(req, &buf, hdr, &hdrlen) >= 0)
					nn_freemsg(buf);
			}
			CHECK_INT((long)sock_resets(req), 1);
		} else if (round == 1) {
			alt = sock_bind_raw(NN_REP, paddr, 1000);	/* takes the stale file over */
			CHECK(alt >= 0);
			sock_close(rep);	/* the REQ's connection goes: it reconnects, preferred first */
			while (ready(sock_rcvfd(req), 200)) {
				hdrlen = sizeof(hdr);
				if (sock_recv_raw(req, &buf, hdr, &hdrlen) >= 0)
					nn_freemsg(buf);
			}
			CHECK_INT((long)sock_resets(req), 2);
			rep = sock_bind_raw(NN_REP, addr, 1000);
		}
	}
	sock_close(req);
	sock_close(rep);
	sock_close(alt);
	unlink(ppath);
}

/* Our REQ against nanomsg's raw REP (the daemons' control sockets, akc-httpd's backend). */
static void
nanomsg_server(void)
{
	unsigned char id[4] = { 0x80, 0, 0, 7 }, hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	int req, rep, to = 2000;
	void *buf;
	ssize_t n;
	char *rsp;
	pid_t p;

	unlink(path);
	if ((p = fork()) == 0) {
		rep = nn_socket(AF_SP, NN_REP);
		nn_setsockopt(rep, NN_SOL_SOCKET, NN_RCVTIMEO, &to, sizeof(to));
		if (rep < 0 || nn_bind(rep, addr) < 0)
			_exit(2);
		if ((n = nn_recv(rep, &rsp, NN_MSG, 0)) != 3)
			_exit(3);
		nn_send(rep, "pong", 4, 0);
		usleep(300000);
		_exit(0);
	}
	req = sock_connect_raw(NN_REQ, addr, 1000, 100);
	{
		msec_t end = clock_mono_ms() + 2000;

		while (sock_send_raw(req, id, 4, "png", 3) < 0 && clock_mono_ms() < end)
			usleep(20000);
	}
	hdrlen = sizeof(hdr);
	n = recv_within(req, &buf, hdr, &hdrlen, 2000);
	CHECK_INT(n, 4);
	CHECK(n == 4 && memcmp(buf, "pong", 4) == 0 && memcmp(hdr, id, 4) == 0);
	if (n >= 0)
		nn_freemsg(buf);
	sock_close(req);
	waitpid(p, NULL, 0);
}

/* Polls a native PUB until cond or ms pass (it accepts in sock_service). */
#define SERVE_UNTIL(pub, cond, ms) do {						\
	msec_t end_ = clock_mono_ms() + (ms);					\
	while (!(cond) && clock_mono_ms() < end_) {				\
		ready(sock_rcvfd(pub), 20);					\
		sock_service(pub);						\
	}									\
} while (0)

/* A nanomsg SUB receives what our PUB publishes; our SUB what nanomsg's PUB does. */
static void
pub_sub_nanomsg(void)
{
	int pub, sub, to = 100, got = 0, i;
	char *m = NULL;
	int n = -1;
	void *buf;
	ssize_t k;

	unlink(path);
	pub = sock_bind(NN_PUB, addr, 1024);
	CHECK(sock_native(pub));
	sub = nn_socket(AF_SP, NN_SUB);
	nn_setsockopt(sub, NN_SUB, NN_SUB_SUBSCRIBE, "", 0);
	nn_setsockopt(sub, NN_SOL_SOCKET, NN_RCVTIMEO, &to, sizeof(to));
	CHECK(nn_connect(sub, addr) >= 0);
	/* nanomsg connects in its thread: publish until one arrives */
	for (i = 0; i < 50 && n < 0; i++) {
		SERVE_UNTIL(pub, 0, 20);
		CHECK_INT(sock_send(pub, "hello", 5), 0);
		n = nn_recv(sub, &m, NN_MSG, 0);
	}
	CHECK_INT(n, 5);
	if (n == 5) {
		CHECK(memcmp(m, "hello", 5) == 0);
		nn_freemsg(m);
	}
	/* a second publish, bigger: whole and in order */
	{
		static char big[100000];

		memset(big, 'x', sizeof(big));
		CHECK_INT(sock_send(pub, big, sizeof(big)), 0);
		CHECK_INT(sock_send(pub, "after", 5), 0);
		for (i = 0; i < 50 && got < 2; i++) {
			SERVE_UNTIL(pub, 0, 5);
			if ((n = nn_recv(sub, &m, NN_MSG, 0)) < 0)
				continue;
			CHECK_INT(n, got == 0 ? (int)sizeof(big) : 5);
			got++;
			nn_freemsg(m);
		}
		CHECK_INT(got, 2);
	}
	nn_close(sub);
	SERVE_UNTIL(pub, 0, 50);
	sock_close(pub);
	unlink(path);

	/* our SUB against nanomsg's PUB */
	pub = nn_socket(AF_SP, NN_PUB);
	CHECK(nn_bind(pub, addr) >= 0);
	sub = sock_connect_sub(addr, 1024, 100);
	CHECK(sock_native(sub));
	n = -1;
	for (i = 0; i < 100 && n < 0; i++) {
		sock_sub_tick(sub, clock_mono_ms());
		nn_send(pub, "notice", 6, 0);
		ready(sock_rcvfd(sub), 20);
		if ((k = sock_recv(sub, &buf)) >= 0) {
			n = (int)k;
			CHECK(memcmp(buf, "notice", 6) == 0);
			nn_freemsg(buf);
		}
	}
	CHECK_INT(n, 6);
	CHECK(sock_connects(sub) >= 1);
	sock_close(sub);
	nn_close(pub);
	unlink(path);
}

/*
 * Our PUB and SUB: a SUB made before its publisher connects at a tick, and
 * again after the publisher restarts (sock_connects counts both); a
 * subscriber that does not read misses messages past the backlog, counted,
 * and is not closed; a peer of the wrong protocol is closed and counted; a
 * subscriber that sends a frame is closed.
 */
static void
pub_sub_native(void)
{
	int pub, sub, lazy, i, fd, got = 0;
	unsigned long before;
	struct sockaddr_un sun;
	const unsigned char req_hdr[8] = { 0, 'S', 'P', 0, 0, 48, 0, 0 };
	const unsigned char sub_hdr[8] = { 0, 'S', 'P', 0, 0, 33, 0, 0 };
	unsigned char junk[16] = { 1, 0, 0, 0, 0, 0, 0, 0, 1, 'x' };
	static char chunk[32768];
	void *buf;
	ssize_t k;

	unlink(path);
	sub = sock_connect_sub(addr, 4 * SPS_PUB_BACKLOG, 200);
	CHECK(sock_native(sub));
	CHECK_INT(sock_sub_tick(sub, clock_mono_ms()), 0);	/* nobody there yet */
	CHECK(sock_retry_at(sub) > 0);
	pub = sock_bind(NN_PUB, addr, 1024);
	CHECK(pub >= 0);
	/* the tick connects once the pause is over */
	{
		msec_t end = clock_mono_ms() + 2000;

		while (sock_sub_tick(sub, clock_mono_ms()) != 1 && clock_mono_ms() < end)
			usleep(10000);
	}
	CHECK_INT(sock_sub_tick(sub, clock_mono_ms()), 1);
	CHECK_INT((int)sock_connects(sub), 1);
	SERVE_UNTIL(pub, 0, 50);
	CHECK_INT(sock_send(pub, "one", 3), 0);
	for (i = 0; i < 50 && got == 0; i++) {
		ready(sock_rcvfd(sub), 20);
		if ((k = sock_recv(sub, &buf)) >= 0) {
			CHECK_INT(k, 3);
			got = 1;
			nn_freemsg(buf);
		}
	}
	CHECK_INT(got, 1);
	/* a message larger than the backlog bound (memberd.svc's relayed pieces) gets through whole */
	{
		size_t big = 3 * SPS_PUB_BACKLOG;
		char *m = xmalloc(big);

		memset(m, 'b', big);
		CHECK_INT(sock_send(pub, m, big), 0);
		/* while most of it waits, the next message is missed (counted) */
		before = sock_dropped(pub);
		CHECK_INT(sock_send(pub, "lost", 4), 0);
		CHECK_INT((int)(sock_dropped(pub) - before), 1);
		got = 0;
		for (i = 0; i < 500 && got < 2; i++) {
			ready(sock_rcvfd(sub), 5);
			sock_service(pub);	/* writes the rest when the socket takes it */
			while ((k = sock_recv(sub, &buf)) >= 0) {
				CHECK_INT(k, got == 0 ? (ssize_t)big : 3);
				got++;
				nn_freemsg(buf);
				if (got == 1)	/* all of it taken: the next one goes */
					CHECK_INT(sock_send(pub, "two", 3), 0);
			}
		}
		CHECK_INT(got, 2);
		free(m);
	}

	/* a lazy subscriber: never reads */
	lazy = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	CHECK(connect(lazy, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(write(lazy, sub_hdr, 8) == 8);
	SERVE_UNTIL(pub, 0, 50);
	before = sock_dropped(pub);
	memset(chunk, 'y', sizeof(chunk));
	for (i = 0; i < 64; i++) {	/* 2 MiB: past the socket's buffer and the backlog */
		CHECK_INT(sock_send(pub, chunk, sizeof(chunk)), 0);
		/* our own SUB keeps reading */
		while (sock_recv(sub, &buf) >= 0)
			nn_freemsg(buf);
		ready(sock_rcvfd(sub), 5);
		while (sock_recv(sub, &buf) >= 0)
			nn_freemsg(buf);
	}
	CHECK(sock_dropped(pub) > before);
	/* the lazy one is still connected: it reads what was kept, whole frames */
	{
		unsigned char h[9 + 8];

		CHECK(read(lazy, h, 8) == 8 && memcmp(h, "\0SP\0\0\x20\0\0", 8) == 0);
	}
	close(lazy);

	/* a REQ where a SUB should be: closed, counted */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(write(fd, req_hdr, 8) == 8);
	before = sock_dropped(pub);
	SERVE_UNTIL(pub, sock_dropped(pub) > before, 1000);
	CHECK(sock_dropped(pub) > before);
	close(fd);
	/* a SUB that sends a frame after its header: closed, counted */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(write(fd, sub_hdr, 8) == 8 && write(fd, junk, 10) == 10);
	before = sock_dropped(pub);
	SERVE_UNTIL(pub, sock_dropped(pub) > before, 1000);
	CHECK(sock_dropped(pub) > before);
	close(fd);

	/* the publisher restarts: the SUB sees its connection go and makes another */
	sock_close(pub);
	unlink(path);
	for (i = 0; i < 50 && sock_resets(sub) == 0; i++) {
		ready(sock_rcvfd(sub), 20);
		while (sock_recv(sub, &buf) >= 0)
			nn_freemsg(buf);
	}
	CHECK_INT((int)sock_resets(sub), 1);
	CHECK_INT(sock_sub_tick(sub, clock_mono_ms()), 0);
	pub = sock_bind(NN_PUB, addr, 1024);
	CHECK(pub >= 0);
	{
		msec_t end = clock_mono_ms() + 2000;

		while (sock_sub_tick(sub, clock_mono_ms()) != 1 && clock_mono_ms() < end)
			usleep(10000);
	}
	CHECK_INT((int)sock_connects(sub), 2);
	sock_close(sub);
	sock_close(pub);
	unlink(path);
}

/*
 * A message larger than the backlog reaches an idle subscriber whole, as
 * nanomsg's PUB sends whatever it is given to a pipe with nothing queued:
 * memberd's svc PUB carries relayed messages up to RELAY_MAX_MSG (journal
 * batches of 512 KiB), and one over SPS_PUB_BACKLOG was dropped for
 * every subscriber, however idle.
 */
static void
pub_large(void)
{
	int pub, sub, i, got = 0, rcvmax = 8 << 20, to = 100;
	size_t big = 600 * 1024;
	char *msg = malloc(big), *m;
	int n;

	unlink(path);
	pub = sock_bind(NN_PUB, addr, 1024);
	CHECK(sock_native(pub));
	sub = nn_socket(AF_SP, NN_SUB);
	nn_setsockopt(sub, NN_SUB, NN_SUB_SUBSCRIBE, "", 0);
	nn_setsockopt(sub, NN_SOL_SOCKET, NN_RCVMAXSIZE, &rcvmax, sizeof(rcvmax));
	nn_setsockopt(sub, NN_SOL_SOCKET, NN_RCVTIMEO, &to, sizeof(to));
	CHECK(nn_connect(sub, addr) >= 0);
	/* nanomsg connects in its thread: publish a small one until it arrives */
	for (i = 0, n = -1; i < 50 && n < 0; i++) {
		SERVE_UNTIL(pub, 0, 20);
		CHECK_INT(sock_send(pub, "hello", 5), 0);
		if ((n = nn_recv(sub, &m, NN_MSG, 0)) >= 0)
			nn_freemsg(m);
	}
	CHECK_INT(n, 5);
	memset(msg, 'L', big);
	CHECK_INT(sock_send(pub, msg, big), 0);
	for (i = 0; i < 200 && got < 2; i++) {
		SERVE_UNTIL(pub, 0, 5);
		if ((n = nn_recv(sub, &m, NN_MSG, 0)) < 0)
			continue;
		CHECK_INT(n, got == 0 ? (int)big : 5);
		if (got == 0 && n == (int)big)
			CHECK(m[0] == 'L' && m[big - 1] == 'L');
		/* the next once it has been read */
		if (got++ == 0)
			CHECK_INT(sock_send(pub, "after", 5), 0);
		nn_freemsg(m);
	}
	CHECK_INT(got, 2);
	CHECK_INT((int)sock_dropped(pub), 0);
	nn_close(sub);
	SERVE_UNTIL(pub, 0, 50);
	sock_close(pub);
	unlink(path);
	free(msg);
}

/*
 * Out of descriptors: connections waiting to be accepted are taken and
 * closed, counted, so that the listener is not left ready (a level-triggered
 * poll would wake the daemon's loop for ever: memberd at 100% of a core,
 * its peers' connections refused too); once descriptors are back, the next
 * subscriber is served.
 */
static void
accept_emfile(void)
{
	int pub, c[3], i, probe;
	unsigned long before;
	struct rlimit old, low;
	char b[16];

	unlink(path);
	pub = sock_bind(NN_PUB, addr, 1024);
	CHECK(sock_native(pub));
	for (i = 0; i < 3; i++)
		CHECK((c[i] = raw_connect()) >= 0);
	/* no descriptor left below the limit: accept4 fails with EMFILE */
	probe = dup(0);
	close(probe);
	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	low = old;
	low.rlim_cur = (rlim_t)probe;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	before = sock_dropped(pub);
	CHECK(ready(sock_rcvfd(pub), 1000));
	sock_service(pub);
	/* the listener is not left ready, the three were closed and counted */
	CHECK(!ready(sock_rcvfd(pub), 0));
	CHECK_INT((int)(sock_dropped(pub) - before), 3);
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	for (i = 0; i < 3; i++) {
		CHECK(ready(c[i], 1000) && read(c[i], b, sizeof(b)) == 0);
		close(c[i]);
	}
	/* descriptors are back: a subscriber is accepted and gets the PUB's header */
	CHECK((c[0] = raw_connect()) >= 0);
	CHECK(ready(sock_rcvfd(pub), 1000));
	sock_service(pub);
	CHECK(ready(c[0], 1000) && read(c[0], b, 8) == 8 && memcmp(b, "\0SP\0\0\x20\0\0", 8) == 0);
	close(c[0]);
	sock_close(pub);
	unlink(path);
}

/*
 * A bound socket's file goes when it is closed, as nanomsg's ipc:// did (the
 * tools then say "not running", not "stale socket"), but not a file that is
 * another's by then (ours removed and the path bound again).
 */
static void
close_removes_file(void)
{
	int a, b;

	unlink(path);
	a = sock_bind(NN_PUB, addr, 1024);
	CHECK(sock_native(a));
	CHECK(access(path, F_OK) == 0);
	sock_close(a);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);
	a = sock_bind_raw(NN_REP, addr, 4096);
	CHECK(sock_native(a));
	CHECK(unlink(path) == 0);
	b = sock_bind(NN_PULL, addr, 4096);
	CHECK(sock_native(b));
	sock_close(a);
	CHECK(access(path, F_OK) == 0);	/* b's */
	sock_close(b);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);
}

/* A nanomsg PUSH (lib/svc.c's) into our PULL; an oversized message closes its connection. */
static void
pull_nanomsg(void)
{
	int pull, push, i, n = -1;
	void *buf;
	ssize_t k;
	static char big[3000];

	unlink(path);
	pull = sock_bind(NN_PULL, addr, 1024);
	CHECK(sock_native(pull));
	push = nn_socket(AF_SP, NN_PUSH);
	CHECK(nn_connect(push, addr) >= 0);
	/* nanomsg's PUSH sends once the pipe is up: our PULL accepts when pumped */
	for (i = 0; i < 100 && nn_send(push, "relay", 5, NN_DONTWAIT) != 5; i++) {
		ready(sock_rcvfd(pull), 20);
		if (sock_recv(pull, &buf) >= 0)
			nn_freemsg(buf);
	}
	CHECK(i < 100);
	for (i = 0; i < 100 && n < 0; i++) {
		ready(sock_rcvfd(pull), 20);
		if ((k = sock_recv(pull, &buf)) >= 0) {
			n = (int)k;
			CHECK(memcmp(buf, "relay", 5) == 0);
			nn_freemsg(buf);
		}
	}
	CHECK_INT(n, 5);
	/* over rcvmax: dropped and the connection closed, counted */
	memset(big, 'z', sizeof(big));
	nn_send(push, big, sizeof(big), 0);
	for (i = 0; i < 100 && sock_dropped(pull) == 0; i++) {
		ready(sock_rcvfd(pull), 20);
		if (sock_recv(pull, &buf) >= 0)
			nn_freemsg(buf);
	}
	CHECK_INT((int)sock_dropped(pull), 1);
	nn_close(push);
	sock_close(pull);
	unlink(path);
}

/* A unix socket connected to path, or -1. */
static int
dial_path(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Hostile local peers: 300 connections each writing random bytes (some
 * behind a valid header of the right protocol, some with frames of random
 * type and size) into a PULL, a PUB and a REP; none crashes them (ASan's
 * twin), each is closed or its junk dropped, and a good peer is served
 * after.
 */
static void
random_peers(void)
{
	static const int kinds[3] = { NN_PULL, NN_PUB, NN_REP };
	static const unsigned char right[3] = { 80, 33, 48 };	/* PUSH, SUB, REQ */
	unsigned char junk[512];
	unsigned int seed = 1234;
	int t, i, k, fd, s;
	void *buf;

	for (t = 0; t < 3; t++) {
		unlink(path);
		s = kinds[t] == NN_REP ? sock_bind_raw(NN_REP, addr, 1024) : sock_bind(kinds[t], addr, 1024);
		CHECK(sock_native(s));
		for (i = 0; i < 100; i++) {
			size_t n = (size_t)(rand_r(&seed) % sizeof(junk));

			for (k = 0; k < (int)n; k++)
				junk[k] = (unsigned char)rand_r(&seed);
			if (i % 2 == 0 && n >= 8) {	/* a good header, then junk */
				memcpy(junk, "\0SP\0\0", 5);
				junk[5] = right[t];
				junk[6] = junk[7] = 0;
				if (i % 4 == 0 && n >= 17)	/* a frame of random size */
					junk[8] = 1;
			}
			if ((fd = dial_path()) < 0) {
				CHECK(fd >= 0);
				break;
			}
			(void)!write(fd, junk, n);
			/* the daemon's loop takes what is ready */
			ready(sock_rcvfd(s), 2);
			if (kinds[t] == NN_PUB)
				sock_service(s);
			else {
				unsigned char hdr[SOCK_HDR_MAX];
				size_t hl = sizeof(hdr);

				while ((kinds[t] == NN_REP ? sock_recv_raw(s, &buf, hdr, &hl) :
				    sock_recv(s, &buf)) >= 0) {
					nn_freemsg(buf);
					hl = sizeof(hdr);
				}
			}
			close(fd);
		}
		/* still serving: a good peer gets through */
		if (kinds[t] == NN_PULL) {
			int push = nn_socket(AF_SP, NN_PUSH), got = 0;

			nn_connect(push, addr);
			for (i = 0; i < 200 && !got; i++) {
				(void)nn_send(push, "ok", 2, NN_DONTWAIT);
				ready(sock_rcvfd(s), 10);
				while (sock_recv(s, &buf) >= 0) {
					got = 1;
					nn_freemsg(buf);
				}
			}
			CHECK(got);
			nn_close(push);
		} else if (kinds[t] == NN_PUB) {
			int sub = sock_connect_sub(addr, 1024, 100), got = 0;

			for (i = 0; i < 200 && !got; i++) {
				sock_service(s);
				sock_send(s, "ok", 2);
				ready(sock_rcvfd(sub), 10);
				while (sock_recv(sub, &buf) >= 0) {
					got = 1;
					nn_freemsg(buf);
				}
			}
			CHECK(got);
			sock_close(sub);
		} else {
			struct spc c;
			char *rsp = NULL, err[128];
			ssize_t n;
			pid_t p;

			if ((p = fork()) == 0) {
				if (spc_init(&c, addr, 1024) < 0)
					_exit(2);
				n = spc_call(&c, "hi", 2, &rsp, clock_mono_ms() + 3000, err, sizeof(err));
				_exit(n == 2 && memcmp(rsp, "ok", 2) == 0 ? 0 : 3);
			}
			answer_one(s, 2, "ok", 3000);
			{
				int st = -1;

				waitpid(p, &st, 0);
				CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
			}
		}
		CHECK(sock_dropped(s) > 0);
		sock_close(s);
	}
	unlink(path);
}

/* Whether the server closed fd within ms (after its 8-byte header, if it sent one). */
static int
closed_within(int fd, int ms)
{
	msec_t end = clock_mono_ms() + ms;
	char b[64];
	ssize_t r;

	for (;;) {
		if (!ready(fd, (int)(end - clock_mono_ms() > 0 ? end - clock_mono_ms() : 0)))
			return 0;
		if ((r = recv(fd, b, sizeof(b), MSG_DONTWAIT)) == 0)
			return 1;
		if (r < 0 && errno != EAGAIN)
			return 1;
		if (clock_mono_ms() >= end)
			return 0;
	}
}

/* Serves rep (takes and answers what comes) for ms. */
static void
serve_for(int rep, int ms)
{
	msec_t end = clock_mono_ms() + ms;
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hl;
	void *buf;

	while (clock_mono_ms() < end) {
		ready(sock_rcvfd(rep), 20);
		hl = sizeof(hdr);
		while (sock_recv_raw(rep, &buf, hdr, &hl) >= 0) {
			CHECK_INT(sock_send_raw(rep, hdr, hl, "ok", 2), 0);
			nn_freemsg(buf);
			hl = sizeof(hdr);
		}
	}
}

/*
 * The deadline (sps_limits): a peer that sends no header, or half a
 * header, or a header and half a frame, is closed at it and counted; one
 * that idles between whole frames, and one whose frame is whole before its
 * due, are kept. The socket's fd wakes the loop for it, with no traffic.
 */
static void
conn_deadline(void)
{
	static const unsigned char req_hdr[8] = { 0, 'S', 'P', 0, 0, 48, 0, 0 };
	unsigned char frame[9 + 8];
	struct sps_conn_stats st;
	int rep, h, none, half, halfframe, idle, slow;
	msec_t t0;

	unlink(path);
	rep = sock_bind_raw(NN_REP, addr, 1000);
	h = rep - (1 << 20);
	CHECK_INT(sps_limits(h, 0, 1000), 0);
	CHECK((none = raw_connect()) >= 0);
	CHECK((half = raw_connect()) >= 0);
	CHECK(write(half, req_hdr, 5) == 5);
	CHECK((halfframe = raw_connect()) >= 0);
	frame[0] = 1;
	be64_put(frame + 1, 8);
	memcpy(frame + 9, "\x80\0\0\1", 4);	/* the request id, then 4 of the 4 bytes missing */
	CHECK(write(halfframe, req_hdr, 8) == 8 && write(halfframe, frame, 13) == 13);
	CHECK((idle = raw_connect()) >= 0);
	CHECK(write(idle, req_hdr, 8) == 8);
	CHECK((slow = raw_connect()) >= 0);
	CHECK(write(slow, req_hdr, 8) == 8 && write(slow, frame, 13) == 13);
	t0 = clock_mono_ms();
	serve_for(rep, 150);
	sps_conn_stats(h, &st);
	CHECK_INT(st.open, 5);
	CHECK_INT(st.timed_out, 0);
	/* slow's frame is whole before its due: answered, kept */
	CHECK(write(slow, "abcd", 4) == 4);
	serve_for(rep, 100);
	/* nothing else comes: the timer alone wakes the socket's fd */
	CHECK(ready(sock_rcvfd(rep), 2000));
	CHECK(clock_mono_ms() - t0 >= 900);
	/* (a test descheduled past a due gets a new one: conn_late_sweep) */
	do {
		serve_for(rep, 50);
		sps_conn_stats(h, &st);
	} while (st.timed_out < 3 && clock_mono_ms() - t0 < 6000);
	CHECK_INT(st.timed_out, 3);
	CHECK_INT(st.open, 2);
	CHECK_INT(st.refused, 0);
	CHECK_INT(sps_dropped(h), 3);
	CHECK(closed_within(none, 100));
	CHECK(closed_within(half, 100));
	CHECK(closed_within(halfframe, 100));
	CHECK(!closed_within(idle, 100));
	CHECK(!closed_within(slow, 100));
	/* the idle one is served long after: idle between frames is allowed */
	CHECK(write(idle, frame, 13) == 13 && write(idle, "abcd", 4) == 4);
	serve_for(rep, 100);
	{
		unsigned char b[32];

		CHECK(ready(idle, 500) && recv(idle, b, sizeof(b), MSG_DONTWAIT) == 9 + 4 + 2);
	}
	/* the timer is not left ready: the fd is quiet once served */
	serve_for(rep, 50);
	CHECK(!ready(sock_rcvfd(rep), 100));
	close(none);
	close(half);
	close(halfframe);
	close(idle);
	close(slow);
	sock_close(rep);
	unlink(path);
}

/*
 * A busy peer is no slow one: frames whole one after the other, each write
 * the rest of one and the start of the next, so that every read ends inside
 * a frame. Each frame is whole well within the deadline; the connection
 * must be kept for as long as the stream lasts (several deadlines), and
 * every request answered. (Until 2026-12-08 the due was set by the first
 * read that ended inside a frame and cleared only by a read that ended
 * between two: such a stream was closed at its first due.)
 */
static void
conn_stream(void)
{
	static const unsigned char req_hdr[8] = { 0, 'S', 'P', 0, 0, 48, 0, 0 };
	unsigned char frame[9 + 8], w[17], b[4096];
	struct sps_conn_stats st;
	int rep, h, fd, i, n = 40, got = 0;
	ssize_t r;

	unlink(path);
	rep = sock_bind_raw(NN_REP, addr, 1000);
	h = rep - (1 << 20);
	CHECK_INT(sps_limits(h, 0, 300), 0);
	CHECK((fd = raw_connect()) >= 0);
	frame[0] = 1;
	be64_put(frame + 1, 8);
	memcpy(frame + 9, "\x80\0\0\1abcd", 8);
	/* the header and the first 10 bytes of the first frame */
	memcpy(w, req_hdr, 8);
	memcpy(w + 8, frame, 9);
	CHECK(write(fd, w, 17) == 17 && write(fd, frame + 9, 1) == 1);
	for (i = 0; i < n; i++) {
		serve_for(rep, 40);	/* 40 requests over 1.6 s: five deadlines */
		/* the rest of frame i (7 bytes), the start of frame i + 1 (10) */
		memcpy(w, frame + 10, 7);
		memcpy(w + 7, frame, 10);
		CHECK(write(fd, w, i + 1 < n ? 17 : 7) == (i + 1 < n ? 17 : 7));
		while ((r = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
			got += (int)r;
	}
	serve_for(rep, 100);
	while (ready(fd, 200) && (r = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		got += (int)r;
	sps_conn_stats(h, &st);
	CHECK_INT(st.timed_out, 0);
	CHECK_INT(st.open, 1);
	CHECK_INT(got, 8 + n * (9 + 4 + 2));	/* its header, then every answer */
	close(fd);
	sock_close(rep);
	unlink(path);
}

/* Serves rep until child p exits (SIGKILLed after 10 s: no hang); whether it exited 0. */
static int
served_child(int rep, pid_t p)
{
	msec_t end = clock_mono_ms() + 10000;
	int stt = -1;

	while (waitpid(p, &stt, WNOHANG) == 0 && clock_mono_ms() < end)
		serve_for(rep, 50);
	if (clock_mono_ms() >= end) {
		kill(p, SIGKILL);
		waitpid(p, &stt, 0);
	}
	return WIFEXITED(stt) && WEXITSTATUS(stt) == 0;
}

/* A child's blocking write of all of p; -1 on failure. */
static int
write_all(int fd, const unsigned char *p, size_t len)
{
	size_t off;
	ssize_t w;

	for (off = 0; off < len; off += (size_t)w)
		if ((w = write(fd, p + off, len - off)) <= 0)
			return -1;
	return 0;
}

/* A child's read of the server's header and a 2-byte answer ("ok"); -1 on failure. */
static int
read_answer(int fd)
{
	unsigned char b[64];
	size_t off;
	ssize_t r;

	for (off = 0; off < 8 + 9 + 4 + 2; off += (size_t)r)
		if ((r = read(fd, b + off, sizeof(b) - off)) <= 0)
			return -1;
	return 0;
}

/*
 * A due that passed while we did not serve the socket (the daemon stopped,
 * or its loop blocked: a log write to a full pipe) is our delay, not the
 * peer's: a peer writing a frame larger than the socket's buffer, blocked
 * because we did not read, is not closed by the sweep that runs when we
 * are back, before it could write the rest. (Until 2026-12-08 it was: the
 * late sweep read what waited and closed it inside the frame.) A sweep on
 * time still closes a peer that stopped inside its frame (conn_deadline).
 */
static void
conn_late_sweep(void)
{
	static const unsigned char req_hdr[8] = { 0, 'S', 'P', 0, 0, 48, 0, 0 };
	size_t len = 1 << 20;
	struct sps_conn_stats st;
	int rep, h, go[2];
	pid_t p;

	unlink(path);
	rep = sock_bind_raw(NN_REP, addr, 2 << 20);
	h = rep - (1 << 20);
	CHECK_INT(sps_limits(h, 0, 300), 0);
	CHECK(pipe(go) == 0);
	if ((p = fork()) == 0) {
		unsigned char *f = calloc(1, 9 + len);
		int fd = raw_connect();
		char c;

		if (f == NULL || fd < 0)
			_exit(2);
		f[0] = 1;
		be64_put(f + 1, len);
		memcpy(f + 9, "\x80\0\0\1", 4);
		/* the header and the frame begun */
		if (write(fd, req_hdr, 8) != 8 || write(fd, f, 100) != 100)
			_exit(3);
		if (read(go[0], &c, 1) != 1)
			_exit(4);
		/* the rest, blocking while the server does not read */
		if (write_all(fd, f + 100, 9 + len - 100) < 0)
			_exit(5);
		_exit(read_answer(fd) < 0 ? 6 : 0);
	}
	close(go[0]);
	serve_for(rep, 200);	/* the header, and the frame's first bytes: its due */
	sps_conn_stats(h, &st);
	CHECK_INT(st.open, 1);
	/* the child writes the rest; we do not read for 1.5 s (five deadlines) */
	CHECK(write(go[1], "x", 1) == 1);
	usleep(1500 * 1000);
	CHECK(served_child(rep, p));
	sps_conn_stats(h, &st);
	CHECK_INT(st.timed_out, 0);
	close(go[1]);
	sock_close(rep);
	unlink(path);
}

/* Bytes malloc has handed out and not taken back (heap and mmap). */
static long long
in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long long)mi.uordblks + (long long)mi.hblkhd;
}

/*
 * Memory follows the bytes a peer sent, not the size its frame announced:
 * 16 connections each announcing a 16 MiB frame and sending 4 bytes of it
 * hold under 4 MiB together (before: a buffer of the announced size each,
 * 256 MiB); a 3 MiB frame, many times the first buffer, sent whole by a
 * child arrives intact through the buffer's growth.
 */
static void
conn_announced(void)
{
	static const unsigned char req_hdr[8] = { 0, 'S', 'P', 0, 0, 48, 0, 0 };
	unsigned char head[9 + 4], hdr[SOCK_HDR_MAX], *got;
	size_t len = 3 << 20, hl = sizeof(hdr), i, bad = 0;
	long long before, held;
	int rep, fds[16], k;
	void *buf;
	ssize_t n;
	pid_t p;

	unlink(path);
	rep = sock_bind_raw(NN_REP, addr, 32 << 20);
	head[0] = 1;
	be64_put(head + 1, 16 << 20);
	memcpy(head + 9, "\x80\0\0\1", 4);
	before = in_use();
	for (k = 0; k < 16; k++) {
		CHECK((fds[k] = raw_connect()) >= 0);
		CHECK(write(fds[k], req_hdr, 8) == 8 && write(fds[k], head, 13) == 13);
	}
	serve_for(rep, 300);
	held = in_use() - before;
	printf("# 16 frames of 16 MiB announced, 4 bytes each sent: %lld KiB held\n", held >> 10);
	CHECK(held < (4 << 20));
	for (k = 0; k < 16; k++)
		close(fds[k]);
	serve_for(rep, 100);
	if ((p = fork()) == 0) {
		unsigned char *f = malloc(9 + len);
		int fd = raw_connect();

		if (f == NULL || fd < 0)
			_exit(2);
		f[0] = 1;
		be64_put(f + 1, len);
		memcpy(f + 9, "\x80\0\0\2", 4);
		for (i = 4; i < len; i++)
			f[9 + i] = (unsigned char)(i * 7 + (i >> 11));
		if (write(fd, req_hdr, 8) != 8 || write_all(fd, f, 9 + len) < 0)
			_exit(3);
		_exit(read_answer(fd) < 0 ? 5 : 0);
	}
	n = recv_within(rep, &buf, hdr, &hl, 10000);
	CHECK_INT(n, (ssize_t)(len - 4));
	if (n == (ssize_t)(len - 4)) {
		got = buf;
		for (i = 4; i < len; i++)
			bad += got[i - 4] != (unsigned char)(i * 7 + (i >> 11));
		CHECK_INT(bad, 0);
		nn_freemsg(buf);
		CHECK_INT(sock_send_raw(rep, hdr, hl, "ok", 2), 0);
	}
	CHECK(served_child(rep, p));
	sock_close(rep);
	unlink(path);
}

/*
 * The cap: past conn_max connections at once, a new one is accepted and
 * closed at once (its peer reads the end, not the server's header) and
 * counted; the ones in are served; once one goes, another gets in. PUB
 * and PULL alike. The default deadline and cap are the daemons'.
 */
static void
conn_cap(void)
{
	static const unsigned char req_hdr[8] = { 0, 'S', 'P', 0, 0, 48, 0, 0 };
	unsigned char frame[9 + 6], b[64];
	struct sps_conn_stats st;
	int rep, h, c[4], extra, i;
	struct spc sc;
	char *rsp = NULL, err[128];
	pid_t p;

	unlink(path);
	rep = sock_bind_raw(NN_REP, addr, 1000);
	h = rep - (1 << 20);
	CHECK(sps_limits(h + 1000, 3, 0) < 0);
	CHECK_INT(sps_limits(h, 3, 0), 0);
	for (i = 0; i < 3; i++) {
		CHECK((c[i] = raw_connect()) >= 0);
		CHECK(write(c[i], req_hdr, 8) == 8);
	}
	serve_for(rep, 100);
	CHECK((extra = raw_connect()) >= 0);
	serve_for(rep, 100);
	sps_conn_stats(h, &st);
	CHECK_INT(st.open, 3);
	CHECK_INT(st.refused, 1);
	CHECK(ready(extra, 500) && read(extra, b, sizeof(b)) == 0);
	close(extra);
	/* the three are served */
	frame[0] = 1;
	be64_put(frame + 1, 6);
	memcpy(frame + 9, "\x80\0\0\7hi", 6);
	for (i = 0; i < 3; i++)
		CHECK(write(c[i], frame, 15) == 15);
	serve_for(rep, 100);
	for (i = 0; i < 3; i++)
		CHECK(ready(c[i], 500) && recv(c[i], b, sizeof(b), MSG_DONTWAIT) == 8 + 9 + 4 + 2);
	/* one goes: a client gets in (spc, as the tools) */
	close(c[0]);
	serve_for(rep, 50);
	if ((p = fork()) == 0) {
		if (spc_init(&sc, addr, 1024) < 0)
			_exit(2);
		_exit(spc_call(&sc, "x", 1, &rsp, clock_mono_ms() + 3000, err, sizeof(err)) == 2 ? 0 : 3);
	}
	serve_for(rep, 300);
	{
		int stt = -1;

		waitpid(p, &stt, 0);
		CHECK(WIFEXITED(stt) && WEXITSTATUS(stt) == 0);
	}
	sps_conn_stats(h, &st);
	CHECK_INT(st.refused, 1);
	for (i = 1; i < 3; i++)
		close(c[i]);
	sock_close(rep);
	/* a PUB and a PULL: the same cap, and the defaults */
	for (i = 0; i < 2; i++) {
		int s = i == 0 ? sock_bind(NN_PUB, addr, 1024) : sock_bind(NN_PULL, addr, 1024);
		int a, bb;
		cJSON *j;

		h = s - (1 << 20);
		j = sock_conns_json(s);
		CHECK(j != NULL && cJSON_GetObjectItem(j, "open") != NULL);
		cJSON_Delete(j);
		CHECK_INT(sps_limits(h, 1, SPS_DEADLINE_MS), 0);
		CHECK((a = raw_connect()) >= 0);
		CHECK((bb = raw_connect()) >= 0);
		ready(sock_rcvfd(s), 200);
		sock_service(s);
		CHECK(ready(bb, 500) && read(bb, b, sizeof(b)) == 0);
		sps_conn_stats(h, &st);
		CHECK_INT(st.open, 1);
		CHECK_INT(st.refused, 1);
		close(a);
		close(bb);
		sock_close(s);
		unlink(path);
	}
	CHECK(SPS_CONN_MAX >= 64 && SPS_DEADLINE_MS >= 2000);
}

int
main(void)
{
	log_init("test-sps");
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/test-sps.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/s", dir);
	snprintf(addr, sizeof(addr), "ipc://%s", path);
	RUN(nanomsg_and_spc_clients);
	unlink(path);
	RUN(pipelined);
	unlink(path);
	RUN(refusals);
	unlink(path);
	RUN(takeover);
	unlink(path);
	RUN(late_server);
	RUN(prefer);
	unlink(path);
	RUN(nanomsg_server);
	unlink(path);
	RUN(pub_sub_nanomsg);
	RUN(pub_sub_native);
	RUN(pub_large);
	RUN(accept_emfile);
	RUN(close_removes_file);
	RUN(pull_nanomsg);
	RUN(random_peers);
	unlink(path);
	RUN(conn_deadline);
	RUN(conn_stream);
	RUN(conn_late_sweep);
	RUN(conn_cap);
	RUN(conn_announced);
	rmdir(dir);
	return unit_done();
}
