/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The routes a secure channel keeps (chan_route.c): what is stored comes
 * back hop for hop as a view, the copy owns its bytes (the message it was
 * taken from may be reused at once), equality is exact, and empty and
 * maximal routes work.
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "../common/cunit_main.h"
#include "chan_route.h"

/* Text of the hops of a test route; the views point into it. */
struct test_route {
	char text[OCKAM_ROUTE_MAX][OCKAM_ADDR_MAX + 1];
	struct ockam_addr hop[OCKAM_ROUTE_MAX];
	struct ockam_route r;
};

static void route_of(struct test_route *t, const char *const *hops)
{
	size_t n = 0;
	for (; *hops; hops++, n++) {
		const char *h = *hops;
		uint8_t type = 0;
		if (strncmp(h, "tcp:", 4) == 0) {
			type = 1;
			h += 4;
		}
		snprintf(t->text[n], sizeof(t->text[n]), "%s", h);
		ockam_addr_set(&t->hop[n], type, t->text[n], strlen(h));
	}
	t->r = ockam_route_make(t->hop, n);
}

static int routes_equal(const struct ockam_route *a, const struct ockam_route *b)
{
	if (a->count != b->count)
		return 0;
	for (unsigned i = 0; i < a->count; i++)
		if (!ockam_addr_equal(&a->hop[i], &b->hop[i]))
			return 0;
	return 1;
}

static void test_round_trip(void)
{
	struct chan_route cr = {0};
	static struct test_route in, other;
	route_of(&in, (const char *[]){"tcp:127.0.0.1:51234", "hop",
				      "tcp:127.0.0.1:4000", "sc_dec.0123456789abcdef",
				      NULL});
	CU_ASSERT_EQUAL_FATAL(chan_route_set(&cr, &in.r), 0);
	CU_ASSERT_EQUAL(chan_route_count(&cr), 4);
	/* Compact: the views and the bytes used, in one block. */
	CU_ASSERT(ockam_route_dup_size(&in.r) < 160);
	struct ockam_route out = chan_route_view(&cr);
	CU_ASSERT(routes_equal(&in.r, &out));
	CU_ASSERT(chan_route_equal(&cr, &in.r));
	CU_ASSERT(chan_route_first_is(&cr, &in.hop[0]));
	CU_ASSERT_FALSE(chan_route_first_is(&cr, &in.hop[1]));

	/* The copy owns its bytes: the source may be overwritten. */
	other = in;
	for (unsigned i = 0; i < 4; i++)
		other.hop[i].data = (const uint8_t *)other.text[i];
	other.r = ockam_route_make(other.hop, 4);
	memset(in.text, 'x', sizeof(in.text));
	CU_ASSERT(routes_equal(&other.r, &out));
	CU_ASSERT(chan_route_equal(&cr, &other.r));

	/* Any difference is seen: a hop, a type, a length, the count. */
	other.text[1][0] = 'H';
	CU_ASSERT_FALSE(chan_route_equal(&cr, &other.r));
	other.text[1][0] = 'h';
	CU_ASSERT(chan_route_equal(&cr, &other.r));
	other.hop[1].type = 1;
	CU_ASSERT_FALSE(chan_route_equal(&cr, &other.r));
	other.hop[1].type = 0;
	other.hop[3].len--;
	CU_ASSERT_FALSE(chan_route_equal(&cr, &other.r));
	other.hop[3].len++;
	other.r.count = 3;
	CU_ASSERT_FALSE(chan_route_equal(&cr, &other.r));
	other.r.count = 4;

	/* Replacing with a shorter then a longer route. */
	static struct test_route one;
	route_of(&one, (const char *[]){"echoer", NULL});
	CU_ASSERT_EQUAL(chan_route_set(&cr, &one.r), 0);
	out = chan_route_view(&cr);
	CU_ASSERT(routes_equal(&one.r, &out));
	CU_ASSERT_EQUAL(chan_route_set(&cr, &other.r), 0);
	out = chan_route_view(&cr);
	CU_ASSERT(routes_equal(&other.r, &out));
	chan_route_free(&cr);
	CU_ASSERT_EQUAL(chan_route_count(&cr), 0);
	CU_ASSERT_EQUAL(chan_route_view(&cr).count, 0);
}

static void test_empty_and_full(void)
{
	struct chan_route cr = {0};
	static struct test_route in;
	route_of(&in, (const char *[]){"a", NULL});
	in.r.count = 0;
	CU_ASSERT_EQUAL(chan_route_set(&cr, &in.r), 0);
	CU_ASSERT_EQUAL(chan_route_count(&cr), 0);
	CU_ASSERT_EQUAL(chan_route_view(&cr).count, 0);
	CU_ASSERT(chan_route_equal(&cr, &in.r));
	CU_ASSERT_FALSE(chan_route_first_is(&cr, &in.hop[0]));

	/* OCKAM_ROUTE_MAX hops of OCKAM_ADDR_MAX bytes each. */
	for (unsigned i = 0; i < OCKAM_ROUTE_MAX; i++) {
		memset(in.text[i], 'a' + (int)(i % 26), OCKAM_ADDR_MAX);
		ockam_addr_set(&in.hop[i], (uint8_t)i, in.text[i],
			       OCKAM_ADDR_MAX);
	}
	in.r = ockam_route_make(in.hop, OCKAM_ROUTE_MAX);
	CU_ASSERT_EQUAL_FATAL(chan_route_set(&cr, &in.r), 0);
	struct ockam_route out = chan_route_view(&cr);
	CU_ASSERT(routes_equal(&in.r, &out));
	CU_ASSERT(chan_route_equal(&cr, &in.r));
	/* Setting the empty route frees the copy. */
	in.r.count = 0;
	CU_ASSERT_EQUAL(chan_route_set(&cr, &in.r), 0);
	CU_ASSERT_PTR_NULL(cr.r);
	chan_route_free(&cr);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "round trip and equality", test_round_trip },
		{ "empty and maximal routes", test_empty_and_full },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "chan_route", .tests = tests });
}
