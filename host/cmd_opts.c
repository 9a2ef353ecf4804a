/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The options ockam-host's commands share (-v, -q, -h, --config), handled
 * in one place so that `status`, `ping` and the node runner treat them,
 * and a wrong option, the same way.
 */
#include <stdarg.h>
#include <string.h>

#include "cmd.h"

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry '%s --help'\n", cmd);
	return 2;
}

/* The option as the user typed it: "--name" (without "=value") for a
 * long one, "-x" for a short one.  getopt_long sets optopt to 0 for an
 * unknown long option, to the option's letter otherwise (a missing value,
 * or a value given to a long option that takes none); the argument it
 * just parsed is argv[optind - 1] once it has moved past it.  Returns 1
 * for "--name=value" where --name takes no value. */
static int option_text(int c, char *const argv[], char *buf, size_t len)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	int dashes = arg && !strncmp(arg, "--", 2);
	int value_given = dashes && c == '?' && optopt && strchr(arg, '=');

	if (dashes && (c == ':' || optopt == 0 || value_given)) {
		size_t n = strcspn(arg, "=");
		snprintf(buf, len, "%.*s", (int)(n > 64 ? 64 : n), arg);
	} else if (optopt > 0x20 && optopt < 0x7f) {
		snprintf(buf, len, "-%c", optopt);
	} else {
		snprintf(buf, len, "?");
	}
	return value_given;
}

int cmd_common_option(int c, struct cmd_common *common,
		      void (*usage)(FILE *out), const char *cmd,
		      char *const argv[])
{
	char opt[80];

	switch (c) {
	case 'f':
		common->config = optarg;
		return CMD_GO_ON;
	case 'v':
		common->verbosity++;
		return CMD_GO_ON;
	case 'q':
		common->verbosity--;
		return CMD_GO_ON;
	case 'h':
		usage(stdout);
		return 0;
	case ':':
		option_text(c, argv, opt, sizeof(opt));
		return cmd_usage_error(cmd, "option '%s' needs a value", opt);
	default:
		if (option_text(c, argv, opt, sizeof(opt)))
			return cmd_usage_error(cmd, "option '%s' takes no value",
					       opt);
		return cmd_usage_error(cmd, "unknown option '%s'", opt);
	}
}
