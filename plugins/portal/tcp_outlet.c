/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcp_outlet: the connecting end of a TCP portal.
 *
 * An OPEN at its address makes it connect to `connect:` (one connection
 * per stream) and answer ACCEPT once connected, or CLOSE saying why not.
 * The stream is bound to the OPEN's return route and channel identity
 * (portal_peer.c): nobody else can send into it or close it.
 *
 * Who may open streams, deny by default: with `secure_only: true` (the
 * default) only an OPEN that came out of a secure channel is served; the
 * worker's `access:` (host-enforced) narrows it to identities.  A
 * plaintext OPEN gets a CLOSE and one rate-limited line, and the service
 * never sees a connection (docs/security.md, "TCP portals").
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "portal.h"

static const struct ockam_option outlet_options[] = {
	{.name = "connect", .type = OCKAM_OPTION_STRING,
	 .flags = OCKAM_OPTION_REQUIRED,
	 .help = "HOST:PORT of the service (resolved once, at start)"},
	{.name = "secure_only", .type = OCKAM_OPTION_BOOL, .def = "true",
	 .help = "serve only streams opened through a secure channel"},
	{.name = "connect_timeout", .type = OCKAM_OPTION_DURATION, .def = "5s",
	 .min = 1, .max = 3600000,
	 .help = "how long connecting to the service may take"},
	PORTAL_COMMON_OPTIONS,
	{0},
};

static void outlet_destroy(void *state);
static void outlet_connected(struct pstream *s, int err);

static int outlet_create(const struct ockam_host *host, struct ockam_ctx *ctx,
			 void **state)
{
	static const char *const keys[] = {"connect", "secure_only",
					   "connect_timeout", "window",
					   "max_chunk", "max_connections",
					   NULL};
	const struct ockam_opt *root = host->opt_root(ctx);
	if (host->opt_check_keys(ctx, root, keys) < 0)
		return -EINVAL;
	struct portal *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int rc = portal_init(p, host, ctx, PORTAL_OUTLET);
	const char *connect = NULL;
	p->timeout_ms = 5000;
	p->secure_only = 1;
	p->connected = outlet_connected;
	if (rc == 0 &&
	    (host->opt_get_str(ctx, root, "connect", &connect) < 0 ||
	     host->opt_get_bool(ctx, root, "secure_only", &p->secure_only) < 0 ||
	     host->opt_get_duration_ms(ctx, root, "connect_timeout",
				       &p->timeout_ms) < 0))
		rc = -EINVAL;
	if (rc == 0 && !connect)
		rc = host->opt_error(ctx, root, "tcp_outlet needs 'connect: HOST:PORT', the service");
	if (rc == 0 && p->timeout_ms == 0)
		rc = host->opt_error(ctx, host->opt_get(root, "connect_timeout"),
				     "connect_timeout must be more than 0");
	if (rc < 0) {
		outlet_destroy(p);
		return rc;
	}
	snprintf(p->where, sizeof(p->where), "%s", connect);
	portal_status_register(p);
	*state = p;
	return 0;
}

static void outlet_connected(struct pstream *s, int err)
{
	struct portal *p = s->p;
	if (err) {
		pstream_abort(s, PORTAL_R_CONNECT, 1, "cannot connect to %s: %s",
			      p->where, strerror(err));
		return;
	}
	int one = 1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pstream_deadline_clear(s);
	s->state = PS_OPEN;
	uint8_t w[4];
	portal_put32(w, p->window);
	int rc = portal_send_ctl(p, s, PORTAL_ACCEPT, w, sizeof(w));
	if (rc < 0) {
		pstream_abort(s, PORTAL_R_LOST, 0,
			      "cannot answer the inlet: %s", strerror(-rc));
		return;
	}
	if (p->host->log_enabled(p->ctx, OCKAM_LOG_DEBUG))
		p->host->log(p->ctx, OCKAM_LOG_DEBUG, "%s: stream %08x open",
			     s->label, s->id);
	portal_rewatch(s);
}

static int outlet_start(void *state)
{
	struct portal *p = state;
	if (portal_resolve(p, 0) < 0)
		return -EINVAL;
	p->host->log(p->ctx, OCKAM_LOG_INFO, "portal outlet to %s%s", p->where,
		     p->secure_only ? " (secure channels only)" : "");
	return 0;
}

