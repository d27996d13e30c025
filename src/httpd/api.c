/*
 * api.c: the routes of akc-httpd and their handlers. A handler runs at
 * stage 0 with the request, makes calls to the local daemons (req_call),
 * and runs again at the next stage once they have all answered; it ends by
 * setting the response. The mapping of the daemons' answers to HTTP:
 * a daemon that is not running or silent is 503, a refusal with code 2
 * (malformed) is 400, and a refusal with code 1 is the route's own: 404
 * for an unknown node or job, 409 for a change not allowed now.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "b64.h"
#include "httpd.h"
#include "json.h"
#include "metrics.h"
#include "proto.h"
#include "rstream.h"
#include "sock.h"
#include "sse.h"
#include "xmalloc.h"

/* Largest job payload: its base64 in a request must fit the proxy (akc-submit's bound). */
#define PAYLOAD_MAX	((PROXY_MAX_BODY - 256) / 4 * 3)
#define RESULTS_MAX	1000	/* results in one answer at most (?max=) */

struct route {
	const char *method;	/* GET routes answer HEAD too */
	const char *path;
	int prefix;		/* the path's tail after it is the argument */
	int change;		/* needs the bearer token */
	size_t body_max;
	void (*run)(struct req *);
};

/* ---- helpers ---- */

/* The answer in slot i, or NULL after answering 503 with the reason it failed. */
static cJSON *
answer(struct req *r, int i)
{
	if (r->slot[i].rsp == NULL) {
		req_error(r, 503, "%s", r->slot[i].err);
		return NULL;
	}
	return r->slot[i].rsp;
}

/*
 * Whether rsp refuses: then answers with its message and status (code 2,
 * malformed: 400; the master's proxy answering for an unreachable master:
 * 503), and returns 1.
 */
static int
refused(struct req *r, const cJSON *rsp, unsigned int status)
{
	const char *msg = json_str(rsp, "error");
	int ok = 0, proxy = 0;
	long code = 1;

	if (json_bool(rsp, "ok", &ok) == 0 && ok)
		return 0;
	(void)json_int(rsp, "code", 1, 2, &code);
	if (json_bool(rsp, "proxy", &proxy) == 0 && proxy)
		status = 503;
	else if (code == 2)
		status = 400;
	req_error(r, status, "%s", msg != NULL ? msg : "refused");
	return 1;
}

/* Moves rsp's field key into o (null when absent). */
static void
take(cJSON *o, cJSON *rsp, const char *key)
{
	cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(rsp, key);

	cJSON_AddItemToObject(o, key, v != NULL ? v : cJSON_CreateNull());
}

/* The answer without its envelope ("v", "ok"), for the client. */
static cJSON *
unwrap(struct req *r, int i)
{
	cJSON *rsp = r->slot[i].rsp;

	r->slot[i].rsp = NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(rsp, "v");
	cJSON_DeleteItemFromObjectCaseSensitive(rsp, "ok");
	return rsp;
}

static cJSON *
work_request(const char *op)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "op", op);
	return o;
}

static cJSON *
find_member(const cJSON *members, const char *node)
{
	const cJSON *m;
	const char *n;

	cJSON_ArrayForEach(m, members)
		if ((n = json_str(m, "node")) != NULL && strcmp(n, node) == 0)
			return (cJSON *)m;
	return NULL;
}

/* ---- health ---- */

static void
h_alive(struct req *r)
{
	cJSON *o;

	if (r->stage == 0) {
		req_call(r, SOCK_MEMBERD_CTL, ctl_request(CTL_PING), T_CTL);
		return;
	}
	if (answer(r, 0) == NULL)
		return;
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "alive", 1);
	req_json(r, 200, o);
}

