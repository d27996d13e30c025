/* peers.c: the bounded peer socket pool with small per-peer send queues. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>

#include "config.h"
#include "log.h"
#include "peers.h"
#include "proto.h"
#include "sock.h"

#define QUEUE_MAX	8	/* frames waiting for a connection, per peer */
#define QUEUE_BYTES	(64 * 1024)	/* and at most this many bytes */
#define QUEUE_TTL	2000	/* ms a queued frame stays useful */
#define IDLE_CLOSE	30000	/* ms without traffic before a socket is closed */

struct frame {
	void *data;
	size_t len;
	msec_t at;
};

struct peer {
	char address[CONF_ADDR_MAX];
	int s, sndfd;
	msec_t used;
	struct frame q[QUEUE_MAX];
	int qn;
	size_t qbytes;
	int watched;
};

struct peers {
	struct loop *loop;
	struct peer *p;
	int n, max;
};

struct peers *
peers_new(struct loop *l, int max)
{
	struct peers *ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->p = calloc((size_t)max, sizeof(*ps->p))) == NULL)
		fatal("calloc");
	ps->loop = l;
	ps->max = max;
	return ps;
}

static void
drop_queue(struct peer *p)
{
	int i;

	for (i = 0; i < p->qn; i++)
		free(p->q[i].data);
	p->qn = 0;
	p->qbytes = 0;
}

/* Drops the first n queued frames. */
static void
dequeue(struct peer *p, int n, int sent)
{
	int i;

	for (i = 0; i < n; i++) {
		p->qbytes -= p->q[i].len;
		if (!sent)
			free(p->q[i].data);
	}
	memmove(p->q, p->q + n, (size_t)(p->qn - n) * sizeof(*p->q));
	p->qn -= n;
}

static void
close_peer(struct peers *ps, int i)
{
	struct peer *p = &ps->p[i];

	if (p->watched)
		loop_unwatch(ps->loop, p->sndfd);
	drop_queue(p);
	sock_close(p->s);
	ps->p[i] = ps->p[--ps->n];
}

void
peers_free(struct peers *ps)
{
	while (ps->n > 0)
		close_peer(ps, 0);
	free(ps->p);
	free(ps);
}

int
peers_count(const struct peers *ps)
{
	return ps->n;
}

static void on_writable(int fd, short ev, void *arg);

static void
flush(struct peers *ps, struct peer *p)
{
	int i, sent = 0;

	for (i = 0; i < p->qn; i++) {
		if (sock_send(p->s, p->q[i].data, p->q[i].len) < 0)
			break;
		free(p->q[i].data);
		sent++;
	}
	dequeue(p, sent, 1);
	if (p->qn == 0 && p->watched) {
		loop_unwatch(ps->loop, p->sndfd);
		p->watched = 0;
	} else if (p->qn > 0 && !p->watched) {
		loop_watch(ps->loop, p->sndfd, POLLIN, on_writable, ps);
		p->watched = 1;
	}
}

static void
on_writable(int fd, short ev, void *arg)
{
	struct peers *ps = arg;
	int i;

	(void)ev;
	for (i = 0; i < ps->n; i++)
		if (ps->p[i].sndfd == fd) {
			flush(ps, &ps->p[i]);
			return;
		}
}

static struct peer *
get_peer(struct peers *ps, const char *address, msec_t now)
{
	struct peer *p;
	int i, lru = 0, s, sndbuf = 64 * 1024;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].address, address) == 0) {
			ps->p[i].used = now;
			return &ps->p[i];
		}
	if (ps->n == ps->max) {
		for (i = 1; i < ps->n; i++)
			if (ps->p[i].used < ps->p[lru].used)
				lru = i;
		close_peer(ps, lru);
	}
	if ((s = sock_connect(NN_PUSH, address, RELAY_MAX_MSG, 1000)) < 0)
		return NULL;
	/* a slow or cut-off peer may hold this much in nanomsg, not 128 KiB */
	(void)nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDBUF, &sndbuf, sizeof(sndbuf));
	p = &ps->p[ps->n++];
	memset(p, 0, sizeof(*p));
	snprintf(p->address, sizeof(p->address), "%s", address);
	p->s = s;
	p->sndfd = sock_sndfd(s);
	p->used = now;
	return p;
}

void
peers_send(struct peers *ps, const char *address, const void *frame, size_t len, msec_t now)
{
	struct peer *p = get_peer(ps, address, now);

	if (p == NULL)
		return;
	if (p->qn == 0 && sock_send(p->s, frame, len) == 0)
		return;
	/* a large frame (a relay) may wait alone, never pushing others out */
	if (len > QUEUE_BYTES && p->qn > 0)
		return;
	/* oldest first out: newer gossip supersedes older anyway */
	while (p->qn > 0 && (p->qn == QUEUE_MAX || p->qbytes + len > QUEUE_BYTES) && len <= QUEUE_BYTES)
		dequeue(p, 1, 0);
	if ((p->q[p->qn].data = malloc(len)) == NULL)
		fatal("malloc");
	memcpy(p->q[p->qn].data, frame, len);
	p->q[p->qn].len = len;
	p->q[p->qn].at = now;
	p->qn++;
	p->qbytes += len;
	flush(ps, p);
}

void
peers_reset(struct peers *ps, const char *address)
{
	int i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].address, address) == 0) {
			close_peer(ps, i);
			return;
		}
}

void
peers_expire(struct peers *ps, msec_t now)
{
	int i, j;

	for (i = 0; i < ps->n; ) {
		struct peer *p = &ps->p[i];

		if (now - p->used > IDLE_CLOSE) {
			close_peer(ps, i);
			continue;
		}
		for (j = 0; j < p->qn && now - p->q[j].at > QUEUE_TTL; j++)
			;
		if (j > 0) {
			dequeue(p, j, 0);
			flush(ps, p);
		}
		i++;
	}
}
