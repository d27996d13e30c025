/* test-proxy.c: the singleton proxy's buffer rules (proxy.c), without I/O. */
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "unit.h"

/* A fixed-seed generator: the same run every time. */
static uint32_t
rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) & 0xffffff;
}

#define RID	1000	/* rid base: the first request is 1001 */

static int
padd(struct proxy *p, const char *body, msec_t now)
{
	static const unsigned char hdr[4] = { 0x80, 0, 0, 1 };

	return proxy_add(p, hdr, sizeof(hdr), body, strlen(body), now);
}

static struct psend sent[256];

/* What is due now, as "rid>to rid>to". */
static const char *
pdue(struct proxy *p, msec_t now)
{
	static char buf[8192];
	size_t len = 0;
	int i, n;

	buf[0] = '\0';
	n = proxy_due(p, now, sent, (int)(sizeof(sent) / sizeof(sent[0])));
	for (i = 0; i < n && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d>%d",
		    i ? " " : "", (int)sent[i].rid, (int)sent[i].to);
	return buf;
}

/* The answer to rid: 0, or -1 when unknown. */
static int
answer(struct proxy *p, uint64_t rid)
{
	struct preq r;

	if (proxy_answered(p, rid, &r) < 0)
		return -1;
	free(r.body);
	return 0;
}

static void
proxy_buffer_bound(void)
{
	static const unsigned char big[SOCK_HDR_MAX + 1];
	struct proxy p;

	proxy_init(&p, 3, 10000, RID);
	CHECK_INT(padd(&p, "a", 1000), 0);
	CHECK_INT(padd(&p, "b", 1000), 0);
	CHECK_INT(padd(&p, "c", 1000), 0);
	CHECK_INT(padd(&p, "d", 1000), -1);
	CHECK_INT(p.n, 3);
	CHECK_INT(p.accepted, 3);
	CHECK_INT(p.refused, 1);
	CHECK_INT(answer(&p, RID + 2), 0);
	CHECK_INT(padd(&p, "e", 1000), 0);	/* room again */
	CHECK_INT(p.q[2].rid, RID + 4);
	CHECK_INT(answer(&p, RID + 2), -1);	/* answered twice */
	proxy_free(&p);

	proxy_init(&p, 3, 10000, RID);
	CHECK_INT(proxy_add(&p, big, sizeof(big), "x", 1, 1000), -1);
	CHECK_INT(p.n, 0);
	proxy_free(&p);

	proxy_init(&p, 0, 10000, RID);
	CHECK_INT(padd(&p, "x", 1000), -1);
	proxy_free(&p);
}

static void
proxy_no_target(void)
{
	struct proxy p;

	proxy_init(&p, 8, 10000, RID);
	CHECK_INT(proxy_next_deadline(&p), -1);
	padd(&p, "a", 1000);
	padd(&p, "b", 1500);
	CHECK_STR(pdue(&p, 1000), "");
	CHECK_STR(pdue(&p, 5000), "");
	CHECK_INT(proxy_next_deadline(&p), 11000);	/* only the timeout */
	proxy_target(&p, 7, 6000);
	proxy_target(&p, 0, 6001);
	CHECK_STR(pdue(&p, 6001), "");
	CHECK_INT(proxy_next_deadline(&p), 11000);
	proxy_free(&p);
}

static void
proxy_probes_one_at_a_time(void)
{
	struct proxy p;

	proxy_init(&p, 8, 10000, RID);
	padd(&p, "hello", 1000);
	padd(&p, "b", 1000);
	padd(&p, "c", 1000);
	proxy_target(&p, 7, 1000);
	CHECK(!p.ready);
	CHECK_INT(proxy_next_deadline(&p), 1000);
	CHECK_STR(pdue(&p, 1000), "1001>7");
	CHECK_INT(sent[0].len, 5);
	CHECK(memcmp(sent[0].body, "hello", 5) == 0);
	CHECK_STR(pdue(&p, 1050), "");
	CHECK_STR(pdue(&p, 1500), "");		/* the probe is still out */
	CHECK_INT(proxy_next_deadline(&p), 3000);
	/* it cannot serve now: probe again after PROXY_PROBE */
	proxy_nack(&p, 7, RID + 1, 1100);
	CHECK_INT(proxy_next_deadline(&p), 1100 + PROXY_PROBE);
	CHECK_STR(pdue(&p, 1199), "");
	CHECK_STR(pdue(&p, 1200), "1001>7");
	/* a nack from another node for it changes nothing */
	proxy_nack(&p, 8, RID + 1, 1210);
	CHECK_STR(pdue(&p, 1400), "");
	/* no answer: sent again after PROXY_RESEND */
	CHECK_STR(pdue(&p, 1200 + PROXY_RESEND - 1), "");
	CHECK_STR(pdue(&p, 1200 + PROXY_RESEND), "1001>7");
	CHECK_INT(p.resent, 1);
	CHECK_INT(p.n, 3);
	proxy_free(&p);
}

