/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure_channel plugin's internal types, shared by channel.c
 * (descriptor, options, lifecycle), channel_handshake.c (the Noise XX state
 * machines) and channel_flow.c (data through an open channel).
 *
 * A channel end has two local addresses: an encryptor (plaintext in from
 * local workers, ciphertext out to the peer) and a decryptor (ciphertext in
 * from the peer, plaintext out to local workers).  The initiator's
 * encryptor is its YAML address; every other address is random.
 */
#ifndef OCKAM_CHANNEL_H
#define OCKAM_CHANNEL_H

#include <stddef.h>
#include <limits.h>
#include <stdint.h>

#include <ockam/ockam.h>

#include "chan_list.h"
#include "chan_route.h"
#include "channel_data.h"
#include "identity.h"
#include "noise.h"
#include "trust.h"

/* Payload type bytes of the messages exchanged between channel ends. */
enum {
	CHAN_MSG_HS1 = 0x01,
	CHAN_MSG_HS2 = 0x02,
	CHAN_MSG_HS3 = 0x03,
	CHAN_MSG_DATA = DATA_TYPE,
	CHAN_MSG_DATA_BATCH = DATA_BATCH_TYPE,
	CHAN_MSG_CLOSE = 0x05, /* unauthenticated notice: 0x05 | reason */
};

/* Reason byte of a CLOSE notice (responder -> initiator's decryptor). */
enum chan_close_reason {
	CHAN_CLOSE_REFUSED = 1, /* the responder does not trust the initiator */
	CHAN_CLOSE_FAILED = 2,  /* a handshake message did not verify */
	CHAN_CLOSE_BUSY = 3,    /* max_handshakes or max_channels reached */
	CHAN_CLOSE_IDLE = 4,    /* idle_timeout: no traffic for too long */
	CHAN_CLOSE_KEY_EXCHANGE = 5, /* the listener uses the other key
				      * exchange (Noise XX / X3DH) */
};

/* Why a listener refused or dropped something (listener_complain): each
 * cause is logged at most once a second, with the count of the lines it
 * suppressed, and counted in `ockam-host status`. */
enum listener_cause {
	LC_JUNK,      /* not a handshake start */
	LC_NO_RETURN, /* a handshake without a return route */
	LC_BAD_FIRST, /* message 1 malformed, or a weak key */
	LC_WRONG_KX,  /* the other key exchange's first message */
	LC_BUSY,      /* max_handshakes / max_channels: refused */
	LC_REPLACED,  /* max_handshakes_per_source: its own oldest replaced */
	LC_EVICTED,   /* full: the busiest source's oldest evicted */
	LC_TIMEOUT,   /* a responder's handshake timed out */
	LC_X3DH,      /* X3DH first message refused */
	LC_BAD_THIRD, /* Noise message 3 did not verify */
	LC_UNANSWERED, /* an answer could not be sent: the way back is gone
			* (the connection closed before its turn came) */
	LC_CH_EVICTED, /* max_channels: the busiest source's least recently
			* used channel closed for a new one */
	LC_UNTRUSTED, /* a verified handshake names an identity not in
		       * trust: (any stranger can make keys) */
	LC_COUNT
};

/* A channel's local address and its NUL: the host refuses local names
 * longer than 64 bytes (address_add).  The initiator's encryptor is its
 * YAML name, up to that. */
#define CHAN_ADDR_LEN 65
/* A random name and its NUL: "sc_enc." / "sc_dec." and 16 hex digits
 * (the host's address_add_random). */
#define CHAN_RANDOM_ADDR_LEN 24

/* When every source holds as many half-open ends as the others (within
 * one), a new source may evict only an end at least this old (or half the
 * handshake_timeout): every admitted end gets a round trip's time. */
#define CHAN_HS_MIN_AGE_MS 1000
/* Batch records: at most this many body bytes, so a batch adds little
 * latency and stays far below any transport's frame limit; a message
 * whose entry does not fit goes alone in a 0x04 record. */
#define CHAN_BATCH_BODY_MAX (16u * 1024u)
/* Most plaintext a channel holds for a full queue (what the records
 * already queued for it can carry); beyond it messages are dropped and
 * counted (reject cause "overload"). */
