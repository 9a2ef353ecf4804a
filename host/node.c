/* SPDX-License-Identifier: Apache-2.0 */
#include "node.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "app.h"
#include "log.h"
#include "notice.h"
#include "loop.h"
#include "opt.h"
#include "option_check.h"
#include "route_text.h"
#include "router.h"
#include "status.h"

void node_quit(struct node *n, int code)
{
	n->exit_code = code;
	loop_quit(n->loop);
}

int node_address_is_secure_channel(const struct node *n,
				   const struct ockam_addr *a)
{
	void *owner, *addr_data;
	if (a->type != OCKAM_ADDR_LOCAL ||
	    router_address_owner(n->router, (const char *)a->data, a->len,
				 &owner, &addr_data) < 0)
		return 0;
	for (size_t i = 0; i < n->n_inst; i++)
		if (n->inst[i] == owner)
			return n->inst[i]->sender.may_secure;
	return 0;
}

int node_ctx_keep(struct ockam_ctx *ctx, void *p)
{
	void **v = realloc(ctx->owned, (ctx->n_owned + 1) * sizeof(*v));
	if (!v) {
		free(p);
		return -ENOMEM;
	}
	v[ctx->n_owned++] = p;
	ctx->owned = v;
	return 0;
}

int node_route_resolve(struct node *n, const struct ockam_opt *o,
		       struct ockam_addr *hops, struct ockam_route *out)
{
	const char *file = o->file;
	if (o->kind == OCKAM_OPT_SCALAR) {
		const struct config_route *r = config_route_find(n->cfg, o->str);
		if (!r) {
			diag_error(&n->diag, file, o->line, o->col,
				   "unknown route '%s': declare it under routes: or write the route as a list",
				   o->str);
			return -EINVAL;
		}
		o = r->route;
	}
	if (o->kind != OCKAM_OPT_LIST) {
		diag_error(&n->diag, file, o->line, o->col,
			   "a route must be a list of addresses like [tcp:localhost:4000, echoer], not %s",
			   opt_kind_name(o->kind));
		return -EINVAL;
	}
	if (o->count == 0 || o->count > OCKAM_ROUTE_MAX) {
		diag_error(&n->diag, file, o->line, o->col,
			   "a route needs 1 to %d addresses, not %zu",
			   OCKAM_ROUTE_MAX, o->count);
		return -EINVAL;
	}
	int rc = 0;
	out->hop = hops;
	out->count = 0;
	for (size_t i = 0; i < o->count; i++) {
		const struct ockam_opt *e = o->items[i];
		char err[512];
		if (e->kind != OCKAM_OPT_SCALAR) {
			diag_error(&n->diag, file, e->line, e->col,
				   "a route entry must be an address, not %s",
				   opt_kind_name(e->kind));
			rc = -EINVAL;
			continue;
		}
		if (addr_text_parse(n->router, e->str, &hops[out->count], err,
				    sizeof(err)) < 0) {
			diag_error(&n->diag, file, e->line, e->col, "%s", err);
			rc = -EINVAL;
			continue;
		}
		/* Port 99999 and port forty are known to be wrong now, not
		 * when something is sent (written "scheme:", not "N#"). */
		const char *colon = strchr(e->str, ':'), *hash = strchr(e->str, '#');
		if (hops[out->count].type != OCKAM_ADDR_LOCAL && colon &&
		    (!hash || colon < hash) &&
		    option_port_error(colon + 1, err, sizeof(err))) {
			diag_error(&n->diag, file, e->line, e->col,
				   "address '%s': %s", e->str, err);
			rc = -EINVAL;
			continue;
		}
		out->count++;
	}
	return rc;
}

