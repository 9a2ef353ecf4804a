/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X3DH key agreement (see x3dh.h and docs/protocol.md, "X3DH").
 */
#include <string.h>

#include <sodium.h>

#include "x3dh.h"

#define DH_MAX (4 * X3DH_KEY_LEN)
#define KDF_PAD_LEN 32 /* 32 bytes of 0xFF before the DH outputs (X25519) */

const char *x3dh_strerror(enum x3dh_error e)
{
	switch (e) {
	case X3DH_OK:
		return "ok";
	case X3DH_ERR_FORMAT:
		return "malformed message";
	case X3DH_ERR_KEY:
		return "invalid public key";
	case X3DH_ERR_BINDING:
		return "identity key is not bound to the signing key";
	case X3DH_ERR_SIGNATURE:
		return "bad signed prekey signature";
	case X3DH_ERR_SPK_UNKNOWN:
		return "unknown signed prekey (rotated out?)";
	case X3DH_ERR_OPK_UNKNOWN:
		return "unknown one-time prekey";
	case X3DH_ERR_OPK_USED:
		return "one-time prekey already used (or expired)";
	case X3DH_ERR_AUTH:
		return "first message does not authenticate (tampered, or wrong keys)";
	case X3DH_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown error";
}

/* ---- KDF ------------------------------------------------------------- */

int x3dh_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt,
		     size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		     const uint8_t *info, size_t info_len)
{
	enum { H = crypto_auth_hmacsha256_BYTES };
	if (out_len > 255 * H)
		return -1;
	crypto_auth_hmacsha256_state st;
	uint8_t prk[H], t[H];
	/* Extract: PRK = HMAC(salt, IKM). */
	crypto_auth_hmacsha256_init(&st, salt, salt_len);
	crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
	crypto_auth_hmacsha256_final(&st, prk);
	/* Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
	size_t done = 0;
	for (uint8_t i = 1; done < out_len; i++) {
		crypto_auth_hmacsha256_init(&st, prk, sizeof(prk));
		if (i > 1)
			crypto_auth_hmacsha256_update(&st, t, sizeof(t));
		crypto_auth_hmacsha256_update(&st, info, info_len);
		crypto_auth_hmacsha256_update(&st, &i, 1);
		crypto_auth_hmacsha256_final(&st, t);
		size_t n = out_len - done < H ? out_len - done : H;
		memcpy(out + done, t, n);
		done += n;
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
	return 0;
}

int x3dh_kdf(const uint8_t *dh, size_t dh_len, struct x3dh_secret *out)
{
	uint8_t ikm[KDF_PAD_LEN + DH_MAX];
	uint8_t salt[crypto_auth_hmacsha256_BYTES] = { 0 };
	uint8_t okm[3 * X3DH_KEY_LEN];
	if (dh_len > DH_MAX)
		return -1;
	memset(ikm, 0xFF, KDF_PAD_LEN);
	memcpy(ikm + KDF_PAD_LEN, dh, dh_len);
	int rc = x3dh_hkdf_sha256(okm, sizeof(okm), salt, sizeof(salt), ikm,
				  KDF_PAD_LEN + dh_len,
				  (const uint8_t *)X3DH_INFO,
				  strlen(X3DH_INFO));
	memcpy(out->confirm, okm, X3DH_KEY_LEN);
	memcpy(out->i2r, okm + X3DH_KEY_LEN, X3DH_KEY_LEN);
	memcpy(out->r2i, okm + 2 * X3DH_KEY_LEN, X3DH_KEY_LEN);
	sodium_memzero(ikm, sizeof(ikm));
	sodium_memzero(okm, sizeof(okm));
	return rc;
}

/* ---- encoding -------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void key_encode(const uint8_t key[X3DH_KEY_LEN], uint8_t *out)
{
	out[0] = X3DH_KEY_TYPE;
	memcpy(out + 1, key, X3DH_KEY_LEN);
}

static void ad_make(const uint8_t ik_a[X3DH_KEY_LEN],
		    const uint8_t ik_b[X3DH_KEY_LEN], uint8_t *ad)
{
	key_encode(ik_a, ad);
	key_encode(ik_b, ad + X3DH_ENCODED_KEY_LEN);
}

int x3dh_key_is_canonical(const uint8_t pk[X3DH_KEY_LEN])
{
	/* p = 2^255 - 19: little-endian ed ff .. ff 7f. */
	if (pk[31] & 0x80)
		return 0;
	if (pk[31] != 0x7f)
		return 1;
	for (int i = 30; i >= 1; i--)
		if (pk[i] != 0xff)
			return 1;
	return pk[0] < 0xed;
}

