/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data through an open channel end.
 *
 * Encryptor: a local message [enc, rest...] is encoded from its views
 * without its first hop (onward rest, return, payload) straight into the
 * buffer the record is sent from (host->send_reserve), sealed there and
 * sent to the peer's decryptor with return [our decryptor].  Small
 * messages of one loop turn share a batch record (channel_data.h) when
 * the peer accepts them, sealed by the end-of-turn flush.
 * Decryptor: the record is opened in place in the delivered payload, the
 * inner message decoded into views of that plaintext, our encryptor is
 * pushed onto its return route (so replies travel encrypted too), it is
 * marked OCKAM_MSG_SECURE with the peer's identifier, and sent on.
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

/* Send one `type` record of a `len`-byte body to the peer's decryptor,
 * carrying `n` inner messages of `bytes` plaintext.  The record is built
 * where it will be sent from (host->send_reserve: a tcp frame, a queue
 * slot): the body is encoded there from the views of `inner`, or sealed
 * there from `body` (a staged batch or queued message; NULL with len 0:
 * a keepalive).  On -EPIPE the channel has been closed (and freed),
 * unless `closing` (channel_close is already doing that). */
static int flow_record_send(struct channel *ch, uint8_t type,
			    const struct ockam_message *inner,
			    const uint8_t *body, size_t len, size_t n,
			    size_t bytes, int closing)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	struct chan_outer o;
	struct ockam_message *out = channel_outer(ch, &o);
	size_t cap = DATA_HEADER_LEN + len + NOISE_TAG_LEN, rec_len;
	uint8_t *rec;
	int rc = h->send_reserve(inst->ctx, out, cap, &rec);
	if (rc != 0)
		return rc;
	if (inner || !body) {
		if (inner && h->message_encode(inner, rec + DATA_HEADER_LEN,
					       len) != len)
			rc = -EMSGSIZE;
		else
			rc = data_seal_in_place(&ch->keys->tx, type, rec, len,
						cap, &rec_len);
	} else {
		rc = data_seal_from(&ch->keys->tx, type, body, len, rec, cap,
				    &rec_len);
	}
	if (rc != 0) {
		/* No plaintext left behind in a lent buffer. */
		sodium_memzero(rec, cap);
		h->send_abort(inst->ctx);
		if (rc == -EPIPE) {
			h->log(inst->ctx, OCKAM_LOG_ERROR,
			       "secure channel %s: nonces exhausted, closing it",
			       channel_label(ch));
			if (!closing)
				channel_close(ch, "nonces exhausted");
		}
		return rc;
	}
	rc = h->send_commit(inst->ctx, rec_len);
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
	/* Data of ch waiting in the batch answers for us. */
	if (ch->state != CHAN_OPEN || inst->batch_ch == ch)
		return 0;
	int rc = flow_record_send(ch, DATA_TYPE, NULL, NULL, 0, 0, 0, 0);
	if (rc != 0 && rc != -EPIPE)
		inst->host->log(inst->ctx, OCKAM_LOG_DEBUG,
				"secure channel %s: keepalive not sent: %s",
				channel_label(ch), strerror(-rc));
	return rc;
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
	return flow_record_send(ch, DATA_BATCH_TYPE, NULL, inst->batch_buf,
				used, n, used - n * DATA_BATCH_LEN_SIZE,
				closing);
}

/* The end of the loop turn: the small messages of this turn go out as one
 * record. */
static void flow_batch_on_flush(void *data)
{
	(void)flow_batch_flush(data, 0);
}

/* Append `inner` (`need` bytes encoded) to the batch of `ch`, starting one
 * if none is pending.  1 if appended, 0 if it must go alone (too large,
 * or no memory or flush source for a batch), or -EPIPE if flushing
 * closed `ch`. */
static int flow_batch_add(struct channel *ch, const struct ockam_message *inner,
			  size_t need)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	size_t entry = DATA_BATCH_LEN_SIZE + need;
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
		inst->batch_buf = malloc(CHAN_BATCH_BODY_MAX);
		if (!inst->batch_buf)
			return 0;
	}
	if (!inst->batch_flush) {
		inst->batch_flush =
			h->flush_add(inst->ctx, flow_batch_on_flush, inst);
		if (!inst->batch_flush)
			return 0;
	}
	uint8_t *p = inst->batch_buf + inst->batch_used;
	if (h->message_encode(inner, p + DATA_BATCH_LEN_SIZE, need) != need)
		return -EMSGSIZE;
	data_batch_len_put(p, need);
	if (inst->batch_count == 0)
		h->flush_arm(inst->batch_flush);
	inst->batch_ch = ch;
	inst->batch_used += entry;
	inst->batch_count++;
	return 1;
}

