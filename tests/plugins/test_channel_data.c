/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel's message layer: replay window, explicit nonces,
 * rekey epochs, tampering, limits, batch records
 * (plugins/secure_channel/channel_data.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <sodium.h>

#include "channel_data.h"

static struct data_sender tx, tx0; /* tx0: the pristine epoch-0 sender */
static struct data_receiver rx;
static uint8_t k0[NOISE_KEY_LEN];
static uint8_t msg[DATA_MESSAGE_MAX];
static uint8_t out[DATA_PLAINTEXT_MAX];

static void pair_init(uint64_t interval)
{
	struct noise_cipherstate a = { .cipher = NOISE_CIPHER_CHACHAPOLY,
				       .has_key = 1 };
	randombytes_buf(k0, sizeof(k0));
	memcpy(a.k, k0, sizeof(k0));
	struct noise_cipherstate b = a;
	CU_ASSERT_EQUAL_FATAL(data_sender_init(&tx, &a, interval), 0);
	tx0 = tx;
	CU_ASSERT_EQUAL_FATAL(data_receiver_init(&rx, &b, interval), 0);
}

/* Seal "m<n>" as a sender at nonce n would (it derives the epoch key
 * forward from epoch 0); returns the length. */
static size_t seal_at(uint64_t n, uint8_t *buf)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "m%llu", (unsigned long long)n);
	size_t mlen = 0;
	struct data_sender s = tx0;
	s.next = n;
	CU_ASSERT_EQUAL(data_seal(&s, (const uint8_t *)text, (size_t)len,
				  buf, DATA_MESSAGE_MAX, &mlen), 0);
	CU_ASSERT_EQUAL(s.epoch, n / s.interval);
	data_sender_wipe(&s);
	return mlen;
}

/* 0 if accepted with the expected text, else the reject reason + 1. */
static int open_check(const uint8_t *buf, size_t len, uint64_t n)
{
	enum data_reject why;
	size_t olen = 0;
	if (data_open(&rx, buf, len, out, sizeof(out), &olen, &why) != 0)
		return (int)why + 1;
	char text[32];
	int tlen = snprintf(text, sizeof(text), "m%llu", (unsigned long long)n);
	CU_ASSERT_EQUAL(olen, (size_t)tlen);
	CU_ASSERT(memcmp(out, text, olen) == 0);
	return 0;
}

static int deliver(uint64_t n)
{
	size_t len = seal_at(n, msg);
	return open_check(msg, len, n);
}

static void test_window(void)
{
	struct replay_window w;
	replay_init(&w);
	CU_ASSERT_EQUAL(replay_check(&w, 0), 0);
	replay_accept(&w, 0);
	CU_ASSERT_EQUAL(replay_check(&w, 0), DATA_REJECT_REPLAY);
	CU_ASSERT_EQUAL(replay_check(&w, 5), 0);
	replay_accept(&w, 5);
	/* 1..4 skipped: still acceptable, once. */
	CU_ASSERT_EQUAL(replay_check(&w, 3), 0);
	replay_accept(&w, 3);
	CU_ASSERT_EQUAL(replay_check(&w, 3), DATA_REJECT_REPLAY);
	CU_ASSERT_EQUAL(replay_check(&w, 4), 0);
	/* Jump far ahead: everything 64 or more behind is too old. */
	replay_accept(&w, 1000);
	CU_ASSERT_EQUAL(replay_check(&w, 1000 - 63), 0);
	CU_ASSERT_EQUAL(replay_check(&w, 1000 - 64), DATA_REJECT_OLD);
	CU_ASSERT_EQUAL(replay_check(&w, 5), DATA_REJECT_OLD);
	replay_accept(&w, 1000 - 63);
	CU_ASSERT_EQUAL(replay_check(&w, 1000 - 63), DATA_REJECT_REPLAY);
	/* Sliding by one drops the oldest slot. */
	replay_accept(&w, 1001);
	CU_ASSERT_EQUAL(replay_check(&w, 1000 - 63), DATA_REJECT_OLD);
	CU_ASSERT_EQUAL(replay_check(&w, 1000), DATA_REJECT_REPLAY);
	CU_ASSERT_EQUAL(replay_check(&w, 999), 0);
}

