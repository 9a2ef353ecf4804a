/* SPDX-License-Identifier: Apache-2.0 */
#include "integ.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#ifndef INTEG_SOURCE_ROOT
#error "INTEG_SOURCE_ROOT must be defined by the build"
#endif

struct hx *H;
static unsigned failures_before;

static void test_setup(void)
{
	H = NULL;
	failures_before = CU_get_number_of_failures();
}

static void test_teardown(void)
{
	hx_end(H, CU_get_number_of_failures() != failures_before);
	H = NULL;
}

int integ_run(const char *suite_name, const struct integ_test *tests)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite_with_setup_and_teardown(suite_name, NULL, NULL,
						     test_setup,
						     test_teardown);
	if (!suite)
		goto fail;
	for (size_t i = 0; tests[i].name; i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failed = CU_get_number_of_tests_failed() +
		 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
fail:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}

const char *integ_src(const char *rel)
{
	static char ring[8][4096];
	static unsigned next;
	char *buf = ring[next++ % 8];

	snprintf(buf, sizeof(ring[0]), "%s/%s", INTEG_SOURCE_ROOT, rel);
	return buf;
}

struct hx_proc *integ_start_node(const char *node, const char *config,
				 const char *const env[], int *port)
{
	struct hx_proc *p = hx_spawn_host(H, node, config, env);
	char ready[128];

	if (!p)
		return NULL;
	if (port) {
		*port = hx_wait_port(p, HX_READY_MS);
		if (*port < 0)
			return NULL;
	}
	snprintf(ready, sizeof(ready), "node %s ready", node);
	if (hx_wait_line(p, HX_STDERR, ready, 1, HX_READY_MS, NULL, 0) < 0)
		return NULL;
	return p;
}

int integ_return_route(const char *line, char hops[][128], int max)
{
	static const char key[] = "return route [";
	const char *at = strstr(line, key), *end;
	int n = 0;

	if (!at)
		return -1;
	at += sizeof(key) - 1;
	end = strchr(at, ']');
	if (!end)
		return -1;
	while (at < end) {
		const char *comma = memchr(at, ',', (size_t)(end - at));
		const char *stop = comma ? comma : end;
		size_t len = (size_t)(stop - at);

		if (n == max || len >= sizeof(hops[0]))
			return -1;
		memcpy(hops[n], at, len);
		hops[n++][len] = '\0';
		at = stop + 1;
		while (at < end && *at == ' ')
			at++;
	}
	return n;
}

unsigned integ_count_problems(const char *log, const char *needle)
{
	const char *const warn[] = { " WARN ", needle, NULL };
	const char *const error[] = { " ERROR ", needle, NULL };

	return hx_count_lines(log, warn) + hx_count_lines(log, error);
}
