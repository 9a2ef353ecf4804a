/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tcp transport's part of the message-flow trace (docs/protocol.md,
 * "Trace id"): frames reported to the node's trace (host->trace), and the
 * per-connection agreement to carry trace ids on the wire.
 *
 * A frame of message version 2 would make a node of an earlier version
 * close the connection, so a connection carries them only once the peer
 * said it reads them: a node that traces opens each outbound connection
 * with a hello (a version-1 message with empty routes and the payload
 * TCP_TRACE_HELLO); a node that traces answers it once on that
 * connection; from then on both mark frames with a trace id
 * (OCKAM_MSG_TRACE_ID).  A node that does not trace drops the hello
 * silently; an earlier version drops it as a message with an empty onward
 * route (one rate-limited warning) and never answers, so it only ever
 * gets version 1.
 */
#include <string.h>

#include "tcp_internal.h"

#define TCP_TRACE_HELLO "ockam.trace-id.v2"

void tcp_trace_event(struct tcp_conn *c, enum ockam_trace_kind kind,
		     const struct ockam_message *msg)
{
	struct ockam_trace_event ev = {
		.kind = kind, .msg = msg, .peer = c->key,
		.wire = msg->payload ? msg->payload : (const uint8_t *)"",
		.wire_len = msg->payload_len,
	};
	c->t->host->trace(c->t->ctx, &ev);
}

void tcp_trace_hello(struct ockam_message *m)
{
	ockam_message_init(m);
	m->payload = (const uint8_t *)TCP_TRACE_HELLO;
	m->payload_len = sizeof(TCP_TRACE_HELLO) - 1;
}

int tcp_trace_is_hello(const struct ockam_message *m)
{
	return m->onward.count == 0 && m->ret.count == 0 &&
	       m->payload_len == sizeof(TCP_TRACE_HELLO) - 1 &&
	       memcmp(m->payload, TCP_TRACE_HELLO, m->payload_len) == 0;
}

void tcp_trace_mark(const struct tcp_conn *c, struct ockam_message *tx)
{
	if (c->peer_trace_ids && tx->trace_id)
		tx->flags |= OCKAM_MSG_TRACE_ID;
	else
		tx->flags &= ~(uint32_t)OCKAM_MSG_TRACE_ID;
}
