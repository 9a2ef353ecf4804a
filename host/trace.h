/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's message-flow trace (issue #15): one JSON line per event in
 * the file named by the node's `trace:` key or OCKAM_TRACE (the
 * environment wins).  Events: a worker sent a message (router), a queued
 * message was delivered (router), a transport queued or read a frame and
 * a secure channel sealed or opened a record (plugins, host->trace).
 * docs/configuration.md, "Message-flow trace", lists the fields.
 *
 * Off, it costs the router one pointer test per message.  On, lines go
 * into one buffer written out at the end of every loop turn (an
 * end-of-turn flush), when it fills, and at close: no allocation per
 * event.  Payloads are never written, only their length, and a short hash
 * only of bytes that travel on the wire as they are (frames, sealed
 * records); OCKAM_TRACE_PAYLOAD=1 adds the payload text, for debugging.
 */
#ifndef OCKAM_HOST_TRACE_H
#define OCKAM_HOST_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/host.h>

struct trace;
struct loop;
struct router;

/* Names the instance that owns a router address (the router's `owner`),
 * or NULL if it is not an instance (the app, status). */
typedef const char *(*trace_owner_name_fn)(void *data, const void *owner);

/* Open (append to) `path` for node `node`.  NULL with a reason in `err`. */
struct trace *trace_open(const char *path, const char *node, char *err,
			 size_t err_len);
/* Write what is buffered and close.  Accepts NULL. */
void trace_close(struct trace *t);
/* Where addresses are formatted (schemes) and owners named; where the
 * end-of-turn flush is registered. */
int trace_attach(struct trace *t, const struct router *r, struct loop *loop,
		 trace_owner_name_fn name_fn, void *name_data);
/* Write out what is buffered. */
void trace_flush(struct trace *t);

/* A fresh trace id for a message that starts a flow. */
uint64_t trace_new_id(void);

/* The router's events.  `worker` is the sender's name (send) or the
 * owner of the address (deliver, named through trace_owner_name_fn);
 * `to_owner`/`to_addr` where a send goes (a local owner and address, or
 * NULL and the transport's scheme); `channel` marks a secure channel's
 * own traffic (handshakes, records: ciphertext, hashed). */
/* `hashed`: the payload is on the wire as it is (to or from a transport,
 * or a channel's traffic), so its hash may be written. */
void trace_send(struct trace *t, const char *worker, const void *to_owner,
		const char *to_addr, const struct ockam_message *m,
		uint64_t id, int channel, int hashed);
/* A send into a transport's lent buffer: its routes at reserve, its
 * payload at commit (before the transport may move it). */
void trace_send_begin(struct trace *t, const char *worker,
		      const char *to_addr, const struct ockam_message *m,
		      uint64_t id);
void trace_send_commit(struct trace *t, const uint8_t *payload, size_t len,
		       int channel);  /* always hashed: it goes to a transport */
void trace_deliver(struct trace *t, const void *owner, const char *addr,
		   const struct ockam_message *m, uint64_t id);
/* A plugin's event (host->trace) from instance `worker`. */
void trace_plugin(struct trace *t, const char *worker,
		  const struct ockam_trace_event *ev, uint64_t id);

/* host->trace_enabled and host->trace (trace_service.c). */
struct ockam_ctx;
int trace_svc_enabled(struct ockam_ctx *ctx);
void trace_svc_event(struct ockam_ctx *ctx, const struct ockam_trace_event *ev);

/* Open the trace the node's `trace:` key or OCKAM_TRACE names (the
 * environment wins; empty: none) and attach it to the node's router and
 * loop (trace_node.c).  0, -2 after reporting a file the YAML named that
 * cannot be opened at its entry, or -1 after logging why. */
struct node;
int trace_node_start(struct node *n);
void trace_node_stop(struct node *n);

#endif
