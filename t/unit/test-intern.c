/*
 * test-intern.c: the interned strings members share, and that every state
 * operation gives back what it takes (the table is empty again after), so
 * no message can leave strings behind once its members are gone.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "log.h"
#include "membership.h"
#include "unit.h"

static void
shared(void)
{
	const char *a = intern("tcp://10.0.0.1:2552"), *b = intern("tcp://10.0.0.1:2552");
	const char *c = intern_mem("tcp://10.0.0.1:25520", 19), *d = intern("n1");

	CHECK(a == b);
	CHECK(a == c);		/* by its bytes, not its source */
	CHECK(a != d);
	CHECK_STR(a, "tcp://10.0.0.1:2552");
	CHECK_INT(intern_count(), 2);
	CHECK(intern_ref(NULL) == NULL);
	intern_unref(NULL);
	intern_unref(a);
	intern_unref(b);
	CHECK_INT(intern_count(), 2);	/* c still holds it */
	CHECK_STR(c, "tcp://10.0.0.1:2552");
	intern_unref(c);
	intern_unref(d);
	CHECK_INT(intern_count(), 0);
}

static void
many(void)
{
	const char **v = calloc(20000, sizeof(*v));
	char s[32];
	size_t base = intern_bytes();
	int i, ok = 1;

	for (i = 0; i < 20000; i++) {
		snprintf(s, sizeof(s), "n%d", i);
		v[i] = intern(s);
	}
	CHECK_INT(intern_count(), 20000);
	for (i = 0; i < 20000; i++) {
		snprintf(s, sizeof(s), "n%d", i);
		ok &= intern(s) == v[i] && strcmp(v[i], s) == 0;
		intern_unref(v[i]);
	}
	CHECK(ok);
	CHECK_INT(intern_count(), 20000);
	for (i = 0; i < 20000; i += 2)
		intern_unref(v[i]);
	CHECK_INT(intern_count(), 10000);
	for (i = 1; i < 20000; i += 2)
		intern_unref(v[i]);
	CHECK_INT(intern_count(), 0);
	CHECK(intern_bytes() >= base);	/* the buckets stay; the strings do not */
	CHECK(intern_bytes() < base + 20000 * sizeof(void *) * 2 + 4096);
	free(v);
}

/*
 * akc-sim's threads share the table: two threads intern, take and drop
 * the same few strings at once, and new ones as they go (the table grows
 * under them). Each sees one copy of each string, and none is freed while
 * they share it; after, the strings stay (pinned). Without intern_threads
 * the counts and the chains tear (a string freed while another finds it).
 */
#define RACE_ROUNDS	200000
#define RACE_NEW	4000	/* RACE_ROUNDS / RACE_NEW: a whole number */

static const char *held;

struct racer {
	int id, ok;
	const char *seen[8];
};

static void *
racer(void *arg)
{
	struct racer *r = arg;
	int i, ok = 1;
	char s[16];

	for (i = 0; i < RACE_ROUNDS; i++) {
		const char *a, *b;

		snprintf(s, sizeof(s), "n%d", (i + r->id) % 8);
		a = intern(s);
		b = intern_ref(a);
		ok &= strcmp(b, s) == 0 && intern_len(a) == strlen(s);
		if (r->seen[(i + r->id) % 8] == NULL)
			r->seen[(i + r->id) % 8] = a;
		ok &= r->seen[(i + r->id) % 8] == a;
		intern_unref(a);
		intern_unref(intern_ref(held));
		intern_unref(b);
		if (i % (RACE_ROUNDS / RACE_NEW) == 0) {
			/* the same new strings from both threads, in the same order */
			snprintf(s, sizeof(s), "m%d", i / (RACE_ROUNDS / RACE_NEW));
			a = intern(s);
			ok &= strcmp(a, s) == 0;
			intern_unref(a);
		}
	}
	r->ok = ok;
	return NULL;
}

