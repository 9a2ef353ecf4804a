/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X3DH (plugins/secure_channel/x3dh.c): known answers, refusals, prekeys.
 *
 * The expected bytes below were NOT produced by this C code: they are the
 * output of tests/plugins/x3dh_kat.py, which computes them with
 * python3-cryptography (X25519, Ed25519, ChaCha20-Poly1305) and
 * hashlib/hmac (HKDF-SHA-256 per RFC 5869), from these fixed inputs:
 *   IK_A secret   = 01 02 .. 20        EK_A secret  = 21 22 .. 40
 *   SIGN_B seed   = 41 42 .. 60        (IK_B secret = SHA-512(seed)[0..32])
 *   SPK_B secret  = 61 62 .. 80, id 1  OPK_B secret = 81 82 .. a0, id 7
 * The script also checks IK_B against the birational map of SIGN_B and
 * that both sides' DH outputs agree.  INIT and DONE carry the features
 * byte 0x01 as AEAD plaintext; INIT_V1 and DONE_V1 are the first
 * version's forms (empty plaintext), still accepted.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <sodium.h>

#include "../common/cunit_main.h"
#include "x3dh.h"
#include "x3dh_store.h"

#define HEX_IK_A "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
#define HEX_IK_B "759f49a098c9a6baa8465a42333c11cc4cd2c10beeda7b60f73e38205f81900c"
#define HEX_SIGN_B "adc14011f82d1c56d956aa4f9d73d8858361a606048525e0d08c638dc75dd8c7"
#define HEX_BUNDLE                                                           \
	"12759f49a098c9a6baa8465a42333c11cc4cd2c10beeda7b60f73e38205f81900c" \
	"adc14011f82d1c56d956aa4f9d73d8858361a606048525e0d08c638dc75dd8c7"   \
	"00000001244fe3b963e899dd295baffce248d3530f3a9a7479ba063002680ebfe7" \
	"adad49d4ffc63de58f44cd4669f557053bce8e5bf48a4a4aba8886498820abd706" \
	"e0270d7e4524655e9968c1b557ba1c1eaffa6a84c03eb721356fe9f010b48b82bc" \
	"0f00000007883186b800b41d5cf0429695da9b3cc4f328ebcd184a6e482fa578c1" \
	"03f06c77"
#define HEX_OKM                                                              \
	"b401473c755ef6c56b1c6a76eb92928bf935c02dcdc89557a712fb4e514d4ffb"   \
	"28585c8ea939e3d21cc837af6fd065a6bd5f91ebe842f8ef910df0c287f928b1"   \
	"b7d46c2c9739455d117036604da06d105fe3b84b449f0671e73dc78ee291d241"
#define HEX_OKM3                                                             \
	"089f888ade26c92030e63a10470cf35d41231e3975e59cf1b7a96a9828e852f9"   \
	"f12eb889ea703e4107b640321577a77207bca7ca1926968fd1a3acd1ef7df2ae"   \
	"56cf4a6227019fc73b89a363024cf9fcc44668b33c838ee016603eef8bee56a9"
#define HEX_INIT                                                             \
	"1307a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c" \
	"5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b"   \
	"00000001000000073447880f38410db2bd6a4cb42d6ff057a2"
#define HEX_DONE "1478e8506cb0eae62ee6b69c8fe488034fab"
#define HEX_INIT_V1                                                          \
	"1307a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c" \
	"5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b"   \
	"00000001000000074738e30dd22e8509101a40ee10efad60"
#define HEX_DONE_V1 "149d4bce32d998a0b224fd526074e6a21f"
#define FEATURES 0x01 /* the script's: "I accept batch records" */

#define ROTATION 1000
#define STALE 100

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL) != 0)
		return 0;
	return n;
}

static void seq(uint8_t *out, uint8_t first)
{
	for (int i = 0; i < 32; i++)
		out[i] = (uint8_t)(first + i);
}

/* The fixed keys of the script. */
struct fixture {
	uint8_t ika_sec[32], ika[32], eka_sec[32];
	uint8_t seed[32], sign_pk[32], sign_sk[64], ikb_sec[32], ikb[32];
	uint8_t spk_sec[32], opk_sec[32];
	struct x3dh_prekeys *p; /* SPK id 1 and OPK id 7 are the fixed ones */
};

