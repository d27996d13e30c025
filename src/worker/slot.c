/*
 * slot.c: one slot of worker --pipe. The slot's command (/bin/sh -c CMD,
 * spawn.c) starts once and stays; each job is a line on its stdin and its
 * answer a line on its stdout (pipe.c). Its stderr is logged as the job's
 * while it runs one (errtail.c), as the slot's between jobs.
 *
 * 1. A protocol error, a timeout or a cancel kills the command (its process
 *    group) and starts a new one at once: what the old one would write next
 *    could not be trusted to be in step. The job's attempt fails with the
 *    reason, except when cancelled (the master wants nothing more).
 * 2. A command that exits by itself fails the job it was running, and is
 *    started again. One that dies within SLOT_QUICK of its start, twice or
 *    more in a row, is started again after a backoff doubling from 100 ms
 *    to SLOT_BACKOFF_MAX, with a warning each time; and after dying at
 *    once it takes no job until it has lived SLOT_QUICK, so a broken
 *    command does not eat the attempts of job after job.
 * 3. The answer may come after its exit (a command that answers and
 *    exits): what its pipes hold is read before the job is failed.
 *
 * Weak point: a job whose answer the command never writes is only noticed
 * at its timeout.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "log.h"
#include "slot.h"
#include "spawn.h"

#define BACKOFF_FIRST	100
#define EOF_GRACE	1000	/* ms a command may live on after closing its stdout */

void
slot_init(struct slot *s, int n, const char *cmd, const struct spawn_cmd *sc,
    const char *worker, struct loop *loop, slot_ended ended, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->cmd = cmd;
	s->sc = sc;
	s->worker = worker;
	s->loop = loop;
	s->ended = ended;
	s->arg = arg;
	s->in = s->out = s->err = -1;
	linebuf_init(&s->ob, PIPE_LINE_MAX);
	snprintf(s->who, sizeof(s->who), "slot %d", n);
}

static void
close_fd(struct slot *s, int *fd)
{
	if (*fd < 0)
		return;
	loop_unwatch(s->loop, *fd);
	close(*fd);
	*fd = -1;
}

static void
close_all(struct slot *s)
{
	close_fd(s, &s->in);
	close_fd(s, &s->out);
	close_fd(s, &s->err);
	free(s->wbuf);
	s->wbuf = NULL;
	s->wlen = s->woff = 0;
	linebuf_clear(&s->ob);
	errtail_flush(&s->et, s->who);
}

/* The job is over: the slot has none, its stderr is the slot's again. */
static void
job_over(struct slot *s)
{
	s->busy = 0;
	s->deadline = 0;
	snprintf(s->who, sizeof(s->who), "slot %d", s->n);
}

