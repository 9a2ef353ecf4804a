/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Identities and vault files (see identity.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "identity.h"
#include "secret_pool.h"

/* Header line, hex secret, newline: anything longer is not a vault. */
#define VAULT_TEXT_MAX 256

void identifier_format(const uint8_t public_key[IDENTITY_KEY_LEN], char *out)
{
	uint8_t h[crypto_generichash_BYTES];
	crypto_generichash(h, sizeof(h), public_key, IDENTITY_KEY_LEN, NULL, 0);
	out[0] = 'I';
	sodium_bin2hex(out + 1, IDENTIFIER_LEN, h, (IDENTIFIER_LEN - 1) / 2);
}

/* Identity keys (the X25519 secret, and a signing identity's Ed25519
 * secret) share guarded, locked chunks: a node with many secure channel
 * instances holds one identity each. */
static struct secret_pool key_pool = { .slot_size = IDENTITY_SIGN_SECRET_LEN };
_Static_assert(IDENTITY_KEY_LEN <= IDENTITY_SIGN_SECRET_LEN,
	       "one slot size holds both keys");

static struct identity *identity_alloc(void)
{
	struct identity *id = calloc(1, sizeof(*id));
	if (!id)
		return NULL;
	id->secret = secret_pool_alloc(&key_pool);
	if (!id->secret) {
		free(id);
		return NULL;
	}
	return id;
}

static int identity_derive(struct identity *id)
{
	/* An all-zero secret means a wiped or blank vault, never a key. */
	if (sodium_is_zero(id->secret, IDENTITY_KEY_LEN) ||
	    crypto_scalarmult_base(id->public_key, id->secret) != 0)
		return -EINVAL;
	identifier_format(id->public_key, id->identifier);
	return 0;
}

/* A signing identity: Ed25519 from `seed`, X25519 converted from it. */
static int identity_derive_signing(struct identity *id, const uint8_t *seed)
{
	if (!id->sign_secret)
		id->sign_secret = secret_pool_alloc(&key_pool);
	if (!id->sign_secret)
		return -ENOMEM;
	if (crypto_sign_seed_keypair(id->sign_public, id->sign_secret,
				     seed) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(id->secret,
						 id->sign_secret) != 0)
		return -EINVAL;
	return identity_derive(id);
}

void identity_free(struct identity *id)
{
	if (!id)
		return;
	secret_pool_free(&key_pool, id->secret); /* wipes */
	secret_pool_free(&key_pool, id->sign_secret);
	free(id);
}

int identity_generate(struct identity **out)
{
	struct identity *id = identity_alloc();
	if (!id)
		return -ENOMEM;
	do
		randombytes_buf(id->secret, IDENTITY_KEY_LEN);
	while (identity_derive(id) != 0);
	*out = id;
	return 0;
}

int identity_generate_signing(struct identity **out)
{
	struct identity *id = identity_alloc();
	if (!id)
		return -ENOMEM;
	uint8_t seed[crypto_sign_SEEDBYTES];
	int rc;
	do {
		randombytes_buf(seed, sizeof(seed));
		rc = identity_derive_signing(id, seed);
	} while (rc == -EINVAL);
	sodium_memzero(seed, sizeof(seed));
	if (rc != 0) {
		identity_free(id);
		return rc;
	}
	*out = id;
	return 0;
}

/* The directory of `path` ("." if none), fsync'ed so that a rename or
 * link in it survives a crash. */
static int dir_sync(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (slash && n == 0)
		n = 1; /* "/file" */
	memcpy(dir, slash ? path : ".", slash ? n : 1);
	dir[slash ? n : 1] = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

int vault_file_write(const char *path, const void *data, size_t len,
		     int replace)
{
	char tmp[4096 + 8];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* A temporary file left by a crash is ours to replace; O_EXCL after
	 * the unlink: never write through a file someone else made. */
	if (unlink(tmp) != 0 && errno != ENOENT)
		return -errno;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	if (fd < 0)
		return -errno;
	const uint8_t *p = data;
	size_t done = 0;
	int rc = 0;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && replace && rename(tmp, path) != 0)
		rc = -errno;
	if (rc == 0 && !replace && link(tmp, path) != 0)
		rc = -errno;
	if (rc != 0 || !replace)
		unlink(tmp);
	return rc == 0 ? dir_sync(path) : rc;
}

/* A vault-side file must be a regular file only its owner can read. */
static int vault_fd_check(int fd, const char *name, char *err, size_t err_len)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		snprintf(err, err_len, "vault %s: %s", name, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "vault %s is not a regular file", name);
		return -EINVAL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, err_len,
			 "vault %s is readable by group or others (mode %04o): chmod 600 %s",
			 name, (unsigned)(st.st_mode & 07777), name);
		return -EPERM;
	}
	return 0;
}

/* Up to `cap` bytes of `fd` into buf; *len. 0 or -errno. */
static int read_all(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	*len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0 || (*len += (size_t)r) == cap)
			return 0;
	}
}

int vault_file_read(const char *path, const char *name, void *buf,
		    size_t cap, size_t *len, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		snprintf(err, err_len, "vault %s: cannot open: %s", name,
			 strerror(e));
		return -e;
	}
	int rc = vault_fd_check(fd, name, err, err_len);
	if (rc == 0) {
		rc = read_all(fd, buf, cap, len);
		if (rc != 0)
			snprintf(err, err_len, "vault %s: %s", name,
				 strerror(-rc));
	}
	close(fd);
	return rc;
}

