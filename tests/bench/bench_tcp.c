/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_tcp: the baseline for scripts/bench — a plain TCP server and a
 * client speaking the same u32 big-endian length-prefixed frames as the
 * tcp plugin, with the same modes, sizes and windows as the bench worker.
 *
 *   bench_tcp server PORT
 *       The client's first frame picks the mode: "E" echoes every frame
 *       back, "S<n>" (sink) answers every n frames with an 8-byte count.
 *       One process per connection (fork), like socat.
 *   bench_tcp client HOST PORT rtt|echo|oneway SIZE DURATION_MS WINDOW
 *                    [ACK_EVERY] [WARMUP]
 *       prints one "BENCH ..." line, as the bench worker does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX (16u << 20)
#define RBUF (FRAME_MAX + 4 + 65536)
#define RTT_MAX 2000000u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- server ---------------------------------------------------------- */

static void serve_conn(int fd)
{
	uint8_t *in = malloc(RBUF), *out = malloc(RBUF);
	size_t have = 0, olen = 0;
	uint64_t count = 0, ack_every = 0; /* 0: echo */
	int hello = 1;
	if (!in || !out)
		exit(1);
	for (;;) {
		ssize_t r = read(fd, in + have, RBUF - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		size_t off = 0;
		while (have - off >= 4) {
			uint32_t len;
			memcpy(&len, in + off, 4);
			len = ntohl(len);
			if (len > FRAME_MAX)
				exit(1);
			if (have - off < 4 + (size_t)len)
				break;
			if (hello) {
				/* "E" echo, or "S<n>" sink acking every n */
				hello = 0;
				if (len > 1 && len < 16 && in[off + 4] == 'S') {
					char num[16] = {0};
					memcpy(num, in + off + 5, len - 1);
					ack_every = strtoull(num, NULL, 10);
					if (ack_every == 0)
						ack_every = 1;
				}
			} else if (ack_every) {
				if (++count % ack_every == 0) {
					uint32_t l = htonl(8);
					memcpy(out + olen, &l, 4);
					memcpy(out + olen + 4, &count, 8);
					olen += 12;
				}
			} else {
				if (olen + 4 + len > RBUF) {
					if (write_all(fd, out, olen) < 0)
						exit(1);
					olen = 0;
				}
				memcpy(out + olen, in + off, 4 + (size_t)len);
				olen += 4 + (size_t)len;
			}
			off += 4 + (size_t)len;
		}
		memmove(in, in + off, have - off);
		have -= off;
		/* Flush once per read, as the tcp plugin batches per wakeup. */
		if (olen && write_all(fd, out, olen) < 0)
			break;
		olen = 0;
	}
	exit(0);
}

static int server(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	signal(SIGCHLD, SIG_IGN);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(argv[2])),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, 128) < 0) {
		perror("bench_tcp server");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (fork() == 0) {
			close(ls);
			serve_conn(fd);
		}
		close(fd);
	}
}

/* ---- client ---------------------------------------------------------- */

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, c = *(const uint32_t *)y;
	return a < c ? -1 : a > c;
}

static uint32_t pct(const uint32_t *v, size_t n, double p)
{
	return n ? v[(size_t)(p * (double)(n - 1) + 0.5)] : 0;
}

struct client {
	int fd;
	uint8_t *frames; /* `batch` copies of one frame */
	size_t frame_len, batch;
	uint8_t *in;
	size_t have;
};

/* Read what is there; count whole frames; remember the last ack. */
static int client_read(struct client *c, uint64_t *frames, uint64_t *ack)
{
	ssize_t r = read(c->fd, c->in + c->have, RBUF - c->have);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0)
		return -1;
	c->have += (size_t)r;
	size_t off = 0;
	while (c->have - off >= 4) {
		uint32_t len;
		memcpy(&len, c->in + off, 4);
		len = ntohl(len);
		if (c->have - off < 4 + (size_t)len)
			break;
		if (len == 8 && ack)
			memcpy(ack, c->in + off + 4, 8);
		(*frames)++;
		off += 4 + (size_t)len;
	}
	memmove(c->in, c->in + off, c->have - off);
	c->have -= off;
	return 0;
}

