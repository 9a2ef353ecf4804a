/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message-flow trace writer; see trace.h.  Lines are built with
 * bounded appends into one fixed buffer (no allocation per event); a line
 * that would not fit in what is left is written out first.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "loop.h"
#include "route_text.h"
#include "trace.h"

#define TRACE_BUF (64 * 1024)
/* The longest line: two routes of 32 addresses of up to 255 bytes,
 * escaped (up to 6 bytes per byte in JSON), would be huge; addresses are
 * cut at TRACE_ADDR_MAX bytes instead, so a line stays below this. */
#define TRACE_ADDR_MAX 96
#define TRACE_LINE_MAX (16 * 1024)
/* With OCKAM_TRACE_PAYLOAD=1: at most this many payload bytes. */
#define TRACE_PAYLOAD_MAX 256

struct trace {
	int fd;
	char node[ROUTER_NAME_MAX + 1];
	int payloads; /* OCKAM_TRACE_PAYLOAD=1 */
	const struct router *router;
	struct ockam_source *flush;
	trace_owner_name_fn name_fn;
	void *name_data;
	size_t len;       /* buffered */
	int overflow;     /* the line being built did not fit */
	uint64_t write_errors;
	struct ockam_log_limit lim_write;
	/* The line being built, and a send begun at a lent reservation
	 * (trace_send_begin), finished at its commit. */
	size_t ll, pl;
	char lb[TRACE_LINE_MAX];
	char pend[TRACE_LINE_MAX];
	char buf[TRACE_BUF];
};

struct trace *trace_open(const char *path, const char *node, char *err,
			 size_t err_len)
{
	struct trace *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	t->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		snprintf(err, err_len, "cannot open trace file %s: %s", path,
			 strerror(errno));
		free(t);
		return NULL;
	}
	snprintf(t->node, sizeof(t->node), "%s", node ? node : "");
	const char *p = getenv("OCKAM_TRACE_PAYLOAD");
	t->payloads = p && !strcmp(p, "1");
	if (t->payloads)
		log_write(OCKAM_LOG_WARN, "trace",
			  "OCKAM_TRACE_PAYLOAD=1: the trace file %s gets message payloads in plaintext, also those of secure channels",
			  path);
	return t;
}

void trace_flush(struct trace *t)
{
	size_t off = 0;
	while (off < t->len) {
		ssize_t n = write(t->fd, t->buf + off, t->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A full disk must not stop the node: drop what is
			 * buffered, say so once in a while. */
			t->write_errors++;
			log_limited(&t->lim_write, OCKAM_LOG_WARN, "trace",
				    "cannot write the trace file: %s; %zu bytes of events dropped",
				    n < 0 ? strerror(errno) : "short write",
				    t->len - off);
			break;
		}
		off += (size_t)n;
	}
	t->len = 0;
}

static void trace_on_flush(void *data)
{
	trace_flush(data);
}

int trace_attach(struct trace *t, const struct router *r, struct loop *loop,
		 trace_owner_name_fn name_fn, void *name_data)
{
	t->router = r;
	t->name_fn = name_fn;
	t->name_data = name_data;
	t->flush = loop_add_flush(loop, trace_on_flush, t, t);
	return t->flush ? 0 : -ENOMEM;
}

void trace_close(struct trace *t)
{
	if (!t)
		return;
	trace_flush(t);
	close(t->fd);
	free(t);
}

uint64_t trace_new_id(void)
{
	uint64_t id = 0;
	while (!id)
		randombytes_buf(&id, sizeof(id));
	return id;
}

/* ---- building one line ------------------------------------------- */

static void put(struct trace *t, const char *s, size_t n)
{
	if (t->overflow || t->ll + n > TRACE_LINE_MAX) {
		t->overflow = 1;
		return;
	}
	memcpy(t->lb + t->ll, s, n);
	t->ll += n;
}