size_t x3dh_bundle_encode(const struct x3dh_bundle *b, uint8_t *out,
			  size_t cap)
{
	size_t len = b->opk_id ? X3DH_BUNDLE_LEN : X3DH_BUNDLE_LEN_NO_OPK;
	if (cap < len)
		return 0;
	uint8_t *p = out;
	*p++ = X3DH_MSG_BUNDLE;
	memcpy(p, b->ik, X3DH_KEY_LEN);
	p += X3DH_KEY_LEN;
	memcpy(p, b->sign_pk, X3DH_KEY_LEN);
	p += X3DH_KEY_LEN;
	put_u32(p, b->spk_id);
	p += 4;
	memcpy(p, b->spk, X3DH_KEY_LEN);
	p += X3DH_KEY_LEN;
	memcpy(p, b->spk_sig, X3DH_SIG_LEN);
	p += X3DH_SIG_LEN;
	put_u32(p, b->opk_id);
	p += 4;
	if (b->opk_id)
		memcpy(p, b->opk, X3DH_KEY_LEN);
	return len;
}

enum x3dh_error x3dh_bundle_decode(const uint8_t *msg, size_t len,
				   struct x3dh_bundle *out)
{
	if (len < X3DH_BUNDLE_LEN_NO_OPK || msg[0] != X3DH_MSG_BUNDLE)
		return X3DH_ERR_FORMAT;
	const uint8_t *p = msg + 1;
	memcpy(out->ik, p, X3DH_KEY_LEN);
	p += X3DH_KEY_LEN;
	memcpy(out->sign_pk, p, X3DH_KEY_LEN);
	p += X3DH_KEY_LEN;
	out->spk_id = get_u32(p);
	p += 4;
	memcpy(out->spk, p, X3DH_KEY_LEN);
	p += X3DH_KEY_LEN;
	memcpy(out->spk_sig, p, X3DH_SIG_LEN);
	p += X3DH_SIG_LEN;
	out->opk_id = get_u32(p);
	p += 4;
	if (len != (out->opk_id ? X3DH_BUNDLE_LEN : X3DH_BUNDLE_LEN_NO_OPK))
		return X3DH_ERR_FORMAT;
	if (out->opk_id)
		memcpy(out->opk, p, X3DH_KEY_LEN);
	else
		memset(out->opk, 0, X3DH_KEY_LEN);
	if (!x3dh_key_is_canonical(out->ik) ||
	    !x3dh_key_is_canonical(out->spk) ||
	    (out->opk_id && !x3dh_key_is_canonical(out->opk)))
		return X3DH_ERR_KEY;
	return X3DH_OK;
}

enum x3dh_error x3dh_bundle_verify(const struct x3dh_bundle *b)
{
	uint8_t ik[X3DH_KEY_LEN], enc[X3DH_ENCODED_KEY_LEN];
	/* Rejects points not on the curve or of small order. */
	if (crypto_sign_ed25519_pk_to_curve25519(ik, b->sign_pk) != 0 ||
	    sodium_memcmp(ik, b->ik, X3DH_KEY_LEN) != 0)
		return X3DH_ERR_BINDING;
	key_encode(b->spk, enc);
	if (crypto_sign_verify_detached(b->spk_sig, enc, sizeof(enc),
					b->sign_pk) != 0)
		return X3DH_ERR_SIGNATURE;
	return X3DH_OK;
}

/* ---- the exchange ---------------------------------------------------- */

static void cs_set(struct noise_cipherstate *cs, const uint8_t *k)
{
	memset(cs, 0, sizeof(*cs));
	cs->cipher = NOISE_CIPHER_CHACHAPOLY;
	cs->has_key = 1;
	memcpy(cs->k, k, NOISE_KEY_LEN);
}

/* AEAD of the confirmation (the features byte, or nothing for the first
 * version's form) under k_c with nonce n and AD: pt_len + tag bytes. */
static void confirm_seal(const struct x3dh_secret *keys, uint64_t n,
			 const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	struct noise_cipherstate cs;
	cs_set(&cs, keys->confirm);
	noise_encrypt_with_nonce(&cs, n, keys->ad, sizeof(keys->ad), pt, pt_len,
				 out);
	noise_cs_wipe(&cs);
}

