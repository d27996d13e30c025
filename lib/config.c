/* config.c: parse akc.conf with libinih, naming file, line and key on every error. */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "log.h"

struct parse {
	struct akc_config *cfg;
	const char *path;
	FILE *fp;
	int line;		/* line the handler is looking at */
	int errors;
	char *buf;
	size_t bufsz;
	int seen_name, seen_address;
};

static void perr(struct parse *, const char *, ...) AKC_PRINTF(2, 3);

static void
perr(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* err: a daemon refuses to start on any of them */
	if (p->line > 0)
		log_errx("%s:%d: %s", p->path, p->line, msg);
	else
		log_errx("%s: %s", p->path, msg);
	p->errors++;
}

const char *
config_default_path(void)
{
	const char *env = getenv("AKC_CONF");

	return (env != NULL && *env != '\0') ? env : CONF_DEFAULT_PATH;
}

int
env_flag(const char *name, int dflt)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		return dflt;
	return strcmp(v, "0") != 0;
}

msec_t
config_parse_duration(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || v < 0 || !isfinite(v))
		return -1;
	while (*end == ' ')
		end++;
	if (strcmp(end, "ms") == 0)
		;
	else if (strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "m") == 0)
		v *= 60 * 1000;
	else if (strcmp(end, "h") == 0)
		v *= 3600 * 1000;
	else
		return -1;
	if (v > 1e12)
		return -1;
	return (msec_t)(v + 0.5);	/* v >= 0: llround without libm */
}

const char *
config_strategy_name(enum downing_strategy s)
{
	switch (s) {
	case DOWNING_NONE:		return "none";
	case DOWNING_AUTO_DOWN:		return "auto-down";
	case DOWNING_KEEP_MAJORITY:	return "keep-majority";
	case DOWNING_KEEP_OLDEST:	return "keep-oldest";
	case DOWNING_STATIC_QUORUM:	return "static-quorum";
	case DOWNING_DOWN_ALL:		return "down-all";
	}
	return "?";
}

int
config_gossip_hops(int n)
{
	long reach = 1;
	int r = 0;

	while (reach < n) {
		reach *= 3;
		r++;
	}
	return r;
}

/*
 * stable-after = auto: one heartbeat interval (the two sides of a split
 * detect it up to one heartbeat phase apart: pause and threshold shift both
 * alike) plus one gossip interval per hop of the eager push's fan-out of 3
 * (an unreachability, then the Down, reaches all n members within that),
 * at least 1 s. 3 members: 2 s; 4-9: 3 s; 10-27: 4 s; 200: 6 s; 1,000: 8 s
 * with the default 1 s intervals. ARCHITECTURE.md argues why both sides
 * of a partition decide before the other's singleton can start.
 */
msec_t
config_stable_after(const struct akc_config *c, int n)
{
	msec_t s;

	if (c->stable_after != STABLE_AFTER_AUTO)
		return c->stable_after;
	s = c->heartbeat_interval + c->gossip_interval * config_gossip_hops(n < 1 ? 1 : n);
	return s < 1000 ? 1000 : s;
}

int
config_has_role(const struct akc_config *cfg, const char *role)
{
	int i;

	if (role == NULL || *role == '\0')
		return 1;
	for (i = 0; i < cfg->nroles; i++)
		if (strcmp(cfg->roles[i], role) == 0)
			return 1;
	return 0;
}

void
config_ipc_path(const struct akc_config *cfg, const char *sock, char *buf, size_t len)
{
	snprintf(buf, len, "ipc://%s/%s", cfg->run_dir, sock);
}

