/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics plugin: what a node serves on its metrics port passes
 * `promtool check metrics`, its counters move with traffic (ping through
 * the node's echoer), the real Prometheus server scrapes it (when
 * installed), and a stranger hammering the port (idle connections past the
 * limits, a huge header, a POST with a body, unknown paths) neither stops
 * the node's messaging nor the next scrape once its connections time out.
 * Exits 77 (skipped) if promtool is not installed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ.h"

#define PROMTOOL "/usr/bin/promtool"
#define PROMETHEUS "/usr/bin/prometheus"

static const char node_yaml[] =
	"node: metered\n"
	"status: true\n"
	"transports:\n"
	"  tcp:\n"
	"    listen: 127.0.0.1:0\n"
	"workers:\n"
	"  echoer:\n"
	"    type: echoer\n"
	"  metrics:\n"
	"    type: metrics\n"
	"    options:\n"
	"      listen: 127.0.0.1:0\n"
	"      min_interval: 0\n"
	"      max_connections: 4\n"
	"      max_connections_per_client: 4\n"
	"      timeout: 1s\n";

/* Start the node; its tcp port in *port, its metrics port returned. */
static int start(struct hx_proc **node, int *port)
{
	char line[256];
	const char *path = hx_write_file(H, "metered.yaml", node_yaml);
	if (!path)
		return -1;
	*node = integ_start_node("metered", path, NULL, port);
	if (!*node ||
	    hx_wait_line(*node, HX_STDERR, "metrics listening on http://127.0.0.1:",
			 1, HX_READY_MS, line, sizeof(line)) < 0)
		return -1;
	const char *p = strstr(line, "127.0.0.1:") + strlen("127.0.0.1:");
	return atoi(p);
}

/* One HTTP/1.1 request with `extra` headers and body; the whole answer
 * (status line, headers, body) into a malloc'd string, or NULL. */
static char *http(int port, const char *method, const char *path,
		  const char *extra)
{
	int fd = hx_tcp_connect(port);
	if (fd < 0)
		return NULL;
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n",
			 method, path, extra ? extra : "");
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return NULL;
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 == cap) {
			char *b = realloc(buf, cap *= 2);
			if (!b)
				break;
			buf = b;
		}
		ssize_t k = read(fd, buf + len, cap - len - 1);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* The value of the sample line starting with `series` ("name{labels}"),
 * or -1. */
static long long sample(const char *text, const char *series)
{
	size_t sl = strlen(series);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, series, sl) && l[sl] == ' ')
			return atoll(l + sl + 1);
	fprintf(stderr, "no sample %s in:\n%s\n", series, text);
	return -1;
}

static const char *body_of(const char *answer)
{
	const char *b = answer ? strstr(answer, "\r\n\r\n") : NULL;
	return b ? b + 4 : "";
}

static int promtool_ok(const char *text)
{
	const char *file = hx_write_file(H, "scrape.txt", text);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < '%s'", file);
	struct hx_proc *p = hx_spawn(H, "promtool",
				     (const char *[]){ "/bin/sh", "-c", cmd, NULL },
				     NULL);
	int rc = p ? hx_wait_exit(p, HX_EXIT_MS) : -2;
	if (rc != 0)
		fprintf(stderr, "promtool said:\n%s%s\n", hx_read(p, HX_STDOUT),
			hx_read(p, HX_STDERR));
	return rc == 0;
}

static int ping(int port, int count)
{
	char route[64], c[16];
	struct hx_proc *p;
	snprintf(route, sizeof(route), "tcp:127.0.0.1:%d,echoer", port);
	snprintf(c, sizeof(c), "%d", count);
	return integ_run_host("ping", (const char *[]){ "ping", "-c", c, "-i", "10ms", route, NULL },
			      NULL, &p);
}

