/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A route over three TCP links and five hop workers on three relaying
 * nodes (tests/integration/configs/long-*.yaml): both messages come back,
 * in order, and the echoer saw every hop on the return route.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define CFG(name) integ_src("tests/integration/configs/" name ".yaml")

static void test_long_route(void)
{
	static const char *const expect[] = { "h3", "tcp", "h2b", "h2a", "tcp",
					      "h1b", "h1a", "tcp", "app" };
	char m1env[32], m2env[32], renv[32], line[2048], hops[16][128];
	const char *const env[] = { m1env, m2env, renv, NULL };
	struct hx_proc *m1, *m2, *r, *i;
	int m1port, m2port, rport, n;

	integ_begin("long_route");
	r = integ_start_node("long-responder", CFG("long-responder"), NULL,
			     &rport);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	m2 = integ_start_node("long-middle-2", CFG("long-middle-2"), NULL,
			      &m2port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m2);
	m1 = integ_start_node("long-middle-1", CFG("long-middle-1"), NULL,
			      &m1port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m1);
	snprintf(m1env, sizeof(m1env), "M1_PORT=%d", m1port);
	snprintf(m2env, sizeof(m2env), "M2_PORT=%d", m2port);
	snprintf(renv, sizeof(renv), "R_PORT=%d", rport);

	i = hx_spawn_host(H, "long-initiator", CFG("long-initiator"), env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(i);
	CU_ASSERT_EQUAL(hx_wait_exit(i, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(i, HX_STDOUT),
			       "App Received: first over nine hops\n"
			       "App Received: second over nine hops\n");

	CU_ASSERT_EQUAL_FATAL(hx_wait_line(r, HX_STDERR,
					   "echoer: received \"second over "
					   "nine hops\"",
					   1, HX_READY_MS, line, sizeof(line)),
			      0);
	n = integ_return_route(line, hops, 16);
	CU_ASSERT_EQUAL_FATAL(n, 9);
	for (int k = 0; k < n; k++) {
		if (strcmp(expect[k], "tcp") == 0)
			CU_ASSERT_NSTRING_EQUAL(hops[k], "tcp:127.0.0.1:", 14)
		else
			CU_ASSERT_STRING_EQUAL(hops[k], expect[k])
	}

	CU_ASSERT_EQUAL(integ_count_problems(hx_read(i, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(m1, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(m2, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(r, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(m1, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(m2, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(r, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "long_route", test_long_route },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
