/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transport keys of many channels in few sodium_malloc blocks.
 *
 * One sodium_malloc per channel costs two guard pages, a header page and
 * three mappings (~8 KiB resident and a share of vm.max_map_count per
 * channel).  Here keys live in slots of 64-slot chunks, each chunk one
 * sodium_malloc block (guarded, mlocked, wiped by sodium_free); a freed slot
 * is wiped at once and an empty chunk is returned.  The loop is
 * single-threaded, so one pool per process serves every instance.
 */
#include "chan_keys_pool.h"

#include <sodium.h>
#include <stdlib.h>

#define SLOTS 64

struct chunk {
	struct chunk *next;
	uint64_t used; /* bit i: slot i is taken */
	unsigned char *base;
};

/* Slot size, rounded so every slot stays aligned for its contents. */
#define SLOT_SIZE ((sizeof(struct chan_keys) + 63) & ~(size_t)63)

static struct chunk *chunks;

struct chan_keys *chan_keys_alloc(void)
{
	struct chunk *c;

	for (c = chunks; c; c = c->next)
		if (c->used != UINT64_MAX)
			break;
	if (!c) {
		c = calloc(1, sizeof(*c));
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
	}
	for (unsigned i = 0; i < SLOTS; i++)
		if (!(c->used & (UINT64_C(1) << i))) {
			c->used |= UINT64_C(1) << i;
			return (struct chan_keys *)(void *)(c->base +
							     i * SLOT_SIZE);
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
		sodium_memzero(p, SLOT_SIZE);
		c->used &= ~(UINT64_C(1) << ((size_t)(p - c->base) / SLOT_SIZE));
		if (!c->used) {
			*pc = c->next;
			sodium_free(c->base); /* wipes */
			free(c);
		}
		return;
	}
}
