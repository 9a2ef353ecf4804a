/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Noise library against the cacophony and snow test vectors, plus the
 * failure cases the vectors do not cover: tampered handshake messages,
 * low-order public keys, nonce exhaustion and rekey.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <sodium.h>

#include "../common/cunit_main.h"
#include "json_mini.h"
#include "noise.h"

#define VECTORS_PATH "../vectors/noise-vectors.json"

static struct json_value *vectors_doc;

static int suite_setup(void)
{
	char err[256] = "";

	if (noise_init() != 0)
		return -1;
	vectors_doc = json_parse_file(VECTORS_PATH, err, sizeof err);
	if (!vectors_doc) {
		fprintf(stderr, "%s: %s\n", VECTORS_PATH, err);
		return -1;
	}
	return 0;
}

static int suite_teardown(void)
{
	json_free(vectors_doc);
	vectors_doc = NULL;
	return 0;
}

/* Decode hex into out; -1 on bad hex or if it does not fit. */
static int hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t bin_len;

	if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &bin_len, NULL) !=
	    0)
		return -1;
	*len = bin_len;
	return 0;
}

/* A 32-byte key field, or NULL when absent. */
static const uint8_t *vector_key(const struct json_value *v, const char *name,
				 uint8_t out[32])
{
	const char *hex = json_get_string(v, name);
	size_t len;

	if (!hex)
		return NULL;
	if (hex_decode(hex, out, 32, &len) != 0 || len != 32)
		return NULL;
	return out;
}

struct side {
	uint8_t s[32], e[32], rs[32], prologue[256];
	struct noise_keys keys;
	struct noise_handshake *hs;
	struct noise_cipherstate send, recv;
};

static int side_init(struct side *sd, const struct json_value *v,
		     const struct noise_suite *suite, int initiator)
{
	const char *pfx = initiator ? "init_" : "resp_";
	char name[64];
	const char *hex;
	size_t len = 0;

	memset(sd, 0, sizeof *sd);
	snprintf(name, sizeof name, "%sstatic", pfx);
	sd->keys.s = vector_key(v, name, sd->s);
	snprintf(name, sizeof name, "%sephemeral", pfx);
	sd->keys.e = vector_key(v, name, sd->e);
	snprintf(name, sizeof name, "%sremote_static", pfx);
	sd->keys.rs = vector_key(v, name, sd->rs);
	snprintf(name, sizeof name, "%sprologue", pfx);
	hex = json_get_string(v, name);
	if (hex && hex_decode(hex, sd->prologue, sizeof sd->prologue, &len))
		return -1;
	sd->keys.prologue = sd->prologue;
	sd->keys.prologue_len = len;
	sd->hs = noise_handshake_new(suite, initiator, &sd->keys);
	return sd->hs ? 0 : -1;
}

static void side_free(struct side *sd)
{
	noise_handshake_free(sd->hs);
	noise_cs_wipe(&sd->send);
	noise_cs_wipe(&sd->recv);
}

static uint8_t want_ct[NOISE_MSG_MAX], want_pt[NOISE_MSG_MAX];
static uint8_t got[NOISE_MSG_MAX], got_pt[NOISE_MSG_MAX];

