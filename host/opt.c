/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The YAML tree of opt.h: libyaml events -> struct ockam_opt with 1-based
 * positions, ${VAR} expansion, key checks and typed scalar readers.
 *
 * Parsing keeps going after a semantic problem (duplicate key, alias,
 * undefined variable) so that one run reports all of them; only a YAML
 * syntax error stops it, since libyaml cannot resume after one.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "opt.h"
#include "readfile.h"

/* Deeper than any sane node file; bounds our recursion. */
#define OPT_DEPTH_MAX 64
/* All values together after ${VAR} expansion: a 1 MiB file of "${BIG}"
 * must not become gigabytes. */
#define OPT_EXPANDED_MAX ((size_t)4 << 20)
/* Duplicate checks are linear per key: bound a map so they stay cheap. */
#define OPT_MAP_MAX 10000
#define OPT_QUOTE_MAX 128

struct opt_parser {
	yaml_parser_t yp;
	const char *file;
	const unsigned char *text; /* the input, for reader-error positions */
	size_t len;
	struct diag *d;
	unsigned errors;
	size_t expanded; /* bytes of values so far, after expansion */
};

static void parser_error(struct opt_parser *p, const yaml_mark_t *m,
			 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void parser_error(struct opt_parser *p, const yaml_mark_t *m,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_verror(p->d, p->file, m ? (unsigned)m->line + 1 : 0,
		    m ? (unsigned)m->column + 1 : 0, fmt, ap);
	va_end(ap);
	p->errors++;
}

void opt_error_at(struct diag *d, const struct ockam_opt *o,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_verror(d, o->file, o->line, o->col, fmt, ap);
	va_end(ap);
}

const char *opt_quote(const char *s, char *buf, size_t len)
{
	size_t i = 0, n = strlen(s), cut = n > 60 ? 60 : n;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	buf[i++] = '\'';
	for (size_t k = 0; k < cut && i + 6 < len; k++) {
		unsigned char ch = (unsigned char)s[k];
		buf[i++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	buf[i++] = '\'';
	if (cut < n && i + 4 <= len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* ---- reporting libyaml's own errors ------------------------------- */

static void report_syntax(struct opt_parser *p)
{
	const yaml_parser_t *yp = &p->yp;
	const char *problem = yp->problem ? yp->problem : "invalid YAML";

	if (yp->error == YAML_MEMORY_ERROR) {
		parser_error(p, NULL, "out of memory while parsing");
		return;
	}
	if (yp->error == YAML_READER_ERROR) {
		/* The reader only gives a byte offset; find its line. */
		yaml_mark_t m = { 0, 0, 0 };
		size_t off = yp->problem_offset;

		for (size_t i = 0; i < off && i < p->len; i++) {
			if (p->text[i] == '\n') {
				m.line++;
				m.column = 0;
			} else if ((p->text[i] & 0xc0) != 0x80) {
				m.column++;
			}
		}
		if (yp->problem_value != -1)
			parser_error(p, &m, "%s (byte 0x%02x)", problem,
				     (unsigned)yp->problem_value & 0xffu);
		else
			parser_error(p, &m, "%s", problem);
		return;
	}
	if (yp->context)
		parser_error(p, &yp->problem_mark, "%s (%s at %u:%u)", problem,
			     yp->context, (unsigned)yp->context_mark.line + 1,
			     (unsigned)yp->context_mark.column + 1);
	else
		parser_error(p, &yp->problem_mark, "%s", problem);
}

static int next_event(struct opt_parser *p, yaml_event_t *ev)
{
	if (yaml_parser_parse(&p->yp, ev))
		return 0;
	report_syntax(p);
	return -1;
}

/* ---- building the tree -------------------------------------------- */

static void node_free(struct ockam_opt *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->count; i++) {
		node_free(o->items[i]);
		if (o->keys)
			node_free(o->keys[i]);
	}
	free(o->items);
	free(o->keys);
	free(o->str);
	free(o);
}

void opt_free(struct ockam_opt *root)
{
	if (!root)
		return;
	char *file = (char *)root->file;
	node_free(root);
	free(file);
}

static struct ockam_opt *node_new(struct opt_parser *p,
				  enum ockam_opt_kind kind,
				  const yaml_mark_t *m)
{
	struct ockam_opt *o = calloc(1, sizeof(*o));

	if (!o) {
		parser_error(p, m, "out of memory");
		return NULL;
	}
	o->kind = kind;
	o->file = p->file;
	o->line = (unsigned)m->line + 1;
	o->col = (unsigned)m->column + 1;
	return o;
}

/* Append to a list or map; *cap is the caller's running capacity. */
static int node_push(struct ockam_opt *o, size_t *cap, struct ockam_opt *key,
		     struct ockam_opt *val)
{
	if (o->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct ockam_opt **items, **keys;

		items = realloc(o->items, ncap * sizeof(*items));
		if (!items)
			return -1;
		o->items = items;
		if (key) {
			keys = realloc(o->keys, ncap * sizeof(*keys));
			if (!keys)
				return -1;
			o->keys = keys;
		}
		*cap = ncap;
	}
	o->items[o->count] = val;
	if (key)
		o->keys[o->count] = key;
	o->count++;
	return 0;
}

struct strbuf {
	char *s;
	size_t len, cap;
	int oom;
};

static void sb_put(struct strbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 64;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		char *ns = realloc(b->s, ncap);
		if (!ns) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void scalar_error(struct opt_parser *p, const struct ockam_opt *o,
			 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void scalar_error(struct opt_parser *p, const struct ockam_opt *o,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_verror(p->d, o->file, o->line, o->col, fmt, ap);
	va_end(ap);
	p->errors++;
}

static int is_var_start(char c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_var_char(char c)
{
	return is_var_start(c) || (c >= '0' && c <= '9');
}

/* Expand ${VAR}, ${VAR:-default} (default if unset or empty) and $$ in
 * scalar `s`.  Errors are reported at `o`; returns the new text or NULL. */
static char *expand_vars(struct opt_parser *p, struct ockam_opt *o,
			 const char *s, size_t n, size_t *out_len)
{
	struct strbuf b = { NULL, 0, 0, 0 };
	unsigned errors = p->errors;
	char q[OPT_QUOTE_MAX];

	sb_put(&b, "", 0);
	for (size_t i = 0; i < n;) {
		if (s[i] != '$' || i + 1 == n ||
		    (s[i + 1] != '$' && s[i + 1] != '{')) {
			size_t j = i + 1;
			while (j < n && s[j] != '$')
				j++;
			sb_put(&b, s + i, j - i);
			i = j;
			continue;
		}
		if (s[i + 1] == '$') {
			sb_put(&b, "$", 1);
			i += 2;
			continue;
		}
		const char *open = s + i;
		const char *close = memchr(open, '}', n - i);
		if (!close) {
			scalar_error(p, o, "unterminated '${' (write '$$' for a literal '$')");
			break;
		}
		const char *name = open + 2, *e = name;
		while (e < close && is_var_char(*e))
			e++;
		int has_default = e + 1 < close && e[0] == ':' && e[1] == '-';
		char ref[OPT_QUOTE_MAX];
		size_t rlen = (size_t)(close - open) + 1;
		if (rlen >= sizeof(ref))
			rlen = sizeof(ref) - 1;
		memcpy(ref, open, rlen);
		ref[rlen] = '\0';
		if (e == name || !is_var_start(*name) ||
		    (e != close && !has_default)) {
			scalar_error(p, o, "malformed variable reference %s (use ${NAME} or ${NAME:-default})",
				     opt_quote(ref, q, sizeof(q)));
			i = (size_t)(close - s) + 1;
			continue;
		}
		char var[256];
		size_t vlen = (size_t)(e - name);
		if (vlen >= sizeof(var)) {
			scalar_error(p, o, "variable name %s is too long",
				     opt_quote(ref, q, sizeof(q)));
			i = (size_t)(close - s) + 1;
			continue;
		}
		memcpy(var, name, vlen);
		var[vlen] = '\0';
		const char *val = getenv(var);
		o->expanded = 1;
		if (has_default && (!val || !*val))
			sb_put(&b, e + 2, (size_t)(close - (e + 2)));
		else if (val)
			sb_put(&b, val, strlen(val));
		else
			scalar_error(p, o, "undefined variable '%s'", var);
		i = (size_t)(close - s) + 1;
	}
	if (b.oom) {
		parser_error(p, NULL, "out of memory");
	}
	if (b.oom || p->errors != errors) {
		free(b.s);
		return NULL;
	}
	*out_len = b.len;
	return b.s;
}

static int is_null_text(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') ||
	       (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
			   !memcmp(s, "NULL", 4)));
}

static struct ockam_opt *parse_node(struct opt_parser *p, yaml_event_t *ev,
				    unsigned depth, int is_key);

/* Anchor names are plain YAML characters, so they print as they are. */
static void refuse_anchor(struct opt_parser *p, const yaml_event_t *ev,
			  const yaml_char_t *anchor)
{
	if (anchor)
		parser_error(p, &ev->start_mark,
			     "anchors (&%.60s) are not supported; repeat the value instead",
			     (const char *)anchor);
}

static struct ockam_opt *parse_scalar(struct opt_parser *p, yaml_event_t *ev,
				      int is_key)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	struct ockam_opt *o = node_new(p, OCKAM_OPT_SCALAR, &ev->start_mark);

	if (!o)
		return NULL;
	refuse_anchor(p, ev, ev->data.scalar.anchor);
	o->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (memchr(v, '\0', n)) {
		parser_error(p, &ev->start_mark,
			     "NUL bytes are not allowed in values");
		n = 0;
	} else if (!is_key && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		   ev->data.scalar.plain_implicit && is_null_text(v, n)) {
		o->is_null = 1;
		n = 0;
	} else if (!is_key) {
		o->str = expand_vars(p, o, v, n, &o->len);
		if (!o->str) {
			n = 0;
		} else if ((p->expanded += o->len) > OPT_EXPANDED_MAX) {
			/* Stops the parse: one error, not one per value. */
			parser_error(p, &ev->start_mark,
				     "values are larger than %zu MiB after ${VAR} expansion",
				     OPT_EXPANDED_MAX >> 20);
			free(o->str);
			free(o);
			return NULL;
		} else {
			return o;
		}
	}
	o->str = malloc(n + 1);
	if (!o->str) {
		parser_error(p, &ev->start_mark, "out of memory");
		free(o);
		return NULL;
	}
	memcpy(o->str, v, n);
	o->str[n] = '\0';
	o->len = n;
	return o;
}

static struct ockam_opt *parse_list(struct opt_parser *p, yaml_event_t *ev,
				    unsigned depth)
{
	struct ockam_opt *o = node_new(p, OCKAM_OPT_LIST, &ev->start_mark);
	size_t cap = 0;

	if (!o)
		return NULL;
	refuse_anchor(p, ev, ev->data.sequence_start.anchor);
	for (;;) {
		yaml_event_t item;
		if (next_event(p, &item))
			goto fail;
		if (item.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&item);
			return o;
		}
		struct ockam_opt *child = parse_node(p, &item, depth + 1, 0);
		if (!child)
			goto fail;
		if (node_push(o, &cap, NULL, child)) {
			node_free(child);
			parser_error(p, NULL, "out of memory");
			goto fail;
		}
	}
fail:
	node_free(o);
	return NULL;
}

static struct ockam_opt *parse_map(struct opt_parser *p, yaml_event_t *ev,
				   unsigned depth)
{
	struct ockam_opt *o = node_new(p, OCKAM_OPT_MAP, &ev->start_mark);
	size_t cap = 0;

	if (!o)
		return NULL;
	refuse_anchor(p, ev, ev->data.mapping_start.anchor);
	for (;;) {
		yaml_event_t kev, vev;
		struct ockam_opt *key, *val;
		int bad_key;

		if (next_event(p, &kev))
			goto fail;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return o;
		}
		if (o->count >= OPT_MAP_MAX) {
			parser_error(p, &kev.start_mark,
				     "too many keys in one map (more than %d)",
				     OPT_MAP_MAX);
			yaml_event_delete(&kev);
			goto fail;
		}
		bad_key = kev.type != YAML_SCALAR_EVENT;
		key = parse_node(p, &kev, depth + 1, 1);
		if (!key)
			goto fail;
		if (bad_key) {
			opt_error_at(p->d, key, "map keys must be scalars, not %s",
				   opt_kind_name(key->kind));
			p->errors++;
		}
		if (next_event(p, &vev)) {
			node_free(key);
			goto fail;
		}
		val = parse_node(p, &vev, depth + 1, 0);
		if (!val) {
			node_free(key);
			goto fail;
		}
		const struct ockam_opt *first =
			bad_key ? NULL : opt_get_key(o, key->str);
		if (first) {
			char q[OPT_QUOTE_MAX];
			opt_error_at(p->d, key, "duplicate key %s (first at %u:%u)",
				   opt_quote(key->str, q, sizeof(q)),
				   first->line, first->col);
			p->errors++;
		}
		if (bad_key || first) {
			node_free(key);
			node_free(val);
			continue;
		}
		val->key = key->str;
		if (node_push(o, &cap, key, val)) {
			node_free(key);
			node_free(val);
			parser_error(p, NULL, "out of memory");
			goto fail;
		}
	}
fail:
	node_free(o);
	return NULL;
}

/* Takes ownership of `ev`.  Returns NULL only when parsing cannot go on
 * (syntax error, out of memory, too deep); other problems are reported
 * and a node is still returned so the walk continues. */
static struct ockam_opt *parse_node(struct opt_parser *p, yaml_event_t *ev,
				    unsigned depth, int is_key)
{
	struct ockam_opt *o = NULL;

	if (depth > OPT_DEPTH_MAX) {
		parser_error(p, &ev->start_mark,
			     "nesting is too deep (more than %d levels)",
			     OPT_DEPTH_MAX);
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		o = parse_scalar(p, ev, is_key);
		break;
	case YAML_SEQUENCE_START_EVENT:
		o = parse_list(p, ev, depth);
		break;
	case YAML_MAPPING_START_EVENT:
		o = parse_map(p, ev, depth);
		break;
	case YAML_ALIAS_EVENT: {
		parser_error(p, &ev->start_mark,
			     "aliases (*%.60s) are not supported; repeat the value instead",
			     (const char *)ev->data.alias.anchor);
		o = node_new(p, OCKAM_OPT_SCALAR, &ev->start_mark);
		if (o) {
			o->is_null = 1;
			o->str = calloc(1, 1);
			if (!o->str) {
				free(o);
				o = NULL;
			}
		}
		break;
	}
	default:
		parser_error(p, &ev->start_mark, "unexpected YAML event");
		break;
	}
	yaml_event_delete(ev);
	return o;
}

static struct ockam_opt *parse_document(struct opt_parser *p)
{
	yaml_event_t ev;
	struct ockam_opt *root = NULL;

	if (next_event(p, &ev))
		return NULL;
	yaml_event_delete(&ev); /* STREAM-START */
	if (next_event(p, &ev))
		return NULL;
	if (ev.type == YAML_STREAM_END_EVENT) {
		/* Nothing but comments: an empty map. */
		root = node_new(p, OCKAM_OPT_MAP, &ev.start_mark);
		yaml_event_delete(&ev);
		return root;
	}
	yaml_event_delete(&ev); /* DOCUMENT-START */
	if (next_event(p, &ev))
		return NULL;
	root = parse_node(p, &ev, 0, 0);
	if (!root)
		return NULL;
	if (root->kind == OCKAM_OPT_SCALAR && root->is_null) {
		free(root->str);
		root->str = NULL;
		root->kind = OCKAM_OPT_MAP;
		root->is_null = 0;
	}
	if (next_event(p, &ev)) /* DOCUMENT-END */
		goto fail;
	yaml_event_delete(&ev);
	if (next_event(p, &ev))
		goto fail;
	if (ev.type != YAML_STREAM_END_EVENT)
		parser_error(p, &ev.start_mark,
			     "only one YAML document per file is supported");
	yaml_event_delete(&ev);
	return root;
fail:
	node_free(root);
	return NULL;
}

struct ockam_opt *opt_load_string(const char *name, const char *text,
				  size_t len, struct diag *d)
{
	struct opt_parser p = { .text = (const unsigned char *)text,
				.len = len, .d = d };
	char *file = strdup(name);
	struct ockam_opt *root;

	if (!file) {
		diag_error(d, name, 0, 0, "out of memory");
		return NULL;
	}
	p.file = file;
	if (!yaml_parser_initialize(&p.yp)) {
		diag_error(d, name, 0, 0, "out of memory");
		free(file);
		return NULL;
	}
	yaml_parser_set_input_string(&p.yp, p.text, len);
	root = parse_document(&p);
	yaml_parser_delete(&p.yp);
	if (!root || p.errors) {
		node_free(root);
		free(file);
		return NULL;
	}
	return root;
}

struct ockam_opt *opt_load_file(const char *path, struct diag *d)
{
	char *buf, err[256];
	size_t len;
	struct ockam_opt *root;

	if (readfile(path, READFILE_MAX, READFILE_IDLE_MS, &buf, &len, err,
		     sizeof(err)) < 0) {
		diag_error(d, path, 0, 0, "%s", err);
		return NULL;
	}
	/* Excerpts under errors come from this copy, never from the file
	 * again (it may be a pipe).  Without memory for it, errors are
	 * still reported, only without excerpts. */
	diag_set_source(d, path, buf, len);
	root = opt_load_string(path, buf, len, d);
	free(buf);
	return root;
}

/* ---- building ------------------------------------------------------ */

static void relabel(struct ockam_opt *o, const struct ockam_opt *at)
{
	o->file = at->file;
	o->line = at->line;
	o->col = at->col;
	for (size_t i = 0; i < o->count; i++) {
		relabel(o->items[i], at);
		if (o->keys)
			relabel(o->keys[i], at);
	}
}

struct ockam_opt *opt_parse_value(const char *text, const struct ockam_opt *at)
{
	struct diag d;
	struct ockam_opt *o;

	diag_init(&d, NULL);
	o = opt_load_string("default", text, strlen(text), &d);
	diag_free(&d);
	if (!o)
		return NULL;
	free((char *)o->file);
	relabel(o, at);
	return o;
}

void opt_node_free(struct ockam_opt *o)
{
	node_free(o);
}

int opt_map_append(struct ockam_opt *map, const char *key,
		   struct ockam_opt *val, const struct ockam_opt *at)
{
	struct ockam_opt *k = calloc(1, sizeof(*k));
	struct ockam_opt **items, **keys;

	if (k)
		k->str = strdup(key);
	if (!k || !k->str)
		goto fail;
	k->kind = OCKAM_OPT_SCALAR;
	k->plain = 1;
	k->len = strlen(key);
	relabel(k, at);
	items = realloc(map->items, (map->count + 1) * sizeof(*items));
	if (!items)
		goto fail;
	map->items = items;
	keys = realloc(map->keys, (map->count + 1) * sizeof(*keys));
	if (!keys)
		goto fail;
	map->keys = keys;
	val->key = k->str;
	map->items[map->count] = val;
	map->keys[map->count] = k;
	map->count++;
	return 0;
fail:
	node_free(k);
	node_free(val);
	return -1;
}

void opt_map_remove(struct ockam_opt *map, const char *key)
{
	for (size_t i = 0; map && map->kind == OCKAM_OPT_MAP && i < map->count;
	     i++) {
		if (strcmp(map->keys[i]->str, key))
			continue;
		node_free(map->items[i]);
		node_free(map->keys[i]);
		memmove(&map->items[i], &map->items[i + 1],
			(map->count - i - 1) * sizeof(*map->items));
		memmove(&map->keys[i], &map->keys[i + 1],
			(map->count - i - 1) * sizeof(*map->keys));
		map->count--;
		return;
	}
}

void opt_null_to_map(struct ockam_opt *o)
{
	if (o->kind != OCKAM_OPT_SCALAR || !o->is_null)
		return;
	free(o->str);
	o->str = NULL;
	o->len = 0;
	o->is_null = 0;
	o->plain = 0;
	o->kind = OCKAM_OPT_MAP;
}

int opt_scalar_to_list(struct ockam_opt *o)
{
	struct ockam_opt *item, **items;

	if (o->kind != OCKAM_OPT_SCALAR || o->is_null)
		return 0;
	item = malloc(sizeof(*item));
	items = malloc(sizeof(*items));
	if (!item || !items) {
		free(item);
		free(items);
		return -1;
	}
	const char *key = o->key;
	*item = *o;
	item->key = NULL;
	memset(o, 0, sizeof(*o));
	o->kind = OCKAM_OPT_LIST;
	o->file = item->file;
	o->line = item->line;
	o->col = item->col;
	o->key = key;
	o->items = items;
	o->items[0] = item;
	o->count = 1;
	return 0;
}

int opt_set_str(struct ockam_opt *o, const char *s)
{
	char *c = strdup(s);

	if (!c)
		return -1;
	free(o->str);
	o->str = c;
	o->len = strlen(c);
	return 0;
}

/* YAML 1.2 core schema plus 1.1's yes/no/on/off (which libyaml-based
 * readers and people still take for booleans). */
const char *opt_plain_type(const struct ockam_opt *o)
{
	static const char *const bools[] = {
		"true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes",
		"YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
	};
	const char *s;

	if (!o || o->kind != OCKAM_OPT_SCALAR || !o->plain || o->expanded)
		return NULL;
	if (o->is_null)
		return "null";
	s = o->str;
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (!strcmp(s, bools[i]))
			return "a boolean";
	if (!strcmp(s, ".inf") || !strcmp(s, "-.inf") || !strcmp(s, "+.inf") ||
	    !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".Inf"))
		return "a number";
	if (*s == '-' || *s == '+')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && s[2] &&
	    strspn(s + 2, s[1] == 'x' ? "0123456789abcdefABCDEF" : "01234567") ==
		    strlen(s + 2))
		return "a number";
	/* [0-9]+ ( . [0-9]* )? ( [eE] [-+]? [0-9]+ )?, or . [0-9]+ ... */
	size_t digits = strspn(s, "0123456789");
	s += digits;
	if (*s == '.') {
		size_t frac = strspn(s + 1, "0123456789");
		if (!digits && !frac)
			return NULL;
		digits += frac;
		s += 1 + frac;
	}
	if (!digits)
		return NULL;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		size_t e = strspn(s, "0123456789");
		if (!e)
			return NULL;
		s += e;
	}
	return *s ? NULL : "a number";
}

