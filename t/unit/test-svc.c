/*
 * test-svc.c: lib/svc.c's pure half, the relay messages singletond and the
 * journal both use: a request memberd's relay takes as it did before, and a
 * relayed message parsed only when it is ours and whole (sender's uid, an
 * object body with a string "m"), with the sender's node and address.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "svc.h"
#include "unit.h"

static void
names(void)
{
	struct svc s;
	char longname[RELAY_SVC_MAX];

	CHECK_INT(svc_name(&s, SVC_JOURNAL_PREFIX, "master"), 0);
	CHECK_STR(s.name, "journal.master");
	CHECK_STR(s.topic, "journal.master\n");
	CHECK_INT(svc_name(&s, SVC_SINGLETON_PREFIX, "master"), 0);
	CHECK_STR(s.name, MASTER_SVC);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT(svc_name(&s, SVC_SINGLETON_PREFIX, longname), -1);
}

static void
request(void)
{
	cJSON *b = cJSON_CreateObject(), *req, *o;
	char *txt;
	uint64_t to;
	long v;

	cJSON_AddStringToObject(b, "m", "where");
	txt = svc_request("singleton.x", 18446744073709551615ULL, b);
	CHECK(txt != NULL);
	req = json_parse(txt, strlen(txt));
	CHECK(req != NULL);
	CHECK(json_int(req, "v", 0, 1000, &v) == 0 && v == PROTO_VERSION);
	o = cJSON_GetObjectItemCaseSensitive(req, RELAY_REQ_SEND);
	CHECK(cJSON_IsObject(o));
	CHECK(json_u64(o, "to", &to) == 0 && to == 18446744073709551615ULL);
	CHECK_STR(json_str(o, "svc"), "singleton.x");
	CHECK_STR(json_str(cJSON_GetObjectItemCaseSensitive(o, "body"), "m"), "where");
	cJSON_Delete(req);
	cJSON_free(txt);
}

static cJSON *
parse(const char *topic, const char *msg, struct svc_from *f, cJSON **whole)
{
	return svc_parse(topic, msg, strlen(msg), f, whole);
}

static void
parsing(void)
{
	struct svc_from f;
	cJSON *whole, *b;
	const char *t = "journal.m\n";

	b = parse(t, "journal.m\n{\"from\":{\"uid\":\"7\",\"node\":\"n1\",\"address\":\"127.0.0.1:1\"},"
	    "\"body\":{\"m\":\"ack\",\"x\":1}}", &f, &whole);
	CHECK(b != NULL && whole != NULL);
	CHECK(f.uid == 7);
	CHECK_STR(f.node, "n1");
	CHECK_STR(f.address, "127.0.0.1:1");
	CHECK_STR(json_str(b, "m"), "ack");
	cJSON_Delete(whole);
	/* node and address are optional: the caller decides */
	b = parse(t, "journal.m\n{\"from\":{\"uid\":\"7\"},\"body\":{\"m\":\"ack\"}}", &f, &whole);
	CHECK(b != NULL && f.node == NULL && f.address == NULL);
	cJSON_Delete(whole);
	/* another topic, a prefix of ours, or none */
	CHECK(parse(t, "journal.mx\n{\"from\":{\"uid\":\"7\"},\"body\":{\"m\":\"a\"}}", &f, &whole) == NULL);
	cJSON_Delete(whole);
	CHECK(parse(t, "journal.m\n", &f, &whole) == NULL && whole == NULL);
	CHECK(parse(t, "journal.", &f, &whole) == NULL && whole == NULL);
	/* not JSON, no sender, no uid, a body that is no object, no "m" */
	CHECK(parse(t, "journal.m\n{\"from\":", &f, &whole) == NULL && whole == NULL);
	CHECK(parse(t, "journal.m\n{\"body\":{\"m\":\"a\"}}", &f, &whole) == NULL);
	cJSON_Delete(whole);
	CHECK(parse(t, "journal.m\n{\"from\":{\"node\":\"n\"},\"body\":{\"m\":\"a\"}}", &f, &whole) == NULL);
	cJSON_Delete(whole);
	CHECK(parse(t, "journal.m\n{\"from\":{\"uid\":\"7\"},\"body\":\"m\"}", &f, &whole) == NULL);
	cJSON_Delete(whole);
	CHECK(parse(t, "journal.m\n{\"from\":{\"uid\":\"7\"},\"body\":{\"m\":3}}", &f, &whole) == NULL);
	cJSON_Delete(whole);
}

int
main(void)
{
	log_init("test-svc");
	RUN(names);
	RUN(request);
	RUN(parsing);
	return unit_done();
}
