/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics: serve the node's status as Prometheus text on
 * http://<listen>/metrics, with libmicrohttpd driven from the node's own
 * loop (no thread): MHD's epoll fd is one fd source of the loop, and
 * MHD's timeout is one timer.
 *
 * A stranger may reach the port, so: only GET and HEAD of /metrics
 * (anything else 404/405, no request body read), a cap on connections in
 * all and per client address, an idle timeout, MHD's per-connection
 * memory pool bounded, and the report rendered at most once per
 * `min_interval` (scrapes in between get the same text), so hammering it
 * costs the node a bounded amount of work and memory.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include <ockam/ockam.h>

#include "metrics_text.h"

struct metrics {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	struct sockaddr_storage addr;
	int ipv6;
	uint64_t max_connections, max_per_client, timeout_ms, min_interval_ms;
	struct MHD_Daemon *d;
	struct ockam_source *fd_src, *timer;
	/* The last rendered report, shared by every scrape within
	 * min_interval (MHD counts its references). */
	struct MHD_Response *cached;
	uint64_t cached_ms;
	struct metrics_sample *samples; /* METRICS_SAMPLES_MAX */
	uint64_t scrapes; /* 200 answers (status) */
	unsigned port;    /* bound (listen: may say 0) */
	struct ockam_log_limit lim_mhd, lim_build, lim_msg;
};

static const struct ockam_option metrics_options[] = {
	{.name = "listen", .type = OCKAM_OPTION_STRING,
	 .flags = OCKAM_OPTION_REQUIRED,
	 .help = "numeric address:port to serve /metrics on, e.g. 127.0.0.1:9464 or [::1]:9464"},
	{.name = "max_connections", .type = OCKAM_OPTION_INT, .def = "16",
	 .min = 1, .max = 1024, .help = "HTTP connections at once"},
	{.name = "max_connections_per_client", .type = OCKAM_OPTION_INT,
	 .def = "4", .min = 1, .max = 1024,
	 .help = "HTTP connections at once from one address"},
	{.name = "timeout", .type = OCKAM_OPTION_DURATION, .def = "10s",
	 .min = 1000, .max = 3600000,
	 .help = "close an HTTP connection idle this long (whole seconds)"},
	{.name = "min_interval", .type = OCKAM_OPTION_DURATION, .def = "500ms",
	 .min = 0, .max = 60000,
	 .help = "scrapes within this time of the last get the same report"},
	{0},
};

/* "127.0.0.1:9464" or "[::1]:9464", numeric only: binding where DNS says
 * is not binding only where configured.  0 or -EINVAL with `why`. */
