/*
 * akc-httpd: the node's view over HTTP: Akka Management's cluster paths,
 * health probes, Prometheus metrics, the event stream as Server-Sent
 * Events, the work API and the live page. A thin client of the node's
 * local sockets, as the akc-* tools are; it holds no cluster state.
 *
 * libmicrohttpd runs inside akc's one loop, without a thread of its own:
 * its epoll fd (MHD_USE_EPOLL) is one more fd in poll(2), MHD_run() runs
 * every turn and MHD_get_timeout() bounds the wait. A request that needs
 * the daemons is suspended while its calls are in flight (backend.c), and
 * resumed when the last one has answered or timed out.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <sodium.h>

#include "daemon.h"
#include "httpd.h"
#include "json.h"
#include "proto.h"
#include "rstream.h"
#include "sse.h"
#include "xmalloc.h"

#define USAGE		"akc-httpd [-nv] [-c FILE]"
#define CONN_MAX	256	/* HTTP connections at once */
#define CONN_TIMEOUT	60	/* s: an idle or stalled connection is closed */
#define PEM_MAX		(1024 * 1024)

/* ---- requests ---- */

void
httpd_resume(struct httpd *h, struct MHD_Connection *con)
{
	MHD_resume_connection(con);
	h->resumed = 1;
}

static void on_answer(void *arg, int slot, cJSON *rsp, const char *err);

int
req_call(struct req *r, const char *sockname, cJSON *msg, msec_t timeout)
{
	int slot;

	if (r->nslots == REQ_SLOTS) {
		cJSON_Delete(msg);
		req_error(r, 500, "internal error: too many calls for one request");
		return -1;
	}
	slot = r->nslots;
	if (backend_call(r->h->be, sockname, msg, timeout, on_answer, r, slot) < 0) {
		req_error(r, 503, "akc-httpd is busy: %d calls to the daemons in flight",
		    BACKEND_MAX_CALLS);
		return -1;
	}
	r->nslots++;
	r->npending++;
	return slot;
}

static void
reply(struct req *r, unsigned int code, const char *ctype, const char *body)
{
	if (r->state == R_DONE || r->state == R_SENT)
		return;		/* the first answer stands */
	r->code = code;
	r->ctype = ctype;
	buf_reset(&r->out);
	buf_puts(&r->out, body);
	r->state = R_DONE;
}

void
req_json(struct req *r, unsigned int code, cJSON *body)
{
	char *txt = json_print(body);

	reply(r, code, "application/json", txt);
	buf_puts(&r->out, "\n");
	cJSON_free(txt);
	cJSON_Delete(body);
}

void
req_error(struct req *r, unsigned int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	req_json(r, code, o);
}

const char *
req_query(const struct req *r, const char *key)
{
	return MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, key);
}

const char *
req_header(const struct req *r, const char *key)
{
	return MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, key);
}

static void
req_free(struct req *r)
{
	struct httpd *h = r->h;
	int i;

	backend_cancel(h->be, r);
	for (i = 0; i < r->nslots; i++)
		cJSON_Delete(r->slot[i].rsp);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	buf_free(&r->body);
	buf_free(&r->out);
	free(r->priv);
	free(r);
}

/* A call of r has answered (rsp) or failed (err): the handler goes on once all have. */
static void
on_answer(void *arg, int slot, cJSON *rsp, const char *err)
{
	struct req *r = arg;

	r->slot[slot].rsp = rsp;
	if (rsp == NULL)
		snprintf(r->slot[slot].err, sizeof(r->slot[slot].err), "%s", err);
	if (--r->npending > 0)
		return;
	r->stage++;
	if (r->h->stopping)
		req_error(r, 503, "akc-httpd is stopping");
	else
		api_run(r);
	if (r->state != R_DONE && r->npending == 0)
		req_error(r, 500, "internal error: the request has no answer");
	if (r->state == R_DONE && r->suspended) {
		r->suspended = 0;
		httpd_resume(r->h, r->con);
	}
}

