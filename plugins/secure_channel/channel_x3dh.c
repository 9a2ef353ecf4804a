/* SPDX-License-Identifier: Apache-2.0 */
/*
 * key_exchange: x3dh -- X3DH (x3dh.c) as ordinary routed messages, then
 * the same data layer as Noise (docs/protocol.md, "X3DH"):
 *
 *   initiator                                     listener / responder
 *   BUNDLE_REQUEST 0x11  to route, return [D_i]    -> listener address
 *   BUNDLE 0x12          to its return, return [listener] -> D_i
 *   INIT 0x13            to BUNDLE's return, return [D_i] -> listener
 *   DONE 0x14            to INIT's return, return [D_r]   -> D_i
 *
 * The listener keeps no state per bundle request beyond the one-time
 * prekey it issued; its channel end is created, already open, by a valid
 * INIT.  The initiator judges the responder's identifier on BUNDLE (after
 * the signature and binding verify), the responder the initiator's on INIT
 * (after the first message authenticates).  INIT and DONE carry each
 * end's features byte (DATA_FEATURE_BATCH, DATA_FEATURE_KEEPALIVE*) inside
 * their AEAD, as Noise's HS2 and HS3 do; an end that sent none (the first
 * version) gets single-message records and no keepalives.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "chan_sources.h"
#include "channel_x3dh.h"
#include "x3dh.h"
#include "x3dh_store.h"


static void x3dh_timeout(void *data)
{
	struct channel *ch = data;
	struct sc_instance *inst = ch->inst;
	/* A retrying initiator says so in its own rate-limited line. */
	if (inst->retry_attempt == 0)
		inst->host->log(inst->ctx, OCKAM_LOG_WARN,
				"initiator handshake %s timed out after %" PRIu64
				" ms",
				ch->dec_addr, inst->handshake_timeout_ms);
	channel_close(ch, "handshake timed out");
}

_Static_assert(X3DH_BUNDLE_LEN <= CHAN_HS_MSG_MAX &&
		       X3DH_INIT_LEN <= CHAN_HS_MSG_MAX &&
		       X3DH_DONE_LEN <= CHAN_HS_MSG_MAX,
	       "X3DH messages are written in hs_buf");

/* Send inst->hs_buf[0..len) in `out`, whose routes are set. */
static int x3dh_send_outer(struct sc_instance *inst, struct ockam_message *out,
			   size_t len, const char *what)
{
	const struct ockam_host *h = inst->host;
	out->payload = inst->hs_buf;
	out->payload_len = len;
	int rc = h->send(inst->ctx, out);
	/* A listener's answers go where strangers say: rate-limited. */
	if (rc != 0 && inst->role == CHAN_ROLE_LISTENER) {
		if (listener_complaint_due(inst, LC_UNANSWERED)) {
			char route[512], text[640];
			h->route_format(inst->ctx, &out->onward, route,
					sizeof(route));
			snprintf(text, sizeof(text),
				 "cannot send X3DH %s to %s: %s", what, route,
				 strerror(-rc));
			listener_complain(inst, LC_UNANSWERED, text);
		}
	} else if (rc != 0) {
		char route[512];
		h->route_format(inst->ctx, &out->onward, route, sizeof(route));
		h->log(inst->ctx, OCKAM_LOG_WARN, "cannot send X3DH %s to %s: %s",
		       what, route, strerror(-rc));
	}
	return rc;
}

/* Send `len` bytes of inst->hs_buf to `to` with return route [back]. */
static int x3dh_send(struct sc_instance *inst, const struct ockam_route *to,
		     const char *back, size_t len, const char *what)
{
	struct ockam_message out;
	struct ockam_addr b;
	ockam_message_init(&out);
	out.onward = *to;
	ockam_addr_local(&b, back);
	out.ret = ockam_route_make(&b, 1);
	return x3dh_send_outer(inst, &out, len, what);
}

/* To ch's peer, return route [ch's decryptor]. */
static int x3dh_send_peer(struct channel *ch, size_t len, const char *what)
{
	struct chan_outer o;
	return x3dh_send_outer(ch->inst, channel_outer(ch, &o), len, what);
}

/* Both ends: hand the keys to the data layer and open the channel. */
static int x3dh_open(struct channel *ch, const struct x3dh_secret *keys)
{
	struct noise_cipherstate send, recv;
	x3dh_cipherstates(keys, ch->initiator, &send, &recv);
	/* `keys` may be ch->x3dh: its cipherstates are copied out first. */
	x3dh_channel_free(ch);
	return channel_open(ch, &send, &recv);
}

