/* SPDX-License-Identifier: Apache-2.0 */
/* Raw TCP frames for attack tests; see integ_frames.h. */
#include "integ_frames.h"

#include <poll.h>
#include <sys/socket.h>


#include "codec.h"

int integ_frame_send(int fd, const struct ockam_route *to, const char *back,
		     const uint8_t *payload, size_t len)
{
	struct ockam_message m;
	struct ockam_addr b;
	uint8_t f[1024];

	ockam_message_init(&m);
	m.onward = *to;
	ockam_addr_local(&b, back);
	m.ret = ockam_route_make(&b, 1);
	m.payload = payload;
	m.payload_len = len;
	size_t n = codec_encode(&m, f + 4, sizeof(f) - 4);
	if (!n)
		return -1;
	f[0] = (uint8_t)(n >> 24);
	f[1] = (uint8_t)(n >> 16);
	f[2] = (uint8_t)(n >> 8);
	f[3] = (uint8_t)n;
	return send(fd, f, n + 4, MSG_NOSIGNAL) == (ssize_t)(n + 4) ? 0 : -1;
}

static int read_full(int fd, uint8_t *b, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len) {
		if (poll(&p, 1, ms) != 1)
			return -1;
		ssize_t r = recv(fd, b + got, len - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int integ_frame_recv(int fd, uint8_t *body, size_t cap,
		     struct ockam_message *m, struct ockam_addr *hops)
{
	uint8_t h[4];
	if (read_full(fd, h, 4, 5000) < 0)
		return -1;
	uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
		     (uint32_t)h[2] << 8 | h[3];
	if (n > cap || read_full(fd, body, n, 5000) < 0)
		return -1;
	return codec_decode(body, n, m, hops, OCKAM_DECODE_HOPS);
}
