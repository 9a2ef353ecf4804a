/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel's transport-message decryptor (data_open in
 * plugins/secure_channel/channel_data.c): nonces, the replay window, rekey
 * epochs and the AEAD, against one fixed key.  The input is a script:
 *
 *   byte 0   rekey interval: 64, 65, 100 or 4096 (mod 4)
 *   then ops, each one byte (mod 5) and its operands:
 *     0 d    seal a record at nonce n = top + d - 16 (d one byte; top =
 *            highest nonce sealed so far) and open it: for even n a single
 *            record (0x04) with "p<n>", for odd n a batch record (0x06)
 *            with 1 + (n / 2) % 3 entries "p<n>.<i>"
 *     1 e d  the same at the start of epoch (current + e % 4) plus d
 *     2 k    re-deliver sealed message k (mod the last 16): a replay
 *     3 k i x  deliver sealed message k with byte i xor x (x != 0)
 *     4 l .. deliver l bytes of the input as a message (a forgery: any
 *            header, nonce and tag), and walk the same bytes as a batch
 *            body
 *
 * Records are opened in place, as the channel opens them in the payload
 * it was handed (a copy of the input, out = record + DATA_HEADER_LEN).
 *
 * Properties: a nonce is accepted at most once; a forged or altered
 * message is never accepted; a refused message changes nothing (what is
 * accepted afterwards is the same as if it had not come); a sealed message
 * that is new and above the window top is always accepted when it is at
 * most DATA_EPOCH_SKIP_MAX epochs ahead; an accepted message decrypts to
 * what was sealed (a batch to exactly its entries, walked with
 * data_batch_next); the batch walk over any bytes stays inside them, its
 * entries tile them exactly, and data_batch_count agrees with it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "channel_data.h"

#define KEEP 16
#define MAX_OPS 512
/* Sealing derives epoch keys forward; cache one sender per epoch. */
#define EPOCH_CACHE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct sealed {
	uint64_t n;
	size_t len;
	uint8_t buf[128];
};

static struct noise_cipherstate key0;
static struct data_sender epochs[EPOCH_CACHE];
static uint64_t n_epochs, interval;
static struct sealed kept[KEEP];
static unsigned n_kept;
static uint64_t accepted[MAX_OPS];
static unsigned n_accepted;
static uint64_t top;
static int any;
static uint8_t out[DATA_PLAINTEXT_MAX];
static uint8_t work[DATA_MESSAGE_MAX];
static struct data_receiver rx;

static __attribute__((noreturn)) void fail(const char *what, uint64_t n)
{
	fprintf(stderr, "fuzz_channel_data: %s (nonce %llu, interval %llu)\n",
		what, (unsigned long long)n, (unsigned long long)interval);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sodium_init() < 0)
		fail("sodium_init failed", 0);
	key0.cipher = NOISE_CIPHER_CHACHAPOLY;
	key0.has_key = 1;
	for (int i = 0; i < NOISE_KEY_LEN; i++)
		key0.k[i] = (uint8_t)(0xa0 + i);
	return 0;
}

static int was_accepted(uint64_t n)
{
	for (unsigned i = 0; i < n_accepted; i++)
		if (accepted[i] == n)
			return 1;
	return 0;
}

static unsigned batch_entries(uint64_t n)
{
	return n & 1 ? 1 + (unsigned)(n / 2 % 3) : 0;
}

/* Seal record n (see the top) at nonce n (epoch < EPOCH_CACHE) and keep
 * it. */
static struct sealed *seal_at(uint64_t n)
{
	uint64_t e = n / interval;
	struct data_sender s;
	struct sealed *m = &kept[n_kept++ % KEEP];
	char text[32];
	int tl = snprintf(text, sizeof(text), "p%llu", (unsigned long long)n);

	while (n_epochs <= e) {
		/* The first nonce of the next epoch rekeys the sender. */
		s = epochs[n_epochs - 1];
		s.next = n_epochs * interval;
		if (data_seal(&s, (const uint8_t *)"", 0, m->buf,
			      sizeof(m->buf), &m->len) != 0)
			fail("cannot derive an epoch", n);
		epochs[n_epochs++] = s;
	}
	s = epochs[e];
	s.next = n;
	if (batch_entries(n)) {
		size_t used = 0;

		for (unsigned j = 0; j < batch_entries(n); j++) {
			uint8_t *p = m->buf + DATA_HEADER_LEN + used;
			int el = snprintf((char *)p + DATA_BATCH_LEN_SIZE, 32,
					  "p%llu.%u", (unsigned long long)n, j);

			data_batch_len_put(p, (size_t)el);
			used += DATA_BATCH_LEN_SIZE + (size_t)el;
		}
		if (data_seal_in_place(&s, DATA_BATCH_TYPE, m->buf, used,
				       sizeof(m->buf), &m->len) != 0)
			fail("cannot seal a batch", n);
	} else if (data_seal(&s, (const uint8_t *)text, (size_t)tl, m->buf,
			     sizeof(m->buf), &m->len) != 0) {
		fail("cannot seal", n);
	}
	m->n = n;
	data_sender_wipe(&s);
	return m;
}

