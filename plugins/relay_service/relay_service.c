/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay_service: lets a node that can only dial out be reached by name.
 *
 * A `relay` worker on that node registers a name (REGISTER, relay_proto.h)
 * over a connection it opened itself; the service then owns the local
 * address `forward_to_<name>` and remembers the registration's return
 * route R (the way back down that connection).  A message sent to
 * [forward_to_bob, x...] goes on along R ++ [x...] with forward_to_bob
 * pushed on its return route; a message that comes back up R (its return
 * route starts with R: only the registrant's own connection gives that
 * first hop) to forward_to_bob goes on along the rest of its onward route,
 * over what is already open, with R replaced by forward_to_bob on its
 * return route.  So the service forwards only down registered
 * connections, and back along routes that already exist: it never opens
 * a connection and is never an open relay.
 *
 * Who may register: the worker's `access:` (host policy) and `trust:`
 * (everyone, or identities that must register through a secure channel).
 * A name belongs to whoever registered it: the same identity (through a
 * secure channel) or the same random token (plaintext) refreshes or moves
 * it; anyone else is refused with a REFUSED reply that says so.  A
 * registration is dropped when forwarding down R finds its connection
 * gone, or when it is not refreshed within `registration_timeout`.
 *
 * A message for a name nobody registered reaches the service through its
 * catch-all address "forward_to_*" and is dropped with a delivery-failure
 * notice ("no relay named 'bob'") that the host sends back to the sender.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <ockam/ockam.h>

#include "../relay/relay_proto.h"

/* A registered route is at most this long: the rest of the 32 hops is
 * left for the messages forwarded down it. */
#define REG_ROUTE_MAX 16

struct reg {
	char name[RELAY_NAME_MAX + 1];
	char addr[RELAY_PREFIX_LEN + RELAY_NAME_MAX + 1]; /* forward_to_<name> */
	struct ockam_route *route; /* R: ockam_route_dup, free() */
	int secure;                /* registered through a secure channel */
	char identifier[OCKAM_IDENTIFIER_MAX];
	uint8_t token[RELAY_TOKEN_LEN];
	uint64_t since_ms, refreshed_ms;
	uint64_t forwarded, returned;
};

struct service {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	uint64_t max_regs;
	uint64_t timeout_ms;
	int trust_everyone;
	char (*trust)[OCKAM_IDENTIFIER_MAX];
	size_t n_trust;
	struct reg **regs;
	size_t n_regs, cap_regs;
	struct ockam_source *expiry;
	int catch_all; /* address of the catch-all's addr_data */
	/* counters */
	uint64_t refused_taken, refused_trust, refused_full, refused_bad;
	uint64_t unknown_name, dropped_gone, expired;
	/* one limiter per cause */
	struct ockam_log_limit lim_bad, lim_trust, lim_taken, lim_full,
		lim_unknown, lim_stray, lim_answer;
};

/* ---- options ---------------------------------------------------------- */

/* trust: everyone | [I<32 hex>, ...] */
static int trust_read(const struct ockam_host *h, struct ockam_ctx *ctx,
		      struct service *s)
{
	const struct ockam_opt *root = h->opt_root(ctx);
	const struct ockam_opt *t = root ? h->opt_get(root, "trust") : NULL;
	const char *str;
	int rc = 0;

	if (!t)
		return h->opt_error(ctx, root,
				    "relay_service needs 'trust': everyone, or a list of identifiers allowed to register (through a secure channel)");
	if (h->opt_kind(t) == OCKAM_OPT_SCALAR) {
		str = h->opt_str(t);
		if (str && strcmp(str, "everyone") == 0) {
			if (s)
				s->trust_everyone = 1;
			return 0;
		}
		return h->opt_error(ctx, t,
				    "'trust' must be everyone or a list of identifiers (I and 32 lowercase hex digits)");
	}
	if (h->opt_kind(t) != OCKAM_OPT_LIST || h->opt_count(t) == 0)
		return h->opt_error(ctx, t,
				    "'trust' must be everyone or a non-empty list of identifiers");
	size_t n = h->opt_count(t);
	if (s) {
		s->trust = calloc(n, sizeof(*s->trust));
		if (!s->trust)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ockam_opt *e = h->opt_at(t, i);
		str = h->opt_str(e);
		if (!ockam_identifier_valid(str)) {
			rc = h->opt_error(ctx, e,
					  "'%s' in 'trust' is not an identifier (I and 32 lowercase hex digits)",
					  str ? str : "(not a string)");
			continue;
		}
		if (s)
			memcpy(s->trust[s->n_trust++], str, 34);
	}
	return rc;
}

