/* work.c: the master's event-sourced work state (see work.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "work.h"
#include "xmalloc.h"

static const char *status_names[] = { "pending", "running", "done", "failed", "cancelled" };

const char *
job_status_name(enum job_status s)
{
	return status_names[s];
}

void
work_init(struct work *w)
{
	memset(w, 0, sizeof(*w));
	w->nb = 1024;
	w->b = xcalloc(w->nb, sizeof(*w->b));
}

static void
hist_clear(struct job *j)
{
	int i;

	for (i = 0; i < j->nhist; i++) {
		free(j->hist[i].worker);
		free(j->hist[i].why);
	}
	free(j->hist);
	j->hist = NULL;
	j->nhist = 0;
}

static void
job_free(struct job *j)
{
	hist_clear(j);
	free(j->payload);
	free(j);
}

void
work_free(struct work *w)
{
	size_t i;

	for (i = 0; i < w->nb; i++)
		while (w->b[i] != NULL) {
			struct job *j = w->b[i];

			w->b[i] = j->hnext;
			job_free(j);
		}
	free(w->b);
	free(w->ready.a);
	free(w->delayed.a);
	memset(w, 0, sizeof(*w));
}

static size_t
hash(const char *s)
{
	size_t h = 14695981039346656037ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

struct job *
work_find(const struct work *w, const char *id)
{
	struct job *j;

	for (j = w->b[hash(id) & (w->nb - 1)]; j != NULL; j = j->hnext)
		if (strcmp(j->id, id) == 0)
			return j;
	return NULL;
}

static void
grow(struct work *w)
{
	struct job **nb;
	size_t i, n = w->nb * 2;

	nb = xcalloc(n, sizeof(*nb));
	for (i = 0; i < w->nb; i++)
		while (w->b[i] != NULL) {
			struct job *j = w->b[i];

			w->b[i] = j->hnext;
			j->hnext = nb[hash(j->id) & (n - 1)];
			nb[hash(j->id) & (n - 1)] = j;
		}
	free(w->b);
	w->b = nb;
	w->nb = n;
}

static struct job *
add(struct work *w, const char *id)
{
	struct job *j;
	size_t h;

	if (w->n + 1 > w->nb / 4 * 3)
		grow(w);
	j = xcalloc(1, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", id);
	h = hash(id) & (w->nb - 1);
	j->hnext = w->b[h];
	w->b[h] = j;
	w->n++;
	return j;
}

/* ---- the pending heaps, the running list and the finished list ---- */

/* Whether a goes before b among ready jobs: lower priority, then pending first. */
static int
ready_before(const struct job *a, const struct job *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->order < b->order;
}

static int
before(int heap, const struct job *a, const struct job *b)
{
	if (heap == HEAP_DELAYED && a->ready_at != b->ready_at)
		return a->ready_at < b->ready_at;
	return ready_before(a, b);
}

static struct heap *
heap_of(struct work *w, int heap)
{
	return heap == HEAP_READY ? &w->ready : &w->delayed;
}

static void
heap_set(struct heap *h, size_t i, struct job *j)
{
	h->a[i] = j;
	j->hidx = i;
}

static void
sift_up(struct heap *h, int heap, size_t i)
{
	struct job *j = h->a[i];

	while (i > 0 && before(heap, j, h->a[(i - 1) / 2])) {
		heap_set(h, i, h->a[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(h, i, j);
}

static void
sift_down(struct heap *h, int heap, size_t i)
{
	struct job *j = h->a[i];
	size_t c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && before(heap, h->a[c + 1], h->a[c]))
			c++;
		if (!before(heap, h->a[c], j))
			break;
		heap_set(h, i, h->a[c]);
		i = c;
	}
	heap_set(h, i, j);
}

static void
heap_push(struct work *w, int heap, struct job *j)
{
	struct heap *h = heap_of(w, heap);

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 1024;
		h->a = xreallocarray(h->a, h->cap, sizeof(*h->a));
	}
	j->heap = heap;
	heap_set(h, h->n++, j);
	sift_up(h, heap, h->n - 1);
}

static void
heap_remove(struct work *w, struct job *j)
{
	struct heap *h = heap_of(w, j->heap);
	size_t i = j->hidx;
	int heap = j->heap;
	struct job *last;

	j->heap = HEAP_NONE;
	if (i == --h->n)
		return;
	last = h->a[h->n];
	heap_set(h, i, last);
	sift_up(h, heap, i);
	sift_down(h, heap, last->hidx);
}

