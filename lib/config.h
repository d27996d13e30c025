/* config.h: akc.conf(5), the INI file shared by every daemon and tool of a node. */
#ifndef AKC_CONFIG_H
#define AKC_CONFIG_H

#include <stdio.h>
#include <sys/types.h>

#include "clock.h"

#define CONF_DEFAULT_PATH	"/etc/akc/akc.conf"
#define CONF_MAX_ROLES		16
#define CONF_MAX_SEEDS		32
#define CONF_MAX_SINGLETONS	16
#define CONF_NAME_MAX		64
#define CONF_ROLE_MAX		64
#define CONF_ADDR_MAX		128
#define CONF_PATH_MAX		256
/* ipc:// paths near 108 bytes abort nanomsg: keep run-dir short. */
#define CONF_RUNDIR_MAX		80

enum downing_strategy {
	DOWNING_NONE,
	DOWNING_AUTO_DOWN,
	DOWNING_KEEP_MAJORITY,
	DOWNING_KEEP_OLDEST,
	DOWNING_STATIC_QUORUM,
	DOWNING_DOWN_ALL,
};

struct conf_singleton {
	char name[CONF_NAME_MAX];
	char role[CONF_ROLE_MAX];
	char command[CONF_PATH_MAX];
	char standby_command[CONF_PATH_MAX];	/* on the other members with the role */
	int buffer_size;
	msec_t stop_timeout;		/* SIGTERM, then SIGKILL after this */
	msec_t request_timeout;		/* a proxied request gets an error after this */
	msec_t hand_over_retry;		/* hand-over messages are resent this often */
	int link_port;			/* the proxy link's TCP port: -1 the kernel's pick, 0 off */
};

struct akc_config {
	char path[CONF_PATH_MAX];

	/* [node] */
	char name[CONF_NAME_MAX];
	char address[CONF_ADDR_MAX];
	char roles[CONF_MAX_ROLES][CONF_ROLE_MAX];
	int nroles;
	char run_dir[CONF_PATH_MAX];
	char state_dir[CONF_PATH_MAX];
	/* who besides the daemons' user may use the tools' sockets; "" = nobody */
	char socket_group[CONF_NAME_MAX];
	gid_t socket_gid;
	int log_level;			/* LOG_ERR ... LOG_DEBUG (syslog.h); -v and -q override it */

	/* [cluster] */
	char cluster_name[CONF_NAME_MAX + 1];	/* bound into every node-to-node frame */
	char seeds[CONF_MAX_SEEDS][CONF_ADDR_MAX];
	int nseeds;
	int min_nr_of_members;
	msec_t gossip_interval;
	msec_t seed_node_timeout;
	msec_t join_retry_max;
	int required_contact_points;	/* seeds that must agree to form a cluster; 0: majority */
	msec_t allow_weakly_up;		/* 0 = off */
	int peer_sockets;
	int welcome_budget;		/* member records a second of full welcomes (memberd's join.c) */

	/* [failure-detector] */
	msec_t heartbeat_interval;
	msec_t acceptable_heartbeat_pause;
	double threshold;
	int monitored_by;
	msec_t min_std_deviation;
	int max_sample_size;
	msec_t expected_response_after;

	/* [downing] */
	enum downing_strategy strategy;
	msec_t stable_after;		/* STABLE_AFTER_AUTO: from N, see config_stable_after */
	int quorum_size;
	msec_t down_removal_margin;
	char downing_role[CONF_ROLE_MAX];
	int down_if_alone;

	/* [security] */
	char key_file[CONF_PATH_MAX];

	/* [singleton.NAME] */
	struct conf_singleton singletons[CONF_MAX_SINGLETONS];
	int nsingletons;

	/* [master] */
	msec_t work_timeout;
	int max_attempts;
	int replicas;
	/*
	 * The replica set: the nodes at these addresses (memberd endpoints);
	 * quorums are majorities of it. Default: the seed nodes. -1 until set.
	 */
	char replica_nodes[CONF_MAX_SEEDS][CONF_ADDR_MAX];
	int nreplica_nodes;
	/* the journal link's TCP port (lib/link.c): -1 the node's port + 1000, 0 off */
	int link_port;
	long max_payload;
	long max_pending;
	long snapshot_every;		/* events between the master's snapshots */
	msec_t keep_finished;		/* finished jobs stay in the state this long; 0: ever */

	/* [worker] */
	char worker_exec[CONF_PATH_MAX];
	char worker_pipe[CONF_PATH_MAX];	/* "": a shell per job (exec) */
	char worker_how[8];		/* the key that set one of them: "exec", "pipe" or "" */
	int worker_concurrency;

	/* [http] (akc-httpd) */
	char http_address[CONF_ADDR_MAX];	/* HOST:PORT */
	char http_token_file[CONF_PATH_MAX];	/* "": every change is refused */
	char http_tls_cert[CONF_PATH_MAX];	/* both or neither: HTTPS */
	char http_tls_key[CONF_PATH_MAX];
	char http_www_dir[CONF_PATH_MAX];	/* "": the installed page */
};

/* Seeds that must agree before a new cluster is formed (memberd(8), FORMING). */
int config_form_quorum(const struct akc_config *);
/* Whether a is a node's address: tcp://HOST:PORT, a numeric port, under CONF_ADDR_MAX bytes. */
int config_address_valid(const char *a);
/* Index of ADDRESS in the seed list, or -1. */
int config_seed_index(const struct akc_config *, const char *address);

/*
 * Reads FILE into cfg (defaults first). Every problem is reported on stderr as
 * "FILE:LINE: message" in one pass; returns the number of errors (0 = usable).
 */
int config_load(const char *path, struct akc_config *cfg);
/* The same from an open stream (a file, or memory through fmemopen); path names it in errors. */
int config_read(FILE *fp, const char *path, struct akc_config *cfg);
/* The path a program uses when no -c is given: $AKC_CONF or the default. */
const char *config_default_path(void);
/*
 * A switch of the environment (AKC_MASTER_DIRECT, AKC_WORKER_FORK, ...):
 * dflt when unset or empty, 0 for "0", 1 for anything else.
 */
int env_flag(const char *name, int dflt);
int config_has_role(const struct akc_config *cfg, const char *role);
/*
 * The settings of singleton name: its [singleton.NAME] section, or the
 * defaults (no role: every node may run it) when the file has none.
 */
void config_singleton(const struct akc_config *, const char *name, struct conf_singleton *out);
/* Parses "250ms", "2s", "1m", "1h" (a unit is required); -1 on error. */
msec_t config_parse_duration(const char *s);
const char *config_strategy_name(enum downing_strategy s);
/*
 * stable-after = auto (the default): the value in force for a view of n
 * members, from the failure detector's and gossip's settings; an explicit
 * duration is returned as set. See akc.conf(5) and ARCHITECTURE.md.
 */
#define STABLE_AFTER_AUTO	(-1)
msec_t config_stable_after(const struct akc_config *c, int n);
/* Gossip hops of fan-out 3 that reach n members: the least r with 3^r >= n. */
int config_gossip_hops(int n);
/*
 * Splits an [http] address "HOST:PORT" ("[::1]:8558" for IPv6) into host
 * (brackets removed) and port; -1 if it is not one.
 */
int config_split_hostport(const char *s, char *host, size_t hostlen, int *port);
/* Writes the path of a socket in the run dir into buf ("ipc://RUN/NAME"). */
void config_ipc_path(const struct akc_config *cfg, const char *sock, char *buf, size_t len);

#endif
