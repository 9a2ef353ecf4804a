/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stream's socket: readiness, writes, and the ring for what the socket
 * cannot take yet.
 *
 * DATA from the peer is written to the socket as it arrives.  What the
 * socket does not take waits in the stream's ring, which is allocated
 * only then (window bytes) and freed once it has stayed empty for a
 * second (a sweep), so an idle stream holds no buffer and a busy one does
 * not allocate each time its socket fills.  The peer can never overfill it: it may send only
 * what we granted, and we grant only what left the ring.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "portal.h"

void portal_rewatch(struct pstream *s)
{
	uint32_t ev = 0;
	if (s->state == PS_CONNECTING)
		ev = OCKAM_EV_WRITE;
	else if (s->state == PS_OPEN) {
		if (!(s->flags & (PS_RD_EOF | PS_BLOCKED)) &&
		    portal_can_send(s))
			ev |= OCKAM_EV_READ;
		if (s->ring && s->ring->len)
			ev |= OCKAM_EV_WRITE;
	}
	pstream_watch(s, ev);
}

/* The peer's EOF, once everything before it is written. */
static int shut_if_due(struct pstream *s)
{
	if (!(s->flags & PS_PEER_EOF) || (s->flags & PS_SHUT_WR) ||
	    (s->ring && s->ring->len))
		return 0;
	shutdown(s->fd, SHUT_WR);
	s->flags |= PS_SHUT_WR;
	if (s->flags & PS_RD_EOF) {
		pstream_free(s);
		return 1;
	}
	return 0;
}

static int write_failed(struct pstream *s, int err)
{
	pstream_abort(s, PORTAL_R_RESET, 1, "%s stopped taking data: %s",
		      s->p->role == PORTAL_INLET ? "the client" : "the service",
		      strerror(err));
	return 1;
}

/* Rings that stayed empty this long are freed. */
#define RING_KEEP_MS 1000

void portal_ring_free(struct pstream *s)
{
	if (!s->ring)
		return;
	free(s->ring);
	s->ring = NULL;
	s->p->n_rings--;
}

static void on_ring_sweep(void *data)
{
	struct portal *p = data;
	uint64_t now = p->host->now_ms();
	for (uint32_t i = 0; i < p->max_connections && p->n_rings; i++) {
		struct pstream *s = p->slots[i];
		if (s && s->ring && s->ring->len == 0 &&
		    now - s->ring->empty_ms >= RING_KEEP_MS)
			portal_ring_free(s);
	}
	if (!p->n_rings)
		p->host->timer_update(p->ring_sweep, 0);
}

static struct portal_ring *ring_get(struct pstream *s)
{
	struct portal *p = s->p;
	if (s->ring)
		return s->ring;
	struct portal_ring *r = malloc(sizeof(*r) + p->window);
	if (!r)
		return NULL;
	r->head = r->len = 0;
	r->empty_ms = 0;
	r->cap = p->window;
	s->ring = r;
	if (p->n_rings++ == 0) {
		if (!p->ring_sweep)
			p->ring_sweep = p->host->timer_add_periodic(
				p->ctx, RING_KEEP_MS, on_ring_sweep, p);
		else
			p->host->timer_update(p->ring_sweep, RING_KEEP_MS);
	}
	return r;
}

int portal_drain_ring(struct pstream *s)
{
	struct portal_ring *r = s->ring;
	while (r && r->len) {
		size_t first = r->cap - r->head;
		if (first > r->len)
			first = r->len;
		ssize_t n = send(s->fd, r->data + r->head, first,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			return write_failed(s, errno);
		}
		r->head = (r->head + (size_t)n) % r->cap;
		r->len -= (size_t)n;
		portal_consumed(s, (size_t)n);
		if ((size_t)n < first)
			break;
	}
	if (r && r->len == 0 && !r->empty_ms)
		r->empty_ms = s->p->host->now_ms();
	if (shut_if_due(s))
		return 1;
	portal_rewatch(s);
	return 0;
}

int portal_write_out(struct pstream *s, const uint8_t *d, size_t n)
{
	size_t done = 0;
	if (!s->ring || s->ring->len == 0) {
		ssize_t k = send(s->fd, d, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				return write_failed(s, errno);
			k = 0;
		}
		done = (size_t)k;
		if (done)
			portal_consumed(s, done);
		if (done == n)
			return 0;
	}
	struct portal_ring *r = ring_get(s);
	if (!r) {
		pstream_abort(s, PORTAL_R_LOST, 1,
			      "out of memory for its buffer");
		return 1;
	}
	r->empty_ms = 0;
	size_t left = n - done;
	if (left > r->cap - r->len) {
		/* Cannot happen while the peer keeps to its credit (checked
		 * on receipt); never drop bytes silently if it does. */
		pstream_abort(s, PORTAL_R_PROTOCOL, 1,
			      "more data than the window holds");
		return 1;
	}
	size_t tail = (r->head + r->len) % r->cap;
	size_t first = r->cap - tail < left ? r->cap - tail : left;
	memcpy(r->data + tail, d + done, first);
	memcpy(r->data, d + done + first, left - first);
	r->len += left;
	portal_rewatch(s);
	return 0;
}

void portal_io(void *data, int fd, uint32_t events)
{
	struct pstream *s = data;
	struct portal *p = s->p;

	if (s->state == PS_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && (events & OCKAM_EV_ERROR))
			err = ECONNREFUSED;
		p->connected(s, err);
		return;
	}
	if (s->state != PS_OPEN) {
		/* The client reset while the outlet had not answered yet. */
		if (events & OCKAM_EV_ERROR)
			pstream_abort(s, PORTAL_R_RESET, 1,
				      "the client went away before the outlet answered");
		return;
	}
	if (events & OCKAM_EV_WRITE) {
		if (portal_drain_ring(s))
			return;
	}
	if (events & (OCKAM_EV_READ | OCKAM_EV_ERROR)) {
		if (portal_pump_in(s))
			return;
	}
	if (events & OCKAM_EV_ERROR) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			pstream_abort(s, PORTAL_R_RESET, 1, "reset by %s: %s",
				      p->role == PORTAL_INLET ? "the client"
							      : "the service",
				      strerror(err));
			return;
		}
		/* Hung up both ways with nothing left to read: the other
		 * side is gone and cannot take what the peer still sends. */
		if ((s->flags & PS_RD_EOF) && !(s->flags & PS_PEER_EOF)) {
			pstream_abort(s, PORTAL_R_RESET, 1,
				      "%s hung up before the %s finished",
				      p->role == PORTAL_INLET ? "the client"
							      : "the service",
				      p->role == PORTAL_INLET ? "service"
							      : "client");
			return;
		}
	}
	portal_rewatch(s);
}
