/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A merged flow drawn as a Mermaid sequence diagram (text for Markdown
 * viewers) or as a self-contained SVG (one file, no scripts, no external
 * fonts or styles): one lifeline per node/worker, one arrow per hop, in
 * order; a secure channel's traffic dashed and red, plaintext out of a
 * channel green.
 */
#include <stdio.h>
#include <string.h>

#include "trace_flow.h"

/* Mermaid ends statements at ';' and reads '#' as an entity: neither is
 * in node or worker names, but a trace file is input, so out they go. */
static void mermaid_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		fputc(c < 0x20 || c == ';' || c == '#' || c == '%' ||
				      c == '<' || c == '>' || c == '"' ?
			      '_' : c,
		      out);
	}
}

void trace_render_mermaid(const struct flow *f, FILE *out)
{
	fputs("sequenceDiagram\n", out);
	for (size_t i = 0; i < f->n_parts; i++) {
		fprintf(out, "    participant p%zu as ", i);
		mermaid_text(out, f->parts[i].name);
		fputc('\n', out);
	}
	for (size_t i = 0; i < f->n_steps; i++) {
		const struct step *s = &f->steps[i];
		if (s->kind == STEP_NOTE) {
			fprintf(out, "    Note over p%zu: ", s->from);
		} else {
			fprintf(out, "    p%zu%sp%zu: ", s->from,
				s->encrypted ? "-->>" : "->>", s->to);
		}
		mermaid_text(out, s->label);
		fputc('\n', out);
	}
}

static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			/* XML 1.0 has no control characters but tab/newline;
			 * bytes >= 0x80 could be broken UTF-8: both become '?'. */
			fputc(c < 0x20 || c >= 0x7f ? '?' : c, out);
		}
	}
}

#define COL_W 170
#define MARGIN 20
#define HEAD_H 34
#define ROW_H 30

static unsigned col_x(size_t i)
{
	return (unsigned)(MARGIN + COL_W / 2 + i * COL_W);
}

int trace_render_svg(const struct flow *f, FILE *out)
{
	size_t cols = f->n_parts ? f->n_parts : 1;
	unsigned width = (unsigned)(2 * MARGIN + cols * COL_W);
	unsigned top = MARGIN + HEAD_H;
	/* The steps, then a line of legend. */
	unsigned height = (unsigned)(top + (f->n_steps + 2) * ROW_H + MARGIN);

	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" font-family=\"sans-serif\" font-size=\"12\">\n"
		"<defs>\n"
		"<marker id=\"a\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker>\n"
		"<marker id=\"e\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#b22\"/></marker>\n"
		"<marker id=\"s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#282\"/></marker>\n"
		"</defs>\n"
		"<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#fff\"/>\n",
		width, height, width, height, width, height);
	for (size_t i = 0; i < f->n_parts; i++) {
		unsigned x = col_x(i);
		fprintf(out,
			"<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
			x, top, x, height - MARGIN - ROW_H);
		fprintf(out,
			"<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" rx=\"4\" fill=\"#eef\" stroke=\"#336\"/>\n",
			x - COL_W / 2 + 6, MARGIN, COL_W - 12, HEAD_H - 8);
		fprintf(out, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\">",
			x, MARGIN + 17);
		xml_text(out, f->parts[i].name);
		fputs("</text>\n", out);
	}
	for (size_t i = 0; i < f->n_steps; i++) {
		const struct step *s = &f->steps[i];
		unsigned y = (unsigned)(top + (i + 1) * ROW_H);
		unsigned x1 = col_x(s->from), x2 = col_x(s->to);
		const char *color = s->encrypted ? "#b22" :
				    s->secure ? "#282" : "#333";
		if (s->kind == STEP_NOTE) {
			fprintf(out,
				"<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"20\" fill=\"#ffd\" stroke=\"#aa8\"/>\n",
				x1 - COL_W / 2 + 16, y - 14, COL_W - 32);
			fprintf(out,
				"<text x=\"%u\" y=\"%u\" text-anchor=\"middle\">",
				x1, y);
			xml_text(out, s->label);
			fputs("</text>\n", out);
			continue;
		}
		if (x1 == x2) {
			/* To itself: a small loop to the right. */
			fprintf(out,
				"<path d=\"M%u,%u h30 v10 h-30\" fill=\"none\" stroke=\"%s\"%s marker-end=\"url(#%c)\"/>\n",
				x1, y - 5, color,
				s->encrypted ? " stroke-dasharray=\"6 3\"" : "",
				s->encrypted ? 'e' : s->secure ? 's' : 'a');
		} else {
			fprintf(out,
				"<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"%s\"%s marker-end=\"url(#%c)\"/>\n",
				x1, y, x2, y, color,
				s->encrypted ? " stroke-dasharray=\"6 3\"" : "",
				s->encrypted ? 'e' : s->secure ? 's' : 'a');
		}
		fprintf(out,
			"<text x=\"%u\" y=\"%u\" text-anchor=\"middle\" fill=\"%s\">",
			x1 == x2 ? x1 + 40 : (x1 + x2) / 2, y - 4, color);
		xml_text(out, s->label);
		fputs("</text>\n", out);
	}
	fprintf(out,
		"<text x=\"%u\" y=\"%u\" fill=\"#555\">solid: a message; "
		"<tspan fill=\"#b22\">dashed red: a secure channel's traffic "
		"(handshake, encrypted records)</tspan>; "
		"<tspan fill=\"#282\">green: plaintext out of a channel</tspan>"
		"</text>\n",
		MARGIN, height - MARGIN);
	fputs("</svg>\n", out);
	return ferror(out) ? -1 : 0;
}
