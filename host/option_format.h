/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Durations and sizes written the way the YAML takes them (10s, 250ms,
 * 64KiB), for messages about ranges and for the generated option docs.
 */
#ifndef OCKAM_HOST_OPTION_FORMAT_H
#define OCKAM_HOST_OPTION_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* The largest unit that divides `ms` exactly: 1h, 5m, 10s, 250ms, 0. */
const char *option_format_duration(uint64_t ms, char *buf, size_t len);
/* The largest binary unit that divides `bytes` exactly: 1MiB, 64KiB, 512. */
const char *option_format_size(uint64_t bytes, char *buf, size_t len);

#endif