/* The queue is full: the message is refused with -ENOBUFS, which tells its
 * sender (the host's delivery-failure notice: plugin.h, handle_message),
 * and the refusal is logged at most once a second with a count, however
 * fast messages come. */
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

static int flow_enqueue(struct channel *ch, const struct ockam_message *inner,
			size_t need)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	if (ch->q_len >= inst->queue_limit) {
		flow_queue_full(ch);
		return -ENOBUFS;
	}
	struct chan_queued *q = malloc(sizeof(*q) + need);
	if (!q)
		return -ENOMEM;
	q->next = NULL;
	q->len = h->message_encode(inner, q->data, need);
	if (q->len != need) {
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
		int rc = flow_record_send(ch, DATA_TYPE, NULL, q->data, q->len,
					  1, q->len, 0);
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
	/* The message inside the record: msg's views without its first hop
	 * (our address).  Encoded once, where it goes. */
	struct ockam_message inner;
	ockam_message_init(&inner);
	inner.onward = ockam_route_rest(&msg->onward);
	inner.ret = msg->ret;
	inner.payload = msg->payload;
	inner.payload_len = msg->payload_len;
	size_t need = h->message_encoded_size(&inner);
	if (need == 0 || need > DATA_PLAINTEXT_MAX) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "message too large for the secure channel: %zu bytes encoded (payload %zu), at most %u: dropped",
		       need, msg->payload_len, (unsigned)DATA_PLAINTEXT_MAX);
		return -EMSGSIZE;
	}
	if (h->trace_enabled(inst->ctx)) {
		/* Routes and length only: the host never writes the
		 * plaintext unless the user asked (OCKAM_TRACE_PAYLOAD). */
		struct ockam_trace_event ev = { .kind = OCKAM_TRACE_ENCRYPT,
						.msg = &inner };
		h->trace(inst->ctx, &ev);
	}
	if (ch->state == CHAN_HANDSHAKE)
		return flow_enqueue(ch, &inner, need);
	if (ch->peer_batch) {
		int rc = flow_batch_add(ch, &inner, need);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	} else if (inst->batch_ch) {
		/* Keep the order across channels. */
		(void)flow_batch_flush(inst, 0);
	}
	return flow_record_send(ch, DATA_TYPE, &inner, NULL, need, 1, need,
				0);
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

static void flow_held_on_flush(void *data);

/* Hand one authenticated inner message on, by reference into the opened
 * record: our encryptor goes onto its return route (replies travel
 * encrypted too), and it is marked secure with the peer's identifier.
 * -ENOBUFS if the node's queue has no room for it (nothing done: the
 * caller holds it), else 0 (delivered, or refused and counted). */
static int flow_deliver(struct channel *ch, const uint8_t *pt, size_t len,
			const struct ockam_route *roam_ret, uint64_t now)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	struct ockam_addr hops[OCKAM_DECODE_HOPS];
	struct ockam_addr ret_hops[OCKAM_ROUTE_MAX];
	struct ockam_message inner;
	struct ockam_addr enc;
	ockam_addr_local(&enc, ch->enc_addr);
	if (h->message_decode(pt, len, &inner, hops, OCKAM_DECODE_HOPS) != 0 ||
	    ockam_route_prepend(ret_hops, OCKAM_ROUTE_MAX, &enc, &inner.ret,
				&inner.ret) != 0) {
		flow_reject(ch, CHAN_REJECT_DECODE);
		return 0;
	}
	/* A batch can carry hundreds of messages: one that would find the
	 * queue full waits, with the rest, for the end of the turn. */
	if (h->queue_room(inst->ctx) == 0)
		return -ENOBUFS;
	if (roam_ret) {
		/* Only a decodable message may move the route. */
		flow_roam(ch, roam_ret);
		ch->last_rx_ms = now;
	}
	inner.flags |= OCKAM_MSG_SECURE;
	inner.identifier = ch->peer_id;
	ch->received++;
	ch->bytes_in += len;
	if (h->trace_enabled(inst->ctx)) {
		struct ockam_trace_event ev = { .kind = OCKAM_TRACE_DECRYPT,
						.msg = &inner };
		h->trace(inst->ctx, &ev);
	}
	h->send(inst->ctx, &inner); /* failures are logged by the router */
	return 0;
}

void flow_held_free(struct channel *ch)
{
	if (ch->held_flush)
		ch->inst->host->source_remove(ch->held_flush);
	if (ch->held)
		sodium_memzero(ch->held, ch->held_cap);
	free(ch->held);
	ch->held = NULL;
	ch->held_flush = NULL;
	ch->held_len = ch->held_off = ch->held_cap = 0;
}

