/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw TCP frames for attack tests: what a stranger who read
 * docs/protocol.md ("TCP framing", "Message encoding") writes and reads on
 * a connection to a node, without any of the node's code in between.
 * Needs the host's codec (link host_core_dep).
 */
#ifndef INTEG_FRAMES_H
#define INTEG_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/host.h> /* OCKAM_DECODE_HOPS */

/* One frame: onward `to`, return [back], `payload` (at most about 1 KiB
 * encoded).  0, or -1 if it could not be encoded or written whole. */
int integ_frame_send(int fd, const struct ockam_route *to, const char *back,
		     const uint8_t *payload, size_t len);

/* The next frame, read whole into `body` (at most `cap` bytes, 5 s per
 * read) and decoded into `m`, whose views point into `body` and `hops`
 * (OCKAM_DECODE_HOPS addresses).  0, or -1. */
int integ_frame_recv(int fd, uint8_t *body, size_t cap,
		     struct ockam_message *m, struct ockam_addr *hops);

#endif