/* ---- the bearer token ---- */

/* Reads the token file into h->token (a hash of it); -1 with a warning. */
static int
load_token(struct httpd *h)
{
	const char *path = h->cfg.http_token_file;
	char buf[4096], *p, *e;
	unsigned char hash[sizeof(h->token)];
	struct stat st;
	ssize_t n;
	int fd;

	if (*path == '\0')
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("cannot open token-file '%s'", path);
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & S_IROTH))
		log_warnx("token-file '%s' is readable by every user: chmod o-r it", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		log_warn("cannot read token-file '%s'", path);
		return -1;
	}
	buf[n] = '\0';
	for (p = buf; *p == ' ' || *p == '\t'; p++)
		;
	e = p + strcspn(p, "\r\n");
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (n = 0; p + n < e && p[n] > ' ' && p[n] < 0x7f; n++)
		;
	if (e == p || p + n != e) {
		log_warnx("token-file '%s': the first line must be the token, printable "
		    "ASCII without blanks", path);
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	crypto_generichash(hash, sizeof(hash), (unsigned char *)p, (size_t)(e - p), NULL, 0);
	sodium_memzero(buf, sizeof(buf));
	memcpy(h->token, hash, sizeof(hash));
	h->have_token = 1;
	return 0;
}

/*
 * Whether r carries the bearer token: 0 yes, else the status to refuse
 * with (401; 403 when no token-file is set: no change is allowed). Both
 * sides are hashed first, so the comparison takes the same time whatever
 * the token's length and wherever it differs.
 */
static unsigned int
authorize(const struct req *r)
{
	const char *a = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char got[sizeof(r->h->token)];

	if (!r->h->have_token)
		return 403;
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return 401;
	for (a += 7; *a == ' '; a++)
		;
	crypto_generichash(got, sizeof(got), (const unsigned char *)a, strlen(a), NULL, 0);
	return sodium_memcmp(got, r->h->token, sizeof(got)) == 0 ? 0 : 401;
}

/* ---- MHD's callbacks ---- */

static enum MHD_Result
respond(struct req *r)
{
	struct MHD_Response *resp = r->resp;
	enum MHD_Result ret;

	if (resp == NULL) {
		resp = MHD_create_response_from_buffer(r->out.len, r->out.p ? r->out.p : (char *)"",
		    MHD_RESPMEM_MUST_COPY);
		if (resp == NULL)
			fatalx("cannot make a response");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->ctype ? r->ctype : "application/json");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	}
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->code == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"akc\"");
	ret = MHD_queue_response(r->con, r->code, resp);
	MHD_destroy_response(resp);
	r->resp = NULL;
	r->state = R_SENT;
	if (r->code / 100 < 6)
		r->h->by_class[r->code / 100]++;
	log_debug("%s %s: %u (%lldms)", r->method, r->path, r->code,
	    (long long)(clock_mono_ms() - r->started));
	return ret;
}

static struct req *
req_new(struct httpd *h, struct MHD_Connection *con, const char *url, const char *method)
{
	struct req *r;

	r = xcalloc(1, sizeof(*r));
	r->h = h;
	r->con = con;
	r->started = clock_mono_ms();
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->path, sizeof(r->path), "%s", url);
	r->next = h->reqs;
	if (h->reqs != NULL)
		h->reqs->prev = r;
	h->reqs = r;
	h->requests++;
	return r;
}

