/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tcp transport: descriptor, options, lifecycle and listeners.
 *
 *   transports:
 *     tcp:
 *       listen: [127.0.0.1:4000]   # string or list; port 0 = ephemeral
 *       max_message_size: 1MiB     # per frame body; at most 16 MiB
 *       send_queue_limit: 4MiB     # queued bytes per connection
 *       connect_timeout: 5s
 *       max_connections: 1024      # open inbound connections per listener
 *       max_outbound: 1024         # outbound connections, any state
 *       idle_timeout: 5m           # inbound, nothing moved; 0 = never
 *       keepalive: 30s             # TCP keepalive idle time; 0 = off
 *       nameserver: 127.0.0.1:5353 # or a list; default: /etc/resolv.conf's
 *       resolve_timeout: 5s        # per host name, all tries
 *       hosts_file: /etc/hosts     # read by c-ares on every lookup
 *       resolv_conf: /etc/resolv.conf # nameservers, search, options
 *
 * Outbound connections are opened on first use of an address by a message
 * that asks for one (OCKAM_MSG_CONNECT; any other message goes only over a
 * connection already open) and, once lost or refused, re-opened on a later
 * such send after a backoff (tcp_peer.c).
 * Host names are resolved inside the loop without blocking it
 * (tcp_resolve.c); listen addresses are resolved once, at start.
 */
#include "tcp_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACCEPT_BATCH 64
#define ACCEPT_RETRY_MS 100

/* ---- options ------------------------------------------------------ */

/* Declared: the host checks types and ranges, fills in the defaults
 * (--check prints them) and generates docs/configuration.md's table. */
static const struct ockam_option tcp_options[] = {
	{.name = "listen", .type = OCKAM_OPTION_STRINGS, .def = "[]",
	 .help = "host:port to listen on ([v6]:port), or a list; port 0: ephemeral"},
	{.name = "max_message_size", .type = OCKAM_OPTION_SIZE, .def = "1MiB",
	 .min = TCP_MAX_MESSAGE_MIN, .max = TCP_MAX_MESSAGE_LIMIT,
	 .help = "largest frame body"},
	{.name = "send_queue_limit", .type = OCKAM_OPTION_SIZE,
	 .min = TCP_MAX_MESSAGE_MIN + TCP_FRAME_HEADER,
	 .max = TCP_SEND_QUEUE_LIMIT,
	 .help = "bytes buffered per connection before sends fail with ENOBUFS (default 4MiB, at least max_message_size + 4)"},
	{.name = "connect_timeout", .type = OCKAM_OPTION_DURATION, .def = "5s",
	 .min = 1, .help = "give up connecting after this"},
	{.name = "max_connections", .type = OCKAM_OPTION_INT, .def = "1024",
	 .min = 1, .max = 1000000, .help = "open inbound connections per listener"},
	{.name = "max_outbound", .type = OCKAM_OPTION_INT, .def = "1024",
	 .min = 1, .max = 1000000, .help = "outbound connections, any state"},
	{.name = "idle_timeout", .type = OCKAM_OPTION_DURATION, .def = "5m",
	 .help = "close inbound connections idle this long; 0: never"},
	{.name = "keepalive", .type = OCKAM_OPTION_DURATION, .def = "30s",
	 .max = 32767000, /* Linux's TCP_KEEPIDLE limit */
	 .help = "TCP keepalive idle time; 0: off"},
	{.name = "nameserver", .type = OCKAM_OPTION_STRINGS, .def = "[]",
	 .help = "IP[:port], or a list of up to 3, instead of resolv.conf's"},
	{.name = "resolve_timeout", .type = OCKAM_OPTION_DURATION, .def = "5s",
	 .min = 1, .help = "per host name, all tries"},
	{.name = "hosts_file", .type = OCKAM_OPTION_PATH,
	 .help = "hosts file read on every lookup (default /etc/hosts)"},
	{.name = "resolv_conf", .type = OCKAM_OPTION_PATH,
	 .help = "nameservers, search and options (default /etc/resolv.conf)"},
	{0},
};

/* What the table cannot say: listen addresses and name servers parse,
 * and the send queue holds the largest message.  Runs before any
 * create; allocates nothing. */
static int tcp_check(const struct ockam_host *h, struct ockam_ctx *ctx)
{
	const struct ockam_opt *root = h->opt_root(ctx), *o;
	uint64_t max_message = 0, queue = 0;
	char why[160];
	int rc = 0;

	o = h->opt_get(root, "listen");
	for (size_t i = 0; i < h->opt_count(o); i++) {
		const char *s = h->opt_str(h->opt_at(o, i));
		if (tcp_addr_check(s, strlen(s), why, sizeof(why)) < 0)
			rc = h->opt_error(ctx, h->opt_at(o, i), "listen: '%s': %s",
					  s, why);
	}
	o = h->opt_get(root, "nameserver");
	if (h->opt_count(o) > TCP_NAMESERVERS_MAX)
		rc = h->opt_error(ctx, o, "nameserver: at most %d",
				  TCP_NAMESERVERS_MAX);
	for (size_t i = 0; i < h->opt_count(o); i++) {
		union tcp_sockaddr sa;
		const char *s = h->opt_str(h->opt_at(o, i));
		if (tcp_nameserver_parse(s, &sa) < 0)
			rc = h->opt_error(ctx, h->opt_at(o, i),
					  "nameserver: expected an IP address with an optional port, like 127.0.0.1:5353 or [::1]:53, not '%s'",
					  s);
	}
	if (h->opt_get(root, "send_queue_limit") &&
	    h->opt_get_size(ctx, root, "max_message_size", UINT64_MAX,
			    &max_message) == 0 &&
	    h->opt_get_size(ctx, root, "send_queue_limit", UINT64_MAX,
			    &queue) == 0 &&
	    queue < max_message + TCP_FRAME_HEADER)
		/* A message that passes the size check must fit. */
		rc = h->opt_error(ctx, h->opt_get(root, "send_queue_limit"),
				  "send_queue_limit: %llu bytes is less than max_message_size + 4 (%llu)",
				  (unsigned long long)queue,
				  (unsigned long long)(max_message +
						       TCP_FRAME_HEADER));
	return rc;
}

