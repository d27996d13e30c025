/*
 * svc.c: a local service's end of memberd's relay (svc.h). singletond and
 * the journal (src/master/repl.c) each had their own copy of this.
 */
#include <stdio.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/pipeline.h>

#include "json.h"
#include "svc.h"
#include "sock.h"

int
svc_name(struct svc *s, const char *prefix, const char *name)
{
	int n;

	n = snprintf(s->name, sizeof(s->name), "%s%s", prefix, name);
	if (n < 0 || (size_t)n >= sizeof(s->name))
		return -1;
	snprintf(s->topic, sizeof(s->topic), "%s\n", s->name);
	return 0;
}

int
svc_open(struct svc *s, const struct akc_config *cfg, const char *prefix, const char *name)
{
	char addr[CONF_PATH_MAX + 32];

	s->push = s->sub = -1;
	if (svc_name(s, prefix, name) < 0)
		return -1;
	config_ipc_path(cfg, SOCK_MEMBERD_RELAY, addr, sizeof(addr));
	if ((s->push = sock_connect(NN_PUSH, addr, 1024, 1000)) < 0)
		goto fail;
	config_ipc_path(cfg, SOCK_MEMBERD_SVC, addr, sizeof(addr));
	/* twice the largest relayed message: one too large is cut by memberd, not here */
	if ((s->sub = sock_connect(NN_SUB, addr, 2 * RELAY_MAX_MSG, 1000)) < 0)
		goto fail;
	if (nn_setsockopt(s->sub, NN_SUB, NN_SUB_SUBSCRIBE, s->topic, strlen(s->topic)) < 0)
		goto fail;
	return 0;
fail:
	svc_close(s);
	return -1;
}

void
svc_close(struct svc *s)
{
	if (s->push >= 0)
		sock_close(s->push);
	if (s->sub >= 0)
		sock_close(s->sub);
	s->push = s->sub = -1;
}

int
svc_fd(const struct svc *s)
{
	return sock_rcvfd(s->sub);
}

/* {"v":PROTO_VERSION,kind:o} as text (o is taken; free with cJSON_free). */
static char *
request(const char *kind, cJSON *o)
{
	cJSON *req = cJSON_CreateObject();
	char *txt;

	cJSON_AddNumberToObject(req, "v", PROTO_VERSION);
	cJSON_AddItemToObject(req, kind, o);
	txt = json_print(req);
	cJSON_Delete(req);
	return txt;
}

char *
svc_request(const char *svc, uint64_t to, cJSON *body)
{
	cJSON *o = cJSON_CreateObject();

	json_add_u64(o, "to", to);
	cJSON_AddStringToObject(o, "svc", svc);
	cJSON_AddItemToObject(o, "body", body);
	return request(RELAY_REQ_SEND, o);
}

cJSON *
svc_parse(const char *topic, const void *buf, size_t len, struct svc_from *from, cJSON **whole)
{
	size_t tl = strlen(topic);
	cJSON *m, *f, *b;

	*whole = NULL;
	if (len <= tl || memcmp(buf, topic, tl) != 0 ||
	    (m = json_parse((const char *)buf + tl, len - tl)) == NULL)
		return NULL;
	*whole = m;
	if ((f = cJSON_GetObjectItemCaseSensitive(m, "from")) == NULL ||
	    json_u64(f, "uid", &from->uid) < 0 ||
	    !cJSON_IsObject(b = cJSON_GetObjectItemCaseSensitive(m, "body")) ||
	    json_str(b, "m") == NULL)
		return NULL;
	from->node = json_str(f, "node");
	from->address = json_str(f, "address");
	return b;
}

int
svc_send(struct svc *s, uint64_t to, cJSON *body)
{
	char *txt = svc_request(s->name, to, body);
	int rc = sock_send(s->push, txt, strlen(txt));

	cJSON_free(txt);
	return rc;
}

int
svc_publish(struct svc *s, const char *type, const char *name, const char *node)
{
	cJSON *p = cJSON_CreateObject();
	char *txt;
	int rc;

	cJSON_AddStringToObject(p, "type", type);
	cJSON_AddStringToObject(p, "name", name);
	cJSON_AddStringToObject(p, "node", node);
	txt = request(RELAY_REQ_PUBLISH, p);
	rc = sock_send(s->push, txt, strlen(txt));
	cJSON_free(txt);
	return rc;
}

cJSON *
svc_next(struct svc *s, struct svc_from *from, cJSON **whole, uint64_t *dropped)
{
	void *buf;
	ssize_t n;
	cJSON *b;

	while ((n = sock_recv(s->sub, &buf)) >= 0) {
		b = svc_parse(s->topic, buf, (size_t)n, from, whole);
		nn_freemsg(buf);
		if (b != NULL)
			return b;
		(*dropped)++;
		cJSON_Delete(*whole);
		*whole = NULL;
	}
	return NULL;
}
