/* SPDX-License-Identifier: Apache-2.0 */
/*
 * key_exchange: x3dh end to end, with real ockam-host processes:
 *  - the shipped example configs/06-secure-channel-x3dh-over-two-transport-
 *    hops-* (ephemeral ports): the reply arrives through the channel, both
 *    ends name each other, nothing is logged as a problem;
 *  - trust lists apply as for Noise: a listener that trusts only X refuses
 *    Y (and says so), and accepts X; each run uses a fresh one-time prekey;
 *  - an X3DH listener refuses a v1 (X25519-only) vault with the way out;
 *  - a Noise initiator at an X3DH listener is told apart, not crashed on.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define EXAMPLES "configs/06-secure-channel-x3dh-over-two-transport-hops-"

static void test_x3dh_two_hops(void)
{
	char hops[8][128];
	struct hx_proc *responder, *middle, *initiator;
	struct integ_ports ports;
	int n;

	H = hx_begin("x3dh_two_hops");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	integ_start_pair(EXAMPLES, &responder, &middle, &ports);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responder);
	CU_ASSERT_PTR_NOT_NULL_FATAL(middle);

	initiator = integ_run_tutorial(EXAMPLES, &ports, responder, hops, 8, &n);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_NSTRING_EQUAL(hops[0], "sc_enc.", 7);
	CU_ASSERT_STRING_EQUAL(hops[1], "app");

	const char *ilog = hx_read(initiator, HX_STDERR);
	const char *rlog = hx_read(responder, HX_STDERR);
	CU_ASSERT_EQUAL(hx_count_lines(ilog, (const char *const[]){
						     "handshake started to",
						     "(X3DH_25519_ChaChaPoly_SHA256)",
						     NULL }),
			1);
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
	"    options: { role: listener, trust: %s, key_exchange: x3dh %s }\n";

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
	"      trust: everyone\n"
	"      key_exchange: %s\n"
	"      rehandshake: false\n"
	"      %s\n"
	"messages:\n"
	"  - route: [alice, echoer]\n"
	"    payload: Hello Ockam!\n"
	"    reply: true\n"
	"    timeout: %s\n"
	"after_messages: exit\n";

static int run_initiator(const char *node, int port, const char *kx,
			 const char *vault_line, const char *timeout,
			 char *id, struct hx_proc **out)
{
	char file[64];
	snprintf(file, sizeof(file), "%s.yaml", node);
	const char *cfg = integ_write_config(file, initiator_fmt, node, port, kx,
				       vault_line, timeout);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	struct hx_proc *p = hx_spawn_host(H, node, cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	int status = hx_wait_exit(p, HX_EXIT_MS);
	if (id)
		CU_ASSERT_EQUAL(integ_find_identifier(hx_read(p, HX_STDERR),
						"alice: identity ", id), 0);
	*out = p;
	return status;
}

static void test_x3dh_trust(void)
{
	char x[40], y[40], trust[64], needle[128];
	struct hx_proc *open_r, *strict, *p;
	int port;

	H = hx_begin("x3dh_trust");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	/* Two initiator identities (v1 vaults work for initiators). */
	const char *cfg = integ_write_config("open.yaml", responder_fmt, "open",
				       "everyone", "");
	open_r = integ_start_node("open", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(open_r);
	CU_ASSERT_EQUAL(run_initiator("init-x", port, "x3dh", "vault: x.key",
				      "10s", x, &p), 0);
	CU_ASSERT_EQUAL(run_initiator("init-y", port, "x3dh", "vault: y.key",
				      "10s", y, &p), 0);
	CU_ASSERT_EQUAL(hx_stop(open_r, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(open_r, HX_STDERR), NULL),
			0);

	/* A listener with a vault (created as v2 ed25519) trusting X only. */
	snprintf(trust, sizeof(trust), "[%s]", x);
	cfg = integ_write_config("strict.yaml", responder_fmt, "strict", trust,
			   ", vault: bob.key");
	strict = integ_start_node("strict", cfg, NULL, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(strict);
	CU_ASSERT_EQUAL(run_initiator("refused-y", port, "x3dh",
				      "vault: y.key", "3s", NULL, &p), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	/* The initiator learns it from the CLOSE notice. */
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(p, HX_STDERR),
				       (const char *const[]){
					       "secure channel open", NULL }),
			0);
	snprintf(needle, sizeof(needle), "refusing peer %s: not in trust list",
		 y);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR, needle, 1,
				     HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(run_initiator("trusted-x", port, "x3dh",
				      "vault: x.key", "10s", NULL, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	snprintf(needle, sizeof(needle), "secure channel open with peer %s", x);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR, needle, 1,
				     HX_READY_MS, NULL, 0),
			0);

	/* A Noise initiator at this listener: told apart, no channel. */
	CU_ASSERT_EQUAL(run_initiator("noise", port, "noise", "vault: x.key",
				      "1500ms", NULL, &p), 1);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR,
				     "ignoring a Noise handshake: this listener uses key_exchange: x3dh",
				     1, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_stop(strict, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(strict, HX_STDERR),
				       (const char *const[]){
					       "(vault bob.key, created)",
					       NULL }),
			1);
}

static void test_x3dh_v1_vault_refused(void)
{
	H = hx_begin("x3dh_v1_vault");
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
	const char *key = hx_write_file(H, "old.key",
					"ockam-vault v1 x25519\n"
					"0101010101010101010101010101010101010101010101010101010101010101\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	CU_ASSERT_EQUAL_FATAL(chmod(key, 0600), 0);
	const char *cfg = integ_write_config("old.yaml", responder_fmt, "old",
				       "everyone", ", vault: old.key");
	struct hx_proc *p = hx_spawn_host(H, "old", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 2);
	CU_ASSERT_EQUAL(hx_count_lines(hx_read(p, HX_STDERR),
				       (const char *const[]){
					       "vault old.key holds an X25519-only identity",
					       "ockam-vault v2 ed25519", NULL }),
			1);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "x3dh_two_hops", test_x3dh_two_hops },
		{ "x3dh_trust", test_x3dh_trust },
		{ "x3dh_v1_vault", test_x3dh_v1_vault_refused },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