/*
 * MHD calls this when a request's headers are in, for each piece of its
 * body, once the body is complete, and again after we resume it.
 */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *con, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct httpd *h = cls;
	struct req *r = *con_cls;
	unsigned int code;

	(void)version;
	if (r == NULL) {
		*con_cls = r = req_new(h, con, url, method);
		if ((r->route = api_route(method, url, r->arg, sizeof(r->arg), &code)) == NULL)
			req_error(r, code, code == 404 ? "no such path: %s" : "method %s not allowed here",
			    code == 404 ? url : method);
		else if (api_changes(r->route) && (code = authorize(r)) != 0)
			req_error(r, code, code == 403 ? "changes are disabled: no [http] token-file "
			    "is configured" : "this request needs 'Authorization: Bearer TOKEN' "
			    "with the token of [http] token-file");
		else if (h->stopping)
			req_error(r, 503, "akc-httpd is stopping");
		return r->state == R_DONE ? respond(r) : MHD_YES;
	}
	if (*upload_size > 0) {
		if (!r->too_big && buf_left(&r->body) + *upload_size > api_body_max(r->route)) {
			r->too_big = 1;
			buf_free(&r->body);
		}
		if (!r->too_big)
			buf_add(&r->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->state == R_NEW) {
		r->state = R_RUNNING;
		if (r->too_big)
			req_error(r, 413, "request body over %zu bytes", api_body_max(r->route));
		else
			api_run(r);
		if (r->state != R_DONE && r->npending == 0)
			req_error(r, 500, "internal error: the request has no answer");
	}
	if (r->state == R_DONE)
		return respond(r);
	MHD_suspend_connection(con);
	r->suspended = 1;
	return MHD_YES;
}

static void
on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con;
	(void)toe;
	if (*con_cls != NULL)
		req_free(*con_cls);
	*con_cls = NULL;
}

/*
 * libmicrohttpd's messages: warnings while it starts (a port in use), debug
 * afterwards, when they are about one connection (a client that went away
 * in the middle of a stream is no news).
 */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
		msg[--n] = '\0';
	if (h->mhd == NULL)
		log_warnx("libmicrohttpd: %s", msg);
	else
		log_debug("libmicrohttpd: %s", msg);
}

/* MHD_run() runs every turn of the loop: nothing to do on its own. */
static void
on_http(int fd, short revents, void *arg)
{
	(void)fd;
	(void)revents;
	(void)arg;
}

/* ---- start and stop ---- */

