/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event loop: fd readiness, timer order and re-arming, periodic
 * timers that do not drift, removal from
 * callbacks (own source, and another source pending in the same batch),
 * signals, the idle hook, owner removal and quitting.  Sources are left in
 * the loop at the end of some tests on purpose: loop_destroy must free
 * them (ASan's leak check sees it if not).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../common/cunit_main.h"
#include "loop.h"

/* ---- fds ------------------------------------------------------------- */

struct fd_probe {
	int calls;
	uint32_t events;
	struct ockam_source *self, *other;
	int remove_self, remove_other;
};

static void fd_probe_fn(void *data, int fd, uint32_t events)
{
	struct fd_probe *p = data;
	char c;

	p->calls++;
	p->events = events;
	if (events & OCKAM_EV_READ)
		(void)!read(fd, &c, 1);
	if (p->remove_other)
		loop_remove(p->other);
	if (p->remove_self)
		loop_remove(p->self);
}

static void test_fd_readiness(void)
{
	struct loop *loop = loop_create();
	struct fd_probe r = {0}, w = {0};
	int fds[2];

	CU_ASSERT_FATAL(loop != NULL);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	r.self = loop_add_fd(loop, fds[0], OCKAM_EV_READ, fd_probe_fn, &r,
			     NULL);
	CU_ASSERT_FATAL(r.self != NULL);

	/* Nothing to read: nothing runs. */
	CU_ASSERT_EQUAL(loop_dispatch(loop, 0), 0);
	CU_ASSERT_EQUAL(r.calls, 0);

	CU_ASSERT_EQUAL(write(fds[1], "x", 1), 1);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 1000), 1);
	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.events, OCKAM_EV_READ);

	/* Write interest only when asked for (write-first model). */
	w.self = loop_add_fd(loop, fds[1], 0, fd_probe_fn, &w, NULL);
	CU_ASSERT_FATAL(w.self != NULL);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 0), 0);
	CU_ASSERT_EQUAL(loop_update_fd(w.self, OCKAM_EV_WRITE), 0);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 1000), 1);
	CU_ASSERT_EQUAL(w.calls, 1);
	CU_ASSERT_EQUAL(w.events, OCKAM_EV_WRITE);
	CU_ASSERT_EQUAL(loop_update_fd(w.self, 0), 0);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 0), 0);
	CU_ASSERT_EQUAL(w.calls, 1);

	/* Hang-up: ERROR, plus READ so the owner reads the EOF. */
	loop_remove(w.self);
	close(fds[1]);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 1000), 1);
	CU_ASSERT_EQUAL(r.events, OCKAM_EV_READ | OCKAM_EV_ERROR);

	/* Bad arguments. */
	errno = 0;
	CU_ASSERT_PTR_NULL(loop_add_fd(loop, -1, OCKAM_EV_READ, fd_probe_fn,
				       &r, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);

	loop_destroy(loop); /* frees r.self */
	close(fds[0]);
}

static void test_remove_own_fd(void)
{
	struct loop *loop = loop_create();
	struct fd_probe r = {.remove_self = 1};
	int fds[2];

	CU_ASSERT_FATAL(pipe(fds) == 0);
	r.self = loop_add_fd(loop, fds[0], OCKAM_EV_READ, fd_probe_fn, &r,
			     NULL);
	CU_ASSERT_EQUAL(write(fds[1], "xyz", 3), 3); /* stays readable */
	CU_ASSERT_EQUAL(loop_dispatch(loop, 1000), 1);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 0), 0);
	CU_ASSERT_EQUAL(r.calls, 1);
	loop_destroy(loop);
	close(fds[0]);
	close(fds[1]);
}

