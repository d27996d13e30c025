/* sps.c: raw REQ/REP, PUB/SUB and PULL over plain unix sockets, without nanomsg's threads (see sps.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <nanomsg/nn.h>

#include "bytes.h"
#include "clock.h"
#include "log.h"
#include "sock.h"
#include "sps.h"
#include "xmalloc.h"

#define SP_PUB		32
#define SP_SUB		33
#define SP_REQ		48
#define SP_REP		49
#define SP_PUSH		80
#define SP_PULL		81
#define SP_MSG_NORMAL	1
#define SPS_MAX		64		/* such sockets in one process (akc-httpd: up to 48 channels) */
#define ID_LISTEN	0xffffffffu	/* epoll data of the listener */
#define ID_EVENT	0xfffffffeu	/* epoll data of the eventfd */
#define ID_TIMER	0xfffffffdu	/* epoll data of the deadlines' timerfd */
#define READ_MAX	(256 << 10)	/* bytes read from one peer per call */
#define SPS_IN_FIRST	(64 << 10)	/* a frame's first buffer; it doubles as it fills */

struct conn {
	int fd;
	uint32_t id;			/* REP: names it in headers (top bit clear) */
	unsigned char peer[8];		/* their SP header */
	size_t peerhave;
	unsigned char head[9];		/* the frame being read: type, size */
	size_t headhave;
	unsigned char *in;		/* its payload (nn_allocmsg), incap bytes of inlen so far */
	size_t inlen, inhave, incap;
	unsigned char *out;		/* bytes not yet written */
	size_t outlen, outoff, outcap;
	int pollout;
	int accepted;			/* by our listener: the deadline applies */
	msec_t due;			/* its header or the frame begun must be whole by then (0: none) */
};

struct msg {
	unsigned char hdr[SOCK_HDR_MAX];
	size_t hdrlen;
	void *body;
	size_t len;
	struct msg *next;
};

struct sps {
	int used, rep;
	int kind;			/* SP_REQ, SP_REP, SP_PUB, SP_SUB or SP_PULL */
	int ep, ev, lfd;
	dev_t ldev;			/* the file bound (lfd), removed by release if still it */
	ino_t lino;
	int evset;
	size_t rcvmax;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char prefer[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* REQ: tried first */
	int on_prefer;			/* REQ: connected to prefer */
	struct conn *c;
	int nc, capc;
	uint32_t next_id;
	struct msg *qh, *qt;
	int nq;
	msec_t retry_at;
	int ivl, ivl_max;
	uint64_t dropped;
	uint64_t resets;		/* REQ, SUB: connections lost (their requests with them) */
	uint64_t connects;		/* REQ, SUB: connections made */
	/* a bound socket's connections: sps_limits */
	int tfd;			/* timerfd, armed for the earliest due (or -1) */
	msec_t armed;			/* when it fires (0: disarmed) */
	int conn_max, deadline_ms;
	uint64_t timed_out, refused;	/* closed at their deadline; refused over conn_max */
	uint64_t said_timed_out, said_refused;
	msec_t said_at;			/* the last log line about them */
};

/* The protocol a peer of ours must speak. */
static int
peer_kind(int kind)
{
	switch (kind) {
	case SP_REQ:
		return SP_REP;
	case SP_REP:
		return SP_REQ;
	case SP_PUB:
		return SP_SUB;
	case SP_SUB:
		return SP_PUB;
	default:
		return SP_PUSH;
	}
}

static struct sps tab[SPS_MAX];

static int send_frame(struct sps *s, struct conn *c, const unsigned char *head,
    const unsigned char *trace, size_t tlen, const void *buf, size_t len);

static struct sps *
get(int h)
{
	if (h < 0 || h >= SPS_MAX || !tab[h].used)
		return NULL;
	return &tab[h];
}

static int
slot(void)
{
	int h;

	for (h = 0; h < SPS_MAX; h++)
		if (!tab[h].used) {
			memset(&tab[h], 0, sizeof(tab[h]));
			tab[h].ep = tab[h].ev = tab[h].lfd = tab[h].tfd = -1;
			tab[h].conn_max = SPS_CONN_MAX;
			tab[h].deadline_ms = SPS_DEADLINE_MS;
			return h;
		}
	errno = EMFILE;
	return -1;
}

static int
watch(struct sps *s, int op, int fd, uint32_t events, uint32_t id)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = events;
	e.data.u32 = id;
	return epoll_ctl(s->ep, op, fd, &e);
}

