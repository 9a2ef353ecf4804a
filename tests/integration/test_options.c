/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Declared options, as a user meets them through `ockam-host --check`:
 * every plugin's options checked against its table (YAML's 42 is not
 * "42", ranges, choices, required keys, unknown keys with a did-you-mean,
 * the plugin's own cross-option check), every mistake of a file in one run
 * with its position, line and caret; the effective configuration with every
 * default, which loads back to itself, and the same as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ.h"
#include "json_mini.h"

/* uppercase.so (the example) and tamper.so (a test plugin) are built
 * outside the plugin path. */
#define UPPERCASE_DIR INTEG_BUILD_ROOT "/plugins/examples/uppercase"
#define PLUGIN_DIRS "[" UPPERCASE_DIR ", " INTEG_BUILD_ROOT "/tests/plugins/tamper]"

struct bad_option {
	const char *name;
	const char *yaml; /* after "node: x\nplugin_dir: PLUGIN_DIRS\n" */
	unsigned line, col;
	const char *says;
};

static const struct bad_option bad_options[] = {
	/* A plain 42 is a number: a string option refuses it, with the fix. */
	{ "string-number",
	  "workers:\n"
	  "  up: { type: uppercase, options: { prefix: 42 } }\n",
	  4, 45, "prefix: 42 is a number, not a string (quote it: \"42\")" },
	{ "string-bool",
	  "workers:\n"
	  "  up: { type: uppercase, options: { prefix: true } }\n",
	  4, 45, "prefix: true is a boolean, not a string (quote it: \"true\")" },
	{ "string-null",
	  "workers:\n"
	  "  up: { type: uppercase, options: { prefix: null } }\n",
	  4, 45, "prefix: expected a string, got nothing" },
	/* A quoted "42" is a string: an integer option refuses it. */
	{ "int-quoted",
	  "transports:\n"
	  "  tcp: { max_connections: \"42\" }\n",
	  4, 27, "max_connections: \"42\" is quoted, so a string, not a number (write it without quotes)" },
	{ "int-range",
	  "transports:\n"
	  "  tcp: { max_connections: 0 }\n",
	  4, 27, "max_connections: 0 is out of range (a whole number from 1 to 1000000)" },
	{ "size-range",
	  "transports:\n"
	  "  tcp: { max_message_size: 32 }\n",
	  4, 28, "max_message_size: 32 is too small (at least 64)" },
	{ "duration-range",
	  "transports:\n"
	  "  tcp: { keepalive: 10h }\n",
	  4, 21, "keepalive: 10h is out of range (0 to 32767s)" },
	{ "enum-typo",
	  "workers:\n"
	  "  bob: { type: secure_channel, options: { role: listner, trust: everyone } }\n",
	  4, 49, "role: expected listener or initiator, got 'listner' (did you mean 'listener'?)" },
	{ "bool-quoted",
	  "workers:\n"
	  "  bob: { type: tamper, options: { trace: \"true\" } }\n",
	  4, 42, "trace: \"true\" is quoted, so a string, not true or false (write it without quotes)" },
	{ "required",
	  "workers:\n"
	  "  bob: { type: secure_channel, options: { role: listener } }\n",
	  4, 41, "missing key 'trust' in the options of 'bob' (everyone, or a list of identifiers)" },
	{ "unknown-key",
	  "transports:\n"
	  "  tcp: { max_conections: 8 }\n",
	  4, 10, "unknown key 'max_conections' in the options of 'tcp' (did you mean 'max_connections'?)" },
	{ "no-options-at-all",
	  "workers:\n"
	  "  e: { type: echoer, options: { colour: blue } }\n",
	  4, 33, "unknown key 'colour' in the options of 'e'" },
	/* What only the plugin's check op knows: one key against another. */
	{ "cross-option",
	  "transports:\n"
	  "  tcp: { max_message_size: 1MiB, send_queue_limit: 1KiB }\n",
	  4, 52, "send_queue_limit: 1024 bytes is less than max_message_size + 4 (1048580)" },
	{ "cross-option-length",
	  "workers:\n"
	  "  up: { type: uppercase, options: { prefix: \"0123456789012345678901234567890123456789012345678901234567890123456789\" } }\n",
	  4, 45, "'prefix' is 70 bytes; at most 64 are allowed" },
	/* Routes in options, at load time: a first hop that is no worker
	 * here, and a port out of range. */
	{ "route-no-worker",
	  "workers:\n"
	  "  echoer: { type: echoer }\n"
	  "  alice: { type: secure_channel, options: { role: initiator, trust: everyone, route: [bobb] } }\n",
	  5, 87, "the route starts at 'bobb', which is no worker of this node" },
	{ "route-port",
	  "transports:\n"
	  "  tcp: {}\n"
	  "workers:\n"
	  "  alice: { type: secure_channel, options: { role: initiator, trust: everyone, route: [tcp:127.0.0.1:99999, bob] } }\n",
	  6, 87, "address 'tcp:127.0.0.1:99999': port 99999 is out of range (1 to 65535)" },
	{ "route-port-word",
	  "transports:\n"
	  "  tcp: {}\n"
	  "routes:\n"
	  "  to_bob: [tcp:127.0.0.1:forty, bob]\n",
	  6, 12, "address 'tcp:127.0.0.1:forty': port 'forty' is not a number (1 to 65535)" },
	{ "route-name",
	  "routes:\n"
	  "  to_bob: [bob]\n"
	  "workers:\n"
	  "  bob: { type: echoer }\n"
	  "  alice: { type: secure_channel, options: { role: initiator, trust: everyone, route: to_bobb } }\n",
	  7, 86, "route: unknown route 'to_bobb' (did you mean 'to_bob'?)" },
	{ "addrs-pattern",
	  "transports:\n"
	  "  tcp: {}\n"
	  "workers:\n"
	  "  h: { type: hop, options: { to: [\"tcp:1*:4000\"] } }\n",
	  6, 35, "'tcp:1*:4000' in 'to': '*' stands for a whole host, not part of one" },
};

