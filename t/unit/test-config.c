/* test-config.c: akc.conf parsing: values, and errors naming file, line and key. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "unit.h"

static char path[64], errpath[80];

/* Loads text as a config file; stderr goes to errpath. Returns the error count. */
static int
load(const char *text, struct akc_config *c)
{
	FILE *f = fopen(path, "w");
	int saved, n;

	fputs(text, f);
	fclose(f);
	fflush(stderr);
	saved = dup(2);
	freopen(errpath, "w", stderr);
	n = config_load(path, c);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return n;
}

static int
errors_contain(const char *needle)
{
	char buf[8192];
	FILE *f = fopen(errpath, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);

	fclose(f);
	buf[n] = '\0';
	if (strstr(buf, needle) == NULL) {
		fprintf(stderr, "expected '%s' in:\n%s", needle, buf);
		return 0;
	}
	return 1;
}

static void
full_file(void)
{
	struct akc_config c;

	CHECK_INT(load("[node]\nname = a\naddress = tcp://127.0.0.1:7401\n"
	    "roles = backend, worker   # two roles\nrun-dir = /run/akc/a\n"
	    "[cluster]\nseed-nodes = tcp://127.0.0.1:7401, tcp://127.0.0.1:7402\n"
	    "min-nr-of-members = 2\ngossip-interval = 250ms\n"
	    "[failure-detector]\nheartbeat-interval = 2s\nacceptable-heartbeat-pause = 1m\n"
	    "threshold = 9.5\nmonitored-by-nr-of-members = 7\n"
	    "[downing]\nstrategy = static-quorum\nquorum-size = 3\nstable-after = 1h\n"
	    "down-removal-margin = 0s\n[security]\nkey-file = /etc/akc/k\n"
	    "[singleton.master]\nrole = backend\ncommand = master -c x\n"
	    "[master]\nwork-timeout = 10s\nmax-attempts = 3\n[worker]\nexec = cat\nconcurrency = 4\n",
	    &c), 0);
	CHECK_STR(c.name, "a");
	CHECK_INT(c.nroles, 2);
	CHECK_STR(c.roles[1], "worker");
	CHECK_INT(c.nseeds, 2);
	CHECK_STR(c.seeds[1], "tcp://127.0.0.1:7402");
	CHECK_INT(c.min_nr_of_members, 2);
	CHECK_INT(c.gossip_interval, 250);
	CHECK_INT(c.heartbeat_interval, 2000);
	CHECK_INT(c.acceptable_heartbeat_pause, 60000);
	CHECK(c.threshold == 9.5);
	CHECK_INT(c.monitored_by, 7);
	CHECK_INT(c.strategy, DOWNING_STATIC_QUORUM);
	CHECK_INT(c.stable_after, 3600000);
	CHECK_INT(c.expected_response_after, 2000);	/* defaults to the interval */
	CHECK_INT(c.nsingletons, 1);
	CHECK_STR(c.singletons[0].command, "master -c x");
	CHECK_INT(c.worker_concurrency, 4);
	CHECK_STR(c.state_dir, "/var/lib/akc/a");
	CHECK_INT(c.keep_finished, 24 * 3600 * 1000);	/* the default */
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[master]\nkeep-finished = 90m\n", &c), 0);
	CHECK_INT(c.keep_finished, 90 * 60 * 1000);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[master]\nkeep-finished = off\n", &c), 0);
	CHECK_INT(c.keep_finished, 0);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[master]\nkeep-finished = 0s\n", &c), 1);
	/* the welcome budget: 4,000 by default, 0 allowed (partial welcomes only) */
	CHECK_INT(c.welcome_budget, 4000);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[cluster]\nwelcome-budget = 0\n", &c), 0);
	CHECK_INT(c.welcome_budget, 0);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[cluster]\nwelcome-budget = -1\n", &c), 1);
}

