/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Declared options (option_check.h): each instance's `options:` against
 * its plugin's table, then the addresses in them once transports have
 * registered their schemes.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "opt.h"
#include "option_check.h"
#include "option_format.h"
#include "route_text.h"
#include "router.h"
#include "status.h"

#define QUOTE_MAX 128
#define ENUM_WORDS_MAX 16

static uint64_t max_of(const struct ockam_option *op)
{
	return op->max ? op->max : UINT64_MAX;
}

/* A ROUTE or ADDRS value: a list of non-empty scalars. */
static int check_addr_list(const struct ockam_opt *v, const char *key,
			   const char *what_items, size_t max, struct diag *d)
{
	char q[QUOTE_MAX];
	int bad = 0;

	if (v->kind != OCKAM_OPT_LIST) {
		opt_error_at(d, v, "%s: expected a list of %s, got %s", key,
		       what_items, opt_got(v, q, sizeof(q)));
		return -1;
	}
	if (max && v->count > max) {
		opt_error_at(d, v, "%s: %zu addresses; at most %zu are allowed", key,
		       v->count, max);
		bad = 1;
	}
	for (size_t i = 0; i < v->count; i++) {
		const struct ockam_opt *e = v->items[i];
		if (e->kind == OCKAM_OPT_SCALAR && !e->is_null && e->str[0])
			continue;
		opt_error_at(d, e, "%s: item %zu must be an address like 'echoer' or 'tcp:host:port', not %s",
		       key, i + 1,
		       e->kind == OCKAM_OPT_SCALAR ? "empty" :
						     opt_kind_name(e->kind));
		bad = 1;
	}
	return bad ? -1 : 0;
}

static int check_route_value(const struct config *c, const struct ockam_opt *v,
			     const char *key, struct diag *d)
{
	char q[QUOTE_MAX];

	if (v->kind == OCKAM_OPT_SCALAR && !v->is_null) {
		if (config_route_find(c, v->str))
			return 0;
		const char *hint = NULL;
		const char **names = c ? calloc(c->n_routes + 1, sizeof(*names))
				       : NULL;
		if (names) {
			for (size_t i = 0; i < c->n_routes; i++)
				names[i] = c->routes[i].name;
			hint = opt_suggest(v->str, names);
		}
		if (hint)
			opt_error_at(d, v, "%s: unknown route %s (did you mean '%s'?)",
			       key, opt_quote(v->str, q, sizeof(q)), hint);
		else
			opt_error_at(d, v, "%s: unknown route %s: declare it under routes: or write the route as a list",
			       key, opt_quote(v->str, q, sizeof(q)));
		free(names);
		return -1;
	}
	if (v->kind == OCKAM_OPT_LIST && v->count == 0) {
		opt_error_at(d, v, "%s: the route is empty; give at least one address",
		       key);
		return -1;
	}
	return check_addr_list(v, key, "addresses or the name of a route",
			       OCKAM_ROUTE_MAX, d);
}

