/* SPDX-License-Identifier: Apache-2.0 */
/*
 * opt.c: the YAML tree, positions, ${VAR} expansion, refusals, key checks
 * and typed readers, asserted on the exact messages a user would see.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../common/cunit_main.h"
#include "opt.h"

static struct diag d;

/* Parse `text` as "t.yaml"; diag text is left in `d`. */
static struct ockam_opt *load(const char *text)
{
	diag_free(&d);
	diag_init(&d, NULL);
	return opt_load_string("t.yaml", text, strlen(text), &d);
}

static const char *diag_text(void)
{
	return d.text ? d.text : "";
}

/* Parse must fail with exactly `expect` (every line) as diagnostics. */
static void expect_fail(const char *text, const char *expect)
{
	struct ockam_opt *o = load(text);
	CU_ASSERT_PTR_NULL(o);
	CU_ASSERT_STRING_EQUAL(diag_text(), expect);
	if (strcmp(diag_text(), expect))
		fprintf(stderr, "\n  input: %s\n  got:   %s  want:  %s", text,
			diag_text(), expect);
	opt_free(o);
}

static void test_tree_and_positions(void)
{
	struct ockam_opt *o = load("# comment\n"
				   "node: alpha\n"
				   "workers:\n"
				   "  echoer:\n"
				   "    type: echoer\n"
				   "list: [a, 'b', \"c\"]\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(d.errors, 0);
	CU_ASSERT_EQUAL(o->kind, OCKAM_OPT_MAP);
	CU_ASSERT_EQUAL(o->count, 3);
	CU_ASSERT_STRING_EQUAL(o->file, "t.yaml");

	const struct ockam_opt *n = opt_get(o, "node");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_STRING_EQUAL(n->str, "alpha");
	CU_ASSERT_EQUAL(n->len, 5);
	CU_ASSERT_EQUAL(n->line, 2);
	CU_ASSERT_EQUAL(n->col, 7);
	CU_ASSERT_STRING_EQUAL(n->key, "node");

	const struct ockam_opt *k = opt_get_key(o, "workers");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(k->line, 3);
	CU_ASSERT_EQUAL(k->col, 1);

	const struct ockam_opt *t = opt_get(opt_get(opt_get(o, "workers"),
						    "echoer"), "type");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->line, 5);
	CU_ASSERT_EQUAL(t->col, 11);

	const struct ockam_opt *l = opt_get(o, "list");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(l->kind, OCKAM_OPT_LIST);
	CU_ASSERT_EQUAL(l->count, 3);
	CU_ASSERT_PTR_NULL(l->keys);
	CU_ASSERT_STRING_EQUAL(l->items[1]->str, "b");
	CU_ASSERT_EQUAL(l->items[2]->line, 6);
	CU_ASSERT_EQUAL(l->items[2]->col, 16);
	CU_ASSERT_PTR_NULL(l->items[0]->key);

	CU_ASSERT_PTR_NULL(opt_get(o, "missing"));
	CU_ASSERT_PTR_NULL(opt_get(n, "node")); /* not a map */
	opt_free(o);
}

