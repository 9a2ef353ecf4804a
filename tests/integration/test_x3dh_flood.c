/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X3DH first-message floods at a `key_exchange: x3dh`, `trust: everyone`
 * listener, sent as a stranger who knows docs/protocol.md would: raw
 * frames on TCP connections, X3DH messages built with x3dh.c.
 *
 * - One connection sends 300 bundle requests at once: at most
 *   max_handshakes_per_source (64) are answered with a bundle, the rest
 *   with a BUSY notice; at most one of those bundles carries a one-time
 *   prekey, and a bundle fetched on another connection still carries one.
 *   Then 300 INITs (the listener's signed prekey, random keys, a broken
 *   tag: each costs three X25519 operations to refuse) on a new
 *   connection: at most 64 are computed (CLOSE handshake failed), the
 *   rest refused with BUSY before any DH.  Before: 300 bundles, the pool
 *   of 32 one-time prekeys drained for 30 s, and 300 INITs computed.
 * - Twenty connections send bundle requests as fast as the listener
 *   takes them: an honest initiator's bundle still carries a one-time
 *   prekey.  Before: the pool stayed empty.
 * - A hundred connections send bundle requests and INITs as fast as the
 *   listener takes them while an honest X3DH initiator node opens a
 *   channel and gets its reply; the flooders get far more BUSY notices
 *   than computed refusals, and the listener's log stays short.  Before:
 *   every INIT computed, no BUSY notice.
 * - One connection sends 300 valid INITs at once from one identity not in
 *   a listener's trust: list: at most 64 are computed and refused (CLOSE
 *   refused), the rest BUSY; "not in trust list" is rate-limited; a
 *   trusted initiator is served.  Before: 300 computed, 300 lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <sodium.h>

#include "codec.h"
#include "integ_secure.h"
#include "x3dh.h"

#define OPTIONS "trust: everyone, key_exchange: x3dh"

/* ---- frames ---------------------------------------------------------- */

/* One frame to [bob_listener], return [client], `payload`, into out (4-byte
 * length, then the message); its length, 0 if it does not fit. */
static size_t frame_make(uint8_t *out, size_t cap, const uint8_t *payload,
			 size_t len)
{
	struct ockam_message m;
	struct ockam_addr dst, back;

	ockam_message_init(&m);
	ockam_addr_local(&dst, "bob_listener");
	m.onward = ockam_route_make(&dst, 1);
	ockam_addr_local(&back, "client");
	m.ret = ockam_route_make(&back, 1);
	m.payload = payload;
	m.payload_len = len;
	if (cap < 4)
		return 0;
	size_t n = codec_encode(&m, out + 4, cap - 4);
	if (!n)
		return 0;
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	return n + 4;
}

/* What came back on a connection. */
struct answers {
	unsigned bundles, bundles_opk, failed, busy, refused, other;
	size_t have;
	uint8_t buf[1 << 16];
};

/* Count the whole frames in a->buf (keeping a partial one). */
static void answers_parse(struct answers *a)
{
	size_t off = 0;
	while (a->have - off >= 4) {
		const uint8_t *f = a->buf + off;
		uint32_t len = (uint32_t)f[0] << 24 | (uint32_t)f[1] << 16 |
			       (uint32_t)f[2] << 8 | f[3];
		if (a->have - off - 4 < len)
			break;
		struct ockam_message m;
		struct ockam_addr hops[OCKAM_DECODE_HOPS];
		if (codec_decode(f + 4, len, &m, hops, OCKAM_DECODE_HOPS) != 0 ||
		    m.payload_len == 0)
			a->other++;
		else if (m.payload[0] == X3DH_MSG_BUNDLE) {
			a->bundles++;
			a->bundles_opk += m.payload_len == X3DH_BUNDLE_LEN;
		} else if (m.payload_len == 2 && m.payload[0] == 0x05 &&
			   m.payload[1] == 2)
			a->failed++;
		else if (m.payload_len == 2 && m.payload[0] == 0x05 &&
			 m.payload[1] == 3)
			a->busy++;
		else if (m.payload_len == 2 && m.payload[0] == 0x05 &&
			 m.payload[1] == 1)
			a->refused++;
		else
			a->other++;
		off += 4 + len;
	}
	memmove(a->buf, a->buf + off, a->have - off);
	a->have -= off;
}

