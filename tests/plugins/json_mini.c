/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal JSON reader for test data; see json_mini.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_mini.h"

#define JSON_MAX_DEPTH 64

struct parser {
	const char *p, *end;
	char *err;
	size_t errlen;
	int failed;
};

static void fail_at(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_at(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int off;

	if (ps->failed)
		return;
	ps->failed = 1;
	if (!ps->err || !ps->errlen)
		return;
	va_start(ap, fmt);
	off = vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
	(void)off;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static void value_clear(struct json_value *v)
{
	for (size_t i = 0; i < v->count; i++) {
		value_clear(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
	memset(v, 0, sizeof *v);
}

static char *parse_string(struct parser *ps)
{
	size_t cap = 16, len = 0;
	char *s;

	if (ps->p >= ps->end || *ps->p != '"') {
		fail_at(ps, "expected string");
		return NULL;
	}
	ps->p++;
	s = malloc(cap);
	if (!s) {
		fail_at(ps, "out of memory");
		return NULL;
	}
	while (ps->p < ps->end && *ps->p != '"') {
		char c = *ps->p++;

		if ((unsigned char)c < 0x20)
			goto bad;
		if (c == '\\') {
			if (ps->p >= ps->end)
				goto bad;
			c = *ps->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned cp = 0;

				if (ps->end - ps->p < 4)
					goto bad;
				for (int i = 0; i < 4; i++) {
					char h = *ps->p++;

					cp <<= 4;
					if (h >= '0' && h <= '9')
						cp |= (unsigned)(h - '0');
					else if (h >= 'a' && h <= 'f')
						cp |= (unsigned)(h - 'a' + 10);
					else if (h >= 'A' && h <= 'F')
						cp |= (unsigned)(h - 'A' + 10);
					else
						goto bad;
				}
				if (cp == 0 || cp > 0x7f)
					goto bad;
				c = (char)cp;
				break;
			}
			default:
				goto bad;
			}
		}
		if (len + 1 >= cap) {
			char *n = realloc(s, cap * 2);

			if (!n)
				goto bad;
			s = n;
			cap *= 2;
		}
		s[len++] = c;
	}
	if (ps->p >= ps->end)
		goto bad;
	ps->p++;
	s[len] = '\0';
	return s;
bad:
	free(s);
	fail_at(ps, "bad string");
	return NULL;
}

static int parse_value(struct parser *ps, struct json_value *v, int depth);

static int append_item(struct parser *ps, struct json_value *v, size_t *cap,
		       char *key, int depth)
{
	if (v->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct json_value *ni = realloc(v->items, ncap * sizeof *ni);

		if (!ni)
			goto oom;
		v->items = ni;
		if (v->type == JSON_OBJECT) {
			char **nk = realloc(v->keys, ncap * sizeof *nk);

			if (!nk)
				goto oom;
			v->keys = nk;
		}
		*cap = ncap;
	}
	memset(&v->items[v->count], 0, sizeof v->items[0]);
	if (v->type == JSON_OBJECT)
		v->keys[v->count] = key;
	v->count++;
	return parse_value(ps, &v->items[v->count - 1], depth + 1);
oom:
	free(key);
	fail_at(ps, "out of memory");
	return -1;
}

static int parse_container(struct parser *ps, struct json_value *v, int depth)
{
	char close = v->type == JSON_OBJECT ? '}' : ']';
	size_t cap = 0;

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;

		skip_ws(ps);
		if (v->type == JSON_OBJECT) {
			key = parse_string(ps);
			if (!key)
				return -1;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				fail_at(ps, "expected ':'");
				return -1;
			}
			ps->p++;
		}
		if (append_item(ps, v, &cap, key, depth) != 0)
			return -1;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		fail_at(ps, "expected ',' or '%c'", close);
		return -1;
	}
}

static int parse_literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
		fail_at(ps, "unexpected character");
		return -1;
	}
	ps->p += n;
	return 0;
}

static int parse_value(struct parser *ps, struct json_value *v, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		fail_at(ps, "nesting too deep");
		return -1;
	}
	skip_ws(ps);
	if (ps->p >= ps->end) {
		fail_at(ps, "unexpected end of input");
		return -1;
	}
	switch (*ps->p) {
	case '{':
		v->type = JSON_OBJECT;
		return parse_container(ps, v, depth);
	case '[':
		v->type = JSON_ARRAY;
		return parse_container(ps, v, depth);
	case '"':
		v->type = JSON_STRING;
		v->string = parse_string(ps);
		return v->string ? 0 : -1;
	case 't':
		v->type = JSON_BOOL;
		v->boolean = 1;
		return parse_literal(ps, "true");
	case 'f':
		v->type = JSON_BOOL;
		return parse_literal(ps, "false");
	case 'n':
		v->type = JSON_NULL;
		return parse_literal(ps, "null");
	default: {
		char buf[64];
		size_t n = 0;
		char *endp;

		while (ps->p + n < ps->end && n < sizeof buf - 1 &&
		       strchr("+-0123456789.eE", ps->p[n]))
			n++;
		memcpy(buf, ps->p, n);
		buf[n] = '\0';
		v->type = JSON_NUMBER;
		v->number = strtod(buf, &endp);
		if (n == 0 || *endp != '\0') {
			fail_at(ps, "bad value");
			return -1;
		}
		ps->p += n;
		return 0;
	}
	}
}

struct json_value *json_parse(const char *text, size_t len, char *err,
			      size_t errlen)
{
	struct parser ps = { text, text + len, err, errlen, 0 };
	struct json_value *v = calloc(1, sizeof *v);

	if (!v) {
		fail_at(&ps, "out of memory");
		return NULL;
	}
	if (parse_value(&ps, v, 0) == 0) {
		skip_ws(&ps);
		if (ps.p == ps.end)
			return v;
		fail_at(&ps, "trailing data");
	}
	if (err && errlen) {
		size_t used = strlen(err);

		snprintf(err + used, errlen - used, " at offset %zu",
			 (size_t)(ps.p - text));
	}
	json_free(v);
	return NULL;
}

struct json_value *json_parse_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct json_value *v = NULL;
	char *buf = NULL;
	long size;

	if (!f) {
		snprintf(err, errlen, "cannot open %s", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "cannot size %s", path);
		goto out;
	}
	buf = malloc((size_t)size + 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		snprintf(err, errlen, "cannot read %s", path);
		goto out;
	}
	v = json_parse(buf, (size_t)size, err, errlen);
out:
	free(buf);
	fclose(f);
	return v;
}

void json_free(struct json_value *v)
{
	if (!v)
		return;
	value_clear(v);
	free(v);
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->count; i++)
		if (strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}

const char *json_get_string(const struct json_value *v, const char *key)
{
	const struct json_value *m = json_get(v, key);

	return m && m->type == JSON_STRING ? m->string : NULL;
}
