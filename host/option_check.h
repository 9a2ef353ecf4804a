/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Declared options (plugin.h's struct ockam_option): the host checks every
 * instance's `options:` against its plugin's table and fills in defaults,
 * so create reads values that are present and well-formed, and
 * `ockam-host --check` prints them.  Every problem is reported to the
 * node's diag with its position, and checking goes on, so one run reports
 * all of them.
 *
 * Two phases, because address schemes ("tcp:") exist only once the
 * transports are created:
 *   option_check_instance  keys, types, ranges, choices, required keys,
 *                          named routes exist, defaults filled in;
 *   option_check_refs      the hops of ROUTE options and the patterns of
 *                          ADDRS options (option_check_route).
 */
#ifndef OCKAM_HOST_OPTION_CHECK_H
#define OCKAM_HOST_OPTION_CHECK_H

#include <stddef.h>

#include <ockam/plugin.h>

#include "config.h"
#include "diag.h"

struct node;
struct ockam_ctx;

/* A plugin's table is well-formed: names unique and valid, types known,
 * REQUIRED keys without a default, defaults that parse and fit the
 * declaration, ENUMs with choices.  On error writes why to `err` and
 * returns -1 (the plugin is refused like one with a bad descriptor). */
int option_table_check(const struct ockam_option *table, char *err,
		       size_t err_len);

/* Phase 1 for instance `ci` of a plugin declaring `table` (NULL: no
 * options at all).  Fills in defaults (creating the options map if the
 * entry had none: ci->options is set).  A value it refuses is replaced by
 * its default, or removed from the tree if it has none, so the plugin's
 * check op may still run and report its own problems in the same run
 * (reading only well-formed values, every key with a default present):
 * *may_check says whether it may (no required key is missing).  Returns
 * the number of errors. */
unsigned option_check_instance(struct config *c, struct config_instance *ci,
			       const struct ockam_option *table,
			       struct diag *d, int *may_check);

/* Phase 2 for instance `ctx` (whose phase 1 passed).  Returns the number
 * of errors. */
unsigned option_check_refs(struct node *n, const struct ockam_ctx *ctx);

/* Check a route as written (a list, or the name of a declared route,
 * whose hops are then not checked again): every hop parses
 * (node_route_resolve: a transport address has a port from 1 to 65535),
 * and a first hop that is local names a worker of this node.  Returns the
 * number of errors. */
unsigned option_check_route(struct node *n, const struct ockam_opt *route);

/* "host:port", the value of a transport address (route.h's patterns are
 * host:port for every transport): NULL if the port is a number from 1 to
 * 65535, else why, written to `buf`. */
const char *option_port_error(const char *value, char *buf, size_t len);

#endif