/* Opens ct_len (tag + 0 or 1 byte) bytes into pt; 0 or -1. */
static int confirm_open(const struct x3dh_secret *keys, uint64_t n,
			const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	struct noise_cipherstate cs;
	cs_set(&cs, keys->confirm);
	int rc = noise_decrypt_with_nonce(&cs, n, keys->ad, sizeof(keys->ad),
					  ct, ct_len, pt);
	noise_cs_wipe(&cs);
	return rc;
}

enum x3dh_error x3dh_initiate(const uint8_t ik_secret[X3DH_KEY_LEN],
			      const uint8_t ik_public[X3DH_KEY_LEN],
			      const uint8_t ek_secret[X3DH_KEY_LEN],
			      const struct x3dh_bundle *b, uint8_t features,
			      uint8_t *out, struct x3dh_secret *keys)
{
	uint8_t dh[DH_MAX], ek[X3DH_KEY_LEN];
	size_t dh_len = 3 * X3DH_KEY_LEN;
	enum x3dh_error rc = X3DH_ERR_KEY;
	/* DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A,
	 * SPK_B), DH4 = DH(EK_A, OPK_B).  libsodium refuses an all-zero
	 * result (a low-order peer key). */
	if (crypto_scalarmult_base(ek, ek_secret) != 0 ||
	    crypto_scalarmult(dh, ik_secret, b->spk) != 0 ||
	    crypto_scalarmult(dh + 32, ek_secret, b->ik) != 0 ||
	    crypto_scalarmult(dh + 64, ek_secret, b->spk) != 0)
		goto out;
	if (b->opk_id) {
		if (crypto_scalarmult(dh + 96, ek_secret, b->opk) != 0)
			goto out;
		dh_len += X3DH_KEY_LEN;
	}
	if (x3dh_kdf(dh, dh_len, keys) != 0)
		goto out;
	ad_make(ik_public, b->ik, keys->ad);

	uint8_t *p = out;
	*p++ = X3DH_MSG_INIT;
	memcpy(p, ik_public, X3DH_KEY_LEN);
	p += X3DH_KEY_LEN;
	memcpy(p, ek, X3DH_KEY_LEN);
	p += X3DH_KEY_LEN;
	put_u32(p, b->spk_id);
	p += 4;
	put_u32(p, b->opk_id);
	p += 4;
	confirm_seal(keys, 0, &features, X3DH_FEATURES_LEN, p);
	rc = X3DH_OK;
out:
	sodium_memzero(dh, sizeof(dh));
	return rc;
}

size_t x3dh_done_seal(const struct x3dh_secret *keys, uint8_t features,
		      int peer_features, uint8_t *out)
{
	/* A first-version initiator accepts only the 17-byte DONE. */
	size_t plen = peer_features == X3DH_NO_FEATURES ? 0 : X3DH_FEATURES_LEN;
	out[0] = X3DH_MSG_DONE;
	confirm_seal(keys, 1, &features, plen, out + 1);
	return 1 + plen + NOISE_TAG_LEN;
}

enum x3dh_error x3dh_done_open(const struct x3dh_secret *keys,
			       const uint8_t *msg, size_t len,
			       uint8_t *features)
{
	uint8_t pt[X3DH_FEATURES_LEN] = { 0 };
	if ((len != X3DH_DONE_LEN && len != X3DH_DONE_LEN_V1) ||
	    msg[0] != X3DH_MSG_DONE)
		return X3DH_ERR_FORMAT;
	if (confirm_open(keys, 1, msg + 1, len - 1, pt) != 0)
		return X3DH_ERR_AUTH;
	*features = pt[0]; /* 0 when the responder sent none */
	return X3DH_OK;
}

void x3dh_cipherstates(const struct x3dh_secret *keys, int initiator,
		       struct noise_cipherstate *send,
		       struct noise_cipherstate *recv)
{
	cs_set(send, initiator ? keys->i2r : keys->r2i);
	cs_set(recv, initiator ? keys->r2i : keys->i2r);
}

/* ---- the responder's prekeys ----------------------------------------- */

