/*
 * test-journal.c: the master's journal (src/master/journal.c) on a real
 * LevelDB in a temporary directory: what journal_read sends to a standby
 * includes the batch not yet committed (the master sends before it syncs,
 * doc/PROTOCOL.md "Journal replication"), in order after the stored log,
 * result lines with it, within the size bound; a commit changes nothing in
 * what is read; a journal reopened without the commit has the stored log only.
 * The write-ahead file (src/master/wal.c): a commit is a record in it, the
 * file never grows; a LevelDB that lost every unsynced write gets the
 * committed batches back from it, up to a damaged record; a direct write
 * (truncation) voids the records first, so they do not come back over it;
 * a batch bigger than the file is LevelDB's synced write; AKC_JOURNAL_WAL=0
 * replays a file found and removes it. A checkpoint whose sync failed is
 * not tried again (wal.h, point 4): the records stay, and come back at the
 * next open even if what LevelDB's failed sync held never reached the disk.
 * A failed LevelDB write (a full disk; here RLIMIT_FSIZE) is final too: a
 * write after it would put its torn record inside LevelDB's log, which the
 * next open refuses as corrupt; refused, the journal opens again whole.
 */
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

/*
 * What a submit asks of the journal makes no LevelDB read, however long the
 * log: the append to a standby on duty (journal_read from after the durable
 * end: the batch) and the promise (cached; the replication core asks for it
 * several times a message). A LevelDB get or iterator costs more the more
 * tables the log has, so these made the master's CPU per submit grow with
 * the jobs journaled (bench/README.md, q12). A read from before the durable
 * end still reads the stored log, the same as before.
 */
