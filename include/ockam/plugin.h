/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plugin descriptor.
 *
 * A plugin is a shared object exporting one function, ockam_plugin_entry(),
 * that returns a pointer to a const, static descriptor:
 *
 *	static const struct ockam_plugin plugin = {
 *		.abi_version = OCKAM_PLUGIN_ABI_VERSION,
 *		.struct_size = sizeof(struct ockam_plugin),
 *		.name = "echoer",
 *		.kind = OCKAM_PLUGIN_WORKER,
 *		...
 *	};
 *	OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
 *	{
 *		return &plugin;
 *	}
 *
 * Lifecycle, per instance (one per YAML entry using the plugin):
 *   create -> start -> handle_message* -> stop -> destroy
 * create reads options and allocates; it must not send.  Transports call
 * host->transport_register in create, so routes naming their scheme parse
 * even when nothing is started (ockam-host --check).  start may send and
 * arm timers; transports are started before any worker is created.  stop runs for every started instance, in reverse order
 * of start; destroy frees everything, even if start never ran.
 */
#ifndef OCKAM_PLUGIN_H
#define OCKAM_PLUGIN_H

#include <stdint.h>

#include <ockam/host.h>
#include <ockam/message.h>
#include <ockam/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OCKAM_PLUGIN_ENTRY_SYMBOL "ockam_plugin_entry"

#if defined(__GNUC__)
#define OCKAM_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define OCKAM_PLUGIN_EXPORT
#endif

enum ockam_plugin_kind {
	/* Declared under `workers:`; gets its address registered by the
	 * host and its messages through handle_message. */
	OCKAM_PLUGIN_WORKER = 1,
	/* Declared under `transports:`; registers an address type with
	 * host->transport_register. */
	OCKAM_PLUGIN_TRANSPORT = 2,
	/* A worker that may mark messages OCKAM_MSG_SECURE. */
	OCKAM_PLUGIN_SECURE_CHANNEL = 3,
};

struct ockam_plugin {
	/* Must stay the first two fields in every ABI version. */
	uint32_t abi_version; /* OCKAM_PLUGIN_ABI_VERSION */
	uint32_t struct_size; /* sizeof(struct ockam_plugin) */

	const char *name; /* the type used in YAML; the file is <name>.so */
	enum ockam_plugin_kind kind;
	const char *description; /* one line, for --check and logs */

	/* Mandatory.  Allocate the instance, read and validate options
	 * (report problems with host->opt_error), store `host` and `ctx`.
	 * Return 0 and set *state, or a negative errno. */
	int (*create)(const struct ockam_host *host, struct ockam_ctx *ctx,
		      void **state);
	/* Optional.  Begin work: listen, connect, arm timers. */
	int (*start)(void *state);
	/* Mandatory for workers and secure channels.  `addr_data` is the
	 * pointer given to address_add (NULL for the instance's own YAML
	 * address).  msg->onward.hop[0] is the address it was sent to.
	 * Return 0, or a negative errno: the host counts it and traces it at
	 * debug level only, so log the reason yourself, once. */
	int (*handle_message)(void *state, void *addr_data,
			      const struct ockam_message *msg);
	/* Optional.  Stop work: close listeners, flush what can be flushed
	 * without blocking.  The loop no longer runs after stop. */
	void (*stop)(void *state);
	/* Mandatory.  Free everything create and the instance allocated.
	 * Sources and addresses still registered are removed by the host. */
	void (*destroy)(void *state);
};

typedef const struct ockam_plugin *(*ockam_plugin_entry_fn)(void);

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif
