/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streams: the table that gives them ids, their sockets, and how they end.
 *
 * A stream id is (generation << 16) | (slot + 1): slots are reused, and a
 * message still in flight for a stream that has closed (a CREDIT that
 * crossed our EOF) names an older generation and finds nothing, instead
 * of landing in the stream that took the slot.
 *
 * Ending: normally when both directions are done (EOF sent and received,
 * everything written, our socket shut for writing), with a graceful
 * close(); otherwise aborted (pstream_abort) with one line saying why,
 * a CLOSE to the peer when it should know, and a reset (RST) of the
 * socket so that the client or service learns at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portal.h"

struct pstream *pstream_new(struct portal *p, int fd)
{
	if (p->n_free == 0)
		return NULL;
	struct pstream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	uint32_t slot = p->free_slots[--p->n_free];
	if (++p->gen[slot] == 0)
		p->gen[slot] = 1;
	s->p = p;
	s->fd = fd;
	s->id = (uint32_t)p->gen[slot] << 16 | (slot + 1);
	s->opened_ms = p->host->now_ms();
	p->slots[slot] = s;
	p->n_open++;
	p->opened++;
	return s;
}

struct pstream *pstream_find(struct portal *p, uint32_t id)
{
	uint32_t slot = (id & 0xffff);
	if (slot == 0 || slot > p->max_connections)
		return NULL;
	struct pstream *s = p->slots[slot - 1];
	return s && s->id == id ? s : NULL;
}

void pstream_watch(struct pstream *s, uint32_t events)
{
	struct portal *p = s->p;
	if (s->fd < 0)
		return;
	if (!s->src) {
		s->src = p->host->fd_add(p->ctx, s->fd, events, portal_io, s);
		s->events = events;
		return;
	}
	if (events != s->events) {
		p->host->fd_update(s->src, events);
		s->events = events;
	}
}

static void deadline_arm(struct portal *p)
{
	const struct ockam_host *h = p->host;
	if (!p->dl_head) {
		if (p->deadline_timer)
			h->timer_update(p->deadline_timer, 0);
		return;
	}
	uint64_t now = h->now_ms();
	uint64_t ms = p->dl_head->deadline_ms > now
			      ? p->dl_head->deadline_ms - now : 1;
	if (p->deadline_timer)
		h->timer_update(p->deadline_timer, ms);
}

static void on_deadline(void *data)
{
	struct portal *p = data;
	uint64_t now = p->host->now_ms();
	while (p->dl_head && p->dl_head->deadline_ms <= now) {
		struct pstream *s = p->dl_head;
		if (p->role == PORTAL_INLET)
			pstream_abort(s, PORTAL_R_TIMEOUT, 1,
				      "no answer from the outlet within %llu ms (open_timeout)",
				      (unsigned long long)p->timeout_ms);
		else
			pstream_abort(s, PORTAL_R_CONNECT, 1,
				      "cannot connect to %s: timed out after %llu ms (connect_timeout)",
				      p->where, (unsigned long long)p->timeout_ms);
	}
	deadline_arm(p);
}

/* Streams wait in the order they opened: one timeout for all, so the
 * list is sorted and one timer serves it. */
void pstream_deadline_set(struct pstream *s, uint64_t ms)
{
	struct portal *p = s->p;
	if (!p->deadline_timer) {
		p->deadline_timer = p->host->timer_add(p->ctx, ms, on_deadline, p);
		if (!p->deadline_timer)
			return;
		p->host->timer_update(p->deadline_timer, 0);
	}
	s->deadline_ms = p->host->now_ms() + ms;
	s->dl_prev = p->dl_tail;
	s->dl_next = NULL;
	if (p->dl_tail)
		p->dl_tail->dl_next = s;
	else
		p->dl_head = s;
	p->dl_tail = s;
	if (p->dl_head == s)
		deadline_arm(p);
}

