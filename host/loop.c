/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event loop: epoll for fds and signalfds, a binary min-heap for
 * one-shot and periodic timers.
 *
 * Removal is deferred: a removed source is unlinked from epoll, the heap
 * and the live list at once and flagged, so an event for it already
 * fetched in the current epoll batch is skipped; its memory is freed after
 * the dispatch round, when no stale pointer to it remains.
 */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64
/* Drain-and-flush rounds per turn: enough for a flush's sends and the
 * flushes they arm to settle, few enough that a plugin re-arming its
 * flush for ever cannot keep the loop from its fds. */
#define LOOP_TURN_ROUNDS 8
#define HEAP_NONE SIZE_MAX

enum source_kind {
	SOURCE_FD,
	SOURCE_TIMER,
	SOURCE_SIGNAL,
	SOURCE_FLUSH,
};

struct ockam_source {
	struct loop *loop;
	enum source_kind kind;
	bool removed;
	void *data;
	void *owner;
	struct ockam_source *prev, *next; /* live list, or dead list (next) */

	union {
		struct {
			int fd;
			loop_fd_fn fn;
		} io;
		struct {
			uint64_t deadline;
			uint64_t seq; /* arming order: breaks deadline ties */
			uint64_t period; /* 0: one-shot */
			uint64_t due;    /* deadline of the last firing */
			size_t heap_idx;
			loop_timer_fn fn;
		} timer;
		struct {
			int fd; /* the signalfd, owned by the source */
			int signo;
			bool we_blocked; /* unblock on removal */
			loop_signal_fn fn;
		} sig;
		struct {
			bool armed;
			uint64_t pass; /* the flush pass it was armed in */
			struct ockam_source *prev, *next; /* armed list */
			loop_timer_fn fn;
		} flush;
	} u;
};

