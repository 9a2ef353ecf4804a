/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay: makes this node reachable through a relay_service elsewhere,
 * over a connection this node opens itself (for a node behind NAT or a
 * firewall, with no listener of its own).
 *
 *   relay_client:
 *     type: relay
 *     options: { at: [tcp:relay.example:4000, relay], name: bob }
 *
 * It sends REGISTER (relay_proto.h) along `at:` (asking the transport to
 * connect: the operator named that address), and again every `keepalive`
 * to refresh the registration and to notice a dead path: a REGISTERED
 * reply must come back before the next one is due.  When it does not, or a
 * notice says the registration could not be delivered (connection
 * refused, lost), it re-registers with backoff (`backoff` doubling up to
 * `backoff_max`, jittered), writing one log line per state change.
 *
 * Traffic, in both directions, is tied to the relay: what comes from the
 * relay (its return route is the way back of `at:` followed by
 * forward_to_<name>) goes to local workers only, with this worker pushed
 * on its return route; what local workers send through it goes back up to
 * the relay only.  So a relay, or anyone able to send through it, reaches
 * this node's workers (each guarded by its own `access:`) and nothing
 * beyond them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <ockam/ockam.h>

#include "relay_proto.h"

enum relay_state {
	ST_IDLE,
	ST_REGISTERING, /* REGISTER sent, no answer yet */
	ST_REGISTERED,
	ST_LOST,    /* waiting out the backoff after a failure */
	ST_REFUSED, /* the relay said no; retrying with backoff */
};

struct relay {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	struct ockam_route at; /* owned by the host */
	char name[RELAY_NAME_MAX + 1];
	char fwd[RELAY_PREFIX_LEN + RELAY_NAME_MAX + 1]; /* forward_to_<name> */
	char self[OCKAM_ADDR_MAX + 1];
	uint8_t token[RELAY_TOKEN_LEN];
	uint64_t keepalive_ms, backoff_ms, backoff_max_ms, backoff_cur_ms;
	enum relay_state state;
	enum relay_state complained; /* ST_LOST / ST_REFUSED once logged */
	int awaiting;          /* a REGISTER is unanswered */
	char last_why[RELAY_TEXT_MAX + 1];
	struct ockam_source *timer;
	uint64_t registered_ms;
	uint64_t registrations, losses, refusals, in, out;
	struct ockam_log_limit lim_stray, lim_send;
};

/* ---- registering -------------------------------------------------------- */

static void relay_register(struct relay *r);

static uint64_t jitter(uint64_t d)
{
	/* Uniform in [d/2, d], so nodes cut off together do not return in
	 * step. */
	return d / 2 + (d > 1 ? randombytes_uniform((uint32_t)(d / 2 + 1)) : 0);
}

static void at_text(struct relay *r, char *buf, size_t len)
{
	r->host->route_format(r->ctx, &r->at, buf, len);
}

/* Something went wrong (`why`): retry after the backoff.  One line when
 * the state changes (registered -> lost, refused), debug lines for the
 * attempts that fail the same way meanwhile. */
static void relay_fail(struct relay *r, enum relay_state st, const char *why)
{
	char at[256];
	uint64_t delay;

	if (r->state == ST_LOST || r->state == ST_REFUSED)
		return; /* already waiting */
	delay = jitter(r->backoff_cur_ms);
	at_text(r, at, sizeof(at));
	if (st == ST_REFUSED)
		r->refusals++;
	if (r->state == ST_REGISTERED)
		r->losses++;
	if (st == r->complained) {
		r->host->log(r->ctx, OCKAM_LOG_DEBUG,
			     "registering '%s' at relay %s failed again (%s): next try in %llu ms",
			     r->name, at, why, (unsigned long long)delay);
	} else if (st == ST_REFUSED) {
		r->host->log(r->ctx, OCKAM_LOG_ERROR,
			     "relay at %s refused name '%s': %s; trying again in %llu ms",
			     at, r->name, why, (unsigned long long)delay);
	} else if (r->state == ST_REGISTERED) {
		r->host->log(r->ctx, OCKAM_LOG_WARN,
			     "relay at %s lost (%s): re-registering '%s' in %llu ms",
			     at, why, r->name, (unsigned long long)delay);
	} else {
		r->host->log(r->ctx, OCKAM_LOG_WARN,
			     "cannot register '%s' at relay %s (%s): trying again in %llu ms",
			     r->name, at, why, (unsigned long long)delay);
	}
	r->complained = st;
	snprintf(r->last_why, sizeof(r->last_why), "%s", why);
	r->state = st;
	r->awaiting = 0;
	r->backoff_cur_ms = r->backoff_cur_ms * 2 > r->backoff_max_ms ?
				    r->backoff_max_ms : r->backoff_cur_ms * 2;
	r->host->timer_update(r->timer, delay ? delay : 1);
}