static const char *write_node(const char *file, const char *body)
{
	return integ_write_config(file, "node: x\nplugin_dir: %s\n%s",
				  PLUGIN_DIRS, body);
}

/* "<path>:<line>:<col>: <says>" on stderr, then its source line and a
 * caret under the column. */
static int reported(const char *err, const char *path, unsigned line,
		    unsigned col, const char *says)
{
	char want[1024];
	snprintf(want, sizeof(want), "%s:%u:%u: %s", path, line, col, says);
	const char *at = strstr(err, want);
	if (!at) {
		fprintf(stderr, "expected \"%s\" in:\n%s", want, err);
		return 0;
	}
	/* "    N | text\n      |     ^" */
	const char *caret = strchr(at, '\n');
	caret = caret ? strchr(caret + 1, '\n') : NULL;
	if (!caret || strncmp(caret + 1, "      | ", 8) != 0 ||
	    strlen(caret + 9) < col || caret[8 + col] != '^') {
		fprintf(stderr, "no caret under column %u after \"%s\"\n", col,
			want);
		return 0;
	}
	return 1;
}

static void test_bad_options(void)
{
	struct hx_proc *p;

	integ_begin("options-bad");
	for (size_t i = 0; i < sizeof(bad_options) / sizeof(bad_options[0]);
	     i++) {
		const struct bad_option *b = &bad_options[i];
		char file[64];
		snprintf(file, sizeof(file), "%s.yaml", b->name);
		const char *path = write_node(file, b->yaml);
		CU_ASSERT_PTR_NOT_NULL_FATAL(path);
		CU_ASSERT_EQUAL(integ_run_host(b->name,
				    (const char *[]){ "--check", path, NULL },
				    NULL, &p), 1);
		CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
		CU_ASSERT(reported(hx_read(p, HX_STDERR), path, b->line,
				   b->col, b->says));
		/* A run says the same, exit 2, before starting anything. */
		CU_ASSERT_EQUAL(integ_run_host(b->name, (const char *[]){ path, NULL },
					       NULL, &p), 2);
		CU_ASSERT(reported(hx_read(p, HX_STDERR), path, b->line,
				   b->col, b->says));
		CU_ASSERT_PTR_NULL(strstr(hx_read(p, HX_STDERR), " ready"));
	}
}

