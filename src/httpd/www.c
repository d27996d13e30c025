/*
 * www.c: the live page's files (HTML, CSS, plain JavaScript), read from
 * [http] www-dir, by default the installed copy under the data dir. Only
 * plain names in that directory are served (api.c allows no '/' and no
 * leading '.'), with a content security policy that lets the page load
 * nothing but its own files and talk to nothing but this server.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"

#define CSP	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
};

void
www_serve(struct req *r, const char *name)
{
	char path[CONF_PATH_MAX + 256];
	const char *type = NULL, *dot = strrchr(name, '.');
	struct MHD_Response *resp;
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			type = types[i].type;
	snprintf(path, sizeof(path), "%s/%s", r->h->www_dir, name);
	if (type == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (type != NULL && errno != ENOENT)
			log_warn("cannot open '%s'", path);
		req_error(r, 404, "no such file: %s%s", name, strcmp(name, "index.html") == 0 ?
		    " (is [http] www-dir right?)" : "");
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		req_error(r, 404, "no such file: %s", name);
		return;
	}
	if ((resp = MHD_create_response_from_fd((size_t)st.st_size, fd)) == NULL)
		fatalx("cannot make a response for '%s'", path);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	r->resp = resp;
	r->code = 200;
	r->state = R_DONE;
}
