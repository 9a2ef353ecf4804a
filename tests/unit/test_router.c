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
#include "../common/test_route.h"
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
	t_route_copy(&sink_ret, &m->ret);
	sink_flags = m->flags;
	snprintf(sink_id, sizeof(sink_id), "%s", ockam_message_identifier(m));
	return 0;
}

/* A forwarder like the hop plugin: pop self, push self onto return. */
static int hop(void *owner, void *data, const struct ockam_message *m)
{
	struct ockam_message f = *m;
	t_route_pop(&f.onward);
	t_route_push(&f.ret, &m->onward.hop[0]);
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
		t_route_append(&m->onward, &a);
	}
	struct ockam_addr app;
	ockam_addr_local(&app, "app");
	t_route_append(&m->ret, &app);
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

/* ABI 2's one send rule: every local message is queued, wherever it is
 * sent from, and delivered by the loop's drain in send order; a handler
 * never runs inside a send. */
static void test_delivery_always_queued(void)
{
	reset();
	struct ockam_message m;
	struct router_stats st;
	CU_ASSERT_EQUAL(router_address_add(R, "echoer", sink, NULL, NULL), 0);
	CU_ASSERT_EQUAL(router_address_add(R, "relay", relay, NULL, NULL), 0);

	/* From outside any handler, with nothing queued: still queued. */
	msg_to(&m, (const char *[]){"echoer", NULL}, "hello");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	CU_ASSERT_EQUAL(sink_calls, 0);
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.queued, 1);

	relay_count = 1;
	msg_to(&m, (const char *[]){"relay", NULL}, "go");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	msg_to(&m, (const char *[]){"echoer", NULL}, "after");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	CU_ASSERT_EQUAL(sink_calls, 0);

	/* In send order: hello, (relay, which queues "relayed"), after,
	 * then relayed. */
	CU_ASSERT_EQUAL(router_drain(R), 0);
	CU_ASSERT_EQUAL(sink_calls, 3);
	CU_ASSERT_EQUAL(relay_rc[0], 0);
	CU_ASSERT_STRING_EQUAL(sink_payload, "relayed");
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.delivered, 4);
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
	reset(); /* 4 slots: 3 for senders outside handlers */
	struct ockam_message m;
	router_address_add(R, "echoer", sink, NULL, NULL);
	router_address_add(R, "relay", relay, NULL, NULL);
	/* A handler sending five: its own message holds a slot until it
	 * returns, so three fit and the rest are pushed back. */
	relay_count = 5;
	msg_to(&m, (const char *[]){"relay", NULL}, "go");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	drain_all();
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(relay_rc[i], 0);
	CU_ASSERT_EQUAL(relay_rc[3], -ENOBUFS);
	CU_ASSERT_EQUAL(relay_rc[4], -ENOBUFS);
	CU_ASSERT_EQUAL(sink_calls, 3);
	/* Outside senders fill three quarters, then are pushed back. */
	msg_to(&m, (const char *[]){"echoer", NULL}, "x");
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), -ENOBUFS);
	drain_all();
	CU_ASSERT_EQUAL(sink_calls, 6);
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	drain_all();
	CU_ASSERT_EQUAL(sink_calls, 7);
	struct router_stats st;
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.dropped_full, 3);
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

static int tsend_stub(void *data, const struct ockam_message *m)
{
	return 0;
}
static const struct ockam_transport_ops stub_ops = {.send = tsend_stub};

/* A channel instance: it owns "sc_enc.1", where what comes out of its
 * channel says it came from. */
static int chan_owner;
static const struct router_sender chan = {
	.name = "channel", .may_secure = 1, .owner = &chan_owner };

/* m as it comes out of chan's channel: [sc_enc.1, app] back, secure. */
static void from_channel(struct ockam_message *m)
{
	struct ockam_addr enc;
	ockam_addr_local(&enc, "sc_enc.1");
	t_route_push(&m->ret, &enc);
	m->flags = OCKAM_MSG_SECURE;
	m->identifier = "Iabc";
}

