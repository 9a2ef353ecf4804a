/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ockam-host --check`: print the effective node description as YAML, so
 * people see what will run: ${VAR}s expanded (a literal '$' written '$$'),
 * every default filled in (the host's and the plugins' declared ones),
 * plugin directories and file options made absolute, every worker's
 * access: and reach:.  What it prints loads back to the same node (and
 * prints the same again).  Scalars that YAML could misread are
 * double-quoted, and a value that was quoted keeps its quotes where they
 * make it a string (prefix: "42"); routes are written in flow style, as
 * people write them.  --json writes the same tree as JSON (opt_json.c).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "opt.h"
#include "opt_json.h"

static int plain_ok(const char *s)
{
	static const char *const nulls[] = { "null", "Null", "NULL", "~" };

	if (!*s || strchr("-:?", s[0]))
		return 0;
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(s, nulls[i]))
			return 0; /* would read back as null, not a string */
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("_./:@+-", *c)))
			return 0;
	return 1;
}

/* Would a plain `s` read back as something other than a string (42,
 * true, null, 1.5)? */
static int looks_typed(const char *s)
{
	struct ockam_opt o = { .kind = OCKAM_OPT_SCALAR, .plain = 1,
			       .str = (char *)s, .len = strlen(s) };
	return opt_plain_type(&o) != NULL;
}

static void put_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c == '$')
			fputs("$$", out); /* not a ${VAR} when read back */
		else if (*c == '\n')
			fputs("\\n", out);
		else if (*c == '\t')
			fputs("\\t", out);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(out, "\\x%02x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

/* A string: quoted if YAML would read it plain as another type. */
static void put_scalar(FILE *out, const char *s)
{
	if (plain_ok(s) && !looks_typed(s))
		fputs(s, out);
	else
		put_quoted(out, s);
}

/* A value as the tree holds it: plain if it was plain (a plain 42 is a
 * number), else a string (a quoted "42" keeps its quotes). */
static void put_dir(FILE *out, const char *dir);

static void put_opt_scalar(FILE *out, const struct ockam_opt *o)
{
	if (o->is_path && o->str[0] != '/') {
		/* Relative to the YAML file: absolute, so the output means
		 * the same file wherever it is loaded from. */
		const char *slash = strrchr(o->file, '/');
		char *full = NULL;
		if (slash &&
		    asprintf(&full, "%.*s/%s", (int)(slash - o->file), o->file,
			     o->str) > 0)
			put_dir(out, full);
		else
			put_dir(out, o->str);
		free(full);
	} else if (o->is_null)
		fputs("null", out);
	else if (o->plain && plain_ok(o->str))
		fputs(o->str, out);
	else
		put_scalar(out, o->str);
}

static int all_scalars(const struct ockam_opt *o)
{
	for (size_t i = 0; i < o->count; i++)
		if (o->items[i]->kind != OCKAM_OPT_SCALAR)
			return 0;
	return 1;
}

/* Write the value `o` after "key:" (a space or a newline follows). */
static void put_value(FILE *out, const struct ockam_opt *o, int indent);

static void put_flow_list(FILE *out, const struct ockam_opt *o)
{
	fputc('[', out);
	for (size_t i = 0; i < o->count; i++) {
		if (i)
			fputs(", ", out);
		put_opt_scalar(out, o->items[i]);
	}
	fputc(']', out);
}

static void put_value(FILE *out, const struct ockam_opt *o, int indent)
{
	if (o->kind == OCKAM_OPT_SCALAR) {
		fputc(' ', out);
		put_opt_scalar(out, o);
		fputc('\n', out);
	} else if (o->count == 0) {
		fputs(o->kind == OCKAM_OPT_MAP ? " {}\n" : " []\n", out);
	} else if (o->kind == OCKAM_OPT_LIST && all_scalars(o)) {
		fputc(' ', out);
		put_flow_list(out, o);
		fputc('\n', out);
	} else if (o->kind == OCKAM_OPT_LIST) {
		fputc('\n', out);
		for (size_t i = 0; i < o->count; i++) {
			const struct ockam_opt *it = o->items[i];
			fprintf(out, "%*s-", indent, "");
			if (it->kind == OCKAM_OPT_MAP && it->count) {
				/* "- key: value" then the rest aligned. */
				for (size_t j = 0; j < it->count; j++) {
					fprintf(out, "%*s", j ? indent + 2 : 1, "");
					put_scalar(out, it->keys[j]->str);
					fputc(':', out);
					put_value(out, it->items[j], indent + 4);
				}
			} else {
				put_value(out, it, indent + 2);
			}
		}
	} else {
		fputc('\n', out);
		for (size_t i = 0; i < o->count; i++) {
			fprintf(out, "%*s", indent, "");
			put_scalar(out, o->keys[i]->str);
			fputc(':', out);
			put_value(out, o->items[i], indent + 2);
		}
	}
}

static void put_duration(FILE *out, uint64_t ms)
{
	unsigned long long v = (unsigned long long)ms;
	if (v && v % 3600000 == 0)
		fprintf(out, "%lluh", v / 3600000);
	else if (v && v % 60000 == 0)
		fprintf(out, "%llum", v / 60000);
	else if (v && v % 1000 == 0)
		fprintf(out, "%llus", v / 1000);
	else
		fprintf(out, "%llums", v);
}

/* plugin_dir entries as absolute paths: the output must mean the same
 * wherever it is loaded from. */
static void put_dir(FILE *out, const char *dir)
{
	char cwd[PATH_MAX], *full = NULL;

	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
	    asprintf(&full, "%s/%s", cwd, dir) > 0)
		dir = full;
	put_scalar(out, dir);
	free(full);
}

static void print_yaml(const struct config *c, FILE *out)
{
	static const char *const levels[] = { "error", "warn", "info", "debug",
					      "trace" };
	const struct ockam_opt *status = opt_get(c->root, "status");

	fputs("# effective configuration (variables expanded, defaults filled in)\n",
	      out);
	fputs("node: ", out);
	put_scalar(out, c->node_name);
	fprintf(out, "\nlog_level: %s\n",
		levels[c->log_level >= 0 && c->log_level <= 4 ? c->log_level : 2]);
	if (c->n_plugin_dirs) {
		fputs("plugin_dir:\n", out);
		for (size_t i = 0; i < c->n_plugin_dirs; i++) {
			fputs("  - ", out);
			put_dir(out, c->plugin_dirs[i]);
			fputc('\n', out);
		}
	}
	fputs("status:", out);
	if (status)
		put_value(out, status, 2);
	else
		fputs(" false\n", out);

	fputs(c->n_transports ? "transports:\n" : "transports: {}\n", out);
	for (size_t i = 0; i < c->n_transports; i++) {
		fputs("  ", out);
		put_scalar(out, c->transports[i].name);
		fputc(':', out);
		if (c->transports[i].options)
			put_value(out, c->transports[i].options, 4);
		else
			fputs(" {}\n", out);
	}
	fputs(c->n_workers ? "workers:\n" : "workers: {}\n", out);
	for (size_t i = 0; i < c->n_workers; i++) {
		const struct config_instance *w = &c->workers[i];
		fputs("  ", out);
		put_scalar(out, w->name);
		fputs(":\n    type: ", out);
		put_scalar(out, w->type);
		fputs("\n    options:", out);
		if (w->options)
			put_value(out, w->options, 6);
		else
			fputs(" {}\n", out);
		/* Access control is part of what runs: a copy of this output
		 * must not lose it. */
		fputs("    access: ", out);
		if (w->access == CONFIG_ACCESS_IDENTIFIERS) {
			fputc('[', out);
			for (size_t j = 0; j < w->n_access_ids; j++) {
				if (j)
					fputs(", ", out);
				put_scalar(out, w->access_ids[j]);
			}
			fputs("]\n", out);
		} else {
			fputs(w->access == CONFIG_ACCESS_SECURE ? "secure_channel\n"
								: "anyone\n",
			      out);
		}
		if (!w->n_reach)
			fputs("    # reach: not limited (no reach: given)\n",
			      out);
		if (w->n_reach) {
			fputs("    reach: [", out);
			for (size_t j = 0; j < w->n_reach; j++) {
				if (j)
					fputs(", ", out);
				put_scalar(out, w->reach[j]);
			}
			fputs("]\n", out);
		}
	}
	fputs(c->n_routes ? "routes:\n" : "routes: {}\n", out);
	for (size_t i = 0; i < c->n_routes; i++) {
		fputs("  ", out);
		put_scalar(out, c->routes[i].name);
		fputs(": ", out);
		put_flow_list(out, c->routes[i].route);
		fputc('\n', out);
	}
	fputs(c->n_messages ? "messages:\n" : "messages: []\n", out);
	for (size_t i = 0; i < c->n_messages; i++) {
		const struct config_message *m = &c->messages[i];
		fputs("  - route: ", out);
		if (m->route)
			put_flow_list(out, m->route);
		else
			put_scalar(out, m->route_name);
		fputs("\n    payload: ", out);
		put_scalar(out, m->payload);
		fprintf(out, "\n    reply: %s\n    timeout: ",
			m->want_reply ? "true" : "false");
		put_duration(out, m->timeout_ms);
		fputc('\n', out);
	}
	fprintf(out, "after_messages: %s\n",
		c->after_messages == CONFIG_AFTER_RUN ? "run" : "exit");
}

void cmd_check_print(const struct config *c, FILE *out, int json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	struct ockam_opt *tree;
	struct diag d;

	if (!json) {
		print_yaml(c, out);
		return;
	}
	/* The JSON is the YAML read back: the same tree, by construction. */
	mem = open_memstream(&text, &len);
	if (!mem) {
		fputs("{}\n", out);
		return;
	}
	print_yaml(c, mem);
	fclose(mem);
	diag_init(&d, stderr);
	tree = opt_load_string(c->path, text, len, &d);
	if (tree)
		opt_write_json(tree, out);
	opt_free(tree);
	diag_free(&d);
	free(text);
}
