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
	for (int i = 0; i < DIAG_SHOWN_MAX; i++) {
		diag_error(&d, "f", (unsigned)i + 1, 1, "%s", i % 10 ? "x" : big);
		expect += strlen("f:") + (size_t)snprintf(NULL, 0, "%d", i + 1) +
			  strlen(":1: ") + (i % 10 ? 1 : strlen(big)) + 1;
	}
	CU_ASSERT_EQUAL(d.errors, DIAG_SHOWN_MAX);
	CU_ASSERT_EQUAL(d.len, expect);
	CU_ASSERT_EQUAL(strlen(d.text), expect);
	CU_ASSERT(strncmp(d.text, "f:1:1: mmm", 10) == 0);
	CU_ASSERT(strstr(d.text, "\nf:50:1: x\n") != NULL);
	diag_free(&d);
}

/* 200,000 errors: the first 50 are kept and echoed, the rest counted, and
 * diag_finish says how many in one line (once). */
static void test_cap(void)
{
	struct diag d;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	CU_ASSERT_FATAL(f != NULL);
	diag_init(&d, f);
	CU_ASSERT(diag_room(&d));
	for (unsigned i = 0; i < 200000; i++)
		diag_error(&d, "f.yaml", i + 1, 1, "error %u", i + 1);
	CU_ASSERT_FALSE(diag_room(&d));
	CU_ASSERT_EQUAL(d.errors, 200000);
	diag_finish(&d);
	diag_finish(&d);
	fclose(f);
	CU_ASSERT(strncmp(d.text, "f.yaml:1:1: error 1\n", 20) == 0);
	CU_ASSERT(strstr(d.text, "\nf.yaml:50:1: error 50\n"
				 "<input>: 199950 more errors not shown (only the first 50 are)\n") != NULL);
	CU_ASSERT_PTR_NULL(strstr(d.text, "error 51"));
	CU_ASSERT_STRING_EQUAL(buf, d.text);
	free(buf);
	diag_free(&d);

	/* Exactly 50, and 51: no line, then "1 more error". */
	diag_init(&d, NULL);
	for (unsigned i = 0; i < DIAG_SHOWN_MAX; i++)
		diag_error(&d, "f", 0, 0, "e");
	diag_finish(&d);
	CU_ASSERT_PTR_NULL(strstr(d.text, "more error"));
	diag_error(&d, "f", 0, 0, "e");
	diag_finish(&d);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.text,
		"<input>: 1 more error not shown (only the first 50 are)\n"));
	diag_free(&d);
}

/* Excerpts come from the source given to diag_set_source: its lines
 * (the last without a newline, CRLF, control bytes, a long one cut), and
 * none for another file or a line it does not have. */
static void test_excerpts(void)
{
	static const char src[] = "node: a\r\n"
				  "bad:\x01 x\n"
				  "\n"
				  "last: 1";
	char longline[400];
	struct diag d;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	CU_ASSERT_FATAL(f != NULL);
	diag_init(&d, f);
	CU_ASSERT_EQUAL(diag_set_source(&d, "s.yaml", src, sizeof(src) - 1), 0);
	diag_error(&d, "s.yaml", 1, 7, "one");
	diag_error(&d, "s.yaml", 2, 1, "two");
	diag_error(&d, "s.yaml", 4, 7, "four");
	diag_error(&d, "s.yaml", 5, 1, "no such line");
	diag_error(&d, "other.yaml", 1, 1, "another file");
	diag_error(&d, "s.yaml", 0, 0, "no position");
	fflush(f);
	CU_ASSERT_STRING_EQUAL(buf,
		"s.yaml:1:7: one\n"
		"    1 | node: a\n"
		"      |       ^\n"
		"s.yaml:2:1: two\n"
		"    2 | bad:? x\n"
		"      | ^\n"
		"s.yaml:4:7: four\n"
		"    4 | last: 1\n"
		"      |       ^\n"
		"s.yaml:5:1: no such line\n"
		"other.yaml:1:1: another file\n"
		"s.yaml: no position\n");

	memset(longline, 'y', sizeof(longline));
	CU_ASSERT_EQUAL(diag_set_source(&d, "l.yaml", longline,
					sizeof(longline)), 0);
	size_t before = size;
	diag_error(&d, "l.yaml", 1, 3, "long");
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf + before, "    1 | yyyy"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf + before, "y...\n      |   ^\n"));
	CU_ASSERT_PTR_NULL(strstr(buf, "s.yaml:1:7: one\n    1 | node: a\r"));
	free(buf);
	diag_free(&d);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "line formats", test_formats },
		{ "echo", test_echo },
		{ "growth", test_growth },
		{ "cap", test_cap },
		{ "excerpts", test_excerpts },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "diag", .tests = tests });
}
