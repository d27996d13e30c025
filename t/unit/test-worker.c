/* test-worker.c: worker --pipe's framing (src/worker/pipe.c) and the master's "cancel" lists (answer.c). */
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "json.h"
#include "pipe.h"
#include "spawn.h"
#include "unit.h"

/* pipe_answer on a C string for job "j1": the kind, the result or why */
static enum pipe_answer
answer(const char *line, char *out, size_t outlen)
{
	unsigned char *res;
	size_t rlen;
	enum pipe_answer a = pipe_answer(line, strlen(line), "j1", &res, &rlen, out, outlen);

	if (a == PIPE_RESULT) {
		CHECK(rlen < outlen);
		memcpy(out, res, rlen);
		out[rlen] = '\0';
		free(res);
	} else
		CHECK(res == NULL);
	return a;
}

static void
job_lines(void)
{
	size_t len;
	char *s = pipe_job_line("img-7", "aGVsbG8=", 2, &len);
	cJSON *j;

	CHECK_STR(s, "{\"id\":\"img-7\",\"payload\":\"aGVsbG8=\",\"attempt\":2}\n");
	CHECK_INT(len, strlen(s));
	/* what jq and any JSON parser read */
	j = json_parse(s, len - 1);
	CHECK(j != NULL);
	CHECK_STR(json_str(j, "id"), "img-7");
	CHECK_STR(json_str(j, "payload"), "aGVsbG8=");
	cJSON_Delete(j);
	free(s);
	s = pipe_job_line("e", "", 1, &len);
	CHECK_STR(s, "{\"id\":\"e\",\"payload\":\"\",\"attempt\":1}\n");
	free(s);
}

static void
answers(void)
{
	char out[700];

	CHECK_INT(answer("{\"id\":\"j1\",\"result\":\"aGVsbG8=\"}", out, sizeof(out)), PIPE_RESULT);
	CHECK_STR(out, "hello");
	/* fields in any order, spaces, more fields: still an answer */
	CHECK_INT(answer(" { \"result\" : \"\" , \"id\" : \"j1\", \"took_ms\": 3 } ", out,
	    sizeof(out)), PIPE_RESULT);
	CHECK_STR(out, "");
	CHECK_INT(answer("{\"id\":\"j1\",\"error\":\"no such image\"}", out, sizeof(out)), PIPE_ERROR);
	CHECK_STR(out, "no such image");
	CHECK_INT(answer("{\"id\":\"j1\",\"error\":\"\"}", out, sizeof(out)), PIPE_ERROR);
	CHECK_STR(out, "the command gave no reason");
}

