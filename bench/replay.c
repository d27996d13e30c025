/*
 * bench/replay.c: how long the master takes to read its journal back, with
 * the master's own code (src/master/journal.c, work.c) on a real LevelDB.
 *
 *   replay write DIR EVENTS [SNAP_AT]
 *	a fresh journal in DIR: an epoch marker, then accepted / started /
 *	completed cycles (with the result line of each completed job, as the
 *	master stores it) up to EVENTS events, journal_append + journal_commit
 *	in batches of 1000 synced writes; with SNAP_AT, a snapshot of the state
 *	after event SNAP_AT is written there (it drops the events it covers, as
 *	the master's does). Prints "events jobs seconds".
 *   replay snapshot DIR [KEEP]
 *	replays DIR, then writes a snapshot at its last event; with KEEP, first
 *	journals a forget event (keep-finished) that leaves the KEEP jobs that
 *	finished last. Prints "seq seconds_replay seconds_snapshot
 *	snapshot_bytes jobs seconds_forget".
 *   replay read DIR
 *	opens DIR and replays it into a fresh work state, as a starting master
 *	does (journal_open + journal_replay). Prints "last_seq snap_seq
 *	events_replayed open_s replay_s total_s jobs done maxrss_kib".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "journal.h"
#include "json.h"
#include "work.h"

#define BATCH	1000

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "replay: %s: %s\n", what, err);
	exit(1);
}

struct w {
	struct journal j;
	struct work w;
	uint64_t snap_at;
	uint64_t events;
};

static void
snapshot(struct w *x)
{
	char err[512];
	cJSON *snap = work_snapshot(&x->w);

	json_add_u64(snap, "ep", journal_epoch_of(&x->j, x->w.seq));
	if (journal_snapshot(&x->j, x->w.seq, snap, err, sizeof(err)) < 0)
		die("snapshot", err);
	cJSON_Delete(snap);
}

/* As the master's record(): the epoch on it, journalled, applied, the result line. */
static void
record(struct w *x, cJSON *ev)
{
	char err[512];
	uint64_t seq;
	const char *e;

	json_add_u64(ev, "ep", 1);
	seq = journal_append(&x->j, ev);
	if (work_apply(&x->w, seq, ev, err, sizeof(err)) < 0)
		die("apply", err);
	e = json_str(ev, "e");
	if (strcmp(e, "completed") == 0) {
		struct job *jb = work_find(&x->w, json_str(ev, "id"));
		cJSON *l = cJSON_CreateObject();

		cJSON_AddNumberToObject(l, "seq", (double)seq);
		cJSON_AddStringToObject(l, "id", jb->id);
		cJSON_AddStringToObject(l, "status", "done");
		cJSON_AddStringToObject(l, "result", json_str(ev, "result"));
		cJSON_AddNumberToObject(l, "attempts", jb->attempts);
		cJSON_AddStringToObject(l, "worker", jb->worker);
		journal_put_result(&x->j, seq, l);
		cJSON_Delete(l);
	}
	cJSON_Delete(ev);
	if (x->j.nbatch >= BATCH && journal_commit(&x->j, err, sizeof(err)) < 0)
		die("commit", err);
	if (seq == x->snap_at) {
		if (journal_commit(&x->j, err, sizeof(err)) < 0)
			die("commit", err);
		snapshot(x);
	}
}