/* What the same values look like when they are right: no error. */
static void test_good_types(void)
{
	struct hx_proc *p;

	integ_begin("options-good");
	const char *path = write_node("good.yaml",
		"transports:\n"
		"  tcp: { max_connections: 42, keepalive: 0 }\n"
		"workers:\n"
		"  up: { type: uppercase, options: { prefix: \"42\" } }\n"
		"  bob: { type: secure_channel, options: { role: listener, trust: everyone } }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL(integ_run_host("good", (const char *[]){ "--check", path, NULL },
				       NULL, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDERR), "");
	const char *out = hx_read(p, HX_STDOUT);
	CU_ASSERT(integ_contains(out, "    max_connections: 42\n"));
	CU_ASSERT(integ_contains(out, "      prefix: \"42\"\n"));
}

/* Issue #21: four mistakes in four plugins' options (and a host key, an
 * unknown plugin type and a route) are all reported by one run. */
static void test_one_pass(void)
{
	struct hx_proc *p;

	integ_begin("options-one-pass");
	const char *path = write_node("four.yaml",
		"log_levl: info\n"                                          /* 3 */
		"transports:\n"
		"  tcp: { max_connections: \"8\" }\n"                       /* 5 */
		"workers:\n"
		"  up: { type: uppercase, options: { prefix: 42 } }\n"     /* 7 */
		"  h: { type: hop, options: { too: [] } }\n"               /* 8 */
		"  bob: { type: secure_channel, options: { role: listner, trust: everyone } }\n" /* 9 */
		"  e: { type: echoerr }\n"                                  /* 10 */
		"messages:\n"
		"  - { route: [upp], payload: hi }\n");                     /* 12 */
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL(integ_run_host("four", (const char *[]){ "--check", path, NULL },
				       NULL, &p), 1);
	const char *err = hx_read(p, HX_STDERR);
	CU_ASSERT(reported(err, path, 3, 1,
			   "unknown key 'log_levl' in the top-level map (did you mean 'log_level'?)"));
	CU_ASSERT(reported(err, path, 5, 27, "max_connections: \"8\" is quoted"));
	CU_ASSERT(reported(err, path, 7, 45, "prefix: 42 is a number"));
	CU_ASSERT(reported(err, path, 8, 30,
			   "unknown key 'too' in the options of 'h' (did you mean 'to'?)"));
	CU_ASSERT(reported(err, path, 9, 49, "role: expected listener or initiator, got 'listner' (did you mean 'listener'?)"));
	CU_ASSERT(reported(err, path, 10, 14, "unknown type 'echoerr' (did you mean 'echoer'?)"));
	CU_ASSERT(reported(err, path, 12, 15,
			   "the route starts at 'upp', which is no worker of this node (did you mean 'up'?)"));
	/* Exactly those seven, and the verdict. */
	size_t plen = strlen(path), lines = 0;
	for (const char *l = err; *l;) {
		if (!strncmp(l, path, plen) && l[plen] == ':')
			lines++;
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : l + strlen(l);
	}
	CU_ASSERT_EQUAL(lines, 8); /* 7 errors and "...: invalid configuration" */

	/* In one instance: what its check op refuses, and a route hop. */
	path = write_node("same.yaml",
		"transports:\n"
		"  tcp: {}\n"
		"workers:\n"
		"  bob: { type: echoer }\n"
		"  alice: { type: secure_channel, options: { role: initiator, trust: [Ibad], route: [bobb] } }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL(integ_run_host("same", (const char *[]){ "--check", path, NULL },
				       NULL, &p), 1);
	err = hx_read(p, HX_STDERR);
	CU_ASSERT(reported(err, path, 7, 70,
			   "'Ibad' is not an identifier (expected I and 32 lowercase hex digits)"));
	CU_ASSERT(reported(err, path, 7, 85,
			   "the route starts at 'bobb', which is no worker of this node (did you mean 'bob'?)"));
}

