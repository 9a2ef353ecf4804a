/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The message-flow trace (issue #15) as a user gets it: the 04 and 05
 * tutorials run with OCKAM_TRACE on each node, then `ockam-host trace`
 * on the three files; the diagram's lifelines and arrows are what the
 * tutorial does.  A secure channel's plaintext never reaches a trace file
 * unless OCKAM_TRACE_PAYLOAD=1 asks; malformed trace lines are reported
 * as file:line and skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ.h"
#include "trace_diagram.h"

#define T04 "configs/04-routing-over-two-transport-hops-"
#define T05 "configs/05-secure-channel-over-two-transport-hops-"

/* Run `ockam-host trace` on the three files (and `extra`, may be NULL);
 * returns its exit status and its process. */
static int run_trace(const char *paths[3], const char *extra,
		     struct hx_proc **p)
{
	const char *args[] = { "trace", paths[0], paths[1], paths[2], extra,
			       NULL };
	return integ_run_host("trace", args, NULL, p);
}

static void expect_arrow(const struct td *d, size_t i, const char *from,
			 const char *to, int dashed)
{
	CU_ASSERT_FATAL(i < d->n_steps);
	const struct td_step *s = &d->steps[i];
	int ok = !s->note && !strcmp(s->from, from) && !strcmp(s->to, to) &&
		 s->dashed == dashed;
	if (!ok)
		fprintf(stderr, "step %zu: expected %s %s %s, got %s%s %s %s: %s\n",
			i, from, dashed ? "-->>" : "->>", to,
			s->note ? "note " : "", s->from,
			s->dashed ? "-->>" : "->>", s->to, s->label);
	CU_ASSERT(ok);
}

/* The trace id written in the first line of `text` with all of
 * `needles`, into out[17]; "" if none. */
static void trace_id_of(const char *text, const char *n1, const char *n2,
			char out[17])
{
	char line[4096];
	const char *p = text;
	out[0] = '\0';
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			const char *t = strstr(line, "\"trace\":\"");
			if (strstr(line, n1) && strstr(line, n2) && t) {
				memcpy(out, t + 9, 16);
				out[16] = '\0';
				return;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* 04: plaintext over two tcp hops; one request, one reply, so the whole
 * diagram is in a fixed order.  And the reply's trace id is the same on
 * the three nodes (carried on the wire, message version 2). */
static void test_trace_04(void)
{
	static const char *const want[][2] = {
		{ "initiator/app", "initiator/tcp" },
		{ "initiator/tcp", "middle/tcp" },
		{ "middle/tcp", "middle/hop" },
		{ "middle/hop", "middle/tcp" },
		{ "middle/tcp", "responder/tcp" },
		{ "responder/tcp", "responder/echoer" },
		{ "responder/echoer", "responder/tcp" },
		{ "responder/tcp", "middle/tcp" },
		{ "middle/tcp", "middle/hop" },
		{ "middle/hop", "middle/tcp" },
		{ "middle/tcp", "initiator/tcp" },
		{ "initiator/tcp", "initiator/app" },
	};
	const char *paths[3];
	struct hx_proc *p;
	struct td d;

	integ_begin("trace-04");
	CU_ASSERT_EQUAL_FATAL(td_run_tutorial(T04, NULL, paths), 0);
	CU_ASSERT_EQUAL_FATAL(run_trace(paths, NULL, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDERR), "");
	CU_ASSERT_EQUAL_FATAL(td_parse(hx_read(p, HX_STDOUT), &d), 0);

	static const char *const parts[] = {
		"initiator/app", "initiator/tcp", "middle/tcp", "middle/hop",
		"responder/tcp", "responder/echoer",
	};
	CU_ASSERT_EQUAL(d.n_parts, 6);
	for (size_t i = 0; i < 6; i++)
		CU_ASSERT(td_part(&d, parts[i]) == (int)i);
	CU_ASSERT_EQUAL_FATAL(d.n_steps, 12);
	for (size_t i = 0; i < 12; i++)
		expect_arrow(&d, i, want[i][0], want[i][1], 0);
	CU_ASSERT_STRING_EQUAL(d.steps[0].label, "12 B");
	CU_ASSERT_STRING_EQUAL(d.steps[1].label, "frame 12 B");

	/* One flow, joined across the nodes by its trace id. */
	char *a = td_read_file(paths[0]), *c = td_read_file(paths[2]);
	char ida[17], idc[17];
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	trace_id_of(a, "\"ev\":\"deliver\"", "\"worker\":\"app\"", ida);
	trace_id_of(c, "\"ev\":\"send\"", "\"worker\":\"echoer\"", idc);
	CU_ASSERT_EQUAL(strlen(ida), 16);
	CU_ASSERT_STRING_EQUAL(ida, idc);
	free(a);
	free(c);
}

/* The 05 tutorial: the Noise handshake and the message, through the
 * channel alice -> bob_listener over tcp -> hop -> tcp.  The middle may
 * read the initiator's two last frames in one read or two, so the order
 * is checked per node (each node is one thread: its own order is
 * fixed), plus the counts of frames between nodes and the causal order
 * of the application's message. */
static void test_trace_05(void)
{
	const char *paths[3];
	struct hx_proc *p;
	struct td d;

	integ_begin("trace-05");
	CU_ASSERT_EQUAL_FATAL(td_run_tutorial(T05, NULL, paths), 0);
	CU_ASSERT_EQUAL_FATAL(run_trace(paths, NULL, &p), 0);
	CU_ASSERT_EQUAL_FATAL(td_parse(hx_read(p, HX_STDOUT), &d), 0);

	static const char *const parts[] = {
		"initiator/app", "initiator/alice", "initiator/tcp",
		"middle/tcp", "middle/hop", "responder/tcp",
		"responder/bob_listener", "responder/echoer",
	};
	/* Left to right as the guide draws it: app -> alice -> tcp -> hop
	 * -> tcp -> bob_listener -> echoer. */
	CU_ASSERT_EQUAL(d.n_parts, 8);
	for (size_t i = 0; i < 8; i++)
		CU_ASSERT(td_part(&d, parts[i]) == (int)i);

	/* Each node's own arrows, in order; dashed = channel traffic. */
	static const struct { const char *from, *to; int dashed; } a_want[] = {
		{ "initiator/alice", "initiator/tcp", 1 },  /* handshake 1 */
		{ "initiator/app", "initiator/alice", 0 },  /* Hello Ockam! */
		{ "initiator/tcp", "initiator/alice", 1 },  /* handshake 2 */
		{ "initiator/alice", "initiator/tcp", 1 },  /* handshake 3 */
		{ "initiator/alice", "initiator/tcp", 1 },  /* the record */
		{ "initiator/tcp", "initiator/alice", 1 },  /* the reply's */
		{ "initiator/alice", "initiator/app", 0 },  /* decrypted */
	}, c_want[] = {
		{ "responder/tcp", "responder/bob_listener", 1 },
		{ "responder/bob_listener", "responder/tcp", 1 },
		{ "responder/tcp", "responder/bob_listener", 1 },
		{ "responder/tcp", "responder/bob_listener", 1 },
		{ "responder/bob_listener", "responder/echoer", 0 },
		{ "responder/echoer", "responder/bob_listener", 0 },
		{ "responder/bob_listener", "responder/tcp", 1 },
	};
	size_t na = 0, nc = 0, nb = 0, hops[4] = { 0 }, notes = 0;
	size_t last_ab = 0, echo = 0;
	for (size_t i = 0; i < d.n_steps; i++) {
		const struct td_step *s = &d.steps[i];
		if (s->note) {
			/* encrypt (alice), decrypt, encrypt (bob), decrypt */
			static const char *const nw[][2] = {
				{ "initiator/alice", "encrypt 12 B" },
				{ "responder/bob_listener", "decrypt 12 B" },
				{ "responder/bob_listener", "encrypt 12 B" },
				{ "initiator/alice", "decrypt 12 B" },
			};
			CU_ASSERT_FATAL(notes < 4);
			CU_ASSERT_STRING_EQUAL(s->from, nw[notes][0]);
			CU_ASSERT_STRING_EQUAL(s->label, nw[notes][1]);
			notes++;
			continue;
		}
		int fa = !strncmp(s->from, "initiator/", 10),
		    fb = !strncmp(s->from, "middle/", 7),
		    fc = !strncmp(s->from, "responder/", 10);
		int ta = !strncmp(s->to, "initiator/", 10),
		    tb = !strncmp(s->to, "middle/", 7),
		    tc = !strncmp(s->to, "responder/", 10);
		if (fa && ta) {
			CU_ASSERT_FATAL(na < 7);
			CU_ASSERT_STRING_EQUAL(s->from, a_want[na].from);
			CU_ASSERT_STRING_EQUAL(s->to, a_want[na].to);
			CU_ASSERT_EQUAL(s->dashed, a_want[na].dashed);
			na++;
		} else if (fc && tc) {
			CU_ASSERT_FATAL(nc < 7);
			CU_ASSERT_STRING_EQUAL(s->from, c_want[nc].from);
			CU_ASSERT_STRING_EQUAL(s->to, c_want[nc].to);
			CU_ASSERT_EQUAL(s->dashed, c_want[nc].dashed);
			if (!strcmp(s->to, "responder/echoer"))
				echo = i;
			nc++;
		} else if (fb && tb) {
			/* hop forwards what tcp gives it, both ways */
			CU_ASSERT(s->dashed);
			CU_ASSERT((!strcmp(s->from, "middle/tcp") &&
				   !strcmp(s->to, "middle/hop")) ||
				  (!strcmp(s->from, "middle/hop") &&
				   !strcmp(s->to, "middle/tcp")));
			nb++;
		} else {
			/* A frame: tcp to tcp, always the channel's. */
			CU_ASSERT(s->dashed);
			CU_ASSERT(!strcmp(strchr(s->from, '/'), "/tcp") &&
				  !strcmp(strchr(s->to, '/'), "/tcp"));
			int k = fa && tb ? 0 : fb && tc ? 1 : fc && tb ? 2 :
				fb && ta ? 3 : -1;
			CU_ASSERT_FATAL(k >= 0);
			hops[k]++;
			if (k == 0)
				last_ab = i;
		}
	}
	CU_ASSERT_EQUAL(na, 7);
	CU_ASSERT_EQUAL(nc, 7);
	CU_ASSERT_EQUAL(nb, 10); /* 5 messages through the hop, 2 arrows each */
	CU_ASSERT_EQUAL(notes, 4);
	/* initiator->middle: handshakes 1 and 3, the record; and so on. */
	CU_ASSERT_EQUAL(hops[0], 3);
	CU_ASSERT_EQUAL(hops[1], 3);
	CU_ASSERT_EQUAL(hops[2], 2);
	CU_ASSERT_EQUAL(hops[3], 2);
	/* The echoer gets the message after it crossed the first link, and
	 * the app's reply is the last arrow. */
	CU_ASSERT(echo > last_ab);
	const struct td_step *end = &d.steps[d.n_steps - 1];
	CU_ASSERT_STRING_EQUAL(end->from, "initiator/alice");
	CU_ASSERT_STRING_EQUAL(end->to, "initiator/app");
	CU_ASSERT_STRING_EQUAL(end->label, "secure 12 B");
}

/* Nothing of "Hello Ockam!" (it goes through the channel) is in any
 * trace file: not as text, not as its hex; lengths only.  With
 * OCKAM_TRACE_PAYLOAD=1 it is, which shows the check can fail. */
static void test_trace_no_plaintext(void)
{
	const char *paths[3];
	const char *const debug[] = { "OCKAM_TRACE_PAYLOAD=1", NULL };

	integ_begin("trace-plaintext");
	CU_ASSERT_EQUAL_FATAL(td_run_tutorial(T05, NULL, paths), 0);
	for (int k = 0; k < 3; k++) {
		char *t = td_read_file(paths[k]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		CU_ASSERT(strlen(t) > 100);
		CU_ASSERT_PTR_NULL(strstr(t, "Hello"));
		CU_ASSERT_PTR_NULL(strstr(t, "Ockam!"));
		CU_ASSERT_PTR_NULL(strstr(t, "48656c6c6f")); /* "Hello" in hex */
		CU_ASSERT_PTR_NULL(strstr(t, "payload"));
		free(t);
	}
	hx_end(H, 0);
	integ_begin("trace-plaintext-debug");
	CU_ASSERT_EQUAL_FATAL(td_run_tutorial(T05, debug, paths), 0);
	char *a = td_read_file(paths[0]), *c = td_read_file(paths[2]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* The app's message, and what bob_listener decrypted for echoer. */
	CU_ASSERT(integ_contains(a, "\"payload\":\"Hello Ockam!\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(c, "\"ev\":\"decrypt\""));
	CU_ASSERT(integ_contains(c, "\"payload\":\"Hello Ockam!\""));
	free(a);
	free(c);
}

/* Lines that are not trace events are said as file:line and skipped;
 * the good lines still make the diagram; exit 1 says lines were lost. */
static void test_trace_malformed(void)
{
	static const char good[] =
		"{\"v\":1,\"ev\":\"send\",\"mono_ns\":1,\"wall_ns\":10,\"node\":\"n\",\"worker\":\"app\",\"to\":\"echoer\",\"to_addr\":\"echoer\",\"onward\":[\"echoer\"],\"return\":[\"app\"],\"len\":5}\n";
	char text[8192];
	int n = snprintf(text, sizeof(text),
		"%s"
		"not json\n"                                          /* 2 */
		"{\"v\":1,\"ev\":\"send\"\n"                          /* 3 */
		"{\"v\":2,\"ev\":\"send\",\"wall_ns\":1,\"node\":\"n\",\"worker\":\"w\"}\n" /* 4 */
		"{\"v\":1,\"ev\":\"send\",\"wall_ns\":-5,\"node\":\"n\",\"worker\":\"w\"}\n" /* 5 */
		"{\"v\":1,\"ev\":\"send\",\"wall_ns\":5,\"worker\":\"w\"}\n" /* 6 */
		"{\"v\":1,\"ev\":\"send\",\"wall_ns\":5,\"node\":\"n\",\"worker\":\"w\",\"onward\":\"x\"}\n" /* 7 */
		"{\"v\":1,\"ev\":\"send\",\"wall_ns\":5,\"node\":\"a\\ud800\",\"worker\":\"w\"}\n" /* 8 */
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"     /* 9 */
		"{\"v\":1,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n" /* 10 */
		"{\"v\":1} trailing\n"                                /* 11 */
		"{\"v\":99999999999999999999999}\n"                   /* 12 */
		"\n"                                                  /* 13: blank, fine */
		"{\"v\":1,\"ev\":\"send\",\"mono_ns\":2,\"wall_ns\":20,\"node\":\"n\",\"worker\":\"echoer\",\"to\":\"app\",\"unknown\":{\"a\":[1,2,{}]},\"len\":5}\n" /* 14: good */
		"{\"v\":1,\"ev\":\"send\",\"wall_ns\":30,\"node\":\"n\",\"worker\":\"w\"", /* 15: no newline */
		good);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(text));

	integ_begin("trace-malformed");
	const char *bad = hx_write_file(H, "bad.jsonl", text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	/* A NUL byte inside a line. */
	char nul_path[600];
	snprintf(nul_path, sizeof(nul_path), "%s/nul.jsonl", hx_dir(H));
	FILE *f = fopen(nul_path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite("{\"v\":1,\"ev\":\"se\0nd\"}\n", 1, 21, f);
	fclose(f);

	const char *args[] = { "trace", bad, nul_path, NULL };
	struct hx_proc *p;
	CU_ASSERT_EQUAL(integ_run_host("trace", args, NULL, &p), 1);
	const char *err = hx_read(p, HX_STDERR);
	for (int line = 2; line <= 15; line++) {
		if (line == 13 || line == 14)
			continue;
		char needle[700];
		snprintf(needle, sizeof(needle), "%s:%d: ", bad, line);
		if (!strstr(err, needle))
			fprintf(stderr, "no error for line %d\n", line);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
	}
	CU_ASSERT(integ_contains(err, "bad.jsonl:4: trace format version 2 is not known"));
	CU_ASSERT(integ_contains(err, "bad.jsonl:6: missing 'node'"));
	CU_ASSERT(integ_contains(err, "bad.jsonl:15: incomplete last line"));
	CU_ASSERT(integ_contains(err, "nul.jsonl:1: "));
	CU_ASSERT(integ_contains(err, "13 malformed line(s) skipped"));
	/* The good lines 1 and 14, in time order. */
	struct td d;
	CU_ASSERT_EQUAL_FATAL(td_parse(hx_read(p, HX_STDOUT), &d), 0);
	CU_ASSERT_EQUAL_FATAL(d.n_steps, 2);
	expect_arrow(&d, 0, "n/app", "n/echoer", 0);
	expect_arrow(&d, 1, "n/echoer", "n/app", 0);

	/* No file, no arguments: 2. */
	const char *none[] = { "trace", "/nonexistent/trace.jsonl", NULL };
	CU_ASSERT_EQUAL(integ_run_host("trace-none", none, NULL, &p), 2);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), "cannot read /nonexistent/trace.jsonl"));
	const char *noarg[] = { "trace", NULL };
	CU_ASSERT_EQUAL(integ_run_host("trace-noarg", noarg, NULL, &p), 2);
}

/* A trace file that fills up (/dev/full) does not stop the node; one
 * the YAML names that cannot be opened is a configuration error at its
 * entry. */
static void test_trace_file_faults(void)
{
	struct hx_proc *p;

	integ_begin("trace-faults");
	const char *cfg = integ_write_config("local.yaml",
		"node: local\n"
		"workers:\n"
		"  echoer:\n"
		"    type: echoer\n"
		"messages:\n"
		"  - route: [echoer]\n"
		"    payload: x\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	const char *const full[] = { "OCKAM_TRACE=/dev/full", NULL };
	const char *args[] = { cfg, NULL };
	CU_ASSERT_EQUAL(integ_run_host("full", args, full, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "App Received: x\n");
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR),
				 "WARN  local trace: cannot write the trace file: No space left on device"));

	const char *bad = integ_write_config("bad.yaml",
		"node: bad\n"
		"trace: /nonexistent-dir/t.jsonl\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	const char *bargs[] = { bad, NULL };
	CU_ASSERT_EQUAL(integ_run_host("bad", bargs, NULL, &p), 2);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR),
				 "bad.yaml:2:8: cannot open trace file /nonexistent-dir/t.jsonl"));
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "04: participants and arrows, one trace id", test_trace_04 },
		{ "05: participants, arrows per node, channel marked", test_trace_05 },
		{ "no secure plaintext without OCKAM_TRACE_PAYLOAD", test_trace_no_plaintext },
		{ "malformed trace lines: file:line, skipped", test_trace_malformed },
		{ "trace file full or not openable", test_trace_file_faults },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
