/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The router: local addresses, transports by address type, and the bounded
 * queue of local deliveries.
 *
 * Local delivery is a mailbox: router_send() copies the message (route
 * views, address bytes, identifier and payload; never the wire encoding,
 * msg_copy.h) into a reused queue slot and the loop delivers it after the
 * current callback returns, in send order; a full queue pushes back on the
 * sender (-ENOBUFS).  Senders outside handlers see it full at three
 * quarters, so handlers always have room to forward what they are given.
 * Every local message is queued, wherever it is sent from: a handler
 * never runs inside another plugin call, and a reply never arrives before
 * the send that caused it has returned.  Transport sends are calls into
 * the transport's ops, which own their own buffers.
 *
 * router_send_reserve / commit / abort let a sender write a payload in
 * place: in a queue slot for a local destination, in the transport's
 * buffer (its reserve op), or else in a router-owned buffer that commit
 * hands to the transport's send.
 */
#ifndef OCKAM_HOST_ROUTER_H
#define OCKAM_HOST_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/host.h>

#define ROUTER_NAME_MAX 64
#define ROUTER_QUEUE_DEFAULT 1024

struct router;

/* Deliver `msg` to the owner of an address. */
typedef int (*router_deliver_fn)(void *owner, void *addr_data,
				 const struct ockam_message *msg);

struct router *router_create(size_t queue_slots);
void router_destroy(struct router *r);

/* Names: [A-Za-z0-9_.-]{1,ROUTER_NAME_MAX}. */
int router_name_valid(const char *name, size_t len);

/* A name ending in '*' ("forward_to_*") is a catch-all for the addresses
 * with that prefix that no address matches exactly (host.h,
 * address_add); remove it by the same name. */
int router_address_add(struct router *r, const char *name,
		       router_deliver_fn fn, void *owner, void *addr_data);
/* -ENOENT if absent, -EPERM if `owner` does not own it. */
int router_address_remove(struct router *r, const char *name, void *owner);
void router_remove_owner(struct router *r, void *owner);
int router_address_exists(const struct router *r, const char *name,
			  size_t len);
/* Who registered `name` and with which addr_data; -ENOENT if absent. */
int router_address_owner(const struct router *r, const char *name, size_t len,
			 void **owner, void **addr_data);

int router_transport_add(struct router *r, uint8_t type, const char *scheme,
			 const struct ockam_transport_ops *ops, void *data,
			 void *owner);
/* Scheme <-> type; NULL / -1 if unknown. */
const char *router_scheme(const struct router *r, uint8_t type);
int router_scheme_type(const struct router *r, const char *scheme,
		       size_t len);
/* Comma-separated registered schemes, for error messages. */
void router_schemes_list(const struct router *r, char *buf, size_t len);

/* Who may send to an address (a worker's `access:`). */
struct router_policy {
	int secure_only;          /* only OCKAM_MSG_SECURE messages */
	const char *const *ids;   /* and, if n_ids, only from these */
	size_t n_ids;
};
/* Set or clear (NULL) the policy of `name`; the policy must outlive it. */
int router_address_set_policy(struct router *r, const char *name,
			      const struct router_policy *policy);

/* A sender: its name for log lines, whether it may mark messages secure,
 * and the local addresses it may reach (a worker's `reach:`; NULL = any).
 * For a secure channel (may_secure) the reach limits only the messages it
 * delivers out of channels, not its own handshake and ciphertext traffic.
 * `owner` is the owner it registers its addresses with: a message it
 * marks OCKAM_MSG_SECURE keeps the mark only if its return route starts
 * at one of them (docs/plugins.md, "Which channel a message came out
 * of"), so the first return hop of a secure message always names the
 * channel that decrypted it. */