static int
open_common(struct sps *s, size_t rcvmax)
{
	s->rcvmax = rcvmax;
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    watch(s, EPOLL_CTL_ADD, s->ev, EPOLLIN, ID_EVENT) < 0)
		return -1;
	s->used = 1;
	return 0;
}

static void
free_msg(struct msg *m)
{
	if (m->body != NULL)
		nn_freemsg(m->body);
	free(m);
}

/* Readiness follows the queue: the eventfd is readable while messages wait. */
static void
sync_event(struct sps *s)
{
	uint64_t v = 1;

	if (s->nq > 0 && !s->evset) {
		if (write(s->ev, &v, sizeof(v)) == sizeof(v))
			s->evset = 1;
	} else if (s->nq == 0 && s->evset) {
		if (read(s->ev, &v, sizeof(v)) == sizeof(v) || errno == EAGAIN)
			s->evset = 0;
	}
}

/*
 * A descriptor held for accept_all to give up when there are no more: a
 * connection left waiting in the backlog keeps the listener ready, and a
 * level-triggered loop would wake for it for ever (memberd at 100% of a
 * core, its peers refused as well: wire.c rests its own listener instead).
 */
static int spare = -1;

static void
spare_take(void)
{
	if (spare < 0)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
conn_close(struct sps *s, int i)
{
	struct conn *c = &s->c[i];

	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->in != NULL)
		nn_freemsg(c->in);
	free(c->out);
	s->c[i] = s->c[--s->nc];
	if (s->kind == SP_REQ || s->kind == SP_SUB)
		s->resets++;
}

static int
conn_find(struct sps *s, uint32_t id)
{
	int i;

	for (i = 0; i < s->nc; i++)
		if (s->c[i].id == id)
			return i;
	return -1;
}

/* Queues bytes for the peer; -1 when it has too many waiting already. */
static int
conn_queue(struct conn *c, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (c->outlen - c->outoff + n > SPS_OUT_MAX)
		return -1;
	if (c->outoff > 0 && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + n > c->outcap) {
		if (c->outoff > 0) {
			memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
			c->outlen -= c->outoff;
			c->outoff = 0;
		}
		while (c->outlen + n > c->outcap)
			c->outcap = c->outcap ? 2 * c->outcap : 4096;
		c->out = xreallocarray(c->out, c->outcap, 1);
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	return 0;
}

/* Writes what is queued; -1 when the peer is gone. */
static int
conn_flush(struct sps *s, struct conn *c)
{
	ssize_t w;

	while (c->outoff < c->outlen) {
		w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			c->outoff += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && errno == EAGAIN)
			break;
		else
			return -1;
	}
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if ((c->outlen > 0) != c->pollout) {
		c->pollout = c->outlen > 0;
		watch(s, EPOLL_CTL_MOD, c->fd, EPOLLIN | (c->pollout ? EPOLLOUT : 0u), c->id);
	}
	return 0;
}

