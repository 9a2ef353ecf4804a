/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel against a hostile middle node, for each key exchange
 * (Noise XX, X3DH): the tamper worker (tests/plugins/tamper) flips a bit
 * of one data record, truncates another, replays a third and drops a
 * fourth.  Each bad record is rejected and counted once at the responder,
 * the next good one is delivered, and the channel stays up to the end.
 *
 * Records through the middle node, in order: the handshake (Noise: HS1,
 * HS2, HS3; X3DH: BUNDLE_REQUEST, BUNDLE, INIT, DONE), then h+1 "one",
 * h+2 its reply, h+3 the flipped one, h+4 the truncated one, h+5
 * "replayed" (twice), h+6 its reply, h+7 the dropped one, h+8 "last", h+9
 * its reply, where h is the number of handshake messages.  The tamper
 * worker logs the type byte of what it attacked; the test checks it was a
 * data record.
 *
 * Both key exchanges agree on batch records (0x06): what the app sends in
 * one go shares a record, so each attacked record carries two messages
 * (the second awaits a reply that cannot come, 500 ms), and both are lost
 * together.
 *
 * Then, for each key exchange, a burst of small messages sent in one go
 * through a middle node that only counts (trace): every message reaches
 * the echoer, in order, in fewer records than messages.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ_secure.h"

struct tamper_case {
	const char *name;
	const char *responder_config; /* the tutorial's, under configs/ */
	const char *key_exchange;
	unsigned handshake; /* messages before the first data message */
	unsigned type;      /* of the attacked records */
	const char *messages; /* the initiator's app script */
	int exit_code;       /* the initiator's: replies that never came */
	const char *lost[7];  /* payloads the attacks must have stopped */
};

/* Each pair is sent in one go, so it shares one batch record; the second
 * of a pair waits for a reply, which ends the batch. */
static const char batch_messages[] =
	"  - { route: [alice, echoer], payload: one }\n"
	"  - { route: [alice, echoer], payload: flipped1, reply: false }\n"
	"  - { route: [alice, echoer], payload: flipped2, timeout: 500ms }\n"
	"  - { route: [alice, echoer], payload: truncated1, reply: false }\n"
	"  - { route: [alice, echoer], payload: truncated2, timeout: 500ms }\n"
	"  - { route: [alice, echoer], payload: replayed }\n"
	"  - { route: [alice, echoer], payload: dropped1, reply: false }\n"
	"  - { route: [alice, echoer], payload: dropped2, timeout: 500ms }\n"
	"  - { route: [alice, echoer], payload: last }\n";

static const struct tamper_case noise_case = {
	"secure_tamper",
	"configs/05-secure-channel-over-two-transport-hops-responder.yaml",
	"noise", 3, 0x06, batch_messages, 1,
	{ "flipped1", "flipped2", "truncated1", "truncated2", "dropped1",
	  "dropped2", NULL },
};

static const struct tamper_case x3dh_case = {
	"secure_tamper_x3dh",
	"configs/06-secure-channel-x3dh-over-two-transport-hops-responder.yaml",
	"x3dh", 4, 0x06, batch_messages, 1,
	{ "flipped1", "flipped2", "truncated1", "truncated2", "dropped1",
	  "dropped2", NULL },
};

/* Attacked message numbers: handshake + these. */
enum { AT_FLIP = 3, AT_TRUNCATE = 4, AT_REPLAY = 5, AT_DROP = 7 };

static const char middle_fmt[] =
	"node: middle\n"
	"transports:\n"
	"  tcp: { listen: 127.0.0.1:0 }\n"
	"workers:\n"
	"  hop:\n"
	"    type: tamper\n"
	"    options: { %s }\n";

static unsigned echoed(const char *log, const char *payload)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "echoer: received \"%s\"", payload);
	return hx_count_lines(log, (const char *const[]){ needle, NULL });
}

/* Lines of `log` saying the tamper worker did `what` to message `n`, a
 * data record of type `type`. */
