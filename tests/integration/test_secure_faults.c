/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel under faults, with real ockam-host processes:
 *  - roaming: the middle node is killed and restarted on the same port
 *    while a pinger keeps sending through the channel; replies resume
 *    (tcp reconnects on the next send, the responder follows the new
 *    return route);
 *  - refusal notice: a responder that does not trust the initiator tells
 *    it so; the initiator logs it at once, gives up, and later sends fail
 *    with ENOTCONN (one log line);
 *  - idle_timeout closes a responder channel, and tells the initiator;
 *    a channel in use next to it stays open (one sweep timer serves both);
 *  - an initiator killed mid-handshake (its message 3 dropped by a tamper
 *    middle node): the half-open handshake is freed at its timeout and the
 *    listener keeps serving;
 *  - a flood of 50 initiators against max_handshakes 2: refusals logged on
 *    both sides, then a well-behaved initiator succeeds;
 *  - re-handshake: an initiator started before its responder retries with
 *    backoff, keeps its message queued, and gets the reply.
 * Every long-running node must exit 0 on SIGTERM (under ASan this
 * includes LeakSanitizer).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ_secure.h"

/* The middle's hop: it may connect to the responder (on loopback). */
#define HOP "{ type: hop, options: { to: ['tcp:localhost:*', 'tcp:127.0.0.1:*'] } }"

/* Start node middle on `port` (0: ephemeral) with worker `hop` (its YAML
 * flow map, e.g. "{ type: hop }"); *port_out gets its port. */