static void test_remove_other_pending(void)
{
	struct loop *loop = loop_create();
	struct fd_probe a = {.remove_other = 1, .remove_self = 1};
	struct fd_probe b = {.remove_other = 1, .remove_self = 1};
	int pa[2], pb[2];

	CU_ASSERT_FATAL(pipe(pa) == 0 && pipe(pb) == 0);
	a.self = loop_add_fd(loop, pa[0], OCKAM_EV_READ, fd_probe_fn, &a,
			     NULL);
	b.self = loop_add_fd(loop, pb[0], OCKAM_EV_READ, fd_probe_fn, &b,
			     NULL);
	a.other = b.self;
	b.other = a.self;
	/* Both readable before the wait: one epoll batch holds both. */
	CU_ASSERT_EQUAL(write(pa[1], "x", 1), 1);
	CU_ASSERT_EQUAL(write(pb[1], "x", 1), 1);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 1000), 1);
	/* Whichever ran first removed the other: it never ran. */
	CU_ASSERT_EQUAL(a.calls + b.calls, 1);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 0), 0);
	CU_ASSERT_EQUAL(a.calls + b.calls, 1);
	loop_destroy(loop);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

/* ---- timers ---------------------------------------------------------- */

struct timer_log {
	int order[16];
	int n;
};

struct timer_probe {
	struct timer_log *log;
	int id;
	int rearm; /* re-arm this many more times from the callback */
	uint64_t rearm_ms;
	int remove_self;
	struct ockam_source *self;
};

static void timer_probe_fn(void *data)
{
	struct timer_probe *t = data;

	if (t->log->n < 16)
		t->log->order[t->log->n++] = t->id;
	if (t->rearm > 0) {
		t->rearm--;
		CU_ASSERT_EQUAL(loop_update_timer(t->self, t->rearm_ms), 0);
	}
	if (t->remove_self)
		loop_remove(t->self);
}

static void dispatch_until(struct loop *loop, const struct timer_log *log,
			   int n)
{
	uint64_t end = loop_now_ms() + 2000;

	while (log->n < n && loop_now_ms() < end)
		loop_dispatch(loop, 100);
}

static void test_timer_order(void)
{
	struct loop *loop = loop_create();
	struct timer_log log = {0};
	struct timer_probe t[5];
	static const uint64_t ms[5] = {30, 10, 20, 0, 0};
	static const int expect[5] = {3, 4, 1, 2, 0};

	for (int i = 0; i < 5; i++) {
		t[i] = (struct timer_probe){.log = &log, .id = i};
		t[i].self = loop_add_timer(loop, ms[i], timer_probe_fn, &t[i],
					   NULL);
		CU_ASSERT_FATAL(t[i].self != NULL);
	}
	dispatch_until(loop, &log, 5);
	CU_ASSERT_EQUAL_FATAL(log.n, 5);
	/* By deadline; equal deadlines in arming order. */
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(log.order[i], expect[i]);

	/* One-shot: nothing fires again. */
	CU_ASSERT_EQUAL(loop_dispatch(loop, 50), 0);
	CU_ASSERT_EQUAL(log.n, 5);

	/* A fired timer can be re-armed from outside. */
	CU_ASSERT_EQUAL(loop_update_timer(t[2].self, 5), 0);
	dispatch_until(loop, &log, 6);
	CU_ASSERT_EQUAL(log.n, 6);
	CU_ASSERT_EQUAL(log.order[5], 2);

	/* Disarmed timers do not fire; re-arming moves the deadline. */
	CU_ASSERT_EQUAL(loop_update_timer(t[0].self, 5), 0);
	CU_ASSERT_EQUAL(loop_update_timer(t[0].self, UINT64_MAX), 0);
	CU_ASSERT_EQUAL(loop_update_timer(t[1].self, 5000), 0);
	CU_ASSERT_EQUAL(loop_update_timer(t[1].self, 5), 0);
	dispatch_until(loop, &log, 7);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 30), 0);
	CU_ASSERT_EQUAL(log.n, 7);
	CU_ASSERT_EQUAL(log.order[6], 1);

	/* Wrong kind of source. */
	CU_ASSERT_EQUAL(loop_update_fd(t[0].self, OCKAM_EV_READ), -EINVAL);
	loop_destroy(loop); /* frees the five timers */
}

