/* SPDX-License-Identifier: Apache-2.0 */
/* ockam-host: run one node from a YAML description.  A thin shim over
 * node.c, which the tests link directly. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ockam/version.h>

#include "cmd.h"
#include "log.h"
#include "node.h"

#ifndef OCKAM_HOST_VERSION
#define OCKAM_HOST_VERSION "unknown"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ockam-host [OPTIONS] NODE.yaml\n"
		"       ockam-host status --to ROUTE [--json] [-W T] [--config FILE]\n"
		"       ockam-host ping [-c N] [-i T] [-W T] [--config FILE] ROUTE...\n"
		"\n"
		"Run one Ockam node described by NODE.yaml: its transports,\n"
		"workers and secure channels, loaded as plugins.\n"
		"\n"
		"Commands:\n"
		"  status          show a running node's workers, connections and channels\n"
		"  ping            measure round trips to an echoer along a route\n"
		"  (see ockam-host COMMAND --help; their durations T are 250ms, 2s\n"
		"  or plain seconds, as in ping(8); in NODE.yaml a duration needs\n"
		"  its unit: 10s, not 10)\n"
		"\n"
		"Options:\n"
		"  -c, --check     load and validate the node, start nothing; print the\n"
		"                  effective configuration (YAML that loads back to the same\n"
		"                  node) and exit 0, or every error and exit 1\n"
		"      --json      with --check: print it as JSON\n"
		"      --options-doc TYPE...\n"
		"                  print the option tables of plugins (types or .so paths)\n"
		"                  as docs/configuration.md shows them\n"
		"  -v, --verbose   more log output (repeat for trace)\n"
		"  -q, --quiet     less log output (repeat for errors only)\n"
		"  -h, --help      show this help\n"
		"  -V, --version   show the version and plugin ABI\n"
		"\n"
		"Environment:\n"
		"  OCKAM_LOG            error|warn|info|debug|trace (overrides log_level:)\n"
		"  OCKAM_PLUGIN_PATH    colon-separated plugin directories, searched after\n"
		"                       the YAML's plugin_dir: and before the installed ones\n"
		"  OCKAM_CLIENT_CONFIG  the node YAML status and ping use without --config\n"
		"\n"
		"Exit status: 0 success, 1 runtime failure (e.g. a message got no\n"
		"reply) or, with --check, an invalid configuration; 2 an invalid\n"
		"configuration or bad arguments.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"check", no_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"json", no_argument, NULL, 'j'},
		{"options-doc", no_argument, NULL, 'D'},
		{NULL, 0, NULL, 0},
	};
	if (argc > 1 && !strcmp(argv[1], "status")) {
		signal(SIGPIPE, SIG_IGN);
		return cmd_status(argc - 1, argv + 1);
	}
	if (argc > 1 && !strcmp(argv[1], "ping")) {
		signal(SIGPIPE, SIG_IGN);
		return cmd_ping(argc - 1, argv + 1);
	}
	/* No --config here: 'f' is not in the table, so never returned. */
	struct cmd_common common = { 0 };
	int check = 0, json = 0, doc = 0, c, rc;
	opterr = 0; /* cmd_common_option says what was wrong, in one line */
	while ((c = getopt_long(argc, argv, ":cvqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			check = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'D':
			doc = 1;
			break;
		case 'V':
			printf("ockam-host %s (plugin ABI %u, host services ABI %u)\n",
			       OCKAM_HOST_VERSION, OCKAM_PLUGIN_ABI_VERSION,
			       OCKAM_HOST_ABI_VERSION);
			return 0;
		default:
			rc = cmd_common_option(c, &common, usage, "ockam-host",
					       argv);
			if (rc != CMD_GO_ON)
				return rc;
		}
	}
	if (doc)
		return cmd_options_doc(argc - optind, argv + optind);
	if (json && !check)
		return cmd_usage_error("ockam-host", "--json goes with --check");
	if (optind != argc - 1)
		return cmd_usage_error("ockam-host", optind == argc ?
				       "expected one NODE.yaml argument" :
				       "expected one NODE.yaml argument, not %d",
				       argc - optind);

	/* -1 leaves the level to the YAML's log_level:. */
	int level = -1;
	const char *env = getenv("OCKAM_LOG");
	if ((env && *env) || common.verbosity) {
		level = cmd_log_level(OCKAM_LOG_INFO, common.verbosity);
		if (level < 0)
			return 2;
		log_set_level(level);
	}

	/* A vanished peer must be an EPIPE on the socket, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	struct node_args args = {
		.config_path = argv[optind],
		.check_only = check,
		.diag_echo = stderr,
		.log_level = level,
	};
	int code;
	struct node *n = node_create(&args, &code);
	if (!n) {
		if (check) {
			/* Every error is above; --check says no with 1. */
			fprintf(stderr, "%s: invalid configuration\n",
				argv[optind]);
			return 1;
		}
		return code;
	}
	if (check) {
		cmd_check_print(n->cfg, stdout, json);
		node_destroy(n);
		return 0;
	}
	rc = node_start(n);
	if (rc < 0)
		code = rc == -2 ? 2 : 1; /* -2: a plugin named the YAML at fault */
	else
		code = node_run(n);
	node_destroy(n);
	return code;
}
