/* journal.c: the master's LevelDB journal (see journal.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "journal.h"
#include "log.h"

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
	j->ro = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(j->ro, 1);
	j->batch = leveldb_writebatch_create();
	return 0;
}

void
journal_close(struct journal *j)
{
	if (j->batch)
		leveldb_writebatch_destroy(j->batch);
	if (j->ro)
		leveldb_readoptions_destroy(j->ro);
	if (j->wsync)
		leveldb_writeoptions_destroy(j->wsync);
	if (j->db)
		leveldb_close(j->db);
	if (j->opt)
		leveldb_options_destroy(j->opt);
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

	v = leveldb_get(j->db, j->ro, "s", 1, &vlen, &lerr);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot read the snapshot", j->path);
	if (v != NULL) {
		cJSON *snap = json_parse(v, vlen);

		leveldb_free(v);
		if (snap == NULL || json_u64(snap, "seq", &j->snap_seq) < 0) {
			cJSON_Delete(snap);
			snprintf(err, errlen, "journal %s: the snapshot is not valid JSON", j->path);
			return -1;
		}
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
		if ((ev = json_parse(iv, vlen)) == NULL) {
			snprintf(err, errlen, "journal %s: event %llu is not valid JSON", j->path,
			    (unsigned long long)seq);
			rc = -1;
			break;
		}
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

uint64_t
journal_append(struct journal *j, const cJSON *ev)
{
	char k[9], *txt = json_print(ev);

	key(k, 'e', ++j->seq);
	leveldb_writebatch_put(j->batch, k, 9, txt, strlen(txt));
	cJSON_free(txt);
	j->nbatch++;
	return j->seq;
}

void
journal_put_result(struct journal *j, uint64_t seq, const cJSON *line)
{
	char k[9], *txt = json_print(line);

	key(k, 'r', seq);
	leveldb_writebatch_put(j->batch, k, 9, txt, strlen(txt));
	cJSON_free(txt);
}

int
journal_commit(struct journal *j, char *err, size_t errlen)
{
	char *lerr = NULL;

	if (j->nbatch == 0)
		return 0;
	leveldb_write(j->db, j->wsync, j->batch, &lerr);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot write", j->path);
	leveldb_writebatch_clear(j->batch);
	j->commits++;
	j->synced_events += (uint64_t)j->nbatch;
	j->nbatch = 0;
	j->durable = j->seq;
	return 0;
}

int
journal_snapshot(struct journal *j, uint64_t seq, const cJSON *snap, char *err, size_t errlen)
{
	char *lerr = NULL, k[9], *txt;
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	leveldb_iterator_t *it;
	size_t klen;

	txt = json_print(snap);
	leveldb_writebatch_put(b, "s", 1, txt, strlen(txt));
	cJSON_free(txt);
	/* the events it covers go in the same write */
	it = leveldb_create_iterator(j->db, j->ro);
	key(k, 'e', 0);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen);

		if (klen != 9 || ik[0] != 'e' || key_seq(ik) > seq)
			break;
		leveldb_writebatch_delete(b, ik, klen);
	}
	leveldb_iter_destroy(it);
	leveldb_write(j->db, j->wsync, b, &lerr);
	leveldb_writebatch_destroy(b);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot write a snapshot", j->path);
	j->snap_seq = seq;
	return 0;
}

cJSON *
journal_result(struct journal *j, uint64_t seq)
{
	char k[9], *lerr = NULL, *v;
	size_t vlen;
	cJSON *r;

	key(k, 'r', seq);
	v = leveldb_get(j->db, j->ro, k, 9, &vlen, &lerr);
	if (lerr != NULL) {
		log_warnx("journal %s: cannot read result %llu: %s", j->path,
		    (unsigned long long)seq, lerr);
		leveldb_free(lerr);
		return NULL;
	}
	if (v == NULL)
		return NULL;
	r = json_parse(v, vlen);
	leveldb_free(v);
	return r;
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
		if ((r = json_parse(iv, vlen)) != NULL) {
			cJSON_AddItemToArray(arr, r);
			n++;
		}
		last = key_seq(ik);
	}
	leveldb_iter_destroy(it);
	return last;
}