/* 200 when this node is Up (or WeaklyUp) and its leaderd answers; 503 with the reasons. */
static void
h_ready(struct req *r)
{
	cJSON *o, *why, *st = NULL, *self;
	const char *name, *status = NULL, *phase;

	if (r->stage == 0) {
		req_call(r, SOCK_MEMBERD_CTL, ctl_request(CTL_STATUS), T_CTL);
		req_call(r, SOCK_LEADERD_CTL, ctl_request(CTL_STATUS), T_LEADERD);
		return;
	}
	o = cJSON_CreateObject();
	why = cJSON_CreateArray();
	if ((st = r->slot[0].rsp) == NULL)
		cJSON_AddItemToArray(why, cJSON_CreateString(r->slot[0].err));
	else if ((name = json_str(st, "self")) != NULL) {
		cJSON_AddStringToObject(o, "self", name);
		self = find_member(cJSON_GetObjectItemCaseSensitive(st, "members"), name);
		status = self != NULL ? json_str(self, "status") : NULL;
		phase = json_str(st, "phase");
		if (status == NULL)
			cJSON_AddItemToArray(why, cJSON_CreateStringReference(phase != NULL &&
			    strcmp(phase, "joining") == 0 ? "this node is joining: not a member yet" :
			    "this node is not a member"));
		else if (strcmp(status, "Up") != 0 && strcmp(status, "WeaklyUp") != 0) {
			char msg[64];

			snprintf(msg, sizeof(msg), "this node is %s", status);
			cJSON_AddItemToArray(why, cJSON_CreateString(msg));
		}
	}
	cJSON_AddItemToObject(o, "status", status != NULL ? cJSON_CreateString(status) :
	    cJSON_CreateNull());
	cJSON_AddBoolToObject(o, "leaderd", r->slot[1].rsp != NULL);
	if (r->slot[1].rsp == NULL)
		cJSON_AddItemToArray(why, cJSON_CreateString(r->slot[1].err));
	cJSON_AddBoolToObject(o, "ready", cJSON_GetArraySize(why) == 0);
	if (cJSON_GetArraySize(why) > 0) {
		cJSON_AddItemToObject(o, "reasons", why);
		req_json(r, 503, o);
	} else {
		cJSON_Delete(why);
		req_json(r, 200, o);
	}
}

/* ---- members ---- */

static void
h_members(struct req *r)
{
	static const char *keys[] = { "self", "leader", "oldest", "role_leaders", "convergence",
	    "unreachable", "members", "cluster" };
	cJSON *st, *o;
	size_t i;

	if (r->stage == 0) {
		req_call(r, SOCK_MEMBERD_CTL, ctl_request(CTL_STATUS), T_CTL);
		return;
	}
	if ((st = answer(r, 0)) == NULL || refused(r, st, 409))
		return;
	o = cJSON_CreateObject();
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		take(o, st, keys[i]);
	req_json(r, 200, o);
}

static void
h_member(struct req *r)
{
	cJSON *rsp, *m;

	if (r->stage == 0) {
		req_call(r, SOCK_MEMBERD_CTL, ctl_request(CTL_MEMBERS), T_CTL);
		return;
	}
	if ((rsp = answer(r, 0)) == NULL || refused(r, rsp, 409))
		return;
	if ((m = find_member(cJSON_GetObjectItemCaseSensitive(rsp, "members"), r->arg)) == NULL)
		req_error(r, 404, "unknown node '%s'", r->arg);
	else
		req_json(r, 200, cJSON_Duplicate(m, 1));
}

/* Decodes %XX and '+' of a form value in place. */
static void
form_decode(char *s)
{
	char *o = s;
	unsigned int c;

	for (; *s; s++, o++) {
		if (*s == '+')
			*o = ' ';
		else if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2]) &&
		    sscanf(s + 1, "%2x", &c) == 1) {
			*o = (char)c;
			s += 2;
		} else
			*o = *s;
	}
	*o = '\0';
}

/*
 * The operation of a PUT: ?operation=, or the body's field "operation"
 * (JSON, or a form). Copies it into op; -1 if there is none.
 */
static int
put_operation(struct req *r, char *op, size_t len)
{
	const char *q = req_query(r, "operation"), *ct = req_header(r,
	    MHD_HTTP_HEADER_CONTENT_TYPE), *v;
	char *body, *tok, *save;
	cJSON *j;
	int found = -1;

	if (q != NULL) {
		snprintf(op, len, "%s", q);
		return 0;
	}
	if (buf_left(&r->body) == 0)
		return -1;
	if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0) {
		j = json_parse(r->body.p, r->body.len);
		if ((v = json_str(j, "operation")) != NULL) {
			snprintf(op, len, "%s", v);
			found = 0;
		}
		cJSON_Delete(j);
		return found;
	}
	if ((body = strndup(r->body.p, r->body.len)) == NULL)
		fatal("strndup");
	for (tok = strtok_r(body, "&", &save); tok != NULL; tok = strtok_r(NULL, "&", &save))
		if (strncmp(tok, "operation=", 10) == 0) {
			form_decode(tok + 10);
			snprintf(op, len, "%s", tok + 10);
			found = 0;
			break;
		}
	free(body);
	return found;
}

