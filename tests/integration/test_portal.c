/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP portals (tcp_inlet, tcp_outlet) with this test as both the client
 * and the service: the 07 tutorial trio carries half-closed streams,
 * 1,000 connections at once, a client that stops reading next to one that
 * does not, windows that are not a multiple of max_chunk, a service that
 * resets or is not there; and attackers write raw
 * frames (docs/protocol.md, "TCP portals"): a plaintext open to an outlet
 * that serves secure channels only, bytes injected into another client's
 * stream, out-of-order and malformed messages from a fake outlet.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ_portal.h"

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static long long ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A client shuts its side; the service sees EOF, answers, and the answer
 * still comes back (and every byte both ways is intact).  Before that, a
 * first connection trades a line each way while both sides stay open. */
static void half_close_through(void (*start)(int, struct portal_trio *))
{
	struct portal_trio t;
	int svc_port, lfd;
	static uint8_t up[300000], down[500000], got[600000];
	char line[8];

	lfd = hx_tcp_listen(16, &svc_port);
	CU_ASSERT_FATAL(lfd >= 0);
	start(svc_port, &t);
	fill(up, sizeof(up), 1);
	fill(down, sizeof(down), 2);

	int c = hx_tcp_connect(t.inlet_port);
	CU_ASSERT_FATAL(c >= 0);
	CU_ASSERT_EQUAL_FATAL(portal_write_all(c, "ping\n", 5, 10000), 0);
	int s = portal_accept(lfd, 10000);
	CU_ASSERT_FATAL(s >= 0);
	CU_ASSERT_EQUAL_FATAL(portal_read_n(s, line, 5, 10000), 0);
	CU_ASSERT(memcmp(line, "ping\n", 5) == 0);
	CU_ASSERT_EQUAL_FATAL(portal_write_all(s, "pong\n", 5, 10000), 0);
	CU_ASSERT_EQUAL_FATAL(portal_read_n(c, line, 5, 10000), 0);
	CU_ASSERT(memcmp(line, "pong\n", 5) == 0);
	close(c);
	CU_ASSERT(portal_closed_within(s, 10000));
	close(s);

	c = hx_tcp_connect(t.inlet_port);
	CU_ASSERT_FATAL(c >= 0);
	CU_ASSERT_EQUAL_FATAL(portal_write_all(c, up, sizeof(up), 10000), 0);
	CU_ASSERT_EQUAL_FATAL(shutdown(c, SHUT_WR), 0);

	s = portal_accept(lfd, 10000);
	CU_ASSERT_FATAL(s >= 0);
	/* The service reads to EOF: the client's half-close arrived. */
	long n = portal_read_all(s, got, sizeof(got), 10000);
	CU_ASSERT_EQUAL(n, (long)sizeof(up));
	CU_ASSERT(memcmp(got, up, sizeof(up)) == 0);
	/* ... and its answer still goes back. */
	CU_ASSERT_EQUAL(portal_write_all(s, down, sizeof(down), 10000), 0);
	close(s);
	n = portal_read_all(c, got, sizeof(got), 10000);
	CU_ASSERT_EQUAL(n, (long)sizeof(down));
	CU_ASSERT(memcmp(got, down, sizeof(down)) == 0);
	close(c);

	/* (One line each: the second close falls in the same rate-limit
	 * interval as the first.) */
	CU_ASSERT_EQUAL(hx_wait_line(t.inlet, HX_STDERR, "closed by the client",
				     1, 10000, NULL, 0), 0);
	CU_ASSERT_EQUAL(hx_wait_line(t.outlet, HX_STDERR, "closed by the client",
				     1, 10000, NULL, 0), 0);
	/* The relay trio's outlet node never listened: it was reached only
	 * down the connection it opened to the relay. */
	if (!t.outlet_port)
		CU_ASSERT_EQUAL(integ_lines(hx_read(t.outlet, HX_STDERR),
					    "listening on"), 0);
	portal_stop_trio(&t);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.inlet, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.middle, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.outlet, HX_STDERR), NULL), 0);
	close(lfd);
}

static void test_half_close(void)
{
	integ_begin("portal_half_close");
	half_close_through(portal_start_trio);
}

/* The 09 tutorial: the same streams with the outlet node behind a relay
 * (configs/09: no listener; registered as bob), the inlet's channel routed
 * [tcp:<relay>, forward_to_bob, bob_listener]. */
static void test_through_relay(void)
{
	integ_begin("portal_through_relay");
	half_close_through(portal_start_relay_trio);
}

