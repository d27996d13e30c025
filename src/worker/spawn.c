/*
 * spawn.c: starts a job's or a pipe slot's /bin/sh -c CMD (or CMD itself,
 * when the shell would only have run it: spawn_prepare). vfork, not
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"
#include "xmalloc.h"

extern char **environ;

static int use_fork, use_shell;
static char **base_env;		/* environ less our variables, built once */
static size_t base_n;

void
spawn_use_fork(int yes)
{
	use_fork = yes;
}

void
spawn_use_shell(int yes)
{
	use_shell = yes;
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
	base_env = xcalloc(n + 1, sizeof(*base_env));
	for (i = 0; environ[i] != NULL; i++) {
		for (k = 0; mine[k] != NULL; k++)
			if (strncmp(environ[i], mine[k], strlen(mine[k])) == 0)
				break;
		if (mine[k] == NULL)
			base_env[base_n++] = xstrdup(environ[i]);
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
child(char **argv, char **env, const char *cant, int in, int out, int err, pid_t parent)
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
	if (cant != NULL)
		(void)!write(2, cant, strlen(cant));
	_exit(127);
}

static pid_t
spawn_argv(char **argv, const char *cant, char *const *env, int fds[3], const char *who)
{
	char **e;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, i;
	size_t n = 0;
	sigset_t all, old;
	pid_t pid, parent = getpid();

	if (base_env == NULL)
		make_base();
	while (env[n] != NULL)
		n++;
	e = xcalloc(base_n + n + 1, sizeof(*e));
	memcpy(e, base_env, base_n * sizeof(*e));
	memcpy(e + base_n, env, n * sizeof(*e));
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
		child(argv, e, cant, in[0], out[1], err[1], parent);
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(e);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		log_warn("%s: cannot start '%s'", who, argv[0]);
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

pid_t
spawn_sh(const char *cmd, char *const *env, int fds[3], const char *who)
{
	static char sh[] = "/bin/sh", dashc[] = "-c";
	char *argv[4];

	argv[0] = sh;
	argv[1] = dashc;
	argv[2] = (char *)(uintptr_t)cmd;
	argv[3] = NULL;
	return spawn_argv(argv, NULL, env, fds, who);
}

/* dash's builtins: a word among them means something else to the shell than in PATH */
static const char *builtins[] = { ".", ":", "alias", "bg", "break", "cd", "chdir", "command",
	"continue", "echo", "eval", "exec", "exit", "export", "false", "fc", "fg", "getopts",
	"hash", "jobs", "kill", "local", "printf", "pwd", "read", "readonly", "return", "set",
	"shift", "test", "times", "trap", "true", "type", "ulimit", "umask", "unalias", "unset",
	"wait", NULL };

/* The executable file that PATH gives for name, as the shell finds it; NULL if none. */
static char *
in_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[4096];
	struct stat st;

	if (strchr(name, '/') != NULL)
		return stat(name, &st) == 0 && S_ISREG(st.st_mode) && access(name, X_OK) == 0 ?
		    xstrdup(name) : NULL;
	for (p = path ? path : "/usr/bin:/bin"; ; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(end - p), p, end > p ? "/" : "", name);
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return xstrdup(buf);
		if (*end == '\0')
			return NULL;
	}
}

void
spawn_prepare(struct spawn_cmd *sc, const char *cmd)
{
	static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-./:,+=@%^ \t";
	char *copy, *w, *save = NULL, *path;
	size_t n = 0, i;

	memset(sc, 0, sizeof(sc[0]));
	if (use_shell || cmd[strspn(cmd, plain)] != '\0')
		goto shell;
	copy = xstrdup(cmd);
	for (w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		sc->argv = xreallocarray(sc->argv, n + 2, sizeof(char *));
		sc->argv[n++] = w;
		sc->argv[n] = NULL;
	}
	if (n == 0 || strchr(sc->argv[0], '=') != NULL)
		goto fail;
	for (i = 0; builtins[i] != NULL; i++)
		if (strcmp(sc->argv[0], builtins[i]) == 0)
			goto fail;
	if ((path = in_path(sc->argv[0])) == NULL)
		goto fail;
	if (asprintf(&sc->cant, "worker: cannot run '%s'\n", path) < 0)
		fatal("asprintf");
	sc->words = copy;	/* argv[1..] point into it */
	sc->argv[0] = path;
	sc->direct = 1;
	return;
fail:
	free(sc->argv);
	free(copy);
shell:
	sc->argv = xcalloc(4, sizeof(char *));
	sc->argv[0] = xstrdup("/bin/sh");
	sc->argv[1] = xstrdup("-c");
	sc->argv[2] = xstrdup(cmd);
	sc->direct = 0;
}

void
spawn_forget(struct spawn_cmd *sc)
{
	int i;

	if (sc->direct)
		free(sc->argv[0]);
	else
		for (i = 0; sc->argv[i] != NULL; i++)
			free(sc->argv[i]);
	free(sc->argv);
	free(sc->words);
	free(sc->cant);
	memset(sc, 0, sizeof(*sc));
}

pid_t
spawn_cmd(const struct spawn_cmd *sc, char *const *env, int fds[3], const char *who)
{
	return spawn_argv(sc->argv, sc->cant, env, fds, who);
}
