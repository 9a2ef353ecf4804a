/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Noise XX between an initiator and a listener's responders, as ordinary
 * routed messages (docs/protocol.md, "Secure channel"):
 *
 *   initiator                                   listener / responder
 *   HS1 0x01|e          to route, return [D_i]   -> listener address
 *   HS2 0x02|e,ee,s,es  to HS1's return, return [D_r] -> D_i
 *   HS3 0x03|s,se       to HS2's return, return [D_i] -> D_r
 *
 * HS1's payload is empty; HS2's and HS3's are one features byte
 * (DATA_FEATURE_BATCH: this end accepts batch records;
 * DATA_FEATURE_KEEPALIVE / _SENDS: it accepts / sends keepalives), encrypted and
 * authenticated by the handshake.  A peer that sends no payload (an
 * older version) gets single-message records only.  Each
 * side checks the peer's identifier against its trust policy as soon as
 * the message carrying the peer's static key has authenticated: the
 * initiator on HS2, the responder on HS3.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "channel_x3dh.h"
#include "x3dh.h"

static void hs_timeout(void *data)
{
	struct channel *ch = data;
	struct sc_instance *inst = ch->inst;
	char what[128];
	/* A retrying initiator says so in its own rate-limited line; a
	 * responder's (one per message 1 never finished) are rate-limited. */
	if (ch->spent) {
		/* Complained about when it failed; it held its slot. */
	} else if (!ch->initiator) {
		snprintf(what, sizeof(what),
			 "responder handshake %s timed out after %" PRIu64
			 " ms",
			 ch->dec_addr, inst->handshake_timeout_ms);
		listener_complain(inst, LC_TIMEOUT, what);
	} else if (inst->retry_attempt == 0) {
		inst->host->log(inst->ctx, OCKAM_LOG_WARN,
				"initiator handshake %s timed out after %" PRIu64
				" ms",
				ch->dec_addr, inst->handshake_timeout_ms);
	}
	channel_close(ch, ch->spent ? "handshake failed" : "handshake timed out");
}

static int hs_begin(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	struct noise_keys keys = { .s = inst->id->secret };
	ch->hs = noise_handshake_new(&inst->suite, ch->initiator, &keys);
	if (!ch->hs)
		return -ENOMEM;
	ch->timer = inst->host->timer_add(inst->ctx,
					  inst->handshake_timeout_ms,
					  hs_timeout, ch);
	return ch->timer ? 0 : -ENOMEM;
}

/* Write the next handshake message and send it to ch->peer with return
 * route [our decryptor]. */
static int hs_send(struct channel *ch, uint8_t type)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	uint8_t *buf = inst->hs_buf;
	size_t len;
	uint8_t features = chan_features(inst);
	buf[0] = type;
	/* HS1 is not encrypted yet: it carries nothing. */
	size_t plen = type == CHAN_MSG_HS1 ? 0 : sizeof(features);
	if (noise_handshake_write(ch->hs, &features, plen, buf + 1,
				  sizeof(inst->hs_buf) - 1, &len) != 0) {
		h->log(inst->ctx, OCKAM_LOG_ERROR,
		       "cannot write handshake message %u", type);
		return -EPROTO;
	}
	struct chan_outer o;
	struct ockam_message *out = channel_outer(ch, &o);
	out->payload = buf;
	out->payload_len = len + 1;
	int rc = h->send(inst->ctx, out);
	/* -v: the initiator's steps (a listener's would let a stranger's
	 * flood of message 1s write a line each). */
	if (rc == 0 && ch->initiator &&
	    h->log_enabled(inst->ctx, OCKAM_LOG_DEBUG)) {
		char route[512];
		h->route_format(inst->ctx, &out->onward, route, sizeof(route));
		h->log(inst->ctx, OCKAM_LOG_DEBUG,
		       "handshake message %u (%zu bytes) sent to %s", type,
		       out->payload_len, route);
	}
	/* A stranger can make a responder's answer fail at will (send
	 * message 1 and close the connection before it is delivered):
	 * rate-limited, counted. */
	if (rc != 0 && !ch->initiator &&
	    listener_complaint_due(inst, LC_UNANSWERED)) {
		char route[512], what[640];
		h->route_format(inst->ctx, &out->onward, route, sizeof(route));
		snprintf(what, sizeof(what),
			 "cannot send handshake message %u to %s: %s", type,
			 route, strerror(-rc));
		listener_complain(inst, LC_UNANSWERED, what);
	}
	/* A retrying initiator's failures go into its rate-limited line. */
	if (rc != 0 && ch->initiator && inst->retry_attempt == 0) {
		char route[512];
		h->route_format(inst->ctx, &out->onward, route, sizeof(route));
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "cannot send handshake message %u to %s: %s", type,
		       route, strerror(-rc));
	}
	return rc;
}

