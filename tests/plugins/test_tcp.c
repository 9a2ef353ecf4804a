/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tcp transport plugin, driven through a real in-process node (the host
 * core library) and raw loopback sockets that speak the framing: u32
 * big-endian length + an encoded message.  The node's log (stderr) goes to
 * a temporary file so that the tests assert on the lines a user would see.
 */
#include <CUnit/Basic.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "loop.h"
#include "node.h"

#define WAIT_MS 3000
#define MAX_MSG 1024
#define DNS_A 1

static char dir[64];
static char log_path[96];
static struct node *node;
static int port;
static int client_rcvbuf; /* nonzero: SO_RCVBUF for new clients */

/* The last frame received (client_recv) as views into in_body, and the
 * message frame_build encodes. */
static struct ockam_message out_msg, in_msg;
static struct ockam_addr in_hops[OCKAM_DECODE_HOPS];
static uint8_t in_body[8192];

/* ---- helpers ------------------------------------------------------ */

static char *file_read(const char *path, long from)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f) - from;
	if (n < 0)
		n = 0;
	fseek(f, from, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n)
		s[0] = '\0';
	fclose(f);
	return s;
}

static long log_mark(void)
{
	fflush(stderr);
	return lseek(STDERR_FILENO, 0, SEEK_END);
}

static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Occurrences of `needle` in the log since `mark`. */
static unsigned log_count(long mark, const char *needle)
{
	char *s = file_read(log_path, mark);
	unsigned n = count_of(s, needle);

	free(s);
	return n;
}

static void pump(int ms)
{
	uint64_t end = loop_now_ms() + (uint64_t)ms;

	while (loop_now_ms() < end)
		loop_dispatch(node->loop, 5);
}

/* Pump until `needle` shows up in the log since `mark`. */
/* Inbound connections' close lines are limited to one a second per
 * cause: a test that expects the line of a cause an earlier test has
 * just logged waits for the limiter's second to pass. */
static void limiter_pass(void)
{
	pump(1100);
}

static int log_wait(long mark, const char *needle)
{
	uint64_t end = loop_now_ms() + WAIT_MS;

	while (loop_now_ms() < end) {
		if (log_count(mark, needle))
			return 1;
		loop_dispatch(node->loop, 5);
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

struct client {
	int fd;
	uint8_t buf[8192];
	size_t len;
};

static int client_recv_ms(struct client *c, int ms);

static int client_recv(struct client *c)
{
	return client_recv_ms(c, WAIT_MS);
}

static int client_open(struct client *c, int to_port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)to_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;

	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (client_rcvbuf)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &client_rcvbuf,
			   sizeof(client_rcvbuf));
	/* Loopback connects complete from the backlog, before accept. */
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(c->fd);
		return -1;
	}
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	return 0;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int client_write(struct client *c, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t end = loop_now_ms() + WAIT_MS;

	while (len) {
		ssize_t n = send(c->fd, b, len, MSG_NOSIGNAL);

		if (n > 0) {
			b += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EAGAIN && loop_now_ms() < end) {
			loop_dispatch(node->loop, 5);
		} else {
			return -1;
		}
	}
	return 0;
}

/* Receive one frame into in_msg.  1: got one, 0: EOF or reset, -1: none
 * within `ms`. */
static int client_recv_ms(struct client *c, int ms)
{
	uint64_t end = loop_now_ms() + (uint64_t)ms;

	for (;;) {
		if (c->len >= 4) {
			uint32_t l = (uint32_t)c->buf[0] << 24 |
				     (uint32_t)c->buf[1] << 16 |
				     (uint32_t)c->buf[2] << 8 | c->buf[3];

			if (l > sizeof(c->buf) - 4)
				return -1;
			if (c->len >= 4 + l) {
				int rc;

				/* in_msg's views point into the body: keep
				 * it valid until the next call by copying it
				 * out of buf. */
				memcpy(in_body, c->buf + 4, l);
				rc = codec_decode(in_body, l, &in_msg, in_hops,
						  OCKAM_DECODE_HOPS);
				memmove(c->buf, c->buf + 4 + l,
					c->len - 4 - l);
				c->len -= 4 + l;
				return rc == 0 ? 1 : -1;
			}
		}
		ssize_t n = recv(c->fd, c->buf + c->len,
				 sizeof(c->buf) - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return 0;
		if (loop_now_ms() >= end)
			return -1;
		loop_dispatch(node->loop, 5);
	}
}

/* Build a frame: onward and return routes as "name" (local) or
 * "tcp:host:port" items, NULL-terminated. */
static size_t frame_build(uint8_t *buf, size_t cap, const char *const *on,
			  const char *const *ret, const void *payload,
			  size_t payload_len)
{
	static struct ockam_addr hops[2][OCKAM_ROUTE_MAX];
	size_t n;

	ockam_message_init(&out_msg);
	for (int r = 0; r < 2; r++) {
		const char *const *v = r ? ret : on;
		size_t i;

		for (i = 0; v && v[i] && i < OCKAM_ROUTE_MAX; i++) {
			if (strncmp(v[i], "tcp:", 4) == 0)
				ockam_addr_set(&hops[r][i], OCKAM_ADDR_TCP,
					       v[i] + 4, strlen(v[i] + 4));
			else
				ockam_addr_local(&hops[r][i], v[i]);
		}
		if (r)
			out_msg.ret = ockam_route_make(hops[r], i);
		else
			out_msg.onward = ockam_route_make(hops[r], i);
	}
	out_msg.payload = payload;
	out_msg.payload_len = payload_len;
	n = codec_encode(&out_msg, buf + 4, cap - 4);
	if (!n)
		return 0;
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	return n + 4;
}

static int addr_is(const struct ockam_addr *a, uint8_t type, const char *s)
{
	return a->type == type && a->len == strlen(s) &&
	       memcmp(a->data, s, a->len) == 0;
}

/* Send "hello <i>" to [hop, echoer] and expect it back, addressed to
 * [client] only: the node pops its own TCP hop before writing. */
static int echo_ok(struct client *c, int i)
{
	static const char *const on[] = {"hop", "echoer", NULL};
	static const char *const ret[] = {"client", NULL};
	uint8_t f[512];
	char text[32];
	int n = snprintf(text, sizeof(text), "hello %d", i);
	size_t len = frame_build(f, sizeof(f), on, ret, text, (size_t)n);

	if (!len || client_write(c, f, len) < 0 || client_recv(c) != 1)
		return 0;
	return in_msg.onward.count == 1 &&
	       addr_is(&in_msg.onward.hop[0], OCKAM_ADDR_LOCAL, "client") &&
	       in_msg.payload_len == (size_t)n &&
	       memcmp(in_msg.payload, text, (size_t)n) == 0;
}

/* ---- suite setup: one node with tcp, echoer and hop ---------------- */

static int node_start_yaml(const char *yaml)
{
	char path[128], *log, *at;
	struct node_args args = {.config_path = path, .log_level = -1};
	int code;
	long mark = log_mark();

	snprintf(path, sizeof(path), "%s/node.yaml", dir);
	if (write_file(path, yaml) < 0)
		return -1;
	node = node_create(&args, &code);
	if (!node || node_start(node) < 0)
		return -1;
	fflush(stderr);
	log = file_read(log_path, mark);
	at = strstr(log, "listening on 127.0.0.1:");
	port = at ? atoi(at + strlen("listening on 127.0.0.1:")) : 0;
	free(log);
	return port > 0 ? 0 : -1;
}

/* The suites' node: `name`, with node-level keys `top` and the tcp
 * options `tcp` (lines indented by four), listening on a free port, with
 * an echoer and a hop. */
static int node_start_tcp(const char *name, const char *top, const char *tcp)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml),
		 "node: %s\n"
		 "%s"
		 "transports:\n"
		 "  tcp:\n"
		 "    listen: 127.0.0.1:0\n"
		 "%s"
		 "workers:\n"
		 "  echoer:\n"
		 "    type: echoer\n"
		 "  hop:\n"
		 "    type: hop\n"
		 "    options: { to: ['tcp:*:*'] }\n"
		 "after_messages: run\n",
		 name, top, tcp);
	return node_start_yaml(yaml);
}

static int suite_init(void)
{
	return node_start_tcp("tcptest", "",
			      "    max_message_size: 1KiB\n"
			      "    connect_timeout: 2s\n"
			      "    send_queue_limit: 64KiB\n");
}

/* Small limits: two inbound connections, two outbound, 1 s idle, 300 ms
 * connects; the status service answers at "status". */
static int suite_limits_init(void)
{
	return node_start_tcp("tcplimits", "status: true\n",
			      "    max_connections: 2\n"
			      "    max_outbound: 2\n"
			      "    idle_timeout: 1s\n"
			      "    connect_timeout: 300ms\n"
			      "    keepalive: 10s\n");
}

static int suite_clean(void)
{
	node_destroy(node);
	node = NULL;
	return 0;
}

/* ---- tests -------------------------------------------------------- */

static void test_echo_single_hop(void)
{
	struct client c;

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT(echo_ok(&c, 1));
	/* Replies come back as [hop, echoer]: the reply's return route. */
	CU_ASSERT_EQUAL(in_msg.ret.count, 2);
	CU_ASSERT(addr_is(&in_msg.ret.hop[0], OCKAM_ADDR_LOCAL, "hop"));
	CU_ASSERT(echo_ok(&c, 2));
	client_close(&c);
}

