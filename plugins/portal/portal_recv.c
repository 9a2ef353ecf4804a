/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Receiving DATA, EOF, CREDIT and CLOSE, for both roles.
 *
 * What a message must be to touch a stream, in this order:
 *   1. for a stream that exists (its id, generation included);
 *   2. from the peer the stream is bound to (portal_peer.c) and naming
 *      the peer's stream id: otherwise it is a stranger's, dropped with a
 *      rate-limited line, and the stream goes on untouched;
 *   3. well-formed and in order (DATA and EOF carry consecutive sequence
 *      numbers, DATA stays within the credit we granted, nothing after
 *      EOF): otherwise that one stream is closed with a line saying what
 *      was wrong, and the peer is told.  Nothing is skipped or reordered,
 *      so a lost or duplicated message can never pass silently.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "portal.h"

static const char *type_name(uint8_t t)
{
	switch (t) {
	case PORTAL_OPEN:
		return "OPEN";
	case PORTAL_ACCEPT:
		return "ACCEPT";
	case PORTAL_DATA:
		return "DATA";
	case PORTAL_EOF:
		return "EOF";
	case PORTAL_CREDIT:
		return "CREDIT";
	case PORTAL_CLOSE:
		return "CLOSE";
	case PORTAL_PING:
		return "PING";
	case PORTAL_PONG:
		return "PONG";
	default:
		return "unknown";
	}
}

static void unknown_stream(struct portal *p, const struct portal_hdr *h,
			   const struct ockam_message *msg)
{
	char ret[256];
	p->unknown_stream++;
	/* A CREDIT that crossed our EOF, a CLOSE for what we closed: the
	 * ordinary end of a stream, nothing to say. */
	if (h->type == PORTAL_CREDIT || h->type == PORTAL_CLOSE)
		return;
	if (p->host->log_limited_due(p->ctx, &p->lim_unknown, OCKAM_LOG_INFO))
		p->host->log_limited(p->ctx, &p->lim_unknown, OCKAM_LOG_INFO,
				     "portal %s for unknown stream %08x from %s: answered with CLOSE",
				     type_name(h->type), h->to,
				     portal_ret_text(p, msg, ret, sizeof(ret)));
	portal_send_close_to(p, msg, h->from, PORTAL_R_UNKNOWN);
}

void portal_stranger(struct portal *p, const struct pstream *s,
		     const struct portal_hdr *h,
		     const struct ockam_message *msg)
{
	char ret[256];
	p->strangers++;
	if (p->host->log_limited_due(p->ctx, &p->lim_stranger, OCKAM_LOG_WARN))
		p->host->log_limited(p->ctx, &p->lim_stranger, OCKAM_LOG_WARN,
				     "refused a portal %s for stream %08x from %s%s%s: the stream belongs to another peer; dropped",
				     type_name(h->type), s->id,
				     portal_ret_text(p, msg, ret, sizeof(ret)),
				     (msg->flags & OCKAM_MSG_SECURE) ? " secure, " : " (plaintext)",
				     (msg->flags & OCKAM_MSG_SECURE) ? ockam_message_identifier(msg) : "");
}

static int protocol_error(struct pstream *s, const struct portal_hdr *h,
			  const char *what)
{
	pstream_abort(s, PORTAL_R_PROTOCOL, 1, "bad portal %s from the %s: %s",
		      type_name(h->type),
		      s->p->role == PORTAL_INLET ? "outlet" : "inlet", what);
	return 0;
}

static int seq_ok(struct pstream *s, const struct portal_hdr *h)
{
	uint32_t seq = portal_get32(h->body);
	if (seq == s->rx_seq)
		return 1;
	char what[96];
	snprintf(what, sizeof(what),
		 "out of order: sequence number %u, expected %u", seq,
		 s->rx_seq);
	protocol_error(s, h, what);
	return 0;
}

