/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ockam-host trace`: trace files (trace.h's JSON lines) read back
 * (trace_read.c), merged into one flow of arrows between lifelines
 * (trace_flow.c) and drawn as Mermaid or SVG (trace_render.c).
 */
#ifndef OCKAM_HOST_TRACE_FLOW_H
#define OCKAM_HOST_TRACE_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TEV_NAME 72
#define TEV_TEXT 160

/* One event line, as read. */
struct tev {
	char ev[16];
	char node[TEV_NAME], worker[TEV_NAME], to[TEV_NAME];
	char peer[TEV_TEXT];
	char hash[20], trace[20];
	uint64_t wall_ns, mono_ns, len, wire_len;
	int secure, channel, transport;
	const char *file;
	unsigned line;
	size_t seq;    /* order read, across files */
	int matched;   /* wire_in: joined to a wire_out */
};

struct tev_list {
	struct tev *ev;
	size_t n, cap;
	unsigned bad; /* lines skipped */
};

/* Read every line of `path` into `l`; a malformed line is reported to
 * `err` as "path:line: why" and skipped.  0, or -1 if the file cannot be
 * read (reported). */
int trace_read_file(const char *path, struct tev_list *l, FILE *err);
void tev_list_free(struct tev_list *l);

/* ---- the flow ---- */

enum step_kind { STEP_ARROW, STEP_NOTE };

struct step {
	enum step_kind kind;
	size_t from, to;    /* participants (a note: over `from`) */
	int encrypted;      /* a secure channel's traffic (ciphertext) */
	int secure;         /* plaintext that came out of a channel */
	char label[96];
};

struct participant {
	char name[TEV_TEXT + 2 * TEV_NAME]; /* "node/worker", or "peer host:port" */
};

struct flow {
	struct participant *parts;
	size_t n_parts;
	struct step *steps;
	size_t n_steps;
};

/* Merge `l` (sorted here) into `f`.  0 or -ENOMEM. */
int trace_flow_build(struct tev_list *l, struct flow *f);
void trace_flow_free(struct flow *f);

/* ---- drawings ---- */

void trace_render_mermaid(const struct flow *f, FILE *out);
/* A self-contained SVG.  0, or -1 on a write error. */
int trace_render_svg(const struct flow *f, FILE *out);

#endif