#define MANY 1000

/* 1,000 connections open at once, each its own stream: every client gets
 * back exactly what it sent, through its own service connection. */
static void test_thousand(void)
{
	struct portal_trio t;
	int svc_port, lfd;
	static int cl[MANY], sv[MANY];

	integ_begin("portal_thousand");
	/* Both ends of 1,000 connections live in this process, and the
	 * nodes inherit the limit: raise the soft limit to the hard one. */
	struct rlimit rl;
	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	CU_ASSERT_FATAL(rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 2 * MANY + 64);
	lfd = hx_tcp_listen(MANY + 24, &svc_port);
	CU_ASSERT_FATAL(lfd >= 0);
	portal_start_trio(svc_port, &t);
	for (int i = 0; i < MANY; i++) {
		char m[16];
		cl[i] = hx_tcp_connect(t.inlet_port);
		CU_ASSERT_FATAL(cl[i] >= 0);
		snprintf(m, sizeof(m), "client %05d", i);
		CU_ASSERT_FATAL(portal_write_all(cl[i], m, 12, 10000) == 0);
	}
	/* The service echoes each connection's 12 bytes. */
	int accepted = 0;
	for (int i = 0; i < MANY; i++) {
		char m[12];
		sv[i] = portal_accept(lfd, 20000);
		if (sv[i] < 0)
			break;
		accepted++;
		CU_ASSERT_FATAL(portal_read_n(sv[i], m, 12, 20000) == 0);
		CU_ASSERT_FATAL(portal_write_all(sv[i], m, 12, 10000) == 0);
	}
	CU_ASSERT_EQUAL_FATAL(accepted, MANY);
	int right = 0;
	for (int i = 0; i < MANY; i++) {
		char m[16], e[16];
		snprintf(e, sizeof(e), "client %05d", i);
		if (portal_read_n(cl[i], m, 12, 20000) == 0 &&
		    memcmp(m, e, 12) == 0)
			right++;
	}
	CU_ASSERT_EQUAL(right, MANY);
	/* All of them still open at once; then the clients leave. */
	for (int i = 0; i < MANY; i++)
		close(cl[i]);
	for (int i = 0; i < MANY; i++) {
		CU_ASSERT(portal_closed_within(sv[i], 20000));
		close(sv[i]);
	}
	portal_stop_trio(&t);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.inlet, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.outlet, HX_STDERR), NULL), 0);
	close(lfd);
}

/* Write to `fd` until it has taken nothing for `quiet_ms`; returns the
 * bytes taken. */
static size_t write_until_stalled(int fd, const uint8_t *src, size_t cap,
				  int quiet_ms)
{
	size_t total = 0;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, quiet_ms) <= 0)
			return total;
		ssize_t k = send(fd, src + (total % 65536), 65536, MSG_NOSIGNAL);
		if (k > 0)
			total += (size_t)k;
		else if (k < 0 && errno != EAGAIN)
			return total;
		if (total > cap)
			return total;
	}
}

/* A client that stops reading holds only its own stream: the service's
 * writes to it stall at a bounded amount (flow control), and another
 * client downloads 32 MiB meanwhile.  Nothing is lost: the slow client
 * reads all of it later. */