/* Replay one vector; returns the number of failed checks. */
static int vector_replay(const struct json_value *v,
			 const struct noise_suite *suite, size_t index)
{
	const struct json_value *msgs = json_get(v, "messages");
	const char *hh_hex = json_get_string(v, "handshake_hash");
	struct side sides[2];
	int failures = 0;
	int split = 0;

	if (side_init(&sides[0], v, suite, 1) || side_init(&sides[1], v, suite, 0) ||
	    !msgs || msgs->type != JSON_ARRAY || msgs->count == 0) {
		fprintf(stderr, "vector %zu (%s): bad setup\n", index,
			suite->name);
		noise_handshake_free(sides[0].hs);
		noise_handshake_free(sides[1].hs);
		return 1;
	}
	for (size_t i = 0; i < msgs->count && !failures; i++) {
		struct side *tx = &sides[i % 2], *rx = &sides[(i + 1) % 2];
		const char *pt_hex = json_get_string(&msgs->items[i], "payload");
		const char *ct_hex =
			json_get_string(&msgs->items[i], "ciphertext");
		size_t pt_len, ct_len, out_len = 0, plen = 0;

		if (!pt_hex || !ct_hex ||
		    hex_decode(pt_hex, want_pt, sizeof want_pt, &pt_len) ||
		    hex_decode(ct_hex, want_ct, sizeof want_ct, &ct_len)) {
			failures++;
			break;
		}
		if (!split && noise_handshake_is_done(tx->hs)) {
			size_t hl0, hl1;
			const uint8_t *h0 = noise_handshake_hash(sides[0].hs, &hl0);
			const uint8_t *h1 = noise_handshake_hash(sides[1].hs, &hl1);
			uint8_t hh[NOISE_HASH_MAX];
			size_t hh_len;

			failures += hl0 != hl1 || memcmp(h0, h1, hl0) != 0;
			if (hh_hex) {
				failures += hex_decode(hh_hex, hh, sizeof hh,
						       &hh_len) != 0 ||
					    hh_len != hl0 ||
					    memcmp(hh, h0, hl0) != 0;
			}
			failures += noise_handshake_split(sides[0].hs,
							  &sides[0].send,
							  &sides[0].recv) != 0;
			failures += noise_handshake_split(sides[1].hs,
							  &sides[1].send,
							  &sides[1].recv) != 0;
			split = 1;
		}
		if (!split) {
			failures += noise_handshake_write(tx->hs, want_pt,
							  pt_len, got,
							  sizeof got,
							  &out_len) != 0;
			failures += out_len != ct_len ||
				    memcmp(got, want_ct, ct_len) != 0;
			failures += noise_handshake_read(rx->hs, want_ct,
							 ct_len, got_pt,
							 sizeof got_pt,
							 &plen) != 0;
		} else {
			failures += noise_cs_encrypt(&tx->send, NULL, 0,
						     want_pt, pt_len, got) != 0;
			out_len = pt_len + NOISE_TAG_LEN;
			failures += out_len != ct_len ||
				    memcmp(got, want_ct, ct_len) != 0;
			plen = ct_len - NOISE_TAG_LEN;
			failures += ct_len < NOISE_TAG_LEN ||
				    noise_cs_decrypt(&rx->recv, NULL, 0,
						     want_ct, ct_len,
						     got_pt) != 0;
		}
		failures += plen != pt_len || memcmp(got_pt, want_pt, pt_len);
		if (failures)
			fprintf(stderr, "vector %zu (%s): message %zu differs\n",
				index, suite->name, i);
	}
	/* Every vector has transport messages after the handshake. */
	failures += !split;
	side_free(&sides[0]);
	side_free(&sides[1]);
	return failures;
}

static void test_vectors_replay(void)
{
	static const char *const required[] = {
		"Noise_XX_25519_ChaChaPoly_SHA256",
		"Noise_XX_25519_ChaChaPoly_SHA512",
		"Noise_XX_25519_ChaChaPoly_BLAKE2b",
		"Noise_XX_25519_AESGCM_SHA256",
		"Noise_XX_25519_AESGCM_SHA512",
		"Noise_XX_25519_AESGCM_BLAKE2b",
	};
	const struct json_value *vecs = json_get(vectors_doc, "vectors");
	const struct json_value *sources = json_get(vectors_doc, "source");
	int ran[6][2] = { { 0 } };
	size_t replayed = 0, skipped = 0;

	CU_ASSERT_FATAL(vecs && vecs->type == JSON_ARRAY);
	CU_ASSERT_FATAL(sources && sources->type == JSON_ARRAY &&
			sources->count == 2);
	for (size_t i = 0; i < vecs->count; i++) {
		const struct json_value *v = &vecs->items[i];
		const char *name = json_get_string(v, "protocol_name");
		const struct json_value *second =
			json_get(&sources->items[1], "first_index");
		struct noise_suite suite;
		size_t src;

		CU_ASSERT_FATAL(name != NULL && second != NULL);
		if (noise_suite_parse(name, &suite) != 0) {
			skipped++;
			continue;
		}
		CU_ASSERT_EQUAL(vector_replay(v, &suite, i), 0);
		replayed++;
		src = (double)i >= second->number ? 1 : 0;
		for (size_t r = 0; r < 6; r++)
			if (strcmp(name, required[r]) == 0)
				ran[r][src]++;
	}
	printf("\n  replayed %zu vectors, skipped %zu (BLAKE2s, psk)\n",
	       replayed, skipped);
	for (size_t r = 0; r < 6; r++) {
		if (!ran[r][0] || !ran[r][1])
			fprintf(stderr, "%s: not replayed from both sources\n",
				required[r]);
		CU_ASSERT(ran[r][0] == 1 && ran[r][1] == 1);
	}
	/* 3 patterns x 2 ciphers x 3 hashes, from 2 sources. */
	CU_ASSERT_EQUAL(replayed, 36);
}