static int listen_parse(const char *text, struct sockaddr_storage *out,
			int *ipv6, char *why, size_t why_len)
{
	char host[128];
	const char *colon = strrchr(text, ':');
	if (!colon || colon == text || !colon[1]) {
		snprintf(why, why_len, "expected address:port, like 127.0.0.1:9464");
		return -EINVAL;
	}
	size_t hl = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hl < 3 || text[hl - 1] != ']') {
			snprintf(why, why_len, "an IPv6 address goes in brackets: [::1]:9464");
			return -EINVAL;
		}
		text++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(why, why_len, "address too long");
		return -EINVAL;
	}
	memcpy(host, text, hl);
	host[hl] = '\0';
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
		.ai_socktype = SOCK_STREAM,
	}, *res = NULL;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || port > 65535) {
		snprintf(why, why_len, "port '%s' is not 0-65535", colon + 1);
		return -EINVAL;
	}
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(why, why_len, "'%.64s' is not a numeric IPv4 or IPv6 address (%s)",
			 host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*ipv6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

static int metrics_check(const struct ockam_host *h, struct ockam_ctx *ctx)
{
	const struct ockam_opt *o = h->opt_root(ctx);
	const char *listen = NULL;
	struct sockaddr_storage ss;
	int v6;
	char why[160];
	if (h->opt_get_str(ctx, o, "listen", &listen) < 0 || !listen)
		return -EINVAL;
	if (listen_parse(listen, &ss, &v6, why, sizeof(why)) < 0)
		return h->opt_error(ctx, h->opt_get(o, "listen"), "listen: %s",
				    why);
	return 0;
}

static void metrics_status(void *data, struct ockam_status *out);

static int metrics_create(const struct ockam_host *h, struct ockam_ctx *ctx,
			  void **state)
{
	const struct ockam_opt *o = h->opt_root(ctx);
	const char *listen = NULL;
	char why[160];
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->host = h;
	m->ctx = ctx;
	m->samples = calloc(METRICS_SAMPLES_MAX, sizeof(*m->samples));
	if (!m->samples ||
	    h->opt_get_str(ctx, o, "listen", &listen) < 0 || !listen ||
	    h->opt_get_u64(ctx, o, "max_connections", 1, 1024,
			   &m->max_connections) < 0 ||
	    h->opt_get_u64(ctx, o, "max_connections_per_client", 1, 1024,
			   &m->max_per_client) < 0 ||
	    h->opt_get_duration_ms(ctx, o, "timeout", &m->timeout_ms) < 0 ||
	    h->opt_get_duration_ms(ctx, o, "min_interval",
				   &m->min_interval_ms) < 0 ||
	    listen_parse(listen, &m->addr, &m->ipv6, why, sizeof(why)) < 0) {
		free(m->samples);
		free(m);
		return -EINVAL;
	}
	int rc = h->status_register(ctx, metrics_status, m);
	if (rc < 0) {
		free(m->samples);
		free(m);
		return rc;
	}
	*state = m;
	return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics *m = cls;
	char line[256];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	m->host->log_limited(m->ctx, &m->lim_mhd, OCKAM_LOG_DEBUG,
			     "http: %s", line);
}

/* The report, rendered now or reused from less than min_interval ago. */
static struct MHD_Response *report(struct metrics *m)
{
	const struct ockam_host *h = m->host;
	uint64_t now = h->now_ms();
	if (m->cached && now - m->cached_ms < m->min_interval_ms)
		return m->cached;

	struct metrics_collect c = { .s = m->samples };
	int rc = h->status_visit(m->ctx, metrics_collect_pair, &c);
	if (rc == -ENOMEM)
		return m->cached; /* an older one beats none */
	if (rc < 0 || c.truncated)
		h->log_limited(m->ctx, &m->lim_build, OCKAM_LOG_WARN,
			       "the status report was cut at its bounds; metrics are incomplete");
	size_t len = 0;
	char *text = metrics_render(&c, h->node_name(m->ctx), &len);
	if (!text)
		return m->cached;
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return m->cached;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (m->cached)
		MHD_destroy_response(m->cached); /* freed once sent */
	m->cached = r;
	m->cached_ms = now;
	return r;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn,
				   unsigned status, const char *text,
				   const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	(void)version;
	(void)upload_data;
	/* Answer at once, on the headers: a body is never read (MHD
	 * discards it, bounded by its memory limit, or closes). */
	*upload_data_size = 0;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "only GET /metrics\n", "GET, HEAD");
	if (strcmp(url, "/metrics") && strcmp(url, "/"))
		return answer_text(conn, MHD_HTTP_NOT_FOUND,
				   "not found: try /metrics\n", NULL);
	struct MHD_Response *r = report(m);
	if (!r)
		return answer_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "out of memory\n", NULL);
	m->scrapes++;
	return MHD_queue_response(conn, MHD_HTTP_OK, r);
}

/* Run MHD, then re-arm the timer to when it next needs to run. */
static unsigned connections(struct metrics *m)
{
	const union MHD_DaemonInfo *i =
		MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return i ? i->num_connections : 0;
}

