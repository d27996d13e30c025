/*
 * fuzz-json: lib/json.c's parser, which reads every message a node,
 * daemon or client sends, before anything in it is checked. Its fast path
 * (strict JSON, strings without escapes) must read exactly what cJSON
 * reads, to the same tree, and refuse what cJSON refuses: each input is
 * parsed both ways and the two trees compared node by node; a difference
 * aborts. json_parse (with its string checks) runs on it too.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What json_parse_stored is without its fast path. */
static cJSON *
cjson_only(const char *buf, size_t len)
{
	const char *end = NULL;
	cJSON *j;

	if (len == 0)
		return NULL;
	j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	for (; j != NULL && end < buf + len; end++)
		if (!isspace((unsigned char)*end) && *end != '\0') {
			cJSON_Delete(j);
			return NULL;
		}
	return j;
}

static int
tree_same(const cJSON *a, const cJSON *b)
{
	for (; a != NULL && b != NULL; a = a->next, b = b->next) {
		if (a->type != b->type || (a->string == NULL) != (b->string == NULL) ||
		    (a->string != NULL && strcmp(a->string, b->string) != 0) ||
		    (a->valuestring == NULL) != (b->valuestring == NULL) ||
		    (a->valuestring != NULL && strcmp(a->valuestring, b->valuestring) != 0) ||
		    memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 ||
		    a->valueint != b->valueint || !tree_same(a->child, b->child))
			return 0;
	}
	return a == NULL && b == NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	cJSON *a = json_parse_stored(buf, size), *b = cjson_only(buf, size);

	if ((a == NULL) != (b == NULL) || (a != NULL && !tree_same(a, b)))
		abort();
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(json_parse(buf, size));
	return 0;
}
