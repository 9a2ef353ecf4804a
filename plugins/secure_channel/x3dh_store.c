/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The X3DH responder's prekeys as bytes (see x3dh_store.h).
 */
#include <string.h>

#include <sodium.h>

#include "x3dh_store.h"

static uint8_t *put(uint8_t *o, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		o[i] = (uint8_t)v;
		v >>= 8;
	}
	return o + bytes;
}

static uint64_t get(const uint8_t **p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | (*p)[i];
	*p += bytes;
	return v;
}

/* Loop clock <-> wall clock, through the offset between them now.  The
 * sums wrap consistently: differences of loop times stay right. */
static uint64_t to_wall(uint64_t t, uint64_t mono, uint64_t wall)
{
	return wall - (mono - t);
}

static uint64_t to_mono(uint64_t w, uint64_t mono, uint64_t wall)
{
	return mono - (wall - w);
}

static uint8_t *spk_put(uint8_t *o, const struct x3dh_spk *s, uint64_t mono,
			uint64_t wall)
{
	o = put(o, s->id, 4);
	o = put(o, s->id ? to_wall(s->created_ms, mono, wall) : 0, 8);
	memcpy(o, s->secret, X3DH_KEY_LEN);
	return o + X3DH_KEY_LEN;
}

void x3dh_store_encode(const struct x3dh_prekeys *p, uint64_t mono_ms,
		       uint64_t wall_ms, uint8_t *out)
{
	uint8_t *o = out;
	memcpy(o, X3DH_STORE_MAGIC, X3DH_STORE_MAGIC_LEN);
	o += X3DH_STORE_MAGIC_LEN;
	memcpy(o, p->ik_public, X3DH_KEY_LEN);
	o += X3DH_KEY_LEN;
	o = put(o, p->next_spk_id, 4);
	o = put(o, p->next_opk_id, 4);
	o = spk_put(o, &p->cur, mono_ms, wall_ms);
	o = spk_put(o, &p->prev, mono_ms, wall_ms);
	for (size_t i = 0; i < X3DH_OPK_POOL; i++) {
		const struct x3dh_opk *k = &p->opk[i];
		o = put(o, k->id, 4);
		*o++ = (uint8_t)(k->issued != 0);
		o = put(o, k->issued ? to_wall(k->issued_ms, mono_ms, wall_ms)
				     : 0,
			8);
		memcpy(o, k->secret, X3DH_KEY_LEN);
		o += X3DH_KEY_LEN;
	}
	crypto_generichash(o, 32, out, (size_t)(o - out), NULL, 0);
}

int x3dh_store_decode(struct x3dh_prekeys *p, const uint8_t *buf,
		      size_t len, uint64_t mono_ms, uint64_t wall_ms)
{
	uint8_t sum[32];
	if (len != X3DH_STORE_LEN ||
	    memcmp(buf, X3DH_STORE_MAGIC, X3DH_STORE_MAGIC_LEN) != 0)
		return -1;
	crypto_generichash(sum, sizeof(sum), buf, len - 32, NULL, 0);
	if (sodium_memcmp(sum, buf + len - 32, 32) != 0)
		return -1;
	const uint8_t *q = buf + X3DH_STORE_MAGIC_LEN;
	if (sodium_memcmp(q, p->ik_public, X3DH_KEY_LEN) != 0)
		return -2;
	q += X3DH_KEY_LEN;
	uint32_t next_spk = (uint32_t)get(&q, 4);
	uint32_t next_opk = (uint32_t)get(&q, 4);
	/* Checked before p changes: the current signed prekey is always
	 * there, and ids start at 1. */
	const uint8_t *spk_at = q, *opk_at = q + 2 * X3DH_STORE_SPK_LEN;
	const uint8_t *peek = q;
	if (!next_spk || !next_opk || get(&peek, 4) == 0)
		return -1;
	q = spk_at;
	for (int i = 0; i < 2; i++) {
		struct x3dh_spk *s = i ? &p->prev : &p->cur;
		uint32_t id = (uint32_t)get(&q, 4);
		uint64_t created = get(&q, 8);
		if (id)
			x3dh_spk_set(p, s, id, q,
				     to_mono(created, mono_ms, wall_ms));
		else
			sodium_memzero(s, sizeof(*s));
		q += X3DH_KEY_LEN;
	}
	q = opk_at;
	for (size_t i = 0; i < X3DH_OPK_POOL; i++) {
		struct x3dh_opk *k = &p->opk[i];
		k->id = (uint32_t)get(&q, 4);
		k->issued = *q++ != 0;
		uint64_t at = get(&q, 8);
		k->issued_ms = k->issued ? to_mono(at, mono_ms, wall_ms) : 0;
		memcpy(k->secret, q, X3DH_KEY_LEN);
		q += X3DH_KEY_LEN;
		if (k->id)
			crypto_scalarmult_base(k->pub, k->secret);
		else
			sodium_memzero(k, sizeof(*k));
	}
	p->next_spk_id = next_spk;
	p->next_opk_id = next_opk;
	return 0;
}
