/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compact routes (chan_route.h).  The buffer is only ever written by
 * chan_route_set from a valid struct ockam_route, so reading it back needs
 * no bounds checks beyond the hop lengths it was written with.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chan_route.h"

int chan_route_set(struct chan_route *r, const struct ockam_route *from)
{
	size_t need = 1;
	for (unsigned i = 0; i < from->count; i++)
		need += 2u + from->hop[i].len;
	if (from->count == 0) {
		r->len = 0;
		return 0;
	}
	/* At most 1 + 32 * 257 = 8225 bytes: fits the uint16_t lengths. */
	if (need > r->cap) {
		uint8_t *b = realloc(r->buf, need);
		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = (uint16_t)need;
	}
	uint8_t *p = r->buf;
	*p++ = from->count;
	for (unsigned i = 0; i < from->count; i++) {
		const struct ockam_addr *a = &from->hop[i];
		*p++ = a->type;
		*p++ = a->len;
		memcpy(p, a->data, a->len);
		p += a->len;
	}
	r->len = (uint16_t)need;
	return 0;
}

void chan_route_load(const struct chan_route *r, struct ockam_route *to)
{
	to->count = 0;
	if (r->len == 0)
		return;
	const uint8_t *p = r->buf;
	unsigned n = *p++;
	for (unsigned i = 0; i < n; i++) {
		struct ockam_addr *a = &to->hop[i];
		a->type = p[0];
		a->len = p[1];
		memcpy(a->data, p + 2, a->len);
		p += 2u + a->len;
	}
	to->count = (uint8_t)n;
}

int chan_route_equal(const struct chan_route *r, const struct ockam_route *b)
{
	if (chan_route_count(r) != b->count)
		return 0;
	if (b->count == 0)
		return 1;
	const uint8_t *p = r->buf + 1;
	for (unsigned i = 0; i < b->count; i++) {
		const struct ockam_addr *a = &b->hop[i];
		if (p[0] != a->type || p[1] != a->len ||
		    memcmp(p + 2, a->data, a->len) != 0)
			return 0;
		p += 2u + a->len;
	}
	return 1;
}

int chan_route_first_is(const struct chan_route *r, const struct ockam_addr *a)
{
	if (r->len == 0 || r->buf[0] == 0)
		return 0;
	const uint8_t *p = r->buf + 1;
	return p[0] == a->type && p[1] == a->len &&
	       memcmp(p + 2, a->data, a->len) == 0;
}

void chan_route_free(struct chan_route *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}
