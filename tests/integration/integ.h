/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CUnit glue shared by the integration test programs: one open harness per
 * test (H), ended by the suite's teardown so that children and temp dirs
 * are cleaned up even when a fatal assertion leaves the test early, and
 * the captured output dumped when the test failed.
 */
#ifndef OCKAM_TESTS_INTEG_H
#define OCKAM_TESTS_INTEG_H

#include "../common/cunit_main.h"
#include "harness.h"

/* A test, { name, function }: the integration programs' name for
 * struct cunit_test. */
#define integ_test cunit_test

/* The current test's harness; tests set it with integ_begin(...). */
extern struct hx *H;

/* Start the current test: H = hx_begin(name), a fatal assertion if the
 * harness could not start (so the test body never runs without one). */
void integ_begin(const char *name);

/* Lines of `text` containing every one of the needles given after it: a
 * macro over hx_count_lines so that a test can state its needles inline. */
#define integ_lines(text, ...) \
	hx_count_lines((text), (const char *const[]){ __VA_ARGS__, NULL })

/* Run `tests` (NULL-terminated) as CUnit suite `suite` with the basic
 * runner; returns the exit status for main (nonzero on any failure). */
int integ_run(const char *suite, const struct integ_test *tests);

/* Absolute path of `rel` in the source tree (e.g. "configs/x.yaml");
 * valid until 8 more calls. */
const char *integ_src(const char *rel);

/* Start `ockam-host config` as node `node` with `env`, and wait for
 * "node <node> ready".  If `port` is given, first wait for its tcp
 * listener's "listening on 127.0.0.1:<port>" and store the port.  Returns
 * NULL (reported) if it did not get there. */
struct hx_proc *integ_start_node(const char *node, const char *config,
				 const char *const env[], int *port);

/* The listening ports of a started responder/middle pair, and the
 * environment that points the tutorial's initiator at them.  `env` points
 * into `buf`: do not copy the struct. */
struct integ_ports {
	int responder, middle;
	const char *env[3]; /* "RESPONDER_PORT=<r>", "MIDDLE_PORT=<m>", NULL */
	char buf[2][32];
};

/* Start the tutorial's responder and middle nodes, `<prefix>responder.yaml`
 * and `<prefix>middle.yaml` under the source tree (prefix e.g.
 * "configs/04-routing-over-two-transport-hops-"), on ephemeral ports
 * (RESPONDER_PORT=0, then MIDDLE_PORT=0 with RESPONDER_PORT set to the
 * responder's, which its hop's `to:` names), and fill `ports`.  *responder and
 * *middle are NULL for a node that did not start (the middle is not
 * started if the responder failed).  Returns 0, or -1 (reported). */
int integ_start_pair(const char *prefix, struct hx_proc **responder,
		     struct hx_proc **middle, struct integ_ports *ports);
/* As integ_start_pair, but the middle's hop may connect to 127.0.0.1's
 * port `middle_to` instead of the responder's (0: the responder's), for
 * tests that put a listener of their own behind the middle. */
int integ_start_pair_via(const char *prefix, struct hx_proc **responder,
			 struct hx_proc **middle, struct integ_ports *ports,
			 int middle_to);

/* The three nodes of a tutorial run, and the return route the
 * responder's echoer saw. */
struct integ_tutorial {
	struct hx_proc *responder, *middle, *initiator;
	char hops[8][128];
	int n_hops; /* -1 if the echoer's line has no route */
};

/* What a user of the tutorial does: start its responder and middle
 * (integ_start_pair), then run its initiator, `<prefix>initiator.yaml`,
 * and assert what they see: exit 0 and exactly "App Received: Hello
 * Ockam!".  Then wait for the responder's echoer to log the message and
 * split that line's return route into t->hops.  Fatal assertions if a node
 * does not start or the echoer never logs. */
void integ_run_tutorial(const char *prefix, struct integ_tutorial *t);

/* A secure tutorial run as seen in the logs: each end announced its own
 * identity (`alice` on the initiator, `bob_listener` on the responder),
 * the two differ, each end's "secure channel open with peer" names the
 * other, and the responder's echoer got the message "via secure channel
 * with" the initiator's identity, once. */
void integ_check_channel_peers(const char *ilog, const char *rlog);

/* Write <temp dir>/<name> from printf-style `fmt` (at most 128 KiB);
 * returns its path, or NULL (reported). */
const char *integ_write_config(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy into `out` (at least 34 bytes) the identifier ("I" and 32 hex
 * digits) that follows `prefix` in the first line of `log` containing it.
 * Returns 0, or -1 if there is no such line or identifier. */
int integ_find_identifier(const char *log, const char *prefix, char *out);

/* Run the host binary with `args` (NULL-terminated, without argv[0], at
 * most 14) and `env` (may be NULL) as process `label`, and wait for it to
 * exit; *out is the process.  Returns its exit status (as hx_wait_exit),
 * or -2 if it could not be started. */
int integ_run_host(const char *label, const char *const args[],
		   const char *const env[], struct hx_proc **out);

/* 1 if `text` contains `needle`; otherwise 0, after printing both (for an
 * assertion's context). */
int integ_contains(const char *text, const char *needle);

/* Split the route of a log line "... return route [a, b, c]" into `hops`
 * (each at most 127 bytes).  Returns the number of hops, or -1 if the line
 * has no such route or more than `max` hops. */
int integ_return_route(const char *line, char hops[][128], int max);

/* Lines of a node's stderr at WARN or ERROR level (the ones users notice),
 * optionally only those also containing `needle`. */
unsigned integ_count_problems(const char *log, const char *needle);

/* Monotonic seconds, for attack loops that measure their own rate. */
double integ_now_s(void);
/* Sleep `ms` milliseconds. */
void integ_wait_ms(long ms);

#endif
