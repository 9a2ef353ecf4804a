/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trace ids on the wire (docs/protocol.md, "Trace id"), seen from a raw
 * socket as a peer sees them:
 *   - a node that traces opens its connection with the hello, and while
 *     the peer never answers (a node of an earlier version, or one that
 *     does not trace) writes only version-1 frames, and gets its reply;
 *   - a node that traces answers a hello once and then writes version 2,
 *     continuing the trace id a version-2 frame brought;
 *   - a node that does not trace takes the hello silently and version-2
 *     frames too, and writes only version 1.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"
#include "trace_diagram.h"

static const uint8_t hello_body[] = {
	0x01, 0x00, 0x00, 17, 'o', 'c', 'k', 'a', 'm', '.', 't', 'r', 'a',
	'c', 'e', '-', 'i', 'd', '.', 'v', '2',
};

/* A frame: body_len u32 BE, then the body. */
static int write_frame(int fd, const uint8_t *body, size_t len)
{
	uint8_t buf[512];
	if (len + 4 > sizeof(buf))
		return -1;
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	memcpy(buf + 4, body, len);
	return write(fd, buf, len + 4) == (ssize_t)(len + 4) ? 0 : -1;
}

static int read_full(int fd, uint8_t *p, size_t len, int ms)
{
	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, ms) <= 0)
			return -1;
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The next frame's body into buf (cap bytes); its length, or -1 (none
 * within `ms`). */
static long read_frame(int fd, uint8_t *buf, size_t cap, int ms)
{
	uint8_t h[4];
	if (read_full(fd, h, 4, ms) < 0)
		return -1;
	size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 |
		     (size_t)h[2] << 8 | h[3];
	if (len > cap || read_full(fd, buf, len, ms) < 0)
		return -1;
	return (long)len;
}

/* A message to the node's [echoer] from [client], payload "x": version 1,
 * or version 2 with trace id `id`. */
static size_t echo_request(uint8_t *p, uint64_t id)
{
	size_t n = 0;
	if (id) {
		p[n++] = 0x02;
		p[n++] = 0x0a;
		p[n++] = 0x01;
		p[n++] = 0x08;
		for (int i = 7; i >= 0; i--)
			p[n++] = (uint8_t)(id >> (8 * i));
	} else {
		p[n++] = 0x01;
	}
	static const uint8_t rest[] = {
		0x01, 0x00, 0x06, 'e', 'c', 'h', 'o', 'e', 'r',
		0x01, 0x00, 0x06, 'c', 'l', 'i', 'e', 'n', 't',
		0x01, 'x',
	};
	memcpy(p + n, rest, sizeof(rest));
	return n + sizeof(rest);
}

/* The echoer's reply, version 1 or 2; its trace id in *id (0 for v1).
 * 0 if it is the expected [client] <- [echoer] "x", else -1. */
static int check_reply(const uint8_t *b, long len, uint64_t *id)
{
	static const uint8_t rest[] = {
		0x01, 0x00, 0x06, 'c', 'l', 'i', 'e', 'n', 't',
		0x01, 0x00, 0x06, 'e', 'c', 'h', 'o', 'e', 'r',
		0x01, 'x',
	};
	size_t at = 1;
	*id = 0;
	if (len < 1)
		return -1;
	if (b[0] == 0x02) {
		if (len < 12 || b[1] != 0x0a || b[2] != 0x01 || b[3] != 0x08)
			return -1;
		for (int i = 0; i < 8; i++)
			*id = *id << 8 | b[4 + i];
		at = 12;
	} else if (b[0] != 0x01) {
		return -1;
	}
	if ((size_t)len != at + sizeof(rest) || memcmp(b + at, rest, sizeof(rest)))
		return -1;
	return 0;
}

static const char echo_yaml[] =
	"node: echo\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: 127.0.0.1:0\n"
	"workers:\n"
	"  echoer:\n"
	"    type: echoer\n";

/* An initiator that traces, and a peer that never answers the hello: it
 * sees the hello, then version 1 only, and its version-1 reply gets to
 * the app. */