/* ---- initiator ------------------------------------------------------- */

int x3dh_initiator_begin(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	ch->timer = h->timer_add(inst->ctx, inst->handshake_timeout_ms,
				 x3dh_timeout, ch);
	if (!ch->timer)
		return -ENOMEM;
	inst->hs_buf[0] = X3DH_MSG_BUNDLE_REQUEST;
	/* hs_initiator_begin logs the start. */
	return x3dh_send_peer(ch, 1, "bundle request");
}

/* BUNDLE: verify, judge the responder, answer with INIT. */
static void x3dh_on_bundle(struct channel *ch, const struct ockam_message *msg)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	struct x3dh_bundle b;
	enum x3dh_error e = x3dh_bundle_decode(msg->payload, msg->payload_len,
					       &b);
	if (e == X3DH_OK)
		e = x3dh_bundle_verify(&b);
	if (e != X3DH_OK) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "X3DH failed: the responder's bundle is refused: %s",
		       x3dh_strerror(e));
		channel_close(ch, "handshake failed");
		return;
	}
	identifier_format(b.ik, ch->peer_id);
	if (!trust_allows(&inst->trust, ch->peer_id)) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "refusing peer %s: not in trust list", ch->peer_id);
		ch->no_retry = 1; /* it will not become trusted */
		channel_close(ch, "peer refused");
		return;
	}
	if (msg->ret.count == 0) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "X3DH failed: the bundle has no return route");
		channel_close(ch, "handshake failed");
		return;
	}
	ch->x3dh = sodium_malloc(sizeof(*ch->x3dh));
	if (!ch->x3dh) {
		channel_close(ch, "out of memory");
		return;
	}
	uint8_t ek[X3DH_KEY_LEN];
	randombytes_buf(ek, sizeof(ek));
	e = x3dh_initiate(inst->id->secret, inst->id->public_key, ek, &b,
			  chan_features(inst), inst->hs_buf, ch->x3dh);
	sodium_memzero(ek, sizeof(ek));
	if (e != X3DH_OK) {
		h->log(inst->ctx, OCKAM_LOG_WARN, "X3DH failed: %s",
		       x3dh_strerror(e));
		channel_close(ch, "handshake failed");
		return;
	}
	/* INIT goes back to the listener (the bundle's return route). */
	if (x3dh_send(inst, &msg->ret, ch->dec_addr, X3DH_INIT_LEN,
		      "first message") != 0)
		channel_close(ch, "handshake failed");
}

/* DONE: the responder holds the keys; its return route is D_r. */
static void x3dh_on_done(struct channel *ch, const struct ockam_message *msg)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	uint8_t features = 0;
	enum x3dh_error e = x3dh_done_open(ch->x3dh, msg->payload,
					   msg->payload_len, &features);
	if (e != X3DH_OK) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "X3DH failed: bad confirmation from %s: %s", ch->peer_id,
		       x3dh_strerror(e));
		channel_close(ch, "handshake failed");
		return;
	}
	if (msg->ret.count == 0) {
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "X3DH failed: the confirmation has no return route");
		channel_close(ch, "handshake failed");
		return;
	}
	/* Bits this version does not know are ignored. */
	ch->peer_batch = (features & DATA_FEATURE_BATCH) != 0;
	ch->peer_keepalive = (features & DATA_FEATURE_KEEPALIVE) != 0;
	ch->peer_ka_sends = (features & DATA_FEATURE_KEEPALIVE_SENDS) != 0;
	int rc = chan_route_set(&ch->peer, &msg->ret);
	if (rc == 0)
		rc = x3dh_open(ch, ch->x3dh);
	if (rc != 0) {
		h->log(inst->ctx, OCKAM_LOG_ERROR,
		       "cannot complete the handshake: %s", strerror(-rc));
		channel_close(ch, "handshake failed");
	}
}

int x3dh_receive(struct channel *ch, const struct ockam_message *msg)
{
	uint8_t want = ch->x3dh ? X3DH_MSG_DONE : X3DH_MSG_BUNDLE;
	if (!ch->initiator || msg->payload_len < 1 || msg->payload[0] != want) {
		flow_reject(ch, DATA_REJECT_TYPE);
		return 0;
	}
	if (ch->x3dh)
		x3dh_on_done(ch, msg);
	else
		x3dh_on_bundle(ch, msg);
	return 0;
}

