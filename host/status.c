/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status service and report writer; see status.h.  Reports are built
 * on request only (rare, small), so plain allocation is fine here.
 */
#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notice.h"
#include "loop.h"
#include "node.h"
#include "opt.h"
#include "router.h"

/* Bounds on what one report may hold, so a buggy contributor cannot make
 * the node allocate without limit. */
#define ROWS_MAX 4096
#define PAIRS_MAX 32
#define TEXT_MAX 256

struct status_pair {
	char *key, *value;
	int is_number;
};

struct status_row {
	char *kind, *name;
	struct status_pair pairs[PAIRS_MAX];
	size_t n;
};

struct ockam_status {
	struct status_row *rows;
	size_t n, cap;
	int truncated;
};

struct contributor {
	void *owner;
	ockam_status_fn fn;
	void *data;
};

struct status {
	struct node *node;
	int enabled, registered;
	uint64_t started_ms;
	struct contributor *contrib;
	size_t n_contrib;
	struct ockam_log_limit lim;
	/* `remote_reload: true`: "reload" requests, out of a secure channel,
	 * one at a time, at most one a second; run from a timer, not from
	 * inside the delivery that brought the request. */
	int remote_reload;
	struct ockam_route *reload_ret; /* who asked; NULL: none pending */
	struct ockam_source *reload_timer;
	uint64_t reload_ms;
	struct ockam_log_limit lim_reload;
};

/* ---- writer ------------------------------------------------------ */

static char *text_dup(const char *s)
{
	return strndup(s ? s : "", TEXT_MAX);
}

void status_add(struct ockam_status *out, const char *kind, const char *name)
{
	if (!out || out->truncated)
		return;
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;
		struct status_row *r = out->n >= ROWS_MAX ? NULL :
			realloc(out->rows, cap * sizeof(*r));
		if (!r) {
			out->truncated = 1;
			return;
		}
		out->rows = r;
		out->cap = cap;
	}
	struct status_row *row = &out->rows[out->n];
	memset(row, 0, sizeof(*row));
	row->kind = text_dup(kind);
	row->name = text_dup(name);
	if (!row->kind || !row->name) {
		free(row->kind);
		free(row->name);
		out->truncated = 1;
		return;
	}
	out->n++;
}

static void status_set(struct ockam_status *out, const char *key,
		       const char *value, int is_number)
{
	if (!out || out->truncated || !out->n || !key)
		return;
	struct status_row *row = &out->rows[out->n - 1];
	if (row->n == PAIRS_MAX)
		return;
	struct status_pair *p = &row->pairs[row->n];
	p->key = text_dup(key);
	p->value = text_dup(value);
	p->is_number = is_number;
	if (!p->key || !p->value) {
		free(p->key);
		free(p->value);
		out->truncated = 1;
		return;
	}
	row->n++;
}

void status_set_str(struct ockam_status *out, const char *key,
		    const char *value)
{
	status_set(out, key, value, 0);
}

void status_set_u64(struct ockam_status *out, const char *key, uint64_t value)
{
	char num[24];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	status_set(out, key, num, 1);
}

static void rows_free(struct ockam_status *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct status_row *r = &st->rows[i];
		for (size_t j = 0; j < r->n; j++) {
			free(r->pairs[j].key);
			free(r->pairs[j].value);
		}
		free(r->kind);
		free(r->name);
	}
	free(st->rows);
}

