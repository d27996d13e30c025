/*
 * bench/transport/nng-storm.c: one node of bench/transport/storm.sh, with
 * NNG's native API (nng_push0/nng_pull0 over tcp://127.0.0.1), in memberd's
 * pattern: a PULL listener on its own port, one PUSH socket per peer, small
 * frames to every peer every 100-200 ms, never blocking on a send, and a
 * peer socket that could not send for a second closed and dialled again
 * (memberd's reset of an unreachable peer, every 2 s).
 * nn-storm.c is the same program over libnanomsg.
 *
 *   nng-storm INDEX NPROC PORTBASE NPEERS
 *	listens on PORTBASE+INDEX, dials NPEERS random others of
 *	PORTBASE+0 .. PORTBASE+NPROC-1 (NPEERS 0: a listener only).
 *	Environment: STORM_ROTATE_MS (every so many ms, close one peer's
 *	socket and dial another random peer instead: memberd's pool of 128
 *	sockets evicting its least recently used one when a node talks to
 *	more peers than that, as at 200 nodes; default 0, never),
 *	STORM_RECVMAX (NNG_OPT_RECVMAXSZ, default 65536),
 *	STORM_MAXPIPES (close every pipe beyond this many, from the
 *	NNG_PIPE_EV_ADD_PRE notification: NNG's only way to cap connections).
 *
 * Runs until SIGTERM, then prints "sent S recv R resets X rotations Y" and
 * exits 0. An unexpected error from NNG exits 1 with the message; an NNG
 * assertion aborts (status 134), which is what storm.sh counts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#define MAX_PEERS	64

struct peer {
	int port;
	nng_socket s;
	long long ok_at;	/* ms of the last successful send (or of the dial) */
};

static volatile sig_atomic_t stop;
static atomic_int pipes;
static int maxpipes;

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
fail(const char *what, int rv)
{
	fprintf(stderr, "nng-storm: %s: %s\n", what, nng_strerror(rv));
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: nng-storm INDEX NPROC PORTBASE NPEERS\n");
	exit(2);
}

/* Counts pipes; closes those beyond maxpipes before they are added. */
static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)arg;
	if (ev == NNG_PIPE_EV_ADD_PRE) {
		if (atomic_fetch_add(&pipes, 1) >= maxpipes)
			nng_pipe_close(p);
	} else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&pipes, 1);
}

static void
peer_open(struct peer *p, long long now)
{
	char url[64];
	int rv;

	if ((rv = nng_push0_open(&p->s)) != 0)
		fail("nng_push0_open", rv);
	(void)nng_socket_set_ms(p->s, NNG_OPT_RECONNMINT, 100);
	(void)nng_socket_set_ms(p->s, NNG_OPT_RECONNMAXT, 1000);
	(void)nng_socket_set_int(p->s, NNG_OPT_SENDBUF, 8);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", p->port);
	if ((rv = nng_dial(p->s, url, NULL, NNG_FLAG_NONBLOCK)) != 0)
		fail("nng_dial", rv);
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
	nng_socket pull;
	char url[64], frame[120];
	const char *e;
	int idx, nproc, base, npeers, i, rv, rcvfd, recvmax = 65536;
	unsigned long long sent = 0, recvd = 0, resets = 0, rotations = 0;
	long long now, next_send, next_reset, next_rotate, rotate_ms = 0;

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
	maxpipes = (e = getenv("STORM_MAXPIPES")) != NULL ? atoi(e) : 1 << 30;
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)(getpid() ^ mono_ms()));

	if ((rv = nng_pull0_open(&pull)) != 0)
		fail("nng_pull0_open", rv);
	if ((rv = nng_socket_set_size(pull, NNG_OPT_RECVMAXSZ, (size_t)recvmax)) != 0)
		fail("NNG_OPT_RECVMAXSZ", rv);
	if (getenv("STORM_MAXPIPES") != NULL &&
	    ((rv = nng_pipe_notify(pull, NNG_PIPE_EV_ADD_PRE, on_pipe, NULL)) != 0 ||
	    (rv = nng_pipe_notify(pull, NNG_PIPE_EV_REM_POST, on_pipe, NULL)) != 0))
		fail("nng_pipe_notify", rv);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", base + idx);
	if ((rv = nng_listen(pull, url, NULL, 0)) != 0)
		fail(url, rv);
	if ((rv = nng_socket_get_int(pull, NNG_OPT_RECVFD, &rcvfd)) != 0)
		fail("NNG_OPT_RECVFD", rv);

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
			size_t sz;

			rv = nng_recv(pull, &buf, &sz, NNG_FLAG_ALLOC | NNG_FLAG_NONBLOCK);
			if (rv == NNG_EAGAIN || rv == NNG_EINTR)
				break;
			if (rv != 0)
				fail("nng_recv", rv);
			recvd++;
			nng_free(buf, sz);
		}
		now = mono_ms();
		if (now >= next_send) {
			for (i = 0; i < npeers; i++) {
				rv = nng_send(peer[i].s, frame, strlen(frame), NNG_FLAG_NONBLOCK);
				if (rv == 0) {
					sent++;
					peer[i].ok_at = now;
				} else if (rv != NNG_EAGAIN)
					fail("nng_send", rv);
			}
			next_send = now + 100 + random() % 100;
		}
		if (now >= next_reset) {
			for (i = 0; i < npeers; i++)
				if (now - peer[i].ok_at > 1000) {
					nng_close(peer[i].s);
					peer_open(&peer[i], now);
					resets++;
				}
			next_reset = now + 2000;
		}
		if (next_rotate >= 0 && now >= next_rotate) {
			i = (int)(random() % npeers);
			nng_close(peer[i].s);
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
