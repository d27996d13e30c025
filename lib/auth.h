/*
 * auth.h: node-to-node frames under the cluster's name and keyring
 * (doc/PROTOCOL.md, "Frames"). With a keyring every frame is encrypted
 * and authenticated (XChaCha20-Poly1305), the cluster name and header
 * bound in as associated data; without one, frames are plain and carry
 * the cluster name only.
 */
#ifndef AKC_AUTH_H
#define AKC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define KEYRING_MAX	16	/* keys one keyring holds */
#define KEY_BYTES	32
#define KEY_B64_LEN	44	/* base64 of a key, with padding */
#define CLUSTER_NAME_MAX 64

#define FRAME_PLAIN	'p'
#define FRAME_SEALED	'e'
/* the master's journal link (lib/link.c): the same, under kinds of its own */
#define FRAME_LINK_PLAIN	'j'
#define FRAME_LINK_SEALED	'J'
/* singletond's proxy link (src/singletond/plink.c on lib/link.c) */
#define FRAME_PLINK_PLAIN	's'
#define FRAME_PLINK_SEALED	'S'
/* the master link: proxies' requests straight to the serving master (src/master/mlink.c) */
#define FRAME_MLINK_PLAIN	'm'
#define FRAME_MLINK_SEALED	'M'

struct keyring {
	int n;			/* 0: no keyring, frames are plain */
	unsigned char key[KEYRING_MAX][KEY_BYTES];	/* key[0] encrypts */
	uint32_t id[KEYRING_MAX];
	int legacy;		/* the file was one key of any bytes (before keyrings) */
};

/*
 * Loads path: one base64 key a line (blank lines and # comments skipped),
 * or, when the file is not in that format, its whole content as one key.
 * An empty path is no keyring. -1 with a one-line warning naming the file.
 */
int keyring_load(struct keyring *, const char *path);
/* Writes the keyring to path atomically, mode 0600. -1 with a warning. */
int keyring_save(const struct keyring *, const char *path);
/* A key's base64 form (KEY_B64_LEN + 1 bytes). */
void key_b64(const unsigned char key[KEY_BYTES], char *out);
/* Parses a base64 key. -1 if it is not 32 bytes of base64. */
int key_parse(const char *b64, unsigned char key[KEY_BYTES]);
/* Generates a random key. */
void key_generate(unsigned char key[KEY_BYTES]);
/* Index of key in the ring, -1 if absent. */
int keyring_find(const struct keyring *, const unsigned char key[KEY_BYTES]);
int keyring_install(struct keyring *, const unsigned char key[KEY_BYTES]);	/* -1: full */
int keyring_use(struct keyring *, const unsigned char key[KEY_BYTES]);	/* -1: absent */
/* -1: absent, -2: it is the primary key. */
int keyring_remove(struct keyring *, const unsigned char key[KEY_BYTES]);

/* Seals payload into a malloc'd frame for cluster; returns its length. */
size_t frame_seal(const struct keyring *, const char *cluster, const char *payload, size_t len,
    unsigned char **out);

enum frame_result {
	FRAME_OK,		/* authentic, of our cluster */
	FRAME_OTHER_CLUSTER,	/* authentic, of the cluster named in *peer_cluster */
	FRAME_MALFORMED,	/* not a frame */
	FRAME_UNAUTHENTIC,	/* fails authentication, or under a key we do not hold */
};

/*
 * Opens frame: on FRAME_OK and FRAME_OTHER_CLUSTER, *payload (malloc'd,
 * NUL-terminated) and *plen hold the message and peer_cluster the sender's
 * cluster name (CLUSTER_NAME_MAX + 1 bytes).
 */
enum frame_result frame_open(const struct keyring *, const char *cluster,
    const unsigned char *frame, size_t len, char *peer_cluster, char **payload, size_t *plen);

/*
 * The same for the journal link's frames (kinds FRAME_LINK_*): a memberd
 * frame never opens as a link frame, nor a link frame as memberd's.
 */
size_t frame_seal_link(const struct keyring *, const char *cluster, const char *payload,
    size_t len, unsigned char **out);
enum frame_result frame_open_link(const struct keyring *, const char *cluster,
    const unsigned char *frame, size_t len, char *peer_cluster, char **payload, size_t *plen);
/* The same under any pair of kinds (lib/link.c's uses). */
size_t frame_seal_as(const struct keyring *, int plain, int sealed, const char *cluster,
    const char *payload, size_t len, unsigned char **out);
enum frame_result frame_open_as(const struct keyring *, int plain, int sealed,
    const char *cluster, const unsigned char *frame, size_t len, char *peer_cluster,
    char **payload, size_t *plen);

#endif