/* Check value `v` of declared option `op`.  0 or -1 (reported). */
static int check_value(const struct config *c, const struct ockam_option *op,
		       const struct ockam_opt *v, struct diag *d)
{
	const char *key = op->name;
	char q[QUOTE_MAX], a[32], b[32];
	const char *kind;
	uint64_t x;

	switch (op->type) {
	case OCKAM_OPTION_STRING:
	case OCKAM_OPTION_PATH:
		if (v->kind != OCKAM_OPT_SCALAR || v->is_null) {
			opt_error_at(d, v, "%s: expected %s, got %s", key,
			       op->type == OCKAM_OPTION_PATH ? "a file path" :
							       "a string",
			       opt_got(v, q, sizeof(q)));
			return -1;
		}
		if ((kind = opt_plain_type(v)) != NULL) {
			opt_error_at(d, v, "%s: %s is %s, not a string (quote it: \"%s\")",
			       key, v->str, kind, v->str);
			return -1;
		}
		if (op->type == OCKAM_OPTION_PATH && !v->str[0]) {
			opt_error_at(d, v, "%s: expected a file path, got ''", key);
			return -1;
		}
		return 0;
	case OCKAM_OPTION_ENUM: {
		const char *list = op->choices ? op->choices : "";
		char words[ENUM_WORDS_MAX][64];
		const char *names[ENUM_WORDS_MAX + 1];
		size_t n = 0;
		for (const char *s = list; *s && n < ENUM_WORDS_MAX;) {
			size_t l = strcspn(s, "|");
			snprintf(words[n], sizeof(words[n]), "%.*s", (int)l, s);
			names[n] = words[n];
			n++;
			s += l + (s[l] == '|');
		}
		names[n] = NULL;
		if (v->kind == OCKAM_OPT_SCALAR && !v->is_null)
			for (size_t i = 0; i < n; i++)
				if (!strcmp(v->str, names[i]))
					return 0;
		char shown[256];
		size_t used = 0;
		shown[0] = '\0';
		for (size_t i = 0; i < n && used < sizeof(shown); i++)
			used += (size_t)snprintf(shown + used,
						 sizeof(shown) - used, "%s%s",
						 i ? (i + 1 < n ? ", " : " or ") :
						     "",
						 names[i]);
		const char *hint = v->kind == OCKAM_OPT_SCALAR && !v->is_null ?
					   opt_suggest(v->str, names) : NULL;
		if (hint)
			opt_error_at(d, v, "%s: expected %s, got %s (did you mean '%s'?)",
			       key, shown, opt_got(v, q, sizeof(q)), hint);
		else
			opt_error_at(d, v, "%s: expected %s, got %s", key, shown,
			       opt_got(v, q, sizeof(q)));
		return -1;
	}
	case OCKAM_OPTION_BOOL: {
		int on;
		if (v->kind == OCKAM_OPT_SCALAR && !v->is_null && !v->plain) {
			opt_error_at(d, v, "%s: \"%s\" is quoted, so a string, not true or false (write it without quotes)",
			       key, v->str);
			return -1;
		}
		return opt_to_bool(v, d, &on);
	}
	case OCKAM_OPTION_INT:
		if (v->kind == OCKAM_OPT_SCALAR && !v->is_null && !v->plain) {
			opt_error_at(d, v, "%s: \"%s\" is quoted, so a string, not a number (write it without quotes)",
			       key, v->str);
			return -1;
		}
		return opt_to_u64(v, d, op->min, max_of(op), &x);
	case OCKAM_OPTION_DURATION:
		if (opt_to_duration_ms(v, d, &x))
			return -1;
		if (x < op->min || x > max_of(op)) {
			option_format_duration(op->min, a, sizeof(a));
			option_format_duration(op->max, b, sizeof(b));
			if (op->max)
				opt_error_at(d, v, "%s: %s is out of range (%s to %s)",
				       key, v->str, a, b);
			else
				opt_error_at(d, v, "%s: %s is out of range (at least %s)",
				       key, v->str, a);
			return -1;
		}
		return 0;
	case OCKAM_OPTION_SIZE:
		if (opt_to_size(v, d, max_of(op), &x))
			return -1;
		if (x < op->min) {
			option_format_size(op->min, a, sizeof(a));
			opt_error_at(d, v, "%s: %s is too small (at least %s)", key,
			       v->str, a);
			return -1;
		}
		return 0;
	case OCKAM_OPTION_ROUTE:
		return check_route_value(c, v, key, d);
	case OCKAM_OPTION_STRINGS:
		if (v->kind == OCKAM_OPT_SCALAR && !v->is_null)
			return 0; /* one string: made a list of one */
		if (v->kind != OCKAM_OPT_LIST) {
			opt_error_at(d, v, "%s: expected a list of strings, got %s",
			       key, opt_got(v, q, sizeof(q)));
			return -1;
		}
		for (size_t i = 0; i < v->count; i++) {
			const struct ockam_opt *e = v->items[i];
			if (e->kind == OCKAM_OPT_SCALAR && !e->is_null)
				continue;
			opt_error_at(d, e, "%s: item %zu must be a string, not %s", key,
			       i + 1, opt_got(e, q, sizeof(q)));
			return -1;
		}
		return 0;
	case OCKAM_OPTION_ADDRS:
		if (v->kind == OCKAM_OPT_SCALAR && !v->is_null && v->str[0])
			return 0; /* one address: made a list of one */
		return check_addr_list(v, key, "address patterns", 0, d);
	case OCKAM_OPTION_ANY:
		return 0;
	}
	opt_error_at(d, v, "%s: the plugin declares an unknown type (%d)", key,
	       (int)op->type);
	return -1;
}