static void test_suite_parse(void)
{
	struct noise_suite s;

	CU_ASSERT_EQUAL(noise_suite_parse("Noise_XX_25519_ChaChaPoly_BLAKE2b",
					  &s), 0);
	CU_ASSERT_EQUAL(s.pattern, NOISE_PATTERN_XX);
	CU_ASSERT_EQUAL(s.cipher, NOISE_CIPHER_CHACHAPOLY);
	CU_ASSERT_EQUAL(s.hash, NOISE_HASH_BLAKE2B);
	CU_ASSERT_STRING_EQUAL(s.name, "Noise_XX_25519_ChaChaPoly_BLAKE2b");
	CU_ASSERT_EQUAL(noise_hash_len(NOISE_HASH_SHA256), 32);
	CU_ASSERT_EQUAL(noise_hash_len(NOISE_HASH_BLAKE2B), 64);
	CU_ASSERT_EQUAL(noise_suite_parse("Noise_XX_25519_ChaChaPoly_BLAKE2s",
					  &s), -EINVAL);
	CU_ASSERT_EQUAL(noise_suite_parse("Noise_XXpsk3_25519_AESGCM_SHA256",
					  &s), -EINVAL);
	CU_ASSERT_EQUAL(noise_suite_parse("Noise_XX_448_ChaChaPoly_SHA256",
					  &s), -EINVAL);
	CU_ASSERT_EQUAL(noise_suite_parse("Noise_XX_25519_ChaChaPoly_SHA256_",
					  &s), -EINVAL);
	CU_ASSERT_EQUAL(noise_suite_parse("Noise_XX_25519_ChaChaPoly", &s),
			-EINVAL);
	CU_ASSERT_EQUAL(noise_suite_parse("", &s), -EINVAL);
	CU_ASSERT_EQUAL(noise_suite_parse(
		"Noise_XX_25519_AESGCM_SHA256",
		&s), crypto_aead_aes256gcm_is_available() ? 0 : -ENOTSUP);
}

/* Run a handshake between fresh random-keyed peers, flipping bit
 * (flip_byte % 8) of byte flip_byte in message flip_msg (-1: none).
 * Returns the index of the first message whose write or read failed, or
 * -1 if the handshake completed. */
