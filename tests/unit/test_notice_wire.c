/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery-failure notices across nodes (host/notice_wire.c): a notice
 * whose sender is on another node goes back along the return route as a
 * message (docs/protocol.md), best effort, never dialling, never about a
 * notice, at most NOTICE_WIRE_RATE a second; one that arrives becomes the
 * local notice "undeliverable at <node>: <reason>", and an unreadable one
 * is dropped and counted.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "../common/cunit_main.h"
#include "../common/test_route.h"
#include "notice.h"
#include "notice_wire.h"
#include "router.h"

static struct router *R;
static struct notices *N;
static struct wire_notices *W;

/* What the fake transport was handed. */
static int sent;
static uint8_t sent_payload[256];
static size_t sent_len;
static struct ockam_route sent_onward, sent_ret;
static uint32_t sent_flags;

static int fake_send(void *data, const struct ockam_message *m)
{
	(void)data;
	sent++;
	sent_len = m->payload_len < sizeof(sent_payload) ? m->payload_len
							 : sizeof(sent_payload);
	memcpy(sent_payload, m->payload, sent_len);
	t_route_copy(&sent_onward, &m->onward);
	t_route_copy(&sent_ret, &m->ret);
	sent_flags = m->flags;
	return 0;
}

static const struct ockam_transport_ops fake_ops = {.send = fake_send};

static int remote(void *data, const struct ockam_message *m, int err,
		  const char *why)
{
	(void)data;
	return wire_notice_send(W, m, err, why);
}

/* What the local sender was told. */
static int told, told_err;
static char told_why[NOTICE_WHY_MAX], told_onward[64];

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
	(void)addr_data;
	told++;
	told_err = err;
	snprintf(told_why, sizeof(told_why), "%s", why);
	snprintf(told_onward, sizeof(told_onward), "%zu:%.*s", m->onward.count,
		 m->onward.count ? (int)m->onward.hop[0].len : 0,
		 m->onward.count ? (const char *)m->onward.hop[0].data : "");
}

static int owner;

static int setup(void)
{
	R = router_create(16);
	N = R ? notices_create(R, 8) : NULL;
	W = N ? wire_notices_create(R, N, "relay") : NULL;
	if (!W)
		return -1;
	notices_set_remote(N, remote, NULL);
	router_set_notice_in(R, NULL, NULL);
	if (router_transport_add(R, 1, "tcp", &fake_ops, NULL, NULL) < 0 ||
	    router_address_add(R, "app", sink, &owner, NULL) < 0 ||
	    notices_handler_add(N, &owner, on_notice) < 0)
		return -1;
	return 0;
}

static int teardown(void)
{
	wire_notices_destroy(W);
	notices_destroy(N);
	router_destroy(R);
	return 0;
}

static struct ockam_addr tcp_addr(const char *v)
{
	struct ockam_addr a;
	ockam_addr_set(&a, OCKAM_ADDR_TCP, v, strlen(v));
	return a;
}

/* A message that came from another node: return [tcp:peer, app]. */
static void from_peer(struct ockam_message *m, struct ockam_addr *peer,
		      struct ockam_addr *app)
{
	ockam_message_init(m);
	struct ockam_addr to;
	ockam_addr_local(&to, "forward_to_bob");
	t_route_append(&m->onward, &to);
	*peer = tcp_addr("127.0.0.1:5555");
	ockam_addr_local(app, "app");
	t_route_append(&m->ret, peer);
	t_route_append(&m->ret, app);
	m->payload = (const uint8_t *)"secret payload";
	m->payload_len = 14;
}

static void test_sent_back_along_the_return_route(void)
{
	struct ockam_message m;
	struct ockam_addr peer, app;
	sent = 0;
	from_peer(&m, &peer, &app);
	CU_ASSERT_EQUAL(notices_post(N, &m, -EHOSTUNREACH, "no relay named 'bob'"), 0);
	CU_ASSERT_EQUAL_FATAL(sent, 1);
	/* Onward: the return route; return: the marker alone. */
	CU_ASSERT_EQUAL(sent_onward.count, 2);
	CU_ASSERT(ockam_addr_equal(&sent_onward.hop[0], &peer));
	CU_ASSERT(ockam_addr_is_local(&sent_onward.hop[1], "app"));
	CU_ASSERT_EQUAL(sent_ret.count, 1);
	CU_ASSERT(ockam_addr_is_local(&sent_ret.hop[0], "!undeliverable"));
	/* Never dials, and a gone sender is nobody's problem. */
	CU_ASSERT_EQUAL(sent_flags, OCKAM_MSG_BEST_EFFORT);
	/* version 1, code 1 (EHOSTUNREACH), the node, the reason; not the
	 * payload. */
	static const char want[] = "\x01\x01\x05relayno relay named 'bob'";
	CU_ASSERT_EQUAL(sent_len, sizeof(want) - 1);
	CU_ASSERT(memcmp(sent_payload, want, sizeof(want) - 1) == 0);
	CU_ASSERT(memmem(sent_payload, sent_len, "secret", 6) == NULL);
}

