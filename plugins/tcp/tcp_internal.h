/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tcp transport's shared state.  tcp.c: descriptor, options, lifecycle
 * and listeners; tcp_conn.c: connections, buffers and framing; tcp_peer.c:
 * reconnect backoff and the memory of inbound keys; tcp_addr.c:
 * "host:port" text <-> sockets; tcp_resolve.c: host names to addresses
 * without blocking (c-ares, driven from the loop).
 *
 * Wire: every frame is a u32 big-endian body length followed by the body,
 * which is host->message_encode() of the message with its own TCP hop
 * popped (a reserved frame writes the same bytes in place: tcp_conn.c).
 */
#ifndef OCKAM_TCP_INTERNAL_H
#define OCKAM_TCP_INTERNAL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ockam/ockam.h>

#define TCP_FRAME_HEADER 4
#define TCP_MAX_MESSAGE_DEFAULT (1u << 20)
#define TCP_MAX_MESSAGE_LIMIT (16u << 20)
#define TCP_MAX_MESSAGE_MIN 64u
#define TCP_SEND_QUEUE_DEFAULT (4u << 20)
#define TCP_SEND_QUEUE_LIMIT (1u << 30)
#define TCP_CONNECT_TIMEOUT_DEFAULT 5000u
#define TCP_MAX_CONNECTIONS_DEFAULT 1024u
#define TCP_MAX_OUTBOUND_DEFAULT 1024u
#define TCP_IDLE_TIMEOUT_DEFAULT (5u * 60 * 1000)
#define TCP_KEEPALIVE_DEFAULT 30000u
/* Reconnect backoff: doubling from BASE to MAX, +-20% jitter. */
#define TCP_BACKOFF_BASE_MS 100u
#define TCP_BACKOFF_MAX_MS 30000u
/* An outbound connection that got a frame or stayed up this long was
 * healthy: losing it restarts the backoff from BASE. */
#define TCP_HEALTHY_MS 5000u
/* Backoff records kept for addresses that are down (oldest evicted). */
#define TCP_PEERS_MAX 256u
/* Inbound keys remembered after their connection closed (ring). */
#define TCP_GONE_MAX 1024u
#define TCP_GONE_KEY 80u /* "[v6%zone]:port" fits */
/* Reads from a connection pause this long when the router is full. */
#define TCP_PAUSE_MS 10u
/* Bytes read from one connection per callback, so that one busy peer
 * cannot starve the others (the loop is level-triggered). */
#define TCP_READ_BUDGET (256u << 10)
/* The shared read buffer, and the first size of a connection's own. */
#define TCP_IN_INITIAL (64u << 10)
/* A connection that moved no byte this long, with nothing buffered, gives
 * its buffers back; the sweep that does it runs every TCP_BUF_SWEEP_MS
 * while any buffer is held. */
#define TCP_BUF_QUIET_MS 1000u
#define TCP_BUF_SWEEP_MS 500u
/* A key is an address value (at most OCKAM_ADDR_MAX bytes) plus NUL. */
#define TCP_KEY_MAX (OCKAM_ADDR_MAX + 1)
/* Resolver: a name's lookup gives up after this (all tries). */
#define TCP_RESOLVE_TIMEOUT_DEFAULT 5000u
/* Nameservers used (like glibc's MAXNS). */
#define TCP_NAMESERVERS_MAX 3
/* Addresses tried per host name. */
#define TCP_ADDRS_MAX 8

union tcp_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* What a host name resolved to, in the order to try (ports unset). */
struct tcp_addrs {
	unsigned n;
	union tcp_sockaddr a[TCP_ADDRS_MAX];
	/* The name found through resolv.conf's search list ("bob" ->
	 * "bob.ns.svc.example"), for log lines; "" if the name as written. */
	char name[254];
};

struct tcp;
struct tcp_lookup;

/* A resolution finished: `err` 0 and `addrs`, or an errno and `why`. */
typedef void (*tcp_resolved_fn)(void *data, int err, const char *why,
				const struct tcp_addrs *addrs);

/* One party waiting for a name (embedded in a connection). */
struct tcp_resolve_wait {
	tcp_resolved_fn fn;
	void *data;
	struct tcp_lookup *lookup; /* NULL once called or cancelled */
	struct tcp_resolve_wait *next;
};

