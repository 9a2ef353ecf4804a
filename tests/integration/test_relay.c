/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Relays (configs/08, plugins/relay, plugins/relay_service) run as a user
 * runs them, and attacked the way a stranger who can reach the relay
 * would: raw frames (docs/protocol.md) over a socket of their own.
 *
 *  - the 08 tutorial: the responder has no listener, the initiator
 *    reaches it through the relay;
 *  - plaintext register / route, unknown names (the notice arrives in
 *    well under a second, also through a hop), the relay restarting,
 *    the registrant's connection going away, name clashes, the same
 *    identity taking its name back after a restart;
 *  - a stranger registering where only channels may, hijacking a name,
 *    and using the relay (or the registered node) to reach addresses
 *    of their choosing.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define T08 "configs/08-secure-channel-through-a-relay-"

/* ---- nodes ------------------------------------------------------------ */

static const char relay_yaml[] =
	"node: relay\n"
	"status: true\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: 127.0.0.1:${RELAY_PORT:-0}\n"
	"workers:\n"
	"  relay:\n"
	"    type: relay_service\n"
	"%s" /* access */
	"    options:\n"
	"      trust: everyone\n"
	"      registration_timeout: %s\n"
	"%s"; /* more workers */

static const char responder_yaml[] =
	"node: %s\n"
	"status: true\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  echoer:\n"
	"    type: echoer\n"
	"  relay_client:\n"
	"    type: relay\n"
	"    options:\n"
	"      at:\n"
	"        - tcp:127.0.0.1:${RELAY_PORT}\n"
	"        - relay\n"
	"      name: bob\n"
	"      keepalive: 300ms\n"
	"      backoff: 100ms\n"
	"      backoff_max: 400ms\n";

static const char client_yaml[] =
	"node: client\n"
	"transports:\n"
	"  tcp: {}\n"
	"messages:\n"
	"  - route:\n"
	"      - tcp:127.0.0.1:${RELAY_PORT}\n"
	"      - forward_to_%s\n"
	"      - echoer\n"
	"    payload: %s\n"
	"    timeout: 5s\n";

static char port_env[32];
static const char *env_port[2] = {port_env, NULL};

static void set_port(int port)
{
	snprintf(port_env, sizeof(port_env), "RELAY_PORT=%d", port);
}

/* The relay (plaintext registrations unless `access` says otherwise), on
 * `port` (0: a new one, stored). */
