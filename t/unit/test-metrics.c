/*
 * test-metrics.c: akc-httpd's Prometheus text from the daemons' answers:
 * every family once with HELP and TYPE, label values escaped, the master's
 * families only where it runs, the latency histogram cumulative in seconds.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "unit.h"

static const char *status_json =
    "{\"v\":1,\"ok\":true,\"self\":\"a\",\"leader\":\"a\",\"oldest\":\"a\","
    "\"role_leaders\":{\"backend\":\"b\"},\"convergence\":true,"
    "\"majority\":{\"ok\":true,\"reachable\":2,\"remembered\":3},"
    "\"members\":[{\"node\":\"a\",\"status\":\"Up\"},{\"node\":\"b\",\"status\":\"Up\"},"
    "{\"node\":\"c\",\"status\":\"Down\"}],"
    "\"unreachable\":[{\"node\":\"c\",\"observed_by\":[\"a\"]}],"
    "\"dropped\":{\"malformed\":2,\"stale\":1},"
    "\"local_connections\":{\"control\":{\"open\":3,\"timed_out\":4,\"refused\":5},"
    "\"events\":{\"open\":1,\"timed_out\":0,\"refused\":0}},"
    "\"welcomes\":{\"full\":5,\"partial\":9,\"waiting_for_state\":true},"
    "\"traffic\":{\"sent_messages\":10,\"relayed_out\":3,\"relayed_in\":4,\"relay_refused\":0,"
    "\"by_type\":{\"gossip\":{\"sent_messages\":7,\"sent_bytes\":700,\"received_messages\":6,"
    "\"received_bytes\":600},\"heartbeat\":{\"sent_messages\":3,\"sent_bytes\":90,"
    "\"received_messages\":3,\"received_bytes\":90}}},"
    "\"monitored\":[{\"node\":\"b\",\"phi\":0.25,\"interval_ms\":100,\"stddev_ms\":5,"
    "\"last_ms\":40},{\"node\":\"c\",\"phi\":1000,\"interval_ms\":100,\"stddev_ms\":5,"
    "\"last_ms\":null}]}";

static const char *queue_json =
    "{\"ok\":true,\"pending\":1,\"in_progress\":2,\"done\":5,\"failed\":1,\"accepted\":9,"
    "\"workers\":[{\"worker\":\"w1\",\"state\":\"busy\"},{\"worker\":\"w2\",\"state\":\"idle\"}],"
    "\"standbys\":[{\"node\":\"b\",\"acked\":10,\"lag\":2}],\"epoch\":3,"
    "\"requests\":40,\"bad_requests\":0,"
    "\"latency\":{\"count\":5,\"sum_ms\":1500,\"buckets\":[[10,0],[100,2],[1000,4]]},"
    "\"journal\":{\"seq\":12,\"snapshot_seq\":4,\"bytes\":4096}}";

static cJSON *
parse(const char *s)
{
	return json_parse(s, strlen(s));
}

/* Whether the text has this whole line. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

/* How many times "# TYPE name " starts a line. */
static int
types_of(const char *text, const char *name)
{
	char want[128];
	const char *p = text;
	int n = 0;

	snprintf(want, sizeof(want), "# TYPE %s ", name);
	while ((p = strstr(p, want)) != NULL) {
		if (p == text || p[-1] == '\n')
			n++;
		p++;
	}
	return n;
}

