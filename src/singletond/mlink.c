/*
 * mlink.c: the proxy's end of the master link (src/master/mlink.h;
 * doc/PROTOCOL.md, "The master link"). While our proxy has clients and the
 * oldest is another node, it says hello to the master there through
 * memberd's relay every WHERE_EVERY; the master's welcome says where its
 * link listens. While that link is up both ways, requests go over it,
 * straight to the master process, and its answers come straight back:
 * neither the oldest's singletond nor its socket to the master is on the
 * way. Otherwise (no welcome: an older master, its link off or not
 * listening; the link down) they take the proxy link or the relay as
 * before. A request keeps the way of its first send until it is answered
 * (proxy.h, path), so that its copies all meet the same duplicate rules:
 * the master's for the link, the oldest's singletond's for the rest.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>

#include "auth.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "singletond.h"

#define ML_HELLO	2000	/* a hello this often while the proxy is used */
#define ML_IDLE		10000	/* no client request this long: no more hellos */

/* One answer {"rid","body"} (ok) or {"rid"} (an error) from the master: 0, or -1 malformed. */
static int
answer(struct sgd *d, const cJSON *b, int ok)
{
	if (answer_msg(d, b, ok, 1) < 0)
		return -1;
	d->ml_in++;
	return 0;
}

/*
 * {"m":"rsps","rsps":[{"rid","body"},...]} or {"m":"error","rid"} from a
 * master over the link; any master's answer counts, an old one's too (it
 * was committed before it went).
 */
static void
on_link(void *arg, uint64_t uid, cJSON *body)
{
	struct sgd *d = arg;
	const char *m = json_str(body, "m");
	const cJSON *a, *r;

	if (m != NULL && (strcmp(m, PXM_RSPS) == 0 || strcmp(m, PXM_RSP) == 0))
		heard_running(d, uid, clock_mono_ms());
	if (m != NULL && strcmp(m, PXM_RSPS) == 0 &&
	    cJSON_IsArray(a = cJSON_GetObjectItemCaseSensitive(body, PXM_RSPS))) {
		cJSON_ArrayForEach(r, a)
			if (answer(d, r, 1) < 0)
				d->ml_dropped++;
	} else if (m == NULL || (strcmp(m, PXM_RSP) != 0 && strcmp(m, PXM_ERROR) != 0) ||
	    answer(d, body, strcmp(m, PXM_RSP) == 0) < 0)
		d->ml_dropped++;
	cJSON_Delete(body);
}

/* The master's welcome (its link's port and id), through memberd's relay. */
static void
on_svc(int fd, short ev, void *arg)
{
	struct sgd *d = arg;
	struct svc_from f;
	msec_t now = clock_mono_ms();
	cJSON *whole, *b;
	const char *m;
	int k;

	(void)fd;
	(void)ev;
	for (k = 0; k < 64 && (b = svc_next(&d->msvc, &f, &whole, &d->ml_dropped)) != NULL; k++) {
		m = json_str(b, "m");
		if (f.node == NULL || f.address == NULL || m == NULL)
			d->ml_dropped++;
		else if (strcmp(m, MLM_WELCOME) == 0) {
			/* memberd vouches for who sent it: the master's link, under its node */
			link_learn(d->ml, f.uid, f.address, b, now);
			d->ml_welcomes++;
			heard_running(d, f.uid, now);
			mlink_repath(d);
		} else if (strcmp(m, MLM_HELLO) != 0)
			d->ml_dropped++;	/* a hello is for the master on this node */
		cJSON_Delete(whole);
	}
}

void
mlink_start(struct sgd *d)
{
	struct link_opts o = { "master link", 0, FRAME_MLINK_PLAIN, FRAME_MLINK_SEALED, 4 };
	if (strcmp(d->sc.name, "master") != 0)
		return;
	if (!env_flag("AKC_MASTER_LINK", 1)) {
		log_info("singleton %s: master link off (AKC_MASTER_LINK=0)", d->sc.name);
		return;
	}
	if ((d->ml = link_open(d->loop, &d->cfg, &o, on_link, d)) == NULL)
		return;
	if (svc_open(&d->msvc, &d->cfg, SVC_MLINK_PREFIX, d->sc.name) < 0) {
		log_warnx("singleton %s: master link off: cannot reach memberd's relay",
		    d->sc.name);
		link_free(d->ml);
		d->ml = NULL;
		return;
	}
	loop_watch(d->loop, svc_fd(&d->msvc), POLLIN, on_svc, d);
}

