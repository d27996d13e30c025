/*
 * job.c: runs one attempt of a job as /bin/sh -c CMD in its own process
 * group (spawn.c): the payload goes to its stdin from the loop without
 * blocking, its stdout is kept (at most 1 MiB), its stderr goes to
 * errtail.c (logged line by line with the job's id, the last lines kept for
 * the report of a failed attempt). The worker reaps it (SIGCHLD) and calls job_exited();
 * job_outcome() then says what to report.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "log.h"
#include "spawn.h"
#include "xmalloc.h"

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
job_cancel(struct job *j)
{
	j->cancelled = 1;
	if (j->pid > 0)
		kill(-j->pid, SIGKILL);
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
			j->res = xreallocarray(j->res, j->rcap, 1);
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

/* Closes its stderr; a last line without a newline is logged and kept too. */
static void
close_err(struct job *j)
{
	if (j->err < 0)
		return;
	errtail_flush(&j->et, j->who);
	loop_unwatch(j->loop, j->err);
	close(j->err);
	j->err = -1;
}

/* Reads its stderr until EAGAIN or EOF. */
static void
read_err(struct job *j)
{
	char buf[4096];
	ssize_t n;

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
		errtail_feed(&j->et, j->who, buf, (size_t)n);
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
	return errtail_text(&j->et);
}

/*
 * Starts the command (spawn.c); its deadline counts from when the master
 * gave the job (set by the caller), else from now.
 */
int
job_spawn(struct job *j, struct loop *loop, const struct spawn_cmd *cmd, char *const *env,
    msec_t now)
{
	int fds[3];
	pid_t pid;

	snprintf(j->who, sizeof(j->who), "job %s", j->id);
	if ((pid = spawn_cmd(cmd, env, fds, j->who)) < 0)
		return -1;
	j->loop = loop;
	j->pid = pid;
	j->in = fds[0];
	j->out = fds[1];
	j->err = fds[2];
	j->started = now;
	if (j->deadline == 0 && j->timeout > 0)
		j->deadline = now + j->timeout;
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

void
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

	if (j->cancelled)
		snprintf(why, len, "cancelled");
	else if (j->over)
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
