/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS messages (RFC 1035) for the tcp transport's stub resolver: build one
 * A or AAAA query and parse the answer to it.  No I/O, no allocation; every
 * length, count and compression pointer of the (untrusted) answer is
 * checked.
 */
#ifndef OCKAM_TCP_DNS_WIRE_H
#define OCKAM_TCP_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

/* A name as text, without the trailing dot. */
#define DNS_NAME_MAX 253
/* Without EDNS a UDP answer is at most 512 bytes; accept a little more
 * from servers that ignore that. */
#define DNS_MSG_MAX 1500
#define DNS_ADDRS_MAX 8
/* CNAMEs followed inside one answer. */
#define DNS_CNAME_MAX 8

struct dns_answer {
	int rcode;     /* DNS_RCODE_* or another server error */
	int truncated; /* TC: the server had more than fitted */
	unsigned n;    /* addresses of the asked type, in answer order */
	uint8_t addr[DNS_ADDRS_MAX][16]; /* 4 bytes for A, 16 for AAAA */
	/* Seconds the answer may be kept: the smallest TTL of the records
	 * used, or for "no such name/data" the SOA's negative TTL; -1 if
	 * the answer says nothing (not cached). */
	int64_t ttl;
};

/* Copy host name `in` (`len` bytes) to `out` in lower case without a
 * trailing dot, checking it: labels of 1 to 63 letters, digits, '-' or
 * '_', at most DNS_NAME_MAX in all.  0, or -EINVAL. */
int dns_name_normalize(const char *in, size_t len, char out[DNS_NAME_MAX + 1]);

/* Write a recursive query for (`name`, `qtype`, IN) with `id`; `name` as
 * dns_name_normalize left it.  Returns the length, or 0 if `cap` is too
 * small. */
size_t dns_query_build(uint8_t *buf, size_t cap, uint16_t id,
		       const char *name, uint16_t qtype);

/* Parse `buf` as the answer to the query (`id`, `name`, `qtype`).  0 and
 * *out filled (out->rcode may say the name does not exist or the server
 * failed), or -EBADMSG if it is malformed or answers another question
 * (which a caller ignores: it may be spoofed or late). */
int dns_response_parse(const uint8_t *buf, size_t len, uint16_t id,
		       const char *name, uint16_t qtype,
		       struct dns_answer *out);

#endif