/* ---- listener -------------------------------------------------------- */

/* ---- the prekeys file -------------------------------------------------
 *
 * With a vault, the prekeys live in "<vault>.prekeys" too (x3dh_store.h,
 * written whole by vault_file_write): a restart keeps the signed prekeys
 * initiators cached and never hands out or accepts again a one-time
 * prekey that was used.  Keys are written before anyone sees them (a
 * bundle goes out after the write), and a used one-time prekey is written
 * as used before the answer to its INIT goes out.  Without a vault the
 * identity is ephemeral, and so are the prekeys.
 */

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Write the prekeys if they changed since the last write.  0, or a
 * negative errno (logged). */
static int x3dh_prekeys_save(struct sc_instance *inst)
{
	const struct ockam_host *h = inst->host;
	if (!inst->prekeys_path ||
	    inst->prekeys->changes == inst->prekeys_saved)
		return 0;
	uint8_t *buf = sodium_malloc(X3DH_STORE_LEN);
	if (!buf)
		return -ENOMEM;
	x3dh_store_encode(inst->prekeys, h->now_ms(), wall_ms(), buf);
	int rc = vault_file_write(inst->prekeys_path, buf, X3DH_STORE_LEN, 1);
	sodium_free(buf); /* wipes */
	/* One line when writes start failing and one when they work again,
	 * however many handshakes are refused in between. */
	if (rc != 0) {
		if (!inst->prekeys_failing)
			h->log(inst->ctx, OCKAM_LOG_ERROR,
			       "cannot write X3DH prekeys to %s: %s; refusing "
			       "X3DH handshakes until it works",
			       inst->prekeys_name, strerror(-rc));
		inst->prekeys_failing = 1;
		return rc;
	}
	if (inst->prekeys_failing)
		h->log(inst->ctx, OCKAM_LOG_INFO,
		       "X3DH prekeys: written to %s again",
		       inst->prekeys_name);
	inst->prekeys_failing = 0;
	inst->prekeys_saved = inst->prekeys->changes;
	return 0;
}

/* The prekeys file into inst->prekeys (made fresh already).  0, or a
 * negative errno: the file is there but cannot be used safely. */
static int x3dh_prekeys_load(struct sc_instance *inst)
{
	const struct ockam_host *h = inst->host;
	char err[600];
	size_t len = 0;
	uint8_t *buf = sodium_malloc(X3DH_STORE_LEN + 1);
	if (!buf)
		return -ENOMEM;
	int rc = vault_file_read(inst->prekeys_path, inst->prekeys_name, buf,
				 X3DH_STORE_LEN + 1, &len, err, sizeof(err));
	if (rc == -ENOENT) {
		sodium_free(buf);
		h->log(inst->ctx, OCKAM_LOG_INFO, "X3DH prekeys: new, in %s",
		       inst->prekeys_name);
		return 0;
	}
	if (rc != 0) {
		sodium_free(buf);
		h->log(inst->ctx, OCKAM_LOG_ERROR, "%s", err);
		return rc;
	}
	rc = x3dh_store_decode(inst->prekeys, buf, len, h->now_ms(),
			       wall_ms());
	sodium_free(buf);
	if (rc != 0) {
		/* Not ours to reuse: new prekeys replace it (initiators
		 * holding old bundles fetch new ones). */
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "X3DH prekeys: %s %s; new prekeys replace it",
		       inst->prekeys_name,
		       rc == -2 ? "belongs to another identity"
				: "is not a valid prekeys file");
		return 0;
	}
	inst->prekeys_saved = inst->prekeys->changes;
	h->log(inst->ctx, OCKAM_LOG_INFO,
	       "X3DH prekeys: loaded from %s (signed prekey %" PRIu32 ")",
	       inst->prekeys_name, inst->prekeys->cur.id);
	return 0;
}

