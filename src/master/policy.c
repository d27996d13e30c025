/* policy.c: the master's job policy, without I/O (see policy.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy.h"
#include "request.h"
#include "utf8.h"
#include "xmalloc.h"

void
policy_init(struct policy *p, const struct policy_conf *c, struct work *w,
    void (*emit)(void *, cJSON *), void *arg, msec_t now)
{
	memset(p, 0, sizeof(*p));
	p->c = *c;
	p->w = w;
	p->emit = emit;
	p->arg = arg;
	p->started = now;
}

void
policy_free(struct policy *p)
{
	free(p->wks);
	free(p->kills);
	memset(p, 0, sizeof(*p));
}

/* ---- cancels to tell ---- */

static void
kill_note(struct policy *p, const char *worker, const char *id, int64_t until)
{
	struct pkill *k;

	if (p->nkills == POLICY_KILLS_MAX) {
		/* the oldest is the likeliest to have ended by its timeout already */
		memmove(p->kills, p->kills + 1, (size_t)--p->nkills * sizeof(*p->kills));
	}
	if (p->nkills == p->capkills) {
		p->capkills = p->capkills ? 2 * p->capkills : 16;
		p->kills = xreallocarray(p->kills, p->capkills, sizeof(*p->kills));
	}
	k = &p->kills[p->nkills++];
	snprintf(k->worker, sizeof(k->worker), "%s", worker);
	snprintf(k->id, sizeof(k->id), "%s", id);
	k->until = until;
}

cJSON *
policy_kills(struct policy *p, const char *worker)
{
	cJSON *ids = NULL;
	int i, k;

	for (i = k = 0; i < p->nkills; i++)
		if (strcmp(p->kills[i].worker, worker) == 0) {
			if (ids == NULL)
				ids = cJSON_CreateArray();
			cJSON_AddItemToArray(ids, cJSON_CreateString(p->kills[i].id));
		} else
			p->kills[k++] = p->kills[i];
	p->nkills = k;
	return ids;
}

int
policy_kills_for(const struct policy *p, const char *worker)
{
	int i;

	for (i = 0; i < p->nkills; i++)
		if (strcmp(p->kills[i].worker, worker) == 0)
			return 1;
	return 0;
}

int64_t
policy_timeout(const struct policy *p, const struct job *j)
{
	return j->timeout_ms > 0 ? j->timeout_ms : p->c.work_timeout;
}

void
policy_recall_kills(struct policy *p, int64_t wall)
{
	const struct job *j;

	for (j = p->w->fin_head; j != NULL; j = j->next) {
		/* cancelled while running: its history ends with started, cancelled */
		if (j->status != JOB_CANCELLED || j->nhist < 2 ||
		    strcmp(j->hist[j->nhist - 2].e, EV_STARTED) != 0 || j->worker[0] == '\0')
			continue;
		if (j->finished > 0 && j->finished + policy_timeout(p, j) > wall)
			kill_note(p, j->worker, j->id, j->finished + policy_timeout(p, j));
	}
}

/* ---- workers ---- */

struct pworker *
policy_seen(struct policy *p, const char *id, msec_t now)
{
	int i;

	for (i = 0; i < p->nwks; i++)
		if (strcmp(p->wks[i].id, id) == 0) {
			p->wks[i].seen = now;
			return &p->wks[i];
		}
	if (p->nwks == p->capwks) {
		p->capwks = p->capwks ? 2 * p->capwks : 16;
		p->wks = xreallocarray(p->wks, p->capwks, sizeof(*p->wks));
	}
	snprintf(p->wks[p->nwks].id, sizeof(p->wks[0].id), "%s", id);
	p->wks[p->nwks].seen = now;
	log_info("worker %s registered", id);
	return &p->wks[p->nwks++];
}

/*
 * An attempt ended without a result: again, or failed for good after
 * max-attempts, with the tail of that attempt's stderr (errtail, NULL if
 * its worker sent none).
 */
