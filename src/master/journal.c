/* journal.c: the master's LevelDB journal (see journal.h). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "json.h"
#include "journal.h"
#include "log.h"
#include "wal.h"
#include "xmalloc.h"

static void
key(char k[9], char kind, uint64_t seq)
{
	int i;

	k[0] = kind;
	for (i = 0; i < 8; i++)
		k[1 + i] = (char)(seq >> (56 - 8 * i));
}

static uint64_t
key_seq(const char *k)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < 8; i++)
		s = (s << 8) | (unsigned char)k[1 + i];
	return s;
}

/* Takes a leveldb error string: copies it into err and frees it. */
static int
fail(char **lerr, char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "journal %s: %s: %s", path, what, *lerr ? *lerr : "failed");
	leveldb_free(*lerr);
	*lerr = NULL;
	return -1;
}

/*
 * A failed LevelDB write (a full disk, EIO): LevelDB's log may now end in a
 * torn record, and a write after it would put that record inside the log,
 * where the next open finds it corrupt and refuses the journal. So it is
 * final, as a failed checkpoint is (wal.h, point 4): every later commit and
 * direct write is refused, the process stops, and the next open sees the
 * torn record at the end, where LevelDB drops it (what it held was not
 * acknowledged; the write-ahead file replays what was).
 */
static int
write_failed(struct journal *j, char **lerr, char *err, size_t errlen, const char *what)
{
	j->wal.failed = 1;
	return fail(lerr, err, errlen, what, j->path);
}

/*
 * A direct write (a snapshot, a promise, a truncation, a wipe, a salvage):
 * the write-ahead file checkpointed first, so that its records do not come
 * back over it at the next open (wal.h), then b synced. b is destroyed.
 */
static int
direct_write(struct journal *j, leveldb_writebatch_t *b, const char *what, char *err,
    size_t errlen)
{
	char *lerr = NULL;

	if (wal_checkpoint(&j->wal, j->db, err, errlen) < 0) {
		leveldb_writebatch_destroy(b);
		return -1;
	}
	leveldb_write(j->db, j->wsync, b, &lerr);
	leveldb_writebatch_destroy(b);
	if (lerr != NULL)
		return write_failed(j, &lerr, err, errlen, what);
	return 0;
}

/* The salvage keys held, [o_first, o_next); none: both 1. */
static void
salvage_range(struct journal *j)
{
	leveldb_iterator_t *it = leveldb_create_iterator(j->db, j->ro);
	const char *ik;
	char k[9];
	size_t klen;

	j->o_first = j->o_next = 1;
	key(k, 'o', 0);
	leveldb_iter_seek(it, k, 9);
	if (leveldb_iter_valid(it) && (ik = leveldb_iter_key(it, &klen)) && klen == 9 && ik[0] == 'o') {
		j->o_first = key_seq(ik);
		key(k, 'o', UINT64_MAX);
		leveldb_iter_seek(it, k, 9);
		if (leveldb_iter_valid(it))
			leveldb_iter_prev(it);
		else
			leveldb_iter_seek_to_last(it);
		while (leveldb_iter_valid(it)) {
			ik = leveldb_iter_key(it, &klen);
			if (klen == 9 && ik[0] == 'o') {
				j->o_next = key_seq(ik) + 1;
				break;
			}
			leveldb_iter_prev(it);
		}
	}
	leveldb_iter_destroy(it);
}

/*
 * The epoch runs of a log that starts at snapshot snap (after event seq):
 * the runs it carries, or for a snapshot written before they were, only
 * its own epoch from its seq on.
 */
static void
eps_of_snapshot(struct journal *j, const cJSON *snap, uint64_t seq)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(snap, "eps");
	uint64_t ep = 0;

	if (e != NULL && epochs_from_json(&j->eps, e) == 0) {
		epochs_cut(&j->eps, seq);
		if (j->eps.n > 0)
			return;
	}
	json_u64(snap, "ep", &ep);
	epochs_clear(&j->eps, seq);
	epochs_note(&j->eps, seq, ep);
}