static int client(int argc, char **argv)
{
	if (argc < 8)
		return 2;
	const char *mode = argv[4];
	size_t size = strtoull(argv[5], NULL, 10);
	uint64_t duration_ns = strtoull(argv[6], NULL, 10) * 1000000u;
	uint64_t window = strtoull(argv[7], NULL, 10);
	uint64_t ack_every = argc > 8 ? strtoull(argv[8], NULL, 10) : 64;
	uint64_t warmup = argc > 9 ? strtoull(argv[9], NULL, 10) : 10;
	int rtt = strcmp(mode, "rtt") == 0, oneway = strcmp(mode, "oneway") == 0;
	if (rtt || window == 0)
		window = 1;
	if (oneway && window < ack_every)
		window = ack_every;

	struct client c = {0};
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(argv[3]))};
	inet_pton(AF_INET, argv[2], &sa.sin_addr);
	if (connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("BENCH error=connect (%s)\n", strerror(errno));
		return 1;
	}
	char hello[24];
	int hl = oneway ? snprintf(hello + 4, 20, "S%" PRIu64, ack_every)
			: snprintf(hello + 4, 20, "E");
	uint32_t hlen = htonl((uint32_t)hl);
	memcpy(hello, &hlen, 4);
	if (write_all(c.fd, (const uint8_t *)hello, 4 + (size_t)hl) < 0)
		return 1;
	c.frame_len = 4 + size;
	c.batch = c.frame_len >= 65536 ? 1 : 65536 / c.frame_len;
	if (c.batch > window)
		c.batch = window;
	c.frames = malloc(c.frame_len * c.batch);
	c.in = malloc(RBUF);
	uint32_t *rtts = rtt ? malloc(RTT_MAX * sizeof(*rtts)) : NULL;
	if (!c.frames || !c.in || (rtt && !rtts))
		return 1;
	for (size_t i = 0; i < c.batch; i++) {
		uint32_t l = htonl((uint32_t)size);
		memcpy(c.frames + i * c.frame_len, &l, 4);
		memset(c.frames + i * c.frame_len + 4, 'x', size);
	}

	/* Warm-up round trips, blocking (echo server only; the sink's
	 * acks are checked by the oneway run itself). */
	uint64_t got = 0, ack = 0;
	if (!oneway)
		for (uint64_t i = 0; i < warmup; i++) {
			uint64_t want = got + 1;
			if (write_all(c.fd, c.frames, c.frame_len) < 0)
				return 1;
			while (got < want)
				if (client_read(&c, &got, NULL) < 0)
					return 1;
		}
	got = 0;

	uint64_t sent = 0, t0 = now_ns(), t_sent = 0, t = t0;
	size_t part = 0; /* bytes of the batch being written */
	size_t part_len = 0;
	size_t n_rtt = 0;
	int draining = 0;
	for (;;) {
		uint64_t done = oneway ? ack : got;
		if (!draining && t - t0 >= duration_ns &&
		    (!oneway || sent % ack_every == 0) && part_len == 0)
			draining = 1;
		if (draining && done >= sent)
			break;
		/* Start a new batch if the window allows. */
		if (!draining && part_len == 0) {
			uint64_t room = window - (sent - done);
			if (room > c.batch)
				room = c.batch;
			if (oneway && room && !(t - t0 < duration_ns)) {
				/* finish the acknowledged batch exactly */
				uint64_t rest = ack_every - sent % ack_every;
				if (room > rest)
					room = rest;
			}
			if (room) {
				part = 0;
				part_len = room * c.frame_len;
				sent += room;
				if (rtt)
					t_sent = now_ns();
			}
		}
		struct pollfd p = {.fd = c.fd,
				   .events = POLLIN | (part_len ? POLLOUT : 0)};
		if (poll(&p, 1, 10000) <= 0) {
			printf("BENCH error=stalled sent=%" PRIu64 " done=%" PRIu64 "\n",
			       sent, done);
			return 1;
		}
		if (p.revents & POLLOUT) {
			ssize_t w = send(c.fd, c.frames + part, part_len - part,
					 MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return 1;
			if (w > 0) {
				part += (size_t)w;
				if (part == part_len)
					part_len = 0;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			uint64_t before = got;
			{
				ssize_t r = recv(c.fd, c.in + c.have, RBUF - c.have,
						 MSG_DONTWAIT);
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
					printf("BENCH error=closed\n");
					return 1;
				}
				if (r > 0) {
					c.have += (size_t)r;
					size_t off = 0;
					while (c.have - off >= 4) {
						uint32_t len;
						memcpy(&len, c.in + off, 4);
						len = ntohl(len);
						if (c.have - off < 4 + (size_t)len)
							break;
						if (oneway && len == 8)
							memcpy(&ack, c.in + off + 4, 8);
						got++;
						off += 4 + (size_t)len;
					}
					memmove(c.in, c.in + off, c.have - off);
					c.have -= off;
				}
			}
			t = now_ns();
			if (rtt && got > before && n_rtt < RTT_MAX)
				rtts[n_rtt++] = (uint32_t)((t - t_sent) / 1000u);
		}
		t = now_ns();
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	if (rtt) {
		qsort(rtts, n_rtt, sizeof(*rtts), cmp_u32);
		printf("BENCH mode=rtt size=%zu n=%zu p50_us=%u p99_us=%u min_us=%u max_us=%u\n",
		       size, n_rtt, pct(rtts, n_rtt, 0.5), pct(rtts, n_rtt, 0.99),
		       pct(rtts, n_rtt, 0), pct(rtts, n_rtt, 1));
	} else {
		uint64_t done = oneway ? ack : got;
		printf("BENCH mode=%s size=%zu n=%" PRIu64 " secs=%.6f msg_s=%.1f mb_s=%.3f\n",
		       mode, size, done, secs, (double)done / secs,
		       (double)done * (double)size / secs / 1e6);
	}
	free(rtts);
	free(c.frames);
	free(c.in);
	close(c.fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "server") == 0)
		return server(argc, argv);
	if (argc > 1 && strcmp(argv[1], "client") == 0)
		return client(argc, argv);
	fprintf(stderr, "usage: bench_tcp server PORT\n"
			"       bench_tcp client HOST PORT rtt|echo|oneway SIZE DURATION_MS WINDOW [ACK_EVERY] [WARMUP]\n");
	return 2;
}
