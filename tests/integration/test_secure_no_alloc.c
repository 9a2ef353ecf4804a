/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel's hot path allocates nothing per message (issue #20,
 * item 4), shown with the counting allocator (tests/common/alloc_count.h)
 * over a real node in this process with the built tcp, secure_channel and
 * echoer plugins.  Once warm (handshakes done, batch buffers, queue slots
 * and connection buffers grown):
 *   - local channel: messages to [alice_local, echoer] are encrypted into
 *     a queue slot (send_reserve), opened in place by bob's decryptor,
 *     echoed, and come back through the channel the same way;
 *   - channel over loopback tcp: [alice_tcp, echoer], whose records are
 *     sealed straight into the connection's write buffer and opened in
 *     the frame that was read.
 * Each phase makes zero malloc, calloc or realloc calls, and every reply
 * comes back marked secure.
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

/* What came back to "client". */
static unsigned long replies, bad_replies;

static int on_reply(void *owner, void *addr_data,
		    const struct ockam_message *msg)
{
	(void)owner, (void)addr_data;
	if (msg->payload_len == PAYLOAD_LEN &&
	    memcmp(msg->payload, "msg ", 4) == 0 &&
	    (msg->flags & OCKAM_MSG_SECURE))
		replies++;
	else
		bad_replies++;
	return 0;
}

/* A port nothing listens on now, for the node to listen on (the
 * initiator's route must name it in the same file). */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	int port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int setup(void)
{
	char path[96];
	int port = free_port();
	snprintf(dir, sizeof(dir), "/tmp/ockam-sc-alloc-XXXXXX");
	if (port <= 0 || !mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/node.yaml", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"node: alloc\n"
		"transports:\n"
		"  tcp:\n"
		"    listen: 127.0.0.1:%d\n"
		"workers:\n"
		"  echoer:\n"
		"    type: echoer\n"
		"  bob:\n"
		"    type: secure_channel\n"
		"    options: { role: listener, trust: everyone }\n"
		"  alice_local:\n"
		"    type: secure_channel\n"
		"    options: { role: initiator, trust: everyone, route: [bob] }\n"
		"  alice_tcp:\n"
		"    type: secure_channel\n"
		"    options: { role: initiator, trust: everyone,\n"
		"               route: [tcp:127.0.0.1:%d, bob] }\n",
		port, port);
	fclose(f);
	log_set_level(OCKAM_LOG_ERROR);
	struct node_args args = {.config_path = path, .log_level = OCKAM_LOG_ERROR};
	int code;
	node = node_create(&args, &code);
	if (!node || node_start(node) < 0)
		return -1;
	unlink(path);
	return router_address_add(node->router, "client", on_reply, &replies,
				  NULL) == 0 ? 0 : -1;
}

static int teardown(void)
{
	node_destroy(node);
	rmdir(dir);
	return 0;
}

/* Send `n` messages along `route`, at most WINDOW unanswered, running the
 * node's loop; returns how many came back. */
static unsigned long run(const struct ockam_route *route, unsigned long n)
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
			m.onward = *route;
			m.ret = ockam_route_make(&self, 1);
			snprintf(payload, sizeof(payload), "msg %012lu", sent);
			m.payload = (const uint8_t *)payload;
			m.payload_len = PAYLOAD_LEN;
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

static void count_phase(const char *initiator)
{
	struct ockam_addr hops[2];
	ockam_addr_local(&hops[0], initiator);
	ockam_addr_local(&hops[1], "echoer");
	const struct ockam_route route = ockam_route_make(hops, 2);
	/* Warm up: the handshake (messages wait in the channel's queue,
	 * at most queue_limit: the window is the same), then buffers grown. */
	CU_ASSERT_EQUAL_FATAL(run(&route, 4 * N), 4 * N);
	CU_ASSERT_EQUAL(bad_replies, 0);
#if ALLOC_COUNTER
	alloc_calls = 0;
	alloc_counting = 1;
	unsigned long got = run(&route, N);
	alloc_counting = 0;
	CU_ASSERT_EQUAL(got, N);
	CU_ASSERT_EQUAL(bad_replies, 0);
	CU_ASSERT_EQUAL(alloc_calls, 0);
	if (alloc_calls)
		printf("\n%lu allocations for %lu messages\n", alloc_calls, got);
#else
	CU_PASS("allocations not counted under AddressSanitizer");
#endif
}

static void test_local_channel(void)
{
	count_phase("alice_local");
}

static void test_tcp_channel(void)
{
	count_phase("alice_tcp");
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "a channel over local hops allocates nothing per message",
		  test_local_channel },
		{ "a channel over loopback tcp allocates nothing per message",
		  test_tcp_channel },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "secure channel: no allocation per message",
		.init = setup, .cleanup = teardown, .tests = tests });
}
