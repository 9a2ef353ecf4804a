/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uppercase: an example worker plugin for ockam-host.
 *
 * Replies to every message with its payload upper-cased (ASCII a-z only),
 * along the message's return route, like echoer.  One option:
 *
 *   workers:
 *     shout:
 *       type: uppercase
 *       options:
 *         prefix: "uppercase: "   # prepended to every reply (default "")
 *
 * Build it out of the ockam-host tree with nothing but the installed
 * headers:
 *
 *   cc $(pkg-config --cflags ockam-plugin) -shared -fPIC \
 *      -o uppercase.so uppercase.c
 *
 * docs/plugins.md walks through this file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The one header a plugin needs: host services, messages, routes, the
 * plugin descriptor and the ABI version. */
#include <ockam/ockam.h>

/* Longest prefix accepted; it is copied into every reply. */
#define PREFIX_MAX 64

/* One per YAML entry using this plugin: the host may run several. */
struct uppercase {
	const struct ockam_host *host; /* the services table, for every call */
	struct ockam_ctx *ctx;         /* who we are, for every call */
	const char *prefix; /* points into the YAML tree: valid until destroy */
	size_t prefix_len;
	/* Reused for every reply: a message struct is ~16 KiB (routes are
	 * inline) and payloads vary, so neither is allocated per message. */
	struct ockam_message reply;
	uint8_t *buf;
	size_t cap;
};

/* Read and check `options:`.  Every problem is reported by the host as
 * "node.yaml:line:col: message"; we only return -EINVAL. */
static int uppercase_options(struct uppercase *u)
{
	const struct ockam_host *h = u->host;
	const struct ockam_opt *opts = h->opt_root(u->ctx); /* NULL if none */
	static const char *const keys[] = {"prefix", NULL};

	/* Refuse typos ("prefx") with a did-you-mean, instead of ignoring
	 * them.  Also refuses `options:` that is not a map. */
	if (h->opt_check_keys(u->ctx, opts, keys) < 0)
		return -EINVAL;

	const char *prefix = ""; /* the default, kept if the key is absent */
	if (h->opt_get_str(u->ctx, opts, "prefix", &prefix) < 0)
		return -EINVAL;
	size_t len = strlen(prefix);
	if (len > PREFIX_MAX)
		/* Point at the value itself, not at the worker. */
		return h->opt_error(u->ctx, h->opt_get(opts, "prefix"),
				    "'prefix' is %zu bytes; at most %d are allowed",
				    len, PREFIX_MAX);
	/* Option strings stay valid until after destroy: no copy needed. */
	u->prefix = prefix;
	u->prefix_len = len;
	return 0;
}

/* create: allocate, read options, remember host and ctx.  No sending,
 * no timers yet: other workers may not exist. */
static int uppercase_create(const struct ockam_host *host,
			    struct ockam_ctx *ctx, void **state)
{
	struct uppercase *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->host = host;
	u->ctx = ctx;
	if (uppercase_options(u) < 0) {
		free(u);
		return -EINVAL;
	}
	*state = u;
	return 0;
}

/* Make room for `need` payload bytes, growing the reused buffer only. */
static int uppercase_reserve(struct uppercase *u, size_t need)
{
	if (need <= u->cap)
		return 0;
	uint8_t *b = realloc(u->buf, need);
	if (!b)
		return -ENOMEM;
	u->buf = b;
	u->cap = need;
	return 0;
}

/* handle_message: `msg` is borrowed.  Its payload pointer is only valid
 * until we return, so everything we need is copied into the reply, and
 * host->send() copies the reply before returning. */
static int uppercase_handle(void *state, void *addr_data,
			    const struct ockam_message *msg)
{
	struct uppercase *u = state;
	const struct ockam_host *h = u->host;
	(void)addr_data; /* NULL: only our YAML address delivers here */

	if (msg->ret.count == 0) {
		h->log(u->ctx, OCKAM_LOG_WARN,
		       "message has an empty return route; no reply sent");
		return 0;
	}
	size_t len = u->prefix_len + msg->payload_len;
	if (len < msg->payload_len || uppercase_reserve(u, len ? len : 1) < 0)
		return -ENOMEM; /* the host logs handler failures */

	memcpy(u->buf, u->prefix, u->prefix_len);
	uint8_t *out = u->buf + u->prefix_len;
	for (size_t i = 0; i < msg->payload_len; i++) {
		uint8_t c = msg->payload[i];
		/* ASCII only: toupper() would depend on the locale. */
		out[i] = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
	}

	/* Reply along the return route; our own address (the hop the
	 * message came to) becomes the reply's return route. */
	struct ockam_message *r = &u->reply;
	ockam_message_init(r);
	ockam_route_copy(&r->onward, &msg->ret);
	ockam_route_append(&r->ret, &msg->onward.hop[0]);
	r->payload = u->buf;
	r->payload_len = len;

	if (h->log_enabled(u->ctx, OCKAM_LOG_DEBUG))
		h->log(u->ctx, OCKAM_LOG_DEBUG, "replying with %zu bytes", len);
	/* A failed send is already logged by the router or the transport;
	 * logging it again would only double the noise. */
	h->send(u->ctx, r);
	return 0;
}

/* destroy: free everything.  Addresses and sources still registered
 * are removed by the host. */
static void uppercase_destroy(void *state)
{
	struct uppercase *u = state;
	free(u->buf);
	free(u);
}

/* The descriptor: static and const, returned by the one exported
 * symbol.  The host refuses it unless abi_version matches its own. */
static const struct ockam_plugin uppercase_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "uppercase", /* the `type:` in YAML; the file is uppercase.so */
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "replies to every message with its payload upper-cased",
	.create = uppercase_create,
	.handle_message = uppercase_handle,
	.destroy = uppercase_destroy,
	/* start and stop are optional: nothing to begin or end. */
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &uppercase_plugin;
}
