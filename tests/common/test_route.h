/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Route editing for tests.  ABI 2 routes are views (route.h), which a
 * worker builds on its stack; tests build many messages in a row and edit
 * their routes in place, so these helpers give each edited route a hop
 * array of its own from a ring of arrays (the addresses' bytes stay where
 * they are: string literals, or the test's buffers).  A test keeps at most
 * a few dozen routes alive at once; the ring holds TEST_ROUTE_RING.
 */
#ifndef OCKAM_TEST_ROUTE_H
#define OCKAM_TEST_ROUTE_H

#include <stdint.h>
#include <string.h>

#include <ockam/message.h>
#include <ockam/route.h>

#define TEST_ROUTE_RING 256

static struct ockam_addr test_route_ring[TEST_ROUTE_RING][OCKAM_ROUTE_MAX + 1];
static unsigned test_route_next;

/* r's hops, made writable (moved into a ring array if they are not in
 * one already). */
static inline struct ockam_addr *t_route_mut(struct ockam_route *r)
{
	const struct ockam_addr *lo = &test_route_ring[0][0];
	const struct ockam_addr *hi = lo + sizeof(test_route_ring) /
						   sizeof(struct ockam_addr);
	if (r->hop >= lo && r->hop < hi)
		return (struct ockam_addr *)(uintptr_t)r->hop;
	struct ockam_addr *a =
		test_route_ring[test_route_next++ % TEST_ROUTE_RING];
	size_t n = r->count > OCKAM_ROUTE_MAX + 1 ? OCKAM_ROUTE_MAX + 1
						  : r->count;
	if (n)
		memcpy(a, r->hop, n * sizeof(*a));
	r->hop = a;
	return a;
}

/* A writable hop i of r. */
static inline struct ockam_addr *t_hop(struct ockam_route *r, size_t i)
{
	return &t_route_mut(r)[i];
}

/* Add `a` at the end; -1 if full. */
static inline int t_route_append(struct ockam_route *r,
				 const struct ockam_addr *a)
{
	if (r->count >= OCKAM_ROUTE_MAX + 1)
		return -1;
	t_route_mut(r)[r->count++] = *a;
	return 0;
}

/* Add `a` in front; -1 if full. */
static inline int t_route_push(struct ockam_route *r,
			       const struct ockam_addr *a)
{
	if (r->count >= OCKAM_ROUTE_MAX + 1)
		return -1;
	struct ockam_addr *h = t_route_mut(r);
	memmove(h + 1, h, r->count * sizeof(*h));
	h[0] = *a;
	r->count++;
	return 0;
}

/* Drop the first hop. */
static inline void t_route_pop(struct ockam_route *r)
{
	*r = ockam_route_rest(r);
}

/* dst = a copy of src's hop views, in a ring array of its own. */
static inline void t_route_copy(struct ockam_route *dst,
				const struct ockam_route *src)
{
	struct ockam_route c = {NULL, 0};
	for (size_t i = 0; i < src->count; i++)
		t_route_append(&c, &src->hop[i]);
	*dst = c;
}

#endif