static void
threads(void)
{
	struct racer r[2];
	pthread_t t[2];
	int k, j;

	memset(r, 0, sizeof(r));
	r[1].id = 3;
	intern_threads(1);
	held = intern("tcp://10.0.0.9:2552");
	for (k = 0; k < 2; k++)
		CHECK_INT(pthread_create(&t[k], NULL, racer, &r[k]), 0);
	for (k = 0; k < 2; k++)
		CHECK_INT(pthread_join(t[k], NULL), 0);
	CHECK(r[0].ok && r[1].ok);
	for (j = 0; j < 8; j++)
		CHECK(r[0].seen[j] == r[1].seen[j] && r[0].seen[j] != NULL);
	/* 8 names, the held one, the new ones: each once, none freed */
	CHECK_INT(intern_count(), 9 + RACE_NEW);
	CHECK(intern("n1") == r[0].seen[1]);
	intern_threads(0);
	intern_unref(held);
	intern_unref(r[0].seen[1]);
	CHECK_INT(intern_count(), 9 + RACE_NEW);	/* pinned */
	CHECK_STR(held, "tcp://10.0.0.9:2552");
}

static void
fill(struct mstate *st, int n, const char *roles)
{
	struct member m;
	char name[32], addr[64];
	int i;

	mstate_init(st);
	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.uid = 1000 + (uint64_t)i;
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(addr, sizeof(addr), "tcp://10.0.%d.%d:2552", i / 256, i % 256);
		member_set(&m, name, addr, roles);
		m.status = MS_UP;
		m.up_number = i + 1;
		mstate_add(st, &m);
		member_clear(&m);
		vclock_inc(&st->vc, m.uid);
	}
}

/* Copies, merges, removals and parses: after freeing them all, nothing is left. */
static void
balanced(void)
{
	struct mstate a, b, c, d;
	struct member m;
	char want[64];
	cJSON *w;

	CHECK(sizeof(struct member) <= 40);
	fill(&a, 300, "web,db");
	CHECK_INT(intern_count(), 601);	/* 300 names, 300 addresses, one roles */
	CHECK(a.m[0].roles == a.m[299].roles);
	mstate_init(&b);
	mstate_copy(&b, &a);
	mstate_copy(&b, &a);		/* over a copy: gives the old back */
	mstate_remove(&b, 1000, 1);
	mstate_remove(&b, 1299, 1);
	CHECK_INT(b.n, 298);
	mstate_init(&c);
	mstate_merge(&c, &a, &b);
	CHECK_INT(c.n, 298);
	w = mstate_to_wire(&c);
	mstate_init(&d);
	CHECK_INT(mstate_from_wire(w, &d), 0);
	CHECK_INT(d.n, 298);
	CHECK(d.m[0].address == c.m[0].address);	/* parsed into the same strings */
	cJSON_Delete(w);
	memset(&m, 0, sizeof(m));
	member_copy(&m, &d.m[5]);
	snprintf(want, sizeof(want), "%s", d.m[5].address);
	mstate_free(&a);
	mstate_free(&b);
	mstate_free(&c);
	mstate_free(&d);
	CHECK_INT(intern_count(), 3);
	CHECK_STR(m.address, want);
	member_clear(&m);
	CHECK_INT(intern_count(), 0);
}

/* A state a peer made up, good or refused: its strings go with it. */
static void
hostile(void)
{
	struct mstate a, d;
	cJSON *w;
	char *s;
	const char *ms;
	int i;

	for (i = 0; i < 2; i++) {
		fill(&a, 2000, i ? "x" : "");
		w = mstate_to_wire(&a);
		mstate_free(&a);
		CHECK_INT(intern_count(), 0);
		if (i) {	/* one bad member at the end: refused after the good ones */
			ms = cJSON_GetObjectItemCaseSensitive(w, "members")->valuestring;
			s = malloc(strlen(ms) + 64);
			sprintf(s, "%s 99999 bad tcp://99.0.0.1:5 Q x -", ms);	/* no status Q */
			cJSON_ReplaceItemInObjectCaseSensitive(w, "members", cJSON_CreateString(s));
			free(s);
		}
		mstate_init(&d);
		CHECK_INT(mstate_from_wire(w, &d), i ? -1 : 0);
		CHECK_INT(intern_count(), i ? 0 : 4001);
		mstate_free(&d);
		CHECK_INT(intern_count(), 0);
		cJSON_Delete(w);
	}
}

int
main(void)
{
	log_init("test-intern");
	RUN(shared);
	RUN(many);
	RUN(balanced);
	RUN(hostile);
	RUN(threads);	/* last: it leaves its strings pinned */
	return unit_done();
}
