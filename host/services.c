/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct ockam_host: the host's services as plugins see them.  Each entry is
 * a thin adapter from a plugin instance (ctx) to the router, the loop, the
 * log or the options tree.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec.h"
#include "log.h"
#include "loop.h"
#include "node.h"
#include "notice.h"
#include "opt.h"
#include "route_text.h"
#include "router.h"
#include "status.h"
#include "trace.h"

int services_deliver(void *owner, void *addr_data,
		     const struct ockam_message *msg)
{
	struct ockam_ctx *ctx = owner;
	ctx->msgs_in++;
	return ctx->lib->desc->handle_message(ctx->state, addr_data, msg);
}

void services_notify(void *owner, void *addr_data,
		     const struct ockam_message *msg, int err, const char *why)
{
	struct ockam_ctx *ctx = owner;
	ctx->lib->desc->handle_undeliverable(ctx->state, addr_data, msg, err,
					     why);
}

static void svc_message_undeliverable(struct ockam_ctx *ctx,
				      const struct ockam_message *msg,
				      int err, const char *why)
{
	notices_post(ctx->node->notices, msg, err, why);
}

static int svc_send(struct ockam_ctx *ctx, const struct ockam_message *msg)
{
	int rc = router_send_from(ctx->node->router, &ctx->sender, msg);
	ctx->msgs_out += rc == 0;
	return rc;
}

static int svc_send_reserve(struct ockam_ctx *ctx,
			    const struct ockam_message *msg, size_t cap,
			    uint8_t **payload)
{
	return router_send_reserve(ctx->node->router, &ctx->sender, msg, cap,
				   payload);
}

static int svc_send_commit(struct ockam_ctx *ctx, size_t len)
{
	int rc = router_send_commit(ctx->node->router, len);
	ctx->msgs_out += rc == 0;
	return rc;
}

static void svc_send_abort(struct ockam_ctx *ctx)
{
	router_send_abort(ctx->node->router);
}

static int svc_address_add(struct ockam_ctx *ctx, const char *name,
			   void *addr_data)
{
	return router_address_add(ctx->node->router, name, services_deliver,
				  ctx, addr_data);
}

static int svc_address_remove(struct ockam_ctx *ctx, const char *name)
{
	return router_address_remove(ctx->node->router, name, ctx);
}

static int svc_address_add_random(struct ockam_ctx *ctx, const char *prefix,
				  void *addr_data, char *out, size_t out_len)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		uint8_t rnd[8];
		char hex[17];
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		int n = snprintf(out, out_len, "%s.%s", prefix, hex);
		if (n < 0 || (size_t)n >= out_len)
			return -ENAMETOOLONG;
		int rc = svc_address_add(ctx, out, addr_data);
		if (rc != -EEXIST)
			return rc;
	}
	return -EEXIST;
}

static int svc_transport_register(struct ockam_ctx *ctx, uint8_t type,
				  const char *scheme,
				  const struct ockam_transport_ops *ops,
				  void *data)
{
	return router_transport_add(ctx->node->router, type, scheme, ops, data,
				    ctx);
}

static struct ockam_source *svc_fd_add(struct ockam_ctx *ctx, int fd,
				       uint32_t events, ockam_fd_fn fn,
				       void *data)
{
	return loop_add_fd(ctx->node->loop, fd, events, fn, data, ctx);
}

static struct ockam_source *svc_timer_add(struct ockam_ctx *ctx, uint64_t ms,
					  ockam_timer_fn fn, void *data)
{
	return loop_add_timer(ctx->node->loop, ms, fn, data, ctx);
}

static int svc_timer_update(struct ockam_source *src, uint64_t ms)
{
	/* The public API says 0 disarms; the loop says UINT64_MAX. */
	return loop_update_timer(src, ms ? ms : UINT64_MAX);
}

static struct ockam_source *svc_timer_add_periodic(struct ockam_ctx *ctx,
						   uint64_t period_ms,
						   ockam_timer_fn fn,
						   void *data)
{
	return loop_add_periodic(ctx->node->loop, period_ms, fn, data, ctx);
}