static void test_in_order_and_reorder(void)
{
	pair_init(DATA_REKEY_DEFAULT);
	for (uint64_t n = 0; n < 10; n++)
		CU_ASSERT_EQUAL(deliver(n), 0);
	/* Out of order within the window. */
	size_t l12 = seal_at(12, msg);
	uint8_t m11[64];
	size_t l11 = seal_at(11, m11);
	CU_ASSERT_EQUAL(open_check(msg, l12, 12), 0);
	CU_ASSERT_EQUAL(open_check(m11, l11, 11), 0);
	/* Lost message 10 arrives late: fine; again: replay. */
	size_t l10 = seal_at(10, msg);
	CU_ASSERT_EQUAL(open_check(msg, l10, 10), 0);
	CU_ASSERT_EQUAL(open_check(msg, l10, 10), DATA_REJECT_REPLAY + 1);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

static void test_tamper_truncate(void)
{
	pair_init(DATA_REKEY_DEFAULT);
	size_t len = seal_at(0, msg);
	CU_ASSERT_EQUAL(len, DATA_HEADER_LEN + 2 + NOISE_TAG_LEN);
	CU_ASSERT_EQUAL(msg[0], DATA_TYPE);
	for (size_t i = 1; i < len; i++) {
		msg[i] ^= 0x01;
		CU_ASSERT_NOT_EQUAL(open_check(msg, len, 0), 0);
		msg[i] ^= 0x01;
	}
	msg[0] = 0x03;
	CU_ASSERT_EQUAL(open_check(msg, len, 0), DATA_REJECT_TYPE + 1);
	msg[0] = DATA_TYPE;
	CU_ASSERT_EQUAL(open_check(msg, len - 1, 0), DATA_REJECT_AUTH + 1);
	CU_ASSERT_EQUAL(open_check(msg, DATA_HEADER_LEN + NOISE_TAG_LEN - 1, 0),
			DATA_REJECT_LENGTH + 1);
	CU_ASSERT_EQUAL(open_check(msg, 0, 0), DATA_REJECT_LENGTH + 1);
	/* None of that hurt: the genuine message still opens. */
	CU_ASSERT_EQUAL(open_check(msg, len, 0), 0);
	CU_ASSERT_EQUAL(deliver(1), 0);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

static void test_old_beyond_window(void)
{
	pair_init(DATA_REKEY_DEFAULT);
	uint8_t m0[64];
	size_t l0 = seal_at(0, m0);
	CU_ASSERT_EQUAL(deliver(64), 0);
	CU_ASSERT_EQUAL(open_check(m0, l0, 0), DATA_REJECT_OLD + 1);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

/* Epoch keys are noise_cs_rekey of the previous one. */
static void test_epoch_keys(void)
{
	pair_init(64);
	size_t len = seal_at(64 * 3 + 5, msg); /* epoch 3 */
	struct noise_cipherstate k = { .cipher = NOISE_CIPHER_CHACHAPOLY,
				       .has_key = 1 };
	memcpy(k.k, k0, sizeof(k0));
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(noise_cs_rekey(&k), 0);
	uint8_t pt[64];
	CU_ASSERT_EQUAL(noise_decrypt_with_nonce(&k, 64 * 3 + 5, msg, 1,
						 msg + DATA_HEADER_LEN,
						 len - DATA_HEADER_LEN, pt),
			0);
	CU_ASSERT(memcmp(pt, "m197", 4) == 0);
	/* The receiver derives forward on its own. */
	CU_ASSERT_EQUAL(open_check(msg, len, 64 * 3 + 5), 0);
	CU_ASSERT_EQUAL(rx.epoch, 3);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

/* Reordering inside the window across an epoch boundary still works. */
static void test_epoch_boundary_reorder(void)
{
	pair_init(64);
	for (uint64_t n = 0; n < 60; n++)
		CU_ASSERT_EQUAL(deliver(n), 0);
	uint8_t late[8][64];
	size_t late_len[8];
	for (uint64_t n = 60; n < 64; n++)
		late_len[n - 60] = seal_at(n, late[n - 60]);
	for (uint64_t n = 64; n < 100; n++)
		CU_ASSERT_EQUAL(deliver(n), 0);
	CU_ASSERT_EQUAL(rx.epoch, 1);
	for (uint64_t n = 60; n < 64; n++)
		CU_ASSERT_EQUAL(open_check(late[n - 60], late_len[n - 60], n), 0);
	/* Two epochs back is refused even if a forger claims it. */
	for (uint64_t n = 100; n < 200; n++)
		CU_ASSERT_EQUAL(deliver(n), 0);
	CU_ASSERT_EQUAL(open_check(late[0], late_len[0], 60),
			DATA_REJECT_OLD + 1);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

static void test_forgery_changes_nothing(void)
{
	pair_init(64);
	CU_ASSERT_EQUAL(deliver(0), 0);
	/* A forged message far ahead must not advance the window or epoch. */
	size_t len = seal_at(64 * 10, msg);
	msg[len - 1] ^= 0xff;
	CU_ASSERT_EQUAL(open_check(msg, len, 64 * 10), DATA_REJECT_AUTH + 1);
	CU_ASSERT_EQUAL(rx.epoch, 0);
	CU_ASSERT_EQUAL(rx.window.top, 0);
	CU_ASSERT_EQUAL(deliver(1), 0);
	/* Beyond the skip limit: refused before any work. */
	len = seal_at(64 * (DATA_EPOCH_SKIP_MAX + 2), msg);
	CU_ASSERT_EQUAL(open_check(msg, len, 64 * (DATA_EPOCH_SKIP_MAX + 2)),
			DATA_REJECT_AHEAD + 1);
	CU_ASSERT_EQUAL(deliver(2), 0);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

/* A batch record at nonce n carrying entries "b<n>.<i>" for i < count,
 * as flow_batch_add lays them out: built in place behind the header. */
static size_t seal_batch_at(uint64_t n, unsigned count, uint8_t *buf)
{
	size_t used = 0;
	for (unsigned i = 0; i < count; i++) {
		uint8_t *p = buf + DATA_HEADER_LEN + used;
		int len = snprintf((char *)p + DATA_BATCH_LEN_SIZE, 32,
				   "b%llu.%u", (unsigned long long)n, i);
		data_batch_len_put(p, (size_t)len);
		used += DATA_BATCH_LEN_SIZE + (size_t)len;
	}
	struct data_sender s = tx0;
	s.next = n;
	size_t mlen = 0;
	CU_ASSERT_EQUAL(data_seal_in_place(&s, DATA_BATCH_TYPE, buf, used,
					   DATA_MESSAGE_MAX, &mlen), 0);
	CU_ASSERT_EQUAL(mlen, DATA_HEADER_LEN + used + NOISE_TAG_LEN);
	data_sender_wipe(&s);
	return mlen;
}

/* 0 if the batch opened with exactly its `count` entries, else the
 * reject reason + 1. */
static int open_batch(const uint8_t *buf, size_t len, uint64_t n,
		      unsigned count)
{
	enum data_reject why;
	size_t olen = 0;
	if (data_open(&rx, buf, len, out, sizeof(out), &olen, &why) != 0)
		return (int)why + 1;
	CU_ASSERT_EQUAL(buf[0], DATA_BATCH_TYPE);
	CU_ASSERT_EQUAL(data_batch_count(out, olen), (int)count);
	size_t off = 0, ilen;
	const uint8_t *inner;
	for (unsigned i = 0; i < count; i++) {
		char text[32];
		int tlen = snprintf(text, sizeof(text), "b%llu.%u",
				    (unsigned long long)n, i);
		CU_ASSERT_EQUAL_FATAL(
			data_batch_next(out, olen, &off, &inner, &ilen), 1);
		CU_ASSERT_EQUAL(ilen, (size_t)tlen);
		CU_ASSERT(memcmp(inner, text, ilen) == 0);
	}
	CU_ASSERT_EQUAL(data_batch_next(out, olen, &off, &inner, &ilen), 0);
	return 0;
}

static void test_batch_framing(void)
{
	/* Two entries: "ab" and "c". */
	const uint8_t good[] = { 0, 2, 'a', 'b', 0, 1, 'c' };
	size_t off = 0, n;
	const uint8_t *p;
	CU_ASSERT_EQUAL(data_batch_count(good, sizeof(good)), 2);
	CU_ASSERT_EQUAL(data_batch_next(good, sizeof(good), &off, &p, &n), 1);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT(p == good + 2);
	CU_ASSERT_EQUAL(data_batch_next(good, sizeof(good), &off, &p, &n), 1);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(p[0], 'c');
	CU_ASSERT_EQUAL(data_batch_next(good, sizeof(good), &off, &p, &n), 0);
	/* Empty body, empty entry, entry past the end, half a length. */
	CU_ASSERT_EQUAL(data_batch_count(good, 0), -1);
	const uint8_t empty_entry[] = { 0, 1, 'a', 0, 0 };
	CU_ASSERT_EQUAL(data_batch_count(empty_entry, sizeof(empty_entry)), -1);
	CU_ASSERT_EQUAL(data_batch_count(good, sizeof(good) - 1), -1);
	CU_ASSERT_EQUAL(data_batch_count(good, 5), -1);
	const uint8_t big[] = { 0xff, 0xef, 'x' };
	CU_ASSERT_EQUAL(data_batch_count(big, sizeof(big)), -1);
	/* The largest entry length fits the prefix. */
	uint8_t lp[2];
	data_batch_len_put(lp, DATA_PLAINTEXT_MAX);
	CU_ASSERT_EQUAL((size_t)lp[0] << 8 | lp[1], DATA_PLAINTEXT_MAX);
}

static void test_batch_round_trip(void)
{
	pair_init(DATA_REKEY_DEFAULT);
	size_t len = seal_batch_at(0, 5, msg);
	CU_ASSERT_EQUAL(msg[0], DATA_BATCH_TYPE);
	CU_ASSERT_EQUAL(open_batch(msg, len, 0, 5), 0);
	CU_ASSERT_EQUAL(open_batch(msg, len, 0, 5), DATA_REJECT_REPLAY + 1);
	/* Singles and batches share one nonce sequence. */
	CU_ASSERT_EQUAL(deliver(1), 0);
	len = seal_batch_at(2, 1, msg);
	CU_ASSERT_EQUAL(open_batch(msg, len, 2, 1), 0);
	/* A single-message record sealed in place opens as before. */
	struct data_sender s = tx0;
	s.next = 3;
	memcpy(msg + DATA_HEADER_LEN, "m3", 2);
	CU_ASSERT_EQUAL(data_seal_in_place(&s, DATA_TYPE, msg, 2,
					   DATA_MESSAGE_MAX, &len), 0);
	CU_ASSERT_EQUAL(open_check(msg, len, 3), 0);
	CU_ASSERT_EQUAL(data_seal_in_place(&s, 0x05, msg, 2, DATA_MESSAGE_MAX,
					   &len), -EMSGSIZE);
	data_sender_wipe(&s);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

/* A tampered batch is refused whole and once, and changes nothing. */
static void test_batch_tamper(void)
{
	pair_init(DATA_REKEY_DEFAULT);
	size_t len = seal_batch_at(0, 4, msg);
	for (size_t i = 0; i < len; i++) {
		msg[i] ^= 0x20;
		CU_ASSERT_NOT_EQUAL(open_batch(msg, len, 0, 4), 0);
		msg[i] ^= 0x20;
	}
	/* The type is authenticated: relabelled as a single, it fails. */
	msg[0] = DATA_TYPE;
	CU_ASSERT_EQUAL(open_check(msg, len, 0), DATA_REJECT_AUTH + 1);
	msg[0] = DATA_BATCH_TYPE;
	CU_ASSERT_EQUAL(open_batch(msg, len - 1, 0, 4), DATA_REJECT_AUTH + 1);
	CU_ASSERT_EQUAL(rx.window.any, 0);
	CU_ASSERT_EQUAL(open_batch(msg, len, 0, 4), 0);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

/* The window counts records: a batch 64 records behind is too old
 * however many messages the later ones carried; reordered batches
 * inside the window are fine, across an epoch boundary too. */
static void test_batch_window(void)
{
	pair_init(64);
	uint8_t b0[256], b62[256];
	size_t l0 = seal_batch_at(0, 3, b0);
	size_t l62 = seal_batch_at(62, 2, b62);
	for (uint64_t n = 1; n < 62; n++) {
		size_t len = seal_batch_at(n, 8, msg);
		CU_ASSERT_EQUAL(open_batch(msg, len, n, 8), 0);
	}
	size_t len = seal_batch_at(63, 8, msg);
	CU_ASSERT_EQUAL(open_batch(msg, len, 63, 8), 0);
	/* 62 arrives late, inside the window. */
	CU_ASSERT_EQUAL(open_batch(b62, l62, 62, 2), 0);
	len = seal_batch_at(64, 8, msg); /* epoch 1 */
	CU_ASSERT_EQUAL(open_batch(msg, len, 64, 8), 0);
	CU_ASSERT_EQUAL(open_batch(b0, l0, 0, 3), DATA_REJECT_OLD + 1);
	CU_ASSERT_EQUAL(open_batch(b62, l62, 62, 2), DATA_REJECT_REPLAY + 1);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

static void test_limits(void)
{
	pair_init(64);
	static uint8_t big[DATA_PLAINTEXT_MAX + 1];
	size_t len = 0;
	CU_ASSERT_EQUAL(data_seal(&tx, big, DATA_PLAINTEXT_MAX, msg,
				  sizeof(msg), &len), 0);
	CU_ASSERT_EQUAL(len, DATA_MESSAGE_MAX);
	CU_ASSERT_EQUAL(data_seal(&tx, big, DATA_PLAINTEXT_MAX + 1, msg,
				  sizeof(msg), &len), -EMSGSIZE);
	/* Oversized input is refused by length. */
	enum data_reject why;
	size_t olen;
	static uint8_t huge[DATA_MESSAGE_MAX + 1];
	huge[0] = DATA_TYPE;
	CU_ASSERT_EQUAL(data_open(&rx, huge, sizeof(huge), out, sizeof(out),
				  &olen, &why), -1);
	CU_ASSERT_EQUAL(why, DATA_REJECT_LENGTH);
	/* The last usable nonce works; then the sender refuses to wrap. */
	tx.next = UINT64_MAX - 1;
	tx.epoch = (UINT64_MAX - 1) / 64; /* skip 2^58 rekeys */
	CU_ASSERT_EQUAL(data_seal(&tx, big, 1, msg, sizeof(msg), &len), 0);
	CU_ASSERT_EQUAL(data_seal(&tx, big, 1, msg, sizeof(msg), &len), -EPIPE);
	CU_ASSERT_EQUAL(data_seal(&tx, big, 1, msg, sizeof(msg), &len), -EPIPE);
	/* An interval below the window is refused. */
	struct noise_cipherstate cs = { .has_key = 1 };
	CU_ASSERT_EQUAL(data_sender_init(&tx, &cs, 63), -EINVAL);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

/* A keepalive is an empty 0x04 record: it authenticates, takes a nonce
 * (so a replayed one is refused like any record) and opens to nothing;
 * tampered, it is refused. */
static void test_keepalive_record(void)
{
	pair_init(DATA_REKEY_DEFAULT);
	size_t len = 0;
	CU_ASSERT_EQUAL(data_seal(&tx, (const uint8_t *)"", 0, msg, sizeof(msg), &len), 0);
	CU_ASSERT_EQUAL(len, DATA_HEADER_LEN + NOISE_TAG_LEN);
	CU_ASSERT_EQUAL(msg[0], DATA_TYPE);
	enum data_reject why;
	size_t olen = 99;
	msg[len - 1] ^= 0x01;
	CU_ASSERT_NOT_EQUAL(data_open(&rx, msg, len, out, sizeof(out), &olen,
				      &why), 0);
	CU_ASSERT_EQUAL(why, DATA_REJECT_AUTH);
	msg[len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(data_open(&rx, msg, len, out, sizeof(out), &olen, &why),
			0);
	CU_ASSERT_EQUAL(olen, 0);
	CU_ASSERT_NOT_EQUAL(data_open(&rx, msg, len, out, sizeof(out), &olen,
				      &why), 0);
	CU_ASSERT_EQUAL(why, DATA_REJECT_REPLAY);
	/* The data after it is nonce 1. */
	CU_ASSERT_EQUAL(deliver(1), 0);
	data_sender_wipe(&tx);
	data_receiver_wipe(&rx);
}

/* What the channel does on the hot path: a body staged in a buffer of its
 * own (a batch) is sealed straight into the buffer the record is sent
 * from, and the receiver opens the record where it lies (out = the record
 * + DATA_HEADER_LEN), with either cipher.  The result is the same record
 * data_seal makes, a tampered record is refused in place too, and a
 * refused one leaves the window as it was. */
static void seal_from_open_in_place(enum noise_cipher cipher)
{
	struct noise_cipherstate a = { .cipher = cipher, .has_key = 1 };
	randombytes_buf(a.k, sizeof(a.k));
	struct noise_cipherstate b = a, c = a;
	struct data_sender s, s2;
	struct data_receiver r;
	CU_ASSERT_EQUAL_FATAL(data_sender_init(&s, &a, DATA_REKEY_DEFAULT), 0);
	CU_ASSERT_EQUAL_FATAL(data_sender_init(&s2, &c, DATA_REKEY_DEFAULT), 0);
	CU_ASSERT_EQUAL_FATAL(data_receiver_init(&r, &b, DATA_REKEY_DEFAULT), 0);

	static uint8_t body[1000], rec[DATA_MESSAGE_MAX], ref[DATA_MESSAGE_MAX];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7);
	size_t len = 0, rlen = 0;
	CU_ASSERT_EQUAL(data_seal_from(&s, DATA_BATCH_TYPE, body, sizeof(body),
				       rec, DATA_HEADER_LEN + sizeof(body) +
						    NOISE_TAG_LEN,
				       &len), 0);
	CU_ASSERT_EQUAL(len, DATA_HEADER_LEN + sizeof(body) + NOISE_TAG_LEN);
	/* One byte short of room is refused. */
	CU_ASSERT_EQUAL(data_seal_from(&s, DATA_TYPE, body, sizeof(body), rec,
				       len - 1, &rlen), -EMSGSIZE);
	/* Identical to sealing in place at the same nonce. */
	memcpy(ref + DATA_HEADER_LEN, body, sizeof(body));
	CU_ASSERT_EQUAL(data_seal_in_place(&s2, DATA_BATCH_TYPE, ref,
					   sizeof(body), sizeof(ref), &rlen), 0);
	CU_ASSERT_EQUAL(rlen, len);
	CU_ASSERT(memcmp(rec, ref, len) == 0);

	enum data_reject why;
	size_t olen = 0;
	rec[20] ^= 0x40;
	CU_ASSERT_NOT_EQUAL(data_open(&r, rec, len, rec + DATA_HEADER_LEN,
				      DATA_PLAINTEXT_MAX, &olen, &why), 0);
	CU_ASSERT_EQUAL(why, DATA_REJECT_AUTH);
	/* The untouched copy still opens: the forgery moved nothing. */
	CU_ASSERT_EQUAL(data_open(&r, ref, len, ref + DATA_HEADER_LEN,
				  DATA_PLAINTEXT_MAX, &olen, &why), 0);
	CU_ASSERT_EQUAL(olen, sizeof(body));
	CU_ASSERT(memcmp(ref + DATA_HEADER_LEN, body, sizeof(body)) == 0);
	CU_ASSERT_EQUAL(ref[0], DATA_BATCH_TYPE); /* the header stays */
	data_sender_wipe(&s);
	data_sender_wipe(&s2);
	data_receiver_wipe(&r);
}

static void test_seal_from_open_in_place(void)
{
	seal_from_open_in_place(NOISE_CIPHER_CHACHAPOLY);
	if (crypto_aead_aes256gcm_is_available())
		seal_from_open_in_place(NOISE_CIPHER_AESGCM);
}

int main(void)
{
	if (sodium_init() < 0 || CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("channel_data", NULL, NULL);
	CU_add_test(s, "replay window", test_window);
	CU_add_test(s, "in order and reordered", test_in_order_and_reorder);
	CU_add_test(s, "tampered and truncated", test_tamper_truncate);
	CU_add_test(s, "older than the window", test_old_beyond_window);
	CU_add_test(s, "epoch keys", test_epoch_keys);
	CU_add_test(s, "reorder across an epoch boundary",
		    test_epoch_boundary_reorder);
	CU_add_test(s, "forgery changes nothing", test_forgery_changes_nothing);
	CU_add_test(s, "limits and nonce exhaustion", test_limits);
	CU_add_test(s, "batch framing", test_batch_framing);
	CU_add_test(s, "batch round trip", test_batch_round_trip);
	CU_add_test(s, "tampered batch", test_batch_tamper);
	CU_add_test(s, "batches and the replay window", test_batch_window);
	CU_add_test(s, "keepalive record", test_keepalive_record);
	CU_add_test(s, "sealed from a staged body, opened in place",
		    test_seal_from_open_in_place);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() +
			  CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
