/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tamper: a hop (forward, adding itself to the return route) that attacks
 * chosen messages, for testing the secure channel from a middle node:
 *
 *   workers:
 *     hop:
 *       type: tamper
 *       options: { flip: 6, truncate: 7, replay: 8, drop: 10 }
 *
 * Each option is the 1-based number of a message passing through (either
 * direction): flip inverts one payload bit, truncate cuts the payload in
 * half, replay forwards it twice, drop does not forward it.  Every attack
 * is logged at INFO with the message's first payload byte (the secure
 * channel's message type), so a test can check it hit what it meant to.
 * With `trace: true` every message passing through is logged the same way
 * (`tamper: saw message N (type 0x06)`), so a test can count the
 * records that crossed the wire.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <ockam/ockam.h>

enum { FLIP, TRUNCATE, REPLAY, DROP, ATTACKS };
static const char *const attack_keys[] = { "flip", "truncate", "replay",
					   "drop", NULL };

struct tamper {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	uint64_t at[ATTACKS]; /* message number, 0 = never */
	uint64_t count;
	int trace;
};

static int tamper_create(const struct ockam_host *host, struct ockam_ctx *ctx,
			 void **state)
{
	const struct ockam_opt *root = host->opt_root(ctx);
	struct tamper *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->host = host;
	t->ctx = ctx;
	for (int i = 0; i < ATTACKS; i++)
		if (host->opt_get_u64(ctx, root, attack_keys[i], 0, UINT64_MAX,
				      &t->at[i]) != 0) {
			free(t);
			return -EINVAL;
		}
	if (host->opt_get_bool(ctx, root, "trace", &t->trace) != 0) {
		free(t);
		return -EINVAL;
	}
	*state = t;
	return 0;
}

static int tamper_handle(void *state, void *addr_data,
			 const struct ockam_message *msg)
{
	struct tamper *t = state;
	struct ockam_message fwd, *f = &fwd;
	struct ockam_addr ret[OCKAM_ROUTE_MAX];
	uint64_t n = ++t->count;

	if (msg->onward.count < 2)
		return -EINVAL;
	/* Forwarded by reference, as a hop does; attacks change the
	 * payload in place (it is ours until we return). */
	ockam_message_init(f);
	f->onward = ockam_route_rest(&msg->onward);
	if (ockam_route_prepend(ret, OCKAM_ROUTE_MAX, &msg->onward.hop[0],
				&msg->ret, &f->ret) != 0)
		return -EINVAL;
	uint8_t *buf = ockam_message_payload_mut(msg);
	f->payload = buf;
	f->payload_len = msg->payload_len;
	/* A test's stand-in for a compromised middle node: it forwards
	 * wherever the route says, dialling if it must (never use it
	 * outside tests: that is an open relay). */
	f->flags = OCKAM_MSG_CONNECT;

	int copies = 1;
	unsigned type = msg->payload_len ? msg->payload[0] : 0;
	if (t->trace)
		t->host->log(t->ctx, OCKAM_LOG_INFO,
			     "tamper: saw message %" PRIu64 " (type 0x%02x)",
			     n, type);
	if (n == t->at[DROP]) {
		t->host->log(t->ctx, OCKAM_LOG_INFO,
			     "tamper: dropped message %" PRIu64 " (type 0x%02x)",
			     n, type);
		return 0;
	}
	if (n == t->at[FLIP] && f->payload_len) {
		buf[f->payload_len / 2] ^= 0x01;
		t->host->log(t->ctx, OCKAM_LOG_INFO,
			     "tamper: flipped a bit of message %" PRIu64
			     " (type 0x%02x)", n, type);
	}
	if (n == t->at[TRUNCATE]) {
		f->payload_len /= 2;
		t->host->log(t->ctx, OCKAM_LOG_INFO,
			     "tamper: truncated message %" PRIu64 " (type 0x%02x)",
			     n, type);
	}
	if (n == t->at[REPLAY]) {
		copies = 2;
		t->host->log(t->ctx, OCKAM_LOG_INFO,
			     "tamper: replayed message %" PRIu64 " (type 0x%02x)",
			     n, type);
	}
	for (int i = 0; i < copies; i++)
		t->host->send(t->ctx, f);
	return 0;
}

static void tamper_destroy(void *state)
{
	free(state);
}

static const struct ockam_option tamper_options[] = {
	{.name = "flip", .type = OCKAM_OPTION_INT, .min = 1,
	 .max = UINT64_MAX, .help = "invert one payload bit of message N"},
	{.name = "truncate", .type = OCKAM_OPTION_INT, .min = 1,
	 .max = UINT64_MAX, .help = "cut the payload of message N in half"},
	{.name = "replay", .type = OCKAM_OPTION_INT, .min = 1,
	 .max = UINT64_MAX, .help = "forward message N twice"},
	{.name = "drop", .type = OCKAM_OPTION_INT, .min = 1,
	 .max = UINT64_MAX, .help = "do not forward message N"},
	{.name = "trace", .type = OCKAM_OPTION_BOOL, .def = "false",
	 .help = "log every message passing through"},
	{0},
};

static const struct ockam_plugin tamper_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "tamper",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "a hop that flips, truncates, replays or drops chosen messages (tests)",
	.options = tamper_options,
	.create = tamper_create,
	.handle_message = tamper_handle,
	.destroy = tamper_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &tamper_plugin;
}