#define CHAN_HELD_MAX (4u * 1024u * 1024u)
/* A handshake payload this version reads (the features byte; more
 * from a later version is ignored, up to this). */
#define CHAN_HS_PAYLOAD_MAX 256
/* The longest handshake message this end writes: Noise XX message 2 with
 * its features byte is 98 bytes, an X3DH bundle 201. */
#define CHAN_HS_MSG_MAX 512
/* At most one rejection report per channel per this many ms. */
#define CHAN_REPORT_INTERVAL_MS 1000

/* Rejections counted per channel: the message layer's, plus one more. */
enum {
	CHAN_REJECT_DECODE = DATA_REJECT_COUNT,
	/* Held for a full queue beyond CHAN_HELD_MAX: dropped. */
	CHAN_REJECT_OVERLOAD,
	CHAN_REJECT_COUNT
};

enum chan_role { CHAN_ROLE_INITIATOR, CHAN_ROLE_LISTENER };
enum chan_state { CHAN_HANDSHAKE, CHAN_OPEN };
enum chan_endpoint_kind { CHAN_ENCRYPTOR, CHAN_DECRYPTOR };

struct channel;

/* A message that arrived before the handshake finished, already encoded
 * (as the inner message of a record: without the encryptor's hop). */
struct chan_queued {
	struct chan_queued *next;
	size_t len;
	uint8_t data[];
};

/* The transport keys, in sodium_malloc memory. */
struct chan_keys {
	struct data_sender tx;
	struct data_receiver rx;
};

struct sc_instance;

/* Rejection counts (channel_rejects.c), allocated on the first rejection:
 * most channels never see one. */
struct chan_rejects {
	uint64_t total[CHAN_REJECT_COUNT];
	uint64_t pending[CHAN_REJECT_COUNT]; /* not yet reported */
	uint64_t last_report_ms;
	int reported;
	struct ockam_source *timer; /* flushes suppressed counts */
};

/* One allocation per channel end, ~280 bytes for a responder: a listener
 * holds thousands of idle ones (docs/performance.md, "Memory"). */
struct channel {
	struct sc_instance *inst;
	struct channel *prev, *next; /* in inst->channels or inst->idle */
	struct chan_route peer; /* route to the peer's decryptor */
	struct noise_handshake *hs;
	struct ockam_source *timer; /* handshake timeout, initiator retry */
	struct chan_keys *keys;
	struct x3dh_secret *x3dh; /* X3DH initiator: keys until DONE */
	struct chan_rejects *rej; /* NULL until something is rejected */

	struct chan_queued *q_head, *q_tail;
	size_t q_len;

	uint64_t received, sent;
	uint64_t bytes_in, bytes_out; /* plaintext (encoded inner messages) */
	uint64_t created_ms;
	uint64_t last_rx_ms;    /* last authenticated message (idle_timeout) */
	uint64_t idle_check_ms; /* in inst->idle: when to look at it next */
	uint64_t roam_log_ms;   /* rate limit for the route-change line */
	/* Liveness (channel_keepalive.c): 0 = nothing pending. */
	uint64_t rx_unanswered_ms; /* first data in since we last sent */
	uint64_t tx_unanswered_ms; /* initiator: first data out since we
				    * last heard anything authentic */
	uint64_t ka_due_ms;        /* in inst->ka: when to look at it */
	struct channel *ka_prev, *ka_next; /* in inst->ka */

