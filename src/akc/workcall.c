/*
 * workcall.c: the tools' side of the work protocol (akc-submit, akc-results,
 * akc-queue): one REQ connection to the proxy of the local singletond, which
 * carries each request to the master wherever it runs. The connection is
 * lib/spc.c's, not nanomsg's: a tool that submits one job and exits spent
 * more CPU starting nanomsg (a thread, epoll, eventfds, the library) than on
 * its request.
 *
 * Unlike the control sockets of memberd and leaderd (ctl_call), answers here
 * carry no "v", and an answer may come from the proxy instead of the master
 * ({"error", "proxy": true}: no master reachable in time, buffer full).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "proto.h"
#include "sock.h"
#include "workcall.h"

void
wc_fmt_ms(msec_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

void
wc_open(struct workcall *w, struct tool *t, msec_t timeout)
{
	char err[512];
	int v;

	w->t = t;
	w->timeout = timeout;
	config_ipc_path(&t->cfg, MASTER_SVC, w->addr, sizeof(w->addr));
	if ((v = sock_ipc_access(&t->cfg, MASTER_SVC, err, sizeof(err))) == SOCK_DENIED) {
		fprintf(stderr, "%s: %s\n", t->prog, err);
		exit(EXIT_TOOL_NODAEMON);
	}
	if (v == SOCK_ABSENT || v == SOCK_STALE) {
		fprintf(stderr, "%s: the master's proxy is not running on this node "
		    "(%s socket '%s'): start 'singletond -s master'\n", t->prog,
		    v == SOCK_ABSENT ? "no" : "stale", w->addr + 6);
		exit(EXIT_TOOL_NODAEMON);
	}
	/* room above WORK_PROXY_MAX: the proxy's own error about a large answer */
	if (spc_init(&w->c, w->addr, CTL_MAX_MSG) < 0) {
		fprintf(stderr, "%s: socket path '%s' is too long\n", t->prog, w->addr + 6);
		exit(EXIT_TOOL_NODAEMON);
	}
	wc_prefer(w, &w->c);
}

/*
 * The master's own socket, tried before the proxy when the master runs on
 * this node (doc/PROTOCOL.md, "Local clients straight to the master");
 * AKC_MASTER_DIRECT=0 goes through the proxy (bench/).
 */
void
wc_prefer(struct workcall *w, struct spc *c)
{
	char direct[CONF_PATH_MAX + 32];

	if (!env_flag("AKC_MASTER_DIRECT", 1))
		return;
	config_ipc_path(&w->t->cfg, SOCK_MASTER_DIRECT, direct, sizeof(direct));
	(void)spc_prefer(c, direct);	/* too long: the proxy's path alone */
}

/* Another REQ connection to the same proxy, made at its first request (akc-submit --batch). */
void
wc_conn(struct workcall *w, struct spc *c)
{
	if (spc_init(c, w->addr, CTL_MAX_MSG) < 0) {
		fprintf(stderr, "%s: socket path '%s' is too long\n", w->t->prog, w->addr + 6);
		exit(EXIT_TOOL_NODAEMON);
	}
	wc_prefer(w, c);
}

void
wc_close(struct workcall *w)
{
	spc_close(&w->c);
}

cJSON *
wc_request(const char *op)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddNumberToObject(r, "v", WORK_PROTO_VERSION);
	cJSON_AddStringToObject(r, "op", op);
	return r;
}

enum wc_outcome
wc_try(struct workcall *w, cJSON *req, cJSON **rsp, long *code, char *err, size_t errlen)
{
	char *txt, *buf = NULL, within[32], why[160];
	msec_t deadline = clock_mono_ms() + w->timeout;
	size_t len;
	ssize_t n;
	enum wc_outcome rc;

	*rsp = NULL;
	*code = 0;
	wc_fmt_ms(w->timeout, within, sizeof(within));
	txt = json_print(req);
	cJSON_Delete(req);
	if ((len = strlen(txt)) > WORK_PROXY_MAX) {
		snprintf(err, errlen, "request of %zu bytes refused: the proxy takes at most %d",
		    len, WORK_PROXY_MAX);
		cJSON_free(txt);
		*code = EXIT_TOOL_REFUSED;
		return WC_REFUSED;
	}
	n = spc_call(&w->c, txt, len, &buf, deadline, why, sizeof(why));
	cJSON_free(txt);
	if (n < 0) {
		if (errno == ETIMEDOUT)
			snprintf(err, errlen, "no answer from '%s' within %s", w->addr + 6, within);
		else
			snprintf(err, errlen, "no answer from '%s': %s", w->addr + 6, why);
		return WC_UNREACHABLE;
	}
	rc = wc_answer(w, buf, (size_t)n, rsp, code, err, errlen);
	free(buf);
	return rc;
}

