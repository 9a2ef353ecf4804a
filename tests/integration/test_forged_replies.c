/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forged replies (issue #19, attack 2), as an attacker does it: while the
 * tutorial's initiator waits for the answer of its request, a stranger who
 * can reach the middle node sends it a plaintext frame addressed to the
 * initiator's `app` (or `ping.<pid>`), over the connection the initiator
 * opened to the middle:
 *   - straight to the initiator's address at the middle: [tcp:<it>, app];
 *   - through the middle's hop, which forwards over that connection:
 *     [hop, tcp:<it>, app].
 * The answer is held meanwhile: the middle's next hop is a socket of this
 * test, which relays to the real responder only after the forgery has been
 * seen.  The initiator must drop the forgery with a log line and still
 * print the real reply when it comes (exit 0).  Cases: the 05 secure
 * tutorial (its channel has not even finished its handshake), the 04
 * plaintext tutorial, and `ockam-host ping` and `ockam-host status` along
 * the 04 route.
 * And the rule does not refuse real answers when a channel is made anew:
 * pings through an initiator whose channel the listener keeps closing
 * for idleness (a new handshake, new channel addresses, each time) are
 * all answered.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ_secure.h"

#define T04 "configs/04-routing-over-two-transport-hops-"
#define T05 "configs/05-secure-channel-over-two-transport-hops-"

/* ---- the attacker's tools: raw frames (docs/protocol.md) ------------- */

/* Encode `hops` (NULL-terminated; "tcp:..." is type 1, else local) as a
 * route at p; every value is under 128 bytes (one varint byte). */
static size_t put_route(uint8_t *p, const char *const *hops)
{
	size_t n = 0, used = 1;

	while (hops[n])
		n++;
	p[0] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		const char *v = hops[i];
		uint8_t type = 0;
		if (strncmp(v, "tcp:", 4) == 0) {
			type = 1;
			v += 4;
		}
		size_t len = strlen(v);
		p[used++] = type;
		p[used++] = (uint8_t)len;
		memcpy(p + used, v, len);
		used += len;
	}
	return used;
}

/* Send one TCP frame: length, then version 1, onward, return, payload. */
static int send_frame(int fd, const char *const *onward,
		      const char *const *ret, const char *payload)
{
	uint8_t buf[2048];
	size_t used = 5, plen = strlen(payload);

	buf[4] = 1;
	used += put_route(buf + used, onward);
	used += put_route(buf + used, ret);
	buf[used++] = (uint8_t)plen;
	memcpy(buf + used, payload, plen);
	used += plen;
	uint32_t len = (uint32_t)(used - 4);
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	return send(fd, buf, used, MSG_NOSIGNAL) == (ssize_t)used ? 0 : -1;
}

/* ---- the held next hop: a listener of ours, relayed on demand -------- */

