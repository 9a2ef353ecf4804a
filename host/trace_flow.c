/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Events of many nodes merged into one sequence of steps.
 *
 * Events are put in wall-clock order (one machine's clock, or clocks kept
 * in step), each file's own order breaking ties.  A worker's send is an
 * arrow from it to where it sent (a local worker, or its transport); a
 * frame a transport queued is an arrow to the transport of the node that
 * read it: the first frame read elsewhere with the same payload hash and
 * length, not joined yet.  A frame nobody read in the files given goes to
 * (or comes from) a lifeline named after the peer.  Sealing and opening a
 * record are notes.  An arrow is marked encrypted when its bytes are a
 * secure channel's traffic: the hash of something a channel sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_flow.h"

static int by_time(const void *a, const void *b)
{
	const struct tev *x = a, *y = b;
	if (x->wall_ns != y->wall_ns)
		return x->wall_ns < y->wall_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static long part_find(struct flow *f, const char *name)
{
	for (size_t i = 0; i < f->n_parts; i++)
		if (!strcmp(f->parts[i].name, name))
			return (long)i;
	struct participant *p =
		realloc(f->parts, (f->n_parts + 1) * sizeof(*p));
	if (!p)
		return -1;
	f->parts = p;
	snprintf(p[f->n_parts].name, sizeof(p[0].name), "%s", name);
	return (long)f->n_parts++;
}

static long part_of(struct flow *f, const char *node, const char *worker)
{
	char name[sizeof(f->parts[0].name)];
	snprintf(name, sizeof(name), "%s/%s", node, worker);
	return part_find(f, name);
}

static struct step *step_add(struct flow *f)
{
	struct step *s = realloc(f->steps, (f->n_steps + 1) * sizeof(*s));
	if (!s)
		return NULL;
	f->steps = s;
	s = &f->steps[f->n_steps++];
	memset(s, 0, sizeof(*s));
	return s;
}

/* Hashes of what secure channels sent (their handshakes and records),
 * sorted for lookups. */
struct hashes {
	char (*h)[20];
	size_t n;
};

static int hash_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int hashes_build(const struct tev_list *l, struct hashes *hs)
{
	hs->n = 0;
	hs->h = malloc((l->n ? l->n : 1) * sizeof(*hs->h));
	if (!hs->h)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		if (l->ev[i].channel && l->ev[i].hash[0])
			memcpy(hs->h[hs->n++], l->ev[i].hash, 20);
	qsort(hs->h, hs->n, sizeof(*hs->h), hash_cmp);
	return 0;
}

static int channel_hash(const struct hashes *hs, const char *hash)
{
	return hash[0] && hs->n &&
	       bsearch(hash, hs->h, hs->n, sizeof(*hs->h), hash_cmp) != NULL;
}

/* The frame read that `out` became: on another node, same hash and
 * length, not joined yet, first in time. */
static struct tev *wire_match(struct tev_list *l, size_t from,
			      const struct tev *out)
{
	if (!out->hash[0])
		return NULL;
	for (size_t i = from; i < l->n; i++) {
		struct tev *e = &l->ev[i];
		if (!e->matched && !strcmp(e->ev, "wire_in") &&
		    strcmp(e->node, out->node) != 0 &&
		    !strcmp(e->hash, out->hash) && e->wire_len == out->wire_len)
			return e;
	}
	return NULL;
}

static int arrow(struct flow *f, long from, long to, const char *label,
		 int encrypted, int secure)
{
	if (from < 0 || to < 0)
		return -ENOMEM;
	struct step *s = step_add(f);
	if (!s)
		return -ENOMEM;
	s->kind = STEP_ARROW;
	s->from = (size_t)from;
	s->to = (size_t)to;
	s->encrypted = encrypted;
	s->secure = secure;
	snprintf(s->label, sizeof(s->label), "%s", label);
	return 0;
}

static int flow_order(struct flow *f);

int trace_flow_build(struct tev_list *l, struct flow *f)
{
	char label[96], peer[sizeof(f->parts[0].name)];
	memset(f, 0, sizeof(*f));
	if (l->n)
		qsort(l->ev, l->n, sizeof(l->ev[0]), by_time);
	/* Frames joined before their turn comes (the reader's side). */
	for (size_t i = 0; i < l->n; i++)
		l->ev[i].matched = 0;
	struct hashes hs;
	if (hashes_build(l, &hs) < 0)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		struct tev *e = &l->ev[i];
		int enc = channel_hash(&hs, e->hash);
		if (!strcmp(e->ev, "send")) {
			snprintf(label, sizeof(label), "%s%llu B",
				 enc ? "channel " : e->secure ? "secure " : "",
				 (unsigned long long)e->len);
			/* Lifelines in the order they first appear. */
			long from = part_of(f, e->node, e->worker);
			rc = arrow(f, from,
				   part_of(f, e->node, e->to[0] ? e->to : "?"),
				   label, enc, e->secure);
		} else if (!strcmp(e->ev, "wire_out")) {
			struct tev *in = wire_match(l, i + 1, e);
			long from = part_of(f, e->node, e->worker), to;
			snprintf(label, sizeof(label), "%sframe %llu B",
				 enc ? "channel " : "",
				 (unsigned long long)e->wire_len);
			if (in) {
				in->matched = 1;
				to = part_of(f, in->node, in->worker);
			} else {
				snprintf(peer, sizeof(peer), "peer %s", e->peer);
				to = part_find(f, peer);
			}
			rc = arrow(f, from, to, label, enc, 0);
		} else if (!strcmp(e->ev, "wire_in") && !e->matched) {
			snprintf(label, sizeof(label), "%sframe %llu B",
				 enc ? "channel " : "",
				 (unsigned long long)e->wire_len);
			snprintf(peer, sizeof(peer), "peer %s", e->peer);
			long from = part_find(f, peer);
			rc = arrow(f, from, part_of(f, e->node, e->worker),
				   label, enc, 0);
		} else if (!strcmp(e->ev, "encrypt") ||
			   !strcmp(e->ev, "decrypt")) {
			long p = part_of(f, e->node, e->worker);
			struct step *s = p < 0 ? NULL : step_add(f);
			if (!s) {
				rc = -ENOMEM;
				break;
			}
			s->kind = STEP_NOTE;
			s->from = s->to = (size_t)p;
			snprintf(s->label, sizeof(s->label), "%s %llu B",
				 e->ev, (unsigned long long)e->len);
		}
		/* deliver: the send's arrow already ends there. */
	}
	free(hs.h);
	return rc < 0 ? rc : flow_order(f);
}

