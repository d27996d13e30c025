/*
 * journal.h: the master's journal in LevelDB. Keys:
 *   "e" + seq (8 bytes, big-endian)  one event (JSON), seq = 1, 2, ...
 *   "r" + seq                        the result line of a job finished by event seq
 *   "s"                              the latest snapshot: {"seq", "ep", "eps", ...state}
 *   "p"                              the epoch promised to a master
 *   "o" + n (8 bytes, big-endian)    salvage: an event this log held after the point
 *                                    where it parted from the master's, kept until
 *                                    the master has merged it (n = 1, 2, ...)
 * Events are appended to a batch and made durable together by one synced
 * write (group commit: LevelDB groups commits only across threads, and the
 * master has one). A snapshot deletes the events it covers in the same
 * write; LevelDB's compaction then drops them from disk.
 */
#ifndef MASTER_JOURNAL_H
#define MASTER_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <leveldb/c.h>

#include "epochs.h"
#include "wal.h"

struct journal {
	char path[512];
	leveldb_t *db;
	leveldb_options_t *opt;
	leveldb_writeoptions_t *wsync;
	leveldb_writeoptions_t *wnosync;	/* a commit's LevelDB write when the WAL holds it */
	struct wal wal;			/* the write-ahead file (wal.h); fd -1: off */
	leveldb_readoptions_t *ro;
	leveldb_writebatch_t *batch;
	int nbatch;			/* events in the batch */
	uint64_t seq;			/* the last event appended */
	uint64_t durable;		/* the last event made durable */
	uint64_t snap_seq;		/* the latest snapshot covers events up to here */
	uint64_t last_ep;		/* the epoch of the last event */
	struct epochs eps;		/* where each epoch of the log begins */
	uint64_t o_first, o_next;	/* salvage keys held: [o_first, o_next) */
	uint64_t commits, synced_events;
	/*
	 * The batch's events and result lines as text, in the order they were
	 * put: journal_read serves them before they are durable, so that the
	 * master sends its batch to the standbys before it syncs it (the two
	 * syncs overlap; doc/PROTOCOL.md, "Journal replication").
	 */
	struct jpend *pend;
	int npend, pendcap;
	uint64_t promised;		/* "p" as stored (read at open, set by journal_promise) */
	uint64_t db_reads;		/* LevelDB gets and iterators of journal_read and the promise */
	int64_t batch_us;		/* when the batch's first event was put (clock_mono_us) */
	int64_t sync_us;		/* how long the last commit's synced write took */
};

struct jpend {
	char kind;			/* 'e' an event, 'r' a result line */
	uint64_t seq;
	char *txt;
};

/* Opens (creating) the journal in dir; -1 with a one-line reason. */
int journal_open(struct journal *, const char *dir, char *err, size_t errlen);
void journal_close(struct journal *);
/*
 * Replays the snapshot (if any) and every event after it, in order. Events
 * must follow each other without a gap; a callback's -1 stops the replay.
 * Returns -1 with the reason (a corrupt or truncated journal).
 */
int journal_replay(struct journal *,
    int (*on_snapshot)(const cJSON *snap, void *arg, char *err, size_t errlen),
    int (*on_event)(uint64_t seq, const cJSON *ev, void *arg, char *err, size_t errlen),
    void *arg, char *err, size_t errlen);
/* Appends an event to the current batch; returns its seq. */
uint64_t journal_append(struct journal *, const cJSON *ev);
/* Stores the result line of a finished job under the seq of its final event. */
void journal_put_result(struct journal *, uint64_t seq, const cJSON *line);
/*
 * Makes the batch durable (one synced write); 0, or -1 with the reason.
 * Until then its events and result lines are in the journal's memory only
 * (journal_read sends them, nothing else reads them).
 */
int journal_commit(struct journal *, char *err, size_t errlen);
/*
 * Writes a snapshot of the state after event seq (with the log's epoch runs
 * up to there added as "eps") and drops the events it covers.
 */
int journal_snapshot(struct journal *, uint64_t seq, cJSON *snap, char *err, size_t errlen);
/* The result line stored for seq (parsed), or NULL. */
cJSON *journal_result(struct journal *, uint64_t seq);
/* Result lines with seq > since, at most max, appended to arr; returns the last seq seen. */
uint64_t journal_results(struct journal *, uint64_t since, int max, cJSON *arr);
/* ---- replication (standbys and recovery) ---- */

/* The epoch promised to a master ("p"), 0 if none; journal_promise writes it synced. */
uint64_t journal_promised(struct journal *);
int journal_promise(struct journal *, uint64_t epoch, char *err, size_t errlen);
/* The epoch of event seq ("ep" in it; the snapshot's at its seq), 0 if unknown. */
uint64_t journal_epoch_of(struct journal *, uint64_t seq);
/* The last seq, its epoch and the epoch runs, without replaying (a standby's view of its log). */
int journal_scan(struct journal *, char *err, size_t errlen);
/* Puts an event received from the master at its seq into the batch. */
void journal_store(struct journal *, uint64_t seq, const cJSON *ev);
/* Deletes every event, result and snapshot (a standby that diverged); synced. */
int journal_wipe(struct journal *, char *err, size_t errlen);
/* Drops the events and result lines after seq (another epoch's tail); synced. */
int journal_truncate(struct journal *, uint64_t seq, char *err, size_t errlen);
/* Puts a received snapshot (state after seq) into the batch. */
void journal_store_snapshot(struct journal *, uint64_t seq, const cJSON *snap);
/*
 * About maxbytes of the log from seq `from` on, into msg: when from is behind
 * the snapshot, the snapshot's text from byte snap_off on, at most maxbytes
 * of it, as "snapc" {"seq","off","total","data"} (and nothing else until its
 * last piece); then "events" [{"seq","ev"}], and the result lines
 * from seq rfrom up to the last event included, "results" [{"seq","line"}].
 * Sets "last" (events and snapshot up to here) and "rlast" (every result
 * line up to here is included or was sent before). The batch not yet
 * committed is included: what is read may not be durable here yet.
 */
void journal_read(struct journal *, uint64_t from, uint64_t rfrom, size_t maxbytes, uint64_t snap_off,
    cJSON *msg);
/*
 * Moves what the log holds after seq `after` aside as salvage and cuts the
 * log there, in one synced write, so that nothing is ever dropped before it
 * is kept: the events after it and, when `after` is behind the snapshot,
 * the snapshot's jobs as events (made by expand, which may read result
 * lines; NULL if it cannot) — the log is then emptied. Returns the number of
 * events kept aside, or -1 with the reason (nothing changed).
 */
long journal_salvage(struct journal *, uint64_t after,
    cJSON *(*expand)(const cJSON *snap, struct journal *), char *err, size_t errlen);
/*
 * Salvage from key `from` on, about maxbytes of it, appended to arr as
 * {"k", "ev"}; returns the last key read, or 0 if none.
 */
uint64_t journal_salvage_read(struct journal *, uint64_t from, size_t maxbytes, cJSON *arr);
/* Deletes the salvage up to key upto (merged by the master); synced. */
int journal_salvage_drop(struct journal *, uint64_t upto, char *err, size_t errlen);
/* The bytes of the journal's files on disk (LevelDB's tables, log and manifest). */
uint64_t journal_disk_bytes(const struct journal *);
/* leveldb's repair, for master --repair. */
int journal_repair(const char *dir, char *err, size_t errlen);

#endif
