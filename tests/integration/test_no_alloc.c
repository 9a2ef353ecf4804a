/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hot path allocates nothing per message (issue #20, item 4), shown
 * with a counting allocator (tests/common/alloc_count.h) over a real node
 * in this process: the built tcp, hop, echoer and uppercase plugins,
 * driven by the node's own loop.  Once warm:
 *   - local handoff: messages sent to [hop, echoer] and [hop, shout] go
 *     through the router's queue three times each way (hop, worker, hop
 *     again, back to us); shout writes its reply in place with
 *     send_reserve/commit into a queue slot;
 *   - loopback TCP: messages sent to [tcp:127.0.0.1:<its port>, hop,
 *     echoer] leave over a connection the node opened to itself, are read,
 *     echoed and written back, and read again.
 * Each phase makes zero malloc, calloc or realloc calls.
 *
 * A local forward does not copy the payload (tests/common/copy_count.h):
 * 65000-byte messages sent to [hop, echoer] come back with one payload
 * copy per round trip (ours, into the queue), not three: the hop's
 * forward and the echoer's reply take over the slot they were delivered
 * in.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/alloc_count.h"
#include "../common/copy_count.h"
#include "../common/cunit_main.h"
#include "log.h"
#include "loop.h"
#include "node.h"
#include "router.h"

#define WINDOW 64
#define N (64 * WINDOW)
#define PAYLOAD_LEN 16
#define WAIT_MS 20000

static struct node *node;
static char dir[64];
static int tcp_port;

/* What came back to "client". */
static unsigned long replies, bad_replies;

static int on_reply(void *owner, void *addr_data,
		    const struct ockam_message *msg)
{
	(void)owner, (void)addr_data;
	/* "msg NNNNNNNNNNNN" back, or "up: MSG NNNN..." from shout. */
	if (msg->payload_len == PAYLOAD_LEN &&
	    memcmp(msg->payload, "msg ", 4) == 0)
		replies++;
	else if (msg->payload_len == PAYLOAD_LEN + 4 &&
		 memcmp(msg->payload, "up: MSG ", 8) == 0)
		replies++;
	else
		bad_replies++;
	return 0;
}

/* The port the node's tcp transport listens on: its one listening
 * socket. */
static int listening_port(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int on = 0;
		socklen_t len = sizeof(on);
		struct sockaddr_in sa;
		socklen_t slen = sizeof(sa);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 &&
		    on && getsockname(fd, (struct sockaddr *)&sa, &slen) == 0 &&
		    sa.sin_family == AF_INET)
			return ntohs(sa.sin_port);
	}
	return 0;
}

/* The forward phase: 65000-byte payloads (a slot of that size is kept
 * across messages, router.c's SLOT_KEEP_MAX), checked byte for byte. */
#define BIG_LEN 65000
#define BIG_WINDOW 8
static uint8_t big[BIG_LEN];
static unsigned long big_replies, big_bad;

static int on_big_reply(void *owner, void *addr_data,
			const struct ockam_message *msg)
{
	(void)owner, (void)addr_data;
	if (msg->payload_len == BIG_LEN &&
	    memcmp(msg->payload, big, BIG_LEN) == 0)
		big_replies++;
	else
		big_bad++;
	return 0;
}