/* A file with more mistakes than are shown: the first 50, then a count. */
static void test_cap(void)
{
	struct hx_proc *p;
	char body[8192];
	size_t n = (size_t)snprintf(body, sizeof(body), "transports:\n  tcp:\n");

	integ_begin("options-cap");
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
				      "    nonsense_%02d: 1\n", i);
	const char *path = write_node("cap.yaml", body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL(integ_run_host("cap", (const char *[]){ "--check", path, NULL },
				       NULL, &p), 1);
	const char *err = hx_read(p, HX_STDERR);
	CU_ASSERT(integ_contains(err, "nonsense_49"));
	CU_ASSERT_PTR_NULL(strstr(err, "nonsense_50"));
	CU_ASSERT(integ_contains(err, "10 more errors not shown"));
}

static const char full_yaml[] =
	"node: full\n"
	"plugin_dir: %s\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: 127.0.0.1:0\n"
	"workers:\n"
	"  echoer: { type: echoer, access: secure_channel }\n"
	"  up: { type: uppercase, options: { prefix: \"${OPT_PREFIX:-42}\" } }\n"
	"  h: { type: hop, options: { to: \"tcp:127.0.0.1:*\" }, reach: [echoer] }\n"
	"  bob: { type: secure_channel, options: { role: listener, trust: everyone, vault: bob.vault } }\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options: { role: initiator, trust: [I0123456789abcdef0123456789abcdef], route: to_bob }\n"
	"routes:\n"
	"  to_bob: [tcp:127.0.0.1:4000, bob]\n"
	"messages:\n"
	"  - { route: [up], payload: \"costs $$5\" }\n"
	"  - { route: to_bob, payload: \"true\", reply: false, timeout: 2s }\n"
	"after_messages: run\n";

/* --check's output is a node description that loads back to itself: fed
 * back in, it prints the same, byte for byte. */
