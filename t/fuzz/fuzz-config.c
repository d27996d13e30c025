/*
 * fuzz-config.c: the akc.conf loader (lib/config.c, libinih underneath)
 * fed file contents, through config_read on a memory stream.
 *
 * Whatever the file holds, every string of the configuration must end
 * within its buffer and every count stay within its array; a file read
 * without errors must give a node a name, an address and its directories.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BOUNDED(s)	(strnlen((s), sizeof(s)) < sizeof(s))

static void
broken(const char *what)
{
	fprintf(stderr, "broken: %s\n", what);
	abort();
}

static void
check(const struct akc_config *c, int errors)
{
	int i;

	if (!BOUNDED(c->path) || !BOUNDED(c->name) || !BOUNDED(c->address) ||
	    !BOUNDED(c->run_dir) || !BOUNDED(c->state_dir) || !BOUNDED(c->downing_role) ||
	    !BOUNDED(c->key_file) || !BOUNDED(c->worker_exec))
		broken("a string runs past its buffer");
	if (c->nroles < 0 || c->nroles > CONF_MAX_ROLES || c->nseeds < 0 ||
	    c->nseeds > CONF_MAX_SEEDS || c->nsingletons < 0 ||
	    c->nsingletons > CONF_MAX_SINGLETONS || c->nreplica_nodes < 0 ||
	    c->nreplica_nodes > CONF_MAX_SEEDS)
		broken("a count out of its array");
	for (i = 0; i < c->nroles; i++)
		if (!BOUNDED(c->roles[i]) || c->roles[i][0] == '\0')
			broken("a role");
	for (i = 0; i < c->nseeds; i++)
		if (!BOUNDED(c->seeds[i]) || strncmp(c->seeds[i], "tcp://", 6) != 0)
			broken("a seed");
	for (i = 0; i < c->nreplica_nodes; i++)
		if (!BOUNDED(c->replica_nodes[i]) || strncmp(c->replica_nodes[i], "tcp://", 6) != 0)
			broken("a replica node");
	for (i = 0; i < c->nsingletons; i++) {
		const struct conf_singleton *s = &c->singletons[i];

		if (!BOUNDED(s->name) || s->name[0] == '\0' || !BOUNDED(s->role) ||
		    !BOUNDED(s->command) || !BOUNDED(s->standby_command))
			broken("a singleton");
	}
	if (errors != 0)
		return;
	if (c->name[0] == '\0' || strncmp(c->address, "tcp://", 6) != 0 ||
	    c->run_dir[0] != '/' || c->state_dir[0] != '/' || strlen(c->run_dir) > CONF_RUNDIR_MAX)
		broken("a configuration without errors lacks a node's name, address or directories");
	if (c->gossip_interval <= 0 || c->heartbeat_interval <= 0 || c->threshold <= 0 ||
	    c->expected_response_after < 0 || c->min_nr_of_members < 1 || c->max_sample_size < 2 ||
	    config_form_quorum(c) < 1)
		broken("a configuration without errors has a value no daemon can use");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct akc_config cfg;
	char *copy = malloc(size + 1);
	FILE *f;
	int errors;

	/* a copy: fmemopen wants a writable buffer, even to read */
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	if ((f = fmemopen(copy, size, "r")) == NULL)
		abort();
	errors = config_read(f, "fuzz.conf", &cfg);
	fclose(f);
	check(&cfg, errors);
	free(copy);
	return 0;
}