static void test_scrape(void)
{
	struct hx_proc *node;
	int port = 0;
	integ_begin("metrics-scrape");
	int mport = start(&node, &port);
	CU_ASSERT_FATAL(mport > 0);

	char *a = http(mport, "GET", "/metrics", NULL);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT(strncmp(a, "HTTP/1.1 200", 12) == 0);
	CU_ASSERT(integ_contains(a, "Content-Type: text/plain; version=0.0.4"));
	const char *b = body_of(a);
	CU_ASSERT(promtool_ok(b));
	CU_ASSERT_EQUAL(sample(b, "ockam_up{node=\"metered\"}"), 1);
	CU_ASSERT_EQUAL(sample(b, "ockam_worker_messages_in_total{node=\"metered\",worker=\"echoer\"}"), 0);
	CU_ASSERT(sample(b, "ockam_process_resident_memory_bytes{node=\"metered\"}") > 0);
	free(a);

	CU_ASSERT_EQUAL(ping(port, 3), 0);
	a = http(mport, "GET", "/metrics", NULL);
	CU_ASSERT_FATAL(a != NULL);
	b = body_of(a);
	CU_ASSERT(promtool_ok(b));
	CU_ASSERT_EQUAL(sample(b, "ockam_worker_messages_in_total{node=\"metered\",worker=\"echoer\"}"), 3);
	CU_ASSERT_EQUAL(sample(b, "ockam_worker_messages_out_total{node=\"metered\",worker=\"echoer\"}"), 3);
	CU_ASSERT_EQUAL(sample(b, "ockam_transport_messages_received_total{node=\"metered\",transport=\"tcp\"}"), 3);
	CU_ASSERT(sample(b, "ockam_transport_bytes_received_total{node=\"metered\",transport=\"tcp\"}") > 0);
	CU_ASSERT(sample(b, "ockam_transport_bytes_sent_total{node=\"metered\",transport=\"tcp\"}") > 0);
	CU_ASSERT(!strstr(b, "metrics_endpoint") && !strstr(b, "scrapes"));
	free(a);
	/* `ockam-host status` shows the endpoint: its port and the two
	 * scrapes answered; the text itself leaves that row out (the
	 * table does not name it). */
	char to[64], want[96];
	struct hx_proc *st;
	snprintf(to, sizeof(to), "tcp:127.0.0.1:%d", port);
	CU_ASSERT_EQUAL(integ_run_host("status", (const char *[]){ "status", "--to", to, NULL }, NULL, &st), 0);
	snprintf(want, sizeof(want), "port=%d scrapes=2 connections=", mport);
	CU_ASSERT(integ_lines(hx_read(st, HX_STDOUT), "metrics_endpoint", want) == 1);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(node, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

/* A free loopback port for Prometheus's own web listener. */
static int free_port(void)
{
	int port = 0, fd = hx_tcp_listen(1, &port);
	if (fd < 0)
		return -1;
	close(fd);
	return port;
}

static void test_prometheus(void)
{
	struct hx_proc *node, *prom;
	int port = 0;
	if (access(PROMETHEUS, X_OK) != 0) {
		fprintf(stderr, "(no %s: the real scrape is not tested)\n", PROMETHEUS);
		return;
	}
	integ_begin("metrics-prometheus");
	int mport = start(&node, &port);
	CU_ASSERT_FATAL(mport > 0);
	CU_ASSERT_EQUAL(ping(port, 2), 0);

	char yml[512], dir[512], web[64];
	snprintf(yml, sizeof(yml),
		 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		 "scrape_configs:\n  - job_name: ockam\n    static_configs:\n"
		 "      - targets: ['127.0.0.1:%d']\n", mport);
	const char *cfg = hx_write_file(H, "prometheus.yml", yml);
	snprintf(dir, sizeof(dir), "--storage.tsdb.path=%s/tsdb", hx_dir(H));
	int wport = free_port();
	CU_ASSERT_FATAL(cfg != NULL && wport > 0);
	snprintf(web, sizeof(web), "--web.listen-address=127.0.0.1:%d", wport);
	char cfgarg[600];
	snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", cfg);
	prom = hx_spawn(H, "prometheus",
			(const char *[]){ PROMETHEUS, cfgarg, dir, web, NULL },
			NULL);
	CU_ASSERT_FATAL(prom != NULL);

	/* Ask Prometheus (its query API) until it has scraped the counter. */
	long long got = -1;
	for (int i = 0; i < 150 && got != 2; i++) {
		char *a = http(wport, "GET",
			       "/api/v1/query?query=ockam_worker_messages_in_total%7Bworker%3D%22echoer%22%7D",
			       NULL);
		const char *v = a ? strstr(a, "\"value\":[") : NULL;
		const char *q = v ? strchr(v + 9, ',') : NULL;
		if (q && q[1] == '"')
			got = atoll(q + 2);
		free(a);
		if (got != 2)
			usleep(100 * 1000);
	}
	CU_ASSERT_EQUAL(got, 2);
	CU_ASSERT_EQUAL(hx_stop(prom, HX_EXIT_MS), 0);
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

static void test_stranger(void)
{
	struct hx_proc *node;
	int port = 0, held[16];
	integ_begin("metrics-stranger");
	int mport = start(&node, &port);
	CU_ASSERT_FATAL(mport > 0);

	/* Idle connections past every limit: the node keeps routing. */
	for (int i = 0; i < 16; i++)
		held[i] = hx_tcp_connect(mport);
	CU_ASSERT_EQUAL(ping(port, 2), 0);

	/* Its timeout (1s) frees the slots: a scrape gets through again. */
	uint64_t t0 = (uint64_t)time(NULL);
	char *a = NULL;
	while (!(a && !strncmp(a, "HTTP/1.1 200", 12)) &&
	       (uint64_t)time(NULL) - t0 < 10) {
		free(a);
		a = http(mport, "GET", "/metrics", NULL);
		if (!(a && !strncmp(a, "HTTP/1.1 200", 12)))
			usleep(100 * 1000);
	}
	CU_ASSERT(a && strncmp(a, "HTTP/1.1 200", 12) == 0);
	free(a);
	for (int i = 0; i < 16; i++)
		if (held[i] >= 0)
			close(held[i]);

	/* A header far past the per-connection memory: refused, not
	 * buffered. */
	static char big[100000];
	memset(big, 'a', sizeof(big) - 3);
	memcpy(big, "X: ", 3);
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	a = http(mport, "GET", "/metrics", big);
	CU_ASSERT(a == NULL || strncmp(a, "HTTP/1.1 200", 12) != 0);
	free(a);
	/* Only GET and HEAD of /metrics. */
	a = http(mport, "POST", "/metrics",
		 "Content-Length: 5\r\n\r\nhello");
	CU_ASSERT(a && strncmp(a, "HTTP/1.1 405", 12) == 0);
	free(a);
	a = http(mport, "GET", "/../etc/passwd", NULL);
	CU_ASSERT(a && strncmp(a, "HTTP/1.1 404", 12) == 0);
	free(a);
	a = http(mport, "HEAD", "/metrics", NULL);
	CU_ASSERT(a && strncmp(a, "HTTP/1.1 200", 12) == 0 &&
		  !strstr(a, "ockam_up"));
	free(a);

	/* And the node is still fine. */
	CU_ASSERT_EQUAL(ping(port, 1), 0);
	CU_ASSERT(hx_running(node));
	CU_ASSERT_EQUAL(hx_stop(node, HX_EXIT_MS), 0);
}

/* Where it binds is the YAML's: a host name is refused at load time (DNS
 * never picks the address), a port in use is a configuration error. */
static void test_listen_errors(void)
{
	struct hx_proc *p;
	char want[512];
	integ_begin("metrics-listen");
	const char *bad = hx_write_file(H, "bad.yaml",
		"node: m\n"
		"workers:\n"
		"  metrics:\n"
		"    type: metrics\n"
		"    options: { listen: \"localhost:9464\" }\n");
	CU_ASSERT_FATAL(bad != NULL);
	CU_ASSERT_EQUAL(integ_run_host("check", (const char *[]){ "--check", bad, NULL }, NULL, &p), 1);
	snprintf(want, sizeof(want), "%s:5:24: listen: 'localhost' is not a numeric IPv4 or IPv6 address", bad);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), want));

	int port = 0, fd = hx_tcp_listen(1, &port);
	CU_ASSERT_FATAL(fd >= 0);
	const char *busy = integ_write_config("busy.yaml",
		"node: m\n"
		"workers:\n"
		"  metrics:\n"
		"    type: metrics\n"
		"    options: { listen: \"127.0.0.1:%d\" }\n", port);
	CU_ASSERT_EQUAL(integ_run_host("busy", (const char *[]){ busy, NULL }, NULL, &p), 2);
	snprintf(want, sizeof(want), "%s:5:24: cannot serve metrics on 127.0.0.1:%d", busy, port);
	CU_ASSERT(integ_contains(hx_read(p, HX_STDERR), want));
	close(fd);
}

int main(void)
{
	if (access(PROMTOOL, X_OK) != 0) {
		fprintf(stderr, "skipped: %s is not installed (Debian package prometheus)\n", PROMTOOL);
		return 77;
	}
	static const struct integ_test tests[] = {
		{ "scrape: promtool check metrics, counters move", test_scrape },
		{ "the real Prometheus scrapes it", test_prometheus },
		{ "a stranger hammering the port", test_stranger },
		{ "listen: numeric only; a port in use", test_listen_errors },
		{ NULL, NULL },
	};
	return integ_run("metrics", tests);
}