static struct hx_proc *relay_start(const char *file, const char *access,
				   const char *timeout, const char *more,
				   int *port)
{
	const char *cfg = integ_write_config(file, relay_yaml, access, timeout,
					     more);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	if (*port)
		set_port(*port);
	struct hx_proc *p = integ_start_node("relay", cfg,
					     *port ? env_port : NULL, port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	set_port(*port);
	return p;
}

/* A node with no listener that registers `bob`; waits for it if `wait`. */
static struct hx_proc *responder_start(const char *node, int wait)
{
	char file[64];
	snprintf(file, sizeof(file), "%s.yaml", node);
	const char *cfg = integ_write_config(file, responder_yaml, node);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *p = hx_spawn_host(H, node, cfg, env_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (wait)
		CU_ASSERT_EQUAL_FATAL(hx_wait_line(p, HX_STDERR,
						   "registered at relay", 1,
						   HX_READY_MS, NULL, 0),
				      0);
	return p;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run a client sending `payload` to forward_to_<name>; returns its exit
 * status, the process in *out and how long it ran in *ms. */
static int client_run(const char *name, const char *payload,
		      struct hx_proc **out, uint64_t *ms)
{
	static int n;
	char file[32];
	snprintf(file, sizeof(file), "client%d.yaml", ++n);
	const char *cfg = integ_write_config(file, client_yaml, name, payload);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	uint64_t t0 = now_ms();
	struct hx_proc *c = hx_spawn_host(H, "client", cfg, env_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	int status = hx_wait_exit(c, HX_EXIT_MS);
	if (ms)
		*ms = now_ms() - t0;
	*out = c;
	return status;
}

/* The client got its echo back. */
static int served(const char *payload)
{
	struct hx_proc *c;
	char want[128];
	snprintf(want, sizeof(want), "App Received: %s\n", payload);
	return client_run("bob", payload, &c, NULL) == 0 &&
	       strcmp(hx_read(c, HX_STDOUT), want) == 0;
}

/* ---- the attacker's tools: raw frames (docs/protocol.md) -------------- */

/* Encode `hops` (NULL-terminated; "tcp:..." is type 1, else local) at p;
 * every value is under 128 bytes (one varint byte). */
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

/* One TCP frame: length, version 1, onward, return, payload (< 128). */
static int send_frame(int fd, const char *const *onward,
		      const char *const *ret, const uint8_t *payload,
		      size_t plen)
{
	uint8_t buf[2048];
	size_t used = 5;
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

/* REGISTER (plugins/relay/relay_proto.h): 0x01, token, name. */
static size_t register_payload(uint8_t *buf, uint8_t token_byte,
			       const char *name)
{
	size_t n = strlen(name);
	buf[0] = 0x01;
	memset(buf + 1, token_byte, 16);
	buf[17] = (uint8_t)n;
	memcpy(buf + 18, name, n);
	return 18 + n;
}

static int read_full(int fd, uint8_t *b, size_t n, int ms)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, ms) != 1)
			return -1;
		ssize_t r = recv(fd, b + got, n - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static size_t skip_route(const uint8_t *b, size_t off, size_t len)
{
	if (off >= len)
		return len + 1;
	size_t n = b[off++];
	for (size_t i = 0; i < n && off + 2 <= len; i++)
		off += 2 + b[off + 1];
	return off;
}

/* Read one frame's body (after its length) within `ms` into body[4096];
 * returns its length, or 0. */
static size_t read_body(int fd, int ms, uint8_t *body)
{
	uint8_t h[4];
	if (read_full(fd, h, 4, ms) < 0)
		return 0;
	size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 |
		     (size_t)h[2] << 8 | h[3];
	if (len > 4096 || read_full(fd, body, len, ms) < 0)
		return 0;
	return len;
}

/* Read one frame within `ms`; copy its payload (NUL-terminated) to out.
 * Returns the payload length, or -1. */
static int read_frame(int fd, int ms, uint8_t *out, size_t cap)
{
	uint8_t body[4096];
	size_t len = read_body(fd, ms, body);
	if (len == 0)
		return -1;
	size_t off = skip_route(body, 1, len);
	off = skip_route(body, off, len);
	if (off >= len)
		return -1;
	size_t plen = body[off++];
	if (plen >= 128 || off + plen != len || plen + 1 > cap)
		return -1;
	memcpy(out, body + off, plen);
	out[plen] = 0;
	return (int)plen;
}

/* 1 if someone connected to listening socket `lfd` within `ms`. */
static int got_connection(int lfd, int ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

/* ---- the tutorial ------------------------------------------------------ */

static void test_tutorial_08(void)
{
	integ_begin("relay_tutorial_08");
	int port;
	struct hx_proc *relay = integ_start_node(
		"relay", integ_src(T08 "relay.yaml"),
		(const char *const[]){"RELAY_PORT=0", NULL}, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(relay);
	set_port(port);
	struct hx_proc *resp = hx_spawn_host(H, "responder",
					     integ_src(T08 "responder.yaml"),
					     env_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(resp, HX_STDERR,
					   "registered at relay [relay_channel, relay]: this node is reached at forward_to_bob",
					   1, HX_READY_MS, NULL, 0),
			      0);
	/* Registered through the channel: the relay knows who. */
	CU_ASSERT_EQUAL(hx_wait_line(relay, HX_STDERR,
				     "relay 'bob' registered: forward_to_bob forwards to [sc_enc.",
				     1, HX_READY_MS, NULL, 0),
			0);
	struct hx_proc *init = hx_spawn_host(H, "initiator",
					     integ_src(T08 "initiator.yaml"),
					     env_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(init);
	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(init, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	/* End to end: the responder's echoer got it out of bob_listener's
	 * channel with the initiator's identity. */
	const char *ilog = hx_read(init, HX_STDERR);
	const char *rlog = hx_read(resp, HX_STDERR);
	char alice[40], bob[40], line[128];
	CU_ASSERT_EQUAL_FATAL(integ_find_identifier(ilog, "alice: identity ", alice), 0);
	CU_ASSERT_EQUAL_FATAL(integ_find_identifier(rlog, "bob_listener: identity ", bob), 0);
	snprintf(line, sizeof(line), "bob_listener: secure channel open with peer %s", alice);
	CU_ASSERT_EQUAL(integ_lines(rlog, line), 1);
	snprintf(line, sizeof(line), "alice: secure channel open with peer %s", bob);
	CU_ASSERT_EQUAL(integ_lines(ilog, line), 1);
	snprintf(line, sizeof(line), "via secure channel with %s", alice);
	CU_ASSERT_EQUAL(integ_lines(rlog, "echoer: received \"Hello Ockam!\"", line), 1);
	/* The responder never listened. */
	CU_ASSERT_EQUAL(integ_lines(hx_read(resp, HX_STDERR), "listening on"), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(relay, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(resp, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(init, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* ---- plaintext relays -------------------------------------------------- */

static void test_register_and_route(void)
{
	integ_begin("relay_route");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml", "", "30s", "", &port);
	struct hx_proc *resp = responder_start("responder", 1);
	CU_ASSERT(served("through the relay"));
	/* The echoer saw it come down its own connection from the relay:
	 * [relay_client, tcp:127.0.0.1:<relay>, forward_to_bob, tcp:<client>, app]. */
	char line[1024], hops[8][128];
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(resp, HX_STDERR, "echoer: received",
					   1, HX_READY_MS, line, sizeof(line)),
			      0);
	CU_ASSERT_EQUAL_FATAL(integ_return_route(line, hops, 8), 5);
	CU_ASSERT_STRING_EQUAL(hops[0], "relay_client");
	CU_ASSERT_NSTRING_EQUAL(hops[1], "tcp:127.0.0.1:", 14);
	CU_ASSERT_STRING_EQUAL(hops[2], "forward_to_bob");
	CU_ASSERT_NSTRING_EQUAL(hops[3], "tcp:127.0.0.1:", 14);
	CU_ASSERT_STRING_EQUAL(hops[4], "app");
	/* Both ends show it in their status, the responder's fetched
	 * through the relay itself. */
	char to[64];
	struct hx_proc *st;
	snprintf(to, sizeof(to), "tcp:127.0.0.1:%s", port_env + 11);
	CU_ASSERT_EQUAL(integ_run_host("status-relay", (const char *const[]){
				"status", "--to", to, NULL}, NULL, &st),
			0);
	const char *out = hx_read(st, HX_STDOUT);
	CU_ASSERT_EQUAL(integ_lines(out, "relay_service", "registrations=1 "), 1);
	CU_ASSERT_EQUAL(integ_lines(out, "bob", "address=forward_to_bob",
				    "forwarded=1 returned=1"), 1);
	snprintf(to, sizeof(to), "tcp:127.0.0.1:%s,forward_to_bob,status",
		 port_env + 11);
	CU_ASSERT_EQUAL(integ_run_host("status-bob", (const char *const[]){
				"status", "--to", to, NULL}, NULL, &st),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(st, HX_STDOUT), "relay_registration",
				    "bob", "state=registered"), 1);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(relay, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(resp, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

static void test_unknown_name(void)
{
	integ_begin("relay_unknown_name");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml", "", "30s", "", &port);
	struct hx_proc *c;
	uint64_t ms;
	CU_ASSERT_EQUAL(client_run("bob", "anyone there?", &c, &ms), 1);
	/* At once, not at the 5 s timeout. */
	CU_ASSERT(ms < 1000);
	CU_ASSERT_STRING_EQUAL(hx_read(c, HX_STDOUT), "");
	CU_ASSERT_EQUAL(integ_lines(hx_read(c, HX_STDERR),
				    "not delivered: undeliverable at relay: no relay named 'bob'"),
			1);
	/* ping says it too, and exits 1 long before its -W. */
	char target[64];
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%s,forward_to_bob,echoer",
		 port_env + 11);
	uint64_t t0 = now_ms();
	CU_ASSERT_EQUAL(integ_run_host("ping", (const char *const[]){
				"ping", "-c", "1", "-W", "5", target, NULL},
				       NULL, &c),
			1);
	CU_ASSERT(now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL(integ_lines(hx_read(c, HX_STDOUT),
				    "seq=1 not delivered: undeliverable at relay: no relay named 'bob'"),
			1);
	/* Through a secure channel: relay_secure_notice. */
	/* A drop behind the relay comes back through it: bob is there but
	 * has no such worker. */
	struct hx_proc *resp = responder_start("responder", 1);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%s,forward_to_bob,nosuch",
		 port_env + 11);
	t0 = now_ms();
	CU_ASSERT_EQUAL(integ_run_host("ping-behind", (const char *const[]){
				"ping", "-c", "1", "-W", "5", target, NULL},
				       NULL, &c),
			1);
	CU_ASSERT(now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL(integ_lines(hx_read(c, HX_STDOUT),
				    "seq=1 not delivered: undeliverable at responder: no worker at address 'nosuch'"),
			1);
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* ---- notices through a secure channel ---------------------------------- */

/* `ockam-host ping` through alice, an initiator whose route goes through
 * the relay to bob_listener. */
static const char ping_alice_yaml[] =
	"node: initiator\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route:\n"
	"        - tcp:localhost:${RELAY_PORT}\n"
	"        - forward_to_bob\n"
	"        - bob_listener\n"
	"      trust: everyone\n";

/* Run the 08 initiator (its message through alice to the echoer behind
 * bob_listener) against the relay; assert it fails at once, with `why`
 * on the app's line, and returns its stderr. */
static const char *alice_fails_at_once(const char *label, const char *why)
{
	uint64_t t0 = now_ms();
	struct hx_proc *alice = hx_spawn_host(H, label,
					      integ_src(T08 "initiator.yaml"),
					      env_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(alice);
	CU_ASSERT_EQUAL(hx_wait_exit(alice, HX_EXIT_MS), 1);
	/* The message waited in alice's queue for the handshake: it fails
	 * with the handshake's notice, not at its 10 s timeout. */
	CU_ASSERT(now_ms() - t0 < 1000);
	const char *log = hx_read(alice, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "app: message to [alice, echoer] not delivered:",
				    why),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "app: 1 message: 0 answered, 0 sent without awaiting a reply, 1 failed, 0 not sent"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "no reply"), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(alice, HX_STDOUT), "");
	return log;
}

/* Messages queued on a secure channel whose handshake the relay could not
 * deliver fail at once with the relay's reason (`messages:` and ping
 * print it, exit 1), whether the relay has no such name or the
 * registered node has no such listener; the channel itself still tries
 * again later. */
static void test_secure_notice(void)
{
	integ_begin("relay_secure_notice");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml", "", "30s", "", &port);
	const char *log = alice_fails_at_once(
		"alice", "undeliverable at relay: no relay named 'bob'");
	CU_ASSERT_EQUAL(integ_lines(log, "alice: dropping 1 queued message(s): handshake message not delivered: undeliverable at relay: no relay named 'bob'"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "alice: secure channel lost (handshake message not delivered: undeliverable at relay: no relay named 'bob'): re-handshaking in"),
			1);
	/* ping through the channel: seq 1 fails at once, long before -W. */
	const char *cfg = integ_write_config("ping_alice.yaml", ping_alice_yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *c;
	uint64_t t0 = now_ms();
	CU_ASSERT_EQUAL(integ_run_host("ping-alice", (const char *const[]){
				"ping", "-c", "1", "-W", "5", "--config", cfg,
				"alice,echoer", NULL},
				       env_port, &c),
			1);
	CU_ASSERT(now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL(integ_lines(hx_read(c, HX_STDOUT), "seq=1 not delivered:",
				    "undeliverable at relay: no relay named 'bob'"),
			1);
	/* bob registered, but it has no bob_listener: the responder's
	 * notice comes back through the relay to the channel. */
	struct hx_proc *resp = responder_start("responder", 1);
	alice_fails_at_once("alice2",
			    "undeliverable at responder: no worker at address 'bob_listener'");
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

static const char middle_yaml[] =
	"node: middle\n"
	"transports:\n"
	"  tcp: { listen: 127.0.0.1:0 }\n"
	"workers:\n"
	"  hop:\n"
	"    type: hop\n"
	"    options:\n"
	"      to: ['tcp:127.0.0.1:${RELAY_PORT}']\n";

static const char via_hop_yaml[] =
	"node: initiator\n"
	"transports:\n"
	"  tcp: {}\n"
	"messages:\n"
	"  - route:\n"
	"      - tcp:127.0.0.1:${MIDDLE_PORT}\n"
	"      - hop\n"
	"      - tcp:127.0.0.1:${RELAY_PORT}\n"
	"      - forward_to_bob\n"
	"      - echoer\n"
	"    payload: three nodes\n"
	"    timeout: 10s\n";

/* The notice comes back through three nodes (initiator, middle, relay)
 * in well under a second: the sender does not wait for its timeout. */
static void test_notice_three_nodes(void)
{
	integ_begin("relay_notice_three_nodes");
	int port = 0, mport;
	struct hx_proc *relay = relay_start("relay.yaml", "", "30s", "", &port);
	const char *mcfg = integ_write_config("middle.yaml", middle_yaml);
	struct hx_proc *middle = integ_start_node("middle", mcfg, env_port, &mport);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);
	char menv[32];
	snprintf(menv, sizeof(menv), "MIDDLE_PORT=%d", mport);
	const char *icfg = integ_write_config("initiator.yaml", via_hop_yaml);
	uint64_t t0 = now_ms();
	struct hx_proc *init = hx_spawn_host(H, "initiator", icfg,
					     (const char *const[]){port_env, menv, NULL});
	CU_ASSERT_PTR_NOT_NULL_FATAL(init);
	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 1);
	uint64_t ms = now_ms() - t0;
	CU_ASSERT(ms < 1000);
	const char *ilog = hx_read(init, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(ilog, "app: message to [tcp:127.0.0.1:",
				    "not delivered: undeliverable at relay: no relay named 'bob'"),
			1);
	/* Nothing else went wrong on the way, and the notice did not come
	 * back as a "not the reply" complaint. */
	CU_ASSERT_EQUAL(integ_lines(ilog, "not the reply"), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(middle, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* A hop that cannot forward tells the sender on another node: its
 * refusal (an address its `to:` does not allow) and a connection refused
 * further on both come back as notices, at once. */
static void test_notice_from_hop(void)
{
	integ_begin("relay_notice_hop");
	int port = 0, mport;
	int closed = hx_tcp_listen(0, &port); /* refuses connections */
	CU_ASSERT_FATAL(closed >= 0);
	set_port(port);
	const char *mcfg = integ_write_config("middle.yaml", middle_yaml);
	struct hx_proc *middle = integ_start_node("middle", mcfg, env_port, &mport);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);
	char to[96], refused[96];
	snprintf(to, sizeof(to), "tcp:127.0.0.1:%d,hop,tcp:127.0.0.1:1,echoer", mport);
	snprintf(refused, sizeof(refused), "tcp:127.0.0.1:%d,hop,tcp:127.0.0.1:%d,echoer",
		 mport, port);
	struct hx_proc *c;
	uint64_t t0 = now_ms();
	CU_ASSERT_EQUAL(integ_run_host("ping-to", (const char *const[]){
				"ping", "-c", "1", "-W", "5", to, NULL}, NULL, &c),
			1);
	CU_ASSERT(now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL(integ_lines(hx_read(c, HX_STDOUT),
				    "seq=1 not delivered: undeliverable at middle: hop 'hop': no connection open and 'to' does not allow opening one"),
			1);
	t0 = now_ms();
	CU_ASSERT_EQUAL(integ_run_host("ping-refused", (const char *const[]){
				"ping", "-c", "1", "-W", "5", refused, NULL}, NULL, &c),
			1);
	CU_ASSERT(now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL(integ_lines(hx_read(c, HX_STDOUT),
				    "seq=1 not delivered: undeliverable at middle: cannot connect to 127.0.0.1:",
				    "Connection refused"),
			1);
	close(closed);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
}

static void test_relay_restarts(void)
{
	integ_begin("relay_restart");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml", "", "30s", "", &port);
	struct hx_proc *resp = responder_start("responder", 1);
	CU_ASSERT(served("before"));
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
	/* One line when it is lost ... */
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(resp, HX_STDERR, "relay_client: relay at [tcp:127.0.0.1:",
					   1, HX_READY_MS, NULL, 0),
			      0);
	CU_ASSERT_EQUAL(hx_wait_line(resp, HX_STDERR, "] lost (", 1,
				     HX_READY_MS, NULL, 0),
			0);
	/* ... and the same relay address comes back: registered again. */
	relay = relay_start("relay.yaml", "", "30s", "", &port);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(resp, HX_STDERR, "registered at relay",
					   2, HX_READY_MS, NULL, 0),
			      0);
	CU_ASSERT(served("after"));
	/* However many attempts failed meanwhile: one line per change. */
	const char *rlog = hx_read(resp, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(rlog, "registered at relay"), 2);
	CU_ASSERT(integ_lines(rlog, "relay_client:", "WARN") <= 2);
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* The registrant goes away: the next message for it finds its
 * connection gone, drops the registration and says so; the name is free
 * again. */
static void test_registrant_gone(void)
{
	integ_begin("relay_registrant_gone");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml", "", "30s", "", &port);
	struct hx_proc *resp = responder_start("responder", 1);
	CU_ASSERT(served("hello"));
	kill(hx_pid(resp), SIGKILL);
	CU_ASSERT_EQUAL(hx_wait_exit(resp, HX_EXIT_MS), 128 + SIGKILL);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(relay, HX_STDERR,
					   "connection from 127.0.0.1:", 1,
					   HX_READY_MS, NULL, 0),
			      0);
	struct hx_proc *c;
	uint64_t ms;
	CU_ASSERT_EQUAL(client_run("bob", "still there?", &c, &ms), 1);
	CU_ASSERT(ms < 1000);
	CU_ASSERT_EQUAL(integ_lines(hx_read(c, HX_STDERR), "undeliverable at relay: "), 1);
	CU_ASSERT_EQUAL(integ_lines(hx_read(relay, HX_STDERR),
				    "relay 'bob' dropped: its connection is gone"),
			1);
	/* Another node may take the name now. */
	resp = responder_start("responder2", 1);
	CU_ASSERT(served("new bob"));
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* A second node asks for `bob`: refused with a clear error, the first
 * keeps it. */
static void test_name_clash(void)
{
	integ_begin("relay_name_clash");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml", "", "30s", "", &port);
	struct hx_proc *first = responder_start("responder", 1);
	struct hx_proc *second = responder_start("responder2", 0);
	char line[512];
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(second, HX_STDERR, "refused name 'bob'",
					   1, HX_READY_MS, line, sizeof(line)),
			      0);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "ERROR"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "name 'bob' is registered by another node"));
	CU_ASSERT(served("to the first"));
	CU_ASSERT_EQUAL(hx_wait_line(first, HX_STDERR, "received \"to the first\"",
				     1, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(second, HX_STDERR), "echoer: received"), 0);
	/* It keeps trying (the name may come free), quietly. */
	CU_ASSERT_EQUAL(hx_wait_line(relay, HX_STDERR, "refused: name 'bob' is registered by another node",
				     1, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(second, HX_STDERR), "refused name 'bob'", "ERROR"), 1);
	CU_ASSERT_EQUAL(hx_stop(second, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(first, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* ---- registrations through a secure channel ---------------------------- */

static const char relay_secure_more[] =
	"  relay_listener:\n"
	"    type: secure_channel\n"
	"    options: { role: listener, trust: everyone }\n";

static const char responder_secure_yaml[] =
	"node: %s\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  echoer:\n"
	"    type: echoer\n"
	"  relay_channel:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route:\n"
	"        - tcp:127.0.0.1:${RELAY_PORT}\n"
	"        - relay_listener\n"
	"      trust: everyone\n"
	"      vault: %s\n"
	"  relay_client:\n"
	"    type: relay\n"
	"    options:\n"
	"      at: [relay_channel, relay]\n"
	"      name: bob\n"
	"      keepalive: 300ms\n"
	"      backoff: 100ms\n"
	"      backoff_max: 400ms\n";

static struct hx_proc *secure_responder(const char *node, const char *vault)
{
	char file[64];
	snprintf(file, sizeof(file), "%s.yaml", node);
	const char *cfg = integ_write_config(file, responder_secure_yaml, node,
					     vault);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *p = hx_spawn_host(H, node, cfg, env_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* A name belongs to an identity: the same identity takes it back at once
 * after a restart (its old registration still alive), another is
 * refused. */
static void test_same_identity(void)
{
	integ_begin("relay_same_identity");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml",
					    "    access: secure_channel\n", "30s",
					    relay_secure_more, &port);
	struct hx_proc *a = secure_responder("responder", "bob.key");
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(a, HX_STDERR, "registered at relay",
					   1, HX_READY_MS, NULL, 0),
			      0);
	CU_ASSERT(served("first run"));
	kill(hx_pid(a), SIGKILL);
	hx_wait_exit(a, HX_EXIT_MS);
	/* Another identity: refused, the name is bob's. */
	struct hx_proc *other = secure_responder("mallory", "mallory.key");
	CU_ASSERT_EQUAL(hx_wait_line(other, HX_STDERR,
				     "refused name 'bob': name 'bob' is registered by another node",
				     1, HX_READY_MS, NULL, 0),
			0);
	/* bob again, same vault: takes it over, no refusal. */
	struct hx_proc *a2 = secure_responder("responder", "bob.key");
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(a2, HX_STDERR, "registered at relay",
					   1, HX_READY_MS, NULL, 0),
			      0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(a2, HX_STDERR), "refused"), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(relay, HX_STDERR), "relay 'bob' re-registered: now [sc_enc."),
			1);
	CU_ASSERT(served("second run"));
	CU_ASSERT_EQUAL(hx_wait_line(a2, HX_STDERR, "received \"second run\"",
				     1, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(other, HX_STDERR), "echoer: received"), 0);
	CU_ASSERT_EQUAL(hx_stop(other, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(a2, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* A relay that lets only the identities in `trust:` register. */
static const char relay_trust_yaml[] =
	"node: relay\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: 127.0.0.1:0\n"
	"workers:\n"
	"  relay_listener:\n"
	"    type: secure_channel\n"
	"    options: { role: listener, trust: everyone }\n"
	"  relay:\n"
	"    type: relay_service\n"
	"    options:\n"
	"      trust: [%s]\n";

/* The identity of `node`'s relay_channel (vault `vault`, created now),
 * read from its first log line; the node cannot reach any relay. */
static void identity_of(const char *node, const char *vault, char *id)
{
	struct hx_proc *p = secure_responder(node, vault);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(p, HX_STDERR, "relay_channel: identity I",
					   1, HX_READY_MS, NULL, 0),
			      0);
	hx_stop(p, HX_EXIT_MS);
	CU_ASSERT_EQUAL_FATAL(integ_find_identifier(hx_read(p, HX_STDERR),
						    "relay_channel: identity ", id),
			      0);
}

/* trust: [bob's identity]: an identity not in the list is refused with
 * the reason at the registering node (and the name stays free), so is a
 * plaintext registration; the listed identity registers and is served. */
static void test_trust_list(void)
{
	integ_begin("relay_trust_list");
	char bob[40], mallory[40];
	int dead;
	int dfd = hx_tcp_listen(0, &dead); /* refuses: no relay yet */
	CU_ASSERT_FATAL(dfd >= 0);
	set_port(dead);
	identity_of("responder", "bob.key", bob);
	identity_of("mallory", "mallory.key", mallory);
	close(dfd);
	CU_ASSERT_STRING_NOT_EQUAL(bob, mallory);

	int port;
	const char *cfg = integ_write_config("relay.yaml", relay_trust_yaml, bob);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *relay = integ_start_node("relay", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(relay);
	set_port(port);
	/* Not listed: refused, told why, retried with backoff. */
	struct hx_proc *m = secure_responder("mallory", "mallory.key");
	CU_ASSERT_EQUAL(hx_wait_line(m, HX_STDERR,
				     "relay_client: relay at [relay_channel, relay] refused name 'bob': not allowed to register: identity not in the relay's trust list",
				     1, HX_READY_MS, NULL, 0),
			0);
	char line[160];
	snprintf(line, sizeof(line), "(identity %s) refused: not allowed to register",
		 mallory);
	CU_ASSERT_EQUAL(hx_wait_line(relay, HX_STDERR, line, 1, HX_READY_MS,
				     NULL, 0),
			0);
	/* Plaintext: refused, no identity to trust. */
	struct hx_proc *plain = responder_start("plain", 0);
	CU_ASSERT_EQUAL(hx_wait_line(plain, HX_STDERR,
				     "refused name 'bob': not allowed to register: the relay accepts registrations only through a secure channel from a trusted identity",
				     1, HX_READY_MS, NULL, 0),
			0);
	struct hx_proc *c;
	CU_ASSERT_EQUAL(client_run("bob", "anyone?", &c, NULL), 1);
	CU_ASSERT_EQUAL(integ_lines(hx_read(c, HX_STDERR), "no relay named 'bob'"), 1);
	CU_ASSERT_EQUAL(hx_stop(plain, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(m, HX_EXIT_MS), 0);
	/* Listed: registers, is served. */
	struct hx_proc *b = secure_responder("responder", "bob.key");
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(b, HX_STDERR, "registered at relay",
					   1, HX_READY_MS, NULL, 0),
			      0);
	snprintf(line, sizeof(line), "relay 'bob' registered: forward_to_bob forwards to [sc_enc.");
	CU_ASSERT_EQUAL(integ_lines(hx_read(relay, HX_STDERR), line, bob), 1);
	CU_ASSERT(served("trusted"));
	CU_ASSERT_EQUAL(integ_lines(hx_read(b, HX_STDERR), "refused"), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(m, HX_STDERR),
				    "echoer: received"),
			0);
	CU_ASSERT_EQUAL(hx_stop(b, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* ---- attacks ---------------------------------------------------------- */

/* A relay that takes registrations only through a secure channel: a
 * stranger's plaintext REGISTER registers nothing. */
static void test_attack_stranger_registers(void)
{
	integ_begin("relay_attack_register");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml",
					    "    access: secure_channel\n", "30s",
					    relay_secure_more, &port);
	int fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	uint8_t reg[64], ans[256];
	size_t n = register_payload(reg, 0x41, "evil");
	CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){"relay", NULL},
				   (const char *const[]){"attacker", NULL}, reg, n),
			0);
	CU_ASSERT_EQUAL(hx_wait_line(relay, HX_STDERR,
				     "access denied: 'relay' accepts only messages through a secure channel",
				     1, HX_READY_MS, NULL, 0),
			0);
	/* No REGISTERED came back, and nobody is reached at the name. */
	CU_ASSERT(read_frame(fd, 300, ans, sizeof(ans)) < 0 || ans[0] != 0x02);
	struct hx_proc *c;
	CU_ASSERT_EQUAL(client_run("evil", "x", &c, NULL), 1);
	CU_ASSERT_EQUAL(integ_lines(hx_read(c, HX_STDERR), "no relay named 'evil'"), 1);
	CU_ASSERT_EQUAL(integ_lines(hx_read(relay, HX_STDERR), "relay 'evil' registered"), 0);
	close(fd);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* A stranger asks for a name someone holds: refused, told why, and the
 * holder keeps getting its messages. */
static void test_attack_hijack(void)
{
	integ_begin("relay_attack_hijack");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml", "", "30s", "", &port);
	struct hx_proc *resp = responder_start("responder", 1);
	int fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	uint8_t reg[64], ans[256];
	/* Every token a guesser might try first. */
	for (int t = 0; t < 4; t++) {
		size_t n = register_payload(reg, (uint8_t)(t * 0x55), "bob");
		CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){"relay", NULL},
					   (const char *const[]){"attacker", NULL},
					   reg, n),
				0);
		int got = read_frame(fd, HX_READY_MS, ans, sizeof(ans));
		CU_ASSERT_FATAL(got >= 2);
		CU_ASSERT_EQUAL(ans[0], 0x03);    /* REFUSED */
		CU_ASSERT_EQUAL(ans[1], 1);       /* taken */
		CU_ASSERT_PTR_NOT_NULL(strstr((char *)ans + 2,
					      "name 'bob' is registered by another node"));
	}
	/* It did not move: the real bob still answers. */
	CU_ASSERT(served("still bob"));
	CU_ASSERT_EQUAL(hx_wait_line(resp, HX_STDERR, "received \"still bob\"", 1,
				     HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(relay, HX_STDERR), "re-registered"), 0);
	close(fd);
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* A stranger filling the relay with names, or sending junk: refused
 * with the reason, counted; the names registered stay served. */
static void test_attack_limits(void)
{
	integ_begin("relay_attack_limits");
	int port = 0;
	struct hx_proc *relay = relay_start("relay.yaml", "",
					    "30s\n      max_registrations: 2", "",
					    &port);
	struct hx_proc *resp = responder_start("responder", 1);
	int fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	uint8_t reg[64], ans[256];
	const char *const to_relay[] = {"relay", NULL};
	const char *const back[] = {"attacker", NULL};
	/* One more fits, then the relay is full. */
	size_t n = register_payload(reg, 0x11, "n1");
	CU_ASSERT_EQUAL(send_frame(fd, to_relay, back, reg, n), 0);
	CU_ASSERT_FATAL(read_frame(fd, HX_READY_MS, ans, sizeof(ans)) >= 2);
	CU_ASSERT_EQUAL(ans[0], 0x02);
	CU_ASSERT_STRING_EQUAL((char *)ans + 2, "forward_to_n1");
	for (int i = 2; i < 6; i++) {
		char name[8];
		snprintf(name, sizeof(name), "n%d", i);
		n = register_payload(reg, 0x11, name);
		CU_ASSERT_EQUAL(send_frame(fd, to_relay, back, reg, n), 0);
		CU_ASSERT_FATAL(read_frame(fd, HX_READY_MS, ans, sizeof(ans)) >= 2);
		CU_ASSERT_EQUAL(ans[0], 0x03);
		CU_ASSERT_EQUAL(ans[1], 3);
		CU_ASSERT_PTR_NOT_NULL(strstr((char *)ans + 2, "the relay is full (max_registrations 2)"));
	}
	/* Junk: a bad name, a short payload, not a registration at all. */
	n = register_payload(reg, 0x11, "no/slash");
	CU_ASSERT_EQUAL(send_frame(fd, to_relay, back, reg, n), 0);
	CU_ASSERT_FATAL(read_frame(fd, HX_READY_MS, ans, sizeof(ans)) >= 2);
	CU_ASSERT_EQUAL(ans[0], 0x03);
	CU_ASSERT_EQUAL(ans[1], 4);
	CU_ASSERT_EQUAL(send_frame(fd, to_relay, back, reg, 5), 0);
	CU_ASSERT_FATAL(read_frame(fd, HX_READY_MS, ans, sizeof(ans)) >= 2);
	CU_ASSERT_EQUAL(ans[1], 4);
	CU_ASSERT_EQUAL(send_frame(fd, to_relay, back, (const uint8_t *)"\x07junk", 5), 0);
	/* One line per cause at most a second; bob still served. */
	CU_ASSERT(served("after the flood"));
	const char *rlog = hx_read(relay, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(rlog, "refused: the relay is full"), 1);
	CU_ASSERT_EQUAL(integ_lines(rlog, "relay 'n2' registered"), 0);
	close(fd);
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* A stranger tries to use the relay, and the node behind it, to reach an
 * address of their choosing (a listener of ours stands for the victim):
 * nobody dials it, nothing reaches it. */
static void test_attack_open_relay(void)
{
	integ_begin("relay_attack_open_relay");
	int port = 0, vport;
	int victim = hx_tcp_listen(8, &vport);
	CU_ASSERT_FATAL(victim >= 0);
	struct hx_proc *relay = relay_start("relay.yaml", "", "30s", "", &port);
	struct hx_proc *resp = responder_start("responder", 1);
	int fd = hx_tcp_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	char v[64];
	snprintf(v, sizeof(v), "tcp:127.0.0.1:%d", vport);
	const uint8_t hi[] = "hi";
	uint8_t reg[64];
	/* 1. Through bob's registration to the victim: the node behind the
	 *    relay forwards from the relay to its own workers only. */
	CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){"forward_to_bob", v, "echoer", NULL},
				   (const char *const[]){"a", NULL}, hi, 2),
			0);
	/* 2. Through the relay service itself. */
	CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){"relay", v, "echoer", NULL},
				   (const char *const[]){"a", NULL}, hi, 2),
			0);
	/* 3. Register a name whose return route names the victim, then
	 *    send to it: it goes down the attacker's own connection. */
	size_t n = register_payload(reg, 0x07, "evil");
	CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){"relay", NULL},
				   (const char *const[]){v, "echoer", NULL}, reg, n),
			0);
	CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){"forward_to_evil", "x", NULL},
				   (const char *const[]){"a", NULL}, hi, 2),
			0);
	/* 4. Pretend to be bob coming back: the return route is the
	 *    attacker's connection, so it goes down to bob, not out. */
	CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){"forward_to_bob", v, NULL},
				   (const char *const[]){"relay_client", "x", NULL}, hi, 2),
			0);
	CU_ASSERT_EQUAL(hx_wait_line(resp, HX_STDERR,
				     "it forwards to local workers only", 1,
				     HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(got_connection(victim, 500), 0);
	/* Not even tried: neither node handed anything for the victim's
	 * address to its transport (which would refuse to dial it). */
	CU_ASSERT_EQUAL(integ_lines(hx_read(relay, HX_STDERR), "connection to", v + 4), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(relay, HX_STDERR), "connected to", v + 4), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(resp, HX_STDERR), "not opening a connection"), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(relay, HX_STDERR), "connected to"), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(resp, HX_STDERR), "connected to 127.0.0.1:", v + 14), 0);
	/* Everyone else is still served. */
	CU_ASSERT(served("unharmed"));
	close(fd);
	close(victim);
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

/* Read one frame within `ms` and copy the first hop of its return route
 * (NUL-terminated) to out.  0, or -1. */
static int read_frame_ret0(int fd, int ms, char *out, size_t cap)
{
	uint8_t body[4096];
	size_t len = read_body(fd, ms, body);
	if (len == 0)
		return -1;
	size_t off = skip_route(body, 1, len);
	if (off + 4 > len || body[off] == 0 || (size_t)body[off + 2] + 1 > cap ||
	    off + 3 + body[off + 2] > len)
		return -1;
	memcpy(out, body + off + 3, body[off + 2]);
	out[body[off + 2]] = 0;
	return 0;
}

/* A delivery-failure notice (docs/protocol.md): version 1, code 1 (no
 * such address), the node "relay", a reason. */
static size_t notice_payload(uint8_t *buf, const char *reason)
{
	size_t n = strlen(reason);
	buf[0] = 1;
	buf[1] = 1;
	buf[2] = 5;
	memcpy(buf + 3, "relay", 5);
	memcpy(buf + 8, reason, n);
	return 8 + n;
}

/* alice (a listener of her own, so strangers can reach her node) opens a
 * channel through what she thinks is a relay: a socket of the test's,
 * which never answers.  Her message waits for the handshake. */
static const char alice_listening_yaml[] =
	"node: initiator\n"
	"status: true\n"
	"transports:\n"
	"  tcp: { listen: 127.0.0.1:0 }\n"
	"workers:\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route:\n"
	"        - tcp:127.0.0.1:%d\n"
	"        - forward_to_bob\n"
	"        - bob_listener\n"
	"      trust: everyone\n"
	"      handshake_timeout: 8s\n"
	"messages:\n"
	"  - route: [alice, echoer]\n"
	"    payload: for bob only\n"
	"    timeout: 8s\n";

/* A stranger who learned alice's decryptor (its name is in the
 * handshake's return route, in plaintext) forges "no relay named 'bob'"
 * notices to it over a connection of their own: they must not fail the
 * handshake nor the message waiting for it (before: the handshake
 * failed at once).  The same notice from the way the handshake went (the
 * relay's connection, played by the test) does fail both, at once. */
static void test_attack_forged_notice(void)
{
	integ_begin("relay_attack_forged_notice");
	int rport, aport;
	int lfd = hx_tcp_listen(4, &rport);
	CU_ASSERT_FATAL(lfd >= 0);
	const char *cfg = integ_write_config("alice.yaml", alice_listening_yaml,
					     rport);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	uint64_t t0 = now_ms();
	struct hx_proc *alice = integ_start_node("initiator", cfg, NULL, &aport);
	CU_ASSERT_PTR_NOT_NULL_FATAL(alice);
	CU_ASSERT_FATAL(got_connection(lfd, HX_READY_MS));
	int relay_fd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(relay_fd >= 0);
	char dec[80];
	CU_ASSERT_EQUAL_FATAL(read_frame_ret0(relay_fd, HX_READY_MS, dec, sizeof(dec)), 0);
	CU_ASSERT_NSTRING_EQUAL(dec, "sc_dec.", 7);

	uint8_t pl[128];
	size_t pn = notice_payload(pl, "no relay named 'bob'");
	int fd = hx_tcp_connect(aport);
	CU_ASSERT_FATAL(fd >= 0);
	char relay_addr[48];
	snprintf(relay_addr, sizeof(relay_addr), "tcp:127.0.0.1:%d", rport);
	/* As if from the relay's node; as if from behind the relay. */
	CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){dec, NULL},
				   (const char *const[]){"!undeliverable", NULL},
				   pl, pn),
			0);
	CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){dec, NULL},
				   (const char *const[]){relay_addr, "forward_to_bob",
							 "!undeliverable", NULL},
				   pl, pn),
			0);
	CU_ASSERT_EQUAL(send_frame(fd, (const char *const[]){dec, NULL},
				   (const char *const[]){"forward_to_bob", "bob_listener",
							 "!undeliverable", NULL},
				   pl, pn),
			0);
	/* Ignored, said once (rate-limited), and alice still waits. */
	CU_ASSERT_EQUAL(hx_wait_line(alice, HX_STDERR,
				     "alice: ignored a delivery-failure notice for handshake sc_dec.",
				     1, HX_READY_MS, NULL, 0),
			0);
	usleep(300 * 1000);
	CU_ASSERT(hx_running(alice));
	const char *log = hx_read(alice, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "ignored a delivery-failure notice"), 1);
	CU_ASSERT_EQUAL(integ_lines(log, "not delivered"), 0);
	CU_ASSERT_EQUAL(integ_lines(log, "secure channel lost"), 0);
	close(fd);
	/* Each one counted. */
	char to[48];
	struct hx_proc *st;
	snprintf(to, sizeof(to), "tcp:127.0.0.1:%d", aport);
	CU_ASSERT_EQUAL(integ_run_host("status-alice", (const char *const[]){
				"status", "--to", to, NULL}, NULL, &st),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(st, HX_STDOUT), "secure_channel",
				    "alice", "state=handshake", "notices_ignored=3"),
			1);

	/* The same notice from where the handshake went. */
	uint64_t t1 = now_ms();
	CU_ASSERT_EQUAL(send_frame(relay_fd, (const char *const[]){dec, NULL},
				   (const char *const[]){"!undeliverable", NULL},
				   pl, pn),
			0);
	CU_ASSERT_EQUAL(hx_wait_exit(alice, HX_EXIT_MS), 1);
	CU_ASSERT(now_ms() - t1 < 1000);
	CU_ASSERT(now_ms() - t0 < 8000); /* not the message's timeout */
	log = hx_read(alice, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "app: message to [alice, echoer] not delivered:",
				    "undeliverable at relay: no relay named 'bob'"),
			1);
	close(relay_fd);
	close(lfd);
}

