/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data through an open channel end.
 *
 * Encryptor: a local message [enc, rest...] loses its first hop, is encoded
 * whole (onward, return, payload) and sealed into a data record sent to
 * the peer's decryptor with return [our decryptor].  Small messages of one
 * loop iteration share a batch record (channel_data.h) when the peer
 * accepts them.
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

/* Seal the `len`-byte body at rec + DATA_HEADER_LEN in place as a `type`
 * record, carrying `n` inner messages of `bytes` plaintext, and send it
 * to the peer's decryptor.  On -EPIPE the channel has been closed (and
 * freed), unless `closing` (channel_close is already doing that). */
static int flow_record_send(struct channel *ch, uint8_t type, uint8_t *rec,
			    size_t len, size_t cap, size_t n, size_t bytes,
			    int closing)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	size_t rec_len;
	int rc = data_seal_in_place(&ch->keys->tx, type, rec, len, cap,
				    &rec_len);
	if (rc == -EPIPE) {
		h->log(inst->ctx, OCKAM_LOG_ERROR,
		       "secure channel %s: nonces exhausted, closing it",
		       channel_label(ch));
		if (!closing)
			channel_close(ch, "nonces exhausted");
		return rc;
	}
	if (rc != 0)
		return rc;
	struct ockam_message *out = channel_outer(ch);
	out->payload = rec;
	out->payload_len = rec_len;
	/* A local first hop may be handed this record before send returns
	 * (from a timer): flow_encrypt must not write our buffers then. */
	inst->sending++;
	rc = h->send(inst->ctx, out);
	inst->sending--;
	if (rc == 0) {
		ch->sent += n;
		ch->bytes_out += bytes;
		ka_any_sent(ch);
		if (n && !ch->tx_unanswered_ms)
			ka_data_sent(ch);
	}
	return rc;
}

int flow_keepalive_send(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	/* Data of ch waiting in the batch answers for us; ct_buf is busy
	 * while one of our records is being sent. */
	if (ch->state != CHAN_OPEN || inst->batch_ch == ch || inst->sending)
		return 0;
	uint8_t *rec = inst->ct_buf + CHAN_HOP_ENCODED_MAX;
	int rc = flow_record_send(ch, DATA_TYPE, rec, 0, DATA_MESSAGE_MAX, 0, 0,
				  0);
	if (rc != 0 && rc != -EPIPE)
		inst->host->log(inst->ctx, OCKAM_LOG_DEBUG,
				"secure channel %s: keepalive not sent: %s",
				channel_label(ch), strerror(-rc));
	return rc;
}

/* One encoded inner message, alone in a 0x04 record. */
static int flow_single_send(struct channel *ch, const uint8_t *pt, size_t len)
{
	struct sc_instance *inst = ch->inst;
	uint8_t *rec = inst->ct_buf + CHAN_HOP_ENCODED_MAX;
	memcpy(rec + DATA_HEADER_LEN, pt, len);
	return flow_record_send(ch, DATA_TYPE, rec, len, DATA_MESSAGE_MAX, 1,
				len, 0);
}

#define BATCH_BUF_LEN (DATA_HEADER_LEN + CHAN_BATCH_BODY_MAX + NOISE_TAG_LEN)

/* Bytes of an address in the wire encoding (docs/protocol.md, "Message
 * encoding"): type, length varint, bytes. */
static size_t flow_hop_size(const struct ockam_addr *a)
{
	return 1 + (a->len < 0x80 ? 1u : 2u) + a->len;
}

_Static_assert(OCKAM_ROUTE_MAX < 0x80, "a route count is one varint byte");

/* Encode `msg` without its first onward hop (the encryptor) at dst.  The
 * encoding starts version | onward count | hops (docs/protocol.md,
 * "Message encoding"), so `msg` is encoded whole at dst - cut, where cut
 * is the size of its first hop, and the version and count - 1 are written
 * over the end of that hop: nothing is moved, and no route is copied
 * (building the inner message as a struct copies 258 bytes a hop).  The
 * caller provides `cut` free bytes before dst and room for `full` (the
 * whole message encoded) from dst - cut.  Returns the length, or 0. */
static size_t flow_inner_encode(const struct ockam_host *h,
				const struct ockam_message *msg, size_t full,
				uint8_t *dst)
{
	size_t cut = flow_hop_size(&msg->onward.hop[0]);
	uint8_t *whole = dst - cut;
	size_t len = h->message_encode(msg, whole, full);
	if (len < 2 + cut)
		return 0;
	uint8_t version = whole[0];
	dst[0] = version;
	dst[1] = (uint8_t)(msg->onward.count - 1);
	return len - cut;
}

/* The same where nothing before dst may be written: encoded at dst, then
 * the rest moved down over the hop (fine for a batch entry, at most
 * CHAN_BATCH_BODY_MAX; large messages take the path above). */
