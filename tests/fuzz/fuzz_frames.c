/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP framing through the real plugin: one in-process node (the host core
 * library, as tests/plugins/test_tcp.c drives it) with the tcp transport
 * listening on loopback, an echoer and a hop.  Each input is one
 * connection:
 *
 *   byte 0     chunk size: the rest is written in pieces of (byte0 * 7)
 *              bytes with one loop iteration between them (0: one write),
 *              to exercise partial frames and buffer compaction
 *   bytes 1..  the byte stream the node reads (u32 big-endian length +
 *              encoded message, repeated, or anything else)
 *
 * then the client half-closes and reads until the node closes.
 * Properties: no crash, leak or hang (the node must close the connection
 * after EOF), and every frame the node sends back is well formed (length
 * within max_message_size, a body codec_decode accepts).
 *
 * Routes may name tcp addresses (a frame straight to one is refused; the
 * hop's `to:` lets it dial any, to reach the transport's connect and
 * resolve paths): this binary overrides getaddrinfo() (it
 * is linked with --export-dynamic, so the dlopen()ed plugin binds to it)
 * to refuse every numeric address once the node has started (its listen
 * address is resolved for real), and host names go to an empty hosts file
 * and a nameserver on loopback port 9 that nothing answers from (the
 * lookup fails on "port unreachable"), so inputs never reach the network
 * or real DNS.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "loop.h"
#include "node.h"

#define MAX_MESSAGE 4096
#define DEADLINE_MS 5000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct node *node;
static char yaml_path[64];
static struct sockaddr_in listen_sa;
static uint8_t rx[2 * (4 + MAX_MESSAGE)];
static size_t rx_len;
static struct ockam_message rx_msg;
static struct ockam_addr rx_hops[OCKAM_DECODE_HOPS];

static int resolve_ok; /* only while the node starts (its listen address) */

int getaddrinfo(const char *name, const char *service,
		const struct addrinfo *hints, struct addrinfo **res)
{
	typedef int gai_fn(const char *, const char *,
			   const struct addrinfo *, struct addrinfo **);
	static gai_fn *real;

	if (resolve_ok) {
		if (!real)
			real = (gai_fn *)dlsym(RTLD_NEXT, "getaddrinfo");
		if (real)
			return real(name, service, hints, res);
	}
	*res = NULL;
	return EAI_NONAME;
}

static __attribute__((noreturn)) void fail(const char *what)
{
	fprintf(stderr, "fuzz_frames: %s\n", what);
	abort();
}

static __attribute__((noreturn)) void fail_errno(const char *what)
{
	fprintf(stderr, "fuzz_frames: %s: %s\n", what, strerror(errno));
	abort();
}

static void node_teardown(void)
{
	node_destroy(node);
	node = NULL;
	unlink(yaml_path);
}

/* The node's listening socket: the one fd that accepts connections. */
static int listener_find(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int on = 0;
		socklen_t ol = sizeof(on);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) == 0 &&
		    on && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 &&
		    sa.sin_family == AF_INET) {
			listen_sa = sa;
			return 0;
		}
	}
	return -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct node_args args = {.config_path = yaml_path, .log_level = -1};
	FILE *f;
	int code, fd;

	/* The instrumented plugins of this build, unless told otherwise. */
	setenv("OCKAM_PLUGIN_PATH", FUZZ_BUILD_ROOT "/plugins", 0);
	snprintf(yaml_path, sizeof(yaml_path), "/tmp/fuzz_frames.XXXXXX");
	fd = mkstemp(yaml_path);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		fail("cannot write the node file");
	fprintf(f, "node: fuzz\n"
		   "log_level: error\n"
		   "transports:\n"
		   "  tcp:\n"
		   "    listen: 127.0.0.1:0\n"
		   "    max_message_size: %d\n"
		   "    send_queue_limit: 64KiB\n"
		   "    hosts_file: /dev/null\n"
		   "    nameserver: 127.0.0.1:9\n"
		   "    resolve_timeout: 300ms\n"
		   "workers:\n"
		   "  echoer:\n"
		   "    type: echoer\n"
		   "  hop:\n"
		   "    type: hop\n"
		   "    options: { to: ['tcp:*:*'] }\n"
		   "after_messages: run\n",
		MAX_MESSAGE);
	fclose(f);
	resolve_ok = 1;
	node = node_create(&args, &code);
	if (node && node_start(node) < 0) {
		node_destroy(node);
		node = NULL;
	}
	resolve_ok = 0;
	if (!node || listener_find() < 0)
		fail("cannot start the node");
	atexit(node_teardown);
	return 0;
}