void x3dh_spk_set(const struct x3dh_prekeys *p, struct x3dh_spk *spk,
		  uint32_t id, const uint8_t secret[X3DH_KEY_LEN],
		  uint64_t now_ms)
{
	uint8_t enc[X3DH_ENCODED_KEY_LEN];
	spk->id = id;
	spk->created_ms = now_ms;
	memcpy(spk->secret, secret, X3DH_KEY_LEN);
	crypto_scalarmult_base(spk->pub, spk->secret);
	key_encode(spk->pub, enc);
	crypto_sign_detached(spk->sig, NULL, enc, sizeof(enc), p->sign_secret);
}

static void spk_new(struct x3dh_prekeys *p, struct x3dh_spk *spk,
		    uint64_t now_ms)
{
	uint8_t secret[X3DH_KEY_LEN];
	randombytes_buf(secret, sizeof(secret));
	x3dh_spk_set(p, spk, p->next_spk_id++, secret, now_ms);
	p->changes++;
	if (p->next_spk_id == 0)
		p->next_spk_id = 1;
	sodium_memzero(secret, sizeof(secret));
}

static void opk_new(struct x3dh_prekeys *p, struct x3dh_opk *o)
{
	/* Ids never repeat in practice (2^32 keys); 0 stays "none". */
	o->id = p->next_opk_id++;
	if (p->next_opk_id == 0)
		p->next_opk_id = 1;
	o->issued = 0;
	o->issued_ms = 0;
	p->changes++;
	randombytes_buf(o->secret, sizeof(o->secret));
	crypto_scalarmult_base(o->pub, o->secret);
}

void x3dh_prekeys_init(struct x3dh_prekeys *p,
		       const uint8_t ik_secret[X3DH_KEY_LEN],
		       const uint8_t ik_public[X3DH_KEY_LEN],
		       const uint8_t sign_secret[X3DH_SIGN_SECRET_LEN],
		       uint64_t rotation_ms, uint64_t stale_ms, uint64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->ik_secret, ik_secret, X3DH_KEY_LEN);
	memcpy(p->ik_public, ik_public, X3DH_KEY_LEN);
	memcpy(p->sign_secret, sign_secret, X3DH_SIGN_SECRET_LEN);
	crypto_sign_ed25519_sk_to_pk(p->sign_public, p->sign_secret);
	p->rotation_ms = rotation_ms;
	p->stale_ms = stale_ms;
	p->next_spk_id = 1;
	p->next_opk_id = 1;
	spk_new(p, &p->cur, now_ms);
	x3dh_prekeys_maintain(p, now_ms);
}

void x3dh_prekeys_maintain(struct x3dh_prekeys *p, uint64_t now_ms)
{
	if (now_ms - p->cur.created_ms >= p->rotation_ms) {
		/* The previous key stays for one more period, unless the
		 * current one is already that old itself. */
		if (now_ms - p->cur.created_ms < 2 * p->rotation_ms)
			p->prev = p->cur;
		else
			sodium_memzero(&p->prev, sizeof(p->prev));
		spk_new(p, &p->cur, now_ms);
	}
	if (p->prev.id && now_ms - p->prev.created_ms >= 2 * p->rotation_ms) {
		sodium_memzero(&p->prev, sizeof(p->prev));
		p->changes++;
	}
	for (size_t i = 0; i < X3DH_OPK_POOL; i++) {
		struct x3dh_opk *o = &p->opk[i];
		if (!o->id || (o->issued && now_ms - o->issued_ms >= p->stale_ms))
			opk_new(p, o);
	}
}

void x3dh_prekeys_bundle(struct x3dh_prekeys *p, uint64_t now_ms,
			 struct x3dh_bundle *out)
{
	x3dh_prekeys_bundle_opk(p, now_ms, 1, out);
}

void x3dh_prekeys_bundle_opk(struct x3dh_prekeys *p, uint64_t now_ms,
			     int with_opk, struct x3dh_bundle *out)
{
	x3dh_prekeys_maintain(p, now_ms);
	memset(out, 0, sizeof(*out));
	memcpy(out->ik, p->ik_public, X3DH_KEY_LEN);
	memcpy(out->sign_pk, p->sign_public, X3DH_KEY_LEN);
	out->spk_id = p->cur.id;
	memcpy(out->spk, p->cur.pub, X3DH_KEY_LEN);
	memcpy(out->spk_sig, p->cur.sig, X3DH_SIG_LEN);
	/* The oldest free one; none left is allowed (three DHs). */
	struct x3dh_opk *pick = NULL;
	for (size_t i = 0; with_opk && i < X3DH_OPK_POOL; i++) {
		struct x3dh_opk *o = &p->opk[i];
		if (o->id && !o->issued && (!pick || o->id < pick->id))
			pick = o;
	}
	if (pick) {
		pick->issued = 1;
		pick->issued_ms = now_ms;
		out->opk_id = pick->id;
		memcpy(out->opk, pick->pub, X3DH_KEY_LEN);
	}
}

