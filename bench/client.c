/* bench/client.c: see client.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "client.h"
#include "clock.h"
#include "spc.h"

struct cl {
	int nn;			/* the nanomsg socket, or -1 */
	struct spc c;
};

struct cl *
cl_open(const char *addr)
{
	struct cl *k = calloc(1, sizeof(*k));
	const char *how = getenv("SUBMIT_CLIENT");
	int v;

	if (k == NULL)
		exit(2);
	k->nn = -1;
	if (how == NULL || strcmp(how, "nn") != 0) {
		if (spc_init(&k->c, addr, (size_t)64 << 20) < 0) {
			fprintf(stderr, "bench client: %s: path too long\n", addr);
			exit(2);
		}
		return k;
	}
	if ((k->nn = nn_socket(AF_SP, NN_REQ)) < 0) {
		fprintf(stderr, "bench client: nn_socket: %s\n", nn_strerror(nn_errno()));
		exit(2);
	}
	v = 24 * 3600 * 1000;		/* no REQ resends: the proxy does that */
	nn_setsockopt(k->nn, NN_REQ, NN_REQ_RESEND_IVL, &v, sizeof(v));
	v = -1;
	nn_setsockopt(k->nn, NN_SOL_SOCKET, NN_RCVMAXSIZE, &v, sizeof(v));
	if (nn_connect(k->nn, addr) < 0) {
		fprintf(stderr, "bench client: connect %s: %s\n", addr, nn_strerror(nn_errno()));
		exit(2);
	}
	return k;
}

ssize_t
cl_call(struct cl *k, const char *req, int timeout_ms, char **answer)
{
	char err[160], *buf;
	void *nbuf = NULL;
	int n;

	*answer = NULL;
	if (k->nn < 0)
		return spc_call(&k->c, req, strlen(req), answer, clock_mono_ms() + timeout_ms, err,
		    sizeof(err));
	nn_setsockopt(k->nn, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms, sizeof(timeout_ms));
	nn_setsockopt(k->nn, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
	if (nn_send(k->nn, req, strlen(req), 0) < 0 || (n = nn_recv(k->nn, &nbuf, NN_MSG, 0)) < 0)
		return -1;
	if ((buf = malloc((size_t)n + 1)) == NULL)
		exit(2);
	memcpy(buf, nbuf, (size_t)n);
	buf[n] = '\0';
	nn_freemsg(nbuf);
	*answer = buf;
	return n;
}

void
cl_close(struct cl *k)
{
	if (k->nn >= 0)
		nn_close(k->nn);
	else
		spc_close(&k->c);
	free(k);
}
