/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP portals carrying applications nobody here wrote, through the 07
 * tutorial trio (tcp -> hop -> tcp -> secure channel): curl against
 * `python3 -m http.server` (a page, a 50 MiB download whose sha256
 * matches, the server killed mid-download), iperf3 in both directions,
 * and redis-benchmark against redis-server.  Built three times, one
 * program per application (PORTAL_APP_HTTP, _IPERF3, _REDIS), so a
 * missing application skips only its own tests (exit 77).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "integ_portal.h"

/* A free port on 127.0.0.1 for a service that insists on choosing its
 * own socket (another process could take it in between; unlikely). */
static int free_port(void)
{
	int port, fd = hx_tcp_listen(1, &port);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	return port;
}

/* Wait until something accepts connections on `port`. */
static __attribute__((unused)) int service_up(int port)
{
	for (int i = 0; i < 300; i++) {
		int fd = hx_tcp_connect(port);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(20000);
	}
	return -1;
}

static __attribute__((unused)) long long ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#ifdef PORTAL_APP_HTTP
/* A file of `mib` MiB of pseudo-random bytes. */
static const char *make_file(const char *name, size_t mib)
{
	static char path[4096];
	static uint8_t buf[1 << 20];
	uint32_t seed = 12345;
	snprintf(path, sizeof(path), "%s/www/%s", hx_dir(H), name);
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (size_t m = 0; m < mib; m++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (uint8_t)(seed >> 16);
		}
		CU_ASSERT_FATAL(fwrite(buf, 1, sizeof(buf), f) == sizeof(buf));
	}
	fclose(f);
	return path;
}

static struct hx_proc *start_http(int *port)
{
	char dir[4096], portstr[16];
	snprintf(dir, sizeof(dir), "%s/www", hx_dir(H));
	CU_ASSERT_FATAL(hx_write_file(H, "www/index.html",
		"<html><body>Hello through the portal!</body></html>\n") != NULL ||
		1);
	*port = free_port();
	snprintf(portstr, sizeof(portstr), "%d", *port);
	const char *argv[] = { portal_which("python3"), "-m", "http.server",
			       "--bind", "127.0.0.1", "--directory", dir,
			       portstr, NULL };
	struct hx_proc *p = hx_spawn(H, "http_server", argv, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(service_up(*port), 0);
	return p;
}

static void mkdir_www(void)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/www", hx_dir(H));
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
}

static int run(const char *label, const char *const argv[],
	       struct hx_proc **out, int timeout_ms)
{
	struct hx_proc *p = hx_spawn(H, label, argv, NULL);
	if (out)
		*out = p;
	return p ? hx_wait_exit(p, timeout_ms) : -2;
}

/* The tutorial as the README tells it: curl on the inlet's port prints
 * the page the server behind the outlet serves; then a 50 MiB file
 * arrives whole (its sha256 matches the server's copy). */
static void test_http(void)
{
	struct portal_trio t;
	struct hx_proc *curl, *sum;
	int port;
	char url[256], out[4096], a[128], b[128];

	integ_begin("portal_http");
	mkdir_www();
	struct hx_proc *http = start_http(&port);
	portal_start_trio(port, &t);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/index.html", t.inlet_port);
	const char *page[] = { portal_which("curl"), "-sS", url, NULL };
	CU_ASSERT_EQUAL(run("curl_page", page, &curl, 30000), 0);
	CU_ASSERT(integ_contains(hx_read(curl, HX_STDOUT),
				 "Hello through the portal!"));

	const char *big = make_file("big.bin", 50);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big.bin", t.inlet_port);
	snprintf(out, sizeof(out), "%s/got.bin", hx_dir(H));
	const char *get[] = { portal_which("curl"), "-sS", "-o", out, url, NULL };
	long long t0 = ms_now();
	CU_ASSERT_EQUAL(run("curl_big", get, &curl, 120000), 0);
	fprintf(stderr, "50 MiB through the portal in %lld ms\n", ms_now() - t0);
	const char *s1[] = { portal_which("sha256sum"), big, NULL };
	CU_ASSERT_EQUAL(run("sha_server", s1, &sum, 30000), 0);
	CU_ASSERT(sscanf(hx_read(sum, HX_STDOUT), "%127s", a) == 1);
	const char *s2[] = { portal_which("sha256sum"), out, NULL };
	CU_ASSERT_EQUAL(run("sha_client", s2, &sum, 30000), 0);
	CU_ASSERT(sscanf(hx_read(sum, HX_STDOUT), "%127s", b) == 1);
	CU_ASSERT_STRING_EQUAL(a, b);

	portal_stop_trio(&t);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.inlet, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.middle, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.outlet, HX_STDERR), NULL), 0);
	hx_stop(http, HX_EXIT_MS);
}

