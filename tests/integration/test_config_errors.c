/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bad node description makes ockam-host exit 2 with
 * "file:line:col: message" on stderr, before it starts anything: no
 * listener, no "ready", nothing on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

struct bad_config {
	const char *file;
	const char *yaml;
	unsigned line, col; /* expected position; 0 = any */
	const char *mentions; /* the message names the culprit */
};

static const struct bad_config bad_configs[] = {
	{ "syntax.yaml",
	  "node: syntax\n"
	  "transports:\n"
	  "  tcp:\n"
	  "    listen: [127.0.0.1:0\n"
	  "workers: {}\n",
	  0, 0, NULL },
	{ "unknown-key.yaml",
	  "node: unknown-key\n"
	  "transports:\n"
	  "  tcp:\n"
	  "    listen: 127.0.0.1:0\n"
	  "workers:\n"
	  "  echoer:\n"
	  "    type: echoer\n"
	  "    colour: blue\n",
	  8, 5, "colour" },
	{ "unknown-plugin.yaml",
	  "node: unknown-plugin\n"
	  "transports:\n"
	  "  tcp:\n"
	  "    listen: 127.0.0.1:0\n"
	  "workers:\n"
	  "  echoer:\n"
	  "    type: no_such_plugin\n",
	  7, 11, "no_such_plugin" },
	{ "bad-listen.yaml",
	  "node: bad-listen\n"
	  "transports:\n"
	  "  tcp:\n"
	  "    listen: 127.0.0.1:99999\n",
	  4, 13, "99999" },
	{ "no-node.yaml",
	  "transports:\n"
	  "  tcp: {}\n",
	  0, 0, "node" },
	/* A named route is checked even if nothing uses it yet. */
	{ "unused-route.yaml",
	  "node: unused-route\n"
	  "routes:\n"
	  "  later: [tcp:localhost:4000, echoer]\n",
	  3, 11, "unknown transport 'tcp'" },
	{ "listener-queue-limit.yaml",
	  "node: listener-queue-limit\n"
	  "workers:\n"
	  "  bob:\n"
	  "    type: secure_channel\n"
	  "    options: {role: listener, trust: everyone, queue_limit: 8}\n",
	  5, 61, "queue_limit is only for role: initiator" },
	/* docs/security.md: options for the wrong role, a backoff range
	 * upside down, a zero backoff. */
	{ "initiator-idle-timeout.yaml",
	  "node: initiator-idle-timeout\n"
	  "workers:\n"
	  "  alice:\n"
	  "    type: secure_channel\n"
	  "    options: {role: initiator, route: [bob], trust: everyone, idle_timeout: 5s}\n",
	  5, 77, "idle_timeout is only for role: listener" },
	{ "listener-rehandshake.yaml",
	  "node: listener-rehandshake\n"
	  "workers:\n"
	  "  bob:\n"
	  "    type: secure_channel\n"
	  "    options: {role: listener, trust: everyone, rehandshake: false}\n",
	  5, 61, "rehandshake is only for role: initiator" },
	{ "backoff-max-below-min.yaml",
	  "node: backoff-max-below-min\n"
	  "workers:\n"
	  "  alice:\n"
	  "    type: secure_channel\n"
	  "    options: {role: initiator, route: [bob], trust: everyone, rehandshake_backoff: 5s, rehandshake_backoff_max: 2s}\n",
	  5, 113,
	  "rehandshake_backoff_max must be at least rehandshake_backoff (5000 ms)" },
	{ "backoff-zero.yaml",
	  "node: backoff-zero\n"
	  "workers:\n"
	  "  alice:\n"
	  "    type: secure_channel\n"
	  "    options: {role: initiator, route: [bob], trust: everyone, rehandshake_backoff: 0}\n",
	  5, 84, "rehandshake_backoff: 0 is out of range (1ms to 1h)" },
	/* docs/security.md, "A channel survives a restart". */
	{ "listener-dead-peer.yaml",
	  "node: listener-dead-peer\n"
	  "workers:\n"
	  "  bob:\n"
	  "    type: secure_channel\n"
	  "    options: {role: listener, trust: everyone, dead_peer_timeout: 5s}\n",
	  5, 67, "dead_peer_timeout is only for role: initiator" },
	{ "keepalive-too-short.yaml",
	  "node: keepalive-too-short\n"
	  "workers:\n"
	  "  alice:\n"
	  "    type: secure_channel\n"
	  "    options: {role: initiator, route: [bob], trust: everyone, keepalive: 5ms}\n",
	  5, 74, "keepalive must be 0 (off) or from 10ms to 1h" },
	/* A message must start where this node has something: a typo in
	 * its first hop is caught before anything is sent. */
	{ "message-first-hop.yaml",
	  "node: message-first-hop\n"
	  "workers:\n"
	  "  echoer: { type: echoer }\n"
	  "messages:\n"
	  "  - { route: [echoerr], payload: hi }\n",
	  5, 15,
	  "the route starts at 'echoerr', which is no worker of this node (did you mean 'echoer'?)" },
	/* Replies to messages: come back to 'app': a worker there is an
	 * error at its key, not a failure once the node runs. */
	{ "worker-app.yaml",
	  "node: worker-app\n"
	  "workers:\n"
	  "  echoer: { type: echoer }\n"
	  "  app: { type: echoer }\n"
	  "messages:\n"
	  "  - { route: [echoer], payload: hi }\n",
	  4, 3,
	  "worker address 'app' is taken: the node's messages: get their replies there" },
	/* A plugin_dir that is not there is a typo, not an empty directory. */
	{ "plugin-dir-missing.yaml",
	  "node: plugin-dir-missing\n"
	  "plugin_dir: [no-such-plugins]\n"
	  "workers:\n"
	  "  echoer: { type: echoer }\n",
	  2, 14, "plugin_dir 'no-such-plugins' (" },
	/* Did you mean, among the plugins in the search path. */
	{ "plugin-type-typo.yaml",
	  "node: plugin-type-typo\n"
	  "workers:\n"
	  "  bob:\n"
	  "    type: secure_chanel\n",
	  4, 11, "unknown type 'secure_chanel' (did you mean 'secure_channel'?)" },
	/* A port out of range and a port that is no number: two mistakes,
	 * two messages. */
	{ "listen-port-range.yaml",
	  "node: listen-port-range\n"
	  "transports:\n"
	  "  tcp: { listen: 127.0.0.1:99999 }\n",
	  3, 18, "listen: '127.0.0.1:99999': port 99999 is out of range (0 to 65535)" },
	{ "listen-port-word.yaml",
	  "node: listen-port-word\n"
	  "transports:\n"
	  "  tcp: { listen: 127.0.0.1:forty }\n",
	  3, 18, "listen: '127.0.0.1:forty': port 'forty' is not a number" },
	/* A duration needs its unit: 10 was 10 ms, while ping -W 10 is
	 * 10 s.  Host keys and plugin options (through the host's duration
	 * getter) alike. */
	{ "timeout-no-unit.yaml",
	  "node: timeout-no-unit\n"
	  "workers:\n"
	  "  echoer: { type: echoer }\n"
	  "messages:\n"
	  "  - { route: [echoer], payload: hi, timeout: 10 }\n",
	  5, 46, "timeout: 10 has no unit (did you mean 10s?)" },
	{ "plugin-duration-no-unit.yaml",
	  "node: plugin-duration-no-unit\n"
	  "transports:\n"
	  "  tcp: { idle_timeout: 30 }\n",
	  3, 24, "idle_timeout: 30 has no unit (did you mean 30s?)" },
	/* Two addresses written as one. */
	{ "route-space.yaml",
	  "node: route-space\n"
	  "transports:\n"
	  "  tcp: {}\n"
	  "messages:\n"
	  "  - { route: [tcp:127.0.0.1:4000 echoer], payload: hi }\n",
	  5, 15,
	  "address 'tcp:127.0.0.1:4000 echoer' has a space in it; a route's addresses are separate items: [tcp:127.0.0.1:4000, echoer]" },
	/* Identifiers are "I" and 32 lowercase hex digits: one with capital
	 * letters (as a copy from elsewhere may have) would never match. */
	{ "access-bad-identifier.yaml",
	  "node: access-bad-identifier\n"
	  "workers:\n"
	  "  echoer:\n"
	  "    type: echoer\n"
	  "    access: [I0123456789abcdef0123456789abcdef,\n"
	  "             I0123456789ABCDEF0123456789ABCDEF]\n",
	  6, 14,
	  "identifier 'I0123456789ABCDEF0123456789ABCDEF' in 'access' of worker 'echoer' is not an identifier: expected I and 32 lowercase hex digits" },
};