static void fixture_make(struct fixture *f)
{
	seq(f->ika_sec, 0x01);
	seq(f->eka_sec, 0x21);
	seq(f->seed, 0x41);
	seq(f->spk_sec, 0x61);
	seq(f->opk_sec, 0x81);
	crypto_scalarmult_base(f->ika, f->ika_sec);
	crypto_sign_seed_keypair(f->sign_pk, f->sign_sk, f->seed);
	crypto_sign_ed25519_sk_to_curve25519(f->ikb_sec, f->sign_sk);
	crypto_scalarmult_base(f->ikb, f->ikb_sec);
	f->p = sodium_malloc(sizeof(*f->p));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->p);
	x3dh_prekeys_init(f->p, f->ikb_sec, f->ikb, f->sign_sk, ROTATION,
			  STALE, 0);
	x3dh_spk_set(f->p, &f->p->cur, 1, f->spk_sec, 0);
	struct x3dh_opk *o = &f->p->opk[6];
	CU_ASSERT_EQUAL_FATAL(o->id, 7);
	memcpy(o->secret, f->opk_sec, 32);
	crypto_scalarmult_base(o->pub, o->secret);
}

static void fixture_free(struct fixture *f)
{
	sodium_free(f->p);
}

/* The bundle the script built: SPK 1 and OPK 7. */
static void fixture_bundle(const struct fixture *f, struct x3dh_bundle *b)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->ik, f->ikb, 32);
	memcpy(b->sign_pk, f->sign_pk, 32);
	b->spk_id = 1;
	memcpy(b->spk, f->p->cur.pub, 32);
	memcpy(b->spk_sig, f->p->cur.sig, 64);
	b->opk_id = 7;
	memcpy(b->opk, f->p->opk[6].pub, 32);
}

static void test_hkdf_rfc5869(void)
{
	/* RFC 5869, A.1 (test case 1). */
	uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	      "34007208d5b887185865",
	      want, sizeof(want));
	CU_ASSERT_EQUAL(x3dh_hkdf_sha256(okm, sizeof(okm), salt, sizeof(salt),
					 ikm, sizeof(ikm), info, sizeof(info)),
			0);
	CU_ASSERT(memcmp(okm, want, sizeof(okm)) == 0);
}