/* The peer's static key has just authenticated: name it and judge it. */
static int hs_check_peer(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	const uint8_t *rs = noise_handshake_remote_static(ch->hs);
	if (!rs)
		return -EPROTO;
	identifier_format(rs, ch->peer_id);
	if (!trust_allows(&inst->trust, ch->peer_id)) {
		char what[128];
		snprintf(what, sizeof(what),
			 "refusing peer %s: not in trust list", ch->peer_id);
		if (ch->initiator) {
			inst->host->log(inst->ctx, OCKAM_LOG_WARN, "%s", what);
			ch->no_retry = 1; /* it will not become trusted */
		} else {
			/* Anyone can make a key that verifies: a stranger
			 * looping handshakes must not flood the log. */
			listener_complain(inst, LC_UNTRUSTED, what);
			notice_send_peer(ch, CHAN_CLOSE_REFUSED);
		}
		return -EACCES;
	}
	return 0;
}

static int hs_complete(struct channel *ch)
{
	struct noise_cipherstate send, recv;
	if (noise_handshake_split(ch->hs, &send, &recv) != 0)
		return -EPROTO;
	noise_handshake_free(ch->hs);
	ch->hs = NULL;
	return channel_open(ch, &send, &recv);
}

int hs_initiator_begin(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	int rc;
	if (inst->x3dh) {
		rc = x3dh_initiator_begin(ch);
	} else {
		rc = hs_begin(ch);
		if (rc == 0)
			rc = hs_send(ch, CHAN_MSG_HS1);
	}
	if (rc != 0)
		return rc;
	/* Retries are reported by channel_initiator.c, rate-limited.  For
	 * X3DH the suite name is X3DH_SUITE_NAME (set with the options). */
	if (inst->retry_attempt == 0) {
		char route[512];
		struct ockam_route r = chan_route_view(&inst->route);
		h->route_format(inst->ctx, &r, route, sizeof(route));
		h->log(inst->ctx, OCKAM_LOG_INFO,
		       "handshake started to %s (%s)", route,
		       inst->suite.name);
	}
	return 0;
}

int hs_initiator_start(struct sc_instance *inst)
{
	struct channel *ch = channel_new(inst, 1);
	if (!ch)
		return -ENOMEM;
	inst->initiator_ch = ch;
	struct ockam_route r = chan_route_view(&inst->route);
	int rc = chan_route_set(&ch->peer, &r);
	if (rc == 0)
		rc = hs_initiator_begin(ch);
	if (rc != 0) {
		channel_close(ch, "handshake could not start");
		return rc;
	}
	return 0;
}

/* Message 1 as a Noise listener receives it: the type byte, then the
 * initiator's ephemeral key (message 1's Noise payload is empty). */
#define HS1_LEN (1 + NOISE_DH_LEN)

/* The checks that cost no DH and no allocation, before admission: a
 * refused message 1 costs the listener a few compares and one 2-byte
 * notice.  0, or the reason it is refused (already logged). */
static int hs1_cheap_checks(struct sc_instance *inst,
			    const struct ockam_message *msg)
{
	char what[160];
	if (msg->payload_len != HS1_LEN) {
		snprintf(what, sizeof(what),
			 "refusing a handshake: message 1 is %zu bytes, not %d",
			 msg->payload_len, HS1_LEN);
		listener_complain(inst, LC_BAD_FIRST, what);
		return -EPROTO;
	}
	if (noise_dh_public_is_weak(msg->payload + 1)) {
		listener_complain(inst, LC_BAD_FIRST,
				  "refusing a handshake: message 1 carries a weak ephemeral key (small order: zero, one, ...)");
		return -EPROTO;
	}
	return 0;
}

int hs_listener_receive(struct sc_instance *inst,
			const struct ockam_message *msg)
{
	if (inst->x3dh)
		return x3dh_listener_receive(inst, msg);
	uint8_t type = msg->payload_len ? msg->payload[0] : 0;
	if (type != CHAN_MSG_HS1 && type != X3DH_MSG_BUNDLE_REQUEST &&
	    type != X3DH_MSG_INIT) {
		listener_complain(inst, LC_JUNK,
				  "ignoring a message that is not a handshake start");
		return 0;
	}
	if (msg->ret.count == 0) {
		listener_complain(inst, LC_NO_RETURN,
				  "ignoring a handshake without a return route");
		return 0;
	}
	if (type != CHAN_MSG_HS1) {
		/* Say so now: the initiator would wait for its timeout. */
		listener_complain(inst, LC_WRONG_KX,
				  "refusing an X3DH handshake: this listener uses key_exchange: noise");
		notice_send(inst, &msg->ret, CHAN_CLOSE_KEY_EXCHANGE);
		return 0;
	}
	if (hs1_cheap_checks(inst, msg) != 0) {
		notice_send(inst, &msg->ret, CHAN_CLOSE_FAILED);
		return 0;
	}
	uint64_t key;
	if (limits_admit_half_open(inst, &msg->ret, &key) != 0)
		return 0;
	struct channel *ch = channel_new(inst, 0);
	if (!ch)
		return -ENOMEM;
	inst->hs_started++;
	int rc = limits_half_open_add(inst, ch, key);
	if (rc == 0)
		rc = chan_route_set(&ch->peer, &msg->ret);
	if (rc == 0)
		rc = hs_begin(ch);
	if (rc != 0) {
		channel_close(ch, "out of memory");
		return rc;
	}
	size_t plen;
	uint8_t pt[CHAN_HS_PAYLOAD_MAX];
	if (noise_handshake_read(ch->hs, msg->payload + 1,
				 msg->payload_len - 1, pt, sizeof(pt),
				 &plen) != 0) {
		listener_complain(inst, LC_BAD_FIRST,
				  "handshake failed: bad message 1");
		notice_send_peer(ch, CHAN_CLOSE_FAILED);
		channel_close(ch, "handshake failed");
		return 0;
	}
	if (hs_send(ch, CHAN_MSG_HS2) != 0) {
		channel_close(ch, "handshake failed");
		return 0;
	}
	return 0;
}

