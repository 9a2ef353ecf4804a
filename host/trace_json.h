/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small, careful JSON reader for one trace line (`ockam-host trace`):
 * one object whose members are strings, integers, booleans, null or
 * lists of strings; anything else (nested objects, other lists, fractions)
 * is skipped whole, and reported to the caller as TJ_OTHER.  It never
 * reads past the line, bounds its nesting, and says what is wrong and at
 * which column instead of guessing.
 */
#ifndef OCKAM_HOST_TRACE_JSON_H
#define OCKAM_HOST_TRACE_JSON_H

#include <stddef.h>
#include <stdint.h>

#define TJ_LIST_MAX 64 /* strings in a list member */

enum tj_type { TJ_STR, TJ_NUM, TJ_BOOL, TJ_NULL, TJ_LIST, TJ_OTHER };

struct tj_value {
	enum tj_type type;
	const char *str;  /* TJ_STR: decoded, NUL-terminated */
	size_t len;
	uint64_t num;     /* TJ_NUM: a non-negative integer */
	int b;            /* TJ_BOOL */
	const char *items[TJ_LIST_MAX]; /* TJ_LIST: decoded strings */
	size_t n;
};

/* Called per member; nonzero stops the parse (returned as is). */
typedef int (*tj_member_fn)(void *data, const char *key,
			    const struct tj_value *v);

/* Parse `line` (`len` bytes, modified in place: strings are decoded where
 * they lie, so it must be writable and is NUL-terminated at len).
 * 0 when every member was handed over, -1 with "column N: what" in
 * `err`, or what `fn` returned. */
int tj_parse_object(char *line, size_t len, tj_member_fn fn, void *data,
		    char *err, size_t err_len);

#endif
