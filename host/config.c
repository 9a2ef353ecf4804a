/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node description (config.h): walks the YAML tree with key tables and
 * checks everything that does not need plugins.  Every walker keeps going
 * after a problem so that one run reports all of them; config_load then
 * fails if any was reported.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "router.h"

#define QUOTE_MAX 128

static const char *const top_keys[] = {
	"trace",
	"node",	  "log_level", "plugin_dir",     "transports", "workers",
	"routes", "messages",  "after_messages", "status",  "remote_reload",
	NULL,
};
static const char *const worker_keys[] = { "type", "options", "access",
					   "reach", NULL };
static const char *const message_keys[] = { "route", "payload", "reply",
					    "timeout", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug",
					  "trace", NULL };
static const char *const after_values[] = { "exit", "run", NULL };

/* [A-Za-z0-9_.-]{1,64}: node names, worker addresses, plugin types; the
 * same rule the router applies to addresses. */
static int name_valid(const char *s)
{
	return router_name_valid(s, strlen(s));
}

/* A non-empty scalar that is a valid name, else reported in the same
 * "<what> must be X, not Y" shape as opt_expect. */
static int check_name(const struct ockam_opt *o, const char *what,
		      struct diag *d)
{
	char q[QUOTE_MAX];

	if (opt_expect(o, OCKAM_OPT_SCALAR, what, d))
		return -1;
	if (name_valid(o->str))
		return 0;
	opt_error_at(d, o, "%s must be 1 to 64 letters, digits, '_', '.' or '-', not %s",
	       what, opt_quote(o->str, q, sizeof(q)));
	return -1;
}

/* Scalar `o` must be one of `values`. */
static int check_choice(const struct ockam_opt *o, const char *const *values,
			const char *what, struct diag *d, size_t *index)
{
	char q[QUOTE_MAX], list[128];
	size_t n = 0;

	if (opt_expect(o, OCKAM_OPT_SCALAR, what, d))
		return -1;
	for (size_t i = 0; values[i]; i++)
		if (!strcmp(o->str, values[i])) {
			*index = i;
			return 0;
		}
	list[0] = '\0';
	for (size_t i = 0; values[i] && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
				      i ? (values[i + 1] ? ", " : " or ") : "",
				      values[i]);
	const char *hint = opt_suggest(o->str, values);
	if (hint)
		opt_error_at(d, o, "%s must be %s, not %s (did you mean '%s'?)", what,
		       list, opt_quote(o->str, q, sizeof(q)), hint);
	else
		opt_error_at(d, o, "%s must be %s, not %s", what, list,
		       opt_quote(o->str, q, sizeof(q)));
	return -1;
}

/* A key's value that may be absent or null (treated as empty) but must
 * otherwise be of `kind`.  Returns the node, or NULL. */
static const struct ockam_opt *get_optional(const struct ockam_opt *map,
					    const char *key,
					    enum ockam_opt_kind kind,
					    struct diag *d)
{
	const struct ockam_opt *o = opt_get(map, key);
	char what[80];

	if (!o || (o->kind == OCKAM_OPT_SCALAR && o->is_null))
		return NULL;
	snprintf(what, sizeof(what), "'%s'", key);
	if (opt_expect(o, kind, what, d))
		return NULL;
	return o;
}

