/* json.h: bounded parsing and type-checked field access over cJSON. */
#ifndef AKC_JSON_H
#define AKC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Parses exactly len bytes (no NUL needed); NULL if not one JSON value. */
cJSON *json_parse(const char *buf, size_t len);
/* The string field key of obj, or NULL when absent or not a string. */
const char *json_str(const cJSON *obj, const char *key);
/* 64-bit counters travel as decimal strings; 0 on success, -1 otherwise. */
int json_u64(const cJSON *obj, const char *key, uint64_t *out);
int json_int(const cJSON *obj, const char *key, long min, long max, long *out);
int json_bool(const cJSON *obj, const char *key, int *out);
cJSON *json_add_u64(cJSON *obj, const char *key, uint64_t v);
/* cJSON_PrintUnformatted, or fatal on allocation failure; free with cJSON_free. */
char *json_print(const cJSON *obj);
void u64_to_str(uint64_t v, char buf[24]);
int str_to_u64(const char *s, uint64_t *out);

#endif
