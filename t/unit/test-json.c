/*
 * test-json.c: lib/json.c's parsing of what comes from sockets: strings
 * with a NUL or invalid UTF-8 are refused, naming the field, never cut
 * short or passed on.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "../fuzz/jsoncmp.h"
#include "log.h"
#include "unit.h"

static char why[256];

/* Parses the C string s (its length without the NUL); NULL if refused. */
static cJSON *
parse(const char *s)
{
	why[0] = '\0';
	return json_parse_why(s, strlen(s), why, sizeof(why));
}

/* Whether s is refused, with a reason that contains want. */
static int
refused(const char *s, size_t len, const char *want)
{
	cJSON *j;

	why[0] = '\0';
	if ((j = json_parse_why(s, len, why, sizeof(why))) != NULL) {
		cJSON_Delete(j);
		return 0;
	}
	if (strstr(why, want) == NULL) {
		printf("  why: \"%s\", expected \"%s\"\n", why, want);
		return 0;
	}
	return 1;
}

#define REFUSED(lit, want)	refused((lit), sizeof(lit) - 1, (want))

static void
good_strings(void)
{
	cJSON *j;

	j = parse("{\"id\":\"caf\xc3\xa9\",\"e\":\"\\u00e9\\ud83d\\ude00\",\"x\":\"a\\\\u0000\"}");
	CHECK(j != NULL);
	CHECK_STR(json_str(j, "id"), "caf\xc3\xa9");
	CHECK_STR(json_str(j, "e"), "\xc3\xa9\xf0\x9f\x98\x80");
	CHECK_STR(json_str(j, "x"), "a\\u0000");	/* an escaped backslash, then text */
	cJSON_Delete(j);
	/* NULs after the value are allowed (and ignored), as before */
	j = json_parse("{\"op\":\"queue\"}\0\0", 16);
	CHECK(j != NULL);
	cJSON_Delete(j);
	j = json_parse("\"\\u0001\"", 8);
	CHECK(j != NULL && strcmp(j->valuestring, "\x01") == 0);
	cJSON_Delete(j);
}

/* A NUL in a string, escaped or raw, would cut it short: refused. */
static void
nul_in_strings(void)
{
	CHECK(REFUSED("{\"op\":\"submit\",\"id\":\"a\\u0000b\",\"payload\":\"\"}",
	    "'id' contains a NUL character"));
	CHECK(REFUSED("{\"op\":\"submit\",\"id\":\"a\0b\"}", "'id' contains a NUL character"));
	CHECK(REFUSED("{\"id\":\"ok\",\"payload\":\"\\u0000\"}", "'payload' contains a NUL"));
	CHECK(REFUSED("{\"a\\u0000\":1}", "a key contains a NUL character"));
	CHECK(REFUSED("[\"x\",\"\\u0000\"]", "a string contains a NUL"));
	CHECK(REFUSED("\"\\u0000\"", "a string contains a NUL"));
	/* the nearest key names a value in an array, or after a nested object */
	CHECK(REFUSED("{\"ids\":[\"a\",\"b\\u0000\"]}", "'ids' contains"));
	CHECK(REFUSED("{\"o\":{\"x\":1},\"b\":\"\\u0000\"}", "'b' contains"));
	CHECK(REFUSED("{\"o\":{\"inner\":\"\\u0000\"}}", "'inner' contains"));
	/* json_parse refuses it too (it used to give the id "a") */
	CHECK(json_parse("{\"id\":\"a\\u0000b\"}", 17) == NULL);
}

static void
invalid_utf8(void)
{
	CHECK(REFUSED("{\"result\":\"\xc0\x80\"}", "'result' is not valid UTF-8"));
	CHECK(REFUSED("{\"result\":\"x\xed\xa0\x80\"}", "'result' is not valid UTF-8"));
	CHECK(REFUSED("{\"why\":\"\xf4\x90\x80\x80\"}", "'why' is not valid UTF-8"));
	CHECK(REFUSED("{\"why\":\"caf\xe9\"}", "'why' is not valid UTF-8"));
	CHECK(REFUSED("{\"why\":\"\xe2\x82\"}", "'why' is not valid UTF-8"));
	CHECK(REFUSED("{\"\xff\":1}", "a key is not valid UTF-8"));
	CHECK(REFUSED("[\"\xc3\"]", "a string is not valid UTF-8"));
	/* a field name in the message is itself cut to valid UTF-8 */
	CHECK(REFUSED("{\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x\":\"\\u0000\"}",
	    "contains a NUL"));
	CHECK(strstr(why, "\xc3\xa9'") != NULL);	/* 40 bytes: 20 characters, none cut */
}