static void test_known_answers(void)
{
	struct fixture f;
	uint8_t want[256], buf[256];
	struct x3dh_bundle b, d;
	struct x3dh_secret ki, kr;

	fixture_make(&f);
	CU_ASSERT_EQUAL(unhex(HEX_IK_A, want, sizeof(want)), 32);
	CU_ASSERT(memcmp(f.ika, want, 32) == 0);
	CU_ASSERT_EQUAL(unhex(HEX_IK_B, want, sizeof(want)), 32);
	CU_ASSERT(memcmp(f.ikb, want, 32) == 0);
	CU_ASSERT_EQUAL(unhex(HEX_SIGN_B, want, sizeof(want)), 32);
	CU_ASSERT(memcmp(f.sign_pk, want, 32) == 0);

	/* The bundle, byte for byte (Ed25519 signatures are deterministic). */
	fixture_bundle(&f, &b);
	CU_ASSERT_EQUAL(unhex(HEX_BUNDLE, want, sizeof(want)),
			X3DH_BUNDLE_LEN);
	CU_ASSERT_EQUAL(x3dh_bundle_encode(&b, buf, sizeof(buf)),
			X3DH_BUNDLE_LEN);
	CU_ASSERT(memcmp(buf, want, X3DH_BUNDLE_LEN) == 0);
	CU_ASSERT_EQUAL(x3dh_bundle_decode(want, X3DH_BUNDLE_LEN, &d), X3DH_OK);
	CU_ASSERT(memcmp(&d, &b, sizeof(b)) == 0);
	CU_ASSERT_EQUAL(x3dh_bundle_verify(&d), X3DH_OK);

	/* The initiator: KDF output and the first message. */
	CU_ASSERT_EQUAL(x3dh_initiate(f.ika_sec, f.ika, f.eka_sec, &b,
				      FEATURES, buf, &ki),
			X3DH_OK);
	CU_ASSERT_EQUAL(unhex(HEX_OKM, want, sizeof(want)), 96);
	CU_ASSERT(memcmp(ki.confirm, want, 32) == 0);
	CU_ASSERT(memcmp(ki.i2r, want + 32, 32) == 0);
	CU_ASSERT(memcmp(ki.r2i, want + 64, 32) == 0);
	CU_ASSERT_EQUAL(unhex(HEX_INIT, want, sizeof(want)), X3DH_INIT_LEN);
	CU_ASSERT(memcmp(buf, want, X3DH_INIT_LEN) == 0);

	/* The responder derives the same and answers DONE. */
	uint8_t ik_a[32], features = 0;
	uint32_t opk_id = 0;
	int peer_features = 0;
	CU_ASSERT_EQUAL(x3dh_respond(f.p, want, X3DH_INIT_LEN, ik_a, &opk_id,
				     &kr, &peer_features),
			X3DH_OK);
	CU_ASSERT_EQUAL(opk_id, 7);
	CU_ASSERT_EQUAL(peer_features, FEATURES);
	CU_ASSERT(memcmp(ik_a, f.ika, 32) == 0);
	CU_ASSERT(memcmp(&ki, &kr, sizeof(ki)) == 0);
	CU_ASSERT_EQUAL(x3dh_done_seal(&kr, FEATURES, peer_features, buf),
			X3DH_DONE_LEN);
	CU_ASSERT_EQUAL(unhex(HEX_DONE, want, sizeof(want)), X3DH_DONE_LEN);
	CU_ASSERT(memcmp(buf, want, X3DH_DONE_LEN) == 0);
	CU_ASSERT_EQUAL(x3dh_done_open(&ki, buf, X3DH_DONE_LEN, &features),
			X3DH_OK);
	CU_ASSERT_EQUAL(features, FEATURES);

	/* Each side's send state is the other's receive state. */
	struct noise_cipherstate is, ir, rs, rr;
	x3dh_cipherstates(&ki, 1, &is, &ir);
	x3dh_cipherstates(&kr, 0, &rs, &rr);
	CU_ASSERT(memcmp(is.k, rr.k, 32) == 0 && memcmp(ir.k, rs.k, 32) == 0);
	CU_ASSERT(memcmp(is.k, ir.k, 32) != 0);
	CU_ASSERT_EQUAL(is.cipher, NOISE_CIPHER_CHACHAPOLY);
	fixture_free(&f);
}

static void test_kdf_without_opk(void)
{
	struct fixture f;
	struct x3dh_bundle b;
	struct x3dh_secret k;
	uint8_t buf[X3DH_INIT_LEN], want[96];
	fixture_make(&f);
	fixture_bundle(&f, &b);
	b.opk_id = 0;
	CU_ASSERT_EQUAL(x3dh_initiate(f.ika_sec, f.ika, f.eka_sec, &b, FEATURES,
				      buf, &k),
			X3DH_OK);
	unhex(HEX_OKM3, want, sizeof(want));
	CU_ASSERT(memcmp(k.confirm, want, 32) == 0);
	CU_ASSERT(memcmp(k.r2i, want + 64, 32) == 0);
	fixture_free(&f);
}

static void test_bad_signature_refused(void)
{
	struct fixture f;
	struct x3dh_bundle b;
	fixture_make(&f);
	fixture_bundle(&f, &b);
	b.spk_sig[10] ^= 0x01;
	CU_ASSERT_EQUAL(x3dh_bundle_verify(&b), X3DH_ERR_SIGNATURE);
	/* A substituted signed prekey (the signature is over it). */
	fixture_bundle(&f, &b);
	crypto_scalarmult_base(b.spk, f.opk_sec);
	CU_ASSERT_EQUAL(x3dh_bundle_verify(&b), X3DH_ERR_SIGNATURE);
	fixture_free(&f);
}

