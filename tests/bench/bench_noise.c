/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_noise: crypto-only rates for scripts/bench, in one process, no I/O.
 *
 *   bench_noise handshake SUITE SECONDS   full XX handshakes (both sides)
 *   bench_noise transport SUITE SIZE SECONDS
 *                                         encrypt + decrypt of SIZE bytes
 *
 * Prints one "BENCH ..." line.  These are the ceilings the secure channel
 * plugin is compared with.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "noise.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int handshake_once(const struct noise_suite *suite,
			  const uint8_t *si, const uint8_t *sr)
{
	struct noise_keys ki = {.s = si}, kr = {.s = sr};
	struct noise_handshake *a = noise_handshake_new(suite, 1, &ki);
	struct noise_handshake *b = noise_handshake_new(suite, 0, &kr);
	uint8_t msg[512], pl[512];
	size_t len, plen;
	int rc = -1;
	if (!a || !b)
		goto out;
	for (int i = 0; i < 3; i++) {
		struct noise_handshake *w = (i & 1) ? b : a, *r = (i & 1) ? a : b;
		if (noise_handshake_write(w, NULL, 0, msg, sizeof(msg), &len) ||
		    noise_handshake_read(r, msg, len, pl, sizeof(pl), &plen))
			goto out;
	}
	struct noise_cipherstate s1, r1, s2, r2;
	if (noise_handshake_split(a, &s1, &r1) || noise_handshake_split(b, &s2, &r2))
		goto out;
	noise_cs_wipe(&s1);
	noise_cs_wipe(&r1);
	noise_cs_wipe(&s2);
	noise_cs_wipe(&r2);
	rc = 0;
out:
	noise_handshake_free(a);
	noise_handshake_free(b);
	return rc;
}

int main(int argc, char **argv)
{
	struct noise_suite suite;
	if (argc < 4 || noise_init() != 0) {
		fprintf(stderr, "usage: bench_noise handshake SUITE SECONDS | transport SUITE SIZE SECONDS\n");
		return 2;
	}
	int rc = noise_suite_parse(argv[2], &suite);
	if (rc != 0) {
		printf("BENCH error=suite (%s unsupported: %d)\n", argv[2], rc);
		return 0;
	}
	if (strcmp(argv[1], "handshake") == 0) {
		double secs = atof(argv[3]);
		uint8_t si[32], sr[32];
		randombytes_buf(si, sizeof(si));
		randombytes_buf(sr, sizeof(sr));
		uint64_t n = 0;
		double t0 = now_s(), t;
		do {
			if (handshake_once(&suite, si, sr) != 0) {
				printf("BENCH error=handshake\n");
				return 1;
			}
			n++;
			t = now_s();
		} while (t - t0 < secs);
		printf("BENCH mode=handshake suite=%s n=%" PRIu64 " per_s=%.1f\n",
		       suite.name, n, (double)n / (t - t0));
		return 0;
	}
	if (argc < 5)
		return 2;
	size_t size = strtoull(argv[3], NULL, 10);
	double secs = atof(argv[4]);
	struct noise_cipherstate cs = {.cipher = suite.cipher, .has_key = 1};
	randombytes_buf(cs.k, sizeof(cs.k));
	uint8_t *pt = malloc(size + NOISE_TAG_LEN), *ct = malloc(size + NOISE_TAG_LEN);
	uint8_t ad[16] = {0};
	if (!pt || !ct)
		return 1;
	memset(pt, 'x', size);
	uint64_t n = 0;
	double t0 = now_s(), t;
	do {
		for (int i = 0; i < 64; i++, n++)
			if (noise_encrypt_with_nonce(&cs, n, ad, sizeof(ad), pt, size, ct) ||
			    noise_decrypt_with_nonce(&cs, n, ad, sizeof(ad), ct, size + NOISE_TAG_LEN, pt)) {
				printf("BENCH error=transport\n");
				return 1;
			}
		t = now_s();
	} while (t - t0 < secs);
	printf("BENCH mode=transport suite=%s size=%zu n=%" PRIu64 " msg_s=%.1f mb_s=%.3f\n",
	       suite.name, size, n, (double)n / (t - t0),
	       (double)n * (double)size / (t - t0) / 1e6);
	noise_cs_wipe(&cs);
	free(pt);
	free(ct);
	return 0;
}
