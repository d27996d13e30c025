/*
 * akc-submit: submit one job to the master (or one per line of standard
 * input with --batch); prints its id once it is durably accepted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "b64.h"
#include "json.h"
#include "proto.h"
#include "submit.h"
#include "tool.h"
#include "workcall.h"
#include "xmalloc.h"

#define USAGE	"akc-submit [-c FILE] [--id ID] [--wait] [--delay DURATION] [--priority N]\n" \
	"                  [--timeout DURATION] [--call-timeout DURATION] [PAYLOAD | -]\n" \
	"       akc-submit --batch [--with-ids | --id-prefix PREFIX] [options] < LINES"
#define PRIORITY_MAX	4294967295L	/* 2^32 - 1 (the master's WORK_PRIORITY_MAX) */
#define TIMEOUT_MAX	(24L * 3600 * 1000)	/* a job's own timeout */
#define DELAY_MAX	(366L * 24 * 3600 * 1000)
#define LONG_POLL	1000	/* ms the master holds a --wait status request until the job ends */
#define POLL_EVERY	100	/* ms between status requests to a master that does not hold them */

/* Reads all of stdin (at most max bytes; more is refused: exit 1). */
static unsigned char *
read_stdin(const struct tool *t, size_t max, size_t *len)
{
	unsigned char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 64 * 1024;
			if (cap > max + 1)
				cap = max + 1;
			buf = xreallocarray(buf, cap, 1);
		}
		if ((n = read(STDIN_FILENO, buf + *len, cap - *len)) == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: cannot read standard input: %s\n", t->prog,
			    strerror(errno));
			exit(EXIT_TOOL_REFUSED);
		}
		*len += (size_t)n;
		if (*len > max) {
			fprintf(stderr, "%s: payload over %zu bytes refused: the master's proxy "
			    "takes requests of at most %d bytes\n", t->prog, max, WORK_PROXY_MAX);
			exit(EXIT_TOOL_REFUSED);
		}
	}
	return buf;
}

cJSON *
submit_request(const char *id, const char *b64, const struct submit_opts *o)
{
	cJSON *req = wc_request(WORK_OP_SUBMIT);

	cJSON_AddStringToObject(req, "id", id);
	cJSON_AddStringToObject(req, "payload", b64);
	if (o->priority >= 0)
		cJSON_AddNumberToObject(req, "priority", (double)o->priority);
	if (o->delay_ms > 0)
		cJSON_AddNumberToObject(req, "delay_ms", (double)o->delay_ms);
	if (o->timeout_ms > 0)
		cJSON_AddNumberToObject(req, "timeout_ms", (double)o->timeout_ms);
	return req;
}

/* A duration option with a unit, in min..max ms; a usage error if not. */
static long
duration_opt(const struct tool *t, const char *name, const char *arg, long min, long max)
{
	char why[160];
	msec_t d = config_parse_duration(arg);

	if (d < min || d > max) {
		snprintf(why, sizeof(why), "bad --%s '%s': a duration with a unit (500ms, 30s, 2m)%s",
		    name, arg, min > 0 ? ", more than 0" : "");
		tool_usage(t, why);
	}
	return (long)d;
}

/* 32 hex digits, as the master would make: a re-sent submit stays one job. */
static void
make_id(char id[33])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(id, 33, r, sizeof(r));
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * The akc-results line of a finished job, from its status answer: a result
 * that is not text comes as result_base64, and goes on as that instead of
 * result.
 */
static cJSON *
result_line(const cJSON *st)
{
	static const char *keys[] = { "seq", "id", "status", "result", "attempts", "worker",
	    "submitted", "started", "finished" };
	cJSON *line = cJSON_CreateObject(), *v;
	const char *key;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		key = keys[i];
		if (strcmp(key, "result") == 0 && json_str(st, "result") == NULL &&
		    json_str(st, "result_base64") != NULL)
			key = "result_base64";
		v = cJSON_GetObjectItemCaseSensitive(st, key);
		cJSON_AddItemToObject(line, key, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
	}
	/* a failed job's line carries the tail of its stderr, as akc-results shows it */
	if ((v = cJSON_GetObjectItemCaseSensitive(st, "stderr")) != NULL)
		cJSON_AddItemToObject(line, "stderr", cJSON_Duplicate(v, 1));
	return line;
}

/*
 * A job the master no longer knows (finished, then forgotten after
 * [master] keep-finished before we saw it finished): its result line is in
 * the journal after seq `since`. Prints it; -1 if there is none.
 */
