/* wire.c: length-prefixed frames over non-blocking TCP, in the caller's lib/loop (memberd, master). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "wire.h"
#include "xmalloc.h"

#define QUEUE_MAX	8	/* frames waiting for a connection, per peer */
#define QUEUE_BYTES	(64 * 1024)	/* and at most this many bytes */
#define QUEUE_TTL	2000	/* ms a queued frame stays useful */
#define CONNECT_TIMEOUT	2000	/* ms for a connection to open */
#define STALL_TIMEOUT	4000	/* ms a queue may go without progress */
#define RETRY_AFTER	100	/* ms before a failed connection is tried again, */
#define RETRY_MAX	1000	/* doubling up to this while it keeps failing */
#define OUT_IDLE	30000	/* ms without sending before a connection is closed */
#define IN_IDLE		120000	/* ms without a frame before an inbound one is closed */
#define PREAUTH_TIME	5000	/* ms an inbound connection has to authenticate */
#define READ_BUDGET	(256 * 1024)	/* bytes read from one connection a wake-up */
#define BUF_KEEP	(16 * 1024)	/* receive buffer kept between frames */
#define ACCEPT_BATCH	64
#define EMFILE_PAUSE	250	/* ms the listener rests when descriptors run out */
#define SCAN_EVERY	100	/* ms between wire_expire's passes over every connection */

struct frame {
	unsigned char *data;	/* 4-byte length + body */
	size_t len;
	msec_t at;
	int hello;		/* the connection's first frame: it never goes unsent */
	uint64_t bound;		/* a short form for the connection bound to this (0: any) */
};

struct out {
	char address[CONF_ADDR_MAX];
	int fd;			/* -1: closed, retry after retry_at */
	int connecting;
	int fails;		/* connections in a row that failed */
	msec_t opened, used, progress, retry_at;
	struct frame q[QUEUE_MAX];
	int qn;
	size_t qbytes, off;	/* bytes of q[0] already written */
	uint64_t bound;		/* what its hello bound the connection to (wire_set_bound; 0: none) */
	/*
	 * Two-way connections (wire_read_back, wire_back). via: a peer's
	 * connection to us that we write on instead of opening one of our own
	 * (fd is its fd then); rd: what the peer writes back on our own one.
	 */
	struct in *via, *rd;
	short watched;		/* the events lib/loop has for fd (0: none) */
	int dirty;		/* on the list of those with frames queued while corked */
	int fresh;		/* via: nothing queued on it yet */
	int provisional;	/* via: not proved; only answers to its own frames go on it */
	uint64_t hash;		/* of address: its slot in the wire's table */
	struct wire *w;
};

struct in {
	int fd;
	char from[INET6_ADDRSTRLEN];
	int trusted;
	uint64_t tag;		/* the receiver's note on the connection (wire_tag) */
	int back;		/* its opener reads what we write on it (wire_back) */
	int proved;		/* a fresh frame bound to us came on it (wire_back_fresh) */
	char addr[CONF_ADDR_MAX];	/* back: the opener's address ("": not known yet) */
	uint64_t ahash;		/* of addr */
	struct out *wr;		/* back: the connection slot that writes on it now */
	struct out *owner;	/* not inbound: the reader of owner's own connection */
	int dead;		/* a reader closed while its frame was being handled */
	msec_t opened, last;
	unsigned char *buf;
	size_t cap, start, end;
	struct wire *w;
};

struct wire {
	struct loop *loop;
	wire_frame_cb cb;
	wire_hello_cb hello;
	wire_hello_to_cb hello_to;
	void *arg;
	size_t frame_max;
	int lfd, lwatched;
	msec_t lpaused_until, emfile_said;
	struct out **o;
	int no, max_out;
	/*
	 * The outbound connections by address: every send looked its
	 * connection up by a strcmp against each of up to peer-sockets
	 * addresses, two lookups per message in memberd. Slots hold an index
	 * into o plus 1 (0: empty); rebuilt when one goes (they move in o).
	 */
	int *ht;
	size_t htmask;
	struct out **dirty;	/* queued to while corked: what wire_uncork writes */
	int ndirty;
	struct in **i;
	int ni, max_in;
	int corked;		/* wire_cork: sends wait for wire_uncork */
	int cork_reads;		/* wire_cork_reads: on_in corks what its frames send */
	int read_back;		/* wire_read_back: our own connections are read too */
	unsigned char *also;	/* wire_hello_also: a frame to follow the hello being made */
	size_t alsolen;
	struct out *opening;	/* the connection whose hello is being made */
	struct in *cur;		/* the connection whose frame is being handled */
	char self[CONF_ADDR_MAX];	/* the address we listen on (wire_listen; "": none) */
	/*
	 * wire_expire walks every connection at most every SCAN_EVERY ms, or
	 * sooner when a closed one with frames waiting is due a retry (no
	 * later than retry_min; -1: none): it ran on every loop turn, a pass
	 * over hundreds of connections per message handled.
	 */
	msec_t next_scan, retry_min;
	struct wire_stats st;
};

