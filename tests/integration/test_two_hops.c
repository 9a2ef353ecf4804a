/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shipped example, configs/04-routing-over-two-transport-hops-*.yaml,
 * run exactly as a user would (three ockam-host processes), except that the
 * ports are ephemeral and passed on through RESPONDER_PORT / MIDDLE_PORT.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define EXAMPLES "configs/04-routing-over-two-transport-hops-"

static void test_two_hops(void)
{
	char hops[8][128];
	struct hx_proc *responder, *middle, *initiator;
	struct integ_ports ports;
	int n;

	integ_begin("two_hops");
	integ_start_pair(EXAMPLES, &responder, &middle, &ports);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);

	initiator = integ_run_tutorial(EXAMPLES, &ports, responder, hops, 8, &n);

	/* The echoer saw the message come through the hop and both links:
	 * [tcp:<middle's end>, hop, tcp:<initiator's end>, app]. */
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_NSTRING_EQUAL(hops[0], "tcp:127.0.0.1:", 14);
	CU_ASSERT_STRING_EQUAL(hops[1], "hop");
	CU_ASSERT_NSTRING_EQUAL(hops[2], "tcp:127.0.0.1:", 14);
	CU_ASSERT_STRING_EQUAL(hops[3], "app");

	/* A clean run has nothing for the user to worry about. */
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(initiator, HX_STDERR),
					     NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(middle, HX_STDERR),
					     NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(responder, HX_STDERR),
					     NULL), 0);

	/* The servers outlive the initiator and stop cleanly. */
	CU_ASSERT(hx_running(middle));
	CU_ASSERT(hx_running(responder));
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(middle, HX_STDOUT), "");
	CU_ASSERT_STRING_EQUAL(hx_read(responder, HX_STDOUT), "");
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "two_hops", test_two_hops },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
