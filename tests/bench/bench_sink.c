/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_sink: the far end of the bench worker's one-way mode (tests/bench).
 * Counts what it receives and, every `ack_every` messages, replies along
 * the return route with the count (8 bytes, host order) so the sender can
 * keep a bounded window without an echo per message.
 */
#include <errno.h>
#include <stdlib.h>

#include <ockam/ockam.h>

struct sink {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	uint64_t ack_every, count;
};

static const struct ockam_option sink_options[] = {
	{.name = "ack_every", .type = OCKAM_OPTION_INT, .def = "64", .min = 1,
	 .max = 4096, .help = "acknowledge every this many messages"},
	{0},
};

static int sink_create(const struct ockam_host *h, struct ockam_ctx *ctx,
		       void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->host = h;
	s->ctx = ctx;
	if (h->opt_get_u64(ctx, h->opt_root(ctx), "ack_every", 0, UINT64_MAX,
			   &s->ack_every) != 0) {
		free(s);
		return -EINVAL;
	}
	*state = s;
	return 0;
}

static int sink_handle(void *state, void *addr_data,
		       const struct ockam_message *msg)
{
	struct sink *s = state;
	if (++s->count % s->ack_every != 0 || msg->ret.count == 0)
		return 0;
	/* Views of the borrowed message; send copies them. */
	struct ockam_message r;
	ockam_message_init(&r);
	r.onward = msg->ret;
	r.ret = ockam_route_make(&msg->onward.hop[0], 1);
	r.payload = (const uint8_t *)&s->count;
	r.payload_len = sizeof(s->count);
	s->host->send(s->ctx, &r);
	return 0;
}

static void sink_destroy(void *state)
{
	free(state);
}

static const struct ockam_plugin sink_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "bench_sink",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "counts messages, acknowledges every N (tests/bench)",
	.options = sink_options,
	.create = sink_create,
	.handle_message = sink_handle,
	.destroy = sink_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &sink_plugin;
}
