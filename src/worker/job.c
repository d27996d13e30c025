/*
 * job.c: runs one attempt of a job as /bin/sh -c CMD in its own process
 * group: the payload goes to its stdin from the loop without blocking, its
 * stdout is kept (at most 1 MiB), its stderr is logged line by line with
 * the job's id, and its last lines are kept for the report of a failed
 * attempt. The worker reaps it (SIGCHLD) and calls job_exited();
 * job_outcome() then says what to report.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "log.h"
#include "utf8.h"

extern char **environ;

void
job_clear(struct job *j)
{
	memset(j, 0, sizeof(*j));
	j->in = j->out = j->err = -1;
}

static void
close_in(struct job *j)
{
	if (j->in < 0)
		return;
	loop_unwatch(j->loop, j->in);
	close(j->in);
	j->in = -1;
	free(j->payload);
	j->payload = NULL;
}

static void
close_out(struct job *j)
{
	if (j->out < 0)
		return;
	loop_unwatch(j->loop, j->out);
	close(j->out);
	j->out = -1;
}

void
job_kill(struct job *j, int stopped)
{
	if (stopped)
		j->stopped = 1;
	if (j->pid > 0)
		kill(-j->pid, SIGKILL);
}

static void
on_stdin(int fd, short ev, void *arg)
{
	struct job *j = arg;
	ssize_t n;

	(void)fd;
	(void)ev;
	while (j->poff < j->plen) {
		if ((n = write(j->in, j->payload + j->poff, j->plen - j->poff)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			break;		/* EPIPE: the command does not read it all */
		}
		j->poff += (size_t)n;
	}
	close_in(j);		/* all written (or not wanted): EOF */
}

