/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an operator sees from the ockam-host command line: --help (and
 * that the man page has every option it lists), --version, --check (the effective config, or every error with its
 * source line and a caret, exit 1) and ${VAR} expansion in a real run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ.h"

static void test_help_version(void)
{
	struct hx_proc *p;

	integ_begin("ops-help");
	CU_ASSERT_EQUAL(integ_run_host("help", (const char *[]){ "--help", NULL }, NULL, &p), 0);
	const char *out = hx_read(p, HX_STDOUT);
	CU_ASSERT(integ_contains(out, "Usage: ockam-host [OPTIONS] NODE.yaml"));
	CU_ASSERT(integ_contains(out, "ockam-host status --to ROUTE"));
	CU_ASSERT(integ_contains(out, "ockam-host ping"));
	CU_ASSERT(integ_contains(out, "--check"));
	/* Durations: plain seconds on the command line, a unit in YAML. */
	CU_ASSERT(integ_contains(out, "or plain seconds, as in ping(8)"));
	CU_ASSERT(integ_contains(out, "in NODE.yaml a duration needs\n  its unit: 10s, not 10"));

	CU_ASSERT_EQUAL(integ_run_host("ping-help", (const char *[]){ "ping", "--help", NULL },
			    NULL, &p), 0);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT), "Usage: ockam-host ping"));
	CU_ASSERT_EQUAL(integ_run_host("status-help",
			    (const char *[]){ "status", "--help", NULL }, NULL, &p), 0);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT), "Usage: ockam-host status"));

	CU_ASSERT_EQUAL(integ_run_host("version", (const char *[]){ "--version", NULL }, NULL, &p), 0);
	out = hx_read(p, HX_STDOUT);
	CU_ASSERT(strncmp(out, "ockam-host ", 11) == 0);
	CU_ASSERT(integ_contains(out, "plugin ABI "));

	/* A wrong option is a usage error (2): one line saying what was
	 * wrong and a hint, not the whole help. */
	static const struct {
		const char *args[4];
		const char *err;
	} bad[] = {
		{ { "--frobnicate", NULL },
		  "ockam-host: unknown option '--frobnicate'\n"
		  "try 'ockam-host --help'\n" },
		{ { "-x", "node.yaml", NULL },
		  "ockam-host: unknown option '-x'\n"
		  "try 'ockam-host --help'\n" },
		{ { "--check=yes", "node.yaml", NULL },
		  "ockam-host: option '--check' takes no value\n"
		  "try 'ockam-host --help'\n" },
		{ { NULL },
		  "ockam-host: expected one NODE.yaml argument\n"
		  "try 'ockam-host --help'\n" },
		{ { "a.yaml", "b.yaml", NULL },
		  "ockam-host: expected one NODE.yaml argument, not 2\n"
		  "try 'ockam-host --help'\n" },
		{ { "ping", "--timeout", NULL },
		  "ockam-host ping: option '--timeout' needs a value\n"
		  "try 'ockam-host ping --help'\n" },
		{ { "ping", "-W", "ten", "echoer" },
		  "ockam-host ping: -W ten: expected a duration like 250ms, 2s or 0.5 (plain numbers are seconds)\n"
		  "try 'ockam-host ping --help'\n" },
		{ { "status", "--frobnicate", NULL },
		  "ockam-host status: unknown option '--frobnicate'\n"
		  "try 'ockam-host status --help'\n" },
		{ { "status", NULL },
		  "ockam-host status: expected --to ROUTE, like --to tcp:127.0.0.1:4000\n"
		  "try 'ockam-host status --help'\n" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[6] = { NULL };
		for (size_t k = 0; k < 4 && bad[i].args[k]; k++)
			args[k] = bad[i].args[k];
		CU_ASSERT_EQUAL(integ_run_host("bad-option", args, NULL, &p), 2);
		CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDERR), bad[i].err);
		CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	}
}

