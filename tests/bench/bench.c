/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench: a load-driving worker for scripts/bench (not installed).
 *
 * Loaded into an initiator node, it sends along `route` (with its own
 * address as the return route) and prints one result line on stdout,
 * "BENCH key=value ...", which the benchmark script reads; the node keeps
 * running (idle) until the script stops it.
 *
 *   mode: rtt      one message at a time; per-message round trips (us)
 *   mode: echo     `window` messages outstanding, the far end echoes each
 *   mode: oneway   the far end is a bench_sink that replies every
 *                  `ack_every` messages with its count; at most `window`
 *                  messages unacknowledged
 *   mode: fanout   one message through each of `n` routes
 *                  [<prefix><i>, <tail...>] (e.g. n secure channels), at
 *                  most `window` at once; reports the time until all replied
 *
 * Every mode first does `warmup` round trips (waits out connects and
 * handshakes), then measures for `duration` (or `count` messages).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ockam/ockam.h>

enum bench_mode { MODE_RTT, MODE_ECHO, MODE_ONEWAY, MODE_FANOUT };
enum bench_phase { PHASE_WARMUP, PHASE_RUN, PHASE_DRAIN, PHASE_DONE };

#define RTT_SAMPLES_MAX 2000000u
#define STALL_MS 10000

struct bench {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	enum bench_mode mode;
	enum bench_phase phase;
	struct ockam_route route;
	struct ockam_route tail; /* fanout: after the per-channel address */
	const char *prefix;
	uint64_t size, count, window, duration_ms, warmup, ack_every, n;

	uint8_t *payload;
	struct ockam_source *timer;

	uint64_t warm_done;
	uint64_t sent, received, acked; /* in the measured phase */
	uint64_t ack_base; /* oneway: the sink's count when the run began */
	uint64_t t_start, t_end, t_last_progress; /* ns */
	uint64_t t_sent; /* rtt: when the message in flight left */
	uint32_t *rtt_us;
	size_t n_rtt;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A message of views: send copies what it points to before returning. */
static int send_to(struct bench *b, const struct ockam_route *onward)
{
	struct ockam_message m;
	ockam_message_init(&m);
	m.onward = *onward;
	struct ockam_addr self;
	ockam_addr_local(&self, b->host->instance_name(b->ctx));
	m.ret = ockam_route_make(&self, 1);
	m.payload = b->payload;
	m.payload_len = b->size;
	/* Its routes come from its options: it may open connections. */
	m.flags = OCKAM_MSG_CONNECT;
	return b->host->send(b->ctx, &m);
}

static int fanout_send(struct bench *b, uint64_t i)
{
	char name[OCKAM_ADDR_MAX + 1];
	struct ockam_addr hops[OCKAM_ROUTE_MAX], a;
	struct ockam_route r;
	snprintf(name, sizeof(name), "%s%" PRIu64, b->prefix, i);
	if (ockam_addr_local(&a, name) != 0 ||
	    ockam_route_prepend(hops, OCKAM_ROUTE_MAX, &a, &b->tail, &r) != 0)
		return -EINVAL;
	return send_to(b, &r);
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, c = *(const uint32_t *)y;
	return a < c ? -1 : a > c;
}

static uint32_t pct(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static void report(struct bench *b)
{
	b->phase = PHASE_DONE;
	double secs = (double)(b->t_end - b->t_start) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	switch (b->mode) {
	case MODE_RTT:
		qsort(b->rtt_us, b->n_rtt, sizeof(b->rtt_us[0]), cmp_u32);
		printf("BENCH mode=rtt size=%" PRIu64 " n=%zu p50_us=%u p99_us=%u min_us=%u max_us=%u\n",
		       b->size, b->n_rtt, pct(b->rtt_us, b->n_rtt, 0.5),
		       pct(b->rtt_us, b->n_rtt, 0.99),
		       pct(b->rtt_us, b->n_rtt, 0.0),
		       pct(b->rtt_us, b->n_rtt, 1.0));
		break;
	case MODE_ECHO:
	case MODE_ONEWAY: {
		uint64_t done = b->mode == MODE_ECHO ? b->received : b->acked;
		printf("BENCH mode=%s size=%" PRIu64 " n=%" PRIu64 " secs=%.6f msg_s=%.1f mb_s=%.3f\n",
		       b->mode == MODE_ECHO ? "echo" : "oneway", b->size, done,
		       secs, (double)done / secs,
		       (double)done * (double)b->size / secs / 1e6);
		break;
	}
	case MODE_FANOUT:
		printf("BENCH mode=fanout n=%" PRIu64 " replied=%" PRIu64 " secs=%.6f end_wall_us=%" PRIu64 "\n",
		       b->n, b->received, secs, wall_us());
		break;
	}
	fflush(stdout);
	b->host->log(b->ctx, OCKAM_LOG_INFO, "benchmark done");
}

/* Send while the window and the time allow. */
static void pump(struct bench *b)
{
	if (b->phase != PHASE_RUN && b->phase != PHASE_DRAIN)
		return;
	uint64_t t = now_ns();
	int over = (b->duration_ms && t - b->t_start >= b->duration_ms * 1000000u) ||
		   (b->count && b->sent >= b->count) ||
		   (b->mode == MODE_FANOUT && b->sent >= b->n);
	if (b->mode == MODE_ONEWAY && over && b->sent % b->ack_every != 0)
		over = 0; /* finish the last acknowledged batch */
	if (over || b->phase == PHASE_DRAIN) {
		b->phase = PHASE_DRAIN;
	} else {
		for (;;) {
			uint64_t inflight = b->mode == MODE_ONEWAY
						    ? b->sent - b->acked
						    : b->sent - b->received;
			if (b->mode == MODE_FANOUT && b->sent >= b->n)
				break;
			if (inflight >= b->window)
				break;
			if (b->mode == MODE_ONEWAY && b->count &&
			    b->sent >= b->count && b->sent % b->ack_every == 0)
				break;
			int rc = b->mode == MODE_FANOUT ? fanout_send(b, b->sent)
							: send_to(b, &b->route);
			if (rc == -ENOBUFS) {
				b->host->timer_update(b->timer, 1);
				return;
			}
			if (rc < 0) {
				printf("BENCH error=send rc=%d (%s)\n", rc,
				       strerror(-rc));
				fflush(stdout);
				b->phase = PHASE_DONE;
				return;
			}
			if (b->mode == MODE_RTT)
				b->t_sent = now_ns();
			b->sent++;
			if (b->mode != MODE_FANOUT &&
			    ((b->sent & 63) == 0 || b->mode == MODE_RTT)) {
				/* re-check the clock now and then */
				t = now_ns();
				if (b->duration_ms &&
				    t - b->t_start >= b->duration_ms * 1000000u &&
				    (b->mode != MODE_ONEWAY ||
				     b->sent % b->ack_every == 0))
					break;
			}
		}
	}
	uint64_t done = b->mode == MODE_ONEWAY ? b->acked : b->received;
	if (b->phase == PHASE_DRAIN && done >= b->sent) {
		b->t_end = now_ns();
		report(b);
	}
}

static void start_run(struct bench *b)
{
	b->phase = PHASE_RUN;
	b->t_start = now_ns();
	b->t_last_progress = b->t_start;
	pump(b);
}

static void on_timer(void *data)
{
	struct bench *b = data;
	if (b->phase == PHASE_DONE)
		return;
	uint64_t t = now_ns();
	if ((t - b->t_last_progress) / 1000000u > STALL_MS) {
		printf("BENCH error=stalled phase=%d sent=%" PRIu64 " received=%" PRIu64 " acked=%" PRIu64 "\n",
		       (int)b->phase, b->sent, b->received, b->acked);
		fflush(stdout);
		b->phase = PHASE_DONE;
		return;
	}
	b->host->timer_update(b->timer, 100);
	if (b->phase == PHASE_RUN)
		pump(b);
}

static int bench_handle(void *state, void *addr_data,
			const struct ockam_message *msg)
{
	struct bench *b = state;
	b->t_last_progress = now_ns();
	if (b->phase == PHASE_WARMUP && b->mode == MODE_ONEWAY) {
		/* The sink acknowledged the warm-up batch: counts from here. */
		if (msg->payload_len >= 8)
			memcpy(&b->ack_base, msg->payload, 8);
		start_run(b);
		return 0;
	}
	if (b->phase == PHASE_WARMUP) {
		if (++b->warm_done < b->warmup) {
			send_to(b, &b->route);
			return 0;
		}
		start_run(b);
		return 0;
	}
	if (b->phase != PHASE_RUN && b->phase != PHASE_DRAIN)
		return 0;
	if (b->mode == MODE_ONEWAY) {
		uint64_t c = 0;
		if (msg->payload_len >= 8)
			memcpy(&c, msg->payload, 8);
		if (c > b->ack_base && c - b->ack_base > b->acked)
			b->acked = c - b->ack_base;
	} else {
		b->received++;
	}
	if (b->mode == MODE_RTT && b->n_rtt < RTT_SAMPLES_MAX)
		b->rtt_us[b->n_rtt++] =
			(uint32_t)((b->t_last_progress - b->t_sent) / 1000u);
	pump(b);
	return 0;
}

static int bench_start(void *state)
{
	struct bench *b = state;
	b->timer = b->host->timer_add(b->ctx, 100, on_timer, b);
	if (!b->timer)
		return -ENOMEM;
	printf("BENCH_START wall_us=%" PRIu64 "\n", wall_us());
	fflush(stdout);
	b->t_last_progress = now_ns();
	if (b->mode == MODE_FANOUT || b->warmup == 0) {
		start_run(b);
		return 0;
	}
	b->phase = PHASE_WARMUP;
	/* One-way: a whole batch, so that the sink acknowledges it. */
	uint64_t n = b->mode == MODE_ONEWAY ? b->ack_every : 1;
	for (uint64_t i = 0; i < n; i++) {
		int rc = send_to(b, &b->route);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void bench_destroy(void *state)
{
	struct bench *b = state;
	if (!b)
		return;
	free(b->payload);
	free(b->rtt_us);
	free(b);
}

static const struct ockam_option bench_options[] = {
	{.name = "mode", .type = OCKAM_OPTION_ENUM, .def = "rtt",
	 .choices = "rtt|echo|oneway|fanout", .help = "what to measure"},
	{.name = "route", .type = OCKAM_OPTION_ROUTE,
	 .help = "where to send (required but in fanout)"},
	{.name = "size", .type = OCKAM_OPTION_SIZE, .def = "64",
	 .max = 16u << 20, .help = "payload bytes"},
	{.name = "count", .type = OCKAM_OPTION_INT, .def = "0",
	 .max = UINT32_MAX, .help = "messages to send; 0: for `duration`"},
	{.name = "window", .type = OCKAM_OPTION_INT, .def = "1", .min = 1,
	 .max = 1000, .help = "messages in flight"},
	{.name = "duration", .type = OCKAM_OPTION_DURATION, .def = "1s",
	 .help = "how long to send when count is 0"},
	{.name = "warmup", .type = OCKAM_OPTION_INT, .def = "10",
	 .max = 1000000, .help = "messages not measured first"},
	{.name = "ack_every", .type = OCKAM_OPTION_INT, .def = "64", .min = 1,
	 .max = 4096, .help = "oneway: the sink acks every this many"},
	{.name = "n", .type = OCKAM_OPTION_INT, .def = "0", .max = 1000000,
	 .help = "fanout: number of routes"},
	{.name = "prefix", .type = OCKAM_OPTION_STRING, .def = "alice",
	 .help = "fanout: first address of route i is <prefix><i>"},
	/* Hops after the per-channel address: on the far node, so not a
	 * ROUTE (whose first hop must be a worker here). */
	{.name = "tail", .type = OCKAM_OPTION_STRINGS, .def = "[]",
	 .help = "fanout: the rest of each route"},
	{0},
};

static int bench_check(const struct ockam_host *h, struct ockam_ctx *ctx)
{
	const struct ockam_opt *root = h->opt_root(ctx);
	const char *mode = "";

	h->opt_get_str(ctx, root, "mode", &mode);
	if (strcmp(mode, "fanout") && !h->opt_get(root, "route"))
		return h->opt_error(ctx, root, "route is required");
	return 0;
}

static int bench_create(const struct ockam_host *h, struct ockam_ctx *ctx,
			void **state)
{
	const struct ockam_opt *root = h->opt_root(ctx);
	struct bench *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->host = h;
	b->ctx = ctx;
	const char *mode = "rtt";
	int rc = h->opt_get_str(ctx, root, "mode", &mode);
	rc = rc ? rc : h->opt_get_size(ctx, root, "size", UINT64_MAX, &b->size);
	rc = rc ? rc : h->opt_get_u64(ctx, root, "count", 0, UINT64_MAX, &b->count);
	rc = rc ? rc : h->opt_get_u64(ctx, root, "window", 0, UINT64_MAX, &b->window);
	rc = rc ? rc : h->opt_get_duration_ms(ctx, root, "duration", &b->duration_ms);
	rc = rc ? rc : h->opt_get_u64(ctx, root, "warmup", 0, UINT64_MAX, &b->warmup);
	rc = rc ? rc : h->opt_get_u64(ctx, root, "ack_every", 0, UINT64_MAX, &b->ack_every);
	rc = rc ? rc : h->opt_get_u64(ctx, root, "n", 0, UINT64_MAX, &b->n);
	rc = rc ? rc : h->opt_get_str(ctx, root, "prefix", &b->prefix);
	if (rc == 0 && h->opt_get(root, "route"))
		rc = h->opt_get_route(ctx, root, "route", &b->route);
	if (rc == 0 && h->opt_count(h->opt_get(root, "tail")))
		rc = h->opt_get_route(ctx, root, "tail", &b->tail);
	if (rc == 0)
		b->mode = !strcmp(mode, "echo")	    ? MODE_ECHO
			  : !strcmp(mode, "oneway") ? MODE_ONEWAY
			  : !strcmp(mode, "fanout") ? MODE_FANOUT
						    : MODE_RTT;
	if (rc == 0 && b->mode == MODE_RTT)
		b->window = 1;
	if (rc == 0 && b->mode == MODE_FANOUT)
		b->duration_ms = 0;
	if (rc == 0 && b->mode == MODE_ONEWAY && b->window < b->ack_every)
		b->window = b->ack_every; /* else it would never get an ack */
	if (rc == 0) {
		b->payload = malloc(b->size ? b->size : 1);
		b->rtt_us = b->mode == MODE_RTT
				    ? malloc(RTT_SAMPLES_MAX * sizeof(uint32_t))
				    : malloc(4);
		if (!b->payload || !b->rtt_us)
			rc = -ENOMEM;
		else
			memset(b->payload, 'x', b->size);
	}
	if (rc != 0) {
		bench_destroy(b);
		return rc;
	}
	*state = b;
	return 0;
}

static const struct ockam_plugin bench_plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "bench",
	.kind = OCKAM_PLUGIN_WORKER,
	.description = "benchmark load driver (tests/bench)",
	.options = bench_options,
	.check = bench_check,
	.create = bench_create,
	.start = bench_start,
	.handle_message = bench_handle,
	.destroy = bench_destroy,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &bench_plugin;
}
