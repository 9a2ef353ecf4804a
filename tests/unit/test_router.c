/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The router: local delivery through the queue, unknown addresses, return
 * routes through several hops, backpressure, the secure flag, access and
 * flow control, transports, and the text form of routes.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/cunit_main.h"
#include "log.h"
#include "route_text.h"
#include "router.h"

static struct router *R;

/* What the sink saw. */
static int sink_calls;
static char sink_payload[64];
static struct ockam_route sink_ret;
static uint32_t sink_flags;
static char sink_id[OCKAM_IDENTIFIER_MAX];

static int sink(void *owner, void *data, const struct ockam_message *m)
{
	sink_calls++;
	snprintf(sink_payload, sizeof(sink_payload), "%.*s",
		 (int)m->payload_len, (const char *)m->payload);
	ockam_route_copy(&sink_ret, &m->ret);
	sink_flags = m->flags;
	snprintf(sink_id, sizeof(sink_id), "%s", m->identifier);
	return 0;
}

/* A forwarder like the hop plugin: pop self, push self onto return. */
static int hop(void *owner, void *data, const struct ockam_message *m)
{
	struct ockam_message f = *m;
	ockam_route_pop(&f.onward);
	ockam_route_push(&f.ret, &m->onward.hop[0]);
	return router_send(R, (const char *)owner, &f, 0);
}

static void drain_all(void)
{
	while (router_drain(R))
		;
}

static void msg_to(struct ockam_message *m, const char *const *hops,
		   const char *payload)
{
	ockam_message_init(m);
	for (; *hops; hops++) {
		struct ockam_addr a;
		ockam_addr_local(&a, *hops);
		ockam_route_append(&m->onward, &a);
	}
	struct ockam_addr app;
	ockam_addr_local(&app, "app");
	ockam_route_append(&m->ret, &app);
	m->payload = (const uint8_t *)payload;
	m->payload_len = strlen(payload);
}

static int setup(void)
{
	log_set_level(OCKAM_LOG_ERROR);
	R = router_create(4);
	sink_calls = 0;
	return R ? 0 : -1;
}

static int teardown(void)
{
	router_destroy(R);
	R = NULL;
	return 0;
}

static void reset(void)
{
	teardown();
	setup();
}

/* A handler that sends `relay_count` messages to "echoer" and records
 * what each send returned. */
static int relay_count;
static int relay_rc[8];
static int relay(void *owner, void *data, const struct ockam_message *m)
{
	struct ockam_message f;
	msg_to(&f, (const char *[]){"echoer", NULL}, "relayed");
	for (int i = 0; i < relay_count; i++)
		relay_rc[i] = router_send(R, "relay", &f, 0);
	return 0;
}

static void test_delivery_direct_or_queued(void)
{
	reset();
	struct ockam_message m;
	struct router_stats st;
	CU_ASSERT_EQUAL(router_address_add(R, "echoer", sink, NULL, NULL), 0);
	CU_ASSERT_EQUAL(router_address_add(R, "relay", relay, NULL, NULL), 0);

	/* From outside any handler, with nothing queued: delivered now. */
	msg_to(&m, (const char *[]){"echoer", NULL}, "hello");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	CU_ASSERT_EQUAL(sink_calls, 1);
	CU_ASSERT_STRING_EQUAL(sink_payload, "hello");

	/* From inside a handler: queued, delivered by the loop's drain, so
	 * a handler never runs inside another one. */
	relay_count = 1;
	msg_to(&m, (const char *[]){"relay", NULL}, "go");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	CU_ASSERT_EQUAL(relay_rc[0], 0);
	CU_ASSERT_EQUAL(sink_calls, 1);
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.queued, 1);

	/* While something is queued, even an outside send queues behind it
	 * (order is kept). */
	msg_to(&m, (const char *[]){"echoer", NULL}, "after");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	CU_ASSERT_EQUAL(sink_calls, 1);
	CU_ASSERT_EQUAL(router_drain(R), 0);
	CU_ASSERT_EQUAL(sink_calls, 3);
	CU_ASSERT_STRING_EQUAL(sink_payload, "after");
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.delivered, 4);
	CU_ASSERT_EQUAL(st.direct, 2);
	CU_ASSERT_EQUAL(st.queued, 0);
}

