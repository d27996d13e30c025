/*
 * loop.c: epoll(7) over nanomsg and plain fds, a self-pipe for signals.
 *
 * Why epoll and not poll: a memberd holds a TCP connection to most of the
 * cluster, and poll(2) asks every one of them on every wake-up. At 100
 * nodes that was a quarter of the cluster's CPU in a join storm (perf:
 * do_sys_poll, sock_poll), each message paying for N fds. epoll keeps the
 * set in the kernel and returns the ready ones. Level-triggered, so a
 * callback that reads only part of what is ready is called again, as with
 * poll. A file epoll refuses (a regular file or /dev/null on stdin) is
 * always ready, as poll says it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmalloc.h"

struct watch {
	int fd;
	short events;
	int always;		/* epoll refused it (a regular file): always ready */
	loop_cb cb;
	void *arg;
};

struct loop {
	struct watch *w;
	int nw, cap;
	int *slot;		/* fd -> index in w, -1: not watched */
	int nslot;
	int ep;
	struct epoll_event *ev;
	int evcap;
	int nalways;
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
	struct epoll_event e = { .events = EPOLLIN };

	l = xcalloc(1, sizeof(*l));
	if (pipe2(l->sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("pipe2");
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	e.data.fd = l->sigpipe[0];
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->sigpipe[0], &e) < 0)
		fatal("epoll_ctl");
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
	close(l->ep);
	sigfd = -1;
	free(l->w);
	free(l->slot);
	free(l->ev);
	free(l);
}

static int
slot_of(const struct loop *l, int fd)
{
	return fd >= 0 && fd < l->nslot ? l->slot[fd] : -1;
}

static void
set_slot(struct loop *l, int fd, int i)
{
	int old = l->nslot;

	if (fd >= l->nslot) {
		l->nslot = fd + 64;
		l->slot = xreallocarray(l->slot, (size_t)l->nslot, sizeof(*l->slot));
		while (old < l->nslot)
			l->slot[old++] = -1;
	}
	l->slot[fd] = i;
}

/*
 * Tells the kernel fd's events. A fd closed and reused without an unwatch
 * left the set by itself (MOD: ENOENT, then ADD); EPERM is a file epoll
 * cannot watch, always ready (1 returned).
 */
static int
ep_set(struct loop *l, int fd, short events, int known)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = (uint32_t)events;
	e.data.fd = fd;
	if (known && epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &e) == 0)
		return 0;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &e) == 0)
		return 0;
	if (errno == EEXIST && epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &e) == 0)
		return 0;
	if (errno == EPERM)
		return 1;
	log_warn("epoll_ctl on fd %d", fd);
	return 0;
}

void
loop_watch(struct loop *l, int fd, short events, loop_cb cb, void *arg)
{
	int i = slot_of(l, fd), always;

	if (i >= 0) {
		/*
		 * Told again even when the events are the same: the fd may have
		 * been closed and its number reused without an unwatch.
		 */
		always = ep_set(l, fd, events, !l->w[i].always);
		l->nalways += always - l->w[i].always;
		l->w[i].always = always;
		l->w[i].events = events;
		l->w[i].cb = cb;
		l->w[i].arg = arg;
		return;
	}
	always = ep_set(l, fd, events, 0);
	GROW(l->w, l->nw, l->cap);
	l->w[l->nw] = (struct watch){ fd, events, always, cb, arg };
	set_slot(l, fd, l->nw++);
	l->nalways += always;
}

void
loop_unwatch(struct loop *l, int fd)
{
	int i = slot_of(l, fd);

	if (i < 0)
		return;
	/* a fd already closed has left the set: EBADF/ENOENT are fine */
	if (!l->w[i].always)
		(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	l->nalways -= l->w[i].always;
	l->slot[fd] = -1;
	l->w[i] = l->w[--l->nw];
	if (i < l->nw)
		l->slot[l->w[i].fd] = i;
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

	/*
	 * Read and cleared in one atomic exchange, so a signal in between is
	 * never lost; it was done with signals blocked, a pair of system calls
	 * per loop turn (3% of memberd's CPU in a 100-node join).
	 */
	bits = l->caught | (unsigned long)__atomic_exchange_n(&sigbits, 0, __ATOMIC_SEQ_CST);
	l->caught = 0;
	return bits;
}

void
loop_poll(struct loop *l, msec_t deadline)
{
	int i, n, timeout, fd, k;
	char buf[64];

	RESERVE(l->ev, l->nw + 1, l->evcap);
	if (deadline < 0)
		timeout = -1;
	else {
		msec_t d = deadline - clock_mono_ms();
		timeout = d < 0 ? 0 : (d > 60000 ? 60000 : (int)d);
	}
	if (l->nalways > 0)
		timeout = 0;
	n = epoll_wait(l->ep, l->ev, l->nw + 1, timeout);
	if (n < 0) {
		if (errno != EINTR)
			log_warn("epoll_wait");
		n = 0;
	}
	/*
	 * Callbacks may watch/unwatch: each ready fd is looked up again when
	 * its turn comes (one unwatched meanwhile is skipped).
	 */
	for (i = 0; i < n; i++) {
		fd = l->ev[i].data.fd;
		if (fd == l->sigpipe[0]) {
			while (read(l->sigpipe[0], buf, sizeof(buf)) > 0)
				;
			continue;
		}
		if ((k = slot_of(l, fd)) < 0 || l->w[k].always)
			continue;
		l->w[k].cb(fd, (short)(l->ev[i].events & (uint32_t)(l->w[k].events | POLLERR |
		    POLLHUP)), l->w[k].arg);
	}
	/* a file epoll refused is ready every time, as poll(2) would say */
	for (i = 0; i < l->nw && l->nalways > 0; i++)
		if (l->w[i].always) {
			fd = l->w[i].fd;
			l->w[i].cb(fd, l->w[i].events & (POLLIN | POLLOUT), l->w[i].arg);
			/* the callback may have unwatched it or others: restart past it */
			if ((k = slot_of(l, fd)) >= 0)
				i = k;
		}
}