/* Appends j to the list from *head to *tail. */
static void
append(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	j->prev = *tail;
	if (*tail != NULL)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

/* Takes a pending or running job out of its heap or list. */
static void
unlink_job(struct work *w, struct job *j)
{
	if (j->status == JOB_PENDING) {
		heap_remove(w, j);
		w->npending--;
		return;
	}
	if (j->prev != NULL)
		j->prev->next = j->next;
	else if (w->run_head == j)
		w->run_head = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (j->status == JOB_RUNNING)
		w->nrunning--;
	j->prev = j->next = NULL;
}

/* Makes j pending as of event seq: it queues behind the jobs pending before. */
static void
enqueue(struct work *w, struct job *j, uint64_t seq)
{
	j->status = JOB_PENDING;
	j->order = seq;
	heap_push(w, j->ready_at > 0 ? HEAP_DELAYED : HEAP_READY, j);
	w->npending++;
}

static void
run(struct work *w, struct job *j)
{
	j->status = JOB_RUNNING;
	j->prev = NULL;
	j->next = w->run_head;
	if (w->run_head != NULL)
		w->run_head->prev = j;
	w->run_head = j;
	w->nrunning++;
}

static void
finish(struct work *w, struct job *j, enum job_status st, uint64_t seq)
{
	j->status = st;
	j->seq = seq;
	free(j->payload);
	j->payload = NULL;
	if (st == JOB_DONE)
		w->ndone++;
	else if (st == JOB_FAILED)
		w->nfailed++;
	else
		w->ncancelled++;
	/* the finished list stays in seq order: events come in order */
	append(&w->fin_head, &w->fin_tail, j);
}

/* Takes the job out of the hash table and frees it. */
static void
drop(struct work *w, struct job *j)
{
	struct job **pp;

	for (pp = &w->b[hash(j->id) & (w->nb - 1)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == j) {
			*pp = j->hnext;
			break;
		}
	w->n--;
	job_free(j);
}

static void
forget(struct work *w, uint64_t upto)
{
	struct job *j;

	while ((j = w->fin_head) != NULL && j->seq <= upto) {
		w->fin_head = j->next;
		if (w->fin_head != NULL)
			w->fin_head->prev = NULL;
		else
			w->fin_tail = NULL;
		drop(w, j);
		w->nforgotten++;
	}
	w->forgot_upto = upto;
}

int
work_forgettable(const struct work *w, uint64_t upto)
{
	return w->fin_head != NULL && w->fin_head->seq <= upto;
}

/* ---- events ---- */

static cJSON *
event(const char *type, const char *id)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "e", type);
	cJSON_AddStringToObject(e, "id", id);
	return e;
}

cJSON *
ev_accepted(const char *id, const char *payload_b64)
{
	cJSON *e = event(EV_ACCEPTED, id);

	cJSON_AddStringToObject(e, "payload", payload_b64);
	return e;
}

cJSON *
ev_at(cJSON *ev, int64_t wall)
{
	cJSON_DeleteItemFromObjectCaseSensitive(ev, "at");
	cJSON_AddNumberToObject(ev, "at", (double)wall);
	return ev;
}

cJSON *
ev_accepted_opts(const char *id, const char *payload_b64, const struct job_opts *o, int64_t wall)
{
	cJSON *e = ev_at(ev_accepted(id, payload_b64), wall);

	/* defaults stay out: such an event reads as one from before the options */
	if (o->priority != WORK_PRIORITY_DEFAULT)
		cJSON_AddNumberToObject(e, "priority", (double)o->priority);
	if (o->delay_ms > 0)
		cJSON_AddNumberToObject(e, "ready_at", (double)(wall + o->delay_ms));
	if (o->timeout_ms > 0)
		cJSON_AddNumberToObject(e, "timeout_ms", (double)o->timeout_ms);
	return e;
}

cJSON *
ev_cancelled(const struct job *j)
{
	return event(EV_CANCELLED, j->id);
}

cJSON *
ev_started(const struct job *j, const char *worker, uint32_t ask, int64_t wall)
{
	cJSON *e = event(EV_STARTED, j->id);

	cJSON_AddStringToObject(e, "worker", worker);
	cJSON_AddNumberToObject(e, "attempt", j->attempts + 1);
	cJSON_AddNumberToObject(e, "at", (double)wall);
	if (ask != 0)
		cJSON_AddNumberToObject(e, "ask", (double)ask);
	return e;
}

static cJSON *
completed(const char *id, const char *worker, const char *key, const char *result)
{
	cJSON *e = event(EV_COMPLETED, id);

	cJSON_AddStringToObject(e, "worker", worker);
	cJSON_AddStringToObject(e, key, result);
	return e;
}

cJSON *
ev_completed(const struct job *j, const char *worker, const char *result)
{
	return completed(j->id, worker, "result", result);
}

cJSON *
ev_completed_b64(const struct job *j, const char *worker, const char *result_b64)
{
	return completed(j->id, worker, "result_base64", result_b64);
}

const char *
work_result_key(const cJSON *obj)
{
	return json_str(obj, "result") != NULL ? "result" :
	    json_str(obj, "result_base64") != NULL ? "result_base64" : NULL;
}

cJSON *
ev_attempt_failed(const struct job *j, const char *worker, const char *why)
{
	cJSON *e = event(EV_ATTEMPT_FAILED, j->id);

	cJSON_AddStringToObject(e, "worker", worker);
	cJSON_AddStringToObject(e, "why", why);
	return e;
}

