/* test-utf8.c: the strict UTF-8 validator (lib/utf8.c). */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "utf8.h"

/* Whether the len bytes of s are valid UTF-8. */
#define VALID(s)	utf8_valid((s), sizeof(s) - 1)

static void
valid_text(void)
{
	CHECK(VALID(""));
	CHECK(VALID("plain ASCII\n"));
	CHECK(VALID("\x7f"));
	CHECK(VALID("\xc2\x80"));			/* U+0080, the first 2-byte one */
	CHECK(VALID("\xc3\xa9t\xc3\xa9"));		/* été */
	CHECK(VALID("\xdf\xbf"));			/* U+07FF */
	CHECK(VALID("\xe0\xa0\x80"));			/* U+0800, the first 3-byte one */
	CHECK(VALID("\xe2\x82\xac"));			/* € */
	CHECK(VALID("\xed\x9f\xbf"));			/* U+D7FF, just below the surrogates */
	CHECK(VALID("\xee\x80\x80"));			/* U+E000, just above them */
	CHECK(VALID("\xef\xbf\xbd"));			/* U+FFFD */
	CHECK(VALID("\xef\xbf\xbf"));			/* U+FFFF (a noncharacter, but valid) */
	CHECK(VALID("\xf0\x90\x80\x80"));		/* U+10000, the first 4-byte one */
	CHECK(VALID("\xf0\x9f\x98\x80"));		/* an emoji */
	CHECK(VALID("\xf4\x8f\xbf\xbf"));		/* U+10FFFF, the last code point */
	CHECK(VALID("a\0b"));				/* NUL is UTF-8 ... */
	CHECK(!utf8_text("a\0b", 3));			/* ... but not text a C string carries */
	CHECK(utf8_text("a\xc3\xa9", 3));
	CHECK(utf8_text("", 0));
}

static void
invalid_text(void)
{
	/* overlong forms */
	CHECK(!VALID("\xc0\x80"));			/* NUL in two bytes */
	CHECK(!VALID("\xc1\xbf"));
	CHECK(!VALID("\xe0\x80\x80"));
	CHECK(!VALID("\xe0\x9f\xbf"));			/* U+07FF in three */
	CHECK(!VALID("\xf0\x80\x80\x80"));
	CHECK(!VALID("\xf0\x8f\xbf\xbf"));		/* U+FFFF in four */
	/* UTF-16 surrogates, alone or paired (CESU-8) */
	CHECK(!VALID("\xed\xa0\x80"));			/* U+D800 */
	CHECK(!VALID("\xed\xbf\xbf"));			/* U+DFFF */
	CHECK(!VALID("\xed\xa0\xbd\xed\xb8\x80"));
	/* over U+10FFFF */
	CHECK(!VALID("\xf4\x90\x80\x80"));		/* U+110000 */
	CHECK(!VALID("\xf5\x80\x80\x80"));
	CHECK(!VALID("\xf7\xbf\xbf\xbf"));
	CHECK(!VALID("\xf8\x88\x80\x80\x80"));		/* the old 5-byte form */
	CHECK(!VALID("\xfc\x84\x80\x80\x80\x80"));
	CHECK(!VALID("\xfe"));
	CHECK(!VALID("\xff"));
	/* cut short, at the end or before the next character */
	CHECK(!VALID("\xc3"));
	CHECK(!VALID("\xe2\x82"));
	CHECK(!VALID("\xf0\x9f\x98"));
	CHECK(!VALID("\xe2\x82x"));
	CHECK(!VALID("\xf0\x9f\x98\xc3\xa9"));
	/* stray continuation bytes */
	CHECK(!VALID("\x80"));
	CHECK(!VALID("a\xbf"));
	CHECK(!VALID("\xc3\xa9\xa9"));
	/* Latin-1 is not UTF-8 */
	CHECK(!VALID("caf\xe9"));
	CHECK(!utf8_text("\xc0\x80", 2));
}

static void
where_and_length(void)
{
	CHECK_INT(utf8_check("ab\xc3\xa9" "cd", 6), 6);
	CHECK_INT(utf8_check("ab\xc0\x80", 4), 2);
	CHECK_INT(utf8_check("\xc3\xa9\xed\xa0\x80", 5), 2);
	CHECK_INT(utf8_check("abc\xe2\x82", 5), 3);
	CHECK_INT(utf8_char((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	CHECK_INT(utf8_char((const unsigned char *)"\xf0\x9f\x98\x80", 3), 0);
	CHECK_INT(utf8_char((const unsigned char *)"\xe2\x82\xac", 3), 3);
	CHECK_INT(utf8_char((const unsigned char *)"x", 0), 0);
	/* every lead byte alone: only ASCII stands by itself */
	{
		unsigned char b[1];
		int c, ok = 1;

		for (c = 0; c < 256; c++) {
			b[0] = (unsigned char)c;
			if (utf8_valid(b, 1) != (c < 0x80))
				ok = 0;
		}
		CHECK(ok);
	}
}

/* Every code point encoded as UTF-8 is valid; every surrogate is not. */
static void
all_code_points(void)
{
	unsigned char b[4];
	unsigned long cp;
	size_t n;
	int bad = 0;

	for (cp = 0; cp <= 0x10ffff; cp++) {
		if (cp < 0x80) {
			b[0] = (unsigned char)cp;
			n = 1;
		} else if (cp < 0x800) {
			b[0] = (unsigned char)(0xc0 | cp >> 6);
			b[1] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			b[0] = (unsigned char)(0xe0 | cp >> 12);
			b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			b[2] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			b[0] = (unsigned char)(0xf0 | cp >> 18);
			b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			b[3] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		if (utf8_valid(b, n) != !(cp >= 0xd800 && cp <= 0xdfff))
			bad++;
	}
	CHECK_INT(bad, 0);
}

static void
scrub(void)
{
	char s[64];

	strcpy(s, "no job 'caf\xc3\xa9'");
	utf8_scrub(s);
	CHECK_STR(s, "no job 'caf\xc3\xa9'");		/* valid: untouched */
	strcpy(s, "cut \xe2\x82");
	utf8_scrub(s);
	CHECK_STR(s, "cut ");				/* a character cut short at the end */
	strcpy(s, "cut \xf0\x9f");
	utf8_scrub(s);
	CHECK_STR(s, "cut ");
	strcpy(s, "a\xc0\x80z\xff");
	utf8_scrub(s);
	CHECK_STR(s, "a??z?");				/* other invalid bytes */
	strcpy(s, "\xed\xa0\x80!");
	utf8_scrub(s);
	CHECK_STR(s, "???" "!");
	strcpy(s, "\xe0\x80");				/* overlong, not cut short */
	utf8_scrub(s);
	CHECK_STR(s, "??");
}

int
main(void)
{
	RUN(valid_text);
	RUN(invalid_text);
	RUN(where_and_length);
	RUN(all_code_points);
	RUN(scrub);
	return unit_done();
}
