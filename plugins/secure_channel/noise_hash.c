/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Noise hash functions, HMAC and HKDF (section 4.3) on libsodium.
 *
 * SHA256/SHA512 use libsodium's HMAC.  libsodium has no HMAC-BLAKE2b (the
 * keyed mode of crypto_generichash is a different construction), so it is
 * built here per RFC 2104 with BLAKE2b's 128-byte block and 64-byte output.
 */
#include <string.h>

#include <sodium.h>

#include "noise_internal.h"

#define BLAKE2B_BLOCK_LEN 128
#define BLAKE2B_HASH_LEN 64

size_t noise_hash_len(enum noise_hash h)
{
	switch (h) {
	case NOISE_HASH_SHA256:
		return crypto_hash_sha256_BYTES;
	case NOISE_HASH_SHA512:
		return crypto_hash_sha512_BYTES;
	case NOISE_HASH_BLAKE2B:
		return BLAKE2B_HASH_LEN;
	}
	return 0;
}

void noise_hash_concat(enum noise_hash h, const uint8_t *a, size_t alen,
		       const uint8_t *b, size_t blen, uint8_t *out)
{
	switch (h) {
	case NOISE_HASH_SHA256: {
		crypto_hash_sha256_state st;
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, a, alen);
		if (blen)
			crypto_hash_sha256_update(&st, b, blen);
		crypto_hash_sha256_final(&st, out);
		sodium_memzero(&st, sizeof st);
		break;
	}
	case NOISE_HASH_SHA512: {
		crypto_hash_sha512_state st;
		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, a, alen);
		if (blen)
			crypto_hash_sha512_update(&st, b, blen);
		crypto_hash_sha512_final(&st, out);
		sodium_memzero(&st, sizeof st);
		break;
	}
	case NOISE_HASH_BLAKE2B: {
		crypto_generichash_state st;
		crypto_generichash_init(&st, NULL, 0, BLAKE2B_HASH_LEN);
		crypto_generichash_update(&st, a, alen);
		if (blen)
			crypto_generichash_update(&st, b, blen);
		crypto_generichash_final(&st, out, BLAKE2B_HASH_LEN);
		sodium_memzero(&st, sizeof st);
		break;
	}
	}
}

static void hmac_blake2b(const uint8_t *key, size_t keylen, const uint8_t *a,
			 size_t alen, const uint8_t *b, size_t blen,
			 uint8_t *out)
{
	uint8_t k0[BLAKE2B_BLOCK_LEN] = { 0 };
	uint8_t pad[BLAKE2B_BLOCK_LEN];
	uint8_t inner[BLAKE2B_HASH_LEN];
	crypto_generichash_state st;

	/* RFC 2104: keys longer than a block are hashed first. */
	if (keylen > sizeof k0)
		crypto_generichash(k0, BLAKE2B_HASH_LEN, key, keylen, NULL, 0);
	else if (keylen)
		memcpy(k0, key, keylen);

	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k0[i] ^ 0x36;
	crypto_generichash_init(&st, NULL, 0, BLAKE2B_HASH_LEN);
	crypto_generichash_update(&st, pad, sizeof pad);
	if (alen)
		crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, inner, sizeof inner);

	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k0[i] ^ 0x5c;
	crypto_generichash_init(&st, NULL, 0, BLAKE2B_HASH_LEN);
	crypto_generichash_update(&st, pad, sizeof pad);
	crypto_generichash_update(&st, inner, sizeof inner);
	crypto_generichash_final(&st, out, BLAKE2B_HASH_LEN);

	sodium_memzero(k0, sizeof k0);
	sodium_memzero(pad, sizeof pad);
	sodium_memzero(inner, sizeof inner);
	sodium_memzero(&st, sizeof st);
}

void noise_hmac(enum noise_hash h, const uint8_t *key, size_t keylen,
		const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		uint8_t *out)
{
	switch (h) {
	case NOISE_HASH_SHA256: {
		crypto_auth_hmacsha256_state st;
		crypto_auth_hmacsha256_init(&st, key, keylen);
		if (alen)
			crypto_auth_hmacsha256_update(&st, a, alen);
		if (blen)
			crypto_auth_hmacsha256_update(&st, b, blen);
		crypto_auth_hmacsha256_final(&st, out);
		sodium_memzero(&st, sizeof st);
		break;
	}
	case NOISE_HASH_SHA512: {
		crypto_auth_hmacsha512_state st;
		crypto_auth_hmacsha512_init(&st, key, keylen);
		if (alen)
			crypto_auth_hmacsha512_update(&st, a, alen);
		if (blen)
			crypto_auth_hmacsha512_update(&st, b, blen);
		crypto_auth_hmacsha512_final(&st, out);
		sodium_memzero(&st, sizeof st);
		break;
	}
	case NOISE_HASH_BLAKE2B:
		hmac_blake2b(key, keylen, a, alen, b, blen, out);
		break;
	}
}

void noise_hkdf(enum noise_hash h, const uint8_t *ck, const uint8_t *ikm,
		size_t ikmlen, uint8_t *out1, uint8_t *out2, uint8_t *out3)
{
	const size_t hl = noise_hash_len(h);
	const uint8_t one = 0x01, two = 0x02, three = 0x03;
	uint8_t temp_key[NOISE_HASH_MAX];

	noise_hmac(h, ck, hl, ikm, ikmlen, NULL, 0, temp_key);
	noise_hmac(h, temp_key, hl, &one, 1, NULL, 0, out1);
	noise_hmac(h, temp_key, hl, out1, hl, &two, 1, out2);
	if (out3)
		noise_hmac(h, temp_key, hl, out2, hl, &three, 1, out3);
	sodium_memzero(temp_key, sizeof temp_key);
}
