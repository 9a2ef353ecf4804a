/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who can make a node open a connection (docs/security.md), tried as an
 * attacker would: a raw TCP client writing frames in the wire format of
 * docs/protocol.md to the tutorial's nodes, and an initiator whose YAML
 * route leaves the secure channel for a TCP address.  The "victim" is a
 * socket the test listens on: it must never see a connection.  Each
 * refusal is one log line however often it is tried, and the node keeps
 * serving the tutorial.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ_secure.h"

#define T04 "configs/04-routing-over-two-transport-hops-"
#define T05 "configs/05-secure-channel-over-two-transport-hops-"

/* How often each attack frame is sent: the refusal is logged once. */
#define TRIES 5

/* ---- the victim: a listening socket that counts connections -------- */

/* Non-blocking: victim_connections accepts until none is left. */
static int victim_open(int *port)
{
	int fd = hx_tcp_listen(16, port);

	if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Connections the victim has been sent so far (accepted and closed). */
static int victim_connections(int fd)
{
	int n = 0, c;

	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		close(c);
		n++;
	}
	return n;
}

/* ---- the attacker: raw frames (docs/protocol.md) -------------------- */

struct frame {
	uint8_t b[1024];
	size_t len;
};

static void put(struct frame *f, const void *p, size_t n)
{
	CU_ASSERT_FATAL(f->len + n <= sizeof(f->b));
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put_byte(struct frame *f, uint8_t v)
{
	put(f, &v, 1);
}

/* A route of "name" (local) and "tcp:host:port" items, all short enough
 * for one-byte varints. */
static void put_route(struct frame *f, const char *const *hops)
{
	size_t n = 0;

	while (hops[n])
		n++;
	put_byte(f, (uint8_t)n);
	for (size_t i = 0; i < n; i++) {
		int tcp = strncmp(hops[i], "tcp:", 4) == 0;
		const char *v = tcp ? hops[i] + 4 : hops[i];

		put_byte(f, tcp ? 1 : 0);
		put_byte(f, (uint8_t)strlen(v));
		put(f, v, strlen(v));
	}
}

/* One framed message: u32 length, version 1, onward, return, payload. */
static void frame_build(struct frame *f, const char *const *onward,
			const char *const *ret, const char *payload)
{
	f->len = 4;
	put_byte(f, 1);
	put_route(f, onward);
	put_route(f, ret);
	put_byte(f, (uint8_t)strlen(payload));
	put(f, payload, strlen(payload));
	uint32_t body = (uint32_t)(f->len - 4);
	f->b[0] = (uint8_t)(body >> 24);
	f->b[1] = (uint8_t)(body >> 16);
	f->b[2] = (uint8_t)(body >> 8);
	f->b[3] = (uint8_t)body;
}

/* hx_tcp_connect, and the node's name for the connection ("127.0.0.1:
 * <our port>") in `key`. */
static int raw_open(int port, char *key, size_t cap)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = hx_tcp_connect(port);

	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return -1;
	snprintf(key, cap, "127.0.0.1:%d", ntohs(a.sin_port));
	return fd;
}

/* Connect to the node on `port`, write `f` TRIES times, close, and wait
 * until the node has read it all: it logs the close after the last frame,
 * or, when `until` is given, a line containing it (a second close within
 * a second is only counted: tcp rate-limits those lines per cause).  1 if
 * the node saw the connection through, else 0. */
static int attack(struct hx_proc *node, int port, const struct frame *f,
		  const char *until)
{
	char key[64], closed[96];
	int fd = raw_open(port, key, sizeof(key)), ok = fd >= 0;

	for (int i = 0; ok && i < TRIES; i++)
		ok = write(fd, f->b, f->len) == (ssize_t)f->len;
	if (fd >= 0)
		close(fd);
	snprintf(closed, sizeof(closed), "connection from %s closed", key);
	return ok && hx_wait_line(node, HX_STDERR, until ? until : closed, 1,
				  HX_READY_MS, NULL, 0) == 0;
}

/* The 05 tutorial's initiator (with `env` pointing it at the middle and
 * the responder) gets its reply. */