static struct ockam_source *svc_flush_add(struct ockam_ctx *ctx,
					  ockam_timer_fn fn, void *data)
{
	return loop_add_flush(ctx->node->loop, fn, data, ctx);
}

static __attribute__((format(printf, 3, 4))) void
svc_log(struct ockam_ctx *ctx, enum ockam_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite((int)level, ctx ? ctx->name : "plugin", fmt, ap);
	va_end(ap);
}

static __attribute__((format(printf, 4, 5))) void
svc_log_limited(struct ockam_ctx *ctx, struct ockam_log_limit *lim,
		enum ockam_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vlimited(lim, (int)level, ctx ? ctx->name : "plugin", fmt, ap);
	va_end(ap);
}

static int svc_log_limited_due(struct ockam_ctx *ctx,
			       struct ockam_log_limit *lim,
			       enum ockam_log_level level)
{
	(void)ctx;
	return log_limit_due(lim, (int)level);
}

static uint32_t svc_log_limited_flush(struct ockam_ctx *ctx,
				      struct ockam_log_limit *lim,
				      enum ockam_log_level level,
				      const char *what)
{
	return log_limited_flush(lim, (int)level, ctx ? ctx->name : "plugin",
				 what);
}

static int svc_log_enabled(struct ockam_ctx *ctx, enum ockam_log_level level)
{
	return (int)level <= log_get_level();
}

static const struct ockam_opt *svc_opt_root(struct ockam_ctx *ctx)
{
	return ctx->cfg ? ctx->cfg->options : NULL;
}

static enum ockam_opt_kind svc_opt_kind(const struct ockam_opt *o)
{
	return o ? o->kind : 0;
}

static const struct ockam_opt *svc_opt_get(const struct ockam_opt *o,
					   const char *key)
{
	return o ? opt_get(o, key) : NULL;
}

static size_t svc_opt_count(const struct ockam_opt *o)
{
	return o && o->kind != OCKAM_OPT_SCALAR ? o->count : 0;
}

static const struct ockam_opt *svc_opt_at(const struct ockam_opt *o, size_t i)
{
	if (!o || o->kind == OCKAM_OPT_SCALAR || i >= o->count)
		return NULL;
	return o->items[i];
}

static const char *svc_opt_key_at(const struct ockam_opt *o, size_t i)
{
	if (!o || o->kind != OCKAM_OPT_MAP || i >= o->count)
		return NULL;
	return o->keys[i]->str;
}

static const char *svc_opt_str(const struct ockam_opt *o)
{
	return o && o->kind == OCKAM_OPT_SCALAR ? o->str : NULL;
}

static __attribute__((format(printf, 3, 0))) int
ctx_verror(struct ockam_ctx *ctx, const struct ockam_opt *o, const char *fmt,
	   va_list ap)
{
	if (!o && ctx->cfg)
		o = ctx->cfg->node;
	const char *file = o ? o->file : ctx->node->cfg->path;
	diag_verror(&ctx->node->diag, file, o ? o->line : 0, o ? o->col : 0,
		    fmt, ap);
	return -EINVAL;
}

static __attribute__((format(printf, 3, 4))) int
svc_opt_error(struct ockam_ctx *ctx, const struct ockam_opt *o, const char *fmt,
	      ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ctx_verror(ctx, o, fmt, ap);
	va_end(ap);
	return rc;
}

static int svc_opt_check_keys(struct ockam_ctx *ctx, const struct ockam_opt *o,
			      const char *const *allowed)
{
	if (!o)
		return 0;
	char what[128];
	snprintf(what, sizeof(what), "the options of '%s'", ctx->name);
	if (opt_expect(o, OCKAM_OPT_MAP, what, &ctx->node->diag) < 0)
		return -EINVAL;
	return opt_check_keys(o, allowed, what, &ctx->node->diag) ? -EINVAL : 0;
}

static int svc_opt_get_str(struct ockam_ctx *ctx, const struct ockam_opt *o,
			   const char *key, const char **out)
{
	const struct ockam_opt *v = svc_opt_get(o, key);
	if (!v)
		return 0;
	if (opt_expect(v, OCKAM_OPT_SCALAR, key, &ctx->node->diag) < 0)
		return -EINVAL;
	*out = v->str;
	return 0;
}

