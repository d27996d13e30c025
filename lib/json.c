/* json.c: length-bounded cJSON parsing and checked getters. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "utf8.h"
#include "xmalloc.h"

/*
 * What cJSON would let through: it decodes the escape \u0000 to a 0 byte
 * and copies a raw 0 byte as it is, so the C string it hands out ends
 * there (a job id "a\u0000b" would be the job "a"); and it copies bytes
 * that are not UTF-8 as they are, to be printed again as they are. So the
 * raw text of every string is checked here, after cJSON has accepted the
 * grammar:
 *
 * 1. Each character must be valid UTF-8 (utf8_char: no overlong form, no
 *    surrogate, nothing over U+10FFFF, nothing cut short). Escapes are
 *    ASCII, and cJSON itself refuses a \u escape of a lone surrogate.
 * 2. No string may hold a NUL, raw or as \u0000 (the one escape that
 *    decodes to 0: a \u escape is four hex digits).
 *
 * The scan follows strings and nesting only, not the grammar (cJSON has
 * checked that), and keeps the last key seen at each depth to name the
 * field in the error. Weak points: the name is quoted as written (escapes
 * not decoded), and past SCAN_DEPTH levels no field is named.
 */
#define SCAN_DEPTH	32

struct span {
	const char *p;
	size_t n;
};

/*
 * Whether the 32 bytes at p are all plain string bytes, as plain8 says of
 * 8: two 16-byte vectors (GNU C's vector extension: SSE2 on x86-64), a
 * compare each for a byte that is NUL or not ASCII (signed: at most 0),
 * '"' or a backslash. A full state's member table at 10,000 members is
 * 520 KB of plain bytes; plain8 read it at about a byte a cycle.
 */
typedef signed char sv16 __attribute__((vector_size(16)));

static int
plain32(const unsigned char *p)
{
	sv16 a, b, bad;
	uint64_t w[2];

	memcpy(&a, p, 16);
	memcpy(&b, p + 16, 16);
	bad = (a <= 0) | (a == '"') | (a == '\\') | (b <= 0) | (b == '"') | (b == '\\');
	memcpy(w, &bad, 16);
	return (w[0] | w[1]) == 0;
}

static int
bad_string(const struct span *key, int depth, int is_key, const char *what, char *why, size_t whylen)
{
	int d;

	if (why == NULL)
		return -1;
	if (is_key) {
		snprintf(why, whylen, "a key %s", what);
		return -1;
	}
	for (d = depth < SCAN_DEPTH ? depth : -1; d > 0 && key[d].n == 0; d--)
		;
	if (d > 0)
		snprintf(why, whylen, "'%.*s' %s", key[d].n > 40 ? 40 : (int)key[d].n, key[d].p, what);
	else
		snprintf(why, whylen, "a string %s", what);
	utf8_scrub(why);
	return -1;
}

/*
 * Whether the 8 bytes at p are all plain string bytes: ASCII, not NUL, not
 * '"' and not a backslash (a word at a time: a gossip's member table is
 * tens of kilobytes of them, and a byte at a time this scan was 9-12% of
 * akc-sim's CPU). A word with any other byte is read byte by byte below.
 */