/* Check and drop every complete frame the node sent. */
static void rx_frames(void)
{
	size_t off = 0;

	while (rx_len - off >= 4) {
		const uint8_t *p = rx + off;
		uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			       (uint32_t)p[2] << 8 | p[3];

		if (len > MAX_MESSAGE)
			fail("node sent a frame over max_message_size");
		if (rx_len - off - 4 < len)
			break;
		if (codec_decode(p + 4, len, &rx_msg, rx_hops,
				 OCKAM_DECODE_HOPS) != 0)
			fail("node sent a malformed message");
		off += 4 + len;
	}
	memmove(rx, rx + off, rx_len - off);
	rx_len -= off;
}

/* Read what is there; 1 once the node has closed. */
static int rx_drain(int fd)
{
	for (;;) {
		ssize_t n = recv(fd, rx + rx_len, sizeof(rx) - rx_len,
				 MSG_DONTWAIT);

		if (n > 0) {
			rx_len += (size_t)n;
			rx_frames();
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return 1;
		return 0;
	}
}

/* Finish a non-blocking connect, running the node's loop meanwhile. */
static void connect_wait(int fd, uint64_t end)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t l = sizeof(err);

	while (poll(&p, 1, 0) == 0 || (p.revents & (POLLOUT | POLLERR)) == 0) {
		if (loop_now_ms() > end)
			fail("connect to the node timed out");
		loop_dispatch(node->loop, 1);
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
		errno = err;
		fail_errno("cannot connect to the node");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint32_t n_conns;
	struct sockaddr_in src = {.sin_family = AF_INET};
	size_t chunk, off = 1;
	uint64_t end;
	int fd, closed = 0;

	if (size < 1)
		return 0;
	chunk = data[0] ? (size_t)data[0] * 7 : size;
	rx_len = 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A new source address each time (all of 127/8 is loopback): the
	 * client side of each connection ends in TIME_WAIT, and hundreds of
	 * connections a second would exhaust one address's ephemeral ports. */
	src.sin_addr.s_addr = htonl(0x7f010000u | (n_conns++ & 0xffffu));
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		fail_errno("cannot bind a client socket");
	/* Non-blocking: libFuzzer's SIGALRM ticks would interrupt a
	 * blocking connect (EINTR). */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	end = loop_now_ms() + DEADLINE_MS;
	if (connect(fd, (struct sockaddr *)&listen_sa, sizeof(listen_sa)) < 0 &&
	    errno != EINPROGRESS && errno != EINTR)
		fail_errno("cannot connect to the node");
	connect_wait(fd, end);
	while (off < size && !closed) {
		size_t want = size - off < chunk ? size - off : chunk;
		ssize_t n = send(fd, data + off, want, MSG_NOSIGNAL);

		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			break; /* the node closed it (bad frame): fine */
		loop_dispatch(node->loop, 0);
		closed = rx_drain(fd);
		if (loop_now_ms() > end)
			fail("node stopped reading");
	}
	/* The byte stream ends here; the node must close its side. */
	shutdown(fd, SHUT_WR);
	while (!closed) {
		loop_dispatch(node->loop, 1);
		closed = rx_drain(fd);
		if (!closed && loop_now_ms() > end)
			fail("node did not close the connection after EOF");
	}
	close(fd);
	return 0;
}
