/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the trace tests: run a tutorial's three nodes with OCKAM_TRACE, and
 * read back what `ockam-host trace` printed (a Mermaid sequenceDiagram)
 * as participants and steps.
 */
#ifndef OCKAM_TESTS_TRACE_DIAGRAM_H
#define OCKAM_TESTS_TRACE_DIAGRAM_H

#include <stddef.h>

#define TD_MAX 128

struct td_step {
	int note;         /* "Note over X: label" */
	int dashed;       /* -->> : a secure channel's traffic */
	char from[96], to[96];
	char label[96];
};

struct td {
	char parts[TD_MAX][96];
	size_t n_parts;
	struct td_step steps[TD_MAX];
	size_t n_steps;
};

/* Parse Mermaid text; 0, or -1 (said on stderr) if a line is not one
 * `ockam-host trace` writes. */
int td_parse(const char *text, struct td *d);

/* Index of participant `name`, or -1. */
int td_part(const struct td *d, const char *name);

/* The tutorial `prefix` ("configs/04-...-") run with each node tracing
 * to <temp dir>/<node>.jsonl (extra environment in `env`, may be NULL),
 * the initiator's reply checked and the servers stopped (so their files
 * are complete).  Fills paths[3] (initiator, middle, responder).
 * Returns 0, or -1 after failed assertions. */
int td_run_tutorial(const char *prefix, const char *const env[],
		    const char *paths[3]);

/* A whole file, NUL-terminated (malloc'd), or NULL. */
char *td_read_file(const char *path);

#endif
