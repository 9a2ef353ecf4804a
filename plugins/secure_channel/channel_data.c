/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel's message layer: explicit nonces, the replay window
 * and rekey epochs (see channel_data.h).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "channel_data.h"

static const char *const reject_names[DATA_REJECT_COUNT] = {
	[DATA_REJECT_LENGTH] = "length",
	[DATA_REJECT_TYPE] = "type",
	[DATA_REJECT_REPLAY] = "replay",
	[DATA_REJECT_OLD] = "old",
	[DATA_REJECT_AHEAD] = "ahead",
	[DATA_REJECT_AUTH] = "auth",
};

const char *data_reject_name(enum data_reject why)
{
	return (unsigned)why < DATA_REJECT_COUNT ? reject_names[why] : "?";
}

void replay_init(struct replay_window *w)
{
	w->top = 0;
	w->seen = 0;
	w->any = 0;
}

int replay_check(const struct replay_window *w, uint64_t n)
{
	if (!w->any || n > w->top)
		return 0;
	uint64_t behind = w->top - n;
	if (behind >= DATA_WINDOW)
		return DATA_REJECT_OLD;
	return (w->seen >> behind) & 1 ? DATA_REJECT_REPLAY : 0;
}

void replay_accept(struct replay_window *w, uint64_t n)
{
	if (!w->any) {
		w->any = 1;
		w->top = n;
		w->seen = 1;
		return;
	}
	if (n > w->top) {
		uint64_t shift = n - w->top;
		w->seen = shift >= DATA_WINDOW ? 0 : w->seen << shift;
		w->seen |= 1;
		w->top = n;
		return;
	}
	uint64_t behind = w->top - n;
	if (behind < DATA_WINDOW)
		w->seen |= (uint64_t)1 << behind;
}

int data_sender_init(struct data_sender *s, struct noise_cipherstate *cs,
		     uint64_t interval)
{
	if (interval < DATA_WINDOW || !cs->has_key)
		return -EINVAL;
	s->cs = *cs;
	noise_cs_wipe(cs);
	s->epoch = 0;
	s->interval = interval;
	s->next = 0;
	return 0;
}

int data_receiver_init(struct data_receiver *r, struct noise_cipherstate *cs,
		       uint64_t interval)
{
	if (interval < DATA_WINDOW || !cs->has_key)
		return -EINVAL;
	r->cur = *cs;
	noise_cs_wipe(cs);
	memset(&r->prev, 0, sizeof(r->prev));
	r->has_prev = 0;
	r->epoch = 0;
	r->interval = interval;
	replay_init(&r->window);
	return 0;
}

void data_sender_wipe(struct data_sender *s)
{
	sodium_memzero(s, sizeof(*s));
}

void data_receiver_wipe(struct data_receiver *r)
{
	sodium_memzero(r, sizeof(*r));
}

static void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int data_seal_in_place(struct data_sender *s, uint8_t type, uint8_t *rec,
		       size_t len, size_t cap, size_t *out_len)
{
	return data_seal_from(s, type, rec + DATA_HEADER_LEN, len, rec, cap,
			      out_len);
}

int data_seal_from(struct data_sender *s, uint8_t type, const uint8_t *body,
		   size_t len, uint8_t *rec, size_t cap, size_t *out_len)
{
	if (len > DATA_PLAINTEXT_MAX ||
	    cap < len + DATA_HEADER_LEN + NOISE_TAG_LEN ||
	    (type != DATA_TYPE && type != DATA_BATCH_TYPE))
		return -EMSGSIZE;
	/* 2^64-1 is Noise's reserved nonce: stop before it, never wrap. */
	if (s->next >= NOISE_NONCE_MAX)
		return -EPIPE;
	uint64_t n = s->next;
	uint64_t epoch = n / s->interval;
	while (s->epoch < epoch) {
		if (noise_cs_rekey(&s->cs) != 0)
			return -EPIPE;
		s->epoch++;
	}
	rec[0] = type;
	be64_put(rec + 1, n);
	/* libsodium's AEADs encrypt in place (out == in) or from a buffer
	 * of their own. */
	if (noise_encrypt_with_nonce(&s->cs, n, rec, 1, body, len,
				     rec + DATA_HEADER_LEN) != 0)
		return -EPIPE;
	s->next = n + 1;
	*out_len = DATA_HEADER_LEN + len + NOISE_TAG_LEN;
	return 0;
}

