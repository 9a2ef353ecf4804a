/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connections: connect when a sender asks, buffers, framing, reads and
 * writes.
 *
 * A connection has an output buffer and, while a frame is partly read or
 * held back by a pause, an input buffer; reads between frames go to one
 * buffer shared by all connections.  Buffers grow up to a bound (one frame
 * in, send_queue_limit out) and are reused while the connection is busy,
 * so the hot path allocates nothing per message; a quiet connection gives
 * them back (tcp_buf.c).
 *
 * Reading: one wake-up reads as much as the budget allows (many frames per
 * read); each frame is decoded into views that point into the buffer it was
 * read into, the connection's key is pushed on its return route, and
 * host->send copies it into the node's queue.  Nothing is allocated per
 * message.  host->send never runs a worker (ABI 2's one send rule), so
 * nothing a read path does can re-enter this file: a connection closed
 * anywhere is freed at once.
 *
 * Writing: send (and reserve + commit, which lend the space of a frame in
 * the output buffer so that a sender writes its payload where it will be
 * written from) only append frames to the connection's output buffer.  The
 * first frame of a loop turn arms the end-of-turn flush (host->flush_add),
 * which writes every connection's frames with one send() each after the
 * turn's messages were delivered.  So a burst of N small messages costs
 * one send() per connection, not N.
 */
#include "tcp_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_INITIAL (16u << 10)
/* Read at least this much at once when the buffer allows it. */
#define READ_CHUNK (16u << 10)

static uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- buffers ------------------------------------------------------ */

/* tcp_buf_reserve, and the first buffer allocated since all were given
 * back starts the sweep that gives them back again (tcp_buf.c). */
static int conn_reserve(struct tcp *t, struct tcp_buf *b, size_t n,
			size_t initial, size_t limit)
{
	int rc;

	if (b->cap - b->off - b->len >= n)
		return 0;
	rc = tcp_buf_grow(b, n, initial, limit);
	if (rc == 0 && !t->bufs_armed)
		tcp_bufs_watch(t);
	return rc;
}

/* ---- payload length ----------------------------------------------- */

/* The payload is the last field of an encoded message: a uvarint length
 * and the bytes (docs/protocol.md).  A reserved frame writes its length
 * itself, once it is known. */
static size_t uvarint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void uvarint_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p = (uint8_t)v;
}

/* ---- connection list and teardown --------------------------------- */

static struct tcp_conn *conn_find(struct tcp *t, const void *key, size_t len)
{
	struct tcp_conn *c;

	for (c = t->conns; c; c = c->next)
		if (c->key_len == len && memcmp(c->key, key, len) == 0)
			return c;
	return NULL;
}

static struct tcp_conn *conn_new(struct tcp *t, const void *key, size_t len,
				 int outbound)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->t = t;
	c->fd = -1;
	c->outbound = outbound;
	memcpy(c->key, key, len);
	c->key[len] = '\0';
	c->key_len = len;
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	return c;
}

