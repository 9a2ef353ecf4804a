/* SPDX-License-Identifier: Apache-2.0 */
/* Shared bits of the purpose-built plugins for the loader's ABI gate. */
#include <errno.h>
#include <stdlib.h>

#include <ockam/ockam.h>

static inline int bad_create(const struct ockam_host *host,
			     struct ockam_ctx *ctx, void **state)
{
	*state = malloc(1);
	return *state ? 0 : -ENOMEM;
}

static inline int bad_handle(void *state, void *addr_data,
			     const struct ockam_message *msg)
{
	return 0;
}

static inline void bad_destroy(void *state)
{
	free(state);
}
