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

#include "integ_secure.h"

#define EXAMPLES "configs/06-secure-channel-x3dh-over-two-transport-hops-"

static void test_x3dh_two_hops(void)
{
	integ_begin("x3dh_two_hops");
	struct hx_proc *initiator = integ_check_secure_tutorial(EXAMPLES);
	CU_ASSERT_EQUAL(integ_lines(hx_read(initiator, HX_STDERR),
				    "handshake started to",
				    "(X3DH_25519_ChaChaPoly_SHA256)"), 1);
}

/* The options of an X3DH initiator that gives up at the first failure,
 * followed by its vault. */
#define X3DH_INITIATOR "trust: everyone, key_exchange: x3dh, rehandshake: false, "

static void test_x3dh_trust(void)
{
	char x[40], y[40], options[128], needle[128];
	struct hx_proc *open_r, *strict, *p;
	int port;

	integ_begin("x3dh_trust");
	/* Two initiator identities (v1 vaults work for initiators). */
	open_r = integ_start_listener("open",
				      "trust: everyone, key_exchange: x3dh",
				      &port);
	CU_ASSERT_EQUAL(integ_run_hello("init-x", port,
					X3DH_INITIATOR "vault: x.key", "10s",
					x, &p), 0);
	CU_ASSERT_EQUAL(integ_run_hello("init-y", port,
					X3DH_INITIATOR "vault: y.key", "10s",
					y, &p), 0);
	CU_ASSERT_EQUAL(hx_stop(open_r, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(open_r, HX_STDERR), NULL),
			0);

	/* A listener with a vault (created as v2 ed25519) trusting X only. */
	snprintf(options, sizeof(options),
		 "trust: [%s], key_exchange: x3dh, vault: bob.key", x);
	strict = integ_start_listener("strict", options, &port);
	CU_ASSERT_EQUAL(integ_run_hello("refused-y", port,
					X3DH_INITIATOR "vault: y.key", "3s",
					NULL, &p), 1);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), "");
	/* The initiator learns it from the CLOSE notice. */
	CU_ASSERT_EQUAL(integ_lines(hx_read(p, HX_STDERR),
				    "secure channel open"), 0);
	snprintf(needle, sizeof(needle), "refusing peer %s: not in trust list",
		 y);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR, needle, 1,
				     HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(integ_run_hello("trusted-x", port,
					X3DH_INITIATOR "vault: x.key", "10s",
					NULL, &p), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	snprintf(needle, sizeof(needle), "secure channel open with peer %s", x);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR, needle, 1,
				     HX_READY_MS, NULL, 0),
			0);

	/* A Noise initiator at this listener: told apart, no channel. */
	CU_ASSERT_EQUAL(integ_run_hello("noise", port,
					"trust: everyone, key_exchange: noise, rehandshake: false, vault: x.key",
					"1500ms", NULL, &p), 1);
	CU_ASSERT_EQUAL(hx_wait_line(strict, HX_STDERR,
				     "refusing a Noise handshake: this listener uses key_exchange: x3dh",
				     1, HX_READY_MS, NULL, 0),
			0);
	CU_ASSERT_EQUAL(hx_stop(strict, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(integ_lines(hx_read(strict, HX_STDERR),
				    "(vault bob.key, created)"), 1);
}

static void test_x3dh_v1_vault_refused(void)
{
	integ_begin("x3dh_v1_vault");
	const char *key = hx_write_file(H, "old.key",
					"ockam-vault v1 x25519\n"
					"0101010101010101010101010101010101010101010101010101010101010101\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	CU_ASSERT_EQUAL_FATAL(chmod(key, 0600), 0);
	const char *cfg = integ_listener_config("old", 0,
		"trust: everyone, key_exchange: x3dh, vault: old.key");
	struct hx_proc *p = hx_spawn_host(H, "old", cfg, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), 2);
	CU_ASSERT_EQUAL(integ_lines(hx_read(p, HX_STDERR),
				    "vault old.key holds an X25519-only identity",
				    "ockam-vault v2 ed25519"), 1);
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
