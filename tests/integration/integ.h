/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CUnit glue shared by the integration test programs: one open harness per
 * test (H), ended by the suite's teardown so that children and temp dirs
 * are cleaned up even when a fatal assertion leaves the test early, and
 * the captured output dumped when the test failed.
 */
#ifndef OCKAM_TESTS_INTEG_H
#define OCKAM_TESTS_INTEG_H

#include "harness.h"

struct integ_test {
	const char *name;
	void (*fn)(void);
};

/* The current test's harness; tests set it with H = hx_begin(...). */
extern struct hx *H;

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

/* Split the route of a log line "... return route [a, b, c]" into `hops`
 * (each at most 127 bytes).  Returns the number of hops, or -1 if the line
 * has no such route or more than `max` hops. */
int integ_return_route(const char *line, char hops[][128], int max);

/* Lines of a node's stderr at WARN or ERROR level (the ones users notice),
 * optionally only those also containing `needle`. */
unsigned integ_count_problems(const char *log, const char *needle);

#endif
