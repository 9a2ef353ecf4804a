/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP portals: what tcp_inlet and tcp_outlet share.
 *
 * An inlet accepts TCP connections; each becomes a *stream*: an OPEN
 * message along the inlet's configured `route` to an outlet, which
 * connects to its service and answers ACCEPT.  From then on bytes read
 * from either socket travel as DATA messages, each side granting the
 * other CREDIT as it writes what it received, EOF carries a half-close and
 * CLOSE aborts the stream (docs/protocol.md, "TCP portals").
 *
 * Every portal message is addressed to the instance's own YAML address
 * and names the streams it is about by id, so a stream costs no router
 * address.  A stream is *bound* to the peer that opened (outlet) or
 * accepted (inlet) it: its return route, hop for hop, and whether it came
 * out of a secure channel and with which identifier.  A message for the
 * stream from anywhere else is dropped with a rate-limited line and never
 * touches the stream: a stranger can neither inject bytes into another
 * client's connection nor close it.
 */
#ifndef OCKAM_PORTAL_H
#define OCKAM_PORTAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ockam/ockam.h>

/* ---- wire (docs/protocol.md, "TCP portals") -------------------------- */

#define PORTAL_VERSION 1

enum portal_type {
	PORTAL_OPEN = 1,   /* inlet -> outlet: version u8, window u32 */
	PORTAL_ACCEPT = 2, /* outlet -> inlet: window u32 */
	PORTAL_DATA = 3,   /* seq u32, bytes */
	PORTAL_EOF = 4,    /* seq u32: no more DATA from the sender */
	PORTAL_CREDIT = 5, /* grant u32, received u64: more room, and how much
			    * of the sender's DATA has arrived */
	PORTAL_CLOSE = 6,  /* reason u8: the stream is gone */
	PORTAL_PING = 7,   /* inlet -> outlet, no stream: are you there? */
	PORTAL_PONG = 8,   /* outlet -> inlet: yes */
};

/* type u8, to u32 (the receiver's stream id; 0 in OPEN), from u32 (the
 * sender's), all big-endian. */
#define PORTAL_HDR 9
#define PORTAL_DATA_HDR (PORTAL_HDR + 4)
/* Longest control message (OPEN). */
#define PORTAL_CTL_MAX (PORTAL_HDR + 12)
#define PORTAL_CREDIT_LEN 12

/* DATA bytes of one instance sent and not yet reported received by the
 * other end, all streams together: what the queues between the two ends
 * (the channel's transport, the middle node's) may hold of ours.  Half the
 * tcp transport's default send_queue_limit, so that many busy streams
 * never overfill a connection's queue (which would drop a message and
 * close its stream). */
#define PORTAL_IN_FLIGHT (2u << 20)

enum portal_reason {
	PORTAL_R_RESET = 1,    /* the client or the service reset it */
	PORTAL_R_CONNECT = 2,  /* the outlet cannot connect to its service */
	PORTAL_R_REFUSED = 3,  /* the outlet refuses plaintext opens */
	PORTAL_R_BUSY = 4,     /* max_connections reached */
	PORTAL_R_PROTOCOL = 5, /* a bad or out-of-order portal message */
	PORTAL_R_UNKNOWN = 6,  /* no such stream (restarted, or closed) */
	PORTAL_R_LOST = 7,     /* a message of the stream was not delivered */
	PORTAL_R_TIMEOUT = 8,  /* not opened in time */
	PORTAL_R_STOPPED = 9,  /* the node stops */
	PORTAL_R_MAX = 10,
};

const char *portal_reason_text(unsigned reason);

struct portal_hdr {
	uint8_t type;
	uint32_t to, from;
	const uint8_t *body;
	size_t body_len;
};

/* Parse the fixed header of a portal payload.  0, or -1 if too short. */
int portal_hdr_parse(const uint8_t *p, size_t len, struct portal_hdr *h);
/* Write the fixed header; returns PORTAL_HDR. */
size_t portal_hdr_put(uint8_t *p, uint8_t type, uint32_t to, uint32_t from);
void portal_put32(uint8_t *p, uint32_t v);
uint32_t portal_get32(const uint8_t *p);

/* ---- instances and streams ------------------------------------------ */

enum portal_role { PORTAL_INLET = 1, PORTAL_OUTLET = 2 };

enum pstream_state {
	PS_OPENING = 1,    /* inlet: OPEN sent, waiting for ACCEPT */
	PS_CONNECTING = 2, /* outlet: connecting to the service */
	PS_OPEN = 3,
};

enum {
	PS_RD_EOF = 1u << 0,   /* our socket said EOF; EOF sent */
	PS_PEER_EOF = 1u << 1, /* EOF received from the peer */
	PS_SHUT_WR = 1u << 2,  /* shutdown(SHUT_WR) done */
	PS_CREDIT_Q = 1u << 3, /* on the credit flush list */
	PS_BLOCKED = 1u << 4,  /* reading paused: the next hop was full */
	PS_WANT_WR = 1u << 5,  /* waiting for EV_WRITE (ring or connect) */
	PS_CLIENT_FIRST = 1u << 6, /* our side half-closed first */
};

