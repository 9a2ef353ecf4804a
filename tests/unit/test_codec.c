/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message wire encoding: round trips, strict rejection of malformed
 * input (every truncation, every single-byte corruption), varint edge cases,
 * and the worked example in docs/protocol.md.
 *
 * Inputs under test are copied into heap buffers of their exact length so
 * that ASan reports any read past the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../common/cunit_main.h"
#include "../common/test_route.h"
#include "codec.h"

#define DOC_PATH "../../docs/protocol.md"
#define DOC_BEGIN "<!-- codec-example:begin -->"
#define DOC_END "<!-- codec-example:end -->"

static struct ockam_message msg_a, msg_b;
static struct ockam_addr hops_b[OCKAM_DECODE_HOPS]; /* msg_b's route views */

static int dec(const uint8_t *buf, size_t len, struct ockam_message *m)
{
	return codec_decode(buf, len, m, hops_b, OCKAM_DECODE_HOPS);
}

static void route_set(struct ockam_route *r, const char *const *names)
{
	r->count = 0;
	for (; *names; names++) {
		struct ockam_addr a;

		CU_ASSERT_FATAL(ockam_addr_local(&a, *names) == 0);
		CU_ASSERT_FATAL(t_route_append(r, &a) == 0);
	}
}

static int route_equal(const struct ockam_route *x, const struct ockam_route *y)
{
	if (x->count != y->count)
		return 0;
	for (size_t i = 0; i < x->count; i++)
		if (!ockam_addr_equal(&x->hop[i], &y->hop[i]))
			return 0;
	return 1;
}

static int message_equal(const struct ockam_message *x,
			 const struct ockam_message *y)
{
	return route_equal(&x->onward, &y->onward) &&
	       route_equal(&x->ret, &y->ret) &&
	       x->payload_len == y->payload_len &&
	       (x->payload_len == 0 ||
		memcmp(x->payload, y->payload, x->payload_len) == 0);
}

/* Encodes `m` into a fresh exact-size buffer; checks size agreement. */
static uint8_t *encode_alloc(const struct ockam_message *m, size_t *len)
{
	size_t need = codec_encoded_size(m);
	uint8_t *buf;

	CU_ASSERT_FATAL(need > 0);
	buf = malloc(need);
	CU_ASSERT_FATAL(buf != NULL);
	CU_ASSERT_EQUAL(codec_encode(m, buf, need - 1), 0);
	CU_ASSERT_EQUAL_FATAL(codec_encode(m, buf, need), need);
	*len = need;
	return buf;
}

/* Decodes a copy of `buf[0..len)` held in an exact-size heap buffer. */
static int decode_exact(const uint8_t *buf, size_t len,
			struct ockam_message *out, uint8_t **copy)
{
	uint8_t *c = malloc(len ? len : 1);
	int rc;

	CU_ASSERT_FATAL(c != NULL);
	if (len)
		memcpy(c, buf, len);
	rc = codec_decode(c, len, out, hops_b, OCKAM_DECODE_HOPS);
	*copy = c; /* out->payload points into it */
	return rc;
}

static void roundtrip(const struct ockam_message *m)
{
	size_t len;
	uint8_t *buf = encode_alloc(m, &len), *copy;

	msg_b.flags = OCKAM_MSG_SECURE;
	msg_b.identifier = "stale";
	CU_ASSERT_EQUAL(decode_exact(buf, len, &msg_b, &copy), 0);
	CU_ASSERT(message_equal(m, &msg_b));
	CU_ASSERT_EQUAL(msg_b.flags, 0);
	CU_ASSERT_PTR_NULL(msg_b.identifier);
	free(copy);
	free(buf);
}

static void test_empty(void)
{
	static const uint8_t expect[] = {0x01, 0x00, 0x00, 0x00};
	uint8_t buf[16];

	ockam_message_init(&msg_a);
	CU_ASSERT_EQUAL(codec_encoded_size(&msg_a), sizeof(expect));
	CU_ASSERT_EQUAL(codec_encode(&msg_a, buf, sizeof(buf)), sizeof(expect));
	CU_ASSERT(memcmp(buf, expect, sizeof(expect)) == 0);
	roundtrip(&msg_a);

	/* Empty routes with a payload. */
	msg_a.payload = (const uint8_t *)"x";
	msg_a.payload_len = 1;
	roundtrip(&msg_a);
}