static struct plugin_lib *node_plugin(struct node *n, const char *type,
				      const struct ockam_opt *where)
{
	for (size_t i = 0; i < n->n_libs; i++)
		if (strcmp(n->libs[i]->desc->name, type) == 0)
			return n->libs[i];

	char path[PATH_MAX], err[PATH_MAX + 256];
	if (loader_find(n->search, type, path, sizeof(path)) < 0) {
		char dirs[1024] = "";
		size_t used = 0;
		for (size_t i = 0; n->search[i] && used < sizeof(dirs); i++) {
			int k = snprintf(dirs + used, sizeof(dirs) - used,
					 "%s%s", i ? ":" : "", n->search[i]);
			if (k < 0)
				break;
			used += (size_t)k;
		}
		/* Did you mean one of the plugins that are there?  (Not
		 * searched for an error past the shown ones.) */
		char **names = diag_room(&n->diag) ? loader_list(n->search)
						   : NULL;
		const char *near =
			names ? opt_suggest(type, (const char *const *)names)
			      : NULL;
		if (near)
			diag_error(&n->diag, where->file, where->line,
				   where->col,
				   "unknown type '%s' (did you mean '%s'?): no %s.so in the plugin path %s",
				   type, near, type, dirs);
		else
			diag_error(&n->diag, where->file, where->line,
				   where->col,
				   "unknown type '%s': no %s.so in the plugin path %s",
				   type, type, dirs);
		loader_search_path_free(names);
		return NULL;
	}
	struct plugin_lib *lib = loader_open(path, type, err, sizeof(err));
	char why[256];
	if (lib && option_table_check(lib->desc->options, why, sizeof(why))) {
		/* Its table is its contract with the host and the docs. */
		diag_error(&n->diag, where->file, where->line, where->col,
			   "%s: its options table is wrong: %s", path, why);
		loader_close(lib);
		return NULL;
	}
	if (!lib) {
		diag_error(&n->diag, where->file, where->line, where->col, "%s",
			   err);
		return NULL;
	}
	struct plugin_lib **v = realloc(n->libs, (n->n_libs + 1) * sizeof(*v));
	if (!v) {
		loader_close(lib);
		return NULL;
	}
	n->libs = v;
	n->libs[n->n_libs++] = lib;
	return lib;
}

static struct ockam_ctx *node_instance_new(struct node *n,
					   const struct config_instance *ci,
					   struct plugin_lib *lib)
{
	struct ockam_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	struct ockam_ctx **v = realloc(n->inst, (n->n_inst + 1) * sizeof(*v));
	if (!v) {
		free(ctx);
		return NULL;
	}
	n->inst = v;
	n->inst[n->n_inst++] = ctx;
	ctx->node = n;
	ctx->lib = lib;
	ctx->cfg = ci;
	ctx->name = ci->name;
	ctx->sender.name = ci->name;
	ctx->sender.owner = ctx; /* its addresses are registered so */
	ctx->sender.transport = lib->desc->kind == OCKAM_PLUGIN_TRANSPORT;
	ctx->sender.may_secure =
		lib->desc->kind == OCKAM_PLUGIN_SECURE_CHANNEL;
	ctx->sender.reach = ci->reach;
	ctx->sender.n_reach = ci->n_reach;
	ctx->sender.transport = lib->desc->kind == OCKAM_PLUGIN_TRANSPORT;
	ctx->policy.secure_only = ci->access != CONFIG_ACCESS_ANYONE;
	ctx->policy.ids = ci->access_ids;
	ctx->policy.n_ids = ci->n_access_ids;
	return ctx;
}

/* A worker's reach entries that name transport addresses
 * ("tcp:127.0.0.1:*"): parsed once the transports are registered, and
 * checked as patterns (ockam_addr_pattern_error), every error at its
 * position.  0 or -EINVAL. */
static int node_reach_parse(struct node *n, struct ockam_ctx *ctx)
{
	const struct config_instance *ci = ctx->cfg;
	size_t count = 0;
	int rc = 0;

	for (size_t i = 0; i < ci->n_reach; i++)
		count += strchr(ci->reach[i], ':') != NULL;
	if (!count)
		return 0;
	ctx->reach_addrs = calloc(count, sizeof(*ctx->reach_addrs));
	if (!ctx->reach_addrs)
		return -ENOMEM;
	for (size_t i = 0; i < ci->n_reach; i++) {
		const struct ockam_opt *e = ci->reach_node->items[i];
		struct ockam_addr *a =
			&ctx->reach_addrs[ctx->sender.n_reach_addrs];
		char err[512];
		const char *why;

		if (!strchr(ci->reach[i], ':'))
			continue;
		if (addr_text_parse(n->router, ci->reach[i], a, err,
				    sizeof(err)) < 0) {
			diag_error(&n->diag, e->file, e->line, e->col,
				   "an address in 'reach': %s", err);
			rc = -EINVAL;
		} else if ((why = ockam_addr_pattern_error(a)) != NULL) {
			diag_error(&n->diag, e->file, e->line, e->col,
				   "'%s' in 'reach': %s (e.g. tcp:127.0.0.1:4000, tcp:127.0.0.1:*, tcp:*:4000)",
				   ci->reach[i], why);
			rc = -EINVAL;
		} else {
			ctx->sender.n_reach_addrs++;
		}
	}
	ctx->sender.reach_addrs = ctx->reach_addrs;
	return rc;
}

/* A queued message its worker refused: tell its sender. */
static void node_on_refused(void *data, const struct ockam_message *msg,
			    int err, const char *why)
{
	struct node *n = data;
	notices_post(n->notices, msg, err, why);
}

