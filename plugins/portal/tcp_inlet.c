/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcp_inlet: the listening end of a TCP portal.
 *
 * It accepts connections on `listen:` and opens one stream per connection
 * with an OPEN along `route:` (the operator's route to a tcp_outlet,
 * usually through a secure channel: [alice, outlet]).  It reads nothing
 * from the client until the outlet's ACCEPT says the service is
 * connected and how much it may send; then bytes flow both ways
 * (portal_send.c, portal_io.c, portal_recv.c).
 *
 * The ACCEPT must come back the way the OPEN went (its return route is
 * `route:` hop for hop, ockam_route_is_way_back), and binds the stream
 * to that route and to the channel identity it came with.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "portal.h"

#define ACCEPT_BURST 64
#define ACCEPT_RETRY_MS 100

static const struct ockam_option inlet_options[] = {
	{.name = "listen", .type = OCKAM_OPTION_STRING,
	 .flags = OCKAM_OPTION_REQUIRED,
	 .help = "HOST:PORT to accept connections on (port 0 picks one and logs it)"},
	{.name = "route", .type = OCKAM_OPTION_ROUTE,
	 .flags = OCKAM_OPTION_REQUIRED,
	 .help = "route to the tcp_outlet, e.g. [alice, outlet] through a secure channel"},
	{.name = "open_timeout", .type = OCKAM_OPTION_DURATION, .def = "10s",
	 .min = 1, .max = 3600000,
	 .help = "how long a new connection waits for the outlet's answer"},
	{.name = "keepalive", .type = OCKAM_OPTION_DURATION, .def = "5s",
	 .max = 3600000,
	 .help = "while connections are open and the outlet is silent this long, ask it; 3 unanswered close them; 0: never"},
	PORTAL_COMMON_OPTIONS,
	{0},
};

static void sockaddr_text(const struct sockaddr_storage *sa, char *out,
			  size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
		snprintf(out, len, "%s:%u", ip, port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
		snprintf(out, len, "[%s]:%u", ip, port);
	} else {
		snprintf(out, len, "?");
	}
}

static void inlet_destroy(void *state);

static int inlet_create(const struct ockam_host *host, struct ockam_ctx *ctx,
			void **state)
{
	static const char *const keys[] = {"listen", "route", "open_timeout",
					   "keepalive",
					   "window", "max_chunk",
					   "max_connections", NULL};
	const struct ockam_opt *root = host->opt_root(ctx);
	if (host->opt_check_keys(ctx, root, keys) < 0)
		return -EINVAL;
	struct portal *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int rc = portal_init(p, host, ctx, PORTAL_INLET);
	const char *listen = NULL;
	p->timeout_ms = 10000;
	p->keepalive_ms = 5000;
	if (rc == 0 && (host->opt_get_duration_ms(ctx, root, "keepalive",
						  &p->keepalive_ms) < 0 ||
			host->opt_get_str(ctx, root, "listen", &listen) < 0 ||
			host->opt_get_route(ctx, root, "route", &p->route) < 0 ||
			host->opt_get_duration_ms(ctx, root, "open_timeout",
						  &p->timeout_ms) < 0))
		rc = -EINVAL;
	if (rc == 0 && !listen)
		rc = host->opt_error(ctx, root, "tcp_inlet needs 'listen: HOST:PORT'");
	if (rc == 0 && p->route.count == 0)
		rc = host->opt_error(ctx, root, "tcp_inlet needs 'route:', the route to a tcp_outlet");
	if (rc == 0 && p->timeout_ms == 0)
		rc = host->opt_error(ctx, host->opt_get(root, "open_timeout"),
				     "open_timeout must be more than 0");
	if (rc < 0) {
		inlet_destroy(p);
		return rc;
	}
	snprintf(p->where, sizeof(p->where), "%s", listen);
	portal_status_register(p);
	*state = p;
	return 0;
}