static void test_wrong_binding_refused(void)
{
	struct fixture f;
	struct x3dh_bundle b;
	uint8_t pk[32], sk[64], enc[33] = { 0x05 };
	fixture_make(&f);

	/* An attacker's own signing key, with a valid signature, claiming
	 * the victim's identity key. */
	fixture_bundle(&f, &b);
	crypto_sign_keypair(pk, sk);
	memcpy(b.sign_pk, pk, 32);
	memcpy(enc + 1, b.spk, 32);
	crypto_sign_detached(b.spk_sig, NULL, enc, sizeof(enc), sk);
	CU_ASSERT_EQUAL(x3dh_bundle_verify(&b), X3DH_ERR_BINDING);

	/* The victim's signing key with another identity key. */
	fixture_bundle(&f, &b);
	memcpy(b.ik, f.ika, 32);
	CU_ASSERT_EQUAL(x3dh_bundle_verify(&b), X3DH_ERR_BINDING);
	sodium_memzero(sk, sizeof(sk));
	fixture_free(&f);
}

static void test_opk_reuse_refused(void)
{
	struct fixture f;
	struct x3dh_secret k;
	uint8_t msg[X3DH_INIT_LEN], ik_a[32];
	uint32_t opk_id;
	int feat;
	fixture_make(&f);
	unhex(HEX_INIT, msg, sizeof(msg));
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &opk_id, &k,
				     &feat),
			X3DH_OK);
	/* Replayed: the one-time prekey is gone. */
	memset(ik_a, 0, sizeof(ik_a));
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &opk_id, &k,
				     &feat),
			X3DH_ERR_OPK_USED);
	CU_ASSERT_EQUAL(opk_id, 7);
	CU_ASSERT(memcmp(ik_a, f.ika, 32) == 0); /* for the log line */
	/* Still gone after the pool is refilled. */
	x3dh_prekeys_maintain(f.p, 1);
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &opk_id, &k,
				     &feat),
			X3DH_ERR_OPK_USED);
	/* An id never issued is another error. */
	msg[X3DH_INIT_HEADER_LEN - 1] = 0xff;
	msg[X3DH_INIT_HEADER_LEN - 4] = 0x7f;
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &opk_id, &k,
				     &feat),
			X3DH_ERR_OPK_UNKNOWN);
	fixture_free(&f);
}