/* An event took its place at seq: the runs and the last epoch follow it. */
static void
note_epoch(struct journal *j, uint64_t seq, const cJSON *ev)
{
	uint64_t ep = 0;

	json_u64(ev, "ep", &ep);
	epochs_note(&j->eps, seq, ep);
	j->last_ep = ep;
}

static uint64_t read_promised(struct journal *);

int
journal_open(struct journal *j, const char *dir, char *err, size_t errlen)
{
	char *lerr = NULL;

	memset(j, 0, sizeof(*j));
	snprintf(j->path, sizeof(j->path), "%s", dir);
	j->opt = leveldb_options_create();
	leveldb_options_set_create_if_missing(j->opt, 1);
	/* a damaged file is an error, never silently skipped */
	leveldb_options_set_paranoid_checks(j->opt, 1);
	j->db = leveldb_open(j->opt, dir, &lerr);
	if (lerr != NULL) {
		leveldb_options_destroy(j->opt);
		j->opt = NULL;
		return fail(&lerr, err, errlen, "cannot open", dir);
	}
	j->wsync = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(j->wsync, 1);
	j->wnosync = leveldb_writeoptions_create();
	/* the write-ahead file (wal.h); AKC_JOURNAL_WAL=0: every commit a synced LevelDB write */
	if (wal_open(&j->wal, j->db, dir, env_flag("AKC_JOURNAL_WAL", 1), err, errlen) < 0) {
		wal_close(&j->wal);
		leveldb_close(j->db);
		j->db = NULL;
		leveldb_writeoptions_destroy(j->wsync);
		leveldb_writeoptions_destroy(j->wnosync);
		leveldb_options_destroy(j->opt);
		memset(j, 0, sizeof(*j));
		return -1;
	}
	if (j->wal.replayed > 0)
		log_info("journal %s: %llu records of the write-ahead file replayed", dir,
		    (unsigned long long)j->wal.replayed);
	j->ro = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(j->ro, 1);
	j->batch = leveldb_writebatch_create();
	epochs_init(&j->eps);
	salvage_range(j);
	j->promised = read_promised(j);
	return 0;
}

/* The batch was written (or given up): its copy in memory goes. */
static void
pend_clear(struct journal *j)
{
	int i;

	for (i = 0; i < j->npend; i++)
		cJSON_free(j->pend[i].txt);
	j->npend = 0;
}

void
journal_close(struct journal *j)
{
	pend_clear(j);
	free(j->pend);
	if (j->batch)
		leveldb_writebatch_destroy(j->batch);
	if (j->ro)
		leveldb_readoptions_destroy(j->ro);
	if (j->wsync)
		leveldb_writeoptions_destroy(j->wsync);
	if (j->wnosync)
		leveldb_writeoptions_destroy(j->wnosync);
	wal_close(&j->wal);
	if (j->db)
		leveldb_close(j->db);
	if (j->opt)
		leveldb_options_destroy(j->opt);
	epochs_free(&j->eps);
	memset(j, 0, sizeof(*j));
}

