/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plugin loader refuses broken plugins, each with a message naming the
 * file and the reason, and loads the bundled ones.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cunit_main.h"
#include "loader.h"
#include "log.h"
#include "node.h"

static const char *bad_dir(void)
{
	const char *d = getenv("OCKAM_TEST_BAD_PLUGINS");
	return d ? d : "bad";
}

/* Open bad_dir()/name.so and return the error text ("" if it loaded). */
static const char *open_err(const char *name, const char *expect)
{
	static char err[PATH_MAX + 512];
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s.so", bad_dir(), name);
	err[0] = '\0';
	struct plugin_lib *lib = loader_open(path, expect, err, sizeof(err));
	if (lib) {
		loader_close(lib);
		return "";
	}
	/* Every message starts with the file's path. */
	CU_ASSERT_EQUAL(strncmp(err, path, strlen(path)), 0);
	return err;
}

static void test_wrong_abi(void)
{
	char want[128];
	snprintf(want, sizeof(want),
		 "plugin ABI version %u, but this host speaks version %u",
		 OCKAM_PLUGIN_ABI_VERSION + 1, OCKAM_PLUGIN_ABI_VERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(open_err("wrong_abi", NULL), want));
}

static void test_small_descriptor(void)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(open_err("small_descriptor", NULL),
				      "plugin descriptor is 16 bytes, smaller than"));
}

/* Within ABI 2 the descriptor is one struct that later minor versions
 * may only append to: a newer plugin loads with what this host does not
 * know ignored (a shorter one is refused: test_small_descriptor). */
static void test_descriptor_sizes(void)
{
	char path[PATH_MAX], err[PATH_MAX + 512] = "";
	struct plugin_lib *lib;

	snprintf(path, sizeof(path), "%s/grown_descriptor.so", bad_dir());
	lib = loader_open(path, "grown_descriptor", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(lib);
	CU_ASSERT_STRING_EQUAL(lib->desc->name, "grown_descriptor");
	CU_ASSERT_EQUAL(lib->desc->struct_size, sizeof(struct ockam_plugin) +
							sizeof(void (*)(void *)));
	CU_ASSERT_PTR_NOT_NULL(lib->desc->handle_undeliverable);
	loader_close(lib);
}

static const char *abi1_dir(void)
{
	const char *d = getenv("OCKAM_TEST_ABI1_PLUGINS");
	return d ? d : "abi1";
}

#define ABI1_LINE                                                          \
	"abi1_echoer.so: this plugin was built for plugin ABI 1; this host " \
	"speaks ABI 2: rebuild it against this host's headers "             \
	"(pkg-config ockam-plugin)"

/* A plugin built against the ABI 1 headers (tests/plugins/abi1): refused
 * with one line that says to rebuild it. */
static void test_abi1_refused(void)
{
	char path[PATH_MAX], err[PATH_MAX + 512] = "";
	snprintf(path, sizeof(path), "%s/abi1_echoer.so", abi1_dir());
	struct plugin_lib *lib = loader_open(path, "abi1_echoer", err,
					     sizeof(err));
	CU_ASSERT_PTR_NULL(lib);
	loader_close(lib);
	CU_ASSERT_EQUAL(strncmp(err, path, strlen(path)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ABI1_LINE));
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	if (!strstr(err, ABI1_LINE))
		fprintf(stderr, "got: %s\n", err);
}

/* `ockam-host node.yaml` with a worker of that plugin: exit status 2, and
 * the line on stderr, once. */
static void test_abi1_node_exits_2(void)
{
	const char *host = getenv("OCKAM_HOST");
	CU_ASSERT_PTR_NOT_NULL_FATAL(host);
	char yaml[] = "/tmp/ockam-abi1-XXXXXX";
	int fd = mkstemp(yaml);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f,
		"node: old\n"
		"plugin_dir: %s\n"
		"workers:\n"
		"  echo:\n"
		"    type: abi1_echoer\n",
		abi1_dir());
	fclose(f);

	int pipefd[2];
	CU_ASSERT_FATAL(pipe(pipefd) == 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		close(pipefd[0]);
		execl(host, host, yaml, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	char out[8192];
	size_t len = 0;
	ssize_t k;
	while (len < sizeof(out) - 1 &&
	       (k = read(pipefd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)k;
	out[len] = '\0';
	close(pipefd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	unlink(yaml);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 2);
	const char *at = strstr(out, ABI1_LINE);
	CU_ASSERT_PTR_NOT_NULL(at);
	if (at)
		CU_ASSERT_PTR_NULL(strstr(at + 1, ABI1_LINE)); /* once */
	if (!at)
		fprintf(stderr, "stderr was: %s\n", out);
}

static void test_no_entry(void)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(open_err("no_entry", NULL),
				      "not an ockam-host plugin: no 'ockam_plugin_entry' symbol exported"));
}

static void test_missing_ops(void)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(open_err("no_destroy", NULL),
				      "lacks the mandatory op 'destroy'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(open_err("no_handler", NULL),
				      "lacks the mandatory op 'handle_message'"));
}

