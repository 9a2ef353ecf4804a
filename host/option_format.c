/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "option_format.h"

const char *option_format_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 },
	};
	unsigned long long v = (unsigned long long)ms;

	for (size_t i = 0; v && i < sizeof(units) / sizeof(units[0]); i++)
		if (v % units[i].ms == 0) {
			snprintf(buf, len, "%llu%s", v / units[i].ms,
				 units[i].unit);
			return buf;
		}
	snprintf(buf, len, v ? "%llums" : "%llu", v);
	return buf;
}

const char *option_format_size(uint64_t bytes, char *buf, size_t len)
{
	unsigned long long v = (unsigned long long)bytes;

	if (v && v % (1024ull * 1024 * 1024) == 0)
		snprintf(buf, len, "%lluGiB", v >> 30);
	else if (v && v % (1024ull * 1024) == 0)
		snprintf(buf, len, "%lluMiB", v >> 20);
	else if (v && v % 1024 == 0)
		snprintf(buf, len, "%lluKiB", v >> 10);
	else
		snprintf(buf, len, "%llu", v);
	return buf;
}