static void test_old_peer_gets_v1(void)
{
	int port, lfd;
	uint8_t b[512];
	char env_trace[600];

	integ_begin("trace-wire-old");
	lfd = hx_tcp_listen(4, &port);
	CU_ASSERT_FATAL(lfd >= 0);
	const char *cfg = integ_write_config("tracer.yaml",
		"node: tracer\n"
		"transports:\n"
		"  tcp: {}\n"
		"messages:\n"
		"  - route: [tcp:127.0.0.1:%d, echoer]\n"
		"    payload: x\n"
		"    timeout: 5s\n", port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	snprintf(env_trace, sizeof(env_trace), "OCKAM_TRACE=%s/t.jsonl",
		 hx_dir(H));
	const char *const env[] = { env_trace, NULL };
	struct hx_proc *p = hx_spawn_host(H, "tracer", cfg, env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);

	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	CU_ASSERT_FATAL(poll(&pfd, 1, HX_READY_MS) == 1);
	int fd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(fd >= 0);
	long n = read_frame(fd, b, sizeof(b), HX_READY_MS);
	CU_ASSERT_EQUAL_FATAL(n, (long)sizeof(hello_body));
	CU_ASSERT(memcmp(b, hello_body, sizeof(hello_body)) == 0);
	/* Not answered: the request comes as version 1. */
	n = read_frame(fd, b, sizeof(b), HX_READY_MS);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(b[0], 0x01);
	/* An old echoer's answer: [app] from [echoer]. */
	static const uint8_t reply[] = {
		0x01, 0x01, 0x00, 0x03, 'a', 'p', 'p',
		0x01, 0x00, 0x06, 'e', 'c', 'h', 'o', 'e', 'r', 0x01, 'x',
	};
	CU_ASSERT_EQUAL(write_frame(fd, reply, sizeof(reply)), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "App Received: x\n");
	close(fd);
	close(lfd);
}

/* A listener that traces: a hello is answered (once), then replies are
 * version 2; a version-2 request's id is the reply's id, and the trace
 * file names it; a version-1 request starts a flow of its own. */
static void test_tracing_listener_answers(void)
{
	int port;
	uint8_t b[512], req[64];
	char env_trace[640], tpath[600];
	uint64_t id;

	integ_begin("trace-wire-listener");
	const char *cfg = integ_write_config("echo.yaml", "%s", echo_yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	snprintf(tpath, sizeof(tpath), "%s/t.jsonl", hx_dir(H));
	snprintf(env_trace, sizeof(env_trace), "OCKAM_TRACE=%s", tpath);
	const char *const env[] = { env_trace, NULL };
	struct hx_proc *p = integ_start_node("echo", cfg, env, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	int fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);

	/* Before the hello: replies are version 1, even to version 2. */
	CU_ASSERT_EQUAL(write_frame(fd, req, echo_request(req, 0x77)), 0);
	long n = read_frame(fd, b, sizeof(b), HX_READY_MS);
	CU_ASSERT_EQUAL(check_reply(b, n, &id), 0);
	CU_ASSERT_EQUAL(id, 0);

	CU_ASSERT_EQUAL(write_frame(fd, hello_body, sizeof(hello_body)), 0);
	n = read_frame(fd, b, sizeof(b), HX_READY_MS);
	CU_ASSERT_EQUAL_FATAL(n, (long)sizeof(hello_body));
	CU_ASSERT(memcmp(b, hello_body, sizeof(hello_body)) == 0);
	/* A second hello is not answered again (no ping-pong). */
	CU_ASSERT_EQUAL(write_frame(fd, hello_body, sizeof(hello_body)), 0);

	CU_ASSERT_EQUAL(write_frame(fd, req, echo_request(req, 0x1122334455667788ull)), 0);
	n = read_frame(fd, b, sizeof(b), HX_READY_MS);
	CU_ASSERT_EQUAL(check_reply(b, n, &id), 0);
	CU_ASSERT_EQUAL(id, 0x1122334455667788ull);
	/* A version-1 request now gets a fresh id, on version 2. */
	CU_ASSERT_EQUAL(write_frame(fd, req, echo_request(req, 0)), 0);
	n = read_frame(fd, b, sizeof(b), HX_READY_MS);
	CU_ASSERT_EQUAL(check_reply(b, n, &id), 0);
	CU_ASSERT(id != 0 && id != 0x1122334455667788ull);
	close(fd);

	CU_ASSERT_EQUAL(hx_stop(p, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(p, HX_STDERR), NULL), 0);
	char *t = td_read_file(tpath);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(integ_contains(t, "\"ev\":\"deliver\",\"mono_ns\""));
	CU_ASSERT(integ_contains(t, "\"worker\":\"echoer\",\"trace\":\"1122334455667788\""));
	free(t);
}

/* A node that does not trace: the hello is taken silently (no answer, no
 * warning), a version-2 request is read, replies are version 1. */
static void test_untraced_node_ignores(void)
{
	int port;
	uint8_t b[512], req[64];
	uint64_t id;

	integ_begin("trace-wire-untraced");
	const char *cfg = integ_write_config("echo.yaml", "%s", echo_yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *p = integ_start_node("echo", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	int fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write_frame(fd, hello_body, sizeof(hello_body)), 0);
	CU_ASSERT_EQUAL(write_frame(fd, req, echo_request(req, 0x42)), 0);
	/* The first frame back is the reply: no hello came. */
	long n = read_frame(fd, b, sizeof(b), HX_READY_MS);
	CU_ASSERT_EQUAL(check_reply(b, n, &id), 0);
	CU_ASSERT_EQUAL(b[0], 0x01);
	close(fd);
	CU_ASSERT_EQUAL(hx_stop(p, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(p, HX_STDERR), NULL), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "a peer that never answers the hello gets version 1",
		  test_old_peer_gets_v1 },
		{ "a tracing listener answers the hello, carries ids",
		  test_tracing_listener_answers },
		{ "a node without tracing ignores hello and ids",
		  test_untraced_node_ignores },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
