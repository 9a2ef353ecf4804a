/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery-failure notices across nodes (notice_wire.h).
 *
 * Payload, after the version-1 message encoding (docs/protocol.md):
 *
 *   version:u8 (=1)  code:u8  node_len:u8  node[node_len]  reason[rest]
 *
 * `code` is the errno class (below), so that nodes on other systems agree;
 * `node` is the dropping node's name and `reason` its short explanation
 * (at most NOTICE_WIRE_REASON_MAX bytes, printable ASCII).
 */
#include "notice_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "notice.h"
#include "route_text.h"
#include "router.h"

struct wire_notices {
	struct router *router;
	struct notices *local;
	char node[ROUTER_NAME_MAX + 1];
	/* Token bucket: NOTICE_WIRE_RATE a second, bursts of as many. */
	uint64_t tokens_ms; /* when the bucket was last refilled */
	uint32_t tokens;
	struct wire_notice_stats stats;
	struct ockam_log_limit lim_rate, lim_bad;
};

/* errno <-> the code on the wire. */
static const int codes[] = {
	0, EHOSTUNREACH, EACCES, ENOTCONN, ECONNREFUSED, ENOBUFS, EMSGSIZE,
	ECONNRESET, ETIMEDOUT,
};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

static uint8_t code_of(int err)
{
	for (size_t i = 1; i < N_CODES; i++)
		if (codes[i] == -err)
			return (uint8_t)i;
	return 0;
}

static int err_of(uint8_t code)
{
	return code && code < N_CODES ? -codes[code] : -EIO;
}

struct wire_notices *wire_notices_create(struct router *r,
					 struct notices *local,
					 const char *node_name)
{
	struct wire_notices *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->router = r;
	w->local = local;
	snprintf(w->node, sizeof(w->node), "%s", node_name ? node_name : "");
	w->tokens = NOTICE_WIRE_RATE;
	return w;
}

void wire_notices_destroy(struct wire_notices *w)
{
	free(w);
}

static int take_token(struct wire_notices *w)
{
	uint64_t now = loop_now_ms();
	uint64_t add = (now - w->tokens_ms) * NOTICE_WIRE_RATE / 1000;
	if (add) {
		w->tokens = add + w->tokens > NOTICE_WIRE_RATE
				    ? NOTICE_WIRE_RATE
				    : (uint32_t)(w->tokens + add);
		w->tokens_ms = now;
	}
	if (!w->tokens)
		return 0;
	w->tokens--;
	return 1;
}

/* Printable ASCII only: a reason may quote bytes a stranger chose. */
static size_t clean_copy(char *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	return n;
}

int wire_notice_send(struct wire_notices *w, const struct ockam_message *failed,
		     int err, const char *why)
{
	uint8_t buf[3 + ROUTER_NAME_MAX + NOTICE_WIRE_REASON_MAX];
	struct ockam_addr marker;
	struct ockam_message n;

	if (failed->ret.count == 0)
		return -ENOENT;
	if (notice_wire_marked(&failed->ret)) {
		/* Never a notice about a notice: two nodes that cannot reach
		 * each other would bounce them forever. */
		w->stats.about_notice++;
		return -ENOENT;
	}
	if (!take_token(w)) {
		w->stats.rate_limited++;
		log_limited(&w->lim_rate, OCKAM_LOG_DEBUG, "router",
			    "more than %d delivery-failure notices a second: not telling the sender",
			    NOTICE_WIRE_RATE);
		return -EAGAIN;
	}
	size_t nl = strlen(w->node), rl = why ? strlen(why) : 0;
	if (rl > NOTICE_WIRE_REASON_MAX)
		rl = NOTICE_WIRE_REASON_MAX;
	buf[0] = NOTICE_WIRE_VERSION;
	buf[1] = code_of(err);
	buf[2] = (uint8_t)nl;
	memcpy(buf + 3, w->node, nl);
	clean_copy((char *)buf + 3 + nl, (const uint8_t *)why, rl);

	ockam_addr_set(&marker, OCKAM_ADDR_LOCAL, NOTICE_WIRE_MARKER,
		       NOTICE_WIRE_MARKER_LEN);
	ockam_message_init(&n);
	n.onward = failed->ret;
	n.ret = ockam_route_make(&marker, 1);
	n.payload = buf;
	n.payload_len = 3 + nl + rl;
	n.flags = OCKAM_MSG_BEST_EFFORT;
	/* Back over the connection the message came on: never
	 * OCKAM_MSG_CONNECT, so a notice cannot make this node dial. */
	struct router_sender from = {.name = "router"};
	int rc = router_send_from(w->router, &from, &n);
	if (rc < 0) {
		w->stats.send_failed++;
		return rc;
	}
	w->stats.sent++;
	/* The dropper has logged why; say only that the sender was told. */
	if (log_enabled(OCKAM_LOG_DEBUG)) {
		char route[256];
		route_text_format(w->router, &failed->ret, route, sizeof(route));
		log_write(OCKAM_LOG_DEBUG, "router",
			  "sent a delivery-failure notice back along %s", route);
	}
	return 0;
}

int wire_notice_receive(struct wire_notices *w, const struct ockam_message *msg)
{
	const uint8_t *p = msg->payload;
	size_t len = msg->payload_len;
	char node[ROUTER_NAME_MAX + 1], reason[NOTICE_WIRE_REASON_MAX + 1];
	char why[NOTICE_WHY_MAX];

	w->stats.received++;
	if (len < 3 || p[0] != NOTICE_WIRE_VERSION || p[2] > ROUTER_NAME_MAX ||
	    (size_t)3 + p[2] > len ||
	    len - 3 - p[2] > NOTICE_WIRE_REASON_MAX) {
		/* Another version, or junk: a notice is a hint, nothing
		 * depends on it. */
		w->stats.malformed++;
		log_limited(&w->lim_bad, OCKAM_LOG_DEBUG, "router",
			    "dropped a delivery-failure notice it cannot read (%zu bytes, version %u)",
			    len, len ? p[0] : 0);
		return 0;
	}
	node[clean_copy(node, p + 3, p[2])] = '\0';
	size_t rl = len - 3 - p[2];
	reason[clean_copy(reason, p + 3 + p[2], rl)] = '\0';
	/* NOTICE_WHY_MAX may cut a long reason short: it is a hint. */
	int wn = snprintf(why, sizeof(why), "undeliverable at %s: ", node);
	if (wn > 0 && (size_t)wn < sizeof(why))
		memcpy(why + wn, reason,
		       strlen(reason) < sizeof(why) - (size_t)wn
			       ? strlen(reason) + 1
			       : sizeof(why) - (size_t)wn);
	why[sizeof(why) - 1] = '\0';

	/* What the local notice is about: the route back to the node that
	 * dropped it (the notice's return route without the marker), which
	 * is the way the message went, as this node wrote its first hop. */
	struct ockam_message m;
	ockam_message_init(&m);
	m.onward.hop = msg->ret.hop;
	m.onward.count = msg->ret.count - 1;
	m.ret = ockam_route_make(&msg->onward.hop[0], 1);
	log_write(OCKAM_LOG_DEBUG, "router", "delivery-failure notice for '%.*s': %s",
		  msg->onward.hop[0].len, (const char *)msg->onward.hop[0].data,
		  why);
	notices_post(w->local, &m, err_of(p[1]), why);
	return 0;
}

void wire_notices_stats_get(const struct wire_notices *w,
			    struct wire_notice_stats *out)
{
	*out = w->stats;
}
