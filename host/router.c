/* SPDX-License-Identifier: Apache-2.0 */
#include "router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg_copy.h"
#include "notice_wire.h"
#include "route_text.h"
#include "trace.h"

/* Slot buffers above this size are freed after delivery, so one burst of
 * large messages does not pin memory in every slot for ever. */
#define SLOT_KEEP_MAX (64u * 1024u)
/* Room for a forwarded message's routes and identifier (slot_take): a
 * slot gets it when its buffer is first grown, so forwarding allocates
 * nothing of its own; longer routes are copied the ordinary way. */
#define SLOT_HDR_CAP 512u
/* Deliveries per idle call, so fds get their turn under load. */
#define DRAIN_BATCH 256
/* The largest message the local queue takes (the TCP maximum). */
#define ROUTER_MSG_MAX (16u * 1024u * 1024u)

struct entry {
	struct entry *next;
	const struct router_policy *policy;
	router_deliver_fn fn;
	void *owner;
	void *data;
	uint8_t len;
	uint8_t catch_all; /* "prefix*": on the catch-all list, not hashed */
	/* Sized to the name (and its NUL): a channel's random names are 23
	 * bytes, and an idle secure channel holds two entries. */
	char name[];
};

struct transport {
	const struct ockam_transport_ops *ops;
	void *data;
	void *owner;
	char scheme[16];
};

/* A queued message: a compact copy (msg_copy.h) in `buf`, and its views.
 * A message forwarded out of the slot being delivered (send_local) keeps
 * its payload where it lies: the slot takes that buffer over, and only its
 * routes and identifier are copied, into `hdr`. */
struct slot {
	uint8_t *buf;
	size_t cap;
	uint8_t *hdr;
	size_t hdr_cap;
	struct ockam_message msg;
	uint64_t trace_id; /* its flow's trace id; 0 when not tracing */
};

/* An open send_reserve (router_send_reserve). */
struct reservation {
	int open;
	struct entry *local;     /* a local destination: the slot queued */
	size_t slot;             /* and its index */
	struct transport *t;     /* else the transport */
	int lent;                /* the transport lent its buffer */
	const char *sender;
	size_t cap;
	uint8_t *payload;        /* where the sender writes (traced at commit) */
	uint64_t trace_id;
	int channel;             /* a secure channel's own traffic (trace) */
	struct slot own;         /* for a transport without reserve */
};

struct router {
	struct entry **buckets;
	size_t nbuckets, count;
	/* Catch-all addresses ("forward_to_*"), `len` = the prefix's:
	 * looked at only when no address matches exactly. */
	struct entry *catch_alls;
	struct transport transports[256];
	struct slot *slots;
	size_t nslots, head, queued;
	struct reservation rsv;
	unsigned depth;               /* handlers running (0 or 1) */
	unsigned draining;            /* a queued message is being delivered */
	struct router_stats stats;
	struct ockam_log_limit lim_unknown, lim_full, lim_size, lim_denied, lim_relay,
		lim_secure;
	router_refused_fn refused_fn;
	void *refused_data;
	router_notice_in_fn notice_in_fn;
	void *notice_in_data;
	/* The message-flow trace (trace.h), or NULL: then the one branch
	 * below is all tracing costs.  `trace_cur` is the id of the flow
	 * being handled: a handler's sends carry the id of the message it
	 * was given, and sends from outside handlers (a flush sealing a
	 * batch, a transport) carry the last one delivered, or a new one. */
	struct trace *trace;
	uint64_t trace_cur;
	uint64_t trace_sent; /* the id of the last send (a transport's frame) */
	uint64_t trace_in;   /* the id of the frame a transport just read */
};

static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

int router_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > ROUTER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

struct router *router_create(size_t queue_slots)
{
	struct router *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->nbuckets = 64;
	r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
	r->nslots = queue_slots ? queue_slots : ROUTER_QUEUE_DEFAULT;
	r->slots = calloc(r->nslots, sizeof(*r->slots));
	if (!r->buckets || !r->slots) {
		router_destroy(r);
		return NULL;
	}
	return r;
}

void router_destroy(struct router *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->buckets && i < r->nbuckets; i++) {
		struct entry *e = r->buckets[i];
		while (e) {
			struct entry *next = e->next;
			free(e);
			e = next;
		}
	}
	while (r->catch_alls) {
		struct entry *next = r->catch_alls->next;
		free(r->catch_alls);
		r->catch_alls = next;
	}
	free(r->buckets);
	for (size_t i = 0; r->slots && i < r->nslots; i++) {
		free(r->slots[i].buf);
		free(r->slots[i].hdr);
	}
	free(r->slots);
	free(r->rsv.own.buf);
	free(r);
}

