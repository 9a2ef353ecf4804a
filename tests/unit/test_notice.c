/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery-failure notices (host/notice.c): a dropped message's sender is
 * told, later (never inside the poster's call), with the message, the
 * error and the reason; senders that are not local, not there any more or
 * not listening are skipped and counted; the queue is bounded.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "../common/cunit_main.h"
#include "../common/test_route.h"
#include "notice.h"
#include "router.h"

static struct router *R;
static struct notices *N;

/* What the sender was told. */
static int told;
static char told_payload[64], told_why[NOTICE_WHY_MAX], told_onward[64];
static int told_err;
static void *told_data;

static int sink(void *owner, void *data, const struct ockam_message *m)
{
	(void)owner;
	(void)data;
	(void)m;
	return 0;
}

static void on_notice(void *owner, void *addr_data,
		      const struct ockam_message *m, int err, const char *why)
{
	(void)owner;
	told++;
	told_data = addr_data;
	told_err = err;
	snprintf(told_payload, sizeof(told_payload), "%.*s",
		 (int)m->payload_len, (const char *)m->payload);
	snprintf(told_why, sizeof(told_why), "%s", why);
	snprintf(told_onward, sizeof(told_onward), "%.*s",
		 m->onward.count ? (int)m->onward.hop[0].len : 0,
		 m->onward.count ? (const char *)m->onward.hop[0].data : "");
}

static int setup(void)
{
	R = router_create(16);
	N = R ? notices_create(R, 4) : NULL;
	return N ? 0 : -1;
}

static int teardown(void)
{
	notices_destroy(N);
	router_destroy(R);
	return 0;
}

static int owner_a, owner_b;

static void dropped_msg(struct ockam_message *m, const char *sender,
			const char *payload)
{
	struct ockam_addr a;
	ockam_message_init(m);
	ockam_addr_local(&a, "echoer");
	t_route_append(&m->onward, &a);
	if (sender) {
		ockam_addr_local(&a, sender);
		t_route_append(&m->ret, &a);
	}
	m->payload = (const uint8_t *)payload;
	m->payload_len = strlen(payload);
}

static void test_sender_is_told_later(void)
{
	struct ockam_message m;
	struct notice_stats st;
	int data = 7;

	CU_ASSERT_EQUAL(router_address_add(R, "app", sink, &owner_a, &data), 0);
	CU_ASSERT_EQUAL(notices_handler_add(N, &owner_a, on_notice), 0);
	told = 0;
	/* The notice keeps its own copy: the message it is about lived in
	 * the poster's buffer, which is reused at once. */
	char payload[] = "hello", app[] = "app";
	dropped_msg(&m, app, payload);
	CU_ASSERT_EQUAL(notices_post(N, &m, -ECONNREFUSED,
				     "cannot connect to 127.0.0.1:4000"), 0);
	memcpy(payload, "XXXXX", 5);
	memcpy(app, "xxx", 3);
	CU_ASSERT_EQUAL(told, 0); /* not inside the poster's call */
	CU_ASSERT_EQUAL(notices_drain(N), 0);
	CU_ASSERT_EQUAL(told, 1);
	CU_ASSERT_PTR_EQUAL(told_data, &data);
	CU_ASSERT_EQUAL(told_err, -ECONNREFUSED);
	CU_ASSERT_STRING_EQUAL(told_payload, "hello");
	CU_ASSERT_STRING_EQUAL(told_onward, "echoer");
	CU_ASSERT_STRING_EQUAL(told_why, "cannot connect to 127.0.0.1:4000");
	notices_stats_get(N, &st);
	CU_ASSERT_EQUAL(st.delivered, 1);
	notices_handler_remove(N, &owner_a);
	router_address_remove(R, "app", &owner_a);
}

static void test_who_is_skipped(void)
{
	struct ockam_message m;
	struct notice_stats before, st;
	struct ockam_addr tcp = { .data = (const uint8_t *)"127.0.0.1:4000",
				  .type = 1, .len = 14 };

	notices_stats_get(N, &before);
	told = 0;
	/* No return route, or a remote one: nobody local to tell. */
	dropped_msg(&m, NULL, "x");
	CU_ASSERT_EQUAL(notices_post(N, &m, -EPIPE, "gone"), -ENOENT);
	t_route_append(&m.ret, &tcp);
	CU_ASSERT_EQUAL(notices_post(N, &m, -EPIPE, "gone"), -ENOENT);

	/* An owner without a handler (echoer-like plugins). */
	CU_ASSERT_EQUAL(router_address_add(R, "quiet", sink, &owner_b, NULL),
			0);
	dropped_msg(&m, "quiet", "x");
	CU_ASSERT_EQUAL(notices_post(N, &m, -EPIPE, "gone"), 0);

	/* A sender that went away before the notice was delivered. */
	CU_ASSERT_EQUAL(router_address_add(R, "brief", sink, &owner_a, NULL),
			0);
	CU_ASSERT_EQUAL(notices_handler_add(N, &owner_a, on_notice), 0);
	dropped_msg(&m, "brief", "x");
	CU_ASSERT_EQUAL(notices_post(N, &m, -EPIPE, "gone"), 0);
	CU_ASSERT_EQUAL(router_address_remove(R, "brief", &owner_a), 0);

	CU_ASSERT_EQUAL(notices_drain(N), 0);
	CU_ASSERT_EQUAL(told, 0);
	notices_stats_get(N, &st);
	CU_ASSERT_EQUAL(st.no_sender - before.no_sender, 2);
	CU_ASSERT_EQUAL(st.no_handler - before.no_handler, 2);
	notices_handler_remove(N, &owner_a);
	router_address_remove(R, "quiet", &owner_b);
}

/* Like the hop plugin: pass the notice to the sender before us. */
static void pass_back(void *owner, void *addr_data,
		      const struct ockam_message *m, int err, const char *why)
{
	struct ockam_message f = *m;
	(void)owner;
	(void)addr_data;
	t_route_pop(&f.ret);
	notices_post(N, &f, err, why);
}

static void test_passed_back_in_one_pass(void)
{
	struct ockam_message m;
	struct ockam_addr a;

	CU_ASSERT_EQUAL(router_address_add(R, "app", sink, &owner_a, NULL), 0);
	CU_ASSERT_EQUAL(notices_handler_add(N, &owner_a, on_notice), 0);
	CU_ASSERT_EQUAL(router_address_add(R, "hop", sink, &owner_b, NULL), 0);
	CU_ASSERT_EQUAL(notices_handler_add(N, &owner_b, pass_back), 0);
	told = 0;
	dropped_msg(&m, "hop", "via hop");
	ockam_addr_local(&a, "app");
	t_route_append(&m.ret, &a);
	CU_ASSERT_EQUAL(notices_post(N, &m, -EPIPE, "gone"), 0);
	/* The app may finish in the loop's next pass: it hears now. */
	CU_ASSERT_EQUAL(notices_drain(N), 0);
	CU_ASSERT_EQUAL(told, 1);
	CU_ASSERT_STRING_EQUAL(told_payload, "via hop");
	notices_handler_remove(N, &owner_a);
	notices_handler_remove(N, &owner_b);
	router_address_remove(R, "app", &owner_a);
	router_address_remove(R, "hop", &owner_b);
}

static void test_queue_is_bounded(void)
{
	struct ockam_message m;
	struct notice_stats before, st;

	CU_ASSERT_EQUAL(router_address_add(R, "app", sink, &owner_a, NULL), 0);
	CU_ASSERT_EQUAL(notices_handler_add(N, &owner_a, on_notice), 0);
	notices_stats_get(N, &before);
	told = 0;
	dropped_msg(&m, "app", "x");
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(notices_post(N, &m, -EPIPE, "gone"), 0);
	CU_ASSERT_EQUAL(notices_post(N, &m, -EPIPE, "gone"), -ENOBUFS);
	CU_ASSERT_EQUAL(notices_drain(N), 0);
	CU_ASSERT_EQUAL(told, 4);
	notices_stats_get(N, &st);
	CU_ASSERT_EQUAL(st.dropped_full - before.dropped_full, 1);
	/* Room again once drained; leftovers are freed by destroy. */
	CU_ASSERT_EQUAL(notices_post(N, &m, -EPIPE, "gone"), 0);
	notices_handler_remove(N, &owner_a);
	router_address_remove(R, "app", &owner_a);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "the sender is told, later", test_sender_is_told_later },
		{ "who is skipped", test_who_is_skipped },
		{ "passed back along hops in one pass", test_passed_back_in_one_pass },
		{ "the queue is bounded", test_queue_is_bounded },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "notice", .init = setup, .cleanup = teardown,
		.tests = tests });
}