/* The middle node's connection to our listener, within `ms`, or -1. */
static int hold_accept(int lfd, int ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	if (poll(&p, 1, ms) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Relay `held` (what the middle sent us, still unread) to the real node on
 * `port` and back, in a child, until either side closes.  The pid, or
 * -1. */
static pid_t relay_start(int held, int port)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int far = hx_tcp_connect(port);
	if (far < 0)
		_exit(1);
	struct pollfd p[2] = {{.fd = held, .events = POLLIN},
			      {.fd = far, .events = POLLIN}};
	char buf[65536];
	for (;;) {
		if (poll(p, 2, -1) < 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			ssize_t n = recv(p[i].fd, buf, sizeof(buf), 0);
			if (n <= 0 ||
			    send(p[1 - i].fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
				_exit(0);
		}
	}
}

static void relay_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* ---- the attack --------------------------------------------------------- */

enum sender { APP, PING, STATUS };

struct attack {
	const char *tutorial;  /* T04 or T05 */
	enum sender sender;
	int via_hop;           /* [hop, tcp:<it>, to] rather than [tcp:<it>, to] */
};

/* The initiator's address as the middle sees it: the first connection it
 * accepted ("accepted connection from 127.0.0.1:<port>"). */
static int initiator_at_middle(struct hx_proc *middle, char *out, size_t cap)
{
	char line[512];
	const char *needle = "accepted connection from ";

	if (hx_wait_line(middle, HX_STDERR, needle, 1, HX_READY_MS, line,
			 sizeof(line)) < 0)
		return -1;
	snprintf(out, cap, "tcp:%s", strstr(line, needle) + strlen(needle));
	return 0;
}

static void run_attack(const struct attack *at)
{
	struct hx_proc *responder, *middle, *victim;
	struct integ_ports ports;
	char held_env[32], mid_env[32], to[64], it[128], path[256];
	int hold_port = 0, lfd, held, attacker;

	integ_begin("forged_replies");
	lfd = hx_tcp_listen(4, &hold_port);
	CU_ASSERT_FATAL(lfd >= 0);
	/* The middle's `to:` allows our listener, where the request waits. */
	integ_start_pair_via(at->tutorial, &responder, &middle, &ports,
			     hold_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);
	int far = ports.responder; /* where the held request goes on to */
	if (at->sender == STATUS) {
		const char *cfg = integ_write_config("target.yaml",
			"node: target\n"
			"status: true\n"
			"transports:\n"
			"  tcp: { listen: 127.0.0.1:0 }\n");
		CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(
			integ_start_node("target", cfg, NULL, &far));
	}
	/* The victim's route goes through the middle to our listener. */
	snprintf(held_env, sizeof(held_env), "RESPONDER_PORT=%d", hold_port);
	snprintf(mid_env, sizeof(mid_env), "MIDDLE_PORT=%d", ports.middle);
	const char *const env[] = {held_env, mid_env, NULL};
	if (at->sender == APP) {
		snprintf(path, sizeof(path), "%sinitiator.yaml", at->tutorial);
		victim = hx_spawn_host(H, "initiator", integ_src(path), env);
	} else if (at->sender == PING) {
		char route[128];
		snprintf(route, sizeof(route),
			 "tcp:localhost:%d,hop,tcp:localhost:%d,echoer",
			 ports.middle, hold_port);
		const char *const argv[] = {hx_host_path(), "ping", "-c", "1",
					    "-W", "10s", route, NULL};
		victim = hx_spawn(H, "ping", argv, NULL);
	} else {
		char route[128];
		snprintf(route, sizeof(route),
			 "tcp:localhost:%d,hop,tcp:localhost:%d", ports.middle,
			 hold_port);
		const char *const argv[] = {hx_host_path(), "status", "-W",
					    "10s", "--to", route, NULL};
		victim = hx_spawn(H, "status", argv, NULL);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(victim);
	if (at->sender == APP)
		snprintf(to, sizeof(to), "app");
	else
		snprintf(to, sizeof(to), "%s.%ld",
			 at->sender == PING ? "ping" : "status_client",
			 (long)hx_pid(victim));

	/* The request (the 05 channel's handshake, the 04 message) is now
	 * held at our listener: nothing has answered it. */
	held = hold_accept(lfd, HX_READY_MS);
	CU_ASSERT_FATAL(held >= 0);
	CU_ASSERT_EQUAL_FATAL(initiator_at_middle(middle, it, sizeof(it)), 0);

	/* The forgery, as plausible as an attacker can make it: a payload a
	 * reply could have, a return route ending at echoer. */
	attacker = hx_tcp_connect(ports.middle);
	CU_ASSERT_FATAL(attacker >= 0);
	const char *const direct[] = {it, to, NULL};
	const char *const hop[] = {"hop", it, to, NULL};
	const char *const ret[] = {at->sender == STATUS ? "status" : "echoer",
				   NULL};
	const char *forged = at->sender == APP	  ? "Forged reply!"
			     : at->sender == PING ? "ping 00000000001"
						  : "node Forged uptime_ms=1";
	CU_ASSERT_EQUAL(send_frame(attacker, at->via_hop ? hop : direct, ret,
				   forged), 0);

	/* Seen and dropped, with a line saying why; nothing printed.  The
	 * direct form no longer gets past the middle, which delivers what
	 * arrives over tcp only to its own workers (integ_dial_policy); the
	 * form through its hop reaches the victim, whose reply rule drops
	 * it. */
	if (at->via_hop) {
		CU_ASSERT_EQUAL(hx_wait_line(victim, HX_STDERR,
					     "dropped a plaintext message from",
					     1, HX_READY_MS, NULL, 0), 0);
	} else {
		CU_ASSERT_EQUAL(hx_wait_line(middle, HX_STDERR,
					     "not relaying a message that arrived over tcp",
					     1, HX_READY_MS, NULL, 0), 0);
	}
	CU_ASSERT_PTR_NULL(strstr(hx_read(victim, HX_STDOUT), "Forged"));
	CU_ASSERT(hx_running(victim));

	/* Now the real answer may come: it counts. */
	pid_t relay = relay_start(held, far);
	CU_ASSERT(relay > 0);
	CU_ASSERT_EQUAL(hx_wait_exit(victim, HX_EXIT_MS), 0);
	const char *out = hx_read(victim, HX_STDOUT);
	CU_ASSERT_PTR_NULL(strstr(out, "Forged"));
	if (at->sender == APP) {
		CU_ASSERT_STRING_EQUAL(out, "App Received: Hello Ockam!\n");
	} else if (at->sender == STATUS) {
		CU_ASSERT(integ_contains(out, "target") &&
			  integ_contains(out, "uptime_ms="));
	} else {
		CU_ASSERT(integ_contains(out, "1 sent, 1 received") &&
			  integ_contains(out, "1 forged dropped"));
	}
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(victim, HX_STDERR),
					     NULL), at->via_hop ? 1 : 0);
	close(attacker);
	close(held);
	close(lfd);
	relay_stop(relay);
}

static void test_secure_direct(void)
{
	run_attack(&(struct attack){T05, APP, 0});
}

static void test_secure_via_hop(void)
{
	run_attack(&(struct attack){T05, APP, 1});
}

static void test_plaintext_via_hop(void)
{
	run_attack(&(struct attack){T04, APP, 1});
}

static void test_plaintext_direct(void)
{
	run_attack(&(struct attack){T04, APP, 0});
}

static void test_ping_via_hop(void)
{
	run_attack(&(struct attack){T04, PING, 1});
}

static void test_status_via_hop(void)
{
	run_attack(&(struct attack){T04, STATUS, 1});
}

static void test_secure_ping_across_rehandshakes(void)
{
	struct hx_proc *listener, *pinger;
	int port;

	integ_begin("replies_rehandshake");
	listener = integ_start_listener(
		"listener", "trust: everyone, idle_timeout: 200ms", &port);
	const char *cfg = integ_initiator_config(&(struct integ_initiator){
		.node = "pinger", .port = port, .options = "trust: everyone" });
	const char *const argv[] = {hx_host_path(), "ping", "-c", "3", "-i",
				    "700ms", "-W", "5s", "--config", cfg,
				    "alice,echoer", NULL};
	pinger = hx_spawn(H, "pinger", argv, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pinger);
	CU_ASSERT_EQUAL(hx_wait_exit(pinger, HX_EXIT_MS), 0);
	const char *out = hx_read(pinger, HX_STDOUT);
	CU_ASSERT(integ_contains(out, "3 sent, 3 received"));
	CU_ASSERT_EQUAL(integ_lines(out, "secure=I"), 3);
	CU_ASSERT_PTR_NULL(strstr(out, "forged"));
	/* Each ping after the first went through a new channel. */
	CU_ASSERT_EQUAL(integ_lines(hx_read(listener, HX_STDERR),
				    "closed: no authenticated message for"), 2);
	CU_ASSERT_EQUAL(hx_stop(listener, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "05: forged [tcp:<initiator>, app] during the handshake", test_secure_direct },
		{ "05: forged [hop, tcp:<initiator>, app] during the handshake", test_secure_via_hop },
		{ "04: forged [hop, tcp:<initiator>, app] before the echo", test_plaintext_via_hop },
		{ "04: forged [tcp:<initiator>, app] before the echo", test_plaintext_direct },
		{ "ping: forged [hop, tcp:<ping>, ping.<pid>] before the echo", test_ping_via_hop },
		{ "status: forged [hop, tcp:<status>, status_client.<pid>] before the report", test_status_via_hop },
		{ "ping through a channel: answers count across re-handshakes", test_secure_ping_across_rehandshakes },
		{ NULL, NULL },
	};
	return integ_run("forged_replies", tests);
}