enum x3dh_error x3dh_respond(struct x3dh_prekeys *p, const uint8_t *msg,
			     size_t len, uint8_t ik_a[X3DH_KEY_LEN],
			     uint32_t *opk_id, struct x3dh_secret *keys,
			     int *features)
{
	if ((len != X3DH_INIT_LEN && len != X3DH_INIT_LEN_V1) ||
	    msg[0] != X3DH_MSG_INIT)
		return X3DH_ERR_FORMAT;
	const uint8_t *ek = msg + 1 + X3DH_KEY_LEN;
	uint32_t spk_id = get_u32(msg + 1 + 2 * X3DH_KEY_LEN);
	*opk_id = get_u32(msg + 1 + 2 * X3DH_KEY_LEN + 4);
	memcpy(ik_a, msg + 1, X3DH_KEY_LEN);
	if (!x3dh_key_is_canonical(ik_a) || !x3dh_key_is_canonical(ek))
		return X3DH_ERR_KEY;

	const struct x3dh_spk *spk = NULL;
	if (spk_id && spk_id == p->cur.id)
		spk = &p->cur;
	else if (spk_id && spk_id == p->prev.id)
		spk = &p->prev;
	if (!spk)
		return X3DH_ERR_SPK_UNKNOWN;
	struct x3dh_opk *opk = NULL;
	if (*opk_id) {
		for (size_t i = 0; i < X3DH_OPK_POOL && !opk; i++)
			if (p->opk[i].id == *opk_id)
				opk = &p->opk[i];
		/* Ids only grow: an older id not in the pool was used. */
		if (!opk)
			return *opk_id < p->next_opk_id ? X3DH_ERR_OPK_USED
							: X3DH_ERR_OPK_UNKNOWN;
	}

	uint8_t dh[DH_MAX];
	size_t dh_len = 3 * X3DH_KEY_LEN;
	enum x3dh_error rc = X3DH_ERR_KEY;
	if (crypto_scalarmult(dh, spk->secret, ik_a) != 0 ||
	    crypto_scalarmult(dh + 32, p->ik_secret, ek) != 0 ||
	    crypto_scalarmult(dh + 64, spk->secret, ek) != 0)
		goto out;
	if (opk) {
		if (crypto_scalarmult(dh + 96, opk->secret, ek) != 0)
			goto out;
		dh_len += X3DH_KEY_LEN;
	}
	rc = X3DH_ERR_NOMEM;
	if (x3dh_kdf(dh, dh_len, keys) != 0)
		goto out;
	ad_make(ik_a, p->ik_public, keys->ad);
	rc = X3DH_ERR_AUTH;
	uint8_t pt[X3DH_FEATURES_LEN];
	if (confirm_open(keys, 0, msg + X3DH_INIT_HEADER_LEN,
			 len - X3DH_INIT_HEADER_LEN, pt) != 0) {
		sodium_memzero(keys, sizeof(*keys));
		goto out;
	}
	*features = len == X3DH_INIT_LEN ? pt[0] : X3DH_NO_FEATURES;
	if (opk) { /* consumed: deleted now, refilled by maintain */
		sodium_memzero(opk, sizeof(*opk));
		p->changes++;
	}
	rc = X3DH_OK;
out:
	sodium_memzero(dh, sizeof(dh));
	return rc;
}

void x3dh_prekeys_retire(struct x3dh_prekeys *p, uint32_t opk_id)
{
	for (size_t i = 0; i < X3DH_OPK_POOL; i++) {
		struct x3dh_opk *o = &p->opk[i];
		if (o->id == opk_id && o->issued) {
			/* Deleted like a consumed one; maintain refills it. */
			sodium_memzero(o, sizeof(*o));
			p->changes++;
			return;
		}
	}
}

void x3dh_prekeys_wipe(struct x3dh_prekeys *p)
{
	sodium_memzero(p, sizeof(*p));
}
