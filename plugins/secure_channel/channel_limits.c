/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a listener holds at once, and for how long: max_handshakes
 * (half-open), max_channels (all channel ends) and idle_timeout (a
 * responder channel that has received nothing authentic for that long is
 * closed, and the initiator told so with a CLOSE notice).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "channel.h"

int limits_admit(struct sc_instance *inst, const struct ockam_route *ret)
{
	char what[160];
	if (inst->handshakes >= inst->max_handshakes) {
		snprintf(what, sizeof(what),
			 "too many handshakes in progress (max_handshakes %" PRIu64
			 "): new one refused",
			 inst->max_handshakes);
	} else if (inst->n_channels >= inst->max_channels) {
		snprintf(what, sizeof(what),
			 "too many secure channels (max_channels %" PRIu64
			 "): new one refused",
			 inst->max_channels);
	} else {
		return 0;
	}
	listener_complain(inst, what);
	notice_send(inst, ret, CHAN_CLOSE_BUSY);
	return -EBUSY;
}

/* Arm the sweep for the earliest idle check, or disarm it. */
static void idle_timer_set(struct sc_instance *inst, uint64_t now)
{
	const struct ockam_host *h = inst->host;
	const struct channel *first = inst->idle.head;
	if (!inst->idle_timer)
		return;
	if (!first) {
		h->timer_update(inst->idle_timer, 0); /* 0 disarms */
		return;
	}
	uint64_t at = first->idle_check_ms;
	h->timer_update(inst->idle_timer, at > now ? at - now : 1);
}

/* Put `ch` in inst->idle by idle_check_ms.  Checks are mostly later than
 * every listed one, so the walk starts at the tail. */
static void idle_insert(struct sc_instance *inst, struct channel *ch)
{
	struct channel *pos = inst->idle.tail;
	while (pos && pos->idle_check_ms > ch->idle_check_ms)
		pos = pos->prev;
	chan_list_insert_after(&inst->idle, pos, ch);
}

/* The sweep: close the channels that received nothing authentic for
 * idle_timeout; look again at the others when theirs would run out.
 * Checking here instead of re-arming per message keeps the data path free
 * of timer calls; one timer per listener instead of one per channel saves
 * a host timer (~100 B) per idle channel. */
static void limits_idle_fire(void *data)
{
	struct sc_instance *inst = data;
	const struct ockam_host *h = inst->host;
	uint64_t now = h->now_ms();
	struct channel *ch;
	while ((ch = inst->idle.head) && ch->idle_check_ms <= now) {
		uint64_t idle = now - ch->last_rx_ms;
		if (idle >= inst->idle_timeout_ms) {
			h->log(inst->ctx, OCKAM_LOG_INFO,
			       "secure channel %s closed: no authenticated message for %" PRIu64
			       " ms (idle_timeout)",
			       channel_label(ch), idle);
			notice_send_peer(ch, CHAN_CLOSE_IDLE);
			channel_close(ch, "idle timeout");
			continue;
		}
		/* Traffic came meanwhile: look again when it would run out. */
		chan_list_remove(&inst->idle, ch);
		ch->idle_check_ms = ch->last_rx_ms + inst->idle_timeout_ms;
		idle_insert(inst, ch);
	}
	idle_timer_set(inst, now);
}

void limits_idle_arm(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	uint64_t now = h->now_ms();
	ch->last_rx_ms = now;
	if (ch->initiator || inst->idle_timeout_ms == 0)
		return;
	if (!inst->idle_timer) {
		inst->idle_timer = h->timer_add(inst->ctx, inst->idle_timeout_ms,
						limits_idle_fire, inst);
		if (!inst->idle_timer) {
			h->log(inst->ctx, OCKAM_LOG_WARN,
			       "secure channel %s: cannot arm the idle timer; it stays open until the node stops",
			       channel_label(ch));
			return;
		}
	}
	chan_list_remove(&inst->channels, ch);
	ch->in_idle = 1;
	ch->idle_check_ms = now + inst->idle_timeout_ms;
	idle_insert(inst, ch);
	if (inst->idle.head == ch)
		idle_timer_set(inst, now);
}

void limits_idle_stop(struct sc_instance *inst)
{
	if (inst->idle_timer)
		inst->host->source_remove(inst->idle_timer);
	inst->idle_timer = NULL;
}
