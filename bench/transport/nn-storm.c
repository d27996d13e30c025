/*
 * bench/transport/nn-storm.c: nng-storm.c over libnanomsg 1.1.5 (nn_socket
 * NN_PUSH/NN_PULL over tcp://127.0.0.1), the same program shape, in memberd's
 * pattern: a PULL listener on its own port, one PUSH socket per peer, small
 * frames to every peer every 100-200 ms, never blocking on a send, and a
 * peer socket that could not send for a second closed and dialled again
 * (memberd's reset of an unreachable peer, every 2 s).
 *
 *   nn-storm INDEX NPROC PORTBASE NPEERS
 *	listens on PORTBASE+INDEX, dials NPEERS random others of
 *	PORTBASE+0 .. PORTBASE+NPROC-1 (NPEERS 0: a listener only).
 *	Environment: STORM_ROTATE_MS (every so many ms, close one peer's
 *	socket and dial another random peer instead: memberd's pool of 128
 *	sockets evicting its least recently used one when a node talks to
 *	more peers than that, as at 200 nodes; default 0, never),
 *	STORM_RECVMAX (NN_RCVMAXSIZE, default 65536). nanomsg has no way
 *	to cap connections.
 *
 * Runs until SIGTERM, then prints "sent S recv R resets X rotations Y" and
 * exits 0. An unexpected error exits 1 with the message; a nanomsg
 * assertion aborts (status 134), which is what storm.sh counts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/tcp.h>

#define MAX_PEERS	64

struct peer {
	int port;
	int s;
	long long ok_at;	/* ms of the last successful send (or of the dial) */
};

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fail(const char *what)
{
	fprintf(stderr, "nn-storm: %s: %s\n", what, nn_strerror(nn_errno()));
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: nn-storm INDEX NPROC PORTBASE NPEERS\n");
	exit(2);
}

static void
peer_open(struct peer *p, long long now)
{
	char url[64];
	int v;

	if ((p->s = nn_socket(AF_SP, NN_PUSH)) < 0)
		fail("nn_socket");
	v = 100;
	(void)nn_setsockopt(p->s, NN_SOL_SOCKET, NN_RECONNECT_IVL, &v, sizeof(v));
	v = 1000;
	(void)nn_setsockopt(p->s, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX, &v, sizeof(v));
	v = 8 * 1024;
	(void)nn_setsockopt(p->s, NN_SOL_SOCKET, NN_SNDBUF, &v, sizeof(v));
	v = 1;
	(void)nn_setsockopt(p->s, NN_TCP, NN_TCP_NODELAY, &v, sizeof(v));
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", p->port);
	if (nn_connect(p->s, url) < 0)
		fail("nn_connect");
	p->ok_at = now;
}

/* A random port of the others that none of peer[0..n) but peer[skip] has. */
static int
pick(const struct peer *peer, int n, int skip, int base, int nproc, int idx)
{
	int j, port, dup;

	do {
		port = base + (int)(random() % nproc);
		dup = port == base + idx;
		for (j = 0; j < n && !dup; j++)
			dup = j != skip && peer[j].port == port;
	} while (dup);
	return port;
}

int
main(int argc, char **argv)
{
	struct peer peer[MAX_PEERS];
	int pull;
	char url[64], frame[120];
	const char *e;
	int idx, nproc, base, npeers, i, rcvfd, recvmax = 65536;
	unsigned long long sent = 0, recvd = 0, resets = 0, rotations = 0;
	long long now, next_send, next_reset, next_rotate, rotate_ms = 0;
	size_t fdsz = sizeof(rcvfd);

	if (argc != 5)
		usage();
	idx = atoi(argv[1]);
	nproc = atoi(argv[2]);
	base = atoi(argv[3]);
	npeers = atoi(argv[4]);
	if (nproc < 1 || idx < 0 || idx >= nproc || npeers < 0 || npeers > MAX_PEERS ||
	    npeers > nproc - 1)
		usage();
	if ((e = getenv("STORM_RECVMAX")) != NULL)
		recvmax = atoi(e);
	if ((e = getenv("STORM_ROTATE_MS")) != NULL)
		rotate_ms = atoi(e);
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)(getpid() ^ mono_ms()));

	if ((pull = nn_socket(AF_SP, NN_PULL)) < 0)
		fail("nn_socket");
	if (nn_setsockopt(pull, NN_SOL_SOCKET, NN_RCVMAXSIZE, &recvmax, sizeof(recvmax)) < 0)
		fail("NN_RCVMAXSIZE");
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", base + idx);
	if (nn_bind(pull, url) < 0)
		fail(url);
	if (nn_getsockopt(pull, NN_SOL_SOCKET, NN_RCVFD, &rcvfd, &fdsz) < 0)
		fail("NN_RCVFD");

	now = mono_ms();
	for (i = 0; i < npeers; i++) {
		peer[i].port = pick(peer, i, -1, base, nproc, idx);
		peer_open(&peer[i], now);
	}
	snprintf(frame, sizeof(frame), "{\"v\":1,\"t\":\"hb\",\"from\":%d,\"pad\":\"%064d\"}", idx, 0);
	next_send = now + 100 + random() % 100;
	next_reset = now + 2000;
	next_rotate = rotate_ms > 0 && npeers > 0 && npeers < nproc - 1 ?
	    now + random() % rotate_ms : -1;

	while (!stop) {
		struct pollfd pfd = { .fd = rcvfd, .events = POLLIN };
		long long until = next_rotate >= 0 && next_rotate < next_send ? next_rotate : next_send;
		int wait = (int)(until - mono_ms());

		(void)poll(&pfd, 1, wait > 0 ? wait : 0);
		for (;;) {
			void *buf;

			if (nn_recv(pull, &buf, NN_MSG, NN_DONTWAIT) < 0) {
				if (nn_errno() == EAGAIN || nn_errno() == EINTR)
					break;
				fail("nn_recv");
			}
			recvd++;
			nn_freemsg(buf);
		}
		now = mono_ms();
		if (now >= next_send) {
			for (i = 0; i < npeers; i++) {
				if (nn_send(peer[i].s, frame, strlen(frame), NN_DONTWAIT) >= 0) {
					sent++;
					peer[i].ok_at = now;
				} else if (nn_errno() != EAGAIN && nn_errno() != EINTR)
					fail("nn_send");
			}
			next_send = now + 100 + random() % 100;
		}
		if (now >= next_reset) {
			for (i = 0; i < npeers; i++)
				if (now - peer[i].ok_at > 1000) {
					nn_close(peer[i].s);
					peer_open(&peer[i], now);
					resets++;
				}
			next_reset = now + 2000;
		}
		if (next_rotate >= 0 && now >= next_rotate) {
			i = (int)(random() % npeers);
			nn_close(peer[i].s);
			peer[i].port = pick(peer, npeers, i, base, nproc, idx);
			peer_open(&peer[i], now);
			rotations++;
			next_rotate = now + rotate_ms;
		}
	}
	fprintf(stderr, "sent %llu recv %llu resets %llu rotations %llu\n", sent, recvd, resets,
	    rotations);
	return 0;
}
