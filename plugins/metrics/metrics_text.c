/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status pairs -> Prometheus families (see metrics_text.h).  The table
 * below is the whole mapping: what docs/configuration.md lists.
 */
#include "metrics_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum fam {
	F_UP,
	F_UPTIME,
	F_RSS,
	F_WORKER_IN,
	F_WORKER_OUT,
	F_TRANSPORT_RECEIVED,
	F_ROUTER_DELIVERED,
	F_ROUTER_TRANSPORT_SENT,
	F_ROUTER_DROPPED,
	F_ROUTER_REFUSED,
	F_UNDELIVERABLE,
	F_QUEUE_DEPTH,
	F_BYTES_IN,
	F_BYTES_OUT,
	F_CONNECTIONS,
	F_LISTENER_CONNECTIONS,
	F_OUTBOUND_REFUSED,
	F_CONN_QUEUED_BYTES,
	F_CONN_QUEUED_MSGS,
	F_SC_OPEN,
	F_SC_HANDSHAKING,
	F_SC_HANDSHAKES,
	F_SC_DECRYPT_FAIL,
	F_SC_REPLAY,
	F_SC_REJECTED,
	F_SC_LISTENER_REFUSED,
	F_COUNT
};

static const struct family {
	const char *name, *type, *help;
} families[F_COUNT] = {
	[F_UP] = {"ockam_up", "gauge", "1 while the node runs"},
	[F_UPTIME] = {"ockam_uptime_seconds", "gauge",
		      "Seconds since the node started"},
	[F_RSS] = {"ockam_process_resident_memory_bytes", "gauge",
		   "Resident memory of the node's process"},
	[F_WORKER_IN] = {"ockam_worker_messages_in_total", "counter",
			 "Messages delivered to the worker's handler"},
	[F_WORKER_OUT] = {"ockam_worker_messages_out_total", "counter",
			  "Messages the worker sent (taken by the node)"},
	[F_TRANSPORT_RECEIVED] = {"ockam_transport_messages_received_total",
				  "counter",
				  "Messages a transport read and passed into the node"},
	[F_ROUTER_DELIVERED] = {"ockam_router_delivered_total", "counter",
				"Messages delivered to local workers"},
	[F_ROUTER_TRANSPORT_SENT] = {"ockam_router_transport_sent_total",
				     "counter",
				     "Messages handed to transports"},
	[F_ROUTER_DROPPED] = {"ockam_router_dropped_total", "counter",
			      "Messages the router dropped, by reason"},
	[F_ROUTER_REFUSED] = {"ockam_router_refused_total", "counter",
			      "Queued messages a worker's handler refused"},
	[F_UNDELIVERABLE] = {"ockam_undeliverable_total", "counter",
			     "Messages said undeliverable (delivery-failure notices)"},
	[F_QUEUE_DEPTH] = {"ockam_queue_depth", "gauge",
			   "Messages waiting in the node's local queue"},
	[F_BYTES_IN] = {"ockam_transport_bytes_received_total", "counter",
			"Bytes read by a transport over all its connections"},
	[F_BYTES_OUT] = {"ockam_transport_bytes_sent_total", "counter",
			 "Bytes written by a transport over all its connections"},
	[F_CONNECTIONS] = {"ockam_connections", "gauge",
			   "Transport connections, by direction and state"},
	[F_LISTENER_CONNECTIONS] = {"ockam_listener_connections", "gauge",
				    "Connections accepted by a listener and open"},
	[F_OUTBOUND_REFUSED] = {"ockam_outbound_refused_total", "counter",
				"Messages refused at the outbound connection limit"},
	[F_CONN_QUEUED_BYTES] = {"ockam_connection_queued_bytes", "gauge",
				 "Bytes waiting to be written, over all connections"},
	[F_CONN_QUEUED_MSGS] = {"ockam_connection_queued_messages", "gauge",
				"Frames waiting to be written, over all connections"},
	[F_SC_OPEN] = {"ockam_secure_channels_open", "gauge",
		       "Secure channel ends open"},
	[F_SC_HANDSHAKING] = {"ockam_secure_channels_handshaking", "gauge",
			      "Secure channel ends in their handshake"},
	[F_SC_HANDSHAKES] = {"ockam_secure_channel_handshakes_total", "counter",
			     "Handshakes that opened a channel (ok) or failed (initiator attempts)"},
	[F_SC_DECRYPT_FAIL] = {"ockam_secure_channel_decrypt_failures_total",
			       "counter",
			       "Records whose authentication tag did not verify"},
	[F_SC_REPLAY] = {"ockam_secure_channel_replay_drops_total", "counter",
			 "Records dropped as replayed or older than the window"},
	[F_SC_REJECTED] = {"ockam_secure_channel_rejected_total", "counter",
			   "Records rejected, by reason"},
	[F_SC_LISTENER_REFUSED] = {"ockam_secure_channel_listener_refused_total",
				   "counter",
				   "Handshake starts a listener refused, by cause"},
};

