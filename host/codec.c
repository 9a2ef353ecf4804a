/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message wire encoding; see codec.h and docs/protocol.md.
 *
 * The decoder is strict (canonical varints, exact length) so that decoding
 * is the inverse of encoding: any accepted buffer re-encodes to itself.
 */
#include "codec.h"

#include <errno.h>
#include <string.h>

#define UVARINT_MAX_LEN 10

_Static_assert(OCKAM_ROUTE_MAX < 0x80, "a route count is one varint byte");
_Static_assert(OCKAM_ADDR_MAX < 0x4000, "an address length is <= 2 bytes");

size_t codec_uvarint_put(uint8_t *buf, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		buf[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	return n;
}

size_t codec_uvarint_get(const uint8_t *buf, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < len && i < UVARINT_MAX_LEN; i++) {
		uint8_t b = buf[i];

		/* The 10th byte holds only bit 63. */
		if (i == UVARINT_MAX_LEN - 1 && b > 1)
			return 0;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			/* A trailing zero group means a shorter form exists. */
			if (b == 0 && i > 0)
				return 0;
			*v = x;
			return i + 1;
		}
	}
	return 0; /* truncated, or more than 10 bytes */
}

/* Counts, address lengths and small payload lengths are one byte: these
 * inline fast paths keep the per-message cost to a few instructions. */
static inline size_t uvarint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline size_t uvarint_put(uint8_t *buf, uint64_t v)
{
	if (v < 0x80) {
		buf[0] = (uint8_t)v;
		return 1;
	}
	return codec_uvarint_put(buf, v);
}

static inline size_t uvarint_get(const uint8_t *buf, size_t len, uint64_t *v)
{
	if (len && buf[0] < 0x80) {
		*v = buf[0];
		return 1;
	}
	return codec_uvarint_get(buf, len, v);
}

static size_t route_size(const struct ockam_route *r)
{
	/* count <= OCKAM_ROUTE_MAX < 0x80: one byte; a hop is type, a
	 * length of one or two bytes (<= OCKAM_ADDR_MAX) and the bytes. */
	size_t n = 1;

	for (size_t i = 0; i < r->count; i++) {
		size_t len = r->hop[i].len;

		n += (len < 0x80 ? 2 : 3) + len;
	}
	return n;
}

/* Whether msg is encoded as version 2. */
static int traced(const struct ockam_message *msg)
{
	return (msg->flags & OCKAM_MSG_TRACE_ID) && msg->trace_id;
}

size_t codec_encoded_size(const struct ockam_message *msg)
{
	/* A count above the limit cannot be decoded back: refuse it. */
	if (msg->onward.count > OCKAM_ROUTE_MAX ||
	    msg->ret.count > OCKAM_ROUTE_MAX)
		return 0;
	if (msg->payload_len > SIZE_MAX / 2)
		return 0;
	return 1 + (traced(msg) ? 1 + CODEC_TRACE_EXT_LEN : 0) +
	       route_size(&msg->onward) + route_size(&msg->ret) +
	       uvarint_size(msg->payload_len) + msg->payload_len;
}

static size_t route_put(const struct ockam_route *r, uint8_t *p)
{
	size_t n = uvarint_put(p, r->count);

	for (size_t i = 0; i < r->count; i++) {
		const struct ockam_addr *a = &r->hop[i];

		p[n++] = a->type;
		n += uvarint_put(p + n, a->len);
		memcpy(p + n, a->data, a->len);
		n += a->len;
	}
	return n;
}

size_t codec_encode(const struct ockam_message *msg, uint8_t *buf, size_t cap)
{
	size_t need = codec_encoded_size(msg);

	if (need == 0 || need > cap)
		return 0;
	return codec_encode_unchecked(msg, buf);
}

size_t codec_encode_unchecked(const struct ockam_message *msg, uint8_t *buf)
{
	size_t n = 0;

	if (traced(msg)) {
		buf[n++] = CODEC_VERSION_TRACE;
		buf[n++] = CODEC_TRACE_EXT_LEN;
		buf[n++] = 1; /* tag: trace id */
		buf[n++] = 8;
		for (int i = 7; i >= 0; i--)
			buf[n++] = (uint8_t)(msg->trace_id >> (8 * i));
	} else {
		buf[n++] = CODEC_VERSION;
	}
	n += route_put(&msg->onward, buf + n);
	n += route_put(&msg->ret, buf + n);
	n += uvarint_put(buf + n, msg->payload_len);
	if (msg->payload_len)
		memcpy(buf + n, msg->payload, msg->payload_len);
	n += msg->payload_len;
	return n;
}

/* Reads a route at buf[*pos..len) into views, its hops at `hops` (room
 * for *room; reduced by what it used); advances *pos.  0 or -EBADMSG. */
static int route_get(const uint8_t *buf, size_t len, size_t *pos,
		     struct ockam_addr *hops, size_t *room,
		     struct ockam_route *r)
{
	uint64_t count, alen;
	size_t p = *pos, k;

	k = uvarint_get(buf + p, len - p, &count);
	if (k == 0 || count > OCKAM_ROUTE_MAX || count > *room)
		return -EBADMSG;
	p += k;
	for (uint64_t i = 0; i < count; i++) {
		struct ockam_addr *a = &hops[i];

		if (p >= len)
			return -EBADMSG;
		a->type = buf[p++];
		k = uvarint_get(buf + p, len - p, &alen);
		if (k == 0 || alen > OCKAM_ADDR_MAX)
			return -EBADMSG;
		p += k;
		if (alen > len - p)
			return -EBADMSG;
		a->len = (uint8_t)alen;
		a->data = buf + p;
		p += (size_t)alen;
	}
	r->hop = hops;
	r->count = (size_t)count;
	*room -= (size_t)count;
	*pos = p;
	return 0;
}

int codec_decode(const uint8_t *buf, size_t len, struct ockam_message *msg,
		 struct ockam_addr *hops, size_t hops_cap)
{
	uint64_t plen;
	size_t pos = 0, k, room = hops_cap;

	ockam_message_init(msg);
	if (len < 1)
		return -EBADMSG;
	pos = 1;
	if (buf[0] == CODEC_VERSION_TRACE) {
		/* Exactly one extension, the trace id (the only one this
		 * version has): anything else is not version 2. */
		static const uint8_t head[3] = { CODEC_TRACE_EXT_LEN, 1, 8 };
		uint64_t id = 0;
		if (len < 1 + 1 + CODEC_TRACE_EXT_LEN ||
		    memcmp(buf + 1, head, sizeof(head)) != 0)
			return -EBADMSG;
		for (int i = 0; i < 8; i++)
			id = id << 8 | buf[4 + i];
		if (!id)
			return -EBADMSG;
		msg->trace_id = id;
		msg->flags = OCKAM_MSG_TRACE_ID;
		pos = 2 + CODEC_TRACE_EXT_LEN;
	} else if (buf[0] != CODEC_VERSION) {
		return -EBADMSG;
	}
	if (route_get(buf, len, &pos, hops, &room, &msg->onward) < 0 ||
	    route_get(buf, len, &pos, hops + msg->onward.count, &room,
		      &msg->ret) < 0)
		goto bad;
	k = uvarint_get(buf + pos, len - pos, &plen);
	if (k == 0)
		goto bad;
	pos += k;
	/* The payload must end exactly at the end of the buffer. */
	if (plen != len - pos)
		goto bad;
	msg->payload = buf + pos;
	msg->payload_len = (size_t)plen;
	return 0;
bad:
	ockam_message_init(msg);
	return -EBADMSG;
}
