/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node YAML loader on arbitrary text: opt_load_string (the libyaml
 * tree, ${VAR} expansion, positions), the typed scalar readers on every
 * scalar, and config_load (the whole validation walk).  config_load takes
 * a path, so the input goes into a memfd read back as /proc/self/fd/N.
 * Then every instance's options against a table declaring every option
 * type (option_check.c: refusals, defaults, lists of one).
 * Properties: no crash, leak or hang; a refused input reports at least one
 * error and an accepted one none; both loaders agree on whether the YAML
 * parses; after the option check every key with a default is present and
 * every list option is a list.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "opt.h"
#include "option_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static __attribute__((noreturn)) void fail(const char *what)
{
	fprintf(stderr, "fuzz_config: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Fixed values for the ${VAR} expansions the seeds use. */
	setenv("FUZZ_PORT", "4000", 1);
	setenv("FUZZ_EMPTY", "", 1);
	unsetenv("FUZZ_UNSET");
	return 0;
}

/* Run every typed reader on every scalar (they must refuse, not crash). */
static void walk(const struct ockam_opt *o, struct diag *d, unsigned depth)
{
	uint64_t u;
	int b;

	if (!o || depth > 64)
		return;
	if (o->kind == OCKAM_OPT_SCALAR) {
		char q[80];

		if (!o->str || strlen(o->str) != o->len)
			fail("scalar text and length disagree");
		opt_to_bool(o, d, &b);
		opt_to_u64(o, d, 1, 65535, &u);
		opt_to_duration_ms(o, d, &u);
		opt_to_size(o, d, UINT64_MAX, &u);
		opt_quote(o->str, q, sizeof(q));
		if (strlen(q) >= sizeof(q))
			fail("opt_quote overran");
		opt_suggest(o->str, (const char *const[]){"node", "workers",
							 "transports", NULL});
		return;
	}
	for (size_t i = 0; i < o->count; i++) {
		walk(o->items[i], d, depth + 1);
		if (o->kind == OCKAM_OPT_MAP) {
			walk(o->keys[i], d, depth + 1);
			(void)opt_get(o, o->keys[i]->str);
		}
	}
	if (o->kind == OCKAM_OPT_MAP) {
		static const char *const allowed[] = {"node", "workers", NULL};
		opt_check_keys(o, allowed, "a map", d);
	}
}

/* Every type, with and without defaults; names the seeds use. */
static const struct ockam_option every_type[] = {
	{.name = "prefix", .type = OCKAM_OPTION_STRING, .def = "\"\""},
	{.name = "role", .type = OCKAM_OPTION_ENUM, .choices = "listener|initiator"},
	{.name = "rehandshake", .type = OCKAM_OPTION_BOOL, .def = "true"},
	{.name = "max_connections", .type = OCKAM_OPTION_INT, .def = "8",
	 .min = 1, .max = 1000},
	{.name = "keepalive", .type = OCKAM_OPTION_DURATION, .def = "10s",
	 .max = 3600000},
	{.name = "max_message_size", .type = OCKAM_OPTION_SIZE, .def = "1MiB",
	 .min = 64, .max = 16u << 20},
	{.name = "route", .type = OCKAM_OPTION_ROUTE},
	{.name = "listen", .type = OCKAM_OPTION_STRINGS, .def = "[]"},
	{.name = "to", .type = OCKAM_OPTION_ADDRS, .def = "[]"},
	{.name = "vault", .type = OCKAM_OPTION_PATH},
	{.name = "trust", .type = OCKAM_OPTION_ANY},
	{0},
};

static void check_options(struct config *c, struct config_instance *ci)
{
	struct diag d;
	int may_check;

	diag_init(&d, NULL);
	unsigned bad = option_check_instance(c, ci, every_type, &d, &may_check);
	if (bad != d.errors)
		fail("option_check_instance miscounted its errors");
	for (size_t i = 0; every_type[i].name; i++) {
		const struct ockam_option *op = &every_type[i];
		const struct ockam_opt *v = opt_get(ci->options, op->name);
		if (op->def && !v)
			fail("a key with a default is absent after the check");
		if (v && (op->type == OCKAM_OPTION_STRINGS ||
			  op->type == OCKAM_OPTION_ADDRS) &&
		    v->kind != OCKAM_OPT_LIST)
			fail("a list option is not a list after the check");
	}
	diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ockam_opt *root;
	struct config *c;
	struct diag d;
	char path[64];
	int fd, parsed;

	diag_init(&d, NULL);
	root = opt_load_string("fuzz.yaml", (const char *)data, size, &d);
	parsed = root != NULL;
	if (!root && !d.errors)
		fail("opt_load_string refused without an error");
	walk(root, &d, 0);
	opt_free(root);
	diag_free(&d);

	fd = memfd_create("fuzz.yaml", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	diag_init(&d, NULL);
	c = config_load(path, &d);
	if (!c && !d.errors)
		fail("config_load refused without an error");
	if (c && d.errors)
		fail("config_load accepted with errors");
	if (c && !parsed)
		fail("config_load accepted what opt_load_string refused");
	for (size_t i = 0; c && i < c->n_routes; i++)
		if (!config_route_find(c, c->routes[i].name))
			fail("config_route_find lost a route");
	config_free(c);
	diag_free(&d);

	/* What parsed, whatever else was wrong, gets its options checked. */
	diag_init(&d, NULL);
	c = config_load_partial(path, &d);
	for (size_t i = 0; c && i < c->n_transports; i++)
		check_options(c, &c->transports[i]);
	for (size_t i = 0; c && i < c->n_workers; i++)
		check_options(c, &c->workers[i]);
	config_free(c);
	diag_free(&d);
	close(fd);
	return 0;
}
