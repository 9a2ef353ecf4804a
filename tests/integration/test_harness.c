/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Self-test of the integration harness against /bin/sh scripts, so that a
 * failing integration test can be trusted to be about ockam-host.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "integ.h"

static long long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000LL +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static struct hx_proc *sh(const char *label, const char *script,
			  const char *const env[])
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };

	return hx_spawn(H, label, argv, env);
}

/* A fake node: logs like ockam-host, then serves until SIGTERM. */
static const char fake_node[] =
	"trap 'echo stopping >&2; exit 0' TERM\n"
	"echo \"2026-01-01T00:00:00Z INFO x tcp: listening on 127.0.0.1:$PORT\" >&2\n"
	"echo '2026-01-01T00:00:00Z INFO x node: node x ready' >&2\n"
	"while :; do sleep 0.01; done\n";

static void test_capture_and_env(void)
{
	const char *const env[] = { "HX_GREETING=Hello Ockam!", NULL };
	struct hx_proc *p;

	integ_begin("capture");
	p = sh("greeter", "echo \"App Received: $HX_GREETING\"; echo oops >&2",
	       env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDERR), "oops\n");
	/* Asking again gives the same status. */
	CU_ASSERT_EQUAL(hx_wait_exit(p, 10), 0);
}

static void test_port_ready_stop(void)
{
	const char *const env[] = { "PORT=43210", NULL };
	struct hx_proc *p;
	char line[256];

	integ_begin("port");
	p = sh("node", fake_node, env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_port(p, HX_READY_MS), 43210);
	CU_ASSERT_EQUAL(hx_wait_line(p, HX_STDERR, " ready", 1, HX_READY_MS,
				     line, sizeof(line)), 0);
	CU_ASSERT_STRING_EQUAL(line,
			       "2026-01-01T00:00:00Z INFO x node: node x ready");
	CU_ASSERT(hx_running(p));
	CU_ASSERT_EQUAL(hx_stop(p, HX_EXIT_MS), 0);
	CU_ASSERT(!hx_running(p));
	CU_ASSERT_EQUAL(hx_wait_line(p, HX_STDERR, "stopping", 1, 10, NULL, 0),
			0);
}

static void test_wait_line_gives_up(void)
{
	struct timespec t0;
	struct hx_proc *p;

	integ_begin("giveup");

	/* Exits without the line: give up at once, not at the deadline. */
	p = sh("quitter", "echo 'almost ready' >&2; exit 2", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(hx_wait_line(p, HX_STDERR, "node x ready", 1, 20000,
				     NULL, 0), -1);
	CU_ASSERT(elapsed_ms(&t0) < 10000);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 2);

	/* Still running without the line: give up at the deadline. */
	p = sh("silent", "exec sleep 30", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(hx_wait_line(p, HX_STDERR, "ready", 1, 200, NULL, 0),
			-1);
	CU_ASSERT(elapsed_ms(&t0) >= 200);
	CU_ASSERT(elapsed_ms(&t0) < 5000);
	CU_ASSERT(hx_running(p));

	/* A partial last line does not count while the writer may go on. */
	p = sh("partial", "printf 'node x rea' >&2; exec sleep 30", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_line(p, HX_STDERR, "node x rea", 1, 300, NULL,
				     0), -1);
}

static void test_exit_status_and_kill(void)
{
	struct hx_proc *p;
	pid_t pid;

	integ_begin("status");
	p = sh("three", "exit 3", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 3);

	p = sh("segv", "kill -SEGV $$", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 128 + SIGSEGV);

	/* Ignores SIGTERM: hx_stop must kill it and say it timed out. */
	p = sh("stubborn",
	       "trap '' TERM; echo armed >&2; while :; do sleep 0.01; done",
	       NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(p, HX_STDERR, "armed", 1,
					   HX_READY_MS, NULL, 0), 0);
	pid = hx_pid(p);
	CU_ASSERT_EQUAL(hx_stop(p, 300), HX_TIMEOUT);
	CU_ASSERT(kill(pid, 0) < 0 && errno == ESRCH);

	/* A program that cannot be run is an error, not a process. */
	{
		const char *argv[] = { "/nonexistent/ockam-host", "x.yaml",
				       NULL };

		CU_ASSERT_PTR_NULL(hx_spawn(H, "missing", argv, NULL));
	}
}

static void test_count_lines(void)
{
	struct hx_proc *p;
	char line[128];
	const char *text;

	integ_begin("count");
	p = sh("counter",
	       "for i in 1 2 3; do echo \"ERROR tcp: refused $i\" >&2; "
	       "sleep 0.05; done; printf 'ERROR tail' >&2", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_line(p, HX_STDERR, "refused", 3, HX_READY_MS,
				     line, sizeof(line)), 0);
	CU_ASSERT_STRING_EQUAL(line, "ERROR tcp: refused 3");
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 0);
	text = hx_read(p, HX_STDERR);
	{
		const char *const error[] = { "ERROR", NULL };
		const char *const both[] = { "ERROR", "refused 2", NULL };
		const char *const none[] = { "WARN", NULL };

		/* After exit a last line without newline counts too. */
		CU_ASSERT_EQUAL(hx_count_lines(text, error), 4);
		CU_ASSERT_EQUAL(hx_count_lines(text, both), 1);
		CU_ASSERT_EQUAL(hx_count_lines(text, none), 0);
	}
	CU_ASSERT_EQUAL(hx_find_line(text, "tail", line, sizeof(line)), 0);
	CU_ASSERT_STRING_EQUAL(line, "ERROR tail");
	CU_ASSERT_EQUAL(hx_find_line(text, "absent", line, sizeof(line)), -1);
}

static void test_end_cleans_up(void)
{
	struct hx *h = hx_begin("cleanup");
	const char *argv[] = { "/bin/sh", "-c", "exec sleep 30", NULL };
	const char *path;
	struct hx_proc *p;
	struct stat st;
	char *dir;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	dir = strdup(hx_dir(h));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	path = hx_write_file(h, "bad.yaml", "node: [\n");
	CU_ASSERT_PTR_NOT_NULL(path);
	CU_ASSERT(path && stat(path, &st) == 0 && st.st_size == 8);
	p = hx_spawn(h, "sleeper", argv, NULL);
	CU_ASSERT_PTR_NOT_NULL(p);
	pid = p ? hx_pid(p) : -1;
	hx_end(h, 0);
	CU_ASSERT(pid > 0 && kill(pid, 0) < 0 && errno == ESRCH);
	CU_ASSERT(stat(dir, &st) < 0 && errno == ENOENT);
	free(dir);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "capture_and_env", test_capture_and_env },
		{ "port_ready_stop", test_port_ready_stop },
		{ "wait_line_gives_up", test_wait_line_gives_up },
		{ "exit_status_and_kill", test_exit_status_and_kill },
		{ "count_lines", test_count_lines },
		{ "end_cleans_up", test_end_cleans_up },
		{ NULL, NULL },
	};

	return integ_run("harness", tests);
}
