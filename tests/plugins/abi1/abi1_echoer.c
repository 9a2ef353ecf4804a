/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A worker plugin built for plugin ABI 1, against a copy of the ABI 1
 * headers (include/ockam/ here, as they were on main before ABI 2): an
 * echoer with ABI 1's inline 16 KiB message.  The loader must refuse it
 * with one line saying to rebuild it, and a node using it must not start
 * (tests/plugins/test_loader.c).
 */
#include <errno.h>
#include <stdlib.h>

#include <ockam/ockam.h>

_Static_assert(OCKAM_PLUGIN_ABI_VERSION == 1, "built against ABI 1 headers");

struct abi1_echoer {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	struct ockam_message reply; /* ABI 1: routes are inline */
};

static int abi1_create(const struct ockam_host *host, struct ockam_ctx *ctx,
		       void **state)
{
	struct abi1_echoer *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->host = host;
	e->ctx = ctx;
	*state = e;
	return 0;
}

static int abi1_handle(void *state, void *addr_data,
		       const struct ockam_message *msg)
{
	struct abi1_echoer *e = state;
	ockam_message_init(&e->reply);
	ockam_route_copy(&e->reply.onward, &msg->ret);
	ockam_route_append(&e->reply.ret, &msg->onward.hop[0]);
	e->reply.payload = msg->payload;
	e->reply.payload_len = msg->payload_len;
	return e->host->send(e->ctx, &e->reply);
}

static void abi1_destroy(void *state)
{
	free(state);
}

static const struct ockam_plugin plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "abi1_echoer",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "an echoer built for plugin ABI 1",
	.create = abi1_create,
	.handle_message = abi1_handle,
	.destroy = abi1_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &plugin;
}