static int
cmd_write(const char *dir, uint64_t events, uint64_t snap_at)
{
	static struct w x;
	static const char *worker = "n2-12345-0123456789abcdef";
	char err[512], id[64], text[128];
	unsigned char b64[256];
	uint64_t k = 0;
	double t0 = now_s();
	cJSON *ev;

	if (journal_open(&x.j, dir, err, sizeof(err)) < 0)
		die("open", err);
	work_init(&x.w);
	x.snap_at = snap_at;
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "e", "epoch");
	record(&x, ev);
	while (x.j.seq + 3 <= events) {
		struct job *jb;
		size_t i, n;
		static const char t[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

		snprintf(id, sizeof(id), "job-%08llu", (unsigned long long)k++);
		/* a 64-byte payload, base64 as submitted */
		n = (size_t)snprintf(text, sizeof(text), "payload of %s ", id);
		memset(text + n, 'x', 64 - n);
		for (i = n = 0; i + 2 < 64; i += 3) {
			unsigned v = (unsigned)text[i] << 16 | (unsigned)text[i + 1] << 8 |
			    (unsigned char)text[i + 2];
			b64[n++] = t[v >> 18];
			b64[n++] = t[(v >> 12) & 63];
			b64[n++] = t[(v >> 6) & 63];
			b64[n++] = t[v & 63];
		}
		b64[n++] = t[(unsigned char)text[63] >> 2];
		b64[n++] = t[((unsigned char)text[63] & 3) << 4];
		b64[n++] = '=';
		b64[n++] = '=';
		b64[n] = '\0';
		record(&x, ev_accepted(id, (char *)b64));
		jb = work_find(&x.w, id);
		record(&x, ev_started(jb, worker, 0, 1763800000000LL + (int64_t)k));
		text[64] = '\0';
		record(&x, ev_completed(jb, worker, text));
	}
	if (journal_commit(&x.j, err, sizeof(err)) < 0)
		die("commit", err);
	printf("%llu %llu %.3f\n", (unsigned long long)x.j.seq, (unsigned long long)k, now_s() - t0);
	journal_close(&x.j);
	work_free(&x.w);
	return 0;
}

static int
on_snapshot(const cJSON *snap, void *arg, char *err, size_t errlen)
{
	return work_restore(arg, snap, err, errlen);
}

static int
on_event(uint64_t seq, const cJSON *ev, void *arg, char *err, size_t errlen)
{
	return work_apply(arg, seq, ev, err, errlen);
}

static int
cmd_read(const char *dir)
{
	static struct w x;
	char err[1024];
	double t0 = now_s(), t1, t2;
	struct rusage ru;

	work_init(&x.w);
	if (journal_open(&x.j, dir, err, sizeof(err)) < 0)
		die("open", err);
	t1 = now_s();
	if (journal_replay(&x.j, on_snapshot, on_event, &x.w, err, sizeof(err)) < 0)
		die("replay", err);
	t2 = now_s();
	getrusage(RUSAGE_SELF, &ru);
	printf("%llu %llu %llu %.3f %.3f %.3f %zu %ld %ld\n", (unsigned long long)x.j.seq,
	    (unsigned long long)x.j.snap_seq, (unsigned long long)(x.j.seq - x.j.snap_seq),
	    t1 - t0, t2 - t1, t2 - t0, x.w.n, x.w.ndone, ru.ru_maxrss);
	journal_close(&x.j);
	work_free(&x.w);
	return 0;
}

static int
cmd_snapshot(const char *dir, long keep)
{
	static struct w x;
	char err[1024], *txt;
	double t0 = now_s(), t1, t2, tf = 0;
	cJSON *snap;
	size_t len;

	work_init(&x.w);
	if (journal_open(&x.j, dir, err, sizeof(err)) < 0 ||
	    journal_replay(&x.j, on_snapshot, on_event, &x.w, err, sizeof(err)) < 0)
		die("replay", err);
	if (keep >= 0) {
		const struct job *jb = x.w.fin_tail;
		long k;

		for (k = 0; jb != NULL && k < keep; k++)
			jb = jb->prev;
		if (jb != NULL) {
			tf = now_s();
			record(&x, ev_forget(jb->seq));
			if (journal_commit(&x.j, err, sizeof(err)) < 0)
				die("commit", err);
			tf = now_s() - tf;
		}
	}
	t1 = now_s();
	snapshot(&x);
	t2 = now_s();
	snap = work_snapshot(&x.w);
	txt = json_print(snap);
	len = strlen(txt);
	cJSON_free(txt);
	cJSON_Delete(snap);
	printf("%llu %.3f %.3f %zu %zu %.3f\n", (unsigned long long)x.w.seq, t1 - t0 - tf, t2 - t1, len,
	    x.w.n, tf);
	journal_close(&x.j);
	work_free(&x.w);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "write") == 0)
		return cmd_write(argv[2], strtoull(argv[3], NULL, 10),
		    argc >= 5 ? strtoull(argv[4], NULL, 10) : 0);
	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return cmd_read(argv[2]);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "snapshot") == 0)
		return cmd_snapshot(argv[2], argc == 4 ? strtol(argv[3], NULL, 10) : -1);
	fprintf(stderr, "usage: replay write DIR EVENTS [SNAP_AT] | read DIR | snapshot DIR [KEEP]\n");
	return 2;
}
