/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tcp transport over IPv6 loopback: a node listening on "[::1]:0"
 * logs its address in brackets, and a client routing tcp:[::1]:<port>
 * gets its echo.  Skipped (passing, with the reason printed) on machines
 * where ::1 cannot be bound.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

static const char listener_yaml[] =
	"node: v6-responder\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: \"[::1]:0\"\n"
	"workers:\n"
	"  echoer:\n"
	"    type: echoer\n";

/* Block style: a flow sequence would take the brackets for YAML. */
static const char client_fmt[] =
	"node: v6-client\n"
	"transports:\n"
	"  tcp: {}\n"
	"messages:\n"
	"  - route:\n"
	"      - tcp:[::1]:%d\n"
	"      - echoer\n"
	"    payload: over ipv6\n"
	"after_messages: exit\n";

/* 1 if a TCP socket can be bound to [::1] (IPv6 loopback configured). */
static int ipv6_loopback_usable(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void test_ipv6_listener(void)
{
	struct hx_proc *responder, *client;
	char line[512];
	int port = -1;

	if (!ipv6_loopback_usable()) {
		printf("skipped: cannot bind a TCP socket to [::1] (no IPv6 loopback here) ");
		return;
	}
	H = hx_begin("tcp_ipv6");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	const char *cfg = hx_write_file(H, "responder.yaml", listener_yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	responder = hx_spawn_host(H, "v6-responder", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(responder, HX_STDERR,
					   "tcp: listening on [::1]:", 1,
					   HX_READY_MS, line, sizeof(line)),
			      0);
	const char *at = strstr(line, "listening on [::1]:");
	CU_ASSERT_FATAL(at && sscanf(at, "listening on [::1]:%d", &port) == 1);
	CU_ASSERT_FATAL(port > 0 && port < 65536);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(responder, HX_STDERR,
					   "node v6-responder ready", 1,
					   HX_READY_MS, NULL, 0),
			      0);

	char text[512];
	snprintf(text, sizeof(text), client_fmt, port);
	cfg = hx_write_file(H, "client.yaml", text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	client = hx_spawn_host(H, "v6-client", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(client);
	CU_ASSERT_EQUAL(hx_wait_exit(client, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(client, HX_STDOUT),
			       "App Received: over ipv6\n");
	/* The connection really came over IPv6. */
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(responder, HX_STDERR),
				       (const char *const[]){
					       "tcp: accepted connection from [::1]:",
					       NULL }),
			1);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "tcp_ipv6_listener", test_ipv6_listener },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