static void
protocol_errors(void)
{
	char out[700], big[2000];

	CHECK_INT(answer("hello world", out, sizeof(out)), PIPE_BAD);
	CHECK_STR(out, "answer is not JSON: 'hello world'");
	CHECK_INT(answer("", out, sizeof(out)), PIPE_BAD);
	CHECK_INT(answer("[1,2]", out, sizeof(out)), PIPE_BAD);
	CHECK_STR(out, "answer is not a JSON object: '[1,2]'");
	CHECK_INT(answer("{\"result\":\"aGk=\"}", out, sizeof(out)), PIPE_BAD);
	CHECK(strstr(out, "without an \"id\"") != NULL);
	CHECK_INT(answer("{\"id\":\"j2\",\"result\":\"aGk=\"}", out, sizeof(out)), PIPE_BAD);
	CHECK_STR(out, "answer for id 'j2' while job 'j1' runs");
	CHECK_INT(answer("{\"id\":7,\"result\":\"aGk=\"}", out, sizeof(out)), PIPE_BAD);
	CHECK_INT(answer("{\"id\":\"j1\"}", out, sizeof(out)), PIPE_BAD);
	CHECK(strstr(out, "one of \"result\" and \"error\"") != NULL);
	CHECK_INT(answer("{\"id\":\"j1\",\"result\":\"aGk=\",\"error\":\"x\"}", out, sizeof(out)),
	    PIPE_BAD);
	CHECK_INT(answer("{\"id\":\"j1\",\"result\":\"not base64!\"}", out, sizeof(out)), PIPE_BAD);
	CHECK(strstr(out, "\"result\" is not base64") != NULL);
	CHECK_INT(answer("{\"id\":\"j1\",\"result\":12}", out, sizeof(out)), PIPE_BAD);
	CHECK_INT(answer("{\"id\":\"j1\",\"error\":{}}", out, sizeof(out)), PIPE_BAD);
	/* a NUL in a string would cut it short: refused (lib/json.c) */
	CHECK_INT(answer("{\"id\":\"j1\\u0000x\",\"result\":\"\"}", out, sizeof(out)), PIPE_BAD);
	/* the excerpt of a long or binary line is short and printable */
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '\x01';
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(answer(big, out, sizeof(out)), PIPE_BAD);
	CHECK(strlen(out) < 80);
	CHECK(strstr(out, "'?xxx") != NULL && strstr(out, "...'") != NULL);
	/* the command's own reason is kept short and valid UTF-8 */
	memcpy(big, "{\"id\":\"j1\",\"error\":\"", 20);
	memset(big + 20, 'y', 1500);
	strcpy(big + 1520, "\"}");
	CHECK_INT(answer(big, out, sizeof(out)), PIPE_ERROR);
	CHECK_INT(strlen(out), 512);
}

static void
result_limit(void)
{
	size_t n = PIPE_RESULT_MAX + 3, blen = (n + 2) / 3 * 4;
	char *line = malloc(blen + 64), why[128];
	unsigned char *res;
	size_t rlen;

	/* base64 of PIPE_RESULT_MAX + 3 zero bytes: "AAAA"... */
	strcpy(line, "{\"id\":\"j1\",\"result\":\"");
	memset(line + strlen(line), 'A', blen);
	strcpy(line + 21 + blen, "\"}");
	CHECK(strlen(line) < PIPE_LINE_MAX);
	CHECK_INT(pipe_answer(line, strlen(line), "j1", &res, &rlen, why, sizeof(why)), PIPE_ERROR);
	CHECK_STR(why, "result over 1 MiB");
	CHECK(res == NULL);
	/* exactly 1 MiB is fine */
	n = PIPE_RESULT_MAX;
	blen = (n + 2) / 3 * 4;
	strcpy(line, "{\"id\":\"j1\",\"result\":\"");
	memset(line + 21, 'A', blen);
	strcpy(line + 21 + blen - 2, "==\"}");	/* 1 MiB is not a multiple of 3: pad */
	CHECK_INT(pipe_answer(line, strlen(line), "j1", &res, &rlen, why, sizeof(why)), PIPE_RESULT);
	CHECK_INT(rlen, PIPE_RESULT_MAX);
	free(res);
	free(line);
}

/* Feeds s to b in pieces of k bytes, as reads would. */
static void
feed(struct linebuf *b, const char *s, size_t k)
{
	size_t n = strlen(s), off = 0, room, m;
	char *p;

	while (off < n) {
		linebuf_room(b, &p, &room);
		m = n - off < k ? n - off : k;
		if (m > room)
			m = room;
		memcpy(p, s + off, m);
		linebuf_added(b, m);
		off += m;
	}
}

