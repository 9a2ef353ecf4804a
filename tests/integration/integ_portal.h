/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the portal integration tests share: the 07 tutorial trio started on
 * ephemeral ports in front of a service, real applications found on PATH
 * (a test program whose application is missing exits 77: skipped), plain
 * socket helpers with deadlines, and raw portal frames for the attacks
 * (docs/protocol.md, "TCP portals").
 */
#ifndef OCKAM_TESTS_INTEG_PORTAL_H
#define OCKAM_TESTS_INTEG_PORTAL_H

#include <stddef.h>
#include <stdint.h>

#include "integ.h"

#define PORTAL_PREFIX "configs/07-portal-over-two-transport-hops-"
#define PORTAL_RELAY_PREFIX "configs/09-portal-through-a-relay-"

/* The full path of program `name` on PATH (static buffer per call
 * ring), or NULL. */
const char *portal_which(const char *name);
/* For main(): if any of the NULL-terminated programs is missing, say so
 * and return 77 (meson's "skipped"); else 0. */
int portal_need(const char *const programs[]);

struct portal_trio {
	struct hx_proc *outlet, *middle, *inlet;
	int outlet_port, middle_port, inlet_port;
};

/* Start the shipped 07 trio in front of a service on 127.0.0.1:
 * `service_port`: outlet, middle, inlet, each on an ephemeral port, and
 * wait until the inlet's secure channel is open.  A fatal assertion if a
 * node does not start. */
void portal_start_trio(int service_port, struct portal_trio *t);
/* The same for the shipped 09 trio: the relay (in `middle`, its port in
 * `middle_port`), the outlet node, which has no listener (outlet_port 0),
 * registered there as `bob`, then the inlet, whose channel reaches the
 * outlet node through the relay. */
void portal_start_relay_trio(int service_port, struct portal_trio *t);
/* Stop the three nodes (SIGTERM; the inlet first, the relay last) and
 * assert each exits 0. */
void portal_stop_trio(struct portal_trio *t);

/* Start `ockam-host config` (written by the test) whose tcp_inlet logs
 * "portal inlet on 127.0.0.1:<port>"; returns its port (fatal if not). */
int portal_inlet_port(struct hx_proc *p);

/* Sockets, blocking with a deadline (ms): 0 or -1. */
int portal_write_all(int fd, const void *p, size_t n, int timeout_ms);
/* Read until EOF or `cap` bytes; returns the count, or -1 on error or
 * deadline (a reset counts as an error). */
long portal_read_all(int fd, void *p, size_t cap, int timeout_ms);
/* Read exactly n bytes: 0 or -1. */
int portal_read_n(int fd, void *p, size_t n, int timeout_ms);
/* Accept one connection on a listening socket within the deadline. */
int portal_accept(int lfd, int timeout_ms);
/* 1 if the peer closed or reset `fd` (read gives 0 or an error) within
 * the deadline, draining what is readable meanwhile. */
int portal_closed_within(int fd, int timeout_ms);

/* ---- raw frames ----------------------------------------------------- */

struct portal_frame {
	uint8_t b[70000];
	size_t len;
};

/* A framed message: onward and return routes of "name" and
 * "tcp:host:port" items (NULL-terminated), and a binary payload. */
void portal_frame(struct portal_frame *f, const char *const *onward,
		  const char *const *ret, const void *payload, size_t len);
/* A portal payload: type, to, from, then `body`. */
size_t portal_payload(uint8_t *out, uint8_t type, uint32_t to, uint32_t from,
		      const void *body, size_t body_len);

/* A frame read from a node: its routes as text items and its payload. */
struct portal_msg {
	char onward[8][128], ret[8][128];
	int n_onward, n_ret;
	uint8_t payload[70000];
	size_t len;
};
/* Read one frame from `fd` and decode it: 0, or -1 (deadline, EOF,
 * malformed). */
int portal_frame_read(int fd, struct portal_msg *m, int timeout_ms);

#endif
