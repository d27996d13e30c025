/*
 * test-spc.c: lib/spc.c, the tools' REQ client without nanomsg, against real
 * nanomsg REP (and PUB) sockets in child processes: answers, large messages
 * both ways, a refused oversized answer, a deadline, a request sent again
 * across a restart of its server, a peer that is not a REP, and requests
 * in flight on many connections polled together (spc_send, spc_recv).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>

#include "log.h"
#include "spc.h"
#include "unit.h"

static char dir[64], path[128], addr[160];

/*
 * A REP server in a child: echoes; "big" answers 100000 bytes; "slow" answers
 * after 300 ms; "die" exits without answering unless answer_die.
 */
static pid_t
server(int answer_die, int delay_ms)
{
	pid_t p = fork();
	int s, n;
	void *buf;

	if (p != 0)
		return p;
	if (delay_ms == 0)
		unlink(path);	/* the last test's file */
	if (delay_ms > 0)
		usleep((useconds_t)delay_ms * 1000);
	s = nn_socket(AF_SP, NN_REP);
	n = -1;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &n, sizeof(n));
	if (s < 0 || nn_bind(s, addr) < 0)
		_exit(2);
	for (;;) {
		if ((n = nn_recv(s, &buf, NN_MSG, 0)) < 0)
			_exit(2);
		if (n == 4 && memcmp(buf, "quit", 4) == 0)
			_exit(0);
		if (n == 3 && memcmp(buf, "die", 3) == 0 && !answer_die)
			_exit(0);
		if (n == 3 && memcmp(buf, "big", 3) == 0) {
			char *big = malloc(100000);

			memset(big, 'b', 100000);
			nn_send(s, big, 100000, 0);
			free(big);
		} else {
			if (n == 4 && memcmp(buf, "slow", 4) == 0)
				usleep(300 * 1000);
			nn_send(s, buf, (size_t)n, 0);
		}
		nn_freemsg(buf);
	}
}

static void
stop(pid_t p)
{
	int st;

	kill(p, SIGKILL);
	waitpid(p, &st, 0);
}

static int
wait_socket(void)
{
	struct stat st;
	int i;

	for (i = 0; i < 200; i++) {
		if (stat(path, &st) == 0)
			return 0;
		usleep(10 * 1000);
	}
	return -1;
}

static ssize_t
call(struct spc *c, const char *req, size_t len, char **rsp, msec_t within)
{
	char err[160];

	return spc_call(c, req, len, rsp, clock_mono_ms() + within, err, sizeof(err));
}

static void
answers(void)
{
	struct spc c;
	pid_t p = server(0, 0);
	char *rsp, *big;
	ssize_t n;

	CHECK(wait_socket() == 0);
	CHECK_INT(spc_init(&c, addr, 1 << 21), 0);
	n = call(&c, "hello", 5, &rsp, 5000);
	CHECK_INT(n, 5);
	if (n == 5)
		CHECK_STR(rsp, "hello");
	free(rsp);
	/* the same connection, the next request id */
	n = call(&c, "again", 5, &rsp, 5000);
	CHECK_INT(n, 5);
	if (n == 5)
		CHECK_STR(rsp, "again");
	free(rsp);
	/* 1 MiB each way: writes and reads in pieces */
	big = malloc(1 << 20);
	memset(big, 'x', 1 << 20);
	big[12345] = 'y';
	n = call(&c, big, 1 << 20, &rsp, 10000);
	CHECK_INT(n, 1 << 20);
	if (n == 1 << 20)
		CHECK(memcmp(rsp, big, 1 << 20) == 0);
	free(rsp);
	free(big);
	spc_close(&c);
	stop(p);
}

static void
refusals(void)
{
	struct spc c;
	pid_t p = server(0, 0);
	char *rsp = NULL, err[160];
	ssize_t n;

	CHECK(wait_socket() == 0);
	/* an answer over the bound is refused, not taken */
	CHECK_INT(spc_init(&c, addr, 1000), 0);
	n = spc_call(&c, "big", 3, &rsp, clock_mono_ms() + 5000, err, sizeof(err));
	CHECK_INT(n, -1);
	CHECK_INT(errno, EMSGSIZE);
	CHECK(rsp == NULL);
	CHECK(strstr(err, "100000") != NULL);
	/* a deadline: no answer within 100 ms */
	n = call(&c, "slow", 4, &rsp, 100);
	CHECK_INT(n, -1);
	CHECK_INT(errno, ETIMEDOUT);
	/* the next request gets its own answer, not the late one */
	usleep(400 * 1000);
	n = call(&c, "next", 4, &rsp, 5000);
	CHECK_INT(n, 4);
	if (n == 4)
		CHECK_STR(rsp, "next");
	free(rsp);
	spc_close(&c);
	stop(p);
}