static int
find_result(struct workcall *w, const char *id, uint64_t since)
{
	cJSON *req, *rsp, *r;
	const char *status;
	uint64_t next, seq;
	int rc;

	for (;;) {
		req = wc_request(WORK_OP_RESULTS);
		wc_add_seq(req, "since", since);
		cJSON_AddNumberToObject(req, "max", 1000);
		rsp = wc_call(w, req);
		next = since;
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(rsp, "results")) {
			if (wc_get_seq(r, "seq", &seq) == 0 && seq > next)
				next = seq;
			if (json_str(r, "id") == NULL || strcmp(json_str(r, "id"), id) != 0 ||
			    (status = json_str(r, "status")) == NULL)
				continue;
			rc = strcmp(status, "done") == 0 ? EXIT_TOOL_OK : EXIT_TOOL_REFUSED;
			tool_print_json(r);
			cJSON_Delete(rsp);
			return rc;
		}
		cJSON_Delete(rsp);
		if (next <= since)
			return -1;
		since = next;
	}
}

/*
 * --wait: asks for the job's status until it is done, failed or cancelled, with wait:
 * the master answers as soon as the job's result line is committed (a
 * push), or with the status it has when the wait ends. The id is
 * printed already, so a master that cannot be reached for a while (moving
 * to another node) is waited for; a refusal (unknown id) is not, unless the
 * job finished and was forgotten meanwhile (then its result line is found).
 */
