/*
 * epochs.h: where each epoch of a journal begins, and the common prefix of
 * two journals, without I/O. Every event carries the epoch of the master
 * that wrote it; along a log the epochs never decrease, so a log's epochs
 * are a short list of runs (epoch, first seq). Two logs that hold an event
 * of the same epoch at the same seq hold the same events up to there: one
 * master writes each epoch (a standby promises an epoch to one master only,
 * and epochs carry a random tag, see repl.c), and a standby takes an event
 * only right after the one before it in the master's log. So the common
 * prefix of two logs is where their runs of one epoch last overlap.
 */
#ifndef MASTER_EPOCHS_H
#define MASTER_EPOCHS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#define EPOCHS_MSG_MAX	64		/* runs a message carries: the newest ones */

struct epoch_run {
	uint64_t ep, first;
};

struct epochs {
	struct epoch_run *v;
	int n, cap;
	/*
	 * Epochs are known from this seq on (1: the whole log). A log that
	 * starts at a snapshot written before snapshots carried their runs
	 * knows only the snapshot's epoch, from its seq on.
	 */
	uint64_t lo;
};

void epochs_init(struct epochs *);
void epochs_free(struct epochs *);
void epochs_clear(struct epochs *, uint64_t lo);
/* Event seq (the next one of the log) was written in epoch ep. */
void epochs_note(struct epochs *, uint64_t seq, uint64_t ep);
/* The log now ends at seq: runs that begin after it go. */
void epochs_cut(struct epochs *, uint64_t seq);
/* The epoch of event seq of a log ending at last; 0 for seq 0 and when unknown. */
uint64_t epochs_of(const struct epochs *, uint64_t seq, uint64_t last);
/*
 * The last seq at which logs a (ending at alast) and b (ending at blast)
 * agree on the epoch: their common prefix. 0 when they share nothing known.
 * Never above the true common prefix as long as one master wrote each
 * epoch; below it only when what is known of either log starts above it.
 */
uint64_t epochs_common(const struct epochs *a, uint64_t alast, const struct epochs *b, uint64_t blast);
/*
 * As JSON: {"lo": "N", "runs": [["ep", "first"], ...]} with the runs that
 * begin at or before upto, at most max of them (the newest; lo then rises to
 * the first one kept).
 */
cJSON *epochs_json(const struct epochs *, uint64_t upto, int max);
/* Reads that form back (replacing e); -1 if malformed or out of order. */
int epochs_from_json(struct epochs *, const cJSON *);

#endif