/*
 * Deadlines and the cap of a bound socket's connections (why: a local peer
 * that connected and sent nothing, or half a frame, kept its descriptor and
 * its buffer for ever, and a socket took any number of them):
 *
 * 1. An accepted connection must send its 8-byte header within deadline_ms
 *    of being accepted, and a frame, once begun, must be whole within
 *    deadline_ms of the read that began it (each frame its own: a peer
 *    streaming whole frames, every read ending inside the next one, owes
 *    no more than that next one; until 2026-12-08 the first due stood
 *    until a read ended between two frames, and such a stream was closed). Between frames a connection may
 *    idle for ever: clients keep theirs open (workers, akc-httpd, akc-top,
 *    leaderd), and the cap bounds how many do.
 * 2. Past conn_max connections at once, a new one is accepted and closed at
 *    once (refused): left in the backlog it would keep the listener ready
 *    and the loop spinning, and its peer's connect(2) hanging.
 * 3. Both are counted (timed_out, refused; and in dropped, which counts
 *    everything closed) and said in one log line per socket at most every
 *    SPS_SAY_MS.
 * 4. A timerfd in the socket's epoll set, armed for the earliest due, makes
 *    the socket's fd readable then: the daemon's loop serves it as it serves
 *    a message, with no timer of its own. A due that passed without a frame
 *    begun is not cleared from the timer: it fires once for nothing. The
 *    usual request costs nothing: its frame is whole in the read that began
 *    it, so no due is set.
 *
 * 5. A due that passed while we did not serve the socket is our delay, not
 *    the peer's: a sweep that runs SPS_LATE_MS (or half the deadline) or
 *    more after a due (this process stopped, its loop blocked, or the whole
 *    node stopped and continued) gives that connection a new due instead
 *    of closing it, since a peer writing a frame larger than the socket's
 *    buffer was blocked by us and has not run since we read again. Until
 *    2026-12-08 the late sweep read what waited and closed it inside the
 *    frame. Likewise a frame not read because our own queue is full
 *    (SPS_QUEUE_MAX): its due moves on.
 *
 * Weak points: a process whose every sweep is late (a loop that takes a
 * second or more per turn) closes nobody at its deadline: only the cap
 * bounds its connections then. A peer that sends whole frames, however
 * slowly, is never closed: only the cap bounds it.
 */
#define SPS_LATE_MS	1000
static void
arm(struct sps *s, msec_t due)
{
	struct itimerspec its;

	if (s->tfd < 0 || (s->armed != 0 && s->armed <= due))
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = due / 1000;
	its.it_value.tv_nsec = (long)(due % 1000) * 1000000L;
	if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		s->armed = due;
}

/* One line about the connections timed out and refused since the last, at most every SPS_SAY_MS. */
static void
say(struct sps *s, msec_t now)
{
	uint64_t t = s->timed_out - s->said_timed_out, r = s->refused - s->said_refused;

	if (t == 0 && r == 0)
		return;
	if (s->said_at != 0 && now - s->said_at < SPS_SAY_MS) {
		arm(s, s->said_at + SPS_SAY_MS);	/* said when it is time */
		return;
	}
	if (r > 0)
		log_warnx("refused %llu connection%s to '%s': %d open, the most it takes",
		    (unsigned long long)r, r == 1 ? "" : "s", s->path, s->conn_max);
	if (t > 0)
		log_warnx("closed %llu connection%s to '%s' that sent no whole header or frame "
		    "within %d ms", (unsigned long long)t, t == 1 ? "" : "s", s->path, s->deadline_ms);
	s->said_timed_out = s->timed_out;
	s->said_refused = s->refused;
	s->said_at = now;
}

/* After a read: an accepted connection owes a due while its header or a frame is not whole. */
static void
conn_due(struct sps *s, struct conn *c)
{
	if (!c->accepted || s->deadline_ms <= 0)
		return;
	if (c->peerhave == sizeof(c->peer) && c->headhave == 0)
		c->due = 0;
	else if (c->due == 0) {
		c->due = clock_mono_ms() + s->deadline_ms;
		arm(s, c->due);
	}
}

enum { READ_BAD = -2, READ_EOF = -1 };

static int conn_read(struct sps *s, struct conn *c);

/* Closes connection i after conn_read said r (< 0): a broken rule, or a message cut off by the close, is counted. */
static void
conn_ended(struct sps *s, int i, int r)
{
	if (r == READ_BAD || s->c[i].in != NULL)
		s->dropped++;
	conn_close(s, i);
}

/* The timer fired: connections past their due are read a last time, then closed and counted. */
static void
sweep(struct sps *s)
{
	msec_t now = clock_mono_ms(), next = 0;
	msec_t late = s->deadline_ms / 2 > SPS_LATE_MS ? s->deadline_ms / 2 : SPS_LATE_MS;
	int i, r;

	s->armed = 0;
	for (i = s->nc - 1; i >= 0; i--) {
		struct conn *c = &s->c[i];

		if (c->due == 0)
			continue;
		if (now >= c->due && s->nq < SPS_QUEUE_MAX) {
			/* what it sent meanwhile first (the node may have been stopped whole) */
			if ((r = conn_read(s, c)) < 0) {
				conn_ended(s, i, r);
				continue;
			}
			conn_due(s, c);	/* a frame whole, another begun: its own due */
			if (c->due == 0)
				continue;
		}
		if (now >= c->due) {
			if (s->nq >= SPS_QUEUE_MAX || now - c->due >= late) {
				/* we did not read it, or did not run: no fault of its own (5.) */
				c->due = now + s->deadline_ms;
			} else {
				s->timed_out++;
				s->dropped++;
				conn_close(s, i);
				continue;
			}
		}
		if (next == 0 || c->due < next)
			next = c->due;
	}
	if (next != 0)
		arm(s, next);
	say(s, now);
}