static int handshake_run(const char *name, int flip_msg, size_t flip_byte,
			 size_t *msg_len, size_t nmsgs_cap)
{
	struct noise_suite suite;
	uint8_t s_i[32], s_r[32], pub_r[32];
	struct noise_keys ki = { 0 }, kr = { 0 };
	struct noise_handshake *hs[2];
	uint8_t msg[512], pl[512];
	int result = -1;

	CU_ASSERT_FATAL(noise_suite_parse(name, &suite) == 0);
	randombytes_buf(s_i, sizeof s_i);
	randombytes_buf(s_r, sizeof s_r);
	crypto_scalarmult_base(pub_r, s_r);
	ki.s = s_i;
	/* Only IK's initiator knows the responder's static in advance. */
	ki.rs = suite.pattern == NOISE_PATTERN_IK ? pub_r : NULL;
	kr.s = s_r;
	hs[0] = noise_handshake_new(&suite, 1, &ki);
	hs[1] = noise_handshake_new(&suite, 0, &kr);
	CU_ASSERT_FATAL(hs[0] && hs[1]);
	for (int i = 0; !noise_handshake_is_done(hs[0]) ||
			!noise_handshake_is_done(hs[1]); i++) {
		struct noise_handshake *tx = hs[i % 2], *rx = hs[(i + 1) % 2];
		size_t len, plen;

		if (!noise_handshake_is_my_turn(tx) ||
		    noise_handshake_write(tx, (const uint8_t *)"hi", 2, msg,
					  sizeof msg, &len) != 0) {
			result = i;
			break;
		}
		if ((size_t)i < nmsgs_cap && msg_len)
			msg_len[i] = len;
		if (i == flip_msg)
			msg[flip_byte % len] ^= (uint8_t)(1u << (flip_byte % 8));
		if (noise_handshake_read(rx, msg, len, pl, sizeof pl, &plen) !=
			    0 ||
		    plen != 2 || memcmp(pl, "hi", 2) != 0) {
			result = i;
			break;
		}
	}
	if (result < 0) {
		size_t l0, l1;
		const uint8_t *h0 = noise_handshake_hash(hs[0], &l0);
		const uint8_t *h1 = noise_handshake_hash(hs[1], &l1);

		CU_ASSERT(l0 == l1 && memcmp(h0, h1, l0) == 0);
		if (suite.pattern == NOISE_PATTERN_NN) {
			CU_ASSERT_PTR_NULL(noise_handshake_remote_static(hs[0]));
			CU_ASSERT_PTR_NULL(noise_handshake_remote_static(hs[1]));
		} else {
			CU_ASSERT(memcmp(noise_handshake_remote_static(hs[0]),
					 pub_r, 32) == 0);
			CU_ASSERT(memcmp(noise_handshake_remote_static(hs[1]),
					 noise_handshake_local_static(hs[0]),
					 32) == 0);
		}
	}
	noise_handshake_free(hs[0]);
	noise_handshake_free(hs[1]);
	return result;
}

static void test_tampered_messages(void)
{
	static const char *const names[] = {
		"Noise_NN_25519_ChaChaPoly_SHA256",
		"Noise_XX_25519_ChaChaPoly_BLAKE2b",
		"Noise_IK_25519_ChaChaPoly_SHA512",
	};

	for (size_t p = 0; p < 3; p++) {
		size_t lens[3] = { 0 };
		int nmsgs = p == 1 ? 3 : 2;

		CU_ASSERT_EQUAL(handshake_run(names[p], -1, 0, lens, 3), -1);
		for (int m = 0; m < nmsgs; m++) {
			for (size_t b = 0; b < lens[m]; b++) {
				int r = handshake_run(names[p], m, b, NULL, 0);

				/* An unauthenticated byte (an ephemeral key
				 * or a cleartext payload) is caught by the
				 * next message's tag, which covers h. */
				CU_ASSERT(r == m || r == m + 1);
				if (r != m && r != m + 1)
					fprintf(stderr, "%s msg %d byte %zu: "
						"tamper not detected\n",
						names[p], m, b);
			}
		}
	}
}

/* The small-order keys are the list the listener checks before any DH
 * (noise.c), held against libsodium rather than against a second copy of
 * it: each entry must be a key libsodium's X25519 refuses, and the entries
 * must be NOISE_SMALL_ORDER_COUNT distinct ones.  With the top bit ignored
 * exactly seven encodings are refused (any DH with them is all zero): 0,
 * 1, p - 1, the two points of order 8, and p and p + 1 (0 and 1 again,
 * unreduced); so seven distinct refused entries are all of them, and a
 * wrong, repeated or missing entry fails here. */
