/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sending: control messages, and DATA read from a socket straight into
 * the buffer it is sent from (host->send_reserve: a queue slot on the way
 * to a secure channel, or a tcp frame), so bytes cross the portal with no
 * copy of our own.
 *
 * Flow control, the sending half: a stream sends at most the credit its
 * peer granted (the peer's window at first, then each CREDIT), and stops
 * reading its socket at zero, so the kernel's buffers and TCP's own flow
 * control hold the client or service back.  A full next hop (ENOBUFS)
 * pauses reading for a few milliseconds; nothing read is ever dropped.
 *
 * Credits, the receiving half, are batched: bytes written to our socket
 * are granted back once a quarter of the window has gone, in one CREDIT
 * per stream from the end-of-turn flush, which also reports how much DATA
 * arrived.  That report bounds what an instance has in flight, all
 * streams together (PORTAL_IN_FLIGHT): a slow reader's bytes sit in its
 * receiver's buffer, reported received, so they do not count, and many
 * busy streams never overfill the queues between the two ends.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "portal.h"

/* Retry a paused stream this soon (a full queue drains within a turn or
 * two; a full connection as fast as its peer reads). */
#define RESUME_MS 2

static void msg_for(struct portal *p, struct pstream *s,
		    struct ockam_message *m, struct ockam_route *ret)
{
	ockam_message_init(m);
	*ret = ockam_route_make(&p->self, 1);
	m->ret = *ret;
	if (p->role == PORTAL_INLET) {
		m->onward = p->route;
		/* The operator named this route. */
		m->flags = OCKAM_MSG_CONNECT;
	} else {
		m->onward = *s->peer->route;
	}
}

int portal_send_ctl(struct portal *p, struct pstream *s, uint8_t type,
		    const uint8_t *body, size_t body_len)
{
	uint8_t buf[PORTAL_CTL_MAX];
	struct ockam_message m;
	struct ockam_route ret;

	if (body_len > sizeof(buf) - PORTAL_HDR)
		return -EINVAL;
	msg_for(p, s, &m, &ret);
	portal_hdr_put(buf, type, s->peer_id, s->id);
	if (body_len)
		memcpy(buf + PORTAL_HDR, body, body_len);
	m.payload = buf;
	m.payload_len = PORTAL_HDR + body_len;
	return p->host->send(p->ctx, &m);
}

void portal_send_close_to(struct portal *p, const struct ockam_message *msg,
			  uint32_t to, unsigned reason)
{
	uint8_t buf[PORTAL_HDR + 1];
	struct ockam_message m;
	struct ockam_route ret = ockam_route_make(&p->self, 1);

	if (msg->ret.count == 0)
		return;
	ockam_message_init(&m);
	m.onward = msg->ret; /* the way back; never dialled */
	m.ret = ret;
	portal_hdr_put(buf, PORTAL_CLOSE, to, 0);
	buf[PORTAL_HDR] = (uint8_t)reason;
	m.payload = buf;
	m.payload_len = sizeof(buf);
	p->host->send(p->ctx, &m);
}

static void on_resume(void *data)
{
	struct portal *p = data;
	struct pstream *q = p->blocked_q;
	p->blocked_q = NULL;
	while (q) {
		struct pstream *s = q;
		q = q->b_next;
		s->b_next = NULL;
		s->flags &= (uint8_t)~PS_BLOCKED;
		if (portal_pump_in(s) == 0)
			portal_rewatch(s);
	}
}

static void block(struct pstream *s)
{
	struct portal *p = s->p;
	if (s->flags & PS_BLOCKED)
		return;
	if (!p->resume_timer) {
		p->resume_timer = p->host->timer_add(p->ctx, RESUME_MS,
						     on_resume, p);
		if (!p->resume_timer)
			return;
	} else if (!p->blocked_q) {
		p->host->timer_update(p->resume_timer, RESUME_MS);
	}
	s->flags |= PS_BLOCKED;
	s->b_next = p->blocked_q;
	p->blocked_q = s;
	portal_rewatch(s);
}

static int send_eof(struct pstream *s)
{
	uint8_t seq[4];
	portal_put32(seq, s->tx_seq++);
	s->flags |= PS_RD_EOF;
	if (!(s->flags & PS_PEER_EOF))
		s->flags |= PS_CLIENT_FIRST;
	int rc = portal_send_ctl(s->p, s, PORTAL_EOF, seq, sizeof(seq));
	if (rc < 0) {
		pstream_abort(s, PORTAL_R_LOST, 0,
			      "cannot send its end of stream: %s", strerror(-rc));
		return 1;
	}
	portal_rewatch(s);
	if ((s->flags & PS_SHUT_WR) && (!s->ring || s->ring->len == 0)) {
		pstream_free(s);
		return 1;
	}
	return 0;
}

/* At most this many messages per readiness event: a busy socket must
 * not keep the loop from the others (epoll is level-triggered; the rest
 * is read on the next turn). */
#define PUMP_BURST 4

int portal_pump_in(struct pstream *s)
{
	struct portal *p = s->p;
	const struct ockam_host *h = p->host;

	for (int i = 0; i < PUMP_BURST; i++) {
		if (s->state != PS_OPEN ||
		    (s->flags & (PS_RD_EOF | PS_BLOCKED)))
			return 0;
		if (!portal_can_send(s))
			return 0;
		uint64_t credit = s->tx_allowed - s->tx_sent;
		if (p->in_flight >= PORTAL_IN_FLIGHT) {
			/* Until the other end reports some arrived. */
			block(s);
			return 0;
		}
		if (credit > PORTAL_IN_FLIGHT - p->in_flight)
			credit = PORTAL_IN_FLIGHT - p->in_flight;
		size_t cap = credit < p->max_chunk ? (size_t)credit
						   : p->max_chunk;
		struct ockam_message m;
		struct ockam_route ret;
		uint8_t *buf;
		msg_for(p, s, &m, &ret);
		int rc = h->send_reserve(p->ctx, &m, PORTAL_DATA_HDR + cap, &buf);
		if (rc == -ENOBUFS) {
			block(s);
			return 0;
		}
		if (rc < 0) {
			pstream_abort(s, PORTAL_R_LOST, 0,
				      "cannot send to the %s: %s",
				      p->role == PORTAL_INLET ? "outlet" : "inlet",
				      strerror(-rc));
			return 1;
		}
		ssize_t n = recv(s->fd, buf + PORTAL_DATA_HDR, cap, 0);
		if (n > 0) {
			portal_hdr_put(buf, PORTAL_DATA, s->peer_id, s->id);
			portal_put32(buf + PORTAL_HDR, s->tx_seq);
			rc = h->send_commit(p->ctx, PORTAL_DATA_HDR + (size_t)n);
			if (rc < 0) {
				if (rc == -ENOBUFS) {
					/* Read but not taken: the stream
					 * would have a hole.  Never silent. */
					pstream_abort(s, PORTAL_R_LOST, 1,
						      "%zd bytes read could not be sent: the next hop is full",
						      n);
					return 1;
				}
				pstream_abort(s, PORTAL_R_LOST, 0,
					      "cannot send to the %s: %s",
					      p->role == PORTAL_INLET ? "outlet" : "inlet",
					      strerror(-rc));
				return 1;
			}
			s->tx_seq++;
			s->tx_sent += (uint64_t)n;
			p->in_flight += (uint64_t)n;
			s->bytes_in += (uint64_t)n;
			if ((size_t)n < cap)
				return 0; /* drained the socket, most likely */
			continue;
		}
		int err = n < 0 ? errno : 0;
		h->send_abort(p->ctx);
		if (n == 0)
			return send_eof(s);
		if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
			return 0;
		pstream_abort(s, PORTAL_R_RESET, 1, "reset by %s: %s",
			      p->role == PORTAL_INLET ? "the client" : "the service",
			      strerror(err));
		return 1;
	}
	return 0;
}

/* A stream in bulk gets its credit back in grants of about a quarter of
 * the peer's window, while the rest is still on its way.  Reading for
 * whatever remained (the window is rarely a multiple of max_chunk) would
 * send a short DATA message each time round, one more message through
 * every node and one more wake-up of each: so the socket is read only
 * once the credit is worth a message, max_chunk or a quarter of the
 * window, whichever is less.  It always comes: the peer grants every
 * byte it has written once a quarter of its window has, so it never holds
 * back more than a quarter, and what we may send never stays below a
 * quarter of the window. */
void portal_credit_init(struct pstream *s, uint32_t window)
{
	uint32_t min = window / 4;
	if (min > s->p->max_chunk)
		min = s->p->max_chunk;
	s->tx_allowed = window;
	s->tx_min = min ? min : 1;
}

int portal_can_send(const struct pstream *s)
{
	return s->tx_allowed - s->tx_sent >= s->tx_min;
}

void portal_credit_granted(struct pstream *s, uint32_t n)
{
	int could = portal_can_send(s);
	s->tx_allowed += n;
	if (!could && portal_can_send(s))
		portal_rewatch(s);
}

static void on_credit_flush(void *data)
{
	struct portal *p = data;
	struct pstream *q = p->credit_q;
	p->credit_q = NULL;
	while (q) {
		struct pstream *s = q;
		q = q->q_next;
		s->q_next = NULL;
		s->flags &= (uint8_t)~PS_CREDIT_Q;
		/* After the peer's EOF no more DATA comes: nothing to grant,
		 * only what arrived to report. */
		uint32_t grant = (s->flags & PS_PEER_EOF) ? 0 : s->rx_unacked;
		if (!grant && s->rx_got == s->rx_reported)
			continue;
		uint8_t n[PORTAL_CREDIT_LEN];
		portal_put32(n, grant);
		portal_put64(n + 4, s->rx_got);
		int rc = portal_send_ctl(p, s, PORTAL_CREDIT, n, sizeof(n));
		if (rc == 0) {
			s->rx_allowed += grant;
			s->rx_unacked -= grant;
			s->rx_reported = s->rx_got;
		} else if (rc == -ENOBUFS) {
			/* Try again: a credit lost would stall the stream. */
			s->flags |= PS_CREDIT_Q;
			s->q_next = p->credit_q;
			p->credit_q = s;
			p->host->flush_arm(p->credit_flush);
		} else {
			p->host->log(p->ctx, OCKAM_LOG_DEBUG,
				     "%s: credit not sent: %s", s->label,
				     strerror(-rc));
		}
	}
}

static void credit_queue(struct pstream *s)
{
	struct portal *p = s->p;
	if (s->flags & PS_CREDIT_Q)
		return;
	if (!p->credit_flush) {
		p->credit_flush = p->host->flush_add(p->ctx, on_credit_flush, p);
		if (!p->credit_flush)
			return;
	}
	s->flags |= PS_CREDIT_Q;
	s->q_next = p->credit_q;
	p->credit_q = s;
	p->host->flush_arm(p->credit_flush);
}

void portal_consumed(struct pstream *s, size_t n)
{
	s->bytes_out += n;
	s->rx_unacked += (uint32_t)n;
	if (s->rx_unacked >= s->p->window / 4)
		credit_queue(s);
}

void portal_received(struct pstream *s)
{
	credit_queue(s);
}

int portal_peer_received(struct pstream *s, uint64_t received)
{
	if (received < s->peer_received || received > s->tx_sent)
		return -1;
	s->p->in_flight -= received - s->peer_received;
	s->peer_received = received;
	return 0;
}