static void test_tampered_init_refused(void)
{
	struct fixture f;
	struct x3dh_secret k;
	uint8_t msg[X3DH_INIT_LEN + 1], good[X3DH_INIT_LEN], ik_a[32];
	uint32_t opk_id;
	int feat;
	unsigned accepted = 0;
	fixture_make(&f);
	unhex(HEX_INIT, good, sizeof(good));
	/* Every single-bit flip is refused, and consumes nothing. */
	for (size_t i = 0; i < X3DH_INIT_LEN; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(msg, good, sizeof(good));
			msg[i] ^= (uint8_t)(1u << bit);
			if (x3dh_respond(f.p, msg, X3DH_INIT_LEN, ik_a, &opk_id,
					 &k, &feat) == X3DH_OK)
				accepted++;
		}
	CU_ASSERT_EQUAL(accepted, 0);
	/* The features byte's ciphertext alone, set to what a "no batches"
	 * peer would send: the tag no longer matches. */
	memcpy(msg, good, sizeof(good));
	msg[X3DH_INIT_HEADER_LEN] ^= FEATURES;
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, X3DH_INIT_LEN, ik_a, &opk_id, &k,
				     &feat),
			X3DH_ERR_AUTH);
	/* Cut to the old length (the byte stripped, a downgrade): the tag
	 * does not open as an empty plaintext. */
	CU_ASSERT_EQUAL(x3dh_respond(f.p, good, X3DH_INIT_LEN_V1, ik_a, &opk_id,
				     &k, &feat),
			X3DH_ERR_AUTH);
	/* Other lengths are malformed. */
	CU_ASSERT_EQUAL(x3dh_respond(f.p, good, X3DH_INIT_LEN_V1 - 1, ik_a,
				     &opk_id, &k, &feat),
			X3DH_ERR_FORMAT);
	memcpy(msg, good, sizeof(good));
	msg[X3DH_INIT_LEN] = 0;
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, X3DH_INIT_LEN + 1, ik_a,
				     &opk_id, &k, &feat),
			X3DH_ERR_FORMAT);
	CU_ASSERT_EQUAL(x3dh_respond(f.p, good, X3DH_INIT_LEN, ik_a, &opk_id,
				     &k, &feat),
			X3DH_OK);

	/* A tampered DONE is refused by the initiator: in the tag, in the
	 * features byte, or cut to the old length. */
	uint8_t done[X3DH_DONE_LEN + 1], features = 0x55;
	CU_ASSERT_EQUAL(x3dh_done_seal(&k, FEATURES, feat, done),
			X3DH_DONE_LEN);
	done[5] ^= 0x20;
	CU_ASSERT_EQUAL(x3dh_done_open(&k, done, X3DH_DONE_LEN, &features),
			X3DH_ERR_AUTH);
	x3dh_done_seal(&k, FEATURES, feat, done);
	done[1] ^= FEATURES;
	CU_ASSERT_EQUAL(x3dh_done_open(&k, done, X3DH_DONE_LEN, &features),
			X3DH_ERR_AUTH);
	x3dh_done_seal(&k, FEATURES, feat, done);
	CU_ASSERT_EQUAL(x3dh_done_open(&k, done, X3DH_DONE_LEN_V1, &features),
			X3DH_ERR_AUTH);
	CU_ASSERT_EQUAL(x3dh_done_open(&k, done, X3DH_DONE_LEN + 1, &features),
			X3DH_ERR_FORMAT);
	CU_ASSERT_EQUAL(x3dh_done_open(&k, done, X3DH_DONE_LEN_V1 - 1,
				       &features),
			X3DH_ERR_FORMAT);
	CU_ASSERT_EQUAL(features, 0x55); /* untouched by the refusals */
	CU_ASSERT_EQUAL(x3dh_done_open(&k, done, X3DH_DONE_LEN, &features),
			X3DH_OK);
	CU_ASSERT_EQUAL(features, FEATURES);
	fixture_free(&f);
}

/* The first version's INIT (89 bytes) and DONE (17 bytes), without the
 * features byte: still accepted, meaning "no batch records", and a
 * responder answers such an INIT with the old DONE (all such an initiator
 * accepts). */
static void test_v1_forms_accepted(void)
{
	struct fixture f;
	struct x3dh_bundle b;
	struct x3dh_secret ki, kr;
	uint8_t init[X3DH_INIT_LEN], want[X3DH_DONE_LEN], done[X3DH_DONE_LEN];
	uint8_t ik_a[32], features = 0x55;
	uint32_t opk_id;
	int feat = 0;
	fixture_make(&f);
	fixture_bundle(&f, &b);
	CU_ASSERT_EQUAL(x3dh_initiate(f.ika_sec, f.ika, f.eka_sec, &b, FEATURES,
				      init, &ki),
			X3DH_OK);
	CU_ASSERT_EQUAL(unhex(HEX_INIT_V1, init, sizeof(init)),
			X3DH_INIT_LEN_V1);
	CU_ASSERT_EQUAL(x3dh_respond(f.p, init, X3DH_INIT_LEN_V1, ik_a,
				     &opk_id, &kr, &feat),
			X3DH_OK);
	CU_ASSERT_EQUAL(feat, X3DH_NO_FEATURES);
	CU_ASSERT(memcmp(&ki, &kr, sizeof(ki)) == 0);
	CU_ASSERT_EQUAL(x3dh_done_seal(&kr, FEATURES, feat, done),
			X3DH_DONE_LEN_V1);
	CU_ASSERT_EQUAL(unhex(HEX_DONE_V1, want, sizeof(want)),
			X3DH_DONE_LEN_V1);
	CU_ASSERT(memcmp(done, want, X3DH_DONE_LEN_V1) == 0);
	CU_ASSERT_EQUAL(x3dh_done_open(&ki, want, X3DH_DONE_LEN_V1, &features),
			X3DH_OK);
	CU_ASSERT_EQUAL(features, 0);
	fixture_free(&f);
}

