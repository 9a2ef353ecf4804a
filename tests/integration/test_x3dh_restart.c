/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An X3DH listener with a vault keeps its prekeys across a crash, seen
 * from a raw initiator on a TCP socket (frames and messages as
 * docs/protocol.md writes them, X3DH messages built with x3dh.c):
 *  - two bundles are fetched (two one-time prekeys); an INIT with the
 *    first is answered with DONE; the node is killed (SIGKILL) right after
 *    and started again on the same vault;
 *  - the same INIT replayed is refused as a used one-time prekey (BUSY
 *    notice, one line naming the prekey), not taken as a new channel;
 *  - an INIT built before the crash from the second bundle (cached by the
 *    initiator) completes: the signed prekey and that one-time prekey
 *    survived;
 *  - the prekeys file is 0600;
 *  - a used one-time prekey is written as used before the answer: with
 *    the write blocked, the INIT gets no DONE (CLOSE handshake failed) and
 *    its replay is refused; after the next write and another SIGKILL, both
 *    INITs are refused.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <sodium.h>

#include "codec.h"
#include "integ_secure.h"
#include "x3dh.h"

#define OPTIONS "trust: everyone, key_exchange: x3dh, vault: bob.key"

/* One frame: [to], return [client], `payload`. */
static int frame_send(int fd, const char *to, const uint8_t *payload,
		      size_t len)
{
	struct ockam_message m;
	struct ockam_addr dst, back;
	uint8_t f[1024];
	size_t n;

	ockam_message_init(&m);
	ockam_addr_local(&dst, to);
	m.onward = ockam_route_make(&dst, 1);
	ockam_addr_local(&back, "client");
	m.ret = ockam_route_make(&back, 1);
	m.payload = payload;
	m.payload_len = len;
	n = codec_encode(&m, f + 4, sizeof(f) - 4);
	if (!n)
		return -1;
	f[0] = (uint8_t)(n >> 24);
	f[1] = (uint8_t)(n >> 16);
	f[2] = (uint8_t)(n >> 8);
	f[3] = (uint8_t)n;
	return send(fd, f, n + 4, MSG_NOSIGNAL) == (ssize_t)(n + 4) ? 0 : -1;
}