/* Many frames in one write, then one frame a byte at a time. */
static void test_batched_and_split_frames(void)
{
	static const char *const on[] = {"echoer", NULL};
	static const char *const ret[] = {"client", NULL};
	static uint8_t batch[50 * 64];
	uint8_t f[64];
	size_t used = 0, len;
	struct client c;
	int i, got = 0;

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	for (i = 0; i < 50; i++) {
		char text[16];
		int n = snprintf(text, sizeof(text), "m%02d", i);

		len = frame_build(batch + used, sizeof(batch) - used, on, ret,
				  text, (size_t)n);
		CU_ASSERT_FATAL(len > 0);
		used += len;
	}
	CU_ASSERT_FATAL(client_write(&c, batch, used) == 0);
	for (i = 0; i < 50; i++) {
		char text[16];
		int n = snprintf(text, sizeof(text), "m%02d", i);

		if (client_recv(&c) == 1 && in_msg.payload_len == (size_t)n &&
		    memcmp(in_msg.payload, text, (size_t)n) == 0)
			got++;
	}
	CU_ASSERT_EQUAL(got, 50);

	len = frame_build(f, sizeof(f), on, ret, "split", 5);
	for (size_t k = 0; k < len; k++) {
		CU_ASSERT_FATAL(client_write(&c, f + k, 1) == 0);
		pump(2);
	}
	CU_ASSERT_EQUAL(client_recv(&c), 1);
	CU_ASSERT(in_msg.payload_len == 5 &&
		  memcmp(in_msg.payload, "split", 5) == 0);
	client_close(&c);
}

/* A frame over max_message_size closes that connection only. */
static void test_oversized_frame_closes_only_that_connection(void)
{
	static const uint8_t hdr[4] = {0, 0, 0x07, 0xd0}; /* 2000 */
	struct client bad, good;
	long mark = log_mark();

	CU_ASSERT_FATAL(client_open(&good, port) == 0);
	CU_ASSERT_FATAL(client_open(&bad, port) == 0);
	CU_ASSERT(echo_ok(&good, 1));
	CU_ASSERT_FATAL(client_write(&bad, hdr, sizeof(hdr)) == 0);
	CU_ASSERT_EQUAL(client_recv(&bad), 0); /* closed by the node */
	CU_ASSERT_EQUAL(log_count(mark, "frame of 2000 bytes exceeds "
					"max_message_size 1024"),
			1);
	CU_ASSERT(echo_ok(&good, 2));
	client_close(&bad);
	client_close(&good);
}

static void test_4gib_length_prefix(void)
{
	static const uint8_t hdr[8] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4};
	struct client c;
	long mark;

	limiter_pass();
	mark = log_mark();
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(client_write(&c, hdr, sizeof(hdr)) == 0);
	CU_ASSERT_EQUAL(client_recv(&c), 0);
	CU_ASSERT_EQUAL(log_count(mark, "frame of 4294967295 bytes exceeds "
					"max_message_size 1024"),
			1);
	client_close(&c);
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT(echo_ok(&c, 3));
	client_close(&c);
}

static void test_garbage_body(void)
{
	static const uint8_t junk[4 + 16] = {0, 0, 0, 16, 0xde, 0xad, 0xbe,
					     0xef, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff};
	struct client c;
	long mark = log_mark();

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(client_write(&c, junk, sizeof(junk)) == 0);
	CU_ASSERT_EQUAL(client_recv(&c), 0);
	CU_ASSERT_EQUAL(log_count(mark, "malformed 16-byte message"), 1);
	client_close(&c);
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT(echo_ok(&c, 4));
	client_close(&c);
}

static void test_peer_vanishes_mid_frame(void)
{
	static const uint8_t part[14] = {0, 0, 0, 100, 1, 1, 6, 'e', 'c'};
	struct client c;
	long mark = log_mark();

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(client_write(&c, part, sizeof(part)) == 0);
	pump(20);
	client_close(&c);
	CU_ASSERT(log_wait(mark, "peer closed mid-frame (14 of 104 bytes "
				 "received)"));
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT(echo_ok(&c, 5));
	client_close(&c);
}

/* [hop, tcp:127.0.0.1:<node>, echoer]: the node's hop (whose `to:`
 * allows any address) connects to itself on demand and the reply retraces
 * both TCP hops. */
static void test_connect_on_demand(void)
{
	char self[32];
	const char *on[] = {"hop", self, "echoer", NULL};
	static const char *const ret[] = {"client", NULL};
	uint8_t f[256];
	struct client c;
	size_t len;
	long mark = log_mark();
	char want[64];

	snprintf(self, sizeof(self), "tcp:127.0.0.1:%d", port);
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	len = frame_build(f, sizeof(f), on, ret, "round trip", 10);
	CU_ASSERT_FATAL(client_write(&c, f, len) == 0);
	CU_ASSERT_EQUAL_FATAL(client_recv(&c), 1);
	CU_ASSERT(in_msg.payload_len == 10 &&
		  memcmp(in_msg.payload, "round trip", 10) == 0);
	CU_ASSERT_EQUAL(in_msg.onward.count, 1);
	snprintf(want, sizeof(want), "connected to 127.0.0.1:%d", port);
	CU_ASSERT_EQUAL(log_count(mark, want), 1);
	/* A second message reuses the connection. */
	CU_ASSERT_FATAL(client_write(&c, f, len) == 0);
	CU_ASSERT_EQUAL(client_recv(&c), 1);
	CU_ASSERT_EQUAL(log_count(mark, want), 1);
	client_close(&c);
}

/* A loopback port bound but not listening: refuses connects for as long
 * as `*fd` is open, and listen(*fd) opens it. */
static int bound_port(int *fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	return ntohs(sa.sin_port);
}

/* Ask the node's hop to forward `text` to [tcp:127.0.0.1:<to>, echoer]. */
static int send_via(struct client *c, int to, const char *text)
{
	char hop[32];
	const char *on[] = {"hop", hop, "echoer", NULL};
	static const char *const ret[] = {"client", NULL};
	uint8_t f[256];
	size_t len;

	snprintf(hop, sizeof(hop), "tcp:127.0.0.1:%d", to);
	len = frame_build(f, sizeof(f), on, ret, text, strlen(text));
	return len ? client_write(c, f, len) : -1;
}

/* Accept on non-blocking listener `lfd` while pumping the node. */
static int accept_wait(int lfd)
{
	uint64_t end = loop_now_ms() + WAIT_MS;

	while (loop_now_ms() < end) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0)
			return fd;
		loop_dispatch(node->loop, 5);
	}
	return -1;
}

/* A closed port: the first send fails with one line giving the backoff;
 * sends during the backoff fail at once without more lines; attempts
 * back off exponentially (counted by the "restored after N attempts" line
 * once the port opens), and the message after that gets through. */
static void test_backoff_on_closed_port(void)
{
	char want[160], key[32];
	struct client c;
	int lfd, p = bound_port(&lfd), afd, i, attempts = 0;
	long mark = log_mark();
	const char *at;
	char *log;

	CU_ASSERT_FATAL(p > 0);
	snprintf(key, sizeof(key), "127.0.0.1:%d", p);
	snprintf(want, sizeof(want),
		 "cannot connect to %s: Connection refused; dropped 1 queued "
		 "message (", key);
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via(&c, p, "first") == 0);
	CU_ASSERT(log_wait(mark, want));
	CU_ASSERT(log_count(mark, "; retrying on next send after 0.1s"));
	/* 1.5 s of a message every 10 ms: 0.1 + 0.2 + 0.4 + 0.8 s of
	 * backoff allow at most 5 attempts (6 with -20% jitter). */
	for (i = 0; i < 150; i++) {
		CU_ASSERT_FATAL(send_via(&c, p, "again") == 0);
		pump(10);
	}
	CU_ASSERT_EQUAL(log_count(mark, key), 1); /* one line, no more */
	CU_ASSERT_FATAL(listen(lfd, 8) == 0);
	for (i = 0; i < 400 && !log_count(mark, "restored after"); i++) {
		CU_ASSERT_FATAL(send_via(&c, p, "open now") == 0);
		pump(10);
	}
	log = file_read(log_path, mark);
	at = strstr(log, "restored after ");
	if (at)
		attempts = atoi(at + strlen("restored after "));
	CU_ASSERT(attempts >= 3 && attempts <= 7);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "messages not sent while down"));
	free(log);
	afd = accept_wait(lfd);
	CU_ASSERT(afd >= 0);
	if (afd >= 0)
		close(afd);
	close(lfd);
	CU_ASSERT(echo_ok(&c, 6)); /* the client's own connection is fine */
	client_close(&c);
}

/* An outbound connection the peer closes is lost with one line and
 * re-established by the next send after the (short) backoff. */
