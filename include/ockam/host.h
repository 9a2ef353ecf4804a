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

#include <errno.h>
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

/* Address views message_decode may need: both routes at their longest. */
#define OCKAM_DECODE_HOPS (2 * OCKAM_ROUTE_MAX)

typedef void (*ockam_fd_fn)(void *data, int fd, uint32_t events);
typedef void (*ockam_timer_fn)(void *data);

/* What a transport registers for its address type (transport_register).
 * The host calls these for messages whose onward.hop[0] has the type,
 * after its own checks (docs/security.md): never for a message that
 * arrived over a transport.  Like host->send, each takes the message
 * before returning (writes it, or copies it into a connection's buffer)
 * and never calls a worker's handler: a transport delivers what it reads
 * with host->send and writes what it buffered from its flush (flush_add),
 * once per loop turn. */
struct ockam_transport_ops {
	/* Mandatory.  0 once taken, or a negative errno (-ENOTCONN: no
	 * connection and OCKAM_MSG_CONNECT not set, -EMSGSIZE, -ENOBUFS). */
	int (*send)(void *data, const struct ockam_message *msg);
	/* Optional: lend the write buffer (host->send_reserve).  Reserve
	 * room for `msg` (its routes; its payload is ignored) with a payload
	 * of up to `cap` bytes in the buffer the frame will be written from
	 * and set *payload to where the payload goes.  The host calls
	 * commit (with the final length, at most cap) or abort before any
	 * other call of this transport.  Without them the host reserves in a
	 * buffer of its own and calls send at commit (one copy). */
	int (*reserve)(void *data, const struct ockam_message *msg, size_t cap,
		       uint8_t **payload);
	int (*commit)(void *data, size_t len);
	void (*abort)(void *data);
};
/* One key/value pair of a status row, as host->status_visit reads the
 * report: the row's kind and name, then the pair (`is_number`: it was set
 * with status_set_u64, so `value` is decimal digits).  Every string is
 * borrowed for the call only. */
typedef void (*ockam_status_visit_fn)(void *data, const char *kind,
				      const char *name, const char *key,
				      const char *value, int is_number);
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

/* Message-flow trace (host->trace): what a transport or a secure channel
 * did with a message, for the node's trace file (`trace:` in the node
 * YAML, docs/configuration.md).  The host adds the node, the instance,
 * the time and the trace id, and writes routes and lengths; payload bytes
 * are written only when the user asked for them (OCKAM_TRACE_PAYLOAD=1). */
enum ockam_trace_kind {
	OCKAM_TRACE_WIRE_OUT = 1, /* a frame queued to a peer */
	OCKAM_TRACE_WIRE_IN = 2,  /* a frame read from a peer */
	OCKAM_TRACE_ENCRYPT = 3,  /* an inner message sealed into a record */
	OCKAM_TRACE_DECRYPT = 4,  /* an inner message opened from a record */
};
struct ockam_trace_event {
	enum ockam_trace_kind kind;
	/* The message as it travels (WIRE_*: the frame's message; ENCRYPT,
	 * DECRYPT: the inner, plaintext message), or NULL. */
	const struct ockam_message *msg;
	/* WIRE_*: the connection's peer, as the transport names it. */
	const char *peer;
	/* Bytes that are on the wire as they are (a frame's payload, a
	 * sealed record), which the host may hash to join events of several
	 * nodes: never plaintext of a secure message.  NULL: none. */
	const uint8_t *wire;
	size_t wire_len;
};

/* Nonzero if `host` (a const struct ockam_host *) has `member`.  Every
 * member declared here exists in every ABI 2 host; services appended in
 * later minor versions will say so, and a plugin using one checks it with
 * this first (a host built before it has a smaller struct_size). */
#define OCKAM_HOST_HAS(host, member)                                      \
	((host)->struct_size >= offsetof(struct ockam_host, member) +     \
					sizeof((host)->member))

struct ockam_host {
	/* OCKAM_HOST_ABI_VERSION and sizeof(struct ockam_host) of the host.
	 * Within a major version fields are only ever appended. */
	uint32_t abi_version;
	uint32_t struct_size;

	/* ---- messaging ------------------------------------------------ */

