/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel tutorial across hosts: each node in its own network
 * namespace, built by this test with iproute2 and joined by veth links,
 *
 *   initiator 10.201.1.1 --veth-- 10.201.1.2 middle 10.201.2.1 --veth-- 10.201.2.2 responder
 *
 *  - the tutorial message gets its reply through both links;
 *  - `ockam-host ping` keeps going while the middle's link to the
 *    responder goes down for a second and comes back: replies resume.
 *
 * Only the test's own namespaces are touched: the veths are created
 * inside them (never in the root namespace), no routes are added, and
 * traffic goes only to the addresses set here.  The namespaces (and with
 * them the veths) are deleted at the end, at exit, and on fatal signals.
 * Without root or iproute2 the program says why and exits 77 (skipped).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define SKIP 77

enum { NS_I, NS_M, NS_R, NS_COUNT };

static char ip_path[64];
static char ns_name[NS_COUNT][32];
static volatile sig_atomic_t ns_made[NS_COUNT];

/* Run `ip argv...` and wait; returns its exit status (-1 if it could not
 * run).  `quiet` sends its output to /dev/null.  Only async-signal-safe
 * calls, as teardown also runs from a signal handler. */
static int ip_run(int quiet, const char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execv(ip_path, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `ip` with up to 15 space-separated words (names here have no spaces). */
static int ip_cmd(int quiet, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int ip_cmd(int quiet, const char *fmt, ...)
{
	char line[512];
	const char *argv[16] = { ip_path };
	size_t n = 1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *save = NULL, *w = strtok_r(line, " ", &save);
	     w && n < 15; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	return ip_run(quiet, argv);
}

static void ns_teardown(void)
{
	for (int i = 0; i < NS_COUNT; i++) {
		if (!ns_made[i])
			continue;
		const char *const argv[] = { ip_path, "netns", "del",
					     ns_name[i], NULL };
		ip_run(1, argv);
		ns_made[i] = 0;
	}
}

static void ns_on_signal(int sig)
{
	ns_teardown();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int ip_find(void)
{
	static const char *const where[] = { "/usr/sbin/ip", "/sbin/ip",
					     "/usr/bin/ip", "/bin/ip" };
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		if (access(where[i], X_OK) == 0) {
			snprintf(ip_path, sizeof(ip_path), "%s", where[i]);
			return 0;
		}
	}
	return -1;
}

/* Build the three hosts.  Returns 0, or SKIP (said why) if this machine
 * does not let us, after removing whatever was made. */
static int ns_setup(void)
{
	static const char suffix[NS_COUNT] = { 'i', 'm', 'r' };
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGABRT, SIGSEGV, SIGBUS };

	if (ip_find() < 0) {
		fprintf(stderr, "netns: skipped: iproute2 (`ip`) is not installed\n");
		return SKIP;
	}
	atexit(ns_teardown);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], ns_on_signal);
	for (int i = 0; i < NS_COUNT; i++) {
		snprintf(ns_name[i], sizeof(ns_name[i]), "ockam-%ld-%c",
			 (long)getpid(), suffix[i]);
		if (ip_cmd(0, "netns add %s", ns_name[i]) != 0) {
			fprintf(stderr, "netns: skipped: cannot create network namespace %s (needs root, i.e. CAP_SYS_ADMIN and CAP_NET_ADMIN, and a kernel with network namespaces)\n",
				ns_name[i]);
			ns_teardown();
			return SKIP;
		}
		ns_made[i] = 1;
	}
	const char *i = ns_name[NS_I], *m = ns_name[NS_M], *r = ns_name[NS_R];
	/* Each veth is created inside a test namespace and its peer moved
	 * straight into the next one; interface names are per namespace. */
	int bad = ip_cmd(0, "-n %s link add to-m type veth peer name to-i netns %s", i, m) ||
		  ip_cmd(0, "-n %s link add to-r type veth peer name to-m netns %s", m, r) ||
		  ip_cmd(0, "-n %s addr add 10.201.1.1/24 dev to-m", i) ||
		  ip_cmd(0, "-n %s addr add 10.201.1.2/24 dev to-i", m) ||
		  ip_cmd(0, "-n %s addr add 10.201.2.1/24 dev to-r", m) ||
		  ip_cmd(0, "-n %s addr add 10.201.2.2/24 dev to-m", r) ||
		  ip_cmd(0, "-n %s link set lo up", i) ||
		  ip_cmd(0, "-n %s link set lo up", m) ||
		  ip_cmd(0, "-n %s link set lo up", r) ||
		  ip_cmd(0, "-n %s link set to-m up", i) ||
		  ip_cmd(0, "-n %s link set to-i up", m) ||
		  ip_cmd(0, "-n %s link set to-r up", m) ||
		  ip_cmd(0, "-n %s link set to-m up", r);
	if (bad) {
		fprintf(stderr, "netns: skipped: cannot build the veth links between the test namespaces (is the veth driver available?)\n");
		ns_teardown();
		return SKIP;
	}
	return 0;
}

