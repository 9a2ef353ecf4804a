/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Noise SymmetricState and HandshakeState (sections 5.2, 5.3), driven by
 * token lists so that one engine runs every supported pattern.
 */
#include <string.h>

#include <sodium.h>

#include "noise_internal.h"

enum token { TOK_E, TOK_S, TOK_EE, TOK_ES, TOK_SE, TOK_SS };

#define PATTERN_MAX_MSGS 3
#define MSG_MAX_TOKENS 4

struct pattern {
	int pre_resp_s; /* "<- s" pre-message */
	size_t nmsgs;
	size_t ntokens[PATTERN_MAX_MSGS];
	enum token tokens[PATTERN_MAX_MSGS][MSG_MAX_TOKENS];
};

/* Message i is written by the initiator when i is even. */
static const struct pattern patterns[] = {
	[NOISE_PATTERN_NN] = {
		.nmsgs = 2,
		.ntokens = { 1, 2 },
		.tokens = { { TOK_E }, { TOK_E, TOK_EE } },
	},
	[NOISE_PATTERN_XX] = {
		.nmsgs = 3,
		.ntokens = { 1, 4, 2 },
		.tokens = { { TOK_E },
			    { TOK_E, TOK_EE, TOK_S, TOK_ES },
			    { TOK_S, TOK_SE } },
	},
	[NOISE_PATTERN_IK] = {
		.pre_resp_s = 1,
		.nmsgs = 2,
		.ntokens = { 4, 3 },
		.tokens = { { TOK_E, TOK_ES, TOK_S, TOK_SS },
			    { TOK_E, TOK_EE, TOK_SE } },
	},
};

struct noise_handshake {
	struct noise_cipherstate cs;
	uint8_t ck[NOISE_HASH_MAX];
	uint8_t h[NOISE_HASH_MAX];
	uint8_t s_priv[NOISE_DH_LEN], s_pub[NOISE_DH_LEN];
	uint8_t e_priv[NOISE_DH_LEN], e_pub[NOISE_DH_LEN];
	uint8_t rs[NOISE_DH_LEN], re[NOISE_DH_LEN];
	const struct pattern *pat;
	enum noise_hash hash;
	size_t hash_len;
	size_t msg_index;
	int initiator;
	int has_s, has_e, has_rs, has_re;
	int fixed_e; /* e_priv was given by the caller (test vectors) */
	int failed;
	int split_done;
};

/* sodium_malloc only aligns sizes that are multiples of the alignment. */
static size_t hs_alloc_size(void)
{
	return (sizeof(struct noise_handshake) + 15u) & ~(size_t)15u;
}

static void mix_hash(struct noise_handshake *hs, const uint8_t *data,
		     size_t len)
{
	noise_hash_concat(hs->hash, hs->h, hs->hash_len, data, len, hs->h);
}

static void mix_key(struct noise_handshake *hs, const uint8_t *ikm, size_t len)
{
	uint8_t temp_k[NOISE_HASH_MAX];

	noise_hkdf(hs->hash, hs->ck, ikm, len, hs->ck, temp_k, NULL);
	/* HASHLEN 64: the key is truncated to 32 bytes. */
	memcpy(hs->cs.k, temp_k, NOISE_KEY_LEN);
	hs->cs.has_key = 1;
	hs->cs.n = 0;
	sodium_memzero(temp_k, sizeof temp_k);
}

static int encrypt_and_hash(struct noise_handshake *hs, const uint8_t *in,
			    size_t len, uint8_t *out, size_t *out_len)
{
	if (noise_cs_encrypt(&hs->cs, hs->h, hs->hash_len, in, len, out) != 0)
		return -1;
	*out_len = len + (hs->cs.has_key ? NOISE_TAG_LEN : 0);
	mix_hash(hs, out, *out_len);
	return 0;
}

static int decrypt_and_hash(struct noise_handshake *hs, const uint8_t *in,
			    size_t len, uint8_t *out)
{
	if (noise_cs_decrypt(&hs->cs, hs->h, hs->hash_len, in, len, out) != 0)
		return -1;
	mix_hash(hs, in, len);
	return 0;
}

