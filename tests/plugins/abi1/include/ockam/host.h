/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services the host offers to plugins.
 *
 * The host passes a `const struct ockam_host *` and the plugin instance's own
 * `struct ockam_ctx *` to the plugin's create op.  Every call takes that ctx
 * so the host knows which instance is speaking (for logs, ownership of
 * addresses and sources, and privileges).
 *
 * The node runs one thread and one event loop.  Never block in a callback:
 * use the host's fds and timers instead.
 *
 * Errors are negative errno values (-EINVAL, -EMSGSIZE, ...); strerror(-rc)
 * describes them.
 */
#ifndef OCKAM_HOST_H
#define OCKAM_HOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <ockam/message.h>
#include <ockam/route.h>
#include <ockam/version.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ockam_ctx;    /* one per plugin instance; owned by the host */
struct ockam_source; /* an fd or timer registered with the loop */
struct ockam_opt;    /* a node of the instance's read-only YAML options */

enum ockam_log_level {
	OCKAM_LOG_ERROR = 0,
	OCKAM_LOG_WARN = 1,
	OCKAM_LOG_INFO = 2,
	OCKAM_LOG_DEBUG = 3,
	OCKAM_LOG_TRACE = 4,
};

/* Event bits for fd sources. */
enum {
	OCKAM_EV_READ = 1u << 0,
	OCKAM_EV_WRITE = 1u << 1,
	OCKAM_EV_ERROR = 1u << 2, /* error or hang-up; always reported */
};

enum ockam_opt_kind {
	OCKAM_OPT_SCALAR = 1,
	OCKAM_OPT_LIST = 2,
	OCKAM_OPT_MAP = 3,
};

struct ockam_status; /* a status report being written; owned by the host */

typedef void (*ockam_fd_fn)(void *data, int fd, uint32_t events);
typedef void (*ockam_timer_fn)(void *data);
/* A transport's send: onward.hop[0] is an address of the transport's type.
 * Returns 0 once the message is written or queued, or a negative errno. */
typedef int (*ockam_transport_send_fn)(void *data,
				       const struct ockam_message *msg);
/* Describe what the instance has right now into `out` (status_add and
 * status_set_*), synchronously; called when someone asks for the node's
 * status. */
typedef void (*ockam_status_fn)(void *data, struct ockam_status *out);

/* A rate limiter for one recurring log line (host->log_limited), owned by
 * the plugin: zero it (static or calloc, or `= {0}`) and keep one per
 * cause.  At most one line per `interval_ms` gets through; the lines held
 * back meanwhile are counted in `suppressed`, and the next line that gets
 * through ends with "(N similar suppressed)".  The host reads and writes
 * last_ms and suppressed; the plugin may set interval_ms. */
struct ockam_log_limit {
	uint64_t last_ms;     /* when a line last got through; 0: never */
	uint32_t suppressed;  /* lines held back since then */
	uint32_t interval_ms; /* at least this apart; 0 means 1000 */
};

/* Nonzero if `host` (a const struct ockam_host *) has `member`: a host
 * built before `member` was appended has a smaller struct_size.  Check
 * before calling any service marked "appended". */
#define OCKAM_HOST_HAS(host, member)                                      \
	((host)->struct_size >= offsetof(struct ockam_host, member) +     \
					sizeof((host)->member))

struct ockam_host {
	/* OCKAM_HOST_ABI_VERSION and sizeof(struct ockam_host) of the host.
	 * Fields are only ever appended; check OCKAM_HOST_HAS(host, field)
	 * before using a field added after the version you were built
	 * against. */
	uint32_t abi_version;
	uint32_t struct_size;

	/* ---- messaging ------------------------------------------------ */

