/*
 * frame-send: sends node-to-node frames to a memberd's TCP port, as a peer
 * (or a stranger) would: the tests' hostile and foreign sender.
 *
 *   frame-send [-k KEYFILE] [-C CLUSTER] [-r] [-L | -P | -M] [-n COUNT] [-i MS] ADDRESS (-D DATA | -F FILE)...
 *
 * Each DATA (or FILE's content) is sealed as a frame of CLUSTER (default
 * akc), under KEYFILE's first key if given; -r sends them as frames
 * themselves (no header, no seal); -L seals them as the master's journal
 * link does (frame kinds of their own), -P as singletond's proxy link does, -M as the master link does. The frames go in order, the whole
 * sequence COUNT times (default 1), MS apart (default 50), on one
 * connection; exits 0 once written, 1 if the connection fails at once.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"

static int
dial(const char *address)
{
	char host[256], *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1;

	if (strncmp(address, "tcp://", 6) != 0 || strlen(address + 6) >= sizeof(host))
		return -1;
	strcpy(host, address + 6);
	if ((colon = strrchr(host, ':')) == NULL)
		return -1;
	*colon = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

#define MAXP 16

static char *
slurp(const char *file, size_t *len)
{
	FILE *f = fopen(file, "rb");
	char *buf;

	if (f == NULL) {
		perror(file);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	if ((buf = malloc(*len + 1)) == NULL || fread(buf, 1, *len, f) != *len)
		exit(1);
	fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	const char *keyfile = NULL, *cluster = "akc";
	struct keyring kr;
	unsigned char *frame[MAXP], hdr[4];
	char *buf[MAXP];
	size_t len[MAXP], flen[MAXP];
	int c, raw = 0, link = 0, plink = 0, mlink = 0, count = 1, ms = 50, fd, i, k, np = 0;

	while ((c = getopt(argc, argv, "k:C:rLPMn:i:D:F:")) != -1)
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 'C': cluster = optarg; break;
		case 'r': raw = 1; break;
		case 'L': link = 1; break;
		case 'P': plink = 1; break;
		case 'M': mlink = 1; break;
		case 'n': count = atoi(optarg); break;
		case 'i': ms = atoi(optarg); break;
		case 'D':
		case 'F':
			if (np == MAXP)
				goto usage;
			if (c == 'D') {
				buf[np] = strdup(optarg);
				len[np] = strlen(optarg);
			} else
				buf[np] = slurp(optarg, &len[np]);
			np++;
			break;
		default: goto usage;
		}
	if (optind + 1 != argc || np == 0)
		goto usage;
	if (sodium_init() < 0 || keyring_load(&kr, keyfile) < 0)
		return 1;
	for (k = 0; k < np; k++) {
		if (raw) {
			frame[k] = (unsigned char *)buf[k];
			flen[k] = len[k];
		} else if (mlink)
			flen[k] = frame_seal_as(&kr, FRAME_MLINK_PLAIN, FRAME_MLINK_SEALED, cluster,
			    buf[k], len[k], &frame[k]);
		else if (plink)
			flen[k] = frame_seal_as(&kr, FRAME_PLINK_PLAIN, FRAME_PLINK_SEALED, cluster,
			    buf[k], len[k], &frame[k]);
		else if (link)
			flen[k] = frame_seal_link(&kr, cluster, buf[k], len[k], &frame[k]);
		else
			flen[k] = frame_seal(&kr, cluster, buf[k], len[k], &frame[k]);
	}
	if ((fd = dial(argv[optind])) < 0) {
		fprintf(stderr, "frame-send: cannot connect to %s\n", argv[optind]);
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

		for (k = 0; k < np; k++) {
			hdr[0] = (unsigned char)(flen[k] >> 24);
			hdr[1] = (unsigned char)(flen[k] >> 16);
			hdr[2] = (unsigned char)(flen[k] >> 8);
			hdr[3] = (unsigned char)flen[k];
			if (write_all(fd, hdr, 4) < 0 || write_all(fd, frame[k], flen[k]) < 0) {
				fprintf(stderr, "frame-send: %s: connection closed after %d frames\n",
				    argv[optind], i * np + k);
				return i + k > 0 ? 0 : 1;
			}
		}
		if (i + 1 < count)
			nanosleep(&ts, NULL);
	}
	/* let the receiver read before the close */
	shutdown(fd, SHUT_WR);
	{
		char x;
		struct timeval tv = { 1, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)!read(fd, &x, 1);
	}
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: frame-send [-k KEYFILE] [-C CLUSTER] [-r] [-L | -P | -M] [-n COUNT] [-i MS] "
	    "ADDRESS (-D DATA | -F FILE)...\n");
	return 2;
}