static void test_unknown_and_invalid(void)
{
	reset();
	struct ockam_message m;
	msg_to(&m, (const char *[]){"nobody", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), -EHOSTUNREACH);
	msg_to(&m, (const char *[]){NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), -EINVAL);
	CU_ASSERT_EQUAL(router_address_add(R, "bad name", sink, NULL, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(router_address_add(R, "a", sink, NULL, NULL), 0);
	CU_ASSERT_EQUAL(router_address_add(R, "a", sink, NULL, NULL), -EEXIST);
	int owner;
	CU_ASSERT_EQUAL(router_address_remove(R, "a", &owner), -EPERM);
	CU_ASSERT_EQUAL(router_address_remove(R, "a", NULL), 0);
	CU_ASSERT_EQUAL(router_address_remove(R, "a", NULL), -ENOENT);
	struct router_stats st;
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.dropped_unknown, 1);
}

static void test_return_route_through_hops(void)
{
	reset();
	struct ockam_message m;
	router_address_add(R, "h1", hop, "h1", NULL);
	router_address_add(R, "h2", hop, "h2", NULL);
	router_address_add(R, "h3", hop, "h3", NULL);
	router_address_add(R, "echoer", sink, NULL, NULL);
	msg_to(&m, (const char *[]){"h1", "h2", "h3", "echoer", NULL}, "hi");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	drain_all();
	CU_ASSERT_EQUAL_FATAL(sink_calls, 1);
	char text[256];
	route_text_format(R, &sink_ret, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "[h3, h2, h1, app]");
}

static void test_queue_backpressure(void)
{
	reset(); /* 4 slots */
	struct ockam_message m;
	router_address_add(R, "echoer", sink, NULL, NULL);
	router_address_add(R, "relay", relay, NULL, NULL);
	/* A handler sending five: four fit, the fifth is pushed back. */
	relay_count = 5;
	msg_to(&m, (const char *[]){"relay", NULL}, "go");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(relay_rc[i], 0);
	CU_ASSERT_EQUAL(relay_rc[4], -ENOBUFS);
	/* An outside send behind a full queue is pushed back too. */
	msg_to(&m, (const char *[]){"echoer", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), -ENOBUFS);
	drain_all();
	CU_ASSERT_EQUAL(sink_calls, 4);
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	CU_ASSERT_EQUAL(sink_calls, 5);
	struct router_stats st;
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.dropped_full, 2);
	CU_ASSERT_EQUAL(st.queued, 0);
}

/* Outside handlers (a transport reading the network) the queue is full at
 * three quarters: the hops behind them keep room to forward everything
 * they were given. */
static void test_queue_headroom_for_handlers(void)
{
	reset(); /* 4 slots: 3 for outside senders */
	struct ockam_message m;
	router_address_add(R, "h1", hop, "h1", NULL);
	router_address_add(R, "echoer", sink, NULL, NULL);
	/* The first is delivered directly; the next ones queue behind
	 * h1's forward. */
	msg_to(&m, (const char *[]){"h1", "echoer", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "tcp", &m, 0), 0);
	CU_ASSERT_EQUAL(router_send(R, "tcp", &m, 0), 0);
	CU_ASSERT_EQUAL(router_send(R, "tcp", &m, 0), 0);
	CU_ASSERT_EQUAL(router_send(R, "tcp", &m, 0), -ENOBUFS);
	drain_all();
	/* Three sent, three through h1 to the sink: no forward refused. */
	CU_ASSERT_EQUAL(sink_calls, 3);
	struct router_stats st;
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.dropped_full, 1);
}

static void test_secure_flag_needs_privilege(void)
{
	reset();
	struct ockam_message m;
	router_address_add(R, "echoer", sink, NULL, NULL);
	msg_to(&m, (const char *[]){"echoer", NULL}, "x");
	m.flags = OCKAM_MSG_SECURE;
	snprintf(m.identifier, sizeof(m.identifier), "Iabc");
	router_send(R, "worker", &m, 0);
	drain_all();
	CU_ASSERT_EQUAL(sink_flags & OCKAM_MSG_SECURE, 0);
	CU_ASSERT_STRING_EQUAL(sink_id, "");
	router_send(R, "channel", &m, 1);
	drain_all();
	CU_ASSERT_EQUAL(sink_flags & OCKAM_MSG_SECURE, OCKAM_MSG_SECURE);
	CU_ASSERT_STRING_EQUAL(sink_id, "Iabc");
}

