/* SPDX-License-Identifier: Apache-2.0 */
/*
 * noise-peer: raw Noise over TCP for interop tests against another Noise
 * implementation (see README.md).
 *
 *   noise-peer --role initiator|responder --suite NAME
 *              (--listen HOST:PORT | --connect HOST:PORT)
 *              [--count N] [--payload TEXT]
 *
 * Each Noise message is framed by a 2-byte big-endian length.  Empty
 * prologue and handshake payloads, random static key.  After the
 * handshake the initiator sends --count transport messages and checks
 * that each comes back; the responder echoes every message until the peer
 * closes.  The whole run is bounded by a 10 s alarm.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "noise.h"

#define TIMEOUT_SECONDS 10
#define FRAME_HDR 2

struct options {
	int initiator;
	const char *suite;
	const char *listen;
	const char *connect;
	unsigned long count;
	const char *payload;
};

static uint8_t frame_buf[FRAME_HDR + NOISE_MSG_MAX];
static uint8_t plain_buf[NOISE_MSG_MAX];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("noise-peer: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void on_alarm(int sig)
{
	static const char msg[] = "noise-peer: timed out after 10 s\n";
	ssize_t rc = write(STDERR_FILENO, msg, sizeof msg - 1);

	(void)sig;
	(void)rc;
	_exit(2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: noise-peer --role initiator|responder --suite NAME\n"
		"                  (--listen HOST:PORT | --connect HOST:PORT)\n"
		"                  [--count N] [--payload TEXT]\n");
	exit(1);
}

static void options_parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "suite", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "payload", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL;
	char *end;
	int c;

	memset(o, 0, sizeof *o);
	o->count = 1;
	o->payload = "hello from noise-peer";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': role = optarg; break;
		case 's': o->suite = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'c': o->connect = optarg; break;
		case 'p': o->payload = optarg; break;
		case 'n':
			errno = 0;
			o->count = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-')
				die("--count: not a number: %s", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !role || !o->suite ||
	    (!o->listen == !o->connect))
		usage();
	if (strcmp(role, "initiator") == 0)
		o->initiator = 1;
	else if (strcmp(role, "responder") != 0)
		die("--role must be initiator or responder, not %s", role);
	if (strlen(o->payload) > NOISE_MSG_MAX - NOISE_TAG_LEN)
		die("--payload longer than %d bytes",
		    NOISE_MSG_MAX - NOISE_TAG_LEN);
}

/* Split "HOST:PORT" (the last ':' separates, "[v6]:port" allowed). */
static struct addrinfo *address_resolve(const char *spec, int passive)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char host[256];
	const char *colon = strrchr(spec, ':');
	size_t hlen;
	int rc;

	if (!colon || colon == spec || !colon[1])
		die("bad address %s (want HOST:PORT)", spec);
	hlen = (size_t)(colon - spec);
	if (spec[0] == '[' && hlen >= 2 && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if (hlen >= sizeof host)
		die("host name too long: %s", spec);
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0)
		die("cannot resolve %s: %s", spec, gai_strerror(rc));
	return res;
}

static int socket_listen_accept(const char *spec)
{
	struct addrinfo *res = address_resolve(spec, 1);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int one = 1, fd, conn;
	unsigned port;

	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0)
		die("bind %s: %s", spec, strerror(errno));
	freeaddrinfo(res);
	if (listen(fd, 1) != 0)
		die("listen: %s", strerror(errno));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		die("getsockname: %s", strerror(errno));
	port = ss.ss_family == AF_INET6 ?
		       ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		       ntohs(((struct sockaddr_in *)&ss)->sin_port);
	printf("listening=%u\n", port);
	fflush(stdout);
	conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		die("accept: %s", strerror(errno));
	close(fd);
	return conn;
}

static int socket_connect(const char *spec)
{
	struct addrinfo *res = address_resolve(spec, 0);
	int fd = -1;

	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		die("connect %s: %s", spec, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("send: %s", n < 0 ? strerror(errno) : "closed");
		p += n;
		len -= (size_t)n;
	}
}

/* 1 on success, 0 on clean EOF before the first byte. */
static int read_all(int fd, uint8_t *p, size_t len, int eof_ok)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recv: %s", strerror(errno));
		if (n == 0) {
			if (eof_ok && got == 0)
				return 0;
			die("peer closed the connection mid-message");
		}
		got += (size_t)n;
	}
	return 1;
}

/* The message is already in frame_buf + FRAME_HDR. */
static void frame_send(int fd, size_t len)
{
	frame_buf[0] = (uint8_t)(len >> 8);
	frame_buf[1] = (uint8_t)len;
	write_all(fd, frame_buf, FRAME_HDR + len);
}

/* Returns the length in frame_buf + FRAME_HDR, or -1 on clean EOF. */
static long frame_recv(int fd, int eof_ok)
{
	size_t len;

	if (!read_all(fd, frame_buf, FRAME_HDR, eof_ok))
		return -1;
	len = ((size_t)frame_buf[0] << 8) | frame_buf[1];
	read_all(fd, frame_buf + FRAME_HDR, len, 0);
	return (long)len;
}

