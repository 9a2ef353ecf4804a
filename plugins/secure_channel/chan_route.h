/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A route kept compactly (chan_route.c): the way back to a channel's peer.
 * struct ockam_route holds 32 hops of 257 bytes (~8.2 KiB); a channel
 * keeps only the used hops, each as type | len | used bytes, in a buffer
 * sized to them (~40-70 bytes for the usual two or four hops).
 */
#ifndef OCKAM_SC_CHAN_ROUTE_H
#define OCKAM_SC_CHAN_ROUTE_H

#include <stdint.h>

#include <ockam/route.h>

struct chan_route {
	uint8_t *buf; /* count u8, then per hop: type u8, len u8, bytes */
	uint16_t len; /* used bytes of buf; 0 = empty route */
	uint16_t cap; /* allocated bytes of buf */
};

/* Store `from`.  0, or -ENOMEM (and `r` keeps its previous route). */
int chan_route_set(struct chan_route *r, const struct ockam_route *from);
/* Write the stored route into `to` (only the used bytes of each hop). */
void chan_route_load(const struct chan_route *r, struct ockam_route *to);
/* 1 if the stored route equals `b`, without loading it. */
int chan_route_equal(const struct chan_route *r, const struct ockam_route *b);
/* 1 if the stored route's first hop is `a`. */
int chan_route_first_is(const struct chan_route *r, const struct ockam_addr *a);
/* Number of hops stored. */
static inline unsigned chan_route_count(const struct chan_route *r)
{
	return r->len ? r->buf[0] : 0;
}
void chan_route_free(struct chan_route *r);

#endif
