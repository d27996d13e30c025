/* auth.c: HMAC tags (libsodium crypto_auth) on node-to-node frames. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "log.h"

int
auth_load(struct auth *a, const char *path)
{
	unsigned char buf[4096];
	ssize_t n;
	size_t len;
	int fd;

	memset(a, 0, sizeof(*a));
	if (path == NULL || *path == '\0')
		return 0;
	if (sodium_init() < 0) {
		log_warnx("cannot initialise libsodium");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("cannot open key-file '%s'", path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		log_warn("cannot read key-file '%s'", path);
		return -1;
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len < 16) {
		log_warnx("key-file '%s' is too short (%zu bytes, need at least 16)", path, len);
		return -1;
	}
	crypto_generichash(a->key, sizeof(a->key), buf, len, NULL, 0);
	sodium_memzero(buf, sizeof(buf));
	a->enabled = 1;
	return 0;
}

size_t
auth_frame(const struct auth *a, const char *payload, size_t len, char **out)
{
	char *f;

	if (!a->enabled) {
		if ((f = malloc(len)) == NULL)
			fatal("malloc");
		memcpy(f, payload, len);
		*out = f;
		return len;
	}
	if ((f = malloc(1 + AUTH_TAG_BYTES + len)) == NULL)
		fatal("malloc");
	f[0] = AUTH_MARK;
	crypto_auth((unsigned char *)f + 1, (const unsigned char *)payload, len, a->key);
	memcpy(f + 1 + AUTH_TAG_BYTES, payload, len);
	*out = f;
	return 1 + AUTH_TAG_BYTES + len;
}

int
auth_check(const struct auth *a, const char *frame, size_t len,
    const char **payload, size_t *plen)
{
	if (!a->enabled) {
		if (len > 0 && frame[0] == AUTH_MARK)
			return -1;
		*payload = frame;
		*plen = len;
		return 0;
	}
	if (len < 1 + AUTH_TAG_BYTES || frame[0] != AUTH_MARK)
		return -1;
	if (crypto_auth_verify((const unsigned char *)frame + 1,
	    (const unsigned char *)frame + 1 + AUTH_TAG_BYTES,
	    len - 1 - AUTH_TAG_BYTES, a->key) != 0)
		return -1;
	*payload = frame + 1 + AUTH_TAG_BYTES;
	*plen = len - 1 - AUTH_TAG_BYTES;
	return 0;
}