/*
 * scan_strings reads plain text 32 bytes, then a word (8 bytes) at a
 * time: a NUL, a byte that is not UTF-8, an escape or the closing quote
 * at every offset of a long string, in every block and word position
 * (three blocks of 32 and more), is still found.
 */
static void
long_strings(void)
{
	static const struct { const char *bad; size_t len; const char *want; } cases[] = {
		{ "\0", 1, "contains a NUL" },
		{ "\\u0000", 6, "contains a NUL" },
		{ "\xff", 1, "is not valid UTF-8" },
		{ "\xc3", 1, "is not valid UTF-8" },
	};
	static const char digits[] = "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789";
	enum { L = 110 };
	char buf[256];
	size_t c, at, n;
	cJSON *j;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (at = 0; at < L; at++) {
			n = (size_t)snprintf(buf, sizeof(buf), "{\"members\":\"");
			memset(buf + n, 'a', at);
			n += at;
			memcpy(buf + n, cases[c].bad, cases[c].len);
			n += cases[c].len;
			memset(buf + n, 'b', L - at);
			n += L - at;
			memcpy(buf + n, "\"}", 2);
			n += 2;
			j = json_parse_why(buf, n, why, sizeof(why));
			CHECK(j == NULL && strstr(why, cases[c].want) != NULL);
			cJSON_Delete(j);
		}
	/* and a good long string, with an é at every offset, and escapes */
	for (at = 0; at < L; at++) {
		n = (size_t)snprintf(buf, sizeof(buf), "{\"m\":\"%.*s\xc3\xa9\\\"x\\\\%.*s\",\"k\":1}",
		    (int)at, digits, (int)(L - at), digits);
		j = json_parse(buf, n);
		CHECK(j != NULL && strlen(json_str(j, "m")) == L + 2 + 3);
		cJSON_Delete(j);
	}
}

/* Whether the fast path and cJSON agree on buf: both refuse it, or read the same tree. */
static int
same_as_cjson(const char *buf, size_t len)
{
	cJSON *a = json_parse_stored(buf, len), *b = cjson_only(buf, len);
	int ok = (a == NULL && b == NULL) || (a != NULL && b != NULL && tree_same(a, b));

	if (!ok)
		printf("  differs from cJSON: %.*s\n", (int)(len > 200 ? 200 : len), buf);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return ok;
}

/*
 * json_parse's fast path (strict JSON, strings without escapes) reads
 * what cJSON reads, to the same tree, and leaves the rest to cJSON: the
 * same answer on valid messages, on each kind of value, and on 30,000
 * mutations of a gossip-like message (a byte changed, inserted or the
 * message cut short).
 */
static void
fast_path(void)
{
	static const char *const good[] = {
		"{\"v\":2,\"t\":\"gossip\",\"from\":{\"node\":\"a\",\"uid\":\"12\"},\"state\":{\"members\":\"1 a tcp://x:1 U  1\",\"seen\":\"1\"},\"cv\":1,\"bcast\":true,\"fwd\":null}",
		" [ 1 , -0 , 0.5 , -12.25e+3 , 1E-2 , 2147483648 , -2147483649 , 1e400 , 123456789012345678901234567890 ] ",
		"{\"a\":1,\"a\":2,\"\":\"\",\"b\":[],\"c\":{},\"d\":[{}],\"e\":false}",
		"\"top\"", "3", "null", "true", "{\"x\":\"caf\xc3\xa9\"}", "{\"x\":\"a\\\"b\\u00e9\\n\"}",
		"\xef\xbb\xbf{}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":+1}", "{\"a\":1,}",
		"[1 2]", "{\"a\" 1}", "{\"a\":tru}", "{\"a\":\"x\"}\0\0", "{\"a\":\"x\"} x", "\x01{}",
		"{\"a\":\"\x01\x1f\"}", "{\"a\":\"x\0y\"}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		NULL
	};
	static const char fill[] = "\"\\{}[],: \t\n0-e.atnfu\x80\x1f\xff";
	char buf[512];
	size_t len, base, at;
	unsigned r = 12345;
	int i, k, bad = 0;

	for (i = 0; good[i] != NULL; i++)
		CHECK(same_as_cjson(good[i], strlen(good[i]) + (strstr(good[i], "\"x\"}\0") ? 2 : 0)));
	base = strlen(good[0]);
	for (i = 0; i < 30000; i++) {
		memcpy(buf, good[0], base);
		len = base;
		for (k = 0; k < 1 + i % 3; k++) {
			r = r * 1103515245 + 12345;
			at = (r >> 8) % len;
			r = r * 1103515245 + 12345;
			switch ((r >> 8) % 3) {
			case 0:
				buf[at] = fill[(r >> 12) % (sizeof(fill) - 1)];
				break;
			case 1:
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = fill[(r >> 12) % (sizeof(fill) - 1)];
				len++;
				break;
			default:
				len = at + 1;
			}
		}
		bad += !same_as_cjson(buf, len);
	}
	CHECK_INT(bad, 0);
}

