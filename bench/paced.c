/*
 * bench/paced.c: submits at a steady rate for bench/latency.sh: job i is
 * sent at t0 + i / RATE (a request at a time on one REQ socket to a node's
 * proxy; one that is late goes at once). Logs "id sent_ms acked_ms" per
 * acknowledged submit (epoch ms); prints "N_OK N_ERR SECONDS".
 *
 *   paced ADDR PREFIX N RATE LOG
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

static double
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	char req[256], *buf;
	double t0, due, sent, rate;
	long i, n, ok = 0, err = 0;
	int s, to = 10000, nb;
	FILE *log;
	struct timespec ts;

	if (argc != 6) {
		fprintf(stderr, "usage: paced ADDR PREFIX N RATE LOG\n");
		return 2;
	}
	n = atol(argv[3]);
	rate = atof(argv[4]);
	if ((log = fopen(argv[5], "a")) == NULL || (s = nn_socket(AF_SP, NN_REQ)) < 0 ||
	    nn_connect(s, argv[1]) < 0) {
		perror("paced");
		return 1;
	}
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &to, sizeof(to));
	t0 = mono_ms();
	for (i = 0; i < n; i++) {
		due = t0 + (double)i * 1000.0 / rate;
		while (mono_ms() < due) {
			double left = due - mono_ms();

			ts.tv_sec = 0;
			ts.tv_nsec = (long)(left * 1e6);
			nanosleep(&ts, NULL);
		}
		/* payload "x" in base64 */
		snprintf(req, sizeof(req), "{\"op\":\"submit\",\"id\":\"%s-%ld\",\"payload\":\"eA==\"}",
		    argv[2], i);
		sent = wall_ms();
		if (nn_send(s, req, strlen(req), 0) < 0 || (nb = nn_recv(s, &buf, NN_MSG, 0)) < 0) {
			err++;
			continue;
		}
		if (nb > 10 && memmem(buf, (size_t)nb, "\"ok\":true", 9) != NULL) {
			fprintf(log, "%s-%ld %.3f %.3f\n", argv[2], i, sent, wall_ms());
			ok++;
		} else
			err++;
		nn_freemsg(buf);
	}
	fclose(log);
	printf("%ld %ld %.2f\n", ok, err, (mono_ms() - t0) / 1000.0);
	return 0;
}