static void accept_one(struct portal *p, int fd,
		       const struct sockaddr_storage *sa)
{
	const struct ockam_host *h = p->host;
	char peer[80];
	sockaddr_text(sa, peer, sizeof(peer));
	struct pstream *s = pstream_new(p, fd);
	if (!s) {
		p->refused++;
		h->log_limited(p->ctx, &p->lim_full, OCKAM_LOG_WARN,
			       "refused connection from %s: max_connections (%u) reached",
			       peer, p->max_connections);
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	snprintf(s->label, sizeof(s->label), "connection from %s", peer);
	s->state = PS_OPENING;
	s->rx_allowed = p->window;
	uint8_t body[5];
	body[0] = PORTAL_VERSION;
	portal_put32(body + 1, p->window);
	int rc = portal_send_ctl(p, s, PORTAL_OPEN, body, sizeof(body));
	if (rc < 0) {
		char r[256];
		h->route_format(p->ctx, &p->route, r, sizeof(r));
		pstream_abort(s, PORTAL_R_LOST, 0, "cannot open a stream along %s: %s",
			      r, strerror(-rc));
		return;
	}
	if (h->log_enabled(p->ctx, OCKAM_LOG_DEBUG))
		h->log(p->ctx, OCKAM_LOG_DEBUG, "%s: stream %08x opening",
		       s->label, s->id);
	pstream_deadline_set(s, p->timeout_ms);
	/* Nothing is read before the outlet's ACCEPT; errors still come. */
	pstream_watch(s, 0);
}

static void on_accept_retry(void *data)
{
	struct portal *p = data;
	if (p->lsrc)
		p->host->fd_update(p->lsrc, OCKAM_EV_READ);
}

static void on_accept(void *data, int fd, uint32_t events)
{
	struct portal *p = data;
	(void)events;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int c = accept4(fd, (struct sockaddr *)&sa, &len,
				SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Pause instead of spinning on a level-
				 * triggered listener we cannot serve. */
				p->host->log_limited(p->ctx, &p->lim_accept,
						     OCKAM_LOG_WARN,
						     "cannot accept on %s: %s; pausing %d ms",
						     p->where, strerror(errno),
						     ACCEPT_RETRY_MS);
				p->host->fd_update(p->lsrc, 0);
				if (!p->accept_timer)
					p->accept_timer = p->host->timer_add(
						p->ctx, ACCEPT_RETRY_MS,
						on_accept_retry, p);
				else
					p->host->timer_update(p->accept_timer,
							      ACCEPT_RETRY_MS);
			}
			return;
		}
		accept_one(p, c, &sa);
	}
}

/* Keepalive: while streams are open, anything from the outlet (along our
 * route) shows it is there; after `keepalive` of silence a PING asks, and
 * after three of them every open stream is closed: the outlet node or the
 * route is gone, and a client waiting for data would otherwise wait for
 * ever (an idle stream sends nothing that could fail). */
static void on_keepalive(void *data)
{
	struct portal *p = data;
	const struct ockam_host *h = p->host;
	uint64_t now = h->now_ms();
	if (p->n_open == 0) {
		p->heard_ms = now;
		return;
	}
	if (now - p->heard_ms >= 3 * p->keepalive_ms) {
		h->log(p->ctx, OCKAM_LOG_WARN,
		       "no answer from the outlet for %llu ms (keepalive %llu ms): closing %u connection(s)",
		       (unsigned long long)(now - p->heard_ms),
		       (unsigned long long)p->keepalive_ms, p->n_open);
		for (uint32_t i = 0; i < p->max_connections; i++)
			if (p->slots[i] && p->slots[i]->state == PS_OPEN)
				pstream_abort(p->slots[i], PORTAL_R_TIMEOUT, 1,
					      "the outlet stopped answering");
		p->heard_ms = now;
		return;
	}
	if (now - p->heard_ms >= p->keepalive_ms) {
		uint8_t buf[PORTAL_HDR];
		struct ockam_message m;
		ockam_message_init(&m);
		m.onward = p->route;
		m.ret = ockam_route_make(&p->self, 1);
		m.flags = OCKAM_MSG_CONNECT;
		portal_hdr_put(buf, PORTAL_PING, 0, 0);
		m.payload = buf;
		m.payload_len = sizeof(buf);
		h->send(p->ctx, &m); /* a failure shows as silence */
	}
}

static int inlet_start(void *state)
{
	struct portal *p = state;
	const struct ockam_host *h = p->host;
	if (portal_resolve(p, 1) < 0)
		return -EINVAL;
	int fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&p->sa, p->sa_len) < 0 ||
	    listen(fd, 1024) < 0)
		goto fail;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	getsockname(fd, (struct sockaddr *)&bound, &blen);
	char where[80], r[256];
	sockaddr_text(&bound, where, sizeof(where));
	snprintf(p->where, sizeof(p->where), "%s", where);
	p->lfd = fd;
	p->lsrc = h->fd_add(p->ctx, fd, OCKAM_EV_READ, on_accept, p);
	if (!p->lsrc)
		return -ENOMEM;
	if (p->keepalive_ms) {
		p->heard_ms = h->now_ms();
		p->ka_timer = h->timer_add_periodic(p->ctx, p->keepalive_ms,
						    on_keepalive, p);
	}
	h->route_format(p->ctx, &p->route, r, sizeof(r));
	h->log(p->ctx, OCKAM_LOG_INFO, "portal inlet on %s, to %s", where, r);
	return 0;