/* config_singleton: a section's settings, or the one set of defaults singletond runs without one. */
static void
singleton_settings(void)
{
	struct akc_config c;
	struct conf_singleton s;

	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[singleton.w]\nrole = r\n"
	    "stop-timeout = 2s\nbuffer-size = 5\n", &c), 0);
	config_singleton(&c, "w", &s);
	CHECK_STR(s.name, "w");
	CHECK_STR(s.role, "r");
	CHECK_INT(s.stop_timeout, 2000);
	CHECK_INT(s.buffer_size, 5);
	CHECK_INT(s.request_timeout, 60000);	/* a default within a section */
	config_singleton(&c, "other", &s);
	CHECK_STR(s.name, "other");
	CHECK_STR(s.role, "");
	CHECK_INT(s.buffer_size, 1000);
	CHECK_INT(s.stop_timeout, 10000);
	CHECK_INT(s.request_timeout, 60000);
	CHECK_INT(s.hand_over_retry, 1000);
	CHECK_INT(s.link_port, -1);		/* the proxy link: a port the kernel picks */

	/* link-port: auto, 0 (off) or a port; anything else is one clear error */
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[singleton.w]\nlink-port = 7600\n"
	    "[singleton.x]\nlink-port = 0\n[singleton.y]\nlink-port = auto\n", &c), 0);
	config_singleton(&c, "w", &s);
	CHECK_INT(s.link_port, 7600);
	config_singleton(&c, "x", &s);
	CHECK_INT(s.link_port, 0);
	config_singleton(&c, "y", &s);
	CHECK_INT(s.link_port, -1);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[singleton.w]\nlink-port = 70000\n",
	    &c), 1);
	CHECK(errors_contain("link-port"));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[singleton.w]\nlink-port = any\n",
	    &c), 1);
	CHECK(errors_contain("bad value 'any' for 'link-port': expected auto, 0 (off) or a port"));
}

/* [worker]: exec (a shell per job, default cat) or pipe (a command per slot), not both. */
static void
worker_section(void)
{
	struct akc_config c;

	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n", &c), 0);
	CHECK_STR(c.worker_exec, "cat");
	CHECK_STR(c.worker_pipe, "");
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[worker]\n"
	    "pipe = jq -c --unbuffered '{id, result: .payload}'\nconcurrency = 8\n", &c), 0);
	CHECK_STR(c.worker_pipe, "jq -c --unbuffered '{id, result: .payload}'");
	CHECK_INT(c.worker_concurrency, 8);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[worker]\npipe = a\nexec = b\n", &c), 1);
	CHECK(errors_contain(":6: [worker] exec and pipe exclude each other"));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[worker]\nexec = b\npipe = a\n", &c), 1);
	CHECK(errors_contain("exclude each other"));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[worker]\npipe =\n", &c), 1);
	CHECK(errors_contain("'pipe' needs a command"));
	/* the same key twice is no conflict */
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[worker]\nexec = a\nexec = b\n", &c), 0);
	CHECK_STR(c.worker_exec, "b");
}

static void
replica_nodes(void)
{
	struct akc_config c;
	char want[256];

	/* by default the seed nodes, whichever section comes first */
	CHECK_INT(load("[master]\nreplicas = 1\n[node]\nname = a\naddress = tcp://h:1\n"
	    "[cluster]\nseed-nodes = tcp://h:1, tcp://h:2, tcp://h:3\n", &c), 0);
	CHECK_INT(c.nreplica_nodes, 3);
	CHECK_STR(c.replica_nodes[2], "tcp://h:3");
	/* the journal link's port: unset is -1 (the node's + 1000), 0 is off, no more than 65535 */
	CHECK_INT(c.link_port, -1);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[master]\nport = 0\n", &c), 0);
	CHECK_INT(c.link_port, 0);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[master]\nport = 8401\n", &c), 0);
	CHECK_INT(c.link_port, 8401);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[master]\nport = 70000\n", &c), 1);
	CHECK(errors_contain("bad value '70000' for 'port'"));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n", &c), 0);
	CHECK_INT(c.nreplica_nodes, 0);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[cluster]\nseed-nodes = tcp://h:1\n"
	    "[master]\nreplica-nodes = tcp://h:4 , tcp://h:5\n", &c), 0);
	CHECK_INT(c.nreplica_nodes, 2);
	CHECK_STR(c.replica_nodes[0], "tcp://h:4");
	CHECK_INT(c.nseeds, 1);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n"
	    "[master]\nreplica-nodes = tcp://h:4, h:5\n", &c), 1);
	snprintf(want, sizeof(want), "%s:5: bad address 'h:5' in 'replica-nodes'", path);
	CHECK(errors_contain(want));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n"
	    "[master]\nreplica-nodes = tcp://h:4, tcp://h:5, tcp://h:4\n", &c), 1);
	snprintf(want, sizeof(want), "%s:5: 'replica-nodes' lists 'tcp://h:4' twice", path);
	CHECK(errors_contain(want));
}

