/* loop.h: the one event loop shape of every daemon: epoll, one deadline, signals. */
#ifndef AKC_LOOP_H
#define AKC_LOOP_H

#include "clock.h"

typedef void (*loop_cb)(int fd, short revents, void *arg);

struct loop;

struct loop *loop_new(void);
void loop_free(struct loop *);
/* Watches fd for events (POLLIN...); cb runs when ready. */
void loop_watch(struct loop *, int fd, short events, loop_cb cb, void *arg);
void loop_unwatch(struct loop *, int fd);
/* Signals caught through a self-pipe; read them back with loop_signals(). */
void loop_catch(struct loop *, int sig);
/* Returns and clears the bitmask (1 << signo) of signals caught. */
unsigned long loop_signals(struct loop *);
/*
 * Waits until a watched fd is ready, a signal arrives or the monotonic
 * deadline passes (deadline < 0: no deadline), then dispatches ready fds.
 */
void loop_poll(struct loop *, msec_t deadline);

#endif