/* ---- lookups and checks ------------------------------------------- */

const struct ockam_opt *opt_get(const struct ockam_opt *o, const char *key)
{
	if (!o || o->kind != OCKAM_OPT_MAP || !key)
		return NULL;
	for (size_t i = 0; i < o->count; i++)
		if (!strcmp(o->keys[i]->str, key))
			return o->items[i];
	return NULL;
}

const struct ockam_opt *opt_get_key(const struct ockam_opt *o, const char *key)
{
	if (!o || o->kind != OCKAM_OPT_MAP || !key)
		return NULL;
	for (size_t i = 0; i < o->count; i++)
		if (!strcmp(o->keys[i]->str, key))
			return o->keys[i];
	return NULL;
}

const char *opt_kind_name(enum ockam_opt_kind kind)
{
	switch (kind) {
	case OCKAM_OPT_SCALAR:
		return "a scalar";
	case OCKAM_OPT_LIST:
		return "a list";
	case OCKAM_OPT_MAP:
		return "a map";
	}
	return "unknown";
}

static const char *actual_kind(const struct ockam_opt *o)
{
	if (o->kind == OCKAM_OPT_SCALAR && o->is_null)
		return "empty";
	return opt_kind_name(o->kind);
}

int opt_expect(const struct ockam_opt *o, enum ockam_opt_kind kind,
	       const char *what, struct diag *d)
{
	if (o->kind == kind && !(kind == OCKAM_OPT_SCALAR && o->is_null))
		return 0;
	opt_error_at(d, o, "%s must be %s, not %s", what, opt_kind_name(kind),
		   actual_kind(o));
	return -1;
}