int x3dh_listener_start(struct sc_instance *inst)
{
	const struct ockam_host *h = inst->host;
	if (inst->prekeys || inst->role != CHAN_ROLE_LISTENER)
		return 0;
	if (!inst->id->sign_secret)
		return -EINVAL; /* options_identity made a signing identity */
	inst->prekeys = sodium_malloc(sizeof(*inst->prekeys));
	if (!inst->prekeys)
		return -ENOMEM;
	x3dh_prekeys_init(inst->prekeys, inst->id->secret,
			  inst->id->public_key, inst->id->sign_secret,
			  inst->spk_rotation_ms, inst->handshake_timeout_ms,
			  h->now_ms());
	if (!inst->prekeys_path)
		return 0;
	int rc = x3dh_prekeys_load(inst);
	if (rc == 0) {
		/* A rotation that fell due while the node was down. */
		x3dh_prekeys_maintain(inst->prekeys, h->now_ms());
		rc = x3dh_prekeys_save(inst);
	}
	if (rc != 0) {
		x3dh_instance_free(inst);
		return rc;
	}
	return 0;
}

/* ---- the listener's half-open handshakes -------------------------------
 *
 * X3DH needs no state between BUNDLE and INIT, but a stranger who sends
 * bundle requests takes one-time prekeys, and one who sends INITs costs
 * three or four X25519 operations each.  So both are admitted as Noise's
 * message 1 is (channel_limits.c: max_handshakes_per_source, replacement
 * of the source's own oldest once it is 1 s old, fair eviction when
 * max_handshakes are held), as a half-open end in the source's list:
 *  - a bundle request makes one, which waits for its INIT (it holds the
 *    one-time prekey its bundle issued, if any);
 *  - an INIT takes the waiting end of its source with the same return
 *    route (the initiator's decryptor behind the same connection), or,
 *    if none (a bundle cached from earlier), is admitted as a new one;
 *  - an INIT that fails leaves its end "spent": it holds its slot for
 *    1 s (half the handshake_timeout if less), the time an admitted Noise
 *    message 1 is sure to hold one, so a source costs the listener at
 *    most max_handshakes_per_source INITs' DH a second;
 *  - a valid INIT turns its end into the open channel.
 * The wire does not change: BUNDLE's return route is still [listener].
 *
 * One-time prekeys: a bundle carries one only if its request is the only
 * half-open handshake its source holds (an initiator with its own
 * connection makes one at a time; a flooding connection holds many), else
 * none (three DHs, as X3DH allows).  A key whose end closes without a
 * valid INIT (replaced, evicted, timed out, its INIT refused) is retired
 * and its slot refilled, so the pool is not held by ends that are gone.
 * A flood therefore cannot leave honest initiators bundles without one,
 * unless it opens a new connection per request (docs/security.md,
 * "Handshake floods"). */

static void x3dh_responder_timeout(void *data)
{
	struct channel *ch = data;
	struct sc_instance *inst = ch->inst;
	char what[160];
	if (!ch->spent) { /* a spent one was complained about */
		snprintf(what, sizeof(what),
			 "responder X3DH handshake %s timed out after %" PRIu64
			 " ms",
			 ch->dec_addr, inst->handshake_timeout_ms);
		listener_complain(inst, LC_TIMEOUT, what);
	}
	channel_close(ch, "handshake timed out");
}

/* Admit msg (a bundle request or an INIT) from its source as a new
 * half-open end.  NULL if refused (logged, BUSY notice sent: *rc 0) or
 * out of memory (*rc). */
static struct channel *x3dh_end_admit(struct sc_instance *inst,
				      const struct ockam_message *msg,
				      int *rc)
{
	const struct ockam_host *h = inst->host;
	uint64_t key;
	*rc = 0;
	if (limits_admit_half_open(inst, &msg->ret, &key) != 0)
		return NULL;
	struct channel *ch = channel_new(inst, 0);
	if (!ch) {
		*rc = -ENOMEM;
		return NULL;
	}
	inst->hs_started++;
	int r = limits_half_open_add(inst, ch, key);
	if (r == 0)
		r = chan_route_set(&ch->peer, &msg->ret);
	if (r == 0) {
		ch->timer = h->timer_add(inst->ctx, inst->handshake_timeout_ms,
					 x3dh_responder_timeout, ch);
		if (!ch->timer)
			r = -ENOMEM;
	}
	if (r != 0) {
		channel_close(ch, "out of memory");
		*rc = r;
		return NULL;
	}
	return ch;
}

/* The end waiting for msg's INIT: its source's, not spent, same return
 * route.  NULL if none. */
