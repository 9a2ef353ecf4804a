/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A read-only tree of the node YAML (libyaml), every node with its position.
 * Plugins see it through struct ockam_host's opt_* services; the config
 * walker (config.c) uses it directly.
 *
 * Scalars have ${VAR} and ${VAR:-default} expanded from the environment at
 * load time; an undefined variable without a default is an error at its
 * position.
 */
#ifndef OCKAM_HOST_OPT_H
#define OCKAM_HOST_OPT_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/host.h> /* enum ockam_opt_kind */

#include "diag.h"

struct ockam_opt {
	enum ockam_opt_kind kind;
	const char *file; /* shared, owned by the root */
	unsigned line, col; /* 1-based position of the node */
	char *str;        /* scalar text (NUL-terminated); NULL otherwise */
	size_t len;       /* scalar length (may contain NUL bytes? no: refused) */
	int is_null;      /* scalar was a plain null/~/empty */
	/* Scalars: written plain (42, true, tcp:x:1), not quoted or as a
	 * block ("42", '42', |): YAML reads a plain 42 as a number and a
	 * quoted one as a string, and declared options keep that
	 * distinction (option_check.c). */
	int plain;
	int expanded;     /* scalar: a ${VAR} was substituted in it */
	int is_path;      /* scalar: a declared PATH option (relative to the
			   * file; --check prints it absolute) */
	size_t count;     /* list items or map pairs */
	struct ockam_opt **items; /* list items, or map values */
	struct ockam_opt **keys;  /* map keys (scalars, with positions) */
	const char *key;  /* for map values: the key's text, for messages like
			   * "timeout: expected a duration..."; else NULL */
};

/* Parse `path`, read once with readfile() (at most 1 MiB; a pipe or
 * device that pauses 10 s and a directory are refused) and kept in `d`
 * for excerpts (diag_set_source).  On error reports "file:line:col:
 * message" to `d` and returns NULL.  An empty document gives an empty map.  Duplicate map keys,
 * anchors/aliases and non-scalar keys are errors. */
struct ockam_opt *opt_load_file(const char *path, struct diag *d);
/* The same from memory (`name` is used as the file name in messages). */
struct ockam_opt *opt_load_string(const char *name, const char *text,
				  size_t len, struct diag *d);
void opt_free(struct ockam_opt *root);

/* Report "file:line:col: message" at node `o` to `d`. */
void opt_error_at(struct diag *d, const struct ockam_opt *o,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const struct ockam_opt *opt_get(const struct ockam_opt *o, const char *key);
/* The key node of `key` (for positions); NULL if absent. */
const struct ockam_opt *opt_get_key(const struct ockam_opt *o, const char *key);
const char *opt_kind_name(enum ockam_opt_kind kind); /* "a scalar", "a list", "a map" */

/* Every key of map `o` not in `allowed` is reported as
 * "unknown key 'x' in <what> (did you mean 'y'?)".  Returns the count. */
unsigned opt_check_keys(const struct ockam_opt *o, const char *const *allowed,
			const char *what, struct diag *d);
/* Reports "<what> must be <kind>, not <actual kind>" and returns -1 if `o`
 * is not of `kind`; 0 otherwise. */
int opt_expect(const struct ockam_opt *o, enum ockam_opt_kind kind,
	       const char *what, struct diag *d);

/* Typed readers of a scalar.  On malformed input they report at o's
 * position and return -1.  Durations: "250ms", "10s", "5m", "1h", "7d" or
 * "0"; another number without a unit is an error with a hint ("did you
 * mean 10s?").  Sizes: "512", "64KiB", "1MiB", "1GiB" (also KB/MB = 1000s).
 * Booleans: true/false/yes/no/on/off. */
int opt_to_bool(const struct ockam_opt *o, struct diag *d, int *out);
int opt_to_u64(const struct ockam_opt *o, struct diag *d, uint64_t min,
	       uint64_t max, uint64_t *out);
int opt_to_duration_ms(const struct ockam_opt *o, struct diag *d,
		       uint64_t *out);
int opt_to_size(const struct ockam_opt *o, struct diag *d, uint64_t max,
		uint64_t *out);

/* What YAML's core schema makes of a plain scalar other than a string:
 * "a number" (42, -1, 0x1f, 1.5, .inf), "a boolean" (true, false, and
 * YAML 1.1's yes/no/on/off), "null" (null, ~, empty); NULL for a string
 * (also for quoted scalars and ones a ${VAR} was substituted in). */
const char *opt_plain_type(const struct ockam_opt *o);

/* ---- building (defaults filled in by option_check.c) ---------------- */

/* Parse `text` (one YAML value, e.g. "10s", "[]", "{a: 1}") into a new
 * tree whose nodes all carry `at`'s file and position (so a message about
 * a default points at the entry that got it).  NULL if it is not valid
 * YAML (the text is the plugin's, so this is its bug) or out of memory. */
struct ockam_opt *opt_parse_value(const char *text, const struct ockam_opt *at);
/* Append `key: val` to map `map` (taking `val`); the key node gets `at`'s
 * position.  0, or -1 out of memory (val is freed). */
int opt_map_append(struct ockam_opt *map, const char *key,
		   struct ockam_opt *val, const struct ockam_opt *at);
/* Remove `key` (and free its value) from map `map`, if there. */
void opt_map_remove(struct ockam_opt *map, const char *key);
/* Turn a null scalar (`tcp:` with nothing after it) into an empty map,
 * in place, so defaults can be added to it. */
void opt_null_to_map(struct ockam_opt *o);
/* Make scalar `o` a list holding it, in place (`listen: 127.0.0.1:4000`
 * is `listen: [127.0.0.1:4000]`).  0, or -1 out of memory. */
int opt_scalar_to_list(struct ockam_opt *o);
/* Replace scalar `o`'s text with a copy of `s` (0, or -1 out of memory). */
int opt_set_str(struct ockam_opt *o, const char *s);
/* Free a node made by opt_parse_value that was not appended. */
void opt_node_free(struct ockam_opt *o);

/* Write `s` quoted for a message ('text', control bytes as '?', cut at
 * 60 bytes with "...") into buf; returns buf. */
const char *opt_quote(const char *s, char *buf, size_t len);
/* What the user wrote at `o`, for "expected ..., got ..." messages: a
 * scalar quoted (into buf), "nothing" for a null, else its kind. */
const char *opt_got(const struct ockam_opt *o, char *buf, size_t len);

/* Levenshtein-closest entry of `names` within distance 2 (or NULL). */
const char *opt_suggest(const char *word, const char *const *names);

#endif