static void on_out(int fd, short ev, void *arg);
static void on_in(int fd, short ev, void *arg);
static void on_accept(int fd, short ev, void *arg);
static void in_read(int fd, struct in *c);
static void reader_free(struct wire *w, struct in *c);

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct wire *
wire_new(struct loop *l, int max_out, int max_in, size_t frame_max, wire_frame_cb cb,
    wire_hello_cb hello, void *arg)
{
	struct wire *w;
	struct rlimit rl;

	/* as many descriptors as we are allowed: the cap below is ours to set */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)(max_out + max_in + 64) > rl.rlim_cur) {
		int room = (int)rl.rlim_cur - 64 - max_out;

		max_in = room < 16 ? 16 : room;
		log_warnx("only %llu file descriptors (LimitNOFILE): at most %d inbound connections",
		    (unsigned long long)rl.rlim_cur, max_in);
	}
	w = xcalloc(1, sizeof(*w));
	w->o = xcalloc((size_t)max_out, sizeof(*w->o));
	w->dirty = xcalloc((size_t)max_out, sizeof(*w->dirty));
	for (w->htmask = 15; w->htmask + 1 < 2 * (size_t)max_out; w->htmask = 2 * w->htmask + 1)
		;
	w->ht = xcalloc(w->htmask + 1, sizeof(*w->ht));
	w->i = xcalloc((size_t)max_in, sizeof(*w->i));
	w->loop = l;
	w->cb = cb;
	w->hello = hello;
	w->arg = arg;
	w->frame_max = frame_max;
	w->max_out = max_out;
	w->max_in = max_in;
	w->lfd = -1;
	w->retry_min = -1;
	return w;
}

static uint64_t
addr_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static void
ht_put(struct wire *w, int k)
{
	size_t i = (size_t)w->o[k]->hash & w->htmask;

	while (w->ht[i] != 0)
		i = (i + 1) & w->htmask;
	w->ht[i] = k + 1;
}

static void
ht_rebuild(struct wire *w)
{
	int k;

	memset(w->ht, 0, (w->htmask + 1) * sizeof(*w->ht));
	for (k = 0; k < w->no; k++)
		ht_put(w, k);
}

/* The index in o of the connection to address, -1 if none. */
static int
find_out(const struct wire *w, const char *address)
{
	uint64_t h = addr_hash(address);
	size_t i;

	for (i = (size_t)h & w->htmask; w->ht[i] != 0; i = (i + 1) & w->htmask) {
		const struct out *o = w->o[w->ht[i] - 1];

		if (o->hash == h && strcmp(o->address, address) == 0)
			return w->ht[i] - 1;
	}
	return -1;
}

/* o waits for a retry at o->retry_at: wire_expire must not sleep past it. */
static void
retry_note(struct wire *w, const struct out *o)
{
	if (w->retry_min < 0 || o->retry_at < w->retry_min)
		w->retry_min = o->retry_at;
}

void
wire_hello_to(struct wire *w, wire_hello_to_cb cb)
{
	w->hello_to = cb;
}

