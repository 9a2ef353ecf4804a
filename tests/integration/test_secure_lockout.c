/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Completed handshakes filling a `trust: everyone` listener's channels,
 * as a stranger who knows docs/protocol.md would: Noise XX initiators
 * written as raw frames on TCP connections (noise.c for the
 * cryptography), which complete the handshake and then say nothing.
 *
 * - One connection opens max_channels (20) channels: an honest initiator
 *   still opens its channel and gets its reply; the least recently used
 *   of the stranger's channels gives way (CLOSE reason 4, one
 *   rate-limited line).  Before: every honest message 1 refused (BUSY)
 *   until idle_timeout (10 min).
 * - The same from five connections (four channels each).
 * - max_channels_per_source: 5: the sixth handshake from one connection
 *   is refused at message 1 (BUSY), before any DH; another connection is
 *   served.  Before: no such limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <sodium.h>

#include "integ_frames.h"
#include "integ_secure.h"
#include "noise.h"

#define SUITE "Noise_XX_25519_ChaChaPoly_BLAKE2b"

/* Open one channel over fd as the initiator whose decryptor is `name`:
 * message 1, message 2 (the responder's decryptor is its return route),
 * message 3.  'O' when message 3 went out, '0' + reason for a CLOSE
 * notice instead of message 2, '?' otherwise. */
static char channel_open_raw(int fd, const char *name)
{
	static uint8_t body[4096];
	struct noise_suite suite;
	struct ockam_message m;
	struct ockam_addr hops[OCKAM_DECODE_HOPS], lst;
	uint8_t s[32], msg[256], pt[64], features = 0;
	size_t len, plen;
	char got = '?';

	CU_ASSERT_FATAL(noise_suite_parse(SUITE, &suite) == 0);
	randombytes_buf(s, sizeof(s));
	struct noise_keys keys = { .s = s };
	struct noise_handshake *hs = noise_handshake_new(&suite, 1, &keys);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
	ockam_addr_local(&lst, "bob_listener");
	struct ockam_route to = ockam_route_make(&lst, 1);
	msg[0] = 0x01;
	if (noise_handshake_write(hs, NULL, 0, msg + 1, sizeof(msg) - 1,
				  &len) != 0 ||
	    integ_frame_send(fd, &to, name, msg, len + 1) != 0 ||
	    integ_frame_recv(fd, body, sizeof(body), &m, hops) != 0)
		goto out;
	if (m.payload_len == 2 && m.payload[0] == 0x05) {
		got = (char)('0' + m.payload[1]);
		goto out;
	}
	if (m.payload_len < 1 || m.payload[0] != 0x02 || m.ret.count == 0 ||
	    noise_handshake_read(hs, m.payload + 1, m.payload_len - 1, pt,
				 sizeof(pt), &plen) != 0)
		goto out;
	msg[0] = 0x03;
	if (noise_handshake_write(hs, &features, 1, msg + 1, sizeof(msg) - 1,
				  &len) != 0 ||
	    integ_frame_send(fd, &m.ret, name, msg, len + 1) != 0)
		goto out;
	got = 'O';
out:
	noise_handshake_free(hs);
	sodium_memzero(s, sizeof(s));
	return got;
}

/* `conns` connections open `per_conn` channels each against a listener
 * with max_channels: 20; then an honest initiator gets its reply. */
static void fill_case(const char *name, int conns, int per_conn)
{
	struct hx_proc *bob, *honest;
	int port, fds[8];
	char dec[32];

	integ_begin(name);
	bob = integ_start_listener("bob", "trust: everyone, max_channels: 20",
				   &port);
	for (int c = 0; c < conns; c++) {
		fds[c] = hx_tcp_connect(port);
		CU_ASSERT_FATAL(fds[c] >= 0);
		for (int i = 0; i < per_conn; i++) {
			snprintf(dec, sizeof(dec), "att%d_%d", c, i);
			CU_ASSERT_EQUAL(channel_open_raw(fds[c], dec), 'O');
		}
	}
	/* Message 3s handled: the listener holds 20 open channels. */
	integ_wait_ms(300);
	CU_ASSERT_EQUAL(integ_lines(hx_read(bob, HX_STDERR),
				    "secure channel open with peer"),
			20);
	/* A stranger's 21st is not let in at the others' expense: its
	 * source holds the most. */
	CU_ASSERT_EQUAL(channel_open_raw(fds[0], "att_more"), '3');

	int status = integ_run_hello("honest", port, "trust: everyone", "10s",
				     NULL, &honest);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_STRING_EQUAL(hx_read(honest, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	for (int c = 0; c < conns; c++)
		close(fds[c]);
	CU_ASSERT_EQUAL(hx_stop(bob, HX_EXIT_MS), 0);
	const char *log = hx_read(bob, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "too many secure channels (max_channels 20): the least recently used of the "),
			1);
	CU_ASSERT(integ_count_problems(log, NULL) <= 4);
}

static void test_channels_one_source(void)
{
	fill_case("secure_channels_one_source", 1, 20);
}

static void test_channels_five_sources(void)
{
	fill_case("secure_channels_five_sources", 5, 4);
}

static void test_channels_per_source(void)
{
	struct hx_proc *bob;
	int port;
	char dec[32];

	integ_begin("secure_channels_per_source");
	bob = integ_start_listener("bob",
				   "trust: everyone, max_channels_per_source: 5",
				   &port);
	int fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	for (int i = 0; i < 5; i++) {
		snprintf(dec, sizeof(dec), "att%d", i);
		CU_ASSERT_EQUAL(channel_open_raw(fd, dec), 'O');
	}
	integ_wait_ms(300);
	/* The sixth: BUSY at message 1. */
	CU_ASSERT_EQUAL(channel_open_raw(fd, "att5"), '3');
	CU_ASSERT_EQUAL(channel_open_raw(fd, "att6"), '3');
	/* Another source is served. */
	int fd2 = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd2 >= 0);
	CU_ASSERT_EQUAL(channel_open_raw(fd2, "other"), 'O');
	close(fd);
	close(fd2);
	CU_ASSERT_EQUAL(hx_stop(bob, HX_EXIT_MS), 0);
	const char *log = hx_read(bob, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "secure channel open with peer"), 6);
	CU_ASSERT_EQUAL(integ_lines(log, "5 secure channels open from ",
				    "(max_channels_per_source): new one refused"),
			1);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "secure_channels_one_source", test_channels_one_source },
		{ "secure_channels_five_sources", test_channels_five_sources },
		{ "secure_channels_per_source", test_channels_per_source },
		{ NULL, NULL },
	};

	if (noise_init() != 0)
		return 1;
	return integ_run("integration", tests);
}