/* DH and MixKey; a low-order or invalid public key fails. */
static int mix_dh(struct noise_handshake *hs, const uint8_t *priv,
		  const uint8_t *pub)
{
	uint8_t shared[NOISE_DH_LEN];
	int rc = -1;

	if (crypto_scalarmult(shared, priv, pub) == 0 &&
	    !sodium_is_zero(shared, sizeof shared)) {
		mix_key(hs, shared, sizeof shared);
		rc = 0;
	}
	sodium_memzero(shared, sizeof shared);
	return rc;
}

static int token_dh(struct noise_handshake *hs, enum token t)
{
	int ok = 0;

	switch (t) {
	case TOK_EE:
		ok = hs->has_e && hs->has_re;
		return ok ? mix_dh(hs, hs->e_priv, hs->re) : -1;
	case TOK_ES: /* initiator's e with responder's s */
		if (hs->initiator)
			return hs->has_e && hs->has_rs ?
				mix_dh(hs, hs->e_priv, hs->rs) : -1;
		return hs->has_s && hs->has_re ? mix_dh(hs, hs->s_priv, hs->re)
					       : -1;
	case TOK_SE: /* initiator's s with responder's e */
		if (hs->initiator)
			return hs->has_s && hs->has_re ?
				mix_dh(hs, hs->s_priv, hs->re) : -1;
		return hs->has_e && hs->has_rs ? mix_dh(hs, hs->e_priv, hs->rs)
					       : -1;
	case TOK_SS:
		ok = hs->has_s && hs->has_rs;
		return ok ? mix_dh(hs, hs->s_priv, hs->rs) : -1;
	case TOK_E:
	case TOK_S:
		break;
	}
	return -1;
}

static int pattern_needs_local_s(const struct pattern *pat, int initiator)
{
	if (pat->pre_resp_s && !initiator)
		return 1;
	for (size_t m = 0; m < pat->nmsgs; m++) {
		int mine = (m % 2 == 0) == (initiator != 0);

		for (size_t i = 0; i < pat->ntokens[m]; i++)
			if (pat->tokens[m][i] == TOK_S && mine)
				return 1;
	}
	return 0;
}

struct noise_handshake *noise_handshake_new(const struct noise_suite *suite,
					    int initiator,
					    const struct noise_keys *keys)
{
	struct noise_handshake *hs;
	size_t name_len;

	if (!suite || !keys || (unsigned)suite->pattern > NOISE_PATTERN_IK ||
	    (unsigned)suite->hash > NOISE_HASH_BLAKE2B ||
	    (keys->prologue_len && !keys->prologue) || noise_init() != 0)
		return NULL;
	if (pattern_needs_local_s(&patterns[suite->pattern], initiator) &&
	    !keys->s)
		return NULL;
	if (patterns[suite->pattern].pre_resp_s && initiator && !keys->rs)
		return NULL;

	hs = sodium_malloc(hs_alloc_size());
	if (!hs)
		return NULL;
	memset(hs, 0, hs_alloc_size());
	hs->pat = &patterns[suite->pattern];
	hs->hash = suite->hash;
	hs->hash_len = noise_hash_len(suite->hash);
	hs->initiator = initiator != 0;
	hs->cs.cipher = suite->cipher;

	if (keys->s) {
		memcpy(hs->s_priv, keys->s, NOISE_DH_LEN);
		if (crypto_scalarmult_base(hs->s_pub, hs->s_priv) != 0)
			goto fail;
		hs->has_s = 1;
	}
	if (keys->e) {
		memcpy(hs->e_priv, keys->e, NOISE_DH_LEN);
		hs->fixed_e = 1;
	}
	if (keys->rs) {
		memcpy(hs->rs, keys->rs, NOISE_DH_LEN);
		hs->has_rs = 1;
	}

	/* InitializeSymmetric: name padded or hashed to HASHLEN; ck = h. */
	name_len = strnlen(suite->name, sizeof suite->name);
	if (name_len <= hs->hash_len)
		memcpy(hs->h, suite->name, name_len);
	else
		noise_hash_concat(hs->hash, (const uint8_t *)suite->name,
				  name_len, NULL, 0, hs->h);
	memcpy(hs->ck, hs->h, hs->hash_len);
	/* The prologue is always hashed, even when empty. */
	mix_hash(hs, keys->prologue, keys->prologue_len);

	if (hs->pat->pre_resp_s) {
		if (hs->initiator)
			mix_hash(hs, hs->rs, NOISE_DH_LEN);
		else
			mix_hash(hs, hs->s_pub, NOISE_DH_LEN);
	}
	return hs;
fail:
	noise_handshake_free(hs);
	return NULL;
}

