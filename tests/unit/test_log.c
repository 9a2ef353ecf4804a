/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's one rate limiter (log_limited), as the host uses it and as
 * plugins reach it through host->log_limited, log_limited_due and
 * log_limited_flush: what reaches stderr, what is counted, per interval
 * and level.  Time is moved by setting a limiter's last_ms back, not by
 * sleeping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../common/cunit_main.h"
#include "log.h"
#include "loop.h"
#include "node.h" /* services_table */

/* stderr goes to a temporary file between capture_begin and capture_end,
 * which returns what was written (static buffer). */
static int saved_fd = -1;
static FILE *capture_file;

static void capture_begin(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	CU_ASSERT_PTR_NOT_NULL_FATAL(capture_file);
	saved_fd = dup(STDERR_FILENO);
	dup2(fileno(capture_file), STDERR_FILENO);
}

static const char *capture_end(void)
{
	static char text[8192];
	fflush(stderr);
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	rewind(capture_file);
	size_t n = fread(text, 1, sizeof(text) - 1, capture_file);
	text[n] = '\0';
	fclose(capture_file);
	return text;
}

static int count_lines(const char *text)
{
	int n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* A second ago, as far as a one-second limiter is concerned. */
static void age(struct ockam_log_limit *lim, uint64_t ms)
{
	lim->last_ms = loop_now_ms() - ms;
}

static void test_one_line_per_second_counted(void)
{
	struct ockam_log_limit lim = {0};
	log_set_level(OCKAM_LOG_INFO);

	capture_begin();
	for (int i = 0; i < 6; i++)
		log_limited(&lim, OCKAM_LOG_WARN, "t", "junk %d", i);
	const char *out = capture_end();
	CU_ASSERT_EQUAL(count_lines(out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " t: junk 0\n"));
	CU_ASSERT_EQUAL(lim.suppressed, 5);

	/* The next line after the interval carries the count. */
	age(&lim, 1000);
	capture_begin();
	log_limited(&lim, OCKAM_LOG_WARN, "t", "junk %d", 6);
	out = capture_end();
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " t: junk 6 (5 similar suppressed)\n"));
	CU_ASSERT_EQUAL(lim.suppressed, 0);

	/* Just under a second: held back. */
	age(&lim, 900);
	capture_begin();
	log_limited(&lim, OCKAM_LOG_WARN, "t", "junk %d", 7);
	out = capture_end();
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(lim.suppressed, 1);
}

static void test_interval_and_level(void)
{
	struct ockam_log_limit lim = {.interval_ms = 10000};
	log_set_level(OCKAM_LOG_INFO);

	capture_begin();
	log_limited(&lim, OCKAM_LOG_INFO, "t", "first");
	age(&lim, 5000); /* past a second, not past its interval */
	log_limited(&lim, OCKAM_LOG_INFO, "t", "second");
	age(&lim, 10000);
	log_limited(&lim, OCKAM_LOG_INFO, "t", "third");
	const char *out = capture_end();
	CU_ASSERT_EQUAL(count_lines(out), 2);
	CU_ASSERT_PTR_NULL(strstr(out, "second"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " t: third (1 similar suppressed)\n"));

	/* A level the node does not write: neither written nor counted, so
	 * no flush line later stands for lines nobody could have seen. */
	struct ockam_log_limit dbg = {0};
	capture_begin();
	for (int i = 0; i < 3; i++)
		log_limited(&dbg, OCKAM_LOG_DEBUG, "t", "debug %d", i);
	CU_ASSERT_EQUAL(log_limit_due(&dbg, OCKAM_LOG_DEBUG), 0);
	CU_ASSERT_EQUAL(log_limited_flush(&dbg, OCKAM_LOG_INFO, "t", "debug"),
			0);
	out = capture_end();
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(dbg.suppressed, 0);
	CU_ASSERT_EQUAL(dbg.last_ms, 0);
}

static void test_due_and_flush(void)
{
	struct ockam_log_limit lim = {0};
	log_set_level(OCKAM_LOG_INFO);

	capture_begin();
	/* Due: the caller formats and logs; due itself counts nothing. */
	CU_ASSERT_EQUAL(log_limit_due(&lim, OCKAM_LOG_WARN), 1);
	CU_ASSERT_EQUAL(log_limit_due(&lim, OCKAM_LOG_WARN), 1);
	log_limited(&lim, OCKAM_LOG_WARN, "t", "busy");
	/* Not due: counted as held back, as log_limited would have. */
	CU_ASSERT_EQUAL(log_limit_due(&lim, OCKAM_LOG_WARN), 0);
	CU_ASSERT_EQUAL(log_limit_due(&lim, OCKAM_LOG_WARN), 0);
	log_limited(&lim, OCKAM_LOG_WARN, "t", "busy");
	CU_ASSERT_EQUAL(lim.suppressed, 3);
	CU_ASSERT_EQUAL(log_limited_flush(&lim, OCKAM_LOG_WARN, "t", "busy"),
			3);
	CU_ASSERT_EQUAL(log_limited_flush(&lim, OCKAM_LOG_WARN, "t", "busy"),
			0);
	const char *out = capture_end();
	CU_ASSERT_EQUAL(count_lines(out), 2);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(out, "WARN  - t: 3 more line(s) like the last 'busy' suppressed\n"));
	CU_ASSERT_EQUAL(lim.suppressed, 0);
}

/* What a plugin gets: the same limiter behind the services table. */
static void test_host_services(void)
{
	const struct ockam_host *h = services_table();
	struct ockam_log_limit lim = {0};
	log_set_level(OCKAM_LOG_INFO);

	CU_ASSERT(OCKAM_HOST_HAS(h, log_limited));
	CU_ASSERT(OCKAM_HOST_HAS(h, log_limited_due));
	CU_ASSERT(OCKAM_HOST_HAS(h, log_limited_flush));
	CU_ASSERT(OCKAM_HOST_HAS(h, timer_add_periodic));
	capture_begin();
	h->log_limited(NULL, &lim, OCKAM_LOG_WARN, "refused %s", "x");
	h->log_limited(NULL, &lim, OCKAM_LOG_WARN, "refused %s", "y");
	CU_ASSERT_EQUAL(h->log_limited_due(NULL, &lim, OCKAM_LOG_WARN), 0);
	CU_ASSERT_EQUAL(h->log_limited_flush(NULL, &lim, OCKAM_LOG_INFO,
					     "refused ..."), 2);
	const char *out = capture_end();
	CU_ASSERT_EQUAL(count_lines(out), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " plugin: refused x\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(
		out, "INFO  - plugin: 2 more line(s) like the last 'refused ...' suppressed\n"));
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "one line per second, counted",
		  test_one_line_per_second_counted },
		{ "interval and level", test_interval_and_level },
		{ "due and flush", test_due_and_flush },
		{ "through the host services", test_host_services },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "log", .tests = tests });
}