/* Who a stream is bound to: a return route, hop for hop, and the
 * channel identity it came with.  Shared by the streams of one peer
 * (an inlet's streams all have the same), reference-counted. */
struct portal_peer {
	struct portal_peer *next;
	unsigned refs;
	int secure;
	char identifier[OCKAM_IDENTIFIER_MAX];
	struct ockam_route *route; /* ockam_route_dup */
};

/* Bytes written to us by the peer and not yet taken by our socket:
 * allocated when a write would block, freed once it stayed empty for a second.  At most the
 * window (the peer may not send more than it was granted). */
struct portal_ring {
	size_t head, len, cap;
	uint64_t empty_ms; /* when it last became empty (0: holds bytes) */
	uint8_t data[];
};

struct portal;

struct pstream {
	struct portal *p;
	struct ockam_source *src;
	struct portal_peer *peer;
	struct portal_ring *ring;
	struct pstream *q_next;             /* credit list */
	struct pstream *b_next;             /* blocked list */
	struct pstream *dl_prev, *dl_next;  /* deadline list (opening) */
	uint64_t deadline_ms;
	uint64_t opened_ms;
	uint64_t tx_sent, tx_allowed; /* DATA bytes sent / allowed by peer */
	uint64_t rx_got, rx_allowed;  /* DATA bytes received / granted */
	uint64_t bytes_in, bytes_out; /* from / to our socket */
	uint32_t id, peer_id;
	uint32_t tx_seq, rx_seq;
	uint32_t rx_unacked; /* written to our socket, not yet granted */
	uint32_t tx_min;     /* least credit worth reading for (portal_send.c) */
	uint64_t rx_reported;   /* rx_got as last told to the peer */
	uint64_t peer_received; /* tx_sent the peer reported received */
	uint32_t events;     /* what src watches */
	int fd;
	uint8_t state;
	uint8_t flags;
	char label[112]; /* "127.0.0.1:51234" (the client) or the service */
};
/* docs/protocol.md and docs/performance.md give an idle stream's state as at
 * most 296 bytes: a field added here must change them with this bound. */
_Static_assert(sizeof(struct pstream) <= 296,
	       "struct pstream outgrew the size the docs give (docs/protocol.md)");

struct portal {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;
	enum portal_role role;
	const char *name;
	struct ockam_addr self; /* our YAML address, the return route */

	/* options */
	uint32_t window;
	uint32_t max_chunk;
	uint32_t max_connections;
	uint64_t timeout_ms; /* open_timeout / connect_timeout */
	struct ockam_route route; /* inlet: to the outlet (host-owned) */
	int secure_only;          /* outlet */
	char where[300];          /* listen: or connect: as written */
	struct sockaddr_storage sa;
	socklen_t sa_len;

	/* streams: ids are (generation << 16) | (slot + 1) */
	struct pstream **slots;
	uint16_t *gen;
	uint32_t *free_slots;
	uint32_t n_free, n_open;
	uint64_t in_flight; /* sum of tx_sent - peer_received */

	struct portal_peer *peers;
	struct pstream *credit_q, *blocked_q;
	struct pstream *dl_head, *dl_tail;
	struct ockam_source *credit_flush, *resume_timer, *deadline_timer,
		*ring_sweep;
	uint32_t n_rings; /* streams holding a ring */
	/* outlet: the connection to the service finished (err 0) or failed */
	void (*connected)(struct pstream *s, int err);

	/* inlet */
	int lfd;
	struct ockam_source *lsrc, *accept_timer, *ka_timer;
	uint64_t keepalive_ms, heard_ms;

	/* counters (status) */
	uint64_t opened, closed, refused, resets, protocol_errors, strangers,
		unknown_stream, total_in, total_out;

	struct ockam_log_limit lim_close[PORTAL_R_MAX], lim_done, lim_refuse,
		lim_stranger, lim_bad, lim_unknown, lim_accept, lim_full;
};

/* Read the options both roles share (window, max_chunk,
 * max_connections) and allocate the stream table. */
int portal_init(struct portal *p, const struct ockam_host *host,
		struct ockam_ctx *ctx, enum portal_role role);
/* stop: every stream aborted (its socket reset), the listener closed. */
void portal_stop(struct portal *p);
void portal_fini(struct portal *p);
/* HOST:PORT (or [v6]:PORT) from option `key` into p->sa; `passive` for a
 * listen address.  0, or -EINVAL (logged). */
int portal_resolve(struct portal *p, int passive);

/* Streams (portal_stream.c). */
struct pstream *pstream_new(struct portal *p, int fd);
struct pstream *pstream_find(struct portal *p, uint32_t id);
/* Watch `events` on the stream's socket (adds the source if needed). */
void pstream_watch(struct pstream *s, uint32_t events);
/* Close and free, normally (the socket is closed gracefully). */
void pstream_free(struct pstream *s);
/* Abort: log why (rate-limited per reason), tell the peer with CLOSE
 * if `tell`, reset the socket (RST), free. */
