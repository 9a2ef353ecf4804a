/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec_decode on arbitrary bytes.  Properties: it never reads outside the
 * buffer (ASan), and the codec is a bijection on what it accepts: a
 * decoded message re-encodes to exactly the input bytes, with
 * codec_encoded_size agreeing.  The uvarint reader gets the same
 * round-trip check on the input's first bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ockam_message msg;
static struct ockam_addr hops[OCKAM_DECODE_HOPS]; /* msg's route views */

static __attribute__((noreturn)) void fail(const char *what, size_t size)
{
	fprintf(stderr, "fuzz_codec: %s (input of %zu bytes)\n", what, size);
	abort();
}

static void check_uvarint(const uint8_t *data, size_t size)
{
	uint8_t out[10];
	uint64_t v;
	size_t k = codec_uvarint_get(data, size, &v);

	if (!k)
		return;
	if (k > 10 || k > size)
		fail("uvarint read past its bytes", size);
	if (codec_uvarint_put(out, v) != k || memcmp(out, data, k) != 0)
		fail("uvarint does not round-trip", size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out;
	size_t n;

	check_uvarint(data, size);
	if (codec_decode(data, size, &msg, hops, OCKAM_DECODE_HOPS) != 0) {
		/* A refused buffer leaves an empty message. */
		if (msg.onward.count || msg.ret.count || msg.payload_len)
			fail("refused input left a partial message", size);
		return 0;
	}
	if (msg.payload_len && (msg.payload < data ||
				msg.payload + msg.payload_len != data + size))
		fail("payload does not end the buffer", size);
	if (codec_encoded_size(&msg) != size)
		fail("encoded size differs from the input size", size);
	/* Exact-size buffer: an encoder overrun is an ASan report. */
	out = malloc(size);
	if (!out)
		return 0;
	n = codec_encode(&msg, out, size);
	if (n != size || memcmp(out, data, size) != 0)
		fail("decode then encode does not give the input back", size);
	if (size && codec_encode(&msg, out, size - 1) != 0)
		fail("encode into a too-small buffer did not refuse", size);
	free(out);
	return 0;
}
