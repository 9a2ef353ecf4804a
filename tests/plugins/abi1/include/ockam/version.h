/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ABI versions.  A plugin states the plugin ABI it was built for in its
 * descriptor; the host refuses any other major version.  See
 * docs/plugins.md ("Versioning") for what a bump means.
 */
#ifndef OCKAM_VERSION_H
#define OCKAM_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change to struct ockam_plugin, struct
 * ockam_host, struct ockam_message or struct ockam_route. */
#define OCKAM_PLUGIN_ABI_VERSION 1u
/* The host services table version (struct ockam_host.abi_version). */
#define OCKAM_HOST_ABI_VERSION 1u

#ifdef __cplusplus
}
#endif

#endif
