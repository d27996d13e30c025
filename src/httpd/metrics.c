/*
 * metrics.c: the Prometheus text format (version 0.0.4) of a node's view,
 * made from its daemons' answers. Every family is written once, with its
 * HELP and TYPE, all its samples together; counters end in _total, times
 * are in seconds. A daemon that did not answer leaves its families out,
 * and akc_daemon_up says so.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "metrics.h"

static const char *statuses[] = { "Joining", "WeaklyUp", "Up", "Leaving", "Exiting", "Down",
    "Removed" };

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void
label(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, "%s=\"", key);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_add(b, v, 1);
	}
	buf_puts(b, "\"");
}

static void
value(struct buf *b, double v)
{
	if (isnan(v))
		buf_puts(b, "NaN");
	else if (isinf(v))
		buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		buf_printf(b, "%.0f", v);
	else
		buf_printf(b, "%.6g", v);
}

/* One sample: name, up to two labels (k1 NULL: none; k2 NULL: one), value. */
static void
sample(struct buf *b, const char *name, const char *k1, const char *v1, const char *k2,
    const char *v2, double v)
{
	buf_puts(b, name);
	if (k1 != NULL) {
		buf_puts(b, "{");
		label(b, k1, v1);
		if (k2 != NULL) {
			buf_puts(b, ",");
			label(b, k2, v2);
		}
		buf_puts(b, "}");
	}
	buf_puts(b, " ");
	value(b, v);
	buf_puts(b, "\n");
}

