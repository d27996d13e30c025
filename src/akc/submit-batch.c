/*
 * submit-batch.c: akc-submit --batch: one job per line of standard input,
 * many requests in flight at once (one REQ socket each to the local proxy),
 * each id printed as the master acknowledges it. A request the proxy turns
 * away because its buffer is full (other clients fill it too) goes again
 * after a pause, until its deadline: the same id and payload are one job.
 * The connections are lib/spc.c's, polled together: akc-submit does not
 * load libnanomsg (a single submit pays for every library it loads).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "b64.h"
#include "json.h"
#include "submit.h"

#define RETRY_PAUSE	50		/* ms before a request the proxy had no room for goes again */

enum { FREE, INFLIGHT, PAUSED };

struct slot {
	struct spc c;			/* its connection to the proxy */
	int pi;				/* its place in the poll set, or -1 */
	int state;
	long line;			/* the input line it carries */
	char id[WORK_ID_MAX + 1];
	char *txt;			/* the request, kept until it is answered */
	msec_t deadline, again;		/* the answer's deadline; PAUSED: when to resend */
};

static void
sleep_until(msec_t t)
{
	msec_t left = t - clock_mono_ms();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = left / 1000;
	ts.tv_nsec = (left % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The id of input line n: from the line (--with-ids), the prefix, or random. */
static int
line_id(const struct batch_opts *o, long n, char **text, size_t *len, char id[WORK_ID_MAX + 1],
    char *err, size_t errlen)
{
	unsigned char r[16];
	char *tab;

	if (o->with_ids) {
		if ((tab = memchr(*text, '\t', *len)) == NULL) {
			snprintf(err, errlen, "line %ld: no tab: ID<TAB>PAYLOAD expected", n);
			return -1;
		}
		*tab = '\0';
		if (!work_id_valid(*text)) {
			snprintf(err, errlen, "line %ld: bad id '%.40s': 1-128 characters of "
			    "A-Za-z0-9._:-", n, *text);
			return -1;
		}
		snprintf(id, WORK_ID_MAX + 1, "%s", *text);
		*len -= (size_t)(tab + 1 - *text);
		*text = tab + 1;
		return 0;
	}
	if (o->id_prefix != NULL) {
		snprintf(id, WORK_ID_MAX + 1, "%s%ld", o->id_prefix, n);
		if (!work_id_valid(id)) {
			snprintf(err, errlen, "line %ld: id '%.40s' is too long", n, id);
			return -1;
		}
		return 0;
	}
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(id, 33, r, sizeof(r));
	return 0;
}

/* Sends the slot's request; -2 (with a message printed) if it cannot. */
static int
slot_send(struct workcall *w, struct slot *sl)
{
	char err[256];

	if (spc_send(&sl->c, sl->txt, strlen(sl->txt), sl->deadline, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: cannot send to '%s': %s\n", w->t->prog, w->addr + 6, err);
		return -2;
	}
	sl->state = INFLIGHT;
	return 0;
}

static void
slot_free(struct slot *sl)
{
	cJSON_free(sl->txt);
	sl->txt = NULL;
	sl->state = FREE;
}

/* Sends line n's job on slot sl; -1 (with a message printed) if it cannot go. */
static int
send_line(struct workcall *w, const struct batch_opts *o, struct slot *sl, long n, char *text,
    size_t len)
{
	char err[256], *b64, *txt;
	cJSON *req;

	if (line_id(o, n, &text, &len, sl->id, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", w->t->prog, err);
		return -1;
	}
	b64 = b64_encode(text, len);
	req = submit_request(sl->id, b64, &o->job);
	free(b64);
	txt = json_print(req);
	cJSON_Delete(req);
	if (strlen(txt) > WORK_PROXY_MAX) {
		fprintf(stderr, "%s: line %ld: payload of %zu bytes refused: the proxy takes requests "
		    "of at most %d bytes\n", w->t->prog, n, len, WORK_PROXY_MAX);
		cJSON_free(txt);
		return -1;
	}
	sl->txt = txt;
	sl->line = n;
	sl->deadline = clock_mono_ms() + w->timeout;
	return slot_send(w, sl);
}

#define AGAIN	-2	/* receive: the proxy had no room, send it again */

/*
 * The answer on a slot in flight whose connection is readable: 0
 * acknowledged, 1 refused, 3 the proxy gave up, AGAIN, or -1 not yet.
 */
static int
receive(struct workcall *w, struct slot *sl)
{
	char err[1024], *buf = NULL;
	cJSON *rsp;
	const char *rid;
	long code;
	ssize_t n;
	int rc;

	if ((n = spc_recv(&sl->c, &buf, sl->deadline, err, sizeof(err))) == 0)
		return -1;	/* an older answer: not this one yet */
	if (n < 0) {
		/* the connection broke (the proxy restarted): the same request again, as spc_call */
		if (clock_mono_ms() < sl->deadline)
			spc_send(&sl->c, sl->txt, strlen(sl->txt), sl->deadline, err, sizeof(err));
		return -1;	/* not sent (the deadline passed): "no answer" at the deadline */
	}
	switch (wc_answer(w, buf, (size_t)n, &rsp, &code, err, sizeof(err))) {
	case WC_OK:
		if ((rid = json_str(rsp, "id")) == NULL || strcmp(rid, sl->id) != 0) {
			fprintf(stderr, "%s: line %ld: bad answer from '%s': %s\n", w->t->prog,
			    sl->line, w->addr + 6, rid == NULL ? "no id" : "another id");
			rc = EXIT_TOOL_NODAEMON;
		} else {
			printf("%s\n", sl->id);
			rc = EXIT_TOOL_OK;
		}
		cJSON_Delete(rsp);
		break;
	case WC_REFUSED:
		fprintf(stderr, "%s: line %ld (%s): %s\n", w->t->prog, sl->line, sl->id, err);
		rc = EXIT_TOOL_REFUSED;
		break;
	default:
		/* singletond's words for a full buffer (client_error): it took nothing */
		if (strstr(err, "proxy buffer full") != NULL && clock_mono_ms() < sl->deadline) {
			rc = AGAIN;
			break;
		}
		fprintf(stderr, "%s: line %ld (%s): %s\n", w->t->prog, sl->line, sl->id, err);
		rc = EXIT_TOOL_NODAEMON;
		break;
	}
	free(buf);
	return rc;
}

int
submit_batch(struct workcall *w, const struct batch_opts *o)
{
	struct slot sl[BATCH_SOCKETS];
	struct pollfd pfd[BATCH_SOCKETS];
	char *text = NULL;
	size_t cap = 0;
	ssize_t len;
	long line = 0;
	int i, np, busy = 0, eof = 0, refused = 0, gaveup = 0, r;
	msec_t now, first;

	for (i = 0; i < BATCH_SOCKETS; i++) {
		wc_conn(w, &sl[i].c);
		sl[i].state = FREE;
		sl[i].txt = NULL;
	}
	while (busy > 0 || (!eof && !gaveup)) {
		/* fill the free slots */
		for (i = 0; i < BATCH_SOCKETS && !eof && !gaveup; i++) {
			if (sl[i].state != FREE)
				continue;
			errno = 0;
			if ((len = getline(&text, &cap, stdin)) < 0) {
				if (errno != 0 && !feof(stdin)) {
					fprintf(stderr, "%s: cannot read standard input: %s\n",
					    w->t->prog, strerror(errno));
					gaveup = 1;
				}
				eof = 1;
				break;
			}
			line++;
			if (len > 0 && text[len - 1] == '\n')
				text[--len] = '\0';
			if ((r = send_line(w, o, &sl[i], line, text, (size_t)len)) == 0)
				busy++;
			else {
				slot_free(&sl[i]);
				if (r == -1)
					refused = 1;
				else
					gaveup = 1;
			}
		}
		if (busy == 0)
			break;
		now = clock_mono_ms();
		first = -1;
		for (i = np = 0; i < BATCH_SOCKETS; i++) {
			msec_t t = sl[i].state == PAUSED ? sl[i].again : sl[i].deadline;

			if (sl[i].state == FREE)
				continue;
			if (first < 0 || t < first)
				first = t;
			sl[i].pi = -1;
			if (sl[i].state != INFLIGHT)
				continue;
			sl[i].pi = np;
			pfd[np].fd = spc_fd(&sl[i].c);	/* -1 (no connection): poll skips it */
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			np++;
		}
		if (np > 0 && poll(pfd, (nfds_t)np, first > now ? (int)(first - now) : 0) < 0 &&
		    errno != EINTR) {
			fprintf(stderr, "%s: poll: %s\n", w->t->prog, strerror(errno));
			return EXIT_TOOL_NODAEMON;
		} else if (np == 0 && first > now)
			sleep_until(first);
		now = clock_mono_ms();
		for (i = 0; i < BATCH_SOCKETS; i++) {
			if (sl[i].state == PAUSED) {
				if (now >= sl[i].again && slot_send(w, &sl[i]) < 0) {
					slot_free(&sl[i]);
					busy--;
					gaveup = 1;
				}
				continue;
			}
			if (sl[i].state != INFLIGHT)
				continue;
			r = sl[i].pi >= 0 && pfd[sl[i].pi].revents != 0 ? receive(w, &sl[i]) : -1;
			if (r == -1) {
				if (now < sl[i].deadline)
					continue;
				fprintf(stderr, "%s: line %ld (%s): no answer from '%s' within %lldms\n",
				    w->t->prog, sl[i].line, sl[i].id, w->addr + 6,
				    (long long)w->timeout);
				r = EXIT_TOOL_NODAEMON;
			}
			if (r == AGAIN) {
				sl[i].state = PAUSED;
				sl[i].again = now + RETRY_PAUSE;
				continue;
			}
			slot_free(&sl[i]);
			busy--;
			if (r == EXIT_TOOL_REFUSED)
				refused = 1;
			else if (r == EXIT_TOOL_NODAEMON)
				gaveup = 1;
		}
		if (fflush(stdout) != 0)
			return EXIT_TOOL_REFUSED;
	}
	free(text);
	for (i = 0; i < BATCH_SOCKETS; i++)
		spc_close(&sl[i].c);
	return gaveup ? EXIT_TOOL_NODAEMON : refused ? EXIT_TOOL_REFUSED : EXIT_TOOL_OK;
}
