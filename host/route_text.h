/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Routes as people write them: "[tcp:localhost:3000, hop, echoer]".
 * An address is "name" (local), "<scheme>:<value>" for a registered
 * transport, or "<type>#<value>" for any type.
 */
#ifndef OCKAM_HOST_ROUTE_TEXT_H
#define OCKAM_HOST_ROUTE_TEXT_H

#include <stddef.h>

#include <ockam/route.h>

#include "router.h"

/* Parse one address: "name", "scheme:value" (neither with a space) or
 * "N#value".  On failure writes a reason to `err` and returns -EINVAL. */
int addr_text_parse(const struct router *r, const char *text,
		    struct ockam_addr *out, char *err, size_t err_len);
/* Like snprintf: always NUL-terminates, returns the length needed. */
size_t addr_text_format(const struct router *r, const struct ockam_addr *a,
			char *buf, size_t len);
size_t route_text_format(const struct router *r, const struct ockam_route *rt,
			 char *buf, size_t len);

#endif