static void test_nulls(void)
{
	struct ockam_opt *o = load("a: ~\nb: null\nc:\nd: 'null'\ne: \"\"\n"
				   "f: ''\ng: NULL\nh: nullish\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE(opt_get(o, "a")->is_null);
	CU_ASSERT_TRUE(opt_get(o, "b")->is_null);
	CU_ASSERT_TRUE(opt_get(o, "c")->is_null);
	CU_ASSERT_STRING_EQUAL(opt_get(o, "c")->str, "");
	CU_ASSERT_FALSE(opt_get(o, "d")->is_null);
	CU_ASSERT_STRING_EQUAL(opt_get(o, "d")->str, "null");
	CU_ASSERT_FALSE(opt_get(o, "e")->is_null);
	CU_ASSERT_FALSE(opt_get(o, "f")->is_null);
	CU_ASSERT_TRUE(opt_get(o, "g")->is_null);
	CU_ASSERT_FALSE(opt_get(o, "h")->is_null);
	opt_free(o);
}

static void test_empty_documents(void)
{
	const char *docs[] = { "", "# only a comment\n", "---\n", "~\n" };

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct ockam_opt *o = load(docs[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		CU_ASSERT_EQUAL(o->kind, OCKAM_OPT_MAP);
		CU_ASSERT_EQUAL(o->count, 0);
		CU_ASSERT_EQUAL(d.errors, 0);
		opt_free(o);
	}
}

static void test_refusals(void)
{
	expect_fail("workers:\n  echoer: {}\n  hop: {}\n  echoer: {}\n",
		    "t.yaml:4:3: duplicate key 'echoer' (first at 2:3)\n");
	expect_fail("base: &b {x: 1}\nother: *b\n",
		    "t.yaml:1:7: anchors (&b) are not supported; repeat the value instead\n"
		    "t.yaml:2:8: aliases (*b) are not supported; repeat the value instead\n");
	expect_fail("? [a, b]\n: c\n",
		    "t.yaml:1:3: map keys must be scalars, not a list\n");
	expect_fail("a: 1\n---\nb: 2\n",
		    "t.yaml:2:1: only one YAML document per file is supported\n");
	expect_fail("a: \"x\\0y\"\n",
		    "t.yaml:1:4: NUL bytes are not allowed in values\n");
	/* Every problem of a file, not just the first. */
	expect_fail("a: 1\na: 2\nb: ${OPT_TEST_UNDEFINED}\nb: 3\n",
		    "t.yaml:2:1: duplicate key 'a' (first at 1:1)\n"
		    "t.yaml:3:4: undefined variable 'OPT_TEST_UNDEFINED'\n"
		    "t.yaml:4:1: duplicate key 'b' (first at 3:1)\n");
}

static void test_syntax_errors(void)
{
	expect_fail("a: [1, 2\n",
		    "t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence at 1:4)\n");
	expect_fail("a:\n\tb: 1\n",
		    "t.yaml:2:1: found character that cannot start any token (while scanning for the next token at 2:1)\n");
	expect_fail("a: b: c\n",
		    "t.yaml:1:5: mapping values are not allowed in this context\n");
	/* Raw control bytes are a reader error, given a position too. */
	expect_fail("a: 1\nb: x\x01y\n",
		    "t.yaml:2:5: control characters are not allowed (byte 0x01)\n");
}

static void test_deep_nesting(void)
{
	char buf[512];
	size_t n = 0;

	for (int i = 0; i < 100; i++)
		buf[n++] = '[';
	for (int i = 0; i < 100; i++)
		buf[n++] = ']';
	buf[n] = '\0';
	expect_fail(buf,
		    "t.yaml:1:66: nesting is too deep (more than 64 levels)\n");
}

static void test_huge_map(void)
{
	size_t cap = 10001 * 16, n = 0;
	char *buf = malloc(cap);

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (int i = 0; i <= 10000; i++)
		n += (size_t)snprintf(buf + n, cap - n, "k%d: 1\n", i);
	expect_fail(buf,
		    "t.yaml:10001:1: too many keys in one map (more than 10000)\n");
	free(buf);
}

static void test_variables(void)
{
	setenv("OPT_TEST_HOST", "example.org", 1);
	setenv("OPT_TEST_EMPTY", "", 1);
	unsetenv("OPT_TEST_UNDEFINED");

	struct ockam_opt *o = load(
		"a: ${OPT_TEST_HOST}\n"
		"b: tcp:${OPT_TEST_HOST}:${OPT_TEST_PORT:-4000}\n"
		"c: ${OPT_TEST_EMPTY:-fallback}\n"
		"d: x${OPT_TEST_EMPTY}y\n"
		"e: costs $$5 and $6\n"
		"f: '${OPT_TEST_HOST}'\n"
		"g: ${OPT_TEST_UNDEFINED:-}\n"
		"${NOT_EXPANDED}: keys are literal\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(opt_get(o, "a")->str, "example.org");
	CU_ASSERT_EQUAL(opt_get(o, "a")->len, 11);
	CU_ASSERT_STRING_EQUAL(opt_get(o, "b")->str, "tcp:example.org:4000");
	CU_ASSERT_STRING_EQUAL(opt_get(o, "c")->str, "fallback");
	CU_ASSERT_STRING_EQUAL(opt_get(o, "d")->str, "xy");
	CU_ASSERT_STRING_EQUAL(opt_get(o, "e")->str, "costs $5 and $6");
	CU_ASSERT_STRING_EQUAL(opt_get(o, "f")->str, "example.org");
	CU_ASSERT_STRING_EQUAL(opt_get(o, "g")->str, "");
	CU_ASSERT_FALSE(opt_get(o, "g")->is_null);
	CU_ASSERT_PTR_NOT_NULL(opt_get(o, "${NOT_EXPANDED}"));
	opt_free(o);

	/* A small file must not expand to gigabytes: 64 references to a
	 * 128 KiB variable (8 MiB) are one error, where the limit is hit. */
	char *huge = malloc(128 * 1024 + 1);
	CU_ASSERT_FATAL(huge != NULL);
	memset(huge, 'x', 128 * 1024);
	huge[128 * 1024] = '\0';
	setenv("OPT_TEST_HUGE", huge, 1);
	free(huge);
	char refs[64 * 20 + 16] = "a:\n";
	for (int i = 0; i < 64; i++)
		strcat(refs, "- ${OPT_TEST_HUGE}\n");
	expect_fail(refs, /* the 33rd reference passes 4 MiB */
		    "t.yaml:34:3: values are larger than 4 MiB after ${VAR} expansion\n");
	unsetenv("OPT_TEST_HUGE");

	expect_fail("a: 1\nb: [x, \"${OPT_TEST_UNDEFINED}\"]\n",
		    "t.yaml:2:8: undefined variable 'OPT_TEST_UNDEFINED'\n");
	expect_fail("a: ${OPT_TEST_HOST\n",
		    "t.yaml:1:4: unterminated '${' (write '$$' for a literal '$')\n");
	expect_fail("a: ${1X}\n",
		    "t.yaml:1:4: malformed variable reference '${1X}' (use ${NAME} or ${NAME:-default})\n");
	expect_fail("a: ${}\n",
		    "t.yaml:1:4: malformed variable reference '${}' (use ${NAME} or ${NAME:-default})\n");
	expect_fail("a: ${A:=b}\n",
		    "t.yaml:1:4: malformed variable reference '${A:=b}' (use ${NAME} or ${NAME:-default})\n");
}

/* YAML's scalar style is kept: a plain 42 is a number, a quoted one a
 * string (declared options tell them apart). */
static void test_plain_types(void)
{
	setenv("OPT_TEST_NUM", "42", 1);
	struct ockam_opt *o = load(
		"a: 42\nb: \"42\"\nc: '42'\nd: true\ne: ~\nf: hello\n"
		"g: 1.5e3\nh: 0x1f\ni: ${OPT_TEST_NUM}\nj: -7\nk: .5\nl: 1.2.3\n"
		"m: |\n  42\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	static const struct {
		const char *key;
		int plain;
		const char *type;
	} want[] = {
		{ "a", 1, "a number" }, { "b", 0, NULL },
		{ "c", 0, NULL },       { "d", 1, "a boolean" },
		{ "e", 1, "null" },     { "f", 1, NULL },
		{ "g", 1, "a number" }, { "h", 1, "a number" },
		/* What a ${VAR} gave is not YAML's to type. */
		{ "i", 1, NULL },       { "j", 1, "a number" },
		{ "k", 1, "a number" }, { "l", 1, NULL },
		{ "m", 0, NULL },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct ockam_opt *v = opt_get(o, want[i].key);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_EQUAL(v->plain, want[i].plain);
		const char *t = opt_plain_type(v);
		CU_ASSERT(want[i].type ? t && !strcmp(t, want[i].type) : !t);
		if (want[i].type ? !t || strcmp(t, want[i].type) : !!t)
			fprintf(stderr, "\n  %s: got %s, want %s\n", want[i].key,
				t ? t : "a string",
				want[i].type ? want[i].type : "a string");
	}
	CU_ASSERT(opt_get(o, "i")->expanded);
	CU_ASSERT(!opt_get(o, "a")->expanded);
	opt_free(o);
}

/* What option_check.c does to the tree: defaults parsed and appended with
 * the entry's position, a scalar made a list of one, a key removed, a
 * null value made an empty map. */
static void test_building(void)
{
	struct ockam_opt *o = load("x:\n  listen: 127.0.0.1:4000\n  bad: 1\ny:\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	struct ockam_opt *x = (struct ockam_opt *)opt_get(o, "x");

	struct ockam_opt *dv = opt_parse_value("[a, \"b\"]", x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dv);
	CU_ASSERT_EQUAL(opt_map_append(x, "to", dv, x), 0);
	const struct ockam_opt *to = opt_get(x, "to");
	CU_ASSERT_EQUAL(to->kind, OCKAM_OPT_LIST);
	CU_ASSERT_EQUAL(to->count, 2);
	CU_ASSERT_STRING_EQUAL(to->key, "to");
	CU_ASSERT_EQUAL(to->items[1]->line, x->line);
	CU_ASSERT_EQUAL(to->items[1]->col, x->col);
	CU_ASSERT_PTR_EQUAL(to->items[1]->file, x->file);
	CU_ASSERT_EQUAL(to->items[1]->plain, 0);
	CU_ASSERT_PTR_NULL(opt_parse_value("[unclosed", x));

	struct ockam_opt *l = (struct ockam_opt *)opt_get(x, "listen");
	CU_ASSERT_EQUAL(opt_scalar_to_list(l), 0);
	CU_ASSERT_EQUAL(l->kind, OCKAM_OPT_LIST);
	CU_ASSERT_EQUAL(l->count, 1);
	CU_ASSERT_STRING_EQUAL(l->key, "listen");
	CU_ASSERT_STRING_EQUAL(l->items[0]->str, "127.0.0.1:4000");
	CU_ASSERT_EQUAL(l->items[0]->line, 2);
	CU_ASSERT_EQUAL(l->items[0]->col, 11);

	opt_map_remove(x, "bad");
	CU_ASSERT_PTR_NULL(opt_get(x, "bad"));
	CU_ASSERT_EQUAL(x->count, 2);
	CU_ASSERT_PTR_NOT_NULL(opt_get(x, "to"));

	struct ockam_opt *y = (struct ockam_opt *)opt_get(o, "y");
	opt_null_to_map(y);
	CU_ASSERT_EQUAL(y->kind, OCKAM_OPT_MAP);
	CU_ASSERT_EQUAL(y->count, 0);
	opt_free(o);
}

static void test_suggest(void)
{
	const char *const keys[] = { "node", "workers", "routes", "id", NULL };

	CU_ASSERT_STRING_EQUAL(opt_suggest("nod", keys), "node");
	CU_ASSERT_STRING_EQUAL(opt_suggest("Workers", keys), "workers");
	CU_ASSERT_STRING_EQUAL(opt_suggest("wrokers", keys), "workers");
	CU_ASSERT_STRING_EQUAL(opt_suggest("route", keys), "routes");
	CU_ASSERT_PTR_NULL(opt_suggest("transports", keys));
	CU_ASSERT_PTR_NULL(opt_suggest("x", keys)); /* not "id" */
	CU_ASSERT_PTR_NULL(opt_suggest("nodexyz", keys));
}

static void test_check_keys_and_expect(void)
{
	const char *const allowed[] = { "type", "options", NULL };
	struct ockam_opt *o = load("tpye: x\noptions: {}\ncolour: red\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(opt_check_keys(o, allowed, "worker 'echoer'", &d), 2);
	CU_ASSERT_STRING_EQUAL(diag_text(),
		"t.yaml:1:1: unknown key 'tpye' in worker 'echoer' (did you mean 'type'?)\n"
		"t.yaml:3:1: unknown key 'colour' in worker 'echoer' (known keys: type, options)\n");
	CU_ASSERT_EQUAL(opt_expect(o, OCKAM_OPT_MAP, "'workers'", &d), 0);
	CU_ASSERT_EQUAL(opt_expect(opt_get(o, "options"), OCKAM_OPT_LIST,
				   "'workers'", &d), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag_text(),
		"t.yaml:2:10: 'workers' must be a list, not a map\n"));
	opt_free(o);

	o = load("a:\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(opt_expect(opt_get(o, "a"), OCKAM_OPT_SCALAR, "'a'", &d), -1);
	CU_ASSERT_STRING_EQUAL(diag_text(), "t.yaml:1:3: 'a' must be a scalar, not empty\n");
	opt_free(o);
}

static void test_readers(void)
{
	struct ockam_opt *o = load(
		"t1: 250ms\nt2: 10s\nt3: 5m\nt4: 1h\nt5: 1500ms\n"
		"t6: ten\nt7: 10 s\nt8: -1s\nt9: 99999999999999999999h\n"
		"b1: yes\nb2: Off\nb3: maybe\nb4: [true]\n"
		"n1: 4000\nn2: 70000\nn3: 4k\nn4: \n"
		"s1: 64KiB\ns2: 1MiB\ns3: 2KB\ns4: 512\ns5: 2GiB\ns6: 1 MiB\n"
		"list: [5s]\nt10: 7d\nt11: 10\nt12: 1500\nt13: 0\n");
	uint64_t v = 7;
	int b = 7;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t1"), &d, &v), 0);
	CU_ASSERT_EQUAL(v, 250);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t2"), &d, &v), 0);
	CU_ASSERT_EQUAL(v, 10000);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t3"), &d, &v), 0);
	CU_ASSERT_EQUAL(v, 300000);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t4"), &d, &v), 0);
	CU_ASSERT_EQUAL(v, 3600000);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t5"), &d, &v), 0);
	CU_ASSERT_EQUAL(v, 1500);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "list")->items[0], &d, &v), 0);
	CU_ASSERT_EQUAL(v, 5000);
	CU_ASSERT_EQUAL(d.errors, 0);

	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t6"), &d, &v), -1);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t7"), &d, &v), -1);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t8"), &d, &v), -1);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t9"), &d, &v), -1);
	CU_ASSERT_EQUAL(v, 5000); /* untouched on error */
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t10"), &d, &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_C(7) * 86400000);
	/* A number without a unit is refused with a hint; 0 is 0. */
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t11"), &d, &v), -1);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t12"), &d, &v), -1);
	CU_ASSERT_EQUAL(v, UINT64_C(7) * 86400000);
	CU_ASSERT_EQUAL(opt_to_duration_ms(opt_get(o, "t13"), &d, &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_STRING_EQUAL(diag_text(),
		"t.yaml:6:5: t6: expected a duration like 10s or 250ms, got 'ten'\n"
		"t.yaml:7:5: t7: expected a duration like 10s or 250ms, got '10 s'\n"
		"t.yaml:8:5: t8: expected a duration like 10s or 250ms, got '-1s'\n"
		"t.yaml:9:5: t9: 99999999999999999999h is too long\n"
		"t.yaml:26:6: t11: 10 has no unit (did you mean 10s?)\n"
		"t.yaml:27:6: t12: 1500 has no unit (did you mean 1500ms or 1500s?)\n");

	diag_free(&d);
	diag_init(&d, NULL);
	CU_ASSERT_EQUAL(opt_to_bool(opt_get(o, "b1"), &d, &b), 0);
	CU_ASSERT_EQUAL(b, 1);
	CU_ASSERT_EQUAL(opt_to_bool(opt_get(o, "b2"), &d, &b), 0);
	CU_ASSERT_EQUAL(b, 0);
	CU_ASSERT_EQUAL(opt_to_bool(opt_get(o, "b3"), &d, &b), -1);
	CU_ASSERT_EQUAL(opt_to_bool(opt_get(o, "b4"), &d, &b), -1);
	CU_ASSERT_EQUAL(b, 0);

	CU_ASSERT_EQUAL(opt_to_u64(opt_get(o, "n1"), &d, 1, 65535, &v), 0);
	CU_ASSERT_EQUAL(v, 4000);
	CU_ASSERT_EQUAL(opt_to_u64(opt_get(o, "n2"), &d, 1, 65535, &v), -1);
	CU_ASSERT_EQUAL(opt_to_u64(opt_get(o, "n3"), &d, 0, UINT64_MAX, &v), -1);
	CU_ASSERT_EQUAL(opt_to_u64(opt_get(o, "n4"), &d, 1, 65535, &v), -1);
	CU_ASSERT_EQUAL(v, 4000);

	CU_ASSERT_EQUAL(opt_to_size(opt_get(o, "s1"), &d, UINT64_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, 65536);
	CU_ASSERT_EQUAL(opt_to_size(opt_get(o, "s2"), &d, UINT64_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, 1048576);
	CU_ASSERT_EQUAL(opt_to_size(opt_get(o, "s3"), &d, UINT64_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, 2000);
	CU_ASSERT_EQUAL(opt_to_size(opt_get(o, "s4"), &d, UINT64_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, 512);
	CU_ASSERT_EQUAL(opt_to_size(opt_get(o, "s5"), &d, 1048576, &v), -1);
	CU_ASSERT_EQUAL(opt_to_size(opt_get(o, "s6"), &d, UINT64_MAX, &v), -1);
	CU_ASSERT_EQUAL(v, 512);
	CU_ASSERT_STRING_EQUAL(diag_text(),
		"t.yaml:12:5: b3: expected true or false, got 'maybe'\n"
		"t.yaml:13:5: b4: expected true or false, got a list\n"
		"t.yaml:15:5: n2: 70000 is out of range (a whole number from 1 to 65535)\n"
		"t.yaml:16:5: n3: expected a whole number of at least 0, got '4k'\n"
		"t.yaml:17:4: n4: expected a whole number from 1 to 65535, got nothing\n"
		"t.yaml:22:5: s5: 2GiB is too large (at most 1048576 bytes)\n"
		"t.yaml:23:5: s6: expected a size like 512, 64KiB or 1MiB, got '1 MiB'\n");
	opt_free(o);
}

static void test_quote(void)
{
	char buf[128];
	char longs[100];

	CU_ASSERT_STRING_EQUAL(opt_quote("a\tb\x7f", buf, sizeof(buf)), "'a?b?'");
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	opt_quote(longs, buf, sizeof(buf));
	CU_ASSERT_EQUAL(strlen(buf), 60 + 2 + 3);
	CU_ASSERT_STRING_EQUAL(buf + 61, "'...");
	opt_quote(longs, buf, 10); /* tiny buffers are still terminated */
	CU_ASSERT(strlen(buf) < 10);
}

static void test_load_file(void)
{
	diag_free(&d);
	diag_init(&d, NULL);
	CU_ASSERT_PTR_NULL(opt_load_file("no/such/file.yaml", &d));
	CU_ASSERT_STRING_EQUAL(diag_text(),
		"no/such/file.yaml: cannot open: No such file or directory\n");

	diag_free(&d);
	diag_init(&d, NULL);
	CU_ASSERT_PTR_NULL(opt_load_file(".", &d));
	CU_ASSERT_STRING_EQUAL(diag_text(),
			       ".: is a directory; give the node YAML file\n");

	/* A device that never ends is read up to the cap, then refused. */
	diag_free(&d);
	diag_init(&d, NULL);
	CU_ASSERT_PTR_NULL(opt_load_file("/dev/zero", &d));
	CU_ASSERT_STRING_EQUAL(diag_text(),
		"/dev/zero: larger than 1 MiB; a node description may be at most 1 MiB\n");

	/* A file over the cap is refused by its size, unread. */
	char big[] = "/tmp/test_opt_bigXXXXXX";
	int fd = mkstemp(big);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, (1 << 20) + 1), 0);
	close(fd);
	diag_free(&d);
	diag_init(&d, NULL);
	CU_ASSERT_PTR_NULL(opt_load_file(big, &d));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag_text(),
		": is 1048577 bytes; a node description may be at most 1 MiB\n"));
	/* Exactly the cap is still read (and parsed: a comment). */
	fd = open(big, O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(fd >= 0);
	static char comment[1 << 20];
	memset(comment, ' ', sizeof(comment));
	comment[0] = '#';
	comment[sizeof(comment) - 1] = '\n';
	CU_ASSERT_EQUAL(write(fd, comment, sizeof(comment)),
			(ssize_t)sizeof(comment));
	close(fd);
	diag_free(&d);
	diag_init(&d, NULL);
	struct ockam_opt *e = opt_load_file(big, &d);
	CU_ASSERT_PTR_NOT_NULL(e);
	CU_ASSERT_EQUAL(d.errors, 0);
	opt_free(e);
	unlink(big);

	diag_free(&d);
	diag_init(&d, NULL);
	struct ockam_opt *o = opt_load_file("../configs/good/full.yaml", &d);
	CU_ASSERT_PTR_NOT_NULL(o);
	if (o)
		CU_ASSERT_STRING_EQUAL(o->file, "../configs/good/full.yaml");
	opt_free(o);
}

/* Every prefix of a real file and of some hostile input: errors or a tree,
 * never a crash or leak (checked by the ASan build). */
static void test_truncations(void)
{
	const char *texts[] = {
		"node: a\nworkers:\n  e: {type: echoer, options: {x: [1, 2]}}\n"
		"routes:\n  r: [tcp:${H:-localhost}:4000, e]\n"
		"messages:\n  - route: r\n    payload: \"hi\\n\"\n",
		"a: &x [1, *x, {? [k]: v}]\n--- \n? a\n: b\n${",
	};

	for (size_t t = 0; t < 2; t++) {
		size_t n = strlen(texts[t]);
		for (size_t i = 0; i <= n; i++) {
			diag_free(&d);
			diag_init(&d, NULL);
			struct ockam_opt *o =
				opt_load_string("t.yaml", texts[t], i, &d);
			CU_ASSERT((o != NULL) == (d.errors == 0));
			opt_free(o);
		}
	}
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "tree and positions", test_tree_and_positions },
		{ "nulls", test_nulls },
		{ "empty documents", test_empty_documents },
		{ "refusals", test_refusals },
		{ "syntax errors", test_syntax_errors },
		{ "deep nesting", test_deep_nesting },
		{ "huge map", test_huge_map },
		{ "variables", test_variables },
		{ "suggest", test_suggest },
		{ "check keys and expect", test_check_keys_and_expect },
		{ "typed readers", test_readers },
		{ "quote", test_quote },
		{ "load file", test_load_file },
		{ "truncations", test_truncations },
		{ "plain and quoted scalars", test_plain_types },
		{ "building the tree", test_building },
		{ NULL, NULL },
	};

	diag_init(&d, NULL);
	int status = cunit_run(&(struct cunit_suite){
		.name = "opt", .tests = tests });
	diag_free(&d);
	return status;
}