int
journal_replay(struct journal *j,
    int (*on_snapshot)(const cJSON *, void *, char *, size_t),
    int (*on_event)(uint64_t, const cJSON *, void *, char *, size_t),
    void *arg, char *err, size_t errlen)
{
	char *lerr = NULL, k[9], *v;
	size_t vlen, klen;
	leveldb_iterator_t *it;
	uint64_t expect, seq;
	int rc = 0;

	epochs_clear(&j->eps, 1);
	j->snap_seq = 0;
	v = leveldb_get(j->db, j->ro, "s", 1, &vlen, &lerr);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot read the snapshot", j->path);
	if (v != NULL) {
		cJSON *snap = json_parse_stored(v, vlen);

		leveldb_free(v);
		if (snap == NULL || json_u64(snap, "seq", &j->snap_seq) < 0) {
			cJSON_Delete(snap);
			snprintf(err, errlen, "journal %s: the snapshot is not valid JSON", j->path);
			return -1;
		}
		eps_of_snapshot(j, snap, j->snap_seq);
		rc = on_snapshot(snap, arg, err, errlen);
		cJSON_Delete(snap);
		if (rc < 0)
			return -1;
	}
	expect = j->snap_seq + 1;
	it = leveldb_create_iterator(j->db, j->ro);
	key(k, 'e', 0);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen), *iv;
		cJSON *ev;

		if (klen < 1 || ik[0] != 'e')
			break;
		if (klen != 9) {
			snprintf(err, errlen, "journal %s: a malformed event key", j->path);
			rc = -1;
			break;
		}
		seq = key_seq(ik);
		if (seq <= j->snap_seq)
			continue;	/* covered by the snapshot, not deleted yet */
		if (seq != expect) {
			snprintf(err, errlen, "journal %s: event %llu is missing (the next is %llu)",
			    j->path, (unsigned long long)expect, (unsigned long long)seq);
			rc = -1;
			break;
		}
		iv = leveldb_iter_value(it, &vlen);
		if ((ev = json_parse_stored(iv, vlen)) == NULL) {
			snprintf(err, errlen, "journal %s: event %llu is not valid JSON", j->path,
			    (unsigned long long)seq);
			rc = -1;
			break;
		}
		note_epoch(j, seq, ev);
		rc = on_event(seq, ev, arg, err, errlen);
		cJSON_Delete(ev);
		if (rc < 0)
			break;
		expect++;
	}
	leveldb_iter_get_error(it, &lerr);
	leveldb_iter_destroy(it);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot read", j->path);
	if (rc < 0)
		return -1;
	j->seq = j->durable = expect - 1;
	j->last_ep = journal_epoch_of(j, j->seq);
	return 0;
}

/* Puts JSON value v under kind and seq ('e' event, 'r' result line) into the open batch. */
static void
batch_json(struct journal *j, char kind, uint64_t seq, const cJSON *v)
{
	char k[9], *txt = json_print(v);

	key(k, kind, seq);
	leveldb_writebatch_put(j->batch, k, 9, txt, strlen(txt));
	if (j->npend == 0)
		j->batch_us = clock_mono_us();
	if (j->npend == j->pendcap) {
		j->pendcap = j->pendcap ? 2 * j->pendcap : 64;
		j->pend = xreallocarray(j->pend, (size_t)j->pendcap, sizeof(*j->pend));
	}
	/* kept (not freed) for journal_read until the batch is written */
	j->pend[j->npend++] = (struct jpend){ kind, seq, txt };
}

uint64_t
journal_append(struct journal *j, const cJSON *ev)
{
	batch_json(j, 'e', ++j->seq, ev);
	j->nbatch++;
	note_epoch(j, j->seq, ev);
	return j->seq;
}

void
journal_put_result(struct journal *j, uint64_t seq, const cJSON *line)
{
	batch_json(j, 'r', seq, line);
}

int
journal_commit(struct journal *j, char *err, size_t errlen)
{
	char *lerr = NULL;
	int64_t t0;
	int rc;

	if (j->nbatch == 0)
		return 0;
	if (j->wal.failed) {	/* also without the write-ahead file (write_failed) */
		snprintf(err, errlen, "journal %s: a write or checkpoint failed before: the journal "
		    "must be opened again", j->path);
		return -1;
	}
	t0 = clock_mono_us();
	if (j->wal.fd < 0 || (rc = wal_append(&j->wal, j->batch, err, errlen)) > 0) {
		/* no write-ahead file, or no room in it: LevelDB's synced write */
		leveldb_write(j->db, j->wsync, j->batch, &lerr);
		if (lerr == NULL && wal_checkpoint(&j->wal, j->db, err, errlen) < 0)
			return -1;
	} else if (rc < 0)
		return -1;
	else	/* durable in the write-ahead file; LevelDB's copy needs no sync */
		leveldb_write(j->db, j->wnosync, j->batch, &lerr);
	if (lerr != NULL)
		return write_failed(j, &lerr, err, errlen, "cannot write");
	j->sync_us = clock_mono_us() - t0;
	leveldb_writebatch_clear(j->batch);
	pend_clear(j);
	j->commits++;
	j->synced_events += (uint64_t)j->nbatch;
	j->nbatch = 0;
	j->durable = j->seq;
	return 0;
}

