/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pool that keeps channel and identity secrets (secret_pool.c): slots
 * come zeroed, 16-byte aligned and distinct, across more than one chunk;
 * a freed slot is wiped at once (read through a slot of the same chunk
 * that is still in use) and handed out again; pools of different sizes
 * do not mix.
 */
#include <CUnit/Basic.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "../common/cunit_main.h"
#include "secret_pool.h"

#define N 300 /* more than two chunks of 128 */

static void test_alloc_free(void)
{
	static struct secret_pool pool = { .slot_size = 40 };
	static unsigned char *slot[N];
	for (int i = 0; i < N; i++) {
		slot[i] = secret_pool_alloc(&pool);
		CU_ASSERT_PTR_NOT_NULL_FATAL(slot[i]);
		CU_ASSERT_EQUAL((uintptr_t)slot[i] % 16, 0);
		CU_ASSERT(sodium_is_zero(slot[i], 40));
		memset(slot[i], 0xa0 + i % 16, 40);
	}
	CU_ASSERT_EQUAL(pool.slot_size, 48); /* rounded for alignment */
	/* Distinct: each still holds what was written in it. */
	for (int i = 0; i < N; i++)
		for (int j = 0; j < 40; j++)
			if (slot[i][j] != 0xa0 + i % 16)
				CU_FAIL_FATAL("slots overlap");
	/* Freed: wiped at once (slot 1 keeps its chunk mapped). */
	unsigned char *freed = slot[0];
	secret_pool_free(&pool, freed);
	CU_ASSERT(sodium_is_zero(freed, 48));
	/* Its chunk has room again; with every later chunk full, that slot
	 * is the one handed out, zeroed. */
	unsigned char *fill[2 * 128];
	int n_fill = 0;
	unsigned char *again;
	while ((again = secret_pool_alloc(&pool)) != freed && n_fill < 2 * 128)
		fill[n_fill++] = again;
	CU_ASSERT_PTR_EQUAL(again, freed);
	CU_ASSERT(sodium_is_zero(again, 48));
	slot[0] = again;
	for (int i = 0; i < n_fill; i++)
		secret_pool_free(&pool, fill[i]);
	secret_pool_free(&pool, NULL); /* ignored */
	for (int i = 0; i < N; i++)
		secret_pool_free(&pool, slot[i]);
	/* Every chunk went back. */
	CU_ASSERT_PTR_NULL(pool.chunks);
}

static void test_pools_apart(void)
{
	static struct secret_pool a = { .slot_size = 64 };
	static struct secret_pool b = { .slot_size = 224 };
	unsigned char *x = secret_pool_alloc(&a);
	unsigned char *y = secret_pool_alloc(&b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	/* A slot of one pool is not released by the other. */
	memset(x, 0x5a, 64);
	secret_pool_free(&b, x);
	CU_ASSERT_EQUAL(x[0], 0x5a);
	CU_ASSERT_PTR_NOT_NULL(a.chunks);
	secret_pool_free(&a, x);
	secret_pool_free(&b, y);
	CU_ASSERT_PTR_NULL(a.chunks);
	CU_ASSERT_PTR_NULL(b.chunks);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	static const struct cunit_test tests[] = {
		{ "alloc, wipe, reuse, release", test_alloc_free },
		{ "pools of different sizes stay apart", test_pools_apart },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "secret_pool", .tests = tests });
}
