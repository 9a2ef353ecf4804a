/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X3DH key agreement (Signal's specification, revision 1) on libsodium:
 * X25519 for every DH, HKDF-SHA-256, Ed25519 prekey signatures, and the
 * resulting keys handed to the secure channel's message layer
 * (channel_data.c) as ChaChaPoly cipher states.  docs/protocol.md ("X3DH")
 * has the messages byte by byte.
 *
 *   BUNDLE_REQUEST 0x11
 *   BUNDLE         0x12 | IK_B | SIGN_B | spk_id u32 | SPK_B | sig 64 | opk_id u32 | [OPK_B]
 *   INIT           0x13 | IK_A | EK_A | spk_id u32 | opk_id u32 | AEAD(k_c, 0, AD, features)
 *   DONE           0x14 | AEAD(k_c, 1, AD, features)
 *
 * u32 are big-endian; opk_id 0 means "no one-time prekey".  The responder's
 * signing key SIGN_B is Ed25519 and IK_B must equal its X25519 conversion
 * (crypto_sign_ed25519_pk_to_curve25519): the binding holds by
 * construction.  sig = Ed25519(SIGN_B, Encode(SPK_B)), Encode(K) = 0x05 || K.
 * AD = Encode(IK_A) || Encode(IK_B).  HKDF(salt = 32 zero bytes, IKM = 32 x
 * 0xFF || DH1 || DH2 || DH3 [|| DH4], info = X3DH_INFO, 96 bytes) =
 * k_c || k_i2r || k_r2i.
 *
 * features is one byte (the Noise handshake's: bit 0 = "I accept batch
 * records"), so it is authenticated by the tag.  The first version sent an
 * empty plaintext (INIT 89 bytes, DONE 17); both forms are accepted, mean
 * features 0, and a responder answers the old INIT with the old DONE,
 * which is all such an initiator accepts.
 *
 * Pure code (no host services), unit-tested directly.
 */
#ifndef OCKAM_X3DH_H
#define OCKAM_X3DH_H

#include <stddef.h>
#include <stdint.h>

#include "noise.h"

#define X3DH_KEY_LEN 32
#define X3DH_SIG_LEN 64
#define X3DH_SIGN_SECRET_LEN 64
#define X3DH_ENCODED_KEY_LEN 33 /* 0x05 || key */
#define X3DH_AD_LEN (2 * X3DH_ENCODED_KEY_LEN)
#define X3DH_INFO "ockam-host X3DH X25519 SHA-256 v1"
#define X3DH_KEY_TYPE 0x05 /* Encode(): curve25519, as libsignal */

#define X3DH_MSG_BUNDLE_REQUEST 0x11
#define X3DH_MSG_BUNDLE 0x12
#define X3DH_MSG_INIT 0x13
#define X3DH_MSG_DONE 0x14

#define X3DH_BUNDLE_LEN_NO_OPK (1 + 32 + 32 + 4 + 32 + 64 + 4)
#define X3DH_BUNDLE_LEN (X3DH_BUNDLE_LEN_NO_OPK + 32)
#define X3DH_INIT_HEADER_LEN (1 + 32 + 32 + 4 + 4)
#define X3DH_FEATURES_LEN 1
#define X3DH_INIT_LEN (X3DH_INIT_HEADER_LEN + X3DH_FEATURES_LEN + NOISE_TAG_LEN)
#define X3DH_DONE_LEN (1 + X3DH_FEATURES_LEN + NOISE_TAG_LEN)
/* The first version's forms, without the features byte. */
#define X3DH_INIT_LEN_V1 (X3DH_INIT_HEADER_LEN + NOISE_TAG_LEN)
#define X3DH_DONE_LEN_V1 (1 + NOISE_TAG_LEN)
/* x3dh_respond's *features for an INIT without the byte. */
#define X3DH_NO_FEATURES (-1)

/* One-time prekeys a responder holds; refilled as they are used. */
#define X3DH_OPK_POOL 32

enum x3dh_error {
	X3DH_OK = 0,
	X3DH_ERR_FORMAT,    /* wrong length or type byte */
	X3DH_ERR_KEY,       /* non-canonical or low-order public key */
	X3DH_ERR_BINDING,   /* IK is not the X25519 form of the signing key */
	X3DH_ERR_SIGNATURE, /* signed prekey signature does not verify */
	X3DH_ERR_SPK_UNKNOWN, /* signed prekey id not current or previous */
	X3DH_ERR_OPK_UNKNOWN, /* one-time prekey id never issued */
	X3DH_ERR_OPK_USED,  /* one-time prekey already consumed (or expired) */
	X3DH_ERR_AUTH,      /* AEAD tag mismatch: tampered or wrong keys */
	X3DH_ERR_NOMEM,
};

const char *x3dh_strerror(enum x3dh_error e);

/* The keys both ends derive (keep them in sodium_malloc memory). */
struct x3dh_secret {
	uint8_t confirm[X3DH_KEY_LEN]; /* INIT (nonce 0) and DONE (nonce 1) */
	uint8_t i2r[X3DH_KEY_LEN];     /* data, initiator -> responder */
	uint8_t r2i[X3DH_KEY_LEN];     /* data, responder -> initiator */
	uint8_t ad[X3DH_AD_LEN];
};

struct x3dh_bundle {
	uint8_t ik[X3DH_KEY_LEN];
	uint8_t sign_pk[X3DH_KEY_LEN];
	uint32_t spk_id;
	uint8_t spk[X3DH_KEY_LEN];
	uint8_t spk_sig[X3DH_SIG_LEN];
	uint32_t opk_id; /* 0: none */
	uint8_t opk[X3DH_KEY_LEN];
};

/* RFC 5869 HKDF-SHA-256 (out_len <= 255 * 32).  0 or -1. */
int x3dh_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt,
		     size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		     const uint8_t *info, size_t info_len);
/* The X3DH KDF over `dh_len` bytes of DH outputs (96 or 128). */
int x3dh_kdf(const uint8_t *dh, size_t dh_len, struct x3dh_secret *out);
/* 1 if `pk` is a canonical X25519 u-coordinate (top bit clear, < p). */
int x3dh_key_is_canonical(const uint8_t pk[X3DH_KEY_LEN]);

size_t x3dh_bundle_encode(const struct x3dh_bundle *b, uint8_t *out,
			  size_t cap);
enum x3dh_error x3dh_bundle_decode(const uint8_t *msg, size_t len,
				   struct x3dh_bundle *out);
/* Binding (IK_B from SIGN_B), then the signature over Encode(SPK_B). */
enum x3dh_error x3dh_bundle_verify(const struct x3dh_bundle *b);

/* Initiator: from a verified bundle, our identity (ik_secret/ik_public)
 * and a fresh ephemeral secret, derive the keys and write the INIT message
 * carrying our `features` (X3DH_INIT_LEN bytes) into out. */
enum x3dh_error x3dh_initiate(const uint8_t ik_secret[X3DH_KEY_LEN],
			      const uint8_t ik_public[X3DH_KEY_LEN],
			      const uint8_t ek_secret[X3DH_KEY_LEN],
			      const struct x3dh_bundle *b, uint8_t features,
			      uint8_t *out, struct x3dh_secret *keys);
/* Responder's DONE with our `features` into out; returns its length:
 * X3DH_DONE_LEN, or X3DH_DONE_LEN_V1 (no byte) when the initiator's INIT
 * had none (peer_features X3DH_NO_FEATURES). */
size_t x3dh_done_seal(const struct x3dh_secret *keys, uint8_t features,
		      int peer_features, uint8_t *out);
/* Initiator's check of DONE (either length); *features receives the
 * responder's byte, 0 for the old form. */
enum x3dh_error x3dh_done_open(const struct x3dh_secret *keys,
			       const uint8_t *msg, size_t len,
			       uint8_t *features);
/* The data layer's cipher states for one side (ChaChaPoly, n = 0). */
void x3dh_cipherstates(const struct x3dh_secret *keys, int initiator,
		       struct noise_cipherstate *send,
		       struct noise_cipherstate *recv);

/* ---- the responder's prekeys ---------------------------------------- */

struct x3dh_spk {
	uint32_t id; /* 0: none */
	uint64_t created_ms;
	uint8_t secret[X3DH_KEY_LEN];
	uint8_t pub[X3DH_KEY_LEN];
	uint8_t sig[X3DH_SIG_LEN];
};

struct x3dh_opk {
	uint32_t id; /* 0: empty slot */
	int issued;  /* handed out in a bundle at issued_ms */
	uint64_t issued_ms;
	uint8_t secret[X3DH_KEY_LEN];
	uint8_t pub[X3DH_KEY_LEN];
};

/*
 * The signed prekey rotates every `rotation_ms`; the previous one stays
 * usable for one more period.  One-time prekeys are each issued in one
 * bundle only and consumed by the INIT that uses them; consumed slots are
 * refilled, and an issued key unused after `stale_ms` (the handshake
 * timeout: its initiator gave up) is replaced.  Ids only grow, so an id
 * below next_opk_id that is not in the pool was consumed or expired.
 * Allocate with sodium_malloc: it holds secrets.
 */
struct x3dh_prekeys {
	struct x3dh_spk cur, prev;
	struct x3dh_opk opk[X3DH_OPK_POOL];
	uint32_t next_spk_id, next_opk_id;
	uint64_t rotation_ms, stale_ms;
	uint8_t ik_secret[X3DH_KEY_LEN];
	uint8_t ik_public[X3DH_KEY_LEN];
	uint8_t sign_secret[X3DH_SIGN_SECRET_LEN];
	uint8_t sign_public[X3DH_KEY_LEN];
	/* Counts every change a restart must not lose (a key made, rotated
	 * out or consumed): the store saves when it moved. */
	uint64_t changes;
};

/* Copy the identity keys in and make the first prekeys. */
void x3dh_prekeys_init(struct x3dh_prekeys *p,
		       const uint8_t ik_secret[X3DH_KEY_LEN],
		       const uint8_t ik_public[X3DH_KEY_LEN],
		       const uint8_t sign_secret[X3DH_SIGN_SECRET_LEN],
		       uint64_t rotation_ms, uint64_t stale_ms, uint64_t now_ms);
/* Set `spk` to the signed prekey `secret` with id `id`, signed. */
void x3dh_spk_set(const struct x3dh_prekeys *p, struct x3dh_spk *spk,
		  uint32_t id, const uint8_t secret[X3DH_KEY_LEN],
		  uint64_t now_ms);
/* Rotate the signed prekey when due, refill one-time prekeys. */
void x3dh_prekeys_maintain(struct x3dh_prekeys *p, uint64_t now_ms);
/* A bundle for one request: issues one one-time prekey if any is free. */
void x3dh_prekeys_bundle(struct x3dh_prekeys *p, uint64_t now_ms,
			 struct x3dh_bundle *out);
/* The same; with_opk 0: none (three DHs), whatever the pool holds. */
void x3dh_prekeys_bundle_opk(struct x3dh_prekeys *p, uint64_t now_ms,
			     int with_opk, struct x3dh_bundle *out);
/* Responder: check an INIT message (either length), derive the keys and
 * consume its one-time prekey.  *ik_a receives the initiator's claimed
 * identity key whenever the message is well-formed (for logging), *opk_id
 * its one-time prekey id; on success *features its features byte, or
 * X3DH_NO_FEATURES for the old form. */
enum x3dh_error x3dh_respond(struct x3dh_prekeys *p, const uint8_t *msg,
			     size_t len, uint8_t ik_a[X3DH_KEY_LEN],
			     uint32_t *opk_id, struct x3dh_secret *keys,
			     int *features);
/* Forget the issued one-time prekey `opk_id` (its handshake ended without
 * using it): an INIT naming it is refused as used; maintain refills the
 * slot with a new key.  No-op if it is not in the pool. */
void x3dh_prekeys_retire(struct x3dh_prekeys *p, uint32_t opk_id);
void x3dh_prekeys_wipe(struct x3dh_prekeys *p);

#endif