static void
lines(void)
{
	struct linebuf b;
	char *line, *big;
	size_t len;

	linebuf_init(&b, 100);
	CHECK_INT(linebuf_take(&b, &line, &len), 0);
	feed(&b, "one\ntw", 3);
	CHECK_INT(linebuf_take(&b, &line, &len), 1);
	CHECK_STR(line, "one");
	CHECK_INT(len, 3);
	CHECK_INT(linebuf_take(&b, &line, &len), 0);
	feed(&b, "o\n\nthree\n", 1);
	CHECK_INT(linebuf_take(&b, &line, &len), 1);
	CHECK_STR(line, "two");
	CHECK_INT(linebuf_take(&b, &line, &len), 1);
	CHECK_STR(line, "");
	CHECK_INT(linebuf_take(&b, &line, &len), 1);
	CHECK_STR(line, "three");
	CHECK_INT(linebuf_take(&b, &line, &len), 0);
	/* exactly max bytes is a line; one more is not, with or without its newline yet */
	big = malloc(300);
	memset(big, 'x', 100);
	strcpy(big + 100, "\n");
	feed(&b, big, 7);
	CHECK_INT(linebuf_take(&b, &line, &len), 1);
	CHECK_INT(len, 100);
	memset(big, 'y', 101);
	big[101] = '\0';
	feed(&b, big, 4096);
	CHECK_INT(linebuf_take(&b, &line, &len), -1);
	linebuf_clear(&b);
	strcpy(big + 101, "\n");
	feed(&b, big, 4096);
	CHECK_INT(linebuf_take(&b, &line, &len), -1);
	linebuf_clear(&b);
	feed(&b, "after\n", 2);
	CHECK_INT(linebuf_take(&b, &line, &len), 1);
	CHECK_STR(line, "after");
	free(big);
	linebuf_free(&b);
}

static char seen[8][WORK_ID_MAX + 1];
static int nseen;

static void
note(const char *id, void *arg)
{
	(void)arg;
	if (nseen < 8)
		strcpy(seen[nseen++], id);
}

static int
cancels(const char *json)
{
	cJSON *j = json_parse(json, strlen(json));
	int n;

	nseen = 0;
	n = answer_cancels(j, note, NULL);
	cJSON_Delete(j);
	return n;
}

static void
cancel_lists(void)
{
	CHECK_INT(cancels("{\"ok\":true}"), 0);
	CHECK_INT(cancels("{\"ok\":true,\"cancel\":null}"), 0);
	CHECK_INT(cancels("{\"ok\":true,\"cancel\":[]}"), 0);
	CHECK_INT(cancels("{\"ok\":true,\"job\":null,\"cancel\":[\"a-1\",\"b:2\"]}"), 2);
	CHECK_INT(nseen, 2);
	CHECK_STR(seen[0], "a-1");
	CHECK_STR(seen[1], "b:2");
	CHECK_INT(cancels("{\"ok\":true,\"cancel\":\"a-1\"}"), -1);
	CHECK_INT(nseen, 0);
	/* bad entries are skipped, the list called malformed, the good ids still cancelled */
	CHECK_INT(cancels("{\"ok\":true,\"cancel\":[\"ok-1\",7,\"bad id\",\"\",\"ok-2\"]}"), -1);
	CHECK_INT(nseen, 2);
	CHECK_STR(seen[1], "ok-2");
}

/* Whether cmd is run directly, and then its argv as one string. */
static const char *
prepared(const char *cmd)
{
	static char out[512];
	struct spawn_cmd sc;
	int i;

	spawn_prepare(&sc, cmd);
	if (!sc.direct) {
		snprintf(out, sizeof(out), "%s", strcmp(sc.argv[0], "/bin/sh") == 0 &&
		    strcmp(sc.argv[1], "-c") == 0 && strcmp(sc.argv[2], cmd) == 0 &&
		    sc.argv[3] == NULL ? "shell" : "bad shell argv");
		spawn_forget(&sc);
		return out;
	}
	snprintf(out, sizeof(out), "%s", strrchr(sc.argv[0], '/') + 1);
	for (i = 1; sc.argv[i] != NULL; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), " [%s]", sc.argv[i]);
	spawn_forget(&sc);
	return out;
}

