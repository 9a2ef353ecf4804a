/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Noise listener's half-open handshakes by source (chan_sources.c): the
 * counts, each source's oldest end, the busiest source (ties: the first to
 * hold that many), the per-source and table bounds, slots coming back when
 * a source's last end goes, and keys that tell sources apart.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "../common/cunit_main.h"
#include "chan_sources.h"

static struct channel ends[16];

static uint64_t key_of(struct chan_sources *s, uint8_t type, const char *v)
{
	struct ockam_addr a;
	ockam_addr_set(&a, type, v, strlen(v));
	return chan_sources_key(s, &a);
}

static void test_counts_and_oldest(void)
{
	struct chan_sources s;
	memset(ends, 0, sizeof(ends));
	CU_ASSERT_FATAL(chan_sources_init(&s, 8, 3) == 0);
	uint64_t a = key_of(&s, 1, "127.0.0.1:1000");
	uint64_t b = key_of(&s, 1, "127.0.0.1:1001");
	CU_ASSERT_PTR_NULL(chan_sources_busiest(&s));
	CU_ASSERT_EQUAL(chan_sources_add(&s, a, &ends[0]), 0);
	CU_ASSERT_EQUAL(chan_sources_add(&s, b, &ends[1]), 0);
	CU_ASSERT_EQUAL(chan_sources_add(&s, a, &ends[2]), 0);
	CU_ASSERT_EQUAL(chan_sources_add(&s, a, &ends[3]), 0);
	CU_ASSERT_EQUAL(chan_sources_held(&s, a), 3);
	CU_ASSERT_EQUAL(chan_sources_held(&s, b), 1);
	/* The quota holds: a fourth for `a` is refused. */
	CU_ASSERT_EQUAL(chan_sources_add(&s, a, &ends[4]), -ENOSPC);
	CU_ASSERT_EQUAL(ends[4].src, 0);
	CU_ASSERT_PTR_EQUAL(chan_sources_oldest(&s, a), &ends[0]);
	CU_ASSERT_PTR_EQUAL(chan_sources_oldest(&s, b), &ends[1]);
	struct chan_source *top = chan_sources_busiest(&s);
	CU_ASSERT_FATAL(top != NULL);
	CU_ASSERT_EQUAL(top->key, a);
	CU_ASSERT_EQUAL(top->count, 3);
	/* Its oldest goes: the next one is the oldest; holding 2 to b's 1,
	 * `a` is still the busiest. */
	chan_sources_remove(&s, &ends[0]);
	CU_ASSERT_EQUAL(ends[0].src, 0);
	CU_ASSERT_PTR_EQUAL(chan_sources_oldest(&s, a), &ends[2]);
	CU_ASSERT_EQUAL(chan_sources_busiest(&s)->key, a);
	chan_sources_remove(&s, &ends[3]);
	/* Level at one each: the first to hold one is `b`. */
	CU_ASSERT_EQUAL(chan_sources_busiest(&s)->count, 1);
	CU_ASSERT_EQUAL(chan_sources_busiest(&s)->key, b);
	struct channel *ch;
	unsigned n = 0;
	while ((ch = chan_sources_any(&s))) {
		chan_sources_remove(&s, ch);
		n++;
	}
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_PTR_NULL(chan_sources_busiest(&s));
	CU_ASSERT_EQUAL(chan_sources_held(&s, a), 0);
	chan_sources_free(&s);
}