static int recv_data(struct pstream *s, const struct portal_hdr *h)
{
	if (s->state != PS_OPEN)
		return protocol_error(s, h, "before the stream was open");
	if (h->body_len < 4)
		return protocol_error(s, h, "shorter than its header");
	if (s->flags & PS_PEER_EOF)
		return protocol_error(s, h, "data after the end of the stream");
	if (!seq_ok(s, h))
		return 0;
	size_t n = h->body_len - 4;
	if (s->rx_got + n > s->rx_allowed) {
		char what[128];
		snprintf(what, sizeof(what),
			 "%zu bytes beyond the %llu granted (flow control)", n,
			 (unsigned long long)(s->rx_allowed - s->rx_got));
		return protocol_error(s, h, what);
	}
	s->rx_seq++;
	s->rx_got += n;
	portal_received(s);
	if (n)
		portal_write_out(s, h->body + 4, n);
	return 0;
}

static int recv_eof(struct pstream *s, const struct portal_hdr *h)
{
	if (s->state != PS_OPEN)
		return protocol_error(s, h, "before the stream was open");
	if (h->body_len != 4)
		return protocol_error(s, h, "not 4 bytes");
	if (s->flags & PS_PEER_EOF)
		return protocol_error(s, h, "a second end of stream");
	if (!seq_ok(s, h))
		return 0;
	s->rx_seq++;
	s->flags |= PS_PEER_EOF;
	portal_drain_ring(s); /* shuts our socket for writing once empty */
	return 0;
}

static int recv_credit(struct pstream *s, const struct portal_hdr *h)
{
	if (s->state != PS_OPEN)
		return protocol_error(s, h, "before the stream was open");
	if (h->body_len != PORTAL_CREDIT_LEN)
		return protocol_error(s, h, "not 12 bytes");
	uint32_t n = portal_get32(h->body);
	if (portal_peer_received(s, portal_get64(h->body + 4)) < 0)
		return protocol_error(s, h, "reports more received than was sent, or less than before");
	/* More outstanding than any window we could have been given. */
	if (s->tx_allowed - s->tx_sent + n > (1ull << 31))
		return protocol_error(s, h, "credit beyond any window");
	portal_credit_granted(s, n);
	return 0;
}

int portal_recv(struct portal *p, const struct portal_hdr *h,
		const struct ockam_message *msg)
{
	struct pstream *s = pstream_find(p, h->to);
	if (!s) {
		unknown_stream(p, h, msg);
		return 0;
	}
	if (!s->peer || h->from != s->peer_id ||
	    !portal_peer_matches(s->peer, msg)) {
		portal_stranger(p, s, h, msg);
		return 0;
	}
	switch (h->type) {
	case PORTAL_DATA:
		return recv_data(s, h);
	case PORTAL_EOF:
		return recv_eof(s, h);
	case PORTAL_CREDIT:
		return recv_credit(s, h);
	case PORTAL_CLOSE: {
		unsigned reason = h->body_len ? h->body[0] : 0;
		if (reason == 0 || reason >= PORTAL_R_MAX)
			reason = PORTAL_R_PROTOCOL;
		pstream_abort(s, reason, 0, "the %s closed it: %s",
			      p->role == PORTAL_INLET ? "outlet" : "inlet",
			      portal_reason_text(reason));
		return 0;
	}
	default: {
		char what[64];
		snprintf(what, sizeof(what), "unexpected message type %u",
			 h->type);
		return protocol_error(s, h, what);
	}
	}
}

void portal_undeliverable(void *state, void *addr_data,
			  const struct ockam_message *msg, int err,
			  const char *why)
{
	struct portal *p = state;
	struct portal_hdr h;
	(void)addr_data;
	(void)err;
	if (portal_hdr_parse(msg->payload, msg->payload_len, &h) < 0)
		return;
	struct pstream *s = pstream_find(p, h.from);
	if (!s)
		return;
	/* A lost DATA is a hole, a lost CREDIT a stall: the stream cannot
	 * go on either way. */
	pstream_abort(s, PORTAL_R_LOST, h.type != PORTAL_OPEN,
		      "its %s message was not delivered: %s", type_name(h.type),
		      why ? why : "no reason given");
}