static void
attempt_over(struct policy *p, struct job *jb, const char *worker, const char *why,
    int timed_out, const char *errtail, int64_t wall)
{
	cJSON *ev;

	if (jb->attempts >= p->c.max_attempts) {
		char msg[300];

		snprintf(msg, sizeof(msg), "gave up after %d attempts: %s", jb->attempts, why);
		utf8_scrub(msg);
		ev = ev_with_stderr(ev_failed(jb, msg), errtail);
	} else if (timed_out) {
		ev = ev_timed_out(jb);
		if (strcmp(why, "timed out") != 0)
			cJSON_AddStringToObject(ev, "why", why);
	} else
		ev = ev_attempt_failed(jb, worker, why);
	p->emit(p->arg, ev_at(ev, wall));
}

/* Ends every attempt running on worker as lost (why); returns how many. */
static int
worker_lost(struct policy *p, const char *worker, const char *why, int64_t wall)
{
	struct job *jb;
	int n = 0, again = 1;

	while (again) {
		again = 0;
		for (jb = p->w->run_head; jb != NULL; jb = jb->next)
			if (strcmp(jb->worker, worker) == 0) {
				attempt_over(p, jb, jb->worker, why, 1, NULL, wall);
				n++;
				again = 1;
				break;	/* the running list changed */
			}
	}
	return n;
}

static void
worker_drop(struct policy *p, int i)
{
	int k, n;

	/* its pending kill notes go too: the job it ran is retried elsewhere or over */
	for (n = k = 0; n < p->nkills; n++)
		if (strcmp(p->kills[n].worker, p->wks[i].id) != 0)
			p->kills[k++] = p->kills[n];
	p->nkills = k;
	p->wks[i] = p->wks[--p->nwks];
}

int
policy_unregister(struct policy *p, const char *worker, int64_t wall)
{
	char why[WORKER_ID_MAX + 32];
	int i, n;

	snprintf(why, sizeof(why), "worker %s stopped", worker);
	n = worker_lost(p, worker, why, wall);
	for (i = 0; i < p->nwks; i++)
		if (strcmp(p->wks[i].id, worker) == 0) {
			worker_drop(p, i);
			break;
		}
	log_info("worker %s unregistered%s", worker, n ? ": its jobs go to others" : "");
	return n;
}

/* ---- requests ---- */

int
policy_submit(struct policy *p, const char *id, const char *payload, const struct job_opts *o,
    int64_t wall, int *isnew, uint64_t *since, char *err, size_t errlen)
{
	struct job *jb;
	int code;

	*isnew = 0;
	if ((jb = work_find(p->w, id)) != NULL) {
		/*
		 * The same id twice is one job, but only with the same payload: a
		 * different one is another job under a taken name, refused.
		 * Options (priority, delay, timeout) are not compared: a re-sent
		 * submit may not know them.
		 */
		if (work_same_payload(jb, payload) == 0) {
			snprintf(err, errlen, "id %s exists with a different payload", id);
			return 1;
		}
		*since = jb->status >= JOB_DONE ? jb->seq - 1 : p->w->seq;
		return 0;
	}
	if ((code = request_payload(payload, p->c.max_payload, err, errlen)) != 0)
		return code;
	if (p->w->npending >= p->c.max_pending) {
		snprintf(err, errlen, "queue full: %ld jobs pending (max-pending)", p->w->npending);
		return 1;
	}
	p->emit(p->arg, ev_accepted_opts(id, payload, o, wall));
	*isnew = 1;
	*since = p->w->seq;
	return 0;
}

struct job *
policy_next(struct policy *p, const char *worker, uint32_t ask, int64_t wall)
{
	struct job *jb;

	if ((jb = work_next(p->w, wall)) == NULL)
		return NULL;
	p->emit(p->arg, ev_at(ev_started(jb, worker, ask, wall), wall));
	return jb;
}

int
policy_snapshot_due(uint64_t since, long snap_jobs, long every)
{
	return since >= (uint64_t)(snap_jobs > every ? snap_jobs : every);
}

