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