int data_seal(struct data_sender *s, const uint8_t *pt, size_t len,
	      uint8_t *out, size_t cap, size_t *out_len)
{
	if (len > DATA_PLAINTEXT_MAX ||
	    cap < len + DATA_HEADER_LEN + NOISE_TAG_LEN)
		return -EMSGSIZE;
	memmove(out + DATA_HEADER_LEN, pt, len);
	return data_seal_in_place(s, DATA_TYPE, out, len, cap, out_len);
}

int data_open(struct data_receiver *r, const uint8_t *msg, size_t len,
	      uint8_t *out, size_t cap, size_t *out_len,
	      enum data_reject *why)
{
	if (len < DATA_HEADER_LEN + NOISE_TAG_LEN || len > DATA_MESSAGE_MAX) {
		*why = DATA_REJECT_LENGTH;
		return -1;
	}
	if (msg[0] != DATA_TYPE && msg[0] != DATA_BATCH_TYPE) {
		*why = DATA_REJECT_TYPE;
		return -1;
	}
	size_t ct_len = len - DATA_HEADER_LEN;
	if (cap < ct_len - NOISE_TAG_LEN) {
		*why = DATA_REJECT_LENGTH;
		return -1;
	}
	uint64_t n = be64_get(msg + 1);
	int rc = replay_check(&r->window, n);
	if (rc != 0) {
		*why = (enum data_reject)rc;
		return -1;
	}

	uint64_t epoch = n / r->interval;
	const struct noise_cipherstate *key;
	/* Keys of a later epoch are derived into locals and only kept
	 * once the message authenticates, so a forgery changes nothing. */
	struct noise_cipherstate next_cur, next_prev;
	int advance = 0;
	if (epoch == r->epoch) {
		key = &r->cur;
	} else if (epoch + 1 == r->epoch && r->has_prev) {
		key = &r->prev;
	} else if (epoch < r->epoch) {
		*why = DATA_REJECT_OLD;
		return -1;
	} else if (epoch - r->epoch > DATA_EPOCH_SKIP_MAX) {
		*why = DATA_REJECT_AHEAD;
		return -1;
	} else {
		next_cur = r->cur;
		next_prev = r->cur;
		for (uint64_t e = r->epoch; e < epoch; e++) {
			next_prev = next_cur;
			if (noise_cs_rekey(&next_cur) != 0) {
				sodium_memzero(&next_cur, sizeof(next_cur));
				sodium_memzero(&next_prev, sizeof(next_prev));
				*why = DATA_REJECT_AUTH;
				return -1;
			}
		}
		key = &next_cur;
		advance = 1;
	}

	rc = noise_decrypt_with_nonce(key, n, msg, 1, msg + DATA_HEADER_LEN,
				      ct_len, out);
	if (rc != 0) {
		if (advance) {
			sodium_memzero(&next_cur, sizeof(next_cur));
			sodium_memzero(&next_prev, sizeof(next_prev));
		}
		*why = DATA_REJECT_AUTH;
		return -1;
	}
	if (advance) {
		r->prev = next_prev;
		r->cur = next_cur;
		r->has_prev = 1;
		r->epoch = epoch;
		sodium_memzero(&next_cur, sizeof(next_cur));
		sodium_memzero(&next_prev, sizeof(next_prev));
	}
	replay_accept(&r->window, n);
	*out_len = ct_len - NOISE_TAG_LEN;
	return 0;
}

int data_batch_next(const uint8_t *body, size_t len, size_t *off,
		    const uint8_t **inner, size_t *inner_len)
{
	size_t o = *off;
	if (o == len)
		return o == 0 ? -1 : 0;
	if (o > len || len - o < DATA_BATCH_LEN_SIZE)
		return -1;
	size_t n = (size_t)body[o] << 8 | body[o + 1];
	o += DATA_BATCH_LEN_SIZE;
	if (n == 0 || n > len - o)
		return -1;
	*inner = body + o;
	*inner_len = n;
	*off = o + n;
	return 1;
}

int data_batch_count(const uint8_t *body, size_t len)
{
	size_t off = 0, n;
	const uint8_t *p;
	int count = 0, rc;
	while ((rc = data_batch_next(body, len, &off, &p, &n)) == 1)
		count++;
	return rc == 0 ? count : -1;
}