static int service_check(const struct ockam_host *h, struct ockam_ctx *ctx)
{
	return trust_read(h, ctx, NULL);
}

/* ---- registrations ------------------------------------------------------ */

static struct reg *reg_find(const struct service *s, const uint8_t *name,
			    size_t len)
{
	for (size_t i = 0; i < s->n_regs; i++)
		if (strlen(s->regs[i]->name) == len &&
		    memcmp(s->regs[i]->name, name, len) == 0)
			return s->regs[i];
	return NULL;
}

static void reg_drop(struct service *s, struct reg *r, const char *why)
{
	s->host->log(s->ctx, OCKAM_LOG_INFO, "relay '%s' dropped: %s", r->name,
		     why);
	s->host->address_remove(s->ctx, r->addr);
	for (size_t i = 0; i < s->n_regs; i++)
		if (s->regs[i] == r) {
			s->regs[i] = s->regs[--s->n_regs];
			break;
		}
	free(r->route);
	sodium_memzero(r->token, sizeof(r->token));
	free(r);
}

static int trusted(const struct service *s, const struct ockam_message *msg)
{
	if (s->trust_everyone)
		return 1;
	if (!(msg->flags & OCKAM_MSG_SECURE))
		return 0;
	for (size_t i = 0; i < s->n_trust; i++)
		if (strcmp(s->trust[i], ockam_message_identifier(msg)) == 0)
			return 1;
	return 0;
}

/* Does `msg` come from the holder of `r`?  The same authenticated identity
 * if it registered through a channel, else the same token. */
static int same_owner(const struct reg *r, const struct ockam_message *msg,
		      const uint8_t *token)
{
	if (r->secure)
		return (msg->flags & OCKAM_MSG_SECURE) &&
		       strcmp(r->identifier, ockam_message_identifier(msg)) == 0;
	return !(msg->flags & OCKAM_MSG_SECURE) &&
	       sodium_memcmp(r->token, token, RELAY_TOKEN_LEN) == 0;
}

/* Answer a REGISTER along its return route (no new connection: the
 * registrant's is open). */
static void reply(struct service *s, const struct ockam_message *req,
		  uint8_t type, uint8_t reason, const char *text)
{
	uint8_t buf[2 + RELAY_TEXT_MAX];
	struct ockam_message m;
	size_t n = strlen(text);

	if (n > RELAY_TEXT_MAX)
		n = RELAY_TEXT_MAX;
	buf[0] = type;
	buf[1] = reason;
	memcpy(buf + 2, text, n);
	ockam_message_init(&m);
	m.onward = req->ret;
	m.ret = ockam_route_make(&req->onward.hop[0], 1);
	m.payload = buf;
	m.payload_len = 2 + n;
	int rc = s->host->send(s->ctx, &m);
	if (rc < 0)
		s->host->log_limited(s->ctx, &s->lim_answer, OCKAM_LOG_DEBUG,
				     "could not answer a registration: %s",
				     strerror(-rc));
}