static void
durations(void)
{
	CHECK_INT(config_parse_duration("250ms"), 250);
	CHECK_INT(config_parse_duration("2s"), 2000);
	CHECK_INT(config_parse_duration("1m"), 60000);
	CHECK_INT(config_parse_duration("1h"), 3600000);
	CHECK_INT(config_parse_duration("1.5s"), 1500);
	CHECK_INT(config_parse_duration("5"), -1);
	CHECK_INT(config_parse_duration("s"), -1);
	CHECK_INT(config_parse_duration("-1s"), -1);
	CHECK_INT(config_parse_duration("2 weeks"), -1);
}

/* stable-after = auto (the default): from N and the detector's and gossip's intervals. */
static void
stable_after_auto(void)
{
	struct akc_config c;
	char want[256];

	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n", &c), 0);
	CHECK_INT(c.stable_after, STABLE_AFTER_AUTO);
	CHECK_INT(config_gossip_hops(1), 0);
	CHECK_INT(config_gossip_hops(3), 1);
	CHECK_INT(config_gossip_hops(4), 2);
	CHECK_INT(config_gossip_hops(9), 2);
	CHECK_INT(config_gossip_hops(10), 3);
	CHECK_INT(config_gossip_hops(1000), 7);
	CHECK_INT(config_gossip_hops(10000), 9);
	/* heartbeat-interval 1s + gossip-interval 1s per hop of fan-out 3 */
	CHECK_INT(config_stable_after(&c, 1), 1000);
	CHECK_INT(config_stable_after(&c, 3), 2000);
	CHECK_INT(config_stable_after(&c, 5), 3000);
	CHECK_INT(config_stable_after(&c, 50), 5000);
	CHECK_INT(config_stable_after(&c, 200), 6000);
	CHECK_INT(config_stable_after(&c, 1000), 8000);
	CHECK_INT(config_stable_after(&c, 2400), 9000);
	CHECK_INT(config_stable_after(&c, 0), 1000);	/* no view yet */
	/* it follows the intervals, and never goes below 1 s */
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[cluster]\ngossip-interval = 200ms\n"
	    "[failure-detector]\nheartbeat-interval = 2s\n[downing]\nstable-after = auto\n", &c), 0);
	CHECK_INT(config_stable_after(&c, 5), 2400);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[cluster]\ngossip-interval = 100ms\n"
	    "[failure-detector]\nheartbeat-interval = 100ms\n", &c), 0);
	CHECK_INT(config_stable_after(&c, 3), 1000);
	CHECK_INT(config_stable_after(&c, 10000), 1000);
	/* an explicit duration is kept whatever N */
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[downing]\nstable-after = 20s\n", &c), 0);
	CHECK_INT(config_stable_after(&c, 3), 20000);
	CHECK_INT(config_stable_after(&c, 5000), 20000);
	/* bad values name file, line and key */
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[downing]\nstable-after = autox\n", &c), 1);
	snprintf(want, sizeof(want), "%s:5: bad value 'autox' for 'stable-after': expected auto or a "
	    "positive duration", path);
	CHECK(errors_contain(want));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[downing]\nstable-after = 0s\n", &c), 1);
	CHECK(errors_contain("bad value '0s' for 'stable-after'"));
}

static void
errors(void)
{
	struct akc_config c;
	char want[256];

	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\ncolour = blue\n", &c), 1);
	snprintf(want, sizeof(want), "%s:4: unknown key 'colour' in [node]", path);
	CHECK(errors_contain(want));
	/* every error in one pass */
	CHECK_INT(load("[node]\nname = a b\naddress = udp://h:1\n[cluster]\n"
	    "gossip-interval = 5\n[downing]\nstrategy = maybe\n[bogus]\nx = 1\n", &c), 5);
	snprintf(want, sizeof(want), "%s:2: bad value 'a b' for 'name'", path);
	CHECK(errors_contain(want));
	snprintf(want, sizeof(want), "%s:3: bad value 'udp://h:1' for 'address'", path);
	CHECK(errors_contain(want));
	snprintf(want, sizeof(want), "%s:5: bad value '5' for 'gossip-interval'", path);
	CHECK(errors_contain(want));
	snprintf(want, sizeof(want), "%s:7: bad value 'maybe' for 'strategy'", path);
	CHECK(errors_contain(want));
	snprintf(want, sizeof(want), "%s:9: unknown section [bogus] (key 'x')", path);
	CHECK(errors_contain(want));
	CHECK_INT(load("[node]\nroles = x\n", &c), 2);
	CHECK(errors_contain("missing required key 'name' in [node]"));
	CHECK(errors_contain("missing required key 'address' in [node]"));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\nrun-dir = /tmp/"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", &c), 1);
	CHECK(errors_contain("value for 'run-dir' is too long"));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[downing]\nstrategy = static-quorum\n", &c), 1);
	CHECK(errors_contain("missing required key 'quorum-size'"));
	/* forming: a quorum of the seeds, at most their number */
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[cluster]\n"
	    "seed-nodes = tcp://h:1, tcp://h:2, tcp://h:3, tcp://h:4\n", &c), 0);
	CHECK_INT(config_form_quorum(&c), 3);
	CHECK_INT(config_seed_index(&c, "tcp://h:2"), 1);
	CHECK_INT(config_seed_index(&c, "tcp://h:9"), -1);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[cluster]\n"
	    "seed-nodes = tcp://h:1, tcp://h:2\nrequired-contact-points = 1\n", &c), 0);
	CHECK_INT(config_form_quorum(&c), 1);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[cluster]\n"
	    "seed-nodes = tcp://h:1, tcp://h:2\nrequired-contact-points = 3\n", &c), 1);
	CHECK(errors_contain("bad value 3 for 'required-contact-points' in [cluster]: only 2 seed "
	    "nodes are configured"));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n[cluster]\n"
	    "required-contact-points = most\n", &c), 1);
	snprintf(want, sizeof(want), "%s:5: bad value 'most' for 'required-contact-points'", path);
	CHECK(errors_contain(want));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\nno equals here\n", &c), 1);
	snprintf(want, sizeof(want), "%s:4: syntax error", path);
	CHECK(errors_contain(want));
}

/* [node] log-level: the five syslog levels by name; the default is info; -v/-q override it. */
static void
log_level(void)
{
	static const char *names[] = { "err", "warning", "notice", "info", "debug" };
	static const int pri[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };
	struct akc_config c;
	char text[128], want[256];
	int i;

	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\n", &c), 0);
	CHECK_INT(c.log_level, LOG_INFO);
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "[node]\nname = a\naddress = tcp://h:1\n"
		    "log-level = %s   # comment\n", names[i]);
		CHECK_INT(load(text, &c), 0);
		CHECK_INT(c.log_level, pri[i]);
		CHECK_STR(log_level_name(pri[i]), names[i]);
	}
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\nlog-level = loud\n", &c), 1);
	snprintf(want, sizeof(want), "%s:4: bad value 'loud' for 'log-level': expected err, "
	    "warning, notice, info or debug", path);
	CHECK(errors_contain(want));
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\nlog-level = WARNING\n", &c), 1);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://h:1\nlog-level =\n", &c), 1);
	/* the flags: one level per -v or -q from info, whatever the file says */
	c.log_level = LOG_WARNING;
	daemon_log_level(&c, 0, 0);
	CHECK_INT(log_getlevel(), LOG_WARNING);
	daemon_log_level(&c, 1, 0);
	CHECK_INT(log_getlevel(), LOG_DEBUG);
	daemon_log_level(&c, 3, 0);
	CHECK_INT(log_getlevel(), LOG_DEBUG);
	daemon_log_level(&c, 0, 1);
	CHECK_INT(log_getlevel(), LOG_NOTICE);
	daemon_log_level(&c, 0, 2);
	CHECK_INT(log_getlevel(), LOG_WARNING);
	daemon_log_level(&c, 0, 9);
	CHECK_INT(log_getlevel(), LOG_ERR);
	log_setlevel(LOG_INFO);
}

