/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Addresses and routes.
 *
 * An address is a transport type and an opaque byte string: type 0 is a
 * local worker ("echoer"), type 1 a TCP peer ("localhost:4000").  A route is
 * an ordered list of addresses; hop[0] is the next one.  Routes live inline
 * (no heap) so that messages can be built on the stack and copied safely.
 */
#ifndef OCKAM_ROUTE_H
#define OCKAM_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	OCKAM_ADDR_LOCAL = 0,
	OCKAM_ADDR_TCP = 1,
};

/* Largest address value in bytes (a DNS name plus ":65535" fits). */
#define OCKAM_ADDR_MAX 255
/* Most hops a route may hold; the decoder refuses longer routes. */
#define OCKAM_ROUTE_MAX 32

struct ockam_addr {
	uint8_t type;
	uint8_t len;
	uint8_t data[OCKAM_ADDR_MAX];
};

struct ockam_route {
	uint8_t count;
	struct ockam_addr hop[OCKAM_ROUTE_MAX];
};

/* Set `a` to (type, bytes).  Returns 0, or -1 if `len` is too long. */
static inline int ockam_addr_set(struct ockam_addr *a, uint8_t type,
				 const void *data, size_t len)
{
	if (len > OCKAM_ADDR_MAX)
		return -1;
	a->type = type;
	a->len = (uint8_t)len;
	if (len)
		memcpy(a->data, data, len);
	return 0;
}

/* A local address from a C string. */
static inline int ockam_addr_local(struct ockam_addr *a, const char *name)
{
	return ockam_addr_set(a, OCKAM_ADDR_LOCAL, name, strlen(name));
}

static inline int ockam_addr_equal(const struct ockam_addr *a,
				   const struct ockam_addr *b)
{
	return a->type == b->type && a->len == b->len &&
	       memcmp(a->data, b->data, a->len) == 0;
}

/* True if `a` is the local address named by the C string `name`. */
static inline int ockam_addr_is_local(const struct ockam_addr *a,
				      const char *name)
{
	size_t n = strlen(name);
	return a->type == OCKAM_ADDR_LOCAL && a->len == n &&
	       memcmp(a->data, name, n) == 0;
}

static inline void ockam_route_clear(struct ockam_route *r)
{
	r->count = 0;
}

/* Append `a` as the last hop.  Returns 0, or -1 if the route is full. */
static inline int ockam_route_append(struct ockam_route *r,
				     const struct ockam_addr *a)
{
	if (r->count >= OCKAM_ROUTE_MAX)
		return -1;
	r->hop[r->count++] = *a;
	return 0;
}

/* Insert `a` as the next hop.  Returns 0, or -1 if the route is full. */
static inline int ockam_route_push(struct ockam_route *r,
				   const struct ockam_addr *a)
{
	if (r->count >= OCKAM_ROUTE_MAX)
		return -1;
	memmove(&r->hop[1], &r->hop[0], r->count * sizeof(r->hop[0]));
	r->hop[0] = *a;
	r->count++;
	return 0;
}

/* Remove the next hop.  Returns 0, or -1 if the route is empty. */
static inline int ockam_route_pop(struct ockam_route *r)
{
	if (r->count == 0)
		return -1;
	r->count--;
	memmove(&r->hop[0], &r->hop[1], r->count * sizeof(r->hop[0]));
	return 0;
}

/* Address patterns: a hop's `to:` and a worker's `reach:` name transport
 * addresses this way.  A pattern is an address whose value is
 * "host:port", each part written out or "*" for any: tcp:127.0.0.1:4000,
 * tcp:127.0.0.1:*, tcp:*:4000, tcp:*:*.  The value is split at its last
 * ':', so "[::1]:4000" has the host "[::1]".  Matching compares the bytes
 * of the address as the route wrote it; no name is resolved, so
 * tcp:localhost:4000 does not match tcp:127.0.0.1:4000 (resolving would
 * let whoever controls a name choose what it matches).  A local address
 * pattern matches only itself. */