static int flow_holding(const struct channel *ch)
{
	return ch->held_off < ch->held_len;
}

/* Keep one opened inner message, after those already held, until the
 * queue has room.  Bounded by CHAN_HELD_MAX: beyond it the message is
 * dropped and counted ("overload"), never the channel. */
static void flow_hold(struct channel *ch, const uint8_t *pt, size_t len)
{
	const struct ockam_host *h = ch->inst->host;
	size_t need = ch->held_len + 4 + len;

	if (!ch->held_flush) {
		ch->held_flush = h->flush_add(ch->inst->ctx, flow_held_on_flush,
					      ch);
		if (!ch->held_flush) {
			flow_reject(ch, CHAN_REJECT_OVERLOAD);
			return;
		}
	}
	if (need > ch->held_cap) {
		size_t cap = ch->held_cap ? ch->held_cap : 16384;
		while (cap < need)
			cap *= 2;
		uint8_t *b = cap > CHAN_HELD_MAX ? NULL : malloc(cap);
		if (!b) {
			flow_reject(ch, CHAN_REJECT_OVERLOAD);
			return;
		}
		/* Moved, not realloc'd: the old copy is wiped. */
		if (ch->held) {
			memcpy(b, ch->held, ch->held_len);
			sodium_memzero(ch->held, ch->held_cap);
			free(ch->held);
		}
		ch->held = b;
		ch->held_cap = cap;
	}
	uint32_t n = (uint32_t)len;
	memcpy(ch->held + ch->held_len, &n, 4);
	memcpy(ch->held + ch->held_len + 4, pt, len);
	ch->held_len = need;
	h->flush_arm(ch->held_flush);
}

/* End of the turn: hand on what was held, in order, while the queue has
 * room; what still does not fit waits for the next turn. */
static void flow_held_on_flush(void *data)
{
	struct channel *ch = data;
	const struct ockam_host *h = ch->inst->host;
	uint64_t now = h->now_ms();

	while (flow_holding(ch)) {
		uint32_t n;
		memcpy(&n, ch->held + ch->held_off, 4);
		if (flow_deliver(ch, ch->held + ch->held_off + 4, n, NULL,
				 now) == -ENOBUFS) {
			h->flush_arm(ch->held_flush);
			return;
		}
		ch->held_off += 4 + (size_t)n;
	}
	sodium_memzero(ch->held, ch->held_len);
	ch->held_len = ch->held_off = 0;
	if (ch->held_cap > 65536) {
		free(ch->held);
		ch->held = NULL;
		ch->held_cap = 0;
	}
}

int flow_decrypt(struct channel *ch, const struct ockam_message *msg)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	enum data_reject why;
	size_t len;

	if (msg->payload_len < DATA_HEADER_LEN + NOISE_TAG_LEN) {
		flow_reject(ch, DATA_REJECT_LENGTH);
		return 0;
	}
	/* Opened where it lies: the payload is ours until we return. */
	uint8_t *rec = ockam_message_payload_mut(msg);
	uint8_t *pt = rec + DATA_HEADER_LEN;
	if (data_open(&ch->keys->rx, rec, msg->payload_len, pt,
		      DATA_PLAINTEXT_MAX, &len, &why) != 0) {
		flow_reject(ch, why);
		return 0;
	}
	/* Authentic: the peer is alive; data calls for a keepalive if we
	 * have nothing to say back (channel_keepalive.c). */
	uint64_t now = h->now_ms();
	ka_received(ch, len != 0, now);
	if (rec[0] == DATA_TYPE) {
		if (len == 0) {
			/* A keepalive: it may move the route, as WireGuard's
			 * do, and counts against idle_timeout. */
			flow_roam(ch, &msg->ret);
			ch->last_rx_ms = now;
			return 0;
		}
		if (flow_holding(ch) ||
		    flow_deliver(ch, pt, len, &msg->ret, now) == -ENOBUFS)
			flow_hold(ch, pt, len);
		return 0;
	}
	/* A batch: its framing is checked whole before anything is
	 * delivered; an entry that does not decode is counted alone. */
	if (data_batch_count(pt, len) < 1) {
		flow_reject(ch, CHAN_REJECT_DECODE);
		return 0;
	}
	flow_roam(ch, &msg->ret);
	ch->last_rx_ms = now;
	size_t off = 0, n;
	const uint8_t *p;
	while (data_batch_next(pt, len, &off, &p, &n) == 1)
		if (flow_holding(ch) ||
		    flow_deliver(ch, p, n, NULL, now) == -ENOBUFS)
			flow_hold(ch, p, n);
	return 0;
}