/* Reads a PEM file whole, NUL-terminated; NULL with a warning. */
static char *
read_pem(const char *path)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("cannot open '%s'", path);
		return NULL;
	}
	buf = xmalloc(PEM_MAX + 1);
	while (len < PEM_MAX && (n = read(fd, buf + len, PEM_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("cannot read '%s'", path);
			close(fd);
			free(buf);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static int
http_start(struct httpd *h)
{
	struct addrinfo hints, *ai;
	const union MHD_DaemonInfo *info;
	char host[CONF_ADDR_MAX], port[8];
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	int p, rc, tls = h->cfg.http_tls_cert[0] != '\0';

	if (tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		log_warnx("tls-cert-file is set, but this libmicrohttpd has no TLS");
		return -1;
	}
	if (tls && ((h->tls_cert = read_pem(h->cfg.http_tls_cert)) == NULL ||
	    (h->tls_key = read_pem(h->cfg.http_tls_key)) == NULL))
		return -1;
	if (config_split_hostport(h->cfg.http_address, host, sizeof(host), &p) < 0)
		fatalx("bad [http] address '%s'", h->cfg.http_address);
	snprintf(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		log_warnx("cannot resolve '%s' of [http] address: %s", host, gai_strerror(rc));
		return -1;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (tls)
		flags |= MHD_USE_TLS;
	/* without TLS the option list ends before the certificate's options */
	h->mhd = MHD_start_daemon(flags, (uint16_t)p, NULL, NULL, on_request, h,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_MAX,
	    MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
	    tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, h->tls_key,
	    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (h->mhd == NULL) {
		log_warnx("cannot serve HTTP on '%s'", h->cfg.http_address);
		return -1;
	}
	if ((info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD)) == NULL)
		fatalx("libmicrohttpd gives no epoll fd");
	loop_watch(h->loop, info->epoll_fd, POLLIN, on_http, h);
	return 0;
}

/* Answers what is waiting with 503, ends the event streams, lets MHD send it all (at most 0.5 s). */
static void
http_stop(struct httpd *h)
{
	msec_t until = clock_mono_ms() + 500;
	MHD_UNSIGNED_LONG_LONG t;
	struct req *r;

	h->stopping = 1;
	sse_stop(h->sse);
	rstream_stop(h->rs);
	for (r = h->reqs; r != NULL; r = r->next)
		if (r->suspended) {
			backend_cancel(h->be, r);
			r->npending = 0;
			req_error(r, 503, "akc-httpd is stopping");
			r->suspended = 0;
			httpd_resume(h, r->con);
		}
	/* until every request is answered and every stream has ended (idle keep-alives aside) */
	while (h->reqs != NULL && clock_mono_ms() < until) {
		MHD_run(h->mhd);
		if (MHD_get_timeout(h->mhd, &t) == MHD_YES && t == 0)
			continue;
		loop_poll(h->loop, clock_mono_ms() + 50);
	}
	MHD_stop_daemon(h->mhd);
}

static msec_t
earliest(msec_t a, msec_t b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* The loop: signals, the backend's and streams' deadlines, MHD; returns on SIGTERM or SIGINT. */
static void
serve(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG t;
	unsigned long sigs;
	msec_t now, deadline;

	for (;;) {
		sigs = loop_signals(h->loop);
		if (sigs & ((1UL << SIGTERM) | (1UL << SIGINT))) {
			log_info("stopping on signal");
			return;
		}
		if (sigs & (1UL << SIGHUP)) {
			log_info("reading token-file again");
			if (load_token(h) < 0)
				log_warnx("keeping the token read before");
		}
		now = clock_mono_ms();
		backend_tick(h->be, now);
		sse_tick(h->sse, now);
		rstream_tick(h->rs, now);
		h->resumed = 0;
		MHD_run(h->mhd);
		/*
		 * The requests MHD_run() handled may have made calls that fail
		 * at once (no socket): their answers resume connections, which
		 * only the next MHD_run() takes up: then go round at once.
		 */
		now = clock_mono_ms();
		deadline = earliest(backend_tick(h->be, now), sse_tick(h->sse, now));
		deadline = earliest(deadline, rstream_tick(h->rs, now));
		if (MHD_get_timeout(h->mhd, &t) == MHD_YES)
			deadline = earliest(deadline, now + (t > 60000 ? 60000 : (msec_t)t));
		if (h->resumed)
			deadline = now;
		loop_poll(h->loop, deadline);
	}
}

int
main(int argc, char **argv)
{
	static struct httpd h;
	struct daemon_opts o;

	daemon_setup(argc, argv, "akc-httpd", USAGE, 0, &o, &h.cfg);
	if (o.argi != argc) {
		fprintf(stderr, "usage: %s\n", USAGE);
		return 2;
	}
	if (sodium_init() < 0)
		fatalx("libsodium cannot start");
	snprintf(h.www_dir, sizeof(h.www_dir), "%s", h.cfg.http_www_dir[0] != '\0' ?
	    h.cfg.http_www_dir : AKC_WWW_DIR);
	if (load_token(&h) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	h.loop = loop_new();
	loop_catch(h.loop, SIGTERM);
	loop_catch(h.loop, SIGINT);
	loop_catch(h.loop, SIGHUP);	/* reads the token-file again */
	h.be = backend_new(&h.cfg, h.loop);
	if ((h.sse = sse_new(&h)) == NULL || http_start(&h) < 0)
		return 1;
	h.rs = rstream_new(&h);
	log_info("%s: serving http%s://%s (token %s, page from %s)", h.cfg.name,
	    h.tls_cert ? "s" : "", h.cfg.http_address, h.have_token ? "set" : "not set: "
	    "changes refused", h.www_dir);
	daemon_notify("READY=1");
	serve(&h);
	daemon_notify("STOPPING=1");
	http_stop(&h);
	sse_free(h.sse);
	rstream_free(h.rs);
	backend_free(h.be);
	loop_free(h.loop);
	free(h.tls_cert);
	free(h.tls_key);
	nn_term();
	return 0;
}
