/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a node description into memory: once, bounded in size and in
 * time.  The path comes from the command line or the environment and may
 * name a pipe (`ockam-host <(envsubst < node.yaml)`), a device or a
 * directory; none of them may hang the host or make it read without end.
 * Everything after this works on the copy in memory (the error excerpts
 * too), so the file is never opened twice.
 */
#ifndef OCKAM_HOST_READFILE_H
#define OCKAM_HOST_READFILE_H

#include <stddef.h>

/* The largest node description read (1 MiB: hundreds of times any real
 * one); a longer file or device is refused. */
#define READFILE_MAX ((size_t)1 << 20)
/* A pipe or device that gives nothing for this long is given up on (a
 * named pipe nobody writes to, a terminal). */
#define READFILE_IDLE_MS 10000

/* Read all of `path` (at most `max` bytes, waiting at most `idle_ms` for
 * each read of a pipe or device) into a malloc'd, NUL-terminated *text of
 * *len bytes.  A directory is refused.  Returns 0, or -1 with the reason
 * in `err` (to be shown as "<path>: <reason>"). */
int readfile(const char *path, size_t max, int idle_ms, char **text,
	     size_t *len, char *err, size_t err_len);

#endif