/* Why `p` is not a valid pattern, or NULL if it is. */
static inline const char *ockam_addr_pattern_error(const struct ockam_addr *p)
{
	const uint8_t *v = p->data, *colon = NULL;
	size_t hlen, plen;

	if (p->type == OCKAM_ADDR_LOCAL)
		return p->len ? NULL : "an empty address";
	for (size_t i = 0; i < p->len; i++)
		if (v[i] == ':')
			colon = &v[i];
	if (!colon)
		return "a pattern is host:port (either may be *)";
	hlen = (size_t)(colon - v);
	plen = p->len - hlen - 1;
	if (hlen == 0 || plen == 0)
		return "a pattern needs both a host and a port (either may be *)";
	if (!(hlen == 1 && v[0] == '*') && memchr(v, '*', hlen))
		return "'*' stands for a whole host, not part of one";
	if (plen == 1 && colon[1] == '*')
		return NULL;
	if (plen > 5)
		return "the port must be 1 to 65535 or *";
	unsigned port = 0;
	for (size_t i = 1; i <= plen; i++) {
		if (colon[i] < '0' || colon[i] > '9')
			return "the port must be 1 to 65535 or *";
		port = port * 10 + (unsigned)(colon[i] - '0');
	}
	if (port == 0 || port > 65535 || colon[1] == '0')
		return "the port must be 1 to 65535 or *";
	return NULL;
}

/* 1 if address `a` matches pattern `p` (a valid pattern, see above). */
static inline int ockam_addr_match(const struct ockam_addr *p,
				   const struct ockam_addr *a)
{
	size_t pc = 0, ac = 0, i;
	int phas = 0, ahas = 0;

	if (p->type != a->type)
		return 0;
	if (p->type == OCKAM_ADDR_LOCAL)
		return ockam_addr_equal(p, a);
	for (i = 0; i < p->len; i++)
		if (p->data[i] == ':') {
			pc = i;
			phas = 1;
		}
	for (i = 0; i < a->len; i++)
		if (a->data[i] == ':') {
			ac = i;
			ahas = 1;
		}
	if (!phas || !ahas || ac == 0 || ac + 1 == a->len)
		return 0;
	/* Host: "*" or the same bytes. */
	if (!(pc == 1 && p->data[0] == '*') &&
	    (pc != ac || memcmp(p->data, a->data, pc) != 0))
		return 0;
	/* Port: "*" or the same bytes. */
	size_t pp = p->len - pc - 1, ap = a->len - ac - 1;
	if (pp == 1 && p->data[pc + 1] == '*')
		return 1;
	return pp == ap && memcmp(p->data + pc + 1, a->data + ac + 1, pp) == 0;
}

/* 1 if `ret`, the return route of a message that arrived, is the way back
 * of a message sent along onward route `sent`: the same hops in the same
 * order.  Each hop a message passes pushes its own address onto the return
 * route (a transport the connection it came in on, a forwarder itself, a
 * secure channel its encryptor), so an answer that retraced the request
 * comes back with exactly the route the request was sent along.  See
 * ockam_message_is_reply (message.h) for the whole rule. */
static inline int ockam_route_is_way_back(const struct ockam_route *ret,
					  const struct ockam_route *sent)
{
	if (ret->count != sent->count)
		return 0;
	for (uint8_t i = 0; i < ret->count; i++)
		if (!ockam_addr_equal(&ret->hop[i], &sent->hop[i]))
			return 0;
	return 1;
}

/* Copy only the used hops (a route is large; most of it is unused). */
static inline void ockam_route_copy(struct ockam_route *dst,
				    const struct ockam_route *src)
{
	dst->count = src->count;
	memcpy(dst->hop, src->hop, src->count * sizeof(src->hop[0]));
}

#ifdef __cplusplus
}
#endif

#endif