/* Splits tcp://HOST:PORT; IPv6 hosts may be bracketed. -1 if malformed. */
static int
split_address(const char *address, char *host, size_t hlen, char *port, size_t plen)
{
	const char *h, *colon;
	size_t n;

	if (strncmp(address, "tcp://", 6) != 0 || (colon = strrchr(address + 6, ':')) == NULL)
		return -1;
	h = address + 6;
	n = (size_t)(colon - h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= hlen || strlen(colon + 1) >= plen || colon[1] == '\0')
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static struct addrinfo *
resolve(const char *address, int passive)
{
	char host[CONF_ADDR_MAX], port[16];
	struct addrinfo hints, *res = NULL;
	int e;

	if (split_address(address, host, sizeof(host), port, sizeof(port)) < 0) {
		log_warnx("bad address '%s': expected tcp://HOST:PORT", address);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	e = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res);
	if (e != 0) {
		log_warnx("cannot resolve '%s': %s", address, gai_strerror(e));
		return NULL;
	}
	return res;
}

int
wire_listen(struct wire *w, const char *address)
{
	struct addrinfo *res = resolve(address, 1), *ai;
	int fd = -1, one = 1;

	if (res == NULL)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_warn("cannot listen on '%s'", address);
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	w->lfd = fd;
	loop_watch(w->loop, fd, POLLIN, on_accept, w);
	w->lwatched = 1;
	/* as peers name it (a port the kernel picked: that port) */
	if (strlen(address) > 2 && strcmp(address + strlen(address) - 2, ":0") == 0)
		snprintf(w->self, sizeof(w->self), "%.*s:%d", (int)(strlen(address) - 2), address,
		    wire_port(w));
	else
		snprintf(w->self, sizeof(w->self), "%s", address);
	return 0;
}

/* Outbound. */

static void
drop_queue(struct out *o)
{
	int k;

	for (k = 0; k < o->qn; k++) {
		if (!o->q[k].hello)
			o->w->st.unsent++;
		free(o->q[k].data);
	}
	o->qn = 0;
	o->qbytes = 0;
	o->off = 0;
}

static void drop_at(struct out *o, int k);

/* Gives up queued frame k unwritten: counted (unsent). */
static void
lose_at(struct out *o, int k)
{
	o->w->st.unsent++;
	drop_at(o, k);
}

/*
 * Closes o's socket; o stays as a slot that is tried again after a pause
 * that doubles while connections keep failing. Its frames wait (they
 * expire as queued frames do): a peer that is starting, or coming back
 * after a partition, gets them once it answers. A partly written frame
 * goes again whole on the next connection; the hello goes (the next
 * connection opens with a fresh one).
 */
static void
out_close(struct wire *w, struct out *o, msec_t now)
{
	int delay = RETRY_AFTER << (o->fails < 4 ? o->fails : 4);

	if (o->via != NULL) {
		/* a peer's connection: given back to its reader, never closed here */
		struct in *c = o->via;

		c->wr = NULL;
		o->via = NULL;
		o->provisional = 0;
		/*
		 * A frame of ours cut in the middle on it (the slot taken for
		 * another peer, o->off > 0): its opener would read our next
		 * frame there as the rest of this one. Not written on again.
		 */
		if (o->off > 0)
			c->back = 0;
		loop_watch(w->loop, c->fd, POLLIN, on_in, c);
		delay = 0;
		o->fails = -1;
	} else if (o->fd >= 0) {
		loop_unwatch(w->loop, o->fd);
		close(o->fd);
		w->st.out--;
	}
	if (o->rd != NULL) {
		if (w->cur == o->rd)
			o->rd->dead = 1;	/* in_read frees it once its frame is handled */
		else
			reader_free(w, o->rd);
		o->rd = NULL;
	}
	o->fd = -1;
	o->watched = 0;
	o->connecting = 0;
	o->bound = 0;
	o->fails++;
	o->retry_at = now + (delay > RETRY_MAX ? RETRY_MAX : delay);
	retry_note(w, o);
	o->off = 0;
	while (o->qn > 0 && o->q[0].hello)
		drop_at(o, 0);
}

static void
out_free(struct wire *w, int k)
{
	struct out *o = w->o[k];

	out_close(w, o, 0);
	drop_queue(o);
	if (o->dirty) {
		int j;

		for (j = 0; j < w->ndirty; j++)
			if (w->dirty[j] == o) {
				w->dirty[j] = w->dirty[--w->ndirty];
				break;
			}
	}
	free(o);
	w->o[k] = w->o[--w->no];
	ht_rebuild(w);
}

/* How many frames at the front of the queue must stay: one partly written, or the hello. */
static int
kept(const struct out *o)
{
	return o->qn > 0 && (o->off > 0 || o->q[0].hello);
}

/* Queues a copy of frame, its length in front. */
static void
enqueue(struct out *o, const void *frame, size_t len, msec_t now)
{
	struct frame *f = &o->q[o->qn];

	f->data = xmalloc(len + 4);
	f->data[0] = (unsigned char)(len >> 24);
	f->data[1] = (unsigned char)(len >> 16);
	f->data[2] = (unsigned char)(len >> 8);
	f->data[3] = (unsigned char)len;
	memcpy(f->data + 4, frame, len);
	f->len = len + 4;
	f->at = now;
	f->hello = 0;
	f->bound = 0;
	if (o->qn == 0)
		o->progress = now;
	o->qn++;
	o->qbytes += f->len;
}

/* Moves queued frame k (the last queued) to position at. */
static void
queue_move(struct out *o, int at)
{
	struct frame f = o->q[o->qn - 1];

	memmove(o->q + at + 1, o->q + at, (size_t)(o->qn - 1 - at) * sizeof(*o->q));
	o->q[at] = f;
}

/*
 * Puts the connection's hello (and what the callback asked to follow it)
 * first in o's queue: what opens each of our connections, and each of a
 * peer's that we start writing on.
 */
static void
out_hello(struct wire *w, struct out *o, msec_t now)
{
	unsigned char *h;
	size_t len;
	int k;

	if (w->hello == NULL && w->hello_to == NULL)
		return;
	o->bound = 0;
	w->opening = o;
	len = w->hello_to != NULL ? w->hello_to(w->arg, o->address, &h) : w->hello(w->arg, &h);
	w->opening = NULL;
	/* what the peer writes back comes from the uid our hello bound the connection to */
	if (o->rd != NULL)
		o->rd->tag = o->bound;
	/* short forms queued for another binding (an earlier connection's) cannot go on this one */
	for (k = 0; k < o->qn; )
		if (o->q[k].bound != 0 && o->q[k].bound != o->bound)
			lose_at(o, k);
		else
			k++;
	while (o->qn > QUEUE_MAX - 2)
		lose_at(o, o->qn - 1);
	enqueue(o, h, len, now);
	o->q[o->qn - 1].hello = 1;
	queue_move(o, 0);
	free(h);
	if (w->also != NULL) {
		enqueue(o, w->also, w->alsolen, now);
		o->q[o->qn - 1].hello = 1;
		queue_move(o, 1);
		free(w->also);
		w->also = NULL;
	}
}

static int
out_open(struct wire *w, struct out *o, msec_t now)
{
	struct addrinfo *res = resolve(o->address, 0), *ai;
	int fd = -1, one = 1;
	unsigned int user_timeout = STALL_TIMEOUT;

	if (res == NULL) {
		o->retry_at = now + 1000;
		retry_note(w, o);
		return -1;
	}
	w->st.connects++;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* unacknowledged data this long ends the connection: no long TCP back-off */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
		    sizeof(user_timeout));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		w->st.connect_failed++;
		o->fails++;
		o->retry_at = now + RETRY_MAX;
		retry_note(w, o);
		return -1;
	}
	o->fd = fd;
	o->connecting = 1;
	o->opened = o->progress = now;
	w->st.out++;
	loop_watch(w->loop, fd, POLLOUT, on_out, o);
	o->watched = POLLOUT;
	if (w->read_back) {
		struct in *c = xcalloc(1, sizeof(*c));

		c->fd = fd;
		c->w = w;
		c->owner = o;
		c->opened = c->last = now;
		snprintf(c->from, sizeof(c->from), "%s", "peer");
		o->rd = c;
	}
	out_hello(w, o, now);
	return 0;
}

