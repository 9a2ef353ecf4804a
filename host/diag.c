/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Collected diagnostics; see diag.h.
 */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

/* Longest source line shown under a message; longer ones are cut. */
#define EXCERPT_MAX 160

void diag_init(struct diag *d, FILE *echo)
{
	memset(d, 0, sizeof(*d));
	d->echo = echo;
}

void diag_free(struct diag *d)
{
	free(d->text);
	free(d->src_name);
	free(d->src_text);
	free(d->src_lines);
	d->text = d->src_name = d->src_text = NULL;
	d->src_lines = NULL;
	d->len = d->cap = d->src_len = d->src_n_lines = 0;
}

int diag_set_source(struct diag *d, const char *name, const char *text,
		    size_t len)
{
	size_t lines = 1;

	free(d->src_name);
	free(d->src_text);
	free(d->src_lines);
	d->src_name = d->src_text = NULL;
	d->src_lines = NULL;
	d->src_len = d->src_n_lines = 0;
	if (len > UINT32_MAX)
		return -1;
	for (const char *p = text, *end = text + len;
	     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		lines++;
	d->src_name = strdup(name);
	d->src_text = malloc(len + 1);
	d->src_lines = malloc(lines * sizeof(*d->src_lines));
	if (!d->src_name || !d->src_text || !d->src_lines) {
		free(d->src_name);
		free(d->src_text);
		free(d->src_lines);
		d->src_name = d->src_text = NULL;
		d->src_lines = NULL;
		return -1;
	}
	memcpy(d->src_text, text, len);
	d->src_text[len] = '\0';
	d->src_len = len;
	d->src_lines[d->src_n_lines++] = 0;
	for (const char *p = d->src_text, *end = d->src_text + len;
	     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		d->src_lines[d->src_n_lines++] =
			(uint32_t)(p + 1 - d->src_text);
	return 0;
}

int diag_room(const struct diag *d)
{
	return d->errors < DIAG_SHOWN_MAX;
}

/* Room for `extra` more bytes plus the NUL; 0 or -1 (out of memory). */
static int diag_reserve(struct diag *d, size_t extra)
{
	size_t cap = d->cap ? d->cap : 256;
	char *t;

	if (d->len + extra + 1 <= d->cap)
		return 0;
	while (cap < d->len + extra + 1)
		cap *= 2;
	t = realloc(d->text, cap);
	if (!t)
		return -1;
	d->text = t;
	d->cap = cap;
	return 0;
}

/* Show source line `line` of `file` and a caret under `col`, as compilers
 * do, from the copy diag_set_source kept: at most EXCERPT_MAX bytes of
 * the line are looked at.  Nothing is shown for another file or a line
 * it does not have. */
static void diag_excerpt(const struct diag *d, FILE *out, const char *file,
			 unsigned line, unsigned col)
{
	char text[EXCERPT_MAX + 1];

	if (!d->src_name || strcmp(file, d->src_name) != 0 || line == 0 ||
	    line > d->src_n_lines)
		return;
	const char *start = d->src_text + d->src_lines[line - 1];
	const char *end = line < d->src_n_lines ?
				  d->src_text + d->src_lines[line] - 1 :
				  d->src_text + d->src_len;
	size_t n = (size_t)(end - start);
	int cut = n > EXCERPT_MAX;
	if (cut)
		n = EXCERPT_MAX;
	memcpy(text, start, n);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	text[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\t')
			text[i] = '?';
	fprintf(out, "%5u | %s%s\n      | ", line, text, cut ? "..." : "");
	/* Columns count characters: skip UTF-8 continuation bytes, keep
	 * tabs so the caret lines up in a terminal. */
	unsigned c = 1;
	for (const char *p = text; *p && c < col; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		fputc(*p == '\t' ? '\t' : ' ', out);
		c++;
	}
	if (col)
		fputs("^", out);
	fputc('\n', out);
}

/* Append "<file><prefix>: <message>\n" to the text and echo it (with an
 * excerpt if `line`). */
static void diag_add(struct diag *d, const char *file, unsigned line,
		     unsigned col, const char *fmt, va_list ap)
{
	char prefix[64];
	size_t plen = 0;
	va_list aq;
	int mlen;

	if (line && col)
		plen = (size_t)snprintf(prefix, sizeof(prefix), ":%u:%u",
					line, col);
	else if (line)
		plen = (size_t)snprintf(prefix, sizeof(prefix), ":%u", line);
	prefix[plen] = '\0';

	va_copy(aq, ap);
	mlen = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (mlen < 0)
		mlen = 0;

	size_t flen = strlen(file);
	size_t total = flen + plen + 2 + (size_t)mlen + 1; /* ": " and '\n' */

	/* Out of memory: the error still counts and is still echoed. */
	if (diag_reserve(d, total) < 0) {
		if (d->echo) {
			fprintf(d->echo, "%s%s: ", file, prefix);
			vfprintf(d->echo, fmt, ap);
			fputc('\n', d->echo);
			if (line)
				diag_excerpt(d, d->echo, file, line, col);
		}
		return;
	}
	char *p = d->text + d->len;

	memcpy(p, file, flen);
	memcpy(p + flen, prefix, plen);
	memcpy(p + flen + plen, ": ", 2);
	vsnprintf(p + flen + plen + 2, (size_t)mlen + 1, fmt, ap);
	p[total - 1] = '\n';
	d->len += total;
	d->text[d->len] = '\0';
	if (d->echo) {
		fwrite(p, 1, total, d->echo);
		if (line)
			diag_excerpt(d, d->echo, file, line, col);
		fflush(d->echo);
	}
}

void diag_verror(struct diag *d, const char *file, unsigned line, unsigned col,
		 const char *fmt, va_list ap)
{
	int shown = diag_room(d);

	d->errors++;
	if (shown)
		diag_add(d, file ? file : "<input>", line, col, fmt, ap);
}

void diag_error(struct diag *d, const char *file, unsigned line, unsigned col,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_verror(d, file, line, col, fmt, ap);
	va_end(ap);
}

static void diag_summary(struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void diag_summary(struct diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, d->src_name ? d->src_name : "<input>", 0, 0, fmt, ap);
	va_end(ap);
}

void diag_finish(struct diag *d)
{
	if (d->finished || d->errors <= DIAG_SHOWN_MAX)
		return;
	d->finished = 1;
	unsigned more = d->errors - DIAG_SHOWN_MAX;
	diag_summary(d, "%u more error%s not shown (only the first %u are)",
		     more, more == 1 ? "" : "s", DIAG_SHOWN_MAX);
}