/* Reads what the command wrote, until EAGAIN or EOF; over 1 MiB kills it. */
static void
read_out(struct job *j)
{
	ssize_t n;

	while (j->out >= 0) {
		if (j->rlen == j->rcap) {
			j->rcap = j->rcap ? j->rcap * 2 : 64 * 1024;
			if (j->rcap > JOB_RESULT_MAX + 1)
				j->rcap = JOB_RESULT_MAX + 1;
			if ((j->res = realloc(j->res, j->rcap)) == NULL)
				fatal("realloc");
		}
		if ((n = read(j->out, j->res + j->rlen, j->rcap - j->rlen)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			log_warn("job %s: cannot read its output", j->id);
			n = 0;
		}
		if (n == 0) {
			close_out(j);
			return;
		}
		j->rlen += (size_t)n;
		if (j->rlen > JOB_RESULT_MAX) {
			j->over = 1;
			job_kill(j, 0);
			close_out(j);
		}
	}
}

static void
on_stdout(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	read_out(arg);
}

/*
 * One line of its stderr (without the newline): logged, up to JOB_LOG_LINES
 * an attempt (a job that floods its stderr must not flood the journal), and
 * kept as the last line of the tail, whose first lines go to make room.
 */
static void
stderr_line(struct job *j, const char *line, size_t len)
{
	char *nl;

	if (j->logged < JOB_LOG_LINES)
		log_info("job %s: stderr: %.*s", j->id, (int)len, line);
	else if (j->logged == JOB_LOG_LINES)
		log_info("job %s: stderr: more than %d lines: the rest is not logged",
		    j->id, JOB_LOG_LINES);
	j->logged++;
	if (len > JOB_TAIL_MAX - 1) {
		line += len - (JOB_TAIL_MAX - 1);
		len = JOB_TAIL_MAX - 1;
	}
	while (j->tlen > 0 && (j->tlen + len + 1 > JOB_TAIL_MAX || j->tlines >= JOB_TAIL_LINES)) {
		nl = memchr(j->tail, '\n', j->tlen);
		memmove(j->tail, nl + 1, j->tlen - (size_t)(nl + 1 - j->tail));
		j->tlen -= (size_t)(nl + 1 - j->tail);
		j->tlines--;
	}
	memcpy(j->tail + j->tlen, line, len);
	j->tlen += len;
	j->tail[j->tlen++] = '\n';
	j->tail[j->tlen] = '\0';
	j->tlines++;
}

/* Closes its stderr; a last line without a newline is logged and kept too. */
static void
close_err(struct job *j)
{
	if (j->err < 0)
		return;
	if (j->llen > 0)
		stderr_line(j, j->line, j->llen);
	j->llen = 0;
	loop_unwatch(j->loop, j->err);
	close(j->err);
	j->err = -1;
}

/* Reads its stderr until EAGAIN or EOF, a line at a time (a NUL byte becomes '?'). */
static void
read_err(struct job *j)
{
	char buf[4096];
	ssize_t n, i;

	while (j->err >= 0) {
		if ((n = read(j->err, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			log_warn("job %s: cannot read its stderr", j->id);
			n = 0;
		}
		if (n == 0) {
			close_err(j);
			return;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				stderr_line(j, j->line, j->llen);
				j->llen = 0;
				continue;
			}
			j->line[j->llen++] = buf[i] == '\0' ? '?' : buf[i];
			if (j->llen == JOB_LINE_MAX) {
				stderr_line(j, j->line, j->llen);
				j->llen = 0;
			}
		}
	}
}

static void
on_stderr(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	read_err(arg);
}

const char *
job_stderr_tail(struct job *j)
{
	j->tail[j->tlen] = '\0';
	utf8_scrub(j->tail);
	j->tlen = strlen(j->tail);
	return j->tail;
}

/* Our environment without the job's names, then env: a NULL-terminated copy. */
static char **
make_env(char *const *env)
{
	static const char *mine[] = { "AKC_WORK_ID=", "AKC_WORK_ATTEMPT=", "AKC_WORKER=", NULL };
	char **e = NULL;
	size_t n = 0, i, k;

	for (i = 0; environ[i] != NULL; i++) {
		int keep = 1;

		for (k = 0; mine[k] != NULL; k++)
			if (strncmp(environ[i], mine[k], strlen(mine[k])) == 0)
				keep = 0;
		if (!keep)
			continue;
		if ((e = realloc(e, (n + 2) * sizeof(*e))) == NULL ||
		    (e[n++] = strdup(environ[i])) == NULL)
			fatal("malloc");
		e[n] = NULL;
	}
	for (i = 0; env[i] != NULL; i++) {
		if ((e = realloc(e, (n + 2) * sizeof(*e))) == NULL ||
		    (e[n++] = strdup(env[i])) == NULL)
			fatal("malloc");
		e[n] = NULL;
	}
	return e;
}

static void
free_env(char **e)
{
	size_t i;

	for (i = 0; e != NULL && e[i] != NULL; i++)
		free(e[i]);
	free(e);
}

/*
 * Everything is built before fork; the child calls only async-signal-safe
 * functions, then execs. If the worker dies, even by SIGKILL, the kernel
 * kills the command (PR_SET_PDEATHSIG), not what it started.
 */
int
job_spawn(struct job *j, struct loop *loop, const char *cmd, char *const *env, msec_t now)
{
	static char sh[] = "/bin/sh", dashc[] = "-c";
	char **e = make_env(env), *argv[4];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, sig;
	sigset_t all, old;
	pid_t pid = -1, parent = getpid();

	argv[0] = sh;
	argv[1] = dashc;
	argv[2] = (char *)(uintptr_t)cmd;
	argv[3] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		log_warn("job %s: cannot make pipes", j->id);
		goto out;
	}
	/* no handler of ours may run in the child before it resets them */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(127);
		closefrom(3);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execve(argv[0], argv, e);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		log_warn("job %s: cannot fork", j->id);
	else
		setpgid(pid, pid);	/* also here: no race with our first kill */
out:
	free_env(e);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (err[1] >= 0)
		close(err[1]);
	if (pid < 0) {
		if (in[1] >= 0)
			close(in[1]);
		if (out[0] >= 0)
			close(out[0]);
		if (err[0] >= 0)
			close(err[0]);
		return -1;
	}
	j->loop = loop;
	j->pid = pid;
	j->in = in[1];
	j->out = out[0];
	j->err = err[0];
	j->started = now;
	j->deadline = j->timeout > 0 ? now + j->timeout : 0;
	fcntl(j->in, F_SETFL, fcntl(j->in, F_GETFL) | O_NONBLOCK);
	fcntl(j->out, F_SETFL, fcntl(j->out, F_GETFL) | O_NONBLOCK);
	fcntl(j->err, F_SETFL, fcntl(j->err, F_GETFL) | O_NONBLOCK);
	if (j->plen > 0)
		loop_watch(loop, j->in, POLLOUT, on_stdin, j);
	else
		close_in(j);
	loop_watch(loop, j->out, POLLIN, on_stdout, j);
	loop_watch(loop, j->err, POLLIN, on_stderr, j);
	return 0;
}

int
job_tick(struct job *j, msec_t now)
{
	if (j->pid <= 0 || j->timed_out || j->over || j->deadline == 0 || now < j->deadline)
		return 0;
	j->timed_out = 1;
	job_kill(j, 0);
	return 1;
}

void
job_exited(struct job *j, int status)
{
	/* nothing it started may outlive it */
	kill(-j->pid, SIGKILL);
	j->pid = 0;
	j->status = status;
	/* what it wrote before it exited is in the pipes */
	read_out(j);
	close_out(j);
	close_in(j);
	read_err(j);
	close_err(j);
}

/* "10s", "1.5s", "0.25s" */
static void
fmt_secs(msec_t ms, char *buf, size_t len)
{
	char frac[8];
	int i;

	snprintf(frac, sizeof(frac), "%03lld", (long long)(ms % 1000));
	for (i = 2; i >= 0 && frac[i] == '0'; i--)
		frac[i] = '\0';
	snprintf(buf, len, "%lld%s%ss", (long long)(ms / 1000), frac[0] ? "." : "", frac);
}

int
job_outcome(const struct job *j, char *why, size_t len)
{
	char secs[32];

	if (j->over)
		snprintf(why, len, "result over 1 MiB");
	else if (j->timed_out) {
		fmt_secs(j->timeout, secs, sizeof(secs));
		snprintf(why, len, "timed out after %s", secs);
	} else if (j->stopped)
		snprintf(why, len, "worker stopped");
	else if (WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0)
		return 0;
	else if (WIFEXITED(j->status))
		snprintf(why, len, "exit status %d", WEXITSTATUS(j->status));
	else
		snprintf(why, len, "killed by signal %d", WTERMSIG(j->status));
	return -1;
}

void
job_free(struct job *j)
{
	if (j->loop != NULL) {
		close_in(j);
		close_out(j);
		close_err(j);
	}
	free(j->payload);
	free(j->res);
	job_clear(j);
}
