/*
 * b64.h: base64 (the original alphabet, padded) over libsodium, written
 * once. Payloads and results travel in JSON as base64; the master, the
 * worker, the tools and the HTTP gateway each had their own copy of the
 * same four lines, with slightly different buffer sizes.
 */
#ifndef AKC_B64_H
#define AKC_B64_H

#include <stddef.h>

/* Enough room for the bytes of slen base64 characters, and one more. */
#define B64_DECODED_MAX(slen)	((slen) / 4 * 3 + 3)

/* The base64 of buf[0..len) as a NUL-terminated string (malloc'd; never NULL). */
char *b64_encode(const void *buf, size_t len);
/* The same into out (outlen >= b64_encoded_len(len)); returns out. */
char *b64_encode_buf(char *out, size_t outlen, const void *buf, size_t len);
/* The length of the encoding of len bytes, with its NUL. */
size_t b64_encoded_len(size_t len);

/*
 * Decodes all of s[0..slen) into out (cap bytes), its length in *len;
 * -1 if s is not base64 (bad characters, bad padding, trailing bytes) or
 * the bytes do not fit in cap.
 */
int b64_decode(void *out, size_t cap, const char *s, size_t slen, size_t *len);
/*
 * Decodes the string s into a malloc'd buffer with a NUL after the bytes
 * (results are often shown as text); NULL and *len = 0 if s is not base64.
 */
void *b64_decode_alloc(const char *s, size_t *len);

#endif