/* A number field of o (0 when absent or not a number). */
static double
num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const cJSON *
obj(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static void
daemons(const struct metrics_in *in, struct buf *b)
{
	char name[CONF_NAME_MAX + 16];
	int i, here = 0;

	family(b, "akc_daemon_up", "gauge",
	    "Whether a daemon of this node answered akc-httpd (singletond@NAME per singleton; "
	    "master where it runs here).");
	sample(b, "akc_daemon_up", "daemon", "memberd", NULL, NULL, in->status != NULL);
	sample(b, "akc_daemon_up", "daemon", "leaderd", NULL, NULL, in->leaderd_up);
	for (i = 0; i < in->nsg; i++) {
		snprintf(name, sizeof(name), "singletond@%s", in->sg[i].name);
		sample(b, "akc_daemon_up", "daemon", name, NULL, NULL, in->sg[i].st != NULL);
		if (strcmp(in->sg[i].name, "master") == 0 && in->sg[i].st != NULL)
			(void)json_bool(in->sg[i].st, "running_here", &here);
	}
	if (here)
		sample(b, "akc_daemon_up", "daemon", "master", NULL, NULL, in->queue != NULL);
}

static void
membership(const cJSON *st, struct buf *b)
{
	const cJSON *m, *e, *rl = obj(st, "role_leaders");
	const char *self = json_str(st, "self"), *s, *leader = json_str(st, "leader");
	int counts[7] = { 0 }, i, conv = 0, maj = 0, self_up = 0;

	cJSON_ArrayForEach(m, obj(st, "members"))
		for (i = 0; i < 7; i++)
			if ((s = json_str(m, "status")) != NULL && strcmp(s, statuses[i]) == 0) {
				counts[i]++;
				if (self != NULL && json_str(m, "node") != NULL &&
				    strcmp(json_str(m, "node"), self) == 0 && i == 2)
					self_up = 1;
			}
	family(b, "akc_members", "gauge", "Members by status, as this node sees them.");
	for (i = 0; i < 7; i++)
		sample(b, "akc_members", "status", statuses[i], NULL, NULL, counts[i]);
	family(b, "akc_unreachable_members", "gauge",
	    "Members some member observes as unreachable, as this node sees it.");
	sample(b, "akc_unreachable_members", NULL, NULL, NULL, NULL,
	    cJSON_GetArraySize(obj(st, "unreachable")));
	(void)json_bool(st, "convergence", &conv);
	family(b, "akc_convergence", "gauge", "1 when this node's view has converged.");
	sample(b, "akc_convergence", NULL, NULL, NULL, NULL, conv);
	family(b, "akc_self_up", "gauge", "1 when this node is an Up member.");
	sample(b, "akc_self_up", NULL, NULL, NULL, NULL, self_up);
	family(b, "akc_leader", "gauge", "1 when this node is the leader.");
	sample(b, "akc_leader", NULL, NULL, NULL, NULL,
	    self != NULL && leader != NULL && strcmp(self, leader) == 0);
	if (cJSON_GetArraySize(rl) > 0) {
		family(b, "akc_role_leader", "gauge", "1 when this node is the leader of the role.");
		cJSON_ArrayForEach(e, rl)
			sample(b, "akc_role_leader", "role", e->string, NULL, NULL, self != NULL &&
			    cJSON_IsString(e) && strcmp(e->valuestring, self) == 0);
	}
	if ((m = obj(st, "majority")) != NULL) {
		(void)json_bool(m, "ok", &maj);
		family(b, "akc_majority", "gauge",
		    "1 when this node sees a majority of the members it remembers as reachable.");
		sample(b, "akc_majority", NULL, NULL, NULL, NULL, maj);
	}
}

static void
traffic(const cJSON *st, struct buf *b)
{
	static const struct {
		const char *name, *key, *help;
	} fams[] = {
		{ "akc_messages_sent_total", "sent_messages", "Node-to-node messages sent, by type." },
		{ "akc_messages_received_total", "received_messages",
		  "Node-to-node messages received, by type." },
		{ "akc_sent_bytes_total", "sent_bytes", "Bytes of node-to-node messages sent, by type." },
		{ "akc_received_bytes_total", "received_bytes",
		  "Bytes of node-to-node messages received, by type." },
	};
	const cJSON *by = obj(obj(st, "traffic"), "by_type"), *t, *d;
	size_t i;

	if (by != NULL)
		for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
			family(b, fams[i].name, "counter", fams[i].help);
			cJSON_ArrayForEach(t, by)
				sample(b, fams[i].name, "type", t->string, NULL, NULL, num(t, fams[i].key));
		}
	if ((d = obj(st, "dropped")) != NULL) {
		family(b, "akc_dropped_messages_total", "counter",
		    "Messages dropped unread, by reason (control: bad requests on the control socket).");
		cJSON_ArrayForEach(t, d)
			if (cJSON_IsNumber(t))
				sample(b, "akc_dropped_messages_total", "reason", t->string, NULL, NULL,
				    t->valuedouble);
	}
	if ((d = obj(st, "local_connections")) != NULL) {
		/* memberd's local sockets: lib/sps.h's cap and deadlines */
		static const struct { const char *name, *type, *key, *help; } lc[] = {
			{ "akc_local_connections", "gauge", "open",
			  "Connections open on memberd's local sockets, by socket." },
			{ "akc_local_connections_timed_out_total", "counter", "timed_out",
			  "Local connections closed for sending no whole header or frame within 5 s." },
			{ "akc_local_connections_refused_total", "counter", "refused",
			  "Local connections refused: the socket had 512 open." },
		};

		for (i = 0; i < sizeof(lc) / sizeof(lc[0]); i++) {
			family(b, lc[i].name, lc[i].type, lc[i].help);
			cJSON_ArrayForEach(t, d)
				if (cJSON_IsObject(t))
					sample(b, lc[i].name, "socket", t->string, NULL, NULL,
					    num(t, lc[i].key));
		}
	}
	if ((d = obj(st, "traffic")) != NULL) {
		family(b, "akc_relayed_messages_total", "counter",
		    "Messages of local services (singletons, the journal) relayed to or from peers.");
		sample(b, "akc_relayed_messages_total", "direction", "out", NULL, NULL,
		    num(d, "relayed_out"));
		sample(b, "akc_relayed_messages_total", "direction", "in", NULL, NULL,
		    num(d, "relayed_in"));
		family(b, "akc_relay_refused_total", "counter", "Relay requests refused.");
		sample(b, "akc_relay_refused_total", NULL, NULL, NULL, NULL, num(d, "relay_refused"));
	}
	if ((d = obj(st, "welcomes")) != NULL) {
		family(b, "akc_welcomes_sent_total", "counter",
		    "Joiners let in, by kind (full: with this node's state; partial: past welcome-budget).");
		sample(b, "akc_welcomes_sent_total", "kind", "full", NULL, NULL, num(d, "full"));
		sample(b, "akc_welcomes_sent_total", "kind", "partial", NULL, NULL, num(d, "partial"));
		family(b, "akc_waiting_for_state", "gauge",
		    "1 while this node, let in by a partial welcome, waits for the cluster's state.");
		sample(b, "akc_waiting_for_state", NULL, NULL, NULL, NULL,
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "waiting_for_state")) ? 1 : 0);
	}
	if ((d = obj(st, "connections")) != NULL) {
		family(b, "akc_connections", "gauge", "Open node-to-node connections.");
		sample(b, "akc_connections", "direction", "inbound", NULL, NULL, num(d, "inbound"));
		sample(b, "akc_connections", "direction", "outbound", NULL, NULL, num(d, "outbound"));
		family(b, "akc_connection_events_total", "counter",
		    "Node-to-node connection events, by kind.");
		cJSON_ArrayForEach(t, d)
			if (cJSON_IsNumber(t) && strcmp(t->string, "inbound") != 0 &&
			    strcmp(t->string, "outbound") != 0)
				sample(b, "akc_connection_events_total", "event", t->string, NULL, NULL,
				    t->valuedouble);
	}
}

