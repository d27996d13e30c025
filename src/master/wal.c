/* wal.c: the journal's preallocated write-ahead file (see wal.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wal.h"
#include "xmalloc.h"

/*
 * Layout. Bytes [0, 512): the header, "AKCWAL1\n", the generation (8
 * bytes, little-endian), the CRC of those 16 bytes (4). From 512: records
 * back to back, each a 24-byte head (magic "AKWR", payload length 4,
 * generation 8, CRC 4 of length, generation and payload, 4 zero) and the
 * payload: operations, 'P' klen(4) key vlen(4) value or 'D' klen(4) key.
 * Integers little-endian.
 */
#define HDR_BYTES	512
#define REC_HEAD	24
#define REC_MAGIC	0x52574b41u	/* "AKWR" */
static const char hdr_magic[8] = { 'A', 'K', 'C', 'W', 'A', 'L', '1', '\n' };

static uint32_t crc_table[256];

/* CRC-32C (Castagnoli), bitwise table; the table is made on first use. */
static uint32_t
crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
	size_t i;

	if (crc_table[1] == 0) {
		uint32_t c, k, b;

		for (b = 0; b < 256; b++) {
			c = b;
			for (k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			crc_table[b] = c;
		}
	}
	crc = ~crc;
	for (i = 0; i < n; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
put32(unsigned char *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int
failx(char *err, size_t errlen, const struct wal *w, const char *what)
{
	snprintf(err, errlen, "journal %s: %s: %s", w->dir, WAL_NAME, what);
	return -1;
}

static int
failerr(char *err, size_t errlen, const struct wal *w, const char *what)
{
	snprintf(err, errlen, "journal %s: %s: %s: %s", w->dir, WAL_NAME, what, strerror(errno));
	return -1;
}

static int
full_pwrite(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;

	while (n > 0) {
		ssize_t r = pwrite(fd, c, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* The header for generation gen, written and synced at offset 0. */
static int
write_header(struct wal *w, uint64_t gen)
{
	unsigned char h[HDR_BYTES];

	memset(h, 0, sizeof(h));
	memcpy(h, hdr_magic, 8);
	put64(h + 8, gen);
	put32(h + 16, crc32c(0, h, 16));
	if (full_pwrite(w->fd, h, sizeof(h), 0) < 0 || fdatasync(w->fd) < 0)
		return -1;
	w->gen = gen;
	w->off = HDR_BYTES;
	return 0;
}

/* A new file of WAL_BYTES zeros (then its header) under its name, synced with its directory. */
static int
make_file(struct wal *w, const char *path, char *err, size_t errlen)
{
	char tmp[620];
	static const char zero[65536];
	off_t o;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	w->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0)
		return failerr(err, errlen, w, "cannot create");
	for (o = 0; o < WAL_BYTES; o += (off_t)sizeof(zero))
		if (full_pwrite(w->fd, zero, sizeof(zero), o) < 0)
			return failerr(err, errlen, w, "cannot write");
	if (write_header(w, 1) < 0 || fsync(w->fd) < 0 || rename(tmp, path) < 0 || sync_dir(w->dir) < 0)
		return failerr(err, errlen, w, "cannot make");
	w->size = WAL_BYTES;
	return 0;
}

/* Payload ops into batch b: 0, or -1 when they do not parse (a CRC that matched damaged data). */
static int
ops_to_batch(const unsigned char *p, size_t n, leveldb_writebatch_t *b)
{
	size_t i = 0;

	while (i < n) {
		char op = (char)p[i++];
		uint32_t kl, vl;

		if (n - i < 4)
			return -1;
		kl = get32(p + i);
		i += 4;
		if (n - i < kl)
			return -1;
		if (op == 'D') {
			leveldb_writebatch_delete(b, (const char *)p + i, kl);
			i += kl;
			continue;
		}
		if (op != 'P' || n - i - kl < 4)
			return -1;
		vl = get32(p + i + kl);
		if (n - i - kl - 4 < vl)
			return -1;
		leveldb_writebatch_put(b, (const char *)p + i, kl, (const char *)p + i + kl + 4, vl);
		i += kl + 4 + vl;
	}
	return 0;
}

/* Point 1: the valid records into db (one synced write); their count, or -1. */
static long
replay(struct wal *w, leveldb_t *db, char *err, size_t errlen)
{
	unsigned char h[HDR_BYTES], rh[REC_HEAD], *pay = NULL;
	leveldb_writebatch_t *b;
	leveldb_writeoptions_t *ws;
	char *lerr = NULL;
	off_t off = HDR_BYTES;
	long n = 0;
	int bad = 0;

	if (pread(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, hdr_magic, 8) != 0 ||
	    get32(h + 16) != crc32c(0, h, 16))
		return failx(err, errlen, w, "damaged header");
	w->gen = get64(h + 8);
	b = leveldb_writebatch_create();
	for (;;) {
		uint32_t len;

		if (off + REC_HEAD > w->size || pread(w->fd, rh, REC_HEAD, off) != REC_HEAD)
			break;
		len = get32(rh + 4);
		if (get32(rh) != REC_MAGIC || get64(rh + 8) != w->gen || (off_t)len > w->size - off - REC_HEAD)
			break;
		pay = xreallocarray(pay, len ? len : 1, 1);
		if (pread(w->fd, pay, len, off + REC_HEAD) != (ssize_t)len)
			break;
		if (get32(rh + 16) != crc32c(crc32c(0, rh + 4, 12), pay, len))
			break;
		if (ops_to_batch(pay, len, b) < 0) {
			bad = 1;
			break;
		}
		n++;
		off += REC_HEAD + (off_t)len;
	}
	free(pay);
	if (bad) {
		leveldb_writebatch_destroy(b);
		return failx(err, errlen, w, "a record's operations do not parse");
	}
	if (n > 0) {
		ws = leveldb_writeoptions_create();
		leveldb_writeoptions_set_sync(ws, 1);
		leveldb_write(db, ws, b, &lerr);
		leveldb_writeoptions_destroy(ws);
	}
	leveldb_writebatch_destroy(b);
	if (lerr != NULL) {
		snprintf(err, errlen, "journal %s: %s: cannot replay: %s", w->dir, WAL_NAME, lerr);
		leveldb_free(lerr);
		return -1;
	}
	w->off = off;
	w->replayed = (uint64_t)n;
	return n;
}

int
wal_open(struct wal *w, leveldb_t *db, const char *dir, int on, char *err, size_t errlen)
{
	char path[600];
	struct stat st;
	long n;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, WAL_NAME);
	w->fd = open(path, O_RDWR | O_CLOEXEC);
	if (w->fd < 0) {
		if (errno != ENOENT)
			return failerr(err, errlen, w, "cannot open");
		return on ? make_file(w, path, err, errlen) : 0;
	}
	if (fstat(w->fd, &st) < 0)
		return failerr(err, errlen, w, "cannot stat");
	w->size = st.st_size;
	if ((n = replay(w, db, err, errlen)) < 0)
		return -1;
	if (!on) {
		/* replayed (synced): the file goes, the journal is LevelDB's alone */
		close(w->fd);
		w->fd = -1;
		if (unlink(path) < 0 || sync_dir(dir) < 0)
			return failerr(err, errlen, w, "cannot remove");
		return 0;
	}
	if (n > 0 && wal_checkpoint(w, db, err, errlen) < 0)
		return -1;
	return 0;
}

void
wal_close(struct wal *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->buf);
	w->fd = -1;
	w->buf = NULL;
}

int
wal_dirty(const struct wal *w)
{
	return w->fd >= 0 && w->off > HDR_BYTES;
}

static void
grow(struct wal *w, size_t more)
{
	if (w->len + more <= w->cap)
		return;
	w->cap = w->cap ? w->cap : 4096;
	while (w->cap < w->len + more)
		w->cap *= 2;
	w->buf = xreallocarray(w->buf, w->cap, 1);
}

static void
op_put(void *arg, const char *k, size_t klen, const char *v, size_t vlen)
{
	struct wal *w = arg;

	grow(w, 9 + klen + vlen);
	w->buf[w->len++] = 'P';
	put32((unsigned char *)w->buf + w->len, (uint32_t)klen);
	memcpy(w->buf + w->len + 4, k, klen);
	w->len += 4 + klen;
	put32((unsigned char *)w->buf + w->len, (uint32_t)vlen);
	memcpy(w->buf + w->len + 4, v, vlen);
	w->len += 4 + vlen;
}

static void
op_delete(void *arg, const char *k, size_t klen)
{
	struct wal *w = arg;

	grow(w, 5 + klen);
	w->buf[w->len++] = 'D';
	put32((unsigned char *)w->buf + w->len, (uint32_t)klen);
	memcpy(w->buf + w->len + 4, k, klen);
	w->len += 4 + klen;
}

int
wal_append(struct wal *w, leveldb_writebatch_t *b, char *err, size_t errlen)
{
	unsigned char *h;
	size_t pay;
	struct iovec iov;
	ssize_t r;

	if (w->failed)
		return failx(err, errlen, w, "a write or checkpoint failed before: the journal must be opened again");
	w->len = 0;
	grow(w, REC_HEAD);
	w->len = REC_HEAD;
	leveldb_writebatch_iterate(b, w, op_put, op_delete);
	pay = w->len - REC_HEAD;
	if ((off_t)w->len > w->size - w->off || pay > UINT32_MAX)
		return 1;
	h = (unsigned char *)w->buf;
	put32(h, REC_MAGIC);
	put32(h + 4, (uint32_t)pay);
	put64(h + 8, w->gen);
	put32(h + 16, crc32c(crc32c(0, h + 4, 12), h + REC_HEAD, pay));
	put32(h + 20, 0);
	iov.iov_base = w->buf;
	iov.iov_len = w->len;
	if (!w->plain) {
		do
			r = pwritev2(w->fd, &iov, 1, w->off, RWF_DSYNC);
		while (r < 0 && errno == EINTR);
		if (r < 0 && (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL))
			w->plain = 1;
		else if (r != (ssize_t)w->len)
			return failerr(err, errlen, w, "cannot write");
	}
	if (w->plain && (full_pwrite(w->fd, w->buf, w->len, w->off) < 0 || fdatasync(w->fd) < 0))
		return failerr(err, errlen, w, "cannot write");
	w->off += (off_t)w->len;
	w->records++;
	return 0;
}

/* Every LevelDB log in the directory synced (a log switched from holds unsynced writes). */
static int
sync_logs(struct wal *w)
{
	DIR *d = opendir(w->dir);
	struct dirent *e;
	char path[1100];
	size_t l;
	int fd, rc = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".log") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", w->dir, e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			if (errno == ENOENT)	/* compacted meanwhile: its table is synced */
				continue;
			rc = -1;
			break;
		}
		if (fdatasync(fd) < 0)
			rc = -1;
		close(fd);
	}
	closedir(d);
	return rc < 0 ? -1 : sync_dir(w->dir);
}

int
wal_checkpoint(struct wal *w, leveldb_t *db, char *err, size_t errlen)
{
	leveldb_writeoptions_t *ws;
	leveldb_writebatch_t *b;
	char *lerr = NULL;

	if (w->failed)
		return failx(err, errlen, w, "a write or checkpoint failed before: the journal must be opened again");
	if (!wal_dirty(w))
		return 0;
	/* from here a failure is for good (wal.h, point 4) */
	w->failed = 1;
	/* an empty synced write syncs the current log; then the older ones */
	ws = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(ws, 1);
	b = leveldb_writebatch_create();
	leveldb_write(db, ws, b, &lerr);
	leveldb_writebatch_destroy(b);
	leveldb_writeoptions_destroy(ws);
	if (lerr != NULL) {
		snprintf(err, errlen, "journal %s: cannot sync for a checkpoint: %s", w->dir, lerr);
		leveldb_free(lerr);
		return -1;
	}
	if (sync_logs(w) < 0)
		return failerr(err, errlen, w, "cannot sync LevelDB's logs");
	if (write_header(w, w->gen + 1) < 0)
		return failerr(err, errlen, w, "cannot write the header");
	w->failed = 0;
	w->checkpoints++;
	return 0;
}