static void test_reconnect_after_peer_closes(void)
{
	char want[96];
	struct client c, peer;
	int lfd, p = bound_port(&lfd), i;
	long mark = log_mark();

	CU_ASSERT_FATAL(p > 0 && listen(lfd, 8) == 0);
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via(&c, p, "one") == 0);
	peer.len = 0;
	peer.fd = accept_wait(lfd);
	CU_ASSERT_FATAL(peer.fd >= 0);
	CU_ASSERT_EQUAL(client_recv(&peer), 1);
	CU_ASSERT(in_msg.payload_len == 3 &&
		  memcmp(in_msg.payload, "one", 3) == 0);
	client_close(&peer);
	snprintf(want, sizeof(want),
		 "connection to 127.0.0.1:%d lost: closed by peer; "
		 "reconnecting on next send after 0.1s", p);
	CU_ASSERT(log_wait(mark, want));
	pump(150); /* past the backoff */
	CU_ASSERT_FATAL(send_via(&c, p, "two") == 0);
	peer.len = 0;
	peer.fd = accept_wait(lfd);
	CU_ASSERT_FATAL(peer.fd >= 0);
	CU_ASSERT_EQUAL(client_recv(&peer), 1);
	CU_ASSERT(in_msg.payload_len == 3 &&
		  memcmp(in_msg.payload, "two", 3) == 0);
	snprintf(want, sizeof(want),
		 "connection to 127.0.0.1:%d restored after 1 attempt", p);
	CU_ASSERT(log_wait(mark, want));
	/* Further sends use it: no new connection. */
	for (i = 0; i < 3; i++)
		CU_ASSERT_FATAL(send_via(&c, p, "more") == 0);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(client_recv(&peer), 1);
	CU_ASSERT(accept4(lfd, NULL, NULL, 0) < 0);
	client_close(&peer);
	close(lfd);
	CU_ASSERT(log_wait(mark, "lost: closed by peer; reconnecting"));
	client_close(&c);
}

/* A reply to a peer that has disconnected: its ephemeral "ip:port" is not
 * dialled (that could reach an unrelated service); one clear line. */
static void test_inbound_key_not_dialled(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct client gone, c;
	char want[96], key[32];
	int gport;
	long mark = log_mark();

	CU_ASSERT_FATAL(client_open(&gone, port) == 0);
	CU_ASSERT(echo_ok(&gone, 1));
	getsockname(gone.fd, (struct sockaddr *)&sa, &sl);
	gport = ntohs(sa.sin_port);
	snprintf(key, sizeof(key), "127.0.0.1:%d", gport);
	limiter_pass();
	client_close(&gone);
	snprintf(want, sizeof(want), "connection from %s closed", key);
	CU_ASSERT(log_wait(mark, want));

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via(&c, gport, "late reply") == 0);
	snprintf(want, sizeof(want),
		 "no connection from %s (peer disconnected): message not sent",
		 key);
	CU_ASSERT(log_wait(mark, want));
	pump(50);
	snprintf(want, sizeof(want), "connect to %s", key);
	CU_ASSERT_EQUAL(log_count(mark, want), 0); /* no dial, no attempt */
	CU_ASSERT(echo_ok(&c, 2));
	client_close(&c);
}

/* Forwarding a message that grows past the limit is refused with
 * -EMSGSIZE and one line naming the size and the limit: never truncated. */
static void test_oversized_send_refused(void)
{
	static const char *const on[] = {"hop", "tcp:a:1", "echoer", NULL};
	static uint8_t f[MAX_MSG + 64], payload[MAX_MSG];
	struct client c;
	size_t len;
	long mark = log_mark();

	/* A frame of exactly the limit; forwarding moves "hop" from onward
	 * to return, pops "a:1" (5 bytes encoded) and pushes the inbound
	 * "127.0.0.1:<port>" (17): 1036. */
	len = frame_build(f, sizeof(f), on, NULL, payload, 0);
	len = frame_build(f, sizeof(f), on, NULL, payload,
			  MAX_MSG - (len - 4) - 1);
	CU_ASSERT_FATAL(len == 4 + MAX_MSG);
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(client_write(&c, f, len) == 0);
	CU_ASSERT(log_wait(mark, "message to a:1 is 1036 bytes encoded, over "
				 "max_message_size 1024: not sent"));
	CU_ASSERT_EQUAL(log_count(mark, "max_message_size"), 1);
	CU_ASSERT(echo_ok(&c, 7)); /* the connection stays */
	client_close(&c);
}

/* A peer that does not read: the node's queue to it fills, sends are
 * refused with one log line (not one per message), and the connection
 * recovers once the peer reads again. */
static void test_send_queue_limit(void)
{
	static const char *const on[] = {"echoer", NULL};
	static const char *const ret[] = {"client", NULL};
	static uint8_t batch[64 * 1024], payload[900];
	const char *full = "is full (";
	struct client c;
	size_t used = 0, len;
	long mark = log_mark();
	int i, after = -1;

	client_rcvbuf = 4096;
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	client_rcvbuf = 0;
	for (i = 0; i < 64; i++) {
		len = frame_build(batch + used, sizeof(batch) - used, on, ret,
				  payload, sizeof(payload));
		CU_ASSERT_FATAL(len > 0);
		used += len;
	}
	/* Up to ~18 MB of requests; stop a while after the first refusal. */
	for (i = 0; i < 300 && after < 5; i++) {
		CU_ASSERT_FATAL(client_write(&c, batch, used) == 0);
		pump(1);
		if (after >= 0)
			after++;
		else if (log_count(mark, full))
			after = 0;
	}
	CU_ASSERT(after >= 0);
	CU_ASSERT_EQUAL(log_count(mark, full), 1);
	CU_ASSERT_EQUAL(log_count(mark, "send_queue_limit 65536"), 1);
	/* Read everything back; then the connection works as before. */
	while (client_recv_ms(&c, 300) == 1)
		;
	CU_ASSERT(echo_ok(&c, 8));
	client_close(&c);
}

/* ---- limits (suite "tcp limits") --------------------------------- */

/* Past max_connections an accepted connection is closed at once, with one
 * line however many are refused; a freed slot is usable again. */
static void test_max_connections(void)
{
	struct client a, b, x, y;
	long mark = log_mark(), m2;

	CU_ASSERT_FATAL(client_open(&a, port) == 0);
	CU_ASSERT(echo_ok(&a, 1));
	CU_ASSERT_FATAL(client_open(&b, port) == 0);
	CU_ASSERT(echo_ok(&b, 2));
	CU_ASSERT_FATAL(client_open(&x, port) == 0);
	CU_ASSERT_FATAL(client_open(&y, port) == 0);
	CU_ASSERT_EQUAL(client_recv(&x), 0); /* closed by the node */
	CU_ASSERT_EQUAL(client_recv(&y), 0);
	CU_ASSERT_EQUAL(log_count(mark, "max_connections (2) reached"), 1);
	CU_ASSERT(echo_ok(&a, 3)); /* the others are unaffected */
	client_close(&x);
	client_close(&y);
	m2 = log_mark();
	client_close(&b);
	CU_ASSERT(log_wait(m2, "closed: closed by peer"));
	CU_ASSERT_FATAL(client_open(&b, port) == 0);
	CU_ASSERT(echo_ok(&b, 4));
	client_close(&a);
	client_close(&b);
	pump(50);
}

/* An inbound connection silent for idle_timeout is closed with one line;
 * one that keeps talking stays. */
static void test_idle_timeout(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct client quiet, busy;
	char want[96];
	long mark = log_mark();
	int i;

	CU_ASSERT_FATAL(client_open(&quiet, port) == 0);
	CU_ASSERT_FATAL(client_open(&busy, port) == 0);
	CU_ASSERT(echo_ok(&quiet, 1));
	getsockname(quiet.fd, (struct sockaddr *)&sa, &sl);
	for (i = 0; i < 8; i++) { /* 1.6 s */
		CU_ASSERT(echo_ok(&busy, i));
		pump(200);
	}
	snprintf(want, sizeof(want),
		 "connection from 127.0.0.1:%d closed: idle for 1.0s "
		 "(idle_timeout)", ntohs(sa.sin_port));
	CU_ASSERT_EQUAL(log_count(mark, want), 1);
	CU_ASSERT_EQUAL(client_recv_ms(&quiet, 100), 0);
	CU_ASSERT_EQUAL(log_count(mark, "(idle_timeout)"), 1);
	CU_ASSERT(echo_ok(&busy, 99));
	client_close(&quiet);
	client_close(&busy);
	pump(50);
}

/* A peer that never answers the SYN (a listener whose backlog is full):
 * the connect gives up after connect_timeout with one line. */
