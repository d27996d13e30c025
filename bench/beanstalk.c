/*
 * bench/beanstalk.c: the beanstalkd side of bench/queue.sh, speaking
 * beanstalkd's text protocol (put, use, watch, reserve-with-timeout, delete)
 * over TCP, to compare akc's work path with a plain durable queue in the
 * same run on the same machine.
 *
 *   put PORT TUBE PREFIX N CONC BYTES [LOG]
 *	N puts in all by CONC processes (one connection each, N/CONC each, a
 *	request at a time), started together; a payload of BYTES bytes that
 *	begins with the job's name PREFIX-k-i. Prints "N_OK N_ERR SECONDS".
 *	LOG (appended): "name sent_ms acked_ms" per INSERTED, epoch ms.
 *	Environment: SUBMIT_GAP_MS, a pause after each INSERTED.
 *   work PORT TUBE CONC MODE IDLE_S [RESULTS_TUBE]
 *	CONC worker processes, each: reserve, run the job, delete, until no
 *	job came for IDLE_S seconds. MODE "spawn": fork+exec cat with the
 *	payload on stdin and its stdout read back (a shell-per-job worker);
 *	MODE "inline": the payload is copied as the result in the process (a
 *	persistent worker). With RESULTS_TUBE, each result (the job's name,
 *	first word of its payload) is put there before the delete, as a
 *	result a submitter can see. Prints "JOBS LAST_DELETE_MS CPU_MS": CPU_MS
 *	is the workers' CPU with their jobs' (getrusage of the children).
 *   follow PORT TUBE N TIMEOUT_S LOG
 *	reserves and deletes N jobs of TUBE (results), or until TIMEOUT_S;
 *	LOG: "name arrived_ms" per result. Prints the number seen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define LINE_MAX_BS	256
#define BODY_MAX	(1 << 16)

struct conn {
	int fd;
	char buf[BODY_MAX + LINE_MAX_BS];
	size_t len;
};

static void
die(const char *what)
{
	fprintf(stderr, "beanstalk: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
bs_connect(struct conn *c, int port)
{
	struct sockaddr_in a;
	int one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->len = 0;
}

static void
bs_write(struct conn *c, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(c->fd, s, n)) < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		s += w;
		n -= (size_t)w;
	}
}

/* Reads until c->buf holds at least need bytes; -1 on EOF. */
static int
bs_fill(struct conn *c, size_t need)
{
	ssize_t r;

	while (c->len < need) {
		if (need > sizeof(c->buf))
			return -1;
		if ((r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len)) <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		c->len += (size_t)r;
	}
	return 0;
}

static void
bs_consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* One reply line (without \r\n) into line; its length with \r\n consumed. */
static int
bs_line(struct conn *c, char *line, size_t cap)
{
	char *e;
	size_t n;

	for (;;) {
		if ((e = memmem(c->buf, c->len, "\r\n", 2)) != NULL)
			break;
		if (bs_fill(c, c->len + 1) < 0)
			return -1;
	}
	n = (size_t)(e - c->buf);
	if (n >= cap)
		return -1;
	memcpy(line, c->buf, n);
	line[n] = '\0';
	bs_consume(c, n + 2);
	return (int)n;
}

static void
bs_cmd(struct conn *c, const char *want, const char *verb, const char *arg)
{
	char cmd[LINE_MAX_BS], line[LINE_MAX_BS];

	snprintf(cmd, sizeof(cmd), "%s %s\r\n", verb, arg);
	bs_write(c, cmd, strlen(cmd));
	if (bs_line(c, line, sizeof(line)) < 0 || strncmp(line, want, strlen(want)) != 0) {
		fprintf(stderr, "beanstalk: '%s' answered '%s'\n", arg, line);
		exit(2);
	}
}

/* put: 1 when INSERTED */
static int
bs_put(struct conn *c, const char *body, size_t len)
{
	char hdr[64], line[LINE_MAX_BS];
	int n = snprintf(hdr, sizeof(hdr), "put 1024 0 60 %zu\r\n", len);

	bs_write(c, hdr, (size_t)n);
	bs_write(c, body, len);
	bs_write(c, "\r\n", 2);
	if (bs_line(c, line, sizeof(line)) < 0)
		return -1;
	return strncmp(line, "INSERTED ", 9) == 0;
}

