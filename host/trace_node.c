/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's side of the message-flow trace: which file (the `trace:` key
 * or OCKAM_TRACE), who owns an address (an instance's name), and the
 * plugins' service (host->trace).  See trace.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "node.h"
#include "router.h"
#include "trace.h"

/* The instance that registered an address: its YAML name, so a secure
 * channel's random addresses show as the channel. */
static const char *owner_name(void *data, const void *owner)
{
	const struct node *n = data;
	for (size_t i = 0; i < n->n_inst; i++)
		if (n->inst[i] == owner)
			return n->inst[i]->name;
	return NULL;
}

int trace_node_start(struct node *n)
{
	const char *env = getenv("OCKAM_TRACE");
	const char *path = env && *env ? env : n->cfg->trace_path;
	char resolved[4096], err[512];

	if (!path)
		return 0;
	/* Like every path in the YAML, relative to the file; the
	 * environment's relative to the working directory. */
	if (path == n->cfg->trace_path && path[0] != '/') {
		int len = snprintf(resolved, sizeof(resolved), "%s/%s",
				   n->cfg->dir, path);
		if (len < 0 || (size_t)len >= sizeof(resolved)) {
			log_write(OCKAM_LOG_ERROR, "trace",
				  "trace file name too long: %s", path);
			return -1;
		}
		path = resolved;
	}
	n->trace = trace_open(path, n->cfg->node_name, err, sizeof(err));
	if (!n->trace) {
		const struct ockam_opt *o = n->cfg->trace_node;
		if (path != env) {
			/* The YAML named it: said at its entry, exit 2. */
			diag_error(&n->diag, o->file, o->line, o->col, "%s", err);
			return -2;
		}
		log_write(OCKAM_LOG_ERROR, "trace", "OCKAM_TRACE: %s", err);
		return -1;
	}
	if (trace_attach(n->trace, n->router, n->loop, owner_name, n) < 0) {
		trace_close(n->trace);
		n->trace = NULL;
		return -1;
	}
	router_set_trace(n->router, n->trace);
	log_write(OCKAM_LOG_INFO, "trace", "writing the message-flow trace to %s",
		  path);
	return 0;
}

void trace_node_stop(struct node *n)
{
	if (!n->trace)
		return;
	if (n->router)
		router_set_trace(n->router, NULL);
	if (n->loop)
		loop_remove_owner(n->loop, n->trace);
	trace_close(n->trace);
	n->trace = NULL;
}

int trace_svc_enabled(struct ockam_ctx *ctx)
{
	return ctx->node->trace != NULL;
}

void trace_svc_event(struct ockam_ctx *ctx, const struct ockam_trace_event *ev)
{
	struct node *n = ctx->node;
	uint64_t id;

	if (!n->trace || !ev)
		return;
	switch (ev->kind) {
	case OCKAM_TRACE_WIRE_OUT:
		/* Written from the send that handed it over. */
		id = router_trace_sent(n->router);
		break;
	case OCKAM_TRACE_WIRE_IN:
		/* A frame continues the flow whose id it carried (message
		 * version 2), or starts one on this node; the transport's
		 * next send (delivering it) carries the same id. */
		id = ev->msg && (ev->msg->flags & OCKAM_MSG_TRACE_ID) &&
				     ev->msg->trace_id ?
			     ev->msg->trace_id :
			     trace_new_id();
		router_trace_in(n->router, id);
		break;
	default:
		id = router_trace_id(n->router);
		break;
	}
	trace_plugin(n->trace, ctx->name, ev, id);
}