/* Take `c` out of the plugin's list of connections. */
static void conn_unlink(struct tcp_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void conn_free(struct tcp_conn *c)
{
	tcp_buf_release(&c->in);
	tcp_buf_release(&c->out);
	free(c);
}

static void conn_unwatch(struct tcp_conn *c)
{
	const struct ockam_host *h = c->t->host;

	if (c->timer)
		h->source_remove(c->timer);
	c->timer = NULL;
	if (c->src)
		h->source_remove(c->src);
	c->src = NULL;
	if (c->fd >= 0)
		close(c->fd); /* after source_remove: it needs the fd */
	c->fd = -1;
	c->events = 0;
}

/* Tell the local senders of the frames still queued whole that they will
 * not be delivered (host->message_undeliverable): an app or a channel then
 * fails at once instead of at its timeout.  A frame partly written is
 * skipped (the peer may have part of it), and only the first few are
 * told: the host's notice queue is small, and one notice per sender is
 * what matters. */
#define TCP_NOTICES_MAX 64
static void conn_notify_dropped(struct tcp_conn *c, const char *why)
{
	const struct ockam_host *h = c->t->host;
	const uint8_t *p = c->out.data + c->out.off + c->head_left;
	size_t left = c->out.len - c->head_left;
	struct ockam_addr hops[OCKAM_DECODE_HOPS];
	struct ockam_message msg;

	for (unsigned n = 0; n < TCP_NOTICES_MAX && left >= TCP_FRAME_HEADER;
	     n++) {
		size_t len = be32_get(p);

		if (len > left - TCP_FRAME_HEADER)
			break;
		if (h->message_decode(p + TCP_FRAME_HEADER, len, &msg, hops,
				      OCKAM_DECODE_HOPS) == 0)
			h->message_undeliverable(c->t->ctx, &msg,
						 c->last_errno ? -c->last_errno
							       : -ECONNRESET,
						 why);
		p += TCP_FRAME_HEADER + len;
		left -= TCP_FRAME_HEADER + len;
	}
}

/* Log one line saying why and what was lost, then free the connection. */
static void conn_close(struct tcp_conn *c, enum ockam_log_level level,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void conn_close(struct tcp_conn *c, enum ockam_log_level level,
		       const char *fmt, ...)
{
	struct tcp *t = c->t;
	char reason[256], dropped[96] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	tcp_resolve_cancel(&c->wait);
	if (c->out_frames) {
		snprintf(dropped, sizeof(dropped),
			 "; dropped %zu queued message%s (%zu bytes)",
			 c->out_frames, c->out_frames == 1 ? "" : "s",
			 c->out.len);
		if (level > OCKAM_LOG_WARN)
			level = OCKAM_LOG_WARN;
	}
	if (c->outbound && !t->stopping) {
		int open = c->state == TCP_CONN_OPEN;
		int healthy = open && (c->got_frame ||
				       t->host->now_ms() - c->opened_ms >=
					       TCP_HEALTHY_MS);

		tcp_peer_down(t, c->key, c->key_len, &c->b, open, healthy,
			      c->last_errno, reason, dropped, c->out_frames);
	} else if (c->state != TCP_CONN_OPEN) {
		t->host->log(t->ctx, level, "cannot connect to %s: %s%s",
			     c->key, reason, dropped);
	} else if (!c->outbound) {
		t->host->log_limited(t->ctx, &t->lim_in_close[c->close_cause],
				     level, "connection from %s closed: %s%s",
				     c->key, reason, dropped);
	} else {
		t->host->log(t->ctx, level, "connection to %s closed: %s%s",
			     c->key, reason, dropped);
	}
	if (c->out_frames && !t->stopping) {
		char why[600];

		snprintf(why, sizeof(why), "%s %s: %s",
			 c->state != TCP_CONN_OPEN ? "cannot connect to"
							 : "connection lost to",
			 c->key, reason);
		conn_notify_dropped(c, why);
	}
	if (c->outbound)
		t->n_outbound--;
	if (!c->outbound && !t->stopping) {
		tcp_gone_add(t, c->key, c->key_len);
		if (c->listener)
			c->listener->n_conns--;
	}

	if (c->dirty) {
		struct tcp_conn **p = &t->dirty;

		while (*p != c)
			p = &(*p)->dirty_next;
		*p = c->dirty_next;
		c->dirty = 0;
	}
	if (c->resuming) {
		struct tcp_conn **p = &t->resume;

		while (*p && *p != c)
			p = &(*p)->resume_next;
		if (*p)
			*p = c->resume_next;
		c->resuming = 0;
	}
	if (t->resv_conn == c)
		t->resv_conn = NULL; /* commit then refuses it */
	conn_unwatch(c);
	conn_unlink(c);
	conn_free(c);
}

/* ---- writing ------------------------------------------------------ */

static int conn_set_events(struct tcp_conn *c, uint32_t events)
{
	int rc;

	if (c->events == events)
		return 0;
	rc = c->t->host->fd_update(c->src, events);
	if (rc < 0)
		return rc;
	c->events = events;
	return 0;
}

/* Read interest unless paused, write interest while bytes wait. */
static uint32_t conn_want(const struct tcp_conn *c, int writing)
{
	return (c->paused ? 0 : OCKAM_EV_READ) | (writing ? OCKAM_EV_WRITE : 0);
}

/* Drop `n` written bytes, keeping count of the frames still queued. */
static void out_consume(struct tcp_conn *c, size_t n)
{
	while (n) {
		size_t k;

		if (!c->head_left)
			c->head_left = TCP_FRAME_HEADER +
				       (size_t)be32_get(c->out.data + c->out.off);
		k = n < c->head_left ? n : c->head_left;
		c->head_left -= k;
		n -= k;
		tcp_buf_consume(&c->out, k);
		if (!c->head_left)
			c->out_frames--;
	}
}

/* Write what is queued; watch for writability only while some is left.
 * 0, or a negative errno for which the caller closes the connection. */
static int conn_flush(struct tcp_conn *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out.off, c->out.len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			if (c->t->host->log_enabled(c->t->ctx,
						    OCKAM_LOG_TRACE))
				c->t->host->log(c->t->ctx, OCKAM_LOG_TRACE,
						"wrote %zd bytes to %s", n,
						c->key);
			out_consume(c, (size_t)n);
			c->active_ms = c->t->host->now_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return conn_set_events(c, conn_want(c, 1));
		return n < 0 ? -errno : -EPIPE;
	}
	c->nobufs_logged = 0;
	return conn_set_events(c, conn_want(c, 0));
}

static void conn_flush_or_close(struct tcp_conn *c)
{
	int rc = conn_flush(c);

	if (rc < 0)
		conn_close(c, OCKAM_LOG_WARN, "%s", strerror(-rc));
}

static void conns_resume(struct tcp *t);

/* The end-of-turn flush: the node's queue has drained, so connections
 * paused because it was full read on (conns_resume); then write each
 * connection that queued frames this turn (one send() each), unless it
 * waits for the socket to drain. */
static void conns_on_flush(void *data)
{
	struct tcp *t = data;

	conns_resume(t);
	while (t->dirty) {
		struct tcp_conn *c = t->dirty;

		t->dirty = c->dirty_next;
		c->dirty_next = NULL;
		c->dirty = 0;
		if (c->state == TCP_CONN_OPEN && !(c->events & OCKAM_EV_WRITE))
			conn_flush_or_close(c);
	}
}

/* Arm the end-of-turn flush (added on first use).  0, or -1 if there is
 * none (out of memory, or stopping). */
static int flush_arm(struct tcp *t)
{
	if (!t->flush && !t->stopping)
		t->flush = t->host->flush_add(t->ctx, conns_on_flush, t);
	if (!t->flush)
		return -1;
	t->host->flush_arm(t->flush);
	return 0;
}

/* A frame was queued on `c`: it goes out from the end-of-turn flush (or
 * once connected, or when the socket drains). */
static void conn_queued(struct tcp_conn *c)
{
	struct tcp *t = c->t;

	if (c->state != TCP_CONN_OPEN || (c->events & OCKAM_EV_WRITE) ||
	    c->dirty)
		return;
	if (flush_arm(t) < 0) {
		/* No flush source (out of memory): write now. */
		conn_flush_or_close(c);
		return;
	}
	c->dirty = 1;
	c->dirty_next = t->dirty;
	t->dirty = c;
}

void tcp_flush_stop(struct tcp *t)
{
	if (t->flush)
		t->host->source_remove(t->flush);
	t->flush = NULL;
	/* Every connection is closed by now. */
	t->dirty = NULL;
	t->resume = NULL;
}

/* Room for a `frame`-byte frame at the end of c->out, within
 * send_queue_limit.  0, or -ENOBUFS / -ENOMEM (logged). */
static int conn_room(struct tcp_conn *c, size_t frame)
{
	struct tcp *t = c->t;
	int rc;

	if (c->out.len > t->queue_limit - frame) {
		if (!c->nobufs_logged)
			t->host->log(t->ctx, OCKAM_LOG_WARN,
				     "send queue to %s is full (%zu bytes "
				     "queued, send_queue_limit %llu): "
				     "refusing messages until it drains",
				     c->key, c->out.len,
				     (unsigned long long)t->queue_limit);
		c->nobufs_logged = 1;
		return -ENOBUFS;
	}
	rc = conn_reserve(t, &c->out, frame, OUT_INITIAL, t->queue_limit);
	if (rc < 0)
		t->host->log_limited(t->ctx, &t->lim_nobufs, OCKAM_LOG_WARN,
				     "cannot queue %zu bytes for %s: %s", frame,
				     c->key, strerror(-rc));
	return rc;
}

/* A frame of `size` body bytes was written at the end of c->out: it is
 * queued. */
static void conn_frame_added(struct tcp_conn *c, size_t size)
{
	struct tcp *t = c->t;

	c->out.len += TCP_FRAME_HEADER + size;
	c->out_frames++;
	if (t->host->log_enabled(t->ctx, OCKAM_LOG_TRACE))
		t->host->log(t->ctx, OCKAM_LOG_TRACE,
			     "frame of %zu bytes queued to %s (%zu bytes "
			     "waiting to be written)",
			     size, c->key, c->out.len);
}

/* Append one frame for `msg` (already popped, `size` bytes encoded). */
static int conn_queue(struct tcp_conn *c, const struct ockam_message *msg,
		      size_t size)
{
	struct tcp *t = c->t;
	uint8_t *p;
	int rc = conn_room(c, TCP_FRAME_HEADER + size);

	if (rc < 0)
		return rc;
	p = c->out.data + c->out.off + c->out.len;
	if (t->host->message_encode(msg, p + TCP_FRAME_HEADER, size) != size) {
		t->host->log_limited(t->ctx, &t->lim_nobufs, OCKAM_LOG_ERROR,
				     "cannot encode a %zu-byte message for %s",
				     size, c->key);
		return -EIO;
	}
	be32_put(p, (uint32_t)size);
	conn_frame_added(c, size);
	return 0;
}

/* ---- connecting --------------------------------------------------- */

static void conn_on_event(void *data, int fd, uint32_t events);
static int conn_connect_next(struct tcp_conn *c);

/* 0, or a negative errno after closing (and maybe freeing) `c`. */
static int conn_established(struct tcp_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char peer[TCP_KEY_MAX] = "?";
	int rc;

	if (c->timer)
		c->t->host->source_remove(c->timer);
	c->timer = NULL;
	c->state = TCP_CONN_OPEN;
	c->opened_ms = c->active_ms = c->t->host->now_ms();
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0)
		tcp_addr_format((struct sockaddr *)&ss, sl, peer, sizeof(peer));
	if (c->b.failures) {
		char refused[64] = "";

		if (c->b.refused)
			snprintf(refused, sizeof(refused),
				 " (%u message%s not sent while down)",
				 c->b.refused, c->b.refused == 1 ? "" : "s");
		c->t->host->log(c->t->ctx, OCKAM_LOG_INFO,
				"connection to %s restored after %u "
				"attempt%s%s",
				c->key, c->b.attempts,
				c->b.attempts == 1 ? "" : "s", refused);
	} else if (strcmp(peer, c->key) == 0)
		c->t->host->log(c->t->ctx, OCKAM_LOG_INFO, "connected to %s",
				c->key);
	else if (c->addrs.name[0]) /* found through the search list */
		c->t->host->log(c->t->ctx, OCKAM_LOG_INFO,
				"connected to %s (%s -> %s)", c->key,
				c->addrs.name, peer);
	else
		c->t->host->log(c->t->ctx, OCKAM_LOG_INFO,
				"connected to %s (%s)", c->key, peer);
	/* Messages queued while connecting go out in one write. */
	rc = conn_flush(c);
	if (rc < 0)
		conn_close(c, OCKAM_LOG_WARN, "%s", strerror(-rc));
	return rc;
}

