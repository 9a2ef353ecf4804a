/* SPDX-License-Identifier: Apache-2.0 */
#include <inttypes.h>
#include <string.h>

#include "option_doc.h"
#include "option_format.h"

/* Text in a table cell: '|' would end the cell. */
static void cell(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s, out);
	}
}

static void number(FILE *out, enum ockam_option_type t, uint64_t v)
{
	char buf[32];

	if (t == OCKAM_OPTION_DURATION)
		fprintf(out, "`%s`", option_format_duration(v, buf, sizeof(buf)));
	else if (t == OCKAM_OPTION_SIZE)
		fprintf(out, "`%s`", option_format_size(v, buf, sizeof(buf)));
	else
		fprintf(out, "%" PRIu64, v);
}

/* ", 1 to 1000000", ", at least `1s`", ", at most `1h`" or nothing. */
static void range(FILE *out, const struct ockam_option *op)
{
	int lo = op->min != 0, hi = op->max != 0;

	if (lo && hi) {
		fputs(", ", out);
		number(out, op->type, op->min);
		fputs(" to ", out);
		number(out, op->type, op->max);
	} else if (op->min == 1 && op->type != OCKAM_OPTION_SIZE) {
		fputs(", more than 0", out);
	} else if (lo) {
		fputs(", at least ", out);
		number(out, op->type, op->min);
	} else if (hi) {
		fputs(", at most ", out);
		number(out, op->type, op->max);
	}
}

static void type(FILE *out, const struct ockam_option *op)
{
	switch (op->type) {
	case OCKAM_OPTION_STRING:
		fputs("string", out);
		return;
	case OCKAM_OPTION_ENUM:
		for (const char *s = op->choices; *s;) {
			size_t n = strcspn(s, "|");
			fprintf(out, "%s`%.*s`", s == op->choices ? "" : " \\| ",
				(int)n, s);
			s += n + (s[n] == '|');
		}
		return;
	case OCKAM_OPTION_BOOL:
		fputs("bool", out);
		return;
	case OCKAM_OPTION_INT:
		fputs("integer", out);
		break;
	case OCKAM_OPTION_DURATION:
		fputs("duration", out);
		break;
	case OCKAM_OPTION_SIZE:
		fputs("size", out);
		break;
	case OCKAM_OPTION_ROUTE:
		fputs("route, or a name under `routes`", out);
		return;
	case OCKAM_OPTION_STRINGS:
		fputs("string, or a list of them", out);
		return;
	case OCKAM_OPTION_ADDRS:
		fputs("address pattern, or a list of them", out);
		return;
	case OCKAM_OPTION_PATH:
		fputs("path, relative to this file", out);
		return;
	case OCKAM_OPTION_ANY:
		fputs("see below", out);
		return;
	}
	range(out, op);
}

void option_doc_write(const struct ockam_plugin *p, FILE *out)
{
	const struct ockam_option *t = p->options;

	fprintf(out,
		"<!-- options: %s (generated from the plugin's table by `ockam-host --options-doc %s`; edit the table, not this) -->\n",
		p->name, p->name);
	if (!t || !t->name) {
		fprintf(out, "`%s` takes no options.\n", p->name);
	} else {
		fputs("| key | type | default | meaning |\n", out);
		fputs("| --- | --- | --- | --- |\n", out);
		for (; t->name; t++) {
			fprintf(out, "| `%s` | ", t->name);
			type(out, t);
			fputs(" | ", out);
			if (t->flags & OCKAM_OPTION_REQUIRED)
				fputs("(required)", out);
			else if (t->def) {
				fputc('`', out);
				cell(out, t->def);
				fputc('`', out);
			} else {
				fputs("none", out);
			}
			fputs(" | ", out);
			cell(out, t->help);
			fputs(" |\n", out);
		}
	}
	fprintf(out, "<!-- end options: %s -->\n", p->name);
}
