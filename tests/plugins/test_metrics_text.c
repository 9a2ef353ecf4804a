/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics plugin's text (metrics_text.c): status pairs become samples
 * of the table's families, grouped under one HELP and TYPE each; label
 * values are escaped; connections are counted by direction and state,
 * never by peer (a thousand peers make one series); pairs the table does
 * not name are not exported; the sample table's bound is kept.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cunit_main.h"
#include "metrics_text.h"

static struct metrics_sample samples[METRICS_SAMPLES_MAX];

static char *render(struct metrics_collect *c)
{
	size_t len = 0;
	char *t = metrics_render(c, "n\"1", &len);
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL(strlen(t), len);
	return t;
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void test_families(void)
{
	struct metrics_collect c = { .s = samples };
	metrics_collect_pair(&c, "worker", "echoer", "type", "echoer", 0);
	metrics_collect_pair(&c, "worker", "echoer", "msgs_in", "3", 1);
	metrics_collect_pair(&c, "worker", "bad\"name\\\n", "msgs_in", "5", 1);
	metrics_collect_pair(&c, "router", "local", "dropped_full", "2", 1);
	metrics_collect_pair(&c, "router", "local", "queued", "7", 1);
	metrics_collect_pair(&c, "mystery", "x", "thing", "9", 1);
	char *t = render(&c);
	CU_ASSERT_EQUAL(count(t, "# TYPE ockam_worker_messages_in_total counter\n"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_worker_messages_in_total{node=\"n\\\"1\",worker=\"echoer\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_worker_messages_in_total{node=\"n\\\"1\",worker=\"bad\\\"name\\\\\\n\"} 5\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_router_dropped_total{node=\"n\\\"1\",reason=\"queue_full\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "# TYPE ockam_queue_depth gauge\nockam_queue_depth{node=\"n\\\"1\",queue=\"local\"} 7\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_up{node=\"n\\\"1\"} 1\n"));
	CU_ASSERT_PTR_NULL(strstr(t, "mystery"));
	CU_ASSERT_PTR_NULL(strstr(t, "thing"));
	free(t);
}

static void test_connections_not_by_peer(void)
{
	struct metrics_collect c = { .s = samples };
	char peer[64];
	for (int i = 0; i < 1000; i++) {
		snprintf(peer, sizeof(peer), "10.0.%d.%d:4000", i / 256, i % 256);
		/* Each row's name is its own string, as in a report. */
		char *name = strdup(peer);
		metrics_collect_pair(&c, "connection", name, "direction",
				     i % 2 ? "incoming" : "outgoing", 0);
		metrics_collect_pair(&c, "connection", name, "state", "open", 0);
		metrics_collect_pair(&c, "connection", name, "queued_bytes", "10", 1);
		free(name);
	}
	CU_ASSERT(c.n < 10);
	char *t = render(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_connections{node=\"n\\\"1\",direction=\"incoming\",state=\"open\"} 500\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_connections{node=\"n\\\"1\",direction=\"outgoing\",state=\"open\"} 500\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_connection_queued_bytes{node=\"n\\\"1\"} 10000\n"));
	CU_ASSERT_PTR_NULL(strstr(t, "10.0."));
	free(t);
}

static void test_channels(void)
{
	struct metrics_collect c = { .s = samples };
	metrics_collect_pair(&c, "secure_channel", "a", "state", "open", 0);
	metrics_collect_pair(&c, "secure_channel", "b", "state", "handshake", 0);
	metrics_collect_pair(&c, "secure_channel_totals", "bob", "handshakes_ok", "4", 1);
	metrics_collect_pair(&c, "secure_channel_totals", "bob", "handshakes_failed", "1", 1);
	metrics_collect_pair(&c, "secure_channel_totals", "bob", "rejected_auth", "6", 1);
	metrics_collect_pair(&c, "secure_channel_totals", "bob", "rejected_replay", "2", 1);
	metrics_collect_pair(&c, "secure_channel_totals", "bob", "rejected_old", "1", 1);
	char *t = render(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_secure_channels_open{node=\"n\\\"1\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_secure_channels_handshaking{node=\"n\\\"1\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_secure_channel_handshakes_total{node=\"n\\\"1\",worker=\"bob\",result=\"ok\"} 4\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_secure_channel_decrypt_failures_total{node=\"n\\\"1\",worker=\"bob\"} 6\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_secure_channel_replay_drops_total{node=\"n\\\"1\",worker=\"bob\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "ockam_secure_channel_rejected_total{node=\"n\\\"1\",worker=\"bob\",reason=\"auth\"} 6\n"));
	free(t);
}

static void test_bounded(void)
{
	struct metrics_collect c = { .s = samples };
	char name[32];
	for (int i = 0; i < METRICS_SAMPLES_MAX + 10; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		metrics_collect_pair(&c, "worker", name, "msgs_in", "1", 1);
	}
	CU_ASSERT_EQUAL(c.n, METRICS_SAMPLES_MAX);
	CU_ASSERT(c.truncated);
	char *t = render(&c);
	CU_ASSERT_EQUAL(count(t, "ockam_worker_messages_in_total{"), METRICS_SAMPLES_MAX);
	free(t);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "families, labels, escaping", test_families },
		{ "connections counted, never labelled by peer", test_connections_not_by_peer },
		{ "secure channel families", test_channels },
		{ "the sample table's bound", test_bounded },
		{ NULL, NULL },
	};
	return cunit_run(&(struct cunit_suite){
		.name = "metrics_text", .tests = tests });
}
