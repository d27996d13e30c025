/*
 * mlink.c: the serving master's end of the master link (see mlink.h):
 * proxies' requests straight from their singletonds, their answers straight
 * back, and the duplicate rules the oldest's singletond keeps on the other
 * path (src/singletond/serve.c).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>

#include "auth.h"
#include "b64.h"
#include "bytes.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "mlink.h"
#include "proto.h"
#include "svc.h"
#include "xmalloc.h"

#define ML_PEERS	64	/* proxies' links kept (the least recently learned go) */
#define ML_DONE		512	/* answers kept for a request sent again (serve.c's DONE_KEEP) */
#define ML_INF		4096	/* requests worked on at once, at most */
#define ML_INF_TTL	120000	/* ms a request may go unanswered before it is forgotten */
#define ML_BATCH	64	/* requests in one "reqs" (singletond's SEND_BATCH), answers in one "rsps" */
#define ML_BATCH_BYTES	(512 * 1024)	/* base64 in one "rsps" */

static const unsigned char mark[4] = { 0x20, 'm', 'l', 'k' };

struct mreq {			/* a request worked on, or answered (with its answer) */
	uint64_t uid, rid;
	char *txt;		/* the answer; NULL while worked on */
	size_t len;
	msec_t at;
};

struct pend {			/* the answers of this turn to one proxy: one "rsps" */
	uint64_t uid;
	cJSON *msg, *arr;
	size_t bytes;
};

struct mlink {
	struct loop *loop;
	struct pend pend[ML_PEERS];
	int npend;
	struct link *lk;
	struct svc svc;
	mlink_req_cb cb;
	void *arg;
	struct mreq inf[ML_INF];
	int ninf;
	struct mreq done[ML_DONE];
	int donepos;
	uint64_t hellos, requests, answers, duplicates, again, dropped, unsendable;
};

int
mlink_hdr(const unsigned char *hdr, size_t hdrlen)
{
	return hdrlen == MLINK_HDR && memcmp(hdr, mark, sizeof(mark)) == 0;
}

/* ---- the hellos, through memberd's relay ---- */

/* {"m":"hello","lk":{...}} from a proxy's singletond: learned, and answered with ours. */
static void
on_svc(int fd, short ev, void *arg)
{
	struct mlink *ml = arg;
	struct svc_from f;
	msec_t now = clock_mono_ms();
	cJSON *whole, *b, *w;
	const char *m;
	int k;

	(void)fd;
	(void)ev;
	for (k = 0; k < 256 && (b = svc_next(&ml->svc, &f, &whole, &ml->dropped)) != NULL; k++) {
		m = json_str(b, "m");
		if (f.node == NULL || f.address == NULL || m == NULL) {
			ml->dropped++;
		} else if (strcmp(m, MLM_HELLO) == 0) {
			/* memberd vouches for who sent it: its link is learned under that member */
			link_learn(ml->lk, f.uid, f.address, b, now);
			ml->hellos++;
			w = cJSON_CreateObject();
			cJSON_AddStringToObject(w, "m", MLM_WELCOME);
			link_stamp(ml->lk, w);
			if (svc_send(&ml->svc, f.uid, w) < 0)
				log_debug("master link: relay to memberd failed: %s",
				    nn_strerror(nn_errno()));
		} else if (strcmp(m, MLM_WELCOME) != 0)
			ml->dropped++;	/* a welcome is for proxies: another master's, ignored */
		cJSON_Delete(whole);
	}
}

/* ---- requests and answers ---- */

static struct mreq *
find_done(struct mlink *ml, uint64_t uid, uint64_t rid)
{
	int i;

	for (i = 0; i < ML_DONE; i++)
		if (ml->done[i].txt != NULL && ml->done[i].uid == uid && ml->done[i].rid == rid)
			return &ml->done[i];
	return NULL;
}

static int
find_inf(struct mlink *ml, uint64_t uid, uint64_t rid)
{
	int i;

	for (i = 0; i < ml->ninf; i++)
		if (ml->inf[i].uid == uid && ml->inf[i].rid == rid)
			return i;
	return -1;
}

/* Sends message b (freed) holding n answers to the proxy of member uid. */
static void
send_msg(struct mlink *ml, uint64_t uid, cJSON *b, int n)
{
	char *out = json_print(b);

	if (link_send(ml->lk, uid, out, strlen(out), clock_mono_ms()) < 0)
		ml->unsendable += (uint64_t)n;	/* kept: the proxy sends again and gets them */
	cJSON_free(out);
	cJSON_Delete(b);
}

