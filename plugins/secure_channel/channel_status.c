/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `ockam-host status` shows of secure channels: one row per channel
 * end (peer identifier, route to the peer, messages and plaintext bytes
 * each way, age), written when someone asks.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "channel.h"

static void channel_row(const struct sc_instance *inst,
			const struct channel *ch, uint64_t now, struct ockam_status *out)
{
	const struct ockam_host *h = inst->host;
	char route[1024];
	h->status_add(out, "secure_channel",
		      ch->enc_addr[0] ? ch->enc_addr : ch->dec_addr);
	h->status_set_str(out, "role", ch->initiator ? "initiator" : "responder");
	/* "replaced": open, waiting for its re-handshake to finish
	 * (channel_initiator.c initiator_rehandshake). */
	h->status_set_str(out, "state",
			  ch == inst->old_ch	    ? "replaced"
			  : ch->state == CHAN_OPEN ? "open"
						   : "handshake");
	if (ch->peer_id[0])
		h->status_set_str(out, "peer", ch->peer_id);
	struct ockam_route peer = chan_route_view(&ch->peer);
	h->route_format(inst->ctx, &peer, route, sizeof(route));
	h->status_set_str(out, "route", route);
	h->status_set_u64(out, "msgs_in", ch->received);
	h->status_set_u64(out, "msgs_out", ch->sent);
	h->status_set_u64(out, "bytes_in", ch->bytes_in);
	h->status_set_u64(out, "bytes_out", ch->bytes_out);
	h->status_set_u64(out, "age_ms", now - ch->created_ms);
	if (ch->initiator)
		h->status_set_u64(out, "notices_ignored", inst->notices_ignored);
}

static void channel_status(void *data, struct ockam_status *out)
{
	struct sc_instance *inst = data;
	const struct ockam_host *h = inst->host;
	uint64_t now = h->now_ms();

	if (inst->role == CHAN_ROLE_LISTENER) {
		h->status_add(out, "secure_channel_listener",
			      h->instance_name(inst->ctx));
		h->status_set_str(out, "key_exchange",
				  inst->x3dh ? "x3dh" : inst->suite.name);
		h->status_set_u64(out, "channels", inst->n_channels);
		h->status_set_u64(out, "handshakes", inst->handshakes);
		h->status_set_u64(out, "hs_started", inst->hs_started);
		/* What listener_complain counted, by cause. */
		for (unsigned c = 0; c < LC_COUNT; c++) {
			char key[48];
			snprintf(key, sizeof(key), "hs_%s",
				 listener_cause_name((enum listener_cause)c));
			h->status_set_u64(out, key, inst->complaint_total[c]);
		}
	}
	/* This instance's totals, over channels closed since too. */
	h->status_add(out, "secure_channel_totals", h->instance_name(inst->ctx));
	h->status_set_u64(out, "channels", inst->n_channels);
	h->status_set_u64(out, "handshakes_ok", inst->hs_ok);
	h->status_set_u64(out, "handshakes_failed", inst->hs_failed);
	for (unsigned c = 0; c < CHAN_REJECT_COUNT; c++) {
		char key[48];
		snprintf(key, sizeof(key), "rejected_%s", chan_reject_name(c));
		h->status_set_u64(out, key, inst->rejected[c]);
	}
	/* Handshaking and initiator ends, then open responder ends. */
	for (const struct channel *ch = inst->channels.head; ch; ch = ch->next)
		channel_row(inst, ch, now, out);
	for (const struct channel *ch = inst->idle.head; ch; ch = ch->next)
		channel_row(inst, ch, now, out);
}

int channel_status_register(struct sc_instance *inst)
{
	const struct ockam_host *h = inst->host;
	return h->status_register(inst->ctx, channel_status, inst);
}
