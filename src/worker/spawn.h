/* spawn.h: starting /bin/sh -c CMD for the worker: its own process group, three pipes, a cheap vfork. */
#ifndef WORKER_SPAWN_H
#define WORKER_SPAWN_H

#include <sys/types.h>

/*
 * Starts /bin/sh -c cmd in a process group of its own, with our
 * environment (less the variables the worker sets itself) plus env
 * (NAME=VALUE strings, NULL-terminated), its stdin, stdout and stderr on
 * pipes whose other ends land in fds[0..2], non-blocking and
 * close-on-exec. who names it in the log. Returns its pid, or -1 (logged).
 */
pid_t spawn_sh(const char *cmd, char *const *env, int fds[3], const char *who);

/* fork (1) instead of vfork (0), for measuring the difference (AKC_WORKER_FORK=1). */
void spawn_use_fork(int);

#endif
