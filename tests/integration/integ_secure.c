/* SPDX-License-Identifier: Apache-2.0 */
#include "integ_secure.h"

#include <stdio.h>

#include <CUnit/Basic.h>

const char *integ_listener_config(const char *node, int port,
				  const char *options)
{
	char file[128];

	snprintf(file, sizeof(file), "%s.yaml", node);
	const char *cfg = integ_write_config(file,
		"node: %s\n"
		"transports:\n"
		"  tcp: { listen: 127.0.0.1:%d }\n"
		"workers:\n"
		"  echoer: { type: echoer }\n"
		"  bob_listener:\n"
		"    type: secure_channel\n"
		"    options: { role: listener, %s }\n",
		node, port, options);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	return cfg;
}

struct hx_proc *integ_start_listener(const char *node, const char *options,
				     int *port)
{
	const char *cfg = integ_listener_config(node, 0, options);
	struct hx_proc *p = integ_start_node(node, cfg, NULL, port);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

const char *integ_initiator_config(const struct integ_initiator *i)
{
	char file[128], route[128], payload[512] = "", after[64] = "";

	snprintf(file, sizeof(file), "%s.yaml", i->node);
	if (i->via)
		snprintf(route, sizeof(route),
			 "[tcp:localhost:%d, hop, tcp:localhost:%d, bob_listener]",
			 i->via, i->port);
	else
		snprintf(route, sizeof(route),
			 "[tcp:localhost:%d, bob_listener]", i->port);
	if (i->payload)
		snprintf(payload, sizeof(payload),
			 "  - { route: [alice, echoer], payload: %s, reply: true, timeout: %s }\n",
			 i->payload, i->timeout);
	const char *messages = i->payload ? payload : i->messages;
	if (i->after)
		snprintf(after, sizeof(after), "after_messages: %s\n", i->after);
	const char *cfg = integ_write_config(file,
		"node: %s\n"
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  alice:\n"
		"    type: secure_channel\n"
		"    options: { role: initiator, route: %s, %s }\n"
		"%s%s%s",
		i->node, route, i->options, messages ? "messages:\n" : "",
		messages ? messages : "", after);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	return cfg;
}

int integ_run_hello(const char *node, int port, const char *options,
		    const char *timeout, char *id, struct hx_proc **out)
{
	const char *cfg = integ_initiator_config(&(struct integ_initiator){
		.node = node, .port = port, .options = options,
		.payload = "Hello Ockam!", .timeout = timeout,
		.after = "exit" });
	struct hx_proc *p = hx_spawn_host(H, node, cfg, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	int status = hx_wait_exit(p, HX_EXIT_MS);
	if (id)
		CU_ASSERT_EQUAL(integ_find_identifier(hx_read(p, HX_STDERR),
						      "alice: identity ", id),
				0);
	if (out)
		*out = p;
	return status;
}

struct hx_proc *integ_check_secure_tutorial(const char *prefix)
{
	struct integ_tutorial t;

	integ_run_tutorial(prefix, &t);
	/* The echoer got it out of a channel: its return route leads back
	 * into the responder's encryptor, then to the app. */
	CU_ASSERT_EQUAL_FATAL(t.n_hops, 2);
	CU_ASSERT_NSTRING_EQUAL(t.hops[0], "sc_enc.", 7);
	CU_ASSERT_STRING_EQUAL(t.hops[1], "app");

	/* Each end names the other by the identifier the other announced. */
	const char *ilog = hx_read(t.initiator, HX_STDERR);
	const char *rlog = hx_read(t.responder, HX_STDERR);
	integ_check_channel_peers(ilog, rlog);

	CU_ASSERT_EQUAL(integ_count_problems(ilog, NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.middle, HX_STDERR),
					     NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(rlog, NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(t.middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(t.responder, HX_EXIT_MS), 0);
	return t.initiator;
}
