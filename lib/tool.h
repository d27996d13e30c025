/* tool.h: what every akc-* tool shares: flags, config, one control call, exit codes. */
#ifndef AKC_TOOL_H
#define AKC_TOOL_H

#include <getopt.h>

#include <cjson/cJSON.h>

#include "config.h"

#define TOOL_TIMEOUT	5000	/* ms to wait for the local daemon */

/* The long options every tool takes; tools append their own. */
#define TOOL_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }, \
	{ "config", required_argument, NULL, 'c' }

struct tool {
	const char *prog;
	const char *usage;
	const char *conf;
	struct akc_config cfg;
};

void tool_init(struct tool *, const char *prog, const char *usage);
/* Handles -c, -h, --version and unknown options; returns 0 if ch was not one. */
int tool_common_opt(struct tool *, int ch, const char *arg);
__attribute__((noreturn)) void tool_usage(const struct tool *, const char *why);
/* Loads the configuration; exits 2 (bad configuration) on error. */
void tool_config(struct tool *);
/*
 * Sends req (freed) to the daemon's control socket and returns the reply on
 * success. A daemon that is not running or silent exits 3; a refusal prints
 * the daemon's one-line reason and exits with its code (1 refused, 2 usage).
 */
cJSON *tool_call(struct tool *, const char *sockname, cJSON *req);
/*
 * The whole of a tool that asks memberd one command about a node ("PROG
 * [-c FILE] NODE": akc-down, akc-leave): parses the common flags, requires
 * the NODE operand when need_node, and sends {"cmd": cmd[, "node": NODE]}
 * (tool_call's exits on errors). Returns NODE, or NULL when it was left out.
 */
const char *tool_node_call(struct tool *, int argc, char **argv, const char *cmd, int need_node);
/* Prints JSON (one line) to stdout. */
void tool_print_json(const cJSON *);
/* Flushes stdout and exits with code, or 1 if stdout could not be written. */
__attribute__((noreturn)) void tool_exit(const struct tool *, int code);

#endif