/* Bad options are reported all at once with their positions. */
static void test_config_errors(void)
{
	integ_begin("relay_config_errors");
	const char *cfg = hx_write_file(H, "bad.yaml",
		"node: bad\n"
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  r:\n"
		"    type: relay\n"
		"    options: { at: [tcp:localhost:4000], name: b/b, keepalive: 10 }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *p;
	CU_ASSERT_EQUAL(integ_run_host("check", (const char *const[]){
				"--check", cfg, NULL}, NULL, &p),
			1);
	const char *err = hx_read(p, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(err, "bad.yaml:7:", "'name' must be 1 to 53 of"), 1);
	CU_ASSERT_EQUAL(integ_lines(err, "bad.yaml:7:", "'at' is the route to the relay service and ends at its address"), 1);
	CU_ASSERT_EQUAL(integ_lines(err, "bad.yaml:7:", "did you mean 10s?"), 1);
	cfg = hx_write_file(H, "bad2.yaml",
		"node: bad\n"
		"workers:\n"
		"  s:\n"
		"    type: relay_service\n"
		"    options: { trust: [nobody], max_registrations: 0 }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(integ_run_host("check2", (const char *const[]){
				"--check", cfg, NULL}, NULL, &p),
			1);
	err = hx_read(p, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(err, "bad2.yaml:5:", "'nobody' in 'trust' is not an identifier"), 1);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "relay_tutorial_08", test_tutorial_08 },
		{ "relay_config_errors", test_config_errors },
		{ "relay_route", test_register_and_route },
		{ "relay_unknown_name", test_unknown_name },
		{ "relay_secure_notice", test_secure_notice },
		{ "relay_notice_three_nodes", test_notice_three_nodes },
		{ "relay_notice_hop", test_notice_from_hop },
		{ "relay_restart", test_relay_restarts },
		{ "relay_registrant_gone", test_registrant_gone },
		{ "relay_name_clash", test_name_clash },
		{ "relay_same_identity", test_same_identity },
		{ "relay_trust_list", test_trust_list },
		{ "relay_attack_register", test_attack_stranger_registers },
		{ "relay_attack_hijack", test_attack_hijack },
		{ "relay_attack_limits", test_attack_limits },
		{ "relay_attack_open_relay", test_attack_open_relay },
		{ "relay_attack_forged_notice", test_attack_forged_notice },
		{ NULL, NULL },
	};
	return integ_run("integration", tests);
}