static void test_never_about_a_notice(void)
{
	struct ockam_message m;
	struct ockam_addr peer, app, marker;
	struct wire_notice_stats st;
	sent = 0;
	from_peer(&m, &peer, &app);
	ockam_addr_local(&marker, NOTICE_WIRE_MARKER);
	t_route_append(&m.ret, &marker);
	CU_ASSERT_EQUAL(notices_post(N, &m, -EHOSTUNREACH, "x"), -ENOENT);
	CU_ASSERT_EQUAL(sent, 0);
	wire_notices_stats_get(W, &st);
	CU_ASSERT_EQUAL(st.about_notice, 1);
}

static void test_rate_limited(void)
{
	struct ockam_message m;
	struct ockam_addr peer, app;
	struct wire_notice_stats before, st;
	int ok = 0, limited = 0;
	wire_notices_stats_get(W, &before);
	from_peer(&m, &peer, &app);
	/* A burst far over the rate, faster than a second. */
	for (int i = 0; i < 3 * NOTICE_WIRE_RATE; i++) {
		int rc = notices_post(N, &m, -EHOSTUNREACH, "x");
		ok += rc == 0;
		limited += rc == -EAGAIN;
	}
	CU_ASSERT(ok <= NOTICE_WIRE_RATE + 2);
	CU_ASSERT(ok >= NOTICE_WIRE_RATE / 2);
	CU_ASSERT_EQUAL(ok + limited, 3 * NOTICE_WIRE_RATE);
	wire_notices_stats_get(W, &st);
	CU_ASSERT_EQUAL(st.rate_limited - before.rate_limited, (uint64_t)limited);
}

/* A notice arriving at `app` with the bytes of string literal `p`. */
#define ARRIVE(p) arrive((p), sizeof(p) - 1)
static void arrive(const void *payload, size_t len)
{
	struct ockam_message m;
	struct ockam_addr app, peer = tcp_addr("localhost:4000"), hop, marker;
	ockam_message_init(&m);
	ockam_addr_local(&app, "app");
	ockam_addr_local(&hop, "hop");
	ockam_addr_local(&marker, NOTICE_WIRE_MARKER);
	t_route_append(&m.onward, &app);
	t_route_append(&m.ret, &peer);
	t_route_append(&m.ret, &hop);
	t_route_append(&m.ret, &marker);
	m.payload = payload;
	m.payload_len = len;
	CU_ASSERT(notice_wire_arrived(&m));
	CU_ASSERT_EQUAL(wire_notice_receive(W, &m), 0);
	notices_drain(N);
}

static void test_arrives_as_a_local_notice(void)
{
	struct wire_notice_stats before, st;
	told = 0;
	ARRIVE("\x01\x01\x05relayno relay named 'bob'");
	CU_ASSERT_EQUAL_FATAL(told, 1);
	CU_ASSERT_EQUAL(told_err, -EHOSTUNREACH);
	CU_ASSERT_STRING_EQUAL(told_why,
			       "undeliverable at relay: no relay named 'bob'");
	/* About the way the message went: the notice's return route
	 * without the marker. */
	CU_ASSERT_STRING_EQUAL(told_onward, "2:localhost:4000");
	/* Control characters a stranger wrote are not passed on. */
	ARRIVE("\x01\x00\x02n\x1bwhy\x07");
	CU_ASSERT_EQUAL(told, 2);
	CU_ASSERT_EQUAL(told_err, -EIO);
	CU_ASSERT_STRING_EQUAL(told_why, "undeliverable at n?: why?");
	/* Another version, a name running past the end, too short: dropped
	 * and counted, nobody told. */
	wire_notices_stats_get(W, &before);
	ARRIVE("\x02\x01\x05relayx");
	ARRIVE("\x01\x01\x40relay");
	ARRIVE("\x01");
	CU_ASSERT_EQUAL(told, 2);
	wire_notices_stats_get(W, &st);
	CU_ASSERT_EQUAL(st.malformed - before.malformed, 3);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "sent back along the return route", test_sent_back_along_the_return_route },
		{ "never about a notice", test_never_about_a_notice },
		{ "rate-limited", test_rate_limited },
		{ "arrives as a local notice", test_arrives_as_a_local_notice },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "notice_wire", .init = setup, .cleanup = teardown,
		.tests = tests });
}