uint64_t
journal_promised(struct journal *j)
{
	char *lerr = NULL, *v, buf[32];
	size_t vlen;
	uint64_t p = 0;

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

int
journal_promise(struct journal *j, uint64_t epoch, char *err, size_t errlen)
{
	char *lerr = NULL, buf[24];

	u64_to_str(epoch, buf);
	leveldb_put(j->db, j->wsync, "p", 1, buf, strlen(buf), &lerr);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot write the epoch", j->path);
	return 0;
}

static cJSON *
get_json(struct journal *j, const char *k, size_t klen)
{
	char *lerr = NULL, *v;
	size_t vlen;
	cJSON *r;

	v = leveldb_get(j->db, j->ro, k, klen, &vlen, &lerr);
	if (lerr != NULL) {
		leveldb_free(lerr);
		return NULL;
	}
	if (v == NULL)
		return NULL;
	r = json_parse(v, vlen);
	leveldb_free(v);
	return r;
}

uint64_t
journal_epoch_of(struct journal *j, uint64_t seq)
{
	char k[9];
	cJSON *ev;
	uint64_t ep = 0;

	if (seq == 0)
		return 0;
	key(k, 'e', seq);
	if ((ev = get_json(j, k, 9)) == NULL && seq == j->snap_seq)
		ev = get_json(j, "s", 1);
	if (ev != NULL)
		json_u64(ev, "ep", &ep);
	cJSON_Delete(ev);
	return ep;
}

int
journal_scan(struct journal *j, char *err, size_t errlen)
{
	char k[9], *lerr = NULL;
	size_t klen;
	leveldb_iterator_t *it;
	cJSON *snap = get_json(j, "s", 1);

	j->snap_seq = 0;
	if (snap != NULL)
		json_u64(snap, "seq", &j->snap_seq);
	cJSON_Delete(snap);
	j->seq = j->snap_seq;
	it = leveldb_create_iterator(j->db, j->ro);
	key(k, 'e', UINT64_MAX);
	leveldb_iter_seek(it, k, 9);
	if (leveldb_iter_valid(it))
		leveldb_iter_prev(it);
	else
		leveldb_iter_seek_to_last(it);
	/* the last "e" key at or before the end of the event range */
	while (leveldb_iter_valid(it)) {
		const char *ik = leveldb_iter_key(it, &klen);

		if (klen == 9 && ik[0] == 'e') {
			if (key_seq(ik) > j->seq)
				j->seq = key_seq(ik);
			break;
		}
		if (klen >= 1 && ik[0] < 'e')
			break;
		leveldb_iter_prev(it);
	}
	leveldb_iter_get_error(it, &lerr);
	leveldb_iter_destroy(it);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot read", j->path);
	j->durable = j->seq;
	j->last_ep = journal_epoch_of(j, j->seq);
	return 0;
}

void
journal_store(struct journal *j, uint64_t seq, const cJSON *ev)
{
	char k[9], *txt = json_print(ev);

	key(k, 'e', seq);
	leveldb_writebatch_put(j->batch, k, 9, txt, strlen(txt));
	cJSON_free(txt);
	j->nbatch++;
	j->seq = seq;
	json_u64(ev, "ep", &j->last_ep);
}

int
journal_truncate(struct journal *j, uint64_t seq, char *err, size_t errlen)
{
	char *lerr = NULL, k[9];
	size_t klen;
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	leveldb_iterator_t *it = leveldb_create_iterator(j->db, j->ro);
	int pass;

	for (pass = 0; pass < 2; pass++) {
		key(k, pass == 0 ? 'e' : 'r', seq + 1);
		for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it); leveldb_iter_next(it)) {
			const char *ik = leveldb_iter_key(it, &klen);

			if (klen != 9 || ik[0] != k[0])
				break;
			leveldb_writebatch_delete(b, ik, klen);
		}
	}
	leveldb_iter_destroy(it);
	leveldb_write(j->db, j->wsync, b, &lerr);
	leveldb_writebatch_destroy(b);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot truncate", j->path);
	j->seq = j->durable = seq;
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
	json_u64(snap, "ep", &j->last_ep);
}

int
journal_wipe(struct journal *j, char *err, size_t errlen)
{
	char *lerr = NULL;
	size_t klen;
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	leveldb_iterator_t *it = leveldb_create_iterator(j->db, j->ro);

	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen);

		if (klen >= 1 && (ik[0] == 'e' || ik[0] == 'r' || ik[0] == 's'))
			leveldb_writebatch_delete(b, ik, klen);
	}
	leveldb_iter_destroy(it);
	leveldb_write(j->db, j->wsync, b, &lerr);
	leveldb_writebatch_destroy(b);
	if (lerr != NULL)
		return fail(&lerr, err, errlen, "cannot wipe", j->path);
	j->seq = j->durable = j->snap_seq = j->last_ep = 0;
	return 0;
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

	if (from <= j->snap_seq) {
		char *lerr = NULL, *v = leveldb_get(j->db, j->ro, "s", 1, &vlen, &lerr);

		leveldb_free(lerr);
		if (v != NULL && snap_off <= vlen) {
			/* the snapshot goes in pieces: it holds every job ever accepted */
			size_t n = vlen - snap_off < maxbytes ? vlen - snap_off : maxbytes;
			char *piece = malloc(n + 1);
			cJSON *sc = cJSON_AddObjectToObject(msg, "snapc");

			if (piece == NULL)
				fatal("malloc");
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
	it = leveldb_create_iterator(j->db, j->ro);
	key(k, 'e', from);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it) && bytes < maxbytes; leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen), *iv;
		cJSON *o, *ev;

		if (klen != 9 || ik[0] != 'e' || (s = key_seq(ik)) != last + 1)
			break;
		iv = leveldb_iter_value(it, &vlen);
		if ((ev = json_parse(iv, vlen)) == NULL)
			break;
		o = cJSON_CreateObject();
		json_add_u64(o, "seq", s);
		cJSON_AddItemToObject(o, "ev", ev);
		cJSON_AddItemToArray(evs, o);
		bytes += vlen;
		last = s;
	}
	leveldb_iter_destroy(it);
	/* the result lines up to there, as many as fit */
	rlast = last;
	it = leveldb_create_iterator(j->db, j->ro);
	key(k, 'r', rfrom);
	for (leveldb_iter_seek(it, k, 9); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		const char *ik = leveldb_iter_key(it, &klen), *iv;
		cJSON *o, *line;

		if (klen != 9 || ik[0] != 'r' || key_seq(ik) > last)
			break;
		if (bytes >= 2 * maxbytes) {
			rlast = key_seq(ik) - 1;	/* the rest next time */
			break;
		}
		iv = leveldb_iter_value(it, &vlen);
		if ((line = json_parse(iv, vlen)) == NULL)
			continue;
		o = cJSON_CreateObject();
		json_add_u64(o, "seq", key_seq(ik));
		cJSON_AddItemToObject(o, "line", line);
		cJSON_AddItemToArray(res, o);
		bytes += vlen;
	}
	leveldb_iter_destroy(it);
	json_add_u64(msg, "last", last);
	json_add_u64(msg, "rlast", rlast < rfrom - 1 ? rfrom - 1 : rlast);
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