static void
not_json(void)
{
	CHECK(REFUSED("{\"a\":", "not one JSON value"));
	CHECK(REFUSED("{} {}", "not one JSON value"));
	CHECK(json_parse_why("", 0, why, sizeof(why)) == NULL);
	CHECK(json_parse_why(NULL, 0, NULL, 0) == NULL);
	/* without room for a reason */
	CHECK(json_parse_why("\"\\u0000\"", 8, NULL, 0) == NULL);
}

/* The journal's own text: the string checks do not apply (older results). */
static void
stored(void)
{
	cJSON *j = json_parse_stored("{\"result\":\"\xc0\x80\"}", 15);

	CHECK(j != NULL);
	CHECK_STR(json_str(j, "result"), "\xc0\x80");
	cJSON_Delete(j);
	CHECK(json_parse_stored("{\"a\":", 5) == NULL);
}

/* json_print (lib/jprint.c) prints what cJSON_PrintUnformatted prints. */
static int
prints_as_cjson(const cJSON *t)
{
	char *a = json_print_fast(t), *b = cJSON_PrintUnformatted(t);
	int ok = a != NULL && b != NULL && strcmp(a, b) == 0;

	if (!ok)
		fprintf(stderr, "printed '%s', cJSON '%s'\n", a ? a : "(null)", b ? b : "(null)");
	free(a);
	cJSON_free(b);
	return ok;
}

static void
print_same(void)
{
	static const double nums[] = { 0, -0.0, 1, -1, 7, 10, 99, 100, 2147483647.0, 2147483648.0,
	    -2147483649.0, 1765112345678.0, 999999999999999.0, -999999999999999.0, 1e15, -1e15,
	    1e15 + 2, 9007199254740992.0, 9007199254740993.0, 1e16, 1e17, 1e300, -1e300, 0.1, 0.5,
	    1.5, -3.25, 1.0 / 3, 2.0 / 3, 1e-7, 5e-324, 1.7976931348623157e308, 123.456, 1e21,
	    18446744073709551615.0, -9.5, 4503599627370496.5, 0.000001, 1234567.125 };
	static const char *strs[] = { "", "a", "a\"b", "back\\slash", "\b\f\n\r\t",
	    "\x01\x1f\x7f", "caf\xc3\xa9", "\xff\xfe", "/", "\x1b[0m", "tab\there" };
	cJSON *o, *a;
	size_t i;
	char *s;
	uint32_t r = 7;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		cJSON *n = cJSON_CreateNumber(nums[i]);

		CHECK(prints_as_cjson(n));
		cJSON_Delete(n);
	}
	/* random doubles and integers of every size */
	for (i = 0; i < 20000; i++) {
		cJSON *n;
		double d;
		uint64_t bits;

		r = r * 1103515245u + 12345u;
		bits = ((uint64_t)r << 32) ^ (r * 2654435761u);
		switch (i % 4) {
		case 0: memcpy(&d, &bits, sizeof(d)); break;
		case 1: d = (double)(int64_t)(bits >> (r % 64)); break;
		case 2: d = (double)(int64_t)(bits >> (r % 64)) / 1000.0; break;
		default: d = -(double)(bits >> 11) * 1e-3;
		}
		n = cJSON_CreateNumber(d);
		CHECK(prints_as_cjson(n));
		cJSON_Delete(n);
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		cJSON *n = cJSON_CreateString(strs[i]);

		CHECK(prints_as_cjson(n));
		cJSON_Delete(n);
	}
	/* nesting, empty containers, keys that need escapes, raw, true/false/null */
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "e", cJSON_CreateArray());
	cJSON_AddItemToObject(o, "o", cJSON_CreateObject());
	cJSON_AddItemToObject(o, "k\"\n", cJSON_CreateTrue());
	cJSON_AddItemToObject(o, "f", cJSON_CreateFalse());
	cJSON_AddItemToObject(o, "n", cJSON_CreateNull());
	cJSON_AddItemToObject(o, "raw", cJSON_CreateRaw("{\"x\":[1,2]}"));
	a = cJSON_AddArrayToObject(o, "a");
	cJSON_AddItemToArray(a, cJSON_CreateNumber(1765112345678.0));
	cJSON_AddItemToArray(a, cJSON_CreateString("s"));
	cJSON_AddItemToArray(a, cJSON_CreateArray());
	CHECK(prints_as_cjson(o));
	s = json_print(o);
	CHECK_STR(s, "{\"e\":[],\"o\":{},\"k\\\"\\n\":true,\"f\":false,\"n\":null,"
	    "\"raw\":{\"x\":[1,2]},\"a\":[1765112345678,\"s\",[]]}");
	cJSON_free(s);
	cJSON_Delete(o);
	/* NaN and infinities (null), a stale valueint (cJSON 1.7.15 reads valuedouble alone) */
	{
		const double odd[] = { NAN, -NAN, INFINITY, -INFINITY, -0.0, 1e15 - 0.5, 1e23 };
		char b3[4] = { 'a', 0, 'b', 0 };
		int c;

		for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
			cJSON *n = cJSON_CreateNumber(odd[i]);

			CHECK(prints_as_cjson(n));
			n->valueint = 5;
			CHECK(prints_as_cjson(n));
			cJSON_Delete(n);
		}
		/* every byte in a string */
		for (c = 1; c < 256; c++) {
			cJSON *n;

			b3[1] = (char)c;
			n = cJSON_CreateString(b3);
			CHECK(prints_as_cjson(n));
			cJSON_Delete(n);
		}
	}
	/* references, a const key, a NULL string, an object item without a key */
	o = cJSON_CreateObject();
	a = cJSON_CreateString("v");
	cJSON_AddItemReferenceToObject(o, "ref", a);
	cJSON_AddItemToObject(o, "sr", cJSON_CreateStringReference("const"));
	cJSON_AddItemToObjectCS(o, "cs", cJSON_CreateNull());
	cJSON_AddItemToArray(o, cJSON_CreateNumber(1));
	{
		cJSON *ns = cJSON_CreateString("x");

		free(ns->valuestring);
		ns->valuestring = NULL;
		cJSON_AddItemToObject(o, "ns", ns);
	}
	CHECK(prints_as_cjson(o));
	cJSON_Delete(o);
	cJSON_Delete(a);
	/* what cJSON will not print, neither does it */
	o = cJSON_CreateObject();
	a = cJSON_CreateRaw("x");
	free(a->valuestring);
	a->valuestring = NULL;
	cJSON_AddItemToObject(o, "r", a);
	CHECK(json_print_fast(o) == NULL);
	CHECK(cJSON_PrintUnformatted(o) == NULL);
	cJSON_Delete(o);
}