static void
reads_flat(void)
{
	struct journal j;
	char err[256], got[512], id[32], sub[96];
	uint64_t last = 0, rlast = 0, reads;
	long i;

	snprintf(sub, sizeof(sub), "%s/flat", dir);
	CHECK_INT(mkdir(sub, 0700), 0);
	CHECK_INT(journal_open(&j, sub, err, sizeof(err)), 0);
	CHECK_INT(journal_scan(&j, err, sizeof(err)), 0);
	CHECK_INT(journal_promise(&j, 7, err, sizeof(err)), 0);
	reads = j.db_reads;
	for (i = 1; i <= 6000; i++) {
		snprintf(id, sizeof(id), "j%ld", i);
		append(&j, "accepted", id, i % 3 == 0);
		read_seqs(&j, j.seq, j.seq, 1 << 20, got, sizeof(got), &last, &rlast);
		CHECK_INT(last, j.seq);
		CHECK_INT(journal_promised(&j), 7);
		if (i % 4 == 0)	/* a commit of a few events, as under load */
			CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	}
	CHECK_INT(j.db_reads, reads);
	CHECK_STR(got, "e6000 r6000");
	/* from the stored log: read there, the same as from the batch */
	read_seqs(&j, 5998, 5998, 1 << 20, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e5998 e5999 e6000 r6000");
	CHECK(j.db_reads > reads);
	journal_close(&j);
	/* the promise is the stored one after a reopen */
	CHECK_INT(journal_open(&j, sub, err, sizeof(err)), 0);
	CHECK_INT(journal_promised(&j), 7);
	CHECK_INT(journal_promise(&j, 9, err, sizeof(err)), 0);
	CHECK_INT(journal_promised(&j), 9);
	journal_close(&j);
	CHECK_INT(journal_open(&j, sub, err, sizeof(err)), 0);
	CHECK_INT(journal_promised(&j), 9);
	journal_close(&j);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	CHECK_INT(system(cmd), 0);
}

static long long
file_size(const char *d)
{
	char p[128];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", d, WAL_NAME);
	return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static void
wal_replay(void)
{
	struct journal j;
	char err[256], got[512], wd[80], lost[80];
	uint64_t last = 0, rlast = 0;
	FILE *f;
	int c;

	snprintf(wd, sizeof(wd), "%s/w", dir);
	snprintf(lost, sizeof(lost), "%s/lost", dir);
	unsetenv("AKC_JOURNAL_WAL");
	CHECK_INT(journal_open(&j, wd, err, sizeof(err)), 0);
	CHECK(j.wal.fd >= 0);
	CHECK_INT(file_size(wd), WAL_BYTES);
	append(&j, "accepted", "a", 0);
	append(&j, "completed", "a", 1);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	append(&j, "accepted", "b", 0);
	append(&j, "completed", "b", 1);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	CHECK_INT(j.wal.records, 2);
	CHECK_INT(file_size(wd), WAL_BYTES);	/* written into, never grown */
	/* a LevelDB that lost every unsynced write: a new one beside the file */
	sh("mkdir -p '%s' && cp '%s/" WAL_NAME "' '%s/'", lost, wd, lost);
	journal_close(&j);
	CHECK_INT(journal_open(&j, lost, err, sizeof(err)), 0);
	CHECK_INT(j.wal.replayed, 2);
	CHECK_INT(journal_scan(&j, err, sizeof(err)), 0);
	CHECK_INT(j.seq, 4);
	read_seqs(&j, 1, 1, 1 << 20, got, sizeof(got), &last, &rlast);
	CHECK_STR(got, "e1 e2 e3 e4 r2 r4");
	CHECK(!wal_dirty(&j.wal));		/* replayed, synced, emptied */
	journal_close(&j);
	/* once more from the same copy, its second record's last byte damaged */
	sh("rm -rf '%s' && mkdir -p '%s'", lost, lost);
	sh("cp '%s/" WAL_NAME "' '%s/'", wd, lost);
	snprintf(got, sizeof(got), "%s/%s", lost, WAL_NAME);
	f = fopen(got, "r+b");
	CHECK(f != NULL);
	if (f != NULL) {
		long off = 512;
		unsigned char h[24];
		int i;

		/* skip the first record; damage the second's last payload byte */
		for (i = 0; i < 2; i++) {
			fseek(f, off, SEEK_SET);
			CHECK_INT(fread(h, 1, 24, f), 24);
			off += 24 + (long)(h[4] | h[5] << 8 | h[6] << 16 | (unsigned long)h[7] << 24);
		}
		fseek(f, off - 1, SEEK_SET);
		c = fgetc(f);
		fseek(f, off - 1, SEEK_SET);
		fputc(c ^ 0xff, f);
		fclose(f);
	}
	CHECK_INT(journal_open(&j, lost, err, sizeof(err)), 0);
	CHECK_INT(j.wal.replayed, 1);
	CHECK_INT(journal_scan(&j, err, sizeof(err)), 0);
	CHECK_INT(j.seq, 2);
	journal_close(&j);
	/* AKC_JOURNAL_WAL=0: a file found is replayed, then removed */
	sh("rm -rf '%s' && mkdir -p '%s'", lost, lost);
	sh("cp '%s/" WAL_NAME "' '%s/'", wd, lost);
	setenv("AKC_JOURNAL_WAL", "0", 1);
	CHECK_INT(journal_open(&j, lost, err, sizeof(err)), 0);
	CHECK(j.wal.fd < 0);
	CHECK_INT(file_size(lost), -1);
	CHECK_INT(journal_scan(&j, err, sizeof(err)), 0);
	CHECK_INT(j.seq, 4);
	append(&j, "accepted", "c", 0);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	CHECK_INT(file_size(lost), -1);
	journal_close(&j);
	unsetenv("AKC_JOURNAL_WAL");
}

static void
wal_direct(void)
{
	struct journal j;
	char err[256], wd[80];
	cJSON *ev;
	char *big;

	snprintf(wd, sizeof(wd), "%s/d", dir);
	CHECK_INT(journal_open(&j, wd, err, sizeof(err)), 0);
	append(&j, "accepted", "a", 0);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	append(&j, "accepted", "b", 0);
	append(&j, "accepted", "c", 0);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	CHECK(wal_dirty(&j.wal));
	/* a truncation (a standby parting from the master's log) voids the records first */
	CHECK_INT(journal_truncate(&j, 1, err, sizeof(err)), 0);
	CHECK(!wal_dirty(&j.wal));
	CHECK_INT(j.wal.checkpoints, 1);
	journal_close(&j);
	CHECK_INT(journal_open(&j, wd, err, sizeof(err)), 0);
	CHECK_INT(j.wal.replayed, 0);
	CHECK_INT(journal_scan(&j, err, sizeof(err)), 0);
	CHECK_INT(j.seq, 1);			/* e2, e3 do not come back */
	/* a batch bigger than the file: LevelDB's synced write, then a checkpoint */
	big = malloc(WAL_BYTES + 100);
	memset(big, 'x', WAL_BYTES + 99);
	big[WAL_BYTES + 99] = '\0';
	ev = event("accepted", big);
	journal_append(&j, ev);
	cJSON_Delete(ev);
	free(big);
	append(&j, "accepted", "e", 0);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	CHECK_INT(j.wal.records, 0);
	CHECK(!wal_dirty(&j.wal));
	append(&j, "accepted", "f", 0);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	CHECK_INT(j.wal.records, 1);
	journal_close(&j);
	CHECK_INT(journal_open(&j, wd, err, sizeof(err)), 0);
	CHECK_INT(journal_scan(&j, err, sizeof(err)), 0);
	CHECK_INT(j.seq, 4);
	journal_close(&j);
}

/* The newest LevelDB log in d, into path; 0, or -1 if none. */
static int
newest_log(const char *d, char *path, size_t len)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	char best[256] = "";
	size_t l;

	if (dp == NULL)
		return -1;
	while ((e = readdir(dp)) != NULL) {
		l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".log") == 0 && strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(dp);
	if (best[0] == '\0')
		return -1;
	snprintf(path, len, "%s/%s", d, best);
	return 0;
}

/*
 * A checkpoint whose sync of LevelDB's logs failed (here a "log" that
 * cannot be synced: /dev/null, EINVAL; on a disk, EIO) must not be tried
 * again: Linux marks the pages of a failed fdatasync clean, so the next
 * sync succeeds without writing them, and the checkpoint would void the
 * record that is the commit's only durable copy. Modelled here by cutting
 * LevelDB's log back to before the commit once the journal is closed:
 * the event comes back from the write-ahead file only if the file was not
 * checkpointed after the failure.
 */
static void
wal_failed_sync(void)
{
	struct journal j;
	char err[256], wd[80], link[128], log[400];
	struct stat st;
	off_t before;

	snprintf(wd, sizeof(wd), "%s/f", dir);
	unsetenv("AKC_JOURNAL_WAL");
	CHECK_INT(journal_open(&j, wd, err, sizeof(err)), 0);
	CHECK_INT(newest_log(wd, log, sizeof(log)), 0);
	CHECK_INT(stat(log, &st), 0);
	before = st.st_size;
	append(&j, "accepted", "a", 0);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);	/* acknowledged: in the file */
	CHECK(wal_dirty(&j.wal));
	snprintf(link, sizeof(link), "%s/zz.log", wd);
	CHECK_INT(symlink("/dev/null", link), 0);
	err[0] = '\0';
	CHECK_INT(journal_promise(&j, 7, err, sizeof(err)), -1);
	CHECK(strstr(err, "cannot sync LevelDB's logs") != NULL);
	CHECK_INT(unlink(link), 0);
	/* the sync would succeed now: it must not be believed */
	CHECK_INT(journal_promise(&j, 8, err, sizeof(err)), -1);
	CHECK(strstr(err, "a write or checkpoint failed before") != NULL);
	append(&j, "accepted", "b", 0);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), -1);
	CHECK(wal_dirty(&j.wal));
	journal_close(&j);
	/* what the failed sync held never reached the disk */
	CHECK_INT(truncate(log, before), 0);
	CHECK_INT(journal_open(&j, wd, err, sizeof(err)), 0);
	CHECK_INT(j.wal.replayed, 1);
	CHECK_INT(journal_scan(&j, err, sizeof(err)), 0);
	CHECK_INT(j.seq, 1);			/* a, acknowledged, is back */
	journal_close(&j);
}

