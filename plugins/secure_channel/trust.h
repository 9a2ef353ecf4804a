/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust policies: whom a channel end accepts as its peer, judged by the
 * peer's identifier (from the Noise remote static key).  `everyone`, or an
 * explicit list of identifiers.
 */
#ifndef OCKAM_CHANNEL_TRUST_H
#define OCKAM_CHANNEL_TRUST_H

#include <stddef.h>

#include "identity.h"

struct trust {
	int everyone;
	size_t count, cap;
	char (*ids)[IDENTIFIER_LEN + 1];
};

void trust_init(struct trust *t);
void trust_set_everyone(struct trust *t);
/* Add one identifier.  0, -EINVAL (malformed identifier) or -ENOMEM.
 * Duplicates are kept once. */
int trust_add(struct trust *t, const char *identifier);
/* 1 if the peer `identifier` is trusted. */
int trust_allows(const struct trust *t, const char *identifier);
void trust_free(struct trust *t);

#endif
