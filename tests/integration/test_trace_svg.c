/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ockam-host trace --svg` writes an SVG that a real renderer accepts:
 * the 05 tutorial's diagram through rsvg-convert (Debian's librsvg2-bin)
 * to a PNG of the expected size.  Skipped (77) only if rsvg-convert is
 * not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"
#include "trace_diagram.h"

static char rsvg[512];

static int find_rsvg(void)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(rsvg, sizeof(rsvg), "%.*s/rsvg-convert", (int)n, path);
		if (n && access(rsvg, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

static unsigned be32(const unsigned char *p)
{
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 |
	       (unsigned)p[2] << 8 | p[3];
}

static void test_svg_renders(void)
{
	const char *paths[3];
	char svg[600], png[600];
	struct hx_proc *p;

	integ_begin("trace-svg");
	CU_ASSERT_EQUAL_FATAL(td_run_tutorial(
		"configs/05-secure-channel-over-two-transport-hops-", NULL,
		paths), 0);
	snprintf(svg, sizeof(svg), "%s/flow.svg", hx_dir(H));
	snprintf(png, sizeof(png), "%s/flow.png", hx_dir(H));
	const char *args[] = { "trace", "--format", "none", "--svg", svg,
			       paths[0], paths[1], paths[2], NULL };
	CU_ASSERT_EQUAL_FATAL(integ_run_host("trace", args, NULL, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");

	char *text = td_read_file(svg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT(integ_contains(text, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	CU_ASSERT(integ_contains(text, ">responder/echoer</text>"));
	CU_ASSERT(integ_contains(text, "stroke-dasharray=\"6 3\"")); /* channel */
	/* Its size, to compare with the PNG's. */
	unsigned w = 0, h = 0;
	const char *at = strstr(text, " width=\"");
	CU_ASSERT_FATAL(at && sscanf(at, " width=\"%u\" height=\"%u\"", &w, &h) == 2);
	free(text);

	const char *argv[] = { rsvg, "-f", "png", "-o", png, svg, NULL };
	p = hx_spawn(H, "rsvg-convert", argv, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDERR), "");

	FILE *f = fopen(png, "rb");
	unsigned char head[24];
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	size_t n = fread(head, 1, sizeof(head), f);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(n, sizeof(head));
	CU_ASSERT(memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0);
	CU_ASSERT(memcmp(head + 12, "IHDR", 4) == 0);
	CU_ASSERT_EQUAL(be32(head + 16), w);
	CU_ASSERT_EQUAL(be32(head + 20), h);
	CU_ASSERT(size > 2000); /* lines and text, not a blank image */
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "05's SVG renders with rsvg-convert", test_svg_renders },
		{ NULL, NULL },
	};

	if (find_rsvg() < 0) {
		fprintf(stderr, "rsvg-convert not found (Debian: librsvg2-bin): skipped\n");
		return 77;
	}
	return integ_run("integration", tests);
}