/* Read from fd into a for up to `ms`, or until `want` answers came. */
static void answers_read(int fd, struct answers *a, unsigned want, int ms)
{
	double end = integ_now_s() + ms / 1000.0;
	while (a->bundles + a->failed + a->busy + a->refused + a->other <
		       want &&
	       integ_now_s() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(fd, a->buf + a->have, sizeof(a->buf) - a->have);
		if (n <= 0)
			break;
		a->have += (size_t)n;
		answers_parse(a);
	}
}

/* A bundle from the listener over a new connection, verified. */
static int bundle_get(int port, struct x3dh_bundle *b)
{
	static const uint8_t req = X3DH_MSG_BUNDLE_REQUEST;
	uint8_t f[256];
	size_t n = frame_make(f, sizeof(f), &req, 1);
	int fd = hx_tcp_connect(port);
	if (fd < 0 || send(fd, f, n, MSG_NOSIGNAL) != (ssize_t)n) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* The answer, whole: one frame. */
	uint8_t buf[512];
	size_t have = 0;
	double end = integ_now_s() + 5;
	int rc = -1;
	while (integ_now_s() < end && rc != 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		if (have < 4)
			continue;
		uint32_t len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
			       (uint32_t)buf[2] << 8 | buf[3];
		if (have - 4 < len)
			continue;
		struct ockam_message m;
		struct ockam_addr hops[OCKAM_DECODE_HOPS];
		if (codec_decode(buf + 4, len, &m, hops, OCKAM_DECODE_HOPS) ==
			    0 &&
		    x3dh_bundle_decode(m.payload, m.payload_len, b) == X3DH_OK &&
		    x3dh_bundle_verify(b) == X3DH_OK)
			rc = 0;
		break;
	}
	close(fd);
	return rc;
}

/* `count` frames into out (cap bytes): INITs to the bundle `b`'s signed
 * prekey without a one-time prekey, each from a new random identity and
 * ephemeral key, with its tag broken: the listener computes its three DHs
 * and then refuses it.  With `with_requests`, a bundle request before
 * each.  Returns the bytes written. */
static size_t flood_frames(uint8_t *out, size_t cap, const struct x3dh_bundle *b,
			   unsigned count, int with_requests)
{
	static const uint8_t req = X3DH_MSG_BUNDLE_REQUEST;
	struct x3dh_bundle nb = *b;
	struct x3dh_secret *keys = sodium_malloc(sizeof(*keys));
	uint8_t ik_s[32], ik_p[32], ek[32], init[X3DH_INIT_LEN];
	size_t off = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(keys);
	nb.opk_id = 0;
	for (unsigned i = 0; i < count; i++) {
		if (with_requests) {
			size_t n = frame_make(out + off, cap - off, &req, 1);
			CU_ASSERT_FATAL(n > 0);
			off += n;
		}
		randombytes_buf(ik_s, sizeof(ik_s));
		crypto_scalarmult_base(ik_p, ik_s);
		randombytes_buf(ek, sizeof(ek));
		CU_ASSERT_FATAL(x3dh_initiate(ik_s, ik_p, ek, &nb, 0, init,
					      keys) == X3DH_OK);
		init[X3DH_INIT_LEN - 1] ^= 0x80; /* the tag */
		size_t n = frame_make(out + off, cap - off, init, sizeof(init));
		CU_ASSERT_FATAL(n > 0);
		off += n;
	}
	sodium_free(keys);
	sodium_memzero(ik_s, sizeof(ik_s));
	sodium_memzero(ek, sizeof(ek));
	return off;
}

/* ---- one connection -------------------------------------------------- */