/* Deletes, in batch b, the stored keys of kind with seq in [from, upto]. */
static void
batch_delete(struct journal *j, leveldb_writebatch_t *b, char kind, uint64_t from, uint64_t upto)
{
	leveldb_iterator_t *it = leveldb_create_iterator(j->db, j->ro);
	char k[9];
	size_t klen;

	key(k, kind, from);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen);

		if (klen != 9 || ik[0] != kind || key_seq(ik) > upto)
			break;
		leveldb_writebatch_delete(b, ik, klen);
	}
	leveldb_iter_destroy(it);
}

int
journal_snapshot(struct journal *j, uint64_t seq, cJSON *snap, char *err, size_t errlen)
{
	char *txt;
	leveldb_writebatch_t *b = leveldb_writebatch_create();

	/* the epochs of the events it covers: a common prefix is found below it too */
	cJSON_DeleteItemFromObjectCaseSensitive(snap, "eps");
	cJSON_AddItemToObject(snap, "eps", epochs_json(&j->eps, seq, 1 << 30));
	txt = json_print(snap);
	leveldb_writebatch_put(b, "s", 1, txt, strlen(txt));
	cJSON_free(txt);
	/* the events it covers go in the same write */
	batch_delete(j, b, 'e', 0, seq);
	if (direct_write(j, b, "cannot write a snapshot", err, errlen) < 0)
		return -1;
	j->snap_seq = seq;
	return 0;
}

/* A stored JSON value (a result line, the snapshot); NULL if absent or unreadable. */
static cJSON *
get_json(struct journal *j, const char *k, size_t klen)
{
	char *lerr = NULL, *v;
	size_t vlen;
	cJSON *r;

	v = leveldb_get(j->db, j->ro, k, klen, &vlen, &lerr);
	if (lerr != NULL) {
		log_warnx("journal %s: cannot read a stored value (key '%c'): %s", j->path,
		    k[0], lerr);
		leveldb_free(lerr);
		return NULL;
	}
	if (v == NULL)
		return NULL;
	r = json_parse_stored(v, vlen);
	leveldb_free(v);
	return r;
}

cJSON *
journal_result(struct journal *j, uint64_t seq)
{
	char k[9];

	key(k, 'r', seq);
	return get_json(j, k, 9);
}

uint64_t
journal_results(struct journal *j, uint64_t since, int max, cJSON *arr)
{
	char k[9];
	size_t klen, vlen;
	leveldb_iterator_t *it = leveldb_create_iterator(j->db, j->ro);
	uint64_t last = since;
	int n = 0;

	key(k, 'r', since + 1);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it) && n < max; leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen), *iv;
		cJSON *r;

		if (klen != 9 || ik[0] != 'r')
			break;
		iv = leveldb_iter_value(it, &vlen);
		if ((r = json_parse_stored(iv, vlen)) != NULL) {
			cJSON_AddItemToArray(arr, r);
			n++;
		}
		last = key_seq(ik);
	}
	leveldb_iter_destroy(it);
	return last;
}

/*
 * The stored promise, read once at open: only journal_promise writes it
 * (a wipe, a truncation and salvage keep it), and the replication core asks
 * for it several times a message, where a LevelDB get costs more the more
 * tables the log has (bench/README.md, q12).
 */
