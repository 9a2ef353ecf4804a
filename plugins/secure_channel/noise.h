/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Noise Protocol Framework, revision 34, on libsodium.
 *
 * DH: 25519.  Ciphers: ChaChaPoly, AESGCM (where the CPU has AES-NI and
 * PCLMUL).  Hashes: SHA256, SHA512, BLAKE2b (HMAC built per RFC 2104).
 * Patterns: NN, XX, IK (the handshake code is pattern-generic).
 *
 * Used by the secure_channel plugin, tests/interop/noise-peer and the
 * vector tests; it depends on libsodium only (no host code).
 */
#ifndef OCKAM_NOISE_H
#define OCKAM_NOISE_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_KEY_LEN 32
#define NOISE_DH_LEN 32
#define NOISE_TAG_LEN 16
#define NOISE_HASH_MAX 64
#define NOISE_MSG_MAX 65535
/* Nonce 2^64-1 is reserved (rekey); the last usable nonce is one below. */
#define NOISE_NONCE_MAX UINT64_MAX

enum noise_pattern { NOISE_PATTERN_NN, NOISE_PATTERN_XX, NOISE_PATTERN_IK };
enum noise_cipher { NOISE_CIPHER_CHACHAPOLY, NOISE_CIPHER_AESGCM };
enum noise_hash { NOISE_HASH_SHA256, NOISE_HASH_SHA512, NOISE_HASH_BLAKE2B };

struct noise_suite {
	enum noise_pattern pattern;
	enum noise_cipher cipher;
	enum noise_hash hash;
	char name[64]; /* "Noise_XX_25519_ChaChaPoly_BLAKE2b" */
};

/* sodium_init() once; 0 or -1. */
int noise_init(void);

/* Parse a full protocol name.  0, -EINVAL (unknown or unsupported name),
 * or -ENOTSUP (AESGCM on a CPU without AES-NI/PCLMUL). */
int noise_suite_parse(const char *name, struct noise_suite *out);
size_t noise_hash_len(enum noise_hash h);

/* 1 if `pub` is an X25519 public key of small order (all-zero, one, ...;
 * top bit ignored): any DH with it is all zero.  A few compares: a cheap
 * check before the DH a listener would otherwise spend on it. */
int noise_dh_public_is_weak(const uint8_t pub[NOISE_DH_LEN]);
/* The list it checks (top bit clear), NOISE_SMALL_ORDER_COUNT keys: public
 * so that the tests can hold every entry against libsodium's own DH. */
#define NOISE_SMALL_ORDER_COUNT 7
extern const uint8_t noise_small_order[NOISE_SMALL_ORDER_COUNT][NOISE_DH_LEN];

struct noise_cipherstate {
	enum noise_cipher cipher;
	int has_key;
	uint64_t n;
	uint8_t k[NOISE_KEY_LEN];
};

/* AEAD with an explicit nonce (the channel's message layer carries it).
 * out must hold len + NOISE_TAG_LEN (encrypt) or len - NOISE_TAG_LEN
 * (decrypt).  In-place (out == in) is allowed.  Return 0 or -1 (bad tag,
 * or the reserved nonce 2^64-1). */
int noise_encrypt_with_nonce(const struct noise_cipherstate *cs, uint64_t n,
			     const uint8_t *ad, size_t adlen,
			     const uint8_t *in, size_t len, uint8_t *out);
int noise_decrypt_with_nonce(const struct noise_cipherstate *cs, uint64_t n,
			     const uint8_t *ad, size_t adlen,
			     const uint8_t *in, size_t len, uint8_t *out);
/* Spec EncryptWithAd/DecryptWithAd: use and advance cs->n (a failed
 * decrypt does not advance it; exhaustion returns -1, never wraps).
 * Without a key they copy the input. */
int noise_cs_encrypt(struct noise_cipherstate *cs, const uint8_t *ad,
		     size_t adlen, const uint8_t *in, size_t len, uint8_t *out);
int noise_cs_decrypt(struct noise_cipherstate *cs, const uint8_t *ad,
		     size_t adlen, const uint8_t *in, size_t len, uint8_t *out);
/* REKEY(k) per section 4.2; n is unchanged. */
int noise_cs_rekey(struct noise_cipherstate *cs);
void noise_cs_wipe(struct noise_cipherstate *cs);

/* Handshake state: allocate with noise_handshake_new (sodium_malloc'd, so
 * keys live in guarded memory) and free with noise_handshake_free, which
 * wipes it. */
struct noise_handshake;

struct noise_keys {
	const uint8_t *s;  /* local static private key, or NULL */
	const uint8_t *e;  /* fixed ephemeral private key (tests only), or NULL */
	const uint8_t *rs; /* remote static public key (IK initiator), or NULL */
	const uint8_t *prologue;
	size_t prologue_len;
};

struct noise_handshake *noise_handshake_new(const struct noise_suite *suite,
					    int initiator,
					    const struct noise_keys *keys);
void noise_handshake_free(struct noise_handshake *hs);
/* Nonzero when it is this side's turn to write. */
int noise_handshake_is_my_turn(const struct noise_handshake *hs);
int noise_handshake_is_done(const struct noise_handshake *hs);
/* Write the next handshake message: payload in, message out.  Returns 0
 * and sets *out_len, or -1 (out too small, not our turn, DH failure). */
int noise_handshake_write(struct noise_handshake *hs, const uint8_t *payload,
			  size_t payload_len, uint8_t *out, size_t cap,
			  size_t *out_len);
/* Read the next handshake message; the decrypted payload goes to
 * `payload` (cap bytes).  Returns 0, or -1 on any failure (the handshake
 * must then be abandoned). */
int noise_handshake_read(struct noise_handshake *hs, const uint8_t *msg,
			 size_t len, uint8_t *payload, size_t cap,
			 size_t *payload_len);
/* After the last message: the transport cipher states (send = this side
 * to the peer, recv = the peer to this side) per Split(). */
int noise_handshake_split(struct noise_handshake *hs,
			  struct noise_cipherstate *send,
			  struct noise_cipherstate *recv);
/* h, hash_len bytes; valid at any time. */
const uint8_t *noise_handshake_hash(const struct noise_handshake *hs,
				    size_t *hash_len);
/* The peer's static public key once received, else NULL. */
const uint8_t *noise_handshake_remote_static(const struct noise_handshake *hs);
/* The local static public key (derived from s), or NULL. */
const uint8_t *noise_handshake_local_static(const struct noise_handshake *hs);

#endif