static size_t levenshtein_ci(const char *a, const char *b)
{
	enum { N = 64 };
	size_t la = strlen(a), lb = strlen(b);
	size_t row[N + 1];

	if (la > N || lb > N)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			int same = tolower((unsigned char)a[i - 1]) ==
				   tolower((unsigned char)b[j - 1]);
			size_t best = diag + (same ? 0 : 1);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *opt_suggest(const char *word, const char *const *names)
{
	const char *best = NULL;
	size_t best_d = 3, wlen;

	if (!word || !names)
		return NULL;
	wlen = strlen(word);
	for (size_t i = 0; names[i]; i++) {
		size_t dist = levenshtein_ci(word, names[i]);
		/* Two edits turn any 2-letter word into any other: only
		 * suggest when some of the word survives. */
		if (dist < best_d && dist < wlen) {
			best = names[i];
			best_d = dist;
		}
	}
	return best;
}

unsigned opt_check_keys(const struct ockam_opt *o, const char *const *allowed,
			const char *what, struct diag *d)
{
	unsigned bad = 0;

	if (!o || o->kind != OCKAM_OPT_MAP)
		return 0;
	for (size_t i = 0; i < o->count; i++) {
		const char *k = o->keys[i]->str;
		size_t j;
		char q[OPT_QUOTE_MAX];

		for (j = 0; allowed[j]; j++)
			if (!strcmp(allowed[j], k))
				break;
		if (allowed[j])
			continue;
		bad++;
		const char *hint = opt_suggest(k, allowed);
		if (hint) {
			opt_error_at(d, o->keys[i],
				   "unknown key %s in %s (did you mean '%s'?)",
				   opt_quote(k, q, sizeof(q)), what, hint);
			continue;
		}
		char list[512];
		size_t n = 0;
		list[0] = '\0';
		for (j = 0; allowed[j] && n < sizeof(list); j++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
					      j ? ", " : "", allowed[j]);
		if (allowed[0])
			opt_error_at(d, o->keys[i],
				   "unknown key %s in %s (known keys: %s)",
				   opt_quote(k, q, sizeof(q)), what, list);
		else
			opt_error_at(d, o->keys[i], "unknown key %s in %s",
				   opt_quote(k, q, sizeof(q)), what);
	}
	return bad;
}

/* ---- typed readers ------------------------------------------------ */

/* "timeout: " for map values, "" otherwise. */
static const char *prefix(const struct ockam_opt *o, char *buf, size_t len)
{
	if (!o->key) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf, len, "%.60s: ", o->key);
	return buf;
}