cJSON *
ev_timed_out(const struct job *j)
{
	cJSON *e = event(EV_TIMED_OUT, j->id);

	cJSON_AddStringToObject(e, "worker", j->worker);
	return e;
}

cJSON *
ev_forget(uint64_t upto)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "e", EV_FORGET);
	json_add_u64(e, "upto", upto);
	return e;
}

cJSON *
ev_failed(const struct job *j, const char *why)
{
	cJSON *e = event(EV_FAILED, j->id);

	cJSON_AddStringToObject(e, "why", why);
	return e;
}

cJSON *
ev_with_stderr(cJSON *ev, const char *tail)
{
	size_t len;

	if (tail == NULL || *tail == '\0')
		return ev;
	len = strlen(tail);
	if (len > WORK_STDERR_MAX) {
		tail += len - WORK_STDERR_MAX;
		while (((unsigned char)*tail & 0xc0) == 0x80)	/* not inside a character */
			tail++;
	}
	cJSON_AddStringToObject(ev, "stderr", tail);
	return ev;
}

/* ---- payload hashes and history ---- */

static void
payload_hash(const char *b64, unsigned char out[16])
{
	crypto_generichash(out, 16, (const unsigned char *)b64, strlen(b64), NULL, 0);
}

int
work_same_payload(const struct job *j, const char *payload_b64)
{
	unsigned char h[16];

	if (!j->has_phash)
		return -1;
	payload_hash(payload_b64, h);
	return memcmp(h, j->phash, sizeof(h)) == 0;
}

/* The event types a history holds, as the static strings it points to. */
static const char *hist_types[] = { EV_ACCEPTED, EV_STARTED, EV_COMPLETED, EV_ATTEMPT_FAILED,
    EV_TIMED_OUT, EV_FAILED, EV_CANCELLED };

static const char *
hist_type(const char *e)
{
	size_t i;

	for (i = 0; i < sizeof(hist_types) / sizeof(hist_types[0]); i++)
		if (strcmp(hist_types[i], e) == 0)
			return hist_types[i];
	return NULL;
}

static char *
dup_or_null(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = xstrdup(s);
	return d;
}

/* Adds an entry to j's history, the oldest going once it holds WORK_HISTORY_MAX. */
static void
hist_add(struct job *j, const char *e, int64_t at, int attempt, const char *worker,
    const char *why)
{
	struct hist *h;

	if ((e = hist_type(e)) == NULL)
		return;
	if (j->nhist == WORK_HISTORY_MAX) {
		free(j->hist[0].worker);
		free(j->hist[0].why);
		memmove(j->hist, j->hist + 1, (size_t)(j->nhist - 1) * sizeof(*j->hist));
		j->nhist--;
		j->hist_dropped++;
	} else
		j->hist = xreallocarray(j->hist, (size_t)j->nhist + 1, sizeof(*j->hist));
	h = &j->hist[j->nhist++];
	h->e = e;
	h->at = at;
	h->attempt = attempt;
	h->worker = dup_or_null(worker);
	h->why = dup_or_null(why);
}

cJSON *
work_time_json(int64_t wall)
{
	char ts[40];

	if (wall <= 0)
		return cJSON_CreateNull();
	clock_rfc3339(wall, ts, sizeof(ts));
	return cJSON_CreateString(ts);
}

/* A job's history as JSON; at as RFC 3339 text for people, or as ms for a snapshot. */
static cJSON *
history_json(const struct job *j, int at_text)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	int i;

	for (i = 0; i < j->nhist; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "e", j->hist[i].e);
		cJSON_AddItemToObject(o, "at", at_text ? work_time_json(j->hist[i].at) :
		    cJSON_CreateNumber((double)j->hist[i].at));
		if (j->hist[i].worker != NULL)
			cJSON_AddStringToObject(o, "worker", j->hist[i].worker);
		if (j->hist[i].attempt > 0)
			cJSON_AddNumberToObject(o, "attempt", j->hist[i].attempt);
		if (j->hist[i].why != NULL)
			cJSON_AddStringToObject(o, "why", j->hist[i].why);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *
work_history_json(const struct job *j)
{
	return history_json(j, 1);
}

/* The history as a snapshot keeps it: at as ms, not as text. */
static cJSON *
hist_snapshot(const struct job *j)
{
	return history_json(j, 0);
}

/* Reads a snapshot's history back; -1 if an entry is malformed. */
static int
hist_restore(struct job *j, const cJSON *arr)
{
	const cJSON *o;
	long at, attempt;

	if (arr == NULL)
		return 0;	/* a snapshot from before histories */
	if (!cJSON_IsArray(arr))
		return -1;
	cJSON_ArrayForEach(o, arr) {
		const char *e = json_str(o, "e");

		if (e == NULL || hist_type(e) == NULL || json_int(o, "at", 0, 1L << 53, &at) < 0)
			return -1;
		if (json_int(o, "attempt", 1, 1000000, &attempt) < 0)
			attempt = 0;
		hist_add(j, e, (int64_t)at, (int)attempt, json_str(o, "worker"), json_str(o, "why"));
	}
	return 0;
}