static void conn_on_timeout(void *data)
{
	struct tcp_conn *c = data;

	c->last_errno = ETIMEDOUT;
	conn_close(c, OCKAM_LOG_WARN, "timed out after %llu ms",
		   (unsigned long long)c->t->connect_timeout_ms);
}

/* Try the resolved addresses in turn ("localhost" may give ::1 first while
 * the peer listens on 127.0.0.1).  0 once connected or in progress, else a
 * negative errno after closing `c`. */
static int conn_connect_next(struct tcp_conn *c)
{
	const struct ockam_host *h = c->t->host;
	int rc;

	while (c->addr_next < c->addrs.n) {
		const union tcp_sockaddr *sa = &c->addrs.a[c->addr_next++];
		int fd, r;

		fd = socket(sa->sa.sa_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			c->last_errno = errno;
			continue;
		}
		tcp_socket_tune(c->t, fd);
		r = connect(fd, &sa->sa, tcp_sockaddr_len(sa));
		/* A non-blocking connect interrupted by a signal goes on in
		 * the background, like EINPROGRESS. */
		if (r < 0 && errno != EINPROGRESS && errno != EINTR) {
			c->last_errno = errno;
			close(fd);
			if (h->log_enabled(c->t->ctx, OCKAM_LOG_DEBUG)) {
				char one[64];

				tcp_addr_format(&sa->sa, tcp_sockaddr_len(sa),
						one, sizeof(one));
				h->log(c->t->ctx, OCKAM_LOG_DEBUG,
				       "connect to %s at %s failed: %s%s",
				       c->key, one, strerror(c->last_errno),
				       c->addr_next < c->addrs.n
					       ? "; trying the next address"
					       : "");
			}
			continue;
		}
		c->fd = fd;
		c->events = r == 0 ? OCKAM_EV_READ : OCKAM_EV_WRITE;
		c->src = h->fd_add(c->t->ctx, fd, c->events, conn_on_event, c);
		if (!c->src) {
			c->last_errno = ENOMEM;
			break;
		}
		return r == 0 ? conn_established(c) : 0;
	}
	rc = c->last_errno ? c->last_errno : EHOSTUNREACH;
	c->last_errno = rc;
	conn_close(c, OCKAM_LOG_WARN, "%s", strerror(rc));
	return -rc;
}

/* An address's text (at most OCKAM_ADDR_MAX bytes), NUL-terminated. */
static const char *text_of(const struct ockam_addr *a, char out[TCP_KEY_MAX])
{
	memcpy(out, a->data, a->len);
	out[a->len] = '\0';
	return out;
}