const char *opt_got(const struct ockam_opt *o, char *buf, size_t len)
{
	if (o->kind != OCKAM_OPT_SCALAR)
		return opt_kind_name(o->kind);
	if (o->is_null)
		return "nothing";
	return opt_quote(o->str, buf, len);
}

static void reader_error(const struct ockam_opt *o, struct diag *d,
			 const char *expected)
{
	char pre[80], q[OPT_QUOTE_MAX];

	opt_error_at(d, o, "%sexpected %s, got %s", prefix(o, pre, sizeof(pre)),
		   expected, opt_got(o, q, sizeof(q)));
}

int opt_to_bool(const struct ockam_opt *o, struct diag *d, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	if (o->kind == OCKAM_OPT_SCALAR && !o->is_null) {
		for (size_t i = 0; i < 3; i++) {
			if (!strcasecmp(o->str, yes[i])) {
				*out = 1;
				return 0;
			}
			if (!strcasecmp(o->str, no[i])) {
				*out = 0;
				return 0;
			}
		}
	}
	reader_error(o, d, "true or false");
	return -1;
}

/* Leading decimal digits of s into *v; returns the count, or -1 on
 * overflow.  Nothing else is accepted (no sign, no spaces). */
static int parse_digits(const char *s, uint64_t *v, const char **end)
{
	int n = 0;
	uint64_t x = 0;

	*v = 0;
	*end = s;
	while (s[n] >= '0' && s[n] <= '9') {
		unsigned dgt = (unsigned)(s[n] - '0');
		if (x > (UINT64_MAX - dgt) / 10)
			return -1;
		x = x * 10 + dgt;
		n++;
	}
	*v = x;
	*end = s + n;
	return n;
}

