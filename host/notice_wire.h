/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery-failure notices across nodes (docs/protocol.md,
 * "Delivery-failure notices").
 *
 * When this node drops a message that came from another node (a relay
 * name nobody registered, a hop that cannot forward, no worker at the
 * address), the local notice (notice.h) has no local sender to go to: its
 * return route starts at a transport address.  Then a notice message goes
 * back along that return route instead: an ordinary version-1 message
 * whose return route ends with the marker address NOTICE_WIRE_MARKER and
 * whose payload says which node dropped it and why.  Forwarders pass it
 * on like any message; the node where it ends (its onward route down to
 * one address) turns it into a local notice for that address's owner, so
 * `messages:`, `ping` and channels learn at once.
 *
 * Never sent about a notice, at most NOTICE_WIRE_RATE a second (counted),
 * and carrying only the dropping node's name and its reason.
 */
#ifndef OCKAM_HOST_NOTICE_WIRE_H
#define OCKAM_HOST_NOTICE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/message.h>

/* A local address no worker can have ('!' is not a name character), so no
 * node ever delivers a message to it. */
#define NOTICE_WIRE_MARKER "!undeliverable"
#define NOTICE_WIRE_MARKER_LEN 14
#define NOTICE_WIRE_VERSION 1
/* Notices sent per second at most (a burst of as many). */
#define NOTICE_WIRE_RATE 50
/* Longest reason carried. */
#define NOTICE_WIRE_REASON_MAX 120

struct router;
struct notices;
struct wire_notices;

/* 1 if `ret` ends with the marker: the message is a notice (or a message
 * sent back along a notice's return route, which nobody should send). */
static inline int notice_wire_marked(const struct ockam_route *ret)
{
	if (ret->count == 0)
		return 0;
	const struct ockam_addr *a = &ret->hop[ret->count - 1];
	return a->type == OCKAM_ADDR_LOCAL && a->len == NOTICE_WIRE_MARKER_LEN &&
	       memcmp(a->data, NOTICE_WIRE_MARKER, NOTICE_WIRE_MARKER_LEN) == 0;
}

/* 1 if `msg` is a notice that has arrived where it was going. */
static inline int notice_wire_arrived(const struct ockam_message *msg)
{
	return msg->onward.count == 1 && notice_wire_marked(&msg->ret);
}

struct wire_notices *wire_notices_create(struct router *r,
					 struct notices *local,
					 const char *node_name);
void wire_notices_destroy(struct wire_notices *w);

/* Tell the sender of `failed` (its return route starts at a transport
 * address) that it was dropped here.  0 if sent; -ENOENT for a notice or
 * an empty return route, -EAGAIN over the rate, or the send's error. */
int wire_notice_send(struct wire_notices *w, const struct ockam_message *failed,
		     int err, const char *why);

/* A notice arrived for local address msg->onward.hop[0]: post it as a
 * local notice for that address ("undeliverable at <node>: <reason>"),
 * about the route back to the node that dropped the message.  Always
 * takes it (0); a malformed or unknown-version notice is counted and
 * dropped. */
int wire_notice_receive(struct wire_notices *w, const struct ockam_message *msg);

struct wire_notice_stats {
	uint64_t sent, rate_limited, about_notice, send_failed;
	uint64_t received, malformed;
};
void wire_notices_stats_get(const struct wire_notices *w,
			    struct wire_notice_stats *out);

#endif