static struct channel *x3dh_end_waiting(struct sc_instance *inst,
					const struct ockam_message *msg)
{
	if (!inst->sources)
		return NULL;
	uint64_t key = chan_sources_key(inst->sources, &msg->ret.hop[0]);
	struct chan_source *c = chan_sources_find(inst->sources, key);
	if (!c)
		return NULL;
	for (struct channel *e = c->ends.head; e; e = e->next)
		if (!e->spent && chan_route_equal(&e->peer, &msg->ret))
			return e;
	return NULL;
}

/* 1 if no other half-open end of ch's source waits for its INIT or
 * holds a one-time prekey (an end spent on a refused INIT without one
 * does not count: it only holds a slot). */
static int x3dh_source_sole(const struct sc_instance *inst,
			    const struct channel *ch)
{
	const struct chan_list *l = chan_sources_ends_of(inst->sources, ch);
	for (const struct channel *e = l->head; e; e = e->next)
		if (e != ch && (!e->spent || e->x3dh_opk))
			return 0;
	return 1;
}

static int x3dh_on_request(struct sc_instance *inst,
			   const struct ockam_message *msg)
{
	int rc;
	struct channel *ch = x3dh_end_admit(inst, msg, &rc);
	if (!ch)
		return rc;
	struct x3dh_bundle b;
	x3dh_prekeys_bundle_opk(inst->prekeys, inst->host->now_ms(),
				x3dh_source_sole(inst, ch), &b);
	ch->x3dh_opk = b.opk_id;
	/* New keys are on disk before they are handed out. */
	if (x3dh_prekeys_save(inst) != 0) {
		channel_close(ch, "prekeys not written");
		return 0;
	}
	size_t len = x3dh_bundle_encode(&b, inst->hs_buf, sizeof(inst->hs_buf));
	if (x3dh_send(inst, &msg->ret, inst->host->instance_name(inst->ctx),
		      len, "bundle") != 0)
		channel_close(ch, "handshake failed");
	return 0;
}

/* INIT refused after `ch` was spent on it: logged, notice sent; the end
 * keeps its slot (see above). */
static void x3dh_init_refused(struct channel *ch,
			      const struct ockam_message *msg,
			      const char *what, uint8_t reason)
{
	struct sc_instance *inst = ch->inst;
	listener_complain(inst, LC_X3DH, what);
	notice_send(inst, &msg->ret, reason);
}