const char *
work_status_at(const struct job *j, int64_t now)
{
	if (j->status == JOB_PENDING && j->ready_at > now)
		return "delayed";
	return status_names[j->status];
}

/* An optional number field: absent leaves *out as it is; -1 if present and bad. */
static int
opt_num(const cJSON *ev, const char *key, long min, long max, long *out)
{
	if (cJSON_GetObjectItemCaseSensitive(ev, key) == NULL)
		return 0;
	return json_int(ev, key, min, max, out);
}

int
work_apply(struct work *w, uint64_t seq, const cJSON *ev, char *err, size_t errlen)
{
	const char *e = json_str(ev, "e"), *id = json_str(ev, "id"), *s;
	struct job *j;
	long num, at, ask;

	if (seq != w->seq + 1) {
		snprintf(err, errlen, "event %llu follows %llu", (unsigned long long)seq,
		    (unsigned long long)w->seq);
		return -1;
	}
	if (e != NULL && strcmp(e, EV_EPOCH) == 0) {
		w->seq = seq;	/* a new master took over: nothing else changes */
		return 0;
	}
	if (e != NULL && strcmp(e, EV_FORGET) == 0) {
		uint64_t upto;

		if (json_u64(ev, "upto", &upto) < 0 || upto >= seq || upto < w->forgot_upto) {
			snprintf(err, errlen, "event %llu (forget): malformed", (unsigned long long)seq);
			return -1;
		}
		forget(w, upto);
		w->seq = seq;
		return 0;
	}
	if (e == NULL || id == NULL || !work_id_valid(id)) {
		snprintf(err, errlen, "event %llu: malformed", (unsigned long long)seq);
		return -1;
	}
	j = work_find(w, id);
	at = 0;
	if (opt_num(ev, "at", 0, 1L << 53, &at) < 0)
		goto bad;
	if (strcmp(e, EV_ACCEPTED) == 0) {
		long pri = WORK_PRIORITY_DEFAULT, ready = 0, tmo = 0;

		if (j != NULL || (s = json_str(ev, "payload")) == NULL ||
		    opt_num(ev, "priority", 0, WORK_PRIORITY_MAX, &pri) < 0 ||
		    opt_num(ev, "ready_at", 0, 1L << 53, &ready) < 0 ||
		    opt_num(ev, "timeout_ms", 1, WORK_TIMEOUT_MAX, &tmo) < 0)
			goto bad;
		j = add(w, id);
		j->payload = xstrdup(s);
		payload_hash(s, j->phash);
		j->has_phash = 1;
		j->priority = (uint32_t)pri;
		j->ready_at = ready;
		j->timeout_ms = tmo;
		j->submitted = at;
		enqueue(w, j, seq);
		hist_add(j, e, at, 0, NULL, NULL);
	} else if (strcmp(e, EV_STARTED) == 0) {
		ask = 0;
		if (j == NULL || j->status != JOB_PENDING || (s = json_str(ev, "worker")) == NULL ||
		    strlen(s) > WORKER_ID_MAX || json_int(ev, "at", 0, 1L << 53, &num) < 0 ||
		    opt_num(ev, "ask", 0, UINT32_MAX, &ask) < 0)
			goto bad;
		unlink_job(w, j);
		run(w, j);
		j->attempts++;
		snprintf(j->worker, sizeof(j->worker), "%s", s);
		j->started = (int64_t)num;
		j->ask = (uint32_t)ask;
		hist_add(j, e, at, j->attempts, s, NULL);
	} else if (strcmp(e, EV_COMPLETED) == 0) {
		if (j == NULL || j->status != JOB_RUNNING || work_result_key(ev) == NULL ||
		    (s = json_str(ev, "worker")) == NULL || strlen(s) > WORKER_ID_MAX)
			goto bad;
		unlink_job(w, j);
		snprintf(j->worker, sizeof(j->worker), "%s", s);
		j->finished = at;
		finish(w, j, JOB_DONE, seq);
		hist_add(j, e, at, 0, s, NULL);
	} else if (strcmp(e, EV_ATTEMPT_FAILED) == 0 || strcmp(e, EV_TIMED_OUT) == 0) {
		if (j == NULL || j->status != JOB_RUNNING)
			goto bad;
		unlink_job(w, j);
		enqueue(w, j, seq);
		hist_add(j, e, at, 0, json_str(ev, "worker"), json_str(ev, "why"));
	} else if (strcmp(e, EV_FAILED) == 0 || strcmp(e, EV_CANCELLED) == 0) {
		if (j == NULL || (j->status != JOB_RUNNING && j->status != JOB_PENDING))
			goto bad;
		unlink_job(w, j);
		j->finished = at;
		finish(w, j, e[0] == 'f' ? JOB_FAILED : JOB_CANCELLED, seq);
		hist_add(j, e, at, 0, NULL, json_str(ev, "why"));
	} else
		goto bad;
	w->seq = seq;
	return 0;
bad:
	snprintf(err, errlen, "event %llu (%s %s) does not fit the state", (unsigned long long)seq,
	    e, id);
	return -1;
}