/* Why an inbound connection closed: each cause has its own limiter, so
 * that junk connections (thousands a second) make one line per cause per
 * second, with the count of the lines they stand for. */
enum tcp_in_cause {
	TCP_IN_OTHER,
	TCP_IN_PEER_CLOSED, /* closed by peer */
	TCP_IN_MID_FRAME,   /* peer closed mid-frame */
	TCP_IN_OVERSIZE,    /* a frame over max_message_size */
	TCP_IN_MALFORMED,   /* a frame that is not a message */
	TCP_IN_ERROR,       /* a read error (reset, ...) */
	TCP_IN_IDLE,        /* idle_timeout */
	TCP_IN_STOPPING,    /* the node stops */
	TCP_IN_CAUSES
};

/* data[off, off + len) holds the bytes; cap bytes are usable (0: nothing
 * held).  See tcp_buf.c for where the memory comes from. */
struct tcp_buf {
	uint8_t *data;
	size_t off, len, cap;
};

/* Where an outbound address stands after failures (carried by a
 * connection while it tries, and by a tcp_peer record while it is down). */
struct tcp_backoff {
	unsigned failures; /* consecutive; sets the backoff exponent */
	unsigned attempts; /* connect attempts since it went down */
	unsigned refused;  /* messages refused or dropped while down */
	int err;           /* errno of the last WARN line (0: lost) */
	int capped;        /* the "still cannot connect" line was logged */
};

struct tcp_peer {
	char key[TCP_KEY_MAX];
	size_t key_len;
	uint64_t retry_ms; /* no connect attempt before this time */
	struct tcp_backoff b;
};

enum tcp_conn_state {
	TCP_CONN_CONNECTING = 1,
	TCP_CONN_OPEN = 2,
	TCP_CONN_RESOLVING = 3, /* outbound: waiting for its host name */
};

struct tcp_listener;
struct tcp_resolver;

struct tcp_conn {
	struct tcp *t;
	struct tcp_conn *prev, *next;
	int fd;
	struct ockam_source *src;
	/* Connect timeout while connecting; resume after a pause once
	 * open. */
	struct ockam_source *timer;
	struct tcp_listener *listener; /* inbound: where it was accepted */
	enum tcp_conn_state state;
	uint32_t events;          /* interest currently set on src */
	int outbound;
	/* The routing key: the address text it was opened for, or the
	 * inbound peer's "ip:port". */
	char key[TCP_KEY_MAX];
	size_t key_len;
	struct tcp_resolve_wait wait; /* while resolving */
	struct tcp_addrs addrs;       /* resolved, with the port set */
	unsigned addr_next;           /* the next one to try */
	int last_errno;               /* last connect failure */
	struct tcp_buf in, out;
	size_t out_frames; /* frames wholly or partly in `out` */
	size_t head_left;  /* unsent bytes of the first frame in `out` */
	int dirty;         /* on t->dirty: has queued bytes to flush */
	struct tcp_conn *dirty_next;
	int nobufs_logged; /* -ENOBUFS logged since the queue last drained */
	int paused;        /* not reading: the router pushed back */
	int resuming;      /* on t->resume: the next flush resumes it */
	struct tcp_conn *resume_next;
	int got_frame;     /* received at least one frame */
	uint8_t close_cause; /* inbound: enum tcp_in_cause, for the limiter */
	uint64_t opened_ms, active_ms; /* established; last byte moved */
	struct tcp_backoff b;          /* outbound: history before this one */
};

struct tcp_listener {
	int fd;
	struct ockam_source *src;
	struct ockam_source *retry; /* re-enables accept after EMFILE */
	struct tcp *t;
	size_t n_conns; /* open inbound connections it accepted */
	struct ockam_log_limit lim_full;
	char name[TCP_KEY_MAX];
};

struct tcp {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;