static struct hx_proc *start_middle(int port, const char *hop, int *port_out)
{
	const char *cfg = integ_write_config("middle.yaml",
					     "node: middle\n"
					     "transports:\n"
					     "  tcp: { listen: 127.0.0.1:%d }\n"
					     "workers:\n"
					     "  hop: %s\n",
					     port, hop);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *p = integ_start_node("middle", cfg, NULL, port_out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* Start node `node`, whose alice sends "hello" straight to the responder
 * on `port` and then does `after` (run or exit). */
static struct hx_proc *spawn_hello(const char *node, int port,
				   const char *after)
{
	const char *cfg = integ_initiator_config(&(struct integ_initiator){
		.node = node, .port = port, .options = "trust: everyone",
		.payload = "hello", .timeout = "10s", .after = after });
	struct hx_proc *p = hx_spawn_host(H, node, cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* `ockam-host ping` of alice's far echoer, from the node in `cfg`. */
static struct hx_proc *spawn_ping(const char *cfg, const char *count,
				  const char *interval, const char *wait)
{
	const char *const argv[] = { hx_host_path(), "ping", "-v", "-c", count,
				     "-i", interval, "-W", wait, "--config",
				     cfg, "alice,echoer", NULL };
	struct hx_proc *p = hx_spawn(H, "pinger", argv, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

static void test_roaming(void)
{
	struct hx_proc *responder, *middle, *pinger;
	int r, m, m2;

	integ_begin("secure_roaming");
	responder = integ_start_listener("responder", "trust: everyone", &r);
	middle = start_middle(0, HOP, &m);
	pinger = spawn_ping(integ_initiator_config(&(struct integ_initiator){
				    .node = "pinger", .port = r, .via = m,
				    .options = "trust: everyone" }),
			    "40", "150ms", "2s");
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(pinger, HX_STDOUT, "seq=3 ", 1,
					   HX_READY_MS, NULL, 0),
			      0);

	/* The middle dies (its connections with it) and comes back on the
	 * same port: new connections, new ephemeral ports. */
	CU_ASSERT_EQUAL(kill(hx_pid(middle), SIGKILL), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(middle, HX_EXIT_MS), 128 + SIGKILL);
	middle = start_middle(m, HOP, &m2);
	CU_ASSERT_EQUAL(m2, m);

	/* The last messages get replies through the same channel. */
	CU_ASSERT_EQUAL(hx_wait_line(pinger, HX_STDOUT, "seq=40 ", 1,
				     HX_READY_MS, NULL, 0),
			0);
	hx_wait_exit(pinger, HX_EXIT_MS);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(rlog, "secure channel open"), 1);
	CU_ASSERT(integ_lines(rlog, "bob_listener: secure channel I",
			      "peer route is now [tcp:127.0.0.1:",
			      "hop, tcp:127.0.0.1:") >= 1);
	CU_ASSERT_EQUAL(integ_lines(hx_read(pinger, HX_STDERR),
				    "secure channel open"), 1);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

static void test_refusal_notice(void)
{
	struct hx_proc *responder, *pinger;
	int r;

	integ_begin("secure_refusal");
	responder = integ_start_listener(
		"responder", "trust: [I00000000000000000000000000000000]", &r);
	/* Ping 1 goes out with the handshake; pings 2 and 3 come after the
	 * refusal.  The handshake timeout (30 s) is never waited for. */
	pinger = spawn_ping(integ_initiator_config(&(struct integ_initiator){
				    .node = "pinger", .port = r,
				    .options = "trust: everyone" }),
			    "3", "500ms", "1s");
	CU_ASSERT_EQUAL(hx_wait_line(pinger, HX_STDERR,
				     "alice: peer refused the channel: not trusted",
				     1, 3000, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_wait_exit(pinger, 5000), 1);
	const char *log = hx_read(pinger, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "not re-handshaking"), 1);
	CU_ASSERT_EQUAL(integ_lines(log, "messages to alice fail with ENOTCONN"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "re-handshaking in"), 0);
	CU_ASSERT(strstr(hx_read(pinger, HX_STDOUT),
			 "3 sent, 0 received") != NULL);
	CU_ASSERT_EQUAL(integ_lines(hx_read(responder, HX_STDERR),
				    "refusing peer I"), 1);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

static void test_idle_timeout(void)
{
	struct hx_proc *responder, *init;
	int r;

	integ_begin("secure_idle");
	responder = integ_start_listener(
		"responder", "trust: everyone, idle_timeout: 700ms", &r);
	init = spawn_hello("init", r, "run");
	CU_ASSERT_EQUAL(hx_wait_line(init, HX_STDOUT, "App Received: hello", 1,
				     HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR,
				     " ms (idle_timeout)", 1, HX_READY_MS,
				     NULL, 0),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(responder, HX_STDERR),
				    "bob_listener: secure channel I",
				    "closed: no authenticated message for"),
			1);
	CU_ASSERT_EQUAL(hx_wait_line(init, HX_STDERR,
				     "alice: peer closed the channel: idle timeout",
				     1, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_wait_line(init, HX_STDERR,
				     "a new handshake starts with the next message",
				     1, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_stop(init, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* Two channels at one listener: the idle one is closed on time while the
 * other, used every 150 ms, outlives several idle_timeouts; once its user
 * stops, it is closed too. */
static void test_idle_next_to_busy(void)
{
	struct hx_proc *responder, *idle, *busy;
	int r;

	integ_begin("secure_idle_busy");
	responder = integ_start_listener(
		"responder", "trust: everyone, idle_timeout: 600ms", &r);
	idle = spawn_hello("idle", r, "run");
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(idle, HX_STDOUT,
					   "App Received: hello", 1,
					   HX_READY_MS, NULL, 0),
			      0);
	busy = spawn_ping(integ_initiator_config(&(struct integ_initiator){
				  .node = "busy", .port = r,
				  .options = "trust: everyone" }),
			  "16", "150ms", "2s");

	/* The idle channel goes while the busy one is in use... */
	CU_ASSERT_EQUAL(hx_wait_line(idle, HX_STDERR,
				     "alice: peer closed the channel: idle timeout",
				     1, HX_READY_MS, NULL, 0),
			0);
	/* ...which gets every reply, ~2.4 s: four idle_timeouts. */
	CU_ASSERT_EQUAL(hx_wait_line(busy, HX_STDOUT, "16 sent, 16 received",
				     1, HX_READY_MS, NULL, 0),
			0);
	hx_wait_exit(busy, HX_EXIT_MS);
	CU_ASSERT_EQUAL(integ_lines(hx_read(busy, HX_STDERR),
				    "peer closed the channel"),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(responder, HX_STDERR),
				    "bob_listener: secure channel I",
				    "closed: no authenticated message for"),
			1);
	/* Unused now: closed in its turn. */
	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR,
				     " ms (idle_timeout)", 2, HX_READY_MS,
				     NULL, 0),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(responder, HX_STDERR),
				    "bob_listener: secure channel I",
				    "closed: no authenticated message for"),
			2);
	CU_ASSERT_EQUAL(hx_stop(idle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

static void test_killed_mid_handshake(void)
{
	struct hx_proc *responder, *middle, *init, *second;
	int r, m;

	integ_begin("secure_mid_handshake");
	responder = integ_start_listener(
		"responder", "trust: everyone, handshake_timeout: 1s", &r);
	/* The middle drops message 3 (HS3): the responder stays half-open. */
	middle = start_middle(0, "{ type: tamper, options: { drop: 3 } }", &m);
	const char *pcfg = integ_initiator_config(&(struct integ_initiator){
		.node = "pinger", .port = r, .via = m,
		.options = "trust: everyone" });
	init = hx_spawn_host(H, "victim", pcfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(init);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(middle, HX_STDERR,
					   "tamper: dropped message 3", 1,
					   HX_READY_MS, NULL, 0),
			      0);
	/* Killed mid-handshake: no goodbye of any kind. */
	CU_ASSERT_EQUAL(kill(hx_pid(init), SIGKILL), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 128 + SIGKILL);

	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR,
				     "timed out after 1000 ms", 1, HX_READY_MS,
				     NULL, 0),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(responder, HX_STDERR),
				    "responder handshake sc_dec.", "timed out"),
			1);
	/* The listener still serves. */
	second = spawn_hello("second", r, "exit");
	CU_ASSERT_EQUAL(hx_wait_exit(second, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(second, HX_STDOUT),
			       "App Received: hello\n");
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* The responder is down when the initiator starts: the first handshake
 * fails at once (tcp's delivery-failure notice says the connection was
 * refused; later ones may also time out), it is retried with backoff, the
 * message waits in the queue, and once the responder is up the channel
 * opens and the reply comes. */
static void test_rehandshake(void)
{
	struct hx_proc *responder, *init;
	int r, r2;

	integ_begin("secure_rehandshake");
	responder = integ_start_listener("responder", "trust: everyone", &r);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);

	const char *cfg = integ_initiator_config(&(struct integ_initiator){
		.node = "init", .port = r,
		.options = "trust: everyone, handshake_timeout: 300ms, "
			   "rehandshake_backoff: 100ms, "
			   "rehandshake_backoff_max: 200ms",
		.payload = "hello", .timeout = "20s" });
	init = hx_spawn_host(H, "init", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(init);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(init, HX_STDERR,
					   "alice: secure channel lost (handshake message not delivered: cannot connect to localhost:",
					   1, HX_READY_MS, NULL, 0),
			      0);
	cfg = integ_listener_config("responder", r, "trust: everyone");
	responder = integ_start_node("responder", cfg, NULL, &r2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	CU_ASSERT_EQUAL(r2, r);

	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(init, HX_STDOUT),
			       "App Received: hello\n");
	const char *log = hx_read(init, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "re-handshaking in"), 1);
	/* One line per 10 s at most, however many attempts failed. */
	CU_ASSERT(integ_lines(log, "still no secure channel") <= 1);
	CU_ASSERT_EQUAL(integ_lines(log, "secure channel open"), 1);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

#define FLOOD 50

static void test_handshake_flood(void)
{
	static char text[32768];
	struct hx_proc *responder, *flood, *good;
	int r;

	integ_begin("secure_flood");
	responder = integ_start_listener(
		"responder", "trust: everyone, max_handshakes: 2", &r);

	/* One node, 50 initiators starting at once, no re-handshake. */
	size_t off = (size_t)snprintf(text, sizeof(text),
				      "node: flood\ntransports:\n  tcp: {}\nworkers:\n");
	for (int i = 0; i < FLOOD; i++)
		off += (size_t)snprintf(
			text + off, sizeof(text) - off,
			"  a%d:\n"
			"    type: secure_channel\n"
			"    options: { role: initiator, trust: everyone, rehandshake: false,\n"
			"               route: [tcp:localhost:%d, bob_listener] }\n",
			i, r);
	CU_ASSERT_FATAL(off < sizeof(text));
	const char *cfg = hx_write_file(H, "flood.yaml", text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	flood = integ_start_node("flood", cfg, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(flood);
	/* The listener reads the 50 message 1s in one batch: two get a
	 * handshake, the rest a BUSY notice. */
	CU_ASSERT_EQUAL(hx_wait_line(flood, HX_STDERR, "secure channel open",
				     2, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_wait_line(flood, HX_STDERR,
				     "peer refused the channel: too many handshakes or channels",
				     FLOOD / 2, HX_READY_MS, NULL, 0),
			0);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT(integ_lines(rlog, "too many handshakes in progress (max_handshakes 2): new one refused") >= 1);
	CU_ASSERT(integ_count_problems(rlog, NULL) <= 3); /* rate-limited */

	/* A well-behaved initiator gets through afterwards. */
	good = spawn_hello("good", r, "exit");
	CU_ASSERT_EQUAL(hx_wait_exit(good, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(good, HX_STDOUT),
			       "App Received: hello\n");
	CU_ASSERT_EQUAL(hx_stop(flood, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* Three initiators against max_channels 2 (channel ends, open or
 * half-open): the third gets a BUSY notice and, with rehandshake: false,
 * gives up; the first two channels are not disturbed. */
static void test_max_channels(void)
{
	struct hx_proc *responder, *a, *b, *c;
	int r;

	integ_begin("secure_max_channels");
	responder = integ_start_listener(
		"responder", "trust: everyone, max_channels: 2, idle_timeout: 600s",
		&r);
	const char *cfg = integ_initiator_config(&(struct integ_initiator){
		.node = "pinger", .port = r,
		.options = "trust: everyone, rehandshake: false" });
	/* Long enough (6 s) to still be pinging when the third is refused. */
	a = spawn_ping(cfg, "60", "100ms", "2s");
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(a, HX_STDOUT, "seq=1 ", 1,
					   HX_READY_MS, NULL, 0),
			      0);
	b = spawn_ping(cfg, "60", "100ms", "2s");
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(b, HX_STDOUT, "seq=1 ", 1,
					   HX_READY_MS, NULL, 0),
			      0);

	c = spawn_ping(cfg, "1", "100ms", "1s");
	CU_ASSERT_EQUAL(hx_wait_exit(c, HX_EXIT_MS), 1);
	const char *clog = hx_read(c, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(clog, "alice: peer refused the channel: too many handshakes or channels"),
			1);
	CU_ASSERT_EQUAL(integ_lines(clog, "not re-handshaking"), 1);
	CU_ASSERT_EQUAL(integ_lines(clog, "secure channel open"), 0);
	CU_ASSERT(integ_contains(hx_read(c, HX_STDOUT), "1 sent, 0 received"));

	/* The first two are still pinging, and every ping got its reply. */
	CU_ASSERT(hx_running(a));
	CU_ASSERT(hx_running(b));
	CU_ASSERT_EQUAL(hx_wait_exit(a, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(b, HX_EXIT_MS), 0);
	CU_ASSERT(integ_contains(hx_read(a, HX_STDOUT), "60 sent, 60 received"));
	CU_ASSERT(integ_contains(hx_read(b, HX_STDOUT), "60 sent, 60 received"));

	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(rlog, "too many secure channels (max_channels 2): new one refused"),
			1);
	CU_ASSERT_EQUAL(integ_lines(rlog, "secure channel open"), 2);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* Initiator and listener on different Noise suites: message 1 carries no
 * ciphertext, so the listener cannot tell; the initiator's decrypt of
 * message 2 fails.  It sends no notice (nothing authentic to say), gives
 * up (rehandshake: false), and the listener frees its half-open end at
 * handshake_timeout.  Nothing reaches the echoer. */
static void test_suite_mismatch(void)
{
	struct hx_proc *responder, *init;
	int r;

	integ_begin("secure_suite_mismatch");
	responder = integ_start_listener(
		"responder", "trust: everyone, handshake_timeout: 1s", &r);
	const char *cfg = integ_initiator_config(&(struct integ_initiator){
		.node = "init", .port = r,
		.options = "trust: everyone, "
			   "suite: Noise_XX_25519_ChaChaPoly_SHA256, "
			   "rehandshake: false",
		.payload = "hello", .timeout = "60s", .after = "exit" });
	/* The queued message fails as soon as the handshake does, not at its
	 * 60 s timeout (hx_wait_exit would kill the node first). */
	init = hx_spawn_host(H, "init", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(init);
	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(init, HX_STDOUT), "");
	const char *log = hx_read(init, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "alice: handshake failed: bad message 2 (corrupted, or the peer uses another suite than Noise_XX_25519_ChaChaPoly_SHA256)"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "secure channel closed (handshake failed): not re-handshaking"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "alice: dropping 1 queued message(s): handshake failed"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "app: message to [alice, echoer] not delivered: no secure channel alice (handshake failed)"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "secure channel open"), 0);

	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR,
				     "timed out after 1000 ms", 1, HX_READY_MS,
				     NULL, 0),
			0);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(rlog, "bob_listener: responder handshake sc_dec.",
				    "timed out after 1000 ms"),
			1);
	CU_ASSERT_EQUAL(integ_lines(rlog, "secure channel open"), 0);
	CU_ASSERT_EQUAL(integ_lines(rlog, "echoer: received"), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "secure_roaming", test_roaming },
		{ "secure_refusal_notice", test_refusal_notice },
		{ "secure_idle_timeout", test_idle_timeout },
		{ "secure_idle_next_to_busy", test_idle_next_to_busy },
		{ "secure_killed_mid_handshake", test_killed_mid_handshake },
		{ "secure_handshake_flood", test_handshake_flood },
		{ "secure_rehandshake", test_rehandshake },
		{ "secure_max_channels", test_max_channels },
		{ "secure_suite_mismatch", test_suite_mismatch },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
