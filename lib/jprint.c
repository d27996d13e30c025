/*
 * jprint.c: cJSON trees printed unformatted, byte for byte as libcjson's
 * cJSON_PrintUnformatted prints them (1.7.15, the version Debian 12 ships:
 * t/unit/test-json and the json fuzz target compare the two), without its
 * cost per number.
 *
 * Why: cJSON prints every number with sprintf("%1.15g") and reads it back
 * with sscanf to see whether 15 digits were enough; a profile of the master
 * under one submitter had that (vfprintf, __printf_fp, strtod) at ~15 us of
 * its ~220 us of CPU per submit, on its critical path: events, appends and
 * acks are JSON full of sequence numbers and millisecond times. Here an
 * integral number under 10^15 in magnitude, which "%1.15g" prints as its
 * digits, is printed by integer division; every other number goes the way
 * cJSON goes (the same formats and the same round-trip check), so the text
 * stays the same.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "xmalloc.h"

static void
putc1(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

/* cJSON's: equal within the larger magnitude's epsilon. */
static int
same_double(double a, double b)
{
	double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

	return fabs(a - b) <= m * DBL_EPSILON;
}

static void
put_number(struct buf *b, double d)
{
	char t[32];
	int n;
	double back;

	if (isnan(d) || isinf(d)) {
		buf_add(b, "null", 4);
		return;
	}
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
		long long v = (long long)d;
		unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
		char *e = t + sizeof(t), *p = e;

		do
			*--p = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (v < 0)
			*--p = '-';
		buf_add(b, p, (size_t)(e - p));
		return;
	}
	n = snprintf(t, sizeof(t), "%1.15g", d);
	if (sscanf(t, "%lg", &back) != 1 || !same_double(back, d))
		n = snprintf(t, sizeof(t), "%1.17g", d);
	if (n > 0 && (size_t)n < sizeof(t))
		buf_add(b, t, (size_t)n);
}

/* cJSON's escapes: the quote, the backslash, \b \f \n \r \t, other bytes under 32 as \u00xx. */
static void
put_string(struct buf *b, const char *str)
{
	const unsigned char *p = (const unsigned char *)str, *run;
	static const char hex[] = "0123456789abcdef";

	putc1(b, '"');
	if (p == NULL) {
		putc1(b, '"');
		return;
	}
	for (;;) {
		run = p;
		while (*p > 31 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			buf_add(b, (const char *)run, (size_t)(p - run));
		if (*p == '\0')
			break;
		switch (*p) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\b': buf_add(b, "\\b", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };

			buf_add(b, u, 6);
		}
		}
		p++;
	}
	putc1(b, '"');
}

/* json_print_cut's hole: [from, from + len) of item's raw text left out, where it went (at). */
struct cut {
	const cJSON *item;
	size_t from, len, at;
	int done;
};

static int
put_value(struct buf *b, const cJSON *v, int depth, struct cut *cut)
{
	const cJSON *c;

	if (depth > 1000)	/* deeper than cJSON parses: left to cJSON's printer */
		return -1;
	switch (v->type & 0xff) {
	case cJSON_NULL:
		buf_add(b, "null", 4);
		return 0;
	case cJSON_False:
		buf_add(b, "false", 5);
		return 0;
	case cJSON_True:
		buf_add(b, "true", 4);
		return 0;
	case cJSON_Number:
		put_number(b, v->valuedouble);
		return 0;
	case cJSON_Raw:
		if (v->valuestring == NULL)
			return -1;
		if (cut != NULL && v == cut->item && !cut->done) {
			size_t l = strlen(v->valuestring);

			if (cut->from + cut->len > l)
				return -1;
			buf_add(b, v->valuestring, cut->from);
			cut->at = b->len;
			cut->done = 1;
			buf_add(b, v->valuestring + cut->from + cut->len, l - cut->from - cut->len);
			return 0;
		}
		buf_add(b, v->valuestring, strlen(v->valuestring));
		return 0;
	case cJSON_String:
		put_string(b, v->valuestring);
		return 0;
	case cJSON_Array:
	case cJSON_Object: {
		int obj = (v->type & 0xff) == cJSON_Object;

		putc1(b, obj ? '{' : '[');
		for (c = v->child; c != NULL; c = c->next) {
			if (obj) {
				put_string(b, c->string);
				putc1(b, ':');
			}
			if (put_value(b, c, depth + 1, cut) < 0)
				return -1;
			if (c->next != NULL)
				putc1(b, ',');
		}
		putc1(b, obj ? '}' : ']');
		return 0;
	}
	default:
		return -1;
	}
}

static char *
print_cut(const cJSON *obj, struct cut *cut)
{
	struct buf b = { NULL, 0, 0, 0 };

	if (obj == NULL)
		return NULL;
	buf_add(&b, "", 0);	/* allocated and NUL-terminated from the start */
	if (put_value(&b, obj, 0, cut) < 0) {
		buf_free(&b);
		return NULL;
	}
	/* a big text may be kept (printed tables): not with up to half of it spare */
	if (b.len >= 4096 && b.cap - b.len > b.len / 4)
		b.p = xreallocarray(b.p, b.len + 1, 1);
	return b.p;
}

char *
json_print_fast(const cJSON *obj)
{
	return print_cut(obj, NULL);
}

/*
 * obj printed as json_print prints it, less the bytes [from, from + len)
 * of the raw item's text; *at: where they would be in the text, or
 * (size_t)-1 when the item is not in obj (printed whole). akc-sim keeps a
 * full state's member table apart from the message that carries it
 * (engine.c's struct seg) without printing it. NULL: as json_print_fast
 * (or the span is past the item's text).
 */
char *
json_print_cut(const cJSON *obj, const cJSON *raw, size_t from, size_t len, size_t *at)
{
	struct cut c = { raw, from, len, (size_t)-1, 0 };
	char *s = print_cut(obj, &c);

	*at = c.at;
	return s;
}