/* PUT (operation Down or Leave) and DELETE (Leave): as akc-down and akc-leave. */
static void
h_member_change(struct req *r)
{
	char op[32];
	const char *cmd;
	cJSON *rsp, *req, *o;

	if (r->stage == 0) {
		if (strcmp(r->method, MHD_HTTP_METHOD_DELETE) == 0)
			snprintf(op, sizeof(op), "Leave");
		else if (put_operation(r, op, sizeof(op)) < 0) {
			req_error(r, 400, "no operation: give operation=Down or operation=Leave "
			    "(form, JSON or query)");
			return;
		}
		if (strcasecmp(op, "down") != 0 && strcasecmp(op, "leave") != 0) {
			req_error(r, 400, "bad operation '%s': Down or Leave", op);
			return;
		}
		r->priv = xstrdup(strcasecmp(op, "down") == 0 ? CTL_DOWN : CTL_LEAVE);
		req_call(r, SOCK_MEMBERD_CTL, ctl_request(CTL_MEMBERS), T_CTL);
		return;
	}
	cmd = r->priv;
	if (r->stage == 1) {
		if ((rsp = answer(r, 0)) == NULL || refused(r, rsp, 409))
			return;
		if (find_member(cJSON_GetObjectItemCaseSensitive(rsp, "members"), r->arg) == NULL) {
			req_error(r, 404, "unknown node '%s'", r->arg);
			return;
		}
		req = ctl_request(cmd);
		cJSON_AddStringToObject(req, "node", r->arg);
		req_call(r, SOCK_MEMBERD_CTL, req, T_CTL);
		return;
	}
	if ((rsp = answer(r, 1)) == NULL || refused(r, rsp, 409))
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "node", r->arg);
	cJSON_AddStringToObject(o, "operation", cmd[0] == 'd' ? "Down" : "Leave");
	cJSON_AddStringToObject(o, "message", cmd[0] == 'd' ? "marking the member as Down" :
	    "the member is leaving the cluster");
	req_json(r, 200, o);
}

/* ---- the event stream ---- */

static void
h_events(struct req *r)
{
	struct MHD_Response *resp = sse_open(r->h->sse, r->con, req_header(r, "Last-Event-ID"));

	if (resp == NULL) {
		req_error(r, 503, "too many event streams open (%d)", SSE_MAX_STREAMS);
		return;
	}
	r->resp = resp;
	r->code = 200;
	r->state = R_DONE;
}

/* ---- metrics ---- */

struct scrape {
	char names[CONF_MAX_SINGLETONS][CONF_NAME_MAX];
	int n, first;		/* the singletons' slots start at first */
	int queue;		/* the master's queue answer's slot, -1: not asked */
};

static void
h_metrics(struct req *r)
{
	struct scrape *s = r->priv;
	struct metrics_in in;
	char sock[CONF_NAME_MAX + 16];
	int i, here = 0;

	if (r->stage == 0) {
		s = r->priv = xcalloc(1, sizeof(*s));
		s->queue = -1;
		/* the singletons of this node: those configured, and any singletond's socket */
		sock_singletons(&r->h->cfg, s->names, &s->n, CONF_MAX_SINGLETONS);
		req_call(r, SOCK_MEMBERD_CTL, ctl_request(CTL_STATUS), T_CTL);
		req_call(r, SOCK_LEADERD_CTL, ctl_request(CTL_STATUS), T_LEADERD);
		s->first = r->nslots;
		for (i = 0; i < s->n; i++) {
			snprintf(sock, sizeof(sock), SOCK_SINGLETON_CTL, s->names[i]);
			req_call(r, sock, ctl_request(CTL_STATUS), T_CTL);
		}
		return;
	}
	if (r->stage == 1) {
		/* the master's figures come from the node it runs on only: no double counting */
		for (i = 0; i < s->n; i++)
			if (strcmp(s->names[i], "master") == 0 && r->slot[s->first + i].rsp != NULL)
				(void)json_bool(r->slot[s->first + i].rsp, "running_here", &here);
		if (here) {
			/* -1: too busy, and the 503 stands */
			s->queue = req_call(r, MASTER_SVC, work_request(WORK_OP_QUEUE), T_SCRAPE);
			return;
		}
	}
	memset(&in, 0, sizeof(in));
	in.status = r->slot[0].rsp;
	in.leaderd = r->slot[1].rsp;
	in.leaderd_up = r->slot[1].rsp != NULL;
	for (i = 0; i < s->n; i++) {
		in.sg[i].name = s->names[i];
		in.sg[i].st = r->slot[s->first + i].rsp;
	}
	in.nsg = s->n;
	if (s->queue >= 0 && r->slot[s->queue].rsp != NULL) {
		int ok = 0;

		if (json_bool(r->slot[s->queue].rsp, "ok", &ok) == 0 && ok)
			in.queue = r->slot[s->queue].rsp;
	}
	in.requests = r->h->requests;
	memcpy(in.by_class, r->h->by_class, sizeof(in.by_class));
	in.streams = sse_streams(r->h->sse);
	in.result_streams = rstream_streams(r->h->rs);
	in.streams_dropped = sse_dropped(r->h->sse);
	in.calls_in_flight = backend_pending(r->h->be);
	in.calls_failed = backend_failed(r->h->be);
	r->code = 200;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
	buf_reset(&r->out);
	metrics_render(&in, &r->out);
	r->state = R_DONE;
}

