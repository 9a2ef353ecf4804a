/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a listener holds at once, and for how long: max_handshakes
 * (half-open), max_handshakes_per_source (half-open from one source: the
 * first hop of message 1's return route, a connection), max_channels (all
 * channel ends) and idle_timeout (a
 * responder channel that has received nothing authentic for that long is
 * closed, and the initiator told so with a CLOSE notice).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "chan_sources.h"
#include "channel.h"

/* The refusal: logged per cause (rate-limited), BUSY notice to `ret`. */
static int admit_refuse(struct sc_instance *inst,
			const struct ockam_route *ret)
{
	char what[160];
	if (inst->handshakes >= inst->max_handshakes)
		snprintf(what, sizeof(what),
			 "too many handshakes in progress (max_handshakes %" PRIu64
			 "): new one refused",
			 inst->max_handshakes);
	else
		snprintf(what, sizeof(what),
			 "too many secure channels (max_channels %" PRIu64
			 "): new one refused",
			 inst->max_channels);
	listener_complain(inst, LC_BUSY, what);
	notice_send(inst, ret, CHAN_CLOSE_BUSY);
	return -EBUSY;
}

int limits_admit(struct sc_instance *inst, const struct ockam_route *ret)
{
	if (inst->handshakes >= inst->max_handshakes ||
	    inst->n_channels >= inst->max_channels)
		return admit_refuse(inst, ret);
	return 0;
}

/* A source (one hop of a route) as log lines show it. */
static const char *source_text(struct sc_instance *inst,
			       const struct ockam_addr *a, char *out,
			       size_t cap)
{
	struct ockam_route one = ockam_route_make(a, 1);
	inst->host->route_format(inst->ctx, &one, out, cap);
	return out;
}

/* The source of half-open end `ch`: the first hop of its route back. */
static const char *end_source_text(struct sc_instance *inst,
				   const struct channel *ch, char *out,
				   size_t cap)
{
	struct ockam_route peer = chan_route_view(&ch->peer);
	if (peer.count == 0) {
		snprintf(out, cap, "[]");
		return out;
	}
	return source_text(inst, &peer.hop[0], out, cap);
}

/* Close half-open end `victim` to make room for a message 1 from `from`:
 * its initiator gets a BUSY notice and retries with its backoff. */
static void evict(struct sc_instance *inst, struct channel *victim,
		  enum listener_cause cause, const char *what)
{
	if (what)
		listener_complain(inst, cause, what);
	notice_send_peer(victim, CHAN_CLOSE_BUSY);
	channel_close(victim, "evicted");
}

/* How long an admitted half-open end is safe from replacement by its own
 * source and from eviction by a source that holds about as many: its
 * round trip's time. */
uint64_t limits_min_age_ms(const struct sc_instance *inst)
{
	uint64_t half = inst->handshake_timeout_ms / 2;
	return half < CHAN_HS_MIN_AGE_MS ? half : CHAN_HS_MIN_AGE_MS;
}

int limits_admit_half_open(struct sc_instance *inst,
			   const struct ockam_route *ret, uint64_t *key)
{
	if (!inst->sources) {
		struct chan_sources *s = malloc(sizeof(*s));
		if (!s)
			return -ENOMEM;
		uint64_t cap = inst->max_handshakes;
		if (chan_sources_init(s, (uint32_t)cap,
				      (uint32_t)inst->max_handshakes_per_source) != 0) {
			free(s);
			return -ENOMEM;
		}
		inst->sources = s;
	}
	struct chan_sources *s = inst->sources;
	*key = chan_sources_key(s, &ret->hop[0]);
	uint32_t held = chan_sources_held(s, *key);
	char what[768], src[288], other[288];
	/* (A quota of max_handshakes or more is no quota: the source that
	 * holds them all is refused below, like anyone, when full.) */
	if (held >= inst->max_handshakes_per_source) {
		/* Over its quota, a source replaces its own oldest end,
		 * never another source's, and only once that end has had
		 * its round trip's time: so at most its quota a second, and
		 * an honest burst (many initiators behind one connection)
		 * is refused before message 2 rather than cut off after it.
		 * A refused message 1 costs no DH. */
		struct channel *own = chan_sources_oldest(s, *key);
		uint64_t age = inst->host->now_ms() - own->created_ms;
		if (age < limits_min_age_ms(inst)) {
			if (listener_complaint_due(inst, LC_BUSY)) {
				snprintf(what, sizeof(what),
					 "%" PRIu32
					 " half-open handshakes from %s (max_handshakes_per_source), none %" PRIu64
					 " ms old yet: new one refused",
					 held,
					 source_text(inst, &ret->hop[0], src,
						     sizeof(src)),
					 limits_min_age_ms(inst));
				listener_complain(inst, LC_BUSY, what);
			}
			notice_send(inst, ret, CHAN_CLOSE_BUSY);
			return -EBUSY;
		}
		int due = listener_complaint_due(inst, LC_REPLACED);
		if (due)
			snprintf(what, sizeof(what),
				 "%" PRIu32
				 " half-open handshakes from %s (max_handshakes_per_source): its oldest, %" PRIu64
				 " ms old, replaced by a new one",
				 held,
				 source_text(inst, &ret->hop[0], src,
					     sizeof(src)),
				 age);
		evict(inst, own, LC_REPLACED, due ? what : NULL);
		return 0;
	}
	if (inst->handshakes >= inst->max_handshakes) {
		/* Full: a source holding at least two more than this one
		 * gives up its oldest, so that the evictions even things out
		 * and never go round in circles.  When they are even (as
		 * many sources as slots, say), a source holding fewer than
		 * the busiest takes the busiest's oldest only once that is
		 * CHAN_HS_MIN_AGE_MS old.  A source holding the most is
		 * refused. */
		struct chan_source *top = chan_sources_busiest(s);
		if (!top || held >= top->count)
			return admit_refuse(inst, ret);
		struct channel *victim = top->ends.tail;
		/* As many sources as slots (one each, or within one): only a
		 * half-open end that has had its round trip's time goes, so
		 * that one admitted end always gets that long. */
		int even = held + 1 >= top->count;
		uint64_t age = inst->host->now_ms() - victim->created_ms;
		if (even && age < limits_min_age_ms(inst))
			return admit_refuse(inst, ret);
		int due = listener_complaint_due(inst, LC_EVICTED);
		if (due && even)
			snprintf(what, sizeof(what),
				 "too many handshakes in progress (max_handshakes %" PRIu64
				 ", from as many sources): a half-open handshake from %s, %" PRIu64
				 " ms old, evicted for one from %s",
				 inst->max_handshakes,
				 end_source_text(inst, victim, other,
						 sizeof(other)),
				 age,
				 source_text(inst, &ret->hop[0], src,
					     sizeof(src)));
		else if (due)
			snprintf(what, sizeof(what),
				 "too many handshakes in progress (max_handshakes %" PRIu64
				 "): the oldest of the %" PRIu32
				 " half-open handshakes from %s evicted for one from %s",
				 inst->max_handshakes, top->count,
				 end_source_text(inst, victim, other,
						 sizeof(other)),
				 source_text(inst, &ret->hop[0], src,
					     sizeof(src)));
		evict(inst, victim, LC_EVICTED, due ? what : NULL);
		return 0;
	}
	if (inst->n_channels >= inst->max_channels)
		return admit_refuse(inst, ret);
	return 0;
}

int limits_half_open_add(struct sc_instance *inst, struct channel *ch,
			 uint64_t key)
{
	chan_list_remove(&inst->channels, ch);
	int rc = chan_sources_add(inst->sources, key, ch);
	if (rc != 0)
		chan_list_insert_after(&inst->channels, NULL, ch);
	return rc;
}

void limits_half_open_done(struct channel *ch)
{
	chan_sources_remove(ch->inst->sources, ch);
}

void limits_half_open_close_all(struct sc_instance *inst)
{
	if (!inst->sources)
		return;
	struct channel *ch;
	while ((ch = chan_sources_any(inst->sources)))
		channel_close(ch, "node stopping");
	chan_sources_free(inst->sources);
	free(inst->sources);
	inst->sources = NULL;
}

/* Arm the sweep for the earliest idle check, or disarm it. */
static void idle_timer_set(struct sc_instance *inst, uint64_t now)
{
	const struct ockam_host *h = inst->host;
	const struct channel *first = inst->idle.head;
	if (!inst->idle_timer)
		return;
	if (!first) {
		h->timer_update(inst->idle_timer, 0); /* 0 disarms */
		return;
	}
	uint64_t at = first->idle_check_ms;
	h->timer_update(inst->idle_timer, at > now ? at - now : 1);
}

/* Put `ch` in inst->idle by idle_check_ms.  Checks are mostly later than
 * every listed one, so the walk starts at the tail. */
static void idle_insert(struct sc_instance *inst, struct channel *ch)
{
	struct channel *pos = inst->idle.tail;
	while (pos && pos->idle_check_ms > ch->idle_check_ms)
		pos = pos->prev;
	chan_list_insert_after(&inst->idle, pos, ch);
}

/* The sweep: close the channels that received nothing authentic for
 * idle_timeout; look again at the others when theirs would run out.
 * Checking here instead of re-arming per message keeps the data path free
 * of timer calls; one timer per listener instead of one per channel saves
 * a host timer (~100 B) per idle channel. */
static void limits_idle_fire(void *data)
{
	struct sc_instance *inst = data;
	const struct ockam_host *h = inst->host;
	uint64_t now = h->now_ms();
	struct channel *ch;
	while ((ch = inst->idle.head) && ch->idle_check_ms <= now) {
		uint64_t idle = now - ch->last_rx_ms;
		if (idle >= inst->idle_timeout_ms) {
			h->log(inst->ctx, OCKAM_LOG_INFO,
			       "secure channel %s closed: no authenticated message for %" PRIu64
			       " ms (idle_timeout)",
			       channel_label(ch), idle);
			notice_send_peer(ch, CHAN_CLOSE_IDLE);
			channel_close(ch, "idle timeout");
			continue;
		}
		/* Traffic came meanwhile: look again when it would run out. */
		chan_list_remove(&inst->idle, ch);
		ch->idle_check_ms = ch->last_rx_ms + inst->idle_timeout_ms;
		idle_insert(inst, ch);
	}
	idle_timer_set(inst, now);
}

void limits_idle_arm(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	uint64_t now = h->now_ms();
	ch->last_rx_ms = now;
	if (ch->initiator || inst->idle_timeout_ms == 0)
		return;
	if (!inst->idle_timer) {
		inst->idle_timer = h->timer_add(inst->ctx, inst->idle_timeout_ms,
						limits_idle_fire, inst);
		if (!inst->idle_timer) {
			h->log(inst->ctx, OCKAM_LOG_WARN,
			       "secure channel %s: cannot arm the idle timer; it stays open until the node stops",
			       channel_label(ch));
			return;
		}
	}
	chan_list_remove(&inst->channels, ch);
	ch->in_idle = 1;
	ch->idle_check_ms = now + inst->idle_timeout_ms;
	idle_insert(inst, ch);
	if (inst->idle.head == ch)
		idle_timer_set(inst, now);
}

void limits_idle_stop(struct sc_instance *inst)
{
	if (inst->idle_timer)
		inst->host->source_remove(inst->idle_timer);
	inst->idle_timer = NULL;
}
