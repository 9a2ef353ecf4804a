/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hosts file (/etc/hosts, or the `hosts_file` option) for the
 * resolver: read into memory on first use and again whenever it changes
 * (its mtime, size or inode; looked at no more than once a second), so a
 * lookup costs no I/O.  Reading a local file does not wait on the network.
 */
#include "tcp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dns_wire.h"

#define HOSTS_CHECK_MS 1000u
#define HOSTS_ENTRIES_MAX 8192u
#define HOSTS_LINE_MAX 4096

struct hosts_entry {
	char name[DNS_NAME_MAX + 1];
	union tcp_sockaddr addr;
};

struct tcp_hosts {
	char *path;
	int loaded;
	uint64_t checked_ms;
	struct timespec mtime;
	off_t size;
	ino_t ino;
	struct hosts_entry *e;
	size_t n, cap;
};

struct tcp_hosts *tcp_hosts_new(const char *path)
{
	struct tcp_hosts *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->path = strdup(path);
	if (!h->path) {
		free(h);
		return NULL;
	}
	return h;
}

void tcp_hosts_free(struct tcp_hosts *h)
{
	if (!h)
		return;
	free(h->e);
	free(h->path);
	free(h);
}

static int addr_parse(const char *text, union tcp_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, &out->in.sin_addr) == 1) {
		out->in.sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &out->in6.sin6_addr) == 1) {
		out->in6.sin6_family = AF_INET6;
		return 0;
	}
	return -1; /* with a zone id, or not an address: skipped */
}

static void entry_add(struct tcp_hosts *h, const char *name,
		      const union tcp_sockaddr *a)
{
	struct hosts_entry *e;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;

		if (cap > HOSTS_ENTRIES_MAX)
			return;
		e = realloc(h->e, cap * sizeof(*e));
		if (!e)
			return;
		h->e = e;
		h->cap = cap;
	}
	e = &h->e[h->n];
	if (dns_name_normalize(name, strlen(name), e->name) < 0)
		return;
	e->addr = *a;
	h->n++;
}

static void hosts_load(struct tcp_hosts *h)
{
	char line[HOSTS_LINE_MAX];
	FILE *f = fopen(h->path, "re");

	h->n = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok, *hash = strchr(line, '#');
		union tcp_sockaddr a;

		if (hash)
			*hash = '\0';
		tok = strtok_r(line, " \t\r\n", &save);
		if (!tok || addr_parse(tok, &a) < 0)
			continue;
		while ((tok = strtok_r(NULL, " \t\r\n", &save)))
			entry_add(h, tok, &a);
	}
	fclose(f);
}

/* Re-read the file if it changed since it was last read. */
static void hosts_refresh(struct tcp_hosts *h, uint64_t now_ms)
{
	struct stat st;

	if (h->loaded && now_ms - h->checked_ms < HOSTS_CHECK_MS)
		return;
	h->checked_ms = now_ms;
	if (stat(h->path, &st) < 0) {
		h->n = 0; /* gone: no names */
		h->loaded = 1;
		return;
	}
	if (h->loaded && st.st_mtim.tv_sec == h->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == h->mtime.tv_nsec && st.st_size == h->size &&
	    st.st_ino == h->ino)
		return;
	h->mtime = st.st_mtim;
	h->size = st.st_size;
	h->ino = st.st_ino;
	h->loaded = 1;
	hosts_load(h);
}

int tcp_hosts_lookup(struct tcp_hosts *h, uint64_t now_ms, const char *name,
		     struct tcp_addrs *out)
{
	size_t i;

	hosts_refresh(h, now_ms);
	out->n = 0;
	for (i = 0; i < h->n && out->n < TCP_ADDRS_MAX; i++)
		if (strcmp(h->e[i].name, name) == 0)
			out->a[out->n++] = h->e[i].addr;
	return out->n > 0;
}