	/* Send `msg` to msg->onward.hop[0]: a local worker or the
	 * transport registered for the address type.  One rule, wherever
	 * it is called from (handle_message, an fd or timer callback,
	 * start, a flush):
	 *   - send takes the message before it returns: a copy of its
	 *     routes, payload and identifier goes into the node's queue
	 *     (local worker), or the transport writes or buffers it.
	 *     Everything `msg` points to is yours again on return.
	 *   - send never runs a worker's handle_message: local messages
	 *     are delivered from the loop, in the order they were sent,
	 *     after the current callback returns.  So no plugin needs a
	 *     re-entrancy guard, and a reply never arrives before send
	 *     returns.
	 * 0: taken.  Not taken: -EINVAL (empty or over-long route),
	 * -EHOSTUNREACH (no such worker or transport), -EACCES (a policy
	 * refused it: reach, access, secure_only, a transport address the
	 * sender may not dial), -EMSGSIZE (too large), -ENOBUFS (queue full:
	 * back off and retry), or the transport's error (-ENOTCONN, ...).
	 * A message taken and then refused or dropped further on comes back
	 * as handle_undeliverable at the first hop of its return route. */
	int (*send)(struct ockam_ctx *ctx, const struct ockam_message *msg);
	/* Send a message whose payload you write in place, in the buffer it
	 * will be sent from (a transport's frame, a queue slot): reserve
	 * room for up to `cap` payload bytes for `msg` (its payload is
	 * ignored; its routes and flags go through every check send makes,
	 * with the same errors) and get the pointer in *payload; write at
	 * most `cap` bytes there, then send_commit with the length, or
	 * send_abort.  Nothing else may be sent by this instance in
	 * between.  A secure channel seals its records this way, straight
	 * into the TCP frame that will be written. */
	int (*send_reserve)(struct ockam_ctx *ctx,
			    const struct ockam_message *msg, size_t cap,
			    uint8_t **payload);
	/* Finish the reserved message with a `len`-byte payload: taken (0)
	 * or not, as send. */
	int (*send_commit)(struct ockam_ctx *ctx, size_t len);
	void (*send_abort)(struct ockam_ctx *ctx);

	/* Make local address `name` deliver to this instance's
	 * handle_message with `addr_data`.  -EEXIST if taken, -EINVAL if
	 * the name is not [A-Za-z0-9_.-]{1,64}.
	 * A name ending in '*' ("forward_to_*": the prefix, then '*') is a
	 * catch-all: it takes messages for every local address that starts
	 * with the prefix and that no address of its own matches, so a
	 * plugin that adds addresses as it goes (a relay service) can say
	 * why a message for one it does not have is dropped.  The message's
	 * onward.hop[0] is the address it was sent to. */
	int (*address_add)(struct ockam_ctx *ctx, const char *name,
			   void *addr_data);
	/* Remove an address this instance added; safe inside its own
	 * handle_message.  Messages already queued for it are dropped. */
	int (*address_remove)(struct ockam_ctx *ctx, const char *name);
	/* Add a fresh random address "<prefix>.<16 hex>" and write it to
	 * `out` (at least OCKAM_ADDR_MAX + 1 bytes). */
	int (*address_add_random)(struct ockam_ctx *ctx, const char *prefix,
				  void *addr_data, char *out, size_t out_len);

	/* Route messages whose next hop has address type `type` to `ops`
	 * (static; called with `data`).  `scheme` is the word used for it
	 * in routes ("tcp" makes "tcp:localhost:4000" parse as type
	 * `type`). */
	int (*transport_register)(struct ockam_ctx *ctx, uint8_t type,
				  const char *scheme,
				  const struct ockam_transport_ops *ops,
				  void *data);

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
	/* End-of-turn flush: `fn` runs once, after the loop has delivered
	 * every message queued in the current turn, each time the source is
	 * armed with flush_arm (arming it again before it ran changes
	 * nothing).  Messages a flush sends are delivered, and the flushes
	 * they arm run, in the same turn.  This is where batching belongs:
	 * write what a turn's sends buffered in one writev, seal one record
	 * for many small messages.  Never a zero-millisecond timer. */
	struct ockam_source *(*flush_add)(struct ockam_ctx *ctx,
					  ockam_timer_fn fn, void *data);
	void (*flush_arm)(struct ockam_source *src);
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
	 * the node's `routes:`).  Errors are reported with their position.
	 * The route's views are owned by the host until the instance is
	 * destroyed. */
	int (*opt_get_route)(struct ockam_ctx *ctx, const struct ockam_opt *o,
			     const char *key, struct ockam_route *out);
	/* A list of address patterns (OCKAM_OPTION_ADDRS): *out points to
	 * *n addresses owned by the host until the instance is destroyed. */
	int (*opt_get_addrs)(struct ockam_ctx *ctx, const struct ockam_opt *o,
			     const char *key, const struct ockam_addr **out,
			     size_t *n);