static void relay_register(struct relay *r)
{
	uint8_t buf[RELAY_REGISTER_MAX];
	struct ockam_addr self;
	struct ockam_message m;
	int rc;

	ockam_addr_local(&self, r->self);
	ockam_message_init(&m);
	m.onward = r->at;
	m.ret = ockam_route_make(&self, 1);
	m.payload = buf;
	m.payload_len = relay_register_encode(buf, r->token, r->name);
	/* The operator named `at:`: this is the one place the node dials. */
	if (r->at.hop[0].type != OCKAM_ADDR_LOCAL)
		m.flags |= OCKAM_MSG_CONNECT;
	if (r->state != ST_REGISTERED)
		r->state = ST_REGISTERING;
	rc = r->host->send(r->ctx, &m);
	if (rc < 0) {
		char why[128];
		snprintf(why, sizeof(why), "not sent: %s", strerror(-rc));
		relay_fail(r, ST_LOST, why);
		return;
	}
	r->awaiting = 1;
	r->host->timer_update(r->timer, r->keepalive_ms);
}

static void on_timer(void *data)
{
	struct relay *r = data;

	switch (r->state) {
	case ST_REGISTERING:
		relay_fail(r, ST_LOST, "no answer from the relay");
		return;
	case ST_REGISTERED:
		if (r->awaiting) {
			relay_fail(r, ST_LOST, "no answer to the keepalive");
			return;
		}
		relay_register(r); /* keepalive: refresh */
		return;
	case ST_IDLE:
	case ST_LOST:
	case ST_REFUSED:
		r->state = ST_IDLE;
		relay_register(r);
		return;
	}
}

static void on_answer(struct relay *r, const struct ockam_message *msg)
{
	const uint8_t *p = msg->payload;
	size_t n = msg->payload_len;
	char at[256], text[RELAY_TEXT_MAX + 1];
	size_t tl = n > 2 ? n - 2 : 0;

	if (tl > RELAY_TEXT_MAX)
		tl = RELAY_TEXT_MAX;
	/* The relay's text is shown, its control characters are not. */
	for (size_t i = 0; i < tl; i++)
		text[i] = (p[2 + i] >= 0x20 && p[2 + i] < 0x7f) ? (char)p[2 + i] : '?';
	text[tl] = '\0';
	if (n >= 2 && p[0] == RELAY_REGISTERED) {
		if (strcmp(text, r->fwd) != 0) {
			relay_fail(r, ST_REFUSED, "the relay answered for another name");
			return;
		}
		r->awaiting = 0;
		if (r->state != ST_REGISTERED) {
			at_text(r, at, sizeof(at));
			r->host->log(r->ctx, OCKAM_LOG_INFO,
				     "registered at relay %s: this node is reached at %s",
				     at, r->fwd);
			r->state = ST_REGISTERED;
			r->registrations++;
			r->registered_ms = r->host->now_ms();
			r->last_why[0] = '\0';
			r->complained = ST_IDLE;
			r->backoff_cur_ms = r->backoff_ms;
			r->host->timer_update(r->timer, r->keepalive_ms);
		}
		return;
	}
	if (n >= 2 && p[0] == RELAY_REFUSED) {
		r->state = r->state == ST_REGISTERED ? ST_IDLE : r->state;
		relay_fail(r, ST_REFUSED, text[0] ? text : "no reason given");
		return;
	}
	r->host->log_limited(r->ctx, &r->lim_stray, OCKAM_LOG_WARN,
			     "dropped a %zu-byte answer from the relay that is not one", n);
}

/* ---- forwarding --------------------------------------------------------- */

/* 1 if `ret` (at position 0) is the way back to the relay: `at:` minus
 * its last hop (the service), then forward_to_<name>, or, for a
 * delivery-failure notice from the relay node itself, the marker and
 * nothing after it. */
static int is_relay_path(const struct relay *r, const struct ockam_route *ret)
{
	size_t n = r->at.count - 1;

	if (ret->count < n + 1)
		return 0;
	struct ockam_route head = ockam_route_make(ret->hop, n);
	struct ockam_route to_relay = ockam_route_make(r->at.hop, n);
	if (!ockam_route_is_way_back(&head, &to_relay))
		return 0;
	return ockam_addr_is_local(&ret->hop[n], r->fwd) ||
	       (ret->count == n + 1 && relay_is_notice_marker(&ret->hop[n]));
}

