/* akc-join: ask this node to join the cluster that ADDRESS belongs to. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "proto.h"
#include "sock.h"
#include "tool.h"

#define USAGE "akc-join [-c FILE] [--timeout DUR] ADDRESS"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = { TOOL_LONGOPTS,
		{ "timeout", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 } };
	struct tool t;
	cJSON *req;
	int ch;
	msec_t timeout = 3000, deadline;

	tool_init(&t, "akc-join", USAGE);
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (ch == 't') {
			if ((timeout = config_parse_duration(optarg)) < 0 || timeout > 3600 * 1000)
				tool_usage(&t, "bad --timeout: a duration with a unit (500ms, 30s, 2m)");
		} else
			tool_common_opt(&t, ch, optarg);
	}
	if (optind != argc - 1)
		tool_usage(&t, optind == argc ? "missing ADDRESS" : "too many arguments");
	if (strncmp(argv[optind], "tcp://", 6) != 0 || strrchr(argv[optind], ':') < argv[optind] + 6)
		tool_usage(&t, "ADDRESS must look like tcp://HOST:PORT");
	tool_config(&t);
	req = ctl_request(CTL_JOIN);
	cJSON_AddStringToObject(req, "address", argv[optind]);
	cJSON_Delete(tool_call(&t, SOCK_MEMBERD_CTL, req));
	/* a moment for the answer: a refusal is an error, silence is not (yet) */
	deadline = clock_mono_ms() + timeout;
	for (;;) {
		struct timespec ts = { 0, 100 * 1000000L };
		cJSON *st = tool_call(&t, SOCK_MEMBERD_CTL, ctl_request(CTL_STATUS));
		const char *phase = json_str(st, "phase"), *why = json_str(st, "join_refused");

		if (why != NULL) {
			fprintf(stderr, "akc-join: join refused: %s\n", why);
			cJSON_Delete(st);
			tool_exit(&t, EXIT_TOOL_REFUSED);
		}
		if (phase != NULL && strcmp(phase, "member") == 0) {
			printf("%s joined the cluster of %s\n", t.cfg.name, argv[optind]);
			cJSON_Delete(st);
			tool_exit(&t, 0);
		}
		cJSON_Delete(st);
		if (clock_mono_ms() >= deadline)
			break;
		nanosleep(&ts, NULL);
	}
	printf("%s is joining the cluster of %s\n", t.cfg.name, argv[optind]);
	fprintf(stderr, "akc-join: no welcome yet after %lldms; still trying (if %s never "
	    "answers, it may use another key-file or [cluster] name)\n", (long long)timeout,
	    argv[optind]);
	tool_exit(&t, 0);
}