static void test_max_routes_and_sizes(void)
{
	static uint8_t payload[1 << 20];
	struct ockam_addr a;
	/* One buffer per hop: an address is a view of its bytes. */
	static uint8_t datas[OCKAM_ROUTE_MAX][OCKAM_ADDR_MAX];

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8));
	ockam_message_init(&msg_a);
	for (unsigned i = 0; i < OCKAM_ROUTE_MAX; i++) {
		uint8_t *data = datas[i];
		for (size_t j = 0; j < OCKAM_ADDR_MAX; j++)
			data[j] = (uint8_t)(i + j); /* every byte value */
		CU_ASSERT_FATAL(ockam_addr_set(&a, (uint8_t)(i * 8), data,
					       OCKAM_ADDR_MAX) == 0);
		CU_ASSERT_FATAL(t_route_append(&msg_a.onward, &a) == 0);
		CU_ASSERT_FATAL(ockam_addr_set(&a, 255, data, i) == 0);
		CU_ASSERT_FATAL(t_route_append(&msg_a.ret, &a) == 0);
	}
	CU_ASSERT_EQUAL(msg_a.onward.count, OCKAM_ROUTE_MAX);
	roundtrip(&msg_a);

	msg_a.payload = payload;
	msg_a.payload_len = sizeof(payload);
	roundtrip(&msg_a);

	/* Binary payload with NULs and 0xff only. */
	static const uint8_t bin[] = {0, 0xff, 0, 0x80, 0x7f, 0};
	msg_a.payload = bin;
	msg_a.payload_len = sizeof(bin);
	roundtrip(&msg_a);
}

static void test_encode_refuses_bad_count(void)
{
	uint8_t buf[64];

	ockam_message_init(&msg_a);
	msg_a.onward.count = OCKAM_ROUTE_MAX + 1;
	CU_ASSERT_EQUAL(codec_encoded_size(&msg_a), 0);
	CU_ASSERT_EQUAL(codec_encode(&msg_a, buf, sizeof(buf)), 0);
}

/* A few valid encodings of different shapes for the exhaustive tests. */
static uint8_t *sample(int which, size_t *len)
{
	static const char *const onward[] = {"hop", "echoer", NULL};
	static const char *const ret[] = {"app", NULL};
	static const char *const none[] = {NULL};
	static const uint8_t bin[] = {0, 1, 0x80, 0xff, 0x7f};
	struct ockam_addr a;
	char big[200];

	ockam_message_init(&msg_a);
	switch (which) {
	case 0: /* the documented example */
		route_set(&msg_a.onward, onward);
		route_set(&msg_a.ret, ret);
		msg_a.payload = (const uint8_t *)"Hello Ockam!";
		msg_a.payload_len = 12;
		break;
	case 1: /* empty routes, binary payload */
		route_set(&msg_a.onward, none);
		route_set(&msg_a.ret, none);
		msg_a.payload = bin;
		msg_a.payload_len = sizeof(bin);
		break;
	case 2: /* TCP hop, 2-byte varint lengths, empty payload */
		memset(big, 'a', sizeof(big));
		ockam_addr_set(&a, OCKAM_ADDR_TCP, "localhost:4000", 14);
		t_route_append(&msg_a.onward, &a);
		ockam_addr_set(&a, OCKAM_ADDR_LOCAL, big, sizeof(big));
		t_route_append(&msg_a.onward, &a);
		ockam_addr_set(&a, OCKAM_ADDR_TCP, "", 0);
		t_route_append(&msg_a.ret, &a);
		break;
	default: /* payload with a 2-byte length */
		route_set(&msg_a.onward, ret);
		msg_a.payload = (const uint8_t *)big;
		memset(big, 0xee, sizeof(big));
		msg_a.payload_len = 150;
		break;
	}
	return encode_alloc(&msg_a, len);
}

#define SAMPLES 4

