/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed corpora of the fuzz targets that need binary inputs
 * (codec, frames, noise_read, channel_data, dns) into <dir>/<target>/;
 * the YAML seeds of fuzz_config are copies of configs/ and tests/configs/.  Run by
 * hand (`fuzz_seeds tests/fuzz/corpus`); the files are committed.  The
 * noise seeds use the same fixed keys as fuzz_noise_read.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec.h"
#include "noise.h"

static const char *root;
static struct ockam_message m;

static void put(const char *target, const char *name, const void *p,
		size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Encode a message: routes as "name" or "tcp:host:port", NULL-ended. */
static size_t msg_build(uint8_t *buf, size_t cap, const char *const *on,
			const char *const *ret, const char *payload)
{
	static struct ockam_addr hops[2][OCKAM_ROUTE_MAX];

	ockam_message_init(&m);
	for (int r = 0; r < 2; r++) {
		const char *const *v = r ? ret : on;
		size_t i;

		for (i = 0; v && v[i] && i < OCKAM_ROUTE_MAX; i++) {
			if (!strncmp(v[i], "tcp:", 4))
				ockam_addr_set(&hops[r][i], OCKAM_ADDR_TCP,
					       v[i] + 4, strlen(v[i] + 4));
			else
				ockam_addr_local(&hops[r][i], v[i]);
		}
		if (r)
			m.ret = ockam_route_make(hops[r], i);
		else
			m.onward = ockam_route_make(hops[r], i);
	}
	m.payload = (const uint8_t *)payload;
	m.payload_len = strlen(payload);
	return codec_encode(&m, buf, cap);
}

static size_t frame_build(uint8_t *buf, const char *const *on,
			  const char *const *ret, const char *payload)
{
	size_t n = msg_build(buf + 4, 4096, on, ret, payload);

	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	return n + 4;
}

static void seeds_codec(void)
{
	static const char *const echo[] = {"echoer", NULL};
	static const char *const two[] = {"tcp:127.0.0.1:4000", "hop",
					  "tcp:localhost:4001", "echoer", NULL};
	static const char *const back[] = {"app", NULL};
	uint8_t b[8192];
	size_t n;

	n = msg_build(b, sizeof(b), NULL, NULL, "");
	put("fuzz_codec", "empty", b, n);
	n = msg_build(b, sizeof(b), echo, back, "Hello Ockam!");
	put("fuzz_codec", "echo", b, n);
	n = msg_build(b, sizeof(b), two, back, "two hops");
	put("fuzz_codec", "two_hops", b, n);
	{
		/* Limits: 32 hops, a 255-byte address, a 200-byte payload
		 * (two-byte varint). */
		static char longname[256], payload[201];
		static const char *full[33];

		memset(longname, 'a', 255);
		memset(payload, 'p', 200);
		for (int i = 0; i < 32; i++)
			full[i] = i ? "h" : longname;
		n = msg_build(b, sizeof(b), full, echo, payload);
		put("fuzz_codec", "limits", b, n);
	}
}

static void seeds_frames(void)
{
	static const char *const echo[] = {"echoer", NULL};
	static const char *const hop[] = {"hop", "echoer", NULL};
	static const char *const out[] = {"tcp:127.0.0.1:9", "echoer", NULL};
	static const char *const back[] = {"client", NULL};
	uint8_t b[8192];
	size_t n;

	b[0] = 0;
	n = 1 + frame_build(b + 1, echo, back, "hello");
	put("fuzz_frames", "echo", b, n);
	n += frame_build(b + n, hop, back, "again");
	put("fuzz_frames", "echo_twice", b, n);
	b[0] = 1; /* 7-byte writes */
	put("fuzz_frames", "echo_twice_chunked", b, n);
	b[0] = 0;
	n = 1 + frame_build(b + 1, out, back, "out");
	put("fuzz_frames", "tcp_onward", b, n);
	n = 1 + frame_build(b + 1, echo, back, "partial");
	put("fuzz_frames", "partial", b, n - 3);
	memcpy(b, "\0\x7f\xff\xff\xff", 5); /* over max_message_size */
	put("fuzz_frames", "oversize", b, 5);
	memcpy(b, "\0\0\0\0\x03\x02\x01\x00", 8); /* bad version */
	put("fuzz_frames", "malformed", b, 8);
}

static uint8_t s_i[32], s_r[32], e_i[32], e_r[32], rs_pub[32];

static struct noise_handshake *side(const struct noise_suite *s, int init)
{
	struct noise_keys k = {
		.s = init ? s_i : s_r, .e = init ? e_i : e_r,
		.rs = init && s->pattern == NOISE_PATTERN_IK ? rs_pub : NULL,
		.prologue = (const uint8_t *)"fuzz", .prologue_len = 4,
	};
	return noise_handshake_new(s, init, &k);
}

static void seeds_noise(void)
{
	/* suite selectors: NN, XX, IK with ChaChaPoly/SHA256 (0), XX with
	 * BLAKE2b (4) and SHA512 (2). */
	static const uint8_t sels[] = {0x00, 0x08, 0x10, 0x0c, 0x0a};
	static uint8_t b[NOISE_MSG_MAX + 2], p[NOISE_MSG_MAX];

	for (int i = 0; i < 32; i++) {
		s_i[i] = (uint8_t)(0x11 + i);
		s_r[i] = (uint8_t)(0x51 + i);
		e_i[i] = (uint8_t)(0x91 + i);
		e_r[i] = (uint8_t)(0xd1 + i);
	}
	crypto_scalarmult_base(rs_pub, s_r);
	for (size_t k = 0; k < sizeof(sels); k++) {
		static const char *const pats[] = {"NN", "XX", "IK", "XX"};
		static const char *const hs_names[] = {"SHA256", "SHA512",
						       "BLAKE2b", "BLAKE2b"};
		uint8_t sel = sels[k];
		char name[64], file[64];
		struct noise_suite s;
		struct noise_handshake *a, *r;
		size_t len, plen;

		snprintf(name, sizeof(name), "Noise_%s_25519_ChaChaPoly_%s",
			 pats[(sel >> 3) & 3], hs_names[(sel >> 1) & 3]);
		if (noise_suite_parse(name, &s) != 0)
			exit(1);
		a = side(&s, 1);
		r = side(&s, 0);
		/* mode 0: a valid message 1 */
		noise_handshake_write(a, (const uint8_t *)"hi", 2, b + 2,
				      NOISE_MSG_MAX, &len);
		b[0] = sel;
		b[1] = 0;
		snprintf(file, sizeof(file), "m1_%02x", sel);
		put("fuzz_noise_read", file, b, len + 2);
		noise_handshake_read(r, b + 2, len, p, sizeof(p), &plen);
		/* mode 1: the valid message 2 to the harness's message 1
		 * (written with an empty payload: redo it that way). */
		noise_handshake_free(a);
		noise_handshake_free(r);
		a = side(&s, 1);
		r = side(&s, 0);
		noise_handshake_write(a, NULL, 0, b + 2, NOISE_MSG_MAX, &len);
		noise_handshake_read(r, b + 2, len, p, sizeof(p), &plen);
		noise_handshake_write(r, NULL, 0, b + 2, NOISE_MSG_MAX, &len);
		b[1] = 1;
		snprintf(file, sizeof(file), "m2_%02x", sel);
		put("fuzz_noise_read", file, b, len + 2);
		/* mode 2: the valid message 3 (XX only) */
		if (s.pattern == NOISE_PATTERN_XX) {
			noise_handshake_read(a, b + 2, len, p, sizeof(p), &plen);
			noise_handshake_write(a, NULL, 0, b + 2, NOISE_MSG_MAX,
					      &len);
			b[1] = 2;
			snprintf(file, sizeof(file), "m3_%02x", sel);
			put("fuzz_noise_read", file, b, len + 2);
		}
		noise_handshake_free(a);
		noise_handshake_free(r);
		/* mode 3: untouched, and one byte changed in message 2 */
		memcpy(b, (uint8_t[]){sel, 3, 0, 0, 0, 0, 3, 'a', 'b', 'c',
				      2, 'd', 'e', 1, 'f'}, 15);
		snprintf(file, sizeof(file), "full_%02x", sel);
		put("fuzz_noise_read", file, b, 15);
		b[2] = 1;
		b[4] = 40;
		b[5] = 0x80;
		snprintf(file, sizeof(file), "full_touched_%02x", sel);
		put("fuzz_noise_read", file, b, 15);
	}
}

static void seeds_channel(void)
{
	/* in order; with loss; replays; an epoch jump; tampering; forgery */
	static const uint8_t s1[] = {0, 0, 17, 0, 17, 0, 17, 2, 0, 2, 1};
	static const uint8_t s2[] = {0, 0, 16, 0, 30, 0, 2, 0, 17, 2, 3};
	static const uint8_t s3[] = {1, 1, 1, 5, 1, 2, 0, 0, 10, 2, 0};
	static const uint8_t s4[] = {0, 0, 17, 3, 0, 5, 1, 3, 0, 12, 0x80};
	static const uint8_t s5[] = {2, 4, 30, 4, 0, 0, 0, 0, 0, 0, 0, 1,
				     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
				     1, 1, 1, 1, 1, 1, 1, 1, 1};
	static const uint8_t s6[] = {3, 1, 3, 0, 1, 0, 255, 0, 17, 2, 0};
	/* batch records (odd nonces): in order, one altered, one replayed,
	 * one forged with the batch type byte */
	static const uint8_t s7[] = {0, 0, 17, 0, 17, 0, 17, 3, 1, 30, 4,
				     2, 1, 0, 17, 0, 18};
	static const uint8_t s8[] = {0, 4, 30, 6, 0, 0, 0, 0, 0, 0, 0, 1,
				     0, 3, 'a', 'b', 'c', 1, 1, 1, 1, 1, 1,
				     1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

	put("fuzz_channel_data", "in_order", s1, sizeof(s1));
	put("fuzz_channel_data", "loss_replay", s2, sizeof(s2));
	put("fuzz_channel_data", "epochs", s3, sizeof(s3));
	put("fuzz_channel_data", "tamper", s4, sizeof(s4));
	put("fuzz_channel_data", "forgery", s5, sizeof(s5));
	put("fuzz_channel_data", "interval_4096", s6, sizeof(s6));
	put("fuzz_channel_data", "batches", s7, sizeof(s7));
	put("fuzz_channel_data", "forgery_batch", s8, sizeof(s8));
}

int main(int argc, char **argv)
{
	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: fuzz_seeds <corpus dir>\n");
		return 2;
	}
	root = argv[1];
	seeds_codec();
	seeds_frames();
	seeds_noise();
	seeds_channel();
	return 0;
}
