/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uppercase: an example worker plugin for ockam-host.
 *
 * Replies to every message with its payload upper-cased (ASCII a-z only),
 * along the message's return route, like echoer.  Two options:
 *
 *   workers:
 *     shout:
 *       type: uppercase
 *       options:
 *         prefix: "uppercase: "   # prepended to every reply (default "")
 *         report_every: 10s       # an INFO line with the count (default 0:
 *                                 # none)
 *
 * It shows the SDK helpers of <ockam/host.h>: host->send_reserve (the
 * reply written in place, in the buffer it is sent from), host->log_limited
 * (bad input logged once a second, counted), host->timer_add_periodic (a
 * report that does not drift) and the route views of <ockam/route.h>.
 *
 * Build it out of the ockam-host tree with nothing but the installed
 * headers: `meson install` puts this file, with a standalone meson.build,
 * in <datadir>/ockam/sdk/example/; copy that folder, then
 *
 *   meson setup build && meson compile -C build     # build/uppercase.so
 *
 * or, without meson:
 *
 *   cc $(pkg-config --cflags ockam-plugin) -shared -fPIC \
 *      -o uppercase.so uppercase.c
 *
 * docs/plugins.md walks through this file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The one header a plugin needs: host services, messages, routes, the
 * plugin descriptor and the ABI version. */
#include <ockam/ockam.h>

/* Longest prefix accepted; it is copied into every reply. */
#define PREFIX_MAX 64

/* One per YAML entry using this plugin: the host may run several. */
struct uppercase {
	const struct ockam_host *host; /* the services table, for every call */
	struct ockam_ctx *ctx;         /* who we are, for every call */
	const char *prefix; /* points into the YAML tree: valid until destroy */
	size_t prefix_len;
	uint64_t report_ms;           /* report_every; 0: no report */
	struct ockam_source *report;  /* the periodic report timer */
	uint64_t answered, answered_all; /* since the last report; in all */
	/* One limiter per kind of bad input: a flood of one never hides
	 * another.  Zeroed by calloc, which is all they need. */
	struct ockam_log_limit lim_noreturn, lim_nosend;
};

/* The options, declared: the host refuses typos ("prefx") with a
 * did-you-mean, wrong types (prefix: 42 needs quotes), and fills in the
 * defaults, every problem as "node.yaml:line:col: message".  The same
 * table generates this plugin's section of docs/configuration.md. */
static const struct ockam_option uppercase_options[] = {
	{.name = "prefix", .type = OCKAM_OPTION_STRING, .def = "\"\"",
	 .help = "text put before every reply (at most 64 bytes)"},
	{.name = "report_every", .type = OCKAM_OPTION_DURATION, .def = "0",
	 .help = "log how many messages it answered, this often; 0: never"},
	{0},
};

/* What the table cannot say: a length limit.  Runs before any create;
 * reports with opt_error and allocates nothing. */
static int uppercase_check(const struct ockam_host *h, struct ockam_ctx *ctx)
{
	const struct ockam_opt *p = h->opt_get(h->opt_root(ctx), "prefix");
	size_t len = strlen(h->opt_str(p));

	if (len > PREFIX_MAX)
		/* Point at the value itself, not at the worker. */
		return h->opt_error(ctx, p,
				    "'prefix' is %zu bytes; at most %d are allowed",
				    len, PREFIX_MAX);
	return 0;
}

/* Read the options: declared, so present (defaults filled in) and
 * well-formed; the getters cannot fail on them. */
static int uppercase_read_options(struct uppercase *u)
{
	const struct ockam_host *h = u->host;
	const struct ockam_opt *opts = h->opt_root(u->ctx);

	/* Option strings stay valid until after destroy: no copy needed. */
	if (h->opt_get_str(u->ctx, opts, "prefix", &u->prefix) < 0)
		return -EINVAL;
	u->prefix_len = strlen(u->prefix);
	return h->opt_get_duration_ms(u->ctx, opts, "report_every",
				      &u->report_ms);
}

/* create: allocate, read options, remember host and ctx.  No sending,
 * no timers yet: other workers may not exist. */
static int uppercase_create(const struct ockam_host *host,
			    struct ockam_ctx *ctx, void **state)
{
	struct uppercase *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->host = host;
	u->ctx = ctx;
	if (uppercase_read_options(u) < 0) {
		free(u);
		return -EINVAL;
	}
	*state = u;
	return 0;
}