static void test_access_policy(void)
{
	reset();
	struct ockam_message m;
	static const char *const ids[] = {"Igood"};
	struct router_policy secure = {.secure_only = 1};
	struct router_policy listed = {.secure_only = 1, .ids = ids, .n_ids = 1};
	router_address_add(R, "s", sink, NULL, NULL);
	router_address_add(R, "l", sink, NULL, NULL);
	CU_ASSERT_EQUAL(router_address_set_policy(R, "s", &secure), 0);
	CU_ASSERT_EQUAL(router_address_set_policy(R, "l", &listed), 0);
	CU_ASSERT_EQUAL(router_address_set_policy(R, "zz", &listed), -ENOENT);

	msg_to(&m, (const char *[]){"s", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "plain", &m, 0), -EACCES);
	m.flags = OCKAM_MSG_SECURE; /* a forged flag from a plain worker */
	CU_ASSERT_EQUAL(router_send(R, "plain", &m, 0), -EACCES);
	CU_ASSERT_EQUAL(router_send(R, "chan", &m, 1), 0);

	msg_to(&m, (const char *[]){"l", NULL}, "x");
	m.flags = OCKAM_MSG_SECURE;
	snprintf(m.identifier, sizeof(m.identifier), "Ibad");
	CU_ASSERT_EQUAL(router_send(R, "chan", &m, 1), -EACCES);
	snprintf(m.identifier, sizeof(m.identifier), "Igood");
	CU_ASSERT_EQUAL(router_send(R, "chan", &m, 1), 0);
	drain_all();
	CU_ASSERT_EQUAL(sink_calls, 2);
	struct router_stats st;
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.denied, 3);
}

static void test_reach(void)
{
	reset();
	struct ockam_message m;
	static const char *const reach[] = {"echoer"};
	struct router_sender worker = {.name = "w", .reach = reach, .n_reach = 1};
	struct router_sender chan = {.name = "c", .may_secure = 1,
				     .reach = reach, .n_reach = 1};
	router_address_add(R, "echoer", sink, NULL, NULL);
	router_address_add(R, "other", sink, NULL, NULL);
	msg_to(&m, (const char *[]){"other", NULL}, "x");
	CU_ASSERT_EQUAL(router_send_from(R, &worker, &m), -EACCES);
	/* A channel's own (unmarked) traffic is not limited ... */
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), 0);
	/* ... what comes out of its channels is. */
	m.flags = OCKAM_MSG_SECURE;
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), -EACCES);
	msg_to(&m, (const char *[]){"echoer", NULL}, "x");
	m.flags = OCKAM_MSG_SECURE;
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), 0);
	CU_ASSERT_EQUAL(router_send_from(R, &worker, &m), 0);
}

/* A handler that removes its own address: later queued messages for it
 * are dropped, never delivered to freed state. */
static int self_remove(void *owner, void *data, const struct ockam_message *m)
{
	sink_calls++;
	router_address_remove(R, "once", NULL);
	return -EIO; /* counted, not fatal */
}

/* Queues two messages for "once" from inside a handler. */
static int queue_twice(void *owner, void *data, const struct ockam_message *m)
{
	struct ockam_message f;
	msg_to(&f, (const char *[]){"once", NULL}, "x");
	router_send(R, "q", &f, 0);
	router_send(R, "q", &f, 0);
	return 0;
}

static void test_remove_inside_handler(void)
{
	reset();
	struct ockam_message m;
	router_address_add(R, "once", self_remove, NULL, NULL);
	router_address_add(R, "q", queue_twice, NULL, NULL);
	msg_to(&m, (const char *[]){"q", NULL}, "x");
	router_send(R, "t", &m, 0);
	struct router_stats st;
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.queued, 2);
	drain_all();
	/* The first removed the address; the second, already queued, is
	 * dropped rather than delivered to freed state. */
	CU_ASSERT_EQUAL(sink_calls, 1);
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.handler_errors, 1);
	CU_ASSERT_EQUAL(st.dropped_unknown, 1);
}

static int tsend_calls;
static int tsend(void *data, const struct ockam_message *m)
{
	tsend_calls++;
	return 0;
}

