/*
 * bench/submit.c: the clients of bench/work.sh, speaking the work protocol
 * (doc/PROTOCOL.md "Work") on a REQ socket to a node's singleton proxy,
 * ipc://RUN/singleton.master (or the master's own socket beside it: work.sh's
 * client_of), without a process start per request (bench/client.c: lib/spc's
 * raw REQ, or nanomsg's with SUBMIT_CLIENT=nn).
 *
 *   submit ADDR PREFIX N CONC BYTES [LOG]
 *	N submits in all by CONC processes (one REQ socket each, N/CONC
 *	each, a request at a time), started together; ids PREFIX-k-i, a text
 *	payload of BYTES bytes. Prints "N_OK N_ERR SECONDS". LOG (appended):
 *	"id sent_ms acked_ms" per acknowledged submit, epoch milliseconds.
 *	Environment: SUBMIT_GAP_MS, a pause after each acknowledgement.
 *   follow ADDR N TIMEOUT_S LOG [PREFIX]
 *	polls "results" (every 10 ms while nothing is new) until N results
 *	(of ids starting with PREFIX) came or TIMEOUT_S passed; LOG: "seq id arrived_ms status worker" per
 *	result.
 *	Prints the number of results.
 *   probe ADDR PREFIX TIMEOUT_S
 *	submits (ids PREFIX-1, -2, ...) until one is acknowledged, trying
 *	again 20 ms after an error answer; prints "acked_ms tries" or exits 1.
 *   fsync DIR N
 *	N appends of 128 bytes to a file in DIR, each followed by fdatasync;
 *	prints "median_ms mean_ms max_ms".
 *   cpu N CMD [ARGS...]
 *	runs CMD N times, one after another (stdin /dev/null, stdout to
 *	/dev/null), and prints the CPU of one run from start to exit, from
 *	getrusage(RUSAGE_CHILDREN): "cpu_ms user_ms sys_ms wall_ms failures".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "b64.h"
#include "client.h"
#include "proto.h"
#include "util.h"

/* One request; 1 for {"ok":true}, 0 for another answer, -1 for none in time. */
static int
call(struct cl *k, const char *req, int timeout_ms, char **answer)
{
	char *buf;
	ssize_t n;
	int ok;

	if ((n = cl_call(k, req, timeout_ms, &buf)) < 0)
		return -1;
	ok = memmem(buf, (size_t)n, "\"ok\":true", 9) != NULL;
	if (answer != NULL)
		*answer = buf;
	else
		free(buf);
	return ok;
}

static int
submitter(const char *addr, const char *prefix, int k, long n, int bytes, int start_fd, int logfd,
    int res_fd)
{
	struct cl *s = cl_open(addr);
	int errs = 0, oks = 0;
	long gap_ms = getenv("SUBMIT_GAP_MS") ? atol(getenv("SUBMIT_GAP_MS")) : 0;
	long i;
	char id[160], c, c2[64], *text = malloc((size_t)bytes + 1),
	    *enc = malloc(b64_encoded_len((size_t)bytes)), *req = malloc((size_t)bytes * 4 / 3 + 256);
	size_t cap = 1 << 20, len = 0;
	char *log = malloc(cap);
	int m;

	if (read(start_fd, &c, 1) < 0)	/* EOF: everyone starts now */
		return 2;
	for (i = 0; i < n; i++) {
		double t0, t1;
		int r;

		snprintf(id, sizeof(id), "%s-%d-%ld", prefix, k, i);
		m = snprintf(text, (size_t)bytes + 1, "%s ", id);
		if (m < bytes)
			memset(text + m, 'x', (size_t)(bytes - m));
		text[bytes] = '\0';
		b64_encode_buf(enc, b64_encoded_len((size_t)bytes), text, (size_t)bytes);
		snprintf(req, (size_t)bytes * 4 / 3 + 256,
		    "{\"v\":%d,\"op\":\"submit\",\"id\":\"%s\",\"payload\":\"%s\"}",
		    WORK_PROTO_VERSION, id, enc);
		t0 = wall_ms();
		r = call(s, req, 60000, NULL);
		t1 = wall_ms();
		if (r != 1) {
			errs++;
			continue;
		}
		oks++;
		if (gap_ms > 0)
			usleep((useconds_t)gap_ms * 1000);
		if (len + 256 > cap && (log = realloc(log, cap *= 2)) == NULL)
			return 2;
		len += (size_t)sprintf(log + len, "%s %.3f %.3f\n", id, t0, t1);
	}
	if (logfd >= 0 && len > 0 && write(logfd, log, len) != (ssize_t)len)
		return 2;
	m = snprintf(c2, sizeof(c2), "%d %d\n", oks, errs);
	if (write(res_fd, c2, (size_t)m) != m)
		return 2;
	cl_close(s);
	return errs > 0 ? 1 : 0;
}

