/* test-loop.c: the event loop (lib/loop.c): readiness, changes from callbacks, files. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "unit.h"

struct seen {
	int calls;
	short revents;
	struct loop *l;
	int other;		/* a fd to unwatch from the callback, or -1 */
	int drain;		/* read what is there */
};

static void
on_fd(int fd, short revents, void *arg)
{
	struct seen *s = arg;
	char buf[64];

	s->calls++;
	s->revents = revents;
	if (s->drain)
		(void)!read(fd, buf, sizeof(buf));
	if (s->other >= 0)
		loop_unwatch(s->l, s->other);
}

static msec_t
soon(void)
{
	return clock_mono_ms() + 20;
}

static void
readiness(void)
{
	struct loop *l = loop_new();
	struct seen a = { 0, 0, l, -1, 0 };
	int p[2];
	msec_t t0;

	CHECK(pipe(p) == 0);
	loop_watch(l, p[0], POLLIN, on_fd, &a);
	t0 = clock_mono_ms();
	loop_poll(l, soon());
	CHECK_INT(a.calls, 0);			/* nothing to read: the deadline ends the wait */
	CHECK(clock_mono_ms() - t0 >= 15);
	CHECK(write(p[1], "x", 1) == 1);
	loop_poll(l, soon());
	CHECK_INT(a.calls, 1);
	CHECK(a.revents & POLLIN);
	loop_poll(l, soon());
	CHECK_INT(a.calls, 2);			/* level-triggered: not read, ready again */
	a.drain = 1;
	loop_poll(l, soon());
	CHECK_INT(a.calls, 3);
	loop_poll(l, soon());
	CHECK_INT(a.calls, 3);			/* drained */
	/* the same fd watched again changes its events, not a second entry */
	loop_watch(l, p[1], POLLOUT, on_fd, &a);
	loop_poll(l, soon());
	CHECK_INT(a.calls, 4);
	CHECK(a.revents & POLLOUT);
	loop_watch(l, p[1], POLLIN, on_fd, &a);	/* a pipe's write end is never readable */
	loop_poll(l, soon());
	CHECK_INT(a.calls, 4);
	loop_unwatch(l, p[1]);
	close(p[1]);
	loop_poll(l, soon());
	CHECK_INT(a.calls, 5);			/* the writer gone: POLLHUP on the reader */
	CHECK(a.revents & POLLHUP);
	loop_unwatch(l, p[0]);
	close(p[0]);
	loop_unwatch(l, p[0]);			/* twice: harmless */
	loop_free(l);
}

/* A callback that unwatches a fd ready in the same round: it is not called. */
static void
unwatch_from_callback(void)
{
	struct loop *l = loop_new();
	struct seen a = { 0, 0, l, -1, 1 }, b = { 0, 0, l, -1, 1 };
	int p[2], q[2];

	CHECK(pipe(p) == 0 && pipe(q) == 0);
	a.other = q[0];
	b.other = p[0];
	loop_watch(l, p[0], POLLIN, on_fd, &a);
	loop_watch(l, q[0], POLLIN, on_fd, &b);
	CHECK(write(p[1], "x", 1) == 1 && write(q[1], "y", 1) == 1);
	loop_poll(l, soon());
	CHECK_INT(a.calls + b.calls, 1);	/* whichever came first removed the other */
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	loop_free(l);
}

/* A fd closed without an unwatch, its number reused: the new one is watched. */
static void
closed_and_reused(void)
{
	struct loop *l = loop_new();
	struct seen a = { 0, 0, l, -1, 1 };
	int p[2], q[2];

	CHECK(pipe(p) == 0);
	loop_watch(l, p[0], POLLIN, on_fd, &a);
	close(p[0]);
	close(p[1]);
	CHECK(pipe(q) == 0);
	CHECK_INT(q[0], p[0]);			/* the lowest free numbers again */
	loop_watch(l, q[0], POLLIN, on_fd, &a);
	CHECK(write(q[1], "z", 1) == 1);
	loop_poll(l, soon());
	CHECK_INT(a.calls, 1);
	close(q[0]);
	close(q[1]);
	loop_free(l);
}

/* A regular file (stdin redirected from one): always ready, as poll(2) says. */
static void
regular_file(void)
{
	struct loop *l = loop_new();
	struct seen a = { 0, 0, l, -1, 0 };
	char path[] = "/tmp/akc-test-loop.XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	loop_watch(l, fd, POLLIN, on_fd, &a);
	loop_poll(l, clock_mono_ms() + 5000);	/* returns at once */
	CHECK_INT(a.calls, 1);
	CHECK(a.revents & POLLIN);
	loop_unwatch(l, fd);
	loop_poll(l, soon());
	CHECK_INT(a.calls, 1);
	close(fd);
	loop_free(l);
}

/* Many fds: only the ready one is called, and a signal ends the wait. */
static void
many_and_signals(void)
{
	struct loop *l = loop_new();
	struct seen s[200];
	int p[200][2], i, total = 0;
	msec_t t0;

	for (i = 0; i < 200; i++) {
		s[i] = (struct seen){ 0, 0, l, -1, 1 };
		CHECK(pipe(p[i]) == 0);
		loop_watch(l, p[i][0], POLLIN, on_fd, &s[i]);
	}
	CHECK(write(p[137][1], "x", 1) == 1);
	loop_poll(l, soon());
	for (i = 0; i < 200; i++)
		total += s[i].calls;
	CHECK_INT(total, 1);
	CHECK_INT(s[137].calls, 1);
	loop_catch(l, SIGUSR1);
	raise(SIGUSR1);
	t0 = clock_mono_ms();
	loop_poll(l, clock_mono_ms() + 5000);
	CHECK(clock_mono_ms() - t0 < 1000);
	CHECK(loop_signals(l) & (1UL << SIGUSR1));
	CHECK_INT(loop_signals(l), 0);
	for (i = 0; i < 200; i++) {
		loop_unwatch(l, p[i][0]);
		close(p[i][0]);
		close(p[i][1]);
	}
	loop_free(l);
}

int
main(void)
{
	RUN(readiness);
	RUN(unwatch_from_callback);
	RUN(closed_and_reused);
	RUN(regular_file);
	RUN(many_and_signals);
	return unit_done();
}