void pstream_deadline_clear(struct pstream *s)
{
	struct portal *p = s->p;
	if (!s->deadline_ms)
		return;
	int was_head = p->dl_head == s;
	if (s->dl_prev)
		s->dl_prev->dl_next = s->dl_next;
	else
		p->dl_head = s->dl_next;
	if (s->dl_next)
		s->dl_next->dl_prev = s->dl_prev;
	else
		p->dl_tail = s->dl_prev;
	s->dl_prev = s->dl_next = NULL;
	s->deadline_ms = 0;
	if (was_head)
		deadline_arm(p);
}

static void list_remove(struct pstream **head, struct pstream *s)
{
	for (struct pstream **pp = head; *pp; pp = &(*pp)->q_next)
		if (*pp == s) {
			*pp = s->q_next;
			return;
		}
}

static void release(struct pstream *s)
{
	struct portal *p = s->p;
	pstream_deadline_clear(s);
	if (s->flags & PS_CREDIT_Q)
		list_remove(&p->credit_q, s);
	if (s->flags & PS_BLOCKED)
		for (struct pstream **pp = &p->blocked_q; *pp;
		     pp = &(*pp)->b_next)
			if (*pp == s) {
				*pp = s->b_next;
				break;
			}
	if (s->src)
		p->host->source_remove(s->src);
	if (s->fd >= 0)
		close(s->fd);
	uint32_t slot = (s->id & 0xffff) - 1;
	p->slots[slot] = NULL;
	p->free_slots[p->n_free++] = slot;
	p->n_open--;
	p->closed++;
	p->in_flight -= s->tx_sent - s->peer_received;
	p->total_in += s->bytes_in;
	p->total_out += s->bytes_out;
	portal_peer_put(p, s->peer);
	portal_ring_free(s);
	free(s);
}

void pstream_free(struct pstream *s)
{
	struct portal *p = s->p;
	const char *who = p->role == PORTAL_INLET ? "the client" : "the service";
	const char *other = p->role == PORTAL_INLET ? "the service" : "the client";
	p->host->log_limited(p->ctx, &p->lim_done, OCKAM_LOG_INFO,
			     "%s closed by %s (%llu bytes in, %llu out, %llu ms)",
			     s->label,
			     (s->flags & PS_CLIENT_FIRST) ? who : other,
			     (unsigned long long)s->bytes_in,
			     (unsigned long long)s->bytes_out,
			     (unsigned long long)(p->host->now_ms() - s->opened_ms));
	release(s);
}

void pstream_abort(struct pstream *s, unsigned reason, int tell,
		   const char *fmt, ...)
{
	struct portal *p = s->p;
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (reason >= PORTAL_R_MAX)
		reason = PORTAL_R_PROTOCOL;
	enum ockam_log_level lvl = reason == PORTAL_R_PROTOCOL ||
					   reason == PORTAL_R_REFUSED ||
					   reason == PORTAL_R_LOST
				   ? OCKAM_LOG_WARN : OCKAM_LOG_INFO;
	p->host->log_limited(p->ctx, &p->lim_close[reason], lvl,
			     "%s closed: %s", s->label, why);
	if (reason == PORTAL_R_PROTOCOL)
		p->protocol_errors++;
	else
		p->resets++;
	/* The peer knows the stream only once it has its id. */
	if (tell && (p->role == PORTAL_OUTLET || s->peer_id)) {
		uint8_t r = (uint8_t)reason;
		portal_send_ctl(p, s, PORTAL_CLOSE, &r, 1);
	}
	if (s->fd >= 0) {
		/* A reset, not an orderly FIN: the client or service must not
		 * take a cut-off stream for a complete one. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	release(s);
}

void pstream_maybe_done(struct pstream *s)
{
	if ((s->flags & PS_RD_EOF) && (s->flags & PS_SHUT_WR) &&
	    (!s->ring || s->ring->len == 0))
		pstream_free(s);
}
