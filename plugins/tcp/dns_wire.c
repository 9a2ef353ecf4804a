/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS queries and answers on the wire (RFC 1035 section 4; AAAA: RFC
 * 3596).  See dns_wire.h.
 *
 * An answer is untrusted input from the network: it is walked once to check
 * every record's bounds, then read.  Compression pointers must point
 * strictly before the name that uses them, so a pointer loop cannot exist
 * and every name read ends.  A name is compared as lower-case text, and a
 * label containing '.' is refused so that one label cannot pass for two.
 */
#include "dns_wire.h"

#include <errno.h>
#include <string.h>

#define HEADER 12
#define FLAG_QR 0x8000u
#define FLAG_TC 0x0200u
#define FLAG_RD 0x0100u

struct rr {
	char owner[DNS_NAME_MAX + 1];
	uint16_t type, cls;
	uint32_t ttl;
	size_t rdata, rdlen;
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int dns_name_normalize(const char *in, size_t len, char out[DNS_NAME_MAX + 1])
{
	size_t i, label = 0;

	if (len && in[len - 1] == '.')
		len--;
	if (!len || len > DNS_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = lower(in[i]);

		if (c == '.') {
			if (!label)
				return -EINVAL;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			if (++label > 63)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		out[i] = c;
	}
	if (!label)
		return -EINVAL;
	out[len] = '\0';
	return 0;
}

size_t dns_query_build(uint8_t *buf, size_t cap, uint16_t id,
		       const char *name, uint16_t qtype)
{
	size_t nlen = strlen(name), o = HEADER;
	const char *p = name;

	/* Labels take one length byte each where the dots were, plus the
	 * first length byte and the root. */
	if (cap < HEADER + nlen + 2 + 4)
		return 0;
	memset(buf, 0, HEADER);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = (uint8_t)(FLAG_RD >> 8);
	buf[5] = 1; /* one question */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		buf[o++] = (uint8_t)l;
		memcpy(buf + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	buf[o++] = 0;
	buf[o++] = (uint8_t)(qtype >> 8);
	buf[o++] = (uint8_t)qtype;
	buf[o++] = 0;
	buf[o++] = DNS_CLASS_IN;
	return o;
}

/* Read the name at `pos` into `out`; *after is where the name ends at its
 * original position.  0 or -EBADMSG. */
static int name_read(const uint8_t *m, size_t len, size_t pos,
		     char out[DNS_NAME_MAX + 1], size_t *after)
{
	size_t o = 0, limit = pos;
	int jumped = 0;

	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -EBADMSG;
		l = m[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (pos + 1 >= len)
				return -EBADMSG;
			to = (size_t)(l & 0x3f) << 8 | m[pos + 1];
			if (!jumped)
				*after = pos + 2;
			if (to >= limit)
				return -EBADMSG; /* forwards, or a loop */
			limit = pos = to;
			jumped = 1;
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG; /* reserved label types */
		if (!l) {
			if (!jumped)
				*after = pos + 1;
			out[o] = '\0';
			return 0;
		}
		if (pos + 1 + l > len || o + (o ? 1u : 0u) + l > DNS_NAME_MAX)
			return -EBADMSG;
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			char c = (char)m[pos + 1 + i];

			if (c == '.' || c == '\0')
				return -EBADMSG;
			out[o++] = lower(c);
		}
		pos += 1u + l;
	}
}

/* Read the resource record at *pos and move past it.  0 or -EBADMSG. */
static int rr_read(const uint8_t *m, size_t len, size_t *pos, struct rr *rr)
{
	size_t p;

	if (name_read(m, len, *pos, rr->owner, &p) < 0 || p + 10 > len)
		return -EBADMSG;
	rr->type = be16(m + p);
	rr->cls = be16(m + p + 2);
	rr->ttl = be32(m + p + 4);
	if (rr->ttl > 0x7fffffffu) /* RFC 2181 section 8 */
		rr->ttl = 0;
	rr->rdlen = be16(m + p + 8);
	rr->rdata = p + 10;
	if (rr->rdata + rr->rdlen > len)
		return -EBADMSG;
	*pos = rr->rdata + rr->rdlen;
	return 0;
}

static void ttl_min(struct dns_answer *out, int64_t ttl)
{
	if (out->ttl < 0 || ttl < out->ttl)
		out->ttl = ttl;
}

/* The negative TTL of an SOA record (RFC 2308 section 5): the smaller of
 * its own TTL and its MINIMUM field. */
static int soa_ttl(const uint8_t *m, size_t len, const struct rr *rr,
		   int64_t *ttl)
{
	char scratch[DNS_NAME_MAX + 1];
	size_t p, end = rr->rdata + rr->rdlen;
	uint32_t minimum;

	if (name_read(m, len, rr->rdata, scratch, &p) < 0 ||
	    name_read(m, len, p, scratch, &p) < 0 || p + 20 != end)
		return -EBADMSG;
	minimum = be32(m + p + 16);
	*ttl = minimum < rr->ttl ? minimum : rr->ttl;
	return 0;
}

int dns_response_parse(const uint8_t *buf, size_t len, uint16_t id,
		       const char *name, uint16_t qtype,
		       struct dns_answer *out)
{
	char qname[DNS_NAME_MAX + 1], cur[DNS_NAME_MAX + 1];
	size_t pos, answers, i;
	unsigned an, ns, hop;
	uint16_t flags;
	struct rr rr;

	memset(out, 0, sizeof(*out));
	out->ttl = -1;
	if (len < HEADER || be16(buf) != id)
		return -EBADMSG;
	flags = be16(buf + 2);
	if (!(flags & FLAG_QR) || ((flags >> 11) & 0xf) != 0 ||
	    be16(buf + 4) != 1)
		return -EBADMSG;
	an = be16(buf + 6);
	ns = be16(buf + 8);
	/* The question must be ours. */
	if (name_read(buf, len, HEADER, qname, &pos) < 0 || pos + 4 > len ||
	    strcmp(qname, name) != 0 || be16(buf + pos) != qtype ||
	    be16(buf + pos + 2) != DNS_CLASS_IN)
		return -EBADMSG;
	answers = pos + 4;
	/* Every record of the answer and authority sections in bounds (the
	 * additional section is not used). */
	for (i = 0, pos = answers; i < (size_t)an + ns; i++)
		if (rr_read(buf, len, &pos, &rr) < 0)
			return -EBADMSG;
	out->rcode = flags & 0xf;
	out->truncated = !!(flags & FLAG_TC);

	/* Follow CNAMEs from the name asked, then take its addresses. */
	memcpy(cur, name, strlen(name) + 1);
	for (hop = 0; hop < DNS_CNAME_MAX; hop++) {
		int moved = 0;

		for (i = 0, pos = answers; i < an && !moved; i++) {
			size_t end;

			rr_read(buf, len, &pos, &rr);
			if (rr.type != DNS_TYPE_CNAME || rr.cls != DNS_CLASS_IN ||
			    strcmp(rr.owner, cur) != 0)
				continue;
			if (name_read(buf, len, rr.rdata, cur, &end) < 0 ||
			    end != rr.rdata + rr.rdlen)
				return -EBADMSG;
			ttl_min(out, rr.ttl);
			moved = 1;
		}
		if (!moved)
			break;
	}
	for (i = 0, pos = answers; i < an; i++) {
		size_t want = qtype == DNS_TYPE_A ? 4 : 16;

		rr_read(buf, len, &pos, &rr);
		if (rr.type != qtype || rr.cls != DNS_CLASS_IN ||
		    rr.rdlen != want || strcmp(rr.owner, cur) != 0)
			continue;
		if (out->n < DNS_ADDRS_MAX)
			memcpy(out->addr[out->n++], buf + rr.rdata, want);
		ttl_min(out, rr.ttl);
	}
	if (!out->n) {
		/* No address: how long that answer may be kept. */
		out->ttl = -1;
		for (i = 0; i < an; i++)
			rr_read(buf, len, &answers, &rr);
		for (i = 0; i < ns; i++) {
			int64_t t;

			rr_read(buf, len, &answers, &rr);
			if (rr.type == DNS_TYPE_SOA && rr.cls == DNS_CLASS_IN &&
			    soa_ttl(buf, len, &rr, &t) == 0)
				ttl_min(out, t);
		}
	}
	return 0;
}
