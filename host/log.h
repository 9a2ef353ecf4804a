/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: one line per event on stderr,
 *   2026-11-25T18:30:00.123Z INFO  responder tcp: listening on 127.0.0.1:4000
 * Process-wide state: one process is one node.
 */
#ifndef OCKAM_HOST_LOG_H
#define OCKAM_HOST_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include <ockam/host.h> /* enum ockam_log_level */

void log_set_level(int level);
int log_get_level(void);
/* Whether a line at `level` would be written.  Inline, so that a hot
 * path checks it before formatting anything (routes, addresses) and a
 * disabled TRACE line costs one compare. */
extern int log_threshold;
static inline int log_enabled(int level)
{
	return level <= log_threshold;
}
void log_set_node(const char *name);
/* "error".."trace" -> level, or -1. */
int log_level_parse(const char *text);
const char *log_level_name(int level);

void log_write(int level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vwrite(int level, const char *component, const char *fmt,
		va_list ap) __attribute__((format(printf, 3, 0)));

/* At most one line per lim->interval_ms (default a second) for a
 * recurring event; the next line that gets through says how many were
 * suppressed.  The one limiter of the node: plugins reach it through
 * host->log_limited (struct ockam_log_limit is in <ockam/host.h>). */
void log_limited(struct ockam_log_limit *lim, int level, const char *component,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void log_vlimited(struct ockam_log_limit *lim, int level,
		  const char *component, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
/* 1 if a line of `lim` at `level` would be written now; else 0, and the
 * line is counted as suppressed if the level is written at all. */
int log_limit_due(struct ockam_log_limit *lim, int level);
/* "N more line(s) like the last '<what>' suppressed" if N > 0; returns N. */
uint32_t log_limited_flush(struct ockam_log_limit *lim, int level,
			   const char *component, const char *what);

#endif