static struct entry **entry_find(const struct router *r, const char *name,
				 size_t len)
{
	struct entry **p = &r->buckets[name_hash(name, len) & (r->nbuckets - 1)];
	for (; *p; p = &(*p)->next)
		if ((*p)->len == len && memcmp((*p)->name, name, len) == 0)
			return p;
	return p;
}

/* The entry a message for `name` goes to: the address itself, else the
 * catch-all with the longest prefix of it. */
static struct entry *entry_lookup(const struct router *r, const char *name,
				  size_t len)
{
	struct entry *e = *entry_find(r, name, len), *best = NULL;
	if (e || !r->catch_alls)
		return e;
	for (e = r->catch_alls; e; e = e->next)
		if (e->len < len && memcmp(e->name, name, e->len) == 0 &&
		    (!best || e->len > best->len))
			best = e;
	return best;
}

/* "prefix*": the catch-all list (host.h, address_add). */
static struct entry **catch_all_find(struct router *r, const char *name,
				     size_t len)
{
	struct entry **p = &r->catch_alls;
	for (; *p; p = &(*p)->next)
		if ((*p)->len == len && memcmp((*p)->name, name, len) == 0)
			return p;
	return p;
}

static void table_grow(struct router *r)
{
	size_t n = r->nbuckets * 2;
	struct entry **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* keep the old table: longer chains, still correct */
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct entry *e = r->buckets[i];
		while (e) {
			struct entry *next = e->next;
			size_t k = name_hash(e->name, e->len) & (n - 1);
			e->next = b[k];
			b[k] = e;
			e = next;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
}

int router_address_add(struct router *r, const char *name,
		       router_deliver_fn fn, void *owner, void *addr_data)
{
	size_t len = strlen(name);
	int catch_all = len > 1 && name[len - 1] == '*';
	if (catch_all)
		len--;
	if (!router_name_valid(name, len))
		return -EINVAL;
	struct entry **p = catch_all ? catch_all_find(r, name, len)
				     : entry_find(r, name, len);
	if (*p)
		return -EEXIST;
	struct entry *e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->name, name, len);
	e->len = (uint8_t)len;
	e->catch_all = (uint8_t)catch_all;
	e->fn = fn;
	e->owner = owner;
	e->data = addr_data;
	*p = e;
	if (!catch_all && ++r->count > r->nbuckets * 3 / 4)
		table_grow(r);
	return 0;
}

int router_address_remove(struct router *r, const char *name, void *owner)
{
	size_t len = strlen(name);
	int catch_all = len > 1 && name[len - 1] == '*';
	struct entry **p = catch_all ? catch_all_find(r, name, len - 1)
				     : entry_find(r, name, len);
	if (!*p)
		return -ENOENT;
	if ((*p)->owner != owner)
		return -EPERM;
	struct entry *e = *p;
	*p = e->next;
	free(e);
	if (!catch_all)
		r->count--;
	return 0;
}

void router_remove_owner(struct router *r, void *owner)
{
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct entry **p = &r->buckets[i];
		while (*p) {
			if ((*p)->owner == owner) {
				struct entry *e = *p;
				*p = e->next;
				free(e);
				r->count--;
			} else {
				p = &(*p)->next;
			}
		}
	}
	for (struct entry **p = &r->catch_alls; *p;) {
		if ((*p)->owner == owner) {
			struct entry *e = *p;
			*p = e->next;
			free(e);
		} else {
			p = &(*p)->next;
		}
	}
	for (size_t t = 0; t < 256; t++)
		if (r->transports[t].ops && r->transports[t].owner == owner)
			memset(&r->transports[t], 0, sizeof(r->transports[t]));
}

int router_address_set_policy(struct router *r, const char *name,
			      const struct router_policy *policy)
{
	struct entry *e = *entry_find(r, name, strlen(name));
	if (!e)
		return -ENOENT;
	e->policy = policy;
	return 0;
}

int router_address_exists(const struct router *r, const char *name,
			  size_t len)
{
	return *entry_find(r, name, len) != NULL;
}

int router_address_owner(const struct router *r, const char *name, size_t len,
			 void **owner, void **addr_data)
{
	const struct entry *e = entry_lookup(r, name, len);
	if (!e)
		return -ENOENT;
	*owner = e->owner;
	*addr_data = e->data;
	return 0;
}

int router_transport_add(struct router *r, uint8_t type, const char *scheme,
			 const struct ockam_transport_ops *ops, void *data,
			 void *owner)
{
	if (type == OCKAM_ADDR_LOCAL || !ops || !ops->send || !scheme)
		return -EINVAL;
	size_t slen = strlen(scheme);
	if (slen == 0 || slen >= sizeof(r->transports[0].scheme) ||
	    !router_name_valid(scheme, slen) || strchr(scheme, '.'))
		return -EINVAL;
	if (r->transports[type].ops)
		return -EEXIST;
	if (router_scheme_type(r, scheme, slen) >= 0)
		return -EEXIST;
	struct transport *t = &r->transports[type];
	t->ops = ops;
	t->data = data;
	t->owner = owner;
	memcpy(t->scheme, scheme, slen + 1);
	return 0;
}

