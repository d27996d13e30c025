/*
 * wal.h: a preallocated write-ahead file beside the journal's LevelDB, so
 * that a commit is one write into blocks already on disk (branch sync,
 * issue 12; doc/ARCHITECTURE.md "The journal's write-ahead file").
 *
 * LevelDB appends each synced write to its log and fdatasyncs it: the
 * file grows, so on this ext4 every commit costs two device writes one
 * after the other (the data, then the inode for the new size) and two
 * wake-ups of the writer. With the WAL on, a commit writes its batch to
 * LevelDB unsynced and the same operations as one record into DIR/akc.wal,
 * a file of fixed size written with zeros when it was made, by one
 * pwritev2(RWF_DSYNC): one device write, no size change. A commit is
 * durable when its record is.
 *
 *   1. Replay: opening applies every valid record of the current
 *      generation to LevelDB in one synced write, then empties the file.
 *      A record is valid when its magic, generation, length and CRC agree;
 *      the first that does not ends the log (a write cut short by a crash
 *      was never acknowledged).
 *   2. Checkpoint: when the file is full, and before any write that does
 *      not go through it (a snapshot, a promise, a truncation, a wipe,
 *      salvage), LevelDB's logs are synced and the generation in the
 *      header moves on: the records are void. So a record never replays
 *      over a later delete.
 *   3. Weak point: between checkpoints LevelDB's log holds unsynced
 *      writes. A process crash keeps them (the page cache); a power loss
 *      on a file system that does not order data before size (ext4 without
 *      a journal, as on the bench machine) can leave garbage at the log's
 *      end, which LevelDB's paranoid checks refuse at open: the journal
 *      then does not open. No acknowledged event is lost (this file
 *      holds them): `master --repair`, then the replay, gets them back;
 *      not done by itself.
 *   4. A checkpoint that fails (LevelDB's logs or the header not synced:
 *      EIO, a full disk) leaves the file refusing every later append and
 *      checkpoint, so the process stops and the records replay when it
 *      opens again. Trying again is not safe: after a failed fdatasync
 *      Linux marks the pages clean whether or not they reached the disk,
 *      so a second sync succeeds without writing them, and the checkpoint
 *      after it would void the records that are their only durable copy.
 *      A failed LevelDB write of the journal (journal.c, write_failed) sets
 *      it too: LevelDB's log may end in a torn record, which a later write
 *      would put inside the log, where the next open refuses it as corrupt.
 */
#ifndef MASTER_WAL_H
#define MASTER_WAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <leveldb/c.h>

struct wal {
	int fd;				/* -1: no WAL (off) */
	int plain;			/* pwritev2 RWF_DSYNC refused: pwrite + fdatasync */
	int failed;			/* a checkpoint, or a LevelDB write of the journal,
					   failed: nothing more (point 4; journal.c) */
	char dir[512];
	uint64_t gen;			/* the header's generation: records of others are void */
	off_t off;			/* where the next record goes */
	off_t size;			/* the file's fixed size */
	char *buf;			/* a record being built */
	size_t len, cap;
	uint64_t records, checkpoints, replayed;
};

#define WAL_NAME	"akc.wal"
#define WAL_BYTES	(1 << 20)	/* a new file's size */

/*
 * Opens DIR/akc.wal (making it when on and absent) and replays its records
 * into db (point 1). With on = 0 a file found is replayed and removed.
 * 0, or -1 with a one-line reason (a damaged header or record payload).
 */
int wal_open(struct wal *, leveldb_t *db, const char *dir, int on, char *err, size_t errlen);
void wal_close(struct wal *);
/*
 * Batch b's operations as one record, durable when this returns: 0; 1 when
 * it does not fit in what is left (the caller writes b synced, then
 * checkpoints); -1 with the reason.
 */
int wal_append(struct wal *, leveldb_writebatch_t *b, char *err, size_t errlen);
/*
 * Point 2: LevelDB's logs synced, the records void; 0 or -1 with the
 * reason, after which every append and checkpoint fails (point 4).
 */
int wal_checkpoint(struct wal *, leveldb_t *db, char *err, size_t errlen);
/* Records since the last checkpoint: a direct write must checkpoint first. */
int wal_dirty(const struct wal *);

#endif