	/* ---- wire encoding (docs/protocol.md) -------------------------
	 *
	 * For transports and the secure channel's framing only: messages
	 * between workers of a node are never encoded. */

	/* Bytes needed to encode `msg` (routes and payload; no metadata but
	 * the trace id with OCKAM_MSG_TRACE_ID: message version 2). */
	size_t (*message_encoded_size)(const struct ockam_message *msg);
	/* Encode `msg` into buf; returns the length, or 0 if `cap` is too
	 * small.  Version 1, or 2 with OCKAM_MSG_TRACE_ID and a trace id. */
	size_t (*message_encode)(const struct ockam_message *msg, uint8_t *buf,
				 size_t cap);
	/* Decode exactly `len` bytes into the views of *msg: addresses and
	 * payload point into `buf`, the route arrays into `hops` (room for
	 * `hops_cap` addresses; OCKAM_DECODE_HOPS is always enough); flags
	 * and identifier are cleared, except that a version-2 message sets
	 * trace_id and OCKAM_MSG_TRACE_ID.  0, or -EBADMSG with every length,
	 * count and size checked. */
	int (*message_decode)(const uint8_t *buf, size_t len,
			      struct ockam_message *msg,
			      struct ockam_addr *hops, size_t hops_cap);

	/* ---- routes and node ------------------------------------------ */

	/* Parse one address as written in YAML: "echoer", "tcp:host:port"
	 * (any registered scheme) or "N#value".  0 or -EINVAL. */
	int (*addr_parse)(struct ockam_ctx *ctx, const char *text,
			  struct ockam_addr_buf *out);
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

	/* ---- status -------------------------------------------------------
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

	/* ---- delivery failures --------------------------------------------
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

	/* ---- rate-limited logging ------------------------------------- */

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

	/* ---- message-flow trace (appended before ABI 2's release) ----- */

	/* 1 if the node writes a trace: check it before building an event
	 * (one branch when tracing is off). */
	int (*trace_enabled)(struct ockam_ctx *ctx);
	/* Write one event of this instance to the node's trace; nothing if
	 * tracing is off.  Never fails visibly. */
	void (*trace)(struct ockam_ctx *ctx, const struct ockam_trace_event *ev);
	/* ---- reading the node's status -------------------------------- */

	/* Build the node's status report (what `ockam-host status` prints:
	 * the host's rows, then every instance's) and call `fn` once per
	 * key/value pair, in order, synchronously; the report is freed
	 * before it returns.  For exporters (the metrics plugin), which
	 * must not name other plugins.  0, -ENOMEM, or -ENOBUFS if the
	 * report was cut at its bounds (the pairs before the cut were
	 * visited). */
	int (*status_visit)(struct ockam_ctx *ctx, ockam_status_visit_fn fn,
			    void *data);

	/* ---- flow control ------------------------------------------------ */

	/* How many more messages to local workers a send from here could
	 * queue right now (from handle_message: up to the whole queue;
	 * from an fd or timer callback, start or a flush: up to three
	 * quarters of it, the rest being headroom for handlers).  A worker
	 * that turns one message into many (a secure channel opening a
	 * batch record) checks it and holds what does not fit until its
	 * end-of-turn flush, instead of having sends refused (-ENOBUFS). */
	size_t (*queue_room)(struct ockam_ctx *ctx);
};

/* In handle_undeliverable of a forwarder (a hop, a relay: an instance
 * that put its own address first on the return route of a message it
 * passed on): pass the notice back to whoever handed the message to it,
 * with its own address popped from the return route, so the sender hears
 * of the drop however many forwarders it is behind (over the network too:
 * a return route that goes on with a transport address sends the notice
 * back there).  Needs no host state, so it is not a host service.
 * 0 if passed on; -ENOENT if the return route names nobody before this
 * instance (the message was its own: handle the notice yourself). */
static inline int ockam_undeliverable_pass_back(const struct ockam_host *host,
						struct ockam_ctx *ctx,
						const struct ockam_message *msg,
						int err, const char *why)
{
	struct ockam_message f;

	if (msg->ret.count < 2)
		return -ENOENT;
	f = *msg;
	f.ret = ockam_route_rest(&msg->ret);
	host->message_undeliverable(ctx, &f, err, why);
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif
