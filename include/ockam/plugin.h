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
 *   [options validated] -> check -> create -> start -> handle_message*
 *   -> stop -> destroy
 * The host validates every instance's `options:` against the plugin's
 * declared `options` table (with every other error of the file, in one
 * pass) and fills in declared defaults before check and create run, so
 * create reads values that are present and well-formed.  check (optional)
 * does cross-option checks and reports with opt_error; it runs for every
 * instance before any create, and allocates nothing.  create allocates; it
 * must not send.  Transports call host->transport_register in create, so
 * routes naming their scheme parse even when nothing is started
 * (ockam-host --check).  start may send and arm timers; transports are
 * started before any worker is created.  stop runs for every started
 * instance, in reverse order of start; destroy frees everything, even if
 * start never ran.
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

/* ---- declared options ------------------------------------------------
 *
 * A plugin declares the keys of its `options:` map in a table; the host
 * validates them (unknown keys with a did-you-mean, types, ranges, choices,
 * required keys), every error with file:line:col, fills in defaults that
 * `ockam-host --check` prints, and generates the option tables of
 * docs/configuration.md from the same declarations.  Read the values in
 * create with the opt_get_* services (they cannot fail on a declared key).
 *
 *	static const struct ockam_option hop_options[] = {
 *		{.name = "to", .type = OCKAM_OPTION_ADDRS, .def = "[]",
 *		 .help = "transport addresses it may forward to"},
 *		{.name = "max_hops", .type = OCKAM_OPTION_INT, .def = "32",
 *		 .min = 1, .max = 32, .help = "longest return route"},
 *		{0},
 *	};
 */
enum ockam_option_type {
	/* A YAML string.  A plain scalar that YAML reads as another type
	 * (42, true, 1.5, null) is refused: quote it ("42"). */
	OCKAM_OPTION_STRING = 1,
	/* One of the words in `choices` ("noise|x3dh"), as a string. */
	OCKAM_OPTION_ENUM,
	/* true or false. */
	OCKAM_OPTION_BOOL,
	/* A plain decimal integer in [min, max] ("42"; a quoted "42" is a
	 * string and refused). */
	OCKAM_OPTION_INT,
	/* A duration with a unit: 250ms, 10s, 5m, 1h, 7d, or 0; in
	 * milliseconds in [min, max]. */
	OCKAM_OPTION_DURATION,
	/* A size: 64KiB, 1MiB, or a byte count; in bytes in [min, max]. */
	OCKAM_OPTION_SIZE,
	/* A route: a list of addresses, or the name of a route declared
	 * under the node's `routes:`; hops checked at load time. */
	OCKAM_OPTION_ROUTE,
	/* A list of strings.  One string without brackets is a list of
	 * one (`listen: 127.0.0.1:4000`); create sees a list either way. */
	OCKAM_OPTION_STRINGS,
	/* A list of address patterns (route.h): tcp:host:port, * allowed;
	 * one without brackets is a list of one, as for STRINGS. */
	OCKAM_OPTION_ADDRS,
	/* A file path, relative to the node's YAML file. */
	OCKAM_OPTION_PATH,
	/* Anything; the plugin checks it itself (check op). */
	OCKAM_OPTION_ANY,
};

enum {
	/* The key must be present (then `def` must be NULL). */
	OCKAM_OPTION_REQUIRED = 1u << 0,
};

struct ockam_option {
	const char *name; /* NULL ends the table */
	enum ockam_option_type type;
	/* The default as YAML text ("10s", "[]", "noise"), filled in when
	 * the key is absent; NULL: none (the key stays absent). */
	const char *def;
	/* INT, DURATION (ms) and SIZE (bytes): the accepted range.  A max
	 * of 0 means no upper bound (min 0: no lower bound). */
	uint64_t min, max;
	const char *choices; /* ENUM: the words, separated by '|' */
	uint32_t flags;      /* OCKAM_OPTION_* flags */
	const char *help;    /* one line, for --check and the docs */
};

struct ockam_plugin {
	/* Must stay the first two fields in every ABI version. */
	uint32_t abi_version; /* OCKAM_PLUGIN_ABI_VERSION */
	uint32_t struct_size; /* sizeof(struct ockam_plugin) */

	const char *name; /* the type used in YAML; the file is <name>.so */
	enum ockam_plugin_kind kind;
	const char *description; /* one line, for --check, logs and docs */

	/* The keys of the instance's `options:`, ended by an entry whose
	 * name is NULL.  NULL: the plugin takes no options (any key is an
	 * error). */
	const struct ockam_option *options;

	/* Optional.  Cross-option checks the table cannot express ("key
	 * x needs key y").  Report each problem with host->opt_error and
	 * return -EINVAL, or return 0.  Runs after the table's checks for
	 * this instance, before any instance is created, so its problems
	 * are reported in the same run as every other: a value the table
	 * refused then reads as its default, or as absent if it has none
	 * (check does not run if a required key is missing or refused).  So
	 * every value it reads is well-formed.  Must not allocate or keep
	 * anything. */
	int (*check)(const struct ockam_host *host, struct ockam_ctx *ctx);

	/* Mandatory.  Allocate the instance, read its options, store `host`
	 * and `ctx`.  Return 0 and set *state, or a negative errno. */
	int (*create)(const struct ockam_host *host, struct ockam_ctx *ctx,
		      void **state);
	/* Optional.  Begin work: listen, connect, arm timers. */
	int (*start)(void *state);
	/* Mandatory for workers and secure channels.  `addr_data` is the
	 * pointer given to address_add (NULL for the instance's own YAML
	 * address).  msg->onward.hop[0] is the address it was sent to.
	 * Called from the loop only, never inside another plugin call:
	 * nothing you send is delivered before you return.  `msg` is
	 * borrowed (message.h).  Return 0 once the message is taken, or a
	 * negative errno if it is not (-ENOBUFS: full, the sender may
	 * retry; -EMSGSIZE, ...): the sender learns it from a
	 * delivery-failure notice (handle_undeliverable at the first hop
	 * of the message's return route), so do not also call
	 * message_undeliverable for it.  Log the reason yourself, once
	 * (the host only counts it). */
	int (*handle_message)(void *state, void *addr_data,
			      const struct ockam_message *msg);
	/* Optional.  A message sent from `addr_data`'s address (the first
	 * hop of its return route) will not be delivered: the worker it was
	 * queued for refused it, or a transport or channel accepted it and
	 * then had to drop it (`err` a negative errno such as
	 * -ECONNREFUSED, `why` a short human reason).  `msg` is the message
	 * as the dropper held it, borrowed.  Called from the loop like
	 * handle_message; it must not fail and must not be relied on: a
	 * notice is best effort (local to the node, and lost if the host's
	 * notice queue is full). */
	void (*handle_undeliverable)(void *state, void *addr_data,
				     const struct ockam_message *msg, int err,
				     const char *why);
	/* Optional.  How many messages the instance accepted and still
	 * holds without having handed them on: frames of a connection
	 * still connecting or not yet written, a channel's queue during
	 * its handshake.  Write what holds them to `why` as a short phrase
	 * ("2 waiting for the connection to localhost:4000").  A node that
	 * sent its YAML `messages:` asks before it exits, and waits (within
	 * the messages' timeout) until nothing is held; what is still held
	 * when it must stop is reported and makes its exit status 1.  Must
	 * be cheap and must not send. */
	size_t (*pending)(void *state, char *why, size_t why_len);
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