static void test_not_elf(void)
{
	const char *e = open_err("not_elf", NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "cannot load plugin: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "invalid ELF header"));
}

static void test_wrong_name(void)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(open_err("wrong_name", "wrong_name"),
				      "plugin calls itself 'somebody_else', expected 'wrong_name'"));
}

static void test_missing_file(void)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(open_err("does_not_exist", NULL),
				      "does_not_exist.so: no such plugin file"));
}

static void test_bundled_plugins_load(void)
{
	const char *dir = getenv("OCKAM_TEST_PLUGINS");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	const char *extra[] = {dir};
	char **search = loader_search_path(extra, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(search);
	CU_ASSERT_STRING_EQUAL(search[0], dir);
	static const char *const names[] = {"tcp", "echoer", "hop"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[PATH_MAX], err[PATH_MAX + 512];
		CU_ASSERT_EQUAL_FATAL(loader_find(search, names[i], path,
						  sizeof(path)), 0);
		struct plugin_lib *lib =
			loader_open(path, names[i], err, sizeof(err));
		if (!lib)
			fprintf(stderr, "%s\n", err);
		CU_ASSERT_PTR_NOT_NULL(lib);
		if (lib)
			CU_ASSERT_STRING_EQUAL(lib->desc->name, names[i]);
		loader_close(lib);
	}
	char path[PATH_MAX];
	CU_ASSERT_EQUAL(loader_find(search, "no_such_type", path, sizeof(path)),
			-ENOENT);
	loader_search_path_free(search);
}

/* A node whose worker's create fails reports at the option's position and
 * does not start. */
static void test_create_failure_in_node(void)
{
	char tmpl[] = "/tmp/ockam-loader-XXXXXX";
	int fd = mkstemp(tmpl);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f,
		"node: t\n"
		"plugin_dir: %s\n"
		"workers:\n"
		"  w:\n"
		"    type: create_fails\n"
		"    options:\n"
		"      level: 12\n",
		bad_dir());
	fclose(f);

	struct node_args args = {.config_path = tmpl, .log_level = -1};
	int code = 0;
	log_set_level(OCKAM_LOG_ERROR);
	struct node *n = node_create(&args, &code);
	CU_ASSERT_PTR_NULL(n);
	CU_ASSERT_EQUAL(code, 2);
	node_destroy(n);

	/* The same file through the binary's error path: the diag text. */
	struct diag d;
	diag_init(&d, NULL);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s:7:14: level must be below 10", tmpl);
	/* Re-run capturing diagnostics into a stream we can read. */
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	args.diag_echo = mem;
	n = node_create(&args, &code);
	fclose(mem);
	CU_ASSERT_PTR_NULL(n);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	if (!strstr(buf, want))
		fprintf(stderr, "got: %s\nwant: %s\n", buf, want);
	free(buf);
	diag_free(&d);
	unlink(tmpl);
}

/* A plugin whose options table contradicts itself is refused when it
 * loads, at the entry that uses it, naming the key. */
static void test_bad_options_table(void)
{
	char tmpl[] = "/tmp/ockam-loader-XXXXXX";
	int fd = mkstemp(tmpl);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f,
		"node: t\n"
		"plugin_dir: %s\n"
		"workers:\n"
		"  w: { type: bad_options }\n",
		bad_dir());
	fclose(f);

	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct node_args args = {.config_path = tmpl, .log_level = -1,
				 .diag_echo = mem};
	int code = 0;
	struct node *n = node_create(&args, &code);
	fclose(mem);
	CU_ASSERT_PTR_NULL(n);
	CU_ASSERT_EQUAL(code, 2);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s:4:14: ", tmpl);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf,
		"its options table is wrong: option 'level' is required and has a default"));
	if (!strstr(buf, "is required and has a default"))
		fprintf(stderr, "got: %s\n", buf);
	free(buf);
	node_destroy(n);
	unlink(tmpl);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "wrong ABI version", test_wrong_abi },
		{ "descriptor too small", test_small_descriptor },
		{ "a newer descriptor size", test_descriptor_sizes },
		{ "an ABI 1 plugin is refused in one line", test_abi1_refused },
		{ "a node with an ABI 1 plugin exits 2", test_abi1_node_exits_2 },
		{ "missing entry symbol", test_no_entry },
		{ "missing mandatory ops", test_missing_ops },
		{ "not a shared object", test_not_elf },
		{ "descriptor names another plugin", test_wrong_name },
		{ "missing file", test_missing_file },
		{ "bundled plugins load", test_bundled_plugins_load },
		{ "create failure stops the node", test_create_failure_in_node },
		{ "a self-contradicting options table", test_bad_options_table },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "loader", .tests = tests });
}
