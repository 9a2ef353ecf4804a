/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin built against newer headers whose descriptor has grown an
 * optional op this host does not know: it loads, and the extra field is
 * ignored. */
#include "bad_common.h"

struct grown_plugin {
	struct ockam_plugin base;
	void (*op_from_the_future)(void *state);
};

static void grown_undeliverable(void *state, void *addr_data,
				const struct ockam_message *msg, int err,
				const char *why)
{
	(void)state, (void)addr_data, (void)msg, (void)err, (void)why;
}

static const struct grown_plugin plugin = {
	.base = {
		.abi_version = OCKAM_PLUGIN_ABI_VERSION,
		.struct_size = sizeof(struct grown_plugin),
		.name = "grown_descriptor",
		.kind = OCKAM_PLUGIN_WORKER,
		.create = bad_create,
		.handle_message = bad_handle,
		.destroy = bad_destroy,
		.handle_undeliverable = grown_undeliverable,
	},
	.op_from_the_future = bad_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &plugin.base;
}
