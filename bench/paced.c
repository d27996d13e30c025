/*
 * bench/paced.c: submits at a steady rate for bench/latency.sh: job i is
 * sent at t0 + i / RATE by one of CONC processes (job i by process i % CONC,
 * each a request at a time on its own REQ socket to a node's proxy; a job
 * whose process is still waiting for an earlier answer goes late). Logs
 * "id sent_ms acked_ms" per acknowledged submit (epoch ms) to LOG.k, k the
 * process; prints "N_OK N_ERR SECONDS". The sockets: bench/client.c (lib/spc's
 * raw REQ, or nanomsg's with SUBMIT_CLIENT=nn).
 *
 *   paced ADDR PREFIX N RATE CONC LOG
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "util.h"

/* Process k of conc: jobs k, k + conc, ...; returns the errors in its exit status (capped). */
static int
child(const char *addr, const char *prefix, long n, double rate, int k, int conc, const char *logp,
    double t0)
{
	char req[256], path[512], *buf;
	double due, sent;
	long i, err = 0;
	ssize_t nb;
	struct cl *c;
	FILE *log;
	struct timespec ts;

	snprintf(path, sizeof(path), "%s.%d", logp, k);
	if ((log = fopen(path, "w")) == NULL) {
		perror("paced");
		return 255;
	}
	c = cl_open(addr);
	for (i = k; i < n; i += conc) {
		due = t0 + (double)i * 1000.0 / rate;
		while (mono_ms() < due) {
			double left = due - mono_ms();

			ts.tv_sec = 0;
			ts.tv_nsec = (long)(left * 1e6);
			nanosleep(&ts, NULL);
		}
		/* payload "x" in base64 */
		snprintf(req, sizeof(req), "{\"v\":%d,\"op\":\"submit\",\"id\":\"%s-%ld\","
		    "\"payload\":\"eA==\"}", WORK_PROTO_VERSION, prefix, i);
		sent = wall_ms();
		if ((nb = cl_call(c, req, 10000, &buf)) < 0) {
			err++;
			continue;
		}
		if (nb > 10 && memmem(buf, (size_t)nb, "\"ok\":true", 9) != NULL)
			fprintf(log, "%s-%ld %.3f %.3f\n", prefix, i, sent, wall_ms());
		else
			err++;
		free(buf);
	}
	cl_close(c);
	fclose(log);
	return err > 254 ? 254 : (int)err;
}

int
main(int argc, char **argv)
{
	double t0, rate;
	long n, err = 0;
	int conc, k, st;

	if (argc != 7) {
		fprintf(stderr, "usage: paced ADDR PREFIX N RATE CONC LOG\n");
		return 2;
	}
	n = atol(argv[3]);
	rate = atof(argv[4]);
	conc = atoi(argv[5]);
	if (conc < 1 || conc > 64 || rate <= 0)
		return 2;
	t0 = mono_ms() + 50;	/* every process connected by then */
	for (k = 0; k < conc; k++)
		if (fork() == 0)
			_exit(child(argv[1], argv[2], n, rate, k, conc, argv[6], t0));
	for (k = 0; k < conc; k++) {
		if (wait(&st) > 0 && WIFEXITED(st))
			err += WEXITSTATUS(st);
	}
	printf("%ld %ld %.2f\n", n - err, err, (mono_ms() - t0) / 1000.0);
	return 0;
}
