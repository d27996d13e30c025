/*
 * test-journal.c: the master's journal (src/master/journal.c) on a real
 * LevelDB in a temporary directory: what journal_read sends to a standby
 * includes the batch not yet committed (the master sends before it syncs,
 * doc/PROTOCOL.md "Journal replication"), in order after the stored log,
 * result lines with it, within the size bound; a commit changes nothing in
 * what is read; a journal reopened without the commit has the stored log only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "json.h"
#include "log.h"
#include "unit.h"

static char dir[64];

static cJSON *
event(const char *e, const char *id)
{
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "e", e);
	cJSON_AddStringToObject(ev, "id", id);
	cJSON_AddStringToObject(ev, "ep", "5");
	return ev;
}

static void
append(struct journal *j, const char *e, const char *id, int result)
{
	cJSON *ev = event(e, id);
	uint64_t seq = journal_append(j, ev);

	if (result) {
		cJSON *line = cJSON_CreateObject();

		cJSON_AddStringToObject(line, "id", id);
		cJSON_AddStringToObject(line, "result", "r");
		journal_put_result(j, seq, line);
		cJSON_Delete(line);
	}
	cJSON_Delete(ev);
}

/* journal_read from/rfrom: the seqs of its events and result lines, as "e1 e2 r2". */
static void
read_seqs(struct journal *j, uint64_t from, uint64_t rfrom, size_t max, char *out, size_t len,
    uint64_t *last, uint64_t *rlast)
{
	cJSON *m = cJSON_CreateObject(), *o;
	size_t at = 0;

	journal_read(j, from, rfrom, max, 0, m);
	out[0] = '\0';
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(m, "events"))
		at += (size_t)snprintf(out + at, len - at, "%se%s", at ? " " : "", json_str(o, "seq"));
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(m, "results"))
		at += (size_t)snprintf(out + at, len - at, "%sr%s", at ? " " : "", json_str(o, "seq"));
	json_u64(m, "last", last);
	json_u64(m, "rlast", rlast);
	cJSON_Delete(m);
}

static void
unsynced(void)
{
	struct journal j;
	char err[256], got[512];
	uint64_t last = 0, rlast = 0;

	CHECK_INT(journal_open(&j, dir, err, sizeof(err)), 0);
	append(&j, "accepted", "a", 0);
	append(&j, "started", "a", 0);
	append(&j, "completed", "a", 1);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	CHECK_INT(j.durable, 3);
	/* a batch not committed: 4-6, a result line at 6 */
	append(&j, "accepted", "b", 0);
	append(&j, "started", "b", 0);
	append(&j, "completed", "b", 1);
	CHECK_INT(j.seq, 6);
	CHECK_INT(j.durable, 3);
	read_seqs(&j, 1, 1, 1 << 20, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e1 e2 e3 e4 e5 e6 r3 r6");
	CHECK_INT(last, 6);
	CHECK_INT(rlast, 6);
	/* from within the batch: that part only */
	read_seqs(&j, 5, 4, 1 << 20, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e5 e6 r6");
	/* a small bound: one event a read, result lines only within twice the bound */
	read_seqs(&j, 2, 2, 1, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e2");
	CHECK_INT(last, 2);
	read_seqs(&j, 3, 3, 1, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e3");
	CHECK_INT(rlast, 2);		/* the result line goes with the next read */
	read_seqs(&j, 4, 4, 1, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e4");
	CHECK_INT(last, 4);
	CHECK_INT(rlast, 4);
	/* nothing past the end */
	read_seqs(&j, 7, 7, 1 << 20, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "");
	CHECK_INT(last, 6);
	/* closed without the commit (the master killed before its sync): the stored log only */
	journal_close(&j);
	CHECK_INT(journal_open(&j, dir, err, sizeof(err)), 0);
	CHECK_INT(journal_scan(&j, err, sizeof(err)), 0);
	CHECK_INT(j.seq, 3);
	read_seqs(&j, 1, 1, 1 << 20, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e1 e2 e3 r3");
	/* again, and committed: the same read, now from the stored log */
	append(&j, "accepted", "c", 0);
	append(&j, "completed", "c", 1);
	read_seqs(&j, 3, 3, 1 << 20, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e3 e4 e5 r3 r5");
	CHECK_INT(j.npend, 3);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	CHECK_INT(j.npend, 0);
	CHECK_INT(j.durable, 5);
	read_seqs(&j, 3, 3, 1 << 20, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e3 e4 e5 r3 r5");
	journal_close(&j);
}

int
main(void)
{
	char cmd[128];

	log_init("test-journal");
	log_setlevel(LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/journal.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	RUN(unsynced);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 2;
	return unit_done();
}
