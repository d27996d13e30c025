/*
 * test-top.c: akc-top's model and layout without a terminal: status
 * answers and events in, the 80x24 screen out (members, markers, the
 * reachability matrix beside, below or summed up, alerts, the queue, the
 * latest events), down to sizes too small to hold anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "topmodel.h"
#include "topview.h"
#include "unit.h"

static cJSON *
parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	if (j == NULL) {
		fprintf(stderr, "bad test JSON: %s\n", s);
		exit(2);
	}
	return j;
}

/* A status answer for members n1..nN (all Up), n<unreach> unreachable from the others. */
static cJSON *
status(int n, int unreach, const char *uid)
{
	cJSON *st, *arr, *m, *u, *obs;
	char name[16];
	int i;

	st = parse("{\"v\":1,\"ok\":true,\"self\":\"n1\",\"phase\":\"member\",\"leader\":\"n1\","
	    "\"role_leaders\":{\"backend\":\"n1\"},\"convergence\":true,"
	    "\"majority\":{\"ok\":true,\"reachable\":3,\"remembered\":3}}");
	cJSON_AddStringToObject(st, "uid", uid);
	arr = cJSON_AddArrayToObject(st, "members");
	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		m = parse("{\"status\":\"Up\",\"roles\":[\"backend\"]}");
		cJSON_AddStringToObject(m, "node", name);
		cJSON_AddNumberToObject(m, "up_number", i);
		cJSON_AddBoolToObject(m, "reachable", i != unreach);
		cJSON_AddItemToArray(arr, m);
	}
	arr = cJSON_AddArrayToObject(st, "unreachable");
	if (unreach > 0) {
		u = cJSON_CreateObject();
		snprintf(name, sizeof(name), "n%d", unreach);
		cJSON_AddStringToObject(u, "node", name);
		cJSON_AddStringToObject(u, "status", "Up");
		obs = cJSON_AddArrayToObject(u, "observed_by");
		for (i = 1; i <= n && i <= 2; i++)
			if (i != unreach) {
				snprintf(name, sizeof(name), "n%d", i);
				cJSON_AddItemToArray(obs, cJSON_CreateString(name));
			}
		cJSON_AddItemToArray(arr, u);
	}
	return st;
}

static void
apply_status(struct top *t, int n, int unreach, const char *uid)
{
	cJSON *st = status(n, unreach, uid);

	CHECK_INT(top_apply_status(t, st, "12:00:00"), 0);
	cJSON_Delete(st);
	top_link_set(t, SRC_MEMBERD, LINK_OK, NULL);
	top_link_set(t, SRC_EVENTS, LINK_OK, NULL);
	top_link_set(t, SRC_LEADERD, LINK_OK, NULL);
}

static void
event(struct top *t, const char *json)
{
	cJSON *ev = parse(json);

	top_apply_event(t, ev, 1);
	cJSON_Delete(ev);
}

/* The first row of f that contains needle, or -1. */
static int
row_with(const struct frame *f, const char *needle)
{
	char buf[1024];
	int r;

	for (r = 0; r < f->h; r++)
		if (strstr(frame_line(f, r, buf), needle) != NULL)
			return r;
	return -1;
}

static const char *
row(const struct frame *f, int r)
{
	static char buf[1024];

	return frame_line(f, r, buf);
}

static void
dump(const struct frame *f)
{
	int r;

	for (r = 0; r < f->h; r++)
		printf("  |%s\n", row(f, r));
}

static void
all_up(void)
{
	struct top t;
	struct frame f;
	int r;

	top_init(&t, "n1");
	apply_status(&t, 3, 0, "7");
	frame_init(&f, 80, 24);
	top_render(&t, &f, "12:00:01", 1);
	CHECK(row_with(&f, "akc-top  node n1 (member)") == 0);
	CHECK(strstr(row(&f, 0), "12:00:01 UTC") != NULL);
	CHECK(row_with(&f, "leader n1   converged") > 0);
	CHECK(row_with(&f, "role leaders backend=n1") > 0);
	CHECK(row_with(&f, "MEMBERS 3 Up") > 0);
	CHECK((r = row_with(&f, "  n1   Up       yes      1  backend")) > 0);
	CHECK(row_with(&f, "  n2   Up       yes      2  backend") == r + 1);
	CHECK(row_with(&f, "  n3   Up       yes      3  backend") == r + 2);
	/* the matrix beside the members: n1's row sees everyone */
	CHECK(strstr(row(&f, r - 2), "REACHABILITY") != NULL);
	CHECK(strstr(row(&f, r - 1), "       n1 n2 n3") != NULL);
	CHECK(strstr(row(&f, r), "| n1   -  .  .") != NULL);
	CHECK(row_with(&f, "UNREACHABLE") < 0);
	CHECK(row_with(&f, "SINGLETONS  none known") > 0);
	CHECK(row_with(&f, "q quit") == 23);
	/* one member: the matrix is narrower than its heading, which stays whole */
	top_free(&t);
	top_init(&t, "n1");
	apply_status(&t, 1, 0, "7");
	top_render(&t, &f, "12:00:01", 1);
	CHECK((r = row_with(&f, "REACHABILITY")) > 0);
	CHECK(strstr(row(&f, r), "REACHABILITY") == row(&f, r) + 68);
	CHECK(strstr(row(&f, r + 2), "  n1   Up       yes      1  backend") == row(&f, r + 2));
	if (unit_fail)
		dump(&f);
	frame_free(&f);
	top_free(&t);
}

