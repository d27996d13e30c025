/*
 * test-b64.c: lib/b64.c, the one base64 of payloads and results: RFC 4648
 * vectors both ways, every way of bad input refused (not half decoded), a
 * bounded decode that refuses what does not fit, and binary bytes (NULs,
 * 0xff) that come back as they went.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "b64.h"
#include "log.h"
#include "unit.h"

static const char *vec[][2] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static void
vectors(void)
{
	size_t i, len;
	char *s, buf[16];
	unsigned char *bin;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		s = b64_encode(vec[i][0], strlen(vec[i][0]));
		CHECK_STR(s, vec[i][1]);
		CHECK_INT(b64_encoded_len(strlen(vec[i][0])), strlen(vec[i][1]) + 1);
		free(s);
		CHECK_STR(b64_encode_buf(buf, sizeof(buf), vec[i][0], strlen(vec[i][0])),
		    vec[i][1]);
		bin = b64_decode_alloc(vec[i][1], &len);
		CHECK(bin != NULL);
		CHECK_INT(len, strlen(vec[i][0]));
		CHECK_STR((char *)bin, vec[i][0]);	/* NUL-terminated */
		free(bin);
	}
}

static void
bad_input(void)
{
	static const char *bad[] = {
		"Zm9v!", "Zm9", "Zg=", "Zg", "Zm9vYg==Zm9v", "Zm9v\n", "Z===", "=",
		"Zm 9v", "Zm9vYg===", "-_-_",
	};
	size_t i, len = 99;
	unsigned char out[64];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(b64_decode_alloc(bad[i], &len) == NULL);
		CHECK_INT(len, 0);
		CHECK_INT(b64_decode(out, sizeof(out), bad[i], strlen(bad[i]), &len), -1);
	}
}

static void
bounded(void)
{
	unsigned char out[6];
	size_t len = 0;

	CHECK_INT(b64_decode(out, 6, "Zm9vYmFy", 8, &len), 0);
	CHECK_INT(len, 6);
	CHECK(memcmp(out, "foobar", 6) == 0);
	CHECK_INT(b64_decode(out, 5, "Zm9vYmFy", 8, &len), -1);	/* does not fit */
	/* slen bounds what is read: "Zm9v" of the longer string */
	CHECK_INT(b64_decode(out, 6, "Zm9vYmFy", 4, &len), 0);
	CHECK_INT(len, 3);
	CHECK_INT(B64_DECODED_MAX(8), 9);
}

static void
binary(void)
{
	unsigned char in[256], *out;
	size_t i, n, len;
	char *s;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(255 - i);
	for (n = 0; n <= sizeof(in); n += 37) {
		s = b64_encode(in, n);
		CHECK_INT(strlen(s), (n + 2) / 3 * 4);
		out = b64_decode_alloc(s, &len);
		CHECK(out != NULL && len == n && memcmp(out, in, n) == 0);
		free(out);
		free(s);
	}
}

int
main(void)
{
	log_init("test-b64");
	if (sodium_init() < 0)
		return 1;
	RUN(vectors);
	RUN(bad_input);
	RUN(bounded);
	RUN(binary);
	return unit_done();
}
