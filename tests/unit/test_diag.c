/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Diagnostics: the exact line formats, error counting, echoing, growth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../common/cunit_main.h"
#include "diag.h"

static void test_formats(void)
{
	struct diag d;

	diag_init(&d, NULL);
	CU_ASSERT_EQUAL(d.errors, 0);
	diag_error(&d, "node.yaml", 3, 7, "unknown key '%s'", "plugn");
	diag_error(&d, "node.yaml", 0, 0, "cannot open: %s", "No such file");
	diag_error(&d, "node.yaml", 12, 0, "bad value %d", 42);
	CU_ASSERT_EQUAL(d.errors, 3);
	CU_ASSERT_STRING_EQUAL(d.text,
			       "node.yaml:3:7: unknown key 'plugn'\n"
			       "node.yaml: cannot open: No such file\n"
			       "node.yaml:12: bad value 42\n");
	CU_ASSERT_EQUAL(d.len, strlen(d.text));
	diag_free(&d);
	CU_ASSERT_PTR_NULL(d.text);
}

static void test_echo(void)
{
	struct diag d;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	CU_ASSERT_FATAL(f != NULL);
	diag_init(&d, f);
	diag_error(&d, "a.yaml", 1, 2, "first");
	diag_error(&d, "a.yaml", 0, 0, "second");
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "a.yaml:1:2: first\na.yaml: second\n");
	CU_ASSERT_STRING_EQUAL(d.text, buf);
	free(buf);
	diag_free(&d);
}

static void test_growth(void)
{
	struct diag d;
	char big[3000];
	size_t expect = 0;

	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	diag_init(&d, NULL);
	for (int i = 0; i < 200; i++) {
		diag_error(&d, "f", (unsigned)i + 1, 1, "%s", i % 50 ? "x" : big);
		expect += strlen("f:") + (size_t)snprintf(NULL, 0, "%d", i + 1) +
			  strlen(":1: ") + (i % 50 ? 1 : strlen(big)) + 1;
	}
	CU_ASSERT_EQUAL(d.errors, 200);
	CU_ASSERT_EQUAL(d.len, expect);
	CU_ASSERT_EQUAL(strlen(d.text), expect);
	CU_ASSERT(strncmp(d.text, "f:1:1: mmm", 10) == 0);
	CU_ASSERT(strstr(d.text, "\nf:200:1: x\n") != NULL);
	diag_free(&d);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "line formats", test_formats },
		{ "echo", test_echo },
		{ "growth", test_growth },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "diag", .tests = tests });
}