/* ---- work ---- */

static void
h_submit(struct req *r)
{
	const char *qid = req_query(r, "id");
	char id[WORK_ID_MAX + 1], *b64;
	unsigned char rnd[16];
	cJSON *req, *rsp, *o;

	if (r->stage == 0) {
		if (qid != NULL && !work_id_valid(qid)) {
			req_error(r, 400, "bad id: 1-%d characters of A-Za-z0-9._:-", WORK_ID_MAX);
			return;
		}
		if (qid != NULL)
			snprintf(id, sizeof(id), "%s", qid);
		else {
			/* made here, as akc-submit does: the id is known before the master answers */
			randombytes_buf(rnd, sizeof(rnd));
			sodium_bin2hex(id, sizeof(id), rnd, sizeof(rnd));
		}
		b64 = b64_encode(r->body.p ? r->body.p : "", r->body.len);
		req = work_request(WORK_OP_SUBMIT);
		cJSON_AddStringToObject(req, "id", id);
		cJSON_AddStringToObject(req, "payload", b64);
		free(b64);
		req_call(r, MASTER_SVC, req, T_WORK);
		return;
	}
	if ((rsp = answer(r, 0)) == NULL || refused(r, rsp, 409))
		return;
	if (json_str(rsp, "id") == NULL) {
		req_error(r, 503, "bad answer from the master: no id");
		return;
	}
	o = cJSON_CreateObject();
	take(o, rsp, "id");
	take(o, rsp, "new");
	req_json(r, 200, o);
}

static void
h_job(struct req *r)
{
	cJSON *req, *rsp;

	if (r->stage == 0) {
		if (!work_id_valid(r->arg)) {
			req_error(r, 400, "bad job id: 1-%d characters of A-Za-z0-9._:-", WORK_ID_MAX);
			return;
		}
		req = work_request(WORK_OP_STATUS);
		cJSON_AddStringToObject(req, "id", r->arg);
		req_call(r, MASTER_SVC, req, T_WORK);
		return;
	}
	if ((rsp = answer(r, 0)) == NULL || refused(r, rsp, 404))
		return;
	req_json(r, 200, unwrap(r, 0));
}

static void
h_queue(struct req *r)
{
	cJSON *rsp;

	if (r->stage == 0) {
		req_call(r, MASTER_SVC, work_request(WORK_OP_QUEUE), T_WORK);
		return;
	}
	if ((rsp = answer(r, 0)) == NULL || refused(r, rsp, 409))
		return;
	req_json(r, 200, unwrap(r, 0));
}

/*
 * Whether GET /results asks for the stream: ?follow=1, or an Accept that
 * takes text/event-stream (an EventSource's).
 */
static int
wants_stream(const struct req *r)
{
	const char *f = req_query(r, "follow"), *acc = req_header(r, MHD_HTTP_HEADER_ACCEPT);

	if (strcmp(r->method, MHD_HTTP_METHOD_HEAD) == 0)
		return 0;	/* a stream has no end to show the head of */
	if (f != NULL)
		return strcmp(f, "1") == 0 || strcmp(f, "true") == 0;
	return acc != NULL && strstr(acc, "text/event-stream") != NULL;
}