static void test_connect_timeout(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct client c;
	char want[128];
	int lfd, p = bound_port(&lfd), fill[4], i;
	long mark = log_mark();
	uint64_t t0;

	CU_ASSERT_FATAL(p > 0 && listen(lfd, 0) == 0);
	sa.sin_port = htons((uint16_t)p);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	pump(50);
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	t0 = loop_now_ms();
	CU_ASSERT_FATAL(send_via(&c, p, "anyone?") == 0);
	snprintf(want, sizeof(want),
		 "cannot connect to 127.0.0.1:%d: timed out after 300 ms; "
		 "dropped 1 queued message", p);
	CU_ASSERT(log_wait(mark, want));
	CU_ASSERT(loop_now_ms() - t0 >= 290 && loop_now_ms() - t0 < 2000);
	for (i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
	client_close(&c);
	pump(50);
}

/* The node's status table, asked over `c`; NULL if no answer. */
static char *status_ask(struct client *c)
{
	static const char *const on[] = {"status", NULL};
	static const char *const ret[] = {"client", NULL};
	uint8_t f[128];
	size_t len = frame_build(f, sizeof(f), on, ret, "table", 5);
	char *text;

	if (!len || client_write(c, f, len) < 0 || client_recv(c) != 1)
		return NULL;
	text = calloc(1, in_msg.payload_len + 1);
	if (text)
		memcpy(text, in_msg.payload, in_msg.payload_len);
	return text;
}

/* The status row of `kind` and `name`, copied into `out`; 0 if found. */
static int status_row(const char *table, const char *kind, const char *name,
		      char *out, size_t cap)
{
	size_t kl = strlen(kind), nl = strlen(name);

	for (const char *l = table; l && *l;) {
		const char *e = strchr(l, '\n'), *p = l;

		if (!e)
			e = l + strlen(l);
		if (strncmp(p, kind, kl) == 0 && p[kl] == ' ') {
			p += kl;
			while (*p == ' ')
				p++;
			if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
				snprintf(out, cap, "%.*s", (int)(e - l), l);
				return 0;
			}
		}
		l = *e ? e + 1 : e;
	}
	return -1;
}

/* Past max_outbound a message to yet another address is not sent: one
 * line (not one per message), a count in the status, no connection
 * attempt; once one of the connections goes, a new address works. */
static void test_max_outbound(void)
{
	struct client c, peer[2];
	int lfd[3], p[3], i;
	long mark = log_mark();
	char want[128], row[256], *st;

	for (i = 0; i < 3; i++) {
		p[i] = bound_port(&lfd[i]);
		CU_ASSERT_FATAL(p[i] > 0 && listen(lfd[i], 8) == 0);
	}
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(send_via(&c, p[i], "fits") == 0);
		peer[i].len = 0;
		peer[i].fd = accept_wait(lfd[i]);
		CU_ASSERT_FATAL(peer[i].fd >= 0);
		CU_ASSERT_EQUAL(client_recv(&peer[i]), 1);
	}
	/* Two open: the third address is refused, every time, one line. */
	for (i = 0; i < 5; i++)
		CU_ASSERT_FATAL(send_via(&c, p[2], "one too many") == 0);
	snprintf(want, sizeof(want),
		 "message to 127.0.0.1:%d not sent: max_outbound (2) outbound "
		 "connections open", p[2]);
	CU_ASSERT(log_wait(mark, want));
	pump(50);
	CU_ASSERT_EQUAL(log_count(mark, "max_outbound (2)"), 1);
	/* Never dialled: the refusal is the only line naming it. */
	snprintf(want, sizeof(want), "127.0.0.1:%d", p[2]);
	CU_ASSERT_EQUAL(log_count(mark, want), 1);
	CU_ASSERT(accept4(lfd[2], NULL, NULL, SOCK_NONBLOCK) < 0);
	/* The existing ones still carry messages. */
	CU_ASSERT_FATAL(send_via(&c, p[0], "still") == 0);
	CU_ASSERT_EQUAL(client_recv(&peer[0]), 1);

	st = status_ask(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT(status_row(st, "outbound", "tcp", row, sizeof(row)) == 0 &&
		  strstr(row, "connections=2") && strstr(row, "max_outbound=2") &&
		  strstr(row, "refused=5"));
	snprintf(want, sizeof(want), "127.0.0.1:%d", p[0]);
	CU_ASSERT(status_row(st, "connection", want, row, sizeof(row)) == 0 &&
		  strstr(row, "direction=outgoing") && strstr(row, "state=open"));
	free(st);

	/* One goes away: its slot is free for the third address. */
	client_close(&peer[1]);
	snprintf(want, sizeof(want), "connection to 127.0.0.1:%d lost", p[1]);
	CU_ASSERT(log_wait(mark, want));
	CU_ASSERT_FATAL(send_via(&c, p[2], "room now") == 0);
	peer[1].len = 0;
	peer[1].fd = accept_wait(lfd[2]);
	CU_ASSERT_FATAL(peer[1].fd >= 0);
	CU_ASSERT_EQUAL(client_recv(&peer[1]), 1);
	CU_ASSERT(in_msg.payload_len == 8 &&
		  memcmp(in_msg.payload, "room now", 8) == 0);
	client_close(&peer[0]);
	client_close(&peer[1]);
	for (i = 0; i < 3; i++)
		close(lfd[i]);
	client_close(&c);
	pump(50);
}

/* ---- backpressure (suite "tcp backpressure") ---------------------- */

/* Debug logging, to see the "pausing reads" lines. */
static int suite_backpressure_init(void)
{
	return node_start_tcp("tcpbackpressure", "log_level: debug\n", "");
}

/* Milliseconds of the day from a log line's "...THH:MM:SS.mmmZ" stamp. */
static long stamp_ms(const char *line)
{
	int hh, mm, ss, ms;

	if (sscanf(line, "%*10cT%2d:%2d:%2d.%3dZ", &hh, &mm, &ss, &ms) != 4)
		return -1;
	return ((hh * 60L + mm) * 60 + ss) * 1000 + ms;
}

/* A peer streaming [hop, echoer] frames: the hop's forward to the echoer
 * is queued in the router, so one read fills the router's 1024-slot local
 * queue and delivery fails with ENOBUFS.  The node pauses reading that
 * connection and retries the same frame later: every message comes back,
 * in order, exactly once; the pause is logged at most once a second; and
 * the connection works as before afterwards. */
static void test_router_full_pauses_without_loss(void)
{
	enum { N = 20000 };
	static const char *const on[] = {"hop", "echoer", NULL};
	static const char *const ret[] = {"client", NULL};
	static uint8_t out[N * 48];
	const char *pause = "pausing reads from 127.0.0.1:";
	size_t used = 0, sent = 0, len;
	int i, got = 0, wrong = 0, rc = -1;
	long mark = log_mark(), prev = -1;
	unsigned pauses = 0, close_pauses = 0;
	uint64_t end;
	struct client c;
	char *log, *line;

	for (i = 0; i < N; i++) {
		char text[16];
		int n = snprintf(text, sizeof(text), "m%05d", i);

		len = frame_build(out + used, sizeof(out) - used, on, ret, text,
				  (size_t)n);
		CU_ASSERT_FATAL(len > 0);
		used += len;
	}
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	/* Until everything is back, or nothing moved for WAIT_MS. */
	end = loop_now_ms() + WAIT_MS;
	while (got < N && loop_now_ms() < end) {
		if (sent < used) {
			ssize_t n = send(c.fd, out + sent, used - sent,
					 MSG_NOSIGNAL);

			if (n > 0) {
				sent += (size_t)n;
				end = loop_now_ms() + WAIT_MS;
			}
		}
		loop_dispatch(node->loop, 1);
		while ((rc = client_recv_ms(&c, 0)) == 1) {
			char want[16];
			int n = snprintf(want, sizeof(want), "m%05d", got);

			if (in_msg.payload_len != (size_t)n ||
			    memcmp(in_msg.payload, want, (size_t)n) != 0)
				wrong++;
			got++;
			end = loop_now_ms() + WAIT_MS;
		}
		if (rc == 0)
			break; /* closed by the node */
	}
	CU_ASSERT_EQUAL(sent, used);
	CU_ASSERT_EQUAL(got, N);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(client_recv_ms(&c, 200), -1); /* no duplicates */

	/* It did push back, and said so a bounded number of times. */
	log = file_read(log_path, mark);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "local queue full (768 messages)"));
	for (line = log; (line = strstr(line, pause)); line++) {
		char *start = line;
		long t;

		while (start > log && start[-1] != '\n')
			start--;
		t = stamp_ms(start);
		if (prev >= 0 && t >= 0 && t - prev < 900)
			close_pauses++;
		prev = t;
		pauses++;
	}
	CU_ASSERT(pauses >= 1);
	CU_ASSERT_EQUAL(close_pauses, 0);
	/* Resumed from the end-of-turn flush, once the queue drained. */
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "until the next hop drains"));
	CU_ASSERT_PTR_NULL(strstr(log, "dropped a message from"));
	free(log);
	CU_ASSERT(echo_ok(&c, 9));
	client_close(&c);
}

/* ---- buffer memory (suite "tcp buffers") ------------------------ */

/* Default limits (1 MiB frames); the status service answers at "status". */
static int suite_buffers_init(void)
{
	return node_start_tcp("tcpbuffers", "status: true\n", "");
}

/* The node's name for the connection of client `c`: "127.0.0.1:port". */
static void client_key(const struct client *c, char *out, size_t cap)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	if (getsockname(c->fd, (struct sockaddr *)&sa, &sl) < 0)
		sa.sin_port = 0;
	snprintf(out, cap, "127.0.0.1:%d", ntohs(sa.sin_port));
}

/* buffer_bytes of connection `key` in the status asked over `via`; -1 if
 * there is no such row or field. */
static long buffer_bytes(struct client *via, const char *key)
{
	char row[512], *st = status_ask(via), *p;
	long v = -1;

	if (st && status_row(st, "connection", key, row, sizeof(row)) == 0 &&
	    (p = strstr(row, "buffer_bytes=")))
		v = atol(p + strlen("buffer_bytes="));
	free(st);
	return v;
}

