/*
 * test-link: the journal link (lib/link.c) between two, then three,
 * links in one process over loopback: a peer is used only once learned
 * through "the relay" (link_learn here) and heard both ways; messages reach
 * the other side under the learned uid; a process not learned, one under
 * another key, and a peer that announced no link are refused or not used.
 * Then the proxy link's use (link_open): a port the kernel picks, and frame
 * kinds of its own, so a journal link's frames never open on it.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "bytes.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "unit.h"

struct got {
	uint64_t uid;
	char m[32];
	int n;
};

static void
on_msg(void *arg, uint64_t uid, cJSON *body)
{
	struct got *g = arg;
	const char *m = json_str(body, "m");

	g->uid = uid;
	snprintf(g->m, sizeof(g->m), "%s", m != NULL ? m : "");
	g->n++;
	cJSON_Delete(body);
}

/* A TCP port nothing listens on now. */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void
conf(struct akc_config *c, const char *keyfile)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->address, sizeof(c->address), "tcp://127.0.0.1:%d", free_port());
	snprintf(c->cluster_name, sizeof(c->cluster_name), "akc");
	snprintf(c->key_file, sizeof(c->key_file), "%s", keyfile);
	c->link_port = free_port();
}

/* What peer `from` would send through the relay: its lk, learned by `to` under uid. */
static void
learn(struct link *to, struct link *from, uint64_t uid, const struct akc_config *fc)
{
	cJSON *b = cJSON_CreateObject();

	link_stamp(from, b);
	link_learn(to, uid, fc->address, b, clock_mono_ms());
	cJSON_Delete(b);
}

/* Runs the loop (and every link's timers) until cond holds or ms pass. */
#define SPIN(l, links, n, ms, cond) do {					\
	msec_t _end = clock_mono_ms() + (ms);					\
	while (!(cond) && clock_mono_ms() < _end) {				\
		int _i;								\
		for (_i = 0; _i < (n); _i++)					\
			link_tick((links)[_i], clock_mono_ms());		\
		loop_poll((l), clock_mono_ms() + 50);				\
	}									\
} while (0)

static void
write_key(const char *path)
{
	unsigned char k[KEY_BYTES];
	char b64[KEY_B64_LEN + 1];
	FILE *f = fopen(path, "w");

	key_generate(k);
	key_b64(k, b64);
	fprintf(f, "%s\n", b64);
	fclose(f);
}