/* The man page in roff: "--check" is written "\\-\\-check". */
static char *man_page_read(void)
{
	FILE *f = fopen(integ_src("docs/ockam-host.1"), "r");
	static char text[64 * 1024];
	size_t n;

	if (!f)
		return NULL;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

/* Is `word` in `text` as a whole word ("\\-t" is not the one in
 * "\\-\\-to")? */
static int man_has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *m = strstr(text, word); m; m = strstr(m + 1, word)) {
		char before = m == text ? ' ' : m[-1];
		char after = m[n];

		if (before != '-' && after != '-' && after != '_' &&
		    !(after >= 'a' && after <= 'z') &&
		    !(after >= 'A' && after <= 'Z'))
			return 1;
	}
	return 0;
}

/* Every option ("-c", "--check") and OCKAM_* variable a --help lists must
 * be in the man page, so the two cannot drift apart unnoticed. */
static void help_in_man_page(const char *help, const char *man,
			     const char *what)
{
	for (const char *p = help; *p; p++) {
		char word[64], roff[160];
		size_t n = 0;
		int at_word = p == help || p[-1] == ' ' || p[-1] == '[' ||
			      p[-1] == '\n';

		if (!at_word || (*p != '-' && strncmp(p, "OCKAM_", 6) != 0))
			continue;
		while (n < sizeof(word) - 1 &&
		       (p[n] == '-' || p[n] == '_' ||
			(p[n] >= 'a' && p[n] <= 'z') ||
			(p[n] >= 'A' && p[n] <= 'Z')))
			n++;
		if (n < 2 || (p[0] == '-' && p[1] != '-' && n != 2))
			continue;
		memcpy(word, p, n);
		word[n] = '\0';
		size_t r = 0;
		for (size_t i = 0; i < n && r < sizeof(roff) - 3; i++) {
			if (word[i] == '-')
				roff[r++] = '\\';
			roff[r++] = word[i];
		}
		roff[r] = '\0';
		int found = man_has_word(man, roff);
		if (!found)
			fprintf(stderr, "%s lists %s; docs/ockam-host.1 does not\n",
				what, word);
		CU_ASSERT(found);
		p += n - 1;
	}
}

static void test_help_matches_man_page(void)
{
	static const char *const cmds[][3] = {
		{ "--help", NULL, NULL },
		{ "status", "--help", NULL },
		{ "ping", "--help", NULL },
	};
	const char *man = man_page_read();
	struct hx_proc *p;

	integ_begin("ops-help-man");
	CU_ASSERT_PTR_NOT_NULL_FATAL(man);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		CU_ASSERT_EQUAL(integ_run_host(cmds[i][0], cmds[i], NULL, &p),
				0);
		help_in_man_page(hx_read(p, HX_STDOUT), man, cmds[i][0]);
	}
}

static const char good_yaml[] =
	"node: ops-check\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: \"127.0.0.1:${OPS_CHECK_PORT:-4321}\"\n"
	"workers:\n"
	"  echoer:\n"
	"    type: echoer\n"
	"  guarded:\n"
	"    type: echoer\n"
	"    access: [I0123456789abcdef0123456789abcdef]\n"
	"  bob:\n"
	"    type: secure_channel\n"
	"    options: { role: listener, trust: everyone }\n"
	"    access: secure_channel\n"
	"    reach: [echoer, guarded]\n"
	"messages:\n"
	"  - route: [echoer]\n"
	"    payload: Hello Ockam!\n";