static void test_bundle_malformed(void)
{
	uint8_t b[X3DH_BUNDLE_LEN];
	struct x3dh_bundle d;
	unhex(HEX_BUNDLE, b, sizeof(b));
	CU_ASSERT_EQUAL(x3dh_bundle_decode(b, sizeof(b) - 1, &d),
			X3DH_ERR_FORMAT);
	CU_ASSERT_EQUAL(x3dh_bundle_decode(b, 1, &d), X3DH_ERR_FORMAT);
	b[0] = X3DH_MSG_INIT;
	CU_ASSERT_EQUAL(x3dh_bundle_decode(b, sizeof(b), &d), X3DH_ERR_FORMAT);
	b[0] = X3DH_MSG_BUNDLE;
	b[32] |= 0x80; /* IK_B with the top bit set: not canonical */
	CU_ASSERT_EQUAL(x3dh_bundle_decode(b, sizeof(b), &d), X3DH_ERR_KEY);
}

/* A whole exchange through the prekey store, with random keys. */
static enum x3dh_error exchange(struct fixture *f, uint64_t now,
				uint32_t *spk_id, uint32_t *opk_id)
{
	struct x3dh_bundle b;
	struct x3dh_secret ki, kr;
	uint8_t ek[32], msg[X3DH_INIT_LEN], ik_a[32];
	x3dh_prekeys_bundle(f->p, now, &b);
	*spk_id = b.spk_id;
	*opk_id = b.opk_id;
	if (x3dh_bundle_verify(&b) != X3DH_OK)
		return X3DH_ERR_SIGNATURE;
	randombytes_buf(ek, sizeof(ek));
	if (x3dh_initiate(f->ika_sec, f->ika, ek, &b, FEATURES, msg, &ki) !=
	    X3DH_OK)
		return X3DH_ERR_KEY;
	uint32_t used;
	int feat;
	enum x3dh_error rc = x3dh_respond(f->p, msg, sizeof(msg), ik_a, &used,
					  &kr, &feat);
	if (rc == X3DH_OK && memcmp(&ki, &kr, sizeof(ki)) != 0)
		rc = X3DH_ERR_AUTH;
	return rc;
}

/* A bundle without a one-time prekey takes none from the pool; a retired
 * one is refused as used and its slot refilled with a new key. */
static void test_opk_withheld_and_retired(void)
{
	struct fixture f;
	struct x3dh_bundle b, c;
	struct x3dh_secret ki, kr;
	uint8_t ek[32], msg[X3DH_INIT_LEN], ik_a[32];
	uint32_t used;
	int feat;
	fixture_make(&f);
	x3dh_prekeys_bundle_opk(f.p, 10, 0, &b);
	CU_ASSERT_EQUAL(b.opk_id, 0);
	x3dh_prekeys_bundle_opk(f.p, 10, 1, &b);
	CU_ASSERT_EQUAL(b.opk_id, 1); /* the oldest: none was taken */
	x3dh_prekeys_retire(f.p, b.opk_id);
	x3dh_prekeys_retire(f.p, 9999); /* not in the pool: nothing */
	randombytes_buf(ek, sizeof(ek));
	CU_ASSERT_EQUAL(x3dh_initiate(f.ika_sec, f.ika, ek, &b, FEATURES, msg,
				      &ki),
			X3DH_OK);
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &used, &kr,
				     &feat),
			X3DH_ERR_OPK_USED);
	/* Refilled: 32 issuable again, the new one with a new id. */
	for (int i = 0; i < X3DH_OPK_POOL; i++) {
		x3dh_prekeys_bundle(f.p, 20, &c);
		CU_ASSERT(c.opk_id != 0 && c.opk_id != b.opk_id);
	}
	x3dh_prekeys_bundle(f.p, 20, &c);
	CU_ASSERT_EQUAL(c.opk_id, 0);
	sodium_memzero(&ki, sizeof(ki));
	sodium_memzero(&kr, sizeof(kr));
	fixture_free(&f);
}