static uint64_t
read_promised(struct journal *j)
{
	char *lerr = NULL, *v, buf[32];
	size_t vlen;
	uint64_t p = 0;

	j->db_reads++;
	v = leveldb_get(j->db, j->ro, "p", 1, &vlen, &lerr);
	if (lerr != NULL) {
		leveldb_free(lerr);
		return 0;
	}
	if (v != NULL && vlen < sizeof(buf)) {
		memcpy(buf, v, vlen);
		buf[vlen] = '\0';
		str_to_u64(buf, &p);
	}
	leveldb_free(v);
	return p;
}

uint64_t
journal_promised(struct journal *j)
{
	return j->promised;
}

int
journal_promise(struct journal *j, uint64_t epoch, char *err, size_t errlen)
{
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	char buf[24];

	u64_to_str(epoch, buf);
	leveldb_writebatch_put(b, "p", 1, buf, strlen(buf));
	if (direct_write(j, b, "cannot write the epoch", err, errlen) < 0)
		return -1;
	j->promised = epoch;
	return 0;
}


uint64_t
journal_epoch_of(struct journal *j, uint64_t seq)
{
	return epochs_of(&j->eps, seq, j->seq);
}

int
journal_scan(struct journal *j, char *err, size_t errlen)
{
	char k[9], *lerr = NULL;
	size_t klen, vlen;
	leveldb_iterator_t *it;
	cJSON *snap = get_json(j, "s", 1);

	j->snap_seq = 0;
	epochs_clear(&j->eps, 1);
	if (snap != NULL && json_u64(snap, "seq", &j->snap_seq) == 0)
		eps_of_snapshot(j, snap, j->snap_seq);
	cJSON_Delete(snap);
	j->seq = j->snap_seq;
	j->last_ep = journal_epoch_of(j, j->seq);
	/* every event after the snapshot, for its epoch; the log ends before a gap */
	it = leveldb_create_iterator(j->db, j->ro);
	key(k, 'e', j->snap_seq + 1);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen), *iv;
		cJSON *ev;

		if (klen != 9 || ik[0] != 'e')
			break;
		if (key_seq(ik) != j->seq + 1) {
			log_warnx("journal %s: event %llu is missing: the log ends at %llu", j->path,
			    (unsigned long long)j->seq + 1, (unsigned long long)j->seq);
			break;
		}
		iv = leveldb_iter_value(it, &vlen);
		if ((ev = json_parse_stored(iv, vlen)) == NULL) {
			log_warnx("journal %s: event %llu is not valid JSON: the log ends at %llu",
			    j->path, (unsigned long long)j->seq + 1, (unsigned long long)j->seq);
			break;
		}
		note_epoch(j, ++j->seq, ev);
		cJSON_Delete(ev);
	}
	leveldb_iter_get_error(it, &lerr);
	leveldb_iter_destroy(it);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot read", j->path);
	j->durable = j->seq;
	return 0;
}

void
journal_store(struct journal *j, uint64_t seq, const cJSON *ev)
{
	batch_json(j, 'e', seq, ev);
	j->nbatch++;
	j->seq = seq;
	note_epoch(j, seq, ev);
}

int
journal_truncate(struct journal *j, uint64_t seq, char *err, size_t errlen)
{
	leveldb_writebatch_t *b = leveldb_writebatch_create();

	batch_delete(j, b, 'e', seq + 1, UINT64_MAX);
	batch_delete(j, b, 'r', seq + 1, UINT64_MAX);
	if (direct_write(j, b, "cannot truncate", err, errlen) < 0)
		return -1;
	j->seq = j->durable = seq;
	epochs_cut(&j->eps, seq);
	j->last_ep = journal_epoch_of(j, seq);
	return 0;
}

void
journal_store_snapshot(struct journal *j, uint64_t seq, const cJSON *snap)
{
	char *txt = json_print(snap);

	leveldb_writebatch_put(j->batch, "s", 1, txt, strlen(txt));
	cJSON_free(txt);
	j->nbatch++;
	j->snap_seq = j->seq = seq;
	eps_of_snapshot(j, snap, seq);
	j->last_ep = journal_epoch_of(j, seq);
}