	/* options */
	char **listen;
	const struct ockam_opt **listen_at; /* their YAML entries */
	size_t n_listen;
	uint64_t max_message;
	uint64_t queue_limit;
	uint64_t connect_timeout_ms;
	uint64_t max_connections; /* per listener */
	uint64_t max_outbound;    /* outbound connections, all states */
	uint64_t idle_timeout_ms; /* inbound; 0 = never */
	uint64_t keepalive_ms;    /* TCP_KEEPIDLE; 0 = off */
	uint64_t resolve_timeout_ms;
	/* `nameserver` option; none: /etc/resolv.conf's, read at start. */
	union tcp_sockaddr nameservers[TCP_NAMESERVERS_MAX];
	size_t n_nameservers;
	char *hosts_file; /* `hosts_file` option, resolved; NULL: /etc/hosts */
	/* `resolv_conf` option, resolved; NULL: /etc/resolv.conf */
	char *resolv_conf;
	struct tcp_resolver *resolver;

	struct tcp_listener *listeners;
	size_t n_listeners;
	struct tcp_conn *conns; /* open and connecting; dead ones unlinked */
	size_t n_outbound;      /* of which outbound */
	uint64_t outbound_refused; /* messages refused at max_outbound */
	/* Messages refused: no connection, and no OCKAM_MSG_CONNECT. */
	uint64_t connect_refused;
	int stopping;           /* closing everything: no backoff, no memory */
	struct ockam_source *idle_timer; /* sweeps idle inbound connections */
	/* The end-of-turn flush (host->flush_add), armed by the first frame
	 * queued in a loop turn: writes every dirty connection once. */
	struct ockam_source *flush;
	struct tcp_conn *dirty; /* connections to flush, via dirty_next */
	/* Paused connections the next flush resumes, via resume_next. */
	struct tcp_conn *resume;
	/* A frame lent by reserve until commit or abort: its connection
	 * (NULL: none), where the frame starts in its `out` (data + off +
	 * len at reserve), the length of the header's body up to the
	 * payload length (version and routes) and the payload's room. */
	struct tcp_conn *resv_conn;
	size_t resv_end, resv_routes, resv_cap;
	int idle_armed;
	/* Reads of a connection with no partial frame pending go here (the
	 * loop has one thread, and delivering with host->send only queues,
	 * so a read path never nests in another); what is left after
	 * parsing moves to the connection's own buffer.  Given back like the
	 * connections' (tcp_buf.c). */
	struct tcp_buf rbuf;
	uint64_t rbuf_ms;  /* last read into it */
	struct ockam_source *bufs_timer; /* gives quiet buffers back */
	int bufs_armed;    /* it runs: some buffer is held */

	struct tcp_peer *peers; /* addresses that are down; TCP_PEERS_MAX */
	size_t n_peers;
	char (*gone)[TCP_GONE_KEY]; /* closed inbound keys, a ring */
	size_t n_gone, gone_next;
	uint64_t rng;               /* jitter only */

	struct ockam_log_limit lim_oversize, lim_nobufs, lim_deliver,
		lim_badaddr, lim_accept, lim_gone, lim_down, lim_pause, lim_outbound,
		lim_resolve, lim_noconnect;
	/* Inbound connections: accepted, and closed (per cause). */
	struct ockam_log_limit lim_accepted, lim_in_close[TCP_IN_CAUSES];
};

/* At stop: host->log_limited_flush for the inbound connections'
 * limiters. */
void tcp_conn_log_flush(struct tcp *t);

/* tcp_conn.c: the transport ops (struct ockam_transport_ops). */
int tcp_send(void *state, const struct ockam_message *msg);
int tcp_reserve(void *state, const struct ockam_message *msg, size_t cap,
		uint8_t **payload);
int tcp_commit(void *state, size_t len);
void tcp_abort(void *state);
/* Take ownership of an accepted, non-blocking socket. */
struct tcp_conn *tcp_conn_accept(struct tcp *t, struct tcp_listener *l,
				 int fd, const struct sockaddr *peer,
				 socklen_t peer_len);
/* Keepalive (when on) and TCP_NODELAY for a new socket. */
void tcp_socket_tune(struct tcp *t, int fd);
/* Close every connection (one best-effort write each) and free them. */
void tcp_conn_close_all(struct tcp *t, const char *reason);
/* Remove the end-of-turn flush source (at stop). */
void tcp_flush_stop(struct tcp *t);
/* The plugin's `pending` op: frames queued and not yet written. */
size_t tcp_conn_pending(void *state, char *why, size_t why_len);