static void test_every_truncation_rejected(void)
{
	for (int s = 0; s < SAMPLES; s++) {
		size_t len;
		uint8_t *buf = sample(s, &len), *copy;

		CU_ASSERT_EQUAL(decode_exact(buf, len, &msg_b, &copy), 0);
		free(copy);
		for (size_t cut = 0; cut < len; cut++) {
			int rc = decode_exact(buf, cut, &msg_b, &copy);

			CU_ASSERT_EQUAL(rc, -EBADMSG);
			if (rc != -EBADMSG)
				fprintf(stderr, "sample %d cut %zu accepted\n",
					s, cut);
			free(copy);
		}
		/* One trailing byte too many is rejected too. */
		uint8_t *longer = malloc(len + 1);
		memcpy(longer, buf, len);
		longer[len] = 0;
		CU_ASSERT_EQUAL(dec(longer, len + 1, &msg_b), -EBADMSG);
		free(longer);
		free(buf);
	}
}

static void test_every_corruption_safe(void)
{
	static uint8_t out[4096];
	unsigned rejected = 0, accepted = 0;

	for (int s = 0; s < SAMPLES; s++) {
		size_t len;
		uint8_t *buf = sample(s, &len);

		for (size_t i = 0; i < len; i++) {
			uint8_t orig = buf[i];

			for (unsigned v = 0; v < 256; v++) {
				uint8_t *copy;
				int rc;

				if (v == orig)
					continue;
				buf[i] = (uint8_t)v;
				rc = decode_exact(buf, len, &msg_b, &copy);
				if (rc == 0) {
					/* Accepted: must be the canonical
					 * encoding of what it decoded to. */
					size_t n = codec_encode(&msg_b, out,
								sizeof(out));
					CU_ASSERT_EQUAL(n, len);
					CU_ASSERT(n == len &&
						  memcmp(out, copy, len) == 0);
					accepted++;
				} else {
					CU_ASSERT_EQUAL(rc, -EBADMSG);
					rejected++;
				}
				free(copy);
			}
			buf[i] = orig;
		}
		free(buf);
	}
	/* Both outcomes occur (changed address bytes decode fine, changed
	 * lengths do not), so neither branch above is dead. */
	CU_ASSERT(accepted > 0);
	CU_ASSERT(rejected > 0);
}

static void test_decoder_limits(void)
{
	uint8_t buf[2 * 1024];
	uint8_t *copy;
	size_t n;

	/* Wrong version. */
	static const uint8_t v0[] = {0x00, 0x00, 0x00, 0x00};
	static const uint8_t v2[] = {0x02, 0x00, 0x00, 0x00};
	CU_ASSERT_EQUAL(dec(v0, sizeof(v0), &msg_b), -EBADMSG);
	CU_ASSERT_EQUAL(dec(v2, sizeof(v2), &msg_b), -EBADMSG);
	CU_ASSERT_EQUAL(dec(v0, 0, &msg_b), -EBADMSG);

	/* 33 hops: one over the limit; exactly 32 is fine. */
	for (unsigned count = OCKAM_ROUTE_MAX; count <= OCKAM_ROUTE_MAX + 1;
	     count++) {
		n = 0;
		buf[n++] = 1;
		buf[n++] = (uint8_t)count;
		for (unsigned i = 0; i < count; i++) {
			buf[n++] = 0;
			buf[n++] = 1;
			buf[n++] = 'x';
		}
		buf[n++] = 0;
		buf[n++] = 0;
		CU_ASSERT_EQUAL(decode_exact(buf, n, &msg_b, &copy),
				count <= OCKAM_ROUTE_MAX ? 0 : -EBADMSG);
		free(copy);
	}

	/* Address of 256 bytes (len varint 0x80 0x02). */
	n = 0;
	buf[n++] = 1;
	buf[n++] = 1;
	buf[n++] = 0;
	buf[n++] = 0x80;
	buf[n++] = 0x02;
	memset(buf + n, 'a', 256);
	n += 256;
	buf[n++] = 0;
	buf[n++] = 0;
	CU_ASSERT_EQUAL(decode_exact(buf, n, &msg_b, &copy), -EBADMSG);
	free(copy);
	/* 255 bytes is fine. */
	buf[3] = 0xff;
	buf[4] = 0x01;
	memmove(buf + 5 + 255, buf + 5 + 256, 2);
	CU_ASSERT_EQUAL(decode_exact(buf, n - 1, &msg_b, &copy), 0);
	CU_ASSERT_EQUAL(msg_b.onward.hop[0].len, 255);
	free(copy);

	/* Address length beyond the buffer. */
	static const uint8_t alen[] = {1, 1, 0, 5, 'a', 'b', 0, 0};
	CU_ASSERT_EQUAL(decode_exact(alen, sizeof(alen), &msg_b, &copy),
			-EBADMSG);
	free(copy);

	/* Payload length beyond the buffer, and absurdly large. */
	static const uint8_t plen[] = {1, 0, 0, 3, 'a', 'b'};
	CU_ASSERT_EQUAL(decode_exact(plen, sizeof(plen), &msg_b, &copy),
			-EBADMSG);
	free(copy);
	static const uint8_t phuge[] = {1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0xff, 0x01, 'a'};
	CU_ASSERT_EQUAL(decode_exact(phuge, sizeof(phuge), &msg_b, &copy),
			-EBADMSG);
	free(copy);

	/* Non-canonical count (0x80 0x00 for 0). */
	static const uint8_t nc[] = {1, 0x80, 0x00, 0, 0};
	CU_ASSERT_EQUAL(decode_exact(nc, sizeof(nc), &msg_b, &copy), -EBADMSG);
	free(copy);

	/* A failed decode leaves an empty message, not half of one. */
	CU_ASSERT_EQUAL(msg_b.onward.count, 0);
	CU_ASSERT_EQUAL(msg_b.ret.count, 0);
	CU_ASSERT_EQUAL(msg_b.payload_len, 0);
}

