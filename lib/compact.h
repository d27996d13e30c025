/*
 * compact.h: the binary payloads memberd sends instead of its most frequent
 * JSON messages (doc/PROTOCOL.md, "Compact heartbeats" and "Compact
 * digests and bound connections"). Told from JSON by the first byte, 0x80
 * or above; that byte is the layout's version: another layout gets another
 * kind. Codecs only: what the fields mean is memberd's core's business.
 *
 * Long form: kind | from uid (8, big-endian) | to uid (8) | rest.
 * Short form (kind + CPT_BOUND): kind | rest, the two uids left out, only
 * on a connection that a bind frame (CPT_BIND: kind | from | to) opened,
 * and only in plain frames: the connection supplies the uids.
 */
#ifndef AKC_COMPACT_H
#define AKC_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#define CPT_HB		0xa1	/* "hb": rest = seq (LEB128) */
#define CPT_HB_RSP	0xa2	/* "hb-rsp": rest = seq (LEB128) */
#define CPT_DIGEST	0xa3	/* "status" with vh, sh: rest = vh (8) | sh (8) | n (LEB128) */
#define CPT_BIND	0xb0	/* opens a connection: from | to, nothing after */
#define CPT_READS_BACK	0xb4	/* after a bind frame: its opener reads the connection; nothing after */
#define CPT_BOUND	0x10	/* a short form's kind is its long form's plus this */
#define CPT_UIDS	17	/* kind and the two uids */
#define CPT_MAX		43	/* the longest: a digest with a 10-byte n */
/* What a node announces ("cv" in its JSON hello, hb and digest) when it reads all of the above. */
#define CPT_VERSION	2

struct compact {
	int kind;		/* a long kind, or CPT_BIND */
	uint64_t from, to;
	uint64_t seq;		/* hb, hb-rsp: the heartbeat's seq; digest: the message counter n */
	uint64_t vh, sh;	/* digest: of the version and of the seen set */
};

/* The long form of c (or the bind frame) in p (CPT_MAX bytes); its length. */
size_t compact_encode(unsigned char *p, const struct compact *c);
/*
 * Decodes a long form or a bind frame: 0, or -1 if it is not exactly one
 * (a wrong length, a LEB128 number not in its shortest form or followed by
 * bytes, a uid or number of 0). The kind must be known: compact_kind_known.
 */
int compact_decode(const unsigned char *p, size_t len, struct compact *c);
/* 1 for a long kind or CPT_BIND, 2 for a short kind, 0 for anything else. */
int compact_kind_known(int kind);
/* The short form of long form p in out (CPT_MAX bytes); 0 if it has none. */
size_t compact_shorten(const unsigned char *p, size_t len, unsigned char *out);
/* The long form of short form p, the connection's uids put back; 0 if p is no short form. */
size_t compact_expand(const unsigned char *p, size_t len, uint64_t from, uint64_t to,
    unsigned char *out);
/* LEB128: the bytes written (1-10), or read (0 if not in shortest form, or too long). */
size_t leb128_put(unsigned char *p, uint64_t v);
size_t leb128_get(const unsigned char *p, size_t len, uint64_t *v);

#endif