/* tcp_buf.c */
/* Make room for `n` more bytes after the data: compact first, then grow
 * (doubling from `initial`) without ever exceeding `limit` in total.  0,
 * -ENOBUFS (over `limit`) or -ENOMEM. */
int tcp_buf_grow(struct tcp_buf *b, size_t n, size_t initial, size_t limit);

static inline void tcp_buf_consume(struct tcp_buf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (!b->len)
		b->off = 0;
}

/* Give the memory back (the bytes in it are lost). */
void tcp_buf_release(struct tcp_buf *b);
/* Bytes of memory the buffer holds (whole pages). */
size_t tcp_buf_held(const struct tcp_buf *b);
/* A buffer was just allocated: make sure the sweep that gives back the
 * buffers of quiet connections runs. */
void tcp_bufs_watch(struct tcp *t);
/* Stop the sweep and give back the shared read buffer. */
void tcp_bufs_stop(struct tcp *t);

/* tcp_peer.c */
struct tcp_peer *tcp_peer_find(struct tcp *t, const void *key, size_t len);
/* Copy the record's history into *b and forget the record. */
void tcp_peer_take(struct tcp *t, struct tcp_peer *p, struct tcp_backoff *b);
/* An outbound connection to `key` failed (`was_open`: was lost after being
 * established): start or extend its backoff and log one line when the
 * state changed.  `b` is its history; `dropped` says what was lost ("" or
 * "; dropped ..."), `ndropped` counts it. */
void tcp_peer_down(struct tcp *t, const char *key, size_t len,
		   const struct tcp_backoff *b, int was_open, int healthy,
		   int err, const char *reason, const char *dropped,
		   size_t ndropped);
/* "0.1s", "1.6s", "30s". */
void tcp_ms_format(uint64_t ms, char *out, size_t cap);
void tcp_gone_add(struct tcp *t, const char *key, size_t len);
int tcp_gone_has(struct tcp *t, const void *key, size_t len);
void tcp_peers_free(struct tcp *t);
/* Contribute listener and connection rows to `ockam-host status`. */
int tcp_status_register(struct tcp *t);

/* tcp_resolve.c */
/* Parse a `nameserver` value: "IP" (port 53) or "IP:port" / "[v6]:port".
 * 0 or -EINVAL. */
int tcp_nameserver_parse(const char *text, union tcp_sockaddr *out);
/* Set up c-ares: resolv.conf (its nameservers if no nameserver was
 * given, search list, ndots), nameservers, timeouts.  0 or -ENOMEM. */
int tcp_resolve_start(struct tcp *t);
/* Resolve `host` (a route's host part).  0: *out is filled now (numeric,
 * hosts file or cache).  1: `w` waits; w->fn is called later from the loop,
 * exactly once, unless tcp_resolve_cancel() comes first.  Negative errno:
 * failed now, `why` says why. */
int tcp_resolve(struct tcp *t, const char *host, struct tcp_addrs *out,
		struct tcp_resolve_wait *w, char *why, size_t why_cap);
void tcp_resolve_cancel(struct tcp_resolve_wait *w);
/* Abandon every lookup (their waiters must be gone) and close sockets. */
void tcp_resolve_stop(struct tcp *t);
void tcp_resolve_free(struct tcp *t);
socklen_t tcp_sockaddr_len(const union tcp_sockaddr *a);

/* tcp_addr.c */
/* Split "host:port" or "[v6]:port" (len bytes, not NUL-terminated).
 * host/port receive NUL-terminated copies.  0 or -EINVAL. */
int tcp_addr_split(const char *text, size_t len, char *host, size_t host_cap,
		   char *port, size_t port_cap);
/* 0 if `text` is a valid "host:port" (port 0 included), else -EINVAL with
 * what is wrong in `why` ("port 99999 is out of range (0 to 65535)"). */
int tcp_addr_check(const char *text, size_t len, char *why, size_t why_cap);
/* "1.2.3.4:5" or "[::1]:5" for a socket address. */
void tcp_addr_format(const struct sockaddr *sa, socklen_t sa_len, char *out,
		     size_t cap);

#endif