static int
cmd_submit(int argc, char **argv)
{
	const char *addr, *prefix;
	long n, each, oks = 0, a, b;
	int conc, bytes, k, p[2], rp[2], logfd = -1, st;
	double t0, t1;
	FILE *rf;

	if (argc < 7)
		return 2;
	addr = argv[2];
	prefix = argv[3];
	n = atol(argv[4]);
	conc = atoi(argv[5]);
	bytes = atoi(argv[6]);
	if (argc > 7 && (logfd = open(argv[7], O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0) {
		perror(argv[7]);
		return 2;
	}
	if (conc < 1 || n < conc || bytes < 1 || pipe(p) < 0 || pipe(rp) < 0)
		return 2;
	each = n / conc;
	for (k = 0; k < conc; k++) {
		long mine = each + (k < n % conc);
		pid_t c = fork();

		if (c < 0)
			return 2;
		if (c == 0) {
			close(p[1]);
			close(rp[0]);
			_exit(submitter(addr, prefix, k, mine, bytes, p[0], logfd, rp[1]));
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
	/* each submitter's "acknowledged errors"; one that died reported nothing */
	rf = fdopen(rp[0], "r");
	while (fscanf(rf, "%ld %ld", &a, &b) == 2)
		oks += a;
	printf("%ld %ld %.3f\n", oks, n - oks, (t1 - t0) / 1e3);
	return oks < n ? 1 : 0;
}

static int
cmd_follow(int argc, char **argv)
{
	const char *addr, *prefix;
	long n, got = 0;
	double deadline;
	unsigned long long since = 0;
	FILE *log;
	struct cl *s;

	if (argc < 6)
		return 2;
	addr = argv[2];
	n = atol(argv[3]);
	deadline = mono_ms() + atof(argv[4]) * 1e3;
	prefix = argc > 6 ? argv[6] : "";
	if ((log = fopen(argv[5], "a")) == NULL) {
		perror(argv[5]);
		return 2;
	}
	s = cl_open(addr);
	while (got < n && mono_ms() < deadline) {
		char req[128], *ans = NULL;
		cJSON *a, *arr, *r, *nx;
		double t;
		int any = 0;
		unsigned long long since0 = since;

		snprintf(req, sizeof(req), "{\"v\":%d,\"op\":\"results\",\"since\":%llu,"
		    "\"max\":1000}", WORK_PROTO_VERSION, since);
		if (call(s, req, 5000, &ans) != 1) {
			free(ans);
			usleep(50 * 1000);
			continue;
		}
		t = wall_ms();
		a = cJSON_Parse(ans);
		free(ans);
		arr = cJSON_GetObjectItemCaseSensitive(a, "results");
		cJSON_ArrayForEach(r, arr) {
			cJSON *sq = cJSON_GetObjectItemCaseSensitive(r, "seq"),
			    *id = cJSON_GetObjectItemCaseSensitive(r, "id"),
			    *stt = cJSON_GetObjectItemCaseSensitive(r, "status"),
			    *wk = cJSON_GetObjectItemCaseSensitive(r, "worker");

			/* "next" may stay at since when the master held back results
			 * not yet replicated: the highest seq seen counts (as akc-results) */
			if (cJSON_IsNumber(sq) && cJSON_IsString(id) && sq->valuedouble > (double)since0) {
				if (sq->valuedouble > (double)since)
					since = (unsigned long long)sq->valuedouble;
				if (strncmp(id->valuestring, prefix, strlen(prefix)) != 0)
					continue;
				fprintf(log, "%.0f %s %.3f %s %s\n", sq->valuedouble, id->valuestring, t,
				    cJSON_IsString(stt) ? stt->valuestring : "?",
				    cJSON_IsString(wk) && wk->valuestring[0] ? wk->valuestring : "?");
				got++;
				any = 1;
			}
		}
		nx = cJSON_GetObjectItemCaseSensitive(a, "next");
		if (cJSON_IsNumber(nx) && nx->valuedouble > (double)since)
			since = (unsigned long long)nx->valuedouble;
		cJSON_Delete(a);
		if (!any)
			usleep(10 * 1000);
	}
	fclose(log);
	cl_close(s);
	printf("%ld\n", got);
	return got >= n ? 0 : 1;
}

static int
cmd_probe(int argc, char **argv)
{
	const char *addr, *prefix;
	double deadline, left;
	struct cl *s;
	int tries = 0;

	if (argc < 5)
		return 2;
	addr = argv[2];
	prefix = argv[3];
	deadline = mono_ms() + atof(argv[4]) * 1e3;
	s = cl_open(addr);
	while ((left = deadline - mono_ms()) > 0) {
		char req[256];
		int r;

		snprintf(req, sizeof(req), "{\"v\":%d,\"op\":\"submit\",\"id\":\"%s-%d\","
		    "\"payload\":\"cHJvYmU=\"}", WORK_PROTO_VERSION, prefix, ++tries);
		r = call(s, req, (int)left + 1, NULL);
		if (r == 1) {
			printf("%.3f %d\n", wall_ms(), tries);
			return 0;
		}
		if (r == 0)
			usleep(20 * 1000);
	}
	return 1;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
cmd_fsync(int argc, char **argv)
{
	char path[4096], buf[128];
	int fd, i, n;
	double *v, sum = 0;

	if (argc < 4)
		return 2;
	n = atoi(argv[3]);
	if (n < 1 || (v = calloc((size_t)n, sizeof(*v))) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/fsync.test", argv[2]);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600)) < 0) {
		perror(path);
		return 2;
	}
	memset(buf, 'x', sizeof(buf));
	for (i = 0; i < n; i++) {
		double t0 = mono_ms();

		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fdatasync(fd) < 0) {
			perror(path);
			return 2;
		}
		v[i] = mono_ms() - t0;
		sum += v[i];
	}
	close(fd);
	unlink(path);
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%.3f %.3f %.3f\n", v[n / 2], sum / n, v[n - 1]);
	return 0;
}

static int
cmd_cpu(int argc, char **argv)
{
	struct rusage ru;
	double t0, u, sy;
	int i, n, st, fails = 0, nul;
	pid_t p;

	if (argc < 4 || (n = atoi(argv[2])) < 1)
		return 2;
	if ((nul = open("/dev/null", O_RDWR)) < 0)
		return 2;
	t0 = mono_ms();
	for (i = 0; i < n; i++) {
		if ((p = fork()) < 0)
			return 2;
		if (p == 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		if (waitpid(p, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fails++;
	}
	getrusage(RUSAGE_CHILDREN, &ru);
	u = tv_ms(&ru.ru_utime);
	sy = tv_ms(&ru.ru_stime);
	printf("%.3f %.3f %.3f %.3f %d\n", (u + sy) / n, u / n, sy / n, (mono_ms() - t0) / n, fails);
	return 0;
}

int
main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 2 && strcmp(argv[1], "submit") == 0)
		rc = cmd_submit(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "follow") == 0)
		rc = cmd_follow(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "probe") == 0)
		rc = cmd_probe(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "fsync") == 0)
		rc = cmd_fsync(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "cpu") == 0)
		rc = cmd_cpu(argc, argv);
	if (rc == 2)
		fprintf(stderr, "usage: submit submit ADDR PREFIX N CONC BYTES [LOG] | follow ADDR N TIMEOUT_S LOG [PREFIX] |"
		    " probe ADDR PREFIX TIMEOUT_S | fsync DIR N | cpu N CMD [ARGS...]\n");
	return rc;
}
