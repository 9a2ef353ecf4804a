/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The small client node behind `ockam-host status` and `ping`: the same
 * node.c as a real node, described by the user's YAML (--config) or by the
 * client node description shipped with the host (configs/client.yaml: the
 * transports a client may use), so the host itself names no plugin.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "loader.h"
#include "log.h"
#include "route_text.h"

int cmd_log_level(int base, int verbosity)
{
	int level = base;
	const char *env = getenv("OCKAM_LOG");
	if (env && *env) {
		level = log_level_parse(env);
		if (level < 0) {
			fprintf(stderr,
				"ockam-host: OCKAM_LOG=%s: expected error, warn, info, debug or trace\n",
				env);
			return -1;
		}
	}
	level += verbosity;
	if (level < OCKAM_LOG_ERROR)
		level = OCKAM_LOG_ERROR;
	if (level > OCKAM_LOG_TRACE)
		level = OCKAM_LOG_TRACE;
	return level;
}

#ifndef OCKAM_CONFIG_INSTALL_DIR
#define OCKAM_CONFIG_INSTALL_DIR "/usr/local/share/ockam/configs"
#endif

const char *cmd_client_config(const char *cmd)
{
	const char *env = getenv("OCKAM_CLIENT_CONFIG");
	if (env && *env)
		return env;
#ifdef OCKAM_SOURCE_ROOT
	if (loader_running_from_build_tree())
		return OCKAM_SOURCE_ROOT "/configs/client.yaml";
#endif
	static const char installed[] = OCKAM_CONFIG_INSTALL_DIR "/client.yaml";
	if (access(installed, R_OK) == 0)
		return installed;
	fprintf(stderr,
		"ockam-host %s: no client node description: give --config NODE.yaml, set OCKAM_CLIENT_CONFIG, or install %s\n",
		cmd, installed);
	return NULL;
}

struct node *cmd_node_start(const struct cmd_common *common, const char *name,
			    int *exit_code)
{
	const char *config = common->config;
	int log_level = cmd_log_level(OCKAM_LOG_WARN, common->verbosity);

	*exit_code = 2;
	if (log_level < 0)
		return NULL;
	*exit_code = 1;
	if (!config)
		config = cmd_client_config(name);
	if (!config)
		return NULL;
	log_set_level(log_level);
	struct node_args args = {
		.config_path = config,
		.diag_echo = stderr,
		.log_level = log_level,
		.no_messages = 1,
	};
	struct node *n = node_create(&args, exit_code);
	if (!n)
		return NULL;
	int rc = node_start(n);
	if (rc < 0) {
		*exit_code = rc == -2 ? 2 : 1;
		node_destroy(n);
		return NULL;
	}
	return n;
}

int cmd_route_append(struct cmd_route *r, const struct ockam_addr *a)
{
	size_t i = r->route.count;
	if (i == OCKAM_ROUTE_MAX)
		return -1;
	ockam_addr_buf_set(&r->bufs[i], a);
	r->hops[i] = ockam_addr_buf_view(&r->bufs[i]);
	r->route = ockam_route_make(r->hops, i + 1);
	return 0;
}

void cmd_message_init(struct ockam_message *msg, const struct ockam_route *to,
		      const char *self, struct ockam_addr *ret,
		      const void *payload, size_t len)
{
	ockam_message_init(msg);
	msg->onward = *to;
	ockam_addr_local(ret, self);
	msg->ret = ockam_route_make(ret, 1);
	msg->payload = payload;
	msg->payload_len = len;
	/* The operator typed the route: its first hop may be dialled. */
	msg->flags = OCKAM_MSG_CONNECT;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0]) {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

/* One word of a route: "a,b", "[a, b]" or "a". */
static int route_word_parse(struct node *n, const char *text,
			    struct cmd_route *out, char *err, size_t err_len)
{
	char *copy = strdup(text), *s, *save = NULL;

	if (!copy) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	s = trim(copy);
	size_t len = strlen(s);
	if (len && s[0] == '[') {
		if (s[len - 1] != ']') {
			snprintf(err, err_len, "route '%s': missing ']'", text);
			free(copy);
			return -1;
		}
		s[len - 1] = '\0';
		s++;
	}
	int rc = 0;
	for (char *tok = strtok_r(s, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *a = trim(tok);
		char why[256];
		if (out->route.count == OCKAM_ROUTE_MAX) {
			snprintf(err, err_len, "route '%s': more than %d addresses",
				 text, OCKAM_ROUTE_MAX);
			rc = -1;
			break;
		}
		/* 'tcp:127.0.0.1:4000 echoer' is two addresses written as
		 * one: say so now, not "Invalid argument" at the send. */
		if (strpbrk(a, " \t\n")) {
			char fixed[256];
			size_t k = 0;
			for (const char *c = a; *c && k + 1 < sizeof(fixed); c++)
				if (!strchr(" \t\n", *c))
					fixed[k++] = *c;
				else if (k && fixed[k - 1] != ',')
					fixed[k++] = ',';
			fixed[k] = '\0';
			snprintf(err, err_len,
				 "route '%s': address '%s' has a space in it; separate addresses with commas (%s) or give them as separate words",
				 text, a, fixed);
			rc = -1;
			break;
		}
		struct ockam_addr view;
		if (addr_text_parse(n->router, a, &view, why, sizeof(why)) < 0) {
			snprintf(err, err_len, "route '%s': %s", text, why);
			rc = -1;
			break;
		}
		/* The view points into `copy`, freed below: keep the bytes. */
		cmd_route_append(out, &view);
	}
	free(copy);
	return rc;
}

int cmd_route_parse(struct node *n, char *const words[], size_t n_words,
		    struct cmd_route *out, char *err, size_t err_len)
{
	out->route = ockam_route_make(out->hops, 0);
	for (size_t i = 0; i < n_words; i++)
		if (route_word_parse(n, words[i], out, err, err_len) < 0)
			return -1;
	if (out->route.count == 0) {
		snprintf(err, err_len,
			 "route '%s' is empty; write it like tcp:127.0.0.1:4000,echoer",
			 n_words ? words[0] : "");
		return -1;
	}
	return 0;
}

int cmd_duration_parse(const char *text, uint64_t *ms)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	double scale = 1000.0; /* plain numbers are seconds, like ping -i */

	if (end == text || errno || !(v >= 0) || !isfinite(v))
		return -1;
	if (!strcmp(end, "ms"))
		scale = 1.0;
	else if (!strcmp(end, "s") || !*end)
		scale = 1000.0;
	else if (!strcmp(end, "m"))
		scale = 60000.0;
	else
		return -1;
	v *= scale;
	if (v > 86400000.0)
		return -1;
	*ms = (uint64_t)(v + 0.5);
	return 0;
}

uint64_t cmd_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