size_t node_pending(const struct node *n, char *why, size_t len)
{
	struct router_stats st;
	size_t total = 0, used = 0;
	if (len)
		why[0] = '\0';
	router_stats_get(n->router, &st);
	if (st.queued) {
		total += st.queued;
		used = (size_t)snprintf(why, len, "%zu in the local queue",
					st.queued);
	}
	for (size_t i = 0; i < n->n_inst; i++) {
		const struct ockam_ctx *ctx = n->inst[i];
		const struct ockam_plugin *d = ctx->lib->desc;
		char one[160] = "";
		if (!ctx->started || !d->pending)
			continue;
		size_t k = d->pending(ctx->state, one, sizeof(one));
		if (!k)
			continue;
		total += k;
		if (used < len) {
			int w = snprintf(why + used, len - used, "%s%s: %s",
					 used ? "; " : "", ctx->name,
					 one[0] ? one : "held");
			if (w > 0)
				used += (size_t)w;
		}
	}
	return total;
}

/* The loop's idle hook: queued messages first, then delivery-failure
 * notices (which may be about some of them). */
static int node_idle(void *data)
{
	struct node *n = data;
	int more = router_drain(n->router);
	return notices_drain(n->notices) || more;
}

static int node_instance_create(struct node *n, struct ockam_ctx *ctx)
{
	const struct ockam_plugin *d = ctx->lib->desc;
	const struct ockam_opt *where = ctx->cfg->type_node;
	unsigned before = n->diag.errors;
	void *state = NULL;
	int rc = d->create(services_table(), ctx, &state);
	if (rc == 0 && n->diag.errors > before) {
		/* Reported a problem but returned success: trust the report. */
		d->destroy(state);
		rc = -EINVAL;
	}
	if (rc < 0) {
		/* Plugins report option errors themselves; say something
		 * only if they did not. */
		if (n->diag.errors == before)
			diag_error(&n->diag, where->file, where->line,
				   where->col, "%s '%s': create failed: %s",
				   plugin_kind_name(d->kind), ctx->name,
				   strerror(rc < 0 ? -rc : EINVAL));
		loop_remove_owner(n->loop, ctx);
		router_remove_owner(n->router, ctx);
		status_remove_owner(n->status, ctx);
		return -EINVAL;
	}
	ctx->state = state;
	ctx->created = 1;
	if (d->handle_undeliverable &&
	    notices_handler_add(n->notices, ctx, services_notify) < 0)
		return -ENOMEM;
	return 0;
}

/* A plugin that reports a failure to start with opt_error (a listen
 * address in use) has named the YAML entry at fault: that is a
 * configuration error (exit 2), and needs no second line. */
static int node_instance_start(struct node *n, struct ockam_ctx *ctx)
{
	const struct ockam_plugin *d = ctx->lib->desc;
	unsigned before = n->diag.errors;
	int rc = d->start ? d->start(ctx->state) : 0;
	if (rc < 0) {
		if (n->diag.errors == before)
			log_write(OCKAM_LOG_ERROR, ctx->name,
				  "failed to start: %s", strerror(-rc));
		return rc;
	}
	ctx->started = 1;
	return 0;
}

/* Workers get their YAML address before create, so a plugin's random
 * addresses can never take it. */
static int node_add_worker_address(struct node *n, struct ockam_ctx *ctx)
{
	int rc = router_address_add(n->router, ctx->name, services_deliver,
				    ctx, NULL);
	if (rc == 0 && ctx->policy.secure_only)
		rc = router_address_set_policy(n->router, ctx->name,
					       &ctx->policy);
	if (rc < 0) {
		const struct ockam_opt *k = ctx->cfg->node;
		diag_error(&n->diag, k->file, k->line, k->col,
			   "cannot use worker address '%s': %s", ctx->name,
			   strerror(-rc));
	}
	return rc;
}

static void node_on_signal(void *data, int signo)
{
	struct node *n = data;
	log_write(OCKAM_LOG_INFO, "node", "received %s, stopping",
		  signo == SIGINT ? "SIGINT" : "SIGTERM");
	node_quit(n, 0);
}

struct node *node_create(const struct node_args *args, int *exit_code)
{
	*exit_code = 1;
	if (sodium_init() < 0) {
		log_write(OCKAM_LOG_ERROR, "node", "libsodium failed to start");
		return NULL;
	}
	struct node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	diag_init(&n->diag, args->diag_echo);
	n->check_only = args->check_only;