	char peer_id[IDENTIFIER_LEN + 1]; /* "" until known */
	char dec_addr[CHAN_RANDOM_ADDR_LEN];
	/* The addr_data of the two addresses: the channel is found from
	 * them (channel_of_endpoint), so they hold only their kind. */
	uint8_t enc_ep, dec_ep; /* enum chan_endpoint_kind */
	uint8_t state;          /* enum chan_state */
	uint8_t initiator;
	uint8_t enc_owned; /* enc_addr was added by the channel (not the YAML one) */
	uint8_t in_idle;   /* listed in inst->idle */
	uint8_t no_retry;  /* closed by a refusal: do not re-handshake */
	uint8_t lazy_retry; /* closed while idle: re-handshake on next send */
	uint8_t peer_batch; /* the peer accepts batch records */
	/* Inner messages opened but not yet handed on because the node's
	 * queue had no room (channel_flow.c): entries of a 4-byte length
	 * and the encoded message, delivered in order from `held_flush`
	 * before anything opened later.  Plaintext: wiped when freed. */
	uint8_t *held;
	size_t held_len, held_off, held_cap;
	struct ockam_source *held_flush;
	uint8_t peer_keepalive; /* the peer accepts keepalives */
	uint8_t peer_ka_sends;  /* ... and sends them (dead-peer timer) */
	uint8_t in_ka;      /* listed in inst->ka */
	uint8_t heard;      /* an authenticated record arrived since open */
	uint32_t src;      /* half-open responder: its source (chan_sources.h),
			    * listed there instead of in inst->channels */
	/* Half-open X3DH responder (channel_x3dh.c): the one-time prekey
	 * its bundle issued (0: none). */
	uint32_t x3dh_opk;
	/* Half-open responder whose handshake was tried (an X3DH INIT) or
	 * failed (a bad Noise message 3): it takes no other message and only
	 * holds its source's slot (limits_half_open_spend). */
	uint8_t spent;
	/* Open responder: its source among inst->open_sources (index + 1;
	 * 0: not counted), for max_channels_per_source. */
	uint32_t osrc;
	uint8_t enc_cap;   /* bytes of enc_addr */
	char enc_addr[];   /* "" until added; sized at channel_new */
};

struct sc_instance {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	enum chan_role role;
	struct chan_route route; /* initiator: to the listener (compact) */
	struct trust trust;
	struct identity *id;
	int id_created;
	char *vault_name; /* as written in YAML; NULL if ephemeral */
	struct noise_suite suite;
	uint64_t handshake_timeout_ms;
	uint64_t rekey_interval;
	uint64_t queue_limit;
	uint64_t max_handshakes;  /* listener: half-open at once */
	uint64_t max_handshakes_per_source; /* ... from one source */
	struct chan_sources *sources; /* Noise listener, made on first use */
	uint64_t hs_started; /* listener: message 1s admitted (status) */
	uint64_t max_channels;    /* listener: channel ends at once */
	uint64_t max_channels_per_source; /* ... open ones from one source */
	/* Listener: open channels counted by source (count only: the ends
	 * stay on inst->idle / inst->channels), made on the first open. */
	struct chan_sources *open_sources;
	uint64_t idle_timeout_ms; /* listener: 0 = never */
	int rehandshake;          /* initiator: reopen a lost channel */
	uint64_t backoff_min_ms, backoff_max_ms;
	uint64_t keepalive_ms;     /* 0: never send keepalives */
	uint64_t dead_peer_ms;     /* initiator: 0 = never presume it gone */
	int x3dh;                  /* key_exchange: x3dh (channel_x3dh.c) */
	uint64_t spk_rotation_ms;  /* X3DH listener: signed_prekey_rotation */
	struct x3dh_prekeys *prekeys; /* X3DH listener, made at start */
	/* X3DH listener with a vault: its prekeys file ("<vault>.prekeys"),
	 * the name to log (malloc'd; NULL without a vault: an initiator
	 * keeps no 4 KiB path), and x3dh_prekeys.changes when last written. */
	char *prekeys_path;
	char *prekeys_name;
	uint64_t prekeys_saved;
	int prekeys_failing; /* writes fail: logged once until one works */