static size_t flow_inner_encode_at(const struct ockam_host *h,
				   const struct ockam_message *msg,
				   size_t full, uint8_t *dst)
{
	size_t cut = flow_hop_size(&msg->onward.hop[0]);
	size_t len = h->message_encode(msg, dst, full);
	if (len < 2 + cut)
		return 0;
	memmove(dst + 2, dst + 2 + cut, len - 2 - cut);
	dst[1] = (uint8_t)(msg->onward.count - 1);
	return len - cut;
}

int flow_batch_flush(struct sc_instance *inst, int closing)
{
	struct channel *ch = inst->batch_ch;
	size_t used = inst->batch_used, n = inst->batch_count;
	inst->batch_ch = NULL;
	inst->batch_used = 0;
	inst->batch_count = 0;
	if (!ch || n == 0)
		return 0;
	return flow_record_send(ch, DATA_BATCH_TYPE, inst->batch_buf, used,
				BATCH_BUF_LEN, n,
				used - n * DATA_BATCH_LEN_SIZE, closing);
}

static void flow_batch_on_timer(void *data)
{
	struct sc_instance *inst = data;
	inst->host->source_remove(inst->batch_timer);
	inst->batch_timer = NULL;
	(void)flow_batch_flush(inst, 0);
}

/* Append `msg` (`full` bytes encoded with its first hop) to the batch of
 * `ch`, starting one if none is pending.  1 if appended, 0 if it must go
 * alone (too large, or no memory or timer for a batch), or -EPIPE if
 * flushing closed `ch`. */
static int flow_batch_add(struct channel *ch, const struct ockam_message *msg,
			  size_t full)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	/* Room for the whole message: the first hop is cut out after. */
	size_t entry = DATA_BATCH_LEN_SIZE + full;
	/* Keep the order: what is pending goes out before a message that
	 * cannot join it. */
	if (inst->batch_ch &&
	    (inst->batch_ch != ch || entry > CHAN_BATCH_BODY_MAX ||
	     inst->batch_used + entry > CHAN_BATCH_BODY_MAX)) {
		int mine = inst->batch_ch == ch;
		/* A nonce-exhausted flush closed (freed) its channel. */
		if (flow_batch_flush(inst, 0) == -EPIPE && mine)
			return -EPIPE;
	}
	if (entry > CHAN_BATCH_BODY_MAX)
		return 0;
	if (!inst->batch_buf) {
		inst->batch_buf = malloc(BATCH_BUF_LEN);
		if (!inst->batch_buf)
			return 0;
	}
	if (!inst->batch_timer) {
		/* Runs once this loop iteration's deliveries are done. */
		inst->batch_timer =
			h->timer_add(inst->ctx, 0, flow_batch_on_timer, inst);
		if (!inst->batch_timer)
			return 0;
	}
	uint8_t *p = inst->batch_buf + DATA_HEADER_LEN + inst->batch_used;
	size_t len = flow_inner_encode_at(h, msg, full,
					  p + DATA_BATCH_LEN_SIZE);
	if (len == 0)
		return -EMSGSIZE;
	data_batch_len_put(p, len);
	inst->batch_ch = ch;
	inst->batch_used += DATA_BATCH_LEN_SIZE + len;
	inst->batch_count++;
	return 1;
}

/* flow_encrypt while one of this instance's records is being sent: a
 * timer's send handed it straight to a local hop that leads back here
 * (e.g. a channel carried inside another channel of the same listener).
 * ct_buf or the batch buffer is in flight and may be this very message's
 * payload, so the record is built in a buffer of its own.  Rare: the
 * allocation is fine. */
static int flow_send_detached(struct channel *ch,
			      const struct ockam_message *msg, size_t full)
{
	struct sc_instance *inst = ch->inst;
	/* Nothing of ch's may be left behind in a batch (it is not in
	 * flight: a batch's channel is cleared before it is sent). */
	if (inst->batch_ch == ch && flow_batch_flush(inst, 0) == -EPIPE)
		return -EPIPE;
	size_t cap = CHAN_HOP_ENCODED_MAX + DATA_HEADER_LEN + full +
		     NOISE_TAG_LEN;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	uint8_t *rec = buf + CHAN_HOP_ENCODED_MAX;
	size_t len = flow_inner_encode(inst->host, msg, full,
				       rec + DATA_HEADER_LEN);
	int rc = -EMSGSIZE;
	if (len != 0)
		rc = flow_record_send(ch, DATA_TYPE, rec, len,
				      cap - CHAN_HOP_ENCODED_MAX, 1, len, 0);
	sodium_memzero(buf, cap);
	free(buf);
	return rc;
}

/* The queue is full: the message is refused with -ENOBUFS, which tells its
 * sender (host->send's return when it was handed over at once, so a local
 * sender can retry, else the host's delivery-failure notice: plugin.h,
 * handle_message), and the refusal is logged at most once a second with a
 * count, however fast messages come. */