static void test_check_good(void)
{
	struct hx_proc *p;

	integ_begin("ops-check-good");
	const char *path = hx_write_file(H, "good.yaml", good_yaml);
	CU_ASSERT_FATAL(path != NULL);

	CU_ASSERT_EQUAL(integ_run_host("check", (const char *[]){ "--check", path, NULL },
			    NULL, &p), 0);
	const char *out = hx_read(p, HX_STDOUT);
	CU_ASSERT(integ_contains(out, "\nnode: ops-check\n"));
	CU_ASSERT(integ_contains(out, "\nlog_level: info\n"));
	CU_ASSERT(integ_contains(out, "    listen: [127.0.0.1:4321]\n")); /* the default */
	CU_ASSERT(integ_contains(out, "  echoer:\n    type: echoer\n    options: {}\n"
				      "    access: anyone\n"));
	/* Access control is printed (the default too), so a copy of the
	 * output keeps it. */
	CU_ASSERT(integ_contains(out, "  guarded:\n    type: echoer\n    options: {}\n"
				      "    access: [I0123456789abcdef0123456789abcdef]\n"));
	CU_ASSERT(integ_contains(out, "    access: secure_channel\n"
				      "    reach: [echoer, guarded]\n"));
	CU_ASSERT(integ_contains(out, "  - route: [echoer]\n"
				"    payload: \"Hello Ockam!\"\n"
				"    reply: true\n"
				"    timeout: 10s\n"));
	CU_ASSERT(integ_contains(out, "\nafter_messages: exit\n"));
	/* Nothing started: no listener, no "ready". */
	CU_ASSERT_PTR_NULL(strstr(hx_read(p, HX_STDERR), "listening on"));
	CU_ASSERT_PTR_NULL(strstr(hx_read(p, HX_STDERR), "ready"));

	/* The printed config is itself a valid node that checks the same. */
	char *copy = strdup(out);
	CU_ASSERT_FATAL(copy != NULL);
	const char *again = hx_write_file(H, "effective.yaml", copy);
	CU_ASSERT_EQUAL(integ_run_host("check-again",
			    (const char *[]){ "--check", again, NULL }, NULL, &p), 0);
	const char *out2 = hx_read(p, HX_STDOUT);
	/* The same, byte for byte. */
	CU_ASSERT_STRING_EQUAL(out2, copy);
	free(copy);

	/* The environment wins over the default. */
	CU_ASSERT_EQUAL(integ_run_host("check-env", (const char *[]){ "--check", path, NULL },
			    (const char *[]){ "OPS_CHECK_PORT=5555", NULL }, &p), 0);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT), "    listen: [127.0.0.1:5555]\n"));
}

static void test_check_bad(void)
{
	struct hx_proc *p;
	char want[512];

	integ_begin("ops-check-bad");
	const char *path = hx_write_file(H, "bad.yaml",
		"node: ops-bad\n"
		"log_level: loud\n"
		"workers:\n"
		"  echoer:\n"
		"    type: echoer\n"
		"    colour: blue\n");
	CU_ASSERT_FATAL(path != NULL);
	CU_ASSERT_EQUAL(integ_run_host("check", (const char *[]){ "--check", path, NULL },
			    NULL, &p), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	const char *err = hx_read(p, HX_STDERR);

	/* Both errors, each with its line and a caret under the column. */
	snprintf(want, sizeof(want),
		 "%s:2:12: 'log_level' must be error, warn, info, debug or trace, not 'loud'\n"
		 "    2 | log_level: loud\n"
		 "      |            ^\n", path);
	CU_ASSERT(integ_contains(err, want));
	snprintf(want, sizeof(want),
		 "%s:6:5: unknown key 'colour' in worker 'echoer'", path);
	CU_ASSERT(integ_contains(err, want));
	CU_ASSERT(integ_contains(err, "\n    6 |     colour: blue\n"
				"      |     ^\n"));

	/* A normal run of the same file still says 2. */
	CU_ASSERT_EQUAL(integ_run_host("run", (const char *[]){ path, NULL }, NULL, &p), 2);
}

static void test_variables(void)
{
	struct hx_proc *p;
	char want[512];

	integ_begin("ops-variables");
	const char *path = hx_write_file(H, "var.yaml",
		"node: ops-var\n"
		"transports:\n"
		"  tcp:\n"
		"    listen: \"127.0.0.1:${OPS_UNDEFINED_PORT}\"\n");
	CU_ASSERT_FATAL(path != NULL);
	CU_ASSERT_EQUAL(integ_run_host("undefined", (const char *[]){ path, NULL }, NULL, &p), 2);
	snprintf(want, sizeof(want),
		 "%s:4:13: undefined variable 'OPS_UNDEFINED_PORT'", path);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), want));
	CU_ASSERT_PTR_NULL(strstr(hx_read(p, HX_STDERR), "listening on"));

	/* With a default, the node runs and uses it: it sends to its own
	 * echoer through the port the default names. */
	path = hx_write_file(H, "default.yaml",
		"node: ops-var-default\n"
		"transports:\n"
		"  tcp:\n"
		"    listen: 127.0.0.1:0\n"
		"workers:\n"
		"  echoer:\n"
		"    type: echoer\n"
		"messages:\n"
		"  - route:\n"
		"      - ${OPS_UNDEFINED_TARGET:-echoer}\n"
		"    payload: ${OPS_UNDEFINED_PAYLOAD:-from a default}\n");
	CU_ASSERT_FATAL(path != NULL);
	CU_ASSERT_EQUAL(integ_run_host("default", (const char *[]){ path, NULL }, NULL, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "App Received: from a default\n");
}

