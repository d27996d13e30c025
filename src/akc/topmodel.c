/*
 * topmodel.c: akc-top's picture of the cluster, kept from memberd's status
 * answers and events, the local singletonds and the master's queue.
 *
 * Two sources tell the same story at different speeds:
 * 1. memberd's status (polled about once a second) is the whole truth of
 *    this node's view, including what events do not carry: convergence,
 *    the observers of each unreachable member, the majority.
 * 2. Events arrive at once and move a member between two status answers,
 *    so a member killed shows as unreachable as soon as memberd says so.
 *    Their weak point: an UnreachableMember names no observer, so the
 *    reachability matrix catches up only at the next status answer.
 * The next status answer always wins, which also repairs anything a
 * dropped event left wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "proto.h"
#include "topmodel.h"
#include "xmalloc.h"

void
top_init(struct top *t, const char *self)
{
	int i;

	memset(t, 0, sizeof(*t));
	snprintf(t->self, sizeof(t->self), "%s", self);
	for (i = 0; i < SRC_COUNT; i++)
		t->link[i].state = LINK_WAIT;
}

static void
member_clear(struct top_member *m)
{
	free(m->observers);
	m->observers = NULL;
	m->nobservers = 0;
}

void
top_free(struct top *t)
{
	int i;

	for (i = 0; i < t->nm; i++)
		member_clear(&t->m[i]);
	free(t->m);
	t->m = NULL;
	t->nm = t->mcap = 0;
}

static void
copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* "HH:MM:SS" out of an RFC 3339 time, or "" when it is not one. */
static void
hms_of(const char *rfc3339, char out[16])
{
	out[0] = '\0';
	if (rfc3339 != NULL && strlen(rfc3339) >= 19 && rfc3339[10] == 'T')
		snprintf(out, 16, "%.8s", rfc3339 + 11);
}

static void
roles_of(const cJSON *obj, char *out, size_t len)
{
	const cJSON *r;
	size_t n = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(obj, "roles")) {
		if (!cJSON_IsString(r))
			continue;
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "," : "", r->valuestring);
		if (n >= len) {
			out[len - 1] = '\0';
			return;
		}
	}
}

static struct top_member *
member_find(struct top *t, const char *node)
{
	int i;

	for (i = 0; node != NULL && i < t->nm; i++)
		if (strcmp(t->m[i].node, node) == 0)
			return &t->m[i];
	return NULL;
}

const struct top_member *
top_member_find(const struct top *t, const char *node)
{
	return member_find((struct top *)t, node);
}

static struct top_member *
member_add(struct top *t, const char *node)
{
	struct top_member *m;

	GROW(t->m, t->nm, t->mcap);
	m = &t->m[t->nm++];
	memset(m, 0, sizeof(*m));
	copy(m->node, sizeof(m->node), node);
	m->up_number = -1;
	m->reachable = 1;
	return m;
}

/* Fills m from a member object (status's members, or a member event). */
static void
member_read(struct top_member *m, const cJSON *o)
{
	long up;

	copy(m->uid, sizeof(m->uid), json_str(o, "uid"));
	copy(m->status, sizeof(m->status), json_str(o, "status"));
	roles_of(o, m->roles, sizeof(m->roles));
	m->up_number = json_int(o, "up_number", 0, 1L << 30, &up) == 0 ? up : -1;
}

static void
observers_read(struct top_member *m, const cJSON *arr)
{
	const cJSON *o;
	int n = cJSON_GetArraySize(arr), i = 0;

	member_clear(m);
	if (n <= 0)
		return;
	m->observers = xcalloc((size_t)n, sizeof(*m->observers));
	cJSON_ArrayForEach(o, arr)
		if (cJSON_IsString(o) && i < n)
			copy(m->observers[i++], sizeof(m->observers[0]), o->valuestring);
	m->nobservers = i;
}