static void test_timer_rearm_in_callback(void)
{
	struct loop *loop = loop_create();
	struct timer_log log = {0};
	struct timer_probe t = {.log = &log, .id = 7, .rearm = 3,
				.rearm_ms = 5};
	uint64_t start = loop_now_ms();
	int n;

	t.self = loop_add_timer(loop, 5, timer_probe_fn, &t, NULL);
	dispatch_until(loop, &log, 4);
	CU_ASSERT_EQUAL(log.n, 4);
	CU_ASSERT(loop_now_ms() - start >= 20);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 30), 0);
	CU_ASSERT_EQUAL(log.n, 4);

	/* Re-armed with 0 from its own callback: runs again on the next
	 * pass, never spins inside one dispatch. */
	log.n = 0;
	t.rearm = 1000;
	t.rearm_ms = 0;
	CU_ASSERT_EQUAL(loop_update_timer(t.self, 0), 0);
	n = loop_dispatch(loop, 0);
	CU_ASSERT(n >= 1 && n <= 2);
	CU_ASSERT_EQUAL(log.n, n);

	/* Removing itself from its callback. */
	t.remove_self = 1;
	CU_ASSERT_EQUAL(loop_dispatch(loop, 0) > 0, 1);
	n = log.n;
	CU_ASSERT_EQUAL(loop_dispatch(loop, 20), 0);
	CU_ASSERT_EQUAL(log.n, n);
	loop_destroy(loop);
}

/* ---- periodic timers --------------------------------------------------- */

#define PERIODIC_RUNS 40

struct periodic_probe {
	struct ockam_source *self;
	uint64_t due[PERIODIC_RUNS];
	uint64_t ran[PERIODIC_RUNS]; /* loop_now_ms() when it returned */
	int n;
	unsigned sleep_us;      /* a slow callback */
	int long_sleep_at;      /* this run sleeps 3.5 periods; -1: none */
	int disarm_at;          /* this run disarms it; -1: never */
};

static void periodic_fn(void *data)
{
	struct periodic_probe *p = data;

	if (p->n >= PERIODIC_RUNS)
		return;
	p->due[p->n] = loop_timer_due(p->self);
	usleep(p->n == p->long_sleep_at ? 35000 : p->sleep_us);
	p->ran[p->n] = loop_now_ms();
	if (p->n == p->disarm_at)
		CU_ASSERT_EQUAL(loop_update_timer(p->self, UINT64_MAX), 0);
	p->n++;
}

static void periodic_until(struct loop *loop, struct periodic_probe *p, int n)
{
	uint64_t end = loop_now_ms() + 5000;

	while (p->n < n && loop_now_ms() < end)
		loop_dispatch(loop, 100);
}

/* A callback that takes 4 ms of a 10 ms period: a timer re-armed from
 * "now" in its callback would be due 14+ ms after the last, drifting 4 ms a
 * period; a periodic one is due exactly on the period grid from its first
 * deadline. */
