/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reload: SIGHUP (or a reload request at the status address) re-reads the
 * node's YAML and applies it without a restart.
 *
 * The new file is first checked exactly as `ockam-host --check` checks
 * it, by building a check-only node from it (plugins loaded, options
 * validated, every instance created but none started): a file with any
 * error changes nothing, and its errors are written as file:line:col like
 * at startup.  Then, worker by worker (by address):
 *   - same type, options (defaults filled in), access, reach, and no named
 *     route it mentions changed: kept as it is, with its connections,
 *     secure channels and queued messages;
 *   - otherwise (or gone from the file): stopped and destroyed, and the
 *     new one (if any) created and started, like at startup.
 * Transports are never replaced (their listeners and connections carry
 * everyone's traffic): a changed transport is reported and needs a
 * restart, as do node-level keys other than workers, routes and
 * log_level.  Kept instances keep pointing into the configuration they
 * were created from, so an old configuration is freed only when no
 * instance uses it any more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node.h"
#include "opt.h"

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int opt_equal(const struct ockam_opt *a, const struct ockam_opt *b)
{
	if (!a || !b)
		return a == b;
	if (a->kind != b->kind || a->count != b->count)
		return 0;
	if (a->kind == OCKAM_OPT_SCALAR)
		return str_eq(a->str, b->str) && a->plain == b->plain &&
		       a->is_null == b->is_null;
	for (size_t i = 0; i < a->count; i++) {
		if (a->kind == OCKAM_OPT_MAP &&
		    !str_eq(a->keys[i]->str, b->keys[i]->str))
			return 0;
		if (!opt_equal(a->items[i], b->items[i]))
			return 0;
	}
	return 1;
}

static int strs_equal(const char **a, size_t na, const char **b, size_t nb)
{
	if (na != nb || (!a) != (!b))
		return 0;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return 0;
	return 1;
}

/* Is a named route of `oc` gone or different in `nc`? */
static int route_changed(const struct config *oc, const struct config *nc,
			 const char *name)
{
	const struct config_route *a = config_route_find(oc, name);
	const struct config_route *b = config_route_find(nc, name);
	if (!a && !b)
		return 0;
	return !a || !b || !opt_equal(a->route, b->route);
}

/* Does any scalar in `o` name a route that changed? */
static int mentions_changed_route(const struct ockam_opt *o,
				  const struct config *oc,
				  const struct config *nc)
{
	if (!o)
		return 0;
	if (o->kind == OCKAM_OPT_SCALAR)
		return o->str && route_changed(oc, nc, o->str);
	for (size_t i = 0; i < o->count; i++)
		if (mentions_changed_route(o->items[i], oc, nc))
			return 1;
	return 0;
}

static int instance_same(const struct config_instance *a,
			 const struct config *oc,
			 const struct config_instance *b,
			 const struct config *nc)
{
	return str_eq(a->type, b->type) && a->access == b->access &&
	       strs_equal(a->access_ids, a->n_access_ids, b->access_ids,
			  b->n_access_ids) &&
	       strs_equal(a->reach, a->n_reach, b->reach, b->n_reach) &&
	       opt_equal(a->options, b->options) &&
	       !mentions_changed_route(b->options, oc, nc);
}

static int is_transport(const struct ockam_ctx *ctx)
{
	return ctx->cfg->node == ctx->cfg->type_node;
}

static const struct config_instance *find(const struct config_instance *v,
					  size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static int config_holds(const struct config *c,
			const struct config_instance *ci)
{
	return (ci >= c->workers && ci < c->workers + c->n_workers) ||
	       (ci >= c->transports && ci < c->transports + c->n_transports);
}

/* Free the old configurations no instance points into any more (the
 * first one stays while the app, which read its messages, lives). */
static void old_configs_sweep(struct node *n)
{
	size_t k = 0;
	for (size_t i = 0; i < n->n_cfg_old; i++) {
		struct config *c = n->cfg_old[i];
		int used = i == 0 && n->app;
		for (size_t j = 0; j < n->n_inst && !used; j++)
			used = config_holds(c, n->inst[j]->cfg);
		if (used)
			n->cfg_old[k++] = c;
		else
			config_free(c);
	}
	n->n_cfg_old = k;
}

/* Node-level keys a reload does not apply: said once each. */
static void node_keys_compare(const struct config *oc, const struct config *nc,
			      unsigned *warnings)
{
	static const char *const keys[] = {
		"plugin_dir", "status", "remote_reload", "messages",
		"after_messages", NULL,
	};
	for (size_t i = 0; keys[i]; i++)
		if (!opt_equal(opt_get(oc->root, keys[i]),
			       opt_get(nc->root, keys[i]))) {
			log_write(OCKAM_LOG_WARN, "node",
				  "reload: '%s' changed; it applies at the next restart",
				  keys[i]);
			(*warnings)++;
		}
	for (size_t i = 0; i < oc->n_transports; i++) {
		const struct config_instance *a = &oc->transports[i];
		const struct config_instance *b =
			find(nc->transports, nc->n_transports, a->name);
		if (!b || !instance_same(a, oc, b, nc)) {
			log_write(OCKAM_LOG_WARN, "node",
				  "reload: transport '%s' %s; transports are kept as they run until the next restart",
				  a->name, b ? "changed" : "was removed");
			(*warnings)++;
		}
	}
	for (size_t i = 0; i < nc->n_transports; i++)
		if (!find(oc->transports, oc->n_transports,
			  nc->transports[i].name)) {
			log_write(OCKAM_LOG_WARN, "node",
				  "reload: transport '%s' was added; it starts at the next restart",
				  nc->transports[i].name);
			(*warnings)++;
		}
}

/* Check `path` as --check does; the checked configuration (defaults
 * filled in), or NULL after its errors were written. */
static struct config *reload_check(struct node *n)
{
	struct node_args args = {
		.config_path = n->cfg->path,
		.check_only = 1,
		.diag_echo = n->diag.echo,
		.log_level = n->log_level_forced,
		.no_messages = 1,
	};
	int code, level = log_get_level();
	struct node *chk = node_create(&args, &code);
	/* node_create named the node in the log after the new file, and
	 * may have set its log_level. */
	log_set_node(n->cfg->node_name);
	if (!chk) {
		log_set_level(level);
		return NULL;
	}
	struct config *nc = chk->cfg;
	chk->cfg = NULL; /* ours now; its instances go, not it */
	node_destroy(chk);
	return nc;
}

int node_reload(struct node *n, char *summary, size_t len)
{
	struct config *oc = n->cfg;
	unsigned kept = 0, added = 0, removed = 0, warnings = 0, failed = 0;

	log_write(OCKAM_LOG_INFO, "node", "reload: reading %s", oc->path);
	struct config *nc = reload_check(n);
	if (!nc) {
		log_write(OCKAM_LOG_ERROR, "node",
			  "reload: %s has errors (above); still running the configuration loaded before",
			  oc->path);
		snprintf(summary, len, "refused: %s has errors; nothing changed",
			 oc->path);
		return -EINVAL;
	}
	if (strcmp(nc->node_name, oc->node_name)) {
		log_write(OCKAM_LOG_ERROR, "node",
			  "reload: the node's name changed ('%s' to '%s'): restart to rename it; nothing changed",
			  oc->node_name, nc->node_name);
		snprintf(summary, len, "refused: the node's name changed; nothing changed");
		config_free(nc);
		return -EINVAL;
	}
	struct config **v = realloc(n->cfg_old, (n->n_cfg_old + 1) * sizeof(*v));
	char *taken = calloc(nc->n_workers + 1, 1);
	if (v)
		n->cfg_old = v;
	if (!v || !taken) {
		free(taken);
		config_free(nc);
		snprintf(summary, len, "refused: out of memory; nothing changed");
		return -ENOMEM;
	}
	node_keys_compare(oc, nc, &warnings);

	/* Which running workers stay. */
	size_t keep = 0;
	for (size_t i = 0; i < n->n_inst; i++) {
		struct ockam_ctx *ctx = n->inst[i];
		const struct config_instance *b = NULL;
		if (!is_transport(ctx)) {
			b = find(nc->workers, nc->n_workers, ctx->name);
			if (b && !taken[b - nc->workers] &&
			    instance_same(ctx->cfg, oc, b, nc))
				taken[b - nc->workers] = 1;
			else
				b = NULL;
		}
		if (is_transport(ctx) || b) {
			kept += !is_transport(ctx);
			n->inst[keep++] = ctx;
			continue;
		}
		/* Removed or changed: gone before its successor takes the
		 * address. */
		log_write(OCKAM_LOG_INFO, "node", "reload: %s worker '%s'",
			  find(nc->workers, nc->n_workers, ctx->name)
				  ? "replacing changed"
				  : "removing",
			  ctx->name);
		node_instance_free(n, ctx);
		removed++;
	}
	n->n_inst = keep;
	n->cfg_old[n->n_cfg_old++] = oc;
	/* The app reads this when its messages are done: it keeps the value
	 * it started with, as node_keys_compare said. */
	nc->after_messages = oc->after_messages;
	n->cfg = nc;
	if (n->log_level_forced < 0 && nc->log_level >= 0)
		log_set_level(nc->log_level);

	/* New and changed workers, as at startup: address, create, start. */
	FILE *echo = n->diag.echo;
	diag_free(&n->diag);
	diag_init(&n->diag, echo);
	for (size_t i = 0; i < nc->n_workers; i++) {
		const struct config_instance *ci = &nc->workers[i];
		if (taken[i])
			continue;
		struct plugin_lib *lib = node_plugin(n, ci->type, ci->type_node);
		struct ockam_ctx *ctx = lib ? node_instance_new(n, ci, lib) : NULL;
		if (!ctx) {
			failed++;
			continue;
		}
		ctx->options_ok = 1; /* the check node checked them */
		if (node_reach_parse(n, ctx) < 0 ||
		    node_add_worker_address(n, ctx) < 0 ||
		    node_instance_create(n, ctx) < 0 ||
		    node_instance_start(n, ctx) < 0) {
			log_write(OCKAM_LOG_ERROR, "node",
				  "reload: worker '%s' did not start; the rest of the file is applied",
				  ci->name);
			n->n_inst--; /* node_instance_new appended it */
			node_instance_free(n, ctx);
			failed++;
			continue;
		}
		added++;
	}
	diag_finish(&n->diag);
	free(taken);
	old_configs_sweep(n);

	snprintf(summary, len,
		 "%s: %u worker(s) kept, %u started, %u stopped%s%s",
		 failed ? "partly applied" : "applied", kept, added, removed,
		 failed ? ", some failed to start (see the log)" : "",
		 warnings ? ", some changes need a restart (see the log)" : "");
	log_write(failed ? OCKAM_LOG_ERROR : OCKAM_LOG_INFO, "node",
		  "reload: %s", summary);
	return failed ? -EIO : 0;
}
