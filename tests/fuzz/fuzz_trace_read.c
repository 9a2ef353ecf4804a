/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ockam-host trace` on an arbitrary trace file: read (trace_read.c and
 * its JSON reader), merged (trace_flow.c) and drawn (trace_render.c).
 * Properties: nothing is read or written out of bounds (ASan), every line
 * is either an event or counted as skipped, and the drawings only name
 * participants the flow has.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trace_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static __attribute__((noreturn)) void fail(const char *what, size_t size)
{
	fprintf(stderr, "fuzz_trace_read: %s (input of %zu bytes)\n", what,
		size);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	char path[64];
	int fd = memfd_create("trace", 0);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	if (!null)
		null = fopen("/dev/null", "w");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	struct tev_list l = { 0 };
	struct flow f;
	if (trace_read_file(path, &l, null) == 0) {
		size_t lines = 0;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		if (size && data[size - 1] != '\n')
			lines++;
		if (l.n + l.bad > lines)
			fail("more events and skipped lines than lines", size);
		if (trace_flow_build(&l, &f) == 0) {
			for (size_t i = 0; i < f.n_steps; i++)
				if (f.steps[i].from >= f.n_parts ||
				    f.steps[i].to >= f.n_parts)
					fail("a step names no participant", size);
			trace_render_mermaid(&f, null);
			trace_render_svg(&f, null);
		}
		trace_flow_free(&f);
	}
	tev_list_free(&l);
	close(fd);
	return 0;
}