	n->cfg = config_load_partial(args->config_path, &n->diag);
	if (!n->cfg) {
		*exit_code = 2;
		goto fail;
	}
	log_set_node(n->cfg->node_name);
	if (args->log_level >= 0)
		log_set_level(args->log_level);
	else if (n->cfg->log_level >= 0)
		log_set_level(n->cfg->log_level);
	n->loop = loop_create();
	n->router = router_create(ROUTER_QUEUE_DEFAULT);
	n->search = loader_search_path(n->cfg->plugin_dirs,
				       n->cfg->n_plugin_dirs);
	n->status = status_create(n);
	if (!n->loop || !n->router || !n->search || !n->status)
		goto fail;
	n->notices = notices_create(n->router, NOTICE_QUEUE_DEFAULT);
	if (!n->notices)
		goto fail;
	loop_set_idle(n->loop, node_idle, n);
	router_set_refused(n->router, node_on_refused, n);

	/* A plugin_dir that is not there is a typo: said at its entry,
	 * also by --check, rather than skipped while searching. */
	const struct config *c = n->cfg;
	for (size_t i = 0; i < c->n_plugin_dirs; i++) {
		const struct ockam_opt *o = c->plugin_dir_nodes[i];
		const char *dir = c->plugin_dirs[i];
		struct stat st;
		int bad = stat(dir, &st) < 0 ? errno :
			  !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
		if (bad)
			diag_error(&n->diag, o->file, o->line, o->col,
				   "plugin_dir '%s'%s%s%s: %s", o->str,
				   strcmp(o->str, dir) ? " (" : "",
				   strcmp(o->str, dir) ? dir : "",
				   strcmp(o->str, dir) ? ")" : "",
				   strerror(bad));
	}

	/* One pass: everything that can be known before anything runs is
	 * checked, every problem reported, before the first error stops the
	 * node.  Plugins first, so all missing or broken ones are reported
	 * together. */
	struct config *cm = n->cfg;
	for (size_t i = 0; i < c->n_transports; i++) {
		const struct config_instance *ci = &c->transports[i];
		struct plugin_lib *lib = node_plugin(n, ci->type, ci->type_node);
		if (lib && lib->desc->kind != OCKAM_PLUGIN_TRANSPORT)
			diag_error(&n->diag, ci->type_node->file,
				   ci->type_node->line, ci->type_node->col,
				   "'%s' is a %s plugin, not a transport: declare it under workers:",
				   ci->type, plugin_kind_name(lib->desc->kind));
		else if (lib && !node_instance_new(n, ci, lib))
			goto fail;
	}
	for (size_t i = 0; i < c->n_workers; i++) {
		const struct config_instance *ci = &c->workers[i];
		struct plugin_lib *lib = node_plugin(n, ci->type, ci->type_node);
		if (lib && lib->desc->kind == OCKAM_PLUGIN_TRANSPORT)
			diag_error(&n->diag, ci->type_node->file,
				   ci->type_node->line, ci->type_node->col,
				   "'%s' is a transport plugin, not a worker: declare it under transports:",
				   ci->type);
		else if (lib && !node_instance_new(n, ci, lib))
			goto fail;
	}
	/* Every instance's options against its plugin's table (defaults
	 * filled in), then the plugin's own cross-option check. */
	for (size_t i = 0; i < n->n_inst; i++) {
		struct ockam_ctx *ctx = n->inst[i];
		const struct ockam_plugin *d = ctx->lib->desc;
		struct config_instance *ci = (struct config_instance *)ctx->cfg;
		int may_check;
		unsigned bad = option_check_instance(cm, ci, d->options,
						     &n->diag, &may_check);
		if (!may_check)
			continue;
		unsigned before = n->diag.errors;
		int rc = d->check ? d->check(services_table(), ctx) : 0;
		if (rc < 0 && n->diag.errors == before)
			diag_error(&n->diag, ci->type_node->file,
				   ci->type_node->line, ci->type_node->col,
				   "%s '%s': its options were refused: %s",
				   plugin_kind_name(d->kind), ctx->name,
				   strerror(-rc));
		ctx->options_ok = !bad && rc >= 0 && n->diag.errors == before;
	}
	/* Transports are created (not started) even if something else is
	 * wrong, so that the routes and addresses below are checked with
	 * their schemes in this same run. */
	int schemes_known = 1;
	for (size_t i = 0; i < n->n_inst; i++) {
		struct ockam_ctx *ctx = n->inst[i];
		if (ctx->cfg->node != ctx->cfg->type_node)
			continue;
		if (ctx->options_ok)
			node_instance_create(n, ctx);
		schemes_known &= ctx->created;
	}
	/* Addresses in options: what the table refused is gone from the
	 * tree, so the rest can be checked for every instance; but not
	 * when a transport is missing, whose scheme would make every
	 * address of it "unknown". */
	for (size_t i = 0; i < n->n_inst; i++) {
		struct ockam_ctx *ctx = n->inst[i];
		if (ctx->cfg->node != ctx->cfg->type_node) {
			if (node_reach_parse(n, ctx) == -ENOMEM)
				goto fail;
			node_add_worker_address(n, ctx);
		}
		if (schemes_known)
			option_check_refs(n, ctx);
	}
	/* Every named route must parse, used or not: a typo should not wait
	 * for the day something sends along it. */
	for (size_t i = 0; i < c->n_routes; i++) {
		struct ockam_addr hops[OCKAM_ROUTE_MAX];
		struct ockam_route scratch;
		node_route_resolve(n, c->routes[i].route, hops, &scratch);
	}
	/* The messages' routes too (the app checks them as it takes them). */
	int app_failed = 0;
	if (!args->no_messages)
		n->app = app_create(n, &app_failed);
	if (app_failed || n->diag.errors) {
		*exit_code = 2;
		goto fail;
	}