/* Pump (asking every 100 ms) until `key` holds no buffer memory, for at
 * most 4 s; its last buffer_bytes. */
static long buffers_wait_empty(struct client *via, const char *key)
{
	uint64_t end = loop_now_ms() + 4000;
	long v;

	do {
		pump(100);
		v = buffer_bytes(via, key);
	} while (v != 0 && loop_now_ms() < end);
	return v;
}

/* A connection holds buffer memory while it moves data and none once it
 * has been quiet for a moment (about a second); used again, it works as
 * before and holds buffers again. */
static void test_quiet_connection_gives_buffers_back(void)
{
	struct client a, via;
	char key[32];

	CU_ASSERT_FATAL(client_open(&a, port) == 0);
	CU_ASSERT_FATAL(client_open(&via, port) == 0);
	client_key(&a, key, sizeof(key));
	CU_ASSERT(echo_ok(&a, 1));
	/* The reply went out through its output buffer. */
	CU_ASSERT(buffer_bytes(&via, key) > 0);
	CU_ASSERT_EQUAL(buffers_wait_empty(&via, key), 0);
	CU_ASSERT(echo_ok(&a, 2));
	CU_ASSERT(buffer_bytes(&via, key) > 0);
	CU_ASSERT(echo_ok(&a, 3));
	client_close(&a);
	client_close(&via);
	pump(50);
}

/* Read one frame of up to `cap` bytes from `fd` while pumping the node.
 * Its length, or 0 if none came within WAIT_MS. */
static size_t frame_read_big(int fd, uint8_t *buf, size_t cap)
{
	uint64_t end = loop_now_ms() + WAIT_MS;
	size_t got = 0, want = 4;

	while (got < want && loop_now_ms() < end) {
		ssize_t n = recv(fd, buf + got, want - got, MSG_DONTWAIT);

		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			return 0;
		else
			loop_dispatch(node->loop, 5);
		if (got == 4 && want == 4) {
			want = 4 + ((size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
				    (size_t)buf[2] << 8 | buf[3]);
			if (want > cap)
				return 0;
		}
	}
	return got == want && want > 4 ? want : 0;
}

/* After a connection gave its buffers back, a 300 kB frame written in
 * 1000-byte pieces (one node read each) arrives whole at the next hop,
 * byte for byte; then both connections give their buffers back. */
static void test_large_frame_after_buffers_given_back(void)
{
	enum { SIZE = 300000 };
	static uint8_t frame[SIZE + 1024], got[SIZE + 1024], payload[SIZE];
	static const char *const ret[] = {"client", NULL};
	char hop[32], key[32], out_key[32];
	const char *on[] = {"hop", hop, "sink", NULL};
	struct client a, via;
	int lfd, p = bound_port(&lfd), fd;
	size_t len, n, i;

	CU_ASSERT_FATAL(p > 0 && listen(lfd, 4) == 0);
	for (i = 0; i < SIZE; i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 9));
	snprintf(hop, sizeof(hop), "tcp:127.0.0.1:%d", p);
	snprintf(out_key, sizeof(out_key), "127.0.0.1:%d", p);
	len = frame_build(frame, sizeof(frame), on, ret, payload, SIZE);
	CU_ASSERT_FATAL(len > SIZE);

	CU_ASSERT_FATAL(client_open(&a, port) == 0);
	CU_ASSERT_FATAL(client_open(&via, port) == 0);
	client_key(&a, key, sizeof(key));
	CU_ASSERT(echo_ok(&a, 1));
	CU_ASSERT_EQUAL(buffers_wait_empty(&via, key), 0);

	for (i = 0; i < len; i += n) {
		n = len - i < 1000 ? len - i : 1000;
		CU_ASSERT_FATAL(client_write(&a, frame + i, n) == 0);
		pump(1);
	}
	fd = accept_wait(lfd);
	CU_ASSERT_FATAL(fd >= 0);
	n = frame_read_big(fd, got, sizeof(got));
	CU_ASSERT_FATAL(n > 4);
	CU_ASSERT_FATAL(codec_decode(got + 4, n - 4, &in_msg, in_hops,
				     OCKAM_DECODE_HOPS) == 0);
	CU_ASSERT(in_msg.onward.count == 1 &&
		  addr_is(&in_msg.onward.hop[0], OCKAM_ADDR_LOCAL, "sink"));
	CU_ASSERT(in_msg.payload_len == SIZE &&
		  memcmp(in_msg.payload, payload, SIZE) == 0);

	CU_ASSERT_EQUAL(buffers_wait_empty(&via, key), 0);
	CU_ASSERT_EQUAL(buffers_wait_empty(&via, out_key), 0);
	CU_ASSERT(echo_ok(&a, 2));
	close(fd);
	close(lfd);
	client_close(&a);
	client_close(&via);
	pump(50);
}

/* ---- resolver (suite "tcp resolver") ------------------------------ */

/* A fake DNS server on loopback, in the node's own loop: it answers by
 * name ("ok.test" has 127.0.0.1, "nx.test" does not exist, "slow.test"
 * never gets an answer, "spoof.test" gets garbage before its answer,
 * "bob.two.test" and "db.svc.test" have 127.0.0.1, "none.one.test" has
 * no address; any other name does not exist).  The node's resolv.conf has "search one.test two.test" and
 * "options ndots:2". */
static int dns_fd = -1;
static int dns_port; /* the fake nameserver's, as the node's lines name it */
static struct ockam_source *dns_src;
static unsigned dns_queries[4]; /* per name of the first four above */
static const char *const dns_names[7] = {
	"ok.test",	"nx.test",     "slow.test",    "spoof.test",
	"bob.two.test", "db.svc.test", "none.one.test"};
static unsigned dns_other; /* queries for any other name */
/* The names of the A queries, in order, space-separated. */
static char dns_asked[2048];

/* A record at the end of `r` for the question's name (pointer 12). */
static size_t rr_put(uint8_t *r, size_t o, uint16_t type, uint32_t ttl,
		     const uint8_t *rdata, uint16_t rdlen)
{
	const uint8_t head[10] = {(uint8_t)(type >> 8), (uint8_t)type, 0, 1,
				  (uint8_t)(ttl >> 24), (uint8_t)(ttl >> 16),
				  (uint8_t)(ttl >> 8), (uint8_t)ttl,
				  (uint8_t)(rdlen >> 8), (uint8_t)rdlen};

	r[o++] = 0xc0;
	r[o++] = 12;
	memcpy(r + o, head, sizeof(head));
	memcpy(r + o + 10, rdata, rdlen);
	return o + 10 + rdlen;
}

static void dns_reply(const struct sockaddr_in *to, const uint8_t *r,
		      size_t len)
{
	sendto(dns_fd, r, len, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void dns_on_read(void *data, int fd, uint32_t events)
{
	static const uint8_t lo[4] = {127, 0, 0, 1};
	/* Where garbage points: nothing listens there. */
	static const uint8_t bad[4] = {127, 0, 0, 2};
	/* Root mname and rname, serial..expire, minimum 30 s. */
	static const uint8_t soa[22] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0,
					0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 30};
	uint8_t q[512], r[600];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	(void)data;
	(void)events;
	while ((n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl)) > 12) {
		char name[256];
		size_t o = 12, k = 0, qend, len;
		uint16_t qtype;
		int which = -1, i;

		while (o < (size_t)n && q[o] && k < 200) {
			if (k)
				name[k++] = '.';
			memcpy(name + k, q + o + 1, q[o]);
			k += q[o];
			o += 1u + q[o];
		}
		name[k] = '\0';
		qend = o + 5;
		if (qend > (size_t)n)
			continue;
		qtype = (uint16_t)(q[o + 1] << 8 | q[o + 2]);
		if (qtype == DNS_A &&
		    strlen(dns_asked) + k + 2 < sizeof(dns_asked)) {
			if (dns_asked[0])
				strcat(dns_asked, " ");
			strcat(dns_asked, name);
		}
		for (i = 0; i < 7; i++)
			if (strcmp(name, dns_names[i]) == 0)
				which = i;
		if (which < 0 || which > 3)
			dns_other++;
		else
			dns_queries[which]++;
		if (which < 0)
			which = 1; /* no such name */
		else if (which == 6)
			qtype = 0; /* no A either: answered as AAAA is */
		else if (which > 3)
			which = 0; /* 127.0.0.1 */
		if (which == 2)
			continue; /* slow.test: never */
		memcpy(r, q, qend);
		r[2] = 0x81; /* QR, RD */
		r[3] = 0x80; /* RA, NOERROR */
		r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
		if (which == 3) {
			/* Garbage first, all from the right server. */
			uint8_t g[600];

			memcpy(g, r, qend); /* wrong id */
			g[1] ^= 1;
			len = rr_put(g, qend, DNS_A, 60, bad, 4);
			g[7] = 1;
			dns_reply(&from, g, len);
			dns_reply(&from, r, 7); /* truncated header */
			memcpy(g, r, qend); /* an answer name pointing at
					     * itself */
			g[7] = 1;
			g[qend] = 0xc0;
			g[qend + 1] = (uint8_t)qend;
			memset(g + qend + 2, 0, 10);
			dns_reply(&from, g, qend + 12);
			memcpy(g, r, qend); /* another question */
			g[13] ^= 1;
			len = rr_put(g, qend, DNS_A, 60, bad, 4);
			g[7] = 1;
			dns_reply(&from, g, len);
			memcpy(g, r, qend); /* a query, not an answer */
			g[2] = 0x01;
			dns_reply(&from, g, qend);
			memcpy(g, r, qend); /* answer running past the end */
			len = rr_put(g, qend, DNS_A, 60, bad, 4);
			g[7] = 1;
			dns_reply(&from, g, len - 1);
		}
		if (which == 1) {
			r[3] = 0x83; /* NXDOMAIN */
			r[9] = 1;
			len = rr_put(r, qend, 6, 60, soa, sizeof(soa));
		} else if (qtype == DNS_A) {
			r[7] = 1;
			len = rr_put(r, qend, DNS_A, 60, lo, 4);
		} else {
			r[9] = 1; /* no AAAA: NOERROR, SOA */
			len = rr_put(r, qend, 6, 60, soa, sizeof(soa));
		}
		dns_reply(&from, r, len);
		fl = sizeof(from);
	}
}

