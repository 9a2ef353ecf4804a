/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transport keys of many channels in few sodium_malloc blocks: a
 * secret_pool of struct chan_keys slots (secret_pool.c says what it
 * saves).
 */
#include "chan_keys_pool.h"

#include "secret_pool.h"

static struct secret_pool pool = { .slot_size = sizeof(struct chan_keys) };

struct chan_keys *chan_keys_alloc(void)
{
	return secret_pool_alloc(&pool);
}

void chan_keys_free(struct chan_keys *k)
{
	secret_pool_free(&pool, k);
}