int
top_apply_status(struct top *t, const cJSON *rsp, const char *now_hms)
{
	const cJSON *members = cJSON_GetObjectItemCaseSensitive(rsp, "members"), *o, *u, *q;
	const char *self = json_str(rsp, "self"), *uid = json_str(rsp, "uid");
	struct top_member *m;
	long v;
	size_t n;
	int restarted, conv = 0;

	if (!cJSON_IsArray(members) || self == NULL || json_bool(rsp, "convergence", &conv) < 0)
		return -1;
	restarted = t->uid[0] != '\0' && uid != NULL && strcmp(uid, t->uid) != 0;
	copy(t->uid, sizeof(t->uid), uid);
	copy(t->self, sizeof(t->self), self);
	copy(t->phase, sizeof(t->phase), json_str(rsp, "phase"));
	copy(t->leader, sizeof(t->leader), json_str(rsp, "leader"));
	copy(t->status_time, sizeof(t->status_time), now_hms);
	t->convergence = conv;
	t->role_leaders[0] = '\0';
	n = 0;
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(rsp, "role_leaders")) {
		n += (size_t)snprintf(t->role_leaders + n, sizeof(t->role_leaders) - n, "%s%s=%s",
		    n ? " " : "", o->string, cJSON_IsString(o) ? o->valuestring : "-");
		if (n >= sizeof(t->role_leaders)) {
			t->role_leaders[sizeof(t->role_leaders) - 1] = '\0';
			break;
		}
	}
	t->majority_of = 0;
	q = cJSON_GetObjectItemCaseSensitive(rsp, "majority");
	if (q != NULL && json_bool(q, "ok", &t->majority_ok) == 0 &&
	    json_int(q, "reachable", 0, 1L << 30, &v) == 0) {
		t->majority_reachable = (int)v;
		if (json_int(q, "remembered", 1, 1L << 30, &v) == 0)
			t->majority_of = (int)v;
	}
	top_free(t);
	cJSON_ArrayForEach(o, members) {
		int reach = 1;

		if (json_str(o, "node") == NULL)
			continue;
		m = member_add(t, json_str(o, "node"));
		member_read(m, o);
		(void)json_bool(o, "reachable", &reach);
		m->reachable = reach;
	}
	cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(rsp, "unreachable"))
		if ((m = member_find(t, json_str(u, "node"))) != NULL) {
			m->reachable = 0;
			observers_read(m, cJSON_GetObjectItemCaseSensitive(u, "observed_by"));
		}
	t->have_status = 1;
	return restarted;
}

static struct top_singleton *
singleton_get(struct top *t, const char *name)
{
	struct top_singleton *s;
	int i;

	for (i = 0; i < t->nsg; i++)
		if (strcmp(t->sg[i].name, name) == 0)
			return &t->sg[i];
	if (t->nsg == TOP_SINGLETONS)
		return NULL;
	s = &t->sg[t->nsg++];
	memset(s, 0, sizeof(*s));
	copy(s->name, sizeof(s->name), name);
	return s;
}

static void
event_add(struct top *t, const char *hms, enum top_tone tone, const char *text)
{
	struct top_event *e;

	if (t->nev < TOP_EVENTS)
		e = &t->ev[(t->evhead + t->nev++) % TOP_EVENTS];
	else {
		e = &t->ev[t->evhead];
		t->evhead = (t->evhead + 1) % TOP_EVENTS;
	}
	copy(e->time, sizeof(e->time), hms);
	copy(e->text, sizeof(e->text), text);
	e->tone = tone;
}

void
top_note(struct top *t, const char *hms, enum top_tone tone, const char *fmt, ...)
{
	char text[TOP_TEXT];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	event_add(t, hms, tone, text);
}

const struct top_event *
top_event_at(const struct top *t, int i)
{
	if (i < 0 || i >= t->nev)
		return NULL;
	return &t->ev[(t->evhead + i) % TOP_EVENTS];
}

static enum top_tone
status_tone(const char *st)
{
	if (strcmp(st, "Up") == 0)
		return TONE_GOOD;
	if (strcmp(st, "Down") == 0 || strcmp(st, "Removed") == 0)
		return TONE_BAD;
	if (st[0] == '\0')
		return TONE_PLAIN;
	return TONE_WARN;	/* Joining, WeaklyUp, Leaving, Exiting */
}

enum top_tone
top_member_tone(const struct top_member *m)
{
	enum top_tone t = status_tone(m->status);

	return !m->reachable || t == TONE_BAD ? TONE_BAD : t;
}

int
top_observes(const struct top_member *subject, const char *observer)
{
	int i;

	for (i = 0; i < subject->nobservers; i++)
		if (strcmp(subject->observers[i], observer) == 0)
			return 1;
	return 0;
}

