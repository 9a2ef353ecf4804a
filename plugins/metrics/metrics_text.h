/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's status report as Prometheus text (exposition format 0.0.4):
 * the status pairs host->status_visit walks go through a fixed table of
 * metric families here; pairs the table does not name are not exported
 * (status shows them).  Per-connection and per-channel rows are summed,
 * never labelled by peer, so a stranger opening connections cannot grow
 * the number of series.
 */
#ifndef OCKAM_METRICS_TEXT_H
#define OCKAM_METRICS_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Samples one report may hold (rows are bounded by the host as well). */
#define METRICS_SAMPLES_MAX 4096
#define METRICS_LABEL_MAX 160

struct metrics_sample {
	uint16_t family;
	char labels[METRICS_LABEL_MAX]; /* `worker="echoer"`, escaped; or "" */
	uint64_t value;
};

struct metrics_collect {
	struct metrics_sample *s; /* METRICS_SAMPLES_MAX of them */
	size_t n;
	int truncated;
	/* The row being visited (pairs of one row come in a row). */
	const char *row;
	char direction[16];
};

/* The host's visitor (ockam_status_visit_fn): add one pair. */
void metrics_collect_pair(void *data, const char *kind, const char *name,
			  const char *key, const char *value, int is_number);

/* Write the samples as exposition text, every sample labelled
 * node="<node>", families in table order each with HELP and TYPE.
 * Returns a malloc'd NUL-terminated text (length in *len), or NULL. */
char *metrics_render(const struct metrics_collect *c, const char *node,
		     size_t *len);

#endif
