/* SPDX-License-Identifier: Apache-2.0 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef OCKAM_PLUGIN_INSTALL_DIR
#define OCKAM_PLUGIN_INSTALL_DIR "/usr/local/lib/ockam/plugins"
#endif

const char *plugin_kind_name(enum ockam_plugin_kind kind)
{
	switch (kind) {
	case OCKAM_PLUGIN_WORKER:
		return "worker";
	case OCKAM_PLUGIN_TRANSPORT:
		return "transport";
	case OCKAM_PLUGIN_SECURE_CHANNEL:
		return "secure channel";
	}
	return "unknown";
}

static int path_push(char ***v, size_t *n, const char *dir, size_t len)
{
	if (len == 0)
		return 0;
	char *s = strndup(dir, len);
	char **nv = realloc(*v, (*n + 2) * sizeof(**v));
	if (!s || !nv) {
		free(s);
		if (nv)
			*v = nv;
		return -ENOMEM;
	}
	*v = nv;
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
	return 0;
}

/* The build tree is searched only by a binary that lives in it, so an
 * installed ockam-host never picks up stale development plugins. */
int loader_running_from_build_tree(void)
{
#ifdef OCKAM_BUILD_ROOT
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = '\0';
	size_t rl = strlen(OCKAM_BUILD_ROOT);
	return strncmp(exe, OCKAM_BUILD_ROOT, rl) == 0 && exe[rl] == '/';
#else
	return 0;
#endif
}

char **loader_search_path(const char *const *dirs, size_t n)
{
	char **v = calloc(1, sizeof(*v));
	size_t count = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (path_push(&v, &count, dirs[i], strlen(dirs[i])) < 0)
			goto fail;
	const char *env = getenv("OCKAM_PLUGIN_PATH");
	while (env && *env) {
		const char *colon = strchr(env, ':');
		size_t len = colon ? (size_t)(colon - env) : strlen(env);
		if (path_push(&v, &count, env, len) < 0)
			goto fail;
		env += len + (colon ? 1 : 0);
	}
#ifdef OCKAM_BUILD_ROOT
	if (loader_running_from_build_tree()) {
		const char *b = OCKAM_BUILD_ROOT "/plugins";
		if (path_push(&v, &count, b, strlen(b)) < 0)
			goto fail;
	}
#endif
	if (path_push(&v, &count, OCKAM_PLUGIN_INSTALL_DIR,
		      strlen(OCKAM_PLUGIN_INSTALL_DIR)) < 0)
		goto fail;
	return v;
fail:
	loader_search_path_free(v);
	return NULL;
}

void loader_search_path_free(char **path)
{
	for (size_t i = 0; path && path[i]; i++)
		free(path[i]);
	free(path);
}

static int file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int loader_find(char *const *search, const char *type, char *out,
		size_t out_len)
{
	for (size_t i = 0; search && search[i]; i++) {
		int n = snprintf(out, out_len, "%s/%s.so", search[i], type);
		if (n > 0 && (size_t)n < out_len && file_exists(out))
			return 0;
		n = snprintf(out, out_len, "%s/%s/%s.so", search[i], type, type);
		if (n > 0 && (size_t)n < out_len && file_exists(out))
			return 0;
	}
	return -ENOENT;
}

/* Bounds the work a did-you-mean does over a crowded directory. */
#define LOADER_LIST_MAX 256

char **loader_list(char *const *search)
{
	char **v = calloc(1, sizeof(*v));
	size_t count = 0;
	char path[PATH_MAX];

	if (!v)
		return NULL;
	for (size_t i = 0; search && search[i]; i++) {
		DIR *d = opendir(search[i]);
		struct dirent *e;
		if (!d)
			continue;
		while (count < LOADER_LIST_MAX && (e = readdir(d)) != NULL) {
			const char *name = e->d_name;
			size_t len = strlen(name);
			if (name[0] == '.')
				continue;
			if (len > 3 && !strcmp(name + len - 3, ".so"))
				len -= 3;
			else if (snprintf(path, sizeof(path), "%s/%s/%s.so",
					  search[i], name, name) >=
					 (int)sizeof(path) ||
				 !file_exists(path))
				continue;
			if (path_push(&v, &count, name, len) < 0) {
				closedir(d);
				loader_search_path_free(v);
				return NULL;
			}
		}
		closedir(d);
	}
	return v;
}