static void out_flush(struct wire *, struct out *, msec_t);

/*
 * What o's open connection is watched for: room to write while frames
 * wait, and reading: what the peer writes back (rd, or a peer's connection
 * we write on), else readable means closed. Told only when it changes: an
 * epoll_ctl per send was a third of memberd's system calls.
 */
static void
out_watch(struct wire *w, struct out *o)
{
	short ev = o->qn > 0 ? POLLOUT : POLLIN;

	if (o->via != NULL || o->rd != NULL)
		ev |= POLLIN;
	if (o->watched == ev)
		return;
	o->watched = ev;
	if (o->via != NULL)
		loop_watch(w->loop, o->fd, ev, on_in, o->via);
	else
		loop_watch(w->loop, o->fd, ev, on_out, o);
}

/*
 * A peer's connection to address whose opener reads what we write on it
 * (wire_back), taken for o when we have no connection of our own there:
 * one connection carries both ways, instead of each side opening one.
 * Returns 1 if o now writes on one.
 */
static int
out_borrow(struct wire *w, struct out *o, msec_t now)
{
	int k;
	struct in *c = NULL;

	for (k = 0; k < w->ni; k++) {
		c = w->i[k];
		/*
		 * Only one that carried a fresh frame bound to us: a hello
		 * ("rb") names no receiver, so one sent to another member,
		 * or by an earlier incarnation, replays (it passes the
		 * counter's window there) and would take what we send to
		 * that address, the join's answers included.
		 */
		if (c->back && c->proved && c->wr == NULL && c->ahash == o->hash &&
		    strcmp(c->addr, o->address) == 0)
			break;
	}
	/*
	 * Else the connection whose frame is being handled, for the answers
	 * to it (to init-join and join, which nothing bound to us precedes):
	 * its sender gets them, as a replayed init-join costs an answer, and
	 * the slot lets go of it before anything else goes there (out_send).
	 */
	if (k == w->ni) {
		c = w->cur;
		if (c == NULL || c->owner != NULL || !c->back || c->wr != NULL ||
		    c->ahash != o->hash || strcmp(c->addr, o->address) != 0)
			return 0;
	}
	o->provisional = !c->proved;
	o->via = c;
	o->via->wr = o;
	o->fd = o->via->fd;
	o->connecting = 0;
	o->fails = 0;
	o->opened = o->progress = now;
	o->watched = POLLIN;	/* the reader's watch, as it stands */
	/*
	 * No hello of ours: the opener bound its reader to the uid its own
	 * bind frame named, which is ours (we took the mark only after that
	 * bind passed), so our short forms are for the uid that bind came
	 * from. A first frame too large for a reader that has not seen an
	 * authentic frame yet goes after a hello (out_send).
	 */
	o->bound = o->via->tag;
	o->fresh = 1;
	w->st.borrowed++;
	/* frames that waited for a connection: the first of them may be one of those */
	if (o->qn > 0) {
		o->fresh = 0;
		if (o->q[0].len - 4 > WIRE_PREAUTH_MAX)
			out_hello(w, o, now);
	}
	return 1;
}

/*
 * Before slot o goes to another peer: what it has queued is written now, as
 * far as the socket takes it (a connection still opening is asked with a
 * zero poll whether it has opened). A turn that sends to more peers than
 * there are slots queues (corks) a frame for each, and freeing the first
 * ones' queues lost those frames unsent; the kernel delivers what was
 * written after the close.
 */
static void
out_drain_now(struct wire *w, struct out *o, msec_t now)
{
	struct pollfd p = { .fd = o->fd, .events = POLLOUT };
	int err = 0;
	socklen_t elen = sizeof(err);

	if (o->fd < 0 || o->qn == 0)
		return;
	if (o->connecting) {
		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT) ||
		    getsockopt(o->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
			return;
		o->connecting = 0;
		o->fails = 0;
	}
	w->st.drained++;
	out_flush(w, o, now);
}