static int relay_handle(void *state, void *addr_data,
			const struct ockam_message *msg)
{
	struct relay *r = state;
	struct ockam_addr back[OCKAM_ROUTE_MAX];
	struct ockam_message f;
	int rc;

	(void)addr_data;
	if (msg->onward.count == 1) {
		if (ockam_route_is_way_back(&msg->ret, &r->at)) {
			on_answer(r, msg);
			return 0;
		}
		r->host->log_limited(r->ctx, &r->lim_stray, OCKAM_LOG_WARN,
				     "dropped a message addressed to the relay worker itself that is not the relay's answer");
		return 0;
	}
	struct ockam_route rest = ockam_route_rest(&msg->onward);
	const struct ockam_addr *next = &rest.hop[0];
	if (is_relay_path(r, &msg->ret)) {
		/* From the relay: into this node, local workers only. */
		if (next->type != OCKAM_ADDR_LOCAL) {
			r->host->log_limited(r->ctx, &r->lim_stray, OCKAM_LOG_WARN,
					     "dropped a message from the relay for a transport address: it forwards to local workers only");
			return -EACCES;
		}
		r->in++;
	} else if (is_relay_path(r, &rest)) {
		/* A local worker answering through the relay. */
		r->out++;
	} else {
		r->host->log_limited(r->ctx, &r->lim_stray, OCKAM_LOG_WARN,
				     "dropped a message that neither comes from relay '%s' nor goes back to it",
				     r->name);
		return -EACCES;
	}
	ockam_message_init(&f);
	f.onward = rest;
	f.payload = msg->payload;
	f.payload_len = msg->payload_len;
	if (ockam_route_prepend(back, OCKAM_ROUTE_MAX, &msg->onward.hop[0],
				&msg->ret, &f.ret) < 0)
		return -EMSGSIZE;
	/* Never OCKAM_MSG_CONNECT: replies go up the connection the
	 * registration opened. */
	rc = r->host->send(r->ctx, &f);
	if (rc == -EHOSTUNREACH && next->type == OCKAM_ADDR_LOCAL) {
		/* Say which address, so the sender behind the relay
		 * learns it from the notice. */
		char why[OCKAM_ADDR_MAX + 40];
		snprintf(why, sizeof(why), "no worker at address '%.*s'",
			 next->len, (const char *)next->data);
		r->host->message_undeliverable(r->ctx, msg, rc, why);
		return 0;
	}
	if (rc < 0)
		r->host->log_limited(r->ctx, &r->lim_send, OCKAM_LOG_DEBUG,
				     "could not forward a message: %s",
				     strerror(-rc));
	return rc;
}

/* A registration or a message we forwarded will not be delivered. */
static void relay_undeliverable(void *state, void *addr_data,
				const struct ockam_message *msg, int err,
				const char *why)
{
	struct relay *r = state;

	(void)addr_data;
	/* Forwarded: tell whoever handed it to us. */
	if (ockam_undeliverable_pass_back(r->host, r->ctx, msg, err, why) == 0)
		return;
	/* Ours: [self] is all of a REGISTER's return route. */
	char w[RELAY_TEXT_MAX + 1];
	snprintf(w, sizeof(w), "%s", why && *why ? why : strerror(-err));
	relay_fail(r, ST_LOST, w);
}

/* ---- status and lifecycle ------------------------------------------------ */

static void relay_status(void *data, struct ockam_status *out)
{
	static const char *const names[] = {"idle", "registering",
					    "registered", "lost", "refused"};
	struct relay *r = data;
	const struct ockam_host *h = r->host;
	char at[256];

	at_text(r, at, sizeof(at));
	h->status_add(out, "relay_registration", r->name);
	h->status_set_str(out, "at", at);
	h->status_set_str(out, "state", names[r->state]);
	if (r->state != ST_REGISTERED && r->last_why[0])
		h->status_set_str(out, "why", r->last_why);
	if (r->state == ST_REGISTERED)
		h->status_set_u64(out, "registered_ms", h->now_ms() - r->registered_ms);
	h->status_set_u64(out, "registrations", r->registrations);
	h->status_set_u64(out, "losses", r->losses);
	h->status_set_u64(out, "refusals", r->refusals);
	h->status_set_u64(out, "in", r->in);
	h->status_set_u64(out, "out", r->out);
}

#define AT_SHAPE "'at' is the route to the relay service and ends at its address, e.g. [tcp:relay.example:4000, relay]"

/* `at:` as a list: at least two hops, the last a local name (a bare
 * word; "N#value" is left to create, which parses it). */
static int at_shape_ok(const struct ockam_host *h, const struct ockam_opt *l)
{
	size_t n = h->opt_count(l);
	const char *last = n ? h->opt_str(h->opt_at(l, n - 1)) : NULL;

	return n >= 2 && last && (strchr(last, '#') || !strchr(last, ':'));
}

/* What the options table cannot say (the host has checked each key's
 * type, range and presence, and filled the defaults): the name's
 * characters, the shape of `at:`, backoff <= backoff_max.  Each problem
 * is reported where it is written. */
