/* akc-results: finished jobs as JSON lines, resumable from a sequence number. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "proto.h"
#include "tool.h"
#include "workcall.h"

#define USAGE	"akc-results [-c FILE] [--since N] [--follow] [--timeout DURATION]"
#define PAGE		100	/* results asked for at once */
#define LONG_POLL	1000	/* ms the master holds a --follow request while nothing is new */
#define IDLE_POLL	200	/* ms between requests to a master that does not hold them */
#define LOST_RETRY	1000	/* ms between requests while the master is away (--follow) */

/* Prints one line; a reader that went away ends us quietly with 0. */
static void
emit(struct tool *t, const cJSON *line)
{
	tool_print_json(line);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			_exit(EXIT_TOOL_OK);
		fprintf(stderr, "%s: cannot write to standard output: %s\n", t->prog,
		    strerror(errno));
		_exit(EXIT_TOOL_REFUSED);
	}
}

/* Waits ms, or returns at once (exit 0) if the reader of stdout has gone. */
static void
idle(struct tool *t, int ms)
{
	struct pollfd p = { STDOUT_FILENO, 0, 0 };

	if (poll(&p, 1, ms) > 0 && (p.revents & (POLLERR | POLLHUP)))
		tool_exit(t, EXIT_TOOL_OK);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS,
		{ "since", required_argument, NULL, 's' },
		{ "follow", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct tool t;
	struct workcall w;
	char err[1024];
	cJSON *req, *rsp, *results, *r;
	uint64_t since = 0, next, seq;
	msec_t timeout = WORK_TIMEOUT, wait = 0, asked;
	long code;
	int ch, follow = 0, max = PAGE, n, answered = 0, lost = 0;

	tool_init(&t, "akc-results", USAGE);
	while ((ch = getopt_long(argc, argv, "c:hs:ft:", longopts, NULL)) != -1) {
		if (tool_common_opt(&t, ch, optarg))
			continue;
		switch (ch) {
		case 's':
			if (str_to_u64(optarg, &since) < 0)
				tool_usage(&t, "bad --since: a sequence number (0 for all)");
			break;
		case 'f':
			follow = 1;
			break;
		case 't':
			if ((timeout = config_parse_duration(optarg)) <= 0 || timeout > 24 * 3600 * 1000)
				tool_usage(&t, "bad --timeout: a duration with a unit (500ms, 30s, 2m)");
			break;
		}
	}
	if (optind != argc)
		tool_usage(&t, "unexpected argument");
	tool_config(&t);
	wc_open(&w, &t, timeout);
	/*
	 * --follow asks with wait: the master answers as soon as a result
	 * after since is committed (a push), or empty when the wait ends.
	 * The wait stays well under our own timeout.
	 */
	if (follow)
		wait = timeout / 2 < LONG_POLL ? timeout / 2 : LONG_POLL;
	for (;;) {
		req = wc_request(WORK_OP_RESULTS);
		wc_add_seq(req, "since", since);
		cJSON_AddNumberToObject(req, "max", max);
		/* held only while nothing is new: pages that are there come at once */
		if (wait > 0)
			cJSON_AddNumberToObject(req, "wait", (double)wait);
		asked = clock_mono_ms();
		switch (wc_try(&w, req, &rsp, &code, err, sizeof(err))) {
		case WC_REFUSED:
			fprintf(stderr, "%s: %s\n", t.prog, err);
			tool_exit(&t, (int)code);
		case WC_UNREACHABLE:
			/* a page too large for the proxy: ask for fewer at once */
			if (strstr(err, "too large") != NULL && max > 1) {
				max /= 2;
				continue;
			}
			/* once streaming, a master on the move is waited for */
			if (!follow || !answered) {
				fprintf(stderr, "%s: %s\n", t.prog, err);
				tool_exit(&t, EXIT_TOOL_NODAEMON);
			}
			if (!lost)
				fprintf(stderr, "%s: %s; retrying\n", t.prog, err);
			lost = 1;
			idle(&t, LOST_RETRY);
			continue;
		case WC_OK:
			break;
		}
		if (lost)
			fprintf(stderr, "%s: the master answers again\n", t.prog);
		lost = 0;
		answered = 1;
		results = cJSON_GetObjectItemCaseSensitive(rsp, "results");
		if (!cJSON_IsArray(results)) {
			fprintf(stderr, "%s: bad answer from '%s': no results\n", t.prog, w.addr + 6);
			tool_exit(&t, EXIT_TOOL_NODAEMON);
		}
		n = 0;
		next = since;
		cJSON_ArrayForEach(r, results) {
			if (!cJSON_IsObject(r) || wc_get_seq(r, "seq", &seq) < 0 || seq <= since) {
				fprintf(stderr, "%s: bad answer from '%s': a result without a new seq\n",
				    t.prog, w.addr + 6);
				tool_exit(&t, EXIT_TOOL_NODAEMON);
			}
			emit(&t, r);
			if (seq > next)
				next = seq;
			n++;
		}
		if (wc_get_seq(rsp, "next", &seq) == 0 && seq > next)
			next = seq;
		cJSON_Delete(rsp);
		if (n > 0 || next > since) {
			since = next;
			continue;	/* there may be more: the next page at once */
		}
		if (!follow)
			break;
		/*
		 * Nothing new. An answer that came at once did not wait (a
		 * master of a version before wait, or one with too many long
		 * polls parked): pause before asking again, as before push.
		 */
		idle(&t, clock_mono_ms() - asked < wait / 2 ? IDLE_POLL : 0);
	}
	wc_close(&w);
	tool_exit(&t, EXIT_TOOL_OK);
}