struct loop {
	int epfd;
	struct ockam_source *live; /* doubly linked */
	struct ockam_source *dead; /* removed, awaiting free (singly linked) */
	struct ockam_source **heap;
	size_t heap_len, heap_cap;
	uint64_t timer_seq;
	unsigned depth; /* nesting of loop_dispatch */
	bool quit;
	loop_idle_fn idle_fn;
	void *idle_data;
	/* Armed flushes, in arming order. */
	struct ockam_source *armed_head, *armed_tail;
	uint64_t flush_pass;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- timer heap ------------------------------------------------------- */

static bool timer_before(const struct ockam_source *a,
			 const struct ockam_source *b)
{
	if (a->u.timer.deadline != b->u.timer.deadline)
		return a->u.timer.deadline < b->u.timer.deadline;
	return a->u.timer.seq < b->u.timer.seq;
}

static void heap_set(struct loop *loop, size_t i, struct ockam_source *s)
{
	loop->heap[i] = s;
	s->u.timer.heap_idx = i;
}

static void heap_up(struct loop *loop, size_t i)
{
	struct ockam_source *s = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(s, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, s);
}

static void heap_down(struct loop *loop, size_t i)
{
	struct ockam_source *s = loop->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct ockam_source *best = s;

		if (l < loop->heap_len && timer_before(loop->heap[l], best)) {
			m = l;
			best = loop->heap[l];
		}
		if (l + 1 < loop->heap_len &&
		    timer_before(loop->heap[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		heap_set(loop, i, loop->heap[m]);
		i = m;
	}
	heap_set(loop, i, s);
}

static int heap_insert(struct loop *loop, struct ockam_source *s)
{
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
		struct ockam_source **h =
			realloc(loop->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		loop->heap = h;
		loop->heap_cap = cap;
	}
	heap_set(loop, loop->heap_len++, s);
	heap_up(loop, loop->heap_len - 1);
	return 0;
}

static void heap_remove(struct loop *loop, struct ockam_source *s)
{
	size_t i = s->u.timer.heap_idx;
	struct ockam_source *last;

	if (i == HEAP_NONE)
		return;
	s->u.timer.heap_idx = HEAP_NONE;
	last = loop->heap[--loop->heap_len];
	if (last == s)
		return;
	heap_set(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->u.timer.heap_idx);
}

/* ---- sources ---------------------------------------------------------- */

static struct ockam_source *source_new(struct loop *loop, enum source_kind k,
				       void *data, void *owner)
{
	struct ockam_source *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->loop = loop;
	s->kind = k;
	s->data = data;
	s->owner = owner;
	return s;
}

static void source_link(struct ockam_source *s)
{
	struct loop *loop = s->loop;

	s->prev = NULL;
	s->next = loop->live;
	if (loop->live)
		loop->live->prev = s;
	loop->live = s;
}

static void source_unlink(struct ockam_source *s)
{
	struct loop *loop = s->loop;

	if (s->prev)
		s->prev->next = s->next;
	else
		loop->live = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static uint32_t events_to_epoll(uint32_t ev)
{
	uint32_t e = 0;

	if (ev & OCKAM_EV_READ)
		e |= EPOLLIN;
	if (ev & OCKAM_EV_WRITE)
		e |= EPOLLOUT;
	return e; /* EPOLLERR and EPOLLHUP are always reported */
}

static int epoll_set(struct loop *loop, int op, int fd, uint32_t events,
		     struct ockam_source *s)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};

	return epoll_ctl(loop->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static bool signal_in_use(struct loop *loop, int signo)
{
	for (struct ockam_source *s = loop->live; s; s = s->next)
		if (s->kind == SOURCE_SIGNAL && s->u.sig.signo == signo)
			return true;
	return false;
}

static void flush_disarm(struct ockam_source *s)
{
	struct loop *loop = s->loop;

	if (!s->u.flush.armed)
		return;
	if (s->u.flush.prev)
		s->u.flush.prev->u.flush.next = s->u.flush.next;
	else
		loop->armed_head = s->u.flush.next;
	if (s->u.flush.next)
		s->u.flush.next->u.flush.prev = s->u.flush.prev;
	else
		loop->armed_tail = s->u.flush.prev;
	s->u.flush.prev = s->u.flush.next = NULL;
	s->u.flush.armed = false;
}

/* Releases what the source holds in the kernel; the memory stays. */
static void source_detach(struct ockam_source *s)
{
	struct loop *loop = s->loop;
	sigset_t set;

	switch (s->kind) {
	case SOURCE_FD:
		/* Fails harmlessly if the caller already closed the fd. */
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s->u.io.fd, NULL);
		break;
	case SOURCE_TIMER:
		heap_remove(loop, s);
		break;
	case SOURCE_FLUSH:
		flush_disarm(s);
		break;
	case SOURCE_SIGNAL:
		close(s->u.sig.fd); /* also drops it from the epoll set */
		s->u.sig.fd = -1;
		if (s->u.sig.we_blocked &&
		    !signal_in_use(loop, s->u.sig.signo)) {
			sigemptyset(&set);
			sigaddset(&set, s->u.sig.signo);
			pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		}
		break;
	}
}

struct loop *loop_create(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

static void free_dead(struct loop *loop)
{
	while (loop->dead) {
		struct ockam_source *s = loop->dead;

		loop->dead = s->next;
		free(s);
	}
}

void loop_destroy(struct loop *loop)
{
	if (!loop)
		return;
	while (loop->live) {
		struct ockam_source *s = loop->live;

		source_unlink(s);
		source_detach(s);
		free(s);
	}
	free_dead(loop);
	free(loop->heap);
	close(loop->epfd);
	free(loop);
}

struct ockam_source *loop_add_fd(struct loop *loop, int fd, uint32_t events,
				 loop_fd_fn fn, void *data, void *owner)
{
	struct ockam_source *s;
	int rc;

	if (fd < 0 || !fn) {
		errno = EINVAL;
		return NULL;
	}
	s = source_new(loop, SOURCE_FD, data, owner);
	if (!s)
		return NULL;
	s->u.io.fd = fd;
	s->u.io.fn = fn;
	rc = epoll_set(loop, EPOLL_CTL_ADD, fd, events_to_epoll(events), s);
	if (rc < 0) {
		free(s);
		errno = -rc;
		return NULL;
	}
	source_link(s);
	return s;
}

int loop_update_fd(struct ockam_source *src, uint32_t events)
{
	if (!src || src->removed || src->kind != SOURCE_FD)
		return -EINVAL;
	return epoll_set(src->loop, EPOLL_CTL_MOD, src->u.io.fd,
			 events_to_epoll(events), src);
}

struct ockam_source *loop_add_timer(struct loop *loop, uint64_t ms,
				    loop_timer_fn fn, void *data, void *owner)
{
	struct ockam_source *s;

	if (!fn) {
		errno = EINVAL;
		return NULL;
	}
	s = source_new(loop, SOURCE_TIMER, data, owner);
	if (!s)
		return NULL;
	s->u.timer.fn = fn;
	s->u.timer.heap_idx = HEAP_NONE;
	source_link(s);
	if (loop_update_timer(s, ms) < 0) {
		source_unlink(s);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

struct ockam_source *loop_add_periodic(struct loop *loop, uint64_t period_ms,
				       loop_timer_fn fn, void *data,
				       void *owner)
{
	if (period_ms == 0 || period_ms == UINT64_MAX) {
		errno = EINVAL;
		return NULL;
	}
	struct ockam_source *s = loop_add_timer(loop, period_ms, fn, data, owner);
	if (s)
		s->u.timer.period = period_ms;
	return s;
}

uint64_t loop_timer_due(const struct ockam_source *src)
{
	return src && src->kind == SOURCE_TIMER ? src->u.timer.due : 0;
}

/* The next deadline of a periodic timer that was due at `due`: one period
 * on, or the first period boundary after `now` if the loop fell behind. */
static uint64_t periodic_next(uint64_t due, uint64_t period, uint64_t now)
{
	uint64_t next = due + period;
	if (next <= now)
		next += ((now - next) / period + 1) * period;
	return next;
}

int loop_update_timer(struct ockam_source *src, uint64_t ms)
{
	struct loop *loop;
	uint64_t now;

	if (!src || src->removed || src->kind != SOURCE_TIMER)
		return -EINVAL;
	loop = src->loop;
	if (ms == UINT64_MAX) {
		heap_remove(loop, src);
		return 0;
	}
	now = loop_now_ms();
	src->u.timer.deadline = ms > UINT64_MAX - now ? UINT64_MAX : now + ms;
	src->u.timer.seq = ++loop->timer_seq;
	if (src->u.timer.heap_idx == HEAP_NONE)
		return heap_insert(loop, src);
	heap_up(loop, src->u.timer.heap_idx);
	heap_down(loop, src->u.timer.heap_idx);
	return 0;
}

struct ockam_source *loop_add_signal(struct loop *loop, int signo,
				     loop_signal_fn fn, void *data,
				     void *owner)
{
	struct ockam_source *s;
	sigset_t set, old;
	int rc;

	if (!fn || signo <= 0 || signo >= NSIG) {
		errno = EINVAL;
		return NULL;
	}
	s = source_new(loop, SOURCE_SIGNAL, data, owner);
	if (!s)
		return NULL;
	sigemptyset(&set);
	sigaddset(&set, signo);
	/* Blocked so the signal stays pending for the signalfd instead of
	 * running its default action. */
	rc = pthread_sigmask(SIG_BLOCK, &set, &old);
	if (rc != 0) {
		free(s);
		errno = rc;
		return NULL;
	}
	s->u.sig.we_blocked = !sigismember(&old, signo);
	s->u.sig.signo = signo;
	s->u.sig.fn = fn;
	s->u.sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->u.sig.fd < 0 ||
	    (rc = epoll_set(loop, EPOLL_CTL_ADD, s->u.sig.fd, EPOLLIN, s)) <
		    0) {
		int err = s->u.sig.fd < 0 ? errno : -rc;

		if (s->u.sig.fd >= 0)
			close(s->u.sig.fd);
		if (s->u.sig.we_blocked && !signal_in_use(loop, signo))
			pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		free(s);
		errno = err;
		return NULL;
	}
	source_link(s);
	return s;
}

struct ockam_source *loop_add_flush(struct loop *loop, loop_timer_fn fn,
				    void *data, void *owner)
{
	struct ockam_source *s = source_new(loop, SOURCE_FLUSH, data, owner);

	if (!s)
		return NULL;
	s->u.flush.fn = fn;
	source_link(s);
	return s;
}

void loop_arm_flush(struct ockam_source *src)
{
	struct loop *loop;

	if (!src || src->removed || src->kind != SOURCE_FLUSH ||
	    src->u.flush.armed)
		return;
	loop = src->loop;
	src->u.flush.armed = true;
	src->u.flush.pass = loop->flush_pass;
	src->u.flush.next = NULL;
	src->u.flush.prev = loop->armed_tail;
	if (loop->armed_tail)
		loop->armed_tail->u.flush.next = src;
	else
		loop->armed_head = src;
	loop->armed_tail = src;
}

void loop_remove(struct ockam_source *src)
{
	struct loop *loop;

	if (!src || src->removed)
		return;
	loop = src->loop;
	src->removed = true;
	source_unlink(src);
	source_detach(src);
	if (loop->depth == 0) {
		free(src);
		return;
	}
	src->next = loop->dead;
	loop->dead = src;
}

void loop_remove_owner(struct loop *loop, void *owner)
{
	struct ockam_source *s, *next;

	if (!owner)
		return; /* NULL means "no owner", not "every unowned source" */
	for (s = loop->live; s; s = next) {
		next = s->next;
		if (s->owner == owner)
			loop_remove(s);
	}
}

void loop_set_idle(struct loop *loop, loop_idle_fn fn, void *data)
{
	loop->idle_fn = fn;
	loop->idle_data = data;
}

void loop_quit(struct loop *loop)
{
	loop->quit = true;
}

/* ---- dispatch --------------------------------------------------------- */

/* Runs timers due now that were armed before this call, so a timer that
 * re-arms itself with 0 ms runs once per pass, not forever. */
static int timers_run(struct loop *loop)
{
	uint64_t now = loop_now_ms(), seq_limit = loop->timer_seq;
	int n = 0;

	while (loop->heap_len > 0) {
		struct ockam_source *s = loop->heap[0];

		if (s->u.timer.deadline > now || s->u.timer.seq > seq_limit)
			break;
		heap_remove(loop, s);
		s->u.timer.due = s->u.timer.deadline;
		if (s->u.timer.period) {
			/* Re-armed before the callback, from when it was due:
			 * the callback may still disarm or re-arm it. */
			s->u.timer.deadline = periodic_next(
				s->u.timer.due, s->u.timer.period, now);
			s->u.timer.seq = ++loop->timer_seq;
			/* Cannot fail: it just left the heap. */
			(void)heap_insert(loop, s);
		}
		uint64_t seq = s->u.timer.seq;
		s->u.timer.fn(s->data);
		/* A callback slower than the period: skip the periods it
		 * covered, unless it re-armed or removed its timer (removal
		 * frees later, so `s` is still readable). */
		if (s->u.timer.period && !s->removed &&
		    s->u.timer.heap_idx != HEAP_NONE && s->u.timer.seq == seq) {
			uint64_t after = loop_now_ms();
			if (s->u.timer.deadline <= after) {
				s->u.timer.deadline = periodic_next(
					s->u.timer.due, s->u.timer.period, after);
				heap_down(loop, s->u.timer.heap_idx);
			}
		}
		n++;
	}
	return n;
}

/* Runs the flushes armed before this pass; those they arm run in the
 * next pass. */
static int flushes_run(struct loop *loop)
{
	uint64_t pass = loop->flush_pass++;
	int n = 0;

	while (loop->armed_head && loop->armed_head->u.flush.pass <= pass) {
		struct ockam_source *s = loop->armed_head;

		flush_disarm(s);
		s->u.flush.fn(s->data);
		n++;
	}
	return n;
}

/* The end of a turn: deliver what is queued (the idle hook), then run the
 * armed flushes, and again while they send or arm more, boundedly.  On
 * the last round the flushes run even if the queue is not empty, so
 * batched writes are never starved by a busy queue.  Returns nonzero if
 * work is left for the next turn. */
static int turn_end(struct loop *loop, int *ran)
{
	int more = 0;

	for (int round = 0; round < LOOP_TURN_ROUNDS; round++) {
		more = loop->idle_fn ? loop->idle_fn(loop->idle_data) : 0;
		if (more && round + 1 < LOOP_TURN_ROUNDS)
			continue;
		if (!loop->armed_head)
			break;
		*ran += flushes_run(loop);
		more = 1; /* they may have sent: drain again */
	}
	return more || loop->armed_head != NULL;
}

static int timeout_compute(struct loop *loop, int timeout_ms)
{
	uint64_t now, wait;

	if (loop->heap_len == 0)
		return timeout_ms;
	now = loop_now_ms();
	wait = loop->heap[0]->u.timer.deadline > now
		       ? loop->heap[0]->u.timer.deadline - now
		       : 0;
	if (wait > INT_MAX)
		wait = INT_MAX;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait)
		return timeout_ms;
	return (int)wait;
}

static int signal_dispatch(struct ockam_source *s)
{
	struct signalfd_siginfo si;
	int n = 0;

	while (!s->removed &&
	       read(s->u.sig.fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		s->u.sig.fn(s->data, (int)si.ssi_signo);
		n++;
	}
	return n;
}

static int events_dispatch(struct epoll_event *ev, int count)
{
	int n = 0;

	for (int i = 0; i < count; i++) {
		struct ockam_source *s = ev[i].data.ptr;
		uint32_t e = ev[i].events, out = 0;

		/* Removed by an earlier callback of this batch. */
		if (s->removed)
			continue;
		if (s->kind == SOURCE_SIGNAL) {
			n += signal_dispatch(s);
			continue;
		}
		if (e & EPOLLIN)
			out |= OCKAM_EV_READ;
		if (e & EPOLLOUT)
			out |= OCKAM_EV_WRITE;
		/* READ too, so the owner reads the EOF or error. */
		if (e & (EPOLLERR | EPOLLHUP))
			out |= OCKAM_EV_ERROR | OCKAM_EV_READ;
		s->u.io.fn(s->data, s->u.io.fd, out);
		n++;
	}
	return n;
}

int loop_dispatch(struct loop *loop, int timeout_ms)
{
	struct epoll_event ev[LOOP_MAX_EVENTS];
	int n = 0, count, rc = 0;

	loop->depth++;
	n += timers_run(loop);
	if (turn_end(loop, &n))
		timeout_ms = 0;
	if (loop->quit)
		timeout_ms = 0;
	count = epoll_wait(loop->epfd, ev, LOOP_MAX_EVENTS,
			   timeout_compute(loop, timeout_ms));
	if (count < 0) {
		if (errno != EINTR)
			rc = -errno;
		count = 0;
	}
	n += events_dispatch(ev, count);
	/* Timers that came due while waiting run now, not one wait later. */
	n += timers_run(loop);
	/* What the callbacks sent is delivered, and their flushes run,
	 * before the next wait. */
	turn_end(loop, &n);
	if (--loop->depth == 0)
		free_dead(loop);
	return rc < 0 ? rc : n;
}

int loop_run(struct loop *loop)
{
	int rc = 0;

	while (!loop->quit) {
		rc = loop_dispatch(loop, -1);
		if (rc < 0)
			break;
	}
	loop->quit = false;
	return rc < 0 ? rc : 0;
}
