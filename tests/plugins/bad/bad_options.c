/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin whose options table contradicts itself: a required key with a
 * default.  The host refuses to load it, naming the key. */
#include "bad_common.h"

static const struct ockam_option options[] = {
	{.name = "level", .type = OCKAM_OPTION_INT, .def = "3",
	 .flags = OCKAM_OPTION_REQUIRED, .help = "how loud"},
	{0},
};

static const struct ockam_plugin plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "bad_options",
	.kind = OCKAM_PLUGIN_WORKER,
	.options = options,
	.create = bad_create,
	.handle_message = bad_handle,
	.destroy = bad_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &plugin;
}
