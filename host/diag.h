/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Diagnostics for configuration errors: "file:line:col: message".  Errors
 * are collected (so --check can print every one) and optionally echoed to a
 * stream as they happen; an echoed error with a position is followed by
 * the offending source line and a caret under its column (the collected
 * text holds only the message lines).
 */
#ifndef OCKAM_HOST_DIAG_H
#define OCKAM_HOST_DIAG_H

#include <stdarg.h>
#include <stdio.h>

struct diag {
	char *text;      /* every message so far, one per line; NUL-terminated */
	size_t len, cap;
	unsigned errors; /* count */
	FILE *echo;      /* if set, each message is also written here */
};

void diag_init(struct diag *d, FILE *echo);
void diag_free(struct diag *d);
/* line/col are 1-based; line 0 omits the position ("file: message"). */
void diag_error(struct diag *d, const char *file, unsigned line, unsigned col,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_verror(struct diag *d, const char *file, unsigned line, unsigned col,
		 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

#endif
