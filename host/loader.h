/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding and opening plugins.  A plugin of type T is the file T.so in one
 * of the search directories (or T/T.so, the build tree's layout).  Opening
 * checks, in order: dlopen (RTLD_NOW|RTLD_LOCAL), the entry symbol, the
 * descriptor's ABI version (an ABI 1 plugin is refused with one line
 * saying to rebuild it) and size (at least this ABI's descriptor), its
 * name and the mandatory ops.
 * Every error names the file.
 */
#ifndef OCKAM_HOST_LOADER_H
#define OCKAM_HOST_LOADER_H

#include <stddef.h>

#include <ockam/plugin.h>

struct plugin_lib {
	char *path;
	void *handle;
	/* The plugin's descriptor copied into the host's layout: fields a
	 * longer one (a later minor version) adds are not seen.  desc points
	 * at it. */
	const struct ockam_plugin *desc;
	struct ockam_plugin desc_copy;
};

/* The search path: `dirs` (from the config), then OCKAM_PLUGIN_PATH
 * (colon-separated), then the build tree when this binary runs from it,
 * then the install directory.  Returns a NULL-terminated malloc'd array of
 * malloc'd strings. */
char **loader_search_path(const char *const *dirs, size_t n);
void loader_search_path_free(char **path);
/* Nonzero if this binary runs from its own build tree (so build-tree
 * plugins and the source tree's data files apply). */
int loader_running_from_build_tree(void);

/* Find T.so; 0 and the path in `out`, or -ENOENT. */
int loader_find(char *const *search, const char *type, char *out,
		size_t out_len);
/* The plugin types loader_find would find in `search` (T.so or T/T.so in
 * each directory, at most 256), as a NULL-terminated array for
 * opt_suggest; free with loader_search_path_free.  NULL if out of memory. */
char **loader_list(char *const *search);

/* Open `path` and check it.  `expect_name` may be NULL.  On error writes a
 * message starting with the path to `err` and returns NULL. */
struct plugin_lib *loader_open(const char *path, const char *expect_name,
			       char *err, size_t err_len);
void loader_close(struct plugin_lib *lib);

const char *plugin_kind_name(enum ockam_plugin_kind kind);

#endif
