/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The initiator without a channel: re-handshake with backoff, and what
 * happens to messages sent meanwhile.
 *
 * When the initiator's channel closes (handshake timed out or failed,
 * nonces exhausted, the responder full) and `rehandshake` is on, a new
 * channel end is made at once to hold the queue (bounded by queue_limit)
 * and its handshake starts after an exponential backoff with jitter
 * (rehandshake_backoff .. rehandshake_backoff_max).  A refusal (either
 * side's trust, or the responder's CLOSE saying the handshake failed) is
 * final: sends then fail with ENOTCONN.  A channel the responder closed
 * for idleness is reopened only when there is something to send.
 *
 * An open channel whose peer seems gone (channel_keepalive.c's dead-peer
 * timer, or a close notice after the peer has been heard) is replaced
 * rather than closed: a new handshake starts at once, the old channel
 * keeps decrypting what still arrives, and is closed when the new one
 * opens.  A forged notice or a slow peer thus costs one handshake, never
 * a working channel.  Messages sent meanwhile wait in the new channel's
 * queue (queue_limit) and go out when it opens; the YAML address stays
 * the same, so routes through it keep working.
 *
 * Logging: one line when the channel is lost, then at most one line per
 * CHAN_RETRY_LOG_MS however many attempts fail.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "channel.h"

#define CHAN_RETRY_LOG_MS 10000

/* The delay before attempt `inst->retry_attempt` (1-based). */
static uint64_t backoff_next(const struct sc_instance *inst)
{
	uint64_t d = inst->backoff_min_ms;
	for (unsigned i = 1; i < inst->retry_attempt && d < inst->backoff_max_ms;
	     i++)
		d *= 2;
	if (d > inst->backoff_max_ms)
		d = inst->backoff_max_ms;
	/* Anywhere in [d/2, d]: initiators cut off together (a listener
	 * restart, a full listener) must not come back in step. */
	uint64_t half = d / 2;
	return half + randombytes_uniform((uint32_t)(d - half + 1));
}

static void retry_fire(void *data)
{
	struct channel *ch = data;
	struct sc_instance *inst = ch->inst;
	inst->host->source_remove(ch->timer);
	ch->timer = NULL;
	if (hs_initiator_begin(ch) != 0)
		channel_close(ch, "handshake could not start");
}

static void give_up(struct sc_instance *inst, const char *why)
{
	/* A channel being replaced goes too: its peer refused us again or
	 * is unreachable for good. */
	if (inst->old_ch)
		channel_close(inst->old_ch, why);
	inst->gave_up = 1;
	inst->notconn_logged = 0;
	snprintf(inst->closed_why, sizeof(inst->closed_why), "%s", why);
	inst->host->log(inst->ctx, OCKAM_LOG_WARN,
			"secure channel closed (%s): not re-handshaking; messages to %s now fail",
			why, inst->host->instance_name(inst->ctx));
}

static void retry_log(struct sc_instance *inst, const char *why,
		      uint64_t delay)
{
	const struct ockam_host *h = inst->host;
	if (inst->retry_attempt == 1) {
		/* A new outage: its first line always gets through. */
		inst->retry_lim = (struct ockam_log_limit){
			.interval_ms = CHAN_RETRY_LOG_MS};
		h->log_limited(inst->ctx, &inst->retry_lim, OCKAM_LOG_WARN,
			       "secure channel lost (%s): re-handshaking in %" PRIu64
			       " ms",
			       why, delay);
		return;
	}
	h->log_limited(inst->ctx, &inst->retry_lim, OCKAM_LOG_WARN,
		       "still no secure channel after %u attempt(s) (last: %s); next in %" PRIu64
		       " ms",
		       inst->retry_attempt - 1, why, delay);
}

void initiator_note_sender(struct channel *ch, const struct ockam_message *msg)
{
	struct sc_instance *inst = ch->inst;
	if (ch->received || inst->unconfirmed_sender[0] ||
	    msg->ret.count == 0 || msg->ret.hop[0].type != OCKAM_ADDR_LOCAL)
		return;
	memcpy(inst->unconfirmed_sender, msg->ret.hop[0].data,
	       msg->ret.hop[0].len);
	inst->unconfirmed_sender[msg->ret.hop[0].len] = '\0';
}

/* The channel is gone before the peer said anything: what was sent on it
 * is lost (most often the peer refused us on the last handshake message),
 * so tell the first sender rather than let it wait for a reply. */
