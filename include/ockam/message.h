/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages: an onward route, a return route and a payload, by reference.
 *
 * struct ockam_message is a small set of views (about 80 bytes): its
 * routes, payload and identifier point at bytes someone else owns.
 *
 * Ownership and lifetime, the whole rule:
 *   - A message given to you (handle_message, handle_undeliverable, a
 *     transport's send) is borrowed until that call returns: the bytes
 *     live in the host's queue or the sender's buffer and are reused
 *     afterwards.  Keep what you need by copying it (ockam_route_dup).
 *   - In handle_message the payload's bytes are yours to modify in place
 *     until you return (ockam_message_payload_mut): a secure channel
 *     opens a record where it lies.  Routes are read-only.
 *   - host->send takes the message before it returns (it copies what it
 *     points to, or a transport writes it out), so everything a message you
 *     send points to may be on your stack and is yours again on return.
 *     Sending a borrowed message's views on (a hop forwarding
 *     ockam_route_rest(&msg->onward), an echoer replying to msg->ret)
 *     copies nothing until send.  A payload that lies in the message
 *     being handled is not copied to a local worker at all (the queue
 *     slot's buffer goes with it): once sent on, read it but do not
 *     write into it again.
 */
#ifndef OCKAM_MESSAGE_H
#define OCKAM_MESSAGE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ockam/route.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest printed identity identifier, including the terminating NUL. */
#define OCKAM_IDENTIFIER_MAX 72

/* Length of an identity identifier as secure channels print it: "I" and 32
 * lowercase hex digits (docs/security.md), without the NUL. */
#define OCKAM_IDENTIFIER_LEN 33

/* 1 if s is an identity identifier in that form, else 0 (also for NULL).
 * The host's access lists, the secure channel and any plugin that reads a
 * list of identities check with this one rule. */
static inline int ockam_identifier_valid(const char *s)
{
	if (!s || s[0] != 'I' || strlen(s) != OCKAM_IDENTIFIER_LEN)
		return 0;
	for (size_t i = 1; i < OCKAM_IDENTIFIER_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

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
	/* Best effort: nobody waits for this message or can act on its
	 * loss (the host's delivery-failure notices to another node,
	 * docs/protocol.md).  A transport that cannot send it (no
	 * connection any more, not asked to open one) drops it with a
	 * debug line instead of a warning, and reports nothing. */
	OCKAM_MSG_BEST_EFFORT = 1u << 2,
	/* Encode `trace_id` on the wire (message version 2,
	 * docs/protocol.md "Trace id"): set by message_decode when a frame
	 * carried one, and by a transport on its own copy of a message it
	 * writes to a peer that said it reads version 2.  The host clears it
	 * on every message sent, so nothing else ever encodes version 2 (a
	 * node of an earlier version would refuse it). */
	OCKAM_MSG_TRACE_ID = 1u << 3,
};

struct ockam_message {
	struct ockam_route onward; /* hop[0] is where it goes next */
	struct ockam_route ret;    /* how to reach the sender back */
	const uint8_t *payload;
	size_t payload_len;
	uint32_t flags; /* OCKAM_MSG_*; local metadata, never on the wire */
	/* With OCKAM_MSG_SECURE: the authenticated remote identity, a
	 * NUL-terminated string of fewer than OCKAM_IDENTIFIER_MAX bytes.
	 * Otherwise NULL or "" (ockam_message_identifier gives "" for both). */
	const char *identifier;
	/* The message-flow trace id of the flow the message belongs to (the
	 * node's `trace:`), or 0.  On a message delivered to a worker and
	 * handed to a transport's send: its flow's id, set by the host. */
	uint64_t trace_id;
};

/* A message with empty routes, no payload and no metadata. */
static inline void ockam_message_init(struct ockam_message *m)
{
	memset(m, 0, sizeof(*m));
}

/* The message's identifier, "" if it has none. */
static inline const char *ockam_message_identifier(const struct ockam_message *m)
{
	return m->identifier ? m->identifier : "";
}

/* Inside handle_message only: the payload as writable bytes (they are in
 * the host's queue and yours until you return), to decrypt or transform
 * in place.  Anywhere else the payload may be read-only memory. */
static inline uint8_t *ockam_message_payload_mut(const struct ockam_message *m)
{
	return (uint8_t *)(uintptr_t)m->payload;
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