/* The decoder writes no more hop views than it is given room for. */
static void test_decode_hops_room(void)
{
	static const char *const onward[] = {"a", "b", "c", NULL};
	static const char *const ret[] = {"d", "e", NULL};
	struct ockam_addr few[5];
	size_t len;

	ockam_message_init(&msg_a);
	route_set(&msg_a.onward, onward);
	route_set(&msg_a.ret, ret);
	uint8_t *buf = encode_alloc(&msg_a, &len);
	CU_ASSERT_EQUAL(codec_decode(buf, len, &msg_b, few, 4), -EBADMSG);
	CU_ASSERT_EQUAL(codec_decode(buf, len, &msg_b, few, 5), 0);
	CU_ASSERT_PTR_EQUAL(msg_b.onward.hop, few);
	CU_ASSERT_PTR_EQUAL(msg_b.ret.hop, few + 3);
	CU_ASSERT(message_equal(&msg_a, &msg_b));
	/* Views into the buffer: no address bytes were copied. */
	CU_ASSERT(msg_b.onward.hop[0].data > buf &&
		  msg_b.onward.hop[0].data < buf + len);
	free(buf);
}

static void test_uvarint(void)
{
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
		{0, 1},
		{1, 1},
		{127, 1},
		{128, 2},
		{300, 2},
		{16383, 2},
		{16384, 3},
		{UINT32_MAX, 5},
		{(uint64_t)1 << 63, 10},
		{UINT64_MAX, 10},
	};
	uint8_t buf[16];
	uint64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = codec_uvarint_put(buf, cases[i].v);

		CU_ASSERT_EQUAL(n, cases[i].len);
		CU_ASSERT_EQUAL(codec_uvarint_get(buf, n, &v), n);
		CU_ASSERT_EQUAL(v, cases[i].v);
		/* Every truncation fails. */
		for (size_t k = 0; k < n; k++)
			CU_ASSERT_EQUAL(codec_uvarint_get(buf, k, &v), 0);
	}

	/* Known bytes: 300 = ac 02 (protobuf documentation). */
	codec_uvarint_put(buf, 300);
	CU_ASSERT(buf[0] == 0xac && buf[1] == 0x02);

	/* Reads only what it needs from a longer buffer. */
	static const uint8_t two[] = {0x05, 0x06};
	CU_ASSERT_EQUAL(codec_uvarint_get(two, 2, &v), 1);
	CU_ASSERT_EQUAL(v, 5);

	/* Non-canonical: a trailing zero group. */
	static const uint8_t nc1[] = {0x80, 0x00};
	static const uint8_t nc2[] = {0x81, 0x80, 0x00};
	CU_ASSERT_EQUAL(codec_uvarint_get(nc1, sizeof(nc1), &v), 0);
	CU_ASSERT_EQUAL(codec_uvarint_get(nc2, sizeof(nc2), &v), 0);

	/* Overflow: the 10th byte may only be 0x01 (bit 63). */
	static const uint8_t of[] = {0xff, 0xff, 0xff, 0xff, 0xff,
				     0xff, 0xff, 0xff, 0xff, 0x02};
	CU_ASSERT_EQUAL(codec_uvarint_get(of, sizeof(of), &v), 0);

	/* Overlong: 11 bytes. */
	static const uint8_t ol[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				     0x80, 0x80, 0x80, 0x81, 0x00};
	CU_ASSERT_EQUAL(codec_uvarint_get(ol, sizeof(ol), &v), 0);

	/* Empty input. */
	CU_ASSERT_EQUAL(codec_uvarint_get(buf, 0, &v), 0);
}