	/* Transports are started before any worker is created, so workers
	 * can send from their own start. */
	if (!n->check_only)
		for (size_t i = 0; i < n->n_inst; i++)
			if (n->inst[i]->created &&
			    node_instance_start(n, n->inst[i]) < 0) {
				*exit_code = n->diag.errors ? 2 : 1;
				goto fail;
			}
	for (size_t i = 0; i < n->n_inst; i++) {
		if (n->inst[i]->created)
			continue;
		if (node_instance_create(n, n->inst[i]) < 0) {
			*exit_code = 2;
			goto fail;
		}
	}
	*exit_code = 0;
	return n;
fail:
	diag_finish(&n->diag);
	node_destroy(n);
	return NULL;
}

int node_start(struct node *n)
{
	if (n->check_only)
		return 0;
	for (size_t i = 0; i < n->n_inst; i++)
		if (!n->inst[i]->started && node_instance_start(n, n->inst[i]) < 0)
			return n->diag.errors ? -2 : -1;
	if (!loop_add_signal(n->loop, SIGINT, node_on_signal, n, n) ||
	    !loop_add_signal(n->loop, SIGTERM, node_on_signal, n, n))
		return -1;
	log_write(OCKAM_LOG_INFO, "node", "node %s ready (%zu transports, %zu workers)",
		  n->cfg->node_name, n->cfg->n_transports, n->cfg->n_workers);
	if (status_start(n->status) < 0)
		return -1;
	if (n->app && app_start(n->app) < 0)
		return -1;
	return 0;
}

int node_run(struct node *n)
{
	int rc = loop_run(n->loop);
	if (rc < 0) {
		log_write(OCKAM_LOG_ERROR, "node", "event loop failed: %s",
			  strerror(-rc));
		return 1;
	}
	/* A notice posted in the loop's last pass still counts: the app may
	 * have finished in the same pass as a message of its was dropped. */
	notices_drain(n->notices);
	return n->app ? app_exit_code(n->app, n->exit_code) : n->exit_code;
}

void node_destroy(struct node *n)
{
	if (!n)
		return;
	app_destroy(n->app);
	for (size_t i = n->n_inst; i-- > 0;) {
		struct ockam_ctx *ctx = n->inst[i];
		if (ctx->started && ctx->lib->desc->stop)
			ctx->lib->desc->stop(ctx->state);
		ctx->started = 0;
	}
	for (size_t i = n->n_inst; i-- > 0;) {
		struct ockam_ctx *ctx = n->inst[i];
		if (ctx->created)
			ctx->lib->desc->destroy(ctx->state);
		/* Whatever the plugin forgot is removed for it. */
		if (n->loop)
			loop_remove_owner(n->loop, ctx);
		if (n->router)
			router_remove_owner(n->router, ctx);
		status_remove_owner(n->status, ctx);
		if (n->notices)
			notices_handler_remove(n->notices, ctx);
		free(ctx->reach_addrs);
		for (size_t k = 0; k < ctx->n_owned; k++)
			free(ctx->owned[k]);
		free(ctx->owned);
		free(ctx);
	}
	free(n->inst);
	status_destroy(n->status);
	if (n->loop)
		loop_remove_owner(n->loop, n);
	loop_destroy(n->loop);
	notices_destroy(n->notices);
	router_destroy(n->router);
	for (size_t i = n->n_libs; i-- > 0;)
		loader_close(n->libs[i]);
	free(n->libs);
	loader_search_path_free(n->search);
	config_free(n->cfg);
	diag_free(&n->diag);
	free(n);
}
