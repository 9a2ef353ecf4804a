/* SPDX-License-Identifier: Apache-2.0 */
/* The trace line reader; see trace_json.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trace_json.h"

#define TJ_DEPTH_MAX 16

struct tj {
	char *s;
	size_t len, i;
	char *err;
	size_t err_len;
};

static int fail(struct tj *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct tj *p, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->err_len, "column %zu: %s", p->i + 1, what);
	return -1;
}

static void ws(struct tj *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
				 p->s[p->i] == '\r' || p->s[p->i] == '\n'))
		p->i++;
}

static int peek(struct tj *p)
{
	return p->i < p->len ? (unsigned char)p->s[p->i] : -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex4(struct tj *p, unsigned *out)
{
	unsigned v = 0;
	if (p->len - p->i < 4)
		return fail(p, "truncated \\u escape");
	for (int k = 0; k < 4; k++) {
		int h = hexval((unsigned char)p->s[p->i + (size_t)k]);
		if (h < 0)
			return fail(p, "bad \\u escape");
		v = v << 4 | (unsigned)h;
	}
	p->i += 4;
	*out = v;
	return 0;
}

/* Decode the string at p->i (at its opening quote) in place; *out points
 * at the decoded, NUL-terminated text (which is never longer than the
 * encoded one, so it fits where it lies). */
static int string(struct tj *p, const char **out, size_t *out_len)
{
	char *w = p->s + p->i + 1, *start = w;
	p->i++;
	for (;;) {
		if (p->i >= p->len)
			return fail(p, "unterminated string");
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(p, "control character in a string");
		p->i++;
		if (c != '\\') {
			*w++ = (char)c;
			continue;
		}
		if (p->i >= p->len)
			return fail(p, "unterminated escape");
		c = (unsigned char)p->s[p->i++];
		unsigned cp;
		switch (c) {
		case '"': case '\\': case '/':
			*w++ = (char)c;
			continue;
		case 'b': *w++ = '\b'; continue;
		case 'f': *w++ = '\f'; continue;
		case 'n': *w++ = '\n'; continue;
		case 'r': *w++ = '\r'; continue;
		case 't': *w++ = '\t'; continue;
		case 'u':
			if (hex4(p, &cp) < 0)
				return -1;
			break;
		default:
			p->i--;
			return fail(p, "bad escape \\%c", c >= 0x20 && c < 0x7f ? c : '?');
		}
		if (cp >= 0xd800 && cp < 0xdc00) {
			unsigned lo;
			if (p->len - p->i < 2 || p->s[p->i] != '\\' ||
			    p->s[p->i + 1] != 'u')
				return fail(p, "lone surrogate");
			p->i += 2;
			if (hex4(p, &lo) < 0)
				return -1;
			if (lo < 0xdc00 || lo >= 0xe000)
				return fail(p, "bad surrogate pair");
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		} else if (cp >= 0xdc00 && cp < 0xe000) {
			return fail(p, "lone surrogate");
		} else if (cp == 0) {
			return fail(p, "NUL in a string");
		}
		/* UTF-8; at most as long as the escape it replaces. */
		if (cp < 0x80) {
			*w++ = (char)cp;
		} else if (cp < 0x800) {
			*w++ = (char)(0xc0 | cp >> 6);
			*w++ = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			*w++ = (char)(0xe0 | cp >> 12);
			*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*w++ = (char)(0x80 | (cp & 0x3f));
		} else {
			*w++ = (char)(0xf0 | cp >> 18);
			*w++ = (char)(0x80 | (cp >> 12 & 0x3f));
			*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*w++ = (char)(0x80 | (cp & 0x3f));
		}
	}
	p->i++; /* the closing quote; w is at most there */
	*w = '\0';
	*out = start;
	*out_len = (size_t)(w - start);
	return 0;
}

/* A JSON number; *is_int says whether it is a non-negative integer that
 * fits 64 bits (then in *num). */
static int number(struct tj *p, uint64_t *num, int *is_int)
{
	size_t st = p->i;
	int neg = 0, frac = 0, over = 0;
	uint64_t v = 0;
	if (peek(p) == '-') {
		neg = 1;
		p->i++;
	}
	if (peek(p) == '0') {
		p->i++;
	} else if (peek(p) >= '1' && peek(p) <= '9') {
		while (peek(p) >= '0' && peek(p) <= '9') {
			unsigned d = (unsigned)(p->s[p->i++] - '0');
			if (v > (UINT64_MAX - d) / 10)
				over = 1;
			else
				v = v * 10 + d;
		}
	} else {
		return fail(p, "bad number");
	}
	if (peek(p) == '.') {
		frac = 1;
		p->i++;
		if (!(peek(p) >= '0' && peek(p) <= '9'))
			return fail(p, "bad number");
		while (peek(p) >= '0' && peek(p) <= '9')
			p->i++;
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		frac = 1;
		p->i++;
		if (peek(p) == '+' || peek(p) == '-')
			p->i++;
		if (!(peek(p) >= '0' && peek(p) <= '9'))
			return fail(p, "bad number");
		while (peek(p) >= '0' && peek(p) <= '9')
			p->i++;
	}
	(void)st;
	*is_int = !neg && !frac && !over;
	*num = v;
	return 0;
}