/*
 * json_print_cut: the text json_print gives, less the span, which was at
 * *at; an item not in the tree leaves the text whole (at -1); a span past
 * the item's text is refused.
 */
static void
print_cut(void)
{
	static const char raw[] = "{\"members\":\"n1 a b:1;n2 c d:2\",\"version\":\"0:1\"}";
	cJSON *o = cJSON_CreateObject(), *r, *other = cJSON_CreateRaw("{}");
	size_t at, len = strlen("n1 a b:1;n2 c d:2");
	char *whole, *cut, *t;

	cJSON_AddNumberToObject(o, "v", 2);
	cJSON_AddStringToObject(o, "t", "gossip");
	r = cJSON_CreateRaw(raw);
	cJSON_AddItemToObject(o, "state", r);
	cJSON_AddStringToObject(o, "cvs", "f");
	whole = json_print(o);
	cut = json_print_cut(o, r, 12, len, &at);
	CHECK(cut != NULL);
	CHECK(at != (size_t)-1 && at + len <= strlen(whole));
	if (cut != NULL && at != (size_t)-1 && at + len <= strlen(whole)) {
		CHECK(strncmp(whole + at, "n1 a b:1;n2 c d:2", len) == 0);
		t = malloc(strlen(whole) + 1);
		memcpy(t, whole, at);
		strcpy(t + at, whole + at + len);
		CHECK_STR(cut, t);
		CHECK(strstr(cut, "\"members\":\"\",\"version\"") != NULL);
		free(t);
	}
	free(cut);
	cut = json_print_cut(o, other, 0, 1, &at);
	CHECK(cut != NULL && strcmp(cut, whole) == 0);
	CHECK(at == (size_t)-1);
	free(cut);
	CHECK(json_print_cut(o, r, 12, strlen(raw), &at) == NULL);
	free(whole);
	cJSON_Delete(other);
	cJSON_Delete(o);
}