/* Label value: \ " and newline escaped; cut at `cap`. */
static void label_put(char *out, size_t cap, const char *key, const char *v)
{
	size_t k = 0;
	int w = snprintf(out, cap, "%s=\"", key);
	if (w < 0 || (size_t)w >= cap) {
		out[0] = '\0';
		return;
	}
	k = (size_t)w;
	for (; *v && k + 3 < cap; v++) {
		if (*v == '\\' || *v == '"') {
			out[k++] = '\\';
			out[k++] = *v;
		} else if (*v == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else {
			out[k++] = *v;
		}
	}
	out[k++] = '"';
	out[k] = '\0';
}

static struct metrics_sample *find(struct metrics_collect *c, enum fam f,
				   const char *labels)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->s[i].family == f && !strcmp(c->s[i].labels, labels))
			return &c->s[i];
	if (c->n == METRICS_SAMPLES_MAX) {
		c->truncated = 1;
		return NULL;
	}
	struct metrics_sample *s = &c->s[c->n++];
	s->family = (uint16_t)f;
	snprintf(s->labels, sizeof(s->labels), "%s", labels);
	s->value = 0;
	return s;
}

/* Add `v` to family f's sample with one label (or none: key NULL), and
 * an optional second one. */
static void add2(struct metrics_collect *c, enum fam f, const char *k1,
		 const char *v1, const char *k2, const char *v2, uint64_t v)
{
	char labels[METRICS_LABEL_MAX] = "";
	if (k1)
		label_put(labels, sizeof(labels), k1, v1);
	if (k2) {
		size_t used = strlen(labels);
		if (used && used + 1 < sizeof(labels))
			labels[used++] = ',';
		label_put(labels + used, sizeof(labels) - used, k2, v2);
	}
	struct metrics_sample *s = find(c, f, labels);
	if (s)
		s->value += v;
}

static void add(struct metrics_collect *c, enum fam f, const char *k,
		const char *lv, uint64_t v)
{
	add2(c, f, k, lv, NULL, NULL, v);
}