static void
detector(const cJSON *st, struct buf *b)
{
	static const struct {
		const char *name, *key, *help;
		double scale;
	} fams[] = {
		{ "akc_phi", "phi", "Phi of the failure detector for a member this node "
		  "heartbeats (capped at 1000).", 1 },
		{ "akc_heartbeat_interval_seconds", "interval_ms",
		  "Mean interval between a monitored member's heartbeat replies.", 0.001 },
		{ "akc_heartbeat_interval_stddev_seconds", "stddev_ms",
		  "Standard deviation of those intervals.", 0.001 },
		{ "akc_heartbeat_age_seconds", "last_ms",
		  "Time since a monitored member's last heartbeat reply.", 0.001 },
	};
	const cJSON *mon = obj(st, "monitored"), *m, *v;
	const char *node;
	size_t i;

	if (cJSON_GetArraySize(mon) == 0)
		return;
	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		family(b, fams[i].name, "gauge", fams[i].help);
		cJSON_ArrayForEach(m, mon)
			if ((node = json_str(m, "node")) != NULL &&
			    cJSON_IsNumber(v = obj(m, fams[i].key)))
				sample(b, fams[i].name, "member", node, NULL, NULL,
				    v->valuedouble * fams[i].scale);
	}
}

/* Singleton I's proxy link object, when its singletond answered and the link is on. */
static int
link_on(const struct metrics_in *in, int i, const cJSON **lk)
{
	int on = 0;

	if (in->sg[i].st == NULL || (*lk = obj(in->sg[i].st, "link")) == NULL)
		return 0;
	return json_bool(*lk, "on", &on) == 0 && on;
}

static void
singletons(const struct metrics_in *in, struct buf *b)
{
	static const char *outcomes[] = { "accepted", "answered", "refused", "expired", "resent" };
	const cJSON *st;
	const char *on;
	int i, here;
	size_t k;

	if (in->nsg == 0)
		return;
	family(b, "akc_singleton_running_here", "gauge", "1 when the singleton runs on this node.");
	for (i = 0; i < in->nsg; i++)
		if ((st = in->sg[i].st) != NULL) {
			here = 0;
			(void)json_bool(st, "running_here", &here);
			sample(b, "akc_singleton_running_here", "singleton", in->sg[i].name, NULL, NULL, here);
		}
	family(b, "akc_singleton_location", "gauge",
	    "1 for the node where the singleton runs, as this node's singletond knows it.");
	for (i = 0; i < in->nsg; i++)
		if ((st = in->sg[i].st) != NULL && (on = json_str(st, "running_on")) != NULL)
			sample(b, "akc_singleton_location", "singleton", in->sg[i].name, "node", on, 1);
	family(b, "akc_singleton_restarts_total", "counter",
	    "Restarts of the singleton's process on this node.");
	for (i = 0; i < in->nsg; i++)
		if ((st = in->sg[i].st) != NULL)
			sample(b, "akc_singleton_restarts_total", "singleton", in->sg[i].name, NULL, NULL,
			    num(st, "restarts"));
	family(b, "akc_singleton_proxy_buffered", "gauge",
	    "Requests the singleton's proxy holds while the singleton moves.");
	for (i = 0; i < in->nsg; i++)
		if ((st = in->sg[i].st) != NULL)
			sample(b, "akc_singleton_proxy_buffered", "singleton", in->sg[i].name, NULL, NULL,
			    num(obj(st, "proxy"), "buffered"));
	family(b, "akc_singleton_proxy_requests_total", "counter",
	    "Requests through the singleton's proxy on this node, by outcome.");
	for (i = 0; i < in->nsg; i++)
		if ((st = in->sg[i].st) != NULL)
			for (k = 0; k < sizeof(outcomes) / sizeof(outcomes[0]); k++)
				sample(b, "akc_singleton_proxy_requests_total", "singleton", in->sg[i].name,
				    "outcome", outcomes[k], num(obj(st, "proxy"), outcomes[k]));
}

/*
 * The proxy link (singletond's direct link to the singleton's node, issue
 * 12): what went over it and over the relay, its peers up, and the frames
 * it refused. Only singletons whose link is on have these samples.
 */
