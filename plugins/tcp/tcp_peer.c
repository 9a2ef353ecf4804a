/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reconnect backoff for outbound addresses, and the memory of inbound keys.
 *
 * Outbound ("localhost:3000", the text a route named): a connection is
 * opened on first use.  When one fails or is lost, a record here keeps the
 * address's history and the time before which no new attempt is made:
 * 100 ms doubling to 30 s, +-20% jitter so that many nodes do not retry in
 * step.  Meanwhile a send fails at once with -EHOSTUNREACH.  Attempts are
 * made on demand (the next send after the backoff), never by a timer, so an
 * address used once is not dialled forever.  Lines are logged per state
 * change (lost, cannot connect, a different error, backoff at its maximum,
 * restored), not per attempt or message; the rest is at debug level and
 * counted in the next state-change line.  At most TCP_PEERS_MAX records;
 * when full, the one allowed to retry soonest is forgotten (it loses at
 * most one backoff step).
 *
 * Inbound keys ("127.0.0.1:51234", a peer's ephemeral port) are pushed on
 * return routes so that replies find their connection.  Once that
 * connection is gone, dialling the key could only fail or reach an
 * unrelated service that took the port.  The text of a key cannot tell the
 * two kinds apart, so the last TCP_GONE_MAX closed inbound keys are kept in
 * a ring and a send to one of them fails with -ENOTCONN.  A key older than
 * that is dialled like any address (best effort: a peer can push the ring
 * over by opening many connections, but a peer can also name any address
 * in an onward route, so this adds no reach).
 */
#include "tcp_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tcp_peer *tcp_peer_find(struct tcp *t, const void *key, size_t len)
{
	size_t i;

	for (i = 0; i < t->n_peers; i++)
		if (t->peers[i].key_len == len &&
		    memcmp(t->peers[i].key, key, len) == 0)
			return &t->peers[i];
	return NULL;
}

void tcp_peer_take(struct tcp *t, struct tcp_peer *p, struct tcp_backoff *b)
{
	*b = p->b;
	*p = t->peers[--t->n_peers];
}

/* A record for `key`, reusing the existing one, a free slot, or the one
 * allowed to retry soonest.  NULL only if out of memory. */
static struct tcp_peer *peer_get(struct tcp *t, const char *key, size_t len)
{
	struct tcp_peer *p = tcp_peer_find(t, key, len);
	size_t i;

	if (p)
		return p;
	if (!t->peers) {
		t->peers = calloc(TCP_PEERS_MAX, sizeof(*t->peers));
		if (!t->peers)
			return NULL;
	}
	if (t->n_peers < TCP_PEERS_MAX) {
		p = &t->peers[t->n_peers++];
	} else {
		p = &t->peers[0];
		for (i = 1; i < t->n_peers; i++)
			if (t->peers[i].retry_ms < p->retry_ms)
				p = &t->peers[i];
	}
	memset(p, 0, sizeof(*p));
	memcpy(p->key, key, len);
	p->key[len] = '\0';
	p->key_len = len;
	return p;
}

/* xorshift64*: jitter only, not secret. */
static uint32_t jitter_next(struct tcp *t)
{
	uint64_t x = t->rng;

	if (!x)
		x = (t->host->now_ms() ^ (uint64_t)(uintptr_t)t) |
		    0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

static uint64_t backoff_base(unsigned failures)
{
	uint64_t ms = TCP_BACKOFF_BASE_MS;

	while (--failures && ms < TCP_BACKOFF_MAX_MS)
		ms *= 2;
	return ms < TCP_BACKOFF_MAX_MS ? ms : TCP_BACKOFF_MAX_MS;
}

void tcp_ms_format(uint64_t ms, char *out, size_t cap)
{
	unsigned long long tenths = (unsigned long long)(ms + 50) / 100;

	if (ms < 10000)
		snprintf(out, cap, "%llu.%llus", tenths / 10, tenths % 10);
	else
		snprintf(out, cap, "%llus", (unsigned long long)(ms + 500) / 1000);
}

void tcp_peer_down(struct tcp *t, const char *key, size_t len,
		   const struct tcp_backoff *b, int was_open, int healthy,
		   int err, const char *reason, const char *dropped,
		   size_t ndropped)
{
	const struct ockam_host *h = t->host;
	struct tcp_backoff nb = *b;
	struct tcp_peer *p;
	uint64_t base, ms;
	char in[16];

	if (was_open) {
		/* A healthy connection starts over; one that died young
		 * keeps climbing, so a peer that accepts and closes at once
		 * cannot make us reconnect in a loop. */
		nb.failures = healthy ? 1 : nb.failures + 1;
		nb.attempts = 0;
		nb.refused = healthy ? (unsigned)ndropped
				     : nb.refused + (unsigned)ndropped;
		nb.err = 0;
		nb.capped = 0;
	} else {
		nb.failures++;
		nb.refused += (unsigned)ndropped;
	}
	base = backoff_base(nb.failures);
	/* +-20% */
	ms = base * 4 / 5 + (uint64_t)jitter_next(t) % (base * 2 / 5 + 1);
	tcp_ms_format(ms, in, sizeof(in));

	if (was_open) {
		h->log(t->ctx, OCKAM_LOG_WARN,
		       "connection to %s lost: %s%s; reconnecting on next send "
		       "after %s",
		       key, reason, dropped, in);
	} else if (nb.failures == 1 || err != b->err) {
		h->log(t->ctx, OCKAM_LOG_WARN,
		       "cannot connect to %s: %s%s; retrying on next send "
		       "after %s",
		       key, reason, dropped, in);
		nb.err = err;
	} else if (base >= TCP_BACKOFF_MAX_MS && !nb.capped) {
		h->log(t->ctx, OCKAM_LOG_WARN,
		       "still cannot connect to %s after %u attempts: %s; %u "
		       "message%s not sent so far; retrying on next send at "
		       "most every %us",
		       key, nb.attempts, reason, nb.refused,
		       nb.refused == 1 ? "" : "s", TCP_BACKOFF_MAX_MS / 1000);
		nb.capped = 1;
	} else {
		h->log(t->ctx, OCKAM_LOG_DEBUG,
		       "cannot connect to %s (attempt %u): %s%s; next attempt "
		       "after %s",
		       key, nb.attempts, reason, dropped, in);
	}

	p = peer_get(t, key, len);
	if (!p)
		return; /* out of memory: no backoff, still correct */
	p->b = nb;
	p->retry_ms = h->now_ms() + ms;
}

void tcp_gone_add(struct tcp *t, const char *key, size_t len)
{
	if (len >= TCP_GONE_KEY || tcp_gone_has(t, key, len))
		return;
	if (!t->gone) {
		t->gone = calloc(TCP_GONE_MAX, sizeof(*t->gone));
		if (!t->gone)
			return;
	}
	memcpy(t->gone[t->gone_next], key, len);
	t->gone[t->gone_next][len] = '\0';
	t->gone_next = (t->gone_next + 1) % TCP_GONE_MAX;
	if (t->n_gone < TCP_GONE_MAX)
		t->n_gone++;
}

int tcp_gone_has(struct tcp *t, const void *key, size_t len)
{
	size_t i;

	if (len >= TCP_GONE_KEY)
		return 0;
	for (i = 0; i < t->n_gone; i++)
		if (memcmp(t->gone[i], key, len) == 0 && !t->gone[i][len])
			return 1;
	return 0;
}

void tcp_peers_free(struct tcp *t)
{
	free(t->peers);
	t->peers = NULL;
	t->n_peers = 0;
	free(t->gone);
	t->gone = NULL;
	t->n_gone = t->gone_next = 0;
}
