/*
 * sg-client: streams requests through a singleton proxy endpoint and checks
 * every answer. Each of WINDOW REQ sockets sends "ID-SEQ" one at a time, with
 * GAP ms between requests; a witness answers "NODE:ID-SEQ". Prints progress
 * ("answered N") to PROGRESS_FILE if set, then one summary line:
 * "sent N answered N errors N lost N" and "by NODE N" lines.
 * Exit 0 only if every request got its own answer.
 *
 * usage: sg-client ENDPOINT COUNT [WINDOW [GAP_MS [TIMEOUT_MS]]]
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#define MAXW 64
#define MAXNODES 64

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	int count, w, gap, timeout, s[MAXW], fd[MAXW], cur[MAXW], i, sent = 0, answered = 0,
	    errors = 0, lost = 0, nnodes = 0, counts[MAXNODES];
	long long since[MAXW], next_at[MAXW];
	char nodes[MAXNODES][64];
	const char *progress = getenv("PROGRESS_FILE");
	long long last_progress = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: sg-client ENDPOINT COUNT [WINDOW [GAP_MS [TIMEOUT_MS]]]\n");
		return 2;
	}
	count = atoi(argv[2]);
	w = argc > 3 ? atoi(argv[3]) : 1;
	gap = argc > 4 ? atoi(argv[4]) : 0;
	timeout = argc > 5 ? atoi(argv[5]) : 60000;
	if (w < 1 || w > MAXW)
		w = 1;
	for (i = 0; i < w; i++) {
		int ivl = 3600 * 1000;
		size_t sz = sizeof(fd[i]);

		if ((s[i] = nn_socket(AF_SP, NN_REQ)) < 0 ||
		    nn_setsockopt(s[i], NN_REQ, NN_REQ_RESEND_IVL, &ivl, sizeof(ivl)) < 0 ||
		    nn_connect(s[i], argv[1]) < 0) {
			fprintf(stderr, "sg-client: %s: %s\n", argv[1], nn_strerror(nn_errno()));
			return 2;
		}
		nn_getsockopt(s[i], NN_SOL_SOCKET, NN_RCVFD, &fd[i], &sz);
		cur[i] = -1;
		next_at[i] = 0;
	}
	while (answered + errors + lost < count) {
		struct pollfd p[MAXW];
		long long t = now_ms();

		for (i = 0; i < w; i++) {
			char req[64];

			if (cur[i] < 0 && sent < count && t >= next_at[i]) {
				cur[i] = sent++;
				snprintf(req, sizeof(req), "r-%d", cur[i]);
				if (nn_send(s[i], req, strlen(req), 0) < 0) {
					fprintf(stderr, "sg-client: send: %s\n", nn_strerror(nn_errno()));
					return 2;
				}
				since[i] = t;
			}
			if (cur[i] >= 0 && t - since[i] > timeout) {
				fprintf(stderr, "sg-client: r-%d: no answer in %d ms\n", cur[i], timeout);
				lost++;
				/* a fresh socket: the old one still waits for that answer */
				nn_close(s[i]);
				s[i] = nn_socket(AF_SP, NN_REQ);
				nn_connect(s[i], argv[1]);
				{
					size_t sz = sizeof(fd[i]);

					nn_getsockopt(s[i], NN_SOL_SOCKET, NN_RCVFD, &fd[i], &sz);
				}
				cur[i] = -1;
			}
			p[i].fd = fd[i];
			p[i].events = POLLIN;
		}
		poll(p, (nfds_t)w, 20);
		for (i = 0; i < w; i++) {
			char *buf, want[64], *colon;
			int n, k;

			if (cur[i] < 0 || (n = nn_recv(s[i], &buf, NN_MSG, NN_DONTWAIT)) < 0)
				continue;
			snprintf(want, sizeof(want), "r-%d", cur[i]);
			colon = memchr(buf, ':', (size_t)n);
			if (colon != NULL && (size_t)(n - (colon + 1 - buf)) == strlen(want) &&
			    memcmp(colon + 1, want, strlen(want)) == 0) {
				answered++;
				*colon = '\0';
				for (k = 0; k < nnodes && strcmp(nodes[k], buf) != 0; k++)
					;
				if (k == nnodes && nnodes < MAXNODES) {
					snprintf(nodes[nnodes], sizeof(nodes[0]), "%s", buf);
					counts[nnodes++] = 0;
				}
				if (k < nnodes)
					counts[k]++;
			} else {
				fprintf(stderr, "sg-client: %s: answer '%.*s'\n", want, n, buf);
				errors++;
			}
			nn_freemsg(buf);
			cur[i] = -1;
			next_at[i] = now_ms() + gap;
		}
		if (progress != NULL && now_ms() - last_progress >= 50) {
			FILE *f = fopen(progress, "w");

			if (f != NULL) {
				fprintf(f, "%d\n", answered);
				fclose(f);
			}
			last_progress = now_ms();
		}
	}
	printf("sent %d answered %d errors %d lost %d\n", sent, answered, errors, lost);
	for (i = 0; i < nnodes; i++)
		printf("by %s %d\n", nodes[i], counts[i]);
	return answered == count ? 0 : 1;
}
