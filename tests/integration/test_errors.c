/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery errors a user will meet: a worker the far node does not have, a
 * port nobody listens on, a message over a tcp max_message_size (the
 * sender's own, and the receiver's); and a tcp address that is not
 * host:port, which is refused at load time.  Each must give exactly one clear WARN/ERROR line naming
 * what went wrong, and the nodes must go on serving: a good message sent
 * afterwards still gets its reply.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define CFG(name) integ_src("tests/integration/configs/" name ".yaml")

/* Over the 1 KiB limits of errors-*.yaml, with room for routes. */
#define BIG_LEN 2000

static const char good_reply[] = "App Received: still serving\n";

/* Run node `label` from configs/<config>.yaml to its end and check what
 * its user sees: exit `status` and standard output `out`.  Returns its log
 * (stderr), or "" if it did not start (already a failed assertion). */
static const char *run_sender(const char *label, const char *config,
			      const char *const env[], int status,
			      const char *out)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "tests/integration/configs/%s.yaml", config);
	struct hx_proc *p = hx_spawn_host(H, label, integ_src(rel), env);
	CU_ASSERT_PTR_NOT_NULL(p);
	if (!p)
		return "";
	CU_ASSERT_EQUAL(hx_wait_exit(p, HX_EXIT_MS), status);
	CU_ASSERT_STRING_EQUAL(hx_read(p, HX_STDOUT), out);
	return hx_read(p, HX_STDERR);
}

static void test_errors(void)
{
	static char big[sizeof("BIG_PAYLOAD=") + BIG_LEN];
	char rport[32], closed[32], needle[160];
	const char *const env[] = { rport, closed, big, NULL };
	struct hx_proc *r;
	const char *log;
	unsigned before;
	int port, cport, fd = -1;

	memcpy(big, "BIG_PAYLOAD=", 12);
	memset(big + 12, 'x', BIG_LEN);
	big[12 + BIG_LEN] = '\0';

	integ_begin("errors");
	fd = hx_tcp_listen(0, &cport); /* refuses connections while open */
	CU_ASSERT_FATAL(fd >= 0);
	r = integ_start_node("errors-responder", CFG("errors-responder"), NULL,
			     &port);
	if (!r)
		close(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	snprintf(rport, sizeof(rport), "RESPONDER_PORT=%d", port);
	snprintf(closed, sizeof(closed), "CLOSED_PORT=%d", cport);

	/* Unknown worker: the far node says so once, naming the address;
	 * the sender cannot know, and its next message is answered. */
	before = integ_count_problems(hx_read(r, HX_STDERR), NULL);
	log = run_sender("errors-unknown-worker", "errors-unknown-worker", env,
			 0, good_reply);
	CU_ASSERT_EQUAL(integ_count_problems(log, NULL), 0);
	log = hx_read(r, HX_STDERR);
	CU_ASSERT_EQUAL(integ_count_problems(log, NULL) - before, 1);
	CU_ASSERT_EQUAL(integ_count_problems(log, "nosuchworker"), 1);

	/* Closed port: tcp says so once, naming it, and the node's own
	 * messages say which of them was lost (a delivery-failure notice
	 * from tcp, passed back by the local hop), so the exit is 1; the
	 * next message is still answered and is not mistaken for the lost
	 * one. */
	log = run_sender("errors-closed-port", "errors-closed-port", env, 1,
			 good_reply);
	snprintf(needle, sizeof(needle), "127.0.0.1:%d", cport);
	CU_ASSERT_EQUAL(integ_count_problems(log, NULL), 2);
	CU_ASSERT_EQUAL(integ_count_problems(log, needle), 2);
	snprintf(needle, sizeof(needle),
		 "app: message to [hop, tcp:127.0.0.1:%d, echoer] not delivered: cannot connect to 127.0.0.1:%d: Connection refused",
		 cport, cport);
	CU_ASSERT_EQUAL(integ_count_problems(log, needle), 1);
	close(fd);

	/* Over the sender's own limit: refused before it is sent, with one
	 * line giving the limit; the message failed, so the exit is 1. */
	log = run_sender("errors-too-big-send", "errors-too-big-send", env, 1,
			 good_reply);
	CU_ASSERT_EQUAL(integ_count_problems(log, NULL), 1);
	CU_ASSERT_EQUAL(integ_count_problems(log, "1024"), 1);

	/* Over the receiver's limit: the responder says so once, giving its
	 * limit; the sender gets no reply (exit 1 after its 2 s timeout). */
	before = integ_count_problems(hx_read(r, HX_STDERR), NULL);
	run_sender("errors-too-big-receive", "errors-too-big-receive", env, 1,
		   "");
	log = hx_read(r, HX_STDERR);
	CU_ASSERT_EQUAL(integ_count_problems(log, NULL) - before, 1);
	CU_ASSERT_EQUAL(integ_count_problems(log, "1024"), 1);

	/* A tcp address that is not host:port is known to be wrong before
	 * anything runs: said at its position, nothing sent, exit 2. */
	log = run_sender("errors-bad-tcp-address", "errors-bad-tcp-address",
			 env, 2, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(log,
		"errors-bad-tcp-address.yaml:7:13: address 'tcp:nonsense': no port; write host:port"));
	CU_ASSERT_PTR_NULL(strstr(log, " ready"));

	/* After all that the responder still answers a newcomer. */
	run_sender("errors-after", "errors-unknown-worker", env, 0, good_reply);
	CU_ASSERT(hx_running(r));
	CU_ASSERT_EQUAL(hx_stop(r, HX_EXIT_MS), 0);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "errors", test_errors },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