/* The result lines as they are committed, after since or the client's Last-Event-ID. */
static void
results_stream(struct req *r, uint64_t since)
{
	const char *last = req_header(r, "Last-Event-ID");
	struct MHD_Response *resp;
	uint64_t l;

	if (last != NULL && last[0] != '\0') {
		if (str_to_u64(last, &l) < 0 || l > (1ULL << 53)) {
			req_error(r, 400, "Last-Event-ID must be a sequence number");
			return;
		}
		since = l;	/* a reconnection resumes where it was */
	}
	if ((resp = rstream_open(r->h->rs, r->con, since)) == NULL) {
		req_error(r, 503, "too many result streams open (%d)", RSTREAM_MAX);
		return;
	}
	r->resp = resp;
	r->code = 200;
	r->state = R_DONE;
}

static void
h_results(struct req *r)
{
	const char *since = req_query(r, "since"), *max = req_query(r, "max");
	const char *f = req_query(r, "follow");
	uint64_t s = 0, m = 100;
	cJSON *req, *rsp;

	if (r->stage == 0) {
		if ((since != NULL && (str_to_u64(since, &s) < 0 || s > (1ULL << 53))) ||
		    (max != NULL && (str_to_u64(max, &m) < 0 || m < 1 || m > RESULTS_MAX))) {
			req_error(r, 400, "since must be a sequence number, max 1 to %d", RESULTS_MAX);
			return;
		}
		if (f != NULL && strcmp(f, "0") != 0 && strcmp(f, "1") != 0 &&
		    strcmp(f, "false") != 0 && strcmp(f, "true") != 0) {
			req_error(r, 400, "follow must be 1 or 0");
			return;
		}
		if (wants_stream(r)) {
			results_stream(r, s);
			return;
		}
		req = work_request(WORK_OP_RESULTS);
		cJSON_AddNumberToObject(req, "since", (double)s);
		cJSON_AddNumberToObject(req, "max", (double)m);
		req_call(r, MASTER_SVC, req, T_WORK);
		return;
	}
	if ((rsp = answer(r, 0)) == NULL || refused(r, rsp, 409))
		return;
	req_json(r, 200, unwrap(r, 0));
}

/* ---- the page ---- */

static void
h_page(struct req *r)
{
	www_serve(r, r->arg[0] != '\0' ? r->arg : "index.html");
}

/* ---- the table ---- */

static const struct route routes[] = {
	{ "GET", "/alive", 0, 0, 0, h_alive },
	{ "GET", "/ready", 0, 0, 0, h_ready },
	{ "GET", "/cluster/members", 0, 0, 0, h_members },
	{ "GET", "/cluster/members/", 1, 0, 0, h_member },
	{ "PUT", "/cluster/members/", 1, 1, 4096, h_member_change },
	{ "DELETE", "/cluster/members/", 1, 1, 0, h_member_change },
	{ "GET", "/metrics", 0, 0, 0, h_metrics },
	{ "GET", "/events", 0, 0, 0, h_events },
	{ "GET", "/jobs", 0, 0, 0, h_queue },
	{ "POST", "/jobs", 0, 1, PAYLOAD_MAX, h_submit },
	{ "GET", "/jobs/", 1, 0, 0, h_job },
	{ "GET", "/results", 0, 0, 0, h_results },
	{ "GET", "/", 1, 0, 0, h_page },	/* index.html and the page's files */
};

/* A path argument: a node's name, a job's id, a file of the page. */
static int
arg_valid(const char *s, int empty_ok)
{
	size_t i, len = strlen(s);

	if (len == 0)
		return empty_ok;
	if (len > 200 || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._:-", s[i]) == NULL)
			return 0;
	return 1;
}

const struct route *
api_route(const char *method, const char *path, char *arg, size_t arglen, unsigned int *code)
{
	const char *m = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 ? MHD_HTTP_METHOD_GET : method;
	const struct route *rt;
	size_t i, n;
	int seen = 0;

	*code = 404;
	arg[0] = '\0';
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		rt = &routes[i];
		n = strlen(rt->path);
		if (rt->prefix ? strncmp(path, rt->path, n) != 0 ||
		    !arg_valid(path + n, strcmp(rt->path, "/") == 0) : strcmp(path, rt->path) != 0)
			continue;
		seen = 1;
		if (strcmp(m, rt->method) != 0)
			continue;
		if (rt->prefix)
			snprintf(arg, arglen, "%s", path + n);
		return rt;
	}
	if (seen)
		*code = 405;
	return NULL;
}

int
api_changes(const struct route *rt)
{
	return rt->change;
}

size_t
api_body_max(const struct route *rt)
{
	return rt->body_max;
}

void
api_run(struct req *r)
{
	r->route->run(r);
}
