/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the Noise library shared between its source files (hash,
 * cipher, handshake); not part of the API in noise.h.
 */
#ifndef OCKAM_NOISE_INTERNAL_H
#define OCKAM_NOISE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "noise.h"

/* HASH(a || b) into out (noise_hash_len(h) bytes); b may be NULL/0. */
void noise_hash_concat(enum noise_hash h, const uint8_t *a, size_t alen,
		       const uint8_t *b, size_t blen, uint8_t *out);

/* HMAC-HASH(key, a || b) per RFC 2104 into out (hash length bytes). */
void noise_hmac(enum noise_hash h, const uint8_t *key, size_t keylen,
		const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		uint8_t *out);

/* HKDF(ck, ikm) from section 4.3: out1 and out2 always, out3 if not
 * NULL; each hash length bytes. */
void noise_hkdf(enum noise_hash h, const uint8_t *ck, const uint8_t *ikm,
		size_t ikmlen, uint8_t *out1, uint8_t *out2, uint8_t *out3);

#endif
