/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Collected diagnostics; see diag.h.
 */
#include "diag.h"

#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

/* Longest source line shown under a message; longer ones are cut. */
#define EXCERPT_MAX 160

void diag_init(struct diag *d, FILE *echo)
{
	d->text = NULL;
	d->len = d->cap = 0;
	d->errors = 0;
	d->echo = echo;
}

void diag_free(struct diag *d)
{
	free(d->text);
	d->text = NULL;
	d->len = d->cap = 0;
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
 * do.  The file is read only when an error is echoed (errors are rare);
 * if it cannot be read (a name that is not a file), nothing is shown. */
static void diag_excerpt(FILE *out, const char *file, unsigned line,
			 unsigned col)
{
	FILE *f = fopen(file, "r");
	char *text = NULL;
	size_t cap = 0;
	ssize_t n = -1;

	if (!f)
		return;
	for (unsigned i = 0; i < line; i++)
		if ((n = getline(&text, &cap, f)) < 0)
			break;
	fclose(f);
	if (n < 0) {
		free(text);
		return;
	}
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	int cut = n > EXCERPT_MAX;
	if (cut)
		text[EXCERPT_MAX] = '\0';
	for (char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			*c = '?';
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
	free(text);
}

void diag_verror(struct diag *d, const char *file, unsigned line, unsigned col,
		 const char *fmt, va_list ap)
{
	char prefix[64];
	size_t plen = 0;
	va_list aq;
	int mlen;

	d->errors++;
	if (!file)
		file = "<input>";
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
				diag_excerpt(d->echo, file, line, col);
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
			diag_excerpt(d->echo, file, line, col);
		fflush(d->echo);
	}
}

void diag_error(struct diag *d, const char *file, unsigned line, unsigned col,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_verror(d, file, line, col, fmt, ap);
	va_end(ap);
}
