/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Identities: a long-term X25519 key pair (the Noise static key), named by
 * its identifier "I" + lowercase hex of the first 16 bytes of
 * crypto_generichash(public key) (default 32-byte BLAKE2b output).
 *
 * A vault file holds one secret as text:
 *
 *   ockam-vault v1 x25519
 *   <64 lowercase hex digits>
 *
 * It is created 0600 with O_CREAT|O_EXCL when missing, and refused when its
 * mode lets group or others in.  Secrets live in sodium_malloc memory.
 *
 * A signing identity (needed by an X3DH listener to sign its prekeys) is an
 * Ed25519 key pair whose X25519 key is derived from it with
 * crypto_sign_ed25519_sk_to_curve25519, so the binding holds by
 * construction; its identifier is computed from the X25519 public key as
 * above.  Its vault holds the 32-byte Ed25519 seed:
 *
 *   ockam-vault v2 ed25519
 *   <64 lowercase hex digits>
 *
 * Both kinds load everywhere; only a signing identity can sign.
 */
#ifndef OCKAM_CHANNEL_IDENTITY_H
#define OCKAM_CHANNEL_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/message.h>

#define IDENTITY_KEY_LEN 32
#define IDENTIFIER_LEN OCKAM_IDENTIFIER_LEN /* "I" + 32 hex digits */
#define IDENTITY_VAULT_HEADER "ockam-vault v1 x25519"
#define IDENTITY_VAULT_HEADER_SIGNING "ockam-vault v2 ed25519"
#define IDENTITY_SIGN_PUBLIC_LEN 32
#define IDENTITY_SIGN_SECRET_LEN 64

struct identity {
	uint8_t *secret; /* IDENTITY_KEY_LEN bytes in a secret_pool slot */
	uint8_t public_key[IDENTITY_KEY_LEN];
	char identifier[IDENTIFIER_LEN + 1];
	/* Signing identities only (else NULL / zero): Ed25519 keys. */
	uint8_t *sign_secret; /* IDENTITY_SIGN_SECRET_LEN, a secret_pool slot */
	uint8_t sign_public[IDENTITY_SIGN_PUBLIC_LEN];
};

/* Write the identifier of `public_key` into out (IDENTIFIER_LEN + 1). */
void identifier_format(const uint8_t public_key[IDENTITY_KEY_LEN], char *out);
/* Whether a text is an identifier: ockam_identifier_valid (message.h). */

/* A fresh random identity.  0 or -ENOMEM. */
int identity_generate(struct identity **out);
/* Load the vault at `path`, creating it (with a new identity) if it does
 * not exist.  `name` is the path as the user wrote it, used in messages.
 * *created is set to 1 if the file was created.  On error returns a
 * negative errno and writes a one-line reason into `err`. */
int identity_vault_open(const char *path, const char *name,
			struct identity **out, int *created, char *err,
			size_t err_len);
/* The same for signing identities: a fresh one, or a vault that holds (or
 * is created with) an Ed25519 seed; a v1 (X25519-only) vault is refused
 * with -EINVAL and the reason. */
int identity_generate_signing(struct identity **out);
int identity_vault_open_signing(const char *path, const char *name,
				struct identity **out, int *created, char *err,
				size_t err_len);
void identity_free(struct identity *id);

/* Files kept beside a vault (the X3DH prekeys): written whole to a 0600
 * temporary file in the same directory, fsync'ed, then renamed over `path`
 * (`replace`) or linked to it only if it does not exist yet (!replace:
 * -EEXIST otherwise), and the directory fsync'ed, so a crash leaves the
 * old file or the new one, never a part.  0 or a negative errno. */
int vault_file_write(const char *path, const void *data, size_t len,
		     int replace);
/* Read a file written so, of at most `cap` bytes, with the vault's rules
 * (a regular file, not readable by group or others): 0 and *len, -ENOENT
 * if there is none, else a negative errno and the reason in `err`. */
int vault_file_read(const char *path, const char *name, void *buf,
		    size_t cap, size_t *len, char *err, size_t err_len);

#endif
