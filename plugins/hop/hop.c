/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hop: forwards every message along the rest of its onward route, adding
 * itself to the return route so replies come back through it (Ockam's
 * step_forward).  It never looks at the payload.  A delivery-failure
 * notice for a message it forwarded is passed on to the sender before it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ockam/ockam.h>

struct hop {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	struct ockam_message fwd; /* reused: a message is ~16 KiB */
	int notify; /* the host has message_undeliverable */
};

static int hop_create(const struct ockam_host *host, struct ockam_ctx *ctx,
		      void **state)
{
	static const char *const keys[] = {NULL};
	if (host->opt_check_keys(ctx, host->opt_root(ctx), keys) < 0)
		return -EINVAL;
	struct hop *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->host = host;
	h->ctx = ctx;
	h->notify = host->struct_size >=
		    offsetof(struct ockam_host, message_undeliverable) +
			    sizeof(host->message_undeliverable);
	*state = h;
	return 0;
}

/* Copy only the used bytes: an address is 257 bytes, most of it unused. */
static void addr_copy(struct ockam_addr *dst, const struct ockam_addr *src)
{
	dst->type = src->type;
	dst->len = src->len;
	memcpy(dst->data, src->data, src->len);
}

static int hop_handle(void *state, void *addr_data,
		      const struct ockam_message *msg)
{
	struct hop *h = state;
	struct ockam_message *f = &h->fwd;

	if (msg->onward.count < 2) {
		h->host->log(h->ctx, OCKAM_LOG_WARN,
			     "message has nowhere to go after this hop; dropped");
		return 0;
	}
	ockam_message_init(f);
	/* Pop ourselves from onward, push ourselves onto return. */
	f->onward.count = (uint8_t)(msg->onward.count - 1);
	for (unsigned i = 0; i < f->onward.count; i++)
		addr_copy(&f->onward.hop[i], &msg->onward.hop[i + 1]);
	if (msg->ret.count >= OCKAM_ROUTE_MAX) {
		h->host->log(h->ctx, OCKAM_LOG_WARN,
			     "return route already has %d hops; dropped",
			     OCKAM_ROUTE_MAX);
		return 0;
	}
	f->ret.count = (uint8_t)(msg->ret.count + 1);
	addr_copy(&f->ret.hop[0], &msg->onward.hop[0]);
	for (unsigned i = 0; i < msg->ret.count; i++)
		addr_copy(&f->ret.hop[i + 1], &msg->ret.hop[i]);
	f->payload = msg->payload;
	f->payload_len = msg->payload_len;
	h->host->send(h->ctx, f);
	return 0;
}

/* A message we forwarded was dropped further on: we are first in its
 * return route, so pass the notice to whoever sent it to us. */
static void hop_undeliverable(void *state, void *addr_data,
			      const struct ockam_message *msg, int err,
			      const char *why)
{
	struct hop *h = state;
	struct ockam_message *f = &h->fwd;

	(void)addr_data;
	if (!h->notify || msg->ret.count < 2)
		return;
	ockam_message_init(f);
	f->onward.count = msg->onward.count;
	for (unsigned i = 0; i < f->onward.count; i++)
		addr_copy(&f->onward.hop[i], &msg->onward.hop[i]);
	f->ret.count = (uint8_t)(msg->ret.count - 1);
	for (unsigned i = 0; i < f->ret.count; i++)
		addr_copy(&f->ret.hop[i], &msg->ret.hop[i + 1]);
	f->payload = msg->payload;
	f->payload_len = msg->payload_len;
	h->host->message_undeliverable(h->ctx, f, err, why);
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
	.create = hop_create,
	.handle_message = hop_handle,
	.destroy = hop_destroy,
	.handle_undeliverable = hop_undeliverable,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &hop_plugin;
}