static unsigned attacked(const char *log, const char *what, unsigned n,
			 unsigned type)
{
	char needle[96];
	snprintf(needle, sizeof(needle), "tamper: %s %u (type 0x%02x)", what,
		 n, type);
	return hx_count_lines(log, (const char *const[]){ needle, NULL });
}

/* Start c's responder (its shipped config), a middle node whose `hop` is
 * a tamper worker with `options`, and an initiator through them sending
 * `messages` (a YAML list body) with c's key exchange.  Fatal assertions
 * if one does not start. */
static void start_nodes(const struct tamper_case *c, const char *options,
			const char *messages, struct hx_proc **responder,
			struct hx_proc **middle, struct hx_proc **initiator)
{
	const char *const responder_env[] = { "RESPONDER_PORT=0", NULL };
	static char text[64 * 1024];
	char alice[96];
	int r, m;

	H = hx_begin(c->name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	*responder = integ_start_node("responder",
				      integ_src(c->responder_config),
				      responder_env, &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*responder);
	snprintf(text, sizeof(text), middle_fmt, options);
	const char *cfg = hx_write_file(H, "middle.yaml", text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	*middle = integ_start_node("middle", cfg, NULL, &m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*middle);
	snprintf(alice, sizeof(alice), "trust: everyone, key_exchange: %s",
		 c->key_exchange);
	cfg = integ_initiator_config(&(struct integ_initiator){
		.node = "initiator", .port = r, .via = m, .options = alice,
		.messages = messages, .after = "exit" });
	*initiator = hx_spawn_host(H, "initiator", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*initiator);
}

static void run_tamper(const struct tamper_case *c)
{
	const unsigned h = c->handshake;
	char options[128], line[1024];
	struct hx_proc *responder, *middle, *initiator;

	snprintf(options, sizeof(options),
		 "flip: %u, truncate: %u, replay: %u, drop: %u", h + AT_FLIP,
		 h + AT_TRUNCATE, h + AT_REPLAY, h + AT_DROP);
	start_nodes(c, options, c->messages, &responder, &middle, &initiator);

	/* Every awaited reply of a good record came, through the same
	 * channel; the app names each one a tampered record took. */
	CU_ASSERT_EQUAL(hx_wait_exit(initiator, HX_EXIT_MS), c->exit_code);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(initiator, HX_STDERR),
				       (const char *const[]){
					       "no reply from", NULL }),
			c->exit_code ? 3 : 0);
	CU_ASSERT_STRING_EQUAL(hx_read(initiator, HX_STDOUT),
			       "App Received: one\n"
			       "App Received: replayed\n"
			       "App Received: last\n");
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(initiator, HX_STDERR),
				       (const char *const[]){
					       "secure channel open", NULL }),
			1);

	/* The attacks happened, each to a data message... */
	const char *mlog = hx_read(middle, HX_STDERR);
	CU_ASSERT_EQUAL(attacked(mlog, "flipped a bit of message", h + AT_FLIP,
				c->type),
			1);
	CU_ASSERT_EQUAL(attacked(mlog, "truncated message", h + AT_TRUNCATE,
				c->type),
			1);
	CU_ASSERT_EQUAL(attacked(mlog, "replayed message", h + AT_REPLAY,
				c->type),
			1);
	CU_ASSERT_EQUAL(attacked(mlog, "dropped message", h + AT_DROP,
				c->type),
			1);

	/* ...and the responder refused all three bad records, reporting them
	 * within a second (one line at once, the rest rate-limited). */
	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR, "3 rejected, ", 1,
				     HX_READY_MS, line, sizeof(line)),
			0);
	const char *rlog = hx_read(responder, HX_STDERR);
	/* The first refusal is reported at once; when the next ones
	 * come (500 ms apart for Noise) decides how the rest are grouped. */
	CU_ASSERT(hx_count_lines(rlog, (const char *const[]){
			"bob_listener: secure channel I",
			"rejected 1 message(s) (auth=1)", NULL }) >= 1);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
				"rejected", "replay=1", NULL }), 1);
	CU_ASSERT_EQUAL(echoed(rlog, "one"), 1);
	CU_ASSERT_EQUAL(echoed(rlog, "replayed"), 1);
	CU_ASSERT_EQUAL(echoed(rlog, "last"), 1);
	for (unsigned i = 0; c->lost[i]; i++)
		CU_ASSERT_EQUAL(echoed(rlog, c->lost[i]), 0);

	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

