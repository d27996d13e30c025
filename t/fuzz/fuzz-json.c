/*
 * fuzz-json: lib/json.c's parser, which reads every message a node,
 * daemon or client sends, before anything in it is checked. Its fast path
 * (strict JSON, strings without escapes) must read exactly what cJSON
 * reads, to the same tree, and refuse what cJSON refuses: each input is
 * parsed both ways and the two trees compared node by node; a difference
 * aborts. json_parse (with its string checks) runs on it too. What parses
 * is printed back both ways, json_print (lib/jprint.c) and cJSON's, which
 * must give the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "jsoncmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	return 0;
}
