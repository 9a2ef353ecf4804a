/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What each log level adds, on the tutorial a user runs first with a
 * secure channel (configs/05-secure-channel-over-two-transport-hops-*):
 * the three nodes are run at the default level, at debug (-v, and
 * OCKAM_LOG=debug on the middle) and at trace (-vv, and OCKAM_LOG=trace on
 * the middle), and each level must show lines the level below does not:
 *
 *   info   what an operator needs, a few lines per node
 *   debug  connection and channel lifecycle (connecting and the addresses
 *          tried, handshake steps and "handshake done", why a channel
 *          closed)
 *   trace  every routing decision (who sent how many bytes where) and
 *          every tcp frame, with sizes only
 *
 * At no level does a node's log show the message: the middle never does,
 * the initiator only on stdout (App Received), the responder only in the
 * echoer's own line (the echoer shows what it echoes, at info).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define PREFIX "configs/05-secure-channel-over-two-transport-hops-"
#define PAYLOAD "Hello Ockam!"

enum { RESPONDER, MIDDLE, INITIATOR, NODES };

/* One run's stderr, per node. */
struct run {
	char *log[NODES];
};

/* Start `<PREFIX><node>.yaml` with `flag` (NULL for none) and `env`. */
static struct hx_proc *spawn(const char *node, const char *flag,
			     const char *const env[])
{
	char path[512];
	const char *argv[4];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s%s.yaml", PREFIX, node);
	argv[n++] = hx_host_path();
	if (flag)
		argv[n++] = flag;
	argv[n++] = integ_src(path);
	argv[n] = NULL;
	return hx_spawn(H, node, argv, env);
}

static struct hx_proc *start(const char *node, const char *flag,
			     const char *const env[], int *port)
{
	char ready[64];
	struct hx_proc *p = spawn(node, flag, env);

	if (!p)
		return NULL;
	if (port && (*port = hx_wait_port(p, HX_READY_MS)) < 0)
		return NULL;
	snprintf(ready, sizeof(ready), "node %s ready", node);
	if (hx_wait_line(p, HX_STDERR, ready, 1, HX_READY_MS, NULL, 0) < 0)
		return NULL;
	return p;
}

/* The tutorial as a user runs it, each node with `flag` (e.g. "-v"),
 * except the middle, which gets `middle_log` as OCKAM_LOG instead (so both
 * ways of choosing a level are used); NULL for neither.  The servers are
 * stopped after the initiator exits, so their close lines are in. */
static void run_tutorial(const char *flag, const char *middle_log,
			 struct run *out)
{
	char rport[32], mport[32], mlog[32];
	int responder_port, middle_port;
	const char *const renv[] = { "RESPONDER_PORT=0", NULL };
	const char *const menv[] = { "MIDDLE_PORT=0", rport,
				     middle_log ? mlog : NULL, NULL };
	const char *const ienv[] = { rport, mport, NULL };
	struct hx_proc *p[NODES];
	char line[1024];