/* Does `err` have a line "<path>:<line>:<col>: ..." (any position if
 * line is 0)?  Copies it to out. */
static int has_position(const char *err, const char *path, unsigned line,
			unsigned col, char *out, size_t cap)
{
	size_t plen = strlen(path);

	for (const char *l = err; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1
							  : l + strlen(l)) {
		unsigned long ln, cn;
		char *end;

		if (strncmp(l, path, plen) != 0 || l[plen] != ':')
			continue;
		ln = strtoul(l + plen + 1, &end, 10);
		if (*end != ':')
			continue;
		cn = strtoul(end + 1, &end, 10);
		if (*end != ':' || ln == 0 || cn == 0)
			continue;
		if (line && (ln != line || cn != col))
			continue;
		hx_find_line(l, path, out, cap);
		return 1;
	}
	return 0;
}

static void test_config_errors(void)
{
	integ_begin("config_errors");
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]);
	     i++) {
		const struct bad_config *b = &bad_configs[i];
		const char *path = hx_write_file(H, b->file, b->yaml);
		struct hx_proc *p;
		const char *err;
		char line[512] = "";
		int ok;

		CU_ASSERT_PTR_NOT_NULL_FATAL(path);
		p = hx_spawn_host(H, b->file, path, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 2);
		err = hx_read(p, HX_STDERR);
		ok = has_position(err, path, b->line, b->col, line,
				  sizeof(line));
		CU_ASSERT(ok);
		if (b->mentions)
			CU_ASSERT_PTR_NOT_NULL(strstr(line, b->mentions));
		CU_ASSERT_PTR_NULL(strstr(err, "listening on"));
		CU_ASSERT_PTR_NULL(strstr(err, " ready"));
		CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
		if (!ok || (b->mentions && !strstr(line, b->mentions)))
			fprintf(stderr, "%s: expected %s:%u:%u: naming %s, "
				"got:\n%s", b->file, path, b->line, b->col,
				b->mentions ? b->mentions : "-", err);
	}
}