static void test_slow_reader(void)
{
	struct portal_trio t;
	int svc_port, lfd;
	static uint8_t pattern[65536 * 2], buf[1 << 20];

	integ_begin("portal_slow_reader");
	lfd = hx_tcp_listen(16, &svc_port);
	CU_ASSERT_FATAL(lfd >= 0);
	portal_start_trio(svc_port, &t);
	fill(pattern, 65536, 7);
	memcpy(pattern + 65536, pattern, 65536);

	int a = hx_tcp_connect(t.inlet_port);
	CU_ASSERT_FATAL(a >= 0 && portal_write_all(a, "A", 1, 5000) == 0);
	int sa = portal_accept(lfd, 10000);
	CU_ASSERT_FATAL(sa >= 0 && portal_read_n(sa, buf, 1, 10000) == 0);
	/* A reads nothing: the service's writes must stall. */
	size_t held = write_until_stalled(sa, pattern, 256u << 20, 1000);
	fprintf(stderr, "slow reader: the service could write %zu bytes before it stalled\n",
		held);
	CU_ASSERT(held < (64u << 20));

	int b = hx_tcp_connect(t.inlet_port);
	CU_ASSERT_FATAL(b >= 0 && portal_write_all(b, "B", 1, 5000) == 0);
	int sb = portal_accept(lfd, 10000);
	CU_ASSERT_FATAL(sb >= 0 && portal_read_n(sb, buf, 1, 10000) == 0);
	fcntl(sb, F_SETFL, fcntl(sb, F_GETFL) | O_NONBLOCK);
	fcntl(b, F_SETFL, fcntl(b, F_GETFL) | O_NONBLOCK);
	size_t want = 32u << 20, sent = 0, got = 0;
	int ok = 1;
	long long start = ms_now();
	while (got < want && ms_now() - start < 30000) {
		struct pollfd p[2] = { { .fd = sb, .events = sent < want ? POLLOUT : 0 },
				       { .fd = b, .events = POLLIN } };
		poll(p, 2, 1000);
		if (sent < want && (p[0].revents & POLLOUT)) {
			size_t n = want - sent < 65536 ? want - sent : 65536;
			ssize_t k = send(sb, pattern + sent % 65536, n, MSG_NOSIGNAL);
			if (k > 0)
				sent += (size_t)k;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = recv(b, buf, sizeof(buf), 0);
			if (k <= 0 && errno != EAGAIN)
				break;
			for (ssize_t i = 0; k > 0 && i < k; i++)
				if (buf[i] != pattern[(got + (size_t)i) % 65536])
					ok = 0;
			if (k > 0)
				got += (size_t)k;
		}
	}
	fprintf(stderr, "slow reader: the other client got %zu bytes in %lld ms\n",
		got, ms_now() - start);
	CU_ASSERT_EQUAL(got, want);
	CU_ASSERT(ok);

	/* The slow client reads everything the service wrote, in order. */
	close(sa);
	long n;
	size_t total = 0;
	int same = 1;
	while ((n = portal_read_all(a, buf, sizeof(buf), 10000)) > 0) {
		for (long i = 0; i < n; i++)
			if (buf[i] != pattern[(total + (size_t)i) % 65536])
				same = 0;
		total += (size_t)n;
	}
	CU_ASSERT_EQUAL(total, held);
	CU_ASSERT(same);
	close(a);
	close(b);
	close(sb);
	portal_stop_trio(&t);
	close(lfd);
}

/* The service resets its connection in the middle of a stream: the client
 * is reset at once, and the inlet says why in one line. */
static void test_service_reset(void)
{
	struct portal_trio t;
	int svc_port, lfd;
	uint8_t buf[4096];

	integ_begin("portal_service_reset");
	lfd = hx_tcp_listen(16, &svc_port);
	CU_ASSERT_FATAL(lfd >= 0);
	portal_start_trio(svc_port, &t);
	int c = hx_tcp_connect(t.inlet_port);
	CU_ASSERT_FATAL(c >= 0 && portal_write_all(c, "hi", 2, 5000) == 0);
	int s = portal_accept(lfd, 10000);
	CU_ASSERT_FATAL(s >= 0 && portal_read_n(s, buf, 2, 10000) == 0);
	CU_ASSERT_FATAL(portal_write_all(s, "partial", 7, 5000) == 0);
	CU_ASSERT_FATAL(portal_read_n(c, buf, 7, 10000) == 0);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	long long t0 = ms_now();
	close(s);
	/* Reset, not an orderly end: the client must not take a cut-off
	 * stream for a complete one. */
	ssize_t k;
	struct pollfd p = { .fd = c, .events = POLLIN };
	CU_ASSERT(poll(&p, 1, 5000) == 1);
	k = recv(c, buf, sizeof(buf), 0);
	CU_ASSERT(k < 0 && errno == ECONNRESET);
	CU_ASSERT(ms_now() - t0 < 3000);
	CU_ASSERT_EQUAL(hx_wait_line(t.inlet, HX_STDERR,
				     "closed: the outlet closed it: connection reset",
				     1, 5000, NULL, 0), 0);
	CU_ASSERT_EQUAL(hx_wait_line(t.outlet, HX_STDERR,
				     "closed: reset by the service", 1, 5000,
				     NULL, 0), 0);
	close(c);
	portal_stop_trio(&t);
	close(lfd);
}

/* No service behind the outlet: each client is reset promptly, with the
 * reason on the inlet. */
