/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A decryptor whose node's queue is full holds the inner messages that do
 * not fit and hands them on, in order, at its end-of-turn flushes
 * (channel_flow.c: flow_hold, flow_held_on_flush; host->queue_room).
 * A real node in this process (the built secure_channel plugin), a
 * channel over local hops [alice -> bob], and a "filler" address that,
 * while the test wants it, keeps the node's queue at 767 of its 1,024
 * slots: a flush may still send (three quarters), but a decryptor's
 * handler has room for about 257 messages, fewer than a batch record
 * carries.
 *   - 700 small messages to [alice, sink] in one turn become two batch
 *     records; the first overflows the room, the second arrives while
 *     the first's rest is held and must go behind it.  While the queue
 *     stays full, not all have arrived; once the filler stops, all 700
 *     arrive at sink, each once, in the order sent.  Before 98fb8a8 (or
 *     with flow_hold dropping) the sends were refused and messages lost.
 *   - The same with the filler never stopping: the node is destroyed
 *     while bob holds messages (AddressSanitizer: nothing leaks).
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cunit_main.h"
#include "log.h"
#include "loop.h"
#include "node.h"
#include "router.h"

#define M 700
#define PAYLOAD_LEN 16
#define LEVEL 767 /* queued messages the filler keeps */
#define WAIT_MS 20000

static struct node *node;
static char dir[64];

static unsigned long got, out_of_order, bad;
static int filling;

static int on_sink(void *owner, void *addr_data,
		   const struct ockam_message *msg)
{
	(void)owner, (void)addr_data;
	char want[PAYLOAD_LEN + 1];
	snprintf(want, sizeof(want), "msg %012lu", got);
	if (msg->payload_len != PAYLOAD_LEN ||
	    !(msg->flags & OCKAM_MSG_SECURE))
		bad++;
	else if (memcmp(msg->payload, want, PAYLOAD_LEN) != 0)
		out_of_order++;
	got++;
	return 0;
}

static void filler_send(void)
{
	struct ockam_message m;
	struct ockam_addr to;
	ockam_addr_local(&to, "filler");
	ockam_message_init(&m);
	m.onward = ockam_route_make(&to, 1);
	m.payload = (const uint8_t *)"f";
	m.payload_len = 1;
	(void)router_send(node->router, "filler", &m, 0);
}

/* In a handler a send may fill all 1,024 slots: top up to LEVEL. */
static int on_filler(void *owner, void *addr_data,
		     const struct ockam_message *msg)
{
	(void)owner, (void)addr_data, (void)msg;
	while (filling && router_queue_room(node->router) > 1024 - LEVEL)
		filler_send();
	return 0;
}

static int setup(void)
{
	char path[96];
	snprintf(dir, sizeof(dir), "/tmp/ockam-sc-hold-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/node.yaml", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"node: hold\n"
		"workers:\n"
		"  bob:\n"
		"    type: secure_channel\n"
		"    options: { role: listener, trust: everyone }\n"
		"  alice:\n"
		"    type: secure_channel\n"
		"    options: { role: initiator, trust: everyone, route: [bob] }\n");
	fclose(f);
	log_set_level(OCKAM_LOG_ERROR);
	struct node_args args = {.config_path = path, .log_level = OCKAM_LOG_ERROR};
	int code;
	node = node_create(&args, &code);
	if (!node || node_start(node) < 0)
		return -1;
	unlink(path);
	if (router_address_add(node->router, "sink", on_sink, &got, NULL) != 0 ||
	    router_address_add(node->router, "filler", on_filler, &got, NULL) != 0)
		return -1;
	return 0;
}

static int teardown(void)
{
	node_destroy(node);
	rmdir(dir);
	return 0;
}

static int send_one(unsigned long i)
{
	struct ockam_addr hops[2], self;
	char payload[PAYLOAD_LEN + 1];
	struct ockam_message m;
	ockam_addr_local(&hops[0], "alice");
	ockam_addr_local(&hops[1], "sink");
	ockam_addr_local(&self, "client");
	ockam_message_init(&m);
	m.onward = ockam_route_make(hops, 2);
	m.ret = ockam_route_make(&self, 1);
	snprintf(payload, sizeof(payload), "msg %012lu", i);
	m.payload = (const uint8_t *)payload;
	m.payload_len = PAYLOAD_LEN;
	return router_send(node->router, "client", &m, 0);
}

static void run_until(unsigned long n, uint64_t ms)
{
	uint64_t end = loop_now_ms() + ms;
	while (got < n && loop_now_ms() < end)
		loop_dispatch(node->loop, 1);
}

/* Reset the counters, send the first filler and M messages in one go. */
static void burst(void)
{
	got = out_of_order = bad = 0;
	/* The filler first: it fills the queue before the records come. */
	filling = 1;
	filler_send();
	for (unsigned long i = 0; i < M; i++)
		CU_ASSERT_EQUAL_FATAL(send_one(i), 0);
}

static void warm_up(void)
{
	/* The handshake: the first message waits in alice's queue. */
	got = 0;
	CU_ASSERT_EQUAL_FATAL(send_one(0), 0);
	run_until(1, WAIT_MS);
	CU_ASSERT_EQUAL_FATAL(got, 1);
	run_until(2, 100); /* settle */
}

static void test_held_then_delivered(void)
{
	warm_up();
	burst();
	/* While the queue stays full: some have waited. */
	/* About 257 at once, then a few a turn (a flush's room). */
	for (int i = 0; i < 20; i++)
		loop_dispatch(node->loop, 0);
	unsigned long while_full = got;
	filling = 0;
	run_until(M, WAIT_MS);
	run_until(M + 1, 200); /* nothing more, nothing twice */
	printf("\n%lu of %d delivered while the queue was full, %lu in all\n",
	       while_full, M, got);
	CU_ASSERT(while_full < M);
	CU_ASSERT_EQUAL(got, M);
	CU_ASSERT_EQUAL(out_of_order, 0);
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_freed_while_holding(void)
{
	burst();
	for (int i = 0; i < 20; i++)
		loop_dispatch(node->loop, 0);
	/* teardown destroys the node with messages held. */
	CU_ASSERT(got < M);
	CU_ASSERT_EQUAL(out_of_order, 0);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "a full queue delays a batch's messages, in order, none lost",
		  test_held_then_delivered },
		{ "a node destroyed while a decryptor holds messages",
		  test_freed_while_holding },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "secure channel: held for a full queue",
		.init = setup, .cleanup = teardown, .tests = tests });
}