/* Lifelines left to right in the order a reader follows the flow: in
 * order of first appearance, except that a worker first seen sending to
 * one already drawn goes just left of it (an app before the channel it
 * talks to, as in the tutorials: app -> alice -> tcp ...). */
static int flow_order(struct flow *f)
{
	size_t n = f->n_parts, placed = 0;
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	long *pos = malloc((n ? n : 1) * sizeof(*pos));
	struct participant *parts = malloc((n ? n : 1) * sizeof(*parts));
	if (!order || !pos || !parts) {
		free(order);
		free(pos);
		free(parts);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		pos[i] = -1;
	for (size_t i = 0; i < f->n_steps; i++) {
		size_t a = f->steps[i].from, b = f->steps[i].to;
		if (pos[a] < 0 && pos[b] >= 0) {
			size_t at = (size_t)pos[b];
			memmove(order + at + 1, order + at,
				(placed - at) * sizeof(*order));
			order[at] = a;
			placed++;
			for (size_t k = at; k < placed; k++)
				pos[order[k]] = (long)k;
			continue;
		}
		if (pos[a] < 0) {
			pos[a] = (long)placed;
			order[placed++] = a;
		}
		if (pos[b] < 0) {
			pos[b] = (long)placed;
			order[placed++] = b;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (pos[i] < 0) { /* cannot happen: every one is in a step */
			pos[i] = (long)placed;
			order[placed++] = i;
		}
	for (size_t k = 0; k < n; k++)
		parts[k] = f->parts[order[k]];
	for (size_t i = 0; i < f->n_steps; i++) {
		f->steps[i].from = (size_t)pos[f->steps[i].from];
		f->steps[i].to = (size_t)pos[f->steps[i].to];
	}
	free(f->parts);
	f->parts = parts;
	free(order);
	free(pos);
	return 0;
}

void trace_flow_free(struct flow *f)
{
	free(f->parts);
	free(f->steps);
	memset(f, 0, sizeof(*f));
}