static void
defaults(struct akc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->min_nr_of_members = 1;
	c->log_level = LOG_INFO;
	strcpy(c->cluster_name, "akc");
	c->gossip_interval = 1000;
	c->seed_node_timeout = 5000;
	c->join_retry_max = 5000;
	c->allow_weakly_up = 7000;
	c->peer_sockets = 128;
	c->welcome_budget = 4000;
	c->heartbeat_interval = 1000;
	c->acceptable_heartbeat_pause = 3000;
	c->threshold = 8.0;
	c->monitored_by = 5;
	c->min_std_deviation = 100;
	c->max_sample_size = 1000;
	c->expected_response_after = -1;	/* = heartbeat-interval */
	c->strategy = DOWNING_NONE;
	c->stable_after = STABLE_AFTER_AUTO;
	c->quorum_size = 0;
	c->down_removal_margin = 0;
	c->down_if_alone = 1;
	c->work_timeout = 10000;
	c->max_attempts = 3;
	c->replicas = 1;
	c->nreplica_nodes = -1;
	c->link_port = -1;
	c->max_payload = 1024 * 1024;
	c->max_pending = 100000;
	c->snapshot_every = 10000;
	c->keep_finished = 24 * 3600 * 1000;
	snprintf(c->worker_exec, sizeof(c->worker_exec), "cat");
	c->worker_concurrency = 1;
	snprintf(c->http_address, sizeof(c->http_address), "127.0.0.1:8558");
}

/* Copies a string value into dst, refusing values that do not fit. */
static void
set_str(struct parse *p, const char *key, char *dst, size_t len, const char *v)
{
	if (strlen(v) >= len) {
		perr(p, "value for '%s' is too long (at most %zu bytes)", key, len - 1);
		return;
	}
	memcpy(dst, v, strlen(v) + 1);
}

static void
set_dur(struct parse *p, const char *key, msec_t *dst, const char *v, int allow_zero)
{
	msec_t d = config_parse_duration(v);

	if (d < 0 || (d == 0 && !allow_zero)) {
		perr(p, "bad value '%s' for '%s': expected a %sduration with a unit "
		    "(250ms, 2s, 1m, 1h)", v, key, allow_zero ? "" : "positive ");
		return;
	}
	*dst = d;
}

static void
set_long(struct parse *p, const char *key, long *dst, const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < min || n > max) {
		perr(p, "bad value '%s' for '%s': expected an integer from %ld to %ld",
		    v, key, min, max);
		return;
	}
	*dst = n;
}

static void
set_int(struct parse *p, const char *key, int *dst, const char *v, int min, int max)
{
	long n = *dst;

	set_long(p, key, &n, v, min, max);
	*dst = (int)n;
}

static int
valid_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return 0;
	return 1;
}

int
config_address_valid(const char *a)
{
	const char *colon;
	char *end;
	long port;

	if (strncmp(a, "tcp://", 6) != 0 || strlen(a) >= CONF_ADDR_MAX)
		return 0;
	colon = strrchr(a + 6, ':');
	if (colon == NULL || colon == a + 6)
		return 0;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && port > 0 && port < 65536;
}

/* Splits a comma-separated list, trimming blanks; returns count or -1. */
static int
split_list(const char *v, char out[][CONF_ADDR_MAX], int max, size_t itemlen)
{
	char tmp[2048], *tok, *save, *e;
	int n = 0;

	if (strlen(v) >= sizeof(tmp))
		return -1;
	strcpy(tmp, v);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		e = tok + strlen(tok);
		while (e > tok && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*tok == '\0')
			continue;
		if (n >= max || strlen(tok) >= itemlen)
			return -1;
		memcpy(out[n], tok, strlen(tok) + 1);
		n++;
	}
	return n;
}

