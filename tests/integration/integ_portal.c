/* SPDX-License-Identifier: Apache-2.0 */
#include "integ_portal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

const char *portal_which(const char *name)
{
	static char ring[4][4096];
	static unsigned next;
	char *out = ring[next++ % 4];
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		struct stat st;
		snprintf(out, sizeof(ring[0]), "%.*s/%s", (int)n, path, name);
		if (n && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return out;
		path += n + (colon ? 1 : 0);
	}
	return NULL;
}

int portal_need(const char *const programs[])
{
	for (size_t i = 0; programs[i]; i++)
		if (!portal_which(programs[i])) {
			fprintf(stderr, "skipped: %s is not installed (scripts/deps installs it)\n",
				programs[i]);
			return 77;
		}
	return 0;
}

int portal_inlet_port(struct hx_proc *p)
{
	char line[512];
	int port = -1;
	if (hx_wait_line(p, HX_STDERR, "portal inlet on 127.0.0.1:", 1,
			 HX_READY_MS, line, sizeof(line)) < 0)
		return -1;
	const char *at = strstr(line, "portal inlet on 127.0.0.1:");
	if (at)
		sscanf(at + strlen("portal inlet on 127.0.0.1:"), "%d", &port);
	return port;
}

/* The trio's last node: the inlet, on a port of its own, once its channel
 * is open. */
static void inlet_start(struct portal_trio *t, const char *config,
			const char *const env[])
{
	t->inlet = integ_start_node("inlet", config, env, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->inlet);
	t->inlet_port = portal_inlet_port(t->inlet);
	CU_ASSERT_FATAL(t->inlet_port > 0);
	/* Connections opened during the handshake would wait in the
	 * channel's queue (64): let the channel open first. */
	CU_ASSERT_FATAL(hx_wait_line(t->inlet, HX_STDERR, "secure channel open",
				     1, HX_READY_MS, NULL, 0) == 0);
}

void portal_start_trio(int service_port, struct portal_trio *t)
{
	char svc[32], out[32], mid[32];
	memset(t, 0, sizeof(*t));
	snprintf(svc, sizeof(svc), "SERVICE_PORT=%d", service_port);
	const char *const oenv[] = { "OUTLET_PORT=0", svc, NULL };
	t->outlet = integ_start_node("outlet", integ_src(PORTAL_PREFIX "outlet.yaml"),
				     oenv, &t->outlet_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->outlet);
	snprintf(out, sizeof(out), "OUTLET_PORT=%d", t->outlet_port);
	const char *const menv[] = { "MIDDLE_PORT=0", out, NULL };
	t->middle = integ_start_node("middle", integ_src(PORTAL_PREFIX "middle.yaml"),
				     menv, &t->middle_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->middle);
	snprintf(mid, sizeof(mid), "MIDDLE_PORT=%d", t->middle_port);
	const char *const ienv[] = { "INLET_PORT=0", mid, out, NULL };
	inlet_start(t, integ_src(PORTAL_PREFIX "inlet.yaml"), ienv);
}

void portal_start_relay_trio(int service_port, struct portal_trio *t)
{
	char svc[32], rel[32];
	memset(t, 0, sizeof(*t));
	const char *const renv[] = { "RELAY_PORT=0", NULL };
	t->middle = integ_start_node("relay",
				     integ_src(PORTAL_RELAY_PREFIX "relay.yaml"),
				     renv, &t->middle_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->middle);
	snprintf(svc, sizeof(svc), "SERVICE_PORT=%d", service_port);
	snprintf(rel, sizeof(rel), "RELAY_PORT=%d", t->middle_port);
	const char *const oenv[] = { rel, svc, NULL };
	t->outlet = integ_start_node("outlet",
				     integ_src(PORTAL_RELAY_PREFIX "outlet.yaml"),
				     oenv, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->outlet);
	/* Until it is registered, forward_to_bob is refused at once. */
	CU_ASSERT_FATAL(hx_wait_line(t->outlet, HX_STDERR,
				     "registered at relay [relay_channel, relay]: this node is reached at forward_to_bob",
				     1, HX_READY_MS, NULL, 0) == 0);
	const char *const ienv[] = { "INLET_PORT=0", rel, NULL };
	inlet_start(t, integ_src(PORTAL_RELAY_PREFIX "inlet.yaml"), ienv);
}