static struct out *
get_out(struct wire *w, const char *address, msec_t now)
{
	struct out *o;
	int k, lru = -1;

	if ((k = find_out(w, address)) >= 0) {
		w->o[k]->used = now;
		return w->o[k];
	}
	if (w->no == w->max_out) {
		/* the least recently used with nothing queued, else the least recently used */
		for (k = 0; k < w->no; k++)
			if (w->o[k]->qn == 0 && (lru < 0 || w->o[k]->used < w->o[lru]->used))
				lru = k;
		if (lru < 0)
			for (lru = 0, k = 1; k < w->no; k++)
				if (w->o[k]->used < w->o[lru]->used)
					lru = k;
		out_drain_now(w, w->o[lru], now);
		out_free(w, lru);
	}
	o = xcalloc(1, sizeof(*o));
	snprintf(o->address, sizeof(o->address), "%s", address);
	o->fd = -1;
	o->used = now;
	o->w = w;
	o->hash = addr_hash(o->address);
	w->o[w->no++] = o;
	ht_put(w, w->no - 1);
	return o;
}

/* Takes queued frame k off the queue (written, or given up: lose_at). */
static void
drop_at(struct out *o, int k)
{
	o->qbytes -= o->q[k].len;
	free(o->q[k].data);
	memmove(o->q + k, o->q + k + 1, (size_t)(o->qn - k - 1) * sizeof(*o->q));
	o->qn--;
}

/*
 * Writes what the socket takes, every queued frame in one sendmsg (up to
 * FLUSH_IOV): frames queued together leave in one segment and reach the
 * peer in one wake-up. Watches for room when something is left.
 */
#define FLUSH_IOV	64
static void
out_flush(struct wire *w, struct out *o, msec_t now)
{
	while (o->qn > 0) {
		struct iovec iov[FLUSH_IOV];
		struct msghdr mh;
		ssize_t n;
		int k, m = o->qn < FLUSH_IOV ? o->qn : FLUSH_IOV;

		for (k = 0; k < m; k++) {
			iov[k].iov_base = o->q[k].data + (k == 0 ? o->off : 0);
			iov[k].iov_len = o->q[k].len - (k == 0 ? o->off : 0);
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)m;
		if ((n = sendmsg(o->fd, &mh, MSG_NOSIGNAL)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (o->via != NULL)
				o->via->back = 0;	/* broken: not to be written on again */
			out_close(w, o, now);
			return;
		}
		o->progress = now;
		w->st.writes++;
		/* the frames it took whole, then what it took of the next */
		while (o->qn > 0 && (size_t)n >= o->q[0].len - o->off) {
			n -= (ssize_t)(o->q[0].len - o->off);
			o->off = 0;
			drop_at(o, 0);
			w->st.frames_out++;
		}
		if (n > 0) {
			o->off += (size_t)n;
			break;		/* the socket is full */
		}
	}
	out_watch(w, o);
}

static void
on_out(int fd, short ev, void *arg)
{
	struct out *o = arg;
	struct wire *w = o->w;
	msec_t now = clock_mono_ms();
	int err = 0;
	socklen_t elen = sizeof(err);
	char c;

	if (o->connecting) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
			w->st.connect_failed++;
			out_close(w, o, now);
			return;
		}
		o->connecting = 0;
		o->fails = 0;
	} else if (o->rd != NULL && (ev & (POLLIN | POLLHUP | POLLERR))) {
		/* what the peer writes back; handled last: its callback may free o */
		struct in *rd = o->rd;

		if ((ev & POLLOUT) && o->qn > 0)
			out_flush(w, o, now);
		if (o->rd != rd)
			return;
		if (w->cork_reads)
			wire_cork(w);
		in_read(fd, rd);
		if (w->cork_reads)
			wire_uncork(w, clock_mono_ms());
		return;
	} else if (ev & (POLLIN | POLLHUP | POLLERR)) {
		/* a peer that does not write back on this connection: readable means closed */
		if (recv(fd, &c, 1, MSG_DONTWAIT) != 0 &&
		    (errno == EAGAIN || errno == EINTR) && !(ev & (POLLHUP | POLLERR)))
			return;
		out_close(w, o, now);
		return;
	}
	out_flush(w, o, now);
}

/* Queues frame on o (bound: for the binding of o's connection, 0: any) and writes what it can. */
/*
 * A send that is no answer to the unproved connection o writes on (out_borrow):
 * o lets go of it first. -1 if it cannot yet (the answers are still being
 * written): the send must not go there, behind them.
 */
static int
let_go(struct wire *w, struct out *o, msec_t now)
{
	if (o->via == NULL || !o->provisional || w->cur == o->via)
		return 0;
	if (o->qn > 0 || o->off > 0)
		return -1;
	out_close(w, o, now);
	o->fails = 0;
	o->retry_at = now;
	return 0;
}