static int x3dh_on_init(struct sc_instance *inst,
			const struct ockam_message *msg)
{
	const struct ockam_host *h = inst->host;
	/* Refused before any state or DH: not an INIT's length. */
	if (msg->payload_len != X3DH_INIT_LEN &&
	    msg->payload_len != X3DH_INIT_LEN_V1) {
		listener_complain(inst, LC_BAD_FIRST,
				  "X3DH failed: bad first message: malformed message");
		notice_send(inst, &msg->ret, CHAN_CLOSE_FAILED);
		return 0;
	}
	int rc = 0;
	struct channel *ch = x3dh_end_waiting(inst, msg);
	if (!ch)
		ch = x3dh_end_admit(inst, msg, &rc);
	if (!ch)
		return rc;
	/* One INIT per end.  If it fails, the end holds its slot for the
	 * round trip's time (1 s) that a Noise message 1 is sure to hold
	 * one, then goes: so failed INITs cost a source its quota, at
	 * most max_handshakes_per_source a second. */
	limits_half_open_spend(ch);
	struct x3dh_secret *keys = sodium_malloc(sizeof(*keys));
	if (!keys) {
		channel_close(ch, "out of memory");
		return -ENOMEM;
	}
	uint8_t ik_a[X3DH_KEY_LEN];
	char id[IDENTIFIER_LEN + 1], what[256];
	uint32_t opk_id = 0;
	int features = X3DH_NO_FEATURES;
	x3dh_prekeys_maintain(inst->prekeys, h->now_ms());
	enum x3dh_error e = x3dh_respond(inst->prekeys, msg->payload,
					 msg->payload_len, ik_a, &opk_id, keys,
					 &features);
	if (e == X3DH_ERR_OPK_USED) {
		/* A replayed first message, or a confused initiator. */
		identifier_format(ik_a, id);
		snprintf(what, sizeof(what),
			 "refusing X3DH from %s: one-time prekey %" PRIu32
			 " already used (or expired)",
			 id, opk_id);
		/* Retryable: an honest but slow initiator whose prekey has
		 * expired gets a fresh bundle on its next attempt. */
		x3dh_init_refused(ch, msg, what, CHAN_CLOSE_BUSY);
		sodium_free(keys);
		return 0;
	}
	if (e != X3DH_OK) {
		snprintf(what, sizeof(what), "X3DH failed: bad first message: %s",
			 x3dh_strerror(e));
		x3dh_init_refused(ch, msg, what, CHAN_CLOSE_FAILED);
		sodium_free(keys);
		return 0;
	}
	/* The one-time prekey is used: on disk as used before any answer,
	 * so a crash and a replay of this INIT cannot use it again. */
	x3dh_prekeys_maintain(inst->prekeys, h->now_ms());
	if (x3dh_prekeys_save(inst) != 0) {
		notice_send(inst, &msg->ret, CHAN_CLOSE_FAILED);
		sodium_free(keys);
		channel_close(ch, "prekeys not written");
		return 0;
	}
	identifier_format(ik_a, id);
	if (!trust_allows(&inst->trust, id)) {
		/* Rate-limited and the end kept spent (see above): any
		 * stranger can make an identity key. */
		snprintf(what, sizeof(what),
			 "refusing peer %s: not in trust list", id);
		listener_complain(inst, LC_UNTRUSTED, what);
		notice_send(inst, &msg->ret, CHAN_CLOSE_REFUSED);
		sodium_free(keys);
		return 0;
	}
	memcpy(ch->peer_id, id, sizeof(ch->peer_id));
	ch->x3dh_opk = 0;
	/* Bits this version does not know are ignored. */
	ch->peer_batch = features != X3DH_NO_FEATURES &&
			 (features & DATA_FEATURE_BATCH);
	ch->peer_keepalive = features != X3DH_NO_FEATURES &&
			     (features & DATA_FEATURE_KEEPALIVE);
	ch->peer_ka_sends = features != X3DH_NO_FEATURES &&
			    (features & DATA_FEATURE_KEEPALIVE_SENDS);
	size_t done_len = x3dh_done_seal(keys, chan_features(inst), features,
					 inst->hs_buf);
	/* Open (max_channels_per_source may refuse it, with a BUSY
	 * notice), then confirm. */
	rc = chan_route_set(&ch->peer, &msg->ret);
	if (rc == 0)
		rc = x3dh_open(ch, keys);
	if (rc == 0)
		rc = x3dh_send_peer(ch, done_len, "confirmation");
	sodium_free(keys);
	if (rc != 0)
		channel_close(ch, "handshake failed");
	return 0;
}

int x3dh_listener_receive(struct sc_instance *inst,
			  const struct ockam_message *msg)
{
	uint8_t type = msg->payload_len ? msg->payload[0] : 0;
	if (type != X3DH_MSG_BUNDLE_REQUEST && type != X3DH_MSG_INIT &&
	    type != CHAN_MSG_HS1) {
		listener_complain(inst, LC_JUNK,
				  "ignoring a message that is not an X3DH bundle request or first message");
		return 0;
	}
	if (msg->ret.count == 0) {
		listener_complain(inst, LC_NO_RETURN,
				  "ignoring an X3DH message without a return route");
		return 0;
	}
	if (type == CHAN_MSG_HS1) {
		/* Say so now: the initiator would wait for its timeout. */
		listener_complain(inst, LC_WRONG_KX,
				  "refusing a Noise handshake: this listener uses key_exchange: x3dh");
		notice_send(inst, &msg->ret, CHAN_CLOSE_KEY_EXCHANGE);
		return 0;
	}
	int rc = x3dh_listener_start(inst); /* done at start, normally */
	if (rc != 0)
		return rc;
	if (type == X3DH_MSG_BUNDLE_REQUEST)
		return x3dh_on_request(inst, msg);
	return x3dh_on_init(inst, msg);
}

void x3dh_channel_free(struct channel *ch)
{
	/* A half-open end's one-time prekey, never used: retired. */
	if (ch->x3dh_opk && ch->inst->prekeys)
		x3dh_prekeys_retire(ch->inst->prekeys, ch->x3dh_opk);
	ch->x3dh_opk = 0;
	sodium_free(ch->x3dh); /* wipes */
	ch->x3dh = NULL;
}

void x3dh_instance_free(struct sc_instance *inst)
{
	sodium_free(inst->prekeys); /* wipes */
	inst->prekeys = NULL;
}