/* ---- docs/protocol.md's worked example -------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *t = realloc(text, cap + 8192);
			if (!t) {
				free(text);
				fclose(f);
				return NULL;
			}
			text = t;
			cap += 8192;
		}
		n = fread(text + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	text[len] = '\0';
	return text;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* In the delimited block each byte line reads "hex bytes | comment".
 * Lines without '|' (the fence, prose) are ignored. */
static size_t doc_example_bytes(const char *block, uint8_t *out, size_t cap)
{
	size_t n = 0;
	const char *line = block;

	while (*line) {
		const char *eol = strchr(line, '\n');
		const char *bar = memchr(line, '|', eol ? (size_t)(eol - line)
						       : strlen(line));

		if (bar) {
			for (const char *p = line; p < bar; p++) {
				int hi, lo;

				if (*p == ' ' || *p == '\t')
					continue;
				hi = hex_val(p[0]);
				lo = p + 1 < bar ? hex_val(p[1]) : -1;
				CU_ASSERT_FATAL(hi >= 0 && lo >= 0 && n < cap);
				out[n++] = (uint8_t)(hi << 4 | lo);
				p++;
			}
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	return n;
}

static void test_doc_example(void)
{
	char *doc = read_file(DOC_PATH);
	char *begin, *end;
	uint8_t bytes[512], out[512];
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	begin = strstr(doc, DOC_BEGIN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(begin);
	end = strstr(begin, DOC_END);
	CU_ASSERT_PTR_NOT_NULL_FATAL(end);
	*end = '\0';
	n = doc_example_bytes(begin + strlen(DOC_BEGIN), bytes, sizeof(bytes));
	free(doc);
	CU_ASSERT_FATAL(n > 0);

	/* What the document says the example decodes to. */
	CU_ASSERT_EQUAL_FATAL(dec(bytes, n, &msg_b), 0);
	CU_ASSERT_EQUAL_FATAL(msg_b.onward.count, 2);
	CU_ASSERT(ockam_addr_is_local(&msg_b.onward.hop[0], "hop"));
	CU_ASSERT(ockam_addr_is_local(&msg_b.onward.hop[1], "echoer"));
	CU_ASSERT_EQUAL_FATAL(msg_b.ret.count, 1);
	CU_ASSERT(ockam_addr_is_local(&msg_b.ret.hop[0], "app"));
	CU_ASSERT_EQUAL_FATAL(msg_b.payload_len, 12);
	CU_ASSERT(memcmp(msg_b.payload, "Hello Ockam!", 12) == 0);
	/* And it is exactly what the encoder produces. */
	CU_ASSERT_EQUAL(codec_encode(&msg_b, out, sizeof(out)), n);
	CU_ASSERT(memcmp(out, bytes, n) == 0);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "empty message", test_empty },
		{ "max routes, addresses, payload", test_max_routes_and_sizes },
		{ "encoder refuses >32 hops", test_encode_refuses_bad_count },
		{ "decoder stays within its hop views", test_decode_hops_room },
		{ "every truncation rejected", test_every_truncation_rejected },
		{ "every 1-byte corruption safe", test_every_corruption_safe },
		{ "decoder limits", test_decoder_limits },
		{ "uvarint edge cases", test_uvarint },
		{ "docs/protocol.md example", test_doc_example },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "codec", .tests = tests });
}
