/*
 * fuzz-pipe.c: what worker --pipe reads from a command it does not trust
 * (src/worker/pipe.c), and the master's cancel lists (answer.c). The input
 * is cut into reads of the size its first byte says, fed to the line
 * reader with a small bound, and every line it gives is parsed as the
 * answer for job "j1". An answer must be one of the three kinds, a result
 * at most PIPE_RESULT_MAX bytes, a reason non-empty and valid UTF-8 without
 * NUL. The whole input is also taken as a master's answer: every id a
 * cancel list yields must be a valid job id.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "json.h"
#include "pipe.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_id(const char *id, void *arg)
{
	(void)arg;
	if (!work_id_valid(id))
		abort();
}

static void
answer(const char *line, size_t len)
{
	unsigned char *res;
	size_t rlen;
	char why[700];

	switch (pipe_answer(line, len, "j1", &res, &rlen, why, sizeof(why))) {
	case PIPE_RESULT:
		if (rlen > PIPE_RESULT_MAX || (rlen > 0 && res == NULL))
			abort();
		free(res);
		break;
	case PIPE_ERROR:
	case PIPE_BAD:
		if (res != NULL || why[0] == '\0' || !utf8_text(why, strlen(why)))
			abort();
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf b;
	size_t off = 1, chunk, room, len;
	char *p, *line;
	cJSON *j;
	int r;

	if (size < 1)
		return 0;
	chunk = data[0] % 64 + 1;
	linebuf_init(&b, 256);
	while (off < size) {
		linebuf_room(&b, &p, &room);
		if (room > chunk)
			room = chunk;
		if (room > size - off)
			room = size - off;
		memcpy(p, data + off, room);
		linebuf_added(&b, room);
		off += room;
		while ((r = linebuf_take(&b, &line, &len)) != 0) {
			if (r < 0) {
				linebuf_clear(&b);	/* as the worker: the command is started again */
				break;
			}
			if (len > 256 || strlen(line) > len)
				abort();
			answer(line, len);
		}
	}
	linebuf_free(&b);
	if ((j = json_parse((const char *)data + 1, size - 1)) != NULL) {
		(void)answer_cancels(j, check_id, NULL);
		cJSON_Delete(j);
	}
	return 0;
}