/* The server is killed (SIGKILL) in the middle of a download: curl ends
 * promptly, reporting the transfer cut short, and both ends of the portal
 * say in one line that the service closed the connection. */
static void test_http_killed(void)
{
	struct portal_trio t;
	int port;
	char url[256];

	integ_begin("portal_http_killed");
	mkdir_www();
	make_file("big.bin", 50);
	struct hx_proc *http = start_http(&port);
	portal_start_trio(port, &t);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big.bin", t.inlet_port);
	const char *get[] = { portal_which("curl"), "-sS", "--limit-rate", "5M",
			      "-o", "/dev/null", url, NULL };
	struct hx_proc *curl = hx_spawn(H, "curl", get, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(curl);
	/* Mid-stream: the server has logged the request and curl runs. */
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(http, HX_STDERR, "GET /big.bin", 1,
					   15000, NULL, 0), 0);
	usleep(500000);
	CU_ASSERT_FATAL(hx_running(curl));
	kill(hx_pid(http), SIGKILL);
	long long t0 = ms_now();
	int rc = hx_wait_exit(curl, 15000);
	fprintf(stderr, "curl exited %d, %lld ms after the server was killed\n",
		rc, ms_now() - t0);
	CU_ASSERT_EQUAL(rc, 18); /* "partial file" */
	CU_ASSERT(ms_now() - t0 < 10000);
	CU_ASSERT_EQUAL(hx_wait_line(t.outlet, HX_STDERR,
				     "closed by the service", 1, 5000, NULL, 0), 0);
	CU_ASSERT_EQUAL(hx_wait_line(t.inlet, HX_STDERR,
				     "closed by the service", 1, 5000, NULL, 0), 0);
	portal_stop_trio(&t);
}
#endif

#ifdef PORTAL_APP_IPERF3
/* iperf3, 2 s each way (and with 20 streams at once), through the
 * portal: every run completes, and no stream is lost on the way (no
 * warning on any node: many busy streams must not overfill the queues
 * between the two ends). */
static void iperf_once(int reverse, const char *parallel)
{
	struct portal_trio t;
	char sport[16], cport[16];
	int port = free_port();

	snprintf(sport, sizeof(sport), "%d", port);
	const char *srv[] = { portal_which("iperf3"), "-s", "--forceflush",
			      "-p", sport, "-B", "127.0.0.1", NULL };
	struct hx_proc *s = hx_spawn(H, "iperf3_server", srv, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(hx_wait_line(s, HX_STDOUT, "Server listening", 1,
					   15000, NULL, 0), 0);
	portal_start_trio(port, &t);
	snprintf(cport, sizeof(cport), "%d", t.inlet_port);
	const char *cl[] = { portal_which("iperf3"), "-c", "127.0.0.1", "-p",
			     cport, "-t", "2", reverse ? "-R" : "-4",
			     parallel ? "-P" : NULL, parallel, NULL };
	struct hx_proc *c = hx_spawn(H, "iperf3_client", cl, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(hx_wait_exit(c, 60000), 0);
	CU_ASSERT(integ_contains(hx_read(c, HX_STDOUT), "receiver"));
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.inlet, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.middle, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.outlet, HX_STDERR), NULL), 0);
	char line[256];
	if (hx_find_line(hx_read(c, HX_STDOUT), parallel ? "[SUM]" : "receiver",
			 line, sizeof(line)) == 0)
		fprintf(stderr, "iperf3%s%s: %s\n", reverse ? " -R" : "",
			parallel ? " -P" : "", line);
	portal_stop_trio(&t);
	hx_stop(s, HX_EXIT_MS);
}

