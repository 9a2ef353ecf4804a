/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Refused messages at a channel end: counted per reason and reported at
 * most once per second per channel (a flood of junk makes one line a
 * second, not one per message); the channel keeps working.
 *
 * The counts live in a block allocated on the first rejection: most
 * channels never see one, and a listener holds thousands of idle channels.
 *
 * Junk and refusals at a listener's own address (before any channel
 * exists) are logged the same way per cause: one line a second at most,
 * saying how many similar lines it stands for.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "channel.h"

static const char *reject_name(unsigned why)
{
	if (why == CHAN_REJECT_DECODE)
		return "decode";
	if (why == CHAN_REJECT_OVERLOAD)
		return "overload";
	return data_reject_name((enum data_reject)why);
}

const char *chan_reject_name(unsigned why)
{
	return reject_name(why);
}

static void rejects_report(struct channel *ch)
{
	struct sc_instance *inst = ch->inst;
	struct chan_rejects *r = ch->rej;
	char counts[256];
	size_t off = 0;
	uint64_t n = 0;
	for (unsigned i = 0; i < CHAN_REJECT_COUNT; i++) {
		if (!r->pending[i])
			continue;
		n += r->pending[i];
		int w = snprintf(counts + off, sizeof(counts) - off,
				 "%s%s=%" PRIu64, off ? " " : "",
				 reject_name(i), r->pending[i]);
		if (w > 0 && (size_t)w < sizeof(counts) - off)
			off += (size_t)w;
		r->pending[i] = 0;
	}
	if (!n)
		return;
	uint64_t total = 0;
	for (unsigned i = 0; i < CHAN_REJECT_COUNT; i++)
		total += r->total[i];
	inst->host->log(inst->ctx, OCKAM_LOG_WARN,
			"secure channel %s: rejected %" PRIu64
			" message(s) (%s); %" PRIu64 " rejected, %" PRIu64
			" accepted in all",
			channel_label(ch), n, counts, total, ch->received);
	r->last_report_ms = inst->host->now_ms();
	r->reported = 1;
}

static void rejects_timer_fire(void *data)
{
	rejects_report(data);
}

void flow_reject(struct channel *ch, unsigned why)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	if (why < CHAN_REJECT_COUNT)
		inst->rejected[why]++;
	if (!ch->rej) {
		ch->rej = calloc(1, sizeof(*ch->rej));
		if (!ch->rej) {
			h->log(inst->ctx, OCKAM_LOG_WARN,
			       "secure channel %s: rejected a message (%s)",
			       channel_label(ch), reject_name(why));
			return;
		}
	}
	struct chan_rejects *r = ch->rej;
	r->total[why]++;
	r->pending[why]++;
	uint64_t now = h->now_ms();
	if (!r->reported || now - r->last_report_ms >= CHAN_REPORT_INTERVAL_MS) {
		rejects_report(ch);
		return;
	}
	/* Suppressed: make sure the counts come out within a second. */
	uint64_t due = r->last_report_ms + CHAN_REPORT_INTERVAL_MS - now;
	if (!r->timer)
		r->timer = h->timer_add(inst->ctx, due, rejects_timer_fire, ch);
	else
		h->timer_update(r->timer, due);
}

void flow_report(struct channel *ch)
{
	struct chan_rejects *r = ch->rej;
	if (!r)
		return;
	rejects_report(ch);
	if (r->timer)
		ch->inst->host->source_remove(r->timer);
	free(r);
	ch->rej = NULL;
}

const char *listener_cause_name(enum listener_cause cause)
{
	static const char *const names[LC_COUNT] = {
		[LC_JUNK] = "junk",
		[LC_NO_RETURN] = "no_return_route",
		[LC_BAD_FIRST] = "bad_first_message",
		[LC_WRONG_KX] = "wrong_key_exchange",
		[LC_BUSY] = "busy",
		[LC_REPLACED] = "replaced",
		[LC_EVICTED] = "evicted",
		[LC_TIMEOUT] = "timed_out",
		[LC_X3DH] = "x3dh_refused",
		[LC_BAD_THIRD] = "bad_third_message",
		[LC_UNANSWERED] = "unanswered",
		[LC_CH_EVICTED] = "channel_evicted",
		[LC_UNTRUSTED] = "untrusted",
	};
	return (unsigned)cause < LC_COUNT ? names[cause] : "unknown";
}

int listener_complaint_due(struct sc_instance *inst,
			   enum listener_cause cause)
{
	if (inst->host->log_limited_due(inst->ctx, &inst->complaint[cause],
					OCKAM_LOG_WARN))
		return 1;
	inst->complaint_total[cause]++;
	return 0;
}

void listener_complain(struct sc_instance *inst, enum listener_cause cause,
		       const char *what)
{
	inst->complaint_total[cause]++;
	inst->host->log_limited(inst->ctx, &inst->complaint[cause],
				OCKAM_LOG_WARN, "%s", what);
}

void listener_complaints_flush(struct sc_instance *inst)
{
	for (unsigned c = 0; c < LC_COUNT; c++)
		inst->host->log_limited_flush(
			inst->ctx, &inst->complaint[c], OCKAM_LOG_WARN,
			listener_cause_name((enum listener_cause)c));
}