static void test_secure_flag_needs_privilege(void)
{
	reset();
	struct ockam_message m;
	router_address_add(R, "echoer", sink, NULL, NULL);
	router_address_add(R, "sc_enc.1", sink, &chan_owner, NULL);
	msg_to(&m, (const char *[]){"echoer", NULL}, "x");
	from_channel(&m);
	router_send(R, "worker", &m, 0);
	drain_all();
	CU_ASSERT_EQUAL(sink_flags & OCKAM_MSG_SECURE, 0);
	CU_ASSERT_STRING_EQUAL(sink_id, "");
	router_send_from(R, &chan, &m);
	drain_all();
	CU_ASSERT_EQUAL(sink_flags & OCKAM_MSG_SECURE, OCKAM_MSG_SECURE);
	CU_ASSERT_STRING_EQUAL(sink_id, "Iabc");
}

/* A channel may mark a message secure only if its return route starts at
 * one of the channel's own addresses: ret[0] says which channel it came
 * out of, so it may not name another's, a worker's, a transport's or
 * nothing.  The message still goes, as plaintext. */
static void test_secure_mark_names_its_channel(void)
{
	reset();
	struct ockam_message m;
	struct router_stats st;
	int other_owner;
	router_address_add(R, "echoer", sink, NULL, NULL);
	router_address_add(R, "sc_enc.1", sink, &chan_owner, NULL);
	router_address_add(R, "sc_enc.2", sink, &other_owner, NULL);
	const char *const wrong[] = { "sc_enc.2", "echoer", "nobody", "tcp", "" };
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		msg_to(&m, (const char *[]){"echoer", NULL}, "x");
		from_channel(&m);
		if (!wrong[i][0])
			m.ret.count = 0;
		else if (!strcmp(wrong[i], "tcp"))
			ockam_addr_set(t_hop(&m.ret, 0), 1, "127.0.0.1:1", 11);
		else
			ockam_addr_local(t_hop(&m.ret, 0), wrong[i]);
		sink_flags = OCKAM_MSG_SECURE;
		CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), 0);
		drain_all();
		CU_ASSERT_EQUAL(sink_flags & OCKAM_MSG_SECURE, 0);
		CU_ASSERT_STRING_EQUAL(sink_id, "");
	}
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.secure_cleared, 5);
	/* Its own address: kept. */
	msg_to(&m, (const char *[]){"echoer", NULL}, "x");
	from_channel(&m);
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), 0);
	drain_all();
	CU_ASSERT_EQUAL(sink_flags & OCKAM_MSG_SECURE, OCKAM_MSG_SECURE);
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.secure_cleared, 5);
}

/* A worker's refusal reaches the sender: as send's return when it was
 * handed the message at once, else through the refused hook (the node
 * posts a delivery-failure notice), once, with the worker named. */
static int refuser(void *owner, void *data, const struct ockam_message *m)
{
	sink_calls++;
	return -EMSGSIZE;
}

static int refused_calls, refused_err;
static char refused_why[128], refused_payload[16];
static void on_refused(void *data, const struct ockam_message *m, int err,
		       const char *why)
{
	refused_calls++;
	refused_err = err;
	snprintf(refused_why, sizeof(refused_why), "%s", why);
	snprintf(refused_payload, sizeof(refused_payload), "%.*s",
		 (int)m->payload_len, (const char *)m->payload);
}

/* ockam_message_is_reply: the return route must be the sent route hop for
 * hop, and secure if the request went into a channel. */
