/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A list of channel ends, doubly linked through the ends' own prev/next
 * (no allocation): the instance's handshaking and idle lists and each
 * listener source's half-open ends (chan_sources.c) are such lists.  An
 * end is on at most one list at a time.
 */
#ifndef OCKAM_SC_CHAN_LIST_H
#define OCKAM_SC_CHAN_LIST_H

struct channel;

struct chan_list {
	struct channel *head, *tail;
};

/* Insert `ch` after `pos` (NULL: at the head). */
void chan_list_insert_after(struct chan_list *l, struct channel *pos,
			    struct channel *ch);
/* Unlink `ch` from `l` (it must be on it) and clear its links. */
void chan_list_remove(struct chan_list *l, struct channel *ch);

#endif
