/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The relay registration protocol (docs/protocol.md, "Relays"): the
 * payloads a `relay` worker and a `relay_service` exchange.  Shared by the
 * two plugins; header-only so each .so stays self-contained.
 *
 *   REGISTER   relay -> service   0x01 ‖ token[16] ‖ n:u8 ‖ name[n]
 *   REGISTERED service -> relay   0x02 ‖ 0x00 ‖ address ("forward_to_<name>")
 *   REFUSED    service -> relay   0x03 ‖ reason:u8 ‖ human-readable text
 *
 * A REGISTER for a name already held with the same token (plaintext) or by
 * the same authenticated identity (secure channel) refreshes it: the relay
 * worker re-sends it as its keepalive.
 */
#ifndef OCKAM_RELAY_PROTO_H
#define OCKAM_RELAY_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ockam/route.h>

enum {
	RELAY_REGISTER = 0x01,
	RELAY_REGISTERED = 0x02,
	RELAY_REFUSED = 0x03,
};

/* Why a registration was refused (REFUSED's reason byte). */
enum {
	RELAY_REFUSED_TAKEN = 1,     /* another node holds the name */
	RELAY_REFUSED_NOT_TRUSTED = 2, /* the registrant is not in `trust:` */
	RELAY_REFUSED_FULL = 3,      /* max_registrations reached */
	RELAY_REFUSED_MALFORMED = 4, /* bad name or payload */
};

#define RELAY_TOKEN_LEN 16
#define RELAY_PREFIX "forward_to_"
#define RELAY_PREFIX_LEN 11
/* Local addresses are at most 64 bytes, "forward_to_" takes 11. */
#define RELAY_NAME_MAX 53
#define RELAY_REGISTER_MIN (1 + RELAY_TOKEN_LEN + 1 + 1)
#define RELAY_REGISTER_MAX (1 + RELAY_TOKEN_LEN + 1 + RELAY_NAME_MAX)
/* Longest REFUSED text a relay sends and a worker prints. */
#define RELAY_TEXT_MAX 200

/* The last return hop of a delivery-failure notice (docs/protocol.md,
 * "Delivery-failure notices"): a local address no worker can have.  The
 * relay passes notices from the other side on like replies, so that a
 * sender learns of a drop beyond the relay too. */
#define RELAY_NOTICE_MARKER "!undeliverable"

/* 1 if `a` is the notice marker. */
static inline int relay_is_notice_marker(const struct ockam_addr *a)
{
	return ockam_addr_is_local(a, RELAY_NOTICE_MARKER);
}

/* 1 if `name` (`len` bytes) is a valid relay name: [A-Za-z0-9_.-]{1,53}. */
static inline int relay_name_ok(const uint8_t *name, size_t len)
{
	if (len == 0 || len > RELAY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/* Encode REGISTER into buf (at least RELAY_REGISTER_MAX bytes); returns
 * its length. */
static inline size_t relay_register_encode(uint8_t *buf,
					   const uint8_t token[RELAY_TOKEN_LEN],
					   const char *name)
{
	size_t n = strlen(name);
	buf[0] = RELAY_REGISTER;
	memcpy(buf + 1, token, RELAY_TOKEN_LEN);
	buf[1 + RELAY_TOKEN_LEN] = (uint8_t)n;
	memcpy(buf + 2 + RELAY_TOKEN_LEN, name, n);
	return 2 + RELAY_TOKEN_LEN + n;
}

#endif