static void test_low_order_keys(void)
{
	struct noise_suite suite;
	struct noise_keys none = { 0 };
	uint8_t msg[128], pl[64], s[32];
	size_t len, plen;

	uint8_t s_any[32], out[32];
	randombytes_buf(s_any, sizeof s_any);
	CU_ASSERT_EQUAL_FATAL(NOISE_SMALL_ORDER_COUNT, 7);
	for (size_t i = 0; i < NOISE_SMALL_ORDER_COUNT; i++) {
		const uint8_t *ki = noise_small_order[i];
		uint8_t k[32];
		memcpy(k, ki, 32);
		CU_ASSERT_EQUAL(k[31] & 0x80, 0);
		CU_ASSERT_NOT_EQUAL(crypto_scalarmult(out, s_any, k), 0);
		k[31] |= 0x80;
		CU_ASSERT_NOT_EQUAL(crypto_scalarmult(out, s_any, k), 0);
		for (size_t j = 0; j < i; j++)
			CU_ASSERT_NOT_EQUAL(memcmp(ki, noise_small_order[j], 32),
					    0);
	}
	CU_ASSERT_FATAL(noise_suite_parse("Noise_NN_25519_ChaChaPoly_SHA256",
					  &suite) == 0);
	for (size_t i = 0; i < NOISE_SMALL_ORDER_COUNT; i++) {
		struct noise_handshake *init = noise_handshake_new(&suite, 1, &none);
		struct noise_handshake *resp = noise_handshake_new(&suite, 0, &none);

		CU_ASSERT_FATAL(init && resp);
		/* Responder: reading a low-order e works (no DH yet), but
		 * the ee in its reply must fail. */
		CU_ASSERT_EQUAL(noise_handshake_read(resp, noise_small_order[i], 32, pl,
						     sizeof pl, &plen), 0);
		CU_ASSERT_EQUAL(noise_handshake_write(resp, NULL, 0, msg,
						      sizeof msg, &len), -1);
		CU_ASSERT_FALSE(noise_handshake_is_done(resp));
		/* Initiator: a reply carrying a low-order e is refused. */
		CU_ASSERT_EQUAL(noise_handshake_write(init, NULL, 0, msg,
						      sizeof msg, &len), 0);
		memset(msg, 0, 48);
		memcpy(msg, noise_small_order[i], 32);
		CU_ASSERT_EQUAL(noise_handshake_read(init, msg, 48, pl,
						     sizeof pl, &plen), -1);
		CU_ASSERT_FALSE(noise_handshake_is_done(init));
		noise_handshake_free(init);
		noise_handshake_free(resp);
		/* The cheap check a listener makes before any DH agrees,
		 * with the ignored top bit set too. */
		uint8_t k[32];
		memcpy(k, noise_small_order[i], 32);
		CU_ASSERT_EQUAL(noise_dh_public_is_weak(k), 1);
		k[31] |= 0x80;
		CU_ASSERT_EQUAL(noise_dh_public_is_weak(k), 1);
	}
	/* ... and says nothing against keys the DH accepts: every other
	 * key of the check's list differs in one bit, and random ones. */
	for (unsigned n = 0; n < 64; n++) {
		uint8_t k[32];
		if (n < 32) {
			memcpy(k, noise_small_order[n % NOISE_SMALL_ORDER_COUNT], 32);
			k[n % 31] ^= (uint8_t)(1u << (n % 7));
		} else {
			randombytes_buf(k, sizeof k);
		}
		int weak = crypto_scalarmult(out, s_any, k) != 0;
		CU_ASSERT_EQUAL(noise_dh_public_is_weak(k), weak);
	}
	/* IK initiator given a low-order responder static: es fails. */
	CU_ASSERT_FATAL(noise_suite_parse("Noise_IK_25519_ChaChaPoly_SHA256",
					  &suite) == 0);
	randombytes_buf(s, sizeof s);
	{
		struct noise_keys k = { .s = s, .rs = noise_small_order[2] };
		struct noise_handshake *init = noise_handshake_new(&suite, 1, &k);

		CU_ASSERT_FATAL(init != NULL);
		CU_ASSERT_EQUAL(noise_handshake_write(init, NULL, 0, msg,
						      sizeof msg, &len), -1);
		noise_handshake_free(init);
	}
}

static void cs_make(struct noise_cipherstate *cs, enum noise_cipher c)
{
	memset(cs, 0, sizeof *cs);
	cs->cipher = c;
	cs->has_key = 1;
	randombytes_buf(cs->k, sizeof cs->k);
}

