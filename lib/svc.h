/*
 * svc.h: a local service's end of memberd's relay. A service (singletond's
 * "singleton.NAME", the journal's "journal.NAME") sends a body to the same
 * service on another member through memberd's PULL socket, and takes what
 * memberd relays to it from its PUB socket, under the topic "SVC\n". The
 * message building and parsing are pure (svc_request, svc_parse) and
 * unit-tested; svc_send and svc_next add the sockets.
 */
#ifndef AKC_SVC_H
#define AKC_SVC_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "proto.h"

struct svc {
	char name[RELAY_SVC_MAX];
	char topic[RELAY_SVC_MAX + 1];	/* name + "\n" */
	int push;			/* to SOCK_MEMBERD_RELAY */
	int sub;			/* from SOCK_MEMBERD_SVC, our topic only */
};

/* Who sent a relayed message, as memberd vouches: pointers into its message. */
struct svc_from {
	uint64_t uid;
	const char *node;		/* NULL if memberd did not say */
	const char *address;		/* NULL if memberd did not say */
};

/* Names the service prefix + name (SVC_*_PREFIX) without sockets; -1 if too long. */
int svc_name(struct svc *, const char *prefix, const char *name);
/* svc_name, then both sockets to memberd; -1 if either fails (closed again). */
int svc_open(struct svc *, const struct akc_config *, const char *prefix, const char *name);
void svc_close(struct svc *);
/* The descriptor to poll for relayed messages. */
int svc_fd(const struct svc *);

/* {"v":PROTO_VERSION,"relay":{"to","svc","body"}}: body is taken; free with cJSON_free. */
char *svc_request(const char *svc, uint64_t to, cJSON *body);
/*
 * A message from our topic: "SVC\n" + {"from":{"uid","node","address"},
 * "body":{"m",...}}. Its body (an object with a string "m"), or NULL when
 * malformed or not ours. *whole is the parsed message to free (or NULL).
 */
cJSON *svc_parse(const char *topic, const void *buf, size_t len, struct svc_from *, cJSON **whole);

/* Sends body (taken) to service s on member to; -1 if memberd's socket refused it. */
int svc_send(struct svc *, uint64_t to, cJSON *body);
/* Asks memberd to publish a cluster event (RELAY_REQ_PUBLISH). */
int svc_publish(struct svc *, const char *type, const char *name, const char *node);
/*
 * The next well-formed message waiting (svc_parse), or NULL when none is;
 * malformed ones are dropped and counted in *dropped.
 */
cJSON *svc_next(struct svc *, struct svc_from *, cJSON **whole, uint64_t *dropped);

#endif
