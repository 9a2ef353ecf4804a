/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Access control and flow control with real processes:
 *  - the shipped secure responder (configs/05, echoer `access:
 *    secure_channel`) drops a plaintext message sent straight to echoer
 *    over tcp, with one log line, and still serves the secure tutorial;
 *  - a channel listener whose `reach:` excludes a worker cannot deliver
 *    to it, while a worker in its reach list gets the message.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define EXAMPLES "configs/05-secure-channel-over-two-transport-hops-"
#define EXAMPLE(role) integ_src(EXAMPLES role ".yaml")

static const char plaintext_node[] =
	"node: sneaky\n"
	"transports:\n"
	"  tcp: {}\n"
	"messages:\n"
	"  - route:\n"
	"      - tcp:127.0.0.1:${RESPONDER_PORT}\n"
	"      - echoer\n"
	"    payload: let me in\n"
	"    timeout: 1s\n";

static void test_secure_only_echoer(void)
{
	struct hx_proc *responder, *middle;
	struct integ_ports ports;
	const char *const *env = ports.env;

	integ_begin("secure_only_echoer");
	integ_start_pair(EXAMPLES, &responder, &middle, &ports);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);

	/* Plaintext straight to echoer: no reply, one clear line. */
	const char *cfg = hx_write_file(H, "sneaky.yaml", plaintext_node);
	struct hx_proc *sneaky = hx_spawn_host(H, "sneaky", cfg, env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sneaky);
	CU_ASSERT_EQUAL(hx_wait_exit(sneaky, HX_EXIT_MS), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(sneaky, HX_STDOUT), "");
	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR, "access denied",
				     1, HX_READY_MS, NULL, 0), 0);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(integ_count_problems(rlog, NULL), 1);
	CU_ASSERT_EQUAL(integ_count_problems(
				rlog, "'echoer' accepts only messages through a secure channel"),
			1);
	CU_ASSERT_PTR_NULL(strstr(rlog, "echoer: received"));

	/* The tutorial still works against the same responder. */
	struct hx_proc *alice =
		hx_spawn_host(H, "initiator", EXAMPLE("initiator"), env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(alice);
	CU_ASSERT_EQUAL(hx_wait_exit(alice, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(alice, HX_STDOUT),
			       "App Received: Hello Ockam!\n");

	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* One node: a channel listener that may reach only `echoer`, and an
 * initiator in the same node sending through the channel to `echoer` and
 * to `other` (an echoer outside the reach list). */
static const char reach_node[] =
	"node: reach\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: 127.0.0.1:0\n"
	"workers:\n"
	"  echoer: { type: echoer, access: secure_channel }\n"
	"  other: { type: echoer }\n"
	"  listener:\n"
	"    type: secure_channel\n"
	"    reach: [echoer]\n"
	"    options: { role: listener, trust: everyone }\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options: { role: initiator, route: [listener], trust: everyone }\n"
	"messages:\n"
	"  - route: [alice, echoer]\n"
	"    payload: allowed\n"
	"  - route: [alice, other]\n"
	"    payload: not allowed\n"
	"    timeout: 1s\n";

static void test_listener_reach(void)
{
	integ_begin("listener_reach");
	const char *cfg = hx_write_file(H, "reach.yaml", reach_node);
	struct hx_proc *p = hx_spawn_host(H, "reach", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT),
			       "App Received: allowed\n");
	const char *log = hx_read(p, HX_STDERR);
	CU_ASSERT_EQUAL(integ_count_problems(
				log, "flow control: 'listener' may not reach 'other'"),
			1);
	CU_ASSERT_PTR_NULL(strstr(log, "other: received"));
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "plaintext to a secure-only echoer is dropped", test_secure_only_echoer },
		{ "a listener reaches only its reach list", test_listener_reach },
		{ NULL, NULL },
	};
	return integ_run("access", tests);
}