/* The answers of this turn, one "rsps" per proxy (mlink_flush at the turn's end). */
void
mlink_flush(struct mlink *ml)
{
	int i;

	if (ml == NULL)
		return;
	for (i = 0; i < ml->npend; i++)
		send_msg(ml, ml->pend[i].uid, ml->pend[i].msg,
		    cJSON_GetArraySize(ml->pend[i].arr));
	ml->npend = 0;
}

/*
 * The answer to rid for the proxy of member uid: {"rid","body"} added to
 * this turn's "rsps" for it; one over 2 MiB goes at once as
 * {"m":"error","rid"}.
 */
static void
send_answer(struct mlink *ml, uint64_t uid, uint64_t rid, const char *txt, size_t len)
{
	struct pend *p;
	cJSON *b;
	char *b64;
	int i;

	if (len > PROXY_MAX_BODY) {
		log_warnx("master link: an answer of %zu bytes (at most %d): refused", len,
		    PROXY_MAX_BODY);
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "m", PXM_ERROR);
		json_add_u64(b, "rid", rid);
		send_msg(ml, uid, b, 1);
		return;
	}
	b64 = b64_encode(txt, len);
	for (i = 0; i < ml->npend && ml->pend[i].uid != uid; i++)
		;
	if (i < ml->npend && (ml->pend[i].bytes + strlen(b64) > ML_BATCH_BYTES ||
	    cJSON_GetArraySize(ml->pend[i].arr) >= ML_BATCH)) {
		send_msg(ml, uid, ml->pend[i].msg, cJSON_GetArraySize(ml->pend[i].arr));
		ml->pend[i] = ml->pend[--ml->npend];
		i = ml->npend;
	}
	if (i == ml->npend && ml->npend == ML_PEERS) {
		mlink_flush(ml);
		i = 0;
	}
	p = &ml->pend[i];
	if (i == ml->npend) {
		ml->npend++;
		p->uid = uid;
		p->msg = cJSON_CreateObject();
		cJSON_AddStringToObject(p->msg, "m", PXM_RSPS);
		p->arr = cJSON_AddArrayToObject(p->msg, PXM_RSPS);
		p->bytes = 0;
	}
	b = cJSON_CreateObject();
	json_add_u64(b, "rid", rid);
	cJSON_AddStringToObject(b, "body", b64);
	cJSON_AddItemToArray(p->arr, b);
	p->bytes += strlen(b64);
	free(b64);
}

/* One request {"rid","body"} of member uid's proxy. */
static void
one(struct mlink *ml, uint64_t uid, const cJSON *b, msec_t now)
{
	const char *b64 = json_str(b, "body");
	unsigned char hdr[MLINK_HDR], *body;
	struct mreq *d;
	uint64_t rid;
	size_t slen, len;

	if (json_u64(b, "rid", &rid) < 0 || b64 == NULL ||
	    B64_DECODED_MAX(slen = strlen(b64)) > PROXY_MAX_BODY + 6) {
		ml->dropped++;
		return;
	}
	if (find_inf(ml, uid, rid) >= 0) {
		ml->duplicates++;	/* sent again while we work on it */
		return;
	}
	if ((d = find_done(ml, uid, rid)) != NULL) {
		ml->again++;		/* answered, the answer lost: the same answer */
		(void)send_answer(ml, uid, rid, d->txt, d->len);
		return;
	}
	body = xmalloc(B64_DECODED_MAX(slen));
	if (b64_decode(body, B64_DECODED_MAX(slen), b64, slen, &len) < 0) {
		free(body);
		ml->dropped++;
		return;
	}
	if (ml->ninf == ML_INF) {
		/* never answered (cannot happen: every request is): the oldest is forgotten */
		memmove(&ml->inf[0], &ml->inf[1], (ML_INF - 1) * sizeof(ml->inf[0]));
		ml->ninf--;
	}
	ml->inf[ml->ninf].uid = uid;
	ml->inf[ml->ninf].rid = rid;
	ml->inf[ml->ninf].txt = NULL;
	ml->inf[ml->ninf].at = now;
	ml->ninf++;
	ml->requests++;
	memcpy(hdr, mark, sizeof(mark));
	be64_put(hdr + 4, uid);
	be64_put(hdr + 12, rid);
	ml->cb(ml->arg, hdr, sizeof(hdr), body, len);
	free(body);
}