static void pump(struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG t = 0;
	unsigned before = connections(m);
	MHD_run(m->d);
	/* At the connection limit MHD takes its listening socket out of its
	 * epoll set, and puts it back only at the start of a run: after a
	 * run that closed connections, run once more, or the backlog would
	 * wait for an event that never comes. */
	if (connections(m) < before)
		MHD_run(m->d);
	if (MHD_get_timeout(m->d, &t) == MHD_YES)
		m->host->timer_update(m->timer, t ? (uint64_t)t : 1);
	else
		m->host->timer_update(m->timer, 0);
}

static void on_fd(void *data, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	pump(data);
}

static void on_timer(void *data)
{
	pump(data);
}

static int metrics_start(void *state)
{
	struct metrics *m = state;
	const struct ockam_host *h = m->host;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 (m->ipv6 ? MHD_USE_IPv6 : 0);
	unsigned timeout_s = (unsigned)((m->timeout_ms + 999) / 1000);

	m->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, m,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&m->addr,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)m->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)m->max_per_client,
		MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 64u,
		MHD_OPTION_END);
	if (!m->d) {
		const char *listen = NULL;
		const struct ockam_opt *o = h->opt_root(m->ctx);
		h->opt_get_str(m->ctx, o, "listen", &listen);
		/* A port in use is the YAML's fault: exit 2, named there. */
		return h->opt_error(m->ctx, h->opt_get(o, "listen"),
				    "cannot serve metrics on %s (address in use or not local?)",
				    listen ? listen : "?");
	}
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		h->log(m->ctx, OCKAM_LOG_ERROR, "libmicrohttpd has no epoll fd");
		return -EIO;
	}
	m->fd_src = h->fd_add(m->ctx, info->epoll_fd, OCKAM_EV_READ, on_fd, m);
	m->timer = h->timer_add(m->ctx, 1000, on_timer, m);
	if (!m->fd_src || !m->timer)
		return -ENOMEM;
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : 0;
	char host[64] = "?";
	getnameinfo((struct sockaddr *)&m->addr, sizeof(m->addr), host,
		    sizeof(host), NULL, 0, NI_NUMERICHOST);
	h->log(m->ctx, OCKAM_LOG_INFO,
	       "metrics listening on http://%s%s%s:%u/metrics", m->ipv6 ? "[" : "",
	       host, m->ipv6 ? "]" : "", m->port);
	pump(m);
	return 0;
}

/* `ockam-host status`: the endpoint, its scrapes and open connections. */
static void metrics_status(void *data, struct ockam_status *out)
{
	struct metrics *m = data;
	const struct ockam_host *h = m->host;
	h->status_add(out, "metrics_endpoint", h->instance_name(m->ctx));
	h->status_set_u64(out, "port", m->port);
	h->status_set_u64(out, "scrapes", m->scrapes);
	h->status_set_u64(out, "connections", m->d ? connections(m) : 0);
}

static int metrics_handle(void *state, void *addr_data,
			  const struct ockam_message *msg)
{
	struct metrics *m = state;
	(void)addr_data;
	(void)msg;
	m->host->log_limited(m->ctx, &m->lim_msg, OCKAM_LOG_WARN,
			     "refused a message: metrics are served over HTTP only");
	return -EOPNOTSUPP;
}

static void metrics_stop(void *state)
{
	struct metrics *m = state;
	if (m->fd_src)
		m->host->source_remove(m->fd_src);
	if (m->timer)
		m->host->source_remove(m->timer);
	m->fd_src = m->timer = NULL;
	if (m->d)
		MHD_stop_daemon(m->d);
	m->d = NULL;
}

static void metrics_destroy(void *state)
{
	struct metrics *m = state;
	metrics_stop(m);
	if (m->cached)
		MHD_destroy_response(m->cached);
	free(m->samples);
	free(m);
}

static const struct ockam_plugin metrics_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "metrics",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "serves the node's counters as Prometheus text over HTTP",
	.options = metrics_options,
	.check = metrics_check,
	.create = metrics_create,
	.start = metrics_start,
	.handle_message = metrics_handle,
	.stop = metrics_stop,
	.destroy = metrics_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &metrics_plugin;
}