static void putf(struct trace *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void putf(struct trace *t, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(t, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string of `n` bytes: quotes, backslashes and control bytes
 * escaped, bytes >= 0x80 as \u00XX (the reader never has to validate
 * UTF-8). */
static void put_str(struct trace *t, const void *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = data;
	put(t, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			put(t, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4],
				      hex[c & 15] };
			put(t, e, 6);
		} else {
			put(t, (const char *)&c, 1);
		}
	}
	put(t, "\"", 1);
}

static void put_key_str(struct trace *t, const char *key, const char *s)
{
	putf(t, ",\"%s\":", key);
	put_str(t, s, strlen(s));
}

static void put_route(struct trace *t, const char *key,
		      const struct ockam_route *r)
{
	char a[OCKAM_ADDR_MAX * 4 + 8];
	putf(t, ",\"%s\":[", key);
	for (size_t i = 0; i < r->count; i++) {
		size_t n = addr_text_format(t->router, &r->hop[i], a, sizeof(a));
		if (n >= sizeof(a))
			n = sizeof(a) - 1;
		if (n > TRACE_ADDR_MAX)
			n = TRACE_ADDR_MAX;
		if (i)
			put(t, ",", 1);
		put_str(t, a, n);
	}
	put(t, "]", 1);
}

static void put_hash(struct trace *t, const uint8_t *data, size_t len)
{
	/* SipHash with a fixed key: the same bytes give the same hash on
	 * every node, which is what joins a frame sent to the frame read.
	 * Only bytes that are on the wire as they are get hashed. */
	static const unsigned char key[crypto_shorthash_KEYBYTES];
	unsigned char h[crypto_shorthash_BYTES];
	char hex[2 * crypto_shorthash_BYTES + 1];
	crypto_shorthash(h, data, len, key);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	put_key_str(t, "hash", hex);
}

static void begin(struct trace *t, const char *ev, const char *worker,
		  uint64_t id)
{
	struct timespec mono, wall;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	t->ll = 0;
	t->overflow = 0;
	putf(t, "{\"v\":1,\"ev\":\"%s\",\"mono_ns\":%" PRIu64
		",\"wall_ns\":%" PRIu64,
	     ev, (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec,
	     (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec);
	put_key_str(t, "node", t->node);
	put_key_str(t, "worker", worker ? worker : "-");
	if (id)
		putf(t, ",\"trace\":\"%016" PRIx64 "\"", id);
}

static void put_message(struct trace *t, const struct ockam_message *m)
{
	put_route(t, "onward", &m->onward);
	put_route(t, "return", &m->ret);
	putf(t, ",\"len\":%zu", m->payload_len);
	if (m->flags & OCKAM_MSG_SECURE)
		put(t, ",\"secure\":true", 14);
	if (t->payloads && m->payload) {
		put(t, ",\"payload\":", 11);
		put_str(t, m->payload, m->payload_len < TRACE_PAYLOAD_MAX ?
					       m->payload_len :
					       TRACE_PAYLOAD_MAX);
	}
}

static void end(struct trace *t)
{
	put(t, "}\n", 2);
	/* Cannot happen with the bounds above; never a half line. */
	if (t->overflow)
		return;
	if (t->len + t->ll > TRACE_BUF)
		trace_flush(t);
	memcpy(t->buf + t->len, t->lb, t->ll);
	t->len += t->ll;
	if (t->flush)
		loop_arm_flush(t->flush);
}

static const char *owner_name(struct trace *t, const void *owner,
			      const char *addr)
{
	const char *n = owner && t->name_fn ? t->name_fn(t->name_data, owner)
					    : NULL;
	return n ? n : addr;
}

/* ---- events ------------------------------------------------------ */

void trace_send(struct trace *t, const char *worker, const void *to_owner,
		const char *to_addr, const struct ockam_message *m,
		uint64_t id, int channel, int hashed)
{
	begin(t, "send", worker, id);
	put_key_str(t, "to", to_owner ? owner_name(t, to_owner, to_addr)
				      : to_addr);
	if (to_owner)
		put_key_str(t, "to_addr", to_addr);
	else
		put(t, ",\"transport\":true", 17);
	put_message(t, m);
	if (channel)
		put(t, ",\"channel\":true", 15);
	if (hashed && m->payload)
		put_hash(t, m->payload, m->payload_len);
	end(t);
}

void trace_send_begin(struct trace *t, const char *worker,
		      const char *to_addr, const struct ockam_message *m,
		      uint64_t id)
{
	begin(t, "send", worker, id);
	put_key_str(t, "to", to_addr);
	put(t, ",\"transport\":true", 17);
	put_route(t, "onward", &m->onward);
	put_route(t, "return", &m->ret);
	memcpy(t->pend, t->lb, t->ll);
	t->pl = t->overflow ? 0 : t->ll;
}

void trace_send_commit(struct trace *t, const uint8_t *payload, size_t len,
		       int channel)
{
	if (!t->pl)
		return;
	memcpy(t->lb, t->pend, t->pl);
	t->ll = t->pl;
	t->pl = 0;
	t->overflow = 0;
	putf(t, ",\"len\":%zu", len);
	if (channel)
		put(t, ",\"channel\":true", 15);
	put_hash(t, payload, len);
	end(t);
}

void trace_deliver(struct trace *t, const void *owner, const char *addr,
		   const struct ockam_message *m, uint64_t id)
{
	begin(t, "deliver", owner_name(t, owner, addr), id);
	put_key_str(t, "addr", addr);
	put_message(t, m);
	end(t);
}

void trace_plugin(struct trace *t, const char *worker,
		  const struct ockam_trace_event *ev, uint64_t id)
{
	static const char *const names[] = {
		[OCKAM_TRACE_WIRE_OUT] = "wire_out",
		[OCKAM_TRACE_WIRE_IN] = "wire_in",
		[OCKAM_TRACE_ENCRYPT] = "encrypt",
		[OCKAM_TRACE_DECRYPT] = "decrypt",
	};
	if ((unsigned)ev->kind >= sizeof(names) / sizeof(names[0]) ||
	    !names[ev->kind])
		return;
	begin(t, names[ev->kind], worker, id);
	if (ev->peer)
		put_key_str(t, "peer", ev->peer);
	if (ev->msg)
		put_message(t, ev->msg);
	if (ev->wire) {
		putf(t, ",\"wire_len\":%zu", ev->wire_len);
		put_hash(t, ev->wire, ev->wire_len);
	}
	end(t);
}