	/* Route `msg` to msg->onward.hop[0]: a local worker or the
	 * transport registered for the address type.  Sent from a
	 * handle_message, a local message is queued and delivered from the
	 * loop after the handler returns (handlers never nest; a reply never
	 * arrives before send returns).  Sent from an fd or timer callback
	 * or start, it may be handed to the worker before send returns.
	 * The message is copied; the caller keeps ownership.  Fails with -EINVAL (empty
	 * onward route), -EHOSTUNREACH (no such worker or transport),
	 * -EMSGSIZE (too large), -ENOBUFS (queue full: back off), or, when
	 * the worker was handed the message at once, whatever its
	 * handle_message returned (a queued message the worker refuses
	 * comes back as a delivery-failure notice instead). */
	int (*send)(struct ockam_ctx *ctx, const struct ockam_message *msg);

	/* Make local address `name` deliver to this instance's
	 * handle_message with `addr_data`.  -EEXIST if taken, -EINVAL if
	 * the name is not [A-Za-z0-9_.-]{1,64}. */
	int (*address_add)(struct ockam_ctx *ctx, const char *name,
			   void *addr_data);
	/* Remove an address this instance added; safe inside its own
	 * handle_message.  Messages already queued for it are dropped. */
	int (*address_remove)(struct ockam_ctx *ctx, const char *name);
	/* Add a fresh random address "<prefix>.<16 hex>" and write it to
	 * `out` (at least OCKAM_ADDR_MAX + 1 bytes). */
	int (*address_add_random)(struct ockam_ctx *ctx, const char *prefix,
				  void *addr_data, char *out, size_t out_len);

	/* Route messages whose next hop has address type `type` to `fn`.
	 * `scheme` is the word used for it in routes ("tcp" makes
	 * "tcp:localhost:4000" parse as type `type`). */
	int (*transport_register)(struct ockam_ctx *ctx, uint8_t type,
				  const char *scheme,
				  ockam_transport_send_fn fn, void *data);

	/* ---- event loop ----------------------------------------------- */

	/* Watch `fd` for `events` (OCKAM_EV_READ | OCKAM_EV_WRITE).  The
	 * callback may remove any source, including its own. */
	struct ockam_source *(*fd_add)(struct ockam_ctx *ctx, int fd,
				       uint32_t events, ockam_fd_fn fn,
				       void *data);
	int (*fd_update)(struct ockam_source *src, uint32_t events);
	/* One-shot timer, fired `ms` milliseconds from now. */
	struct ockam_source *(*timer_add)(struct ockam_ctx *ctx, uint64_t ms,
					  ockam_timer_fn fn, void *data);
	/* Re-arm to `ms` from now; 0 disarms. */
	int (*timer_update)(struct ockam_source *src, uint64_t ms);
	/* Stop watching and free the source (deferred: safe anywhere). Does
	 * not close the fd. */
	void (*source_remove)(struct ockam_source *src);
	/* Monotonic milliseconds. */
	uint64_t (*now_ms)(void);

	/* ---- logging -------------------------------------------------- */

