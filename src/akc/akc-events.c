/* akc-events: cluster events as JSON lines, starting with the current state. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>

#include "clock.h"
#include "json.h"
#include "proto.h"
#include "sock.h"
#include "tool.h"

#define USAGE "akc-events [-c FILE] [--no-snapshot] [--type TYPE]..."
#define MAX_TYPES 32

static const char *types[MAX_TYPES];
static int ntypes;

static int
wanted(const cJSON *ev)
{
	const char *t = json_str(ev, "type");
	int i;

	if (ntypes == 0)
		return 1;
	for (i = 0; t && i < ntypes; i++)
		if (strcmp(types[i], t) == 0)
			return 1;
	return 0;
}

static void
emit(struct tool *t, const cJSON *ev)
{
	if (!wanted(ev))
		return;
	(void)t;
	tool_print_json(ev);
	if (fflush(stdout) != 0 || ferror(stdout))
		_exit(0);	/* the reader went away: that is our cue, quietly */
}

/* Prints the current state as events; returns the seq they stand for. */
static uint64_t
snapshot(struct tool *t, int print)
{
	cJSON *rsp = tool_call(t, SOCK_MEMBERD_CTL, ctl_request(CTL_SNAPSHOT)), *ev;
	uint64_t seq = 0;
	char ts[40];

	json_u64(rsp, "seq", &seq);
	clock_rfc3339(clock_wall_ms(), ts, sizeof(ts));
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(rsp, "events")) {
		cJSON_AddStringToObject(ev, "time", ts);
		cJSON_AddNumberToObject(ev, "seq", (double)seq);
		if (print)
			emit(t, ev);
	}
	cJSON_Delete(rsp);
	return seq;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS,
		{ "no-snapshot", no_argument, NULL, 'S' },
		{ "type", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	char addr[CONF_PATH_MAX + 16], err[512];
	struct tool t;
	struct pollfd pfd[2];
	uint64_t last;
	int ch, s, nosnap = 0, n;
	long v;
	void *buf;

	tool_init(&t, "akc-events", USAGE);
	while ((ch = getopt_long(argc, argv, "c:ht:", longopts, NULL)) != -1) {
		if (tool_common_opt(&t, ch, optarg))
			continue;
		if (ch == 'S')
			nosnap = 1;
		else if (ch == 't') {
			if (ntypes == MAX_TYPES)
				tool_usage(&t, "too many --type options");
			types[ntypes++] = optarg;
		}
	}
	if (optind != argc)
		tool_usage(&t, "unexpected argument");
	tool_config(&t);
	/* subscribe first, then read the snapshot: nothing falls in between */
	config_ipc_path(&t.cfg, SOCK_MEMBERD_EVENTS, addr, sizeof(addr));
	if (sock_ipc_access(&t.cfg, SOCK_MEMBERD_EVENTS, err, sizeof(err)) == SOCK_DENIED) {
		fprintf(stderr, "akc-events: %s\n", err);
		return EXIT_TOOL_NODAEMON;
	}
	if ((s = nn_socket(AF_SP, NN_SUB)) < 0 ||
	    nn_setsockopt(s, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0 || nn_connect(s, addr) < 0) {
		fprintf(stderr, "akc-events: cannot subscribe to '%s': %s\n", addr,
		    nn_strerror(nn_errno()));
		return EXIT_TOOL_NODAEMON;
	}
	last = snapshot(&t, !nosnap);
	pfd[0].fd = sock_rcvfd(s);
	pfd[0].events = POLLIN;
	pfd[1].fd = STDOUT_FILENO;
	pfd[1].events = 0;	/* POLLERR/POLLHUP: the reader closed the pipe */
	for (;;) {
		if (poll(pfd, 2, 2000) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & (POLLERR | POLLHUP))
			tool_exit(&t, 0);
		while ((n = nn_recv(s, &buf, NN_MSG, NN_DONTWAIT)) >= 0) {
			cJSON *ev = json_parse(buf, (size_t)n);
			uint64_t seq;

			nn_freemsg(buf);
			if (ev == NULL || json_int(ev, "seq", 0, 1L << 53, &v) < 0) {
				cJSON_Delete(ev);
				continue;
			}
			seq = (uint64_t)v;
			if (seq <= last) {
				cJSON_Delete(ev);
				if (seq == 1) {
					fprintf(stderr, "akc-events: memberd restarted; re-reading its state\n");
					last = snapshot(&t, !nosnap);
				}
				continue;
			} else if (seq > last + 1) {
				/* PUB dropped some: give the reader the whole state again */
				fprintf(stderr, "akc-events: missed %llu events (seq %llu to %llu); "
				    "re-reading the state\n", (unsigned long long)(seq - last - 1),
				    (unsigned long long)last + 1, (unsigned long long)seq - 1);
				cJSON_Delete(ev);
				last = snapshot(&t, 1);
				continue;
			}
			last = seq;
			emit(&t, ev);
			cJSON_Delete(ev);
		}
	}
	nn_close(s);
	tool_exit(&t, 0);
}