int
journal_wipe(struct journal *j, char *err, size_t errlen)
{
	size_t klen;
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	leveldb_iterator_t *it = leveldb_create_iterator(j->db, j->ro);

	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen);

		if (klen >= 1 && (ik[0] == 'e' || ik[0] == 'r' || ik[0] == 's'))
			leveldb_writebatch_delete(b, ik, klen);
	}
	leveldb_iter_destroy(it);
	if (direct_write(j, b, "cannot wipe", err, errlen) < 0)
		return -1;
	j->seq = j->durable = j->snap_seq = j->last_ep = 0;
	epochs_clear(&j->eps, 1);
	return 0;
}

/* A result line (stored text) into arr as {"seq", "line"}; its bytes, 0 if it does not parse. */
static size_t
add_line(cJSON *arr, uint64_t seq, const char *txt, size_t len)
{
	cJSON *o, *line;

	if ((line = json_parse_stored(txt, len)) == NULL)
		return 0;
	o = cJSON_CreateObject();
	json_add_u64(o, "seq", seq);
	cJSON_AddItemToObject(o, "line", line);
	cJSON_AddItemToArray(arr, o);
	return len;
}

/* A LevelDB iterator over the log, counted in db_reads. */
static leveldb_iterator_t *
new_iterator(struct journal *j)
{
	j->db_reads++;
	return leveldb_create_iterator(j->db, j->ro);
}

