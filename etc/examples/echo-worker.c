/*
 * echo-worker.c: a persistent job command for `worker --pipe` in plain C
 * (worker(8), "Pipe workers"): it reads one job a line on stdin,
 * {"id":ID,"payload":BASE64,"attempt":N}, and answers one line on stdout,
 * {"id":ID,"result":BASE64}: the payload itself, decoded and encoded again
 * to show where a real worker would do its work. A payload that is not
 * base64 gets {"id":ID,"error":"why"}.
 *
 * Build: cc -O2 -o echo-worker echo-worker.c
 * Run:   worker --pipe /path/to/echo-worker
 *
 * It relies on what the worker guarantees: ids are A-Za-z0-9._:- and the
 * payload is base64, so neither needs JSON unescaping; a general worker
 * would use a JSON library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The string value of "key" in line, in place (the closing quote becomes NUL). */
static char *
field(char *line, const char *key)
{
	char pat[32], *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	if ((p = strstr(line, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	if ((end = strchr(p, '"')) == NULL)
		return NULL;
	*end = '\0';
	return p;
}

/* Decodes s into out (room for strlen(s) / 4 * 3 bytes); its length, or -1 if not base64. */
static long
b64_decode(const char *s, unsigned char *out)
{
	size_t len = strlen(s), i, k;
	unsigned long v;
	long n = 0;
	int c, pad = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		for (v = 0, k = 0; k < 4; k++) {
			const char *at = strchr(B64, s[i + k]);

			c = s[i + k];
			if (c == '=' && i + 4 == len && k >= 2 && (k == 3 || s[i + 3] == '=')) {
				pad++;
				v <<= 6;
			} else if (c != '\0' && at != NULL && !pad)
				v = v << 6 | (unsigned long)(at - B64);
			else
				return -1;
		}
		out[n++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)v;
	}
	return n;
}

static void
b64_put(const unsigned char *in, long len, FILE *f)
{
	unsigned long v;
	long i;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		fprintf(f, "%c%c%c%c", B64[v >> 18], B64[v >> 12 & 63], B64[v >> 6 & 63], B64[v & 63]);
	}
	if (len - i == 1) {
		v = (unsigned long)in[i] << 16;
		fprintf(f, "%c%c==", B64[v >> 18], B64[v >> 12 & 63]);
	} else if (len - i == 2) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		fprintf(f, "%c%c%c=", B64[v >> 18], B64[v >> 12 & 63], B64[v >> 6 & 63]);
	}
}

int
main(void)
{
	char *line = NULL, *id, *payload;
	unsigned char *buf;
	size_t cap = 0;
	long n;

	while (getline(&line, &cap, stdin) > 0) {
		/* the payload's key comes after the id's: take it first, the id's cut is after */
		payload = field(line, "payload");
		id = field(line, "id");
		if (id == NULL) {
			fprintf(stderr, "echo-worker: a line without an id\n");
			return 1;	/* the worker fails the job and starts us again */
		}
		if (payload == NULL || (buf = malloc(strlen(payload) / 4 * 3 + 1)) == NULL ||
		    (n = b64_decode(payload, buf)) < 0) {
			printf("{\"id\":\"%s\",\"error\":\"payload is not base64\"}\n", id);
		} else {
			/* the work: here, none */
			printf("{\"id\":\"%s\",\"result\":\"", id);
			b64_put(buf, n, stdout);
			printf("\"}\n");
		}
		if (payload != NULL)
			free(buf);
		if (fflush(stdout) != 0)
			return 1;
	}
	return 0;
}
