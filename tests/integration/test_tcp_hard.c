/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tcp transport of a real ockam-host against hostile or clumsy peers:
 * 1,000 connections opened and dropped, a client sending one byte a
 * second, garbage and a 4 GiB length prefix.  After each, the node must
 * still serve a normal client (another ockam-host whose message is echoed)
 * and exit 0 on SIGTERM (under the ASan build that includes the leak
 * check).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

static const char responder_yaml[] =
	"node: tcphard-responder\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: 127.0.0.1:0\n"
	"workers:\n"
	"  echoer:\n"
	"    type: echoer\n";

static const char client_yaml[] =
	"node: tcphard-client\n"
	"transports:\n"
	"  tcp: {}\n"
	"messages:\n"
	"  - route:\n"
	"      - tcp:127.0.0.1:${RESPONDER_PORT}\n"
	"      - echoer\n"
	"    payload: still serving\n"
	"after_messages: exit\n";

static const char good_reply[] = "App Received: still serving\n";

static struct hx_proc *responder_start(int *port)
{
	const char *cfg = hx_write_file(H, "responder.yaml", responder_yaml);

	return cfg ? integ_start_node("tcphard-responder", cfg, NULL, port)
		   : NULL;
}

/* A normal client node: its message is echoed and it exits 0. */
static int served(int port)
{
	char env0[32];
	const char *const env[] = {env0, NULL};
	const char *cfg = hx_write_file(H, "client.yaml", client_yaml);
	struct hx_proc *c;

	snprintf(env0, sizeof(env0), "RESPONDER_PORT=%d", port);
	c = cfg ? hx_spawn_host(H, "tcphard-client", cfg, env) : NULL;
	if (!c)
		return 0;
	return hx_wait_exit(c, HX_EXIT_MS) == 0 &&
	       strcmp(hx_read(c, HX_STDOUT), good_reply) == 0;
}

/* 1 if the node closed `fd` (EOF or reset) within `ms`. */
static int raw_closed(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b[64];

	while (poll(&p, 1, ms) == 1) {
		ssize_t n = recv(fd, b, sizeof(b), 0);

		if (n <= 0)
			return 1;
	}
	return 0;
}

/* Lines of `log` containing `needle`, each counted with the lines it
 * stands for: "(N similar suppressed)" adds N, and so does the line a
 * node writes at stop, "N more line(s) like the last '<needle> ...'". */
static unsigned long lines_with_suppressed(const char *log, const char *needle)
{
	unsigned long total = 0;
	const char *line = log;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[1024];
		snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		const char *more = strstr(buf, " more line(s) like the last '");
		if (strstr(buf, needle)) {
			const char *sup = strstr(buf, " similar suppressed)");
			if (more) {
				const char *d = more;
				while (d > buf && d[-1] >= '0' && d[-1] <= '9')
					d--;
				total += strtoul(d, NULL, 10);
			} else {
				total++;
				if (sup) {
					const char *d = sup;
					while (d > buf && d[-1] >= '0' &&
					       d[-1] <= '9')
						d--;
					total += strtoul(d, NULL, 10);
				}
			}
		}
		line += len + (end ? 1 : 0);
	}
	return total;
}

/* 1,000 connections in batches of 100: some silent, some with half a
 * frame, some reset; the node closes each and keeps serving, and logs
 * them at most once a second per cause, counted. */
