/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ockam-host trace FILE...`: merge the trace files of several nodes
 * (trace.h) and draw the message flow: a Mermaid sequence diagram on
 * stdout, and with --svg a self-contained SVG file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "trace_flow.h"

static void trace_usage(FILE *out)
{
	fprintf(out,
		"Usage: ockam-host trace [--format mermaid|none] [--svg OUT.svg] TRACE.jsonl...\n"
		"\n"
		"Merge the message-flow traces of nodes (each node's trace: file or\n"
		"OCKAM_TRACE) and draw them as one sequence diagram: one lifeline per\n"
		"node/worker, one arrow per hop in time order, a frame joined to the\n"
		"node that read it, a secure channel's traffic dashed (encrypted).\n"
		"\n"
		"Options:\n"
		"  --format mermaid  print a Mermaid sequenceDiagram (the default)\n"
		"  --format none     print nothing (with --svg)\n"
		"  --svg FILE        also write the diagram as a self-contained SVG\n"
		"  -h, --help        show this help\n"
		"\n"
		"A malformed line is reported as FILE:LINE and skipped.\n"
		"Exit status: 0, 1 if some lines were skipped (the diagram is still\n"
		"drawn from the others), 2 on bad arguments or an unreadable file.\n");
}

int cmd_trace(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"svg", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *svg = NULL;
	int mermaid = 1, c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "mermaid"))
				mermaid = 1;
			else if (!strcmp(optarg, "none"))
				mermaid = 0;
			else
				return cmd_usage_error("ockam-host trace",
						       "unknown --format '%s' (mermaid or none)",
						       optarg);
			break;
		case 's':
			svg = optarg;
			break;
		case 'h':
			trace_usage(stdout);
			return 0;
		case ':':
			return cmd_usage_error("ockam-host trace",
					       "%s needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error("ockam-host trace",
					       "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cmd_usage_error("ockam-host trace",
				       "expected one or more trace files");

	struct tev_list l = { 0 };
	for (int i = optind; i < argc; i++)
		if (trace_read_file(argv[i], &l, stderr) < 0) {
			tev_list_free(&l);
			return 2;
		}
	struct flow f;
	if (trace_flow_build(&l, &f) < 0) {
		fprintf(stderr, "ockam-host trace: out of memory\n");
		tev_list_free(&l);
		trace_flow_free(&f);
		return 1;
	}
	int code = l.bad ? 1 : 0;
	if (l.bad)
		fprintf(stderr, "ockam-host trace: %u malformed line(s) skipped\n",
			l.bad);
	if (mermaid)
		trace_render_mermaid(&f, stdout);
	if (svg) {
		FILE *out = fopen(svg, "w");
		if (!out || trace_render_svg(&f, out) < 0 ||
		    fclose(out) != 0) {
			if (out)
				fclose(out);
			fprintf(stderr, "ockam-host trace: cannot write %s\n", svg);
			code = 2;
		}
	}
	trace_flow_free(&f);
	tev_list_free(&l);
	if (fflush(stdout) != 0)
		return 1;
	return code;
}