static void test_table_full_and_reuse(void)
{
	struct chan_sources s;
	char v[32];
	memset(ends, 0, sizeof(ends));
	CU_ASSERT_FATAL(chan_sources_init(&s, 4, 64) == 0);
	CU_ASSERT_EQUAL(s.per_source, 4); /* no source holds more than all */
	for (int i = 0; i < 4; i++) {
		snprintf(v, sizeof(v), "127.0.0.1:%d", 2000 + i);
		CU_ASSERT_EQUAL(chan_sources_add(&s, key_of(&s, 1, v),
						 &ends[i]),
				0);
	}
	uint64_t fifth = key_of(&s, 1, "127.0.0.1:2004");
	CU_ASSERT_EQUAL(chan_sources_add(&s, fifth, &ends[4]), -ENOSPC);
	/* A source's last end gone: its slot serves another. */
	chan_sources_remove(&s, &ends[1]);
	CU_ASSERT_EQUAL(chan_sources_add(&s, fifth, &ends[4]), 0);
	struct chan_source *c = chan_sources_find(&s, fifth);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(c->count, 1);
	CU_ASSERT_PTR_NULL(chan_sources_find(&s,
					     key_of(&s, 1, "127.0.0.1:2001")));
	struct channel *ch;
	while ((ch = chan_sources_any(&s)))
		chan_sources_remove(&s, ch);
	chan_sources_free(&s);
}

/* Count-only use (a listener's open channels): inc/dec, the busiest,
 * the per-source cap and slot reuse, with no ends listed. */
static void test_count_only(void)
{
	struct chan_sources s;
	CU_ASSERT_FATAL(chan_sources_init(&s, 8, 3) == 0);
	uint64_t a = key_of(&s, 1, "127.0.0.1:3000");
	uint64_t b = key_of(&s, 1, "127.0.0.1:3001");
	uint32_t ia[3];
	for (int i = 0; i < 3; i++) {
		ia[i] = chan_sources_inc(&s, a);
		CU_ASSERT(ia[i] != 0);
	}
	CU_ASSERT(ia[0] == ia[1] && ia[1] == ia[2]);
	CU_ASSERT_EQUAL(chan_sources_inc(&s, a), 0); /* at per_source */
	uint32_t ib = chan_sources_inc(&s, b);
	CU_ASSERT(ib != 0 && ib != ia[0]);
	struct chan_source *top = chan_sources_busiest(&s);
	CU_ASSERT_EQUAL(chan_sources_index(&s, top), ia[0]);
	CU_ASSERT_EQUAL(top->count, 3);
	chan_sources_dec(&s, ia[0]);
	chan_sources_dec(&s, ia[0]);
	CU_ASSERT_EQUAL(chan_sources_held(&s, a), 1);
	chan_sources_dec(&s, ia[0]);
	CU_ASSERT_EQUAL(chan_sources_held(&s, a), 0);
	CU_ASSERT_PTR_NULL(chan_sources_find(&s, a));
	CU_ASSERT_EQUAL(chan_sources_index(&s, chan_sources_busiest(&s)), ib);
	chan_sources_dec(&s, ib);
	CU_ASSERT_PTR_NULL(chan_sources_busiest(&s));
	chan_sources_dec(&s, 0); /* none: nothing */
	chan_sources_free(&s);
}

static void test_keys(void)
{
	struct chan_sources s, t;
	CU_ASSERT_FATAL(chan_sources_init(&s, 2, 1) == 0);
	CU_ASSERT_FATAL(chan_sources_init(&t, 2, 1) == 0);
	CU_ASSERT_EQUAL(key_of(&s, 1, "127.0.0.1:1"), key_of(&s, 1, "127.0.0.1:1"));
	CU_ASSERT_NOT_EQUAL(key_of(&s, 1, "127.0.0.1:1"), key_of(&s, 1, "127.0.0.1:2"));
	/* The type is part of the source: a local `hop` is not tcp:hop. */
	CU_ASSERT_NOT_EQUAL(key_of(&s, 0, "hop"), key_of(&s, 1, "hop"));
	/* Keyed: another table (another run) hashes differently. */
	CU_ASSERT_NOT_EQUAL(key_of(&s, 1, "127.0.0.1:1"), key_of(&t, 1, "127.0.0.1:1"));
	chan_sources_free(&s);
	chan_sources_free(&t);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "counts, oldest and busiest", test_counts_and_oldest },
		{ "table full, slot reused", test_table_full_and_reuse },
		{ "keys", test_keys },
		{ "count only", test_count_only },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "chan_sources", .tests = tests });
}