/* reserve-with-timeout: the job's id and its body in body/len; 0 timed out */
static unsigned long long
bs_reserve(struct conn *c, int timeout_s, char *body, size_t *len)
{
	char cmd[64], line[LINE_MAX_BS];
	unsigned long long id;
	size_t n;

	snprintf(cmd, sizeof(cmd), "reserve-with-timeout %d\r\n", timeout_s);
	bs_write(c, cmd, strlen(cmd));
	if (bs_line(c, line, sizeof(line)) < 0)
		exit(2);
	if (strcmp(line, "TIMED_OUT") == 0)
		return 0;
	if (sscanf(line, "RESERVED %llu %zu", &id, &n) != 2 || n > BODY_MAX) {
		fprintf(stderr, "beanstalk: reserve answered '%s'\n", line);
		exit(2);
	}
	if (bs_fill(c, n + 2) < 0)
		exit(2);
	memcpy(body, c->buf, n);
	*len = n;
	bs_consume(c, n + 2);
	return id;
}

static void
bs_delete(struct conn *c, unsigned long long id)
{
	char cmd[64], line[LINE_MAX_BS];

	snprintf(cmd, sizeof(cmd), "delete %llu\r\n", id);
	bs_write(c, cmd, strlen(cmd));
	if (bs_line(c, line, sizeof(line)) < 0 || strcmp(line, "DELETED") != 0) {
		fprintf(stderr, "beanstalk: delete %llu answered '%s'\n", id, line);
		exit(2);
	}
}

static int
putter(int port, const char *tube, const char *prefix, int k, long n, int bytes, int start_fd,
    int logfd, int res_fd)
{
	static struct conn c;
	long gap_ms = getenv("SUBMIT_GAP_MS") ? atol(getenv("SUBMIT_GAP_MS")) : 0;
	long i, oks = 0, errs = 0;
	char *text = malloc((size_t)bytes + 1), ch, r[64];
	size_t cap = 1 << 20, len = 0;
	char *log = malloc(cap);
	int m;

	bs_connect(&c, port);
	bs_cmd(&c, "USING", "use", tube);
	if (read(start_fd, &ch, 1) < 0)	/* EOF: everyone starts now */
		return 2;
	for (i = 0; i < n; i++) {
		double t0, t1;
		char id[160];

		snprintf(id, sizeof(id), "%s-%d-%ld", prefix, k, i);
		m = snprintf(text, (size_t)bytes + 1, "%s ", id);
		if (m < bytes)
			memset(text + m, 'x', (size_t)(bytes - m));
		t0 = wall_ms();
		if (bs_put(&c, text, (size_t)bytes) != 1) {
			errs++;
			continue;
		}
		t1 = wall_ms();
		oks++;
		if (len + 256 > cap && (log = realloc(log, cap *= 2)) == NULL)
			return 2;
		len += (size_t)sprintf(log + len, "%s %.3f %.3f\n", id, t0, t1);
		if (gap_ms > 0)
			usleep((useconds_t)gap_ms * 1000);
	}
	if (logfd >= 0 && len > 0 && write(logfd, log, len) != (ssize_t)len)
		return 2;
	m = snprintf(r, sizeof(r), "%ld %ld\n", oks, errs);
	if (write(res_fd, r, (size_t)m) != m)
		return 2;
	return errs > 0;
}

static int
cmd_put(int argc, char **argv)
{
	long n, each, oks = 0, a, b;
	int port, conc, bytes, k, p[2], rp[2], logfd = -1, st;
	double t0, t1;
	FILE *rf;

	if (argc < 8)
		return 2;
	port = atoi(argv[2]);
	n = atol(argv[5]);
	conc = atoi(argv[6]);
	bytes = atoi(argv[7]);
	if (argc > 8 && (logfd = open(argv[8], O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0)
		die(argv[8]);
	if (conc < 1 || n < conc || bytes < 1 || bytes > BODY_MAX || pipe(p) < 0 || pipe(rp) < 0)
		return 2;
	each = n / conc;
	for (k = 0; k < conc; k++) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0) {
			close(p[1]);
			close(rp[0]);
			_exit(putter(port, argv[3], argv[4], k, each + (k < n % conc), bytes, p[0], logfd,
			    rp[1]));
		}
	}
	close(p[0]);
	close(rp[1]);
	usleep(200 * 1000);		/* every child has connected */
	t0 = mono_ms();
	close(p[1]);
	while (wait(&st) > 0)
		;
	t1 = mono_ms();
	rf = fdopen(rp[0], "r");
	while (fscanf(rf, "%ld %ld", &a, &b) == 2)
		oks += a;
	printf("%ld %ld %.3f\n", oks, n - oks, (t1 - t0) / 1e3);
	return oks < n;
}

