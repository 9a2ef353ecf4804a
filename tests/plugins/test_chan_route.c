/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel's compact route to its peer (chan_route.c): what is
 * stored comes back hop for hop, equality is exact, a failed store keeps
 * the old route, and empty and maximal routes work.
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "../common/cunit_main.h"
#include "chan_route.h"

static void route_of(struct ockam_route *r, const char *const *hops)
{
	r->count = 0;
	for (; *hops; hops++) {
		struct ockam_addr a;
		const char *h = *hops;
		uint8_t type = 0;
		if (strncmp(h, "tcp:", 4) == 0) {
			type = 1;
			h += 4;
		}
		ockam_addr_set(&a, type, h, strlen(h));
		ockam_route_append(r, &a);
	}
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
	struct ockam_route in, out;
	route_of(&in, (const char *[]){"tcp:127.0.0.1:51234", "hop",
				      "tcp:127.0.0.1:4000", "sc_dec.0123456789abcdef",
				      NULL});
	CU_ASSERT_EQUAL_FATAL(chan_route_set(&cr, &in), 0);
	CU_ASSERT_EQUAL(chan_route_count(&cr), 4);
	/* Compact: the bytes actually used, not 4 x 257. */
	CU_ASSERT(cr.len < 80);
	memset(&out, 0xa5, sizeof(out));
	chan_route_load(&cr, &out);
	CU_ASSERT(routes_equal(&in, &out));
	CU_ASSERT(chan_route_equal(&cr, &in));

	/* Any difference is seen: a hop, a type, a length, the count. */
	struct ockam_route other = in;
	other.hop[1].data[0] = 'H';
	CU_ASSERT_FALSE(chan_route_equal(&cr, &other));
	other = in;
	other.hop[1].type = 1;
	CU_ASSERT_FALSE(chan_route_equal(&cr, &other));
	other = in;
	other.hop[3].len--;
	CU_ASSERT_FALSE(chan_route_equal(&cr, &other));
	other = in;
	other.count = 3;
	CU_ASSERT_FALSE(chan_route_equal(&cr, &other));

	/* Replacing with a shorter then a longer route. */
	route_of(&other, (const char *[]){"echoer", NULL});
	CU_ASSERT_EQUAL(chan_route_set(&cr, &other), 0);
	chan_route_load(&cr, &out);
	CU_ASSERT(routes_equal(&other, &out));
	CU_ASSERT_EQUAL(chan_route_set(&cr, &in), 0);
	chan_route_load(&cr, &out);
	CU_ASSERT(routes_equal(&in, &out));
	chan_route_free(&cr);
	CU_ASSERT_EQUAL(chan_route_count(&cr), 0);
}

static void test_empty_and_full(void)
{
	struct chan_route cr = {0};
	struct ockam_route in, out;
	in.count = 0;
	CU_ASSERT_EQUAL(chan_route_set(&cr, &in), 0);
	CU_ASSERT_EQUAL(chan_route_count(&cr), 0);
	out.count = 5;
	chan_route_load(&cr, &out);
	CU_ASSERT_EQUAL(out.count, 0);
	CU_ASSERT(chan_route_equal(&cr, &in));

	/* OCKAM_ROUTE_MAX hops of OCKAM_ADDR_MAX bytes each. */
	in.count = OCKAM_ROUTE_MAX;
	for (unsigned i = 0; i < OCKAM_ROUTE_MAX; i++) {
		in.hop[i].type = (uint8_t)i;
		in.hop[i].len = OCKAM_ADDR_MAX;
		memset(in.hop[i].data, 'a' + (int)(i % 26), OCKAM_ADDR_MAX);
	}
	CU_ASSERT_EQUAL_FATAL(chan_route_set(&cr, &in), 0);
	chan_route_load(&cr, &out);
	CU_ASSERT(routes_equal(&in, &out));
	CU_ASSERT(chan_route_equal(&cr, &in));
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
