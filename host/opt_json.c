/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "opt_json.h"

/* RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? */
static int json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		s += strspn(s, "0123456789");
	else
		return 0;
	if (*s == '.') {
		size_t n = strspn(++s, "0123456789");
		if (!n)
			return 0;
		s += n;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		size_t n = strspn(s, "0123456789");
		if (!n)
			return 0;
		s += n;
	}
	return *s == '\0';
}

static void put_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", out);
		else if (*c == '\t')
			fputs("\\t", out);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out); /* UTF-8: libyaml accepted only that */
	}
	fputc('"', out);
}

static void put_scalar(FILE *out, const struct ockam_opt *o)
{
	const char *type = opt_plain_type(o);

	if (o->is_null)
		fputs("null", out);
	else if (type && !strcmp(type, "a number") && json_number(o->str))
		fputs(o->str, out);
	else if (type && (!strcmp(o->str, "true") || !strcmp(o->str, "false")))
		fputs(o->str, out);
	else
		put_string(out, o->str);
}

static void put(const struct ockam_opt *o, FILE *out, int indent)
{
	int map = o->kind == OCKAM_OPT_MAP;

	if (o->kind == OCKAM_OPT_SCALAR) {
		put_scalar(out, o);
		return;
	}
	if (!o->count) {
		fputs(map ? "{}" : "[]", out);
		return;
	}
	fputc(map ? '{' : '[', out);
	for (size_t i = 0; i < o->count; i++) {
		fprintf(out, "%s\n%*s", i ? "," : "", indent + 2, "");
		if (map) {
			put_string(out, o->keys[i]->str);
			fputs(": ", out);
		}
		put(o->items[i], out, indent + 2);
	}
	fprintf(out, "\n%*s%c", indent, "", map ? '}' : ']');
}

void opt_write_json(const struct ockam_opt *o, FILE *out)
{
	put(o, out, 0);
	fputc('\n', out);
}
