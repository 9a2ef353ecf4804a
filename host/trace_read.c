/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trace files read back for `ockam-host trace`: one event per line,
 * checked field by field; a line that is not a version-1 event is said
 * as "file:line: why" and skipped, the rest is kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_flow.h"
#include "trace_json.h"

/* The longest line read; a longer one is reported and skipped. */
#define TRACE_LINE_READ_MAX (1024 * 1024)

struct fill {
	struct tev *e;
	int have_v, have_ev, have_node, have_worker, have_wall;
	char why[160];
};

static int copy(struct fill *f, char *dst, size_t cap, const char *key,
		const struct tj_value *v)
{
	if (v->type != TJ_STR) {
		snprintf(f->why, sizeof(f->why), "'%s' must be a string", key);
		return 1;
	}
	snprintf(dst, cap, "%s", v->str);
	return 0;
}

static int num(struct fill *f, uint64_t *dst, const char *key,
	       const struct tj_value *v)
{
	if (v->type != TJ_NUM) {
		snprintf(f->why, sizeof(f->why),
			 "'%s' must be a non-negative integer", key);
		return 1;
	}
	*dst = v->num;
	return 0;
}

static int flag(struct fill *f, int *dst, const char *key,
		const struct tj_value *v)
{
	if (v->type != TJ_BOOL) {
		snprintf(f->why, sizeof(f->why), "'%s' must be true or false",
			 key);
		return 1;
	}
	*dst = v->b;
	return 0;
}

static int member(void *data, const char *key, const struct tj_value *v)
{
	struct fill *f = data;
	struct tev *e = f->e;
	uint64_t ver;

	if (!strcmp(key, "v")) {
		if (num(f, &ver, key, v))
			return 1;
		if (ver != 1) {
			snprintf(f->why, sizeof(f->why),
				 "trace format version %llu is not known (this is version 1)",
				 (unsigned long long)ver);
			return 1;
		}
		f->have_v = 1;
		return 0;
	}
	if (!strcmp(key, "ev"))
		return f->have_ev = 1, copy(f, e->ev, sizeof(e->ev), key, v);
	if (!strcmp(key, "node"))
		return f->have_node = 1,
		       copy(f, e->node, sizeof(e->node), key, v);
	if (!strcmp(key, "worker"))
		return f->have_worker = 1,
		       copy(f, e->worker, sizeof(e->worker), key, v);
	if (!strcmp(key, "wall_ns"))
		return f->have_wall = 1, num(f, &e->wall_ns, key, v);
	if (!strcmp(key, "mono_ns"))
		return num(f, &e->mono_ns, key, v);
	if (!strcmp(key, "len"))
		return num(f, &e->len, key, v);
	if (!strcmp(key, "wire_len"))
		return num(f, &e->wire_len, key, v);
	if (!strcmp(key, "to"))
		return copy(f, e->to, sizeof(e->to), key, v);
	if (!strcmp(key, "peer"))
		return copy(f, e->peer, sizeof(e->peer), key, v);
	if (!strcmp(key, "hash"))
		return copy(f, e->hash, sizeof(e->hash), key, v);
	if (!strcmp(key, "trace"))
		return copy(f, e->trace, sizeof(e->trace), key, v);
	if (!strcmp(key, "secure"))
		return flag(f, &e->secure, key, v);
	if (!strcmp(key, "channel"))
		return flag(f, &e->channel, key, v);
	if (!strcmp(key, "transport"))
		return flag(f, &e->transport, key, v);
	if (!strcmp(key, "onward") || !strcmp(key, "return")) {
		if (v->type != TJ_LIST) {
			snprintf(f->why, sizeof(f->why),
				 "'%s' must be a list of addresses", key);
			return 1;
		}
		return 0;
	}
	/* Other members (newer writers, payload) are not needed here. */
	return 0;
}

static int parse_line(char *s, size_t len, struct tev *e, char *why,
		      size_t why_len)
{
	struct fill f = { .e = e };
	char err[200];
	memset(e, 0, sizeof(*e));
	int rc = tj_parse_object(s, len, member, &f, err, sizeof(err));
	if (rc < 0) {
		snprintf(why, why_len, "not a JSON object: %s", err);
		return -1;
	}
	if (rc) {
		snprintf(why, why_len, "%s", f.why);
		return -1;
	}
	const char *missing = !f.have_v ? "v" : !f.have_ev ? "ev" :
			      !f.have_node ? "node" : !f.have_worker ? "worker" :
			      !f.have_wall ? "wall_ns" : NULL;
	if (missing) {
		snprintf(why, why_len, "missing '%s'", missing);
		return -1;
	}
	return 0;
}

static int list_push(struct tev_list *l, const struct tev *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct tev *p = realloc(l->ev, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->ev = p;
		l->cap = cap;
	}
	l->ev[l->n] = *e;
	l->ev[l->n].seq = l->n;
	l->n++;
	return 0;
}

int trace_read_file(const char *path, struct tev_list *l, FILE *err)
{
	FILE *in = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t got;
	unsigned lineno = 0;
	struct tev e;
	char why[256];

	if (!in) {
		fprintf(err, "ockam-host trace: cannot read %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while ((got = getline(&buf, &cap, in)) >= 0) {
		size_t len = (size_t)got;
		lineno++;
		int complete = len && buf[len - 1] == '\n';
		if (complete)
			len--;
		if (len == 0 && complete)
			continue; /* blank lines are harmless */
		if (!complete) {
			fprintf(err, "%s:%u: incomplete last line (no newline: the node was stopped while writing?); skipped\n",
				path, lineno);
			l->bad++;
			continue;
		}
		if (len > TRACE_LINE_READ_MAX) {
			fprintf(err, "%s:%u: line of %zu bytes is too long; skipped\n",
				path, lineno, len);
			l->bad++;
			continue;
		}
		if (parse_line(buf, len, &e, why, sizeof(why)) < 0) {
			fprintf(err, "%s:%u: %s; skipped\n", path, lineno, why);
			l->bad++;
			continue;
		}
		e.file = path;
		e.line = lineno;
		if (list_push(l, &e) < 0) {
			fprintf(err, "ockam-host trace: out of memory\n");
			free(buf);
			fclose(in);
			return -1;
		}
	}
	int rc = ferror(in) ? -1 : 0;
	if (rc)
		fprintf(err, "ockam-host trace: error reading %s\n", path);
	free(buf);
	fclose(in);
	return rc;
}

void tev_list_free(struct tev_list *l)
{
	free(l->ev);
	memset(l, 0, sizeof(*l));
}