static int known_type(enum ockam_option_type t)
{
	return t >= OCKAM_OPTION_STRING && t <= OCKAM_OPTION_ANY;
}

/* The conditions of op->only_if, "k=v[,k=v]", at most this many. */
#define ONLY_IF_MAX 4

struct cond {
	char key[65], value[64];
};

/* Split `only_if` into conds; returns how many, or -1 if malformed. */
static int only_if_parse(const char *only_if, struct cond *c)
{
	int n = 0;
	const char *p = only_if;

	while (*p) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if (n == ONLY_IF_MAX || !eq || eq > end || eq == p ||
		    eq + 1 == end || (size_t)(eq - p) >= sizeof(c[n].key) ||
		    (size_t)(end - eq - 1) >= sizeof(c[n].value))
			return -1;
		memcpy(c[n].key, p, (size_t)(eq - p));
		c[n].key[eq - p] = '\0';
		memcpy(c[n].value, eq + 1, (size_t)(end - eq - 1));
		c[n].value[end - eq - 1] = '\0';
		n++;
		p = *end ? end + 1 : end;
	}
	return n;
}

/* only_if names options declared before table[i] (they are checked
 * first, so their values are known when table[i] is). */
static int only_if_check(const struct ockam_option *table, size_t i,
			 char *err, size_t err_len)
{
	struct cond c[ONLY_IF_MAX];
	int n = only_if_parse(table[i].only_if, c);

	if (n <= 0) {
		snprintf(err, err_len,
			 "option '%s' has a malformed only_if (key=value[,key=value], at most %d)",
			 table[i].name, ONLY_IF_MAX);
		return -1;
	}
	for (int k = 0; k < n; k++) {
		size_t j;
		for (j = 0; j < i && strcmp(table[j].name, c[k].key); j++)
			;
		if (j == i) {
			snprintf(err, err_len,
				 "option '%s' depends on '%s', which is not declared before it",
				 table[i].name, c[k].key);
			return -1;
		}
	}
	return 0;
}

/* Whether op's only_if holds for `opts`: 1 yes (or no only_if), 0 no
 * (*failed is the condition that does not), -1 unknown (a key it names
 * is absent or was refused). */
static int only_if_holds(const struct ockam_option *op,
			 const struct ockam_opt *opts, const char *const *bad,
			 size_t n_bad, struct cond *failed)
{
	struct cond c[ONLY_IF_MAX];
	int n, unknown = 0;

	if (!op->only_if)
		return 1;
	n = only_if_parse(op->only_if, c);
	for (int k = 0; k < n; k++) {
		const struct ockam_opt *v = opt_get(opts, c[k].key);
		size_t b;
		for (b = 0; b < n_bad && strcmp(bad[b], c[k].key); b++)
			;
		if (!v || !v->str || b < n_bad) {
			unknown = 1;
			continue;
		}
		if (strcmp(v->str, c[k].value)) {
			*failed = c[k];
			return 0;
		}
	}
	return unknown ? -1 : 1;
}

static size_t table_len(const struct ockam_option *table)
{
	size_t n = 0;
	while (table && table[n].name)
		n++;
	return n;
}