static void hex_print(const char *label, const uint8_t *p, size_t len)
{
	char hex[2 * NOISE_HASH_MAX + 1];

	sodium_bin2hex(hex, sizeof hex, p, len);
	printf("%s=%s\n", label, hex);
}

static void handshake_run(int fd, struct noise_handshake *hs)
{
	uint8_t *msg = frame_buf + FRAME_HDR;

	while (!noise_handshake_is_done(hs)) {
		size_t len, plen;

		if (noise_handshake_is_my_turn(hs)) {
			if (noise_handshake_write(hs, NULL, 0, msg,
						  NOISE_MSG_MAX, &len) != 0)
				die("handshake: cannot write message");
			frame_send(fd, len);
		} else {
			long n = frame_recv(fd, 0);

			if (noise_handshake_read(hs, msg, (size_t)n, plain_buf,
						 sizeof plain_buf, &plen) != 0)
				die("handshake: peer message rejected");
		}
	}
}

static void initiator_exchange(int fd, struct noise_cipherstate *send,
			       struct noise_cipherstate *recv,
			       const struct options *o)
{
	const uint8_t *text = (const uint8_t *)o->payload;
	size_t len = strlen(o->payload);
	uint8_t *msg = frame_buf + FRAME_HDR;

	for (unsigned long i = 0; i < o->count; i++) {
		long n;

		if (noise_cs_encrypt(send, NULL, 0, text, len, msg) != 0)
			die("transport: encrypt failed");
		frame_send(fd, len + NOISE_TAG_LEN);
		n = frame_recv(fd, 0);
		if (n < NOISE_TAG_LEN ||
		    noise_cs_decrypt(recv, NULL, 0, msg, (size_t)n,
				     plain_buf) != 0)
			die("transport: echo %lu rejected", i);
		if ((size_t)n - NOISE_TAG_LEN != len ||
		    memcmp(plain_buf, text, len) != 0)
			die("transport: echo %lu differs from what was sent", i);
	}
	printf("echoed=%lu\n", o->count);
}

static void responder_echo(int fd, struct noise_cipherstate *send,
			   struct noise_cipherstate *recv)
{
	uint8_t *msg = frame_buf + FRAME_HDR;
	unsigned long count = 0;
	long n;

	while ((n = frame_recv(fd, 1)) >= 0) {
		size_t len;

		if (n < NOISE_TAG_LEN ||
		    noise_cs_decrypt(recv, NULL, 0, msg, (size_t)n,
				     plain_buf) != 0)
			die("transport: message %lu rejected", count);
		len = (size_t)n - NOISE_TAG_LEN;
		if (noise_cs_encrypt(send, NULL, 0, plain_buf, len, msg) != 0)
			die("transport: encrypt failed");
		frame_send(fd, len + NOISE_TAG_LEN);
		count++;
	}
	printf("echoed=%lu\n", count);
}

int main(int argc, char **argv)
{
	struct options o;
	struct noise_suite suite;
	struct noise_keys keys = { 0 };
	struct noise_cipherstate send, recv;
	struct noise_handshake *hs;
	const uint8_t *h, *rs, *ls;
	uint8_t *s;
	size_t hlen;
	int fd, rc;

	options_parse(argc, argv, &o);
	signal(SIGALRM, on_alarm);
	alarm(TIMEOUT_SECONDS);
	if (noise_init() != 0)
		die("libsodium initialisation failed");
	rc = noise_suite_parse(o.suite, &suite);
	if (rc == -ENOTSUP)
		die("%s: AESGCM needs AES-NI and PCLMUL, absent on this CPU",
		    o.suite);
	if (rc != 0)
		die("unsupported protocol name %s", o.suite);

	s = sodium_malloc(NOISE_DH_LEN);
	if (!s)
		die("out of memory");
	randombytes_buf(s, NOISE_DH_LEN);
	keys.s = s;
	hs = noise_handshake_new(&suite, o.initiator, &keys);
	sodium_free(s); /* wipes; the handshake state holds its own copy */
	if (!hs)
		die("%s: cannot set up the handshake (IK needs the "
		    "responder's static key, which this tool does not take)",
		    o.suite);

	fd = o.listen ? socket_listen_accept(o.listen) : socket_connect(o.connect);
	handshake_run(fd, hs);
	h = noise_handshake_hash(hs, &hlen);
	rs = noise_handshake_remote_static(hs);
	ls = noise_handshake_local_static(hs);
	hex_print("handshake_hash", h, hlen);
	if (ls)
		hex_print("local_static", ls, NOISE_DH_LEN);
	if (rs)
		hex_print("remote_static", rs, NOISE_DH_LEN);
	fflush(stdout);
	if (noise_handshake_split(hs, &send, &recv) != 0)
		die("split failed");
	noise_handshake_free(hs);

	if (o.initiator) {
		initiator_exchange(fd, &send, &recv, &o);
		shutdown(fd, SHUT_WR);
	} else {
		responder_echo(fd, &send, &recv);
	}
	noise_cs_wipe(&send);
	noise_cs_wipe(&recv);
	close(fd);
	return 0;
}
