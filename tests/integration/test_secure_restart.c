/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A secure channel survives its responder's restart (issue #19, attack 5;
 * Ockam's #522), with real ockam-host processes:
 *  - the 05 trio (and the 06 X3DH trio) with `ockam-host ping` through
 *    the channel: the responder is killed and started again on the same
 *    port; only pings sent while it was down are lost, every later one
 *    gets its reply, and the new responder stops logging messages for a
 *    decryptor it never had;
 *  - the same with a restart quicker than dead_peer_timeout: the stale
 *    messages the new responder logs stop after the re-handshake;
 *  - one-way traffic (an echoer that never answers): the responder's
 *    keepalives keep a live channel from being re-handshaken, and their
 *    absence tells the initiator when the responder dies;
 *  - a forged CLOSE notice ("not trusted") sent over tcp to a working
 *    channel's decryptor costs one handshake, never the channel;
 *  - messages beyond queue_limit while the initiator re-handshakes are
 *    reported undelivered (ping prints "not delivered") with one log line.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ_secure.h"

#define PREFIX_05 "configs/05-secure-channel-over-two-transport-hops-"
#define PREFIX_06 "configs/06-secure-channel-x3dh-over-two-transport-hops-"

/* Short timers: a restart is noticed within 0.5 s of the first
 * unanswered ping, and retried every 100..300 ms while the responder is
 * down. */
#define FAST_TIMERS                                                          \
	"dead_peer_timeout: 500ms, rehandshake_backoff: 100ms, "             \
	"rehandshake_backoff_max: 300ms, handshake_timeout: 1s"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* The 05/06 initiator as a ping node: the tutorial's alice (route through
 * the middle's hop to bob_listener, trust: everyone) with `extra` options,
 * without its one message.  `listen` adds a tcp listener (for the forged
 * notice). */
static const char *pinger_config(const struct integ_ports *ports,
				 const char *extra, int listen)
{
	const char *cfg = integ_write_config("pinger.yaml",
		"node: initiator\n"
		"transports:\n"
		"  tcp: %s\n"
		"workers:\n"
		"  alice:\n"
		"    type: secure_channel\n"
		"    options: { role: initiator,\n"
		"      route: [tcp:localhost:%d, hop, tcp:localhost:%d, bob_listener],\n"
		"      trust: everyone, %s }\n",
		listen ? "{ listen: 127.0.0.1:0 }" : "{}", ports->middle,
		ports->responder, extra);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	return cfg;
}

