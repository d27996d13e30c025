/* json.c: length-bounded cJSON parsing and checked getters. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

cJSON *
json_parse(const char *buf, size_t len)
{
	const char *end = NULL;
	cJSON *j;

	if (buf == NULL || len == 0)
		return NULL;
	j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (j == NULL)
		return NULL;
	for (; end != NULL && end < buf + len; end++)
		if (!isspace((unsigned char)*end) && *end != '\0') {
			cJSON_Delete(j);
			return NULL;
		}
	return j;
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

char *
json_print(const cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj);

	if (s == NULL)
		fatalx("out of memory printing JSON");
	return s;
}