const char *router_scheme(const struct router *r, uint8_t type)
{
	return r->transports[type].ops ? r->transports[type].scheme : NULL;
}

int router_scheme_type(const struct router *r, const char *scheme, size_t len)
{
	for (int t = 1; t < 256; t++) {
		const struct transport *tr = &r->transports[t];
		if (tr->ops && strlen(tr->scheme) == len &&
		    memcmp(tr->scheme, scheme, len) == 0)
			return t;
	}
	return -1;
}

void router_schemes_list(const struct router *r, char *buf, size_t len)
{
	size_t used = 0;
	if (len)
		buf[0] = '\0';
	for (int t = 1; t < 256 && len; t++) {
		if (!r->transports[t].ops)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s",
				 used ? ", " : "", r->transports[t].scheme);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

/* Run a worker's handler and return what it returned.  Sends it makes
 * see depth > 0 (the whole queue is theirs, not three quarters). */
static int deliver(struct router *r, const struct entry *e,
		   const struct ockam_message *m)
{
	/* The handler may remove (free) its own entry: keep the name for
	 * the log line. */
	char name[ROUTER_NAME_MAX + 1];
	memcpy(name, e->name, (size_t)e->len + 1);
	r->stats.delivered++;
	r->depth++;
	int rc = e->fn(e->owner, e->data, m);
	r->depth--;
	/* Workers log their own reasons (they know them); the host only
	 * counts and traces. */
	if (rc < 0) {
		r->stats.handler_errors++;
		log_write(OCKAM_LOG_DEBUG, "router",
			  "worker '%s' refused a message: %s", name,
			  strerror(-rc));
	}
	return rc;
}

/* TRACE: one line per routing decision (-vv): who sent how many bytes
 * where, with both routes.  Payloads are never shown, only their length
 * (a secure channel's plaintext passes through here).  Callers check
 * log_enabled(OCKAM_LOG_TRACE) first, so the routes are formatted only
 * when the line is written. */
static void route_trace(const struct router *r, const char *sender,
			const struct ockam_message *m, const char *decision)
{
	char onward[512], ret[512];
	route_text_format(r, &m->onward, onward, sizeof(onward));
	route_text_format(r, &m->ret, ret, sizeof(ret));
	log_write(OCKAM_LOG_TRACE, "router",
		  "%s sent a %zu-byte payload%s to %s (return route %s): %s",
		  sender ? sender : "-", m->payload_len,
		  (m->flags & OCKAM_MSG_SECURE) ? " (secure)" : "", onward,
		  ret, decision);
}

/* Flow control and access control, checked when the message is sent so
 * the sender learns of the refusal. */
static int access_check(struct router *r, const struct router_sender *from,
			const struct entry *e, const struct ockam_message *msg)
{
	/* A secure channel's own protocol traffic (handshakes, ciphertext)
	 * is not limited: its reach applies to what comes out of channels. */
	int limited = from->reach &&
		      (!from->may_secure || (msg->flags & OCKAM_MSG_SECURE));
	if (limited) {
		size_t i;
		for (i = 0; i < from->n_reach; i++)
			if (strlen(from->reach[i]) == e->len &&
			    memcmp(from->reach[i], e->name, e->len) == 0)
				break;
		if (i == from->n_reach) {
			r->stats.denied++;
			log_limited(&r->lim_denied, OCKAM_LOG_WARN, "router",
				    "flow control: '%s' may not reach '%s' (not in its reach list); dropped",
				    from->name, e->name);
			return -EACCES;
		}
	}
	const struct router_policy *p = e->policy;
	if (!p)
		return 0;
	int secure = from->may_secure && (msg->flags & OCKAM_MSG_SECURE);
	if (p->secure_only && !secure) {
		char route[512];
		r->stats.denied++;
		route_text_format(r, &msg->ret, route, sizeof(route));
		log_limited(&r->lim_denied, OCKAM_LOG_WARN, "router",
			    "access denied: '%s' accepts only messages through a secure channel; dropped a plaintext message from %s (return route %s)",
			    e->name, from->name, route);
		return -EACCES;
	}
	if (p->n_ids) {
		size_t i;
		for (i = 0; i < p->n_ids; i++)
			if (strncmp(p->ids[i], ockam_message_identifier(msg),
				    OCKAM_IDENTIFIER_MAX) == 0)
				break;
		if (i == p->n_ids) {
			r->stats.denied++;
			log_limited(&r->lim_denied, OCKAM_LOG_WARN, "router",
				    "access denied: '%s' does not accept identifier %.*s; dropped",
				    e->name, OCKAM_IDENTIFIER_MAX - 1,
				    ockam_message_identifier(msg));
			return -EACCES;
		}
	}
	return 0;
}

/* The flags `from` may not set: the host clears them on its messages. */
static uint32_t sender_clears(const struct router_sender *from)
{
	/* Only a transport sets it, on its own copy of what it writes. */
	uint32_t clear = OCKAM_MSG_TRACE_ID;
	if (!from->may_secure)
		clear |= OCKAM_MSG_SECURE;
	if (from->transport)
		clear |= OCKAM_MSG_CONNECT;
	return clear;
}

/* Who may send to a transport address, checked before the transport
 * sees the message (docs/security.md, "Who can make a node open a
 * connection").  Refusals are counted, logged once (rate-limited) and
 * return -EACCES.  Returns 1 for a message out of a secure channel whose
 * reach names the address: the operator named it, so it may be dialled
 * (the channel itself cannot know). */
static int transport_check(struct router *r, const struct router_sender *from,
			   const struct ockam_message *msg)
{
	const struct ockam_addr *to = &msg->onward.hop[0];
	char name[OCKAM_ADDR_MAX * 4 + 8], route[512];

	/* A transport hands on what arrived from the network: forwarding
	 * it to another transport address would make every node an open
	 * relay.  Forwarding is a worker's job (hop, with its `to:`). */
	if (from->transport) {
		r->stats.relay_refused++;
		/* A stranger can send this per frame: format only a line
		 * that will be written. */
		if (!log_limit_due(&r->lim_relay, OCKAM_LOG_WARN))
			return -EACCES;
		addr_text_format(r, to, name, sizeof(name));
		route_text_format(r, &msg->ret, route, sizeof(route));
		log_limited(&r->lim_relay, OCKAM_LOG_WARN, "router",
			    "not relaying a message that arrived over %s to '%s': messages from the network go only to local workers; dropped (return route %s)",
			    from->name, name, route);
		return -EACCES;
	}
	int secure = from->may_secure && (msg->flags & OCKAM_MSG_SECURE);
	/* A secure channel's own traffic (handshakes, ciphertext) is not
	 * limited; what comes out of its channels is, like any worker's. */
	int limited = from->reach && (!from->may_secure || secure);
	if (!limited && !secure)
		return 0;
	for (size_t i = 0; limited && i < from->n_reach_addrs; i++)
		if (ockam_addr_match(&from->reach_addrs[i], to))
			return secure ? 1 : 0;
	r->stats.denied++;
	if (!log_limit_due(&r->lim_denied, OCKAM_LOG_WARN))
		return -EACCES;
	addr_text_format(r, to, name, sizeof(name));
	if (limited)
		log_limited(&r->lim_denied, OCKAM_LOG_WARN, "router",
			    "flow control: '%s' may not reach '%s' (no pattern in its reach list matches); dropped",
			    from->name, name);
	else
		log_limited(&r->lim_denied, OCKAM_LOG_WARN, "router",
			    "flow control: a message out of a secure channel of '%s' may not go to '%s' (a channel's messages reach transport addresses only through patterns in its reach list); dropped",
			    from->name, name);
	return -EACCES;
}

/* Where a message goes, once every check passed. */
struct dest {
	struct entry *e;      /* a local worker, or */
	struct transport *t;  /* a transport */
	uint32_t flags;       /* the flags it is sent with */
};

size_t router_queue_room(const struct router *r)
{
	/* Sends from outside any handler (a transport reading the network,
	 * a timer, a flush) fill at most three quarters of the queue: the
	 * rest is headroom for what handlers send while it drains (a hop
	 * forwarding what it got), so pushing back on a fast peer does not
	 * make the workers behind it drop. */
	size_t cap = r->depth ? r->nslots : r->nslots - r->nslots / 4;
	return r->queued >= cap ? 0 : cap - r->queued;
}

/* The local queue's room for one more message from `sender`. */
static int queue_room(struct router *r, const char *sender)
{
	if (router_queue_room(r) == 0) {
		r->stats.dropped_full++;
		log_limited(&r->lim_full, OCKAM_LOG_WARN, "router",
			    "local queue full (%zu messages); refused a message from %s (ENOBUFS: the sender retries or drops it)",
			    r->queued, sender);
		return -ENOBUFS;
	}
	return 0;
}

static int local_check(struct router *r, const struct router_sender *from,
		       const struct ockam_message *msg, struct dest *d)
{
	const struct ockam_addr *to = &msg->onward.hop[0];
	const char *sender = from->name;
	char route[512];
	struct entry *e = entry_lookup(r, (const char *)to->data, to->len);

	if (!e) {
		r->stats.dropped_unknown++;
		if (!log_limit_due(&r->lim_unknown, OCKAM_LOG_WARN))
			return -EHOSTUNREACH;
		route_text_format(r, &msg->ret, route, sizeof(route));
		char name[OCKAM_ADDR_MAX * 4 + 8];
		addr_text_format(r, to, name, sizeof(name));
		log_limited(&r->lim_unknown, OCKAM_LOG_WARN, "router",
			    "no worker at address '%s'; dropped message from %s (return route %s)",
			    name, sender, route);
		return -EHOSTUNREACH;
	}
	int rc = access_check(r, from, e, msg);
	if (rc < 0)
		return rc;
	rc = queue_room(r, sender);
	if (rc < 0)
		return rc;
	d->e = e;
	return 0;
}

/* The slot the next queued message goes into, grown to `need` bytes. */
static struct slot *slot_next(struct router *r, size_t need)
{
	struct slot *s = &r->slots[(r->head + r->queued) % r->nslots];
	if (s->cap < need) {
		uint8_t *b = realloc(s->buf, need);
		if (!b)
			return NULL;
		s->buf = b;
		s->cap = need;
		if (!s->hdr && (s->hdr = malloc(SLOT_HDR_CAP)))
			s->hdr_cap = SLOT_HDR_CAP;
	}
	return s;
}

static int size_check(struct router *r, const char *sender, size_t need,
		      size_t payload_len)
{
	if (need == 0 || payload_len > ROUTER_MSG_MAX) {
		log_limited(&r->lim_size, OCKAM_LOG_WARN, "router",
			    "message from %s has a %zu-byte payload, over the %u byte maximum; dropped",
			    sender, payload_len, ROUTER_MSG_MAX);
		return -EMSGSIZE;
	}
	return 0;
}

static void queued_trace(struct router *r, const char *sender,
			 const struct ockam_message *msg, const struct entry *e)
{
	char what[ROUTER_NAME_MAX + 80];
	snprintf(what, sizeof(what), "local worker '%s', queued (%zu in the queue)",
		 e->name, r->queued - r->draining);
	route_trace(r, sender, msg, what);
}

/* The message as the destination gets it: only the flags it may carry
 * and, without OCKAM_MSG_SECURE, no identifier. */
static void msg_as_sent(const struct ockam_message *msg, uint32_t flags,
			struct ockam_message *out)
{
	*out = *msg;
	out->flags = flags;
	if (!(flags & OCKAM_MSG_SECURE))
		out->identifier = NULL;
}

/* ---- message-flow trace (trace.h) ---- */

void router_set_trace(struct router *r, struct trace *t)
{
	r->trace = t;
}

/* The trace id a send from `from` carries: a handler's sends continue
 * the flow of the message it handles; a transport's continue the flow
 * its frame named (message version 2) or start one; other sends from
 * outside handlers (a flush sealing what handlers queued, the app)
 * continue the last flow delivered, or start one. */
static uint64_t trace_id_for(struct router *r, const struct router_sender *from,
			     const struct ockam_message *msg)
{
	uint64_t id = r->trace_cur;
	if (!r->depth && from->transport) {
		/* The id its frame carried (message version 2), else the
		 * one its read event started. */
		if ((msg->flags & OCKAM_MSG_TRACE_ID) && msg->trace_id)
			id = msg->trace_id;
		else
			id = r->trace_in ? r->trace_in : trace_new_id();
		r->trace_in = 0;
	} else if (!id) {
		id = trace_new_id();
	}
	r->trace_sent = id;
	return id;
}

/* A secure channel's own traffic: handshakes and sealed records, which
 * are ciphertext (so the trace may hash them). */
static int trace_channel(const struct router_sender *from, uint32_t flags)
{
	return from->may_secure && !(flags & OCKAM_MSG_SECURE);
}

/* The slot being delivered, if `m`'s payload lies whole in its buffer (a
 * hop forwarding, a channel sending on what it opened in place, an echoer
 * replying with its payload), else NULL. */
static struct slot *slot_lending(struct router *r, const struct ockam_message *m)
{
	if (!r->draining || !m->payload_len)
		return NULL;
	struct slot *cur = &r->slots[r->head];
	uintptr_t p = (uintptr_t)m->payload, b = (uintptr_t)cur->buf;
	if (!cur->buf || p < b || p - b > cur->cap ||
	    m->payload_len > cur->cap - (p - b))
		return NULL;
	return cur;
}

/* Queue `m` into the next slot without copying its payload: that slot and
 * `cur` swap buffers, so the payload stays where it lies and is the new
 * slot's; the routes and identifier go into the slot's `hdr`.  Safe
 * because handlers never nest and the queue is in order: `cur`'s handler
 * (which may still read its message) returns before the new slot is
 * delivered, and nothing writes a queued slot's buffer.  A second send of
 * the same payload finds `cur` holding another buffer and copies.  NULL
 * when the slot has no buffer to give `cur` in exchange (it would have to
 * allocate one later) or no room for the routes: then send copies. */
static struct slot *slot_take(struct router *r, struct slot *cur,
			      const struct ockam_message *m)
{
	size_t need = msg_copy_size(m, 0);
	struct slot *s = &r->slots[(r->head + r->queued) % r->nslots];
	if (!s->buf || need == 0 || s->hdr_cap < need)
		return NULL;
	uint8_t *buf = s->buf;
	size_t cap = s->cap;
	s->buf = cur->buf;
	s->cap = cur->cap;
	cur->buf = buf;
	cur->cap = cap;
	msg_copy_to(s->hdr, m, 0, &s->msg);
	s->msg.payload = m->payload;
	s->msg.payload_len = m->payload_len;
	return s;
}

static int send_local(struct router *r, const struct router_sender *from,
		      const struct ockam_message *msg, const struct dest *d)
{
	const char *sender = from->name;
	struct ockam_message m;
	msg_as_sent(msg, d->flags, &m);
	size_t need = msg_copy_size(&m, m.payload_len);
	int rc = size_check(r, sender, need, m.payload_len);
	if (rc < 0)
		return rc;
	struct slot *cur = slot_lending(r, &m);
	struct slot *s = cur ? slot_take(r, cur, &m) : NULL;
	if (s) {
		r->stats.forwarded_in_place++;
	} else {
		s = slot_next(r, need);
		if (!s)
			return -ENOMEM;
		msg_copy_to(s->buf, &m, 1, &s->msg);
	}
	r->queued++;
	if (r->trace) {
		s->trace_id = trace_id_for(r, from, msg);
		int ch = trace_channel(from, d->flags);
		trace_send(r->trace, sender, d->e->owner, d->e->name, &s->msg,
			   s->trace_id, ch, ch || from->transport);
	}
	if (log_enabled(OCKAM_LOG_TRACE))
		queued_trace(r, sender, msg, d->e);
	return 0;
}

int router_send(struct router *r, const char *sender,
		const struct ockam_message *msg, int may_secure)
{
	struct router_sender from = {.name = sender, .may_secure = may_secure};
	return router_send_from(r, &from, msg);
}

/* A secure mark is kept only on a message whose return route starts at an
 * address of the channel instance sending it: that first hop is how any
 * worker tells which channel a message came out of (an answer goes back
 * in through it), so no channel may name another's.  Otherwise the mark
 * and the identifier are dropped, once logged. */
static int secure_mark_ok(struct router *r, const struct router_sender *from,
			  const struct ockam_message *msg)
{
	const struct ockam_addr *r0 = &msg->ret.hop[0];
	if (msg->ret.count && r0->type == OCKAM_ADDR_LOCAL) {
		const struct entry *e =
			*entry_find(r, (const char *)r0->data, r0->len);
		if (e && e->owner == from->owner)
			return 1;
	}
	r->stats.secure_cleared++;
	log_limited(&r->lim_secure, OCKAM_LOG_WARN, "router",
		    "'%s' marked a message secure whose return route does not start at one of its own addresses; sent as plaintext",
		    from->name);
	return 0;
}

/* Every check a send makes, wherever it goes; fills `d`.  0 or -errno. */
static int route_check(struct router *r, const struct router_sender *from,
		       const struct ockam_message *msg, struct dest *d)
{
	const char *sender = from->name;
	struct router_sender plain;
	memset(d, 0, sizeof(*d));
	if ((msg->flags & OCKAM_MSG_SECURE) && from->may_secure &&
	    !secure_mark_ok(r, from, msg)) {
		/* Treated as from a sender that may not mark messages: the
		 * mark is cleared, and reach and access see plaintext. */
		plain = *from;
		plain.may_secure = 0;
		from = &plain;
	}
	d->flags = msg->flags & ~sender_clears(from);
	if (msg->onward.count == 0) {
		log_limited(&r->lim_unknown, OCKAM_LOG_WARN, "router",
			    "message from %s has an empty onward route; dropped",
			    sender);
		return -EINVAL;
	}
	if (msg->onward.count > OCKAM_ROUTE_MAX ||
	    msg->ret.count > OCKAM_ROUTE_MAX)
		return -EINVAL;
	uint8_t type = msg->onward.hop[0].type;
	if (type == OCKAM_ADDR_LOCAL)
		return local_check(r, from, msg, d);

	struct transport *t = &r->transports[type];
	if (!t->ops) {
		char name[OCKAM_ADDR_MAX * 4 + 8];
		r->stats.dropped_unknown++;
		addr_text_format(r, &msg->onward.hop[0], name, sizeof(name));
		log_limited(&r->lim_unknown, OCKAM_LOG_WARN, "router",
			    "no transport for address '%s'; dropped message from %s",
			    name, sender);
		return -EHOSTUNREACH;
	}
	int rc = transport_check(r, from, msg);
	if (rc < 0)
		return rc;
	/* Out of a secure channel whose reach names the address: the
	 * operator named it, so it may be dialled. */
	if (rc == 1)
		d->flags |= OCKAM_MSG_CONNECT;
	d->t = t;
	return 0;
}

static void transport_trace(struct router *r, const char *sender,
			    const struct ockam_message *msg,
			    const struct transport *t)
{
	char what[64];
	snprintf(what, sizeof(what), "handed to transport %s%s", t->scheme,
		 (msg->flags & OCKAM_MSG_CONNECT) ? " (may connect)" : "");
	route_trace(r, sender, msg, what);
}

int router_send_from(struct router *r, const struct router_sender *from,
		     const struct ockam_message *msg)
{
	struct dest d;
	int rc = route_check(r, from, msg, &d);
	if (rc < 0) {
		/* From the network to no worker: its sender is on another
		 * node and learns it from a notice (notice_wire.h). */
		if (rc == -EHOSTUNREACH && from->transport && r->refused_fn &&
		    msg->onward.hop[0].type == OCKAM_ADDR_LOCAL) {
			char why[ROUTER_NAME_MAX + 40];
			snprintf(why, sizeof(why), "no worker at address '%.*s'",
				 msg->onward.hop[0].len,
				 (const char *)msg->onward.hop[0].data);
			r->refused_fn(r->refused_data, msg, rc, why);
		}
		return rc;
	}
	if (d.e) {
		if (r->notice_in_fn && notice_wire_arrived(msg))
			return r->notice_in_fn(r->notice_in_data, msg);
		return send_local(r, from, msg, &d);
	}
	struct ockam_message m;
	msg_as_sent(msg, d.flags, &m);
	r->stats.transport_sent++;
	/* The transport may write the id on the wire (OCKAM_MSG_TRACE_ID). */
	m.trace_id = 0;
	if (r->trace) {
		m.trace_id = trace_id_for(r, from, msg);
		trace_send(r->trace, from->name, NULL, d.t->scheme, &m,
			   m.trace_id, trace_channel(from, d.flags), 1);
	}
	if (log_enabled(OCKAM_LOG_TRACE))
		transport_trace(r, from->name, &m, d.t);
	/* The transport logs its own failures (it knows the details). */
	return d.t->ops->send(d.t->data, &m);
}

int router_send_reserve(struct router *r, const struct router_sender *from,
			const struct ockam_message *msg, size_t cap,
			uint8_t **payload)
{
	struct reservation *v = &r->rsv;
	struct ockam_message m;
	struct dest d;

	if (v->open)
		return -EBUSY;
	int rc = route_check(r, from, msg, &d);
	if (rc < 0)
		return rc;
	msg_as_sent(msg, d.flags, &m);
	m.payload = NULL;
	m.payload_len = 0;
	m.trace_id = r->trace ? trace_id_for(r, from, msg) : 0;
	if (d.t && d.t->ops->reserve && d.t->ops->commit && d.t->ops->abort) {
		rc = d.t->ops->reserve(d.t->data, &m, cap, payload);
		if (rc < 0)
			return rc;
		*v = (struct reservation){.open = 1, .t = d.t, .lent = 1,
					  .sender = from->name, .cap = cap,
					  .payload = *payload,
					  .channel = trace_channel(from, d.flags),
					  .own = v->own};
		if (r->trace)
			trace_send_begin(r->trace, from->name, d.t->scheme, &m,
					 m.trace_id);
		return 0;
	}
	size_t need = msg_copy_size(&m, cap);
	rc = size_check(r, from->name, need, cap);
	if (rc < 0)
		return rc;
	struct slot *s;
	if (d.e) {
		s = slot_next(r, need);
		if (!s)
			return -ENOMEM;
	} else {
		s = &v->own;
		if (s->cap < need) {
			uint8_t *b = realloc(s->buf, need);
			if (!b)
				return -ENOMEM;
			s->buf = b;
			s->cap = need;
		}
	}
	*payload = msg_copy_to(s->buf, &m, 0, &s->msg);
	v->open = 1;
	v->slot = (r->head + r->queued) % r->nslots;
	v->local = d.e;
	v->t = d.t;
	v->lent = 0;
	v->sender = from->name;
	v->cap = cap;
	v->channel = trace_channel(from, d.flags);
	v->trace_id = m.trace_id;
	if (!d.e)
		v->own.msg.trace_id = m.trace_id;
	return 0;
}

int router_send_commit(struct router *r, size_t len)
{
	struct reservation *v = &r->rsv;
	if (!v->open)
		return -EINVAL;
	v->open = 0;
	if (len > v->cap) {
		if (v->lent)
			v->t->ops->abort(v->t->data);
		return -EMSGSIZE;
	}
	if (v->lent) {
		r->stats.transport_sent++;
		if (r->trace)
			trace_send_commit(r->trace, v->payload, len, v->channel);
		return v->t->ops->commit(v->t->data, len);
	}
	if (v->local) {
		/* The slot reserved must still be the next one: nothing may
		 * be sent, nor the handler return, in between. */
		if (v->slot != (r->head + r->queued) % r->nslots)
			return -EINVAL;
		struct slot *s = &r->slots[v->slot];
		s->msg.payload_len = len;
		r->queued++;
		if (r->trace) {
			s->trace_id = v->trace_id;
			trace_send(r->trace, v->sender, v->local->owner,
				   v->local->name, &s->msg, s->trace_id,
				   v->channel, v->channel);
		}
		if (log_enabled(OCKAM_LOG_TRACE))
			queued_trace(r, v->sender, &s->msg, v->local);
		return 0;
	}
	v->own.msg.payload_len = len;
	r->stats.transport_sent++;
	if (r->trace)
		trace_send(r->trace, v->sender, NULL, v->t->scheme, &v->own.msg,
			   v->trace_id, v->channel, 1);
	if (log_enabled(OCKAM_LOG_TRACE))
		transport_trace(r, v->sender, &v->own.msg, v->t);
	int rc = v->t->ops->send(v->t->data, &v->own.msg);
	/* Like a slot: one large message does not pin its buffer. */
	if (v->own.cap > SLOT_KEEP_MAX) {
		free(v->own.buf);
		v->own.buf = NULL;
		v->own.cap = 0;
	}
	return rc;
}

void router_send_abort(struct router *r)
{
	struct reservation *v = &r->rsv;
	if (!v->open)
		return;
	v->open = 0;
	if (v->lent)
		v->t->ops->abort(v->t->data);
}

int router_drain(void *router)
{
	struct router *r = router;
	for (int n = 0; n < DRAIN_BATCH && r->queued; n++) {
		struct slot *s = &r->slots[r->head];
		/* The slot stays ours while its handler runs: `queued` counts
		 * it, so what the handler sends goes into other slots. */
		const struct ockam_message *m = &s->msg;
		const struct ockam_addr *to = &m->onward.hop[0];
		struct entry *e = entry_lookup(r, (const char *)to->data, to->len);
		if (!e) {
			/* Removed since it was queued. */
			r->stats.dropped_unknown++;
			log_write(OCKAM_LOG_DEBUG, "router",
				  "address '%.*s' went away; dropped a queued message",
				  to->len, (const char *)to->data);
		} else {
			if (log_enabled(OCKAM_LOG_TRACE)) {
				char ret[512];
				route_text_format(r, &m->ret, ret, sizeof(ret));
				log_write(OCKAM_LOG_TRACE, "router",
					  "delivering a queued %zu-byte message%s to local worker '%s' (return route %s)",
					  m->payload_len,
					  (m->flags & OCKAM_MSG_SECURE) ? " (secure)" : "",
					  e->name, ret);
			}
			/* The worker sees its flow's id (0: not tracing). */
			s->msg.trace_id = s->trace_id;
			if (r->trace) {
				r->trace_cur = s->trace_id;
				trace_deliver(r->trace, e->owner, e->name, m,
					      s->trace_id);
			}
			r->draining = 1;
			int rc = deliver(r, e, m);
			r->draining = 0;
			/* The sender's send returned 0 already: it learns of
			 * the refusal from a notice. */
			if (rc < 0 && r->refused_fn) {
				char why[ROUTER_NAME_MAX + 96];
				snprintf(why, sizeof(why), "'%.*s' refused it: %s",
					 to->len, (const char *)to->data,
					 strerror(-rc));
				r->refused_fn(r->refused_data, m, rc, why);
			}
		}
		if (s->cap > SLOT_KEEP_MAX) {
			free(s->buf);
			s->buf = NULL;
			s->cap = 0;
		}
		r->head = (r->head + 1) % r->nslots;
		/* Empty: the next burst starts again at slot 0, whose buffers
		 * are still in cache, instead of walking all slots in turn. */
		if (--r->queued == 0)
			r->head = 0;
	}
	return r->queued != 0;
}

void router_set_refused(struct router *r, router_refused_fn fn, void *data)
{
	r->refused_fn = fn;
	r->refused_data = data;
}

void router_set_notice_in(struct router *r, router_notice_in_fn fn, void *data)
{
	r->notice_in_fn = fn;
	r->notice_in_data = data;
}

void router_stats_get(const struct router *r, struct router_stats *out)
{
	*out = r->stats;
	/* Not the one being delivered: it has left the queue for its
	 * worker (its slot is freed when the handler returns). */
	out->queued = r->queued - r->draining;
}

uint64_t router_trace_id(const struct router *r)
{
	return r->trace_cur;
}

uint64_t router_trace_sent(const struct router *r)
{
	return r->trace_sent;
}

void router_trace_in(struct router *r, uint64_t id)
{
	r->trace_in = id;
}