static void
proxy_window_after_answer(void)
{
	struct proxy p;
	int i, inorder = 1, toseven = 1;

	proxy_init(&p, 100, 60000, RID);
	for (i = 0; i < 70; i++)
		padd(&p, "r", 1000);
	proxy_target(&p, 7, 1000);
	CHECK_STR(pdue(&p, 1000), "1001>7");
	CHECK_INT(answer(&p, RID + 1), 0);
	CHECK(p.ready);
	CHECK_INT(proxy_next_deadline(&p), 0);		/* at once */
	CHECK_INT(proxy_due(&p, 1010, sent, 256), PROXY_WINDOW);
	for (i = 0; i < PROXY_WINDOW; i++) {
		if (sent[i].rid != (uint64_t)(RID + 2 + i))
			inorder = 0;
		if (sent[i].to != 7)
			toseven = 0;
		if (sent[i].again)	/* first sends: they may go in a "reqs" */
			inorder = 0;
	}
	CHECK(inorder);
	CHECK(toseven);
	/* the window is full: nothing to send, and no busy loop */
	CHECK_STR(pdue(&p, 1020), "");
	CHECK_INT(proxy_next_deadline(&p), 1010 + PROXY_RESEND);
	/* one answer, one more goes */
	CHECK_INT(answer(&p, RID + 2), 0);
	CHECK_STR(pdue(&p, 1030), "1066>7");
	CHECK_STR(pdue(&p, 1040), "");
	CHECK(proxy_next_deadline(&p) > 1040);
	/* unanswered: all sent again, in order, within the window */
	CHECK_INT(proxy_due(&p, 1010 + PROXY_RESEND, sent, 256), PROXY_WINDOW - 1);
	CHECK_INT(sent[0].rid, RID + 3);
	/* resends: singletond sends them alone, as "req", which every version takes */
	CHECK(sent[0].again && sent[PROXY_WINDOW - 2].again);
	CHECK_INT(sent[PROXY_WINDOW - 2].rid, RID + 65);
	CHECK_INT(p.resent, PROXY_WINDOW - 1);
	CHECK_STR(pdue(&p, 1030 + PROXY_RESEND), "1066>7");
	CHECK_INT(proxy_next_deadline(&p), 1010 + 2 * PROXY_RESEND);
	proxy_free(&p);
}

/* A link under the requests went down: what was in flight to it goes again now, as a resend. */
/*
 * The way a request's first send took is kept for its resends (the shell
 * sets path and pin); a new master process at the target (proxy_repath)
 * frees those sent over the master link to the old one, a new target all.
 */
static void
proxy_paths_kept(void)
{
	struct proxy p;

	proxy_init(&p, 8, 60000, RID);
	padd(&p, "a", 1000);
	proxy_target(&p, 7, 1000);
	CHECK_STR(pdue(&p, 1000), "1001>7");
	CHECK_INT(sent[0].req->path, PATH_NONE);
	sent[0].req->path = PATH_MLINK;
	sent[0].req->pin = 55;
	answer(&p, RID + 1);				/* ready */
	padd(&p, "b", 1100);
	padd(&p, "c", 1100);
	CHECK_STR(pdue(&p, 1100), "1002>7 1003>7");
	sent[0].req->path = PATH_MLINK;
	sent[0].req->pin = 55;
	sent[1].req->path = PATH_PEER;
	/* sent again after the resend time: each on its first way */
	CHECK_STR(pdue(&p, 1100 + PROXY_RESEND), "1002>7 1003>7");
	CHECK(sent[0].again && sent[0].req->path == PATH_MLINK && sent[0].req->pin == 55);
	CHECK(sent[1].again && sent[1].req->path == PATH_PEER);
	/* the same master process: nothing moves */
	proxy_repath(&p, 55);
	CHECK_STR(pdue(&p, 1100 + PROXY_RESEND), "");
	/* another one: the link's request chooses again, at once, as a resend */
	proxy_repath(&p, 56);
	CHECK_STR(pdue(&p, 1100 + PROXY_RESEND), "1002>7");
	CHECK(sent[0].again && sent[0].req->path == PATH_NONE);
	sent[0].req->path = PATH_MLINK;
	sent[0].req->pin = 56;
	/* a new target: every request chooses again */
	proxy_target(&p, 8, 5000);
	CHECK_STR(pdue(&p, 5000), "1002>8");		/* not ready there: one probes */
	CHECK_INT(sent[0].req->path, PATH_NONE);
	CHECK_INT(p.q[1].path, PATH_NONE);
	proxy_free(&p);
}

