/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel's message layer (docs/protocol.md, "Secure channel"):
 *
 *   data record  = type | nonce u64 big-endian | AEAD(k_epoch, nonce, ad = type, body)
 *   type 0x04: body = one encoded inner message, or empty: a keepalive
 *   type 0x06: body = entry+, entry = len u16 big-endian (>= 1) | encoded inner message
 *
 * A batch record (0x06, data layer version 2) carries several inner
 * messages under one nonce and one tag, so small messages share the AEAD
 * and framing cost.  Nonces, the replay window and rekey epochs count
 * records, not inner messages.  A peer says in its handshake that it
 * accepts batch records (DATA_FEATURE_BATCH); every receiver of this
 * version accepts both types.
 *
 * Nonces are explicit so that lost or reordered messages do not break the
 * channel: the receiver keeps a 64-record sliding replay window.  Keys
 * change every `interval` nonces (epoch = nonce / interval, each epoch key
 * is noise_cs_rekey of the previous one); the receiver keeps the current
 * and the previous epoch key, so reordering inside the window across an
 * epoch boundary still decrypts (hence interval >= DATA_WINDOW).
 *
 * Pure code: no host services, so it is unit-tested directly.
 */
#ifndef OCKAM_CHANNEL_DATA_H
#define OCKAM_CHANNEL_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "noise.h"

#define DATA_TYPE 0x04
#define DATA_BATCH_TYPE 0x06
/* Handshake payload byte: bit 0 = "I accept batch records", bit 1 = "I
 * accept keepalives (an empty 0x04 record)", bit 2 = "I send keepalives"
 * (older versions ignore bits they do not know). */
#define DATA_FEATURE_BATCH 0x01
#define DATA_FEATURE_KEEPALIVE 0x02
#define DATA_FEATURE_KEEPALIVE_SENDS 0x04
/* Length prefix of a batch entry. */
#define DATA_BATCH_LEN_SIZE 2
#define DATA_HEADER_LEN 9 /* type + nonce */
#define DATA_WINDOW 64
/* Largest plaintext: one Noise message minus the tag. */
#define DATA_PLAINTEXT_MAX (NOISE_MSG_MAX - NOISE_TAG_LEN)
#define DATA_MESSAGE_MAX (DATA_HEADER_LEN + NOISE_MSG_MAX)
/* A receiver derives at most this many epochs ahead for one message, so a
 * forged huge nonce costs bounded work (checked before decrypting). */
#define DATA_EPOCH_SKIP_MAX 1024
#define DATA_REKEY_DEFAULT 4096

/* Why a received data message was refused; counted per channel. */
enum data_reject {
	DATA_REJECT_LENGTH = 0, /* shorter than header + tag, or too long */
	DATA_REJECT_TYPE,      /* first byte is not 0x04 or 0x06 */
	DATA_REJECT_REPLAY,    /* nonce already accepted */
	DATA_REJECT_OLD,       /* nonce older than the window or epoch */
	DATA_REJECT_AHEAD,     /* nonce too many epochs ahead */
	DATA_REJECT_AUTH,      /* AEAD tag mismatch: tampered or wrong key */
	DATA_REJECT_COUNT
};

const char *data_reject_name(enum data_reject why);

/* Sliding window over the highest accepted nonce `top`; bit i of `seen`
 * is nonce top - i. */
struct replay_window {
	uint64_t top;
	uint64_t seen;
	int any; /* no nonce accepted yet */
};

void replay_init(struct replay_window *w);
/* 0 if `n` may be accepted, else DATA_REJECT_REPLAY or DATA_REJECT_OLD.
 * Does not change the window: call replay_accept after authenticating. */
int replay_check(const struct replay_window *w, uint64_t n);
void replay_accept(struct replay_window *w, uint64_t n);

struct data_sender {
	struct noise_cipherstate cs; /* key of epoch `epoch` */
	uint64_t epoch;
	uint64_t interval;
	uint64_t next; /* next nonce to use */
};

struct data_receiver {
	struct noise_cipherstate cur;  /* key of epoch `epoch` */
	struct noise_cipherstate prev; /* key of epoch `epoch - 1` */
	int has_prev;
	uint64_t epoch;
	uint64_t interval;
	struct replay_window window;
};

/* Take over the Split() cipher state `cs` (it is wiped). interval >= 64. */
int data_sender_init(struct data_sender *s, struct noise_cipherstate *cs,
		     uint64_t interval);
int data_receiver_init(struct data_receiver *r, struct noise_cipherstate *cs,
		       uint64_t interval);
void data_sender_wipe(struct data_sender *s);
void data_receiver_wipe(struct data_receiver *r);

/* Encrypt `len` bytes into a data message at `out` (cap >= len +
 * DATA_HEADER_LEN + NOISE_TAG_LEN).  0, -EMSGSIZE (len >
 * DATA_PLAINTEXT_MAX or cap too small) or -EPIPE (nonces exhausted: the
 * channel must close; nonces never wrap). */
int data_seal(struct data_sender *s, const uint8_t *pt, size_t len,
	      uint8_t *out, size_t cap, size_t *out_len);
/* Seal a record in place: `rec` holds DATA_HEADER_LEN free bytes, then
 * the `len`-byte body, then room for the tag (cap >= len +
 * DATA_HEADER_LEN + NOISE_TAG_LEN).  type is DATA_TYPE or
 * DATA_BATCH_TYPE.  Returns as data_seal. */
int data_seal_in_place(struct data_sender *s, uint8_t type, uint8_t *rec,
		       size_t len, size_t cap, size_t *out_len);
/* The same, reading the body from `body` (not overlapping `rec` unless
 * it is rec + DATA_HEADER_LEN): a batch staged elsewhere is sealed
 * straight into the buffer it is sent from. */
int data_seal_from(struct data_sender *s, uint8_t type, const uint8_t *body,
		   size_t len, uint8_t *rec, size_t cap, size_t *out_len);
/* Authenticate and decrypt a record of either type into `out` (cap >=
 * len); msg[0] tells which.  `out` may be msg + DATA_HEADER_LEN: the
 * record is opened in place (a refused one may then be overwritten).
 * Returns 0, or -1 with *why set; a refused record changes nothing else. */
int data_open(struct data_receiver *r, const uint8_t *msg, size_t len,
	      uint8_t *out, size_t cap, size_t *out_len,
	      enum data_reject *why);

/* Walk a batch body: *off starts at 0.  1 with the next entry in
 * *inner / *inner_len, 0 at the end, -1 if the framing is malformed (an
 * empty entry, or one that runs past the end).  An empty body is
 * malformed. */
int data_batch_next(const uint8_t *body, size_t len, size_t *off,
		    const uint8_t **inner, size_t *inner_len);
/* Number of entries of a well-formed batch body, or -1. */
int data_batch_count(const uint8_t *body, size_t len);
static inline void data_batch_len_put(uint8_t *p, size_t len)
{
	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
}

#endif
