/* SPDX-License-Identifier: Apache-2.0 */
/* A worker that cannot receive messages. */
#include "bad_common.h"

static const struct ockam_plugin plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "no_handler",
	.kind = OCKAM_PLUGIN_WORKER,
	.create = bad_create,
	.destroy = bad_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &plugin;
}