static void
plain_commands(void)
{
	setenv("PATH", "/usr/bin:/bin", 1);
	CHECK_STR(prepared("cat"), "cat");
	CHECK_STR(prepared("  wc  -c\t"), "wc [-c]");
	CHECK_STR(prepared("/bin/cat"), "cat");
	CHECK_STR(prepared("gzip -c --fast"), "gzip [-c] [--fast]");
	/* anything the shell would do more than run it goes to the shell */
	CHECK_STR(prepared("cat | wc"), "shell");
	CHECK_STR(prepared("cat; true"), "shell");
	CHECK_STR(prepared("cat > x"), "shell");
	CHECK_STR(prepared("cat $HOME"), "shell");
	CHECK_STR(prepared("cat '-'"), "shell");
	CHECK_STR(prepared("cat *.txt"), "shell");
	CHECK_STR(prepared("cat ~/x"), "shell");
	CHECK_STR(prepared("cat # comment"), "shell");
	CHECK_STR(prepared("LC_ALL=C sort"), "shell");
	CHECK_STR(prepared("echo hi"), "shell");		/* a builtin, different from /bin/echo */
	CHECK_STR(prepared("exec cat"), "shell");
	CHECK_STR(prepared("exit 3"), "shell");
	CHECK_STR(prepared("no-such-command-here"), "shell");	/* the shell says "not found" */
	CHECK_STR(prepared("/no/such/file"), "shell");
	CHECK_STR(prepared("/etc/passwd"), "shell");		/* not executable */
	CHECK_STR(prepared(""), "shell");
	spawn_use_shell(1);
	CHECK_STR(prepared("cat"), "shell");
	spawn_use_shell(0);
}

/* The answer to a report that carried "next": a job, none, or an old master's (no "job"). */
static void
next_answers(void)
{
	const char *cases[] = {
		"{\"ok\":true,\"job\":{\"id\":\"n-1\",\"payload\":\"eA==\",\"attempt\":1}}",
		"{\"ok\":true,\"job\":null}",
		"{\"ok\":true,\"job\":\"n-1\"}",
		"{\"ok\":true}",
		"{\"ok\":true,\"cancel\":[\"x\"]}",
	};
	const int want[] = { 1, 0, 0, -1, -1 };
	const cJSON *job;
	cJSON *rsp;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rsp = json_parse(cases[i], strlen(cases[i]));
		job = (const cJSON *)1;
		CHECK_INT(answer_next(rsp, &job), want[i]);
		if (want[i] == 1)
			CHECK_STR(json_str(job, "id"), "n-1");
		else if (want[i] == 0)
			CHECK(job == NULL);
		cJSON_Delete(rsp);
	}
}

/* answer_jobs: the jobs of an ask for several; no "jobs" array: an old master. */
static void
jobs_answers(void)
{
	static const char *rsps[] = {
		"{\"ok\":true,\"jobs\":[{\"id\":\"a\"},{\"id\":\"b\"}]}",
		"{\"ok\":true,\"jobs\":[]}",
		"{\"ok\":true,\"job\":{\"id\":\"a\"}}",
		"{\"ok\":true,\"job\":null}",
		"{\"ok\":true,\"jobs\":{\"id\":\"a\"}}",
	};
	static const int want[] = { 2, 0, -1, -1, -1 };
	const cJSON *jobs;
	size_t i;

	for (i = 0; i < sizeof(rsps) / sizeof(rsps[0]); i++) {
		cJSON *rsp = cJSON_Parse(rsps[i]);

		CHECK_INT(answer_jobs(rsp, &jobs), want[i]);
		CHECK(want[i] < 0 ? jobs == NULL : cJSON_IsArray(jobs));
		if (want[i] == 2)
			CHECK_STR(json_str(cJSON_GetArrayItem(jobs, 1), "id"), "b");
		cJSON_Delete(rsp);
	}
}

int
main(void)
{
	RUN(job_lines);
	RUN(answers);
	RUN(protocol_errors);
	RUN(result_limit);
	RUN(lines);
	RUN(cancel_lists);
	RUN(next_answers);
	RUN(jobs_answers);
	RUN(plain_commands);
	return unit_done();
}