/* A list of at most CONF_MAX_SEEDS tcp://HOST:PORT addresses into out; its length (0 on error). */
static int
address_list(struct parse *p, const char *key, const char *v, char out[][CONF_ADDR_MAX])
{
	int i, n = split_list(v, out, CONF_MAX_SEEDS, CONF_ADDR_MAX);

	if (n < 0) {
		perr(p, "bad value for '%s': at most %d addresses", key, CONF_MAX_SEEDS);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (!config_address_valid(out[i])) {
			perr(p, "bad address '%s' in '%s': expected tcp://HOST:PORT", out[i], key);
			return 0;
		}
	return n;
}

static void
node_key(struct parse *p, const char *key, const char *v)
{
	struct akc_config *c = p->cfg;
	char tmp[CONF_MAX_ROLES][CONF_ADDR_MAX];
	int i, n;

	if (strcmp(key, "name") == 0) {
		if (!valid_name(v) || strlen(v) >= CONF_NAME_MAX)
			perr(p, "bad value '%s' for 'name': use letters, digits, '-', '_', '.'", v);
		else
			strcpy(c->name, v);
		p->seen_name = 1;
	} else if (strcmp(key, "address") == 0) {
		if (!config_address_valid(v))
			perr(p, "bad value '%s' for 'address': expected tcp://HOST:PORT", v);
		else
			strcpy(c->address, v);
		p->seen_address = 1;
	} else if (strcmp(key, "roles") == 0) {
		n = split_list(v, tmp, CONF_MAX_ROLES, CONF_ROLE_MAX);
		if (n < 0) {
			perr(p, "bad value for 'roles': at most %d roles of %d bytes",
			    CONF_MAX_ROLES, CONF_ROLE_MAX - 1);
			return;
		}
		for (i = 0; i < n; i++) {
			if (!valid_name(tmp[i])) {
				perr(p, "bad role '%s' in 'roles'", tmp[i]);
				return;
			}
			strcpy(c->roles[i], tmp[i]);
		}
		c->nroles = n;
	} else if (strcmp(key, "run-dir") == 0) {
		if (*v != '/')
			perr(p, "bad value '%s' for 'run-dir': must be an absolute path", v);
		else if (strlen(v) > CONF_RUNDIR_MAX)
			perr(p, "value for 'run-dir' is too long (%zu bytes, at most %d: "
			    "nanomsg ipc paths must stay short)", strlen(v), CONF_RUNDIR_MAX);
		else
			strcpy(c->run_dir, v);
	} else if (strcmp(key, "state-dir") == 0) {
		if (*v != '/')
			perr(p, "bad value '%s' for 'state-dir': must be an absolute path", v);
		else
			set_str(p, key, c->state_dir, sizeof(c->state_dir), v);
	} else if (strcmp(key, "socket-group") == 0) {
		struct group *gr = *v != '\0' ? getgrnam(v) : NULL;

		if (*v != '\0' && gr == NULL)
			perr(p, "bad value '%s' for 'socket-group': no such group", v);
		else
			set_str(p, key, c->socket_group, sizeof(c->socket_group), v);
		c->socket_gid = gr != NULL ? gr->gr_gid : 0;
	} else if (strcmp(key, "log-level") == 0) {
		if ((i = log_level_parse(v)) < 0)
			perr(p, "bad value '%s' for 'log-level': expected err, warning, notice, "
			    "info or debug", v);
		else
			c->log_level = i;
	} else
		perr(p, "unknown key '%s' in [node]", key);
}

static void
cluster_key(struct parse *p, const char *key, const char *v)
{
	struct akc_config *c = p->cfg;

	if (strcmp(key, "seed-nodes") == 0)
		c->nseeds = address_list(p, key, v, c->seeds);
	else if (strcmp(key, "name") == 0) {
		if (!valid_name(v) || strlen(v) >= sizeof(c->cluster_name))
			perr(p, "bad value '%s' for 'name': letters, digits, '-', '_' and '.', "
			    "at most %zu", v, sizeof(c->cluster_name) - 1);
		else
			strcpy(c->cluster_name, v);
	} else if (strcmp(key, "min-nr-of-members") == 0)
		set_int(p, key, &c->min_nr_of_members, v, 1, 100000);
	else if (strcmp(key, "gossip-interval") == 0)
		set_dur(p, key, &c->gossip_interval, v, 0);
	else if (strcmp(key, "seed-node-timeout") == 0)
		set_dur(p, key, &c->seed_node_timeout, v, 0);
	else if (strcmp(key, "join-retry-max") == 0)
		set_dur(p, key, &c->join_retry_max, v, 0);
	else if (strcmp(key, "required-contact-points") == 0) {
		if (strcmp(v, "majority") == 0)
			c->required_contact_points = 0;
		else
			set_int(p, key, &c->required_contact_points, v, 1, CONF_MAX_SEEDS);
	}
	else if (strcmp(key, "allow-weakly-up-members") == 0) {
		if (strcmp(v, "off") == 0)
			c->allow_weakly_up = 0;
		else if (strcmp(v, "on") == 0)
			c->allow_weakly_up = 7000;
		else
			set_dur(p, key, &c->allow_weakly_up, v, 0);
	} else if (strcmp(key, "peer-sockets") == 0)
		set_int(p, key, &c->peer_sockets, v, 8, 480);
	else if (strcmp(key, "welcome-budget") == 0)
		set_int(p, key, &c->welcome_budget, v, 0, 10000000);
	else
		perr(p, "unknown key '%s' in [cluster]", key);
}

static void
fd_key(struct parse *p, const char *key, const char *v)
{
	struct akc_config *c = p->cfg;
	char *end;
	double d;

	if (strcmp(key, "heartbeat-interval") == 0)
		set_dur(p, key, &c->heartbeat_interval, v, 0);
	else if (strcmp(key, "acceptable-heartbeat-pause") == 0)
		set_dur(p, key, &c->acceptable_heartbeat_pause, v, 1);
	else if (strcmp(key, "threshold") == 0) {
		errno = 0;
		d = strtod(v, &end);
		if (end == v || *end != '\0' || errno != 0 || !(d > 0) || d > 1000)
			perr(p, "bad value '%s' for 'threshold': expected a number above 0", v);
		else
			c->threshold = d;
	} else if (strcmp(key, "monitored-by-nr-of-members") == 0)
		set_int(p, key, &c->monitored_by, v, 1, 100);
	else if (strcmp(key, "min-std-deviation") == 0)
		set_dur(p, key, &c->min_std_deviation, v, 0);
	else if (strcmp(key, "max-sample-size") == 0)
		set_int(p, key, &c->max_sample_size, v, 2, 100000);
	else if (strcmp(key, "expected-response-after") == 0)
		set_dur(p, key, &c->expected_response_after, v, 0);
	else
		perr(p, "unknown key '%s' in [failure-detector]", key);
}

static void
downing_key(struct parse *p, const char *key, const char *v)
{
	struct akc_config *c = p->cfg;
	enum downing_strategy s;

	if (strcmp(key, "strategy") == 0) {
		for (s = DOWNING_NONE; s <= DOWNING_DOWN_ALL; s++)
			if (strcmp(v, config_strategy_name(s)) == 0)
				break;
		if (s > DOWNING_DOWN_ALL)
			perr(p, "bad value '%s' for 'strategy': expected none, auto-down, "
			    "keep-majority, keep-oldest, static-quorum or down-all", v);
		else
			c->strategy = s;
	} else if (strcmp(key, "stable-after") == 0) {
		if (strcmp(v, "auto") == 0)
			c->stable_after = STABLE_AFTER_AUTO;
		else if (config_parse_duration(v) <= 0)
			perr(p, "bad value '%s' for 'stable-after': expected auto or a positive "
			    "duration with a unit (250ms, 2s, 1m, 1h)", v);
		else
			c->stable_after = config_parse_duration(v);
	}
	else if (strcmp(key, "quorum-size") == 0)
		set_int(p, key, &c->quorum_size, v, 1, 100000);
	else if (strcmp(key, "down-removal-margin") == 0)
		set_dur(p, key, &c->down_removal_margin, v, 1);
	else if (strcmp(key, "role") == 0) {
		if (*v != '\0' && !valid_name(v))
			perr(p, "bad value '%s' for 'role'", v);
		else
			set_str(p, key, c->downing_role, sizeof(c->downing_role), v);
	} else if (strcmp(key, "down-if-alone") == 0) {
		if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
			c->down_if_alone = 1;
		else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
			c->down_if_alone = 0;
		else
			perr(p, "bad value '%s' for 'down-if-alone': expected on or off", v);
	} else
		perr(p, "unknown key '%s' in [downing]", key);
}

/* The defaults of a [singleton.NAME] section, written once (singletond uses them without one). */
static void
singleton_defaults(struct conf_singleton *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->buffer_size = 1000;
	s->stop_timeout = 10000;
	s->request_timeout = 60000;
	s->hand_over_retry = 1000;
	s->link_port = -1;
}

void
config_singleton(const struct akc_config *c, const char *name, struct conf_singleton *out)
{
	int i;

	for (i = 0; i < c->nsingletons; i++)
		if (strcmp(c->singletons[i].name, name) == 0) {
			*out = c->singletons[i];
			return;
		}
	singleton_defaults(out, name);
}

static struct conf_singleton *
singleton_section(struct parse *p, const char *name)
{
	struct akc_config *c = p->cfg;
	int i;

	for (i = 0; i < c->nsingletons; i++)
		if (strcmp(c->singletons[i].name, name) == 0)
			return &c->singletons[i];
	if (c->nsingletons == CONF_MAX_SINGLETONS) {
		perr(p, "too many [singleton.*] sections (at most %d)", CONF_MAX_SINGLETONS);
		return NULL;
	}
	if (!valid_name(name) || strlen(name) >= CONF_NAME_MAX) {
		perr(p, "bad singleton name '%s' in section [singleton.%s]", name, name);
		return NULL;
	}
	c->nsingletons++;
	singleton_defaults(&c->singletons[i], name);
	return &c->singletons[i];
}

static void
singleton_key(struct parse *p, const char *name, const char *key, const char *v)
{
	struct conf_singleton *s = singleton_section(p, name);

	if (s == NULL)
		return;
	if (strcmp(key, "role") == 0) {
		if (*v != '\0' && !valid_name(v))
			perr(p, "bad value '%s' for 'role'", v);
		else
			set_str(p, key, s->role, sizeof(s->role), v);
	} else if (strcmp(key, "command") == 0)
		set_str(p, key, s->command, sizeof(s->command), v);
	else if (strcmp(key, "standby-command") == 0)
		set_str(p, key, s->standby_command, sizeof(s->standby_command), v);
	else if (strcmp(key, "buffer-size") == 0)
		set_int(p, key, &s->buffer_size, v, 0, 100000);
	else if (strcmp(key, "stop-timeout") == 0)
		set_dur(p, key, &s->stop_timeout, v, 0);
	else if (strcmp(key, "request-timeout") == 0)
		set_dur(p, key, &s->request_timeout, v, 0);
	else if (strcmp(key, "hand-over-retry-interval") == 0)
		set_dur(p, key, &s->hand_over_retry, v, 0);
	else if (strcmp(key, "link-port") == 0) {
		char *end;
		long n = strtol(v, &end, 10);

		if (strcmp(v, "auto") == 0)
			s->link_port = -1;
		else if (*v == '\0' || *end != '\0' || n < 0 || n > 65535)
			perr(p, "bad value '%s' for 'link-port': expected auto, 0 (off) or a port "
			    "from 1 to 65535", v);
		else
			s->link_port = (int)n;
	} else
		perr(p, "unknown key '%s' in [singleton.%s]", key, name);
}

static void
master_key(struct parse *p, const char *key, const char *v)
{
	struct akc_config *c = p->cfg;

	if (strcmp(key, "work-timeout") == 0)
		set_dur(p, key, &c->work_timeout, v, 0);
	else if (strcmp(key, "max-attempts") == 0)
		set_int(p, key, &c->max_attempts, v, 1, 1000);
	else if (strcmp(key, "replicas") == 0)
		set_int(p, key, &c->replicas, v, 0, 16);
	else if (strcmp(key, "replica-nodes") == 0) {
		int i, k, n = address_list(p, key, v, c->replica_nodes);

		/* a node listed twice would count twice towards a majority */
		for (i = 0; i < n; i++)
			for (k = 0; k < i; k++)
				if (strcmp(c->replica_nodes[i], c->replica_nodes[k]) == 0) {
					perr(p, "'replica-nodes' lists '%s' twice", c->replica_nodes[i]);
					n = 0;
				}
		c->nreplica_nodes = n;
	}
	else if (strcmp(key, "port") == 0)
		set_int(p, key, &c->link_port, v, 0, 65535);
	else if (strcmp(key, "max-payload") == 0)
		set_long(p, key, &c->max_payload, v, 1, 64L * 1024 * 1024);
	else if (strcmp(key, "max-pending") == 0)
		set_long(p, key, &c->max_pending, v, 1, 100000000L);
	else if (strcmp(key, "snapshot-every") == 0)
		set_long(p, key, &c->snapshot_every, v, 100, 100000000L);
	else if (strcmp(key, "keep-finished") == 0) {
		if (strcmp(v, "off") == 0)
			c->keep_finished = 0;
		else
			set_dur(p, key, &c->keep_finished, v, 0);
	} else
		perr(p, "unknown key '%s' in [master]", key);
}

static void
worker_key(struct parse *p, const char *key, const char *v)
{
	struct akc_config *c = p->cfg;

	if (strcmp(key, "exec") == 0 || strcmp(key, "pipe") == 0) {
		/* one way to run jobs: a shell per job, or a command per slot */
		if (c->worker_how[0] != '\0' && strcmp(c->worker_how, key) != 0) {
			perr(p, "[worker] exec and pipe exclude each other");
			return;
		}
		snprintf(c->worker_how, sizeof(c->worker_how), "%s", key);
		if (*v == '\0')
			perr(p, "'%s' needs a command", key);
		else if (key[0] == 'e')
			set_str(p, key, c->worker_exec, sizeof(c->worker_exec), v);
		else
			set_str(p, key, c->worker_pipe, sizeof(c->worker_pipe), v);
	} else if (strcmp(key, "concurrency") == 0)
		set_int(p, key, &c->worker_concurrency, v, 1, 1024);
	else
		perr(p, "unknown key '%s' in [worker]", key);
}

int
config_split_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	char *end;
	long p;

	if (colon == NULL || colon == s)
		return -1;
	hl = (size_t)(colon - s);
	if (*s == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			return -1;
		h = s + 1;
		hl -= 2;
	} else if (memchr(s, ']', hl) != NULL || memchr(s, ':', hl) != NULL)
		return -1;	/* an IPv6 address needs its brackets */
	if (hl >= hostlen || memchr(h, ' ', hl) != NULL)
		return -1;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

static void
http_path(struct parse *p, const char *key, char dst[CONF_PATH_MAX], const char *v)
{
	if (*v != '\0' && *v != '/')
		perr(p, "bad value '%s' for '%s': must be an absolute path", v, key);
	else
		set_str(p, key, dst, CONF_PATH_MAX, v);
}

static void
http_key(struct parse *p, const char *key, const char *v)
{
	struct akc_config *c = p->cfg;
	char host[CONF_ADDR_MAX];
	int port;

	if (strcmp(key, "address") == 0) {
		if (config_split_hostport(v, host, sizeof(host), &port) < 0)
			perr(p, "bad value '%s' for 'address': expected HOST:PORT "
			    "(127.0.0.1:8558, [::1]:8558)", v);
		else
			set_str(p, key, c->http_address, sizeof(c->http_address), v);
	} else if (strcmp(key, "token-file") == 0)
		http_path(p, key, c->http_token_file, v);
	else if (strcmp(key, "tls-cert-file") == 0)
		http_path(p, key, c->http_tls_cert, v);
	else if (strcmp(key, "tls-key-file") == 0)
		http_path(p, key, c->http_tls_key, v);
	else if (strcmp(key, "www-dir") == 0)
		http_path(p, key, c->http_www_dir, v);
	else
		perr(p, "unknown key '%s' in [http]", key);
}

/* inih calls this per key; a '#' after blank space starts a comment. */
static int
handler(void *user, const char *section, const char *key, const char *raw)
{
	struct parse *p = user;
	char v[2048];
	char *hash, *e;

	if (strlen(raw) >= sizeof(v)) {
		perr(p, "value for '%s' is too long", key);
		return 1;
	}
	strcpy(v, raw);
	for (hash = v; (hash = strchr(hash, '#')) != NULL; hash++)
		if (hash == v || isspace((unsigned char)hash[-1])) {
			*hash = '\0';
			break;
		}
	e = v + strlen(v);
	while (e > v && isspace((unsigned char)e[-1]))
		*--e = '\0';

	if (strcmp(section, "node") == 0)
		node_key(p, key, v);
	else if (strcmp(section, "cluster") == 0)
		cluster_key(p, key, v);
	else if (strcmp(section, "failure-detector") == 0)
		fd_key(p, key, v);
	else if (strcmp(section, "downing") == 0)
		downing_key(p, key, v);
	else if (strcmp(section, "security") == 0) {
		if (strcmp(key, "key-file") == 0)
			set_str(p, key, p->cfg->key_file, sizeof(p->cfg->key_file), v);
		else
			perr(p, "unknown key '%s' in [security]", key);
	} else if (strncmp(section, "singleton.", 10) == 0)
		singleton_key(p, section + 10, key, v);
	else if (strcmp(section, "master") == 0)
		master_key(p, key, v);
	else if (strcmp(section, "worker") == 0)
		worker_key(p, key, v);
	else if (strcmp(section, "http") == 0)
		http_key(p, key, v);
	else if (*section == '\0')
		perr(p, "key '%s' outside any section", key);
	else
		perr(p, "unknown section [%s] (key '%s')", section, key);
	return 1;
}

/* Line reader for inih that counts lines, so the handler knows where it is. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	ssize_t n;

	n = getline(&p->buf, &p->bufsz, p->fp);
	if (n < 0)
		return NULL;
	p->line++;
	if (n >= num - 1) {
		perr(p, "line too long (at most %d bytes)", num - 3);
		strcpy(str, "\n");
		return str;
	}
	memcpy(str, p->buf, (size_t)n + 1);
	return str;
}

int
config_form_quorum(const struct akc_config *cfg)
{
	if (cfg->required_contact_points > 0)
		return cfg->required_contact_points;
	return cfg->nseeds / 2 + 1;
}

int
config_seed_index(const struct akc_config *cfg, const char *address)
{
	int i;

	for (i = 0; i < cfg->nseeds; i++)
		if (strcmp(cfg->seeds[i], address) == 0)
			return i;
	return -1;
}

int
config_load(const char *path, struct akc_config *cfg)
{
	FILE *fp;
	int r;

	if ((fp = fopen(path, "r")) == NULL) {
		defaults(cfg);
		snprintf(cfg->path, sizeof(cfg->path), "%s", path);
		log_err("cannot open '%s'", path);
		return 1;
	}
	r = config_read(fp, path, cfg);
	fclose(fp);
	return r;
}

int
config_read(FILE *fp, const char *path, struct akc_config *cfg)
{
	struct parse p;
	int r;

	defaults(cfg);
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.path = path;
	p.fp = fp;
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	r = ini_parse_stream(reader, &p, handler, &p);
	if (r > 0) {
		/* the first line inih could not parse (no '=', or a bad section) */
		p.line = r;
		perr(&p, "syntax error: expected '[section]' or 'key = value'");
	} else if (r < 0)
		perr(&p, "cannot parse the file");
	free(p.buf);
	p.line = 0;

	if (cfg->name[0] == '\0' && !p.seen_name)
		perr(&p, "missing required key 'name' in [node]");
	if (cfg->address[0] == '\0' && !p.seen_address)
		perr(&p, "missing required key 'address' in [node]");
	if (cfg->run_dir[0] == '\0' && cfg->name[0] != '\0')
		snprintf(cfg->run_dir, sizeof(cfg->run_dir), "/run/akc/%s", cfg->name);
	if (cfg->state_dir[0] == '\0' && cfg->name[0] != '\0')
		snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/akc/%s", cfg->name);
	if (cfg->nreplica_nodes < 0) {
		/* the replica set defaults to the seed nodes */
		memcpy(cfg->replica_nodes, cfg->seeds, sizeof(cfg->seeds));
		cfg->nreplica_nodes = cfg->nseeds;
	}
	if (cfg->expected_response_after < 0)
		cfg->expected_response_after = cfg->heartbeat_interval;
	if (cfg->strategy == DOWNING_STATIC_QUORUM && cfg->quorum_size == 0)
		perr(&p, "missing required key 'quorum-size' in [downing] for strategy static-quorum");
	if ((cfg->http_tls_cert[0] != '\0') != (cfg->http_tls_key[0] != '\0'))
		perr(&p, "[http] needs both 'tls-cert-file' and 'tls-key-file' for HTTPS, or neither");
	if (cfg->required_contact_points > cfg->nseeds && cfg->nseeds > 0)
		perr(&p, "bad value %d for 'required-contact-points' in [cluster]: only %d seed "
		    "node%s configured", cfg->required_contact_points, cfg->nseeds,
		    cfg->nseeds == 1 ? " is" : "s are");
	return p.errors;
}