struct job *
work_next(struct work *w, int64_t now)
{
	struct job *j;

	while (w->delayed.n > 0 && (j = w->delayed.a[0])->ready_at <= now) {
		heap_remove(w, j);
		heap_push(w, HEAP_READY, j);
	}
	return w->ready.n > 0 ? w->ready.a[0] : NULL;
}

int64_t
work_next_ready_at(const struct work *w)
{
	return w->delayed.n > 0 ? w->delayed.a[0]->ready_at : 0;
}

long
work_ndelayed(const struct work *w)
{
	return (long)w->delayed.n;
}

struct job *
work_overdue(const struct work *w, int64_t wall, int64_t timeout, int64_t grace)
{
	struct job *j;

	for (j = w->run_head; j != NULL; j = j->next)
		if (wall - j->started >= (j->timeout_ms > 0 ? j->timeout_ms : timeout) + grace)
			return j;
	return NULL;
}

/* ---- snapshots ---- */

static cJSON *
job_json(const struct job *j)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", j->id);
	cJSON_AddStringToObject(o, "status", status_names[j->status]);
	cJSON_AddNumberToObject(o, "attempts", j->attempts);
	if (j->worker[0])
		cJSON_AddStringToObject(o, "worker", j->worker);
	if (j->payload != NULL)
		cJSON_AddStringToObject(o, "payload", j->payload);
	if (j->status == JOB_RUNNING)
		cJSON_AddNumberToObject(o, "at", (double)j->started);
	if (j->status == JOB_RUNNING && j->ask != 0)
		cJSON_AddNumberToObject(o, "ask", (double)j->ask);
	if (j->seq)
		json_add_u64(o, "seq", j->seq);
	if (j->status == JOB_PENDING)
		json_add_u64(o, "order", j->order);
	if (j->priority != WORK_PRIORITY_DEFAULT)
		cJSON_AddNumberToObject(o, "priority", (double)j->priority);
	if (j->ready_at > 0)
		cJSON_AddNumberToObject(o, "ready_at", (double)j->ready_at);
	if (j->timeout_ms > 0)
		cJSON_AddNumberToObject(o, "timeout_ms", (double)j->timeout_ms);
	if (j->submitted > 0)
		cJSON_AddNumberToObject(o, "submitted", (double)j->submitted);
	if (j->started > 0)
		cJSON_AddNumberToObject(o, "started", (double)j->started);
	if (j->finished > 0)
		cJSON_AddNumberToObject(o, "finished", (double)j->finished);
	if (j->has_phash) {
		char hex[33];

		sodium_bin2hex(hex, sizeof(hex), j->phash, sizeof(j->phash));
		cJSON_AddStringToObject(o, "phash", hex);
	}
	if (j->hist_dropped > 0)
		cJSON_AddNumberToObject(o, "hist_dropped", j->hist_dropped);
	cJSON_AddItemToObject(o, "history", hist_snapshot(j));
	return o;
}

static int
by_order(const void *a, const void *b)
{
	uint64_t x = (*(struct job *const *)a)->order, y = (*(struct job *const *)b)->order;

	return x < y ? -1 : x > y;
}

cJSON *
work_snapshot(const struct work *w)
{
	cJSON *s = cJSON_CreateObject(), *jobs;
	const struct job *j;

	json_add_u64(s, "seq", w->seq);
	cJSON_AddNumberToObject(s, "done", (double)w->ndone);
	cJSON_AddNumberToObject(s, "failed", (double)w->nfailed);
	cJSON_AddNumberToObject(s, "cancelled", (double)w->ncancelled);
	cJSON_AddNumberToObject(s, "forgotten", (double)w->nforgotten);
	json_add_u64(s, "forgot_upto", w->forgot_upto);
	/*
	 * pending first, in the order they became pending (each carries it,
	 * and snapshots from before "order" are read in this order)
	 */
	jobs = cJSON_AddArrayToObject(s, "pending");
	{
		struct job **pa;
		size_t k, n = w->ready.n + w->delayed.n;

		pa = xmalloc((n ? n : 1) * sizeof(*pa));
		if (w->ready.n > 0)
			memcpy(pa, w->ready.a, w->ready.n * sizeof(*pa));
		if (w->delayed.n > 0)
			memcpy(pa + w->ready.n, w->delayed.a, w->delayed.n * sizeof(*pa));
		if (n > 0)
			qsort(pa, n, sizeof(*pa), by_order);
		for (k = 0; k < n; k++)
			cJSON_AddItemToArray(jobs, job_json(pa[k]));
		free(pa);
	}
	/*
	 * then running ones, from the tail of the running list (restore pushes
	 * each to its head, which gives the same order back), then finished
	 * ones in the order they finished
	 */
	jobs = cJSON_AddArrayToObject(s, "jobs");
	for (j = w->run_head; j != NULL && j->next != NULL; j = j->next)
		;
	for (; j != NULL; j = j->prev)
		cJSON_AddItemToArray(jobs, job_json(j));
	for (j = w->fin_head; j != NULL; j = j->next)
		cJSON_AddItemToArray(jobs, job_json(j));
	return s;
}