void portal_stop_trio(struct portal_trio *t)
{
	CU_ASSERT_EQUAL(hx_stop(t->inlet, HX_EXIT_MS), 0);
	/* A relay trio's outlet node first: it would log losing the relay. */
	if (!t->outlet_port)
		CU_ASSERT_EQUAL(hx_stop(t->outlet, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(t->middle, HX_EXIT_MS), 0);
	if (t->outlet_port)
		CU_ASSERT_EQUAL(hx_stop(t->outlet, HX_EXIT_MS), 0);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	long long left = deadline - now_ms();
	if (left <= 0)
		return -1;
	int rc = poll(&p, 1, (int)left);
	return rc > 0 ? 0 : -1;
}

int portal_write_all(int fd, const void *p, size_t n, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	const uint8_t *b = p;
	while (n) {
		if (wait_fd(fd, POLLOUT, deadline) < 0)
			return -1;
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

long portal_read_all(int fd, void *p, size_t cap, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t got = 0;
	while (got < cap) {
		if (wait_fd(fd, POLLIN, deadline) < 0)
			return -1;
		ssize_t k = recv(fd, (uint8_t *)p + got, cap - got, MSG_DONTWAIT);
		if (k == 0)
			break;
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)k;
	}
	return (long)got;
}

int portal_read_n(int fd, void *p, size_t n, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t got = 0;
	while (got < n) {
		if (wait_fd(fd, POLLIN, deadline) < 0)
			return -1;
		ssize_t k = recv(fd, (uint8_t *)p + got, n - got, MSG_DONTWAIT);
		if (k == 0)
			return -1;
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)k;
	}
	return 0;
}

int portal_accept(int lfd, int timeout_ms)
{
	if (wait_fd(lfd, POLLIN, now_ms() + timeout_ms) < 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

int portal_closed_within(int fd, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	uint8_t buf[65536];
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) < 0)
			return 0;
		ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
	}
}

/* ---- raw frames ----------------------------------------------------- */

static void put(struct portal_frame *f, const void *p, size_t n)
{
	CU_ASSERT_FATAL(f->len + n <= sizeof(f->b));
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put_varint(struct portal_frame *f, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		if (v)
			b |= 0x80;
		put(f, &b, 1);
	} while (v);
}

static void put_route(struct portal_frame *f, const char *const *hops)
{
	size_t n = 0;
	while (hops[n])
		n++;
	put_varint(f, n);
	for (size_t i = 0; i < n; i++) {
		int tcp = strncmp(hops[i], "tcp:", 4) == 0;
		const char *v = tcp ? hops[i] + 4 : hops[i];
		uint8_t type = tcp ? 1 : 0;
		put(f, &type, 1);
		put_varint(f, strlen(v));
		put(f, v, strlen(v));
	}
}

void portal_frame(struct portal_frame *f, const char *const *onward,
		  const char *const *ret, const void *payload, size_t len)
{
	uint8_t version = 1;
	f->len = 4;
	put(f, &version, 1);
	put_route(f, onward);
	put_route(f, ret);
	put_varint(f, len);
	put(f, payload, len);
	uint32_t body = (uint32_t)(f->len - 4);
	f->b[0] = (uint8_t)(body >> 24);
	f->b[1] = (uint8_t)(body >> 16);
	f->b[2] = (uint8_t)(body >> 8);
	f->b[3] = (uint8_t)body;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t portal_payload(uint8_t *out, uint8_t type, uint32_t to, uint32_t from,
		      const void *body, size_t body_len)
{
	out[0] = type;
	be32(out + 1, to);
	be32(out + 5, from);
	if (body_len)
		memcpy(out + 9, body, body_len);
	return 9 + body_len;
}

static int get_varint(const uint8_t *b, size_t len, size_t *at, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 63; shift += 7) {
		if (*at >= len)
			return -1;
		uint8_t c = b[(*at)++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

static int get_route(const uint8_t *b, size_t len, size_t *at,
		     char hops[8][128], int *n)
{
	uint64_t count, l;
	if (get_varint(b, len, at, &count) < 0 || count > 8)
		return -1;
	*n = (int)count;
	for (uint64_t i = 0; i < count; i++) {
		if (*at >= len)
			return -1;
		uint8_t type = b[(*at)++];
		if (get_varint(b, len, at, &l) < 0 || l > 100 || *at + l > len)
			return -1;
		snprintf(hops[i], 128, "%s%.*s", type == 1 ? "tcp:" : "",
			 (int)l, (const char *)b + *at);
		*at += l;
	}
	return 0;
}

int portal_frame_read(int fd, struct portal_msg *m, int timeout_ms)
{
	static uint8_t body[70000];
	uint8_t hdr[4];
	if (portal_read_n(fd, hdr, 4, timeout_ms) < 0)
		return -1;
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		     (uint32_t)hdr[2] << 8 | hdr[3];
	if (n > sizeof(body) || portal_read_n(fd, body, n, timeout_ms) < 0)
		return -1;
	size_t at = 1;
	uint64_t plen;
	if (n < 1 || body[0] != 1 ||
	    get_route(body, n, &at, m->onward, &m->n_onward) < 0 ||
	    get_route(body, n, &at, m->ret, &m->n_ret) < 0 ||
	    get_varint(body, n, &at, &plen) < 0 || at + plen != n ||
	    plen > sizeof(m->payload))
		return -1;
	memcpy(m->payload, body + at, plen);
	m->len = plen;
	return 0;
}