struct router_sender {
	const char *name;
	int may_secure;
	const void *owner;
	const char *const *reach;
	size_t n_reach;
	/* A transport: what it sends arrived from the network, so it may go
	 * only to local workers, and never asks for a connection (its
	 * OCKAM_MSG_CONNECT is cleared). */
	int transport;
	/* The reach entries that are transport-address patterns
	 * (ockam_addr_match); set when `reach` is. */
	const struct ockam_addr *reach_addrs;
	size_t n_reach_addrs;
};
/* As router_send; also enforces the sender's reach and the target's
 * policy (refusals are logged once and return -EACCES).  Who may send to
 * a transport address (docs/security.md, "Who can make a node open a
 * connection"): never a transport (a message from the network goes only
 * to local workers); a sender with a reach list only to addresses matching
 * one of its patterns; a message out of a secure channel only if the
 * channel's reach lists a matching pattern (none: denied), and then with
 * OCKAM_MSG_CONNECT (the operator named the address). */
int router_send_from(struct router *r, const struct router_sender *from,
		     const struct ockam_message *msg);

/* Route `msg` from `sender` (a name for log lines).  Failures the router
 * detects are logged here, once (rate-limited); transports log their own.
 * OCKAM_MSG_SECURE survives only if `may_secure` and the return route
 * starts at an address registered with a NULL owner (router_sender).
 * Returns 0 or -errno. */
int router_send(struct router *r, const char *sender,
		const struct ockam_message *msg, int may_secure);

/* Reserve room for a `cap`-byte payload of `msg` (its payload ignored;
 * every check router_send_from makes, with the same errors) and set
 * *payload to it.  Then router_send_commit with the length written (at
 * most cap), or router_send_abort.  One reservation at a time: -EBUSY
 * if one is open. */
int router_send_reserve(struct router *r, const struct router_sender *from,
			const struct ockam_message *msg, size_t cap,
			uint8_t **payload);
int router_send_commit(struct router *r, size_t len);
void router_send_abort(struct router *r);

/* Deliver queued messages (at most a batch); returns nonzero if more are
 * queued.  Used as the loop's idle hook. */
int router_drain(void *router);

/* A worker refused (its handler returned `err` < 0) a message that had
 * been queued for it, so the sender's send returned 0: `fn` tells the
 * sender (the node posts a delivery-failure notice). */
typedef void (*router_refused_fn)(void *data, const struct ockam_message *msg,
				  int err, const char *why);
void router_set_refused(struct router *r, router_refused_fn fn, void *data);
/* Also called for a message from a transport for which no local worker
 * exists ("no worker at address 'x'"): its sender is on another node. */

/* A delivery-failure notice from another node has arrived where it was
 * going (notice_wire_arrived), past every check a local send makes:
 * `fn` takes it instead of the worker's queue, and its result is the
 * send's. */
typedef int (*router_notice_in_fn)(void *data, const struct ockam_message *msg);
void router_set_notice_in(struct router *r, router_notice_in_fn fn, void *data);

/* Write the message-flow trace `t` (trace.h) of every send and delivery
 * from now on; NULL stops.  The router keeps each queued message's trace
 * id and hands it on (router_trace_id). */
struct trace;
void router_set_trace(struct router *r, struct trace *t);
/* The trace id of the flow being handled (0: none, or not tracing). */
uint64_t router_trace_id(const struct router *r);
/* The id the last send carried (what a transport's frame belongs to). */
uint64_t router_trace_sent(const struct router *r);
/* The id of a frame a transport read: its next send carries it. */
void router_trace_in(struct router *r, uint64_t id);

/* Counters, for tests and status. */
struct router_stats {
	uint64_t delivered;
	uint64_t dropped_unknown;
	uint64_t dropped_full;
	uint64_t handler_errors;
	uint64_t denied;
	uint64_t relay_refused; /* from a transport to a transport address */
	uint64_t secure_cleared; /* secure mark on a return route not its own */
	uint64_t transport_sent;
	/* queued without copying the payload: it lay in the slot being
	 * delivered, whose buffer the new slot took over (router.c) */
	uint64_t forwarded_in_place;
	size_t queued; /* waiting; not the one being delivered */
};
/* How many more local messages a send could queue now (host->queue_room). */
size_t router_queue_room(const struct router *r);
void router_stats_get(const struct router *r, struct router_stats *out);

#endif