static int svc_opt_get_bool(struct ockam_ctx *ctx, const struct ockam_opt *o,
			    const char *key, int *out)
{
	const struct ockam_opt *v = svc_opt_get(o, key);
	if (!v)
		return 0;
	return opt_to_bool(v, &ctx->node->diag, out) < 0 ? -EINVAL : 0;
}

static int svc_opt_get_u64(struct ockam_ctx *ctx, const struct ockam_opt *o,
			   const char *key, uint64_t min, uint64_t max,
			   uint64_t *out)
{
	const struct ockam_opt *v = svc_opt_get(o, key);
	if (!v)
		return 0;
	return opt_to_u64(v, &ctx->node->diag, min, max, out) < 0 ? -EINVAL
								   : 0;
}

static int svc_opt_get_duration_ms(struct ockam_ctx *ctx,
				   const struct ockam_opt *o, const char *key,
				   uint64_t *out)
{
	const struct ockam_opt *v = svc_opt_get(o, key);
	if (!v)
		return 0;
	return opt_to_duration_ms(v, &ctx->node->diag, out) < 0 ? -EINVAL : 0;
}

static int svc_opt_get_size(struct ockam_ctx *ctx, const struct ockam_opt *o,
			    const char *key, uint64_t max, uint64_t *out)
{
	const struct ockam_opt *v = svc_opt_get(o, key);
	if (!v)
		return 0;
	return opt_to_size(v, &ctx->node->diag, max, out) < 0 ? -EINVAL : 0;
}

static int svc_opt_get_route(struct ockam_ctx *ctx, const struct ockam_opt *o,
			     const char *key, struct ockam_route *out)
{
	const struct ockam_opt *v = svc_opt_get(o, key);
	struct ockam_addr hops[OCKAM_ROUTE_MAX];
	struct ockam_route r;
	if (!v)
		return 0;
	int rc = node_route_resolve(ctx->node, v, hops, &r);
	if (rc < 0)
		return rc;
	/* The views point at the configuration's strings; only the hop
	 * array needs keeping, for the instance's lifetime. */
	struct ockam_addr *kept = malloc(r.count * sizeof(*kept));
	if (!kept || node_ctx_keep(ctx, kept) < 0)
		return -ENOMEM;
	memcpy(kept, hops, r.count * sizeof(*kept));
	*out = ockam_route_make(kept, r.count);
	return 0;
}

static int svc_opt_get_addrs(struct ockam_ctx *ctx, const struct ockam_opt *o,
			     const char *key, const struct ockam_addr **out,
			     size_t *n)
{
	const struct ockam_opt *v = svc_opt_get(o, key);
	if (!v)
		return 0;
	if (opt_expect(v, OCKAM_OPT_LIST, key, &ctx->node->diag) < 0)
		return -EINVAL;
	struct ockam_addr *a = calloc(v->count ? v->count : 1, sizeof(*a));
	if (!a || node_ctx_keep(ctx, a) < 0)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < v->count; i++) {
		const struct ockam_opt *e = v->items[i];
		char err[512];
		const char *why;
		if (e->kind != OCKAM_OPT_SCALAR) {
			rc = svc_opt_error(ctx, e,
					   "'%s' is a list of addresses, not of %s",
					   key, opt_kind_name(e->kind));
			continue;
		}
		/* The views point at the configuration's strings. */
		if (addr_text_parse(ctx->node->router, e->str, &a[i], err,
				    sizeof(err)) < 0)
			rc = svc_opt_error(ctx, e, "%s", err);
		else if ((why = ockam_addr_pattern_error(&a[i])) != NULL)
			rc = svc_opt_error(ctx, e,
					   "'%s' in '%s': %s (e.g. tcp:127.0.0.1:4000, tcp:127.0.0.1:*, tcp:*:4000)",
					   e->str, key, why);
	}
	if (rc < 0)
		return rc;
	*out = a;
	*n = v->count;
	return 0;
}

static int svc_addr_parse(struct ockam_ctx *ctx, const char *text,
			  struct ockam_addr_buf *out)
{
	char err[256];
	struct ockam_addr a;
	int rc = addr_text_parse(ctx->node->router, text, &a, err, sizeof(err));
	if (rc < 0)
		return rc;
	ockam_addr_buf_set(out, &a);
	return 0;
}

