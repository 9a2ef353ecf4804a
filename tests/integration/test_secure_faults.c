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

#include "integ.h"

/* Options of the responder's listener go in %s. */
static const char responder_fmt[] =
	"node: responder\n"
	"transports:\n"
	"  tcp: { listen: 127.0.0.1:0 }\n"
	"workers:\n"
	"  echoer: { type: echoer }\n"
	"  bob_listener:\n"
	"    type: secure_channel\n"
	"    options: { role: listener, %s }\n";

static const char middle_fmt[] =
	"node: middle\n"
	"transports:\n"
	"  tcp: { listen: 127.0.0.1:%d }\n"
	"workers:\n"
	"  hop: { type: %s }\n";

/* An initiator through the middle (port %d, then the responder's). */
static const char pinger_fmt[] =
	"node: pinger\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route: [tcp:localhost:%d, hop, tcp:localhost:%d, bob_listener]\n"
	"      trust: everyone\n";

/* One message to the responder's echoer, straight over tcp. */
static const char initiator_fmt[] =
	"node: %s\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route: [tcp:localhost:%d, bob_listener]\n"
	"      trust: everyone\n"
	"messages:\n"
	"  - { route: [alice, echoer], payload: hello, reply: true, timeout: 10s }\n"
	"after_messages: %s\n";

/* An initiator straight to the responder, for `ockam-host ping`. */
static const char direct_pinger_fmt[] =
	"node: busy\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route: [tcp:localhost:%d, bob_listener]\n"
	"      trust: everyone\n";

static struct hx_proc *start_responder(const char *options, int *port)
{
	const char *cfg = integ_write_config("responder.yaml", responder_fmt, options);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	return integ_start_node("responder", cfg, NULL, port);
}

static struct hx_proc *spawn_ping(const char *cfg, const char *count,
				  const char *interval, const char *wait)
{
	const char *const argv[] = { hx_host_path(), "ping", "-v", "-c", count,
				     "-i", interval, "-W", wait, "--config",
				     cfg, "alice,echoer", NULL };
	return hx_spawn(H, "pinger", argv, NULL);
}

static void test_roaming(void)
{
	struct hx_proc *responder, *middle, *pinger;
	char text[256];
	int r, m, m2;

	H = hx_begin("secure_roaming");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = start_responder("trust: everyone", &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	const char *mcfg = integ_write_config("middle.yaml", middle_fmt, 0, "hop");
	middle = integ_start_node("middle", mcfg, NULL, &m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);
	const char *pcfg = integ_write_config("pinger.yaml", pinger_fmt, m, r);
	pinger = spawn_ping(pcfg, "40", "150ms", "2s");
	CU_ASSERT_PTR_NOT_NULL_FATAL(pinger);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(pinger, HX_STDOUT, "seq=3 ", 1,
					   HX_READY_MS, NULL, 0),
			      0);

	/* The middle dies (its connections with it) and comes back on the
	 * same port: new connections, new ephemeral ports. */
	CU_ASSERT_EQUAL(kill(hx_pid(middle), SIGKILL), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(middle, HX_EXIT_MS), 128 + SIGKILL);
	mcfg = integ_write_config("middle2.yaml", middle_fmt, m, "hop");
	middle = integ_start_node("middle", mcfg, NULL, &m2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);
	CU_ASSERT_EQUAL(m2, m);

	/* The last messages get replies through the same channel. */
	CU_ASSERT_EQUAL(hx_wait_line(pinger, HX_STDOUT, "seq=40 ", 1,
				     HX_READY_MS, NULL, 0),
			0);
	hx_wait_exit(pinger, HX_EXIT_MS);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
						     "secure channel open", NULL }),
			1);
	CU_ASSERT(hx_count_lines(rlog, (const char *const[]){
						"bob_listener: secure channel I",
						"peer route is now [tcp:127.0.0.1:",
						"hop, tcp:127.0.0.1:", NULL }) >= 1);
	snprintf(text, sizeof(text), "secure channel open");
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(pinger, HX_STDERR),
				       (const char *const[]){ text, NULL }),
			1);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

static void test_refusal_notice(void)
{
	struct hx_proc *responder, *pinger;
	int r;

	H = hx_begin("secure_refusal");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = start_responder(
		"trust: [I00000000000000000000000000000000]", &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	const char *cfg = integ_write_config("init.yaml",
				       "node: pinger\n"
				       "transports:\n"
				       "  tcp: {}\n"
				       "workers:\n"
				       "  alice:\n"
				       "    type: secure_channel\n"
				       "    options:\n"
				       "      role: initiator\n"
				       "      route: [tcp:localhost:%d, bob_listener]\n"
				       "      trust: everyone\n",
				       r);
	/* Ping 1 goes out with the handshake; pings 2 and 3 come after the
	 * refusal.  The handshake timeout (30 s) is never waited for. */
	pinger = spawn_ping(cfg, "3", "500ms", "1s");
	CU_ASSERT_PTR_NOT_NULL_FATAL(pinger);
	CU_ASSERT_EQUAL(hx_wait_line(pinger, HX_STDERR,
				     "alice: peer refused the channel: not trusted",
				     1, 3000, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_wait_exit(pinger, 5000), 1);
	const char *log = hx_read(pinger, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "not re-handshaking", NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "messages to alice fail with ENOTCONN",
						   NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "re-handshaking in", NULL }),
			0);
	CU_ASSERT(strstr(hx_read(pinger, HX_STDOUT),
			 "3 sent, 0 received") != NULL);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(responder, HX_STDERR),
				       (const char *const[]){
					       "refusing peer I", NULL }),
			1);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

