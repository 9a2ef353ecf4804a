/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Noise handshake reader (plugins/secure_channel/noise_handshake.c)
 * on hostile messages.  Input layout:
 *
 *   byte 0   suite: bit 0 cipher (ChaChaPoly/AESGCM), bits 1-2 hash
 *            (SHA256/SHA512/BLAKE2b), bits 3-4 pattern (NN/XX/IK);
 *            also fed to noise_suite_parse as a name check
 *   byte 1   mode (mod 4):
 *            0  a fresh responder reads the rest as message 1
 *            1  an initiator writes message 1, then reads the rest as
 *               message 2
 *            2  a responder reads a valid message 1, writes message 2,
 *               then reads the rest as message 3
 *            3  a whole handshake between both sides, payloads cut from
 *               the rest, with one byte of one message xor-ed:
 *               rest = msg index, offset (2 bytes), xor, payload bytes
 *
 * Properties: no crash or overread; a failed read leaves the handshake
 * failed (later reads fail too); in mode 3, an untouched handshake
 * completes with matching transport keys, hashes and remote statics and
 * delivers the payloads, and a touched one never completes on both sides
 * with matching keys.  Keys are fixed (static and ephemeral), so every run
 * of an input is the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static uint8_t s_i[32], s_r[32], e_i[32], e_r[32], rs_pub[32], is_pub[32];
static uint8_t msg[NOISE_MSG_MAX], payload[NOISE_MSG_MAX];
static int have_aes;

