/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c against the fixtures in tests/configs (run from tests/unit):
 *
 *   good/NAME.yaml  must load with no diagnostics;
 *   bad/NAME.yaml   start with one or more lines "# expect: LINE:COL: message";
 *                loading must fail with exactly those lines, each prefixed
 *                with the path the test passes ("../configs/bad/x.yaml:").
 *
 * Plus the values config_load derives from good/full.yaml and defaults.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../common/cunit_main.h"
#include "config.h"

#define GOOD_DIR "../configs/good"
#define BAD_DIR "../configs/bad"
#define EXPECT_TAG "# expect: "

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.yaml names in dir; NULL-terminated, *n set. */
static char **list_yaml(const char *dir, size_t *n)
{
	DIR *dp = opendir(dir);
	char **names = NULL;
	size_t cap = 0;
	struct dirent *e;

	*n = 0;
	if (!dp)
		return NULL;
	while ((e = readdir(dp))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".yaml"))
			continue;
		if (*n + 2 > cap) {
			cap = cap ? cap * 2 : 32;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[(*n)++] = strdup(e->d_name);
	}
	closedir(dp);
	if (names) {
		qsort(names, *n, sizeof(*names), name_cmp);
		names[*n] = NULL;
	}
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void test_good_fixtures(void)
{
	size_t n;
	char **names = list_yaml(GOOD_DIR, &n);

	CU_ASSERT_FATAL(n >= 3);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		struct diag d;

		snprintf(path, sizeof(path), "%s/%s", GOOD_DIR, names[i]);
		diag_init(&d, NULL);
		struct config *c = config_load(path, &d);
		CU_ASSERT_PTR_NOT_NULL(c);
		CU_ASSERT_EQUAL(d.errors, 0);
		if (!c || d.errors)
			fprintf(stderr, "\n  %s: unexpected errors:\n%s", path,
				d.text ? d.text : "");
		config_free(c);
		diag_free(&d);
	}
	free_names(names, n);
}

/* The expected diagnostics of a bad fixture, built from its leading
 * "# expect: " lines with `path:` prefixed.  NULL if it has none. */
static char *read_expectation(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024], *out = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, EXPECT_TAG, strlen(EXPECT_TAG)))
			break;
		const char *msg = line + strlen(EXPECT_TAG);
		size_t add = strlen(path) + 1 + strlen(msg) + 2;
		out = realloc(out, len + add);
		if (!out)
			abort();
		len += (size_t)snprintf(out + len, add, "%s:%s", path, msg);
		if (out[len - 1] != '\n') {
			out[len++] = '\n';
			out[len] = '\0';
		}
	}
	fclose(f);
	return out;
}

static void test_bad_fixtures(void)
{
	size_t n;
	char **names = list_yaml(BAD_DIR, &n);

	CU_ASSERT_FATAL(n >= 20);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		struct diag d;

		snprintf(path, sizeof(path), "%s/%s", BAD_DIR, names[i]);
		char *want = read_expectation(path);
		CU_ASSERT_PTR_NOT_NULL(want);
		if (!want) {
			fprintf(stderr, "\n  %s: no '# expect: ' first line\n",
				path);
			continue;
		}
		diag_init(&d, NULL);
		struct config *c = config_load(path, &d);
		const char *got = d.text ? d.text : "";
		CU_ASSERT_PTR_NULL(c);
		CU_ASSERT_STRING_EQUAL(got, want);
		if (c || strcmp(got, want))
			fprintf(stderr, "\n  %s:\n  got:\n%s  want:\n%s", path,
				got, want);
		config_free(c);
		diag_free(&d);
		free(want);
	}
	free_names(names, n);
}

static void test_full_values(void)
{
	struct diag d;
	struct config *c;

	unsetenv("OCKAM_TEST_HOST");
	diag_init(&d, NULL);
	c = config_load(GOOD_DIR "/full.yaml", &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->path, GOOD_DIR "/full.yaml");
	CU_ASSERT_STRING_EQUAL(c->dir, GOOD_DIR);
	CU_ASSERT_STRING_EQUAL(c->node_name, "initiator");
	CU_ASSERT_EQUAL(c->log_level, OCKAM_LOG_DEBUG);
	CU_ASSERT_EQUAL_FATAL(c->n_plugin_dirs, 2);
	CU_ASSERT_STRING_EQUAL(c->plugin_dirs[0], GOOD_DIR "/plugins");
	CU_ASSERT_STRING_EQUAL(c->plugin_dirs[1], "/usr/lib/ockam/plugins");

	CU_ASSERT_EQUAL_FATAL(c->n_transports, 1);
	CU_ASSERT_STRING_EQUAL(c->transports[0].name, "tcp");
	CU_ASSERT_STRING_EQUAL(c->transports[0].type, "tcp");
	CU_ASSERT_PTR_NOT_NULL(opt_get(c->transports[0].options, "listen"));
	CU_ASSERT_EQUAL(c->transports[0].node->line, 6);

	CU_ASSERT_EQUAL_FATAL(c->n_workers, 2);
	CU_ASSERT_STRING_EQUAL(c->workers[0].name, "echoer");
	CU_ASSERT_STRING_EQUAL(c->workers[0].type, "echoer");
	CU_ASSERT_PTR_NOT_NULL(c->workers[0].options);
	CU_ASSERT_EQUAL(c->workers[0].type_node->line, 10);
	CU_ASSERT_EQUAL(c->workers[0].type_node->col, 11);
	CU_ASSERT_STRING_EQUAL(c->workers[1].name, "hop");
	CU_ASSERT_PTR_NULL(c->workers[1].options);

	CU_ASSERT_EQUAL_FATAL(c->n_routes, 1);
	const struct config_route *r = config_route_find(c, "to_echoer");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->route->count, 4);
	CU_ASSERT_STRING_EQUAL(r->route->items[0]->str, "tcp:localhost:3000");
	CU_ASSERT_PTR_NULL(config_route_find(c, "to_echoe"));

	CU_ASSERT_EQUAL_FATAL(c->n_messages, 2);
	CU_ASSERT_PTR_NULL(c->messages[0].route);
	CU_ASSERT_STRING_EQUAL(c->messages[0].route_name, "to_echoer");
	CU_ASSERT_EQUAL(c->messages[0].route_name_node->line, 17);
	CU_ASSERT_STRING_EQUAL(c->messages[0].payload, "Hello Ockam!");
	CU_ASSERT_EQUAL(c->messages[0].payload_len, 12);
	CU_ASSERT_EQUAL(c->messages[0].want_reply, 1);
	CU_ASSERT_EQUAL(c->messages[0].timeout_ms, 10000);
	CU_ASSERT_PTR_NOT_NULL(c->messages[1].route);
	CU_ASSERT_PTR_NULL(c->messages[1].route_name);
	CU_ASSERT_STRING_EQUAL(c->messages[1].payload, "");
	CU_ASSERT_EQUAL(c->messages[1].payload_len, 0);
	CU_ASSERT_EQUAL(c->messages[1].want_reply, 0);
	CU_ASSERT_EQUAL(c->messages[1].timeout_ms, 250);
	CU_ASSERT_EQUAL(c->after_messages, CONFIG_AFTER_RUN);
	config_free(c);

	/* The same file with the variable set. */
	setenv("OCKAM_TEST_HOST", "10.0.0.7", 1);
	c = config_load(GOOD_DIR "/full.yaml", &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->routes[0].route->items[0]->str,
			       "tcp:10.0.0.7:3000");
	unsetenv("OCKAM_TEST_HOST");
	config_free(c);
	diag_free(&d);
}

static void test_defaults(void)
{
	struct diag d;
	struct config *c;

	diag_init(&d, NULL);
	c = config_load(GOOD_DIR "/minimal.yaml", &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->node_name, "solo");
	CU_ASSERT_EQUAL(c->log_level, -1);
	CU_ASSERT_EQUAL(c->n_plugin_dirs, 0);
	CU_ASSERT_EQUAL(c->n_transports, 0);
	CU_ASSERT_EQUAL(c->n_workers, 0);
	CU_ASSERT_EQUAL(c->n_routes, 0);
	CU_ASSERT_EQUAL(c->n_messages, 0);
	CU_ASSERT_EQUAL(c->after_messages, CONFIG_AFTER_EXIT);
	config_free(c);

	c = config_load(GOOD_DIR "/empty_sections.yaml", &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(c->n_transports, 1);
	CU_ASSERT_PTR_NULL(c->transports[0].options);
	CU_ASSERT_EQUAL(c->n_workers, 0);
	CU_ASSERT_EQUAL_FATAL(c->n_messages, 1);
	CU_ASSERT_EQUAL(c->messages[0].want_reply, 1);
	CU_ASSERT_EQUAL(c->messages[0].timeout_ms, 10000);
	CU_ASSERT_EQUAL(c->n_plugin_dirs, 1);
	CU_ASSERT_STRING_EQUAL(c->plugin_dirs[0], "/opt/ockam/plugins");
	config_free(c);

	/* A file in the current directory: paths stay relative to it. */
	c = config_load("../configs/good/../good/minimal.yaml", &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->dir, "../configs/good/../good");
	config_free(c);
	CU_ASSERT_EQUAL(d.errors, 0);
	diag_free(&d);
}

static void test_missing_file(void)
{
	struct diag d;

	diag_init(&d, NULL);
	CU_ASSERT_PTR_NULL(config_load("no-such-node.yaml", &d));
	CU_ASSERT_STRING_EQUAL(d.text ? d.text : "",
		"no-such-node.yaml: cannot open: No such file or directory\n");
	diag_free(&d);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "good fixtures load", test_good_fixtures },
		{ "bad fixtures report exactly", test_bad_fixtures },
		{ "values of full.yaml", test_full_values },
		{ "defaults and empty sections", test_defaults },
		{ "missing file", test_missing_file },
		{ NULL, NULL },
	};

	unsetenv("OCKAM_TEST_HOST");
	unsetenv("OCKAM_TEST_UNDEFINED_VARIABLE");
	return cunit_run(&(struct cunit_suite){
		.name = "config", .tests = tests });
}
