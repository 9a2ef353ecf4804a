/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Noise cipher functions and CipherState (sections 4.2 and 5.1).
 *
 * ChaChaPoly takes 4 zero bytes + little-endian u64 as nonce, AESGCM
 * 4 zero bytes + big-endian u64.  Nonce 2^64-1 is reserved for rekey.
 */
#include <string.h>

#include <sodium.h>

#include "noise.h"

#define NONCE_LEN 12

static void nonce_encode(enum noise_cipher c, uint64_t n, uint8_t out[NONCE_LEN])
{
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++) {
		uint8_t byte = (uint8_t)(n >> (8 * i));
		if (c == NOISE_CIPHER_CHACHAPOLY)
			out[4 + i] = byte;
		else
			out[11 - i] = byte;
	}
}

/* AEAD without the reserved-nonce check (rekey needs 2^64-1). */
static int aead_encrypt(const struct noise_cipherstate *cs, uint64_t n,
			const uint8_t *ad, size_t adlen, const uint8_t *in,
			size_t len, uint8_t *out)
{
	uint8_t nonce[NONCE_LEN];

	nonce_encode(cs->cipher, n, nonce);
	switch (cs->cipher) {
	case NOISE_CIPHER_CHACHAPOLY:
		return crypto_aead_chacha20poly1305_ietf_encrypt(
			out, NULL, in, len, ad, adlen, NULL, nonce, cs->k);
	case NOISE_CIPHER_AESGCM:
		if (!crypto_aead_aes256gcm_is_available())
			return -1;
		return crypto_aead_aes256gcm_encrypt(out, NULL, in, len, ad,
						     adlen, NULL, nonce, cs->k);
	}
	return -1;
}

int noise_encrypt_with_nonce(const struct noise_cipherstate *cs, uint64_t n,
			     const uint8_t *ad, size_t adlen,
			     const uint8_t *in, size_t len, uint8_t *out)
{
	if (n == NOISE_NONCE_MAX)
		return -1;
	return aead_encrypt(cs, n, ad, adlen, in, len, out) == 0 ? 0 : -1;
}

int noise_decrypt_with_nonce(const struct noise_cipherstate *cs, uint64_t n,
			     const uint8_t *ad, size_t adlen,
			     const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t nonce[NONCE_LEN];
	int rc = -1;

	if (n == NOISE_NONCE_MAX || len < NOISE_TAG_LEN)
		return -1;
	nonce_encode(cs->cipher, n, nonce);
	switch (cs->cipher) {
	case NOISE_CIPHER_CHACHAPOLY:
		rc = crypto_aead_chacha20poly1305_ietf_decrypt(
			out, NULL, NULL, in, len, ad, adlen, nonce, cs->k);
		break;
	case NOISE_CIPHER_AESGCM:
		if (crypto_aead_aes256gcm_is_available())
			rc = crypto_aead_aes256gcm_decrypt(out, NULL, NULL, in,
							   len, ad, adlen,
							   nonce, cs->k);
		break;
	}
	return rc == 0 ? 0 : -1;
}

int noise_cs_encrypt(struct noise_cipherstate *cs, const uint8_t *ad,
		     size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	if (!cs->has_key) {
		if (len && out != in)
			memmove(out, in, len);
		return 0;
	}
	if (noise_encrypt_with_nonce(cs, cs->n, ad, adlen, in, len, out) != 0)
		return -1;
	cs->n++;
	return 0;
}

int noise_cs_decrypt(struct noise_cipherstate *cs, const uint8_t *ad,
		     size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	if (!cs->has_key) {
		if (len && out != in)
			memmove(out, in, len);
		return 0;
	}
	if (noise_decrypt_with_nonce(cs, cs->n, ad, adlen, in, len, out) != 0)
		return -1;
	cs->n++;
	return 0;
}

int noise_cs_rekey(struct noise_cipherstate *cs)
{
	static const uint8_t zeros[NOISE_KEY_LEN];
	uint8_t out[NOISE_KEY_LEN + NOISE_TAG_LEN];

	if (!cs->has_key)
		return -1;
	if (aead_encrypt(cs, NOISE_NONCE_MAX, NULL, 0, zeros, sizeof zeros,
			 out) != 0) {
		sodium_memzero(out, sizeof out);
		return -1;
	}
	memcpy(cs->k, out, NOISE_KEY_LEN);
	sodium_memzero(out, sizeof out);
	return 0;
}

void noise_cs_wipe(struct noise_cipherstate *cs)
{
	sodium_memzero(cs, sizeof *cs);
}
