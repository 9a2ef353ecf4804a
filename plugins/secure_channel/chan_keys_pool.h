/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pool of struct chan_keys slots in guarded, locked sodium_malloc chunks
 * (chan_keys_pool.c).  Slots come zeroed and are wiped when freed.
 */
#ifndef OCKAM_SC_CHAN_KEYS_POOL_H
#define OCKAM_SC_CHAN_KEYS_POOL_H

#include "channel.h"

/* NULL if out of memory. */
struct chan_keys *chan_keys_alloc(void);
/* Wipes the slot; NULL is ignored. */
void chan_keys_free(struct chan_keys *k);

#endif