static void
restart(void)
{
	struct spc c;
	pid_t first = server(0, 0), second;
	char *rsp = NULL;
	ssize_t n;
	int st;

	CHECK(wait_socket() == 0);
	CHECK_INT(spc_init(&c, addr, 1 << 20), 0);
	n = call(&c, "hello", 5, &rsp, 5000);
	CHECK_INT(n, 5);
	free(rsp);
	/* the first server dies with the request; the second, 300 ms later, answers it */
	second = server(1, 300);
	n = call(&c, "die", 3, &rsp, 5000);
	CHECK_INT(n, 3);
	if (n == 3)
		CHECK_STR(rsp, "die");
	free(rsp);
	CHECK(waitpid(first, &st, 0) == first && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	spc_close(&c);
	stop(second);
}

static void
not_rep(void)
{
	struct spc c;
	char *rsp = NULL, err[160];
	ssize_t n;
	pid_t p;

	unlink(path);
	if ((p = fork()) == 0) {
		int s = nn_socket(AF_SP, NN_PUB);

		if (s < 0 || nn_bind(s, addr) < 0)
			_exit(2);
		pause();
		_exit(0);
	}
	CHECK(wait_socket() == 0);
	CHECK_INT(spc_init(&c, addr, 1000), 0);
	n = spc_call(&c, "hello", 5, &rsp, clock_mono_ms() + 2000, err, sizeof(err));
	CHECK_INT(n, -1);
	CHECK(strstr(err, "not a REP socket") != NULL);
	spc_close(&c);
	stop(p);
}

static void
no_server(void)
{
	struct spc c;
	char *rsp = NULL;
	msec_t t0;

	unlink(path);
	t0 = clock_mono_ms();
	/* nothing listens: retried until the deadline, then a timeout */
	CHECK_INT(spc_init(&c, addr, 1000), 0);
	CHECK_INT(call(&c, "hello", 5, &rsp, 300), -1);
	CHECK_INT(errno, ETIMEDOUT);
	CHECK(clock_mono_ms() - t0 >= 200);
	/* a path too long for a unix socket is refused at once */
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = '\0';
		CHECK_INT(spc_init(&c, longp, 1000), -1);
	}
}

/* Polls c[0..n) until one is readable or 5 s pass: its index, or -1. */
static int
readable(struct spc *c, int n)
{
	struct pollfd pfd[4];
	int i;

	for (i = 0; i < n; i++) {
		pfd[i].fd = spc_fd(&c[i]);
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	if (poll(pfd, (nfds_t)n, 5000) <= 0)
		return -1;
	for (i = 0; i < n; i++)
		if (pfd[i].revents != 0)
			return i;
	return -1;
}

static void
in_flight(void)
{
	static const char *req[3] = { "slow", "one", "two" };
	struct spc c[3];
	pid_t p = server(0, 0);
	char *rsp = NULL, err[160];
	msec_t dl = clock_mono_ms() + 5000;
	int i, k, got = 0, seen[3] = { 0, 0, 0 };
	ssize_t n;

	CHECK(wait_socket() == 0);
	for (i = 0; i < 3; i++) {
		CHECK_INT(spc_init(&c[i], addr, 1 << 20), 0);
		CHECK_INT(spc_send(&c[i], req[i], strlen(req[i]), dl, err, sizeof(err)), 0);
		CHECK(spc_fd(&c[i]) >= 0);
	}
	/* three requests out at once: each connection gets its own answer */
	while (got < 3 && (k = readable(c, 3)) >= 0) {
		n = spc_recv(&c[k], &rsp, dl, err, sizeof(err));
		CHECK_INT(n, (ssize_t)strlen(req[k]));
		if (n > 0)
			CHECK_STR(rsp, req[k]);
		free(rsp);
		seen[k]++;
		got++;
	}
	CHECK_INT(seen[0] + seen[1] + seen[2], 3);
	CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	/* a request given up on, then the next on that connection: the late answer is skipped */
	CHECK_INT(spc_send(&c[0], "slow", 4, dl, err, sizeof(err)), 0);
	CHECK_INT(spc_send(&c[0], "next", 4, dl, err, sizeof(err)), 0);
	CHECK_INT(readable(c, 1), 0);
	CHECK_INT(spc_recv(&c[0], &rsp, dl, err, sizeof(err)), 0);	/* "slow": not this one */
	CHECK(rsp == NULL);
	CHECK_INT(readable(c, 1), 0);
	n = spc_recv(&c[0], &rsp, dl, err, sizeof(err));
	CHECK_INT(n, 4);
	if (n == 4)
		CHECK_STR(rsp, "next");
	free(rsp);
	/* the server dies with a request: the broken connection is said, and closed */
	CHECK_INT(spc_send(&c[1], "die", 3, dl, err, sizeof(err)), 0);
	CHECK_INT(readable(&c[1], 1), 0);
	CHECK_INT(spc_recv(&c[1], &rsp, dl, err, sizeof(err)), -1);
	CHECK_INT(errno, ECONNRESET);
	CHECK_INT(spc_fd(&c[1]), -1);
	for (i = 0; i < 3; i++)
		spc_close(&c[i]);
	stop(p);
}

int
main(void)
{
	log_init("test-spc");
	snprintf(dir, sizeof(dir), "/tmp/spc.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/rep", dir);
	snprintf(addr, sizeof(addr), "ipc://%s", path);
	RUN(answers);
	RUN(refusals);
	RUN(restart);
	RUN(not_rep);
	RUN(no_server);
	RUN(in_flight);
	unlink(path);
	rmdir(dir);
	return unit_done();
}
