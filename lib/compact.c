/* compact.c: codecs of memberd's binary payloads (compact.h, doc/PROTOCOL.md). */
#include <string.h>

#include "bytes.h"
#include "compact.h"

size_t
leb128_put(unsigned char *p, uint64_t v)
{
	size_t len = 0;

	do {
		p[len++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v > 0);
	return len;
}

size_t
leb128_get(const unsigned char *p, size_t len, uint64_t *v)
{
	size_t k;

	*v = 0;
	for (k = 0; k < len && k < 10; k++) {
		/* the tenth byte of a 64-bit number holds its top bit only */
		if (k == 9 && p[k] > 1)
			return 0;
		*v |= (uint64_t)(p[k] & 0x7f) << (7 * k);
		if (!(p[k] & 0x80))
			/* the shortest form: no high zero byte */
			return k > 0 && p[k] == 0 ? 0 : k + 1;
	}
	return 0;
}

int
compact_kind_known(int kind)
{
	switch (kind) {
	case CPT_HB: case CPT_HB_RSP: case CPT_DIGEST: case CPT_BIND:
		return 1;
	case CPT_HB + CPT_BOUND: case CPT_HB_RSP + CPT_BOUND: case CPT_DIGEST + CPT_BOUND:
		return 2;
	}
	return 0;
}

size_t
compact_encode(unsigned char *p, const struct compact *c)
{
	size_t len = CPT_UIDS;

	p[0] = (unsigned char)c->kind;
	be64_put(p + 1, c->from);
	be64_put(p + 9, c->to);
	if (c->kind == CPT_DIGEST) {
		be64_put(p + len, c->vh);
		be64_put(p + len + 8, c->sh);
		len += 16;
	}
	if (c->kind != CPT_BIND)
		len += leb128_put(p + len, c->seq);
	return len;
}

int
compact_decode(const unsigned char *p, size_t len, struct compact *c)
{
	size_t at = CPT_UIDS, k;

	memset(c, 0, sizeof(*c));
	if (len < CPT_UIDS || compact_kind_known(p[0]) != 1)
		return -1;
	c->kind = p[0];
	c->from = be64_get(p + 1);
	c->to = be64_get(p + 9);
	if (c->from == 0 || c->to == 0)
		return -1;
	if (c->kind == CPT_BIND)
		return len == CPT_UIDS ? 0 : -1;
	if (c->kind == CPT_DIGEST) {
		if (len < at + 16)
			return -1;
		c->vh = be64_get(p + at);
		c->sh = be64_get(p + at + 8);
		at += 16;
	}
	/* the number ends the payload */
	k = leb128_get(p + at, len - at, &c->seq);
	return k == 0 || at + k != len || c->seq == 0 ? -1 : 0;
}

size_t
compact_shorten(const unsigned char *p, size_t len, unsigned char *out)
{
	if (len <= CPT_UIDS || len > CPT_MAX || compact_kind_known(p[0]) != 1 || p[0] == CPT_BIND)
		return 0;
	out[0] = (unsigned char)(p[0] + CPT_BOUND);
	memcpy(out + 1, p + CPT_UIDS, len - CPT_UIDS);
	return len - CPT_UIDS + 1;
}

size_t
compact_expand(const unsigned char *p, size_t len, uint64_t from, uint64_t to,
    unsigned char *out)
{
	if (len < 2 || len > CPT_MAX - CPT_UIDS + 1 || compact_kind_known(p[0]) != 2)
		return 0;
	out[0] = (unsigned char)(p[0] - CPT_BOUND);
	be64_put(out + 1, from);
	be64_put(out + 9, to);
	memcpy(out + CPT_UIDS, p + 1, len - 1);
	return len - 1 + CPT_UIDS;
}
