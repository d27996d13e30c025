/* loop.c: poll(2) over nanomsg and plain fds, a self-pipe for signals. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmalloc.h"

struct watch {
	int fd;
	short events;
	loop_cb cb;
	void *arg;
};

struct loop {
	struct watch *w;
	int nw, cap;
	struct pollfd *pfd;
	int pfdcap;
	int sigpipe[2];
	unsigned long caught;
};

static int sigfd = -1;
static volatile sig_atomic_t sigbits;

static void
on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	sigbits |= 1 << sig;
	if (sigfd >= 0)
		(void)!write(sigfd, &c, 1);
	errno = saved;
}

struct loop *
loop_new(void)
{
	struct loop *l;

	l = xcalloc(1, sizeof(*l));
	if (pipe2(l->sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("pipe2");
	sigfd = l->sigpipe[1];
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->sigpipe[0]);
	close(l->sigpipe[1]);
	sigfd = -1;
	free(l->w);
	free(l->pfd);
	free(l);
}

void
loop_watch(struct loop *l, int fd, short events, loop_cb cb, void *arg)
{
	int i;

	for (i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd) {
			l->w[i].events = events;
			l->w[i].cb = cb;
			l->w[i].arg = arg;
			return;
		}
	GROW(l->w, l->nw, l->cap);
	l->w[l->nw++] = (struct watch){ fd, events, cb, arg };
}

void
loop_unwatch(struct loop *l, int fd)
{
	int i;

	for (i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd) {
			l->w[i] = l->w[--l->nw];
			return;
		}
}

void
loop_catch(struct loop *l, int sig)
{
	struct sigaction sa;

	(void)l;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(sig, &sa, NULL) < 0)
		fatal("sigaction");
}

unsigned long
loop_signals(struct loop *l)
{
	unsigned long bits;
	sigset_t all, old;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	bits = l->caught | (unsigned long)sigbits;
	sigbits = 0;
	l->caught = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return bits;
}

void
loop_poll(struct loop *l, msec_t deadline)
{
	int i, n, timeout, count;
	char buf[64];

	RESERVE(l->pfd, l->nw + 1, l->pfdcap);
	l->pfd[0] = (struct pollfd){ l->sigpipe[0], POLLIN, 0 };
	for (i = 0; i < l->nw; i++)
		l->pfd[i + 1] = (struct pollfd){ l->w[i].fd, l->w[i].events, 0 };
	count = l->nw;
	if (deadline < 0)
		timeout = -1;
	else {
		msec_t d = deadline - clock_mono_ms();
		timeout = d < 0 ? 0 : (d > 60000 ? 60000 : (int)d);
	}
	n = poll(l->pfd, count + 1, timeout);
	if (n < 0) {
		if (errno != EINTR)
			log_warn("poll");
		return;
	}
	if (l->pfd[0].revents & POLLIN)
		while (read(l->sigpipe[0], buf, sizeof(buf)) > 0)
			;
	/* callbacks may watch/unwatch: dispatch by fd from the snapshot */
	for (i = 1; i <= count; i++) {
		int fd = l->pfd[i].fd, j;

		if (l->pfd[i].revents == 0)
			continue;
		for (j = 0; j < l->nw; j++)
			if (l->w[j].fd == fd) {
				l->w[j].cb(fd, l->pfd[i].revents, l->w[j].arg);
				break;
			}
	}
}