	/* One line per event; the host adds time, level, node and the
	 * instance's name.  No trailing newline. */
	void (*log)(struct ockam_ctx *ctx, enum ockam_log_level level,
		    const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;
	int (*log_enabled)(struct ockam_ctx *ctx, enum ockam_log_level level);

	/* ---- options: the instance's YAML, read-only ------------------ */

	/* The instance's `options:` node, or NULL if it has none. */
	const struct ockam_opt *(*opt_root)(struct ockam_ctx *ctx);
	enum ockam_opt_kind (*opt_kind)(const struct ockam_opt *o);
	/* Map lookup; NULL if absent or `o` is not a map. */
	const struct ockam_opt *(*opt_get)(const struct ockam_opt *o,
					   const char *key);
	/* Number of items of a list or pairs of a map; 0 for scalars. */
	size_t (*opt_count)(const struct ockam_opt *o);
	/* i-th list item, or i-th value of a map (key via opt_key_at). */
	const struct ockam_opt *(*opt_at)(const struct ockam_opt *o, size_t i);
	const char *(*opt_key_at)(const struct ockam_opt *o, size_t i);
	/* A scalar's text; NULL if `o` is not a scalar. */
	const char *(*opt_str)(const struct ockam_opt *o);
	/* Report a problem at `o` as "file:line:col: message" and return
	 * -EINVAL.  `o` may be NULL (the instance's own position is used). */
	int (*opt_error)(struct ockam_ctx *ctx, const struct ockam_opt *o,
			 const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;
	/* Report every key of map `o` not in the NULL-terminated `allowed`
	 * list (with a "did you mean" hint).  0 if all known, else -EINVAL. */
	int (*opt_check_keys)(struct ockam_ctx *ctx, const struct ockam_opt *o,
			      const char *const *allowed);
	/* Typed getters for map `o`'s `key`: leave *out untouched and
	 * return 0 if the key is absent; -EINVAL (already reported) if the
	 * value is malformed.  Durations accept "250ms", "10s", "5m", "1h", "7d"
	 * or "0" (another number without a unit is an error, "did you mean
	 * 10s?"); sizes accept "64KiB", "1MiB" or bytes. */
	int (*opt_get_str)(struct ockam_ctx *ctx, const struct ockam_opt *o,
			   const char *key, const char **out);
	int (*opt_get_bool)(struct ockam_ctx *ctx, const struct ockam_opt *o,
			    const char *key, int *out);
	int (*opt_get_u64)(struct ockam_ctx *ctx, const struct ockam_opt *o,
			   const char *key, uint64_t min, uint64_t max,
			   uint64_t *out);
	int (*opt_get_duration_ms)(struct ockam_ctx *ctx,
				   const struct ockam_opt *o, const char *key,
				   uint64_t *out);
	int (*opt_get_size)(struct ockam_ctx *ctx, const struct ockam_opt *o,
			    const char *key, uint64_t max, uint64_t *out);
	/* Parse a route option (a YAML list, or a route name declared under
	 * the node's `routes:`).  Errors are reported with their position. */
	int (*opt_get_route)(struct ockam_ctx *ctx, const struct ockam_opt *o,
			     const char *key, struct ockam_route *out);

	/* ---- wire encoding (docs/protocol.md) ------------------------- */

	/* Bytes needed to encode `msg` (routes and payload; no metadata). */
	size_t (*message_encoded_size)(const struct ockam_message *msg);
	/* Encode `msg` into buf; returns the length, or 0 if `cap` is too
	 * small. */
	size_t (*message_encode)(const struct ockam_message *msg, uint8_t *buf,
				 size_t cap);
	/* Decode exactly `len` bytes into *msg.  msg->payload points into
	 * `buf`; flags and identifier are cleared.  0, or -EBADMSG with
	 * every length, count and size checked. */
	int (*message_decode)(const uint8_t *buf, size_t len,
			      struct ockam_message *msg);

	/* ---- routes and node ------------------------------------------ */

	/* Parse one address as written in YAML: "echoer", "tcp:host:port"
	 * (any registered scheme) or "N#value".  0 or -EINVAL. */
	int (*addr_parse)(struct ockam_ctx *ctx, const char *text,
			  struct ockam_addr *out);
	/* Write "[tcp:127.0.0.1:4000, hop, echoer]" into buf (always
	 * NUL-terminated); returns the length it needed, like snprintf. */
	size_t (*route_format)(struct ockam_ctx *ctx,
			       const struct ockam_route *r, char *buf,
			       size_t len);
	/* The node's name and this instance's name (its address for
	 * workers, its type for transports). */
	const char *(*node_name)(struct ockam_ctx *ctx);
	const char *(*instance_name)(struct ockam_ctx *ctx);
	/* Resolve `path` relative to the directory of the node's YAML file
	 * into `out`.  Absolute paths are returned unchanged. */
	int (*path_resolve)(struct ockam_ctx *ctx, const char *path, char *out,
			    size_t out_len);

	/* ---- status (appended; check OCKAM_HOST_HAS first) ----------------
	 *
	 * `ockam-host status` shows what a running node has: one row per
	 * thing (a kind, a name, then key/value pairs).  An instance
	 * contributes rows by registering a callback; the host calls it
	 * while writing each report and drops it when the instance is
	 * destroyed.  Rows are append-only:
	 *
	 *   static void tcp_status(void *data, struct ockam_status *out)
	 *   {
	 *       for (each connection c) {
	 *           host->status_add(out, "connection", c->peer_text);
	 *           host->status_set_str(out, "direction", "outgoing");
	 *           host->status_set_u64(out, "bytes_in", c->bytes_in);
	 *           host->status_set_u64(out, "age_ms", now - c->since_ms);
	 *       }
	 *   }
	 *   host->status_register(ctx, tcp_status, t);  // in create
	 *
	 * Kinds in use: "listener", "connection", "outbound",
	 * "secure_channel", "secure_channel_listener".  Keys are [a-z0-9_];
	 * counters are u64; durations end in _ms.  Strings are copied.
	 * Never fails visibly: out of memory truncates the report. */
	int (*status_register)(struct ockam_ctx *ctx, ockam_status_fn fn,
			       void *data);
	/* Start a new row; the set_* calls below add to the last row. */
	void (*status_add)(struct ockam_status *out, const char *kind,
			   const char *name);
	void (*status_set_str)(struct ockam_status *out, const char *key,
			       const char *value);
	void (*status_set_u64)(struct ockam_status *out, const char *key,
			       uint64_t value);

	/* ---- delivery failures (appended; check OCKAM_HOST_HAS first) ----
	 *
	 * Say that `msg`, which this instance accepted earlier (its send or
	 * handle_message returned 0: a refusal is said by returning the
	 * error, never here too) and is now dropping, will never be
	 * delivered: a connection it waited for was refused, a channel it
	 * was queued on gave up.  `err` is a negative errno, `why` a short
	 * reason ("cannot connect to 127.0.0.1:4000: Connection refused").
	 * The host hands a copy to the local worker at the first hop of the
	 * message's return route (its handle_undeliverable, called later from
	 * the loop), so a sender learns at once instead of waiting for a
	 * timeout.  Best effort and local to the node: nothing is sent over
	 * the network, and the notice is dropped if no local sender is
	 * named or the notice queue is full.  Still log the drop yourself. */
	void (*message_undeliverable)(struct ockam_ctx *ctx,
				      const struct ockam_message *msg, int err,
				      const char *why);

	/* ---- SDK helpers (appended; check OCKAM_HOST_HAS first) --------- */

	/* log, at most one line per lim->interval_ms for `lim` (struct
	 * ockam_log_limit above); lines held back are counted and the next
	 * one that gets through ends with "(N similar suppressed)".  A line
	 * at a level the node does not write is neither written nor counted.
	 * Use one limiter per cause, so a flood of one kind of bad input
	 * never hides another. */
	void (*log_limited)(struct ockam_ctx *ctx, struct ockam_log_limit *lim,
			    enum ockam_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 4, 5)))
#endif
		;
	/* 1 if a line of `lim` at `level` would be written now (so the
	 * caller may format an expensive line, then log_limited it); else 0,
	 * and the line is counted as held back, as log_limited would have.
	 * For floods where even formatting the line costs too much. */
	int (*log_limited_due)(struct ockam_ctx *ctx,
			       struct ockam_log_limit *lim,
			       enum ockam_log_level level);
	/* At stop: if lines of `lim` were held back since its last line,
	 * write "N more line(s) like the last '<what>' suppressed" at
	 * `level` and reset the count.  Returns N (0: nothing written). */
	uint32_t (*log_limited_flush)(struct ockam_ctx *ctx,
				      struct ockam_log_limit *lim,
				      enum ockam_log_level level,
				      const char *what);
	/* Periodic timer: fires every `period_ms` (at least 1) from now,
	 * each firing scheduled from the previous scheduled time, not from
	 * when the callback ran, so it does not drift however long the
	 * callback takes.  Periods missed entirely (a callback or the loop
	 * slower than the period) are skipped, not run in a burst.
	 * timer_update(src, ms) re-arms it to fire `ms` from now and keep
	 * its period from there; timer_update(src, 0) disarms it (also from
	 * its own callback).  Remove it with source_remove. */
	struct ockam_source *(*timer_add_periodic)(struct ockam_ctx *ctx,
						   uint64_t period_ms,
						   ockam_timer_fn fn,
						   void *data);
};

#ifdef __cplusplus
}
#endif

#endif
