/* akc-status: self, leader, role leaders, convergence and unreachable members. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "proto.h"
#include "sock.h"
#include "tool.h"

#define USAGE "akc-status [-c FILE] [--json | --check]"
#define STATUS_SINGLETONS	64	/* singletons shown at most */

static void
add_singleton(struct tool *t, cJSON *arr, const char *name)
{
	char sock[RELAY_SVC_MAX + 8], err[512];
	cJSON *rsp, *e;

	snprintf(sock, sizeof(sock), SOCK_SINGLETON_CTL, name);
	if (ctl_call(&t->cfg, sock, ctl_request(CTL_STATUS), &rsp, 1000, err, sizeof(err)) < 0) {
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", name);
		cJSON_AddStringToObject(e, "error", err);
		cJSON_AddItemToArray(arr, e);
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(rsp, "v");
	cJSON_DeleteItemFromObjectCaseSensitive(rsp, "ok");
	cJSON_AddItemToArray(arr, rsp);
}

/*
 * The workers running on this node: RUN-DIR/worker.PID.lock files whose
 * lock a live worker holds (worker(8)); the others are left by dead ones.
 */
static cJSON *
workers(struct tool *t)
{
	cJSON *arr = cJSON_CreateArray();
	struct dirent **ents;
	int i, n;

	if ((n = scandir(t->cfg.run_dir, &ents, NULL, alphasort)) < 0)
		return arr;
	for (i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		char path[CONF_PATH_MAX + 300], id[128];
		ssize_t len;
		int fd;

		if (strncmp(f, "worker.", 7) == 0 && strlen(f) > 12 &&
		    strcmp(f + strlen(f) - 5, ".lock") == 0) {
			snprintf(path, sizeof(path), "%s/%s", t->cfg.run_dir, f);
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
				if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK &&
				    (len = read(fd, id, sizeof(id) - 1)) > 0) {
					id[len] = '\0';
					cJSON_AddItemToArray(arr, cJSON_CreateString(id));
				}
				close(fd);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return arr;
}

/* Singletons: those configured, and any singletond with a socket in the run dir. */
static cJSON *
singletons(struct tool *t)
{
	cJSON *arr = cJSON_CreateArray();
	char names[STATUS_SINGLETONS][CONF_NAME_MAX];
	int i, n = 0;

	sock_singletons(&t->cfg, names, &n, STATUS_SINGLETONS);
	for (i = 0; i < n; i++)
		add_singleton(t, arr, names[i]);
	return arr;
}

/*
 * leaderd's downing settings in force: stable-after = auto changes with the
 * members in the view, so operators read the value here.
 */
/*
 * A singleton's proxy link, one line under it: where it listens, the peers it
 * hears, what went over it and over the relay, and what it refused.
 */
static void
print_link(const cJSON *lk)
{
	const cJSON *p, *v, *rl = cJSON_GetObjectItemCaseSensitive(lk, "relay");
	char drops[256] = "none";
	size_t n = 0;
	int on = 0, up, peers = 0, ups = 0;

	if (lk == NULL || json_bool(lk, "on", &on) != 0)
		return;
	if (!on) {
		printf("  link:      off (requests go through memberd's relay)\n");
		return;
	}
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(lk, "peers")) {
		peers++;
		if (json_bool(p, "up", &up) == 0 && up)
			ups++;
	}
	/* the reasons that have a count, e.g. "unsent 2, stale 1" */
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(lk, "dropped"))
		if (cJSON_IsNumber(v) && v->valuedouble > 0 && n < sizeof(drops) - 64)
			n += (size_t)snprintf(drops + n, sizeof(drops) - n, "%s%s %.0f",
			    n > 0 ? ", " : "", v->string, v->valuedouble);
	printf("  link:      port %.0f, %d of %d peers up; sent %.0f, received %.0f; "
	    "relay sent %.0f, received %.0f; dropped %s\n",
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(lk, "port")), ups, peers,
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(lk, "sent")),
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(lk, "received")),
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rl, "sent")),
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rl, "received")), drops);
}