/* handle_message: `msg` is borrowed (its views are valid until we
 * return).  The reply is written in place: send_reserve lends the buffer
 * the reply is sent from (a queue slot, a connection's write buffer), so
 * nothing is allocated or copied twice per message. */
static int uppercase_handle(void *state, void *addr_data,
			    const struct ockam_message *msg)
{
	struct uppercase *u = state;
	const struct ockam_host *h = u->host;
	(void)addr_data; /* NULL: only our YAML address delivers here */

	if (msg->ret.count == 0) {
		/* Anyone can send these: at most one line a second, with the
		 * count of the others ("(N similar suppressed)"). */
		h->log_limited(u->ctx, &u->lim_noreturn, OCKAM_LOG_WARN,
			       "message has an empty return route; no reply sent");
		return 0;
	}

	/* Reply along the return route; our own address (the hop the
	 * message came to) becomes the reply's return route.  Both are
	 * views of `msg`: nothing is copied until the host takes it. */
	struct ockam_message r;
	ockam_message_init(&r);
	r.onward = msg->ret;
	r.ret = ockam_route_make(&msg->onward.hop[0], 1);

	size_t len = u->prefix_len + msg->payload_len;
	uint8_t *out;
	int rc = h->send_reserve(u->ctx, &r, len, &out);
	if (rc < 0) {
		/* Refused like a send would be (no route, queue full): the
		 * router or transport has said why; this line is ours. */
		h->log_limited(u->ctx, &u->lim_nosend, OCKAM_LOG_WARN,
			       "cannot send a %zu-byte reply: %s", len,
			       strerror(-rc));
		return 0;
	}
	memcpy(out, u->prefix, u->prefix_len);
	out += u->prefix_len;
	for (size_t i = 0; i < msg->payload_len; i++) {
		uint8_t c = msg->payload[i];
		/* ASCII only: toupper() would depend on the locale. */
		out[i] = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
	}
	if (h->log_enabled(u->ctx, OCKAM_LOG_DEBUG))
		h->log(u->ctx, OCKAM_LOG_DEBUG, "replying with %zu bytes", len);
	h->send_commit(u->ctx, len);
	u->answered++;
	u->answered_all++;
	return 0;
}

/* The periodic report: the host re-arms it from when it was due, so
 * "every 10s" stays every 10 s however long this takes. */
static void uppercase_report(void *data)
{
	struct uppercase *u = data;
	if (!u->answered)
		return; /* nothing new: say nothing */
	u->host->log(u->ctx, OCKAM_LOG_INFO,
		     "answered %llu message(s) in the last %llu ms",
		     (unsigned long long)u->answered,
		     (unsigned long long)u->report_ms);
	u->answered = 0;
}

/* start: every worker exists now; timers may begin. */
static int uppercase_start(void *state)
{
	struct uppercase *u = state;
	if (!u->report_ms)
		return 0;
	u->report = u->host->timer_add_periodic(u->ctx, u->report_ms,
						uppercase_report, u);
	return u->report ? 0 : -ENOMEM;
}

/* stop: say what the limiters held back since their last line, and the
 * total, once. */
static void uppercase_stop(void *state)
{
	struct uppercase *u = state;
	const struct ockam_host *h = u->host;
	if (u->report) {
		h->source_remove(u->report);
		u->report = NULL;
		h->log(u->ctx, OCKAM_LOG_INFO, "answered %llu message(s) in all",
		       (unsigned long long)u->answered_all);
	}
	h->log_limited_flush(u->ctx, &u->lim_noreturn, OCKAM_LOG_WARN,
			     "message has an empty return route");
	h->log_limited_flush(u->ctx, &u->lim_nosend, OCKAM_LOG_WARN,
			     "cannot send a reply");
}

/* destroy: free everything.  Addresses and sources still registered
 * are removed by the host. */
static void uppercase_destroy(void *state)
{
	free(state);
}

/* The descriptor: static and const, returned by the one exported
 * symbol.  The host refuses it unless abi_version matches its own. */
static const struct ockam_plugin uppercase_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "uppercase", /* the `type:` in YAML; the file is uppercase.so */
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "replies to every message with its payload upper-cased",
	.options = uppercase_options,
	.check = uppercase_check,
	.create = uppercase_create,
	.start = uppercase_start,
	.handle_message = uppercase_handle,
	.stop = uppercase_stop,
	.destroy = uppercase_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &uppercase_plugin;
}
