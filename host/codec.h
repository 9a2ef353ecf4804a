/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message wire encoding (docs/protocol.md, "Message encoding"):
 *
 *   version u8 (=1)
 *   onward route:  uvarint count, then per address: type u8, uvarint len, bytes
 *   return route:  the same
 *   payload:       uvarint len, bytes
 *
 * The decoder checks every length: varints (at most 10 bytes, no overflow,
 * canonical), count <= OCKAM_ROUTE_MAX, address len <= OCKAM_ADDR_MAX, the
 * payload ends exactly at the end of the buffer.
 */
#ifndef OCKAM_HOST_CODEC_H
#define OCKAM_HOST_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/host.h> /* OCKAM_DECODE_HOPS */
#include <ockam/message.h>

#define CODEC_VERSION 1
/* Version 2: version 1 with a trace id (docs/protocol.md, "Trace id"):
 *   version u8 (=2), ext_len uvarint (=10), ext: tag u8 (=1), len uvarint
 *   (=8), trace id u64 big-endian (non-zero); then version 1's fields.
 * Encoded only for messages with OCKAM_MSG_TRACE_ID and a trace id; the
 * decoder accepts nothing else in the extension, so decoding and
 * encoding still give back the same bytes. */
#define CODEC_VERSION_TRACE 2
#define CODEC_TRACE_EXT_LEN 10

size_t codec_encoded_size(const struct ockam_message *msg);
/* Returns bytes written, or 0 if `cap` is too small. */
size_t codec_encode(const struct ockam_message *msg, uint8_t *buf, size_t cap);
/* The same without computing the size again: the caller has checked that
 * codec_encoded_size(msg) is non-zero and fits buf.  Returns it. */
size_t codec_encode_unchecked(const struct ockam_message *msg, uint8_t *buf);
/* 0, or -EBADMSG.  Addresses and payload point into buf, the route
 * arrays into `hops` (room for `hops_cap`; OCKAM_DECODE_HOPS is always
 * enough); flags/identifier cleared. */
int codec_decode(const uint8_t *buf, size_t len, struct ockam_message *msg,
		 struct ockam_addr *hops, size_t hops_cap);

/* uvarint helpers (LEB128, as in protobuf). */
size_t codec_uvarint_put(uint8_t *buf, uint64_t v); /* buf >= 10 bytes */
/* Returns bytes read, or 0 if truncated, overlong or non-canonical. */
size_t codec_uvarint_get(const uint8_t *buf, size_t len, uint64_t *v);

#endif
