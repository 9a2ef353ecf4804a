/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The portal message header and close reasons (docs/protocol.md, "TCP
 * portals"): a type byte and two stream ids, big-endian.
 */
#include "portal.h"

void portal_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t portal_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void portal_put64(uint8_t *p, uint64_t v)
{
	portal_put32(p, (uint32_t)(v >> 32));
	portal_put32(p + 4, (uint32_t)v);
}

uint64_t portal_get64(const uint8_t *p)
{
	return (uint64_t)portal_get32(p) << 32 | portal_get32(p + 4);
}

int portal_hdr_parse(const uint8_t *p, size_t len, struct portal_hdr *h)
{
	if (len < PORTAL_HDR)
		return -1;
	h->type = p[0];
	h->to = portal_get32(p + 1);
	h->from = portal_get32(p + 5);
	h->body = p + PORTAL_HDR;
	h->body_len = len - PORTAL_HDR;
	return 0;
}

size_t portal_hdr_put(uint8_t *p, uint8_t type, uint32_t to, uint32_t from)
{
	p[0] = type;
	portal_put32(p + 1, to);
	portal_put32(p + 5, from);
	return PORTAL_HDR;
}

const char *portal_reason_text(unsigned reason)
{
	switch (reason) {
	case PORTAL_R_RESET:
		return "connection reset";
	case PORTAL_R_CONNECT:
		return "the outlet cannot connect to its service";
	case PORTAL_R_REFUSED:
		return "the outlet refuses it (secure_only: open it through a secure channel)";
	case PORTAL_R_BUSY:
		return "too many connections (max_connections)";
	case PORTAL_R_PROTOCOL:
		return "portal protocol error";
	case PORTAL_R_UNKNOWN:
		return "no such stream (the other end restarted or closed it)";
	case PORTAL_R_LOST:
		return "a portal message was not delivered";
	case PORTAL_R_TIMEOUT:
		return "timed out";
	case PORTAL_R_STOPPED:
		return "the other node stopped";
	default:
		return "unknown reason";
	}
}