static void
proxy_requeue_lost(void)
{
	struct proxy p;

	proxy_init(&p, 8, 60000, RID);
	padd(&p, "a", 1000);
	proxy_target(&p, 7, 1000);
	CHECK_STR(pdue(&p, 1000), "1001>7");
	answer(&p, RID + 1);
	padd(&p, "b", 1100);
	padd(&p, "c", 1100);
	CHECK_STR(pdue(&p, 1100), "1002>7 1003>7");
	CHECK(!sent[0].again);
	proxy_requeue(&p, 9);				/* another node's path: nothing moves */
	CHECK_STR(pdue(&p, 1200), "");
	proxy_requeue(&p, 7);
	CHECK_INT(proxy_next_deadline(&p), 0);		/* due now, not at 1100 + PROXY_RESEND */
	CHECK_STR(pdue(&p, 1200), "1002>7 1003>7");
	CHECK(sent[0].again && sent[1].again);		/* resends: they go alone, as "req" */
	CHECK_INT(p.resent, 2);
	CHECK(p.ready);
	/* answered once over the dead path and once after: the client hears once */
	CHECK_INT(answer(&p, RID + 2), 0);
	CHECK_INT(answer(&p, RID + 2), -1);
	padd(&p, "d", 1300);
	CHECK_STR(pdue(&p, 1300), "1004>7");
	CHECK(!sent[0].again);
	proxy_free(&p);
}

static void
proxy_target_change(void)
{
	struct proxy p;

	proxy_init(&p, 8, 60000, RID);
	padd(&p, "a", 1000);
	padd(&p, "b", 1000);
	padd(&p, "c", 1000);
	proxy_target(&p, 7, 1000);
	CHECK_STR(pdue(&p, 1000), "1001>7");
	answer(&p, RID + 1);
	padd(&p, "d", 1100);
	CHECK_STR(pdue(&p, 1100), "1002>7 1003>7 1004>7");
	proxy_target(&p, 7, 1200);			/* the same: nothing moves */
	CHECK_STR(pdue(&p, 1200), "");
	/* a new oldest: what is in flight goes there, probing first */
	proxy_target(&p, 8, 1300);
	CHECK(!p.ready);
	CHECK_STR(pdue(&p, 1300), "1002>8");
	/* the old one answers late: taken, but 8 is not known to serve */
	CHECK_INT(answer(&p, RID + 3), 0);
	CHECK(!p.ready);
	CHECK_STR(pdue(&p, 1310), "");
	CHECK_INT(answer(&p, RID + 2), 0);
	CHECK(p.ready);
	CHECK_STR(pdue(&p, 1320), "1004>8");
	/* 8 stops serving (hand-over): everything in flight waits for a probe */
	padd(&p, "e", 1330);
	CHECK_STR(pdue(&p, 1330), "1005>8");
	proxy_nack(&p, 8, RID + 4, 1340);
	CHECK(!p.ready);
	CHECK_INT(proxy_next_deadline(&p), 1340 + PROXY_PROBE);
	CHECK_STR(pdue(&p, 1340 + PROXY_PROBE - 1), "");
	CHECK_STR(pdue(&p, 1340 + PROXY_PROBE), "1004>8");
	proxy_free(&p);
}