static void test_x3dh_flood_one_connection(void)
{
	static const uint8_t req = X3DH_MSG_BUNDLE_REQUEST;
	static uint8_t frames[300 * 160];
	static struct answers a, c;
	struct x3dh_bundle b;
	size_t off = 0;
	int port;

	integ_begin("x3dh_flood_one");
	struct hx_proc *bob = integ_start_listener("bob", OPTIONS, &port);

	/* 300 bundle requests at once, on one connection. */
	for (int i = 0; i < 300; i++)
		off += frame_make(frames + off, sizeof(frames) - off, &req, 1);
	int fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(send(fd, frames, off, MSG_NOSIGNAL),
			      (ssize_t)off);
	memset(&a, 0, sizeof(a));
	answers_read(fd, &a, 300, 10000);
	fprintf(stderr,
		"x3dh_flood_one: %u bundles (%u with a one-time prekey), %u busy\n",
		a.bundles, a.bundles_opk, a.busy);
	CU_ASSERT_EQUAL(a.bundles + a.busy, 300);
	CU_ASSERT(a.bundles <= 64);
	CU_ASSERT(a.bundles_opk <= 1);
	/* Another connection's bundle still carries a one-time prekey. */
	CU_ASSERT_EQUAL_FATAL(bundle_get(port, &b), 0);
	CU_ASSERT(b.opk_id != 0);

	/* 300 INITs at once, each costing three DHs, on a new connection. */
	off = flood_frames(frames, sizeof(frames), &b, 300, 0);
	int fd2 = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd2 >= 0);
	CU_ASSERT_EQUAL_FATAL(send(fd2, frames, off, MSG_NOSIGNAL),
			      (ssize_t)off);
	memset(&c, 0, sizeof(c));
	answers_read(fd2, &c, 300, 10000);
	fprintf(stderr, "x3dh_flood_one: INITs: %u computed and refused, %u busy\n",
		c.failed, c.busy);
	CU_ASSERT_EQUAL(c.failed + c.busy, 300);
	/* 64 at once, and 64 more a second at most (its own oldest
	 * replaced once 1 s old): the burst is over well within that. */
	CU_ASSERT(c.failed <= 128);
	CU_ASSERT(c.busy >= 172);
	close(fd);
	close(fd2);

	/* An honest initiator is served. */
	struct hx_proc *honest;
	int status = integ_run_hello("honest", port, OPTIONS, "10s", NULL,
				     &honest);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_STRING_EQUAL(hx_read(honest, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	CU_ASSERT_EQUAL(hx_stop(bob, HX_EXIT_MS), 0);
	const char *log = hx_read(bob, HX_STDERR);
	CU_ASSERT(integ_count_problems(log, NULL) <= 20);
	CU_ASSERT(integ_lines(log, "(max_handshakes_per_source)") >= 1);
}

/* ---- an untrusted identity ------------------------------------------- */

/* 300 valid INITs at once on one connection, all from one identity key
 * the listener's trust: list does not name (each verifies, then is
 * refused: CLOSE reason 1).  At most 64 are computed at once (a refused
 * end keeps its slot for 1 s), the rest refused with BUSY before any DH;
 * "refusing peer ...: not in trust list" is rate-limited; a trusted
 * initiator is served.  Before: all 300 computed, 300 log lines. */
static void test_x3dh_flood_untrusted(void)
{
	static uint8_t frames[300 * 160];
	static struct answers c;
	struct x3dh_bundle b;
	struct x3dh_secret *keys = sodium_malloc(sizeof(*keys));
	uint8_t ik_s[32], ik_p[32], ek[32], init[X3DH_INIT_LEN];
	char x[128], options[256];
	size_t off = 0;
	int port;

	integ_begin("x3dh_flood_untrusted");
	CU_ASSERT_PTR_NOT_NULL_FATAL(keys);
	struct hx_proc *open_r = integ_start_listener("open", OPTIONS, &port);
	CU_ASSERT_EQUAL_FATAL(integ_run_hello("init-x", port,
					      OPTIONS ", vault: x.key", "10s",
					      x, NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(open_r, HX_EXIT_MS), 0);
	snprintf(options, sizeof(options),
		 "trust: [%s], key_exchange: x3dh", x);
	struct hx_proc *bob = integ_start_listener("bob", options, &port);
	CU_ASSERT_EQUAL_FATAL(bundle_get(port, &b), 0);
	b.opk_id = 0;
	randombytes_buf(ik_s, sizeof(ik_s));
	crypto_scalarmult_base(ik_p, ik_s);
	for (int i = 0; i < 300; i++) {
		randombytes_buf(ek, sizeof(ek));
		CU_ASSERT_FATAL(x3dh_initiate(ik_s, ik_p, ek, &b, 0, init,
					      keys) == X3DH_OK);
		size_t n = frame_make(frames + off, sizeof(frames) - off, init,
				      sizeof(init));
		CU_ASSERT_FATAL(n > 0);
		off += n;
	}
	sodium_free(keys);
	sodium_memzero(ik_s, sizeof(ik_s));
	sodium_memzero(ek, sizeof(ek));
	int fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(send(fd, frames, off, MSG_NOSIGNAL),
			      (ssize_t)off);
	memset(&c, 0, sizeof(c));
	answers_read(fd, &c, 300, 10000);
	fprintf(stderr, "x3dh_flood_untrusted: INITs: %u refused (untrusted), %u busy, %u other\n",
		c.refused, c.busy, c.failed + c.other);
	CU_ASSERT_EQUAL(c.refused + c.busy, 300);
	CU_ASSERT(c.refused >= 1);
	CU_ASSERT(c.refused <= 128);
	CU_ASSERT(c.busy >= 172);
	close(fd);

	struct hx_proc *honest;
	int status = integ_run_hello("trusted-x", port,
				     OPTIONS ", vault: x.key", "10s", NULL,
				     &honest);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_STRING_EQUAL(hx_read(honest, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	CU_ASSERT_EQUAL(hx_stop(bob, HX_EXIT_MS), 0);
	const char *log = hx_read(bob, HX_STDERR);
	unsigned lines = integ_lines(log, "not in trust list");
	fprintf(stderr, "x3dh_flood_untrusted: %u 'not in trust list' lines\n",
		lines);
	CU_ASSERT(lines >= 1);
	CU_ASSERT(lines <= 3);
	CU_ASSERT(integ_count_problems(log, NULL) <= 20);
}

/* ---- many connections ------------------------------------------------ */

#define CONNS_MAX 100

struct flood {
	int fds[CONNS_MAX];
	size_t off[CONNS_MAX];
	struct answers *ans; /* one per connection */
	int n;
	uint8_t *buf;
	size_t len;
	atomic_int stop;
	atomic_ulong sent_bytes;
	pthread_t thread;
};

/* Write the frames on every connection round and round, as fast as they
 * are taken, and count what comes back, until told to stop. */
static void *flood_run(void *data)
{
	struct flood *f = data;
	struct pollfd p[CONNS_MAX];
	while (!atomic_load(&f->stop)) {
		for (int i = 0; i < f->n; i++)
			p[i] = (struct pollfd){ .fd = f->fds[i],
						.events = POLLIN | POLLOUT };
		if (poll(p, (nfds_t)f->n, 100) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < f->n; i++) {
			struct answers *a = &f->ans[i];
			if (p[i].revents & POLLIN) {
				ssize_t r = read(f->fds[i], a->buf + a->have,
						 sizeof(a->buf) - a->have);
				if (r > 0) {
					a->have += (size_t)r;
					answers_parse(a);
				}
			}
			if (!(p[i].revents & POLLOUT))
				continue;
			ssize_t w = write(f->fds[i], f->buf + f->off[i],
					  f->len - f->off[i]);
			if (w <= 0)
				continue;
			atomic_fetch_add(&f->sent_bytes, (unsigned long)w);
			f->off[i] = (f->off[i] + (size_t)w) % f->len;
		}
	}
	return NULL;
}

/* `conns` connections, each writing `frames` (len bytes) round and
 * round; a whole number of frames, so each connection writes whole
 * frames in turn. */
static struct flood *flood_start(int port, int conns, uint8_t *frames,
				 size_t len)
{
	struct flood *f = calloc(1, sizeof(*f));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	f->ans = calloc((size_t)conns, sizeof(*f->ans));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->ans);
	f->buf = frames;
	f->len = len;
	f->n = conns;
	for (int i = 0; i < conns; i++) {
		f->fds[i] = hx_tcp_connect(port);
		CU_ASSERT_FATAL(f->fds[i] >= 0);
		fcntl(f->fds[i], F_SETFL, O_NONBLOCK);
	}
	CU_ASSERT_FATAL(pthread_create(&f->thread, NULL, flood_run, f) == 0);
	return f;
}

/* Stop it; *total gets the answers summed over the connections. */
static void flood_stop(struct flood *f, struct answers *total)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	memset(total, 0, sizeof(*total));
	for (int i = 0; i < f->n; i++) {
		close(f->fds[i]);
		total->bundles += f->ans[i].bundles;
		total->bundles_opk += f->ans[i].bundles_opk;
		total->failed += f->ans[i].failed;
		total->busy += f->ans[i].busy;
		total->other += f->ans[i].other;
	}
	free(f->ans);
	free(f);
}

/* Wait until the flood has written `bytes`, then `ms` more. */
static void flood_wait(struct flood *f, unsigned long bytes, long ms)
{
	for (int i = 0; i < 200 && atomic_load(&f->sent_bytes) < bytes; i++)
		integ_wait_ms(50);
	CU_ASSERT(atomic_load(&f->sent_bytes) >= bytes);
	integ_wait_ms(ms);
}

static void test_x3dh_flood_prekeys(void)
{
	static uint8_t frames[64 * 8];
	static const uint8_t req = X3DH_MSG_BUNDLE_REQUEST;
	static struct answers total;
	struct x3dh_bundle b;
	size_t off = 0;
	int port;

	integ_begin("x3dh_flood_prekeys");
	struct hx_proc *bob = integ_start_listener("bob", OPTIONS, &port);
	for (int i = 0; i < 64; i++)
		off += frame_make(frames + off, sizeof(frames) - off, &req, 1);
	struct flood *f = flood_start(port, 20, frames, off);
	flood_wait(f, 2000UL * 8, 1500);
	/* The honest initiator's bundle, while the flood goes on. */
	int got = bundle_get(port, &b);
	flood_stop(f, &total);
	fprintf(stderr,
		"x3dh_flood_prekeys: %u bundles (%u with a one-time prekey), %u busy\n",
		total.bundles, total.bundles_opk, total.busy);
	CU_ASSERT_EQUAL(got, 0);
	CU_ASSERT(got == 0 && b.opk_id != 0);
	CU_ASSERT(total.bundles_opk <= 20);
	CU_ASSERT(total.busy > 0);
	CU_ASSERT_EQUAL(hx_stop(bob, HX_EXIT_MS), 0);
	CU_ASSERT(integ_count_problems(hx_read(bob, HX_STDERR), NULL) <= 60);
}

static void test_x3dh_flood_hundred_connections(void)
{
	static uint8_t frames[128 * 160];
	static struct answers total;
	struct x3dh_bundle b;
	struct hx_proc *honest;
	int port;

	integ_begin("x3dh_flood_hundred");
	struct hx_proc *bob = integ_start_listener("bob", OPTIONS, &port);
	CU_ASSERT_EQUAL_FATAL(bundle_get(port, &b), 0);
	size_t len = flood_frames(frames, sizeof(frames), &b, 128, 1);
	struct flood *f = flood_start(port, CONNS_MAX, frames, len);
	flood_wait(f, 3UL * len, 500);

	int status = integ_run_hello("honest", port, OPTIONS, "10s", NULL,
				     &honest);
	flood_stop(f, &total);
	fprintf(stderr,
		"x3dh_flood_hundred: %u bundles, INITs: %u computed and refused, %u busy\n",
		total.bundles, total.failed, total.busy);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_STRING_EQUAL(hx_read(honest, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	/* Most of the flood is refused before any DH. */
	CU_ASSERT(total.busy > total.failed);
	CU_ASSERT(hx_running(bob));
	CU_ASSERT_EQUAL(hx_stop(bob, HX_EXIT_MS), 0);
	const char *log = hx_read(bob, HX_STDERR);
	unsigned problems = integ_count_problems(log, NULL);
	fprintf(stderr, "x3dh_flood_hundred: %u warning lines at the listener\n",
		problems);
	CU_ASSERT(problems <= 60);
	CU_ASSERT(integ_lines(log, "bob_listener: ", "suppressed") >= 1);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "x3dh_flood_one_connection", test_x3dh_flood_one_connection },
		{ "x3dh_flood_prekeys", test_x3dh_flood_prekeys },
		{ "x3dh_flood_hundred_connections",
		  test_x3dh_flood_hundred_connections },
		{ "x3dh_flood_untrusted", test_x3dh_flood_untrusted },
		{ NULL, NULL },
	};

	if (sodium_init() < 0)
		return 1;
	return integ_run("integration", tests);
}