static void test_service_down(void)
{
	struct portal_trio t;
	int svc_port, bound;
	uint8_t buf[16];

	integ_begin("portal_service_down");
	bound = hx_tcp_listen(0, &svc_port); /* refuses connections */
	CU_ASSERT_FATAL(bound >= 0);
	portal_start_trio(svc_port, &t);
	for (int i = 0; i < 3; i++) {
		int c = hx_tcp_connect(t.inlet_port);
		CU_ASSERT_FATAL(c >= 0);
		long long t0 = ms_now();
		struct pollfd p = { .fd = c, .events = POLLIN };
		CU_ASSERT(poll(&p, 1, 5000) == 1);
		CU_ASSERT(recv(c, buf, sizeof(buf), 0) <= 0);
		CU_ASSERT(ms_now() - t0 < 3000);
		close(c);
	}
	CU_ASSERT_EQUAL(hx_wait_line(t.inlet, HX_STDERR,
				     "the outlet cannot connect to its service",
				     1, 5000, NULL, 0), 0);
	CU_ASSERT_EQUAL(hx_wait_line(t.outlet, HX_STDERR, "Connection refused",
				     1, 5000, NULL, 0), 0);
	portal_stop_trio(&t);
	close(bound);
}

/* ---- attacks -------------------------------------------------------- */

/* An outlet node on its own: tcp listener, the outlet with `extra`
 * (YAML lines under the worker) in front of `svc_port`. */
