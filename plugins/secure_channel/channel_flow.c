/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data through an open channel end.
 *
 * Encryptor: a local message [enc, rest...] loses its first hop, is encoded
 * whole (onward, return, payload) with host->message_encode and sealed into
 * a data message sent to the peer's decryptor with return [our decryptor].
 * Decryptor: the data message is opened, decoded, our encryptor is pushed
 * onto its return route (so replies travel encrypted too), it is marked
 * OCKAM_MSG_SECURE with the peer's identifier, and sent on.
 *
 * Refused messages are counted in channel_rejects.c; the channel keeps
 * working.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "channel.h"

/* Seal `len` plaintext bytes and send them to the peer's decryptor.  On
 * -EPIPE the channel has been closed (and freed). */
static int flow_seal_send(struct channel *ch, const uint8_t *pt, size_t len)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	size_t ct_len;
	int rc = data_seal(&ch->keys->tx, pt, len, inst->ct_buf,
			   DATA_MESSAGE_MAX, &ct_len);
	if (rc == -EPIPE) {
		h->log(inst->ctx, OCKAM_LOG_ERROR,
		       "secure channel %s: nonces exhausted, closing it",
		       channel_label(ch));
		channel_close(ch, "nonces exhausted");
		return rc;
	}
	if (rc != 0)
		return rc;
	struct ockam_message *out = channel_outer(ch);
	out->payload = inst->ct_buf;
	out->payload_len = ct_len;
	rc = h->send(inst->ctx, out);
	if (rc == 0) {
		ch->sent++;
		ch->bytes_out += len;
	}
	return rc;
}

static int flow_enqueue(struct channel *ch, const struct ockam_message *inner,
			size_t need)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	if (ch->q_len >= inst->queue_limit) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "%s and %zu message(s) queued (queue_limit): message dropped",
		       ch->hs ? "handshake in progress"
			      : "waiting to re-handshake",
		       ch->q_len);
		return -ENOBUFS;
	}
	struct chan_queued *q = malloc(sizeof(*q) + need);
	if (!q)
		return -ENOMEM;
	q->next = NULL;
	q->len = h->message_encode(inner, q->data, need);
	if (q->len == 0) {
		free(q);
		return -EMSGSIZE;
	}
	if (ch->q_tail)
		ch->q_tail->next = q;
	else
		ch->q_head = q;
	ch->q_tail = q;
	ch->q_len++;
	return 0;
}

void flow_flush(struct channel *ch)
{
	while (ch->q_head) {
		struct chan_queued *q = ch->q_head;
		ch->q_head = q->next;
		if (!ch->q_head)
			ch->q_tail = NULL;
		ch->q_len--;
		int rc = flow_seal_send(ch, q->data, q->len);
		sodium_memzero(q->data, q->len);
		free(q);
		if (rc == -EPIPE)
			return; /* ch is gone */
	}
}

int flow_encrypt(struct channel *ch, const struct ockam_message *msg)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	struct ockam_message *inner = &inst->inner;

	ockam_message_init(inner);
	ockam_route_copy(&inner->onward, &msg->onward);
	ockam_route_pop(&inner->onward);
	if (inner->onward.count == 0) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "message to %s has no route beyond the channel: dropped",
		       ch->enc_addr);
		return -EINVAL;
	}
	ockam_route_copy(&inner->ret, &msg->ret);
	inner->payload = msg->payload;
	inner->payload_len = msg->payload_len;

	size_t need = h->message_encoded_size(inner);
	if (need > DATA_PLAINTEXT_MAX) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "message too large for the secure channel: %zu bytes encoded (payload %zu), at most %u: dropped",
		       need, msg->payload_len, (unsigned)DATA_PLAINTEXT_MAX);
		return -EMSGSIZE;
	}
	if (ch->state == CHAN_HANDSHAKE)
		return flow_enqueue(ch, inner, need);
	size_t len = h->message_encode(inner, inst->pt_buf, DATA_PLAINTEXT_MAX);
	if (len == 0)
		return -EMSGSIZE;
	return flow_seal_send(ch, inst->pt_buf, len);
}

/* Roaming, as WireGuard does: an authentic, fresh message's return route
 * is the current way back to the peer (a middle node restarted, new
 * connections, new ports).  Replays cannot move us: the window refused
 * them before this. */
static void flow_roam(struct channel *ch, const struct ockam_route *ret)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	if (ret->count == 0 || chan_route_equal(&ch->peer, ret))
		return;
	if (chan_route_set(&ch->peer, ret) != 0)
		return; /* out of memory: keep the old way back */
	uint64_t now = h->now_ms();
	enum ockam_log_level level = OCKAM_LOG_INFO;
	/* Two live paths taking turns must not flood the log. */
	if (ch->roam_log_ms && now - ch->roam_log_ms < CHAN_REPORT_INTERVAL_MS)
		level = OCKAM_LOG_DEBUG;
	else
		ch->roam_log_ms = now ? now : 1;
	if (!h->log_enabled(inst->ctx, level))
		return;
	char route[512];
	h->route_format(inst->ctx, ret, route, sizeof(route));
	h->log(inst->ctx, level, "secure channel %s: peer route is now %s",
	       channel_label(ch), route);
}

int flow_decrypt(struct channel *ch, const struct ockam_message *msg)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	struct ockam_message *inner = &inst->inner;
	enum data_reject why;
	size_t len;

	if (data_open(&ch->keys->rx, msg->payload, msg->payload_len,
		      inst->pt_buf, DATA_PLAINTEXT_MAX, &len, &why) != 0) {
		flow_reject(ch, why);
		return 0;
	}
	struct ockam_addr enc;
	ockam_addr_local(&enc, ch->enc_addr);
	if (h->message_decode(inst->pt_buf, len, inner) != 0 ||
	    ockam_route_push(&inner->ret, &enc) != 0) {
		flow_reject(ch, CHAN_REJECT_DECODE);
		return 0;
	}
	flow_roam(ch, &msg->ret);
	ch->last_rx_ms = h->now_ms();
	inner->flags |= OCKAM_MSG_SECURE;
	/* Fixed length, NUL included: no formatting per message. */
	_Static_assert(sizeof(ch->peer_id) <= sizeof(inner->identifier),
		       "identifier does not fit the message");
	memcpy(inner->identifier, ch->peer_id, sizeof(ch->peer_id));
	ch->received++;
	ch->bytes_in += len;
	h->send(inst->ctx, inner); /* failures are logged by the router */
	return 0;
}
