/*
 * akc-keys: the cluster's keyring, across every member through the local
 * node: generate, list, install, use, remove (akc-keys(1)).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "json.h"
#include "proto.h"
#include "sock.h"
#include "tool.h"

#define USAGE "akc-keys [-c FILE] [--json] [--timeout DUR] generate | list | install KEY | use KEY | remove KEY"

static void
print_list(const cJSON *results, int expected)
{
	/* each key, and on how many of the members that answered */
	const char *keys[64];
	int counts[64], primary[64], nk = 0, i, k, answered = 0;
	const cJSON *r;

	cJSON_ArrayForEach(r, results) {
		const cJSON *ks = cJSON_GetObjectItemCaseSensitive(r, "keys"), *kv;
		int first = 1;

		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")))
			continue;
		answered++;
		cJSON_ArrayForEach(kv, ks) {
			if (!cJSON_IsString(kv))
				continue;
			for (k = 0; k < nk && strcmp(keys[k], kv->valuestring) != 0; k++)
				;
			if (k == nk) {
				if (nk == 64)
					continue;
				keys[nk] = kv->valuestring;
				counts[nk] = primary[nk] = 0;
				nk++;
			}
			counts[k]++;
			primary[k] += first;
			first = 0;
		}
	}
	for (i = 0; i < nk; i++)
		printf("%s  %d/%d members%s\n", keys[i], counts[i], expected,
		    primary[i] == answered ? ", primary" : primary[i] > 0 ? ", primary on some" : "");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = { TOOL_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 } };
	struct tool t;
	cJSON *req, *rsp, *res = NULL;
	const cJSON *r;
	const char *op, *key = NULL;
	char *qs;
	int ch, json = 0, failed = 0, expected, done = 0;
	msec_t timeout = 10000, deadline;

	tool_init(&t, "akc-keys", USAGE);
	while ((ch = getopt_long(argc, argv, "c:hj", longopts, NULL)) != -1) {
		if (ch == 'j')
			json = 1;
		else if (ch == 't') {
			if ((timeout = config_parse_duration(optarg)) <= 0 || timeout > 3600 * 1000)
				tool_usage(&t, "bad --timeout: a duration with a unit (500ms, 30s, 2m)");
		} else
			tool_common_opt(&t, ch, optarg);
	}
	if (optind == argc)
		tool_usage(&t, "missing a command: generate, list, install, use or remove");
	op = argv[optind++];
	if (strcmp(op, "generate") == 0) {
		unsigned char k[KEY_BYTES];
		char b64[KEY_B64_LEN + 1];

		if (optind != argc)
			tool_usage(&t, "generate takes no argument");
		if (sodium_init() < 0) {
			fprintf(stderr, "akc-keys: libsodium cannot start\n");
			return 1;
		}
		key_generate(k);
		key_b64(k, b64);
		printf("%s\n", b64);
		sodium_memzero(k, sizeof(k));
		sodium_memzero(b64, sizeof(b64));
		tool_exit(&t, 0);
	}
	if (strcmp(op, KEYS_OP_LIST) == 0) {
		if (optind != argc)
			tool_usage(&t, "list takes no argument");
	} else if (strcmp(op, KEYS_OP_INSTALL) == 0 || strcmp(op, KEYS_OP_USE) == 0 ||
	    strcmp(op, KEYS_OP_REMOVE) == 0) {
		if (optind != argc - 1)
			tool_usage(&t, optind == argc ? "missing KEY" : "too many arguments");
		key = argv[optind];
		if (sodium_init() < 0) {
			fprintf(stderr, "akc-keys: libsodium cannot start\n");
			return 1;
		}
		{
			unsigned char k[KEY_BYTES];

			if (key_parse(key, k) < 0)
				tool_usage(&t, "KEY is not a key (44 characters of base64, as "
				    "akc-keys generate prints)");
			sodium_memzero(k, sizeof(k));
		}
	} else
		tool_usage(&t, "unknown command (expected generate, list, install, use or remove)");
	tool_config(&t);
	req = ctl_request(CTL_KEYS);
	cJSON_AddStringToObject(req, "op", op);
	if (key != NULL)
		cJSON_AddStringToObject(req, "key", key);
	rsp = tool_call(&t, SOCK_MEMBERD_CTL, req);
	qs = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(rsp, "query"));
	cJSON_Delete(rsp);
	/* the members answer through the node: ask it until all have, or time is up */
	deadline = clock_mono_ms() + timeout;
	for (;;) {
		struct timespec ts = { 0, 100 * 1000000L };

		req = ctl_request(CTL_KEYS_RESULT);
		cJSON_AddItemToObject(req, "query", cJSON_Parse(qs));
		cJSON_Delete(res);
		res = tool_call(&t, SOCK_MEMBERD_CTL, req);
		done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "done"));
		if (done || clock_mono_ms() >= deadline)
			break;
		nanosleep(&ts, NULL);
	}
	cJSON_free(qs);
	expected = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(res, "expected"));
	r = cJSON_GetObjectItemCaseSensitive(res, "results");
	if (json)
		tool_print_json(res);
	else if (strcmp(op, KEYS_OP_LIST) == 0)
		print_list(r, expected);
	{
		const cJSON *e;

		cJSON_ArrayForEach(e, r) {
			int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "ok"));

			if (!ok)
				failed++;
			if (json)
				continue;
			if (ok && strcmp(op, KEYS_OP_LIST) != 0)
				printf("%s: ok\n", json_str(e, "node"));
			else if (!ok)
				printf("%s: failed: %s\n", json_str(e, "node"),
				    json_str(e, "error") ? json_str(e, "error") : "?");
		}
	}
	if (!done) {
		fprintf(stderr, "akc-keys: %d of %d members did not answer in %lldms\n",
		    expected - cJSON_GetArraySize(r), expected, (long long)timeout);
		failed++;
	} else if (failed > 0)
		fprintf(stderr, "akc-keys: %s failed on %d of %d members\n", op, failed, expected);
	cJSON_Delete(res);
	tool_exit(&t, failed > 0 ? EXIT_TOOL_REFUSED : 0);
}
