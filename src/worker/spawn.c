/*
 * spawn.c: starts a job's or a pipe slot's /bin/sh -c CMD. vfork, not
 * fork: the child borrows our memory until it execs, so starting a shell
 * costs the same however large the worker's page tables are (fork copies
 * them; at a thousand jobs a second that shows). posix_spawn would do the
 * same, but it cannot ask for PR_SET_PDEATHSIG, which kills the command
 * when the worker dies, even by SIGKILL.
 *
 * The rules of the vfork child: no malloc, no stdio, nothing that takes a
 * lock; only system calls. All signals are blocked across the vfork so that
 * no handler of ours runs on the borrowed stack; the child sets every
 * handler back to the default (its table of handlers is its own) before it
 * unblocks them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"

extern char **environ;

static int use_fork;
static char **base_env;		/* environ less our variables, built once */
static size_t base_n;

void
spawn_use_fork(int yes)
{
	use_fork = yes;
}

/* The worker's environment without the names it sets for its commands. */
static void
make_base(void)
{
	static const char *mine[] = { "AKC_WORK_ID=", "AKC_WORK_ATTEMPT=", "AKC_WORKER=",
	    "AKC_WORKER_SLOT=", NULL };
	size_t i, k, n = 0;

	for (i = 0; environ[i] != NULL; i++)
		n++;
	if ((base_env = calloc(n + 1, sizeof(*base_env))) == NULL)
		fatal("calloc");
	for (i = 0; environ[i] != NULL; i++) {
		for (k = 0; mine[k] != NULL; k++)
			if (strncmp(environ[i], mine[k], strlen(mine[k])) == 0)
				break;
		if (mine[k] == NULL && (base_env[base_n++] = strdup(environ[i])) == NULL)
			fatal("strdup");
	}
}

static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* In the child (vforked: system calls only), then exec. */
static void
child(char **argv, char **env, int in, int out, int err, pid_t parent)
{
	sigset_t none;
	int sig;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	closefrom(3);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(argv[0], argv, env);
	_exit(127);
}

pid_t
spawn_sh(const char *cmd, char *const *env, int fds[3], const char *who)
{
	static char sh[] = "/bin/sh", dashc[] = "-c";
	char *argv[4], **e;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, i;
	size_t n = 0;
	sigset_t all, old;
	pid_t pid, parent = getpid();

	if (base_env == NULL)
		make_base();
	while (env[n] != NULL)
		n++;
	if ((e = calloc(base_n + n + 1, sizeof(*e))) == NULL)
		fatal("calloc");
	memcpy(e, base_env, base_n * sizeof(*e));
	memcpy(e + base_n, env, n * sizeof(*e));
	argv[0] = sh;
	argv[1] = dashc;
	argv[2] = (char *)(uintptr_t)cmd;
	argv[3] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		log_warn("%s: cannot make pipes", who);
		close_pair(in);
		close_pair(out);
		close_pair(err);
		free(e);
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = use_fork ? fork() : vfork();
	if (pid == 0)
		child(argv, e, in[0], out[1], err[1], parent);
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(e);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		log_warn("%s: cannot start '/bin/sh -c %s'", who, cmd);
		close(in[1]);
		close(out[0]);
		close(err[0]);
		return -1;
	}
	setpgid(pid, pid);	/* also here: no race with our first kill */
	fds[0] = in[1];
	fds[1] = out[0];
	fds[2] = err[0];
	for (i = 0; i < 3; i++)
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	return pid;
}