void noise_handshake_free(struct noise_handshake *hs)
{
	if (!hs)
		return;
	sodium_memzero(hs, hs_alloc_size());
	sodium_free(hs);
}

int noise_handshake_is_my_turn(const struct noise_handshake *hs)
{
	if (!hs || hs->failed || hs->msg_index >= hs->pat->nmsgs)
		return 0;
	return (hs->msg_index % 2 == 0) == (hs->initiator != 0);
}

int noise_handshake_is_done(const struct noise_handshake *hs)
{
	return hs && !hs->failed && hs->msg_index >= hs->pat->nmsgs;
}

/* Size of the next message we write, from the tokens and key state. */
static size_t write_size(const struct noise_handshake *hs, size_t payload_len)
{
	size_t m = hs->msg_index;
	size_t size = 0;
	int keyed = hs->cs.has_key;

	for (size_t i = 0; i < hs->pat->ntokens[m]; i++) {
		switch (hs->pat->tokens[m][i]) {
		case TOK_E:
			size += NOISE_DH_LEN;
			break;
		case TOK_S:
			size += NOISE_DH_LEN + (keyed ? NOISE_TAG_LEN : 0);
			break;
		default:
			keyed = 1;
			break;
		}
	}
	return size + payload_len + (keyed ? NOISE_TAG_LEN : 0);
}

static int generate_e(struct noise_handshake *hs)
{
	if (!hs->fixed_e)
		randombytes_buf(hs->e_priv, sizeof hs->e_priv);
	if (crypto_scalarmult_base(hs->e_pub, hs->e_priv) != 0)
		return -1;
	hs->has_e = 1;
	return 0;
}

int noise_handshake_write(struct noise_handshake *hs, const uint8_t *payload,
			  size_t payload_len, uint8_t *out, size_t cap,
			  size_t *out_len)
{
	size_t m, pos = 0, n;
	size_t need;

	if (!hs || !out || !out_len || (payload_len && !payload) ||
	    !noise_handshake_is_my_turn(hs))
		return -1;
	if (payload_len > NOISE_MSG_MAX)
		return -1;
	need = write_size(hs, payload_len);
	/* Checked before any state change, so the caller may retry. */
	if (need > cap || need > NOISE_MSG_MAX)
		return -1;

	m = hs->msg_index;
	for (size_t i = 0; i < hs->pat->ntokens[m]; i++) {
		enum token t = hs->pat->tokens[m][i];

		if (t == TOK_E) {
			if (generate_e(hs) != 0)
				goto fail;
			memcpy(out + pos, hs->e_pub, NOISE_DH_LEN);
			pos += NOISE_DH_LEN;
			mix_hash(hs, hs->e_pub, NOISE_DH_LEN);
		} else if (t == TOK_S) {
			if (!hs->has_s ||
			    encrypt_and_hash(hs, hs->s_pub, NOISE_DH_LEN,
					     out + pos, &n) != 0)
				goto fail;
			pos += n;
		} else if (token_dh(hs, t) != 0) {
			goto fail;
		}
	}
	if (encrypt_and_hash(hs, payload_len ? payload : out + pos,
			     payload_len, out + pos, &n) != 0)
		goto fail;
	pos += n;
	hs->msg_index++;
	*out_len = pos;
	return 0;
fail:
	hs->failed = 1;
	sodium_memzero(out, cap);
	return -1;
}

