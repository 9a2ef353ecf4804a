/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transport keys of many channels in few sodium_malloc blocks.
 *
 * One sodium_malloc per channel costs two guard pages, a header page and
 * three mappings (~8 KiB resident and a share of vm.max_map_count per
 * channel).  Here keys live in slots of 128-slot chunks, each chunk one
 * sodium_malloc block (guarded, mlocked, wiped by sodium_free); a freed slot
 * is wiped at once and an empty chunk is returned.  Slots are 16-byte
 * aligned (224 bytes for 216), so a chunk is exactly 7 pages and a channel
 * costs 224 bytes plus 1/128 of the header page (~256 B; it was 320 with
 * 64-byte slots in 64-slot chunks).  The loop is single-threaded, so one
 * pool per process serves every instance.
 */
#include "chan_keys_pool.h"

#include <sodium.h>
#include <stdlib.h>

#define SLOTS 128
#define WORDS (SLOTS / 64)

struct chunk {
	struct chunk *next;
	unsigned n_used;
	uint64_t used[WORDS]; /* bit i of word w: slot 64 w + i is taken */
	unsigned char *base;
};

/* Slot size, rounded so every slot stays aligned for its contents. */
#define SLOT_SIZE ((sizeof(struct chan_keys) + 15) & ~(size_t)15)

static struct chunk *chunks;

static struct chunk *chunk_new(void)
{
	struct chunk *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base = sodium_malloc(SLOTS * SLOT_SIZE);
	if (!c->base) {
		free(c);
		return NULL;
	}
	sodium_memzero(c->base, SLOTS * SLOT_SIZE);
	c->next = chunks;
	chunks = c;
	return c;
}

struct chan_keys *chan_keys_alloc(void)
{
	struct chunk *c;

	for (c = chunks; c; c = c->next)
		if (c->n_used < SLOTS)
			break;
	if (!c && !(c = chunk_new()))
		return NULL;
	for (unsigned w = 0; w < WORDS; w++) {
		if (c->used[w] == UINT64_MAX)
			continue;
		for (unsigned i = 0; i < 64; i++)
			if (!(c->used[w] & (UINT64_C(1) << i))) {
				c->used[w] |= UINT64_C(1) << i;
				c->n_used++;
				return (struct chan_keys *)(void *)(
					c->base + (64 * w + i) * SLOT_SIZE);
			}
	}
	return NULL; /* not reached: the chunk had a free slot */
}

void chan_keys_free(struct chan_keys *k)
{
	unsigned char *p = (unsigned char *)k;

	if (!k)
		return;
	for (struct chunk **pc = &chunks; *pc; pc = &(*pc)->next) {
		struct chunk *c = *pc;

		if (p < c->base || p >= c->base + SLOTS * SLOT_SIZE)
			continue;
		size_t slot = (size_t)(p - c->base) / SLOT_SIZE;
		sodium_memzero(p, SLOT_SIZE);
		c->used[slot / 64] &= ~(UINT64_C(1) << (slot % 64));
		if (--c->n_used == 0) {
			*pc = c->next;
			sodium_free(c->base); /* wipes */
			free(c);
		}
		return;
	}
}
