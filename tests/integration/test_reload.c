/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reload (SIGHUP): a running node re-reads its YAML.  Workers added are
 * reachable, workers removed are gone, a changed option takes effect; a
 * file with an error is refused with its file:line:col and the node keeps
 * serving the configuration it had; an established secure channel (and
 * its initiator's traffic) survives a reload that changes another worker;
 * pings running through reloads lose nothing.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

static char plugin_env[600];

static const char *const *node_env(void)
{
	static const char *env[2];
	snprintf(plugin_env, sizeof(plugin_env), "OCKAM_PLUGIN_PATH=%s/plugins/examples",
		 INTEG_BUILD_ROOT);
	env[0] = plugin_env;
	env[1] = NULL;
	return env;
}

#define HEAD                                                              \
	"node: reloaded\n"                                                \
	"transports:\n"                                                   \
	"  tcp:\n"                                                        \
	"    listen: 127.0.0.1:${RELOAD_PORT:-0}\n"                       \
	"workers:\n"

static int ping(int port, const char *to, int count)
{
	char route[96], c[16];
	struct hx_proc *p;
	snprintf(route, sizeof(route), "tcp:127.0.0.1:%d,%s", port, to);
	snprintf(c, sizeof(c), "%d", count);
	return integ_run_host("ping",
			      (const char *[]){ "ping", "-c", c, "-i", "10ms", "-W", "2s", route, NULL },
			      NULL, &p);
}

/* Send "hi" to `to` on the node and return what came back ("" if
 * nothing), in `out`. */
static void ask(int port, const char *to, char *out, size_t cap)
{
	struct hx_proc *p;
	const char *path = integ_write_config("client.yaml",
		"node: client\n"
		"transports:\n"
		"  tcp: {}\n"
		"messages:\n"
		"  - route: [tcp:127.0.0.1:%d, %s]\n"
		"    payload: hi\n"
		"    timeout: 3s\n", port, to);
	out[0] = '\0';
	if (!path ||
	    integ_run_host("ask", (const char *[]){ path, NULL }, NULL, &p) < 0)
		return;
	hx_find_line(hx_read(p, HX_STDOUT), "App Received: ", out, cap);
}

static int reload(struct hx_proc *node, unsigned nth)
{
	if (kill(hx_pid(node), SIGHUP) < 0)
		return -1;
	return hx_wait_line(node, HX_STDERR, "reload: ", nth, HX_READY_MS, NULL,
			    0) < 0 ||
	       hx_wait_line(node, HX_STDERR, "received SIGHUP, reloading", nth,
			    HX_READY_MS, NULL, 0) < 0
		       ? -1
		       : 0;
}

/* Wait for the nth summary line ("reload: applied: ..." or refused). */
static int summary(struct hx_proc *node, const char *needle, unsigned nth)
{
	return hx_wait_line(node, HX_STDERR, needle, nth, HX_READY_MS, NULL, 0);
}

static void test_add_remove_change(void)
{
	struct hx_proc *node;
	int port = 0;
	char got[256];
	integ_begin("reload-workers");
	const char *path = hx_write_file(H, "node.yaml", HEAD
		"  e1:\n    type: echoer\n"
		"  shout:\n    type: uppercase\n    options: { prefix: \"A: \" }\n"
		"  same:\n    type: echoer\n");
	CU_ASSERT_FATAL(path != NULL);
	node = integ_start_node("reloaded", path, node_env(), &port);
	CU_ASSERT_FATAL(node != NULL);
	CU_ASSERT_EQUAL(ping(port, "e1", 1), 0);
	CU_ASSERT_NOT_EQUAL(ping(port, "e2", 1), 0);
	ask(port, "shout", got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "App Received: A: HI");

	/* e2 added, e1 removed, shout's prefix changed, same kept. */
	CU_ASSERT_FATAL(hx_write_file(H, "node.yaml", HEAD
		"  e2:\n    type: echoer\n"
		"  shout:\n    type: uppercase\n    options: { prefix: \"B: \" }\n"
		"  same:\n    type: echoer\n") != NULL);
	CU_ASSERT_EQUAL(reload(node, 1), 0);
	CU_ASSERT_EQUAL(summary(node, "reload: applied: 1 worker(s) kept, 2 started, 2 stopped", 1), 0);
	CU_ASSERT_EQUAL(ping(port, "e2", 2), 0);
	CU_ASSERT_EQUAL(ping(port, "same", 1), 0);
	CU_ASSERT_NOT_EQUAL(ping(port, "e1", 1), 0);
	ask(port, "shout", got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "App Received: B: HI");
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(node, HX_STDERR), "reload:"), 0);
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