/* --check reports what a run would: a missing plugin_dir with its
 * position, exit 1. */
static void test_check_plugin_dir(void)
{
	struct hx_proc *p;
	char want[600];

	integ_begin("config_errors_check");
	const char *path = hx_write_file(H, "pd.yaml",
		"node: pd\n"
		"plugin_dir: /no/such/ockam/plugins\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL(integ_run_host("check", (const char *[]){ "--check", path, NULL },
				       NULL, &p), 1);
	snprintf(want, sizeof(want),
		 "%s:2:13: plugin_dir '/no/such/ockam/plugins': No such file or directory\n",
		 path);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), want));
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
}

/* A listen address already in use is the YAML's fault: its `listen:`
 * entry is named and the node exits 2 (before: a log line, exit 1). */
static void test_listen_in_use(void)
{
	char want[600];
	int port;

	integ_begin("config_errors_in_use");
	int fd = hx_tcp_listen(1, &port);
	CU_ASSERT_FATAL(fd >= 0);
	const char *path = integ_write_config("in-use.yaml",
		"node: in-use\n"
		"transports:\n"
		"  tcp:\n"
		"    listen: [127.0.0.1:0, 127.0.0.1:%d]\n"
		"workers:\n"
		"  echoer: { type: echoer }\n", port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	struct hx_proc *p = hx_spawn_host(H, "in-use", path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 2);
	close(fd);
	const char *err = hx_read(p, HX_STDERR);
	snprintf(want, sizeof(want),
		 "%s:4:27: cannot listen on 127.0.0.1:%d: Address already in use\n",
		 path, port);
	CU_ASSERT(integ_contains(err, want));
	CU_ASSERT_PTR_NULL(strstr(err, " ready"));
	CU_ASSERT_PTR_NULL(strstr(err, "failed to start"));
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "config_errors", test_config_errors },
		{ "--check: a missing plugin_dir", test_check_plugin_dir },
		{ "a listen address in use: its position, exit 2",
		  test_listen_in_use },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