static void tutorial_still_works(const char *prefix, const char *const env[])
{
	char path[256];

	snprintf(path, sizeof(path), "%sinitiator.yaml", prefix);
	struct hx_proc *i = hx_spawn_host(H, "initiator", integ_src(path), env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(i);
	CU_ASSERT_EQUAL(hx_wait_exit(i, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(i, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
}

/* The 04 or 05 tutorial's responder and middle (`prefix`), and a victim
 * the attacks name, "tcp:127.0.0.1:<its port>". */
struct relay {
	struct hx_proc *responder, *middle;
	struct integ_ports ports;
	char victim[64];
	int vport, vfd;
};

static void relay_begin(struct relay *r, const char *test, const char *prefix)
{
	integ_begin(test);
	r->vfd = victim_open(&r->vport);
	CU_ASSERT_FATAL(r->vfd >= 0);
	CU_ASSERT_EQUAL_FATAL(integ_start_pair(prefix, &r->responder,
					       &r->middle, &r->ports), 0);
	snprintf(r->victim, sizeof(r->victim), "tcp:127.0.0.1:%d", r->vport);
}

/* Still serving: the tutorial's run through the same nodes; the victim
 * was never dialled; both nodes exit 0 on SIGTERM. */
static void relay_end(struct relay *r, const char *prefix)
{
	tutorial_still_works(prefix, r->ports.env);
	CU_ASSERT_EQUAL(victim_connections(r->vfd), 0);
	CU_ASSERT_EQUAL(hx_stop(r->middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(r->responder, HX_EXIT_MS), 0);
	close(r->vfd);
}

/* Write <node>.yaml: alice, an initiator to bob_listener on `port`
 * (through the hop on `via` if not 0) trusting everyone, sends `payload`
 * to [alice, `victim`, echoer] and waits 10 s for its reply. */
static const char *sender_config(const char *node, int port, int via,
				 const char *victim, const char *payload)
{
	char messages[256];

	snprintf(messages, sizeof(messages),
		 "  - { route: [alice, %s, echoer], payload: %s, timeout: 10s }\n",
		 victim, payload);
	return integ_initiator_config(&(struct integ_initiator){
		.node = node, .port = port, .via = via,
		.options = "trust: everyone", .messages = messages });
}

/* ---- 1. open relay -------------------------------------------------- */

/* A stranger connects to the 05 responder (no hop worker) and asks it to
 * deliver [echoer] at a TCP address of the stranger's choosing.  The
 * node refuses with one line per cause and never dials; the tutorial
 * then runs as usual through it. */
static void test_open_relay_responder(void)
{
	struct relay r;
	struct frame f;
	char want[128];

	relay_begin(&r, "dial_relay_responder", T05);
	frame_build(&f, (const char *const[]){ r.victim, "echoer", NULL },
		    (const char *const[]){ "stranger", NULL }, "relay me");
	CU_ASSERT_FATAL(attack(r.responder, r.ports.responder, &f, NULL));

	const char *log = hx_read(r.responder, HX_STDERR);
	snprintf(want, sizeof(want), "to '%s': messages from the network go "
		 "only to local workers", r.victim);
	CU_ASSERT_EQUAL(integ_lines(log, "not relaying a message that "
				    "arrived over tcp", want), 1);
	CU_ASSERT_EQUAL(integ_count_problems(log, NULL), 1);
	CU_ASSERT_EQUAL(victim_connections(r.vfd), 0);

	/* Still serving: the tutorial's run through the same nodes. */
	relay_end(&r, T05);
}

/* The same against the middle node, both as the bare frame and through
 * its hop: the hop's `to:` names only the responder, so it forwards
 * over connections that are open and dials nothing else. */
static void test_open_relay_middle(void)
{
	struct relay r;
	struct frame f;
	char want[160];

	relay_begin(&r, "dial_relay_middle", T04);
	frame_build(&f, (const char *const[]){ r.victim, "echoer", NULL },
		    (const char *const[]){ "stranger", NULL }, "relay me");
	CU_ASSERT_FATAL(attack(r.middle, r.ports.middle, &f, NULL));
	frame_build(&f,
		    (const char *const[]){ "hop", r.victim, "echoer", NULL },
		    (const char *const[]){ "stranger", NULL }, "hop me");
	CU_ASSERT_FATAL(attack(r.middle, r.ports.middle, &f,
			       "not opening a connection to 127.0.0.1:"));

	const char *log = hx_read(r.middle, HX_STDERR);
	snprintf(want, sizeof(want), "to '%s': messages from the network go "
		 "only to local workers", r.victim);
	CU_ASSERT_EQUAL(integ_lines(log, "not relaying", want), 1);
	snprintf(want, sizeof(want), "not opening a connection to "
		 "127.0.0.1:%d for hop: it did not ask for one", r.vport);
	CU_ASSERT_EQUAL(integ_lines(log, want, "`to:`"), 1);
	CU_ASSERT_EQUAL(integ_count_problems(log, NULL), 2);
	CU_ASSERT_EQUAL(victim_connections(r.vfd), 0);

	/* The tutorial still runs through this middle, and the hop still
	 * dials the responder its `to:` names. */
	relay_end(&r, T04);
}

/* ---- 3. reach bypass -------------------------------------------------- */

/* An initiator (here: its YAML) sends [alice, tcp:<victim>, echoer]: out
 * of the channel at the 05 responder comes a message for a TCP address,
 * and bob_listener's `reach: [echoer]` does not list it.  Refused, one
 * line, no connection. */
static void test_reach_bypass(void)
{
	struct hx_proc *initiator;
	struct relay r;
	char want[160];

	relay_begin(&r, "dial_reach_bypass", T05);
	const char *cfg = sender_config("bypass", r.ports.responder,
					r.ports.middle, r.victim,
					"around the reach list");
	initiator = hx_spawn_host(H, "bypass", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(initiator);

	snprintf(want, sizeof(want), "'bob_listener' may not reach '%s' (no "
		 "pattern in its reach list matches)", r.victim);
	CU_ASSERT_EQUAL(hx_wait_line(r.responder, HX_STDERR, want, 1,
				     HX_READY_MS, NULL, 0), 0);
	CU_ASSERT_EQUAL(victim_connections(r.vfd), 0);
	/* Its reply never comes: stop it (how it exits is not ours). */
	CU_ASSERT_NOT_EQUAL(hx_stop(initiator, HX_EXIT_MS), HX_TIMEOUT);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(r.responder, HX_STDERR),
					     r.victim + 4), 1);

	relay_end(&r, T05);
}

/* What a listener's reach lets out of its channels to transport
 * addresses: nothing without a reach list (deny by default), and exactly
 * the addresses its patterns match with one. */
static void test_channel_to_transport(void)
{
	struct hx_proc *listener, *sender;
	char victim[64], want[200];
	int vport, vfd, lport;

	integ_begin("dial_channel_reach");
	vfd = victim_open(&vport);
	CU_ASSERT_FATAL(vfd >= 0);
	snprintf(victim, sizeof(victim), "tcp:127.0.0.1:%d", vport);

	/* No reach at all: still no transport address out of a channel. */
	listener = integ_start_listener("open", "trust: everyone", &lport);
	const char *cfg = sender_config("out", lport, 0, victim,
					"out of the channel");
	sender = hx_spawn_host(H, "out", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sender);
	snprintf(want, sizeof(want), "a message out of a secure channel of "
		 "'bob_listener' may not go to '%s'", victim);
	CU_ASSERT_EQUAL(hx_wait_line(listener, HX_STDERR, want, 1,
				     HX_READY_MS, NULL, 0), 0);
	CU_ASSERT_NOT_EQUAL(hx_stop(sender, HX_EXIT_MS), HX_TIMEOUT);
	CU_ASSERT_EQUAL(victim_connections(vfd), 0);
	CU_ASSERT_EQUAL(hx_stop(listener, HX_EXIT_MS), 0);

	/* A reach pattern that matches: the channel's message goes there
	 * (the victim gets the connection, which proves the test's frame
	 * would have reached it above). */
	const char *lcfg = integ_write_config("allowed.yaml",
		"node: allowed\n"
		"transports:\n"
		"  tcp: { listen: 127.0.0.1:0 }\n"
		"workers:\n"
		"  echoer: { type: echoer }\n"
		"  bob_listener:\n"
		"    type: secure_channel\n"
		"    reach: [echoer, 'tcp:127.0.0.1:*']\n"
		"    options: { role: listener, trust: everyone }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lcfg);
	listener = integ_start_node("allowed", lcfg, NULL, &lport);
	CU_ASSERT_PTR_NOT_NULL_FATAL(listener);
	cfg = sender_config("out", lport, 0, victim, "out of the channel");
	sender = hx_spawn_host(H, "out2", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sender);
	struct pollfd p = {.fd = vfd, .events = POLLIN};
	CU_ASSERT_EQUAL(poll(&p, 1, HX_READY_MS), 1);
	CU_ASSERT_EQUAL(victim_connections(vfd), 1);
	CU_ASSERT_NOT_EQUAL(hx_stop(sender, HX_EXIT_MS), HX_TIMEOUT);
	CU_ASSERT_EQUAL(hx_stop(listener, HX_EXIT_MS), 0);
	close(vfd);
}

/* A hop without `to:` on the sender's own node: the message is not sent,
 * the transport says why once, and the node's `messages:` learns at once
 * through the hop's delivery-failure notice (exit 1, no timeout). */
static void test_hop_without_to(void)
{
	struct hx_proc *p;
	char victim[64], want[200];
	int vport, vfd;

	integ_begin("dial_hop_without_to");
	vfd = victim_open(&vport);
	CU_ASSERT_FATAL(vfd >= 0);
	snprintf(victim, sizeof(victim), "tcp:127.0.0.1:%d", vport);
	const char *cfg = integ_write_config("hopper.yaml",
		"node: hopper\n"
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  hop: { type: hop }\n"
		"messages:\n"
		"  - route: [hop, %s, echoer]\n"
		"    payload: through my own hop\n"
		"    timeout: 60s\n",
		victim);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	p = hx_spawn_host(H, "hopper", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* Well before the 60 s timeout (the harness gives up after 15). */
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 1);
	const char *log = hx_read(p, HX_STDERR);
	snprintf(want, sizeof(want), "not opening a connection to "
		 "127.0.0.1:%d for hop", vport);
	CU_ASSERT_EQUAL(integ_lines(log, want), 1);
	snprintf(want, sizeof(want), "message to [hop, %s, echoer] not "
		 "delivered: hop 'hop': no connection open and 'to' does not "
		 "allow opening one", victim);
	CU_ASSERT_EQUAL(integ_lines(log, want), 1);
	CU_ASSERT_EQUAL(victim_connections(vfd), 0);
	close(vfd);
}

/* ---- configuration ---------------------------------------------------- */

struct bad_pattern {
	const char *yaml;
	const char *where; /* "file:line:col" suffix, e.g. ":6:12:" */
	const char *mentions;
};

/* Patterns in `reach:` and a hop's `to:` are checked at load, each error
 * at its position. */
static void test_bad_patterns(void)
{
	static const struct bad_pattern bad[] = {
		{ "node: a\ntransports:\n  tcp: {}\nworkers:\n"
		  "  e: { type: echoer, reach: ['tcp:10.0.0.*:4000'] }\n",
		  ":5:30: ", "'*' stands for a whole host" },
		{ "node: a\ntransports:\n  tcp: {}\nworkers:\n"
		  "  e: { type: echoer, reach: [echoer, 'tcp:127.0.0.1'] }\n",
		  ":5:38: ", "host:port" },
		{ "node: a\ntransports:\n  tcp: {}\nworkers:\n"
		  "  e: { type: echoer, reach: ['udp:127.0.0.1:4000'] }\n",
		  ":5:30: ", "unknown transport 'udp'" },
		{ "node: a\ntransports:\n  tcp: {}\nworkers:\n"
		  "  h: { type: hop, options: { to: ['tcp:*:70000'] } }\n",
		  ":5:35: ", "the port must be 1 to 65535 or *" },
		{ "node: a\ntransports:\n  tcp: {}\nworkers:\n"
		  "  h: { type: hop, options: { to: [echoer] } }\n",
		  ":5:35: ", "is a local address" },
		/* One pattern may be written without brackets; a map is
		 * no pattern. */
		{ "node: a\ntransports:\n  tcp: {}\nworkers:\n"
		  "  h: { type: hop, options: { to: { a: 1 } } }\n",
		  ":5:34: ", "to: expected a list of address patterns, got a map" },
	};

	integ_begin("dial_bad_patterns");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[32], want[512];
		struct hx_proc *p;

		snprintf(name, sizeof(name), "bad%zu.yaml", i);
		const char *path = hx_write_file(H, name, bad[i].yaml);
		CU_ASSERT_PTR_NOT_NULL_FATAL(path);
		CU_ASSERT_EQUAL(integ_run_host(name, (const char *const[]){
						       path, NULL },
					       NULL, &p),
				2);
		const char *err = hx_read(p, HX_STDERR);
		snprintf(want, sizeof(want), "%s%s", path, bad[i].where);
		CU_ASSERT(integ_contains(err, want));
		CU_ASSERT(integ_contains(err, bad[i].mentions));
		CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	}
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "open relay: the 05 responder", test_open_relay_responder },
		{ "open relay: the middle and its hop",
		  test_open_relay_middle },
		{ "reach bypass out of a channel", test_reach_bypass },
		{ "a channel's messages to transport addresses",
		  test_channel_to_transport },
		{ "a hop without to: on the sender's node", test_hop_without_to },
		{ "bad address patterns", test_bad_patterns },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
