/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kept routes (chan_route.h): one ockam_route_dup block each.  A copy is
 * made only when the route changes (a handshake, roaming), never per
 * message.
 */
#include <errno.h>
#include <stdlib.h>

#include "chan_route.h"

int chan_route_set(struct chan_route *r, const struct ockam_route *from)
{
	struct ockam_route *copy = NULL;
	if (from->count) {
		copy = ockam_route_dup(from);
		if (!copy)
			return -ENOMEM;
	}
	free(r->r);
	r->r = copy;
	return 0;
}

int chan_route_equal(const struct chan_route *r, const struct ockam_route *b)
{
	if (chan_route_count(r) != b->count)
		return 0;
	return b->count == 0 || ockam_route_is_way_back(r->r, b);
}

int chan_route_first_is(const struct chan_route *r, const struct ockam_addr *a)
{
	return chan_route_count(r) && ockam_addr_equal(&r->r->hop[0], a);
}

void chan_route_free(struct chan_route *r)
{
	free(r->r);
	r->r = NULL;
}