static void test_transports_and_text(void)
{
	reset();
	struct ockam_addr a;
	char err[256], text[256];
	int owner;
	CU_ASSERT_EQUAL(addr_text_parse(R, "tcp:localhost:4000", &a, err,
					sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown transport 'tcp'"));
	CU_ASSERT_EQUAL(router_transport_add(R, 1, "tcp", tsend, NULL, &owner), 0);
	CU_ASSERT_EQUAL(router_transport_add(R, 1, "tcp2", tsend, NULL, &owner),
			-EEXIST);
	CU_ASSERT_EQUAL(router_transport_add(R, 2, "tcp", tsend, NULL, &owner),
			-EEXIST);
	CU_ASSERT_EQUAL(router_transport_add(R, 0, "x", tsend, NULL, &owner),
			-EINVAL);
	CU_ASSERT_EQUAL(addr_text_parse(R, "tcp:localhost:4000", &a, err,
					sizeof(err)), 0);
	CU_ASSERT_EQUAL(a.type, 1);
	CU_ASSERT_EQUAL(a.len, 14);
	CU_ASSERT_EQUAL(addr_text_parse(R, "7#abc", &a, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(a.type, 7);
	CU_ASSERT_EQUAL(addr_text_parse(R, "bad name", &a, err, sizeof(err)),
			-EINVAL);

	struct ockam_message m;
	ockam_message_init(&m);
	addr_text_parse(R, "tcp:localhost:4000", &m.onward.hop[0], err,
			sizeof(err));
	addr_text_parse(R, "echoer", &m.onward.hop[1], err, sizeof(err));
	addr_text_parse(R, "7#a,b", &m.onward.hop[2], err, sizeof(err));
	m.onward.count = 3;
	route_text_format(R, &m.onward, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "[tcp:localhost:4000, echoer, 7#a\\x2cb]");
	/* Truncation is safe and reports the needed length. */
	size_t need = route_text_format(R, &m.onward, text, 5);
	CU_ASSERT_EQUAL(need, strlen("[tcp:localhost:4000, echoer, 7#a\\x2cb]"));
	CU_ASSERT_STRING_EQUAL(text, "[tcp");

	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	CU_ASSERT_EQUAL(tsend_calls, 1);
	router_remove_owner(R, &owner);
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), -EHOSTUNREACH);
}

/* What the transport was last handed: its flags. */
static uint32_t tsend_flags;
static int tsend_flagged(void *data, const struct ockam_message *m)
{
	tsend_calls++;
	tsend_flags = m->flags;
	return 0;
}

static struct ockam_addr tcp_addr(const char *value)
{
	struct ockam_addr a;
	ockam_addr_set(&a, OCKAM_ADDR_TCP, value, strlen(value));
	return a;
}

/* route.h's pattern matcher, shared by the hop's `to:` and `reach:`. */
static void test_addr_patterns(void)
{
	static const struct {
		const char *pattern, *addr;
		int match;
	} cases[] = {
		{ "127.0.0.1:4000", "127.0.0.1:4000", 1 },
		{ "127.0.0.1:4000", "127.0.0.1:4001", 0 },
		{ "127.0.0.1:4000", "127.0.0.1:40000", 0 },
		{ "127.0.0.1:4000", "localhost:4000", 0 }, /* no resolving */
		{ "127.0.0.1:*", "127.0.0.1:6379", 1 },
		{ "127.0.0.1:*", "127.0.0.10:6379", 0 },
		{ "127.0.0.1:*", "127.0.0.1.evil.example:80", 0 },
		{ "*:4000", "10.0.0.7:4000", 1 },
		{ "*:4000", "10.0.0.7:40001", 0 },
		{ "*:*", "bob.example:1", 1 },
		{ "*:*", "nocolon", 0 },
		{ "*:*", ":80", 0 },
		{ "[::1]:*", "[::1]:4000", 1 },
		{ "[::1]:4000", "[::2]:4000", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ockam_addr p = tcp_addr(cases[i].pattern);
		struct ockam_addr a = tcp_addr(cases[i].addr);
		CU_ASSERT_PTR_NULL(ockam_addr_pattern_error(&p));
		CU_ASSERT_EQUAL(ockam_addr_match(&p, &a), cases[i].match);
		if (ockam_addr_match(&p, &a) != cases[i].match)
			fprintf(stderr, "pattern %s, address %s\n",
				cases[i].pattern, cases[i].addr);
	}
	/* Another address type never matches. */
	struct ockam_addr p = tcp_addr("*:*"), l;
	ockam_addr_local(&l, "echoer");
	CU_ASSERT_EQUAL(ockam_addr_match(&p, &l), 0);
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", ":4000", "10.0.0.*:4000", "*x:1",
		"h:0", "h:65536", "h:04000", "h:4x", "h:123456", "h:**",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ockam_addr b = tcp_addr(bad[i]);
		CU_ASSERT_PTR_NOT_NULL(ockam_addr_pattern_error(&b));
	}
}

/* Who may send to a transport address (docs/security.md). */
static void test_transport_senders(void)
{
	reset();
	int owner;
	struct router_stats st;
	struct ockam_message m;
	CU_ASSERT_EQUAL(router_transport_add(R, 1, "tcp", tsend_flagged, NULL,
					     &owner), 0);
	router_address_add(R, "echoer", sink, NULL, NULL);
	msg_to(&m, (const char *[]){"echoer", NULL}, "x");
	m.onward.hop[0] = tcp_addr("127.0.0.1:6379");
	m.flags = OCKAM_MSG_CONNECT;

	/* From the network: never on to a transport, counted. */
	struct router_sender net = {.name = "tcp", .transport = 1};
	tsend_calls = 0;
	CU_ASSERT_EQUAL(router_send_from(R, &net, &m), -EACCES);
	CU_ASSERT_EQUAL(tsend_calls, 0);
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.relay_refused, 1);

	/* A worker without reach: as it asked. */
	struct router_sender w = {.name = "w"};
	CU_ASSERT_EQUAL(router_send_from(R, &w, &m), 0);
	CU_ASSERT_EQUAL(tsend_calls, 1);
	CU_ASSERT_EQUAL(tsend_flags, OCKAM_MSG_CONNECT);

	/* With a reach list: only what a pattern matches. */
	static const char *const reach[] = {"echoer", "tcp:127.0.0.1:4000"};
	struct ockam_addr pat = tcp_addr("127.0.0.1:4000");
	struct router_sender lim = {.name = "l", .reach = reach, .n_reach = 2,
				    .reach_addrs = &pat, .n_reach_addrs = 1};
	CU_ASSERT_EQUAL(router_send_from(R, &lim, &m), -EACCES);
	m.onward.hop[0] = tcp_addr("127.0.0.1:4000");
	m.flags = 0;
	CU_ASSERT_EQUAL(router_send_from(R, &lim, &m), 0);
	CU_ASSERT_EQUAL(tsend_flags, 0); /* it did not ask to connect */

	/* Out of a secure channel: denied without a reach list; with one,
	 * a matching address may be dialled. */
	struct router_sender chan = {.name = "c", .may_secure = 1};
	m.flags = OCKAM_MSG_SECURE;
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), -EACCES);
	chan.reach = reach;
	chan.n_reach = 2;
	chan.reach_addrs = &pat;
	chan.n_reach_addrs = 1;
	tsend_calls = 0;
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), 0);
	CU_ASSERT_EQUAL(tsend_calls, 1);
	CU_ASSERT_EQUAL(tsend_flags, OCKAM_MSG_SECURE | OCKAM_MSG_CONNECT);
	CU_ASSERT_EQUAL(m.flags, OCKAM_MSG_SECURE); /* the sender's copy */
	m.onward.hop[0] = tcp_addr("127.0.0.1:4001");
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), -EACCES);
	/* The channel's own traffic (unmarked) is not limited. */
	m.flags = 0;
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), 0);
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.denied, 3);
	router_remove_owner(R, &owner);
}

