/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ockam-host's commands besides running a node: --check's normalised
 * config (cmd_check.c), `status` (cmd_status.c), `ping` (cmd_ping.c), and
 * the small client node the last two run (cmd_node.c).
 */
#ifndef OCKAM_HOST_CMD_H
#define OCKAM_HOST_CMD_H

#include <stdint.h>
#include <stdio.h>

#include <ockam/route.h>

#include "config.h"
#include "node.h"

/* Print the effective configuration as YAML: variables expanded, defaults
 * filled in, plugin paths resolved. */
void cmd_check_print(const struct config *c, FILE *out);

/* `ockam-host status ...` and `ockam-host ping ...`: argv[0] is the
 * command's name.  Return the process exit status. */
int cmd_status(int argc, char **argv);
int cmd_ping(int argc, char **argv);

/* The log level from OCKAM_LOG (else `base`) moved by -v/-q; -1 (reported)
 * if OCKAM_LOG is malformed. */
int cmd_log_level(int base, int verbosity);

/* The client node description used when no --config is given:
 * $OCKAM_CLIENT_CONFIG, else configs/client.yaml of the source tree (when
 * running from the build tree), else the installed one; NULL (reported
 * for command `cmd`) if none. */
const char *cmd_client_config(const char *cmd);
/* A client node: `config` (a node YAML) or, if NULL, cmd_client_config();
 * its messages: are not sent.  Started; NULL (and *exit_code 2 or 1) on
 * failure, already reported.  `name` names the command in messages. */
struct node *cmd_node_start(const char *config, const char *name,
			    int log_level, int *exit_code);
/* Parse a route written "a,b,c" or "[a, b, c]" (items may be quoted).
 * On error writes a reason to `err` and returns -1. */
int cmd_route_parse(struct node *n, const char *text, struct ockam_route *out,
		    char *err, size_t err_len);
/* "250ms", "2s", "1.5" (seconds, like ping) -> ms; -1 if malformed. */
int cmd_duration_parse(const char *text, uint64_t *ms);
/* Monotonic microseconds, for round-trip times. */
uint64_t cmd_now_us(void);

#endif
