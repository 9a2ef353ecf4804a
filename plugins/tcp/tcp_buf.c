/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Buffer memory: held only while a connection moves data.
 *
 * A buffer is a private anonymous mapping, not heap: unmapping gives its
 * pages back to the OS at once (freed heap between live allocations stays
 * resident), only pages actually written become resident, and growing
 * (mremap) copies nothing.  Mapping is a syscall, so it happens when a
 * connection starts moving data, never per message: a busy connection
 * keeps its buffers, and one that moved no byte for TCP_BUF_QUIET_MS with
 * nothing in them gives them back from a sweep timer that runs only while
 * some buffer is held.  An idle node and its idle connections therefore
 * hold no buffer memory at all.
 *
 * Under AddressSanitizer buffers come from malloc instead, so that an
 * overrun hits a redzone and a lost buffer is reported as a leak.
 */
#include "tcp_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define BUF_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUF_HEAP 1
#endif
#endif

#ifdef BUF_HEAP
#include <stdlib.h>
#endif

static size_t page_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) & ~(page - 1);
}

size_t tcp_buf_held(const struct tcp_buf *b)
{
	return b->cap ? page_round(b->cap) : 0;
}

/* `map` bytes for a buffer now holding `old` (0: none); NULL if not. */
static void *pages_resize(void *data, size_t old, size_t map)
{
#ifdef BUF_HEAP
	(void)old;
	return realloc(data, map);
#else
	void *p;

	if (!old)
		p = mmap(NULL, map, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		p = mremap(data, old, map, MREMAP_MAYMOVE);
	return p == MAP_FAILED ? NULL : p;
#endif
}

int tcp_buf_grow(struct tcp_buf *b, size_t n, size_t initial, size_t limit)
{
	size_t cap, map;
	void *p;

	if (b->cap - b->off - b->len >= n)
		return 0;
	if (n > limit || b->len > limit - n)
		return -ENOBUFS;
	if (b->off) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		if (b->cap - b->len >= n)
			return 0;
	}
	cap = b->cap ? b->cap : initial;
	while (cap < b->len + n)
		cap = cap > limit / 2 ? limit : cap * 2;
	if (cap > limit)
		cap = limit;
	map = page_round(cap);
	p = map == tcp_buf_held(b) ? b->data
				   : pages_resize(b->data, tcp_buf_held(b), map);
	if (!p)
		return -ENOMEM;
	b->data = p;
	/* The whole last page is usable, within the limit (so that
	 * tcp_buf_held gives `map` back). */
	b->cap = map < limit ? map : limit;
	return 0;
}

void tcp_buf_release(struct tcp_buf *b)
{
	if (b->cap) {
#ifdef BUF_HEAP
		free(b->data);
#else
		munmap(b->data, tcp_buf_held(b));
#endif
	}
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

/* Give back the buffers of connections that are quiet and empty: a
 * periodic timer, disarmed once no buffer is held. */
static void bufs_sweep(void *data)
{
	struct tcp *t = data;
	uint64_t now = t->host->now_ms();
	int held = 0;

	for (struct tcp_conn *c = t->conns; c; c = c->next) {
		if (!c->in.cap && !c->out.cap)
			continue;
		if (!c->in.len && !c->out.len &&
		    now - c->active_ms >= TCP_BUF_QUIET_MS) {
			tcp_buf_release(&c->in);
			tcp_buf_release(&c->out);
		} else {
			held = 1;
		}
	}
	if (t->rbuf.cap && now - t->rbuf_ms >= TCP_BUF_QUIET_MS)
		tcp_buf_release(&t->rbuf);
	if (t->rbuf.cap)
		held = 1;
	t->bufs_armed = held;
	if (!held)
		t->host->timer_update(t->bufs_timer, 0); /* 0 disarms */
}

void tcp_bufs_watch(struct tcp *t)
{
	if (t->bufs_armed || t->stopping)
		return;
	if (!t->bufs_timer)
		t->bufs_timer = t->host->timer_add_periodic(
			t->ctx, TCP_BUF_SWEEP_MS, bufs_sweep, t);
	else
		t->host->timer_update(t->bufs_timer, TCP_BUF_SWEEP_MS);
	t->bufs_armed = t->bufs_timer != NULL;
}

void tcp_bufs_stop(struct tcp *t)
{
	if (t->bufs_timer)
		t->host->source_remove(t->bufs_timer);
	t->bufs_timer = NULL;
	t->bufs_armed = 0;
	tcp_buf_release(&t->rbuf);
}