static int read_full(int fd, uint8_t *b, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t got = 0;

	while (got < len) {
		if (poll(&p, 1, ms) != 1)
			return -1;
		ssize_t r = recv(fd, b + got, len - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* The next frame's payload into out (at most cap bytes): its length, or
 * -1. */
static long frame_recv(int fd, uint8_t *out, size_t cap)
{
	struct ockam_message m;
	struct ockam_addr hops[OCKAM_DECODE_HOPS];
	static uint8_t body[65536];
	uint8_t h[4];
	uint32_t n;

	if (read_full(fd, h, 4, 5000) < 0)
		return -1;
	n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 |
	    h[3];
	if (n > sizeof(body) || read_full(fd, body, n, 5000) < 0 ||
	    codec_decode(body, n, &m, hops, OCKAM_DECODE_HOPS) != 0 || m.payload_len > cap)
		return -1;
	memcpy(out, m.payload, m.payload_len);
	return (long)m.payload_len;
}

/* A bundle from the listener, verified. */
static int bundle_get(int fd, struct x3dh_bundle *b)
{
	const uint8_t req = X3DH_MSG_BUNDLE_REQUEST;
	uint8_t p[512];
	long n;

	if (frame_send(fd, "bob_listener", &req, 1) < 0)
		return -1;
	n = frame_recv(fd, p, sizeof(p));
	if (n <= 0 || x3dh_bundle_decode(p, (size_t)n, b) != X3DH_OK ||
	    x3dh_bundle_verify(b) != X3DH_OK)
		return -1;
	return 0;
}

/* Send `init` and say what came back: 'D' a DONE that opens with `keys`,
 * '0' + reason for a CLOSE notice, '?' anything else or nothing. */
static char init_answer(int fd, const uint8_t *init,
			const struct x3dh_secret *keys)
{
	uint8_t p[512], features;
	long n;

	if (frame_send(fd, "bob_listener", init, X3DH_INIT_LEN) < 0)
		return '?';
	n = frame_recv(fd, p, sizeof(p));
	if (n == X3DH_DONE_LEN && p[0] == X3DH_MSG_DONE)
		return x3dh_done_open(keys, p, (size_t)n, &features) ==
				       X3DH_OK
			       ? 'D'
			       : '?';
	if (n == 2 && p[0] == 0x05)
		return (char)('0' + p[1]);
	return '?';
}

/* Fetch two bundles, each over a connection of its own to `port` (a
 * bundle carries a one-time prekey only for a connection's sole
 * handshake), then write the initiator ik's X3DH first message to each
 * with a fresh ephemeral key: init[i] to b[i], whose DONE opens with
 * k[i].  The INITs are sent over another connection: they need no
 * bundle from it. */
static void initiate_two(int port, const uint8_t ik_s[32],
			 const uint8_t ik_p[32], struct x3dh_bundle b[2],
			 uint8_t init[2][X3DH_INIT_LEN], struct x3dh_secret k[2])
{
	uint8_t ek[32];

	for (int i = 0; i < 2; i++) {
		int fd = hx_tcp_connect(port);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_FATAL(bundle_get(fd, &b[i]) == 0);
		close(fd);
	}
	for (int i = 0; i < 2; i++) {
		randombytes_buf(ek, sizeof(ek));
		CU_ASSERT_FATAL(x3dh_initiate(ik_s, ik_p, ek, &b[i], 0,
					      init[i], &k[i]) == X3DH_OK);
	}
	sodium_memzero(ek, sizeof(ek));
}

static void test_x3dh_prekeys_survive_a_crash(void)
{
	struct x3dh_bundle b[2];
	struct x3dh_secret k[2];
	uint8_t ik_s[32], ik_p[32], init[2][X3DH_INIT_LEN];
	char needle[160], path[512], tmp[520];
	struct stat st;
	int port, fd;

	integ_begin("x3dh_restart");
	const char *cfg = integ_listener_config("bob", 0, OPTIONS);
	struct hx_proc *bob = integ_start_node("bob", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bob);

	randombytes_buf(ik_s, sizeof(ik_s));
	crypto_scalarmult_base(ik_p, ik_s);
	fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	initiate_two(port, ik_s, ik_p, b, init, k);
	CU_ASSERT(b[0].opk_id != 0 && b[1].opk_id != 0 &&
		  b[0].opk_id != b[1].opk_id);
	CU_ASSERT_EQUAL(init_answer(fd, init[0], &k[0]), 'D');
	close(fd);

	/* Killed right after the answer: no clean shutdown. */
	CU_ASSERT_EQUAL_FATAL(kill(hx_pid(bob), SIGKILL), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(bob, HX_EXIT_MS), 128 + SIGKILL);
	snprintf(path, sizeof(path), "%s/bob.key.prekeys", hx_dir(H));
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

	bob = integ_start_node("bob", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bob);
	CU_ASSERT_EQUAL(hx_wait_line(bob, HX_STDERR,
				     "X3DH prekeys: loaded from bob.key.prekeys",
				     1, HX_READY_MS, NULL, 0),
			0);
	fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	/* The replay: refused as used (BUSY), not a second channel. */
	CU_ASSERT_EQUAL(init_answer(fd, init[0], &k[0]), '3');
	snprintf(needle, sizeof(needle),
		 ": one-time prekey %" PRIu32 " already used", b[0].opk_id);
	CU_ASSERT_EQUAL(hx_wait_line(bob, HX_STDERR, needle, 1, HX_READY_MS,
				     NULL, 0),
			0);
	/* The initiator's cached bundle still works. */
	CU_ASSERT_EQUAL(init_answer(fd, init[1], &k[1]), 'D');

	/* The write comes before the answer: when it fails, no answer
	 * (CLOSE handshake failed), and the prekey is still used up. */
	initiate_two(port, ik_s, ik_p, b, init, k);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CU_ASSERT_EQUAL_FATAL(mkdir(tmp, 0700), 0); /* blocks the write */
	CU_ASSERT_EQUAL(init_answer(fd, init[0], &k[0]), '2');
	CU_ASSERT_EQUAL(hx_wait_line(bob, HX_STDERR,
				     "cannot write X3DH prekeys to bob.key.prekeys",
				     1, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL_FATAL(rmdir(tmp), 0);
	CU_ASSERT_EQUAL(init_answer(fd, init[0], &k[0]), '3');
	/* The next write takes that use along with this one's. */
	CU_ASSERT_EQUAL(init_answer(fd, init[1], &k[1]), 'D');
	CU_ASSERT_EQUAL(hx_wait_line(bob, HX_STDERR,
				     "X3DH prekeys: written to bob.key.prekeys again",
				     1, HX_READY_MS, NULL, 0),
			0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(kill(hx_pid(bob), SIGKILL), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(bob, HX_EXIT_MS), 128 + SIGKILL);
	CU_ASSERT_EQUAL(integ_lines(hx_read(bob, HX_STDERR),
				    "secure channel open with peer"), 2);

	bob = integ_start_node("bob", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bob);
	fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(init_answer(fd, init[0], &k[0]), '3');
	CU_ASSERT_EQUAL(init_answer(fd, init[1], &k[1]), '3');
	close(fd);
	CU_ASSERT_EQUAL(hx_stop(bob, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(bob, HX_STDERR),
				    "secure channel open with peer"), 0);
	sodium_memzero(ik_s, sizeof(ik_s));
	sodium_memzero(k, sizeof(k));
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "x3dh_prekeys_survive_a_crash",
		  test_x3dh_prekeys_survive_a_crash },
		{ NULL, NULL },
	};

	if (sodium_init() < 0)
		return 1;
	return integ_run("integration", tests);
}
