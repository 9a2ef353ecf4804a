/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The options ockam-host's commands share (-v, -q, -h, --config), handled
 * in one place so that `status`, `ping` and the node runner treat them,
 * and a wrong option, the same way.
 */
#include "cmd.h"

int cmd_common_option(int c, struct cmd_common *common,
		      void (*usage)(FILE *out))
{
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
	default:
		usage(stderr);
		return 2;
	}
}
