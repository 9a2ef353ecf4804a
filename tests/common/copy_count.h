/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bytes copied, for tests that show a message's payload is not copied
 * where it need not be (a local forward).  Include it in exactly one file
 * of a test executable built with export_dynamic: true, so the host core
 * and the dlopen()ed plugins bind to these memcpy, memmove and mempcpy
 * (and their _FORTIFY_SOURCE _chk forms).  While `copy_counting` is set,
 * each call adds its length to `copy_bytes`; the copy itself is glibc's.
 * Copies the compiler inlines (small constant sizes) are not seen: a
 * payload's copy has a variable length and always is.  COPY_COUNTER is 0
 * under AddressSanitizer, which intercepts memcpy itself: such tests then
 * check nothing and say so.  tests/bench/copycount.c is the LD_PRELOAD
 * form of the same count, per call site, for profile.py.
 */
#ifndef OCKAM_TEST_COPY_COUNT_H
#define OCKAM_TEST_COPY_COUNT_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define COPY_COUNTER 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COPY_COUNTER 0
#endif
#endif
#ifndef COPY_COUNTER
#define COPY_COUNTER 1
#endif

#if COPY_COUNTER
#include <dlfcn.h>
#include <stdlib.h>

static int copy_counting;
static unsigned long long copy_bytes;

typedef void *(*copy_count_fn)(void *, const void *, size_t);
static copy_count_fn copy_real_memcpy, copy_real_memmove, copy_real_mempcpy;

/* Before dlsym has answered (or while it runs): byte by byte, through a
 * volatile pointer so the compiler does not turn the loop into a memmove
 * call (to us). */
static void *copy_slow(void *d, const void *s, size_t n)
{
	volatile unsigned char *dp = d;
	const unsigned char *sp = s;
	if ((void *)dp < s)
		for (size_t i = 0; i < n; i++)
			dp[i] = sp[i];
	else
		for (size_t i = n; i > 0; i--)
			dp[i - 1] = sp[i - 1];
	return d;
}

static void copy_resolve(void)
{
	static int busy;
	if (busy)
		return;
	busy = 1;
	copy_real_memcpy = (copy_count_fn)dlsym(RTLD_NEXT, "memcpy");
	copy_real_memmove = (copy_count_fn)dlsym(RTLD_NEXT, "memmove");
	copy_real_mempcpy = (copy_count_fn)dlsym(RTLD_NEXT, "mempcpy");
	busy = 0;
}

void *memcpy(void *d, const void *s, size_t n)
{
	if (copy_counting)
		copy_bytes += n;
	if (!copy_real_memcpy)
		copy_resolve();
	return copy_real_memcpy ? copy_real_memcpy(d, s, n) : copy_slow(d, s, n);
}

void *memmove(void *d, const void *s, size_t n)
{
	if (copy_counting)
		copy_bytes += n;
	if (!copy_real_memmove)
		copy_resolve();
	return copy_real_memmove ? copy_real_memmove(d, s, n)
				 : copy_slow(d, s, n);
}

void *mempcpy(void *d, const void *s, size_t n)
{
	if (copy_counting)
		copy_bytes += n;
	if (!copy_real_mempcpy)
		copy_resolve();
	if (copy_real_mempcpy)
		return copy_real_mempcpy(d, s, n);
	return (unsigned char *)copy_slow(d, s, n) + n;
}

void *__memcpy_chk(void *d, const void *s, size_t n, size_t dn);
void *__memcpy_chk(void *d, const void *s, size_t n, size_t dn)
{
	if (n > dn)
		abort(); /* what glibc's does: a fortified overflow */
	return memcpy(d, s, n);
}

void *__memmove_chk(void *d, const void *s, size_t n, size_t dn);
void *__memmove_chk(void *d, const void *s, size_t n, size_t dn)
{
	if (n > dn)
		abort();
	return memmove(d, s, n);
}
#endif

#endif
