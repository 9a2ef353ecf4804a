/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Noise library setup and protocol-name parsing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"

int noise_init(void)
{
	/* sodium_init returns 1 when already initialised. */
	return sodium_init() < 0 ? -1 : 0;
}

static int name_lookup(const char *const *names, size_t count,
		       const char *s, size_t len)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return (int)i;
	return -1;
}

/* "Noise_XX_25519_ChaChaPoly_BLAKE2b": exactly five '_'-separated fields. */
int noise_suite_parse(const char *name, struct noise_suite *out)
{
	static const char *const patterns[] = { "NN", "XX", "IK" };
	static const char *const ciphers[] = { "ChaChaPoly", "AESGCM" };
	static const char *const hashes[] = { "SHA256", "SHA512", "BLAKE2b" };
	const char *field[5];
	size_t flen[5];
	size_t nfields = 0;
	const char *p;
	int pat, cip, hsh;

	if (!name || !out || strlen(name) >= sizeof out->name)
		return -EINVAL;
	p = name;
	for (;;) {
		const char *sep = strchr(p, '_');
		size_t len = sep ? (size_t)(sep - p) : strlen(p);

		if (nfields == 5)
			return -EINVAL;
		field[nfields] = p;
		flen[nfields++] = len;
		if (!sep)
			break;
		p = sep + 1;
	}
	if (nfields != 5 || flen[0] != 5 || memcmp(field[0], "Noise", 5) != 0 ||
	    flen[2] != 5 || memcmp(field[2], "25519", 5) != 0)
		return -EINVAL;
	pat = name_lookup(patterns, 3, field[1], flen[1]);
	cip = name_lookup(ciphers, 2, field[3], flen[3]);
	hsh = name_lookup(hashes, 3, field[4], flen[4]);
	if (pat < 0 || cip < 0 || hsh < 0)
		return -EINVAL;
	/* CPU feature detection happens in sodium_init. */
	if (noise_init() != 0)
		return -EINVAL;
	if (cip == NOISE_CIPHER_AESGCM && !crypto_aead_aes256gcm_is_available())
		return -ENOTSUP;

	memset(out, 0, sizeof *out);
	out->pattern = (enum noise_pattern)pat;
	out->cipher = (enum noise_cipher)cip;
	out->hash = (enum noise_hash)hsh;
	snprintf(out->name, sizeof out->name, "%s", name);
	return 0;
}

/* The X25519 public keys of small order (and their encodings above p),
 * compared with the top bit cleared, as libsodium's own check does: the
 * DH with any of them is all zero.  Checking the list costs a few
 * compares, where finding out by a DH costs a scalar multiplication. */
const uint8_t noise_small_order[NOISE_SMALL_ORDER_COUNT][NOISE_DH_LEN] = {
	/* 0 (order 4) */
	{ 0 },
	/* 1 (order 1) */
	{ 0x01 },
	/* order 8 */
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
	/* order 8 */
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
	  0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
	  0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
	/* p - 1 (order 2) */
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	/* p (= 0) */
	{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	/* p + 1 (= 1) */
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
};

int noise_dh_public_is_weak(const uint8_t pub[NOISE_DH_LEN])
{
	unsigned weak = 0;
	/* Public values, but no reason to leak which one matched. */
	for (size_t i = 0; i < NOISE_SMALL_ORDER_COUNT; i++) {
		unsigned diff = (noise_small_order[i][NOISE_DH_LEN - 1] ^
				 pub[NOISE_DH_LEN - 1]) & 0x7f;
		for (size_t j = 0; j < NOISE_DH_LEN - 1; j++)
			diff |= noise_small_order[i][j] ^ pub[j];
		weak |= (diff - 1) >> 8 & 1; /* 1 iff diff == 0 */
	}
	return (int)weak;
}
