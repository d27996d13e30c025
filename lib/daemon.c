/* daemon.c: shared start-up of the daemons: flags, config check, run dir, sd_notify. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
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

void
daemon_setup(int argc, char **argv, const char *prog, const char *usage,
    int want_singleton, struct daemon_opts *o, struct akc_config *cfg)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	setlocale(LC_NUMERIC, "C");
	log_init(prog);
	memset(o, 0, sizeof(*o));
	o->conf = config_default_path();
	while ((ch = getopt_long(argc, argv, want_singleton ? "+c:nvhs:" : "+c:nvh",
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
			fprintf(stderr, "usage: %s\n", usage);
			exit(2);
		}
	}
	o->argi = optind;
	log_setverbose(o->verbose);
	if (config_load(o->conf, cfg) != 0)
		exit(1);
	if (o->check) {
		printf("configuration OK\n");
		exit(0);
	}
}

/* mkdir -p: parents 0755, the last 0700; -1 with a warning naming what. */
static int
make_dir(const char *dir, const char *what)
{
	char path[CONF_PATH_MAX], *p;
	struct stat st;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			log_warn("cannot create '%s'", path);
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_warn("cannot create %s '%s'", what, path);
		return -1;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_warnx("%s '%s' is not a directory", what, path);
		return -1;
	}
	if (st.st_uid == geteuid() && (st.st_mode & 0777) != 0700)
		(void)chmod(path, 0700);
	return 0;
}

int
daemon_run_dir(const struct akc_config *cfg)
{
	return make_dir(cfg->run_dir, "run-dir");
}

int
daemon_state_dir(const struct akc_config *cfg)
{
	return make_dir(cfg->state_dir, "state-dir");
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
