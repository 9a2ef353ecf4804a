/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLOSE notice: a responder that refuses an initiator (trust), fails
 * its handshake, is full, or drops an idle channel tells the initiator's
 * decryptor so, instead of leaving it to believe the channel is open:
 *
 *   0x05 | reason u8          (exactly 2 bytes, return route empty)
 *
 * It is NOT authenticated (the responder may not even know the
 * initiator's keys yet).  The initiator only ever closes on it, never
 * opens or trusts anything, and only while its peer has not answered on
 * the channel: once an authenticated record has come back, the peer
 * accepted us, so a refusal or "busy" is taken as a hint only -- a new
 * handshake starts and the working channel stays until it opens
 * (channel_initiator.c initiator_rehandshake).  A forged notice thus
 * costs at most one handshake.  "idle" closes the channel (the responder
 * dropped its end); the next message reopens it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "channel.h"

const char *notice_reason_name(unsigned why)
{
	switch (why) {
	case CHAN_CLOSE_REFUSED:
		return "not trusted";
	case CHAN_CLOSE_FAILED:
		return "handshake failed";
	case CHAN_CLOSE_BUSY:
		return "too many handshakes or channels";
	case CHAN_CLOSE_IDLE:
		return "idle timeout";
	case CHAN_CLOSE_KEY_EXCHANGE:
		return "the listener uses the other key_exchange (noise / x3dh)";
	default:
		return "unknown reason";
	}
}

void notice_send(struct sc_instance *inst, const struct ockam_route *to,
		 enum chan_close_reason why)
{
	const struct ockam_host *h = inst->host;
	uint8_t payload[2] = { CHAN_MSG_CLOSE, (uint8_t)why };
	struct ockam_message out;
	if (to->count == 0)
		return;
	ockam_message_init(&out);
	out.onward = *to;
	out.payload = payload;
	out.payload_len = sizeof(payload);
	/* Best effort: a lost notice leaves the initiator to its timeout. */
	int rc = h->send(inst->ctx, &out);
	if (rc != 0)
		h->log(inst->ctx, OCKAM_LOG_DEBUG,
		       "cannot send a close notice (%s): %s",
		       notice_reason_name(why), strerror(-rc));
}

void notice_send_peer(struct channel *ch, enum chan_close_reason why)
{
	struct ockam_route to = chan_route_view(&ch->peer);
	notice_send(ch->inst, &to, why);
}

void notice_receive(struct channel *ch, const struct ockam_message *msg)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	if (!ch->initiator || msg->payload_len != 2) {
		flow_reject(ch, ch->initiator ? DATA_REJECT_LENGTH
					      : DATA_REJECT_TYPE);
		return;
	}
	unsigned why = msg->payload[1];
	char reason[64];
	if (why >= CHAN_CLOSE_REFUSED && why <= CHAN_CLOSE_KEY_EXCHANGE)
		snprintf(reason, sizeof(reason), "%s", notice_reason_name(why));
	else
		snprintf(reason, sizeof(reason), "unknown reason %u", why);
	if (ch->state == CHAN_OPEN && ch->heard && why != CHAN_CLOSE_IDLE) {
		/* The peer has sent us authenticated records on this
		 * channel, so it accepted us: a refusal now is not believed
		 * (anyone on the path can forge one).  It may still mean a
		 * restarted peer, so check with a new handshake while the
		 * channel stays: at most one handshake per notice. */
		char text[160];
		snprintf(text, sizeof(text),
			 "unauthenticated close notice (%s) after the peer had answered",
			 reason);
		if (!initiator_rehandshake(ch, text))
			flow_reject(ch, DATA_REJECT_TYPE);
		return;
	}
	if (why == CHAN_CLOSE_IDLE && ch->state == CHAN_OPEN) {
		h->log(inst->ctx, OCKAM_LOG_INFO,
		       "peer closed the channel: %s", reason);
		ch->lazy_retry = 1;
		channel_close(ch, "closed by the peer");
		return;
	}
	h->log(inst->ctx, OCKAM_LOG_WARN, "peer refused the channel: %s",
	       reason);
	/* Trust, a broken handshake and the other key exchange will not fix
	 * themselves: give up.
	 * Busy (and reasons we do not know) may pass: retry with backoff. */
	if (why == CHAN_CLOSE_REFUSED || why == CHAN_CLOSE_FAILED ||
	    why == CHAN_CLOSE_KEY_EXCHANGE)
		ch->no_retry = 1;
	char why_text[96];
	snprintf(why_text, sizeof(why_text), "refused by the peer: %s", reason);
	channel_close(ch, why_text);
}