static void
out_send(struct wire *w, struct out *o, const void *frame, size_t len, uint64_t bound,
    msec_t now)
{
	if (let_go(w, o, now) < 0) {
		w->st.unsent++;	/* never behind what went there */
		return;
	}
	if (o->fd < 0 && !out_borrow(w, o, now) && now >= o->retry_at)
		(void)out_open(w, o, now);	/* if it fails, the frame waits for the retry */
	/* corked (a loop turn's frames leave together): a full queue is written, not cut */
	if (w->corked && o->fd >= 0 && !o->connecting && o->qn > kept(o) &&
	    (o->qn == QUEUE_MAX || o->qbytes + len > QUEUE_BYTES))
		out_flush(w, o, now);	/* if it closes the connection, the frame waits as below */
	/* a large frame (a relay) may wait alone, never pushing others out */
	if (len > QUEUE_BYTES && o->qn > kept(o)) {
		w->st.unsent++;
		return;
	}
	/* oldest first out, but never one partly written, nor the hello */
	while (o->qn > kept(o) && (o->qn == QUEUE_MAX || o->qbytes + len > QUEUE_BYTES) &&
	    len <= QUEUE_BYTES)
		lose_at(o, kept(o));
	if (o->qn == QUEUE_MAX) {
		w->st.unsent++;
		return;
	}
	if (o->via != NULL && o->fresh && len > WIRE_PREAUTH_MAX && o->qn == 0)
		out_hello(w, o, now);	/* the peer's reader takes it after an authentic frame */
	o->fresh = 0;
	enqueue(o, frame, len, now);
	o->q[o->qn - 1].bound = bound;
	if (o->fd < 0)
		retry_note(w, o);	/* it waits for the connection's retry */
	else if (!o->connecting && w->corked) {
		if (!o->dirty) {
			o->dirty = 1;
			w->dirty[w->ndirty++] = o;
		}
	}
	else if (!o->connecting)
		out_flush(w, o, now);
}

void
wire_send(struct wire *w, const char *address, const void *frame, size_t len, msec_t now)
{
	out_send(w, get_out(w, address, now), frame, len, 0, now);
}

uint64_t
wire_bound(struct wire *w, const char *address, msec_t now)
{
	struct out *o = get_out(w, address, now);

	if (let_go(w, o, now) < 0)
		return 0;
	if (o->fd < 0 && !out_borrow(w, o, now) && now >= o->retry_at)
		(void)out_open(w, o, now);
	return o->fd >= 0 ? o->bound : 0;
}

/*
 * In place: a new hello on the open connection binds it anew (a receiver
 * takes a bind frame at any point of a connection). Closing it and opening
 * another, as before, cost a connection per member first met in JSON, and
 * would end what the peer writes back on it.
 */
int
wire_rebind(struct wire *w, const char *address)
{
	int k;
	struct out *o;

	if ((k = find_out(w, address)) < 0)
		return 0;
	o = w->o[k];
	if (o->fd < 0 || o->connecting || o->qn > 0)
		return 0;
	out_hello(w, o, clock_mono_ms());
	w->st.rebound++;
	return 1;
}

void
wire_set_bound(struct wire *w, uint64_t bound)
{
	if (w->opening != NULL)
		w->opening->bound = bound;
}

void
wire_send_bound(struct wire *w, const char *address, const void *frame, size_t len,
    uint64_t bound, msec_t now)
{
	struct out *o = get_out(w, address, now);

	/* its connection went since wire_bound said it was bound so: the frame cannot go */
	if (o->bound != bound || o->fd < 0) {
		w->st.unsent++;
		return;
	}
	out_send(w, o, frame, len, bound, now);
}

uint64_t *
wire_tag(struct wire *w)
{
	return w->cur != NULL ? &w->cur->tag : NULL;
}

void
wire_cork(struct wire *w)
{
	w->corked++;
}

void
wire_uncork(struct wire *w, msec_t now)
{
	if (w->corked > 0 && --w->corked > 0)
		return;
	/* only those queued to while corked, not every connection */
	while (w->ndirty > 0) {
		struct out *o = w->dirty[--w->ndirty];

		o->dirty = 0;
		if (o->qn > 0 && o->fd >= 0 && !o->connecting)
			out_flush(w, o, now);
	}
}

void
wire_reset(struct wire *w, const char *address)
{
	int k;

	if ((k = find_out(w, address)) >= 0) {
		if (w->o[k]->via != NULL)
			w->o[k]->via->back = 0;	/* a fresh connection: not that one again */
		out_free(w, k);
	}
}

void
wire_read_back(struct wire *w, int on)
{
	w->read_back = on;
}

int
wire_hello_also(struct wire *w, const void *frame, size_t len)
{
	/* not on a peer's connection: what we write there, its opener reads anyway */
	if (w->opening == NULL || w->opening->via != NULL || w->also != NULL)
		return 0;
	w->also = xmalloc(len);
	memcpy(w->also, frame, len);
	w->alsolen = len;
	return 1;
}

int
wire_back(struct wire *w, const char *address)
{
	struct in *c = w->cur;

	if (c == NULL || c->owner != NULL)
		return -1;	/* only a peer's connection to us */
	if (!c->back)
		w->st.back_marked++;
	c->back = 1;
	if (address != NULL && c->addr[0] == '\0' && strlen(address) < sizeof(c->addr)) {
		strcpy(c->addr, address);
		c->ahash = addr_hash(c->addr);
	}
	return 0;
}

