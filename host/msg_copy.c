/* SPDX-License-Identifier: Apache-2.0 */
/* A compact copy of a message in one buffer; see msg_copy.h. */
#include "msg_copy.h"

#include <string.h>

static size_t identifier_len(const struct ockam_message *m)
{
	if (!m->identifier || !m->identifier[0])
		return 0;
	/* Keep at most OCKAM_IDENTIFIER_MAX - 1 bytes and a NUL. */
	return strnlen(m->identifier, OCKAM_IDENTIFIER_MAX - 1) + 1;
}

size_t msg_copy_size(const struct ockam_message *m, size_t payload_cap)
{
	size_t n, hops = m->onward.count + m->ret.count;

	if (m->onward.count > OCKAM_ROUTE_MAX || m->ret.count > OCKAM_ROUTE_MAX)
		return 0;
	n = hops * sizeof(struct ockam_addr);
	for (size_t i = 0; i < m->onward.count; i++)
		n += m->onward.hop[i].len;
	for (size_t i = 0; i < m->ret.count; i++)
		n += m->ret.hop[i].len;
	n += identifier_len(m);
	if (payload_cap > SIZE_MAX - n)
		return 0;
	return n + payload_cap;
}

uint8_t *msg_copy_to(uint8_t *buf, const struct ockam_message *m,
		     int copy_payload, struct ockam_message *out)
{
	struct ockam_addr *hops = (struct ockam_addr *)(void *)buf;
	uint8_t *p = buf + (m->onward.count + m->ret.count) * sizeof(*hops);
	size_t idlen = identifier_len(m);
	struct ockam_message c;

	c.flags = m->flags;
	p = ockam_route_copy_into(&m->onward, hops, p, &c.onward);
	p = ockam_route_copy_into(&m->ret, hops + m->onward.count, p,
				   &c.ret);
	c.identifier = NULL;
	if (idlen) {
		memcpy(p, m->identifier, idlen - 1);
		p[idlen - 1] = '\0';
		c.identifier = (const char *)p;
		p += idlen;
	}
	c.payload = p;
	c.payload_len = 0;
	if (copy_payload && m->payload_len) {
		memcpy(p, m->payload, m->payload_len);
		c.payload_len = m->payload_len;
	}
	*out = c;
	return p;
}
