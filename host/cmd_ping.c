/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ockam-host ping [-c N] [-i interval] [-W timeout] [--config node.yaml]
 * ROUTE...`: send numbered messages to the echoer at the end of ROUTE and
 * print each reply's round-trip time, then a summary, like ping(8).
 */
#include <errno.h>
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

/* Replies are matched by sequence number within this many recent sends;
 * older ones count as lost. */
#define WINDOW 256

struct ping_slot {
	uint64_t seq, sent_us;
	int pending;
};

struct ping {
	struct node *node;
	struct cmd_route route;
	char route_text[512];
	char self[OCKAM_ADDR_MAX + 1];
	uint64_t count, interval_ms, timeout_ms;
	uint64_t sent, received, lost;
	uint64_t errors; /* messages a transport or channel here dropped */
	uint64_t refused; /* messages to us that were no reply (forged) */
	int secure;       /* route.hop[0] is a local secure channel */
	struct ockam_log_limit lim_refused;
	uint64_t min_us, max_us, sum_us;
	struct ping_slot slots[WINDOW];
	struct ockam_source *tick, *deadline;
	int registered;
};

static void ping_usage(FILE *out)
{
	fprintf(out,
		"Usage: ockam-host ping [OPTIONS] ROUTE...\n"
		"\n"
		"Send messages along ROUTE to the echoer at its end and print each\n"
		"reply's round-trip time.  ROUTE is written like a YAML route, or\n"
		"as separate words:\n"
		"  tcp:127.0.0.1:4000,echoer   '[tcp:127.0.0.1:4000, echoer]'\n"
		"  tcp:127.0.0.1:4000 echoer\n"
		"\n"
		"Options:\n"
		"  -c, --count N        stop after N messages (default: until Ctrl-C)\n"
		"  -i, --interval T     time between messages (default 1s)\n"
		"  -W, --timeout T      how long to wait for each reply (default 2s)\n"
		"      --config FILE    build the sending node from FILE (e.g. with a\n"
		"                       secure channel initiator as the first hop)\n"
		"  -v, -q               more or less logging\n"
		"  -h, --help           show this help\n"
		"T is 250ms, 2s or plain seconds (0.2).\n"
		"\n"
		"Exit status: 0 if every message got its reply, 1 otherwise,\n"
		"2 for bad arguments or an invalid --config.\n");
}

static int ping_outstanding(const struct ping *p)
{
	for (size_t i = 0; i < WINDOW; i++)
		if (p->slots[i].pending)
			return 1;
	return 0;
}

static void ping_finish_if_done(struct ping *p)
{
	if (p->count && p->sent >= p->count && !ping_outstanding(p))
		node_quit(p->node, 0);
}

/* Pending messages older than the timeout are lost. */
static void ping_expire(struct ping *p)
{
	uint64_t now = cmd_now_us();
	for (size_t i = 0; i < WINDOW; i++) {
		struct ping_slot *s = &p->slots[i];
		if (s->pending && now - s->sent_us >= p->timeout_ms * 1000u) {
			s->pending = 0;
			p->lost++;
		}
	}
}

static void ping_send(struct ping *p)
{
	struct ockam_message msg;
	struct ockam_addr ret;
	char payload[32];
	uint64_t seq = p->sent + 1;
	int len = snprintf(payload, sizeof(payload), "ping %011llu",
			   (unsigned long long)seq);

	struct ping_slot *s = &p->slots[seq % WINDOW];
	if (s->pending) {
		s->pending = 0;
		p->lost++;
	}
	cmd_message_init(&msg, &p->route.route, p->self, &ret, payload,
			 (size_t)len);
	p->sent++;
	s->seq = seq;
	s->sent_us = cmd_now_us();
	int rc = router_send(p->node->router, "ping", &msg, 0);
	if (rc < 0) {
		/* Refused at once (no route, a transport backing off after
		 * a failure, a full queue): the sender has logged the
		 * details. */
		p->errors++;
		printf("From %s: seq=%llu not sent: %s\n", p->route_text,
		       (unsigned long long)seq, strerror(-rc));
		fflush(stdout);
	} else {
		s->pending = 1;
	}
}

static void ping_on_deadline(void *data)
{
	struct ping *p = data;
	ping_expire(p);
	node_quit(p->node, 0);
}

static void ping_on_tick(void *data)
{
	struct ping *p = data;
	ping_expire(p);
	if (!p->count || p->sent < p->count)
		ping_send(p);
	if (!p->count || p->sent < p->count) {
		loop_update_timer(p->tick, p->interval_ms);
		return;
	}
	ping_finish_if_done(p);
	if (!p->deadline)
		p->deadline = loop_add_timer(p->node->loop, p->timeout_ms,
					     ping_on_deadline, p, p);
}

/* The sequence number of one of our messages ("ping <seq>"), or -1. */
static int ping_seq_of(const struct ockam_message *msg,
		       unsigned long long *seq)
{
	char text[32];
	size_t n = msg->payload_len < sizeof(text) - 1 ? msg->payload_len
							: sizeof(text) - 1;

	if (!n)
		return -1;
	memcpy(text, msg->payload, n);
	text[n] = '\0';
	return sscanf(text, "ping %llu", seq) == 1 ? 0 : -1;
}

static int ping_on_reply(void *owner, void *addr_data,
			 const struct ockam_message *msg)
{
	struct ping *p = owner;
	uint64_t now = cmd_now_us();
	unsigned long long seq;

	/* A reply came back the way the ping went (out of the same secure
	 * channel if it went into one); anything else is no reply,
	 * whatever its payload says. */
	if (!ockam_message_is_reply(msg, &p->route.route, p->secure)) {
		char ret[512];
		p->refused++;
		if (!log_limit_due(&p->lim_refused, OCKAM_LOG_WARN))
			return 0;
		route_text_format(p->node->router, &msg->ret, ret, sizeof(ret));
		log_limited(&p->lim_refused, OCKAM_LOG_WARN, "ping",
			    "dropped a %s message from %s: not a reply to %s, which must come back %s",
			    (msg->flags & OCKAM_MSG_SECURE) ? "secure"
							    : "plaintext",
			    ret, p->route_text,
			    p->secure ? "out of that secure channel"
				      : "the way it went");
		return 0;
	}
	if (ping_seq_of(msg, &seq) < 0)
		return 0;
	struct ping_slot *s = &p->slots[seq % WINDOW];
	if (!s->pending || s->seq != seq)
		return 0; /* late (already counted lost) or duplicate */
	s->pending = 0;
	uint64_t rtt = now - s->sent_us;
	p->received++;
	p->sum_us += rtt;
	if (p->received == 1 || rtt < p->min_us)
		p->min_us = rtt;
	if (rtt > p->max_us)
		p->max_us = rtt;
	printf("%zu bytes from %s: seq=%llu time=%.3f ms%s%s\n",
	       msg->payload_len, p->route_text, seq, (double)rtt / 1000.0,
	       (msg->flags & OCKAM_MSG_SECURE) ? " secure=" : "",
	       (msg->flags & OCKAM_MSG_SECURE) ? ockam_message_identifier(msg) : "");
	fflush(stdout);
	ping_finish_if_done(p);
	return 0;
}

/* Fail pending message `seq` (0: every pending one: a channel that lost
 * what it had sent knows only who sent it) and print why, as ping(8)
 * prints an ICMP error. */
static void ping_on_notice(void *owner, void *addr_data,
			   const struct ockam_message *msg, int err,
			   const char *why)
{
	struct ping *p = owner;
	unsigned long long seq = 0;
	(void)addr_data;
	(void)err;
	if (msg->payload_len && ping_seq_of(msg, &seq) < 0)
		return; /* not one of ours */
	for (size_t i = 0; i < WINDOW; i++) {
		struct ping_slot *s = &p->slots[i];
		if (!s->pending || (seq && s->seq != seq))
			continue;
		s->pending = 0;
		p->errors++;
		printf("From %s: seq=%llu not delivered: %s\n", p->route_text,
		       (unsigned long long)s->seq, why);
	}
	fflush(stdout);
	ping_finish_if_done(p);
}

static void ping_summary(const struct ping *p)
{
	uint64_t unanswered = p->sent - p->received;
	printf("--- %s ping statistics ---\n", p->route_text);
	printf("%llu sent, %llu received, ", (unsigned long long)p->sent,
	       (unsigned long long)p->received);
	if (p->errors)
		printf("+%llu errors, ", (unsigned long long)p->errors);
	if (p->refused)
		printf("%llu forged dropped, ",
		       (unsigned long long)p->refused);
	printf("%llu%% loss",
	       (unsigned long long)(p->sent ? unanswered * 100 / p->sent : 0));
	if (p->received)
		printf(", rtt min/avg/max = %.3f/%.3f/%.3f ms",
		       (double)p->min_us / 1000.0,
		       (double)p->sum_us / (double)p->received / 1000.0,
		       (double)p->max_us / 1000.0);
	printf("\n");
	fflush(stdout);
}

int cmd_ping(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"count", required_argument, NULL, 'c'},
		{"interval", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 'W'},
		CMD_COMMON_LONGOPTS,
	};
	struct cmd_common common = { 0 };
	int c, rc;
	uint64_t count = 0, interval = 1000, timeout = 2000;
	char *end;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:i:W:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			errno = 0;
			count = strtoull(optarg, &end, 10);
			if (errno || *end || !count || optarg[0] == '-') {
				return cmd_usage_error("ockam-host ping",
						       "-c %s: expected a count of 1 or more",
						       optarg);
			}
			break;
		case 'i':
		case 'W':
			if (cmd_duration_parse(optarg, c == 'i' ? &interval : &timeout) < 0 ||
			    (c == 'W' && timeout == 0)) {
				return cmd_usage_error("ockam-host ping",
						       "-%c %s: expected a duration like 250ms, 2s or 0.5 (plain numbers are seconds)",
						       c, optarg);
			}
			break;
		default:
			rc = cmd_common_option(c, &common, ping_usage,
					       "ockam-host ping", argv);
			if (rc != CMD_GO_ON)
				return rc;
		}
	}
	if (optind == argc)
		return cmd_usage_error("ockam-host ping",
				       "expected a ROUTE, like tcp:127.0.0.1:4000,echoer");

	struct ping *p = calloc(1, sizeof(*p));
	if (!p)
		return 1;
	int code;
	p->node = cmd_node_start(&common, "ping", &code);
	if (!p->node) {
		free(p);
		return code;
	}
	char err[768];
	if (cmd_route_parse(p->node, argv + optind, (size_t)(argc - optind),
			    &p->route, err, sizeof(err)) < 0) {
		cmd_usage_error("ockam-host ping", "%s", err);
		code = 2;
		goto out;
	}
	route_text_format(p->node->router, &p->route.route, p->route_text,
			  sizeof(p->route_text));
	p->secure = node_address_is_secure_channel(p->node,
						   &p->route.route.hop[0]);
	p->count = count;
	p->interval_ms = interval;
	p->timeout_ms = timeout;
	snprintf(p->self, sizeof(p->self), "ping.%ld", (long)getpid());
	if (router_address_add(p->node->router, p->self, ping_on_reply, p,
			       NULL) < 0 ||
	    notices_handler_add(p->node->notices, p, ping_on_notice) < 0 ||
	    !(p->tick = loop_add_timer(p->node->loop, 0, ping_on_tick, p, p))) {
		fprintf(stderr, "ockam-host ping: cannot set up the sender\n");
		code = 1;
		goto out;
	}
	p->registered = 1;
	printf("PING %s\n", p->route_text);
	fflush(stdout);
	code = node_run(p->node);
	ping_summary(p);
	if (code == 0 && (p->sent == 0 || p->received != p->sent))
		code = 1;
out:
	loop_remove_owner(p->node->loop, p);
	notices_handler_remove(p->node->notices, p);
	if (p->registered)
		router_address_remove(p->node->router, p->self, p);
	node_destroy(p->node);
	free(p);
	return code;
}