static size_t svc_route_format(struct ockam_ctx *ctx,
			       const struct ockam_route *r, char *buf,
			       size_t len)
{
	return route_text_format(ctx ? ctx->node->router : NULL, r, buf, len);
}

static const char *svc_node_name(struct ockam_ctx *ctx)
{
	return ctx->node->cfg->node_name;
}

static const char *svc_instance_name(struct ockam_ctx *ctx)
{
	return ctx->name;
}

static int svc_path_resolve(struct ockam_ctx *ctx, const char *path, char *out,
			    size_t out_len)
{
	int n;
	if (path[0] == '/' || !ctx->node->cfg->dir)
		n = snprintf(out, out_len, "%s", path);
	else
		n = snprintf(out, out_len, "%s/%s", ctx->node->cfg->dir, path);
	return n < 0 || (size_t)n >= out_len ? -ENAMETOOLONG : 0;
}

static int svc_status_register(struct ockam_ctx *ctx, ockam_status_fn fn,
			       void *data)
{
	return status_register(ctx->node->status, ctx, fn, data);
}

static int svc_status_visit(struct ockam_ctx *ctx, ockam_status_visit_fn fn,
			    void *data)
{
	return status_visit(ctx->node->status, fn, data);
}

static size_t svc_queue_room(struct ockam_ctx *ctx)
{
	return router_queue_room(ctx->node->router);
}

static const struct ockam_host services = {
	.abi_version = OCKAM_HOST_ABI_VERSION,
	.struct_size = sizeof(struct ockam_host),
	.send = svc_send,
	.send_reserve = svc_send_reserve,
	.send_commit = svc_send_commit,
	.send_abort = svc_send_abort,
	.address_add = svc_address_add,
	.address_remove = svc_address_remove,
	.address_add_random = svc_address_add_random,
	.transport_register = svc_transport_register,
	.fd_add = svc_fd_add,
	.fd_update = loop_update_fd,
	.timer_add = svc_timer_add,
	.timer_update = svc_timer_update,
	.timer_add_periodic = svc_timer_add_periodic,
	.flush_add = svc_flush_add,
	.flush_arm = loop_arm_flush,
	.source_remove = loop_remove,
	.now_ms = loop_now_ms,
	.log = svc_log,
	.log_enabled = svc_log_enabled,
	.opt_root = svc_opt_root,
	.opt_kind = svc_opt_kind,
	.opt_get = svc_opt_get,
	.opt_count = svc_opt_count,
	.opt_at = svc_opt_at,
	.opt_key_at = svc_opt_key_at,
	.opt_str = svc_opt_str,
	.opt_error = svc_opt_error,
	.opt_check_keys = svc_opt_check_keys,
	.opt_get_str = svc_opt_get_str,
	.opt_get_bool = svc_opt_get_bool,
	.opt_get_u64 = svc_opt_get_u64,
	.opt_get_duration_ms = svc_opt_get_duration_ms,
	.opt_get_size = svc_opt_get_size,
	.opt_get_route = svc_opt_get_route,
	.opt_get_addrs = svc_opt_get_addrs,
	.message_encoded_size = codec_encoded_size,
	.message_encode = codec_encode,
	.message_decode = codec_decode,
	.addr_parse = svc_addr_parse,
	.route_format = svc_route_format,
	.node_name = svc_node_name,
	.instance_name = svc_instance_name,
	.path_resolve = svc_path_resolve,
	.status_register = svc_status_register,
	.status_add = status_add,
	.status_set_str = status_set_str,
	.status_set_u64 = status_set_u64,
	.message_undeliverable = svc_message_undeliverable,
	.log_limited = svc_log_limited,
	.log_limited_due = svc_log_limited_due,
	.log_limited_flush = svc_log_limited_flush,
	.trace_enabled = trace_svc_enabled,
	.trace = trace_svc_event,
	.status_visit = svc_status_visit,
	.queue_room = svc_queue_room,
};

const struct ockam_host *services_table(void)
{
	return &services;
}