static void test_prekey_rotation_and_pool(void)
{
	struct fixture f;
	struct x3dh_bundle b;
	struct x3dh_secret k;
	uint8_t msg[X3DH_INIT_LEN], ik_a[32];
	uint32_t spk, opk, seen[X3DH_OPK_POOL];
	int feat;
	fixture_make(&f);

	/* The pool: 32 distinct one-time prekeys, then none until the
	 * issued ones go stale. */
	for (int i = 0; i < X3DH_OPK_POOL; i++) {
		x3dh_prekeys_bundle(f.p, 10, &b);
		seen[i] = b.opk_id;
		CU_ASSERT(b.opk_id != 0);
		for (int j = 0; j < i; j++)
			CU_ASSERT(seen[j] != seen[i]);
	}
	x3dh_prekeys_bundle(f.p, 10, &b);
	CU_ASSERT_EQUAL(b.opk_id, 0);
	CU_ASSERT_EQUAL(exchange(&f, 20, &spk, &opk), X3DH_OK); /* 3 DHs */
	CU_ASSERT_EQUAL(opk, 0);
	CU_ASSERT_EQUAL(exchange(&f, 10 + STALE, &spk, &opk), X3DH_OK);
	CU_ASSERT(opk > X3DH_OPK_POOL);
	/* Used ones are refilled. */
	for (int i = 0; i < 3 * X3DH_OPK_POOL; i++) {
		CU_ASSERT_EQUAL(exchange(&f, 200, &spk, &opk), X3DH_OK);
		CU_ASSERT(opk != 0);
	}

	/* Rotation: INIT for SPK 1 made before it rotates ... */
	unhex(HEX_INIT, msg, sizeof(msg));
	msg[X3DH_INIT_HEADER_LEN - 1] = 0; /* without OPK: drop the id ... */
	/* ... (the tag no longer matches: only the SPK lookup is tested) */
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &opk, &k,
				     &feat),
			X3DH_ERR_AUTH);
	CU_ASSERT_EQUAL(exchange(&f, ROTATION, &spk, &opk), X3DH_OK);
	CU_ASSERT_EQUAL(spk, 2);
	/* ... still finds it as the previous key for one more period ... */
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &opk, &k,
				     &feat),
			X3DH_ERR_AUTH);
	x3dh_prekeys_maintain(f.p, 2 * ROTATION - 1);
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &opk, &k,
				     &feat),
			X3DH_ERR_AUTH);
	/* ... and then not. */
	CU_ASSERT_EQUAL(exchange(&f, 2 * ROTATION, &spk, &opk), X3DH_OK);
	CU_ASSERT_EQUAL(spk, 3);
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &opk, &k,
				     &feat),
			X3DH_ERR_SPK_UNKNOWN);
	/* A long pause drops both. */
	CU_ASSERT_EQUAL(exchange(&f, 10 * ROTATION, &spk, &opk), X3DH_OK);
	CU_ASSERT_EQUAL(spk, 4);
	CU_ASSERT_EQUAL(f.p->prev.id, 0);
	x3dh_prekeys_wipe(f.p);
	CU_ASSERT(sodium_is_zero((const uint8_t *)f.p, sizeof(*f.p)));
	fixture_free(&f);
}

/* The prekeys file: what a restart reads back is what was written (the
 * fixed INIT still derives the same keys, its used one-time prekey stays
 * used), times move to the new clock, and a damaged file or another
 * identity's is refused without touching the prekeys. */