static int listen_add(struct tcp *t, const char *s,
		      const struct ockam_opt *at)
{
	char **grown = realloc(t->listen, (t->n_listen + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	t->listen = grown;
	const struct ockam_opt **ats =
		realloc(t->listen_at, (t->n_listen + 1) * sizeof(*ats));
	if (!ats)
		return -ENOMEM;
	t->listen_at = ats;
	t->listen_at[t->n_listen] = at;
	t->listen[t->n_listen] = strdup(s);
	if (!t->listen[t->n_listen])
		return -ENOMEM;
	t->n_listen++;
	return 0;
}

/* A file name option, relative to the config file's directory, into
 * *out (left NULL if absent). */
static int path_option(struct tcp *t, const struct ockam_opt *root,
		       const char *key, char **out)
{
	const struct ockam_host *h = t->host;
	const char *val = NULL;
	char path[4096];

	if (h->opt_get_str(t->ctx, root, key, &val) < 0)
		return -EINVAL;
	if (!val)
		return 0;
	if (h->path_resolve(t->ctx, val, path, sizeof(path)) < 0)
		return h->opt_error(t->ctx, h->opt_get(root, key),
				    "%s: path too long", key);
	*out = strdup(path);
	return *out ? 0 : -ENOMEM;
}

/* Read the declared options (checked, defaults filled in by the host). */
static int options_read(struct tcp *t)
{
	const struct ockam_host *h = t->host;
	const struct ockam_opt *root = h->opt_root(t->ctx), *o;
	uint64_t queue = 0;
	int rc = 0;

	o = h->opt_get(root, "listen");
	for (size_t i = 0; i < h->opt_count(o) && rc == 0; i++)
		rc = listen_add(t, h->opt_str(h->opt_at(o, i)), h->opt_at(o, i));
	o = h->opt_get(root, "nameserver");
	for (size_t i = 0; i < h->opt_count(o) && rc == 0; i++)
		if (tcp_nameserver_parse(h->opt_str(h->opt_at(o, i)),
					 &t->nameservers[t->n_nameservers++]) < 0)
			rc = -EINVAL; /* tcp_check said why */
	if (rc == 0 &&
	    (h->opt_get_size(t->ctx, root, "max_message_size", UINT64_MAX,
			     &t->max_message) < 0 ||
	     h->opt_get_size(t->ctx, root, "send_queue_limit", UINT64_MAX,
			     &queue) < 0 ||
	     h->opt_get_duration_ms(t->ctx, root, "connect_timeout",
				    &t->connect_timeout_ms) < 0 ||
	     h->opt_get_u64(t->ctx, root, "max_connections", 0, UINT64_MAX,
			    &t->max_connections) < 0 ||
	     h->opt_get_u64(t->ctx, root, "max_outbound", 0, UINT64_MAX,
			    &t->max_outbound) < 0 ||
	     h->opt_get_duration_ms(t->ctx, root, "idle_timeout",
				    &t->idle_timeout_ms) < 0 ||
	     h->opt_get_duration_ms(t->ctx, root, "keepalive",
				    &t->keepalive_ms) < 0 ||
	     h->opt_get_duration_ms(t->ctx, root, "resolve_timeout",
				    &t->resolve_timeout_ms) < 0 ||
	     path_option(t, root, "hosts_file", &t->hosts_file) < 0 ||
	     path_option(t, root, "resolv_conf", &t->resolv_conf) < 0))
		rc = -EINVAL;
	if (rc < 0)
		return rc;
	/* The default grows with max_message_size: it must hold one. */
	if (!queue) {
		queue = TCP_SEND_QUEUE_DEFAULT;
		if (queue < t->max_message + TCP_FRAME_HEADER)
			queue = t->max_message + TCP_FRAME_HEADER;
	}
	t->queue_limit = queue;
	return 0;
}

/* ---- listeners ---------------------------------------------------- */

static void listener_pause_end(void *data)
{
	struct tcp_listener *l = data;

	l->t->host->fd_update(l->src, OCKAM_EV_READ);
}

static void listener_on_event(void *data, int fd, uint32_t events)
{
	struct tcp_listener *l = data;
	struct tcp *t = l->t;
	int i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int c = accept4(fd, (struct sockaddr *)&ss, &sl,
				SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c >= 0) {
			tcp_conn_accept(t, l, c, (struct sockaddr *)&ss, sl);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED ||
		    errno == EPROTO || errno == EPERM)
			continue;
		/* Out of fds or memory: the loop is level-triggered, so stop
		 * watching for a moment instead of spinning. */
		t->host->log_limited(t->ctx, &t->lim_accept, OCKAM_LOG_WARN,
				     "accept on %s failed: %s; pausing %d ms",
				     l->name, strerror(errno), ACCEPT_RETRY_MS);
		if (!l->retry)
			l->retry = t->host->timer_add(t->ctx, ACCEPT_RETRY_MS,
						      listener_pause_end, l);
		else
			t->host->timer_update(l->retry, ACCEPT_RETRY_MS);
		if (l->retry)
			t->host->fd_update(l->src, 0);
		return;
	}
}

/* A listener that cannot be opened is a configuration problem (address
 * in use, not an address of this machine): reported at its `listen:`
 * entry, so the user sees where, and the node exits 2. */
static int listener_open(struct tcp *t, const char *text,
			 const struct ockam_opt *at, struct tcp_listener *l)
{
	struct addrinfo hints = {0}, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[TCP_KEY_MAX], port[8];
	int fd = -1, one = 1, rc;

	l->fd = -1;
	l->t = t;
	tcp_addr_split(text, strlen(text), host, sizeof(host), port,
		       sizeof(port));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		t->host->opt_error(t->ctx, at, "cannot listen on %s: %s", text,
				   rc == EAI_SYSTEM ? strerror(errno)
						    : gai_strerror(rc));
		return -EADDRNOTAVAIL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		rc = -errno;
		t->host->opt_error(t->ctx, at, "cannot listen on %s: %s", text,
				   strerror(-rc));
		goto fail;
	}
	l->src = t->host->fd_add(t->ctx, fd, OCKAM_EV_READ, listener_on_event,
				 l);
	if (!l->src) {
		rc = -ENOMEM;
		t->host->log(t->ctx, OCKAM_LOG_ERROR,
			     "cannot listen on %s: cannot watch the socket",
			     text);
		goto fail;
	}
	freeaddrinfo(ai);
	l->fd = fd;
	tcp_addr_format((struct sockaddr *)&ss, sl, l->name, sizeof(l->name));
	t->host->log(t->ctx, OCKAM_LOG_INFO, "listening on %s", l->name);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

static void listeners_close(struct tcp *t)
{
	size_t i;

	for (i = 0; i < t->n_listeners; i++) {
		struct tcp_listener *l = &t->listeners[i];

		if (l->retry)
			t->host->source_remove(l->retry);
		if (l->src)
			t->host->source_remove(l->src);
		if (l->fd >= 0)
			close(l->fd); /* after source_remove: it needs the fd */
	}
	free(t->listeners);
	t->listeners = NULL;
	t->n_listeners = 0;
}

/* ---- lifecycle ---------------------------------------------------- */

static void tcp_destroy(void *state);

/* Frames are written from the connection's buffer: reserve lends it. */
static const struct ockam_transport_ops tcp_ops = {
	.send = tcp_send,
	.reserve = tcp_reserve,
	.commit = tcp_commit,
	.abort = tcp_abort,
};

static int tcp_create(const struct ockam_host *host, struct ockam_ctx *ctx,
		      void **state)
{
	struct tcp *t;
	int rc;

	if (host->abi_version != OCKAM_HOST_ABI_VERSION ||
	    host->struct_size < sizeof(struct ockam_host)) {
		/* log is in every version of the table. */
		host->log(ctx, OCKAM_LOG_ERROR,
			  "host services v%u (%u bytes) do not match this "
			  "plugin's v%u (%zu bytes): rebuild the plugin",
			  host->abi_version, host->struct_size,
			  OCKAM_HOST_ABI_VERSION, sizeof(struct ockam_host));
		return -ENOTSUP;
	}
	/* randombytes_uniform() for DNS query ids and ports. */
	if (sodium_init() < 0) {
		host->log(ctx, OCKAM_LOG_ERROR, "cannot initialise libsodium");
		return -EIO;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->host = host;
	t->ctx = ctx;
	rc = options_read(t);
	if (rc < 0) {
		tcp_destroy(t);
		return rc;
	}
	/* Registered in create, so routes naming tcp: parse even when
	 * nothing starts (ockam-host --check). */
	rc = host->transport_register(ctx, OCKAM_ADDR_TCP, "tcp", &tcp_ops, t);
	if (rc == 0)
		rc = tcp_status_register(t);
	if (rc < 0) {
		host->opt_error(ctx, NULL,
				"cannot register the tcp transport: %s",
				strerror(-rc));
		tcp_destroy(t);
		return rc;
	}
	*state = t;
	return 0;
}

static int tcp_start(void *state)
{
	struct tcp *t = state;
	size_t i;
	int rc;

	if (tcp_resolve_start(t) < 0)
		return -ENOMEM;
	if (t->n_listen) {
		t->listeners = calloc(t->n_listen, sizeof(*t->listeners));
		if (!t->listeners)
			return -ENOMEM;
	}
	for (i = 0; i < t->n_listen; i++) {
		rc = listener_open(t, t->listen[i], t->listen_at[i],
				   &t->listeners[i]);
		t->n_listeners = i + 1;
		if (rc < 0) {
			listeners_close(t);
			return rc;
		}
	}
	return 0;
}

static void tcp_stop(void *state)
{
	struct tcp *t = state;

	/* Closing for good: no backoff records, no inbound memory, and the
	 * listeners are freed before their connections. */
	t->stopping = 1;
	listeners_close(t);
	tcp_conn_close_all(t, "node stopping");
	tcp_conn_log_flush(t);
	tcp_resolve_stop(t);
	if (t->idle_timer)
		t->host->source_remove(t->idle_timer);
	t->idle_timer = NULL;
	t->idle_armed = 0;
	tcp_flush_stop(t);
	tcp_bufs_stop(t);
}

static void tcp_destroy(void *state)
{
	struct tcp *t = state;
	size_t i;

	if (!t)
		return;
	/* Normally empty after stop; covers a host that skips stop. */
	tcp_stop(t);
	tcp_peers_free(t);
	tcp_resolve_free(t);
	free(t->hosts_file);
	free(t->resolv_conf);
	for (i = 0; i < t->n_listen; i++)
		free(t->listen[i]);
	free(t->listen);
	free(t->listen_at);
	free(t);
}

static const struct ockam_plugin tcp_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "tcp",
	.kind = OCKAM_PLUGIN_TRANSPORT,
	.description = "TCP transport: length-prefixed frames, connect on "
		       "demand",
	.options = tcp_options,
	.check = tcp_check,
	.create = tcp_create,
	.start = tcp_start,
	.stop = tcp_stop,
	.destroy = tcp_destroy,
	.pending = tcp_conn_pending,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &tcp_plugin;
}
