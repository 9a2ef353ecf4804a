/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin whose create reports a problem with its options and fails. */
#include "bad_common.h"

static int fail_create(const struct ockam_host *host, struct ockam_ctx *ctx,
		       void **state)
{
	return host->opt_error(ctx, host->opt_get(host->opt_root(ctx), "level"),
			       "level must be below 10");
}

static const struct ockam_option fail_options[] = {
	{.name = "level", .type = OCKAM_OPTION_INT, .help = "any number"},
	{0},
};

static const struct ockam_plugin plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "create_fails",
	.kind = OCKAM_PLUGIN_WORKER,
	.options = fail_options,
	.create = fail_create,
	.handle_message = bad_handle,
	.destroy = bad_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &plugin;
}
