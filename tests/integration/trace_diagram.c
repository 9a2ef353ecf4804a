/* SPDX-License-Identifier: Apache-2.0 */
/* See trace_diagram.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ.h"
#include "trace_diagram.h"

int td_part(const struct td *d, const char *name)
{
	for (size_t i = 0; i < d->n_parts; i++)
		if (!strcmp(d->parts[i], name))
			return (int)i;
	return -1;
}

static const char *part_name(const struct td *d, const char *id)
{
	char *end;
	if (id[0] != 'p')
		return NULL;
	unsigned long i = strtoul(id + 1, &end, 10);
	if (end == id + 1 || *end || i >= d->n_parts)
		return NULL;
	return d->parts[i];
}

/* Copy a participant's name (distinct objects: no snprintf overlap). */
static void cpy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memmove(dst, src, n);
	dst[n] = '\0';
}

static int parse_line(const char *line, struct td *d)
{
	char a[32], b[32], rest[96];
	unsigned long idx;
	int n = 0;

	if (sscanf(line, "    participant p%lu as %95[^\n]%n", &idx, rest,
		   &n) == 2) {
		if (idx != d->n_parts || d->n_parts == TD_MAX)
			return -1;
		cpy(d->parts[d->n_parts++], sizeof(d->parts[0]), rest);
		return 0;
	}
	if (d->n_steps == TD_MAX)
		return -1;
	struct td_step *s = &d->steps[d->n_steps];
	memset(s, 0, sizeof(*s));
	if (sscanf(line, "    Note over %31[^:]: %95[^\n]", a, s->label) == 2) {
		const char *p = part_name(d, a);
		if (!p)
			return -1;
		s->note = 1;
		cpy(s->from, sizeof(s->from), p);
		cpy(s->to, sizeof(s->to), p);
		d->n_steps++;
		return 0;
	}
	const char *arrow = strstr(line, "->>");
	if (strncmp(line, "    ", 4) != 0 || !arrow)
		return -1;
	s->dashed = arrow > line && arrow[-1] == '-';
	size_t alen = (size_t)(arrow - line - 4 - (size_t)s->dashed);
	if (alen == 0 || alen >= sizeof(a))
		return -1;
	memcpy(a, line + 4, alen);
	a[alen] = '\0';
	if (sscanf(arrow + 3, "%31[^:]: %95[^\n]", b, s->label) != 2)
		return -1;
	const char *pa = part_name(d, a), *pb = part_name(d, b);
	if (!pa || !pb)
		return -1;
	cpy(s->from, sizeof(s->from), pa);
	cpy(s->to, sizeof(s->to), pb);
	d->n_steps++;
	return 0;
}

int td_parse(const char *text, struct td *d)
{
	char line[256];
	memset(d, 0, sizeof(*d));
	if (strncmp(text, "sequenceDiagram\n", 16) != 0) {
		fprintf(stderr, "td: not a sequenceDiagram:\n%s\n", text);
		return -1;
	}
	for (const char *p = text + 16; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= sizeof(line)) {
			fprintf(stderr, "td: line too long\n");
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (parse_line(line, d) < 0) {
			fprintf(stderr, "td: unexpected line: '%s'\n", line);
			return -1;
		}
		p += n + (nl ? 1 : 0);
	}
	return 0;
}

char *td_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

int td_run_tutorial(const char *prefix, const char *const env[],
		    const char *paths[3])
{
	static char files[3][512];
	static const char *const names[3] = { "initiator", "middle",
					      "responder" };
	char e[6][600], path[512];
	const char *penv[12];
	struct hx_proc *proc[3] = { NULL, NULL, NULL };
	int port[3] = { 0, 0, 0 };

	for (int i = 0; i < 3; i++) {
		snprintf(files[i], sizeof(files[i]), "%s/%s.jsonl", hx_dir(H),
			 names[i]);
		paths[i] = files[i];
	}
	/* responder, then middle (its hop goes to the responder), then the
	 * initiator, each with its own trace file. */
	for (int k = 2; k >= 0; k--) {
		size_t n = 0;
		snprintf(e[0], sizeof(e[0]), "OCKAM_TRACE=%s", files[k]);
		snprintf(e[1], sizeof(e[1]), "RESPONDER_PORT=%d", port[2]);
		snprintf(e[2], sizeof(e[2]), "MIDDLE_PORT=%d", port[1]);
		penv[n++] = e[0];
		penv[n++] = e[1];
		penv[n++] = e[2];
		for (size_t i = 0; env && env[i] && n < 11; i++)
			penv[n++] = env[i];
		penv[n] = NULL;
		snprintf(path, sizeof(path), "%s%s.yaml", prefix, names[k]);
		if (k > 0) {
			proc[k] = integ_start_node(names[k], integ_src(path),
						   penv, &port[k]);
			CU_ASSERT_PTR_NOT_NULL(proc[k]);
			if (!proc[k])
				return -1;
		} else {
			proc[0] = hx_spawn_host(H, "initiator", integ_src(path),
						penv);
			CU_ASSERT_PTR_NOT_NULL_FATAL(proc[0]);
		}
	}
	CU_ASSERT_EQUAL(hx_wait_exit(proc[0], HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(proc[0], HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	/* A clean traced run has nothing to worry the user. */
	for (int k = 0; k < 3; k++) {
		const char *log = hx_read(proc[k], HX_STDERR);
		/* The one warning OCKAM_TRACE_PAYLOAD=1 gives is meant. */
		CU_ASSERT_EQUAL(integ_count_problems(log, NULL) -
				integ_count_problems(log, "OCKAM_TRACE_PAYLOAD=1"),
				0);
	}
	/* Stopped, they flush their traces. */
	CU_ASSERT_EQUAL(hx_stop(proc[1], HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(proc[2], HX_EXIT_MS), 0);
	return 0;
}