static void test_nonce_exhaustion(void)
{
	struct noise_cipherstate cs, peer;
	uint8_t pt[8] = "exhaust", ct[8 + NOISE_TAG_LEN], out[8];

	cs_make(&cs, NOISE_CIPHER_CHACHAPOLY);
	peer = cs;
	cs.n = peer.n = NOISE_NONCE_MAX - 1;
	/* The last usable nonce works on both sides... */
	CU_ASSERT_EQUAL(noise_cs_encrypt(&cs, NULL, 0, pt, sizeof pt, ct), 0);
	CU_ASSERT_EQUAL(noise_cs_decrypt(&peer, NULL, 0, ct, sizeof ct, out), 0);
	CU_ASSERT(memcmp(out, pt, sizeof pt) == 0);
	/* ...then both are exhausted and stay so (no wrap to 0). */
	CU_ASSERT_EQUAL(cs.n, NOISE_NONCE_MAX);
	CU_ASSERT_EQUAL(noise_cs_encrypt(&cs, NULL, 0, pt, sizeof pt, ct), -1);
	CU_ASSERT_EQUAL(noise_cs_decrypt(&peer, NULL, 0, ct, sizeof ct, out), -1);
	CU_ASSERT_EQUAL(cs.n, NOISE_NONCE_MAX);
	CU_ASSERT_EQUAL(peer.n, NOISE_NONCE_MAX);
	CU_ASSERT_EQUAL(noise_encrypt_with_nonce(&cs, NOISE_NONCE_MAX, NULL, 0,
						 pt, sizeof pt, ct), -1);
	CU_ASSERT_EQUAL(noise_decrypt_with_nonce(&cs, NOISE_NONCE_MAX, NULL, 0,
						 ct, sizeof ct, out), -1);
	noise_cs_wipe(&cs);
	noise_cs_wipe(&peer);
}

static void test_failed_decrypt_keeps_nonce(void)
{
	struct noise_cipherstate cs, peer;
	uint8_t buf[5 + NOISE_TAG_LEN];

	for (int c = 0; c < 2; c++) {
		if (c == NOISE_CIPHER_AESGCM && !crypto_aead_aes256gcm_is_available())
			continue;
		cs_make(&cs, (enum noise_cipher)c);
		peer = cs;
		/* In place, both ways. */
		memcpy(buf, "hello", 5);
		CU_ASSERT_EQUAL(noise_cs_encrypt(&cs, NULL, 0, buf, 5, buf), 0);
		buf[0] ^= 1;
		CU_ASSERT_EQUAL(noise_cs_decrypt(&peer, NULL, 0, buf, sizeof buf,
						 buf), -1);
		CU_ASSERT_EQUAL(peer.n, 0);
		memcpy(buf, "hello", 5);
		cs.n = 0;
		CU_ASSERT_EQUAL(noise_cs_encrypt(&cs, NULL, 0, buf, 5, buf), 0);
		CU_ASSERT_EQUAL(noise_cs_decrypt(&peer, NULL, 0, buf, sizeof buf,
						 buf), 0);
		CU_ASSERT_EQUAL(peer.n, 1);
		CU_ASSERT(memcmp(buf, "hello", 5) == 0);
		CU_ASSERT_EQUAL(noise_cs_decrypt(&peer, NULL, 0, buf, 3, buf), -1);
		noise_cs_wipe(&cs);
		noise_cs_wipe(&peer);
	}
}

