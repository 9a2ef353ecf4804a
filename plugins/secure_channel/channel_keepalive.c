/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Liveness of open channels, after WireGuard's timers (timers.c there):
 *
 *  - passive keepalive (both roles): an end that received data and has
 *    sent nothing within `keepalive` sends an empty authenticated record
 *    (docs/protocol.md, "Keepalive"), so a peer that only sends still
 *    hears that we are alive;
 *  - dead peer (initiator): data sent, and nothing authenticated (data or
 *    keepalive) back within `dead_peer_timeout` -> the peer is presumed
 *    gone (it restarted and lost its keys, say) and a new handshake
 *    starts (channel_initiator.c initiator_rehandshake).
 *
 * Keepalives are received as any record, but do not call for one in
 * return, and sending one does not start the dead-peer clock.  A
 * keepalive goes only to a peer that said in its handshake that it
 * accepts them (DATA_FEATURE_KEEPALIVE): an older peer would count our
 * empty records as undecodable.  The dead-peer timer runs only with a
 * peer that said it sends them (DATA_FEATURE_KEEPALIVE_SENDS): the silence
 * of an older peer, or of one with keepalive: 0, would look like death.
 *
 * One timer per instance serves every channel: the data path only notes
 * times (ka_data_sent, ka_received) and lists a channel once; the timer
 * looks at the listed channels when they fall due and lists them again if
 * something is still pending.  All a responder's deadlines are "event +
 * keepalive", so the list is almost always appended at its tail.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "channel.h"

static void ka_remove(struct sc_instance *inst, struct channel *ch)
{
	if (ch->ka_prev)
		ch->ka_prev->ka_next = ch->ka_next;
	else
		inst->ka_head = ch->ka_next;
	if (ch->ka_next)
		ch->ka_next->ka_prev = ch->ka_prev;
	else
		inst->ka_tail = ch->ka_prev;
	ch->ka_prev = ch->ka_next = NULL;
	ch->in_ka = 0;
}

/* List `ch` by `due`: from the tail, where nearly every deadline goes. */
static void ka_insert(struct sc_instance *inst, struct channel *ch,
		      uint64_t due)
{
	struct channel *pos = inst->ka_tail;
	while (pos && pos->ka_due_ms > due)
		pos = pos->ka_prev;
	ch->ka_due_ms = due;
	ch->ka_prev = pos;
	ch->ka_next = pos ? pos->ka_next : inst->ka_head;
	if (ch->ka_next)
		ch->ka_next->ka_prev = ch;
	else
		inst->ka_tail = ch;
	if (pos)
		pos->ka_next = ch;
	else
		inst->ka_head = ch;
	ch->in_ka = 1;
}

/* Arm the timer for the first listed channel, or disarm it. */
static void ka_timer_set(struct sc_instance *inst, uint64_t now);

static void ka_fire(void *data)
{
	struct sc_instance *inst = data;
	const struct ockam_host *h = inst->host;
	uint64_t now = h->now_ms();
	struct channel *ch;
	while ((ch = inst->ka_head) && ch->ka_due_ms <= now) {
		ka_remove(inst, ch);
		uint64_t next = 0;
		if (ch->tx_unanswered_ms && ch == inst->initiator_ch &&
		    ch->state == CHAN_OPEN) {
			uint64_t quiet = now - ch->tx_unanswered_ms;
			if (quiet >= inst->dead_peer_ms) {
				char why[128];
				snprintf(why, sizeof(why),
					 "nothing authenticated from the peer for %" PRIu64
					 " ms after sending (dead_peer_timeout)",
					 quiet);
				initiator_rehandshake(ch, why);
				continue; /* ch is retired: no more checks */
			}
			next = ch->tx_unanswered_ms + inst->dead_peer_ms;
		}
		if (ch->rx_unanswered_ms) {
			if (now - ch->rx_unanswered_ms >= inst->keepalive_ms) {
				h->log(inst->ctx, OCKAM_LOG_DEBUG,
				       "secure channel %s: data received %" PRIu64
				       " ms ago and nothing sent since: sending a keepalive",
				       channel_label(ch),
				       now - ch->rx_unanswered_ms);
				ch->rx_unanswered_ms = 0;
				/* -EPIPE: nonces exhausted, ch closed. */
				if (flow_keepalive_send(ch) == -EPIPE)
					continue;
			} else {
				uint64_t due = ch->rx_unanswered_ms +
					       inst->keepalive_ms;
				if (!next || due < next)
					next = due;
			}
		}
		if (next)
			ka_insert(inst, ch, next);
	}
	ka_timer_set(inst, now);
}

static void ka_timer_set(struct sc_instance *inst, uint64_t now)
{
	const struct ockam_host *h = inst->host;
	if (!inst->ka_head) {
		if (inst->ka_timer)
			h->timer_update(inst->ka_timer, 0); /* 0 disarms */
		return;
	}
	uint64_t at = inst->ka_head->ka_due_ms;
	uint64_t in = at > now ? at - now : 1;
	if (!inst->ka_timer) {
		inst->ka_timer = h->timer_add(inst->ctx, in, ka_fire, inst);
		if (!inst->ka_timer)
			h->log(inst->ctx, OCKAM_LOG_WARN,
			       "cannot arm the keepalive timer: keepalives and dead-peer checks wait for the next one");
		return;
	}
	h->timer_update(inst->ka_timer, in);
}

/* List `ch` to be looked at by `due`, unless it is already listed by
 * then. */
static void ka_schedule(struct channel *ch, uint64_t due, uint64_t now)
{
	struct sc_instance *inst = ch->inst;
	if (ch->in_ka) {
		if (ch->ka_due_ms <= due)
			return;
		ka_remove(inst, ch);
	}
	ka_insert(inst, ch, due);
	if (inst->ka_head == ch)
		ka_timer_set(inst, now);
}

void ka_data_sent(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	if (ch->tx_unanswered_ms || !inst->dead_peer_ms || !ch->peer_ka_sends ||
	    !inst->rehandshake || inst->initiator_ch != ch)
		return;
	uint64_t now = inst->host->now_ms();
	ch->tx_unanswered_ms = now ? now : 1;
	ka_schedule(ch, now + inst->dead_peer_ms, now);
}

void ka_any_sent(struct channel *ch)
{
	ch->rx_unanswered_ms = 0;
}

void ka_received(struct channel *ch, int data, uint64_t now)
{
	struct sc_instance *inst = ch->inst;
	ch->heard = 1;
	ch->tx_unanswered_ms = 0;
	if (!data || ch->rx_unanswered_ms || !inst->keepalive_ms ||
	    !ch->peer_keepalive)
		return;
	ch->rx_unanswered_ms = now ? now : 1;
	ka_schedule(ch, now + inst->keepalive_ms, now);
}

void ka_forget(struct channel *ch)
{
	ch->tx_unanswered_ms = 0;
	ch->rx_unanswered_ms = 0;
	if (ch->in_ka)
		ka_remove(ch->inst, ch);
}

void ka_stop(struct sc_instance *inst)
{
	if (inst->ka_timer)
		inst->host->source_remove(inst->ka_timer);
	inst->ka_timer = NULL;
}