/* ---- rendering --------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->failed)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(b->p ? b->p + b->len : NULL,
			  b->p ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if (b->p && b->len + (size_t)n < b->cap) {
		b->len += (size_t)n;
		return;
	}
	size_t cap = b->cap ? b->cap : 1024;
	while (cap <= b->len + (size_t)n)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void sb_json_string(struct sbuf *b, const char *s)
{
	sb_printf(b, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			sb_printf(b, "\\%c", *c);
		else if (*c < 0x20)
			sb_printf(b, "\\u%04x", *c);
		else
			sb_printf(b, "%c", *c);
	}
	sb_printf(b, "\"");
}

static void render_json(const struct ockam_status *st, struct sbuf *b)
{
	sb_printf(b, "{\"rows\":[");
	for (size_t i = 0; i < st->n; i++) {
		const struct status_row *r = &st->rows[i];
		sb_printf(b, "%s\n{\"kind\":", i ? "," : "");
		sb_json_string(b, r->kind);
		sb_printf(b, ",\"name\":");
		sb_json_string(b, r->name);
		for (size_t j = 0; j < r->n; j++) {
			sb_printf(b, ",");
			sb_json_string(b, r->pairs[j].key);
			sb_printf(b, ":");
			if (r->pairs[j].is_number)
				sb_printf(b, "%s", r->pairs[j].value);
			else
				sb_json_string(b, r->pairs[j].value);
		}
		sb_printf(b, "}");
	}
	sb_printf(b, "],\n\"truncated\":%s}\n", st->truncated ? "true" : "false");
}

/* A table: KIND and NAME columns, then key=value pairs. */
static void render_text(const struct ockam_status *st, struct sbuf *b)
{
	int kw = 4, nw = 4;
	for (size_t i = 0; i < st->n; i++) {
		int k = (int)strlen(st->rows[i].kind);
		int n = (int)strlen(st->rows[i].name);
		kw = k > kw ? k : kw;
		nw = n > nw ? (n > 48 ? 48 : n) : nw;
	}
	sb_printf(b, "%-*s  %-*s  %s\n", kw, "KIND", nw, "NAME", "DETAILS");
	for (size_t i = 0; i < st->n; i++) {
		const struct status_row *r = &st->rows[i];
		sb_printf(b, "%-*s  %-*s ", kw, r->kind, nw, r->name);
		for (size_t j = 0; j < r->n; j++) {
			const char *v = r->pairs[j].value;
			int quote = !r->pairs[j].is_number &&
				    (!*v || strpbrk(v, " \t\"="));
			sb_printf(b, quote ? " %s=\"%s\"" : " %s=%s",
				  r->pairs[j].key, v);
		}
		sb_printf(b, "\n");
	}
	if (st->truncated)
		sb_printf(b, "(truncated)\n");
}

/* ---- the host's own rows ------------------------------------------ */

/* Resident memory from /proc/self/statm (pages); 0 if unreadable. */
static uint64_t rss_bytes(void)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

/* An instance's message counters on its row. */
static void rows_instance(struct node *n, const struct config_instance *ci,
			  struct ockam_status *out)
{
	int transport = ci->node == ci->type_node;
	/* By name: an instance kept across a reload points into the
	 * configuration it was created from. */
	for (size_t i = 0; i < n->n_inst; i++)
		if (!strcmp(n->inst[i]->name, ci->name) &&
		    (n->inst[i]->cfg->node == n->inst[i]->cfg->type_node) ==
			    transport) {
			status_set_u64(out, "msgs_in", n->inst[i]->msgs_in);
			status_set_u64(out, "msgs_out", n->inst[i]->msgs_out);
			return;
		}
}

static void rows_host(struct status *s, struct ockam_status *out)
{
	struct node *n = s->node;
	const struct config *c = n->cfg;
	struct router_stats rs;
	struct notice_stats ns;

	status_add(out, "node", c->node_name);
	status_set_u64(out, "uptime_ms", loop_now_ms() - s->started_ms);
	status_set_u64(out, "transports", c->n_transports);
	status_set_u64(out, "workers", c->n_workers);
	status_set_u64(out, "rss_bytes", rss_bytes());
	for (size_t i = 0; i < c->n_transports; i++) {
		status_add(out, "transport", c->transports[i].name);
		status_set_str(out, "type", c->transports[i].type);
		rows_instance(n, &c->transports[i], out);
	}
	for (size_t i = 0; i < c->n_workers; i++) {
		status_add(out, "worker", c->workers[i].name);
		status_set_str(out, "type", c->workers[i].type);
		rows_instance(n, &c->workers[i], out);
	}
	router_stats_get(n->router, &rs);
	status_add(out, "router", "local");
	status_set_u64(out, "delivered", rs.delivered);
	status_set_u64(out, "transport_sent", rs.transport_sent);
	status_set_u64(out, "dropped_unknown", rs.dropped_unknown);
	status_set_u64(out, "dropped_full", rs.dropped_full);
	status_set_u64(out, "denied", rs.denied);
	status_set_u64(out, "relay_refused", rs.relay_refused);
	status_set_u64(out, "refused", rs.handler_errors);
	status_set_u64(out, "queued", rs.queued);
	if (n->notices) {
		notices_stats_get(n->notices, &ns);
		/* Messages said undeliverable (message_undeliverable and
		 * refusals), whether or not a sender got the notice. */
		status_set_u64(out, "undeliverable", ns.posted);
	}
}

