/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery-failure notices: a transport or channel that accepted a message
 * and then has to drop it (host->message_undeliverable) posts a notice; the
 * loop later hands a copy of the message to the local worker named first in
 * its return route, so the sender learns at once instead of at its timeout.
 *
 * Posting only queues (a plugin may post from inside a handler, and
 * handlers never nest).  The queue is bounded: when it is full a notice is
 * dropped and counted, which only costs the sender its timeout.  The
 * target is looked up when the notice is delivered, so a sender that went
 * away in between is simply skipped.  Notices never leave the node.
 */
#ifndef OCKAM_HOST_NOTICE_H
#define OCKAM_HOST_NOTICE_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/message.h>

/* A worker refusing queued messages posts a notice each; the router
 * delivers at most 256 per drain (router.c, DRAIN_BATCH) before the notices
 * are drained, so a queue this long loses none of them. */
#define NOTICE_QUEUE_DEFAULT 256
#define NOTICE_WHY_MAX 160

struct router;
struct notices;

/* How an owner of local addresses (router_address_add's `owner`) takes a
 * notice for one of them. */
typedef void (*notice_fn)(void *owner, void *addr_data,
			  const struct ockam_message *msg, int err,
			  const char *why);

struct notices *notices_create(struct router *r, size_t cap);
void notices_destroy(struct notices *n);

/* Owners without a handler get no notices (they are counted as such). */
int notices_handler_add(struct notices *n, void *owner, notice_fn fn);
void notices_handler_remove(struct notices *n, void *owner);

/* Queue a notice for msg's sender.  0 if queued; -ENOENT if the return
 * route does not start with a local address; -ENOBUFS if the queue is full;
 * -EMSGSIZE/-ENOMEM if the message cannot be copied. */
int notices_post(struct notices *n, const struct ockam_message *msg, int err,
		 const char *why);

/* Deliver what is queued, including what handlers post meanwhile (up to
 * a bound); returns nonzero if some is left.  Run from the loop's idle
 * hook, and once more when the loop has stopped. */
int notices_drain(struct notices *n);

struct notice_stats {
	uint64_t posted, delivered, no_sender, no_handler, dropped_full;
};
void notices_stats_get(const struct notices *n, struct notice_stats *out);

#endif
