/* auth.h: message authentication between nodes under the shared key-file. */
#ifndef AKC_AUTH_H
#define AKC_AUTH_H

#include <stddef.h>

#define AUTH_TAG_BYTES	32
#define AUTH_MARK	'A'

struct auth {
	int enabled;
	unsigned char key[32];
};

/* Loads the key from path (any bytes; hashed to 32). -1 with a warning on error. */
int auth_load(struct auth *a, const char *path);
/*
 * Frames payload into a malloc'd buffer: the payload itself when auth is off,
 * 'A' + HMAC-SHA512-256 tag + payload when on. Returns the frame length.
 */
size_t auth_frame(const struct auth *a, const char *payload, size_t len, char **out);
/*
 * Checks a received frame. Returns 0 and points *payload into frame on success,
 * -1 when it fails authentication (or carries a tag we cannot check).
 */
int auth_check(const struct auth *a, const char *frame, size_t len,
    const char **payload, size_t *plen);

#endif
