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

#include <stddef.h>
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
	 * Return 0 once the message is taken, or a negative errno if it is
	 * not (-ENOBUFS: full, the sender may retry; -EMSGSIZE, ...): the
	 * sender learns it, from its send when the message was handed over
	 * at once, else from a delivery-failure notice to the first hop of
	 * its return route.  So do not also call message_undeliverable for
	 * it.  Log the reason yourself, once (the host only counts it). */
	int (*handle_message)(void *state, void *addr_data,
			      const struct ockam_message *msg);
	/* Optional.  Stop work: close listeners, flush what can be flushed
	 * without blocking.  The loop no longer runs after stop. */
	void (*stop)(void *state);
	/* Mandatory.  Free everything create and the instance allocated.
	 * Sources and addresses still registered are removed by the host. */
	void (*destroy)(void *state);

	/* ---- appended; every op from here on is optional -------------
	 *
	 * A descriptor built against older headers is shorter: the host
	 * reads it as if these fields were NULL.  A host older than your
	 * headers ignores them (check host->struct_size for the service
	 * that goes with an op you rely on). */

	/* Optional.  A message sent from `addr_data`'s address (the first
	 * hop of its return route) will not be delivered: a transport or
	 * channel accepted it and then had to drop it (`err` a negative
	 * errno such as -ECONNREFUSED, `why` a short human reason).  `msg`
	 * is the message as the dropper held it.  Called from the loop like
	 * handle_message, never inside another handler; it must not fail
	 * and must not be relied on: a notice is best effort (local to the
	 * node, and lost if the host's notice queue is full). */
	void (*handle_undeliverable)(void *state, void *addr_data,
				     const struct ockam_message *msg, int err,
				     const char *why);

	/* Optional.  How many messages the instance accepted (its send op
	 * or handle_message returned 0) and still holds without having
	 * handed them on: frames of a connection still connecting or not
	 * yet written, a channel's queue during its handshake.  Write what
	 * holds them to `why` as a short phrase ("2 waiting for the
	 * connection to localhost:4000").  A node that sent its YAML
	 * `messages:` asks before it exits, and waits (within the
	 * messages' timeout) until nothing is held; what is still held
	 * when it must stop is reported and makes its exit status 1.
	 * Must be cheap and must not send. */
	size_t (*pending)(void *state, char *why, size_t why_len);
};

/* The size of the first version of the descriptor (up to `destroy`): the
 * smallest struct_size the loader accepts. */
#define OCKAM_PLUGIN_SIZE_V1 \
	(offsetof(struct ockam_plugin, destroy) + sizeof(void (*)(void *)))

typedef const struct ockam_plugin *(*ockam_plugin_entry_fn)(void);

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif
