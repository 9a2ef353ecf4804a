/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's event loop: one thread, one epoll set; fds, one-shot timers and
 * signals (signalfd).  Timers are checked first on each iteration.  Removing
 * a source is always safe, even from its own callback: it is unlinked at
 * once and freed after the current dispatch (deferred free).
 */
#ifndef OCKAM_HOST_LOOP_H
#define OCKAM_HOST_LOOP_H

#include <stdint.h>

#include <ockam/host.h> /* OCKAM_EV_* bits, struct ockam_source */

struct loop;
/* struct ockam_source is the loop's source type; plugins see it opaque. */

typedef void (*loop_fd_fn)(void *data, int fd, uint32_t events);
typedef void (*loop_timer_fn)(void *data);
typedef void (*loop_signal_fn)(void *data, int signo);
/* Called once per iteration before waiting; return nonzero if it has more
 * work queued (the loop then polls without sleeping). */
typedef int (*loop_idle_fn)(void *data);

struct loop *loop_create(void);
/* Frees every remaining source.  Does not close fds. */
void loop_destroy(struct loop *loop);

/* `owner` tags a source so loop_remove_owner() can drop all of a plugin
 * instance's sources at once; it may be NULL. */
struct ockam_source *loop_add_fd(struct loop *loop, int fd, uint32_t events,
				 loop_fd_fn fn, void *data, void *owner);
int loop_update_fd(struct ockam_source *src, uint32_t events);
/* One-shot; fires once `ms` from now (0 = next iteration). */
struct ockam_source *loop_add_timer(struct loop *loop, uint64_t ms,
				    loop_timer_fn fn, void *data, void *owner);
/* Periodic: first fires `period_ms` (at least 1) from now, then every
 * period after the time it was due (not after its callback ran), so it
 * does not drift; periods missed entirely are skipped, not bunched. */
struct ockam_source *loop_add_periodic(struct loop *loop, uint64_t period_ms,
				       loop_timer_fn fn, void *data,
				       void *owner);
/* Re-arm `ms` from now (a periodic timer keeps its period from there);
 * UINT64_MAX disarms.  Works on a fired timer and from its callback. */
int loop_update_timer(struct ockam_source *src, uint64_t ms);
/* The time (loop_now_ms) the timer's current or last firing was due. */
uint64_t loop_timer_due(const struct ockam_source *src);
/* Blocks `signo` for the thread and delivers it through a signalfd. */
struct ockam_source *loop_add_signal(struct loop *loop, int signo,
				     loop_signal_fn fn, void *data,
				     void *owner);
/* End-of-turn flush: `fn` runs once after the turn's queue is drained
 * (the idle hook says nothing is left) each time the source is armed;
 * arming an armed source changes nothing.  Flushes may send and arm
 * flushes: the loop drains and flushes again until quiet, at most a few
 * rounds per turn, so it always gets back to its fds. */
struct ockam_source *loop_add_flush(struct loop *loop, loop_timer_fn fn,
				    void *data, void *owner);
void loop_arm_flush(struct ockam_source *src);
void loop_remove(struct ockam_source *src);
void loop_remove_owner(struct loop *loop, void *owner);

void loop_set_idle(struct loop *loop, loop_idle_fn fn, void *data);

/* One iteration: run due timers, end the turn (the idle hook until it
 * has nothing left, then armed flushes, repeated boundedly), then wait at
 * most `timeout_ms` (-1 = until the next timer or event), dispatch, run
 * due timers and end the turn again.
 * Returns the number of callbacks run, or -errno. */
int loop_dispatch(struct loop *loop, int timeout_ms);
/* Dispatch until loop_quit(). */
int loop_run(struct loop *loop);
void loop_quit(struct loop *loop);

uint64_t loop_now_ms(void);

#endif