static void report_build(struct status *s, struct ockam_status *st)
{
	rows_host(s, st);
	for (size_t i = 0; i < s->n_contrib; i++)
		s->contrib[i].fn(s->contrib[i].data, st);
}

int status_visit(struct status *s, ockam_status_visit_fn fn, void *data)
{
	struct ockam_status st = { 0 };
	report_build(s, &st);
	for (size_t i = 0; i < st.n; i++) {
		const struct status_row *r = &st.rows[i];
		for (size_t j = 0; j < r->n; j++)
			fn(data, r->kind, r->name, r->pairs[j].key,
			   r->pairs[j].value, r->pairs[j].is_number);
	}
	int truncated = st.truncated;
	rows_free(&st);
	return truncated ? -ENOBUFS : 0;
}

int status_report(struct status *s, int json, char **out, size_t *len)
{
	struct ockam_status st = { 0 };
	struct sbuf b = { 0 };

	report_build(s, &st);
	if (json)
		render_json(&st, &b);
	else
		render_text(&st, &b);
	rows_free(&st);
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ---- the service ------------------------------------------------- */

/* Send `text` back along `to` from the status address. */
static int status_reply(struct status *s, const struct ockam_route *to,
			const char *text, size_t len)
{
	struct ockam_message reply;
	struct ockam_addr self;
	ockam_message_init(&reply);
	reply.onward = *to;
	ockam_addr_local(&self, STATUS_ADDRESS);
	reply.ret = ockam_route_make(&self, 1);
	reply.payload = (const uint8_t *)text;
	reply.payload_len = len;
	return router_send(s->node->router, STATUS_ADDRESS, &reply, 0);
}

static void status_reload_fire(void *data)
{
	struct status *s = data;
	char summary[256];
	node_reload(s->node, summary, sizeof(summary));
	s->reload_ms = loop_now_ms();
	if (s->reload_ret) {
		status_reply(s, s->reload_ret, summary, strlen(summary));
		free(s->reload_ret);
		s->reload_ret = NULL;
	}
}

static int status_reload_request(struct status *s,
				 const struct ockam_message *msg)
{
	const char *refused = NULL;
	uint64_t now = loop_now_ms();
	if (!s->remote_reload)
		refused = "refused: this node does not take reload requests (remote_reload is off; send it SIGHUP)";
	else if (!(msg->flags & OCKAM_MSG_SECURE))
		refused = "refused: a reload request must come out of a secure channel";
	else if (s->reload_ret || (s->reload_ms && now - s->reload_ms < 1000))
		refused = "refused: a reload ran less than a second ago; try again";
	if (refused) {
		log_limited(&s->lim_reload, OCKAM_LOG_WARN, STATUS_ADDRESS,
			    "reload request %s",
			    refused + strlen("refused: "));
		status_reply(s, &msg->ret, refused, strlen(refused));
		return 0;
	}
	s->reload_ret = ockam_route_dup(&msg->ret);
	if (!s->reload_ret)
		return 0;
	log_write(OCKAM_LOG_INFO, STATUS_ADDRESS,
		  "reload requested through a secure channel with %s",
		  ockam_message_identifier(msg));
	loop_update_timer(s->reload_timer, 0);
	return 0;
}

static int status_handle(void *owner, void *addr_data,
			 const struct ockam_message *msg)
{
	struct status *s = owner;
	int json = msg->payload_len == 4 && !memcmp(msg->payload, "json", 4);
	char *text = NULL;
	size_t len = 0;

	if (msg->ret.count == 0)
		return 0; /* nowhere to answer */
	if (msg->payload_len == 6 && !memcmp(msg->payload, "reload", 6))
		return status_reload_request(s, msg);
	int rc = status_report(s, json, &text, &len);
	if (rc == 0 && len > STATUS_REPLY_MAX) {
		/* Cut at a line end; JSON is then invalid, so say why. */
		static const char cut[] = "\n(report too large; cut)\n";
		len = STATUS_REPLY_MAX - sizeof(cut);
		while (len && text[len - 1] != '\n')
			len--;
		memcpy(text + len, cut, sizeof(cut) - 1);
		len += sizeof(cut) - 1;
	}
	if (rc < 0) {
		log_limited(&s->lim, OCKAM_LOG_WARN, STATUS_ADDRESS,
			    "cannot build the status report: %s",
			    strerror(-rc));
		return 0;
	}
	rc = status_reply(s, &msg->ret, text, len);
	log_write(OCKAM_LOG_DEBUG, STATUS_ADDRESS,
		  "answered a %s status request (%zu bytes)%s",
		  json ? "json" : "text", len, rc < 0 ? ": send failed" : "");
	free(text);
	return 0;
}

struct status *status_create(struct node *n)
{
	struct status *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->node = n;
	s->started_ms = loop_now_ms();
	const struct ockam_opt *o = opt_get(n->cfg->root, "status");
	if (o) {
		/* config.c already reported a malformed value. */
		struct diag quiet;
		diag_init(&quiet, NULL);
		if (opt_to_bool(o, &quiet, &s->enabled) < 0)
			s->enabled = 0;
		diag_free(&quiet);
	}
	o = opt_get(n->cfg->root, "remote_reload");
	if (o) {
		struct diag quiet;
		diag_init(&quiet, NULL);
		if (opt_to_bool(o, &quiet, &s->remote_reload) < 0)
			s->remote_reload = 0;
		diag_free(&quiet);
	}
	if (s->enabled)
		for (size_t i = 0; i < n->cfg->n_workers; i++)
			if (!strcmp(n->cfg->workers[i].name, STATUS_ADDRESS))
				diag_error(&n->diag, o->file, o->line, o->col,
					   "'status: true' needs the address '%s', which worker '%s' takes",
					   STATUS_ADDRESS, STATUS_ADDRESS);
	return s;
}

int status_enabled(const struct status *s)
{
	return s && s->enabled;
}

int status_start(struct status *s)
{
	if (!s || !s->enabled)
		return 0;
	s->started_ms = loop_now_ms();
	int rc = router_address_add(s->node->router, STATUS_ADDRESS,
				    status_handle, s, NULL);
	if (rc < 0) {
		log_write(OCKAM_LOG_ERROR, STATUS_ADDRESS,
			  "cannot register address '%s': %s", STATUS_ADDRESS,
			  strerror(-rc));
		return rc;
	}
	s->registered = 1;
	if (s->remote_reload) {
		s->reload_timer = loop_add_timer(s->node->loop, UINT64_MAX,
						 status_reload_fire, s, s);
		if (!s->reload_timer)
			return -ENOMEM;
	}
	log_write(OCKAM_LOG_DEBUG, STATUS_ADDRESS,
		  "status service at address '%s'", STATUS_ADDRESS);
	return 0;
}

void status_destroy(struct status *s)
{
	if (!s)
		return;
	if (s->registered)
		router_address_remove(s->node->router, STATUS_ADDRESS, s);
	if (s->reload_timer)
		loop_remove(s->reload_timer);
	free(s->reload_ret);
	free(s->contrib);
	free(s);
}

int status_register(struct status *s, void *owner, ockam_status_fn fn,
		    void *data)
{
	if (!s || !fn)
		return -EINVAL;
	struct contributor *c =
		realloc(s->contrib, (s->n_contrib + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	s->contrib = c;
	s->contrib[s->n_contrib++] = (struct contributor){ owner, fn, data };
	return 0;
}

void status_remove_owner(struct status *s, void *owner)
{
	size_t k = 0;
	if (!s)
		return;
	for (size_t i = 0; i < s->n_contrib; i++)
		if (s->contrib[i].owner != owner)
			s->contrib[k++] = s->contrib[i];
	s->n_contrib = k;
}
