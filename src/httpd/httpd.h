/*
 * httpd.h: akc-httpd's parts: the daemon (httpd.c), one HTTP request and
 * its calls to the local daemons, the routes (api.c), the event streams
 * (sse.c, rstream.c, over stream.c) and the page's files (www.c).
 */
#ifndef HTTPD_HTTPD_H
#define HTTPD_HTTPD_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "backend.h"
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "loop.h"

#define REQ_SLOTS	24	/* answers of the local daemons one request may gather */
#define T_CTL		2000	/* ms: memberd's and singletond's control sockets */
#define T_LEADERD	1000	/* ms: leaderd (only: is it there?) */
#define T_WORK		30000	/* ms: the master through its proxy, as the tools wait */
#define T_SCRAPE	2000	/* ms: the master's queue for /metrics */

struct sse;
struct rstream;

struct httpd {
	struct akc_config cfg;
	struct loop *loop;
	struct backend *be;
	struct sse *sse;
	struct rstream *rs;		/* GET /results streams (rstream.c) */
	struct MHD_Daemon *mhd;
	int have_token;
	unsigned char token[32];	/* a hash of the bearer token: compared in constant time */
	char *tls_cert, *tls_key;	/* PEM, read at start */
	char www_dir[CONF_PATH_MAX];
	struct req *reqs;		/* every request MHD has shown us and not completed */
	int resumed;			/* a connection was resumed since the last MHD_run() */
	int stopping;
	uint64_t requests, by_class[6];	/* responses by status class (1xx ... 5xx) */
};

enum req_state {
	R_NEW,			/* headers seen, body (if any) coming */
	R_RUNNING,		/* its handler waits for answers of the daemons */
	R_DONE,			/* the response is ready */
	R_SENT			/* queued to MHD */
};

struct req {
	struct httpd *h;
	struct MHD_Connection *con;
	struct req *prev, *next;
	const struct route *route;
	char method[8];
	char path[256];		/* for the log */
	char arg[256];		/* the path after the route's prefix (NODE, ID) */
	struct buf body;
	int too_big;
	enum req_state state;
	int suspended;
	int stage;		/* the handler's: bumped each time all calls have answered */
	int npending, nslots;
	struct {
		cJSON *rsp;	/* the answer, or NULL with err */
		char err[256];
	} slot[REQ_SLOTS];
	void *priv;		/* the handler's, freed with the request */
	/* the response */
	unsigned int code;
	struct buf out;
	const char *ctype;
	struct MHD_Response *resp;	/* made by the handler (files, event stream) */
	msec_t started;
};

/*
 * Asks a local daemon: the answer lands in the returned slot, and the
 * handler runs again (stage + 1) once every call made in this stage has
 * answered or failed. Returns the slot, or -1 (the response is then a 503).
 */
int req_call(struct req *, const char *sockname, cJSON *msg, msec_t timeout);
/* The response: body (freed) as JSON with code. */
void req_json(struct req *, unsigned int code, cJSON *body);
/* The response: {"error": message} with code. */
void req_error(struct req *, unsigned int code, const char *fmt, ...) AKC_PRINTF(3, 4);
/* A query argument (?since=), or NULL. */
const char *req_query(const struct req *, const char *key);
const char *req_header(const struct req *, const char *key);

/* Resumes a suspended connection; MHD_run() must then run before the loop waits. */
void httpd_resume(struct httpd *, struct MHD_Connection *);

/* api.c: the routes. */
struct route;
/*
 * The route for method and path: NULL with *code 404 or 405 when there is
 * none. Sets arg to the path's tail for routes that take one.
 */
const struct route *api_route(const char *method, const char *path, char *arg, size_t arglen,
    unsigned int *code);
int api_changes(const struct route *);		/* needs the bearer token */
size_t api_body_max(const struct route *);
/* Runs the route's handler (again, after its calls have answered). */
void api_run(struct req *);

/* www.c: the live page's static files. */
void www_serve(struct req *, const char *name);

#endif