static void unconfirmed_notify(struct channel *ch, const char *why)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	struct ockam_message msg;
	struct ockam_addr to, back;
	char text[256];
	if (!inst->unconfirmed_sender[0])
		return;
	if (!ch->received && ch->sent) {
		ockam_message_init(&msg);
		ockam_addr_local(&to, h->instance_name(inst->ctx));
		msg.onward = ockam_route_make(&to, 1);
		ockam_addr_local(&back, inst->unconfirmed_sender);
		msg.ret = ockam_route_make(&back, 1);
		snprintf(text, sizeof(text), "no secure channel %s (%s)",
			 h->instance_name(inst->ctx), why);
		h->message_undeliverable(inst->ctx, &msg, -ENOTCONN, text);
	}
	inst->unconfirmed_sender[0] = '\0';
}

void initiator_lost(struct channel *ch, const char *why)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	inst->initiator_ch = NULL;
	if (inst->stopping || !inst->started)
		return;
	unconfirmed_notify(ch, why);
	if (ch->no_retry || !inst->rehandshake) {
		give_up(inst, why);
		return;
	}
	if (ch->lazy_retry) {
		h->log(inst->ctx, OCKAM_LOG_INFO,
		       "a new handshake starts with the next message to %s",
		       h->instance_name(inst->ctx));
		inst->retry_attempt = 0;
		return;
	}
	struct channel *next = channel_new(inst, 1);
	if (!next) {
		give_up(inst, "out of memory");
		return;
	}
	struct ockam_route r = chan_route_view(&inst->route);
	if (chan_route_set(&next->peer, &r) != 0) {
		channel_close(next, "out of memory");
		give_up(inst, "out of memory");
		return;
	}
	/* The queue waits for the next attempt instead of being dropped. */
	next->q_head = ch->q_head;
	next->q_tail = ch->q_tail;
	next->q_len = ch->q_len;
	ch->q_head = ch->q_tail = NULL;
	ch->q_len = 0;
	inst->initiator_ch = next;
	inst->retry_attempt++;
	inst->hs_failed++;
	uint64_t delay = backoff_next(inst);
	next->timer = h->timer_add(inst->ctx, delay, retry_fire, next);
	if (!next->timer) {
		next->no_retry = 1;
		channel_close(next, "cannot arm the re-handshake timer");
		return;
	}
	retry_log(inst, why, delay);
}

int initiator_rehandshake(struct channel *ch, const char *why)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	if (inst->initiator_ch != ch || ch->state != CHAN_OPEN ||
	    inst->stopping || !inst->rehandshake)
		return 0;
	if (inst->old_ch) /* not expected: old_ch goes when ch opened */
		channel_close(inst->old_ch, "replaced");
	h->log(inst->ctx, OCKAM_LOG_WARN,
	       "secure channel %s: %s: re-handshaking (the channel is kept until the new one opens)",
	       channel_label(ch), why);
	ka_forget(ch);
	inst->old_ch = ch;
	inst->initiator_ch = NULL;
	inst->retry_attempt = 0;
	inst->unconfirmed_sender[0] = '\0';
	/* On failure a retry is scheduled (initiator_lost), or the next
	 * message tries again (initiator_send_closed). */
	(void)hs_initiator_start(inst);
	return 1;
}

void initiator_notify_dropped(struct sc_instance *inst, const uint8_t *data,
			      size_t len, const char *why)
{
	const struct ockam_host *h = inst->host;
	struct ockam_message msg;
	struct ockam_addr hops[OCKAM_DECODE_HOPS];
	char text[256];
	if (h->message_decode(data, len, &msg, hops, OCKAM_DECODE_HOPS) != 0)
		return;
	snprintf(text, sizeof(text), "no secure channel %s (%s)",
		 h->instance_name(inst->ctx), why);
	h->message_undeliverable(inst->ctx, &msg, -ENOTCONN, text);
}

/* Where a notice handed to a handshake's decryptor comes from, judged by
 * the route it names (notice_origin). */
enum notice_origin {
	NOTICE_STRAY,  /* not along the handshake's route: ignored */
	NOTICE_HERE,   /* a transport or forwarder of this node */
	NOTICE_REMOTE, /* another node on the route */
};

