/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stand-in for libFuzzer's main, for builds without it (gcc, or clang
 * without -Dfuzz=true): runs every file named on the command line, or
 * found directly inside a directory named on it, through
 * LLVMFuzzerTestOneInput once.  The fuzz targets abort() when a property
 * fails, so the seed corpus and every saved crashing input stay regression
 * tests in every build.  Exit status: 0, or 1 if nothing could be read
 * (a missing corpus must not pass silently).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned ran, failed;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: cannot read\n", path);
		failed++;
		goto out;
	}
	/* An exact-size heap copy so ASan catches reads past the end. */
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: cannot read\n", path);
		failed++;
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	ran++;
out:
	free(buf);
	if (f)
		fclose(f);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_path(const char *path)
{
	struct dirent **ents;
	struct stat st;
	int n;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: no such file or directory\n", path);
		failed++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	n = scandir(path, &ents, NULL, by_name);
	for (int i = 0; i < n; i++) {
		char full[4096];

		/* Dot files (.gitkeep) and README are not inputs. */
		if (ents[i]->d_name[0] != '.' &&
		    strcmp(ents[i]->d_name, "README") != 0) {
			snprintf(full, sizeof(full), "%s/%s", path,
				 ents[i]->d_name);
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
				run_file(full);
		}
		free(ents[i]);
	}
	free(ents);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("%u input%s ran, %u unreadable\n", ran, ran == 1 ? "" : "s",
	       failed);
	return failed || !ran ? 1 : 0;
}