static void test_invalid_keeps_old(void)
{
	struct hx_proc *node;
	int port = 0;
	char line[512];
	integ_begin("reload-invalid");
	const char *path = hx_write_file(H, "node.yaml", HEAD
		"  e1:\n    type: echoer\n");
	CU_ASSERT_FATAL(path != NULL);
	node = integ_start_node("reloaded", path, node_env(), &port);
	CU_ASSERT_FATAL(node != NULL);

	/* Line 8: an unknown type; line 11: a refused option value. */
	CU_ASSERT_FATAL(hx_write_file(H, "node.yaml", HEAD
		"  e1:\n    type: echoer\n"
		"  e2:\n    type: echoerr\n"
		"  shout:\n    type: uppercase\n"
		"    options: { prefix: 42 }\n") != NULL);
	CU_ASSERT_EQUAL(reload(node, 1), 0);
	CU_ASSERT_EQUAL(summary(node, "still running the configuration loaded before", 1), 0);
	const char *err = hx_read(node, HX_STDERR);
	snprintf(line, sizeof(line), "%s:9:11: unknown type 'echoerr' (did you mean 'echoer'?)", path);
	CU_ASSERT(integ_contains(err, line));
	snprintf(line, sizeof(line), "%s:12:", path);
	CU_ASSERT(integ_contains(err, line));
	CU_ASSERT(hx_running(node));
	CU_ASSERT_EQUAL(ping(port, "e1", 2), 0);
	CU_ASSERT_NOT_EQUAL(ping(port, "shout", 1), 0);

	/* A file that no longer parses at all: the same. */
	CU_ASSERT_FATAL(hx_write_file(H, "node.yaml", "node: [unclosed\n") != NULL);
	CU_ASSERT_EQUAL(reload(node, 2), 0);
	CU_ASSERT_EQUAL(summary(node, "still running the configuration loaded before", 2), 0);
	CU_ASSERT_EQUAL(ping(port, "e1", 1), 0);
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

/* A ping running from start to end, in the background. */
static struct hx_proc *ping_bg(const char *label, const char *route,
			       const char *config, const char *const env[],
			       const char *count)
{
	const char *argv[16] = { hx_host_path(), "ping", "-c", count, "-i",
				 "20ms", "-W", "3s" };
	size_t n = 8;
	if (config) {
		argv[n++] = "--config";
		argv[n++] = config;
	}
	argv[n++] = route;
	argv[n] = NULL;
	return hx_spawn(H, label, argv, env);
}

static void test_channel_survives(void)
{
	struct hx_proc *node, *p;
	int port = 0;
	char env_port[32];
	integ_begin("reload-channel");
#define RESPONDER                                                         \
	"node: reloaded\n"                                                \
	"transports:\n"                                                   \
	"  tcp:\n"                                                        \
	"    listen: 127.0.0.1:${RELOAD_PORT:-0}\n"                       \
	"workers:\n"                                                      \
	"  echoer:\n    type: echoer\n    access: secure_channel\n"       \
	"  bob_listener:\n    type: secure_channel\n"                     \
	"    options: { role: listener, trust: everyone }\n"
	const char *path = hx_write_file(H, "node.yaml", RESPONDER
		"  other:\n    type: echoer\n");
	const char *init = hx_write_file(H, "initiator.yaml",
		"node: initiator\n"
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  alice:\n"
		"    type: secure_channel\n"
		"    options:\n"
		"      role: initiator\n"
		"      trust: everyone\n"
		"      route:\n"
		"        - tcp:127.0.0.1:${RELOAD_PORT}\n"
		"        - bob_listener\n");
	CU_ASSERT_FATAL(path && init);
	node = integ_start_node("reloaded", path, node_env(), &port);
	CU_ASSERT_FATAL(node != NULL);
	snprintf(env_port, sizeof(env_port), "RELOAD_PORT=%d", port);

	/* 100 pings over one channel, ~2 s; reloads while they run. */
	p = ping_bg("ping-secure", "alice,echoer", init,
		    (const char *[]){ env_port, NULL }, "100");
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_FATAL(hx_wait_line(p, HX_STDOUT, "bytes from", 5, HX_READY_MS, NULL, 0) == 0);
	CU_ASSERT_FATAL(hx_write_file(H, "node.yaml", RESPONDER
		"  other:\n    type: uppercase\n") != NULL);
	CU_ASSERT_EQUAL(reload(node, 1), 0);
	CU_ASSERT_EQUAL(summary(node, "reload: applied: 2 worker(s) kept, 1 started, 1 stopped", 1), 0);
	CU_ASSERT_FATAL(hx_write_file(H, "node.yaml", RESPONDER
		"  another:\n    type: echoer\n") != NULL);
	CU_ASSERT_EQUAL(reload(node, 2), 0);
	CU_ASSERT_EQUAL(summary(node, "reload: applied: 2 worker(s) kept, 1 started, 1 stopped", 2), 0);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 0);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT), "100 sent, 100 received, 0% loss"));
	/* One channel all along: every ping came out of the same channel
	 * end (its encryptor's address in the return route), and the
	 * listener opened one channel. */
	const char *rlog = hx_read(node, HX_STDERR);
	char line[512], enc[64] = "";
	if (hx_find_line(rlog, "return route [sc_enc.", line, sizeof(line)) == 0)
		sscanf(strstr(line, "[sc_enc.") + 1, "%63[^,]", enc);
	CU_ASSERT(enc[0] != '\0');
	CU_ASSERT_EQUAL(integ_lines(rlog, "echoer: received", enc), 100);
	CU_ASSERT_EQUAL(integ_lines(rlog, "bob_listener", "secure channel open with"), 1);
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