void
journal_read(struct journal *j, uint64_t from, uint64_t rfrom, size_t maxbytes, uint64_t snap_off,
    cJSON *msg)
{
	char k[9];
	size_t klen, vlen, bytes = 0;
	leveldb_iterator_t *it;
	cJSON *evs = cJSON_AddArrayToObject(msg, "events"), *res = cJSON_AddArrayToObject(msg, "results");
	uint64_t last = from - 1, rlast, s;
	int i, full = 0;

	if (from <= j->snap_seq) {
		char *lerr = NULL, *v = leveldb_get(j->db, j->ro, "s", 1, &vlen, &lerr);

		leveldb_free(lerr);
		if (v != NULL && snap_off <= vlen) {
			/* the snapshot goes in pieces: it holds every job ever accepted */
			size_t n = vlen - snap_off < maxbytes ? vlen - snap_off : maxbytes;
			char *piece = xmalloc(n + 1);
			cJSON *sc = cJSON_AddObjectToObject(msg, "snapc");

			memcpy(piece, v + snap_off, n);
			piece[n] = '\0';
			json_add_u64(sc, "seq", j->snap_seq);
			json_add_u64(sc, "off", snap_off);
			json_add_u64(sc, "total", vlen);
			cJSON_AddStringToObject(sc, "data", piece);
			free(piece);
			bytes = n;
			if (snap_off + n < vlen) {
				leveldb_free(v);
				json_add_u64(msg, "last", from - 1);
				json_add_u64(msg, "rlast", rfrom - 1);
				return;
			}
			from = j->snap_seq + 1;
			last = j->snap_seq;
		}
		leveldb_free(v);
	}
	/*
	 * LevelDB holds no event and no result line after the durable end
	 * (they are written at commit): what is asked from after it is all in
	 * the batch, and no iterator is made, whose cost grows with the
	 * log's tables (a merging iterator over each of them; bench/README.md,
	 * q12). This is every append to a standby on duty.
	 */
	it = from > j->durable ? NULL : new_iterator(j);
	key(k, 'e', from);
	for (it != NULL ? leveldb_iter_seek(it, k, 9) : (void)0;
	    it != NULL && leveldb_iter_valid(it) && bytes < maxbytes; leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen), *iv;
		cJSON *o, *ev;

		if (klen != 9 || ik[0] != 'e' || (s = key_seq(ik)) != last + 1)
			break;
		iv = leveldb_iter_value(it, &vlen);
		if ((ev = json_parse_stored(iv, vlen)) == NULL)
			break;
		o = cJSON_CreateObject();
		json_add_u64(o, "seq", s);
		cJSON_AddItemToObject(o, "ev", ev);
		cJSON_AddItemToArray(evs, o);
		bytes += vlen;
		last = s;
	}
	if (it != NULL)
		leveldb_iter_destroy(it);
	/* then the batch not written yet (the master's, before its sync) */
	for (i = 0; i < j->npend && bytes < maxbytes; i++) {
		const struct jpend *p = &j->pend[i];
		cJSON *o, *ev;

		if (p->kind != 'e' || p->seq <= last)
			continue;
		if (p->seq != last + 1 || (ev = json_parse_stored(p->txt, strlen(p->txt))) == NULL)
			break;
		o = cJSON_CreateObject();
		json_add_u64(o, "seq", p->seq);
		cJSON_AddItemToObject(o, "ev", ev);
		cJSON_AddItemToArray(evs, o);
		bytes += strlen(p->txt);
		last = p->seq;
	}
	/* the result lines up to there, as many as fit: the stored ones, then the batch's */
	rlast = last;
	it = rfrom > j->durable ? NULL : new_iterator(j);
	key(k, 'r', rfrom);
	for (it != NULL ? leveldb_iter_seek(it, k, 9) : (void)0;
	    it != NULL && leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen), *iv;

		if (klen != 9 || ik[0] != 'r' || key_seq(ik) > last)
			break;
		if (bytes >= 2 * maxbytes) {
			rlast = key_seq(ik) - 1;	/* the rest next time */
			full = 1;
			break;
		}
		iv = leveldb_iter_value(it, &vlen);
		bytes += add_line(res, key_seq(ik), iv, vlen);
	}
	if (it != NULL)
		leveldb_iter_destroy(it);
	for (i = 0; i < j->npend && !full; i++) {
		const struct jpend *p = &j->pend[i];

		if (p->kind != 'r' || p->seq < rfrom || p->seq > last)
			continue;
		if (bytes >= 2 * maxbytes) {
			rlast = p->seq - 1;
			break;
		}
		bytes += add_line(res, p->seq, p->txt, strlen(p->txt));
	}
	json_add_u64(msg, "last", last);
	json_add_u64(msg, "rlast", rlast < rfrom - 1 ? rfrom - 1 : rlast);
}

/* Puts ev into batch b as the next salvage key. */
static void
salvage_put(struct journal *j, leveldb_writebatch_t *b, const char *txt, size_t len)
{
	char k[9];

	key(k, 'o', j->o_next++);
	leveldb_writebatch_put(b, k, 9, txt, len);
}

