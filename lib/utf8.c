/* utf8.c: strict UTF-8 validation (RFC 3629 section 4), without I/O. */
#include <string.h>

#include "utf8.h"

/*
 * Table 3-7 of the Unicode standard: the lead byte c fixes the length of
 * the character (0: c cannot start one) and the range of its second byte,
 * which is where overlong forms, surrogates and code points over U+10FFFF
 * are told apart; the bytes after that are 80-BF.
 */
static size_t
lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c < 0xc2)			/* a continuation byte, or overlong C0/C1 */
		return 0;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0) {
		if (c == 0xe0)
			*lo = 0xa0;	/* below: overlong */
		else if (c == 0xed)
			*hi = 0x9f;	/* above: the surrogates D800-DFFF */
		return 3;
	}
	if (c < 0xf5) {
		if (c == 0xf0)
			*lo = 0x90;	/* below: overlong */
		else if (c == 0xf4)
			*hi = 0x8f;	/* above: over U+10FFFF */
		return 4;
	}
	return 0;
}

/* How many of the left bytes at p (at most the character's length) fit a character. */
static size_t
fitting(const unsigned char *p, size_t left, size_t *len)
{
	unsigned char lo, hi;
	size_t i;

	if (left == 0 || (*len = lead(p[0], &lo, &hi)) == 0)
		return 0;
	if (*len == 1 || left == 1)
		return 1;
	if (p[1] < lo || p[1] > hi)
		return 1;
	for (i = 2; i < *len && i < left; i++)
		if ((p[i] & 0xc0) != 0x80)
			return i;
	return i;
}

size_t
utf8_char(const unsigned char *p, size_t left)
{
	size_t len = 0;

	return fitting(p, left, &len) == len && len > 0 ? len : 0;
}

size_t
utf8_check(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {	/* ASCII runs are the common case */
			i++;
			continue;
		}
		if ((n = utf8_char(p + i, len - i)) == 0)
			return i;
		i += n;
	}
	return len;
}

int
utf8_valid(const void *buf, size_t len)
{
	return utf8_check(buf, len) == len;
}

int
utf8_text(const void *buf, size_t len)
{
	return memchr(buf, '\0', len) == NULL && utf8_valid(buf, len);
}

void
utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s), i = 0, n, want = 0;

	while (i < len) {
		if ((n = utf8_char(p + i, len - i)) > 0) {
			i += n;
			continue;
		}
		/* the start of a character whose last bytes are missing: cut short */
		if (fitting(p + i, len - i, &want) == len - i && want > len - i) {
			p[i] = '\0';
			return;
		}
		p[i++] = '?';
	}
}