static void test_reply_rule(void)
{
	struct ockam_message sent, reply;
	char err[128];
	reset();
	router_transport_add(R, 1, "tcp", &stub_ops, NULL, &chan_owner);
	msg_to(&sent, (const char *[]){"alice", "echoer", NULL}, "q");
	msg_to(&reply, (const char *[]){"app", NULL}, "a");
	t_route_copy(&reply.ret, &sent.onward);
	CU_ASSERT(ockam_message_is_reply(&reply, &sent.onward, 0));
	CU_ASSERT(!ockam_message_is_reply(&reply, &sent.onward, 1));
	reply.flags = OCKAM_MSG_SECURE;
	CU_ASSERT(ockam_message_is_reply(&reply, &sent.onward, 1));
	/* One hop more, one less, one different, the same hops reordered. */
	struct ockam_addr a;
	addr_text_parse(R, "tcp:127.0.0.1:1", &a, err, sizeof(err));
	t_route_push(&reply.ret, &a);
	CU_ASSERT(!ockam_message_is_reply(&reply, &sent.onward, 1));
	t_route_pop(&reply.ret);
	t_route_pop(&reply.ret);
	CU_ASSERT(!ockam_message_is_reply(&reply, &sent.onward, 1));
	t_route_copy(&reply.ret, &sent.onward);
	ockam_addr_local(t_hop(&reply.ret, 1), "echoes");
	CU_ASSERT(!ockam_message_is_reply(&reply, &sent.onward, 1));
	*t_hop(&reply.ret, 0) = sent.onward.hop[1];
	*t_hop(&reply.ret, 1) = sent.onward.hop[0];
	CU_ASSERT(!ockam_message_is_reply(&reply, &sent.onward, 1));
	/* The same text as another address type is another address. */
	t_route_copy(&reply.ret, &sent.onward);
	t_hop(&reply.ret, 0)->type = 1;
	CU_ASSERT(!ockam_message_is_reply(&reply, &sent.onward, 0));
}

static int full(void *owner, void *data, const struct ockam_message *m)
{
	return -ENOBUFS;
}

/* Every local message is queued, so a worker's refusal always reaches
 * the sender through the refused hook (the node posts a delivery-failure
 * notice), once, with the worker named; send itself said 0.  A transport
 * is refused the same way: its connection never stalls on a worker. */
static void test_refusal_reaches_sender(void)
{
	reset();
	struct router_sender tcp = {.name = "tcp", .transport = 1};
	struct ockam_message m;
	refused_calls = 0;
	router_set_refused(R, on_refused, NULL);
	router_address_add(R, "full", full, NULL, NULL);
	router_address_add(R, "big", refuser, NULL, NULL);
	msg_to(&m, (const char *[]){"full", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "app", &m, 0), 0);
	CU_ASSERT_EQUAL(router_send_from(R, &tcp, &m), 0);
	drain_all();
	CU_ASSERT_EQUAL(refused_calls, 2);
	CU_ASSERT_EQUAL(refused_err, -ENOBUFS);
	msg_to(&m, (const char *[]){"big", NULL}, "later");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	CU_ASSERT_EQUAL(sink_calls, 0);
	CU_ASSERT_EQUAL(refused_calls, 2);
	drain_all();
	CU_ASSERT_EQUAL(sink_calls, 1);
	CU_ASSERT_EQUAL(refused_calls, 3);
	CU_ASSERT_EQUAL(refused_err, -EMSGSIZE);
	CU_ASSERT_STRING_EQUAL(refused_payload, "later");
	CU_ASSERT_PTR_NOT_NULL(strstr(refused_why, "'big' refused it"));
}

/* "prefix*" catches the addresses with that prefix that nothing else
 * has, longest prefix first; exact addresses win; it is removed by the
 * same name. */
static int catch_calls;
static char catch_to[64];
static int catcher(void *owner, void *data, const struct ockam_message *m)
{
	catch_calls++;
	snprintf(catch_to, sizeof(catch_to), "%s:%.*s", (const char *)data,
		 m->onward.hop[0].len, (const char *)m->onward.hop[0].data);
	return 0;
}