static int suite_resolver_init(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	char tcp[256], hosts[128], conf[128];

	dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (dns_fd < 0 || bind(dns_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(dns_fd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	dns_port = ntohs(sa.sin_port);
	snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
	if (write_file(hosts, "# test\n127.0.0.1 peer.test  other.test\n") < 0)
		return -1;
	/* Its nameserver is not used: the `nameserver` option wins.  The
	 * first search line is overridden by the last. */
	snprintf(conf, sizeof(conf), "%s/resolv.conf", dir);
	if (write_file(conf, "search first.test\nnameserver 192.0.2.1\n"
			     "search one.test two.test\n"
			     "options ndots:2 attempts:2\n") < 0)
		return -1;
	snprintf(tcp, sizeof(tcp),
		 "    nameserver: 127.0.0.1:%d\n"
		 "    resolve_timeout: 600ms\n"
		 "    hosts_file: hosts\n"
		 "    resolv_conf: resolv.conf\n",
		 dns_port);
	if (node_start_tcp("tcpresolver", "status: true\n", tcp) < 0)
		return -1;
	dns_src = loop_add_fd(node->loop, dns_fd, OCKAM_EV_READ, dns_on_read,
			      NULL, NULL);
	return dns_src ? 0 : -1;
}

static int suite_resolver_clean(void)
{
	if (dns_src)
		loop_remove(dns_src);
	dns_src = NULL;
	suite_clean();
	if (dns_fd >= 0)
		close(dns_fd);
	dns_fd = -1;
	return 0;
}

/* Ask the node's hop to forward `text` to [tcp:<host>:<to>, echoer]. */
static int send_via_name(struct client *c, const char *host, int to,
			 const char *text)
{
	char hop[300];
	const char *on[] = {"hop", hop, "echoer", NULL};
	static const char *const ret[] = {"client", NULL};
	uint8_t f[512];
	size_t len;

	snprintf(hop, sizeof(hop), "tcp:%s:%d", host, to);
	len = frame_build(f, sizeof(f), on, ret, text, strlen(text));
	return len ? client_write(c, f, len) : -1;
}

/* A DNS name resolves through the nameserver (A and AAAA asked), the
 * message waits and arrives; the next one uses the connection (and the
 * answer is cached: no more queries). */
static void test_resolve_dns_name(void)
{
	struct client c;
	char want[96];
	long mark = log_mark();

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via_name(&c, "OK.test", port, "by name") == 0);
	CU_ASSERT_EQUAL_FATAL(client_recv(&c), 1);
	CU_ASSERT(in_msg.payload_len == 7 &&
		  memcmp(in_msg.payload, "by name", 7) == 0);
	CU_ASSERT_EQUAL(dns_queries[0], 2); /* A and AAAA */
	snprintf(want, sizeof(want), "connected to OK.test:%d (127.0.0.1:%d)",
		 port, port);
	CU_ASSERT_EQUAL(log_count(mark, want), 1);
	CU_ASSERT_FATAL(send_via_name(&c, "OK.test", port, "again") == 0);
	CU_ASSERT_EQUAL(client_recv(&c), 1);
	/* Another spelling is another connection, from the cache. */
	CU_ASSERT_FATAL(send_via_name(&c, "ok.test", port, "cached") == 0);
	CU_ASSERT_EQUAL(client_recv(&c), 1);
	CU_ASSERT_EQUAL(dns_queries[0], 2);
	client_close(&c);
}

/* NXDOMAIN for every candidate: the queued message fails with one line
 * naming the names tried and the server. */
static void test_resolve_nxdomain(void)
{
	struct client c;
	char want[256];
	long mark = log_mark();

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via_name(&c, "nx.test", 4000, "nobody") == 0);
	dns_asked[0] = '\0';
	/* One dot, fewer than ndots: the search list first. */
	snprintf(want, sizeof(want),
		 "cannot connect to nx.test:4000: cannot resolve nx.test: no "
		 "such name (tried nx.test.one.test, nx.test.two.test, "
		 "nx.test: NXDOMAIN from 127.0.0.1:%d); dropped 1 queued "
		 "message (",
		 dns_port);
	CU_ASSERT(log_wait(mark, want));
	CU_ASSERT_STRING_EQUAL(dns_asked,
			       "nx.test.one.test nx.test.two.test nx.test");
	CU_ASSERT_EQUAL(log_count(mark, "NXDOMAIN"), 1);
	CU_ASSERT(echo_ok(&c, 1));
	client_close(&c);
}

/* A nameserver that never answers: the lookup times out after
 * resolve_timeout with one line, and meanwhile the node goes on serving
 * another connection (the loop is not blocked); the status shows the
 * connection resolving. */
static void test_resolve_timeout_does_not_block(void)
{
	struct client c, other;
	char row[256], want[160], *st;
	/* c-ares does not say which name of the search list went
	 * unanswered, only that the lookup did. */
	const char *tried = "3 tries in 0.6s); dropped 1 queued message";
	long mark = log_mark();
	int during = 0;

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(client_open(&other, port) == 0);
	dns_asked[0] = '\0';
	CU_ASSERT_FATAL(send_via_name(&c, "slow.test", 4000, "waits") == 0);
	while (during < 1000 && !log_count(mark, "cannot resolve slow.test")) {
		if (!echo_ok(&other, during))
			break;
		if (++during == 3) {
			st = status_ask(&other);
			CU_ASSERT_PTR_NOT_NULL_FATAL(st);
			CU_ASSERT(status_row(st, "connection",
					     "slow.test:4000", row,
					     sizeof(row)) == 0 &&
				  strstr(row, "state=resolving"));
			free(st);
		}
		pump(5);
	}
	/* Several round trips on the other connection while it waited. */
	CU_ASSERT(during >= 5);
	CU_ASSERT(dns_queries[2] >= 4); /* 3 tries, A and AAAA */
	/* The search list was asked first (NXDOMAIN), then slow.test. */
	CU_ASSERT_PTR_NOT_NULL(strstr(dns_asked, "slow.test.one.test "
						 "slow.test.two.test slow.test"));
	snprintf(want, sizeof(want), "cannot connect to slow.test:4000: "
				     "cannot resolve slow.test: no answer from "
				     "the nameserver (127.0.0.1:");
	CU_ASSERT(log_wait(mark, want));
	CU_ASSERT(log_count(mark, tried));
	CU_ASSERT(echo_ok(&other, 99));
	client_close(&c);
	client_close(&other);
}

/* Send `payload` to this node's echoer by host name `name`: it must
 * arrive, the fake nameserver must have been asked exactly `asked` (names
 * in order), and the node must log once that it connected to `name`,
 * found as `found` ("" if as written). */
static void check_found(const char *name, const char *payload,
			const char *asked, const char *found)
{
	struct client c;
	char want[160];
	long mark = log_mark();
	size_t len = strlen(payload);

	dns_asked[0] = '\0';
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via_name(&c, name, port, payload) == 0);
	CU_ASSERT_EQUAL_FATAL(client_recv(&c), 1);
	CU_ASSERT(in_msg.payload_len == len &&
		  memcmp(in_msg.payload, payload, len) == 0);
	CU_ASSERT_STRING_EQUAL(dns_asked, asked);
	snprintf(want, sizeof(want), "connected to %s:%d (%s%s127.0.0.1:%d)",
		 name, port, found, *found ? " -> " : "", port);
	CU_ASSERT_EQUAL(log_count(mark, want), 1);
	client_close(&c);
}

/* A name with fewer dots than ndots (2) is tried with each search domain
 * first: "bob" is bob.two.test, and the line says so. */
static void test_resolve_search_list(void)
{
	check_found("bob", "searched", "bob.one.test bob.two.test",
		    "bob.two.test");
}

/* A name with ndots dots is asked for as written first: found, the search
 * list is not asked at all. */
static void test_resolve_ndots_as_written(void)
{
	check_found("db.svc.test", "dots", "db.svc.test", "");
}