fail:;
	int err = errno;
	h->log(p->ctx, OCKAM_LOG_ERROR, "cannot listen on %s: %s", p->where,
	       strerror(err));
	if (fd >= 0)
		close(fd);
	return -err;
}

/* The outlet's answer to our OPEN: it must come back along `route:`. */
static int on_accept_msg(struct portal *p, const struct portal_hdr *hd,
			 const struct ockam_message *msg)
{
	struct pstream *s = pstream_find(p, hd->to);
	int way_back = ockam_route_is_way_back(&msg->ret, &p->route);
	if (!s) {
		/* Our client went away before the answer: tell the outlet. */
		if (way_back)
			portal_send_close_to(p, msg, hd->from, PORTAL_R_UNKNOWN);
		return 0;
	}
	if (s->state != PS_OPENING || !way_back)
		return portal_recv(p, hd, msg); /* stranger or out of order */
	if (hd->body_len != 4 || hd->from == 0) {
		pstream_abort(s, PORTAL_R_PROTOCOL, 0,
			      "bad portal ACCEPT from the outlet: %zu-byte body",
			      hd->body_len);
		return 0;
	}
	s->peer = portal_peer_get(p, msg);
	if (!s->peer) {
		pstream_abort(s, PORTAL_R_LOST, 0, "out of memory");
		return 0;
	}
	s->peer_id = hd->from;
	portal_credit_init(s, portal_get32(hd->body));
	s->state = PS_OPEN;
	pstream_deadline_clear(s);
	if (p->host->log_enabled(p->ctx, OCKAM_LOG_DEBUG))
		p->host->log(p->ctx, OCKAM_LOG_DEBUG,
			     "%s: stream %08x open (outlet stream %08x%s%s)",
			     s->label, s->id, s->peer_id,
			     s->peer->secure ? ", secure channel with " : ", plaintext",
			     s->peer->secure ? s->peer->identifier : "");
	portal_rewatch(s);
	return 0;
}

static int inlet_handle(void *state, void *addr_data,
			const struct ockam_message *msg)
{
	struct portal *p = state;
	struct portal_hdr hd;
	char ret[256];
	(void)addr_data;
	if (portal_hdr_parse(msg->payload, msg->payload_len, &hd) < 0) {
		p->host->log_limited(p->ctx, &p->lim_bad, OCKAM_LOG_WARN,
				     "dropped a %zu-byte message from %s: not a portal message",
				     msg->payload_len,
				     portal_ret_text(p, msg, ret, sizeof(ret)));
		return 0;
	}
	/* Anything that came back along our route says the outlet is
	 * there (a stranger cannot forge that return route). */
	if (ockam_route_is_way_back(&msg->ret, &p->route))
		p->heard_ms = p->host->now_ms();
	if (hd.type == PORTAL_PONG)
		return 0;
	if (hd.type == PORTAL_ACCEPT)
		return on_accept_msg(p, &hd, msg);
	struct pstream *s = pstream_find(p, hd.to);
	if (s && s->state == PS_OPENING && hd.type == PORTAL_CLOSE &&
	    ockam_route_is_way_back(&msg->ret, &p->route)) {
		unsigned reason = hd.body_len ? hd.body[0] : 0;
		pstream_abort(s, reason && reason < PORTAL_R_MAX ? reason : PORTAL_R_PROTOCOL, 0,
			      "the outlet refused it: %s", portal_reason_text(reason));
		return 0;
	}
	if (hd.type == PORTAL_OPEN) {
		p->host->log_limited(p->ctx, &p->lim_bad, OCKAM_LOG_WARN,
				     "dropped a portal OPEN from %s: this is an inlet (send it to a tcp_outlet)",
				     portal_ret_text(p, msg, ret, sizeof(ret)));
		return 0;
	}
	return portal_recv(p, &hd, msg);
}

static void inlet_stop(void *state)
{
	portal_stop(state);
}

static void inlet_destroy(void *state)
{
	struct portal *p = state;
	portal_fini(p);
	free(p);
}

static const struct ockam_plugin inlet_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "tcp_inlet",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "TCP portal inlet: each connection accepted becomes a byte stream to a tcp_outlet along a route",
	.options = inlet_options,
	.create = inlet_create,
	.start = inlet_start,
	.handle_message = inlet_handle,
	.handle_undeliverable = portal_undeliverable,
	.stop = inlet_stop,
	.destroy = inlet_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &inlet_plugin;
}