	struct chan_list channels; /* handshaking, initiator's, not idle-timed */
	struct chan_list idle; /* open responder ends by idle_check_ms */
	struct ockam_source *idle_timer; /* one per listener: the idle sweep */
	size_t n_channels; /* all channel ends, in both lists */
	size_t handshakes; /* channels in CHAN_HANDSHAKE */
	struct channel *initiator_ch; /* the initiator's one channel */
	/* The open channel a re-handshake replaces (channel_initiator.c
	 * initiator_rehandshake): it still decrypts until the new one
	 * opens, then it is closed. */
	struct channel *old_ch;
	/* Channels with a keepalive or dead-peer check pending, by
	 * ka_due_ms; one timer serves them all (channel_keepalive.c). */
	struct channel *ka_head, *ka_tail;
	struct ockam_source *ka_timer;
	struct ockam_log_limit drop_lim; /* queue_limit drops */
	/* Initiator re-handshake state (channel_initiator.c). */
	unsigned retry_attempt;     /* failed attempts since the last open */
	struct ockam_log_limit retry_lim; /* retry lines */
	int gave_up;                /* refused: sends fail with ENOTCONN */
	int notconn_logged;
	char closed_why[96];
	/* Who sent on the channel before the peer said anything: if the peer
	 * then refuses us (XX: it judges our identity after we are open),
	 * that sender is told its message was lost. */
	char unconfirmed_sender[OCKAM_ADDR_MAX + 1];
	/* Initiator: a channel has opened since start.  From then on an
	 * outage is ridden out: another node's notice fails a re-handshake
	 * but not the messages waiting for it (channel_initiator.c). */
	int opened;
	/* Delivery-failure notices for a handshake that did not come back
	 * along its route (forged, or lost their way): ignored, counted. */
	uint64_t notices_ignored;
	struct ockam_log_limit notice_lim;
	int stopping;
	/* listener_complain, per cause: its limiter, and every complaint
	 * counted (status). */
	struct ockam_log_limit complaint[LC_COUNT];
	uint64_t complaint_total[LC_COUNT];
	/* Totals for status (so metrics): handshakes that opened a
	 * channel, initiator attempts that failed, and data records
	 * rejected by cause over every channel end, closed ones too. */
	uint64_t hs_ok, hs_failed;
	uint64_t rejected[CHAN_REJECT_COUNT];
	int started;

	/* Handshake and X3DH messages are written here.  Data records
	 * never are: they are sealed in the buffer they are sent from
	 * (host->send_reserve) and opened where they arrived
	 * (channel_flow.c). */
	uint8_t hs_buf[CHAN_HS_MSG_MAX];
	/* The batch being filled (channel_flow.c): one channel's small
	 * messages sent in this loop turn, encoded here and sealed as one
	 * record straight into the outgoing frame by the end-of-turn flush,
	 * or earlier when another channel or a large message needs the
	 * order kept. */
	struct channel *batch_ch;   /* NULL: no batch pending */
	uint8_t *batch_buf;         /* CHAN_BATCH_BODY_MAX, lazily */
	size_t batch_used;          /* body bytes */
	size_t batch_count;         /* inner messages */
	struct ockam_source *batch_flush; /* flush_add source, lazily */
};

/* A message to a channel's peer, built on the stack by channel_outer: its
 * views and the one return hop they point to. */
struct chan_outer {
	struct ockam_message msg;
	struct ockam_addr back; /* msg.ret.hop[0]: the channel's decryptor */
};

/* The features byte this end sends in its handshake: it accepts batch
 * records and keepalives; it says it sends keepalives only if it does
 * (keepalive: 0 does not), since a peer that reads that bit presumes us
 * gone when we stay silent. */
static inline uint8_t chan_features(const struct sc_instance *inst)
{
	return (uint8_t)(DATA_FEATURE_BATCH | DATA_FEATURE_KEEPALIVE |
			 (inst->keepalive_ms ? DATA_FEATURE_KEEPALIVE_SENDS
					     : 0));
}

/* channel.c: a channel end's lifetime. */
struct channel *channel_new(struct sc_instance *inst, int initiator);
/* Key exchange done: install the transport keys and open the channel. */
int channel_open(struct channel *ch, struct noise_cipherstate *send,
		 struct noise_cipherstate *recv);
/* Remove its addresses and timer, drop its queue (logging `why` if any
 * message was queued), wipe its keys and free it. */
void channel_close(struct channel *ch, const char *why);

/* Drop every message queued on `ch` (logging `why` once if there were
 * any), telling each one's sender it will not be delivered. */