int option_table_check(const struct ockam_option *table, char *err,
		       size_t err_len)
{
	struct diag d;
	size_t n = table_len(table);

	if (n > 256) {
		snprintf(err, err_len, "declares more than 256 options");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ockam_option *op = &table[i];
		if (!op->name[0] || strlen(op->name) > 64) {
			snprintf(err, err_len, "option %zu has no valid name", i + 1);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(table[j].name, op->name)) {
				snprintf(err, err_len, "declares option '%s' twice",
					 op->name);
				return -1;
			}
		if (!known_type(op->type)) {
			snprintf(err, err_len, "option '%s' has an unknown type (%d)",
				 op->name, (int)op->type);
			return -1;
		}
		if ((op->flags & OCKAM_OPTION_REQUIRED) && op->def) {
			snprintf(err, err_len,
				 "option '%s' is required and has a default",
				 op->name);
			return -1;
		}
		if (op->type == OCKAM_OPTION_ENUM &&
		    (!op->choices || !op->choices[0])) {
			snprintf(err, err_len, "option '%s' is an enum without choices",
				 op->name);
			return -1;
		}
		if (op->type == OCKAM_OPTION_ENUM) {
			/* check_value keeps 16 words of up to 63 bytes. */
			size_t words = 1;
			for (const char *c = op->choices; *c; c++)
				words += *c == '|';
			if (words > ENUM_WORDS_MAX ||
			    strlen(op->choices) > ENUM_WORDS_MAX * 63) {
				snprintf(err, err_len,
					 "option '%s' has more than %d choices",
					 op->name, ENUM_WORDS_MAX);
				return -1;
			}
		}
		if (op->only_if && only_if_check(table, i, err, err_len) < 0)
			return -1;
		if (op->max && op->min > op->max) {
			snprintf(err, err_len, "option '%s' has min above max",
				 op->name);
			return -1;
		}
		if (!op->def)
			continue;
		static const struct ockam_opt at = { .file = "default",
						     .line = 1, .col = 1 };
		struct ockam_opt *v = opt_parse_value(op->def, &at);
		if (!v) {
			snprintf(err, err_len,
				 "the default of option '%s' is not valid YAML",
				 op->name);
			return -1;
		}
		v->key = op->name;
		diag_init(&d, NULL);
		int bad = op->type == OCKAM_OPTION_ROUTE && v->kind != OCKAM_OPT_LIST ?
				  -1 : check_value(NULL, op, v, &d);
		if (bad)
			snprintf(err, err_len, "the default of option '%s' is invalid: %s",
				 op->name,
				 d.text && d.text[0] ? d.text : "a route default must be a list");
		/* One line is enough. */
		char *nl = strchr(err, '\n');
		if (nl)
			*nl = '\0';
		diag_free(&d);
		opt_node_free(v);
		if (bad)
			return -1;
	}
	return 0;
}

static const char *table_default(const struct ockam_option *t,
				 const char *name)
{
	for (; t && t->name; t++)
		if (!strcmp(t->name, name))
			return t->def;
	return NULL;
}

/* A key of map `m` that is a misspelling of `want` (already reported by
 * opt_check_keys with a did-you-mean): "missing 'want'" would be noise. */
static int misspelled(const struct ockam_opt *m, const char *const *names,
		      const char *want)
{
	for (size_t i = 0; m && i < m->count; i++) {
		const char *k = m->keys[i]->str, *hint;
		size_t j;
		for (j = 0; names[j] && strcmp(names[j], k); j++)
			;
		hint = names[j] ? NULL : opt_suggest(k, names);
		if (hint && !strcmp(hint, want))
			return 1;
	}
	return 0;
}

unsigned option_check_instance(struct config *c, struct config_instance *ci,
			       const struct ockam_option *table,
			       struct diag *d, int *may_check)
{
	unsigned before = d->errors;
	const char *bad[257];
	*may_check = 1;
	size_t n_bad = 0;
	size_t n = table_len(table);
	char what[QUOTE_MAX + 64], q[QUOTE_MAX];
	const char *names[257];
	struct ockam_opt *opts = (struct ockam_opt *)ci->options;

	snprintf(what, sizeof(what), "the options of %s",
		 opt_quote(ci->name, q, sizeof(q)));
	for (size_t i = 0; i < n && i < 256; i++)
		names[i] = table[i].name;
	names[n < 256 ? n : 256] = NULL;

