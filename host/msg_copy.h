/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A compact copy of a message: its route views, the address bytes they
 * point to, its identifier and its payload, laid out in one buffer, with
 * the copy's views pointing into it.  This is how the host keeps a message
 * past the send that gave it (a local queue slot, a notice, a reserved
 * payload waiting for its commit): views and bytes, never the wire
 * encoding, so a local handoff costs one copy and no encode or decode.
 *
 * Layout: the onward then the return hops (struct ockam_addr, so the
 * buffer must be suitably aligned, as malloc's is), the address bytes,
 * the identifier with its NUL (only when it is non-empty), then room for
 * the payload.
 */
#ifndef OCKAM_HOST_MSG_COPY_H
#define OCKAM_HOST_MSG_COPY_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/message.h>

/* Bytes a copy of `m` needs with room for `payload_cap` payload bytes, or
 * 0 if a route is longer than OCKAM_ROUTE_MAX or the size overflows. */
size_t msg_copy_size(const struct ockam_message *m, size_t payload_cap);

/* Copy `m`'s routes, flags and identifier into `buf` (msg_copy_size(m,
 * payload_cap) bytes, aligned, for the payload room wanted) and set `out`
 * to views of the copy.  With `copy_payload` the payload is copied too
 * (the room must hold m->payload_len); otherwise out->payload points at
 * the payload room and out->payload_len is 0.  Returns the payload room. */
uint8_t *msg_copy_to(uint8_t *buf, const struct ockam_message *m,
		     int copy_payload, struct ockam_message *out);

#endif