static void on_open(struct portal *p, const struct portal_hdr *hd,
		    const struct ockam_message *msg)
{
	const struct ockam_host *h = p->host;
	char ret[256];
	int secure = (msg->flags & OCKAM_MSG_SECURE) != 0;

	if (p->secure_only && !secure) {
		p->refused++;
		if (h->log_limited_due(p->ctx, &p->lim_refuse, OCKAM_LOG_WARN))
			h->log_limited(p->ctx, &p->lim_refuse, OCKAM_LOG_WARN,
				       "refusing a portal open from %s: not through a secure channel (secure_only)",
				       portal_ret_text(p, msg, ret, sizeof(ret)));
		portal_send_close_to(p, msg, hd->from, PORTAL_R_REFUSED);
		return;
	}
	if (hd->to != 0 || hd->from == 0 || hd->body_len != 5 ||
	    hd->body[0] != PORTAL_VERSION) {
		p->protocol_errors++;
		h->log_limited(p->ctx, &p->lim_bad, OCKAM_LOG_WARN,
			       "refusing a portal open from %s: %s",
			       portal_ret_text(p, msg, ret, sizeof(ret)),
			       hd->body_len == 5 && hd->body[0] != PORTAL_VERSION
				       ? "unknown portal version"
				       : "malformed");
		portal_send_close_to(p, msg, hd->from, PORTAL_R_PROTOCOL);
		return;
	}
	int fd = socket(p->sa.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pstream *s = fd >= 0 ? pstream_new(p, fd) : NULL;
	if (!s) {
		int busy = fd >= 0;
		if (fd >= 0)
			close(fd);
		p->refused++;
		h->log_limited(p->ctx, &p->lim_full, OCKAM_LOG_WARN,
			       "refusing a portal open from %s: %s",
			       portal_ret_text(p, msg, ret, sizeof(ret)),
			       busy ? "max_connections reached" : strerror(errno));
		portal_send_close_to(p, msg, hd->from, PORTAL_R_BUSY);
		return;
	}
	s->peer = portal_peer_get(p, msg);
	s->peer_id = hd->from;
	portal_credit_init(s, portal_get32(hd->body + 1));
	s->rx_allowed = p->window;
	if (secure)
		snprintf(s->label, sizeof(s->label), "connection to %.48s for %.40s",
			 p->where, ockam_message_identifier(msg));
	else
		snprintf(s->label, sizeof(s->label), "connection to %.48s for %.40s",
			 p->where, portal_ret_text(p, msg, ret, sizeof(ret)));
	if (!s->peer) {
		pstream_abort(s, PORTAL_R_BUSY, 0, "out of memory");
		portal_send_close_to(p, msg, hd->from, PORTAL_R_BUSY);
		return;
	}
	if (connect(fd, (struct sockaddr *)&p->sa, p->sa_len) == 0) {
		outlet_connected(s, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		outlet_connected(s, errno);
		return;
	}
	s->state = PS_CONNECTING;
	pstream_deadline_set(s, p->timeout_ms);
	portal_rewatch(s);
}

static int outlet_handle(void *state, void *addr_data,
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
	if (hd.type == PORTAL_OPEN) {
		on_open(p, &hd, msg);
		return 0;
	}
	if (hd.type == PORTAL_PING) {
		/* Answered only where an OPEN would be served. */
		if (!p->secure_only || (msg->flags & OCKAM_MSG_SECURE)) {
			uint8_t buf[PORTAL_HDR];
			struct ockam_message m;
			ockam_message_init(&m);
			m.onward = msg->ret;
			m.ret = ockam_route_make(&p->self, 1);
			portal_hdr_put(buf, PORTAL_PONG, 0, 0);
			m.payload = buf;
			m.payload_len = sizeof(buf);
			p->host->send(p->ctx, &m);
		}
		return 0;
	}
	return portal_recv(p, &hd, msg);
}

static void outlet_stop(void *state)
{
	portal_stop(state);
}

static void outlet_destroy(void *state)
{
	struct portal *p = state;
	portal_fini(p);
	free(p);
}

static const struct ockam_plugin outlet_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "tcp_outlet",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "TCP portal outlet: each stream a tcp_inlet opens becomes a connection to a service",
	.options = outlet_options,
	.create = outlet_create,
	.start = outlet_start,
	.handle_message = outlet_handle,
	.handle_undeliverable = portal_undeliverable,
	.stop = outlet_stop,
	.destroy = outlet_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &outlet_plugin;
}
