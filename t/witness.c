/*
 * witness: a singleton child for the tests. It proves exclusion: while it
 * runs it holds an exclusive lock on a file shared by every node of the test
 * (a second witness that cannot take it writes OVERLAP), and it appends
 * "TIME NODE start|stop PID" lines to one log. With AKC_SINGLETON_ENDPOINT
 * set it answers each request with "NODE:REQUEST".
 *
 * usage: witness [--exit-after MS] [--ignore-term]
 * environment: WITNESS_LOG (required), WITNESS_LOCK (default: WITNESS_LOG.lock)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

static volatile sig_atomic_t term;
static const char *logpath, *node;

static void
on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void
logline(const char *what)
{
	struct timespec ts;
	char line[256];
	int fd, n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%lld.%03ld %s %s %d\n", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000000, node, what, (int)getpid());
	if ((fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0)
		exit(2);
	if (write(fd, line, (size_t)n) != n)
		exit(2);
	close(fd);
}

int
main(int argc, char **argv)
{
	const char *ep = getenv("AKC_SINGLETON_ENDPOINT"), *lock = getenv("WITNESS_LOCK");
	char lockbuf[4096];
	long exit_after = -1;
	int i, lfd, s = -1, rcvfd = -1, ignore_term = 0;
	struct timespec t0, t;
	struct sigaction sa;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--exit-after") == 0 && i + 1 < argc)
			exit_after = atol(argv[++i]);
		else if (strcmp(argv[i], "--ignore-term") == 0)
			ignore_term = 1;
		else {
			fprintf(stderr, "usage: witness [--exit-after MS] [--ignore-term]\n");
			return 2;
		}
	if ((logpath = getenv("WITNESS_LOG")) == NULL) {
		fprintf(stderr, "witness: WITNESS_LOG is not set\n");
		return 2;
	}
	if ((node = getenv("AKC_NODE")) == NULL)
		node = "?";
	if (lock == NULL) {
		snprintf(lockbuf, sizeof(lockbuf), "%s.lock", logpath);
		lock = lockbuf;
	}
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return 2;
	/* the handler first: a SIGTERM right after "start" must still log "stop" */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ignore_term ? SIG_IGN : on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0)
		logline("OVERLAP");
	logline("start");
	if (ep != NULL) {
		size_t sz = sizeof(rcvfd);

		if ((s = nn_socket(AF_SP, NN_REP)) < 0 || nn_bind(s, ep) < 0) {
			fprintf(stderr, "witness: cannot bind %s: %s\n", ep, nn_strerror(nn_errno()));
			return 2;
		}
		nn_getsockopt(s, NN_SOL_SOCKET, NN_RCVFD, &rcvfd, &sz);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!term) {
		struct pollfd p = { .fd = rcvfd, .events = POLLIN };
		void *buf;
		int n;

		if (exit_after >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= exit_after) {
				logline("crash");
				return 1;
			}
		}
		if (rcvfd < 0) {
			poll(NULL, 0, 50);
			continue;
		}
		if (poll(&p, 1, 50) <= 0)
			continue;
		while ((n = nn_recv(s, &buf, NN_MSG, NN_DONTWAIT)) >= 0) {
			char out[65536];
			int len = snprintf(out, sizeof(out), "%s:%.*s", node, n, (char *)buf);

			nn_freemsg(buf);
			if (len >= (int)sizeof(out))
				len = sizeof(out) - 1;
			nn_send(s, out, (size_t)len, 0);
		}
	}
	logline("stop");
	return 0;
}