static int
conn_add(struct sps *s, int fd, int accepted)
{
	const unsigned char mine[8] = { 0, 'S', 'P', 0, 0, (unsigned char)s->kind, 0, 0 };
	struct conn *c;

	if (s->nc == s->capc) {
		s->capc = s->capc ? 2 * s->capc : 8;
		s->c = xreallocarray(s->c, (size_t)s->capc, sizeof(*s->c));
	}
	c = &s->c[s->nc];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->accepted = accepted;
	do
		c->id = ++s->next_id & 0x7fffffff;
	while (c->id == 0 || conn_find(s, c->id) >= 0);
	if (watch(s, EPOLL_CTL_ADD, fd, EPOLLIN, c->id) < 0) {
		close(fd);
		return -1;
	}
	s->nc++;
	(void)conn_queue(c, mine, sizeof(mine));
	if (conn_flush(s, c) < 0) {
		conn_close(s, s->nc - 1);
		return -1;
	}
	conn_due(s, c);		/* its header is owed */
	return 0;
}

/* A whole message: split off its backtrace, queue it. */
static void
take(struct sps *s, struct conn *c)
{
	unsigned char *p = c->in;
	size_t n = c->inlen, k = 0;
	struct msg *m;

	c->in = NULL;
	if (s->kind == SP_SUB || s->kind == SP_PULL) {
		k = 0;		/* no backtrace: the payload is the message */
	} else if (s->rep) {
		/* words up to the one with its top bit set: the request id */
		while (k + 4 <= n && k + 8 <= SOCK_HDR_MAX && !(p[k] & 0x80))
			k += 4;
		if (k + 4 > n || !(p[k] & 0x80) || k + 8 > SOCK_HDR_MAX)
			goto drop;
		k += 4;
	} else {
		if (n < 4 || !(p[0] & 0x80))
			goto drop;
		k = 4;
	}
	m = xcalloc(1, sizeof(*m));
	if (s->rep) {
		m->hdr[0] = (unsigned char)(c->id >> 24);
		m->hdr[1] = (unsigned char)(c->id >> 16);
		m->hdr[2] = (unsigned char)(c->id >> 8);
		m->hdr[3] = (unsigned char)c->id;
		memcpy(m->hdr + 4, p, k);
		m->hdrlen = k + 4;
	} else {
		memcpy(m->hdr, p, k);
		m->hdrlen = k;
	}
	memmove(p, p + k, n - k);
	m->body = p;
	m->len = n - k;
	if (s->qt != NULL)
		s->qt->next = m;
	else
		s->qh = m;
	s->qt = m;
	s->nq++;
	return;
drop:
	nn_freemsg(p);
	s->dropped++;
}

/* Copies into dst[*have..want) what there is of it; 1 once it is whole. */
static int
fill(unsigned char *dst, size_t *have, size_t want, const unsigned char **p, size_t *n)
{
	size_t k = want - *have < *n ? want - *have : *n;

	memcpy(dst + *have, *p, k);
	*have += k;
	*p += k;
	*n -= k;
	return *have == want;
}