static void
test_node(void)
{
	struct metrics_in in;
	struct buf b = { 0 };
	cJSON *st = parse(status_json), *sg = parse("{\"v\":1,\"ok\":true,\"name\":\"master\","
	    "\"running_here\":false,\"running_on\":\"b\\\"q\",\"restarts\":0,\"proxy\":{\"buffered\":0}}");

	memset(&in, 0, sizeof(in));
	in.status = st;
	in.leaderd_up = 1;
	in.sg[0].name = "master";
	in.sg[0].st = sg;
	in.nsg = 1;
	in.requests = 7;
	in.by_class[2] = 6;
	metrics_render(&in, &b);
	CHECK(has_line(b.p, "akc_daemon_up{daemon=\"memberd\"} 1"));
	CHECK(has_line(b.p, "akc_daemon_up{daemon=\"singletond@master\"} 1"));
	/* the master runs elsewhere: no master families here */
	CHECK(strstr(b.p, "akc_master_") == NULL);
	CHECK(strstr(b.p, "daemon=\"master\"") == NULL);
	CHECK(has_line(b.p, "akc_members{status=\"Up\"} 2"));
	CHECK(has_line(b.p, "akc_members{status=\"Down\"} 1"));
	CHECK(has_line(b.p, "akc_members{status=\"Joining\"} 0"));
	CHECK(has_line(b.p, "akc_unreachable_members 1"));
	CHECK(has_line(b.p, "akc_leader 1"));
	CHECK(has_line(b.p, "akc_self_up 1"));
	CHECK(has_line(b.p, "akc_role_leader{role=\"backend\"} 0"));
	CHECK(has_line(b.p, "akc_messages_sent_total{type=\"gossip\"} 7"));
	CHECK(has_line(b.p, "akc_received_bytes_total{type=\"heartbeat\"} 90"));
	CHECK(has_line(b.p, "akc_dropped_messages_total{reason=\"malformed\"} 2"));
	CHECK(has_line(b.p, "akc_local_connections{socket=\"control\"} 3"));
	CHECK(has_line(b.p, "akc_local_connections{socket=\"events\"} 1"));
	CHECK(has_line(b.p, "akc_local_connections_timed_out_total{socket=\"control\"} 4"));
	CHECK(has_line(b.p, "akc_local_connections_refused_total{socket=\"control\"} 5"));
	CHECK_INT(types_of(b.p, "akc_local_connections_refused_total"), 1);
	CHECK(has_line(b.p, "akc_welcomes_sent_total{kind=\"full\"} 5"));
	CHECK(has_line(b.p, "akc_welcomes_sent_total{kind=\"partial\"} 9"));
	CHECK(has_line(b.p, "akc_waiting_for_state 1"));
	CHECK(has_line(b.p, "akc_phi{member=\"b\"} 0.25"));
	CHECK(has_line(b.p, "akc_heartbeat_interval_seconds{member=\"b\"} 0.1"));
	CHECK(has_line(b.p, "akc_heartbeat_age_seconds{member=\"b\"} 0.04"));
	CHECK(strstr(b.p, "akc_heartbeat_age_seconds{member=\"c\"}") == NULL);
	/* a quote in a label value is escaped */
	CHECK(has_line(b.p, "akc_singleton_location{singleton=\"master\",node=\"b\\\"q\"} 1"));
	CHECK(has_line(b.p, "akc_http_requests_total 7"));
	CHECK(has_line(b.p, "akc_http_responses_total{class=\"2xx\"} 6"));
	CHECK_INT(types_of(b.p, "akc_members"), 1);
	CHECK_INT(types_of(b.p, "akc_messages_sent_total"), 1);
	CHECK(has_line(b.p, "# TYPE akc_messages_sent_total counter"));
	buf_free(&b);
	cJSON_Delete(st);
	cJSON_Delete(sg);
}

static void
test_master(void)
{
	struct metrics_in in;
	struct buf b = { 0 };
	cJSON *q = parse(queue_json), *sg = parse("{\"v\":1,\"ok\":true,\"running_here\":true,"
	    "\"running_on\":\"a\"}");

	memset(&in, 0, sizeof(in));
	in.sg[0].name = "master";
	in.sg[0].st = sg;
	in.nsg = 1;
	in.queue = q;
	metrics_render(&in, &b);
	/* memberd did not answer: its families are left out, and said so */
	CHECK(has_line(b.p, "akc_daemon_up{daemon=\"memberd\"} 0"));
	CHECK(strstr(b.p, "akc_members") == NULL);
	CHECK(has_line(b.p, "akc_daemon_up{daemon=\"master\"} 1"));
	CHECK(has_line(b.p, "akc_master_jobs{state=\"in_progress\"} 2"));
	CHECK(has_line(b.p, "akc_master_jobs_accepted_total 9"));
	CHECK(has_line(b.p, "akc_master_jobs_completed_total{status=\"failed\"} 1"));
	CHECK(has_line(b.p, "# TYPE akc_master_job_latency_seconds histogram"));
	CHECK(has_line(b.p, "akc_master_job_latency_seconds_bucket{le=\"0.01\"} 0"));
	CHECK(has_line(b.p, "akc_master_job_latency_seconds_bucket{le=\"1\"} 4"));
	CHECK(has_line(b.p, "akc_master_job_latency_seconds_bucket{le=\"+Inf\"} 5"));
	CHECK(has_line(b.p, "akc_master_job_latency_seconds_sum 1.5"));
	CHECK(has_line(b.p, "akc_master_job_latency_seconds_count 5"));
	CHECK(has_line(b.p, "akc_master_workers{state=\"busy\"} 1"));
	CHECK(has_line(b.p, "akc_master_journal_bytes 4096"));
	CHECK(has_line(b.p, "akc_master_journal_events 8"));
	CHECK(has_line(b.p, "akc_master_replication_lag_events{standby=\"b\"} 2"));
	buf_free(&b);
	cJSON_Delete(q);
	cJSON_Delete(sg);
}

int
main(void)
{
	log_init("test-metrics");
	RUN(test_node);
	RUN(test_master);
	return unit_done();
}