int noise_handshake_read(struct noise_handshake *hs, const uint8_t *msg,
			 size_t len, uint8_t *payload, size_t cap,
			 size_t *payload_len)
{
	uint8_t empty[1];
	size_t m, pos = 0, plen;

	if (!hs || (len && !msg) || !payload_len || hs->failed ||
	    hs->msg_index >= hs->pat->nmsgs || noise_handshake_is_my_turn(hs))
		return -1;
	if (len > NOISE_MSG_MAX)
		goto fail;

	m = hs->msg_index;
	for (size_t i = 0; i < hs->pat->ntokens[m]; i++) {
		enum token t = hs->pat->tokens[m][i];

		if (t == TOK_E) {
			if (len - pos < NOISE_DH_LEN)
				goto fail;
			memcpy(hs->re, msg + pos, NOISE_DH_LEN);
			hs->has_re = 1;
			pos += NOISE_DH_LEN;
			mix_hash(hs, hs->re, NOISE_DH_LEN);
		} else if (t == TOK_S) {
			size_t n = NOISE_DH_LEN +
				   (hs->cs.has_key ? NOISE_TAG_LEN : 0);
			uint8_t rs[NOISE_DH_LEN + NOISE_TAG_LEN];

			if (len - pos < n ||
			    decrypt_and_hash(hs, msg + pos, n, rs) != 0)
				goto fail;
			memcpy(hs->rs, rs, NOISE_DH_LEN);
			hs->has_rs = 1;
			pos += n;
		} else if (token_dh(hs, t) != 0) {
			goto fail;
		}
	}
	plen = len - pos;
	if (hs->cs.has_key) {
		if (plen < NOISE_TAG_LEN)
			goto fail;
		plen -= NOISE_TAG_LEN;
	}
	if (plen > cap || (plen && !payload))
		goto fail;
	if (decrypt_and_hash(hs, msg + pos, len - pos,
			     payload ? payload : empty) != 0)
		goto fail;
	hs->msg_index++;
	*payload_len = plen;
	return 0;
fail:
	hs->failed = 1;
	return -1;
}

int noise_handshake_split(struct noise_handshake *hs,
			  struct noise_cipherstate *send,
			  struct noise_cipherstate *recv)
{
	uint8_t k1[NOISE_HASH_MAX], k2[NOISE_HASH_MAX];
	struct noise_cipherstate *c1, *c2;

	if (!noise_handshake_is_done(hs) || hs->split_done || !send || !recv)
		return -1;
	noise_hkdf(hs->hash, hs->ck, NULL, 0, k1, k2, NULL);
	/* The first cipher state encrypts initiator -> responder. */
	c1 = hs->initiator ? send : recv;
	c2 = hs->initiator ? recv : send;
	memset(c1, 0, sizeof *c1);
	memset(c2, 0, sizeof *c2);
	c1->cipher = c2->cipher = hs->cs.cipher;
	memcpy(c1->k, k1, NOISE_KEY_LEN);
	memcpy(c2->k, k2, NOISE_KEY_LEN);
	c1->has_key = c2->has_key = 1;
	sodium_memzero(k1, sizeof k1);
	sodium_memzero(k2, sizeof k2);

	/* Only h and the public keys are needed from here on. */
	sodium_memzero(hs->ck, sizeof hs->ck);
	sodium_memzero(&hs->cs.k, sizeof hs->cs.k);
	sodium_memzero(hs->e_priv, sizeof hs->e_priv);
	sodium_memzero(hs->s_priv, sizeof hs->s_priv);
	hs->split_done = 1;
	return 0;
}

const uint8_t *noise_handshake_hash(const struct noise_handshake *hs,
				    size_t *hash_len)
{
	if (!hs)
		return NULL;
	if (hash_len)
		*hash_len = hs->hash_len;
	return hs->h;
}

const uint8_t *noise_handshake_remote_static(const struct noise_handshake *hs)
{
	return hs && hs->has_rs ? hs->rs : NULL;
}

const uint8_t *noise_handshake_local_static(const struct noise_handshake *hs)
{
	return hs && hs->has_s ? hs->s_pub : NULL;
}
