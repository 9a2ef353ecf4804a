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

static void limits_idle_fire(void *data)
{
	struct channel *ch = data;
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	uint64_t idle = h->now_ms() - ch->last_rx_ms;
	if (idle < inst->idle_timeout_ms) {
		/* Traffic came meanwhile: sleep for the rest only.  Checking
		 * here instead of re-arming per message keeps the data path
		 * free of timer calls. */
		h->timer_update(ch->timer, inst->idle_timeout_ms - idle);
		return;
	}
	h->log(inst->ctx, OCKAM_LOG_INFO,
	       "secure channel %s closed: no authenticated message for %" PRIu64
	       " ms (idle_timeout)",
	       channel_label(ch), idle);
	notice_send_peer(ch, CHAN_CLOSE_IDLE);
	channel_close(ch, "idle timeout");
}

void limits_idle_arm(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	ch->last_rx_ms = h->now_ms();
	if (ch->initiator || inst->idle_timeout_ms == 0)
		return;
	ch->timer = h->timer_add(inst->ctx, inst->idle_timeout_ms,
				 limits_idle_fire, ch);
	if (!ch->timer)
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "secure channel %s: cannot arm the idle timer; it stays open until the node stops",
		       channel_label(ch));
}
