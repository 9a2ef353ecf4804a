/* SPDX-License-Identifier: Apache-2.0 */
#include "chan_list.h"

#include "channel.h"

void chan_list_insert_after(struct chan_list *l, struct channel *pos,
			    struct channel *ch)
{
	ch->prev = pos;
	ch->next = pos ? pos->next : l->head;
	if (ch->next)
		ch->next->prev = ch;
	else
		l->tail = ch;
	if (pos)
		pos->next = ch;
	else
		l->head = ch;
}

void chan_list_remove(struct chan_list *l, struct channel *ch)
{
	if (ch->prev)
		ch->prev->next = ch->next;
	else
		l->head = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	else
		l->tail = ch->prev;
	ch->prev = ch->next = NULL;
}
