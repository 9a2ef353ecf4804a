/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ockam-host status --to ROUTE [--json]`: ask a node's status service
 * (address "status", on with `status: true`) for its report and print it.
 * `ockam-host reload --to ROUTE`: the same request with the payload
 * "reload" (the node needs `remote_reload: true` and takes it only out of
 * a secure channel); prints the node's one-line answer.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "loop.h"
#include "notice.h"
#include "route_text.h"
#include "router.h"
#include "status.h"

struct asker {
	struct node *node;
	const struct ockam_route *route; /* where the request went */
	int secure;                      /* into a local secure channel */
	int answered;
	int reload;  /* a reload request: its answer decides the exit */
	int applied; /* ... and it said "applied" */
	unsigned ignored;
	struct ockam_log_limit lim_ignored;
	char undelivered[NOTICE_WHY_MAX]; /* why the request was dropped */
};

static void status_usage(FILE *out)
{
	fprintf(out,
		"Usage: ockam-host status --to ROUTE [--json] [-W T] [--config FILE]\n"
		"\n"
		"Print a running node's workers, transports, listeners,\n"
		"connections and secure channels.  The node needs 'status: true'.\n"
		"ROUTE leads to it, like tcp:127.0.0.1:4000; 'status' is appended\n"
		"unless the route already ends there.\n"
		"\n"
		"Options:\n"
		"  -t, --to ROUTE       the node (required)\n"
		"  -j, --json           print JSON instead of a table\n"
		"  -W, --timeout T      how long to wait (default 5s)\n"
		"      --config FILE    build the asking node from FILE\n"
		"  -v, -q               more or less logging\n"
		"  -h, --help           show this help\n"
		"T is 250ms, 2s or plain seconds (0.2).\n"
		"\n"
		"Exit status: 0 with a report, 1 if none came, 2 for bad arguments\n"
		"or an invalid --config.\n");
}

static void reload_usage(FILE *out)
{
	fprintf(out,
		"Usage: ockam-host reload --to ROUTE [-W T] [--config FILE]\n"
		"\n"
		"Ask a running node to re-read its YAML file (as SIGHUP does) and\n"
		"print its answer.  The node needs 'status: true' and\n"
		"'remote_reload: true', and takes the request only out of a secure\n"
		"channel: ROUTE goes through one, like alice,status with --config\n"
		"naming the channel's initiator.  'status' is appended unless the\n"
		"route already ends there.\n"
		"\n"
		"Options:\n"
		"  -t, --to ROUTE       the node (required)\n"
		"  -W, --timeout T      how long to wait (default 5s)\n"
		"      --config FILE    build the asking node from FILE\n"
		"  -v, -q               more or less logging\n"
		"  -h, --help           show this help\n"
		"\n"
		"Exit status: 0 if the node applied the file, 1 if it refused it\n"
		"(errors in the file, listed in the node's log) or no answer came,\n"
		"2 for bad arguments or an invalid --config.\n");
}

static int asker_on_reply(void *owner, void *addr_data,
			  const struct ockam_message *msg)
{
	struct asker *a = owner;
	/* Only a message that came back the way the request went (so from
	 * the "status" at its end, and out of the same secure channel if it
	 * went into one) is the report: not an echoer at the end of a
	 * wrong route, nor a stranger's message to our address. */
	if (a->answered ||
	    !ockam_message_is_reply(msg, a->route, a->secure)) {
		char ret[512];
		a->ignored++;
		if (!log_limit_due(&a->lim_ignored, OCKAM_LOG_WARN))
			return 0;
		route_text_format(a->node->router, &msg->ret, ret, sizeof(ret));
		log_limited(&a->lim_ignored, OCKAM_LOG_WARN, "status",
			    "dropped a %s message from %s: not the report, which must come back the way the request went",
			    (msg->flags & OCKAM_MSG_SECURE) ? "secure"
							    : "plaintext",
			    ret);
		return 0;
	}
	a->answered = 1;
	a->applied = msg->payload_len >= 7 && !memcmp(msg->payload, "applied", 7);
	fwrite(msg->payload, 1, msg->payload_len, stdout);
	if (msg->payload_len && msg->payload[msg->payload_len - 1] != '\n')
		fputc('\n', stdout);
	fflush(stdout);
	node_quit(a->node, 0);
	return 0;
}

/* A transport or channel on our side dropped the request (connection
 * refused, channel refused): say why now rather than at the timeout. */
static void asker_on_notice(void *owner, void *addr_data,
			    const struct ockam_message *msg, int err,
			    const char *why)
{
	struct asker *a = owner;
	(void)addr_data;
	(void)msg;
	(void)err;
	if (a->answered || a->undelivered[0])
		return;
	snprintf(a->undelivered, sizeof(a->undelivered), "%s", why);
	node_quit(a->node, 1);
}

static void asker_on_timeout(void *data)
{
	struct asker *a = data;
	node_quit(a->node, 1);
}

static int status_or_reload(int argc, char **argv, int reload)
{
	const char *cmd = reload ? "ockam-host reload" : "ockam-host status";
	static const struct option longopts[] = {
		{"to", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 'W'},
		CMD_COMMON_LONGOPTS,
	};
	struct cmd_common common = { 0 };
	char *to = NULL;
	int json = 0, c, rc;
	uint64_t timeout = 5000;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:jW:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'j':
			if (reload)
				return cmd_usage_error(cmd, "--json goes with status");
			json = 1;
			break;
		case 'W':
			if (cmd_duration_parse(optarg, &timeout) < 0 || !timeout) {
				return cmd_usage_error(cmd,
						       "-W %s: expected a duration like 500ms, 5s or 0.5 (plain numbers are seconds)",
						       optarg);
			}
			break;
		default:
			rc = cmd_common_option(c, &common, reload ? reload_usage : status_usage,
					       cmd, argv);
			if (rc != CMD_GO_ON)
				return rc;
		}
	}
	/* `status ROUTE...` works too. */
	char *const *words = to ? &to : argv + optind;
	size_t n_words = to ? 1 : (size_t)(argc - optind);
	if (!n_words || (to && optind != argc))
		return cmd_usage_error(cmd,
				       to ? "give the route once, with --to" :
					    "expected --to ROUTE, like --to tcp:127.0.0.1:4000");

	int code;
	struct asker a = { 0 };
	a.reload = reload;
	a.node = cmd_node_start(&common, reload ? "reload" : "status", &code);
	if (!a.node)
		return code;

	static struct cmd_route cr; /* about 9 KB: not on the stack */
	struct ockam_route *route = &cr.route;
	char err[768], text[512], self[OCKAM_ADDR_MAX + 1];
	if (cmd_route_parse(a.node, words, n_words, &cr, err,
			    sizeof(err)) < 0) {
		cmd_usage_error(cmd, "%s", err);
		node_destroy(a.node);
		return 2;
	}
	const struct ockam_addr *last = &route->hop[route->count - 1];
	if (!ockam_addr_is_local(last, STATUS_ADDRESS)) {
		struct ockam_addr s;
		ockam_addr_local(&s, STATUS_ADDRESS);
		if (cmd_route_append(&cr, &s) < 0) {
			fprintf(stderr, "%s: route '%s' is too long\n", cmd, words[0]);
			node_destroy(a.node);
			return 2;
		}
	}
	route_text_format(a.node->router, route, text, sizeof(text));
	a.route = route;
	a.secure = node_address_is_secure_channel(a.node, &route->hop[0]);

	struct ockam_message msg;
	struct ockam_addr ret;
	snprintf(self, sizeof(self), "status_client.%ld", (long)getpid());
	if (reload)
		cmd_message_init(&msg, route, self, &ret, "reload", 6);
	else
		cmd_message_init(&msg, route, self, &ret, json ? "json" : "text", 4);
	code = 1;
	if (router_address_add(a.node->router, self, asker_on_reply, &a,
			       NULL) < 0 ||
	    notices_handler_add(a.node->notices, &a, asker_on_notice) < 0 ||
	    !loop_add_timer(a.node->loop, timeout, asker_on_timeout, &a, &a)) {
		fprintf(stderr, "%s: cannot set up the request\n", cmd);
	} else if (router_send(a.node->router, "status", &msg, 0) == 0) {
		code = node_run(a.node);
		if (!a.answered && a.undelivered[0])
			fprintf(stderr,
				"%s: request to %s not delivered: %s\n", cmd,
				text, a.undelivered);
		else if (!a.answered)
			fprintf(stderr,
				"%s: no %s from %s within %llu ms%s (is the node up, with 'status: true'?)\n",
				cmd, reload ? "answer" : "status report",
				text, (unsigned long long)timeout,
				a.ignored ? " (ignored a reply that did not come back the way the request went)" : "");
	}
	loop_remove_owner(a.node->loop, &a);
	notices_handler_remove(a.node->notices, &a);
	router_address_remove(a.node->router, self, &a);
	node_destroy(a.node);
	if (reload && a.answered)
		return a.applied ? 0 : 1;
	return a.answered ? 0 : (code ? code : 1);
}

int cmd_status(int argc, char **argv)
{
	return status_or_reload(argc, argv, 0);
}

int cmd_reload(int argc, char **argv)
{
	return status_or_reload(argc, argv, 1);
}