/* [http]: HOST:PORT with IPv6 in brackets, absolute paths, TLS files in pairs. */
static void
http_section(void)
{
	struct akc_config c;
	char host[CONF_ADDR_MAX];
	int port = 0;

	CHECK_INT(load("[node]\nname = a\naddress = tcp://127.0.0.1:7401\n", &c), 0);
	CHECK_STR(c.http_address, "127.0.0.1:8558");
	CHECK_STR(c.http_token_file, "");
	CHECK_INT(load("[node]\nname = a\naddress = tcp://127.0.0.1:7401\n[http]\n"
	    "address = [::1]:9000\ntoken-file = /etc/akc/t\ntls-cert-file = /c\n"
	    "tls-key-file = /k\nwww-dir = /srv/www\n", &c), 0);
	CHECK_STR(c.http_address, "[::1]:9000");
	CHECK_STR(c.http_tls_key, "/k");
	CHECK_STR(c.http_www_dir, "/srv/www");
	CHECK_INT(config_split_hostport("[::1]:9000", host, sizeof(host), &port), 0);
	CHECK_STR(host, "::1");
	CHECK_INT(port, 9000);
	CHECK_INT(config_split_hostport("0.0.0.0:80", host, sizeof(host), &port), 0);
	CHECK_STR(host, "0.0.0.0");
	CHECK_INT(config_split_hostport("::1:9000", host, sizeof(host), &port), -1);
	CHECK_INT(config_split_hostport("host:0", host, sizeof(host), &port), -1);
	CHECK_INT(config_split_hostport("host:", host, sizeof(host), &port), -1);
	CHECK_INT(config_split_hostport(":80", host, sizeof(host), &port), -1);
	CHECK_INT(config_split_hostport("[::1:80", host, sizeof(host), &port), -1);
	CHECK_INT(load("[node]\nname = a\naddress = tcp://127.0.0.1:7401\n[http]\n"
	    "address = nowhere\ntls-key-file = /k\nport = 1\n", &c), 3);
	CHECK(errors_contain(":5: bad value 'nowhere' for 'address'"));
	CHECK(errors_contain(":7: unknown key 'port' in [http]"));
	CHECK(errors_contain("needs both 'tls-cert-file' and 'tls-key-file'"));
}

/* env_flag: the environment's switches (AKC_MASTER_DIRECT=0, AKC_WORKER_FORK=1, ...) */
static void
env_flags(void)
{
	unsetenv("AKC_TEST_FLAG");
	CHECK_INT(env_flag("AKC_TEST_FLAG", 1), 1);
	CHECK_INT(env_flag("AKC_TEST_FLAG", 0), 0);
	setenv("AKC_TEST_FLAG", "", 1);
	CHECK_INT(env_flag("AKC_TEST_FLAG", 1), 1);
	CHECK_INT(env_flag("AKC_TEST_FLAG", 0), 0);
	setenv("AKC_TEST_FLAG", "0", 1);
	CHECK_INT(env_flag("AKC_TEST_FLAG", 1), 0);
	setenv("AKC_TEST_FLAG", "1", 1);
	CHECK_INT(env_flag("AKC_TEST_FLAG", 0), 1);
	setenv("AKC_TEST_FLAG", "yes", 1);
	CHECK_INT(env_flag("AKC_TEST_FLAG", 0), 1);
	unsetenv("AKC_TEST_FLAG");
}

int
main(void)
{
	int fd;

	log_init("test-config");
	snprintf(path, sizeof(path), "/tmp/akc-test-config.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return 99;
	close(fd);
	snprintf(errpath, sizeof(errpath), "%s.err", path);
	RUN(full_file);
	RUN(env_flags);
	RUN(worker_section);
	RUN(singleton_settings);
	RUN(replica_nodes);
	RUN(durations);
	RUN(stable_after_auto);
	RUN(errors);
	RUN(log_level);
	RUN(http_section);
	unlink(path);
	unlink(errpath);
	return unit_done();
}
