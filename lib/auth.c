/* auth.c: the keyring, and sealing and opening node-to-node frames (libsodium AEAD). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "b64.h"
#include "log.h"
#include "xmalloc.h"

#define KEYFILE_MAX	8192
#define NONCE_BYTES	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES	crypto_aead_xchacha20poly1305_ietf_ABYTES

static uint32_t
key_id(const unsigned char key[KEY_BYTES])
{
	unsigned char h[crypto_generichash_BYTES_MIN];

	/* a hash of the key under its own context: names the key, reveals nothing */
	crypto_generichash(h, sizeof(h), key, KEY_BYTES, (const unsigned char *)"akc key id", 10);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

int
key_parse(const char *b64, unsigned char key[KEY_BYTES])
{
	size_t len = 0;

	/* all of it decoded: b64_decode refuses trailing characters */
	if (strlen(b64) != KEY_B64_LEN)
		return -1;
	if (b64_decode(key, KEY_BYTES, b64, KEY_B64_LEN, &len) < 0 || len != KEY_BYTES)
		return -1;
	return 0;
}

void
key_b64(const unsigned char key[KEY_BYTES], char *out)
{
	b64_encode_buf(out, KEY_B64_LEN + 1, key, KEY_BYTES);
}

void
key_generate(unsigned char key[KEY_BYTES])
{
	randombytes_buf(key, KEY_BYTES);
}

int
keyring_find(const struct keyring *r, const unsigned char key[KEY_BYTES])
{
	int i;

	for (i = 0; i < r->n; i++)
		if (sodium_memcmp(r->key[i], key, KEY_BYTES) == 0)
			return i;
	return -1;
}

int
keyring_install(struct keyring *r, const unsigned char key[KEY_BYTES])
{
	if (keyring_find(r, key) >= 0)
		return 0;
	if (r->n == KEYRING_MAX)
		return -1;
	memcpy(r->key[r->n], key, KEY_BYTES);
	r->id[r->n] = key_id(key);
	r->n++;
	return 0;
}

int
keyring_use(struct keyring *r, const unsigned char key[KEY_BYTES])
{
	unsigned char k[KEY_BYTES];
	uint32_t id;
	int i = keyring_find(r, key);

	if (i < 0)
		return -1;
	memcpy(k, r->key[i], KEY_BYTES);
	id = r->id[i];
	memmove(r->key[1], r->key[0], (size_t)i * KEY_BYTES);
	memmove(&r->id[1], &r->id[0], (size_t)i * sizeof(r->id[0]));
	memcpy(r->key[0], k, KEY_BYTES);
	r->id[0] = id;
	sodium_memzero(k, sizeof(k));
	return 0;
}

int
keyring_remove(struct keyring *r, const unsigned char key[KEY_BYTES])
{
	int i = keyring_find(r, key);

	if (i < 0)
		return -1;
	if (i == 0)
		return -2;
	memmove(r->key[i], r->key[i + 1], (size_t)(r->n - i - 1) * KEY_BYTES);
	memmove(&r->id[i], &r->id[i + 1], (size_t)(r->n - i - 1) * sizeof(r->id[0]));
	r->n--;
	sodium_memzero(r->key[r->n], KEY_BYTES);
	return 0;
}

/* Parses text as a keyring of base64 lines; -1 if it is not one. */
static int
parse_lines(struct keyring *r, char *text)
{
	char *line, *save, *e;
	unsigned char key[KEY_BYTES];

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		e = line + strlen(line);
		while (e > line && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		if (key_parse(line, key) < 0 || keyring_install(r, key) < 0)
			return -1;
	}
	sodium_memzero(key, sizeof(key));
	return r->n > 0 ? 0 : -1;
}

int
keyring_load(struct keyring *r, const char *path)
{
	char buf[KEYFILE_MAX + 1], copy[KEYFILE_MAX + 1];
	ssize_t n;
	size_t len;
	int fd;

	memset(r, 0, sizeof(*r));
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
	n = read(fd, buf, KEYFILE_MAX + 1);
	close(fd);
	if (n < 0) {
		log_warn("cannot read key-file '%s'", path);
		return -1;
	}
	if (n > KEYFILE_MAX) {
		log_warnx("key-file '%s' is too large (more than %d bytes)", path, KEYFILE_MAX);
		return -1;
	}
	len = (size_t)n;
	buf[len] = '\0';
	memcpy(copy, buf, len + 1);
	if (memchr(buf, '\0', len) == NULL && parse_lines(r, copy) == 0) {
		sodium_memzero(buf, sizeof(buf));
		sodium_memzero(copy, sizeof(copy));
		return 0;
	}
	/* not a keyring: the whole file is one key, as before keyrings */
	memset(r, 0, sizeof(*r));
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len < 16) {
		log_warnx("key-file '%s' is too short (%zu bytes, need at least 16, "
		    "or lines of base64 keys from akc-keys generate)", path, len);
		return -1;
	}
	crypto_generichash(r->key[0], KEY_BYTES, (unsigned char *)buf, len, NULL, 0);
	r->id[0] = key_id(r->key[0]);
	r->n = 1;
	r->legacy = 1;
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(copy, sizeof(copy));
	return 0;
}

