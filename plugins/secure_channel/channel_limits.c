/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a listener holds at once, and for how long: max_handshakes
 * (half-open), max_handshakes_per_source (half-open from one source: the
 * first hop of message 1's return route, a connection), max_channels (all
 * channel ends; when they are all held, the least recently used channel
 * of the source holding the most gives way to a source holding at least
 * two fewer), max_channels_per_source (open channels from one source)
 * and idle_timeout (a
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

void limits_half_open_spend(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	/* Closing it at once would let a source loop message 1 and a bad
	 * last message at round-trip speed, each costing the listener its
	 * DHs, and never reach its quota. */
	ch->spent = 1;
	if (ch->timer)
		inst->host->timer_update(ch->timer, limits_min_age_ms(inst));
}

/* ---- open channels by source ------------------------------------------
 *
 * A stranger who completes handshakes (trust: everyone lets anyone) could
 * otherwise hold all max_channels channel ends and lock everyone else out
 * until idle_timeout.  So a source (as for half-open ends: the connection
 * message 1 came on) holds at most max_channels_per_source open channels,
 * and when max_channels are held, a message 1 from a source holding at
 * least two fewer open channels than the source holding the most closes
 * that source's least recently used channel (CLOSE reason 4, as for
 * idle_timeout: its initiator opens a new one with its next message). */

static struct chan_sources *open_sources(struct sc_instance *inst)
{
	if (inst->open_sources)
		return inst->open_sources;
	struct chan_sources *s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	if (chan_sources_init(s, (uint32_t)inst->max_channels,
			      (uint32_t)inst->max_channels_per_source) != 0) {
		free(s);
		return NULL;
	}
	inst->open_sources = s;
	return s;
}

/* Open channels held by the source `hop`. */
static uint32_t open_held(const struct sc_instance *inst,
			  const struct ockam_addr *hop)
{
	const struct chan_sources *s = inst->open_sources;
	return s ? chan_sources_held(s, chan_sources_key(s, hop)) : 0;
}

int limits_open_add(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	struct chan_sources *s = open_sources(inst);
	struct ockam_route peer = chan_route_view(&ch->peer);
	if (!s)
		return -ENOMEM;
	if (peer.count == 0)
		return 0; /* (admission needs a return route) */
	uint64_t key = chan_sources_key(s, &peer.hop[0]);
	ch->osrc = chan_sources_inc(s, key);
	if (ch->osrc)
		return 0;
	/* Several of its handshakes were half-open when it reached its
	 * quota: the last ones are refused now. */
	if (listener_complaint_due(inst, LC_BUSY)) {
		char what[512], src[288];
		snprintf(what, sizeof(what),
			 "%" PRIu32
			 " secure channels open from %s (max_channels_per_source): new one refused",
			 chan_sources_held(s, key),
			 source_text(inst, &peer.hop[0], src, sizeof(src)));
		listener_complain(inst, LC_BUSY, what);
	}
	notice_send_peer(ch, CHAN_CLOSE_BUSY);
	return -EBUSY;
}

void limits_open_done(struct channel *ch)
{
	chan_sources_dec(ch->inst->open_sources, ch->osrc);
	ch->osrc = 0;
}

/* The least recently used open channel of source i1 (index + 1) in l. */
static struct channel *lru_in(const struct chan_list *l, uint32_t i1,
			      struct channel *best)
{
	for (struct channel *c = l->head; c; c = c->next)
		if (c->osrc == i1 && (!best || c->last_rx_ms < best->last_rx_ms))
			best = c;
	return best;
}

/* max_channels held: close the least recently used channel of the
 * source holding the most open ones, if that is at least two more than
 * `held` (the requester's), so that closing evens sources out and never
 * goes round in circles.  One pass over the open channels: it happens
 * only when full, at most once per admitted message 1.  0 if one was
 * closed. */
static int open_evict(struct sc_instance *inst, const struct ockam_addr *hop,
		      uint32_t held)
{
	struct chan_sources *s = inst->open_sources;
	struct chan_source *top = s ? chan_sources_busiest(s) : NULL;
	if (!top || top->count < held + 2)
		return -1;
	uint32_t i1 = chan_sources_index(s, top);
	struct channel *victim = lru_in(&inst->idle, i1, NULL);
	victim = lru_in(&inst->channels, i1, victim);
	if (!victim)
		return -1;
	if (listener_complaint_due(inst, LC_CH_EVICTED)) {
		char what[768], src[288], other[288];
		snprintf(what, sizeof(what),
			 "too many secure channels (max_channels %" PRIu64
			 "): the least recently used of the %" PRIu32
			 " channels from %s (nothing received for %" PRIu64
			 " ms) closed for one from %s",
			 inst->max_channels, top->count,
			 end_source_text(inst, victim, other, sizeof(other)),
			 inst->host->now_ms() - victim->last_rx_ms,
			 source_text(inst, hop, src, sizeof(src)));
		listener_complain(inst, LC_CH_EVICTED, what);
	}
	notice_send_peer(victim, CHAN_CLOSE_IDLE);
	channel_close(victim, "evicted (max_channels)");
	return 0;
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
	uint32_t open = open_held(inst, &ret->hop[0]);
	if (open >= inst->max_channels_per_source) {
		/* Refused before any DH: it would not be let open. */
		if (listener_complaint_due(inst, LC_BUSY)) {
			snprintf(what, sizeof(what),
				 "%" PRIu32
				 " secure channels open from %s (max_channels_per_source): new one refused",
				 open,
				 source_text(inst, &ret->hop[0], src,
					     sizeof(src)));
			listener_complain(inst, LC_BUSY, what);
		}
		notice_send(inst, ret, CHAN_CLOSE_BUSY);
		return -EBUSY;
	}
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
	if (inst->n_channels >= inst->max_channels &&
	    open_evict(inst, &ret->hop[0], open) != 0)
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

void limits_open_free(struct sc_instance *inst)
{
	if (!inst->open_sources)
		return;
	chan_sources_free(inst->open_sources);
	free(inst->open_sources);
	inst->open_sources = NULL;
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