/* A frame that passed the link's checks: a proxy message of member uid. */
static void
on_link(void *arg, uint64_t uid, cJSON *body)
{
	struct mlink *ml = arg;
	const char *m = json_str(body, "m");
	const cJSON *a, *r;
	msec_t now = clock_mono_ms();

	if (m != NULL && strcmp(m, PXM_REQ) == 0)
		one(ml, uid, body, now);
	else if (m != NULL && strcmp(m, PXM_REQS) == 0 &&
	    cJSON_IsArray(a = cJSON_GetObjectItemCaseSensitive(body, PXM_REQS)) &&
	    cJSON_GetArraySize(a) <= ML_BATCH) {
		cJSON_ArrayForEach(r, a)
			one(ml, uid, r, now);
	} else
		ml->dropped++;
	cJSON_Delete(body);
}

void
mlink_answer(struct mlink *ml, const unsigned char *hdr, size_t hdrlen, const char *txt,
    size_t len)
{
	uint64_t uid, rid;
	struct mreq *d;
	int i;

	if (ml == NULL || !mlink_hdr(hdr, hdrlen))
		return;
	uid = be64_get(hdr + 4);
	rid = be64_get(hdr + 12);
	if ((i = find_inf(ml, uid, rid)) >= 0)
		ml->inf[i] = ml->inf[--ml->ninf];
	d = &ml->done[ml->donepos];
	ml->donepos = (ml->donepos + 1) % ML_DONE;
	free(d->txt);
	d->uid = uid;
	d->rid = rid;
	d->txt = xmalloc(len + 1);
	memcpy(d->txt, txt, len);
	d->len = len;
	d->at = clock_mono_ms();
	ml->answers++;
	(void)send_answer(ml, uid, rid, d->txt, d->len);
}

/* ---- set-up, time, counters ---- */

struct mlink *
mlink_open(struct loop *lp, const struct akc_config *cfg, const char *sgname,
    mlink_req_cb cb, void *arg)
{
	struct link_opts o = { "master link", 0, FRAME_MLINK_PLAIN, FRAME_MLINK_SEALED, ML_PEERS };
	const char *e;
	struct mlink *ml;

	if (!env_flag("AKC_MASTER_LINK", 1)) {
		log_info("master link off (AKC_MASTER_LINK=0): other nodes' proxies go through "
		    "the oldest's singletond");
		return NULL;
	}
	/* a pinned port, for tests that take it first or block it */
	if ((e = getenv("AKC_MASTER_LINK_PORT")) != NULL)
		o.port = atoi(e);
	ml = xcalloc(1, sizeof(*ml));
	ml->loop = lp;
	ml->cb = cb;
	ml->arg = arg;
	if ((ml->lk = link_open(lp, cfg, &o, on_link, ml)) == NULL) {
		free(ml);
		return NULL;
	}
	if (svc_open(&ml->svc, cfg, SVC_MLINK_PREFIX, sgname) < 0) {
		log_warnx("master link off: cannot reach memberd's relay");
		link_free(ml->lk);
		free(ml);
		return NULL;
	}
	loop_watch(lp, svc_fd(&ml->svc), POLLIN, on_svc, ml);
	return ml;
}

void
mlink_free(struct mlink *ml)
{
	int i;

	if (ml == NULL)
		return;
	mlink_flush(ml);
	loop_unwatch(ml->loop, svc_fd(&ml->svc));
	svc_close(&ml->svc);
	link_free(ml->lk);
	for (i = 0; i < ML_DONE; i++)
		free(ml->done[i].txt);
	free(ml);
}

void
mlink_tick(struct mlink *ml, msec_t now)
{
	int i;

	if (ml == NULL)
		return;
	link_tick(ml->lk, now);
	for (i = 0; i < ml->ninf; )
		if (now - ml->inf[i].at > ML_INF_TTL)
			ml->inf[i] = ml->inf[--ml->ninf];
		else
			i++;
}

msec_t
mlink_deadline(const struct mlink *ml)
{
	return ml == NULL ? -1 : link_deadline(ml->lk);
}

cJSON *
mlink_json(const struct mlink *ml, msec_t now)
{
	cJSON *o;

	if (ml == NULL)
		return cJSON_CreateFalse();
	o = link_json(ml->lk, now);
	cJSON_AddNumberToObject(o, "hellos", (double)ml->hellos);
	cJSON_AddNumberToObject(o, "requests", (double)ml->requests);
	cJSON_AddNumberToObject(o, "answers", (double)ml->answers);
	cJSON_AddNumberToObject(o, "duplicates", (double)ml->duplicates);
	cJSON_AddNumberToObject(o, "answered_again", (double)ml->again);
	cJSON_AddNumberToObject(o, "unsendable", (double)ml->unsendable);
	cJSON_AddNumberToObject(o, "in_progress", ml->ninf);
	cJSON_AddNumberToObject(o, "dropped_messages", (double)ml->dropped);
	return o;
}
