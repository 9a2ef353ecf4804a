/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Diagnostics for configuration errors: "file:line:col: message".  Errors
 * are collected (so --check can print every one) and optionally echoed to a
 * stream as they happen; an echoed error with a position in the source
 * given to diag_set_source is followed by that line and a caret under its
 * column (the collected text holds only the message lines).
 *
 * A hostile file can hold hundreds of thousands of errors: only the first
 * DIAG_SHOWN_MAX are kept and shown, the rest only counted (at O(1) each),
 * and diag_finish adds one line with that count.  Excerpts come from the
 * copy in memory through a line index, so each costs O(line): the file is
 * never read again (it may be a pipe).
 */
#ifndef OCKAM_HOST_DIAG_H
#define OCKAM_HOST_DIAG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* Errors kept and shown; the rest are counted. */
#define DIAG_SHOWN_MAX 50

struct diag {
	char *text;      /* the messages shown so far, one per line; NUL-terminated */
	size_t len, cap;
	unsigned errors; /* count, shown or not */
	FILE *echo;      /* if set, each message is also written here */
	/* The text excerpts are taken from (diag_set_source). */
	char *src_name, *src_text;
	size_t src_len;
	uint32_t *src_lines; /* offset of the start of each line */
	size_t src_n_lines;
	int finished;        /* diag_finish has run */
};

void diag_init(struct diag *d, FILE *echo);
void diag_free(struct diag *d);
/* Keep a copy of `text` (at most 4 GiB) as the contents of `name`: errors
 * naming that file show their line from it.  Errors naming other files
 * show no excerpt.  Returns 0, or -1 if out of memory (no excerpts). */
int diag_set_source(struct diag *d, const char *name, const char *text,
		    size_t len);
/* 1 while a new error would still be shown.  Past DIAG_SHOWN_MAX errors
 * are only counted: callers skip costly work (did-you-mean searches over
 * long lists) for errors nobody will see. */
int diag_room(const struct diag *d);
/* If errors were counted but not shown, add (and echo) one line saying
 * how many: "N more errors not shown (only the first 50 are)".  Call it
 * when the reporting is over; later calls do nothing. */
void diag_finish(struct diag *d);
/* line/col are 1-based; line 0 omits the position ("file: message"). */
void diag_error(struct diag *d, const char *file, unsigned line, unsigned col,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_verror(struct diag *d, const char *file, unsigned line, unsigned col,
		 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

#endif
