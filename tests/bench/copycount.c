/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bytes copied in user space, for tests/bench/profile.py ("copies"):
 * an LD_PRELOAD library that counts the calls and bytes of memcpy,
 * memmove and mempcpy (and their _chk forms) made through the PLT by the
 * host, its plugins and the libraries they call, per call site, and writes
 * them to $COPYCOUNT_OUT.<pid> when the process exits.  It counts heap
 * allocations the same way (malloc, calloc, realloc, aligned forms), so
 * the same run shows whether the hot path allocates per message.
 *
 * Only the profiling run loads it, so the node's hot path carries nothing
 * for it.  What it cannot see: copies the compiler inlined (a constant,
 * small struct assignment), copies inside libc that do not go through the
 * PLT (stdio), and the kernel's copies of read/write.
 *
 *   cc -O2 -shared -fPIC -o copycount.so tests/bench/copycount.c -ldl
 *   COPYCOUNT_OUT=/tmp/cc LD_PRELOAD=./copycount.so ockam-host node.yaml
 *
 * Output: "total <calls> <bytes>" (copies), "allocs <calls> <bytes>", then
 * one line per call site, "site <object> <offset hex> <calls> <bytes>" for
 * copies and "asite ..." for allocations (the offset of the return address
 * in that object; profile.py names the function with nm).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SITES 4096 /* a power of two */

struct site {
	uintptr_t ret; /* 0: free */
	int alloc;     /* an allocation site, not a copy site */
	uint64_t calls, bytes;
	/* Where the return address lies, looked up once when the site is
	 * first seen: plugins are unloaded before the process exits. */
	uintptr_t base;
	char obj[160];
};

static struct site sites[SITES];
static uint64_t total_calls, total_bytes, lost_sites;
static uint64_t alloc_calls, alloc_bytes;

typedef void *(*copy_fn)(void *, const void *, size_t);
static copy_fn real_memcpy, real_memmove, real_mempcpy;

/* Before dlsym has answered (or if it calls us itself): copy by hand. */
static void *slow_move(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	if (dp < sp)
		for (size_t i = 0; i < n; i++)
			dp[i] = sp[i];
	else
		for (size_t i = n; i > 0; i--)
			dp[i - 1] = sp[i - 1];
	return d;
}

static void resolve(void)
{
	static int busy;
	if (busy)
		return;
	busy = 1;
	real_memcpy = (copy_fn)dlsym(RTLD_NEXT, "memcpy");
	real_memmove = (copy_fn)dlsym(RTLD_NEXT, "memmove");
	real_mempcpy = (copy_fn)dlsym(RTLD_NEXT, "mempcpy");
	busy = 0;
}

static __thread int in_lookup;

static void site_name(struct site *s, uintptr_t ret)
{
	Dl_info info;
	if (in_lookup)
		return;
	in_lookup = 1;
	if (dladdr((void *)ret, &info) && info.dli_fname) {
		size_t i = 0;
		for (; info.dli_fname[i] && i + 1 < sizeof(s->obj); i++)
			s->obj[i] = info.dli_fname[i];
		s->obj[i] = '\0';
		s->base = (uintptr_t)info.dli_fbase;
	}
	in_lookup = 0;
}

static void count_site(uintptr_t ret, size_t n, int alloc);

static void count(uintptr_t ret, size_t n)
{
	__atomic_add_fetch(&total_calls, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total_bytes, n, __ATOMIC_RELAXED);
	count_site(ret, n, 0);
}

static void count_alloc(uintptr_t ret, size_t n)
{
	__atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&alloc_bytes, n, __ATOMIC_RELAXED);
	count_site(ret, n, 1);
}

