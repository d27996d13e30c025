/*
 * fuzz-frame: the node-to-node frame decoder (lib/auth.c frame_open), which
 * reads every byte a stranger sends before anything is authenticated. Each
 * input is opened under a keyring of two keys, under none, and as a
 * payload sealed and opened again (which must give it back whole).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keyring keyed, plain;

static void
setup(void)
{
	unsigned char k[KEY_BYTES];

	if (sodium_init() < 0)
		abort();
	memset(k, 7, sizeof(k));
	keyring_install(&keyed, k);
	memset(k, 9, sizeof(k));
	keyring_install(&keyed, k);
}

static void
open_one(const struct keyring *r, const uint8_t *data, size_t size)
{
	char cluster[CLUSTER_NAME_MAX + 1], *payload = NULL;
	size_t plen = 0;
	enum frame_result fr = frame_open(r, "akc", data, size, cluster, &payload, &plen);

	if (fr == FRAME_OK || fr == FRAME_OTHER_CLUSTER) {
		if (payload == NULL || payload[plen] != '\0' || plen > size)
			abort();
		if ((fr == FRAME_OK) != (strcmp(cluster, "akc") == 0))
			abort();
		free(payload);
	} else if (payload != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	unsigned char *f;
	char cluster[CLUSTER_NAME_MAX + 1], *payload;
	size_t flen, plen;
	int i;

	if (!ready) {
		setup();
		ready = 1;
	}
	open_one(&keyed, data, size);
	open_one(&plain, data, size);
	/* the input as a message: sealed under either ring, it opens to itself */
	for (i = 0; i < 2; i++) {
		const struct keyring *r = i ? &keyed : &plain;

		flen = frame_seal(r, "akc", (const char *)data, size, &f);
		if (frame_open(r, "akc", f, flen, cluster, &payload, &plen) != FRAME_OK ||
		    plen != size || memcmp(payload, data, size) != 0)
			abort();
		free(payload);
		/* one bit flipped in a sealed frame never opens */
		if (i && flen > 0) {
			f[(size * 31) % flen] ^= 1;
			if (frame_open(r, "akc", f, flen, cluster, &payload, &plen) == FRAME_OK)
				abort();
		}
		free(f);
	}
	return 0;
}