static void test_catch_all(void)
{
	reset();
	struct ockam_message m;
	catch_calls = 0;
	CU_ASSERT_EQUAL(router_address_add(R, "forward_to_*", catcher, NULL, "short"), 0);
	CU_ASSERT_EQUAL(router_address_add(R, "forward_to_*", catcher, NULL, "x"), -EEXIST);
	CU_ASSERT_EQUAL(router_address_add(R, "forward_to_b*", catcher, NULL, "long"), 0);
	CU_ASSERT_EQUAL(router_address_add(R, "bad*name*", catcher, NULL, "x"), -EINVAL);
	CU_ASSERT_EQUAL(router_address_add(R, "forward_to_bob", sink, NULL, NULL), 0);
	msg_to(&m, (const char *[]){"forward_to_bob", NULL}, "exact");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	msg_to(&m, (const char *[]){"forward_to_bill", NULL}, "longer");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	msg_to(&m, (const char *[]){"forward_to_alice", NULL}, "shorter");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	drain_all();
	CU_ASSERT_EQUAL(sink_calls, 1);
	CU_ASSERT_STRING_EQUAL(sink_payload, "exact");
	CU_ASSERT_EQUAL(catch_calls, 2);
	CU_ASSERT_STRING_EQUAL(catch_to, "short:forward_to_alice");
	/* The prefix alone is not caught (a name after it is needed), nor
	 * is anything else. */
	msg_to(&m, (const char *[]){"forward_to_", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), -EHOSTUNREACH);
	msg_to(&m, (const char *[]){"elsewhere", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), -EHOSTUNREACH);
	int owner;
	CU_ASSERT_EQUAL(router_address_remove(R, "forward_to_*", &owner), -EPERM);
	CU_ASSERT_EQUAL(router_address_remove(R, "forward_to_*", NULL), 0);
	CU_ASSERT_EQUAL(router_address_remove(R, "forward_to_b*", NULL), 0);
	msg_to(&m, (const char *[]){"forward_to_alice", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), -EHOSTUNREACH);
}

/* From the network to no worker: the refused hook hears of it (the node
 * sends the sender a notice); from a local sender it does not (the send
 * returns the error).  A notice arriving where it was going goes to the
 * notice hook instead of the worker. */
static int notice_in_calls;
static int on_notice_in(void *data, const struct ockam_message *m)
{
	(void)data;
	(void)m;
	notice_in_calls++;
	return 0;
}

static void test_network_drops_and_notices(void)
{
	reset();
	struct router_sender tcp = {.name = "tcp", .transport = 1};
	struct ockam_message m;
	refused_calls = 0;
	notice_in_calls = 0;
	router_set_refused(R, on_refused, NULL);
	router_set_notice_in(R, on_notice_in, NULL);
	msg_to(&m, (const char *[]){"nosuch", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "app", &m, 0), -EHOSTUNREACH);
	CU_ASSERT_EQUAL(refused_calls, 0);
	CU_ASSERT_EQUAL(router_send_from(R, &tcp, &m), -EHOSTUNREACH);
	CU_ASSERT_EQUAL(refused_calls, 1);
	CU_ASSERT_EQUAL(refused_err, -EHOSTUNREACH);
	CU_ASSERT_STRING_EQUAL(refused_why, "no worker at address 'nosuch'");

	router_address_add(R, "app", sink, NULL, NULL);
	struct ockam_addr marker;
	ockam_addr_local(&marker, "!undeliverable");
	msg_to(&m, (const char *[]){"app", NULL}, "notice");
	t_route_append(&m.ret, &marker);
	CU_ASSERT_EQUAL(router_send_from(R, &tcp, &m), 0);
	drain_all();
	CU_ASSERT_EQUAL(notice_in_calls, 1);
	CU_ASSERT_EQUAL(sink_calls, 0);
	/* Not at its end yet (a forwarder's), or not a notice: delivered. */
	msg_to(&m, (const char *[]){"app", "more", NULL}, "passing");
	t_route_append(&m.ret, &marker);
	CU_ASSERT_EQUAL(router_send_from(R, &tcp, &m), 0);
	msg_to(&m, (const char *[]){"app", NULL}, "plain");
	CU_ASSERT_EQUAL(router_send_from(R, &tcp, &m), 0);
	drain_all();
	CU_ASSERT_EQUAL(notice_in_calls, 1);
	CU_ASSERT_EQUAL(sink_calls, 2);
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

	router_address_add(R, "sc_enc.1", sink, &chan_owner, NULL);
	msg_to(&m, (const char *[]){"s", NULL}, "x");
	CU_ASSERT_EQUAL(router_send(R, "plain", &m, 0), -EACCES);
	from_channel(&m); /* a forged flag from a plain worker */
	CU_ASSERT_EQUAL(router_send(R, "plain", &m, 0), -EACCES);
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), 0);

	msg_to(&m, (const char *[]){"l", NULL}, "x");
	from_channel(&m);
	m.identifier = "Ibad";
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), -EACCES);
	m.identifier = "Igood";
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), 0);
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
	struct router_sender rchan = {.name = "c", .may_secure = 1,
				      .owner = &chan_owner,
				      .reach = reach, .n_reach = 1};
	router_address_add(R, "echoer", sink, NULL, NULL);
	router_address_add(R, "other", sink, NULL, NULL);
	router_address_add(R, "sc_enc.1", sink, &chan_owner, NULL);
	msg_to(&m, (const char *[]){"other", NULL}, "x");
	CU_ASSERT_EQUAL(router_send_from(R, &worker, &m), -EACCES);
	/* A channel's own (unmarked) traffic is not limited ... */
	CU_ASSERT_EQUAL(router_send_from(R, &rchan, &m), 0);
	/* ... what comes out of its channels is. */
	from_channel(&m);
	CU_ASSERT_EQUAL(router_send_from(R, &rchan, &m), -EACCES);
	msg_to(&m, (const char *[]){"echoer", NULL}, "x");
	from_channel(&m);
	sink_flags = 0;
	CU_ASSERT_EQUAL(router_send_from(R, &rchan, &m), 0);
	drain_all();
	CU_ASSERT_EQUAL(sink_flags & OCKAM_MSG_SECURE, OCKAM_MSG_SECURE);
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
	CU_ASSERT_EQUAL(st.queued, 1);
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
static const struct ockam_transport_ops tsend_ops = {.send = tsend};

