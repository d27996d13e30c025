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

/*
 * How cmd is run: a command that is a plain list of words (letters,
 * digits, _-./:,+=@%^ and blanks: no quoting, expansion, redirection or
 * other shell syntax), whose first word is not a shell builtin and is found
 * in PATH now, is run directly with those words as its arguments, which is
 * what /bin/sh -c would do, less the shell's process and exec. Anything
 * else is /bin/sh -c cmd. Prepared once per command line, not per job.
 */
struct spawn_cmd {
	char **argv;		/* argv[0] the path to exec */
	char *cant;		/* what the child writes to stderr when exec fails */
	char *words;		/* direct: the words argv[1..] point into */
	int direct;
};

void spawn_prepare(struct spawn_cmd *, const char *cmd);
/* Frees what spawn_prepare made. */
void spawn_forget(struct spawn_cmd *);
/* spawn_sh, for a prepared command. */
pid_t spawn_cmd(const struct spawn_cmd *, char *const *env, int fds[3], const char *who);

/* fork (1) instead of vfork (0), for measuring the difference (AKC_WORKER_FORK=1). */
void spawn_use_fork(int);
/* Never run a command directly: always /bin/sh -c (AKC_WORKER_SHELL=1, for measuring). */
void spawn_use_shell(int);

#endif