static int
wait_for(struct workcall *w, const char *id, uint64_t since)
{
	char err[1024];
	cJSON *req, *rsp, *line;
	const char *status;
	long code;
	int lost = 0, rc;
	msec_t wait = w->timeout / 2 < LONG_POLL ? w->timeout / 2 : LONG_POLL, asked;

	for (;;) {
		req = wc_request(WORK_OP_STATUS);
		cJSON_AddStringToObject(req, "id", id);
		cJSON_AddNumberToObject(req, "wait", (double)wait);
		asked = clock_mono_ms();
		switch (wc_try(w, req, &rsp, &code, err, sizeof(err))) {
		case WC_REFUSED:
			if (code == 1 && (rc = find_result(w, id, since)) >= 0)
				return rc;
			fprintf(stderr, "%s: %s\n", w->t->prog, err);
			return (int)code;
		case WC_UNREACHABLE:
			if (!lost)
				fprintf(stderr, "%s: %s; still waiting for job %s\n", w->t->prog, err, id);
			lost = 1;
			sleep_ms(1000);
			continue;
		case WC_OK:
			break;
		}
		if (lost)
			fprintf(stderr, "%s: the master answers again\n", w->t->prog);
		lost = 0;
		if ((status = json_str(rsp, "status")) == NULL) {
			fprintf(stderr, "%s: bad answer from '%s': no status\n", w->t->prog, w->addr + 6);
			cJSON_Delete(rsp);
			return EXIT_TOOL_NODAEMON;
		}
		if (strcmp(status, "done") == 0 || strcmp(status, "failed") == 0 ||
		    strcmp(status, "cancelled") == 0) {
			rc = strcmp(status, "done") == 0 ? EXIT_TOOL_OK : EXIT_TOOL_REFUSED;
			line = result_line(rsp);
			tool_print_json(line);
			cJSON_Delete(line);
			cJSON_Delete(rsp);
			return rc;
		}
		cJSON_Delete(rsp);
		/* an answer at once did not wait (an older master, or too many parked) */
		if (clock_mono_ms() - asked < wait / 2)
			sleep_ms(POLL_EVERY);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS,
		{ "id", required_argument, NULL, 'i' },
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "call-timeout", required_argument, NULL, 'T' },
		{ "delay", required_argument, NULL, 'd' },
		{ "priority", required_argument, NULL, 'p' },
		{ "batch", no_argument, NULL, 'b' },
		{ "with-ids", no_argument, NULL, 'I' },
		{ "id-prefix", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct batch_opts bo = { { -1, 0, 0 }, 0, NULL };
	char *end;
	struct tool t;
	struct workcall w;
	const char *id = NULL, *rid;
	char genid[33], *b64;
	unsigned char *payload;
	size_t len;
	cJSON *req, *rsp;
	msec_t timeout = WORK_TIMEOUT;
	uint64_t since;
	int ch, wait = 0, batch = 0, rc = EXIT_TOOL_OK;

	tool_init(&t, "akc-submit", USAGE);
	while ((ch = getopt_long(argc, argv, "c:hi:w", longopts, NULL)) != -1) {
		if (tool_common_opt(&t, ch, optarg))
			continue;
		switch (ch) {
		case 'i':
			if (!work_id_valid(optarg))
				tool_usage(&t, "bad id: 1-128 characters of A-Za-z0-9._:-");
			id = optarg;
			break;
		case 'w':
			wait = 1;
			break;
		case 't':
			bo.job.timeout_ms = duration_opt(&t, "timeout", optarg, 1, TIMEOUT_MAX);
			break;
		case 'T':
			timeout = duration_opt(&t, "call-timeout", optarg, 1, 24 * 3600 * 1000);
			break;
		case 'd':
			bo.job.delay_ms = duration_opt(&t, "delay", optarg, 0, DELAY_MAX);
			break;
		case 'p':
			errno = 0;
			bo.job.priority = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || bo.job.priority < 0 ||
			    bo.job.priority > PRIORITY_MAX)
				tool_usage(&t, "bad --priority: a number 0-4294967295 (lower runs first)");
			break;
		case 'b':
			batch = 1;
			break;
		case 'I':
			bo.with_ids = 1;
			break;
		case 'P':
			bo.id_prefix = optarg;
			break;
		}
	}
	if (batch) {
		if (id != NULL || wait || optind != argc || (bo.with_ids && bo.id_prefix != NULL))
			tool_usage(&t, "--batch reads standard input: no PAYLOAD, --id or --wait, "
			    "and at most one of --with-ids and --id-prefix");
		if (bo.id_prefix != NULL && !work_id_valid(bo.id_prefix))
			tool_usage(&t, "bad --id-prefix: 1-118 characters of A-Za-z0-9._:-");
		tool_config(&t);
		if (sodium_init() < 0) {
			fprintf(stderr, "akc-submit: libsodium cannot start\n");
			return EXIT_TOOL_REFUSED;
		}
		wc_open(&w, &t, timeout);
		rc = submit_batch(&w, &bo);
		wc_close(&w);
		tool_exit(&t, rc);
	}
	if (bo.with_ids || bo.id_prefix != NULL)
		tool_usage(&t, "--with-ids and --id-prefix go with --batch");
	if (argc - optind > 1)
		tool_usage(&t, "unexpected argument");
	if (optind == argc && isatty(STDIN_FILENO))
		tool_usage(&t, "no payload: give PAYLOAD, or '-' to read standard input");
	tool_config(&t);
	if (sodium_init() < 0) {
		fprintf(stderr, "akc-submit: libsodium cannot start\n");
		return EXIT_TOOL_REFUSED;
	}
	if (optind == argc || strcmp(argv[optind], "-") == 0)
		payload = read_stdin(&t, WORK_PROXY_MAX, &len);
	else {
		len = strlen(argv[optind]);
		payload = (unsigned char *)xstrdup(argv[optind]);
	}
	b64 = b64_encode(payload, len);
	free(payload);
	if (strlen(b64) + 256 > WORK_PROXY_MAX) {
		fprintf(stderr, "akc-submit: payload of %zu bytes refused: the master's proxy takes "
		    "requests of at most %d bytes (a payload of about %d)\n", len, WORK_PROXY_MAX,
		    (WORK_PROXY_MAX - 256) / 4 * 3);
		return EXIT_TOOL_REFUSED;
	}
	if (id == NULL) {
		make_id(genid);
		id = genid;
	}
	wc_open(&w, &t, timeout);
	req = submit_request(id, b64, &bo.job);
	free(b64);
	rsp = wc_call(&w, req);
	if ((rid = json_str(rsp, "id")) == NULL || strcmp(rid, id) != 0) {
		fprintf(stderr, "akc-submit: bad answer from '%s': %s\n", w.addr + 6,
		    rid == NULL ? "no id" : "another id");
		return EXIT_TOOL_NODAEMON;
	}
	printf("%s\n", id);
	if (wc_get_seq(rsp, "since", &since) < 0)
		since = 0;
	cJSON_Delete(rsp);
	if (wait) {
		if (fflush(stdout) != 0)
			tool_exit(&t, EXIT_TOOL_REFUSED);
		rc = wait_for(&w, id, since);
	}
	wc_close(&w);
	tool_exit(&t, rc);
}