static int vault_create(const char *path, const char *name,
			struct identity **out, int signing, char *err,
			size_t err_len)
{
	struct identity *id;
	int rc = signing ? identity_generate_signing(&id)
			 : identity_generate(&id);
	if (rc != 0) {
		snprintf(err, err_len, "vault %s: out of memory", name);
		return rc;
	}
	char *text = sodium_malloc(VAULT_TEXT_MAX);
	if (!text) {
		identity_free(id);
		snprintf(err, err_len, "vault %s: out of memory", name);
		return -ENOMEM;
	}
	/* A signing vault stores the Ed25519 seed (the first half of sk). */
	const char *header = signing ? IDENTITY_VAULT_HEADER_SIGNING
				     : IDENTITY_VAULT_HEADER;
	size_t hlen = strlen(header);
	memcpy(text, header, hlen);
	text[hlen] = '\n';
	sodium_bin2hex(text + hlen + 1, 2 * IDENTITY_KEY_LEN + 1,
		       signing ? id->sign_secret : id->secret,
		       IDENTITY_KEY_LEN);
	size_t len = hlen + 1 + 2 * IDENTITY_KEY_LEN;
	text[len++] = '\n';
	/* Whole or not at all: a crash never leaves half a vault. */
	rc = vault_file_write(path, text, len, 0);
	sodium_free(text);
	if (rc != 0) {
		if (rc == -EEXIST)
			snprintf(err, err_len, "vault %s: exists", name);
		else
			snprintf(err, err_len, "vault %s: cannot create: %s",
				 name, strerror(-rc));
		identity_free(id);
		return rc;
	}
	*out = id;
	return 0;
}

static int vault_parse(const char *text, size_t len, struct identity *id)
{
	size_t hlen = strlen(IDENTITY_VAULT_HEADER);
	int signing = 0;
	if (len >= strlen(IDENTITY_VAULT_HEADER_SIGNING) + 1 &&
	    memcmp(text, IDENTITY_VAULT_HEADER_SIGNING "\n",
		   strlen(IDENTITY_VAULT_HEADER_SIGNING) + 1) == 0) {
		signing = 1;
		hlen = strlen(IDENTITY_VAULT_HEADER_SIGNING);
	} else if (len < hlen + 1 || memcmp(text, IDENTITY_VAULT_HEADER "\n",
					    hlen + 1) != 0) {
		return -1;
	}
	const char *hex = text + hlen + 1;
	size_t hex_len = len - hlen - 1;
	while (hex_len && (hex[hex_len - 1] == '\n' || hex[hex_len - 1] == '\r'))
		hex_len--;
	if (hex_len != 2 * IDENTITY_KEY_LEN)
		return -1;
	size_t bin_len = 0;
	if (sodium_hex2bin(id->secret, IDENTITY_KEY_LEN, hex, hex_len, NULL,
			   &bin_len, NULL) != 0 ||
	    bin_len != IDENTITY_KEY_LEN)
		return -1;
	if (signing) {
		/* id->secret held the seed only for the moment. */
		uint8_t seed[crypto_sign_SEEDBYTES];
		memcpy(seed, id->secret, sizeof(seed));
		int rc = identity_derive_signing(id, seed);
		sodium_memzero(seed, sizeof(seed));
		return rc == 0 ? 0 : -1;
	}
	return identity_derive(id) == 0 ? 0 : -1;
}

static int vault_read(int fd, const char *name, struct identity **out,
		      int signing, char *err, size_t err_len)
{
	int rc = vault_fd_check(fd, name, err, err_len);
	if (rc != 0)
		return rc;
	char *text = sodium_malloc(VAULT_TEXT_MAX);
	struct identity *id = identity_alloc();
	if (!text || !id) {
		sodium_free(text);
		identity_free(id);
		snprintf(err, err_len, "vault %s: out of memory", name);
		return -ENOMEM;
	}
	size_t len = 0;
	rc = read_all(fd, (uint8_t *)text, VAULT_TEXT_MAX, &len);
	if (rc != 0) {
		sodium_free(text);
		identity_free(id);
		snprintf(err, err_len, "vault %s: %s", name, strerror(-rc));
		return rc;
	}
	int bad = len == VAULT_TEXT_MAX || vault_parse(text, len, id) != 0;
	sodium_free(text); /* wipes the hex secret */
	if (bad) {
		identity_free(id);
		snprintf(err, err_len,
			 "vault %s is not a valid vault file (expected \"%s\" and 64 hex digits)",
			 name, IDENTITY_VAULT_HEADER);
		return -EINVAL;
	}
	if (signing && !id->sign_secret) {
		identity_free(id);
		snprintf(err, err_len,
			 "vault %s holds an X25519-only identity (%s), which cannot sign X3DH prekeys: use another vault file, which will be created as %s (a new identifier)",
			 name, IDENTITY_VAULT_HEADER,
			 IDENTITY_VAULT_HEADER_SIGNING);
		return -EINVAL;
	}
	*out = id;
	return 0;
}

static int vault_open(const char *path, const char *name,
		      struct identity **out, int *created, int signing,
		      char *err, size_t err_len)
{
	*created = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		int rc = vault_create(path, name, out, signing, err, err_len);
		/* Lost a creation race: read what the winner wrote. */
		if (rc != -EEXIST) {
			*created = rc == 0;
			return rc;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		int e = errno;
		snprintf(err, err_len, "vault %s: cannot open: %s", name,
			 strerror(e));
		return -e;
	}
	int rc = vault_read(fd, name, out, signing, err, err_len);
	close(fd);
	return rc;
}

int identity_vault_open(const char *path, const char *name,
			struct identity **out, int *created, char *err,
			size_t err_len)
{
	return vault_open(path, name, out, created, 0, err, err_len);
}

int identity_vault_open_signing(const char *path, const char *name,
				struct identity **out, int *created, char *err,
				size_t err_len)
{
	return vault_open(path, name, out, created, 1, err, err_len);
}
