/* SPDX-License-Identifier: Apache-2.0 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef HX_DEFAULT_HOST
#define HX_DEFAULT_HOST "ockam-host"
#endif

/* How long one poll waits between looks at a capture file or the child. */
#define HX_POLL_MS 5
/* How much of each stream hx_end(dump) prints. */
#define HX_DUMP_MAX 16384

struct hx_capture {
	char *path;
	char *text; /* last read, NUL-terminated */
};

struct hx_proc {
	struct hx *h;
	char label[64];
	pid_t pid;
	int exited; /* reaped */
	int result; /* exit status, 128 + signal, or HX_TIMEOUT */
	struct hx_capture cap[3]; /* indexed by enum hx_stream */
};

struct hx {
	char *dir;
	struct hx_proc **procs;
	size_t n_procs;
	char **files;
	size_t n_files;
};

/* Tests still open, so that an exit() in the middle of one (a fatal
 * assertion outside CUnit, a crash handler) still kills the children. */
#define HX_LIVE_MAX 8
static struct hx *hx_live[HX_LIVE_MAX];
static int hx_atexit_done;

static void hx_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void hx_report(const char *fmt, ...)
{
	va_list ap;

	fputs("harness: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Microseconds: deadlines kept in whole milliseconds truncate both ends
 * and can give up up to 1 ms early, which a caller timing us notices. */
static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void pause_poll(void)
{
	struct timespec ts = { 0, HX_POLL_MS * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static void live_remove(struct hx *h)
{
	for (size_t i = 0; i < HX_LIVE_MAX; i++)
		if (hx_live[i] == h)
			hx_live[i] = NULL;
}

static void live_end_all(void)
{
	for (size_t i = 0; i < HX_LIVE_MAX; i++)
		if (hx_live[i])
			hx_end(hx_live[i], 0);
}

struct hx *hx_begin(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	struct hx *h;
	size_t slot;

	for (slot = 0; slot < HX_LIVE_MAX && hx_live[slot]; slot++)
		;
	if (slot == HX_LIVE_MAX) {
		hx_report("too many tests open at once (missing hx_end?)");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->dir = str_printf("%s/ockam-integ-%s-XXXXXX",
			    tmp && *tmp ? tmp : "/tmp", name);
	if (!h->dir || !mkdtemp(h->dir)) {
		hx_report("cannot create temp dir for %s: %s", name,
			  strerror(errno));
		free(h->dir);
		free(h);
		return NULL;
	}
	if (!hx_atexit_done) {
		atexit(live_end_all);
		hx_atexit_done = 1;
	}
	hx_live[slot] = h;
	return h;
}

const char *hx_dir(const struct hx *h)
{
	return h->dir;
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
			struct FTW *ftw)
{
	if (remove(path) < 0)
		hx_report("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

static void proc_reap(struct hx_proc *p, int status)
{
	p->exited = 1;
	if (WIFEXITED(status))
		p->result = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		p->result = 128 + WTERMSIG(status);
	else
		p->result = 255;
}

static void proc_kill(struct hx_proc *p)
{
	int status;

	if (p->exited)
		return;
	kill(p->pid, SIGKILL);
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	p->exited = 1;
	p->result = HX_TIMEOUT;
}

static void proc_dump(struct hx_proc *p)
{
	static const char *const names[] = { NULL, "stdout", "stderr" };

	for (int s = HX_STDOUT; s <= HX_STDERR; s++) {
		const char *text = hx_read(p, (enum hx_stream)s);
		size_t len = strlen(text);

		fprintf(stderr, "---- %s %s (pid %ld, %s) ----\n", p->label,
			names[s], (long)p->pid,
			p->exited ? "exited" : "running");
		if (len > HX_DUMP_MAX) {
			fprintf(stderr, "[... %zu bytes before ...]\n",
				len - HX_DUMP_MAX);
			text += len - HX_DUMP_MAX;
		}
		fputs(text, stderr);
		if (len && text[strlen(text) - 1] != '\n')
			fputc('\n', stderr);
	}
}

void hx_end(struct hx *h, int dump)
{
	if (!h)
		return;
	live_remove(h);
	for (size_t i = 0; i < h->n_procs; i++)
		proc_kill(h->procs[i]);
	for (size_t i = 0; dump && i < h->n_procs; i++)
		proc_dump(h->procs[i]);
	for (size_t i = 0; i < h->n_procs; i++) {
		for (int s = HX_STDOUT; s <= HX_STDERR; s++) {
			free(h->procs[i]->cap[s].path);
			free(h->procs[i]->cap[s].text);
		}
		free(h->procs[i]);
	}
	for (size_t i = 0; i < h->n_files; i++)
		free(h->files[i]);
	if (nftw(h->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		hx_report("cannot clean %s: %s", h->dir, strerror(errno));
	free(h->procs);
	free(h->files);
	free(h->dir);
	free(h);
}

const char *hx_write_file(struct hx *h, const char *name, const char *text)
{
	char **files;
	char *path;
	FILE *f;
	int ok;

	files = realloc(h->files, (h->n_files + 1) * sizeof(*files));
	if (!files)
		return NULL;
	h->files = files;
	path = str_printf("%s/%s", h->dir, name);
	if (!path)
		return NULL;
	f = fopen(path, "w");
	if (!f) {
		hx_report("cannot write %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	ok = fputs(text, f) >= 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok) {
		hx_report("cannot write %s", path);
		free(path);
		return NULL;
	}
	h->files[h->n_files++] = path;
	return path;
}

const char *hx_host_path(void)
{
	const char *p = getenv("OCKAM_HOST");

	return p && *p ? p : HX_DEFAULT_HOST;
}

/* In the child, after fork: never returns. */
static void child_exec(const char *const argv[], const char *const env[],
		       int out, int err, int status_pipe, pid_t parent)
{
	sigset_t none;
	int in, e;

	/* Die with the test, even if it is killed with SIGKILL. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	in = open("/dev/null", O_RDONLY);
	if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		goto fail;
	for (size_t i = 0; env && env[i]; i++)
		if (putenv((char *)env[i]) != 0)
			goto fail;
	execv(argv[0], (char *const *)argv);
fail:
	e = errno;
	if (write(status_pipe, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int capture_open(struct hx_proc *p, enum hx_stream s, size_t index)
{
	static const char *const ext[] = { NULL, "stdout", "stderr" };
	int fd;

	p->cap[s].path = str_printf("%s/%zu-%s.%s", p->h->dir, index,
				    p->label, ext[s]);
	if (!p->cap[s].path)
		return -1;
	fd = open(p->cap[s].path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0600);
	if (fd < 0)
		hx_report("cannot create %s: %s", p->cap[s].path,
			  strerror(errno));
	return fd;
}

struct hx_proc *hx_spawn(struct hx *h, const char *label,
			 const char *const argv[], const char *const env[])
{
	struct hx_proc **procs, *p;
	int out = -1, err = -1, pipefd[2] = { -1, -1 };
	int child_errno = 0;
	ssize_t n;
	pid_t parent = getpid();

	procs = realloc(h->procs, (h->n_procs + 1) * sizeof(*procs));
	if (!procs)
		return NULL;
	h->procs = procs;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->h = h;
	p->exited = 1; /* until the fork succeeds: nothing to kill */
	snprintf(p->label, sizeof(p->label), "%s", label);
	h->procs[h->n_procs++] = p;

	out = capture_open(p, HX_STDOUT, h->n_procs);
	err = capture_open(p, HX_STDERR, h->n_procs);
	if (out < 0 || err < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
		goto fail;
	fflush(NULL); /* do not let the child flush our buffers too */
	p->pid = fork();
	if (p->pid < 0) {
		hx_report("fork for %s: %s", label, strerror(errno));
		goto fail;
	}
	if (p->pid == 0)
		child_exec(argv, env, out, err, pipefd[1], parent);
	p->exited = 0;
	close(pipefd[1]);
	pipefd[1] = -1;
	/* The pipe closes on a successful exec; otherwise it carries errno. */
	do
		n = read(pipefd[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(child_errno)) {
		hx_report("cannot run %s for %s: %s", argv[0], label,
			  strerror(child_errno));
		hx_wait_exit(p, HX_EXIT_MS);
		goto fail;
	}
	close(pipefd[0]);
	close(out);
	close(err);
	return p;
fail:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	return NULL;
}

struct hx_proc *hx_spawn_host(struct hx *h, const char *label,
			      const char *config, const char *const env[])
{
	const char *argv[] = { hx_host_path(), config, NULL };

	return hx_spawn(h, label, argv, env);
}

pid_t hx_pid(const struct hx_proc *p)
{
	return p->pid;
}

int hx_running(struct hx_proc *p)
{
	int status;
	pid_t r;

	if (p->exited)
		return 0;
	do
		r = waitpid(p->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == p->pid || r < 0) {
		if (r < 0) /* not our child any more: treat as gone */
			status = 255 << 8;
		proc_reap(p, status);
		return 0;
	}
	return 1;
}

int hx_wait_exit(struct hx_proc *p, int timeout_ms)
{
	long long deadline = now_us() + timeout_ms * 1000LL;

	while (hx_running(p)) {
		if (now_us() >= deadline) {
			hx_report("%s (pid %ld) still running after %d ms: "
				  "killed", p->label, (long)p->pid,
				  timeout_ms);
			proc_kill(p);
			break;
		}
		pause_poll();
	}
	return p->result;
}

int hx_stop(struct hx_proc *p, int timeout_ms)
{
	if (!hx_running(p)) {
		hx_report("%s (pid %ld) had already exited with status %d "
			  "before SIGTERM", p->label, (long)p->pid, p->result);
		return p->result;
	}
	kill(p->pid, SIGTERM);
	return hx_wait_exit(p, timeout_ms);
}

const char *hx_read(struct hx_proc *p, enum hx_stream stream)
{
	struct hx_capture *c = &p->cap[stream];
	char *text = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	fd = c->path ? open(c->path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		for (;;) {
			if (cap - len < 4096) {
				char *t = realloc(text, cap ? cap * 2 : 8192);

				if (!t)
					break;
				text = t;
				cap = cap ? cap * 2 : 8192;
			}
			n = read(fd, text + len, cap - len - 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		close(fd);
	}
	if (!text) {
		text = strdup("");
		if (!text)
			return "";
	}
	text[len] = '\0';
	free(c->text);
	c->text = text;
	return text;
}

static int line_matches(const char *line, size_t len,
			const char *const needles[])
{
	for (size_t i = 0; needles[i]; i++) {
		if (!memmem(line, len, needles[i], strlen(needles[i])))
			return 0;
	}
	return 1;
}

/* Count lines matching `needles`; a last line without '\n' counts only if
 * `partial`.  The `nth` match (1-based) is copied to out. */
static unsigned lines_scan(const char *text, const char *const needles[],
			   int partial, unsigned nth, char *out, size_t cap)
{
	unsigned count = 0;

	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		if (!nl && !partial)
			break;
		if (line_matches(text, len, needles)) {
			count++;
			if (count == nth && out && cap) {
				size_t k = len < cap - 1 ? len : cap - 1;

				memcpy(out, text, k);
				out[k] = '\0';
			}
		}
		text += len + (nl ? 1 : 0);
	}
	return count;
}

unsigned hx_count_lines(const char *text, const char *const needles[])
{
	return lines_scan(text, needles, 1, 0, NULL, 0);
}

int hx_find_line(const char *text, const char *needle, char *out, size_t cap)
{
	const char *const needles[] = { needle, NULL };

	return lines_scan(text, needles, 1, 1, out, cap) ? 0 : -1;
}

int hx_wait_line(struct hx_proc *p, enum hx_stream stream, const char *needle,
		 unsigned count, int timeout_ms, char *line, size_t cap)
{
	const char *const needles[] = { needle, NULL };
	long long deadline = now_us() + timeout_ms * 1000LL;
	unsigned seen;

	if (count == 0)
		count = 1;
	for (;;) {
		/* Look at the child first: once it has exited, the file
		 * holds everything it will ever write. */
		int running = hx_running(p);
		const char *text = hx_read(p, stream);

		seen = lines_scan(text, needles, !running, count, line, cap);
		if (seen >= count)
			return 0;
		if (!running) {
			hx_report("%s exited with status %d before printing "
				  "\"%s\" (%u of %u lines seen)", p->label,
				  p->result, needle, seen, count);
			return -1;
		}
		if (now_us() >= deadline) {
			hx_report("%s: no \"%s\" on %s within %d ms (%u of %u "
				  "lines seen)", p->label, needle,
				  stream == HX_STDOUT ? "stdout" : "stderr",
				  timeout_ms, seen, count);
			return -1;
		}
		pause_poll();
	}
}

int hx_wait_port(struct hx_proc *p, int timeout_ms)
{
	static const char key[] = "listening on 127.0.0.1:";
	char line[512];
	const char *at;
	char *end;
	long port;

	if (hx_wait_line(p, HX_STDERR, key, 1, timeout_ms, line,
			 sizeof(line)) < 0)
		return -1;
	at = strstr(line, key);
	if (!at)
		return -1;
	errno = 0;
	port = strtol(at + sizeof(key) - 1, &end, 10);
	if (errno || end == at + sizeof(key) - 1 || port <= 0 ||
	    port > 65535) {
		hx_report("%s: no port number in \"%s\"", p->label, line);
		return -1;
	}
	return (int)port;
}

int hx_tcp_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int hx_tcp_listen(int backlog, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (backlog > 0 && listen(fd, backlog) < 0) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}
