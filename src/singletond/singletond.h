/*
 * singletond.h: what singletond's files share: the daemon's state and the
 * calls between its parts. singletond.c talks to memberd, proxies local
 * clients and runs the loop; keeper.c starts, stops and reaps the child
 * and the standby; serve.c hands requests to the child on the oldest and
 * keeps recent answers for requests sent twice; plink.c carries the proxy's
 * messages over a direct link to the oldest when it is up.
 */
#ifndef AKC_SINGLETOND_H
#define AKC_SINGLETOND_H

#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "acall.h"
#include "config.h"
#include "link.h"
#include "loop.h"
#include "proto.h"
#include "proxy.h"
#include "sm.h"
#include "svc.h"

#define DONE_KEEP	512	/* answers kept for requests sent again */
#define MAX_BODY	PROXY_MAX_BODY	/* a proxied request or reply */
#define SEND_BATCH	64
/* requests or answers put together in one relay message ("reqs", "rsps"): base64 bytes */
#define BATCH_BYTES	(512 * 1024)

struct inflight {		/* a request handed to our child */
	uint32_t cid;
	uint64_t origin, rid;
	msec_t at;
	int batch;		/* it came in a "reqs": its proxy takes "rsps" */
};

struct answer {			/* a recent answer, for a request sent twice */
	uint64_t origin, rid;
	unsigned char *body;	/* NULL: an empty slot */
	size_t len;
	msec_t at;
};

struct sgd {
	struct akc_config cfg;
	struct conf_singleton sc;
	struct loop *loop;
	struct singleton sm;
	msec_t minority_said;	/* when to say again that we wait for a majority */
	struct proxy px;
	int statesub, front, childsock, ctl;
	struct svc relay;	/* memberd's relay, as "singleton.NAME" (svc.h) */
	struct acall *mctl;	/* memberd's control socket, never waited on */
	char endpoint[CONF_PATH_MAX + 32], child_endpoint[CONF_PATH_MAX + 32];
	char **cmd;		/* -- CMD ARGS, or NULL: /bin/sh -c command */

	pid_t child;		/* the singleton's keeper, or 0 */
	pid_t standby;		/* the standby command's keeper, or 0 */
	msec_t lease;		/* the singleton's lease (sg_lease), 0: none */
	msec_t renewed;		/* when it was last renewed (keeper.c) */
	msec_t expires;		/* the lease as last renewed runs out then */
	msec_t granted;		/* the keeper's deadline: expires, or the stop's SIGKILL */
	int lapsed;		/* it ran out: the group is killed, no more renewals */
	int64_t *lease_word;	/* the keeper's deadline, in a page we share with it (keeper.c) */
	msec_t view_ok;		/* memberd's `at` of the last view that forced no stop, -1: none */
	int start_waits;	/* a start is due and waits for a fresh view (keeper.c) */
	uint32_t next_cid;
	struct inflight *inf;
	int ninf, capinf;
	struct answer done[DONE_KEEP];
	int donepos;

	uint64_t self;
	uint64_t batch_peer;	/* the oldest said "b": it takes "reqs" */
	int dirty, contacted, memberd_gone, exit_code;
	msec_t last_ok, next_fetch, next_where, next_hold;
	msec_t fetch_at, hold_at;	/* when the call out was made */
	int fetching;		/* a "state" call is out: never two */
	int held, holding, hold_sent;	/* a "hold-exit" call is out, for hold_sent */
	uint64_t running_on;
	char running_on_name[CONF_NAME_MAX];
	msec_t last_here;	/* the node running it last answered "where" */
	char oldest_name[CONF_NAME_MAX];
	int stopping;		/* SIGTERM: stop the child and go */
	int forced_said;	/* the forced stop's wait was logged (once as a warning) */
	uint64_t dropped;

	struct link *lk;	/* the proxy link (plink.c); NULL: off, the relay carries */
	uint64_t plink_out[2], plink_in[2];	/* proxy messages: [0] relay, [1] link */
	uint64_t plink_target;	/* the oldest, as plink_tick last saw it */
	int plink_up;		/* and whether the link to it was up */

	struct link *ml;	/* the master link (mlink.c); NULL: off */
	struct svc msvc;	/* its hellos, as "mlink.NAME" */
	uint64_t ml_sid;	/* the master process at the oldest, as its link says */
	msec_t ml_hello, ml_used;	/* the next hello; the proxy's last client */
	int ml_active;		/* hellos are due (the proxy is used, the oldest elsewhere) */
	uint64_t ml_accepted;	/* the proxy's accepted count, as last seen */
	uint64_t ml_out, ml_in, ml_hellos, ml_welcomes, ml_dropped;
};

/* One "reqs" or "rsps" under way to one peer (batch_add). */
struct batch {
	uint64_t to;
	const char *m;		/* PXM_REQS or PXM_RSPS: the array has the same name */
	cJSON *msg, *arr;
	size_t bytes;		/* of base64 in it */
};

/* singletond.c: memberd and the proxy */
void relay_send(struct sgd *, uint64_t to, cJSON *body);
void publish(struct sgd *, const char *type, const char *node);
void on_answer(struct sgd *, uint64_t rid, const void *body, ssize_t len);
int answer_msg(struct sgd *, const cJSON *b, int ok, int need_body);
void heard_running(struct sgd *, uint64_t uid, msec_t now);
/* A message of member uid's singletond: name its node's (relay), or NULL (the proxy link). */
void on_peer(struct sgd *, uint64_t uid, const char *name, const cJSON *b, msec_t now);

/* plink.c: the proxy link */
void plink_start(struct sgd *);
void plink_stop(struct sgd *);
void peer_send(struct sgd *, uint64_t to, cJSON *body);
void plink_tick(struct sgd *, msec_t now);
msec_t plink_deadline(const struct sgd *);
cJSON *plink_json(const struct sgd *, msec_t now);

/* mlink.c: the master link */
void mlink_start(struct sgd *);
void mlink_stop(struct sgd *);
void mlink_repath(struct sgd *);
int mlink_usable(struct sgd *, uint64_t to, msec_t now);
int mlink_send(struct sgd *, uint64_t to, uint64_t sid, cJSON *reqs, int n);
void mlink_tick(struct sgd *, msec_t now);
msec_t mlink_deadline(const struct sgd *);
cJSON *mlink_json(const struct sgd *, msec_t now);

/* keeper.c: the child's and the standby's processes */
void reap(struct sgd *, msec_t now);
void child_actions(struct sgd *, msec_t now);
/* The singleton's lease: renewed when due (a quarter of it), and when that is. */
void lease_renew(struct sgd *, msec_t now);
msec_t lease_deadline(const struct sgd *);

/* serve.c: requests to our child, and their answers */
char *to_b64(const void *, size_t);
ssize_t from_b64(const char *, unsigned char **);
void nack_inflight(struct sgd *);
void serve(struct sgd *, uint64_t origin, uint64_t rid, const void *body, size_t len, int batch,
    msec_t now);
void serve_relayed(struct sgd *, uint64_t origin, const cJSON *b, int batch, msec_t now);
void serve_batch(struct sgd *, uint64_t origin, const cJSON *b, msec_t now);
void on_child_reply(int fd, short ev, void *arg);
/* Adds {rid, body: b64} to b (sending it first if it would grow past BATCH_BYTES). */
void batch_add(struct sgd *, struct batch *, uint64_t rid, const char *b64);
void batch_flush(struct sgd *, struct batch *);

#endif