uint64_t
policy_jobs_need(int early, uint64_t own, uint64_t epoch_seq, uint64_t seq, int cancels)
{
	uint64_t need;

	if (!early || cancels)
		return seq;
	need = own > epoch_seq ? own : epoch_seq;
	return need < seq ? need : seq;
}

int
policy_report(struct policy *p, const char *worker, const char *id, long attempt, int success,
    const char *rkey, const char *result, const char *why, const char *errtail, int64_t wall,
    char *err, size_t errlen)
{
	struct job *jb;
	cJSON *ev;

	if ((jb = work_find(p->w, id)) == NULL) {
		snprintf(err, errlen, "no job '%.40s'", id);
		return 1;
	}
	/* a report on a finished job, whose answer was lost: again (a cancelled one is stale) */
	if (jb->status == JOB_DONE || jb->status == JOB_FAILED)
		return 0;
	if (jb->status != JOB_RUNNING || jb->attempts != attempt || strcmp(jb->worker, worker) != 0) {
		snprintf(err, errlen, "job %s: attempt %ld by %s is not the running one%s", id, attempt,
		    worker, jb->status == JOB_CANCELLED ? " (the job was cancelled)" : "");
		return 1;
	}
	if (success) {
		ev = strcmp(rkey, "result") == 0 ? ev_completed(jb, worker, result) :
		    ev_completed_b64(jb, worker, result);
		p->emit(p->arg, ev_at(ev, wall));
	} else
		attempt_over(p, jb, worker, why ? why : "failed", 0, errtail, wall);
	return 0;
}

int
policy_report_next(struct policy *p, const char *worker, const char *id, long attempt,
    int success, const char *rkey, const char *result, const char *why, const char *errtail,
    int64_t wall, struct job **next, char *err, size_t errlen)
{
	int rc;

	if (next != NULL)
		*next = NULL;
	rc = policy_report(p, worker, id, attempt, success, rkey, result, why, errtail, wall, err,
	    errlen);
	if (rc == 0 && next != NULL)
		*next = policy_next(p, worker, 0, wall);
	return rc;
}

int
policy_next_batch(struct policy *p, const char *worker, uint32_t ask, int64_t wall,
    struct job **jobs, int max)
{
	int n = 0;

	while (n < max && (jobs[n] = policy_next(p, worker, ask, wall)) != NULL)
		n++;
	return n;
}

int
policy_asked(const struct policy *p, const char *worker, uint32_t ask, struct job **jobs, int max)
{
	struct job *jb;
	int n = 0;

	if (ask == 0)
		return 0;
	for (jb = p->w->run_head; jb != NULL && n < max; jb = jb->next)
		if (jb->status == JOB_RUNNING && jb->ask == ask && strcmp(jb->worker, worker) == 0)
			jobs[n++] = jb;
	return n;
}

int
policy_reports(struct policy *p, const char *worker, struct preport *r, int n, int64_t wall,
    struct job **next, int max, int *nnext)
{
	int i, taken = 0;

	for (i = 0; i < n; i++) {
		if (r[i].rc != 0)
			continue;
		r[i].rc = policy_report(p, worker, r[i].id, r[i].attempt, r[i].success, r[i].rkey,
		    r[i].result, r[i].why, r[i].errtail, wall, r[i].err, sizeof(r[i].err));
		if (r[i].rc == 0)
			taken++;
	}
	*nnext = max > 0 ? policy_next_batch(p, worker, 0, wall, next, max) : 0;
	return taken;
}

int
policy_cancel(struct policy *p, const char *id, int64_t wall, char *err, size_t errlen)
{
	struct job *jb;

	if ((jb = work_find(p->w, id)) == NULL) {
		snprintf(err, errlen, "no job %.128s", id);
		return 1;
	}
	if (jb->status != JOB_PENDING && jb->status != JOB_RUNNING) {
		snprintf(err, errlen, "job %s is already %s", id, job_status_name(jb->status));
		return 1;
	}
	if (jb->status == JOB_RUNNING)
		kill_note(p, jb->worker, jb->id, jb->started + policy_timeout(p, jb));
	p->emit(p->arg, ev_at(ev_cancelled(jb), wall));
	log_info("job %s cancelled", id);
	return 0;
}

