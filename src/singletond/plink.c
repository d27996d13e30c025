/*
 * plink.c: singletond's proxy link (lib/link.c; doc/PROTOCOL.md, "The proxy
 * link"). A proxy's requests to the oldest's singletond and their answers
 * go over a direct, sealed TCP link while it is up both ways, and through
 * memberd's relay otherwise: two process hops instead of six, no JSON
 * re-encoding in memberd. Every singletond listens (a port the kernel picks
 * unless link-port pins it) and says where in every body it relays; a peer
 * is learned only from such a body, under memberd's word for who sent it.
 * What to send and when stays proxy.c's: the link only changes the path.
 */
#include <string.h>

#include "auth.h"
#include "json.h"
#include "link.h"
#include "log.h"
#include "singletond.h"

#define PLINK_PEERS	64	/* proxies an oldest keeps links with (least recently learned go) */

/* A frame that passed the link's checks: a proxy message of member uid. */
static void
on_link(void *arg, uint64_t uid, cJSON *body)
{
	struct sgd *d = arg;

	if (json_str(body, "m") == NULL)
		d->dropped++;
	else
		on_peer(d, uid, NULL, body, clock_mono_ms());
	cJSON_Delete(body);
}

void
plink_start(struct sgd *d)
{
	struct link_opts o = { "proxy link", 0, FRAME_PLINK_PLAIN, FRAME_PLINK_SEALED,
	    PLINK_PEERS };

	if (d->sc.link_port == 0) {
		log_info("singleton %s: proxy link off (link-port 0): the relay through memberd "
		    "carries", d->sc.name);
		return;
	}
	o.port = d->sc.link_port < 0 ? 0 : d->sc.link_port;
	d->lk = link_open(d->loop, &d->cfg, &o, on_link, d);
}

void
plink_stop(struct sgd *d)
{
	link_free(d->lk);
	d->lk = NULL;
}

/* A proxy message (body taken) for the singletond of member to: the link if up, else the relay. */
void
peer_send(struct sgd *d, uint64_t to, cJSON *body)
{
	msec_t now = clock_mono_ms();
	char *txt;
	int sent;

	if (d->lk != NULL) {
		/* link_send counts a peer it knows whose link is down (unusable) */
		txt = json_print(body);
		sent = link_send(d->lk, to, txt, strlen(txt), now) == 0;
		cJSON_free(txt);
		if (sent) {
			d->plink_out[1]++;
			cJSON_Delete(body);
			return;
		}
	}
	d->plink_out[0]++;
	relay_send(d, to, body);
}

/*
 * The link's timers; and when the link to the oldest goes down, what our
 * proxy sent over it and is still unanswered goes again at once (by the
 * relay) instead of after the resend time: the oldest drops what it has
 * seen, our proxy what was answered already.
 */
void
plink_tick(struct sgd *d, msec_t now)
{
	uint64_t t = d->px.target;
	int up;

	link_tick(d->lk, now);
	up = t != 0 && link_up(d->lk, t, now);
	if (d->plink_up && !up && d->plink_target == t)
		proxy_requeue(&d->px, t);
	d->plink_up = up;
	d->plink_target = t;
}

msec_t
plink_deadline(const struct sgd *d)
{
	return link_deadline(d->lk);
}

/* The link's counters for the ctl answer (akc-status --json), with the proxy messages relayed. */
cJSON *
plink_json(const struct sgd *d, msec_t now)
{
	cJSON *o = link_json(d->lk, now), *r;

	r = cJSON_AddObjectToObject(o, "relay");
	cJSON_AddNumberToObject(r, "sent", (double)d->plink_out[0]);
	cJSON_AddNumberToObject(r, "received", (double)d->plink_in[0]);
	return o;
}
