/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A route a channel keeps (chan_route.c): the way back to its peer, an
 * initiator's configured route.  One ockam_route_dup block (views and
 * bytes together, ~40-70 bytes for the usual two or four hops), replaced
 * whole when the route changes; chan_route_view lends it as a route.
 */
#ifndef OCKAM_SC_CHAN_ROUTE_H
#define OCKAM_SC_CHAN_ROUTE_H

#include <stdint.h>

#include <ockam/route.h>

struct chan_route {
	struct ockam_route *r; /* ockam_route_dup block; NULL = empty route */
};

/* Store a copy of `from`.  0, or -ENOMEM (and `r` keeps its previous
 * route). */
int chan_route_set(struct chan_route *r, const struct ockam_route *from);
/* The stored route as a view, valid until the next chan_route_set or
 * chan_route_free (the empty route if none). */
static inline struct ockam_route chan_route_view(const struct chan_route *r)
{
	struct ockam_route v = {NULL, 0};
	return r->r ? *r->r : v;
}
/* 1 if the stored route equals `b`. */
int chan_route_equal(const struct chan_route *r, const struct ockam_route *b);
/* 1 if the stored route's first hop is `a`. */
int chan_route_first_is(const struct chan_route *r, const struct ockam_addr *a);
/* Number of hops stored. */
static inline unsigned chan_route_count(const struct chan_route *r)
{
	return r->r ? (unsigned)r->r->count : 0;
}
void chan_route_free(struct chan_route *r);

#endif
