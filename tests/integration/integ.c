/* SPDX-License-Identifier: Apache-2.0 */
#include "integ.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#ifndef INTEG_SOURCE_ROOT
#error "INTEG_SOURCE_ROOT must be defined by the build"
#endif

struct hx *H;
static unsigned failures_before;

static void test_setup(void)
{
	H = NULL;
	failures_before = CU_get_number_of_failures();
}

static void test_teardown(void)
{
	hx_end(H, CU_get_number_of_failures() != failures_before);
	H = NULL;
}

int integ_run(const char *suite_name, const struct integ_test *tests)
{
	return cunit_run(&(struct cunit_suite){
		.name = suite_name, .setup = test_setup,
		.teardown = test_teardown, .tests = tests });
}

void integ_begin(const char *name)
{
	H = hx_begin(name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(H);
}

const char *integ_src(const char *rel)
{
	static char ring[8][4096];
	static unsigned next;
	char *buf = ring[next++ % 8];

	snprintf(buf, sizeof(ring[0]), "%s/%s", INTEG_SOURCE_ROOT, rel);
	return buf;
}

struct hx_proc *integ_start_node(const char *node, const char *config,
				 const char *const env[], int *port)
{
	struct hx_proc *p = hx_spawn_host(H, node, config, env);
	char ready[128];

	if (!p)
		return NULL;
	if (port) {
		*port = hx_wait_port(p, HX_READY_MS);
		if (*port < 0)
			return NULL;
	}
	snprintf(ready, sizeof(ready), "node %s ready", node);
	if (hx_wait_line(p, HX_STDERR, ready, 1, HX_READY_MS, NULL, 0) < 0)
		return NULL;
	return p;
}

int integ_start_pair(const char *prefix, struct hx_proc **responder,
		     struct hx_proc **middle, struct integ_ports *ports)
{
	return integ_start_pair_via(prefix, responder, middle, ports, 0);
}

int integ_start_pair_via(const char *prefix, struct hx_proc **responder,
			 struct hx_proc **middle, struct integ_ports *ports,
			 int middle_to)
{
	const char *const responder_env[] = { "RESPONDER_PORT=0", NULL };
	char responder_port[32];
	const char *const middle_env[] = { "MIDDLE_PORT=0", responder_port,
					   NULL };
	char path[512];

	*responder = *middle = NULL;
	memset(ports, 0, sizeof(*ports));
	snprintf(path, sizeof(path), "%sresponder.yaml", prefix);
	*responder = integ_start_node("responder", integ_src(path),
				      responder_env, &ports->responder);
	if (!*responder)
		return -1;
	/* The middle's hop may connect only to the responder (its `to:`). */
	snprintf(responder_port, sizeof(responder_port), "RESPONDER_PORT=%d",
		 middle_to ? middle_to : ports->responder);
	snprintf(path, sizeof(path), "%smiddle.yaml", prefix);
	*middle = integ_start_node("middle", integ_src(path), middle_env,
				   &ports->middle);
	if (!*middle)
		return -1;
	snprintf(ports->buf[0], sizeof(ports->buf[0]), "RESPONDER_PORT=%d",
		 ports->responder);
	snprintf(ports->buf[1], sizeof(ports->buf[1]), "MIDDLE_PORT=%d",
		 ports->middle);
	ports->env[0] = ports->buf[0];
	ports->env[1] = ports->buf[1];
	ports->env[2] = NULL;
	return 0;
}

const char *integ_write_config(const char *name, const char *fmt, ...)
{
	static char text[131072];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		fprintf(stderr, "integ: config %s is over %zu bytes\n", name,
			sizeof(text) - 1);
		return NULL;
	}
	return hx_write_file(H, name, text);
}

int integ_find_identifier(const char *log, const char *prefix, char *out)
{
	char line[1024];

	if (hx_find_line(log, prefix, line, sizeof(line)) != 0)
		return -1;
	const char *at = strstr(line, prefix) + strlen(prefix);
	if (at[0] != 'I' || strlen(at) < 33)
		return -1;
	memcpy(out, at, 33);
	out[33] = '\0';
	return 0;
}