static struct hx_proc *start_outlet_node(const char *name, const char *extra,
					 const char *opts, int svc_port,
					 int *port)
{
	const char *cfg = integ_write_config(name,
		"node: %s\n"
		"transports:\n  tcp:\n    listen: 127.0.0.1:0\n"
		"workers:\n  outlet:\n    type: tcp_outlet\n%s"
		"    options:\n      connect: 127.0.0.1:%d\n%s",
		name, extra, svc_port, opts);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *p = integ_start_node(name, cfg, NULL, port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

static void send_open(int fd, uint32_t from)
{
	struct portal_frame f;
	uint8_t pl[16], body[5] = { 1, 0, 4, 0, 0 }; /* version 1, 256 KiB */
	size_t n = portal_payload(pl, 1, 0, from, body, sizeof(body));
	portal_frame(&f, (const char *const[]){ "outlet", NULL },
		     (const char *const[]){ "portal", NULL }, pl, n);
	CU_ASSERT_FATAL(portal_write_all(fd, f.b, f.len, 5000) == 0);
}

/* A stranger who reaches the outlet node over plain TCP opens streams:
 * the tutorial's outlet (access: secure_channel) drops them in the host;
 * an outlet with no access: refuses them itself (secure_only is the
 * default) and answers CLOSE.  The service never sees a connection. */
static void test_plaintext_open_refused(void)
{
	int svc_port, lfd, port;
	struct portal_trio t;
	struct portal_msg m;

	integ_begin("portal_plaintext_open_refused");
	lfd = hx_tcp_listen(16, &svc_port);
	CU_ASSERT_FATAL(lfd >= 0);

	/* The tutorial's outlet node. */
	portal_start_trio(svc_port, &t);
	int a = hx_tcp_connect(t.outlet_port);
	CU_ASSERT_FATAL(a >= 0);
	send_open(a, 0x00010001);
	CU_ASSERT_EQUAL(hx_wait_line(t.outlet, HX_STDERR, "access denied", 1,
				     5000, NULL, 0), 0);

	/* Without access:, the plugin's own default. */
	struct hx_proc *o = start_outlet_node("lone_outlet", "", "", svc_port,
					      &port);
	int b = hx_tcp_connect(port);
	CU_ASSERT_FATAL(b >= 0);
	send_open(b, 0x00010001);
	CU_ASSERT_FATAL(portal_frame_read(b, &m, 5000) == 0);
	CU_ASSERT_EQUAL(m.len, 10);
	CU_ASSERT_EQUAL(m.payload[0], 6); /* CLOSE */
	CU_ASSERT_EQUAL(m.payload[9], 3); /* refused: secure_only */
	CU_ASSERT_EQUAL(hx_wait_line(o, HX_STDERR,
				     "not through a secure channel (secure_only)",
				     1, 5000, NULL, 0), 0);
	/* Neither reached the service. */
	CU_ASSERT(portal_accept(lfd, 500) < 0);
	/* The portal still works for the one who may use it. */
	int c = hx_tcp_connect(t.inlet_port);
	CU_ASSERT_FATAL(c >= 0 && portal_write_all(c, "ok", 2, 5000) == 0);
	int s = portal_accept(lfd, 10000);
	CU_ASSERT(s >= 0);
	close(s);
	close(c);
	close(a);
	close(b);
	CU_ASSERT_EQUAL(hx_stop(o, HX_EXIT_MS), 0);
	portal_stop_trio(&t);
	close(lfd);
}

/* An outlet that allows plaintext (secure_only: false) still binds each
 * stream to whoever opened it: a stranger on another connection writes
 * DATA, EOF and CLOSE frames naming the victim's stream (ids are easy to
 * guess: the first is 00010001), and none of it reaches the victim's
 * service connection or ends the stream. */
static void test_inject(void)
{
	int svc_port, lfd, oport;
	struct portal_frame f;
	uint8_t pl[64], buf[64];

	integ_begin("portal_inject");
	lfd = hx_tcp_listen(16, &svc_port);
	CU_ASSERT_FATAL(lfd >= 0);
	struct hx_proc *o = start_outlet_node("outlet", "",
		"      secure_only: false\n", svc_port, &oport);
	const char *cfg = integ_write_config("inlet.yaml",
		"node: inlet\ntransports:\n  tcp: {}\n"
		"workers:\n  portal:\n    type: tcp_inlet\n    options:\n"
		"      listen: 127.0.0.1:0\n"
		"      route: [tcp:127.0.0.1:%d, outlet]\n", oport);
	struct hx_proc *in = integ_start_node("inlet", cfg, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	int iport = portal_inlet_port(in);
	CU_ASSERT_FATAL(iport > 0);

	int c = hx_tcp_connect(iport);
	CU_ASSERT_FATAL(c >= 0 && portal_write_all(c, "one.", 4, 5000) == 0);
	int s = portal_accept(lfd, 10000);
	CU_ASSERT_FATAL(s >= 0 && portal_read_n(s, buf, 4, 10000) == 0);

	/* The stranger, on its own connection to the outlet node. */
	int x = hx_tcp_connect(oport);
	CU_ASSERT_FATAL(x >= 0);
	uint8_t data[4 + 9] = { 0, 0, 0, 1 };
	memcpy(data + 4, "INJECTED!", 9);
	for (uint32_t seq = 0; seq < 3; seq++) {
		data[3] = (uint8_t)seq;
		size_t n = portal_payload(pl, 3, 0x00010001, 0x00010001, data,
					  sizeof(data));
		portal_frame(&f, (const char *const[]){ "outlet", NULL },
			     (const char *const[]){ "portal", NULL }, pl, n);
		CU_ASSERT_FATAL(portal_write_all(x, f.b, f.len, 5000) == 0);
	}
	uint8_t eof[4] = { 0, 0, 0, 1 };
	size_t n = portal_payload(pl, 4, 0x00010001, 0x00010001, eof, 4);
	portal_frame(&f, (const char *const[]){ "outlet", NULL },
		     (const char *const[]){ "portal", NULL }, pl, n);
	CU_ASSERT_FATAL(portal_write_all(x, f.b, f.len, 5000) == 0);
	uint8_t reason = 1;
	n = portal_payload(pl, 6, 0x00010001, 0x00010001, &reason, 1);
	portal_frame(&f, (const char *const[]){ "outlet", NULL },
		     (const char *const[]){ "portal", NULL }, pl, n);
	CU_ASSERT_FATAL(portal_write_all(x, f.b, f.len, 5000) == 0);
	/* One line (rate-limited); the other four counted at stop. */
	CU_ASSERT_EQUAL(hx_wait_line(o, HX_STDERR,
				     "refused a portal DATA for stream 00010001",
				     1, 5000, NULL, 0), 0);

	/* The victim's stream: nothing injected, still open both ways. */
	CU_ASSERT_FATAL(portal_write_all(c, "two.", 4, 5000) == 0);
	CU_ASSERT_EQUAL(portal_read_n(s, buf, 4, 10000), 0);
	CU_ASSERT(memcmp(buf, "two.", 4) == 0);
	CU_ASSERT_FATAL(portal_write_all(s, "back", 4, 5000) == 0);
	CU_ASSERT_EQUAL(portal_read_n(c, buf, 4, 10000), 0);
	CU_ASSERT(memcmp(buf, "back", 4) == 0);
	close(c);
	/* The service sees the victim's end, and nothing else. */
	long got = portal_read_all(s, buf, sizeof(buf), 10000);
	CU_ASSERT_EQUAL(got, 0);
	close(s);
	close(x);
	CU_ASSERT_EQUAL(hx_stop(in, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(o, HX_EXIT_MS), 0);
	CU_ASSERT(integ_contains(hx_read(o, HX_STDERR),
				 "4 more line(s) like the last 'refused a portal message from a stranger' suppressed"));
	close(lfd);
}

/* Write all of `src` to `wfd` and read `n` bytes from `rfd` into `dst`
 * at once (one thread, poll; the reader takes 1000 bytes at a time, every
 * half millisecond at most), then shut `wfd` for writing: 0, or -1 on
 * an error, an early end or no progress for `quiet_ms`. */
static int pump(int wfd, const uint8_t *src, int rfd, uint8_t *dst, size_t n,
		int quiet_ms)
{
	size_t sent = 0, got = 0;
	fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	while (got < n) {
		struct pollfd p[2] = { { .fd = rfd, .events = POLLIN },
				       { .fd = wfd, .events = sent < n ? POLLOUT : 0 } };
		if (poll(p, 2, quiet_ms) <= 0)
			return -1;
		if (sent < n && (p[1].revents & POLLOUT)) {
			/* Small writes, so the stream carries many messages. */
			size_t k = n - sent < 3000 ? n - sent : 3000;
			ssize_t w = send(wfd, src + sent, k, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN)
				return -1;
			if (w > 0 && (sent += (size_t)w) == n)
				shutdown(wfd, SHUT_WR);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			/* A slow reader: what the node writes waits in the
			 * stream's buffer and is granted back as it drains. */
			size_t k = n - got < 1000 ? n - got : 1000;
			ssize_t r = recv(rfd, dst + got, k, 0);
			if (r == 0 || (r < 0 && errno != EAGAIN))
				return -1;
			if (r > 0)
				got += (size_t)r;
			usleep(500);
		}
	}
	return 0;
}

/* Windows that are not a multiple of max_chunk, different at each end,
 * and receivers whose sockets take little at a time (so bytes wait in
 * the stream's buffer and are granted back as they drain, not as DATA
 * arrives): a sender reads its socket only once its credit makes a full
 * message (max_chunk or a quarter of the peer's window), so the rest of
 * the credit must always come back.  128 KiB each way, half-closed, arrive
 * intact and the stream ends normally; a stall would time out. */
static void test_odd_windows(void)
{
	int svc_port, lfd, oport, small = 4096;
	static uint8_t up[128 << 10], down[(128 << 10) + 777], got[(128 << 10) + 777];

	integ_begin("portal_odd_windows");
	lfd = hx_tcp_listen(16, &svc_port);
	CU_ASSERT_FATAL(lfd >= 0);
	/* The service's connection inherits it. */
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	struct hx_proc *o = start_outlet_node("outlet", "",
		"      secure_only: false\n"
		"      window: 5000\n"
		"      max_chunk: 1500\n", svc_port, &oport);
	const char *cfg = integ_write_config("inlet.yaml",
		"node: inlet\ntransports:\n  tcp: {}\n"
		"workers:\n  portal:\n    type: tcp_inlet\n    options:\n"
		"      listen: 127.0.0.1:0\n"
		"      route: [tcp:127.0.0.1:%d, outlet]\n"
		"      window: 9KiB\n"
		"      max_chunk: 4000\n", oport);
	struct hx_proc *in = integ_start_node("inlet", cfg, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	int iport = portal_inlet_port(in);
	CU_ASSERT_FATAL(iport > 0);
	fill(up, sizeof(up), 3);
	fill(down, sizeof(down), 4);

	int c = hx_tcp_connect(iport);
	CU_ASSERT_FATAL(c >= 0);
	setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	CU_ASSERT_FATAL(portal_write_all(c, up, 1, 10000) == 0);
	int s = portal_accept(lfd, 10000);
	CU_ASSERT_FATAL(s >= 0);
	CU_ASSERT_FATAL(portal_read_n(s, got, 1, 10000) == 0);
	CU_ASSERT_EQUAL(pump(c, up + 1, s, got + 1, sizeof(up) - 1, 10000), 0);
	CU_ASSERT(memcmp(got, up, sizeof(up)) == 0);
	CU_ASSERT_EQUAL(pump(s, down, c, got, sizeof(down), 10000), 0);
	CU_ASSERT(memcmp(got, down, sizeof(down)) == 0);
	/* Both ends saw the other's end of stream. */
	CU_ASSERT(portal_closed_within(s, 10000));
	CU_ASSERT(portal_closed_within(c, 10000));
	close(s);
	close(c);

	CU_ASSERT_EQUAL(hx_wait_line(in, HX_STDERR, "closed by the client",
				     1, 10000, NULL, 0), 0);
	CU_ASSERT_EQUAL(hx_stop(in, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(o, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(in, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(o, HX_STDERR), NULL), 0);
	close(lfd);
}

/* The outlet node dies (SIGKILL) while a client sits on an idle stream:
 * nothing would ever fail on its own, so the inlet's keepalive notices the
 * silence and closes the client, with one line saying why. */
static void test_outlet_node_killed(void)
{
	int svc_port, lfd, oport;
	uint8_t buf[8];

	integ_begin("portal_outlet_node_killed");
	lfd = hx_tcp_listen(16, &svc_port);
	CU_ASSERT_FATAL(lfd >= 0);
	struct hx_proc *o = start_outlet_node("outlet", "",
		"      secure_only: false\n", svc_port, &oport);
	const char *cfg = integ_write_config("inlet.yaml",
		"node: inlet\ntransports:\n  tcp: {}\n"
		"workers:\n  portal:\n    type: tcp_inlet\n    options:\n"
		"      listen: 127.0.0.1:0\n"
		"      route: [tcp:127.0.0.1:%d, outlet]\n"
		"      keepalive: 200ms\n", oport);
	struct hx_proc *in = integ_start_node("inlet", cfg, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	int iport = portal_inlet_port(in);
	CU_ASSERT_FATAL(iport > 0);
	int c = hx_tcp_connect(iport);
	CU_ASSERT_FATAL(c >= 0 && portal_write_all(c, "ping", 4, 5000) == 0);
	int s = portal_accept(lfd, 10000);
	CU_ASSERT_FATAL(s >= 0 && portal_read_n(s, buf, 4, 10000) == 0);
	/* Idle but alive: the keepalive keeps it open. */
	CU_ASSERT(!portal_closed_within(c, 1000));
	kill(hx_pid(o), SIGKILL);
	long long t0 = ms_now();
	CU_ASSERT(portal_closed_within(c, 5000));
	CU_ASSERT(ms_now() - t0 < 3000);
	CU_ASSERT_EQUAL(hx_wait_line(in, HX_STDERR, "no answer from the outlet",
				     1, 5000, NULL, 0), 0);
	close(c);
	close(s);
	CU_ASSERT_EQUAL(hx_stop(in, HX_EXIT_MS), 0);
	close(lfd);
}

static void fake_send(int fd, const struct portal_msg *open, uint8_t type,
		      uint32_t to, uint32_t from, const void *body, size_t blen)
{
	struct portal_frame f;
	static uint8_t pl[70000];
	size_t n = portal_payload(pl, type, to, from, body, blen);
	portal_frame(&f, (const char *const[]){ open->ret[0], NULL },
		     (const char *const[]){ "outlet", NULL }, pl, n);
	CU_ASSERT_FATAL(portal_write_all(fd, f.b, f.len, 5000) == 0);
}

static uint32_t from_of(const struct portal_msg *m)
{
	return (uint32_t)m->payload[5] << 24 | (uint32_t)m->payload[6] << 16 |
	       (uint32_t)m->payload[7] << 8 | m->payload[8];
}

static void fake_data(int fd, const struct portal_msg *open, uint32_t seq,
		      const char *text)
{
	uint8_t body[64] = { (uint8_t)(seq >> 24), (uint8_t)(seq >> 16),
			     (uint8_t)(seq >> 8), (uint8_t)seq };
	memcpy(body + 4, text, strlen(text));
	fake_send(fd, open, 3, from_of(open), 0x00020001 + (from_of(open) & 0xff),
		  body, 4 + strlen(text));
}

/* The test is the outlet (a raw listener the inlet's route names): a
 * message out of order, one beyond the credit granted and one that is no
 * portal message at all each close only the stream they name, with a line
 * saying what was wrong; the other client goes on. */
static void test_bad_messages(void)
{
	int fport, ffd;
	struct portal_msg m1, m2, m3;
	uint8_t buf[64];

	integ_begin("portal_bad_messages");
	ffd = hx_tcp_listen(16, &fport);
	CU_ASSERT_FATAL(ffd >= 0);
	const char *cfg = integ_write_config("inlet.yaml",
		"node: inlet\ntransports:\n  tcp: {}\n"
		"workers:\n  portal:\n    type: tcp_inlet\n    options:\n"
		"      listen: 127.0.0.1:0\n"
		"      route: [tcp:127.0.0.1:%d, outlet]\n"
		"      window: 4KiB\n", fport);
	struct hx_proc *in = integ_start_node("inlet", cfg, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	int iport = portal_inlet_port(in);
	CU_ASSERT_FATAL(iport > 0);

	int a = hx_tcp_connect(iport), b = hx_tcp_connect(iport),
	    c = hx_tcp_connect(iport);
	CU_ASSERT_FATAL(a >= 0 && b >= 0 && c >= 0);
	int node = portal_accept(ffd, 10000);
	CU_ASSERT_FATAL(node >= 0);
	/* Three OPENs, in the order the clients connected. */
	CU_ASSERT_FATAL(portal_frame_read(node, &m1, 10000) == 0);
	CU_ASSERT_FATAL(portal_frame_read(node, &m2, 10000) == 0);
	CU_ASSERT_FATAL(portal_frame_read(node, &m3, 10000) == 0);
	CU_ASSERT_EQUAL_FATAL(m1.payload[0], 1);
	CU_ASSERT_STRING_EQUAL(m1.onward[0], "outlet");
	uint8_t win[4] = { 0, 1, 0, 0 };
	fake_send(node, &m1, 2, from_of(&m1), 0x00020001 + (from_of(&m1) & 0xff), win, 4);
	fake_send(node, &m2, 2, from_of(&m2), 0x00020001 + (from_of(&m2) & 0xff), win, 4);
	fake_send(node, &m3, 2, from_of(&m3), 0x00020001 + (from_of(&m3) & 0xff), win, 4);
	fake_data(node, &m1, 0, "hello");
	fake_data(node, &m2, 0, "hello");
	fake_data(node, &m3, 0, "hello");
	CU_ASSERT_FATAL(portal_read_n(a, buf, 5, 10000) == 0);
	CU_ASSERT_FATAL(portal_read_n(b, buf, 5, 10000) == 0);
	CU_ASSERT_FATAL(portal_read_n(c, buf, 5, 10000) == 0);

	/* Out of order: a message missing (seq 7 where 1 is due). */
	fake_data(node, &m1, 7, "skipped");
	CU_ASSERT(portal_closed_within(a, 5000));
	CU_ASSERT_EQUAL(hx_wait_line(in, HX_STDERR,
				     "out of order: sequence number 7, expected 1",
				     1, 5000, NULL, 0), 0);
	/* Beyond the window granted (4 KiB). */
	static uint8_t big[8192 + 4];
	memset(big, 'x', sizeof(big));
	big[0] = big[1] = big[2] = 0;
	big[3] = 1;
	fake_send(node, &m2, 3, from_of(&m2), 0x00020001 + (from_of(&m2) & 0xff),
		  big, sizeof(big));
	CU_ASSERT(portal_closed_within(b, 5000));
	/* Not a portal message at all: dropped, nothing closed. */
	{
		struct portal_frame f;
		portal_frame(&f, (const char *const[]){ m3.ret[0], NULL },
			     (const char *const[]){ "outlet", NULL }, "xy", 2);
		CU_ASSERT_FATAL(portal_write_all(node, f.b, f.len, 5000) == 0);
	}
	CU_ASSERT_EQUAL(hx_wait_line(in, HX_STDERR, "not a portal message", 1,
				     5000, NULL, 0), 0);
	/* The third client was not touched. */
	fake_data(node, &m3, 1, "still here");
	CU_ASSERT_EQUAL(portal_read_n(c, buf, 10, 10000), 0);
	CU_ASSERT(memcmp(buf, "still here", 10) == 0);
	close(a);
	close(b);
	close(c);
	close(node);
	CU_ASSERT_EQUAL(hx_stop(in, HX_EXIT_MS), 0);
	/* The second protocol error within a second was counted, not
	 * written (rate limit per cause). */
	CU_ASSERT(integ_contains(hx_read(in, HX_STDERR),
				 "1 more line(s) like the last 'portal protocol error' suppressed"));
	close(ffd);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "portal_half_close", test_half_close },
		{ "portal_through_relay", test_through_relay },
		{ "portal_thousand", test_thousand },
		{ "portal_slow_reader", test_slow_reader },
		{ "portal_service_reset", test_service_reset },
		{ "portal_service_down", test_service_down },
		{ "portal_plaintext_open_refused", test_plaintext_open_refused },
		{ "portal_inject", test_inject },
		{ "portal_outlet_node_killed", test_outlet_node_killed },
		{ "portal_bad_messages", test_bad_messages },
		{ "portal_odd_windows", test_odd_windows },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