static void
downing(cJSON *rsp, const cJSON *ld)
{
	cJSON *o;
	static const char *keys[] = { "strategy", "stable_after_ms", "stable_after_auto",
	    "members", NULL };
	const cJSON *e;
	int i;

	if (json_str(ld, "strategy") == NULL)
		return;		/* an older leaderd */
	o = cJSON_AddObjectToObject(rsp, "downing");
	for (i = 0; keys[i] != NULL; i++)
		if ((e = cJSON_GetObjectItemCaseSensitive(ld, keys[i])) != NULL)
			cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(e, 1));
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_LONGOPTS, { "json", no_argument, NULL, 'j' },
		{ "check", no_argument, NULL, 'k' }, { NULL, 0, NULL, 0 }
	};
	struct tool t;
	cJSON *rsp, *e, *o, *ld, *dm;
	char lerr[512];
	int ch, json = 0, check = 0, conv = 0, counts[8] = { 0 }, i, leaderd;
	static const char *statuses[] = { "Joining", "WeaklyUp", "Up", "Leaving",
	    "Exiting", "Down", "Removed", NULL };

	tool_init(&t, "akc-status", USAGE);
	while ((ch = getopt_long(argc, argv, "c:hj", longopts, NULL)) != -1)
		if (!tool_common_opt(&t, ch, optarg)) {
			if (ch == 'j')
				json = 1;
			else if (ch == 'k')
				check = 1;
		}
	if (optind != argc)
		tool_usage(&t, "unexpected argument");
	if (json && check)
		tool_usage(&t, "--json and --check exclude each other");
	tool_config(&t);
	rsp = tool_call(&t, SOCK_MEMBERD_CTL, ctl_request(CTL_STATUS));
	cJSON_DeleteItemFromObjectCaseSensitive(rsp, "v");
	cJSON_DeleteItemFromObjectCaseSensitive(rsp, "ok");
	/* this node's leaderd: without it, nothing here moves a member to Up or out */
	leaderd = ctl_call(&t.cfg, SOCK_LEADERD_CTL, ctl_request(CTL_STATUS), &ld, 1000, lerr,
	    sizeof(lerr)) == 0;
	if (leaderd)
		downing(rsp, ld);
	cJSON_Delete(ld);
	dm = cJSON_AddObjectToObject(rsp, "daemons");
	cJSON_AddBoolToObject(dm, "memberd", 1);
	cJSON_AddBoolToObject(dm, "leaderd", leaderd);
	if (!leaderd)
		cJSON_AddStringToObject(dm, "leaderd_error", lerr);
	cJSON_AddItemToObject(dm, "workers", workers(&t));
	json_bool(rsp, "convergence", &conv);
	if (check) {
		const char *self = json_str(rsp, "self"), *st = NULL;

		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rsp, "members"))
			if (self != NULL && json_str(e, "node") != NULL &&
			    strcmp(json_str(e, "node"), self) == 0)
				st = json_str(e, "status");
		if (st == NULL || strcmp(st, "Up") != 0)
			fprintf(stderr, "akc-status: not healthy: this node is %s, not Up\n",
			    st != NULL ? st : json_str(rsp, "phase"));
		else if (!leaderd)
			fprintf(stderr, "akc-status: not healthy: leaderd is not running here (%s)\n",
			    lerr);
		else if (!conv)
			fprintf(stderr, "akc-status: not healthy: the cluster has not converged\n");
		else {
			cJSON_Delete(rsp);
			tool_exit(&t, 0);
		}
		cJSON_Delete(rsp);
		tool_exit(&t, 1);
	}
	cJSON_AddItemToObject(rsp, "singletons", singletons(&t));
	if (json) {
		tool_print_json(rsp);
		cJSON_Delete(rsp);
		tool_exit(&t, 0);
	}
	printf("self:        %s (%s)\n", json_str(rsp, "self"), json_str(rsp, "phase"));
	if (leaderd)
		printf("leaderd:     running\n");
	else
		printf("leaderd:     NOT RUNNING (%s): no member moves to Up or out through this "
		    "node while it is the leader\n", lerr);
	if ((o = cJSON_GetObjectItemCaseSensitive(rsp, "downing")) != NULL) {
		long ms = 0, n = 0;
		int au = 0;

		json_int(o, "stable_after_ms", 0, 1L << 40, &ms);
		json_int(o, "members", 0, 1L << 30, &n);
		json_bool(o, "stable_after_auto", &au);
		printf("downing:     %s, stable-after %.1fs", json_str(o, "strategy"), ms / 1000.0);
		if (au)
			printf(" (auto, for %ld members)", n);
		printf("\n");
	}
	printf("leader:      %s\n", json_str(rsp, "leader") ? json_str(rsp, "leader") : "-");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rsp, "role_leaders"))
		printf("role leader: %s: %s\n", e->string,
		    cJSON_IsString(e) ? e->valuestring : "-");
	printf("convergence: %s\n", conv ? "yes" : "no");
	{
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(rsp, "majority");
		long have = 0, of = 0;
		int ok = 0;

		if (q != NULL && json_bool(q, "ok", &ok) == 0 &&
		    json_int(q, "reachable", 0, 1L << 30, &have) == 0 &&
		    json_int(q, "remembered", 0, 1L << 30, &of) == 0)
			printf("majority:    %s (%ld of the %ld members it remembers reachable)\n",
			    ok ? "yes" : "no", have, of);
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rsp, "members"))
		for (i = 0; statuses[i]; i++)
			if (json_str(e, "status") && strcmp(json_str(e, "status"), statuses[i]) == 0)
				counts[i]++;
	printf("members:    ");
	for (i = 0; statuses[i]; i++)
		if (counts[i])
			printf(" %d %s", counts[i], statuses[i]);
	printf("\n");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rsp, "unreachable")) {
		printf("unreachable: %s (%s), observed by", json_str(e, "node"), json_str(e, "status"));
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(e, "observed_by"))
			printf(" %s", cJSON_IsString(o) ? o->valuestring : "?");
		printf("\n");
	}
	{
		const cJSON *ws = cJSON_GetObjectItemCaseSensitive(dm, "workers");

		if (cJSON_GetArraySize(ws) == 0)
			printf("workers:     none here\n");
		else {
			printf("workers:     %d here:", cJSON_GetArraySize(ws));
			cJSON_ArrayForEach(o, ws)
				printf(" %s", o->valuestring);
			printf("\n");
		}
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rsp, "singletons")) {
		int here = 0;

		json_bool(e, "running_here", &here);
		if (json_str(e, "error") != NULL)
			printf("singleton:   %s: %s\n", json_str(e, "name"), json_str(e, "error"));
		else if (json_str(e, "running_on") != NULL) {
			int standby = 0;

			json_bool(e, "standby_here", &standby);
			printf("singleton:   %s: running on %s%s\n", json_str(e, "name"),
			    json_str(e, "running_on"), here ? " (here)" :
			    standby ? " (its standby runs here)" : "");
		}
		else
			printf("singleton:   %s: not running (%s; oldest: %s)\n", json_str(e, "name"),
			    json_str(e, "state"), json_str(e, "oldest") ? json_str(e, "oldest") : "none");
		print_link(cJSON_GetObjectItemCaseSensitive(e, "link"));
	}
	cJSON_Delete(rsp);
	tool_exit(&t, 0);
}