void channel_queue_drop(struct channel *ch, const char *why);

/* The channel whose address has this addr_data. */
struct channel *channel_of_endpoint(void *addr_data);

/* Add a random address for ch's encryptor ("sc_enc.<hex>") or decryptor
 * ("sc_dec.<hex>") and keep its name in enc_addr / dec_addr. */
int channel_address_add(struct channel *ch, enum chan_endpoint_kind kind);
/* `out`, addressed to ch's peer with return route [ch's decryptor] (views
 * of ch's route and name: valid while ch is); the caller sets the
 * payload.  An initiator asks for a connection (OCKAM_MSG_CONNECT) while
 * its peer route starts where its `route:` does. */
struct ockam_message *channel_outer(struct channel *ch, struct chan_outer *out);

/* channel_status.c: contribute rows to `ockam-host status`. */
int channel_status_register(struct sc_instance *inst);
/* Short name for log lines: the peer identifier once known. */
const char *channel_label(const struct channel *ch);

/* channel_handshake.c */
int hs_initiator_start(struct sc_instance *inst);
int hs_listener_receive(struct sc_instance *inst,
			const struct ockam_message *msg);
int hs_receive(struct channel *ch, const struct ockam_message *msg);

/* channel_handshake.c: send HS1 on a fresh initiator channel (arms the
 * handshake timer). */
int hs_initiator_begin(struct channel *ch);
/* Junk and refusals at the listener: at most one line a second per
 * cause, with the count of those suppressed meanwhile; counted. */
void listener_complain(struct sc_instance *inst, enum listener_cause cause,
		       const char *what);
/* 0 if a line of `cause` now would be suppressed: then it is counted
 * here, and the caller need not format it (a flood's hot path). */
int listener_complaint_due(struct sc_instance *inst,
			   enum listener_cause cause);
/* At stop: one line per cause whose suppressed lines were not yet
 * counted in a line. */
void listener_complaints_flush(struct sc_instance *inst);
/* Name of a cause (status keys). */
const char *listener_cause_name(enum listener_cause cause);

/* channel_notice.c: the unauthenticated CLOSE notice. */
void notice_send(struct sc_instance *inst, const struct ockam_route *to,
		 enum chan_close_reason why);
/* A CLOSE arrived at ch's decryptor: an initiator closes (or retries);
 * a responder counts it as a rejected message. */
void notice_receive(struct channel *ch, const struct ockam_message *msg);
const char *notice_reason_name(unsigned why);
/* notice_send to ch's peer. */
void notice_send_peer(struct channel *ch, enum chan_close_reason why);

/* channel_initiator.c: re-handshake with backoff, and sends while the
 * initiator has no channel. */
/* Called by channel_close for the initiator's channel, before its queue
 * is dropped: may move the queue to a new channel that retries later. */
void initiator_lost(struct channel *ch, const char *why);
/* A message for the initiator's address while it has no channel. */
int initiator_send_closed(struct sc_instance *inst,
			  const struct ockam_message *msg);
/* Tell the sender of a queued message (encoded inner message) that it is
 * dropped (host->message_undeliverable). */
void initiator_notify_dropped(struct sc_instance *inst, const uint8_t *data,
			      size_t len, const char *why);
/* Remember msg's sender while the channel has heard nothing back. */
void initiator_note_sender(struct channel *ch, const struct ockam_message *msg);
/* The plugin's handle_undeliverable: a handshake message of an initiator
 * was dropped on its way, so its handshake fails now. */
void initiator_undeliverable(void *state, void *addr_data,
			     const struct ockam_message *msg, int err,
			     const char *why);

/* channel_initiator.c: the peer seems gone (dead_peer_timeout, or a
 * close notice on a channel that has heard from its peer): start a new
 * handshake at once and keep `ch` decrypting until it opens.  Messages
 * sent meanwhile wait in the new channel's queue.  1 if it started; 0 if
 * `ch` is not the initiator's open channel or rehandshake is off. */
int initiator_rehandshake(struct channel *ch, const char *why);

