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
	 * messages sent by any other plugin. */
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

#ifdef __cplusplus
}
#endif

#endif