int
wire_back_fresh(struct wire *w, msec_t now)
{
	struct in *c = w->cur;
	int k;

	if (c == NULL || c->owner != NULL)
		return -1;
	c->proved = 1;
	if (c->wr != NULL)
		c->wr->provisional = 0;
	if (!c->back || c->wr != NULL || c->addr[0] == '\0' || (k = find_out(w, c->addr)) < 0)
		return 0;
	/*
	 * A connection of our own there, opened before this one proved itself
	 * (the answer to a join, which comes before any message bound to us):
	 * closed while nothing waits on it, so that the pair goes back to one
	 * connection, this one. By the higher address only: the peer may be
	 * doing the same with ours at the same moment, and both would close.
	 */
	if (w->self[0] != '\0' && strcmp(w->self, c->addr) > 0 &&
	    w->o[k]->via == NULL && w->o[k]->fd >= 0 && !w->o[k]->connecting && w->o[k]->qn == 0) {
		out_close(w, w->o[k], now);
		w->o[k]->fails = 0;
		w->o[k]->retry_at = now;
	}
	return 0;
}

int
wire_back_pending(const struct wire *w)
{
	return w->cur != NULL && w->cur->back && !w->cur->proved;
}

int
wire_back_unnamed(const struct wire *w)
{
	return w->cur != NULL && w->cur->back && w->cur->addr[0] == '\0';
}

/* Inbound. */

/* A reader of our own connection (its owner closed it, or is closing it). */
static void
reader_free(struct wire *w, struct in *c)
{
	(void)w;
	free(c->buf);
	free(c);
}

static void
in_free(struct wire *w, int k)
{
	struct in *c = w->i[k];

	if (c->wr != NULL) {
		/* the slot writing on it waits for a connection of its own, or another's */
		struct out *o = c->wr;

		c->back = 0;
		out_close(w, o, clock_mono_ms());
	}
	loop_unwatch(w->loop, c->fd);
	close(c->fd);
	free(c->buf);
	free(c);
	w->i[k] = w->i[--w->ni];
	w->st.in--;
}

static void
in_close(struct wire *w, struct in *c)
{
	int k;

	if (c->owner != NULL) {
		/* what our own connection's peer wrote: its end is the connection's */
		out_close(w, c->owner, clock_mono_ms());
		return;
	}
	for (k = 0; k < w->ni; k++)
		if (w->i[k] == c) {
			in_free(w, k);
			return;
		}
}

/* Makes room for one more inbound connection: the oldest that never authenticated goes. */
static int
make_room(struct wire *w)
{
	int k, old = -1;

	if (w->ni < w->max_in)
		return 0;
	for (k = 0; k < w->ni; k++)
		if (!w->i[k]->trusted && (old < 0 || w->i[k]->opened < w->i[old]->opened))
			old = k;
	if (old < 0)
		return -1;
	in_free(w, old);
	w->st.evicted++;
	return 0;
}

static void
on_accept(int fd, short ev, void *arg)
{
	struct wire *w = arg;
	msec_t now = clock_mono_ms();
	int k;

	(void)ev;
	for (k = 0; k < ACCEPT_BATCH; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct in *in;

		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* do not spin: rest, and shed one that never authenticated */
				w->st.emfile++;
				loop_unwatch(w->loop, fd);
				w->lwatched = 0;
				w->lpaused_until = now + EMFILE_PAUSE;
				if (now - w->emfile_said > 10000 || w->emfile_said == 0) {
					log_warnx("out of file descriptors accepting on the node port: "
					    "raise LimitNOFILE, or firewall the port to the cluster's hosts");
					w->emfile_said = now;
				}
				if (w->ni > 0) {
					int keep = w->max_in;

					w->max_in = w->ni;
					(void)make_room(w);
					w->max_in = keep;
				}
			}
			return;
		}
		if (make_room(w) < 0) {
			close(c);
			w->st.refused++;
			continue;
		}
		in = xcalloc(1, sizeof(*in));
		in->fd = c;
		in->w = w;
		in->opened = in->last = now;
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, in->from,
			    sizeof(in->from));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, in->from,
			    sizeof(in->from));
		else
			strcpy(in->from, "?");
		w->i[w->ni++] = in;
		w->st.accepted++;
		w->st.in++;
		loop_watch(w->loop, c, POLLIN, on_in, in);
	}
}

/*
 * Reads what one connection has, up to a budget (the rest waits for the
 * next wake-up, so one sender cannot starve the others or the control
 * socket), and hands each whole frame to the callback. A frame announced
 * over the connection's limit, or one that fails authentication, closes
 * the connection before any more is read or allocated.
 */