static __attribute__((noreturn)) void fail(const char *what)
{
	fprintf(stderr, "fuzz_noise_read: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct noise_suite probe;

	if (noise_init() != 0)
		fail("sodium_init failed");
	for (int i = 0; i < 32; i++) {
		s_i[i] = (uint8_t)(0x11 + i);
		s_r[i] = (uint8_t)(0x51 + i);
		e_i[i] = (uint8_t)(0x91 + i);
		e_r[i] = (uint8_t)(0xd1 + i);
	}
	crypto_scalarmult_base(rs_pub, s_r);
	crypto_scalarmult_base(is_pub, s_i);
	have_aes = noise_suite_parse("Noise_XX_25519_AESGCM_SHA256", &probe) == 0;
	return 0;
}

static int suite_pick(uint8_t sel, struct noise_suite *s)
{
	static const char *const pats[] = {"NN", "XX", "IK", "XX"};
	static const char *const hashes[] = {"SHA256", "SHA512", "BLAKE2b",
					     "BLAKE2b"};
	char name[64];
	int aes = (sel & 1) && have_aes;

	snprintf(name, sizeof(name), "Noise_%s_25519_%s_%s",
		 pats[(sel >> 3) & 3], aes ? "AESGCM" : "ChaChaPoly",
		 hashes[(sel >> 1) & 3]);
	return noise_suite_parse(name, s);
}

static struct noise_handshake *side_new(const struct noise_suite *s,
					int initiator)
{
	struct noise_keys k = {
		.s = initiator ? s_i : s_r,
		.e = initiator ? e_i : e_r,
		.rs = initiator && s->pattern == NOISE_PATTERN_IK ? rs_pub
								    : NULL,
		.prologue = (const uint8_t *)"fuzz",
		.prologue_len = 4,
	};
	struct noise_handshake *hs = noise_handshake_new(s, initiator, &k);

	if (!hs)
		fail("noise_handshake_new failed");
	return hs;
}

/* Read `in` on `hs`; on failure check the state stays failed. */
static int read_checked(struct noise_handshake *hs, const uint8_t *in,
			size_t len)
{
	size_t plen = 0;

	if (noise_handshake_read(hs, in, len, payload, sizeof(payload),
				 &plen) == 0) {
		if (plen > len)
			fail("payload longer than its message");
		return 0;
	}
	if (noise_handshake_read(hs, in, len, payload, sizeof(payload),
				 &plen) == 0)
		fail("a failed handshake read a message");
	if (noise_handshake_is_done(hs))
		fail("a failed handshake says it is done");
	return -1;
}

static int write_msg(struct noise_handshake *hs, const uint8_t *p,
		     size_t plen, size_t *len)
{
	return noise_handshake_write(hs, p, plen, msg, sizeof(msg), len);
}

/* Modes 0-2: the rest of the input as the next message. */
static void read_next(const struct noise_suite *s, int mode,
		      const uint8_t *in, size_t len)
{
	struct noise_handshake *hs = side_new(s, mode == 1);
	size_t mlen;

	if (mode >= 1) {
		/* Message 1, written by a real initiator when we are the
		 * responder (mode 2). */
		struct noise_handshake *peer = mode == 2 ? side_new(s, 1) : hs;

		if (write_msg(peer, NULL, 0, &mlen) != 0)
			fail("cannot write message 1");
		if (mode == 2) {
			if (read_checked(hs, msg, mlen) != 0)
				fail("a valid message 1 was refused");
			noise_handshake_free(peer);
			if (!noise_handshake_is_done(hs) &&
			    write_msg(hs, NULL, 0, &mlen) != 0)
				fail("cannot write message 2");
		}
	}
	if (noise_handshake_is_done(hs)) {
		size_t plen;

		if (noise_handshake_read(hs, in, len, payload,
					 sizeof(payload), &plen) == 0)
			fail("a finished handshake read another message");
	} else {
		read_checked(hs, in, len);
	}
	noise_handshake_free(hs);
}

/* Mode 3: a whole handshake with one byte changed on the way. */
static void full_run(const struct noise_suite *s, const uint8_t *in,
		     size_t len)
{
	struct noise_handshake *side[2] = {side_new(s, 1), side_new(s, 0)};
	struct noise_cipherstate tx[2], rx[2];
	unsigned target, off, index = 0;
	uint8_t x;
	int touched = 0, broken = 0;

	if (len < 4) {
		noise_handshake_free(side[0]);
		noise_handshake_free(side[1]);
		return;
	}
	target = in[0] % 4;
	off = (unsigned)in[1] << 8 | in[2];
	x = in[3];
	in += 4;
	len -= 4;
	while (!noise_handshake_is_done(side[0]) ||
	       !noise_handshake_is_done(side[1])) {
		int w = noise_handshake_is_my_turn(side[0]) ? 0 : 1;
		/* Each message carries up to 255 payload bytes: the first
		 * byte of the rest says how many. */
		size_t plen = len ? in[0] : 0, mlen, got;

		if (len) {
			in++;
			len--;
		}
		if (plen > len)
			plen = len;
		if (write_msg(side[w], in, plen, &mlen) != 0)
			fail("cannot write a handshake message");
		if (index == target && off < mlen && x) {
			msg[off] ^= x;
			touched = 1;
		}
		if (noise_handshake_read(side[!w], msg, mlen, payload,
					 sizeof(payload), &got) != 0) {
			if (!touched)
				fail("an untouched handshake message was refused");
			broken = 1;
			break;
		}
		if (!touched && (got != plen || memcmp(payload, in, plen)))
			fail("the payload changed on the way");
		in += plen;
		len -= plen;
		index++;
	}
	if (!broken) {
		size_t h0, h1;
		const uint8_t *a = noise_handshake_hash(side[0], &h0);
		const uint8_t *b = noise_handshake_hash(side[1], &h1);
		int same;

		if (noise_handshake_split(side[0], &tx[0], &rx[0]) != 0 ||
		    noise_handshake_split(side[1], &tx[1], &rx[1]) != 0)
			fail("split failed after a complete handshake");
		same = h0 == h1 && memcmp(a, b, h0) == 0 &&
		       memcmp(tx[0].k, rx[1].k, NOISE_KEY_LEN) == 0 &&
		       memcmp(rx[0].k, tx[1].k, NOISE_KEY_LEN) == 0;
		if (!touched && !same)
			fail("an untouched handshake gave different keys");
		/* Only the cleartext payload of a first message may change
		 * unnoticed until a later message; a complete handshake
		 * with a changed byte must not agree on keys. */
		if (touched && same)
			fail("a changed handshake message went unnoticed");
		if (!touched && s->pattern != NOISE_PATTERN_NN &&
		    (memcmp(noise_handshake_remote_static(side[1]), is_pub,
			    32) != 0 ||
		     memcmp(noise_handshake_remote_static(side[0]), rs_pub,
			    32) != 0))
			fail("wrong remote static key");
		noise_cs_wipe(&tx[0]);
		noise_cs_wipe(&tx[1]);
		noise_cs_wipe(&rx[0]);
		noise_cs_wipe(&rx[1]);
	}
	noise_handshake_free(side[0]);
	noise_handshake_free(side[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct noise_suite s;

	if (size < 2)
		return 0;
	if (suite_pick(data[0], &s) != 0)
		fail("a supported suite did not parse");
	if (data[1] % 4 == 3)
		full_run(&s, data + 2, size - 2);
	else
		read_next(&s, data[1] % 4, data + 2, size - 2);
	return 0;
}
