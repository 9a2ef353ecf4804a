/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tcp transport's shared state.  tcp.c: descriptor, options, lifecycle
 * and listeners; tcp_conn.c: connections, buffers and framing; tcp_addr.c:
 * "host:port" text <-> sockets.
 *
 * Wire: every frame is a u32 big-endian body length followed by the body,
 * which is host->message_encode() of the message with its own TCP hop
 * popped.
 */
#ifndef OCKAM_TCP_INTERNAL_H
#define OCKAM_TCP_INTERNAL_H

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
/* Bytes read from one connection per callback, so that one busy peer
 * cannot starve the others (the loop is level-triggered). */
#define TCP_READ_BUDGET (256u << 10)
#define TCP_IN_INITIAL (64u << 10)
/* A key is an address value (at most OCKAM_ADDR_MAX bytes) plus NUL. */
#define TCP_KEY_MAX (OCKAM_ADDR_MAX + 1)

/* At most one line per second for a recurring event. */
struct tcp_limit {
	uint64_t last_ms;
	unsigned suppressed;
};

/* data[off, off + len) holds the bytes; cap is the allocation. */
struct tcp_buf {
	uint8_t *data;
	size_t off, len, cap;
};

enum tcp_conn_state {
	TCP_CONN_CONNECTING = 1,
	TCP_CONN_OPEN = 2,
};

struct tcp;

struct tcp_conn {
	struct tcp *t;
	struct tcp_conn *prev, *next;
	int fd;
	struct ockam_source *src;
	struct ockam_source *timer; /* connect timeout */
	enum tcp_conn_state state;
	uint32_t events;          /* interest currently set on src */
	int outbound;
	/* The routing key: the address text it was opened for, or the
	 * inbound peer's "ip:port". */
	char key[TCP_KEY_MAX];
	size_t key_len;
	struct addrinfo *ai_list, *ai_next; /* while connecting */
	int last_errno;                     /* last connect failure */
	struct tcp_buf in, out;
	size_t out_frames; /* frames wholly or partly in `out` */
	size_t head_left;  /* unsent bytes of the first frame in `out` */
	unsigned busy;     /* inside this connection's read path */
	int dead;          /* closed; freed once not busy */
	int dirty;         /* has queued bytes to flush after a batch */
	int nobufs_logged; /* -ENOBUFS logged since the queue last drained */
};

struct tcp_listener {
	int fd;
	struct ockam_source *src;
	struct ockam_source *retry; /* re-enables accept after EMFILE */
	struct tcp *t;
	char name[TCP_KEY_MAX];
};

struct tcp {
	const struct ockam_host *host;
	struct ockam_ctx *ctx;

	/* options */
	char **listen;
	size_t n_listen;
	uint64_t max_message;
	uint64_t queue_limit;
	uint64_t connect_timeout_ms;

	struct tcp_listener *listeners;
	size_t n_listeners;
	struct tcp_conn *conns; /* open and connecting; dead ones unlinked */
	unsigned batching;      /* >0 while in a read path: sends only queue */

	/* Scratch messages, reused: a message is ~16 KiB. */
	struct ockam_message rx_msg;
	struct ockam_message tx_msg;

	struct tcp_limit lim_oversize, lim_nobufs, lim_deliver, lim_badaddr,
		lim_accept;
};

/* tcp.c */
void tcp_log_limited(struct tcp *t, struct tcp_limit *lim,
		     enum ockam_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* tcp_conn.c */
int tcp_send(void *state, const struct ockam_message *msg);
/* Take ownership of an accepted, non-blocking socket. */
struct tcp_conn *tcp_conn_accept(struct tcp *t, int fd,
				 const struct sockaddr *peer,
				 socklen_t peer_len);
/* Close every connection (one best-effort write each) and free them. */
void tcp_conn_close_all(struct tcp *t, const char *reason);

/* tcp_addr.c */
/* Split "host:port" or "[v6]:port" (len bytes, not NUL-terminated).
 * host/port receive NUL-terminated copies.  0 or -EINVAL. */
int tcp_addr_split(const char *text, size_t len, char *host, size_t host_cap,
		   char *port, size_t port_cap);
/* "1.2.3.4:5" or "[::1]:5" for a socket address. */
void tcp_addr_format(const struct sockaddr *sa, socklen_t sa_len, char *out,
		     size_t cap);

#endif