static void
test_link(void)
{
	char dir[] = "/tmp/test-link.XXXXXX", key[64], other[64];
	struct akc_config ca, cb, cc, cd;
	struct loop *l = loop_new();
	struct got ga = { 0 }, gb = { 0 }, gc = { 0 };
	struct link *a, *b, *c, *all[3];
	msec_t now;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	write_key(key);
	write_key(other);
	conf(&ca, key);
	conf(&cb, key);
	conf(&cc, other);
	a = link_new(l, &ca, on_msg, &ga);
	b = link_new(l, &cb, on_msg, &gb);
	c = link_new(l, &cc, on_msg, &gc);
	CHECK(a != NULL && b != NULL && c != NULL);
	all[0] = a;
	all[1] = b;
	all[2] = c;

	/* not learned: not up, nothing sent */
	now = clock_mono_ms();
	CHECK(!link_up(a, 2, now));
	CHECK(link_send(a, 2, "{\"m\":\"x\"}", 9, now) < 0);

	/* learned both ways: up within a few pings, and messages pass under the uids */
	learn(a, b, 2, &cb);
	learn(b, a, 1, &ca);
	SPIN(l, all, 3, 3000, link_up(a, 2, clock_mono_ms()) && link_up(b, 1, clock_mono_ms()));
	CHECK(link_up(a, 2, clock_mono_ms()));
	CHECK(link_up(b, 1, clock_mono_ms()));
	CHECK_INT(link_send(a, 2, "{\"m\":\"append\"}", 14, clock_mono_ms()), 0);
	SPIN(l, all, 3, 2000, gb.n == 1);
	CHECK_INT(gb.n, 1);
	CHECK_INT(gb.uid, 1);
	CHECK_STR(gb.m, "append");
	CHECK_INT(link_send(b, 1, "{\"m\":\"ack\"}", 11, clock_mono_ms()), 0);
	SPIN(l, all, 3, 2000, ga.n == 1);
	CHECK_INT(ga.uid, 2);
	CHECK_STR(ga.m, "ack");
	CHECK_INT(link_stats(a)->sent, 1);
	CHECK_INT(link_stats(a)->received, 1);
	{
		/* frames written are not counted as given up (wire's unsent) */
		cJSON *j = link_json(a, clock_mono_ms());
		double unsent = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(j, "dropped"), "unsent"));

		CHECK(link_stats(a)->pings_sent > 0);
		CHECK(unsent == 0);
		cJSON_Delete(j);
	}

	/* a process that b never learned (same key): its frames are "unknown", never taken */
	learn(c, b, 2, &cb);
	conf(&cd, key);		/* c2: the right key this time */
	{
		struct got gc2 = { 0 };
		struct link *c2 = link_new(l, &cd, on_msg, &gc2), *all4[4] = { a, b, c, c2 };

		learn(c2, b, 2, &cb);
		SPIN(l, all4, 4, 3000, link_stats(b)->unknown > 0 && link_stats(b)->unauthenticated > 0);
		/* c (another key): fails authentication; c2: authentic, not learned */
		CHECK(link_stats(b)->unauthenticated > 0);
		CHECK(link_stats(b)->unknown > 0);
		CHECK(!link_up(c, 2, clock_mono_ms()));
		CHECK(!link_up(c2, 2, clock_mono_ms()));
		CHECK_INT(gb.n, 1);
		link_free(c2);
	}

	/* b says through the relay that it has no link now: a forgets it, the relay carries */
	{
		cJSON *body = cJSON_CreateObject();

		link_learn(a, 2, cb.address, body, clock_mono_ms());
		cJSON_Delete(body);
	}
	CHECK(!link_up(a, 2, clock_mono_ms()));
	CHECK(link_send(a, 2, "{\"m\":\"x\"}", 9, clock_mono_ms()) < 0);
	CHECK_INT(link_stats(b)->replayed, 0);
	CHECK_INT(link_stats(b)->stale, 0);

	/*
	 * b forgets a, then learns the same process again: a frame of a's
	 * with a counter b took before (a ping of its first, sealed here as a
	 * capture would hold it) is a replay, not a new frame
	 */
	{
		cJSON *body = cJSON_CreateObject(), *sa = cJSON_CreateObject();
		unsigned char pl[25], hdr[4], *f;
		struct sockaddr_in sin = { .sin_family = AF_INET,
		    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct keyring kr;
		uint64_t sida, sidb;
		size_t flen;
		int fd;

		link_stamp(a, sa);
		CHECK_INT(json_u64(cJSON_GetObjectItemCaseSensitive(sa, "lk"), "s", &sida), 0);
		cJSON_Delete(sa);
		sa = cJSON_CreateObject();
		link_stamp(b, sa);
		CHECK_INT(json_u64(cJSON_GetObjectItemCaseSensitive(sa, "lk"), "s", &sidb), 0);
		cJSON_Delete(sa);
		link_learn(b, 1, ca.address, body, clock_mono_ms());	/* forgotten */
		cJSON_Delete(body);
		learn(b, a, 1, &ca);					/* and learned again */
		be64_put(pl, sidb);
		be64_put(pl + 8, sida);
		be64_put(pl + 16, 1);
		pl[24] = 0x02;						/* a ping */
		CHECK_INT(keyring_load(&kr, key), 0);
		flen = frame_seal_link(&kr, "akc", (const char *)pl, sizeof(pl), &f);
		CHECK(flen > 0);
		hdr[0] = (unsigned char)(flen >> 24);
		hdr[1] = (unsigned char)(flen >> 16);
		hdr[2] = (unsigned char)(flen >> 8);
		hdr[3] = (unsigned char)flen;
		sin.sin_port = htons((uint16_t)cb.link_port);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		CHECK_INT(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		CHECK_INT(write(fd, hdr, 4), 4);
		CHECK_INT(write(fd, f, flen), (int)flen);
		free(f);
		SPIN(l, all, 3, 3000, link_stats(b)->replayed > 0);
		CHECK_INT(link_stats(b)->replayed, 1);
		close(fd);
	}

	link_free(a);
	link_free(b);
	link_free(c);
	loop_free(l);
	unlink(key);
	unlink(other);
	rmdir(dir);
}

static void
test_open(void)
{
	char dir[] = "/tmp/test-link.XXXXXX", key[64];
	struct akc_config ca, cb, cj;
	struct loop *l = loop_new();
	struct got ga = { 0 }, gb = { 0 }, gj = { 0 };
	struct link_opts po = { "proxy link", 0, FRAME_PLINK_PLAIN, FRAME_PLINK_SEALED, 4 };
	struct link *a, *b, *j, *all[3];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(key, sizeof(key), "%s/key", dir);
	write_key(key);
	conf(&ca, key);
	conf(&cb, key);
	conf(&cj, key);
	a = link_open(l, &ca, &po, on_msg, &ga);
	b = link_open(l, &cb, &po, on_msg, &gb);
	j = link_new(l, &cj, on_msg, &gj);	/* the journal link's kinds */
	CHECK(a != NULL && b != NULL && j != NULL);
	all[0] = a;
	all[1] = b;
	all[2] = j;
	/* port 0: the kernel's pick, published in lk */
	CHECK(link_port(a) > 0);
	CHECK(link_port(b) > 0 && link_port(b) != link_port(a));
	{
		cJSON *body = cJSON_CreateObject();
		long p = 0;

		link_stamp(a, body);
		CHECK(json_int(cJSON_GetObjectItemCaseSensitive(body, "lk"), "p", 1, 65535, &p) == 0);
		CHECK_INT(p, link_port(a));
		cJSON_Delete(body);
	}
	/* the stamp names the picked port, so the peer dials it: the link comes up */
	learn(a, b, 2, &cb);
	learn(b, a, 1, &ca);
	SPIN(l, all, 3, 3000, link_up(a, 2, clock_mono_ms()) && link_up(b, 1, clock_mono_ms()));
	CHECK(link_up(a, 2, clock_mono_ms()));
	CHECK_INT(link_send(a, 2, "{\"m\":\"reqs\"}", 12, clock_mono_ms()), 0);
	SPIN(l, all, 3, 2000, gb.n == 1);
	CHECK_INT(gb.n, 1);
	CHECK_STR(gb.m, "reqs");

	/* a journal link told of b's port (same key): its frames are not proxy-link frames */
	learn(j, b, 2, &cb);
	SPIN(l, all, 3, 2000, link_stats(b)->malformed > 0);
	CHECK(link_stats(b)->malformed > 0);
	CHECK(!link_up(j, 2, clock_mono_ms()));
	CHECK_INT(gb.n, 1);

	link_free(a);
	link_free(b);
	link_free(j);
	loop_free(l);
	unlink(key);
	rmdir(dir);
}

int
main(void)
{
	log_init("test-link");
	RUN(test_link);
	RUN(test_open);
	return unit_done();
}
