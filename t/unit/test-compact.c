/*
 * test-compact.c: lib/compact.c, memberd's binary payloads: the exact bytes
 * of each layout, round trips, LEB128 in its shortest form only, every bad
 * length, zero and unknown kind refused, and short forms that come back to
 * the long form they were made from, with the connection's uids.
 */
#include <string.h>

#include "bytes.h"
#include "compact.h"
#include "unit.h"

static const uint64_t A = 0x0102030405060708ULL, B = 0x1112131415161718ULL;

static void
leb128(void)
{
	unsigned char p[12];
	uint64_t v;
	static const struct { uint64_t v; size_t len; } vec[] = {
		{ 1, 1 }, { 127, 1 }, { 128, 2 }, { 16383, 2 }, { 16384, 3 },
		{ UINT64_MAX, 10 },
	};
	size_t i;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		CHECK_INT(leb128_put(p, vec[i].v), vec[i].len);
		CHECK_INT(leb128_get(p, vec[i].len, &v), vec[i].len);
		CHECK(v == vec[i].v);
		/* cut short: no end */
		CHECK_INT(leb128_get(p, vec[i].len - 1, &v), 0);
	}
	/* 300 = 0xac 0x02 */
	CHECK_INT(leb128_put(p, 300), 2);
	CHECK_INT(p[0], 0xac);
	CHECK_INT(p[1], 0x02);
	/* not the shortest form: 1 as 0x81 0x00 */
	p[0] = 0x81, p[1] = 0x00;
	CHECK_INT(leb128_get(p, 2, &v), 0);
	/* more than 64 bits: a tenth byte over 1, or an eleventh */
	memset(p, 0xff, 9);
	p[9] = 0x02;
	CHECK_INT(leb128_get(p, 10, &v), 0);
	memset(p, 0x80, 10);
	p[10] = 0x01;
	CHECK_INT(leb128_get(p, 11, &v), 0);
}

static void
layouts(void)
{
	unsigned char p[CPT_MAX], want[CPT_MAX];
	struct compact c = { .kind = CPT_HB, .from = A, .to = B, .seq = 300 }, d;
	size_t len;

	/* hb: kind | from | to | seq */
	len = compact_encode(p, &c);
	CHECK_INT(len, 19);
	want[0] = CPT_HB;
	be64_put(want + 1, A);
	be64_put(want + 9, B);
	want[17] = 0xac, want[18] = 0x02;
	CHECK(memcmp(p, want, len) == 0);
	CHECK_INT(compact_decode(p, len, &d), 0);
	CHECK(d.kind == CPT_HB && d.from == A && d.to == B && d.seq == 300);

	/* digest: kind | from | to | vh | sh | n */
	c.kind = CPT_DIGEST;
	c.vh = 0xa1a2a3a4a5a6a7a8ULL;
	c.sh = 0xb1b2b3b4b5b6b7b8ULL;
	c.seq = 5;
	len = compact_encode(p, &c);
	CHECK_INT(len, 34);
	CHECK_INT(p[0], CPT_DIGEST);
	CHECK(be64_get(p + 17) == c.vh && be64_get(p + 25) == c.sh);
	CHECK_INT(p[33], 5);
	CHECK_INT(compact_decode(p, len, &d), 0);
	CHECK(d.vh == c.vh && d.sh == c.sh && d.seq == 5 && d.from == A && d.to == B);
	c.seq = UINT64_MAX;
	CHECK_INT(compact_encode(p, &c), CPT_MAX);
	CHECK_INT(compact_decode(p, CPT_MAX, &d), 0);
	CHECK(d.seq == UINT64_MAX);

	/* bind: kind | from | to, nothing after */
	c.kind = CPT_BIND;
	len = compact_encode(p, &c);
	CHECK_INT(len, CPT_UIDS);
	CHECK_INT(compact_decode(p, len, &d), 0);
	CHECK(d.kind == CPT_BIND && d.from == A && d.to == B);
	CHECK_INT(compact_decode(p, len + 1, &d), -1);
}

