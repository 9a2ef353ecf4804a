/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure channel end to end, with real ockam-host processes:
 *  - the shipped example configs/05-secure-channel-over-two-transport-hops-*
 *    (ephemeral ports): the reply arrives, the echoer saw it come out of a
 *    channel, and both ends agree on each other's identifiers;
 *  - trust lists: a responder that trusts only identity X refuses an
 *    initiator with another vault identity and accepts one with X; an
 *    initiator refuses a responder it does not trust;
 *  - vault files readable by others are refused with the fix in the message;
 *  - a channel carried inside another channel of the same listener: the
 *    inner responder's batched replies leave from a timer straight into
 *    the outer responder's encryptor, while its own record is in flight.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define EXAMPLES "configs/05-secure-channel-over-two-transport-hops-"

static void test_secure_two_hops(void)
{
	char hops[8][128];
	struct hx_proc *responder, *middle, *initiator;
	struct integ_ports ports;
	int n;

	H = hx_begin("secure_two_hops");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	integ_start_pair(EXAMPLES, &responder, &middle, &ports);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);

	initiator = integ_run_tutorial(EXAMPLES, &ports, responder, hops, 8, &n);
	/* The echoer got it out of a channel: its return route leads back
	 * into the responder's encryptor, then to the app. */
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_NSTRING_EQUAL(hops[0], "sc_enc.", 7);
	CU_ASSERT_STRING_EQUAL(hops[1], "app");

	/* Each end names the other by the identifier the other announced. */
	const char *ilog = hx_read(initiator, HX_STDERR);
	const char *rlog = hx_read(responder, HX_STDERR);
	integ_check_channel_peers(ilog, rlog);

	CU_ASSERT_EQUAL(integ_count_problems(ilog, NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(middle, HX_STDERR),
					     NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(rlog, NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

static const char responder_fmt[] =
	"node: %s\n"
	"transports:\n"
	"  tcp: { listen: 127.0.0.1:0 }\n"
	"workers:\n"
	"  echoer: { type: echoer }\n"
	"  bob_listener:\n"
	"    type: secure_channel\n"
	"    options: { role: listener, trust: %s }\n";

static const char initiator_fmt[] =
	"node: %s\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  alice:\n"
	"    type: secure_channel\n"
	"    options:\n"
	"      role: initiator\n"
	"      route: [tcp:localhost:%d, bob_listener]\n"
	"      trust: %s\n"
	"      %s\n"
	"messages:\n"
	"  - route: [alice, echoer]\n"
	"    payload: Hello Ockam!\n"
	"    reply: true\n"
	"    timeout: %s\n"
	"after_messages: exit\n";

/* Run an initiator node to the end; returns its exit status and leaves
 * its identifier (from "identity I...") in id if given. */
static int run_initiator(const char *node, int port, const char *trust,
			 const char *vault_line, const char *timeout,
			 char *id, struct hx_proc **out)
{
	char file[64];
	snprintf(file, sizeof(file), "%s.yaml", node);
	const char *cfg = integ_write_config(file, initiator_fmt, node, port, trust,
				       vault_line, timeout);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *p = hx_spawn_host(H, node, cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	int status = hx_wait_exit(p, HX_EXIT_MS);
	if (id)
		CU_ASSERT_EQUAL(integ_find_identifier(hx_read(p, HX_STDERR),
						"alice: identity ", id), 0);
	if (out)
		*out = p;
	return status;
}

static void test_secure_trust(void)
{
	char x[40], y[40], seen[40], trust[64], needle[128];
	struct hx_proc *open_r, *strict, *p;
	struct stat st;
	int port;

	H = hx_begin("secure_trust");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);

	/* Two vault identities, created on first use by a responder that
	 * trusts everyone. */
	const char *cfg = integ_write_config("open.yaml", responder_fmt, "open",
				       "everyone");
	open_r = integ_start_node("open", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(open_r);
	CU_ASSERT_EQUAL(run_initiator("init-x", port, "everyone",
				      "vault: x.key", "10s", x, &p), 0);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(p, HX_STDERR),
				       (const char *const[]){
					       "(vault x.key, created)", NULL }),
			1);
	CU_ASSERT_EQUAL(run_initiator("init-y", port, "everyone",
				      "vault: y.key", "10s", y, NULL), 0);
	CU_ASSERT_STRING_NOT_EQUAL(x, y);
	snprintf(needle, sizeof(needle), "%s/x.key", hx_dir(H));
	CU_ASSERT_EQUAL_FATAL(stat(needle, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	/* The same vault gives the same identity again. */
	CU_ASSERT_EQUAL(run_initiator("init-x2", port, "everyone",
				      "vault: x.key", "10s", seen, &p), 0);
	CU_ASSERT_STRING_EQUAL(seen, x);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(p, HX_STDERR),
				       (const char *const[]){
					       "(vault x.key)", NULL }),
			1);
	CU_ASSERT_EQUAL(hx_stop(open_r, HX_EXIT_MS), 0);

	/* A responder that trusts only X. */
	snprintf(trust, sizeof(trust), "[%s]", x);
	cfg = integ_write_config("strict.yaml", responder_fmt, "strict", trust);
	strict = integ_start_node("strict", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(strict);

	/* Y is refused: no reply, and the responder says whom and why. */
	CU_ASSERT_EQUAL(run_initiator("refused-y", port, "everyone",
				      "vault: y.key", "1500ms", NULL, &p), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	snprintf(needle, sizeof(needle), "refusing peer %s: not in trust list",
		 y);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR, needle, 1,
				     HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(strict, HX_STDERR),
				       (const char *const[]){
					       "secure channel open", NULL }),
			0);

	/* X gets through. */
	CU_ASSERT_EQUAL(run_initiator("trusted-x", port, "everyone",
				      "vault: x.key", "10s", NULL, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	snprintf(needle, sizeof(needle), "secure channel open with peer %s", x);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR, needle, 1,
				     HX_READY_MS, NULL, 0),
			0);

	/* The initiator judges the responder too: trusting only Y, it
	 * refuses this responder and drops its queued message. */
	snprintf(trust, sizeof(trust), "[%s]", y);
	CU_ASSERT_EQUAL(run_initiator("picky", port, trust, "vault: x.key",
				      "1500ms", NULL, &p), 1);
	const char *log = hx_read(p, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						    "refusing peer I",
						    "not in trust list", NULL }),
			1);
	CU_ASSERT_EQUAL(hx_count_lines(log, (const char *const[]){
						    "dropping 1 queued message(s): peer refused",
						    NULL }),
			1);
	CU_ASSERT_EQUAL(hx_stop(strict, HX_EXIT_MS), 0);
}

