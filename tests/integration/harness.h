/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration-test harness: run real processes (normally ockam-host), each
 * with its stdout and stderr captured to files in a per-test temp dir, and
 * wait on what they print or how they exit, always with a deadline; and
 * reach them over loopback TCP the way an attacker would (raw sockets).
 *
 * Waits poll the capture files (bounded polling, a few ms apart); nothing
 * sleeps for a fixed time to "let things settle".  Every function that
 * waits prints why it gave up to stderr, so a failing assertion has a
 * reason next to it.  hx_end() kills what is still running, reaps it and
 * removes the temp dir; children also get SIGKILL if the test dies.
 *
 * The harness does not use CUnit: functions return values for the test to
 * assert on.
 */
#ifndef OCKAM_TESTS_HARNESS_H
#define OCKAM_TESTS_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

enum hx_stream { HX_STDOUT = 1, HX_STDERR = 2 };

/* Exit status of hx_wait_exit()/hx_stop() when the deadline passed (the
 * process was then killed). Signals give 128 + signo, as in the shell. */
#define HX_TIMEOUT (-1)

/* Default deadlines, generous for sanitizer builds. */
#define HX_READY_MS 15000
#define HX_EXIT_MS 15000

struct hx;
struct hx_proc;

/* Start a test: make the temp dir "$TMPDIR/ockam-integ-<name>-XXXXXX".
 * Returns NULL (reported) on failure. */
struct hx *hx_begin(const char *name);
/* Kill (SIGKILL) and reap every process still running, and remove the temp
 * dir.  If `dump` is set, first print each process's captured output to
 * stderr (for failed tests).  Accepts NULL. */
void hx_end(struct hx *h, int dump);
const char *hx_dir(const struct hx *h);

/* Write `text` to <temp dir>/<name>; returns the full path (owned by h),
 * or NULL (reported). */
const char *hx_write_file(struct hx *h, const char *name, const char *text);

/* Start argv[0] (a path) with argv, stdin from /dev/null, the current
 * environment plus `env` ("KEY=value" strings, NULL-terminated; may be
 * NULL).  `label` names the process in logs and capture files.  Returns
 * NULL (reported) if fork or exec fails. */
struct hx_proc *hx_spawn(struct hx *h, const char *label,
			 const char *const argv[], const char *const env[]);
/* Start `$OCKAM_HOST config` (the host binary under test). */
struct hx_proc *hx_spawn_host(struct hx *h, const char *label,
			      const char *config, const char *const env[]);
/* The ockam-host binary: $OCKAM_HOST, else the build tree's. */
const char *hx_host_path(void);

/* Wait until `count` complete lines of `stream` contain `needle`.  If
 * `line` is given, the count-th such line is copied to it (without the
 * newline, truncated to `cap`).  Returns 0, or -1 if the deadline passed
 * or the process exited first (both reported). */
int hx_wait_line(struct hx_proc *p, enum hx_stream stream, const char *needle,
		 unsigned count, int timeout_ms, char *line, size_t cap);
/* Wait for "listening on 127.0.0.1:<port>" on stderr; returns the port,
 * or -1. */
int hx_wait_port(struct hx_proc *p, int timeout_ms);

/* Wait for the process to exit.  Returns its exit status (0-255), 128 +
 * signal if killed by one, or HX_TIMEOUT after killing it with SIGKILL.
 * Returns the same value again if called after it exited. */
int hx_wait_exit(struct hx_proc *p, int timeout_ms);
/* Send SIGTERM, then hx_wait_exit(). */
int hx_stop(struct hx_proc *p, int timeout_ms);
/* 1 if the process has not exited yet (reaps it if it has). */
int hx_running(struct hx_proc *p);
pid_t hx_pid(const struct hx_proc *p);

/* Everything captured so far, NUL-terminated; owned by the process object
 * and valid until the next hx_read on the same stream or hx_end.  Never
 * NULL (an empty string if nothing could be read). */
const char *hx_read(struct hx_proc *p, enum hx_stream stream);

/* A blocking, close-on-exec TCP connection to 127.0.0.1:`port` (a node's
 * listener, for tests that write raw frames), or -1 if it was refused. */
int hx_tcp_connect(int port);
/* A close-on-exec TCP socket on 127.0.0.1, an ephemeral port (in *port):
 * listening with `backlog` if it is > 0; if 0, bound and never listening,
 * so that connections to the port are refused while it is open (and no
 * other test can take it).  Returns the socket, or -1. */
int hx_tcp_listen(int backlog, int *port);

/* Lines of `text` containing every one of the NULL-terminated needles. */
unsigned hx_count_lines(const char *text, const char *const needles[]);
/* Copy into `out` the first line of `text` containing `needle` (without
 * the newline); returns 0, or -1 if none. */
int hx_find_line(const char *text, const char *needle, char *out, size_t cap);

#endif
