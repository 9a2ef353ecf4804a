/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What both roles set up the same way: the shared options, the stream
 * table, the HOST:PORT address, and tearing it all down.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portal.h"

/* The declared defaults, for a host that does not fill them in. */
#define DEF_WINDOW (256u * 1024)
#define DEF_CHUNK (60u * 1024)
#define DEF_MAX_CONNECTIONS 4096u

static int size_opt(struct portal *p, const struct ockam_opt *root,
		    const char *key, uint64_t min, uint64_t max, uint32_t *out)
{
	const struct ockam_host *h = p->host;
	uint64_t v = *out;
	if (h->opt_get_size(p->ctx, root, key, max, &v) < 0)
		return -EINVAL;
	if (v < min)
		return h->opt_error(p->ctx, h->opt_get(root, key),
				    "%s must be at least %llu bytes", key,
				    (unsigned long long)min);
	*out = (uint32_t)v;
	return 0;
}

int portal_init(struct portal *p, const struct ockam_host *host,
		struct ockam_ctx *ctx, enum portal_role role)
{
	const struct ockam_opt *root = host->opt_root(ctx);
	uint64_t maxc = DEF_MAX_CONNECTIONS;

	p->host = host;
	p->ctx = ctx;
	p->role = role;
	p->lfd = -1;
	p->name = host->instance_name(ctx);
	ockam_addr_local(&p->self, p->name);
	p->window = DEF_WINDOW;
	p->max_chunk = DEF_CHUNK;
	if (size_opt(p, root, "window", 4096, 16u << 20, &p->window) < 0 ||
	    size_opt(p, root, "max_chunk", 256, 1u << 20, &p->max_chunk) < 0 ||
	    host->opt_get_u64(ctx, root, "max_connections", 1, 65535, &maxc) < 0)
		return -EINVAL;
	p->max_connections = (uint32_t)maxc;
	p->slots = calloc(maxc, sizeof(*p->slots));
	p->gen = calloc(maxc, sizeof(*p->gen));
	p->free_slots = calloc(maxc, sizeof(*p->free_slots));
	if (!p->slots || !p->gen || !p->free_slots)
		return -ENOMEM;
	/* Lowest slots first. */
	for (uint32_t i = 0; i < maxc; i++)
		p->free_slots[i] = (uint32_t)maxc - 1 - i;
	p->n_free = (uint32_t)maxc;
	return 0;
}

/* HOST:PORT, [v6]:PORT: split at the last ':'. */
int portal_resolve(struct portal *p, int passive)
{
	char host[300];
	const char *w = p->where, *colon = strrchr(w, ':');
	struct addrinfo hints = {0}, *res = NULL;

	if (!colon || colon == w || !colon[1]) {
		p->host->log(p->ctx, OCKAM_LOG_ERROR,
			     "'%s' is not HOST:PORT", w);
		return -EINVAL;
	}
	size_t hl = (size_t)(colon - w);
	if (hl >= 2 && w[0] == '[' && w[hl - 1] == ']') {
		w++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, w, hl);
	host[hl] = '\0';
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0 || !res) {
		p->host->log(p->ctx, OCKAM_LOG_ERROR, "cannot resolve '%s': %s",
			     p->where, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&p->sa, res->ai_addr, res->ai_addrlen);
	p->sa_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

void portal_stop(struct portal *p)
{
	const struct ockam_host *h = p->host;
	for (uint32_t i = 0; p->slots && i < p->max_connections; i++)
		if (p->slots[i])
			pstream_abort(p->slots[i], PORTAL_R_STOPPED, 0,
				      "the node stops");
	/* What the rate limits held back is counted, never just lost. */
	for (unsigned r = 1; r < PORTAL_R_MAX; r++)
		h->log_limited_flush(p->ctx, &p->lim_close[r], OCKAM_LOG_INFO,
				     portal_reason_text(r));
	h->log_limited_flush(p->ctx, &p->lim_done, OCKAM_LOG_INFO,
			     "connection closed");
	h->log_limited_flush(p->ctx, &p->lim_stranger, OCKAM_LOG_WARN,
			     "refused a portal message from a stranger");
	h->log_limited_flush(p->ctx, &p->lim_refuse, OCKAM_LOG_WARN,
			     "refusing a portal open");
	h->log_limited_flush(p->ctx, &p->lim_bad, OCKAM_LOG_WARN,
			     "not a portal message");
	h->log_limited_flush(p->ctx, &p->lim_unknown, OCKAM_LOG_INFO,
			     "unknown stream");
	h->log_limited_flush(p->ctx, &p->lim_full, OCKAM_LOG_WARN,
			     "max_connections");
	if (p->lsrc)
		p->host->source_remove(p->lsrc);
	p->lsrc = NULL;
	if (p->lfd >= 0)
		close(p->lfd);
	p->lfd = -1;
}

void portal_fini(struct portal *p)
{
	/* Streams left (stop did not run): the host removes sources
	 * itself at destroy, so none is touched here. */
	p->deadline_timer = NULL;
	for (uint32_t i = 0; p->slots && i < p->max_connections; i++)
		if (p->slots[i]) {
			p->slots[i]->src = NULL;
			pstream_abort(p->slots[i], PORTAL_R_STOPPED, 0,
				      "the node stops");
		}
	if (p->lfd >= 0)
		close(p->lfd);
	p->lfd = -1;
	free(p->slots);
	free(p->gen);
	free(p->free_slots);
	p->slots = NULL;
	while (p->peers) {
		struct portal_peer *e = p->peers;
		p->peers = e->next;
		free(e->route);
		free(e);
	}
}
