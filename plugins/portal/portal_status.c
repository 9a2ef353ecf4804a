/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `ockam-host status` shows of a portal: one row per instance,
 * written when someone asks (the counters are kept anyway).
 */
#include "portal.h"

static void portal_status(void *data, struct ockam_status *out)
{
	struct portal *p = data;
	const struct ockam_host *h = p->host;
	uint64_t in = p->total_in, outb = p->total_out;

	for (uint32_t i = 0; i < p->max_connections; i++)
		if (p->slots[i]) {
			in += p->slots[i]->bytes_in;
			outb += p->slots[i]->bytes_out;
		}
	h->status_add(out, p->role == PORTAL_INLET ? "tcp_inlet" : "tcp_outlet",
		      p->name);
	h->status_set_str(out, p->role == PORTAL_INLET ? "listen" : "connect",
			  p->where);
	h->status_set_u64(out, "connections", p->n_open);
	h->status_set_u64(out, "max_connections", p->max_connections);
	h->status_set_u64(out, "opened", p->opened);
	h->status_set_u64(out, "refused", p->refused);
	h->status_set_u64(out, "aborted", p->resets);
	h->status_set_u64(out, "protocol_errors", p->protocol_errors);
	h->status_set_u64(out, "strangers", p->strangers);
	h->status_set_u64(out, "unknown_stream", p->unknown_stream);
	h->status_set_u64(out, "bytes_in", in);
	h->status_set_u64(out, "bytes_out", outb);
}

int portal_status_register(struct portal *p)
{
	return p->host->status_register(p->ctx, portal_status, p);
}
