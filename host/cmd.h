/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ockam-host's commands besides running a node: --check's normalised
 * config (cmd_check.c), `status` (cmd_status.c), `ping` (cmd_ping.c), the
 * options they share (cmd_opts.c), and the small client node the last two
 * run (cmd_node.c).
 */
#ifndef OCKAM_HOST_CMD_H
#define OCKAM_HOST_CMD_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include <ockam/route.h>

#include "config.h"
#include "node.h"

/* Print the effective configuration as YAML (or, `json`, the same as
 * JSON): variables expanded, defaults filled in, plugin paths resolved.
 * The YAML loads back to the same node. */
void cmd_check_print(const struct config *c, FILE *out, int json);

/* `ockam-host --options-doc TYPE...`: each plugin's option table as
 * Markdown (option_doc.c); a TYPE with a '/' is a path to the .so.
 * Returns the exit status. */
int cmd_options_doc(int n, char **types);

/* `ockam-host status ...` and `ockam-host ping ...`: argv[0] is the
 * command's name.  Return the process exit status. */
int cmd_status(int argc, char **argv);
int cmd_ping(int argc, char **argv);

/* The shared options, as cmd_common_option leaves them. */
struct cmd_common {
	const char *config; /* --config FILE, or NULL */
	int verbosity;      /* the number of -v minus the number of -q */
};

/* getopt_long entries for -v, -q, -h and --config ('f'), to end a
 * command's own option table with. */
#define CMD_COMMON_LONGOPTS                                  \
	{ "config", required_argument, NULL, 'f' },          \
	{ "verbose", no_argument, NULL, 'v' },                \
	{ "quiet", no_argument, NULL, 'q' },                  \
	{ "help", no_argument, NULL, 'h' },                   \
	{ NULL, 0, NULL, 0 }

/* cmd_common_option's "not an exit: parse on". */
#define CMD_GO_ON (-1)

/* Apply option `c` (what getopt_long returned, with an option string
 * starting with ':' and opterr = 0) that is not the command's own: -v,
 * -q and --config go into `common` (CMD_GO_ON); -h prints `usage` to
 * stdout and returns 0; anything else is a wrong option or a missing
 * value: one line naming it and the hint "try '<cmd> --help'" on stderr,
 * returns 2.  `cmd` is the command as typed ("ockam-host ping"), `argv`
 * what getopt_long parsed.  The caller exits with what is not CMD_GO_ON. */
int cmd_common_option(int c, struct cmd_common *common,
		      void (*usage)(FILE *out), const char *cmd,
		      char *const argv[]);
/* A usage error: "<cmd>: <message>" and "try '<cmd> --help'" on stderr;
 * returns 2, the exit status for bad arguments. */
int cmd_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The log level from OCKAM_LOG (else `base`) moved by -v/-q; -1 (reported)
 * if OCKAM_LOG is malformed. */
int cmd_log_level(int base, int verbosity);

/* The client node description used when no --config is given:
 * $OCKAM_CLIENT_CONFIG, else configs/client.yaml of the source tree (when
 * running from the build tree), else the installed one; NULL (reported
 * for command `cmd`) if none. */
const char *cmd_client_config(const char *cmd);
/* A client node: common->config (a node YAML) or, if NULL,
 * cmd_client_config(); its messages: are not sent; it logs at WARN moved
 * by common->verbosity (cmd_log_level).  Started; NULL (and *exit_code 2
 * or 1) on failure, already reported.  `name` names the command in
 * messages. */
struct node *cmd_node_start(const struct cmd_common *common, const char *name,
			    int *exit_code);
/* A route typed on the command line, with its own storage. */
struct cmd_route {
	struct ockam_route route; /* views of hops[] and bufs[] */
	struct ockam_addr hops[OCKAM_ROUTE_MAX];
	struct ockam_addr_buf bufs[OCKAM_ROUTE_MAX];
};
/* Add `a` (its bytes copied) at the end of `r`; -1 if it is full. */
int cmd_route_append(struct cmd_route *r, const struct ockam_addr *a);

/* Initialise `msg` to go along `to` with `payload`, its replies coming
 * back to the client's local address `self` (which must outlive msg), in
 * the return route view `ret` (which must outlive it too).
 * It asks for a connection (OCKAM_MSG_CONNECT): the operator typed the
 * route. */
void cmd_message_init(struct ockam_message *msg, const struct ockam_route *to,
		      const char *self, struct ockam_addr *ret,
		      const void *payload, size_t len);
/* Parse a route given as command-line words, each written "a,b,c" or
 * "[a, b, c]" (items may be quoted): `a,b`, `a b` (two words) and
 * `'[a, b]'` are the same route.  An address with a space in it ('a b' as
 * one word) is an error with that hint.  On error writes a reason to `err`
 * and returns -1. */
int cmd_route_parse(struct node *n, char *const words[], size_t n_words,
		    struct cmd_route *out, char *err, size_t err_len);
/* "250ms", "2s", "1.5" (seconds, like ping) -> ms; -1 if malformed. */
int cmd_duration_parse(const char *text, uint64_t *ms);
/* Monotonic microseconds, for round-trip times. */
uint64_t cmd_now_us(void);

#endif