static void test_transports_and_text(void)
{
	reset();
	struct ockam_addr a;
	char err[256], text[256];
	int owner;
	CU_ASSERT_EQUAL(addr_text_parse(R, "tcp:localhost:4000", &a, err,
					sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown transport 'tcp'"));
	CU_ASSERT_EQUAL(router_transport_add(R, 1, "tcp", &tsend_ops, NULL, &owner), 0);
	CU_ASSERT_EQUAL(router_transport_add(R, 1, "tcp2", &tsend_ops, NULL, &owner),
			-EEXIST);
	CU_ASSERT_EQUAL(router_transport_add(R, 2, "tcp", &tsend_ops, NULL, &owner),
			-EEXIST);
	CU_ASSERT_EQUAL(router_transport_add(R, 0, "x", &tsend_ops, NULL, &owner),
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
	struct ockam_addr hops[3];
	ockam_message_init(&m);
	addr_text_parse(R, "tcp:localhost:4000", &hops[0], err, sizeof(err));
	addr_text_parse(R, "echoer", &hops[1], err, sizeof(err));
	addr_text_parse(R, "7#a,b", &hops[2], err, sizeof(err));
	m.onward = ockam_route_make(hops, 3);
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
static const struct ockam_transport_ops flagged_ops = {.send = tsend_flagged};

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
	CU_ASSERT_EQUAL(router_transport_add(R, 1, "tcp", &flagged_ops, NULL,
					     &owner), 0);
	router_address_add(R, "echoer", sink, NULL, NULL);
	msg_to(&m, (const char *[]){"echoer", NULL}, "x");
	*t_hop(&m.onward, 0) = tcp_addr("127.0.0.1:6379");
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
	*t_hop(&m.onward, 0) = tcp_addr("127.0.0.1:4000");
	m.flags = 0;
	CU_ASSERT_EQUAL(router_send_from(R, &lim, &m), 0);
	CU_ASSERT_EQUAL(tsend_flags, 0); /* it did not ask to connect */

	/* Out of a secure channel: denied without a reach list; with one,
	 * a matching address may be dialled. */
	struct router_sender chan_s = {.name = "c", .may_secure = 1,
				       .owner = &chan_owner};
	/* A secure mark needs the channel's own address first on the way
	 * back (router.c, secure_mark_ok). */
	router_address_add(R, "sc_enc.1", sink, &chan_owner, NULL);
	m.ret.count = 0;
	struct ockam_addr enc;
	ockam_addr_local(&enc, "sc_enc.1");
	t_route_append(&m.ret, &enc);
	m.flags = OCKAM_MSG_SECURE;
	CU_ASSERT_EQUAL(router_send_from(R, &chan_s, &m), -EACCES);
	chan_s.reach = reach;
	chan_s.n_reach = 2;
	chan_s.reach_addrs = &pat;
	chan_s.n_reach_addrs = 1;
	tsend_calls = 0;
	CU_ASSERT_EQUAL(router_send_from(R, &chan_s, &m), 0);
	CU_ASSERT_EQUAL(tsend_calls, 1);
	CU_ASSERT_EQUAL(tsend_flags, OCKAM_MSG_SECURE | OCKAM_MSG_CONNECT);
	CU_ASSERT_EQUAL(m.flags, OCKAM_MSG_SECURE); /* the sender's copy */
	*t_hop(&m.onward, 0) = tcp_addr("127.0.0.1:4001");
	CU_ASSERT_EQUAL(router_send_from(R, &chan_s, &m), -EACCES);
	/* The channel's own traffic (unmarked) is not limited. */
	m.flags = 0;
	CU_ASSERT_EQUAL(router_send_from(R, &chan_s, &m), 0);
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.denied, 3);
	router_remove_owner(R, &chan_owner);
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

/* The sender's message is its own again when send returns: the queue
 * holds a copy of its routes, identifier and payload. */
static void test_send_copies(void)
{
	reset();
	struct ockam_message m;
	char payload[] = "first", name[] = "echoer";
	struct ockam_addr to, back;
	router_address_add(R, "echoer", sink, NULL, NULL);
	router_address_add(R, "sc_enc.1", sink, &chan_owner, NULL);
	ockam_message_init(&m);
	ockam_addr_local(&to, name);
	m.onward = ockam_route_make(&to, 1);
	ockam_addr_local(&back, "sc_enc.1");
	m.ret = ockam_route_make(&back, 1);
	m.payload = (const uint8_t *)payload;
	m.payload_len = 5;
	char id[] = "Iabc";
	m.identifier = id;
	m.flags = OCKAM_MSG_SECURE;
	CU_ASSERT_EQUAL(router_send_from(R, &chan, &m), 0);
	memcpy(payload, "XXXXX", 5);
	memcpy(name, "xxxxxx", 6);
	memcpy(id, "Ibad", 4);
	drain_all();
	CU_ASSERT_EQUAL(sink_calls, 1);
	CU_ASSERT_STRING_EQUAL(sink_payload, "first");
	CU_ASSERT_STRING_EQUAL(sink_id, "Iabc");
	char text[64];
	route_text_format(R, &sink_ret, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "[sc_enc.1]");
}

/* A handler writes into the payload it was given (the secure channel
 * opens records in place). */
static int upcase(void *owner, void *data, const struct ockam_message *m)
{
	uint8_t *p = ockam_message_payload_mut(m);
	for (size_t i = 0; i < m->payload_len; i++)
		p[i] = (uint8_t)(p[i] - 'a' + 'A');
	return sink(owner, data, m);
}

/* send_reserve to a local worker: the payload is written in the queue
 * slot; checks are those of send; abort leaves nothing queued. */
static void test_reserve_local(void)
{
	reset();
	struct ockam_message m;
	struct router_stats st;
	uint8_t *p;
	router_address_add(R, "up", upcase, NULL, NULL);
	msg_to(&m, (const char *[]){"nobody", NULL}, "");
	CU_ASSERT_EQUAL(router_send_reserve(R, &(struct router_sender){.name = "t"},
					    &m, 8, &p), -EHOSTUNREACH);
	msg_to(&m, (const char *[]){"up", NULL}, "ignored");
	struct router_sender t = {.name = "t"};
	CU_ASSERT_EQUAL(router_send_reserve(R, &t, &m, 8, &p), 0);
	/* One reservation at a time. */
	CU_ASSERT_EQUAL(router_send_reserve(R, &t, &m, 8, &p), -EBUSY);
	memcpy(p, "abc", 3);
	CU_ASSERT_EQUAL(router_send_commit(R, 3), 0);
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.queued, 1);
	CU_ASSERT_EQUAL(router_send_reserve(R, &t, &m, 8, &p), 0);
	router_send_abort(R);
	CU_ASSERT_EQUAL(router_send_commit(R, 1), -EINVAL);
	/* Longer than reserved: refused. */
	CU_ASSERT_EQUAL(router_send_reserve(R, &t, &m, 2, &p), 0);
	CU_ASSERT_EQUAL(router_send_commit(R, 3), -EMSGSIZE);
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.queued, 1);
	drain_all();
	CU_ASSERT_EQUAL(sink_calls, 1);
	CU_ASSERT_STRING_EQUAL(sink_payload, "ABC");
}

/* A transport that lends its buffer, and one that does not. */
static uint8_t lent[64];
static size_t lent_len;
static int lent_reserved, lent_aborted;
static int lend_reserve(void *data, const struct ockam_message *m, size_t cap,
			uint8_t **payload)
{
	if (cap > sizeof(lent))
		return -EMSGSIZE;
	lent_reserved++;
	*payload = lent;
	return 0;
}
static int lend_commit(void *data, size_t len)
{
	lent_len = len;
	return 0;
}
static void lend_abort(void *data)
{
	lent_aborted++;
}
static const struct ockam_transport_ops lend_ops = {
	.send = tsend, .reserve = lend_reserve, .commit = lend_commit,
	.abort = lend_abort};

static char sent_payload[64];
static int tsend_copy(void *data, const struct ockam_message *m)
{
	tsend_calls++;
	snprintf(sent_payload, sizeof(sent_payload), "%.*s",
		 (int)m->payload_len, (const char *)m->payload);
	return 0;
}
static const struct ockam_transport_ops copy_ops = {.send = tsend_copy};

static void test_reserve_transport(void)
{
	reset();
	int owner;
	struct ockam_message m;
	uint8_t *p;
	struct router_sender w = {.name = "w"};
	struct router_sender net = {.name = "tcp", .transport = 1};
	router_transport_add(R, 1, "tcp", &lend_ops, NULL, &owner);
	router_transport_add(R, 2, "udp", &copy_ops, NULL, &owner);
	msg_to(&m, (const char *[]){"echoer", NULL}, "");
	*t_hop(&m.onward, 0) = tcp_addr("127.0.0.1:4000");
	/* Policies apply as for send: a transport may not relay. */
	CU_ASSERT_EQUAL(router_send_reserve(R, &net, &m, 8, &p), -EACCES);
	CU_ASSERT_EQUAL(router_send_reserve(R, &w, &m, 8, &p), 0);
	CU_ASSERT_PTR_EQUAL(p, lent);
	memcpy(p, "hey", 3);
	CU_ASSERT_EQUAL(router_send_commit(R, 3), 0);
	CU_ASSERT_EQUAL(lent_len, 3);
	CU_ASSERT_EQUAL(router_send_reserve(R, &w, &m, 8, &p), 0);
	router_send_abort(R);
	CU_ASSERT_EQUAL(lent_aborted, 1);
	/* Without reserve ops: a host buffer, then the transport's send. */
	t_hop(&m.onward, 0)->type = 2;
	tsend_calls = 0;
	CU_ASSERT_EQUAL(router_send_reserve(R, &w, &m, 8, &p), 0);
	memcpy(p, "copied", 6);
	CU_ASSERT_EQUAL(tsend_calls, 0);
	CU_ASSERT_EQUAL(router_send_commit(R, 6), 0);
	CU_ASSERT_EQUAL(tsend_calls, 1);
	CU_ASSERT_STRING_EQUAL(sent_payload, "copied");
	router_remove_owner(R, &owner);
}

/* A forward out of the slot being delivered takes that slot's buffer
 * instead of copying the payload (router.c, slot_take): the first send of
 * the handler's payload; a second send of it, and a part of it, are
 * copied from where it now lies.  The handler's own message stays intact
 * until it returns. */
static char fan_got[3][64];
static int fan_own_ok;
static int fan_sink(void *owner, void *data, const struct ockam_message *m)
{
	(void)data;
	snprintf((char *)owner, 64, "%.*s", (int)m->payload_len,
		 (const char *)m->payload);
	return 0;
}

static int fan(void *owner, void *data, const struct ockam_message *m)
{
	(void)owner, (void)data;
	static const char *const to[] = {"fa", "fb", "fc"};
	for (int i = 0; i < 3; i++) {
		struct ockam_message f;
		msg_to(&f, (const char *[]){to[i], NULL}, "");
		f.payload = m->payload + (i == 2 ? 2 : 0);
		f.payload_len = m->payload_len - (i == 2 ? 2 : 0);
		CU_ASSERT_EQUAL(router_send(R, "fan", &f, 0), 0);
	}
	fan_own_ok = m->payload_len == 9 &&
		     memcmp(m->payload, "forwarded", 9) == 0 &&
		     m->onward.hop[0].len == 3 &&
		     memcmp(m->onward.hop[0].data, "fan", 3) == 0 &&
		     m->ret.count == 1 &&
		     memcmp(m->ret.hop[0].data, "app", 3) == 0;
	return 0;
}

static void test_forward_takes_slot(void)
{
	reset();
	struct ockam_message m;
	struct router_stats st;
	CU_ASSERT_EQUAL(router_address_add(R, "fa", fan_sink, fan_got[0], NULL), 0);
	CU_ASSERT_EQUAL(router_address_add(R, "fb", fan_sink, fan_got[1], NULL), 0);
	CU_ASSERT_EQUAL(router_address_add(R, "fc", fan_sink, fan_got[2], NULL), 0);
	CU_ASSERT_EQUAL(router_address_add(R, "fan", fan, NULL, NULL), 0);
	/* Slots 0-2 get buffers (a slot without one does not trade). */
	msg_to(&m, (const char *[]){"fa", NULL}, "warm");
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	drain_all();
	msg_to(&m, (const char *[]){"fan", NULL}, "forwarded");
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	drain_all();
	CU_ASSERT(fan_own_ok);
	CU_ASSERT_STRING_EQUAL(fan_got[0], "forwarded");
	CU_ASSERT_STRING_EQUAL(fan_got[1], "forwarded");
	CU_ASSERT_STRING_EQUAL(fan_got[2], "rwarded");
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.forwarded_in_place, 1);
	CU_ASSERT_EQUAL(st.delivered, 7);
	/* Again, with the buffers traded around: the same. */
	memset(fan_got, 0, sizeof(fan_got));
	CU_ASSERT_EQUAL(router_send(R, "t", &m, 0), 0);
	drain_all();
	CU_ASSERT(fan_own_ok);
	CU_ASSERT_STRING_EQUAL(fan_got[0], "forwarded");
	CU_ASSERT_STRING_EQUAL(fan_got[1], "forwarded");
	CU_ASSERT_STRING_EQUAL(fan_got[2], "rwarded");
	router_stats_get(R, &st);
	CU_ASSERT_EQUAL(st.forwarded_in_place, 2);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "delivery: always queued, in send order", test_delivery_always_queued },
		{ "unknown and invalid addresses", test_unknown_and_invalid },
		{ "return route through hops", test_return_route_through_hops },
		{ "queue backpressure", test_queue_backpressure },
		{ "queue headroom for handlers", test_queue_headroom_for_handlers },
		{ "secure flag needs privilege", test_secure_flag_needs_privilege },
		{ "secure mark names its channel", test_secure_mark_names_its_channel },
		{ "a worker's refusal reaches the sender", test_refusal_reaches_sender },
		{ "catch-all addresses", test_catch_all },
		{ "drops from the network and notices arriving", test_network_drops_and_notices },
		{ "a reply comes back the way the request went", test_reply_rule },
		{ "access policy", test_access_policy },
		{ "reach", test_reach },
		{ "remove inside handler", test_remove_inside_handler },
		{ "transports and route text", test_transports_and_text },
		{ "address patterns", test_addr_patterns },
		{ "who may send to a transport address", test_transport_senders },
		{ "a transport's connect flag is cleared", test_transport_connect_cleared },
		{ "send copies what the message points to", test_send_copies },
		{ "a forward takes the delivered slot's buffer", test_forward_takes_slot },
		{ "send_reserve to a local worker", test_reserve_local },
		{ "send_reserve to a transport", test_reserve_transport },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "router", .init = setup, .cleanup = teardown,
		.tests = tests });
}