/* A trailing dot makes a name absolute: "bob." is never bob.two.test. */
static void test_resolve_trailing_dot(void)
{
	struct client c;
	char want[160];
	long mark = log_mark();

	dns_asked[0] = '\0';
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via_name(&c, "bob.", 4000, "absolute") == 0);
	snprintf(want, sizeof(want),
		 "cannot connect to bob.:4000: cannot resolve bob.: no such "
		 "name (NXDOMAIN from 127.0.0.1:%d); dropped 1 queued "
		 "message",
		 dns_port);
	CU_ASSERT(log_wait(mark, want));
	CU_ASSERT_STRING_EQUAL(dns_asked, "bob");
	CU_ASSERT(echo_ok(&c, 1));
	client_close(&c);
}

/* No address for one candidate, no such name for the others: one line
 * naming the names tried (c-ares reports "no address" for the lookup when
 * any name had none, not which one). */
static void test_resolve_search_mixed(void)
{
	struct client c;
	char want[256];
	long mark = log_mark();

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via_name(&c, "none", 4000, "nowhere") == 0);
	snprintf(want, sizeof(want),
		 "cannot connect to none:4000: cannot resolve none: no such "
		 "name or no address (tried none.one.test, none.two.test, "
		 "none: NXDOMAIN or no A or AAAA record, from "
		 "127.0.0.1:%d); dropped 1 queued message",
		 dns_port);
	CU_ASSERT(log_wait(mark, want));
	CU_ASSERT(echo_ok(&c, 1));
	client_close(&c);
}

/* Wrong id, truncated, a compression loop, another question, a query and
 * a record past the end: all ignored; the real answer is used. */
static void test_resolve_ignores_garbage(void)
{
	struct client c;
	long mark = log_mark();

	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via_name(&c, "spoof.test", port, "real") == 0);
	CU_ASSERT_EQUAL_FATAL(client_recv(&c), 1);
	CU_ASSERT(in_msg.payload_len == 4 &&
		  memcmp(in_msg.payload, "real", 4) == 0);
	CU_ASSERT_EQUAL(dns_queries[3], 2);
	CU_ASSERT_EQUAL(log_count(mark, "cannot resolve"), 0);
	client_close(&c);
}

/* Names in the hosts file need no DNS; the file is read again when it
 * changes. */
static void test_resolve_hosts_file(void)
{
	struct client c;
	char hosts[128];
	unsigned other = dns_other;

	snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT_FATAL(send_via_name(&c, "other.test", port, "h1") == 0);
	CU_ASSERT_EQUAL(client_recv(&c), 1);
	CU_ASSERT_FATAL(write_file(hosts, "127.0.0.1 new.test\n") == 0);
	pump(1100); /* the file is looked at once a second at most */
	CU_ASSERT_FATAL(send_via_name(&c, "new.test", port, "h2") == 0);
	CU_ASSERT_EQUAL(client_recv(&c), 1);
	CU_ASSERT(in_msg.payload_len == 2 &&
		  memcmp(in_msg.payload, "h2", 2) == 0);
	CU_ASSERT_EQUAL(dns_other, other); /* no DNS query for either */
	client_close(&c);
}

/* ---- options ------------------------------------------------------ */

/* Create a node from `yaml` and return its diagnostics (caller frees). */
static char *node_errors(const char *yaml)
{
	char path[128], dpath[128];
	struct node_args args = {.config_path = path, .log_level = -1};
	struct node *n;
	FILE *d;
	int code;

	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	snprintf(dpath, sizeof(dpath), "%s/diag.txt", dir);
	write_file(path, yaml);
	d = fopen(dpath, "w");
	args.diag_echo = d;
	n = node_create(&args, &code);
	fclose(d);
	if (n) {
		node_destroy(n);
		return strdup("(created)");
	}
	return file_read(dpath, 0);
}

