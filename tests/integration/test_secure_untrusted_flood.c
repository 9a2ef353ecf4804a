/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stranger with a valid identity looping Noise XX handshakes against a
 * listener with a trust list, as an attacker would: raw frames on one TCP
 * connection (docs/protocol.md), noise.c for the cryptography, one static
 * key for every attempt.  Each message 3 verifies and names an identity
 * not in trust:; the listener refuses it (CLOSE reason 1).
 *
 * - For about 2 s: the listener computes at most max_handshakes_per_source
 *   (64) message 2s at first and 64 more a second (a refused end holds
 *   its half-open slot for 1 s, as a bad message 3 does); "refusing peer
 *   ...: not in trust list" is rate-limited (about once a second, with
 *   its count: hs_untrusted); a trusted initiator still gets its reply.
 *   Before: the refused end was freed at once, and the loop got a
 *   message 2 and a log line per round trip.
 */
#include <pthread.h>
#include <stdatomic.h>
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

/* Whether m's last onward hop is `name`. */
static int to_me(const struct ockam_message *m, const char *name)
{
	if (m->onward.count == 0)
		return 0;
	const struct ockam_addr *a = &m->onward.hop[m->onward.count - 1];
	return a->len == strlen(name) && memcmp(a->data, name, a->len) == 0;
}

/* ---- the loop -------------------------------------------------------- */

struct loop {
	int fd;
	atomic_int stop;
	unsigned long hs2;     /* message 2s received: each cost the listener its DHs */
	unsigned long busy;    /* message 1s refused (BUSY) */
	unsigned long refused; /* CLOSE(refused) for a verified message 3 */
	int broken;            /* the connection stopped answering */
	double secs;
	pthread_t thread;
};

/* Message 1, then message 2 read and answered with a real message 3 under
 * the stranger's one static key; or a BUSY notice.  The CLOSE(refused)
 * notice for the last message 3 comes in between and is counted. */
static void *loop_run(void *data)
{
	struct loop *l = data;
	static uint8_t body[4096];
	struct noise_suite suite;
	struct ockam_message m;
	struct ockam_addr hops[OCKAM_DECODE_HOPS], lst;
	uint8_t s[32], msg[256], pt[64], features = 0;
	size_t len, plen;
	double t0 = integ_now_s();

	if (noise_suite_parse(SUITE, &suite) != 0) {
		l->broken = 1;
		return NULL;
	}
	randombytes_buf(s, sizeof(s));
	struct noise_keys keys = { .s = s };
	ockam_addr_local(&lst, "bob_listener");
	struct ockam_route to = ockam_route_make(&lst, 1);
	unsigned long attempt = 0;
	char name[32];
	while (!atomic_load(&l->stop)) {
		/* A return address per attempt: a notice for an earlier end
		 * (its slot reused after 1 s: BUSY) is told from the answer
		 * to this message 1. */
		snprintf(name, sizeof(name), "stranger%lu", attempt++);
		struct noise_handshake *hs = noise_handshake_new(&suite, 1,
								 &keys);
		if (!hs) {
			l->broken = 1;
			break;
		}
		msg[0] = 0x01;
		if (noise_handshake_write(hs, NULL, 0, msg + 1,
					  sizeof(msg) - 1, &len) != 0 ||
		    integ_frame_send(l->fd, &to, name, msg, len + 1) != 0) {
			noise_handshake_free(hs);
			l->broken = 1;
			break;
		}
		int answered = 0;
		while (!answered) {
			if (integ_frame_recv(l->fd, body, sizeof(body), &m, hops) != 0) {
				l->broken = 1;
				break;
			}
			if (m.payload_len == 2 && m.payload[0] == 0x05) {
				/* Only BUSY to this attempt answers its
				 * message 1; other notices are about
				 * earlier ends. */
				if (m.payload[1] != 3 || !to_me(&m, name)) {
					l->refused += m.payload[1] == 1;
					continue;
				}
				l->busy++;
				answered = 1;
			} else if (m.payload_len >= 1 && m.payload[0] == 0x02 &&
				   m.ret.count > 0) {
				l->hs2++;
				msg[0] = 0x03;
				if (noise_handshake_read(hs, m.payload + 1,
							 m.payload_len - 1, pt,
							 sizeof(pt), &plen) != 0 ||
				    noise_handshake_write(hs, &features, 1,
							  msg + 1,
							  sizeof(msg) - 1,
							  &len) != 0 ||
				    integ_frame_send(l->fd, &m.ret, name, msg,
					       len + 1) != 0) {
					l->broken = 1;
				}
				answered = 1;
			}
		}
		noise_handshake_free(hs);
		if (l->broken)
			break;
	}
	sodium_memzero(s, sizeof(s));
	l->secs = integ_now_s() - t0;
	return NULL;
}

static void test_flood_untrusted(void)
{
	struct hx_proc *open_r, *listener, *honest;
	struct loop l = { 0 };
	char x[128], options[256];
	int port;
	integ_begin("secure_flood_untrusted");
	/* The trusted identity X, made by a first run. */
	open_r = integ_start_listener("open", "trust: everyone", &port);
	CU_ASSERT_EQUAL_FATAL(integ_run_hello("init-x", port,
					      "trust: everyone, vault: x.key",
					      "10s", x, NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(open_r, HX_EXIT_MS), 0);

	snprintf(options, sizeof(options), "trust: [%s]", x);
	listener = integ_start_listener("listener", options, &port);
	l.fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(l.fd >= 0);
	double t0 = integ_now_s();
	CU_ASSERT_FATAL(pthread_create(&l.thread, NULL, loop_run, &l) == 0);
	integ_wait_ms(500);
	int status = integ_run_hello("trusted-x", port,
				     "trust: everyone, vault: x.key", "10s",
				     NULL, &honest);
	double left = 2.0 - (integ_now_s() - t0);
	if (left > 0)
		integ_wait_ms((long)(left * 1000));
	atomic_store(&l.stop, 1);
	pthread_join(l.thread, NULL);
	close(l.fd);
	fprintf(stderr,
		"secure_flood_untrusted: %.2f s: %lu message 2s, %lu refused (not trusted), %lu message 1s refused (BUSY)\n",
		l.secs, l.hs2, l.refused, l.busy);
	CU_ASSERT_EQUAL(l.broken, 0);
	CU_ASSERT(l.secs >= 1.9);
	/* The quota at once, then at most the quota a second. */
	CU_ASSERT(l.hs2 >= 64);
	CU_ASSERT(l.hs2 <= (unsigned long)(64.0 * (1.0 + l.secs)));
	CU_ASSERT(l.busy > 0);
	CU_ASSERT(l.refused + 1 >= l.hs2);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_STRING_EQUAL(hx_read(honest, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	CU_ASSERT(hx_running(listener));
	CU_ASSERT_EQUAL(hx_stop(listener, HX_EXIT_MS), 0);
	const char *log = hx_read(listener, HX_STDERR);
	unsigned lines = integ_lines(log, "not in trust list");
	fprintf(stderr, "secure_flood_untrusted: %u 'not in trust list' lines, %u warning lines\n",
		lines, integ_count_problems(log, NULL));
	CU_ASSERT(lines >= 1);
	CU_ASSERT(lines <= (unsigned)l.secs + 3);
	CU_ASSERT(integ_count_problems(log, NULL) <= 60);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "secure_flood_untrusted", test_flood_untrusted },
		{ NULL, NULL },
	};
	if (sodium_init() < 0)
		return 1;
	return integ_run("integration", tests);
}