int opt_to_u64(const struct ockam_opt *o, struct diag *d, uint64_t min,
	       uint64_t max, uint64_t *out)
{
	char pre[80], expected[96];
	uint64_t v;
	const char *end;

	if (max == UINT64_MAX)
		snprintf(expected, sizeof(expected),
			 "a whole number of at least %llu",
			 (unsigned long long)min);
	else
		snprintf(expected, sizeof(expected),
			 "a whole number from %llu to %llu",
			 (unsigned long long)min, (unsigned long long)max);
	if (o->kind != OCKAM_OPT_SCALAR || o->is_null) {
		reader_error(o, d, expected);
		return -1;
	}
	int n = parse_digits(o->str, &v, &end);
	if (n == 0 || *end) {
		reader_error(o, d, expected);
		return -1;
	}
	if (n < 0 || v < min || v > max) {
		opt_error_at(d, o, "%s%s is out of range (%s)",
			   prefix(o, pre, sizeof(pre)), o->str, expected);
		return -1;
	}
	*out = v;
	return 0;
}

struct unit {
	const char *name;
	uint64_t mul;
};

/* Number with an optional unit from `units` (the "" entry, if any, gives
 * the plain-number multiplier).  0, -1 malformed, -2 overflow. */
static int parse_with_unit(const char *s, const struct unit *units,
			   uint64_t *out)
{
	uint64_t v;
	const char *end;
	int n = parse_digits(s, &v, &end);

	if (n == 0)
		return -1;
	if (n < 0)
		return -2;
	for (size_t i = 0; units[i].name; i++) {
		if (strcmp(end, units[i].name))
			continue;
		if (units[i].mul && v > UINT64_MAX / units[i].mul)
			return -2;
		*out = v * units[i].mul;
		return 0;
	}
	return -1;
}

