/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A counting allocator for tests that show the hot path allocates nothing
 * per message.  Include it in exactly one file of a test executable built
 * with export_dynamic: true (so the dlopen()ed plugins bind to it too).
 * While `alloc_counting` is set, every malloc, calloc, realloc and aligned
 * allocation of the process adds one to `alloc_calls`; all of them are
 * handed to glibc's.  ALLOC_COUNTER is 0 under AddressSanitizer, which
 * owns malloc itself: such tests then check nothing and say so.
 */
#ifndef OCKAM_TEST_ALLOC_COUNT_H
#define OCKAM_TEST_ALLOC_COUNT_H

#include <errno.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_COUNTER 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOC_COUNTER 0
#endif
#endif
#ifndef ALLOC_COUNTER
#define ALLOC_COUNTER 1
#endif

#if ALLOC_COUNTER
#include <malloc.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
static int alloc_counting;
static unsigned long alloc_calls;

void *malloc(size_t n)
{
	alloc_calls += alloc_counting;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	alloc_calls += alloc_counting;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	alloc_calls += alloc_counting;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

void *memalign(size_t align, size_t n)
{
	alloc_calls += alloc_counting;
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p = memalign(align, n);

	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}
#endif

#endif
