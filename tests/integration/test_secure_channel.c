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
 *    inner responder's batched replies, sealed by the end-of-turn flush,
 *    go through the outer responder's encryptor of the same instance (ABI
 *    1 handed them over inside the send of the record in flight, which
 *    needed a guard; ABI 2 queues every local message).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/Basic.h>

#include "integ_secure.h"

#define EXAMPLES "configs/05-secure-channel-over-two-transport-hops-"

static void test_secure_two_hops(void)
{
	integ_begin("secure_two_hops");
	integ_check_secure_tutorial(EXAMPLES);
}

static void test_secure_trust(void)
{
	char x[40], y[40], seen[40], options[128], needle[128];
	struct hx_proc *open_r, *strict, *p;
	struct stat st;
	int port;

	integ_begin("secure_trust");

	/* Two vault identities, created on first use by a responder that
	 * trusts everyone. */
	open_r = integ_start_listener("open", "trust: everyone", &port);
	CU_ASSERT_EQUAL(integ_run_hello("init-x", port,
					"trust: everyone, vault: x.key", "10s",
					x, &p), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(p, HX_STDERR),
				    "(vault x.key, created)"), 1);
	CU_ASSERT_EQUAL(integ_run_hello("init-y", port,
					"trust: everyone, vault: y.key", "10s",
					y, NULL), 0);
	CU_ASSERT_STRING_NOT_EQUAL(x, y);
	snprintf(needle, sizeof(needle), "%s/x.key", hx_dir(H));
	CU_ASSERT_EQUAL_FATAL(stat(needle, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	/* The same vault gives the same identity again. */
	CU_ASSERT_EQUAL(integ_run_hello("init-x2", port,
					"trust: everyone, vault: x.key", "10s",
					seen, &p), 0);
	CU_ASSERT_STRING_EQUAL(seen, x);
	CU_ASSERT_EQUAL(integ_lines(hx_read(p, HX_STDERR), "(vault x.key)"),
			1);
	CU_ASSERT_EQUAL(hx_stop(open_r, HX_EXIT_MS), 0);

	/* A responder that trusts only X. */
	snprintf(options, sizeof(options), "trust: [%s]", x);
	strict = integ_start_listener("strict", options, &port);

	/* Y is refused: no reply, and the responder says whom and why.  The
	 * initiator fails its message as soon as the channel is refused,
	 * not at the message's 60 s timeout (hx_wait_exit would kill it). */
	CU_ASSERT_EQUAL(integ_run_hello("refused-y", port,
					"trust: everyone, vault: y.key", "60s",
					NULL, &p), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	CU_ASSERT_EQUAL(integ_lines(hx_read(p, HX_STDERR),
				    "app: message to [alice, echoer] not delivered: no secure channel alice (refused by the peer: not trusted)"),
			1);
	snprintf(needle, sizeof(needle), "refusing peer %s: not in trust list",
		 y);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR, needle, 1,
				     HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(strict, HX_STDERR),
				    "secure channel open"), 0);

	/* X gets through. */
	CU_ASSERT_EQUAL(integ_run_hello("trusted-x", port,
					"trust: everyone, vault: x.key", "10s",
					NULL, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	snprintf(needle, sizeof(needle), "secure channel open with peer %s", x);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR, needle, 1,
				     HX_READY_MS, NULL, 0),
			0);

	/* The initiator judges the responder too: trusting only Y, it
	 * refuses this responder and drops its queued message. */
	snprintf(options, sizeof(options), "trust: [%s], vault: x.key", y);
	CU_ASSERT_EQUAL(integ_run_hello("picky", port, options, "60s", NULL,
					&p), 1);
	const char *log = hx_read(p, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(log, "refusing peer I",
				    "not in trust list"), 1);
	CU_ASSERT_EQUAL(integ_lines(log,
				    "dropping 1 queued message(s): peer refused"),
			1);
	CU_ASSERT_EQUAL(integ_lines(log,
				    "app: message to [alice, echoer] not delivered: "),
			1);
	CU_ASSERT_EQUAL(hx_stop(strict, HX_EXIT_MS), 0);
}

static void test_secure_vault_mode(void)
{
	char path[512];
	struct hx_proc *p;

	integ_begin("secure_vault_mode");
	const char *key = hx_write_file(H, "alice.key",
					"ockam-vault v1 x25519\n"
					"0101010101010101010101010101010101010101010101010101010101010101\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	snprintf(path, sizeof(path), "%s", key);
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0644), 0);
	/* Refused at load time (exit 2: configuration), with the fix. */
	CU_ASSERT_EQUAL(integ_run_hello("loose", 9,
					"trust: everyone, vault: alice.key",
					"1s", NULL, &p), 2);
	CU_ASSERT_EQUAL(integ_lines(hx_read(p, HX_STDERR),
				    "vault alice.key is readable by group or others (mode 0644): chmod 600 alice.key"),
			1);
	/* Fixed as told, it loads (no one listens on port 9: no reply). */
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(integ_run_hello("fixed", 9,
					"trust: everyone, vault: alice.key",
					"500ms", NULL, &p), 1);
	CU_ASSERT_EQUAL(integ_lines(hx_read(p, HX_STDERR), "alice: identity I",
				    "(vault alice.key)"), 1);
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

	integ_begin("secure_nested");
	responder = integ_start_listener("responder", "trust: everyone", &port);
	const char *cfg = integ_write_config("nested.yaml", nested_fmt, port);
	p = hx_spawn_host(H, "nested", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);

	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT),
			       "App Received: one\n"
			       "App Received: two\n"
			       "App Received: three\n");
	const char *ilog = hx_read(p, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(ilog, "secure channel open"), 2);
	CU_ASSERT_EQUAL(integ_count_problems(ilog, NULL), 0);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(integ_lines(rlog, "secure channel open"), 2);
	CU_ASSERT_EQUAL(integ_lines(rlog, "echoer: received"), 3);
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