static void
singleton_links(const struct metrics_in *in, struct buf *b)
{
	static const char *reasons[] = { "unauthenticated", "malformed", "cluster", "replayed",
	    "stale", "unknown", "oversized", "preauth_timeout", "unsent" };
	static const struct {
		const char *name, *key, *help, *mkey;
	} dirs[] = {
		{ "akc_singleton_link_sent_total", "sent",
		    "Messages the singleton's proxy sent, by path (link: the proxy link; relay: through memberd; master: the master link).",
		    "requests_sent" },
		{ "akc_singleton_link_received_total", "received",
		    "Messages the singleton's proxy received, by path (link: the proxy link; relay: through memberd; master: the master link).",
		    "answers" },
	};
	const cJSON *lk, *p;
	int i, on, up, any = 0;
	size_t k;

	for (i = 0; i < in->nsg; i++)
		any |= link_on(in, i, &lk);
	if (!any)
		return;
	for (k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
		family(b, dirs[k].name, "counter", dirs[k].help);
		for (i = 0; i < in->nsg; i++)
			if (link_on(in, i, &lk)) {
				sample(b, dirs[k].name, "singleton", in->sg[i].name, "path", "link",
				    num(lk, dirs[k].key));
				sample(b, dirs[k].name, "singleton", in->sg[i].name, "path", "relay",
				    num(obj(lk, "relay"), dirs[k].key));
				/* the master link's requests and answers (0 while it is off) */
				sample(b, dirs[k].name, "singleton", in->sg[i].name, "path", "master",
				    num(obj(in->sg[i].st, "mlink"), dirs[k].mkey));
			}
	}
	family(b, "akc_singleton_link_peers_up", "gauge",
	    "Peers (other nodes' singletonds) the proxy link has heard from lately.");
	for (i = 0; i < in->nsg; i++)
		if (link_on(in, i, &lk)) {
			up = 0;
			cJSON_ArrayForEach(p, obj(lk, "peers"))
				if (json_bool(p, "up", &on) == 0 && on)
					up++;
			sample(b, "akc_singleton_link_peers_up", "singleton", in->sg[i].name, NULL, NULL,
			    up);
		}
	family(b, "akc_singleton_link_dropped_total", "counter",
	    "Frames the proxy link refused or could not send, by reason.");
	for (i = 0; i < in->nsg; i++)
		if (link_on(in, i, &lk))
			for (k = 0; k < sizeof(reasons) / sizeof(reasons[0]); k++)
				sample(b, "akc_singleton_link_dropped_total", "singleton", in->sg[i].name,
				    "reason", reasons[k], num(obj(lk, "dropped"), reasons[k]));
}