	if (opts)
		opt_check_keys(opts, names, what, d);
	for (size_t i = 0; i < n; i++) {
		const struct ockam_option *op = &table[i];
		struct ockam_opt *v = (struct ockam_opt *)opt_get(opts, op->name);
		struct cond failed;
		int applies = only_if_holds(op, opts, bad, n_bad, &failed);

		if (v && applies == 0) {
			/* Written where it does not apply: say so, and take
			 * it out so the plugin never reads it. */
			opt_error_at(d, v, "%s is only for %s: %s", op->name, failed.key,
			       failed.value);
			bad[n_bad++] = op->name;
			opt_map_remove(opts, op->name);
			continue;
		}
		if (v && check_value(c, op, v, d) < 0) {
			bad[n_bad++] = op->name;
			if (op->flags & OCKAM_OPTION_REQUIRED)
				*may_check = 0; /* the plugin counts on it */
			if (!op->def)
				continue;
			/* Its default stands in (below), so the check op
			 * still finds every key that has one. */
			opt_map_remove(opts, op->name);
			v = NULL;
		} else if (v) {
			/* A ${VAR} that gave "42" to a string is a string:
			 * --check must print it quoted. */
			if (op->type == OCKAM_OPTION_STRING ||
			    op->type == OCKAM_OPTION_PATH)
				v->plain = 0;
			/* --check prints it absolute (relative to the YAML
			 * file), the plugin reads it as written. */
			v->is_path = op->type == OCKAM_OPTION_PATH;
			if ((op->type == OCKAM_OPTION_STRINGS ||
			     op->type == OCKAM_OPTION_ADDRS) &&
			    opt_scalar_to_list(v) < 0)
				opt_error_at(d, v, "out of memory");
			continue;
		} else if (applies != 1) {
			/* Absent where it does not apply (or may not):
			 * neither required nor defaulted. */
			continue;
		} else if (op->flags & OCKAM_OPTION_REQUIRED) {
			*may_check = 0;
			if (!misspelled(opts, names, op->name))
				opt_error_at(d, opts ? opts : ci->node,
				       "missing key '%s' in %s%s%s%s", op->name,
				       what, op->help ? " (" : "",
				       op->help ? op->help : "",
				       op->help ? ")" : "");
			continue;
		}
		if (!op->def)
			continue;
		/* Defaults go into the tree, so create reads them like any
		 * value and --check prints them. */
		if (!opts && !(opts = config_instance_options(c, ci))) {
			opt_error_at(d, ci->node, "out of memory");
			break;
		}
		struct ockam_opt *dv = opt_parse_value(op->def, opts);
		if (!dv || opt_map_append(opts, op->name, dv, opts) < 0) {
			opt_error_at(d, ci->node, "out of memory");
			break;
		}
		dv->is_path = op->type == OCKAM_OPTION_PATH;
	}
	/* A value refused above is taken out (replaced by its default if
	 * it has one), so the plugin's check can still run on the rest (its
	 * errors in this same run) and never reads a malformed value. */
	for (size_t i = 0; i < n_bad; i++)
		if (!table_default(table, bad[i]))
			opt_map_remove(opts, bad[i]);
	return d->errors - before;
}

/* ---- phase 2: addresses ---------------------------------------------- */

const char *option_port_error(const char *value, char *buf, size_t len)
{
	const char *colon = strrchr(value, ':');
	char q[QUOTE_MAX];

	if (!colon || !colon[1]) {
		snprintf(buf, len, "no port; write host:port");
		return buf;
	}
	if (colon == value) {
		snprintf(buf, len, "no host; write host:port");
		return buf;
	}
	const char *p = colon + 1;
	size_t digits = strspn(p, "0123456789");
	if (!digits || p[digits]) {
		snprintf(buf, len, "port %s is not a number (1 to 65535)",
			 opt_quote(p, q, sizeof(q)));
		return buf;
	}
	if (digits > 5 || strtoul(p, NULL, 10) == 0 ||
	    strtoul(p, NULL, 10) > 65535) {
		snprintf(buf, len, "port %s is out of range (1 to 65535)", p);
		return buf;
	}
	return NULL;
}

