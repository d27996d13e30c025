/*
 * pcap-frames: the node-to-node frames a capture holds, for replaying them.
 *
 *   pcap-frames FILE.pcap PORT OUTDIR
 *
 * Reassembles every TCP stream to PORT (IPv4, in order, retransmissions
 * dropped) in the capture tcpdump -w wrote, splits each into frames (4-byte
 * big-endian length, then the frame) and writes each stream's whole frames,
 * length prefixes included, to OUTDIR/stream-N, ready to be sent again as
 * they were; prints how many frames. Streams whose start was not captured
 * are skipped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXSTREAMS	256

struct stream {
	uint16_t sport;
	uint32_t next;		/* next sequence number expected */
	unsigned char *buf;
	size_t len, cap;
};

static struct stream streams[MAXSTREAMS];
static int nstreams;

static uint32_t
rd32(const unsigned char *p, int swap)
{
	return swap ? (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0] :
	    (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
add(uint16_t sport, uint32_t seq, int syn, const unsigned char *data, size_t len)
{
	struct stream *s = NULL;
	int i;

	for (i = 0; i < nstreams; i++)
		if (streams[i].sport == sport)
			s = &streams[i];
	if (syn) {
		if (s == NULL) {
			if (nstreams == MAXSTREAMS)
				return;
			s = &streams[nstreams++];
		}
		free(s->buf);
		memset(s, 0, sizeof(*s));
		s->sport = sport;
		s->next = seq + 1;
		return;
	}
	if (s == NULL || len == 0 || seq != s->next)
		return;		/* not from its start, or a retransmission */
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		if ((s->buf = realloc(s->buf, s->cap)) == NULL)
			exit(1);
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->next += (uint32_t)len;
}

int
main(int argc, char **argv)
{
	unsigned char gh[24], ph[16], *pkt = NULL;
	FILE *f;
	int swap, link, port, i, count = 0;
	size_t off;

	if (argc != 4) {
		fprintf(stderr, "usage: pcap-frames FILE.pcap PORT OUTDIR\n");
		return 2;
	}
	port = atoi(argv[2]);
	if ((f = fopen(argv[1], "rb")) == NULL || fread(gh, 1, 24, f) != 24) {
		perror(argv[1]);
		return 1;
	}
	swap = gh[0] == 0xd4 && gh[1] == 0xc3;	/* written little-endian */
	link = (int)rd32(gh + 20, swap);
	if ((pkt = malloc(262144)) == NULL)
		return 1;
	while (fread(ph, 1, 16, f) == 16) {
		uint32_t caplen = rd32(ph + 8, swap);
		const unsigned char *ip, *tcp;
		size_t l2, iphl, tcphl, total;

		if (caplen > 262144 || fread(pkt, 1, caplen, f) != caplen)
			break;
		l2 = link == 1 ? 14 : link == 113 ? 16 : link == 276 ? 20 : link == 0 ? 4 : 0;
		if (caplen < l2 + 40)
			continue;
		ip = pkt + l2;
		if ((ip[0] >> 4) != 4 || ip[9] != 6)
			continue;
		iphl = (size_t)(ip[0] & 15) * 4;
		total = (size_t)ip[2] << 8 | ip[3];
		if (l2 + total > caplen || total < iphl + 20)
			continue;
		tcp = ip + iphl;
		tcphl = (size_t)(tcp[12] >> 4) * 4;
		if (((int)tcp[2] << 8 | tcp[3]) != port || iphl + tcphl > total)
			continue;
		add((uint16_t)(tcp[0] << 8 | tcp[1]), rd32(tcp + 4, 0), (tcp[13] & 2) != 0,
		    tcp + tcphl, total - iphl - tcphl);
	}
	fclose(f);
	for (i = 0; i < nstreams; i++) {
		char path[4096];
		FILE *o;

		for (off = 0; off + 4 <= streams[i].len; count++) {
			size_t flen = rd32(streams[i].buf + off, 0);

			if (off + 4 + flen > streams[i].len)
				break;
			off += 4 + flen;
		}
		if (off == 0)
			continue;
		snprintf(path, sizeof(path), "%s/stream-%d", argv[3], i);
		if ((o = fopen(path, "wb")) == NULL || fwrite(streams[i].buf, 1, off, o) != off ||
		    fclose(o) != 0) {
			perror(path);
			return 1;
		}
	}
	printf("%d\n", count);
	return 0;
}
