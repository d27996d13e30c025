/* daemon.c: shared start-up of the daemons: flags, config check, run dir, sd_notify. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <locale.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "sock.h"

void
daemon_setup(int argc, char **argv, const char *prog, const char *usage,
    int want_singleton, struct daemon_opts *o, struct akc_config *cfg)
{
	daemon_setup_ext(argc, argv, prog, usage, want_singleton, NULL, NULL, NULL, o, cfg);
}

#define LONGOPTS_MAX	16

void
daemon_setup_ext(int argc, char **argv, const char *prog, const char *usage,
    int want_singleton, const struct option *extra, daemon_opt_cb opt, void *ctx,
    struct daemon_opts *o, struct akc_config *cfg)
{
	struct option longopts[LONGOPTS_MAX + 3] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
	};
	int ch, n = 2;

	for (; extra != NULL && extra[n - 2].name != NULL; n++) {
		if (n - 2 >= LONGOPTS_MAX)
			fatalx("%s: too many long options", prog);
		longopts[n] = extra[n - 2];
	}

	setlocale(LC_NUMERIC, "C");
	log_init_daemon(prog);
	memset(o, 0, sizeof(*o));
	o->conf = config_default_path();
	while ((ch = getopt_long(argc, argv, want_singleton ? "+c:nqvhs:" : "+c:nqvh",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf = optarg;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'q':
			o->quiet++;
			break;
		case 's':
			o->singleton = optarg;
			break;
		case 'h':
			printf("usage: %s\n", usage);
			exit(0);
		case 'V':
			printf("%s (akc) %s\n", prog, PACKAGE_VERSION);
			exit(0);
		default:
			if (ch >= DAEMON_OPT_BASE && opt != NULL && opt(ch, optarg, ctx) == 0)
				break;
			fprintf(stderr, "usage: %s\n", usage);
			exit(2);
		}
	}
	o->argi = optind;
	if (o->check)
		log_init(prog);	/* a check is a person's command: plain lines, as a tool's */
	if (config_load(o->conf, cfg) != 0)
		exit(1);
	daemon_log_level(cfg, o->verbose, o->quiet);
	if (o->check) {
		printf("configuration OK\n");
		exit(0);
	}
}

void
daemon_log_level(const struct akc_config *cfg, int verbose, int quiet)
{
	if (verbose == 0 && quiet == 0)
		log_setlevel(cfg->log_level);
	else
		log_setlevel(LOG_INFO + verbose - quiet);
}

int
daemon_mkdir_p(const char *dir, mode_t parents, mode_t mode, char *failed, size_t len)
{
	char path[CONF_PATH_MAX], *p;
	int saved;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		snprintf(failed, len, "%s", dir);
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, parents) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	saved = errno;
	snprintf(failed, len, "%s", path);
	errno = saved;
	return -1;
}

/* mkdir -p: parents 0755, the last 0700; *st is the last one's; -1 with a warning naming what. */
static int
make_dir(const char *dir, const char *what, struct stat *st)
{
	char failed[CONF_PATH_MAX];

	if (daemon_mkdir_p(dir, 0755, 0700, failed, sizeof(failed)) < 0) {
		if (strcmp(failed, dir) == 0)
			log_err("cannot create %s '%s'", what, dir);
		else
			log_err("cannot create '%s'", failed);
		return -1;
	}
	if (stat(dir, st) < 0 || !S_ISDIR(st->st_mode)) {
		log_errx("%s '%s' is not a directory", what, dir);
		return -1;
	}
	return 0;
}

/* The name of user uid, or its number, in buf. */
static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

/*
 * The run dir is the gate to the node's sockets, and whoever may use
 * memberd.ctl may down and remove members. So:
 *
 * 1. It must be ours: its owner could replace our sockets with its own and
 *    answer the tools, or read what the daemons tell each other.
 * 2. Nobody else may write in it, for the same reason; the one exception is
 *    a group-writable dir whose group is [node] socket-group, whose members
 *    are trusted with the node anyway.
 * 3. We then set its mode: 0700, or 0750 with group socket-group, so that
 *    the group's members reach the sockets the tools use (sock.c decides
 *    which). The daemons' user must be in that group to hand the dir to it.
 *
 * The parents are not checked: a writable parent lets its owner rename the
 * dir away, which the daemons notice only as missing sockets.
 */
int
daemon_run_dir(const struct akc_config *cfg)
{
	const char *dir = cfg->run_dir;
	int shared = cfg->socket_group[0] != '\0';
	char owner[64], me[64];
	struct stat st;
	mode_t want;

	if (make_dir(dir, "run-dir", &st) < 0)
		return -1;
	if (st.st_uid != geteuid()) {
		log_errx("run-dir '%s' is owned by '%s', not by '%s' who runs the daemons: "
		    "refusing to use it", dir, user_name(st.st_uid, owner, sizeof(owner)),
		    user_name(geteuid(), me, sizeof(me)));
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		log_errx("run-dir '%s' is writable by others (mode %04o): refusing to use it",
		    dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if ((st.st_mode & S_IWGRP) && !(shared && st.st_gid == cfg->socket_gid)) {
		struct group *gr = getgrgid(st.st_gid);

		log_errx("run-dir '%s' is writable by group '%s' (mode %04o), which is not "
		    "[node] socket-group: refusing to use it", dir,
		    gr != NULL ? gr->gr_name : "?", (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (shared && st.st_gid != cfg->socket_gid && chown(dir, (uid_t)-1, cfg->socket_gid) < 0) {
		int saved = errno;

		user_name(geteuid(), me, sizeof(me));
		errno = saved;
		log_err("cannot give run-dir '%s' to socket-group '%s' (is '%s' in it?)", dir,
		    cfg->socket_group, me);
		return -1;
	}
	want = shared ? (0750 | (st.st_mode & S_IWGRP)) : 0700;
	if ((st.st_mode & 07777) != want && chmod(dir, want) < 0) {
		log_err("cannot set the mode of run-dir '%s'", dir);
		return -1;
	}
	if (shared)
		sock_ipc_group(cfg->socket_gid);
	return 0;
}

int
daemon_state_dir(const struct akc_config *cfg)
{
	struct stat st;

	if (make_dir(cfg->state_dir, "state-dir", &st) < 0)
		return -1;
	if (st.st_uid == geteuid() && (st.st_mode & 0777) != 0700)
		(void)chmod(cfg->state_dir, 0700);
	return 0;
}

int
daemon_write_file(const char *path, const char *data, size_t len)
{
	char tmp[CONF_PATH_MAX + 8], dir[CONF_PATH_MAX], *slash;
	int fd, saved;
	size_t off = 0;
	ssize_t w;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	while (off < len) {
		if ((w = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

void
daemon_notify(const char *state)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	if (sock == NULL || (*sock != '/' && *sock != '@') || strlen(sock) >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock, strlen(sock));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sock));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}