static void
unreachable(void)
{
	struct top t;
	struct frame f;
	int r;

	top_init(&t, "n1");
	apply_status(&t, 3, 0, "7");
	/* the event moves n3 before the next status answer */
	event(&t, "{\"type\":\"UnreachableMember\",\"node\":\"n3\",\"status\":\"Up\","
	    "\"time\":\"2026-12-06T08:35:21.429Z\",\"seq\":12}");
	CHECK(!top_member_find(&t, "n3")->reachable);
	frame_init(&f, 80, 24);
	top_render(&t, &f, "12:00:01", 1);
	CHECK(row_with(&f, "! n3   Up       NO       3  backend") > 0);
	CHECK(row_with(&f, "! UNREACHABLE n3") > 0);
	CHECK(row_with(&f, "08:35:21  UnreachableMember n3") > 0);
	/* the status answer names the observers: the matrix marks them */
	apply_status(&t, 3, 3, "7");
	top_render(&t, &f, "12:00:02", 1);
	CHECK(row_with(&f, "! UNREACHABLE n3 (by n1,n2)") > 0);
	CHECK((r = row_with(&f, "! n3")) > 0);
	CHECK(strstr(row(&f, r - 2), "| n1   -  .  X") != NULL);
	CHECK(strstr(row(&f, r - 1), "| n2   .  -  X") != NULL);
	CHECK(f.style[r * f.w] == STYLE_BAD);
	/* the event list kept the event */
	CHECK(row_with(&f, "UnreachableMember n3") > 0);
	event(&t, "{\"type\":\"ReachableMember\",\"node\":\"n3\",\"status\":\"Up\","
	    "\"time\":\"2026-12-06T08:35:25.000Z\",\"seq\":13}");
	top_render(&t, &f, "12:00:03", 1);
	CHECK(row_with(&f, "! n3") < 0);
	CHECK(row_with(&f, "UNREACHABLE") < 0);
	CHECK(row_with(&f, "08:35:25  ReachableMember n3") > 0);
	if (unit_fail)
		dump(&f);
	frame_free(&f);
	top_free(&t);
}