static void test_store_roundtrip(void)
{
	const uint64_t wall = UINT64_C(1700000000000);
	struct fixture f, g;
	struct x3dh_secret k;
	uint8_t msg[X3DH_INIT_LEN], ik_a[32];
	uint32_t opk_id;
	int feat;
	uint8_t *buf = sodium_malloc(X3DH_STORE_LEN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	fixture_make(&f);
	x3dh_store_encode(f.p, 0, wall, buf);

	/* A "restarted" responder: same identity, fresh prekeys, its loop
	 * clock at 5 where the wall clock moved on by 300 ms. */
	fixture_make(&g);
	x3dh_prekeys_init(g.p, g.ikb_sec, g.ikb, g.sign_sk, ROTATION, STALE,
			  5);
	CU_ASSERT_EQUAL(x3dh_store_decode(g.p, buf, X3DH_STORE_LEN, 5,
					  wall + 300),
			0);
	CU_ASSERT_EQUAL(g.p->cur.id, 1);
	CU_ASSERT(memcmp(g.p->cur.pub, f.p->cur.pub, 32) == 0);
	CU_ASSERT(memcmp(g.p->cur.sig, f.p->cur.sig, 64) == 0);
	CU_ASSERT_EQUAL(g.p->next_opk_id, f.p->next_opk_id);
	CU_ASSERT_EQUAL(g.p->cur.created_ms, (uint64_t)5 - 300);
	unhex(HEX_INIT, msg, sizeof(msg));
	CU_ASSERT_EQUAL(x3dh_respond(g.p, msg, sizeof(msg), ik_a, &opk_id, &k,
				     &feat),
			X3DH_OK);
	/* Used, written, read back by a third start: still used. */
	x3dh_store_encode(g.p, 5, wall + 300, buf);
	x3dh_prekeys_init(f.p, f.ikb_sec, f.ikb, f.sign_sk, ROTATION, STALE, 0);
	CU_ASSERT_EQUAL(x3dh_store_decode(f.p, buf, X3DH_STORE_LEN, 0,
					  wall + 400),
			0);
	CU_ASSERT_EQUAL(x3dh_respond(f.p, msg, sizeof(msg), ik_a, &opk_id, &k,
				     &feat),
			X3DH_ERR_OPK_USED);
	/* The rotation that fell due while down happens at the next look,
	 * and the previous signed prekey stays for its grace period. */
	x3dh_prekeys_maintain(f.p, 700);
	CU_ASSERT_EQUAL(f.p->cur.id, 2);
	CU_ASSERT_EQUAL(f.p->prev.id, 1);

	/* One bit off anywhere: not a prekeys file; p untouched. */
	uint32_t cur = g.p->cur.id;
	buf[X3DH_STORE_LEN / 2] ^= 1;
	CU_ASSERT_EQUAL(x3dh_store_decode(g.p, buf, X3DH_STORE_LEN, 0, wall),
			-1);
	CU_ASSERT_EQUAL(x3dh_store_decode(g.p, buf, X3DH_STORE_LEN - 1, 0,
					  wall),
			-1);
	CU_ASSERT_EQUAL(g.p->cur.id, cur);
	buf[X3DH_STORE_LEN / 2] ^= 1;
	/* Another identity's file. */
	uint8_t other_sk[64], other_pk[32], other_x[32], other_xp[32];
	crypto_sign_keypair(other_pk, other_sk);
	crypto_sign_ed25519_sk_to_curve25519(other_x, other_sk);
	crypto_scalarmult_base(other_xp, other_x);
	x3dh_prekeys_init(g.p, other_x, other_xp, other_sk, ROTATION, STALE, 0);
	CU_ASSERT_EQUAL(x3dh_store_decode(g.p, buf, X3DH_STORE_LEN, 0, wall),
			-2);
	sodium_memzero(other_sk, sizeof(other_sk));
	sodium_memzero(other_x, sizeof(other_x));
	sodium_free(buf);
	fixture_free(&f);
	fixture_free(&g);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "hkdf_rfc5869", test_hkdf_rfc5869 },
		{ "known_answers", test_known_answers },
		{ "kdf_without_opk", test_kdf_without_opk },
		{ "bad_signature", test_bad_signature_refused },
		{ "wrong_binding", test_wrong_binding_refused },
		{ "opk_reuse", test_opk_reuse_refused },
		{ "tampered_init", test_tampered_init_refused },
		{ "v1_forms", test_v1_forms_accepted },
		{ "bundle_malformed", test_bundle_malformed },
		{ "prekeys", test_prekey_rotation_and_pool },
		{ "opk_withheld_and_retired", test_opk_withheld_and_retired },
		{ "store_roundtrip", test_store_roundtrip },
		{ NULL, NULL },
	};

	if (sodium_init() < 0)
		return 1;
	return cunit_run(&(struct cunit_suite){
		.name = "x3dh", .tests = tests });
}