static void refuse(struct service *s, const struct ockam_message *req,
		   uint8_t reason, struct ockam_log_limit *lim,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void refuse(struct service *s, const struct ockam_message *req,
		   uint8_t reason, struct ockam_log_limit *lim,
		   const char *fmt, ...)
{
	char text[RELAY_TEXT_MAX + 1], route[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (s->host->log_limited_due(s->ctx, lim, OCKAM_LOG_WARN)) {
		s->host->route_format(s->ctx, &req->ret, route, sizeof(route));
		s->host->log_limited(s->ctx, lim, OCKAM_LOG_WARN,
				     "registration from %s%s%s%s refused: %s",
				     route,
				     (req->flags & OCKAM_MSG_SECURE) ? " (identity " : "",
				     (req->flags & OCKAM_MSG_SECURE) ?
					     req->identifier : "",
				     (req->flags & OCKAM_MSG_SECURE) ? ")" : "",
				     text);
	}
	reply(s, req, RELAY_REFUSED, reason, text);
}

static void on_register(struct service *s, const struct ockam_message *msg)
{
	const uint8_t *p = msg->payload;
	size_t len = msg->payload_len;
	char route[256];

	if (len < RELAY_REGISTER_MIN || len > RELAY_REGISTER_MAX ||
	    p[0] != RELAY_REGISTER ||
	    (size_t)p[1 + RELAY_TOKEN_LEN] != len - 2 - RELAY_TOKEN_LEN ||
	    !relay_name_ok(p + 2 + RELAY_TOKEN_LEN, len - 2 - RELAY_TOKEN_LEN)) {
		s->refused_bad++;
		refuse(s, msg, RELAY_REFUSED_MALFORMED, &s->lim_bad,
		       "malformed registration (a name is 1 to %d of A-Z a-z 0-9 _ . -)",
		       RELAY_NAME_MAX);
		return;
	}
	if (msg->ret.count == 0 || msg->ret.count > REG_ROUTE_MAX) {
		s->refused_bad++;
		refuse(s, msg, RELAY_REFUSED_MALFORMED, &s->lim_bad,
		       "its return route must have 1 to %d hops",
		       REG_ROUTE_MAX);
		return;
	}
	const uint8_t *token = p + 1;
	const uint8_t *name = p + 2 + RELAY_TOKEN_LEN;
	size_t nlen = len - 2 - RELAY_TOKEN_LEN;

	if (!trusted(s, msg)) {
		s->refused_trust++;
		refuse(s, msg, RELAY_REFUSED_NOT_TRUSTED,
		       &s->lim_trust,
		       "not allowed to register: %s",
		       (msg->flags & OCKAM_MSG_SECURE) ?
			       "identity not in the relay's trust list" :
			       "the relay accepts registrations only through a secure channel from a trusted identity");
		return;
	}
	struct reg *r = reg_find(s, name, nlen);
	if (r) {
		if (!same_owner(r, msg, token)) {
			s->refused_taken++;
			refuse(s, msg, RELAY_REFUSED_TAKEN, &s->lim_taken,
			       "name '%s' is registered by another node",
			       r->name);
			return;
		}
		/* Refresh; a new route is the same registrant back over a
		 * new connection (it reconnected). */
		if (!ockam_route_is_way_back(&msg->ret, r->route)) {
			struct ockam_route *nr = ockam_route_dup(&msg->ret);
			if (!nr) {
				s->host->log(s->ctx, OCKAM_LOG_WARN,
					     "out of memory: registration of '%s' not moved",
					     r->name);
				return;
			}
			free(r->route);
			r->route = nr;
			s->host->route_format(s->ctx, r->route, route,
					      sizeof(route));
			s->host->log(s->ctx, OCKAM_LOG_INFO,
				     "relay '%s' re-registered: now %s", r->name,
				     route);
		}
		r->refreshed_ms = s->host->now_ms();
		reply(s, msg, RELAY_REGISTERED, 0, r->addr);
		return;
	}
	if (s->n_regs >= s->max_regs) {
		s->refused_full++;
		refuse(s, msg, RELAY_REFUSED_FULL, &s->lim_full,
		       "the relay is full (max_registrations %llu)",
		       (unsigned long long)s->max_regs);
		return;
	}
	if (s->n_regs == s->cap_regs) {
		size_t cap = s->cap_regs ? 2 * s->cap_regs : 8;
		struct reg **regs = realloc(s->regs, cap * sizeof(*regs));
		if (!regs)
			return;
		s->regs = regs;
		s->cap_regs = cap;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return;
	memcpy(r->name, name, nlen);
	snprintf(r->addr, sizeof(r->addr), RELAY_PREFIX "%s", r->name);
	r->route = ockam_route_dup(&msg->ret);
	r->secure = (msg->flags & OCKAM_MSG_SECURE) != 0;
	if (r->secure)
		snprintf(r->identifier, sizeof(r->identifier), "%s",
			 ockam_message_identifier(msg));
	memcpy(r->token, token, RELAY_TOKEN_LEN);
	r->since_ms = r->refreshed_ms = s->host->now_ms();
	int rc = r->route ? s->host->address_add(s->ctx, r->addr, r) : -ENOMEM;
	if (rc < 0) {
		free(r->route);
		free(r);
		s->refused_taken++;
		refuse(s, msg, RELAY_REFUSED_TAKEN, &s->lim_taken,
		       "address '" RELAY_PREFIX "%.*s' is not available on the relay: %s",
		       (int)nlen, (const char *)name, strerror(-rc));
		return;
	}
	s->regs[s->n_regs++] = r;
	s->host->route_format(s->ctx, r->route, route, sizeof(route));
	s->host->log(s->ctx, OCKAM_LOG_INFO,
		     "relay '%s' registered: %s forwards to %s%s%s%s", r->name,
		     r->addr, route, r->secure ? " (identity " : "",
		     r->secure ? r->identifier : "", r->secure ? ")" : "");
	reply(s, msg, RELAY_REGISTERED, 0, r->addr);
}

/* ---- forwarding --------------------------------------------------------- */

/* How many hops of `msg`'s return route are the registered route R, if it
 * came up the registrant's own connection (a transport pushes the
 * connection it read from; a channel its encryptor, and marks the
 * message): R's length for a message from the registrant, R's length - 1
 * for a delivery-failure notice from the registrant's node (R without the
 * relay worker, then the marker); 0 if it is not from the registrant. */
static size_t from_registrant(const struct reg *r, const struct ockam_message *msg)
{
	const struct ockam_route *R = r->route;
	size_t n = R->count;

	if (r->secure && (!(msg->flags & OCKAM_MSG_SECURE) ||
			  strcmp(r->identifier, ockam_message_identifier(msg)) != 0))
		return 0;
	if (msg->ret.count == n &&
	    relay_is_notice_marker(&msg->ret.hop[n - 1]))
		n--; /* R's last hop is the relay worker; a notice has none */
	if (n == 0 || msg->ret.count < n)
		return 0;
	struct ockam_route head = ockam_route_make(msg->ret.hop, n);
	struct ockam_route down = ockam_route_make(R->hop, n);
	return ockam_route_is_way_back(&head, &down) ? n : 0;
}

static int forward(struct service *s, struct reg *r,
		   const struct ockam_message *msg)
{
	struct ockam_addr on[OCKAM_ROUTE_MAX], back[OCKAM_ROUTE_MAX];
	struct ockam_route rest = ockam_route_rest(&msg->onward);
	struct ockam_message f;
	const struct ockam_addr *self = &msg->onward.hop[0];

	ockam_message_init(&f);
	f.payload = msg->payload;
	f.payload_len = msg->payload_len;
	size_t skip = from_registrant(r, msg);
	if (skip) {
		/* Back from the registrant: on along what is open. */
		struct ockam_route after = {msg->ret.hop + skip,
					    msg->ret.count - skip};
		if (rest.count == 0) {
			s->host->log_limited(s->ctx, &s->lim_stray, OCKAM_LOG_WARN,
					     "relay '%s': a message from it has nowhere to go; dropped",
					     r->name);
			return -EINVAL;
		}
		f.onward = rest;
		if (ockam_route_prepend(back, OCKAM_ROUTE_MAX, self, &after,
					&f.ret) < 0)
			return -EMSGSIZE;
		int rc = s->host->send(s->ctx, &f);
		if (rc == 0)
			r->returned++;
		return rc;
	}
	/* Down the registered route: R ++ rest. */
	const struct ockam_route *R = r->route;
	if (R->count + rest.count > OCKAM_ROUTE_MAX) {
		s->host->log_limited(s->ctx, &s->lim_stray, OCKAM_LOG_WARN,
				     "relay '%s': the route would exceed %d hops; dropped",
				     r->name, OCKAM_ROUTE_MAX);
		return -EMSGSIZE;
	}
	memcpy(on, R->hop, R->count * sizeof(on[0]));
	if (rest.count)
		memcpy(on + R->count, rest.hop, rest.count * sizeof(on[0]));
	f.onward = ockam_route_make(on, R->count + rest.count);
	if (ockam_route_prepend(back, OCKAM_ROUTE_MAX, self, &msg->ret,
				&f.ret) < 0)
		return -EMSGSIZE;
	int rc = s->host->send(s->ctx, &f);
	if (rc == 0) {
		r->forwarded++;
		return 0;
	}
	if (rc == -ENOTCONN || rc == -EHOSTUNREACH) {
		/* The registrant's connection (or channel) is gone. */
		char why[RELAY_TEXT_MAX];
		snprintf(why, sizeof(why), "relay '%s' is gone: %s", r->name,
			 strerror(-rc));
		s->dropped_gone++;
		reg_drop(s, r, "its connection is gone");
		s->host->message_undeliverable(s->ctx, msg, rc, why);
		return 0;
	}
	return rc;
}

static int service_handle(void *state, void *addr_data,
			  const struct ockam_message *msg)
{
	struct service *s = state;

	if (addr_data == &s->catch_all) {
		/* forward_to_<a name nobody registered>. */
		const struct ockam_addr *a = &msg->onward.hop[0];
		char why[RELAY_TEXT_MAX];
		int n = a->len > RELAY_PREFIX_LEN ? a->len - RELAY_PREFIX_LEN : 0;
		s->unknown_name++;
		snprintf(why, sizeof(why), "no relay named '%.*s'", n,
			 (const char *)a->data + RELAY_PREFIX_LEN);
		s->host->log_limited(s->ctx, &s->lim_unknown, OCKAM_LOG_INFO,
				     "dropped a message: %s", why);
		s->host->message_undeliverable(s->ctx, msg, -EHOSTUNREACH, why);
		return 0;
	}
	if (addr_data)
		return forward(s, addr_data, msg);
	if (msg->payload_len && msg->payload[0] == RELAY_REGISTER) {
		on_register(s, msg);
		return 0;
	}
	s->refused_bad++;
	s->host->log_limited(s->ctx, &s->lim_bad, OCKAM_LOG_WARN,
			     "dropped a %zu-byte message that is not a registration",
			     msg->payload_len);
	return 0;
}

/* A message we forwarded was dropped further on: we are first on its
 * return route, so pass the notice on to whoever sent it to us. */
static void service_undeliverable(void *state, void *addr_data,
				  const struct ockam_message *msg, int err,
				  const char *why)
{
	struct service *s = state;

	if (!addr_data || addr_data == &s->catch_all)
		return;
	(void)ockam_undeliverable_pass_back(s->host, s->ctx, msg, err, why);
}

/* ---- expiry, status, lifecycle ----------------------------------------- */

static void on_expiry(void *data)
{
	struct service *s = data;
	uint64_t now = s->host->now_ms();

	for (size_t i = s->n_regs; i-- > 0;) {
		struct reg *r = s->regs[i];
		if (now - r->refreshed_ms >= s->timeout_ms) {
			char why[96];
			snprintf(why, sizeof(why),
				 "not refreshed for %llu ms (registration_timeout)",
				 (unsigned long long)(now - r->refreshed_ms));
			s->expired++;
			reg_drop(s, r, why);
		}
	}
}

static void service_status(void *data, struct ockam_status *out)
{
	struct service *s = data;
	const struct ockam_host *h = s->host;
	uint64_t now = h->now_ms();
	char route[256];

	h->status_add(out, "relay_service", h->instance_name(s->ctx));
	h->status_set_u64(out, "registrations", s->n_regs);
	h->status_set_u64(out, "max_registrations", s->max_regs);
	h->status_set_u64(out, "refused_taken", s->refused_taken);
	h->status_set_u64(out, "refused_not_trusted", s->refused_trust);
	h->status_set_u64(out, "refused_full", s->refused_full);
	h->status_set_u64(out, "refused_malformed", s->refused_bad);
	h->status_set_u64(out, "unknown_name", s->unknown_name);
	h->status_set_u64(out, "dropped_gone", s->dropped_gone);
	h->status_set_u64(out, "expired", s->expired);
	for (size_t i = 0; i < s->n_regs; i++) {
		const struct reg *r = s->regs[i];
		h->status_add(out, "relay", r->name);
		h->status_set_str(out, "address", r->addr);
		h->route_format(s->ctx, r->route, route, sizeof(route));
		h->status_set_str(out, "route", route);
		if (r->secure)
			h->status_set_str(out, "identity", r->identifier);
		h->status_set_u64(out, "age_ms", now - r->since_ms);
		h->status_set_u64(out, "refreshed_ms_ago", now - r->refreshed_ms);
		h->status_set_u64(out, "forwarded", r->forwarded);
		h->status_set_u64(out, "returned", r->returned);
	}
}

static void service_destroy(void *state);

static int service_create(const struct ockam_host *h, struct ockam_ctx *ctx,
			  void **state)
{
	const struct ockam_opt *root = h->opt_root(ctx);
	struct service *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	if (sodium_init() < 0) {
		free(s);
		return -EIO;
	}
	s->host = h;
	s->ctx = ctx;
	/* The host checked the table's types and ranges and filled its
	 * defaults; `trust` is ours to read. */
	rc = trust_read(h, ctx, s);
	if (rc == 0)
		rc = h->opt_get_u64(ctx, root, "max_registrations", 1, 65536,
				    &s->max_regs);
	if (rc == 0)
		rc = h->opt_get_duration_ms(ctx, root, "registration_timeout",
					    &s->timeout_ms);
	if (rc < 0) {
		service_destroy(s);
		return rc;
	}
	*state = s;
	return 0;
}

static int service_start(void *state)
{
	struct service *s = state;
	const struct ockam_host *h = s->host;
	uint64_t period = s->timeout_ms / 4 ? s->timeout_ms / 4 : 1;
	int rc;

	rc = h->address_add(s->ctx, RELAY_PREFIX "*", &s->catch_all);
	if (rc < 0)
		h->log(s->ctx, OCKAM_LOG_WARN,
		       "cannot claim " RELAY_PREFIX "*: %s (messages for unknown names fail without saying why)",
		       strerror(-rc));
	s->expiry = h->timer_add_periodic(s->ctx, period, on_expiry, s);
	if (!s->expiry)
		return -ENOMEM;
	h->status_register(s->ctx, service_status, s);
	h->log(s->ctx, OCKAM_LOG_INFO,
	       "relay service ready: names are reached at " RELAY_PREFIX
	       "<name> (max_registrations %llu, registration_timeout %llu ms, trust %s)",
	       (unsigned long long)s->max_regs,
	       (unsigned long long)s->timeout_ms,
	       s->trust_everyone ? "everyone" : "a list of identities");
	return 0;
}

static void service_stop(void *state)
{
	struct service *s = state;
	const struct ockam_host *h = s->host;

	h->log_limited_flush(s->ctx, &s->lim_bad, OCKAM_LOG_WARN, "malformed");
	h->log_limited_flush(s->ctx, &s->lim_trust, OCKAM_LOG_WARN, "not trusted");
	h->log_limited_flush(s->ctx, &s->lim_taken, OCKAM_LOG_WARN, "name taken");
	h->log_limited_flush(s->ctx, &s->lim_full, OCKAM_LOG_WARN, "full");
	h->log_limited_flush(s->ctx, &s->lim_unknown, OCKAM_LOG_INFO, "unknown name");
	h->log_limited_flush(s->ctx, &s->lim_stray, OCKAM_LOG_WARN, "dropped");
	h->log_limited_flush(s->ctx, &s->lim_answer, OCKAM_LOG_DEBUG,
			     "could not answer");
}

static void service_destroy(void *state)
{
	struct service *s = state;

	for (size_t i = 0; i < s->n_regs; i++) {
		free(s->regs[i]->route);
		sodium_memzero(s->regs[i]->token, RELAY_TOKEN_LEN);
		free(s->regs[i]);
	}
	free(s->regs);
	free(s->trust);
	free(s);
}

static const struct ockam_option service_options[] = {
	{.name = "trust", .type = OCKAM_OPTION_ANY,
	 .flags = OCKAM_OPTION_REQUIRED,
	 .help = "everyone, or identifiers that may register (through a secure channel)"},
	{.name = "max_registrations", .type = OCKAM_OPTION_INT, .def = "1024",
	 .min = 1, .max = 65536, .help = "names registered at once"},
	{.name = "registration_timeout", .type = OCKAM_OPTION_DURATION,
	 .def = "30s", .min = 100, .max = 86400000,
	 .help = "drop a registration not refreshed this long"},
	{0},
};

static const struct ockam_plugin service_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "relay_service",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "lets nodes that only dial out register a name and be reached at forward_to_<name>",
	.options = service_options,
	.check = service_check,
	.create = service_create,
	.start = service_start,
	.handle_message = service_handle,
	.handle_undeliverable = service_undeliverable,
	.stop = service_stop,
	.destroy = service_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &service_plugin;
}