void
mlink_stop(struct sgd *d)
{
	if (d->ml == NULL)
		return;
	loop_unwatch(d->loop, svc_fd(&d->msvc));
	svc_close(&d->msvc);
	link_free(d->ml);
	d->ml = NULL;
}

/*
 * The master process at the oldest, as its link says (0: none known):
 * when it is another than the one our requests went to over the link,
 * those choose their way again (the old one is gone: at least once, as
 * across a failover).
 */
void
mlink_repath(struct sgd *d)
{
	uint64_t sid = link_peer_sid(d->ml, d->px.target);

	/*
	 * Only another master process re-chooses: a link that forgot its peer
	 * (0: unheard for a while, e.g. a cut) may still lead to the process
	 * that holds these requests, and the other way's keeper of duplicates
	 * has never seen them: they would run twice.
	 */
	if (sid == d->ml_sid || sid == 0)
		return;
	d->ml_sid = sid;
	proxy_repath(&d->px, sid);
}

/* Whether a request to `to` may take the master link now. */
int
mlink_usable(struct sgd *d, uint64_t to, msec_t now)
{
	return d->ml != NULL && to == d->px.target && d->ml_sid != 0 &&
	    link_up(d->ml, to, now);
}

/*
 * Sends the "req" or "reqs" b (taken) over the link to `to`, if the link
 * is still to master process sid: 0, else -1 (the requests are due again
 * after the proxy's resend time, on the same way).
 */
int
mlink_send(struct sgd *d, uint64_t to, uint64_t sid, cJSON *b, int n)
{
	msec_t now = clock_mono_ms();
	char *txt;
	int rc = -1;

	if (d->ml != NULL && sid != 0 && link_peer_sid(d->ml, to) == sid) {
		txt = json_print(b);
		rc = link_send(d->ml, to, txt, strlen(txt), now);
		cJSON_free(txt);
	}
	if (rc == 0)
		d->ml_out += (uint64_t)n;
	cJSON_Delete(b);
	return rc;
}

/* Hellos while the proxy is used and the oldest is another node; the link's timers. */
void
mlink_tick(struct sgd *d, msec_t now)
{
	cJSON *b;

	if (d->ml == NULL)
		return;
	link_tick(d->ml, now);
	mlink_repath(d);
	if (d->px.accepted != d->ml_accepted || d->px.n > 0) {
		d->ml_accepted = d->px.accepted;
		d->ml_used = now;
	}
	d->ml_active = d->px.target != 0 && d->px.target != d->self && !d->memberd_gone &&
	    d->ml_used != 0 && now - d->ml_used <= ML_IDLE;
	if (!d->ml_active || now < d->ml_hello)
		return;
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "m", MLM_HELLO);
	link_stamp(d->ml, b);
	if (svc_send(&d->msvc, d->px.target, b) < 0)
		log_debug("master link: relay to memberd failed: %s", nn_strerror(nn_errno()));
	else
		d->ml_hellos++;
	d->ml_hello = now + ML_HELLO;
}

msec_t
mlink_deadline(const struct sgd *d)
{
	msec_t l;

	if (d->ml == NULL)
		return -1;
	l = link_deadline(d->ml);
	/* a hello due while the proxy is used */
	if (d->ml_active && (l < 0 || d->ml_hello < l))
		l = d->ml_hello;
	return l;
}

/* The counters for the ctl answer (akc-status --json); false when off. */
cJSON *
mlink_json(const struct sgd *d, msec_t now)
{
	cJSON *o;

	if (d->ml == NULL)
		return cJSON_CreateFalse();
	o = link_json(d->ml, now);
	cJSON_AddNumberToObject(o, "requests_sent", (double)d->ml_out);
	cJSON_AddNumberToObject(o, "answers", (double)d->ml_in);
	cJSON_AddNumberToObject(o, "hellos", (double)d->ml_hellos);
	cJSON_AddNumberToObject(o, "welcomes", (double)d->ml_welcomes);
	cJSON_AddNumberToObject(o, "dropped_messages", (double)d->ml_dropped);
	return o;
}
