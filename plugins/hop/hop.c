/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hop: forwards every message along the rest of its onward route, adding
 * itself to the return route so replies come back through it (Ockam's
 * step_forward).  It never looks at the payload.  A delivery-failure
 * notice for a message it forwarded is passed on to the sender before it.
 *
 * Where it may open connections: only to transport addresses matching a
 * pattern of its `to:` option (ockam_addr_match).  Anything else goes to
 * local workers or over connections already open (that is how replies
 * travel back), or is dropped: the next hop comes from a message that
 * arrived, and a hop that dialled whatever it is told would make the node
 * an open relay to every service it can reach (docs/security.md, "Who can
 * make a node open a connection").
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ockam/ockam.h>

struct hop {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	/* `to:` patterns: where it may connect (owned by the host) */
	const struct ockam_addr *to;
	size_t n_to;
};

/* to: [tcp:127.0.0.1:4000, tcp:10.0.0.7:*, ...]: transport-address
 * patterns, checked by the host where they are written. */
static const struct ockam_option hop_options[] = {
	{.name = "to", .type = OCKAM_OPTION_ADDRS, .def = "[]",
	 .help = "transport addresses it may connect to (tcp:host:port, * allowed)"},
	{0},
};

/* A local name in `to:` is a patterns mistake the table cannot see. */
static int hop_check(const struct ockam_host *host, struct ockam_ctx *ctx)
{
	const struct ockam_opt *to = host->opt_get(host->opt_root(ctx), "to");
	int rc = 0;

	for (size_t i = 0; i < host->opt_count(to); i++) {
		const char *s = host->opt_str(host->opt_at(to, i));
		if (s && !strpbrk(s, ":#"))
			rc = host->opt_error(ctx, host->opt_at(to, i),
					     "'%s' in 'to' is a local address: a hop always forwards to local workers; 'to' lists the transport addresses it may connect to",
					     s);
	}
	return rc;
}

static void hop_destroy(void *state);

static int hop_create(const struct ockam_host *host, struct ockam_ctx *ctx,
		      void **state)
{
	struct hop *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->host = host;
	h->ctx = ctx;
	int rc = host->opt_get_addrs(ctx, host->opt_root(ctx), "to", &h->to,
				     &h->n_to);
	if (rc < 0) {
		hop_destroy(h);
		return rc;
	}
	*state = h;
	return 0;
}

/* 1 if `to:` lets the hop open a connection to `a`. */
static int to_allows(const struct hop *h, const struct ockam_addr *a)
{
	for (size_t i = 0; i < h->n_to; i++)
		if (ockam_addr_match(&h->to[i], a))
			return 1;
	return 0;
}

static int hop_handle(void *state, void *addr_data,
		      const struct ockam_message *msg)
{
	struct hop *h = state;
	struct ockam_addr ret[OCKAM_ROUTE_MAX];
	struct ockam_message f;

	if (msg->onward.count < 2) {
		h->host->log(h->ctx, OCKAM_LOG_WARN,
			     "message has nowhere to go after this hop; dropped");
		return 0;
	}
	/* Pop ourselves from onward, push ourselves onto return: views of
	 * the borrowed message, copied by send. */
	ockam_message_init(&f);
	f.onward = ockam_route_rest(&msg->onward);
	if (ockam_route_prepend(ret, OCKAM_ROUTE_MAX, &msg->onward.hop[0],
				&msg->ret, &f.ret) < 0) {
		h->host->log(h->ctx, OCKAM_LOG_WARN,
			     "return route already has %d hops; dropped",
			     OCKAM_ROUTE_MAX);
		return 0;
	}
	f.payload = msg->payload;
	f.payload_len = msg->payload_len;
	const struct ockam_addr *next = &f.onward.hop[0];
	if (next->type != OCKAM_ADDR_LOCAL && to_allows(h, next))
		f.flags |= OCKAM_MSG_CONNECT;
	int rc = h->host->send(h->ctx, &f);
	/* The router or the transport said why, once (for an address not
	 * in `to:` with no connection open: that it was not asked to
	 * connect).  Whoever handed us the message learns of the drop. */
	if (rc < 0) {
		char why[256];
		if (next->type != OCKAM_ADDR_LOCAL && !(f.flags & OCKAM_MSG_CONNECT))
			snprintf(why, sizeof(why),
				 "hop '%s': no connection open and 'to' does not allow opening one: %s",
				 h->host->instance_name(h->ctx), strerror(-rc));
		else
			snprintf(why, sizeof(why), "hop '%s' cannot forward it: %s",
				 h->host->instance_name(h->ctx), strerror(-rc));
		h->host->message_undeliverable(h->ctx, msg, rc, why);
	}
	return 0;
}

/* A message we forwarded was dropped further on: we are first in its
 * return route, so pass the notice to whoever sent it to us. */
static void hop_undeliverable(void *state, void *addr_data,
			      const struct ockam_message *msg, int err,
			      const char *why)
{
	struct hop *h = state;

	(void)addr_data;
	(void)ockam_undeliverable_pass_back(h->host, h->ctx, msg, err, why);
}

static void hop_destroy(void *state)
{
	free(state);
}

static const struct ockam_plugin hop_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "hop",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "forwards messages, adding itself to the return route",
	.options = hop_options,
	.check = hop_check,
	.create = hop_create,
	.handle_message = hop_handle,
	.destroy = hop_destroy,
	.handle_undeliverable = hop_undeliverable,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &hop_plugin;
}