int
keyring_save(const struct keyring *r, const char *path)
{
	char tmp[4200], b64[KEY_B64_LEN + 1];
	int fd, i, ok = 1;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		log_warnx("key-file path '%s' is too long", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		log_warn("cannot write key-file '%s'", tmp);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -1;
	}
	(void)fchmod(fd, 0600);
	fprintf(f, "# akc keyring: the first key encrypts, every key decrypts (akc-keys(1))\n");
	for (i = 0; i < r->n; i++) {
		key_b64(r->key[i], b64);
		fprintf(f, "%s\n", b64);
	}
	sodium_memzero(b64, sizeof(b64));
	if (fflush(f) != 0 || fsync(fd) != 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		log_warn("cannot write key-file '%s'", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * The header: kind, name length, name; sealed frames add key id and nonce.
 * plain and sealed are the kinds of one stream (memberd's, the journal
 * link's): the kind is bound in, so a frame never opens as another stream's.
 */
static size_t
seal_kind(const struct keyring *r, int plain, int sealed, const char *cluster,
    const char *payload, size_t len, unsigned char **out)
{
	size_t cl = strlen(cluster), hl = 2 + cl, total;
	unsigned char *f;
	unsigned long long clen;

	total = hl + (r->n > 0 ? 4 + NONCE_BYTES + len + TAG_BYTES : len);
	f = xmalloc(total);
	f[0] = (unsigned char)(r->n > 0 ? sealed : plain);
	f[1] = (unsigned char)cl;
	memcpy(f + 2, cluster, cl);
	if (r->n == 0) {
		memcpy(f + hl, payload, len);
		*out = f;
		return total;
	}
	f[hl] = (unsigned char)(r->id[0] >> 24);
	f[hl + 1] = (unsigned char)(r->id[0] >> 16);
	f[hl + 2] = (unsigned char)(r->id[0] >> 8);
	f[hl + 3] = (unsigned char)r->id[0];
	randombytes_buf(f + hl + 4, NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(f + hl + 4 + NONCE_BYTES, &clen,
	    (const unsigned char *)payload, len, f, hl + 4, NULL, f + hl + 4, r->key[0]);
	*out = f;
	return hl + 4 + NONCE_BYTES + (size_t)clen;
}

static int
valid_cluster_name(const unsigned char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > CLUSTER_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

static enum frame_result
open_kind(const struct keyring *r, int plain, int sealed, const char *cluster,
    const unsigned char *f, size_t len, char *peer_cluster, char **payload, size_t *plen)
{
	size_t cl, hl, body;
	uint32_t id;
	unsigned long long mlen;
	char *m;
	int i;

	if (len < 2 || (f[0] != plain && f[0] != sealed))
		return FRAME_MALFORMED;
	cl = f[1];
	hl = 2 + cl;
	if (len < hl || !valid_cluster_name(f + 2, cl))
		return FRAME_MALFORMED;
	memcpy(peer_cluster, f + 2, cl);
	peer_cluster[cl] = '\0';
	if (f[0] == plain) {
		if (r->n > 0)
			return FRAME_UNAUTHENTIC;	/* we require keys: a plain frame proves nothing */
		body = len - hl;
		m = xmalloc(body + 1);
		memcpy(m, f + hl, body);
		m[body] = '\0';
	} else {
		if (r->n == 0 || len < hl + 4 + NONCE_BYTES + TAG_BYTES)
			return r->n == 0 ? FRAME_UNAUTHENTIC : FRAME_MALFORMED;
		id = (uint32_t)f[hl] << 24 | (uint32_t)f[hl + 1] << 16 |
		    (uint32_t)f[hl + 2] << 8 | f[hl + 3];
		body = len - hl - 4 - NONCE_BYTES;
		m = xmalloc(body - TAG_BYTES + 1);
		for (i = 0; i < r->n; i++)
			if (r->id[i] == id && crypto_aead_xchacha20poly1305_ietf_decrypt(
			    (unsigned char *)m, &mlen, NULL, f + hl + 4 + NONCE_BYTES, body,
			    f, hl + 4, f + hl + 4, r->key[i]) == 0)
				break;
		if (i == r->n) {
			free(m);
			return FRAME_UNAUTHENTIC;
		}
		body = (size_t)mlen;
		m[body] = '\0';
	}
	*payload = m;
	*plen = body;
	return strcmp(peer_cluster, cluster) == 0 ? FRAME_OK : FRAME_OTHER_CLUSTER;
}

size_t
frame_seal(const struct keyring *r, const char *cluster, const char *payload, size_t len,
    unsigned char **out)
{
	return seal_kind(r, FRAME_PLAIN, FRAME_SEALED, cluster, payload, len, out);
}

enum frame_result
frame_open(const struct keyring *r, const char *cluster, const unsigned char *f, size_t len,
    char *peer_cluster, char **payload, size_t *plen)
{
	return open_kind(r, FRAME_PLAIN, FRAME_SEALED, cluster, f, len, peer_cluster, payload, plen);
}

size_t
frame_seal_link(const struct keyring *r, const char *cluster, const char *payload, size_t len,
    unsigned char **out)
{
	return seal_kind(r, FRAME_LINK_PLAIN, FRAME_LINK_SEALED, cluster, payload, len, out);
}

enum frame_result
frame_open_link(const struct keyring *r, const char *cluster, const unsigned char *f, size_t len,
    char *peer_cluster, char **payload, size_t *plen)
{
	return open_kind(r, FRAME_LINK_PLAIN, FRAME_LINK_SEALED, cluster, f, len, peer_cluster,
	    payload, plen);
}

size_t
frame_seal_as(const struct keyring *r, int plain, int sealed, const char *cluster,
    const char *payload, size_t len, unsigned char **out)
{
	return seal_kind(r, plain, sealed, cluster, payload, len, out);
}

enum frame_result
frame_open_as(const struct keyring *r, int plain, int sealed, const char *cluster,
    const unsigned char *f, size_t len, char *peer_cluster, char **payload, size_t *plen)
{
	return open_kind(r, plain, sealed, cluster, f, len, peer_cluster, payload, plen);
}
