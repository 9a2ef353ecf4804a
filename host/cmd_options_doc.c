/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ockam-host --options-doc TYPE...`: the option tables of plugins as
 * docs/configuration.md shows them, from the same declarations the host
 * validates with (tests/scripts/options_doc.py compares the two).
 */
#include <limits.h>
#include <string.h>

#include "cmd.h"
#include "loader.h"
#include "option_check.h"
#include "option_doc.h"

int cmd_options_doc(int n, char **types)
{
	char **search = loader_search_path(NULL, 0);
	char path[PATH_MAX], err[PATH_MAX + 256];
	int rc = 0;

	if (!search)
		return 1;
	if (n == 0)
		rc = cmd_usage_error("ockam-host",
				     "--options-doc needs plugin types or paths");
	for (int i = 0; i < n && rc == 0; i++) {
		const char *t = types[i];
		struct plugin_lib *lib = NULL;

		if (strchr(t, '/'))
			snprintf(path, sizeof(path), "%s", t);
		else if (loader_find(search, t, path, sizeof(path)) < 0) {
			fprintf(stderr, "ockam-host: no plugin '%s' in the plugin path\n",
				t);
			rc = 1;
			break;
		}
		lib = loader_open(path, strchr(t, '/') ? NULL : t, err,
				  sizeof(err));
		if (lib && option_table_check(lib->desc->options, err,
					      sizeof(err)) < 0) {
			loader_close(lib);
			lib = NULL;
		}
		if (!lib) {
			fprintf(stderr, "ockam-host: %s\n", err);
			rc = 1;
			break;
		}
		if (i)
			fputc('\n', stdout);
		option_doc_write(lib->desc, stdout);
		loader_close(lib);
	}
	loader_search_path_free(search);
	return rc;
}