static void test_under_traffic(void)
{
	struct hx_proc *node, *p;
	int port = 0;
	char route[64];
	integ_begin("reload-traffic");
	const char *path = hx_write_file(H, "node.yaml", HEAD
		"  e1:\n    type: echoer\n");
	CU_ASSERT_FATAL(path != NULL);
	node = integ_start_node("reloaded", path, node_env(), &port);
	CU_ASSERT_FATAL(node != NULL);
	snprintf(route, sizeof(route), "tcp:127.0.0.1:%d,e1", port);
	p = ping_bg("ping-plain", route, NULL, NULL, "150");
	CU_ASSERT_FATAL(p != NULL);
	for (unsigned i = 1; i <= 5; i++) {
		CU_ASSERT_FATAL(hx_write_file(H, "node.yaml", i % 2 ?
			HEAD "  e1:\n    type: echoer\n  x:\n    type: echoer\n" :
			HEAD "  e1:\n    type: echoer\n") != NULL);
		CU_ASSERT_EQUAL(reload(node, i), 0);
		CU_ASSERT_EQUAL(summary(node, "reload: applied: 1 worker(s) kept", i), 0);
		usleep(200 * 1000);
	}
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 0);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT), "150 sent, 150 received, 0% loss"));
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

/* Named routes: a worker naming a route that changed is replaced; one
 * whose route is the same is kept. */
