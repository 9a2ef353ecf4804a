/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile node descriptions (issue #19, attack 7): what a user sees when
 * the path given to ockam-host is a named pipe, a device, a directory or
 * an oversized file, or when the file holds 200,000 errors.  The host
 * must read the input once, refuse what it cannot read with one clear
 * line, exit promptly and show at most 50 errors plus a count.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

/* Generous for a sanitizer build on a loaded machine; today's code needs
 * minutes for 200,000 errors, or never exits. */
#define SLOW_MS 60000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write `text` into FIFO `path` once its reader (the host) has opened it,
 * as `cat node.yaml > fifo` would, then close it.  Never blocks: the open
 * is retried until a reader exists or the deadline passes. */
static int feed_fifo(const char *path, const char *text)
{
	long long end = now_ms() + HX_READY_MS;
	int fd;

	while ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno != ENXIO || now_ms() > end) {
			fprintf(stderr, "feed_fifo %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		usleep(5000);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

static const char *make_fifo(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", hx_dir(H), name);
	if (mkfifo(path, 0600) < 0) {
		fprintf(stderr, "mkfifo %s: %s\n", path, strerror(errno));
		return NULL;
	}
	return path;
}

/* A config given as a named pipe, with an error: the error and its line
 * are shown from what was read, and the host exits 2 (--check: 1) without
 * opening the pipe again. */
static void test_fifo_with_error(void)
{
	static const char yaml[] = "node: piped\n"
				   "colour: blue\n";
	const char *const check[] = { NULL, "--check" };
	char want[1024];

	integ_begin("hostile-fifo");
	for (int c = 0; c < 2; c++) {
		const char *path = make_fifo(c ? "check.yaml" : "run.yaml");
		CU_ASSERT_PTR_NOT_NULL_FATAL(path);
		const char *argv[] = { hx_host_path(), check[c] ? check[c] : path,
				       check[c] ? path : NULL, NULL };
		struct hx_proc *p = hx_spawn(H, c ? "check" : "run", argv, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL_FATAL(feed_fifo(path, yaml), 0);
		CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), c ? 1 : 2);
		snprintf(want, sizeof(want),
			 "%s:2:1: unknown key 'colour' in the top-level map", path);
		const char *err = hx_read(p, HX_STDERR);
		CU_ASSERT(integ_contains(err, want));
		CU_ASSERT(integ_contains(err, "    2 | colour: blue\n"
					      "      | ^\n"));
		CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	}
}

/* A named pipe nobody writes to: given up on after 10 s with a reason,
 * not waited on for ever. */
static void test_fifo_no_writer(void)
{
	char want[1024];

	integ_begin("hostile-fifo-idle");
	const char *path = make_fifo("idle.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	struct hx_proc *p = hx_spawn_host(H, "idle", path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_exit(p, SLOW_MS), 2);
	snprintf(want, sizeof(want),
		 "%s: nothing to read for 10 s (a pipe with no writer, or a terminal?)",
		 path);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), want));
}

/* A device without end, a file over the cap and a directory: one line
 * each, exit 2, nothing started. */
static void test_devices_and_sizes(void)
{
	struct hx_proc *p;
	char want[1024], big[512];

	integ_begin("hostile-sizes");
	CU_ASSERT_EQUAL(integ_run_host("zero", (const char *[]){ "/dev/zero", NULL },
				       NULL, &p), 2);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDERR),
		"/dev/zero: larger than 1 MiB; a node description may be at most 1 MiB\n");

	snprintf(big, sizeof(big), "%s/big.yaml", hx_dir(H));
	int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 2 << 20), 0);
	close(fd);
	CU_ASSERT_EQUAL(integ_run_host("big", (const char *[]){ "--check", big, NULL },
				       NULL, &p), 1);
	snprintf(want, sizeof(want),
		 "%s: is 2097152 bytes; a node description may be at most 1 MiB\n",
		 big);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), want));

	CU_ASSERT_EQUAL(integ_run_host("dir", (const char *[]){ hx_dir(H), NULL },
				       NULL, &p), 2);
	snprintf(want, sizeof(want),
		 "%s: is a directory; give the node YAML file\n", hx_dir(H));
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDERR), want);
}

/* 200,000 errors (800 KB of "- 1" under messages:): the first 50 with
 * their lines, then one line with the count of the rest, for a run and
 * for --check, well within the deadline. */
static void test_many_errors(void)
{
	enum { N = 200000 };
	static const char head[] = "node: many\nmessages:\n";
	size_t len = sizeof(head) - 1 + (size_t)N * 4;
	char *yaml = malloc(len + 1);
	char want[1024];

	integ_begin("hostile-many-errors");
	CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
	memcpy(yaml, head, sizeof(head) - 1);
	for (size_t i = 0; i < N; i++)
		memcpy(yaml + sizeof(head) - 1 + i * 4, "- 1\n", 4);
	yaml[len] = '\0';
	const char *path = hx_write_file(H, "many.yaml", yaml);
	free(yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);

	for (int c = 0; c < 2; c++) {
		const char *argv[] = { hx_host_path(), c ? "--check" : path,
				       c ? path : NULL, NULL };
		struct hx_proc *p = hx_spawn(H, c ? "check" : "run", argv, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL(hx_wait_exit(p, SLOW_MS), c ? 1 : 2);
		const char *err = hx_read(p, HX_STDERR);
		char prefix[600];
		snprintf(prefix, sizeof(prefix), "%s:", path);
		CU_ASSERT_EQUAL(integ_lines(err, prefix, "must be a map, not a scalar"),
				50);
		CU_ASSERT_EQUAL(integ_lines(err, "| - 1"), 50);
		snprintf(want, sizeof(want), "%s:52:3: message 50 must be a map", path);
		CU_ASSERT(integ_contains(err, want));
		snprintf(want, sizeof(want),
			 "%s: 199950 more errors not shown (only the first 50 are)\n",
			 path);
		CU_ASSERT(integ_contains(err, want));
		CU_ASSERT_EQUAL(integ_lines(err, "more errors not shown"), 1);
	}
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "a named pipe with an error: shown, exit 2, no hang",
		  test_fifo_with_error },
		{ "a named pipe nobody writes to: given up on after 10 s",
		  test_fifo_no_writer },
		{ "/dev/zero, a 2 MiB file, a directory: refused in one line",
		  test_devices_and_sizes },
		{ "200,000 errors: 50 shown and a count, promptly",
		  test_many_errors },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