static void test_idle_timeout(void)
{
	struct hx_proc *responder, *init;
	int r;

	H = hx_begin("secure_idle");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = start_responder("trust: everyone, idle_timeout: 700ms",
				    &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	const char *cfg = integ_write_config("init.yaml", initiator_fmt, "init", r,
				       "run");
	init = hx_spawn_host(H, "init", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(init);
	CU_ASSERT_EQUAL(hx_wait_line(init, HX_STDOUT, "App Received: hello", 1,
				     HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR,
				     " ms (idle_timeout)", 1, HX_READY_MS,
				     NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(responder, HX_STDERR),
				       (const char *const[]){
					       "bob_listener: secure channel I",
					       "closed: no authenticated message for",
					       NULL }),
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
	const char *const closed[] = { "bob_listener: secure channel I",
				       "closed: no authenticated message for",
				       NULL };
	int r;

	H = hx_begin("secure_idle_busy");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = start_responder("trust: everyone, idle_timeout: 600ms",
				    &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	const char *cfg = integ_write_config("idle.yaml", initiator_fmt, "idle",
					     r, "run");
	idle = hx_spawn_host(H, "idle", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(idle);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(idle, HX_STDOUT,
					   "App Received: hello", 1,
					   HX_READY_MS, NULL, 0),
			      0);
	cfg = integ_write_config("busy.yaml", direct_pinger_fmt, r);
	busy = spawn_ping(cfg, "16", "150ms", "2s");
	CU_ASSERT_PTR_NOT_NULL_FATAL(busy);

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
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(busy, HX_STDERR),
				       (const char *const[]){
					       "peer closed the channel", NULL }),
			0);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(responder, HX_STDERR), closed),
			1);
	/* Unused now: closed in its turn. */
	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR,
				     " ms (idle_timeout)", 2, HX_READY_MS,
				     NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(responder, HX_STDERR), closed),
			2);
	CU_ASSERT_EQUAL(hx_stop(idle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

static void test_killed_mid_handshake(void)
{
	struct hx_proc *responder, *middle, *init, *second;
	int r, m;

	H = hx_begin("secure_mid_handshake");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = start_responder("trust: everyone, handshake_timeout: 1s",
				    &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	/* The middle drops message 3 (HS3): the responder stays half-open. */
	const char *mcfg = integ_write_config("middle.yaml",
					"node: middle\n"
					"transports:\n"
					"  tcp: { listen: 127.0.0.1:0 }\n"
					"workers:\n"
					"  hop:\n"
					"    type: tamper\n"
					"    options: { drop: 3 }\n");
	middle = integ_start_node("middle", mcfg, NULL, &m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);
	const char *pcfg = integ_write_config("pinger.yaml", pinger_fmt, m, r);
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
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(responder, HX_STDERR),
				       (const char *const[]){
					       "responder handshake sc_dec.",
					       "timed out", NULL }),
			1);
	/* The listener still serves. */
	const char *cfg = integ_write_config("second.yaml", initiator_fmt, "second",
				       r, "exit");
	second = hx_spawn_host(H, "second", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(second);
	CU_ASSERT_EQUAL(hx_wait_exit(second, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(second, HX_STDOUT),
			       "App Received: hello\n");
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* The responder is down when the initiator starts: handshakes time out
 * and are retried with backoff, the message waits in the queue, and once
 * the responder is up the channel opens and the reply comes. */
static void test_rehandshake(void)
{
	struct hx_proc *responder, *init;
	int r, r2;

	H = hx_begin("secure_rehandshake");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = start_responder("trust: everyone", &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);

	const char *cfg = integ_write_config(
		"init.yaml",
		"node: init\n"
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  alice:\n"
		"    type: secure_channel\n"
		"    options:\n"
		"      role: initiator\n"
		"      route: [tcp:localhost:%d, bob_listener]\n"
		"      trust: everyone\n"
		"      handshake_timeout: 300ms\n"
		"      rehandshake_backoff: 100ms\n"
		"      rehandshake_backoff_max: 200ms\n"
		"messages:\n"
		"  - { route: [alice, echoer], payload: hello, reply: true, timeout: 20s }\n",
		r);
	init = hx_spawn_host(H, "init", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(init);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(init, HX_STDERR,
					   "alice: secure channel lost (handshake timed out): re-handshaking in",
					   1, HX_READY_MS, NULL, 0),
			      0);
	char text[512];
	snprintf(text, sizeof(text),
		 "node: responder\n"
		 "transports:\n"
		 "  tcp: { listen: 127.0.0.1:%d }\n"
		 "workers:\n"
		 "  echoer: { type: echoer }\n"
		 "  bob_listener:\n"
		 "    type: secure_channel\n"
		 "    options: { role: listener, trust: everyone }\n",
		 r);
	cfg = hx_write_file(H, "responder2.yaml", text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	responder = integ_start_node("responder", cfg, NULL, &r2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	CU_ASSERT_EQUAL(r2, r);

	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(init, HX_STDOUT),
			       "App Received: hello\n");
	const char *log = hx_read(init, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "re-handshaking in", NULL }),
			1);
	/* One line per 10 s at most, however many attempts failed. */
	CU_ASSERT(hx_count_lines(log, (const char *const[]){
					     "still no secure channel", NULL }) <= 1);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "timed out after", NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "secure channel open", NULL }),
			1);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

#define FLOOD 50

static void test_handshake_flood(void)
{
	static char text[32768];
	struct hx_proc *responder, *flood, *good;
	int r;

	H = hx_begin("secure_flood");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = start_responder("trust: everyone, max_handshakes: 2", &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);

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
	CU_ASSERT(hx_count_lines(rlog, (const char *const[]){
					       "too many handshakes in progress (max_handshakes 2): new one refused",
					       NULL }) >= 1);
	CU_ASSERT(integ_count_problems(rlog, NULL) <= 3); /* rate-limited */

	/* A well-behaved initiator gets through afterwards. */
	cfg = integ_write_config("good.yaml", initiator_fmt, "good", r, "exit");
	good = hx_spawn_host(H, "good", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
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

	H = hx_begin("secure_max_channels");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = start_responder(
		"trust: everyone, max_channels: 2, idle_timeout: 600s", &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	const char *cfg = integ_write_config(
		"init.yaml",
		"node: pinger\n"
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  alice:\n"
		"    type: secure_channel\n"
		"    options: { role: initiator, trust: everyone, rehandshake: false,\n"
		"               route: [tcp:localhost:%d, bob_listener] }\n",
		r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	/* Long enough (6 s) to still be pinging when the third is refused. */
	a = spawn_ping(cfg, "60", "100ms", "2s");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(a, HX_STDOUT, "seq=1 ", 1,
					   HX_READY_MS, NULL, 0),
			      0);
	b = spawn_ping(cfg, "60", "100ms", "2s");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(b, HX_STDOUT, "seq=1 ", 1,
					   HX_READY_MS, NULL, 0),
			      0);

	c = spawn_ping(cfg, "1", "100ms", "1s");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(hx_wait_exit(c, HX_EXIT_MS), 1);
	const char *clog = hx_read(c, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(clog, (const char *const[]){
						   "alice: peer refused the channel: too many handshakes or channels",
						   NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(clog, (const char *const[]){
						   "not re-handshaking", NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(clog, (const char *const[]){
						   "secure channel open", NULL }),
			0);
	CU_ASSERT(integ_contains(hx_read(c, HX_STDOUT), "1 sent, 0 received"));

	/* The first two are still pinging, and every ping got its reply. */
	CU_ASSERT(hx_running(a));
	CU_ASSERT(hx_running(b));
	CU_ASSERT_EQUAL(hx_wait_exit(a, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(b, HX_EXIT_MS), 0);
	CU_ASSERT(integ_contains(hx_read(a, HX_STDOUT), "60 sent, 60 received"));
	CU_ASSERT(integ_contains(hx_read(b, HX_STDOUT), "60 sent, 60 received"));

	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
						   "too many secure channels (max_channels 2): new one refused",
						   NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
						   "secure channel open", NULL }),
			2);
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

	H = hx_begin("secure_suite_mismatch");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = start_responder("trust: everyone, handshake_timeout: 1s",
				    &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	const char *cfg = integ_write_config(
		"init.yaml",
		"node: init\n"
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  alice:\n"
		"    type: secure_channel\n"
		"    options:\n"
		"      role: initiator\n"
		"      route: [tcp:localhost:%d, bob_listener]\n"
		"      trust: everyone\n"
		"      suite: Noise_XX_25519_ChaChaPoly_SHA256\n"
		"      rehandshake: false\n"
		"messages:\n"
		"  - { route: [alice, echoer], payload: hello, reply: true, timeout: 2s }\n"
		"after_messages: exit\n",
		r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	init = hx_spawn_host(H, "init", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(init);
	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(init, HX_STDOUT), "");
	const char *log = hx_read(init, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "alice: handshake failed: bad message 2 (corrupted, or the peer uses another suite than Noise_XX_25519_ChaChaPoly_SHA256)",
						   NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "secure channel closed (handshake failed): not re-handshaking",
						   NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "alice: dropping 1 queued message(s): handshake failed",
						   NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "app: no reply from [alice, echoer] within 2000 ms",
						   NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						   "secure channel open", NULL }),
			0);

	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR,
				     "timed out after 1000 ms", 1, HX_READY_MS,
				     NULL, 0),
			0);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
						   "bob_listener: responder handshake sc_dec.",
						   "timed out after 1000 ms", NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
						   "secure channel open", NULL }),
			0);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
						   "echoer: received", NULL }),
			0);
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