static void
events(void)
{
	struct top t;
	cJSON *st;
	int i;
	char ev[256];

	top_init(&t, "n1");
	apply_status(&t, 2, 0, "7");
	event(&t, "{\"type\":\"MemberJoined\",\"node\":\"n9\",\"status\":\"Joining\","
	    "\"roles\":[\"a\",\"b\"],\"uid\":\"99\",\"time\":\"2026-12-06T08:00:00.000Z\"}");
	CHECK(top_member_find(&t, "n9") != NULL);
	CHECK_STR(top_member_find(&t, "n9")->status, "Joining");
	CHECK_STR(top_member_find(&t, "n9")->roles, "a,b");
	CHECK_INT(top_member_find(&t, "n9")->up_number, -1);
	event(&t, "{\"type\":\"MemberUp\",\"node\":\"n9\",\"status\":\"Up\",\"up_number\":5,"
	    "\"roles\":[\"a\"],\"time\":\"2026-12-06T08:00:01.000Z\"}");
	CHECK_INT(top_member_find(&t, "n9")->up_number, 5);
	event(&t, "{\"type\":\"MemberRemoved\",\"node\":\"n2\",\"status\":\"Removed\","
	    "\"previous_status\":\"Down\",\"time\":\"2026-12-06T08:00:02.000Z\"}");
	CHECK(top_member_find(&t, "n2") == NULL);
	CHECK_INT(t.nm, 2);
	event(&t, "{\"type\":\"LeaderChanged\",\"leader\":\"n9\"}");
	CHECK_STR(t.leader, "n9");
	event(&t, "{\"type\":\"LeaderChanged\",\"leader\":null}");
	CHECK_STR(t.leader, "");
	event(&t, "{\"type\":\"SingletonStarted\",\"name\":\"master\",\"node\":\"n9\"}");
	CHECK_INT(t.nsg, 1);
	CHECK_STR(t.sg[0].node, "n9");
	event(&t, "{\"type\":\"SingletonStopped\",\"name\":\"master\",\"node\":\"n1\"}");
	CHECK_STR(t.sg[0].node, "n9");	/* stopped elsewhere: not where it runs */
	event(&t, "{\"type\":\"SingletonStopped\",\"name\":\"master\",\"node\":\"n9\"}");
	CHECK_STR(t.sg[0].node, "");
	CHECK_STR(top_event_at(&t, 0)->text, "MemberJoined n9");
	CHECK_STR(top_event_at(&t, 0)->time, "08:00:00");
	CHECK_STR(top_event_at(&t, 2)->text, "MemberRemoved n2 (was Down)");
	/* what cannot be read is skipped, never trusted */
	event(&t, "{\"type\":7}");
	event(&t, "{\"node\":\"n1\"}");
	event(&t, "{\"type\":\"MemberUp\",\"node\":5,\"status\":\"Up\"}");
	CHECK_INT(t.nm, 2);
	/* the ring keeps the latest */
	for (i = 0; i < 300; i++) {
		snprintf(ev, sizeof(ev), "{\"type\":\"LeaderChanged\",\"leader\":\"x%d\"}", i);
		event(&t, ev);
	}
	CHECK_INT(t.nev, TOP_EVENTS);
	CHECK_STR(top_event_at(&t, TOP_EVENTS - 1)->text, "LeaderChanged x299");
	CHECK(top_event_at(&t, TOP_EVENTS) == NULL);
	/* a status answer of a new memberd says so; a malformed one changes nothing */
	st = status(3, 0, "8");
	CHECK_INT(top_apply_status(&t, st, "12:00:00"), 1);
	cJSON_Delete(st);
	st = parse("{\"self\":\"n1\",\"members\":{}}");
	CHECK_INT(top_apply_status(&t, st, "12:00:00"), -1);
	cJSON_Delete(st);
	CHECK_INT(t.nm, 3);
	top_free(&t);
}

static void
queue_and_singletons(void)
{
	struct top t;
	struct frame f;
	cJSON *q, *s;

	top_init(&t, "n1");
	apply_status(&t, 3, 0, "7");
	frame_init(&f, 80, 24);
	top_link_set(&t, SRC_QUEUE, LINK_NONE, NULL);
	top_render(&t, &f, "12:00:01", 1);
	CHECK(row_with(&f, "QUEUE  no master proxy here") > 0);
	q = parse("{\"ok\":true,\"pending\":2,\"in_progress\":1,\"done\":30,\"failed\":1,"
	    "\"workers\":[{\"worker\":\"w1\",\"state\":\"busy\"},{\"worker\":\"w2\","
	    "\"state\":\"idle\"}],\"standbys\":[]}");
	top_apply_queue(&t, q);
	cJSON_Delete(q);
	top_link_set(&t, SRC_QUEUE, LINK_OK, NULL);
	s = parse("{\"name\":\"master\",\"state\":\"oldest\",\"oldest\":\"n1\","
	    "\"running_on\":\"n1\",\"running_here\":true,\"pid\":77}");
	top_apply_singleton(&t, "master", s, NULL);
	cJSON_Delete(s);
	top_apply_singleton(&t, "cron", NULL, "gone");
	top_render(&t, &f, "12:00:01", 1);
	CHECK(row_with(&f, "QUEUE  pending 2  running 1  done 30  failed 1  workers 2 (1 busy)") > 0);
	CHECK(row_with(&f, "SINGLETONS  master on n1 (here)  cron on ? (singletond here: gone)") > 0);
	CHECK(row_with(&f, "master ok") == 1);
	/* the master goes away: the last counts stay, marked stale */
	top_link_set(&t, SRC_QUEUE, LINK_DOWN, "proxy: no master");
	top_render(&t, &f, "12:00:02", 1);
	CHECK(row_with(&f, "workers 2 (1 busy)  stale: proxy") > 0);
	CHECK(row_with(&f, "master DOWN") == 1);
	if (unit_fail)
		dump(&f);
	frame_free(&f);
	top_free(&t);
}

static void
memberd_gone(void)
{
	struct top t;
	struct frame f;
	int r;

	top_init(&t, "n1");
	apply_status(&t, 3, 0, "7");
	top_link_set(&t, SRC_MEMBERD, LINK_DOWN, "'memberd' is not running (no socket 'x')");
	top_link_set(&t, SRC_LEADERD, LINK_DOWN, "leaderd is not running");
	frame_init(&f, 80, 24);
	top_render(&t, &f, "12:00:01", 1);
	CHECK(row_with(&f, "memberd DOWN") == 1);
	CHECK((r = row_with(&f, "! memberd gone (view of 12:00:00): 'memberd' is not "
	    "running (no socket 'x')")) > 0);
	CHECK(f.style[r * f.w] == STYLE_BAD);
	CHECK(row_with(&f, "! leaderd: leaderd is not running") > 0);
	/* the last view, dimmed */
	CHECK((r = row_with(&f, "  n2   Up")) > 0);
	CHECK(f.style[r * f.w + 2] == STYLE_DIM);
	if (unit_fail)
		dump(&f);
	frame_free(&f);
	top_free(&t);
}

