/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nodes the secure-channel integration tests are made of, written as
 * YAML into the test's temp dir: a listener node (echoer + secure channel
 * listener `bob_listener`) and initiator nodes (secure channel initiator
 * `alice` towards it, optionally sending one message through it).
 */
#ifndef OCKAM_TESTS_INTEG_SECURE_H
#define OCKAM_TESTS_INTEG_SECURE_H

#include "integ.h"

/* Write <node>.yaml: node `node` on tcp 127.0.0.1:`port` (0: ephemeral)
 * with an echoer and a listener bob_listener with `options` (YAML
 * flow-map entries, e.g. "trust: everyone").  A fatal assertion if the
 * file cannot be written; returns its path. */
const char *integ_listener_config(const char *node, int port,
				  const char *options);

/* Start integ_listener_config(node, 0, options) and wait until it is
 * ready; *port gets its port.  A fatal assertion if it does not start. */
struct hx_proc *integ_start_listener(const char *node, const char *options,
				     int *port);

/* An initiator node, as integ_initiator_config writes it. */
struct integ_initiator {
	const char *node;    /* the node's name; its file is <node>.yaml */
	int port;            /* the listener node's tcp port (127.0.0.1) */
	int via;             /* if not 0, go first through `hop` on this port */
	const char *options; /* alice's options besides role and route */
	const char *payload; /* if set, one message to [alice, echoer] ... */
	const char *timeout; /* ... whose reply is awaited this long */
	const char *messages; /* else, if set: `messages:` items, as YAML */
	const char *after;   /* after_messages (NULL: the default, exit) */
};

/* Write <node>.yaml for `i`; a fatal assertion if it cannot be written.
 * Returns its path. */
const char *integ_initiator_config(const struct integ_initiator *i);

/* What most trust tests do: run node `node`, whose alice has `options`,
 * sending "Hello Ockam!" to the echoer behind the listener on `port`
 * (waiting `timeout` for the reply), to its end.  *out is the process;
 * alice's identifier is copied to `id` (asserted) if given.  Returns the
 * exit status. */
int integ_run_hello(const char *node, int port, const char *options,
		    const char *timeout, char *id, struct hx_proc **out);

/* Run the shipped secure tutorial (`<prefix>responder.yaml`, `middle`,
 * `initiator`) and assert what the user sees: the reply arrives; the
 * echoer got it out of a channel (return route [sc_enc.<id>, app]); both
 * ends name each other (integ_check_channel_peers); no node logs a
 * warning or error; responder and middle exit 0 on SIGTERM.  Returns the
 * initiator, for checks of its own. */
struct hx_proc *integ_check_secure_tutorial(const char *prefix);

#endif
