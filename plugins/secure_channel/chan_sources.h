/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Noise listener's half-open handshakes, grouped by source
 * (chan_sources.c), so that admission (channel_limits.c) can bound them
 * per source and evict fairly when the listener is full.
 *
 * The source of a message 1 is the first hop of its return route: the
 * address this node's own transport (the connection the frame came on) or
 * forwarder pushed, which the sender cannot choose.  It is kept as a keyed
 * 64-bit hash (SipHash with a key drawn at start), so a sender cannot aim
 * for collisions either.
 *
 * Everything is allocated once, on the first message 1, for at most
 * max_handshakes sources (each holds at least one half-open end): no
 * allocation per message.  A source's half-open ends are kept in its own
 * list (their prev/next; newest at the head), and sources are indexed by
 * how many ends they hold, so finding "my oldest end" and "the oldest end
 * of a source holding the most" is O(1).
 */
#ifndef OCKAM_SC_CHAN_SOURCES_H
#define OCKAM_SC_CHAN_SOURCES_H

#include <stdint.h>

#include <sodium.h>

#include <ockam/route.h>

#include "channel.h"

struct chan_source {
	uint64_t key;
	uint32_t count;        /* half-open ends held; 0: free slot */
	uint32_t hnext;        /* hash chain, or free list (index + 1) */
	uint32_t bprev, bnext; /* among sources of the same count (index + 1) */
	struct chan_list ends; /* newest at the head, oldest at the tail */
};

struct chan_sources {
	struct chan_source *src; /* cap slots */
	uint32_t *heads;         /* hash chains (index + 1), nheads of them */
	/* [c]: the sources holding c ends, in the order they came to hold c
	 * (index + 1): first and last. */
	uint32_t *by_count, *by_count_last;
	uint32_t cap, nheads, per_source, max_count, free;
	uint8_t key[crypto_shorthash_KEYBYTES];
};

/* Room for `cap` sources holding at most `per_source` ends each.  0 or
 * -ENOMEM. */
int chan_sources_init(struct chan_sources *s, uint32_t cap,
		      uint32_t per_source);
/* Free everything (the lists must be empty: their ends closed first). */
void chan_sources_free(struct chan_sources *s);
/* The key of the source `first_hop`. */
uint64_t chan_sources_key(const struct chan_sources *s,
			  const struct ockam_addr *first_hop);
/* The source `key`, or NULL if it holds no end. */
struct chan_source *chan_sources_find(const struct chan_sources *s,
				      uint64_t key);
/* Ends held by the source `key`. */
uint32_t chan_sources_held(const struct chan_sources *s, uint64_t key);
/* The oldest end of source `key`, or NULL. */
struct channel *chan_sources_oldest(const struct chan_sources *s,
				    uint64_t key);
/* A source holding the most ends (ties: the first to hold that many),
 * or NULL. */
struct chan_source *chan_sources_busiest(const struct chan_sources *s);
/* Record `ch` (in no list yet) as the newest end of source `key`.  0, or
 * -ENOSPC if the source already holds per_source ends or no slot is free
 * (admission prevents both). */
int chan_sources_add(struct chan_sources *s, uint64_t key,
		     struct channel *ch);
/* Take `ch` out of its source's list (ch->src becomes 0). */
void chan_sources_remove(struct chan_sources *s, struct channel *ch);
/* The half-open ends of the source `ch` is listed under (ch->src != 0). */
const struct chan_list *chan_sources_ends_of(const struct chan_sources *s,
					     const struct channel *ch);
/* Count-only use, for sources whose ends are listed elsewhere (a
 * listener's open channels, channel_limits.c): one more for `key`; its
 * index + 1, or 0 if it holds per_source already or no slot is free. */
uint32_t chan_sources_inc(struct chan_sources *s, uint64_t key);
/* One fewer for the source of index + 1 `i1` (0: none). */
void chan_sources_dec(struct chan_sources *s, uint32_t i1);
/* The index + 1 of source `c` (NULL: 0), as ch->src and _inc give it. */
uint32_t chan_sources_index(const struct chan_sources *s,
			    const struct chan_source *c);
/* Any end still listed, or NULL (to close them all at stop). */
struct channel *chan_sources_any(const struct chan_sources *s);

#endif