static struct hx_proc *spawn_ping(const char *cfg, const char *count,
				  const char *interval, const char *wait,
				  const char *to)
{
	const char *const argv[] = { hx_host_path(), "ping", "-v", "-c", count,
				     "-i", interval, "-W", wait, "--config",
				     cfg, to, NULL };
	struct hx_proc *p = hx_spawn(H, "pinger", argv, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* A restart test's nodes: the tutorial's responder and middle, and
 * `ping ... alice,echoer` through them. */
struct pinged {
	struct hx_proc *responder, *middle, *pinger;
	struct integ_ports ports;
};

/* Start `prefix`'s responder and middle, then ping the echoer through
 * alice (pinger_config with `extra`) `count` times, every `interval`,
 * waiting `wait` for each reply; return once ping `seq` is answered (a
 * fatal assertion if it is not), the channel then working. */
static void start_pinging(struct pinged *n, const char *prefix,
			  const char *extra, const char *count,
			  const char *interval, const char *wait, unsigned seq)
{
	char needle[32];

	CU_ASSERT_EQUAL_FATAL(integ_start_pair(prefix, &n->responder,
					       &n->middle, &n->ports),
			      0);
	n->pinger = spawn_ping(pinger_config(&n->ports, extra, 0), count,
			       interval, wait, "alice,echoer");
	snprintf(needle, sizeof(needle), " seq=%u time=", seq);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(n->pinger, HX_STDOUT, needle, 1,
					   HX_READY_MS, NULL, 0),
			      0);
}

/* 1 if ping's output has the reply line of `seq`. */
static int has_reply(const char *out, unsigned seq)
{
	char needle[48];
	snprintf(needle, sizeof(needle), " seq=%u time=", seq);
	return strstr(out, needle) != NULL;
}

/* Start the tutorial's responder again on its old port. */
static struct hx_proc *restart_responder(const char *prefix, int port)
{
	char cfg[256], env0[32];
	snprintf(cfg, sizeof(cfg), "%sresponder.yaml", prefix);
	snprintf(env0, sizeof(env0), "RESPONDER_PORT=%d", port);
	const char *const env[] = { env0, NULL };
	int again = 0;
	struct hx_proc *p = integ_start_node("responder", integ_src(cfg), env,
					     &again);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(again, port);
	return p;
}

/* The restart test.  70 pings, one every 100 ms, each waited for 3 s.
 * After the reply to ping 5 the responder is killed, and started again
 * `down_ms` later on the same port.  What a user may lose: the pings sent
 * while the responder was down (at most down_ms / 100 + 1, one more for
 * timing slack); everything after that is answered. */
static void check_restart(const char *prefix, const char *extra,
			  unsigned down_ms)
{
	struct pinged n;
	char opts[256];

	snprintf(opts, sizeof(opts), "%s%s", FAST_TIMERS, extra);
	start_pinging(&n, prefix, opts, "70", "100ms", "3s", 5);
	struct hx_proc *responder = n.responder, *middle = n.middle,
		       *pinger = n.pinger;

	uint64_t t0 = now_ms();
	CU_ASSERT_EQUAL(kill(hx_pid(responder), SIGKILL), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(responder, HX_EXIT_MS), 128 + SIGKILL);
	uint64_t spent = now_ms() - t0;
	if (spent < down_ms)
		sleep_ms((unsigned)(down_ms - spent));
	responder = restart_responder(prefix, n.ports.responder);
	uint64_t down = now_ms() - t0;

	hx_wait_exit(pinger, 30000);
	const char *out = hx_read(pinger, HX_STDOUT);
	const char *log = hx_read(pinger, HX_STDERR);
	unsigned lost = 0, last_lost = 0;
	for (unsigned seq = 1; seq <= 70; seq++)
		if (!has_reply(out, seq)) {
			lost++;
			last_lost = seq;
		}
	unsigned allowed = (unsigned)(down / 100) + 2;
	if (lost > allowed || last_lost >= 56)
		fprintf(stderr, "down %llu ms: %u pings lost (allowed %u), the last one seq=%u\n%s",
			(unsigned long long)down, lost, allowed, last_lost, out);
	/* The responder was really gone for a while... */
	CU_ASSERT(lost >= 1);
	/* ... only pings of that while are lost ... */
	CU_ASSERT(lost <= allowed);
	/* ... and every later one is answered (ping 56 is sent 5 s after
	 * ping 5, so 3.5 s after the restart even if that took 2 s). */
	CU_ASSERT(last_lost < 56);
	for (unsigned seq = 56; seq <= 70; seq++)
		CU_ASSERT(has_reply(out, seq));

	CU_ASSERT_EQUAL(integ_lines(log, "alice: secure channel I",
				    "(dead_peer_timeout): re-handshaking"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "alice: secure channel open"), 2);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(rlog, "secure channel open"), 1);
	/* The old channel's messages stopped before the new responder was
	 * up: it never hears of a decryptor it does not have. */
	CU_ASSERT_EQUAL(integ_lines(rlog, "no worker at address 'sc_dec."), 0);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

static void test_restart_ping(void)
{
	integ_begin("secure_restart_ping");
	check_restart(PREFIX_05, "", 1500);
}

static void test_restart_ping_x3dh(void)
{
	integ_begin("secure_restart_ping_x3dh");
	check_restart(PREFIX_06, ", key_exchange: x3dh", 1500);
}

/* A restart quicker than dead_peer_timeout (2 s here): the pings sent
 * to the new responder before the initiator notices are lost, and the new
 * responder logs them (rate-limited) as messages for an unknown
 * decryptor; once the initiator has re-handshaken, those lines stop and
 * every ping is answered. */
static void test_quick_restart(void)
{
	struct pinged n;

	integ_begin("secure_quick_restart");
	start_pinging(&n, PREFIX_05,
		      "dead_peer_timeout: 2s, rehandshake_backoff: 100ms, "
		      "rehandshake_backoff_max: 300ms",
		      "70", "100ms", "3s", 5);
	struct hx_proc *responder = n.responder, *middle = n.middle,
		       *pinger = n.pinger;
	CU_ASSERT_EQUAL(kill(hx_pid(responder), SIGKILL), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(responder, HX_EXIT_MS), 128 + SIGKILL);
	responder = restart_responder(PREFIX_05, n.ports.responder);
	CU_ASSERT_EQUAL(hx_wait_line(pinger, HX_STDERR, "re-handshaking", 1, 10000,
				     NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_wait_line(pinger, HX_STDERR,
				     "alice: secure channel open", 2, 10000,
				     NULL, 0),
			0);
	/* Stale messages may still be in flight for a moment. */
	sleep_ms(300);
	unsigned stale = integ_lines(hx_read(responder, HX_STDERR),
				     "no worker at address 'sc_dec.");
	CU_ASSERT(stale >= 1);
	hx_wait_exit(pinger, 30000);
	const char *out = hx_read(pinger, HX_STDOUT);
	for (unsigned seq = 50; seq <= 70; seq++)
		CU_ASSERT(has_reply(out, seq));
	/* 2+ s of pings after the re-handshake: no new line (the router
	 * logs them at most once a second while they come). */
	CU_ASSERT_EQUAL(integ_lines(hx_read(responder, HX_STDERR),
				    "no worker at address 'sc_dec."),
			stale);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* One-way traffic: the responder's echoer accepts only an identity alice
 * does not have, so no ping is ever answered by the app layer.  While the
 * responder lives, its keepalives (every 100 ms of unanswered data) keep
 * alice's dead-peer timer (500 ms) quiet -- although alice sends none
 * herself (keepalive: 0): she still accepts them; once the responder is
 * killed, alice re-handshakes within about dead_peer_timeout. */
static void test_one_way(void)
{
	struct hx_proc *responder, *pinger;
	int r;

	integ_begin("secure_one_way_dead_peer");
	const char *rcfg = integ_write_config("responder.yaml",
		"node: responder\n"
		"transports:\n"
		"  tcp: { listen: 127.0.0.1:0 }\n"
		"workers:\n"
		"  echoer:\n"
		"    type: echoer\n"
		"    access: [I00000000000000000000000000000000]\n"
		"  bob_listener:\n"
		"    type: secure_channel\n"
		"    options: { role: listener, trust: everyone, keepalive: 100ms }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rcfg);
	responder = integ_start_node("responder", rcfg, NULL, &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	const char *cfg = integ_initiator_config(&(struct integ_initiator){
		.node = "initiator", .port = r,
		.options = "trust: everyone, keepalive: 0, " FAST_TIMERS });
	pinger = spawn_ping(cfg, "60", "100ms", "200ms", "alice,echoer");
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(pinger, HX_STDERR,
					   "alice: secure channel open", 1,
					   HX_READY_MS, NULL, 0),
			      0);
	/* 2 s of one-way traffic against a live responder. */
	sleep_ms(2000);
	CU_ASSERT_EQUAL(integ_lines(hx_read(pinger, HX_STDERR),
				    "re-handshaking"),
			0);
	CU_ASSERT(integ_lines(hx_read(responder, HX_STDERR),
			      "access denied: 'echoer'") >= 1);
	uint64_t t0 = now_ms();
	CU_ASSERT_EQUAL(kill(hx_pid(responder), SIGKILL), 0);
	CU_ASSERT_EQUAL(hx_wait_line(pinger, HX_STDERR,
				     "(dead_peer_timeout): re-handshaking", 1,
				     5000, NULL, 0),
			0);
	/* dead_peer_timeout plus a ping interval, plus slack for a loaded
	 * machine (without the timer: never). */
	CU_ASSERT(now_ms() - t0 < 4000);
	CU_ASSERT_EQUAL(hx_stop(pinger, HX_EXIT_MS), 1);
	hx_wait_exit(responder, HX_EXIT_MS);
}

/* Send one frame carrying the message onward [to], return [], payload
 * `payload` to 127.0.0.1:`port` (docs/protocol.md: u32 length, then
 * version 1, routes, payload). */
static int send_raw(int port, const char *to, const uint8_t *payload,
		    size_t plen)
{
	uint8_t buf[512];
	size_t n = 4, alen = strlen(to);
	if (alen > 120 || plen > 120)
		return -1;
	buf[n++] = 1;	 /* version */
	buf[n++] = 1;	 /* onward: one address */
	buf[n++] = 0;	 /* local */
	buf[n++] = (uint8_t)alen;
	memcpy(buf + n, to, alen);
	n += alen;
	buf[n++] = 0; /* return: empty */
	buf[n++] = (uint8_t)plen;
	memcpy(buf + n, payload, plen);
	n += plen;
	uint32_t body = (uint32_t)(n - 4);
	buf[0] = (uint8_t)(body >> 24);
	buf[1] = (uint8_t)(body >> 16);
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	int fd = hx_tcp_connect(port);
	if (fd < 0)
		return -1;
	int rc = write(fd, buf, n) == (ssize_t)n ? 0 : -1;
	sleep_ms(100); /* let the node read it before the close */
	close(fd);
	return rc;
}

/* A stranger who learnt alice's decryptor address sends it three CLOSE
 * notices saying "not trusted" while the channel works.  Before, alice
 * gave up for good (every later message failed with ENOTCONN); now it
 * checks with one new handshake, keeps the channel meanwhile, and every
 * ping is answered. */
static void test_forged_close(void)
{
	struct hx_proc *responder, *middle, *pinger;
	struct integ_ports ports;
	char line[512];

	integ_begin("secure_forged_close_hint");
	CU_ASSERT_EQUAL_FATAL(integ_start_pair(PREFIX_05, &responder, &middle,
					       &ports),
			      0);
	pinger = spawn_ping(pinger_config(&ports, FAST_TIMERS, 1), "30",
			    "100ms", "3s", "alice,echoer");
	int port = hx_wait_port(pinger, HX_READY_MS);
	CU_ASSERT_FATAL(port > 0);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(pinger, HX_STDERR,
					   "alice: secure channel open", 1,
					   HX_READY_MS, line, sizeof(line)),
			      0);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(pinger, HX_STDOUT, " seq=3 time=",
					   1, HX_READY_MS, NULL, 0),
			      0);
	const char *dec = strstr(line, "decryptor ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dec);
	char addr[64];
	CU_ASSERT_EQUAL_FATAL(sscanf(dec, "decryptor %63[^)]", addr), 1);
	static const uint8_t refused[2] = { 0x05, 0x01 };
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(send_raw(port, addr, refused, sizeof(refused)),
				0);

	CU_ASSERT_EQUAL(hx_wait_exit(pinger, 30000), 0);
	const char *out = hx_read(pinger, HX_STDOUT);
	CU_ASSERT(integ_contains(out, "30 sent, 30 received, 0% loss"));
	const char *log = hx_read(pinger, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "unauthenticated close notice (not trusted) after the peer had answered: re-handshaking"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log, "alice: secure channel open"), 2);
	CU_ASSERT_EQUAL(integ_lines(log, "not re-handshaking"), 0);
	CU_ASSERT_EQUAL(integ_lines(log, "ENOTCONN"), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(responder, HX_STDERR),
				    "secure channel open"),
			2);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* The responder dies for good; alice notices and re-handshakes (in vain)
 * while pings keep coming every 50 ms: two wait in its queue
 * (queue_limit: 2), every later one is refused at once (alice's
 * handle_message returns ENOBUFS, which reaches ping as a delivery-failure
 * notice: "not delivered: 'alice' refused it"), and alice logs the
 * refusals at most once a second. */
static void test_queue_limit(void)
{
	struct pinged n;

	integ_begin("secure_restart_queue_limit");
	start_pinging(&n, PREFIX_05,
		      "queue_limit: 2, dead_peer_timeout: 300ms, "
		      "rehandshake_backoff: 1s, rehandshake_backoff_max: 2s, "
		      "handshake_timeout: 1s",
		      "40", "50ms", "1s", 3);
	struct hx_proc *responder = n.responder, *middle = n.middle,
		       *pinger = n.pinger;
	CU_ASSERT_EQUAL(kill(hx_pid(responder), SIGKILL), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(pinger, 30000), 1);
	const char *out = hx_read(pinger, HX_STDOUT);
	/* Refused on the spot: alice's full queue says ENOBUFS, and ping is
	 * told for each message. */
	unsigned refused = integ_lines(
		out, " not delivered: 'alice' refused it: No buffer space available");
	CU_ASSERT(refused >= 10);
	const char *log = hx_read(pinger, HX_STDERR);
	unsigned lines = integ_lines(log, "queue_limit): message refused, its sender told");
	CU_ASSERT(lines >= 1 && lines <= 4);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "secure_restart_ping", test_restart_ping },
		{ "secure_restart_ping_x3dh", test_restart_ping_x3dh },
		{ "secure_quick_restart", test_quick_restart },
		{ "secure_one_way_dead_peer", test_one_way },
		{ "secure_forged_close_hint", test_forged_close },
		{ "secure_restart_queue_limit", test_queue_limit },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
