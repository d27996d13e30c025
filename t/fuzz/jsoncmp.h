/*
 * jsoncmp.h: the oracle for lib/json.c's fast path, shared by
 * t/fuzz/fuzz-json.c and t/unit/test-json.c (static: each includes it
 * once). cjson_only is json_parse_stored as it was before its fast path;
 * tree_same compares two trees node by node.
 */
#ifndef AKC_JSONCMP_H
#define AKC_JSONCMP_H

#include <ctype.h>
#include <string.h>

#include <cjson/cJSON.h>

/* What json_parse_stored was before its fast path: cJSON, then only blanks or NULs. */
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

/* The same tree, node by node: type, key, string, number (bit for bit), children in order. */
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

#endif