static void
refused(void)
{
	unsigned char p[CPT_MAX + 4];
	struct compact c = { .kind = CPT_HB_RSP, .from = A, .to = B, .seq = 1 }, d;
	size_t len = compact_encode(p, &c), k;

	/* every cut is refused, and a byte more */
	for (k = 0; k < len; k++)
		CHECK_INT(compact_decode(p, k, &d), -1);
	p[len] = 0x01;
	CHECK_INT(compact_decode(p, len + 1, &d), -1);
	/* seq 0, uid 0 */
	c.seq = 0;
	CHECK_INT(compact_decode(p, compact_encode(p, &c), &d), -1);
	c.seq = 1;
	c.from = 0;
	CHECK_INT(compact_decode(p, compact_encode(p, &c), &d), -1);
	c.from = A;
	c.to = 0;
	CHECK_INT(compact_decode(p, compact_encode(p, &c), &d), -1);
	/* a digest cut inside its digests, a counter 0 */
	c.kind = CPT_DIGEST;
	c.to = B;
	len = compact_encode(p, &c);
	CHECK_INT(compact_decode(p, 30, &d), -1);
	c.seq = 0;
	CHECK_INT(compact_decode(p, compact_encode(p, &c), &d), -1);
	/* kinds: unknown, and short forms are no long forms */
	c.seq = 7;
	len = compact_encode(p, &c);
	p[0] = 0xa7;
	CHECK_INT(compact_decode(p, len, &d), -1);
	p[0] = CPT_DIGEST + CPT_BOUND;
	CHECK_INT(compact_decode(p, len, &d), -1);
	CHECK_INT(compact_kind_known(0xa1), 1);
	CHECK_INT(compact_kind_known(0xb0), 1);
	CHECK_INT(compact_kind_known(0xb1), 2);
	CHECK_INT(compact_kind_known(0xb3), 2);
	CHECK_INT(compact_kind_known(0xa0), 0);
	CHECK_INT(compact_kind_known(0xb4), 0);
	CHECK_INT(compact_kind_known('{'), 0);
}

static void
short_forms(void)
{
	unsigned char p[CPT_MAX], s[CPT_MAX], back[CPT_MAX];
	struct compact c = { .kind = CPT_HB, .from = A, .to = B, .seq = 200 }, d;
	int kinds[] = { CPT_HB, CPT_HB_RSP, CPT_DIGEST };
	size_t len, slen, i;

	for (i = 0; i < 3; i++) {
		c.kind = kinds[i];
		c.vh = 9, c.sh = 10;
		len = compact_encode(p, &c);
		slen = compact_shorten(p, len, s);
		/* the uids go: 16 bytes less */
		CHECK_INT(slen, len - 16);
		CHECK_INT(s[0], kinds[i] + CPT_BOUND);
		CHECK_INT(compact_expand(s, slen, A, B, back), len);
		CHECK(memcmp(back, p, len) == 0);
		/* the connection's uids are the ones that come back */
		CHECK_INT(compact_expand(s, slen, B, A, back), len);
		CHECK_INT(compact_decode(back, len, &d), 0);
		CHECK(d.from == B && d.to == A && d.seq == 200);
	}
	/* a short heartbeat: 3 bytes at seq 200 */
	c.kind = CPT_HB;
	CHECK_INT(compact_shorten(p, compact_encode(p, &c), s), 3);
	/* a bind frame has no short form; a long form does not expand; nor does a lone kind */
	c.kind = CPT_BIND;
	CHECK_INT(compact_shorten(p, compact_encode(p, &c), s), 0);
	c.kind = CPT_HB;
	len = compact_encode(p, &c);
	CHECK_INT(compact_expand(p, len, A, B, back), 0);
	s[0] = CPT_HB + CPT_BOUND;
	CHECK_INT(compact_expand(s, 1, A, B, back), 0);
	/* an expanded short form with a bad seq is refused by the decoder */
	s[1] = 0x80;
	s[2] = 0x00;
	CHECK_INT(compact_decode(back, compact_expand(s, 3, A, B, back), &d), -1);
}

int
main(void)
{
	RUN(leb128);
	RUN(layouts);
	RUN(refused);
	RUN(short_forms);
	return unit_done();
}