/* Takes in bytes from the peer; -1 when it must be closed. */
static int
conn_feed(struct sps *s, struct conn *c, const unsigned char *p, size_t n)
{
	uint64_t size;

	while (n > 0) {
		if (c->peerhave < sizeof(c->peer)) {
			if (fill(c->peer, &c->peerhave, sizeof(c->peer), &p, &n)) {
				if (memcmp(c->peer, "\0SP\0", 4) != 0 || c->peer[4] != 0 ||
				    c->peer[5] != peer_kind(s->kind))
					return -1;
				c->due = 0;	/* paid: a frame begun here owes its own (conn_due) */
			}
			continue;
		}
		if (s->kind == SP_PUB)
			return -1;	/* a subscriber sends nothing after its header */
		if (c->headhave < sizeof(c->head)) {
			if (!fill(c->head, &c->headhave, sizeof(c->head), &p, &n))
				continue;
			size = be64_get(c->head + 1);
			/* the backtrace is not counted against rcvmax, as nanomsg's */
			if (c->head[0] != SP_MSG_NORMAL || size > s->rcvmax + SOCK_HDR_MAX)
				return -1;
			c->inlen = (size_t)size;
			c->inhave = 0;
			/*
			 * The size is the peer's word: memory follows the bytes
			 * that came, not the size announced (512 connections
			 * each announcing rcvmax and sending nothing more held
			 * 512 x rcvmax). The buffer doubles as it fills.
			 */
			c->incap = c->inlen < SPS_IN_FIRST ? c->inlen : SPS_IN_FIRST;
			if ((c->in = nn_allocmsg(c->incap > 0 ? c->incap : 1, 0)) == NULL)
				return -1;
		}
		if (c->inhave == c->incap && c->incap < c->inlen) {
			size_t cap = c->incap <= c->inlen / 2 ? c->incap * 2 : c->inlen;
			void *m = nn_reallocmsg(c->in, cap);

			if (m == NULL)
				return -1;
			c->in = m;
			c->incap = cap;
		}
		fill(c->in, &c->inhave, c->incap, &p, &n);
		if (c->inhave == c->inlen) {
			take(s, c);
			c->headhave = 0;
			c->due = 0;	/* paid: the next frame, if begun, owes its own (1.) */
		}
	}
	return 0;
}

/* Reads what the peer sent (up to READ_MAX); < 0 when it must be closed. */
static int
conn_read(struct sps *s, struct conn *c)
{
	unsigned char buf[16384];
	size_t total = 0;
	ssize_t r;

	while (total < READ_MAX && s->nq < SPS_QUEUE_MAX) {
		r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0) {
			total += (size_t)r;
			if (conn_feed(s, c, buf, (size_t)r) < 0)
				return READ_BAD;
			if ((size_t)r < sizeof(buf))
				break;
		} else if (r == 0)
			return READ_EOF;
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN)
			break;
		else
			return READ_EOF;
	}
	return 0;
}

static void
accept_all(struct sps *s)
{
	int fd;

	for (;;) {
		if ((fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			if (s->conn_max > 0 && s->nc >= s->conn_max) {
				close(fd);	/* refused: its peer reads the end */
				s->refused++;
				s->dropped++;
				say(s, clock_mono_ms());
			} else if (conn_add(s, fd, 1) < 0)
				s->dropped++;
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EMFILE && errno != ENFILE)
			return;
		/*
		 * Without a spare (none could be opened since), the connection
		 * stays in the backlog and the listener ready: the loop comes
		 * back at once, spinning until a descriptor is free. Resting
		 * the listener would need a timer to wake it, which this file
		 * does not have; one that waited for a connection of its own to
		 * close could wait for ever.
		 */
		spare_take();
		if (spare < 0)
			return;
		/* the spare makes room for one: taken and closed, counted */
		close(spare);
		spare = -1;
		fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			s->dropped++;
		}
		spare_take();
		if (fd < 0)
			return;
	}
}