static void
in_read(int fd, struct in *c)
{
	struct wire *w = c->w;
	size_t budget = READ_BUDGET, ask;
	int drained = 0;

	for (;;) {
		size_t have = c->end - c->start, need = 4;
		ssize_t n;

		if (have >= 4) {
			size_t len = get_be32(c->buf + c->start);
			size_t limit = c->trusted ? w->frame_max : WIRE_PREAUTH_MAX;

			if (len > limit || len == 0) {
				w->st.oversized++;
				in_close(w, c);
				return;
			}
			need = 4 + len;
			if (have >= need) {
				enum wire_verdict v;

				c->last = clock_mono_ms();
				w->st.frames_in++;
				w->cur = c;
				v = w->cb(w->arg, c->from, c->buf + c->start + 4, len);
				w->cur = NULL;
				if (c->dead) {
					reader_free(w, c);	/* its connection closed meanwhile */
					return;
				}
				if (v == WIRE_BAD) {
					in_close(w, c);
					return;
				}
				if (v == WIRE_OK)
					c->trusted = 1;
				c->start += need;
				if (c->start == c->end)
					c->start = c->end = 0;
				continue;
			}
		}
		/*
		 * A read that got less than it asked for emptied the socket: a
		 * recv more would only say EAGAIN (half of memberd's recvs did).
		 * What comes later wakes the loop again (level-triggered).
		 */
		if (budget == 0 || drained)
			break;
		/* room for the frame under way (known limits) and then some */
		if (c->cap - c->start < need || c->cap < BUF_KEEP) {
			size_t cap = need > BUF_KEEP ? need : BUF_KEEP;

			if (c->start > 0) {
				memmove(c->buf, c->buf + c->start, have);
				c->start = 0;
				c->end = have;
			}
			if (cap > c->cap) {
				c->buf = xreallocarray(c->buf, cap, 1);
				c->cap = cap;
			}
		} else if (c->end == c->cap && c->start > 0) {
			memmove(c->buf, c->buf + c->start, have);
			c->start = 0;
			c->end = have;
		}
		ask = c->cap - c->end < budget ? c->cap - c->end : budget;
		n = recv(fd, c->buf + c->end, ask, MSG_DONTWAIT);
		w->st.reads++;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			in_close(w, c);
			return;
		}
		if (n < 0)
			break;
		c->end += (size_t)n;
		budget -= (size_t)n;
		drained = (size_t)n < ask;
	}
	/* a large frame is done with: give its buffer back */
	if (c->cap > BUF_KEEP && c->end - c->start <= BUF_KEEP) {
		if (c->start > 0)
			memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
		c->buf = xreallocarray(c->buf, BUF_KEEP, 1);
		c->cap = BUF_KEEP;
	}
}

/*
 * With wire_cork_reads, what the frames of one read send is corked until
 * they are all handled: the answers to one peer's batch (and pushes to the
 * same member) leave together, one write each, and no later than the end
 * of the batch.
 */
static void
on_in(int fd, short ev, void *arg)
{
	struct wire *w = ((struct in *)arg)->w;

	if ((ev & POLLOUT) && ((struct in *)arg)->wr != NULL)
		out_flush(w, ((struct in *)arg)->wr, clock_mono_ms());
	if (!(ev & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (!w->cork_reads) {
		in_read(fd, arg);
		return;
	}
	wire_cork(w);
	in_read(fd, arg);	/* may free the connection */
	wire_uncork(w, clock_mono_ms());
}

void
wire_cork_reads(struct wire *w, int on)
{
	w->cork_reads = on;
}

void
wire_expire(struct wire *w, msec_t now)
{
	int k;

	if (!w->lwatched && w->lfd >= 0 && now >= w->lpaused_until) {
		loop_watch(w->loop, w->lfd, POLLIN, on_accept, w);
		w->lwatched = 1;
	}
	if (now < w->next_scan && (w->retry_min < 0 || now < w->retry_min))
		return;
	w->next_scan = now + SCAN_EVERY;
	w->retry_min = -1;
	for (k = 0; k < w->ni; ) {
		struct in *c = w->i[k];

		if (!c->trusted && now - c->opened > PREAUTH_TIME) {
			w->st.preauth_timeout++;
			in_free(w, k);
		} else if (now - c->last > IN_IDLE)
			in_free(w, k);
		else
			k++;
	}
	for (k = 0; k < w->no; ) {
		struct out *o = w->o[k];

		if (now - o->used > OUT_IDLE) {
			out_free(w, k);
			continue;
		}
		k++;
		/* expired frames go, but never one partly written, nor the hello */
		while (o->qn > kept(o) && now - o->q[kept(o)].at > QUEUE_TTL)
			lose_at(o, kept(o));
		if (o->fd < 0) {
			if (o->qn > 0 && now >= o->retry_at)
				(void)out_open(w, o, now);
			if (o->fd < 0 && o->qn > 0)
				retry_note(w, o);
			continue;
		}
		if (o->connecting ? now - o->opened > CONNECT_TIMEOUT :
		    o->qn > 0 && now - o->progress > STALL_TIMEOUT) {
			if (o->connecting)
				w->st.connect_failed++;
			if (o->via != NULL)
				o->via->back = 0;
			out_close(w, o, now);
			continue;
		}
	}
}

msec_t
wire_deadline(const struct wire *w)
{
	return w->retry_min;
}

int
wire_port(const struct wire *w)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (w->lfd < 0 || getsockname(w->lfd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

const struct wire_stats *
wire_stats(const struct wire *w)
{
	return &w->st;
}

void
wire_free(struct wire *w)
{
	if (w == NULL)
		return;
	while (w->no > 0)
		out_free(w, 0);
	while (w->ni > 0)
		in_free(w, 0);
	if (w->lfd >= 0) {
		if (w->lwatched)
			loop_unwatch(w->loop, w->lfd);
		close(w->lfd);
	}
	free(w->o);
	free(w->dirty);
	free(w->ht);
	free(w->i);
	free(w->also);
	free(w);
}