static char *path_join(const char *dir, const char *rel)
{
	size_t dl = strlen(dir), rl = strlen(rel);
	char *s;

	if (rel[0] == '/' || !strcmp(dir, "."))
		return strdup(rel);
	s = malloc(dl + 1 + rl + 1);
	if (!s)
		return NULL;
	memcpy(s, dir, dl);
	s[dl] = '/';
	memcpy(s + dl + 1, rel, rl + 1);
	return s;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* True if some key of `map` is a misspelling of `want` (already reported
 * by opt_check_keys with a "did you mean"), so "missing key" is noise. */
static int misspelled(const struct ockam_opt *map, const char *const *allowed,
		      const char *want)
{
	for (size_t i = 0; i < map->count; i++) {
		const char *k = map->keys[i]->str;
		size_t j;
		for (j = 0; allowed[j] && strcmp(allowed[j], k); j++)
			;
		const char *hint = allowed[j] ? NULL : opt_suggest(k, allowed);
		if (hint && !strcmp(hint, want))
			return 1;
	}
	return 0;
}

/* ---- sections ------------------------------------------------------ */

static void walk_node(struct config *c, struct diag *d)
{
	const struct ockam_opt *o = opt_get(c->root, "node");

	if (!o) {
		if (!misspelled(c->root, top_keys, "node"))
			opt_error_at(d, c->root,
			       "missing key 'node' in the top-level map (the node's name)");
		return;
	}
	if (!check_name(o, "'node'", d))
		c->node_name = o->str;
}

static void walk_log_level(struct config *c, struct diag *d)
{
	const struct ockam_opt *o = opt_get(c->root, "log_level");
	size_t i;

	if (o && !check_choice(o, log_levels, "'log_level'", d, &i))
		c->log_level = (int)i; /* same order as enum ockam_log_level */
}

static void walk_plugin_dir(struct config *c, struct diag *d)
{
	const struct ockam_opt *o = opt_get(c->root, "plugin_dir");
	const struct ockam_opt *const *items;
	size_t n;

	if (!o)
		return;
	if (o->kind == OCKAM_OPT_SCALAR) {
		items = &o;
		n = 1;
	} else if (o->kind == OCKAM_OPT_LIST) {
		items = (const struct ockam_opt *const *)o->items;
		n = o->count;
	} else {
		opt_error_at(d, o, "'plugin_dir' must be a path or a list of paths, not %s",
		       opt_kind_name(o->kind));
		return;
	}
	c->plugin_dirs = calloc(n ? n : 1, sizeof(*c->plugin_dirs));
	c->plugin_dir_nodes = calloc(n ? n : 1, sizeof(*c->plugin_dir_nodes));
	if (!c->plugin_dirs || !c->plugin_dir_nodes) {
		opt_error_at(d, o, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ockam_opt *it = items[i];
		if (it->kind != OCKAM_OPT_SCALAR || it->is_null ||
		    !it->str[0]) {
			opt_error_at(d, it, "'plugin_dir' entries must be paths, not %s",
			       it->kind == OCKAM_OPT_SCALAR ?
				       "empty" : opt_kind_name(it->kind));
			continue;
		}
		char *p = path_join(c->dir, it->str);
		if (!p) {
			opt_error_at(d, it, "out of memory");
			return;
		}
		c->plugin_dir_nodes[c->n_plugin_dirs] = it;
		c->plugin_dirs[c->n_plugin_dirs++] = p;
	}
}

static void walk_transports(struct config *c, struct diag *d)
{
	const struct ockam_opt *m =
		get_optional(c->root, "transports", OCKAM_OPT_MAP, d);
	char what[QUOTE_MAX + 32], q[QUOTE_MAX];

	if (!m || !m->count)
		return;
	c->transports = calloc(m->count, sizeof(*c->transports));
	if (!c->transports) {
		opt_error_at(d, m, "out of memory");
		return;
	}
	for (size_t i = 0; i < m->count; i++) {
		const struct ockam_opt *k = m->keys[i], *v = m->items[i];
		if (check_name(k, "transport type", d))
			continue;
		if (v->kind == OCKAM_OPT_SCALAR && v->is_null) {
			v = NULL;
		} else {
			snprintf(what, sizeof(what), "options of transport %s",
				 opt_quote(k->str, q, sizeof(q)));
			if (opt_expect(v, OCKAM_OPT_MAP, what, d))
				continue;
		}
		struct config_instance *t = &c->transports[c->n_transports++];
		t->name = k->str;
		t->type = k->str;
		t->node = k;
		t->type_node = k;
		t->options = v;
	}
}

/* A list of non-empty scalars into a malloc'd array of their strings. */
static int scalar_list(const struct ockam_opt *l, const char *what,
		       struct diag *d, const char ***out, size_t *n)
{
	if (opt_expect(l, OCKAM_OPT_LIST, what, d))
		return -1;
	if (l->count == 0) {
		opt_error_at(d, l, "%s must not be empty", what);
		return -1;
	}
	const char **v = calloc(l->count, sizeof(*v));
	if (!v) {
		opt_error_at(d, l, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < l->count; i++) {
		const struct ockam_opt *e = l->items[i];
		if (e->kind != OCKAM_OPT_SCALAR || e->is_null || !e->str[0]) {
			opt_error_at(d, e, "each entry of %s must be a non-empty name",
			       what);
			free(v);
			return -1;
		}
		v[i] = e->str;
	}
	*out = v;
	*n = l->count;
	return 0;
}

/* An identifier in an access list that is not in the form secure channels
 * mark messages with (ockam_identifier_valid) could never match, so it is a
 * mistake in the file. */
_Static_assert(OCKAM_IDENTIFIER_LEN < OCKAM_IDENTIFIER_MAX, "an identifier fits the mark");

/* access: anyone | secure_channel | [identifier, ...] */
static int walk_access(struct config_instance *w, const struct ockam_opt *a,
		       const char *what, struct diag *d)
{
	char tw[QUOTE_MAX + 64], q[QUOTE_MAX];

	if (!a || (a->kind == OCKAM_OPT_SCALAR && a->is_null))
		return 0;
	snprintf(tw, sizeof(tw), "'access' of %s", what);
	if (a->kind == OCKAM_OPT_LIST) {
		w->access = CONFIG_ACCESS_IDENTIFIERS;
		int bad = 0;
		for (size_t i = 0; i < a->count; i++) {
			const struct ockam_opt *e = a->items[i];
			if (e->kind != OCKAM_OPT_SCALAR || !e->str ||
			    ockam_identifier_valid(e->str))
				continue;
			opt_error_at(d, e,
			       "identifier %s in %s is not an identifier: expected I and 32 lowercase hex digits",
			       opt_quote(e->str, q, sizeof(q)), tw);
			bad = 1;
		}
		if (bad)
			return -1;
		return scalar_list(a, tw, d, &w->access_ids, &w->n_access_ids);
	}
	if (a->kind == OCKAM_OPT_SCALAR && strcmp(a->str, "anyone") == 0)
		return 0;
	if (a->kind == OCKAM_OPT_SCALAR &&
	    strcmp(a->str, "secure_channel") == 0) {
		w->access = CONFIG_ACCESS_SECURE;
		return 0;
	}
	static const char *const values[] = {"anyone", "secure_channel", NULL};
	const char *hint = a->kind == OCKAM_OPT_SCALAR ? opt_suggest(a->str, values)
						       : NULL;
	opt_error_at(d, a,
	       "%s must be anyone, secure_channel or a list of identifiers%s%s%s",
	       tw, hint ? " (did you mean '" : "", hint ? hint : "",
	       hint ? "'?)" : "");
	return -1;
}

/* reach: [address, ...]: the local addresses this worker may send to, and
 * transport-address patterns ("tcp:127.0.0.1:*"), which the node checks
 * once the transports' schemes are known. */
static int walk_reach(struct config_instance *w, const struct ockam_opt *r,
		      const char *what, struct diag *d)
{
	char tw[QUOTE_MAX + 64];

	if (!r || (r->kind == OCKAM_OPT_SCALAR && r->is_null))
		return 0;
	snprintf(tw, sizeof(tw), "'reach' of %s", what);
	if (scalar_list(r, tw, d, &w->reach, &w->n_reach) < 0)
		return -1;
	w->reach_node = r;
	for (size_t i = 0; i < w->n_reach; i++)
		if (!strchr(w->reach[i], ':') && !name_valid(w->reach[i])) {
			check_name(r->items[i], "an address in 'reach'", d);
			free(w->reach);
			w->reach = NULL;
			w->n_reach = 0;
			return -1;
		}
	return 0;
}

static void walk_workers(struct config *c, struct diag *d)
{
	const struct ockam_opt *m =
		get_optional(c->root, "workers", OCKAM_OPT_MAP, d);
	char what[QUOTE_MAX + 32], tw[QUOTE_MAX + 64], q[QUOTE_MAX];

	if (!m || !m->count)
		return;
	c->workers = calloc(m->count, sizeof(*c->workers));
	if (!c->workers) {
		opt_error_at(d, m, "out of memory");
		return;
	}
	for (size_t i = 0; i < m->count; i++) {
		const struct ockam_opt *k = m->keys[i], *v = m->items[i];
		int ok = !check_name(k, "worker address", d);

		snprintf(what, sizeof(what), "worker %s",
			 opt_quote(k->str, q, sizeof(q)));
		if (opt_expect(v, OCKAM_OPT_MAP, what, d))
			continue;
		opt_check_keys(v, worker_keys, what, d);

		const struct ockam_opt *type = opt_get(v, "type");
		snprintf(tw, sizeof(tw), "'type' of %s", what);
		if (!type) {
			if (!misspelled(v, worker_keys, "type"))
				opt_error_at(d, k, "missing key 'type' in %s (the plugin to run)",
				       what);
			ok = 0;
		} else if (check_name(type, tw, d)) {
			ok = 0;
		}

		const struct ockam_opt *opts = opt_get(v, "options");
		if (opts && opts->kind == OCKAM_OPT_SCALAR && opts->is_null) {
			opts = NULL;
		} else if (opts) {
			snprintf(tw, sizeof(tw), "'options' of %s", what);
			if (opt_expect(opts, OCKAM_OPT_MAP, tw, d))
				ok = 0;
		}
		struct config_instance *w = &c->workers[c->n_workers];
		if (walk_access(w, opt_get(v, "access"), what, d) < 0 ||
		    walk_reach(w, opt_get(v, "reach"), what, d) < 0)
			ok = 0;
		if (!ok) {
			free(w->access_ids);
			free(w->reach);
			memset(w, 0, sizeof(*w));
			continue;
		}
		c->n_workers++;
		w->name = k->str;
		w->type = type->str;
		w->node = k;
		w->type_node = type;
		w->options = opts;
	}
}

/* A route: a non-empty list of non-empty scalars, at most OCKAM_ROUTE_MAX.
 * The addresses themselves are parsed by the node, which knows the
 * transports' schemes. */
static int check_route(const struct ockam_opt *r, const char *what,
		       struct diag *d)
{
	int bad = 0;

	if (r->kind != OCKAM_OPT_LIST) {
		opt_error_at(d, r, "%s must be a list of addresses, not %s", what,
		       r->kind == OCKAM_OPT_SCALAR && r->is_null ?
			       "empty" : opt_kind_name(r->kind));
		return -1;
	}
	if (r->count == 0) {
		opt_error_at(d, r, "%s is empty; give at least one address", what);
		return -1;
	}
	if (r->count > OCKAM_ROUTE_MAX) {
		opt_error_at(d, r, "%s has %zu addresses; at most %d are allowed",
		       what, r->count, OCKAM_ROUTE_MAX);
		bad = 1;
	}
	for (size_t i = 0; i < r->count; i++) {
		const struct ockam_opt *a = r->items[i];
		if (a->kind == OCKAM_OPT_SCALAR && !a->is_null && a->str[0])
			continue;
		opt_error_at(d, a, "address %zu of %s must be a name like 'echoer' or 'tcp:host:port', not %s",
		       i + 1, what,
		       a->kind == OCKAM_OPT_SCALAR ? "empty" :
						     opt_kind_name(a->kind));
		bad = 1;
	}
	return bad ? -1 : 0;
}

static void walk_routes(struct config *c, struct diag *d)
{
	const struct ockam_opt *m =
		get_optional(c->root, "routes", OCKAM_OPT_MAP, d);
	char what[QUOTE_MAX + 32], q[QUOTE_MAX];

	if (!m || !m->count)
		return;
	c->routes = calloc(m->count, sizeof(*c->routes));
	if (!c->routes) {
		opt_error_at(d, m, "out of memory");
		return;
	}
	for (size_t i = 0; i < m->count; i++) {
		const struct ockam_opt *k = m->keys[i], *v = m->items[i];
		int ok = !check_name(k, "route name", d);

		snprintf(what, sizeof(what), "route %s",
			 opt_quote(k->str, q, sizeof(q)));
		if (check_route(v, what, d) || !ok)
			continue;
		c->routes[c->n_routes].name = k->str;
		c->routes[c->n_routes].route = v;
		c->n_routes++;
	}
}

static void walk_message(struct config *c, const struct ockam_opt *m,
			 size_t index, struct diag *d)
{
	const struct ockam_opt *routes = opt_get(c->root, "routes");
	struct config_message *msg = &c->messages[c->n_messages];
	char what[48], rw[80];
	int ok = 1;

	snprintf(what, sizeof(what), "message %zu", index + 1);
	if (opt_expect(m, OCKAM_OPT_MAP, what, d))
		return;
	opt_check_keys(m, message_keys, what, d);
	msg->node = m;
	msg->want_reply = 1;
	msg->timeout_ms = 10000;

	const struct ockam_opt *r = opt_get(m, "route");
	snprintf(rw, sizeof(rw), "the route of %s", what);
	if (!r) {
		if (!misspelled(m, message_keys, "route"))
			opt_error_at(d, m, "missing key 'route' in %s (a list of addresses or a name under 'routes')",
			       what);
		ok = 0;
	} else if (r->kind == OCKAM_OPT_SCALAR && !r->is_null) {
		if (opt_get(routes, r->str)) {
			msg->route_name = r->str;
			msg->route_name_node = r;
		} else {
			char q[QUOTE_MAX];
			const char *hint = NULL;
			/* The search goes over every route: not for an
			 * error past the shown ones. */
			if (routes && routes->kind == OCKAM_OPT_MAP &&
			    diag_room(d)) {
				const char **names =
					calloc(routes->count + 1, sizeof(*names));
				if (names) {
					for (size_t i = 0; i < routes->count; i++)
						names[i] = routes->keys[i]->str;
					hint = opt_suggest(r->str, names);
					free(names);
				}
			}
			if (hint)
				opt_error_at(d, r, "unknown route %s (did you mean '%s'?)",
				       opt_quote(r->str, q, sizeof(q)), hint);
			else
				opt_error_at(d, r, "unknown route %s (not declared under 'routes')",
				       opt_quote(r->str, q, sizeof(q)));
			ok = 0;
		}
	} else if (!check_route(r, rw, d)) {
		msg->route = r;
	} else {
		ok = 0;
	}

	const struct ockam_opt *p = opt_get(m, "payload");
	if (!p) {
		if (!misspelled(m, message_keys, "payload"))
			opt_error_at(d, m, "missing key 'payload' in %s", what);
		ok = 0;
	} else if (p->kind != OCKAM_OPT_SCALAR || p->is_null) {
		opt_error_at(d, p, "payload of %s must be a string, not %s%s", what,
		       p->kind == OCKAM_OPT_SCALAR ? "empty" :
						     opt_kind_name(p->kind),
		       p->kind == OCKAM_OPT_SCALAR ?
			       " (write '' for an empty payload)" : "");
		ok = 0;
	} else {
		msg->payload = p->str;
		msg->payload_len = p->len;
	}

	const struct ockam_opt *rep = opt_get(m, "reply");
	if (rep && opt_to_bool(rep, d, &msg->want_reply))
		ok = 0;

	const struct ockam_opt *t = opt_get(m, "timeout");
	if (t) {
		if (opt_to_duration_ms(t, d, &msg->timeout_ms)) {
			ok = 0;
		} else if (msg->timeout_ms == 0) {
			opt_error_at(d, t, "timeout: must be more than 0");
			ok = 0;
		}
	}
	if (ok)
		c->n_messages++;
	else
		memset(msg, 0, sizeof(*msg));
}

static void walk_messages(struct config *c, struct diag *d)
{
	const struct ockam_opt *l =
		get_optional(c->root, "messages", OCKAM_OPT_LIST, d);

	if (!l || !l->count)
		return;
	c->messages = calloc(l->count, sizeof(*c->messages));
	if (!c->messages) {
		opt_error_at(d, l, "out of memory");
		return;
	}
	for (size_t i = 0; i < l->count; i++)
		walk_message(c, l->items[i], i, d);
}

static void walk_after(struct config *c, struct diag *d)
{
	const struct ockam_opt *o = opt_get(c->root, "after_messages");
	size_t i;

	if (o && !check_choice(o, after_values, "'after_messages'", d, &i))
		c->after_messages = i ? CONFIG_AFTER_RUN : CONFIG_AFTER_EXIT;
}

/* `status: true` turns on the status service (status.c reads it). */
static void walk_status(struct config *c, struct diag *d)
{
	const struct ockam_opt *o = opt_get(c->root, "status");
	const struct ockam_opt *r = opt_get(c->root, "remote_reload");
	int on = 0, reload = 0;

	if (o && opt_to_bool(o, d, &on) < 0)
		on = 1; /* said; no second error below */
	/* `remote_reload: true`: the status address also takes "reload"
	 * requests that came out of a secure channel (reload.c). */
	if (r && opt_to_bool(r, d, &reload) == 0 && reload && !on)
		diag_error(d, r->file, r->line, r->col,
			   "'remote_reload: true' needs 'status: true' (the request goes to the status address)");
}

/* `trace: FILE`: the message-flow trace (trace.h); opened by the node. */
static void walk_trace(struct config *c, struct diag *d)
{
	const struct ockam_opt *o = opt_get(c->root, "trace");

	if (!o)
		return;
	if (o->kind != OCKAM_OPT_SCALAR || !o->str || !*o->str) {
		opt_error_at(d, o, "'trace' must be a file name (the trace's JSON lines go there)");
		return;
	}
	c->trace_path = o->str;
	c->trace_node = o;
}

/* ---- entry points ------------------------------------------------- */

struct config *config_load_partial(const char *path, struct diag *d)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c) {
		diag_error(d, path, 0, 0, "out of memory");
		return NULL;
	}
	c->log_level = -1;
	c->after_messages = CONFIG_AFTER_EXIT;
	c->path = strdup(path);
	c->dir = dir_of(path);
	if (!c->path || !c->dir) {
		diag_error(d, path, 0, 0, "out of memory");
		goto fail;
	}
	c->root = opt_load_file(path, d);
	if (!c->root)
		goto fail;
	if (opt_expect(c->root, OCKAM_OPT_MAP, "the top level", d))
		goto fail;
	opt_check_keys(c->root, top_keys, "the top-level map", d);
	walk_node(c, d);
	walk_log_level(c, d);
	walk_plugin_dir(c, d);
	walk_transports(c, d);
	walk_workers(c, d);
	walk_routes(c, d);
	walk_messages(c, d);
	walk_after(c, d);
	walk_status(c, d);
	walk_trace(c, d);
	return c;
fail:
	config_free(c);
	return NULL;
}

struct config *config_load(const char *path, struct diag *d)
{
	unsigned errors = d->errors;
	struct config *c = config_load_partial(path, d);

	if (c && d->errors != errors) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct ockam_opt *config_instance_options(struct config *c,
					  struct config_instance *ci)
{
	const char *section = ci->node == ci->type_node ? "transports" :
							  "workers";
	struct ockam_opt *m = (struct ockam_opt *)opt_get(c->root, section);
	struct ockam_opt *v = (struct ockam_opt *)opt_get(m, ci->name);

	if (ci->options)
		return (struct ockam_opt *)ci->options;
	if (!v)
		return NULL;
	if (ci->node == ci->type_node) {
		opt_null_to_map(v); /* `tcp:` with nothing after it */
	} else {
		struct ockam_opt *o = (struct ockam_opt *)opt_get(v, "options");
		if (o) {
			opt_null_to_map(o);
		} else {
			o = opt_parse_value("{}", ci->type_node);
			if (!o || opt_map_append(v, "options", o, ci->type_node))
				return NULL;
		}
		v = o;
	}
	if (v->kind != OCKAM_OPT_MAP)
		return NULL;
	ci->options = v;
	return v;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_plugin_dirs; i++)
		free((char *)c->plugin_dirs[i]);
	free(c->plugin_dirs);
	free(c->plugin_dir_nodes);
	free(c->transports);
	for (size_t i = 0; i < c->n_workers; i++) {
		free(c->workers[i].access_ids);
		free(c->workers[i].reach);
	}
	free(c->workers);
	free(c->routes);
	free(c->messages);
	opt_free(c->root);
	free(c->dir);
	free(c->path);
	free(c);
}

const struct config_route *config_route_find(const struct config *c,
					     const char *name)
{
	for (size_t i = 0; c && name && i < c->n_routes; i++)
		if (!strcmp(c->routes[i].name, name))
			return &c->routes[i];
	return NULL;
}
