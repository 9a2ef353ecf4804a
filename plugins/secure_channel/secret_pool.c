/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secrets of many channels and identities in few sodium_malloc blocks.
 *
 * One sodium_malloc per secret costs two guard pages, a header page and
 * three mappings (~8 KiB resident and a share of vm.max_map_count each).
 * Here secrets live in slots of 128-slot chunks, each chunk one
 * sodium_malloc block (guarded, mlocked, wiped by sodium_free); a freed slot
 * is wiped at once and an empty chunk is returned.  Slots are 16-byte
 * aligned: channel keys take 224 bytes (216 used), so their chunk is
 * exactly 7 pages and a channel costs 224 bytes plus 1/128 of the header
 * page; identity keys take 64.  The loop is single-threaded, so one pool
 * per size and process serves every instance.
 */
#include "secret_pool.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#define SLOTS 128
#define WORDS (SLOTS / 64)

struct secret_chunk {
	struct secret_chunk *next;
	unsigned n_used;
	uint64_t used[WORDS]; /* bit i of word w: slot 64 w + i is taken */
	unsigned char *base;
};

static size_t slot_size(struct secret_pool *p)
{
	return p->slot_size = (p->slot_size + 15) & ~(size_t)15;
}

static struct secret_chunk *chunk_new(struct secret_pool *p)
{
	size_t len = SLOTS * slot_size(p);
	struct secret_chunk *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base = sodium_malloc(len);
	if (!c->base) {
		free(c);
		return NULL;
	}
	sodium_memzero(c->base, len);
	c->next = p->chunks;
	p->chunks = c;
	return c;
}

void *secret_pool_alloc(struct secret_pool *p)
{
	struct secret_chunk *c;

	for (c = p->chunks; c; c = c->next)
		if (c->n_used < SLOTS)
			break;
	if (!c && !(c = chunk_new(p)))
		return NULL;
	for (unsigned w = 0; w < WORDS; w++) {
		if (c->used[w] == UINT64_MAX)
			continue;
		for (unsigned i = 0; i < 64; i++)
			if (!(c->used[w] & (UINT64_C(1) << i))) {
				c->used[w] |= UINT64_C(1) << i;
				c->n_used++;
				return c->base + (64 * w + i) * p->slot_size;
			}
	}
	return NULL; /* not reached: the chunk had a free slot */
}

void secret_pool_free(struct secret_pool *p, void *slot)
{
	unsigned char *s = slot;

	if (!slot)
		return;
	for (struct secret_chunk **pc = &p->chunks; *pc; pc = &(*pc)->next) {
		struct secret_chunk *c = *pc;

		if (s < c->base || s >= c->base + SLOTS * p->slot_size)
			continue;
		size_t i = (size_t)(s - c->base) / p->slot_size;
		sodium_memzero(s, p->slot_size);
		c->used[i / 64] &= ~(UINT64_C(1) << (i % 64));
		if (--c->n_used == 0) {
			*pc = c->next;
			sodium_free(c->base); /* wipes */
			free(c);
		}
		return;
	}
}