int hs_receive(struct channel *ch, const struct ockam_message *msg)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	if (inst->x3dh)
		return x3dh_receive(ch, msg);
	uint8_t want = ch->initiator ? CHAN_MSG_HS2 : CHAN_MSG_HS3;
	if (msg->payload_len < 1 || msg->payload[0] != want || !ch->hs) {
		flow_reject(ch, DATA_REJECT_TYPE);
		return 0;
	}
	size_t plen;
	uint8_t pt[CHAN_HS_PAYLOAD_MAX];
	if (noise_handshake_read(ch->hs, msg->payload + 1,
				 msg->payload_len - 1, pt, sizeof(pt),
				 &plen) != 0) {
		char what[192];
		snprintf(what, sizeof(what),
			 "handshake failed: bad message %u (corrupted, or the peer uses another suite than %s)",
			 want, inst->suite.name);
		if (ch->initiator) {
			h->log(inst->ctx, OCKAM_LOG_WARN, "%s", what);
			channel_close(ch, "handshake failed");
			return 0;
		}
		/* A stranger can send a bad message 3 after every message 1
		 * (rate-limited, counted), and closing the end now would let
		 * it do so at round-trip speed, message 2's DHs each time:
		 * the end holds its source's slot for a while instead, as a
		 * failed X3DH INIT does. */
		listener_complain(inst, LC_BAD_THIRD, what);
		notice_send_peer(ch, CHAN_CLOSE_FAILED);
		noise_handshake_free(ch->hs); /* wipes */
		ch->hs = NULL;
		limits_half_open_spend(ch);
		return 0;
	}
	/* Bits this version does not know are ignored. */
	ch->peer_batch = plen >= 1 && (pt[0] & DATA_FEATURE_BATCH);
	ch->peer_keepalive = plen >= 1 &&
			     (pt[0] & DATA_FEATURE_KEEPALIVE);
	ch->peer_ka_sends = plen >= 1 &&
			    (pt[0] & DATA_FEATURE_KEEPALIVE_SENDS);
	if (hs_check_peer(ch) != 0) {
		if (ch->initiator) {
			channel_close(ch, "peer refused");
			return 0;
		}
		/* As for a bad message 3: the refused end holds its
		 * source's slot for a while, so a stranger cannot loop
		 * message 1 at round-trip speed. */
		noise_handshake_free(ch->hs); /* wipes */
		ch->hs = NULL;
		limits_half_open_spend(ch);
		return 0;
	}
	h->log(inst->ctx, OCKAM_LOG_DEBUG,
	       "handshake message %u authenticated peer %s (batch %s, keepalive %s)",
	       want, ch->peer_id, ch->peer_batch ? "yes" : "no",
	       ch->peer_keepalive ? "yes" : "no");
	if (ch->initiator) {
		/* HS2's return route leads to the responder's decryptor. */
		if (msg->ret.count == 0) {
			h->log(inst->ctx, OCKAM_LOG_WARN,
			       "handshake failed: message 2 has no return route");
			channel_close(ch, "handshake failed");
			return 0;
		}
		if (chan_route_set(&ch->peer, &msg->ret) != 0 ||
		    hs_send(ch, CHAN_MSG_HS3) != 0) {
			channel_close(ch, "handshake failed");
			return 0;
		}
	}
	int rc = hs_complete(ch);
	if (rc != 0) {
		/* -EBUSY: max_channels_per_source, said and counted. */
		if (rc != -EBUSY)
			h->log(inst->ctx, OCKAM_LOG_ERROR,
			       "cannot complete the handshake: %s",
			       strerror(-rc));
		channel_close(ch, "handshake failed");
	}
	return 0;
}