static int relay_check(const struct ockam_host *h, struct ockam_ctx *ctx)
{
	const struct ockam_opt *root = h->opt_root(ctx);
	const char *name = NULL;
	uint64_t b = 0, bmax = 0;
	int rc = 0;

	if (h->opt_get_str(ctx, root, "name", &name) < 0)
		rc = -EINVAL;
	else if (name && !relay_name_ok((const uint8_t *)name, strlen(name)))
		rc = h->opt_error(ctx, h->opt_get(root, "name"),
				  "'name' must be 1 to %d of A-Z a-z 0-9 _ . -",
				  RELAY_NAME_MAX);
	/* The route's addresses are parsed in create, once the transports
	 * have registered their schemes; its shape can be checked here. */
	const struct ockam_opt *ato = h->opt_get(root, "at");
	if (ato && h->opt_kind(ato) == OCKAM_OPT_LIST && !at_shape_ok(h, ato))
		rc = h->opt_error(ctx, ato, AT_SHAPE);
	if (h->opt_get_duration_ms(ctx, root, "backoff", &b) == 0 &&
	    h->opt_get_duration_ms(ctx, root, "backoff_max", &bmax) == 0 &&
	    bmax < b)
		rc = h->opt_error(ctx, h->opt_get(root, "backoff"),
				  "backoff must be at most backoff_max");
	return rc;
}

static void relay_destroy(void *state);

static int relay_create(const struct ockam_host *h, struct ockam_ctx *ctx,
			void **state)
{
	const struct ockam_opt *root = h->opt_root(ctx);
	const char *name = NULL;
	struct relay *r;

	if (sodium_init() < 0)
		return -EIO;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->host = h;
	r->ctx = ctx;
	/* The host filled the declared defaults. */
	if (h->opt_get_route(ctx, root, "at", &r->at) < 0 ||
	    ((r->at.count < 2 || r->at.hop[r->at.count - 1].type != OCKAM_ADDR_LOCAL) &&
	     h->opt_error(ctx, h->opt_get(root, "at"), AT_SHAPE) < 0) ||
	    h->opt_get_str(ctx, root, "name", &name) < 0 ||
	    h->opt_get_duration_ms(ctx, root, "keepalive", &r->keepalive_ms) < 0 ||
	    h->opt_get_duration_ms(ctx, root, "backoff", &r->backoff_ms) < 0 ||
	    h->opt_get_duration_ms(ctx, root, "backoff_max", &r->backoff_max_ms) < 0) {
		relay_destroy(r);
		return -EINVAL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->fwd, sizeof(r->fwd), RELAY_PREFIX "%s", r->name);
	snprintf(r->self, sizeof(r->self), "%s", h->instance_name(ctx));
	r->backoff_cur_ms = r->backoff_ms;
	/* Proves to the relay that a re-registration is ours (without a
	 * secure channel, where the identity does). */
	randombytes_buf(r->token, sizeof(r->token));
	*state = r;
	return 0;
}

static int relay_start(void *state)
{
	struct relay *r = state;

	r->timer = r->host->timer_add(r->ctx, 0, on_timer, r);
	if (!r->timer)
		return -ENOMEM;
	r->host->status_register(r->ctx, relay_status, r);
	relay_register(r);
	return 0;
}

static void relay_stop(void *state)
{
	struct relay *r = state;
	r->host->log_limited_flush(r->ctx, &r->lim_stray, OCKAM_LOG_WARN,
				   "dropped");
}

static void relay_destroy(void *state)
{
	struct relay *r = state;
	sodium_memzero(r->token, sizeof(r->token));
	free(r);
}

static const struct ockam_option relay_options[] = {
	{.name = "at", .type = OCKAM_OPTION_ROUTE,
	 .flags = OCKAM_OPTION_REQUIRED,
	 .help = "route to the relay service, e.g. [tcp:relay.example:4000, relay]"},
	{.name = "name", .type = OCKAM_OPTION_STRING,
	 .flags = OCKAM_OPTION_REQUIRED,
	 .help = "name to register: the node is reached at forward_to_<name>"},
	{.name = "keepalive", .type = OCKAM_OPTION_DURATION, .def = "10s",
	 .min = 10, .max = 3600000,
	 .help = "refresh the registration this often; no answer by the next one: re-register"},
	{.name = "backoff", .type = OCKAM_OPTION_DURATION, .def = "1s",
	 .min = 10, .max = 3600000, .help = "first delay before re-registering"},
	{.name = "backoff_max", .type = OCKAM_OPTION_DURATION, .def = "30s",
	 .min = 10, .max = 3600000, .help = "longest delay before re-registering"},
	{0},
};

static const struct ockam_plugin relay_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "relay",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "registers this node at a relay_service and carries its traffic",
	.options = relay_options,
	.check = relay_check,
	.create = relay_create,
	.start = relay_start,
	.handle_message = relay_handle,
	.handle_undeliverable = relay_undeliverable,
	.stop = relay_stop,
	.destroy = relay_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &relay_plugin;
}
