/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Noise listener looped with message 1 and a bad message 3, as an
 * attacker would: raw frames on one TCP connection, in the wire format of
 * docs/protocol.md ("TCP framing", "Message encoding", "Secure channel").
 * Each message 1 costs the listener message 2's DHs; the attacker answers
 * message 2 with 65 random bytes as message 3 (no DH on its side) and
 * sends the next message 1 at once.
 *
 * - For about 2 s: the listener computes at most max_handshakes_per_source
 *   (64) message 2s at first and 64 more a second (a failed message 3
 *   holds its half-open slot for 1 s), counted here as the message 2s
 *   that come back; an honest initiator started meanwhile gets its reply;
 *   the listener's lines about it are rate-limited.  Before: a failed
 *   message 3 freed its slot at once, and the loop got a message 2 per
 *   round trip (thousands a second) and a log line each.
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

/* ---- the loop -------------------------------------------------------- */

/* Message 3 of XX: s (32 + 16 tag) and a 1-byte payload (+ 16 tag). */
#define HS3_LEN (1 + 48 + 17)

struct loop {
	int fd;
	atomic_int stop;
	unsigned long hs2;    /* message 2s received: each cost the listener its DHs */
	unsigned long busy;   /* message 1s refused (BUSY) */
	unsigned long failed; /* CLOSE(handshake failed) for a message 3 */
	int broken;           /* the connection stopped answering */
	double secs;
	pthread_t thread;
};

/* Message 1 with a fresh random key; the answer: message 2 (answered with
 * a random message 3 to its return route) or a BUSY notice.  The CLOSE
 * notice for the last message 3 comes in between and is counted. */
static void *loop_run(void *data)
{
	struct loop *l = data;
	static uint8_t body[4096];
	struct ockam_message m;
	struct ockam_addr hops[OCKAM_DECODE_HOPS], lst;
	uint8_t hs1[33], hs3[HS3_LEN];
	double t0 = integ_now_s();

	ockam_addr_local(&lst, "bob_listener");
	struct ockam_route to = ockam_route_make(&lst, 1);
	hs1[0] = 0x01;
	hs3[0] = 0x03;
	while (!atomic_load(&l->stop)) {
		randombytes_buf(hs1 + 1, 32);
		if (integ_frame_send(l->fd, &to, "flooder", hs1, sizeof(hs1)) != 0) {
			l->broken = 1;
			break;
		}
		int answered = 0;
		while (!answered) {
			if (integ_frame_recv(l->fd, body, sizeof(body), &m, hops) != 0) {
				l->broken = 1;
				goto out;
			}
			if (m.payload_len == 2 && m.payload[0] == 0x05) {
				if (m.payload[1] == 2) {
					l->failed++;
					continue;
				}
				l->busy++;
				answered = 1;
			} else if (m.payload_len >= 1 && m.payload[0] == 0x02 &&
				   m.ret.count > 0) {
				l->hs2++;
				randombytes_buf(hs3 + 1, sizeof(hs3) - 1);
				if (integ_frame_send(l->fd, &m.ret, "flooder", hs3,
					       sizeof(hs3)) != 0) {
					l->broken = 1;
					goto out;
				}
				answered = 1;
			}
		}
	}
out:
	l->secs = integ_now_s() - t0;
	return NULL;
}

static void test_flood_bad_message_3(void)
{
	struct hx_proc *listener, *honest;
	struct loop l = { 0 };
	int port;
	integ_begin("secure_flood_bad_message_3");
	listener = integ_start_listener("listener", "trust: everyone", &port);
	l.fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(l.fd >= 0);
	double t0 = integ_now_s();
	CU_ASSERT_FATAL(pthread_create(&l.thread, NULL, loop_run, &l) == 0);
	integ_wait_ms(500);
	int status = integ_run_hello("honest", port, "trust: everyone", "10s",
				     NULL, &honest);
	double left = 2.0 - (integ_now_s() - t0);
	if (left > 0)
		integ_wait_ms((long)(left * 1000));
	atomic_store(&l.stop, 1);
	pthread_join(l.thread, NULL);
	close(l.fd);
	fprintf(stderr,
		"secure_flood_bad_message_3: %.2f s: %lu message 2s, %lu message 3s refused, %lu message 1s refused (BUSY)\n",
		l.secs, l.hs2, l.failed, l.busy);
	CU_ASSERT_EQUAL(l.broken, 0);
	CU_ASSERT(l.secs >= 1.9);
	/* The quota at once, then at most the quota a second (each failed
	 * message 3 holds its slot for 1 s); the rest refused before any
	 * DH. */
	CU_ASSERT(l.hs2 >= 64);
	CU_ASSERT(l.hs2 <= (unsigned long)(64.0 * (1.0 + l.secs)));
	CU_ASSERT(l.busy > 0);
	/* Every garbage message 3 is refused.  A few CLOSEs may still be in
	 * flight at stop, and a BUSY for one of the flooder's own replaced
	 * handshakes can be read as the answer to the next message 1 (the
	 * count then lags by one): allow a small slack, not a rate. */
	CU_ASSERT(l.failed + 8 >= l.hs2);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_STRING_EQUAL(hx_read(honest, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	CU_ASSERT(hx_running(listener));
	CU_ASSERT_EQUAL(hx_stop(listener, HX_EXIT_MS), 0);
	const char *log = hx_read(listener, HX_STDERR);
	/* Each cause at most once a second, with its count. */
	unsigned bad3 = integ_lines(log, "handshake failed: bad message 3");
	fprintf(stderr, "secure_flood_bad_message_3: %u 'bad message 3' lines, %u warning lines\n",
		bad3, integ_count_problems(log, NULL));
	CU_ASSERT(bad3 >= 1);
	CU_ASSERT(bad3 <= (unsigned)l.secs + 3);
	CU_ASSERT(integ_count_problems(log, NULL) <= 60);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "secure_flood_bad_message_3", test_flood_bad_message_3 },
		{ NULL, NULL },
	};
	if (sodium_init() < 0)
		return 1;
	return integ_run("integration", tests);
}