void metrics_collect_pair(void *data, const char *kind, const char *name,
			  const char *key, const char *value, int is_number)
{
	struct metrics_collect *c = data;
	uint64_t v = is_number ? strtoull(value, NULL, 10) : 0;

	if (c->row != name) {
		c->row = name;
		c->direction[0] = '\0';
	}
	if (!strcmp(kind, "node")) {
		if (!strcmp(key, "uptime_ms"))
			add(c, F_UPTIME, NULL, NULL, v);
		else if (!strcmp(key, "rss_bytes"))
			add(c, F_RSS, NULL, NULL, v);
	} else if (!strcmp(kind, "worker")) {
		if (!strcmp(key, "msgs_in"))
			add(c, F_WORKER_IN, "worker", name, v);
		else if (!strcmp(key, "msgs_out"))
			add(c, F_WORKER_OUT, "worker", name, v);
	} else if (!strcmp(kind, "transport")) {
		/* A transport's sends are what it read off the network. */
		if (!strcmp(key, "msgs_out"))
			add(c, F_TRANSPORT_RECEIVED, "transport", name, v);
	} else if (!strcmp(kind, "router")) {
		static const char *const drops[][2] = {
			{"dropped_unknown", "unknown_address"},
			{"dropped_full", "queue_full"},
			{"denied", "denied"},
			{"relay_refused", "relay_refused"},
		};
		for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
			if (!strcmp(key, drops[i][0]))
				add(c, F_ROUTER_DROPPED, "reason", drops[i][1], v);
		if (!strcmp(key, "delivered"))
			add(c, F_ROUTER_DELIVERED, NULL, NULL, v);
		else if (!strcmp(key, "transport_sent"))
			add(c, F_ROUTER_TRANSPORT_SENT, NULL, NULL, v);
		else if (!strcmp(key, "refused"))
			add(c, F_ROUTER_REFUSED, NULL, NULL, v);
		else if (!strcmp(key, "undeliverable"))
			add(c, F_UNDELIVERABLE, NULL, NULL, v);
		else if (!strcmp(key, "queued"))
			add(c, F_QUEUE_DEPTH, "queue", "local", v);
	} else if (!strcmp(kind, "transport_io")) {
		if (!strcmp(key, "bytes_in"))
			add(c, F_BYTES_IN, "transport", name, v);
		else if (!strcmp(key, "bytes_out"))
			add(c, F_BYTES_OUT, "transport", name, v);
	} else if (!strcmp(kind, "listener")) {
		if (!strcmp(key, "connections"))
			add(c, F_LISTENER_CONNECTIONS, "listener", name, v);
	} else if (!strcmp(kind, "outbound")) {
		if (!strcmp(key, "refused"))
			add(c, F_OUTBOUND_REFUSED, "transport", name, v);
	} else if (!strcmp(kind, "connection")) {
		/* Counted by direction and state, never by peer. */
		if (!strcmp(key, "direction"))
			snprintf(c->direction, sizeof(c->direction), "%s", value);
		else if (!strcmp(key, "state"))
			add2(c, F_CONNECTIONS, "direction", c->direction,
			     "state", value, 1);
		else if (!strcmp(key, "queued_bytes"))
			add(c, F_CONN_QUEUED_BYTES, NULL, NULL, v);
		else if (!strcmp(key, "queued_messages"))
			add(c, F_CONN_QUEUED_MSGS, NULL, NULL, v);
	} else if (!strcmp(kind, "secure_channel")) {
		if (!strcmp(key, "state") && !strcmp(value, "handshake"))
			add(c, F_SC_HANDSHAKING, NULL, NULL, 1);
		else if (!strcmp(key, "state"))
			add(c, F_SC_OPEN, NULL, NULL, 1); /* open, replaced */
	} else if (!strcmp(kind, "secure_channel_totals")) {
		if (!strcmp(key, "handshakes_ok"))
			add2(c, F_SC_HANDSHAKES, "worker", name, "result", "ok", v);
		else if (!strcmp(key, "handshakes_failed"))
			add2(c, F_SC_HANDSHAKES, "worker", name, "result",
			     "failed", v);
		else if (!strncmp(key, "rejected_", 9)) {
			const char *why = key + 9;
			add2(c, F_SC_REJECTED, "worker", name, "reason", why, v);
			if (!strcmp(why, "auth"))
				add(c, F_SC_DECRYPT_FAIL, "worker", name, v);
			else if (!strcmp(why, "replay") || !strcmp(why, "old"))
				add(c, F_SC_REPLAY, "worker", name, v);
		}
	} else if (!strcmp(kind, "secure_channel_listener")) {
		if (!strncmp(key, "hs_", 3) && strcmp(key, "hs_started"))
			add2(c, F_SC_LISTENER_REFUSED, "worker", name, "cause",
			     key + 3, v);
	}
}

struct out {
	char *p;
	size_t len, cap;
	int failed;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	for (int pass = 0; pass < 2 && !o->failed; pass++) {
		va_start(ap, fmt);
		int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if (o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2;
		while (cap <= o->len + (size_t)n)
			cap *= 2;
		char *p = realloc(o->p, cap);
		if (!p) {
			o->failed = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
}

char *metrics_render(const struct metrics_collect *c, const char *node,
		     size_t *len)
{
	struct out o = { .cap = 4096 };
	char nl[METRICS_LABEL_MAX];

	o.p = malloc(o.cap);
	if (!o.p)
		return NULL;
	o.p[0] = '\0';
	label_put(nl, sizeof(nl), "node", node);
	for (unsigned f = 0; f < F_COUNT; f++) {
		const struct family *fa = &families[f];
		int any = f == F_UP;
		for (size_t i = 0; i < c->n && !any; i++)
			any = c->s[i].family == f;
		if (!any)
			continue;
		put(&o, "# HELP %s %s\n# TYPE %s %s\n", fa->name, fa->help,
		    fa->name, fa->type);
		if (f == F_UP)
			put(&o, "%s{%s} 1\n", fa->name, nl);
		for (size_t i = 0; i < c->n; i++) {
			const struct metrics_sample *s = &c->s[i];
			if (s->family != f)
				continue;
			if (f == F_UPTIME)
				put(&o, "%s{%s} %llu.%03llu\n", fa->name, nl,
				    (unsigned long long)(s->value / 1000),
				    (unsigned long long)(s->value % 1000));
			else
				put(&o, "%s{%s%s%s} %llu\n", fa->name, nl,
				    s->labels[0] ? "," : "", s->labels,
				    (unsigned long long)s->value);
		}
	}
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	*len = o.len;
	return o.p;
}