/* ---- time ---- */

/*
 * keep-finished: a mark of the last event every keep-finished / MARK_EVERY
 * (on the monotonic clock: a jump of the wall clock forgets nothing early);
 * finished jobs up to the newest mark older than keep-finished are
 * forgotten, by an event, so a replay forgets the same. So a job is kept
 * between keep-finished and 1 + 1/MARK_EVERY times that. Marks start with
 * this master: after a failover, jobs finished before it are kept
 * keep-finished longer. Their result lines stay in the journal.
 */
#define MARK_EVERY	(POLICY_MARKS / 2)

static void
forget_tick(struct policy *p, msec_t now)
{
	msec_t keep = p->c.keep_finished, every = keep / MARK_EVERY;
	int i, best = -1;
	long before;

	if (keep <= 0)
		return;
	if (every < 100)
		every = 100;
	if (p->nmarks == 0 || now - p->marks[p->nmarks - 1].at >= every) {
		if (p->nmarks == POLICY_MARKS)	/* not while marks span keep-finished: the oldest go */
			memmove(p->marks, p->marks + 1, (size_t)--p->nmarks * sizeof(*p->marks));
		p->marks[p->nmarks++] = (struct pmark){ now, p->w->seq };
	}
	for (i = 0; i < p->nmarks; i++)
		if (p->marks[i].at <= now - keep)
			best = i;
	if (best < 0)
		return;
	if (p->marks[best].seq > p->w->forgot_upto && work_forgettable(p->w, p->marks[best].seq)) {
		before = p->w->nforgotten;
		p->emit(p->arg, ev_forget(p->marks[best].seq));
		log_info("forgot %ld finished job%s (up to event %llu, finished over %llds ago)",
		    p->w->nforgotten - before, p->w->nforgotten - before == 1 ? "" : "s",
		    (unsigned long long)p->marks[best].seq, (long long)(keep / 1000));
	}
	/* the marks before it are of no more use */
	memmove(p->marks, p->marks + best, (size_t)(p->nmarks - best) * sizeof(*p->marks));
	p->nmarks -= best;
}

void
policy_tick(struct policy *p, msec_t now, int64_t wall)
{
	struct job *jb;
	int i, k;

	forget_tick(p, now);
	/* told or not, a kill note past its attempt's timeout is of no more use */
	for (i = k = 0; i < p->nkills; i++)
		if (p->kills[i].until + p->c.timeout_grace > wall)
			p->kills[k++] = p->kills[i];
	p->nkills = k;
	/*
	 * Fresh from a replay (a failover), attempts and workers get a grace:
	 * the workers re-register and their held reports arrive through the
	 * proxy before anything is declared timed out or lost.
	 */
	if (now - p->started < p->c.start_grace)
		return;
	/* attempts past their timeout (the worker kills them at that time too) */
	while ((jb = work_overdue(p->w, wall, p->c.work_timeout, p->c.timeout_grace)) != NULL) {
		log_debug("job %s: attempt %d on %s timed out", jb->id, jb->attempts, jb->worker);
		attempt_over(p, jb, jb->worker, "timed out", 1, NULL, wall);
	}
	/* workers gone silent: their jobs go to someone else */
	for (i = 0; i < p->nwks; ) {
		if (now - p->wks[i].seen < p->c.worker_gone) {
			i++;
			continue;
		}
		log_notice("worker %s not heard from for %llds: dropped", p->wks[i].id,
		    (long long)(p->c.worker_gone / 1000));
		worker_lost(p, p->wks[i].id, "worker lost", wall);
		worker_drop(p, i);
	}
}