static void test_periodic_no_drift(void)
{
	struct loop *loop = loop_create();
	struct periodic_probe p = {.sleep_us = 4000, .long_sleep_at = -1,
				   .disarm_at = PERIODIC_RUNS - 1};
	uint64_t start = loop_now_ms();

	p.self = loop_add_periodic(loop, 10, periodic_fn, &p, NULL);
	CU_ASSERT_FATAL(p.self != NULL);
	periodic_until(loop, &p, PERIODIC_RUNS);
	CU_ASSERT_EQUAL_FATAL(p.n, PERIODIC_RUNS);
	/* The first is due one period after it was added... */
	CU_ASSERT(p.due[0] >= start + 10 && p.due[0] <= loop_now_ms());
	for (int i = 1; i < PERIODIC_RUNS; i++) {
		/* ...and every later one on the grid, in order, never before
		 * it was due.  (A loaded machine may skip a period: still on
		 * the grid.) */
		CU_ASSERT(p.due[i] > p.due[i - 1]);
		CU_ASSERT_EQUAL((p.due[i] - p.due[0]) % 10, 0);
		CU_ASSERT(p.ran[i] >= p.due[i]);
	}
	/* Disarmed from its own callback: nothing more. */
	CU_ASSERT_EQUAL(loop_dispatch(loop, 40), 0);
	CU_ASSERT_EQUAL(p.n, PERIODIC_RUNS);

	/* Re-armed: fires `ms` from now and keeps its period from there. */
	int before = p.n = 0;
	p.disarm_at = 4;
	uint64_t rearmed = loop_now_ms();
	CU_ASSERT_EQUAL(loop_update_timer(p.self, 3), 0);
	periodic_until(loop, &p, 5);
	CU_ASSERT_EQUAL_FATAL(p.n, before + 5);
	CU_ASSERT(p.due[0] >= rearmed + 3 && p.due[0] <= rearmed + 3 + 10);
	for (int i = 1; i < 5; i++)
		CU_ASSERT_EQUAL((p.due[i] - p.due[0]) % 10, 0);

	/* Period 0 is refused. */
	errno = 0;
	CU_ASSERT_PTR_NULL(loop_add_periodic(loop, 0, periodic_fn, &p, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	loop_destroy(loop);
}

/* A callback slower than several periods: the periods it covered are
 * skipped, not run back to back, and the grid is kept. */
static void test_periodic_skips_missed(void)
{
	struct loop *loop = loop_create();
	struct periodic_probe p = {.long_sleep_at = 2, .disarm_at = 5};

	p.self = loop_add_periodic(loop, 10, periodic_fn, &p, NULL);
	CU_ASSERT_FATAL(p.self != NULL);
	periodic_until(loop, &p, 6);
	CU_ASSERT_EQUAL_FATAL(p.n, 6);
	/* The run after the long one is due after the long one returned. */
	CU_ASSERT(p.due[3] > p.ran[2]);
	CU_ASSERT(p.due[3] - p.due[2] >= 40);
	for (int i = 1; i < 6; i++)
		CU_ASSERT_EQUAL((p.due[i] - p.due[0]) % 10, 0);
	loop_destroy(loop);
}

/* ---- signals --------------------------------------------------------- */

struct sig_probe {
	int calls, signo;
};

static void sig_probe_fn(void *data, int signo)
{
	struct sig_probe *p = data;

	p->calls++;
	p->signo = signo;
}

static int sig_blocked(int signo)
{
	sigset_t cur;

	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, signo);
}

static void test_signal(void)
{
	struct loop *loop = loop_create();
	struct sig_probe p = {0};
	struct ockam_source *s;

	CU_ASSERT_FALSE(sig_blocked(SIGUSR1));
	s = loop_add_signal(loop, SIGUSR1, sig_probe_fn, &p, NULL);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_TRUE(sig_blocked(SIGUSR1));
	/* Blocked, so raise() leaves it pending for the signalfd instead of
	 * killing the test. */
	CU_ASSERT_EQUAL(raise(SIGUSR1), 0);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 1000), 1);
	CU_ASSERT_EQUAL(p.calls, 1);
	CU_ASSERT_EQUAL(p.signo, SIGUSR1);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 0), 0);
	/* Removing restores the mask it changed. */
	loop_remove(s);
	CU_ASSERT_FALSE(sig_blocked(SIGUSR1));

	/* Left in the loop: loop_destroy closes and frees it. */
	s = loop_add_signal(loop, SIGUSR2, sig_probe_fn, &p, NULL);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(raise(SIGUSR2), 0);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 1000), 1);
	CU_ASSERT_EQUAL(p.signo, SIGUSR2);
	loop_destroy(loop);
	CU_ASSERT_FALSE(sig_blocked(SIGUSR2));
}

/* ---- idle hook, owners, quit ----------------------------------------- */

struct idle_probe {
	int calls, more;
};

static int idle_probe_fn(void *data)
{
	struct idle_probe *p = data;

	p->calls++;
	if (p->more > 0) {
		p->more--;
		return 1;
	}
	return 0;
}