/* The worker addresses as written (also those whose entry had another
 * mistake: "no worker" would be noise about them), NULL-terminated. */
static const char **worker_names(const struct config *c)
{
	const struct ockam_opt *m = opt_get(c->root, "workers");
	size_t n = m && m->kind == OCKAM_OPT_MAP ? m->count : 0;
	const char **names = calloc(n + 1, sizeof(*names));

	for (size_t i = 0; names && i < n; i++)
		names[i] = m->keys[i]->str;
	return names;
}

unsigned option_check_route(struct node *n, const struct ockam_opt *route)
{
	unsigned before = n->diag.errors;
	struct diag *d = &n->diag;
	const struct ockam_opt *list = route, *at;
	struct ockam_addr hops[OCKAM_ROUTE_MAX];
	struct ockam_route r;

	if (!route)
		return 0;
	if (route->kind == OCKAM_OPT_SCALAR) {
		/* A name: its hops were checked where it is declared. */
		const struct config_route *cr =
			config_route_find(n->cfg, route->str);
		if (!cr)
			return 0; /* reported by phase 1 */
		list = cr->route;
	} else if (node_route_resolve(n, route, hops, &r) < 0) {
		return n->diag.errors - before;
	}
	if (list->kind != OCKAM_OPT_LIST || !list->count)
		return n->diag.errors - before;
	at = list->items[0];
	/* Only the first hop is this node's: later local names are
	 * addresses on the node the route has reached. */
	if (at->kind != OCKAM_OPT_SCALAR || at->is_null ||
	    strpbrk(at->str, ":#") ||
	    router_address_exists(n->router, at->str, strlen(at->str)) ||
	    (status_enabled(n->status) && !strcmp(at->str, STATUS_ADDRESS)))
		return n->diag.errors - before;
	const char **names = worker_names(n->cfg);
	const char *hint = NULL;
	size_t k;
	for (k = 0; names && names[k] && strcmp(names[k], at->str); k++)
		;
	if (!names || names[k]) {
		free(names);
		return n->diag.errors - before;
	}
	hint = diag_room(d) ? opt_suggest(at->str, names) : NULL;
	free(names);
	/* The words of app.c's check of messages: routes. */
	if (hint)
		opt_error_at(d, at, "the route starts at '%s', which is no worker of this node (did you mean '%s'?)",
		       at->str, hint);
	else
		opt_error_at(d, at, "the route starts at '%s', which is no worker of this node: declare it under workers: or start the route with a transport address",
		       at->str);
	return n->diag.errors - before;
}

unsigned option_check_refs(struct node *n, const struct ockam_ctx *ctx)
{
	const struct ockam_option *table = ctx->lib->desc->options;
	const struct ockam_opt *opts = ctx->cfg->options;
	unsigned before = n->diag.errors;
	char q[QUOTE_MAX];

	for (size_t i = 0; table && table[i].name; i++) {
		const struct ockam_opt *v = opt_get(opts, table[i].name);
		if (!v)
			continue;
		if (table[i].type == OCKAM_OPTION_ROUTE) {
			option_check_route(n, v);
			continue;
		}
		if (table[i].type != OCKAM_OPTION_ADDRS ||
		    v->kind != OCKAM_OPT_LIST)
			continue;
		for (size_t k = 0; k < v->count; k++) {
			const struct ockam_opt *e = v->items[k];
			struct ockam_addr a;
			char err[512];
			const char *why;
			if (e->kind != OCKAM_OPT_SCALAR || e->is_null)
				continue;
			if (addr_text_parse(n->router, e->str, &a, err,
					    sizeof(err)) < 0)
				opt_error_at(&n->diag, e, "%s", err);
			else if ((why = ockam_addr_pattern_error(&a)) != NULL)
				opt_error_at(&n->diag, e,
				       "%s in '%s': %s (e.g. tcp:127.0.0.1:4000, tcp:127.0.0.1:*, tcp:*:4000)",
				       opt_quote(e->str, q, sizeof(q)),
				       table[i].name, why);
		}
	}
	return n->diag.errors - before;
}
