/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal JSON reader for test data files (RFC 8259 subset: \u escapes
 * outside ASCII are rejected).  Builds a small tree; not for hostile input
 * beyond what the tests feed it, but every error is reported, not crashed on.
 */
#ifndef OCKAM_TEST_JSON_MINI_H
#define OCKAM_TEST_JSON_MINI_H

#include <stddef.h>

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value {
	enum json_type type;
	int boolean;
	double number;
	char *string;             /* JSON_STRING (NUL-terminated) */
	size_t count;             /* JSON_ARRAY / JSON_OBJECT members */
	struct json_value *items; /* members */
	char **keys;              /* JSON_OBJECT: key of items[i] */
};

/* Parse text[0..len); NULL on error with a message in err. */
struct json_value *json_parse(const char *text, size_t len, char *err,
			      size_t errlen);
/* Read and parse a whole file. */
struct json_value *json_parse_file(const char *path, char *err, size_t errlen);
void json_free(struct json_value *v);

/* Object member by key, or NULL (also when v is not an object). */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* The member's string, or NULL if absent or not a string. */
const char *json_get_string(const struct json_value *v, const char *key);

#endif
