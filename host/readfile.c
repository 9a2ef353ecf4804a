/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded whole-file reads; see readfile.h.
 *
 * The file is opened non-blocking so that opening a named pipe nobody
 * writes to returns at once; every read is preceded by a poll with the
 * idle deadline.  Linux's poll on a FIFO opened that way waits for a
 * writer to connect (it reports no hang-up until one has), so a pipe
 * whose writer comes a moment later is still read whole.
 */
#include "readfile.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -1;
}

/* "1 MiB" for whole MiB, else bytes. */
static const char *size_text(size_t n, char *buf, size_t len)
{
	if (n >= ((size_t)1 << 20) && n % ((size_t)1 << 20) == 0)
		snprintf(buf, len, "%zu MiB", n >> 20);
	else
		snprintf(buf, len, "%zu bytes", n);
	return buf;
}

static int read_fd(int fd, size_t max, int idle_ms, size_t hint, char **text,
		   size_t *len, char *err, size_t err_len)
{
	char sz[32];
	size_t cap = hint < 4096 ? 4096 : hint, n = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return fail(err, err_len, "out of memory");
	for (;;) {
		if (n == cap) {
			/* One byte past the limit tells "too large" from
			 * "exactly the limit". */
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb;

			if (ncap <= cap)
				goto too_large;
			nb = realloc(buf, ncap + 1);
			if (!nb) {
				free(buf);
				return fail(err, err_len, "out of memory");
			}
			buf = nb;
			cap = ncap;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = poll(&pfd, 1, idle_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			free(buf);
			return fail(err, err_len,
				    "nothing to read for %d s (a pipe with no writer, or a terminal?); give the node YAML as a file or a pipe that is written to",
				    idle_ms / 1000);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return fail(err, err_len, "cannot read: %s",
				    strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			goto too_large;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
too_large:
	free(buf);
	return fail(err, err_len,
		    "larger than %s; a node description may be at most %s",
		    size_text(max, sz, sizeof(sz)), sz);
}

int readfile(const char *path, size_t max, int idle_ms, char **text,
	     size_t *len, char *err, size_t err_len)
{
	char sz[32];
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return fail(err, err_len, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return fail(err, err_len, "cannot open: %s", strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return fail(err, err_len,
			    "is a directory; give the node YAML file");
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (unsigned long long)st.st_size > max) {
		close(fd);
		return fail(err, err_len,
			    "is %lld bytes; a node description may be at most %s",
			    (long long)st.st_size,
			    size_text(max, sz, sizeof(sz)));
	}
	size_t hint = S_ISREG(st.st_mode) && st.st_size > 0 ?
			      (size_t)st.st_size + 1 : 0;
	int rc = read_fd(fd, max, idle_ms, hint, text, len, err, err_len);
	close(fd);
	return rc;
}