static void test_idle(void)
{
	struct loop *loop = loop_create();
	struct idle_probe p = {.more = 3};
	struct timer_log log = {0};
	struct timer_probe t = {.log = &log, .id = 1};
	uint64_t start;

	/* The hook runs until it says nothing is left, before the wait:
	 * three "more", then "none"; then it waits for the timer, and the
	 * turn after the timer runs the hook once more. */
	loop_set_idle(loop, idle_probe_fn, &p);
	t.self = loop_add_timer(loop, 30, timer_probe_fn, &t, NULL);
	start = loop_now_ms();
	CU_ASSERT_EQUAL(loop_dispatch(loop, -1), 1);
	CU_ASSERT(loop_now_ms() - start >= 29);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT_EQUAL(p.calls, 5);

	/* A hook that always has more: bounded per turn, and an unbounded
	 * dispatch does not sleep. */
	p.calls = 0;
	p.more = 1 << 30;
	start = loop_now_ms();
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(loop_dispatch(loop, -1), 0);
	CU_ASSERT(loop_now_ms() - start < 500);
	CU_ASSERT(p.calls >= 3 && p.calls <= 3 * 2 * 8);

	loop_set_idle(loop, NULL, NULL);
	p.calls = 0;
	CU_ASSERT_EQUAL(loop_dispatch(loop, 0), 0);
	CU_ASSERT_EQUAL(p.calls, 0);
	loop_destroy(loop);
}

/* ---- end-of-turn flushes --------------------------------------------- */

/* A queue the idle hook drains, and flushes that look at it. */
struct turn {
	int queued, delivered;
	int runs[3];
	int queued_at_run; /* what was still queued when flush 0 ran */
	int rearm;         /* flush 1 re-arms itself this many times */
	int sends;         /* flush 0 queues this many and arms flush 1 */
	struct ockam_source *f[3];
};

static int turn_idle(void *data)
{
	struct turn *t = data;
	if (t->queued) {
		t->queued--;
		t->delivered++;
	}
	return t->queued != 0;
}

static void turn_flush0(void *data)
{
	struct turn *t = data;
	t->runs[0]++;
	t->queued_at_run = t->queued;
	if (t->sends) {
		t->queued += t->sends;
		t->sends = 0;
		loop_arm_flush(t->f[1]);
	}
}

static void turn_flush1(void *data)
{
	struct turn *t = data;
	t->runs[1]++;
	if (t->rearm > 0) {
		t->rearm--;
		loop_arm_flush(t->f[1]);
	}
	/* Removing another armed flush from a flush: it never runs. */
	loop_remove(t->f[2]);
	t->f[2] = NULL;
}

static void turn_flush2(void *data)
{
	struct turn *t = data;
	t->runs[2]++;
}

static void test_flush(void)
{
	struct loop *loop = loop_create();
	struct turn t = {0};
	struct timer_log log = {0};
	struct timer_probe tp = {.log = &log, .id = 1};

	loop_set_idle(loop, turn_idle, &t);
	t.f[0] = loop_add_flush(loop, turn_flush0, &t, NULL);
	t.f[1] = loop_add_flush(loop, turn_flush1, &t, NULL);
	t.f[2] = loop_add_flush(loop, turn_flush2, &t, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t.f[2]);

	/* Not armed: nothing runs. */
	CU_ASSERT_EQUAL(loop_dispatch(loop, 0), 0);
	CU_ASSERT_EQUAL(t.runs[0] + t.runs[1] + t.runs[2], 0);

	/* Armed twice: runs once, after the queue was drained. */
	t.queued = 5;
	loop_arm_flush(t.f[0]);
	loop_arm_flush(t.f[0]);
	loop_dispatch(loop, 0);
	CU_ASSERT_EQUAL(t.runs[0], 1);
	CU_ASSERT_EQUAL(t.queued_at_run, 0);
	CU_ASSERT_EQUAL(t.delivered, 5);

	/* A flush that sends and arms another: what it sent is delivered,
	 * and the other runs, in the same turn (before the wait: the
	 * timer below is what ends the dispatch). */
	tp.self = loop_add_timer(loop, 20, timer_probe_fn, &tp, NULL);
	t.sends = 3;
	t.rearm = 2;
	loop_arm_flush(t.f[0]);
	loop_arm_flush(t.f[2]);
	loop_dispatch(loop, -1);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT_EQUAL(t.runs[0], 2);
	CU_ASSERT_EQUAL(t.delivered, 8);
	CU_ASSERT_EQUAL(t.runs[1], 3); /* once and two re-arms */
	/* flush 2 was armed before flush 1 ran, but ran in the same pass
	 * as flush 0, before flush 1 removed it. */
	CU_ASSERT_EQUAL(t.runs[2], 1);

	/* Armed and removed before the turn ends: never runs. */
	struct ockam_source *f = loop_add_flush(loop, turn_flush2, &t, NULL);
	loop_arm_flush(f);
	loop_remove(f);
	loop_dispatch(loop, 0);
	CU_ASSERT_EQUAL(t.runs[2], 1);

	/* A flush that re-arms itself for ever does not keep the loop from
	 * its fds: bounded rounds per turn, and dispatch returns. */
	t.rearm = 1 << 30;
	t.runs[1] = 0;
	loop_arm_flush(t.f[1]);
	uint64_t start = loop_now_ms();
	loop_dispatch(loop, -1);
	CU_ASSERT(loop_now_ms() - start < 500);
	CU_ASSERT(t.runs[1] >= 1 && t.runs[1] <= 2 * 8);
	loop_destroy(loop);
}

