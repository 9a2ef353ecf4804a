/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small secrets of one size in shared, guarded, locked sodium_malloc
 * chunks (secret_pool.c): channel transport keys, identity keys.  Slots
 * come zeroed and are wiped when freed.
 */
#ifndef OCKAM_SC_SECRET_POOL_H
#define OCKAM_SC_SECRET_POOL_H

#include <stddef.h>

struct secret_chunk;

/* One pool per slot size; zero-initialise it with the size:
 *   static struct secret_pool pool = { .slot_size = 64 };
 * slot_size is rounded up to 16 (alignment) on first use. */
struct secret_pool {
	size_t slot_size;
	struct secret_chunk *chunks;
};

/* A zeroed slot; NULL if out of memory. */
void *secret_pool_alloc(struct secret_pool *p);
/* Wipe and release the slot; NULL is ignored. */
void secret_pool_free(struct secret_pool *p, void *slot);

#endif