/* A transport's OCKAM_MSG_CONNECT never reaches a worker. */
static void test_transport_connect_cleared(void)
{
	reset();
	struct ockam_message m;
	struct router_sender net = {.name = "tcp", .transport = 1};
	router_address_add(R, "sink", sink, NULL, NULL);
	msg_to(&m, (const char *[]){"sink", NULL}, "x");
	m.flags = OCKAM_MSG_CONNECT;
	sink_flags = 0xff;
	CU_ASSERT_EQUAL(router_send_from(R, &net, &m), 0);
	drain_all();
	CU_ASSERT_EQUAL(sink_flags, 0);
	/* A worker's is delivered as it was sent. */
	struct router_sender w = {.name = "w"};
	CU_ASSERT_EQUAL(router_send_from(R, &w, &m), 0);
	drain_all();
	CU_ASSERT_EQUAL(sink_flags, OCKAM_MSG_CONNECT);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "delivery: direct, or queued behind a handler", test_delivery_direct_or_queued },
		{ "unknown and invalid addresses", test_unknown_and_invalid },
		{ "return route through hops", test_return_route_through_hops },
		{ "queue backpressure", test_queue_backpressure },
		{ "queue headroom for handlers", test_queue_headroom_for_handlers },
		{ "secure flag needs privilege", test_secure_flag_needs_privilege },
		{ "access policy", test_access_policy },
		{ "reach", test_reach },
		{ "remove inside handler", test_remove_inside_handler },
		{ "transports and route text", test_transports_and_text },
		{ "address patterns", test_addr_patterns },
		{ "who may send to a transport address", test_transport_senders },
		{ "a transport's connect flag is cleared", test_transport_connect_cleared },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "router", .init = setup, .cleanup = teardown,
		.tests = tests });
}