static void count_site(uintptr_t ret, size_t n, int alloc)
{
	/* Copy and allocation sites apart: the low bit is free in a return
	 * address's hash. */
	ret = alloc ? ret | ((uintptr_t)1 << 63) : ret;
	size_t i = (ret >> 2) * 0x9e3779b97f4a7c15ull >> 52;
	for (size_t probe = 0; probe < 64; probe++) {
		struct site *s = &sites[(i + probe) & (SITES - 1)];
		uintptr_t cur = __atomic_load_n(&s->ret, __ATOMIC_ACQUIRE);
		if (cur == 0) {
			uintptr_t zero = 0;
			if (!__atomic_compare_exchange_n(&s->ret, &zero, ret, 0,
							 __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				cur = zero;
			else {
				s->alloc = alloc;
				site_name(s, ret & ~((uintptr_t)1 << 63));
				cur = ret;
			}
		}
		if (cur == ret) {
			__atomic_add_fetch(&s->calls, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&s->bytes, n, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_add_fetch(&lost_sites, 1, __ATOMIC_RELAXED);
}

#define RET ((uintptr_t)__builtin_return_address(0))

void *memcpy(void *d, const void *s, size_t n)
{
	count(RET, n);
	if (!real_memcpy)
		resolve();
	return real_memcpy ? real_memcpy(d, s, n) : slow_move(d, s, n);
}

void *memmove(void *d, const void *s, size_t n)
{
	count(RET, n);
	if (!real_memmove)
		resolve();
	return real_memmove ? real_memmove(d, s, n) : slow_move(d, s, n);
}

void *mempcpy(void *d, const void *s, size_t n)
{
	count(RET, n);
	if (!real_mempcpy)
		resolve();
	if (real_mempcpy)
		return real_mempcpy(d, s, n);
	return (char *)slow_move(d, s, n) + n;
}

void *__memcpy_chk(void *d, const void *s, size_t n, size_t cap)
{
	(void)cap;
	count(RET, n);
	if (!real_memcpy)
		resolve();
	return real_memcpy ? real_memcpy(d, s, n) : slow_move(d, s, n);
}

void *__memmove_chk(void *d, const void *s, size_t n, size_t cap)
{
	(void)cap;
	count(RET, n);
	if (!real_memmove)
		resolve();
	return real_memmove ? real_memmove(d, s, n) : slow_move(d, s, n);
}

/* glibc's own entry points: no dlsym (which itself allocates) needed. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n)
{
	count_alloc(RET, n);
	return __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
	count_alloc(RET, k * n);
	return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
	count_alloc(RET, n);
	return __libc_realloc(p, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	count_alloc(RET, n);
	return __libc_memalign(a, n);
}

void *memalign(size_t a, size_t n)
{
	count_alloc(RET, n);
	return __libc_memalign(a, n);
}

int posix_memalign(void **out, size_t a, size_t n)
{
	count_alloc(RET, n);
	void *p = __libc_memalign(a, n);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

__attribute__((destructor)) static void copycount_dump(void)
{
	const char *base = getenv("COPYCOUNT_OUT");
	char path[4096];
	if (!base)
		return;
	snprintf(path, sizeof(path), "%s.%ld", base, (long)getpid());
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "total %llu %llu\n", (unsigned long long)total_calls,
		(unsigned long long)total_bytes);
	fprintf(f, "allocs %llu %llu\n", (unsigned long long)alloc_calls,
		(unsigned long long)alloc_bytes);
	if (lost_sites)
		fprintf(f, "lost %llu\n", (unsigned long long)lost_sites);
	for (size_t i = 0; i < SITES; i++) {
		struct site *s = &sites[i];
		if (!s->ret)
			continue;
		uintptr_t ret = s->ret & ~((uintptr_t)1 << 63);
		const char *kind = s->alloc ? "asite" : "site";
		if (s->obj[0])
			fprintf(f, "%s %s %lx %llu %llu\n", kind, s->obj,
				(unsigned long)(ret - s->base),
				(unsigned long long)s->calls,
				(unsigned long long)s->bytes);
		else
			fprintf(f, "%s ? %lx %llu %llu\n", kind,
				(unsigned long)ret,
				(unsigned long long)s->calls,
				(unsigned long long)s->bytes);
	}
	fclose(f);
}