static int
plain8(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t w, q, b;

	memcpy(&w, p, 8);
	q = w ^ (ones * '"');
	b = w ^ (ones * '\\');
	/* (v - ones) & ~v has a high bit set where v has a zero byte, or after one */
	return ((w | ((w - ones) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs) == 0;
}

static int
scan_strings(const char *buf, size_t len, char *why, size_t whylen)
{
	static const char *const nul = "contains a NUL character (\\u0000)",
	    *const notutf8 = "is not valid UTF-8";
	const unsigned char *p = (const unsigned char *)buf;
	struct span key[SCAN_DEPTH], s;
	const char *bad;
	size_t i = 0, n, k;
	int depth = 0;

	while (i < len) {
		if (p[i] == '{' || p[i] == '[') {
			if (++depth < SCAN_DEPTH)
				key[depth].n = 0;
			i++;
			continue;
		}
		if (p[i] == '}' || p[i] == ']') {
			depth -= depth > 0;
			i++;
			continue;
		}
		if (p[i++] != '"')
			continue;
		s.p = buf + i;
		bad = NULL;
		while (i < len && p[i] != '"') {
			if (i + 32 <= len && plain32(p + i)) {
				i += 32;
				continue;
			}
			if (i + 8 <= len && plain8(p + i)) {
				i += 8;
				continue;
			}
			/* ASCII, the bulk of a gossip: no call a byte (akc-sim: 11% of its CPU) */
			if (p[i] > 0 && p[i] < 0x80 && p[i] != '\\') {
				i++;
				continue;
			}
			if (p[i] == '\\') {
				if (i + 6 <= len && p[i + 1] == 'u' && memcmp(p + i + 2, "0000", 4) == 0 &&
				    bad == NULL)
					bad = nul;
				i += 2;
				continue;
			}
			if (p[i] == '\0' && bad == NULL)
				bad = nul;
			if ((n = utf8_char(p + i, len - i)) == 0) {
				if (bad == NULL)
					bad = notutf8;
				n = 1;
			}
			i += n;
		}
		s.n = (size_t)(buf + (i < len ? i : len) - s.p);
		i++;
		/* a key if a colon follows */
		for (k = i; k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\n' || p[k] == '\r'); k++)
			;
		if (bad != NULL)
			return bad_string(key, depth, k < len && p[k] == ':', bad, why, whylen);
		if (k < len && p[k] == ':' && depth > 0 && depth < SCAN_DEPTH)
			key[depth] = s;
	}
	return 0;
}

/*
 * ---- a fast path in front of cJSON's parser ----
 *
 * Why: a gossip carries its member table as one JSON string of tens of
 * kilobytes, and cJSON reads a string a byte at a time twice (to size it,
 * then to copy it, looking for escapes): 15-18% of akc-sim's CPU in a
 * start. This reads the strict JSON grammar (RFC 8259) with strings that
 * hold no escape, finding a string's end with memchr, and builds the same
 * cJSON tree as cJSON would (the same types, values, keys in order,
 * duplicates kept). It gives up (NULL, nothing kept) on anything else: an
 * escape, a number of 64 characters or more, nesting past FAST_DEPTH, a
 * blank other than JSON's four, bytes after the value, bad grammar; cJSON
 * then parses the message as before. So what it accepts is a subset of
 * what cJSON accepts, read to the same tree, and every other input meets
 * cJSON's rules exactly as it did. Weak point: a message that ends up on
 * cJSON's path is read up to twice.
 */
#define FAST_DEPTH	64

struct fast {
	const char *p, *end;
};

static void
fast_ws(struct fast *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
		f->p++;
}

/* A string without escapes at f->p (its opening quote), malloc'd; NULL to give up. */
static char *
fast_string(struct fast *f)
{
	const char *s = f->p + 1, *q;
	char *v;

	if (s > f->end || (q = memchr(s, '"', (size_t)(f->end - s))) == NULL ||
	    memchr(s, '\\', (size_t)(q - s)) != NULL)
		return NULL;
	v = xmalloc((size_t)(q - s) + 1);
	memcpy(v, s, (size_t)(q - s));
	v[q - s] = '\0';
	f->p = q + 1;
	return v;
}

/* A JSON number's end from p (the strict grammar), or NULL. */
static const char *
fast_number_end(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (p < end && *p == '.') {
		if (++p >= end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	return p;
}

static cJSON *fast_value(struct fast *, int depth);

static cJSON *
fast_container(struct fast *f, int depth, int object)
{
	cJSON *c = object ? cJSON_CreateObject() : cJSON_CreateArray(), *v;
	char *key = NULL;
	char close = object ? '}' : ']';

	if (c == NULL)
		fatalx("out of memory");
	f->p++;
	fast_ws(f);
	if (f->p < f->end && *f->p == close) {
		f->p++;
		return c;
	}
	for (;;) {
		if (object) {
			if (f->p >= f->end || *f->p != '"' || (key = fast_string(f)) == NULL)
				goto fail;
			fast_ws(f);
			if (f->p >= f->end || *f->p != ':')
				goto fail;
			f->p++;
			fast_ws(f);
		}
		if ((v = fast_value(f, depth + 1)) == NULL)
			goto fail;
		/* the key as cJSON's own parser sets it: the item's, freed with it */
		v->string = key;
		key = NULL;
		cJSON_AddItemToArray(c, v);
		fast_ws(f);
		if (f->p < f->end && *f->p == ',') {
			f->p++;
			fast_ws(f);
			continue;
		}
		if (f->p < f->end && *f->p == close) {
			f->p++;
			return c;
		}
		goto fail;
	}
fail:
	free(key);
	cJSON_Delete(c);
	return NULL;
}

static cJSON *
fast_value(struct fast *f, int depth)
{
	const char *e;
	cJSON *v;
	char num[64], *vs;
	size_t left = (size_t)(f->end - f->p);

	if (left == 0 || depth > FAST_DEPTH)
		return NULL;
	switch (*f->p) {
	case '{':
		return fast_container(f, depth, 1);
	case '[':
		return fast_container(f, depth, 0);
	case '"':
		if ((vs = fast_string(f)) == NULL)
			return NULL;
		if ((v = cJSON_CreateNull()) == NULL)
			fatalx("out of memory");
		v->type = cJSON_String;
		v->valuestring = vs;
		return v;
	case 't':
		if (left < 4 || memcmp(f->p, "true", 4) != 0)
			return NULL;
		f->p += 4;
		if ((v = cJSON_CreateTrue()) != NULL)
			v->valueint = 1;	/* as cJSON's parser sets it */
		return v;
	case 'f':
		if (left < 5 || memcmp(f->p, "false", 5) != 0)
			return NULL;
		f->p += 5;
		return cJSON_CreateFalse();
	case 'n':
		if (left < 4 || memcmp(f->p, "null", 4) != 0)
			return NULL;
		f->p += 4;
		return cJSON_CreateNull();
	}
	/* a number: read by strtod, as cJSON reads it (LC_NUMERIC=C) */
	if ((e = fast_number_end(f->p, f->end)) == NULL || (size_t)(e - f->p) >= sizeof(num))
		return NULL;
	memcpy(num, f->p, (size_t)(e - f->p));
	num[e - f->p] = '\0';
	f->p = e;
	return cJSON_CreateNumber(strtod(num, NULL));
}

/* The fast path over exactly len bytes: one value and JSON blanks; NULL: give up. */
static cJSON *
parse_fast(const char *buf, size_t len)
{
	struct fast f = { buf, buf + len };
	cJSON *j;

	fast_ws(&f);
	if ((j = fast_value(&f, 0)) == NULL)
		return NULL;
	fast_ws(&f);
	if (f.p != f.end) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* cJSON over exactly len bytes: one value, then only blanks or NULs. */
static cJSON *
parse_one(const char *buf, size_t len)
{
	const char *end = NULL;
	cJSON *j;

	if (buf == NULL || len == 0)
		return NULL;
	if ((j = parse_fast(buf, len)) != NULL)
		return j;
	if ((j = cJSON_ParseWithLengthOpts(buf, len, &end, 0)) == NULL)
		return NULL;
	for (; end != NULL && end < buf + len; end++)
		if (!isspace((unsigned char)*end) && *end != '\0') {
			cJSON_Delete(j);
			return NULL;
		}
	return j;
}

cJSON *
json_parse_why(const char *buf, size_t len, char *why, size_t whylen)
{
	cJSON *j = parse_one(buf, len);

	if (j == NULL) {
		if (why != NULL)
			snprintf(why, whylen, "not one JSON value");
		return NULL;
	}
	if (scan_strings(buf, len, why, whylen) < 0) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

cJSON *
json_parse(const char *buf, size_t len)
{
	return json_parse_why(buf, len, NULL, 0);
}

cJSON *
json_parse_stored(const char *buf, size_t len)
{
	return parse_one(buf, len);
}

/*
 * Whether the len bytes at p are printable ASCII (32 to 127) without a
 * backslash or a quote: a JSON string's text that both parsers (the fast
 * path and cJSON) copy as it is, and scan_strings passes. 32 bytes at a
 * time, as plain32.
 */
int
json_text_plain(const char *p, size_t len)
{
	size_t i = 0;

	for (; i + 16 <= len; i += 16) {
		sv16 a, bad;
		uint64_t w[2];

		memcpy(&a, p + i, 16);
		bad = (a < ' ') | (a == '"') | (a == '\\');
		memcpy(w, &bad, 16);
		if ((w[0] | w[1]) != 0)
			return 0;
	}
	for (; i < len; i++)
		if ((signed char)p[i] < ' ' || p[i] == '"' || p[i] == '\\')
			return 0;
	return 1;
}

/*
 * A payload with a hole, parsed: buf (len bytes) is the payload with the
 * string at the hole left empty, the hole being the first member of its
 * first top-level item obj (an object), keyed key; text (tlen bytes and a
 * NUL, plain: json_text_plain said so) is what the string holds. The tree
 * is json_parse's of the whole payload, but for the hole's item, which
 * points at text (cJSON_IsReference: text must outlive the tree). Why the
 * same: both parsers copy a plain string's bytes as they are and neither
 * refuses one, so the whole payload parses, or fails, as buf does. NULL:
 * buf does not parse, the hole is not there (not an empty string), or text
 * is not plain: the caller parses the whole payload. akc-sim reads a full
 * state's member table so, in place (src/sim/engine.c, struct seg).
 */
cJSON *
json_parse_hole(const char *buf, size_t len, const char *obj, const char *key, const char *text,
    size_t tlen, int plain)
{
	cJSON *msg, *o, *m;

	if (!plain || text[tlen] != '\0' || (msg = json_parse(buf, len)) == NULL)
		return NULL;
	o = cJSON_GetObjectItemCaseSensitive(msg, obj);
	m = cJSON_IsObject(o) ? o->child : NULL;
	if (m == NULL || m->string == NULL || strcmp(m->string, key) != 0 ||
	    m->type != cJSON_String || m->valuestring == NULL || m->valuestring[0] != '\0') {
		cJSON_Delete(msg);
		return NULL;
	}
	free(m->valuestring);
	m->valuestring = (char *)text;
	m->type |= cJSON_IsReference;
	return msg;
}

const char *
json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
str_to_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s) || strlen(s) > 20)
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return -1;
	*out = v;
	return 0;
}

void
u64_to_str(uint64_t v, char buf[24])
{
	snprintf(buf, 24, "%" PRIu64, v);
}

int
json_u64(const cJSON *obj, const char *key, uint64_t *out)
{
	return str_to_u64(json_str(obj, key), out);
}

int
json_int(const cJSON *obj, const char *key, long min, long max, long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
		return -1;
	*out = (long)d;
	return 0;
}

int
json_bool(const cJSON *obj, const char *key, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsBool(v))
		return -1;
	*out = cJSON_IsTrue(v);
	return 0;
}

cJSON *
json_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	char buf[24];

	u64_to_str(v, buf);
	return cJSON_AddStringToObject(obj, key, buf);
}

/*
 * Unformatted, as cJSON_PrintUnformatted prints it (lib/jprint.c: the same
 * text without cJSON's sprintf and sscanf of every number); a tree it does
 * not take (an invalid item, nested deeper than any parsed one) goes to
 * cJSON's printer.
 */
char *
json_print(const cJSON *obj)
{
	char *s = json_print_fast(obj);

	if (s == NULL && (s = cJSON_PrintUnformatted(obj)) == NULL)
		fatalx("out of memory printing JSON");
	return s;
}