enum { BURST = 40 };

/* Data records (either type) the middle node saw. */
static unsigned data_records(const char *mlog, unsigned type)
{
	char needle[32];
	snprintf(needle, sizeof(needle), "(type 0x%02x)", type);
	return hx_count_lines(mlog, (const char *const[]){
			"tamper: saw message", needle, NULL });
}

/* "hello" opens the channel and awaits its echo; then BURST messages and
 * "last" leave in one go.  The first echo after that (m01's) ends the
 * app's wait; the others are unexpected to it (a warning each, or none if
 * it has exited): what matters is what the responder received. */
static void run_burst(const struct tamper_case *c)
{
	static char script[BURST * 64 + 256];
	struct hx_proc *responder, *middle, *initiator;
	size_t used;

	used = (size_t)snprintf(script, sizeof(script),
				"  - { route: [alice, echoer], payload: hello }\n");
	for (int i = 1; i <= BURST; i++)
		used += (size_t)snprintf(script + used, sizeof(script) - used,
					 "  - { route: [alice, echoer], payload: m%02d, reply: false }\n",
					 i);
	snprintf(script + used, sizeof(script) - used,
		 "  - { route: [alice, echoer], payload: last }\n");

	start_nodes(c, "trace: true", script, &responder, &middle, &initiator);
	CU_ASSERT_EQUAL(hx_wait_exit(initiator, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(initiator, HX_STDOUT),
			       "App Received: hello\n"
			       "App Received: m01\n");
	/* The initiator may exit before the other echoes come back: the
	 * responder's echoer is the witness. */
	CU_ASSERT_EQUAL(hx_wait_line(responder, HX_STDERR,
				     "echoer: received \"last\"", 1,
				     HX_READY_MS, NULL, 0),
			0);

	/* Every message once, in the order sent. */
	const char *rlog = hx_read(responder, HX_STDERR);
	const char *at = rlog;
	char payload[8], needle[64];
	for (int i = 0; i <= BURST + 1; i++) {
		if (i == 0 || i > BURST)
			snprintf(payload, sizeof(payload), i ? "last" : "hello");
		else
			snprintf(payload, sizeof(payload), "m%02d", i);
		CU_ASSERT_EQUAL(echoed(rlog, payload), 1);
		snprintf(needle, sizeof(needle), "echoer: received \"%s\"",
			 payload);
		const char *p = strstr(at, needle);
		CU_ASSERT_PTR_NOT_NULL(p);
		if (p)
			at = p;
	}

	/* The BURST + 2 messages to the echoer crossed the middle node in
	 * fewer records than that, even counting the echoes' records that
	 * have passed so far. */
	const char *mlog = hx_read(middle, HX_STDERR);
	unsigned single = data_records(mlog, 0x04);
	unsigned batch = data_records(mlog, 0x06);
	printf("\n  %s: %u messages to the echoer; %u data records seen both ways (%u batch)\n",
	       c->key_exchange, BURST + 2, single + batch, batch);
	CU_ASSERT(batch >= 1);
	CU_ASSERT(single + batch < BURST + 2);

	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

static void test_secure_tamper(void)
{
	run_tamper(&noise_case);
}

static void test_secure_tamper_x3dh(void)
{
	run_tamper(&x3dh_case);
}

static void test_burst_noise(void)
{
	struct tamper_case c = noise_case;
	c.name = "secure_burst";
	run_burst(&c);
}

static void test_burst_x3dh(void)
{
	struct tamper_case c = x3dh_case;
	c.name = "secure_burst_x3dh";
	run_burst(&c);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "secure_tamper", test_secure_tamper },
		{ "secure_tamper_x3dh", test_secure_tamper_x3dh },
		{ "secure_burst", test_burst_noise },
		{ "secure_burst_x3dh", test_burst_x3dh },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