static const char responder_yaml[] =
	"node: responder\n"
	"transports:\n"
	"  tcp: { listen: 10.201.2.2:4000 }\n"
	"workers:\n"
	"  echoer: { type: echoer, access: secure_channel }\n"
	"  bob_listener:\n"
	"    type: secure_channel\n"
	"    reach: [echoer]\n"
	"    options: { role: listener, trust: everyone }\n";

static const char middle_yaml[] =
	"node: middle\n"
	"transports:\n"
	"  tcp: { listen: 10.201.1.2:3000 }\n"
	"workers:\n"
	"  hop: { type: hop, options: { to: [tcp:10.201.2.2:4000] } }\n";

static const char initiator_yaml[] =
	"node: initiator\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route: [tcp:10.201.1.2:3000, hop, tcp:10.201.2.2:4000, bob_listener]\n"
	"      trust: everyone\n";

static const char messages_yaml[] =
	"messages:\n"
	"  - route: [alice, echoer]\n"
	"    payload: Hello Ockam!\n"
	"    reply: true\n"
	"    timeout: 10s\n"
	"after_messages: exit\n";

/* Start `ockam-host config` (or with `args` instead of the config, e.g.
 * a ping command line) inside namespace `ns`. */
static struct hx_proc *ns_spawn(const char *label, int ns,
				const char *const args[])
{
	const char *argv[24] = { ip_path, "netns", "exec", ns_name[ns],
				 hx_host_path() };
	size_t n = 5;

	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	return hx_spawn(H, label, argv, NULL);
}

/* Start a listening node and wait until it listens on `addr` and is
 * ready. */
static struct hx_proc *ns_start_node(const char *node, int ns,
				     const char *config, const char *addr)
{
	const char *const args[] = { config, NULL };
	char needle[96];
	struct hx_proc *p = ns_spawn(node, ns, args);

	if (!p)
		return NULL;
	snprintf(needle, sizeof(needle), "listening on %s", addr);
	if (hx_wait_line(p, HX_STDERR, needle, 1, HX_READY_MS, NULL, 0) < 0)
		return NULL;
	snprintf(needle, sizeof(needle), "node %s ready", node);
	if (hx_wait_line(p, HX_STDERR, needle, 1, HX_READY_MS, NULL, 0) < 0)
		return NULL;
	return p;
}