int opt_to_duration_ms(const struct ockam_opt *o, struct diag *d,
		       uint64_t *out)
{
	static const struct unit units[] = {
		{ "ms", 1 },	  { "s", 1000 },       { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 }, { NULL, 0 },
	};
	const char *expected = "a duration like 10s or 250ms";
	char pre[80];
	uint64_t v;
	const char *end;
	int rc;

	/* A bare number was milliseconds once, while ping -W 10 means
	 * seconds: neither is guessed.  Only 0 needs no unit. */
	if (o->kind == OCKAM_OPT_SCALAR && !o->is_null &&
	    parse_digits(o->str, &v, &end) > 0 && !*end) {
		if (v == 0) {
			*out = 0;
			return 0;
		}
		if (v < 1000)
			opt_error_at(d, o, "%s%s has no unit (did you mean %ss?)",
				   prefix(o, pre, sizeof(pre)), o->str, o->str);
		else
			opt_error_at(d, o,
				   "%s%s has no unit (did you mean %sms or %ss?)",
				   prefix(o, pre, sizeof(pre)), o->str, o->str,
				   o->str);
		return -1;
	}
	if (o->kind != OCKAM_OPT_SCALAR || o->is_null ||
	    (rc = parse_with_unit(o->str, units, out)) == -1) {
		reader_error(o, d, expected);
		return -1;
	}
	if (rc == -2) {
		opt_error_at(d, o, "%s%s is too long", prefix(o, pre, sizeof(pre)),
			   o->str);
		return -1;
	}
	return 0;
}

int opt_to_size(const struct ockam_opt *o, struct diag *d, uint64_t max,
		uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "KiB", 1024 },
		{ "MiB", 1024 * 1024 },
		{ "GiB", 1024 * 1024 * 1024 },
		{ "KB", 1000 },
		{ "MB", 1000 * 1000 },
		{ "GB", 1000 * 1000 * 1000 },
		{ NULL, 0 },
	};
	const char *expected = "a size like 512, 64KiB or 1MiB";
	char pre[80];
	uint64_t v = 0;
	int rc;

	if (o->kind != OCKAM_OPT_SCALAR || o->is_null ||
	    (rc = parse_with_unit(o->str, units, &v)) == -1) {
		reader_error(o, d, expected);
		return -1;
	}
	if (rc == -2 || v > max) {
		opt_error_at(d, o, "%s%s is too large (at most %llu bytes)",
			   prefix(o, pre, sizeof(pre)), o->str,
			   (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}
