/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A node: one YAML file's plugins and instances, one loop, one router.
 * main.c is a thin shim over this; tests drive it directly.
 *
 * Lifecycle: node_create (load config, load plugins, create transports and
 * start them, then create workers: any error is reported as file:line:col
 * and nothing keeps running) -> node_start (start workers, send the YAML's
 * messages) -> node_run -> node_destroy (stop in reverse order of start,
 * destroy in reverse order of create, free everything).
 */
#ifndef OCKAM_HOST_NODE_H
#define OCKAM_HOST_NODE_H

#include <stdio.h>

#include <ockam/plugin.h>

#include "config.h"
#include "diag.h"
#include "loader.h"
#include "router.h"

struct app;
struct loop;
struct status;
struct router;

/* One plugin instance; the plugin sees it as an opaque ctx. */
struct ockam_ctx {
	struct node *node;
	struct plugin_lib *lib;
	const struct config_instance *cfg;
	const char *name; /* address (workers) or type (transports) */
	void *state;
	int created, started;
	int options_ok; /* its options passed the plugin's table and check */
	struct router_sender sender;  /* name, privileges and reach */
	struct router_policy policy;  /* who may send to its YAML address */
	struct ockam_addr *reach_addrs; /* its reach's transport patterns */
	/* Blocks the host handed the plugin for its lifetime (opt_get_route
	 * and opt_get_addrs views), freed after its destroy. */
	void **owned;
	size_t n_owned;
};

struct node {
	struct config *cfg;
	struct diag diag;
	struct loop *loop;
	struct router *router;
	char **search;
	struct plugin_lib **libs;
	size_t n_libs;
	struct ockam_ctx **inst; /* in creation order */
	size_t n_inst;
	struct app *app;
	int exit_code;
	int check_only;
	struct status *status; /* rows for `ockam-host status` (status.c) */
	struct notices *notices; /* delivery-failure notices (notice.c) */
};

struct node_args {
	const char *config_path;
	int check_only;  /* load, create and validate; start nothing */
	FILE *diag_echo; /* where config errors go (stderr), or NULL */
	int log_level;   /* forced by the command line or OCKAM_LOG; -1: the config's */
	int no_messages; /* ignore the YAML's messages: (ping and status use the node) */
};

/* Returns NULL on failure; *exit_code is then 2 (bad configuration) or 1. */
struct node *node_create(const struct node_args *args, int *exit_code);
/* Start every instance not started yet.  0, -1 on a failure, or -2 if a
 * plugin reported it at a YAML entry (opt_error: a listen address in
 * use), which is a configuration error (exit 2). */
int node_start(struct node *n);
/* Run until a signal or, with messages and after_messages: exit, until
 * they are answered.  Returns the process exit code. */
int node_run(struct node *n);
void node_destroy(struct node *n);

/* Ask the loop to stop after the current callback with `code`. */
void node_quit(struct node *n, int code);

/* Resolve a route node (a list, or a name under routes:) into `out`,
 * whose hops go into `hops` (room for OCKAM_ROUTE_MAX) and point at the
 * configuration's strings (alive as long as the node); errors are
 * reported at their position.  0 or -EINVAL. */
int node_route_resolve(struct node *n, const struct ockam_opt *o,
		       struct ockam_addr *hops, struct ockam_route *out);

/* Keep `p` (malloc'd) until the instance is destroyed.  0 or -ENOMEM
 * (then `p` is freed). */
int node_ctx_keep(struct ockam_ctx *ctx, void *p);

/* 1 if `a` is a local address owned by a secure channel instance (where a
 * request goes into a channel, so its answer must come out of one:
 * ockam_message_is_reply). */
int node_address_is_secure_channel(const struct node *n,
				   const struct ockam_addr *a);

/* Messages the node accepted and has not handed on yet: in the local
 * queue, or held by an instance (its plugin's `pending` op: a connection
 * still connecting, a channel's queue during its handshake).  `why` gets
 * one phrase per holder ("alice: 3 queued until ..."). */
size_t node_pending(const struct node *n, char *why, size_t len);

/* The services table handed to plugins (services.c). */
const struct ockam_host *services_table(void);
/* Deliver a routed message to an instance (router callback). */
int services_deliver(void *owner, void *addr_data,
		     const struct ockam_message *msg);
/* Hand a delivery-failure notice to an instance (notice.c callback). */
void services_notify(void *owner, void *addr_data,
		     const struct ockam_message *msg, int err, const char *why);

#endif