	memset(out, 0, sizeof(*out));
	snprintf(mlog, sizeof(mlog), "OCKAM_LOG=%s",
		 middle_log ? middle_log : "");
	p[RESPONDER] = start("responder", flag, renv, &responder_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p[RESPONDER]);
	snprintf(rport, sizeof(rport), "RESPONDER_PORT=%d", responder_port);
	p[MIDDLE] = start("middle", middle_log ? NULL : flag, menv,
			  &middle_port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p[MIDDLE]);
	snprintf(mport, sizeof(mport), "MIDDLE_PORT=%d", middle_port);
	p[INITIATOR] = spawn("initiator", flag, ienv);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p[INITIATOR]);
	CU_ASSERT_EQUAL(hx_wait_exit(p[INITIATOR], HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(p[INITIATOR], HX_STDOUT),
			       "App Received: " PAYLOAD "\n");
	CU_ASSERT_EQUAL(hx_wait_line(p[RESPONDER], HX_STDERR,
				     "echoer: received", 1, HX_READY_MS, line,
				     sizeof(line)),
			0);
	CU_ASSERT_EQUAL(hx_stop(p[MIDDLE], HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(p[RESPONDER], HX_EXIT_MS), 0);
	for (int i = 0; i < NODES; i++) {
		out->log[i] = strdup(hx_read(p[i], HX_STDERR));
		CU_ASSERT_PTR_NOT_NULL_FATAL(out->log[i]);
	}
}

static void run_free(struct run *r)
{
	for (int i = 0; i < NODES; i++)
		free(r->log[i]);
}

static unsigned lines(const char *log, const char *a, const char *b)
{
	return hx_count_lines(log, (const char *const[]){ a, b, NULL });
}

/* The message shows nowhere but where the user asked for it. */
static void check_payload_hidden(const struct run *r)
{
	CU_ASSERT_EQUAL(lines(r->log[MIDDLE], PAYLOAD, NULL), 0);
	CU_ASSERT_EQUAL(lines(r->log[MIDDLE], "Hello", NULL), 0);
	CU_ASSERT_EQUAL(lines(r->log[INITIATOR], PAYLOAD, NULL), 0);
	/* The responder's only such line is the echoer's own. */
	CU_ASSERT_EQUAL(lines(r->log[RESPONDER], PAYLOAD, NULL), 1);
	CU_ASSERT_EQUAL(lines(r->log[RESPONDER],
			      "echoer: received \"" PAYLOAD "\"", NULL),
			1);
}

/* Lines only at debug and above: lifecycle. */
static unsigned lifecycle_lines(const struct run *r)
{
	return lines(r->log[INITIATOR], " DEBUG ", "handshake done in") +
	       lines(r->log[RESPONDER], " DEBUG ", "handshake done in") +
	       lines(r->log[MIDDLE], " DEBUG ", "tcp: connecting to") +
	       lines(r->log[INITIATOR], " DEBUG ", "closed after");
}

/* Lines only at trace: routing decisions and frames. */
static unsigned routing_lines(const struct run *r)
{
	return lines(r->log[RESPONDER], " TRACE ", "local worker 'echoer'") +
	       lines(r->log[MIDDLE], " TRACE ", "router: hop sent a ") +
	       lines(r->log[MIDDLE], " TRACE ", "tcp: frame of ");
}

static void test_default(void)
{
	struct run r;

	integ_begin("log_levels_default");
	run_tutorial(NULL, NULL, &r);
	for (int i = 0; i < NODES; i++) {
		/* Short: what an operator needs (listening, ready, the
		 * connections and the channel, the reply). */
		unsigned n = lines(r.log[i], "Z ", NULL);
		CU_ASSERT(n >= 2 && n <= 10);
		CU_ASSERT_EQUAL(lines(r.log[i], " DEBUG ", NULL), 0);
		CU_ASSERT_EQUAL(lines(r.log[i], " TRACE ", NULL), 0);
	}
	CU_ASSERT_EQUAL(lifecycle_lines(&r), 0);
	CU_ASSERT_EQUAL(routing_lines(&r), 0);
	check_payload_hidden(&r);
	run_free(&r);
}

static void test_debug(void)
{
	struct run r;

	integ_begin("log_levels_debug");
	run_tutorial("-v", "debug", &r);
	/* Each end says its handshake is done, once, naming the other's
	 * identity; the middle says where it connected and what it tried;
	 * the initiator says why its channel closed. */
	CU_ASSERT_EQUAL(lines(r.log[INITIATOR], " DEBUG ",
			      "alice: handshake done in"), 1);
	CU_ASSERT_EQUAL(lines(r.log[RESPONDER], " DEBUG ",
			      "bob_listener: handshake done in"), 1);
	CU_ASSERT_EQUAL(lines(r.log[INITIATOR], " DEBUG ",
			      "handshake message 3 ("), 1);
	CU_ASSERT_EQUAL(lines(r.log[MIDDLE], " DEBUG ",
			      "tcp: connecting to localhost:"), 1);
	CU_ASSERT_EQUAL(lines(r.log[MIDDLE], "(1 address: 127.0.0.1:",
			      NULL), 1);
	CU_ASSERT_EQUAL(lines(r.log[INITIATOR], "closed after",
			      ": node stopping"), 1);
	CU_ASSERT_EQUAL(lines(r.log[RESPONDER], "closed after",
			      ": node stopping"), 1);
	CU_ASSERT(lifecycle_lines(&r) >= 4);
	/* Nothing of trace's. */
	for (int i = 0; i < NODES; i++)
		CU_ASSERT_EQUAL(lines(r.log[i], " TRACE ", NULL), 0);
	CU_ASSERT_EQUAL(routing_lines(&r), 0);
	check_payload_hidden(&r);
	run_free(&r);
}

static void test_trace(void)
{
	struct run r;

	integ_begin("log_levels_trace");
	run_tutorial("-vv", "trace", &r);
	CU_ASSERT(lifecycle_lines(&r) >= 4);
	/* The decrypted message's way to the echoer, with its size (the
	 * 12 bytes of "Hello Ockam!"), never its bytes. */
	CU_ASSERT_EQUAL(lines(r.log[RESPONDER],
			      "router: bob_listener sent a 12-byte payload (secure) to [echoer]",
			      "local worker 'echoer'"),
			1);
	CU_ASSERT_EQUAL(lines(r.log[RESPONDER],
			      "router: echoer sent a 12-byte payload to [sc_enc.",
			      NULL),
			1);
	CU_ASSERT_EQUAL(lines(r.log[INITIATOR],
			      "router: app sent a 12-byte payload to [alice, echoer]",
			      "local worker 'alice'"),
			1);
	/* The middle's hop passes the handshake and the data on: three
	 * messages one way, two the other, each handed to tcp. */
	CU_ASSERT_EQUAL(lines(r.log[MIDDLE], " TRACE ",
			      "router: hop sent a "), 5);
	CU_ASSERT_EQUAL(lines(r.log[MIDDLE], " TRACE ",
			      "handed to transport tcp"), 5);
	CU_ASSERT(lines(r.log[MIDDLE], " TRACE ", "tcp: frame of ") >= 10);
	CU_ASSERT(lines(r.log[MIDDLE], " TRACE ", "tcp: wrote ") >= 1);
	CU_ASSERT(routing_lines(&r) >= 3);
	check_payload_hidden(&r);
	run_free(&r);
}

int main(void)
{
	static const struct integ_test tests[] = {
		{ "log_levels_default", test_default },
		{ "log_levels_debug", test_debug },
		{ "log_levels_trace", test_trace },
		{ NULL, NULL },
	};

	return integ_run("integration", tests);
}
