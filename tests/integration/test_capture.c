/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the wire shows: a capture of loopback traffic on the tutorial's two
 * TCP links.  With the secure channel (configs/05) the payload never
 * appears; with plaintext routing (configs/04) it does — the control that
 * shows the capture would have caught it.  Through a relay (configs/08,
 * and a portal's streams in configs/09) the relay's port carries only
 * ciphertext.  Needs tcpdump and the right to capture (root); skipped
 * (exit 77) otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ_portal.h"

static const char *tcpdump_path(void)
{
	static const char *const paths[] = {"/usr/bin/tcpdump",
					    "/usr/sbin/tcpdump", NULL};
	for (int i = 0; paths[i]; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static size_t count_of(const char *buf, size_t n, const char *needle)
{
	size_t count = 0, nl = strlen(needle);
	for (const char *p = buf;
	     (p = memmem(p, n - (size_t)(p - buf), needle, nl)); p += nl)
		count++;
	return count;
}

/* Capture loopback traffic matching `filter` into <run dir>/<name>.pcap
 * (its path in `pcap`, `cap` bytes) until hx_stop; NULL if it did not
 * start. */
static struct hx_proc *capture_start(const char *name, const char *filter,
				     char *pcap, size_t cap)
{
	snprintf(pcap, cap, "%s/%s.pcap", hx_dir(H), name);
	const char *const argv[] = { tcpdump_path(), "-i", "lo", "-U", "-n",
				     "--immediate-mode",
				     "-s", "0", "-w", pcap, filter, NULL };
	struct hx_proc *dump = hx_spawn(H, "tcpdump", argv, NULL);
	if (!dump || hx_wait_line(dump, HX_STDERR, "listening on", 1,
				  HX_READY_MS, NULL, 0) != 0)
		return NULL;
	return dump;
}

/* The captured bytes of `pcap` in a static buffer; their count, or 0 if
 * there is not even a pcap header (nothing was captured). */
static size_t capture_read(const char *pcap, const char **out)
{
	static char buf[4 << 20];
	FILE *f = fopen(pcap, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	*out = buf;
	return n < 24 ? 0 : n;
}

/* Run the three nodes of `example` ("04-..." prefix) under a capture and
 * return how many times `needle` occurs in the captured bytes (-1 on a
 * harness failure).  `witness` must occur: it proves the capture saw the
 * traffic at all (a capture of nothing contains no secrets either). */
static int capture_run(const char *example, const char *needle,
		       const char *witness)
{
	char path[512], filter[128];
	struct hx_proc *responder, *middle;
	struct integ_ports ports;
	const char *const *env = ports.env;
	int r, m;

	snprintf(path, sizeof(path), "configs/%s-", example);
	if (integ_start_pair(path, &responder, &middle, &ports) != 0)
		return -1;
	r = ports.responder;
	m = ports.middle;

	char pcap[512];
	snprintf(filter, sizeof(filter), "tcp port %d or tcp port %d", r, m);
	struct hx_proc *dump = capture_start(example, filter, pcap, sizeof(pcap));
	if (!dump)
		return -1;

	snprintf(path, sizeof(path), "configs/%s-initiator.yaml", example);
	struct hx_proc *init = hx_spawn_host(H, "initiator", integ_src(path), env);
	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(init, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	/* The reply has been printed, so every byte of the exchange went
	 * through lo; -U writes each packet as it comes. */
	CU_ASSERT_EQUAL(hx_stop(dump, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(middle, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(responder, HX_EXIT_MS), 0);

	const char *buf;
	size_t n = capture_read(pcap, &buf);
	if (!n)
		return -1;
	CU_ASSERT(count_of(buf, n, witness) >= 1);
	return (int)count_of(buf, n, needle);
}

static void test_plaintext_is_visible(void)
{
	integ_begin("capture_plain");
	/* Request and reply each cross both links: four copies. */
	CU_ASSERT_EQUAL(capture_run("04-routing-over-two-transport-hops",
				    "Hello Ockam!", "echoer"), 4);
}

static void test_secure_channel_hides_payload(void)
{
	integ_begin("capture_secure");
	/* The handshake's route to the listener is routing metadata, in
	 * the clear by design; the payload is not. */
	CU_ASSERT_EQUAL(capture_run("05-secure-channel-over-two-transport-hops",
				    "Hello Ockam!", "bob_listener"), 0);
}

/* The 08 tutorial: everything the relay node sends and receives (both
 * links go through its port) is captured.  The relay forwards the
 * initiator's channel inside the responder's channel to it: it never sees
 * the payload, and neither does the wire. */
static void test_relay_sees_only_ciphertext(void)
{
	static const char T08[] = "configs/08-secure-channel-through-a-relay-";
	char path[512], filter[64], pcap[512], env0[32];
	const char *const env[] = {env0, NULL};
	int port;

	integ_begin("capture_relay");
	snprintf(path, sizeof(path), "%srelay.yaml", T08);
	struct hx_proc *relay = integ_start_node(
		"relay", integ_src(path),
		(const char *const[]){"RELAY_PORT=0", NULL}, &port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(relay);
	snprintf(env0, sizeof(env0), "RELAY_PORT=%d", port);
	snprintf(filter, sizeof(filter), "tcp port %d", port);
	struct hx_proc *dump = capture_start("relay", filter, pcap, sizeof(pcap));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dump);
	snprintf(path, sizeof(path), "%sresponder.yaml", T08);
	struct hx_proc *resp = hx_spawn_host(H, "responder", integ_src(path), env);
	CU_ASSERT_FATAL(resp && hx_wait_line(resp, HX_STDERR,
					     "registered at relay", 1,
					     HX_READY_MS, NULL, 0) == 0);
	snprintf(path, sizeof(path), "%sinitiator.yaml", T08);
	struct hx_proc *init = hx_spawn_host(H, "initiator", integ_src(path), env);
	CU_ASSERT_EQUAL(hx_wait_exit(init, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(init, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	CU_ASSERT_EQUAL(hx_stop(dump, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(resp, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(relay, HX_EXIT_MS), 0);

	const char *buf;
	size_t n = capture_read(pcap, &buf);
	CU_ASSERT_FATAL(n > 0);
	/* The initiator's route to the relay is routing metadata, in the
	 * clear by design (it proves the capture saw the traffic); the
	 * registered name inside the responder's channel is not, nor is
	 * the payload. */
	CU_ASSERT(count_of(buf, n, "forward_to_bob") >= 1);
	CU_ASSERT_EQUAL(count_of(buf, n, "Hello Ockam!"), 0);
	CU_ASSERT_EQUAL(count_of(buf, n, "echoer"), 0);
}

/* The 09 tutorial: a portal's streams through the relay.  What the relay
 * node sends and receives is captured while a client and the service
 * trade a request and an answer (with a half-close): neither appears,
 * though the route to the relay name does. */
static void test_portal_relay_sees_only_ciphertext(void)
{
	static const char req[] = "portal-secret-request: GET /through-the-relay";
	static const char ans[] = "portal-secret-answer: 200 OK from behind the relay";
	char filter[64], pcap[512], got[128];
	struct portal_trio t;
	int svc_port;

	integ_begin("capture_portal_relay");
	int lfd = hx_tcp_listen(4, &svc_port);
	CU_ASSERT_FATAL(lfd >= 0);
	portal_start_relay_trio(svc_port, &t);
	snprintf(filter, sizeof(filter), "tcp port %d", t.middle_port);
	struct hx_proc *dump = capture_start("portal_relay", filter, pcap,
					     sizeof(pcap));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dump);

	int c = hx_tcp_connect(t.inlet_port);
	CU_ASSERT_FATAL(c >= 0);
	CU_ASSERT_FATAL(portal_write_all(c, req, strlen(req), 10000) == 0);
	CU_ASSERT_FATAL(shutdown(c, SHUT_WR) == 0);
	int s = portal_accept(lfd, 10000);
	CU_ASSERT_FATAL(s >= 0);
	CU_ASSERT_EQUAL(portal_read_all(s, got, sizeof(got), 10000), (long)strlen(req));
	CU_ASSERT(memcmp(got, req, strlen(req)) == 0);
	CU_ASSERT_FATAL(portal_write_all(s, ans, strlen(ans), 10000) == 0);
	close(s);
	CU_ASSERT_EQUAL(portal_read_all(c, got, sizeof(got), 10000), (long)strlen(ans));
	CU_ASSERT(memcmp(got, ans, strlen(ans)) == 0);
	close(c);
	/* The answer has been read, so both crossed lo; -U writes each
	 * packet as it comes. */
	CU_ASSERT_EQUAL(hx_stop(dump, HX_EXIT_MS), 0);
	portal_stop_trio(&t);
	close(lfd);

	const char *buf;
	size_t n = capture_read(pcap, &buf);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(count_of(buf, n, "forward_to_bob") >= 1);
	CU_ASSERT_EQUAL(count_of(buf, n, "portal-secret-request"), 0);
	CU_ASSERT_EQUAL(count_of(buf, n, "portal-secret-answer"), 0);
}

int main(void)
{
	if (!tcpdump_path() || geteuid() != 0) {
		printf("skipped: needs tcpdump and root to capture on lo\n");
		return 77;
	}
	static const struct integ_test tests[] = {
		{ "plaintext routing shows the payload on the wire", test_plaintext_is_visible },
		{ "the secure channel never shows it", test_secure_channel_hides_payload },
		{ "through a relay, only ciphertext", test_relay_sees_only_ciphertext },
		{ "a portal through a relay, only ciphertext", test_portal_relay_sees_only_ciphertext },
		{ NULL, NULL },
	};
	return integ_run("capture", tests);
}