enum wc_outcome
wc_answer(const struct workcall *w, const void *buf, size_t n, cJSON **rsp, long *code, char *err,
    size_t errlen)
{
	char why[160];
	const char *msg;
	int ok;

	*code = 0;
	*rsp = json_parse_why(buf, n, why, sizeof(why));
	if (!cJSON_IsObject(*rsp)) {
		snprintf(err, errlen, "bad answer from '%s': %s", w->addr + 6,
		    *rsp == NULL ? why : "not a JSON object");
		goto fail;
	}
	if (json_bool(*rsp, "ok", &ok) < 0) {
		msg = json_str(*rsp, "error");
		if (json_bool(*rsp, "proxy", &ok) == 0 && ok)
			snprintf(err, errlen, "proxy '%s': %s", w->addr + 6, msg ? msg : "no master");
		else
			snprintf(err, errlen, "bad answer from '%s': no \"ok\"", w->addr + 6);
		goto fail;
	}
	if (!ok) {
		msg = json_str(*rsp, "error");
		if (json_int(*rsp, "code", 1, 2, code) < 0)
			*code = EXIT_TOOL_REFUSED;
		snprintf(err, errlen, "%s", msg ? msg : "refused by the master");
		cJSON_Delete(*rsp);
		*rsp = NULL;
		return WC_REFUSED;
	}
	return WC_OK;
fail:
	cJSON_Delete(*rsp);
	*rsp = NULL;
	return WC_UNREACHABLE;
}

cJSON *
wc_call(struct workcall *w, cJSON *req)
{
	char err[1024];
	cJSON *rsp;
	long code;

	switch (wc_try(w, req, &rsp, &code, err, sizeof(err))) {
	case WC_OK:
		return rsp;
	case WC_REFUSED:
		fprintf(stderr, "%s: %s\n", w->t->prog, err);
		exit((int)code);
	case WC_UNREACHABLE:
		break;
	}
	fprintf(stderr, "%s: %s\n", w->t->prog, err);
	exit(EXIT_TOOL_NODAEMON);
}

cJSON *
wc_id_call(struct workcall *w, struct tool *t, int argc, char **argv, const char *op,
    const char **id)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS,
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	msec_t timeout = WORK_TIMEOUT;
	cJSON *req;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:ht:", longopts, NULL)) != -1) {
		if (tool_common_opt(t, ch, optarg))
			continue;
		if (ch == 't' && ((timeout = config_parse_duration(optarg)) <= 0 ||
		    timeout > 24 * 3600 * 1000))
			tool_usage(t, "bad --timeout: a duration with a unit (500ms, 30s, 2m)");
	}
	if (argc - optind != 1)
		tool_usage(t, "one job ID expected");
	if (!work_id_valid(argv[optind]))
		tool_usage(t, "bad id: 1-128 characters of A-Za-z0-9._:-");
	*id = argv[optind];
	tool_config(t);
	wc_open(w, t, timeout);
	req = wc_request(op);
	cJSON_AddStringToObject(req, "id", *id);
	return wc_call(w, req);
}

void
wc_add_seq(cJSON *obj, const char *key, uint64_t v)
{
	cJSON_AddNumberToObject(obj, key, (double)v);
}

int
wc_get_seq(const cJSON *obj, const char *key, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v))
		return str_to_u64(v->valuestring, out);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
	    v->valuedouble > 9007199254740992.0 || v->valuedouble != floor(v->valuedouble))
		return -1;
	*out = (uint64_t)v->valuedouble;
	return 0;
}