/* Is `msg`, a notice handed to ch's decryptor, about the handshake
 * message ch sent along its route P, arriving the way it must?  The
 * decryptor's name is on the wire (the handshake's return route), so
 * anyone who saw it can send a notice to it; only the route it names
 * tells whether it came back along P:
 *   - from a transport or forwarder of this node: the message it was to
 *     carry, P from the hop that dropped it: a suffix of P;
 *   - from another node (docs/protocol.md, "Delivery-failure notices"):
 *     the route back to the dropper, which starts with the connection the
 *     notice came in on, as this node wrote it, and stops before P's last
 *     hop (the listener): a proper prefix of P.  A stranger on a
 *     connection of their own names that connection, not P's first hop.
 * Anyone on P itself can still forge one (it is not authenticated): it
 * costs this handshake and what waits for it, as a drop there would. */
static enum notice_origin notice_origin(const struct channel *ch,
					const struct ockam_message *msg)
{
	struct ockam_route p = chan_route_view(&ch->peer);
	size_t n = msg->onward.count;
	if (n == 0 || n > p.count)
		return NOTICE_STRAY;
	struct ockam_route tail = ockam_route_make(p.hop + p.count - n, n);
	if (ockam_route_is_way_back(&msg->onward, &tail))
		return NOTICE_HERE;
	struct ockam_route head = ockam_route_make(p.hop, n);
	if (n < p.count && ockam_route_is_way_back(&msg->onward, &head))
		return NOTICE_REMOTE;
	return NOTICE_STRAY;
}

/* A handshake message of ours was dropped on the way: fail the handshake
 * now with that reason rather than at handshake_timeout.  Whether it is
 * retried is the usual re-handshake decision.
 *   - Dropped by another node (a relay has no such name, a hop there
 *     cannot connect) before this channel ever opened: the notice is the
 *     only news the senders waiting for this handshake get of a failure
 *     beyond this node, so every message queued for it fails now with
 *     the reason (`messages:` and ping print it), rather than at their
 *     timeout; later messages wait for the next handshake.
 *   - Once a channel has opened, a failed re-handshake is an outage (the
 *     responder restarting, a middle node's connection backing off):
 *     the queue waits for the next attempt, as it does for a timeout, so
 *     what is sent meanwhile goes out when the channel is back.
 *   - Dropped here (this node's first connection was refused): the
 *     queue waits for the re-handshake too, which is made to ride out a
 *     peer that is down or starting (tcp retries the same connection).
 * Other notices (data a transport dropped) are left to the channel's own
 * timers: they are not ours to decrypt. */
void initiator_undeliverable(void *state, void *addr_data,
			     const struct ockam_message *msg, int err,
			     const char *why)
{
	struct sc_instance *inst = state;
	(void)err;
	if (!addr_data || *(const uint8_t *)addr_data != CHAN_DECRYPTOR)
		return;
	struct channel *ch = channel_of_endpoint(addr_data);
	if (!ch->initiator || ch->state != CHAN_HANDSHAKE)
		return;
	enum notice_origin from = notice_origin(ch, msg);
	if (from == NOTICE_STRAY) {
		char route[256];
		inst->notices_ignored++;
		if (inst->host->log_limited_due(inst->ctx, &inst->notice_lim,
						OCKAM_LOG_WARN)) {
			inst->host->route_format(inst->ctx, &msg->onward, route,
						 sizeof(route));
			inst->host->log_limited(inst->ctx, &inst->notice_lim,
						OCKAM_LOG_WARN,
						"ignored a delivery-failure notice for handshake %s that did not come back along its route (it names %s): %s",
						ch->dec_addr, route, why);
		}
		return;
	}
	char text[192];
	snprintf(text, sizeof(text), "handshake message not delivered: %s",
		 why);
	if (from == NOTICE_REMOTE && !inst->opened)
		channel_queue_drop(ch, text);
	channel_close(ch, text);
}

int initiator_send_closed(struct sc_instance *inst,
			  const struct ockam_message *msg)
{
	const struct ockam_host *h = inst->host;
	if (!inst->gave_up && inst->started && !inst->stopping) {
		/* Closed for idleness: reopen now, this message waits in
		 * the new channel's queue. */
		hs_initiator_start(inst);
		if (inst->initiator_ch)
			return flow_encrypt(inst->initiator_ch, msg);
	}
	if (!inst->notconn_logged) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "no secure channel (%s): messages to %s fail with ENOTCONN",
		       inst->closed_why[0] ? inst->closed_why
					   : "the handshake failed",
		       h->instance_name(inst->ctx));
		inst->notconn_logged = 1;
	}
	return -ENOTCONN;
}
