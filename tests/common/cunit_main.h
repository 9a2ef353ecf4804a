/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one CUnit runner every test program's main() calls: register one
 * suite, run it verbosely, and turn the outcome into an exit status, so
 * that no program can forget a kind of failure (failed assertion, failed
 * test, failed suite set-up) or a registration error.
 */
#ifndef OCKAM_TESTS_CUNIT_MAIN_H
#define OCKAM_TESTS_CUNIT_MAIN_H

#include <stdio.h>

#include <CUnit/Basic.h>

/* A test: its name as CUnit prints it, and its function. */
struct cunit_test {
	const char *name;
	void (*fn)(void);
};

/* A suite; unused hooks are NULL.  `tests` ends with { NULL, NULL }. */
struct cunit_suite {
	const char *name;
	CU_InitializeFunc init;   /* before the suite (nonzero: it fails) */
	CU_CleanupFunc cleanup;   /* after the suite */
	CU_SetUpFunc setup;       /* before each test */
	CU_TearDownFunc teardown; /* after each test */
	const struct cunit_test *tests;
};

/* Run `s`; returns the exit status for main: 0 if everything passed, 1 on
 * any failure, 2 if CUnit could not be set up (reported). */
static inline int cunit_run(const struct cunit_suite *s)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite_with_setup_and_teardown(s->name, s->init,
						     s->cleanup, s->setup,
						     s->teardown);
	if (!suite)
		goto fail;
	for (size_t i = 0; s->tests[i].name; i++)
		if (!CU_add_test(suite, s->tests[i].name, s->tests[i].fn))
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failed = CU_get_number_of_failures() +
		 CU_get_number_of_tests_failed() +
		 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
fail:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}

#endif