long
journal_salvage(struct journal *j, uint64_t after,
    cJSON *(*expand)(const cJSON *snap, struct journal *), char *err, size_t errlen)
{
	char k[9];
	size_t klen, vlen;
	leveldb_writebatch_t *b;
	leveldb_iterator_t *it;
	uint64_t o_next = j->o_next;
	int whole = after < j->snap_seq;
	long n = 0;

	if (after >= j->seq)
		return 0;
	if (j->nbatch > 0) {
		snprintf(err, errlen, "journal %s: salvage with uncommitted events", j->path);
		return -1;
	}
	b = leveldb_writebatch_create();
	if (whole) {
		/* behind the snapshot: its jobs are all that is left of those events */
		cJSON *snap = get_json(j, "s", 1), *evs = NULL, *ev;

		if (snap != NULL && expand != NULL)
			evs = expand(snap, j);
		cJSON_ArrayForEach(ev, evs) {
			char *txt = json_print(ev);

			salvage_put(j, b, txt, strlen(txt));
			cJSON_free(txt);
			n++;
		}
		cJSON_Delete(evs);
		cJSON_Delete(snap);
	}
	it = leveldb_create_iterator(j->db, j->ro);
	key(k, 'e', whole ? 0 : after + 1);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen), *iv;

		if (klen != 9 || ik[0] != 'e')
			break;
		if (key_seq(ik) > j->snap_seq || !whole) {
			iv = leveldb_iter_value(it, &vlen);
			salvage_put(j, b, iv, vlen);
			n++;
		}
		leveldb_writebatch_delete(b, ik, klen);
	}
	/* result lines after the cut (all of them when emptied: the master sends them again) */
	key(k, 'r', whole ? 0 : after + 1);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen);

		if (klen != 9 || ik[0] != 'r')
			break;
		leveldb_writebatch_delete(b, ik, klen);
	}
	leveldb_iter_destroy(it);
	if (whole)
		leveldb_writebatch_delete(b, "s", 1);
	if (direct_write(j, b, "cannot keep events aside", err, errlen) < 0) {
		j->o_next = o_next;
		return -1;
	}
	if (whole) {
		j->seq = j->durable = j->snap_seq = j->last_ep = 0;
		epochs_clear(&j->eps, 1);
	} else {
		j->seq = j->durable = after;
		epochs_cut(&j->eps, after);
		j->last_ep = journal_epoch_of(j, after);
	}
	return n;
}

uint64_t
journal_salvage_read(struct journal *j, uint64_t from, size_t maxbytes, cJSON *arr)
{
	char k[9];
	size_t klen, vlen, bytes = 0;
	leveldb_iterator_t *it = leveldb_create_iterator(j->db, j->ro);
	uint64_t last = 0;

	key(k, 'o', from);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it) && bytes < maxbytes;
	    leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen), *iv;
		cJSON *o, *ev;

		if (klen != 9 || ik[0] != 'o')
			break;
		last = key_seq(ik);
		iv = leveldb_iter_value(it, &vlen);
		if ((ev = json_parse_stored(iv, vlen)) == NULL)
			continue;	/* cannot happen: we wrote it; the master would skip it */
		o = cJSON_CreateObject();
		json_add_u64(o, "k", last);
		cJSON_AddItemToObject(o, "ev", ev);
		cJSON_AddItemToArray(arr, o);
		bytes += vlen;
	}
	leveldb_iter_destroy(it);
	return last;
}

int
journal_salvage_drop(struct journal *j, uint64_t upto, char *err, size_t errlen)
{
	char k[9];
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	uint64_t s;

	if (upto >= j->o_next)
		upto = j->o_next - 1;
	for (s = j->o_first; s <= upto; s++) {
		key(k, 'o', s);
		leveldb_writebatch_delete(b, k, 9);
	}
	if (direct_write(j, b, "cannot drop merged salvage", err, errlen) < 0)
		return -1;
	if (upto >= j->o_first)
		j->o_first = upto + 1;
	return 0;
}

int
journal_repair(const char *dir, char *err, size_t errlen)
{
	leveldb_options_t *o;
	char *lerr = NULL, lock[600];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd;

	/* LevelDB's own lock: never repair under a running master or standby */
	snprintf(lock, sizeof(lock), "%s/LOCK", dir);
	if ((fd = open(lock, O_RDWR)) >= 0 && fcntl(fd, F_SETLK, &fl) < 0) {
		snprintf(err, errlen, "journal %s is in use (a master or standby runs on it): stop it first", dir);
		close(fd);
		return -1;
	}
	o = leveldb_options_create();
	leveldb_repair_db(o, dir, &lerr);
	leveldb_options_destroy(o);
	if (fd >= 0)
		close(fd);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "repair failed", dir);
	return 0;
}

uint64_t
journal_disk_bytes(const struct journal *j)
{
	char path[sizeof(j->path) + 300];
	struct dirent *e;
	struct stat st;
	uint64_t total = 0;
	DIR *d;

	if ((d = opendir(j->path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", j->path, e->d_name);
		if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}
