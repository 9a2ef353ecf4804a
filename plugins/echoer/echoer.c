/* SPDX-License-Identifier: Apache-2.0 */
/*
 * echoer: replies to every message with the same payload, along the
 * message's return route, and logs what it got and where from.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ockam/ockam.h>

struct echoer {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	uint64_t count;
};

static int echoer_create(const struct ockam_host *host, struct ockam_ctx *ctx,
			 void **state)
{
	struct echoer *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->host = host;
	e->ctx = ctx;
	*state = e;
	return 0;
}

static int echoer_handle(void *state, void *addr_data,
			 const struct ockam_message *msg)
{
	struct echoer *e = state;
	const struct ockam_host *h = e->host;

	if (h->log_enabled(e->ctx, OCKAM_LOG_INFO)) {
		char route[1024];
		h->route_format(e->ctx, &msg->ret, route, sizeof(route));
		/* Payloads are shown up to 200 bytes; the log line escapes
		 * control characters. */
		int shown = msg->payload_len > 200 ? 200 : (int)msg->payload_len;
		h->log(e->ctx, OCKAM_LOG_INFO,
		       "received \"%.*s\"%s (%zu bytes) from return route %s%s%s",
		       shown, (const char *)msg->payload,
		       (size_t)shown < msg->payload_len ? "..." : "",
		       msg->payload_len, route,
		       (msg->flags & OCKAM_MSG_SECURE) ? " via secure channel with " : "",
		       (msg->flags & OCKAM_MSG_SECURE) ? ockam_message_identifier(msg) : "");
	}
	e->count++;

	/* Reply to the return route; our own address becomes the reply's
	 * return route, so the far end could answer us.  Views of the
	 * borrowed message: send copies them. */
	struct ockam_message r;
	ockam_message_init(&r);
	r.onward = msg->ret;
	r.ret = ockam_route_make(&msg->onward.hop[0], 1);
	r.payload = msg->payload;
	r.payload_len = msg->payload_len;
	if (r.onward.count == 0) {
		h->log(e->ctx, OCKAM_LOG_WARN,
		       "message has an empty return route; no reply sent");
		return 0;
	}
	/* Failures are logged by the host or the transport. */
	h->send(e->ctx, &r);
	return 0;
}

static void echoer_destroy(void *state)
{
	free(state);
}

static const struct ockam_plugin echoer_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "echoer",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "replies to every message with its payload",
	.create = echoer_create,
	.handle_message = echoer_handle,
	.destroy = echoer_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &echoer_plugin;
}