/* Plugins are searched in plugin_dir: before OCKAM_PLUGIN_PATH, as
 * --help and the man page say: a broken echoer.so in plugin_dir is the
 * one loaded (and refused), although OCKAM_PLUGIN_PATH has a good one. */
static void test_search_order(void)
{
	struct hx_proc *p;
	char plugins[1024], env[1100];

	integ_begin("ops-search-order");
	snprintf(plugins, sizeof(plugins), "%s", hx_host_path());
	char *slash = strrchr(plugins, '/');
	CU_ASSERT_FATAL(slash != NULL);
	*slash = '\0'; /* <build>/host */
	slash = strrchr(plugins, '/');
	CU_ASSERT_FATAL(slash != NULL);
	snprintf(slash, sizeof(plugins) - (size_t)(slash - plugins), "/plugins/echoer");
	snprintf(env, sizeof(env), "OCKAM_PLUGIN_PATH=%s", plugins);
	const char *broken = hx_write_file(H, "echoer.so",
		"not a shared object, but named like the echoer plugin\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(broken);
	const char *path = hx_write_file(H, "order.yaml",
		"node: order\n"
		"plugin_dir: .\n"
		"workers:\n"
		"  echoer: { type: echoer }\n"
		"messages:\n"
		"  - { route: [echoer], payload: hi }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL(integ_run_host("order", (const char *[]){ path, NULL },
				       (const char *[]){ env, NULL }, &p), 2);
	CU_ASSERT_EQUAL(integ_lines(hx_read(p, HX_STDERR), hx_dir(H),
				    "echoer.so: cannot load plugin"), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	/* Without plugin_dir the same environment finds the good one. */
	path = hx_write_file(H, "no-dir.yaml",
		"node: order\n"
		"workers:\n"
		"  echoer: { type: echoer }\n"
		"messages:\n"
		"  - { route: [echoer], payload: hi }\n");
	CU_ASSERT_EQUAL(integ_run_host("no-dir", (const char *[]){ path, NULL },
				       (const char *[]){ env, NULL }, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "App Received: hi\n");

	/* What --help and the man page say about it. */
	CU_ASSERT_EQUAL(integ_run_host("help", (const char *[]){ "--help", NULL }, NULL, &p), 0);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDOUT),
		"OCKAM_PLUGIN_PATH    colon-separated plugin directories, searched after\n"
		"                       the YAML's plugin_dir: and before the installed ones\n"));
	const char *man = man_page_read();
	CU_ASSERT_PTR_NOT_NULL_FATAL(man);
	CU_ASSERT(integ_contains(man, "searched for plugins after the YAML's\n.BR plugin_dir: ,\n"));
	CU_ASSERT_PTR_NULL(strstr(man, "searched for plugins first"));
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "--help and --version", test_help_version },
		{ "every option --help lists is in the man page",
		  test_help_matches_man_page },
		{ "--check prints the effective config", test_check_good },
		{ "--check prints every error with a caret, exit 1", test_check_bad },
		{ "variables: undefined is an error, defaults apply", test_variables },
		{ "plugin_dir: before OCKAM_PLUGIN_PATH, as documented",
		  test_search_order },
		{ NULL, NULL },
	};
	return integ_run("ops_cli", tests);
}