static void test_remove_owner(void)
{
	struct loop *loop = loop_create();
	struct timer_log log = {0};
	struct timer_probe ta = {.log = &log, .id = 1};
	struct timer_probe tb = {.log = &log, .id = 2};
	struct fd_probe r = {0};
	struct sig_probe sp = {0};
	int owner_a, owner_b, fds[2];

	CU_ASSERT_FATAL(pipe(fds) == 0);
	ta.self = loop_add_timer(loop, 0, timer_probe_fn, &ta, &owner_a);
	tb.self = loop_add_timer(loop, 0, timer_probe_fn, &tb, &owner_b);
	r.self = loop_add_fd(loop, fds[0], OCKAM_EV_READ, fd_probe_fn, &r,
			     &owner_a);
	CU_ASSERT_PTR_NOT_NULL(loop_add_signal(loop, SIGUSR1, sig_probe_fn,
					       &sp, &owner_a));
	CU_ASSERT_EQUAL(write(fds[1], "x", 1), 1);

	loop_remove_owner(loop, &owner_a);
	loop_remove_owner(loop, NULL); /* no-op: NULL is "no owner" */
	CU_ASSERT_FALSE(sig_blocked(SIGUSR1));
	dispatch_until(loop, &log, 1);
	CU_ASSERT_EQUAL(loop_dispatch(loop, 20), 0);
	CU_ASSERT_EQUAL(log.n, 1);
	CU_ASSERT_EQUAL(log.order[0], 2);
	CU_ASSERT_EQUAL(r.calls, 0);
	loop_destroy(loop);
	close(fds[0]);
	close(fds[1]);
}

struct quit_probe {
	struct loop *loop;
	int calls;
};

static void quit_fn(void *data)
{
	struct quit_probe *q = data;

	q->calls++;
	loop_quit(q->loop);
}

static void test_run_quit(void)
{
	struct loop *loop = loop_create();
	struct quit_probe q = {.loop = loop};

	loop_add_timer(loop, 10, quit_fn, &q, NULL);
	CU_ASSERT_EQUAL(loop_run(loop), 0);
	CU_ASSERT_EQUAL(q.calls, 1);
	loop_destroy(loop);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "fd readiness", test_fd_readiness },
		{ "remove own fd in callback", test_remove_own_fd },
		{ "remove other pending in same batch", test_remove_other_pending },
		{ "timer order and re-arm", test_timer_order },
		{ "timer re-arm in callback", test_timer_rearm_in_callback },
		{ "periodic timer does not drift", test_periodic_no_drift },
		{ "periodic timer skips missed periods",
		  test_periodic_skips_missed },
		{ "signals", test_signal },
		{ "idle hook", test_idle },
		{ "end-of-turn flushes", test_flush },
		{ "remove owner", test_remove_owner },
		{ "run and quit", test_run_quit },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "loop", .tests = tests });
}
