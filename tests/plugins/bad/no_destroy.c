/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin without its mandatory destroy op. */
#include "bad_common.h"

static const struct ockam_plugin plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "no_destroy",
	.kind = OCKAM_PLUGIN_WORKER,
	.create = bad_create,
	.handle_message = bad_handle,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &plugin;
}
