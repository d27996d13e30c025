/*
 * fake-master: a stand-in for the master on a worker's proxy socket, for
 * the worker's tests of what the real master may not do yet (cancel lists)
 * or what is hard to see through it (which requests, when). It binds a REP
 * socket at ENDPOINT and answers every request at once, logging each one as
 * "MS REQUEST" (monotonic ms, the request's JSON) to LOG. What it answers
 * comes from files in DIR, read at each request:
 *
 *   DIR/job     a job object: the answer to the next "request" is
 *               {"ok":true,"job":JOB}, once; then the file is renamed job.given
 *   DIR/cancel  a JSON array: every answer carries "cancel": ARRAY
 *   DIR/proxy   the next "request" gets, instead of the master's answer, the
 *               proxy's error (as singletond's past request-timeout: the
 *               master may have served it), once; then the file is renamed
 *               proxy.given and the request's "ask" written to DIR/proxy.ask
 *
 * It is a master of before "next", "max" and "report": an op that master did
 * not know (as "report") is refused as it refused it, {"ok":false,"code":2,
 * "error":"unknown op 'OP'"}; everything else gets {"ok":true} ("request":
 * with "job":null). Runs until killed.
 *
 * usage: fake-master ENDPOINT LOG DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The JSON in DIR/NAME, or NULL. */
static cJSON *
from_file(const char *dir, const char *name)
{
	char path[4096], buf[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return cJSON_Parse(buf);
}

/* The ops of the master it stands for. */
static int
known(const char *op)
{
	static const char *ops[] = { "submit", "status", "results", "queue", "request", "done",
	    "failed", "register", "unregister", "job", "cancel" };
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i]) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	char *buf, *txt, from[4096], to[4096];
	cJSON *req, *rsp, *job, *cancel;
	const cJSON *op;
	FILE *log;
	int s, n, proxied;

	if (argc != 4) {
		fprintf(stderr, "usage: fake-master ENDPOINT LOG DIR\n");
		return 2;
	}
	if ((log = fopen(argv[2], "a")) == NULL || (s = nn_socket(AF_SP, NN_REP)) < 0 ||
	    nn_bind(s, argv[1]) < 0) {
		fprintf(stderr, "fake-master: cannot start on %s\n", argv[1]);
		return 1;
	}
	for (;;) {
		if ((n = nn_recv(s, &buf, NN_MSG, 0)) < 0)
			continue;
		fprintf(log, "%lld %.*s\n", now_ms(), n, buf);
		fflush(log);
		req = cJSON_ParseWithLength(buf, (size_t)n);
		nn_freemsg(buf);
		op = cJSON_GetObjectItemCaseSensitive(req, "op");
		rsp = cJSON_CreateObject();
		if (cJSON_IsString(op) && !known(op->valuestring)) {
			snprintf(from, sizeof(from), "unknown op '%.40s'", op->valuestring);
			cJSON_AddBoolToObject(rsp, "ok", 0);
			cJSON_AddStringToObject(rsp, "error", from);
			cJSON_AddNumberToObject(rsp, "code", 2);
		} else
			cJSON_AddBoolToObject(rsp, "ok", 1);
		snprintf(from, sizeof(from), "%s/proxy", argv[3]);
		proxied = 0;
		if (cJSON_IsString(op) && strcmp(op->valuestring, "request") == 0 &&
		    rename(from, (snprintf(to, sizeof(to), "%s/proxy.given", argv[3]), to)) == 0) {
			const cJSON *ask = cJSON_GetObjectItemCaseSensitive(req, "ask");
			FILE *f;

			snprintf(to, sizeof(to), "%s/proxy.ask", argv[3]);
			if ((f = fopen(to, "w")) != NULL) {
				fprintf(f, "%.0f\n", cJSON_IsNumber(ask) ? ask->valuedouble : 0.0);
				fclose(f);
			}
			cJSON_Delete(rsp);
			rsp = cJSON_CreateObject();
			cJSON_AddStringToObject(rsp, "error",
			    "singleton master: no answer within request-timeout (2s)");
			cJSON_AddStringToObject(rsp, "singleton", "master");
			cJSON_AddBoolToObject(rsp, "proxy", 1);
			proxied = 1;
		} else if (cJSON_IsString(op) && strcmp(op->valuestring, "request") == 0) {
			if ((job = from_file(argv[3], "job")) != NULL) {
				snprintf(from, sizeof(from), "%s/job", argv[3]);
				snprintf(to, sizeof(to), "%s/job.given", argv[3]);
				rename(from, to);
				cJSON_AddItemToObject(rsp, "job", job);
			} else
				cJSON_AddNullToObject(rsp, "job");
		}
		if (!proxied && (cancel = from_file(argv[3], "cancel")) != NULL)
			cJSON_AddItemToObject(rsp, "cancel", cancel);
		txt = cJSON_PrintUnformatted(rsp);
		nn_send(s, txt, strlen(txt), 0);
		free(txt);
		cJSON_Delete(rsp);
		cJSON_Delete(req);
	}
}