static int literal(struct tj *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->i < n || memcmp(p->s + p->i, word, n) != 0)
		return fail(p, "unexpected character '%c'",
			    p->s[p->i] >= 0x20 && p->s[p->i] < 0x7f ? p->s[p->i] : '?');
	p->i += n;
	return 0;
}

/* Any value, read and dropped. */
static int skip(struct tj *p, int depth)
{
	const char *s;
	size_t n;
	uint64_t num;
	int is_int;
	if (depth > TJ_DEPTH_MAX)
		return fail(p, "nested too deeply");
	ws(p);
	switch (peek(p)) {
	case '"':
		return string(p, &s, &n);
	case '{':
	case '[': {
		int close = peek(p) == '{' ? '}' : ']';
		p->i++;
		ws(p);
		if (peek(p) == close) {
			p->i++;
			return 0;
		}
		for (;;) {
			ws(p);
			if (close == '}') {
				if (peek(p) != '"')
					return fail(p, "expected a member name");
				if (string(p, &s, &n) < 0)
					return -1;
				ws(p);
				if (peek(p) != ':')
					return fail(p, "expected ':'");
				p->i++;
			}
			if (skip(p, depth + 1) < 0)
				return -1;
			ws(p);
			if (peek(p) == ',') {
				p->i++;
				continue;
			}
			if (peek(p) == close) {
				p->i++;
				return 0;
			}
			return fail(p, "expected ',' or '%c'", close);
		}
	}
	case 't':
		return literal(p, "true");
	case 'f':
		return literal(p, "false");
	case 'n':
		return literal(p, "null");
	case -1:
		return fail(p, "unexpected end of line");
	default:
		return number(p, &num, &is_int);
	}
}

static int value(struct tj *p, struct tj_value *v)
{
	memset(v, 0, sizeof(*v));
	ws(p);
	int c = peek(p);
	if (c == '"') {
		v->type = TJ_STR;
		return string(p, &v->str, &v->len);
	}
	if (c == 't' || c == 'f') {
		v->type = TJ_BOOL;
		v->b = c == 't';
		return literal(p, c == 't' ? "true" : "false");
	}
	if (c == 'n') {
		v->type = TJ_NULL;
		return literal(p, "null");
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		int is_int;
		if (number(p, &v->num, &is_int) < 0)
			return -1;
		v->type = is_int ? TJ_NUM : TJ_OTHER;
		return 0;
	}
	if (c == '[') {
		/* A list of strings, or something else read to its end and
		 * reported as TJ_OTHER (strings already decoded in place are
		 * not read twice). */
		p->i++;
		ws(p);
		v->type = TJ_LIST;
		if (peek(p) == ']') {
			p->i++;
			return 0;
		}
		for (;;) {
			ws(p);
			if (peek(p) != '"' || v->n == TJ_LIST_MAX) {
				v->type = TJ_OTHER;
				v->n = 0;
			}
			if (v->type == TJ_OTHER) {
				if (skip(p, 1) < 0)
					return -1;
			} else {
				size_t n;
				if (string(p, &v->items[v->n++], &n) < 0)
					return -1;
			}
			ws(p);
			if (peek(p) == ',') {
				p->i++;
				continue;
			}
			if (peek(p) == ']') {
				p->i++;
				return 0;
			}
			return fail(p, "expected ',' or ']'");
		}
	}
	if (c == '{') {
		v->type = TJ_OTHER;
		return skip(p, 0);
	}
	if (c == -1)
		return fail(p, "unexpected end of line");
	return fail(p, "unexpected character '%c'",
		    c >= 0x20 && c < 0x7f ? c : '?');
}

int tj_parse_object(char *line, size_t len, tj_member_fn fn, void *data,
		    char *err, size_t err_len)
{
	struct tj p = { .s = line, .len = len, .err = err, .err_len = err_len };
	struct tj_value v;
	line[len] = '\0';
	if (memchr(line, '\0', len))
		return fail(&p, "NUL byte in the line");
	ws(&p);
	if (peek(&p) != '{')
		return fail(&p, "expected '{' (one JSON object per line)");
	p.i++;
	ws(&p);
	if (peek(&p) == '}') {
		p.i++;
	} else {
		for (;;) {
			const char *key;
			size_t klen;
			ws(&p);
			if (peek(&p) != '"')
				return fail(&p, "expected a member name");
			if (string(&p, &key, &klen) < 0)
				return -1;
			ws(&p);
			if (peek(&p) != ':')
				return fail(&p, "expected ':'");
			p.i++;
			if (value(&p, &v) < 0)
				return -1;
			int rc = fn(data, key, &v);
			if (rc)
				return rc;
			ws(&p);
			if (peek(&p) == ',') {
				p.i++;
				continue;
			}
			if (peek(&p) == '}') {
				p.i++;
				break;
			}
			return fail(&p, "expected ',' or '}'");
		}
	}
	ws(&p);
	if (p.i != p.len)
		return fail(&p, "trailing characters after the object");
	return 0;
}
