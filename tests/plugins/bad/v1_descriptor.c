/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin built before handle_undeliverable was appended: its struct_size
 * is the first version's.  The loader must accept it and read the ops it
 * lacks as NULL, whatever lies in memory after its descriptor. */
#include "bad_common.h"

static void v1_undeliverable(void *state, void *addr_data,
			     const struct ockam_message *msg, int err,
			     const char *why)
{
	(void)state, (void)addr_data, (void)msg, (void)err, (void)why;
}

static const struct ockam_plugin plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = OCKAM_PLUGIN_SIZE_V1,
	.name = "v1_descriptor",
	.kind = OCKAM_PLUGIN_WORKER,
	.create = bad_create,
	.handle_message = bad_handle,
	.destroy = bad_destroy,
	/* Beyond struct_size: the host must not see it. */
	.handle_undeliverable = v1_undeliverable,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &plugin;
}