/* Deliver a message; `n`/`genuine` say what it really is. */
static void deliver(const uint8_t *buf, size_t len, uint64_t n, int genuine,
		    int must_accept)
{
	enum data_reject why = DATA_REJECT_COUNT;
	struct data_receiver before;
	size_t olen = 0;
	const uint8_t *pt = out;
	int rc;

	memcpy(&before, &rx, sizeof(rx));

	if (len <= sizeof(work)) {
		/* In place, in a writable copy (kept records are replayed). */
		memcpy(work, buf, len);
		pt = work + DATA_HEADER_LEN;
		rc = data_open(&rx, work, len, work + DATA_HEADER_LEN,
			       DATA_PLAINTEXT_MAX, &olen, &why);
	} else {
		rc = data_open(&rx, buf, len, out, sizeof(out), &olen, &why);
	}
	if (rc != 0) {
		if (why >= DATA_REJECT_COUNT)
			fail("refused without a reason", n);
		if (memcmp(&before, &rx, sizeof(rx)) != 0)
			fail("a refused message changed the receiver", n);
		if (must_accept)
			fail("a new sealed message was refused", n);
		return;
	}
	if (!genuine)
		fail("a forged or altered message was accepted", n);
	if (was_accepted(n))
		fail("a nonce was accepted twice", n);
	if (buf[0] != (batch_entries(n) ? DATA_BATCH_TYPE : DATA_TYPE))
		fail("record type differs", n);
	if (batch_entries(n)) {
		size_t off = 0, el;
		const uint8_t *p;

		if (data_batch_count(pt, olen) != (int)batch_entries(n))
			fail("batch entry count differs", n);
		for (unsigned j = 0; j < batch_entries(n); j++) {
			char text[32];
			int tl = snprintf(text, sizeof(text), "p%llu.%u",
					  (unsigned long long)n, j);

			if (data_batch_next(pt, olen, &off, &p, &el) != 1 ||
			    el != (size_t)tl || memcmp(p, text, el) != 0)
				fail("batch entry differs", n);
		}
		if (data_batch_next(pt, olen, &off, &p, &el) != 0)
			fail("batch has more entries", n);
	} else {
		char text[32];
		int tl = snprintf(text, sizeof(text), "p%llu",
				  (unsigned long long)n);

		if (olen != (size_t)tl || memcmp(pt, text, olen) != 0)
			fail("decrypted text differs", n);
	}
	if (n_accepted < MAX_OPS)
		accepted[n_accepted++] = n;
	if (!any || n > top)
		top = n;
	any = 1;
}

/* The batch framing on any bytes (as if they had authenticated): the
 * walk stays inside the body, its entries are non-empty and tile it
 * exactly, and data_batch_count agrees with it. */
static void batch_walk(const uint8_t *body, size_t len)
{
	size_t off = 0, el, covered = 0;
	const uint8_t *p;
	int n = 0, rc;

	while ((rc = data_batch_next(body, len, &off, &p, &el)) == 1) {
		if (el == 0 || p < body || p + el > body + len ||
		    (size_t)(p - body) != covered + DATA_BATCH_LEN_SIZE)
			fail("batch entry outside its body", 0);
		covered += DATA_BATCH_LEN_SIZE + el;
		n++;
	}
	if (rc == 0 && (covered != len || n == 0))
		fail("batch walk ended early", 0);
	if (data_batch_count(body, len) != (rc == 0 ? n : -1))
		fail("batch count disagrees with the walk", 0);
}

static void op_seal(uint64_t n)
{
	struct sealed *m;
	uint64_t rx_epoch = rx.epoch;
	int fresh;

	if (n / interval >= EPOCH_CACHE)
		return;
	m = seal_at(n);
	fresh = (!any || n > top) && !was_accepted(n) &&
		n / interval >= rx_epoch &&
		n / interval - rx_epoch <= DATA_EPOCH_SKIP_MAX;
	deliver(m->buf, m->len, n, 1, fresh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t intervals[] = {64, 65, 100, 4096};
	struct noise_cipherstate k = key0;
	size_t i = 1;
	unsigned ops = 0;

	if (size < 1)
		return 0;
	interval = intervals[data[0] % 4];
	if (data_receiver_init(&rx, &k, interval) != 0)
		fail("receiver init failed", 0);
	k = key0;
	if (data_sender_init(&epochs[0], &k, interval) != 0)
		fail("sender init failed", 0);
	n_epochs = 1;
	n_kept = n_accepted = 0;
	top = 0;
	any = 0;

	while (i < size && ops++ < MAX_OPS) {
		uint8_t op = data[i++] % 5;
		uint8_t a = i < size ? data[i] : 0;

		switch (op) {
		case 0: /* around the top */
			i++;
			op_seal(top + a >= 16 ? top + a - 16 : 0);
			break;
		case 1: { /* into a later epoch */
			uint8_t d = i + 1 < size ? data[i + 1] : 0;

			i += 2;
			op_seal((rx.epoch + a % 4) * interval + d);
			break;
		}
		case 2: { /* replay */
			struct sealed *m;

			i++;
			if (!n_kept)
				break;
			m = &kept[a % (n_kept < KEEP ? n_kept : KEEP)];
			deliver(m->buf, m->len, m->n, 1, 0);
			break;
		}
		case 3: { /* alter one byte */
			struct sealed m;
			uint8_t at = i + 1 < size ? data[i + 1] : 0;
			uint8_t x = i + 2 < size ? data[i + 2] : 1;

			i += 3;
			if (!n_kept || !x)
				break;
			m = kept[a % (n_kept < KEEP ? n_kept : KEEP)];
			m.buf[at % m.len] ^= x;
			deliver(m.buf, m.len, m.n, 0, 0);
			break;
		}
		default: { /* forgery from the input's own bytes */
			size_t l = a;

			i++;
			if (l > size - i)
				l = size - i;
			deliver(data + i, l, 0, 0, 0);
			batch_walk(data + i, l);
			i += l;
			break;
		}
		}
	}
	data_receiver_wipe(&rx);
	for (uint64_t e = 0; e < n_epochs; e++)
		data_sender_wipe(&epochs[e]);
	return 0;
}