static void test_bad_options(void)
{
	char *e;

	e = node_errors("node: a\ntransports:\n  tcp:\n    listen: [nonsense]\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad.yaml:4:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "listen: 'nonsense': no port; write host:port"));
	free(e);

	/* A port out of range and a port that is no number are different
	 * mistakes, told apart, each at its own position. */
	e = node_errors("node: a\ntransports:\n  tcp:\n"
			"    listen: [127.0.0.1:99999, 127.0.0.1:forty, \"[::1:4000\"]\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(e,
		"bad.yaml:4:14: listen: '127.0.0.1:99999': port 99999 is out of range (0 to 65535)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e,
		"bad.yaml:4:31: listen: '127.0.0.1:forty': port 'forty' is not a number (ports are 0 to 65535)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e,
		"bad.yaml:4:48: listen: '[::1:4000': an IPv6 address is written [address]:port\n"));
	free(e);

	e = node_errors("node: a\ntransports:\n  tcp:\n"
			"    max_message_size: 32MiB\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad.yaml:4:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "max_message_size"));
	free(e);

	e = node_errors("node: a\ntransports:\n  tcp:\n"
			"    max_message_size: 2MiB\n"
			"    send_queue_limit: 1MiB\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad.yaml:5:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "less than max_message_size + 4"));
	free(e);

	e = node_errors("node: a\ntransports:\n  tcp:\n"
			"    max_connections: 0\n"
			"    idle_timeout: soon\n"
			"    keepalive: 10h\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad.yaml:4:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "max_connections"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad.yaml:5:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad.yaml:6:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "keepalive: 10h is out of range (0 to 32767s)"));
	free(e);

	e = node_errors("node: a\ntransports:\n  tcp:\n"
			"    nameserver: [127.0.0.1:53, dns.example, "
			"'[::1]:53']\n"
			"    resolve_timeout: 0\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "not 'dns.example'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "resolve_timeout: 0 is out of range (at least 1ms)"));
	CU_ASSERT_EQUAL(count_of(e, "bad.yaml:"), 2);
	free(e);

	e = node_errors("node: a\ntransports:\n  tcp:\n"
			"    resolv_conf: [a, b]\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad.yaml:4:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "resolv_conf: expected a file path, got a list"));
	free(e);

	e = node_errors("node: a\ntransports:\n  tcp:\n"
			"    max_outbound: 0\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad.yaml:4:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "max_outbound"));
	free(e);

	e = node_errors("node: a\ntransports:\n  tcp:\n"
			"    listn: 127.0.0.1:0\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "listn"));
	free(e);

	e = node_errors("node: a\ntransports:\n  tcp:\n"
			"    listen: ['[::1]:0', 127.0.0.1:99999]\n");
	/* One error, for the bad port only; [::1]:0 is fine. */
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "listen: '127.0.0.1:99999': port 99999"));
	CU_ASSERT_PTR_NULL(strstr(e, "listen: '[::1]:0'"));
	CU_ASSERT_EQUAL(count_of(e, "bad.yaml:"), 1);
	free(e);
}

/* ---- lent frames and the hot path (suite "tcp") ------------------- */

/* The instance named `name` of the suite's node: its ctx is what a plugin
 * would pass to the host's services. */
static struct ockam_ctx *instance(const char *name)
{
	for (size_t i = 0; i < node->n_inst; i++)
		if (strcmp(node->inst[i]->name, name) == 0)
			return node->inst[i];
	return NULL;
}

/* A message from the node's hop to [tcp:<key>, client]. */
static void lent_msg(struct ockam_message *m, struct ockam_addr on[2],
		     struct ockam_addr *ret, const char *key)
{
	ockam_message_init(m);
	ockam_addr_set(&on[0], OCKAM_ADDR_TCP, key, strlen(key));
	ockam_addr_local(&on[1], "client");
	ockam_addr_local(ret, "hop");
	m->onward = ockam_route_make(on, 2);
	m->ret = ockam_route_make(ret, 1);
}

static int got_payload(struct client *c, const char *text)
{
	return client_recv(c) == 1 && in_msg.payload_len == strlen(text) &&
	       memcmp(in_msg.payload, text, in_msg.payload_len) == 0 &&
	       in_msg.onward.count == 1 &&
	       addr_is(&in_msg.onward.hop[0], OCKAM_ADDR_LOCAL, "client") &&
	       in_msg.ret.count == 1 &&
	       addr_is(&in_msg.ret.hop[0], OCKAM_ADDR_LOCAL, "hop");
}

/* send_reserve over tcp writes the payload in place in the connection's
 * output buffer: what the peer reads is the frame send would have written,
 * whether the final length is the reserved one or shorter (its length
 * takes fewer bytes: the payload moves back), an aborted one is never
 * written, frames keep their order, and the same checks as send apply
 * (max_message_size, no connection without OCKAM_MSG_CONNECT). */
static void test_lent_frames(void)
{
	const struct ockam_host *h = services_table();
	struct ockam_ctx *hop = instance("hop");
	struct ockam_addr on[2], ret;
	struct ockam_message m;
	struct client c;
	char key[32];
	uint8_t *p;
	int lfd, lport, fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(hop);
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	CU_ASSERT(echo_ok(&c, 1)); /* accepted: the node has its key */
	client_key(&c, key, sizeof(key));
	lent_msg(&m, on, &ret, key);

	/* Committed at the reserved length. */
	CU_ASSERT_FATAL(h->send_reserve(hop, &m, 10, &p) == 0);
	memcpy(p, "lent-frame", 10);
	CU_ASSERT_EQUAL(h->send_commit(hop, 10), 0);
	/* 300 takes two length bytes, 5 one: the payload moves back. */
	CU_ASSERT_FATAL(h->send_reserve(hop, &m, 300, &p) == 0);
	memcpy(p, "short", 5);
	CU_ASSERT_EQUAL(h->send_commit(hop, 5), 0);
	/* Aborted: nothing is written. */
	CU_ASSERT_FATAL(h->send_reserve(hop, &m, 7, &p) == 0);
	memcpy(p, "aborted", 7);
	h->send_abort(hop);
	/* An empty payload. */
	CU_ASSERT_FATAL(h->send_reserve(hop, &m, 200, &p) == 0);
	CU_ASSERT_EQUAL(h->send_commit(hop, 0), 0);
	m.payload = (const uint8_t *)"after";
	m.payload_len = 5;
	CU_ASSERT_EQUAL(h->send(hop, &m), 0);
	/* Over max_message_size (1 KiB): refused before anything is lent. */
	CU_ASSERT_EQUAL(h->send_reserve(hop, &m, 2000, &p), -EMSGSIZE);

	CU_ASSERT(got_payload(&c, "lent-frame"));
	CU_ASSERT(got_payload(&c, "short"));
	CU_ASSERT(got_payload(&c, ""));
	CU_ASSERT(got_payload(&c, "after"));
	CU_ASSERT_EQUAL(client_recv_ms(&c, 100), -1);
	CU_ASSERT(echo_ok(&c, 2));

	/* No connection and not asked to open one. */
	lport = bound_port(&lfd);
	CU_ASSERT_FATAL(lport > 0 && listen(lfd, 4) == 0);
	snprintf(key, sizeof(key), "127.0.0.1:%d", lport);
	lent_msg(&m, on, &ret, key);
	CU_ASSERT_EQUAL(h->send_reserve(hop, &m, 4, &p), -ENOTCONN);
	/* Asked: the frame waits in the connection being opened. */
	m.flags = OCKAM_MSG_CONNECT;
	CU_ASSERT_FATAL(h->send_reserve(hop, &m, 4, &p) == 0);
	memcpy(p, "dial", 4);
	CU_ASSERT_EQUAL(h->send_commit(hop, 4), 0);
	fd = accept_wait(lfd);
	CU_ASSERT_FATAL(fd >= 0);
	struct client peer = {.fd = fd};
	CU_ASSERT(got_payload(&peer, "dial"));
	client_close(&peer);
	close(lfd);
	client_close(&c);
}

/* Counting allocator (tests/common/alloc_count.h): the dlopen()ed plugins
 * and the host core bind to it. */
#include "../common/alloc_count.h"

/* The hot path allocates nothing per message: once a connection is warm,
 * thousands of frames read in batches, handed through the hop to the
 * echoer and written back make no malloc call at all (host core, tcp,
 * hop and echoer together). */
static void test_no_allocation_per_message(void)
{
#if ALLOC_COUNTER
	enum { WINDOW = 64, N = 64 * WINDOW };
	static const char *const on[] = {"hop", "echoer", NULL};
	static const char *const ret[] = {"client", NULL};
	static uint8_t frames[WINDOW * 64];
	size_t used = 0, len;
	int sent = 0, got = 0, rc = 1;
	uint64_t end;
	struct client c;

	for (int i = 0; i < WINDOW; i++) {
		len = frame_build(frames + used, sizeof(frames) - used, on, ret,
				  "0123456789abcdef", 16);
		CU_ASSERT_FATAL(len > 0);
		used += len;
	}
	CU_ASSERT_FATAL(client_open(&c, port) == 0);
	/* Warm up: buffers mapped, queue slots grown. */
	for (int round = 0; round < 2; round++) {
		int want = WINDOW;

		CU_ASSERT_FATAL(client_write(&c, frames, used) == 0);
		while (want && client_recv(&c) == 1)
			want--;
		CU_ASSERT_EQUAL_FATAL(want, 0);
	}
	alloc_calls = 0;
	alloc_counting = 1;
	end = loop_now_ms() + 10 * WAIT_MS;
	while (got < N && loop_now_ms() < end) {
		if (sent - got < WINDOW && sent < N) {
			if (send(c.fd, frames, used, MSG_NOSIGNAL) != (ssize_t)used)
				break;
			sent += WINDOW;
		}
		loop_dispatch(node->loop, 1);
		while ((rc = client_recv_ms(&c, 0)) == 1)
			got++;
		if (rc == 0)
			break;
	}
	alloc_counting = 0;
	if (got != N)
		fprintf(stdout, "\nsent %d, got %d, rc %d\n", sent, got, rc);
	CU_ASSERT_EQUAL(got, N);
	CU_ASSERT_EQUAL(alloc_calls, 0);
	if (alloc_calls)
		fprintf(stdout, "\n%lu allocations for %d echoes\n", alloc_calls,
			got);
	client_close(&c);
#else
	CU_PASS("not counted under AddressSanitizer");
#endif
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;
	int fd, saved_stderr = dup(STDERR_FILENO);

	snprintf(dir, sizeof(dir), "/tmp/ockam-tcp-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(log_path, sizeof(log_path), "%s/node.log", dir);
	/* The node logs to stderr: keep it in a file we can read back. */
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		return 1;
	close(fd);

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("tcp", suite_init, suite_clean);
	CU_add_test(s, "echo through a single hop", test_echo_single_hop);
	CU_add_test(s, "batched and split frames",
		    test_batched_and_split_frames);
	CU_add_test(s, "oversized frame closes only that connection",
		    test_oversized_frame_closes_only_that_connection);
	CU_add_test(s, "4 GiB length prefix", test_4gib_length_prefix);
	CU_add_test(s, "garbage body", test_garbage_body);
	CU_add_test(s, "peer vanishes mid-frame",
		    test_peer_vanishes_mid_frame);
	CU_add_test(s, "connect on demand", test_connect_on_demand);
	CU_add_test(s, "backoff on a closed port",
		    test_backoff_on_closed_port);
	CU_add_test(s, "reconnect after the peer closes",
		    test_reconnect_after_peer_closes);
	CU_add_test(s, "inbound key not dialled",
		    test_inbound_key_not_dialled);
	CU_add_test(s, "oversized send refused", test_oversized_send_refused);
	CU_add_test(s, "send queue limit", test_send_queue_limit);
	CU_add_test(s, "lent frames: reserve, commit, abort",
		    test_lent_frames);
	CU_add_test(s, "no allocation per message",
		    test_no_allocation_per_message);
	s = CU_add_suite("tcp limits", suite_limits_init, suite_clean);
	CU_add_test(s, "max_connections", test_max_connections);
	CU_add_test(s, "idle_timeout", test_idle_timeout);
	CU_add_test(s, "connect_timeout", test_connect_timeout);
	CU_add_test(s, "max_outbound", test_max_outbound);
	s = CU_add_suite("tcp backpressure", suite_backpressure_init,
			 suite_clean);
	CU_add_test(s, "router full: pause, no loss",
		    test_router_full_pauses_without_loss);
	s = CU_add_suite("tcp buffers", suite_buffers_init, suite_clean);
	CU_add_test(s, "quiet connection gives its buffers back",
		    test_quiet_connection_gives_buffers_back);
	CU_add_test(s, "large frame after the buffers were given back",
		    test_large_frame_after_buffers_given_back);
	s = CU_add_suite("tcp resolver", suite_resolver_init,
			 suite_resolver_clean);
	CU_add_test(s, "a DNS name", test_resolve_dns_name);
	CU_add_test(s, "NXDOMAIN", test_resolve_nxdomain);
	CU_add_test(s, "timeout does not block the loop",
		    test_resolve_timeout_does_not_block);
	CU_add_test(s, "garbage answers ignored",
		    test_resolve_ignores_garbage);
	CU_add_test(s, "hosts file", test_resolve_hosts_file);
	CU_add_test(s, "search list", test_resolve_search_list);
	CU_add_test(s, "ndots: as written first",
		    test_resolve_ndots_as_written);
	CU_add_test(s, "trailing dot: no search", test_resolve_trailing_dot);
	CU_add_test(s, "search: NXDOMAIN and no address",
		    test_resolve_search_mixed);
	s = CU_add_suite("tcp options", NULL, NULL);
	CU_add_test(s, "bad options", test_bad_options);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() +
		 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (failed) {
		/* Show the node's log for diagnosis. */
		char *log = file_read(log_path, 0);
		fputs(log, stdout);
		free(log);
	} else if (!getenv("OCKAM_TEST_KEEP_LOG")) {
		unlink(log_path);
		snprintf(log_path, sizeof(log_path), "%s/hosts", dir);
		unlink(log_path);
		snprintf(log_path, sizeof(log_path), "%s/node.yaml", dir);
		unlink(log_path);
		snprintf(log_path, sizeof(log_path), "%s/bad.yaml", dir);
		unlink(log_path);
		snprintf(log_path, sizeof(log_path), "%s/diag.txt", dir);
		unlink(log_path);
		rmdir(dir);
	}
	/* Sanitizer reports at exit go to the real stderr. */
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	return failed ? 1 : 0;
}