/* Everything the epoll set says is ready, without waiting. */
static void
pump(struct sps *s)
{
	struct epoll_event ev[32];
	int n, i, k, r, timer = 0;
	uint64_t v;

	if ((n = epoll_wait(s->ep, ev, 32, 0)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		uint32_t id = ev[i].data.u32;

		if (id == ID_EVENT)
			continue;
		if (id == ID_TIMER) {
			(void)!read(s->tfd, &v, sizeof(v));
			timer = 1;	/* swept last: what is ready is read first */
			continue;
		}
		if (id == ID_LISTEN) {
			accept_all(s);
			continue;
		}
		if ((k = conn_find(s, id)) < 0)
			continue;
		if ((ev[i].events & EPOLLOUT) && conn_flush(s, &s->c[k]) < 0) {
			conn_close(s, k);
			continue;
		}
		if ((ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && s->nq < SPS_QUEUE_MAX &&
		    (r = conn_read(s, &s->c[k])) < 0) {
			conn_ended(s, k, r);
		} else
			conn_due(s, &s->c[k]);
	}
	if (timer)
		sweep(s);
}

/* Binds path, taking it over from a dead owner (nothing accepts there). */
static int
bind_path(struct sps *s, const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	strcpy(s->path, path);
	if ((s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno != EADDRINUSE)
			return -1;
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			errno = EADDRINUSE;	/* a live owner */
			return -1;
		}
		close(probe);
		if (unlink(path) < 0 || bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return -1;
	}
	if (listen(s->lfd, 128) < 0 || watch(s, EPOLL_CTL_ADD, s->lfd, EPOLLIN, ID_LISTEN) < 0)
		return -1;
	if ((s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    watch(s, EPOLL_CTL_ADD, s->tfd, EPOLLIN, ID_TIMER) < 0)
		return -1;
	if (stat(path, &st) == 0) {
		s->ldev = st.st_dev;
		s->lino = st.st_ino;
	}
	spare_take();
	return 0;
}

static void
release(struct sps *s)
{
	struct msg *m;

	while (s->nc > 0)
		conn_close(s, s->nc - 1);
	free(s->c);
	while ((m = s->qh) != NULL) {
		s->qh = m->next;
		free_msg(m);
	}
	/*
	 * The file goes with the listener, as nanomsg's ipc:// did (tools then
	 * say the daemon is not running, not that its socket is stale): while
	 * lfd still listens nobody else can have bound the path, but a file of
	 * another inode is someone else's (ours was removed and bound again).
	 */
	if (s->lfd >= 0) {
		struct stat st;

		if (s->lino != 0 && stat(s->path, &st) == 0 && st.st_dev == s->ldev &&
		    st.st_ino == s->lino)
			(void)unlink(s->path);
		close(s->lfd);
	}
	if (s->ev >= 0)
		close(s->ev);
	if (s->tfd >= 0)
		close(s->tfd);
	if (s->ep >= 0)
		close(s->ep);
	memset(s, 0, sizeof(*s));
}

static int
bind_kind(int kind, const char *path, size_t rcvmax)
{
	int h = slot(), e;

	if (h < 0)
		return -1;
	tab[h].kind = kind;
	tab[h].rep = kind == SP_REP;
	if (open_common(&tab[h], rcvmax) < 0 || bind_path(&tab[h], path) < 0) {
		e = errno;
		release(&tab[h]);
		errno = e;
		return -1;
	}
	return h;
}

int
sps_bind_rep(const char *path, size_t rcvmax)
{
	return bind_kind(SP_REP, path, rcvmax);
}

int
sps_bind_pub(const char *path)
{
	return bind_kind(SP_PUB, path, 0);
}

int
sps_bind_pull(const char *path, size_t rcvmax)
{
	return bind_kind(SP_PULL, path, rcvmax);
}

static int
connect_kind(int kind, const char *path, size_t rcvmax, int reconnect_max_ms)
{
	int h = slot(), e;

	if (h < 0)
		return -1;
	if (strlen(path) >= sizeof(tab[h].path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	tab[h].kind = kind;
	if (open_common(&tab[h], rcvmax) < 0) {
		e = errno;
		release(&tab[h]);
		errno = e;
		return -1;
	}
	strcpy(tab[h].path, path);
	tab[h].ivl = 100;
	tab[h].ivl_max = reconnect_max_ms > 100 ? reconnect_max_ms : 100;
	return h;
}

int
sps_connect_req(const char *path, size_t rcvmax, int reconnect_max_ms)
{
	return connect_kind(SP_REQ, path, rcvmax, reconnect_max_ms);
}

/* A connected unix socket to path, or -1. */
static int
dial(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A REQ's connection: connects when there is none, to the preferred path
 * if it has a listener (no pause for it: a failed connect to a unix socket
 * costs a system call), else to its own once the pause is over.
 */
static struct conn *
req_conn(struct sps *s)
{
	msec_t now;
	int fd = -1;

	if (s->nc > 0)
		return &s->c[0];
	if (s->prefer[0] != '\0' && (fd = dial(s->prefer)) >= 0)
		s->on_prefer = 1;
	else {
		now = clock_mono_ms();
		if (now < s->retry_at)
			return NULL;
		if ((fd = dial(s->path)) < 0) {
			s->retry_at = now + s->ivl;
			s->ivl = s->ivl * 2 < s->ivl_max ? s->ivl * 2 : s->ivl_max;
			return NULL;
		}
		s->ivl = 100;
		s->on_prefer = 0;
	}
	if (conn_add(s, fd, 0) < 0)
		return NULL;
	s->connects++;
	return &s->c[0];
}

int
sps_connect_sub(const char *path, size_t rcvmax, int reconnect_max_ms)
{
	int h = connect_kind(SP_SUB, path, rcvmax, reconnect_max_ms);

	if (h >= 0)
		(void)req_conn(&tab[h]);	/* at once when the publisher is there */
	return h;
}

int
sps_sub_tick(int h, msec_t now)
{
	struct sps *s = get(h);

	if (s == NULL || s->kind != SP_SUB)
		return -1;
	if (s->nc == 0 && now >= s->retry_at)
		(void)req_conn(s);
	return s->nc > 0;
}

msec_t
sps_retry_at(int h)
{
	struct sps *s = get(h);

	return s != NULL && s->nc == 0 ? s->retry_at : 0;
}

int
sps_connected(int h)
{
	struct sps *s = get(h);

	return s != NULL && (s->kind == SP_REQ || s->kind == SP_SUB) && s->nc > 0;
}

uint64_t
sps_connects(int h)
{
	struct sps *s = get(h);

	return s != NULL ? s->connects : 0;
}

void
sps_service(int h)
{
	struct sps *s = get(h);

	if (s != NULL)
		pump(s);
}

int
sps_publish(int h, const void *buf, size_t len)
{
	struct sps *s = get(h);
	unsigned char head[9];
	int k;

	if (s == NULL || s->kind != SP_PUB) {
		errno = EINVAL;
		return -1;
	}
	head[0] = SP_MSG_NORMAL;
	be64_put(head + 1, (uint64_t)len);
	/* backwards: a closed connection takes the last one's place */
	for (k = s->nc - 1; k >= 0; k--) {
		struct conn *c = &s->c[k];

		/*
		 * A subscriber that does not read misses messages, as nanomsg's
		 * PUB does, once SPS_PUB_BACKLOG bytes wait for it; until then it
		 * takes any message, however large (a relayed journal batch is
		 * up to 512 KiB), as nanomsg's pipe with nothing in flight does:
		 * its memory is the backlog plus one message.
		 */
		if (c->outlen - c->outoff >= SPS_PUB_BACKLOG) {
			s->dropped++;
			continue;
		}
		if (send_frame(s, c, head, NULL, 0, buf, len) < 0) {
			conn_close(s, k);
			s->dropped++;
		}
	}
	return 0;
}

int
sps_req_prefer(int h, const char *path)
{
	struct sps *s = get(h);

	if (s == NULL || s->kind != SP_REQ || strlen(path) >= sizeof(s->prefer)) {
		errno = EINVAL;
		return -1;
	}
	strcpy(s->prefer, path);
	return 0;
}

int
sps_req_on_prefer(int h)
{
	struct sps *s = get(h);

	return s != NULL && s->nc > 0 && s->on_prefer;
}

int
sps_fd(int h)
{
	struct sps *s = get(h);

	return s != NULL ? s->ep : -1;
}

ssize_t
sps_recv(int h, void **buf, unsigned char *hdr, size_t *hdrlen)
{
	struct sps *s = get(h);
	struct msg *m;
	ssize_t n;

	if (s == NULL)
		return -1;
	if (s->qh == NULL)
		pump(s);
	if ((m = s->qh) == NULL || m->hdrlen > *hdrlen) {
		if (m != NULL) {	/* no room for its header: nobody to answer */
			s->qh = m->next;
			if (s->qh == NULL)
				s->qt = NULL;
			s->nq--;
			free_msg(m);
			s->dropped++;
		}
		sync_event(s);
		return -1;
	}
	s->qh = m->next;
	if (s->qh == NULL)
		s->qt = NULL;
	s->nq--;
	memcpy(hdr, m->hdr, m->hdrlen);
	*hdrlen = m->hdrlen;
	*buf = m->body;
	n = (ssize_t)m->len;
	m->body = NULL;
	free_msg(m);
	sync_event(s);
	return n;
}

/*
 * One message: written at once when nothing waits before it (the usual
 * case, one system call), the rest queued; -1 when the peer is gone or has
 * too much waiting.
 */
static int
send_frame(struct sps *s, struct conn *c, const unsigned char *head, const unsigned char *trace,
    size_t tlen, const void *buf, size_t len)
{
	struct iovec iov[3] = {
		{ (void *)(uintptr_t)head, 9 },
		{ (void *)(uintptr_t)trace, tlen },
		{ (void *)(uintptr_t)buf, len },
	};
	struct msghdr mh;
	size_t done = 0, total = 9 + tlen + len;
	ssize_t w;
	int i;

	if (c->outlen == c->outoff) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = 3;
		do
			w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN)
			return -1;
		done = w > 0 ? (size_t)w : 0;
		if (done == total)
			return 0;
	}
	for (i = 0; i < 3; i++) {
		size_t skip = done < iov[i].iov_len ? done : iov[i].iov_len;

		done -= skip;
		if (conn_queue(c, (unsigned char *)iov[i].iov_base + skip, iov[i].iov_len - skip) < 0)
			return -1;
	}
	return conn_flush(s, c);
}

int
sps_send(int h, const unsigned char *hdr, size_t hdrlen, const void *buf, size_t len)
{
	struct sps *s = get(h);
	unsigned char head[9];
	struct conn *c;
	const unsigned char *trace = hdr;
	size_t tlen = hdrlen;
	int k;

	if (s == NULL)
		return -1;
	if (s->kind != SP_REQ && s->kind != SP_REP) {
		errno = EINVAL;
		return -1;
	}
	if (s->rep) {
		uint32_t id;

		if (hdrlen < 8)
			return -1;
		id = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
		if ((k = conn_find(s, id)) < 0)
			return 0;	/* the peer is gone: so is its request */
		c = &s->c[k];
		trace = hdr + 4;
		tlen = hdrlen - 4;
	} else {
		if (hdrlen != 4) {
			errno = EINVAL;
			return -1;
		}
		if ((c = req_conn(s)) == NULL) {
			errno = EAGAIN;	/* as nanomsg's: no peer yet, try again */
			return -1;
		}
		k = 0;
	}
	head[0] = SP_MSG_NORMAL;
	be64_put(head + 1, (uint64_t)(tlen + len));
	if (send_frame(s, c, head, trace, tlen, buf, len) < 0) {
		conn_close(s, k);
		s->dropped++;
		errno = EAGAIN;
		return s->rep ? 0 : -1;
	}
	return 0;
}

void
sps_close(int h)
{
	struct sps *s = get(h);

	if (s != NULL)
		release(s);
}

void
sps_term(void)
{
	int h;

	for (h = 0; h < SPS_MAX; h++)
		if (tab[h].used)
			release(&tab[h]);
}

uint64_t
sps_resets(int h)
{
	struct sps *s = get(h);

	return s != NULL ? s->resets : 0;
}

uint64_t
sps_dropped(int h)
{
	struct sps *s = get(h);

	return s != NULL ? s->dropped : 0;
}

int
sps_limits(int h, int conn_max, int deadline_ms)
{
	struct sps *s = get(h);
	int i;

	if (s == NULL || s->lfd < 0 || conn_max < 0 || deadline_ms < 0) {
		errno = EINVAL;
		return -1;
	}
	s->conn_max = conn_max;
	s->deadline_ms = deadline_ms;
	for (i = 0; i < s->nc; i++) {
		s->c[i].due = 0;
		conn_due(s, &s->c[i]);
	}
	return 0;
}

void
sps_conn_stats(int h, struct sps_conn_stats *st)
{
	struct sps *s = get(h);

	memset(st, 0, sizeof(*st));
	if (s == NULL)
		return;
	st->open = s->nc;
	st->timed_out = s->timed_out;
	st->refused = s->refused;
}