static void test_secure_vault_mode(void)
{
	char path[512];
	struct hx_proc *p;

	H = hx_begin("secure_vault_mode");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	const char *key = hx_write_file(H, "alice.key",
					"ockam-vault v1 x25519\n"
					"0101010101010101010101010101010101010101010101010101010101010101\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	snprintf(path, sizeof(path), "%s", key);
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0644), 0);
	/* Refused at load time (exit 2: configuration), with the fix. */
	CU_ASSERT_EQUAL(run_initiator("loose", 9, "everyone",
				      "vault: alice.key", "1s", NULL, &p), 2);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(p, HX_STDERR),
				       (const char *const[]){
					       "vault alice.key is readable by group or others (mode 0644): chmod 600 alice.key",
					       NULL }),
			1);
	/* Fixed as told, it loads (no one listens on port 9: no reply). */
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(run_initiator("fixed", 9, "everyone",
				      "vault: alice.key", "500ms", NULL, &p), 1);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(p, HX_STDERR),
				       (const char *const[]){
					       "alice: identity I",
					       "(vault alice.key)", NULL }),
			1);
}

static const char nested_fmt[] =
	"node: nested\n"
	"transports:\n"
	"  tcp: {}\n"
	"workers:\n"
	"  outer:\n"
	"    type: secure_channel\n"
	"    options: { role: initiator, trust: everyone,\n"
	"               route: [tcp:localhost:%d, bob_listener] }\n"
	"  inner:\n"
	"    type: secure_channel\n"
	"    options: { role: initiator, trust: everyone,\n"
	"               route: [outer, bob_listener] }\n"
	"messages:\n"
	"  - { route: [inner, echoer], payload: one }\n"
	"  - { route: [inner, echoer], payload: two }\n"
	"  - { route: [inner, echoer], payload: three }\n"
	"after_messages: exit\n";

static void test_secure_nested(void)
{
	struct hx_proc *responder, *p;
	int port;

	H = hx_begin("secure_nested");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	const char *cfg = integ_write_config("responder.yaml", responder_fmt,
					     "responder", "everyone");
	responder = integ_start_node("responder", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	cfg = integ_write_config("nested.yaml", nested_fmt, port);
	p = hx_spawn_host(H, "nested", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);

	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT),
			       "App Received: one\n"
			       "App Received: two\n"
			       "App Received: three\n");
	const char *ilog = hx_read(p, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(ilog, (const char *const[]){
						    "secure channel open", NULL }),
			2);
	CU_ASSERT_EQUAL(integ_count_problems(ilog, NULL), 0);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
						    "secure channel open", NULL }),
			2);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
						    "echoer: received", NULL }),
			3);
	CU_ASSERT_EQUAL(integ_count_problems(rlog, NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "secure_two_hops", test_secure_two_hops },
		{ "secure_trust", test_secure_trust },
		{ "secure_vault_mode", test_secure_vault_mode },
		{ "secure_nested", test_secure_nested },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