void pstream_abort(struct pstream *s, unsigned reason, int tell,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Close if both directions are done. */
void pstream_maybe_done(struct pstream *s);
void pstream_deadline_set(struct pstream *s, uint64_t ms);
void pstream_deadline_clear(struct pstream *s);

/* Sending (portal_send.c). */
/* The route messages of `s` take: the inlet's configured route or the
 * outlet's peer's return route. */
int portal_send_ctl(struct portal *p, struct pstream *s, uint8_t type,
		    const uint8_t *body, size_t body_len);
/* CLOSE to whoever sent `msg` (no stream of ours): to = hdr->from. */
void portal_send_close_to(struct portal *p, const struct ockam_message *msg,
			  uint32_t to, unsigned reason);
/* Read what the socket has (within credit and max_chunk) straight into
 * the outgoing message, repeatedly; EOF and errors handled. */
int portal_pump_in(struct pstream *s); /* 1: the stream is gone */
/* The peer's window (OPEN or ACCEPT) is `window`: our credit. */
void portal_credit_init(struct pstream *s, uint32_t window);
/* 1 if the stream has credit enough to read its socket for. */
int portal_can_send(const struct pstream *s);
/* The peer granted `n` more bytes. */
void portal_credit_granted(struct pstream *s, uint32_t n);
uint64_t portal_get64(const uint8_t *p);
void portal_put64(uint8_t *p, uint64_t v);
/* `n` bytes of the peer's DATA reached our socket: grant them back
 * (batched in the end-of-turn flush). */
void portal_consumed(struct pstream *s, size_t n);
/* DATA arrived: report it received in this turn's CREDIT. */
void portal_received(struct pstream *s);
/* The peer reports `received` bytes of our DATA arrived. */
int portal_peer_received(struct pstream *s, uint64_t received);

/* Receiving (portal_recv.c). */
/* DATA, EOF, CREDIT and CLOSE for a bound stream; the roles handle OPEN
 * and ACCEPT themselves.  Returns 0 (the message is taken, dropped or
 * the stream closed, logged). */
int portal_recv(struct portal *p, const struct portal_hdr *h,
		const struct ockam_message *msg);
/* Socket writes: DATA bytes into the socket or its ring. */
/* Free the ring of `s` (release). */
void portal_ring_free(struct pstream *s);
/* Both return 1 if the stream is gone. */
int portal_write_out(struct pstream *s, const uint8_t *d, size_t n);
int portal_drain_ring(struct pstream *s);
/* Watch what the stream's state asks for: reading while it has credit
 * and is not paused, writing while its ring holds bytes. */
void portal_rewatch(struct pstream *s);
/* The socket's event callback (both roles, once open). */
void portal_io(void *data, int fd, uint32_t events);
/* A message for stream `s` from someone it is not bound to: counted and
 * logged (rate-limited); the stream is not touched. */
void portal_stranger(struct portal *p, const struct pstream *s,
		     const struct portal_hdr *h,
		     const struct ockam_message *msg);
/* handle_undeliverable for both roles. */
void portal_undeliverable(void *state, void *addr_data,
			  const struct ockam_message *msg, int err,
			  const char *why);

/* Binding (portal_peer.c). */
/* The interned peer for `msg`'s return route and channel identity
 * (a new reference), or NULL (out of memory). */
struct portal_peer *portal_peer_get(struct portal *p,
				    const struct ockam_message *msg);
void portal_peer_put(struct portal *p, struct portal_peer *peer);
/* 1 if `msg` comes from `peer`: same return route, same channel mark
 * and identifier. */
int portal_peer_matches(const struct portal_peer *peer,
			const struct ockam_message *msg);
/* Format msg->ret for a log line. */
const char *portal_ret_text(struct portal *p, const struct ockam_message *msg,
			    char *buf, size_t len);

/* Status rows (portal_status.c). */
int portal_status_register(struct portal *p);

/* Shared declared options (portal_options.c). */
#define PORTAL_COMMON_OPTIONS                                                 \
	{.name = "window", .type = OCKAM_OPTION_SIZE, .def = "256KiB",         \
	 .min = 4096, .max = 16777216,                                        \
	 .help = "bytes the peer may send per connection before we grant more (flow control)"}, \
	{.name = "max_chunk", .type = OCKAM_OPTION_SIZE, .def = "60KiB",       \
	 .min = 256, .max = 1048576,                                          \
	 .help = "largest DATA payload per message (below the secure channel's 65519-byte limit)"}, \
	{.name = "max_connections", .type = OCKAM_OPTION_INT, .def = "4096",   \
	 .min = 1, .max = 65535,                                              \
	 .help = "connections open at once; more are refused"}

#endif