static void test_round_trip(void)
{
	struct hx_proc *p;

	integ_begin("options-round-trip");
	const char *path = integ_write_config("full.yaml", full_yaml,
					      UPPERCASE_DIR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL(integ_run_host("first", (const char *[]){ "--check", path, NULL },
				       NULL, &p), 0);
	char *first = strdup(hx_read(p, HX_STDOUT));
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	/* Every default, the plugins' too; access and reach. */
	CU_ASSERT(integ_contains(first, "    listen: [127.0.0.1:0]\n"));
	CU_ASSERT(integ_contains(first, "    max_message_size: 1MiB\n"));
	CU_ASSERT(integ_contains(first, "    idle_timeout: 5m\n"));
	CU_ASSERT(integ_contains(first, "      prefix: \"42\"\n"
					"      report_every: 0\n"));
	CU_ASSERT(integ_contains(first, "      to: [\"tcp:127.0.0.1:*\"]\n"));
	/* A secure channel's defaults: those of its role only (only_if),
	 * so the output loads back without "only for role" errors. */
	CU_ASSERT(integ_contains(first, "      key_exchange: noise\n"
					"      suite: Noise_XX_25519_ChaChaPoly_BLAKE2b\n"
					"      handshake_timeout: 30s\n"
					"      rekey_interval: 4096\n"
					"      max_handshakes: 256\n"
					"      max_handshakes_per_source: 64\n"
					"      max_channels: 10000\n"
					"      max_channels_per_source: 1000\n"
					"      idle_timeout: 10m\n"
					"      keepalive: 10s\n"));
	CU_ASSERT(integ_contains(first, "      queue_limit: 64\n"
					"      rehandshake: true\n"
					"      rehandshake_backoff: 1s\n"
					"      rehandshake_backoff_max: 30s\n"
					"      keepalive: 10s\n"
					"      dead_peer_timeout: 15s\n"));
	CU_ASSERT_PTR_NULL(strstr(strstr(first, "max_channels:") + 1,
				  "max_channels:"));
	CU_ASSERT_PTR_NULL(strstr(first, "signed_prekey_rotation"));
	CU_ASSERT(integ_contains(first, "    access: secure_channel\n"));
	CU_ASSERT(integ_contains(first, "    reach: [echoer]\n"));
	CU_ASSERT(integ_contains(first, "    payload: \"costs $$5\"\n"));
	CU_ASSERT(integ_contains(first, "    payload: \"true\"\n"));
	/* A relative path is made absolute, so the copy means the same
	 * file wherever it is. */
	CU_ASSERT(integ_contains(first, "/bob.vault\n"));
	CU_ASSERT_PTR_NULL(strstr(first, "vault: bob.vault"));

	const char *again = hx_write_file(H, "again.yaml", first);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	CU_ASSERT_EQUAL(integ_run_host("again", (const char *[]){ "--check", again, NULL },
				       NULL, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), first);
	free(first);
}

/* --check --json: the same tree, typed, parsed by a JSON reader. */
static void test_json(void)
{
	struct hx_proc *p;
	char err[256];

	integ_begin("options-json");
	const char *path = integ_write_config("full.yaml", full_yaml,
					      UPPERCASE_DIR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL(integ_run_host("json",
			    (const char *[]){ "--check", "--json", path, NULL },
			    NULL, &p), 0);
	const char *out = hx_read(p, HX_STDOUT);
	struct json_value *v = json_parse(out, strlen(out), err, sizeof(err));
	if (!v)
		fprintf(stderr, "not JSON (%s):\n%s", err, out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(json_get_string(v, "node"), "full");
	const struct json_value *tcp =
		json_get(json_get(v, "transports"), "tcp");
	const struct json_value *mc = json_get(tcp, "max_connections");
	CU_ASSERT(mc && mc->type == JSON_NUMBER && mc->number == 1024);
	CU_ASSERT_STRING_EQUAL(json_get_string(tcp, "max_message_size"), "1MiB");
	const struct json_value *listen = json_get(tcp, "listen");
	CU_ASSERT(listen && listen->type == JSON_ARRAY && listen->count == 1);
	const struct json_value *up =
		json_get(json_get(json_get(v, "workers"), "up"), "options");
	CU_ASSERT_STRING_EQUAL(json_get_string(up, "prefix"), "42");
	const struct json_value *msgs = json_get(v, "messages");
	CU_ASSERT_FATAL(msgs && msgs->type == JSON_ARRAY && msgs->count == 2);
	CU_ASSERT_STRING_EQUAL(json_get_string(&msgs->items[0], "payload"),
			       "costs $5");
	CU_ASSERT_STRING_EQUAL(json_get_string(&msgs->items[1], "payload"),
			       "true");
	const struct json_value *reply = json_get(&msgs->items[1], "reply");
	CU_ASSERT(reply && reply->type == JSON_BOOL && reply->boolean == 0);
	const struct json_value *status = json_get(v, "status");
	CU_ASSERT(status && status->type == JSON_BOOL && !status->boolean);
	json_free(v);

	/* --json alone is a usage error. */
	CU_ASSERT_EQUAL(integ_run_host("json-alone",
			    (const char *[]){ "--json", path, NULL }, NULL, &p), 2);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), "--json goes with --check"));
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "each kind of bad option, with its position", test_bad_options },
		{ "the same values, right", test_good_types },
		{ "every mistake of a file in one run", test_one_pass },
		{ "50 errors shown, the rest counted", test_cap },
		{ "--check loads back to itself", test_round_trip },
		{ "--check --json", test_json },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