static void flow_queue_full(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	const char *state = ch->hs ? "handshake in progress"
				   : "waiting to re-handshake";
	h->log_limited(inst->ctx, &inst->drop_lim, OCKAM_LOG_WARN,
		       "%s and %zu message(s) queued (queue_limit): message refused, its sender told",
		       state, ch->q_len);
}

static int flow_enqueue(struct channel *ch, const struct ockam_message *msg,
			size_t full)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	if (ch->q_len >= inst->queue_limit) {
		flow_queue_full(ch);
		return -ENOBUFS;
	}
	struct chan_queued *q = malloc(sizeof(*q) + full);
	if (!q)
		return -ENOMEM;
	q->next = NULL;
	q->len = flow_inner_encode_at(h, msg, full, q->data);
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
		int rc = flow_single_send(ch, q->data, q->len);
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

	if (msg->onward.count < 2) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "message to %s has no route beyond the channel: dropped",
		       ch->enc_addr);
		return -EINVAL;
	}
	size_t full = h->message_encoded_size(msg);
	size_t need = full - flow_hop_size(&msg->onward.hop[0]);
	if (full == 0 || need > DATA_PLAINTEXT_MAX) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "message too large for the secure channel: %zu bytes encoded (payload %zu), at most %u: dropped",
		       need, msg->payload_len, (unsigned)DATA_PLAINTEXT_MAX);
		return -EMSGSIZE;
	}
	if (ch->state == CHAN_HANDSHAKE)
		return flow_enqueue(ch, msg, full);
	if (inst->sending)
		return flow_send_detached(ch, msg, full);
	if (ch->peer_batch) {
		int rc = flow_batch_add(ch, msg, full);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	} else if (inst->batch_ch) {
		/* Keep the order across channels. */
		(void)flow_batch_flush(inst, 0);
	}
	/* Encoded straight behind the record header (after ct_buf's
	 * headroom for the hop that is cut off) and sealed in place. */
	uint8_t *rec = inst->ct_buf + CHAN_HOP_ENCODED_MAX;
	size_t len = flow_inner_encode(h, msg, full, rec + DATA_HEADER_LEN);
	if (len == 0)
		return -EMSGSIZE;
	return flow_record_send(ch, DATA_TYPE, rec, len, DATA_MESSAGE_MAX, 1,
				len, 0);
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

/* Hand one authenticated inner message on: our encryptor goes onto its
 * return route (replies travel encrypted too), and it is marked secure
 * with the peer's identifier. */
static void flow_deliver(struct channel *ch, const uint8_t *pt, size_t len,
			 const struct ockam_route *roam_ret, uint64_t now)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	struct ockam_message *inner = inst->inner;
	struct ockam_addr enc;
	ockam_addr_local(&enc, ch->enc_addr);
	if (h->message_decode(pt, len, inner) != 0 ||
	    ockam_route_push(&inner->ret, &enc) != 0) {
		flow_reject(ch, CHAN_REJECT_DECODE);
		return;
	}
	if (roam_ret) {
		/* Only a decodable message may move the route. */
		flow_roam(ch, roam_ret);
		ch->last_rx_ms = now;
	}
	inner->flags |= OCKAM_MSG_SECURE;
	/* Fixed length, NUL included: no formatting per message. */
	_Static_assert(sizeof(ch->peer_id) <= sizeof(inner->identifier),
		       "identifier does not fit the message");
	memcpy(inner->identifier, ch->peer_id, sizeof(ch->peer_id));
	ch->received++;
	ch->bytes_in += len;
	h->send(inst->ctx, inner); /* failures are logged by the router */
}

int flow_decrypt(struct channel *ch, const struct ockam_message *msg)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	enum data_reject why;
	size_t len;

	if (data_open(&ch->keys->rx, msg->payload, msg->payload_len,
		      inst->pt_buf, DATA_PLAINTEXT_MAX, &len, &why) != 0) {
		flow_reject(ch, why);
		return 0;
	}
	/* Authentic: the peer is alive; data calls for a keepalive if we
	 * have nothing to say back (channel_keepalive.c). */
	uint64_t now = h->now_ms();
	ka_received(ch, len != 0, now);
	if (msg->payload[0] == DATA_TYPE) {
		if (len == 0) {
			/* A keepalive: it may move the route, as WireGuard's
			 * do, and counts against idle_timeout. */
			flow_roam(ch, &msg->ret);
			ch->last_rx_ms = now;
			return 0;
		}
		flow_deliver(ch, inst->pt_buf, len, &msg->ret, now);
		return 0;
	}
	/* A batch: its framing is checked whole before anything is
	 * delivered; an entry that does not decode is counted alone. */
	if (data_batch_count(inst->pt_buf, len) < 1) {
		flow_reject(ch, CHAN_REJECT_DECODE);
		return 0;
	}
	flow_roam(ch, &msg->ret);
	ch->last_rx_ms = now;
	size_t off = 0, n;
	const uint8_t *p;
	while (data_batch_next(inst->pt_buf, len, &off, &p, &n) == 1)
		flow_deliver(ch, p, n, NULL, now);
	return 0;
}