static void test_thousand_connections(void)
{
	static const unsigned char half[] = {0, 0, 0, 50, 1, 2, 3};
	struct linger rst = {.l_onoff = 1, .l_linger = 0};
	int port, fds[100], round, i, opened = 0;
	struct hx_proc *r;

	H = hx_begin("tcp-thousand");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	r = responder_start(&port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	for (round = 0; round < 10; round++) {
		for (i = 0; i < 100; i++) {
			fds[i] = hx_tcp_connect(port);
			if (fds[i] < 0)
				continue;
			opened++;
			if (i % 3 == 1)
				(void)!write(fds[i], half, sizeof(half));
			else if (i % 3 == 2)
				setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &rst,
					   sizeof(rst));
		}
		for (i = 0; i < 100; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	CU_ASSERT_EQUAL(opened, 1000);
	CU_ASSERT(served(port));
	CU_ASSERT(hx_running(r));
	CU_ASSERT_EQUAL(hx_stop(r, HX_EXIT_MS), 0);
	/* Every one of them (and the client served) accepted and closed,
	 * in a few lines that count the rest: not 2,000 lines. */
	const char *log = hx_read(r, HX_STDERR);
	CU_ASSERT_EQUAL(lines_with_suppressed(log, "accepted connection from"),
			1001);
	CU_ASSERT_EQUAL(lines_with_suppressed(log, "connection from "), 2002);
	CU_ASSERT(integ_lines(log, "accepted connection from") <= 30);
	CU_ASSERT(integ_lines(log, "tcp: ") <= 120);
	CU_ASSERT(integ_lines(log, "node stopping") <= 2);
}

/* A client trickling one byte a second does not hold up anyone else. */
static void test_slow_client(void)
{
	static const unsigned char hdr[] = {0, 0, 0, 40};
	int port, fd, i;
	struct hx_proc *r;

	H = hx_begin("tcp-slow");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	r = responder_start(&port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(write(fd, hdr + i, 1), 1);
		sleep(1);
	}
	/* Mid-header: a normal client is served meanwhile. */
	CU_ASSERT(served(port));
	CU_ASSERT_EQUAL(write(fd, hdr + 3, 1), 1);
	sleep(1);
	CU_ASSERT(served(port));
	close(fd);
	CU_ASSERT_EQUAL(hx_wait_line(r, HX_STDERR,
				     "peer closed mid-frame (4 of 44 bytes "
				     "received)",
				     1, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_stop(r, HX_EXIT_MS), 0);
}

/* Garbage, an HTTP request and a 4 GiB length prefix: each connection is
 * closed with one line naming why; the node goes on serving. */
static void test_garbage_and_huge_prefix(void)
{
	static const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff, 1, 2};
	static const unsigned char junk[] = {0, 0, 0, 8, 0xde, 0xad, 0xbe,
					     0xef, 0xff, 0xff, 0xff, 0xff};
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	int port, fd;
	struct hx_proc *r;
	const char *log;

	H = hx_begin("tcp-garbage");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	r = responder_start(&port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);

	fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, huge, sizeof(huge)), (ssize_t)sizeof(huge));
	CU_ASSERT(raw_closed(fd, 5000));
	close(fd);

	fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	CU_ASSERT(raw_closed(fd, 5000));
	close(fd);

	/* The same cause as the 4 GiB prefix: one line a second at most. */
	usleep(1100 * 1000);
	fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, http, sizeof(http) - 1),
			(ssize_t)sizeof(http) - 1);
	CU_ASSERT(raw_closed(fd, 5000));
	close(fd);

	CU_ASSERT(served(port));
	log = hx_read(r, HX_STDERR);
	CU_ASSERT_EQUAL(integ_count_problems(log, "frame of 4294967295 bytes "
						  "exceeds max_message_size"),
			1);
	CU_ASSERT_EQUAL(integ_count_problems(log, "malformed 8-byte message"),
			1);
	/* "GET " read as a length: 1195725856. */
	CU_ASSERT_EQUAL(integ_count_problems(log, "frame of 1195725856 bytes"),
			1);
	CU_ASSERT_EQUAL(integ_count_problems(log, NULL), 3);
	CU_ASSERT_EQUAL(hx_stop(r, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{"1,000 connections opened and dropped",
		 test_thousand_connections},
		{"slow client", test_slow_client},
		{"garbage and a 4 GiB length prefix",
		 test_garbage_and_huge_prefix},
		{NULL, NULL},
	};

	return integ_run("integration", tests);
}
