/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node description: what one `ockam-host node.yaml` runs.  config.c
 * walks the YAML tree with key tables and reports every problem as
 * "file:line:col: message"; it does not load plugins, so checks that need
 * them (worker types exist, route schemes) happen in node.c with the same
 * positions.
 *
 *   node: responder                 # required; [A-Za-z0-9_.-]{1,64}
 *   log_level: info                 # error|warn|info|debug|trace
 *   plugin_dir: plugins             # string or list; relative to this file
 *   transports:                     # type -> options (a map, or empty)
 *     tcp:
 *       listen: [127.0.0.1:4000]
 *   workers:                        # address -> worker
 *     echoer:
 *       type: echoer                # required: the plugin's name
 *       options: {}                 # optional map, given to the plugin
 *       access: anyone              # anyone | secure_channel | [identifiers]
 *       reach: [echoer]             # addresses, tcp:host:port patterns it may reach
 *   routes:                         # name -> list of addresses
 *     to_echoer: [tcp:localhost:3000, hop, tcp:localhost:4000, echoer]
 *   messages:                       # sent once every instance started
 *     - route: to_echoer            # a list, or a name under routes:
 *       payload: Hello Ockam!       # required string
 *       reply: true                 # wait for a reply (default true)
 *       timeout: 10s                # how long to wait (default 10s)
 *   after_messages: exit            # exit (default) | run
 */
#ifndef OCKAM_HOST_CONFIG_H
#define OCKAM_HOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/host.h>

#include "diag.h"
#include "opt.h"

/* Who may send to a worker (its `access:` key). */
enum config_access {
	CONFIG_ACCESS_ANYONE = 0,      /* the tutorial's AllowAll; the default */
	CONFIG_ACCESS_SECURE,          /* only messages a secure channel decrypted */
	CONFIG_ACCESS_IDENTIFIERS,     /* ... and only from these identifiers */
};

struct config_instance {
	const char *name; /* worker address, or transport type */
	const char *type; /* plugin name (== name for transports) */
	const struct ockam_opt *node;    /* the entry (for positions) */
	const struct ockam_opt *type_node; /* the `type:` value (positions); == node key for transports */
	const struct ockam_opt *options; /* may be NULL */
	/* Workers only: `access:` and `reach:` (flow control). */
	enum config_access access;
	const char **access_ids; /* CONFIG_ACCESS_IDENTIFIERS */
	size_t n_access_ids;
	const char **reach;      /* local addresses its messages may reach; */
	size_t n_reach;          /* NULL = anywhere */
	/* The `reach:` list (positions); entries with a ':' are transport
	 * patterns, parsed by the node. */
	const struct ockam_opt *reach_node;
};

struct config_route {
	const char *name;
	const struct ockam_opt *route; /* a list of scalars */
};

struct config_message {
	const struct ockam_opt *node;
	/* Exactly one of these is set: an inline list, or a named route. */
	const struct ockam_opt *route;
	const char *route_name;
	const struct ockam_opt *route_name_node;
	const char *payload;
	size_t payload_len;
	int want_reply;       /* default 1 */
	uint64_t timeout_ms;  /* default 10000 */
};

enum config_after { CONFIG_AFTER_EXIT = 0, CONFIG_AFTER_RUN = 1 };

struct config {
	char *path;  /* as given */
	char *dir;   /* directory of path, for relative paths */
	struct ockam_opt *root;
	const char *node_name;
	int log_level; /* enum ockam_log_level, or -1 if not set */
	const char **plugin_dirs; /* absolute or relative-to-cwd, resolved */
	const struct ockam_opt **plugin_dir_nodes; /* their entries (positions) */
	size_t n_plugin_dirs;
	struct config_instance *transports;
	size_t n_transports;
	struct config_instance *workers;
	size_t n_workers;
	struct config_route *routes;
	size_t n_routes;
	struct config_message *messages;
	size_t n_messages;
	enum config_after after_messages;
};

/* Load and validate.  Returns NULL after reporting every problem found to
 * `d` (all of them, not just the first). */
struct config *config_load(const char *path, struct diag *d);
/* The same, but a file that parsed into a top-level map gives a config
 * even if some of it was wrong (reported to `d`; the entries at fault are
 * left out), so the node can go on and check plugins, options and routes
 * in the same run.  NULL only if there is no tree to walk. */
struct config *config_load_partial(const char *path, struct diag *d);
/* The options map of instance `ci`, made (an empty map in the tree) if its
 * entry had none, so defaults can be filled in; ci->options is set.  NULL
 * if out of memory. */
struct ockam_opt *config_instance_options(struct config *c,
					  struct config_instance *ci);
void config_free(struct config *c);
const struct config_route *config_route_find(const struct config *c,
					     const char *name);

#endif