static void test_routes(void)
{
	struct hx_proc *node;
	int port = 0;
	integ_begin("reload-routes");
#define ROUTES(to_bob, extra)                                             \
	"node: reloaded\n"                                                \
	"transports:\n"                                                   \
	"  tcp:\n"                                                        \
	"    listen: 127.0.0.1:0\n"                                       \
	"routes:\n"                                                       \
	"  to_bob: " to_bob "\n"                                           \
	"workers:\n"                                                      \
	"  e1:\n    type: echoer\n"                                       \
	"  alice:\n    type: secure_channel\n"                            \
	"    options: { role: initiator, trust: everyone, route: to_bob }\n" extra
	const char *path = hx_write_file(H, "node.yaml",
		ROUTES("[tcp:127.0.0.1:9, bob_listener]", ""));
	CU_ASSERT_FATAL(path != NULL);
	node = integ_start_node("reloaded", path, NULL, &port);
	CU_ASSERT_FATAL(node != NULL);

	/* Same route, a route added: alice kept. */
	CU_ASSERT_FATAL(hx_write_file(H, "node.yaml",
		ROUTES("[tcp:127.0.0.1:9, bob_listener]",
		       "  e2:\n    type: echoer\n")) != NULL);
	CU_ASSERT_EQUAL(reload(node, 1), 0);
	CU_ASSERT_EQUAL(summary(node, "reload: applied: 2 worker(s) kept, 1 started, 0 stopped", 1), 0);
	/* to_bob changed: alice replaced, the echoers kept. */
	CU_ASSERT_FATAL(hx_write_file(H, "node.yaml",
		ROUTES("[tcp:127.0.0.1:10, bob_listener]",
		       "  e2:\n    type: echoer\n")) != NULL);
	CU_ASSERT_EQUAL(reload(node, 2), 0);
	CU_ASSERT_EQUAL(summary(node, "reload: applied: 2 worker(s) kept, 1 started, 1 stopped", 1), 0);
	CU_ASSERT(integ_contains(hx_read(node, HX_STDERR), "reload: replacing changed worker 'alice'"));
	CU_ASSERT_EQUAL(ping(port, "e2", 1), 0);
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

/* `ockam-host reload`: through a secure channel it reloads and prints the
 * node's answer; in plaintext, or to a node without remote_reload, it is
 * refused (exit 1) and nothing is reloaded. */
static void test_reload_command(void)
{
	struct hx_proc *node, *p;
	int port = 0;
	char env_port[32], to[64];
	integ_begin("reload-command");
#define REMOTE(extra)                                                     \
	"node: reloaded\n"                                                \
	"status: true\n"                                                  \
	"remote_reload: true\n"                                           \
	"transports:\n"                                                   \
	"  tcp:\n"                                                        \
	"    listen: 127.0.0.1:${RELOAD_PORT:-0}\n"                       \
	"workers:\n"                                                      \
	"  echoer:\n    type: echoer\n"                                   \
	"  bob_listener:\n    type: secure_channel\n"                     \
	"    options: { role: listener, trust: everyone }\n" extra
	const char *path = hx_write_file(H, "node.yaml", REMOTE(""));
	const char *init = hx_write_file(H, "initiator.yaml",
		"node: initiator\n"
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  alice:\n"
		"    type: secure_channel\n"
		"    options:\n"
		"      role: initiator\n"
		"      trust: everyone\n"
		"      route:\n"
		"        - tcp:127.0.0.1:${RELOAD_PORT}\n"
		"        - bob_listener\n");
	CU_ASSERT_FATAL(path && init);
	node = integ_start_node("reloaded", path, node_env(), &port);
	CU_ASSERT_FATAL(node != NULL);
	snprintf(env_port, sizeof(env_port), "RELOAD_PORT=%d", port);
	snprintf(to, sizeof(to), "tcp:127.0.0.1:%d", port);
	CU_ASSERT_FATAL(hx_write_file(H, "node.yaml",
		REMOTE("  e2:\n    type: echoer\n")) != NULL);

	/* Plaintext: refused, nothing reloaded. */
	CU_ASSERT_EQUAL(integ_run_host("reload-plain",
				(const char *[]){ "reload", "--to", to, NULL }, NULL, &p), 1);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT),
				 "refused: a reload request must come out of a secure channel"));
	CU_ASSERT_NOT_EQUAL(ping(port, "e2", 1), 0);
	CU_ASSERT_PTR_NULL(strstr(hx_read(node, HX_STDERR), "reload: reading"));

	/* Through the channel: applied. */
	CU_ASSERT_EQUAL(integ_run_host("reload-secure",
				(const char *[]){ "reload", "--config", init, "alice,status", NULL },
				(const char *[]){ env_port, NULL }, &p), 0);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT),
				 "applied: 2 worker(s) kept, 1 started, 0 stopped"));
	CU_ASSERT_EQUAL(ping(port, "e2", 1), 0);

	/* An invalid file: the node says so, exit 1, e2 still there. */
	CU_ASSERT_FATAL(hx_write_file(H, "node.yaml", REMOTE("  e3:\n    type: nope\n")) != NULL);
	usleep(1100 * 1000); /* one reload a second */
	CU_ASSERT_EQUAL(integ_run_host("reload-invalid",
				(const char *[]){ "reload", "--config", init, "alice,status", NULL },
				(const char *[]){ env_port, NULL }, &p), 1);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT), "refused: "));
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT), "has errors; nothing changed"));
	CU_ASSERT_EQUAL(ping(port, "e2", 1), 0);
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);

	/* A node without remote_reload refuses even through a channel. */
	const char *off = hx_write_file(H, "off.yaml",
		"node: reloaded\n"
		"status: true\n"
		"transports:\n"
		"  tcp:\n"
		"    listen: 127.0.0.1:0\n"
		"workers:\n"
		"  bob_listener:\n    type: secure_channel\n"
		"    options: { role: listener, trust: everyone }\n");
	node = integ_start_node("reloaded", off, NULL, &port);
	CU_ASSERT_FATAL(node != NULL);
	snprintf(env_port, sizeof(env_port), "RELOAD_PORT=%d", port);
	CU_ASSERT_EQUAL(integ_run_host("reload-off",
				(const char *[]){ "reload", "--config", init, "alice,status", NULL },
				(const char *[]){ env_port, NULL }, &p), 1);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT), "remote_reload is off"));
	CU_ASSERT_PTR_NULL(strstr(hx_read(node, HX_STDERR), "reload: reading"));
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "add, remove and change workers", test_add_remove_change },
		{ "an invalid file keeps the old configuration", test_invalid_keeps_old },
		{ "a secure channel survives a reload of another worker", test_channel_survives },
		{ "reloads under traffic lose nothing", test_under_traffic },
		{ "a worker naming a changed route is replaced", test_routes },
		{ "ockam-host reload: secure channel only, opt-in", test_reload_command },
		{ NULL, NULL },
	};
	return integ_run("reload", tests);
}