/* 40 members at 80x24: the unreachable one keeps its row, the matrix is summed up. */
static void
crowded(void)
{
	struct top t;
	struct frame f;
	char buf[128];
	int r;

	top_init(&t, "n1");
	apply_status(&t, 40, 37, "7");
	frame_init(&f, 80, 24);
	top_render(&t, &f, "12:00:01", 1);
	CHECK(row_with(&f, "MEMBERS 40 Up") > 0);
	CHECK(row_with(&f, "! n37") > 0);
	CHECK(row_with(&f, "more members") > 0);
	CHECK(row_with(&f, "! UNREACHABLE n37 (by n1,n2)") == 3);
	CHECK(row_with(&f, "REACHABILITY") < 0);	/* the alert row says it */
	CHECK(row_with(&f, "q quit") == 23);
	for (r = 0; r < f.h; r++)
		CHECK(strlen(frame_line(&f, r, buf)) <= 80);
	if (unit_fail)
		dump(&f);
	frame_free(&f);
	/* 20 members on 100x40: a matrix fits neither beside nor below; a summary does */
	top_free(&t);
	top_init(&t, "n1");
	apply_status(&t, 20, 7, "7");
	frame_init(&f, 100, 40);
	top_render(&t, &f, "12:00:01", 1);
	CHECK(row_with(&f, "  n20  Up") > 0);
	CHECK(row_with(&f, "REACHABILITY  n7 from n1,n2") > 0);
	CHECK(row_with(&f, "EVENTS") > 0);
	if (unit_fail)
		dump(&f);
	frame_free(&f);
	/* wide but short of columns for a matrix beside: below, then */
	frame_init(&f, 60, 60);
	top_free(&t);
	top_init(&t, "n1");
	apply_status(&t, 12, 3, "7");
	top_render(&t, &f, "12:00:01", 1);
	CHECK(row_with(&f, "REACHABILITY (row: observer)") > 0);
	CHECK((r = row_with(&f, "       n1  n2  n3  n4")) > 0);
	CHECK(strstr(row(&f, r + 1), "  n1    -   .   X   .") != NULL);
	CHECK(strstr(row(&f, r + 3), "  n3    .   .   -   .") != NULL);
	if (unit_fail)
		dump(&f);
	frame_free(&f);
	top_free(&t);
}

/* Nothing from a daemon reaches the terminal as a control sequence; no size is too small. */
static void
hostile_and_tiny(void)
{
	struct top t;
	struct frame f;
	cJSON *ev;
	int w, h, i;

	top_init(&t, "n1");
	apply_status(&t, 3, 2, "7");
	ev = parse("{\"type\":\"MemberUp\",\"node\":\"e\\u001b[2J\\u00e9\",\"status\":\"Up\"}");
	top_apply_event(&t, ev, 1);
	cJSON_Delete(ev);
	frame_init(&f, 80, 24);
	top_render(&t, &f, "12:00:01", 1);
	for (i = 0; i < f.w * f.h; i++)
		if ((unsigned char)f.txt[i] < 0x20 || (unsigned char)f.txt[i] >= 0x7f)
			break;
	CHECK_INT(i, f.w * f.h);
	CHECK(row_with(&f, "e?[2J??") > 0);
	frame_free(&f);
	for (w = 1; w <= 30; w += 7)
		for (h = 1; h <= 12; h++) {
			frame_init(&f, w, h);
			top_render(&t, &f, "12:00:01", 1);
			top_render(&t, &f, "12:00:01", 0);
			frame_free(&f);
		}
	/* a frame printed once holds every member and event */
	frame_init(&f, 80, top_rows_wanted(&t));
	top_render(&t, &f, "12:00:01", 0);
	CHECK(row_with(&f, "  n3 ") > 0);
	CHECK(row_with(&f, "MemberUp e?[2J??") > 0);
	CHECK(row_with(&f, "q quit") < 0);
	frame_free(&f);
	top_free(&t);
}

int
main(void)
{
	RUN(all_up);
	RUN(unreachable);
	RUN(events);
	RUN(queue_and_singletons);
	RUN(memberd_gone);
	RUN(crowded);
	RUN(hostile_and_tiny);
	return unit_done();
}