static int
by_seq(const void *a, const void *b)
{
	uint64_t x = (*(struct job *const *)a)->seq, y = (*(struct job *const *)b)->seq;

	return x < y ? -1 : x > y;
}

/* A total in a snapshot: absent keeps what the jobs counted; never fewer. */
static int
json_totals(const cJSON *snap, const char *key, long *n)
{
	long v;

	if (cJSON_GetObjectItemCaseSensitive(snap, key) == NULL)
		return 0;
	if (json_int(snap, key, 0, 1L << 53, &v) < 0 || v < *n)
		return -1;
	*n = v;
	return 0;
}

int
work_restore(struct work *w, const cJSON *snap, char *err, size_t errlen)
{
	const cJSON *arr, *o;
	uint64_t seq, jseq;
	struct job **fin = NULL;
	size_t nfin = 0, capfin = 0, k;
	uint64_t pos;
	int pass, rc = -1;

	if (json_u64(snap, "seq", &seq) < 0) {
		snprintf(err, errlen, "snapshot: no seq");
		return -1;
	}
	for (pass = 0; pass < 2; pass++) {
		arr = cJSON_GetObjectItemCaseSensitive(snap, pass == 0 ? "pending" : "jobs");
		if (!cJSON_IsArray(arr)) {
			snprintf(err, errlen, "snapshot: no job list");
			goto out;
		}
		pos = 0;
		cJSON_ArrayForEach(o, arr) {
			const char *id = json_str(o, "id"), *st = json_str(o, "status"),
			    *wk = json_str(o, "worker"), *pl = json_str(o, "payload"),
			    *ph = json_str(o, "phash");
			long attempts, at, pri = WORK_PRIORITY_DEFAULT, ready = 0, tmo = 0, sub = 0,
			    sta = 0, fin_at = 0, dropped = 0, ask = 0;
			uint64_t order = ++pos;
			struct job *j;

			if (id == NULL || !work_id_valid(id) || work_find(w, id) != NULL || st == NULL ||
			    json_int(o, "attempts", 0, 1000000, &attempts) < 0 ||
			    (wk != NULL && strlen(wk) > WORKER_ID_MAX) ||
			    opt_num(o, "priority", 0, WORK_PRIORITY_MAX, &pri) < 0 ||
			    opt_num(o, "ready_at", 0, 1L << 53, &ready) < 0 ||
			    opt_num(o, "timeout_ms", 1, WORK_TIMEOUT_MAX, &tmo) < 0 ||
			    opt_num(o, "submitted", 0, 1L << 53, &sub) < 0 ||
			    opt_num(o, "started", 0, 1L << 53, &sta) < 0 ||
			    opt_num(o, "finished", 0, 1L << 53, &fin_at) < 0 ||
			    opt_num(o, "hist_dropped", 0, 1L << 30, &dropped) < 0 ||
			    opt_num(o, "ask", 0, UINT32_MAX, &ask) < 0 ||
			    (cJSON_GetObjectItemCaseSensitive(o, "order") != NULL &&
			    json_u64(o, "order", &order) < 0)) {
				snprintf(err, errlen, "snapshot: a malformed job");
				goto out;
			}
			j = add(w, id);
			j->attempts = (int)attempts;
			j->priority = (uint32_t)pri;
			j->ready_at = ready;
			j->timeout_ms = tmo;
			j->submitted = sub;
			j->started = sta;
			j->finished = fin_at;
			j->hist_dropped = (int)dropped;
			if (ph != NULL && strlen(ph) == 32 && sodium_hex2bin(j->phash, sizeof(j->phash),
			    ph, 32, NULL, NULL, NULL) == 0)
				j->has_phash = 1;
			else if (pl != NULL) {
				payload_hash(pl, j->phash);
				j->has_phash = 1;
			}
			if (hist_restore(j, cJSON_GetObjectItemCaseSensitive(o, "history")) < 0) {
				snprintf(err, errlen, "snapshot: job %s has a malformed history", id);
				goto out;
			}
			if (wk != NULL)
				snprintf(j->worker, sizeof(j->worker), "%s", wk);
			if (strcmp(st, "pending") == 0 || strcmp(st, "running") == 0) {
				if (pl == NULL) {
					snprintf(err, errlen, "snapshot: job %s has no payload", id);
					goto out;
				}
				j->payload = xstrdup(pl);
				if (strcmp(st, "pending") == 0)
					enqueue(w, j, order);
				else {
					if (json_int(o, "at", 0, 1L << 53, &at) < 0) {
						snprintf(err, errlen, "snapshot: job %s has no start", id);
						goto out;
					}
					j->started = (int64_t)at;
					j->ask = (uint32_t)ask;
					run(w, j);
				}
			} else if ((strcmp(st, "done") == 0 || strcmp(st, "failed") == 0 ||
			    strcmp(st, "cancelled") == 0) &&
			    json_u64(o, "seq", &jseq) == 0 && jseq > 0 && jseq <= seq) {
				j->seq = jseq;
				if (st[0] == 'd')
					w->ndone++;
				else if (st[0] == 'f')
					w->nfailed++;
				else
					w->ncancelled++;
				j->status = st[0] == 'd' ? JOB_DONE : st[0] == 'f' ? JOB_FAILED :
				    JOB_CANCELLED;
				if (nfin == capfin) {
					capfin = capfin ? 2 * capfin : 1024;
					fin = xreallocarray(fin, capfin, sizeof(*fin));
				}
				fin[nfin++] = j;
			} else {
				snprintf(err, errlen, "snapshot: job %s has a bad status", id);
				goto out;
			}
		}
	}
	/* the totals count forgotten jobs too (absent: none were forgotten) */
	if (json_totals(snap, "done", &w->ndone) < 0 || json_totals(snap, "failed", &w->nfailed) < 0 ||
	    json_totals(snap, "cancelled", &w->ncancelled) < 0 ||
	    json_totals(snap, "forgotten", &w->nforgotten) < 0 ||
	    (cJSON_GetObjectItemCaseSensitive(snap, "forgot_upto") != NULL &&
	    (json_u64(snap, "forgot_upto", &w->forgot_upto) < 0 || w->forgot_upto > seq))) {
		snprintf(err, errlen, "snapshot: bad totals");
		goto out;
	}
	/*
	 * the finished list in the order they finished (older snapshots: any
	 * order); none finished leaves fin NULL, which qsort may not be given
	 */
	if (nfin > 0)
		qsort(fin, nfin, sizeof(*fin), by_seq);
	for (k = 0; k < nfin; k++) {
		if (k > 0 && fin[k]->seq == fin[k - 1]->seq) {
			snprintf(err, errlen, "snapshot: jobs %s and %s finished by one event",
			    fin[k - 1]->id, fin[k]->id);
			goto out;
		}
		append(&w->fin_head, &w->fin_tail, fin[k]);
	}
	w->seq = seq;
	rc = 0;
out:
	free(fin);
	return rc;
}