/*
 * json_text_plain: printable ASCII without a quote or a backslash, each
 * bad byte found at every offset (the 16-byte steps and the tail);
 * json_parse_hole: the tree of the whole payload for a plain text, with
 * the hole's item pointing at the text, and NULL (read it whole) when the
 * text is not plain or the hole is not the first member of "state". A
 * text the parsers change (an escape) or refuse (bad UTF-8) read in
 * place would give another tree than the whole payload's, which the
 * check below catches.
 */
static void
parse_hole(void)
{
	static const char *texts[] = {
		"n1 127.0.0.1:7001 - U 1:5;n2 127.0.0.1:7002 - U 2:6",
		"a\\\"b", "caf\xc3\xa9", "e\\u00e9", "x\x01y", "\xff", "", "plain but long enough "
		"to take the sixteen-byte steps of the scan, and then a tail",
	};
	/* what each text gives read in place: 1, another tree than the whole payload's */
	static const int differs[] = { 0, 1, 0, 1, 0, 1, 0, 0 };
	const unsigned char bad[] = { '"', '\\', 0x1f, 0x80, 0xff, '\n' };
	char buf[64], full[512], rest[512];
	size_t i, k, b;

	for (i = 0; i < 40; i++)
		buf[i] = (char)(i % 3 == 0 ? ' ' + i % 2 : 'a' + i % 26);	/* blanks, '!', letters */
	CHECK(json_text_plain(buf, 40) == 1);
	CHECK(json_text_plain("~ !", 3) == 1);
	for (b = 0; b < sizeof(bad); b++)
		for (k = 0; k < 40; k++) {
			char c = buf[k];

			buf[k] = (char)bad[b];
			if (json_text_plain(buf, 40) != 0) {
				printf("  byte %#x at %zu taken as plain\n", bad[b], k);
				CHECK(0);
			}
			buf[k] = c;
		}
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *tx = texts[i];
		size_t tl = strlen(tx);
		int plain = json_text_plain(tx, tl);
		cJSON *w, *h;

		snprintf(full, sizeof(full), "{\"v\":2,\"t\":\"gossip\",\"state\":{\"members\":\"%s\","
		    "\"version\":\"0:1\"},\"cv\":2}", tx);
		snprintf(rest, sizeof(rest), "{\"v\":2,\"t\":\"gossip\",\"state\":{\"members\":\"\","
		    "\"version\":\"0:1\"},\"cv\":2}");
		w = json_parse(full, strlen(full));
		/* what akc-sim would do with the text if it did not ask json_text_plain */
		h = json_parse_hole(rest, strlen(rest), "state", "members", tx, tl, 1);
		if (h != NULL) {
			cJSON *m = cJSON_GetObjectItemCaseSensitive(h, "state")->child;

			CHECK(m->valuestring == tx && (m->type & cJSON_IsReference));
			m->type &= ~cJSON_IsReference;
			/* in place, an escape or bad UTF-8 gives another tree; plain is never one */
			if ((w != NULL && tree_same(w, h)) == differs[i] || (plain && differs[i])) {
				printf("  text %zu: plain %d, the same tree %d\n", i, plain,
				    w != NULL && tree_same(w, h));
				CHECK(0);
			}
			m->type |= cJSON_IsReference;
			cJSON_Delete(h);
		}
		h = json_parse_hole(rest, strlen(rest), "state", "members", tx, tl, plain);
		CHECK((h != NULL) == plain);
		if (h != NULL) {
			cJSON *m = cJSON_GetObjectItemCaseSensitive(h, "state")->child;

			m->type &= ~cJSON_IsReference;
			CHECK(w != NULL && tree_same(w, h));
			m->type |= cJSON_IsReference;
		}
		cJSON_Delete(h);
		cJSON_Delete(w);
	}
	/* the hole elsewhere, not empty, or a payload that does not parse: read it whole */
	{
		static const char *no[] = {
			"{\"state\":{\"version\":\"\",\"members\":\"\"}}",
			"{\"state\":{\"members\":\"y\"}}",
			"{\"state\":{\"members\":\"\"}",
			"{\"state\":[\"\"]}",
		};

		for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
			CHECK(json_parse_hole(no[i], strlen(no[i]), "state", "members", "x", 1, 1) == NULL);
	}
}

int
main(void)
{
	log_init("test-json");
	RUN(good_strings);
	RUN(nul_in_strings);
	RUN(invalid_utf8);
	RUN(long_strings);
	RUN(fast_path);
	RUN(not_json);
	RUN(stored);
	RUN(print_same);
	RUN(print_cut);
	RUN(parse_hole);
	return unit_done();
}
