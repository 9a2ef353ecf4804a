/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The X3DH responder's prekeys as bytes, for the file kept beside its
 * vault (channel_x3dh.c writes it with vault_file_write): a restart keeps
 * the signed prekeys an initiator may have cached, the one-time prekeys
 * not used yet, and the memory of those that were (ids only grow).
 *
 *   magic "ockam-x3dh-prekeys v1\n" (22) | IK_B (32) | next_spk_id u32 |
 *   next_opk_id u32 | 2 x spk { id u32, created u64, secret 32 } (current,
 *   previous) | 32 x opk { id u32, issued u8, issued_at u64, secret 32 } |
 *   BLAKE2b-256 of all before (32)
 *
 * u32/u64 big-endian; times are wall-clock milliseconds (the loop's clock
 * starts again at boot), turned back into the loop's clock on reading.
 * Public keys and signatures are derived again from the secrets.
 *
 * Pure code (no host services), unit-tested directly.
 */
#ifndef OCKAM_X3DH_STORE_H
#define OCKAM_X3DH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "x3dh.h"

#define X3DH_STORE_MAGIC "ockam-x3dh-prekeys v1\n"
#define X3DH_STORE_MAGIC_LEN 22
#define X3DH_STORE_SPK_LEN (4 + 8 + X3DH_KEY_LEN)
#define X3DH_STORE_OPK_LEN (4 + 1 + 8 + X3DH_KEY_LEN)
#define X3DH_STORE_LEN                                                     \
	(X3DH_STORE_MAGIC_LEN + X3DH_KEY_LEN + 8 + 2 * X3DH_STORE_SPK_LEN + \
	 X3DH_OPK_POOL * X3DH_STORE_OPK_LEN + 32)

/* `p` into out (X3DH_STORE_LEN bytes: secrets, so sodium_malloc it);
 * `mono_ms` is the loop's clock now, `wall_ms` the wall clock now. */
void x3dh_store_encode(const struct x3dh_prekeys *p, uint64_t mono_ms,
		       uint64_t wall_ms, uint8_t *out);
/* Take the prekeys in `buf` into `p`, which x3dh_prekeys_init made for
 * the same identity.  0; -1 if `buf` is not such a file (wrong length,
 * magic or checksum: p untouched); -2 if it belongs to another identity
 * key (p untouched). */
int x3dh_store_decode(struct x3dh_prekeys *p, const uint8_t *buf,
		      size_t len, uint64_t mono_ms, uint64_t wall_ms);

#endif
