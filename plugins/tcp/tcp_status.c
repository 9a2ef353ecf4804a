/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `ockam-host status` shows of the tcp transport: one row per listener
 * and per connection, written when someone asks (nothing is kept for it).
 */
#include <stddef.h>

#include "tcp_internal.h"

static void tcp_status(void *data, struct ockam_status *out)
{
	struct tcp *t = data;
	const struct ockam_host *h = t->host;
	uint64_t now = h->now_ms();

	for (size_t i = 0; i < t->n_listeners; i++) {
		const struct tcp_listener *l = &t->listeners[i];
		if (l->fd < 0)
			continue;
		h->status_add(out, "listener", l->name);
		h->status_set_u64(out, "connections", l->n_conns);
		h->status_set_u64(out, "max_connections", t->max_connections);
	}
	/* Outbound connections are bounded per node, not per listener. */
	h->status_add(out, "outbound", "tcp");
	h->status_set_u64(out, "connections", t->n_outbound);
	h->status_set_u64(out, "max_outbound", t->max_outbound);
	h->status_set_u64(out, "refused", t->outbound_refused);
	/* Not dialled: the sender did not ask (OCKAM_MSG_CONNECT). */
	h->status_set_u64(out, "not_asked", t->connect_refused);
	/* Bytes read and written over every connection, in and out. */
	h->status_add(out, "transport_io", h->instance_name(t->ctx));
	h->status_set_u64(out, "bytes_in", t->bytes_in);
	h->status_set_u64(out, "bytes_out", t->bytes_out);
	for (const struct tcp_conn *c = t->conns; c; c = c->next) {
		h->status_add(out, "connection", c->key);
		h->status_set_str(out, "direction",
				  c->outbound ? "outgoing" : "incoming");
		const char *state = c->state == TCP_CONN_OPEN ? "open"
				    : c->state == TCP_CONN_RESOLVING
					    ? "resolving"
					    : "connecting";

		h->status_set_str(out, "state", state);
		h->status_set_u64(out, "queued_bytes", c->out.len);
		h->status_set_u64(out, "queued_messages", c->out_frames);
		/* Memory held for its buffers: 0 once it is quiet. */
		h->status_set_u64(out, "buffer_bytes",
				  tcp_buf_held(&c->in) + tcp_buf_held(&c->out));
		if (c->opened_ms)
			h->status_set_u64(out, "age_ms", now - c->opened_ms);
		if (c->active_ms)
			h->status_set_u64(out, "idle_ms", now - c->active_ms);
	}
}

int tcp_status_register(struct tcp *t)
{
	const struct ockam_host *h = t->host;
	/* Hosts older than the status services simply show nothing. */
	if (!OCKAM_HOST_HAS(h, status_set_u64))
		return 0;
	return h->status_register(t->ctx, tcp_status, t);
}