void
top_apply_event(struct top *t, const cJSON *ev, int logged)
{
	const char *type = json_str(ev, "type"), *node = json_str(ev, "node");
	const char *leader = json_str(ev, "leader"), *name = json_str(ev, "name");
	struct top_member *m;
	struct top_singleton *s;
	char hms[16], text[TOP_TEXT];
	enum top_tone tone = TONE_PLAIN;
	int i;

	if (type == NULL)
		return;
	hms_of(json_str(ev, "time"), hms);
	text[0] = '\0';
	if (strcmp(type, CEV_MEMBER_REMOVED) == 0 && node != NULL) {
		if ((m = member_find(t, node)) != NULL) {
			i = (int)(m - t->m);
			member_clear(m);
			memmove(&t->m[i], &t->m[i + 1], (size_t)(t->nm - i - 1) * sizeof(*t->m));
			t->nm--;
		}
		snprintf(text, sizeof(text), "%s %s (was %s)", type, node,
		    json_str(ev, "previous_status") ? json_str(ev, "previous_status") : "?");
		tone = TONE_WARN;
	} else if (strncmp(type, "Member", 6) == 0 && node != NULL &&
	    json_str(ev, "status") != NULL) {
		if ((m = member_find(t, node)) == NULL)
			m = member_add(t, node);
		member_read(m, ev);
		snprintf(text, sizeof(text), "%s %s", type, node);
		tone = status_tone(m->status);
	} else if ((strcmp(type, CEV_UNREACHABLE) == 0 ||
	    strcmp(type, CEV_REACHABLE) == 0) && node != NULL) {
		int reach = type[0] == 'R';

		if ((m = member_find(t, node)) != NULL) {
			m->reachable = reach;
			if (reach)
				member_clear(m);
		}
		snprintf(text, sizeof(text), "%s %s", type, node);
		tone = reach ? TONE_GOOD : TONE_BAD;
	} else if (strcmp(type, CEV_LEADER_CHANGED) == 0) {
		copy(t->leader, sizeof(t->leader), leader);
		snprintf(text, sizeof(text), "%s %s", type, leader ? leader : "(none)");
	} else if (strcmp(type, CEV_ROLE_LEADER_CHANGED) == 0 && json_str(ev, "role") != NULL) {
		/* the role leaders' line is rebuilt by the next status answer */
		snprintf(text, sizeof(text), "%s %s: %s", type, json_str(ev, "role"),
		    leader ? leader : "(none)");
	} else if ((strcmp(type, CEV_SINGLETON_STARTED) == 0 ||
	    strcmp(type, CEV_SINGLETON_STOPPED) == 0) && name != NULL && node != NULL) {
		int started = strcmp(type, CEV_SINGLETON_STARTED) == 0;

		if ((s = singleton_get(t, name)) != NULL) {
			if (started)
				copy(s->node, sizeof(s->node), node);
			else if (strcmp(s->node, node) == 0)
				s->node[0] = '\0';
		}
		snprintf(text, sizeof(text), "%s %s on %s", type, name, node);
		tone = started ? TONE_GOOD : TONE_WARN;
	} else
		snprintf(text, sizeof(text), "%s", type);
	if (logged)
		event_add(t, hms, tone, text);
}

void
top_apply_queue(struct top *t, const cJSON *rsp)
{
	const cJSON *w;
	const char *st;
	long v;

	t->have_queue = rsp != NULL;
	if (rsp == NULL)
		return;
	t->pending = json_int(rsp, "pending", 0, 1L << 53, &v) == 0 ? v : 0;
	t->running = json_int(rsp, "in_progress", 0, 1L << 53, &v) == 0 ? v : 0;
	t->done = json_int(rsp, "done", 0, 1L << 53, &v) == 0 ? v : 0;
	t->failed = json_int(rsp, "failed", 0, 1L << 53, &v) == 0 ? v : 0;
	t->workers = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rsp, "workers"));
	t->standbys = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rsp, "standbys"));
	t->busy = 0;
	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(rsp, "workers"))
		if ((st = json_str(w, "state")) != NULL && strcmp(st, "busy") == 0)
			t->busy++;
}

void
top_apply_singleton(struct top *t, const char *name, const cJSON *rsp, const char *err)
{
	struct top_singleton *s = singleton_get(t, name);
	long pid;
	int here = 0;

	if (s == NULL)
		return;
	if (rsp == NULL) {
		copy(s->err, sizeof(s->err), err);
		s->state[0] = s->oldest[0] = '\0';
		s->here = 0;
		s->pid = 0;
		return;
	}
	s->err[0] = '\0';
	copy(s->state, sizeof(s->state), json_str(rsp, "state"));
	copy(s->oldest, sizeof(s->oldest), json_str(rsp, "oldest"));
	copy(s->node, sizeof(s->node), json_str(rsp, "running_on"));
	(void)json_bool(rsp, "running_here", &here);
	s->here = here;
	s->pid = here && json_int(rsp, "pid", 1, 1L << 30, &pid) == 0 ? pid : 0;
}

void
top_forget_singletons(struct top *t)
{
	int i;

	for (i = 0; i < t->nsg; i++)
		t->sg[i].node[0] = '\0';
}

int
top_link_set(struct top *t, enum top_src src, enum top_link_state st, const char *err)
{
	struct top_link *l = &t->link[src];
	int changed = l->state != st || strcmp(l->err, err != NULL ? err : "") != 0;

	l->state = st;
	copy(l->err, sizeof(l->err), err);
	return changed;
}
