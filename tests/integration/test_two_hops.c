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
	struct integ_tutorial t;

	integ_begin("two_hops");
	integ_run_tutorial(EXAMPLES, &t);

	/* The echoer saw the message come through the hop and both links:
	 * [tcp:<middle's end>, hop, tcp:<initiator's end>, app]. */
	CU_ASSERT_EQUAL_FATAL(t.n_hops, 4);
	CU_ASSERT_NSTRING_EQUAL(t.hops[0], "tcp:127.0.0.1:", 14);
	CU_ASSERT_STRING_EQUAL(t.hops[1], "hop");
	CU_ASSERT_NSTRING_EQUAL(t.hops[2], "tcp:127.0.0.1:", 14);
	CU_ASSERT_STRING_EQUAL(t.hops[3], "app");

	/* A clean run has nothing for the user to worry about. */
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.initiator, HX_STDERR),
					     NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.middle, HX_STDERR),
					     NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.responder, HX_STDERR),
					     NULL), 0);

	/* The servers outlive the initiator and stop cleanly. */
	CU_ASSERT(hx_running(t.middle));
	CU_ASSERT(hx_running(t.responder));
	CU_ASSERT_EQUAL(hx_stop(t.middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(t.responder, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(t.middle, HX_STDOUT), "");
	CU_ASSERT_STRING_EQUAL(hx_read(t.responder, HX_STDOUT), "");
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "two_hops", test_two_hops },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