static int setup(void)
{
	char path[96];
	snprintf(dir, sizeof(dir), "/tmp/ockam-alloc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/node.yaml", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("node: alloc\n"
	      "transports:\n"
	      "  tcp:\n"
	      "    listen: 127.0.0.1:0\n"
	      "workers:\n"
	      "  echoer:\n"
	      "    type: echoer\n"
	      "  shout:\n"
	      "    type: uppercase\n"
	      "    options: { prefix: 'up: ' }\n"
	      "  hop:\n"
	      "    type: hop\n"
	      "    options: { to: ['tcp:127.0.0.1:*'] }\n",
	      f);
	fclose(f);
	log_set_level(OCKAM_LOG_ERROR);
	struct node_args args = {.config_path = path, .log_level = OCKAM_LOG_ERROR};
	int code;
	node = node_create(&args, &code);
	if (!node || node_start(node) < 0)
		return -1;
	unlink(path);
	tcp_port = listening_port();
	for (size_t i = 0; i < BIG_LEN; i++)
		big[i] = (uint8_t)(i * 7 + i / 251);
	return router_address_add(node->router, "client", on_reply, &replies,
				  NULL) == 0 &&
		       router_address_add(node->router, "bigclient",
					  on_big_reply, &big_replies,
					  NULL) == 0 &&
		       tcp_port > 0 ? 0 : -1;
}

static int teardown(void)
{
	node_destroy(node);
	rmdir(dir);
	return 0;
}

/* Send `n` messages along the routes in `routes` (taken in turn), at most
 * WINDOW unanswered, running the node's loop; returns how many came
 * back. */
static unsigned long run(const struct ockam_route *routes, size_t n_routes,
			 unsigned long n)
{
	unsigned long sent = 0, start = replies;
	uint64_t end = loop_now_ms() + WAIT_MS;
	char payload[PAYLOAD_LEN + 1];
	struct ockam_addr self;
	ockam_addr_local(&self, "client");

	while (replies - start < n && loop_now_ms() < end) {
		while (sent < n && sent - (replies - start) < WINDOW) {
			struct ockam_message m;
			ockam_message_init(&m);
			m.onward = routes[sent % n_routes];
			m.ret = ockam_route_make(&self, 1);
			snprintf(payload, sizeof(payload), "msg %012lu", sent);
			m.payload = (const uint8_t *)payload;
			m.payload_len = PAYLOAD_LEN;
			m.flags = OCKAM_MSG_CONNECT; /* the test named it */
			int rc = router_send(node->router, "client", &m, 0);
			if (rc == -ENOBUFS)
				break;
			CU_ASSERT_EQUAL_FATAL(rc, 0);
			sent++;
		}
		loop_dispatch(node->loop, 1);
	}
	return replies - start;
}

static void count_phase(const struct ockam_route *routes, size_t n_routes)
{
	/* Warm up: queue slots and connection buffers grown, connection
	 * open. */
	CU_ASSERT_EQUAL_FATAL(run(routes, n_routes, 4 * N), 4 * N);
#if ALLOC_COUNTER
	alloc_calls = 0;
	alloc_counting = 1;
#endif
	unsigned long got = run(routes, n_routes, N);
	CU_ASSERT_EQUAL(got, N);
	CU_ASSERT_EQUAL(bad_replies, 0);
#if ALLOC_COUNTER
	alloc_counting = 0;
	CU_ASSERT_EQUAL(alloc_calls, 0);
	if (alloc_calls)
		printf("\n%lu allocations for %lu messages\n", alloc_calls, got);
#else
	/* AddressSanitizer owns malloc: the messages still go through
	 * under it, uncounted. */
#endif
}

static void test_local_handoff(void)
{
	static struct ockam_addr echo[2], shout[2];
	ockam_addr_local(&echo[0], "hop");
	ockam_addr_local(&echo[1], "echoer");
	ockam_addr_local(&shout[0], "hop");
	ockam_addr_local(&shout[1], "shout");
	const struct ockam_route routes[] = {ockam_route_make(echo, 2),
					     ockam_route_make(shout, 2)};
	count_phase(routes, 2);
}

static void test_loopback_tcp(void)
{
	static char peer[32];
	static struct ockam_addr hops[3];
	snprintf(peer, sizeof(peer), "127.0.0.1:%d", tcp_port);
	ockam_addr_set(&hops[0], OCKAM_ADDR_TCP, peer, strlen(peer));
	ockam_addr_local(&hops[1], "hop");
	ockam_addr_local(&hops[2], "echoer");
	const struct ockam_route route = ockam_route_make(hops, 3);
	count_phase(&route, 1);
}

/* Send `n` 65000-byte messages to [hop, echoer], BIG_WINDOW at a time;
 * returns how many came back intact. */
static unsigned long run_big(unsigned long n)
{
	static struct ockam_addr hops[2];
	struct ockam_addr self;
	unsigned long sent = 0, start = big_replies;
	uint64_t end = loop_now_ms() + WAIT_MS;

	ockam_addr_local(&hops[0], "hop");
	ockam_addr_local(&hops[1], "echoer");
	ockam_addr_local(&self, "bigclient");
	while (big_replies - start < n && loop_now_ms() < end) {
		while (sent < n && sent - (big_replies - start) < BIG_WINDOW) {
			struct ockam_message m;
			ockam_message_init(&m);
			m.onward = ockam_route_make(hops, 2);
			m.ret = ockam_route_make(&self, 1);
			m.payload = big;
			m.payload_len = BIG_LEN;
			int rc = router_send(node->router, "client", &m, 0);
			if (rc == -ENOBUFS)
				break;
			CU_ASSERT_EQUAL_FATAL(rc, 0);
			sent++;
		}
		loop_dispatch(node->loop, 1);
	}
	return big_replies - start;
}

/* Through a local hop and back: the only payload copy is our send's. */
static void test_local_forward_no_copy(void)
{
	enum { BIG_N = 256 };
	CU_ASSERT_EQUAL_FATAL(run_big(4 * BIG_WINDOW), 4 * BIG_WINDOW);
#if COPY_COUNTER
	copy_bytes = 0;
	copy_counting = 1;
#endif
#if ALLOC_COUNTER
	alloc_calls = 0;
	alloc_counting = 1;
#endif
	unsigned long got = run_big(BIG_N);
#if ALLOC_COUNTER
	alloc_counting = 0;
	CU_ASSERT_EQUAL(alloc_calls, 0);
#endif
	CU_ASSERT_EQUAL(got, BIG_N);
	CU_ASSERT_EQUAL(big_bad, 0);
#if COPY_COUNTER
	copy_counting = 0;
	unsigned long long per = got ? copy_bytes / got : 0;
	printf("\n%llu bytes copied per %u-byte round trip through a hop\n",
	       per, BIG_LEN);
	/* Our send's copy into the queue, and the routes: ABI 2 as first
	 * landed copied the payload three times (3 x 65000). */
	CU_ASSERT(per >= BIG_LEN);
	CU_ASSERT(per < BIG_LEN + 4096);
#else
	CU_PASS("copies not counted under AddressSanitizer");
#endif
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "local handoff allocates nothing per message", test_local_handoff },
		{ "loopback tcp allocates nothing per message", test_loopback_tcp },
		{ "a local forward does not copy the payload", test_local_forward_no_copy },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "no allocation per message", .init = setup,
		.cleanup = teardown, .tests = tests });
}