static void
master(const cJSON *q, struct buf *b)
{
	static const struct {
		const char *state, *key;
	} jobs[] = {
		{ "pending", "pending" }, { "in_progress", "in_progress" },
		{ "done", "done" }, { "failed", "failed" },
	};
	const cJSON *lat = obj(q, "latency"), *bk, *w, *sb;
	const char *s, *node;
	char le[32];
	int busy = 0, idle = 0;
	size_t i;

	family(b, "akc_master_jobs", "gauge",
	    "Jobs by state (done and failed count every job ever finished).");
	for (i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		sample(b, "akc_master_jobs", "state", jobs[i].state, NULL, NULL, num(q, jobs[i].key));
	family(b, "akc_master_jobs_accepted_total", "counter", "Jobs durably accepted.");
	sample(b, "akc_master_jobs_accepted_total", NULL, NULL, NULL, NULL, num(q, "accepted"));
	family(b, "akc_master_jobs_completed_total", "counter", "Jobs finished, by outcome.");
	sample(b, "akc_master_jobs_completed_total", "status", "done", NULL, NULL, num(q, "done"));
	sample(b, "akc_master_jobs_completed_total", "status", "failed", NULL, NULL, num(q, "failed"));
	if (lat != NULL) {
		family(b, "akc_master_job_latency_seconds", "histogram",
		    "From acceptance to done, for the jobs this master process accepted.");
		cJSON_ArrayForEach(bk, obj(lat, "buckets"))
			if (cJSON_GetArraySize(bk) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(bk, 0))) {
				snprintf(le, sizeof(le), "%g", cJSON_GetArrayItem(bk, 0)->valuedouble / 1000);
				sample(b, "akc_master_job_latency_seconds_bucket", "le", le, NULL, NULL,
				    cJSON_GetArrayItem(bk, 1)->valuedouble);
			}
		sample(b, "akc_master_job_latency_seconds_bucket", "le", "+Inf", NULL, NULL,
		    num(lat, "count"));
		sample(b, "akc_master_job_latency_seconds_sum", NULL, NULL, NULL, NULL,
		    num(lat, "sum_ms") / 1000);
		sample(b, "akc_master_job_latency_seconds_count", NULL, NULL, NULL, NULL,
		    num(lat, "count"));
	}
	cJSON_ArrayForEach(w, obj(q, "workers"))
		if ((s = json_str(w, "state")) != NULL && strcmp(s, "busy") == 0)
			busy++;
		else
			idle++;
	family(b, "akc_master_workers", "gauge", "Workers the master heard from lately, by state.");
	sample(b, "akc_master_workers", "state", "busy", NULL, NULL, busy);
	sample(b, "akc_master_workers", "state", "idle", NULL, NULL, idle);
	if (obj(q, "journal") != NULL) {
		family(b, "akc_master_journal_bytes", "gauge", "Size of the journal's files on disk.");
		sample(b, "akc_master_journal_bytes", NULL, NULL, NULL, NULL,
		    num(obj(q, "journal"), "bytes"));
		family(b, "akc_master_journal_events", "gauge",
		    "Events in the journal after its latest snapshot (what a replay reads).");
		sample(b, "akc_master_journal_events", NULL, NULL, NULL, NULL,
		    num(obj(q, "journal"), "seq") - num(obj(q, "journal"), "snapshot_seq"));
	}
	family(b, "akc_master_replication_lag_events", "gauge",
	    "Journal events a standby has not acknowledged yet.");
	cJSON_ArrayForEach(sb, obj(q, "standbys"))
		if ((node = json_str(sb, "node")) != NULL)
			sample(b, "akc_master_replication_lag_events", "standby", node, NULL, NULL,
			    num(sb, "lag"));
	family(b, "akc_master_epoch", "gauge", "The master's epoch (bumped at each take-over).");
	sample(b, "akc_master_epoch", NULL, NULL, NULL, NULL, num(q, "epoch"));
	family(b, "akc_master_requests_total", "counter", "Requests the master has answered.");
	sample(b, "akc_master_requests_total", NULL, NULL, NULL, NULL, num(q, "requests"));
	family(b, "akc_master_bad_requests_total", "counter", "Malformed requests to the master.");
	sample(b, "akc_master_bad_requests_total", NULL, NULL, NULL, NULL, num(q, "bad_requests"));
}

static void
http(const struct metrics_in *in, struct buf *b)
{
	char cls[8];
	int i;

	family(b, "akc_http_requests_total", "counter", "HTTP requests akc-httpd has received.");
	sample(b, "akc_http_requests_total", NULL, NULL, NULL, NULL, (double)in->requests);
	family(b, "akc_http_responses_total", "counter", "HTTP responses, by status class.");
	for (i = 1; i < 6; i++) {
		snprintf(cls, sizeof(cls), "%dxx", i);
		sample(b, "akc_http_responses_total", "class", cls, NULL, NULL, (double)in->by_class[i]);
	}
	family(b, "akc_http_event_streams", "gauge", "Open /events streams.");
	sample(b, "akc_http_event_streams", NULL, NULL, NULL, NULL, in->streams);
	family(b, "akc_http_result_streams", "gauge", "Open GET /results streams.");
	sample(b, "akc_http_result_streams", NULL, NULL, NULL, NULL, in->result_streams);
	family(b, "akc_http_event_streams_dropped_total", "counter",
	    "Event streams ended because their client read too slowly.");
	sample(b, "akc_http_event_streams_dropped_total", NULL, NULL, NULL, NULL,
	    (double)in->streams_dropped);
	family(b, "akc_http_daemon_calls", "gauge", "Requests to this node's daemons in flight.");
	sample(b, "akc_http_daemon_calls", NULL, NULL, NULL, NULL, in->calls_in_flight);
	family(b, "akc_http_daemon_calls_failed_total", "counter",
	    "Requests to this node's daemons that got no answer.");
	sample(b, "akc_http_daemon_calls_failed_total", NULL, NULL, NULL, NULL,
	    (double)in->calls_failed);
}

void
metrics_render(const struct metrics_in *in, struct buf *b)
{
	daemons(in, b);
	if (in->status != NULL) {
		membership(in->status, b);
		traffic(in->status, b);
		detector(in->status, b);
	}
	singletons(in, b);
	singleton_links(in, b);
	if (in->queue != NULL)
		master(in->queue, b);
	http(in, b);
}
