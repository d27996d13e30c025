/*
 * fuzz-json: lib/json.c's parser, which reads every message a node,
 * daemon or client sends, before anything in it is checked. Its fast path
 * (strict JSON, strings without escapes) must read exactly what cJSON
 * reads, to the same tree, and refuse what cJSON refuses: each input is
 * parsed both ways and the two trees compared node by node; a difference
 * aborts. json_parse (with its string checks) runs on it too. What parses
 * is printed back both ways, json_print (lib/jprint.c) and cJSON's, which
 * must give the same text. And akc-sim's read in place (json_parse_hole):
 * json_text_plain must say what a byte-by-byte look says, and the input
 * with its first "members" string cut out, read with that string in
 * place, must be refused or give the tree of the input read whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "jsoncmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* json_text_plain, a byte at a time: printable ASCII, no quote, no backslash. */
static int
plain_slow(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7f || p[i] == '"' ||
		    p[i] == '\\')
			return 0;
	return 1;
}

/*
 * The input's first "members":"...": its text (up to the next quote) cut
 * out and given to json_parse_hole as the hole's string. What it gives
 * must be the whole input's tree, and whenever the text is plain and the
 * whole input's "state" opens with that string (it is the only "members"
 * string of the input), it must give one.
 */
static void
hole(const char *buf, size_t size)
{
	static const char key[] = "\"members\":\"";
	const char *a, *b;
	char *rest, *text;
	size_t tl, at;
	cJSON *w, *h, *st;
	int plain;

	if ((a = memmem(buf, size, key, sizeof(key) - 1)) == NULL)
		return;
	a += sizeof(key) - 1;
	if ((b = memchr(a, '"', size - (size_t)(a - buf))) == NULL)
		return;
	at = (size_t)(a - buf);
	tl = (size_t)(b - a);
	text = malloc(tl + 1);
	memcpy(text, a, tl);
	text[tl] = '\0';
	rest = malloc(size - tl + 1);
	memcpy(rest, buf, at);
	memcpy(rest + at, b, size - at - tl);
	plain = json_text_plain(text, tl);
	if (plain != plain_slow(text, tl))
		abort();
	w = json_parse(buf, size);
	h = json_parse_hole(rest, size - tl, "state", "members", text, tl, plain);
	if (h != NULL) {
		cJSON *m = cJSON_GetObjectItemCaseSensitive(h, "state")->child;

		if (!plain || w == NULL || m->valuestring != text || !(m->type & cJSON_IsReference))
			abort();
		m->type &= ~cJSON_IsReference;
		if (!tree_same(w, h))
			abort();
		m->type |= cJSON_IsReference;
	} else if (plain && w != NULL && memchr(buf, '\\', size) == NULL &&
	    memmem(buf, at - 4, "\"members\"", 9) == NULL &&
	    memmem(b, size - (size_t)(b - buf), "\"members\"", 9) == NULL &&
	    (st = cJSON_GetObjectItemCaseSensitive(w, "state")) != NULL && cJSON_IsObject(st) &&
	    st->child != NULL && st->child->string != NULL && strcmp(st->child->string, "members") == 0)
		abort();	/* no escape: the only "members" is the state's first, not read in place */
	cJSON_Delete(h);	/* before text, which it points at */
	cJSON_Delete(w);
	free(rest);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	cJSON *a = json_parse_stored(buf, size), *b = cjson_only(buf, size);

	if ((a == NULL) != (b == NULL) || (a != NULL && !tree_same(a, b)))
		abort();
	if (a != NULL) {
		char *p = json_print_fast(a), *q = cJSON_PrintUnformatted(a);

		if ((p == NULL) != (q == NULL) || (p != NULL && strcmp(p, q) != 0))
			abort();
		free(p);
		cJSON_free(q);
	}
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(json_parse(buf, size));
	if (json_text_plain(buf, size) != plain_slow(buf, size))
		abort();
	hole(buf, size);
	return 0;
}