/* channel_keepalive.c: passive keepalives and dead-peer detection
 * (WireGuard's timers).  Called by channel_flow.c on every record: cheap,
 * no timer call unless the channel was not listed. */
void ka_data_sent(struct channel *ch);
void ka_any_sent(struct channel *ch);
void ka_received(struct channel *ch, int data, uint64_t now);
/* Send an empty authenticated record: 0, or the send's error (-EPIPE: ch
 * was closed). */
int flow_keepalive_send(struct channel *ch);
/* Take `ch` off the keepalive list (it is closing or retired). */
void ka_forget(struct channel *ch);
/* Stop the keepalive timer (the instance is stopping). */
void ka_stop(struct sc_instance *inst);

/* channel_limits.c: listener admission and the idle timeout. */
/* 0 if a new handshake may start; else logs (rate-limited), sends a BUSY
 * notice to `ret` and returns -EBUSY.  (X3DH: its channels open at once.) */
int limits_admit(struct sc_instance *inst, const struct ockam_route *ret);
/* Noise message 1 from the source ret->hop[0] (its cheap checks passed):
 * 0 and *key set if a half-open end may start, after replacing the
 * source's own oldest (at max_handshakes_per_source) or, when the listener
 * is full, evicting the oldest end of the busiest source if that source
 * holds at least two more than this one; else as limits_admit. */
int limits_admit_half_open(struct sc_instance *inst,
			   const struct ockam_route *ret, uint64_t *key);
/* List the fresh responder end `ch` under source `key`. */
int limits_half_open_add(struct sc_instance *inst, struct channel *ch,
			 uint64_t key);
/* `ch` is no longer half-open (opened or closing): off its source's list
 * (it is then in no list). */
void limits_half_open_done(struct channel *ch);
/* At stop: close the half-open ends and free the source table. */
void limits_half_open_close_all(struct sc_instance *inst);
/* How long an admitted half-open end is safe from replacement and from
 * eviction among even sources: CHAN_HS_MIN_AGE_MS, or half the
 * handshake_timeout if less. */
uint64_t limits_min_age_ms(const struct sc_instance *inst);
/* Half-open end `ch` was tried (X3DH INIT) or failed (Noise message 3):
 * mark it spent and let it hold its source's slot for limits_min_age_ms
 * (its handshake timer, re-armed), so failed attempts cost a source its
 * quota: at most max_handshakes_per_source a second. */
void limits_half_open_spend(struct channel *ch);
/* A responder's channel end opens: count it under its source (the first
 * hop of its route back).  0, or -EBUSY when that source already holds
 * max_channels_per_source open channels (logged, rate-limited; BUSY
 * notice sent): the caller closes it. */
int limits_open_add(struct channel *ch);
/* It closes: uncount it. */
void limits_open_done(struct channel *ch);
/* Free the counts (every channel end closed). */
void limits_open_free(struct sc_instance *inst);
/* Start the idle clock of a freshly opened channel; a responder's moves to
 * inst->idle, which one timer per listener sweeps. */
void limits_idle_arm(struct channel *ch);
/* Stop the sweep (the instance is stopping). */
void limits_idle_stop(struct sc_instance *inst);

/* channel_flow.c */
int flow_encrypt(struct channel *ch, const struct ockam_message *msg);
int flow_decrypt(struct channel *ch, const struct ockam_message *msg);
/* Send what was queued during the handshake. */
void flow_flush(struct channel *ch);
/* Seal and send the pending batch, if any (channel_close calls it with
 * closing = 1: a failure then drops it without closing again).  0 or the
 * send's error; -EPIPE: the batch's channel was closed. */
int flow_batch_flush(struct sc_instance *inst, int closing);
/* Free (wiped) what the channel holds for a full queue. */
void flow_held_free(struct channel *ch);

/* channel_rejects.c: refused messages, counted per reason and reported at
 * most once a second per channel. */
void flow_reject(struct channel *ch, unsigned why);
/* "replay", "auth", ... "decode": a CHAN_REJECT_* cause's name. */
const char *chan_reject_name(unsigned why);
/* At close: log counts not yet reported, stop the timer, free the block. */
void flow_report(struct channel *ch);

#endif