struct plugin_lib *loader_open(const char *path, const char *expect_name,
			       char *err, size_t err_len)
{
	/* dlopen() of a bare name would search the system paths. */
	char full[PATH_MAX];
	if (!strchr(path, '/'))
		snprintf(full, sizeof(full), "./%s", path);
	else
		snprintf(full, sizeof(full), "%s", path);

	if (!file_exists(full)) {
		snprintf(err, err_len, "%s: no such plugin file", path);
		return NULL;
	}
	dlerror();
	void *h = dlopen(full, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		if (!why)
			why = "unknown error";
		/* dlerror() often repeats the path; say it once. */
		size_t fl = strlen(full);
		if (strncmp(why, full, fl) == 0 && why[fl] == ':')
			why += fl + 1 + (why[fl + 1] == ' ');
		snprintf(err, err_len, "%s: cannot load plugin: %s", path, why);
		return NULL;
	}
	ockam_plugin_entry_fn entry;
	/* POSIX's blessed way to turn a dlsym() result into a function
	 * pointer without a pedantic warning. */
	*(void **)(&entry) = dlsym(h, OCKAM_PLUGIN_ENTRY_SYMBOL);
	const struct ockam_plugin *d = NULL;
	if (!entry) {
		snprintf(err, err_len,
			 "%s: not an ockam-host plugin: no '%s' symbol exported",
			 path, OCKAM_PLUGIN_ENTRY_SYMBOL);
		goto fail;
	}
	d = entry();
	if (!d) {
		snprintf(err, err_len, "%s: %s() returned no descriptor", path,
			 OCKAM_PLUGIN_ENTRY_SYMBOL);
		goto fail;
	}
	/* Only the first two fields are read before the version is known:
	 * every ABI keeps them first. */
	if (d->abi_version == 1) {
		/* ABI 1 messages and descriptors have another layout
		 * altogether: nothing of it can be loaded. */
		snprintf(err, err_len,
			 "%s: this plugin was built for plugin ABI 1; this host speaks ABI %u: rebuild it against this host's headers (pkg-config ockam-plugin)",
			 path, OCKAM_PLUGIN_ABI_VERSION);
		goto fail;
	}
	if (d->abi_version != OCKAM_PLUGIN_ABI_VERSION) {
		snprintf(err, err_len,
			 "%s: plugin ABI version %u, but this host speaks version %u: rebuild the plugin against this host's headers",
			 path, d->abi_version, OCKAM_PLUGIN_ABI_VERSION);
		goto fail;
	}
	/* One descriptor per major version: later minor versions may only
	 * append to it, so it is never shorter than this host's. */
	if (d->struct_size < sizeof(struct ockam_plugin)) {
		snprintf(err, err_len,
			 "%s: plugin descriptor is %u bytes, smaller than the %zu bytes of ABI version %u: rebuild the plugin against this host's headers",
			 path, d->struct_size, sizeof(struct ockam_plugin),
			 OCKAM_PLUGIN_ABI_VERSION);
		goto fail;
	}
	if (!d->name || !d->name[0]) {
		snprintf(err, err_len, "%s: plugin descriptor has no name", path);
		goto fail;
	}
	if (expect_name && strcmp(d->name, expect_name) != 0) {
		snprintf(err, err_len,
			 "%s: plugin calls itself '%.64s', expected '%s'", path,
			 d->name, expect_name);
		goto fail;
	}
	if (d->kind != OCKAM_PLUGIN_WORKER && d->kind != OCKAM_PLUGIN_TRANSPORT &&
	    d->kind != OCKAM_PLUGIN_SECURE_CHANNEL) {
		snprintf(err, err_len, "%s: unknown plugin kind %d", path,
			 (int)d->kind);
		goto fail;
	}
	const char *missing = NULL;
	if (!d->create)
		missing = "create";
	else if (!d->destroy)
		missing = "destroy";
	else if (!d->handle_message && d->kind != OCKAM_PLUGIN_TRANSPORT)
		missing = "handle_message";
	if (missing) {
		snprintf(err, err_len, "%s: plugin '%s' lacks the mandatory op '%s'",
			 path, d->name, missing);
		goto fail;
	}

	struct plugin_lib *lib = calloc(1, sizeof(*lib));
	if (lib)
		lib->path = strdup(path);
	if (!lib || !lib->path) {
		free(lib);
		snprintf(err, err_len, "%s: out of memory", path);
		goto fail;
	}
	lib->handle = h;
	/* What a later minor version appended is not ours to read. */
	memcpy(&lib->desc_copy, d, sizeof(lib->desc_copy));
	lib->desc = &lib->desc_copy;
	return lib;
fail:
	dlclose(h);
	return NULL;
}

void loader_close(struct plugin_lib *lib)
{
	if (!lib)
		return;
	/* Under LeakSanitizer, keep plugins mapped so leak reports can
	 * still name their functions. */
	if (!getenv("OCKAM_NO_DLCLOSE"))
		dlclose(lib->handle);
	free(lib->path);
	free(lib);
}