void integ_run_tutorial(const char *prefix, struct integ_tutorial *t)
{
	struct integ_ports ports;
	char path[512], line[1024];

	integ_start_pair(prefix, &t->responder, &t->middle, &ports);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->responder);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->middle);
	snprintf(path, sizeof(path), "%sinitiator.yaml", prefix);
	t->initiator = hx_spawn_host(H, "initiator", integ_src(path),
				     ports.env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->initiator);
	CU_ASSERT_EQUAL(hx_wait_exit(t->initiator, HX_EXIT_MS), 0);
	CU_ASSERT_STRING_EQUAL(hx_read(t->initiator, HX_STDOUT),
			       "App Received: Hello Ockam!\n");
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(t->responder, HX_STDERR,
					   "echoer: received \"Hello Ockam!\"",
					   1, HX_READY_MS, line, sizeof(line)),
			      0);
	t->n_hops = integ_return_route(line, t->hops, 8);
}

void integ_check_channel_peers(const char *ilog, const char *rlog)
{
	char alice_id[40], bob_id[40], seen[40], line[128];

	CU_ASSERT_EQUAL_FATAL(integ_find_identifier(ilog, "alice: identity ",
						    alice_id), 0);
	CU_ASSERT_EQUAL_FATAL(integ_find_identifier(rlog,
						    "bob_listener: identity ",
						    bob_id), 0);
	CU_ASSERT_STRING_NOT_EQUAL(alice_id, bob_id);
	CU_ASSERT_EQUAL(integ_find_identifier(rlog,
					      "secure channel open with peer ",
					      seen), 0);
	CU_ASSERT_STRING_EQUAL(seen, alice_id);
	CU_ASSERT_EQUAL(integ_find_identifier(ilog,
					      "secure channel open with peer ",
					      seen), 0);
	CU_ASSERT_STRING_EQUAL(seen, bob_id);
	snprintf(line, sizeof(line), "via secure channel with %s", alice_id);
	CU_ASSERT_EQUAL(hx_count_lines(rlog, (const char *const[]){
						     "echoer: received", line,
						     NULL }),
			1);
}

int integ_run_host(const char *label, const char *const args[],
		   const char *const env[], struct hx_proc **out)
{
	const char *argv[16] = { hx_host_path() };
	size_t n = 1;

	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	*out = hx_spawn(H, label, argv, env);
	if (!*out)
		return -2;
	return hx_wait_exit(*out, HX_EXIT_MS);
}

int integ_contains(const char *text, const char *needle)
{
	if (!strstr(text, needle)) {
		fprintf(stderr, "missing \"%s\" in:\n%s\n", needle, text);
		return 0;
	}
	return 1;
}

int integ_return_route(const char *line, char hops[][128], int max)
{
	static const char key[] = "return route [";
	const char *at = strstr(line, key), *end;
	int n = 0;

	if (!at)
		return -1;
	at += sizeof(key) - 1;
	end = strchr(at, ']');
	if (!end)
		return -1;
	while (at < end) {
		const char *comma = memchr(at, ',', (size_t)(end - at));
		const char *stop = comma ? comma : end;
		size_t len = (size_t)(stop - at);

		if (n == max || len >= sizeof(hops[0]))
			return -1;
		memcpy(hops[n], at, len);
		hops[n++][len] = '\0';
		at = stop + 1;
		while (at < end && *at == ' ')
			at++;
	}
	return n;
}

unsigned integ_count_problems(const char *log, const char *needle)
{
	const char *const warn[] = { " WARN ", needle, NULL };
	const char *const error[] = { " ERROR ", needle, NULL };

	return hx_count_lines(log, warn) + hx_count_lines(log, error);
}

double integ_now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void integ_wait_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}