/* ---- merging a divergent log ---- */

/*
 * The merge rule. Each salvaged event, in the order of its log:
 *
 * 1. accepted: a job this state does not know is accepted again, with the
 *    same id and payload. A known id is the same job: ids are unique and an
 *    acceptance is idempotent.
 * 2. completed, failed, cancelled: a job this state has pending or running is finished
 *    as it was there, with its result (a job done on either side is done; a
 *    pending one is started first, as work_apply wants). A job finished here
 *    stays as it finished here. An id unknown here is one this state forgot
 *    (keep-finished): its acceptance lies before the point where the logs
 *    parted (or rule 1 would have made it known), so it was finished here.
 * 3. Everything else (started, attempt-failed, timed-out, forget, epoch) is
 *    skipped: attempts are not carried over, and a job that was running
 *    there is pending here; delivery is at least once, it may run again.
 *
 * Weak points: a job finished and then forgotten on one side, and still in
 * the other side's salvage as accepted (it was salvaged from before its
 * end), is accepted again and runs a second time; so does a finished job
 * salvaged from a snapshot, which gets a second result line. Both need
 * keep-finished to pass between the split and the merge.
 */
/* Records in o that this merge left job id in status st. */
static void
merged(struct work *o, const char *id, enum job_status st)
{
	struct job *j = work_find(o, id);

	if (j == NULL)
		j = add(o, id);
	j->status = st;
}

/*
 * One salvaged event: the events it adds to out. The job it names is looked
 * up in o first (the ids this merge accepted or finished so far, with their
 * status after it), then in w.
 */
/* Copies number field key from a salvaged event to ev, if it is one in min..max. */
static void
keep_num(cJSON *ev, const cJSON *from, const char *key, long min, long max)
{
	long v;

	if (json_int(from, key, min, max, &v) == 0)
		cJSON_AddNumberToObject(ev, key, (double)v);
}

/* Gives ev the "at" of the salvaged event it stands for, if that has one. */
static cJSON *
keep_at(cJSON *ev, const cJSON *from)
{
	long at;

	if (json_int(from, "at", 0, 1L << 53, &at) == 0)
		ev_at(ev, (int64_t)at);
	return ev;
}

