/* akc.c: the umbrella command: "akc VERB ARGS" runs "akc-VERB ARGS", like git. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *verbs[] = {
	"members", "status", "events", "join", "leave", "down", "keys",
	"submit", "results", "queue", "job", "cancel", NULL
};

static void
usage(FILE *f)
{
	int i;

	fprintf(f, "usage: akc COMMAND [ARGS...]\n\ncommands:");
	for (i = 0; verbs[i]; i++)
		fprintf(f, " %s", verbs[i]);
	fprintf(f, "\n\n'akc COMMAND --help' describes a command.\n");
}

int
main(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 160], name[128], *slash;
	ssize_t n;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("akc %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strchr(argv[1], '/') != NULL || argv[1][0] == '-' || strlen(argv[1]) > 64) {
		fprintf(stderr, "akc: '%s' is not an akc command\n", argv[1]);
		return 2;
	}
	snprintf(name, sizeof(name), "akc-%s", argv[1]);
	argv[1] = name;
	/* prefer the tool installed beside this program */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, name);
			if (access(path, X_OK) == 0) {
				execv(path, argv + 1);
				fprintf(stderr, "akc: cannot run '%s': %s\n", path, strerror(errno));
				return 2;
			}
		}
	}
	execvp(name, argv + 1);
	if (errno == ENOENT)
		fprintf(stderr, "akc: '%s' is not an akc command (no '%s' found)\n",
		    argv[1] + 4, name);
	else
		fprintf(stderr, "akc: cannot run '%s': %s\n", name, strerror(errno));
	return 2;
}
