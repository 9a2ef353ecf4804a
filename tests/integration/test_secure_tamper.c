/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel against a hostile middle node: the tamper worker
 * (tests/plugins/tamper) flips a bit of one data message, truncates
 * another, replays a third and drops a fourth.  Each bad message is
 * rejected and counted at the responder, the next good one is delivered,
 * and the channel stays up to the end.
 *
 * Messages through the middle node, in order: 1 HS1, 2 HS2, 3 HS3,
 * 4 "one", 5 its reply, 6 "flipped", 7 "truncated", 8 "replayed" (twice),
 * 9 its reply, 10 "dropped", 11 "last", 12 its reply.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ.h"

static const char middle_cfg[] =
	"node: middle\n"
	"transports:\n"
	"  tcp: { listen: 127.0.0.1:0 }\n"
	"workers:\n"
	"  hop:\n"
	"    type: tamper\n"
	"    options: { flip: 6, truncate: 7, replay: 8, drop: 10 }\n";

static const char initiator_fmt[] =
	"node: initiator\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route: [tcp:localhost:%d, hop, tcp:localhost:%d, bob_listener]\n"
	"      trust: everyone\n"
	"messages:\n"
	"  - { route: [alice, echoer], payload: one }\n"
	"  - { route: [alice, echoer], payload: flipped, reply: false }\n"
	"  - { route: [alice, echoer], payload: truncated, reply: false }\n"
	"  - { route: [alice, echoer], payload: replayed }\n"
	"  - { route: [alice, echoer], payload: dropped, reply: false }\n"
	"  - { route: [alice, echoer], payload: last }\n"
	"after_messages: exit\n";

static unsigned echoed(const char *log, const char *payload)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "echoer: received \"%s\"", payload);
	return hx_count_lines(log, (const char *const[]){ needle, NULL });
}

static void test_secure_tamper(void)
{
	const char *const responder_env[] = { "RESPONDER_PORT=0", NULL };
	char text[2048], line[1024];
	struct hx_proc *responder, *middle, *initiator;
	int r, m;

	H = hx_begin("secure_tamper");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	responder = integ_start_node(
		"responder",
		integ_src("configs/05-secure-channel-over-two-transport-hops-responder.yaml"),
		responder_env, &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	const char *cfg = hx_write_file(H, "middle.yaml", middle_cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	middle = integ_start_node("middle", cfg, NULL, &m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);
	snprintf(text, sizeof(text), initiator_fmt, m, r);
	cfg = hx_write_file(H, "initiator.yaml", text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	initiator = hx_spawn_host(H, "initiator", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(initiator);

	/* Every awaited reply came, through the same channel. */
	CU_ASSERT_EQUAL(hx_wait_exit(initiator, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(initiator, HX_STDOUT),
			       "App Received: one\n"
			       "App Received: replayed\n"
			       "App Received: last\n");
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(initiator, HX_STDERR),
				       (const char *const[]){
					       "secure channel open", NULL }),
			1);

	/* The attacks happened... */
	const char *mlog = hx_read(middle, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(mlog, (const char *const[]){
				"tamper: flipped a bit of message 6", NULL }), 1);
	CU_ASSERT_EQUAL(hx_count_lines(mlog, (const char *const[]){
				"tamper: truncated message 7", NULL }), 1);
	CU_ASSERT_EQUAL(hx_count_lines(mlog, (const char *const[]){
				"tamper: replayed message 8", NULL }), 1);
	CU_ASSERT_EQUAL(hx_count_lines(mlog, (const char *const[]){
				"tamper: dropped message 10", NULL }), 1);

	/* ...and the responder refused all three bad copies, reporting them
	 * within a second (one line at once, the rest rate-limited). */
	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR, "3 rejected, ", 1,
				     HX_READY_MS, line, sizeof(line)),
			0);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
				"bob_listener: secure channel I", "rejected 1 message(s) (auth=1)",
				NULL }), 1);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
				"rejected", "replay=1", NULL }), 1);
	CU_ASSERT_EQUAL(echoed(rlog, "one"), 1);
	CU_ASSERT_EQUAL(echoed(rlog, "flipped"), 0);
	CU_ASSERT_EQUAL(echoed(rlog, "truncated"), 0);
	CU_ASSERT_EQUAL(echoed(rlog, "replayed"), 1);
	CU_ASSERT_EQUAL(echoed(rlog, "dropped"), 0);
	CU_ASSERT_EQUAL(echoed(rlog, "last"), 1);

	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "secure_tamper", test_secure_tamper },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
