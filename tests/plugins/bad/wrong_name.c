/* SPDX-License-Identifier: Apache-2.0 */
/* A file whose descriptor names another plugin. */
#include "bad_common.h"

static const struct ockam_plugin plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "somebody_else",
	.kind = OCKAM_PLUGIN_WORKER,
	.create = bad_create,
	.handle_message = bad_handle,
	.destroy = bad_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &plugin;
}