static void test_iperf3(void)
{
	integ_begin("portal_iperf3");
	iperf_once(0, NULL);
}

static void test_iperf3_reverse(void)
{
	integ_begin("portal_iperf3_reverse");
	iperf_once(1, NULL);
}

static void test_iperf3_parallel(void)
{
	integ_begin("portal_iperf3_parallel");
	iperf_once(0, "20");
}
#endif

#ifdef PORTAL_APP_REDIS
/* redis-benchmark's default suite (50 clients, 20,000 requests per
 * command) against redis-server through the portal: every command runs
 * to its end, none fails. */
static void test_redis(void)
{
	struct portal_trio t;
	char sport[16], cport[16];
	int port = free_port();

	integ_begin("portal_redis");
	snprintf(sport, sizeof(sport), "%d", port);
	const char *srv[] = { portal_which("redis-server"), "--port", sport,
			      "--bind", "127.0.0.1", "--save", "",
			      "--appendonly", "no", "--dir", hx_dir(H), NULL };
	struct hx_proc *s = hx_spawn(H, "redis_server", srv, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(service_up(port), 0);
	portal_start_trio(port, &t);
	snprintf(cport, sizeof(cport), "%d", t.inlet_port);
	const char *cl[] = { portal_which("redis-benchmark"), "-h", "127.0.0.1",
			     "-p", cport, "-q", "-n", "20000", NULL };
	struct hx_proc *c = hx_spawn(H, "redis_benchmark", cl, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(hx_wait_exit(c, 240000), 0);
	const char *o = hx_read(c, HX_STDOUT);
	unsigned done = integ_lines(o, "requests per second");
	fprintf(stderr, "redis-benchmark: %u commands\n%s\n", done, o);
	CU_ASSERT(done >= 15);
	CU_ASSERT(strstr(o, "rror") == NULL);
	CU_ASSERT(strstr(hx_read(c, HX_STDERR), "rror") == NULL);
	portal_stop_trio(&t);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.inlet, HX_STDERR), NULL), 0);
	CU_ASSERT_EQUAL(integ_count_problems(hx_read(t.outlet, HX_STDERR), NULL), 0);
	hx_stop(s, HX_EXIT_MS);
}
#endif

int main(void)
{
	static const struct integ_test tests[] = {
#ifdef PORTAL_APP_HTTP
		{ "portal_http", test_http },
		{ "portal_http_killed", test_http_killed },
#endif
#ifdef PORTAL_APP_IPERF3
		{ "portal_iperf3", test_iperf3 },
		{ "portal_iperf3_reverse", test_iperf3_reverse },
		{ "portal_iperf3_parallel", test_iperf3_parallel },
#endif
#ifdef PORTAL_APP_REDIS
		{ "portal_redis", test_redis },
#endif
		{ NULL, NULL },
	};
	static const char *const need[] = {
#ifdef PORTAL_APP_HTTP
		"curl", "python3", "sha256sum",
#endif
#ifdef PORTAL_APP_IPERF3
		"iperf3",
#endif
#ifdef PORTAL_APP_REDIS
		"redis-server", "redis-benchmark",
#endif
		NULL,
	};
	int rc = portal_need(need);
	if (rc)
		return rc;
	return integ_run("integration", tests);
}
