/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node YAML loader on arbitrary text: opt_load_string (the libyaml
 * tree, ${VAR} expansion, positions), the typed scalar readers on every
 * scalar, and config_load (the whole validation walk).  config_load takes
 * a path, so the input goes into a memfd read back as /proc/self/fd/N.
 * Properties: no crash, leak or hang; a refused input reports at least one
 * error and an accepted one none; both loaders agree on whether the YAML
 * parses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "opt.h"

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
	close(fd);
	return 0;
}
