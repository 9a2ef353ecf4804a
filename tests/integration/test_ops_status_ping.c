/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ockam-host status` and `ockam-host ping` against a running node: the
 * status table and JSON name its workers and router counters; ping prints
 * one line per reply and a summary, and fails (exit 1) against a closed
 * port (at once, told by a delivery-failure notice) or a node without the
 * status service.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

static const char node_yaml[] =
	"node: ops-target\n"
	"status: true\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: 127.0.0.1:0\n"
	"workers:\n"
	"  echoer:\n"
	"    type: echoer\n";

static int run(const char *label, const char *const args[],
	       struct hx_proc **out)
{
	return integ_run_host(label, args, NULL, out);
}

static struct hx_proc *start_target(int *port)
{
	const char *path = hx_write_file(H, "target.yaml", node_yaml);
	if (!path)
		return NULL;
	return integ_start_node("ops-target", path, NULL, port);
}

static void test_status(void)
{
	struct hx_proc *node, *p;
	char to[64], line[256];
	int port = 0;

	integ_begin("ops-status");
	node = start_target(&port);
	CU_ASSERT_FATAL(node != NULL);
	snprintf(to, sizeof(to), "tcp:127.0.0.1:%d", port);

	CU_ASSERT_EQUAL(run("status", (const char *[]){ "status", "--to", to, NULL }, &p), 0);
	const char *out = hx_read(p, HX_STDOUT);
	CU_ASSERT(strncmp(out, "KIND", 4) == 0);
	CU_ASSERT(hx_find_line(out, "ops-target", line, sizeof(line)) == 0 &&
		  strncmp(line, "node ", 5) == 0 && strstr(line, "workers=1"));
	CU_ASSERT(hx_find_line(out, "echoer", line, sizeof(line)) == 0 &&
		  strncmp(line, "worker ", 7) == 0 && strstr(line, "type=echoer"));
	CU_ASSERT(hx_find_line(out, "router", line, sizeof(line)) == 0 &&
		  strstr(line, "delivered=") && strstr(line, "dropped_unknown=0"));
	/* The tcp transport's own rows: its listener and the status
	 * client's connection. */
	CU_ASSERT(hx_find_line(out, "listener ", line, sizeof(line)) == 0 &&
		  strstr(line, "127.0.0.1:") && strstr(line, "connections=1"));
	CU_ASSERT(hx_find_line(out, "connection ", line, sizeof(line)) == 0 &&
		  strstr(line, "direction=incoming") && strstr(line, "state=open"));

	/* JSON, the route written as a YAML flow list. */
	char flow[80];
	snprintf(flow, sizeof(flow), "[%s]", to);
	CU_ASSERT_EQUAL(run("status-json",
			    (const char *[]){ "status", "--json", "--to", flow, NULL }, &p), 0);
	out = hx_read(p, HX_STDOUT);
	CU_ASSERT(strncmp(out, "{\"rows\":[", 9) == 0);
	CU_ASSERT(integ_contains(out, "{\"kind\":\"worker\",\"name\":\"echoer\",\"type\":\"echoer\",\"msgs_in\":0,\"msgs_out\":0}"));
	CU_ASSERT(integ_contains(out, "{\"kind\":\"node\",\"name\":\"ops-target\",\"uptime_ms\":"));
	CU_ASSERT(integ_contains(out, "\"truncated\":false}\n"));

	/* The echoer answers a wrong route, but that is no report: exit 1,
	 * and it says why. */
	snprintf(flow, sizeof(flow), "%s,echoer,nothing", to);
	CU_ASSERT_EQUAL(run("status-none",
			    (const char *[]){ "status", "-W", "300ms", "--to", flow, NULL }, &p), 1);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), "ockam-host status: no status report from"));
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), "ignored a reply"));
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");

	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

static void test_ping(void)
{
	struct hx_proc *node, *p;
	char route[64], want[512], line[256];
	int port = 0;

	integ_begin("ops-ping");
	node = start_target(&port);
	CU_ASSERT_FATAL(node != NULL);
	snprintf(route, sizeof(route), "tcp:127.0.0.1:%d,echoer", port);

	CU_ASSERT_EQUAL(run("ping", (const char *[]){ "ping", "-c", "3", "-i", "50ms", route, NULL }, &p), 0);
	const char *out = hx_read(p, HX_STDOUT);
	for (int seq = 1; seq <= 3; seq++) {
		snprintf(want, sizeof(want),
			 "16 bytes from [tcp:127.0.0.1:%d, echoer]: seq=%d time=",
			 port, seq);
		CU_ASSERT(hx_find_line(out, want, line, sizeof(line)) == 0);
		double ms = -1;
		CU_ASSERT(sscanf(strstr(line, "time=") ? strstr(line, "time=") : "",
				 "time=%lf ms", &ms) == 1 && ms >= 0 && ms < 5000);
	}
	CU_ASSERT(integ_contains(out, "3 sent, 3 received, 0% loss, rtt min/avg/max = "));
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(p, HX_STDERR), NULL), 0);

	/* The route as two words is the same route; as one word with a
	 * space it is a usage error at once, with the two ways to write
	 * it. */
	char transport[64], spaced[80];
	snprintf(transport, sizeof(transport), "tcp:127.0.0.1:%d", port);
	CU_ASSERT_EQUAL(run("ping-words", (const char *[]){ "ping", "-c", "1", transport, "echoer", NULL }, &p), 0);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT), "1 sent, 1 received, 0% loss"));
	snprintf(spaced, sizeof(spaced), "%s echoer", transport);
	CU_ASSERT_EQUAL(run("ping-space", (const char *[]){ "ping", "-c", "1", spaced, NULL }, &p), 2);
	snprintf(want, sizeof(want),
		 "ockam-host ping: route '%s': address '%s' has a space in it; separate addresses with commas (%s,echoer) or give them as separate words\n"
		 "try 'ockam-host ping --help'\n", spaced, spaced, transport);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), want));
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);

	/* A closed port: every message lost, exit 1. */
	int closed;
	int fd = hx_tcp_listen(0, &closed);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd); /* bound, never listening: connections are refused */
	snprintf(route, sizeof(route), "tcp:127.0.0.1:%d,echoer", closed);
	/* The refusal comes back at once (a delivery-failure notice), so a
	 * 60 s reply timeout is never waited for; the second message meets
	 * the connection's backoff and is refused on the spot. */
	CU_ASSERT_EQUAL(run("ping-closed",
			    (const char *[]){ "ping", "-c", "2", "-i", "50ms", "-W", "60s", route, NULL }, &p), 1);
	out = hx_read(p, HX_STDOUT);
	CU_ASSERT_PTR_NULL(strstr(out, "bytes from"));
	snprintf(want, sizeof(want),
		 "From [tcp:127.0.0.1:%d, echoer]: seq=1 not delivered: cannot connect to 127.0.0.1:%d: Connection refused",
		 closed, closed);
	CU_ASSERT(integ_contains(out, want));
	snprintf(want, sizeof(want),
		 "From [tcp:127.0.0.1:%d, echoer]: seq=2 not sent: ",
		 closed);
	CU_ASSERT(integ_contains(out, want));
	CU_ASSERT(integ_contains(out, "2 sent, 0 received, +2 errors, 100% loss\n"));

	/* status to the same closed port: told at once, not at -W. */
	snprintf(route, sizeof(route), "tcp:127.0.0.1:%d",
		 closed);
	CU_ASSERT_EQUAL(run("status-closed",
			    (const char *[]){ "status", "-W", "60s", "--to", route, NULL }, &p), 1);
	snprintf(want, sizeof(want),
		 "ockam-host status: request to [tcp:127.0.0.1:%d, status] not delivered: cannot connect to 127.0.0.1:%d: Connection refused\n",
		 closed, closed);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), want));

	/* A route naming no known transport is a usage error. */
	CU_ASSERT_EQUAL(run("ping-bad-route", (const char *[]){ "ping", "nosuch:1,echoer", NULL }, &p), 2);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), "unknown transport 'nosuch'"));

	/* Port 99999 and port 'forty' are told apart (tcp refuses the
	 * address when sending: a transport's address format is its own). */
	CU_ASSERT_EQUAL(run("ping-port-range", (const char *[]){ "ping", "-c", "1", "tcp:127.0.0.1:99999,echoer", NULL }, &p), 1);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR),
		"cannot send to tcp address '127.0.0.1:99999': port 99999 is out of range (0 to 65535)"));
	CU_ASSERT_EQUAL(run("ping-port-word", (const char *[]){ "ping", "-c", "1", "tcp:127.0.0.1:forty,echoer", NULL }, &p), 1);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR),
		"cannot send to tcp address '127.0.0.1:forty': port 'forty' is not a number (ports are 0 to 65535)"));
}

/* --config: the first hop is a secure channel initiator declared in the
 * pinging node's YAML; replies come back through the channel. */
static void test_ping_secure(void)
{
	struct hx_proc *node, *p;
	char env_port[32], line[256];
	int port = 0;

	integ_begin("ops-ping-secure");
	const char *resp = hx_write_file(H, "responder.yaml",
		"node: ops-responder\n"
		"status: true\n"
		"transports:\n"
		"  tcp:\n"
		"    listen: 127.0.0.1:0\n"
		"workers:\n"
		"  echoer:\n"
		"    type: echoer\n"
		"  bob_listener:\n"
		"    type: secure_channel\n"
		"    options: { role: listener, trust: everyone }\n");
	const char *init = hx_write_file(H, "initiator.yaml",
		"node: ops-initiator\n"
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  alice:\n"
		"    type: secure_channel\n"
		"    options:\n"
		"      role: initiator\n"
		"      trust: everyone\n"
		"      route:\n"
		"        - tcp:127.0.0.1:${OPS_PORT}\n"
		"        - bob_listener\n");
	CU_ASSERT_FATAL(resp && init);
	node = integ_start_node("ops-responder", resp, NULL, &port);
	CU_ASSERT_FATAL(node != NULL);
	snprintf(env_port, sizeof(env_port), "OPS_PORT=%d", port);
	CU_ASSERT_EQUAL(integ_run_host("ping-secure",
				(const char *[]){ "ping", "-c", "2", "-i", "50ms", "--config", init, "alice,echoer", NULL },
				(const char *[]){ env_port, NULL }, &p), 0);
	const char *out = hx_read(p, HX_STDOUT);
	CU_ASSERT(hx_find_line(out, "16 bytes from [alice, echoer]: seq=2 time=",
			       line, sizeof(line)) == 0 &&
		  strstr(line, " secure=I"));
	CU_ASSERT(integ_contains(out, "2 sent, 2 received, 0% loss"));

	/* The responder's status shows the channel the pings used: its
	 * peer, its route back and the traffic each way. */
	char to[64];
	snprintf(to, sizeof(to), "tcp:127.0.0.1:%d", port);
	CU_ASSERT_EQUAL(run("status-secure",
			    (const char *[]){ "status", "--to", to, NULL }, &p), 0);
	out = hx_read(p, HX_STDOUT);
	CU_ASSERT(hx_find_line(out, "secure_channel_listener", line,
			       sizeof(line)) == 0 &&
		  strstr(line, "channels=1"));
	CU_ASSERT(hx_find_line(out, "role=responder", line, sizeof(line)) == 0 &&
		  strstr(line, "state=open") && strstr(line, "peer=I") &&
		  strstr(line, "msgs_in=2") && strstr(line, "msgs_out=2") &&
		  strstr(line, "route=\"[tcp:127.0.0.1:"));
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "status: table, JSON, no reply", test_status },
		{ "ping: RTTs and summary; closed port", test_ping },
		{ "ping through a secure channel (--config)", test_ping_secure },
		{ NULL, NULL },
	};
	return integ_run("ops_status_ping", tests);
}