static void test_rekey(void)
{
	/* Nonce 2^64-1 encodes as 4 zero bytes + 8 x 0xff in either order. */
	static const uint8_t max_nonce[12] = { 0, 0, 0, 0, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zeros[32];

	for (int c = 0; c < 2; c++) {
		struct noise_cipherstate cs, peer, stale;
		uint8_t expect[32 + 16], old_k[32], ct[4 + NOISE_TAG_LEN], pt[4];

		if (c == NOISE_CIPHER_AESGCM && !crypto_aead_aes256gcm_is_available())
			continue;
		cs_make(&cs, (enum noise_cipher)c);
		cs.n = 7;
		memcpy(old_k, cs.k, 32);
		if (c == NOISE_CIPHER_CHACHAPOLY)
			crypto_aead_chacha20poly1305_ietf_encrypt(
				expect, NULL, zeros, 32, NULL, 0, NULL,
				max_nonce, cs.k);
		else
			crypto_aead_aes256gcm_encrypt(expect, NULL, zeros, 32,
						      NULL, 0, NULL, max_nonce,
						      cs.k);
		stale = cs;
		CU_ASSERT_EQUAL(noise_cs_rekey(&cs), 0);
		CU_ASSERT(memcmp(cs.k, old_k, 32) != 0);
		CU_ASSERT(memcmp(cs.k, expect, 32) == 0);
		CU_ASSERT_EQUAL(cs.n, 7);
		peer = stale;
		CU_ASSERT_EQUAL(noise_cs_rekey(&peer), 0);
		CU_ASSERT_EQUAL(noise_cs_encrypt(&cs, NULL, 0,
						 (const uint8_t *)"ping", 4, ct), 0);
		CU_ASSERT_EQUAL(noise_cs_decrypt(&stale, NULL, 0, ct, sizeof ct,
						 pt), -1);
		CU_ASSERT_EQUAL(noise_cs_decrypt(&peer, NULL, 0, ct, sizeof ct,
						 pt), 0);
		CU_ASSERT(memcmp(pt, "ping", 4) == 0);
		noise_cs_wipe(&cs);
		noise_cs_wipe(&peer);
		noise_cs_wipe(&stale);
	}
}

static void test_handshake_misuse(void)
{
	struct noise_suite suite;
	struct noise_keys none = { 0 };
	struct noise_handshake *hs;
	struct noise_cipherstate a, b;
	uint8_t msg[128], pl[8];
	size_t len, plen;

	CU_ASSERT_FATAL(noise_suite_parse("Noise_XX_25519_ChaChaPoly_SHA256",
					  &suite) == 0);
	/* XX needs a static key on both sides. */
	CU_ASSERT_PTR_NULL(noise_handshake_new(&suite, 1, &none));
	CU_ASSERT_PTR_NULL(noise_handshake_new(&suite, 0, &none));
	CU_ASSERT_FATAL(noise_suite_parse("Noise_NN_25519_ChaChaPoly_SHA256",
					  &suite) == 0);
	hs = noise_handshake_new(&suite, 1, &none);
	CU_ASSERT_FATAL(hs != NULL);
	CU_ASSERT_TRUE(noise_handshake_is_my_turn(hs));
	CU_ASSERT_EQUAL(noise_handshake_read(hs, msg, 48, pl, sizeof pl, &plen),
			-1);
	CU_ASSERT_EQUAL(noise_handshake_split(hs, &a, &b), -1);
	/* Too small a buffer fails without spoiling the state. */
	CU_ASSERT_EQUAL(noise_handshake_write(hs, NULL, 0, msg, 31, &len), -1);
	CU_ASSERT_EQUAL(noise_handshake_write(hs, NULL, 0, msg, 32, &len), 0);
	CU_ASSERT_EQUAL(len, 32);
	CU_ASSERT_FALSE(noise_handshake_is_my_turn(hs));
	CU_ASSERT_EQUAL(noise_handshake_write(hs, NULL, 0, msg, sizeof msg,
					      &len), -1);
	/* A truncated reply is refused. */
	CU_ASSERT_EQUAL(noise_handshake_read(hs, msg, 40, pl, sizeof pl, &plen),
			-1);
	CU_ASSERT_FALSE(noise_handshake_is_done(hs));
	noise_handshake_free(hs);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "suite names", test_suite_parse },
		{ "vectors replay", test_vectors_replay },
		{ "tampered handshake messages", test_tampered_messages },
		{ "low-order public keys", test_low_order_keys },
		{ "nonce exhaustion", test_nonce_exhaustion },
		{ "failed decrypt keeps nonce", test_failed_decrypt_keeps_nonce },
		{ "rekey", test_rekey },
		{ "handshake misuse", test_handshake_misuse },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "noise", .init = suite_setup, .cleanup = suite_teardown,
		.tests = tests });
}