static enum merge_what
merge_one(const struct work *w, struct work *o, const cJSON *ev, int64_t wall, cJSON *out)
{
	const char *e = json_str(ev, "e"), *id = json_str(ev, "id"), *s, *wk, *rk;
	const struct job *j;
	cJSON *acc;

	if (e == NULL)
		return MERGE_BAD;
	if (strcmp(e, EV_ACCEPTED) != 0 && strcmp(e, EV_COMPLETED) != 0 && strcmp(e, EV_FAILED) != 0 &&
	    strcmp(e, EV_CANCELLED) != 0)
		return strcmp(e, EV_STARTED) == 0 || strcmp(e, EV_ATTEMPT_FAILED) == 0 ||
		    strcmp(e, EV_TIMED_OUT) == 0 || strcmp(e, EV_FORGET) == 0 ||
		    strcmp(e, EV_EPOCH) == 0 ? MERGE_SKIPPED : MERGE_BAD;
	if (id == NULL || !work_id_valid(id))
		return MERGE_BAD;
	if ((j = work_find(o, id)) == NULL)
		j = work_find(w, id);
	if (strcmp(e, EV_ACCEPTED) == 0) {
		if ((s = json_str(ev, "payload")) == NULL)
			return MERGE_BAD;
		if (j != NULL)
			return MERGE_SKIPPED;
		/* with its options and time as they were, those that are valid */
		acc = keep_at(ev_accepted(id, s), ev);
		keep_num(acc, ev, "priority", 0, WORK_PRIORITY_MAX);
		keep_num(acc, ev, "ready_at", 0, 1L << 53);
		keep_num(acc, ev, "timeout_ms", 1, WORK_TIMEOUT_MAX);
		cJSON_AddItemToArray(out, acc);
		merged(o, id, JOB_PENDING);
		return MERGE_ACCEPTED;
	}
	if (strcmp(e, EV_COMPLETED) == 0) {
		if ((rk = work_result_key(ev)) == NULL || (wk = json_str(ev, "worker")) == NULL ||
		    strlen(wk) > WORKER_ID_MAX)
			return MERGE_BAD;
		if (j == NULL || (j->status != JOB_PENDING && j->status != JOB_RUNNING))
			return MERGE_SKIPPED;
		if (j->status == JOB_PENDING)
			cJSON_AddItemToArray(out, ev_started(j, wk, 0, wall));
		cJSON_AddItemToArray(out, keep_at(completed(j->id, wk, rk, json_str(ev, rk)), ev));
		merged(o, id, JOB_DONE);
		return MERGE_FINISHED;
	}
	if (strcmp(e, EV_CANCELLED) == 0) {
		if (j == NULL || (j->status != JOB_PENDING && j->status != JOB_RUNNING))
			return MERGE_SKIPPED;
		cJSON_AddItemToArray(out, keep_at(event(EV_CANCELLED, id), ev));
		merged(o, id, JOB_CANCELLED);
		return MERGE_FINISHED;
	}
	if ((s = json_str(ev, "why")) == NULL)
		return MERGE_BAD;
	if (j == NULL || (j->status != JOB_PENDING && j->status != JOB_RUNNING))
		return MERGE_SKIPPED;
	cJSON_AddItemToArray(out, keep_at(ev_with_stderr(ev_failed(j, s), json_str(ev, "stderr")), ev));
	merged(o, id, JOB_FAILED);
	return MERGE_FINISHED;
}

cJSON *
work_merge(const struct work *w, const cJSON *salvaged, int64_t wall, long counts[MERGE_WHATS])
{
	struct work o;
	const cJSON *ev;
	cJSON *out = cJSON_CreateArray();

	work_init(&o);
	memset(counts, 0, MERGE_WHATS * sizeof(*counts));
	cJSON_ArrayForEach(ev, salvaged)
		counts[cJSON_IsObject(ev) ? merge_one(w, &o, ev, wall, out) : MERGE_BAD]++;
	work_free(&o);
	return out;
}

cJSON *
work_snapshot_events(const cJSON *snap, cJSON *(*line_of)(uint64_t seq, void *arg), void *arg)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *o;
	int pass;

	for (pass = 0; pass < 2; pass++)
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(snap, pass ? "jobs" : "pending")) {
			const char *id = json_str(o, "id"), *st = json_str(o, "status"),
			    *pl = json_str(o, "payload"), *wk = json_str(o, "worker"), *rk;
			uint64_t seq;
			cJSON *line, *ev;

			if (id == NULL || st == NULL || !work_id_valid(id))
				continue;
			/* a finished job's payload is gone: an empty one stands for it */
			cJSON_AddItemToArray(out, ev_accepted(id, pl ? pl : ""));
			if (strcmp(st, "cancelled") == 0) {
				cJSON_AddItemToArray(out, event(EV_CANCELLED, id));
				continue;
			}
			if ((strcmp(st, "done") != 0 && strcmp(st, "failed") != 0) ||
			    json_u64(o, "seq", &seq) < 0)
				continue;
			line = line_of ? line_of(seq, arg) : NULL;
			/* a result that is not text stays in base64 */
			rk = line != NULL && st[0] == 'd' ? work_result_key(line) : NULL;
			if (st[0] == 'd')
				ev = completed(id, wk ? wk : "", rk ? rk : "result",
				    rk ? json_str(line, rk) : "");
			else {
				ev = event(EV_FAILED, id);
				cJSON_AddStringToObject(ev, "why",
				    line && json_str(line, "result") ? json_str(line, "result") : "");
				ev_with_stderr(ev, line ? json_str(line, "stderr") : NULL);
			}
			cJSON_AddItemToArray(out, ev);
			cJSON_Delete(line);
		}
	return out;
}
