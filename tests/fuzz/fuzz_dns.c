/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tcp transport's DNS answer parser (plugins/tcp/dns_wire.c), which
 * reads datagrams from the network.
 *
 *   byte 0, bit 0   the question asked: A (0) or AAAA (1)
 *   byte 0, bit 1   0: the rest is the whole datagram; 1: the rest follows
 *                   a well-formed header and question for the name asked,
 *                   so the fuzzer starts in the records: bytes 1-2 are the
 *                   flags, 3-4 the answer count, 5-6 the authority count,
 *                   and the sections come after
 *
 * Properties: an accepted answer carries the query's id, at most
 * DNS_ADDRS_MAX addresses and a TTL of -1 or more.  And the input read as
 * a host name: if dns_name_normalize() accepts it, normalising its output
 * gives the same text, and the query built for it is refused as an answer
 * (QR clear) but accepted with QR set, as a NOERROR with no address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"

#define ID 0x1234
#define NAME "www.example.com"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static __attribute__((noreturn)) void fail(const char *what)
{
	fprintf(stderr, "fuzz_dns: %s\n", what);
	abort();
}

static void answer_check(const uint8_t *buf, size_t len, uint16_t qtype)
{
	struct dns_answer a;

	if (dns_response_parse(buf, len, ID, NAME, qtype, &a) != 0)
		return;
	if (len < 12 || buf[0] != (ID >> 8) || buf[1] != (ID & 0xff))
		fail("accepted an answer with another id");
	if (a.n > DNS_ADDRS_MAX || a.ttl < -1)
		fail("answer out of range");
}

static void name_check(const uint8_t *data, size_t size)
{
	char name[DNS_NAME_MAX + 1], again[DNS_NAME_MAX + 1];
	uint8_t q[DNS_NAME_MAX + 32];
	struct dns_answer a;
	size_t len;

	if (dns_name_normalize((const char *)data, size, name) != 0)
		return;
	if (strlen(name) > DNS_NAME_MAX ||
	    dns_name_normalize(name, strlen(name), again) != 0 ||
	    strcmp(name, again) != 0)
		fail("normalising is not idempotent");
	len = dns_query_build(q, sizeof(q), ID, name, DNS_TYPE_AAAA);
	if (!len)
		fail("no room for a valid name's query");
	if (dns_response_parse(q, len, ID, name, DNS_TYPE_AAAA, &a) == 0)
		fail("accepted a query as an answer");
	q[2] |= 0x80;
	if (dns_response_parse(q, len, ID, name, DNS_TYPE_AAAA, &a) != 0 ||
	    a.rcode != 0 || a.n != 0)
		fail("refused the answer to our own question");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[DNS_MSG_MAX + 64];
	uint16_t qtype;
	size_t len;

	if (size < 1)
		return 0;
	name_check(data + 1, size - 1);
	qtype = (data[0] & 1) ? DNS_TYPE_AAAA : DNS_TYPE_A;
	if (!(data[0] & 2)) {
		answer_check(data + 1, size - 1, qtype);
		return 0;
	}
	if (size < 7)
		return 0;
	len = dns_query_build(buf, sizeof(buf), ID, NAME, qtype);
	buf[2] = data[1];
	buf[3] = data[2];
	buf[6] = data[3];
	buf[7] = data[4];
	buf[8] = data[5];
	buf[9] = data[6];
	if (size - 7 > sizeof(buf) - len)
		size = sizeof(buf) - len + 7;
	memcpy(buf + len, data + 7, size - 7);
	answer_check(buf, len + size - 7, qtype);
	return 0;
}
