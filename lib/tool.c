/* tool.c: the common skeleton of the akc-* tools. */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "proto.h"
#include "sock.h"
#include "tool.h"

void
tool_init(struct tool *t, const char *prog, const char *usage)
{
	setlocale(LC_NUMERIC, "C");
	memset(t, 0, sizeof(*t));
	t->prog = prog;
	t->usage = usage;
	t->conf = config_default_path();
	log_init(prog);
	signal(SIGPIPE, SIG_IGN);
}

void
tool_usage(const struct tool *t, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "%s: %s\n", t->prog, why);
	fprintf(stderr, "usage: %s\n", t->usage);
	exit(EXIT_TOOL_USAGE);
}

int
tool_common_opt(struct tool *t, int ch, const char *arg)
{
	switch (ch) {
	case 'c':
		t->conf = arg;
		return 1;
	case 'h':
		printf("usage: %s\n", t->usage);
		tool_exit(t, 0);
	case 'V':
		printf("%s (akc) %s\n", t->prog, PACKAGE_VERSION);
		tool_exit(t, 0);
	case '?':
	case ':':
		tool_usage(t, NULL);
	}
	return 0;
}

void
tool_config(struct tool *t)
{
	if (config_load(t->conf, &t->cfg) != 0)
		exit(EXIT_TOOL_USAGE);
}

cJSON *
tool_call(struct tool *t, const char *sockname, cJSON *req)
{
	char err[512];
	cJSON *rsp;
	const char *msg;
	long code = EXIT_TOOL_REFUSED;
	int ok = 0;

	if (ctl_call(&t->cfg, sockname, req, &rsp, TOOL_TIMEOUT, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", t->prog, err);
		exit(EXIT_TOOL_NODAEMON);
	}
	if (json_bool(rsp, "ok", &ok) < 0 || !ok) {
		msg = json_str(rsp, "error");
		(void)json_int(rsp, "code", 1, 2, &code);
		fprintf(stderr, "%s: %s\n", t->prog, msg ? msg : "refused");
		cJSON_Delete(rsp);
		exit((int)code);
	}
	return rsp;
}

const char *
tool_node_call(struct tool *t, int argc, char **argv, const char *cmd, int need_node)
{
	static const struct option longopts[] = { TOOL_LONGOPTS, { NULL, 0, NULL, 0 } };
	const char *node;
	cJSON *req;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1)
		tool_common_opt(t, ch, optarg);
	if (argc - optind > 1)
		tool_usage(t, "too many arguments");
	if (need_node && optind == argc)
		tool_usage(t, "missing NODE");
	node = optind < argc ? argv[optind] : NULL;
	tool_config(t);
	req = ctl_request(cmd);
	if (node != NULL)
		cJSON_AddStringToObject(req, "node", node);
	cJSON_Delete(tool_call(t, SOCK_MEMBERD_CTL, req));
	return node;
}

void
tool_print_json(const cJSON *j)
{
	char *s = json_print(j);

	fputs(s, stdout);
	fputc('\n', stdout);
	cJSON_free(s);
}

void
tool_exit(const struct tool *t, int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "%s: cannot write to standard output: %s\n",
			    t->prog, strerror(errno));
		exit(code ? code : 1);
	}
	exit(code);
}