/* Runs cat with body on its stdin; its stdout into out. */
static size_t
spawn_cat(const char *body, size_t len, char *out, size_t cap)
{
	int in[2], o[2], st;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(in) < 0 || pipe(o) < 0)
		die("pipe");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(o[1], 1);
		close(in[0]);
		close(in[1]);
		close(o[0]);
		close(o[1]);
		execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	if (write(in[1], body, len) != (ssize_t)len)
		die("write to cat");
	close(in[1]);
	while (got < cap && (r = read(o[0], out + got, cap - got)) > 0)
		got += (size_t)r;
	close(o[0]);
	waitpid(pid, &st, 0);
	return got;
}

static int
worker(int port, const char *tube, int spawn, int idle_s, const char *rtube, int res_fd)
{
	static struct conn c, rc;
	static char body[BODY_MAX], out[BODY_MAX];
	unsigned long long id;
	long jobs = 0;
	double last = 0;
	size_t len, olen;
	char r[64];
	int m;

	bs_connect(&c, port);
	bs_cmd(&c, "WATCHING", "watch", tube);
	bs_cmd(&c, "WATCHING", "ignore", "default");
	if (rtube != NULL) {
		bs_connect(&rc, port);
		bs_cmd(&rc, "USING", "use", rtube);
	}
	while ((id = bs_reserve(&c, idle_s, body, &len)) != 0) {
		if (spawn)
			olen = spawn_cat(body, len, out, sizeof(out));
		else {
			memcpy(out, body, len);
			olen = len;
		}
		if (rtube != NULL) {
			/* the result: the job's name (the payload's first word) */
			char *sp = memchr(out, ' ', olen);

			if (bs_put(&rc, out, sp ? (size_t)(sp - out) : olen) != 1)
				exit(2);
		}
		bs_delete(&c, id);
		last = wall_ms();
		jobs++;
	}
	m = snprintf(r, sizeof(r), "%ld %.3f\n", jobs, last);
	if (write(res_fd, r, (size_t)m) != m)
		return 2;
	return 0;
}

static int
cmd_work(int argc, char **argv)
{
	int port, conc, spawn, idle_s, k, rp[2], st;
	long jobs = 0, a;
	double last = 0, l;
	struct rusage ru;
	FILE *rf;

	if (argc < 7)
		return 2;
	port = atoi(argv[2]);
	conc = atoi(argv[4]);
	spawn = strcmp(argv[5], "spawn") == 0;
	idle_s = atoi(argv[6]);
	if (conc < 1 || idle_s < 1 || (!spawn && strcmp(argv[5], "inline") != 0) || pipe(rp) < 0)
		return 2;
	for (k = 0; k < conc; k++) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0) {
			close(rp[0]);
			_exit(worker(port, argv[3], spawn, idle_s, argc > 7 ? argv[7] : NULL, rp[1]));
		}
	}
	close(rp[1]);
	while (wait(&st) > 0)
		;
	rf = fdopen(rp[0], "r");
	while (fscanf(rf, "%ld %lf", &a, &l) == 2) {
		jobs += a;
		if (l > last)
			last = l;
	}
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("%ld %.3f %.3f\n", jobs, last, tv_ms(&ru.ru_utime) + tv_ms(&ru.ru_stime));
	return 0;
}

static int
cmd_follow(int argc, char **argv)
{
	static struct conn c;
	static char body[BODY_MAX];
	unsigned long long id;
	long n, got = 0;
	double deadline;
	size_t len;
	FILE *log;

	if (argc < 7)
		return 2;
	n = atol(argv[4]);
	deadline = mono_ms() + atof(argv[5]) * 1e3;
	if ((log = fopen(argv[6], "a")) == NULL)
		die(argv[6]);
	bs_connect(&c, atoi(argv[2]));
	bs_cmd(&c, "WATCHING", "watch", argv[3]);
	bs_cmd(&c, "WATCHING", "ignore", "default");
	while (got < n && mono_ms() < deadline) {
		if ((id = bs_reserve(&c, 1, body, &len)) == 0)
			continue;
		fprintf(log, "%.*s %.3f\n", (int)len, body, wall_ms());
		bs_delete(&c, id);
		got++;
	}
	fclose(log);
	printf("%ld\n", got);
	return got < n;
}

int
main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 2 && strcmp(argv[1], "put") == 0)
		rc = cmd_put(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "work") == 0)
		rc = cmd_work(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "follow") == 0)
		rc = cmd_follow(argc, argv);
	if (rc == 2)
		fprintf(stderr, "usage: beanstalk put PORT TUBE PREFIX N CONC BYTES [LOG] |"
		    " work PORT TUBE CONC spawn|inline IDLE_S [RESULTS_TUBE] | follow PORT TUBE N TIMEOUT_S LOG\n");
	return rc;
}