static void start_far_nodes(struct hx_proc **responder,
			    struct hx_proc **middle)
{
	const char *rcfg = hx_write_file(H, "responder.yaml", responder_yaml);
	const char *mcfg = hx_write_file(H, "middle.yaml", middle_yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rcfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mcfg);
	*responder = ns_start_node("responder", NS_R, rcfg, "10.201.2.2:4000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(*responder);
	*middle = ns_start_node("middle", NS_M, mcfg, "10.201.1.2:3000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(*middle);
}

static void test_netns_tutorial(void)
{
	struct hx_proc *responder, *middle, *initiator;
	char text[1024];

	integ_begin("netns_tutorial");
	start_far_nodes(&responder, &middle);
	snprintf(text, sizeof(text), "%s%s", initiator_yaml, messages_yaml);
	const char *icfg = hx_write_file(H, "initiator.yaml", text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(icfg);

	initiator = ns_spawn("initiator", NS_I,
			     (const char *const[]){ icfg, NULL });
	CU_ASSERT_PTR_NOT_NULL_FATAL(initiator);
	CU_ASSERT_EQUAL(hx_wait_exit(initiator, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(initiator, HX_STDOUT),
			       "App Received: Hello Ockam!\n");

	/* It went over the veths: the middle took it from the initiator's
	 * address and connected to the responder's; the responder saw the
	 * middle's far-side address and got the message out of a channel. */
	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR,
				     "echoer: received \"Hello Ockam!\"", 1,
				     HX_READY_MS, text, sizeof(text)),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "via secure channel with I"));
	const char *mlog = hx_read(middle, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(mlog, "accepted connection from 10.201.1.1:"),
			1);
	CU_ASSERT_EQUAL(integ_lines(mlog, "connected to 10.201.2.2:4000"), 1);
	CU_ASSERT_EQUAL(integ_count_problems(mlog, NULL), 0);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(rlog, "connection from 10.201.2.1:"), 1);
	CU_ASSERT_EQUAL(integ_count_problems(rlog, NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(initiator, HX_STDERR),
					     NULL),
			0);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* Run `ip` under the harness (its output kept for the failure dump);
 * returns its exit status, and the process in `out` if given. */
static int ip_step(const char *label, const char *const args[],
		   struct hx_proc **out)
{
	const char *argv[16] = { ip_path };
	size_t n = 1;

	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	struct hx_proc *p = hx_spawn(H, label, argv, NULL);
	if (out)
		*out = p;
	return p ? hx_wait_exit(p, HX_EXIT_MS) : -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#define PINGS 15

static void test_netns_link_flap(void)
{
	struct hx_proc *responder, *middle, *ping, *p;
	const char *m = ns_name[NS_M];
	char text[4096];

	integ_begin("netns_link_flap");
	start_far_nodes(&responder, &middle);
	const char *icfg = hx_write_file(H, "initiator.yaml", initiator_yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(icfg);

	const char *const ping_args[] = { "ping", "-c", "15", "-i", "200ms",
					  "-W", "3s", "--config", icfg,
					  "alice,echoer", NULL };
	ping = ns_spawn("ping", NS_I, ping_args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ping);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(ping, HX_STDOUT, "seq=3 ", 1,
					   HX_READY_MS, NULL, 0),
			      0);

	/* The middle's link towards the responder goes away for a second
	 * while pings keep being sent. */
	CU_ASSERT_EQUAL_FATAL(ip_step("link-down", (const char *const[]){
				"-n", m, "link", "set", "to-r", "down", NULL }, NULL),
			      0);
	sleep_ms(1000);
	CU_ASSERT_EQUAL_FATAL(ip_step("link-up", (const char *const[]){
				"-n", m, "link", "set", "to-r", "up", NULL }, NULL),
			      0);
	/* IPv4 addresses normally survive a link flap; put it back if not. */
	CU_ASSERT_EQUAL_FATAL(ip_step("addr-show", (const char *const[]){
				"-n", m, "-4", "addr", "show", "dev", "to-r",
				NULL }, &p),
			      0);
	if (!strstr(hx_read(p, HX_STDOUT), "10.201.2.1/24"))
		CU_ASSERT_EQUAL_FATAL(ip_step("addr-add", (const char *const[]){
					"-n", m, "addr", "add", "10.201.2.1/24",
					"dev", "to-r", NULL }, NULL),
				      0);

	int status = hx_wait_exit(ping, HX_EXIT_MS);
	const char *out = hx_read(ping, HX_STDOUT);

	/* Every reply came through the channel; the last few (sent after
	 * the link was back) all got one. */
	unsigned replies = integ_lines(out, " bytes from [alice, echoer]: seq=");
	CU_ASSERT(replies >= 3);
	CU_ASSERT_EQUAL(integ_lines(out, " bytes from [alice, echoer]: seq=",
				    " secure=I"),
			replies);
	for (int seq = PINGS - 2; seq <= PINGS; seq++) {
		char needle[32];
		snprintf(needle, sizeof(needle), ": seq=%d time=", seq);
		CU_ASSERT_EQUAL(integ_lines(out, needle), 1);
	}
	snprintf(text, sizeof(text), "%d sent, %u received", PINGS, replies);
	CU_ASSERT_EQUAL(integ_lines(out, text), 1);
	/* 0 only if every ping got its reply. */
	CU_ASSERT_EQUAL(status, replies == PINGS ? 0 : 1);

	/* The flap was felt: a ping was lost, or a reply was held back for
	 * at least half the time the link was down. */
	double max_ms = 0;
	const char *rtt = strstr(out, "rtt min/avg/max = ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtt);
	CU_ASSERT_EQUAL(sscanf(rtt, "rtt min/avg/max = %*f/%*f/%lf ms",
			       &max_ms),
			1);
	CU_ASSERT(replies < PINGS || max_ms >= 500.0);

	/* Both far nodes rode it out and stop cleanly. */
	CU_ASSERT(hx_running(middle));
	CU_ASSERT(hx_running(responder));
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

/* configs/08 across namespaces: the relay sits in the middle namespace,
 * the responder (no listener) dials it from its own, and the initiator,
 * whose namespace has no route to the responder's at all, reaches it
 * only through the relay. */
static const char relay_ns_yaml[] =
	"node: relay\n"
	"transports:\n"
	"  tcp: { listen: [10.201.1.2:4000, 10.201.2.1:4000] }\n"
	"workers:\n"
	"  relay_listener:\n"
	"    type: secure_channel\n"
	"    options: { role: listener, trust: everyone }\n"
	"  relay:\n"
	"    type: relay_service\n"
	"    access: secure_channel\n"
	"    options: { trust: everyone }\n";

static const char responder_ns_yaml[] =
	"node: responder\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  echoer: { type: echoer, access: secure_channel }\n"
	"  bob_listener:\n"
	"    type: secure_channel\n"
	"    reach: [echoer]\n"
	"    options: { role: listener, trust: everyone }\n"
	"  relay_channel:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route: [tcp:10.201.2.1:4000, relay_listener]\n"
	"      trust: everyone\n"
	"  relay_client:\n"
	"    type: relay\n"
	"    options: { at: [relay_channel, relay], name: bob }\n";

static const char initiator_ns_yaml[] =
	"node: initiator\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route: [tcp:10.201.1.2:4000, forward_to_bob, bob_listener]\n"
	"      trust: everyone\n"
	"messages:\n"
	"  - route: [alice, echoer]\n"
	"    payload: Hello Ockam!\n"
	"    timeout: 10s\n";

static void test_netns_relay(void)
{
	integ_begin("netns_relay");
	const char *rcfg = hx_write_file(H, "relay.yaml", relay_ns_yaml);
	const char *bcfg = hx_write_file(H, "responder.yaml", responder_ns_yaml);
	const char *icfg = hx_write_file(H, "initiator.yaml", initiator_ns_yaml);
	CU_ASSERT_FATAL(rcfg && bcfg && icfg);
	struct hx_proc *relay = ns_start_node("relay", NS_M, rcfg,
					      "10.201.2.1:4000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(relay);
	struct hx_proc *resp = ns_spawn("responder", NS_R,
					(const char *const[]){ bcfg, NULL });
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(resp, HX_STDERR,
					   "registered at relay", 1,
					   HX_READY_MS, NULL, 0),
			      0);

	/* The initiator's namespace cannot reach the responder's. */
	struct hx_proc *probe = ns_spawn("probe", NS_I, (const char *const[]){
		"ping", "-c", "1", "-W", "2s", "tcp:10.201.2.2:4000,echoer", NULL });
	CU_ASSERT_PTR_NOT_NULL_FATAL(probe);
	CU_ASSERT_EQUAL(hx_wait_exit(probe, HX_EXIT_MS), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(hx_read(probe, HX_STDOUT),
				      "Network is unreachable"));

	struct hx_proc *init = ns_spawn("initiator", NS_I,
					(const char *const[]){ icfg, NULL });
	CU_ASSERT_PTR_NOT_NULL_FATAL(init);
	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(init, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	const char *rlog = hx_read(resp, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(rlog, "listening on"), 0);
	CU_ASSERT_EQUAL(integ_lines(rlog, "echoer: received \"Hello Ockam!\"",
				    "via secure channel with I"),
			1);
	/* The relay took the responder on one side and the initiator on
	 * the other (the second "accepted" line is rate-limited away; the
	 * initiator's close is not). */
	const char *mlog = hx_read(relay, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(mlog, "accepted connection from 10.201.2.2:"), 1);
	CU_ASSERT_EQUAL(integ_lines(mlog, "connection from 10.201.1.1:", "closed"), 1);
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "netns_tutorial", test_netns_tutorial },
		{ "netns_link_flap", test_netns_link_flap },
		{ "netns_relay", test_netns_relay },
		{ NULL, NULL },
	};

	int rc = ns_setup();
	if (rc != 0)
		return rc;
	rc = integ_run("integration", tests);
	ns_teardown();
	return rc;
}
