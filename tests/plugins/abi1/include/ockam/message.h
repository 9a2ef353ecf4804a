/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages: an onward route, a return route and a payload.
 *
 * Ownership: a message handed to a plugin (handle_message, transport send)
 * is borrowed for the duration of that call only; payload points into a host
 * buffer that is reused afterwards.  Copy what you need to keep.  A message
 * passed to host->send() is copied (or fully written) before send returns,
 * so it may live on the caller's stack.
 */
#ifndef OCKAM_MESSAGE_H
#define OCKAM_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/route.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest printed identity identifier, including the terminating NUL. */
#define OCKAM_IDENTIFIER_MAX 72

/* Local metadata flags; never sent on the wire. */
enum {
	/* The message was decrypted by a secure channel; `identifier`
	 * holds the authenticated remote identity.  Only plugins of kind
	 * OCKAM_PLUGIN_SECURE_CHANNEL may set it: the host clears it on
	 * messages sent by any other plugin.
	 *
	 * Which channel: a message that carries the flag has, as the first
	 * hop of its return route, a local address owned by the secure
	 * channel instance that decrypted it, the address that encrypts
	 * for that same channel (the host clears the flag otherwise).  So
	 * ret.hop[0] (with `identifier`) tells a worker which channel a
	 * message came out of, and an answer sent back along ret goes into
	 * that channel. */
	OCKAM_MSG_SECURE = 1u << 0,
	/* The sender asks the transport of onward.hop[0] to open a new
	 * connection to that address if none is open.  Without it a
	 * transport sends only over a connection it already has (inbound or
	 * outbound: the way replies travel) and refuses the message
	 * otherwise (-ENOTCONN).  Set it only where the node's operator
	 * named the destination (a configured route, a hop's `to:`), never
	 * for an address taken from a message that arrived: that would make
	 * the node an open relay (docs/security.md, "Who can make a node
	 * open a connection").  The host clears it on messages sent by
	 * transports. */
	OCKAM_MSG_CONNECT = 1u << 1,
};

struct ockam_message {
	struct ockam_route onward;
	struct ockam_route ret;
	const uint8_t *payload;
	size_t payload_len;
	uint32_t flags;
	char identifier[OCKAM_IDENTIFIER_MAX];
};

/* Start a message with empty routes, no payload and no metadata. */
static inline void ockam_message_init(struct ockam_message *m)
{
	m->onward.count = 0;
	m->ret.count = 0;
	m->payload = NULL;
	m->payload_len = 0;
	m->flags = 0;
	m->identifier[0] = '\0';
}

/* 1 if `reply` answers a message this worker sent along onward route
 * `sent`, i.e. it came back the way it must:
 *   - its return route is the way back of `sent`, hop for hop
 *     (ockam_route_is_way_back), and
 *   - if `sent_secure` (sent.hop[0] is the address of a local secure
 *     channel, like an initiator's YAML name), it is marked
 *     OCKAM_MSG_SECURE: then its first return hop, equal to sent.hop[0],
 *     is guaranteed by the host to be an address of the channel that
 *     decrypted it, so it came out of the channel the request went into.
 *     A plaintext answer to a request sent through a channel never
 *     counts.
 * Anything else addressed to the worker is not the answer: drop it (the
 * host's own senders log it, rate-limited, and count it). */
static inline int ockam_message_is_reply(const struct ockam_message *reply,
					 const struct ockam_route *sent,
					 int sent_secure)
{
	if (sent_secure && !(reply->flags & OCKAM_MSG_SECURE))
		return 0;
	return ockam_route_is_way_back(&reply->ret, sent);
}

#ifdef __cplusplus
}
#endif

#endif
