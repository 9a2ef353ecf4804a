/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Half-open handshakes by source: a fixed table of sources (chained hash
 * on a keyed 64-bit hash of the first return hop), each with its list of
 * ends, and the sources indexed by how many ends they hold.  See
 * chan_sources.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chan_sources.h"

/* Indices are stored +1 so that 0 means "none". */
#define NONE 0u

static struct chan_source *at(const struct chan_sources *s, uint32_t i1)
{
	return i1 ? &s->src[i1 - 1] : NULL;
}

static uint32_t index1(const struct chan_sources *s,
		       const struct chan_source *c)
{
	return (uint32_t)(c - s->src) + 1;
}

int chan_sources_init(struct chan_sources *s, uint32_t cap,
		      uint32_t per_source)
{
	memset(s, 0, sizeof(*s));
	if (per_source > cap)
		per_source = cap; /* no source can hold more than all */
	uint32_t nheads = 16;
	while (nheads < cap && nheads < (UINT32_C(1) << 30))
		nheads <<= 1;
	s->src = calloc(cap, sizeof(*s->src));
	s->heads = calloc(nheads, sizeof(*s->heads));
	s->by_count = calloc((size_t)per_source + 1, sizeof(*s->by_count));
	s->by_count_last = calloc((size_t)per_source + 1,
				  sizeof(*s->by_count_last));
	if (!s->src || !s->heads || !s->by_count || !s->by_count_last) {
		chan_sources_free(s);
		return -ENOMEM;
	}
	s->cap = cap;
	s->nheads = nheads;
	s->per_source = per_source;
	for (uint32_t i = cap; i > 0; i--) {
		s->src[i - 1].hnext = s->free;
		s->free = i;
	}
	crypto_shorthash_keygen(s->key);
	return 0;
}

void chan_sources_free(struct chan_sources *s)
{
	free(s->src);
	free(s->heads);
	free(s->by_count);
	free(s->by_count_last);
	sodium_memzero(s, sizeof(*s));
}

uint64_t chan_sources_key(const struct chan_sources *s,
			  const struct ockam_addr *first_hop)
{
	uint8_t in[1 + OCKAM_ADDR_MAX], out[crypto_shorthash_BYTES];
	in[0] = first_hop->type;
	memcpy(in + 1, first_hop->data, first_hop->len);
	crypto_shorthash(out, in, 1u + first_hop->len, s->key);
	uint64_t k;
	memcpy(&k, out, sizeof(k));
	return k;
}

struct chan_source *chan_sources_find(const struct chan_sources *s,
				      uint64_t key)
{
	if (!s->src)
		return NULL;
	uint32_t i1 = s->heads[key & (s->nheads - 1)];
	for (struct chan_source *c; (c = at(s, i1)); i1 = c->hnext)
		if (c->key == key)
			return c;
	return NULL;
}

uint32_t chan_sources_held(const struct chan_sources *s, uint64_t key)
{
	const struct chan_source *c = chan_sources_find(s, key);
	return c ? c->count : 0;
}

struct channel *chan_sources_oldest(const struct chan_sources *s,
				    uint64_t key)
{
	const struct chan_source *c = chan_sources_find(s, key);
	return c ? c->ends.tail : NULL;
}

struct chan_source *chan_sources_busiest(const struct chan_sources *s)
{
	return s->max_count ? at(s, s->by_count[s->max_count]) : NULL;
}

const struct chan_list *chan_sources_ends_of(const struct chan_sources *s,
					     const struct channel *ch)
{
	return &at(s, ch->src)->ends;
}

struct channel *chan_sources_any(const struct chan_sources *s)
{
	const struct chan_source *c = chan_sources_busiest(s);
	return c ? c->ends.tail : NULL;
}

/* The by-count index: take c out of by_count[c->count] / put it in. */
static void count_unlink(struct chan_sources *s, struct chan_source *c)
{
	struct chan_source *p = at(s, c->bprev), *n = at(s, c->bnext);
	if (p)
		p->bnext = c->bnext;
	else
		s->by_count[c->count] = c->bnext;
	if (n)
		n->bprev = c->bprev;
	else
		s->by_count_last[c->count] = c->bprev;
	c->bprev = c->bnext = NONE;
}

static void count_link(struct chan_sources *s, struct chan_source *c)
{
	uint32_t i1 = index1(s, c);
	c->bnext = NONE;
	c->bprev = s->by_count_last[c->count];
	if (c->bprev)
		at(s, c->bprev)->bnext = i1;
	else
		s->by_count[c->count] = i1;
	s->by_count_last[c->count] = i1;
	if (c->count > s->max_count)
		s->max_count = c->count;
}

uint32_t chan_sources_inc(struct chan_sources *s, uint64_t key)
{
	struct chan_source *c = chan_sources_find(s, key);
	if (!c) {
		if (!s->free)
			return NONE;
		c = at(s, s->free);
		s->free = c->hnext;
		memset(c, 0, sizeof(*c));
		c->key = key;
		uint32_t *head = &s->heads[key & (s->nheads - 1)];
		c->hnext = *head;
		*head = index1(s, c);
	} else if (c->count >= s->per_source) {
		return NONE;
	} else {
		count_unlink(s, c);
	}
	c->count++;
	count_link(s, c);
	return index1(s, c);
}

int chan_sources_add(struct chan_sources *s, uint64_t key, struct channel *ch)
{
	uint32_t i1 = chan_sources_inc(s, key);
	if (!i1)
		return -ENOSPC;
	chan_list_insert_after(&at(s, i1)->ends, NULL, ch);
	ch->src = i1;
	return 0;
}

void chan_sources_dec(struct chan_sources *s, uint32_t i1)
{
	struct chan_source *c = at(s, i1);
	if (!c)
		return;
	count_unlink(s, c);
	c->count--;
	while (s->max_count && !s->by_count[s->max_count])
		s->max_count--;
	if (c->count) {
		count_link(s, c);
		return;
	}
	/* Its last end: the slot goes back to the free list. */
	uint32_t *p = &s->heads[c->key & (s->nheads - 1)];
	while (*p != i1)
		p = &at(s, *p)->hnext;
	*p = c->hnext;
	c->hnext = s->free;
	s->free = i1;
}

void chan_sources_remove(struct chan_sources *s, struct channel *ch)
{
	struct chan_source *c = at(s, ch->src);
	if (!c)
		return;
	uint32_t i1 = ch->src;
	ch->src = NONE;
	chan_list_remove(&c->ends, ch);
	chan_sources_dec(s, i1);
}

uint32_t chan_sources_index(const struct chan_sources *s,
			    const struct chan_source *c)
{
	return c ? index1(s, c) : NONE;
}
