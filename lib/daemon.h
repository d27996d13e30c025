/* daemon.h: what every akc daemon does before its loop: flags, config, run dir, readiness. */
#ifndef AKC_DAEMON_H
#define AKC_DAEMON_H

#include <getopt.h>
#include <sys/types.h>

#include "config.h"

struct daemon_opts {
	const char *conf;
	int check;		/* -n */
	int verbose;		/* -v, once per level */
	int quiet;		/* -q, once per level */
	int argi;		/* index of the first non-option argument */
	const char *singleton;	/* -s NAME (singletond) */
};

/*
 * Parses -c FILE, -n, -v, -q, -h, --version (and -s NAME when
 * want_singleton), starts logging (log_init_daemon; with -n plain
 * "PROG: message" lines, as a tool's), loads the configuration, sets the
 * log level, and exits as the contract says: 0 after -n with
 * "configuration OK", 2 on usage errors, 1 on a bad configuration.
 */
void daemon_setup(int argc, char **argv, const char *prog, const char *usage,
    int want_singleton, struct daemon_opts *o, struct akc_config *cfg);
/*
 * The same, with a daemon's own long options (at most 16, ended by a NULL
 * name, each with a val of DAEMON_OPT_BASE or above): each one given is
 * handed to opt(val, its argument or NULL, ctx) in order, before the
 * configuration is loaded; opt returns nonzero for a usage error (it has
 * said what was wrong), which exits 2 with the usage line.
 */
#define DAEMON_OPT_BASE	256
typedef int (*daemon_opt_cb)(int val, const char *arg, void *ctx);
void daemon_setup_ext(int argc, char **argv, const char *prog, const char *usage,
    int want_singleton, const struct option *extra, daemon_opt_cb opt, void *ctx,
    struct daemon_opts *o, struct akc_config *cfg);
/*
 * The log level: [node] log-level, or, when -v or -q were given, info one
 * level up per -v and one down per -q (the flags override the file):
 * -v debug, -q notice, -qq warning, -qqq err.
 */
void daemon_log_level(const struct akc_config *cfg, int verbose, int quiet);
/*
 * Creates the run dir (parents as needed) or checks the one there: it must be
 * ours and writable by nobody else (but socket-group); sets it to mode 0700,
 * or 0750 with group [node] socket-group. -1 with a one-line error.
 */
int daemon_run_dir(const struct akc_config *cfg);
/*
 * mkdir -p, written once: creates dir with mode, and its missing parents
 * with mode parents. -1 with errno set and the directory that could not be
 * made in failed (len bytes).
 */
int daemon_mkdir_p(const char *dir, mode_t parents, mode_t mode, char *failed, size_t len);
/* Creates the state dir (mode 0700, parents as needed); -1 with an error. */
int daemon_state_dir(const struct akc_config *cfg);
/*
 * Writes LEN bytes to PATH durably (a temporary file, fsync, rename, fsync
 * of the directory), so a crash leaves the old file or the new one; -1 with
 * errno set.
 */
int daemon_write_file(const char *path, const char *data, size_t len);
/* Tells systemd (NOTIFY_SOCKET) that we are ready, or stopping. */
void daemon_notify(const char *state);

#endif