static void
proxy_expiry(void)
{
	struct proxy p;
	struct preq r;

	proxy_init(&p, 8, 5000, RID);
	padd(&p, "a", 1000);
	padd(&p, "b", 1100);
	padd(&p, "c", 1200);
	proxy_target(&p, 7, 1000);
	CHECK_STR(pdue(&p, 1000), "1001>7");
	CHECK_INT(proxy_expired(&p, 5999, &r), -1);
	CHECK_INT(proxy_expired(&p, 6000, &r), 0);
	CHECK_INT(r.rid, RID + 1);
	CHECK_INT(r.len, 1);
	CHECK_INT(r.hdrlen, 4);
	CHECK_INT(r.hdr[3], 1);
	free(r.body);
	CHECK_INT(proxy_expired(&p, 6000, &r), -1);
	CHECK_INT(answer(&p, RID + 1), -1);		/* expired: already answered */
	/* the probe expired: the next request probes at once */
	CHECK(proxy_next_deadline(&p) <= 6000);
	CHECK_STR(pdue(&p, 6000), "1002>7");
	CHECK_INT(proxy_next_deadline(&p), 6100);
	CHECK_INT(proxy_expired(&p, 7000, &r), 0);
	CHECK_INT(r.rid, RID + 2);
	free(r.body);
	CHECK_INT(proxy_expired(&p, 7000, &r), 0);
	CHECK_INT(r.rid, RID + 3);
	free(r.body);
	CHECK_INT(proxy_expired(&p, 7000, &r), -1);
	CHECK_INT(p.expired, 3);
	CHECK_INT(proxy_next_deadline(&p), -1);
	proxy_free(&p);
}

/*
 * At random: after the shell expired and sent what was due, the next
 * deadline is in the future; nothing goes without a target, one probe at a
 * time to a target not known to serve, never more than the window.
 */
static void
proxy_random(void)
{
	struct proxy p;
	struct preq r;
	uint32_t seed = 42;
	msec_t now = 1000, d;
	int step, i, n, k, fresh, spin = 0, untargeted = 0, probes = 0, window = 0, wrong = 0;

	proxy_init(&p, 100, 8000, RID);
	for (step = 0; step < 50000; step++) {
		i = p.n > 0 ? (int)(rnd(&seed) % (uint32_t)p.n) : -1;
		switch (rnd(&seed) % 10) {
		case 0:
		case 1:
			padd(&p, "r", now);
			break;
		case 2:
		case 3:
			/* answered, maybe by the target before the last */
			if (i >= 0 && p.q[i].sent_to != 0)
				answer(&p, p.q[i].rid);
			break;
		case 4:
			if (i >= 0 && p.q[i].sent_at != 0)
				proxy_nack(&p, p.q[i].sent_to, p.q[i].rid, now);
			break;
		case 5:
			if (rnd(&seed) % 10 == 0)
				proxy_target(&p, rnd(&seed) % 3, now);
			break;
		default:
			now += (msec_t)(rnd(&seed) % 400);
			break;
		}
		while (proxy_expired(&p, now, &r) == 0)
			free(r.body);
		n = proxy_due(&p, now, sent, 256);
		if (p.target == 0 && n > 0)
			untargeted++;
		for (k = 0; k < n; k++)
			if (sent[k].to != p.target)
				wrong++;
		for (i = fresh = 0; i < p.n; i++)
			if (p.q[i].sent_at != 0 && now - p.q[i].sent_at < PROXY_RESEND)
				fresh++;
		if (!p.ready && fresh > 1)
			probes++;
		if (fresh > PROXY_WINDOW)
			window++;
		d = proxy_next_deadline(&p);
		if (d >= 0 && d <= now && spin++ == 0)
			printf("proxy_random: step %d at %lld: deadline %lld, ready %d, target %d\n",
			    step, (long long)now, (long long)d, p.ready, (int)p.target);
	}
	CHECK_INT(spin, 0);
	CHECK_INT(untargeted, 0);
	CHECK_INT(wrong, 0);
	CHECK_INT(probes, 0);
	CHECK_INT(window, 0);
	CHECK(p.answered > 1000 && p.resent > 0 && p.expired > 0);
	proxy_free(&p);
}

int
main(void)
{
	RUN(proxy_buffer_bound);
	RUN(proxy_no_target);
	RUN(proxy_probes_one_at_a_time);
	RUN(proxy_window_after_answer);
	RUN(proxy_target_change);
	RUN(proxy_requeue_lost);
	RUN(proxy_paths_kept);
	RUN(proxy_expiry);
	RUN(proxy_random);
	return unit_done();
}