/* The size of LevelDB's newest log in wd. */
static off_t
log_size(const char *wd)
{
	char log[400];
	struct stat st;

	if (newest_log(wd, log, sizeof(log)) < 0 || stat(log, &st) < 0)
		return -1;
	return st.st_size;
}

/*
 * Commits until LevelDB's write fails at a file size limit just above its
 * log (with the write-ahead file: its records wrapped to the file's start
 * first, so that LevelDB's log is the file the limit stops); with room
 * again, the next commit must be refused, and the journal must open again
 * with every event acknowledged before the failure.
 */
static void
write_failed_in(const char *sub, int use_wal)
{
	struct journal j;
	char err[256], wd[80], id[32];
	struct rlimit rl0, rl;
	int i, acked = 0, failed = 0;

	snprintf(wd, sizeof(wd), "%s/%s", dir, sub);
	if (use_wal)
		unsetenv("AKC_JOURNAL_WAL");
	else
		setenv("AKC_JOURNAL_WAL", "0", 1);
	CHECK_INT(journal_open(&j, wd, err, sizeof(err)), 0);
	/* with the file: past its size, so its records start again near its head */
	for (i = 0; i < (use_wal ? 250 : 1); i++) {
		int k;

		for (k = 0; k < 100; k++) {
			snprintf(id, sizeof(id), "pre-%d-%d", i, k);
			append(&j, "accepted", id, 0);
		}
		CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
		acked += 100;
	}
	if (use_wal)
		CHECK(log_size(wd) > (off_t)1 << 20);
	CHECK_INT(getrlimit(RLIMIT_FSIZE, &rl0), 0);
	signal(SIGXFSZ, SIG_IGN);
	rl = rl0;
	rl.rlim_cur = (rlim_t)log_size(wd) + 3000;
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
	for (i = 0; i < 200 && !failed; i++) {
		snprintf(id, sizeof(id), "late-%d", i);
		append(&j, "accepted", id, 0);
		err[0] = '\0';
		if (journal_commit(&j, err, sizeof(err)) < 0)
			failed = 1;
		else
			acked++;
	}
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &rl0), 0);
	CHECK_INT(failed, 1);
	CHECK(strstr(err, "cannot write") != NULL);
	/* room again: still refused (it would write after the torn record) */
	CHECK_INT(journal_commit(&j, err, sizeof(err)), -1);
	CHECK(strstr(err, "failed before") != NULL);
	append(&j, "accepted", "after", 0);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), -1);
	CHECK_INT(journal_promise(&j, 9, err, sizeof(err)), -1);
	journal_close(&j);
	/* opened again: whole, with every acknowledged event */
	err[0] = '\0';
	if (journal_open(&j, wd, err, sizeof(err)) < 0) {
		fprintf(stderr, "the journal does not open again: %s\n", err);
		CHECK(0);
		unsetenv("AKC_JOURNAL_WAL");
		return;
	}
	CHECK_INT(journal_scan(&j, err, sizeof(err)), 0);
	CHECK((long long)j.seq >= acked);
	append(&j, "accepted", "reopened", 0);
	CHECK_INT(journal_commit(&j, err, sizeof(err)), 0);
	journal_close(&j);
	unsetenv("AKC_JOURNAL_WAL");
}

static void
write_failed(void)
{
	write_failed_in("g", 0);
	write_failed_in("h", 1);
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
	RUN(wal_replay);
	RUN(wal_direct);
	RUN(wal_failed_sync);
	RUN(write_failed);
	RUN(reads_flat);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 2;
	return unit_done();
}
