/* b64.c: base64 over libsodium (b64.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "b64.h"
#include "xmalloc.h"

size_t
b64_encoded_len(size_t len)
{
	return sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
}

char *
b64_encode_buf(char *out, size_t outlen, const void *buf, size_t len)
{
	return sodium_bin2base64(out, outlen, buf, len, sodium_base64_VARIANT_ORIGINAL);
}

char *
b64_encode(const void *buf, size_t len)
{
	size_t n = b64_encoded_len(len);

	return b64_encode_buf(xcalloc(1, n), n, buf, len);
}

int
b64_decode(void *out, size_t cap, const char *s, size_t slen, size_t *len)
{
	/* no end pointer: libsodium then refuses any input it did not consume */
	if (sodium_base642bin(out, cap, s, slen, NULL, len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return 0;
}

void *
b64_decode_alloc(const char *s, size_t *len)
{
	size_t slen = strlen(s);
	unsigned char *bin = xcalloc(1, B64_DECODED_MAX(slen));

	if (b64_decode(bin, B64_DECODED_MAX(slen), s, slen, len) < 0) {
		free(bin);
		*len = 0;
		return NULL;
	}
	bin[*len] = '\0';	/* room: len <= slen / 4 * 3 */
	return bin;
}