/* Copy `len` bytes of untrusted text for a log line. */
static const char *printable(const uint8_t *s, size_t len, char *out,
			     size_t cap)
{
	size_t i;

	if (len >= cap)
		len = cap - 1;
	for (i = 0; i < len; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	out[len] = '\0';
	return out;
}

/* The addresses are known: connect to them in turn, within
 * connect_timeout.  0, or a negative errno after closing `c`. */
static int conn_connect_start(struct tcp_conn *c, uint16_t port)
{
	struct tcp *t = c->t;
	unsigned i;

	for (i = 0; i < c->addrs.n; i++) {
		union tcp_sockaddr *sa = &c->addrs.a[i];

		if (sa->sa.sa_family == AF_INET6)
			sa->in6.sin6_port = htons(port);
		else
			sa->in.sin_port = htons(port);
	}
	c->addr_next = 0;
	c->state = TCP_CONN_CONNECTING;
	if (t->host->log_enabled(t->ctx, OCKAM_LOG_DEBUG)) {
		char list[TCP_ADDRS_MAX * 64], one[64];
		size_t used = 0;

		list[0] = '\0';
		for (i = 0; i < c->addrs.n && used < sizeof(list); i++) {
			const union tcp_sockaddr *sa = &c->addrs.a[i];
			int n;

			tcp_addr_format(&sa->sa, tcp_sockaddr_len(sa), one,
					sizeof(one));
			n = snprintf(list + used, sizeof(list) - used, "%s%s",
				     i ? ", " : "", one);
			if (n < 0)
				break;
			used += (size_t)n;
		}
		t->host->log(t->ctx, OCKAM_LOG_DEBUG,
			     "connecting to %s (%s%s%u address%s: %s), each "
			     "tried in turn within %llu ms",
			     c->key, c->addrs.name,
			     c->addrs.name[0] ? " gives " : "",
			     c->addrs.n, c->addrs.n == 1 ? "" : "es", list,
			     (unsigned long long)t->connect_timeout_ms);
	}
	c->timer = t->host->timer_add(t->ctx, t->connect_timeout_ms,
				      conn_on_timeout, c);
	if (!c->timer) {
		c->last_errno = ENOMEM;
		conn_close(c, OCKAM_LOG_ERROR, "cannot arm the connect timer");
		return -ENOMEM;
	}
	return conn_connect_next(c);
}

static uint16_t conn_port(const struct tcp_conn *c)
{
	char host[TCP_KEY_MAX], port[8];

	if (tcp_addr_split(c->key, c->key_len, host, sizeof(host), port,
			   sizeof(port)) < 0)
		return 0;
	return (uint16_t)strtoul(port, NULL, 10);
}

/* The host name of a waiting connection resolved (or not): messages
 * queued meanwhile go out once connected, or are dropped with the
 * failure's line. */
static void conn_on_resolved(void *data, int err, const char *why,
			     const struct tcp_addrs *addrs)
{
	struct tcp_conn *c = data;

	if (err) {
		c->last_errno = err;
		conn_close(c, OCKAM_LOG_WARN, "%s", why);
		return;
	}
	c->addrs = *addrs;
	(void)conn_connect_start(c, conn_port(c));
}

/* Unlink a connection that never got going, without a line. */
static void conn_discard(struct tcp_conn *c)
{
	conn_unlink(c);
	if (c->outbound)
		c->t->n_outbound--;
	conn_free(c);
}

/* Open a connection for outbound address `a`, carrying the history of its
 * backoff record `p` (NULL if it has none).  A host name that is not known
 * at once (numeric, hosts file, cache) leaves the connection resolving:
 * messages queue on it as while connecting. */
static int conn_open(struct tcp *t, const struct ockam_addr *a,
		     struct tcp_peer *p, struct tcp_conn **out)
{
	char host[TCP_KEY_MAX], port[8], text[TCP_KEY_MAX], why[512];
	struct tcp_backoff b = {0};
	struct tcp_conn *c;
	unsigned long portn;
	int rc;

	/* Why an address is refused: what tcp_addr_check says, else the
	 * one valid form that cannot be dialled. */
	snprintf(why, sizeof(why),
		 "port 0 cannot be sent to (ports are 1 to 65535)");
	if (tcp_addr_check((const char *)a->data, a->len, why,
			   sizeof(why)) < 0 ||
	    tcp_addr_split((const char *)a->data, a->len, host, sizeof(host),
			   port, sizeof(port)) < 0 ||
	    (portn = strtoul(port, NULL, 10)) == 0) {
		t->host->log_limited(t->ctx, &t->lim_badaddr, OCKAM_LOG_WARN,
				     "cannot send to tcp address '%s': %s",
				     printable(a->data, a->len, text, sizeof(text)),
				     why);
		return -EINVAL;
	}
	c = conn_new(t, a->data, a->len, 1);
	if (!c)
		return -ENOMEM;
	t->n_outbound++;
	c->wait.fn = conn_on_resolved;
	c->wait.data = c;
	rc = tcp_resolve(t, host, &c->addrs, &c->wait, why, sizeof(why));
	if (rc == -EBUSY || rc == -ENOMEM) {
		/* The resolver is full, not the name wrong: no backoff. */
		conn_discard(c);
		t->host->log_limited(t->ctx, &t->lim_resolve, OCKAM_LOG_WARN,
				     "message to %s not sent: %s", text_of(a, text),
				     why);
		return rc;
	}
	if (p)
		tcp_peer_take(t, p, &b);
	b.attempts++;
	c->b = b;
	if (rc < 0) {
		/* A failure backs off like a refused connect, so a name
		 * that does not resolve is not looked up for every
		 * message. */
		conn_discard(c);
		tcp_peer_down(t, text_of(a, text), a->len, &b, 0, 0, -rc, why,
			      "; message not sent", 1);
		return -EHOSTUNREACH;
	}
	if (rc > 0) {
		t->host->log(t->ctx, OCKAM_LOG_DEBUG,
			     "resolving %s for a connection to %s (messages "
			     "wait until it is connected)", host, c->key);
		c->state = TCP_CONN_RESOLVING;
		*out = c;
		return 0;
	}
	rc = conn_connect_start(c, (uint16_t)portn);
	if (rc < 0)
		return rc;
	*out = c;
	return 0;
}

/* ---- reading ------------------------------------------------------ */

/* Hand one decoded message (views into the buffer it was read into) to the
 * node with our hop on its return route, so that replies come back over
 * this connection.  host->send copies it into the node's queue. */
static int conn_deliver(struct tcp_conn *c, struct ockam_message *msg)
{
	struct tcp *t = c->t;
	struct ockam_addr a, ret[OCKAM_ROUTE_MAX];
	int rc;

	ockam_addr_set(&a, OCKAM_ADDR_TCP, c->key, c->key_len);
	if (ockam_route_prepend(ret, OCKAM_ROUTE_MAX, &a, &msg->ret,
				&msg->ret) < 0) {
		t->host->log_limited(t->ctx, &t->lim_deliver, OCKAM_LOG_WARN,
				     "dropped a message from %s: its return route "
				     "already has %d hops",
				     c->key, OCKAM_ROUTE_MAX);
		return -EMSGSIZE;
	}
	/* The router or the transport has already logged why, once; say
	 * which connection it came from only when debugging.  -ENOBUFS is
	 * not a drop: the frame stays buffered and is sent again. */
	rc = t->host->send(t->ctx, msg);
	if (rc < 0 && rc != -ENOBUFS)
		t->host->log_limited(t->ctx, &t->lim_deliver, OCKAM_LOG_DEBUG,
				     "dropped a message from %s: %s", c->key,
				     strerror(-rc));
	return rc;
}

static void conn_on_resume(void *data);

/* The next hop is full (the node's local queue or another connection's
 * send queue): nothing was taken, so keep the frame at the head of the
 * input buffer and stop reading this connection; the rest waits in the
 * kernel and TCP flow control slows the peer.  On resume the same frame is
 * delivered again, so nothing is lost or reordered.
 *
 * The node's queue is drained before the end-of-turn flush runs, so
 * reading resumes from there, in the same loop turn.  Only if that finds
 * the next hop still full before a single frame got through (`stalled`:
 * another connection's send queue that is not draining) does the
 * connection wait TCP_PAUSE_MS instead. */
static void conn_pause(struct tcp_conn *c, int stalled)
{
	struct tcp *t = c->t;

	if (!stalled && flush_arm(t) == 0) {
		c->paused = 1;
		if (!c->resuming) {
			c->resuming = 1;
			c->resume_next = t->resume;
			t->resume = c;
		}
		(void)conn_set_events(c, conn_want(c, c->out.len != 0));
		t->host->log_limited(t->ctx, &t->lim_pause, OCKAM_LOG_DEBUG,
				     "pausing reads from %s until the next "
				     "hop drains: it is full",
				     c->key);
		return;
	}
	if (!c->timer)
		c->timer = t->host->timer_add(t->ctx, TCP_PAUSE_MS,
					      conn_on_resume, c);
	else
		t->host->timer_update(c->timer, TCP_PAUSE_MS);
	if (!c->timer)
		return; /* cannot resume later: keep reading */
	c->paused = 1;
	(void)conn_set_events(c, conn_want(c, c->out.len != 0));
	t->host->log_limited(t->ctx, &t->lim_pause, OCKAM_LOG_DEBUG,
			     "pausing reads from %s for %u ms: next hop is full",
			     c->key, TCP_PAUSE_MS);
}

/* Deliver every complete frame in `b` (the connection's own buffer or the
 * shared one).  `resumed`: called by the flush that resumes a pause.  -1
 * if the connection was closed, 1 if reading paused. */
static int conn_parse(struct tcp_conn *c, struct tcp_buf *b, int resumed)
{
	struct tcp *t = c->t;
	struct ockam_addr hops[OCKAM_DECODE_HOPS];
	struct ockam_message msg;
	size_t delivered = 0;
	int rc;

	while (!c->paused && b->len >= TCP_FRAME_HEADER) {
		const uint8_t *p = b->data + b->off;
		uint32_t len = be32_get(p);

		if (len > t->max_message) {
			c->close_cause = TCP_IN_OVERSIZE;
			conn_close(c, OCKAM_LOG_WARN,
				   "frame of %lu bytes exceeds "
				   "max_message_size %llu",
				   (unsigned long)len,
				   (unsigned long long)t->max_message);
			return -1;
		}
		if (b->len - TCP_FRAME_HEADER < len)
			break;
		if (t->host->message_decode(p + TCP_FRAME_HEADER, len, &msg,
					    hops, OCKAM_DECODE_HOPS) < 0) {
			c->close_cause = TCP_IN_MALFORMED;
			conn_close(c, OCKAM_LOG_WARN,
				   "malformed %lu-byte message",
				   (unsigned long)len);
			return -1;
		}
		c->got_frame = 1;
		if (t->host->log_enabled(t->ctx, OCKAM_LOG_TRACE))
			t->host->log(t->ctx, OCKAM_LOG_TRACE,
				     "frame of %lu bytes read from %s",
				     (unsigned long)len, c->key);
		rc = conn_deliver(c, &msg);
		if (rc == -ENOBUFS) {
			conn_pause(c, resumed && !delivered);
			if (c->paused)
				break;
			/* Nothing to resume with: drop it, keep reading. */
		}
		tcp_buf_consume(b, TCP_FRAME_HEADER + len);
		delivered++;
	}
	return c->paused;
}

/* Parse what was just read into the shared buffer.  What is left (a
 * partial frame, or frames held back by a pause) becomes the connection's
 * by swapping buffers, which copies nothing: the shared buffer is then the
 * connection's empty own one (or none, mapped again on the next read).
 * As conn_parse. */
static int conn_parse_shared(struct tcp_conn *c)
{
	struct tcp *t = c->t;
	struct tcp_buf *r = &t->rbuf;
	int rc;

	rc = conn_parse(c, r, 0);
	if (rc >= 0 && r->len) {
		struct tcp_buf own = c->in; /* empty: that is why r was used */

		c->in = *r;
		*r = own;
	}
	r->off = r->len = 0;
	return rc;
}

/* Bytes needed to finish the frame at the head of the input buffer; its
 * length was checked by conn_parse. */
static size_t conn_frame_need(const struct tcp_conn *c)
{
	if (c->in.len < TCP_FRAME_HEADER)
		return TCP_FRAME_HEADER;
	return TCP_FRAME_HEADER + be32_get(c->in.data + c->in.off);
}

/* Where the next read goes and how much it may take: the shared buffer if
 * the connection has nothing pending, else its own buffer, grown for the
 * frame in progress.  Either way a connection never holds more than one
 * frame's limit (a buffer swapped in from the shared one may be larger).
 * 0 or a negative errno. */
static int conn_read_room(struct tcp_conn *c, struct tcp_buf **bp,
			  size_t *room)
{
	struct tcp *t = c->t;
	size_t limit = TCP_FRAME_HEADER + t->max_message, need, want;
	int rc;

	if (!c->in.len) {
		struct tcp_buf *r = &t->rbuf;

		/* Any connection's own buffer swapped in is at least this
		 * big: no remapping as buffers change hands. */
		rc = conn_reserve(t, r,
				  limit < TCP_IN_INITIAL ? limit
							 : TCP_IN_INITIAL,
				  TCP_IN_INITIAL, TCP_IN_INITIAL);
		*bp = r;
		*room = r->cap < limit ? r->cap : limit;
		return rc;
	}
	/* Paused, the buffer may hold more than one frame. */
	need = conn_frame_need(c);
	want = need > c->in.len ? need - c->in.len : 0;

	if (want < READ_CHUNK)
		want = limit - c->in.len < READ_CHUNK ? limit - c->in.len
						      : READ_CHUNK;
	rc = conn_reserve(t, &c->in, want, TCP_IN_INITIAL, limit);
	*bp = &c->in;
	*room = c->in.cap - c->in.off - c->in.len;
	if (*room > limit - c->in.len)
		*room = limit - c->in.len;
	return rc;
}

/* Read what the budget allows and deliver every whole frame.  -1 if the
 * connection was closed (and freed), else 0. */
static int conn_read(struct tcp_conn *c)
{
	struct tcp *t = c->t;
	size_t budget = TCP_READ_BUDGET;

	for (;;) {
		struct tcp_buf *b;
		size_t room;
		ssize_t n;
		int rc = conn_read_room(c, &b, &room);

		if (rc < 0) {
			conn_close(c, OCKAM_LOG_ERROR,
				   "cannot buffer input: %s", strerror(-rc));
			return -1;
		}
		if (!room)
			return 0; /* paused with a whole frame waiting */
		n = read(c->fd, b->data + b->off + b->len, room);
		if (n > 0) {
			b->len += (size_t)n;
			c->active_ms = t->host->now_ms();
			if (b == &t->rbuf) {
				t->rbuf_ms = c->active_ms;
				rc = conn_parse_shared(c);
			} else {
				rc = conn_parse(c, b, 0);
			}
			if (rc != 0)
				return rc < 0 ? -1 : 0;
			if ((size_t)n >= budget)
				return 0; /* level-triggered: we come back */
			budget -= (size_t)n;
			continue;
		}
		if (n == 0) {
			c->close_cause = c->in.len ? TCP_IN_MID_FRAME
						   : TCP_IN_PEER_CLOSED;
			if (c->in.len)
				conn_close(c, OCKAM_LOG_WARN,
					   "peer closed mid-frame (%zu of "
					   "%zu bytes received)",
					   c->in.len, conn_frame_need(c));
			else
				conn_close(c, OCKAM_LOG_INFO, "closed by peer");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		c->close_cause = TCP_IN_ERROR;
		conn_close(c, OCKAM_LOG_WARN, "%s", strerror(errno));
		return -1;
	}
}

static void conn_on_event(void *data, int fd, uint32_t events)
{
	struct tcp_conn *c = data;
	struct tcp *t = c->t;

	if (c->state == TCP_CONN_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (!err && (events & OCKAM_EV_ERROR))
			err = ECONNRESET;
		if (!err) {
			conn_established(c);
			return;
		}
		c->last_errno = err;
		t->host->source_remove(c->src);
		c->src = NULL;
		close(c->fd);
		c->fd = -1;
		conn_connect_next(c);
		return;
	}

	/* While paused only an error or hang-up gets here; reading then
	 * sees the end and closes. */
	if ((events & (OCKAM_EV_READ | OCKAM_EV_ERROR)) && conn_read(c) < 0)
		return;
	if (events & OCKAM_EV_ERROR) {
		/* Reading normally reports it; make sure a pending error
		 * cannot keep a level-triggered loop spinning. */
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0 &&
		    err) {
			conn_close(c, OCKAM_LOG_WARN, "%s", strerror(err));
			return;
		}
	}
	if (events & OCKAM_EV_WRITE)
		conn_flush_or_close(c);
}

/* Frames already buffered first; reading resumes if they all fit. */
static void conn_resume(struct tcp_conn *c, int resumed)
{
	if (c->state != TCP_CONN_OPEN || !c->paused)
		return;
	c->paused = 0;
	if (conn_parse(c, &c->in, resumed) == 0 &&
	    conn_set_events(c, conn_want(c, c->out.len != 0)) < 0)
		conn_close(c, OCKAM_LOG_WARN, "cannot watch the socket");
}

static void conn_on_resume(void *data)
{
	conn_resume(data, 0);
}

/* From the end-of-turn flush: resume the connections paused this turn.
 * One that pauses again joins a fresh list, resumed by the next flush
 * round (the loop drains the queue in between). */
static void conns_resume(struct tcp *t)
{
	struct tcp_conn *list = t->resume;

	t->resume = NULL;
	while (list) {
		struct tcp_conn *c = list;

		list = c->resume_next;
		c->resume_next = NULL;
		c->resuming = 0;
		conn_resume(c, 1);
	}
}

/* ---- entry points ------------------------------------------------- */

/* `msg` as the far side gets it: without its own (first) hop and without
 * local metadata.  Views only. */
static void msg_popped(const struct ockam_message *msg,
		       struct ockam_message *tx)
{
	*tx = *msg;
	tx->onward = ockam_route_rest(&msg->onward);
	tx->flags = 0;
	tx->identifier = NULL;
}

/* The connection a frame of `size` body bytes for `msg` goes over: the one
 * open (or opening) for msg->onward.hop[0], or a new one if the sender
 * asked (OCKAM_MSG_CONNECT).  0 and *out, or the error send returns
 * (logged). */
static int conn_for(struct tcp *t, const struct ockam_message *msg,
		    size_t size, struct tcp_conn **out)
{
	const struct ockam_addr *a = &msg->onward.hop[0];
	struct tcp_conn *c;
	char text[TCP_KEY_MAX];
	int rc;

	if (size > t->max_message) {
		t->host->log_limited(t->ctx, &t->lim_oversize, OCKAM_LOG_WARN,
				     "message to %s is %zu bytes encoded, over "
				     "max_message_size %llu: not sent",
				     printable(a->data, a->len, text, sizeof(text)),
				     size, (unsigned long long)t->max_message);
		return -EMSGSIZE;
	}

	c = conn_find(t, a->data, a->len);
	if (!c) {
		struct tcp_peer *p;

		if (tcp_gone_has(t, a->data, a->len)) {
			t->host->log_limited(t->ctx, &t->lim_gone, OCKAM_LOG_WARN,
					     "no connection from %s (peer "
					     "disconnected): message not sent",
					     printable(a->data, a->len, text,
						       sizeof(text)));
			return -ENOTCONN;
		}
		if (!(msg->flags & OCKAM_MSG_CONNECT)) {
			/* Only a sender that was told where to connect (a
			 * configured route, a hop's `to:`) may make us dial;
			 * anything else goes over connections we have. */
			char who[TCP_KEY_MAX];
			const struct ockam_addr *r = &msg->ret.hop[0];

			t->connect_refused++;
			if (msg->ret.count && r->type == OCKAM_ADDR_LOCAL)
				printable(r->data, r->len, who, sizeof(who));
			else
				snprintf(who, sizeof(who), "a sender with no "
					 "local return address");
			t->host->log_limited(t->ctx, &t->lim_noconnect, OCKAM_LOG_WARN,
					     "not opening a connection to %s for %s: "
					     "it did not ask for one (only a "
					     "configured route, or a hop for an "
					     "address in its `to:`, may open a "
					     "connection); message not sent",
					     printable(a->data, a->len, text,
						       sizeof(text)),
					     who);
			return -ENOTCONN;
		}
		p = tcp_peer_find(t, a->data, a->len);
		if (p && t->host->now_ms() < p->retry_ms) {
			char in[16];

			p->b.refused++;
			tcp_ms_format(p->retry_ms - t->host->now_ms(), in,
				      sizeof(in));
			t->host->log_limited(t->ctx, &t->lim_down, OCKAM_LOG_DEBUG,
					     "message to %s not sent: connection "
					     "down, next attempt after %s",
					     p->key, in);
			return -EHOSTUNREACH;
		}
		if (t->n_outbound >= t->max_outbound) {
			/* A route (maybe from a remote peer) naming many
			 * addresses must not open unbounded connections. */
			t->outbound_refused++;
			t->host->log_limited(t->ctx, &t->lim_outbound, OCKAM_LOG_WARN,
					     "message to %s not sent: max_outbound "
					     "(%llu) outbound connections open",
					     printable(a->data, a->len, text,
						       sizeof(text)),
					     (unsigned long long)t->max_outbound);
			return -EMFILE;
		}
		rc = conn_open(t, a, p, &c);
		if (rc < 0)
			return rc;
	}
	*out = c;
	return 0;
}

int tcp_send(void *state, const struct ockam_message *msg)
{
	struct tcp *t = state;
	struct ockam_message tx;
	struct tcp_conn *c;
	size_t size;
	int rc;

	if (!msg->onward.count || msg->onward.hop[0].type != OCKAM_ADDR_TCP)
		return -EINVAL;
	/* The far side never sees its own address. */
	msg_popped(msg, &tx);
	size = t->host->message_encoded_size(&tx);
	rc = conn_for(t, msg, size, &c);
	if (rc < 0)
		return rc;
	rc = conn_queue(c, &tx, size);
	if (rc < 0)
		return rc;
	conn_queued(c);
	return 0;
}

/* A lent frame: the header and the encoded routes are written at once,
 * then the payload's length (a uvarint, docs/protocol.md) is left room for
 * as if it were `cap`, and the payload goes right after it.  At commit
 * the length is written; if it is shorter as a uvarint than cap's, the
 * payload moves back by a byte or two (a sealed record's size is known in
 * advance, so normally nothing moves). */
int tcp_reserve(void *state, const struct ockam_message *msg, size_t cap,
		uint8_t **payload)
{
	static const uint8_t none[1];
	struct tcp *t = state;
	struct ockam_message tx;
	struct tcp_conn *c;
	size_t routes, size;
	uint8_t *p;
	int rc;

	if (!msg->onward.count || msg->onward.hop[0].type != OCKAM_ADDR_TCP)
		return -EINVAL;
	msg_popped(msg, &tx);
	tx.payload = none;
	tx.payload_len = 0;
	/* Everything but the empty payload's one length byte. */
	routes = t->host->message_encoded_size(&tx);
	if (!routes--)
		return -EINVAL; /* not encodable: the host checks first */
	size = cap > TCP_MAX_MESSAGE_LIMIT ? SIZE_MAX
					   : routes + uvarint_len(cap) + cap;
	rc = conn_for(t, msg, size, &c);
	if (rc < 0)
		return rc;
	rc = conn_room(c, TCP_FRAME_HEADER + size);
	if (rc < 0)
		return rc;
	p = c->out.data + c->out.off + c->out.len + TCP_FRAME_HEADER;
	if (t->host->message_encode(&tx, p, routes + 1) != routes + 1) {
		t->host->log_limited(t->ctx, &t->lim_nobufs, OCKAM_LOG_ERROR,
				     "cannot encode a %zu-byte message for %s",
				     size, c->key);
		return -EIO;
	}
	t->resv_conn = c;
	t->resv_end = c->out.off + c->out.len;
	t->resv_routes = routes;
	t->resv_cap = cap;
	*payload = p + routes + uvarint_len(cap);
	return 0;
}

int tcp_commit(void *state, size_t len)
{
	struct tcp *t = state;
	struct tcp_conn *c = t->resv_conn;
	size_t lcap, llen;
	uint8_t *p;

	t->resv_conn = NULL;
	/* The host commits right after reserve, with nothing of ours run in
	 * between: the frame is where reserve left it. */
	if (!c || len > t->resv_cap || c->out.off + c->out.len != t->resv_end)
		return -EINVAL;
	p = c->out.data + t->resv_end;
	lcap = uvarint_len(t->resv_cap);
	llen = uvarint_len(len);
	if (llen < lcap)
		memmove(p + TCP_FRAME_HEADER + t->resv_routes + llen,
			p + TCP_FRAME_HEADER + t->resv_routes + lcap, len);
	uvarint_put(p + TCP_FRAME_HEADER + t->resv_routes, len);
	be32_put(p, (uint32_t)(t->resv_routes + llen + len));
	conn_frame_added(c, t->resv_routes + llen + len);
	conn_queued(c);
	return 0;
}

void tcp_abort(void *state)
{
	struct tcp *t = state;

	/* Nothing was added to the connection's queue. */
	t->resv_conn = NULL;
}

void tcp_socket_tune(struct tcp *t, int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (t->keepalive_ms) {
		/* Probe after `keepalive` idle, then every third of it; 3
		 * unanswered probes close the connection (read error). */
		int idle = (int)((t->keepalive_ms + 999) / 1000);
		int intvl = idle / 3 ? idle / 3 : 1, cnt = 3;

		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
			   sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
}

/* A quarter of idle_timeout, within [10 ms, 1 s]: closes happen at most
 * that late. */
static uint64_t idle_sweep_ms(const struct tcp *t)
{
	uint64_t ms = t->idle_timeout_ms / 4;

	return ms < 10 ? 10 : ms > 1000 ? 1000 : ms;
}

/* Close inbound connections that moved no byte for idle_timeout: a
 * periodic timer, disarmed once no inbound connection is open. */
static void conns_idle_sweep(void *data)
{
	struct tcp *t = data;
	uint64_t now = t->host->now_ms();
	struct tcp_conn *c, *next;
	char idle[16];
	int inbound = 0;

	tcp_ms_format(t->idle_timeout_ms, idle, sizeof(idle));
	for (c = t->conns; c; c = next) {
		next = c->next;
		if (c->outbound)
			continue;
		if (now - c->active_ms >= t->idle_timeout_ms) {
			c->close_cause = TCP_IN_IDLE;
			conn_close(c, OCKAM_LOG_INFO,
				   "idle for %s (idle_timeout)", idle);
		} else {
			inbound = 1;
		}
	}
	t->idle_armed = inbound;
	if (!inbound)
		t->host->timer_update(t->idle_timer, 0); /* 0 disarms */
}

struct tcp_conn *tcp_conn_accept(struct tcp *t, struct tcp_listener *l,
				 int fd, const struct sockaddr *peer,
				 socklen_t peer_len)
{
	char key[TCP_KEY_MAX];
	struct tcp_conn *c;

	tcp_addr_format(peer, peer_len, key, sizeof(key));
	if (l->n_conns >= t->max_connections) {
		close(fd);
		t->host->log_limited(t->ctx, &l->lim_full, OCKAM_LOG_WARN,
				     "refused connection from %s on %s: "
				     "max_connections (%llu) reached",
				     key, l->name,
				     (unsigned long long)t->max_connections);
		return NULL;
	}
	tcp_socket_tune(t, fd);
	c = conn_new(t, key, strlen(key), 0);
	if (!c) {
		close(fd);
		t->host->log_limited(t->ctx, &t->lim_accept, OCKAM_LOG_WARN,
				     "dropped connection from %s: out of memory",
				     key);
		return NULL;
	}
	c->fd = fd;
	c->state = TCP_CONN_OPEN;
	c->events = OCKAM_EV_READ;
	c->opened_ms = c->active_ms = t->host->now_ms();
	c->listener = l;
	l->n_conns++;
	c->src = t->host->fd_add(t->ctx, fd, OCKAM_EV_READ, conn_on_event, c);
	if (!c->src) {
		conn_close(c, OCKAM_LOG_WARN, "cannot watch the socket");
		return NULL;
	}
	/* A flood of junk connections makes one line a second, counted. */
	t->host->log_limited(t->ctx, &t->lim_accepted, OCKAM_LOG_INFO,
			     "accepted connection from %s", key);
	if (t->idle_timeout_ms && !t->idle_armed) {
		if (!t->idle_timer)
			t->idle_timer = t->host->timer_add_periodic(
				t->ctx, idle_sweep_ms(t), conns_idle_sweep, t);
		else
			t->host->timer_update(t->idle_timer, idle_sweep_ms(t));
		t->idle_armed = t->idle_timer != NULL;
	}
	return c;
}

void tcp_conn_close_all(struct tcp *t, const char *reason)
{
	while (t->conns) {
		struct tcp_conn *c = t->conns;

		/* One non-blocking attempt; what does not fit is dropped and
		 * counted in the close line. */
		if (c->state == TCP_CONN_OPEN && c->out.len)
			(void)conn_flush(c);
		c->close_cause = TCP_IN_STOPPING;
		conn_close(c, OCKAM_LOG_INFO, "%s", reason);
	}
}

void tcp_conn_log_flush(struct tcp *t)
{
	static const char *const what[TCP_IN_CAUSES] = {
		[TCP_IN_OTHER] = "connection from ... closed",
		[TCP_IN_PEER_CLOSED] = "connection from ... closed: closed by peer",
		[TCP_IN_MID_FRAME] = "connection from ... closed: peer closed mid-frame",
		[TCP_IN_OVERSIZE] = "connection from ... closed: frame exceeds max_message_size",
		[TCP_IN_MALFORMED] = "connection from ... closed: malformed message",
		[TCP_IN_ERROR] = "connection from ... closed: read error",
		[TCP_IN_IDLE] = "connection from ... closed: idle",
		[TCP_IN_STOPPING] = "connection from ... closed: node stopping",
	};
	const struct ockam_host *h = t->host;
	h->log_limited_flush(t->ctx, &t->lim_accepted, OCKAM_LOG_INFO,
			     "accepted connection from ...");
	for (unsigned i = 0; i < TCP_IN_CAUSES; i++)
		h->log_limited_flush(t->ctx, &t->lim_in_close[i],
				     OCKAM_LOG_INFO, what[i]);
}

size_t tcp_conn_pending(void *state, char *why, size_t why_len)
{
	struct tcp *t = state;
	const struct tcp_conn *c, *first = NULL;
	size_t total = 0;

	for (c = t->conns; c; c = c->next) {
		total += c->out_frames;
		if (c->out_frames && !first)
			first = c;
	}
	if (first)
		snprintf(why, why_len, "%zu frame%s %s %s", total,
			 total == 1 ? "" : "s",
			 first->state == TCP_CONN_OPEN
				 ? "not yet written to"
				 : "waiting for the connection to",
			 first->key);
	return total;
}