static void
read_err(struct slot *s)
{
	char buf[4096];
	ssize_t n;

	while (s->err >= 0) {
		if ((n = read(s->err, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close_fd(s, &s->err);
			return;
		}
		if (n == 0) {
			errtail_flush(&s->et, s->who);
			close_fd(s, &s->err);
			return;
		}
		errtail_feed(&s->et, s->who, buf, (size_t)n);
	}
}

/* Fails its job (if any) with why; its stderr so far goes with the report. */
static void
fail_job(struct slot *s, const char *why)
{
	if (!s->busy)
		return;
	read_err(s);
	job_over(s);
	s->ended(s, NULL, 0, why, errtail_text(&s->et));
}

/* 1. Kills the command; a new one starts at once (unless stopping). */
static void
kill_cmd(struct slot *s, msec_t now)
{
	if (s->pid > 0) {
		kill(-s->pid, SIGKILL);
		s->dying = s->pid;
		s->pid = 0;
	}
	close_all(s);
	s->restart_at = s->stopping ? 0 : now;
}

/* A protocol error: the job fails with it, the command is started again. */
static void
protocol_error(struct slot *s, const char *what, msec_t now)
{
	char why[320];

	snprintf(why, sizeof(why), "pipe protocol error: %s", what);
	log_warnx("slot %d: %s: restarting '%s'", s->n, why, s->cmd);
	fail_job(s, why);
	kill_cmd(s, now);
}

static void
on_line(struct slot *s, const char *line, size_t len, msec_t now)
{
	unsigned char *res;
	size_t rlen;
	char why[600];

	if (!s->busy) {
		protocol_error(s, "a line while it has no job", now);
		return;
	}
	switch (pipe_answer(line, len, s->id, &res, &rlen, why, sizeof(why))) {
	case PIPE_RESULT:
		read_err(s);
		job_over(s);
		s->ended(s, res, rlen, NULL, "");
		free(res);
		break;
	case PIPE_ERROR:
		fail_job(s, why);
		break;
	case PIPE_BAD:
		protocol_error(s, why, now);
		break;
	}
}

static void
read_out(struct slot *s, msec_t now)
{
	char *p, *line, why[64];
	size_t room, len;
	ssize_t n;
	int r;

	while (s->out >= 0) {
		linebuf_room(&s->ob, &p, &room);
		if ((n = read(s->out, p, room)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			n = 0;
		}
		if (n == 0) {
			/* its exit, most likely: if it still runs after EOF_GRACE, it is done for */
			close_fd(s, &s->out);
			s->eof_at = now + EOF_GRACE;
			return;
		}
		linebuf_added(&s->ob, (size_t)n);
		while (s->out >= 0 && (r = linebuf_take(&s->ob, &line, &len)) != 0) {
			if (r < 0) {
				snprintf(why, sizeof(why), "answer line over %d bytes", PIPE_LINE_MAX);
				protocol_error(s, why, now);
				return;
			}
			on_line(s, line, len, now);
		}
	}
}

static void
on_stdout(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	read_out(arg, clock_mono_ms());
}

static void
on_stderr(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	read_err(arg);
}

static void
write_in(struct slot *s)
{
	ssize_t n;

	while (s->wbuf != NULL && s->woff < s->wlen) {
		if ((n = write(s->in, s->wbuf + s->woff, s->wlen - s->woff)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			break;	/* EPIPE: it died or closed its stdin; its exit says the rest */
		}
		s->woff += (size_t)n;
	}
	free(s->wbuf);
	s->wbuf = NULL;
	s->wlen = s->woff = 0;
	loop_unwatch(s->loop, s->in);
}

static void
on_stdin(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	write_in(arg);
}

int
slot_start(struct slot *s, msec_t now)
{
	char envw[WORK_ID_MAX + 16], envs[32], *env[3];
	int fds[3];
	pid_t pid;

	snprintf(envw, sizeof(envw), "AKC_WORKER=%s", s->worker);
	snprintf(envs, sizeof(envs), "AKC_WORKER_SLOT=%d", s->n);
	env[0] = envw;
	env[1] = envs;
	env[2] = NULL;
	s->restart_at = 0;
	if ((pid = spawn_cmd(s->sc, env, fds, s->who)) < 0) {
		s->restart_at = now + SLOT_BACKOFF_MAX;
		return -1;
	}
	s->pid = pid;
	s->born = now;
	s->eof_at = 0;
	s->in = fds[0];
	s->out = fds[1];
	s->err = fds[2];
	errtail_reset(&s->et);
	loop_watch(s->loop, s->out, POLLIN, on_stdout, s);
	loop_watch(s->loop, s->err, POLLIN, on_stderr, s);
	log_debug("slot %d: started '%s' as pid %d", s->n, s->cmd, (int)pid);
	return 0;
}

int
slot_ready(const struct slot *s, msec_t now)
{
	return s->pid > 0 && s->out >= 0 && !s->busy && !s->stopping &&
	    (s->quick == 0 || now - s->born >= SLOT_QUICK);
}

int
slot_broken(const struct slot *s)
{
	return !s->busy && s->quick >= 2;
}

void
slot_give(struct slot *s, const char *id, long attempt, const char *b64, msec_t timeout,
    msec_t deadline, msec_t now)
{
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->who, sizeof(s->who), "job %s", id);
	s->attempt = attempt;
	s->timeout = timeout;
	s->deadline = deadline;
	s->started = now;
	s->busy = 1;
	errtail_reset(&s->et);
	s->wbuf = pipe_job_line(id, b64, attempt, &s->wlen);
	s->woff = 0;
	loop_watch(s->loop, s->in, POLLOUT, on_stdin, s);
	write_in(s);
}

void
slot_cancel(struct slot *s, msec_t now)
{
	if (!s->busy)
		return;
	log_info("job %s attempt %ld cancelled by the master: restarting slot %d's command",
	    s->id, s->attempt, s->n);
	job_over(s);
	kill_cmd(s, now);
}

/* How the command ended, for the log and the report. */
static void
exit_why(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
}

int
slot_reaped(struct slot *s, pid_t pid, int status, msec_t now)
{
	char how[48], why[96];
	msec_t delay = 0;

	if (pid == s->dying) {
		s->dying = 0;
		return 1;
	}
	if (pid != s->pid)
		return 0;
	kill(-pid, SIGKILL);	/* what it started goes with it */
	s->pid = 0;
	/* 3. an answer it wrote before exiting is in the pipe */
	read_out(s, now);
	read_err(s);
	exit_why(status, how, sizeof(how));
	snprintf(s->last_exit, sizeof(s->last_exit), "%s", how);
	snprintf(why, sizeof(why), "pipe command exited (%s)", how);
	fail_job(s, why);
	close_all(s);
	if (s->stopping)
		return 1;
	/* 2. */
	s->quick = now - s->born < SLOT_QUICK ? s->quick + 1 : 0;
	if (s->quick >= 2) {
		delay = BACKOFF_FIRST << (s->quick - 2 < 7 ? s->quick - 2 : 7);
		if (delay > SLOT_BACKOFF_MAX)
			delay = SLOT_BACKOFF_MAX;
		log_warnx("slot %d: '%s' exited (%s) within %ds of its start %d times in a row: "
		    "starting it again in %lldms", s->n, s->cmd, how, SLOT_QUICK / 1000, s->quick,
		    (long long)delay);
	} else
		log_warnx("slot %d: '%s' exited (%s): starting it again", s->n, s->cmd, how);
	s->restart_at = now + delay;
	return 1;
}

void
slot_tick(struct slot *s, msec_t now)
{
	char secs[32], why[64];

	if (s->busy && s->deadline > 0 && now >= s->deadline) {
		fmt_secs(s->timeout, secs, sizeof(secs));
		snprintf(why, sizeof(why), "timed out after %s", secs);
		log_debug("job %s attempt %ld: %s: restarting slot %d's command", s->id,
		    s->attempt, why, s->n);
		fail_job(s, why);
		kill_cmd(s, now);
	}
	if (s->pid > 0 && s->out < 0 && s->eof_at > 0 && now >= s->eof_at)
		protocol_error(s, "the command closed its stdout", now);
	if (s->pid > 0 && s->quick > 0 && now - s->born >= SLOT_QUICK)
		s->quick = 0;	/* it lived: its probation is over */
	if (s->pid == 0 && !s->stopping && s->restart_at > 0 && now >= s->restart_at)
		(void)slot_start(s, now);
}

msec_t
slot_next(const struct slot *s, msec_t now)
{
	msec_t t = 0;

	(void)now;
	if (s->busy && s->deadline > 0)
		t = s->deadline;
	if (s->pid > 0 && s->quick > 0 && (t == 0 || s->born + SLOT_QUICK < t))
		t = s->born + SLOT_QUICK;
	if (s->pid > 0 && s->out < 0 && s->eof_at > 0 && (t == 0 || s->eof_at < t))
		t = s->eof_at;
	if (s->pid == 0 && s->restart_at > 0 && (t == 0 || s->restart_at < t))
		t = s->restart_at;
	return t;
}

void
slot_stop(struct slot *s, int report)
{
	s->stopping = 1;
	if (report)
		fail_job(s, "worker stopped");
	else
		job_over(s);
	if (s->pid > 0) {
		kill(-s->pid, SIGKILL);
		s->dying = s->pid;
		s->pid = 0;
	}
	close_all(s);
}
