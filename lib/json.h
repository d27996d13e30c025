/* json.h: bounded parsing and type-checked field access over cJSON. */
#ifndef AKC_JSON_H
#define AKC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/*
 * Parses exactly len bytes (no NUL needed); NULL if not one JSON value, or
 * if a string in it (key or value) is not valid UTF-8 or holds a NUL,
 * which cJSON would silently cut the string at (json.c). json_parse_why
 * also says which, naming the field: "'id' contains a NUL character
 * (\u0000)". Everything that comes from a socket, a peer or a user goes
 * through these.
 */
cJSON *json_parse(const char *buf, size_t len);
cJSON *json_parse_why(const char *buf, size_t len, char *why, size_t whylen);
/*
 * The same without the string checks, for what this program wrote itself
 * with cJSON (the master's journal): versions before the checks stored
 * results with invalid UTF-8, which must still replay.
 */
cJSON *json_parse_stored(const char *buf, size_t len);
/* The string field key of obj, or NULL when absent or not a string. */
const char *json_str(const cJSON *obj, const char *key);
/* 64-bit counters travel as decimal strings; 0 on success, -1 otherwise. */
int json_u64(const cJSON *obj, const char *key, uint64_t *out);
int json_int(const cJSON *obj, const char *key, long min, long max, long *out);
int json_bool(const cJSON *obj, const char *key, int *out);
cJSON *json_add_u64(cJSON *obj, const char *key, uint64_t v);
/* cJSON_PrintUnformatted, or fatal on allocation failure; free with cJSON_free. */
char *json_print(const cJSON *obj);
/*
 * The same text (lib/jprint.c), malloc'd; NULL for a tree it does not
 * print (an invalid item, deeper than 1000 levels).
 */
char *json_print_fast(const cJSON *obj);
int json_text_plain(const char *p, size_t len);
cJSON *json_parse_hole(const char *buf, size_t len, const char *obj, const char *key, const char *text,
    size_t tlen, int plain);
char *json_print_cut(const cJSON *obj, const cJSON *raw, size_t from, size_t len, size_t *at);
void u64_to_str(uint64_t v, char buf[24]);
int str_to_u64(const char *s, uint64_t *out);

#endif
