/* SPDX-License-Identifier: Apache-2.0 */
#include "notice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg_copy.h"
#include "router.h"

struct notice {
	uint8_t *buf; /* the message's own copy (msg_copy.h) */
	struct ockam_message msg; /* views into buf */
	int err;
	const char *why; /* in buf, after the message */
};

struct handler {
	void *owner;
	notice_fn fn;
};

struct notices {
	struct router *router;
	struct notice *ring;
	size_t cap, head, count;
	struct handler *handlers;
	size_t n_handlers;
	struct notice_stats stats;
	struct ockam_log_limit lim_full;
	notice_remote_fn remote_fn;
	void *remote_data;
};

void notices_set_remote(struct notices *n, notice_remote_fn fn, void *data)
{
	n->remote_fn = fn;
	n->remote_data = data;
}

struct notices *notices_create(struct router *r, size_t cap)
{
	struct notices *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->ring = calloc(cap ? cap : 1, sizeof(*n->ring));
	if (!n->ring) {
		free(n);
		return NULL;
	}
	n->router = r;
	n->cap = cap ? cap : 1;
	return n;
}

void notices_destroy(struct notices *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->count; i++)
		free(n->ring[(n->head + i) % n->cap].buf);
	free(n->ring);
	free(n->handlers);
	free(n);
}

int notices_handler_add(struct notices *n, void *owner, notice_fn fn)
{
	struct handler *h = realloc(n->handlers,
				    (n->n_handlers + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	n->handlers = h;
	h[n->n_handlers].owner = owner;
	h[n->n_handlers].fn = fn;
	n->n_handlers++;
	return 0;
}

void notices_handler_remove(struct notices *n, void *owner)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_handlers; i++)
		if (n->handlers[i].owner == owner) {
			n->handlers[i] = n->handlers[--n->n_handlers];
			return;
		}
}

static notice_fn handler_find(const struct notices *n, const void *owner)
{
	for (size_t i = 0; i < n->n_handlers; i++)
		if (n->handlers[i].owner == owner)
			return n->handlers[i].fn;
	return NULL;
}

int notices_post(struct notices *n, const struct ockam_message *msg, int err,
		 const char *why)
{
	n->stats.posted++;
	if (msg->ret.count && msg->ret.hop[0].type != OCKAM_ADDR_LOCAL &&
	    n->remote_fn)
		return n->remote_fn(n->remote_data, msg, err, why);
	if (msg->ret.count == 0 || msg->ret.hop[0].type != OCKAM_ADDR_LOCAL) {
		n->stats.no_sender++;
		return -ENOENT;
	}
	if (n->count == n->cap) {
		n->stats.dropped_full++;
		log_limited(&n->lim_full, OCKAM_LOG_DEBUG, "router",
			    "delivery-failure notice queue full (%zu): notice dropped",
			    n->cap);
		return -ENOBUFS;
	}
	size_t len = msg_copy_size(msg, msg->payload_len);
	size_t wlen = why ? strnlen(why, NOTICE_WHY_MAX - 1) : 0;
	if (len == 0 || len > SIZE_MAX - wlen - 1)
		return -EMSGSIZE;
	uint8_t *buf = malloc(len + wlen + 1);
	if (!buf)
		return -ENOMEM;
	/* Rare by nature (a failure per message), so a copy per notice is
	 * fine; the ring bounds how many can exist.  The message it is
	 * about lives in someone else's buffer: the notice keeps its own. */
	struct notice *slot = &n->ring[(n->head + n->count) % n->cap];
	slot->buf = buf;
	msg_copy_to(buf, msg, 1, &slot->msg);
	slot->err = err;
	char *w = (char *)buf + len;
	if (wlen)
		memcpy(w, why, wlen);
	w[wlen] = '\0';
	slot->why = w;
	n->count++;
	return 0;
}

static void notice_deliver(struct notices *n, const struct notice *no)
{
	const struct ockam_message *msg = &no->msg;
	void *owner, *addr_data;
	const struct ockam_addr *to = &msg->ret.hop[0];
	notice_fn fn = NULL;
	if (router_address_owner(n->router, (const char *)to->data, to->len,
				 &owner, &addr_data) == 0)
		fn = handler_find(n, owner);
	if (!fn) {
		n->stats.no_handler++;
		return;
	}
	n->stats.delivered++;
	fn(owner, addr_data, msg, no->err, no->why);
}

int notices_drain(struct notices *n)
{
	/* A notice passed back along a chain of local hops is re-posted by
	 * each of them: deliver those in the same pass (the sender may have
	 * finished by the next one), but boundedly, so that a plugin that
	 * keeps re-posting cannot starve the node. */
	size_t todo = 4 * n->cap;
	while (todo-- && n->count) {
		struct notice no = n->ring[n->head];
		n->ring[n->head].buf = NULL;
		n->head = (n->head + 1) % n->cap;
		n->count--;
		notice_deliver(n, &no);
		free(no.buf);
	}
	return n->count != 0;
}

void notices_stats_get(const struct notices *n, struct notice_stats *out)
{
	*out = n->stats;
}
