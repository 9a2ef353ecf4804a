/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Addresses and routes: views.
 *
 * An address is a transport type and an opaque byte string: type 0 is a
 * local worker ("echoer"), type 1 a TCP peer ("localhost:4000").  A route is
 * an ordered list of addresses; hop[0] is the next one.
 *
 * Both are *views*: struct ockam_addr points at bytes, struct ockam_route
 * at an array of addresses, and neither owns what it points to.  Whoever
 * built the view keeps the bytes alive as long as the view is used:
 *   - in handle_message, the message's routes point into the host's queue
 *     and are valid until the handler returns;
 *   - a route from opt_get_route is owned by the host for the instance's
 *     lifetime;
 *   - a route you build (ockam_route_make, ockam_route_prepend) points at
 *     your array and your bytes;
 *   - to keep a route past the call that gave it to you, copy it with
 *     ockam_route_dup (one malloc'd block, released with free).
 * So popping a hop is `ockam_route_rest()` (no copying), and replying is
 * sending with onward = the return route you received.
 */
#ifndef OCKAM_ROUTE_H
#define OCKAM_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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
/* Most hops a route may hold on the wire and in a send: the decoder and
 * host->send refuse longer routes (docs/protocol.md).  A protocol limit,
 * not a size baked into any struct. */
#define OCKAM_ROUTE_MAX 32

/* A view of an address: `len` bytes at `data`, owned elsewhere. */
struct ockam_addr {
	const uint8_t *data;
	uint8_t type;
	uint8_t len;
};

/* A view of a route: `count` addresses at `hop`, owned elsewhere. */
struct ockam_route {
	const struct ockam_addr *hop;
	size_t count;
};

/* Storage for one address you keep (a parsed `to:` entry, a peer's
 * address): ockam_addr_buf_view() gives the view of it. */
struct ockam_addr_buf {
	uint8_t type;
	uint8_t len;
	uint8_t data[OCKAM_ADDR_MAX];
};

/* An address view of (type, bytes).  Returns 0, or -1 if `len` is too long. */
static inline int ockam_addr_set(struct ockam_addr *a, uint8_t type,
				 const void *data, size_t len)
{
	if (len > OCKAM_ADDR_MAX)
		return -1;
	a->type = type;
	a->len = (uint8_t)len;
	a->data = (const uint8_t *)data;
	return 0;
}

/* A view of the local address named by the C string `name` (which must
 * outlive the view).  Returns 0, or -1 if the name is too long. */
static inline int ockam_addr_local(struct ockam_addr *a, const char *name)
{
	return ockam_addr_set(a, OCKAM_ADDR_LOCAL, name, strlen(name));
}

/* Copy the bytes of `a` into `b`. */
static inline void ockam_addr_buf_set(struct ockam_addr_buf *b,
				      const struct ockam_addr *a)
{
	b->type = a->type;
	b->len = a->len;
	if (a->len)
		memcpy(b->data, a->data, a->len);
}

static inline struct ockam_addr
ockam_addr_buf_view(const struct ockam_addr_buf *b)
{
	struct ockam_addr a = {b->data, b->type, b->len};
	return a;
}

static inline int ockam_addr_equal(const struct ockam_addr *a,
				   const struct ockam_addr *b)
{
	return a->type == b->type && a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* True if `a` is the local address named by the C string `name`. */
static inline int ockam_addr_is_local(const struct ockam_addr *a,
				      const char *name)
{
	size_t n = strlen(name);
	return a->type == OCKAM_ADDR_LOCAL && a->len == n &&
	       memcmp(a->data, name, n) == 0;
}

/* A route of the `count` addresses at `hops`. */
static inline struct ockam_route ockam_route_make(const struct ockam_addr *hops,
						  size_t count)
{
	struct ockam_route r = {hops, count};
	return r;
}

/* The route after its first hop (a view; nothing is copied).  The empty
 * route for an empty route. */
static inline struct ockam_route ockam_route_rest(const struct ockam_route *r)
{
	struct ockam_route rest = {r->count ? r->hop + 1 : r->hop,
				   r->count ? r->count - 1 : 0};
	return rest;
}

/* Build `first` followed by the hops of `rest` in `hops` (room for `cap`
 * addresses; only the views are copied, not the bytes) and set *out to
 * it: what a forwarder does to a return route.  Returns 0, or -1 if the
 * result would hold more than `cap` or OCKAM_ROUTE_MAX hops. */
static inline int ockam_route_prepend(struct ockam_addr *hops, size_t cap,
				      const struct ockam_addr *first,
				      const struct ockam_route *rest,
				      struct ockam_route *out)
{
	if (rest->count + 1 > cap || rest->count + 1 > OCKAM_ROUTE_MAX)
		return -1;
	if (rest->count)
		memmove(hops + 1, rest->hop, rest->count * sizeof(*hops));
	hops[0] = *first;
	out->hop = hops;
	out->count = rest->count + 1;
	return 0;
}

/* Bytes ockam_route_dup needs for `r`, views and bytes together. */
static inline size_t ockam_route_dup_size(const struct ockam_route *r)
{
	size_t n = sizeof(struct ockam_route) + r->count * sizeof(r->hop[0]);
	for (size_t i = 0; i < r->count; i++)
		n += r->hop[i].len;
	return n;
}

/* Deep-copy `r`: its views into `hops` (room for r->count), the bytes
 * they point to into `bytes`; *out is the copy.  Returns the end of what
 * was written at `bytes`. */
static inline uint8_t *ockam_route_copy_into(const struct ockam_route *r,
					     struct ockam_addr *hops,
					     uint8_t *bytes,
					     struct ockam_route *out)
{
	for (size_t i = 0; i < r->count; i++) {
		hops[i] = r->hop[i];
		if (r->hop[i].len)
			memcpy(bytes, r->hop[i].data, r->hop[i].len);
		hops[i].data = bytes;
		bytes += r->hop[i].len;
	}
	out->hop = hops;
	out->count = r->count;
	return bytes;
}

/* Deep-copy `r` (its views and the bytes they point to) into one block of
 * ockam_route_dup_size(r) bytes at `mem` (suitably aligned, e.g. from
 * malloc) and return the copy, which lives inside `mem`. */
static inline struct ockam_route *ockam_route_copy_to(void *mem,
						      const struct ockam_route *r)
{
	struct ockam_route *d = (struct ockam_route *)mem;
	struct ockam_addr *hops = (struct ockam_addr *)(d + 1);
	ockam_route_copy_into(r, hops, (uint8_t *)(hops + r->count), d);
	return d;
}

/* A copy of `r` you own, in one malloc'd block: free() releases it.  NULL
 * if out of memory. */
static inline struct ockam_route *ockam_route_dup(const struct ockam_route *r)
{
	void *mem = malloc(ockam_route_dup_size(r));
	return mem ? ockam_route_copy_to(mem, r) : NULL;
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
	for (size_t i = 0; i < ret->count; i++)
		if (!ockam_addr_equal(&ret->hop[i], &sent->hop[i]))
			return 0;
	return 1;
}

#ifdef __cplusplus
}
#endif

#endif
